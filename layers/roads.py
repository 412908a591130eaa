"""Roads (đường giao thông): name, class, width."""

from sqlalchemy import Column, Integer, Numeric, Table, Text

from gis.layer import Access, Field, Label, TileSpec, VectorLayer
from gis.tables.metadata import metadata
from layers.columns import (
    SOURCE_CRS,
    UPDATED_AT,
    WARD_CODE,
    geom_column,
    id_column,
    sys_period_column,
)

table = Table(
    "road",
    metadata,
    id_column(),
    sys_period_column(),
    Column("name", Text),
    Column("road_class", Text),  # arterial | collector | local | alley
    Column("width_m", Numeric(5, 1)),
    Column("lanes", Integer),
    Column("surface", Text),
    WARD_CODE.column(),
    SOURCE_CRS.column(),
    UPDATED_AT.column(),
    geom_column("MULTILINESTRING"),
    comment="Road centre lines.",
)

LAYER = VectorLayer(
    id="roads",
    table=table,
    title=Label(vi="Đường giao thông", en="Roads"),
    description=Label(
        vi="Tim đường giao thông: tên, cấp đường, bề rộng.",
        en="Road centre lines: name, class, width.",
    ),
    fields=(
        Field("name", Label("Tên đường", "Name")),
        Field("road_class", Label("Cấp đường", "Class")),
        Field("width_m", Label("Bề rộng (m)", "Width (m)")),
        Field("lanes", Label("Số làn", "Lanes")),
        Field("surface", Label("Mặt đường", "Surface")),
        WARD_CODE.field(),
    ),
    geometry_type="MultiLineString",
    access=Access(write=frozenset({"planner", "admin"})),
    tiles=TileSpec(
        minzoom=10,
        properties=("name", "road_class"),
        detail_zoom=15,
        overview="merge",
        category="road_class",
    ),
    keywords=("roads", "giao thông"),
)
