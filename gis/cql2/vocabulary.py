"""The CQL2 language dothi speaks: its functions, operators and conformance classes.

Names are the lower-case operation names of CQL2 JSON (OGC 21-065); the text parser
gives the same names. Every table here is data: lowering checks a filter against it,
the compiler reads the SQL spellings from it.
"""

from __future__ import annotations

from gis.columns import Kind
from gis.cql2.ir import ArithmeticOp, ArrayOp, CompareOp, SpatialFunction

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

# how each kind of value is named in a message
KIND_NAMES: dict[Kind, str] = {
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

COMPARISONS: dict[str, CompareOp] = {
    "=": "=",
    "<>": "<>",
    "<": "<",
    "<=": "<=",
    ">": ">",
    ">=": ">=",
}
# ``a op b`` is ``b FLIPPED[op] a``
FLIPPED: dict[CompareOp, CompareOp] = {
    "=": "=",
    "<>": "<>",
    "<": ">",
    "<=": ">=",
    ">": "<",
    ">=": "<=",
}
SPATIAL: dict[str, SpatialFunction] = {
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
TEMPORAL_ANY = frozenset(
    {"t_after", "t_before", "t_disjoint", "t_equals", "t_intersects"}
)
# ... and those only defined between intervals (Table 6): instants are a client error
TEMPORAL_INTERVALS = frozenset(
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
RELATIONS: dict[str, tuple[tuple[str, CompareOp, str], ...]] = {
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
ARRAY_OPS: dict[str, ArrayOp] = {
    "a_equals": "a_equals",
    "a_contains": "a_contains",
    "a_containedby": "a_containedby",
    "a_overlaps": "a_overlaps",
}
ARITHMETIC: dict[str, ArithmeticOp] = {
    "+": "+",
    "-": "-",
    "*": "*",
    "/": "/",
    "%": "%",
    "div": "div",
    "^": "^",
}
LOGICAL = frozenset({"and", "or", "not"})
PREDICATES = (
    LOGICAL
    | set(COMPARISONS)
    | {"like", "between", "in", "isnull", "s_dwithin"}
    | set(SPATIAL)
    | TEMPORAL_ANY
    | TEMPORAL_INTERVALS
    | set(ARRAY_OPS)
)
FUNCTIONS = PREDICATES | set(ARITHMETIC) | {"casei", "accenti"}

# the conformance class each function belongs to (named in error messages)
CLASS_OF = {
    **dict.fromkeys(set(COMPARISONS) | LOGICAL | {"isnull"}, "basic-cql2"),
    **dict.fromkeys(("like", "between", "in"), "advanced-comparison-operators"),
    "casei": "case-insensitive-comparison",
    "accenti": "accent-insensitive-comparison",
    **dict.fromkeys(SPATIAL, "spatial-functions"),
    "s_intersects": "basic-spatial-functions",
    "s_dwithin": "spatial-functions",
    **dict.fromkeys(TEMPORAL_ANY | TEMPORAL_INTERVALS, "temporal-functions"),
    **dict.fromkeys(ARRAY_OPS, "array-functions"),
    **dict.fromkeys(ARITHMETIC, "arithmetic"),
}
GEOJSON_TYPES = frozenset(
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
# the only unit S_DWITHIN takes, however it is spelt
METRE_UNITS = frozenset({"m", "meter", "meters", "metre", "metres"})
