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
(``_overview_statement``); each of its features carries ``count``, how many features it
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
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, NamedTuple

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


class TileParams(NamedTuple):
    """What every tile statement binds, the detail tile's and each overview's: the
    parameters' names are these fields (and the SQL's placeholders)."""

    tx1: float  # the tile's bounds, in its matrix set's CRS
    ty1: float
    tx2: float
    ty2: float
    tmargin: float  # the search box's margin: the MVT buffer in CRS units
    tseg: float  # the densifying step of a search box going to another CRS
    tshape: int  # generalise: the zoom whose pixel-wide shapes are drawn
    tcell: float  # a cell of the tile's overview grid
    tpixel: float  # a pixel of the tile (merged lines are simplified to it)
    ocx1: int  # the overview grid cells under the tile (0013's, or the pyramid's)
    ocy1: int
    ocx2: int
    ocy2: int


def tile_params(ref: TileRef) -> dict[str, Any]:
    """The values of tile ``ref``, for any of its statements."""
    x1, y1, x2, y2 = ref.bounds
    cx1, cy1, cx2, cy2 = _cells(ref, overview_cell(overview_grid(ref.level)))
    width = x2 - x1
    return TileParams(
        x1,
        y1,
        x2,
        y2,
        tmargin=width * BUFFER / EXTENT,
        tseg=width / 16,
        # a generalised feature is drawn from the zoom it is a pixel wide, up to the
        # zoom-12 shapes migration 0014 keeps; the smaller ones are counted in cells
        tshape=min(ref.level, OVERVIEW_GRID_ZOOM),
        tcell=width / CLUSTER_GRID,
        tpixel=width / 256,  # a pixel
        ocx1=cx1,
        ocy1=cy1,
        ocx2=cx2,
        ocy2=cy2,
    )._asdict()


def _layer_tile_shape(
    layer: VectorLayer, ref: TileRef, fields: Sequence[Field]
) -> Hashable:
    """What fixes the SQL of ``layer``'s tile ``ref``: its overview (one per layer
    and CRS), or the single features with the fields they carry."""
    grid = overview_grid(ref.level)
    if ref.level < layer.tiles.minzoom:
        return ("overview", layer.id, ref.srid, grid)
    carried = tuple(f.name for f in tile_fields(layer, fields, ref.level))
    # the overview of a tile over the budget is part of its SQL
    return ("features", layer.id, ref.tms_id, ref.srid, carried, grid)


def _layer_tile(layer: VectorLayer, ref: TileRef, fields: Sequence[Field]) -> Compiled:
    """The statement of ``layer``'s tile ``ref``: single features from ``minzoom``
    on (``build_tile``), an overview below it (``_overview_statement``).

    A tile of single features over ``TILE_BUDGET`` bytes is answered with the
    layer's overview of the same tile instead (made only then): a tile never
    outgrows the budget, whatever the density of the data.
    """
    overview = _overview_statement(layer, ref.srid, overview_grid(ref.level))
    if ref.level < layer.tiles.minzoom:
        return overview
    detail = compile_statement(build_tile(layer, ref, fields, layer_name=layer.id))
    return Compiled(
        f"SELECT CASE WHEN length(d.mvt) <= {TILE_BUDGET} THEN d.mvt "  # noqa: S608
        f"ELSE ({overview.sql}) END AS mvt FROM ({detail.sql}) d(mvt)",
        {**overview.constants, **detail.constants},
        overview.literals | detail.literals,
    )


@dataclass(slots=True)
class LayerTile:
    """One layer's tile (``_layer_tile``): one ``bytea`` row, ``mvt``."""

    layer: VectorLayer
    ref: TileRef
    fields: Sequence[Field]

    def shape(self) -> Hashable:
        return _layer_tile_shape(self.layer, self.ref, self.fields)

    def params(self) -> dict[str, Any]:
        return tile_params(self.ref)

    def build(self) -> Compiled:
        return _layer_tile(self.layer, self.ref, self.fields)


