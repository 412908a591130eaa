"""The pool keeps a share for signed-in callers, whatever anonymous ones run."""

from __future__ import annotations

import asyncio
import time

import pytest
from psycopg_pool import PoolTimeout

from gis.db.pool import Claims, fetch_one, open_pool
from gis.settings import DbSettings, Settings
from gis.sql.compiled import Compiled

SLOW = Compiled("SELECT pg_sleep(1.5) AS slept", {})
QUICK = Compiled("SELECT 1 AS one", {})
OPERATOR = Claims(roles=frozenset({"ioc_operator"}))


def test_anonymous_queries_never_take_the_whole_pool(db_url: str) -> None:
    """Found in review: expensive anonymous queries could hold every connection,
    and the operations centre then waited for the pool and got 503s."""
    settings = Settings(db=DbSettings(pool_size=2, pool_timeout_s=0.5))

    async def run() -> None:
        pool = await open_pool(db_url, settings)
        try:
            hog = asyncio.create_task(fetch_one(pool, SLOW, {}))
            await asyncio.sleep(0.2)  # the anonymous share (1 of 2) is taken
            with pytest.raises(PoolTimeout):
                await fetch_one(pool, QUICK, {})  # another anonymous one waits, 503
            started = time.monotonic()
            row = await fetch_one(pool, QUICK, {}, claims=OPERATOR)
            assert row.one == 1
            assert time.monotonic() - started < 0.4  # signed in: no wait
            await hog
            assert (await fetch_one(pool, QUICK, {})).one == 1  # the share is back
        finally:
            await pool.close()

    asyncio.run(run())
