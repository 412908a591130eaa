"""Authentication primitives: roles, identities, local accounts, API keys, secrets.

HTTP-free: ``api/security.py`` parses headers and calls these. OIDC bearer tokens are
checked by :class:`gis.auth_jwt.JwtVerifier`.

Three ways in, one result. A local account (the embedded default) proves itself with
a password, a system with an API key, a person signed in at the province's SSO with a
JWT. Each gives an :class:`Identity`: the :class:`~gis.layer.Principal` the access
policy reads, the wards the holder may edit and how they authenticated.

Nothing here logs, echoes or stores a password, a key or a token in the clear: errors
carry fixed, safe texts.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import logging
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import psycopg
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from psycopg.rows import tuple_row

# re-exported: gis.auth is where callers look for it
from gis.auth_secrets import WeakSecretError as WeakSecretError
from gis.auth_secrets import check_secret as check_secret
from gis.db import libpq_url
from gis.errors import ConflictError, GisError, InvalidParameterError, NotFoundError
from gis.layer import PUBLIC, Principal

logger = logging.getLogger(__name__)

ROLES: frozenset[str] = frozenset(
    {
        PUBLIC,  # everyone, anonymous visitors included
        "citizen",  # a signed-in resident: reports, own submissions
        "land_officer",  # cán bộ địa chính: parcels of their wards
        "planner",  # planning zones, edits in QGIS
        "lighting_crew",  # street lights and cabinets
        "tree_crew",  # urban trees
        "ioc_operator",  # the operations centre's map wall
        "security_officer",  # cameras
        "external_app",  # another agency's system
        "admin",  # everything, accounts included
        "auditor",  # reads the audit trail, changes nothing
    }
)
"""Every role dothi knows. Anything else is refused (or, in a JWT, ignored)."""

AuthMethod = Literal["anonymous", "password", "api_key", "jwt"]

# GSO administrative unit code of a ward or commune (5 digits, e.g. 22945 Phan Thiết)
_WARD_CODE = re.compile(r"\d{5}")
# lower case so that "Lan" and "lan" are one account; from 2 characters (given names
# such as "an", "ly"); no ":", so a username never looks like an "api_key:<prefix>"
_USERNAME = re.compile(r"[a-z0-9][a-z0-9._@-]{1,63}")


class AuthenticationError(GisError):
    """Credentials were presented and are not valid (maps to 401).

    The ``detail`` says what kind of check failed ("token has expired") and never
    repeats the credential itself.
    """


class TooManySignInsError(GisError):
    """A password check refused before it runs: too many failures (maps to 429).

    Raised for an account name locked for the caller's address (see
    :func:`verify_password`) and, by the API, for an address that has spent its
    budget of password checks. ``retry_after`` is the wait in whole seconds.
    """

    def __init__(self, detail: str, *, retry_after: int) -> None:
        super().__init__(detail)
        self.retry_after = retry_after


@dataclass(frozen=True)
class AccountVersion:
    """Which version of a local account a sign-in proved (migration 0010).

    The database bumps ``app_user.credential_version`` when the password, roles,
    wards, name or the disabled flag change; a remembered sign-in is good only while
    :func:`account_is_current` says so.
    """

    account_id: int
    version: int


@dataclass(frozen=True)
class Identity:
    """Who is asking, with what they carry beyond the :class:`Principal`.

    Until :class:`gis.layer.Principal` itself carries ``ward_codes`` and ``auth``,
    they travel beside it here.

    Attributes
    ----------
    principal
        Subject and roles (``public`` always among them), what the access policy reads.
    ward_codes
        The wards (GSO codes) whose rows the holder may edit; empty means none.
    auth
        How the holder authenticated: ``anonymous``, ``password``, ``api_key`` or
        ``jwt``.
    account
        For a local account, the account's version the password check proved.
    """

    principal: Principal
    ward_codes: frozenset[str] = frozenset()
    auth: AuthMethod = "anonymous"
    account: AccountVersion | None = None

    @property
    def subject(self) -> str | None:
        """The principal's subject (None when anonymous)."""
        return self.principal.subject

    @property
    def roles(self) -> frozenset[str]:
        """The principal's roles, ``public`` included."""
        return self.principal.roles


