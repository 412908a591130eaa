"""The CRS registry: OGC URIs <-> integer SRIDs, axis order, VN-2000.

PostGIS transforms with integer SRIDs only (a text SRID rebuilds the PROJ pipeline for
every row). VN-2000 rows of ``spatial_ref_sys`` come from PROJ's EPSG database, never
from hand-typed strings, so PROJ picks EPSG:6960 (the national 7-parameter shift of
Decision 05/2007) for VN-2000 -> WGS 84.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from pyproj import CRS, Transformer

from gis.errors import InvalidParameterError

Box = tuple[float, float, float, float]

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
CRS84H = "http://www.opengis.net/def/crs/OGC/1.3/CRS84h"
EPSG_URI = "http://www.opengis.net/def/crs/EPSG/0/{}"

# VN-2000 geographic, every TM-3 zone (national and provincial meridians) and UTM 48N/49N
VN2000_SRIDS: tuple[int, ...] = (
    4756,
    5896, 5897, 5898, 5899,
    *range(9205, 9219),
    3405, 3406,
)  # fmt: skip
# the CRSs every collection offers: WGS 84, Web Mercator, VN-2000 geographic, the TM-3
# zones of the three pilot cities (Bình Thuận 9218, Ninh Thuận 9217, Bình Phước 9212,
# and 5899 for the 2025 provinces Lâm Đồng / Đồng Nai) and UTM 48N/49N
DEFAULT_CRS_SRIDS: tuple[int, ...] = (
    4326,
    3857,
    4756,
    9218,
    9217,
    9212,
    5899,
    3405,
    3406,
)
# deprecated EPSG codes with false easting/northing swapped: refused on import
DEPRECATED_VN2000_SRIDS = frozenset({6956, 6957, 6958, 6959})
# a box or literal in a projected CRS must lie in the CRS's area of use (EPSG's, from
# PROJ) widened by this much: a city on the edge of its zone (Phan Thiết straddles
# 108°E, where UTM 48N ends and 49N begins) keeps its features, and PROJ's
# transverse Mercator stays exact far beyond it; much further out PostGIS fails
# ("Point outside of projection domain")
AREA_MARGIN_M = 500_000.0
# a projected box is densified before PostGIS transforms it, so its edges stay where
# they were; into at most this many vertices whatever its size (a world-wide box was
# 1.1 GB of vertices at one every 100 m)
MAX_BOX_VERTICES = 1_000
# ... and no finer than this (CRS units: metres, degrees) when the box is small
MIN_SEGMENT = {True: 0.001, False: 100.0}  # keyed by "is geographic"


@dataclass(frozen=True)
class CrsRef:
    """A CRS as the API names it, and as PostGIS knows it.

    ``lonlat`` is True when the coordinates in responses go x=longitude/easting first
    (CRS84 and every projected CRS here), False for EPSG:4326 and EPSG:4756, which
    EPSG defines latitude first.
    """

    uri: str
    srid: int
    lonlat: bool


def uri_for(srid: int) -> str:
    """The OGC URI of ``srid`` (CRS84 for 4326).

    Examples
    --------
    >>> uri_for(9218)
    'http://www.opengis.net/def/crs/EPSG/0/9218'
    """
    return CRS84 if srid == 4326 else EPSG_URI.format(srid)


def crs_uris(srids: tuple[int, ...]) -> list[str]:
    """The URIs a collection lists: CRS84 first, then EPSG:4326 and the rest."""
    uris = [CRS84, EPSG_URI.format(4326)]
    uris += [EPSG_URI.format(s) for s in srids if s != 4326]
    return uris


@lru_cache(maxsize=64)
def transformer(source: int, target: int) -> Transformer:
    """The PROJ transformation between two EPSG codes, x/easting first (cached)."""
    return Transformer.from_crs(source, target, always_xy=True)


@lru_cache(maxsize=64)
def is_geographic(srid: int) -> bool:
    """Whether ``srid`` is a geographic (degrees) CRS.

    Examples
    --------
    >>> is_geographic(4756), is_geographic(9218)
    (True, False)
    """
    return bool(CRS.from_epsg(srid).is_geographic)


@lru_cache(maxsize=64)
def area_of_use(srid: int) -> Box | None:
    """The area where coordinates of ``srid`` are accepted, in its own units.

    EPSG's area of use of the CRS transformed into it, widened by
    :data:`AREA_MARGIN_M`; None for a geographic CRS (whose ranges are checked as
    longitudes and latitudes) or one without an area of use.

    Examples
    --------
    >>> x1, y1, x2, y2 = area_of_use(3857)  # the world to 85.06°
    >>> round(x2), round(y2)
    (20037508, 20048966)
    >>> [round(v) for v in area_of_use(9218)]  # 107.2-109.52°E 10.43-14.61°N
    [-142532, 653415, 1111482, 2116190]
    """
    crs = CRS.from_epsg(srid)
    area = crs.area_of_use
    if crs.is_geographic or area is None:
        return None
    x1, y1, x2, y2 = transformer(4326, srid).transform_bounds(
        area.west, area.south, area.east, area.north, densify_pts=21
    )
    unit = crs.axis_info[0].unit_name if crs.axis_info else ""
    # a world-wide area has no edge to widen: past it, longitudes wrap around and
    # the transformed box would cross itself
    world = area.east - area.west >= 360
    margin = AREA_MARGIN_M if unit in ("metre", "meter") and not world else 0.0
    return (x1 - margin, y1 - margin, x2 + margin, y2 + margin)


def within_area(srid: int, bounds: Box) -> bool:
    """Whether ``bounds`` (x first) lie inside ``area_of_use(srid)`` (always, without
    one).

    Examples
    --------
    >>> within_area(9218, (500000, 1200000, 510000, 1210000))
    True
    >>> within_area(9218, (0, 0, 3e7, 3e7))
    False
    """
    area = area_of_use(srid)
    if area is None:
        return True
    x1, y1, x2, y2 = bounds
    return area[0] <= x1 and area[1] <= y1 and x2 <= area[2] and y2 <= area[3]


def clip_to_area(srid: int, box: Box, *, parameter: str) -> Box:
    """``box`` (x first, lower corner first) clipped to ``area_of_use(srid)``.

    A web map zoomed out to the whole world sends a box larger than Web Mercator's
    world: the part outside the area has nothing to find, so it is dropped rather
    than refused.

    Raises
    ------
    InvalidParameterError
        When the box lies wholly outside the area (wrong CRS or axis order?),
        naming ``parameter``.

    Examples
    --------
    >>> clip_to_area(3857, (-4e7, -4e7, 4e7, 4e7), parameter="bbox") == area_of_use(
    ...     3857)
    True
    """
    area = area_of_use(srid)
    if area is None:
        return box
    x1, y1 = max(box[0], area[0]), max(box[1], area[1])
    x2, y2 = min(box[2], area[2]), min(box[3], area[3])
    if x1 > x2 or y1 > y2:
        name = CRS.from_epsg(srid).area_of_use
        raise InvalidParameterError(
            f"{parameter}: the box lies outside the area of use of EPSG:{srid}"
            f"{f' ({name.name})' if name else ''}: x {area[0]:.0f}..{area[2]:.0f}, "
            f"y {area[1]:.0f}..{area[3]:.0f} (check the CRS and the axis order)",
            parameter=parameter,
        )
    return (x1, y1, x2, y2)


def segment_length(srid: int, box: Box) -> float:
    """The longest edge segment when ``box`` is densified before a transformation:
    at most :data:`MAX_BOX_VERTICES` vertices, no finer than :data:`MIN_SEGMENT`.

    Examples
    --------
    >>> segment_length(9218, (500000, 1200000, 501000, 1201000))
    100.0
    >>> round(segment_length(3857, (-2e7, -2e7, 2e7, 2e7)))  # 995 segments
    160804
    """
    x1, y1, x2, y2 = box
    perimeter = 2 * (abs(x2 - x1) + abs(y2 - y1))
    # ST_Segmentize cuts each edge into ceil(edge / length) parts: +1 an edge, +1 to
    # close the ring
    return max(perimeter / (MAX_BOX_VERTICES - 5), MIN_SEGMENT[is_geographic(srid)])


@lru_cache(maxsize=256)
def parse_crs(uri: str, allowed: tuple[int, ...]) -> CrsRef:
    """Resolve an OGC CRS URI (or ``EPSG:n`` / ``[EPSG:n]`` short form).

    Raises
    ------
    InvalidParameterError
        For a CRS that is not among ``allowed``.

    Examples
    --------
    >>> parse_crs(CRS84, (4326,)).srid
    4326
    >>> parse_crs("http://www.opengis.net/def/crs/EPSG/0/4326", (4326,)).lonlat
    False
    """
    text = uri.strip().strip("[]")
    if text in (CRS84, CRS84H, "CRS84", "OGC:CRS84"):
        return CrsRef(CRS84, 4326, lonlat=True)
    srid: int | None = None
    for prefix in ("http://www.opengis.net/def/crs/EPSG/0/", "EPSG:", "epsg:"):
        if text.startswith(prefix) and text[len(prefix) :].isdigit():
            srid = int(text[len(prefix) :])
    if srid is None or srid not in allowed:
        raise InvalidParameterError(
            f"unsupported CRS {uri!r}; supported: {', '.join(crs_uris(allowed))}"
        )
    return CrsRef(EPSG_URI.format(srid), srid, lonlat=not _northing_first(srid))


@lru_cache(maxsize=64)
def _northing_first(srid: int) -> bool:
    axis = CRS.from_epsg(srid).axis_info
    return bool(axis) and axis[0].direction.lower() in ("north", "south")


def spatial_ref_sys_row(srid: int) -> tuple[int, str, int, str, str]:
    """A ``spatial_ref_sys`` row for an EPSG code, taken from PROJ's database.

    Returns
    -------
    tuple
        ``(srid, auth_name, auth_srid, srtext, proj4text)``.
    """
    crs = CRS.from_epsg(srid)
    return (
        srid,
        "EPSG",
        srid,
        crs.to_wkt("WKT1_GDAL"),
        _proj4(crs),
    )


def _proj4(crs: CRS) -> str:
    # proj4text is informative only: PostGIS 3 asks PROJ by auth_name/auth_srid, so
    # the lossy PROJ.4 form (no datum-shift choice) is never what transforms.
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return crs.to_proj4() or ""
