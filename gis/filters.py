"""CQL2 filters (OGC API Features Part 3, OGC 19-079; CQL2, OGC 21-065) as SQL.

``parse_filter`` parses a ``filter`` with the ``cql2`` package, takes its CQL2-JSON
AST (never ``Expr.to_sql()``: it inlines literals and skips the queryables check) and
lowers it, checking every type before any SQL exists, into a *shape* and *params*:

- the shape is the AST with every literal replaced by a parameter name (and the few
  facts about a value that change the SQL, such as an open interval end). Equal shapes
  compile to the same SQL text, so a statement is compiled once per shape;
- the params are the literal values by parameter name (``f_0``, ``f_1``, ...).

``Filter.clause`` compiles a shape into a SQLAlchemy expression over the layer's table
columns: identifiers only from the ``Table``, functions and operators only from the
allow-list below, every literal a ``bindparam``.

No user input can make PostgreSQL fail: strings are checked for NUL and lone
surrogates, dates and timestamps are parsed in Python, geometries are built and
validated with shapely (and transformed with pyproj to prove the database can), LIKE
patterns may not end in the escape character, divisions divide by ``NULLIF(x, 0)``,
exponents are small integers and the magnitude of every arithmetic result is bounded
before it is computed.

Semantics worth knowing (documented for the API description):

- integers from the parser are doubles (the ``cql2`` package reads every number as a
  64-bit float), so integers beyond 2**53 lose precision;
- a comparison of an integer property with a number is rewritten as an integer range
  (``sheet_no < 2.5`` is ``sheet_no BETWEEN -2**63 AND 2``) so indexes stay usable;
- timestamps without a time zone are UTC; a date compared with a timestamp is the
  instant 00:00 UTC of that day;
- ``CASEI`` is PostgreSQL ``lower()``; ``ACCENTI`` removes combining marks after NFD
  decomposition and maps đ/Đ to d/D (it keeps case: ``CASEI(ACCENTI(x))`` for both);
  both functions run in PostgreSQL on both sides, so they always agree;
- ``S_DWITHIN(a, b, distance[, metres])`` (a dothi extension; OGC 21-065 dropped it)
  takes a distance in metres, computed on the WGS 84 spheroid (``geography``);
- an interval property end that is NULL is open (``..``); a NULL instant is unknown;
- arrays are compared as sets (``A_EQUALS``: same elements, any order).
"""

from __future__ import annotations

import datetime as dt
import math
import re
import unicodedata
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache
from typing import Any, Literal, NamedTuple
from typing import cast as cast_type

import cql2
import numpy as np
import shapely
import shapely.geometry
from geoalchemy2 import Geometry
from pyproj.exceptions import CRSError
from sqlalchemy import (
    ARRAY,
    TIMESTAMP,
    BigInteger,
    Boolean,
    ColumnElement,
    Date,
    DateTime,
    Double,
    Float,
    Integer,
    Numeric,
    SmallInteger,
    String,
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

from gis.crs import (
    area_of_use,
    is_geographic,
    segment_length,
    transformer,
    within_area,
)
from gis.errors import InvalidParameterError, LimitExceededError
from gis.layer import Field, VectorLayer

# --- limits (each a LimitExceededError naming it) -----------------------------------
MAX_TEXT_BYTES = 8 * 1024  # cql2-text, UTF-8 bytes
MAX_JSON_BYTES = 64 * 1024  # cql2-json, UTF-8 bytes
MAX_DEPTH = 20  # nested operators
MAX_NODES = 200  # operators, properties and literals (array items excepted)
MAX_IN_ITEMS = 1_000  # items of one IN list or array literal
MAX_VERTICES = 10_000  # all literal geometries of a filter together
MAX_DWITHIN_METRES = 100_000.0
MAX_EXPONENT = 64  # ``^`` takes an integer literal from 0 to this
# the cql2 parser recurses once per parenthesis or prefix operator and crashes the
# process (stack overflow) a few thousand levels deep: count them before it runs
MAX_RAW_NESTING = 64
MAX_JSON_NESTING = 100
# the cql2 text parser backtracks through grouping parentheses, twice the work a level
# on a syntax error: len(text) * 2**levels is kept under this (about 50 ms)
MAX_PARSE_COST = 2**18
# keywords after which a parenthesis groups (anything else before it is a call)
_GROUPING_KEYWORDS = frozenset(
    {"AND", "OR", "NOT", "IN", "BETWEEN", "LIKE", "IS", "DIV"}
)
# arithmetic stays far inside PostgreSQL numeric (131072 digits before the point,
# 16383 after): results are bounded to this many digits either side
MAX_DIGITS = 4_000

INT8_MIN = -(2**63)
INT8_MAX = 2**63 - 1

CQL2_CONF = "http://www.opengis.net/spec/cql2/1.0/conf/"
# the conformance classes parse_filter implements in full (OGC 21-065 Table 1)
CONFORMANCE_CLASSES: tuple[str, ...] = tuple(
    CQL2_CONF + name
    for name in (
        "basic-cql2",
        "advanced-comparison-operators",
        "case-insensitive-comparison",
        "accent-insensitive-comparison",
        "basic-spatial-functions",
        "basic-spatial-functions-plus",
        "spatial-functions",
        "temporal-functions",
        "array-functions",
        "property-property",
        "arithmetic",
        "cql2-text",
        "cql2-json",
    )
)

# combining diacritical marks (U+0300..U+036F): the Vietnamese tones and the
# circumflex, breve and horn all decompose into one of them under NFD
_MARKS_SQL = "E'[\\u0300-\\u036f]'"
_UTC_SQL = "'UTC'"

Node = tuple[Any, ...]
Kind = Literal[
    "text", "int", "num", "float", "bool", "date", "tstz", "tsnaive", "geom", "array"
]
_NUMBER_KINDS = frozenset({"int", "num", "float"})
_TIME_KINDS = frozenset({"date", "tstz", "tsnaive"})
_KIND_NAMES = {
    "text": "text",
    "int": "an integer",
    "num": "a number",
    "float": "a number",
    "bool": "a boolean",
    "date": "a date",
    "tstz": "a timestamp",
    "tsnaive": "a timestamp",
    "geom": "a geometry",
    "array": "an array",
}

_COMPARISONS = frozenset({"=", "<>", "<", "<=", ">", ">="})
_SPATIAL = {
    "s_intersects": "ST_Intersects",
    "s_equals": "ST_Equals",
    "s_disjoint": "ST_Disjoint",
    "s_touches": "ST_Touches",
    "s_within": "ST_Within",
    "s_overlaps": "ST_Overlaps",
    "s_crosses": "ST_Crosses",
    "s_contains": "ST_Contains",
}
# temporal functions defined for instants and intervals alike (OGC 21-065 Table 5)
_TEMPORAL_ANY = frozenset(
    {"t_after", "t_before", "t_disjoint", "t_equals", "t_intersects"}
)
# ... and those only defined between intervals (Table 6): instants are a client error
_TEMPORAL_INTERVALS = frozenset(
    {
        "t_contains",
        "t_during",
        "t_finishedby",
        "t_finishes",
        "t_meets",
        "t_metby",
        "t_overlappedby",
        "t_overlaps",
        "t_startedby",
        "t_starts",
    }
)
# OWL-Time relations between [s1, e1] and [s2, e2] (OGC 21-065 Tables 5 and 6);
# T_DISJOINT's terms are OR-ed (before or after), every other relation's AND-ed
_RELATIONS: dict[str, tuple[tuple[str, str, str], ...]] = {
    "t_before": (("e1", "<", "s2"),),
    "t_after": (("s1", ">", "e2"),),
    "t_disjoint": (("e1", "<", "s2"), ("s1", ">", "e2")),
    "t_intersects": (("s1", "<=", "e2"), ("e1", ">=", "s2")),  # not disjoint
    "t_equals": (("s1", "=", "s2"), ("e1", "=", "e2")),
    "t_meets": (("e1", "=", "s2"),),
    "t_metby": (("s1", "=", "e2"),),
    "t_overlaps": (("s1", "<", "s2"), ("s2", "<", "e1"), ("e1", "<", "e2")),
    "t_overlappedby": (("s2", "<", "s1"), ("s1", "<", "e2"), ("e2", "<", "e1")),
    "t_starts": (("s1", "=", "s2"), ("e1", "<", "e2")),
    "t_startedby": (("s1", "=", "s2"), ("e2", "<", "e1")),
    "t_during": (("s2", "<", "s1"), ("e1", "<", "e2")),
    "t_contains": (("s1", "<", "s2"), ("e2", "<", "e1")),
    "t_finishes": (("s2", "<", "s1"), ("e1", "=", "e2")),
    "t_finishedby": (("s1", "<", "s2"), ("e1", "=", "e2")),
}
_ARRAY_OPS = frozenset({"a_equals", "a_contains", "a_containedby", "a_overlaps"})
_ARITHMETIC = frozenset({"+", "-", "*", "/", "%", "div", "^"})
_LOGICAL = frozenset({"and", "or", "not"})
_PREDICATES = (
    _LOGICAL
    | _COMPARISONS
    | {"like", "between", "in", "isnull", "s_dwithin"}
    | set(_SPATIAL)
    | _TEMPORAL_ANY
    | _TEMPORAL_INTERVALS
    | _ARRAY_OPS
)
_FUNCTIONS = _PREDICATES | _ARITHMETIC | {"casei", "accenti"}

_CLASS_OF = {
    **dict.fromkeys(_COMPARISONS | _LOGICAL | {"isnull"}, "basic-cql2"),
    **dict.fromkeys(("like", "between", "in"), "advanced-comparison-operators"),
    "casei": "case-insensitive-comparison",
    "accenti": "accent-insensitive-comparison",
    **dict.fromkeys(_SPATIAL, "spatial-functions"),
    "s_intersects": "basic-spatial-functions",
    "s_dwithin": "spatial-functions",
    **dict.fromkeys(_TEMPORAL_ANY | _TEMPORAL_INTERVALS, "temporal-functions"),
    **dict.fromkeys(_ARRAY_OPS, "array-functions"),
    **dict.fromkeys(_ARITHMETIC, "arithmetic"),
}
_GEOJSON_TYPES = frozenset(
    {
        "Point",
        "MultiPoint",
        "LineString",
        "MultiLineString",
        "Polygon",
        "MultiPolygon",
        "GeometryCollection",
    }
)
_METRE_UNITS = frozenset({"m", "meter", "meters", "metre", "metres"})
_DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}")
_TIMESTAMP_RE = re.compile(
    r"(\d{4}-\d{2}-\d{2})[Tt ](\d{2}:\d{2}:\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})?"
)


