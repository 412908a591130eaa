"""Typed statement specs and the one cache that compiles each statement shape once.

A request's statement is a small object (a :class:`Statement`) that says, in one
place, everything about it:

- ``params()``: the request's values under the names the SQL binds. This is the one
  place the names are written beside the SQL itself; which of them are present (a
  bbox or none, a cursor or none) is part of the statement's shape, so ``shape()``
  does not repeat them;
- ``shape()``: what else fixes the SQL text (layer, fields, CRS, encoding...);
- ``build()``: the SQL (``gis.sql.compiled``), made once per shape;
- ``row`` and ``text_as_bytes``: the type of its row, as it arrives.

:class:`StatementCache` looks the shape up and builds on a miss, checking once that
the SQL and ``params()`` agree: every parameter is one the statement binds, and every
placeholder gets the request's own value (none keeps a value of the request that
built it) unless it is a literal of the builder (``rn == 1``). Later requests of
that shape pass their values as they are, with no check: a shape fixes the names.

Building and compiling costs about a millisecond, more than PostgreSQL's work on a
one-feature request; the SQL text of a shape never changes, so psycopg prepares it
on the server after a few runs.
"""

from __future__ import annotations

import re
from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, NamedTuple, Protocol, TypeVar

from gis.sql.compiled import Compiled

Row = TypeVar("Row")
Row_co = TypeVar("Row_co", covariant=True)


class Statement(Protocol[Row_co]):
    """A request's statement: its shape, its values, its SQL and its row type."""

    @property
    def row(self) -> type[Row_co]:
        """The row the statement returns (its columns by name)."""
        ...

    @property
    def text_as_bytes(self) -> bool:
        """Whether text columns arrive as UTF-8 bytes (documents passed through)."""
        ...

    def shape(self) -> Hashable:
        """What fixes the SQL text, beside which parameters are present."""
        ...

    def params(self) -> dict[str, Any]:
        """The request's values, by the names the SQL binds (a new dict each call:
        the cache adds the builder's literals to it)."""
        ...

    def build(self) -> Compiled:
        """The SQL of this shape (called once per shape)."""
        ...


class Bound(NamedTuple, Generic[Row]):
    """A statement ready to run: its SQL, every value it binds and its row type
    (a named tuple: one is made per request)."""

    sql: str
    params: dict[str, Any]
    row: type[Row]
    text_as_bytes: bool = False


_PLACEHOLDER = re.compile(r"%\((\w+)\)s")


@dataclass(frozen=True, slots=True)
class _Shape:
    """What a shape's requests share: the SQL, and the values its builder wrote as
    literals (the other placeholders take each request's own values)."""

    sql: str
    literals: dict[str, Any]


def checked(compiled: Compiled, params: Mapping[str, Any]) -> _Shape:
    """``compiled`` once ``params`` are known to fit it: each is a parameter the
    statement declares, and each placeholder of the SQL has a value among them or
    is one of the builder's literals.

    A mismatch is a bug of a builder and its ``params()``, never the input's: it
    raises ``KeyError`` on the first request of the shape.
    """
    unknown = params.keys() - (compiled.constants.keys() - compiled.literals)
    if unknown:
        raise KeyError(f"parameters not in the statement: {sorted(unknown)}")
    placeholders = set(_PLACEHOLDER.findall(compiled.sql))
    unbound = placeholders - params.keys() - compiled.literals
    if unbound:
        raise KeyError(f"placeholders without a value: {sorted(unbound)}")
    literals = {k: compiled.constants[k] for k in compiled.literals & placeholders}
    return _Shape(compiled.sql, literals)


class StatementCache:
    """The SQL of each statement shape, built and checked once (bounded: shapes
    are few, layers x CRSs x encodings x filter forms, but never unbounded)."""

    def __init__(self, max_shapes: int = 4096) -> None:
        self.max_shapes = max_shapes
        self._shapes: dict[Hashable, _Shape] = {}

    def bind(self, statement: Statement[Row]) -> Bound[Row]:
        """``statement`` with its SQL (from the cache) and this request's values."""
        params = statement.params()
        key = (type(statement), statement.shape(), *params)
        shape = self._shapes.get(key)
        if shape is None:
            shape = checked(statement.build(), params)
            if len(self._shapes) < self.max_shapes:
                self._shapes[key] = shape
        if shape.literals:
            params.update(shape.literals)
        return Bound(shape.sql, params, statement.row, statement.text_as_bytes)

    def __len__(self) -> int:
        return len(self._shapes)


# the process's one statement cache: features, tiles and overviews alike
STATEMENTS = StatementCache()
