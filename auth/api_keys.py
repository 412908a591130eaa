"""API keys: credentials of other systems (the provincial IOC, another agency).

A key is ``dothi_<prefix>_<secret>``: the prefix names it (lists, revocation), the
secret is 256 random bits of which only a SHA-256 is stored. A key is shown once,
when it is made.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import tuple_row
from psycopg_pool import AsyncConnectionPool

from auth.accounts import known_roles
from gis.db.urls import libpq_url
from gis.errors import ConflictError, InvalidParameterError, NotFoundError
from gis.principal import Principal, make_principal, validate_roles, validate_ward_codes

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
        Roles, each one of :data:`gis.principal.ROLES` (usually ``external_app``).
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
) -> Principal | None:
    """The principal of an API key, or None when the key is not valid.

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
    Principal or None
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
    return make_principal(subject, known_roles(roles, subject), wards, "api_key")


async def authenticate_api_key(
    pool: AsyncConnectionPool[Any], key: str
) -> Principal | None:
    """The principal of an API key presented to the API, or None when not valid.

    The API role sees the ``api_key`` rows only while ``dothi.authenticating`` is on
    (migration 0006): it is set for this one transaction, so no other statement of
    the request can read a key.
    """
    async with pool.connection() as conn, conn.transaction():
        await conn.execute("SELECT set_config('dothi.authenticating', 'on', true)")
        return await principal_for_api_key(conn, key)
