"""Urban trees (cây xanh đô thị), one row per tree (Decree 258/2025/NĐ-CP)."""

from sqlalchemy import Column, Date, ForeignKey, Integer, Numeric, Table, Text

from gis.layer import Access, Field, Label, TileSpec, TimeSpec, VectorLayer
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
    "tree",
    metadata,
    id_column(),
    sys_period_column(),
    Column("tree_code", Text),
    Column("species_vi", Text),
    Column("species_scientific", Text),
    Column("category", Text, ForeignKey("tree_category.code")),
    Column("height_m", Numeric(5, 1)),
    Column("trunk_circumference_cm", Integer),
    Column("canopy_diameter_m", Numeric(5, 1)),
    Column("health", Text),  # good | fair | poor | dead | dangerous
    Column("conservation", Text, ForeignKey("tree_category.code")),
    Column("planted_on", Date),
    Column("last_maintained_on", Date),
    WARD_CODE.column(),
    SOURCE_CRS.column(),
    UPDATED_AT.column(),
    geom_column("POINT"),
    comment="Urban trees with their conservation status and maintenance.",
)

LAYER = VectorLayer(
    id="trees",
    table=table,
    title=Label(vi="Cây xanh", en="Trees"),
    description=Label(
        vi="Cây xanh đô thị: loài, chiều cao, chu vi thân, tán, tình trạng, bảo tồn.",
        en="Urban trees: species, height, trunk circumference, canopy, health, "
        "conservation.",
    ),
    fields=(
        Field("tree_code", Label("Số hiệu cây", "Tree code")),
        Field("species_vi", Label("Tên loài", "Species")),
        Field("species_scientific", Label("Tên khoa học", "Scientific name")),
        Field("category", Label("Loại cây", "Category")),
        Field("height_m", Label("Chiều cao (m)", "Height (m)")),
        Field("trunk_circumference_cm", Label("Chu vi thân (cm)", "Trunk (cm)")),
        Field("canopy_diameter_m", Label("Đường kính tán (m)", "Canopy (m)")),
        Field("health", Label("Tình trạng", "Health")),
        Field("conservation", Label("Bảo tồn", "Conservation")),
        Field("planted_on", Label("Ngày trồng", "Planted on")),
        Field("last_maintained_on", Label("Bảo dưỡng gần nhất", "Last maintained")),
        WARD_CODE.field(),
    ),
    geometry_type="Point",
    access=Access(write=frozenset({"tree_crew", "admin"})),
    tiles=TileSpec(
        minzoom=15,
        properties=("species_vi", "health", "height_m"),
        detail_zoom=17,
        category="category",
    ),
    time=TimeSpec("planted_on"),
    keywords=("trees", "cây xanh"),
)
