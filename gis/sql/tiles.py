"""Mapbox Vector Tiles made by PostGIS in one statement (``ST_AsMVT``).

Rules, per layer (``TileSpec``):

- below ``minzoom`` a layer has no tiles (404: outside the tileset's limits);
- point layers with ``cluster_below`` are clustered below that zoom: points are
  grouped on a 64 x 64 grid of the tile and each group is one feature at its
  centroid with ``count`` (and ``cluster`` true), so a dense layer is never cut;
- below ``detail_zoom`` only the ``TileSpec.properties`` are carried, from it on
  every field the principal may see;
- geometries are simplified by ``ST_AsMVTGeom``'s snapping to the 4096-unit tile grid
  (extent 4096, buffer 256, clipped).

Tiles hold every feature of the tile: nothing is dropped to meet a size.
"""

from __future__ import annotations

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

from gis.layer import Field, VectorLayer
from gis.sql.compiled import Compiled, compile_statement, sql_name
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
    if spec.cluster_below and ref.z < spec.cluster_below:
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
    carried = tile_fields(layer, fields, ref.z)
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
    """``build_tile`` compiled once per (layer, matrix set, zoom, fields), and the
    bounds of this tile."""
    carried = tuple(f.name for f in tile_fields(layer, fields, ref.z))
    clustered = bool(layer.tiles.cluster_below and ref.z < layer.tiles.cluster_below)
    key = (layer.id, ref.tms_id, ref.srid, clustered, carried)
    compiled = _CACHE.get(key)
    if compiled is None:
        compiled = compile_statement(
            build_tile(layer, ref, fields, layer_name=layer.id)
        )
        if len(_CACHE) < 4096:
            _CACHE[key] = compiled
    width = ref.bounds[2] - ref.bounds[0]
    # ST_AsMVTGeom keeps points only inside the tile: search no buffer for them
    points = (layer.geometry_type or "").endswith("Point")
    margin = 0.0 if points else width * BUFFER / EXTENT
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
