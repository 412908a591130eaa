"""CQL2 filters (OGC API Features Part 3, OGC 19-079; CQL2, OGC 21-065) as SQL.

``parse_filter`` parses a ``filter`` with the ``cql2`` package, takes its CQL2-JSON
AST and lowers it, checking every type before any SQL exists, into a typed *shape*
and *params*:

- the shape is a tree of frozen dataclasses (``ir.py``) with every literal replaced by
  a parameter name (and the few facts about a value that change the SQL, such as an
  open interval end). Equal shapes compile to the same SQL text, so a statement is
  compiled once per shape (the shape is the statement-cache key);
- the params are the literal values by parameter name (``f_0``, ``f_1``, ...).

``Filter.clause`` compiles a shape into a SQLAlchemy expression over the layer's table
columns: identifiers only from the ``Table``, functions and operators only from the
allow-list, every literal a ``bindparam``.

One job a module: ``guards`` (limits), ``parse`` (the ``cql2`` package behind the
guards), ``literals`` and ``geometry`` (literal values proved usable), ``vocabulary``
(functions, operators, conformance classes), ``lower`` (AST to ``ir``), ``compile``
(``ir`` to SQLAlchemy), ``filter`` (the entry points).

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
- a timestamp without a time zone is the city's local time, Asia/Ho_Chi_Minh (UTC+7,
  the one rule of every path: ``gis.columns``); so is a ``timestamp without time
  zone`` property, and a date compared with a timestamp is the instant 00:00 of that
  day in Asia/Ho_Chi_Minh;
- ``CASEI`` is PostgreSQL ``lower()``; ``ACCENTI`` removes combining marks after NFD
  decomposition and maps đ/Đ to d/D (it keeps case: ``CASEI(ACCENTI(x))`` for both);
  both functions run in PostgreSQL on both sides, so they always agree;
- ``S_DWITHIN(a, b, distance[, metres])`` (a dothi extension; OGC 21-065 dropped it)
  takes a distance in metres, computed on the WGS 84 spheroid (``geography``);
- an interval property end that is NULL is open (``..``); a NULL instant is unknown;
- arrays are compared as sets (``A_EQUALS``: same elements, any order).
"""

from gis.cql2.filter import Filter, parse_filter
from gis.cql2.guards import (
    MAX_DEPTH,
    MAX_DWITHIN_METRES,
    MAX_IN_ITEMS,
    MAX_JSON_BYTES,
    MAX_NODES,
    MAX_TEXT_BYTES,
    MAX_VERTICES,
)
from gis.cql2.literals import fold_accents
from gis.cql2.vocabulary import CONFORMANCE_CLASSES

__all__ = [
    "CONFORMANCE_CLASSES",
    "MAX_DEPTH",
    "MAX_DWITHIN_METRES",
    "MAX_IN_ITEMS",
    "MAX_JSON_BYTES",
    "MAX_NODES",
    "MAX_TEXT_BYTES",
    "MAX_VERTICES",
    "Filter",
    "fold_accents",
    "parse_filter",
]
