"""Split and merge of land parcels, and their lineage (issue 14, item 5).

The operations are PostgreSQL functions (migration 0017: ``parcel_split``,
``parcel_merge``): one statement each, so one transaction, all of it or nothing,
under the request's claims (the write policy of migration 0008 decides whose parcels
may change). Here: the checked requests (``parse_split``, ``parse_merge``: the body's
shape, each child's geometry checked as the writes check one, each property as its
column's type), the statements that call the functions and build the answer as JSON
in PostgreSQL, the lineage statement (ancestors and descendants to any depth, by
recursive CTEs over ``parcel_lineage``), and ``refusal``, which turns the functions'
refusals (SQLSTATE class ``DT``, their numbers as JSON in DETAIL) into the errors
of ``gis.errors`` with dothi's own words.

The builders take the parcels' layer (``layers/`` is not imported here).
"""

from __future__ import annotations

import datetime as dt
import decimal
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any, ClassVar, NamedTuple

import orjson
import psycopg
from psycopg import errors as pg_errors

from gis.edits import check_geometry, check_value
from gis.errors import (
    ConflictError,
    ForbiddenError,
    GisError,
    InvalidParameterError,
    NotFoundError,
)
from gis.layer import VectorLayer
from gis.sql.compiled import Compiled, sql_identifier, sql_name
from gis.sql.features import DEGREE_DIGITS

MAX_CHILDREN = 1_000
MAX_PARENTS = 100
MAX_DECISION_CHARS = 200
# how far the lineage document follows ancestors and descendants: a guard, not a
# limit anyone meets (each generation is one index look-up; 60 generations of
# split-then-merge answer in 7 ms)
MAX_DEPTH = 1_000
# what a child of a split and the parcel of a merge may be given (the rest is the
# parent's, or computed: numbers, area, validity)
CHILD_PROPERTIES = ("land_use", "area_legal_m2")
_POLYGONS = ("Polygon", "MultiPolygon")


@dataclass(frozen=True)
class Decision:
    """The decision that makes a change: its number and date."""

    number: str
    date: dt.date


@dataclass(frozen=True)
class SplitRequest:
    """A checked split: the parent, the children's WKB in ``srid``, their
    optional land uses and legal areas, and the decision."""

    parent: int
    wkbs: tuple[bytes, ...]
    srid: int
    land_uses: tuple[str | None, ...]
    legal_areas: tuple[decimal.Decimal | None, ...]
    decision: Decision


@dataclass(frozen=True)
class MergeRequest:
    """A checked merge: the parents, the decision, optional land use and legal area
    of the merged parcel."""

    parents: tuple[int, ...]
    decision: Decision
    land_use: str | None
    legal_area: decimal.Decimal | None


def _object(doc: Any, where: str) -> dict[str, Any]:
    if not isinstance(doc, dict):
        raise InvalidParameterError(f"{where}: expected a JSON object", parameter=where)
    return doc


def _members(doc: dict[str, Any], allowed: tuple[str, ...], where: str) -> None:
    if unknown := sorted(set(doc) - set(allowed)):
        raise InvalidParameterError(
            f"{where}: unknown members {', '.join(unknown)}; allowed: "
            f"{', '.join(allowed)}",
            parameter=where,
        )


def _load(body: bytes) -> dict[str, Any]:
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise InvalidParameterError("body: not valid JSON", parameter="body") from None
    return _object(doc, "body")


def _parcel_id(value: Any, where: str) -> int:
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 2**63:
        raise InvalidParameterError(
            f"{where}: expected a parcel id (a positive integer)", parameter=where
        )
    return value


