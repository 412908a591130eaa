"""The query parameters of every route, each stated once.

A ``Param`` is one parameter: its name and its OpenAPI description and schema. A
``ParamSet`` groups the parameters of one kind of route (documents, items, one
feature, tiles, the map, edits) and the parser that turns a query string into what
the route works with. From the sets come

- the unknown-parameter 400 (/req/core/query-param-unknown): one dependency per
  route kind (``DocumentQuery``, ``TilesQuery``, ``EditsQuery``, ``MapQuery``) or,
  where the allowed names depend on the layer, the set's parser (``parse_items``,
  ``parse_feature``);
- the values the routes get (``ItemsQuery``, ``MapView``, the language);
- the ``parameters`` of the OpenAPI document (``api.openapi``): the shared ones under
  ``components/parameters``, those whose values depend on the collection and the
  caller (CRSs, properties, sortables, queryables) inlined per collection.

Each route kind parses only its own parameters: a single feature reads ``crs``,
``properties`` and ``skipGeometry``, never the items parser.
"""

from __future__ import annotations

import copy
import datetime as dt
import re
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field, replace
from typing import Annotated, Any

from fastapi import Depends, Request
from starlette.datastructures import QueryParams

from api.negotiation import LANGS, accept_language
from gis.columns import as_instant, column_kind, int_bits
from gis.cql2 import parse_filter
from gis.crs import CRS84, CrsRef, crs_uris, parse_crs
from gis.errors import InvalidParameterError, UnknownParameterError
from gis.layer import Field, VectorLayer
from gis.query import (
    ItemsQuery,
    TimeFilter,
    decode_cursor,
    parse_bbox,
    parse_datetime,
    parse_limit,
    parse_properties,
    parse_sortby,
)
from gis.settings import LimitSettings

# --- the registry's vocabulary --------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DocContext:
    """What an OpenAPI parameter may depend on: the limits (shared parameters), and
    the collection's CRSs and the fields the caller sees of it (inlined ones)."""

    limits: LimitSettings
    srids: tuple[int, ...] = ()
    fields: tuple[Field, ...] = ()

    def of(self, layer: VectorLayer, fields: tuple[Field, ...]) -> DocContext:
        """This context for one collection as the caller sees it."""
        return replace(self, srids=layer.crs_srids, fields=fields)


Described = str | Callable[[DocContext], str]
Schema = dict[str, Any] | Callable[[DocContext], dict[str, Any]]


@dataclass(frozen=True, slots=True)
class Param:
    """One query parameter as the OpenAPI document states it.

    ``component`` names it under ``#/components/parameters`` when it is the same for
    every collection; without one it is written out where it is used (its schema
    depends on the collection or the caller). ``form`` marks a value given whole,
    commas included (``style: form, explode: false``).
    """

    name: str
    description: Described
    schema: Schema
    component: str | None = None
    form: bool = False

    def openapi(self, ctx: DocContext) -> dict[str, Any]:
        """The OpenAPI 3.0 parameter object."""
        text = self.description
        schema = self.schema
        return openapi_param(
            self.name,
            text if isinstance(text, str) else text(ctx),
            copy.deepcopy(schema) if isinstance(schema, dict) else schema(ctx),
            form=self.form,
        )

    def reference(self, ctx: DocContext) -> dict[str, Any]:
        """How an operation lists it: a ``$ref`` to the shared one, or itself."""
        if self.component is None:
            return self.openapi(ctx)
        return {"$ref": f"#/components/parameters/{self.component}"}


def openapi_param(
    name: str,
    description: str,
    schema: dict[str, Any],
    *,
    form: bool = False,
    where: str = "query",
) -> dict[str, Any]:
    """An optional OpenAPI 3.0 parameter (a query parameter unless ``where``)."""
    p: dict[str, Any] = {
        "name": name,
        "in": where,
        "required": False,
        "description": description,
        "schema": schema,
    }
    if form:
        p["style"] = "form"
        p["explode"] = False
    return p


