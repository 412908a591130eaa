"""OGC API Features Parts 1 and 2: items and features, in every offered CRS."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Path, Request, Response

from api import caching, html, negotiation
from api.deps import (
    LayerDep,
    PrincipalDep,
    SettingsDep,
    claims_of,
    feature_id_of,
)
from api.links import base_url, link, self_url, with_links, with_query
from api.negotiation import MEDIA
from api.params import LangDep, parse_feature, parse_items
from api.routers.parcel_changes import lineage_links
from api.routers.planning import planning_links
from api.routers.versions import as_of_of, history_links
from api.state import app_state
from api.stats import estimated_rows
from gis.db.pool import fetch_one
from gis.db.statements import STATEMENTS
from gis.errors import NotFoundError
from gis.layer import Field, VectorLayer
from gis.query import Cursor, ItemsQuery, encode_cursor, load_paging_key
from gis.sql.features import (
    FeatureRow,
    ItemsStatement,
    ItemStatement,
    PageRow,
    csv_header,
)

router = APIRouter()
JSONFG_CORE = "http://www.opengis.net/spec/json-fg-1/0.2/conf/core"
# the encodings of a page of features; the first is the default
ITEMS_FORMATS = ("geojson", "jsonfg", "html", "csv")
# numberMatched is exact, so it is only computed where a count is cheap
COUNT_MAX_ROWS = 100_000


async def paging_key_of(request: Request) -> bytes:
    """The key that signs paging tokens, read once (lazily: a server started while
    PostgreSQL is down answers 503 until it is back, as for any other request)."""
    state = app_state(request)
    key = state.paging_key
    if key is None:
        secret = state.settings.auth.secret_key.get_secret_value()
        key = await load_paging_key(state.pool, secret)
        state.paging_key = key
    return key


def _selected(fields: tuple[Field, ...], query: ItemsQuery) -> tuple[Field, ...]:
    if query.properties is None:
        return fields
    return tuple(f for f in fields if f.name in query.properties)


def _cache_headers(
    request: Request,
    layer: VectorLayer,
    row: PageRow | FeatureRow,
    crs_uri: str,
    fmt: str,
    tag: str | None = None,
) -> dict[str, str]:
    """ETag (``tag``, else from the layer's data version and the request:
    ``api.caching``), ``Cache-Control``, ``Vary``, ``Content-Crs`` and
    ``Last-Modified``."""
    headers = caching.data_headers(
        request,
        request.state.principal,
        [layer],
        fmt=fmt,
        versions=(str(row.version), str(row.changed_at)),
        changed_at=row.changed_at,
        tag=tag,
    )
    headers["Content-Crs"] = f"<{crs_uri}>"
    return headers


def _page_links(
    request: Request,
    layer: VectorLayer,
    paging_key: bytes,
    url: str,
    fmt: str,
    row: PageRow,
    query: ItemsQuery,
    offered: tuple[str, ...],
) -> list[dict[str, Any]]:
    keep = {k: v for k, v in request.query_params.items() if k not in ("cursor", "f")}
    links = []
    for key in offered:
        mtype = MEDIA[key]
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
                MEDIA[fmt],
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
                MEDIA[fmt],
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
    query = parse_items(
        request.query_params, layer, fields, settings.limits, paging_key=key
    )
    fmt = negotiation.choose(request, ITEMS_FORMATS)
    as_of = await as_of_of(request, layer)
    row = await _fetch_page(request, layer, query, fields, fmt, as_of)
    url = f"{base_url(request)}/collections/{layer.id}/items"
    links = _page_links(request, layer, key, url, fmt, row, query, ITEMS_FORMATS)
    if fmt == "html":
        return _items_html(request, layer, lang, row, links, query, fields)
    if fmt == "csv":
        return _items_csv(request, layer, row, links, query, fields)
    return _items_json(request, layer, row, links, query, fmt)


async def _fetch_page(
    request: Request,
    layer: VectorLayer,
    query: ItemsQuery,
    fields: tuple[Field, ...],
    fmt: str,
    as_of: dt.datetime | None = None,
) -> PageRow:
    """The one row of a page (``gis.sql.features.build_items``), as of ``as_of``
    when given (``api.routers.versions``)."""
    # the size only, from this process's last read: a page never waits on extents
    est_rows = await estimated_rows(request, layer)
    statement = ItemsStatement(
        layer,
        query,
        _selected(fields, query),
        count=est_rows <= COUNT_MAX_ROWS,
        encoding=fmt,  # type: ignore[arg-type]
        as_of=as_of,
    )
    row = await fetch_one(
        app_state(request).pool, STATEMENTS.bind(statement), claims=claims_of(request)
    )
    assert row is not None  # an aggregate: always one row
    return row


def _items_json(
    request: Request,
    layer: VectorLayer,
    row: PageRow,
    links: list[dict[str, Any]],
    query: ItemsQuery,
    fmt: str,
) -> Response:
    """GeoJSON or JSON-FG: the features as PostgreSQL wrote them, in one envelope."""
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
    if (cached := caching.not_modified(request, headers)) is not None:
        return cached
    body = head + features + b"]," + orjson.dumps(tail)[1:]
    return Response(
        body,
        media_type=MEDIA["jsonfg"] if fmt == "jsonfg" else MEDIA["geojson"],
        headers=headers,
    )


def _items_csv(
    request: Request,
    layer: VectorLayer,
    row: PageRow,
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
    if (cached := caching.not_modified(request, headers)) is not None:
        return cached
    header = csv_header(layer, query, _selected(fields, query)).encode()
    body = header + b"\r\n" + (row.features or b"") + b"\r\n"
    return Response(body, media_type=f"{MEDIA['csv']}; charset=utf-8", headers=headers)


def _items_html(
    request: Request,
    layer: VectorLayer,
    lang: str,
    row: PageRow,
    links: list[dict[str, Any]],
    query: ItemsQuery,
    fields: tuple[Field, ...],
) -> Response:
    features = orjson.loads(b"[" + (row.features or b"") + b"]")
    by_rel = {lk["rel"]: lk["href"] for lk in links}
    view = None
    x1, y1, x2, y2 = row.x1, row.y1, row.x2, row.y2
    if x1 is not None and y1 is not None and x2 is not None and y2 is not None:
        pad = max(x2 - x1, y2 - y1, 50.0) * 0.05
        view = {
            "x": x1 - pad,
            "y": -y2 - pad,
            "w": x2 - x1 + 2 * pad,
            "h": y2 - y1 + 2 * pad,
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
) -> Response:
    """One feature by id."""
    fields = layer.visible_fields(principal)
    query = parse_feature(request.query_params, layer, fields)
    fmt = negotiation.choose(request, ("geojson", "html"))
    fid = feature_id_of(layer, feature_id)
    as_of = await as_of_of(request, layer)
    statement = ItemStatement(layer, query, _selected(fields, query), fid, as_of)
    found = await fetch_one(
        app_state(request).pool, STATEMENTS.bind(statement), claims=claims_of(request)
    )
    if found is None:
        raise NotFoundError(f"no feature {feature_id!r} in {layer.id}")
    return _feature_response(request, layer, lang, found, fmt, query)


def _feature_response(
    request: Request,
    layer: VectorLayer,
    lang: str,
    found: FeatureRow,
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
        link(url, "self", MEDIA["geojson"]),
        link(f"{url}?f=html", "alternate", MEDIA["html"]),
        link(f"{base}/collections/{layer.id}", "collection", MEDIA["json"]),
        link(items, "items", MEDIA["geojson"]),
        *planning_links(layer, url, request.state.principal),
        *lineage_links(layer, url),
        *history_links(layer, f"{items}/{request.path_params['featureId']}"),
    ]
    body = with_links(found.f, links)
    # strong, of the row's own version: what If-Match names to make a write
    # conditional (api.routers.edits)
    tag = caching.feature_tag(request, request.state.principal, fmt, found.row_version)
    headers = _cache_headers(request, layer, found, query.crs.uri, fmt, tag)
    if (cached := caching.not_modified(request, headers)) is not None:
        return cached
    return Response(body, media_type=MEDIA["geojson"], headers=headers)
