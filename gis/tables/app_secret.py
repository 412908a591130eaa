"""Server secrets made once by migration 0009: the key that signs paging tokens.

Read by ``gis.query.load_paging_key`` (unless ``DOTHI_AUTH__SECRET_KEY`` takes its
place); a table of the spatial core's paging, not of ``auth``.
"""

from sqlalchemy import CheckConstraint, Column, LargeBinary, Table, Text

from gis.tables.metadata import metadata

app_secret = Table(
    "app_secret",
    metadata,
    Column("name", Text, primary_key=True),
    Column("value", LargeBinary, nullable=False),
    CheckConstraint("length(value) >= 32", name="length"),
    comment="Server secrets made once by migration 0009 (paging token key).",
)
