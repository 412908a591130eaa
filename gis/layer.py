"""The layer kinds: what a city layer declares about itself.

A layer is a frozen value built once at import of its module in ``layers/``; the API is
generic over them. Nothing here does I/O.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Literal

from sqlalchemy import Column, Table

from gis.crs import DEFAULT_CRS_SRIDS
from gis.principal import PUBLIC, Principal

GeometryType = Literal[
    "Point", "MultiPoint", "LineString", "MultiLineString", "Polygon", "MultiPolygon"
]


# properties the database keeps (layers/columns.py): clients read them, never set them
SERVER_KEPT = frozenset({"updated_at", "source_crs"})


def layer_family(geometry_type: str) -> tuple[str, bool]:
    """The family (point, line, polygon) of a geometry type and if it is multi.

    Examples
    --------
    >>> layer_family("MultiLineString")
    ('line', True)
    """
    multi = geometry_type.startswith("Multi")
    base = geometry_type.removeprefix("Multi")
    return {"Point": "point", "LineString": "line", "Polygon": "polygon"}[base], multi


@dataclass(frozen=True)
class Label:
    """A text in Vietnamese and English.

    Examples
    --------
    >>> Label(vi="Cây xanh", en="Trees").get("en")
    'Trees'
    """

    vi: str
    en: str

    def get(self, lang: str) -> str:
        """The text in ``lang`` (``vi`` or ``en``); Vietnamese for anything else."""
        return self.en if lang == "en" else self.vi


@dataclass(frozen=True)
class Field:
    """A published property of a layer.

    Backed by a column of the layer's table, or, with ``sql``, derived by PostgreSQL
    from other tables (e.g. a parcel's land users). ``sql`` is catalogue text that may
    name the layer's table; derived fields are read-only and can be neither filtered
    nor sorted on. ``personal`` marks personal data (Law 91/2025): readable only by
    the roles in ``Access.personal``, and every read of it is audited. ``set_by``
    narrows who may write the field.
    """

    name: str
    title: Label
    queryable: bool = True
    sortable: bool = True
    personal: bool = False
    sql: str | None = None
    # the roles that may set the field (None: every role that may write the layer),
    # e.g. only the operations centre sets a citizen report's handling status
    set_by: frozenset[str] | None = None
    # set by VectorLayer.visible_fields for a ward-scoped reader: the value is shown
    # only on rows of the claimed wards
    in_wards_only: bool = False
    # kept by the database (a trigger computes it, like SERVER_KEPT's): clients read
    # it; a value they send is ignored, as QGIS sends back every field it read
    server_kept: bool = False

    def __post_init__(self) -> None:
        if self.sql is not None and (self.queryable or self.sortable):
            raise ValueError(f"{self.name}: a derived field is not queryable/sortable")

    @property
    def read_only(self) -> bool:
        """Kept by the database: never taken from a client's write."""
        return self.server_kept or self.name in SERVER_KEPT

    @property
    def derived(self) -> bool:
        """Computed by PostgreSQL, not a column of the layer's table."""
        return self.sql is not None


def personal_field(name: str, title: Label, sql: str) -> Field:
    """A personal field derived by PostgreSQL (read-only, not filterable)."""
    return Field(name, title, queryable=False, sortable=False, personal=True, sql=sql)


@dataclass(frozen=True)
class Access:
    """Who may do what with a layer: the one policy every route asks.

    ``read`` see the layer at all (anyone else finds it absent: 404 on every path);
    ``create`` add features (defaults to ``write``); ``write`` replace, update and
    delete them; ``personal`` read its personal fields. A role in ``ward_scoped``
    holds its write and personal grants only on rows of the principal's own wards (a
    ward's land officer), unless another of the principal's roles grants them fully.
    """

    read: frozenset[str] = frozenset({PUBLIC})
    write: frozenset[str] = frozenset({"admin"})
    personal: frozenset[str] = frozenset({"admin"})
    create: frozenset[str] | None = None
    ward_scoped: frozenset[str] = frozenset({"land_officer"})

    @property
    def is_public(self) -> bool:
        """Readable by anyone, anonymous visitors included."""
        return PUBLIC in self.read

    @property
    def creators(self) -> frozenset[str]:
        """The roles that may add features."""
        return self.write if self.create is None else self.create

    def can_read(self, principal: Principal) -> bool:
        """Whether ``principal`` may see the layer at all."""
        return principal.has_any(self.read)

    def can_create(self, principal: Principal) -> bool:
        """Whether ``principal`` may add features (to some rows, see ``scope``)."""
        return self.can_read(principal) and principal.has_any(self.creators)

    def can_write(self, principal: Principal) -> bool:
        """Whether ``principal`` may replace, update or delete features (some rows)."""
        return self.can_read(principal) and principal.has_any(self.write)

    def can_read_personal(self, principal: Principal) -> bool:
        """Whether ``principal`` may read personal fields (of some rows)."""
        return self.can_read(principal) and principal.has_any(self.personal)

    def scope(
        self, principal: Principal, grant: frozenset[str]
    ) -> frozenset[str] | None:
        """The wards whose rows ``grant`` covers for ``principal``; None for all rows.

        Examples
        --------
        >>> officer = Principal("lan", frozenset({"land_officer"}), frozenset({"22945"}))
        >>> sorted(Access().scope(officer, frozenset({"land_officer", "admin"})))
        ['22945']
        >>> Access().scope(Principal("root", frozenset({"admin"})), frozenset({"admin"}))
        """
        held = principal.roles & grant
        if held - self.ward_scoped:
            return None
        return principal.ward_codes if held else frozenset()


# How a layer is drawn below ``TileSpec.minzoom`` (the rules are in gis.sql.tiles):
# "cluster": points grouped on the tile's grid, each with its count;
# "grid": every feature counted into the tile's grid cells (squares), for dense
#   small polygons such as parcels;
# "generalise": features of a pixel or more drawn simplified, smaller ones counted
#   into grid cells (wards, planning zones);
# "merge": lines simplified to the pixel and merged per category, with counts.
Overview = Literal["cluster", "grid", "generalise", "merge"]


@dataclass(frozen=True)
class TileSpec:
    """Vector tile settings of a layer (the rules are in ``gis.sql.tiles``).

    From ``minzoom`` on, tiles carry single features; below it an overview made
    as ``overview`` says, whose features carry ``count`` (how many features each
    stands for) and the dominant value of ``category``, so that a layer opened at
    its whole extent shows where its features are and what they are.
    """

    minzoom: int = 10
    maxzoom: int = 22
    # below detail_zoom tiles carry only these properties (None: all of them)
    properties: tuple[str, ...] | None = None
    detail_zoom: int = 0
    overview: Overview = "cluster"
    # the property whose dominant value an overview feature carries (None: none)
    category: str | None = None


@dataclass(frozen=True)
class TimeSpec:
    """The layer's own time: an instant column, or a validity interval."""

    start: str
    end: str | None = None


@dataclass(frozen=True)
class VectorLayer:
    """A table with (optionally) a geometry column, published as an OGC collection.

    Parameters
    ----------
    id
        Stable English snake_case id used in URLs.
    table
        The SQLAlchemy table; primary key ``id``, geometry ``geom`` (SRID 4326).
    fields
        The published properties, in order.
    geometry_type
        The geometry type of ``geom``; None for a collection without geometry.
    time
        The layer's time property for ``datetime=``; None when it has none.
    """

    id: str
    table: Table
    title: Label
    description: Label
    fields: tuple[Field, ...]
    geometry_type: GeometryType | None
    access: Access = field(default_factory=Access)
    tiles: TileSpec = field(default_factory=TileSpec)
    time: TimeSpec | None = None
    keywords: tuple[str, ...] = ()
    storage_srid: int = 4326
    crs_srids: tuple[int, ...] = DEFAULT_CRS_SRIDS
    # columns an import may fill, beyond the published fields (e.g. source_crs)
    import_columns: tuple[str, ...] = ()

    @property
    def geom(self) -> Column[object] | None:
        """The geometry column, or None."""
        return self.table.c.get("geom") if self.geometry_type else None

    def field(self, name: str) -> Field | None:
        """The published field ``name``, or None."""
        return next((f for f in self.fields if f.name == name), None)

    def visible_fields(self, principal: Principal) -> tuple[Field, ...]:
        """The fields ``principal`` may read.

        Personal fields only for the roles in ``Access.personal``; for a ward-scoped
        reader they are NULL on rows outside the principal's wards (the wards come
        from the request's claims, ``dothi.wards``, so the SQL text stays the same).
        """
        if not self.access.can_read_personal(principal):
            return tuple(f for f in self.fields if not f.personal)
        if self.access.scope(principal, self.access.personal) is None:
            return self.fields
        return tuple(self._ward_scoped(f) if f.personal else f for f in self.fields)

    def _ward_scoped(self, f: Field) -> Field:
        value = f.sql if f.sql is not None else f'"{self.table.name}"."{f.name}"'
        return replace(
            f,
            sql=f"CASE WHEN {self.ward_condition()} THEN ({value}) END",
            queryable=False,
            sortable=False,
            in_wards_only=True,
        )

    def ward_condition(self) -> str:
        """SQL: the row's ward is one of the request's claimed wards."""
        return (
            f'"{self.table.name}".ward_code = ANY(string_to_array('
            "current_setting('dothi.wards', true), ','))"
        )

    def personal_scoped(self, fields: Iterable[Field]) -> bool:
        """Whether ``fields`` show personal values only on the claimed wards' rows."""
        return any(f.personal and f.in_wards_only for f in fields)

    def reads_personal(self, fields: Iterable[Field]) -> bool:
        """Whether a response with ``fields`` carries personal data (audited)."""
        return any(f.personal for f in fields)