@dataclass(frozen=True)
class ParamSet:
    """The query parameters one kind of route takes (``queryables``: and a
    ``property=value`` for each queryable of the collection the caller sees)."""

    kind: str
    params: tuple[Param, ...]
    queryables: bool = False
    names: frozenset[str] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "names", frozenset(p.name for p in self.params))

    def check(self, query: QueryParams) -> None:
        """A parameter this kind of route lacks is a 400."""
        for name in query:
            if name not in self.names:
                raise unknown_parameters(query, self.names)

    def check_once(self, query: QueryParams) -> None:
        """:meth:`check`, and a parameter given twice is a 400 too."""
        self.check(query)
        _once(query)

    def openapi(self, ctx: DocContext) -> list[dict[str, Any]]:
        """The ``parameters`` of an operation of this kind."""
        listed = [p.reference(ctx) for p in self.params]
        if self.queryables:
            listed += [queryable_param(f) for f in ctx.fields if f.queryable]
        return listed


def unknown_parameters(
    query: QueryParams, allowed: frozenset[str] | set[str]
) -> UnknownParameterError:
    """/req/core/query-param-unknown: the parameters of ``query`` not ``allowed``."""
    unknown = sorted(set(query) - allowed)
    return UnknownParameterError(
        f"unknown parameter(s): {', '.join(unknown)}; "
        f"allowed: {', '.join(sorted(allowed))}",
        parameter=unknown[0],
    )


def queryable_param(f: Field) -> dict[str, Any]:
    """A queryable as a parameter: ``name=value`` keeps the features equal to it
    (an integer column takes an integer, compared as one; the others text)."""
    return openapi_param(f.name, f"{f.title.en} equals this value", {"type": "string"})


def components(ctx: DocContext) -> dict[str, Any]:
    """``#/components/parameters``: every parameter shared by all collections."""
    return {p.component: p.openapi(ctx) for p in REGISTRY if p.component is not None}


# --- the parameters -------------------------------------------------------------------


def _names(values: list[str]) -> dict[str, Any]:
    """A string among ``values`` (any string when there are none)."""
    return {"type": "string", "enum": values} if values else {"type": "string"}


def _crs_schema(ctx: DocContext) -> dict[str, Any]:
    return {"type": "string", "format": "uri", "enum": crs_uris(ctx.srids)}


def _properties_schema(ctx: DocContext) -> dict[str, Any]:
    return {"type": "array", "items": _names([f.name for f in ctx.fields])}


def _sortby_schema(ctx: DocContext) -> dict[str, Any]:
    # "+name" needs its "+" encoded in a query string: "name" is ascending too
    sortables = [f.name for f in ctx.fields if f.sortable]
    terms = [t for n in sortables for t in (n, f"-{n}")]
    return {"type": "array", "items": _names(terms), "maxItems": 4}


def _limit_description(ctx: DocContext) -> str:
    limits = ctx.limits
    return f"Features per page (default {limits.default_limit}, maximum {limits.max_limit})"


def _limit_schema(ctx: DocContext) -> dict[str, Any]:
    limits = ctx.limits
    return {
        "type": "integer",
        "minimum": 1,
        "maximum": limits.max_limit,
        "default": limits.default_limit,
    }


