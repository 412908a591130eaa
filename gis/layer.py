"""The layer kinds: what a city layer declares about itself.

A layer is a frozen value built once at import of its module in ``layers/``; the API is
generic over them. Nothing here does I/O.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

from sqlalchemy import Column, Table

from gis.crs import DEFAULT_CRS_SRIDS

GeometryType = Literal[
    "Point", "MultiPoint", "LineString", "MultiLineString", "Polygon", "MultiPolygon"
]
PUBLIC = "public"  # the role every principal has, anonymous included


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
class Principal:
    """Who is asking: subject, roles (``public`` always among them), and the wards
    whose rows the principal may edit (a ward's land officer)."""

    subject: str | None = None
    roles: frozenset[str] = frozenset({PUBLIC})
    ward_codes: frozenset[str] = frozenset()
    auth: str = "anonymous"  # anonymous | password | api_key | jwt

    def __post_init__(self) -> None:
        if PUBLIC not in self.roles:
            object.__setattr__(self, "roles", self.roles | {PUBLIC})

    def has_any(self, roles: Iterable[str]) -> bool:
        """Whether the principal holds at least one of ``roles``."""
        return not self.roles.isdisjoint(roles)

    def may_edit_ward(self, ward_code: str | None) -> bool:
        """Whether rows of ``ward_code`` are among the principal's wards."""
        return ward_code is not None and ward_code in self.ward_codes


ANONYMOUS = Principal()


@dataclass(frozen=True)
class Field:
    """A published property of a layer, backed by a column of the layer's table.

    ``personal`` marks personal data (Law 91/2025): readable only by the roles in
    ``Access.personal``. A field that is not ``queryable`` cannot be filtered on.
    """

    name: str
    title: Label
    queryable: bool = True
    sortable: bool = True
    personal: bool = False


@dataclass(frozen=True)
class Access:
    """Who may read and write a layer, and who may read its personal fields."""

    read: frozenset[str] = frozenset({PUBLIC})
    write: frozenset[str] = frozenset({"admin"})
    personal: frozenset[str] = frozenset({"admin"})

    @property
    def is_public(self) -> bool:
        """Readable by anyone, anonymous visitors included."""
        return PUBLIC in self.read

    def can_read(self, principal: Principal) -> bool:
        """Whether ``principal`` may see the layer at all."""
        return principal.has_any(self.read)

    def can_write(self, principal: Principal) -> bool:
        """Whether ``principal`` may create, replace or delete features."""
        return principal.has_any(self.write)


@dataclass(frozen=True)
class TileSpec:
    """Vector tile settings of a layer (the rules are in ``gis.sql.tiles``)."""

    minzoom: int = 10
    maxzoom: int = 22
    # dense point layers are clustered below this zoom (0 = never)
    cluster_below: int = 0
    # below detail_zoom tiles carry only these properties (None: all of them)
    properties: tuple[str, ...] | None = None
    detail_zoom: int = 0


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
        """The fields ``principal`` may read: personal ones only for allowed roles."""
        personal_ok = principal.has_any(self.access.personal)
        return tuple(f for f in self.fields if personal_ok or not f.personal)
