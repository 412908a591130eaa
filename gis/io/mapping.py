"""Which source field fills which column of the layer's table.

Field names are data, never SQL: they may hold ``:`` (OSM ``name:en``), spaces or
quotes. They only ever select a column of the in-memory frame; the SQL sees generated
staging names and the layer's own column names.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from gis.errors import ImportRejectedError
from gis.layer import VectorLayer

_NOT_IMPORTABLE = ("id", "geom")


@dataclass(frozen=True)
class ColumnPlan:
    """How one table column is filled.

    ``field`` is the source field (None for a constant); ``default`` is the constant
    from ``defaults``, used where the field is empty or when there is no field.
    """

    column: str
    field: str | None
    default: object | None = None

    @property
    def label(self) -> str:
        """The source as the report shows it: the field, or ``default=…``."""
        if self.field is not None:
            return self.field
        return f"default={self.default!r}"


def importable_columns(layer: VectorLayer) -> tuple[str, ...]:
    """The columns an import may fill: the layer's fields, then its import columns.

    Examples
    --------
    >>> from sqlalchemy import Column, MetaData, Table, Text
    >>> from gis.layer import Field, Label
    >>> t = Table("x", MetaData(), Column("id", Text), Column("name", Text))
    >>> lyr = VectorLayer("x", t, Label("x", "x"), Label("x", "x"),
    ...                   (Field("name", Label("Tên", "Name")),), None)
    >>> importable_columns(lyr)
    ('name',)
    """
    names = [f.name for f in layer.fields] + list(layer.import_columns)
    seen: dict[str, None] = {}
    for n in names:
        if n not in _NOT_IMPORTABLE and n in layer.table.c:
            seen.setdefault(n, None)
    return tuple(seen)


def resolve_mapping(
    fields: Sequence[str],
    layer: VectorLayer,
    mapping: Mapping[str, str] | None,
    defaults: Mapping[str, object] | None,
    *,
    skip: Sequence[str] = (),
    name: str,
) -> tuple[list[ColumnPlan], list[str]]:
    """Resolve the mapping: explicit pairs, then fields named like columns.

    Parameters
    ----------
    fields
        The source's attribute fields.
    layer
        The target layer.
    mapping
        ``{source field: column}``; a column of ``""`` leaves the field out (to stop
        an automatic match).
    defaults
        ``{column: value}`` constants: the value of a column no field fills, or the
        value where the mapped field is empty.
    skip
        Fields never matched automatically (a CSV's coordinate columns).
    name
        The file name, for messages.

    Returns
    -------
    tuple
        One plan per filled column, in the layer's column order, and the fields that
        were left out.

    Raises
    ------
    ImportRejectedError
        For a field the source lacks, a column the layer does not import, or two
        fields mapped to one column.
    """
    importable = importable_columns(layer)
    allowed = ", ".join(importable)
    explicit: dict[str, str] = {}
    for src, col in (mapping or {}).items():
        if src not in fields:
            raise ImportRejectedError(
                f"mapping: {name} has no field {src!r}; its fields are: "
                + ", ".join(fields),
                field=src,
            )
        if col and col not in importable:
            raise ImportRejectedError(
                f"mapping: {col!r} is not an importable column of layer {layer.id}; "
                f"importable columns: {allowed}",
                column=col,
            )
        if col and col in explicit.values():
            other = next(s for s, c in explicit.items() if c == col)
            raise ImportRejectedError(
                f"mapping: fields {other!r} and {src!r} both map to column {col!r}"
            )
        explicit[src] = col
    for col in defaults or {}:
        if col not in importable:
            raise ImportRejectedError(
                f"defaults: {col!r} is not an importable column of layer {layer.id}; "
                f"importable columns: {allowed}",
                column=col,
            )
    by_column: dict[str, str] = {c: s for s, c in explicit.items() if c}
    lower = {c.lower(): c for c in importable}
    for src in fields:
        if src in explicit or src in skip:
            continue
        match = lower.get(src.lower())
        # an explicit mapping to the same column wins over a name match
        if match is not None and match not in by_column:
            by_column[match] = src
    plans = []
    for col in importable:
        src_field: str | None = by_column.get(col)
        default = (defaults or {}).get(col)
        if src_field is not None or (defaults and col in defaults):
            plans.append(ColumnPlan(col, src_field, default))
    used = set(by_column.values())
    ignored = [f for f in fields if f not in used and f not in skip]
    return plans, ignored
