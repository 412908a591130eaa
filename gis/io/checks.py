"""Checks on what was read, before anything reaches the database.

* the source CRS: an EPSG code PostGIS can use; deprecated VN-2000 codes refused;
* the axis order: coordinates that fit the CRS only with X and Y exchanged (the
  Vietnamese survey convention X = northing, or latitude written first) are swapped,
  with a warning; coordinates that fit neither way mean a wrong CRS;
* the geometry type: each row against the layer's type.

All of it is vectorised over the rows (numpy, shapely, pyproj): no Python loop per
feature.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import numpy.typing as npt
import shapely
from pyproj import CRS
from pyproj.exceptions import CRSError

from gis.crs import DEPRECATED_VN2000_SRIDS, VN2000_SRIDS, transformer
from gis.errors import ImportRejectedError
from gis.layer import GeometryType, layer_family

# deprecated VN-2000 TM-3 codes (false easting and northing swapped: x_0=0,
# y_0=500000) and the code that replaces each, same zone and central meridian
DEPRECATED_REPLACEMENT: dict[int, int] = {
    6956: 5896,
    6957: 5897,
    6958: 5898,
    6959: 5899,
}
# degrees added around a CRS's area of use: data often reaches a little beyond the
# official area (UTM 48N is used for all of south-central Vietnam, up to 109.5°E)
AREA_MARGIN_DEG = 2.0

# shapely type ids -> the family each belongs to
_FAMILY = {
    0: "point",
    4: "point",
    1: "line",
    2: "line",
    5: "line",
    3: "polygon",
    6: "polygon",
}
_MULTI_IDS = {4, 5, 6}
_TYPE_NAMES = {
    0: "Point",
    1: "LineString",
    2: "LinearRing",
    3: "Polygon",
    4: "MultiPoint",
    5: "MultiLineString",
    6: "MultiPolygon",
    7: "GeometryCollection",
}


def resolve_crs(
    declared: int | None, declared_name: str | None, given: int | None, *, name: str
) -> tuple[int | None, list[str]]:
    """The EPSG code to read the coordinates in: ``given`` over the file's own.

    Returns
    -------
    tuple
        The code (None when neither the file nor the user names one) and warnings.

    Raises
    ------
    ImportRejectedError
        For an unknown or deprecated code, or a file CRS without an EPSG code.
    """
    notes: list[str] = []
    if given is not None:
        check_epsg(given, what="crs=")
        if declared is not None and declared != given:
            notes.append(
                f"the file declares EPSG:{declared}; its coordinates were read as "
                f"EPSG:{given} as crs= asked"
            )
        elif declared is None and declared_name:
            notes.append(
                f"the file declares {declared_name!r}; its coordinates were read as "
                f"EPSG:{given} as crs= asked"
            )
        return given, notes
    if declared is None and declared_name:
        raise ImportRejectedError(
            f"{name}: its CRS ({declared_name!r}) has no EPSG code; pass crs= with "
            "the EPSG code of its coordinates"
        )
    if declared is not None:
        check_epsg(declared, what=f"{name}: its CRS")
    return declared, notes


def check_epsg(code: int, *, what: str) -> None:
    """Refuse unknown, deprecated or non-2D codes.

    Raises
    ------
    ImportRejectedError
        Naming the replacement for a deprecated VN-2000 TM-3 code.

    Examples
    --------
    >>> check_epsg(9218, what="crs=")
    >>> check_epsg(6959, what="crs=")
    Traceback (most recent call last):
    ...
    gis.errors.ImportRejectedError: crs=: EPSG:6959 (VN-2000 / TM-3 Da Nang zone) ...
    """
    if code in DEPRECATED_VN2000_SRIDS:
        new = DEPRECATED_REPLACEMENT[code]
        raise ImportRejectedError(
            f"{what}: EPSG:{code} ({_crs_name(code)}) is deprecated: it swaps the "
            "false easting and northing (x_0=0, y_0=500000), so coordinates would land "
            f"hundreds of kilometres away. Use the non-deprecated TM-3 code "
            f"EPSG:{new} ({_crs_name(new)}, same central meridian); for a file "
            f"labelled EPSG:{code} whose eastings are near 500000, pass crs={new}",
            deprecated=code,
            replacement=new,
        )
    try:
        crs = CRS.from_epsg(code)
    except CRSError as exc:
        raise ImportRejectedError(f"{what}: EPSG:{code} is not a known CRS") from exc
    if crs.is_deprecated:
        raise ImportRejectedError(f"{what}: EPSG:{code} ({crs.name}) is deprecated")
    if not (crs.is_projected or crs.is_geographic) or len(crs.axis_info) != 2:
        raise ImportRejectedError(
            f"{what}: EPSG:{code} ({crs.name}) is not a 2D geographic or projected CRS"
        )


@lru_cache(maxsize=64)
def _crs_name(code: int) -> str:
    try:
        return str(CRS.from_epsg(code).name)
    except CRSError:
        return "unknown"


@lru_cache(maxsize=64)
def _area(code: int) -> tuple[float, float, float, float]:
    """The CRS's area of use in lon/lat, widened by the margin (world if unknown)."""
    aou = CRS.from_epsg(code).area_of_use
    if aou is None or aou.west > aou.east:  # unknown, or crossing the antimeridian
        return -180.0, -90.0, 180.0, 90.0
    m = AREA_MARGIN_DEG
    return aou.west - m, aou.south - m, aou.east + m, aou.north + m


