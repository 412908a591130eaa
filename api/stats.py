"""Per-process cache of layer statistics (extent, time span, size) for 60 s.

Extents feed collection documents and the ``numberMatched`` decision; an edit shows in
them within a minute, which is what the OGC extent is for (a hint, not a count).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from fastapi import Request

from api.deps import claims_of
from gis.db import fetch_one
from gis.layer import VectorLayer
from gis.sql.catalog import build_layer_stats
from gis.sql.compiled import Compiled, compile_statement

TTL_S = 60.0
_COMPILED: dict[str, Compiled] = {}


@dataclass(frozen=True)
class LayerStats:
    """What ``build_layer_stats`` returned, with the time it was read."""

    bbox: tuple[float, float, float, float] | None
    interval: tuple[Any, Any] | None
    est_rows: float
    read_at: float


async def layer_stats(request: Request, layer: VectorLayer) -> LayerStats:
    """The layer's statistics, from the cache when fresh."""
    cache: dict[str, LayerStats] = request.app.state.stats_cache
    hit = cache.get(layer.id)
    now = time.monotonic()
    if hit and now - hit.read_at < TTL_S:
        return hit
    compiled = _COMPILED.get(layer.id)
    if compiled is None:
        compiled = _COMPILED[layer.id] = compile_statement(build_layer_stats(layer))
    principal = getattr(request.state, "principal", None)
    claims = claims_of(request) if principal is not None else None
    row = await fetch_one(request.app.state.pool, compiled, {}, claims=claims)
    bbox = (row.xmin, row.ymin, row.xmax, row.ymax) if row.xmin is not None else None
    interval = (row.tmin, row.tmax) if layer.time else None
    stats = LayerStats(bbox, interval, float(row.est_rows or 0), now)
    cache[layer.id] = stats
    return stats
