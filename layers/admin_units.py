"""Administrative units: the 2025 two-level provinces and wards, and the legacy units.

The 5-digit codes are reused across the 1 July 2025 reform (a code may name a larger
ward after it), so rows have a surrogate key and a validity interval; the crosswalk
``admin_unit_lineage`` links old codes to new ones.
"""

from sqlalchemy import Column, Date, Index, Numeric, Table, Text, text

from gis.layer import Access, Field, Label, TileSpec, TimeSpec, VectorLayer
from gis.tables.metadata import metadata
from layers.columns import (
    SOURCE_CRS,
    VALID_FROM,
    VALID_TO,
    geom_column,
    id_column,
    sys_period_column,
)

table = Table(
    "admin_unit",
    metadata,
    id_column(),
    sys_period_column(),
    Column("code", Text, nullable=False),
    Column("level", Text, nullable=False),  # province | district | commune
    Column("unit_type", Text, nullable=False),  # Tỉnh, Thành phố, Phường, Xã, ...
    Column("name", Text, nullable=False),
    Column("parent_code", Text),
    Column("province_code", Text),
    Column("code_system", Text, nullable=False),  # 124/2004/QĐ-TTg | 19/2025/QĐ-TTg
    Column("area_km2", Numeric(12, 2)),
    Column("population", Numeric(12, 0)),
    VALID_FROM.column(nullable=False),
    VALID_TO.column(),
    Column("legal_basis", Text),
    SOURCE_CRS.column(),
    geom_column("MULTIPOLYGON", nullable=True),
    Index("uq_admin_unit_code_system", "code", "code_system", unique=True),
    Index("ix_admin_unit_level_valid", "level", "valid_from", "valid_to"),
    comment="Administrative units with valid time (2-level since 2025-07-01).",
)

lineage = Table(
    "admin_unit_lineage",
    metadata,
    id_column(),
    Column("old_code", Text, nullable=False, index=True),
    Column("old_name", Text, nullable=False),
    Column("new_code", Text, nullable=False, index=True),
    Column("new_name", Text, nullable=False),
    Column("merge_type", Text, nullable=False),  # full | partial
    Column("effective_date", Date, nullable=False, server_default=text("'2025-07-01'")),
    Column("legal_basis", Text),
    comment="Old (3-level) commune -> 2025 ward crosswalk.",
)

LAYER = VectorLayer(
    id="admin_units",
    table=table,
    title=Label(vi="Đơn vị hành chính", en="Administrative units"),
    description=Label(
        vi="Tỉnh và xã/phường theo hệ thống hai cấp từ 01/7/2025, cùng các đơn vị cũ "
        "(tỉnh, huyện, xã) với thời gian hiệu lực.",
        en="Provinces and wards/communes of the two-level system in force since "
        "2025-07-01, and the legacy three-level units, with their validity.",
    ),
    fields=(
        Field("code", Label("Mã đơn vị", "Unit code")),
        Field("level", Label("Cấp", "Level")),
        Field("unit_type", Label("Loại đơn vị", "Unit type")),
        Field("name", Label("Tên", "Name")),
        Field("parent_code", Label("Mã đơn vị cấp trên", "Parent code")),
        Field("province_code", Label("Mã tỉnh", "Province code")),
        Field("code_system", Label("Hệ thống mã", "Code system")),
        Field("area_km2", Label("Diện tích (km²)", "Area (km²)")),
        Field("population", Label("Dân số", "Population")),
        VALID_FROM.field(),
        VALID_TO.field(),
        Field("legal_basis", Label("Căn cứ pháp lý", "Legal basis")),
    ),
    geometry_type="MultiPolygon",
    access=Access(write=frozenset({"admin"})),
    tiles=TileSpec(
        minzoom=6,
        properties=("code", "name", "level"),
        detail_zoom=10,
        overview="generalise",
        category="level",
    ),
    time=TimeSpec("valid_from", "valid_to"),
    keywords=("admin", "ward", "phường", "xã"),
    import_columns=("source_crs",),
)