# --- public API ---------------------------------------------------------------------


@dataclass(frozen=True)
class Filter:
    """A validated CQL2 filter: a statement shape and this request's values.

    Attributes
    ----------
    shape
        The filter with every literal replaced by its parameter name. Equal shapes
        (for the same layer) compile to the same SQL text: a statement cache keys on
        it, and later requests only supply ``params``.
    params
        The literal values by bind parameter name (``{"f_0": "22945", ...}``), as
        psycopg adapts them (str, Decimal, int, float, bool, date, datetime, list).
    """

    shape: Hashable
    params: dict[str, Any] = field(hash=False)

    def clause(self, layer: VectorLayer) -> ColumnElement[bool]:
        """The filter as a SQLAlchemy boolean over ``layer``'s table.

        Every literal is ``bindparam(name, value)`` with exactly the names of
        ``params``; compiling it twice for equal shapes gives the same SQL text.
        """
        return _Compiler(layer, self.params).predicate(cast_type(Node, self.shape))


def parse_filter(
    text: str,
    *,
    lang: str = "cql2-text",
    layer: VectorLayer,
    fields: tuple[Field, ...],
    filter_crs: int = 4326,
    filter_lonlat: bool = True,
) -> Filter:
    """Parse and check a CQL2 ``filter`` for ``layer``.

    Parameters
    ----------
    text
        The filter, in CQL2 text or CQL2 JSON.
    lang
        ``filter-lang``: ``cql2-text`` or ``cql2-json``.
    layer
        The collection filtered.
    fields
        The fields the caller may see; the queryables are those marked
        ``queryable``, plus ``id`` and (for a layer with geometry) ``geometry``
        (alias ``geom``).
    filter_crs
        ``filter-crs`` as an SRID: the CRS of the geometry literals.
    filter_lonlat
        Whether literal coordinates come x/longitude first (CRS84 and projected CRSs);
        False for EPSG:4326 and EPSG:4756, which are latitude first.

    Returns
    -------
    Filter
        Its ``shape`` and ``params``; ``clause(layer)`` gives the SQL expression.

    Raises
    ------
    InvalidParameterError
        For a syntax error, an unknown property or function, a type mismatch or an
        invalid literal; the message names the CQL2 conformance class involved.
    LimitExceededError
        For a filter over one of the documented limits (size, nesting, nodes, IN
        items, vertices, S_DWITHIN distance).

    Examples
    --------
    >>> from sqlalchemy import BigInteger, Column, MetaData, Table, Text
    >>> from gis.layer import Label
    >>> shops = Table(
    ...     "shop", MetaData(), Column("id", BigInteger, primary_key=True),
    ...     Column("name", Text))
    >>> layer = VectorLayer(
    ...     id="shops", table=shops, title=Label("Cửa hàng", "Shops"),
    ...     description=Label("", ""), fields=(Field("name", Label("Tên", "Name")),),
    ...     geometry_type=None)
    >>> f = parse_filter("name = 'Phở Hùng'", layer=layer, fields=layer.fields)
    >>> f.params
    {'f_0': 'Phở Hùng'}
    >>> f.shape == parse_filter("name='Bún'", layer=layer, fields=layer.fields).shape
    True
    """
    if lang == "cql2-text":
        ast = _parse_text(text)
    elif lang == "cql2-json":
        ast = _parse_json(text)
    else:
        raise InvalidParameterError(
            f"filter-lang: {_show(lang)} is not supported; use cql2-text or cql2-json",
            parameter="filter-lang",
        )
    _check_tree(ast)
    lowerer = _Lowerer(layer, fields, filter_crs, lonlat=filter_lonlat)
    shape = lowerer.predicate(ast)
    return Filter(shape, lowerer.params)


def fold_accents(value: str) -> str:
    """What ``ACCENTI`` makes of a string, as PostgreSQL computes it.

    NFD decomposition, combining marks U+0300..U+036F removed, đ/Đ mapped to d/D.

    Examples
    --------
    >>> fold_accents("Trần Hưng Đạo, Phan Thiết")
    'Tran Hung Dao, Phan Thiet'
    """
    decomposed = unicodedata.normalize("NFD", value)
    stripped = "".join(c for c in decomposed if not "\u0300" <= c <= "\u036f")
    return stripped.translate({ord("đ"): "d", ord("Đ"): "D"})


# --- errors ---------------------------------------------------------------------------


def _invalid(message: str, conformance: str | None = None) -> InvalidParameterError:
    extra: dict[str, Any] = {"parameter": "filter"}
    if conformance:
        extra["conformance"] = CQL2_CONF + conformance
        message = f"{message} ({conformance})"
    return InvalidParameterError(f"filter: {message}", **extra)


def _limit(message: str, name: str, maximum: float) -> LimitExceededError:
    return LimitExceededError(
        f"filter: {message}", parameter="filter", limit=name, maximum=maximum
    )


def _too_deep() -> LimitExceededError:
    return _limit(f"nested too deeply (at most {MAX_DEPTH} levels)", "depth", MAX_DEPTH)


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


# --- before parsing ---------------------------------------------------------------------


def _check_size(text: str, maximum: int, lang: str) -> None:
    try:
        size = len(text.encode("utf-8"))
    except UnicodeEncodeError:
        raise _invalid("not valid UTF-8 text") from None
    if size > maximum:
        raise _limit(
            f"{lang} filters are at most {maximum // 1024} KB (this one is "
            f"{math.ceil(size / 1024)} KB)",
            "size",
            maximum,
        )
    if not text.strip():
        raise _invalid("empty filter")


def _text_nesting(text: str) -> tuple[int, int]:
    """How hard the CQL2 text parser will work, measured without parsing.

    Returns ``(recursion, grouping)``: an upper bound of the parser's recursion depth
    (every parenthesis and every run of prefix operators ``NOT``, ``-``, ``+``), and
    the nesting depth of *grouping* parentheses (all but those of a function call or
    a geometry keyword). Quoted strings and identifiers are skipped.
    """
    depth = run = deepest = 0
    groups: list[bool] = []  # per open parenthesis: is it a grouping one?
    open_groups = grouping = 0
    word = ""  # the identifier just before, if nothing but spaces followed it
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c in "'\"":
            j = i + 1
            while j < n:
                if text[j] == c:
                    if j + 1 < n and text[j + 1] == c:  # '' and "" are escapes
                        j += 2
                        continue
                    break
                j += 1
            i, run, word = j + 1, 0, ""
            continue
        if c.isalnum() or c == "_":
            j = i
            while j < n and (text[j].isalnum() or text[j] in "_.:"):
                j += 1
            word = text[i:j].upper()
            run = run + 1 if word == "NOT" else 0
            i = j
        else:
            if c in "([":
                depth += 1
                groups.append(not word or word in _GROUPING_KEYWORDS or c == "[")
                open_groups += groups[-1]
                grouping = max(grouping, open_groups)
            elif c in ")]":
                depth, run = depth - 1, 0
                if groups:
                    open_groups -= groups.pop()
            elif c in "-+":
                run += 1
            elif c == ",":
                run = 0
            if not c.isspace():
                word = ""
            i += 1
        if depth + run > deepest:
            deepest = depth + run
            if deepest > MAX_RAW_NESTING:  # enough to refuse: stop counting
                break
    return deepest, grouping


