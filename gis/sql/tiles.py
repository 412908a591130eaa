"""Mapbox Vector Tiles made by PostGIS in one statement (``ST_AsMVT``).

Rules, per layer (``TileSpec``), with zooms counted as in Web Mercator
(``TileRef.level``: a tile of another matrix set counts as the Web Mercator zoom of
its scale):

- from ``minzoom`` on, single features; below it an overview (see below);
- below ``detail_zoom`` only the ``TileSpec.properties`` are carried, from it on
  every field the principal may see;
- geometries are simplified by ``ST_AsMVTGeom``'s snapping to the 4096-unit tile grid
  (extent 4096, buffer 256, clipped).

Tiles hold every feature of the tile (nothing is dropped to meet a size) up to
``TILE_BUDGET`` (512 KB); a tile of single features over it is drawn as the layer's
overview of the same tile, which the 64 x 64 grid bounds. The interop tests measure
every layer against the budget on the full demo city.

Below ``minzoom`` a tile is an overview, as the layer's ``TileSpec.overview`` says
(``overview_sql``); each of its features carries ``count``, how many features it
stands for, ``overview`` (its kind) and the dominant value of the layer's
``TileSpec.category``:

- ``cluster`` (points: a dense layer is clustered, never cut) and ``grid`` (dense
  small polygons: parcels): the features
  counted in migration 0013's ``tile_overview`` (a fixed grid of 152.87 m Web
  Mercator cells kept by triggers) are summed into the tile's own 64 x 64 grid:
  one point at the weighted centre of each cell's features, or the cell's square;
  the cost follows the tile's area, not the layer's size;
- ``generalise`` (wards, planning zones): features at least a pixel wide at the
  tile's zoom are drawn from migration 0014's ``tile_overview_shape`` (each kept
  once, simplified below what a zoom-12 pixel shows), snapped to the tile grid; the
  smaller ones are counted into grid squares as above;
- ``merge`` (roads, power lines): the lines merged per zoom-12 tile and category
  in 0014's ``tile_overview_line`` under the tile, merged again per category and
  simplified to the tile's pixel, with how many lines they stand for.

So no overview reads a layer's own table: each reads rows that the database keeps
per cell or per large feature, and a tile of the whole province costs what it shows.
Overviews are made for zooms up to 12 (a layer's ``minzoom`` is at most 13,
checked in ``layers/``).
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
# the most a tile carries (README, "Limits"): over it, single features give way to
# the layer's overview of the same tile
TILE_BUDGET = 512 * 1024


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
    set and fields), an overview below it (``overview_sql``).

    A tile of single features over ``TILE_BUDGET`` bytes is answered with the
    layer's overview of the same tile instead (made only then): a tile never
    outgrows the budget, whatever the density of the data.
    """
    overview, params = overview_sql(layer, ref)
    if ref.level < layer.tiles.minzoom:
        return overview, params
    carried = tuple(f.name for f in tile_fields(layer, fields, ref.level))
    key = (layer.id, ref.tms_id, ref.srid, carried)
    compiled = _CACHE.get(key)
    if compiled is None:
        detail = compile_statement(build_tile(layer, ref, fields, layer_name=layer.id))
        compiled = Compiled(
            f"SELECT CASE WHEN length(d.mvt) <= {TILE_BUDGET} THEN d.mvt "  # noqa: S608
            f"ELSE ({overview.sql}) END AS mvt FROM ({detail.sql}) d(mvt)",
            {**overview.constants, **detail.constants},
        )
        if len(_CACHE) < 4096:
            _CACHE[key] = compiled
    return compiled, params


