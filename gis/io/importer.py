"""Import a vector file into a layer's table: read, check, COPY, one INSERT … SELECT.

The flow of :func:`import_file`:

1. read the file (:mod:`gis.io.source`), resolve the field → column mapping
   (:mod:`gis.io.mapping`), the CRS, the axis order and each row's geometry type
   (:mod:`gis.io.checks`) — all before the database is touched, so a file that is
   unreadable, in a deprecated or wrong CRS, or mapped to an unknown column writes
   nothing;
2. in ONE transaction: COPY every row as text into a temporary staging table, let
   PostGIS transform (``ST_Transform`` with integer SRIDs) and repair
   (``ST_MakeValid``, keeping the layer's dimension) the geometries, let PostgreSQL
   judge every value against the column's type, NOT NULL, foreign keys and unique
   keys, then copy the good rows with one ``INSERT … SELECT``.

Policy: bad *rows* are reported (row number and reason) and the good rows are
imported; with ``strict=True`` one bad row aborts everything. A file-level problem,
or a file with no importable row at all, raises :class:`ImportRejectedError` and
writes nothing. Coordinates that fit the CRS only with X and Y exchanged are swapped
with a warning (see :func:`gis.io.checks.check_axes`).

SQL text is built only from the layer's table and column names, generated staging
names (``c0``, ``c1`` …) and type names read from the database catalogue; every value
travels as COPY data or a bound parameter.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import psycopg
import shapely
from psycopg import sql
from psycopg.rows import TupleRow
from pyproj import Transformer
from sqlalchemy import Table, UniqueConstraint
from tqdm import tqdm

from gis.columns import CITY_TZ_NAME
from gis.db.urls import libpq_url
from gis.errors import ImportRejectedError
from gis.io.checks import (
    check_axes,
    fit_geometries,
    looks_like_lonlat,
    resolve_crs,
    swap_axes,
)
from gis.io.mapping import ColumnPlan, resolve_mapping
from gis.io.report import ImportReport, RejectedRow
from gis.io.source import Source, read_source
from gis.layer import VectorLayer, layer_family

_Cursor = psycopg.Cursor[TupleRow]
STAGING = "dothi_import_rows"
_DIMENSION = {"point": 1, "line": 2, "polygon": 3}
_INTEGER_TYPES = frozenset({"smallint", "integer", "bigint"})
# rows per tqdm update while copying
_PROGRESS_STEP = 2000

# True when the value casts to the type; only data errors (SQLSTATE class 22) count
# as "does not cast", anything else is a real failure and propagates
_CASTABLE_FN = """
CREATE OR REPLACE FUNCTION pg_temp.dothi_castable(v text, t text) RETURNS boolean
LANGUAGE plpgsql AS $fn$
BEGIN
  EXECUTE format('SELECT CAST(%L AS %s)', v, t);
  RETURN true;
EXCEPTION WHEN data_exception THEN
  RETURN false;
END
$fn$
"""
_COLUMNS_SQL = """
SELECT a.attname, format_type(a.atttypid, a.atttypmod), t.typcategory = 'S',
       a.attnotnull, pg_get_expr(d.adbin, d.adrelid), a.attidentity <> ''
