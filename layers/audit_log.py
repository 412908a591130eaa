"""The audit trail: every write to a layer and every read of personal data.

Rows are written by PostgreSQL only: edits by statement-level triggers on the layer
tables (so QGIS connected directly and psql are audited too), personal reads by the
read statement itself (one statement: no read without its audit row). Who, how, from
which client and which request come from the request's claims; ``db_user`` is the
database login for edits made outside the API. Readable by the auditor role only
(and row-level security refuses it to the API role without the auditor's claims);
nobody can change it through the API.
"""

from sqlalchemy import BigInteger, CheckConstraint, Column, DateTime, Index, Table, Text
from sqlalchemy.dialects.postgresql import ARRAY

from gis.layer import Access, Field, Label, TimeSpec, VectorLayer
from gis.tables.metadata import metadata
from layers.columns import id_column

ACTIONS = ("read_personal", "create", "update", "delete")


def _claim(name: str) -> str:
    return f"nullif(current_setting('dothi.{name}', true), '')"


table = Table(
    "audit_log",
    metadata,
    id_column(),
    Column("at", DateTime(timezone=True), nullable=False, server_default="now()"),
    Column("action", Text, nullable=False),
    Column("layer", Text, nullable=False),
    Column("feature_ids", ARRAY(BigInteger), nullable=False),
    Column("subject", Text),
    Column("roles", Text),
    Column("auth", Text),
    Column("client", Text),
    Column("request_id", Text),
    Column("db_user", Text, nullable=False),
    CheckConstraint(
        "action IN ('read_personal', 'create', 'update', 'delete')",
        name="audit_log_action",
    ),
    Index("ix_audit_log_at", "at"),
    Index("ix_audit_log_layer_at", "layer", "at"),
    Index("ix_audit_log_subject_at", "subject", "at"),
    comment="Who wrote what, and who read personal data. Auditor only.",
)

LAYER = VectorLayer(
    id="audit_log",
    table=table,
    title=Label(vi="Nhật ký kiểm toán", en="Audit trail"),
    description=Label(
        vi="Ai đã sửa dữ liệu, ai đã xem dữ liệu cá nhân: thời điểm, lớp, đối tượng, "
        "cách xác thực, máy khách.",
        en="Who changed data and who read personal data: when, which layer and "
        "features, how they authenticated, from which client.",
    ),
    fields=(
        Field("at", Label("Thời điểm", "At")),
        Field("action", Label("Hành động", "Action")),
        Field("layer", Label("Lớp dữ liệu", "Layer")),
        Field(
            "feature_ids",
            Label("Đối tượng", "Features"),
            queryable=False,
            sortable=False,
        ),
        Field("subject", Label("Người dùng", "Subject")),
        Field("roles", Label("Vai trò", "Roles")),
        Field("auth", Label("Cách xác thực", "Authentication")),
        Field("client", Label("Máy khách", "Client")),
        Field("request_id", Label("Mã yêu cầu", "Request id")),
        Field("db_user", Label("Tài khoản CSDL", "Database user")),
    ),
    geometry_type=None,
    access=Access(
        read=frozenset({"auditor"}),
        write=frozenset(),
        personal=frozenset(),
    ),
    time=TimeSpec("at"),
    keywords=("audit", "kiểm toán"),
)
