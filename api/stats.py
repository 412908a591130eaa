"""Layer statistics (extent, time span, size) as the database keeps them.

PostgreSQL stores them per layer table with the data version they were computed at
(``layer_stats``, migration 0011) and recomputes them when that version lags the
table's (``refresh_layer_stats``: one session at a time across every worker and
replica). Here, per process, at most one read and one refresh per layer are in
flight; whoever asks meanwhile shares them, so a crowd of requests at the moment the
values go stale costs one look-up and at most one refresh, never one scan each.

- Collection documents (:func:`layer_stats`) read the stored row (a primary-key
  look-up); when it lags, they start the refresh and wait for it at most
  :data:`WAIT_S`, then answer with what is stored: an edit shows at once when the
  refresh is quick, and on a later request when it is not.
- Items pages (:func:`estimated_rows`) only need the size, for the ``numberMatched``
  decision: they take this process's last read and never wait, except for the very
  first read of a layer.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any, TypeVar

from fastapi import Request
from psycopg_pool import AsyncConnectionPool

from api.deps import claims_of
from api.state import app_state
from gis.db.pool import Claims, fetch_one, unavailable
from gis.layer import VectorLayer
from gis.sql.catalog import StatsRow, build_stats_read, build_stats_refresh

log = logging.getLogger("dothi.stats")
T = TypeVar("T")

WAIT_S = 0.25  # a collection document waits this long for a refresh, then moves on
ROWS_TTL_S = 10.0  # items pages re-read the size in the background after this
REFRESH_TIMEOUT_MS = 300_000  # a refresh of a very large table may take this long
RETRY_S = 1.0  # after a refresh that did not run (another session's), or failed: x30


@dataclass(frozen=True)
class LayerStats:
    """The stored statistics of a layer, as read at ``read_at`` (monotonic)."""

    bbox: tuple[float, float, float, float] | None
    interval: tuple[Any, Any] | None
    est_rows: float
    version: int | None  # the data version the values are of; None: never computed
    current: int | None  # the table's data version when read
    read_at: float
    due_at: float  # monotonic time from which a refresh may run

    @property
    def stale(self) -> bool:
        """The table changed after the values were computed (or they never were)."""
        return self.version is None or (
            self.current is not None and self.version < self.current
        )


def _stats_of(layer: VectorLayer, row: StatsRow | None, read_at: float) -> LayerStats:
    if row is None:
        return LayerStats(None, None, 0.0, None, None, read_at, read_at)
    w, s, e, n = row.west, row.south, row.east, row.north
    # all four or none: a layer without an extent has none
    bbox = (
        (w, s, e, n)
        if w is not None and s is not None and e is not None and n is not None
        else None
    )
    interval = (row.tmin, row.tmax) if layer.time and row.version is not None else None
    due = read_at + float(row.due_in_s or 0.0)
    return LayerStats(
        bbox, interval, float(row.est_rows or 0), row.version, row.current, read_at, due
    )


class StatsStore:
    """One process's view of ``layer_stats``, with single-flight reads and refreshes."""

    def __init__(self, pool: AsyncConnectionPool) -> None:
        self._pool = pool
        self._last: dict[str, LayerStats] = {}
        self._reads: dict[str, tuple[float, asyncio.Task[LayerStats]]] = {}
        self._refreshes: dict[str, asyncio.Task[bool]] = {}
        self._retry_at: dict[str, float] = {}
        self._refreshed_at: dict[str, float] = {}

    def last(self, layer: VectorLayer) -> LayerStats | None:
        """The last values read in this process, without any I/O."""
        return self._last.get(layer.id)

    def read(
        self, layer: VectorLayer, claims: Claims | None, *, after: float = 0.0
    ) -> asyncio.Task[LayerStats]:
        """The stored row, from a read started at or after ``after`` (joined when one
        is in flight, else started with ``claims``, which open a restricted layer's
        row: every caller here may see the layer)."""
        pending = self._reads.get(layer.id)
        if pending and not pending[1].done() and pending[0] >= after:
            return pending[1]
        task = _spawn(self._read(layer, claims))
        self._reads[layer.id] = (time.monotonic(), task)
        return task

    async def _read(self, layer: VectorLayer, claims: Claims | None) -> LayerStats:
        started = time.monotonic()
        row = await fetch_one(self._pool, build_stats_read(layer), claims=claims)
        stats = _stats_of(layer, row, started)
        self._last[layer.id] = stats
        return stats

    def refresh(
        self, layer: VectorLayer, stats: LayerStats
    ) -> asyncio.Task[bool] | None:
        """The refresh of ``layer`` in flight, or a new one when ``stats`` lag (it
        waits first until a refresh may run: soon after the last one, a new edit is
        picked up without anybody asking again); None when they do not lag."""
        running = self._refreshes.get(layer.id)
        if running and not running.done():
            return running
        if not stats.stale:
            return None
        due = max(stats.due_at, self._retry_at.get(layer.id, 0.0))
        task = _spawn(self._refresh(layer, due - time.monotonic()))
        self._refreshes[layer.id] = task
        return task

    async def _refresh(self, layer: VectorLayer, delay: float) -> bool:
        if delay > 0:
            await asyncio.sleep(delay)
        compiled = build_stats_refresh(layer)
        try:
            async with self._pool.connection() as conn, conn.transaction():
                await conn.execute(
                    "SELECT set_config('statement_timeout', %s, true)",
                    (str(REFRESH_TIMEOUT_MS),),
                )
                cursor = await conn.execute(compiled.sql, compiled.values({}))
                row = await cursor.fetchone()
        except Exception as exc:
            # an outage is one line (api.problems says the rest), a bug a traceback
            log.warning(
                "refreshing the statistics of %s failed: %s",
                layer.id,
                type(exc).__name__,
                exc_info=not unavailable(exc),
            )
            self._retry_at[layer.id] = time.monotonic() + 30 * RETRY_S
            return False
        done = bool(row and row[0])
        if done:  # reads from now on see the new values
            self._refreshed_at[layer.id] = time.monotonic()
        else:  # another session is at it, or it ran moments ago
            self._retry_at[layer.id] = time.monotonic() + RETRY_S
        return done

    def refreshed_at(self, layer: VectorLayer) -> float:
        """When this process's last refresh of ``layer`` committed (monotonic)."""
        return self._refreshed_at.get(layer.id, 0.0)

    async def close(self) -> None:
        """Cancel what is in flight (at shutdown, before the pool closes)."""
        tasks = [t for _, t in self._reads.values()] + list(self._refreshes.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def _spawn(coro: Coroutine[Any, Any, T]) -> asyncio.Task[T]:
    task = asyncio.get_running_loop().create_task(coro)
    task.add_done_callback(_retrieve)
    return task


def _retrieve(task: asyncio.Task[Any]) -> None:
    # a task nobody waits for any more (a background re-read, or every waiter gone)
    # logs its failure here once, not as "exception never retrieved"
    if not task.cancelled() and (exc := task.exception()) is not None:
        log.info("layer statistics: %r", exc)


def _store(request: Request) -> StatsStore:
    return app_state(request).layer_stats


def _claims(request: Request) -> Claims | None:
    principal = getattr(request.state, "principal", None)
    return claims_of(request) if principal is not None else None


async def _shared(task: asyncio.Task[T]) -> T:
    # a waiter that goes away (client gone) must not cancel the others' task
    return await asyncio.shield(task)


async def layer_stats(request: Request, layer: VectorLayer) -> LayerStats:
    """The stored statistics of ``layer``, refreshed first when that is quick."""
    return (await layer_stats_many(request, [layer]))[0]


async def layer_stats_many(
    request: Request, layers: list[VectorLayer]
) -> list[LayerStats]:
    """The stored statistics of ``layers``; those that lag are refreshed, and waited
    for :data:`WAIT_S` at most, all together."""
    store = _store(request)
    claims = _claims(request)
    # one look-up at a time: a listing takes one pool connection, not one per layer
    stats = [await _shared(store.read(layer, claims)) for layer in layers]
    refreshes = {
        i: task
        for i, layer in enumerate(layers)
        if (task := store.refresh(layer, stats[i])) is not None
    }
    if not refreshes:
        return stats
    await asyncio.wait(refreshes.values(), timeout=WAIT_S)  # cancels nothing
    for i, task in refreshes.items():
        if (
            task.done()
            and not task.cancelled()
            and task.exception() is None
            and task.result()
        ):
            after = store.refreshed_at(layers[i])
            stats[i] = await _shared(store.read(layers[i], claims, after=after))
    return stats


async def estimated_rows(request: Request, layer: VectorLayer) -> float:
    """The planner's estimate of ``layer``'s size; waits only for the first read."""
    store = _store(request)
    last = store.last(layer)
    if last is None:
        return (await _shared(store.read(layer, _claims(request)))).est_rows
    if time.monotonic() - last.read_at > ROWS_TTL_S:
        store.read(layer, _claims(request))  # in the background, for the next ones
    return last.est_rows
