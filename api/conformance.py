"""The conformance classes dothi declares: only those whose tests pass."""

OGC = "http://www.opengis.net/spec"
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
)