def _json_nesting(text: str) -> int:
    """The bracket depth of a JSON text (strings skipped)."""
    depth = deepest = 0
    in_string = escaped = False
    for c in text:
        if in_string:
            if escaped:
                escaped = False
            elif c == "\\":
                escaped = True
            elif c == '"':
                in_string = False
        elif c == '"':
            in_string = True
        elif c in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif c in "]}":
            depth -= 1
    return deepest


def _parse_text(text: str) -> Any:
    """CQL2 text to the CQL2-JSON AST, after the checks that keep the parser safe."""
    _check_size(text, MAX_TEXT_BYTES, "cql2-text")
    recursion, grouping = _text_nesting(text)
    if recursion > MAX_RAW_NESTING:
        raise _too_deep()
    # the parser backtracks through grouping parentheses: a syntax error inside them
    # costs about len(text) * 2**grouping steps (8 KB at 10 levels: 1.4 s)
    if len(text) << grouping > MAX_PARSE_COST:
        allowed = max(0, (MAX_PARSE_COST // max(len(text), 1)).bit_length() - 1)
        raise _limit(
            f"parentheses nested too deeply for a filter of {len(text)} "
            f"characters ({grouping} levels; at most {allowed})",
            "depth",
            allowed,
        )
    return _parse(cql2.parse_text, text, "cql2-text")


def _parse_json(text: str) -> Any:
    """CQL2 JSON to the AST (serde_json stops at 128 levels: no crash to fear)."""
    _check_size(text, MAX_JSON_BYTES, "cql2-json")
    if _json_nesting(text) > MAX_JSON_NESTING:
        raise _too_deep()
    return _parse(cql2.parse_json, text, "cql2-json")


def _parse(parser: Callable[[str], Any], text: str, lang: str) -> Any:
    try:
        return parser(text).to_json()
    except Exception as exc:  # ParseError, ValidationError and plain errors alike
        raise _syntax_error(exc, lang) from None
    except BaseException as exc:
        # a Rust panic reaches Python as pyo3's PanicException (a BaseException)
        if type(exc).__name__ != "PanicException":
            raise
        raise _syntax_error(exc, lang) from None


def _syntax_error(exc: BaseException, lang: str) -> InvalidParameterError:
    message = " ".join(str(exc).split())
    if len(message) > 300:
        message = message[:297] + "..."
    return _invalid(f"not valid {lang}: {message}", lang)


def _check_tree(ast: Any) -> None:
    """Depth and node limits, walked without recursion (the AST may be deep)."""
    nodes = deepest = 0
    stack: list[tuple[Any, int, bool]] = [(ast, 0, False)]
    while stack:
        node, depth, in_array = stack.pop()
        if isinstance(node, dict):
            if "op" in node:
                nodes += 1
                depth += 1
                deepest = max(deepest, depth)
                args = node.get("args")
                for arg in args if isinstance(args, list) else [args]:
                    stack.append((arg, depth, False))
            elif "interval" in node and isinstance(node["interval"], list):
                nodes += 1
                stack.extend((end, depth, False) for end in node["interval"])
            elif not in_array or "property" in node:
                nodes += 1
        elif isinstance(node, list):
            # an array is one node; its literal items count against MAX_IN_ITEMS
            nodes += 0 if in_array else 1
            stack.extend((item, depth, True) for item in node if _is_expr(item))
        elif not in_array:
            nodes += 1
        if nodes > MAX_NODES:
            raise _limit(f"at most {MAX_NODES} nodes", "nodes", MAX_NODES)
        if deepest > MAX_DEPTH:
            raise _too_deep()


def _is_fold(ast: dict[str, Any]) -> bool:
    return str(ast.get("op", "")).lower() in ("casei", "accenti")


def _is_expr(item: Any) -> bool:
    return isinstance(item, list) or (
        isinstance(item, dict) and ("op" in item or "property" in item)
    )


# --- values -------------------------------------------------------------------------


def _text_value(value: str) -> str:
    if "\x00" in value:
        raise _invalid("a string may not contain the NUL character", "basic-cql2")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise _invalid("a string is not valid Unicode", "basic-cql2") from None
    return value


def _number_value(value: float) -> float:
    if not math.isfinite(value):
        raise _invalid(f"the number {_show(value)} is out of range", "basic-cql2")
    return value


def _decimal(value: float) -> Decimal:
    # repr is the shortest text that reads back as the same double: 0.1 -> 0.1
    return Decimal(repr(float(value)))


def _date_value(text: Any) -> dt.date:
    if not isinstance(text, str) or not _DATE_RE.fullmatch(text):
        raise _invalid(f"{_show(text)} is not a date (YYYY-MM-DD)", "basic-cql2")
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise _invalid(f"{_show(text)} is not a valid date", "basic-cql2") from None


def _timestamp_value(text: Any) -> dt.datetime:
    match = _TIMESTAMP_RE.fullmatch(text) if isinstance(text, str) else None
    if match is None:
        raise _invalid(
            f"{_show(text)} is not an RFC 3339 timestamp (e.g. 2025-07-01T08:00:00Z)",
            "basic-cql2",
        )
    day, clock, fraction, zone = match.groups()
    fraction = (fraction or "")[:7]  # microseconds: PostgreSQL keeps no more
    if zone in (None, "Z", "z"):
        zone = "+00:00"  # documented: a timestamp without a time zone is UTC
    try:
        value = dt.datetime.fromisoformat(f"{day}T{clock}{fraction}{zone}")
        value.astimezone(dt.UTC)  # proves the UTC instant exists (year 1..9999)
    except (ValueError, OverflowError):
        raise _invalid(
            f"{_show(text)} is not a valid timestamp", "basic-cql2"
        ) from None
    return value


def _as_instant(value: dt.date) -> dt.datetime:
    """A date as a timestamp: 00:00 UTC of that day (documented)."""
    if isinstance(value, dt.datetime):
        return value
    return dt.datetime.combine(value, dt.time.min, tzinfo=dt.UTC)


# --- typed values during lowering ----------------------------------------------------


class _Mag(NamedTuple):
    """A bound of a numeric expression: decimal digits before and after the point."""

    hi: float
    sc: float


@dataclass
class _Typed:
    """A lowered expression, its kind, and what else its SQL needs."""

    node: Node
    kind: Kind
    mag: _Mag | None = None  # numbers
    elem: Kind | None = None  # arrays: the element kind
    column: str | None = None  # a plain column reference
    nullable: bool = True
    max_lat: float = 90.0  # geometry literals: the largest |latitude| in storage


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

    start: _Operand | str  # "..": an open end
    end: _Operand | str
    interval: bool


@lru_cache(maxsize=64)
def _crs_is_geographic(srid: int) -> bool:
    try:
        return is_geographic(srid)
    except CRSError:
        raise InvalidParameterError(
            f"filter-crs: EPSG:{srid} is not known", parameter="filter-crs"
        ) from None


def _column_kind(column_type: TypeEngine[Any]) -> tuple[Kind, _Mag | None] | None:
    if isinstance(column_type, Boolean):
        return "bool", None
    if isinstance(column_type, SmallInteger):
        return "int", _Mag(5, 0)
    if isinstance(column_type, BigInteger):
        return "int", _Mag(19, 0)
    if isinstance(column_type, Integer):
        return "int", _Mag(10, 0)
    if isinstance(column_type, Float):  # Double too; before Numeric, its base
        # a double cast to numeric keeps 15 significant digits: at most 340 decimals
        return "float", _Mag(309, 340)
    if isinstance(column_type, Numeric):
        precision, scale = column_type.precision, column_type.scale
        if precision is None:  # unconstrained: up to PostgreSQL's own limits
            return "num", _Mag(131_072, 16_383)
        return "num", _Mag(precision - (scale or 0), scale or 0)
    if isinstance(column_type, DateTime):
        return ("tstz" if column_type.timezone else "tsnaive"), None
    if isinstance(column_type, Date):
        return "date", None
    if isinstance(column_type, String):  # Text too
        return "text", None
    if isinstance(column_type, Geometry):
        return "geom", None
    if isinstance(column_type, ARRAY):
        return "array", None
    return None


def _literal_mag(value: Decimal) -> _Mag:
    if value == 0:
        return _Mag(0, 0)
    _, digits, exponent = value.as_tuple()
    assert isinstance(exponent, int)
    return _Mag(max(len(digits) + exponent, 0), max(-exponent, 0))


# --- lowering: AST -> shape + params ----------------------------------------------------


class _Lowerer:
    """Checks an AST against a layer and lowers it to a shape; collects the params."""

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
        self.vertices = 0
        self.srid = int(filter_crs)
        if self.srid not in (layer.storage_srid, *layer.crs_srids):
            # PostGIS transforms only from the SRIDs in its spatial_ref_sys
            raise InvalidParameterError(
                f"filter-crs: EPSG:{self.srid} is not offered by this collection",
                parameter="filter-crs",
            )
        self.lonlat = lonlat
        self.geographic = _crs_is_geographic(self.srid)
        self.storage_geographic = _crs_is_geographic(layer.storage_srid)
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
        name = f"f_{len(self.params)}"
        self.params[name] = value
        return name

    def _published(self) -> str:
        names = sorted(n for n in self.queryables if n != "geom")
        return ", ".join(names)

    # -- predicates -------------------------------------------------------------------

    def predicate(self, ast: Any) -> Node:
        """Lower a boolean-valued AST node."""
        if isinstance(ast, bool):
            return ("bool", self.slot(ast))
        if isinstance(ast, dict) and "op" in ast:
            op, args = self._op(ast)
            if op in _PREDICATES:
                return self._predicate_op(op, args)
        value = self.scalar(ast)
        if isinstance(value, _Typed) and value.kind == "bool":
            return ("boolexpr", value.node)
        raise _invalid(f"{self._describe(ast)} is not a predicate", "basic-cql2")

    def _op(self, ast: dict[str, Any]) -> tuple[str, list[Any]]:
        raw = ast.get("op")
        args = ast.get("args", [])
        if not isinstance(raw, str) or not isinstance(args, list):
            raise _invalid("malformed operation", "cql2-json")
        op = raw.lower()
        if op not in _FUNCTIONS:
            raise _invalid(
                f"unknown function {_show(raw)}; supported: "
                + ", ".join(sorted(o.upper() for o in _FUNCTIONS if o[0].isalpha()))
                + ", and the operators "
                + " ".join(sorted(o for o in _FUNCTIONS if not o[0].isalpha())),
                "functions",
            )
        return op, args

    def _arity(self, op: str, args: list[Any], *counts: int) -> None:
        if len(args) not in counts:
            want = " or ".join(str(c) for c in counts)
            raise _invalid(
                f"{op.upper()} takes {want} arguments, not {len(args)}", _CLASS_OF[op]
            )

    def _predicate_op(self, op: str, args: list[Any]) -> Node:
        if op in ("and", "or"):
            if len(args) < 2:
                raise _invalid(f"{op.upper()} needs at least 2 arguments", "basic-cql2")
            return (op, tuple(self.predicate(a) for a in args))
        if op == "not":
            self._arity(op, args, 1)
            return ("not", self.predicate(args[0]))
        if op in _COMPARISONS:
            self._arity(op, args, 2)
            return self._compare(op, self.scalar(args[0]), self.scalar(args[1]))
        if op == "isnull":
            self._arity(op, args, 1)
            value = self.scalar(args[0], any_kind=True)
            if isinstance(value, _Pending):
                value = self._natural(value)
            return ("isnull", value.node)
        if op == "like":
            return self._like(args)
        if op == "between":
            self._arity(op, args, 3)
            return self._between(*(self.scalar(a) for a in args))
        if op == "in":
            return self._in(args)
        if op in _SPATIAL:
            self._arity(op, args, 2)
            return self._spatial(op, args)
        if op == "s_dwithin":
            return self._dwithin(args)
        if op in _TEMPORAL_ANY or op in _TEMPORAL_INTERVALS:
            self._arity(op, args, 2)
            return self._temporal(op, args)
        assert op in _ARRAY_OPS
        self._arity(op, args, 2)
        return self._array_op(op, args)

    # -- scalars ----------------------------------------------------------------------

    def scalar(self, ast: Any, *, any_kind: bool = False) -> _Operand:
        """Lower a value; literals stay pending until their SQL type is known."""
        if isinstance(ast, bool):
            return _Pending("bool", ast)
        if isinstance(ast, int | float):
            return _Pending("num", _number_value(float(ast)))
        if isinstance(ast, str):
            return _Pending("text", _text_value(ast))
        if ast is None:
            raise _invalid("NULL is not a value: use IS NULL", "basic-cql2")
        if isinstance(ast, list):
            return self._array_literal(ast)
        if not isinstance(ast, dict):
            raise _invalid("malformed expression", "cql2-json")
        if "property" in ast:
            return self._property(ast["property"])
        if "date" in ast:
            return _Pending("date", _date_value(ast["date"]))
        if "timestamp" in ast:
            return _Pending("tstz", _timestamp_value(ast["timestamp"]))
        if "op" in ast:
            op, args = self._op(ast)
            if op in ("casei", "accenti"):
                return self._fold(op, args)
            if op in _ARITHMETIC:
                return self._arithmetic(op, args)
            return _Typed(("pred", self._predicate_op(op, args)), "bool")
        if "bbox" in ast or "type" in ast:
            if not any_kind:
                raise _invalid(
                    "a geometry is not a scalar value: use a spatial function",
                    "spatial-functions",
                )
            return self._geometry(ast)
        if "interval" in ast:
            raise _invalid(
                "an interval is only an argument of a temporal function",
                "temporal-functions",
            )
        raise _invalid("malformed expression", "cql2-json")

    def _property(self, name: Any) -> _Typed:
        if not isinstance(name, str) or name not in self.queryables:
            raise _invalid(
                f"unknown property {_show(name)}; queryables: {self._published()}"
            )
        column = self.layer.table.c[self.queryables[name]]
        typed = _column_kind(column.type)
        if typed is None:
            raise _invalid(f"property {_show(name)} cannot be filtered on")
        kind, mag = typed
        elem: Kind | None = None
        if kind == "array":
            assert isinstance(column.type, ARRAY)
            inner = _column_kind(column.type.item_type)
            if inner is None or inner[0] in ("geom", "array", "tsnaive"):
                raise _invalid(f"property {_show(name)} cannot be filtered on")
            elem = inner[0]
        return _Typed(
            ("col", column.name),
            kind,
            mag=mag,
            elem=elem,
            column=column.name,
            nullable=bool(column.nullable),
        )

    def _describe(self, ast: Any) -> str:
        if isinstance(ast, dict) and "property" in ast:
            return f"property {_show(ast['property'])}"
        if isinstance(ast, dict) and "op" in ast:
            return f"{str(ast['op']).upper()}(...)"
        return f"the literal {_show(ast)}"

    def _natural(self, value: _Pending) -> _Typed:
        """A literal in its own type (when nothing else chooses one)."""
        if value.kind == "array":
            return self._materialise(value, "array")
        return self._materialise(value, value.kind)

    def _materialise(self, value: _Operand, kind: Kind) -> _Typed:
        """A literal bound as ``kind`` (a number as ``num``, a date as ``tstz``...)."""
        if isinstance(value, _Typed):
            return value
        v = value.value
        if kind == "text":
            return _Typed(("p", self.slot(v), "text"), "text")
        if kind == "num":
            d = _decimal(v)
            return _Typed(("p", self.slot(d), "numeric"), "num", mag=_literal_mag(d))
        if kind == "float":
            return _Typed(("p", self.slot(float(v)), "float"), "float", _Mag(309, 340))
        if kind == "bool":
            return _Typed(("p", self.slot(v), "bool"), "bool")
        if kind == "date":
            return _Typed(("p", self.slot(v), "date"), "date")
        if kind == "tstz":
            return _Typed(("p", self.slot(_as_instant(v)), "tstz"), "tstz")
        if kind == "array":
            elem = self._array_elem(value) or "text"
            return _Typed(self._array_value(value, elem), "array", elem=elem)
        raise AssertionError(kind)  # pragma: no cover - every kind handled above

    # -- CASEI / ACCENTI ----------------------------------------------------------

    def _fold(self, op: str, args: list[Any]) -> _Typed:
        self._arity(op, args, 1)
        value = self.scalar(args[0])
        if value.kind != "text":
            raise _invalid(
                f"{op.upper()} takes text, not {_KIND_NAMES[value.kind]}", _CLASS_OF[op]
            )
        text = self._materialise(value, "text")
        # in PostgreSQL on both sides, literal or column, so both sides always agree
        return _Typed(("lower" if op == "casei" else "accent", text.node), "text")

    # -- comparisons ------------------------------------------------------------------

    def _compare(self, op: str, left: _Operand, right: _Operand) -> Node:
        if isinstance(left, _Pending) and isinstance(right, _Typed):
            # keep the property on the left: the literal's type follows it
            flipped = {"<": ">", "<=": ">=", ">": "<", ">=": "<="}.get(op, op)
            return self._compare(flipped, right, left)
        if (
            isinstance(right, _Pending)
            and isinstance(left, _Typed)
            and left.kind == "int"
            and left.column is not None
            and right.kind == "num"
        ):
            return self._int_range(op, left, right.value)
        a, b = self._unify(left, right, op)
        if a.kind == "bool" and op not in ("=", "<>"):
            raise _invalid("booleans only compare with = and <>", "basic-cql2")
        if a.kind in ("geom", "array"):
            hint = "S_EQUALS" if a.kind == "geom" else "A_EQUALS"
            raise _invalid(
                f"{_KIND_NAMES[a.kind]} does not compare with {op}: use {hint}",
                "basic-cql2",
            )
        return ("cmp", op, a.node, b.node)

    def _int_range(self, op: str, column: _Typed, x: float) -> Node:
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
        node: Node = (
            "between",
            column.node,
            ("p", self.slot(int(lo)), "bigint"),
            ("p", self.slot(int(hi)), "bigint"),
        )
        return ("not", node) if op == "<>" else node

    def _unify(self, left: _Operand, right: _Operand, op: str) -> tuple[_Typed, _Typed]:
        """Both operands in one comparable type, or a type error."""
        a, b = self._unify_many([left, right], op)
        return a, b

    def _unify_many(self, values: list[_Operand], op: str) -> list[_Typed]:
        """Operands in one comparable SQL type (numbers, instants, texts, booleans).

        Numbers: a literal against double columns binds as a double (index-friendly);
        a double meeting a numeric column or expression is cast to numeric (a double
        always becomes a numeric; a large numeric result would overflow a double).
        Instants: dates stay dates among dates, anything else compares as timestamps.
        """
        first = values[0]
        for other in values[1:]:
            if not self._comparable(first.kind, other.kind):
                if first.kind == other.kind == "array":
                    raise _invalid("arrays compare with A_EQUALS", "array-functions")
                raise _invalid(
                    f"cannot compare {self._name(first)} with {self._name(other)}"
                    + self._hint(first, other),
                    _CLASS_OF.get(op, "basic-cql2"),
                )
        kinds = {v.kind for v in values}
        if kinds <= _NUMBER_KINDS:
            typed = {v.kind for v in values if isinstance(v, _Typed)}
            literal_kind: Kind = "float" if typed == {"float"} else "num"
            out: list[_Typed] = []
            for v in values:
                if isinstance(v, _Pending):
                    out.append(self._materialise(v, literal_kind))
                elif v.kind == "float" and "num" in typed:
                    out.append(_Typed(("num", v.node), "num", mag=v.mag))
                else:
                    out.append(v)
            return out
        if kinds <= _TIME_KINDS:
            target: Kind = "date" if kinds == {"date"} else "tstz"
            return [self._as_time(v, target) for v in values]
        return [self._materialise(v, v.kind) for v in values]

    def _name(self, value: _Operand) -> str:
        if isinstance(value, _Typed) and value.column is not None:
            return f"{value.column!r} ({_KIND_NAMES[value.kind]})"
        if isinstance(value, _Pending):
            return f"{_KIND_NAMES[value.kind]} literal {_show(value.value)}"
        return f"{_KIND_NAMES[value.kind]} expression"

    def _hint(self, left: _Operand, right: _Operand) -> str:
        kinds = {left.kind, right.kind}
        if kinds & _TIME_KINDS and "text" in kinds:
            return "; write DATE('2025-07-01') or TIMESTAMP('2025-07-01T08:00:00Z')"
        if "text" in kinds and kinds & _NUMBER_KINDS:
            return "; quote text values ('22945') and leave numbers bare"
        return ""

    def _as_time(self, value: _Operand, target: Kind) -> _Typed:
        if isinstance(value, _Pending):
            return self._materialise(value, target)
        if value.kind == target:
            return value
        # a date or a timestamp without time zone, read as UTC (documented)
        return _Typed(("utc", value.node), "tstz", column=value.column)

    # -- LIKE, BETWEEN, IN ------------------------------------------------------------

    def _like(self, args: list[Any]) -> Node:
        self._arity("like", args, 2)
        text = self.scalar(args[0])
        if text.kind != "text":
            raise _invalid(
                f"LIKE matches text, not {self._name(text)}",
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
            raise _invalid(
                "the LIKE pattern must be a text literal",
                "advanced-comparison-operators",
            )
        pattern = _text_value(pattern_ast)
        for candidate in (pattern, fold_accents(pattern)):
            trailing = len(candidate) - len(candidate.rstrip("\\"))
            if trailing % 2:
                raise _invalid(
                    "the LIKE pattern ends with the escape character \\",
                    "advanced-comparison-operators",
                )
        node: Node = ("p", self.slot(pattern), "text")
        for fold_op in reversed(folds):
            node = ("lower" if fold_op == "casei" else "accent", node)
        left = self._materialise(text, "text")
        return ("like", left.node, node)

    def _between(self, value: _Operand, low: _Operand, high: _Operand) -> Node:
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
            return (
                "between",
                value.node,
                ("p", self.slot(int(lo)), "bigint"),
                ("p", self.slot(int(hi)), "bigint"),
            )
        if value.kind not in _NUMBER_KINDS | _TIME_KINDS | {"text"}:
            raise _invalid(
                f"BETWEEN takes numbers, texts or instants, not {self._name(value)}",
                "advanced-comparison-operators",
            )
        a, lo_t, hi_t = self._unify_many([value, low, high], "between")
        return ("between", a.node, lo_t.node, hi_t.node)

    def _in(self, args: list[Any]) -> Node:
        self._arity("in", args, 2)
        items = args[1]
        if not isinstance(items, list):
            raise _invalid("IN takes a list", "advanced-comparison-operators")
        if len(items) > MAX_IN_ITEMS:
            raise _limit(
                f"an IN list has at most {MAX_IN_ITEMS} items ({len(items)} given)",
                "in_items",
                MAX_IN_ITEMS,
            )
        if not items:
            raise _invalid(
                "IN needs at least one item", "advanced-comparison-operators"
            )
        value = self.scalar(args[0])
        values = [self.scalar(item) for item in items]
        if all(isinstance(v, _Pending) and v.kind != "array" for v in values):
            return self._in_array(value, [v for v in values if isinstance(v, _Pending)])
        # items that are expressions: a = b OR a = c, which is what IN means in SQL
        return ("or", tuple(self._compare("=", value, v) for v in values))

    def _in_array(self, value: _Operand, items: list[_Pending]) -> Node:
        """``value IN (literals)`` as ``value = ANY(:array)``: one parameter."""
        if isinstance(value, _Pending):
            value = self._natural(value)
        for item in items:
            if not self._comparable(value.kind, item.kind):
                raise _invalid(
                    f"cannot compare {self._name(value)} with {self._name(item)}"
                    + self._hint(value, item),
                    "advanced-comparison-operators",
                )
        array: tuple[list[Any], str]
        if value.kind == "int":
            # only integral values in range can equal an integer: drop the others
            ints = {
                int(i.value)
                for i in items
                if float(i.value).is_integer() and INT8_MIN <= i.value <= INT8_MAX
            }
            array = sorted(ints), "bigint[]"
        elif value.kind == "float":
            array = [float(i.value) for i in items], "float[]"
        elif value.kind == "num":
            array = [_decimal(i.value) for i in items], "numeric[]"
        elif value.kind in _TIME_KINDS:
            dates = value.kind == "date" and all(i.kind == "date" for i in items)
            target: Kind = "date" if dates else "tstz"
            value = self._as_time(value, target)
            if dates:
                array = [i.value for i in items], "date[]"
            else:
                array = [_as_instant(i.value) for i in items], "tstz[]"
        else:  # text, bool
            array = [i.value for i in items], f"{value.kind}[]"
        return ("any", value.node, ("p", self.slot(array[0]), array[1]))

    @staticmethod
    def _comparable(a: Kind, b: Kind) -> bool:
        return (
            (a in _NUMBER_KINDS and b in _NUMBER_KINDS)
            or (a in _TIME_KINDS and b in _TIME_KINDS)
            or (a == b and a in ("text", "bool", "geom"))
        )

    # -- arithmetic -------------------------------------------------------------------

    def _arithmetic(self, op: str, args: list[Any]) -> _Typed:
        self._arity(op, args, 2)
        left, right = self.scalar(args[0]), self.scalar(args[1])
        for value in (left, right):
            if value.kind not in _NUMBER_KINDS:
                raise _invalid(
                    f"{op} takes numbers, not {self._name(value)}", "arithmetic"
                )
        if op == "^":
            return self._power(left, right)
        a, b = self._numeric(left), self._numeric(right)
        assert a.mag is not None and b.mag is not None
        if op in ("+", "-"):
            mag = _Mag(max(a.mag.hi, b.mag.hi) + 1, max(a.mag.sc, b.mag.sc))
        elif op == "*":
            mag = _Mag(a.mag.hi + b.mag.hi, a.mag.sc + b.mag.sc)
        elif op == "/":
            # PostgreSQL keeps 16 significant digits, at most 1000 decimals
            sc = min(max(16 + a.mag.sc + b.mag.hi, a.mag.sc, b.mag.sc), 1000)
            mag = _Mag(a.mag.hi + b.mag.sc + 1, sc)
        elif op == "div":
            mag = _Mag(a.mag.hi + b.mag.sc + 1, 0)
        else:  # %
            mag = _Mag(min(a.mag.hi, b.mag.hi), max(a.mag.sc, b.mag.sc))
        self._check_mag(mag)
        return _Typed(("arith", op, a.node, b.node), "num", mag=mag)

    def _power(self, base: _Operand, exponent: _Operand) -> _Typed:
        if (
            not isinstance(exponent, _Pending)
            or not float(exponent.value).is_integer()
            or not 0 <= exponent.value <= MAX_EXPONENT
        ):
            raise _invalid(
                f"the exponent of ^ must be an integer literal from 0 to {MAX_EXPONENT}",
                "arithmetic",
            )
        n = int(exponent.value)
        a = self._numeric(base)
        assert a.mag is not None
        mag = _Mag(max(n * a.mag.hi, 1), min(max(n * a.mag.sc, 16), 1000))
        self._check_mag(mag)
        exp_node: Node = ("p", self.slot(Decimal(n)), "numeric")
        return _Typed(("arith", "^", a.node, exp_node), "num", mag=mag)

    def _numeric(self, value: _Operand) -> _Typed:
        """An arithmetic operand in numeric: integer and double columns are cast."""
        if isinstance(value, _Pending):
            return self._materialise(value, "num")
        if value.kind == "num":
            return value
        # int4 * int4 overflows int4 and doubles overflow near 1e308: numeric never
        return _Typed(("num", value.node), "num", mag=value.mag)

    @staticmethod
    def _check_mag(mag: _Mag) -> None:
        if mag.hi > MAX_DIGITS or mag.sc > MAX_DIGITS:
            raise _invalid(
                f"the result could have more than {MAX_DIGITS} digits", "arithmetic"
            )

    # -- spatial ----------------------------------------------------------------------

    def _geometry_operand(self, op: str, ast: Any) -> _Typed:
        value = self.scalar(ast, any_kind=True)
        if value.kind != "geom":
            raise _invalid(
                f"{op.upper()} compares geometries, not {self._name(value)}",
                _CLASS_OF[op],
            )
        assert isinstance(value, _Typed)
        return value

    def _spatial(self, op: str, args: list[Any]) -> Node:
        a = self._geometry_operand(op, args[0])
        b = self._geometry_operand(op, args[1])
        return ("st", _SPATIAL[op], a.node, b.node)

    def _dwithin(self, args: list[Any]) -> Node:
        self._arity("s_dwithin", args, 3, 4)
        a = self._geometry_operand("s_dwithin", args[0])
        b = self._geometry_operand("s_dwithin", args[1])
        distance = args[2]
        if isinstance(distance, bool) or not isinstance(distance, int | float):
            raise _invalid(
                "the S_DWITHIN distance must be a number", "spatial-functions"
            )
        distance = _number_value(float(distance))
        if distance < 0:
            raise _invalid(
                "the S_DWITHIN distance cannot be negative", "spatial-functions"
            )
        if distance > MAX_DWITHIN_METRES:
            raise _limit(
                f"S_DWITHIN distances are at most {MAX_DWITHIN_METRES:,.0f} m",
                "dwithin_distance",
                MAX_DWITHIN_METRES,
            )
        if len(args) == 4:
            unit = args[3]
            unit = unit.get("property") if isinstance(unit, dict) else unit
            if not isinstance(unit, str) or unit.lower() not in _METRE_UNITS:
                raise _invalid(
                    "S_DWITHIN distances are in metres (meters)", "spatial-functions"
                )
        d_node: Node = ("p", self.slot(distance), "float")
        # an index-friendly box test first: the literal expanded by the distance in
        # degrees (metres per degree shrink with the cosine of the latitude)
        literal = b if b.column is None else a if a.column is None else None
        if literal is None or not self.storage_geographic:
            return ("dwithin", a.node, b.node, d_node, None)
        lat = min(90.0, literal.max_lat + distance / 110_574.0)
        degrees = 360.0
        if lat < 89.0:
            degrees = min(
                360.0, 1.01 * distance / (110_574.0 * math.cos(math.radians(lat)))
            )
        deg_node: Node = ("p", self.slot(degrees), "float")
        return ("dwithin", a.node, b.node, d_node, (literal.node, deg_node))

    def _geometry(self, ast: dict[str, Any]) -> _Typed:
        if "bbox" in ast:
            return self._bbox(ast["bbox"])
        if ast.get("type") not in _GEOJSON_TYPES:
            raise _invalid(
                f"unknown geometry type {_show(ast.get('type'))}", "spatial-functions"
            )
        self._count_vertices(ast)
        try:
            geom = shapely.geometry.shape(ast)
        except Exception as exc:  # shapely raises many kinds for malformed input
            raise _invalid(
                f"invalid geometry literal: {' '.join(str(exc).split())[:120]}",
                "spatial-functions",
            ) from None
        geom = shapely.force_2d(geom)
        if not self.lonlat:
            geom = shapely.transform(geom, lambda xy: xy[:, ::-1])
        if geom.is_empty:
            raise _invalid("empty geometry literal", "spatial-functions")
        reason = shapely.is_valid_reason(geom)
        if reason != "Valid Geometry":
            raise _invalid(f"invalid geometry literal: {reason}", "spatial-functions")
        self._check_collection(geom)
        max_lat = self._check_coordinates(shapely.get_coordinates(geom))
        slot = self.slot(shapely.to_geojson(geom))
        return _Typed(("geomlit", slot, self.srid), "geom", max_lat=max_lat)

    def _count_vertices(self, ast: Any) -> None:
        stack = [ast]
        while stack:
            node = stack.pop()
            if isinstance(node, dict):
                stack.extend(node.get("geometries") or [])
                coords = node.get("coordinates")
                if coords is not None:
                    stack.append(coords)
            elif isinstance(node, list):
                if node and not isinstance(node[0], list | dict):
                    self.vertices += 1  # a position
                else:
                    stack.extend(node)
            if self.vertices > MAX_VERTICES:
                raise _limit(
                    f"literal geometries have at most {MAX_VERTICES:,} vertices in all",
                    "vertices",
                    MAX_VERTICES,
                )

    @staticmethod
    def _check_collection(geom: shapely.Geometry) -> None:
        # GEOS fails on a collection whose polygons overlap ("side location conflict"):
        # a valid collection's polygons share at most their boundaries
        if not isinstance(geom, shapely.GeometryCollection) or isinstance(
            geom, shapely.MultiPolygon | shapely.MultiPoint | shapely.MultiLineString
        ):
            return
        polygons = [
            part
            for part in shapely.get_parts(geom, return_index=False)
            if isinstance(part, shapely.Polygon | shapely.MultiPolygon)
        ]
        for part in shapely.get_parts(geom):
            if isinstance(part, shapely.GeometryCollection) and not isinstance(
                part,
                shapely.MultiPolygon | shapely.MultiPoint | shapely.MultiLineString,
            ):
                raise _invalid(
                    "nested GeometryCollection literals are not supported",
                    "spatial-functions",
                )
        if len(polygons) > 1:
            total = sum(p.area for p in polygons)
            union = shapely.union_all(polygons).area
            if total - union > 1e-9 * max(total, 1e-300):
                raise _invalid(
                    "the polygons of a GeometryCollection literal overlap",
                    "spatial-functions",
                )

    def _check_coordinates(self, xy: np.ndarray[Any, Any]) -> float:
        """Prove the literal's coordinates are usable; return its largest |latitude|.

        Coordinates must be finite, within the CRS's range (geographic CRSs) or its
        area of use (projected CRSs: ``gis.crs.area_of_use``), and must transform to
        the storage CRS with PROJ (as PostGIS will).
        """
        if not np.isfinite(xy).all():
            raise _invalid("coordinates must be finite numbers", "spatial-functions")
        if self.geographic:
            self._check_lonlat(xy)
        else:  # the shared rule for projected input (gis.crs, as for bbox=)
            self._check_area(xy)
        target = self.layer.storage_srid
        if self.srid != target:
            x, y = transformer(self.srid, target).transform(xy[:, 0], xy[:, 1])
            xy = np.column_stack([np.asarray(x), np.asarray(y)])
            if not np.isfinite(xy).all():
                raise _invalid(
                    f"coordinates outside the area of EPSG:{self.srid}",
                    "spatial-functions",
                )
        if self.storage_geographic:
            self._check_lonlat(xy)
            return float(np.abs(xy[:, 1]).max())
        return 90.0

    def _check_area(self, xy: np.ndarray[Any, Any]) -> None:
        bounds = (*xy.min(axis=0).tolist(), *xy.max(axis=0).tolist())
        if not within_area(self.srid, (bounds[0], bounds[1], bounds[2], bounds[3])):
            area = area_of_use(self.srid)
            assert area is not None  # within_area is always True without one
            raise _invalid(
                f"coordinates outside the area of use of EPSG:{self.srid} "
                f"(x {area[0]:.0f}..{area[2]:.0f}, y {area[1]:.0f}..{area[3]:.0f})",
                "spatial-functions",
            )

    def _check_lonlat(self, xy: np.ndarray[Any, Any]) -> None:
        if (np.abs(xy[:, 0]) > 180).any() or (np.abs(xy[:, 1]) > 90).any():
            order = "longitude, latitude" if self.lonlat else "latitude, longitude"
            raise _invalid(
                f"coordinates out of range (axis order {order}: "
                "longitude -180..180, latitude -90..90)",
                "spatial-functions",
            )

    def _bbox(self, raw: Any) -> _Typed:
        if not isinstance(raw, list) or len(raw) not in (4, 6):
            raise _invalid("BBOX takes 4 or 6 numbers", "basic-spatial-functions")
        if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in raw):
            raise _invalid("BBOX takes numbers", "basic-spatial-functions")
        nums = [_number_value(float(v)) for v in raw]
        if len(nums) == 6:  # heights are dropped: the data is 2D
            nums = [nums[0], nums[1], nums[3], nums[4]]
        a, b, c, d = nums
        x1, y1, x2, y2 = (a, b, c, d) if self.lonlat else (b, a, d, c)
        self.vertices += 4
        if y1 > y2:
            raise _invalid(
                "BBOX: the lower corner comes first", "basic-spatial-functions"
            )
        crosses = False
        if x1 > x2:
            if not self.geographic:
                raise _invalid(
                    "BBOX: the lower corner comes first", "basic-spatial-functions"
                )
            crosses = True  # across the antimeridian (OGC 21-065 7.6)
        # the corners and edge midpoints stand for the densified edges
        xs = [x1, x2, x2, x1, (x1 + x2) / 2, (x1 + x2) / 2, x1, x2]
        ys = [y1, y1, y2, y2, y1, y2, (y1 + y2) / 2, (y1 + y2) / 2]
        if crosses:
            xs, ys = [x1, 180.0, -180.0, x2], [y1, y2, y1, y2]
        max_lat = self._check_coordinates(np.column_stack([xs, ys]))
        slots = tuple(self.slot(v) for v in (x1, y1, x2, y2))
        # a projected box is densified before it is transformed, its vertices bounded
        segment = None
        if not self.geographic and self.srid != self.layer.storage_srid:
            segment = self.slot(segment_length(self.srid, (x1, y1, x2, y2)))
        return _Typed(
            ("bbox", slots, self.srid, crosses, segment),
            "geom",
            max_lat=max_lat,
        )

    # -- temporal ---------------------------------------------------------------------

    def _temporal(self, op: str, args: list[Any]) -> Node:
        a = self._temporal_operand(op, args[0])
        b = self._temporal_operand(op, args[1])
        if op in _TEMPORAL_INTERVALS and not (a.interval and b.interval):
            raise _invalid(
                f"{op.upper()} relates two intervals (INTERVAL(start, end)); for "
                "instants use T_AFTER, T_BEFORE, T_EQUALS, T_INTERSECTS or T_DISJOINT",
                "temporal-functions",
            )
        ends = [e for e in (a.start, a.end, b.start, b.end) if not isinstance(e, str)]
        target: Kind = "date" if all(e.kind == "date" for e in ends) else "tstz"
        terms = _RELATIONS[op]
        # an instant is one value, one parameter: its end is its start
        alias = {"e1": "s1" if not a.interval else "e1"}
        alias["e2"] = "s2" if not b.interval else "e2"
        used = {alias.get(n, n) for x, _, y in terms for n in (x, y)}
        sources = {"s1": (a.start, "-"), "e1": (a.end, "+"),
                   "s2": (b.start, "-"), "e2": (b.end, "+")}  # fmt: skip
        # only the ends a relation uses become parameters (every param is in the SQL)
        nodes: dict[str, Node] = {
            name: self._end(sources[name][0], target, sources[name][1])
            for name in ("s1", "e1", "s2", "e2")
            if name in used
        }
        built = [
            ("cmp", o, nodes[alias.get(x, x)], nodes[alias.get(y, y)])
            for x, o, y in terms
        ]
        unique = list(dict.fromkeys(built))  # an instant repeats its terms
        if op == "t_disjoint":
            return ("or", tuple(unique)) if len(unique) > 1 else unique[0]
        return unique[0] if len(unique) == 1 else ("and", tuple(unique))

    def _temporal_operand(self, op: str, ast: Any) -> _Time:
        if isinstance(ast, dict) and "interval" in ast:
            ends = ast["interval"]
            if not isinstance(ends, list) or len(ends) != 2:
                raise _invalid(
                    "INTERVAL takes a start and an end", "temporal-functions"
                )
            start = self._interval_end(ends[0])
            end = self._interval_end(ends[1])
            if (
                isinstance(start, _Pending)
                and isinstance(end, _Pending)
                and _as_instant(start.value) > _as_instant(end.value)
            ):
                raise _invalid(
                    "INTERVAL: the end comes before the start", "temporal-functions"
                )
            return _Time(start, end, interval=True)
        value = self.scalar(ast)
        if value.kind not in _TIME_KINDS:
            raise _invalid(
                f"{op.upper()} takes instants and intervals, not {self._name(value)}"
                + self._hint(value, _Pending("date", None)),
                "temporal-functions",
            )
        return _Time(value, value, interval=False)

    def _interval_end(self, ast: Any) -> _Operand | str:
        if ast == "..":
            return ".."
        if isinstance(ast, str):
            if _DATE_RE.fullmatch(ast):
                return _Pending("date", _date_value(ast))
            return _Pending("tstz", _timestamp_value(ast))
        value = self.scalar(ast)
        if value.kind not in _TIME_KINDS:
            raise _invalid(
                f"INTERVAL ends are instants or '..', not {self._name(value)}",
                "temporal-functions",
            )
        if isinstance(value, _Typed) and value.column is not None and value.nullable:
            # a NULL end of an interval property is open (documented)
            return _Typed(("openable", value.node), value.kind, column=value.column)
        return value

    def _end(self, value: _Operand | str, target: Kind, side: str) -> Node:
        if isinstance(value, str):
            return ("inf", side, target)
        if isinstance(value, _Typed) and value.node[0] == "openable":
            inner = _Typed(value.node[1], value.kind, column=value.column)
            return ("open", self._as_time(inner, target).node, side, target)
        return self._as_time(value, target).node

    # -- arrays -----------------------------------------------------------------------

    def _array_literal(self, items: list[Any]) -> _Pending:
        if len(items) > MAX_IN_ITEMS:
            raise _limit(
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
            raise _invalid(
                f"{op.upper()} compares arrays, and there are no array-valued "
                "queryables in this collection",
                "array-functions",
            )
        raise _invalid(
            f"{op.upper()} compares arrays, not {self._name(value)}", "array-functions"
        )

    def _array_op(self, op: str, args: list[Any]) -> Node:
        a = self._array_operand(op, args[0])
        b = self._array_operand(op, args[1])
        known = [e for e in (self._array_elem(a), self._array_elem(b)) if e is not None]
        if not known:
            target: Kind = "text"
        elif len(set(known)) == 1:
            target = known[0]
        elif set(known) <= _NUMBER_KINDS:
            target = "num"
        else:
            raise _invalid(
                f"the arrays hold different types ({_KIND_NAMES[known[0]]} and "
                f"{_KIND_NAMES[known[1]]})",
                "array-functions",
            )
        return ("arrop", op, self._array_value(a, target), self._array_value(b, target))

    def _array_elem(self, value: _Operand) -> Kind | None:
        """The element kind of an array operand (None for an empty literal)."""
        if isinstance(value, _Typed):
            return value.elem
        kinds: set[Kind] = set()
        for item in value.items or []:
            if not isinstance(item, _Pending) or item.kind == "array":
                raise _invalid(
                    "array elements must be literals (no nested arrays)",
                    "array-functions",
                )
            kinds.add(item.kind)
        if len(kinds) > 1:
            raise _invalid(
                "the elements of an array must share one type", "array-functions"
            )
        return next(iter(kinds), None)

    def _array_value(self, value: _Operand, target: Kind) -> Node:
        """An array operand as ``target[]``.

        PostgreSQL's array operators want two arrays of one type, so columns are cast
        to the canonical array type of their elements (``integer[]`` to ``bigint[]``)
        and literals are bound as it: no cast of a user value can fail.
        """
        if isinstance(value, _Typed):
            return ("acast", value.node, target)
        items = [i for i in value.items or [] if isinstance(i, _Pending)]
        values: list[Any]
        if target == "int":  # only an empty literal: any number makes the target num
            values = [int(i.value) for i in items]
        elif target == "num":
            values = [_decimal(i.value) for i in items]
        elif target == "float":
            values = [float(i.value) for i in items]
        elif target == "tstz":
            values = [_as_instant(i.value) for i in items]
        else:
            values = [i.value for i in items]
        return ("p", self.slot(values), f"{_ELEM_SQL[target]}[]")


# --- compiling: shape -> SQLAlchemy -------------------------------------------------------

_BIND_TYPES: dict[str, Callable[[], TypeEngine[Any]]] = {
    "text": Text,
    "bigint": BigInteger,
    "numeric": Numeric,
    "float": Double,
    "bool": Boolean,
    "date": Date,
    "tstz": lambda: DateTime(timezone=True),
}
# the canonical SQL type of array elements of each kind
_ELEM_SQL = {
    "int": "bigint",
    "num": "numeric",
    "float": "float",
    "text": "text",
    "bool": "bool",
    "date": "date",
    "tstz": "tstz",
}
_COMPARE: dict[str, Callable[[Any, Any], ColumnElement[bool]]] = {
    "=": lambda a, b: a == b,
    "<>": lambda a, b: a != b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}
_ARRAY_SQL = {"a_contains": "@>", "a_containedby": "<@", "a_overlaps": "&&"}


class _Compiler:
    """Turns a shape into SQLAlchemy, binding ``params`` by name."""

    def __init__(self, layer: VectorLayer, params: dict[str, Any]) -> None:
        self.table = layer.table
        self.storage_srid = int(layer.storage_srid)
        self.params = params
        self.binds: dict[str, ColumnElement[Any]] = {}

    def bind(self, name: str, sqltype: str) -> ColumnElement[Any]:
        """The bind parameter ``name`` (one object per name: a value used twice)."""
        found = self.binds.get(name)
        if found is None:
            if sqltype.endswith("[]"):
                type_: TypeEngine[Any] = ARRAY(_BIND_TYPES[sqltype[:-2]]())
            else:
                type_ = _BIND_TYPES[sqltype]()
            found = cast(bindparam(name, self.params[name], type_=type_), type_)
            self.binds[name] = found
        return found

    def predicate(self, node: Node) -> ColumnElement[bool]:
        """A boolean node as SQL."""
        kind = node[0]
        if kind == "and":
            return and_(*(self.predicate(n) for n in node[1]))
        if kind == "or":
            return or_(*(self.predicate(n) for n in node[1]))
        if kind == "not":
            return not_(self.predicate(node[1]))
        if kind == "bool":
            return self.bind(node[1], "bool")
        if kind == "boolexpr":
            return self.scalar(node[1])
        if kind == "cmp":
            return _COMPARE[node[1]](self.scalar(node[2]), self.scalar(node[3]))
        if kind == "isnull":
            return self.scalar(node[1]).is_(None)
        if kind == "like":
            return self.scalar(node[1]).like(self.scalar(node[2]))
        if kind == "between":
            return self.scalar(node[1]).between(
                self.scalar(node[2]), self.scalar(node[3])
            )
        if kind == "any":
            return self.scalar(node[1]) == any_(self.scalar(node[2]))
        if kind == "st":
            fn = getattr(func, node[1])
            result: ColumnElement[bool] = fn(self.scalar(node[2]), self.scalar(node[3]))
            return result
        if kind == "dwithin":
            return self._dwithin(node)
        if kind == "arrop":
            a, b = self.scalar(node[2]), self.scalar(node[3])
            if node[1] == "a_equals":  # as sets: each contains the other
                return and_(
                    a.op("@>", is_comparison=True)(b), a.op("<@", is_comparison=True)(b)
                )
            return a.op(_ARRAY_SQL[node[1]], is_comparison=True)(b)
        raise AssertionError(kind)  # pragma: no cover - shapes come from _Lowerer

    def scalar(self, node: Node) -> ColumnElement[Any]:
        """A value node as SQL."""
        kind = node[0]
        if kind == "col":
            column: ColumnElement[Any] = self.table.c[node[1]]
            return column
        if kind == "p":
            return self.bind(node[1], node[2])
        if kind == "lower":
            return func.lower(self.scalar(node[1]))
        if kind == "accent":
            decomposed = func.normalize(self.scalar(node[1]), literal_column("NFD"))
            stripped = func.regexp_replace(
                decomposed,
                literal_column(_MARKS_SQL),
                literal_column("''"),
                literal_column("'g'"),
            )
            return func.translate(
                stripped, literal_column("'đĐ'"), literal_column("'dD'")
            )
        if kind == "num":
            return cast(self.scalar(node[1]), Numeric)
        if kind == "arith":
            return self._arith(node[1], self.scalar(node[2]), self.scalar(node[3]))
        if kind == "utc":
            return func.timezone(
                literal_column(_UTC_SQL), cast(self.scalar(node[1]), TIMESTAMP)
            )
        if kind == "inf":
            return self._infinity(node[1], node[2])
        if kind == "open":
            return func.coalesce(self.scalar(node[1]), self._infinity(node[2], node[3]))
        if kind == "geomlit":
            geom = func.ST_SetSRID(
                func.ST_GeomFromGeoJSON(self.bind(node[1], "text")),
                literal_column(str(int(node[2]))),
            )
            return self._to_storage(geom, int(node[2]))
        if kind == "bbox":
            return self._bbox(node)
        if kind == "acast":
            return cast(self.scalar(node[1]), ARRAY(_BIND_TYPES[_ELEM_SQL[node[2]]]()))
        if kind == "pred":
            return self.predicate(node[1])
        raise AssertionError(kind)  # pragma: no cover - shapes come from _Lowerer

    @staticmethod
    def _arith(
        op: str, a: ColumnElement[Any], b: ColumnElement[Any]
    ) -> ColumnElement[Any]:
        zero: ColumnElement[Any] = literal_column("0")
        if op in ("+", "-", "*"):
            return a.op(op)(b)
        if op == "/":  # x / 0 is NULL, never a division-by-zero error
            return a.op("/")(func.nullif(b, zero))
        if op == "%":
            return a.op("%")(func.nullif(b, zero))
        if op == "div":
            return func.div(a, func.nullif(b, zero))
        return func.power(a, b)

    @staticmethod
    def _infinity(side: str, kind: str) -> ColumnElement[Any]:
        text = "'-infinity'" if side == "-" else "'infinity'"
        type_: TypeEngine[Any] = Date() if kind == "date" else DateTime(timezone=True)
        return cast(literal_column(text), type_)

    def _to_storage(self, geom: ColumnElement[Any], srid: int) -> ColumnElement[Any]:
        if srid == self.storage_srid:
            return geom
        return func.ST_Transform(geom, literal_column(str(self.storage_srid)))

    def _bbox(self, node: Node) -> ColumnElement[Any]:
        _, slots, srid, crosses, segment = node
        x1, y1, x2, y2 = (self.bind(s, "float") for s in slots)
        srid_sql: ColumnElement[Any] = literal_column(str(int(srid)))
        if crosses:
            east: ColumnElement[Any] = literal_column("180")
            west: ColumnElement[Any] = literal_column("-180")
            env: ColumnElement[Any] = func.ST_Collect(
                func.ST_MakeEnvelope(x1, y1, east, y2, srid_sql),
                func.ST_MakeEnvelope(west, y1, x2, y2, srid_sql),
            )
        else:
            env = func.ST_MakeEnvelope(x1, y1, x2, y2, srid_sql)
        if segment is not None:
            # densify before transforming so the box's edges stay where they were
            env = func.ST_Segmentize(env, self.bind(segment, "float"))
        return self._to_storage(env, int(srid))

    def _dwithin(self, node: Node) -> ColumnElement[bool]:
        _, a_node, b_node, d_node, prefilter = node
        a, b = self.scalar(a_node), self.scalar(b_node)

        def geography(g: ColumnElement[Any]) -> ColumnElement[Any]:
            if self.storage_srid != 4326:
                g = func.ST_Transform(g, literal_column("4326"))
            return func.geography(g)

        exact: ColumnElement[bool] = func.ST_DWithin(
            geography(a), geography(b), self.scalar(d_node)
        )
        if prefilter is None:
            return exact
        literal_node, deg_node = prefilter
        other = b if literal_node == a_node else a
        box = func.ST_Expand(self.scalar(literal_node), self.scalar(deg_node))
        return and_(other.op("&&", is_comparison=True)(box), exact)
