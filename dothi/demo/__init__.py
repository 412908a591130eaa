"""The deterministic demo city of Phan Thiết (Lâm Đồng, 2025 wards).

``build_demo`` fills an empty, migrated database with a synthetic but plausible city:
the province and the six 2025 wards of Phan Thiết with the seventeen old units they
merged and their lineage, about 20,000 land parcels with their land users and
certificates, planning zones, roads, street lights and their cabinets, trees, six air
stations with a year of hourly observations, cameras, citizens' field reports and points
of interest. All of it is generated in SQL (``dothi/demo/demo_city.sql``), so the same
seed always gives the same city, ids and geometry included.

With ``open_data`` (a folder laid out like ``shared/data``), the real 2009 boundaries of
the old units, the OpenStreetMap points of interest and the OSM power lines of the area
are loaded too, in the same transaction.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import psycopg
from psycopg import sql

from gis.db.urls import libpq_url

if TYPE_CHECKING:
    import pandas as pd

SQL_FILE = "demo_city.sql"
# every table the demo writes; the demo loads only when all of them are empty
CITY_TABLES: tuple[str, ...] = (
    "admin_unit",
    "admin_unit_lineage",
    "land_parcel",
    "land_user",
    "land_certificate",
    "planning_zone",
    "road",
    "lighting_cabinet",
    "street_light",
    "tree",
    "env_station",
    "env_observation",
    "camera",
    "field_report",
    "field_report_contact",
    "poi",
    "power_line",
)
# transaction-level advisory lock: two concurrent builds cannot both find the database
# empty ("dothi" in ASCII)
_LOCK_KEY = 0x646F746869

COMMUNES_FILE = "vn-admin-boundaries-2009/south_central_communes_2009_with_codes.gpkg"
POI_DIR = "osm-hot-poi-south-central-vn"
POWER_DIR = "osm-power-infrastructure-south-central-vn"


@dataclass(frozen=True)
class DemoReport:
    """What ``build_demo`` did.

    Attributes
    ----------
    loaded
        True when the demo was written; False when the database already held city
        data (nothing was changed).
    counts
        Rows per city table after the call (read-only mapping).
    seconds
        Wall-clock time of the call.
    seed, scale
        The parameters used.
    open_data
        True when the open-data files were loaded as well.
    skipped_reason
        Why nothing was written, when ``loaded`` is False.
    steps
        Seconds per build step (SQL steps, then ``open_data``).
    """

    loaded: bool
    counts: Mapping[str, int]
    seconds: float
    seed: float
    scale: float
    open_data: bool = False
    skipped_reason: str | None = None
    steps: Mapping[str, float] = field(default_factory=lambda: MappingProxyType({}))

    def __str__(self) -> str:
        """One line for logs: what was loaded (or why not), and how long it took."""
        if not self.loaded:
            return f"demo city not loaded: {self.skipped_reason}"
        c = self.counts
        extra = ", with open data" if self.open_data else ""
        return (
            f"demo city of Phan Thiết loaded in {self.seconds:.1f} s (seed {self.seed},"
            f" scale {self.scale}{extra}): {c['land_parcel']} parcels,"
            f" {c['planning_zone']} planning zones, {c['street_light']} street lights,"
            f" {c['tree']} trees, {c['env_observation']} observations,"
            f" {c['field_report']} field reports, {c['poi']} points of interest"
        )


def sql_steps() -> list[tuple[str, str]]:
    """The build script split into its named steps.

    Returns
    -------
    list of (str, str)
        ``(name, sql)`` in order; each ``sql`` is one or more statements without
        client-side parameters.

    Examples
    --------
    >>> [name for name, _ in sql_steps()][:3]
    ['params', 'geography', 'admin_units']
    """
    text = (resources.files("dothi.demo") / SQL_FILE).read_text(encoding="utf-8")
    steps = []
    for chunk in text.split("-- @step ")[1:]:
        name, _, body = chunk.partition("\n")
        steps.append((name.strip(), body))
    return steps


def is_empty(url: str) -> bool:
    """Whether every city table of the database at ``url`` is empty.

    Parameters
    ----------
    url
        SQLAlchemy or libpq URL of a migrated dothi database.

    Returns
    -------
    bool
        False as soon as one city table holds a row.
    """
    with psycopg.connect(libpq_url(url)) as conn:
        return _first_filled(conn) is None


def build_demo(
    url: str,
    *,
    seed: float = 0.42,
    scale: float = 1.0,
    open_data: Path | None = None,
) -> DemoReport:
    """Build the demo city of Phan Thiết into an empty, migrated database.

    Parameters
    ----------
    url
        SQLAlchemy or libpq URL of a database migrated to head.
    seed
        Seed in [-1, 1] (PostgreSQL ``setseed``); the same seed gives the same city.
    scale
        Multiplies the row counts (1.0: about 20,000 parcels, 2,000 planning zones,
        4,000 street lights, 80 cabinets, 8,000 trees, 150 cameras, 3,000 field
        reports, 400 points of interest, a year of hourly observations); between
        0.01 and 5. The six stations and the admin units do not scale.
    open_data
        A folder laid out like ``shared/data``; when it exists, the real 2009
        boundaries of the old units, the OSM points of interest and the OSM power
        lines of the city area are loaded too. None, or a missing folder: synthetic
        data only.

    Returns
    -------
    DemoReport
        Row counts, timing; ``loaded=False`` when the database already held city
        data, in which case nothing was changed.

    Raises
    ------
    ValueError
        On a seed or scale out of range.
    psycopg.Error
        When the database is unreachable or not migrated; nothing is written.

    Notes
    -----
    Everything happens in one transaction: either the whole city is there or
    nothing is. At scale 1.0 the build takes about 35 s on two cores (2026-12-07),
    most of it the 370,000 observations and the 20,000 parcels with their triggers.
    """
    if not -1.0 <= seed <= 1.0:
        raise ValueError(f"seed must be in [-1, 1], got {seed}")
    if not 0.01 <= scale <= 5.0:
        raise ValueError(f"scale must be in [0.01, 5], got {scale}")
    started = time.perf_counter()
    timings: dict[str, float] = {}
    use_open = open_data is not None and Path(open_data).is_dir()
    with psycopg.connect(libpq_url(url)) as conn:
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_KEY,))
        filled = _first_filled(conn)
        if filled is not None:
            counts = _counts(conn)
            conn.rollback()
            return DemoReport(
                loaded=False,
                counts=MappingProxyType(counts),
                seconds=time.perf_counter() - started,
                seed=seed,
                scale=scale,
                skipped_reason=f"table {filled} already has rows: the demo loads "
                "only into an empty database",
            )
        # generated data must not depend on parallel plans (it does not: values are
        # hashed per row), but keep the build predictable on small boxes
        conn.execute("SET LOCAL max_parallel_workers_per_gather = 0")
        conn.execute(
            "CREATE TEMP TABLE _d_param ON COMMIT DROP AS "
            "SELECT %s::float8 AS seed, %s::float8 AS scale",
            (seed, scale),
        )
        for name, body in sql_steps():
            t = time.perf_counter()
            conn.execute(body)  # static SQL from the package, no parameters
            timings[name] = time.perf_counter() - t
        if use_open:
            t = time.perf_counter()
            assert open_data is not None
            load_open_data(conn, Path(open_data))
            timings["open_data"] = time.perf_counter() - t
        for table in CITY_TABLES:
            conn.execute(sql.SQL("ANALYZE {}").format(sql.Identifier(table)))
        counts = _counts(conn)
        conn.commit()
    return DemoReport(
        loaded=True,
        counts=MappingProxyType(counts),
        seconds=time.perf_counter() - started,
        seed=seed,
        scale=scale,
        open_data=use_open,
        steps=MappingProxyType(timings),
    )


def load_open_data(conn: psycopg.Connection[Any], folder: Path) -> dict[str, int]:
    """Load the real open data of the Phan Thiết area, in ``conn``'s transaction.

    Needs the demo's 2025 wards (they define the area). Loads: the 2009 boundaries
    of the old communes of Phan Thiết and of the units merged into its 2025 wards, as
    legacy admin units (``124/2004/QĐ-TTg``, valid to 2025-06-30; an existing unit
    keeps its row and takes the real geometry) with their 2025 lineage; the
    OpenStreetMap points of interest inside the wards; the OSM power lines crossing
    them (EPSG:32648, transformed to 4326, whole lines).

    Parameters
    ----------
    conn
        An open connection inside the build transaction.
    folder
        A folder laid out like ``shared/data``. Missing files are skipped.

    Returns
    -------
    dict of str to int
        Rows written per kind (``admin_units``, ``lineage``, ``pois``,
        ``power_lines``).
    """
    written: dict[str, int] = {}
    communes = folder / COMMUNES_FILE
    if communes.exists():
        written.update(_load_communes(conn, communes))
    for path in sorted((folder / POI_DIR).glob("*.gpkg")):
        written["pois"] = written.get("pois", 0) + _load_pois(conn, path)
    for path in sorted((folder / POWER_DIR).glob("*.gpkg")):
        written["power_lines"] = written.get("power_lines", 0) + _load_power(conn, path)
    return written


def _first_filled(conn: psycopg.Connection[Any]) -> str | None:
    for table in CITY_TABLES:
        row = conn.execute(
            sql.SQL("SELECT EXISTS (SELECT 1 FROM {})").format(sql.Identifier(table))
        ).fetchone()
        if row and row[0]:
            return table
    return None


def _counts(conn: psycopg.Connection[Any]) -> dict[str, int]:
    counts = {}
    for table in CITY_TABLES:
        row = conn.execute(
            sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table))
        ).fetchone()
        counts[table] = int(row[0]) if row else 0
    return counts


def _read(path: Path, layer: str) -> tuple[pd.DataFrame, int]:
    """A file's layer as a DataFrame with WKB geometry (``wkb``), and its EPSG code."""
    import pyogrio
    import shapely

    frame = pyogrio.read_dataframe(path, layer=layer)
    srid = frame.crs.to_epsg() if frame.crs is not None else None
    if srid is None:
        raise ValueError(f"{path.name}:{layer} has no EPSG-coded CRS")
    frame["wkb"] = shapely.to_wkb(frame.geometry.values, hex=False)
    return frame, int(srid)


