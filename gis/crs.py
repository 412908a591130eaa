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