F_DOCUMENT = Param(
    "f", "Output format", {"type": "string", "enum": ["json", "html"]}, "f"
)
F_ITEMS = Param(
    "f",
    "Output format (json is GeoJSON)",
    {"type": "string", "enum": ["json", "geojson", "jsonfg", "html", "csv"]},
    "f-items",
)
F_FEATURE = Param(
    "f",
    "Output format (json is GeoJSON)",
    {"type": "string", "enum": ["json", "geojson", "html"]},
    "f-feature",
)
F_TILES = Param(
    "f",
    "Output format (tilejson: TileJSON 3.0)",
    {"type": "string", "enum": ["json", "tilejson"]},
)
LANG = Param(
    "lang",
    "Language of titles and messages",
    {"type": "string", "enum": list(LANGS)},
    "lang",
)
LIMIT = Param("limit", _limit_description, _limit_schema, "limit", form=True)
BBOX = Param(
    "bbox",
    "Only features intersecting this box (minx,miny,maxx,maxy, or six numbers "
    "with heights, in bbox-crs axis order)",
    {"type": "array", "minItems": 4, "maxItems": 6, "items": {"type": "number"}},
    "bbox",
    form=True,
)
DATETIME = Param(
    "datetime",
    "Instant or interval (RFC 3339, '..' for an open end) on the "
    "collection's datetimeProperty",
    {"type": "string"},
    "datetime",
    form=True,
)
# transaction time, apart from datetime (valid time on parcels and admin units):
# the "Versioned Features" proposal of OGC API Features reuses datetime for versions
# only where the version interval is the feature's own primary interval; here the
# two differ (a bitemporal case the proposal leaves out), hence asOf, the name
# opengeospatial/ogcapi-features#1057 suggests (api/routers/versions.py)
AS_OF = Param(
    "asOf",
    "The collection as it was at this instant (RFC 3339; without a zone, city "
    "time): every earlier version is kept by the database, from when the "
    "collection's history starts; not in the future",
    {"type": "string", "format": "date-time"},
    "asOf",
)
SKIP_GEOMETRY = Param(
    "skipGeometry",
    "Omit geometries",
    {"type": "boolean", "default": False},
    "skipGeometry",
)
CURSOR = Param(
    "cursor", "Paging token from a next/prev link", {"type": "string"}, "cursor"
)
FILTER = Param(
    "filter",
    "CQL2 filter (see filter-lang); limits: 8 KB text, 64 KB JSON, depth 20, "
    "200 nodes, IN lists of 1,000, 10,000 literal vertices, DWITHIN 100 km",
    {"type": "string", "minLength": 1},  # an empty filter is a 400
    "filter",
)
FILTER_LANG = Param(
    "filter-lang",
    "Language of filter",
    {"type": "string", "enum": ["cql2-text", "cql2-json"], "default": "cql2-text"},
    "filter-lang",
)
CRS = Param("crs", "Output CRS", _crs_schema)
BBOX_CRS = Param("bbox-crs", "CRS of bbox", _crs_schema)
FILTER_CRS = Param("filter-crs", "CRS of geometries in filter", _crs_schema)
PROPERTIES = Param("properties", "Properties to return", _properties_schema, form=True)
SORTBY = Param(
    "sortby", "Sort keys, comma separated (at most 4)", _sortby_schema, form=True
)
CENTER = Param(
    "center",
    "Where the map opens: longitude,latitude in degrees (default 108.10,10.93)",
    {"type": "array", "minItems": 2, "maxItems": 2, "items": {"type": "number"}},
    form=True,
)
ZOOM = Param(
    "zoom",
    "Zoom the map opens at (default 14)",
    {"type": "number", "minimum": 0, "maximum": 22, "default": 14},
)
# a parcel as a land officer names it (``api.routers.parcel_lookup``)
MAX_SHEET_NO = 99_999  # a commune's map sheets: a few hundred, rarely thousands
MAX_PARCEL_NO = 999_999  # parcels of one sheet: rarely over a few thousand
LOOKUP_WARD = Param(
    "ward_code",
    "The ward (2025) or the commune before 2025 whose sheet it is: its code",
    {"type": "string", "pattern": "^[0-9]{1,5}$"},
)
LOOKUP_SHEET = Param(
    "sheet_no",
    "Map sheet number (số tờ)",
    {"type": "integer", "minimum": 1, "maximum": MAX_SHEET_NO},
)
LOOKUP_PARCEL = Param(
    "parcel_no",
    "Parcel number on the sheet (số thửa)",
    {"type": "integer", "minimum": 1, "maximum": MAX_PARCEL_NO},
)
LOOKUP_NATIONAL_ID = Param(
    "national_parcel_id",
    "National parcel id (mã thửa quốc gia), instead of ward, sheet and number",
    {"type": "string", "pattern": "^[0-9A-Za-z]{1,32}$"},
)
# the land dossier reports (``api.routers.land_dossiers``)
DOSSIER_WEEKS = 12  # the weekly table's default span
DOSSIER_MAX_DAYS_SPAN = 731  # two years of weeks in one table
DOSSIER_MAX_LIMIT = 1000
DOSSIER_MAX_DAYS_AHEAD = 60
DOSSIER_WARD = Param(
    "ward_code",
    "The ward (5-digit 2025 code); default: every ward you see",
    {"type": "string", "pattern": "^[0-9]{5}$"},
)
DOSSIER_FROM = Param(
    "from",
    f"First day (YYYY-MM-DD; default: {DOSSIER_WEEKS} weeks ago)",
    {"type": "string", "format": "date"},
)
DOSSIER_TO = Param(
    "to", "Last day (YYYY-MM-DD; default: today)", {"type": "string", "format": "date"}
)
DOSSIER_LIMIT = Param(
    "limit",
    f"At most this many dossiers (1 to {DOSSIER_MAX_LIMIT}, default 100)",
    {"type": "integer", "minimum": 1, "maximum": DOSSIER_MAX_LIMIT, "default": 100},
)
DOSSIER_DAYS = Param(
    "days",
    f"Due within this many working days (0 to {DOSSIER_MAX_DAYS_AHEAD})",
    {"type": "integer", "minimum": 0, "maximum": DOSSIER_MAX_DAYS_AHEAD, "default": 3},
)
# every parameter; the shared ones are listed under components in this order
REGISTRY = (
    F_DOCUMENT, F_ITEMS, F_FEATURE, F_TILES, LANG, LIMIT, BBOX, DATETIME, AS_OF,
    SKIP_GEOMETRY, CURSOR, FILTER, FILTER_LANG, CRS, BBOX_CRS, FILTER_CRS,
    PROPERTIES, SORTBY, CENTER, ZOOM, LOOKUP_WARD, LOOKUP_SHEET, LOOKUP_PARCEL,
    LOOKUP_NATIONAL_ID,
)  # fmt: skip

