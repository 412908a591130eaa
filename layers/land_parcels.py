"""Land parcels (thửa đất), their land users and land-use right certificates.

A parcel is found by ward + map sheet (số tờ) + parcel number (số thửa); sheets are
numbered within the *old* commune, so the commune at survey time is kept too. The legal
area from the register is never recomputed: the geometric area is a separate column.
Land users and certificates hold personal data: restricted tables, never public.
"""

from sqlalchemy import (
    BigInteger,
    Column,
    Date,
    FetchedValue,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    Table,
    Text,
    UniqueConstraint,
    text,
)

from gis.layer import (
    Access,
    Field,
    Label,
    TileSpec,
    TimeSpec,
    VectorLayer,
    personal_field,
)
from gis.tables.metadata import metadata
from layers.columns import (
    ADDRESS,
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
    "land_parcel",
    metadata,
    id_column(),
    sys_period_column(),
    WARD_CODE.column(),
    # the commune whose sheet numbers the parcel (pre-2025 for the older surveys); an
    # INSERT without one takes ward_code, an UPDATE keeps its own (migration 0015)
    Column("survey_ward_code", Text, server_default=FetchedValue()),
    Column("sheet_no", Integer, nullable=False),
    Column("parcel_no", Integer, nullable=False),
    LAND_USE.column(nullable=False),
    Column("area_legal_m2", Numeric(12, 1)),
    Column("area_geom_m2", Numeric(12, 1)),
    ADDRESS.column(),
    Column("national_parcel_id", Text),
    Column("map_scale", Integer),
    SOURCE_CRS.column(),
    VALID_FROM.column(nullable=False, server_default=text("CURRENT_DATE")),
    VALID_TO.column(),
    UPDATED_AT.column(),
    geom_column("MULTIPOLYGON"),
    # a parcel's identity: numbers belong to the sheet of the surveyed commune
    UniqueConstraint(
        "survey_ward_code", "sheet_no", "parcel_no", name="uq_land_parcel_identity"
    ),
    Index(
        "uq_land_parcel_national_id",
        "national_parcel_id",
        unique=True,
        postgresql_where=text("national_parcel_id IS NOT NULL"),
    ),
    Index("ix_land_parcel_sheet", "sheet_no", "parcel_no", "ward_code"),
    Index("ix_land_parcel_land_use", "land_use"),
    comment="Land parcels; legal and geometric areas kept apart.",
)

land_user = Table(
    "land_user",
    metadata,
    id_column(),
    sys_period_column(),
    Column("kind", Text, nullable=False),  # individual | household | organisation
    Column("full_name", Text, nullable=False),
    Column("id_number", Text),  # CCCD / business registration number
    Column("birth_year", Integer),
    Column("address", Text),
    Column("phone", Text),
    comment="Land users (chủ sử dụng đất). Personal data: restricted.",
)

certificate = Table(
    "land_certificate",
    metadata,
    id_column(),
    sys_period_column(),
    Column("parcel_id", BigInteger, ForeignKey("land_parcel.id"), nullable=False),
    Column("land_user_id", BigInteger, ForeignKey("land_user.id"), nullable=False),
    Column("serial_no", Text, nullable=False),  # số phát hành
    Column("register_no", Text),  # số vào sổ cấp GCN
    Column("issued_on", Date),
    Column("issuer", Text),
    Column("status", Text, nullable=False, server_default="valid"),
    Index("ix_land_certificate_parcel", "parcel_id"),
    comment="Land-use right certificates (GCN). Personal data: restricted.",
)

# the holders of the parcel's valid certificates and the certificates themselves, as
# JSON arrays; read through land_user/land_certificate's row-level security, so they
# are empty for a request without the claims, whatever the API asks
LAND_USERS_SQL = """SELECT json_agg(json_build_object('kind', u.kind, 'full_name',
u.full_name, 'id_number', u.id_number, 'birth_year', u.birth_year, 'address',
u.address, 'phone', u.phone) ORDER BY u.full_name)
FROM land_certificate c JOIN land_user u ON u.id = c.land_user_id
WHERE c.parcel_id = land_parcel.id AND c.status = 'valid'"""
CERTIFICATES_SQL = """SELECT json_agg(json_build_object('serial_no', c.serial_no,
'register_no', c.register_no, 'issued_on', c.issued_on, 'issuer', c.issuer,
'status', c.status) ORDER BY c.issued_on, c.id)
FROM land_certificate c WHERE c.parcel_id = land_parcel.id"""

LAYER = VectorLayer(
    id="land_parcels",
    table=table,
    title=Label(vi="Thửa đất", en="Land parcels"),
    description=Label(
        vi="Thửa đất: phường, số tờ bản đồ, số thửa, loại đất, diện tích pháp lý và "
        "diện tích hình học.",
        en="Land parcels: ward, map sheet, parcel number, land-use type, legal and "
        "geometric area.",
    ),
    fields=(
        WARD_CODE.field(),
        Field("survey_ward_code", Label("Mã xã khi đo đạc", "Ward code at survey")),
        Field("sheet_no", Label("Số tờ bản đồ", "Map sheet number")),
        Field("parcel_no", Label("Số thửa", "Parcel number")),
        LAND_USE.field(),
        Field("area_legal_m2", Label("Diện tích pháp lý (m²)", "Legal area (m²)")),
        Field("area_geom_m2", Label("Diện tích hình học (m²)", "Geometric area (m²)")),
        ADDRESS.field(),
        Field("national_parcel_id", Label("Mã thửa quốc gia", "National parcel id")),
        Field("map_scale", Label("Tỷ lệ bản đồ", "Map scale")),
        SOURCE_CRS.field(),
        VALID_FROM.field(),
        VALID_TO.field(),
        UPDATED_AT.field(),
        personal_field(
            "land_users", Label("Người sử dụng đất", "Land users"), LAND_USERS_SQL
        ),
        personal_field(
            "certificates", Label("Giấy chứng nhận", "Certificates"), CERTIFICATES_SQL
        ),
    ),
    geometry_type="MultiPolygon",
    # a ward's land officer edits, and sees the land users of, that ward's parcels
    access=Access(
        write=frozenset({"land_officer", "admin"}),
        personal=frozenset({"land_officer", "admin"}),
    ),
    tiles=TileSpec(
        # at zoom 13 a pixel is 19 m: most urban parcels (5-20 m) are smaller, and
        # a tile of single parcels there is 320 KB on the demo city
        minzoom=14,
        properties=("ward_code", "sheet_no", "parcel_no", "land_use"),
        detail_zoom=17,
        overview="grid",
        category="land_use",
    ),
    time=TimeSpec("valid_from", "valid_to"),
    keywords=("cadastre", "địa chính", "thửa đất"),
)
