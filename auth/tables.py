"""The tables of ``auth``: local users, API keys and the sign-in lockout.

Not layers: these tables are never published, and hold credentials (an argon2id
hash per user, a SHA-256 per key: never a password or a key in the clear). Only the
modules of ``auth`` read or write them. They are declared on the one shared
``MetaData``, so Alembic (``migrations/env.py`` imports this module) compares them
with the migrations like every other table.

The CHECK constraints repeat ``gis.principal.ROLES`` and the ward code format so that an
account made with psql cannot hold a role dothi does not know. Alembic does not
compare CHECK constraints: a change of ``ROLES`` needs a migration that replaces
``ck_app_user_roles_known`` and ``ck_api_key_roles_known`` (a test compares them).
"""

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    Identity,
    Integer,
    LargeBinary,
    Table,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY

from gis.principal import ROLES
from gis.tables.metadata import metadata

# role names are the constant ROLES (identifiers), not input: safe to spell out in DDL
ROLES_CHECK = "roles <@ ARRAY[{}]::text[]".format(
    ", ".join(f"'{r}'" for r in sorted(ROLES))
)
# each element five digits (GSO codes); a CHECK cannot use a subquery over the array
WARDS_CHECK = "array_to_string(ward_codes, ',') ~ '^([0-9]{5}(,[0-9]{5})*)?$'"


def _roles() -> Column[list[str]]:
    return Column("roles", ARRAY(Text), nullable=False, server_default=text("'{}'"))


def _ward_codes() -> Column[list[str]]:
    return Column(
        "ward_codes", ARRAY(Text), nullable=False, server_default=text("'{}'")
    )


def _created_at() -> Column[object]:
    return Column(
        "created_at", DateTime(timezone=True), nullable=False, server_default=func.now()
    )


app_user = Table(
    "app_user",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    # stored lower case: one account per name, whatever case it is typed in
    Column("username", Text, nullable=False, unique=True),
    Column("display_name", Text),
    Column("password_hash", Text, nullable=False),  # argon2id, PHC string format
    _roles(),
    _ward_codes(),
    Column("disabled", Boolean, nullable=False, server_default=text("false")),
    _created_at(),
    Column(
        "password_changed_at",
        DateTime(timezone=True),
        nullable=False,
        server_default=func.now(),
    ),
    # bumped by the database when what a sign-in proves changes (migration 0010):
    # remembered sign-ins check it on every request
    Column("credential_version", BigInteger, nullable=False, server_default=text("1")),
    CheckConstraint("username = lower(username)", name="username_lower"),
    CheckConstraint(ROLES_CHECK, name="roles_known"),
    CheckConstraint(WARDS_CHECK, name="ward_codes_format"),
    comment="Local accounts (the embedded default); passwords as argon2id hashes.",
)

api_key = Table(
    "api_key",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    # the 8 characters after "dothi_": not secret, shown to humans, the look-up key
    Column("prefix", Text, nullable=False, unique=True),
    Column("key_hash", LargeBinary, nullable=False),  # SHA-256 of the full key
    Column("name", Text, nullable=False),
    _roles(),
    _ward_codes(),
    _created_at(),
    Column("revoked_at", DateTime(timezone=True)),
    Column("last_used_at", DateTime(timezone=True)),  # written at most once a minute
    CheckConstraint(ROLES_CHECK, name="roles_known"),
    CheckConstraint(WARDS_CHECK, name="ward_codes_format"),
    comment="API keys of external systems; only a SHA-256 of each key is stored.",
)

sign_in_failure = Table(
    "sign_in_failure",
    metadata,
    # the name as presented (normalised), whether or not such an account exists: the
    # lockout must not tell which names are accounts
    Column("username", Text, primary_key=True),
    Column("address", Text, primary_key=True),  # api.limits.client_key
    Column("failures", Integer, nullable=False),
    Column(
        "last_attempt_at",
        DateTime(timezone=True),
        nullable=False,
        server_default=func.now(),
    ),
    Column("locked_until", DateTime(timezone=True)),
    comment="Failed password checks per account name and client address "
    "(the sign-in lockout).",
)
