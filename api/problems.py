"""The one mapping from errors to RFC 9457 problem objects with an OGC ``code``.

A 5xx never carries exception or PostgreSQL text: the full error is logged with the
request id, and the client gets the id to quote.
"""

from __future__ import annotations

import logging
import time
import uuid
from typing import Any

import orjson
import psycopg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from psycopg import errors as pg_errors
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import Scope

from api.messages import localise
from api.negotiation import MEDIA, language
from auth.errors import AuthenticationError, TooManySignInsError
from auth.jwt import KeysUnavailableError
from gis.db.pool import unavailable
from gis.edits import PreconditionFailedError
from gis.errors import (
    ConflictError,
    ForbiddenError,
    GisError,
    InvalidParameterError,
    LimitExceededError,
    NotAcceptableError,
    NotFoundError,
    QueryTimeoutError,
    UnsupportedMediaTypeError,
)
from gis.idempotency import IdempotencyKeyReusedError

log = logging.getLogger("dothi.api")

# exception class -> (status, OGC code, type slug, English title, Vietnamese title)
TABLE: list[tuple[type[GisError], int, str, str, str, str]] = [
    (LimitExceededError, 400, "InvalidParameterValue", "limit-exceeded",
     "Limit exceeded", "Vượt quá giới hạn"),
    (InvalidParameterError, 400, "InvalidParameterValue", "invalid-parameter-value",
     "Invalid parameter value", "Giá trị tham số không hợp lệ"),
    (KeysUnavailableError, 503, "NoApplicableCode", "identity-provider-unavailable",
     "Identity provider unavailable", "Không kết nối được máy chủ định danh"),
    (AuthenticationError, 401, "NoApplicableCode", "unauthorized",
     "Not authenticated", "Chưa xác thực"),
    (TooManySignInsError, 429, "NoApplicableCode", "too-many-requests",
     "Too many requests", "Quá nhiều yêu cầu"),
    (NotFoundError, 404, "NotFound", "not-found", "Not found", "Không tìm thấy"),
    (ForbiddenError, 403, "NoApplicableCode", "forbidden", "Forbidden",
     "Không được phép"),
    (UnsupportedMediaTypeError, 415, "InvalidParameterValue",
     "unsupported-media-type", "Unsupported media type",
     "Kiểu dữ liệu không được hỗ trợ"),
    (NotAcceptableError, 406, "InvalidParameterValue", "not-acceptable",
     "Not acceptable", "Định dạng không được hỗ trợ"),
    (ConflictError, 409, "NoApplicableCode", "conflict", "Conflict", "Xung đột"),
    (PreconditionFailedError, 412, "NoApplicableCode", "precondition-failed",
     "Precondition failed", "Điều kiện của yêu cầu không còn đúng"),
    (IdempotencyKeyReusedError, 422, "InvalidParameterValue", "idempotency-key-reused",
     "Idempotency-Key already used", "Idempotency-Key đã được dùng"),
    (QueryTimeoutError, 503, "NoApplicableCode", "query-timeout",
     "The query took too long", "Truy vấn quá thời gian cho phép"),
]  # fmt: skip

# refusals made by the middlewares of api/limits.py before routing, where no exception
# handler runs: status -> (OGC code, type slug, English title, Vietnamese title)
STATUS_TABLE: dict[int, tuple[str, str, str, str]] = {
    400: ("InvalidParameterValue", "bad-request",
          "Bad request", "Yêu cầu không hợp lệ"),
    413: ("NoApplicableCode", "content-too-large",
          "Request body too large", "Nội dung yêu cầu quá lớn"),
    429: ("NoApplicableCode", "too-many-requests",
          "Too many requests", "Quá nhiều yêu cầu"),
    # the HTTP server's own refusals (api/server.py)
    408: ("NoApplicableCode", "request-timeout",
          "Request timeout", "Yêu cầu gửi quá chậm"),
    414: ("NoApplicableCode", "uri-too-long",
          "Request target too long", "Địa chỉ yêu cầu quá dài"),
    431: ("NoApplicableCode", "header-fields-too-large",
          "Request header fields too large", "Phần đầu yêu cầu quá lớn"),
    503: ("NoApplicableCode", "server-busy",
          "Server busy", "Máy chủ đang quá tải"),
    505: ("NoApplicableCode", "http-version-not-supported",
          "HTTP version not supported", "Phiên bản HTTP không được hỗ trợ"),
}  # fmt: skip


