"""Features written by clients (OGC API Features Part 4): checked here, then one SQL
statement.

Every value is checked against its column's type in Python before PostgreSQL sees it,
so a wrong value is a 400 that names the property, never a database error; the
geometry is parsed and validated with shapely, must be of the layer's type and lie in
Vietnam (a wrong CRS or swapped axes is caught before it is stored). Identifiers come
from the catalogue only and every value is a bound parameter. The statements run as
the API role under the request's claims, so the row-level security policies of
migration 0008 check the same policy again.

Optimistic locking: a feature's version is its row's ``xmin`` (the transaction that
wrote it last: it changes on every write to the row, by the API, QGIS connected to
PostGIS or psql, and survives freezing and restarts). A write's precondition
(``Precondition``) is part of its own UPDATE or DELETE, so no other write can slip
between the check and the change: PostgreSQL re-checks the WHERE clause on the newest
row version after waiting for a concurrent writer's lock.
"""

from __future__ import annotations

import datetime as dt
import decimal
import math
from dataclasses import dataclass
from typing import Any, Literal, NamedTuple, TypeAlias

import orjson
import shapely
import shapely.validation
from shapely.geometry import shape
from sqlalchemy import (
    BigInteger,
    Column,
    ColumnElement,
    Integer,
    LargeBinary,
    Numeric,
    Select,
    Text,
    and_,
    any_,
    bindparam,
    cast,
    column,
    delete,
    exists,
    func,
    insert,
    literal_column,
    or_,
    select,
    table,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.sql.dml import ReturningDelete, ReturningInsert, ReturningUpdate

from gis.columns import as_instant, column_kind, int_bits
from gis.crs import transformer
from gis.errors import (
    ForbiddenError,
    GisError,
    InvalidParameterError,
    LimitExceededError,
)
from gis.layer import VectorLayer, layer_family
from gis.sql.compiled import sql_identifier

Operation = Literal["create", "replace", "update"]
# What must hold of the stored feature for a replace, update or delete to apply:
# - the row versions an ``If-Match`` names (empty: it named none this server gives):
#   the row's version must be one of them;
# - "exists" (``If-Match: *``): no condition beyond the feature being there;
# - "unchanged" (no ``If-Match``): every property the write sets still has the value
#   it had when the write's statement began, or already the value being written;
#   i.e. a write that had to wait for another write of the same property to commit
#   is refused rather than silently overwriting a value it never saw (409). A change
#   made before the statement began cannot be told from one the client saw: only
#   ``If-Match`` can say which version the client edited.
Precondition: TypeAlias = frozenset[int] | Literal["exists", "unchanged"]
# the country's extent in lon/lat, islands included: anything outside is a wrong CRS,
# swapped axes or a typo
VIETNAM_LONLAT = (102.0, 6.0, 118.0, 24.0)
MAX_VERTICES = 100_000
MAX_TEXT_CHARS = 10_000
_SIMPLE_TYPES = ("Point", "LineString", "Polygon", "MultiPoint", "MultiLineString",
                 "MultiPolygon")  # fmt: skip


@dataclass(frozen=True)
class FeatureEdit:
    """A checked feature: column values, and the geometry as WKB in ``srid``."""

    values: dict[str, Any]
    wkb: bytes | None
    srid: int
    # properties the writer may not set: left to their default, or as they are
    kept: frozenset[str] = frozenset()


def writable_columns(layer: VectorLayer) -> tuple[str, ...]:
    """The properties a client may set: the layer's non-derived fields."""
    return tuple(f.name for f in layer.fields if not f.derived and not f.read_only)


def parse_feature(
    body: bytes,
    layer: VectorLayer,
    *,
    operation: Operation,
    srid: int,
    lonlat: bool,
    feature_id: int | None = None,
    roles: frozenset[str] = frozenset(),
) -> FeatureEdit:
    """Check a GeoJSON Feature (``create``/``replace``) or a merge patch (``update``).

    Raises
    ------
    ForbiddenError
        A property that none of ``roles`` may set (``Field.set_by``).
    InvalidParameterError
        Not JSON, not a Feature, an unknown property, a value that does not fit its
        column, a missing required value, a geometry of the wrong type, invalid or
        outside Vietnam.
    """
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise InvalidParameterError("body: not valid JSON", parameter="body") from None
    if not isinstance(doc, dict):
        raise InvalidParameterError("body: expected a JSON object", parameter="body")
    if operation != "update" and doc.get("type") != "Feature":
        raise InvalidParameterError(
            'body: expected a GeoJSON Feature ("type": "Feature")', parameter="body"
        )
    if operation == "replace" and "id" in doc and str(doc["id"]) != str(feature_id):
        raise InvalidParameterError(
            "id: differs from the feature in the path", parameter="id"
        )
    props = doc.get("properties") or {}
    if not isinstance(props, dict):
        raise InvalidParameterError("properties: expected an object", parameter="body")
    values = _check_properties(layer, props, operation)
    held = frozenset(
        f.name for f in layer.fields if f.set_by is not None and not roles & f.set_by
    )
    if sent := sorted(held & set(props)):
        f = layer.field(sent[0])
        assert f is not None and f.set_by is not None
        raise ForbiddenError(
            f"{f.name}: set by {', '.join(sorted(f.set_by))} only", parameter=f.name
        )
    for name in held:  # a new feature gets their defaults; a replace leaves them
        values.pop(name, None)
    wkb = None
    if "geometry" in doc or operation != "update":
        wkb = check_geometry(layer, doc.get("geometry"), srid, lonlat)
    return FeatureEdit(values, wkb, srid, held)


def _check_properties(
    layer: VectorLayer, props: dict[str, Any], operation: Operation
) -> dict[str, Any]:
    writable = writable_columns(layer)
    known = {f.name for f in layer.fields}
    unknown = sorted(set(props) - known)
    if unknown:
        raise InvalidParameterError(
            f"unknown properties: {', '.join(unknown)}; this layer has: "
            f"{', '.join(writable)}",
            parameter=unknown[0],
        )
    values: dict[str, Any] = {}
    for name in writable:
        column = layer.table.c[name]
        if name in props:
            values[name] = check_value(column, props[name])
        elif operation == "update":
            continue
        elif column.server_default is not None:
            continue  # the column's default, as for a new row
        else:
            values[name] = None
        if values[name] is None and not column.nullable:
            raise InvalidParameterError(f"{name}: a value is required", parameter=name)
    return values


def check_value(column: Column[Any], value: Any) -> Any:
    """``value`` as the Python value of ``column``'s type; 400 when it does not fit."""
    name = column.name
    if value is None:
        return None
    given = value  # as sent: the refusal describes it, not a conversion of it

    def refuse(expected: str) -> InvalidParameterError:
        return InvalidParameterError(
            f"{name}: expected {expected}, got {_describe(given)}", parameter=name
        )

    typed = column_kind(column.type)
    kind = typed[0] if typed else None
    if kind == "bool":
        if not isinstance(value, bool):
            raise refuse("true or false")
        return value
    if kind == "int":
        bits = int_bits(column.type)
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if not isinstance(value, int) or isinstance(value, bool):
            raise refuse("an integer")
        if not -(2 ** (bits - 1)) <= value < 2 ** (bits - 1):
            raise refuse(f"an integer of {bits} bits")
        return value
    if kind in ("num", "float"):
        if not isinstance(value, int | float) or isinstance(value, bool):
            raise refuse("a number")
        if isinstance(value, float) and not math.isfinite(value):
            raise refuse("a finite number")
        if kind == "num":
            assert isinstance(column.type, Numeric)
            number = decimal.Decimal(str(value))
            precision, scale = column.type.precision, column.type.scale
            if precision is not None:
                limit = decimal.Decimal(10) ** (precision - (scale or 0))
                if abs(number) >= limit:
                    raise refuse(f"a number below {limit}")
            return number
        return float(value)
    if kind in ("tstz", "tsnaive"):
        if not isinstance(value, str):
            raise refuse("an ISO 8601 date-time")
        try:
            moment = dt.datetime.fromisoformat(value)
        except ValueError:
            raise refuse("an ISO 8601 date-time") from None
        return as_instant(moment)  # no zone: city time (README, "Time zones")
    if kind == "date":
        if not isinstance(value, str):
            raise refuse("an ISO 8601 date (YYYY-MM-DD)")
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            raise refuse("an ISO 8601 date (YYYY-MM-DD)") from None
    if kind == "text":
        if not isinstance(value, str):
            raise refuse("a string")
        if "\x00" in value:
            raise refuse("a string without NUL characters")
        if len(value) > MAX_TEXT_CHARS:
            raise LimitExceededError(
                f"{name}: longer than {MAX_TEXT_CHARS} characters", parameter=name
            )
        return value
    raise InvalidParameterError(f"{name}: cannot be written", parameter=name)


def _describe(value: Any) -> str:
    try:
        text = orjson.dumps(value).decode()
    except TypeError:  # e.g. an integer beyond 64 bits, which orjson does not write
        text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def check_geometry(
    layer: VectorLayer, geometry: Any, srid: int, lonlat: bool
) -> bytes | None:
    if layer.geometry_type is None:
        if geometry is not None:
            raise InvalidParameterError(
                f"geometry: {layer.id} has no geometry; send null", parameter="geometry"
            )
        return None
    if not isinstance(geometry, dict):
        raise InvalidParameterError(
            f"geometry: a GeoJSON {layer.geometry_type} is required",
            parameter="geometry",
        )
    try:
        geom = shape(geometry)
    except (
        ValueError, TypeError, AttributeError, KeyError, IndexError,
        shapely.errors.ShapelyError,
    ):  # fmt: skip
        raise InvalidParameterError(
            "geometry: not a valid GeoJSON geometry", parameter="geometry"
        ) from None
    wanted = layer.geometry_type
    family, multi = layer_family(wanted)
    sent = geom.geom_type
    fits = sent in _SIMPLE_TYPES and layer_family(sent) in (
        (family, multi),
        (family, False),
    )
    if not fits:
        raise InvalidParameterError(
            f"geometry: expected a {wanted}, got a {geom.geom_type}",
            parameter="geometry",
        )
    if geom.has_z and getattr(layer.table.c.geom.type, "dimension", 2) == 2:
        # dropping the heights would store something else than was sent
        raise InvalidParameterError(
            f"geometry: {layer.id} is 2D; send x and y only (no heights)",
            parameter="geometry",
        )
    if shapely.get_num_coordinates(geom) > MAX_VERTICES:
        raise LimitExceededError(
            f"geometry: more than {MAX_VERTICES} vertices", parameter="geometry"
        )
    if geom.is_empty:
        raise InvalidParameterError("geometry: empty", parameter="geometry")
    geom = shapely.force_2d(geom)
    if not lonlat:  # the CRS's axes are lat, lon: swap them
        geom = shapely.transform(geom, lambda xy: xy[:, ::-1])
    coords = shapely.get_coordinates(geom)
    if not all(math.isfinite(float(c)) for c in coords.ravel()):
        raise InvalidParameterError(
            "geometry: non-finite coordinate", parameter="geometry"
        )
    if not geom.is_valid:
        reason = shapely.validation.explain_validity(geom)
        raise InvalidParameterError(
            f"geometry: not valid ({reason})", parameter="geometry"
        )
    x1, y1, x2, y2 = _lonlat_bounds(srid, geom.bounds)
    a1, b1, a2, b2 = VIETNAM_LONLAT
    if not (a1 <= x1 and x2 <= a2 and b1 <= y1 and y2 <= b2):
        raise InvalidParameterError(
            "geometry: outside Vietnam in the given CRS (check Content-Crs and the "
            "axis order: CRS84 is longitude first, EPSG:4326 latitude first)",
            parameter="geometry",
        )
    return bytes(shapely.to_wkb(geom))


# the administrative units (layers/admin_units.py; gis does not import layers)
ADMIN_UNIT = table("admin_unit", column("code"), column("level"), column("valid_to"))


def ward_check(edit: FeatureEdit) -> Select[Any] | None:
    """A statement answering whether the edit's ``ward_code`` is a ward (commune-level
    administrative unit) in force today; None when the edit sets none.

    A foreign key cannot say it: codes are reused across the 2025 reform, so
    ``admin_unit.code`` is unique only with its code system and validity.
    """
    code = edit.values.get("ward_code")
    if code is None:
        return None
    a = ADMIN_UNIT.c
    return select(
        exists()
        .where(
            a.code == bindparam("ward", code, type_=Text),
            a.level == literal_column("'commune'"),
            or_(a.valid_to.is_(None), a.valid_to >= func.current_date()),
        )
        .label("is_ward")
    )


class WardRow(NamedTuple):
    """The row of ``ward_check``."""

    is_ward: bool


class IdRow(NamedTuple):
    """The row of a write (``RETURNING id``) or of a look-up of one feature's id."""

    id: int


def row_version(layer: VectorLayer) -> ColumnElement[int]:
    """SQL: the version of a feature's row, a number: ``xmin``, the transaction that
    wrote the row last. Every write to the row changes it, whoever makes it (API,
    QGIS on PostGIS, psql); freezing keeps it (PostgreSQL 9.4 and later), so does a
    restart. The version of the feature's ETag, checked by ``If-Match`` in the
    write's own statement."""
    xmin: ColumnElement[Any] = literal_column(
        f"{sql_identifier(layer.table.name)}.xmin"
    )
    return cast(cast(xmin, Text), BigInteger)  # xid has no cast to a number


class WrittenRow(NamedTuple):
    """The row of a replace, update or delete: the id and the row's new version."""

    id: int
    row_version: int


class StoredRow(NamedTuple):
    """The row of ``stored_statement``: a feature's version and (when it has one)
    its ward, to tell why a write touched nothing."""

    row_version: int
    ward_code: str | None


class PreconditionFailedError(GisError):
    """An ``If-Match`` that names no current version of the feature (412)."""


def stored_statement(layer: VectorLayer, feature_id: int) -> Select[Any]:
    """The stored feature's version and ward (``StoredRow``); no row: absent."""
    t = layer.table
    ward = t.c.ward_code if "ward_code" in t.c else literal_column("NULL::text")
    return select(
        row_version(layer).label("row_version"), ward.label("ward_code")
    ).where(t.c.id == bindparam("fid", feature_id, type_=BigInteger))


def unknown_ward(code: str) -> InvalidParameterError:
    """The refusal of a ``ward_code`` that ``ward_check`` did not find."""
    return InvalidParameterError(
        f"ward_code: {code!r} is not the code of a ward in force "
        "(see /collections/admin_units/items?level=commune)",
        parameter="ward_code",
    )


def _lonlat_bounds(
    srid: int, bounds: tuple[float, float, float, float]
) -> tuple[float, float, float, float]:
    if srid == 4326:
        return bounds
    x1, y1, x2, y2 = transformer(srid, 4326).transform_bounds(*bounds, densify_pts=21)
    return (x1, y1, x2, y2)


def _geometry(layer: VectorLayer, edit: FeatureEdit) -> Any:
    geom: Any = func.ST_SetSRID(
        func.ST_GeomFromWKB(bindparam("geom", edit.wkb, type_=LargeBinary)),
        literal_column(str(int(edit.srid))),
    )
    if edit.srid != layer.storage_srid:
        geom = func.ST_Transform(geom, literal_column(str(int(layer.storage_srid))))
    if layer.geometry_type and layer.geometry_type.startswith("Multi"):
        geom = func.ST_Multi(geom)
    return geom


def _row_values(layer: VectorLayer, edit: FeatureEdit) -> dict[str, Any]:
    t = layer.table
    row: dict[str, Any] = {
        name: bindparam(f"v_{name}", value, type_=t.c[name].type)
        for name, value in edit.values.items()
    }
    if edit.wkb is not None:
        row["geom"] = _geometry(layer, edit)
        if "source_crs" in t.c:
            row["source_crs"] = bindparam("source_crs", edit.srid, type_=Integer)
    return row


def insert_statement(layer: VectorLayer, edit: FeatureEdit) -> ReturningInsert[Any]:
    """INSERT the feature, RETURNING its new id."""
    return (
        insert(layer.table).values(_row_values(layer, edit)).returning(layer.table.c.id)
    )


def update_statement(
    layer: VectorLayer,
    edit: FeatureEdit,
    feature_id: int,
    *,
    replace: bool,
    precondition: Precondition = "exists",
) -> ReturningUpdate[Any]:
    """UPDATE one feature, RETURNING its id and new version (no row: absent, not
    the caller's, or the precondition failed).

    A replace sets every writable column: those the body left out to their default,
    or NULL; a patch only those it names.
    """
    t = layer.table
    row = _row_values(layer, edit)
    if replace:
        row.update(
            {
                name: literal_column("DEFAULT")
                for name in writable_columns(layer)
                if name not in edit.values
                and name not in edit.kept
                and t.c[name].server_default is not None
            }
        )
    compared = {
        name: value
        for name, value in row.items()
        if name == "geom" or name in edit.values
    }  # the values the write sets (not DEFAULTs, nor the CRS it came in)
    if "updated_at" in t.c:
        row["updated_at"] = func.now()
    if not row:  # an empty patch: the feature is touched, as the client asked
        row["id"] = t.c.id
    stmt = update(t).where(
        t.c.id == bindparam("fid", feature_id, type_=BigInteger),
        *_preconditions(layer, feature_id, precondition, compared),
    )
    return stmt.values(row).returning(t.c.id, row_version(layer).label("row_version"))


def _preconditions(
    layer: VectorLayer,
    feature_id: int,
    precondition: Precondition,
    compared: dict[str, Any],
) -> list[Any]:
    """The WHERE terms of ``precondition`` (see ``Precondition``)."""
    if precondition == "exists":
        return []
    if precondition != "unchanged":
        listed = bindparam("if_match", sorted(precondition), type_=ARRAY(BigInteger))
        return [row_version(layer) == any_(listed)]
    t = layer.table
    # the row as the statement's snapshot has it: an uncorrelated subquery is run
    # once, before any wait for a lock, and PostgreSQL re-checks the WHERE clause
    # on the newest row version after the wait with the same value
    before = t.alias("before_write")
    fid = bindparam("fid", feature_id, type_=BigInteger)
    terms = []
    for name, value in compared.items():
        then = select(before.c[name]).where(before.c.id == fid).scalar_subquery()
        terms.append(
            or_(
                t.c[name].is_not_distinct_from(then),
                t.c[name].is_not_distinct_from(value),
            )
        )
    return [and_(*terms)] if terms else []


def delete_statement(
    layer: VectorLayer, feature_id: int, *, precondition: Precondition = "exists"
) -> ReturningDelete[Any]:
    """DELETE one feature, RETURNING its id and last version (none: absent, not the
    caller's, or the precondition failed). Without ``If-Match`` a delete has no
    condition: whatever the feature became, deleting it is what was asked."""
    t = layer.table
    if precondition == "unchanged":
        precondition = "exists"
    return (
        delete(t)
        .where(
            t.c.id == bindparam("fid", feature_id, type_=BigInteger),
            *_preconditions(layer, feature_id, precondition, {}),
        )
        .returning(t.c.id, row_version(layer).label("row_version"))
    )
