"""Split and merge of land parcels, and their lineage (issue 14, item 5).

- ``POST /collections/land_parcels/split``: ``{"parcel": id, "decision": {"number",
  "date"}, "children": [...]}``, each child a GeoJSON Polygon or MultiPolygon (or a
  Feature of one with optional ``land_use`` and ``area_legal_m2``) in CRS84 or the
  ``Content-Crs`` header's CRS, checked as the writes check a geometry. 201 with a
  FeatureCollection of the children; ``Location`` names the parent's lineage, which
  lists them all.
- ``POST /collections/land_parcels/merge``: ``{"parcels": [ids], "decision": {...},
  "properties": {...}}``; 201 with the merged parcel, ``Location`` naming it.
- ``GET /collections/land_parcels/items/{featureId}/lineage``: the parcels it was
  made from and those made from it, to any depth, each with the decision; linked
  from every parcel's feature document. JSON, or (``f=html`` or ``Accept:
  text/html``) a page with the card's lineage table.

One call is one PostgreSQL function in one transaction (``gis.sql.parcel_changes``,
migration 0017): all of it happens or nothing does. Who may: the parcels' writers
(a ward's land officer in its wards, admin), signed in; others 401/403 as the writes
answer, and the database's write policy checks it again. A split or merge is not
repeated by a retry whose answer was lost: the parent is retired by then (409), and
the lineage says what became of it; so no ``Idempotency-Key`` is needed.
"""

from __future__ import annotations

from typing import Annotated, Any

import orjson
import psycopg
from fastapi import APIRouter, Depends, Path, Request, Response

from api import caching, html, negotiation
from api.caching import NO_STORE
from api.deps import PrincipalDep, claims_of, feature_id_of
from api.links import base_url, link, self_url
from api.negotiation import FEATURE_BODY_MEDIA, MEDIA
from api.params import F_DOCUMENT, LANG, EditsQuery, LangDep, ParamSet
from api.state import app_state
from auth.errors import AuthenticationError
from gis.crs import CRS84, parse_crs
from gis.db.pool import fetch_one
from gis.db.statements import STATEMENTS, Statement
from gis.errors import ForbiddenError, NotFoundError, UnsupportedMediaTypeError
from gis.layer import Label, VectorLayer
from gis.principal import Principal
from gis.sql.parcel_changes import (
    ChangeRow,
    LineageStatement,
    MergeStatement,
    SplitStatement,
    parse_merge,
    parse_split,
    refusal,
)
from layers import CATALOGUE

router = APIRouter()
PARCELS = "land_parcels"
TITLE = Label(vi="Nguồn gốc thửa đất", en="Parcel lineage")
# both languages: a feature document's links are not localised
LINK_TITLE = f"{TITLE.vi} / {TITLE.en}"
LINEAGE = ParamSet("lineage", (F_DOCUMENT, LANG))
LINEAGE_FORMATS = ("json", "html")


async def _lineage_query(request: Request) -> None:
    LINEAGE.check(request.query_params)


LineageQuery = Annotated[None, Depends(_lineage_query)]


def lineage_path(feature_id: object) -> str:
    """The path of a parcel's lineage."""
    return f"/collections/{PARCELS}/items/{feature_id}/lineage"


def lineage_links(layer: VectorLayer, feature_url: str) -> list[dict[str, Any]]:
    """The link a feature document of ``layer`` carries to its lineage (parcels
    only; whoever reads a parcel reads its lineage)."""
    if layer.id != PARCELS:
        return []
    return [link(f"{feature_url}/lineage", "related", MEDIA["json"], LINK_TITLE)]


def _parcels(principal: Principal) -> VectorLayer:
    layer = CATALOGUE[PARCELS]
    if not layer.access.can_read(principal):
        raise NotFoundError(f"no collection {PARCELS!r}")
    return layer


def _writer(principal: Principal) -> VectorLayer:
    """The parcels, for a caller who may retire and create them: else 401 (not
    signed in) or 403; a ward's officer is held to its wards by the database."""
    layer = _parcels(principal)
    access = layer.access
    if access.can_write(principal) and access.can_create(principal):
        return layer
    if principal.auth == "anonymous":
        raise AuthenticationError("sign in to edit this layer")
    verb = "change features of"
    raise ForbiddenError(f"your roles may not {verb} {layer.id}")