# titles of Starlette's own refusals (routing, static files): status -> (en, vi)
HTTP_TITLES: dict[int, tuple[str, str]] = {
    404: ("Not found", "Không tìm thấy"),
    405: ("Method not allowed", "Phương thức không được phép"),
}


def problem(
    status: int,
    code: str,
    slug: str,
    title: str,
    detail: str,
    request: Request,
    **extra: Any,
) -> Response:
    """An ``application/problem+json`` response; ``detail`` is given in English (or
    already in the answer's language) and answered in the caller's language."""
    body: dict[str, Any] = {
        "type": f"/problems/{slug}",
        "title": title,
        "status": status,
        "detail": localise(detail, _lang(request)),
        "instance": request.url.path,
        "code": code,
        **extra,
        "request_id": getattr(request.state, "request_id", None)
        or uuid.uuid4().hex[:16],
    }
    headers = {"Retry-After": "5"} if status == 503 else None
    if status == 401:
        headers = {
            "WWW-Authenticate": 'Bearer error="invalid_token", Basic realm="dothi"'
        }
    return Response(
        orjson.dumps(body),
        status_code=status,
        media_type=MEDIA["problem"],
        headers=headers,
    )


def status_problem(
    status: int, detail: str, scope: Scope, *, retry_after: int | None = None
) -> Response:
    """A refusal of ``STATUS_TABLE`` for a middleware (no ``Request`` there yet)."""
    request = Request(scope)
    code, slug, en, vi = STATUS_TABLE[status]
    title = en if _lang(request) == "en" else vi
    response = problem(status, code, slug, title, detail, request)
    if retry_after is not None:
        response.headers["Retry-After"] = str(retry_after)
    return response


def _lang(request: Request) -> str:
    """The answer's language, also for errors raised before (or instead of) the
    route's own language dependency: a 404 of an unknown collection, a 429."""
    return language(request)


def _t(request: Request, en: str, vi: str) -> str:
    return en if _lang(request) == "en" else vi


async def on_gis_error(request: Request, exc: Exception) -> Response:
    """Map a ``GisError`` through the table."""
    assert isinstance(exc, GisError)
    for cls, status, code, slug, en, vi in TABLE:
        if isinstance(exc, cls):
            title = en if _lang(request) == "en" else vi
            response = problem(
                status, code, slug, title, exc.detail, request, **exc.extra
            )
            retry_after = getattr(exc, "retry_after", None)
            if retry_after is not None:
                response.headers["Retry-After"] = str(retry_after)
            return response
    return await on_unexpected(request, exc)


async def on_validation_error(request: Request, exc: Exception) -> Response:
    """FastAPI's validation errors become 400s (never 422)."""
    assert isinstance(exc, RequestValidationError)
    parts = []
    for err in exc.errors():
        where = ".".join(
            str(p) for p in err.get("loc", ()) if p not in ("query", "path")
        )
        parts.append(f"{where}: {err.get('msg', 'invalid')}")
    return problem(
        400,
        "InvalidParameterValue",
        "invalid-parameter-value",
        _t(request, "Invalid parameter value", "Giá trị tham số không hợp lệ"),
        "; ".join(parts) or "invalid request",
        request,
    )


async def on_http_error(request: Request, exc: Exception) -> Response:
    """Starlette's own 404/405 in the same shape."""
    assert isinstance(exc, StarletteHTTPException)
    code = "NotFound" if exc.status_code == 404 else "NoApplicableCode"
    slug = "not-found" if exc.status_code == 404 else f"http-{exc.status_code}"
    detail = exc.detail if isinstance(exc.detail, str) else "request refused"
    en, vi = HTTP_TITLES.get(exc.status_code, (detail, "Yêu cầu bị từ chối"))
    title = _t(request, en, vi)
    response = problem(exc.status_code, code, slug, title, detail, request)
    # the router's and StaticFiles' 405 name the allowed methods (RFC 9110 §15.5.6)
    response.headers.update(exc.headers or {})
    return response


class _QuietLog:
    """One warning line per ``interval_s`` for an outage, not a traceback a request."""

    def __init__(self, interval_s: float) -> None:
        self.interval_s = interval_s
        self.last = -interval_s
        self.held = 0

    def warn(self, exc: BaseException) -> None:
        now = time.monotonic()
        if now - self.last < self.interval_s:
            self.held += 1
            return
        first_line = (str(exc).strip().splitlines() or [""])[0]
        log.warning(
            "database unavailable, answering 503 (%d more since the last line): %s: %s",
            self.held,
            type(exc).__name__,
            first_line,
        )
        self.last, self.held = now, 0