def _inside(
    code: int, x: npt.NDArray[np.float64], y: npt.NDArray[np.float64]
) -> npt.NDArray[np.bool_]:
    """Which (x, y) (in the CRS's easting/longitude-first order) fit its area."""
    with np.errstate(invalid="ignore"):
        lon, lat = transformer(code, 4326).transform(x, y, errcheck=False)
    lon, lat = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    w, s, e, n = _area(code)
    ok: npt.NDArray[np.bool_] = np.isfinite(lon) & np.isfinite(lat)
    ok &= (lon >= w) & (lon <= e) & (lat >= s) & (lat <= n)
    # geographic CRSs: the numbers themselves must be longitudes and latitudes (PROJ
    # passes an identity transform through unchecked)
    if CRS.from_epsg(code).is_geographic:
        ok &= (np.abs(x) <= 180) & (np.abs(y) <= 90)
    return ok


def looks_like_lonlat(geoms: npt.NDArray[np.object_]) -> bool:
    """Whether every coordinate is a plausible longitude/latitude (either order).

    Examples
    --------
    >>> looks_like_lonlat(np.array([shapely.Point(108.1, 10.9)], dtype=object))
    True
    >>> looks_like_lonlat(np.array([shapely.Point(455000, 1208000)], dtype=object))
    False
    """
    x, y = _centres(geoms)
    ok = np.isfinite(x) & np.isfinite(y)
    if not ok.any():
        return False
    x, y = x[ok], y[ok]
    as_is = (np.abs(x) <= 180) & (np.abs(y) <= 90)
    swapped = (np.abs(y) <= 180) & (np.abs(x) <= 90)
    return bool((as_is | swapped).all())


