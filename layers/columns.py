"""The columns and fields several layers share, each spelled once.

A property that many layers carry (the ward code, the last change time, ...) is a
``Shared``: its column goes in the layer's ``Table`` with ``WARD_CODE.column()`` and
its field in the layer's ``fields`` with ``WARD_CODE.field()``, each where that layer
orders it, so the name, type, index and labels cannot drift between layers.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from geoalchemy2 import Geometry
from sqlalchemy import (
    BigInteger,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Identity,
    Integer,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import TSTZRANGE
from sqlalchemy.types import TypeEngine

from gis.layer import Field, Label


class Shared:
    """A property several layers share: its column and its field, spelled once.

    Keyword arguments of ``column()`` and ``field()`` add to or override the shared
    options where one layer differs (``VALID_FROM.column(nullable=False)``,
    ``STATUS.field(set_by=HANDLERS)``).
    """

    __slots__ = ("column_options", "foreign_key", "label", "name", "type")

    def __init__(
        self,
        name: str,
        type_: TypeEngine[Any],
        label: Label,
        *,
        foreign_key: str | None = None,
        **column_options: Any,
    ) -> None:
        self.name = name
        self.type = type_
        self.label = label
        # "table.column": a ForeignKey belongs to one column, so each column gets its own
        self.foreign_key = foreign_key
        self.column_options: Mapping[str, Any] = MappingProxyType(column_options)

    def column(self, **options: Any) -> Column[Any]:
        """A new column for one table (a column belongs to a single table)."""
        keys = (ForeignKey(self.foreign_key),) if self.foreign_key else ()
        return Column(self.name, self.type, *keys, **{**self.column_options, **options})

    def field(self, **options: Any) -> Field:
        """The published property, with the shared labels."""
        return Field(self.name, self.label, **options)


# the 2025 ward (commune-level unit) code, 5 digits (QĐ 19/2025/QĐ-TTg)
WARD_CODE = Shared("ward_code", Text(), Label("Mã phường/xã", "Ward code"), index=True)
# last change time, kept by the database
UPDATED_AT = Shared(
    "updated_at",
    DateTime(timezone=True),
    Label("Cập nhật", "Updated"),
    nullable=False,
    server_default=func.now(),
)
# the EPSG code the feature arrived in (provenance; storage is always 4326)
SOURCE_CRS = Shared(
    "source_crs",
    Integer(),
    Label("Hệ tọa độ gốc", "Source CRS"),
    nullable=False,
    server_default="4326",
)
VALID_FROM = Shared("valid_from", Date(), Label("Hiệu lực từ", "Valid from"))
VALID_TO = Shared("valid_to", Date(), Label("Hiệu lực đến", "Valid to"))
INSTALLED_ON = Shared("installed_on", Date(), Label("Ngày lắp đặt", "Installed on"))
STATUS = Shared("status", Text(), Label("Trạng thái", "Status"), nullable=False)
ADDRESS = Shared("address", Text(), Label("Địa chỉ", "Address"))
OSM_ID = Shared("osm_id", Text(), Label("OSM id", "OSM id"))
LAND_USE = Shared(
    "land_use",
    Text(),
    Label("Loại đất", "Land-use type"),
    foreign_key="land_use_type.code",
)


def id_column() -> Column[int]:
    """The surrogate primary key ``id`` (stable feature id in URLs)."""
    return Column("id", BigInteger, Identity(always=False), primary_key=True)


def geom_column(geometry_type: str, *, nullable: bool = False) -> Column[Any]:
    """The ``geom`` column in EPSG:4326 with a GiST index."""
    return Column(
        "geom",
        Geometry(geometry_type.upper(), srid=4326, spatial_index=True),
        nullable=nullable,
    )


def sys_period_column() -> Column[Any]:
    """``sys_period``: the transaction time of the row's current version, kept by
    migration 0016's triggers (``gis.sql.history``); the earlier versions are in
    ``<table>_history``. Not a published field. A layer table that is written gets
    one, and its history, in the migration that creates it (``history_ddl``)."""
    return Column(
        "sys_period",
        TSTZRANGE(),
        nullable=False,
        server_default=text("tstzrange(now(), NULL)"),
    )
