"""Planning zones (quy hoạch): zone function, density, height, land-use coefficient."""

from sqlalchemy import Column, Date, Index, Integer, Numeric, Table, Text

from gis.layer import Access, Field, Label, TileSpec, TimeSpec, VectorLayer
from gis.tables.metadata import metadata
from layers.columns import (
    LAND_USE,
    SOURCE_CRS,
    UPDATED_AT,
    VALID_FROM,
    VALID_TO,
    WARD_CODE,
    geom_column,
    id_column,
    sys_period_column,
)

table = Table(
    "planning_zone",
    metadata,
    id_column(),
    sys_period_column(),
    Column("zone_code", Text, nullable=False),
    Column("plan_name", Text, nullable=False),
    Column("approval_decision", Text),
    Column("approved_on", Date),
    Column("zone_function", Text, nullable=False),
    LAND_USE.column(),
    Column("max_height_m", Numeric(6, 1)),
    Column("max_floors", Integer),
    Column("building_density_pct", Numeric(5, 1)),
    Column("land_use_coefficient", Numeric(5, 2)),
    WARD_CODE.column(),
    VALID_FROM.column(),
    VALID_TO.column(),
    SOURCE_CRS.column(),
    UPDATED_AT.column(),
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
        LAND_USE.field(),
        Field("max_height_m", Label("Chiều cao tối đa (m)", "Max height (m)")),
        Field("max_floors", Label("Số tầng tối đa", "Max floors")),
        Field(
            "building_density_pct", Label("Mật độ xây dựng (%)", "Building density (%)")
        ),
        Field(
            "land_use_coefficient", Label("Hệ số sử dụng đất", "Land-use coefficient")
        ),
        WARD_CODE.field(),
        VALID_FROM.field(),
        VALID_TO.field(),
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