def _centres(
    geoms: npt.NDArray[np.object_],
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """The centre of each geometry's bounding box (NaN for missing/empty ones)."""
    b = shapely.bounds(geoms)
    return (b[:, 0] + b[:, 2]) / 2, (b[:, 1] + b[:, 3]) / 2


@dataclass(frozen=True)
class AxisCheck:
    """The outcome of :func:`check_axes`.

    ``outside`` marks rows that fit the CRS's area of use in neither order.
    """

    swap: bool
    outside: npt.NDArray[np.bool_]
    warning: str | None


def check_axes(geoms: npt.NDArray[np.object_], code: int, *, name: str) -> AxisCheck:
    """Decide the axis order from where the coordinates fall.

    Every row's bounding-box centre is tested against the CRS's area of use (widened
    by :data:`AREA_MARGIN_DEG`), as read and with X and Y exchanged. The data is read
    as given when at least half of its rows fit that way (and no fewer than fit
    swapped); it is swapped (all rows, with a warning) when at least half fit only
    swapped. Anything else is a wrong CRS and rejects the file. Rows outside the area
    in the chosen order are rejected one by one.

    This is how Vietnamese survey tables (X = northing, Y = easting, the opposite of
    EPSG's (E, N) for the VN-2000 TM-3 CRSs) and lat/lon-ordered CSVs are caught: a
    northing of 1.2 million metres is no easting in any TM-3 zone of Vietnam, and a
    longitude of 108° is no latitude.

    Raises
    ------
    ImportRejectedError
        When the coordinates fit the CRS in neither order: a wrong CRS.
    """
    x, y = _centres(geoms)
    valid = np.isfinite(x) & np.isfinite(y)
    n = int(valid.sum())
    as_is = _inside(code, x, y)
    swapped = _inside(code, y, x)
    n_as_is, n_swapped = int(as_is.sum()), int(swapped.sum())
    if n == 0 or (n_as_is >= n_swapped and 2 * n_as_is >= n):
        return AxisCheck(False, valid & ~as_is, None)
    if n_swapped > n_as_is and 2 * n_swapped >= n:
        return AxisCheck(True, valid & ~swapped, _swap_warning(code, n_swapped))
    w, s, e, nn = _area(code)
    raise ImportRejectedError(
        f"{name}: the coordinates do not fit EPSG:{code} ({_crs_name(code)}): "
        f"x {np.nanmin(x):.6g}..{np.nanmax(x):.6g}, y {np.nanmin(y):.6g}.."
        f"{np.nanmax(y):.6g}, but only {n_as_is} of {n} rows fall inside its area "
        f"of use (lon {w:.6g}..{e:.6g}, lat {s:.6g}..{nn:.6g}, widened by "
        f"{AREA_MARGIN_DEG:g}°), {n_swapped} with X/Y swapped. Is the CRS right? "
        "Pass crs= with the EPSG code of the coordinates",
        crs=code,
    )


def _swap_warning(code: int, rows: int) -> str:
    crs = CRS.from_epsg(code)
    if crs.is_geographic:
        return (
            f"longitude/latitude swapped: the coordinates fit EPSG:{code} only as "
            f"(Y, X), so they were given latitude first; {rows} rows were read as "
            "(longitude, latitude)"
        )
    convention = (
        " (the Vietnamese survey convention X = northing, Y = easting)"
        if code in VN2000_SRIDS
        else ""
    )
    return (
        f"X/Y swapped: X looks like a northing and Y like an easting{convention}; "
        f"{rows} rows were read as (Y, X) to follow EPSG:{code} "
        f"({crs.name}), which is easting first"
    )


def swap_axes(geoms: npt.NDArray[np.object_]) -> npt.NDArray[np.object_]:
    """Exchange X and Y of every geometry.

    Examples
    --------
    >>> swap_axes(np.array([shapely.Point(1, 2)], dtype=object))[0].wkt
    'POINT (2 1)'
    """
    out: npt.NDArray[np.object_] = shapely.transform(geoms, lambda c: c[:, ::-1])
    return out


def fit_geometries(
    geoms: npt.NDArray[np.object_], geometry_type: GeometryType, *, layer_id: str
) -> tuple[npt.NDArray[np.object_], dict[int, str], int]:
    """Check each geometry's type against the layer; drop Z.

    Singles are accepted into a Multi* layer (promoted later with ``ST_Multi``), and a
    one-part Multi* into a single layer. A closed LineString is still a line.

    Returns
    -------
    tuple
        The geometries to load (2D; singles taken out of one-part multis), the reason
        per rejected row index, and how many geometries had Z (or M) values.
    """
    family, multi = layer_family(geometry_type)
    ids = shapely.get_type_id(geoms)  # -1 for None
    has_z = int(np.count_nonzero(shapely.has_z(geoms)))
    out = shapely.force_2d(geoms) if has_z else geoms.copy()
    reasons: dict[int, str] = {}
    for i in np.flatnonzero(ids < 0):
        reasons[int(i)] = "no geometry (missing or unreadable)"
    empty = shapely.is_empty(geoms) & (ids >= 0)
    for i in np.flatnonzero(empty):
        reasons[int(i)] = f"empty {_TYPE_NAMES.get(int(ids[i]), 'geometry')}"
    fits = np.array([_FAMILY.get(int(t)) == family for t in ids], dtype=bool)
    for i in np.flatnonzero(~fits & (ids >= 0) & ~empty):
        reasons[int(i)] = (
            f"{_TYPE_NAMES.get(int(ids[i]), 'unknown')} geometry does not fit layer "
            f"{layer_id} ({geometry_type})"
        )
    if not multi:
        is_multi = fits & ~empty & np.isin(ids, list(_MULTI_IDS))
        parts = shapely.get_num_geometries(geoms)
        for i in np.flatnonzero(is_multi & (parts > 1)):
            reasons[int(i)] = (
                f"{_TYPE_NAMES[int(ids[i])]} of {int(parts[i])} parts does not fit "
                f"layer {layer_id} ({geometry_type})"
            )
        one = is_multi & (parts == 1)
        if one.any():
            out[one] = shapely.get_geometry(out[one], 0)
    return out, reasons, has_z
