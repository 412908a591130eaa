"""OGC API Features Parts 1 and 2: items and features, in every offered CRS."""

from __future__ import annotations

import datetime as dt
import hashlib
from email.utils import format_datetime
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Path, Request, Response

from api import html, negotiation
from api.deps import (
    LangDep,
    LayerDep,
    PrincipalDep,
    SettingsDep,
    claims_of,
    feature_id_of,
    reject_unknown,
)
from api.links import base_url, link, self_url, with_query
from api.stats import estimated_rows
from gis.crs import CRS84, parse_crs
from gis.db import fetch_one
from gis.errors import InvalidParameterError, NotFoundError
from gis.filters import parse_filter
from gis.layer import Field, Principal, VectorLayer
from gis.query import (
    Cursor,
    ItemsQuery,
    decode_cursor,
    encode_cursor,
    load_paging_key,
    parse_bbox,
    parse_datetime,
    parse_limit,
    parse_properties,
    parse_sortby,
)
from gis.settings import Settings
from gis.sql.features import csv_header, item_sql, items_sql

router = APIRouter()
GEOJSON = "application/geo+json"
JSONFG = "application/vnd.ogc.fg+json"
JSONFG_CORE = "http://www.opengis.net/spec/json-fg-1/0.2/conf/core"
ITEMS_PARAMS = {
    "f", "lang", "limit", "bbox", "bbox-crs", "datetime", "crs", "properties",
    "skipGeometry", "sortby", "cursor", "filter", "filter-lang", "filter-crs",
}  # fmt: skip
# numberMatched is exact, so it is only computed where a count is cheap
COUNT_MAX_ROWS = 100_000


async def paging_key_of(request: Request) -> bytes:
    """The key that signs paging tokens, read once (lazily: a server started while
    PostgreSQL is down answers 503 until it is back, as for any other request)."""
    key: bytes | None = getattr(request.app.state, "paging_key", None)
    if key is None:
        settings: Settings = request.app.state.settings
        secret = settings.auth.secret_key.get_secret_value()
        key = await load_paging_key(request.app.state.pool, secret)
        request.app.state.paging_key = key
    return key


def parse_items_query(
    request: Request,
    layer: VectorLayer,
    fields: tuple[Field, ...],
    settings: Settings,
    *,
    paging_key: bytes = b"",
) -> ItemsQuery:
    """Validate the query string of an items request (400 on anything wrong).

    ``paging_key`` checks a ``cursor`` (``paging_key_of``); a route without paging
    refuses the parameter before this runs.
    """
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
    if ("filter-lang" in q or "filter-crs" in q) and "filter" not in q:
        raise InvalidParameterError(
            "filter-lang and filter-crs need a filter", parameter="filter"
        )
    flt = None
    if "filter" in q:
        filter_crs = parse_crs(q.get("filter-crs", CRS84), allowed)
        flt = parse_filter(
            q["filter"],
            lang=q.get("filter-lang", "cql2-text"),
            layer=layer,
            fields=fields,
            filter_crs=filter_crs.srid,
            filter_lonlat=filter_crs.lonlat,
        )
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
        cursor=decode_cursor(q["cursor"], layer, sortby, key=paging_key)
        if "cursor" in q
        else None,
        filter=flt,
    )


def _selected(fields: tuple[Field, ...], query: ItemsQuery) -> tuple[Field, ...]:
    if query.properties is None:
        return fields
    return tuple(f for f in fields if f.name in query.properties)


