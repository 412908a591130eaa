"""OGC API Features Parts 1 and 2: items and features, in every offered CRS."""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Path, Request, Response

from api import html, negotiation
from api.deps import LangDep, LayerDep, PrincipalDep, SettingsDep, reject_unknown
from api.links import base_url, link, with_query
from api.stats import layer_stats
from gis.crs import CRS84, parse_crs
from gis.errors import InvalidParameterError, NotFoundError
from gis.layer import Field, Principal, VectorLayer
from gis.query import (
    Cursor,
    ItemsQuery,
    decode_cursor,
    encode_cursor,
    parse_bbox,
    parse_datetime,
    parse_limit,
    parse_properties,
    parse_sortby,
)
from gis.settings import Settings
from gis.sql.features import build_item, build_items

router = APIRouter()
GEOJSON = "application/geo+json"
ITEMS_PARAMS = {
    "f", "lang", "limit", "bbox", "bbox-crs", "datetime", "crs", "properties",
    "skipGeometry", "sortby", "cursor",
}  # fmt: skip
# numberMatched is exact, so it is only computed where a count is cheap
COUNT_MAX_ROWS = 100_000


def parse_items_query(
    request: Request, layer: VectorLayer, fields: tuple[Field, ...], settings: Settings
) -> ItemsQuery:
    """Validate the query string of an items request (400 on anything wrong)."""
    q = request.query_params
    queryables = {f.name for f in fields if f.queryable}
    reject_unknown(request, ITEMS_PARAMS | queryables)
    for name in ITEMS_PARAMS | queryables:
        if len(q.getlist(name)) > 1:
            raise InvalidParameterError(f"{name}: given more than once", parameter=name)
    allowed = layer.crs_srids
    crs = parse_crs(q["crs"], allowed) if "crs" in q else parse_crs(CRS84, allowed)
    bbox_crs = parse_crs(q["bbox-crs"], allowed) if "bbox-crs" in q else None
    if bbox_crs and "bbox" not in q:
        raise InvalidParameterError(
            "bbox-crs: given without bbox", parameter="bbox-crs"
        )
    bbox_ref = bbox_crs or parse_crs(CRS84, allowed)
    skip = q.get("skipGeometry", "false").lower()
    if skip not in ("true", "false"):
        raise InvalidParameterError(
            "skipGeometry: expected true or false", parameter="skipGeometry"
        )
    sortby = parse_sortby(q["sortby"], fields) if "sortby" in q else ()
    return ItemsQuery(
        limit=parse_limit(
            q.get("limit"),
            default=settings.limits.default_limit,
            maximum=settings.limits.max_limit,
        ),
        bbox=parse_bbox(q["bbox"], bbox_ref) if "bbox" in q else None,
        bbox_srid=bbox_ref.srid,
        time=parse_datetime(q["datetime"]) if "datetime" in q else None,
        crs=crs,
        properties=parse_properties(q["properties"], fields)
        if "properties" in q
        else None,
        skip_geometry=skip == "true",
        sortby=sortby,
        equals=tuple((n, q[n]) for n in sorted(queryables) if n in q),
        cursor=decode_cursor(q["cursor"], sortby) if "cursor" in q else None,
    )


def _selected(fields: tuple[Field, ...], query: ItemsQuery) -> tuple[Field, ...]:
    if query.properties is None:
        return fields
    return tuple(f for f in fields if f.name in query.properties)


def _cache_headers(layer: VectorLayer, body: bytes, crs_uri: str) -> dict[str, str]:
    etag = '"' + hashlib.blake2b(body, digest_size=12).hexdigest() + '"'
    public = layer.access.is_public
    return {
        "ETag": etag,
        "Content-Crs": f"<{crs_uri}>",
        "Cache-Control": "public, max-age=60" if public else "private, no-store",
        "Vary": "Accept, Accept-Language, Authorization",
    }


def _not_modified(request: Request, headers: dict[str, str]) -> Response | None:
    inm = request.headers.get("if-none-match")
    if inm and headers["ETag"] in {t.strip() for t in inm.split(",")}:
        return Response(status_code=304, headers=headers)
    return None


def _page_links(
    request: Request, url: str, fmt: str, row: Any, query: ItemsQuery
) -> list[dict[str, Any]]:
    keep = {k: v for k, v in request.query_params.items() if k not in ("cursor", "f")}
    media = {"geojson": GEOJSON, "html": "text/html"}
    links = []
    for key, mtype in media.items():
        rel = "self" if key == fmt else "alternate"
        links.append(
            link(with_query(url, {**request.query_params, "f": key}), rel, mtype)
        )
    backwards = bool(query.cursor and query.cursor.backwards)
    has_next = row.more if not backwards else True
    has_prev = row.more if backwards else query.cursor is not None
    if row.returned and has_next and row.k_last:
        keys = orjson.loads(row.k_last)
        token = encode_cursor(Cursor(tuple(keys[:-1]), int(keys[-1])))
        links.append(
            link(
                with_query(url, {**keep, "cursor": token, "f": fmt}),
                "next",
                media[fmt],
                "next page",
            )
        )
    if row.returned and has_prev and row.k_first:
        keys = orjson.loads(row.k_first)
        token = encode_cursor(Cursor(tuple(keys[:-1]), int(keys[-1]), backwards=True))
        links.append(
            link(
                with_query(url, {**keep, "cursor": token, "f": fmt}),
                "prev",
                media[fmt],
                "previous page",
            )
        )
    return links


