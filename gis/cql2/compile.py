"""Compiling: the typed form of a filter (``ir.py``) to a SQLAlchemy expression.

Identifiers come only from the layer's ``Table``, functions and operators only from
the nodes below, every literal is a ``bindparam`` (one object per parameter name, cast
to its bind type). Equal forms give the same SQL text. Nothing here can fail on user
input: lowering checked it all, and divisions divide by ``NULLIF(x, 0)``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, assert_never

from sqlalchemy import (
    ARRAY,
    TIMESTAMP,
    BigInteger,
    Boolean,
    ColumnElement,
    Date,
    DateTime,
    Double,
    Numeric,
    Table,
    Text,
    and_,
    any_,
    bindparam,
    cast,
    func,
    literal_column,
    not_,
    or_,
)
from sqlalchemy.types import TypeEngine

from gis.columns import CITY_TZ_NAME
from gis.cql2 import ir

_BIND_TYPES: dict[ir.BindType, Callable[[], TypeEngine[Any]]] = {
    "text": Text,
    "bigint": BigInteger,
    "numeric": Numeric,
    "float": Double,
    "bool": Boolean,
    "date": Date,
    "tstz": lambda: DateTime(timezone=True),
}
_COMPARE: dict[ir.CompareOp, Callable[[Any, Any], ColumnElement[bool]]] = {
    "=": lambda a, b: a == b,
    "<>": lambda a, b: a != b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}
_ARRAY_SQL: dict[ir.ArrayOp, str] = {
    "a_contains": "@>",
    "a_containedby": "<@",
    "a_overlaps": "&&",
}
# combining diacritical marks (U+0300..U+036F): the Vietnamese tones and the
# circumflex, breve and horn all decompose into one of them under NFD
_MARKS_SQL = "E'[\\u0300-\\u036f]'"
# the zone a date or a timestamp without time zone is read in (gis.columns)
_CITY_TZ_SQL = f"'{CITY_TZ_NAME}'"


class Compiler:
    """Turns the typed form of a filter into SQLAlchemy, binding ``params`` by name."""

    def __init__(self, table: Table, storage_srid: int, params: dict[str, Any]) -> None:
        self.table = table
        self.storage_srid = int(storage_srid)
        self.params = params
        self.binds: dict[str, ColumnElement[Any]] = {}

    def bind(self, param: ir.Param) -> ColumnElement[Any]:
        """The bind parameter (one object per name: a value used twice)."""
        found = self.binds.get(param.name)
        if found is None:
            type_: TypeEngine[Any] = _BIND_TYPES[param.type]()
            if param.array:
                type_ = ARRAY(type_)
            found = cast(
                bindparam(param.name, self.params[param.name], type_=type_), type_
            )
            self.binds[param.name] = found
        return found

    def predicate(self, node: ir.Predicate) -> ColumnElement[bool]:
        """A condition as SQL."""
        match node:
            case ir.And(items):
                return and_(*(self.predicate(n) for n in items))
            case ir.Or(items):
                return or_(*(self.predicate(n) for n in items))
            case ir.Not(item):
                return not_(self.predicate(item))
            case ir.IsTrue(value):
                return self.value(value)
            case ir.Compare(op, left, right):
                return _COMPARE[op](self.value(left), self.value(right))
            case ir.IsNull(value):
                return self.value(value).is_(None)
            case ir.Like(value, pattern):
                return self.value(value).like(self.value(pattern))
            case ir.Between(value, low, high):
                return self.value(value).between(self.value(low), self.value(high))
            case ir.EqualsAny(value, array):
                return self.value(value) == any_(self.bind(array))
            case ir.Spatial(function, left, right):
                result: ColumnElement[bool] = getattr(func, function)(
                    self.value(left), self.value(right)
                )
                return result
            case ir.DWithin():
                return self._dwithin(node)
            case ir.ArrayRelation(op, left, right):
                a, b = self.value(left), self.value(right)
                if op == "a_equals":  # as sets: each contains the other
                    return and_(
                        a.op("@>", is_comparison=True)(b),
                        a.op("<@", is_comparison=True)(b),
                    )
                return a.op(_ARRAY_SQL[op], is_comparison=True)(b)
            case _:
                assert_never(node)

    def value(self, node: ir.Value) -> ColumnElement[Any]:
        """An operand as SQL."""
        match node:
            case ir.Column(name):
                column: ColumnElement[Any] = self.table.c[name]
                return column
            case ir.Param():
                return self.bind(node)
            case ir.Lower(value):
                return func.lower(self.value(value))
            case ir.FoldAccents(value):
                decomposed = func.normalize(self.value(value), literal_column("NFD"))
                stripped = func.regexp_replace(
                    decomposed,
                    literal_column(_MARKS_SQL),
                    literal_column("''"),
                    literal_column("'g'"),
                )
                return func.translate(
                    stripped, literal_column("'đĐ'"), literal_column("'dD'")
                )
            case ir.AsNumeric(value):
                return cast(self.value(value), Numeric)
            case ir.Arithmetic(op, left, right):
                return _arithmetic(op, self.value(left), self.value(right))
            case ir.AtCityTime(value):
                return func.timezone(
                    literal_column(_CITY_TZ_SQL), cast(self.value(value), TIMESTAMP)
                )
            case ir.Infinity(start, time_type):
                return _infinity(start, time_type)
            case ir.OpenEnd(value, start, time_type):
                return func.coalesce(self.value(value), _infinity(start, time_type))
            case ir.GeometryLiteral(geojson, srid):
                geom = func.ST_SetSRID(
                    func.ST_GeomFromGeoJSON(self.bind(geojson)),
                    literal_column(str(int(srid))),
                )
                return self._to_storage(geom, srid)
            case ir.Box():
                return self._box(node)
            case ir.ArrayCast(value, element):
                return cast(self.value(value), ARRAY(_BIND_TYPES[element]()))
            case ir.PredicateValue(predicate):
                return self.predicate(predicate)
            case _:
                assert_never(node)

    def _to_storage(self, geom: ColumnElement[Any], srid: int) -> ColumnElement[Any]:
        if srid == self.storage_srid:
            return geom
        return func.ST_Transform(geom, literal_column(str(self.storage_srid)))

    def _box(self, box: ir.Box) -> ColumnElement[Any]:
        x1, y1, x2, y2 = (
            self.bind(p) for p in (box.xmin, box.ymin, box.xmax, box.ymax)
        )
        srid_sql: ColumnElement[Any] = literal_column(str(int(box.srid)))
        if box.crosses_antimeridian:
            east: ColumnElement[Any] = literal_column("180")
            west: ColumnElement[Any] = literal_column("-180")
            env: ColumnElement[Any] = func.ST_Collect(
                func.ST_MakeEnvelope(x1, y1, east, y2, srid_sql),
                func.ST_MakeEnvelope(west, y1, x2, y2, srid_sql),
            )
        else:
            env = func.ST_MakeEnvelope(x1, y1, x2, y2, srid_sql)
        if box.segment is not None:
            # densify before transforming so the box's edges stay where they were
            env = func.ST_Segmentize(env, self.bind(box.segment))
        return self._to_storage(env, int(box.srid))

    def _dwithin(self, node: ir.DWithin) -> ColumnElement[bool]:
        a, b = self.value(node.left), self.value(node.right)

        def geography(g: ColumnElement[Any]) -> ColumnElement[Any]:
            if self.storage_srid != 4326:
                g = func.ST_Transform(g, literal_column("4326"))
            return func.geography(g)

        exact: ColumnElement[bool] = func.ST_DWithin(
            geography(a), geography(b), self.bind(node.distance)
        )
        if node.prefilter is None:
            return exact
        literal, other = (a, b) if node.prefilter.literal_on_left else (b, a)
        box = func.ST_Expand(literal, self.bind(node.prefilter.degrees))
        return and_(other.op("&&", is_comparison=True)(box), exact)


def _arithmetic(
    op: ir.ArithmeticOp, a: ColumnElement[Any], b: ColumnElement[Any]
) -> ColumnElement[Any]:
    zero: ColumnElement[Any] = literal_column("0")
    match op:
        case "+" | "-" | "*":
            return a.op(op)(b)
        case "/":  # x / 0 is NULL, never a division-by-zero error
            return a.op("/")(func.nullif(b, zero))
        case "%":
            return a.op("%")(func.nullif(b, zero))
        case "div":
            return func.div(a, func.nullif(b, zero))
        case "^":
            return func.power(a, b)
        case _:
            assert_never(op)


def _infinity(start: bool, time_type: ir.TimeType) -> ColumnElement[Any]:
    text = "'-infinity'" if start else "'infinity'"
    type_: TypeEngine[Any] = Date() if time_type == "date" else DateTime(timezone=True)
    return cast(literal_column(text), type_)
