"""The history of every layer (issue 14, item 3): a feature's versions, one version,
and the collection as of an instant (``asOf`` on items and on a feature).

- ``GET /collections/{id}/items/{fid}/versions``: the versions, oldest first,
  numbered 1..n (stable: history is append-only), each with when it was valid, who
  made it, how (create or update) and which properties it changed; the current row
  is the last; a deleted feature keeps its versions (the last one ended, and
  ``deleted`` says when and by whom) while its GET is a 404. JSON or HTML.
- ``GET /collections/{id}/items/{fid}/versions/{n}``: the Feature as it was in
  version n, built by the feature's own statement read as of the instant the
  version began (same CRSs, properties, personal-fields policy and audit).
- ``asOf=<instant>`` on ``/items`` and ``/items/{fid}``: the collection as it was
  then, through the same paging, filters, CRSs and access policy. The audit trail
  keeps no history (nobody may change its rows, ``gis.sql.history.is_append_only``):
  as of an instant it is the rows written by then.

Why ``asOf`` and not ``datetime``: the OGC API Features "Versioned Features"
proposal (opengeospatial/ogcapi-features, proposals/versioned-features.md)
reuses ``datetime`` as the version selector, because there a version's validity is
the feature's primary interval. Here it is not: parcels and administrative units
have a legal valid time (``valid_from``/``valid_to``, what ``datetime`` already
filters, as Part 1 says), while the database keeps transaction time (when dothi
recorded a state). Both at once is the bitemporal case the proposal leaves out, so
the instant of the record gets its own parameter, ``asOf``, the name
opengeospatial/ogcapi-features#1057 proposes. The link from a feature to its
versions is ``version-history`` (RFC 5829, as both use); a version links its
``predecessor-version``, ``successor-version`` and ``latest-version``.

An instant before the layer's history starts (migration 0016 ran) is a 400 that says
when it starts; an instant in the future is a 400 too: the answer about it could
still change, yet would be cached and cited as if it could not (the present is the
request without ``asOf``).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Path, Request, Response

from api import caching, html, negotiation
from api.deps import LayerDep, PrincipalDep, claims_of, feature_id_of
from api.links import base_url, link, self_url
from api.negotiation import MEDIA
from api.params import LangDep, VersionQuery, VersionsQuery, parse_as_of, parse_feature
from api.state import app_state
from gis.db.pool import fetch_one
from gis.db.statements import STATEMENTS
from gis.errors import InvalidParameterError, NotFoundError
from gis.layer import VectorLayer
from gis.sql.features import ItemStatement
from gis.sql.history import (
    HistoryStartStatement,
    VersionsStatement,
    VersionStartStatement,
    has_history,
    is_append_only,
)

router = APIRouter()
VERSIONS_FORMATS = ("json", "html")
FEATURE_FORMATS = ("geojson", "html")


def versions_path(layer: VectorLayer, feature_id: object) -> str:
    """The path of a feature's versions."""
    return f"/collections/{layer.id}/items/{feature_id}/versions"


def history_links(layer: VectorLayer, feature_url: str) -> list[dict[str, Any]]:
    """The ``version-history`` link of a feature document (none for a layer
    without history)."""
    if not has_history(layer.table):
        return []
    return [link(f"{feature_url}/versions", "version-history", MEDIA["json"])]


async def as_of_of(request: Request, layer: VectorLayer) -> dt.datetime | None:
    """The request's ``asOf``, checked against the layer's history: 400 before it
    starts, in the future, or on a layer that keeps none."""
    as_of = parse_as_of(request.query_params)
    if as_of is None:
        return None
    append_only = is_append_only(layer)  # the audit trail: no history needed
    if not (append_only or has_history(layer.table)):
        raise InvalidParameterError(
            f"asOf: {layer.id} keeps no history", parameter="asOf"
        )
    if as_of > dt.datetime.now(dt.UTC):
        raise InvalidParameterError(
            f"asOf: {as_of.isoformat()} is in the future; without asOf the "
            "collection is as it is now",
            parameter="asOf",
        )
    if append_only:  # every row it ever had is still there
        return as_of
    found = await fetch_one(
        app_state(request).pool, STATEMENTS.bind(HistoryStartStatement(layer))
    )
    since = found.since if found is not None else None
    if since is None or as_of < since:
        started = "not yet" if since is None else since.isoformat()
        raise InvalidParameterError(
            f"asOf: the history of {layer.id} starts at {started}", parameter="asOf"
        )
    return as_of


def _with_history(layer: VectorLayer) -> VectorLayer:
    if not has_history(layer.table):
        raise NotFoundError(f"{layer.id} keeps no history")
    return layer


