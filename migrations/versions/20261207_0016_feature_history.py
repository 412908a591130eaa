"""History of every layer: earlier versions kept by the database (issue 14, item 3).

For each table of ``HISTORY`` (every layer table that is written: 0008's
``WRITE_POLICY``, and the parcels' personal tables, land users and certificates):

- ``sys_period tstzrange``: the transaction time of the row's current version. Added
  with a non-volatile default (``tstzrange(now(), NULL)``: the migration's instant),
  so PostgreSQL stores the default once and rewrites no table, even at 2,000,000
  parcels; the history of a table therefore starts when this migration ran
  (``history_start``), and an as-of read before that is refused.
- ``<table>_history``: the table's columns (``LIKE``: its NOT NULLs, no keys, no
  defaults) and who ended each version (``ended_op`` 'update' or 'delete';
  ``ended_by``: the request's ``dothi.subject``, else the session's user; the other
  claims as ``audit_log`` takes them; ``ended_db_user``). Indexed by (id, start),
  GiST on ``sys_period`` and on ``geom`` where the table has one.
- Triggers (``gis.sql.history``): BEFORE INSERT OR UPDATE per row sets the new
  version's ``sys_period``; AFTER UPDATE and AFTER DELETE per statement (transition
  tables, as 0008's audit) copy the ended versions, with ``sys_period`` closed at
  the transaction's start. Several updates of a row in one transaction keep one
  version (the empty ranges are skipped). The copying function runs as its owner
  (SECURITY DEFINER, fixed search_path): the API role may read history, never write
  it.
- Row-level security on each history table repeats its table's read policy: public
  layers for everyone, cameras for the claims 0006 names, land users and
  certificates as 0008 scopes them (a ward's land officer: certificates of parcels
  of their wards, then or now).

Not kept: TRUNCATE (it fires no row trigger: a truncated table loses its history
of those rows; nothing in dothi truncates a layer), changes to the schema, and
``sys_period`` itself is never published.

RULE for later migrations (a test enforces it): a migration that ADDS A COLUMN to a
table with history adds the same column to ``<table>_history`` (nullable: earlier
versions lack it); until then writes still work but the column is not kept, and
as-of reads of that layer fail. A migration that adds a WRITABLE LAYER gives it
history: ``for sql in gis.sql.history.history_ddl(table, geom=...): op.execute(sql)``
(and ``layers/``'s Table gets ``sys_period_column()``).

Revision ID: 0016
Revises: 0015
"""

from collections.abc import Sequence

from alembic import op

from gis.sql.history import (
    DROP_FUNCTIONS_SQL,
    FUNCTIONS_SQL,
    drop_history_ddl,
    history_ddl,
)

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CLAIMED_ROLES = (
    "string_to_array(coalesce(current_setting('dothi.roles', true), ''), ',')"
)
CLAIMED_WARDS = (
    "string_to_array(coalesce(current_setting('dothi.wards', true), ''), ',')"
)
# table -> whether it has a geometry; the 13 of 0008's WRITE_POLICY (a test checks
# they agree with layers/), then the parcels' personal tables
HISTORY: dict[str, bool] = {
    "admin_unit": True, "camera": True, "env_observation": False,
    "env_station": True, "field_report": True, "land_parcel": True,
    "lighting_cabinet": True, "planning_zone": True, "poi": True,
    "power_line": True, "road": True, "street_light": True, "tree": True,
    # in this order: each history's read policy names the one before it
    "land_certificate": False, "land_user": False,
}  # fmt: skip
# the restricted tables' read policies (0006 for cameras, 0008 for the parcels'
# personal data), repeated on their history; the others are public
RESTRICTED_READ = {
    "camera": f"{CLAIMED_ROLES} && "
    "ARRAY['ioc_operator', 'security_officer', 'admin']::text[]",
    "land_certificate": (
        f"{CLAIMED_ROLES} && ARRAY['admin']::text[] OR "  # noqa: S608 - constants
        f"({CLAIMED_ROLES} && ARRAY['land_officer']::text[] AND ("
        "EXISTS (SELECT 1 FROM land_parcel p WHERE p.id = "
        f"land_certificate_history.parcel_id AND p.ward_code = ANY({CLAIMED_WARDS}))"
        " OR EXISTS (SELECT 1 FROM land_parcel_history p WHERE p.id = "
        f"land_certificate_history.parcel_id AND p.ward_code = ANY({CLAIMED_WARDS}))"
        "))"
    ),
    # the certificates' own policies scope these to the claimed wards
    "land_user": (
        f"{CLAIMED_ROLES} && ARRAY['admin']::text[] OR "  # noqa: S608 - constants
        f"({CLAIMED_ROLES} && ARRAY['land_officer']::text[] AND ("
        "EXISTS (SELECT 1 FROM land_certificate c "
        "WHERE c.land_user_id = land_user_history.id) OR "
        "EXISTS (SELECT 1 FROM land_certificate_history c "
        "WHERE c.land_user_id = land_user_history.id)))"
    ),
}


def upgrade() -> None:
    op.execute(FUNCTIONS_SQL)
    for table, geom in HISTORY.items():
        policy = RESTRICTED_READ.get(table, "true")
        for sql in history_ddl(
            table, geom=geom, read_policy=policy, restricted=table in RESTRICTED_READ
        ):
            op.execute(sql)


def downgrade() -> None:
    for table in reversed(HISTORY):
        for sql in drop_history_ddl(table):
            op.execute(sql)
    op.execute(DROP_FUNCTIONS_SQL)