def _decision(value: Any) -> Decision:
    doc = _object(value, "decision")
    _members(doc, ("number", "date"), "decision")
    number = doc.get("number")
    if (
        not isinstance(number, str)
        or not 0 < len(number.strip()) <= MAX_DECISION_CHARS
        or "\x00" in number
    ):
        raise InvalidParameterError(
            "decision.number: expected the decision's number, a string of 1 to "
            f"{MAX_DECISION_CHARS} characters",
            parameter="decision.number",
        )
    date = doc.get("date")
    try:
        day = dt.date.fromisoformat(date) if isinstance(date, str) else None
    except ValueError:
        day = None
    if day is None:
        raise InvalidParameterError(
            "decision.date: expected an ISO 8601 date (YYYY-MM-DD)",
            parameter="decision.date",
        )
    return Decision(number.strip(), day)


def _properties(layer: VectorLayer, value: Any, where: str) -> dict[str, Any]:
    """The optional properties of a new parcel, checked as a write checks them."""
    if value is None:
        return {}
    props = _object(value, where)
    _members(props, CHILD_PROPERTIES, where)
    return {
        name: check_value(layer.table.c[name], props.get(name))
        for name in CHILD_PROPERTIES
    }


def parse_split(
    body: bytes, layer: VectorLayer, srid: int, lonlat: bool
) -> SplitRequest:
    """``{"parcel": id, "decision": {"number", "date"}, "children": [...]}``: each
    child a GeoJSON Polygon or MultiPolygon, or a Feature of one with optional
    ``land_use`` and ``area_legal_m2``, in ``srid``. 400 for anything else."""
    doc = _load(body)
    _members(doc, ("parcel", "decision", "children"), "body")
    parent = _parcel_id(doc.get("parcel"), "parcel")
    decision = _decision(doc.get("decision"))
    children = doc.get("children")
    if not isinstance(children, list) or not 2 <= len(children) <= MAX_CHILDREN:
        raise InvalidParameterError(
            f"children: expected 2 to {MAX_CHILDREN} GeoJSON polygons or features",
            parameter="children",
        )
    wkbs, land_uses, legal_areas = [], [], []
    for i, child in enumerate(children):
        props: dict[str, Any] = {}
        geometry = child
        if isinstance(child, dict) and child.get("type") == "Feature":
            try:
                _members(child, ("type", "id", "geometry", "properties", "links"),
                         "feature")  # fmt: skip
                props = _properties(layer, child.get("properties"), "properties")
            except InvalidParameterError as exc:
                raise InvalidParameterError(
                    f"children[{i}]: {exc.detail}", parameter="children"
                ) from None
            geometry = child.get("geometry")
        if not isinstance(geometry, dict) or geometry.get("type") not in _POLYGONS:
            raise InvalidParameterError(
                f"children[{i}]: expected a GeoJSON Polygon or MultiPolygon, or a "
                "Feature of one",
                parameter="children",
            )
        try:
            wkb = check_geometry(layer, geometry, srid, lonlat)
        except InvalidParameterError as exc:
            raise InvalidParameterError(
                f"children[{i}]: {exc.detail}", parameter="children"
            ) from None
        assert wkb is not None  # parcels have a geometry
        wkbs.append(wkb)
        land_uses.append(props.get("land_use"))
        legal_areas.append(props.get("area_legal_m2"))
    return SplitRequest(
        parent, tuple(wkbs), srid, tuple(land_uses), tuple(legal_areas), decision
    )


def parse_merge(body: bytes, layer: VectorLayer) -> MergeRequest:
    """``{"parcels": [ids], "decision": {"number", "date"}, "properties": {...}}``."""
    doc = _load(body)
    _members(doc, ("parcels", "decision", "properties"), "body")
    given = doc.get("parcels")
    if not isinstance(given, list):
        given = []
    parents = tuple(_parcel_id(v, "parcels") for v in given)
    if not 2 <= len(set(parents)) == len(parents) <= MAX_PARENTS:
        raise InvalidParameterError(
            f"parcels: expected 2 to {MAX_PARENTS} distinct parcel ids",
            parameter="parcels",
        )
    decision = _decision(doc.get("decision"))
    props = _properties(layer, doc.get("properties"), "properties")
    return MergeRequest(
        parents, decision, props.get("land_use"), props.get("area_legal_m2")
    )


