"""JSON Schema (2020-12) of a layer's properties: queryables, sortables, schema.

Built from the catalogue and the column types, so it never drifts from the tables.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.types import TypeEngine

from gis.columns import kind_schema
from gis.layer import Field, VectorLayer

JSON_SCHEMA = "https://json-schema.org/draft/2020-12/schema"


def type_schema(column_type: TypeEngine[Any]) -> dict[str, Any]:
    """The JSON Schema of a SQLAlchemy column type: ``{'type': 'integer'}`` for an
    Integer, ``{}`` for a type with no JSON counterpart (geometry, array)."""
    return kind_schema(column_type)


def field_schema(layer: VectorLayer, field: Field, lang: str) -> dict[str, Any]:
    """One property: its type from the column, its title in ``lang``."""
    out: dict[str, Any] = {"title": field.title.get(lang)}
    if field.derived:  # JSON computed by PostgreSQL from other tables
        out["readOnly"] = True
    else:
        out.update(type_schema(layer.table.c[field.name].type))
        if field.read_only:
            out["readOnly"] = True
    if layer.time and field.name == layer.time.start:
        out["x-ogc-role"] = (
            "primary-instant" if not layer.time.end else "primary-interval-start"
        )
    if layer.time and field.name == layer.time.end:
        out["x-ogc-role"] = "primary-interval-end"
    return out


def geometry_schema(layer: VectorLayer) -> dict[str, Any]:
    """The geometry property (named ``geometry``), with its ``format``."""
    assert layer.geometry_type is not None
    return {
        "title": "Geometry",
        "format": f"geometry-{layer.geometry_type.lower()}",
        "x-ogc-role": "primary-geometry",
    }


def properties_document(
    layer: VectorLayer,
    fields: tuple[Field, ...],
    lang: str,
    *,
    uri: str,
    title: str,
    geometry: bool,
    with_id: bool = False,
) -> dict[str, Any]:
    """A JSON Schema object document listing ``fields``."""
    props: dict[str, Any] = {}
    if with_id:
        props["id"] = {"title": "id", "type": "integer", "x-ogc-role": "id"}
    if geometry and layer.geometry_type:
        props["geometry"] = geometry_schema(layer)
    for f in fields:
        props[f.name] = field_schema(layer, f, lang)
    return {
        "$schema": JSON_SCHEMA,
        "$id": uri,
        "type": "object",
        "title": title,
        "properties": props,
        "additionalProperties": False,
    }
