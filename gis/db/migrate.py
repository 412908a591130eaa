"""Migrations: Alembic, configured for a database URL."""

from __future__ import annotations

from pathlib import Path

from gis.db.urls import sqlalchemy_url


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
