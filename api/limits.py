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


class AnonymousRateLimitMiddleware:
    """Per-process token buckets per client address: one for requests without
    credentials, one for credentials that turn out not to be valid.

    A request without an ``Authorization`` or ``X-API-Key`` header (an empty value
    counts as absent, as in ``api.security.authenticate``) takes a token of the
    address's anonymous bucket; when none is left the answer is a 429 with
    ``Retry-After``. A request with credentials reserves a token of the address's
    *failures* bucket before it runs and gets it back when its credentials were valid:
    guesses (401s, and made-up credentials on any route) run at the anonymous rate
    at most, however many are sent at once, while valid keys and tokens are never
    held back by the address's anonymous traffic and only hold a token while in
    flight.

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
        self.burst = float(limits.anonymous_burst)
        self.max_clients = max_clients
        self._buckets: OrderedDict[tuple[str, str], _Bucket] = OrderedDict()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.rate <= 0:
            await self.app(scope, receive, send)
            return
        address = client_key(scope)
        credentials = any(
            name in CREDENTIAL_HEADERS and value for name, value in scope["headers"]
        )
        key = ("credentials" if credentials else "anonymous", address)
        wait = self._take(key)
        if wait is not None:
            detail = (
                "too many requests from this address without valid credentials; "
                f"retry after {wait} s or authenticate"
            )
            response = status_problem(429, detail, scope, retry_after=wait)
            await response(scope, receive, send)
            return
        if not credentials:
            await self.app(scope, receive, send)
            return

        async def send_refunding_valid(message: Message) -> None:
            if (
                message["type"] == "http.response.start"
                and message["status"] != 401
                and _authenticated(scope)
            ):
                self._refund(key)
            await send(message)

        await self.app(scope, receive, send_refunding_valid)

    def _bucket(self, key: tuple[str, str]) -> _Bucket:
        """The bucket of ``key`` refilled to now (a full one when first seen)."""
        now = clock()
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = _Bucket(self.burst, now)
            while len(self._buckets) > self.max_clients:
                # the least recently seen: the most refilled, full after burst/rate s
                self._buckets.popitem(last=False)
            return bucket
        self._buckets.move_to_end(key)
        bucket.tokens = min(
            self.burst, bucket.tokens + (now - bucket.stamp) * self.rate
        )
        bucket.stamp = now
        return bucket

    def _retry_after(self, bucket: _Bucket) -> int:
        return max(1, math.ceil((1.0 - bucket.tokens) / self.rate))

    def _take(self, key: tuple[str, str]) -> int | None:
        """Take a token: None when granted, else the seconds until one is there."""
        bucket = self._bucket(key)
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return None
        return self._retry_after(bucket)

    def _refund(self, key: tuple[str, str]) -> None:
        bucket = self._bucket(key)
        bucket.tokens = min(self.burst, bucket.tokens + 1.0)


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
