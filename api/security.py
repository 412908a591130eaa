"""Who is asking: API keys, OIDC bearer tokens (JWT), local accounts (HTTP Basic).

Credentials that are sent and are not valid are a 401; there is no falling back to
anonymous. A credential in the query string is refused (it would land in logs and
caches). Nothing here logs a credential.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import time
from functools import partial

import anyio
from fastapi import Request

from api.limits import client_key
from gis.auth import (
    AuthenticationError,
    Identity,
    TooManySignInsError,
    account_is_current,
    principal_for_api_key,
    verify_password,
)
from gis.layer import ANONYMOUS, Principal

QUERY_CREDENTIALS = ("api_key", "apikey", "key", "access_token", "token", "password")
BASIC_CACHE_TTL_S = 300.0
_BASIC_CACHE_MAX = 10_000


class BasicCache:
    """Successful HTTP Basic checks, keyed by an HMAC of the credentials.

    argon2 costs tens of milliseconds and 19 MiB a check by design; QGIS sends Basic
    credentials with every request, so a success is remembered for five minutes.
    Only the HMAC (with a per-process random key) is kept, never the password. The
    entry carries the account's version, checked against the database on every
    request (``_basic``): a disabled account or a changed password bites at once.
    """

    def __init__(self) -> None:
        self._key = secrets.token_bytes(32)
        self._entries: dict[bytes, tuple[float, Identity]] = {}

    def _digest(self, user: str, password: str) -> bytes:
        return hmac.new(
            self._key, f"{user}\0{password}".encode(), hashlib.sha256
        ).digest()

    def get(self, user: str, password: str) -> Identity | None:
        """The remembered identity, if fresh."""
        entry = self._entries.get(self._digest(user, password))
        if entry is None or entry[0] < time.monotonic():
            return None
        return entry[1]

    def put(self, user: str, password: str, identity: Identity) -> None:
        """Remember a successful check."""
        if len(self._entries) >= _BASIC_CACHE_MAX:
            self._entries.clear()
        expiry = time.monotonic() + BASIC_CACHE_TTL_S
        self._entries[self._digest(user, password)] = (expiry, identity)

    def drop(self, user: str, password: str) -> None:
        """Forget a check that no longer holds."""
        self._entries.pop(self._digest(user, password), None)


async def authenticate(request: Request) -> Principal:
    """The principal of ``request`` (anonymous without credentials).

    Raises
    ------
    AuthenticationError
        Credentials present but not valid, or sent in the query string.
    """
    for name in QUERY_CREDENTIALS:
        if name in request.query_params:
            raise AuthenticationError(
                "credentials in the query string are refused: send them in the "
                "Authorization header"
            )
    header = request.headers.get("authorization", "")
    api_key = request.headers.get("x-api-key")
    if not header and not api_key:
        return ANONYMOUS
    scheme, _, value = header.strip().partition(" ")
    scheme = scheme.lower()
    value = value.strip()
    state = request.app.state
    if (
        api_key
        or scheme == "apikey"
        or (scheme == "bearer" and value.startswith("dothi_"))
    ):
        async with state.pool.connection() as conn, conn.transaction():
            # the accounts are visible to the API role only while authenticating
            await conn.execute("SELECT set_config('dothi.authenticating', 'on', true)")
            identity = await principal_for_api_key(conn, api_key or value)
        if identity is None:
            raise AuthenticationError("the API key is not valid")
    elif scheme == "bearer":
        verifier = state.jwt_verifier
        if verifier is None:
            raise AuthenticationError(
                "bearer tokens are not accepted: no identity provider"
            )
        identity = await verifier.verify_async(value)
    elif scheme == "basic":
        identity = await _basic(request, value)
    else:
        raise AuthenticationError("unsupported authorization scheme")
    return identity.principal


async def _basic(request: Request, value: str) -> Identity:
    try:
        user, sep, password = (
            base64.b64decode(value, validate=True).decode().partition(":")
        )
    except (binascii.Error, UnicodeDecodeError):
        raise AuthenticationError("malformed Basic credentials") from None
    if not sep:
        raise AuthenticationError("malformed Basic credentials")
    state = request.app.state
    cache: BasicCache = state.basic_cache
    cached = cache.get(user, password)
    if cached is not None:
        if await _still_current(request, cached):
            return cached
        cache.drop(user, password)
    address = client_key(request.scope)
    # reserved before the check: concurrent guesses cannot run more than the burst
    wait = state.sign_in_buckets.take(address)
    if wait is not None:
        raise TooManySignInsError(
            f"too many failed sign-ins from this address; retry after {wait} s",
            retry_after=wait,
        )
    # in a worker thread (argon2 would stall the event loop), at most
    # limits.password_checks at once per process, so guesses cannot take the memory
    identity = await anyio.to_thread.run_sync(
        partial(verify_password, state.database_url, user, password, address=address),
        limiter=state.password_checks,
    )
    if identity is None:
        raise AuthenticationError("user name or password is not valid")
    state.sign_in_buckets.refund(address)
    cache.put(user, password, identity)
    return identity


async def _still_current(request: Request, identity: Identity) -> bool:
    """One indexed look-up: the remembered account's version is still its own."""
    if identity.account is None:
        return True
    async with request.app.state.pool.connection() as conn:
        return await account_is_current(conn, identity.account)