# --- the sets: one per kind of route (in the order the OpenAPI document lists them) ----

# landing page, conformance, /api, collections, schemas, styles
DOCUMENT = ParamSet("document", (F_DOCUMENT, LANG))
ITEMS = ParamSet(
    "items",
    (
        F_ITEMS, LANG, LIMIT, BBOX, DATETIME, AS_OF, SKIP_GEOMETRY, CURSOR,
        FILTER, FILTER_LANG, CRS, BBOX_CRS, FILTER_CRS, PROPERTIES, SORTBY,
    ),
    queryables=True,
)  # fmt: skip
FEATURE = ParamSet("feature", (F_FEATURE, LANG, CRS, PROPERTIES, SKIP_GEOMETRY, AS_OF))
# a feature's versions (JSON or HTML), and one version (GeoJSON or HTML)
VERSIONS = ParamSet("versions", (F_DOCUMENT, LANG))
VERSION = ParamSet("version", (F_FEATURE, LANG, CRS, PROPERTIES, SKIP_GEOMETRY))
TILES = ParamSet("tiles", (F_TILES, LANG))
MAP = ParamSet("map", (LANG, CENTER, ZOOM))
EDITS = ParamSet("edits", (LANG,))
# a parcel's planning information (JSON or HTML), and a drawn polygon's (JSON)
PLANNING = ParamSet("planning", (F_DOCUMENT, LANG))
DRAWN_PLANNING = ParamSet("drawn-planning", (LANG,))
# the parcel look-up (JSON, or an HTML list of the matches)
DOSSIERS_WEEKLY = ParamSet(
    "dossiers-weekly", (F_DOCUMENT, LANG, DOSSIER_WARD, DOSSIER_FROM, DOSSIER_TO)
)
DOSSIERS_OVERDUE = ParamSet(
    "dossiers-overdue", (F_DOCUMENT, LANG, DOSSIER_WARD, DOSSIER_LIMIT)
)
DOSSIERS_DUE_SOON = ParamSet(
    "dossiers-due-soon",
    (F_DOCUMENT, LANG, DOSSIER_WARD, DOSSIER_DAYS, DOSSIER_LIMIT),
)
LOOKUP = ParamSet(
    "parcel-lookup",
    (F_DOCUMENT, LANG, LOOKUP_WARD, LOOKUP_SHEET, LOOKUP_PARCEL, LOOKUP_NATIONAL_ID),
)

# --- parsing ------------------------------------------------------------------------

