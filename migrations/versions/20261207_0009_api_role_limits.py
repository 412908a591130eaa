"""Bounds on the API role's database work, and the secret that signs paging tokens.

Memory. ``work_mem`` (each sort or hash of a statement, before it spills to disk) and
``temp_file_limit`` (the disk a session may spill to; over it the statement fails,
which the API answers as a 503) are set on ``dothi_api`` for the deployments that log
in as that role. Role settings apply at login only, never on ``SET ROLE``: the
embedded cluster (and any deployment whose login is a member of the role) gets them
from the pool's connection set-up instead (``gis.db.pool._configure``, from
``DbSettings.work_mem_kb`` / ``temp_file_limit_kb``, the same defaults as here).
``temp_file_limit`` can only be set by a superuser: when the migrating user is not
one, only ``work_mem`` is set here, and a login as ``dothi_api`` has no temp file
limit unless an administrator runs ``ALTER ROLE dothi_api SET temp_file_limit =
'1GB'`` (README, Limits). Roles are cluster-wide: so are these settings, and
downgrade resets them.

Paging tokens. ``app_secret`` holds one random 32-byte key per purpose, made once
here, so every worker and replica of a database signs paging tokens alike and a
restart keeps the links it gave valid; ``DOTHI_AUTH__SECRET_KEY``, when set, takes its
place. Only the owner and the API role read it.

Revision ID: 0009
Revises: 0008
"""

import secrets
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # the same values as DbSettings.work_mem_kb and temp_file_limit_kb (16 MB, 1 GB)
    op.execute(
        """
        DO $$
        BEGIN
            IF (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
                ALTER ROLE dothi_api SET work_mem = '16MB';
                ALTER ROLE dothi_api SET temp_file_limit = '1GB';
            ELSE
                BEGIN
                    ALTER ROLE dothi_api SET work_mem = '16MB';
                EXCEPTION WHEN insufficient_privilege THEN
                    RAISE NOTICE 'dothi_api: work_mem left to the connection set-up';
                END;
                RAISE NOTICE 'dothi_api: temp_file_limit needs a superuser (README)';
            END IF;
        END $$;
        """
    )
    op.create_table(
        "app_secret",
        sa.Column("name", sa.Text(), primary_key=True),
        sa.Column("value", sa.LargeBinary(), nullable=False),
        sa.CheckConstraint("length(value) >= 32", name="ck_app_secret_length"),
        comment="Server secrets made once by migration 0009 (paging token key).",
    )
    op.execute(
        sa.text(
            "INSERT INTO app_secret (name, value) VALUES ('paging', :v)"
        ).bindparams(v=secrets.token_bytes(32))
    )
    op.execute("GRANT SELECT ON app_secret TO dothi_api")


def downgrade() -> None:
    op.execute("REVOKE ALL ON app_secret FROM dothi_api")
    op.drop_table("app_secret")
    op.execute(
        """
        DO $$
        BEGIN
            ALTER ROLE dothi_api RESET temp_file_limit;
            ALTER ROLE dothi_api RESET work_mem;
        EXCEPTION WHEN insufficient_privilege THEN
            RAISE NOTICE 'dothi_api: role settings left in place';
        END $$;
        """
    )