ANONYMOUS_IDENTITY = Identity(Principal())


def validate_roles(roles: Iterable[str]) -> frozenset[str]:
    """Check that every role is one of :data:`ROLES`.

    Parameters
    ----------
    roles
        Role names.

    Returns
    -------
    frozenset of str
        The roles, ``public`` left out (every principal has it anyway).

    Raises
    ------
    InvalidParameterError
        On a role dothi does not know; the message lists the known ones.

    Examples
    --------
    >>> sorted(validate_roles(["planner", "public", "planner"]))
    ['planner']
    """
    if isinstance(roles, str):  # "admin" would otherwise be five one-letter roles
        raise InvalidParameterError("roles: expected a list of role names")
    given = frozenset(roles)
    unknown = given - ROLES
    if unknown:
        raise InvalidParameterError(
            f"unknown role(s) {', '.join(sorted(unknown))}; "
            f"known roles: {', '.join(sorted(ROLES))}",
            parameter="roles",
        )
    return given - {PUBLIC}


def validate_ward_codes(ward_codes: Iterable[str]) -> frozenset[str]:
    """Check ward codes: five-digit GSO administrative unit codes.

    Parameters
    ----------
    ward_codes
        Ward codes such as ``"22945"``.

    Returns
    -------
    frozenset of str

    Raises
    ------
    InvalidParameterError
        On anything that is not five digits.

    Examples
    --------
    >>> sorted(validate_ward_codes(["22945", "22918"]))
    ['22918', '22945']
    """
    if isinstance(ward_codes, str):
        raise InvalidParameterError("ward_codes: expected a list of ward codes")
    codes = frozenset(ward_codes)
    bad = [c for c in codes if not (isinstance(c, str) and _WARD_CODE.fullmatch(c))]
    if bad:
        raise InvalidParameterError(
            "ward_codes: each ward code is the 5-digit GSO code (e.g. 22945)",
            parameter="ward_codes",
        )
    return codes


def make_principal(
    subject: str | None,
    roles: Iterable[str],
    ward_codes: Iterable[str],
    auth: AuthMethod,
    *,
    account: AccountVersion | None = None,
) -> Identity:
    """Build the identity of an authenticated (or anonymous) caller.

    The one place principals are made, so that ``public`` is always among the roles
    and an unknown role never slips through.

    Parameters
    ----------
    subject
        Stable id of the caller (username, ``api_key:<prefix>``, or the JWT ``sub``).
    roles
        Roles, each one of :data:`ROLES`.
    ward_codes
        Wards the caller may edit.
    auth
        How the caller authenticated.
    account
        The local account's proved version (password sign-ins only).

    Returns
    -------
    Identity

    Raises
    ------
    InvalidParameterError
        On an unknown role or a malformed ward code.

    Examples
    --------
    >>> who = make_principal("lan", ["land_officer"], ["22945"], "password")
    >>> sorted(who.roles), sorted(who.ward_codes), who.auth
    (['land_officer', 'public'], ['22945'], 'password')
    """
    wards = validate_ward_codes(ward_codes)
    principal = Principal(
        subject=subject,
        roles=validate_roles(roles) | {PUBLIC},
        ward_codes=wards,
        auth=auth,
    )
    return Identity(principal, wards, auth, account)


# ------------------------------------------------------------------ local accounts

PASSWORD_HASHER = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
"""The argon2id hasher: OWASP's first minimum, m=19 MiB, t=2, p=1.

Measured on the 2-core box a server runs on: 32 ms and 19 MiB a check, against
165 ms and 64 MiB for argon2-cffi's default (RFC 9106 low-memory, t=3, p=4) that
hashes were made with before. A guess then costs a fifth of the CPU, and the API
runs at most ``limits.password_checks`` checks at once per process, so guesses can
neither take the cores nor the memory. Stored hashes carry their own parameters:
older ones still verify and are replaced on the next successful sign-in
(:func:`verify_password`). Tests may replace it with a cheaper one.
"""

