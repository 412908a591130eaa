"""Lighting control cabinets (tủ điều khiển chiếu sáng)."""

from sqlalchemy import Column, Date, Integer, Table, Text

from gis.layer import Access, Field, Label, TileSpec, TimeSpec, VectorLayer
from layers.columns import (
    geom_column,
    id_column,
    source_crs_column,
    updated_at_column,
    ward_code_column,
)
from layers.metadata import metadata

table = Table(
    "lighting_cabinet",
    metadata,
    id_column(),
    Column("cabinet_code", Text, nullable=False, unique=True),
    Column("address", Text),
    Column("control_mode", Text),  # timer | astronomical | remote
    Column("circuits", Integer),
    Column("status", Text, nullable=False, server_default="on"),
    Column("installed_on", Date),
    ward_code_column(),
    source_crs_column(),
    updated_at_column(),
    geom_column("POINT"),
    comment="Lighting control cabinets; each feeds several circuits of lights.",
)

LAYER = VectorLayer(
    id="lighting_cabinets",
    table=table,
    title=Label(vi="Tủ điều khiển chiếu sáng", en="Lighting cabinets"),
    description=Label(
        vi="Tủ điều khiển chiếu sáng: chế độ điều khiển, số lộ, trạng thái.",
        en="Lighting control cabinets: control mode, circuits, status.",
    ),
    fields=(
        Field("cabinet_code", Label("Mã tủ", "Cabinet code")),
        Field("address", Label("Địa chỉ", "Address")),
        Field("control_mode", Label("Chế độ điều khiển", "Control mode")),
        Field("circuits", Label("Số lộ", "Circuits")),
        Field("status", Label("Trạng thái", "Status")),
        Field("installed_on", Label("Ngày lắp đặt", "Installed on")),
        Field("ward_code", Label("Mã phường/xã", "Ward code")),
    ),
    geometry_type="Point",
    access=Access(write=frozenset({"lighting_crew", "admin"})),
    tiles=TileSpec(minzoom=11, category="status"),
    time=TimeSpec("installed_on"),
    keywords=("lighting", "chiếu sáng"),
)
