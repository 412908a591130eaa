"""Lowering: a CQL2-JSON AST, checked against a layer, to the typed form of ``ir.py``.

Every type is checked here, before any SQL exists: a property must be a queryable the
caller may see, a function must take what it is given, a literal must be valid. Each
literal becomes a bind parameter (``f_0``, ``f_1``, ... in ``Lowerer.params``) whose
SQL type is chosen by the other operand (``sheet_no = 2.5`` binds a bigint range,
``value = 2.5`` a double, ``received_at >= DATE('2024-06-01')`` a timestamptz).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from sqlalchemy import ARRAY

from gis.columns import NUMBER_KINDS, TIME_KINDS, Kind, Mag, column_kind
from gis.cql2 import ir
from gis.cql2.errors import invalid, over_limit, show
from gis.cql2.geometry import GeometryLiterals
from gis.cql2.guards import MAX_DIGITS, MAX_DWITHIN_METRES, MAX_EXPONENT, MAX_IN_ITEMS
from gis.cql2.literals import (
    DATE_RE,
    date_value,
    decimal,
    fold_accents,
    instant,
    literal_mag,
    number_value,
    text_value,
    timestamp_value,
)
from gis.cql2.vocabulary import (
    ARITHMETIC,
    ARRAY_OPS,
    CLASS_OF,
    COMPARISONS,
    FLIPPED,
    FUNCTIONS,
    KIND_NAMES,
    METRE_UNITS,
    PREDICATES,
    RELATIONS,
    SPATIAL,
    TEMPORAL_ANY,
    TEMPORAL_INTERVALS,
)
from gis.errors import InvalidParameterError
from gis.layer import Field, VectorLayer

INT8_MIN = -(2**63)
INT8_MAX = 2**63 - 1

# the bind type of a literal of each kind (and of the elements of an array of it)
_BIND_TYPE: dict[Kind, ir.BindType] = {
    "int": "bigint",
    "num": "numeric",
    "float": "float",
    "text": "text",
    "bool": "bool",
    "date": "date",
    "tstz": "tstz",
}
# a double bounded to 15 significant digits: at most 309 digits before the point
_FLOAT_MAG = Mag(309, 340)


@dataclass
class _Typed:
    """A lowered expression, its kind, and what else its SQL needs."""

    node: ir.Value
    kind: Kind
    mag: Mag | None = None  # numbers
    elem: Kind | None = None  # arrays: the element kind
    column: str | None = None  # a plain column reference
    nullable: bool = True
    max_lat: float = 90.0  # geometry literals: the largest |latitude| in storage
    open_when_null: bool = False  # an interval end from a nullable column


@dataclass
class _Pending:
    """A literal whose SQL type is chosen by the other operand."""

    kind: Kind
    value: Any
    items: list[_Pending | _Typed] | None = None  # arrays


_Operand = _Typed | _Pending


@dataclass
class _Time:
    """A temporal operand: an instant (start is end) or an interval."""

    start: _Operand | None  # None: an open end ("..")
    end: _Operand | None
    interval: bool


class Lowerer:
    """Checks an AST against a layer and lowers it to ``ir``; collects the params.

    One class on purpose, though long: every operator's lowering reads the same
    per-filter state (the layer, the fields the caller may see, the filter CRS,
    the parameters gathered so far) and calls back into ``lower`` for its operands.
    The pieces that need none of it live beside it (``literals``, ``geometry``,
    ``guards``, ``vocabulary``); splitting the rest into mixins would only spread
    one recursive walk over several files.
    """

    def __init__(
        self,
        layer: VectorLayer,
        fields: tuple[Field, ...],
        filter_crs: int,
        *,
        lonlat: bool,
    ) -> None:
        self.layer = layer
        self.params: dict[str, Any] = {}
        srid = int(filter_crs)
        if srid not in (layer.storage_srid, *layer.crs_srids):
            # PostGIS transforms only from the SRIDs in its spatial_ref_sys
            raise InvalidParameterError(
                f"filter-crs: EPSG:{srid} is not offered by this collection",
                parameter="filter-crs",
            )
        self.geometries = GeometryLiterals(srid, layer.storage_srid, lonlat=lonlat)
        columns = layer.table.c
        self.queryables: dict[str, str] = {"id": "id"}
        for f in fields:
            if f.queryable and f.name in columns:
                self.queryables[f.name] = f.name
        if layer.geometry_type is not None and "geom" in columns:
            self.queryables["geometry"] = "geom"
            self.queryables["geom"] = "geom"
        self.has_arrays = any(
            isinstance(columns[name].type, ARRAY) for name in self.queryables.values()
        )

    # -- helpers ----------------------------------------------------------------------

    def slot(self, value: Any) -> str:
        """A new bind parameter holding ``value``: its name."""
        name = f"f_{len(self.params)}"
        self.params[name] = value
        return name

    def param(self, value: Any, type_: ir.BindType, *, array: bool = False) -> ir.Param:
        """A new bind parameter holding ``value``, bound as ``type_``."""
        return ir.Param(self.slot(value), type_, array)

    def _published(self) -> str:
        names = sorted(n for n in self.queryables if n != "geom")
        return ", ".join(names)

    # -- predicates -------------------------------------------------------------------

    def predicate(self, ast: Any) -> ir.Predicate:
        """Lower a boolean-valued AST node."""
        if isinstance(ast, bool):
            return ir.IsTrue(self.param(ast, "bool"))
        if isinstance(ast, dict) and "op" in ast:
            op, args = self._op(ast)
            if op in PREDICATES:
                return self._predicate_op(op, args)
        value = self.scalar(ast)
        if isinstance(value, _Typed) and value.kind == "bool":
            return ir.IsTrue(value.node)
        raise invalid(f"{self._describe(ast)} is not a predicate", "basic-cql2")

    def _op(self, ast: dict[str, Any]) -> tuple[str, list[Any]]:
        raw = ast.get("op")
        args = ast.get("args", [])
        if not isinstance(raw, str) or not isinstance(args, list):
            raise invalid("malformed operation", "cql2-json")
        op = raw.lower()
        if op not in FUNCTIONS:
            raise invalid(
                f"unknown function {show(raw)}; supported: "
                + ", ".join(sorted(o.upper() for o in FUNCTIONS if o[0].isalpha()))
                + ", and the operators "
                + " ".join(sorted(o for o in FUNCTIONS if not o[0].isalpha())),
                "functions",
            )
        return op, args

    def _arity(self, op: str, args: list[Any], *counts: int) -> None:
        if len(args) not in counts:
            want = " or ".join(str(c) for c in counts)
            raise invalid(
                f"{op.upper()} takes {want} arguments, not {len(args)}", CLASS_OF[op]
            )

    def _predicate_op(self, op: str, args: list[Any]) -> ir.Predicate:
        if op in ("and", "or"):
            if len(args) < 2:
                raise invalid(f"{op.upper()} needs at least 2 arguments", "basic-cql2")
            items = tuple(self.predicate(a) for a in args)
            return ir.And(items) if op == "and" else ir.Or(items)
        if op == "not":
            self._arity(op, args, 1)
            return ir.Not(self.predicate(args[0]))
        if op in COMPARISONS:
            self._arity(op, args, 2)
            return self._compare(
                COMPARISONS[op], self.scalar(args[0]), self.scalar(args[1])
            )
        if op == "isnull":
            self._arity(op, args, 1)
            value = self.scalar(args[0], any_kind=True)
            if isinstance(value, _Pending):
                value = self._natural(value)
            return ir.IsNull(value.node)
        if op == "like":
            return self._like(args)
        if op == "between":
            self._arity(op, args, 3)
            value, low, high = (self.scalar(a) for a in args)
            return self._between(value, low, high)
        if op == "in":
            return self._in(args)
        if op in SPATIAL:
            self._arity(op, args, 2)
            return self._spatial(op, args)
        if op == "s_dwithin":
            return self._dwithin(args)
        if op in TEMPORAL_ANY or op in TEMPORAL_INTERVALS:
            self._arity(op, args, 2)
            return self._temporal(op, args)
        assert op in ARRAY_OPS
        self._arity(op, args, 2)
        return self._array_op(op, args)

    # -- scalars ----------------------------------------------------------------------

    def scalar(self, ast: Any, *, any_kind: bool = False) -> _Operand:
        """Lower a value; literals stay pending until their SQL type is known."""
        if isinstance(ast, bool):
            return _Pending("bool", ast)
        if isinstance(ast, int | float):
            return _Pending("num", number_value(float(ast)))
        if isinstance(ast, str):
            return _Pending("text", text_value(ast))
        if ast is None:
            raise invalid("NULL is not a value: use IS NULL", "basic-cql2")
        if isinstance(ast, list):
            return self._array_literal(ast)
        if not isinstance(ast, dict):
            raise invalid("malformed expression", "cql2-json")
        if "property" in ast:
            return self._property(ast["property"])
        if "date" in ast:
            return _Pending("date", date_value(ast["date"]))
        if "timestamp" in ast:
            return _Pending("tstz", timestamp_value(ast["timestamp"]))
        if "op" in ast:
            op, args = self._op(ast)
            if op in ("casei", "accenti"):
                return self._fold(op, args)
            if op in ARITHMETIC:
                return self._arithmetic(op, args)
            return _Typed(ir.PredicateValue(self._predicate_op(op, args)), "bool")
        if "bbox" in ast or "type" in ast:
            if not any_kind:
                raise invalid(
                    "a geometry is not a scalar value: use a spatial function",
                    "spatial-functions",
                )
            return self._geometry(ast)
        if "interval" in ast:
            raise invalid(
                "an interval is only an argument of a temporal function",
                "temporal-functions",
            )
        raise invalid("malformed expression", "cql2-json")

    def _property(self, name: Any) -> _Typed:
        if not isinstance(name, str) or name not in self.queryables:
            raise invalid(
                f"unknown property {show(name)}; queryables: {self._published()}"
            )
        column = self.layer.table.c[self.queryables[name]]
        typed = column_kind(column.type)
        if typed is None:
            raise invalid(f"property {show(name)} cannot be filtered on")
        kind, mag = typed
        elem: Kind | None = None
        if kind == "array":
            assert isinstance(column.type, ARRAY)
            inner = column_kind(column.type.item_type)
            if inner is None or inner[0] in ("geom", "array", "tsnaive"):
                raise invalid(f"property {show(name)} cannot be filtered on")
            elem = inner[0]
        return _Typed(
            ir.Column(column.name),
            kind,
            mag=mag,
            elem=elem,
            column=column.name,
            nullable=bool(column.nullable),
        )

    def _describe(self, ast: Any) -> str:
        if isinstance(ast, dict) and "property" in ast:
            return f"property {show(ast['property'])}"
        if isinstance(ast, dict) and "op" in ast:
            return f"{str(ast['op']).upper()}(...)"
        return f"the literal {show(ast)}"

    def _natural(self, value: _Pending) -> _Typed:
        """A literal in its own type (when nothing else chooses one)."""
        return self._materialise(value, value.kind)

    def _materialise(self, value: _Operand, kind: Kind) -> _Typed:
        """A literal bound as ``kind`` (a number as ``num``, a date as ``tstz``...)."""
        if isinstance(value, _Typed):
            return value
        v = value.value
        if kind == "text":
            return _Typed(self.param(v, "text"), "text")
        if kind == "num":
            d = decimal(v)
            return _Typed(self.param(d, "numeric"), "num", mag=literal_mag(d))
        if kind == "float":
            return _Typed(self.param(float(v), "float"), "float", _FLOAT_MAG)
        if kind == "bool":
            return _Typed(self.param(v, "bool"), "bool")
        if kind == "date":
            return _Typed(self.param(v, "date"), "date")
        if kind == "tstz":
            return _Typed(self.param(instant(v), "tstz"), "tstz")
        if kind == "array":
            elem = self._array_elem(value) or "text"
            return _Typed(self._array_value(value, elem), "array", elem=elem)
        raise AssertionError(kind)  # pragma: no cover - every kind handled above

    # -- CASEI / ACCENTI ----------------------------------------------------------

    def _fold(self, op: str, args: list[Any]) -> _Typed:
        self._arity(op, args, 1)
        value = self.scalar(args[0])
        if value.kind != "text":
            raise invalid(
                f"{op.upper()} takes text, not {KIND_NAMES[value.kind]}", CLASS_OF[op]
            )
        text = self._materialise(value, "text")
        # in PostgreSQL on both sides, literal or column, so both sides always agree
        return _Typed(_folded(op, text.node), "text")

    # -- comparisons ------------------------------------------------------------------

    def _compare(
        self, op: ir.CompareOp, left: _Operand, right: _Operand
    ) -> ir.Predicate:
        if isinstance(left, _Pending) and isinstance(right, _Typed):
            # keep the property on the left: the literal's type follows it
            return self._compare(FLIPPED[op], right, left)
        if (
            isinstance(right, _Pending)
            and isinstance(left, _Typed)
            and left.kind == "int"
            and left.column is not None
            and right.kind == "num"
        ):
            return self._int_range(op, left, right.value)
        a, b = self._unify_many([left, right], op)
        if a.kind == "bool" and op not in ("=", "<>"):
            raise invalid("booleans only compare with = and <>", "basic-cql2")
        if a.kind in ("geom", "array"):
            hint = "S_EQUALS" if a.kind == "geom" else "A_EQUALS"
            raise invalid(
                f"{KIND_NAMES[a.kind]} does not compare with {op}: use {hint}",
                "basic-cql2",
            )
        return ir.Compare(op, a.node, b.node)

    def _int_range(self, op: ir.CompareOp, column: _Typed, x: float) -> ir.Predicate:
        """``int_column op number`` as an exact integer range (index-friendly).

        ``parcel_no = 2.5`` can never hold, ``parcel_no < 2.5`` is ``<= 2``; the range
        is clipped to 64-bit integers so the bound values are always valid bigints.
        """
        lo: float = -math.inf
        hi: float = math.inf
        if op in ("=", "<>"):
            lo, hi = math.ceil(x), math.floor(x)
        elif op == "<":
            hi = math.ceil(x) - 1
        elif op == "<=":
            hi = math.floor(x)
        elif op == ">":
            lo = math.floor(x) + 1
        else:
            lo = math.ceil(x)
        lo, hi = max(lo, INT8_MIN), min(hi, INT8_MAX)
        if lo > hi:
            lo, hi = 1, 0  # empty
        node = ir.Between(
            column.node,
            self.param(int(lo), "bigint"),
            self.param(int(hi), "bigint"),
        )
        return ir.Not(node) if op == "<>" else node

    def _unify_many(self, values: list[_Operand], op: str) -> list[_Typed]:
        """Operands in one comparable SQL type (numbers, instants, texts, booleans).

        Numbers: a literal against double columns binds as a double (index-friendly);
        a double meeting a numeric column or expression is cast to numeric (a double
        always becomes a numeric; a large numeric result would overflow a double).
        Instants: dates stay dates among dates, anything else compares as timestamps.
        """
        first = values[0]
        for other in values[1:]:
            if not _comparable(first.kind, other.kind):
                if first.kind == other.kind == "array":
                    raise invalid("arrays compare with A_EQUALS", "array-functions")
                raise invalid(
                    f"cannot compare {_name(first)} with {_name(other)}"
                    + _hint(first, other),
                    CLASS_OF.get(op, "basic-cql2"),
                )
        kinds = {v.kind for v in values}
        if kinds <= NUMBER_KINDS:
            typed = {v.kind for v in values if isinstance(v, _Typed)}
            literal_kind: Kind = "float" if typed == {"float"} else "num"
            out: list[_Typed] = []
            for v in values:
                if isinstance(v, _Pending):
                    out.append(self._materialise(v, literal_kind))
                elif v.kind == "float" and "num" in typed:
                    out.append(_Typed(ir.AsNumeric(v.node), "num", mag=v.mag))
                else:
                    out.append(v)
            return out
        if kinds <= TIME_KINDS:
            target: Kind = "date" if kinds == {"date"} else "tstz"
            return [self._as_time(v, target) for v in values]
        return [self._materialise(v, v.kind) for v in values]

    def _as_time(self, value: _Operand, target: Kind) -> _Typed:
        if isinstance(value, _Pending):
            return self._materialise(value, target)
        if value.kind == target:
            return value
        # a date or a timestamp without time zone, read as city time (documented)
        return _Typed(ir.AtCityTime(value.node), "tstz", column=value.column)

    # -- LIKE, BETWEEN, IN ------------------------------------------------------------

    def _like(self, args: list[Any]) -> ir.Predicate:
        self._arity("like", args, 2)
        text = self.scalar(args[0])
        if text.kind != "text":
            raise invalid(
                f"LIKE matches text, not {_name(text)}",
                "advanced-comparison-operators",
            )
        pattern_ast = args[1]
        folds: list[str] = []
        # CASEI('...') / ACCENTI('...') around the pattern: applied in SQL, like the
        # text side, but the literal itself must be seen here to be checked
        while isinstance(pattern_ast, dict) and _is_fold(pattern_ast):
            fold_op, fold_args = self._op(pattern_ast)
            self._arity(fold_op, fold_args, 1)
            folds.append(fold_op)
            pattern_ast = fold_args[0]
        if not isinstance(pattern_ast, str):
            raise invalid(
                "the LIKE pattern must be a text literal",
                "advanced-comparison-operators",
            )
        pattern = text_value(pattern_ast)
        for candidate in (pattern, fold_accents(pattern)):
            trailing = len(candidate) - len(candidate.rstrip("\\"))
            if trailing % 2:
                raise invalid(
                    "the LIKE pattern ends with the escape character \\",
                    "advanced-comparison-operators",
                )
        node: ir.Value = self.param(pattern, "text")
        for fold_op in reversed(folds):
            node = _folded(fold_op, node)
        left = self._materialise(text, "text")
        return ir.Like(left.node, node)

    def _between(self, value: _Operand, low: _Operand, high: _Operand) -> ir.Predicate:
        if (
            isinstance(value, _Typed)
            and value.kind == "int"
            and value.column is not None
            and isinstance(low, _Pending)
            and isinstance(high, _Pending)
            and low.kind == high.kind == "num"
        ):
            # an integer column between two numbers: the integer range inside them
            lo = max(math.ceil(low.value), INT8_MIN)
            hi = min(math.floor(high.value), INT8_MAX)
            if lo > hi:
                lo, hi = 1, 0
            return ir.Between(
                value.node,
                self.param(int(lo), "bigint"),
                self.param(int(hi), "bigint"),
            )
        if value.kind not in NUMBER_KINDS | TIME_KINDS | {"text"}:
            raise invalid(
                f"BETWEEN takes numbers, texts or instants, not {_name(value)}",
                "advanced-comparison-operators",
            )
        a, lo_t, hi_t = self._unify_many([value, low, high], "between")
        return ir.Between(a.node, lo_t.node, hi_t.node)

    def _in(self, args: list[Any]) -> ir.Predicate:
        self._arity("in", args, 2)
        items = args[1]
        if not isinstance(items, list):
            raise invalid("IN takes a list", "advanced-comparison-operators")
        if len(items) > MAX_IN_ITEMS:
            raise over_limit(
                f"an IN list has at most {MAX_IN_ITEMS} items ({len(items)} given)",
                "in_items",
                MAX_IN_ITEMS,
            )
        if not items:
            raise invalid("IN needs at least one item", "advanced-comparison-operators")
        value = self.scalar(args[0])
        values = [self.scalar(item) for item in items]
        if all(isinstance(v, _Pending) and v.kind != "array" for v in values):
            return self._in_array(value, [v for v in values if isinstance(v, _Pending)])
        # items that are expressions: a = b OR a = c, which is what IN means in SQL
        return ir.Or(tuple(self._compare("=", value, v) for v in values))

    def _in_array(self, value: _Operand, items: list[_Pending]) -> ir.Predicate:
        """``value IN (literals)`` as ``value = ANY(:array)``: one parameter."""
        if isinstance(value, _Pending):
            value = self._natural(value)
        for item in items:
            if not _comparable(value.kind, item.kind):
                raise invalid(
                    f"cannot compare {_name(value)} with {_name(item)}"
                    + _hint(value, item),
                    "advanced-comparison-operators",
                )
        array: list[Any]
        element: ir.BindType
        if value.kind == "int":
            # only integral values in range can equal an integer: drop the others
            ints = {
                int(i.value)
                for i in items
                if float(i.value).is_integer() and INT8_MIN <= i.value <= INT8_MAX
            }
            array, element = sorted(ints), "bigint"
        elif value.kind == "float":
            array, element = [float(i.value) for i in items], "float"
        elif value.kind == "num":
            array, element = [decimal(i.value) for i in items], "numeric"
        elif value.kind in TIME_KINDS:
            dates = value.kind == "date" and all(i.kind == "date" for i in items)
            value = self._as_time(value, "date" if dates else "tstz")
            if dates:
                array, element = [i.value for i in items], "date"
            else:
                array, element = [instant(i.value) for i in items], "tstz"
        else:  # text, bool
            array, element = [i.value for i in items], _BIND_TYPE[value.kind]
        return ir.EqualsAny(value.node, self.param(array, element, array=True))

    # -- arithmetic -------------------------------------------------------------------

    def _arithmetic(self, op: str, args: list[Any]) -> _Typed:
        self._arity(op, args, 2)
        left, right = self.scalar(args[0]), self.scalar(args[1])
        for value in (left, right):
            if value.kind not in NUMBER_KINDS:
                raise invalid(f"{op} takes numbers, not {_name(value)}", "arithmetic")
        if op == "^":
            return self._power(left, right)
        a, b = self._numeric(left), self._numeric(right)
        assert a.mag is not None and b.mag is not None
        if op in ("+", "-"):
            mag = Mag(max(a.mag.hi, b.mag.hi) + 1, max(a.mag.sc, b.mag.sc))
        elif op == "*":
            mag = Mag(a.mag.hi + b.mag.hi, a.mag.sc + b.mag.sc)
        elif op == "/":
            # PostgreSQL keeps 16 significant digits, at most 1000 decimals
            sc = min(max(16 + a.mag.sc + b.mag.hi, a.mag.sc, b.mag.sc), 1000)
            mag = Mag(a.mag.hi + b.mag.sc + 1, sc)
        elif op == "div":
            mag = Mag(a.mag.hi + b.mag.sc + 1, 0)
        else:  # %
            mag = Mag(min(a.mag.hi, b.mag.hi), max(a.mag.sc, b.mag.sc))
        _check_mag(mag)
        return _Typed(ir.Arithmetic(ARITHMETIC[op], a.node, b.node), "num", mag=mag)

    def _power(self, base: _Operand, exponent: _Operand) -> _Typed:
        if (
            not isinstance(exponent, _Pending)
            or not float(exponent.value).is_integer()
            or not 0 <= exponent.value <= MAX_EXPONENT
        ):
            raise invalid(
                f"the exponent of ^ must be an integer literal from 0 to {MAX_EXPONENT}",
                "arithmetic",
            )
        n = int(exponent.value)
        a = self._numeric(base)
        assert a.mag is not None
        mag = Mag(max(n * a.mag.hi, 1), min(max(n * a.mag.sc, 16), 1000))
        _check_mag(mag)
        power = ir.Arithmetic("^", a.node, self.param(Decimal(n), "numeric"))
        return _Typed(power, "num", mag=mag)

    def _numeric(self, value: _Operand) -> _Typed:
        """An arithmetic operand in numeric: integer and double columns are cast."""
        if isinstance(value, _Pending):
            return self._materialise(value, "num")
        if value.kind == "num":
            return value
        # int4 * int4 overflows int4 and doubles overflow near 1e308: numeric never
        return _Typed(ir.AsNumeric(value.node), "num", mag=value.mag)

    # -- spatial ----------------------------------------------------------------------

    def _geometry_operand(self, op: str, ast: Any) -> _Typed:
        value = self.scalar(ast, any_kind=True)
        if value.kind != "geom":
            raise invalid(
                f"{op.upper()} compares geometries, not {_name(value)}",
                CLASS_OF[op],
            )
        assert isinstance(value, _Typed)
        return value

    def _spatial(self, op: str, args: list[Any]) -> ir.Predicate:
        a = self._geometry_operand(op, args[0])
        b = self._geometry_operand(op, args[1])
        return ir.Spatial(SPATIAL[op], a.node, b.node)

    def _dwithin(self, args: list[Any]) -> ir.Predicate:
        self._arity("s_dwithin", args, 3, 4)
        a = self._geometry_operand("s_dwithin", args[0])
        b = self._geometry_operand("s_dwithin", args[1])
        distance = args[2]
        if isinstance(distance, bool) or not isinstance(distance, int | float):
            raise invalid(
                "the S_DWITHIN distance must be a number", "spatial-functions"
            )
        distance = number_value(float(distance))
        if distance < 0:
            raise invalid(
                "the S_DWITHIN distance cannot be negative", "spatial-functions"
            )
        if distance > MAX_DWITHIN_METRES:
            raise over_limit(
                f"S_DWITHIN distances are at most {MAX_DWITHIN_METRES:,.0f} m",
                "dwithin_distance",
                MAX_DWITHIN_METRES,
            )
        if len(args) == 4:
            unit = args[3]
            unit = unit.get("property") if isinstance(unit, dict) else unit
            if not isinstance(unit, str) or unit.lower() not in METRE_UNITS:
                raise invalid(
                    "S_DWITHIN distances are in metres (meters)", "spatial-functions"
                )
        d_param = self.param(distance, "float")
        # an index-friendly box test first: the literal expanded by the distance in
        # degrees (metres per degree shrink with the cosine of the latitude)
        literal = b if b.column is None else a if a.column is None else None
        if literal is None or not self.geometries.storage_geographic:
            return ir.DWithin(a.node, b.node, d_param, None)
        lat = min(90.0, literal.max_lat + distance / 110_574.0)
        degrees = 360.0
        if lat < 89.0:
            degrees = min(
                360.0, 1.01 * distance / (110_574.0 * math.cos(math.radians(lat)))
            )
        prefilter = ir.BoxPrefilter(
            self.param(degrees, "float"), literal_on_left=literal is a
        )
        return ir.DWithin(a.node, b.node, d_param, prefilter)

    def _geometry(self, ast: dict[str, Any]) -> _Typed:
        srid = self.geometries.srid
        if "bbox" in ast:
            box = self.geometries.bbox(ast["bbox"])
            x1, y1, x2, y2 = (
                self.param(v, "float") for v in (box.x1, box.y1, box.x2, box.y2)
            )
            segment = None if box.segment is None else self.param(box.segment, "float")
            node = ir.Box(x1, y1, x2, y2, srid, box.crosses_antimeridian, segment)
            return _Typed(node, "geom", max_lat=box.max_lat)
        geometry = self.geometries.geometry(ast)
        literal = ir.GeometryLiteral(self.param(geometry.geojson, "text"), srid)
        return _Typed(literal, "geom", max_lat=geometry.max_lat)

    # -- temporal ---------------------------------------------------------------------

    def _temporal(self, op: str, args: list[Any]) -> ir.Predicate:
        a = self._temporal_operand(op, args[0])
        b = self._temporal_operand(op, args[1])
        if op in TEMPORAL_INTERVALS and not (a.interval and b.interval):
            raise invalid(
                f"{op.upper()} relates two intervals (INTERVAL(start, end)); for "
                "instants use T_AFTER, T_BEFORE, T_EQUALS, T_INTERSECTS or T_DISJOINT",
                "temporal-functions",
            )
        ends = [e for e in (a.start, a.end, b.start, b.end) if e is not None]
        target: Kind = "date" if all(e.kind == "date" for e in ends) else "tstz"
        terms = RELATIONS[op]
        # an instant is one value, one parameter: its end is its start
        alias = {"e1": "s1" if not a.interval else "e1"}
        alias["e2"] = "s2" if not b.interval else "e2"
        used = {alias.get(n, n) for x, _, y in terms for n in (x, y)}
        sources = {"s1": (a.start, True), "e1": (a.end, False),
                   "s2": (b.start, True), "e2": (b.end, False)}  # fmt: skip
        # only the ends a relation uses become parameters (every param is in the SQL)
        nodes: dict[str, ir.Value] = {
            name: self._end(*sources[name], target)
            for name in ("s1", "e1", "s2", "e2")
            if name in used
        }
        built = [
            ir.Compare(o, nodes[alias.get(x, x)], nodes[alias.get(y, y)])
            for x, o, y in terms
        ]
        unique: list[ir.Predicate] = list(dict.fromkeys(built))  # an instant repeats
        if op == "t_disjoint":
            return ir.Or(tuple(unique)) if len(unique) > 1 else unique[0]
        return unique[0] if len(unique) == 1 else ir.And(tuple(unique))

    def _temporal_operand(self, op: str, ast: Any) -> _Time:
        if isinstance(ast, dict) and "interval" in ast:
            ends = ast["interval"]
            if not isinstance(ends, list) or len(ends) != 2:
                raise invalid("INTERVAL takes a start and an end", "temporal-functions")
            start = self._interval_end(ends[0])
            end = self._interval_end(ends[1])
            if (
                isinstance(start, _Pending)
                and isinstance(end, _Pending)
                and instant(start.value) > instant(end.value)
            ):
                raise invalid(
                    "INTERVAL: the end comes before the start", "temporal-functions"
                )
            return _Time(start, end, interval=True)
        value = self.scalar(ast)
        if value.kind not in TIME_KINDS:
            raise invalid(
                f"{op.upper()} takes instants and intervals, not {_name(value)}"
                + _hint(value, _Pending("date", None)),
                "temporal-functions",
            )
        return _Time(value, value, interval=False)

    def _interval_end(self, ast: Any) -> _Operand | None:
        """An interval end; None for ``..`` (open)."""
        if ast == "..":
            return None
        if isinstance(ast, str):
            if DATE_RE.fullmatch(ast):
                return _Pending("date", date_value(ast))
            return _Pending("tstz", timestamp_value(ast))
        value = self.scalar(ast)
        if value.kind not in TIME_KINDS:
            raise invalid(
                f"INTERVAL ends are instants or '..', not {_name(value)}",
                "temporal-functions",
            )
        if isinstance(value, _Typed) and value.column is not None and value.nullable:
            # a NULL end of an interval property is open (documented)
            return _Typed(
                value.node, value.kind, column=value.column, open_when_null=True
            )
        return value

    def _end(self, value: _Operand | None, start: bool, target: Kind) -> ir.Value:
        time_type: ir.TimeType = "date" if target == "date" else "tstz"
        if value is None:
            return ir.Infinity(start, time_type)
        if isinstance(value, _Typed) and value.open_when_null:
            inner = self._as_time(replace(value, open_when_null=False), target)
            return ir.OpenEnd(inner.node, start, time_type)
        return self._as_time(value, target).node

    # -- arrays -----------------------------------------------------------------------

    def _array_literal(self, items: list[Any]) -> _Pending:
        if len(items) > MAX_IN_ITEMS:
            raise over_limit(
                f"an array has at most {MAX_IN_ITEMS} items ({len(items)} given)",
                "in_items",
                MAX_IN_ITEMS,
            )
        values = [self.scalar(item) for item in items]
        return _Pending("array", None, items=values)

    def _array_operand(self, op: str, ast: Any) -> _Operand:
        value = self.scalar(ast)
        if value.kind == "array":
            return value
        if not self.has_arrays:
            raise invalid(
                f"{op.upper()} compares arrays, and there are no array-valued "
                "queryables in this collection",
                "array-functions",
            )
        raise invalid(
            f"{op.upper()} compares arrays, not {_name(value)}", "array-functions"
        )

    def _array_op(self, op: str, args: list[Any]) -> ir.Predicate:
        a = self._array_operand(op, args[0])
        b = self._array_operand(op, args[1])
        known = [e for e in (self._array_elem(a), self._array_elem(b)) if e is not None]
        if not known:
            target: Kind = "text"
        elif len(set(known)) == 1:
            target = known[0]
        elif set(known) <= NUMBER_KINDS:
            target = "num"
        else:
            raise invalid(
                f"the arrays hold different types ({KIND_NAMES[known[0]]} and "
                f"{KIND_NAMES[known[1]]})",
                "array-functions",
            )
        return ir.ArrayRelation(
            ARRAY_OPS[op], self._array_value(a, target), self._array_value(b, target)
        )

    def _array_elem(self, value: _Operand) -> Kind | None:
        """The element kind of an array operand (None for an empty literal)."""
        if isinstance(value, _Typed):
            return value.elem
        kinds: set[Kind] = set()
        for item in value.items or []:
            if not isinstance(item, _Pending) or item.kind == "array":
                raise invalid(
                    "array elements must be literals (no nested arrays)",
                    "array-functions",
                )
            kinds.add(item.kind)
        if len(kinds) > 1:
            raise invalid(
                "the elements of an array must share one type", "array-functions"
            )
        return next(iter(kinds), None)

    def _array_value(self, value: _Operand, target: Kind) -> ir.Value:
        """An array operand as ``target[]``.

        PostgreSQL's array operators want two arrays of one type, so columns are cast
        to the canonical array type of their elements (``integer[]`` to ``bigint[]``)
        and literals are bound as it: no cast of a user value can fail.
        """
        element = _BIND_TYPE[target]
        if isinstance(value, _Typed):
            return ir.ArrayCast(value.node, element)
        items = [i for i in value.items or [] if isinstance(i, _Pending)]
        values: list[Any]
        if target == "int":  # only an empty literal: any number makes the target num
            values = [int(i.value) for i in items]
        elif target == "num":
            values = [decimal(i.value) for i in items]
        elif target == "float":
            values = [float(i.value) for i in items]
        elif target == "tstz":
            values = [instant(i.value) for i in items]
        else:
            values = [i.value for i in items]
        return self.param(values, element, array=True)


# --- helpers without state ----------------------------------------------------------------


def _folded(op: str, value: ir.Value) -> ir.Value:
    """``CASEI`` or ``ACCENTI`` around ``value``."""
    return ir.Lower(value) if op == "casei" else ir.FoldAccents(value)


def _is_fold(ast: dict[str, Any]) -> bool:
    return str(ast.get("op", "")).lower() in ("casei", "accenti")


def _comparable(a: Kind, b: Kind) -> bool:
    return (
        (a in NUMBER_KINDS and b in NUMBER_KINDS)
        or (a in TIME_KINDS and b in TIME_KINDS)
        or (a == b and a in ("text", "bool", "geom"))
    )


def _name(value: _Operand) -> str:
    """An operand as a message names it."""
    if isinstance(value, _Typed) and value.column is not None:
        return f"{value.column!r} ({KIND_NAMES[value.kind]})"
    if isinstance(value, _Pending):
        return f"{KIND_NAMES[value.kind]} literal {show(value.value)}"
    return f"{KIND_NAMES[value.kind]} expression"


def _hint(left: _Operand, right: _Operand) -> str:
    kinds = {left.kind, right.kind}
    if kinds & TIME_KINDS and "text" in kinds:
        return "; write DATE('2025-07-01') or TIMESTAMP('2025-07-01T08:00:00Z')"
    if "text" in kinds and kinds & NUMBER_KINDS:
        return "; quote text values ('22945') and leave numbers bare"
    return ""


def _check_mag(mag: Mag) -> None:
    if mag.hi > MAX_DIGITS or mag.sc > MAX_DIGITS:
        raise invalid(
            f"the result could have more than {MAX_DIGITS} digits", "arithmetic"
        )
