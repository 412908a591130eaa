"""Geometry literals of a filter (GeoJSON, WKT and ``BBOX``), proved usable in Python.

A literal is built and validated with shapely, its coordinates checked against the
range (geographic CRSs) or the area of use (projected CRSs) of ``filter-crs``, and
transformed with pyproj to prove PostGIS can transform it to the storage CRS. So no
geometry literal can make PostGIS fail. All literals of a filter together have at
most ``MAX_VERTICES`` vertices.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
import shapely
import shapely.geometry
from pyproj.exceptions import CRSError

from gis.cql2.errors import invalid, over_limit, show
from gis.cql2.guards import MAX_VERTICES
from gis.cql2.literals import number_value
from gis.cql2.vocabulary import GEOJSON_TYPES
from gis.crs import area_of_use, is_geographic, segment_length, transformer, within_area
from gis.errors import InvalidParameterError


@dataclass(frozen=True)
class CheckedGeometry:
    """A valid 2D geometry literal, x/longitude first, as GeoJSON."""

    geojson: str
    max_lat: float  # its largest |latitude| in the storage CRS (90 if projected)


@dataclass(frozen=True)
class CheckedBox:
    """A valid ``BBOX`` literal, x/longitude first: (x1, y1) is its lower corner."""

    x1: float
    y1: float
    x2: float
    y2: float
    crosses_antimeridian: bool  # x1 > x2 in a geographic CRS (OGC 21-065 7.6)
    segment: float | None  # densify to this length before transforming (projected)
    max_lat: float


@lru_cache(maxsize=64)
def crs_is_geographic(srid: int) -> bool:
    """Whether EPSG:``srid`` is geographic (a ``filter-crs`` error if unknown)."""
    try:
        return is_geographic(srid)
    except CRSError:
        raise InvalidParameterError(
            f"filter-crs: EPSG:{srid} is not known", parameter="filter-crs"
        ) from None


class GeometryLiterals:
    """Checks the geometry literals of one filter, in EPSG:``srid``."""

    def __init__(self, srid: int, storage_srid: int, *, lonlat: bool) -> None:
        self.srid = srid
        self.storage_srid = storage_srid
        self.lonlat = lonlat
        self.geographic = crs_is_geographic(srid)
        self.storage_geographic = crs_is_geographic(storage_srid)
        self.vertices = 0  # of every literal so far

    def geometry(self, ast: dict[str, Any]) -> CheckedGeometry:
        """A GeoJSON geometry object (the parser gives WKT literals as GeoJSON)."""
        if ast.get("type") not in GEOJSON_TYPES:
            raise invalid(
                f"unknown geometry type {show(ast.get('type'))}", "spatial-functions"
            )
        self._count_vertices(ast)
        try:
            geom = shapely.geometry.shape(ast)
        except Exception as exc:  # shapely raises many kinds for malformed input
            raise invalid(
                f"invalid geometry literal: {' '.join(str(exc).split())[:120]}",
                "spatial-functions",
            ) from None
        geom = shapely.force_2d(geom)
        if not self.lonlat:
            geom = shapely.transform(geom, lambda xy: xy[:, ::-1])
        if geom.is_empty:
            raise invalid("empty geometry literal", "spatial-functions")
        reason = shapely.is_valid_reason(geom)
        if reason != "Valid Geometry":
            raise invalid(f"invalid geometry literal: {reason}", "spatial-functions")
        _check_collection(geom)
        max_lat = self._check_coordinates(shapely.get_coordinates(geom))
        return CheckedGeometry(shapely.to_geojson(geom), max_lat)

    def bbox(self, raw: Any) -> CheckedBox:
        """The numbers of a ``BBOX`` (4, or 6 with heights, which are dropped)."""
        if not isinstance(raw, list) or len(raw) not in (4, 6):
            raise invalid("BBOX takes 4 or 6 numbers", "basic-spatial-functions")
        if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in raw):
            raise invalid("BBOX takes numbers", "basic-spatial-functions")
        nums = [number_value(float(v)) for v in raw]
        if len(nums) == 6:  # heights are dropped: the data is 2D
            nums = [nums[0], nums[1], nums[3], nums[4]]
        a, b, c, d = nums
        x1, y1, x2, y2 = (a, b, c, d) if self.lonlat else (b, a, d, c)
        self.vertices += 4
        if y1 > y2:
            raise invalid(
                "BBOX: the lower corner comes first", "basic-spatial-functions"
            )
        crosses = False
        if x1 > x2:
            if not self.geographic:
                raise invalid(
                    "BBOX: the lower corner comes first", "basic-spatial-functions"
                )
            crosses = True  # across the antimeridian (OGC 21-065 7.6)
        # the corners and edge midpoints stand for the densified edges
        xs = [x1, x2, x2, x1, (x1 + x2) / 2, (x1 + x2) / 2, x1, x2]
        ys = [y1, y1, y2, y2, y1, y2, (y1 + y2) / 2, (y1 + y2) / 2]
        if crosses:
            xs, ys = [x1, 180.0, -180.0, x2], [y1, y2, y1, y2]
        max_lat = self._check_coordinates(np.column_stack([xs, ys]))
        # a projected box is densified before it is transformed, its vertices bounded
        segment = None
        if not self.geographic and self.srid != self.storage_srid:
            segment = segment_length(self.srid, (x1, y1, x2, y2))
        return CheckedBox(x1, y1, x2, y2, crosses, segment, max_lat)

    def _count_vertices(self, ast: Any) -> None:
        stack = [ast]
        while stack:
            node = stack.pop()
            if isinstance(node, dict):
                stack.extend(node.get("geometries") or [])
                coords = node.get("coordinates")
                if coords is not None:
                    stack.append(coords)
            elif isinstance(node, list):
                if node and not isinstance(node[0], list | dict):
                    self.vertices += 1  # a position
                else:
                    stack.extend(node)
            if self.vertices > MAX_VERTICES:
                raise over_limit(
                    f"literal geometries have at most {MAX_VERTICES:,} vertices in all",
                    "vertices",
                    MAX_VERTICES,
                )

    def _check_coordinates(self, xy: np.ndarray[Any, Any]) -> float:
        """Prove the literal's coordinates are usable; return its largest |latitude|.

        Coordinates must be finite, within the CRS's range (geographic CRSs) or its
        area of use (projected CRSs: ``gis.crs.area_of_use``), and must transform to
        the storage CRS with PROJ (as PostGIS will).
        """
        if not np.isfinite(xy).all():
            raise invalid("coordinates must be finite numbers", "spatial-functions")
        if self.geographic:
            self._check_lonlat(xy)
        else:  # the shared rule for projected input (gis.crs, as for bbox=)
            self._check_area(xy)
        target = self.storage_srid
        if self.srid != target:
            x, y = transformer(self.srid, target).transform(xy[:, 0], xy[:, 1])
            xy = np.column_stack([np.asarray(x), np.asarray(y)])
            if not np.isfinite(xy).all():
                raise invalid(
                    f"coordinates outside the area of EPSG:{self.srid}",
                    "spatial-functions",
                )
        if self.storage_geographic:
            self._check_lonlat(xy)
            return float(np.abs(xy[:, 1]).max())
        return 90.0

    def _check_area(self, xy: np.ndarray[Any, Any]) -> None:
        bounds = (*xy.min(axis=0).tolist(), *xy.max(axis=0).tolist())
        if not within_area(self.srid, (bounds[0], bounds[1], bounds[2], bounds[3])):
            area = area_of_use(self.srid)
            assert area is not None  # within_area is always True without one
            raise invalid(
                f"coordinates outside the area of use of EPSG:{self.srid} "
                f"(x {area[0]:.0f}..{area[2]:.0f}, y {area[1]:.0f}..{area[3]:.0f})",
                "spatial-functions",
            )

    def _check_lonlat(self, xy: np.ndarray[Any, Any]) -> None:
        if (np.abs(xy[:, 0]) > 180).any() or (np.abs(xy[:, 1]) > 90).any():
            order = "longitude, latitude" if self.lonlat else "latitude, longitude"
            raise invalid(
                f"coordinates out of range (axis order {order}: "
                "longitude -180..180, latitude -90..90)",
                "spatial-functions",
            )


def _check_collection(geom: shapely.Geometry) -> None:
    # GEOS fails on a collection whose polygons overlap ("side location conflict"):
    # a valid collection's polygons share at most their boundaries
    if not isinstance(geom, shapely.GeometryCollection) or isinstance(
        geom, shapely.MultiPolygon | shapely.MultiPoint | shapely.MultiLineString
    ):
        return
    polygons = [
        part
        for part in shapely.get_parts(geom, return_index=False)
        if isinstance(part, shapely.Polygon | shapely.MultiPolygon)
    ]
    for part in shapely.get_parts(geom):
        if isinstance(part, shapely.GeometryCollection) and not isinstance(
            part,
            shapely.MultiPolygon | shapely.MultiPoint | shapely.MultiLineString,
        ):
            raise invalid(
                "nested GeometryCollection literals are not supported",
                "spatial-functions",
            )
    if len(polygons) > 1:
        total = sum(p.area for p in polygons)
        union = shapely.union_all(polygons).area
        if total - union > 1e-9 * max(total, 1e-300):
            raise invalid(
                "the polygons of a GeometryCollection literal overlap",
                "spatial-functions",
            )
