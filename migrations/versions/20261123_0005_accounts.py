"""Accounts: local users (argon2id password hashes) and API keys (SHA-256 hashes).

The role list is frozen here, as it was when this revision was written; a later
change of ``gis.principal.ROLES`` replaces the ``*_roles_known`` constraints in its own
revision.

Revision ID: 0005
Revises: 0004
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ROLES_CHECK = (
    "roles <@ ARRAY['admin', 'auditor', 'citizen', 'external_app', 'ioc_operator', "
    "'land_officer', 'lighting_crew', 'planner', 'public', 'security_officer', "
    "'tree_crew']::text[]"
)
WARDS_CHECK = "array_to_string(ward_codes, ',') ~ '^([0-9]{5}(,[0-9]{5})*)?$'"


def _array(name: str) -> sa.Column:
    return sa.Column(
        name,
        postgresql.ARRAY(sa.Text()),
        server_default=sa.text("'{}'"),
        nullable=False,
    )


def _stamp(name: str, *, default: bool) -> sa.Column:
    return sa.Column(
        name,
        sa.DateTime(timezone=True),
        server_default=sa.func.now() if default else None,
        nullable=not default,
    )


def upgrade() -> None:
    op.create_table(
        "app_user",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("username", sa.Text(), nullable=False),
        sa.Column("display_name", sa.Text(), nullable=True),
        sa.Column("password_hash", sa.Text(), nullable=False),
        _array("roles"),
        _array("ward_codes"),
        sa.Column(
            "disabled", sa.Boolean(), server_default=sa.text("false"), nullable=False
        ),
        _stamp("created_at", default=True),
        _stamp("password_changed_at", default=True),
        sa.CheckConstraint(
            "username = lower(username)", name=op.f("ck_app_user_username_lower")
        ),
        sa.CheckConstraint(ROLES_CHECK, name=op.f("ck_app_user_roles_known")),
        sa.CheckConstraint(WARDS_CHECK, name=op.f("ck_app_user_ward_codes_format")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_app_user")),
        sa.UniqueConstraint("username", name=op.f("uq_app_user_username")),
        comment="Local accounts (the embedded default); passwords as argon2id hashes.",
    )
    op.create_table(
        "api_key",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("prefix", sa.Text(), nullable=False),
        sa.Column("key_hash", sa.LargeBinary(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        _array("roles"),
        _array("ward_codes"),
        _stamp("created_at", default=True),
        _stamp("revoked_at", default=False),
        _stamp("last_used_at", default=False),
        sa.CheckConstraint(ROLES_CHECK, name=op.f("ck_api_key_roles_known")),
        sa.CheckConstraint(WARDS_CHECK, name=op.f("ck_api_key_ward_codes_format")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_key")),
        sa.UniqueConstraint("prefix", name=op.f("uq_api_key_prefix")),
        comment="API keys of external systems; only a SHA-256 of each key is stored.",
    )


def downgrade() -> None:
    op.drop_table("api_key")
    op.drop_table("app_user")
