"""A parcel's VN-2000 coordinate table, and the drawing of its extract (issue 14,
item 7): one statement each, the documents built by PostgreSQL.

The coordinate table is what land documents print (trích lục, the certificate's
diagram): the parcel's vertices in the province's VN-2000 TM-3 zone, numbered from
1, X the northing and Y the easting in metres to the millimetre, and the length of
each edge (to the next vertex of the same ring) to the centimetre. The zone is the
parcel's ``source_crs`` when that is a TM-3 zone (the grid its survey was made in),
else the deployment's cadastral zone (``Settings.cadastral_srid``).

Each ring is listed once, without its closing point, clockwise (exterior rings;
holes the other way, as PostGIS orients them), from its north-west corner (the vertex
with the greatest northing minus easting), as survey sheets number a parcel. Numbers
are text (``numeric`` rounded by PostgreSQL), so no binary float noise reaches the
document. Edge lengths and the area are on the TM-3 plane, from the coordinates, as
the documents compute them (the legal area is the register's, the geometric area
the spheroid's: both stay in the feature).

Each point also carries its longitude and latitude (9 decimals: the card's map puts
the numbers there), and the document the names of the parcel's ward, old commune and
province.

The extract's drawing (``with_map``) adds the parcel, its neighbours clipped to a
square window around it, and the vertex positions, as ``ST_AsSVG`` path data in that
zone, moved to a local origin (the window's south-west corner): SVG renderers keep
coordinates in single precision, where 1,200,000 m would lose 0.1 m.

The extract also lists the parcel's open and recent dossiers
(:class:`ParcelDossiersStatement`, under the caller's row-level security).
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any, ClassVar, NamedTuple

from gis.layer import VectorLayer
from gis.settings import TM3_ZONE_SRIDS
from gis.sql.compiled import Compiled, sql_identifier
from gis.sql.land_dossiers import PROCEDURES, STATUSES, TODAY

# the TM-3 zones (national and provincial meridians)
TM3_SRIDS: tuple[int, ...] = tuple(sorted(TM3_ZONE_SRIDS))
# the neighbours drawn around a parcel in its extract (a window of about 3 times
# its size holds some 10 to 40 in a city)
MAX_NEIGHBOURS = 300
# the window around the parcel: its larger side, plus this share of it each side,
# and at least this many metres each side
WINDOW_MARGIN = 0.35
WINDOW_MIN_MARGIN_M = 8.0


class CoordinatesRow(NamedTuple):
    """The coordinate document (bytes, passed through); None: no such parcel."""

    doc: bytes


def _parcel(parcels: VectorLayer) -> str:
    table = sql_identifier(parcels.table.name)
    zones = ", ".join(str(int(s)) for s in TM3_SRIDS)
    # the survey's own zone when it is one; a parcel drawn in CRS84 (source_crs
    # 4326) or imported from UTM gets the deployment's zone
    sql = (
        "SELECT p.id, p.geom, p.ward_code, p.survey_ward_code, CASE WHEN "  # noqa: S608
        f"p.source_crs IN ({zones}) THEN p.source_crs ELSE %(default_srid)s::integer "
        f"END AS srid FROM {table} AS p WHERE p.id = %(fid)s::bigint"
    )
    return sql  # a catalogue name and code's integers; the values are parameters


def _map_parts(parcels: VectorLayer) -> tuple[str, str]:
    """The CTEs and the document members of the extract's drawing."""
    table = sql_identifier(parcels.table.name)
    ctes = f""",
win AS (
  SELECT cx - side / 2 AS x0, cy - side / 2 AS y0, side
  FROM (
    SELECT (ST_XMin(g) + ST_XMax(g)) / 2 AS cx, (ST_YMin(g) + ST_YMax(g)) / 2 AS cy,
           GREATEST(ST_XMax(g) - ST_XMin(g), ST_YMax(g) - ST_YMin(g)) AS big
    FROM plane
  ) AS e
  CROSS JOIN LATERAL (
    SELECT big + 2 * GREATEST(big * {WINDOW_MARGIN}, {WINDOW_MIN_MARGIN_M}) AS side
  ) AS s
),
frame AS (
  SELECT w.*, ST_MakeEnvelope(w.x0, w.y0, w.x0 + w.side, w.y0 + w.side, pl.srid) AS box,
         pl.srid, pl.id
  FROM win AS w CROSS JOIN plane AS pl
),
near AS (
  SELECT n.id, n.parcel_no, ST_Transform(n.geom, f.srid) AS g
  FROM frame AS f
  JOIN {table} AS n ON n.geom && ST_Transform(f.box, ST_SRID(n.geom))
  WHERE n.id <> f.id AND (n.valid_to IS NULL OR n.valid_to >= CURRENT_DATE)
  ORDER BY n.id
  LIMIT {MAX_NEIGHBOURS}
),
drawn AS (
  SELECT n.id, n.parcel_no,
         ST_AsSVG(ST_Translate(ST_ClipByBox2D(n.g, f.box), -f.x0, -f.y0), 0, 3) AS svg,
         ST_Translate(ST_PointOnSurface(n.g), -f.x0, -f.y0) AS label
  FROM near AS n CROSS JOIN frame AS f
  WHERE ST_Intersects(n.g, f.box)
)"""  # noqa: S608 - a catalogue name; every value is a parameter
    members = """,
  'map', (SELECT json_build_object(
    'side_m', round(f.side::numeric, 3),
    'parcel', ST_AsSVG(ST_Translate(pl.g, -f.x0, -f.y0), 0, 3),
    'neighbours', COALESCE((
      SELECT json_agg(json_build_object(
        'id', d.id, 'parcel_no', d.parcel_no, 'svg', d.svg,
        'label', CASE WHEN ST_X(d.label) BETWEEN 0 AND f.side
                       AND ST_Y(d.label) BETWEEN 0 AND f.side
                      THEN json_build_array(round(ST_X(d.label)::numeric, 3),
                                            round(-ST_Y(d.label)::numeric, 3)) END)
        ORDER BY d.id)
      FROM drawn AS d WHERE d.svg <> ''), '[]'::json),
    'vertices', (
      SELECT json_agg(json_build_array(v.no, round((v.e - f.x0)::numeric, 3),
                                       round((f.y0 - v.n)::numeric, 3)) ORDER BY v.no)
      FROM numbered AS v))
    FROM frame AS f CROSS JOIN plane AS pl)"""
    return ctes, members


