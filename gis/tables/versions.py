"""The data version of each layer table (migration 0004's trigger), and the layer
statistics computed at a version (migration 0011's ``refresh_layer_stats``)."""

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Table,
    Text,
    func,
)

from gis.tables.metadata import metadata

layer_version = Table(
    "layer_version",
    metadata,
    Column("table_name", Text, primary_key=True),
    Column("version", BigInteger, nullable=False, server_default="1"),
    Column(
        "changed_at", DateTime(timezone=True), nullable=False, server_default=func.now()
    ),
    comment="Data version per layer table, bumped by a trigger on every change",
)

layer_stats = Table(
    "layer_stats",
    metadata,
    Column(
        "table_name",
        Text,
        ForeignKey("layer_version.table_name", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("version", BigInteger, nullable=False),
    Column("west", Float),
    Column("south", Float),
    Column("east", Float),
    Column("north", Float),
    Column("tmin", DateTime(timezone=True)),
    Column("tmax", DateTime(timezone=True)),
    Column("row_count", BigInteger),
    Column(
        "computed_at",
        DateTime(timezone=True),
        nullable=False,
        server_default=func.now(),
    ),
    Column("duration_ms", Float, nullable=False, server_default="0"),
    Column("refreshes", BigInteger, nullable=False, server_default="1"),
    comment="Extent, time span and size per layer table, at a layer_version",
)
