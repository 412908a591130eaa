"""Request limits enforced before routing: an anonymous rate limit and a body size cap.

Both are pure ASGI (``BaseHTTPMiddleware`` costs a task and a stream per request) and
answer their refusals themselves, so a refused request never reaches routing, the
dependencies or the database.

The rate limit keys on ``scope["client"]``. Behind a reverse proxy that is the proxy's
address, so every caller would share one bucket: run uvicorn with
``--forwarded-allow-ips=<proxy address>`` (and ``--proxy-headers``, its default) so it
puts the caller's address from ``X-Forwarded-For`` there; ``dothi serve`` reads the
``FORWARDED_ALLOW_IPS`` variable (uvicorn's default: loopback only). Never trust every
address (``*``) when clients can reach uvicorn directly: they could choose their key.
"""

from __future__ import annotations

import ipaddress
import math
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.problems import status_problem
from gis.db.pool import metered
from gis.settings import LimitSettings

# the clock of the buckets; a module attribute so tests can move time on
clock: Callable[[], float] = time.monotonic
# addresses remembered at once; past that the least recently seen bucket is dropped
MAX_CLIENTS = 100_000
CREDENTIAL_HEADERS = (b"authorization", b"x-api-key")
# a Content-Length this long is larger than any limit (and int() of it is not free)
_LONG_LENGTH = 18


@dataclass(slots=True)
class _Bucket:
    tokens: float
    stamp: float


class TokenBuckets:
    """Token buckets by key, each refilled at ``rate`` a second up to ``burst``.

    A key seen for the first time gets a full bucket; past ``max_keys`` the least
    recently seen key is forgotten (its bucket would be full again after
    ``burst / rate`` seconds anyway).
    """

    def __init__(self, *, rate: float, burst: float, max_keys: int = MAX_CLIENTS):
        self.rate = rate
        self.burst = burst
        self.max_keys = max_keys
        self.buckets: OrderedDict[object, _Bucket] = OrderedDict()

    def _bucket(self, key: object) -> _Bucket:
        """The bucket of ``key`` refilled to now (a full one when first seen)."""
        now = clock()
        bucket = self.buckets.get(key)
        if bucket is None:
            bucket = self.buckets[key] = _Bucket(self.burst, now)
            while len(self.buckets) > self.max_keys:
                self.buckets.popitem(last=False)
            return bucket
        self.buckets.move_to_end(key)
        bucket.tokens = min(
            self.burst, bucket.tokens + (now - bucket.stamp) * self.rate
        )
        bucket.stamp = now
        return bucket

    def take(self, key: object) -> int | None:
        """Take a token: None when granted, else the seconds until one is there."""
        if self.rate <= 0:
            return None  # turned off
        bucket = self._bucket(key)
        if bucket.tokens >= 1.0 - 1e-6:  # charges are fractions: float tolerance
            bucket.tokens -= 1.0
            return None
        return max(1, math.ceil((1.0 - bucket.tokens) / self.rate - 1e-6))

    def refund(self, key: object) -> None:
        """Give back a token taken for something that turned out to be fine."""
        if self.rate <= 0:
            return
        bucket = self._bucket(key)
        bucket.tokens = min(self.burst, bucket.tokens + 1.0)

    def charge(self, key: object, tokens: float) -> None:
        """Take ``tokens`` more for what a granted request turned out to cost.

        The bucket may go below zero (its next request waits until it is refilled
        past one token), down to ``-burst`` at most, so one huge cost is a bounded
        wait rather than a debt without end.
        """
        if self.rate <= 0 or tokens <= 0:
            return
        bucket = self._bucket(key)
        bucket.tokens = max(-self.burst, bucket.tokens - tokens)


def sign_in_buckets(limits: LimitSettings) -> TokenBuckets:
    """The per-address budget of password checks (``api.security`` spends it).

    A check is reserved before it runs and given back when the password was right,
    so only failures spend the budget, and concurrent guesses cannot run more
    checks than the burst.
    """
    return TokenBuckets(
        rate=limits.sign_in_rate_per_s, burst=float(limits.sign_in_burst)
    )


