"""The limits of a filter, and the checks that keep the parser and the database safe.

Each limit is refused with a ``LimitExceededError`` naming it. The size and nesting
checks run on the raw text, before the ``cql2`` parser sees it (it recurses once per
parenthesis and would crash the process, or backtrack for seconds, on hostile input);
the depth and node counts run on its AST, before lowering.
"""

from __future__ import annotations

import math
from typing import Any

from gis.cql2.errors import invalid, over_limit
from gis.errors import LimitExceededError

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
# arithmetic stays far inside PostgreSQL numeric (131072 digits before the point,
# 16383 after): results are bounded to this many digits either side
MAX_DIGITS = 4_000

# keywords after which a parenthesis groups (anything else before it is a call)
_GROUPING_KEYWORDS = frozenset(
    {"AND", "OR", "NOT", "IN", "BETWEEN", "LIKE", "IS", "DIV"}
)


def too_deep() -> LimitExceededError:
    """The error of a filter nested deeper than ``MAX_DEPTH``."""
    return over_limit(
        f"nested too deeply (at most {MAX_DEPTH} levels)", "depth", MAX_DEPTH
    )


def check_size(text: str, maximum: int, lang: str) -> None:
    """At most ``maximum`` UTF-8 bytes, valid Unicode, not blank."""
    try:
        size = len(text.encode("utf-8"))
    except UnicodeEncodeError:
        raise invalid("not valid UTF-8 text") from None
    if size > maximum:
        raise over_limit(
            f"{lang} filters are at most {maximum // 1024} KB (this one is "
            f"{math.ceil(size / 1024)} KB)",
            "size",
            maximum,
        )
    if not text.strip():
        raise invalid("empty filter")


def check_text_nesting(text: str) -> None:
    """Refuse a CQL2 text the parser would crash on or backtrack through too long."""
    recursion, grouping = _text_nesting(text)
    if recursion > MAX_RAW_NESTING:
        raise too_deep()
    # the parser backtracks through grouping parentheses: a syntax error inside them
    # costs about len(text) * 2**grouping steps (8 KB at 10 levels: 1.4 s)
    if len(text) << grouping > MAX_PARSE_COST:
        allowed = max(0, (MAX_PARSE_COST // max(len(text), 1)).bit_length() - 1)
        raise over_limit(
            f"parentheses nested too deeply for a filter of {len(text)} "
            f"characters ({grouping} levels; at most {allowed})",
            "depth",
            allowed,
        )


def check_json_nesting(text: str) -> None:
    """Refuse a CQL2 JSON text nested deeper than ``MAX_JSON_NESTING``."""
    if _json_nesting(text) > MAX_JSON_NESTING:
        raise too_deep()


def closing_quote(text: str, i: int) -> int:
    """The index of the quote that closes the string or quoted identifier opened at
    ``text[i]`` (``len(text)`` when it is never closed); doubled quotes are escapes."""
    c, j, n = text[i], i + 1, len(text)
    while j < n:
        if text[j] == c:
            if j + 1 < n and text[j + 1] == c:
                j += 2
                continue
            return j
        j += 1
    return n


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
            i, run, word = closing_quote(text, i) + 1, 0, ""
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


def check_tree(ast: Any) -> None:
    """Depth and node limits of a CQL2-JSON AST, walked without recursion (it may be
    deep)."""
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
            raise over_limit(f"at most {MAX_NODES} nodes", "nodes", MAX_NODES)
        if deepest > MAX_DEPTH:
            raise too_deep()


def _is_expr(item: Any) -> bool:
    return isinstance(item, list) or (
        isinstance(item, dict) and ("op" in item or "property" in item)
    )
