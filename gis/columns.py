"""What a column's SQLAlchemy type means, read in one place.

Filters (CQL2), writes (OGC API Features Part 4), the JSON Schemas (queryables,
sortables, schema) and imports all ask the same two questions of a column: what kind
of value it holds, and which instant a date-time without a zone names. Both are
answered here so the paths cannot drift apart.

The time-zone rule: a date-time written without a zone (``2026-07-01T08:30:00``) is
the city's local time, Asia/Ho_Chi_Minh (UTC+7, no daylight saving), on every path;
a date-time with a zone or ``Z`` keeps it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal, NamedTuple
from zoneinfo import ZoneInfo

from geoalchemy2 import Geometry
from sqlalchemy import (
    ARRAY,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    Integer,
    Numeric,
    SmallInteger,
    String,
)
from sqlalchemy.types import TypeEngine

CITY_TZ_NAME = "Asia/Ho_Chi_Minh"
CITY_TZ = ZoneInfo(CITY_TZ_NAME)

Kind = Literal[
    "text", "int", "num", "float", "bool", "date", "tstz", "tsnaive", "geom", "array"
]
NUMBER_KINDS: frozenset[Kind] = frozenset({"int", "num", "float"})
TIME_KINDS: frozenset[Kind] = frozenset({"date", "tstz", "tsnaive"})


class Mag(NamedTuple):
    """A bound of a numeric value: decimal digits before and after the point."""

    hi: float
    sc: float


def as_instant(moment: dt.datetime) -> dt.datetime:
    """``moment`` as an instant: without a zone it is city time, with one it is kept."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        return moment.replace(tzinfo=CITY_TZ)
    return moment


def column_kind(type_: TypeEngine[Any]) -> tuple[Kind, Mag | None] | None:
    """The kind of value a column type holds, and for numbers its digit bound.

    ``None`` for a type no path knows how to read (filters refuse such a column,
    writes take its value as JSON, the schemas say nothing of its type).
    """
    if isinstance(type_, Boolean):
        return "bool", None
    if isinstance(type_, SmallInteger):
        return "int", Mag(5, 0)
    if isinstance(type_, BigInteger):
        return "int", Mag(19, 0)
    if isinstance(type_, Integer):
        return "int", Mag(10, 0)
    if isinstance(type_, Float):  # Double too; before Numeric, its base
        # a double cast to numeric keeps 15 significant digits: at most 340 decimals
        return "float", Mag(309, 340)
    if isinstance(type_, Numeric):
        precision, scale = type_.precision, type_.scale
        if precision is None:  # unconstrained: up to PostgreSQL's own limits
            return "num", Mag(131_072, 16_383)
        return "num", Mag(precision - (scale or 0), scale or 0)
    if isinstance(type_, DateTime):
        return ("tstz" if type_.timezone else "tsnaive"), None
    if isinstance(type_, Date):
        return "date", None
    if isinstance(type_, String):  # Text too
        return "text", None
    if isinstance(type_, Geometry):
        return "geom", None
    if isinstance(type_, ARRAY):
        return "array", None
    return None


def int_bits(type_: TypeEngine[Any]) -> int:
    """The storage size in bits of an integer column (16, 32 or 64)."""
    if isinstance(type_, SmallInteger):
        return 16
    if isinstance(type_, BigInteger):
        return 64
    return 32


# the JSON Schema (2020-12) of each kind; geometries and arrays get none
_KIND_SCHEMA: dict[Kind, dict[str, str]] = {
    "bool": {"type": "boolean"},
    "int": {"type": "integer"},
    "num": {"type": "number"},
    "float": {"type": "number"},
    "tstz": {"type": "string", "format": "date-time"},
    "tsnaive": {"type": "string", "format": "date-time"},
    "date": {"type": "string", "format": "date"},
    "text": {"type": "string"},
}


def kind_schema(type_: TypeEngine[Any]) -> dict[str, Any]:
    """The JSON Schema of a column type (``{}`` when it has no JSON type)."""
    typed = column_kind(type_)
    if typed is None:
        return {}
    return dict(_KIND_SCHEMA.get(typed[0], {}))