FROM pg_attribute a
JOIN pg_type t ON t.oid = a.atttypid
LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
WHERE a.attrelid = %s::regclass AND a.attnum > 0 AND NOT a.attisdropped
"""


def import_file(
    url: str,
    layer: VectorLayer,
    path: Path,
    *,
    crs: int | None = None,
    src_layer: str | None = None,
    mapping: Mapping[str, str] | None = None,
    defaults: Mapping[str, object] | None = None,
    strict: bool = False,
    progress: bool = False,
) -> ImportReport:
    """Import the features of a vector file into ``layer``'s table.

    Parameters
    ----------
    url
        SQLAlchemy or libpq URL of a migrated dothi database.
    layer
        The target layer (its table must have the ``geom`` column).
    path
        GeoPackage, GeoJSON, Shapefile, zipped Shapefile (``.zip``, read through
        ``/vsizip/``), any other GDAL vector format, or a CSV with coordinate columns
        (x/y, lon/lat, longitude/latitude, easting/northing, kinh_do/vi_do …) or a
        WKT column.
    crs
        EPSG code of the coordinates; overrides the file's own CRS. A CSV (or a
        Shapefile without ``.prj``) needs it unless every coordinate is a plausible
        longitude/latitude, in which case EPSG:4326 is assumed with a warning.
    src_layer
        The layer to read when the file holds several (or a member of a zip).
    mapping
        ``{source field: column}``. Fields named like an importable column
        (case-insensitively) map on their own; ``""`` as the column leaves a field
        out. Field names may hold any character (``name:en``).
    defaults
        ``{column: value}``: constants for columns no field fills, and the value used
        where a mapped field is empty (e.g. ``level="commune"``).
    strict
        Reject the whole import if any row is rejected.
    progress
        Show a tqdm progress bar on stderr for imports that take more than a second.

    Returns
    -------
    ImportReport
        Counts, rejected rows with their reasons, and warnings.

    Raises
    ------
    ImportRejectedError
        Nothing was written: the file is unreadable or has no features; its CRS is
        unknown, deprecated (EPSG:6956-6959) or wrong for the coordinates; a mapping
        names a missing field or a column the layer does not import; a required
        column has no source; no row is importable; or ``strict`` and a row was
        rejected.

    Notes
    -----
    Limits, honestly: a wrong CRS is caught only when the coordinates fall outside its
    area of use (two neighbouring TM-3 zones both "fit"); a CSV's numbers must use a
    decimal point; the whole file is held in memory (fine for city layers of
    hundreds of thousands of features).
    """
    started = time.perf_counter()
    path = Path(path)
    if layer.geometry_type is None or layer.geom is None:
        raise ImportRejectedError(f"layer {layer.id} has no geometry to import into")
    source = read_source(path, src_layer=src_layer, crs=crs)
    if len(source) == 0:
        raise ImportRejectedError(f"{source.name}: the layer has no features")
    notes = list(source.warnings)
    plans, ignored = resolve_mapping(
        source.fields,
        layer,
        mapping,
        defaults,
        skip=source.coordinate_fields,
        name=source.name,
    )
    srid, crs_notes = resolve_crs(source.crs, source.crs_name, crs, name=source.name)
    notes += crs_notes
    geoms, reasons, n_z = fit_geometries(
        source.geoms, layer.geometry_type, layer_id=layer.id
    )
    # the reader's reason (e.g. "x/y are not two numbers") says more than "no geometry"
    reasons.update(source.geometry_errors)
    srid = _assume_lonlat(srid, geoms, source, notes)
    swapped = _orient(geoms, reasons, srid, source.name, notes)
    if swapped:
        geoms = swap_axes(geoms)
    if n_z:
        notes.append(f"{n_z} geometries had Z/M values: dropped (the layer is 2D)")
    if ignored:
        notes.append("fields not imported: " + ", ".join(ignored))
    loaded = _Load(url, layer, source, plans, geoms, reasons, srid)
    imported, rejected, db_notes = loaded.run(strict=strict, progress=progress)
    return ImportReport(
        layer=layer.id,
        file=source.name,
        source_layer=source.layer,
        source_crs=srid,
        rows_read=len(source),
        rows_imported=imported,
        rejected=rejected,
        warnings=tuple(notes + db_notes),
        elapsed_s=time.perf_counter() - started,
        columns=tuple((p.label, p.column) for p in plans),
        axes_swapped=swapped,
    )


def _assume_lonlat(
    srid: int | None, geoms: npt.NDArray[np.object_], source: Source, notes: list[str]
) -> int:
    """The SRID, assuming EPSG:4326 only for coordinates that look like lon/lat."""
    if srid is not None:
        return srid
    if looks_like_lonlat(geoms):
        notes.append(
            "no CRS given: the coordinates look like longitude/latitude, so "
            "EPSG:4326 (WGS 84) was assumed; pass crs= if they are VN-2000 "
            "(EPSG:4756)"
        )
        return 4326
    raise ImportRejectedError(
        f"{source.name} has no CRS and its coordinates are not longitude/latitude: "
        "pass crs= with their EPSG code (e.g. 9218 for VN-2000 / TM-3 108°30′, "
        "Bình Thuận; 9217 Ninh Thuận; 9212 Bình Phước; 5899 for 107°45′)"
    )


def _orient(
    geoms: npt.NDArray[np.object_],
    reasons: dict[int, str],
    srid: int,
    name: str,
    notes: list[str],
) -> bool:
    """Decide the axis order; reject rows outside the CRS's area. True = swap."""
    candidates = geoms.copy()
    if reasons:
        # rows already rejected do not vote on the axis order
        candidates[list(reasons)] = None
    axes = check_axes(candidates, srid, name=name)
    if axes.warning:
        notes.append(axes.warning)
    b = shapely.bounds(candidates)
    for i in np.flatnonzero(axes.outside):
        x, y = (b[i, 0] + b[i, 2]) / 2, (b[i, 1] + b[i, 3]) / 2
        reasons[int(i)] = (
            f"coordinates ({x:.8g}, {y:.8g}) lie outside the area of use of EPSG:{srid}"
        )
    return axes.swap


