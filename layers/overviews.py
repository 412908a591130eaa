"""Tile overviews: features counted per grid cell, kept by migration 0013's triggers.

Read by ``gis.sql.tiles`` for tiles below a layer's ``minzoom``; never written by
the application.
"""

from sqlalchemy import BigInteger, Column, Index, Integer, SmallInteger, Table, Text

from layers.metadata import metadata

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
