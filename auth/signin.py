"""Signing in with a local account: the password check under the lockout, and
whether a remembered sign-in still holds.

The lockout (``sign_in_failure``) is kept in the database, per account name and
client address, so every worker and replica shares it. The per-address budget of
password checks in one process is the API's (``api.limits``); this module is the
database's side of signing in.
"""

from __future__ import annotations

import logging
import secrets
from typing import Any

import psycopg
from psycopg.rows import tuple_row
from psycopg_pool import AsyncConnectionPool

from auth import passwords
from auth.accounts import known_roles, normalize_username
from auth.errors import TooManySignInsError
from gis.db.urls import libpq_url
from gis.errors import InvalidParameterError
from gis.principal import AccountVersion, Principal, make_principal

logger = logging.getLogger(__name__)

LOCKOUT_AFTER = 5
"""Failed password checks of one account name from one address before it locks."""
LOCKOUT_FIRST_S = 30
"""The first lock; each further failure doubles it."""
LOCKOUT_MAX_S = 3600
"""The longest lock: from then on one guess an hour per account and address."""
LOCKOUT_FORGET_S = 86_400
"""Failures older than this (a day) no longer count."""


def verify_password(
    url: str, username: str, password: str, *, address: str = "-"
) -> Principal | None:
    """Check a local account's password, under the lockout.

    Costs the same whether or not the account exists (a dummy hash is verified), so
    response times do not reveal usernames. A hash made with older argon2 parameters
    is replaced by one made with :data:`auth.passwords.PASSWORD_HASHER`'s.

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
    Principal or None
        The principal (subject = username, ``auth="password"``, the account's
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
        passwords.burn_verify(password)
        return None
    with psycopg.connect(
        libpq_url(url), row_factory=tuple_row, autocommit=True
    ) as conn:
        _reserve_attempt(conn, name, address)
        if len(password) > passwords.MAX_PASSWORD_LENGTH:
            passwords.burn_verify("")
            return None
        row = conn.execute(
            "SELECT id, password_hash, roles, ward_codes, disabled, "
            "credential_version FROM app_user WHERE username = %s",
            (name,),
        ).fetchone()
        if row is None:
            passwords.burn_verify(password)
            return None
        user_id, stored, roles, wards, disabled, version = row
        matches = passwords.verify_hash(stored, password)
        if matches is None:
            logger.warning("unusable password hash for user %s", name)
        if not matches:
            return None
        if disabled:  # checked after verifying: a disabled account costs the same
            return None
        conn.execute(
            "DELETE FROM sign_in_failure WHERE username = %s AND address = %s",
            (name, address),
        )
        if passwords.needs_rehash(stored):
            version = _rehash(conn, user_id, stored, password, version)
    account = AccountVersion(user_id, version)
    return make_principal(
        name, known_roles(roles, name), wards, "password", account=account
    )


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
        (passwords.hash_password(password), user_id, stored),
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


async def remembered_sign_in_holds(
    pool: AsyncConnectionPool[Any], principal: Principal
) -> bool:
    """Whether a remembered password sign-in still holds (one indexed look-up).

    True for a principal that did not sign in with a password: only accounts have a
    version to outlive.
    """
    if principal.account is None:
        return True
    async with pool.connection() as conn:
        return await account_is_current(conn, principal.account)
