"""The city's layers: one module per layer, each exporting ``LAYER``.

``LAYERS`` lists them explicitly, in catalogue order: a new layer module is added
here by hand (``tests/layers/test_catalogue.py`` fails when one is forgotten).
``CATALOGUE`` maps their ids to them; it is built and checked once at import, so
every worker sees the same catalogue. The tables that are not layers live in
``gis.tables`` and ``auth``.
"""

from __future__ import annotations

from pathlib import Path

from geoalchemy2 import Geometry

# the layer tables refer to the code lists (foreign keys): their tables must be known
import gis.tables  # noqa: F401
from gis.crs import DEFAULT_CRS_SRIDS
from gis.layer import VectorLayer
from layers import (
    admin_units,
    audit_log,
    cameras,
    env_observations,
    env_stations,
    field_reports,
    land_dossiers,
    land_parcels,
    lighting_cabinets,
    planning_zones,
    pois,
    power_lines,
    roads,
    street_lights,
    trees,
)

STYLES_DIR = Path(__file__).resolve().parent.parent / "styles"

LAYERS: tuple[VectorLayer, ...] = (
    admin_units.LAYER,
    audit_log.LAYER,
    cameras.LAYER,
    env_observations.LAYER,
    env_stations.LAYER,
    field_reports.LAYER,
    land_dossiers.LAYER,
    land_parcels.LAYER,
    lighting_cabinets.LAYER,
    planning_zones.LAYER,
    pois.LAYER,
    power_lines.LAYER,
    roads.LAYER,
    street_lights.LAYER,
    trees.LAYER,
)


def _catalogue(layers: tuple[VectorLayer, ...]) -> dict[str, VectorLayer]:
    catalogue: dict[str, VectorLayer] = {}
    for layer in layers:
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
    if spec.minzoom > 15:
        # the overviews are kept at zoom-12 detail (migrations 0013, 0014): cells of
        # 152.87 m (16 pixels at zoom 14), shapes within 9.55 m (a pixel at 14)
        raise ValueError(f"{layer.id}: minzoom {spec.minzoom} is above 15")
    if spec.category is None:
        return
    f = layer.field(spec.category)
    if f is None or f.personal or f.derived or spec.category not in layer.table.c:
        raise ValueError(
            f"{layer.id}: overview category {spec.category!r} is not a column"
        )


CATALOGUE: dict[str, VectorLayer] = _catalogue(LAYERS)

__all__ = ["CATALOGUE", "LAYERS", "STYLES_DIR", "validate"]