@dataclass(frozen=True)
class _Column:
    """A column of the target table as the database declares it."""

    name: str
    type: str  # format_type(): e.g. numeric(5,1)
    is_text: bool
    not_null: bool
    default: str | None  # the default expression, from the catalogue
    identity: bool


class _Load:
    """The database half of an import: staging, checks, insert — one transaction."""

    def __init__(
        self,
        url: str,
        layer: VectorLayer,
        source: Source,
        plans: list[ColumnPlan],
        geoms: npt.NDArray[np.object_],
        reasons: dict[int, str],
        srid: int,
    ) -> None:
        self.url = url
        self.layer = layer
        self.source = source
        self.plans = list(plans)
        self.geoms = geoms
        self.reasons = reasons
        self.srid = srid
        self.table = _table_ident(layer.table)
        self.staging = sql.Identifier(STAGING)
        self.notes: list[str] = []

    def run(
        self, *, strict: bool, progress: bool
    ) -> tuple[int, tuple[RejectedRow, ...], list[str]]:
        """Stage, check and insert; return (imported, rejected, warnings)."""
        n = len(self.source)
        bar = tqdm(
            total=n,
            unit="row",
            desc=f"import {self.layer.id}",
            file=sys.stderr,
            disable=not progress,
            delay=1.0,
            leave=False,
        )
        try:
            with (
                psycopg.connect(libpq_url(self.url), autocommit=True) as conn,
                conn.transaction(),
                conn.cursor() as cur,
            ):
                # a date-time without a zone is city time (README, "Time zones"):
                # PostgreSQL reads zone-less text with the session's zone
                cur.execute("SELECT set_config('TimeZone', %s, true)", (CITY_TZ_NAME,))
                columns = self._columns(cur)
                self._add_source_crs(columns)
                self._check_required(columns)
                self._stage(cur, bar)
                bar.set_postfix_str("geometry")
                self._geometry(cur)
                bar.set_postfix_str("values")
                self._values(cur, columns)
                rejected = self._rejected(cur)
                good = n - len(rejected)
                if strict and rejected:
                    raise _rejection(
                        f"strict import: {len(rejected)} of {n} rows rejected, "
                        "nothing imported",
                        rejected,
                    )
                if good == 0:
                    raise _rejection(
                        f"{self.source.name}: none of its {n} rows can be imported",
                        rejected,
                    )
                bar.set_postfix_str("insert")
                imported = self._insert(cur, columns)
        finally:
            bar.close()
        return imported, rejected, self.notes

    # -- catalogue ---------------------------------------------------------------

    def _columns(self, cur: _Cursor) -> dict[str, _Column]:
        ident = self.table.as_string(cur)
        try:
            cur.execute(_COLUMNS_SQL, (ident,))
        except psycopg.errors.UndefinedTable as exc:
            raise ImportRejectedError(
                f"table {self.layer.table.name} of layer {self.layer.id} does not "
                "exist: is the database migrated?"
            ) from exc
        return {
            str(r[0]): _Column(
                str(r[0]),
                str(r[1]),
                bool(r[2]),
                bool(r[3]),
                None if r[4] is None else str(r[4]),
                bool(r[5]),
            )
            for r in cur.fetchall()
        }

    def _add_source_crs(self, columns: Mapping[str, _Column]) -> None:
        """Record the source EPSG code in ``source_crs`` when the table has it."""
        if "source_crs" not in columns:
            return
        for i, p in enumerate(self.plans):
            if p.column == "source_crs":
                if p.default is None:  # a mapped field: its empty rows get the code
                    self.plans[i] = ColumnPlan(p.column, p.field, self.srid)
                return
        self.plans.append(ColumnPlan("source_crs", None, self.srid))

    def _check_required(self, columns: Mapping[str, _Column]) -> None:
        filled = {p.column for p in self.plans} | {"geom"}
        missing = [
            c.name
            for c in columns.values()
            if c.not_null
            and c.default is None
            and not c.identity
            and c.name not in filled
        ]
        if missing:
            raise ImportRejectedError(
                f"layer {self.layer.id} needs a value for {', '.join(missing)}: map a "
                "field to each (mapping=) or give a constant (defaults=)",
                columns=missing,
            )

    # -- staging -----------------------------------------------------------------

    def _stage(self, cur: _Cursor, bar: tqdm[Any]) -> None:
        """COPY every row (values as text, geometry as WKB) into the staging table."""
        names = [sql.Identifier(f"c{j}") for j in range(len(self.plans))]
        cur.execute(
            sql.SQL(
                "CREATE TEMP TABLE {} (row_no integer PRIMARY KEY, reason text, "
                "wkb bytea, geom geometry{}) ON COMMIT DROP"
            ).format(
                self.staging,
                sql.SQL("").join(sql.SQL(", {} text").format(c) for c in names),
            )
        )
        values = [self._texts(p) for p in self.plans]
        usable = ~shapely.is_missing(self.geoms)
        usable[list(self.reasons)] = False
        wkbs = np.full(len(self.geoms), None, dtype=object)
        if usable.any():
            wkbs[usable] = shapely.to_wkb(self.geoms[usable])
        copy_sql = sql.SQL("COPY {} (row_no, reason, wkb{}) FROM STDIN").format(
            self.staging, sql.SQL("").join(sql.SQL(", {}").format(c) for c in names)
        )
        with cur.copy(copy_sql) as copy:
            for i in range(len(self.geoms)):
                copy.write_row(
                    (i + 1, self.reasons.get(i), wkbs[i], *(v[i] for v in values))
                )
                if i % _PROGRESS_STEP == _PROGRESS_STEP - 1:
                    bar.update(_PROGRESS_STEP)
        bar.update(len(self.geoms) % _PROGRESS_STEP)

    def _texts(self, plan: ColumnPlan) -> list[str | None]:
        """The column's values as text for COPY; the default fills empty values."""
        n = len(self.source)
        default = _text(plan.default)
        if plan.field is None:
            return [default] * n
        texts = _series_texts(self.source.frame[plan.field])
        if default is not None:
            texts = [default if t is None else t for t in texts]
        return texts

    # -- geometry ----------------------------------------------------------------

    def _geometry(self, cur: _Cursor) -> None:
        """Transform to EPSG:4326 and repair, in PostGIS; reject what cannot be."""
        srid = self._transform_srid(cur)
        cur.execute(
            sql.SQL(
                "UPDATE {} SET geom = ST_Transform(ST_GeomFromWKB(wkb, %s), 4326) "
                "WHERE reason IS NULL"
            ).format(self.staging),
            (srid,),
        )
        assert self.layer.geometry_type is not None  # checked in import_file
        family, multi = layer_family(self.layer.geometry_type)
        if family != "point":
            # ST_MakeValid may return a collection (a polygon with a dangling line):
            # keep only the layer's dimension
            cur.execute(
                sql.SQL(
                    "UPDATE {} SET geom = ST_CollectionExtract(ST_MakeValid(geom), %s) "
                    "WHERE reason IS NULL AND NOT ST_IsValid(geom)"
                ).format(self.staging),
                (_DIMENSION[family],),
            )
            if cur.rowcount:
                self.notes.append(
                    f"{cur.rowcount} invalid geometries were repaired with ST_MakeValid"
                )
        cur.execute(
            sql.SQL(
                "UPDATE {} SET reason = %s WHERE reason IS NULL "
                "AND (geom IS NULL OR ST_IsEmpty(geom))"
            ).format(self.staging),
            (f"invalid geometry: no {family} left after ST_MakeValid",),
        )
        if not multi:
            cur.execute(
                sql.SQL(
                    "UPDATE {} SET geom = CASE WHEN ST_NumGeometries(geom) = 1 "
                    "THEN ST_GeometryN(geom, 1) END, reason = CASE WHEN "
                    "ST_NumGeometries(geom) > 1 THEN format('invalid geometry: "
                    "ST_MakeValid splits it into %%s parts', ST_NumGeometries(geom)) END "
                    "WHERE reason IS NULL AND GeometryType(geom) LIKE 'MULTI%%'"
                ).format(self.staging)
            )

    def _transform_srid(self, cur: _Cursor) -> int:
        """The SRID to stage with; PROJ in Python when PostGIS does not know it."""
        cur.execute("SELECT 1 FROM spatial_ref_sys WHERE srid = %s", (self.srid,))
        if cur.fetchone() is not None:
            return self.srid
        # PostGIS can only transform SRIDs of spatial_ref_sys; rather than write that
        # table as a side effect, let pyproj do this one transformation
        tr = Transformer.from_crs(self.srid, 4326, always_xy=True)
        ok = np.array([g is not None for g in self.geoms], dtype=bool)
        self.geoms[ok] = shapely.transform(
            self.geoms[ok], lambda c: np.column_stack(tr.transform(c[:, 0], c[:, 1]))
        )
        self.notes.append(
            f"EPSG:{self.srid} is not in the database's spatial_ref_sys: "
            "transformed to EPSG:4326 with PROJ before loading"
        )
        cur.execute(
            sql.SQL(
                "UPDATE {} SET wkb = s.wkb FROM (SELECT unnest(%s::int[]) AS n, "
                "unnest(%s::bytea[]) AS wkb) s WHERE row_no = s.n"
            ).format(self.staging),
            self._wkb_arrays(),
        )
        return 4326

    def _wkb_arrays(self) -> tuple[list[int], list[bytes]]:
        rows: list[int] = []
        blobs: list[bytes] = []
        for i, g in enumerate(self.geoms):
            if g is not None and i not in self.reasons:
                rows.append(i + 1)
                blobs.append(shapely.to_wkb(g))
        return rows, blobs

    # -- values ------------------------------------------------------------------

    def _raw(self, j: int, col: _Column) -> sql.Composable:
        """Staging text of plan ``j``; blank counts as empty for non-text columns."""
        c = sql.SQL("s.{}").format(sql.Identifier(f"c{j}"))
        if col.is_text:
            return c
        raw = sql.SQL("NULLIF(btrim({}), '')").format(c)
        if col.type in _INTEGER_TYPES:
            # '100.0' (a float column written as text) is the integer 100: lossless,
            # so accepted; '10.5' still does not cast and rejects the row
            raw = sql.SQL(r"regexp_replace({}, '^([-+]?[0-9]+)\.0*$', '\1')").format(
                raw
            )
        return raw

    def _typed(self, j: int, col: _Column) -> sql.Composable:
        """The value of plan ``j`` in the column's type (NULL for rejected rows)."""
        raw = self._raw(j, col)
        if col.is_text:
            value: sql.Composable = raw
        else:
            # CASE keeps the CAST away from rows whose value was found not to cast
            value = sql.SQL(
                "CASE WHEN s.reason IS NULL THEN CAST({} AS {}) END"
            ).format(raw, sql.SQL(col.type))
        if col.not_null and col.default is not None:
            # the database default stands in for an empty value of a NOT NULL column
            value = sql.SQL("COALESCE({}, {})").format(value, sql.SQL(col.default))
        return value

    def _reject(
        self,
        cur: _Cursor,
        message: sql.Composable,
        where: sql.Composable,
        params: Sequence[object] = (),
        *,
        extra_from: sql.Composable | None = None,
    ) -> None:
        """Append ``message`` to the reason of the staging rows matching ``where``."""
        cur.execute(
            sql.SQL(
                "UPDATE {} s SET reason = concat_ws('; ', s.reason, {}) {} WHERE {}"
            ).format(
                self.staging,
                message,
                sql.SQL("FROM {}").format(extra_from) if extra_from else sql.SQL(""),
                where,
            ),
            params,
        )

    def _values(self, cur: _Cursor, columns: Mapping[str, _Column]) -> None:
        """Reject rows whose values do not cast, are missing, or break a key."""
        cur.execute(_CASTABLE_FN)
        for j, plan in enumerate(self.plans):
            col = columns[plan.column]
            raw = self._raw(j, col)
            if not col.is_text:
                self._check_default(cur, plan, col)
                # test each distinct value once: the check runs a subtransaction
                bad = sql.SQL(
                    "(SELECT v FROM (SELECT DISTINCT {} AS v FROM {} s) d WHERE v IS "
                    "NOT NULL AND NOT pg_temp.dothi_castable(v, %s)) bad"
                ).format(raw, self.staging)
                self._reject(
                    cur,
                    sql.SQL(
                        "format('%%s: %%L is not a valid %%s', %s::text, bad.v, "
                        "%s::text)"
                    ),
                    sql.SQL("{} = bad.v").format(raw),
                    (plan.column, col.type, col.type),
                    extra_from=bad,
                )
            if col.not_null and col.default is None:
                self._reject(
                    cur,
                    sql.SQL("%s::text"),
                    sql.SQL("{} IS NULL").format(raw),
                    (f"{plan.column}: a value is required",),
                )
        self._foreign_keys(cur, columns)
        self._unique_keys(cur, columns)

    def _check_default(self, cur: _Cursor, plan: ColumnPlan, col: _Column) -> None:
        """A constant that does not cast is a mistake in the call, not in a row."""
        text = _text(plan.default)
        if text is None or not text.strip() or plan.column == "source_crs":
            return
        cur.execute("SELECT pg_temp.dothi_castable(%s, %s)", (text.strip(), col.type))
        row = cur.fetchone()
        if row is not None and not row[0]:
            raise ImportRejectedError(
                f"defaults: {plan.column}={plan.default!r} is not a valid {col.type}",
                column=plan.column,
            )

    def _plan_index(self) -> dict[str, int]:
        return {p.column: j for j, p in enumerate(self.plans)}

    def _foreign_keys(self, cur: _Cursor, columns: Mapping[str, _Column]) -> None:
        """Reject values a foreign key would refuse (e.g. an unknown tree category)."""
        index = self._plan_index()
        for fk in self.layer.table.foreign_keys:
            name = fk.parent.name
            if name not in index:
                continue
            j = index[name]
            typed = self._typed(j, columns[name])
            target = f"{fk.column.table.name}.{fk.column.name}"
            self._reject(
                cur,
                sql.SQL(
                    "format('%%s: %%L is not a known %%s', %s::text, {}, %s::text)"
                ).format(self._raw(j, columns[name])),
                sql.SQL(
                    "s.reason IS NULL AND {v} IS NOT NULL AND NOT EXISTS "
                    "(SELECT 1 FROM {t} r WHERE r.{c} = {v})"
                ).format(
                    v=typed,
                    t=_table_ident(fk.column.table),
                    c=sql.Identifier(fk.column.name),
                ),
                (name, target),
            )

    def _unique_keys(self, cur: _Cursor, columns: Mapping[str, _Column]) -> None:
        """Reject rows that repeat a unique key: of the table, or of an earlier row."""
        index = self._plan_index()
        for key in _unique_column_sets(self.layer.table):
            if not all(k in index for k in key):
                continue
            typed = [self._typed(index[k], columns[k]) for k in key]
            label = ", ".join(key)
            not_null = sql.SQL(" AND ").join(
                sql.SQL("{} IS NOT NULL").format(t) for t in typed
            )
            match = sql.SQL(" AND ").join(
                sql.SQL("t.{} = {}").format(sql.Identifier(k), t)
                for k, t in zip(key, typed, strict=True)
            )
            self._reject(
                cur,
                sql.SQL("%s::text"),
                sql.SQL(
                    "s.reason IS NULL AND {} AND EXISTS (SELECT 1 FROM {} t WHERE {})"
                ).format(not_null, self.table, match),
                (f"{label}: the table already has a row with these values",),
            )
            self._reject(
                cur,
                sql.SQL("format('%%s: same values as row %%s', %s::text, d.first)"),
                sql.SQL("s.row_no = d.row_no AND d.first <> d.row_no"),
                (label,),
                extra_from=sql.SQL(
                    "(SELECT s.row_no, min(s.row_no) OVER (PARTITION BY {}) AS first "
                    "FROM {} s WHERE s.reason IS NULL AND {}) d"
                ).format(sql.SQL(", ").join(typed), self.staging, not_null),
            )

    def _rejected(self, cur: _Cursor) -> tuple[RejectedRow, ...]:
        cur.execute(
            sql.SQL(
                "SELECT row_no, reason FROM {} WHERE reason IS NOT NULL ORDER BY row_no"
            ).format(self.staging)
        )
        return tuple(RejectedRow(int(str(r[0])), str(r[1])) for r in cur.fetchall())

    # -- insert ------------------------------------------------------------------

    def _insert(self, cur: _Cursor, columns: Mapping[str, _Column]) -> int:
        """One INSERT … SELECT of the good rows, in source order."""
        assert self.layer.geometry_type is not None  # checked in import_file
        _, multi = layer_family(self.layer.geometry_type)
        geom = sql.SQL("ST_Multi(s.geom)" if multi else "s.geom")
        targets = [sql.Identifier(p.column) for p in self.plans]
        exprs = [self._typed(j, columns[p.column]) for j, p in enumerate(self.plans)]
        stmt = sql.SQL(
            "INSERT INTO {} ({}) SELECT {} FROM {} s WHERE s.reason IS NULL "
            "ORDER BY s.row_no"
        ).format(
            self.table,
            sql.SQL(", ").join([*targets, sql.Identifier("geom")]),
            sql.SQL(", ").join([*exprs, geom]),
            self.staging,
        )
        try:
            cur.execute(stmt)
        except (psycopg.errors.IntegrityError, psycopg.errors.DataError) as exc:
            # a constraint the row checks do not cover (a CHECK, a partial unique
            # index): name it, never show the server's text
            constraint = exc.diag.constraint_name or exc.sqlstate or "unknown"
            raise ImportRejectedError(
                f"the rows break a constraint of table {self.layer.table.name} "
                f"({constraint}); nothing was imported",
                constraint=constraint,
            ) from exc
        return cur.rowcount