# the default CRS of every collection (output, bbox, filter)
CRS84_REF = parse_crs(CRS84, (4326,))


def _once(query: QueryParams) -> None:
    """A parameter given twice is a 400 (which value would be meant?)."""
    if len(query.multi_items()) == len(query):
        return
    seen: set[str] = set()
    for name, _ in query.multi_items():
        if name in seen:
            raise InvalidParameterError(f"{name}: given more than once", parameter=name)
        seen.add(name)


def _crs(query: QueryParams, name: str, layer: VectorLayer) -> CrsRef | None:
    raw = query.get(name)
    return None if raw is None else parse_crs(raw, layer.crs_srids)


def _skip_geometry(query: QueryParams) -> bool:
    skip = query.get("skipGeometry", "false").lower()
    if skip not in ("true", "false"):
        raise InvalidParameterError(
            "skipGeometry: expected true or false", parameter="skipGeometry"
        )
    return skip == "true"


def _properties(
    query: QueryParams, fields: tuple[Field, ...]
) -> tuple[str, ...] | None:
    raw = query.get("properties")
    return None if raw is None else parse_properties(raw, fields)


def _equals(query: QueryParams, fields: tuple[Field, ...]) -> tuple[str, ...]:
    """The queryables given as ``name=value``, sorted; 400 for any other name the
    items set lacks."""
    extra = [name for name in query if name not in ITEMS.names]
    if not extra:
        return ()
    queryables = {f.name for f in fields if f.queryable}
    if not queryables.issuperset(extra):
        raise unknown_parameters(query, ITEMS.names | queryables)
    return tuple(sorted(extra))


_INTEGER = re.compile(r"-?[0-9]{1,19}")


def _equal_value(layer: VectorLayer, name: str, raw: str) -> str | int:
    """The value of ``name=raw``: an integer for an integer column (compared as
    one, so its index answers: ``sheet_no=4`` on two million parcels), else the
    text; 400 for a value an integer column cannot hold."""
    column = layer.table.c[name]
    kind = column_kind(column.type)
    if kind is None or kind[0] != "int":
        return raw
    bits = int_bits(column.type)
    if not _INTEGER.fullmatch(raw) or not -(2 ** (bits - 1)) <= int(raw) < 2 ** (
        bits - 1
    ):
        raise InvalidParameterError(
            f"{name}: expected an integer of {bits} bits, got {raw[:40]!r}",
            parameter=name,
        )
    return int(raw)


def _time(q: QueryParams, layer: VectorLayer) -> TimeFilter | None:
    """``datetime``: refused on a layer without time (roads, POIs), which has no
    instant to compare it with: a 400 rather than a page that ignores it."""
    if "datetime" not in q:
        return None
    if layer.time is None:
        raise InvalidParameterError(
            f"datetime: {layer.id} has no time", parameter="datetime"
        )
    return parse_datetime(q["datetime"])


def parse_items(
    query: QueryParams,
    layer: VectorLayer,
    fields: tuple[Field, ...],
    limits: LimitSettings,
    *,
    paging_key: bytes,
) -> ItemsQuery:
    """The items request of ``query`` for the caller who sees ``fields`` (400 on
    anything wrong). ``paging_key`` checks a ``cursor`` (its signature)."""
    q = query
    equals = _equals(q, fields)
    _once(q)
    crs = _crs(q, "crs", layer) or CRS84_REF
    bbox_crs = _crs(q, "bbox-crs", layer)
    if bbox_crs and "bbox" not in q:
        raise InvalidParameterError(
            "bbox-crs: given without bbox", parameter="bbox-crs"
        )
    bbox_ref = bbox_crs or CRS84_REF
    skip_geometry = _skip_geometry(q)
    sortby = parse_sortby(q["sortby"], fields) if "sortby" in q else ()
    if ("filter-lang" in q or "filter-crs" in q) and "filter" not in q:
        raise InvalidParameterError(
            "filter-lang and filter-crs need a filter", parameter="filter"
        )
    flt = None
    if "filter" in q:
        filter_crs = _crs(q, "filter-crs", layer) or CRS84_REF
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
            q.get("limit"), default=limits.default_limit, maximum=limits.max_limit
        ),
        bbox=parse_bbox(q["bbox"], bbox_ref) if "bbox" in q else None,
        bbox_srid=bbox_ref.srid,
        time=_time(q, layer),
        crs=crs,
        properties=_properties(q, fields),
        skip_geometry=skip_geometry,
        sortby=sortby,
        equals=tuple((name, _equal_value(layer, name, q[name])) for name in equals),
        cursor=decode_cursor(q["cursor"], layer, sortby, key=paging_key)
        if "cursor" in q
        else None,
        filter=flt,
    )


