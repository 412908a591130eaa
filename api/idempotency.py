"""``Idempotency-Key`` on ``POST /collections/{id}/items`` (``gis.idempotency``).

A retry of a create whose answer was lost (a timeout, a dropped connection) gets the
first answer, ``Location`` and all, and no second feature. The key is the caller's
own: anonymous callers may not create features at all (401 before the key is read),
and were a layer ever opened to them, a key of theirs would be a 400, since nothing
but a shared client address would tell two of them apart.
"""

from __future__ import annotations

from fastapi import Request, Response

from api.caching import NO_STORE
from api.deps import claims_of
from api.links import base_url
from api.state import app_state
from gis.crs import CRS84
from gis.edits import FeatureEdit, insert_statement
from gis.errors import InvalidParameterError
from gis.idempotency import HEADER, Answer, create_once, fingerprint, parse_key
from gis.layer import VectorLayer
from gis.sql.compiled import compile_statement


def idempotency_key(request: Request) -> str | None:
    """The request's key; None without the header (400 when malformed)."""
    return parse_key(request.headers.getlist(HEADER))


async def create_feature_once(
    request: Request, layer: VectorLayer, edit: FeatureEdit, key: str
) -> Response:
    """Insert the feature unless ``key`` already made it; the (first) answer."""
    claims = claims_of(request)
    if claims is None:
        raise InvalidParameterError(f"{HEADER}: sign in to send one", parameter=HEADER)
    state = app_state(request)
    # what makes the request this request: where, in which CRS, and the body
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    crs = request.headers.get("content-crs", CRS84)
    answer, _ = await create_once(
        state.pool,
        compile_statement(insert_statement(layer, edit)),
        claims=claims,
        key=key,
        request_fingerprint=fingerprint(
            layer.id.encode(), kind.encode(), crs.encode(), await request.body()
        ),
        answer_of=lambda fid: Answer(201, f"/collections/{layer.id}/items/{fid}"),
        ttl_s=state.settings.limits.idempotency_ttl_s,
    )
    return response_of(request, answer)


def response_of(request: Request, answer: Answer) -> Response:
    """The HTTP response of a stored answer (links from this request's root)."""
    headers = dict(NO_STORE)
    if answer.location is not None:
        headers["Location"] = base_url(request) + answer.location
    if answer.etag is not None:
        headers["ETag"] = answer.etag
    return Response(
        answer.body,
        status_code=answer.status,
        media_type=answer.content_type,
        headers=headers,
    )