def build_coordinates(
    parcels: VectorLayer, units: VectorLayer, *, with_map: bool
) -> str:
    """The SQL of a parcel's (``%(fid)s``) coordinate document in its TM-3 zone
    (else ``%(default_srid)s``), with the names of its ward, old commune and
    province (from ``units``); no row: no such parcel."""
    if "source_crs" not in parcels.table.c:
        raise ValueError(f"{parcels.id} has no source_crs")
    units_table = sql_identifier(units.table.name)
    map_ctes, map_members = _map_parts(parcels) if with_map else ("", "")
    # ring by ring: ST_DumpPoints numbers the points of each ring from 1 (path
    # {polygon, ring, point}); the last repeats the first
    return f"""WITH parcel AS ({_parcel(parcels)}),
plane AS (
  SELECT id, srid, ST_ForcePolygonCW(ST_Transform(geom, srid)) AS g FROM parcel
),
points AS (
  SELECT d.path[1] AS part, d.path[2] AS ring, d.path[3] AS k,
         ST_X(d.geom) AS e, ST_Y(d.geom) AS n,
         count(*) OVER (PARTITION BY d.path[1], d.path[2]) - 1 AS m
  FROM plane CROSS JOIN LATERAL ST_DumpPoints(plane.g) AS d
),
corner AS (
  SELECT DISTINCT ON (part, ring) part, ring, k AS k0
  FROM points WHERE k <= m ORDER BY part, ring, n - e DESC, k
),
ordered AS (
  SELECT p.part, p.ring, p.e, p.n, mod(p.k - c.k0 + p.m, p.m) AS pos
  FROM points AS p JOIN corner AS c USING (part, ring)
  WHERE p.k <= p.m
),
numbered AS (
  SELECT part, ring, e, n,
         row_number() OVER (ORDER BY part, ring, pos) AS no,
         sqrt(power(COALESCE(lead(e) OVER w, first_value(e) OVER w) - e, 2)
              + power(COALESCE(lead(n) OVER w, first_value(n) OVER w) - n, 2)) AS edge
  FROM ordered
  WINDOW w AS (PARTITION BY part, ring ORDER BY pos)
){map_ctes}
SELECT json_build_object(
  'parcel', pl.id,
  'crs', json_build_object(
    'epsg', pl.srid,
    'name', COALESCE(substring(s.srtext FROM '^PROJCS\\["([^"]+)"'), 'EPSG:' || pl.srid),
    'uri', 'http://www.opengis.net/def/crs/EPSG/0/' || pl.srid),
  'axes', json_build_array('X (northing, m)', 'Y (easting, m)'),
  'points', (SELECT json_agg(json_build_object(
      'no', v.no, 'part', v.part, 'ring', v.ring,
      'x', round(v.n::numeric, 3)::text, 'y', round(v.e::numeric, 3)::text,
      'edge_m', round(v.edge::numeric, 2)::text,
      'lon', round(ST_X(v.wgs84)::numeric, 9), 'lat', round(ST_Y(v.wgs84)::numeric, 9))
      ORDER BY v.no)
    FROM (SELECT numbered.*, ST_Transform(ST_SetSRID(ST_MakePoint(e, n), pl.srid), 4326)
                   AS wgs84 FROM numbered) AS v),
  'place', (SELECT json_build_object(
      'ward_code', pa.ward_code, 'ward_name', w.name,
      'survey_ward_code', pa.survey_ward_code, 'survey_ward_name', o.name,
      'province_code', w.province_code, 'province_name', pr.name)
    FROM parcel AS pa
    LEFT JOIN LATERAL (SELECT u.name, u.province_code FROM {units_table} AS u
                       WHERE u.code = pa.ward_code AND u.level = 'commune'
                       ORDER BY u.valid_to IS NULL DESC, u.valid_from DESC LIMIT 1) AS w
           ON true
    LEFT JOIN LATERAL (SELECT u.name FROM {units_table} AS u
                       WHERE u.code = pa.survey_ward_code AND u.level = 'commune'
                       ORDER BY u.valid_to IS NULL, u.valid_from DESC LIMIT 1) AS o
           ON true
    LEFT JOIN LATERAL (SELECT u.name FROM {units_table} AS u
                       WHERE u.code = w.province_code AND u.level = 'province'
                       ORDER BY u.valid_to IS NULL DESC, u.valid_from DESC LIMIT 1) AS pr
           ON true),
  'perimeter_m', round(ST_Perimeter(pl.g)::numeric, 2)::text,
  'area_plane_m2', round(ST_Area(pl.g)::numeric, 1)::text{map_members}
)::text AS doc
FROM plane AS pl LEFT JOIN spatial_ref_sys AS s ON s.srid = pl.srid"""  # noqa: S608


