"""The city's layers: one module per layer, each exporting ``LAYER``.

``CATALOGUE`` maps layer ids to layers, in a stable order; it is built and checked once
at import, so every worker sees the same catalogue.
"""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

from geoalchemy2 import Geometry

from gis.crs import DEFAULT_CRS_SRIDS
from gis.layer import VectorLayer
from layers.metadata import metadata

STYLES_DIR = Path(__file__).resolve().parent.parent / "styles"
_NOT_LAYERS = {"metadata", "columns", "codelists", "versions", "demo", "accounts"}


def _discover() -> dict[str, VectorLayer]:
    found: list[VectorLayer] = []
    importlib.import_module("layers.codelists")
    importlib.import_module("layers.versions")
    importlib.import_module("layers.accounts")
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name in _NOT_LAYERS or info.name.startswith("_"):
            continue
        module = importlib.import_module(f"layers.{info.name}")
        layer = getattr(module, "LAYER", None)
        if isinstance(layer, VectorLayer):
            found.append(layer)
    catalogue: dict[str, VectorLayer] = {}
    for layer in found:
        validate(layer)
        if layer.id in catalogue:
            raise ValueError(f"duplicate layer id {layer.id!r}")
        catalogue[layer.id] = layer
    return catalogue


def validate(layer: VectorLayer) -> None:
    """Check that a layer's declarations match its table.

    Raises
    ------
    ValueError
        On a field without a column (or a derived one shadowing a column), a
        ward-scoped grant on a table without ``ward_code``, a geometry column that does not fit the declared
        type or SRID, a missing ``id`` key, or an unknown time column.
    """
    columns = layer.table.c
    if "id" not in columns or not columns["id"].primary_key:
        raise ValueError(f"{layer.id}: table {layer.table.name} needs primary key 'id'")
    for f in layer.fields:
        if not f.derived and f.name not in columns:
            raise ValueError(f"{layer.id}: field {f.name!r} has no column")
        if f.derived and f.name in columns:
            raise ValueError(f"{layer.id}: derived field {f.name!r} shadows a column")
        if f.name in ("id", "geom"):
            raise ValueError(f"{layer.id}: {f.name!r} is not a property")
    if layer.geometry_type:
        geom = columns.get("geom")
        if geom is None or not isinstance(geom.type, Geometry):
            raise ValueError(f"{layer.id}: no geometry column 'geom'")
        if geom.type.srid != layer.storage_srid:
            raise ValueError(f"{layer.id}: geom SRID {geom.type.srid} is not storage")
        if (geom.type.geometry_type or "").upper() != layer.geometry_type.upper():
            raise ValueError(
                f"{layer.id}: geom type differs from {layer.geometry_type}"
            )
    if layer.time:
        for name in (layer.time.start, layer.time.end):
            if name and name not in columns:
                raise ValueError(f"{layer.id}: time column {name!r} missing")
    for name in layer.tiles.properties or ():
        if layer.field(name) is None:
            raise ValueError(f"{layer.id}: tile property {name!r} is not a field")
    _validate_overview(layer)
    access = layer.access
    scoped = access.ward_scoped & (access.write | access.creators | access.personal)
    if scoped and "ward_code" not in columns:
        raise ValueError(f"{layer.id}: ward-scoped roles need a ward_code column")
    unknown = set(layer.crs_srids) - set(DEFAULT_CRS_SRIDS)
    if unknown:
        raise ValueError(f"{layer.id}: CRS {sorted(unknown)} not in the registry")


# the overview kinds that fit each geometry dimension (gis.sql.tiles draws them)
_OVERVIEWS = {
    "Point": {"cluster"},
    "Line": {"merge"},
    "Polygon": {"grid", "generalise"},
}


def _validate_overview(layer: VectorLayer) -> None:
    """The overview fits the geometry; its category is a plain public column."""
    if not layer.geometry_type:
        return
    spec = layer.tiles
    kind = next(k for k in _OVERVIEWS if k in layer.geometry_type)
    if spec.overview not in _OVERVIEWS[kind]:
        raise ValueError(f"{layer.id}: overview {spec.overview!r} does not fit {kind}")
    if spec.category is None:
        return
    f = layer.field(spec.category)
    if f is None or f.personal or f.derived or spec.category not in layer.table.c:
        raise ValueError(
            f"{layer.id}: overview category {spec.category!r} is not a column"
        )


CATALOGUE: dict[str, VectorLayer] = _discover()

__all__ = ["CATALOGUE", "STYLES_DIR", "metadata", "validate"]
