"""Environmental monitoring stations (quan trắc môi trường)."""

from sqlalchemy import Boolean, Column, Table, Text

from gis.layer import Access, Field, Label, TileSpec, TimeSpec, VectorLayer
from gis.tables.metadata import metadata
from layers.columns import (
    INSTALLED_ON,
    SOURCE_CRS,
    UPDATED_AT,
    WARD_CODE,
    geom_column,
    id_column,
    sys_period_column,
)

table = Table(
    "env_station",
    metadata,
    id_column(),
    sys_period_column(),
    Column("station_code", Text, nullable=False, unique=True),
    Column("name", Text, nullable=False),
    Column("medium", Text, nullable=False, server_default="air"),  # air | water | noise
    # VN_AQI is computed only for automatic continuous stations (QĐ 1459/QĐ-TCMT)
    Column("automatic", Boolean, nullable=False, server_default="true"),
    Column("operator", Text),
    INSTALLED_ON.column(),
    WARD_CODE.column(),
    SOURCE_CRS.column(),
    UPDATED_AT.column(),
    geom_column("POINT"),
    comment="Environmental monitoring stations.",
)

LAYER = VectorLayer(
    id="env_stations",
    table=table,
    title=Label(vi="Trạm quan trắc môi trường", en="Environmental stations"),
    description=Label(
        vi="Trạm quan trắc không khí, nước, tiếng ồn.",
        en="Air, water and noise monitoring stations.",
    ),
    fields=(
        Field("station_code", Label("Mã trạm", "Station code")),
        Field("name", Label("Tên trạm", "Name")),
        Field("medium", Label("Thành phần môi trường", "Medium")),
        Field("automatic", Label("Tự động liên tục", "Automatic continuous")),
        Field("operator", Label("Đơn vị vận hành", "Operator")),
        INSTALLED_ON.field(),
        WARD_CODE.field(),
    ),
    geometry_type="Point",
    access=Access(write=frozenset({"admin"})),
    tiles=TileSpec(minzoom=8, category="medium"),
    time=TimeSpec("installed_on"),
    keywords=("environment", "air quality", "quan trắc"),
)
