"""Lighting control cabinets (tủ điều khiển chiếu sáng)."""

from sqlalchemy import Column, Integer, Table, Text

from gis.layer import Access, Field, Label, TileSpec, TimeSpec, VectorLayer
from gis.tables.metadata import metadata
from layers.columns import (
    ADDRESS,
    INSTALLED_ON,
    SOURCE_CRS,
    STATUS,
    UPDATED_AT,
    WARD_CODE,
    geom_column,
    id_column,
    sys_period_column,
)

table = Table(
    "lighting_cabinet",
    metadata,
    id_column(),
    sys_period_column(),
    Column("cabinet_code", Text, nullable=False, unique=True),
    ADDRESS.column(),
    Column("control_mode", Text),  # timer | astronomical | remote
    Column("circuits", Integer),
    STATUS.column(server_default="on"),
    INSTALLED_ON.column(),
    WARD_CODE.column(),
    SOURCE_CRS.column(),
    UPDATED_AT.column(),
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
        ADDRESS.field(),
        Field("control_mode", Label("Chế độ điều khiển", "Control mode")),
        Field("circuits", Label("Số lộ", "Circuits")),
        STATUS.field(),
        INSTALLED_ON.field(),
        WARD_CODE.field(),
    ),
    geometry_type="Point",
    access=Access(write=frozenset({"lighting_crew", "admin"})),
    tiles=TileSpec(minzoom=11, category="status"),
    time=TimeSpec("installed_on"),
    keywords=("lighting", "chiếu sáng"),
)
