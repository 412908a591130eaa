"""Code-list tables. Their values arrive through migrations, never as Python constants."""

from sqlalchemy import Column, Date, Integer, Numeric, Table, Text

from gis.tables.metadata import metadata

land_use_type = Table(
    "land_use_type",
    metadata,
    Column("code", Text, primary_key=True),
    Column("group_code", Text, nullable=False),  # NNP / PNN / CSD
    Column("name_vi", Text, nullable=False),
    Column("name_en", Text, nullable=False),
    Column("legal_basis", Text, nullable=False),
    comment="Land-use type codes (Land Law 2024, Circular 08/2024/TT-BTNMT).",
)

report_category = Table(
    "report_category",
    metadata,
    Column("code", Text, primary_key=True),
    Column("name_vi", Text, nullable=False),
    Column("name_en", Text, nullable=False),
    Column("handling_days", Integer, nullable=False),
    comment="Citizen field report categories and their handling deadline.",
)

tree_category = Table(
    "tree_category",
    metadata,
    Column("code", Text, primary_key=True),
    Column("kind", Text, nullable=False),  # use | conservation
    Column("name_vi", Text, nullable=False),
    Column("name_en", Text, nullable=False),
    Column("legal_basis", Text, nullable=False),
    comment="Urban tree use categories and conservation categories (Decree 258/2025).",
)

aqi_band = Table(
    "aqi_band",
    metadata,
    Column("aqi_min", Integer, primary_key=True),
    Column("aqi_max", Integer, nullable=False),
    Column("name_vi", Text, nullable=False),
    Column("name_en", Text, nullable=False),
    Column("color", Text, nullable=False),
    Column("rgb", Text, nullable=False),
    Column("legal_basis", Text, nullable=False),
    comment="VN_AQI bands (Decision 1459/QĐ-TCMT).",
)

env_parameter = Table(
    "env_parameter",
    metadata,
    Column("code", Text, primary_key=True),
    Column("name_vi", Text, nullable=False),
    Column("name_en", Text, nullable=False),
    Column("unit", Text, nullable=False),
    Column("limit_1h", Numeric),
    Column("limit_24h", Numeric),
    Column("limit_year", Numeric),
    Column("limit_basis", Text),
    Column("valid_from", Date),
    comment="Observed parameters and their national limits (QCVN 05:2023/BTNMT).",
)