LOCKOUT_AFTER = 5
"""Failed password checks of one account name from one address before it locks."""
LOCKOUT_FIRST_S = 30
"""The first lock; each further failure doubles it."""
LOCKOUT_MAX_S = 3600
"""The longest lock: from then on one guess an hour per account and address."""
LOCKOUT_FORGET_S = 86_400
"""Failures older than this (a day) no longer count."""

MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 1024
# What people choose first, in Vietnam and elsewhere; with digits and symbols stripped
# from both ends before the comparison, "matkhau123" and "Password2025!" are caught too.
_COMMON_PASSWORDS = frozenset(
    {
        "", "password", "passw0rd", "matkhau", "mat khau", "matkhaumoi", "qwerty",
        "qwertyuiop", "asdfghjkl", "zxcvbnm", "abc", "abcd", "abcdef", "abcdefgh",
        "abcdefghij", "admin", "administrator", "root", "user", "guest", "test",
        "welcome", "letmein", "iloveyou", "anhyeuem", "emyeuanh", "yeuem", "vietnam",
        "hanoi", "saigon", "hochiminh", "phanthiet", "dothi", "changeme", "secret",
        "default", "login", "master", "dragon", "monkey", "football", "superman",
        "trustno", "sunshine", "princess", "qazwsx", "1qaz2wsx", "zaq1xsw2",
    }
)  # fmt: skip
_NOISE = re.compile(r"^[\d\W_]+|[\d\W_]+$")
_dummy_hash: tuple[PasswordHasher, str] | None = None


def check_password(password: str, *, username: str | None = None) -> None:
    """Apply the password policy.

    At least 10 characters (at most 1024), not only digits (phone numbers and dates
    are tried first), not a common password with digits or symbols added, not mostly
    one character, and not containing the username (when it has 4+ characters).

    Parameters
    ----------
    password
        The proposed password.
    username
        The account it is for, if known.

    Raises
    ------
    InvalidParameterError
        Saying which rule failed, never repeating the password.

    Examples
    --------
    >>> check_password("xanh-lá-cây-phố-biển")
    """
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidParameterError(
            f"password: at least {MIN_PASSWORD_LENGTH} characters", parameter="password"
        )
    if len(password) > MAX_PASSWORD_LENGTH:
        raise InvalidParameterError(
            f"password: at most {MAX_PASSWORD_LENGTH} characters", parameter="password"
        )
    lowered = password.lower()
    if password.isdigit():
        raise InvalidParameterError(
            "password: must not be only digits (phone numbers and dates are "
            "guessed first)",
            parameter="password",
        )
    if _NOISE.sub("", lowered) in _COMMON_PASSWORDS or len(set(lowered)) < 4:
        raise InvalidParameterError(
            "password: too common or too simple; choose a longer phrase",
            parameter="password",
        )
    # short names ("an") occur inside ordinary words: only 4+ characters count
    if username and len(username) >= 4 and username.lower() in lowered:
        raise InvalidParameterError(
            "password: must not contain the username", parameter="password"
        )


def normalize_username(username: str) -> str:
    """The stored form of a username: stripped and lower case.

    Raises
    ------
    InvalidParameterError
        Unless 2-64 characters of ``a-z 0-9 . _ @ -``, starting with a letter or digit.

    Examples
    --------
    >>> normalize_username(" Lan.Nguyen@PhanThiet ")
    'lan.nguyen@phanthiet'
    """
    name = username.strip().lower()
    if not _USERNAME.fullmatch(name):
        raise InvalidParameterError(
            "username: 2-64 characters of a-z, 0-9, '.', '_', '@', '-', starting "
            "with a letter or digit",
            parameter="username",
        )
    return name


def _hash_password(password: str) -> str:
    return PASSWORD_HASHER.hash(password)


def _burn_verify(password: str) -> None:
    """Spend what a real verification costs, so timing does not reveal the account."""
    global _dummy_hash  # per hasher: tests swap PASSWORD_HASHER for a cheap one
    hasher = PASSWORD_HASHER
    if _dummy_hash is None or _dummy_hash[0] is not hasher:
        _dummy_hash = (hasher, hasher.hash(secrets.token_urlsafe(16)))
    with contextlib.suppress(VerificationError):
        hasher.verify(_dummy_hash[1], password)