@dataclass(frozen=True, slots=True)
class CoordinatesStatement:
    """Parcel ``parcel_id``'s coordinate table in its TM-3 zone, else in
    ``default_srid``, and where it is (``units``: the administrative units);
    ``with_map``: and the drawing of its extract. A ``gis.db.statements.Statement``.
    """

    parcels: VectorLayer
    units: VectorLayer
    parcel_id: int
    default_srid: int
    with_map: bool = False
    row: ClassVar[type[CoordinatesRow]] = CoordinatesRow
    text_as_bytes: ClassVar[bool] = True

    def __post_init__(self) -> None:
        if self.default_srid not in TM3_SRIDS:
            raise ValueError(f"EPSG:{self.default_srid} is not a VN-2000 TM-3 zone")

    def shape(self) -> Hashable:
        return (self.parcels.id, self.units.id, self.with_map)

    def params(self) -> dict[str, Any]:
        return {"fid": self.parcel_id, "default_srid": self.default_srid}

    def build(self) -> Compiled:
        sql = build_coordinates(self.parcels, self.units, with_map=self.with_map)
        return Compiled(sql, dict.fromkeys(("fid", "default_srid")))


class WardsRow(NamedTuple):
    """The wards of the look-up form, as a JSON document (bytes)."""

    doc: bytes


def build_wards(units: VectorLayer) -> str:
    """The 2025 wards and the old communes (the units sheets were numbered in),
    each with its code, name and kind, by name: the look-up form's choices."""
    table = sql_identifier(units.table.name)
    return f"""SELECT json_build_object(
  'wards', COALESCE((SELECT json_agg(json_build_object('code', code, 'name', name)
                                     ORDER BY name, code)
                     FROM {table} WHERE level = 'commune' AND valid_to IS NULL), '[]'),
  'communes', COALESCE((SELECT json_agg(json_build_object('code', code, 'name', name)
                                        ORDER BY name, code)
                        FROM {table} WHERE level = 'commune' AND valid_to IS NOT NULL),
                       '[]')
)::text AS doc"""  # noqa: S608 - a catalogue name


