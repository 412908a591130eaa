"""The land officer's pages (issue 14, item 7): find a parcel, see its card, print
its extract; and the VN-2000 coordinate table they show.

- ``GET /collections/land_parcels/items/{featureId}/coordinates``: the parcel's
  vertices in its province's TM-3 zone, X northing and Y easting to the millimetre,
  edge lengths (``gis.sql.parcel_card``: one statement), as JSON or (``f=html`` or
  ``Accept: text/html``) a page with the card's table;
- ``GET /land``: the look-up form (a 2025 ward or an old commune, sheet and parcel
  number, or the national parcel id). The page asks the look-up route
  (``/collections/land_parcels/lookup``) from the browser: one match opens its card,
  several are listed with the commune each belongs to. Whoever may read the land
  dossiers also finds the links to the weekly report and the overdue list;
- ``GET /land/parcels/{featureId}``: the parcel card: its properties (and the land
  users and certificates when the caller may read them: the feature document as
  the caller's own GET answers it), a MapLibre map of it and its neighbours, the
  coordinate table, the planning information and its lineage (the parcels a split
  or merge made it from or into, rendered here: it is one cheap statement, and a
  parcel's origin belongs on the page as printed, not after a second request); its
  versions and dossiers are asked for by the page from their own routes, with the
  caller's credentials, and shown only when those answer (a caller who may not see
  dossiers gets no section);
- ``GET /land/parcels/{featureId}/extract.pdf``: the printable extract (trích lục),
  HTML rendered by WeasyPrint in a worker thread, a few at a time: the map, the
  coordinate table, areas and planning, and, read here by the statements of their
  own routes under the caller's claims, the land users and certificates (when the
  policy opens them; audited as every personal read), the versions, the lineage and
  the open and recent dossiers (only for who may read the dossiers of the parcel's
  ward: anyone else's extract has no such section).

Every page reads through the same statements and policies as the JSON routes, so an
anonymous caller sees public data only and a land officer personal fields of the
wards it holds only.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Annotated, Any, NamedTuple
from zoneinfo import ZoneInfo

import anyio
import anyio.to_thread
import orjson
from fastapi import APIRouter, Path, Request, Response
from starlette.datastructures import QueryParams

from api import html, negotiation
from api.deps import PrincipalDep, claims_of, feature_id_of
from api.links import base_url
from api.negotiation import MEDIA
from api.params import (
    F_DOCUMENT,
    LANG,
    LangDep,
    ParamSet,
    parse_feature,
    parse_lookup,
    unknown_parameters,
)
from api.routers.planning import planning_path
from api.state import app_state
from gis.db.pool import Claims, Pool, fetch_one
from gis.db.statements import STATEMENTS
from gis.errors import NotFoundError
from gis.layer import Label, VectorLayer
from gis.principal import Principal
from gis.sql.features import ItemStatement
from gis.sql.history import VersionsStatement, has_history
from gis.sql.parcel_card import (
    CoordinatesStatement,
    ParcelDossiersStatement,
    WardsStatement,
)
from gis.sql.parcel_changes import LineageStatement
from gis.sql.planning import PlanningStatement
from layers import CATALOGUE

router = APIRouter()
PARCELS = "land_parcels"
ZONES = "planning_zones"
UNITS = "admin_units"
DOSSIERS = "land_dossiers"
CITY_TZ = ZoneInfo("Asia/Ho_Chi_Minh")
# extracts rendered at once, per process: WeasyPrint takes 0.2-1 s of a core and
# tens of MB each; more wait for a slot (the event loop never does)
PDF_RENDERS = 2
# the side of the extract's square map on A4 paper, in millimetres
MAP_MM = 100
# the look-up form's own parameters (it asks the look-up route with them)
LOOKUP_PARAMS = frozenset(
    {"lang", "ward_code", "sheet_no", "parcel_no", "national_parcel_id"}
)
PAGE_PARAMS = frozenset({"lang"})
# the coordinate table: JSON, or HTML with the card's table
COORDINATES = ParamSet("coordinates", (F_DOCUMENT, LANG))
COORDINATES_FORMATS = ("json", "html")
TITLES = {
    "lookup": Label(vi="Tra cứu thửa đất", en="Find a land parcel"),
    "card": Label(vi="Thửa đất", en="Land parcel"),
    "extract": Label(vi="TRÍCH LỤC THỬA ĐẤT", en="Extract of a land parcel"),
}
# what the card says of each planning zone over the parcel (the planning page says
# all of it: plan name, validity)
CARD_ZONE_PROPERTIES = (
    "zone_code", "zone_function", "land_use", "max_height_m", "max_floors",
    "building_density_pct", "land_use_coefficient", "approval_decision", "approved_on",
)  # fmt: skip
COORDINATES_TITLE = Label(
    vi="Bảng tọa độ VN-2000 các đỉnh thửa", en="VN-2000 coordinates of the vertices"
)


def coordinates_path(feature_id: object) -> str:
    """The path of a parcel's coordinate table."""
    return f"/collections/{PARCELS}/items/{feature_id}/coordinates"


