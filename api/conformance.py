"""The conformance classes dothi declares: only those whose tests pass."""

from gis.cql2 import CONFORMANCE_CLASSES as CQL2_CLASSES

OGC = "http://www.opengis.net/spec"
# arithmetic is implemented, but ``^`` takes only an integer literal exponent 0-64
# (no PostgreSQL errors on fractional powers of negatives): not claimed
CQL2 = tuple(c for c in CQL2_CLASSES if not c.endswith("/arithmetic"))
CONFORMANCE: tuple[str, ...] = (
    f"{OGC}/ogcapi-common-1/1.0/conf/core",
    f"{OGC}/ogcapi-common-1/1.0/conf/landing-page",
    f"{OGC}/ogcapi-common-1/1.0/conf/json",
    f"{OGC}/ogcapi-common-1/1.0/conf/html",
    f"{OGC}/ogcapi-common-1/1.0/conf/oas30",
    f"{OGC}/ogcapi-common-2/1.0/conf/collections",
    f"{OGC}/ogcapi-features-1/1.0/conf/core",
    f"{OGC}/ogcapi-features-1/1.0/conf/oas30",
    f"{OGC}/ogcapi-features-1/1.0/conf/html",
    f"{OGC}/ogcapi-features-1/1.0/conf/geojson",
    f"{OGC}/ogcapi-features-2/1.0/conf/crs",
    # Part 4 (draft 1.0): create, replace, delete and update of single features
    f"{OGC}/ogcapi-features-4/1.0/conf/create-replace-delete",
    f"{OGC}/ogcapi-features-4/1.0/conf/update",
    f"{OGC}/ogcapi-features-4/1.0/conf/features",
    f"{OGC}/ogcapi-features-3/1.0/conf/queryables",
    f"{OGC}/ogcapi-features-3/1.0/conf/queryables-query-parameters",
    f"{OGC}/ogcapi-features-3/1.0/conf/filter",
    f"{OGC}/ogcapi-features-3/1.0/conf/features-filter",
    *CQL2,
    f"{OGC}/ogcapi-tiles-1/1.0/conf/core",
    f"{OGC}/ogcapi-tiles-1/1.0/conf/tileset",
    f"{OGC}/ogcapi-tiles-1/1.0/conf/tilesets-list",
    f"{OGC}/ogcapi-tiles-1/1.0/conf/geodata-tilesets",
    f"{OGC}/ogcapi-tiles-1/1.0/conf/dataset-tilesets",
    f"{OGC}/ogcapi-tiles-1/1.0/conf/mvt",
    f"{OGC}/tms/2.0/conf/tilematrixset",
    f"{OGC}/tms/2.0/conf/json-tilematrixset",
    f"{OGC}/tms/2.0/conf/tilesetmetadata",
    f"{OGC}/ogcapi-styles-1/1.0/conf/core",
    f"{OGC}/ogcapi-styles-1/1.0/conf/mapbox-styles",
)