def parse_feature(
    query: QueryParams, layer: VectorLayer, fields: tuple[Field, ...]
) -> ItemsQuery:
    """What a single feature's request asks for: only the ``FEATURE`` set's
    parameters are read (the rest of the items request keeps its defaults)."""
    FEATURE.check(query)
    _once(query)
    return ItemsQuery(
        limit=1,
        crs=_crs(query, "crs", layer) or CRS84_REF,
        skip_geometry=_skip_geometry(query),
        properties=_properties(query, fields),
    )


@dataclass(frozen=True, slots=True)
class ParcelLookup:
    """A parcel as an officer names it: ward, sheet and number, or national id."""

    ward_code: str | None = None
    sheet_no: int | None = None
    parcel_no: int | None = None
    national_parcel_id: str | None = None


_DIGITS = re.compile(r"[0-9]{1,5}")
_WHOLE = re.compile(r"[0-9]{1,7}")
_NATIONAL_ID = re.compile(r"[0-9A-Za-z]{1,32}")


def bounded_int(query: QueryParams, name: str, low: int, high: int) -> int | None:
    """The integer ``name`` (None when absent); 400 unless ASCII digits from ``low``
    to ``high`` (``str.isdigit`` also takes "²", which ``int`` refuses)."""
    raw = query.get(name)
    if raw is None:
        return None
    if not _WHOLE.fullmatch(raw) or not low <= int(raw) <= high:
        raise InvalidParameterError(
            f"{name}: expected an integer from {low} to {high}, got {raw[:40]!r}",
            parameter=name,
        )
    return int(raw)


def parse_lookup(query: QueryParams) -> ParcelLookup:
    """The look-up a query asks for: all of ``ward_code``, ``sheet_no`` and
    ``parcel_no``, or ``national_parcel_id`` alone; anything else a 400."""
    LOOKUP.check_once(query)
    ward = query.get("ward_code")
    if ward is not None and not _DIGITS.fullmatch(ward.strip()):
        raise InvalidParameterError(
            f"ward_code: expected the code of a ward or commune (up to 5 digits), "
            f"got {ward[:40]!r}",
            parameter="ward_code",
        )
    sheet = bounded_int(query, "sheet_no", 1, MAX_SHEET_NO)
    parcel = bounded_int(query, "parcel_no", 1, MAX_PARCEL_NO)
    national = query.get("national_parcel_id")
    by_sheet = (ward, sheet, parcel)
    if national is not None:
        if not _NATIONAL_ID.fullmatch(national.strip()):
            raise InvalidParameterError(
                "national_parcel_id: expected 1 to 32 letters and digits, "
                f"got {national[:40]!r}",
                parameter="national_parcel_id",
            )
        if by_sheet != (None, None, None):
            raise InvalidParameterError(
                "national_parcel_id: give it alone, without ward_code, sheet_no "
                "and parcel_no",
                parameter="national_parcel_id",
            )
        return ParcelLookup(national_parcel_id=national.strip())
    if None in by_sheet:
        missing = [
            n
            for n, v in zip(
                ("ward_code", "sheet_no", "parcel_no"), by_sheet, strict=True
            )
            if v is None
        ]
        raise InvalidParameterError(
            f"{missing[0]}: a parcel is named by ward_code, sheet_no and parcel_no "
            f"together, or by national_parcel_id; missing: {', '.join(missing)}",
            parameter=missing[0],
        )
    assert ward is not None  # for mypy: checked just above
    return ParcelLookup(ward.strip(), sheet, parcel)


