"""CQL2 text or JSON to the CQL2-JSON AST, with the ``cql2`` package, behind the guards.

Only the AST is used (``to_json()``): never ``Expr.to_sql()``, which inlines literals
and skips the queryables check.

The package reads a timestamp without a zone as UTC and writes it with ``Z``, so the
AST cannot tell ``'2026-07-01T08:30:00'`` from ``'2026-07-01T08:30:00Z'``. dothi's
rule is city time (``gis.columns``): before parsing, each zone-less timestamp literal
(in ``TIMESTAMP(...)`` and ``INTERVAL(...)``) is replaced by the UTC instant it names
in Asia/Ho_Chi_Minh, written with ``Z``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import cql2

from gis.cql2.errors import invalid
from gis.cql2.guards import (
    MAX_JSON_BYTES,
    MAX_TEXT_BYTES,
    check_json_nesting,
    check_size,
    check_text_nesting,
    closing_quote,
)
from gis.cql2.literals import zoneless_as_utc
from gis.errors import InvalidParameterError


def parse_text(text: str) -> Any:
    """CQL2 text to the CQL2-JSON AST, after the checks that keep the parser safe."""
    check_size(text, MAX_TEXT_BYTES, "cql2-text")
    check_text_nesting(text)
    return _parse(cql2.parse_text, _city_time_text(text), "cql2-text")


def parse_json(text: str) -> Any:
    """CQL2 JSON to the AST (serde_json stops at 128 levels: no crash to fear)."""
    check_size(text, MAX_JSON_BYTES, "cql2-json")
    check_json_nesting(text)
    return _parse(cql2.parse_json, _city_time_json(text), "cql2-json")


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
    return invalid(f"not valid {lang}: {message}", lang)


# a clock time: the only sign that a filter may hold a timestamp literal
_CLOCK = re.compile(r"\d{2}:\d{2}:\d{2}")
# the functions whose string arguments are instants
_INSTANT_FUNCTIONS = frozenset({"TIMESTAMP", "INTERVAL"})


def _city_time_text(text: str) -> str:
    """CQL2 text with each zone-less timestamp literal written as its UTC instant.

    Only the strings directly inside ``TIMESTAMP(...)`` or ``INTERVAL(...)`` are
    instants; other strings and quoted identifiers are skipped whole.
    """
    if not _CLOCK.search(text):
        return text
    parts: list[str] = []
    copied = 0  # text[:copied] is in parts
    instants: list[bool] = []  # per open parenthesis: does it hold instants?
    word = ""  # the identifier just before, if nothing but spaces followed it
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c in "'\"":
            j = closing_quote(text, i)
            if c == "'" and instants and instants[-1]:
                utc = zoneless_as_utc(text[i + 1 : j])
                if utc is not None:
                    parts += (text[copied : i + 1], utc)
                    copied = j
            i, word = j + 1, ""
            continue
        if c.isalnum() or c == "_":
            j = i
            while j < n and (text[j].isalnum() or text[j] == "_"):
                j += 1
            word, i = text[i:j].upper(), j
            continue
        if c == "(":
            instants.append(word in _INSTANT_FUNCTIONS)
        elif c == ")" and instants:
            instants.pop()
        if not c.isspace():
            word = ""
        i += 1
    return "".join(parts) + text[copied:] if parts else text


def _city_time_json(text: str) -> str:
    """CQL2 JSON with each zone-less ``timestamp`` and ``interval`` end written as its
    UTC instant (the text is unchanged when it has none, or is not JSON)."""
    if not _CLOCK.search(text):
        return text
    try:
        tree = json.loads(text)
    except ValueError:
        return text  # the parser says what is wrong with it
    changed = False
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            stack.extend(node)
            continue
        if not isinstance(node, dict):
            continue
        ends = node.get("interval")
        if isinstance(node.get("timestamp"), str):
            utc = zoneless_as_utc(node["timestamp"])
            if utc is not None:
                node["timestamp"], changed = utc, True
        elif isinstance(ends, list):
            for k, end in enumerate(ends):
                utc = zoneless_as_utc(end) if isinstance(end, str) else None
                if utc is not None:
                    ends[k], changed = utc, True
        stack.extend(node.values())
    return json.dumps(tree) if changed else text