@dataclass(frozen=True, slots=True)
class WardsStatement:
    """The look-up form's wards and old communes (``build_wards``)."""

    units: VectorLayer
    row: ClassVar[type[WardsRow]] = WardsRow
    text_as_bytes: ClassVar[bool] = True

    def shape(self) -> Hashable:
        return self.units.id

    def params(self) -> dict[str, Any]:
        return {}

    def build(self) -> Compiled:
        return Compiled(build_wards(self.units), {})


# --- the dossiers of a parcel (the extract) --------------------------------------------

# the extract lists a parcel's open dossiers and those settled in this many days
# before today (a year: what a buyer or a bank asks about a parcel); the card's own
# list, asked by the browser, has them all
RECENT_DOSSIER_DAYS = 365
# at most this many (a parcel has a handful; a cap keeps a page of paper bounded)
MAX_PARCEL_DOSSIERS = 50


class ParcelDossiersRow(NamedTuple):
    """The dossiers document of a parcel (bytes, passed through)."""

    doc: bytes


def build_parcel_dossiers(dossiers: VectorLayer) -> str:
    """The SQL of the dossiers of parcel ``%(fid)s``: open ones, then those settled
    in the last ``%(recent_days)s`` days, newest first, at most ``%(limit)s``, each
    with its procedure and status named in both languages and the calendar days it
    is (or was, when settled) past its due date; ``numberMatched`` counts them all.

    Row-level security decides which dossiers the caller sees (the statement runs
    under the request's claims): a ward's officer only its wards', so another
    ward's parcel has none for it."""
    table = sql_identifier(dossiers.table.name)
    # "today" is the city's, as the dossier reports count it
    return f"""WITH t AS (SELECT {TODAY} AS today),
listed AS (
  SELECT d.id, d.dossier_no, d.procedure, pr.name_vi AS procedure_vi,
         pr.name_en AS procedure_en, d.received_on, d.due_on, d.done_on, d.status,
         s.name_vi AS status_vi, s.name_en AS status_en, s.is_open, d.officer,
         GREATEST(COALESCE(d.done_on, t.today) - d.due_on, 0) AS days_late,
         d.apology_no, d.apology_on
  FROM {table} AS d
  CROSS JOIN t
  JOIN {STATUSES} AS s ON s.code = d.status
  JOIN {PROCEDURES} AS pr ON pr.code = d.procedure
  WHERE d.parcel_id = %(fid)s::bigint
    AND (s.is_open OR d.done_on >= t.today - %(recent_days)s::integer)
)
SELECT json_build_object(
  'today', (SELECT today FROM t),
  'recent_days', %(recent_days)s::integer,
  'numberMatched', (SELECT count(*) FROM listed),
  'dossiers', COALESCE((
    SELECT json_agg(row_to_json(l)) FROM (
      SELECT * FROM listed ORDER BY is_open DESC, received_on DESC, id DESC
      LIMIT %(limit)s::integer
    ) AS l), '[]'::json)
)::text AS doc"""  # noqa: S608 - a catalogue name; every value is a parameter


@dataclass(frozen=True, slots=True)
class ParcelDossiersStatement:
    """The open and recent dossiers of parcel ``parcel_id`` the caller may see
    (``build_parcel_dossiers``): a ``gis.db.statements.Statement``."""

    dossiers: VectorLayer
    parcel_id: int
    recent_days: int = RECENT_DOSSIER_DAYS
    limit: int = MAX_PARCEL_DOSSIERS
    row: ClassVar[type[ParcelDossiersRow]] = ParcelDossiersRow
    text_as_bytes: ClassVar[bool] = True

    def shape(self) -> Hashable:
        return ("parcel_dossiers", self.dossiers.id)

    def params(self) -> dict[str, Any]:
        return {
            "fid": self.parcel_id,
            "recent_days": self.recent_days,
            "limit": self.limit,
        }

    def build(self) -> Compiled:
        return Compiled(
            build_parcel_dossiers(self.dossiers),
            dict.fromkeys(("fid", "recent_days", "limit")),
        )
