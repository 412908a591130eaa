"""Tile size and time for every layer at zoom 6, 9, 12, 15, 18 over the city.

    uv run python bench/tile_table.py http://127.0.0.1:8000 [--lon 108.10 --lat 10.93]

Fetches each collection's tile (WebMercatorQuad) and the dataset tile at the point,
cold (the server's tile cache is bypassed by a new query-free URL only on the first
fetch: run against a fresh server for cold figures), and prints a Markdown table of
bytes and milliseconds, with the largest tile seen across the 3 x 3 tiles around the
point, against the 512 KB budget.
"""

from __future__ import annotations

import argparse
import time

import httpx
import morecantile

WMQ = morecantile.tms.get("WebMercatorQuad")
ZOOMS = (6, 9, 12, 15, 18)
BUDGET = 512 * 1024


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("base")
    ap.add_argument("--lon", type=float, default=108.10)
    ap.add_argument("--lat", type=float, default=10.93)
    args = ap.parse_args()
    with httpx.Client(base_url=args.base, timeout=120) as c:
        ids = [
            col["id"]
            for col in c.get("/collections").json()["collections"]
            if col.get("extent", {}).get("spatial")
        ]
        paths = {i: f"/collections/{i}/tiles/WebMercatorQuad" for i in ids}
        paths["(all layers)"] = "/tiles/WebMercatorQuad"
        print("| layer | " + " | ".join(f"z{z}" for z in ZOOMS) + " |")
        print("|---|" + "---|" * len(ZOOMS))
        worst = 0
        for name, path in paths.items():
            cells = []
            for z in ZOOMS:
                t = WMQ.tile(args.lon, args.lat, z)
                sizes, times = [], []
                for dx in (-1, 0, 1):
                    for dy in (-1, 0, 1):
                        started = time.perf_counter()
                        r = c.get(f"{path}/{z}/{t.y + dy}/{t.x + dx}")
                        times.append((time.perf_counter() - started) * 1000)
                        assert r.status_code in (200, 204), (path, z, r.status_code)
                        sizes.append(len(r.content))
                worst = max(worst, *sizes)
                cells.append(f"{max(sizes) / 1024:.1f} KB / {max(times):.0f} ms")
            print(f"| {name} | " + " | ".join(cells) + " |")
        print(f"\nlargest tile: {worst / 1024:.1f} KB (budget {BUDGET // 1024} KB)")


if __name__ == "__main__":
    main()
