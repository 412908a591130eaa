"""Cameras (PTZ / fixed): never public; absent for anyone without an allowed role."""

from sqlalchemy import Column, Numeric, Table, Text

from gis.layer import Access, Field, Label, TileSpec, TimeSpec, VectorLayer
from gis.tables.metadata import metadata
from layers.columns import (
    INSTALLED_ON,
    SOURCE_CRS,
    STATUS,
    UPDATED_AT,
    WARD_CODE,
    geom_column,
    id_column,
    sys_period_column,
)

table = Table(
    "camera",
    metadata,
    id_column(),
    sys_period_column(),
    Column("camera_code", Text, nullable=False, unique=True),
    Column("camera_type", Text, nullable=False),  # PTZ | fixed
    Column("bearing_deg", Numeric(5, 1)),
    Column("fov_deg", Numeric(5, 1)),
    Column("range_m", Numeric(7, 1)),
    STATUS.column(server_default="online"),
    Column("stream_url", Text),
    INSTALLED_ON.column(),
    WARD_CODE.column(),
    SOURCE_CRS.column(),
    UPDATED_AT.column(),
    geom_column("POINT"),
    comment="Surveillance and traffic cameras. Never public.",
)

LAYER = VectorLayer(
    id="cameras",
    table=table,
    title=Label(vi="Camera giám sát", en="Cameras"),
    description=Label(
        vi="Camera giám sát: loại (PTZ/cố định), hướng, góc nhìn, tầm xa, trạng thái.",
        en="Cameras: type (PTZ/fixed), bearing, field of view, range, status.",
    ),
    fields=(
        Field("camera_code", Label("Mã camera", "Camera code")),
        Field("camera_type", Label("Loại", "Type")),
        Field("bearing_deg", Label("Hướng (độ)", "Bearing (°)")),
        Field("fov_deg", Label("Góc nhìn (độ)", "Field of view (°)")),
        Field("range_m", Label("Tầm xa (m)", "Range (m)")),
        STATUS.field(),
        Field("stream_url", Label("Luồng video", "Stream URL"), queryable=False),
        INSTALLED_ON.field(),
        WARD_CODE.field(),
    ),
    geometry_type="Point",
    access=Access(
        read=frozenset({"ioc_operator", "security_officer", "admin"}),
        write=frozenset({"security_officer", "admin"}),
        personal=frozenset({"security_officer", "admin"}),
    ),
    tiles=TileSpec(minzoom=12, category="camera_type"),
    time=TimeSpec("installed_on"),
    keywords=("camera", "IOC"),
)
