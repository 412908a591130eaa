"""Import (and, later, export) of vector files: batch work, never a request's read path.

:func:`import_file` reads a GeoPackage, GeoJSON, Shapefile (plain or zipped) or CSV
with geopandas/pyogrio, checks CRS, axis order and geometry types, and loads the rows
into a layer's table with COPY and one INSERT … SELECT, in one transaction.
"""

from gis.io.importer import import_file
from gis.io.report import ImportReport, RejectedRow

__all__ = ["ImportReport", "RejectedRow", "import_file"]