def add_user(
    url: str,
    username: str,
    password: str,
    roles: Iterable[str],
    *,
    ward_codes: Iterable[str] = (),
    display_name: str | None = None,
) -> None:
    """Create a local account.

    Parameters
    ----------
    url
        Database URL (libpq or SQLAlchemy form).
    username
        Login name, stored lower case (see :func:`normalize_username`).
    password
        Checked against :func:`check_password`, stored as an argon2id hash.
    roles
        Roles, each one of :data:`ROLES`.
    ward_codes
        Wards the user may edit (for a land officer); empty means none.
    display_name
        Name shown in the interface and the audit trail.

    Raises
    ------
    InvalidParameterError
        On a malformed username, an unknown role, a bad ward code or a weak password.
    ConflictError
        When the username is taken.
    """
    name = normalize_username(username)
    role_set = validate_roles(roles)
    wards = validate_ward_codes(ward_codes)
    check_password(password, username=name)
    hashed = _hash_password(password)
    try:
        with psycopg.connect(libpq_url(url)) as conn:
            conn.execute(
                "INSERT INTO app_user (username, display_name, password_hash, roles, "
                "ward_codes) VALUES (%s, %s, %s, %s::text[], %s::text[])",
                (name, display_name, hashed, sorted(role_set), sorted(wards)),
            )
    except psycopg.errors.UniqueViolation:
        raise ConflictError(f"user {name!r} already exists") from None


def set_password(url: str, username: str, password: str) -> None:
    """Replace a user's password (the policy applies).

    Raises
    ------
    InvalidParameterError
        On a weak password.
    NotFoundError
        When there is no such user.
    """
    name = normalize_username(username)
    check_password(password, username=name)
    hashed = _hash_password(password)
    with psycopg.connect(libpq_url(url)) as conn:
        cur = conn.execute(
            "UPDATE app_user SET password_hash = %s, password_changed_at = now() "
            "WHERE username = %s",
            (hashed, name),
        )
        if cur.rowcount == 0:
            raise NotFoundError(f"no user {name!r}")


def _set_disabled(url: str, username: str, disabled: bool) -> None:
    name = normalize_username(username)
    with psycopg.connect(libpq_url(url)) as conn:
        cur = conn.execute(
            "UPDATE app_user SET disabled = %s WHERE username = %s", (disabled, name)
        )
        if cur.rowcount == 0:
            raise NotFoundError(f"no user {name!r}")


def disable_user(url: str, username: str) -> None:
    """Refuse every further login of ``username`` (the account and its history stay).

    Raises
    ------
    NotFoundError
        When there is no such user.
    """
    _set_disabled(url, username, True)


def enable_user(url: str, username: str) -> None:
    """Undo :func:`disable_user`.

    Raises
    ------
    NotFoundError
        When there is no such user.
    """
    _set_disabled(url, username, False)


@dataclass(frozen=True)
class UserInfo:
    """A local account as an administrator sees it (no password hash)."""

    username: str
    display_name: str | None
    roles: frozenset[str]
    ward_codes: frozenset[str]
    disabled: bool
    created_at: datetime
    password_changed_at: datetime


def list_users(url: str) -> list[UserInfo]:
    """Every local account, by username; never a password hash."""
    with psycopg.connect(libpq_url(url), row_factory=tuple_row) as conn:
        rows = conn.execute(
            "SELECT username, display_name, roles, ward_codes, disabled, created_at, "
            "password_changed_at FROM app_user ORDER BY username"
        ).fetchall()
    return [
        UserInfo(r[0], r[1], frozenset(r[2]), frozenset(r[3]), r[4], r[5], r[6])
        for r in rows
    ]