def _cache_headers(
    request: Request, layer: VectorLayer, row: Any, crs_uri: str, fmt: str
) -> dict[str, str]:
    """ETag from the layer's data version and the request, not from the body.

    The version changes with every edit (a trigger bumps it), so the tag is exact
    without hashing megabytes of GeoJSON on every request.
    """
    principal: Principal = request.state.principal
    key = "|".join(
        (
            str(row.version),
            str(row.changed_at),
            fmt,
            request.url.path,
            str(request.url.query),
            getattr(request.state, "lang", "vi"),
            # what the caller may see is part of the representation
            ",".join(sorted(principal.roles)),
            ",".join(sorted(principal.ward_codes)),
        )
    )
    etag = '"' + hashlib.blake2b(key.encode(), digest_size=12).hexdigest() + '"'
    # shared caches may keep only what anybody may see
    public = layer.access.is_public and principal.auth == "anonymous"
    headers = {
        "ETag": etag,
        "Content-Crs": f"<{crs_uri}>",
        "Cache-Control": "public, max-age=60" if public else "private, no-store",
        # the credentials are added to Vary for every answer (api.app)
        "Vary": "Accept, Accept-Language",
    }
    if row.changed_at is not None:
        headers["Last-Modified"] = _http_date(row.changed_at)
    return headers


def _http_date(moment: dt.datetime) -> str:
    return format_datetime(moment.astimezone(dt.UTC), usegmt=True)


def _not_modified(request: Request, headers: dict[str, str]) -> Response | None:
    inm = request.headers.get("if-none-match")
    if inm and headers["ETag"] in {t.strip() for t in inm.split(",")}:
        return Response(status_code=304, headers=headers)
    return None


def _page_links(
    request: Request,
    layer: VectorLayer,
    paging_key: bytes,
    url: str,
    fmt: str,
    row: Any,
    query: ItemsQuery,
    offered: tuple[str, ...],
) -> list[dict[str, Any]]:
    keep = {k: v for k, v in request.query_params.items() if k not in ("cursor", "f")}
    media = {
        "geojson": GEOJSON,
        "jsonfg": JSONFG,
        "html": "text/html",
        "csv": "text/csv",
    }
    links = []
    for key in offered:
        mtype = media[key]
        rel = "self" if key == fmt else "alternate"
        links.append(
            link(with_query(url, {**request.query_params, "f": key}), rel, mtype)
        )
    backwards = bool(query.cursor and query.cursor.backwards)
    has_next = row.more if not backwards else True
    has_prev = row.more if backwards else query.cursor is not None
    # a prev page was fetched in reverse: its first fetched row is shown last
    shown_first, shown_last = (
        (row.k_last, row.k_first) if backwards else (row.k_first, row.k_last)
    )
    if row.returned and has_next and shown_last:
        keys = orjson.loads(shown_last)
        token = encode_cursor(
            Cursor(tuple(keys[:-1]), int(keys[-1])), layer, query.sortby, key=paging_key
        )
        links.append(
            link(
                with_query(url, {**keep, "cursor": token, "f": fmt}),
                "next",
                media[fmt],
                "next page",
            )
        )
    if row.returned and has_prev and shown_first:
        keys = orjson.loads(shown_first)
        token = encode_cursor(
            Cursor(tuple(keys[:-1]), int(keys[-1]), backwards=True),
            layer,
            query.sortby,
            key=paging_key,
        )
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
    key = await paging_key_of(request)
    query = parse_items_query(request, layer, fields, settings, paging_key=key)
    offered = ("geojson", "jsonfg", "html", "csv")
    fmt = negotiation.choose(request, offered)
    # the size only, from this process's last read: a page never waits on extents
    est_rows = await estimated_rows(request, layer)
    compiled, values = items_sql(
        layer,
        query,
        _selected(fields, query),
        count=est_rows <= COUNT_MAX_ROWS,
        encoding=fmt,  # type: ignore[arg-type]
    )
    row = await fetch_one(
        request.app.state.pool,
        compiled,
        values,
        text_as_bytes=True,
        claims=claims_of(request),
    )
    url = f"{base_url(request)}/collections/{layer.id}/items"
    links = _page_links(request, layer, key, url, fmt, row, query, offered)
    if fmt == "html":
        return _items_html(request, layer, lang, row, links, query, fields)
    if fmt == "csv":
        return _items_csv(request, layer, row, links, query, fields)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    head = b'{"type":"FeatureCollection","features":['
    if fmt == "jsonfg":
        head = (
            orjson.dumps(
                {
                    "type": "FeatureCollection",
                    "conformsTo": [JSONFG_CORE],
                    "featureType": layer.id,
                    "coordRefSys": query.crs.uri,
                }
            )[:-1]
            + b',"features":['
        )
    tail: dict[str, Any] = {"numberReturned": row.returned}
    if row.matched is not None:
        tail["numberMatched"] = row.matched
    tail["links"] = links
    features = row.features or b""
    headers = _cache_headers(request, layer, row, query.crs.uri, fmt)
    tail["timeStamp"] = stamp
    if (cached := _not_modified(request, headers)) is not None:
        return cached
    body = head + features + b"]," + orjson.dumps(tail)[1:]
    return Response(
        body, media_type=JSONFG if fmt == "jsonfg" else GEOJSON, headers=headers
    )


