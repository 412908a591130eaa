"""Points of interest: schools, health, tourism, public services."""

from sqlalchemy import Column, Table, Text

from gis.layer import Access, Field, Label, TileSpec, VectorLayer
from layers.columns import (
    geom_column,
    id_column,
    source_crs_column,
    updated_at_column,
    ward_code_column,
)
from layers.metadata import metadata

table = Table(
    "poi",
    metadata,
    id_column(),
    Column("name", Text),
    Column("name_en", Text),
    # education | health | tourism | public_service | commerce | worship | other
    Column("category", Text, nullable=False, server_default="other", index=True),
    Column("subcategory", Text),  # e.g. the OSM amenity value
    Column("address", Text),
    Column("opening_hours", Text),
    Column("osm_id", Text),
    Column("source", Text),
    ward_code_column(),
    source_crs_column(),
    updated_at_column(),
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
        Field("address", Label("Địa chỉ", "Address")),
        Field("opening_hours", Label("Giờ mở cửa", "Opening hours")),
        Field("osm_id", Label("OSM id", "OSM id")),
        Field("source", Label("Nguồn", "Source")),
        Field("ward_code", Label("Mã phường/xã", "Ward code")),
    ),
    geometry_type="Point",
    access=Access(write=frozenset({"planner", "admin"})),
    tiles=TileSpec(
        minzoom=12,
        cluster_below=14,
        properties=("name", "category"),
        detail_zoom=16,
        category="category",
    ),
    keywords=("poi", "school", "health", "tourism"),
)