# --- statements ------------------------------------------------------------------------


class ChangeRow(NamedTuple):
    """The row of a split or merge: the answer (a FeatureCollection of the children,
    or the merged Feature) and the id of the first new parcel."""

    doc: bytes
    first_id: int


class LineageRow(NamedTuple):
    """The row of the lineage statement: the document, and what its entity tag is
    made of (lineage changes only with the parcels: the same transaction)."""

    doc: bytes
    parcels_version: int | None
    changed_at: dt.datetime | None


def _feature(layer: VectorLayer, alias: str) -> str:
    """SQL: a new parcel ``alias`` as a GeoJSON Feature (its stored fields; the
    personal ones are derived and a new parcel has none), linked to itself."""
    members = ", ".join(
        f"{sql_name(f.name)}, {alias}.{sql_identifier(f.name)}"
        for f in layer.fields
        if not f.derived
    )
    return (
        f"json_build_object('type', 'Feature', 'id', {alias}.id, 'geometry', "
        f"ST_AsGeoJSON({alias}.geom, {DEGREE_DIGITS}, 0)::json, "
        f"'properties', json_build_object({members}), "
        "'links', json_build_array(json_build_object('href', "
        f"%(items)s::text || '/' || {alias}.id, 'rel', 'self', "
        "'type', 'application/geo+json')))"
    )


def _check_layer(layer: VectorLayer) -> None:
    if layer.table.name != "land_parcel" or layer.storage_srid != 4326:
        raise ValueError("split and merge are operations of land_parcel (in 4326)")


def build_split(layer: VectorLayer) -> str:
    """The SQL of a split: ``parcel_split`` and the FeatureCollection of the
    children, by parcel number."""
    _check_layer(layer)
    # catalogue names only; every value is a parameter
    return (
        "SELECT json_build_object('type', 'FeatureCollection', 'features', "  # noqa: S608
        f"json_agg({_feature(layer, 'c')} ORDER BY c.parcel_no))::text AS doc, "
        "min(c.id) AS first_id FROM parcel_split(%(parent)s::bigint, "
        "%(geoms)s::bytea[], %(srid)s::integer, %(land_uses)s::text[], "
        "%(legal_areas)s::numeric[], %(decision_no)s::text, "
        "%(decision_date)s::date) AS c"
    )


def build_merge(layer: VectorLayer) -> str:
    """The SQL of a merge: ``parcel_merge`` and the merged parcel's Feature."""
    _check_layer(layer)
    # catalogue names only; every value is a parameter
    return (
        f"SELECT {_feature(layer, 'c')}::text AS doc, c.id AS first_id "  # noqa: S608
        "FROM parcel_merge(%(parents)s::bigint[], %(decision_no)s::text, "
        "%(decision_date)s::date, %(land_use)s::text, %(legal_area)s::numeric) AS c"
    )


def _related(direction: str) -> str:
    """SQL: the ``parents`` (``up``) or ``children`` (``down``) entries: each
    parcel once per change that links it, at its nearest depth."""
    return f"""coalesce((
    SELECT json_agg(json_build_object(
        'id', p.id, 'depth', e.depth, 'ward_code', p.ward_code,
        'survey_ward_code', p.survey_ward_code, 'sheet_no', p.sheet_no,
        'parcel_no', p.parcel_no, 'valid_from', p.valid_from, 'valid_to', p.valid_to,
        'change', json_build_object('id', ch.id, 'kind', ch.kind,
            'decision_no', ch.decision_no, 'decision_date', ch.decision_date,
            'made_at', ch.made_at),
        'href', %(items)s::text || '/' || p.id
    ) ORDER BY e.depth, p.sheet_no, p.parcel_no, p.id, ch.id)
    FROM (SELECT DISTINCT ON (r.id, r.change_id) r.id, r.change_id, r.depth
          FROM {direction} AS r ORDER BY r.id, r.change_id, r.depth) AS e
    JOIN land_parcel AS p ON p.id = e.id
    JOIN parcel_change AS ch ON ch.id = e.change_id
), '[]'::json)"""  # noqa: S608 - no value in it: every value is a parameter


