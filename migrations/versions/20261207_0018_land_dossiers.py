"""Land dossiers with their statutory deadlines on working days (issue 14, item 6).

- ``land_procedure``: the procedures and their processing times in working days, with
  the article each comes from; ``land_dossier_status``: the statuses, open or settled.
- ``public_holiday``: the working-day calendar as data, 2024-2027: the public holidays
  of the Labour Code 2019 (art. 112: 1/1; Tết Nguyên đán, 5 days; Giỗ Tổ Hùng Vương,
  10/3 lunar; 30/4; 1/5; Quốc khánh 2/9 and the day before or after it), the days the
  Government gave civil servants off instead (a holiday on a weekend: the next working
  day, art. 111(3); days swapped to join a holiday to a weekend) and the Saturdays worked
  in exchange (kind ``workday``). Each row names its source; a year whose schedule had
  not been announced when this was written follows the statutory rule and says so
  (``provisional``): correct it with an UPDATE when the schedule is out, since the
  calendar is data, not code.
- ``add_working_days(start, n)``: the n-th working day after ``start`` (the day of
  receipt does not count; Saturdays, Sundays and days off are skipped, a ``workday``
  counts). Outside the calendar's years only weekends are skipped.
- ``land_dossier``: the layer. A BEFORE trigger sets ``ward_code`` from the parcel and
  ``due_on`` from the procedure and the receipt (kept when neither changes, so a later
  edit of the calendar never moves an existing deadline), whatever the writer sent.
  Restricted like the cameras (0006) and written like the parcels (0008): row-level
  security FORCEd, reads and writes only with the claims of the administrator or of a
  land officer on its claimed wards; audited and versioned like every layer table.

Revision ID: 0018
Revises: 0017
"""

