"""The one mapping from errors to RFC 9457 problem objects with an OGC ``code``.

A 5xx never carries exception or PostgreSQL text: the full error is logged with the
request id, and the client gets the id to quote.
"""

from __future__ import annotations

import logging
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

from gis.auth import AuthenticationError
from gis.auth_jwt import KeysUnavailableError
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

log = logging.getLogger("dothi.api")
PROBLEM_JSON = "application/problem+json"

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
    (NotFoundError, 404, "NotFound", "not-found", "Not found", "Không tìm thấy"),
    (ForbiddenError, 403, "NoApplicableCode", "forbidden", "Forbidden",
     "Không được phép"),
    (UnsupportedMediaTypeError, 415, "InvalidParameterValue",
     "unsupported-media-type", "Unsupported media type",
     "Kiểu dữ liệu không được hỗ trợ"),
    (NotAcceptableError, 406, "InvalidParameterValue", "not-acceptable",
     "Not acceptable", "Định dạng không được hỗ trợ"),
    (ConflictError, 409, "NoApplicableCode", "conflict", "Conflict", "Xung đột"),
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
}  # fmt: skip


def problem(
    status: int,
    code: str,
    slug: str,
    title: str,
    detail: str,
    request: Request,
    **extra: Any,
) -> Response:
    """An ``application/problem+json`` response."""
    body: dict[str, Any] = {
        "type": f"/problems/{slug}",
        "title": title,
        "status": status,
        "detail": detail,
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
        orjson.dumps(body), status_code=status, media_type=PROBLEM_JSON, headers=headers
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
    return getattr(request.state, "lang", "vi")


async def on_gis_error(request: Request, exc: Exception) -> Response:
    """Map a ``GisError`` through the table."""
    assert isinstance(exc, GisError)
    for cls, status, code, slug, en, vi in TABLE:
        if isinstance(exc, cls):
            title = en if _lang(request) == "en" else vi
            return problem(status, code, slug, title, exc.detail, request, **exc.extra)
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
        "Invalid parameter value",
        "; ".join(parts) or "invalid request",
        request,
    )


async def on_http_error(request: Request, exc: Exception) -> Response:
    """Starlette's own 404/405 in the same shape."""
    assert isinstance(exc, StarletteHTTPException)
    code = "NotFound" if exc.status_code == 404 else "NoApplicableCode"
    slug = "not-found" if exc.status_code == 404 else f"http-{exc.status_code}"
    detail = exc.detail if isinstance(exc.detail, str) else "request refused"
    return problem(exc.status_code, code, slug, detail, detail, request)


async def on_db_error(request: Request, exc: Exception) -> Response:
    """A statement timeout is a 503 with Retry-After; anything else is logged, 500."""
    orig = getattr(exc, "orig", exc)
    if isinstance(orig, pg_errors.QueryCanceled):
        return problem(
            503,
            "NoApplicableCode",
            "query-timeout",
            "The query took too long",
            "the request exceeded the statement timeout; narrow it or try again",
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
        "Internal server error",
        f"an unexpected error occurred; quote request id {rid}",
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
