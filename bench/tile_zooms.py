"""Cold and cached tiles by zoom: p50/p99 milliseconds and bytes, per layer.

    uv run python bench/tile_zooms.py http://127.0.0.1:8000
        [--layers land_parcels,trees] [--zooms 8,11,13,14,15] [--tiles 25]

Run against a freshly started server (its tile cache empty). For each layer (and
the dataset tileset, ``(all layers)``, around the first layer's) and zoom, fetches
the ``--tiles`` tiles nearest the layer's first feature one after another, and
times those with data (fewer at the low zooms, where the city is one or two tiles): the first pass is cold (made by PostGIS), the
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


def _spiral(lon: float, lat: float, z: int, count: int) -> list[morecantile.Tile]:
    """The ``count`` tiles of zoom ``z`` nearest the point, nearest first."""
    centre = WMQ.tile(lon, lat, z)
    side = math.ceil(math.sqrt(count))
    limit = 2**z
    tiles = [
        morecantile.Tile(centre.x + dx, centre.y + dy, z)
        for dx in range(-side, side + 1)
        for dy in range(-side, side + 1)
        if 0 <= centre.x + dx < limit and 0 <= centre.y + dy < limit
    ]
    tiles.sort(key=lambda t: (t.x - centre.x) ** 2 + (t.y - centre.y) ** 2)
    return tiles[:count]


def _centre(client: httpx.Client, layer: str) -> tuple[float, float]:
    """A point with data: the first vertex of the layer's first feature."""
    feature = client.get(f"/collections/{layer}/items", params={"limit": 1}).json()
    coords = feature["features"][0]["geometry"]["coordinates"]
    while isinstance(coords[0], list):
        coords = coords[0]
    return float(coords[0]), float(coords[1])


def _warm(client: httpx.Client, path: str, z: int) -> None:
    """One tile far from the data first: the statement is compiled and prepared
    before the cold tiles are timed (a first request per shape is not a cold tile)."""
    client.get(f"{path}/{z}/0/0")


def _pass(
    client: httpx.Client, path: str, tiles: list[morecantile.Tile]
) -> tuple[list[float], list[int], list[morecantile.Tile]]:
    """Times and sizes of the tiles with data (204s are left out: an empty tile
    says nothing of the cost of a full one), and those tiles."""
    times, sizes, full = [], [], []
    for t in tiles:
        started = time.perf_counter()
        r = client.get(f"{path}/{t.z}/{t.y}/{t.x}")
        spent = (time.perf_counter() - started) * 1000
        if r.status_code not in (200, 204):
            raise SystemExit(
                f"{path}/{t.z}/{t.y}/{t.x}: {r.status_code} {r.text[:200]}"
            )
        if r.status_code == 200:
            times.append(spent)
            sizes.append(len(r.content))
            full.append(t)
    return times, sizes, full


def _p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1)]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("base")
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
            # the dataset tileset around the first layer's data
            first = name if not name.startswith("(") else args.layers.split(",")[0]
            lon, lat = _centre(client, first)
            for z in zooms:
                _warm(client, path, z)
                cold, sizes, full = _pass(
                    client, path, _spiral(lon, lat, z, args.tiles)
                )
                if not full:
                    continue
                cached, _, _ = _pass(client, path, full)
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
