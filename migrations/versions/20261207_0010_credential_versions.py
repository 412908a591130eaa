"""Credential versions and sign-in lockouts.

``app_user.credential_version`` is bumped by the database whenever what a sign-in
proves changes (password hash, roles, wards, disabled, username), by the CLI, by
psql or by anyone else. A process that remembers a Basic sign-in checks, with one
indexed call of ``app_user_current(id, version)`` per request, that the version it
remembered is still the account's and the account is enabled: disabling an account
bites on the very next request in every process. The function is SECURITY DEFINER
so that the API role learns one boolean and reads no account row.

``sign_in_failure`` holds the failed password checks per (account name, client
address): the lockout with back-off of ``auth.signin.verify_password``, shared by every
worker and replica. It is read and written by the sign-in check only (as the owner),
never by the API role.

Revision ID: 0010
Revises: 0009
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# what a Basic sign-in proves: a change to any of these ends remembered sign-ins
PROVEN = ("password_hash", "roles", "ward_codes", "disabled", "username")


def upgrade() -> None:
    op.add_column(
        "app_user",
        sa.Column(
            "credential_version",
            sa.BigInteger(),
            server_default=sa.text("1"),
            nullable=False,
        ),
    )
    op.execute(
        """
        CREATE FUNCTION bump_credential_version() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            NEW.credential_version := OLD.credential_version + 1;
            RETURN NEW;
        END $$
        """
    )
    old = ", ".join(f"OLD.{c}" for c in PROVEN)
    new = ", ".join(f"NEW.{c}" for c in PROVEN)
    op.execute(
        f"CREATE TRIGGER app_user_credential_version BEFORE UPDATE OF "
        f"{', '.join(PROVEN)} ON app_user FOR EACH ROW "
        f"WHEN (({old}) IS DISTINCT FROM ({new})) "
        "EXECUTE FUNCTION bump_credential_version()"
    )
    op.execute(
        """
        CREATE FUNCTION app_user_current(account_id bigint, version bigint)
        RETURNS boolean LANGUAGE plpgsql STABLE SECURITY DEFINER
        SET search_path = public, pg_temp AS $$
        BEGIN
            -- plpgsql keeps the plan of this primary-key look-up between calls
            RETURN EXISTS (
                SELECT 1 FROM app_user
                WHERE id = account_id AND credential_version = version
                AND NOT disabled
            );
        END $$
        """
    )
    op.execute("REVOKE EXECUTE ON FUNCTION bump_credential_version() FROM PUBLIC")
    op.execute(
        "REVOKE EXECUTE ON FUNCTION app_user_current(bigint, bigint) FROM PUBLIC"
    )
    op.execute(
        "GRANT EXECUTE ON FUNCTION app_user_current(bigint, bigint) TO dothi_api"
    )
    op.create_table(
        "sign_in_failure",
        sa.Column("username", sa.Text(), nullable=False),
        sa.Column("address", sa.Text(), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column(
            "last_attempt_at",
            sa.DateTime(timezone=True),
            server_default=sa.func.now(),
            nullable=False,
        ),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("username", "address", name=op.f("pk_sign_in_failure")),
        comment="Failed password checks per account name and client address "
        "(the sign-in lockout).",
    )


def downgrade() -> None:
    op.drop_table("sign_in_failure")
    op.execute("DROP FUNCTION app_user_current(bigint, bigint)")
    op.execute("DROP TRIGGER app_user_credential_version ON app_user")
    op.execute("DROP FUNCTION bump_credential_version()")
    op.drop_column("app_user", "credential_version")
