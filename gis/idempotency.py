"""Creates that happen once: the ``Idempotency-Key`` of a POST.

After draft-ietf-httpapi-idempotency-key-header: the first answer to a create sent
with a key is stored, in the transaction that inserts the feature, with a
fingerprint of the request; a retry with the same key and the same request gets that
answer again and creates nothing; the same key with another request is a 422; a
retry while the first is still running is a 409. Keys belong to one principal
(``<auth>:<subject>``), so two callers never see each other's answers, and are
forgotten after the configured time (``DOTHI_LIMITS__IDEMPOTENCY_TTL_S``, a day).

A running create holds a transaction-level advisory lock on (principal, key): the
duplicate does not wait for it (``pg_try_advisory_xact_lock``), and since PostgreSQL
makes a commit visible before it releases the transaction's locks, whoever takes the
lock next sees the stored answer. Only successful creates are remembered: a refused
one rolls back, and its retry is checked afresh.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from psycopg_pool import AsyncConnectionPool

from gis.db.pool import SET_CLAIMS, Claims
from gis.errors import ConflictError, GisError, InvalidParameterError
from gis.sql.compiled import Compiled

HEADER = "Idempotency-Key"
MAX_KEY_CHARS = 255
"""The longest key accepted (a longer one is a 400); a UUID takes 36."""
PURGE_BATCH = 100
"""Expired keys deleted by each create that stores one: the purge keeps pace with the
creates, and never makes one of them slow."""

_LOCK = (
    "SELECT pg_try_advisory_xact_lock(hashtextextended(%s, hashtextextended(%s, 0)))"
)
_FIND = (
    "SELECT fingerprint, status, location, etag, content_type, body "
    "FROM idempotency_key WHERE principal = %s AND key = %s AND expires_at > now()"
)
# an expired row of the same key (not yet purged) is replaced
_STORE = (
    "INSERT INTO idempotency_key (principal, key, fingerprint, status, location, "
    "etag, content_type, body, expires_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, "
    "now() + make_interval(secs => %s)) ON CONFLICT (principal, key) DO UPDATE SET "
    "fingerprint = EXCLUDED.fingerprint, status = EXCLUDED.status, "
    "location = EXCLUDED.location, etag = EXCLUDED.etag, "
    "content_type = EXCLUDED.content_type, body = EXCLUDED.body, "
    "created_at = now(), expires_at = EXCLUDED.expires_at "
    "WHERE idempotency_key.expires_at <= now()"
)
_PURGE = "SELECT purge_idempotency_keys(%s)"


class IdempotencyKeyReusedError(GisError):
    """The key was used before with another request (422)."""


class IdempotencyKeyInFlightError(ConflictError):
    """The first request with the key is still running (409)."""

    retry_after = 1


@dataclass(frozen=True)
class Answer:
    """What a create answered: replayed as it was to the key's retries."""

    status: int
    location: str | None = None  # a path under the service root
    etag: str | None = None
    content_type: str | None = None
    body: bytes = b""


def parse_key(values: list[str]) -> str | None:
    """The key of the ``Idempotency-Key`` header values; None when absent.

    The draft defines the header as a Structured Field string (``"8e03..."``); a bare
    token, as most clients send, is taken as it is.

    Raises
    ------
    InvalidParameterError
        Repeated, empty, longer than :data:`MAX_KEY_CHARS`, or not printable ASCII.

    Examples
    --------
    >>> parse_key(['"8e03978e-40d5"']), parse_key(["abc"]), parse_key([])
    ('8e03978e-40d5', 'abc', None)
    """
    if not values:
        return None
    if len(values) > 1:
        raise _bad("send one Idempotency-Key")
    raw = values[0].strip()
    if len(raw) >= 2 and raw[0] == raw[-1] == '"':
        raw = raw[1:-1].replace('\\"', '"').replace("\\\\", "\\")
    if not raw or len(raw) > MAX_KEY_CHARS:
        raise _bad(f"Idempotency-Key: 1 to {MAX_KEY_CHARS} characters")
    if not all(" " <= c <= "~" for c in raw):
        raise _bad("Idempotency-Key: printable ASCII characters only")
    return raw


def _bad(detail: str) -> InvalidParameterError:
    return InvalidParameterError(detail, parameter=HEADER)


def fingerprint(*parts: bytes) -> bytes:
    """SHA-256 of ``parts``, each length-prefixed so that no two lists collide.

    Examples
    --------
    >>> fingerprint(b"ab", b"c") == fingerprint(b"a", b"bc")
    False
    """
    digest = hashlib.sha256()
    for part in parts:
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.digest()


async def create_once(
    pool: AsyncConnectionPool,
    insert: Compiled,
    *,
    claims: Claims,
    key: str,
    request_fingerprint: bytes,
    answer_of: Callable[[int], Answer],
    ttl_s: int,
) -> tuple[Answer, bool]:
    """Run ``insert`` (``INSERT ... RETURNING id``) once for ``key``.

    Parameters
    ----------
    pool
        The application's pool.
    insert
        The feature's insert, run under ``claims``.
    claims
        The signed-in principal's claims; its auth and subject own the key.
    key
        The parsed key (:func:`parse_key`).
    request_fingerprint
        :func:`fingerprint` of what makes the request this request.
    answer_of
        The answer to store and give for the new feature's id.
    ttl_s
        How long the answer is kept, in seconds.

    Returns
    -------
    tuple of Answer and bool
        The answer, and whether it is a replay of an earlier one.

    Raises
    ------
    IdempotencyKeyInFlightError
        The first request with the key has not finished.
    IdempotencyKeyReusedError
        The key was used with another request.
    psycopg.Error
        The insert was refused (nothing is stored).
    """
    principal = f"{claims.auth}:{claims.subject}"
    async with pool.connection() as conn, conn.transaction():
        cursor = conn.cursor()
        await cursor.execute(SET_CLAIMS, claims.settings())
        await cursor.execute(_LOCK, (key, principal))
        if not (await cursor.fetchone())[0]:  # type: ignore[index]
            raise IdempotencyKeyInFlightError(
                "a request with this Idempotency-Key is still running; retry later",
                parameter=HEADER,
            )
        await cursor.execute(_FIND, (principal, key))
        if (found := await cursor.fetchone()) is not None:
            return _replay(found, request_fingerprint), True
        await cursor.execute(insert.sql, insert.values({}))
        answer = answer_of(int((await cursor.fetchone())[0]))  # type: ignore[index]
        await cursor.execute(
            _STORE,
            (principal, key, request_fingerprint, answer.status, answer.location,
             answer.etag, answer.content_type, answer.body, ttl_s),
        )  # fmt: skip
        await cursor.execute(_PURGE, (PURGE_BATCH,))
        return answer, False


def _replay(row: Any, request_fingerprint: bytes) -> Answer:
    if bytes(row.fingerprint) != request_fingerprint:
        raise IdempotencyKeyReusedError(
            "this Idempotency-Key was used with another request; use a new key "
            "for a new request",
            parameter=HEADER,
        )
    return Answer(
        status=row.status,
        location=row.location,
        etag=row.etag,
        content_type=row.content_type,
        body=bytes(row.body),
    )
