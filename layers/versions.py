"""The data version of each layer table, kept by migration 0004's trigger."""

from sqlalchemy import BigInteger, Column, DateTime, Table, Text, func

from layers.metadata import metadata

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