@router.get(
    "/collections/{collectionId}/items",
    operation_id="getItems",
    summary="Features of a collection",
)
async def get_items(
    request: Request,
    layer: LayerDep,
    lang: LangDep,
    principal: PrincipalDep,
    settings: SettingsDep,
) -> Response:
    """A page of features, built as GeoJSON by PostgreSQL."""
    fields = layer.visible_fields(principal)
    query = parse_items_query(request, layer, fields, settings)
    fmt = negotiation.choose(request, ("geojson", "html"))
    stats = await layer_stats(request, layer)
    stmt = build_items(
        layer, query, _selected(fields, query), count=stats.est_rows <= COUNT_MAX_ROWS
    )
    async with request.app.state.engine.connect() as conn:
        row = (await conn.execute(stmt)).one()
    url = f"{base_url(request)}/collections/{layer.id}/items"
    links = _page_links(request, url, fmt, row, query)
    if fmt == "html":
        return _items_html(request, layer, lang, row, links, query, fields)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    head = b'{"type":"FeatureCollection","features":['
    tail: dict[str, Any] = {"numberReturned": row.returned}
    if row.matched is not None:
        tail["numberMatched"] = row.matched
    tail["links"] = links
    features = (row.features or "").encode()
    headers = _cache_headers(layer, features + orjson.dumps(tail), query.crs.uri)
    tail["timeStamp"] = stamp
    if (cached := _not_modified(request, headers)) is not None:
        return cached
    body = head + features + b"]," + orjson.dumps(tail)[1:]
    return Response(body, media_type=GEOJSON, headers=headers)


def _items_html(
    request: Request,
    layer: VectorLayer,
    lang: str,
    row: Any,
    links: list[dict[str, Any]],
    query: ItemsQuery,
    fields: tuple[Field, ...],
) -> Response:
    features = orjson.loads(b"[" + (row.features or "").encode() + b"]")
    by_rel = {lk["rel"]: lk["href"] for lk in links}
    return html.render(
        "items.html",
        lang,
        title=layer.title.get(lang),
        base=base_url(request),
        features=features,
        columns=[f.name for f in _selected(fields, query)],
        returned=row.returned,
        matched=row.matched,
        next=by_rel.get("next"),
        prev=by_rel.get("prev"),
        items_url=f"{base_url(request)}/collections/{layer.id}/items",
    )


@router.get(
    "/collections/{collectionId}/items/{featureId}",
    operation_id="getFeature",
    summary="One feature",
)
async def get_feature(
    request: Request,
    layer: LayerDep,
    feature_id: Annotated[str, Path(alias="featureId")],
    lang: LangDep,
    principal: PrincipalDep,
    settings: SettingsDep,
) -> Response:
    """One feature by id."""
    fields = layer.visible_fields(principal)
    reject_unknown(request, {"f", "lang", "crs", "properties", "skipGeometry"})
    query = parse_items_query(request, layer, fields, settings)
    fmt = negotiation.choose(request, ("geojson", "html"))
    try:
        fid = int(feature_id)
    except ValueError:
        raise NotFoundError(f"no feature {feature_id!r} in {layer.id}") from None
    if not -(2**63) <= fid < 2**63:
        raise NotFoundError(f"no feature {feature_id!r} in {layer.id}")
    async with request.app.state.engine.connect() as conn:
        text = (
            await conn.execute(build_item(layer, query, _selected(fields, query), fid))
        ).scalar()
    if text is None:
        raise NotFoundError(f"no feature {feature_id!r} in {layer.id}")
    return _feature_response(request, layer, lang, text, fmt, query, principal)


def _feature_response(
    request: Request,
    layer: VectorLayer,
    lang: str,
    text: str,
    fmt: str,
    query: ItemsQuery,
    principal: Principal,
) -> Response:
    del principal
    base = base_url(request)
    items = f"{base}/collections/{layer.id}/items"
    fid = orjson.loads(text)["id"] if fmt == "html" else None
    if fmt == "html":
        feature = orjson.loads(text)
        return html.render(
            "feature.html",
            lang,
            title=f"{layer.title.get(lang)} {fid}",
            base=base,
            feature=feature,
            geometry_type=layer.geometry_type,
        )
    url = str(request.url).split("?")[0]
    links = [
        link(url, "self", GEOJSON),
        link(f"{url}?f=html", "alternate", "text/html"),
        link(f"{base}/collections/{layer.id}", "collection", "application/json"),
        link(items, "items", GEOJSON),
    ]
    body = text.encode()[:-1] + b',"links":' + orjson.dumps(links) + b"}"
    headers = _cache_headers(layer, body, query.crs.uri)
    if (cached := _not_modified(request, headers)) is not None:
        return cached
    return Response(body, media_type=GEOJSON, headers=headers)
