"""Points of interest: schools, health, tourism, public services."""

from sqlalchemy import Column, Table, Text

from gis.layer import Access, Field, Label, TileSpec, VectorLayer
from gis.tables.metadata import metadata
from layers.columns import (
    ADDRESS,
    OSM_ID,
    SOURCE_CRS,
    UPDATED_AT,
    WARD_CODE,
    geom_column,
    id_column,
    sys_period_column,
)

table = Table(
    "poi",
    metadata,
    id_column(),
    sys_period_column(),
    Column("name", Text),
    Column("name_en", Text),
    # education | health | tourism | public_service | commerce | worship | other
    Column("category", Text, nullable=False, server_default="other", index=True),
    Column("subcategory", Text),  # e.g. the OSM amenity value
    ADDRESS.column(),
    Column("opening_hours", Text),
    OSM_ID.column(),
    Column("source", Text),
    WARD_CODE.column(),
    SOURCE_CRS.column(),
    UPDATED_AT.column(),
    geom_column("POINT"),
    comment="Points of interest.",
)

LAYER = VectorLayer(
    id="pois",
    table=table,
    title=Label(vi="Điểm quan tâm", en="Points of interest"),
    description=Label(
        vi="Trường học, y tế, du lịch, dịch vụ công và các điểm quan tâm khác.",
        en="Schools, health facilities, tourism, public services and other points.",
    ),
    fields=(
        Field("name", Label("Tên", "Name")),
        Field("name_en", Label("Tên tiếng Anh", "English name")),
        Field("category", Label("Nhóm", "Category")),
        Field("subcategory", Label("Loại", "Subcategory")),
        ADDRESS.field(),
        Field("opening_hours", Label("Giờ mở cửa", "Opening hours")),
        OSM_ID.field(),
        Field("source", Label("Nguồn", "Source")),
        WARD_CODE.field(),
    ),
    geometry_type="Point",
    access=Access(write=frozenset({"planner", "admin"})),
    tiles=TileSpec(
        minzoom=14,
        properties=("name", "category"),
        detail_zoom=16,
        category="category",
    ),
    keywords=("poi", "school", "health", "tourism"),
)