def verify_password(
    url: str, username: str, password: str, *, address: str = "-"
) -> Identity | None:
    """Check a local account's password, under the lockout.

    Costs the same whether or not the account exists (a dummy hash is verified), so
    response times do not reveal usernames. A hash made with older argon2 parameters
    is replaced by one made with :data:`PASSWORD_HASHER`'s.

    The lockout is kept per (account name, client address) in ``sign_in_failure``,
    shared by every worker and replica. Each check is counted *before* the hash is
    verified (so concurrent guesses cannot pass the count) and forgotten when the
    password is right. From the :data:`LOCKOUT_AFTER`-th check in a row on, the pair
    is locked for :data:`LOCKOUT_FIRST_S` seconds, doubling with each further failure
    up to :data:`LOCKOUT_MAX_S`; a locked pair gets no check at all. Another address
    is never locked by these failures, and after the wait a right password from the
    same address gets in: guessing from one place cannot lock the real user out.

    This is CPU-bound (tens of milliseconds by design): call it from a worker thread
    (``anyio.to_thread.run_sync``), and once per login rather than per request.

    Parameters
    ----------
    url
        Database URL.
    username
        Login name, any case.
    password
        The password presented.
    address
        Where the attempt comes from (the API's rate-limit key of the client).

    Returns
    -------
    Identity or None
        The identity (subject = username, ``auth="password"``, the account's
        version), or None for an unknown user, a wrong password or a disabled
        account, alike.

    Raises
    ------
    TooManySignInsError
        The name is locked for ``address``; no check was made.
    """
    try:
        name = normalize_username(username)
    except InvalidParameterError:
        _burn_verify(password)
        return None
    with psycopg.connect(
        libpq_url(url), row_factory=tuple_row, autocommit=True
    ) as conn:
        _reserve_attempt(conn, name, address)
        if len(password) > MAX_PASSWORD_LENGTH:
            _burn_verify("")
            return None
        row = conn.execute(
            "SELECT id, password_hash, roles, ward_codes, disabled, "
            "credential_version FROM app_user WHERE username = %s",
            (name,),
        ).fetchone()
        if row is None:
            _burn_verify(password)
            return None
        user_id, stored, roles, wards, disabled, version = row
        try:
            PASSWORD_HASHER.verify(stored, password)
        except VerifyMismatchError:
            return None
        except (InvalidHashError, VerificationError):
            logger.warning("unusable password hash for user %s", name)
            return None
        if disabled:  # checked after verifying: a disabled account costs the same
            return None
        conn.execute(
            "DELETE FROM sign_in_failure WHERE username = %s AND address = %s",
            (name, address),
        )
        if PASSWORD_HASHER.check_needs_rehash(stored):
            version = _rehash(conn, user_id, stored, password, version)
    account = AccountVersion(user_id, version)
    return make_principal(name, _known(roles, name), wards, "password", account=account)


def _rehash(
    conn: psycopg.Connection[Any],
    user_id: int,
    stored: str,
    password: str,
    version: int,
) -> int:
    """Store a hash with today's parameters; the account's new version."""
    # the guard keeps a concurrent password change from being overwritten
    row = conn.execute(
        "UPDATE app_user SET password_hash = %s "
        "WHERE id = %s AND password_hash = %s RETURNING credential_version",
        (_hash_password(password), user_id, stored),
    ).fetchone()
    return int(row[0]) if row else version


# one statement: concurrent checks of one pair are counted one after the other, and a
# locked pair is not counted (RETURNING no row); the lock is set with the count
_RESERVE = """
INSERT INTO sign_in_failure AS f (username, address, failures)
VALUES (%(name)s, %(address)s, 1)
ON CONFLICT (username, address) DO UPDATE SET
    failures = {n},
    last_attempt_at = now(),
    locked_until = CASE WHEN {n} >= %(after)s THEN now() + make_interval(secs =>
        least(%(max_s)s, %(first_s)s * power(2, least({n} - %(after)s, 30))))
    END
WHERE f.locked_until IS NULL OR f.locked_until <= now()
RETURNING failures
""".format(
    n="(CASE WHEN f.last_attempt_at < now() - make_interval(secs => %(forget_s)s) "
    "THEN 1 ELSE f.failures + 1 END)"
)