@dataclass(slots=True)
class DatasetTile:
    """A tile of several layers in one statement: their MVTs joined (an MVT is a
    sequence of layers, so concatenated tiles are one tile).

    When the layers together pass ``TILE_BUDGET``, each layer of single features
    over its share (the budget over the number of layers) is drawn as its
    overview instead; the others stay as they are.
    """

    parts: tuple[tuple[VectorLayer, Sequence[Field]], ...]
    ref: TileRef

    def shape(self) -> Hashable:
        return tuple(
            _layer_tile_shape(layer, self.ref, fields) for layer, fields in self.parts
        )

    def params(self) -> dict[str, Any]:
        return tile_params(self.ref)  # every layer binds the same tile parameters

    def build(self) -> Compiled:
        ref, parts = self.ref, self.parts
        pieces = [_layer_tile(layer, ref, fields) for layer, fields in parts]
        # columns named piece<i>: an overview's ``ST_AsMVT(m0, ...)`` must not find
        # a column of the same name in this outer query
        share = TILE_BUDGET // max(1, len(parts))
        total = " + ".join(
            f"coalesce(length(p.piece{i}), 0)" for i in range(len(pieces))
        )
        whole = " || ".join(
            f"coalesce(p.piece{i}, ''::bytea)" for i in range(len(pieces))
        )
        shared = []
        for i, (layer, _fields) in enumerate(parts):
            if ref.level < layer.tiles.minzoom:
                shared.append(f"coalesce(p.piece{i}, ''::bytea)")
            else:
                grid = overview_grid(ref.level)
                overview = _overview_statement(layer, ref.srid, grid).sql
                shared.append(
                    f"coalesce(CASE WHEN length(p.piece{i}) > {share} "
                    f"THEN ({overview}) ELSE p.piece{i} END, ''::bytea)"
                )
        columns = ", ".join(f"({c.sql}) AS piece{i}" for i, c in enumerate(pieces))
        sql = (
            f"WITH p AS MATERIALIZED (SELECT {columns}) "  # noqa: S608
            f"SELECT CASE WHEN {total} <= {TILE_BUDGET} THEN {whole} "
            f"ELSE {' || '.join(shared)} END AS mvt FROM p"
        )
        constants: dict[str, Any] = {}
        for compiled in pieces:
            constants.update(compiled.constants)
        literals = frozenset().union(*(c.literals for c in pieces))
        return Compiled(sql, constants, literals)


class VersionedTileRow(NamedTuple):
    """The row of ``VersionedTile``: the layers' data versions, and the tile unless
    the caller's cached one is current."""

    versions: list[int] | None
    mvt: bytes | None


@dataclass(slots=True)
class VersionedTile:
    """A tile (``LayerTile`` or ``DatasetTile``) made only when the data versions
    of ``tables`` differ from ``known`` (``versioned``): a
    ``gis.db.statements.Statement``."""

    tile: LayerTile | DatasetTile
    tables: tuple[str, ...]  # in table-name order
    known: tuple[int, ...] | None  # the versions of the caller's cached tile
    row: ClassVar[type[VersionedTileRow]] = VersionedTileRow
    text_as_bytes: ClassVar[bool] = False

    def shape(self) -> Hashable:
        return (type(self.tile), self.tile.shape())

    def params(self) -> dict[str, Any]:
        params = self.tile.params()
        params["known"] = None if self.known is None else list(self.known)
        params["tables"] = list(self.tables)
        return params

    def build(self) -> Compiled:
        return versioned(self.tile.build())


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
    return Compiled(sql, {**tile.constants, "known": None, "tables": []}, tile.literals)


# the overview grid of migration 0013: 64 cells per side of a zoom-12 Web Mercator
# tile, so a tile below zoom 13 sums whole cells (written there as SQL, once)
HALF_WORLD = 20037508.342789244
OVERVIEW_GRID_ZOOM = 12
# the grids an overview tile reads, finest first: 0013's own (zoom 12) and the
# pyramid of 0014 (zooms 10, 8, 6, 4); a tile reads the finest grid no finer than
# its own zoom, so at most about 64 x 64 cells (each at most 8 pixels wide)
OVERVIEW_GRIDS = (OVERVIEW_GRID_ZOOM, 10, 8, 6, 4)


