"""Mapbox Vector Tiles made by PostGIS in one statement (``ST_AsMVT``).

Rules, per layer (``TileSpec``), with zooms counted as in Web Mercator
(``TileRef.level``: a tile of another matrix set counts as the Web Mercator zoom of
its scale):

- from ``minzoom`` on, single features; below it an overview (see below);
- point layers with ``cluster_below`` are clustered below that zoom: points are
  grouped on a 64 x 64 grid of the tile and each group is one feature at its
  centroid with ``count`` (and ``cluster`` true), so a dense layer is never cut;
- below ``detail_zoom`` only the ``TileSpec.properties`` are carried, from it on
  every field the principal may see;
- geometries are simplified by ``ST_AsMVTGeom``'s snapping to the 4096-unit tile grid
  (extent 4096, buffer 256, clipped).

Tiles hold every feature of the tile (nothing is dropped to meet a size); the
overview's 64 x 64 grid bounds what the low zooms carry, and the interop tests
measure every layer against the 512 KB budget on the full demo city.

Below ``minzoom`` a tile is an overview, as the layer's ``TileSpec.overview`` says
(``overview_sql``); each of its features carries ``count``, how many features it
stands for, ``overview`` (its kind) and the dominant value of the layer's
``TileSpec.category``:

- ``cluster`` (points) and ``grid`` (dense small polygons: parcels): the features
  counted in migration 0013's ``tile_overview`` (a fixed grid of 152.87 m Web
  Mercator cells kept by triggers) are summed into the tile's own 64 x 64 grid:
  one point at the weighted centre of each cell's features, or the cell's square;
  the cost follows the tile's area, not the layer's size;
- ``generalise`` (wards, planning zones): features at least a pixel wide at the
  tile's zoom are drawn, snapped to the tile grid; the smaller ones are counted
  into grid squares as above;
- ``merge`` (roads, power lines): lines simplified to the tile's pixel and merged
  per category, with their count (made from the table: line layers are small).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    bindparam,
    func,
    literal_column,
    select,
    true,
)

from gis.crs import transformer
from gis.layer import Field, VectorLayer
from gis.sql.compiled import Compiled, compile_statement, sql_identifier, sql_name
from gis.tms import TileRef

EXTENT = 4096
BUFFER = 256
# written into the SQL as literals: every layer's statement then binds only the
# tile's own parameters, so a dataset tile can join them into one statement
_EXTENT: ColumnElement[int] = literal_column(str(EXTENT))
_BUFFER: ColumnElement[int] = literal_column(str(BUFFER))
CLUSTER_GRID = 64  # cells per tile side


def _srid(value: int) -> ColumnElement[Any]:
    return literal_column(str(int(value)))


def tile_fields(layer: VectorLayer, fields: Sequence[Field], z: int) -> list[Field]:
    """The fields a tile at zoom ``z`` carries: never personal or derived ones
    (tiles are drawn for whole areas and cached; those belong to feature requests,
    where each read of personal data is audited)."""
    spec = layer.tiles
    plain = [f for f in fields if not f.personal and not f.derived]
    if z >= spec.detail_zoom or spec.properties is None:
        return plain
    return [f for f in plain if f.name in spec.properties]


def build_tile(
    layer: VectorLayer, ref: TileRef, fields: Sequence[Field], *, layer_name: str
) -> Select[Any]:
    """The statement of one layer's MVT for tile ``ref``: one ``bytea`` row ``mvt``.

    Bounds are bound parameters ``tx1..ty2`` in the tile matrix set's CRS.
    """
    t = layer.table
    srid = ref.srid
    bounds = func.ST_MakeEnvelope(
        bindparam("tx1", ref.bounds[0]),
        bindparam("ty1", ref.bounds[1]),
        bindparam("tx2", ref.bounds[2]),
        bindparam("ty2", ref.bounds[3]),
        _srid(srid),
    )
    margin = (ref.bounds[2] - ref.bounds[0]) * BUFFER / EXTENT
    search: ColumnElement[Any] = func.ST_Expand(bounds, bindparam("tmargin", margin))
    if srid != layer.storage_srid:
        # densify so the edges of a projected tile stay true once in lon/lat
        search = func.ST_Transform(
            func.ST_Segmentize(search, bindparam("tseg", margin * 4 or 1.0)),
            _srid(layer.storage_srid),
        )
    geom: ColumnElement[Any] = t.c.geom
    if srid != layer.storage_srid:
        geom = func.ST_Transform(geom, _srid(srid))
    where = t.c.geom.op("&&")(search)
    spec = layer.tiles
    if spec.cluster_below and ref.level < spec.cluster_below:
        cell = (ref.bounds[2] - ref.bounds[0]) / CLUSTER_GRID
        inner = select(geom.label("g")).where(where).subquery("pts")
        snapped = func.ST_SnapToGrid(inner.c.g, bindparam("tcell", cell))
        rows = (
            select(
                func.ST_AsMVTGeom(
                    func.ST_Centroid(func.ST_Collect(inner.c.g)),
                    bounds,
                    _EXTENT,
                    _BUFFER,
                    true(),
                ).label("geom"),
                func.count().label("count"),
                true().label("cluster"),
            )
            .group_by(snapped)
            .subquery("mvtgeom")
        )
        return select(
            func.ST_AsMVT(
                literal_column("mvtgeom"),
                literal_column(sql_name(layer_name)),
                _EXTENT,
                literal_column("'geom'"),
            ).label("mvt")
        ).select_from(rows)
    carried = tile_fields(layer, fields, ref.level)
    rows = (
        select(
            func.ST_AsMVTGeom(geom, bounds, _EXTENT, _BUFFER, true()).label("geom"),
            t.c.id,
            *(t.c[f.name] for f in carried),
        )
        .where(where)
        .subquery("mvtgeom")
    )
    return select(
        func.ST_AsMVT(
            literal_column("mvtgeom"),
            literal_column(sql_name(layer_name)),
            _EXTENT,
            literal_column("'geom'"),
            literal_column("'id'"),
        ).label("mvt")
    ).select_from(rows)


_CACHE: dict[tuple[Any, ...], Compiled] = {}


def tile_sql(
    layer: VectorLayer, ref: TileRef, fields: Sequence[Field]
) -> tuple[Compiled, dict[str, Any]]:
    """The statement of ``layer``'s tile ``ref`` and its parameters: single
    features from ``minzoom`` on (``build_tile``, compiled once per layer, matrix
    set, zoom kind and fields), an overview below it (``overview_sql``)."""
    if ref.level < layer.tiles.minzoom:
        return overview_sql(layer, ref)
    carried = tuple(f.name for f in tile_fields(layer, fields, ref.level))
    clustered = bool(
        layer.tiles.cluster_below and ref.level < layer.tiles.cluster_below
    )
    key = (layer.id, ref.tms_id, ref.srid, clustered, carried)
    compiled = _CACHE.get(key)
    if compiled is None:
        compiled = compile_statement(
            build_tile(layer, ref, fields, layer_name=layer.id)
        )
        if len(_CACHE) < 4096:
            _CACHE[key] = compiled
    width = ref.bounds[2] - ref.bounds[0]
    # the same margin for every layer: a dataset tile binds one value for all
    margin = width * BUFFER / EXTENT
    params: dict[str, Any] = dict(
        zip(("tx1", "ty1", "tx2", "ty2"), ref.bounds, strict=True)
    )
    params["tmargin"] = margin
    if ref.srid != layer.storage_srid:
        params["tseg"] = width / 16
    if clustered:
        params["tcell"] = width / CLUSTER_GRID
    return compiled, params


def dataset_tile_sql(
    parts: Sequence[tuple[VectorLayer, Sequence[Field]]], ref: TileRef
) -> tuple[Compiled, dict[str, Any]]:
    """One statement for a tile of several layers: their MVTs joined (an MVT is a
    sequence of layers, so concatenated tiles are one tile)."""
    pieces = [tile_sql(layer, ref, fields) for layer, fields in parts]
    sql = (
        "SELECT "
        + " || ".join(f"coalesce(({c.sql}), ''::bytea)" for c, _ in pieces)
        + " AS mvt"
    )
    params: dict[str, Any] = {}
    constants: dict[str, Any] = {}
    for compiled, p in pieces:
        constants.update(compiled.constants)
        params.update(p)  # every piece binds the same tile parameters
    return Compiled(sql, constants), params


def versioned(tile: Compiled) -> Compiled:
    """``tile`` made only when the layers' data versions differ from ``:known``.

    Returns one row: ``versions`` (the current data versions of ``:tables``, in
    table-name order) and ``mvt`` (NULL when ``:known`` equals them: the caller's
    cached tile is current). One round trip for a cache hit and a miss alike.
    """
    sql = (
        "SELECT vv.versions AS versions, CASE WHEN vv.versions = "
        "CAST(%(known)s AS bigint[]) THEN NULL ELSE (" + tile.sql + ") END AS mvt "
        "FROM (SELECT array_agg(version ORDER BY table_name) AS versions "
        "FROM layer_version WHERE table_name = ANY(CAST(%(tables)s AS text[]))) vv"
    )
    return Compiled(sql, {**tile.constants, "known": None, "tables": []})


# the overview grid of migration 0013: 64 cells per side of a zoom-12 Web Mercator
# tile, so a tile below zoom 13 sums whole cells (written there as SQL, once)
HALF_WORLD = 20037508.342789244
OVERVIEW_GRID_ZOOM = 12
OVERVIEW_CELL: float = 2 * HALF_WORLD / 2**OVERVIEW_GRID_ZOOM / CLUSTER_GRID
_OVERVIEW_CACHE: dict[tuple[Any, ...], Compiled] = {}


def overview_sql(layer: VectorLayer, ref: TileRef) -> tuple[Compiled, dict[str, Any]]:
    """The overview tile of ``layer`` below its ``minzoom`` (see the module notes)."""
    key = (layer.id, ref.srid, layer.tiles.overview)
    compiled = _OVERVIEW_CACHE.get(key)
    if compiled is None:
        compiled = _OVERVIEW_CACHE[key] = _overview_statement(layer, ref.srid)
    width = ref.bounds[2] - ref.bounds[0]
    params: dict[str, Any] = dict(
        zip(("tx1", "ty1", "tx2", "ty2"), ref.bounds, strict=True)
    )
    params.update(tmargin=width * BUFFER / EXTENT, tseg=width / 16, tz=ref.level)
    params.update(tcell=width / CLUSTER_GRID, tpixel=width / 256)  # a pixel
    params.update(zip(("ocx1", "ocy1", "ocx2", "ocy2"), _cells(ref), strict=True))
    return compiled, params


def _cells(ref: TileRef) -> tuple[int, int, int, int]:
    """The overview grid cells under tile ``ref`` (a superset outside Web Mercator:
    cells outside the tile are dropped by the statement)."""
    x1, y1, x2, y2 = ref.bounds
    if ref.srid != 3857:
        lon1, lat1, lon2, lat2 = transformer(ref.srid, 4326).transform_bounds(
            x1, y1, x2, y2, densify_pts=21
        )
        x1, y1 = _mercator(lon1, lat1)
        x2, y2 = _mercator(lon2, lat2)

    def cell(v: float) -> int:
        clamped: float = min(HALF_WORLD, max(-HALF_WORLD, float(v)))
        return math.floor((clamped + HALF_WORLD) / OVERVIEW_CELL)

    return cell(x1), cell(y1), cell(x2), cell(y2)


def _mercator(lon: float, lat: float) -> tuple[float, float]:
    """Spherical Mercator of lon/lat, clamped as migration 0013 clamps it."""
    lat = min(85.05, max(-85.05, lat)) if math.isfinite(lat) else 85.05
    lon = min(180.0, max(-180.0, lon)) if math.isfinite(lon) else 180.0
    x = lon * HALF_WORLD / 180.0
    y = 6378137.0 * math.log(math.tan(math.pi / 4 + math.radians(lat) / 2))
    return x, y


_PARAMS = ("tx1", "ty1", "tx2", "ty2", "tmargin", "tseg", "tz", "tcell", "tpixel")
_CELL_PARAMS = ("ocx1", "ocy1", "ocx2", "ocy2")


def _overview_statement(layer: VectorLayer, srid: int) -> Compiled:
    """The SQL of an overview tile: identifiers only from the catalogue (checked by
    ``sql_name`` and ``sql_identifier``: the S608 waivers below), every value bound.

    Overview features carry no fields but ``count``, ``overview`` and the category
    (drawn ``generalise`` features too): they stand for many features.
    """
    spec = layer.tiles
    table = layer.table.name
    name = sql_name(layer.id)
    envelope = f"ST_MakeEnvelope(%(tx1)s, %(ty1)s, %(tx2)s, %(ty2)s, {int(srid)})"
    mvt_geom = f"{envelope}, {EXTENT}, {BUFFER}, true"
    geom = "t.geom" if srid == layer.storage_srid else f"ST_Transform(t.geom, {srid})"
    search = _search(envelope, srid, layer.storage_srid)
    # the category column: the dominant value under the category's own name
    alias = sql_identifier(spec.category) if spec.category else None

    def cat(expr: str) -> str:
        return f", {expr} AS {alias}" if alias else ""

    if spec.overview == "merge":
        sql = (
            f"SELECT ST_AsMVT(m0, {name}, {EXTENT}, 'geom') FROM ("  # noqa: S608
            # lines shorter than a pixel merge into a point, still counted
            "SELECT coalesce(ST_AsMVTGeom(ST_LineMerge(ST_CollectionExtract(ST_Collect("
            f"ST_Simplify(s.g, %(tpixel)s)), 2)), {mvt_geom}), ST_AsMVTGeom("
            f"ST_PointOnSurface(ST_Collect(s.g)), {mvt_geom})) AS geom,"
            f" count(*)::integer AS count, 'merge' AS overview{cat(f's.{alias}')}"
            f" FROM (SELECT {geom} AS g{cat(f't.{alias}::text')} FROM {table} t"
            f" WHERE t.geom && {search}) s GROUP BY {f's.{alias}' if alias else '()'}) m0"
        )
        return Compiled(sql, dict.fromkeys(_PARAMS + _CELL_PARAMS))
    point = (
        "ST_SetSRID(ST_MakePoint("
        f"{-HALF_WORLD!r} + (o.cx + 0.5) * {OVERVIEW_CELL!r}, "
        f"{-HALF_WORLD!r} + (o.cy + 0.5) * {OVERVIEW_CELL!r}), 3857)"
    )
    if srid != 3857:
        point = f"ST_Transform({point}, {int(srid)})"
    small = " AND o.size_zoom > %(tz)s" if spec.overview == "generalise" else ""
    if spec.overview == "cluster":
        shape = f"ST_SetSRID(ST_MakePoint(a.x, a.y), {int(srid)})"
    else:
        shape = (
            "ST_MakeEnvelope(a.gx * %(tcell)s, a.gy * %(tcell)s, "
            f"(a.gx + 1) * %(tcell)s, (a.gy + 1) * %(tcell)s, {int(srid)})"
        )
    cells = (
        f"SELECT ST_AsMVTGeom({shape}, {mvt_geom}) AS geom, NULL::bigint AS id,"  # noqa: S608
        f" a.count::integer AS count, '{spec.overview}' AS overview"
        f"{cat('a.dominant')} FROM ("
        "SELECT gx, gy, sum(n) AS count, sum(sx) / sum(n) AS x, sum(sy) / sum(n) AS y,"
        " (array_agg(category ORDER BY n DESC, category))[1] AS dominant FROM ("
        "SELECT floor(ST_X(c.p) / %(tcell)s) AS gx, floor(ST_Y(c.p) / %(tcell)s) AS gy,"
        " c.category, sum(c.count) AS n, sum(ST_X(c.p) * c.count) AS sx,"
        " sum(ST_Y(c.p) * c.count) AS sy FROM ("
        f"SELECT nullif(o.category, '') AS category, o.count, {point} AS p"
        f" FROM tile_overview o WHERE o.table_name = {sql_name(table)}"
        " AND o.cx BETWEEN %(ocx1)s AND %(ocx2)s AND o.cy BETWEEN %(ocy1)s AND %(ocy2)s"
        f"{small}) c WHERE c.p && {envelope} GROUP BY 1, 2, 3) g GROUP BY gx, gy) a"
    )
    if spec.overview == "generalise":
        # features of a pixel or more, drawn; then the smaller ones, counted
        drawn = (
            f"SELECT ST_AsMVTGeom({geom}, {mvt_geom}) AS geom, t.id AS id,"  # noqa: S608
            " 1 AS count, 'feature' AS overview"
            f"{cat(f't.{alias}::text')} FROM {table} t"
            f" WHERE t.geom && {search} AND overview_size_zoom(t.geom) <= %(tz)s"
        )
        sql = (
            f"SELECT ST_AsMVT(m0, {name}, {EXTENT}, 'geom', 'id') FROM ("  # noqa: S608
            f"{drawn} UNION ALL {cells}) m0"
        )
    else:
        sql = (
            f"SELECT ST_AsMVT(m0, {name}, {EXTENT}, 'geom') FROM (SELECT geom, count,"  # noqa: S608
            f" overview{', ' + alias if alias else ''} FROM ({cells}) c0) m0"
        )
    return Compiled(sql, dict.fromkeys(_PARAMS + _CELL_PARAMS))


def _search(envelope: str, srid: int, storage_srid: int) -> str:
    """The tile's search box in the storage CRS (as ``build_tile`` makes it)."""
    box = f"ST_Expand({envelope}, %(tmargin)s)"
    if srid == storage_srid:
        return box
    return f"ST_Transform(ST_Segmentize({box}, %(tseg)s), {int(storage_srid)})"