def _text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, float) and value != value:  # NaN
        return None
    text = str(value).strip()
    return text or None


def _copy(
    conn: psycopg.Connection[Any],
    table: str,
    columns: tuple[str, ...],
    rows: Iterator[tuple[object, ...]],
) -> None:
    """COPY rows into a temp table created with text columns and a bytea ``wkb``."""
    defs = sql.SQL(", ").join(
        sql.SQL("{} {}").format(
            sql.Identifier(c), sql.SQL("bytea" if c == "wkb" else "text")
        )
        for c in columns
    )
    conn.execute(
        sql.SQL("CREATE TEMP TABLE {} ({}) ON COMMIT DROP").format(
            sql.Identifier(table), defs
        )
    )
    names = sql.SQL(", ").join(sql.Identifier(c) for c in columns)
    with conn.cursor().copy(
        sql.SQL("COPY {} ({}) FROM STDIN").format(sql.Identifier(table), names)
    ) as copy:
        for row in rows:
            copy.write_row(row)


_COMMUNES_SQL = """
WITH src AS (
    SELECT code, max(name) AS name, max(district) AS district,
           max(new_code) AS new_code, max(new_name) AS new_name,
           max(area_ha)::numeric AS area_ha, max(pop)::numeric AS pop,
           ST_Multi(ST_Union(ST_Transform(ST_GeomFromWKB(wkb, %(srid)s), 4326))) AS geom
    FROM _od_commune GROUP BY code
), up AS (
    INSERT INTO admin_unit AS a (code, level, unit_type, name, parent_code,
                                 province_code, code_system, area_km2, population,
                                 valid_from, valid_to, legal_basis, source_crs, geom)
    SELECT code, 'commune', split_part(name, ' ', 1)
               || CASE WHEN name LIKE 'Thị trấn %%' THEN ' trấn' ELSE '' END,
           name, district, '60', '124/2004/QĐ-TTg', round(area_ha / 100, 2),
           round(pop), date '2004-07-08', date '2025-06-30', 'QĐ 124/2004/QĐ-TTg',
           4326, geom
    FROM src ORDER BY code
    ON CONFLICT (code, code_system) DO UPDATE
        SET geom = excluded.geom, source_crs = 4326, area_km2 = excluded.area_km2,
            population = excluded.population
    RETURNING a.code
), lin AS (
    INSERT INTO admin_unit_lineage (old_code, old_name, new_code, new_name, merge_type,
                                    effective_date, legal_basis)
    SELECT s.code, s.name, trim(n.code), trim(n.name),
           CASE WHEN cardinality(a.codes) > 1 THEN 'partial' ELSE 'full' END,
           date '2025-07-01', 'Sắp xếp ĐVHC cấp xã năm 2025; mã theo QĐ 19/2025/QĐ-TTg'
    FROM src s
    CROSS JOIN LATERAL (
        SELECT string_to_array(s.new_code, ';') AS codes,
               string_to_array(s.new_name, ';') AS names
    ) a
    CROSS JOIN LATERAL unnest(a.codes, a.names) AS n(code, name)
    WHERE n.code IS NOT NULL
      AND NOT EXISTS (SELECT 1 FROM admin_unit_lineage l
                      WHERE l.old_code = s.code AND l.new_code = trim(n.code))
    ORDER BY s.code, n.code
    RETURNING 1
)
SELECT (SELECT count(*) FROM up), (SELECT count(*) FROM lin)
"""


