"""The application's connection pool, the claims a request runs under, and
``fetch_one``, the one way statements reach PostgreSQL (metered per request)."""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Hashable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar, cast, overload

import psycopg
from psycopg import AsyncConnection, pq, sql
from psycopg.abc import Buffer
from psycopg.adapt import Loader
from psycopg.rows import RowFactory, RowMaker, namedtuple_row, no_result
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from gis.db.statements import Bound
from gis.db.urls import libpq_url, redact
from gis.settings import Settings
from gis.sql.compiled import Compiled

if TYPE_CHECKING:  # the type psycopg's row factories take; not exported
    from psycopg._cursor_base import BaseCursor

Row = TypeVar("Row")

log = logging.getLogger("dothi.db")

# how long the pool retries one lost connection before it gives the slot up; the
# next waiting request grows the pool again with a fresh first attempt, so this also
# bounds the back-off between attempts: PostgreSQL back is used within ~2 s
RECONNECT_TIMEOUT_S = 5.0

# SQLSTATEs that mean PostgreSQL is not there for now: 57P01 admin_shutdown,
# 57P02 crash_shutdown, 57P03 cannot_connect_now (starting up or in recovery),
# 53300 too_many_connections; and the whole class 08, connection exceptions
UNAVAILABLE_SQLSTATES = frozenset({"57P01", "57P02", "57P03", "53300"})


def unavailable(exc: BaseException) -> bool:
    """Whether ``exc`` means PostgreSQL cannot be reached for now (try again later).

    True for a pool wait that timed out (:class:`~psycopg_pool.PoolTimeout` and the
    pool's other refusals are ``OperationalError`` without SQLSTATE), a connection
    lost or refused (the driver's own errors have no SQLSTATE) and a server that is
    shutting down, starting or full. A statement timeout (57014) is not: the
    database answered, the query was too slow.

    Examples
    --------
    >>> from psycopg import errors
    >>> unavailable(errors.AdminShutdown()), unavailable(errors.QueryCanceled())
    (True, False)
    >>> unavailable(PoolTimeout("couldn't get a connection after 3.00 sec"))
    True
    """
    if not isinstance(exc, psycopg.OperationalError):
        return False
    state = exc.sqlstate
    return state is None or state.startswith("08") or state in UNAVAILABLE_SQLSTATES


class Pool(AsyncConnectionPool):
    """The application's pool, with a share of it for statements without claims.

    Anonymous requests (``fetch_one`` without claims) may hold at most
    ``anonymous_share`` of the connections at once, so however many expensive
    anonymous queries arrive, signed-in callers (the operations centre, the land
    office) always find the rest of the pool; anonymous ones wait their turn for
    the pool timeout at most, then get a 503.
    """

    anonymous: asyncio.Semaphore
    wait_s: float


async def open_pool(url: str, settings: Settings) -> Pool:
    """The application's psycopg 3 pool.

    Connections are in autocommit mode: a read is one round trip, with no BEGIN and
    COMMIT around it, and nothing to reset when the connection goes back.

    A request waits at most ``db.pool_timeout_s`` for a connection; each connection
    is checked (an empty query) before it is handed out, so one that PostgreSQL
    closed while idle (a restart) is replaced instead of failing a request. When
    PostgreSQL is down at start the server starts all the same, answers 503 and
    connects when it is back (one warning here).
    """
    timeout = settings.db.pool_timeout_s
    pool = Pool(
        libpq_url(url),
        min_size=2,
        max_size=settings.db.pool_size,
        kwargs={
            "autocommit": True,
            "row_factory": namedtuple_row,
            "application_name": "dothi",
            # a server that accepts TCP but never answers must not hold a slot
            "connect_timeout": max(1, int(timeout)),
        },
        configure=partial(
            _configure,
            timeout_ms=settings.db.statement_timeout_ms,
            work_mem_kb=settings.db.work_mem_kb,
            temp_file_limit_kb=settings.db.temp_file_limit_kb,
        ),
        check=AsyncConnectionPool.check_connection,
        timeout=timeout,
        reconnect_timeout=RECONNECT_TIMEOUT_S,
        name="dothi",
        open=False,
    )
    share = max(1, int(settings.db.pool_size * settings.db.anonymous_share))
    pool.anonymous = asyncio.Semaphore(share)
    pool.wait_s = timeout
    await pool.open(wait=False)
    try:
        async with pool.connection():
            pass
    except PoolTimeout:
        log.warning(
            "database %s not reachable at start; answering 503 until it is",
            redact(url),
        )
    return pool


API_ROLE = "dothi_api"


async def _configure(
    conn: AsyncConnection[Any],
    *,
    timeout_ms: int,
    work_mem_kb: int = 16 * 1024,
    temp_file_limit_kb: int = 1024 * 1024,
) -> None:
    """Bound the connection's memory, act as the low-privilege API role (migration
    0006), then set the timeout.

    When the login may (the embedded cluster's owner, or a deployment's login that
    is a member of the role), ``SET ROLE``; otherwise the deployment logs in as a
    low-privilege role already. Role settings apply at login only, not on ``SET
    ROLE``, so ``work_mem`` is set here for every connection, and ``temp_file_limit``
    (superusers only) before ``SET ROLE`` when the login is a superuser; a login as
    ``dothi_api`` has it from the role (migration 0009). The statement timeout comes
    last so that this set-up never trips over it.
    """
    row = await (
        await conn.execute(
            # the role is cluster-wide; its grants (migration 0006) are per database
            "SELECT (SELECT pg_has_role(session_user, %s, 'MEMBER') "
            "AND has_schema_privilege(%s, 'public', 'USAGE') "
            "FROM pg_roles WHERE rolname = %s) AS api_role, "
            "current_setting('is_superuser') = 'on' AS superuser",
            (API_ROLE, API_ROLE, API_ROLE),
        )
    ).fetchone()
    await conn.execute(
        sql.SQL("SET work_mem = {}").format(sql.Literal(int(work_mem_kb)))
    )
    if row and row[1]:
        await conn.execute(
            sql.SQL("SET temp_file_limit = {}").format(
                sql.Literal(int(temp_file_limit_kb))
            )
        )
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