def _items_csv(
    request: Request,
    layer: VectorLayer,
    row: Any,
    links: list[dict[str, Any]],
    query: ItemsQuery,
    fields: tuple[Field, ...],
) -> Response:
    """CSV: the page is the whole body, so paging goes in Link headers."""
    headers = _cache_headers(request, layer, row, query.crs.uri, "csv")
    # RFC 8288 Link headers: a CSV body has no room for links
    nav = [lk for lk in links if lk["rel"] in ("next", "prev")]
    if nav:
        headers["Link"] = ", ".join(f'<{lk["href"]}>; rel="{lk["rel"]}"' for lk in nav)
    headers["X-Number-Returned"] = str(row.returned)
    if (cached := _not_modified(request, headers)) is not None:
        return cached
    header = csv_header(layer, query, _selected(fields, query)).encode()
    body = header + b"\r\n" + (row.features or b"") + b"\r\n"
    return Response(body, media_type="text/csv; charset=utf-8", headers=headers)


def _items_html(
    request: Request,
    layer: VectorLayer,
    lang: str,
    row: Any,
    links: list[dict[str, Any]],
    query: ItemsQuery,
    fields: tuple[Field, ...],
) -> Response:
    features = orjson.loads(b"[" + (row.features or b"") + b"]")
    by_rel = {lk["rel"]: lk["href"] for lk in links}
    view = None
    if getattr(row, "x1", None) is not None:
        pad = max(row.x2 - row.x1, row.y2 - row.y1, 50.0) * 0.05
        view = {
            "x": row.x1 - pad,
            "y": -row.y2 - pad,
            "w": row.x2 - row.x1 + 2 * pad,
            "h": row.y2 - row.y1 + 2 * pad,
        }
        view["r"] = max(view["w"], view["h"]) / 150  # point radius, in map units
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
        view=view,
        point=layer.geometry_type in ("Point", "MultiPoint"),
        line=layer.geometry_type in ("LineString", "MultiLineString"),
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
    fid = feature_id_of(layer, feature_id)
    compiled, values = item_sql(layer, query, _selected(fields, query), fid)
    found = await fetch_one(
        request.app.state.pool,
        compiled,
        values,
        text_as_bytes=True,
        claims=claims_of(request),
    )
    if found is None:
        raise NotFoundError(f"no feature {feature_id!r} in {layer.id}")
    return _feature_response(request, layer, lang, found, fmt, query)


def _feature_response(
    request: Request,
    layer: VectorLayer,
    lang: str,
    found: Any,
    fmt: str,
    query: ItemsQuery,
) -> Response:
    base = base_url(request)
    items = f"{base}/collections/{layer.id}/items"
    if fmt == "html":
        feature = orjson.loads(found.f)
        fid = feature["id"]
        return html.render(
            "feature.html",
            lang,
            title=f"{layer.title.get(lang)} {fid}",
            base=base,
            feature=feature,
            geometry_type=layer.geometry_type,
        )
    url = self_url(request)
    links = [
        link(url, "self", GEOJSON),
        link(f"{url}?f=html", "alternate", "text/html"),
        link(f"{base}/collections/{layer.id}", "collection", "application/json"),
        link(items, "items", GEOJSON),
    ]
    body = found.f[:-1] + b',"links":' + orjson.dumps(links) + b"}"
    headers = _cache_headers(request, layer, found, query.crs.uri, fmt)
    if (cached := _not_modified(request, headers)) is not None:
        return cached
    return Response(body, media_type=GEOJSON, headers=headers)
