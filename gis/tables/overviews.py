"""Tile overviews: features counted per grid cell (migration 0013) and the shapes
overviews draw (0014), kept by those migrations' triggers.

Read by ``gis.sql.tiles`` for tiles below a layer's ``minzoom``; never written by
the application.
"""

from geoalchemy2 import Geometry
from sqlalchemy import BigInteger, Column, Index, Integer, SmallInteger, Table, Text

from gis.tables.metadata import metadata

tile_overview = Table(
    "tile_overview",
    metadata,
    Column("table_name", Text, primary_key=True),
    Column("cx", Integer, primary_key=True),
    Column("cy", Integer, primary_key=True),
    Column("category", Text, primary_key=True, server_default=""),
    Column("size_zoom", SmallInteger, primary_key=True),
    Column("count", BigInteger, nullable=False),
    comment="Features per grid cell, category and size, kept by triggers",
)
Index(
    "ix_tile_overview_spent",
    tile_overview.c.table_name,
    postgresql_where=tile_overview.c.count <= 0,
)

# migration 0014: the shapes overviews draw (generalised polygons, merged lines)
tile_overview_shape = Table(
    "tile_overview_shape",
    metadata,
    Column("table_name", Text, primary_key=True),
    Column("id", BigInteger, primary_key=True, autoincrement=False),
    Column("category", Text, nullable=False, server_default=""),
    Column("size_zoom", SmallInteger, nullable=False),
    Column(
        "geom",
        Geometry("GEOMETRY", srid=3857, spatial_index=False),
        nullable=False,
    ),
    comment="Generalised polygons of overview tiles, kept by triggers",
)
Index(
    "ix_tile_overview_shape_geom",
    tile_overview_shape.c.geom,
    postgresql_using="gist",
)
tile_overview_line = Table(
    "tile_overview_line",
    metadata,
    Column("table_name", Text, primary_key=True),
    Column("cx", Integer, primary_key=True, autoincrement=False),
    Column("cy", Integer, primary_key=True, autoincrement=False),
    Column("category", Text, primary_key=True, server_default=""),
    Column("count", BigInteger, nullable=False),
    Column(
        "geom",
        Geometry("GEOMETRY", srid=3857, spatial_index=False),
        nullable=False,
    ),
    comment="Merged lines of overview tiles per zoom-12 tile, kept by triggers",
)
Index(
    "ix_tile_overview_line_geom",
    tile_overview_line.c.geom,
    postgresql_using="gist",
)
# migration 0014: 0013's counts summed into coarser grids, kept by triggers on it
tile_overview_pyramid = Table(
    "tile_overview_pyramid",
    metadata,
    Column("table_name", Text, primary_key=True),
    Column("grid_zoom", SmallInteger, primary_key=True, autoincrement=False),
    Column("cx", Integer, primary_key=True, autoincrement=False),
    Column("cy", Integer, primary_key=True, autoincrement=False),
    Column("category", Text, primary_key=True, server_default=""),
    Column("size_zoom", SmallInteger, primary_key=True, autoincrement=False),
    Column("count", BigInteger, nullable=False),
    comment="Overview counts in coarser grids, kept by triggers on tile_overview",
)
Index(
    "ix_tile_overview_pyramid_spent",
    tile_overview_pyramid.c.table_name,
    postgresql_where=tile_overview_pyramid.c.count <= 0,
)