def build_lineage(layer: VectorLayer) -> str:
    """The SQL of a parcel's lineage (``%(fid)s``): its ancestors (``parents``,
    depth 1 the parcels it was made from) and descendants (``children``), each with
    the change that links it. No row: no such parcel."""
    _check_layer(layer)
    # UNION (not ALL): a parcel reached twice at one depth through one change (a
    # split whose pieces are merged again) is followed once
    return f"""WITH RECURSIVE up(id, change_id, depth) AS (
    SELECT l.parent_id, l.change_id, 1 FROM parcel_lineage AS l
    WHERE l.child_id = %(fid)s::bigint
    UNION
    SELECT l.parent_id, l.change_id, up.depth + 1
    FROM up JOIN parcel_lineage AS l ON l.child_id = up.id
    WHERE up.depth < {MAX_DEPTH}
), down(id, change_id, depth) AS (
    SELECT l.child_id, l.change_id, 1 FROM parcel_lineage AS l
    WHERE l.parent_id = %(fid)s::bigint
    UNION
    SELECT l.child_id, l.change_id, down.depth + 1
    FROM down JOIN parcel_lineage AS l ON l.parent_id = down.id
    WHERE down.depth < {MAX_DEPTH}
)
SELECT json_build_object(
    'parcel', json_build_object('id', s.id, 'ward_code', s.ward_code,
        'survey_ward_code', s.survey_ward_code, 'sheet_no', s.sheet_no,
        'parcel_no', s.parcel_no, 'valid_from', s.valid_from, 'valid_to', s.valid_to),
    'parents', {_related("up")},
    'children', {_related("down")}
)::text AS doc,
(SELECT version FROM layer_version WHERE table_name = 'land_parcel')
    AS parcels_version,
(SELECT changed_at FROM layer_version WHERE table_name = 'land_parcel') AS changed_at
FROM land_parcel AS s WHERE s.id = %(fid)s::bigint"""  # noqa: S608 - see _related


@dataclass(frozen=True, slots=True)
class SplitStatement:
    """``parcel_split`` of a checked request: a ``gis.db.statements.Statement``."""

    layer: VectorLayer
    split: SplitRequest
    items_url: str
    row: ClassVar[type[ChangeRow]] = ChangeRow
    text_as_bytes: ClassVar[bool] = True

    def shape(self) -> Hashable:
        return self.layer.id

    def params(self) -> dict[str, Any]:
        s = self.split
        return {
            "parent": s.parent,
            "geoms": list(s.wkbs),
            "srid": s.srid,
            "land_uses": list(s.land_uses),
            "legal_areas": list(s.legal_areas),
            "decision_no": s.decision.number,
            "decision_date": s.decision.date,
            "items": self.items_url,
        }

    def build(self) -> Compiled:
        return Compiled(build_split(self.layer), dict.fromkeys(self.params()))


@dataclass(frozen=True, slots=True)
class MergeStatement:
    """``parcel_merge`` of a checked request: a ``gis.db.statements.Statement``."""

    layer: VectorLayer
    merge: MergeRequest
    items_url: str
    row: ClassVar[type[ChangeRow]] = ChangeRow
    text_as_bytes: ClassVar[bool] = True

    def shape(self) -> Hashable:
        return self.layer.id

    def params(self) -> dict[str, Any]:
        m = self.merge
        return {
            "parents": list(m.parents),
            "decision_no": m.decision.number,
            "decision_date": m.decision.date,
            "land_use": m.land_use,
            "legal_area": m.legal_area,
            "items": self.items_url,
        }

    def build(self) -> Compiled:
        return Compiled(build_merge(self.layer), dict.fromkeys(self.params()))


