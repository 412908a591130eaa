"""The cost of the history triggers (migration 0016) on bulk writes, and proof that
the read path is unchanged.

    uv run python bench/history_cost.py [DATABASE_URL] [--rows 20000] [--runs 3]

Without a URL, starts a private cluster (``gis.db.embedded``) in a temporary
directory and migrates it. In one transaction that is rolled back (the database
is left as it was), on ``land_parcel``:

- INSERT of ``--rows`` parcels (one statement, as a bulk import makes them), with the
  triggers and with them disabled (``ALTER TABLE ... DISABLE TRIGGER``: the
  owner's), best of ``--runs``;
- UPDATE of every one of them (one statement), with and without; with the triggers
  each update copies the old row into ``land_parcel_history``.

Then checks that the SQL of a normal items request is the one ``build_items``
writes, byte for byte, and that only an ``asOf`` request reads the history.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import psycopg

from gis.db.embedded import EmbeddedCluster
from gis.db.migrate import migrate
from gis.db.urls import libpq_url
from gis.query import ItemsQuery
from gis.sql.compiled import compile_statement
from gis.sql.features import ItemsStatement, build_items
from layers import CATALOGUE
from migrations import MIGRATIONS_DIR

TRIGGERS = ("land_parcel_history_stamp", "land_parcel_history_update")
INSERT = """INSERT INTO land_parcel (ward_code, survey_ward_code, sheet_no, parcel_no,
land_use, area_legal_m2, geom)
SELECT '22924', 'B' || (g / 1000), 500 + g / 1000, g %% 1000, 'ODT', 100,
       ST_Multi(ST_MakeEnvelope(108.1 + (g %% 200) * 1e-4, 10.9 + (g / 200) * 1e-4,
                                108.1 + (g %% 200) * 1e-4 + 9e-5,
                                10.9 + (g / 200) * 1e-4 + 9e-5, 4326))
FROM generate_series(1, %(rows)s) AS g"""
UPDATE = "UPDATE land_parcel SET area_legal_m2 = area_legal_m2 + 1"


def _timed(conn: psycopg.Connection, sql: str, rows: int) -> float:
    start = time.perf_counter()
    conn.execute(sql, {"rows": rows} if "%(rows)s" in sql else None)  # type: ignore[arg-type]
    return time.perf_counter() - start


def measure(url: str, rows: int, runs: int) -> dict[str, float]:
    """Rows per second of each write, best of ``runs``, with and without."""
    best: dict[str, float] = {}
    for _ in range(runs):
        for history in (True, False):
            with psycopg.connect(libpq_url(url)) as conn:
                if not history:
                    for trigger in TRIGGERS:
                        conn.execute(
                            f"ALTER TABLE land_parcel DISABLE TRIGGER {trigger}"
                        )
                tag = "with" if history else "without"
                for name, sql in (("insert", INSERT), ("update", UPDATE)):
                    rate = rows / _timed(conn, sql, rows)
                    key = f"{name} {tag} history"
                    best[key] = max(best.get(key, 0.0), rate)
                conn.rollback()
    return best


def read_path_unchanged() -> bool:
    layer = CATALOGUE["land_parcels"]
    query = ItemsQuery(limit=100)
    normal = ItemsStatement(layer, query, layer.fields, count=True).build().sql
    direct = compile_statement(build_items(layer, query, layer.fields, count=True)).sql
    return normal == direct and "_history" not in normal


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url", nargs="?")
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        cluster = None
        url = args.url
        if url is None:
            cluster = EmbeddedCluster(Path(tmp))
            cluster.start()
            url = cluster.url("postgres")
            migrate(url, MIGRATIONS_DIR)
        try:
            figures = measure(url, args.rows, args.runs)
        finally:
            if cluster is not None:
                cluster.destroy()
    print(f"| {args.rows} parcels, one statement | rows/s |")
    print("|---|---:|")
    for key, rate in figures.items():
        print(f"| {key} | {rate:,.0f} |")
    for op in ("insert", "update"):
        ratio = figures[f"{op} with history"] / figures[f"{op} without history"]
        print(f"{op}: {ratio:.2f} x the throughput without history")
    print("read path unchanged:", read_path_unchanged())


if __name__ == "__main__":
    main()
