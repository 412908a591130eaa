"""Indexes for the common text filters: case- and accent-insensitive search.

A citizen types "phan thiet" and must find "Phan Thiết": CQL2 ``CASEI`` compiles to
``lower(x)`` and ``ACCENTI`` to NFD decomposition, combining marks removed and đ→d
(``gis/cql2/``). These trigram GIN indexes are on exactly those expressions, so
``LIKE '%...%'`` on them is an index scan. Codes (ward, land use, status) have btree
indexes from their tables' migrations.

Revision ID: 0007
Revises: 0006
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (table, text column) searched by name or address
SEARCHED = (
    ("poi", "name"),
    ("road", "name"),
    ("land_parcel", "address"),
    ("admin_unit", "name"),
    ("planning_zone", "plan_name"),
)
FOLDED = (
    "lower(translate(regexp_replace(normalize({col}, NFD), "
    "E'[\\u0300-\\u036f]', '', 'g'), 'đĐ', 'dD'))"
)


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for table, col in SEARCHED:
        op.execute(
            f"CREATE INDEX ix_{table}_{col}_casei ON {table} "
            f"USING gin (lower({col}) gin_trgm_ops)"
        )
        op.execute(
            f"CREATE INDEX ix_{table}_{col}_folded ON {table} "
            f"USING gin (({FOLDED.format(col=col)}) gin_trgm_ops)"
        )


def downgrade() -> None:
    for table, col in SEARCHED:
        op.execute(f"DROP INDEX ix_{table}_{col}_folded")
        op.execute(f"DROP INDEX ix_{table}_{col}_casei")
