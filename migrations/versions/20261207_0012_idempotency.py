"""Idempotency keys of POSTs: the first answer of a create, kept for its retries.

``idempotency_key`` (declared in ``layers/idempotency.py``) is written by the API role
in the transaction that inserts the feature (``gis.idempotency``). Row-level
security, FORCEd like the other restricted tables (migration 0006), shows and lets
it write only the rows of the principal its claims name (``dothi.auth`` and
``dothi.subject``): a caller can neither read nor take over another's keys. Expired
rows are deleted by ``purge_idempotency_keys(batch)``, SECURITY DEFINER with a fixed
search_path so the API role may delete other principals' *expired* rows and nothing
else; ``SKIP LOCKED`` so that concurrent purges never wait for each other.

Revision ID: 0012
Revises: 0011
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CLAIMED_PRINCIPAL = (
    "coalesce(current_setting('dothi.auth', true), '') || ':' || "
    "coalesce(current_setting('dothi.subject', true), '')"
)


def upgrade() -> None:
    op.create_table(
        "idempotency_key",
        sa.Column("principal", sa.Text(), nullable=False),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("fingerprint", sa.LargeBinary(), nullable=False),
        sa.Column("status", sa.SmallInteger(), nullable=False),
        sa.Column("location", sa.Text(), nullable=True),
        sa.Column("etag", sa.Text(), nullable=True),
        sa.Column("content_type", sa.Text(), nullable=True),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "length(key) BETWEEN 1 AND 255", name="ck_idempotency_key_key_length"
        ),
        sa.PrimaryKeyConstraint("principal", "key", name="pk_idempotency_key"),
        comment="First answers of POSTs with an Idempotency-Key, kept for their "
        "retries.",
    )
    op.create_index("ix_idempotency_key_expires_at", "idempotency_key", ["expires_at"])
    op.execute("GRANT SELECT, INSERT, UPDATE ON idempotency_key TO dothi_api")
    op.execute("ALTER TABLE idempotency_key ENABLE ROW LEVEL SECURITY")
    op.execute("ALTER TABLE idempotency_key FORCE ROW LEVEL SECURITY")
    # migrations, the CLI and tests run as the owner: unrestricted (as in 0006)
    op.execute(
        "CREATE POLICY idempotency_key_owner ON idempotency_key "
        "USING (current_user <> 'dothi_api')"
    )
    op.execute(
        "CREATE POLICY idempotency_key_by_claims ON idempotency_key TO dothi_api "
        f"USING (principal = {CLAIMED_PRINCIPAL}) "
        f"WITH CHECK (principal = {CLAIMED_PRINCIPAL})"
    )
    op.execute(
        """
        CREATE FUNCTION purge_idempotency_keys(batch integer) RETURNS integer
        LANGUAGE sql SECURITY DEFINER SET search_path = public, pg_temp AS $$
            WITH gone AS (
                DELETE FROM idempotency_key WHERE (principal, key) IN (
                    SELECT principal, key FROM idempotency_key
                    WHERE expires_at <= now() ORDER BY expires_at LIMIT batch
                    FOR UPDATE SKIP LOCKED
                ) RETURNING 1
            )
            SELECT count(*)::integer FROM gone
        $$
        """
    )
    op.execute("REVOKE EXECUTE ON FUNCTION purge_idempotency_keys(integer) FROM PUBLIC")
    op.execute("GRANT EXECUTE ON FUNCTION purge_idempotency_keys(integer) TO dothi_api")


def downgrade() -> None:
    op.execute("DROP FUNCTION purge_idempotency_keys(integer)")
    op.execute("REVOKE ALL ON idempotency_key FROM dothi_api")
    op.drop_index("ix_idempotency_key_expires_at", table_name="idempotency_key")
    op.drop_table("idempotency_key")
