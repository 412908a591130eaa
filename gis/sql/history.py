"""The history of every layer (issue 14, item 3): what the database keeps, and the
statements that read it.

Migration 0016 gives each layer table ``t`` (and the parcels' personal tables) a
``sys_period`` (the transaction time of the row's current version) and a
``t_history`` table of its earlier versions, filled by triggers whoever writes:
the API, QGIS connected to PostGIS, psql, ``dothi import``. :func:`history_ddl` is
that DDL for one table, so a later migration that adds a layer gives it history in
one call (and a test fails for a writable layer without it).

Reads:

- *as of an instant* (:func:`with_as_of`): the statement of a normal request,
  prefixed with a CTE of the table's own name that selects the rows valid at the
  instant from the table and its history. The CTE shadows the table, so paging,
  filters, CQL2, CRSs, personal fields and row-level security work unchanged; the
  personal tables named by a field's SQL (land users, certificates) are shadowed
  too, so a parcel's users are those of the same instant.
- *the versions of a feature* (:class:`VersionsStatement`): oldest first, numbered
  1..n (history is append-only, so the numbers are stable), with who made each and
  which properties it changed, computed by PostgreSQL (jsonb).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, NamedTuple

from sqlalchemy import Table

from gis.layer import VectorLayer
from gis.sql.compiled import Compiled, sql_identifier, sql_name

# the columns a history table has beyond its table's (who and how a version ended)
ENDED_COLUMNS = (
    ("ended_op", "text NOT NULL CHECK (ended_op IN ('update', 'delete'))"),
    ("ended_by", "text"),
    ("ended_roles", "text"),
    ("ended_auth", "text"),
    ("ended_client", "text"),
    ("ended_request_id", "text"),
    ("ended_db_user", "text NOT NULL"),
)
HISTORY_SUFFIX = "_history"
# a parameter of the as-of statements: the instant
AS_OF = "as_of"


def _claim(name: str) -> str:
    return f"nullif(current_setting('dothi.{name}', true), '')"


# the end of a version: the writing transaction's start, except when a transaction
# that started later already wrote the row (it committed while this one waited for
# the lock): then one microsecond after that version began, so versions never
# overlap and the later one is still kept (temporal_tables' "adjust" rule)
VERSION_END = (
    "CASE WHEN now() < lower({old}.sys_period) "
    "THEN lower({old}.sys_period) + interval '1 microsecond' ELSE now() END"
)

# the dynamic INSERT of history_keep: %s the history table, the columns (twice)
_KEEP = (
    "INSERT INTO %s (%s, sys_period, ended_op, ended_by, ended_roles, ended_auth,"  # noqa: S608
    " ended_client, ended_request_id, ended_db_user)"
    " SELECT %s, tstzrange(lower(o.sys_period), e.ended_at), $1,"
    f" coalesce({_claim('subject')}, session_user::text),"
    f" {_claim('roles')}, {_claim('auth')}, {_claim('client')},"
    f" {_claim('request_id')}, session_user"
    " FROM old_rows AS o CROSS JOIN LATERAL"
    f" (SELECT {VERSION_END.format(old='o')} AS ended_at) AS e"
    " WHERE lower(o.sys_period) < e.ended_at"
)
_KEEP_SQL = "'" + _KEEP.replace("'", "''") + "'"

# Two trigger functions serve every table (created once, by migration 0016):
# - history_stamp, BEFORE UPDATE, per row: the new version's sys_period; and BEFORE
#   INSERT only for a row that arrives with a sys_period of its own (a client cannot
#   forge it: QGIS copies every attribute of a pasted feature). The column default
#   is the same value, so the INSERT trigger's WHEN, evaluated without PL/pgSQL,
#   spares a bulk import the call (0.72x the rows/s of readings with it per row);
# - history_keep, AFTER UPDATE and AFTER DELETE, per statement, with the transition
#   table old_rows: the ended versions into t_history. The columns are the history
#   table's that the table still has, read from the catalogue per statement (cheap:
#   once per statement, not per row), so a column added to t alone breaks no write
#   (it is simply not kept until it is added to t_history: the test of migration
#   0016 fails until then). An empty range is a version no other transaction could
#   see (inserted or updated earlier in the same transaction): not kept.
FUNCTIONS_SQL = f"""
CREATE FUNCTION history_stamp() RETURNS trigger
LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        NEW.sys_period := tstzrange({VERSION_END.format(old="OLD")}, NULL);
    ELSE
        NEW.sys_period := tstzrange(now(), NULL);
    END IF;
    RETURN NEW;