def _reserve_attempt(conn: psycopg.Connection[Any], name: str, address: str) -> None:
    """Count a password check of ``name`` from ``address`` before it is made.

    Raises
    ------
    TooManySignInsError
        The pair is locked.
    """
    params = {
        "name": name,
        "address": address,
        "after": LOCKOUT_AFTER,
        "first_s": LOCKOUT_FIRST_S,
        "max_s": LOCKOUT_MAX_S,
        "forget_s": LOCKOUT_FORGET_S,
    }
    counted = conn.execute(_RESERVE, params).fetchone()
    if counted is not None:
        if counted[0] == 1 and secrets.randbelow(100) == 0:
            # now and then, as new pairs arrive: the table holds about a day of them
            conn.execute(
                "DELETE FROM sign_in_failure WHERE last_attempt_at < now() - "
                "make_interval(secs => %s) AND coalesce(locked_until, '-infinity') "
                "< now()",
                (LOCKOUT_FORGET_S,),
            )
        return
    row = conn.execute(
        "SELECT ceil(extract(epoch FROM locked_until - now())) FROM sign_in_failure "
        "WHERE username = %s AND address = %s",
        (name, address),
    ).fetchone()
    wait = max(1, int(row[0])) if row and row[0] is not None else 1
    raise TooManySignInsError(
        f"too many failed sign-ins for this account from this address; retry after "
        f"{wait} s",
        retry_after=wait,
    )


async def account_is_current(
    conn: psycopg.AsyncConnection[Any], account: AccountVersion
) -> bool:
    """Whether a remembered sign-in still holds: same version, not disabled.

    One call of the indexed ``app_user_current`` (migration 0010), which the API
    role may run without reading any account row.
    """
    cur = await conn.execute(
        "SELECT app_user_current(%s, %s)", (account.account_id, account.version)
    )
    row = await cur.fetchone()
    return bool(row and row[0])


def _known(roles: Iterable[str], who: str) -> frozenset[str]:
    """Roles from the database, unknown ones dropped (the table's CHECK prevents them;
    this covers a role retired from :data:`ROLES` before its migration ran)."""
    given = frozenset(roles)
    if given - ROLES:
        logger.warning("ignoring unknown roles %s of %s", sorted(given - ROLES), who)
    return given & ROLES


# ------------------------------------------------------------------------ API keys

KEY_SCHEME = "dothi_"
PREFIX_LENGTH = 8
# lower-case letters and digits only: the prefix is read aloud, typed on command lines
# (a leading "-" would look like an option) and shown in lists
_PREFIX_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"
_SECRET_BYTES = 32  # 256 bits


def _key_hash(key: str) -> bytes:
    # SHA-256, not argon2: the secret is 256 random bits, so there is no dictionary to
    # try and a brute force of 2^256 is out of reach however fast the hash is. A slow
    # hash only protects guessable secrets (passwords); here it would add tens of
    # milliseconds of CPU to every API request for no gain.
    return hashlib.sha256(key.encode()).digest()


def _split_key(key: str) -> str | None:
    """The prefix of a well-formed key, or None.

    The format is ``dothi_<prefix>_<secret>``, read by position: the secret comes from
    ``secrets.token_urlsafe`` and may itself contain ``_``.
    """
    end = len(KEY_SCHEME) + PREFIX_LENGTH
    if (
        len(key) < end + 1 + 40
        or len(key) > 200
        or not key.startswith(KEY_SCHEME)
        or key[end] != "_"
    ):
        return None
    prefix = key[len(KEY_SCHEME) : end]
    if any(c not in _PREFIX_ALPHABET for c in prefix):
        return None
    return prefix