def overview_cell(grid_zoom: int) -> float:
    """The side in Web Mercator metres of a cell of the grid of ``grid_zoom``."""
    return 2 * HALF_WORLD / float(2**grid_zoom) / CLUSTER_GRID


def overview_grid(level: int) -> int:
    """The grid an overview tile of Web Mercator zoom ``level`` reads."""
    return next((g for g in OVERVIEW_GRIDS if g <= level), OVERVIEW_GRIDS[-1])


def _cells(ref: TileRef, size: float) -> tuple[int, int, int, int]:
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
        return math.floor((clamped + HALF_WORLD) / size)

    return cell(x1), cell(y1), cell(x2), cell(y2)


def _mercator(lon: float, lat: float) -> tuple[float, float]:
    """Spherical Mercator of lon/lat, clamped as migration 0013 clamps it."""
    lat = min(85.05, max(-85.05, lat)) if math.isfinite(lat) else 85.05
    lon = min(180.0, max(-180.0, lon)) if math.isfinite(lon) else 180.0
    x = lon * HALF_WORLD / 180.0
    y = 6378137.0 * math.log(math.tan(math.pi / 4 + math.radians(lat) / 2))
    return x, y


def _overview_statement(layer: VectorLayer, srid: int, grid: int) -> Compiled:
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
        return Compiled(sql, dict.fromkeys(TileParams._fields))
    # the cells of the grid this tile reads: 0013's own, or a level of the pyramid
    source = (
        "tile_overview o WHERE"
        if grid == OVERVIEW_GRID_ZOOM
        else f"tile_overview_pyramid o WHERE o.grid_zoom = {int(grid)} AND"
    )
    small = " AND o.size_zoom > %(tshape)s" if spec.overview == "generalise" else ""
    # each cell's centre, in float8 (decimal literals would make it numeric, ten
    # times slower per row); in Web Mercator no geometry is made per cell at all
    size = f"{overview_cell(grid)!r}::float8"
    x = f"({-HALF_WORLD!r}::float8 + (o.cx + 0.5::float8) * {size})"
    y = f"({-HALF_WORLD!r}::float8 + (o.cy + 0.5::float8) * {size})"
    under = (
        f"FROM {source} o.table_name = {sql_name(table)}"
        # one index range per column of cells: a range of cx alone would read
        # every cell of those columns, the city's whole height
        " AND o.cx = ANY(ARRAY(SELECT generate_series(%(ocx1)s::integer,"
        " %(ocx2)s::integer)))"
        " AND o.cy BETWEEN %(ocy1)s AND %(ocy2)s"
        f"{small}"
    )
    if srid == 3857:
        located = (
            "SELECT * FROM (SELECT nullif(o.category, '') AS category, o.count,"  # noqa: S608
            f" {x} AS x, {y} AS y {under}) l WHERE l.x BETWEEN %(tx1)s AND %(tx2)s"
            " AND l.y BETWEEN %(ty1)s AND %(ty2)s"
        )
    else:
        located = (
            "SELECT l.category, l.count, ST_X(l.p) AS x, ST_Y(l.p) AS y FROM ("  # noqa: S608
            f"SELECT nullif(o.category, '') AS category, o.count, ST_Transform("
            f"ST_SetSRID(ST_MakePoint({x}, {y}), 3857), {int(srid)}) AS p {under}) l"
            f" WHERE l.p && {envelope}"
        )
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
        "SELECT floor(c.x / %(tcell)s) AS gx, floor(c.y / %(tcell)s) AS gy,"
        " c.category, sum(c.count) AS n, sum(c.x * c.count) AS sx,"
        f" sum(c.y * c.count) AS sy FROM ({located}) c GROUP BY 1, 2, 3) g"
        " GROUP BY gx, gy) a"
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
    return Compiled(sql, dict.fromkeys(TileParams._fields))


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
