"""Per-layer statistics for collection metadata: extent, time span, estimated size.

The values live in ``layer_stats`` (migration 0011), computed by the database's
``refresh_layer_stats`` once per data version of the layer's table. Reading them is
one primary-key look-up; the refresh is the only statement that scans the table.
"""

from __future__ import annotations

import datetime as dt
from typing import NamedTuple

from gis.db.statements import Bound
from gis.layer import VectorLayer
from gis.sql.compiled import Compiled

# a refresh waits this many times its own last duration after the last one, so a
# stream of edits costs the database at most about a tenth of a core per layer
REFRESH_SPACING = 10.0


# one text for every layer (the table is a parameter): prepared once per connection
_READ = (
    "SELECT s.west, s.south, s.east, s.north, s.tmin, s.tmax, "
    "greatest(c.reltuples::float8, s.row_count::float8, 0) AS est_rows, "
    "s.version, v.version AS current, "
    "greatest(extract(epoch FROM s.computed_at - clock_timestamp())::float8"
    " + s.duration_ms * %(spacing)s / 1000.0, 0) AS due_in_s "
    "FROM layer_version v "
    "LEFT JOIN layer_stats s ON s.table_name = v.table_name "
    "LEFT JOIN pg_class c ON c.oid = to_regclass(v.table_name) "
    "WHERE v.table_name = %(table)s"
)


class StatsRow(NamedTuple):
    """The row of ``build_stats_read``."""

    west: float | None
    south: float | None
    east: float | None
    north: float | None
    tmin: dt.datetime | dt.date | None
    tmax: dt.datetime | dt.date | None
    est_rows: float | None
    version: int | None
    current: int | None
    due_in_s: float | None


def build_stats_read(layer: VectorLayer) -> Bound[StatsRow]:
    """One row: the stored statistics of ``layer`` and whether they lag its data.

    Columns ``west, south, east, north`` (CRS84, None without an extent), ``tmin, tmax``,
    ``est_rows`` (the planner's estimate, or the exact count of the last refresh when
    larger, since a table loaded moments ago has no estimate yet), ``version`` (the
    data version the values are of, None when never computed), ``current`` (the
    table's data version now) and ``due_in_s`` (seconds until a refresh may run).
    """
    return Bound(
        _READ, {"table": layer.table.name, "spacing": REFRESH_SPACING}, StatsRow
    )


def build_stats_refresh(layer: VectorLayer) -> Compiled:
    """One row, ``done``: recompute ``layer``'s statistics if they lag (true when
    this call did; false when they are current, a refresh ran too recently, or
    another session is computing them right now)."""
    time = layer.time
    return Compiled(
        "SELECT refresh_layer_stats(%(table)s, %(start)s, %(end)s, %(spacing)s) "
        "AS done",
        {
            "table": layer.table.name,
            "start": time.start if time else None,
            "end": time.end if time else None,
            "spacing": REFRESH_SPACING,
        },
    )
