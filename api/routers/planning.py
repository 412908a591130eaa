"""The planning information of a parcel, or of a polygon a user draws (issue 14,
item 2): the planning zones over it, the area and share of it in each, and what each
zone allows (``gis.sql.planning``: one statement, the document built by PostgreSQL).

- ``GET /collections/land_parcels/items/{featureId}/planning``: JSON, or HTML
  (``f=html`` or ``Accept: text/html``);
- ``POST /planning``: the same document for a GeoJSON Polygon or MultiPolygon (or a
  Feature of one) in CRS84 or the ``Content-Crs`` header's CRS, checked as the writes
  check a geometry (``gis.edits``: valid, 2D, in Vietnam, at most 100,000 vertices).
  Signed-in callers only: it is the one read that takes a body, and the OpenAPI
  document offers anonymous callers no POST.

Both follow the read policies of the parcels and of the planning zones: a layer the
caller may not read is absent (404), as on every other path.
"""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Path, Request, Response
from psycopg import errors as pg_errors

from api import caching, html, negotiation
from api.deps import PrincipalDep, claims_of, feature_id_of
from api.links import base_url, link, self_url, with_links
from api.negotiation import FEATURE_BODY_MEDIA, MEDIA
from api.params import DrawnPlanningQuery, LangDep, PlanningQuery
from api.state import app_state
from auth.errors import AuthenticationError
from gis.crs import CRS84, parse_crs
from gis.db.pool import fetch_one
from gis.db.statements import STATEMENTS

# the writes' own geometry check (type, 2D, vertices, validity, inside Vietnam)
from gis.edits import check_geometry
from gis.errors import InvalidParameterError, NotFoundError, UnsupportedMediaTypeError
from gis.layer import Label, VectorLayer
from gis.principal import Principal
from gis.sql.planning import ZONE_PROPERTIES, PlanningRow, PlanningStatement
from layers import CATALOGUE

router = APIRouter()
PARCELS = "land_parcels"
ZONES = "planning_zones"
TITLE = Label(vi="Thông tin quy hoạch", en="Planning information")
# the title of the link in every parcel's feature document: both languages, since
# the document's links are not localised
LINK_TITLE = f"{TITLE.vi} / {TITLE.en}"
PLANNING_FORMATS = ("json", "html")
_POLYGONS = ("Polygon", "MultiPolygon")


def planning_path(feature_id: object) -> str:
    """The path of a parcel's planning information."""
    return f"/collections/{PARCELS}/items/{feature_id}/planning"


def planning_links(
    layer: VectorLayer, feature_url: str, principal: Principal
) -> list[dict[str, Any]]:
    """The link a feature document of ``layer`` carries to its planning
    information (none for other layers, or for a caller who may not read zones)."""
    if layer.id != PARCELS or not CATALOGUE[ZONES].access.can_read(principal):
        return []
    return [link(f"{feature_url}/planning", "related", MEDIA["json"], LINK_TITLE)]


def _readable(layer_id: str, principal: Principal) -> VectorLayer:
    layer = CATALOGUE[layer_id]
    if not layer.access.can_read(principal):
        raise NotFoundError(f"no collection {layer_id!r}")
    return layer


@router.get(
    "/collections/land_parcels/items/{featureId}/planning",
    operation_id="getParcelPlanning",
    summary="The planning zones over a parcel",
)
async def get_parcel_planning(
    request: Request,
    feature_id: Annotated[str, Path(alias="featureId")],
    lang: LangDep,
    principal: PrincipalDep,
    _: PlanningQuery,
) -> Response:
    """The zones over the parcel, with its area and share in each."""
    parcels = _readable(PARCELS, principal)
    zones = _readable(ZONES, principal)
    fmt = negotiation.choose(request, PLANNING_FORMATS)
    fid = feature_id_of(parcels, feature_id)
    statement = PlanningStatement(parcels, zones, parcel_id=fid)
    row = await fetch_one(
        app_state(request).pool, STATEMENTS.bind(statement), claims=claims_of(request)
    )
    if row is None:
        raise NotFoundError(f"no feature {feature_id!r} in {parcels.id}")
    base = base_url(request)
    headers = caching.data_headers(
        request,
        principal,
        [parcels, zones],
        fmt=fmt,
        versions=(str(row.parcels_version), str(row.zones_version), str(row.today)),
        changed_at=row.changed_at,
    )
    if (cached := caching.not_modified(request, headers)) is not None:
        return cached
    if fmt == "html":
        response = _html(request, lang, row, zones, fid)
        response.headers.update(headers)
        return response
    url = self_url(request)
    feature = url.removesuffix("/planning")
    links = [
        link(url, "self", MEDIA["json"], LINK_TITLE),
        link(f"{url}?f=html", "alternate", MEDIA["html"], LINK_TITLE),
        link(feature, "about", MEDIA["geojson"], "Thửa đất / Land parcel"),
        *_zone_links(base),
    ]
    return Response(
        with_links(row.doc, links), media_type=MEDIA["json"], headers=headers
    )