def _readable(layer_id: str, principal: Principal) -> VectorLayer:
    layer = CATALOGUE[layer_id]
    if not layer.access.can_read(principal):
        raise NotFoundError(f"no collection {layer_id!r}")
    return layer


def _only(query: QueryParams, allowed: frozenset[str]) -> None:
    for name in query:
        if name not in allowed:
            raise unknown_parameters(query, allowed)


async def _coordinates(
    request: Request, parcels: VectorLayer, fid: int, *, with_map: bool
) -> dict[str, Any]:
    """The coordinate document of parcel ``fid`` (404 when there is none)."""
    state = app_state(request)
    statement = CoordinatesStatement(
        parcels,
        CATALOGUE[UNITS],
        parcel_id=fid,
        default_srid=state.settings.cadastral_srid,
        with_map=with_map,
    )
    row = await fetch_one(
        state.pool, STATEMENTS.bind(statement), claims=claims_of(request)
    )
    if row is None:
        raise NotFoundError(f"no feature {fid!r} in {parcels.id}")
    doc: dict[str, Any] = orjson.loads(row.doc)
    return doc


@router.get(
    "/collections/land_parcels/items/{featureId}/coordinates",
    operation_id="getParcelCoordinates",
    summary="The VN-2000 coordinate table of a parcel",
)
async def get_parcel_coordinates(
    request: Request,
    feature_id: Annotated[str, Path(alias="featureId")],
    lang: LangDep,
    principal: PrincipalDep,
) -> Response:
    """The parcel's vertices in its TM-3 zone (X northing, Y easting)."""
    parcels = _readable(PARCELS, principal)
    COORDINATES.check(request.query_params)
    fmt = negotiation.choose(request, COORDINATES_FORMATS)
    fid = feature_id_of(parcels, feature_id)
    doc = await _coordinates(request, parcels, fid, with_map=False)
    base = base_url(request)
    public = principal.auth == "anonymous"
    # no entity tag: the document has no data version of its own to make one of
    headers = {
        "Cache-Control": "public, max-age=60" if public else "private, no-store",
        "Vary": "Accept, Accept-Language",
    }
    items = f"{base}/collections/{PARCELS}/items"
    if fmt == "html":
        other = "en" if lang == "vi" else "vi"
        response = html.render(
            "land_coordinates.html",
            lang,
            title=f"{COORDINATES_TITLE.get(lang)} · {COORDINATES_TITLE.get(other)}: "
            f"{fid}",
            base=base,
            doc=doc,
            card_url=f"{base}/land/parcels/{fid}?lang={lang}",
            feature_url=f"{items}/{fid}",
            json_url=f"{base}{coordinates_path(fid)}?f=json",
        )
        response.headers.update(headers)
        return response
    title = f"{COORDINATES_TITLE.vi} / {COORDINATES_TITLE.en}"
    doc["links"] = [
        {"href": f"{base}{coordinates_path(fid)}", "rel": "self",
         "type": MEDIA["json"], "title": title},
        {"href": f"{base}{coordinates_path(fid)}?f=html", "rel": "alternate",
         "type": MEDIA["html"], "title": title},
        {"href": f"{items}/{fid}", "rel": "about",
         "type": MEDIA["geojson"], "title": "Thửa đất / Land parcel"},
    ]  # fmt: skip
    return Response(orjson.dumps(doc), media_type=MEDIA["json"], headers=headers)