_db_unavailable = _QuietLog(interval_s=10.0)


def _db_unavailable_problem(request: Request, exc: BaseException) -> Response:
    """PostgreSQL down, restarting or out of connections: 503, Retry-After, one line."""
    _db_unavailable.warn(exc)
    safe = request.method in ("GET", "HEAD", "OPTIONS")
    detail = (
        _t(
            request,
            "the database is not reachable for now; try again in a few seconds",
            "cơ sở dữ liệu tạm thời không kết nối được; hãy thử lại sau vài giây",
        )
        if safe
        else _t(
            request,
            "the database is not reachable for now; the change may not have been "
            "made: read it back before you retry",
            "cơ sở dữ liệu tạm thời không kết nối được; thay đổi có thể chưa được "
            "ghi: hãy đọc lại trước khi gửi lại",
        )
    )
    title = (
        "Database unavailable"
        if _lang(request) == "en"
        else "Cơ sở dữ liệu tạm thời không sẵn sàng"
    )
    return problem(
        503, "NoApplicableCode", "database-unavailable", title, detail, request
    )


async def on_db_error(request: Request, exc: Exception) -> Response:
    """A statement timeout, or PostgreSQL unreachable
    (``gis.db.pool.unavailable``), is a 503 with Retry-After; anything else is
    logged, 500."""
    orig = getattr(exc, "orig", exc)
    if unavailable(orig):
        return _db_unavailable_problem(request, orig)
    if isinstance(orig, pg_errors.QueryCanceled):
        return problem(
            503,
            "NoApplicableCode",
            "query-timeout",
            _t(request, "The query took too long", "Truy vấn quá thời gian cho phép"),
            _t(
                request,
                "the request exceeded the statement timeout; narrow it or try again",
                "yêu cầu vượt quá thời gian cho phép; hãy thu hẹp hoặc thử lại",
            ),
            request,
        )
    if isinstance(orig, pg_errors.DeadlockDetected | pg_errors.SerializationFailure):
        # two writers crossed (rolled back, nothing written): a retry succeeds
        response = problem(
            503,
            "NoApplicableCode",
            "write-conflict",
            _t(request, "Concurrent writes crossed", "Xung đột ghi đồng thời"),
            _t(
                request,
                "another change crossed this one and it was not made; send it again",
                "một thay đổi khác chen vào nên thay đổi này chưa được ghi; hãy gửi lại",
            ),
            request,
        )
        response.headers["Retry-After"] = "1"
        return response
    if isinstance(orig, pg_errors.ConfigurationLimitExceeded):  # temp_file_limit
        return problem(
            503,
            "NoApplicableCode",
            "query-too-large",
            _t(
                request,
                "The query needs too much memory",
                "Truy vấn cần quá nhiều bộ nhớ",
            ),
            _t(
                request,
                "the request needs more temporary space than the server allows; "
                "narrow it",
                "yêu cầu cần nhiều bộ nhớ tạm hơn mức máy chủ cho phép; hãy thu hẹp",
            ),
            request,
        )
    return await on_unexpected(request, exc)


async def on_unexpected(request: Request, exc: Exception) -> Response:
    """Log everything, tell the client nothing but the request id."""
    rid = getattr(request.state, "request_id", uuid.uuid4().hex[:16])
    log.error(
        "unhandled error request_id=%s path=%s", rid, request.url.path, exc_info=exc
    )
    return problem(
        500,
        "NoApplicableCode",
        "internal-error",
        _t(request, "Internal server error", "Lỗi máy chủ"),
        _t(
            request,
            f"an unexpected error occurred; quote request id {rid}",
            f"đã xảy ra lỗi ngoài dự kiến; hãy báo mã yêu cầu {rid}",
        ),
        request,
    )


def install(app: FastAPI) -> None:
    """Register every handler on ``app``."""
    app.add_exception_handler(GisError, on_gis_error)
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(StarletteHTTPException, on_http_error)
    app.add_exception_handler(DBAPIError, on_db_error)
    app.add_exception_handler(psycopg.Error, on_db_error)
    app.add_exception_handler(Exception, on_unexpected)