import datetime as dt
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from gis.sql.history import drop_history_ddl, history_ddl

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# read like migration 0008's WRITE_POLICY (tests/migrations/test_database_wall.py
# checks both against layers/): table -> (creators, writers, ward-scoped roles)
WRITE_POLICY: dict[str, tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = {
    "land_dossier": (
        ("admin", "land_officer"),
        ("admin", "land_officer"),
        ("land_officer",),
    ),
}
LAYER_IDS = {"land_dossier": "land_dossiers"}
# who reads the rows at all (0006's RESTRICTED): the same roles, a ward's officer
# only its wards' rows
RESTRICTED = {"land_dossier": ("admin", "land_officer")}

D101 = "NĐ 101/2024/NĐ-CP, Điều 22"
PROCEDURES = [
    # code, vi, en, working days, legal basis
    ("registration", "Đăng ký đất đai, cấp Giấy chứng nhận lần đầu",
     "First registration and certificate", 20, D101),
    ("transfer", "Đăng ký biến động do chuyển nhượng, tặng cho, thừa kế",
     "Registration of a transfer, gift or inheritance", 8, D101),
    ("certificate_issue", "Cấp lại Giấy chứng nhận (bị mất)",
     "Re-issue of a lost certificate", 10, D101),
    ("certificate_change", "Cấp đổi Giấy chứng nhận",
     "Exchange of a certificate", 7, D101),
    ("split_merge", "Tách thửa, hợp thửa đất", "Split or merger of parcels", 15, D101),
    ("land_use_change", "Chuyển mục đích sử dụng đất", "Change of land use", 20,
     "NĐ 102/2024/NĐ-CP (thời hạn giải quyết chuyển mục đích sử dụng đất)"),
]  # fmt: skip
STATUSES = [
    ("received", "Đã tiếp nhận", "Received", True),
    ("in_progress", "Đang giải quyết", "In progress", True),
    ("returned_for_supplement", "Trả bổ sung hồ sơ", "Returned for supplement", True),
    ("done", "Đã trả kết quả", "Done", False),
    ("rejected", "Từ chối giải quyết", "Rejected", False),
]

LAW = "Bộ luật Lao động 2019, Điều 112"
COMP = "Bộ luật Lao động 2019, Điều 111(3): nghỉ bù ngày lễ trùng ngày nghỉ hằng tuần"
S2024 = "Lịch nghỉ năm 2024 của công chức (Bộ LĐTBXH, Thông báo 6150/TB-LĐTBXH)"
S2025 = "Lịch nghỉ năm 2025 của công chức (Bộ LĐTBXH, theo Thủ tướng đồng ý)"
S2026 = "Lịch nghỉ năm 2026 của công chức (Bộ Nội vụ, theo Thủ tướng đồng ý)"
P2027 = "provisional: quy tắc của Bộ luật Lao động 2019, chưa có lịch nghỉ năm 2027"
NEW_YEAR = ("Tết Dương lịch", "New Year's Day")
TET = ("Tết Nguyên đán", "Lunar New Year (Tết)")
HUNG = ("Giỗ Tổ Hùng Vương (10/3 âm lịch)", "Hung Kings' Commemoration")
REUNIFICATION = ("Ngày Chiến thắng 30/4", "Reunification Day")
LABOUR = ("Ngày Quốc tế Lao động 1/5", "International Workers' Day")
NATIONAL = ("Quốc khánh 2/9", "National Day")
SWAPPED = ("Nghỉ hoán đổi", "Day off (swapped)")
MAKE_UP = ("Làm bù", "Make-up working day")
COMPENSATORY = ("Nghỉ bù", "Compensatory day off")


def _days(
    kind: str, names: tuple[str, str], source: str, *days: str
) -> list[tuple[str, str, str, str, str]]:
    return [(day, kind, names[0], names[1], source) for day in days]


HOLIDAYS = [
    # 2024: Tết 8-14/2 (Sat 10 and Sun 11 inside); 30/4-1/5 joined to the weekend by
    # taking Monday 29/4 off and working Saturday 4/5; Quốc khánh 2 and 3/9
    *_days("holiday", NEW_YEAR, LAW, "2024-01-01"),
    *_days("holiday", TET, S2024, "2024-02-08", "2024-02-09", "2024-02-10",
           "2024-02-11", "2024-02-12", "2024-02-13", "2024-02-14"),
    *_days("holiday", HUNG, LAW, "2024-04-18"),
    *_days("day_off", SWAPPED, S2024, "2024-04-29"),
    *_days("holiday", REUNIFICATION, LAW, "2024-04-30"),
    *_days("holiday", LABOUR, LAW, "2024-05-01"),
    *_days("workday", MAKE_UP, S2024, "2024-05-04"),
    *_days("holiday", NATIONAL, S2024, "2024-09-02", "2024-09-03"),
    # 2025: Tết 25/1-2/2 (Mon 27 to Fri 31 the working days off); Friday 2/5 off,
    # Saturday 26/4 worked; Quốc khánh 1 and 2/9
    *_days("holiday", NEW_YEAR, LAW, "2025-01-01"),
    *_days("holiday", TET, S2025, "2025-01-27", "2025-01-28", "2025-01-29",
           "2025-01-30", "2025-01-31"),
    *_days("holiday", HUNG, LAW, "2025-04-07"),
    *_days("workday", MAKE_UP, S2025, "2025-04-26"),
    *_days("holiday", REUNIFICATION, LAW, "2025-04-30"),
    *_days("holiday", LABOUR, LAW, "2025-05-01"),
    *_days("day_off", SWAPPED, S2025, "2025-05-02"),
    *_days("holiday", NATIONAL, S2025, "2025-09-01", "2025-09-02"),
    # 2026: Friday 2/1 off, Saturday 10/1 worked; Tết 14-22/2 (Mon 16 to Fri 20 the
    # working days off); Giỗ Tổ on Sunday 26/4, Monday 27/4 off; Quốc khánh 1 and 2/9
    *_days("holiday", NEW_YEAR, LAW, "2026-01-01"),
    *_days("day_off", SWAPPED, S2026, "2026-01-02"),
    *_days("workday", MAKE_UP, S2026, "2026-01-10"),
    *_days("holiday", TET, S2026, "2026-02-16", "2026-02-17", "2026-02-18",
           "2026-02-19", "2026-02-20"),
    *_days("holiday", HUNG, LAW, "2026-04-26"),
    *_days("day_off", COMPENSATORY, COMP, "2026-04-27"),
    *_days("holiday", REUNIFICATION, LAW, "2026-04-30"),
    *_days("holiday", LABOUR, LAW, "2026-05-01"),
    *_days("holiday", NATIONAL, S2026, "2026-09-01", "2026-09-02"),
    # 2027 (provisional): Tết (mùng 1 on Saturday 6/2) 29 Tết to mùng 4, the two
    # weekend days made up on Wednesday 10 and Thursday 11/2; 1/5 on a Saturday,
    # Monday 3/5 off; Quốc khánh 2 and 3/9
    *_days("holiday", NEW_YEAR, P2027, "2027-01-01"),
    *_days("holiday", TET, P2027, "2027-02-05", "2027-02-06", "2027-02-07",
           "2027-02-08", "2027-02-09"),
    *_days("day_off", COMPENSATORY, P2027, "2027-02-10", "2027-02-11"),
    *_days("holiday", HUNG, P2027, "2027-04-16"),
    *_days("holiday", REUNIFICATION, P2027, "2027-04-30"),
    *_days("holiday", LABOUR, P2027, "2027-05-01"),
    *_days("day_off", COMPENSATORY, P2027, "2027-05-03"),
    *_days("holiday", NATIONAL, P2027, "2027-09-02", "2027-09-03"),
]  # fmt: skip

CLAIMED_ROLES = (
    "string_to_array(coalesce(current_setting('dothi.roles', true), ''), ',')"
)
CLAIMED_WARDS = (
    "string_to_array(coalesce(current_setting('dothi.wards', true), ''), ',')"
)


def _array(roles: Sequence[str]) -> str:
    return "ARRAY[" + ", ".join(f"'{r}'" for r in roles) + "]::text[]"


def _may(roles: Sequence[str], scoped: Sequence[str]) -> str:
    """0008's predicate: a full role, or a ward-scoped one on its claimed wards."""
    full = [r for r in roles if r not in scoped]
    terms = [f"{CLAIMED_ROLES} && {_array(full)}"] if full else []
    in_wards = [r for r in roles if r in scoped]
    if in_wards:
        terms.append(
            f"({CLAIMED_ROLES} && {_array(in_wards)} "
            f"AND ward_code = ANY({CLAIMED_WARDS}))"
        )
    return " OR ".join(terms) if terms else "false"


ADD_WORKING_DAYS = """
CREATE FUNCTION add_working_days(start date, n integer) RETURNS date
LANGUAGE sql STABLE PARALLEL SAFE SET search_path = public, pg_temp AS $$
    SELECT CASE WHEN n <= 0 THEN start ELSE (
        SELECT d.day FROM (
            -- 2n + 40 calendar days hold n working days: at most 2 weekend days in
            -- 5 and the longest run of days off (Tết) is 9 days
            SELECT start + i AS day FROM generate_series(1, 2 * n + 40) AS i
        ) AS d
        LEFT JOIN public_holiday AS h ON h.day = d.day
        WHERE CASE WHEN h.kind = 'workday' THEN true
                   WHEN h.kind IS NOT NULL THEN false
                   ELSE extract(isodow FROM d.day) < 6 END
        ORDER BY d.day OFFSET n - 1 LIMIT 1
    ) END
$$;
COMMENT ON FUNCTION add_working_days(date, integer) IS
    'The n-th working day after start (public_holiday: days off and make-up days)';
"""

DERIVE = """
CREATE FUNCTION land_dossier_derive() RETURNS trigger
LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
    days integer;
BEGIN
    SELECT p.ward_code INTO NEW.ward_code FROM land_parcel AS p
    WHERE p.id = NEW.parcel_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no land parcel %', NEW.parcel_id
            USING ERRCODE = 'foreign_key_violation', COLUMN = 'parcel_id',
                  CONSTRAINT = 'fk_land_dossier_parcel_id_land_parcel';
    END IF;
    IF TG_OP = 'UPDATE' AND NEW.received_on IS NOT DISTINCT FROM OLD.received_on
            AND NEW.procedure IS NOT DISTINCT FROM OLD.procedure THEN
        NEW.due_on := OLD.due_on;  -- a deadline, once set, moves with its inputs only
        RETURN NEW;
    END IF;
    SELECT working_days INTO days FROM land_procedure WHERE code = NEW.procedure;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no land procedure %', NEW.procedure
            USING ERRCODE = 'foreign_key_violation', COLUMN = 'procedure',
                  CONSTRAINT = 'fk_land_dossier_procedure_land_procedure';
    END IF;
    NEW.due_on := add_working_days(NEW.received_on, days);
    RETURN NEW;
END $$;
"""


def upgrade() -> None:
    op.create_table(
        "land_procedure",
        sa.Column("code", sa.Text(), nullable=False),
        sa.Column("name_vi", sa.Text(), nullable=False),
        sa.Column("name_en", sa.Text(), nullable=False),
        sa.Column("working_days", sa.Integer(), nullable=False),
        sa.Column("legal_basis", sa.Text(), nullable=False),
        sa.CheckConstraint(
            "working_days BETWEEN 1 AND 365", name="ck_land_procedure_working_days"
        ),
        sa.PrimaryKeyConstraint("code", name="pk_land_procedure"),
        comment="Land dossier procedures and their statutory processing times.",
    )
    op.create_table(
        "land_dossier_status",
        sa.Column("code", sa.Text(), nullable=False),
        sa.Column("name_vi", sa.Text(), nullable=False),
        sa.Column("name_en", sa.Text(), nullable=False),
        sa.Column("is_open", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("code", name="pk_land_dossier_status"),
        comment="Statuses of a land dossier.",
    )
    holiday = op.create_table(
        "public_holiday",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("name_vi", sa.Text(), nullable=False),
        sa.Column("name_en", sa.Text(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.CheckConstraint(
            "kind IN ('holiday', 'day_off', 'workday')", name="ck_public_holiday_kind"
        ),
        sa.PrimaryKeyConstraint("day", name="pk_public_holiday"),
        comment="Public holidays, compensatory days off and make-up working days.",
    )
    names = ("code", "name_vi", "name_en", "working_days", "legal_basis")
    op.bulk_insert(
        sa.table("land_procedure", *(sa.column(n) for n in names)),
        [dict(zip(names, row, strict=True)) for row in PROCEDURES],
    )
    names = ("code", "name_vi", "name_en", "is_open")
    op.bulk_insert(
        sa.table("land_dossier_status", *(sa.column(n) for n in names)),
        [dict(zip(names, row, strict=True)) for row in STATUSES],
    )
    op.bulk_insert(
        holiday,
        [{"day": dt.date.fromisoformat(day), "kind": kind, "name_vi": vi,
          "name_en": en, "source": source} for day, kind, vi, en, source in HOLIDAYS],
    )  # fmt: skip
    op.create_table(
        "land_dossier",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("dossier_no", sa.Text(), nullable=False),
        sa.Column("parcel_id", sa.BigInteger(), nullable=False),
        sa.Column("ward_code", sa.Text(), nullable=True),
        sa.Column("procedure", sa.Text(), nullable=False),
        sa.Column("received_on", sa.Date(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("status", sa.Text(), server_default="received", nullable=False),
        sa.Column("officer", sa.Text(), nullable=True),
        sa.Column("done_on", sa.Date(), nullable=True),
        sa.Column("late_reason", sa.Text(), nullable=True),
        sa.Column("apology_no", sa.Text(), nullable=True),
        sa.Column("apology_on", sa.Date(), nullable=True),
        sa.CheckConstraint(
            "done_on IS NULL OR done_on >= received_on",
            name="ck_land_dossier_done_after_receipt",
        ),
        sa.CheckConstraint(
            "(done_on IS NULL) = (status NOT IN ('done', 'rejected'))",
            name="ck_land_dossier_done_when_settled",
        ),
        sa.CheckConstraint(
            "apology_on IS NULL OR apology_on >= received_on",
            name="ck_land_dossier_apology_after_receipt",
        ),
        sa.ForeignKeyConstraint(
            ["parcel_id"],
            ["land_parcel.id"],
            name="fk_land_dossier_parcel_id_land_parcel",
        ),
        sa.ForeignKeyConstraint(
            ["procedure"],
            ["land_procedure.code"],
            name="fk_land_dossier_procedure_land_procedure",
        ),
        sa.ForeignKeyConstraint(
            ["status"],
            ["land_dossier_status.code"],
            name="fk_land_dossier_status_land_dossier_status",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_land_dossier"),
        sa.UniqueConstraint("dossier_no", name="uq_land_dossier_dossier_no"),
        comment="Land dossiers: procedure, receipt, legal due date, status, apology.",
    )
    op.create_index("ix_land_dossier_parcel_id", "land_dossier", ["parcel_id"])
    op.create_index("ix_land_dossier_ward_code", "land_dossier", ["ward_code"])
    op.create_index(
        "ix_land_dossier_ward_received", "land_dossier", ["ward_code", "received_on"]
    )
    op.create_index("ix_land_dossier_ward_due", "land_dossier", ["ward_code", "due_on"])

    op.execute(ADD_WORKING_DAYS)
    op.execute(DERIVE)
    op.execute(
        "CREATE TRIGGER land_dossier_derive BEFORE INSERT OR UPDATE ON land_dossier "
        "FOR EACH ROW EXECUTE FUNCTION land_dossier_derive()"
    )
    for function in ("add_working_days(date, integer)", "land_dossier_derive()"):
        op.execute(f"REVOKE EXECUTE ON FUNCTION {function} FROM PUBLIC")
    op.execute("GRANT EXECUTE ON FUNCTION add_working_days(date, integer) TO dothi_api")
    op.execute(
        "GRANT SELECT ON land_procedure, land_dossier_status, public_holiday "
        "TO dothi_api"
    )
    # data version (0004) and audit trail (0008), as on every layer table
    op.execute("INSERT INTO layer_version (table_name) VALUES ('land_dossier')")
    op.execute(
        "CREATE TRIGGER land_dossier_version AFTER INSERT OR UPDATE OR DELETE "
        "OR TRUNCATE ON land_dossier FOR EACH STATEMENT "
        "EXECUTE FUNCTION bump_layer_version()"
    )
    for table, (creators, writers, scoped) in WRITE_POLICY.items():
        for event, rows in (("INSERT", "NEW"), ("UPDATE", "NEW"), ("DELETE", "OLD")):
            op.execute(
                f"CREATE TRIGGER {table}_audit_{event.lower()} AFTER {event} ON {table} "
                f"REFERENCING {rows} TABLE AS {rows.lower()}_rows "
                "FOR EACH STATEMENT EXECUTE FUNCTION "
                f"audit_layer_write('{LAYER_IDS[table]}')"
            )
        op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON {table} TO dothi_api")
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
        # migrations, imports, the demo and the CLI run as the owner: unrestricted
        op.execute(
            f"CREATE POLICY {table}_owner ON {table} USING (current_user <> 'dothi_api')"
        )
        op.execute(
            f"CREATE POLICY {table}_by_claims ON {table} FOR SELECT TO dothi_api "
            f"USING ({_may(RESTRICTED[table], scoped)})"
        )
        op.execute(
            f"CREATE POLICY {table}_api_insert ON {table} FOR INSERT TO dothi_api "
            f"WITH CHECK ({_may(creators, scoped)})"
        )
        op.execute(
            f"CREATE POLICY {table}_api_update ON {table} FOR UPDATE TO dothi_api "
            f"USING ({_may(writers, scoped)}) WITH CHECK ({_may(writers, scoped)})"
        )
        op.execute(
            f"CREATE POLICY {table}_api_delete ON {table} FOR DELETE TO dothi_api "
            f"USING ({_may(writers, scoped)})"
        )
        # the layer's statistics (0011: its time span) follow the same roles
        op.execute(
            f"CREATE POLICY layer_stats_{table} ON layer_stats AS RESTRICTIVE "
            f"FOR SELECT TO dothi_api USING (table_name <> '{table}' OR "
            f"{CLAIMED_ROLES} && {_array(RESTRICTED[table])})"
        )
        # history, as 0016 keeps it for every layer, read as the table is read
        for sql in history_ddl(
            table,
            geom=False,
            read_policy=_may(RESTRICTED[table], scoped),
            restricted=True,
        ):
            op.execute(sql)


def downgrade() -> None:
    for table in WRITE_POLICY:
        for sql in drop_history_ddl(table):
            op.execute(sql)
        op.execute(f"DROP POLICY layer_stats_{table} ON layer_stats")
        # layer_stats' row goes with it (ON DELETE CASCADE)
        op.execute(f"DELETE FROM layer_version WHERE table_name = '{table}'")  # noqa: S608
    op.drop_table("land_dossier")  # its triggers and policies go with it
    op.execute("DROP FUNCTION land_dossier_derive()")
    op.execute("DROP FUNCTION add_working_days(date, integer)")
    op.drop_table("public_holiday")
    op.drop_table("land_dossier_status")
    op.drop_table("land_procedure")
