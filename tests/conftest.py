"""Test fixtures: a real PostGIS cluster started by ``gis.db.embedded`` (the same code
as the server's embedded default), a migrated template database, and a fresh clone of it
for every test that writes. No mocks of the database; no silent skips: if PostgreSQL
or PostGIS is missing, the cluster fixture errors with the install hint.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from gis.db.embedded import EmbeddedCluster
from gis.db.migrate import migrate
from gis.db.urls import libpq_url, with_database
from migrations import MIGRATIONS_DIR

SHARED_DATA = Path(
    os.environ.get(
        "DOTHI_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"
    )
)
_clone_ids = itertools.count()
# Starlette's TestClient sends Host "testserver": trusted in the tests' settings
# only (every Settings() reads it), never among the shipped defaults
os.environ.setdefault("DOTHI_API__TRUSTED_HOSTS", "localhost,127.0.0.1,::1,testserver")


def shared_data(relative: str) -> Path:
    """A file of ``../shared/data``; fails (never skips) with a clear message if absent."""
    path = SHARED_DATA / relative
    if not path.exists():
        pytest.fail(
            f"real test data {path} is missing: these tests read ../shared/data "
            "(set DOTHI_SHARED_DATA to its location)"
        )
    return path


@pytest.fixture(scope="session")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedCluster]:
    """A private PostgreSQL + PostGIS cluster for the whole session."""
    c = EmbeddedCluster(tmp_path_factory.mktemp("pg"))
    c.start()
    yield c
    c.destroy()


@pytest.fixture(scope="session")
def server_url(cluster: EmbeddedCluster) -> str:
    """URL of the cluster's ``postgres`` database (for CREATE DATABASE)."""
    return cluster.url("postgres")


def create_database(server_url: str, name: str, *, template: str | None = None) -> str:
    """Create ``name`` (from ``template`` when given) and return its URL."""
    with psycopg.connect(libpq_url(server_url), autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                sql.Identifier(name)
            )
        )
        stmt = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
        if template:
            stmt += sql.SQL(" TEMPLATE {}").format(sql.Identifier(template))
        conn.execute(stmt)
    return with_database(server_url, name)


def drop_database(server_url: str, name: str) -> None:
    """Drop ``name``, disconnecting its sessions."""
    with psycopg.connect(libpq_url(server_url), autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                sql.Identifier(name)
            )
        )


@pytest.fixture(scope="session")
def migrated_template(server_url: str) -> str:
    """Name of a database migrated to head, used as a template for clones."""
    url = create_database(server_url, "tpl_migrated")
    migrate(url, MIGRATIONS_DIR)
    return "tpl_migrated"


@pytest.fixture
def db_url(server_url: str, migrated_template: str) -> Iterator[str]:
    """A fresh, migrated, empty database for one test."""
    name = f"t_{os.getpid()}_{next(_clone_ids)}"
    url = create_database(server_url, name, template=migrated_template)
    yield url
    drop_database(server_url, name)


@pytest.fixture(scope="session")
def city_url(server_url: str, migrated_template: str) -> str:
    """A read-only demo city (small scale, synthetic only) shared by read tests."""
    from dothi.demo import build_demo

    url = create_database(server_url, "city_small", template=migrated_template)
    build_demo(url, seed=0.42, scale=0.05, open_data=None)
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        conn.execute("ANALYZE")
    return url


@pytest.fixture(scope="session")
def client(city_url: str) -> Iterator[object]:
    """An httpx client on the app over the demo city (anonymous)."""
    from fastapi.testclient import TestClient

    from api.app import create_app
    from gis.settings import LimitSettings, Settings

    # the suite makes thousands of anonymous requests: a limit that still runs
    settings = Settings(
        limits=LimitSettings(anonymous_rate_per_s=1_000_000, anonymous_burst=1_000_000)
    )
    with TestClient(create_app(settings, database_url=city_url)) as c:
        yield c


@contextmanager
def served(settings: object, database_url: str) -> Iterator[str]:
    """The app for ``settings`` served by uvicorn on a free loopback port, configured
    as ``dothi serve`` runs it (api.server: the HTTP limits); yields its URL."""
    import threading
    import time

    import uvicorn

    from api.app import create_app
    from api.server import server_config
    from gis.db.embedded import free_port
    from gis.settings import Settings

    assert isinstance(settings, Settings)
    port = free_port()
    app = create_app(settings, database_url=database_url)
    config = server_config(
        app, settings, host="127.0.0.1", port=port, log_level="warning"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture(scope="session")
def live_url(city_url: str) -> Iterator[str]:
    """The app served by uvicorn on a free loopback port (for GDAL and OWSLib)."""
    from gis.settings import LimitSettings, Settings

    settings = Settings(
        limits=LimitSettings(anonymous_rate_per_s=1_000_000, anonymous_burst=1_000_000)
    )
    with served(settings, city_url) as url:
        yield url
