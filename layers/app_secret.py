"""Server secrets made once by migration 0009 (the paging token key), read by the API."""

from sqlalchemy import CheckConstraint, Column, LargeBinary, Table, Text

from layers.metadata import metadata

app_secret = Table(
    "app_secret",
    metadata,
    Column("name", Text, primary_key=True),
    Column("value", LargeBinary, nullable=False),
    CheckConstraint("length(value) >= 32", name="length"),
    comment="Server secrets made once by migration 0009 (paging token key).",
)