def dataset_tile_sql(
    parts: Sequence[tuple[VectorLayer, Sequence[Field]]], ref: TileRef
) -> tuple[Compiled, dict[str, Any]]:
    """One statement for a tile of several layers: their MVTs joined (an MVT is a
    sequence of layers, so concatenated tiles are one tile).

    When the layers together pass ``TILE_BUDGET``, each layer of single features
    over its share (the budget over the number of layers) is drawn as its
    overview instead; the others stay as they are.
    """
    pieces = [tile_sql(layer, ref, fields) for layer, fields in parts]
    # columns named piece<i>: an overview's ``ST_AsMVT(m0, ...)`` must not find
    # a column of the same name in this outer query
    share = TILE_BUDGET // max(1, len(parts))
    total = " + ".join(f"coalesce(length(p.piece{i}), 0)" for i in range(len(pieces)))
    whole = " || ".join(f"coalesce(p.piece{i}, ''::bytea)" for i in range(len(pieces)))
    shared = []
    for i, (layer, _fields) in enumerate(parts):
        if ref.level < layer.tiles.minzoom:
            shared.append(f"coalesce(p.piece{i}, ''::bytea)")
        else:
            overview = overview_sql(layer, ref)[0].sql
            shared.append(
                f"coalesce(CASE WHEN length(p.piece{i}) > {share} THEN ({overview}) "
                f"ELSE p.piece{i} END, ''::bytea)"
            )
    columns = ", ".join(f"({c.sql}) AS piece{i}" for i, (c, _) in enumerate(pieces))
    sql = (
        f"WITH p AS MATERIALIZED (SELECT {columns}) "  # noqa: S608
        f"SELECT CASE WHEN {total} <= {TILE_BUDGET} THEN {whole} "
        f"ELSE {' || '.join(shared)} END AS mvt FROM p"
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
    # a generalised feature is drawn from the zoom it is a pixel wide, up to the
    # zoom-12 shapes migration 0014 keeps; the smaller ones are counted in cells
    params.update(tmargin=width * BUFFER / EXTENT, tseg=width / 16)
    params["tshape"] = min(ref.level, OVERVIEW_GRID_ZOOM)
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


_PARAMS = ("tx1", "ty1", "tx2", "ty2", "tmargin", "tseg", "tshape", "tcell", "tpixel")
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
    search_3857 = _search_mercator(envelope, srid)
    # the category column: the dominant value under the category's own name
    alias = sql_identifier(spec.category) if spec.category else None

    def cat(expr: str) -> str:
        return f", {expr} AS {alias}" if alias else ""

    if spec.overview == "merge":
        # the cells' merged lines (migration 0014) under the tile, merged again per
        # category and simplified to the tile's pixel; lines shorter than a pixel
        # merge into a point, still counted
        lines = "l.geom" if srid == 3857 else f"ST_Transform(l.geom, {int(srid)})"
        sql = (
            f"SELECT ST_AsMVT(m0, {name}, {EXTENT}, 'geom') FROM ("  # noqa: S608
            "SELECT coalesce(ST_AsMVTGeom(ST_LineMerge(ST_CollectionExtract(ST_Collect("
            f"ST_Simplify(s.g, %(tpixel)s)), 2)), {mvt_geom}), ST_AsMVTGeom("
            f"ST_PointOnSurface(ST_Collect(s.g)), {mvt_geom})) AS geom,"
            " sum(s.count)::integer AS count, 'merge' AS overview"
            f"{cat('nullif(s.category, ' + repr('') + ')')}"
            f" FROM (SELECT {lines} AS g, l.count, l.category FROM tile_overview_line l"
            f" WHERE l.table_name = {sql_name(table)} AND l.geom && {search_3857})"
            " s GROUP BY s.category) m0"
        )
        return Compiled(sql, dict.fromkeys(_PARAMS + _CELL_PARAMS))
    point = (
        "ST_SetSRID(ST_MakePoint("
        f"{-HALF_WORLD!r} + (o.cx + 0.5) * {OVERVIEW_CELL!r}, "
        f"{-HALF_WORLD!r} + (o.cy + 0.5) * {OVERVIEW_CELL!r}), 3857)"
    )
    if srid != 3857:
        point = f"ST_Transform({point}, {int(srid)})"
    small = " AND o.size_zoom > %(tshape)s" if spec.overview == "generalise" else ""
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
        shape = "s.geom" if srid == 3857 else f"ST_Transform(s.geom, {int(srid)})"
        drawn = (
            f"SELECT ST_AsMVTGeom({shape}, {mvt_geom}) AS geom, s.id AS id,"  # noqa: S608
            " 1 AS count, 'feature' AS overview"
            f"{cat('nullif(s.category, ' + repr('') + ')')}"
            f" FROM tile_overview_shape s WHERE s.table_name = {sql_name(table)}"
            f" AND s.geom && {search_3857} AND s.size_zoom <= %(tshape)s"
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


def _search_mercator(envelope: str, srid: int) -> str:
    """The tile's search box in Web Mercator, where migration 0014 keeps shapes: a
    box of another CRS goes through lon/lat, cut to Mercator's +-85.05 degrees (a
    WorldCRS84Quad tile reaches the poles, which Mercator cannot hold)."""
    if srid == 3857:
        return f"ST_Expand({envelope}, %(tmargin)s)"
    lonlat = _search(envelope, srid, 4326)
    if srid == 4326:
        lonlat = f"ST_Segmentize(ST_Expand({envelope}, %(tmargin)s), %(tseg)s)"
    return (
        f"ST_Transform(ST_Intersection({lonlat}, "
        "ST_MakeEnvelope(-180, -85.05, 180, 85.05, 4326)), 3857)"
    )