END $$;

CREATE FUNCTION history_keep() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    history regclass := format('%I.%I', TG_TABLE_SCHEMA,
                               TG_TABLE_NAME || '{HISTORY_SUFFIX}')::regclass;
    cols text;
BEGIN
    SELECT string_agg(quote_ident(h.attname), ', ' ORDER BY h.attnum) INTO cols
    FROM pg_attribute AS h
    JOIN pg_attribute AS t ON t.attrelid = TG_RELID AND t.attname = h.attname
                          AND t.attnum > 0 AND NOT t.attisdropped
    WHERE h.attrelid = history AND h.attnum > 0 AND NOT h.attisdropped
      AND h.attname <> 'sys_period' AND h.attname NOT LIKE 'ended\\_%';
    EXECUTE format({_KEEP_SQL}, history, cols, cols)
    USING lower(TG_OP);
    RETURN NULL;
END $$;
REVOKE EXECUTE ON FUNCTION history_keep() FROM PUBLIC;

-- when each table's history starts (the migration that gave it history): an
-- instant before that has no answer
CREATE TABLE history_start (
    table_name text PRIMARY KEY,
    since timestamptz NOT NULL DEFAULT now()
);
GRANT SELECT ON history_start TO dothi_api;

-- who created a version: the audit trail's create of that feature at that instant
-- (the API may not read the trail itself: only the auditor's claims open it)
CREATE FUNCTION history_created_by(layer text, at timestamptz, feature bigint)
RETURNS text LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = public, pg_temp AS $$
    SELECT coalesce(a.subject, a.db_user) FROM audit_log AS a
    WHERE a.layer = $1 AND a.at = $2 AND a.action = 'create'
      AND $3 = ANY(a.feature_ids)
    ORDER BY a.id LIMIT 1
$$;
REVOKE EXECUTE ON FUNCTION history_created_by(text, timestamptz, bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION history_created_by(text, timestamptz, bigint) TO dothi_api;
"""  # noqa: S608 - constants only

DROP_FUNCTIONS_SQL = """
DROP FUNCTION history_created_by(text, timestamptz, bigint);
DROP TABLE history_start;
DROP FUNCTION history_keep();
DROP FUNCTION history_stamp();
"""


def history_ddl(
    table: str,
    *,
    geom: bool,
    read_policy: str = "true",
    restricted: bool = False,
) -> list[str]:
    """The statements that give ``table`` its history (``FUNCTIONS_SQL`` first).

    ``read_policy`` is the API role's SELECT policy on the history (the table's own,
    repeated); ``restricted`` forces row-level security on the owner too, as
    migration 0006 does for the restricted tables.
    """
    t = sql_identifier(table)
    h = sql_identifier(table + HISTORY_SUFFIX)
    ended = ",\n    ".join(f"{name} {sql}" for name, sql in ENDED_COLUMNS)
    statements = [
        # a non-volatile default: PostgreSQL stores it once, no table rewrite
        f"ALTER TABLE {t} ADD COLUMN sys_period tstzrange NOT NULL "
        "DEFAULT tstzrange(now(), NULL)",
        f"CREATE TABLE {h} (LIKE {t},\n    {ended})",
        f"COMMENT ON TABLE {h} IS 'Earlier versions of {table} (migration 0016): "
        "kept by triggers, append-only'",
        f"CREATE INDEX {sql_identifier(f'ix_{table}_history_id')} "
        f"ON {h} (id, lower(sys_period))",
        f"CREATE INDEX {sql_identifier(f'ix_{table}_history_period')} "
        f"ON {h} USING gist (sys_period)",
        f"CREATE TRIGGER {table}_history_stamp BEFORE UPDATE ON {t} "
        "FOR EACH ROW EXECUTE FUNCTION history_stamp()",
        f"CREATE TRIGGER {table}_history_insert BEFORE INSERT ON {t} FOR EACH ROW "
        "WHEN (NEW.sys_period IS DISTINCT FROM tstzrange(now(), NULL)) "
        "EXECUTE FUNCTION history_stamp()",
        f"CREATE TRIGGER {table}_history_update AFTER UPDATE ON {t} "
        "REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT "
        "EXECUTE FUNCTION history_keep()",
        f"CREATE TRIGGER {table}_history_delete AFTER DELETE ON {t} "
        "REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT "
        "EXECUTE FUNCTION history_keep()",
        f"INSERT INTO history_start (table_name) VALUES ({sql_name(table)})",  # noqa: S608
        f"GRANT SELECT ON {h} TO dothi_api",
        f"ALTER TABLE {h} ENABLE ROW LEVEL SECURITY",
        f"CREATE POLICY {table}_history_api_read ON {h} FOR SELECT TO dothi_api "
        f"USING ({read_policy})",
    ]
    if geom:
        statements.append(
            f"CREATE INDEX {sql_identifier(f'ix_{table}_history_geom')} "
            f"ON {h} USING gist (geom)"
        )
    if restricted:
        statements += [
            f"ALTER TABLE {h} FORCE ROW LEVEL SECURITY",
            f"CREATE POLICY {table}_history_owner ON {h} "
            "USING (current_user <> 'dothi_api')",
        ]
    return statements


def drop_history_ddl(table: str) -> list[str]:
    """Undo :func:`history_ddl` (the history is lost)."""
    t = sql_identifier(table)
    return [
        f"DROP TRIGGER {table}_history_delete ON {t}",
        f"DROP TRIGGER {table}_history_update ON {t}",
        f"DROP TRIGGER {table}_history_insert ON {t}",
        f"DROP TRIGGER {table}_history_stamp ON {t}",
        f"DELETE FROM history_start WHERE table_name = {sql_name(table)}",  # noqa: S608
        f"DROP TABLE {sql_identifier(table + HISTORY_SUFFIX)}",
        f"ALTER TABLE {t} DROP COLUMN sys_period",
    ]


def has_history(table: Table) -> bool:
    """Whether ``table`` keeps its history (migration 0016 or a later one)."""
    return "sys_period" in table.c


# --- as of an instant -----------------------------------------------------------------


def shadowed_tables(layer: VectorLayer, field_sql: Sequence[str]) -> list[Table]:
    """The tables an as-of statement of ``layer`` reads as of the instant: the
    layer's own, and each table with history that a derived field's SQL names (a
    parcel's land users and certificates)."""
    tables = [layer.table]
    known = layer.table.metadata.tables
    for name, other in known.items():
        if other is layer.table or not has_history(other):
            continue
        pattern = re.compile(rf"\b{re.escape(name)}\b")
        if any(pattern.search(sql) for sql in field_sql):
            tables.append(other)
    return tables


def as_of_ctes(tables: Sequence[Table]) -> str:
    """``name AS NOT MATERIALIZED (...)`` for each table: its rows valid at
    ``%(as_of)s``, from the table and its history, with their ``xmin`` (a feature's
    ETag is its row's version, ``gis.edits.row_version``).

    NOT MATERIALIZED: a page reads the CTE twice (the page, numberMatched), and
    PostgreSQL would otherwise materialise it whole; inlined, the conditions and
    the ``ORDER BY id LIMIT`` reach both tables' indexes.
    """
    ctes = []
    for table in tables:
        cols = ", ".join(sql_identifier(c.name) for c in table.c)
        name = sql_identifier(table.name)
        history = sql_identifier(table.name + HISTORY_SUFFIX)
        instant = f"%({AS_OF})s::timestamptz"
        ctes.append(
            f"{name} AS NOT MATERIALIZED (SELECT {cols}, xmin FROM public.{name} "  # noqa: S608
            f"WHERE sys_period @> {instant} UNION ALL SELECT {cols}, xmin "
            f"FROM public.{history} WHERE sys_period @> {instant})"
        )
    return ", ".join(ctes)


def with_as_of(compiled: Compiled, tables: Sequence[Table]) -> Compiled:
    """``compiled`` reading ``tables`` as of ``%(as_of)s``: the same SQL after a CTE
    per table, with the table's own name (a CTE shadows a table of its name in the
    whole statement, subqueries and derived fields included)."""
    return _after_ctes(compiled, as_of_ctes(tables))


def is_append_only(layer: VectorLayer) -> bool:
    """A layer whose rows only the database adds and nobody may change (the audit
    trail): it needs no history, and as of an instant it is the rows whose own time
    had begun by then."""
    return (
        not has_history(layer.table)
        and not layer.access.write
        and not layer.access.create
        and layer.time is not None
        and layer.time.end is None
    )


def with_appended_as_of(compiled: Compiled, layer: VectorLayer) -> Compiled:
    """``compiled`` reading an append-only ``layer`` (:func:`is_append_only`) as of
    ``%(as_of)s``: its rows whose time is at or before the instant."""
    if layer.time is None:
        raise ValueError(f"{layer.id} has no time to read it as of an instant")
    table = layer.table
    cols = ", ".join(sql_identifier(c.name) for c in table.c)
    name = sql_identifier(table.name)
    start = sql_identifier(layer.time.start)
    cte = (
        f"{name} AS NOT MATERIALIZED (SELECT {cols}, xmin FROM public.{name} "  # noqa: S608
        f"WHERE {start} <= %({AS_OF})s::timestamptz)"
    )
    return _after_ctes(compiled, cte)


def _after_ctes(compiled: Compiled, ctes: str) -> Compiled:
    """``compiled`` after ``ctes`` (joined to its own WITH, if it has one)."""
    sql = compiled.sql
    if sql.startswith("WITH RECURSIVE"):  # no builder writes one
        raise ValueError("an as-of statement cannot extend a recursive WITH")
    if sql.startswith("WITH "):
        sql = f"WITH {ctes}, {sql[len('WITH ') :]}"
    else:
        sql = f"WITH {ctes}\n{sql}"
    return Compiled(sql, {**compiled.constants, AS_OF: None}, compiled.literals)


class HistoryStartRow(NamedTuple):
    """When a table's history starts (``history_start``)."""

    since: dt.datetime | None


@dataclass(frozen=True, slots=True)
class HistoryStartStatement:
    """When the history of ``layer``'s table starts: a ``Statement``."""

    layer: VectorLayer
    row: ClassVar[type[HistoryStartRow]] = HistoryStartRow
    text_as_bytes: ClassVar[bool] = False

    def shape(self) -> Hashable:
        return ("history_start", self.layer.id)

    def params(self) -> dict[str, Any]:
        return {}

    def build(self) -> Compiled:
        name = sql_name(self.layer.table.name)
        return Compiled(
            f"SELECT max(since) AS since FROM history_start WHERE table_name = {name}",  # noqa: S608 - a catalogue name
            {},
        )


# --- the versions of a feature --------------------------------------------------------


class VersionsRow(NamedTuple):
    """The versions of a feature: ``doc`` (JSON: ``versions`` and ``deleted``) and
    how many there are (0: no such feature, ever)."""

    doc: bytes
    n: int


def _versions_union(layer: VectorLayer, select: str) -> str:
    t = sql_identifier(layer.table.name)
    h = sql_identifier(layer.table.name + HISTORY_SUFFIX)
    return (
        f"SELECT {select.format(r='h', ended_op='h.ended_op', ended_by='h.ended_by')} "  # noqa: S608
        f"FROM {h} AS h WHERE h.id = %(fid)s UNION ALL "
        f"SELECT {select.format(r='t', ended_op='NULL', ended_by='NULL')} "
        f"FROM {t} AS t WHERE t.id = %(fid)s"
    )


def build_versions(layer: VectorLayer) -> str:
    """The versions document of feature ``%(fid)s`` of ``layer``.

    ``changed`` compares each version's stored properties (the layer's fields that
    are columns; derived ones, such as a parcel's land users, live in other tables)
    and geometry with the previous version's, as jsonb.
    """
    columns = [f.name for f in layer.fields if f.sql is None]
    props = ", ".join(f"{sql_name(c)}, {{r}}.{sql_identifier(c)}" for c in columns)
    geom = "{r}.geom" if layer.geometry_type is not None else "NULL::geometry"
    select = (
        "{r}.sys_period, {ended_op}::text AS ended_op, {ended_by}::text AS ended_by, "
        f"jsonb_build_object({props}) AS props, {geom} AS g"
    )
    layer_name = sql_name(layer.id)
    return f"""WITH v AS ({_versions_union(layer, select)}),
n AS (
  SELECT row_number() OVER w AS version, v.*,
         lag(props) OVER w AS prev, lag(g) OVER w AS prev_g,
         lag(ended_by) OVER w AS made_by, lag(ended_op) OVER w AS prev_op
  FROM v WINDOW w AS (ORDER BY lower(sys_period))
),
d AS (
  SELECT n.*, (n.version = 1 OR n.prev_op = 'delete') AS created FROM n
)
SELECT json_build_object(
  'versions', coalesce(json_agg(json_build_object(
    'version', d.version,
    'valid_from', lower(d.sys_period),
    'valid_to', upper(d.sys_period),
    'operation', CASE WHEN d.created THEN 'create' ELSE 'update' END,
    'by', CASE WHEN d.created
               THEN history_created_by({layer_name}, lower(d.sys_period), %(fid)s)
               ELSE d.made_by END,
    'changed', CASE WHEN d.created THEN '[]'::json ELSE (
      SELECT coalesce(json_agg(c.k ORDER BY c.k = 'geometry', c.k), '[]'::json)
      FROM (SELECT e.k FROM jsonb_each(d.props) AS e(k, val)
            WHERE d.prev -> e.k IS DISTINCT FROM e.val
            UNION ALL SELECT 'geometry' WHERE d.g IS DISTINCT FROM d.prev_g) AS c(k)
    ) END
  ) ORDER BY d.version), '[]'::json),
  'deleted', (SELECT json_build_object('at', upper(l.sys_period), 'by', l.ended_by)
              FROM d AS l WHERE l.ended_op = 'delete'
                AND l.version = (SELECT max(version) FROM d))
)::text AS doc, count(*) AS n
FROM d"""  # noqa: S608 - catalogue names only; the id is a parameter


@dataclass(frozen=True, slots=True)
class VersionsStatement:
    """The versions of feature ``feature_id`` of ``layer``: a ``Statement``."""

    layer: VectorLayer
    feature_id: int
    row: ClassVar[type[VersionsRow]] = VersionsRow
    text_as_bytes: ClassVar[bool] = True

    def shape(self) -> Hashable:
        return ("versions", self.layer.id)

    def params(self) -> dict[str, Any]:
        return {"fid": self.feature_id}

    def build(self) -> Compiled:
        return Compiled(build_versions(self.layer), {"fid": None})


class VersionStartRow(NamedTuple):
    """When version n of a feature began (its ``sys_period``'s start), and how many
    versions the feature has."""

    started: dt.datetime | None
    n: int


@dataclass(frozen=True, slots=True)
class VersionStartStatement:
    """The start of version ``version`` of a feature: a ``Statement``. The feature
    as of that instant is that version (versions never overlap)."""

    layer: VectorLayer
    feature_id: int
    version: int
    row: ClassVar[type[VersionStartRow]] = VersionStartRow
    text_as_bytes: ClassVar[bool] = False

    def shape(self) -> Hashable:
        return ("version_start", self.layer.id)

    def params(self) -> dict[str, Any]:
        return {"fid": self.feature_id, "n": self.version}

    def build(self) -> Compiled:
        union = _versions_union(layer=self.layer, select="{r}.sys_period")
        sql = (
            "SELECT (SELECT lower(sys_period) FROM v ORDER BY lower(sys_period) "
            "OFFSET %(n)s - 1 LIMIT 1) AS started, (SELECT count(*) FROM v) AS n"
        )
        return Compiled(f"WITH v AS ({union})\n{sql}", {"fid": None, "n": None})