def _media(request: Request) -> None:
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind not in FEATURE_BODY_MEDIA:
        raise UnsupportedMediaTypeError(
            f"send the feature as {' or '.join(FEATURE_BODY_MEDIA)}",
            parameter="Content-Type",
        )


async def _change(
    request: Request, layer: VectorLayer, statement: Statement[ChangeRow]
) -> ChangeRow:
    try:
        row = await fetch_one(
            app_state(request).pool,
            STATEMENTS.bind(statement),
            claims=claims_of(request),
        )
    except psycopg.Error as exc:
        if (refused := refusal(exc, layer)) is not None:
            raise refused from None
        raise
    assert row is not None  # the functions return their parcels or raise
    return row


@router.post(
    "/collections/land_parcels/split",
    operation_id="splitParcel",
    summary="Split a parcel into new parcels",
    status_code=201,
)
async def split_parcel(
    request: Request, principal: PrincipalDep, _: EditsQuery
) -> Response:
    """201 with the children (new ids and numbers); the parent retired."""
    layer = _writer(principal)
    _media(request)
    crs = parse_crs(request.headers.get("content-crs", CRS84), layer.crs_srids)
    split = parse_split(await request.body(), layer, crs.srid, crs.lonlat)
    items = f"{base_url(request)}/collections/{layer.id}/items"
    row = await _change(request, layer, SplitStatement(layer, split, items))
    location = f"{base_url(request)}{lineage_path(split.parent)}"
    return Response(
        row.doc,
        status_code=201,
        media_type=MEDIA["geojson"],
        headers={"Location": location, **NO_STORE},
    )


@router.post(
    "/collections/land_parcels/merge",
    operation_id="mergeParcels",
    summary="Merge parcels into a new parcel",
    status_code=201,
)
async def merge_parcels(
    request: Request, principal: PrincipalDep, _: EditsQuery
) -> Response:
    """201 with the merged parcel; the parents retired."""
    layer = _writer(principal)
    _media(request)
    merge = parse_merge(await request.body(), layer)
    items = f"{base_url(request)}/collections/{layer.id}/items"
    row = await _change(request, layer, MergeStatement(layer, merge, items))
    return Response(
        row.doc,
        status_code=201,
        media_type=MEDIA["geojson"],
        headers={"Location": f"{items}/{row.first_id}", **NO_STORE},
    )


@router.get(
    "/collections/land_parcels/items/{featureId}/lineage",
    operation_id="getParcelLineage",
    summary="The parcels a parcel was made from, and those made from it",
)
async def get_parcel_lineage(
    request: Request,
    feature_id: Annotated[str, Path(alias="featureId")],
    principal: PrincipalDep,
    lang: LangDep,
    _: LineageQuery,
) -> Response:
    """Ancestors (``parents``) and descendants (``children``) with their depth and
    the decision of the change that links them."""
    layer = _parcels(principal)
    fmt = negotiation.choose(request, LINEAGE_FORMATS)
    fid = feature_id_of(layer, feature_id)
    base = base_url(request)
    items = f"{base}/collections/{layer.id}/items"
    row = await fetch_one(
        app_state(request).pool,
        STATEMENTS.bind(LineageStatement(layer, fid, items)),
        claims=claims_of(request),
    )
    if row is None:
        raise NotFoundError(f"no feature {feature_id!r} in {layer.id}")
    headers = caching.data_headers(
        request,
        principal,
        [layer],
        fmt=fmt,
        versions=(str(row.parcels_version),),
        changed_at=row.changed_at,
    )
    if (cached := caching.not_modified(request, headers)) is not None:
        return cached
    url = self_url(request)
    if fmt == "html":
        other = "en" if lang == "vi" else "vi"
        response = html.render(
            "land_lineage.html",
            lang,
            title=f"{TITLE.get(lang)} · {TITLE.get(other)}: {fid}",
            base=base,
            doc=orjson.loads(row.doc),
            card_url=f"{base}/land/parcels/",
            feature_url=f"{items}/{fid}",
            json_url=f"{url}?f=json",
        )
        response.headers.update(headers)
        return response
    links = [
        link(url, "self", MEDIA["json"], LINK_TITLE),
        link(f"{url}?f=html", "alternate", MEDIA["html"], LINK_TITLE),
        link(f"{items}/{fid}", "about", MEDIA["geojson"], "Thửa đất / Land parcel"),
    ]
    body = row.doc[:-1] + b', "links" : ' + orjson.dumps(links) + b"}"
    return Response(body, media_type=MEDIA["json"], headers=headers)
