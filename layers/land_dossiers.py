"""Land dossiers (hồ sơ đất đai): applications on a parcel and their legal deadlines.

A dossier (registration, transfer, certificate issue or change, split or merge,
land-use change) is received on a day and must be settled within the procedure's
statutory processing time, counted in working days: the day of receipt does not
count, Saturdays, Sundays and the days off of ``public_holiday`` do not either (and a
weekend day worked in exchange for a day off does). The database keeps the ward (the
parcel's) and the due date (``add_working_days``, migration 0018) whatever a client
sends, so a report never trusts a client's arithmetic.

Restricted: only the land officers (their wards' dossiers; row-level security, FORCEd)
and the administrator see the layer at all. It has no geometry: a dossier is about a
parcel, whose shape is the parcel's (``parcel_id``), not a copy that would drift when
the parcel is edited, split or merged.
"""

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    Table,
    Text,
)

from gis.layer import Access, Field, Label, TimeSpec, VectorLayer
from gis.tables.metadata import metadata
from layers.columns import WARD_CODE, id_column, sys_period_column

# the procedures and their statutory processing times in working days (values are
# data: migration 0018, with the article each comes from)
land_procedure = Table(
    "land_procedure",
    metadata,
    Column("code", Text, primary_key=True),
    Column("name_vi", Text, nullable=False),
    Column("name_en", Text, nullable=False),
    Column("working_days", Integer, nullable=False),
    Column("legal_basis", Text, nullable=False),
    CheckConstraint("working_days BETWEEN 1 AND 365", name="working_days"),
    comment="Land dossier procedures and their statutory processing times.",
)

land_dossier_status = Table(
    "land_dossier_status",
    metadata,
    Column("code", Text, primary_key=True),
    Column("name_vi", Text, nullable=False),
    Column("name_en", Text, nullable=False),
    # still being handled: its due date can pass
    Column("is_open", Boolean, nullable=False),
    comment="Statuses of a land dossier.",
)

# the working-day calendar: the days off on working days, and the weekend days
# worked in exchange for one (kind 'workday'); weekends are not listed
public_holiday = Table(
    "public_holiday",
    metadata,
    Column("day", Date, primary_key=True),
    Column("kind", Text, nullable=False),  # holiday | day_off | workday
    Column("name_vi", Text, nullable=False),
    Column("name_en", Text, nullable=False),
    Column("source", Text, nullable=False),
    CheckConstraint("kind IN ('holiday', 'day_off', 'workday')", name="kind"),
    comment="Public holidays, compensatory days off and make-up working days.",
)

table = Table(
    "land_dossier",
    metadata,
    id_column(),
    sys_period_column(),
    Column("dossier_no", Text, nullable=False, unique=True),
    Column(
        "parcel_id",
        BigInteger,
        ForeignKey("land_parcel.id"),
        nullable=False,
        index=True,
    ),
    WARD_CODE.column(),
    Column("procedure", Text, ForeignKey("land_procedure.code"), nullable=False),
    Column("received_on", Date, nullable=False),
    Column("due_on", Date, nullable=False),
    Column(
        "status",
        Text,
        ForeignKey("land_dossier_status.code"),
        nullable=False,
        server_default="received",
    ),
    Column("officer", Text),
    Column("done_on", Date),
    Column("late_reason", Text),
    Column("apology_no", Text),
    Column("apology_on", Date),
    CheckConstraint(
        "done_on IS NULL OR done_on >= received_on", name="done_after_receipt"
    ),
    CheckConstraint(
        "(done_on IS NULL) = (status NOT IN ('done', 'rejected'))",
        name="done_when_settled",
    ),
    CheckConstraint(
        "apology_on IS NULL OR apology_on >= received_on", name="apology_after_receipt"
    ),
    # the weekly table and the overdue lists read a ward's dossiers by these days
    Index("ix_land_dossier_ward_received", "ward_code", "received_on"),
    Index("ix_land_dossier_ward_due", "ward_code", "due_on"),
    comment="Land dossiers: procedure, receipt, legal due date, status, apology.",
)

LAYER = VectorLayer(
    id="land_dossiers",
    table=table,
    title=Label(vi="Hồ sơ đất đai", en="Land dossiers"),
    description=Label(
        vi="Hồ sơ đất đai theo thửa: thủ tục, ngày tiếp nhận, hạn giải quyết theo "
        "ngày làm việc, trạng thái, cán bộ xử lý, thư xin lỗi khi trễ hạn.",
        en="Land dossiers by parcel: procedure, day received, due date in working "
        "days, status, handling officer, apology letter when late.",
    ),
    fields=(
        Field("dossier_no", Label("Số hồ sơ", "Dossier number")),
        Field("parcel_id", Label("Thửa đất", "Land parcel")),
        WARD_CODE.field(server_kept=True),
        Field("procedure", Label("Thủ tục", "Procedure")),
        Field("received_on", Label("Ngày tiếp nhận", "Received on")),
        Field("due_on", Label("Hạn giải quyết", "Due on"), server_kept=True),
        Field("status", Label("Trạng thái", "Status")),
        Field("officer", Label("Cán bộ xử lý", "Handling officer")),
        Field("done_on", Label("Ngày trả kết quả", "Settled on")),
        Field("late_reason", Label("Lý do trễ hạn", "Reason for delay")),
        Field("apology_no", Label("Số thư xin lỗi", "Apology letter number")),
        Field("apology_on", Label("Ngày thư xin lỗi", "Apology letter date")),
    ),
    geometry_type=None,
    # a ward's land officers handle that ward's dossiers; nobody else sees them
    access=Access(
        read=frozenset({"land_officer", "admin"}),
        write=frozenset({"land_officer", "admin"}),
        personal=frozenset({"land_officer", "admin"}),
    ),
    time=TimeSpec("received_on"),
    keywords=("hồ sơ", "đất đai", "dossier", "thủ tục hành chính"),
)
