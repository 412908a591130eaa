"""The planning of a parcel, or of a polygon a user draws: which planning zones lie
over it, how much of it each covers and what each allows (issue 14, item 2).

One statement, built as JSON by PostgreSQL: the zones in force today that overlap the
subject with a positive area, each with the area of its overlap in m², its share of
the subject (0..1) and its indicators; the subject's area, and the part of it that
some zone covers (the union of the overlaps, so two zones over the same ground count
it once: the shares then add up to more than the covered fraction).

Areas are ``ST_Area`` of ``geography``: on the WGS 84 spheroid, which is also
VN-2000's ellipsoid. That is how the parcels' ``area_geom_m2`` is computed (the demo
city, the imports), so a parcel's area here is its geometric area there; it needs no
choice of a province's TM-3 zone for a polygon drawn anywhere in Vietnam, and it has
no projection scale error (a TM-3 plane with k = 0.9999 shrinks areas by 0.02 % on
its central meridian and grows them away from it).

The builders take the layers (``layers/``: this package does not import them) and
read their tables' names and the zones' columns from them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any, ClassVar, NamedTuple

from gis.layer import VectorLayer
from gis.sql.compiled import Compiled, sql_identifier, sql_name

# what is said of each zone, in this order, beside its id, area and share
ZONE_PROPERTIES = (
    "zone_code", "zone_function", "land_use", "max_height_m", "max_floors",
    "building_density_pct", "land_use_coefficient", "plan_name",
    "approval_decision", "approved_on", "valid_from", "valid_to",
)  # fmt: skip


class PlanningRow(NamedTuple):
    """The row of a planning statement: the document (bytes, passed through), and
    what its entity tag is made of: both tables' data versions and the day (zones
    come into and out of force with it)."""

    doc: bytes
    parcels_version: int | None
    zones_version: int | None
    changed_at: dt.datetime | None
    today: dt.date


def _subject_of_parcel(parcels: VectorLayer) -> str:
    table = sql_identifier(parcels.table.name)
    return f"SELECT p.id, p.geom FROM {table} AS p WHERE p.id = %(fid)s::bigint"  # noqa: S608 - a catalogue name


def _subject_drawn() -> str:
    # checked valid by gis.edits in its own CRS; a transformed ring may still cross
    # itself by a nanometre, which ST_Intersection would refuse
    return (
        "SELECT NULL::bigint AS id, CASE WHEN ST_IsValid(g) THEN g ELSE "
        "ST_CollectionExtract(ST_MakeValid(g), 3) END AS geom FROM (SELECT "
        "ST_Transform(ST_SetSRID(ST_GeomFromWKB(%(wkb)s::bytea), %(srid)s::integer), "
        "4326) AS g) AS given"
    )


def _version(column: str, names: str) -> str:
    """A scalar subquery of ``layer_version`` (the data versions a trigger keeps)
    over the tables named by ``names`` (SQL literals of catalogue names)."""
    return f"(SELECT {column} FROM layer_version WHERE table_name IN ({names}))"  # noqa: S608


def build_planning(parcels: VectorLayer, zones: VectorLayer, *, drawn: bool) -> str:
    """The SQL of the planning document of a parcel (``%(fid)s``) or, ``drawn``, of
    a polygon (``%(wkb)s`` in ``%(srid)s``). No row: no such parcel."""
    if parcels.storage_srid != 4326 or zones.storage_srid != 4326:
        raise ValueError("areas are measured as geography: layers stored in 4326")
    columns = [sql_identifier(name) for name in ZONE_PROPERTIES]
    if missing := [n for n in ZONE_PROPERTIES if n not in zones.table.c]:
        raise ValueError(f"{zones.id} lacks {', '.join(missing)}")
    subject = _subject_drawn() if drawn else _subject_of_parcel(parcels)
    zone_table = sql_identifier(zones.table.name)
    picked = ", ".join(f"z.{c}" for c in columns)
    described = ", ".join(
        f"{sql_name(n)}, o.{c}" for n, c in zip(ZONE_PROPERTIES, columns, strict=True)
    )
    parcels_name = sql_name(parcels.table.name)
    zones_name = sql_name(zones.table.name)
    versions = (
        f"{_version('version', parcels_name)} AS parcels_version, "
        f"{_version('version', zones_name)} AS zones_version, "
        f"{_version('max(changed_at)', f'{parcels_name}, {zones_name}')} AS changed_at"
    )
    # the subject is one row (materialised: read twice); the zones come from the
    # GiST index of their geometry; an overlap that is only a shared edge or corner
    # has no area and is not a zone "over" the subject
    return f"""WITH subject AS ({subject}),
pieces AS (
  SELECT z.id, {picked},
         ST_CollectionExtract(ST_Intersection(z.geom, s.geom), 3) AS piece
  FROM subject AS s JOIN {zone_table} AS z ON ST_Intersects(z.geom, s.geom)
  WHERE (z.valid_from IS NULL OR z.valid_from <= CURRENT_DATE)
    AND (z.valid_to IS NULL OR z.valid_to >= CURRENT_DATE)
),
covering AS (
  SELECT * FROM (SELECT pieces.*, ST_Area(piece::geography) AS area_m2
                 FROM pieces WHERE NOT ST_IsEmpty(piece)) AS measured
  WHERE area_m2 > 0
)
SELECT json_build_object(
  'parcel', s.id,
  'area_m2', a.area_m2,
  'covered_area_m2', c.area_m2,
  'covered_fraction', LEAST(c.area_m2 / NULLIF(a.area_m2, 0), 1),
  'zones', COALESCE(z.zones, '[]'::json)
)::text AS doc, {versions}, CURRENT_DATE AS today
FROM subject AS s
CROSS JOIN LATERAL (SELECT ST_Area(s.geom::geography) AS area_m2) AS a
CROSS JOIN LATERAL (
  SELECT COALESCE(ST_Area(ST_Union(o.piece)::geography), 0) AS area_m2 FROM covering AS o
) AS c
CROSS JOIN LATERAL (
  SELECT json_agg(json_build_object('id', o.id, {described},
                                    'area_m2', o.area_m2,
                                    'share', LEAST(o.area_m2 / NULLIF(a.area_m2, 0), 1))
                  ORDER BY o.area_m2 DESC, o.id) AS zones
  FROM covering AS o
) AS z"""  # noqa: S608 - catalogue names only; every value is a parameter


@dataclass(frozen=True, slots=True)
class PlanningStatement:
    """The planning of parcel ``parcel_id``, or of the polygon ``wkb`` in ``srid``
    (exactly one of them): a ``gis.db.statements.Statement``."""

    parcels: VectorLayer
    zones: VectorLayer
    parcel_id: int | None = None
    wkb: bytes | None = None
    srid: int = 4326
    row: ClassVar[type[PlanningRow]] = PlanningRow
    text_as_bytes: ClassVar[bool] = True

    def __post_init__(self) -> None:
        if (self.parcel_id is None) == (self.wkb is None):
            raise ValueError("a parcel id or a polygon, not both")

    def shape(self) -> Hashable:
        return (self.parcels.id, self.zones.id, self.wkb is not None)

    def params(self) -> dict[str, Any]:
        if self.wkb is not None:
            return {"wkb": self.wkb, "srid": self.srid}
        return {"fid": self.parcel_id}

    def build(self) -> Compiled:
        drawn = self.wkb is not None
        sql = build_planning(self.parcels, self.zones, drawn=drawn)
        names = ("wkb", "srid") if drawn else ("fid",)
        return Compiled(sql, dict.fromkeys(names))
