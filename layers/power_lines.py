"""Power lines (đường dây điện): the grid that feeds the lighting cabinets."""

from sqlalchemy import Column, Integer, Table, Text

from gis.layer import Access, Field, Label, TileSpec, VectorLayer
from gis.tables.metadata import metadata
from layers.columns import (
    OSM_ID,
    SOURCE_CRS,
    UPDATED_AT,
    geom_column,
    id_column,
    sys_period_column,
)

table = Table(
    "power_line",
    metadata,
    id_column(),
    sys_period_column(),
    Column("name", Text),
    Column("power", Text),  # line | minor_line | cable
    Column("voltage", Text),
    Column("circuits", Integer),
    Column("operator", Text),
    OSM_ID.column(),
    SOURCE_CRS.column(),
    UPDATED_AT.column(),
    geom_column("MULTILINESTRING"),
    comment="Power transmission and distribution lines.",
)

LAYER = VectorLayer(
    id="power_lines",
    table=table,
    title=Label(vi="Đường dây điện", en="Power lines"),
    description=Label(
        vi="Đường dây truyền tải và phân phối điện.",
        en="Power transmission and distribution lines.",
    ),
    fields=(
        Field("name", Label("Tên", "Name")),
        Field("power", Label("Loại", "Kind")),
        Field("voltage", Label("Điện áp", "Voltage")),
        Field("circuits", Label("Số mạch", "Circuits")),
        Field("operator", Label("Đơn vị quản lý", "Operator")),
        OSM_ID.field(),
    ),
    geometry_type="MultiLineString",
    access=Access(write=frozenset({"lighting_crew", "admin"})),
    tiles=TileSpec(minzoom=9, overview="merge", category="power"),
    keywords=("power", "điện"),
)
