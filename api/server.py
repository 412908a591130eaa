"""The HTTP server: uvicorn with the limits of ``HttpSettings``.

uvicorn (0.54, httptools 0.9: see ``uv.lock``) has no limit on the size or number of
header lines and no header or body read timeout, so a client can send a 64 MB header
or hold a connection open for ever one byte at a time. ``LimitedHttpToolsProtocol``
subclasses its httptools protocol (kept for speed: the benchmark measures this path)
and bounds both through the parser's callbacks; ``tests/api/test_http_limits.py``
pins the behaviour of the uvicorn internals it relies on. ``ConcurrencyLimitMiddleware``
answers a problem+json 503 with ``Retry-After`` when a worker is full (uvicorn's
``limit_concurrency`` answers bare text and counts idle connections).
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from asyncio import TimerHandle
from typing import TYPE_CHECKING, Any

import orjson
import uvicorn
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol
from uvicorn.server import ServerState
from uvicorn.supervisors import Multiprocess

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Receive, Scope, Send

    from gis.settings import HttpSettings, Settings

# This module is imported when a worker unpickles its ServerConfig, before uvicorn's
# health check answers (5 s): it imports only uvicorn here, and the app's modules
# (api.problems, gis.settings) where they are used, once the app is loaded anyway.

log = logging.getLogger("dothi.http")
# how long a refused connection is still read (and the bytes dropped) after the
# answer, so that the client reads the answer instead of a reset (nginx's lingering
# close); the client cannot stretch it
LINGER_S = 1.0
BUSY_RETRY_AFTER_S = 1


class ServerConfig(uvicorn.Config):
    """uvicorn's configuration plus ``HttpSettings`` for the protocol.

    It is pickled to every worker when there are several, so the limits travel with
    it, as a plain dict until ``load`` (the protocol class is found by its module
    path).
    """

    def __init__(self, app: Any, *, limits: HttpSettings, **kwargs: Any) -> None:
        super().__init__(
            app,
            http=LimitedHttpToolsProtocol,
            # no route speaks WebSocket: an upgrade request is plain HTTP, under these
            # limits, instead of going to a protocol without them
            ws="none",
            timeout_keep_alive=limits.keep_alive_timeout_s,
            **kwargs,
        )
        self.http_limit_values = limits.model_dump()
        self.http_limits: HttpSettings | None = None

    def load(self) -> None:
        """uvicorn's ``load`` (the app), then the limits as ``HttpSettings``."""
        super().load()
        from gis.settings import HttpSettings

        self.http_limits = HttpSettings(**self.http_limit_values)


def server_config(
    app: Any, settings: Settings, *, host: str, port: int, **kwargs: Any
) -> ServerConfig:
    """How ``dothi serve`` (and the tests' live server) runs ``app``."""
    kwargs.setdefault("proxy_headers", True)
    return ServerConfig(app, limits=settings.http, host=host, port=port, **kwargs)


def serve(config: ServerConfig) -> None:
    """Run the server until interrupted (``uvicorn.run`` for a built config)."""
    server = uvicorn.Server(config)
    try:
        if config.workers > 1:
            Multiprocess(config, sockets=[config.bind_socket()]).run()
        else:
            server.run()
    except KeyboardInterrupt:
        pass


def problem_response(status: int, detail: str) -> bytes:
    """A whole HTTP/1.1 response: the problem of ``STATUS_TABLE``, then close.

    Written by the protocol before any request exists, so in Vietnamese (the
    default of every answer made before routing) and without ``instance``.
    """
    from api.messages import localise
    from api.negotiation import MEDIA
    from api.problems import STATUS_TABLE

    code, slug, _en, vi = STATUS_TABLE[status]
    body = orjson.dumps(
        {
            "type": f"/problems/{slug}",
            "title": vi,
            "status": status,
            "detail": localise(detail, "vi"),
            "code": code,
            "request_id": uuid.uuid4().hex[:16],
        }
    )
    head = [
        STATUS_LINE[status],
        b"content-type: " + MEDIA["problem"].encode() + b"\r\n",
        b"content-length: %d\r\n" % len(body),
        b"connection: close\r\n",
        b"\r\n",
    ]
    return b"".join([*head, body])


def _limits(config: uvicorn.Config) -> HttpSettings:
    """The limits of ``config`` (the defaults for a plain uvicorn ``Config``)."""
    limits = getattr(config, "http_limits", None)
    if limits is None:
        from gis.settings import HttpSettings

        limits = HttpSettings()
    return limits


class _RefusedError(Exception):
    """Raised in a parser callback to stop parsing; the refusal is on the protocol."""


class LimitedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with head, body and connection limits.

    The head (request line and headers) is counted as bytes arrive, before httptools
    has collected a header line whole: 414 for a long target, 431 for too many or
    too large header lines or a too large head (counted to within one read), 400
    for an HTTP/0.9 request line, 505 for another version. The whole head must
    arrive within ``header_timeout_s`` of the connection or of the first byte of a
    later request (408; a connection that sent nothing is closed silently), and the
    body within ``body_timeout_s`` of the head (408, or a close once the app has
    begun its answer); an answer the client stops reading for ``write_timeout_s``
    is cut. Every refusal ends the connection.
    """

    def __init__(
        self,
        config: uvicorn.Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self.limits = _limits(config)
        self._head_timer: TimerHandle | None = None
        self._body_timer: TimerHandle | None = None
        self._write_timer: TimerHandle | None = None
        self._in_head = False  # a request line has begun and its head is not complete
        self._in_body = False  # a head is complete and its body is not
        self._head_bytes = 0
        self._refusal: tuple[int, str] | None = None
        self._refused = False

    # connection

    def connection_made(  # type: ignore[override]
        self, transport: asyncio.Transport
    ) -> None:
        super().connection_made(transport)
        if not self._room_for_one_more():
            transport.close()
            return
        self._head_timer = self.loop.call_later(
            self.limits.header_timeout_s, self._head_timed_out
        )

    def _room_for_one_more(self) -> bool:
        """Whether this connection may stay: under the cap, or an idle one made room."""
        cap = self.limits.max_connections
        if cap <= 0 or len(self.connections) <= cap:
            return True
        for other in self.connections:
            # idle between requests: uvicorn's keep-alive timer is armed
            if (
                isinstance(other, HttpToolsProtocol)
                and other is not self
                and other.timeout_keep_alive_task is not None
                and not other.transport.is_closing()
            ):
                other.timeout_keep_alive_handler()
                return True
        log.warning("connection refused: %d connections open", len(self.connections))
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel(head=True, body=True, write=True)
        super().connection_lost(exc)

    # a client that stops reading its answer: the transport's buffer fills and
    # asyncio pauses writing; uvicorn would wait for it for ever, holding the
    # request's slot (ConcurrencyLimitMiddleware) and the rest of the document

    def pause_writing(self) -> None:
        super().pause_writing()
        if self._write_timer is None:
            self._write_timer = self.loop.call_later(
                self.limits.write_timeout_s, self._write_timed_out
            )

    def resume_writing(self) -> None:
        super().resume_writing()
        self._cancel(write=True)

    def _write_timed_out(self) -> None:
        self._write_timer = None
        log.info("closed %s: the answer was not read for %g s", self.client,
                 self.limits.write_timeout_s)  # fmt: skip
        # connection_lost then lets the app's send return and the request end
        self.transport.abort()

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return  # lingering after a refusal: drop what still arrives
        if not self._in_body:
            self._head_bytes += len(data)
        super().data_received(data)
        if self._refused or self.transport.is_closing():
            return
        if self._in_head and self._head_bytes > self.limits.max_head_bytes:
            self._refuse(
                431, f"the request head is over {self.limits.max_head_bytes} bytes"
            )
        elif self._in_body and self._body_timer is None:
            self._body_timer = self.loop.call_later(
                self.limits.body_timeout_s, self._body_timed_out
            )
        elif self._head_timer is None and (self._in_head or self._idle()):
            # a head has begun, or bytes that begin none (blank lines) arrived
            self._head_timer = self.loop.call_later(
                self.limits.header_timeout_s, self._head_timed_out
            )

    def _idle(self) -> bool:
        """No request is being read or answered on this connection."""
        busy = self.cycle is not None and not self.cycle.response_complete
        return not (busy or self._in_body or self.pipeline)

    # parser callbacks

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._in_head = True

    def on_url(self, url: bytes) -> None:
        super().on_url(url)
        if len(self.url) > self.limits.max_request_line_bytes:
            limit = self.limits.max_request_line_bytes
            self._stop(414, f"the request target is over {limit} bytes")

    def on_headers_complete(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None
        self._in_head = False
        self._in_body = True
        self._check_head()
        self._head_bytes = 0
        super().on_headers_complete()

    def _check_head(self) -> None:
        """The header lines and the version, once the head is complete.

        The head's size is bounded as it arrives (``data_received``), so counting
        here, instead of in a per-line callback, costs the hot path nothing.
        """
        limits = self.limits
        if len(self.headers) > limits.max_header_count:
            self._stop(431, f"more than {limits.max_header_count} header lines")
        # a head that arrived whole in one read (with a body, perhaps): its own size
        if self._head_bytes > limits.max_head_bytes and self._head_size() > (
            limits.max_head_bytes
        ):
            self._stop(431, f"the request head is over {limits.max_head_bytes} bytes")
        # a head smaller than the line limit has no line over it (0: not counted,
        # as it began in the read that ended a body)
        if not 0 < self._head_bytes <= limits.max_header_line_bytes and any(
            len(name) + len(value) > limits.max_header_line_bytes
            for name, value in self.headers
        ):
            limit = limits.max_header_line_bytes
            self._stop(431, f"a header line is over {limit} bytes")
        version = self.parser.get_http_version()
        if version == "0.9":  # a request line without a version
            self._stop(400, "the request line has no HTTP version")
        if version not in ("1.0", "1.1"):
            self._stop(505, f"HTTP/{version} is not served here; use HTTP/1.1")

    def _head_size(self) -> int:
        """The head's bytes: request line and header lines (": " and CRLF each)."""
        lines = sum(len(name) + len(value) + 4 for name, value in self.headers)
        return len(self.url) + len(self.parser.get_method()) + 12 + lines

    def on_message_complete(self) -> None:
        self._in_body = False
        if self._body_timer is not None:
            self._body_timer.cancel()
            self._body_timer = None
        super().on_message_complete()

    # refusals

    def _stop(self, status: int, detail: str) -> None:
        """Refuse from a parser callback: httptools turns the raise into an error."""
        self._refusal = (status, detail)
        raise _RefusedError(detail)

    def send_400_response(self, msg: str) -> None:
        """uvicorn's answer to a parser error: ours when a limit stopped the parser."""
        status, detail = self._refusal or (400, "the request is not valid HTTP/1.1")
        del msg
        self._refuse(status, detail)

    def _refuse(self, status: int, detail: str) -> None:
        """Answer ``status`` and end the connection (lingering, see ``LINGER_S``)."""
        self._refused = True
        self._cancel(head=True, body=True)
        self._unset_keepalive_if_required()
        log.info("refused %d from %s: %s", status, self.client, detail)
        if self.cycle is not None and not self.cycle.response_complete:
            # the app is answering an earlier request: it must not be mixed with ours
            self.cycle.disconnected = True
            self.cycle.message_event.set()
            if self.cycle.response_started:
                self.transport.close()
                return
        self.transport.write(problem_response(status, detail))
        if self.transport.can_write_eof():
            self.transport.write_eof()
            self.loop.call_later(LINGER_S, self.transport.close)
        else:
            self.transport.close()

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if self.transport.is_closing() or self._refused:
            return
        if self._in_head:
            limit = self.limits.header_timeout_s
            self._refuse(408, f"the request head did not arrive within {limit:g} s")
        else:  # nothing or only blank lines: nobody to answer
            self.transport.close()

    def _body_timed_out(self) -> None:
        self._body_timer = None
        if self.transport.is_closing() or self._refused:
            return
        if self.cycle is not None and self.cycle.response_complete:
            # answered already (a refusal that did not need the body): just end it
            self.transport.close()
            return
        limit = self.limits.body_timeout_s
        self._refuse(408, f"the request body did not arrive within {limit:g} s")

    def _cancel(
        self, *, head: bool = False, body: bool = False, write: bool = False
    ) -> None:
        if write and self._write_timer is not None:
            self._write_timer.cancel()
            self._write_timer = None
        if head and self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None
        if body and self._body_timer is not None:
            self._body_timer.cancel()
            self._body_timer = None


class ConcurrencyLimitMiddleware:
    """Answer a problem+json 503 with ``Retry-After`` when ``max_concurrent_requests``
    requests are already in this worker, before routing, the body or the database.

    A request counts from its head to the end of its answer (so a body still being
    read counts: ``body_timeout_s`` bounds how long). Per worker: with several the
    server holds this many times their number.
    """

    def __init__(self, app: ASGIApp, *, limits: HttpSettings) -> None:
        self.app = app
        self.cap = limits.max_concurrent_requests
        self.in_flight = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.cap <= 0:
            await self.app(scope, receive, send)
            return
        if self.in_flight >= self.cap:
            detail = (
                f"the server is answering {self.cap} requests; "
                f"retry after {BUSY_RETRY_AFTER_S} s"
            )
            from api.problems import status_problem

            response = status_problem(
                503, detail, scope, retry_after=BUSY_RETRY_AFTER_S
            )
            await response(scope, receive, send)
            return
        self.in_flight += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.in_flight -= 1
