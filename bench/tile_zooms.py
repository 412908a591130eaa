"""Cold and cached tiles by zoom: p50/p99 milliseconds and bytes, per layer.

    uv run python bench/tile_zooms.py http://127.0.0.1:8000 [--lon 108.10 --lat 10.93]
        [--layers land_parcels,trees] [--zooms 8,11,13,14,15] [--tiles 25]

Run against a freshly started server (its tile cache empty). For each layer (and
the dataset tileset, ``(all layers)``) and zoom, fetches the ``--tiles`` tiles
nearest the point one after another: the first pass is cold (made by PostGIS), the
second is cached (the server's tile cache, checked against the data versions in one
round trip). Prints a Markdown table, and the ratio of each zoom's cold p50 to the
z15 cold p50 of the same layer (issue 12's goal: at most 2), and the largest tile
against the 512 KB budget.
"""

from __future__ import annotations

import argparse
import math
import statistics
import time

import httpx
import morecantile

WMQ = morecantile.tms.get("WebMercatorQuad")
BUDGET = 512 * 1024


def _nearest(lon: float, lat: float, z: int, count: int) -> list[morecantile.Tile]:
    """The ``count`` tiles of zoom ``z`` nearest the point, in a spiral order."""
    centre = WMQ.tile(lon, lat, z)
    side = math.ceil(math.sqrt(count))
    ring = [(dx, dy) for dx in range(-side, side + 1) for dy in range(-side, side + 1)]
    ring.sort(key=lambda d: (max(abs(d[0]), abs(d[1])), d))
    limit = 2**z
    tiles = [
        morecantile.Tile(centre.x + dx, centre.y + dy, z)
        for dx, dy in ring
        if 0 <= centre.x + dx < limit and 0 <= centre.y + dy < limit
    ]
    return tiles[:count]


def _pass(
    client: httpx.Client, path: str, tiles: list[morecantile.Tile]
) -> tuple[list[float], list[int]]:
    times, sizes = [], []
    for t in tiles:
        started = time.perf_counter()
        r = client.get(f"{path}/{t.z}/{t.y}/{t.x}")
        times.append((time.perf_counter() - started) * 1000)
        if r.status_code not in (200, 204):
            raise SystemExit(
                f"{path}/{t.z}/{t.y}/{t.x}: {r.status_code} {r.text[:200]}"
            )
        sizes.append(len(r.content))
    return times, sizes


def _p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1)]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("base")
    ap.add_argument("--lon", type=float, default=108.10)
    ap.add_argument("--lat", type=float, default=10.93)
    ap.add_argument("--layers", default="land_parcels,trees")
    ap.add_argument("--zooms", default="8,11,13,14,15")
    ap.add_argument("--tiles", type=int, default=25)
    args = ap.parse_args()
    zooms = [int(z) for z in args.zooms.split(",")]
    paths = {
        name: f"/collections/{name}/tiles/WebMercatorQuad"
        for name in args.layers.split(",")
    }
    paths["(all layers)"] = "/tiles/WebMercatorQuad"
    print(
        "| layer | zoom | cold p50 ms | cold p99 ms | cached p50 ms | cached p99 ms "
        "| bytes p50 | bytes max | cold p50 / z15 |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    worst = 0
    with httpx.Client(base_url=args.base, timeout=300) as client:
        for name, path in paths.items():
            rows = {}
            for z in zooms:
                tiles = _nearest(args.lon, args.lat, z, args.tiles)
                cold, sizes = _pass(client, path, tiles)
                cached, _ = _pass(client, path, tiles)
                rows[z] = (cold, cached, sizes)
                worst = max(worst, *sizes)
            base = statistics.median(rows[15][0]) if 15 in rows else float("nan")
            for z, (cold, cached, sizes) in rows.items():
                print(
                    f"| {name} | {z} | {statistics.median(cold):.1f} | {_p(cold, 0.99):.1f} "
                    f"| {statistics.median(cached):.1f} | {_p(cached, 0.99):.1f} "
                    f"| {statistics.median(sizes) / 1024:.1f} KB | {max(sizes) / 1024:.1f} KB "
                    f"| {statistics.median(cold) / base:.2f} |"
                )
    print(f"\nlargest tile: {worst / 1024:.1f} KB (budget {BUDGET // 1024} KB)")


if __name__ == "__main__":
    main()
