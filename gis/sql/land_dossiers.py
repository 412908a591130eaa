"""The land office's dossier reports (issue 14, item 6), one statement each, the
document built as JSON by PostgreSQL.

- The weekly table: per ward and ISO week (Monday to Sunday) of the period,
  ``received`` (received that week), ``done`` (settled that week: a result or a
  refusal returned, ``done_on``), ``done_on_time`` (of those, on or before
  ``due_on``), ``late`` (settled late that week, plus still open past their due date
  at the end of the week, or today for the current week: the province's "trễ hạn"
  count, a snapshot, so a dossier open past due for three weeks is late in each of
  them), ``on_time_rate`` (done on time / done; none when nothing was settled; the
  province's goal is 0.98) and ``late_without_apology`` (late ones with no apology
  letter yet). Weeks that have not begun are not listed.
- The overdue list: open dossiers whose due date has passed, most overdue first, with
  the calendar days late. The due-soon list: open dossiers due from today to the
  ``days``-th working day after today (``add_working_days``), soonest first.

"Today" is the city's day (Asia/Ho_Chi_Minh), whatever the session's time zone.
Which rows a caller sees is row-level security's business (migration 0018: a ward's
land officer only its wards' dossiers, with or without a ``ward`` parameter); the
``ward`` parameter narrows the report to one ward.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any, ClassVar, Literal, NamedTuple

from gis.layer import VectorLayer
from gis.sql.compiled import Compiled, sql_identifier

ON_TIME_GOAL = 0.98  # the province's goal for dossiers settled on time
TODAY = "(now() AT TIME ZONE 'Asia/Ho_Chi_Minh')::date"
# code lists of migration 0018 (not layers: they have no module of their own)
PROCEDURES = "land_procedure"
STATUSES = "land_dossier_status"
# the 2025 wards among the administrative units (their names)
WARD_SYSTEM = "19/2025/QĐ-TTg"

ListKind = Literal["overdue", "due_soon"]


class DossierReportRow(NamedTuple):
    """A report's row: the document (bytes, passed through)."""

    doc: bytes


def _ward_filter(alias: str) -> str:
    return f"(%(ward)s::text IS NULL OR {alias}.ward_code = %(ward)s::text)"


def build_weekly(dossiers: VectorLayer, units: VectorLayer) -> str:
    """The SQL of the weekly table (``%(ward)s``, ``%(first)s``, ``%(last)s``)."""
    table = sql_identifier(dossiers.table.name)
    unit_table = sql_identifier(units.table.name)
    # a dossier counts in week k when it was received by k's end and not settled
    # before k began; "as of" is the week's end, or today in the current week
    return f"""WITH bounds AS (
  SELECT %(first)s::date AS first_day, %(last)s::date AS last_day, {TODAY} AS today
),
weeks AS (
  SELECT w::date AS week_start, w::date + 6 AS week_end,
         LEAST(w::date + 6, b.today) AS as_of
  FROM bounds AS b,
       generate_series(date_trunc('week', b.first_day), LEAST(b.last_day, b.today),
                       interval '1 week') AS w
),
dossiers AS (
  SELECT d.ward_code, d.received_on, d.due_on, d.done_on, d.apology_no
  FROM {table} AS d, bounds AS b
  WHERE {_ward_filter("d")} AND d.received_on <= LEAST(b.last_day, b.today) + 6
    AND (d.done_on IS NULL OR d.done_on >= date_trunc('week', b.first_day)::date)
),
wards AS (
  SELECT %(ward)s::text AS ward_code WHERE %(ward)s::text IS NOT NULL
  UNION
  SELECT DISTINCT ward_code FROM dossiers WHERE %(ward)s::text IS NULL
),
counted AS (
  SELECT w.ward_code, k.week_start, k.week_end,
    count(d.received_on) FILTER (
      WHERE d.received_on BETWEEN k.week_start AND k.week_end) AS received,
    count(d.done_on) FILTER (
      WHERE d.done_on BETWEEN k.week_start AND k.week_end) AS done,
    count(d.done_on) FILTER (
      WHERE d.done_on BETWEEN k.week_start AND k.week_end AND d.done_on <= d.due_on
    ) AS done_on_time,
    count(d.received_on) FILTER (WHERE l.late) AS late,
    count(d.received_on) FILTER (WHERE l.late AND d.apology_no IS NULL)
      AS late_without_apology
  FROM wards AS w
  CROSS JOIN weeks AS k
  LEFT JOIN dossiers AS d
    ON d.ward_code IS NOT DISTINCT FROM w.ward_code AND d.received_on <= k.week_end
  LEFT JOIN LATERAL (SELECT
      (d.done_on BETWEEN k.week_start AND k.week_end AND d.done_on > d.due_on)
      OR (d.due_on < k.as_of AND (d.done_on IS NULL OR d.done_on > k.as_of))
      AS late) AS l ON true
  GROUP BY w.ward_code, k.week_start, k.week_end
)
SELECT json_build_object(
  'from', b.first_day, 'to', b.last_day, 'today', b.today,
  'on_time_goal', {ON_TIME_GOAL},
  'weeks', COALESCE((
    SELECT json_agg(json_build_object(
      'ward_code', c.ward_code, 'ward_name', u.name,
      'week', to_char(c.week_start, 'IYYY-"W"IW'),
      'week_start', c.week_start, 'week_end', c.week_end,
      'received', c.received, 'done', c.done, 'done_on_time', c.done_on_time,
      'late', c.late,
      'on_time_rate', round(c.done_on_time::numeric / NULLIF(c.done, 0), 4),
      'late_without_apology', c.late_without_apology
    ) ORDER BY c.ward_code, c.week_start)
    FROM counted AS c
    LEFT JOIN {unit_table} AS u
      ON u.code = c.ward_code AND u.code_system = '{WARD_SYSTEM}'
  ), '[]'::json)
)::text AS doc
FROM bounds AS b"""  # noqa: S608 - catalogue names only; every value is a parameter