@router.get(
    "/collections/{collectionId}/items/{featureId}/versions",
    operation_id="getFeatureVersions",
    summary="The versions of a feature",
)
async def get_versions(
    request: Request,
    layer: LayerDep,
    feature_id: Annotated[str, Path(alias="featureId")],
    lang: LangDep,
    _query: VersionsQuery,
) -> Response:
    """The versions of a feature, oldest first (JSON or HTML)."""
    _with_history(layer)
    fid = feature_id_of(layer, feature_id)
    fmt = negotiation.choose(request, VERSIONS_FORMATS)
    found = await fetch_one(
        app_state(request).pool,
        STATEMENTS.bind(VersionsStatement(layer, fid)),
        claims=claims_of(request),
    )
    if found is None or found.n == 0:
        raise NotFoundError(f"no feature {feature_id!r} in {layer.id}")
    doc = orjson.loads(found.doc)
    base = base_url(request)
    feature_url = f"{base}/collections/{layer.id}/items/{fid}"
    url = f"{feature_url}/versions"
    for v in doc["versions"]:
        v["links"] = [link(f"{url}/{v['version']}", "memento", MEDIA["geojson"])]
    doc["links"] = [
        link(url, "self" if fmt == "json" else "alternate", MEDIA["json"]),
        link(f"{url}?f=html", "self" if fmt == "html" else "alternate", MEDIA["html"]),
        link(feature_url, "original", MEDIA["geojson"]),
        link(f"{url}/{found.n}", "latest-version", MEDIA["geojson"]),
    ]
    if fmt == "html":
        return html.render(
            "versions.html",
            lang,
            title=f"{layer.title.get(lang)} {fid}",
            base=base,
            doc=doc,
            feature_url=feature_url,
            versions_url=url,
        )
    return Response(orjson.dumps(doc), media_type=MEDIA["json"])


@router.get(
    "/collections/{collectionId}/items/{featureId}/versions/{version}",
    operation_id="getFeatureVersion",
    summary="A feature as it was in one version",
)
async def get_version(
    request: Request,
    layer: LayerDep,
    feature_id: Annotated[str, Path(alias="featureId")],
    version: Annotated[str, Path()],
    lang: LangDep,
    principal: PrincipalDep,
    _query: VersionQuery,
) -> Response:
    """Version ``n`` of a feature: the Feature document it was."""
    _with_history(layer)
    fid = feature_id_of(layer, feature_id)
    missing = NotFoundError(f"no version {version!r} of feature {fid} in {layer.id}")
    if not version.isdigit() or not 0 < int(version) < 2**31:
        raise missing
    n = int(version)
    fields = layer.visible_fields(principal)
    query = parse_feature(request.query_params, layer, fields)
    fmt = negotiation.choose(request, FEATURE_FORMATS)
    pool = app_state(request).pool
    claims = claims_of(request)
    start = await fetch_one(
        pool, STATEMENTS.bind(VersionStartStatement(layer, fid, n)), claims=claims
    )
    if start is None or start.started is None:
        raise missing
    shown = tuple(
        f for f in fields if query.properties is None or f.name in query.properties
    )
    found = await fetch_one(
        pool,
        STATEMENTS.bind(ItemStatement(layer, query, shown, fid, as_of=start.started)),
        claims=claims,
    )
    if found is None:  # the row is there, but the caller may not see it (RLS)
        raise missing
    base = base_url(request)
    feature_url = f"{base}/collections/{layer.id}/items/{fid}"
    url = f"{feature_url}/versions"
    if fmt == "html":
        return html.render(
            "feature.html",
            lang,
            title=f"{layer.title.get(lang)} {fid} ({n})",
            base=base,
            feature=orjson.loads(found.f),
            geometry_type=layer.geometry_type,
        )
    links = [
        link(self_url(request), "self", MEDIA["geojson"]),
        link(f"{url}/{n}?f=html", "alternate", MEDIA["html"]),
        link(feature_url, "original", MEDIA["geojson"]),
        link(url, "version-history", MEDIA["json"]),
        link(f"{url}/{start.n}", "latest-version", MEDIA["geojson"]),
    ]
    if n > 1:
        links.append(link(f"{url}/{n - 1}", "predecessor-version", MEDIA["geojson"]))
    if n < start.n:
        links.append(link(f"{url}/{n + 1}", "successor-version", MEDIA["geojson"]))
    body = found.f[:-1] + b',"links":' + orjson.dumps(links) + b"}"
    tag = caching.feature_tag(request, principal, fmt, found.row_version)
    headers = {"ETag": tag, "Memento-Datetime": caching.http_date(start.started)}
    if (cached := caching.not_modified(request, headers)) is not None:
        return cached
    return Response(body, media_type=MEDIA["geojson"], headers=headers)