@dataclass(frozen=True, slots=True)
class LineageStatement:
    """A parcel's lineage: a ``gis.db.statements.Statement``."""

    layer: VectorLayer
    parcel_id: int
    items_url: str
    row: ClassVar[type[LineageRow]] = LineageRow
    text_as_bytes: ClassVar[bool] = True

    def shape(self) -> Hashable:
        return self.layer.id

    def params(self) -> dict[str, Any]:
        return {"fid": self.parcel_id, "items": self.items_url}

    def build(self) -> Compiled:
        return Compiled(build_lineage(self.layer), dict.fromkeys(self.params()))


# --- refusals --------------------------------------------------------------------------


def _numbers(exc: psycopg.Error) -> dict[str, Any]:
    try:
        found = orjson.loads(exc.diag.message_detail or "{}")
    except orjson.JSONDecodeError:
        return {}
    return found if isinstance(found, dict) else {}


def refusal(exc: psycopg.Error, layer: VectorLayer) -> GisError | None:
    """The error a refused split or merge answers (never the database's text);
    None when ``exc`` is no refusal (a timeout, a lost connection: the app's own
    handlers answer those)."""
    state = exc.diag.sqlstate
    n = _numbers(exc)
    lid = layer.id
    if state == "DTN01":
        return NotFoundError(f"no feature {n.get('parcel')} in {lid}")
    if state == "DTF01":
        return ForbiddenError(
            f"feature {n.get('parcel')} of {lid} is outside what you may edit"
        )
    if state == "DTC01":
        return ConflictError(
            f"parcel {n.get('parcel')} was retired on {n.get('valid_to')}: only "
            "current parcels are split or merged (see its lineage)"
        )
    if state == "DTD01":
        return InvalidParameterError(
            f"decision.date: {n.get('date')} is in the future",
            parameter="decision.date",
        )
    if state == "DTD02":
        return InvalidParameterError(
            f"decision.date: before parcel {n.get('parcel')} came into force "
            f"({n.get('valid_from')})",
            parameter="decision.date",
        )
    if state == "DTV01":
        return InvalidParameterError(
            f"children: they leave {n.get('uncovered_m2')} m² of the parcel "
            f"uncovered, overlap each other by {n.get('overlap_m2')} m² and lie "
            f"outside it by {n.get('outside_m2')} m² (tolerance "
            f"{n.get('tolerance_m2')} m²)",
            parameter="children",
        )
    if state == "DTV02":
        return InvalidParameterError(
            f"children[{n.get('child')}]: an area of {n.get('area_m2')} m² (a parcel "
            "has at least 1 m²)",
            parameter="children",
        )
    if state == "DTV03":
        return InvalidParameterError(
            f"parcels: in several wards ({', '.join(n.get('wards') or [])}); a merge "
            "stays in one ward",
            parameter="parcels",
        )
    if state == "DTV04":
        return InvalidParameterError(
            f"parcels: they overlap by {n.get('overlap_m2')} m² (tolerance "
            f"{n.get('tolerance_m2')} m²)",
            parameter="parcels",
        )
    if state == "DTV05":
        return InvalidParameterError(
            f"parcels: they are not one piece of land ({n.get('parts')} parts); "
            "merge parcels that share a boundary",
            parameter="parcels",
        )
    if state == "DTA01":
        return InvalidParameterError(
            f"{n.get('argument')}: not a split or merge this server makes",
            parameter="body",
        )
    if isinstance(exc, pg_errors.ForeignKeyViolation):  # a land use not in its list
        return InvalidParameterError(
            "land_use: not a value of its code list", parameter="land_use"
        )
    if isinstance(exc, pg_errors.UniqueViolation):  # a number taken by a plain POST
        return ConflictError("parcel_no: another feature already has this value")
    if isinstance(exc, pg_errors.InsufficientPrivilege):
        return ForbiddenError(f"the change is outside what you may edit in {lid}")
    if isinstance(exc, pg_errors.InternalError_):  # GEOS refusing an overlay
        return InvalidParameterError(
            "children: PostGIS could not overlay them on the parcel",
            parameter="children",
        )
    return None
