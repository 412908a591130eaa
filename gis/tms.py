"""Tile matrix sets (OGC 17-083r4), made with morecantile.

WebMercatorQuad and WorldCRS84Quad come from morecantile's registry. The VN-2000
sets are one per TM-3 zone of the pilot cities, so a planner's tiles line up with
the cadastral sheets of their province without reprojection on the client: a square
of 2^20 m (1,048,576 m) around the zone's central meridian, from northing 524,288 m
(4.7°N, south of Cà Mau) to 1,572,864 m (14.2°N). Zoom z has 256-pixel tiles of
2^(12-z) km: 256 m at z=12, 16 m at z=16.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache

import morecantile
from pyproj import CRS

from gis.errors import InvalidParameterError, NotFoundError

SIDE = 2**20  # metres
VN2000_SETS: dict[str, tuple[int, str]] = {
    "VN2000TM3BinhThuan": (9218, "VN-2000 TM-3 108°30′ (Bình Thuận: Phan Thiết)"),
    "VN2000TM3NinhThuan": (9217, "VN-2000 TM-3 108°15′ (Ninh Thuận: Phan Rang)"),
    "VN2000TM3BinhPhuoc": (9212, "VN-2000 TM-3 106°15′ (Bình Phước: Đồng Xoài)"),
    "VN2000TM3LamDongDongNai": (5899, "VN-2000 TM-3 107°45′ (Lâm Đồng, Đồng Nai 2025)"),
}
MAX_ZOOM = 24


@dataclass(frozen=True)
class TileRef:
    """A validated tile: its matrix set, zoom, row, column and bounds in the TMS CRS."""

    tms_id: str
    srid: int
    z: int
    row: int
    col: int
    bounds: tuple[float, float, float, float]
    # the Web Mercator zoom of the same scale: the layers' zoom rules (TileSpec)
    # are stated in it, so a VN-2000 tile at 1:3,571 (its zoom 12) is treated as
    # the zoom 17 it looks like, not as a zoom-12 overview
    level: int


@cache
def tile_matrix_sets() -> dict[str, morecantile.TileMatrixSet]:
    """Every tile matrix set dothi serves, by id."""
    sets = {
        "WebMercatorQuad": morecantile.tms.get("WebMercatorQuad"),
        "WorldCRS84Quad": morecantile.tms.get("WorldCRS84Quad"),
    }
    for tms_id, (srid, title) in VN2000_SETS.items():
        tms = morecantile.TileMatrixSet.custom(
            [500_000 - SIDE / 2, SIDE / 2, 500_000 + SIDE / 2, SIDE * 1.5],
            CRS.from_epsg(srid),
            id=tms_id,
            title=title,
            minzoom=0,
            maxzoom=MAX_ZOOM,
        )
        # lon/lat given to the set are WGS 84 (the API's CRS84), not VN-2000
        # geographic: without this, tile look-ups are off by the ~200 m datum shift
        tms.set_geographic_crs(CRS.from_epsg(4326))
        sets[tms_id] = tms
    return sets


def srid_of(tms: morecantile.TileMatrixSet) -> int:
    """The integer SRID PostGIS uses for ``tms`` (4326 for WorldCRS84Quad)."""
    epsg = tms.crs._pyproj_crs.to_epsg()
    return 4326 if epsg is None else int(epsg)


def tile(tms_id: str, z: str, row: str, col: str) -> TileRef:
    """Validate a tile request.

    Raises
    ------
    NotFoundError
        Unknown matrix set, or a tile outside the matrix (OGC: 404).
    InvalidParameterError
        Zoom, row or column that are not integers.
    """
    sets = tile_matrix_sets()
    tms = sets.get(tms_id)
    if tms is None:
        raise NotFoundError(f"no tile matrix set {tms_id!r}; sets: {', '.join(sets)}")
    try:
        zi, ri, ci = int(z), int(row), int(col)
    except ValueError:
        raise InvalidParameterError(
            "tileMatrix, tileRow and tileCol must be integers"
        ) from None
    top = min(MAX_ZOOM, tms.maxzoom)
    if not 0 <= zi <= top:
        raise NotFoundError(f"tile matrix {zi} is not in {tms_id} (0-{top})")
    matrix = tms.matrix(zi)
    if not (0 <= ri < matrix.matrixHeight and 0 <= ci < matrix.matrixWidth):
        raise NotFoundError(
            f"tile {zi}/{ri}/{ci} is outside {tms_id}: rows 0-{matrix.matrixHeight - 1}, "
            f"columns 0-{matrix.matrixWidth - 1}"
        )
    b = tms.xy_bounds(morecantile.Tile(x=ci, y=ri, z=zi))
    bounds = (b.left, b.bottom, b.right, b.top)
    return TileRef(tms_id, srid_of(tms), zi, ri, ci, bounds, level_of(tms_id, zi))


# scale denominator of WebMercatorQuad's zoom 0 (OGC 17-083r4, 0.28 mm pixels)
_WEB_MERCATOR_Z0 = 559_082_264.028717


@cache
def level_of(tms_id: str, z: int) -> int:
    """The Web Mercator zoom whose scale is nearest to zoom ``z`` of ``tms_id``.

    Examples
    --------
    >>> level_of("WebMercatorQuad", 13), level_of("WorldCRS84Quad", 13)
    (13, 14)
    >>> level_of("VN2000TM3BinhThuan", 12)
    17
    """
    scale = tile_matrix_sets()[tms_id].matrix(z).scaleDenominator
    return max(0, round(math.log2(_WEB_MERCATOR_Z0 / scale)))
