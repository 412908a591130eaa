"""Splits and merges of land parcels, and the lineage they leave (issue 14, item 5).

Not layers: a ``parcel_change`` is one decision (its number and date, who made the
change and when) and ``parcel_lineage`` says which parcels it retired (parents) and
which it made (children). Both are written only by ``parcel_split`` and
``parcel_merge`` (migration 0017), in the transaction that retires the parents and
inserts the children; they are read like the parcels, by anyone.
"""

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Table,
    Text,
    func,
    text,
)

from gis.tables.metadata import metadata

parcel_change = Table(
    "parcel_change",
    metadata,
    Column("id", BigInteger, Identity(always=False), primary_key=True),
    Column("kind", Text, nullable=False),
    Column("decision_no", Text, nullable=False),
    Column("decision_date", Date, nullable=False),
    Column(
        "made_at", DateTime(timezone=True), nullable=False, server_default=func.now()
    ),
    # the signed-in subject whose request made it (the claims of gis.db.pool)
    Column(
        "made_by",
        Text,
        server_default=text("nullif(current_setting('dothi.subject', true), '')"),
    ),
    CheckConstraint("kind IN ('split', 'merge')", name="kind"),
    CheckConstraint("length(decision_no) BETWEEN 1 AND 200", name="decision_no"),
    comment="Splits and merges of land parcels: one row per decision applied.",
)

parcel_lineage = Table(
    "parcel_lineage",
    metadata,
    Column("parent_id", BigInteger, ForeignKey("land_parcel.id"), primary_key=True),
    Column("child_id", BigInteger, ForeignKey("land_parcel.id"), primary_key=True),
    Column("change_id", BigInteger, ForeignKey("parcel_change.id"), nullable=False),
    # parents -> children is the primary key; children -> parents and by change here
    Index("ix_parcel_lineage_child_id", "child_id"),
    Index("ix_parcel_lineage_change_id", "change_id"),
    comment="Which parcels each split or merge retired (parents) and made (children).",
)