def _rejection(detail: str, rejected: tuple[RejectedRow, ...]) -> ImportRejectedError:
    """An ImportRejectedError quoting the first few rejected rows."""
    shown = "; ".join(f"row {r.row}: {r.reason}" for r in rejected[:5])
    more = f" (and {len(rejected) - 5} more)" if len(rejected) > 5 else ""
    return ImportRejectedError(
        f"{detail}. {shown}{more}" if shown else detail,
        rejected=[tuple(r) for r in rejected],
    )


def _table_ident(table: Table) -> sql.Identifier:
    return (
        sql.Identifier(table.schema, table.name)
        if table.schema
        else sql.Identifier(table.name)
    )


def _unique_column_sets(table: Table) -> list[tuple[str, ...]]:
    """Column sets of the table's unique indexes and constraints (not the key)."""
    sets: list[tuple[str, ...]] = []
    for idx in table.indexes:
        where = idx.dialect_options["postgresql"].get("where")
        cols = [c for c in idx.expressions if hasattr(c, "name")]
        if idx.unique and where is None and len(cols) == len(idx.expressions):
            sets.append(tuple(str(c.name) for c in cols))
    for cons in table.constraints:
        if isinstance(cons, UniqueConstraint) and cons.columns:
            sets.append(tuple(c.name for c in cons.columns))
    return [s for s in dict.fromkeys(sets) if s != ("id",)]


