"""Page through a whole collection by its ``next`` links and report per-page times.

Keyset paging keeps the cost of a page flat from the first page to the last; an
OFFSET scan would grow linearly. Usage:

    uv run python bench/page_to_end.py http://127.0.0.1:8000 land_parcels --limit 10000
"""

from __future__ import annotations

import argparse
import statistics
import time

import httpx


def main() -> None:
    """Follow ``next`` to the end; print the count and page-time quartiles."""
    p = argparse.ArgumentParser()
    p.add_argument("base")
    p.add_argument("collection")
    p.add_argument("--limit", type=int, default=10_000)
    a = p.parse_args()
    url: str | None = f"{a.base}/collections/{a.collection}/items?limit={a.limit}"
    seen = 0
    times: list[float] = []
    last_id = -1
    with httpx.Client(timeout=120) as client:
        while url:
            t0 = time.perf_counter()
            r = client.get(url)
            times.append(time.perf_counter() - t0)
            r.raise_for_status()
            body = r.json()
            ids = [f["id"] for f in body["features"]]
            assert ids == sorted(ids) and (not ids or ids[0] > last_id), "order broken"
            last_id = ids[-1] if ids else last_id
            seen += len(ids)
            url = next(
                (lk["href"] for lk in body["links"] if lk["rel"] == "next"), None
            )
    q = statistics.quantiles(times, n=4) if len(times) > 1 else times * 3
    print(
        f"{a.collection}: {seen} features in {len(times)} pages, {sum(times):.1f} s; "
        f"page time first {times[0] * 1000:.0f} ms, median {q[1] * 1000:.0f} ms, "
        f"last {times[-1] * 1000:.0f} ms"
    )


if __name__ == "__main__":
    main()
