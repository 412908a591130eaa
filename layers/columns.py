"""Column helpers shared by the layer tables, so every table spells them alike."""

from __future__ import annotations

from geoalchemy2 import Geometry
from sqlalchemy import BigInteger, Column, DateTime, Identity, Integer, Text, func


def id_column() -> Column[int]:
    """The surrogate primary key ``id`` (stable feature id in URLs)."""
    return Column("id", BigInteger, Identity(always=False), primary_key=True)


def geom_column(geometry_type: str, *, nullable: bool = False) -> Column[object]:
    """The ``geom`` column in EPSG:4326 with a GiST index."""
    return Column(
        "geom",
        Geometry(geometry_type.upper(), srid=4326, spatial_index=True),
        nullable=nullable,
    )


def source_crs_column() -> Column[int]:
    """The EPSG code the feature arrived in (provenance; storage is always 4326)."""
    return Column("source_crs", Integer, nullable=False, server_default="4326")


def ward_code_column() -> Column[str]:
    """The 2025 ward (commune-level unit) code, 5 digits (QĐ 19/2025/QĐ-TTg)."""
    return Column("ward_code", Text, index=True)


def updated_at_column() -> Column[object]:
    """Last change time, kept by the database."""
    return Column(
        "updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()
    )
