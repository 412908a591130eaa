"""Alembic environment: targets ``gis.tables.metadata``; URL from the caller or settings.

Every table joins that metadata when its module is imported: the database's own
tables (``gis.tables``), the layers (``layers``) and the security tables.
"""

from __future__ import annotations

import os

from alembic import context
from geoalchemy2 import alembic_helpers
from sqlalchemy import create_engine, pool

# imported for their tables: each module adds its own to the metadata
import auth.tables  # noqa: F401
import gis.tables  # noqa: F401
import layers  # noqa: F401
from gis.db.urls import sqlalchemy_url
from gis.tables.metadata import metadata

config = context.config


def _url() -> str:
    url = (
        config.attributes.get("url")
        or os.environ.get("DOTHI_DB__URL")
        or os.environ.get("DATABASE_URL")
    )
    if not url:
        raise SystemExit("no database URL: set DOTHI_DB__URL or use `dothi db upgrade`")
    return sqlalchemy_url(url)


def include_object(obj, name, type_, reflected, compare_to):  # type: ignore[no-untyped-def]
    # PostGIS' own tables (spatial_ref_sys, topology...) are not ours
    if type_ == "table" and reflected and compare_to is None:
        return False
    # expression indexes (trigram search, migration 0007) are SQL-only: SQLAlchemy
    # metadata cannot state them, so autogenerate must not propose dropping them
    if type_ == "index" and reflected and name.endswith(("_casei", "_folded")):
        return False
    return alembic_helpers.include_object(obj, name, type_, reflected, compare_to)


def run_migrations_online() -> None:
    engine = create_engine(_url(), poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=metadata,
            include_object=include_object,
            process_revision_directives=alembic_helpers.writer,
            render_item=alembic_helpers.render_item,
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


run_migrations_online()