def _series_texts(values: pd.Series) -> list[str | None]:
    """A column's values as COPY text (None for empty)."""
    if values.dtype.kind == "f":
        return [_float_text(float(v)) for v in values.to_numpy(dtype="float64")]
    return [_text(v) for v in values.to_numpy(dtype=object)]


def _float_text(v: float) -> str | None:
    """A float as text; integral values without ``.0`` so they cast to integer.

    Examples
    --------
    >>> _float_text(100.0), _float_text(10.5), _float_text(float("nan"))
    ('100', '10.5', None)
    """
    if math.isnan(v):
        return None
    if v.is_integer() and abs(v) < 2**53:
        return str(int(v))
    return repr(v)


def _text(v: object) -> str | None:
    """Any source value as the text PostgreSQL reads for it.

    Examples
    --------
    >>> _text(True), _text(3), _text(date(2009, 4, 1)), _text(None)
    ('true', '3', '2009-04-01', None)
    """
    if v is None or v is pd.NaT or v is pd.NA:
        return None
    if isinstance(v, bool | np.bool_):
        return "true" if v else "false"
    if isinstance(v, int | np.integer):
        return str(int(v))
    if isinstance(v, float | np.floating):
        return _float_text(float(v))
    if isinstance(v, np.datetime64):
        return None if np.isnat(v) else pd.Timestamp(v).isoformat()
    if isinstance(v, datetime | date):
        return v.isoformat()
    if isinstance(v, bytes):
        return "\\x" + v.hex()
    # COPY text cannot carry NUL; no column type can store it either
    return str(v).replace("\x00", "")
