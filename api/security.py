"""Who is asking: API keys, OIDC bearer tokens (JWT), local accounts (HTTP Basic).

HTTP only: which header carries which credential, the answers to give, and the
remembering of verified Basic credentials. Every check of a credential, and every
statement against the security tables, is ``auth``'s.

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
from api.state import app_state
from auth.api_keys import authenticate_api_key
from auth.errors import AuthenticationError, TooManySignInsError
from auth.signin import remembered_sign_in_holds, verify_password
from gis.principal import ANONYMOUS, Principal

QUERY_CREDENTIALS = ("api_key", "apikey", "key", "access_token", "token", "password")
BASIC_CACHE_TTL_S = 300.0
_BASIC_CACHE_MAX = 10_000


class BasicCache:
    """Successful HTTP Basic checks, keyed by an HMAC of the credentials.

    argon2 costs tens of milliseconds and 19 MiB a check by design; QGIS sends Basic
    credentials with every request, so a success is remembered for five minutes.
    Only the HMAC (with a per-process random key) is kept, never the password. The
    entry is a principal carrying the account's version, checked against the
    database on every request (``_basic``): a disabled account or a changed password
    bites at once.
    """

    def __init__(self) -> None:
        self._key = secrets.token_bytes(32)
        self._entries: dict[bytes, tuple[float, Principal]] = {}

    def _digest(self, user: str, password: str) -> bytes:
        return hmac.new(
            self._key, f"{user}\0{password}".encode(), hashlib.sha256
        ).digest()

    def get(self, user: str, password: str) -> Principal | None:
        """The remembered principal, if fresh."""
        entry = self._entries.get(self._digest(user, password))
        if entry is None or entry[0] < time.monotonic():
            return None
        return entry[1]

    def put(self, user: str, password: str, principal: Principal) -> None:
        """Remember a successful check."""
        if len(self._entries) >= _BASIC_CACHE_MAX:
            self._entries.clear()
        expiry = time.monotonic() + BASIC_CACHE_TTL_S
        self._entries[self._digest(user, password)] = (expiry, principal)

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
    state = app_state(request)
    if (
        api_key
        or scheme == "apikey"
        or (scheme == "bearer" and value.startswith("dothi_"))
    ):
        principal = await authenticate_api_key(state.pool, api_key or value)
        if principal is None:
            raise AuthenticationError("the API key is not valid")
        return principal
    if scheme == "bearer":
        verifier = state.jwt_verifier
        if verifier is None:
            raise AuthenticationError(
                "bearer tokens are not accepted: no identity provider"
            )
        return await verifier.verify_async(value)
    if scheme == "basic":
        return await _basic(request, value)
    raise AuthenticationError("unsupported authorization scheme")


async def _basic(request: Request, value: str) -> Principal:
    try:
        user, sep, password = (
            base64.b64decode(value, validate=True).decode().partition(":")
        )
    except (binascii.Error, UnicodeDecodeError):
        raise AuthenticationError("malformed Basic credentials") from None
    if not sep:
        raise AuthenticationError("malformed Basic credentials")
    state = app_state(request)
    cache = state.basic_cache
    cached = cache.get(user, password)
    if cached is not None:
        if await remembered_sign_in_holds(state.pool, cached):
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
    principal = await anyio.to_thread.run_sync(
        partial(verify_password, state.database_url, user, password, address=address),
        limiter=state.password_checks,
    )
    if principal is None:
        raise AuthenticationError("user name or password is not valid")
    state.sign_in_buckets.refund(address)
    cache.put(user, password, principal)
    return principal
