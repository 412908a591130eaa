"""Local accounts: create them, change their password, disable them, list them.

The administrator's side of ``app_user`` (the ``dothi user`` command). Signing in
with an account is :mod:`auth.signin`; the password policy and hashing are
:mod:`auth.passwords`. Never a password or a hash in a message or a listing.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import psycopg
from psycopg.rows import tuple_row

from auth.passwords import check_password, hash_password
from gis.db.urls import libpq_url
from gis.errors import ConflictError, InvalidParameterError, NotFoundError
from gis.principal import ROLES, validate_roles, validate_ward_codes

logger = logging.getLogger(__name__)

# lower case so that "Lan" and "lan" are one account; from 2 characters (given names
# such as "an", "ly"); no ":", so a username never looks like an "api_key:<prefix>"
_USERNAME = re.compile(r"[a-z0-9][a-z0-9._@-]{1,63}")


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
        Checked against :func:`auth.passwords.check_password`, stored as an argon2id hash.
    roles
        Roles, each one of :data:`gis.principal.ROLES`.
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
    hashed = hash_password(password)
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
    hashed = hash_password(password)
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


def known_roles(roles: Iterable[str], who: str) -> frozenset[str]:
    """Roles from the database, unknown ones dropped.

    The tables' CHECK prevents them; this covers a role retired from
    :data:`gis.principal.ROLES` before its migration ran.
    """
    given = frozenset(roles)
    if given - ROLES:
        logger.warning("ignoring unknown roles %s of %s", sorted(given - ROLES), who)
    return given & ROLES
