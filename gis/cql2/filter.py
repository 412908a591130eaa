"""The public entry: ``parse_filter`` checks a filter, ``Filter.clause`` gives its SQL."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement

from gis.cql2 import ir
from gis.cql2.compile import Compiler
from gis.cql2.errors import show
from gis.cql2.guards import check_tree
from gis.cql2.lower import Lowerer
from gis.cql2.parse import parse_json, parse_text
from gis.errors import InvalidParameterError
from gis.layer import Field, VectorLayer


@dataclass(frozen=True)
class Filter:
    """A validated CQL2 filter: its typed form and this request's values.

    Attributes
    ----------
    shape
        The filter in the typed form of ``gis.cql2.ir``, every literal replaced by its
        parameter name. Equal shapes (for the same layer) compile to the same SQL
        text: a statement cache keys on it, and later requests only supply ``params``.
    params
        The literal values by bind parameter name (``{"f_0": "22945", ...}``), as
        psycopg adapts them (str, Decimal, int, float, bool, date, datetime, list).
    """

    shape: ir.Predicate
    params: dict[str, Any] = field(hash=False)

    def clause(self, layer: VectorLayer) -> ColumnElement[bool]:
        """The filter as a SQLAlchemy boolean over ``layer``'s table.

        Every literal is ``bindparam(name, value)`` with exactly the names of
        ``params``; compiling it twice for equal shapes gives the same SQL text.
        """
        compiler = Compiler(layer.table, layer.storage_srid, self.params)
        return compiler.predicate(self.shape)


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
        Its ``shape`` and ``params``: ``name = 'Phở Hùng'`` and ``name='Bún'`` have
        equal shapes, params ``{'f_0': 'Phở Hùng'}`` and ``{'f_0': 'Bún'}``.

    Raises
    ------
    InvalidParameterError
        For a syntax error, an unknown property or function, a type mismatch or an
        invalid literal; the message names the CQL2 conformance class involved.
    LimitExceededError
        For a filter over one of the documented limits (size, nesting, nodes, IN
        items, vertices, S_DWITHIN distance).
    """
    if lang == "cql2-text":
        ast = parse_text(text)
    elif lang == "cql2-json":
        ast = parse_json(text)
    else:
        raise InvalidParameterError(
            f"filter-lang: {show(lang)} is not supported; use cql2-text or cql2-json",
            parameter="filter-lang",
        )
    check_tree(ast)
    lowerer = Lowerer(layer, fields, filter_crs, lonlat=filter_lonlat)
    shape = lowerer.predicate(ast)
    return Filter(shape, lowerer.params)
