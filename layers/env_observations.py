"""Observations of the environmental stations: one row per station, parameter, time.

A collection without geometry of its own: the station carries the position.
"""

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Double,
    ForeignKey,
    Index,
    Table,
    Text,
)

from gis.layer import Access, Field, Label, TileSpec, TimeSpec, VectorLayer
from gis.tables.metadata import metadata
from layers.columns import id_column, sys_period_column

table = Table(
    "env_observation",
    metadata,
    id_column(),
    sys_period_column(),
    Column("station_id", BigInteger, ForeignKey("env_station.id"), nullable=False),
    Column("parameter", Text, ForeignKey("env_parameter.code"), nullable=False),
    Column("value", Double, nullable=False),
    Column("unit", Text, nullable=False),
    Column("averaging", Text, nullable=False, server_default="1h"),
    Column("observed_at", DateTime(timezone=True), nullable=False),
    Column("qa_flag", Text, nullable=False, server_default="valid"),
    Index("ix_env_observation_series", "station_id", "parameter", "observed_at"),
    Index("ix_env_observation_time", "observed_at"),
    comment="Hourly observations (PM2.5, PM10, NO2, O3, CO, SO2, noise).",
)

LAYER = VectorLayer(
    id="env_observations",
    table=table,
    title=Label(vi="Số liệu quan trắc", en="Environmental observations"),
    description=Label(
        vi="Giá trị quan trắc theo giờ của các trạm: PM2.5, PM10, NO2, O3, CO, SO2, "
        "tiếng ồn.",
        en="Hourly station readings: PM2.5, PM10, NO2, O3, CO, SO2, noise.",
    ),
    fields=(
        Field("station_id", Label("Trạm", "Station")),
        Field("parameter", Label("Thông số", "Parameter")),
        Field("value", Label("Giá trị", "Value")),
        Field("unit", Label("Đơn vị", "Unit")),
        Field("averaging", Label("Thời gian trung bình", "Averaging")),
        Field("observed_at", Label("Thời điểm", "Observed at")),
        Field("qa_flag", Label("Kiểm tra chất lượng", "QA flag")),
    ),
    geometry_type=None,
    # the monitoring network's systems push their readings
    access=Access(create=frozenset({"external_app", "admin"})),
    tiles=TileSpec(),
    time=TimeSpec("observed_at"),
    keywords=("environment", "observations", "quan trắc"),
)