def _load_communes(conn: psycopg.Connection[Any], path: Path) -> dict[str, int]:
    frame, srid = _read(path, "communes")
    wards = {
        r[0]
        for r in conn.execute(
            "SELECT code FROM admin_unit WHERE code_system = '19/2025/QĐ-TTg'"
            " AND level = 'commune'"
        )
    }
    # the old units of the city, and every unit merged into one of the demo's wards
    old_city = frame["district_vn"].eq("Thành phố Phan Thiết") & frame["is_target_city"]
    merged = (
        frame["new_ward_code_2025"]
        .fillna("")
        .map(lambda v: any(c.strip() in wards for c in str(v).split(";")))
    )
    frame = frame[(old_city | merged) & frame["gso_ward_code_2024"].notna()]
    rows = (
        (
            _text(r.gso_ward_code_2024),
            _text(r.commune_vn),
            _text(r.gso_district_code_2024),
            _text(r.new_ward_code_2025),
            _text(r.new_ward_name_2025),
            _text(r.area),
            _text(r.population),
            r.wkb,
        )
        for r in frame.itertuples()
    )
    _copy(
        conn,
        "_od_commune",
        ("code", "name", "district", "new_code", "new_name", "area_ha", "pop", "wkb"),
        rows,
    )
    row = conn.execute(_COMMUNES_SQL, {"srid": srid}).fetchone()
    return {"admin_units": int(row[0]), "lineage": int(row[1])} if row else {}


