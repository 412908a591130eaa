"""Database access: URLs, the async engine, migrations and database creation."""

from __future__ import annotations

from pathlib import Path

import psycopg
from psycopg import sql
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from gis.settings import Settings


def sqlalchemy_url(url: str) -> str:
    """``url`` with the psycopg 3 driver (async and sync use the same dialect).

    Examples
    --------
    >>> sqlalchemy_url("postgresql://u@h/db")
    'postgresql+psycopg://u@h/db'
    """
    u = make_url(url)
    return u.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)


def libpq_url(url: str) -> str:
    """``url`` as libpq understands it (no SQLAlchemy driver suffix)."""
    u = make_url(url)
    return u.set(drivername="postgresql").render_as_string(hide_password=False)


def with_database(url: str, database: str) -> str:
    """``url`` pointing at another database of the same server."""
    return make_url(url).set(database=database).render_as_string(hide_password=False)


def redact(url: str) -> str:
    """``url`` with its password hidden, for logs and messages."""
    return make_url(url).render_as_string(hide_password=True)


def ensure_database(server_url: str, name: str) -> str:
    """Create database ``name`` on the server when absent; return its URL."""
    with psycopg.connect(libpq_url(server_url), autocommit=True) as conn:
        exists = conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", (name,)
        ).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return with_database(server_url, name)


def create_engine(url: str, settings: Settings) -> AsyncEngine:
    """The application's async engine (psycopg 3), pool sized from settings."""
    return create_async_engine(
        sqlalchemy_url(url),
        pool_size=settings.db.pool_size,
        max_overflow=settings.db.max_overflow,
        pool_pre_ping=False,
        connect_args={
            "options": f"-c statement_timeout={settings.db.statement_timeout_ms}",
            "application_name": "dothi",
        },
    )


def alembic_config(url: str, script_location: Path) -> object:
    """An Alembic ``Config`` for ``url`` with the migrations at ``script_location``."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(script_location))
    cfg.attributes["url"] = sqlalchemy_url(url)
    return cfg


def migrate(url: str, script_location: Path, revision: str = "head") -> None:
    """Upgrade the database at ``url`` to ``revision``."""
    from alembic import command

    command.upgrade(alembic_config(url, script_location), revision)  # type: ignore[arg-type]
