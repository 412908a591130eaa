"""Database access: URLs, the async engine, migrations and database creation."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import psycopg
from psycopg import AsyncConnection, sql
from psycopg.abc import Buffer
from psycopg.adapt import Loader
from psycopg.rows import namedtuple_row
from psycopg_pool import AsyncConnectionPool
from sqlalchemy.engine import make_url

from gis.settings import Settings
from gis.sql.compiled import Compiled


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


async def open_pool(url: str, settings: Settings) -> AsyncConnectionPool:
    """The application's psycopg 3 pool.

    Connections are in autocommit mode: a read is one round trip, with no BEGIN and
    COMMIT around it, and nothing to reset when the connection goes back.
    """
    pool: AsyncConnectionPool = AsyncConnectionPool(
        libpq_url(url),
        min_size=2,
        max_size=settings.db.pool_size,
        kwargs={
            "autocommit": True,
            "row_factory": namedtuple_row,
            "application_name": "dothi",
        },
        configure=partial(_configure, timeout_ms=settings.db.statement_timeout_ms),
        open=False,
    )
    await pool.open(wait=True, timeout=30)
    return pool


API_ROLE = "dothi_api"


async def _configure(conn: AsyncConnection[Any], *, timeout_ms: int) -> None:
    """Act as the low-privilege API role (migration 0006), then set the timeout.

    When the login may (the embedded cluster's owner, or a deployment's login that
    is a member of the role), ``SET ROLE``; otherwise the deployment logs in as a
    low-privilege role already. The statement timeout comes last so that this
    set-up never trips over it.
    """
    row = await (
        await conn.execute(
            # the role is cluster-wide; its grants (migration 0006) are per database
            "SELECT pg_has_role(session_user, %s, 'MEMBER') "
            "AND has_schema_privilege(%s, 'public', 'USAGE') "
            "FROM pg_roles WHERE rolname = %s",
            (API_ROLE, API_ROLE, API_ROLE),
        )
    ).fetchone()
    if row and row[0]:
        await conn.execute(sql.SQL("SET ROLE {}").format(sql.Identifier(API_ROLE)))
    await conn.execute(
        sql.SQL("SET statement_timeout = {}").format(sql.Literal(int(timeout_ms)))
    )


class _TextAsBytes(Loader):
    """Load text columns as UTF-8 bytes: documents go to the client as they came."""

    def load(self, data: Buffer) -> bytes:
        return bytes(data)


@dataclass(frozen=True)
class Claims:
    """What a request tells PostgreSQL about itself, per transaction (``SET LOCAL``).

    ``roles`` and ``wards`` open the row-level security policies (migrations 0006,
    0008); ``subject``, ``auth``, ``client`` and ``request_id`` fill the audit trail;
    ``timeout_ms`` is the principal's statement timeout.
    """

    roles: frozenset[str]
    wards: frozenset[str] = frozenset()
    subject: str = ""
    auth: str = ""
    client: str = ""
    request_id: str = ""
    timeout_ms: int | None = None

    def settings(self) -> tuple[str, str, str, str, str, str, str]:
        """The values of :data:`SET_CLAIMS`, in order."""
        timeout = str(int(self.timeout_ms)) if self.timeout_ms else ""
        return (
            ",".join(sorted(self.roles)),
            ",".join(sorted(self.wards)),
            self.subject,
            self.auth,
            self.client,
            self.request_id,
            timeout,
        )


# one round trip; an empty timeout keeps the session's (set_config needs a value)
SET_CLAIMS = (
    "SELECT set_config('dothi.roles', %s, true) AS roles, "
    "set_config('dothi.wards', %s, true) AS wards, "
    "set_config('dothi.subject', %s, true) AS subject, "
    "set_config('dothi.auth', %s, true) AS auth, "
    "set_config('dothi.client', %s, true) AS client, "
    "set_config('dothi.request_id', %s, true) AS request_id, "
    "set_config('statement_timeout', coalesce(nullif(%s, ''), "
    "current_setting('statement_timeout')), true) AS timeout"
)


async def fetch_one(
    pool: AsyncConnectionPool,
    compiled: Compiled,
    params: dict[str, Any],
    *,
    text_as_bytes: bool = False,
    claims: Claims | None = None,
) -> Any:
    """Run a compiled statement with ``params``; its first row (named tuple) or None.

    With ``text_as_bytes``, text columns arrive as bytes: a megabyte of GeoJSON is
    then neither decoded nor re-encoded on its way through Python. With ``claims``
    (an authenticated principal's) the statement runs in a transaction that sets
    them for the row-level security policies, the audit trail and the timeout;
    without, in autocommit: one round trip, and restricted tables show no rows.
    """
    async with pool.connection() as conn:
        cursor = conn.cursor()
        if text_as_bytes:
            cursor.adapters.register_loader("text", _TextAsBytes)
        if claims is None:
            await cursor.execute(compiled.sql, compiled.values(params))
            return await cursor.fetchone()
        async with conn.transaction():
            await cursor.execute(SET_CLAIMS, claims.settings())
            await cursor.execute(compiled.sql, compiled.values(params))
            return await cursor.fetchone()


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