_POIS_SQL = """
INSERT INTO poi (name, name_en, category, subcategory, address, opening_hours, osm_id,
                 source, ward_code, source_crs, updated_at, geom)
SELECT coalesce(p.name, p.name_vi), p.name_en,
       CASE
           WHEN p.amenity IN ('school','kindergarten','college','university','library',
                              'language_school','driving_school') THEN 'education'
           WHEN p.amenity IN ('hospital','clinic','doctors','dentist','pharmacy',
                              'health_post') THEN 'health'
           WHEN p.tourism IS NOT NULL THEN 'tourism'
           WHEN p.amenity IN ('townhall','police','post_office','fire_station',
                              'courthouse','community_centre','public_building',
                              'bus_station','social_facility') THEN 'public_service'
           WHEN p.amenity = 'place_of_worship' THEN 'worship'
           WHEN p.shop IS NOT NULL
                OR p.amenity IN ('restaurant','cafe','fast_food','bank','atm','fuel',
                                 'marketplace','bar','pub','food_court','ice_cream')
               THEN 'commerce'
           ELSE 'other'
       END,
       coalesce(p.amenity, p.tourism, p.shop, p.man_made),
       coalesce(p.addr_full, nullif(concat_ws(' ', p.addr_housenumber, p.addr_street), '')),
              -- HOT exports say "nodes"; OSM's own form is node/123
       p.opening_hours,
       regexp_replace(coalesce(p.osm_type, 'node'), 's$', '') || '/' || p.osm_id,
       'OpenStreetMap', w.code, %(srid)s, timestamptz '2026-11-23 06:00+07', p.g
FROM (SELECT _od_poi.*, ST_Transform(ST_GeomFromWKB(wkb, %(srid)s), 4326) AS g
      FROM _od_poi) p
JOIN LATERAL (
    SELECT a.code FROM admin_unit a
    WHERE a.code_system = '19/2025/QĐ-TTg' AND a.level = 'commune'
      AND ST_Intersects(a.geom, p.g)
    ORDER BY a.code LIMIT 1
) w ON true
WHERE GeometryType(p.g) = 'POINT'
ORDER BY p.osm_id::bigint
"""


