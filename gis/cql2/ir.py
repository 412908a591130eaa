"""The typed intermediate form of a CQL2 filter: what lowering hands the compiler.

A checked filter is a tree of the frozen dataclasses below. Literal values never
appear in it, only the names of their bind parameters (``f_0``, ``f_1``, ...) and the
few facts about a value that change the SQL (an open interval end, a box across the
antimeridian). So the tree is hashable and equal by value, and equal trees compile to
the same SQL text: the whole tree is the statement-cache key (``Filter.shape``).

Two families: a :data:`Predicate` is a boolean condition (a ``WHERE`` term), a
:data:`Value` is an operand. ``compile.py`` turns each node into SQLAlchemy with one
``match``; mypy checks that every node is handled.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, TypeAlias

# the SQL type a parameter is bound and cast as
BindType = Literal["text", "bigint", "numeric", "float", "bool", "date", "tstz"]
# the type of an instant once two operands are unified
TimeType = Literal["date", "tstz"]
CompareOp = Literal["=", "<>", "<", "<=", ">", ">="]
ArithmeticOp = Literal["+", "-", "*", "/", "%", "div", "^"]
ArrayOp = Literal["a_equals", "a_contains", "a_containedby", "a_overlaps"]
SpatialFunction = Literal[
    "ST_Intersects",
    "ST_Equals",
    "ST_Disjoint",
    "ST_Touches",
    "ST_Within",
    "ST_Overlaps",
    "ST_Crosses",
    "ST_Contains",
]

# --- values ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Param:
    """The bind parameter ``name``, cast to ``type`` (``type[]`` for an array)."""

    name: str
    type: BindType
    array: bool = False


@dataclass(frozen=True, slots=True)
class Column:
    """A column of the layer's table (a queryable, checked by lowering)."""

    name: str


@dataclass(frozen=True, slots=True)
class Lower:
    """``CASEI``: PostgreSQL ``lower()``."""

    value: Value


@dataclass(frozen=True, slots=True)
class FoldAccents:
    """``ACCENTI``: NFD, combining marks removed, đ/Đ to d/D (in PostgreSQL)."""

    value: Value


@dataclass(frozen=True, slots=True)
class AsNumeric:
    """An integer or double operand cast to ``numeric`` (exact, never overflows)."""

    value: Value


@dataclass(frozen=True, slots=True)
class Arithmetic:
    """``left op right`` on numerics; ``/``, ``%`` and ``div`` by zero are NULL."""

    op: ArithmeticOp
    left: Value
    right: Value


@dataclass(frozen=True, slots=True)
class AtCityTime:
    """A date or a timestamp without time zone as the instant it names in city time
    (Asia/Ho_Chi_Minh): a date is 00:00 of that day there."""

    value: Value


@dataclass(frozen=True, slots=True)
class Infinity:
    """An open interval end: ``-infinity`` for a start, ``infinity`` for an end."""

    start: bool
    type: TimeType


@dataclass(frozen=True, slots=True)
class OpenEnd:
    """An interval end read from a nullable column: NULL is open (``Infinity``)."""

    value: Value
    start: bool
    type: TimeType


@dataclass(frozen=True, slots=True)
class GeometryLiteral:
    """A checked GeoJSON literal (the parameter) in EPSG:``srid``, in storage CRS."""

    geojson: Param
    srid: int


@dataclass(frozen=True, slots=True)
class Box:
    """A ``BBOX`` literal in EPSG:``srid``, in storage CRS.

    ``segment`` (a parameter) densifies a projected box before it is transformed.
    """

    xmin: Param
    ymin: Param
    xmax: Param
    ymax: Param
    srid: int
    crosses_antimeridian: bool
    segment: Param | None


@dataclass(frozen=True, slots=True)
class ArrayCast:
    """An array column cast to ``element[]`` (its elements' canonical type)."""

    value: Value
    element: BindType


@dataclass(frozen=True, slots=True)
class PredicateValue:
    """A predicate used as a boolean value (``isNull(x) = TRUE``)."""

    predicate: Predicate


Value: TypeAlias = (
    Param
    | Column
    | Lower
    | FoldAccents
    | AsNumeric
    | Arithmetic
    | AtCityTime
    | Infinity
    | OpenEnd
    | GeometryLiteral
    | Box
    | ArrayCast
    | PredicateValue
)

# --- predicates -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class And:
    """Every item holds."""

    items: tuple[Predicate, ...]


@dataclass(frozen=True, slots=True)
class Or:
    """Some item holds."""

    items: tuple[Predicate, ...]


@dataclass(frozen=True, slots=True)
class Not:
    """The item does not hold."""

    item: Predicate


@dataclass(frozen=True, slots=True)
class IsTrue:
    """A boolean value (a literal, a boolean column) as a condition."""

    value: Value


@dataclass(frozen=True, slots=True)
class Compare:
    """``left op right``, both sides of one comparable type."""

    op: CompareOp
    left: Value
    right: Value


@dataclass(frozen=True, slots=True)
class IsNull:
    """``value IS NULL``."""

    value: Value


@dataclass(frozen=True, slots=True)
class Like:
    """``value LIKE pattern`` (the escape character is ``\\``)."""

    value: Value
    pattern: Value


@dataclass(frozen=True, slots=True)
class Between:
    """``value BETWEEN low AND high``."""

    value: Value
    low: Value
    high: Value


@dataclass(frozen=True, slots=True)
class EqualsAny:
    """``value = ANY(array)``: an IN list of literals as one array parameter."""

    value: Value
    array: Param


@dataclass(frozen=True, slots=True)
class Spatial:
    """A DE-9IM function of two geometries."""

    function: SpatialFunction
    left: Value
    right: Value


@dataclass(frozen=True, slots=True)
class BoxPrefilter:
    """An index-friendly ``&&`` test before ``S_DWITHIN``: the literal operand
    expanded by ``degrees``."""

    degrees: Param
    literal_on_left: bool


@dataclass(frozen=True, slots=True)
class DWithin:
    """``S_DWITHIN``: within ``distance`` metres on the WGS 84 spheroid."""

    left: Value
    right: Value
    distance: Param
    prefilter: BoxPrefilter | None


@dataclass(frozen=True, slots=True)
class ArrayRelation:
    """An array function; both sides are arrays of one element type."""

    op: ArrayOp
    left: Value
    right: Value


Predicate: TypeAlias = (
    And
    | Or
    | Not
    | IsTrue
    | Compare
    | IsNull
    | Like
    | Between
    | EqualsAny
    | Spatial
    | DWithin
    | ArrayRelation
)