def create_api_key(
    url: str, name: str, roles: Iterable[str], *, ward_codes: Iterable[str] = ()
) -> str:
    """Create an API key for a system, e.g. the provincial IOC.

    Parameters
    ----------
    url
        Database URL.
    name
        What the key is for ("Provincial IOC sync"); shown in lists.
    roles
        Roles, each one of :data:`ROLES` (usually ``external_app``).
    ward_codes
        Wards the key may edit.

    Returns
    -------
    str
        The full key, ``dothi_<prefix>_<secret>``. This is the only time it is
        available: only its SHA-256 is stored.

    Raises
    ------
    InvalidParameterError
        On an empty name, an unknown role or a bad ward code.
    """
    label = name.strip()
    if not label or len(label) > 200:
        raise InvalidParameterError("name: 1-200 characters", parameter="name")
    role_set = validate_roles(roles)
    wards = validate_ward_codes(ward_codes)
    with psycopg.connect(libpq_url(url)) as conn:
        for _ in range(5):  # 36^8 prefixes: a collision is rare, five in a row absurd
            prefix = "".join(
                secrets.choice(_PREFIX_ALPHABET) for _ in range(PREFIX_LENGTH)
            )
            key = f"{KEY_SCHEME}{prefix}_{secrets.token_urlsafe(_SECRET_BYTES)}"
            cur = conn.execute(
                "INSERT INTO api_key (prefix, key_hash, name, roles, ward_codes) "
                "VALUES (%s, %s, %s, %s::text[], %s::text[]) "
                "ON CONFLICT (prefix) DO NOTHING",
                (prefix, _key_hash(key), label, sorted(role_set), sorted(wards)),
            )
            if cur.rowcount == 1:
                return key
    raise ConflictError("could not allocate a unique key prefix")  # pragma: no cover


def revoke_api_key(url: str, prefix: str) -> None:
    """Revoke the key with ``prefix`` at once; revoking twice is harmless.

    Raises
    ------
    NotFoundError
        When no key has that prefix.
    """
    with psycopg.connect(libpq_url(url)) as conn:
        cur = conn.execute(
            "UPDATE api_key SET revoked_at = coalesce(revoked_at, now()) "
            "WHERE prefix = %s",
            (prefix,),
        )
        if cur.rowcount == 0:
            raise NotFoundError(f"no API key with prefix {prefix!r}")


@dataclass(frozen=True)
class ApiKeyInfo:
    """An API key as an administrator sees it: never the key, never its hash."""

    prefix: str
    name: str
    roles: frozenset[str]
    ward_codes: frozenset[str]
    created_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None


def list_api_keys(url: str) -> list[ApiKeyInfo]:
    """Every API key, revoked ones included, oldest first."""
    with psycopg.connect(libpq_url(url), row_factory=tuple_row) as conn:
        rows = conn.execute(
            "SELECT prefix, name, roles, ward_codes, created_at, revoked_at, "
            "last_used_at FROM api_key ORDER BY created_at, id"
        ).fetchall()
    return [
        ApiKeyInfo(r[0], r[1], frozenset(r[2]), frozenset(r[3]), r[4], r[5], r[6])
        for r in rows
    ]


async def principal_for_api_key(
    conn: psycopg.AsyncConnection[Any], key: str
) -> Identity | None:
    """The identity of an API key, or None when the key is not valid.

    One indexed read per request. ``last_used_at`` is written at most once a minute
    per key, so a busy system does not turn every read into a write.

    Parameters
    ----------
    conn
        An async connection: the pool's (autocommit), or a transaction of the
        caller's, in which case the ``last_used_at`` update commits with it. Use it
        before switching to a restricted database role.
    key
        The full key as presented.

    Returns
    -------
    Identity or None
        Subject ``api_key:<prefix>``, ``auth="api_key"``; None for a malformed key,
        an unknown prefix, a wrong secret or a revoked key, alike.
    """
    prefix = _split_key(key)
    if prefix is None:
        return None
    async with conn.cursor(row_factory=tuple_row) as cur:
        await cur.execute(
            "SELECT id, key_hash, roles, ward_codes, revoked_at IS NOT NULL, "
            "last_used_at IS NULL OR last_used_at < now() - interval '1 minute' "
            "FROM api_key WHERE prefix = %s",
            (prefix,),
        )
        row = await cur.fetchone()
        if row is None:
            return None
        key_id, stored, roles, wards, revoked, stale = row
        # compare_digest: the time taken must not tell how much of the hash matched
        if not hmac.compare_digest(bytes(stored), _key_hash(key)) or revoked:
            return None
        if stale:
            # the guard repeats the test, so concurrent requests write once
            await cur.execute(
                "UPDATE api_key SET last_used_at = now() WHERE id = %s AND "
                "(last_used_at IS NULL OR last_used_at < now() - interval '1 minute')",
                (key_id,),
            )
    subject = f"api_key:{prefix}"
    return make_principal(subject, _known(roles, subject), wards, "api_key")
