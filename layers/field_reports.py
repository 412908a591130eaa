"""Citizen field reports (phản ánh hiện trường) and the reporters' contacts.

The contact is personal data: it lives in its own restricted table, so the public
collection cannot leak it by any column choice.
"""

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Table,
    Text,
    func,
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
    SOURCE_CRS,
    STATUS,
    UPDATED_AT,
    WARD_CODE,
    geom_column,
    id_column,
    sys_period_column,
)

table = Table(
    "field_report",
    metadata,
    id_column(),
    sys_period_column(),
    Column("report_code", Text, nullable=False, unique=True),
    Column("category", Text, ForeignKey("report_category.code"), nullable=False),
    Column("description", Text, nullable=False),
    # received | assigned | in_progress | resolved | rejected
    STATUS.column(server_default="received"),
    # when the centre received it: the server's clock unless a handler enters it
    Column(
        "received_at",
        DateTime(timezone=True),
        nullable=False,
        server_default=func.now(),
    ),
    Column("deadline_at", DateTime(timezone=True)),
    Column("resolved_at", DateTime(timezone=True)),
    Column("assigned_unit", Text),
    WARD_CODE.column(),
    SOURCE_CRS.column(),
    UPDATED_AT.column(),
    geom_column("POINT"),
    Index("ix_field_report_status", "status", "received_at"),
    comment="Citizen field reports and their handling.",
)

contact = Table(
    "field_report_contact",
    metadata,
    Column("report_id", BigInteger, ForeignKey("field_report.id"), primary_key=True),
    Column("reporter_name", Text),
    Column("phone", Text),
    Column("email", Text),
    comment="Reporter contact. Personal data: restricted.",
)

# a report's handling is the operations centre's: citizens report, they do not close
HANDLERS = frozenset({"ioc_operator", "admin"})

# read through field_report_contact's row-level security (empty without the claims)
REPORTER_SQL = """SELECT json_build_object('name', c.reporter_name, 'phone', c.phone,
'email', c.email) FROM field_report_contact c WHERE c.report_id = field_report.id"""

LAYER = VectorLayer(
    id="field_reports",
    table=table,
    title=Label(vi="Phản ánh hiện trường", en="Citizen field reports"),
    description=Label(
        vi="Phản ánh của người dân: loại, mô tả, trạng thái xử lý, hạn xử lý, đơn vị "
        "được giao.",
        en="Citizens' reports: category, description, handling status, deadline, "
        "assigned unit.",
    ),
    fields=(
        Field("report_code", Label("Mã phản ánh", "Report code")),
        Field("category", Label("Lĩnh vực", "Category")),
        Field("description", Label("Nội dung", "Description")),
        STATUS.field(set_by=HANDLERS),
        Field(
            "received_at", Label("Thời điểm tiếp nhận", "Received at"), set_by=HANDLERS
        ),
        Field("deadline_at", Label("Hạn xử lý", "Deadline"), set_by=HANDLERS),
        Field(
            "resolved_at", Label("Thời điểm hoàn thành", "Resolved at"), set_by=HANDLERS
        ),
        Field("assigned_unit", Label("Đơn vị xử lý", "Assigned unit"), set_by=HANDLERS),
        WARD_CODE.field(),
        personal_field("reporter", Label("Người phản ánh", "Reporter"), REPORTER_SQL),
    ),
    geometry_type="Point",
    # citizens report; the operations centre handles reports and calls reporters back
    access=Access(
        create=frozenset({"citizen", "ioc_operator", "admin"}),
        write=frozenset({"ioc_operator", "admin"}),
        personal=frozenset({"ioc_operator", "admin"}),
    ),
    tiles=TileSpec(
        minzoom=14,
        properties=("category", "status", "received_at"),
        detail_zoom=16,
        category="category",
    ),
    time=TimeSpec("received_at"),
    keywords=("reports", "phản ánh"),
)