class AnonymousRateLimitMiddleware:
    """Per-process token buckets per client address: one for requests without
    credentials, charged by what they cost, and one for credentials that turn out
    not to be valid.

    A request without an ``Authorization`` or ``X-API-Key`` header (an empty value
    counts as absent, as in ``api.security.authenticate``) needs a token of the
    address's anonymous bucket to start; when it ends it is charged one more token
    per ``anonymous_db_ms_per_unit`` ms of database time its statements took
    (``gis.db.pool.metered``). So what one address may do is bounded by the work it
    causes, not only by how often it asks: a download paging through a layer or a
    crowd of phones behind one carrier address (CGNAT) asks often and cheaply and
    is not refused below what the server can serve at all, while a flood of
    thousands of requests a second, or queries that each take seconds, run dry and
    get a 429 with ``Retry-After``.

    A request with credentials reserves a token of the address's *failures* bucket
    before it runs and gets it back when its credentials were valid: guesses (401s,
    and made-up credentials on any route) run at that bucket's rate at most,
    however many are sent at once, while valid keys and tokens are never held back
    by the address's anonymous traffic and only hold a token while in flight.

    With several workers or replicas each has its own buckets, so the sustained rate
    an address gets is this rate times their number.

    CORS preflights never arrive here: ``CORSMiddleware`` sits outside and answers
    them itself (as cheaply as a 429), and a 429 to a preflight would reach the page
    as an unreadable CORS failure. ``/static`` is not exempt: a map page load costs a
    handful of tokens of the burst, and a flood of file reads is still a flood.
    """

    def __init__(
        self, app: ASGIApp, *, limits: LimitSettings, max_clients: int = MAX_CLIENTS
    ) -> None:
        self.app = app
        self.rate = limits.anonymous_rate_per_s
        self.db_ms_per_unit = limits.anonymous_db_ms_per_unit
        self._limiter = TokenBuckets(
            rate=self.rate, burst=float(limits.anonymous_burst), max_keys=max_clients
        )
        self._failures = TokenBuckets(
            rate=limits.failed_credentials_rate_per_s,
            burst=float(limits.failed_credentials_burst),
            max_keys=max_clients,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        address = client_key(scope)
        credentials = any(
            name in CREDENTIAL_HEADERS and value for name, value in scope["headers"]
        )
        limiter = self._failures if credentials else self._limiter
        key = ("credentials" if credentials else "anonymous", address)
        wait = limiter.take(key)
        if wait is not None:
            detail = (
                "too many requests from this address without valid credentials; "
                f"retry after {wait} s or authenticate"
            )
            response = status_problem(429, detail, scope, retry_after=wait)
            await response(scope, receive, send)
            return
        if not credentials:
            if self.rate <= 0:
                await self.app(scope, receive, send)
                return
            with metered() as spent:
                try:
                    await self.app(scope, receive, send)
                finally:
                    limiter.charge(key, spent.ms / self.db_ms_per_unit)
            return

        async def send_refunding_valid(message: Message) -> None:
            if (
                message["type"] == "http.response.start"
                and message["status"] != 401
                and _authenticated(scope)
            ):
                limiter.refund(key)
            await send(message)

        await self.app(scope, receive, send_refunding_valid)

    @property
    def _buckets(self) -> OrderedDict[object, _Bucket]:
        """The buckets by (kind, address), least recently seen first."""
        return OrderedDict(
            [*self._limiter.buckets.items(), *self._failures.buckets.items()]
        )


def _authenticated(scope: Scope) -> bool:
    """Whether the credentials of the request were checked and found valid.

    Every route checks credentials that are sent (an app-wide dependency); static
    files and unknown paths do not, so credentials there are not refunded.
    """
    principal = scope.get("state", {}).get("principal")
    return (
        principal is not None and getattr(principal, "auth", "anonymous") != "anonymous"
    )


def client_key(scope: Scope) -> str:
    """The bucket key of the caller: its address, an IPv6 one by its /64.

    One IPv6 host usually holds a whole /64, so keying by full address would give it
    unlimited buckets. Without a client address (a Unix socket with no proxy headers)
    every such request shares one bucket.
    """
    client = scope.get("client")
    if not client:
        return "-"
    host: str = client[0]
    if ":" in host:
        try:
            ip = ipaddress.IPv6Address(host)
        except ValueError:
            return host
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return host


class BodyLimitMiddleware:
    """Refuse a request body larger than ``max_body_bytes`` with a 413, before routing.

    A declared ``Content-Length`` above the limit is refused without reading the body;
    a malformed one is a 400. A body of unknown length (chunked) is read here, up to
    one byte past the limit, and replayed to the app when it fits: stopping a stream
    that the app has begun to read cannot be done cleanly in ASGI, and a truncated
    body must never look complete. Bodies are small (10 MiB by default), and nothing
    is read before a refusal of the rate limit, which sits outside this middleware.
    """

    def __init__(self, app: ASGIApp, *, limits: LimitSettings) -> None:
        self.app = app
        self.max_bytes = limits.max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = [v for k, v in scope["headers"] if k == b"content-length"]
        if declared:
            length = content_length(declared)
            if length is None:
                response = status_problem(
                    400, "Content-Length is not a single decimal number", scope
                )
                await response(scope, receive, send)
            elif length > self.max_bytes:
                await self._refuse(scope, receive, send)
            else:
                # the server stops the body at the declared length
                await self.app(scope, receive, send)
            return

        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away while sending: nobody to answer
            chunk: bytes = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await self._refuse(scope, receive, send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()  # after the body: the disconnect
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        detail = f"the request body is larger than {self.max_bytes} bytes"
        response = status_problem(413, detail, scope)
        await response(scope, receive, send)


def content_length(values: list[bytes]) -> int | None:
    """The length of ``Content-Length`` header values, None when malformed.

    A repeated header or a list is accepted only when every value is the same
    (RFC 9110 §8.6); anything but ASCII digits is malformed.
    """
    seen = {v.strip() for value in values for v in value.split(b",")}
    if len(seen) != 1:
        return None
    text = seen.pop()
    if not text.isdigit():  # bytes.isdigit: ASCII digits only, and not empty
        return None
    return int(text) if len(text) <= _LONG_LENGTH else 10**_LONG_LENGTH