@router.get("/land", include_in_schema=False)
async def get_land_lookup(
    request: Request, lang: LangDep, principal: PrincipalDep
) -> Response:
    """The look-up form; given its fields (a GET of the form), the page looks up."""
    parcels = _readable(PARCELS, principal)
    units = _readable(UNITS, principal)
    query = request.query_params
    _only(query, LOOKUP_PARAMS)
    given = _lookup_fields(query)
    row = await fetch_one(
        app_state(request).pool,
        STATEMENTS.bind(WardsStatement(units)),
        claims=claims_of(request),
    )
    assert row is not None  # one row of aggregates
    base = base_url(request)
    return html.render(
        "land_lookup.html",
        lang,
        title=_title("lookup", lang),
        base=base,
        units=orjson.loads(row.doc),
        given=given,
        labels=field_labels(parcels, lang),
        lookup_url=f"{base}/collections/{PARCELS}/lookup",
        card_url=f"{base}/land/parcels/",
        reports=_dossier_reports(base, lang, principal),
    )


def _dossier_reports(base: str, lang: str, principal: Principal) -> dict[str, str]:
    """The dossier reports' pages, for who may read the dossiers (else none: the
    routes would answer 404)."""
    if not CATALOGUE[DOSSIERS].access.can_read(principal):
        return {}
    return {
        name: f"{base}/land/dossiers/{name}?f=html&lang={lang}"
        for name in ("weekly", "overdue", "due-soon")
    }


def _lookup_fields(query: QueryParams) -> dict[str, str]:
    """The form's fields as given, checked as the look-up route checks them (the
    same 400s); none given: the empty form."""
    given = [
        (name, value.strip())
        for name, value in query.multi_items()
        if name != "lang" and value.strip()
    ]
    if given:
        parse_lookup(QueryParams(given))
    return dict(given)


@router.get("/land/parcels/{featureId}", include_in_schema=False)
async def get_parcel_card(
    request: Request,
    feature_id: Annotated[str, Path(alias="featureId")],
    lang: LangDep,
    principal: PrincipalDep,
) -> Response:
    """The parcel card."""
    parcels, fid, feature, coordinates, planning, lineage = await _sheet(
        request, principal, feature_id, with_map=False
    )
    base = base_url(request)
    items = f"{base}/collections/{PARCELS}/items"
    props = feature["properties"]
    return html.render(
        "land_card.html",
        lang,
        title=f"{_title('card', lang)} {props.get('sheet_no')}/{props.get('parcel_no')}",
        base=base,
        feature=feature,
        coordinates=coordinates,
        planning=planning,
        lineage=lineage,
        labels=field_labels(parcels, lang),
        zone_labels=field_labels(CATALOGUE[ZONES], lang),
        personal=_personal(parcels, principal),
        urls={
            "feature": f"{items}/{fid}",
            "items": items,
            "coordinates": f"{base}{coordinates_path(fid)}",
            "planning": f"{base}{planning_path(fid)}",
            "versions": f"{items}/{fid}/versions",
            "dossiers": f"{base}/collections/land_dossiers/items?parcel_id={fid}",
            "pdf": f"{base}/land/parcels/{fid}/extract.pdf?lang={lang}",
            "lookup": f"{base}/land?lang={lang}",
            "lineage": f"{items}/{fid}/lineage",
            "card": f"{base}/land/parcels/",
        },
    )


@router.get("/land/parcels/{featureId}/extract.pdf", include_in_schema=False)
async def get_parcel_extract(
    request: Request,
    feature_id: Annotated[str, Path(alias="featureId")],
    lang: LangDep,
    principal: PrincipalDep,
) -> Response:
    """The printable extract of the parcel, as PDF."""
    parcels, fid, feature, coordinates, planning, lineage = await _sheet(
        request, principal, feature_id, with_map=True
    )
    versions = await _versions(request, parcels, fid)
    ward = feature["properties"].get("ward_code")
    dossiers = await _dossiers(request, principal, fid, ward)
    today = dt.datetime.now(CITY_TZ).date()
    page = html.render(
        "land_extract.html",
        lang,
        title=_title("extract", lang),
        base="",
        feature=feature,
        coordinates=coordinates,
        planning=planning,
        versions=versions,
        lineage=lineage,
        dossiers=dossiers,
        personal=_personal(parcels, principal),
        labels=field_labels(parcels, lang),
        zone_labels=field_labels(CATALOGUE[ZONES], lang),
        today=today,
        city_time=city_time,
        drawing=_drawing(coordinates["map"]),
    )
    pdf = await anyio.to_thread.run_sync(
        _render_pdf, bytes(page.body), limiter=_pdf_limiter(request)
    )
    props = feature["properties"]
    name = f"trich-luc-{props.get('ward_code')}-{props.get('sheet_no')}-{props.get('parcel_no')}.pdf"
    return Response(
        pdf,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'inline; filename="{name}"',
            "Cache-Control": "private, no-store",
        },
    )