@router.post(
    "/planning",
    operation_id="postPlanning",
    summary="The planning zones over a drawn polygon",
)
async def post_planning(
    request: Request, principal: PrincipalDep, _: DrawnPlanningQuery
) -> Response:
    """The same document as a parcel's, for a Polygon or MultiPolygon."""
    parcels = _readable(PARCELS, principal)
    zones = _readable(ZONES, principal)
    if principal.auth == "anonymous":
        raise AuthenticationError("sign in to ask for the planning of a drawn polygon")
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind not in FEATURE_BODY_MEDIA:
        raise UnsupportedMediaTypeError(
            f"send the polygon as {' or '.join(FEATURE_BODY_MEDIA)}",
            parameter="Content-Type",
        )
    raw_crs = request.headers.get("content-crs", CRS84).strip().strip("<>")
    crs = parse_crs(raw_crs, parcels.crs_srids)
    wkb = _polygon(await request.body(), parcels, crs.srid, lonlat=crs.lonlat)
    statement = PlanningStatement(parcels, zones, wkb=wkb, srid=crs.srid)
    try:
        row = await fetch_one(
            app_state(request).pool,
            STATEMENTS.bind(statement),
            claims=claims_of(request),
        )
    except pg_errors.InternalError_:  # GEOS refusing the overlay: the polygon's
        raise InvalidParameterError(
            "geometry: PostGIS could not overlay it on the planning zones",
            parameter="geometry",
        ) from None
    assert row is not None  # the drawn polygon is always one subject
    links = _zone_links(base_url(request))
    return Response(
        with_links(row.doc, links), media_type=MEDIA["json"], headers=caching.NO_STORE
    )


def _polygon(body: bytes, parcels: VectorLayer, srid: int, *, lonlat: bool) -> bytes:
    """The WKB of a GeoJSON Polygon or MultiPolygon (or a Feature of one), checked
    as a parcel's geometry is checked when it is written; 400 otherwise."""
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise InvalidParameterError("body: not valid JSON", parameter="body") from None
    if isinstance(doc, dict) and doc.get("type") == "Feature":
        doc = doc.get("geometry")
    if not isinstance(doc, dict) or doc.get("type") not in _POLYGONS:
        raise InvalidParameterError(
            "body: expected a GeoJSON Polygon or MultiPolygon, or a Feature of one",
            parameter="body",
        )
    wkb = check_geometry(parcels, doc, srid, lonlat)
    assert wkb is not None  # parcels have a geometry
    return wkb


def _zone_links(base: str) -> list[dict[str, Any]]:
    zones = CATALOGUE[ZONES]
    return [
        link(
            f"{base}/collections/{ZONES}/items",
            "related",
            MEDIA["geojson"],
            f"{zones.title.vi} / {zones.title.en}",
        )
    ]


def _html(
    request: Request, lang: str, row: PlanningRow, zones: VectorLayer, fid: int
) -> Response:
    """A small page: the parcel's area and covered fraction, a table of the zones
    (labels in the page's language first, then the other)."""
    doc = orjson.loads(row.doc)
    other = "en" if lang == "vi" else "vi"
    labels = {}
    for name in ZONE_PROPERTIES:
        f = zones.field(name)
        title = f.title if f is not None else Label(name, name)
        labels[name] = (title.get(lang), title.get(other))
    base = base_url(request)
    return html.render(
        "planning.html",
        lang,
        title=f"{TITLE.get(lang)} · {TITLE.get(other)}: {fid}",
        base=base,
        doc=doc,
        labels=labels,
        parcel_url=f"{base}/collections/{PARCELS}/items/{fid}?f=html",
        zones_url=f"{base}/collections/{ZONES}/items",
        json_url=f"{base}{planning_path(fid)}?f=json",
    )
