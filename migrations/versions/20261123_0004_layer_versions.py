"""Data versions: every change to a layer's table, by anyone, bumps its version.

A statement-level trigger (cheap: once per statement, not per row) keeps
``layer_version`` current for edits from the API, from QGIS connected to PostGIS
directly, or from psql. ETags, Last-Modified and the tile cache key on it, so the
next request after an edit sees the edit.

Revision ID: 0004
Revises: 0003
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = (
    "admin_unit", "camera", "env_observation", "env_station", "field_report",
    "land_parcel", "lighting_cabinet", "planning_zone", "poi", "power_line", "road",
    "street_light", "tree",
)  # fmt: skip


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE layer_version (
            table_name text PRIMARY KEY,
            version bigint NOT NULL DEFAULT 1,
            changed_at timestamptz NOT NULL DEFAULT now()
        );
        COMMENT ON TABLE layer_version IS
            'Data version per layer table, bumped by a trigger on every change';
        CREATE FUNCTION bump_layer_version() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            INSERT INTO layer_version AS v (table_name) VALUES (TG_TABLE_NAME)
            ON CONFLICT (table_name)
            DO UPDATE SET version = v.version + 1, changed_at = now();
            RETURN NULL;
        END $$;
        """
    )
    for table in TABLES:
        op.execute(f"INSERT INTO layer_version (table_name) VALUES ('{table}')")
        op.execute(
            f"CREATE TRIGGER {table}_version AFTER INSERT OR UPDATE OR DELETE "
            f"OR TRUNCATE ON {table} FOR EACH STATEMENT "
            f"EXECUTE FUNCTION bump_layer_version()"
        )


def downgrade() -> None:
    for table in TABLES:
        op.execute(f"DROP TRIGGER {table}_version ON {table}")
    op.execute("DROP FUNCTION bump_layer_version()")
    op.execute("DROP TABLE layer_version")