def _load_pois(conn: psycopg.Connection[Any], path: Path) -> int:
    frame, srid = _read(path, "poi")
    columns = {
        "name": "name",
        "name_vi": "name:vi",
        "name_en": "name:en",
        "amenity": "amenity",
        "shop": "shop",
        "tourism": "tourism",
        "man_made": "man_made",
        "opening_hours": "opening_hours",
        "addr_full": "addr:full",
        "addr_housenumber": "addr:housenumber",
        "addr_street": "addr:street",
        "osm_id": "osm_id",
        "osm_type": "osm_type",
    }
    present = {k: v for k, v in columns.items() if v in frame.columns}
    rows = (
        (*(_text(r[v]) for v in present.values()), r["wkb"])
        for r in frame.to_dict("records")
    )
    conn.execute("DROP TABLE IF EXISTS _od_poi")
    _copy(conn, "_od_poi", (*present, "wkb"), rows)
    for missing in set(columns) - set(present):
        conn.execute(
            sql.SQL("ALTER TABLE _od_poi ADD COLUMN {} text").format(
                sql.Identifier(missing)
            )
        )
    return conn.execute(_POIS_SQL, {"srid": srid}).rowcount


_POWER_SQL = """
INSERT INTO power_line (name, power, voltage, circuits, operator, osm_id, source_crs,
                        updated_at, geom)
SELECT l.name, l.power, l.voltage,
       CASE WHEN l.circuits ~ '^[0-9]+$' THEN l.circuits::integer END, NULL, l.osm_id,
       %(srid)s, timestamptz '2026-11-23 06:00+07', ST_Multi(l.g)
FROM (SELECT _od_line.*,
             ST_Transform(ST_GeomFromWKB(wkb, %(srid)s), 4326) AS g
      FROM _od_line) l
WHERE GeometryType(l.g) IN ('LINESTRING', 'MULTILINESTRING')
  AND EXISTS (SELECT 1 FROM admin_unit a
              WHERE a.code_system = '19/2025/QĐ-TTg' AND a.level = 'commune'
                AND ST_Intersects(a.geom, l.g))
ORDER BY l.osm_id
"""


def _load_power(conn: psycopg.Connection[Any], path: Path) -> int:
    frame, srid = _read(path, "line")
    columns = ("osm_id", "power", "voltage", "name", "circuits")
    rows = (
        (*(_text(r.get(c)) for c in columns), r["wkb"])
        for r in frame.to_dict("records")
    )
    conn.execute("DROP TABLE IF EXISTS _od_line")
    _copy(conn, "_od_line", (*columns, "wkb"), rows)
    return conn.execute(_POWER_SQL, {"srid": srid}).rowcount
