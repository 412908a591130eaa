"""The statement cache builds a shape once and holds its SQL to its parameters."""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import Any, ClassVar, NamedTuple

import pytest
from sqlalchemy import bindparam, column, select, table

from gis.db.statements import StatementCache
from gis.sql.compiled import Compiled, compile_statement

T = table("t", column("id"), column("rn"))


class IdRow(NamedTuple):
    id: int


@dataclass
class ById:
    """A toy statement: ``rn = 1`` is a literal of the builder, ``fid`` a parameter."""

    fid: int | None
    extra: dict[str, Any] = field(default_factory=dict)
    builds: list[int] = field(default_factory=list)
    row: ClassVar[type[IdRow]] = IdRow
    text_as_bytes: ClassVar[bool] = False

    def shape(self) -> Hashable:
        return "by-id"

    def params(self) -> dict[str, Any]:
        found = {} if self.fid is None else {"fid": self.fid}
        return {**found, **self.extra}

    def build(self) -> Compiled:
        self.builds.append(1)
        where = [T.c.rn == 1]
        if self.fid is not None:
            where.append(T.c.id == bindparam("fid", self.fid))
        return compile_statement(select(T.c.id).where(*where))


def test_a_shape_is_built_once_and_each_request_binds_its_own_values() -> None:
    cache = StatementCache()
    first, second = ById(7), ById(8)
    a, b = cache.bind(first), cache.bind(second)
    assert first.builds == [1] and second.builds == []  # the second reused the SQL
    assert a.sql == b.sql
    assert a.params["fid"] == 7 and b.params["fid"] == 8
    assert b.params["rn_1"] == 1  # the builder's literal, the same for everyone
    assert b.row is IdRow
    # which parameters are present is part of the shape: no fid, other SQL
    none = cache.bind(ById(None))
    assert "fid" not in none.sql and len(cache) == 2


def test_a_parameter_the_sql_does_not_bind_is_refused_on_first_use() -> None:
    with pytest.raises(KeyError, match="not in the statement: \\['typo'\\]"):
        StatementCache().bind(ById(7, extra={"typo": 1}))


def test_a_placeholder_without_a_value_of_the_request_is_refused() -> None:
    @dataclass
    class Forgetful(ById):
        def params(self) -> dict[str, Any]:
            return {}  # fid forgotten: the first request's value would stick

    with pytest.raises(KeyError, match="placeholders without a value: \\['fid'\\]"):
        StatementCache().bind(Forgetful(7))


def test_the_cache_is_bounded() -> None:
    cache = StatementCache(max_shapes=1)

    @dataclass
    class Other(ById):
        def shape(self) -> Hashable:
            return "other"

    cache.bind(ById(1))
    other = Other(2)
    cache.bind(other)
    cache.bind(other)
    assert len(cache) == 1 and other.builds == [1, 1]  # built each time, not kept