def build_list(dossiers: VectorLayer, parcels: VectorLayer, *, kind: ListKind) -> str:
    """The SQL of the overdue list or the due-soon one (``%(ward)s``, ``%(limit)s``,
    and ``%(days)s`` for due-soon)."""
    table = sql_identifier(dossiers.table.name)
    parcel_table = sql_identifier(parcels.table.name)
    if kind == "overdue":
        due = "d.due_on < t.today"
        order = "d.due_on, d.dossier_no"
    else:
        due = "d.due_on BETWEEN t.today AND add_working_days(t.today, %(days)s)"
        order = "d.due_on, d.dossier_no"
    return f"""WITH t AS (SELECT {TODAY} AS today),
listed AS (
  SELECT d.id, d.dossier_no, d.parcel_id, p.survey_ward_code, p.sheet_no,
         p.parcel_no, d.ward_code, d.procedure, pr.name_vi AS procedure_vi,
         pr.name_en AS procedure_en, d.received_on, d.due_on, d.status, d.officer,
         GREATEST(t.today - d.due_on, 0) AS days_late,
         GREATEST(d.due_on - t.today, 0) AS days_left, d.apology_no
  FROM {table} AS d
  CROSS JOIN t
  JOIN {STATUSES} AS s ON s.code = d.status AND s.is_open
  JOIN {PROCEDURES} AS pr ON pr.code = d.procedure
  LEFT JOIN {parcel_table} AS p ON p.id = d.parcel_id
  WHERE {_ward_filter("d")} AND {due}
)
SELECT json_build_object(
  'today', (SELECT today FROM t),
  'numberMatched', (SELECT count(*) FROM listed),
  'dossiers', COALESCE((
    SELECT json_agg(row_to_json(l)) FROM (
      SELECT * FROM listed AS d ORDER BY {order} LIMIT %(limit)s
    ) AS l
  ), '[]'::json)
)::text AS doc"""  # noqa: S608 - catalogue names only; every value is a parameter


@dataclass(frozen=True, slots=True)
class WeeklyStatement:
    """The weekly table of ``ward`` (None: every ward the caller sees) from the week
    of ``first`` to the week of ``last``: a ``gis.db.statements.Statement``."""

    dossiers: VectorLayer
    units: VectorLayer
    first: Any  # datetime.date
    last: Any
    ward: str | None = None
    row: ClassVar[type[DossierReportRow]] = DossierReportRow
    text_as_bytes: ClassVar[bool] = True

    def shape(self) -> Hashable:
        return (self.dossiers.id, self.units.id)

    def params(self) -> dict[str, Any]:
        return {"ward": self.ward, "first": self.first, "last": self.last}

    def build(self) -> Compiled:
        return Compiled(
            build_weekly(self.dossiers, self.units),
            dict.fromkeys(("ward", "first", "last")),
        )


@dataclass(frozen=True, slots=True)
class DossierListStatement:
    """The overdue or due-soon dossiers of ``ward`` (None: every ward the caller
    sees), at most ``limit``: a ``gis.db.statements.Statement``."""

    dossiers: VectorLayer
    parcels: VectorLayer
    kind: ListKind
    limit: int
    ward: str | None = None
    days: int = 0
    row: ClassVar[type[DossierReportRow]] = DossierReportRow
    text_as_bytes: ClassVar[bool] = True

    def shape(self) -> Hashable:
        return (self.dossiers.id, self.parcels.id, self.kind)

    def params(self) -> dict[str, Any]:
        values: dict[str, Any] = {"ward": self.ward, "limit": self.limit}
        if self.kind == "due_soon":
            values["days"] = self.days
        return values

    def build(self) -> Compiled:
        names = ["ward", "limit"] + (["days"] if self.kind == "due_soon" else [])
        sql = build_list(self.dossiers, self.parcels, kind=self.kind)
        return Compiled(sql, dict.fromkeys(names))
