"""PostgreSQL as the second wall: a low-privilege API role and row-level security.

The API's connections act as ``dothi_api`` (``SET ROLE`` when the login is allowed
to, or a login created with only that membership): it may read the public layers,
and the restricted tables only through row-level security policies that look at the
request's claims, which the API sets per transaction with
``set_config('dothi.roles', ..., true)``. Without claims a restricted table returns
no rows, so even a bug in the API's policy cannot read cameras, land users,
certificates or reporters' contacts for an anonymous visitor. RLS is FORCEd, so the
tables' owner is bound by it too. EXECUTE on dothi's functions is revoked from PUBLIC.

Roles are cluster-wide: they are created when missing and left in place on
downgrade (other databases of the cluster may use them); grants and policies go.

Revision ID: 0006
Revises: 0005
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PUBLIC_TABLES = (
    "admin_unit", "admin_unit_lineage", "env_observation", "env_parameter",
    "env_station", "field_report", "land_parcel", "land_use_type", "lighting_cabinet",
    "planning_zone", "poi", "power_line", "report_category", "road", "street_light",
    "tree", "tree_category", "aqi_band", "layer_version",
)  # fmt: skip
# restricted table -> roles whose claims open it
RESTRICTED = {
    "camera": ("ioc_operator", "security_officer", "admin"),
    "land_user": ("land_officer", "admin", "auditor"),
    "land_certificate": ("land_officer", "admin", "auditor"),
    "field_report_contact": ("ioc_operator", "admin"),
}
# authentication reads these before any claims exist: only the API role, and only
# while authenticating (dothi.authenticating = on)
ACCOUNT_TABLES = ("app_user", "api_key")


def _claim_check(roles: tuple[str, ...]) -> str:
    wanted = ", ".join(f"'{r}'" for r in roles)
    return (
        "string_to_array(coalesce(current_setting('dothi.roles', true), ''), ',') "
        f"&& ARRAY[{wanted}]"
    )


def upgrade() -> None:
    op.execute(
        """
        DO $$
        BEGIN
            IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'dothi_api') THEN
                CREATE ROLE dothi_api NOLOGIN;
            END IF;
        END $$;
        """
    )
    op.execute("GRANT USAGE ON SCHEMA public TO dothi_api")
    op.execute("GRANT SELECT ON spatial_ref_sys TO dothi_api")
    for table in PUBLIC_TABLES:
        op.execute(f"GRANT SELECT ON {table} TO dothi_api")
    op.execute("GRANT UPDATE (last_used_at) ON api_key TO dothi_api")
    for table in (*RESTRICTED, *ACCOUNT_TABLES):
        op.execute(f"GRANT SELECT ON {table} TO dothi_api")
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
        # migrations, imports, the demo and the CLI run as the owner: unrestricted
        op.execute(
            f"CREATE POLICY {table}_owner ON {table} USING (current_user <> 'dothi_api')"
        )
    for table, roles in RESTRICTED.items():
        op.execute(
            f"CREATE POLICY {table}_by_claims ON {table} FOR SELECT TO dothi_api "
            f"USING ({_claim_check(roles)})"
        )
    # the API role sees accounts only while authenticating a request
    for table in ACCOUNT_TABLES:
        op.execute(
            f"CREATE POLICY {table}_authenticating ON {table} TO dothi_api USING "
            "(coalesce(current_setting('dothi.authenticating', true), '') = 'on')"
        )
    op.execute("REVOKE EXECUTE ON FUNCTION bump_layer_version() FROM PUBLIC")


def downgrade() -> None:
    op.execute("GRANT EXECUTE ON FUNCTION bump_layer_version() TO PUBLIC")
    for table in ACCOUNT_TABLES:
        op.execute(f"DROP POLICY {table}_authenticating ON {table}")
    for table in RESTRICTED:
        op.execute(f"DROP POLICY {table}_by_claims ON {table}")
    for table in (*RESTRICTED, *ACCOUNT_TABLES):
        op.execute(f"DROP POLICY {table}_owner ON {table}")
        op.execute(f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY")
    op.execute("REVOKE ALL ON ALL TABLES IN SCHEMA public FROM dothi_api")
    op.execute("REVOKE USAGE ON SCHEMA public FROM dothi_api")
