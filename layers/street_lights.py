"""Street lights (cột/bộ đèn chiếu sáng công cộng)."""

from sqlalchemy import (
    BigInteger,
    Column,
    ForeignKey,
    Integer,
    Numeric,
    Table,
    Text,
)

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
    "street_light",
    metadata,
    id_column(),
    sys_period_column(),
    Column("pole_code", Text),
    Column("lamp_type", Text),  # LED | HPS | MH | ...
    Column("power_w", Integer),
    Column("pole_height_m", Numeric(4, 1)),
    Column("cabinet_id", BigInteger, ForeignKey("lighting_cabinet.id"), index=True),
    Column("circuit_no", Integer),
    STATUS.column(server_default="on", index=True),
    INSTALLED_ON.column(),
    WARD_CODE.column(),
    SOURCE_CRS.column(),
    UPDATED_AT.column(),
    geom_column("POINT"),
    comment="Street light poles and their lamps.",
)

LAYER = VectorLayer(
    id="street_lights",
    table=table,
    title=Label(vi="Đèn chiếu sáng công cộng", en="Street lights"),
    description=Label(
        vi="Cột đèn chiếu sáng: loại đèn, công suất, tủ điều khiển, lộ, trạng thái.",
        en="Street light poles: lamp type, power, cabinet, circuit, status.",
    ),
    fields=(
        Field("pole_code", Label("Số hiệu cột", "Pole code")),
        Field("lamp_type", Label("Loại đèn", "Lamp type")),
        Field("power_w", Label("Công suất (W)", "Power (W)")),
        Field("pole_height_m", Label("Chiều cao cột (m)", "Pole height (m)")),
        Field("cabinet_id", Label("Tủ điều khiển", "Cabinet")),
        Field("circuit_no", Label("Lộ", "Circuit")),
        STATUS.field(),
        INSTALLED_ON.field(),
        WARD_CODE.field(),
    ),
    geometry_type="Point",
    access=Access(write=frozenset({"lighting_crew", "admin"})),
    tiles=TileSpec(
        minzoom=14,
        properties=("status", "lamp_type", "power_w"),
        detail_zoom=17,
        category="status",
    ),
    time=TimeSpec("installed_on"),
    keywords=("lighting", "chiếu sáng"),
)
