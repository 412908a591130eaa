"""The land office's reads (issue 14): the parcel look-up (route, ``property=value``
and CQL2), a parcel's planning information, its VN-2000 coordinate table and its
versions through dothi, and the look-up's own SQL straight on PostGIS, from the
same random parcels, at a given number of concurrent clients.

    uv run python bench/land_office.py BASE_URL DSN [--clients 16] [--requests 2000]

Prints p50/p99 milliseconds per way of asking. The parcels are drawn at random from
the whole table (``TABLESAMPLE``), so the answers come from cold and warm pages alike.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import psycopg

from gis.sql.parcel_lookup import build_lookup
from gis.sql.planning import build_planning
from layers import CATALOGUE
from layers.admin_units import lineage

ITEMS = "/collections/land_parcels/items"


def _sample(dsn: str, n: int) -> list[tuple[Any, ...]]:
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            "SELECT ward_code, survey_ward_code, sheet_no, parcel_no, id FROM land_parcel "
            "TABLESAMPLE SYSTEM (1) LIMIT %s",
            (n,),
        ).fetchall()
    random.Random(1).shuffle(rows)  # noqa: S311 - a sample, not a secret
    return rows


async def _timed(
    calls: list[Callable[[], Awaitable[None]]], clients: int
) -> list[float]:
    queue = list(calls)
    times: list[float] = []

    async def worker() -> None:
        while queue:
            call = queue.pop()
            t = time.perf_counter()
            await call()
            times.append((time.perf_counter() - t) * 1000)

    await asyncio.gather(*(worker() for _ in range(clients)))
    return times


def _report(name: str, times: list[float]) -> None:
    q = statistics.quantiles(times, n=100)
    print(f"{name:28s} n={len(times):5d} p50={q[49]:7.2f} ms  p99={q[98]:7.2f} ms")


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("base")
    ap.add_argument("dsn")
    ap.add_argument("--clients", type=int, default=16)
    ap.add_argument("--requests", type=int, default=2000)
    args = ap.parse_args()
    rows = _sample(args.dsn, args.requests)
    with psycopg.connect(args.dsn) as conn:
        n = conn.execute("SELECT count(*) FROM land_parcel").fetchone()
    print(f"land_parcel: {n[0] if n else 0} rows; {args.clients} clients")
    limits = httpx.Limits(max_connections=args.clients)
    async with httpx.AsyncClient(base_url=args.base, limits=limits, timeout=30) as http:

        def ask(path: str, params: dict[str, Any]) -> Callable[[], Awaitable[None]]:
            async def call() -> None:
                r = await http.get(path, params=params)
                if r.status_code != 200:
                    raise SystemExit(f"{r.status_code} {r.text[:300]}")

            return call

        ways: dict[str, list[Callable[[], Awaitable[None]]]] = {
            "lookup (new ward)": [
                ask("/collections/land_parcels/lookup",
                    {"ward_code": w, "sheet_no": s, "parcel_no": p})
                for w, _, s, p, _ in rows
            ],
            "lookup (survey commune)": [
                ask("/collections/land_parcels/lookup",
                    {"ward_code": c, "sheet_no": s, "parcel_no": p})
                for _, c, s, p, _ in rows
            ],
            "property=value": [
                ask(ITEMS, {"survey_ward_code": c, "sheet_no": s, "parcel_no": p})
                for _, c, s, p, _ in rows
            ],
            "CQL2 filter": [
                ask(ITEMS, {"filter": f"survey_ward_code = '{c}' AND sheet_no = {s} "
                            f"AND parcel_no = {p}"})
                for _, c, s, p, _ in rows
            ],
            "planning information": [
                ask(f"{ITEMS}/{fid}/planning", {}) for *_, fid in rows
            ],
            "coordinate table": [
                ask(f"{ITEMS}/{fid}/coordinates", {}) for *_, fid in rows
            ],
            "versions": [ask(f"{ITEMS}/{fid}/versions", {}) for *_, fid in rows],
        }  # fmt: skip
        for name, calls in ways.items():
            await _timed(calls[:100], args.clients)  # warm the workers and the pool
            _report(name, await _timed(calls, args.clients))
    lookup = build_lookup(
        CATALOGUE["land_parcels"], CATALOGUE["admin_units"], lineage.name
    )
    planning = build_planning(
        CATALOGUE["land_parcels"], CATALOGUE["planning_zones"], drawn=False
    )
    conns = [
        await psycopg.AsyncConnection.connect(args.dsn) for _ in range(args.clients)
    ]
    free = list(conns)

    def raw(sql: str, params: dict[str, Any]) -> Callable[[], Awaitable[None]]:
        async def call() -> None:
            conn = free.pop()
            try:
                await (await conn.execute(sql, params)).fetchone()  # type: ignore[arg-type]
            finally:
                free.append(conn)

        return call

    by_sheet = [
        raw(lookup, {"ward": w, "sheet": s, "parcel": p, "nid": None, "base": ""})
        for w, _, s, p, _ in rows
    ]
    _report("raw PostGIS lookup", await _timed(by_sheet, args.clients))
    zones = [raw(planning, {"fid": fid}) for *_, fid in rows]
    _report("raw PostGIS planning", await _timed(zones, args.clients))
    for conn in conns:
        await conn.close()


if __name__ == "__main__":
    asyncio.run(main())