def _drawing(drawn: dict[str, Any]) -> dict[str, Any]:
    """How the extract draws a window ``side_m`` metres wide on ``MAP_MM`` of paper:
    strokes, dots and type in metres (the SVG's units), a scale bar of a round
    length about a quarter of the window, the nominal print scale, and where each
    vertex number goes: just outside the parcel, away from the window's centre
    (the parcel's), so it sits on no edge of its own."""
    side = float(drawn["side_m"])
    font = side / 32
    labels = []
    for number, x, y in drawn["vertices"] or []:
        dx, dy = float(x) - side / 2, float(y) + side / 2
        norm = math.hypot(dx, dy) or 1.0
        labels.append(
            (number, float(x) + dx / norm * font * 0.8,
             float(y) + dy / norm * font * 0.8 + font * 0.35)
        )  # fmt: skip
    bar = _round_length(side / 4)
    return {
        "side": side,
        "map_mm": MAP_MM,
        "print_scale": _round_length(side * 1000 / MAP_MM),
        "thin": side / 400,
        "thick": side / 150,
        "dot": side / 180,
        "font": font,
        "small_font": side / 42,
        "labels": labels,
        "bar_m": bar,
        "bar_x": side * 0.05,
        "bar_y": -side * 0.05,
        "north_x": side * 0.93,
        "north_y": -side * 0.96,
    }


def _round_length(value: float) -> int | float:
    """The largest 1, 2 or 5 times a power of ten not above ``value``."""
    magnitude = 10.0 ** math.floor(math.log10(value))
    for step in (5, 2, 1):
        if step * magnitude <= value:
            rounded = step * magnitude
            return int(rounded) if rounded >= 1 else rounded
    return magnitude  # not reached: 1 x magnitude <= value


def _pdf_limiter(request: Request) -> anyio.CapacityLimiter:
    """This app's limit on extracts rendered at once (made in its event loop)."""
    limiter: anyio.CapacityLimiter | None = getattr(
        request.app.state, "pdf_renders", None
    )
    if limiter is None:
        limiter = anyio.CapacityLimiter(PDF_RENDERS)
        request.app.state.pdf_renders = limiter
    return limiter


def _no_fetching(url: str, timeout: int = 10, ssl_context: Any = None) -> Any:
    """WeasyPrint's URL fetcher: the extract is one self-contained document (its map
    an inline SVG), so nothing is fetched, whatever the data holds."""
    del timeout, ssl_context
    raise ValueError(f"the extract fetches nothing ({url[:80]})")


def _render_pdf(page: bytes) -> bytes:
    """The PDF of ``page`` (blocking: run in a worker thread)."""
    import weasyprint

    document = weasyprint.HTML(
        string=page.decode(), base_url=None, url_fetcher=_no_fetching
    )
    pdf: bytes = document.write_pdf()
    return pdf


class ParcelSheet(NamedTuple):
    """What the card and the extract both show of a parcel."""

    parcels: VectorLayer
    fid: int
    feature: dict[str, Any]
    coordinates: dict[str, Any]
    planning: dict[str, Any] | None
    lineage: dict[str, Any] | None


async def _sheet(
    request: Request, principal: Principal, feature_id: str, *, with_map: bool
) -> ParcelSheet:
    """What the card and the extract both show of a parcel: the layer, the id, the
    feature (as the caller may read it), its coordinate table (with the extract's
    drawing when ``with_map``), planning and lineage. 404 for a parcel or layer
    the caller cannot see, 400 for a parameter the pages lack."""
    parcels = _readable(PARCELS, principal)
    _only(request.query_params, PAGE_PARAMS)
    fid = feature_id_of(parcels, feature_id)
    feature = await _feature(request, parcels, principal, fid)
    coordinates = await _coordinates(request, parcels, fid, with_map=with_map)
    planning = await _planning(request, parcels, principal, fid)
    lineage = await _lineage(request, parcels, fid)
    return ParcelSheet(parcels, fid, feature, coordinates, planning, lineage)