def parse_as_of(query: QueryParams) -> dt.datetime | None:
    """``asOf``: one instant (RFC 3339, city time without a zone; a bare date is
    its first instant, UTC as for ``datetime``), or None. Whether the layer's
    history reaches it is the route's to check (``api.routers.versions``)."""
    raw = query.get("asOf")
    if raw is None:
        return None
    try:
        if len(raw) == 10:
            day = dt.date.fromisoformat(raw)
            return dt.datetime.combine(day, dt.time.min, tzinfo=dt.UTC)
        moment = dt.datetime.fromisoformat(raw)
    except ValueError:
        raise InvalidParameterError(
            f"asOf: {raw!r} is not an RFC 3339 date-time", parameter="asOf"
        ) from None
    return as_instant(moment)


@dataclass(frozen=True, slots=True)
class MapView:
    """Where the city map opens."""

    center: list[float]
    zoom: float


def parse_map_view(query: QueryParams) -> MapView:
    """``center=lon,lat`` and ``zoom`` of the map page (400 when out of range)."""
    MAP.check(query)
    try:
        center = [float(v) for v in query.get("center", "108.10,10.93").split(",")]
        zoom = float(query.get("zoom", "14"))
    except ValueError:
        raise InvalidParameterError("center is lon,lat and zoom a number") from None
    if len(center) != 2 or not (-180 <= center[0] <= 180 and -85 <= center[1] <= 85):
        raise InvalidParameterError("center: lon,lat in degrees", parameter="center")
    if not 0 <= zoom <= 22:
        raise InvalidParameterError("zoom: from 0 to 22", parameter="zoom")
    return MapView(center, zoom)


# --- dependencies -----------------------------------------------------------------------
# All are ``async def``: FastAPI runs a plain ``def`` dependency in a worker thread,
# which costs more than the dependency itself on every request. A route lists the
# one of its kind after its other dependencies, so the collection's 404 and the
# ``lang`` 400 come first, as they always have.


async def get_lang(request: Request) -> str:
    """``lang=`` first, then ``Accept-Language`` (q-values honoured), Vietnamese default."""
    if "lang" in request.query_params:
        # exactly the OpenAPI's enum: an unknown (or empty) value is a 400
        lang = request.query_params["lang"]
        if not set(request.query_params.getlist("lang")) <= set(LANGS):
            raise InvalidParameterError(
                f"lang: supported languages are {', '.join(LANGS)}", parameter="lang"
            )
    else:
        lang = accept_language(request.headers.get("accept-language", ""))
    request.state.lang = lang
    return lang


async def no_nul_in_query(request: Request) -> None:
    """A NUL in a query parameter is a 400, for every route at once: PostgreSQL
    text cannot hold one, and no parameter needs it."""
    for name, value in request.query_params.multi_items():
        if "\x00" in name or "\x00" in value:
            shown = name.replace("\x00", "\\0")
            raise InvalidParameterError(
                f"{shown}: a query parameter may not contain the NUL character",
                parameter=shown,
            )


def _checker(params: ParamSet) -> Callable[[Request], Coroutine[Any, Any, None]]:
    """The dependency refusing what ``params`` lacks."""

    async def check(request: Request) -> None:
        params.check(request.query_params)

    check.__name__ = f"check_{params.kind}_query"
    return check


async def _map_view(request: Request) -> MapView:
    return parse_map_view(request.query_params)


LangDep = Annotated[str, Depends(get_lang)]
DocumentQuery = Annotated[None, Depends(_checker(DOCUMENT))]
TilesQuery = Annotated[None, Depends(_checker(TILES))]
EditsQuery = Annotated[None, Depends(_checker(EDITS))]
PlanningQuery = Annotated[None, Depends(_checker(PLANNING))]
VersionsQuery = Annotated[None, Depends(_checker(VERSIONS))]
VersionQuery = Annotated[None, Depends(_checker(VERSION))]
DrawnPlanningQuery = Annotated[None, Depends(_checker(DRAWN_PLANNING))]
MapQuery = Annotated[MapView, Depends(_map_view)]


async def _lookup(request: Request) -> ParcelLookup:
    return parse_lookup(request.query_params)


LookupQuery = Annotated[ParcelLookup, Depends(_lookup)]
