"""Layer statistics (extent, time span, size): computed once per data version by one
session, kept in ``layer_stats``, served stale while a new value is made, never
recomputed by each waiting request (issue 11 finding 8, issue 12 point 5).

What is counted: ``layer_stats.refreshes``, which ``refresh_layer_stats`` (the only
statement that scans a layer table for its statistics) increments each time it
computes; and ``pg_stat_user_tables.seq_scan`` of the layer's table, which every
per-request statistics scan of the old code raised.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import time
from collections.abc import Iterator
from typing import Any

import httpx
import psycopg
import pytest

from gis.db.urls import libpq_url
from gis.settings import LimitSettings, Settings
from tests.conftest import create_database, drop_database, served

TREES = "/collections/trees"
_copies = itertools.count()
N_TREES = 120_000  # above the 100,000 rows up to which pages count matches
WEST = 108.0  # the trees of the fixtures stand east of here, around Phan Thiết


@contextlib.contextmanager
def serve(url: str) -> Iterator[str]:
    """A new app instance (a fresh process's state) on ``url``, served by uvicorn."""
    settings = Settings(
        limits=LimitSettings(anonymous_rate_per_s=1_000_000, anonymous_burst=1_000_000)
    )
    with served(settings, url) as served_url:
        yield served_url


def sql(url: str, statement: str, params: Any = None) -> list[tuple[Any, ...]]:
    """Run ``statement`` as the owner (as QGIS or psql would), committed."""
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        cur = conn.execute(statement, params)
        return cur.fetchall() if cur.description else []


def plant(url: str, n: int, *, seed_lon: float = WEST) -> None:
    """``n`` trees inside the box, planted 2001-2020, in one statement."""
    sql(
        url,
        "INSERT INTO tree (tree_code, planted_on, geom) "
        "SELECT 'T' || g, date '2001-01-01' + (g %% 7000), "
        "ST_SetSRID(ST_MakePoint(%s + 0.2 * (g %% 1000) / 1000.0, "
        "10.9 + 0.1 * (g / 1000 %% 1000) / 1000.0), 4326) "
        "FROM generate_series(1, %s) g",
        (seed_lon, n),
    )


def truth(url: str) -> tuple[list[float], list[str]]:
    """The extent and time span of ``tree`` as a scan finds them now."""
    row = sql(
        url,
        "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e), t0, t1 FROM ("
        "SELECT ST_Extent(geom) e, to_char(min(planted_on), 'YYYY-MM-DD') t0, "
        "to_char(max(planted_on), 'YYYY-MM-DD') t1 FROM tree) s",
    )[0]
    return list(row[:4]), [f"{row[4]}T00:00:00Z", f"{row[5]}T00:00:00Z"]


def refreshes(url: str, table: str = "tree") -> int:
    rows = sql(url, "SELECT refreshes FROM layer_stats WHERE table_name = %s", (table,))
    return int(rows[0][0]) if rows else 0


def wait_for(predicate: Any, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def follows(base: str, url: str) -> tuple[list[float], list[str | None]]:
    """The collection's extent once it equals what a scan finds (it may lag by the
    time a refresh takes)."""
    wait_for(lambda: extent(base) == truth(url), timeout=10)
    return extent(base)


def extent(base: str) -> tuple[list[float], list[str | None]]:
    doc = httpx.get(f"{base}{TREES}", timeout=30).json()
    return doc["extent"]["spatial"]["bbox"][0], doc["extent"]["temporal"]["interval"][0]


async def _get_all(base: str, paths: list[str]) -> list[tuple[int, float, Any]]:
    limits = httpx.Limits(max_connections=len(paths))
    async with httpx.AsyncClient(base_url=base, timeout=60, limits=limits) as client:

        async def one(path: str) -> tuple[int, float, Any]:
            t0 = time.monotonic()
            r = await client.get(path)
            return r.status_code, time.monotonic() - t0, r.json()

        return await asyncio.gather(*(one(p) for p in paths))


def stampede(base: str, paths: list[str]) -> list[tuple[int, float, Any]]:
    """Every path requested at once, each on its own connection."""
    return asyncio.run(_get_all(base, paths))


def seq_scans(url: str) -> int:
    """Sequential scans of ``tree`` so far (flushed statistics of every session)."""
    return int(
        sql(url, "SELECT seq_scan FROM pg_stat_user_tables WHERE relname = 'tree'")[0][
            0
        ]
    )


@pytest.fixture(scope="module")
def forest_template(server_url: str, migrated_template: str) -> Iterator[str]:
    """A database with 120,000 trees whose statistics were computed once."""
    url = create_database(server_url, "forest_tpl", template=migrated_template)
    plant(url, N_TREES)
    sql(url, "SELECT refresh_layer_stats('tree', 'planted_on', NULL, 10)")
    yield "forest_tpl"
    drop_database(server_url, "forest_tpl")


@pytest.fixture
def forest(server_url: str, forest_template: str) -> Iterator[str]:
    """A fresh copy of the forest for one test."""
    name = f"forest_{os.getpid()}_{next(_copies)}"
    yield create_database(server_url, name, template=forest_template)
    drop_database(server_url, name)


def test_a_stampede_at_a_stale_value_computes_it_once_and_nobody_waits(
    forest: str,
) -> None:
    """50 items pages and 10 collection documents of a new process, at the moment the
    stored statistics lag an edit and while their refresh is held up: all answer,
    quickly, with the stored value; the statistics are then computed exactly once."""
    url = forest
    before_box, _ = _stored(url)
    plant(url, 1, seed_lon=109.5)  # outside the old extent: the stored value lags
    paths = [f"{TREES}/items?limit=5" for _ in range(50)]
    paths += [TREES for _ in range(10)]
    # the refresh may scan, but it cannot store its result while this row is locked:
    # a refresh as slow as it gets
    with psycopg.connect(libpq_url(url)) as holder, serve(url) as base:
        holder.execute("SELECT 1 FROM layer_stats WHERE table_name = 'tree' FOR UPDATE")
        t0 = time.monotonic()
        answers = stampede(base, paths)
        took = time.monotonic() - t0
        assert all(status == 200 for status, _, _ in answers)
        assert max(latency for _, latency, _ in answers) < 5.0, took
        for _, _, body in answers[:50]:
            assert body["numberReturned"] == 5
        for _, _, body in answers[50:]:  # the stored (stale) value, not a wait
            assert body["extent"]["spatial"]["bbox"][0] == pytest.approx(before_box)
        holder.rollback()  # the refresh stores its result now
        wait_for(lambda: refreshes(url) == 2)
        assert extent(base) == truth(url)
        assert extent(base)[0][2] > 109.5
    assert refreshes(url) == 2


def test_a_crowd_of_pages_never_scans_the_table_for_statistics(forest: str) -> None:
    """The old code ran the statistics query (min/max of the time column over the
    whole table, the exact extent of an unanalysed table) in every request of a
    process whose cache had expired: 50 pages, 50 or more scans of the table. Now a
    page reads a stored size and scans nothing (it reads by primary key)."""
    url = forest
    plant(url, 1)  # the stored values lag
    scans = seq_scans(url)
    with serve(url) as base:
        answers = stampede(base, [f"{TREES}/items?limit=5" for _ in range(50)])
        assert all(status == 200 for status, _, _ in answers)
    # a session's counts reach pg_stat_user_tables at the latest when it ends
    wait_for(lambda: not sql(url, IDLE_APP_SESSIONS))
    assert seq_scans(url) - scans <= 2  # (autovacuum or the planner may add one)
    assert refreshes(url) == 1  # nobody refreshed: pages do not need the extent


IDLE_APP_SESSIONS = (
    "SELECT 1 FROM pg_stat_activity WHERE datname = current_database() "
    "AND application_name = 'dothi'"
)


def _stored(url: str) -> tuple[list[float], tuple[Any, Any]]:
    west, south, east, north, tmin, tmax = sql(
        url,
        "SELECT west, south, east, north, tmin, tmax FROM layer_stats "
        "WHERE table_name = 'tree'",
    )[0]
    return [west, south, east, north], (tmin, tmax)


def test_the_extent_follows_inserts_updates_and_deletes(db_url: str) -> None:
    plant(db_url, 200)
    with serve(db_url) as base:
        first = follows(base, db_url)
        computed = refreshes(db_url)
        for _ in range(5):  # no edit, no new computation, whoever asks
            assert extent(base) == first
        assert refreshes(db_url) == computed

        (far,) = sql(
            db_url,
            "INSERT INTO tree (planted_on, geom) VALUES "
            "('2030-05-01', ST_SetSRID(ST_MakePoint(109.25, 11.5), 4326)) RETURNING id",
        )[0]
        box, interval = follows(base, db_url)
        assert box[2:] == [109.25, 11.5]
        assert interval[1] == "2030-05-01T00:00:00Z"

        sql(
            db_url,
            "UPDATE tree SET geom = ST_SetSRID(ST_MakePoint(107.5, 10.5), 4326), "
            "planted_on = '1990-01-01' WHERE id = %s",
            (far,),
        )
        box, interval = follows(base, db_url)
        assert box[:2] == [107.5, 10.5]
        assert box[2:] == first[0][2:]
        assert interval == ["1990-01-01T00:00:00Z", first[1][1]]

        sql(db_url, "DELETE FROM tree WHERE id = %s", (far,))
        assert follows(base, db_url) == first  # shrunk: the extreme feature is gone
        assert refreshes(db_url) == computed + 3  # one computation per edit
        for _ in range(5):
            extent(base)
        assert refreshes(db_url) == computed + 3


def test_a_new_process_serves_the_stored_value_at_once(forest: str) -> None:
    url = forest
    stored, _ = _stored(url)
    with serve(url) as base:
        t0 = time.monotonic()
        box, _ = extent(base)
        took = time.monotonic() - t0
    assert box == pytest.approx(stored)
    assert refreshes(url) == 1  # read, not recomputed
    assert took < 2.0


def test_only_the_layers_readers_see_its_statistics(db_url: str) -> None:
    """The API role reads a restricted layer's statistics with its readers' claims,
    asks for a refresh, and never writes them itself."""
    sql(
        db_url,
        "INSERT INTO camera (camera_code, camera_type, geom) VALUES "
        "('C1', 'fixed', ST_SetSRID(ST_MakePoint(108.1, 10.93), 4326))",
    )
    with psycopg.connect(libpq_url(db_url)) as conn:
        conn.execute("SET ROLE dothi_api")
        (done,) = conn.execute(
            "SELECT refresh_layer_stats('camera', 'installed_on', NULL, 10)"
        ).fetchone()
        assert done  # the refresh sees every camera: it runs as the owner
        count = "SELECT count(*) FROM layer_stats WHERE table_name = 'camera'"
        assert conn.execute(count).fetchone() == (0,)
        conn.execute("SELECT set_config('dothi.roles', 'public,ioc_operator', true)")
        assert conn.execute(count).fetchone() == (1,)
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("UPDATE layer_stats SET west = 0")
        conn.rollback()
        conn.execute("SET ROLE dothi_api")
        with pytest.raises(psycopg.errors.InvalidParameterValue):
            conn.execute("SELECT refresh_layer_stats('app_user', NULL, NULL, 10)")
        conn.rollback()
        conn.execute("SET ROLE dothi_api")
        with pytest.raises(psycopg.errors.InvalidParameterValue):
            conn.execute("SELECT refresh_layer_stats('tree', 'tree_code', NULL, 10)")
