"""Per-layer statistics for collection metadata: extent, time span, estimated size."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, func, literal, literal_column, select, text

from gis.layer import VectorLayer


def build_layer_stats(layer: VectorLayer) -> Select[Any]:
    """One row: ``xmin, ymin, xmax, ymax, tmin, tmax, est_rows``.

    The spatial extent is PostGIS' estimate from the planner statistics when there are
    any (cheap on millions of rows), else the exact ``ST_Extent``; the time span is
    exact (``min``/``max`` of the time columns).
    """
    t = layer.table
    name = t.name
    if layer.geometry_type:
        estimated = func.ST_EstimatedExtent(literal(name), literal("geom"))
        exact = select(func.ST_Extent(t.c.geom)).scalar_subquery()
        box_row = select(func.coalesce(estimated, exact).label("b")).subquery("box")
        box = box_row.c.b
        spatial = [
            func.ST_XMin(box).label("xmin"),
            func.ST_YMin(box).label("ymin"),
            func.ST_XMax(box).label("xmax"),
            func.ST_YMax(box).label("ymax"),
        ]
    else:
        spatial = [
            literal_column("NULL::float8").label(n)
            for n in ("xmin", "ymin", "xmax", "ymax")
        ]
    if layer.time:
        start = t.c[layer.time.start]
        end = t.c[layer.time.end] if layer.time.end else start
        temporal = [
            select(func.min(start)).scalar_subquery().label("tmin"),
            select(func.max(end)).scalar_subquery().label("tmax"),
        ]
    else:
        temporal = [
            literal_column("NULL::timestamptz").label(n) for n in ("tmin", "tmax")
        ]
    rows = func.greatest(
        select(literal_column("reltuples"))
        .select_from(text("pg_class"))
        .where(literal_column("oid") == func.to_regclass(literal(name)))
        .scalar_subquery(),
        0,
    )
    stmt = select(*spatial, *temporal, rows.label("est_rows"))
    return stmt.select_from(box_row) if layer.geometry_type else stmt