@overload
async def fetch_one(
    pool: AsyncConnectionPool,
    statement: Bound[Row],
    *,
    claims: Claims | None = None,
) -> Row | None: ...


@overload
async def fetch_one(
    pool: AsyncConnectionPool,
    statement: Compiled,
    params: dict[str, Any],
    *,
    text_as_bytes: bool = False,
    claims: Claims | None = None,
) -> Any: ...


async def fetch_one(
    pool: AsyncConnectionPool,
    statement: Bound[Any] | Compiled,
    params: dict[str, Any] | None = None,
    *,
    text_as_bytes: bool = False,
    claims: Claims | None = None,
) -> Any:
    """Run a statement; its first row, or None.

    A :class:`~gis.db.statements.Bound` statement (``STATEMENTS.bind``) brings its
    values and its row type, and its row comes back as that type; a ``Compiled``
    one takes ``params`` and its row is a named tuple.

    With ``text_as_bytes`` (a bound statement's own), text columns arrive as bytes:
    a megabyte of GeoJSON is then neither decoded nor re-encoded on its way through
    Python. With ``claims`` (an authenticated principal's) the statement runs in a
    transaction that sets them for the row-level security policies, the audit trail
    and the timeout; without, in autocommit: one round trip, and restricted tables
    show no rows.
    """
    if isinstance(statement, Bound):
        run = _Run(
            statement.sql,
            statement.params,
            typed_row(statement.row),
            statement.text_as_bytes,
        )
    else:
        run = _Run(
            statement.sql, statement.values(params or {}), namedtuple_row, text_as_bytes
        )
    if claims is None and isinstance(pool, Pool):
        try:
            async with asyncio.timeout(pool.wait_s):
                await pool.anonymous.acquire()
        except TimeoutError:
            raise PoolTimeout(
                f"no anonymous share of the pool free in {pool.wait_s:g} s"
            ) from None
        try:
            return await _fetch_one(pool, run, claims)
        finally:
            pool.anonymous.release()
    return await _fetch_one(pool, run, claims)


def typed_row(row: type[Row]) -> RowFactory[Row]:
    """Rows as ``row``, a named tuple whose fields name the statement's columns.

    When the columns are its first fields in order (the usual case) a row is made by
    position, as cheap as psycopg's own named tuples; otherwise by name, missing
    columns keeping their defaults. A column ``row`` has no field for fails the
    fetch (``TypeError``): the statement and its row type disagree.
    """

    def factory(cursor: BaseCursor[Any, Any]) -> RowMaker[Row]:
        res = cursor.pgresult
        if res is None or res.status != pq.ExecStatus.TUPLES_OK:
            return no_result
        names = tuple(res.fname(i) or b"" for i in range(res.nfields))
        maker: RowMaker[Row] = _row_maker(cast(Hashable, row), names)
        return maker

    return factory


@functools.lru_cache(512)
def _row_maker(row: Any, names: tuple[bytes, ...]) -> RowMaker[Any]:
    # column names are the statements' own ASCII labels, in any client encoding
    columns = tuple(name.decode() for name in names)
    fields: tuple[str, ...] = row._fields
    if columns == fields:
        make: RowMaker[Any] = row._make
        return make
    if columns == fields[: len(columns)]:
        return lambda values: row(*values)
    return lambda values: row(**dict(zip(columns, values, strict=True)))


@dataclass(frozen=True, slots=True)
class _Run:
    """What ``_fetch_one`` sends and how it reads the row back."""

    sql: str
    params: dict[str, Any]
    row_factory: RowFactory[Any]
    text_as_bytes: bool


async def _fetch_one(
    pool: AsyncConnectionPool, run: _Run, claims: Claims | None
) -> Any:
    async with pool.connection() as conn:
        started = time.perf_counter()  # after the pool: waiting is not the cost
        try:
            cursor = conn.cursor(row_factory=run.row_factory)
            if run.text_as_bytes:
                cursor.adapters.register_loader("text", _TextAsBytes)
            if claims is None:
                await cursor.execute(run.sql, run.params)
                return await cursor.fetchone()
            async with conn.transaction():
                await cursor.execute(SET_CLAIMS, claims.settings())
                await cursor.execute(run.sql, run.params)
                return await cursor.fetchone()
        finally:
            meter = _METER.get()
            if meter is not None:
                meter.ms += (time.perf_counter() - started) * 1000


@dataclass
class Meter:
    """Database time of the statements run while it is current, in milliseconds."""

    ms: float = 0.0


# the request's meter (api.limits charges anonymous callers by it); a context
# variable, so concurrent requests each see their own
_METER: ContextVar[Meter | None] = ContextVar("dothi_db_meter", default=None)


@contextmanager
def metered() -> Iterator[Meter]:
    """Add up the time ``fetch_one``'s statements take inside this block.

    Examples
    --------
    >>> with metered() as m:
    ...     pass
    >>> m.ms
    0.0
    """
    meter = Meter()
    token = _METER.set(meter)
    try:
        yield meter
    finally:
        _METER.reset(token)