async def _feature(
    request: Request, parcels: VectorLayer, principal: Principal, fid: int
) -> dict[str, Any]:
    """The feature document as the caller's own GET of it answers (CRS84, the fields
    it may see: personal ones only where the policy opens them)."""
    fields = parcels.visible_fields(principal)
    query = parse_feature(QueryParams(""), parcels, fields)
    statement = ItemStatement(parcels, query, fields, fid)
    found = await fetch_one(
        app_state(request).pool, STATEMENTS.bind(statement), claims=claims_of(request)
    )
    if found is None:
        raise NotFoundError(f"no feature {fid!r} in {parcels.id}")
    feature: dict[str, Any] = orjson.loads(found.f)
    return feature


async def _planning(
    request: Request, parcels: VectorLayer, principal: Principal, fid: int
) -> dict[str, Any] | None:
    """The parcel's planning information; None when the caller may not read the
    planning zones (the section is left out)."""
    zones = CATALOGUE[ZONES]
    if not zones.access.can_read(principal):
        return None
    pool: Pool = app_state(request).pool
    claims: Claims | None = claims_of(request)
    statement = PlanningStatement(parcels, zones, parcel_id=fid)
    row = await fetch_one(pool, STATEMENTS.bind(statement), claims=claims)
    if row is None:
        raise NotFoundError(f"no feature {fid!r} in {parcels.id}")
    doc: dict[str, Any] = orjson.loads(row.doc)
    doc["properties"] = CARD_ZONE_PROPERTIES
    return doc


async def _versions(
    request: Request, parcels: VectorLayer, fid: int
) -> dict[str, Any] | None:
    """The parcel's versions as ``GET .../versions`` answers them (its statement,
    the caller's claims: the history's row-level security); None when the layer
    keeps no history."""
    if not has_history(parcels.table):
        return None
    row = await fetch_one(
        app_state(request).pool,
        STATEMENTS.bind(VersionsStatement(parcels, fid)),
        claims=claims_of(request),
    )
    if row is None or row.n == 0:
        return None
    doc: dict[str, Any] = orjson.loads(row.doc)
    return doc


async def _lineage(
    request: Request, parcels: VectorLayer, fid: int
) -> dict[str, Any] | None:
    """The parcels this one was made from and into (``GET .../lineage``'s
    statement); None when no split or merge touched it (no section)."""
    items = f"{base_url(request)}/collections/{PARCELS}/items"
    row = await fetch_one(
        app_state(request).pool,
        STATEMENTS.bind(LineageStatement(parcels, fid, items)),
        claims=claims_of(request),
    )
    if row is None:
        return None
    doc: dict[str, Any] = orjson.loads(row.doc)
    return doc if doc["parents"] or doc["children"] else None


async def _dossiers(
    request: Request, principal: Principal, fid: int, ward: str | None
) -> dict[str, Any] | None:
    """The parcel's open and recent dossiers the caller sees; None (no section) for
    who may not read the dossiers, or not those of the parcel's ward (a section
    saying "none" would be untrue for it). Row-level security still decides which
    rows come back: the statement runs under the request's claims."""
    dossiers = CATALOGUE[DOSSIERS]
    access = dossiers.access
    if not access.can_read(principal):
        return None
    wards = access.scope(principal, access.read)
    if wards is not None and ward not in wards:
        return None
    row = await fetch_one(
        app_state(request).pool,
        STATEMENTS.bind(ParcelDossiersStatement(dossiers, fid)),
        claims=claims_of(request),
    )
    assert row is not None  # one row of aggregates
    doc: dict[str, Any] = orjson.loads(row.doc)
    return doc


def _personal(parcels: VectorLayer, principal: Principal) -> list[str]:
    """The personal fields the caller's feature document carries (their values
    are there only for the rows the policy opens to it)."""
    return [f.name for f in parcels.visible_fields(principal) if f.personal]


def city_time(value: str | None) -> str:
    """An instant of a document (ISO 8601) as the city's clock shows it, to the
    second ("2026-12-08 05:48:41"); empty for none."""
    if not value:
        return ""
    moment = dt.datetime.fromisoformat(value)
    return moment.astimezone(CITY_TZ).strftime("%Y-%m-%d %H:%M:%S")


def _title(key: str, lang: str) -> str:
    return TITLES[key].get(lang)


def field_labels(layer: VectorLayer, lang: str) -> dict[str, tuple[str, str]]:
    """Each field's title in the page's language first, then the other."""
    other = "en" if lang == "vi" else "vi"
    return {f.name: (f.title.get(lang), f.title.get(other)) for f in layer.fields}
