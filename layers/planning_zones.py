"""Planning zones (quy hoạch): zone function, density, height, land-use coefficient."""

from sqlalchemy import Column, Date, ForeignKey, Index, Integer, Numeric, Table, Text

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
    "planning_zone",
    metadata,
    id_column(),
    Column("zone_code", Text, nullable=False),
    Column("plan_name", Text, nullable=False),
    Column("approval_decision", Text),
    Column("approved_on", Date),
    Column("zone_function", Text, nullable=False),
    Column("land_use", Text, ForeignKey("land_use_type.code")),
    Column("max_height_m", Numeric(6, 1)),
    Column("max_floors", Integer),
    Column("building_density_pct", Numeric(5, 1)),
    Column("land_use_coefficient", Numeric(5, 2)),
    ward_code_column(),
    Column("valid_from", Date),
    Column("valid_to", Date),
    source_crs_column(),
    updated_at_column(),
    geom_column("MULTIPOLYGON"),
    Index("ix_planning_zone_function", "zone_function"),
    comment="Zoning plan areas with their planning indicators.",
)

LAYER = VectorLayer(
    id="planning_zones",
    table=table,
    title=Label(vi="Quy hoạch phân khu", en="Planning zones"),
    description=Label(
        vi="Khu quy hoạch: chức năng, mật độ xây dựng, chiều cao tối đa, hệ số sử dụng "
        "đất, quyết định phê duyệt.",
        en="Planning zones: function, building density, maximum height, land-use "
        "coefficient, approval decision.",
    ),
    fields=(
        Field("zone_code", Label("Mã khu", "Zone code")),
        Field("plan_name", Label("Đồ án quy hoạch", "Plan")),
        Field("approval_decision", Label("Quyết định phê duyệt", "Approval decision")),
        Field("approved_on", Label("Ngày phê duyệt", "Approved on")),
        Field("zone_function", Label("Chức năng", "Zone function")),
        Field("land_use", Label("Loại đất", "Land-use type")),
        Field("max_height_m", Label("Chiều cao tối đa (m)", "Max height (m)")),
        Field("max_floors", Label("Số tầng tối đa", "Max floors")),
        Field(
            "building_density_pct", Label("Mật độ xây dựng (%)", "Building density (%)")
        ),
        Field(
            "land_use_coefficient", Label("Hệ số sử dụng đất", "Land-use coefficient")
        ),
        Field("ward_code", Label("Mã phường/xã", "Ward code")),
        Field("valid_from", Label("Hiệu lực từ", "Valid from")),
        Field("valid_to", Label("Hiệu lực đến", "Valid to")),
    ),
    geometry_type="MultiPolygon",
    access=Access(write=frozenset({"planner", "admin"})),
    tiles=TileSpec(
        minzoom=11,
        properties=("zone_code", "zone_function", "land_use", "max_floors"),
        detail_zoom=15,
        overview="generalise",
        category="land_use",
    ),
    time=TimeSpec("valid_from", "valid_to"),
    keywords=("planning", "quy hoạch"),
)
