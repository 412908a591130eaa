"""Statements compiled once per shape, executed many times with new values.

Building and compiling a SQLAlchemy statement costs about a millisecond, which on a
hot path costs more than PostgreSQL's work on a one-feature request. Builders name
every request-dependent bind parameter; a statement is built and compiled the first
time a request *shape* appears (layer, fields, CRS, which filters are present...) and
later requests of that shape only supply the values (``gis.db.statements``: the
specs and their one cache). The SQL text is stable, so
psycopg prepares it on the server after a few runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.dialects.postgresql.psycopg import PGDialect_psycopg
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ClauseElement

_DIALECT = PGDialect_psycopg()  # type: ignore[no-untyped-call]


@dataclass(frozen=True)
class Compiled:
    """SQL text with ``%(name)s`` placeholders and the constant parameter values.

    ``literals`` names the constants a builder wrote as Python values (``rn == 1``:
    SQLAlchemy's anonymous binds): the same for every request, unlike the named
    parameters, whose constants are only the values of the request that built it.
    """

    sql: str
    constants: dict[str, Any]
    literals: frozenset[str] = frozenset()

    def values(self, params: dict[str, Any]) -> dict[str, Any]:
        """The full parameter mapping: constants overridden by ``params``."""
        unknown = set(params) - set(self.constants)
        if unknown:  # a builder and its parameter function disagree: a bug, not input
            raise KeyError(f"parameters not in the statement: {sorted(unknown)}")
        return {**self.constants, **params}


def compile_statement(stmt: ClauseElement) -> Compiled:
    """Compile ``stmt`` for psycopg 3.

    Examples
    --------
    >>> from sqlalchemy import select, literal, bindparam
    >>> c = compile_statement(select(bindparam("x", 1) + 1))
    >>> c.constants["x"], sorted(c.literals)
    (1, ['param_1'])
    """
    compiled = stmt.compile(dialect=_DIALECT)
    assert isinstance(compiled, SQLCompiler)  # a statement, not DDL
    literals = frozenset(
        name for bind, name in compiled.bind_names.items() if bind.unique
    )
    return Compiled(str(compiled), dict(compiled.params), literals)


def sql_name(name: str) -> str:
    """A catalogue identifier as a SQL string literal (``'land_parcel'``).

    Names come from the catalogue (code), never from users; they are written as
    literals so the statement text stays stable for plan caching.

    Examples
    --------
    >>> sql_name("land_parcels")
    "'land_parcels'"
    """
    if not name.replace("_", "").isalnum():
        raise ValueError(f"not a catalogue identifier: {name!r}")
    return f"'{name}'"


def sql_identifier(name: str) -> str:
    """A catalogue column name as a quoted SQL identifier (``"land_use"``), checked as
    ``sql_name`` checks names.

    Examples
    --------
    >>> sql_identifier("land_use")
    '"land_use"'
    """
    if not name.replace("_", "").isalnum():
        raise ValueError(f"not a catalogue identifier: {name!r}")
    return f'"{name}"'
