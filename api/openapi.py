"""The OpenAPI 3.0 document, built from the catalogue for one principal.

FastAPI's generator writes OpenAPI 3.1 and knows nothing of per-collection
parameters, so the document is ours: every collection's paths with its queryables,
sortables and properties as parameters (each route kind's parameters come from its
set in ``api.params``, the registry parsing and the unknown-parameter 400s use too),
the bodies its writes accept (the layer's
columns: types, bounds, required values, geometry type, so that a fuzzer makes
features the server takes), every answer a route can give, and only the collections
and operations the principal may use.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Column

from api.negotiation import FEATURE_BODY_MEDIA, MEDIA, PATCH_BODY_MEDIA
from api.params import (
    DOCUMENT,
    DOSSIERS_DUE_SOON,
    DOSSIERS_OVERDUE,
    DOSSIERS_WEEKLY,
    DRAWN_PLANNING,
    EDITS,
    FEATURE,
    ITEMS,
    LOOKUP,
    PLANNING,
    VERSION,
    VERSIONS,
    DocContext,
    components,
    openapi_param,
)
from api.routers import land_office, parcel_changes
from gis.columns import column_kind, int_bits
from gis.crs import crs_uris
from gis.edits import MAX_TEXT_CHARS, VIETNAM_LONLAT, writable_columns
from gis.idempotency import MAX_KEY_CHARS
from gis.layer import VectorLayer, layer_family
from gis.principal import Principal
from gis.schema import type_schema
from gis.settings import LimitSettings
from gis.sql.history import has_history
from gis.sql.parcel_changes import MAX_CHILDREN, MAX_DECISION_CHARS, MAX_PARENTS
from layers import CATALOGUE

PROBLEM = {"$ref": "#/components/responses/Problem"}
SCHEMAS = "#/components/schemas/"
HTML = {MEDIA["html"]: {"schema": {"type": "string"}}}
# any route: a bad or unknown parameter, credentials sent that are not valid, the
# anonymous rate limit, a database that is busy, slow or away
REFUSED = {"400": PROBLEM, "401": PROBLEM, "429": PROBLEM, "503": PROBLEM}
# a read also negotiates its format (f= or Accept)
READ_REFUSED = {**REFUSED, "406": PROBLEM}
NOT_MODIFIED = {"description": "Not modified: If-None-Match names the current ETag"}
FEATURE_ID = {
    "name": "featureId",
    "in": "path",
    "required": True,
    "description": "Feature id (a positive 64-bit integer; anything else is a 404)",
    "schema": {"type": "integer", "minimum": 1, "maximum": 2**63 - 1},
}


def _ok(description: str, content: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "content": content}


def _collection_paths(
    layer: VectorLayer, principal: Principal, ctx: DocContext
) -> dict[str, Any]:
    cid = layer.id
    # the parameters as this caller may use them on this collection (api.params)
    seen = ctx.of(layer, layer.visible_fields(principal))
    fref = DOCUMENT.openapi(seen)
    page = {"schema": {"$ref": SCHEMAS + "FeatureCollection"}}
    items = {MEDIA["geojson"]: page, MEDIA["jsonfg"]: page}
    feature = {MEDIA["geojson"]: {"schema": {"$ref": SCHEMAS + "Feature"}}}
    paths: dict[str, Any] = {
        f"/collections/{cid}": {
            "get": {
                "operationId": f"getCollection_{cid}",
                "tags": [cid],
                "summary": f"{layer.title.en} — metadata",
                "parameters": fref,
                "responses": {
                    "200": _ok("The collection", {**JSON_OBJECT, **HTML}),
                    **READ_REFUSED,
                    "404": PROBLEM,
                },
            }
        },
        f"/collections/{cid}/items": {
            "get": {
                "operationId": f"getItems_{cid}",
                "tags": [cid],
                "summary": f"{layer.title.en} — features",
                "parameters": ITEMS.openapi(seen),
                "responses": {
                    "200": _ok(
                        "A page of features",
                        {**items, **HTML, MEDIA["csv"]: {"schema": {"type": "string"}}},
                    ),
                    "304": NOT_MODIFIED,
                    **READ_REFUSED,
                    "404": PROBLEM,
                },
            }
        },
        f"/collections/{cid}/items/{{featureId}}": {
            "get": {
                "operationId": f"getFeature_{cid}",
                "tags": [cid],
                "summary": f"{layer.title.en} — one feature",
                "parameters": [FEATURE_ID, *FEATURE.openapi(seen)],
                "responses": {
                    "200": _ok("The feature", {**feature, **HTML}),
                    "304": NOT_MODIFIED,
                    **READ_REFUSED,
                    "404": PROBLEM,
                },
            }
        },
    }
    for part, op, what in SCHEMA_ROUTES:
        paths[f"/collections/{cid}/{part}"] = {
            "get": {
                "operationId": f"{op}_{cid}",
                "tags": [cid],
                "summary": f"{layer.title.en} — {what}",
                "parameters": fref,
                "responses": {
                    "200": _ok(f"JSON Schema of {what}", {**SCHEMA_JSON, **HTML}),
                    **READ_REFUSED,
                    "404": PROBLEM,
                },
            }
        }
    if has_history(layer.table):
        _add_versions(paths, layer, seen, feature)
    _add_writes(paths, layer, principal)
    return paths


def _add_versions(
    paths: dict[str, Any],
    layer: VectorLayer,
    seen: DocContext,
    feature: dict[str, Any],
) -> None:
    """A feature's versions and one version (``api.routers.versions``)."""
    cid = layer.id
    version_no = {
        "name": "version",
        "in": "path",
        "required": True,
        "description": "Version number, 1 for the first (anything else is a 404)",
        "schema": {"type": "integer", "minimum": 1},
    }
    base = f"/collections/{cid}/items/{{featureId}}/versions"
    paths[base] = {
        "get": {
            "operationId": f"getFeatureVersions_{cid}",
            "tags": [cid],
            "summary": f"{layer.title.en} — the versions of a feature",
            "parameters": [FEATURE_ID, *VERSIONS.openapi(seen)],
            "responses": {
                "200": _ok("Its versions, oldest first", {**JSON_OBJECT, **HTML}),
                "304": NOT_MODIFIED,
                **READ_REFUSED,
                "404": PROBLEM,
            },
        }
    }
    paths[f"{base}/{{version}}"] = {
        "get": {
            "operationId": f"getFeatureVersion_{cid}",
            "tags": [cid],
            "summary": f"{layer.title.en} — a feature as it was in one version",
            "parameters": [FEATURE_ID, version_no, *VERSION.openapi(seen)],
            "responses": {
                "200": _ok("The feature in that version", {**feature, **HTML}),
                "304": NOT_MODIFIED,
                **READ_REFUSED,
                "404": PROBLEM,
            },
        }
    }


JSON_OBJECT = {MEDIA["json"]: {"schema": {"type": "object"}}}
SCHEMA_JSON = {MEDIA["schema"]: {"schema": {"type": "object"}}}
SCHEMA_ROUTES = (
    ("queryables", "getQueryables", "the properties filters may use"),
    ("sortables", "getSortables", "the properties sortby may use"),
    ("schema", "getSchema", "the properties of its features"),
)


def _value_schema(column: Column[Any]) -> dict[str, Any]:
    """What ``gis.edits.check_value`` takes for ``column``: its JSON type (the same
    mapping as /schema), its range, and null where the column allows it; the type
    read as ``gis.columns`` reads it for every path."""
    out = type_schema(column.type)
    typed = column_kind(column.type)
    kind, mag = typed if typed is not None else (None, None)
    if kind == "int":
        bits = int_bits(column.type)
        out |= {"minimum": -(2 ** (bits - 1)), "maximum": 2 ** (bits - 1) - 1}
    elif kind == "num" and mag is not None and getattr(column.type, "precision", None):
        limit = 10 ** int(mag.hi)  # digits before the point
        out |= {"minimum": -limit, "maximum": limit}
        out |= {"exclusiveMinimum": True, "exclusiveMaximum": True}
    elif kind == "text":
        out |= {"maxLength": MAX_TEXT_CHARS, "pattern": "^[^\\x00]*$"}  # no NUL
    if column.nullable:
        out["nullable"] = True
    return out


def _geometry_schema(layer: VectorLayer) -> dict[str, Any]:
    """The GeoJSON geometries ``gis.edits`` takes for the layer: its type, or the
    single type of its multi type, in two dimensions."""
    if layer.geometry_type is None:
        return {"type": "object", "nullable": True, "enum": [None]}
    x1, y1, x2, y2 = VIETNAM_LONLAT
    position = {
        "type": "array",
        "minItems": 2,
        "maxItems": 2,
        "items": {"type": "number"},
        "description": "x, y in Content-Crs (default CRS84: longitude, latitude); "
        f"inside Vietnam ({x1:g}-{x2:g}° E, {y1:g}-{y2:g}° N)",
    }
    line = {"type": "array", "minItems": 2, "items": position}
    ring = {"type": "array", "minItems": 4, "items": position}
    polygon = {"type": "array", "minItems": 1, "items": ring}
    family, multi = layer_family(layer.geometry_type)
    single = {
        "point": ("Point", position),
        "line": ("LineString", line),
        "polygon": ("Polygon", polygon),
    }[family]
    options = [single]
    if multi:
        multiple = {"type": "array", "minItems": 1, "items": single[1]}
        options.append((f"Multi{single[0]}", multiple))
    shapes = [
        {
            "type": "object",
            "required": ["type", "coordinates"],
            "properties": {
                "type": {"type": "string", "enum": [name]},
                "coordinates": coordinates,
            },
        }
        for name, coordinates in options
    ]
    return shapes[0] if len(shapes) == 1 else {"oneOf": shapes}


def _feature_schema(
    layer: VectorLayer, principal: Principal, grant: frozenset[str], *, patch: bool
) -> dict[str, Any]:
    """A GeoJSON Feature of the layer as ``principal`` may write it, or for ``patch``
    a JSON merge patch of one (RFC 7396: what it names changes, null clears)."""
    writable = set(writable_columns(layer))
    props: dict[str, Any] = {}
    required = []
    for f in layer.fields:
        if f.name not in writable or not (
            f.set_by is None or principal.has_any(f.set_by)
        ):
            continue  # read-only, or set by other roles only (403)
        column = layer.table.c[f.name]
        props[f.name] = {"title": f.title.en, **_value_schema(column)}
        if not (patch or column.nullable or column.server_default is not None):
            required.append(f.name)
    wards = layer.access.scope(principal, grant)
    if wards and "ward_code" in props:  # a ward's officer writes in its wards only
        props["ward_code"] = {
            "title": "Ward code",
            "type": "string",
            "enum": sorted(wards),
        }
    properties: dict[str, Any] = {
        "type": "object",
        "properties": props,
        "additionalProperties": False,
    }
    if required:
        properties["required"] = required
    schema: dict[str, Any] = {
        "type": "object",
        "properties": {
            "type": {"type": "string", "enum": ["Feature"]},
            "geometry": _geometry_schema(layer),
            "properties": properties,
        },
    }
    if not patch:
        schema["required"] = ["type", "geometry", "properties"]
    return schema


IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": "Makes a retried create return the first answer (and create "
    f"nothing); kept {LimitSettings().idempotency_ttl_s // 3600} h by default",
    "schema": {
        "type": "string",
        "minLength": 1,
        "maxLength": MAX_KEY_CHARS,
        "pattern": "^[ -~]+$",
    },
}


IF_MATCH = {
    "name": "If-Match",
    "in": "header",
    "required": False,
    "description": "Apply the change only to the version of the feature this ETag "
    "(from its GET, or from the 204 of the last change) names, else 412 and nothing "
    "changes; * only asks that the feature exists",
    "schema": {"type": "string"},
}
ETAG_HEADER = {
    "ETag": {
        "description": "The feature's new ETag, as its GET answers it",
        "schema": {"type": "string"},
    }
}


def _add_writes(
    paths: dict[str, Any], layer: VectorLayer, principal: Principal
) -> None:
    """Part 4 operations, only where the principal's roles may use them."""
    cid = layer.id
    access = layer.access

    def body(grant: frozenset[str], media: tuple[str, ...], *, patch: bool) -> Any:
        schema = _feature_schema(layer, principal, grant, patch=patch)
        return {"required": True, "content": {m: {"schema": schema} for m in media}}

    content_crs = openapi_param(
        "Content-Crs",
        "CRS of the body's geometry (default CRS84)",
        {"type": "string", "enum": crs_uris(layer.crs_srids)},
        where="header",
    )
    refused = {**REFUSED, "403": PROBLEM, "404": PROBLEM, "409": PROBLEM}
    refused |= {"413": PROBLEM, "415": PROBLEM}
    fid = FEATURE_ID
    feature_body = body(access.creators, FEATURE_BODY_MEDIA, patch=False)
    # If-Match naming no current version of the feature
    done = {
        "204": {"description": "Done", "headers": ETAG_HEADER},
        **refused,
        "412": PROBLEM,
    }
    if layer.access.can_create(principal):
        paths[f"/collections/{cid}/items"]["post"] = {
            "operationId": f"createFeature_{cid}",
            "tags": [cid],
            "summary": f"{layer.title.en} — add a feature",
            "parameters": [content_crs, IDEMPOTENCY_KEY],
            "requestBody": feature_body,
            "responses": {
                "201": {
                    "description": "Created; Location names the new feature",
                    "headers": {
                        "Location": {"required": True, "schema": {"type": "string"}}
                    },
                },
                **refused,
                "422": PROBLEM,  # an Idempotency-Key used with another request
            },
        }
    if layer.access.can_write(principal):
        item = paths[f"/collections/{cid}/items/{{featureId}}"]
        for method, op, summary, request_body in (
            ("put", "replaceFeature", "replace a feature",
             body(access.write, FEATURE_BODY_MEDIA, patch=False)),
            ("patch", "updateFeature", "update a feature",
             body(access.write, PATCH_BODY_MEDIA, patch=True)),
        ):  # fmt: skip
            item[method] = {
                "operationId": f"{op}_{cid}",
                "tags": [cid],
                "summary": f"{layer.title.en} — {summary}",
                "parameters": [fid, content_crs, IF_MATCH],
                "requestBody": request_body,
                "responses": done,
            }
        item["delete"] = {
            "operationId": f"deleteFeature_{cid}",
            "tags": [cid],
            "summary": f"{layer.title.en} — delete a feature",
            "parameters": [fid, IF_MATCH],
            "responses": {
                "204": {"description": "Done"},
                **REFUSED,
                "403": PROBLEM,
                "404": PROBLEM,
                "409": PROBLEM,
                "412": PROBLEM,
            },
        }


def _planning_paths(principal: Principal, ctx: DocContext) -> dict[str, Any]:
    """A parcel's planning information (``api.routers.planning``) where the caller
    may read parcels and zones; a drawn polygon's for a signed-in caller only."""
    parcels, zones = CATALOGUE["land_parcels"], CATALOGUE["planning_zones"]
    if not (parcels.access.can_read(principal) and zones.access.can_read(principal)):
        return {}
    answer = _ok("The planning zones over it, their areas and shares", JSON_OBJECT)
    paths: dict[str, Any] = {
        "/collections/land_parcels/items/{featureId}/planning": {
            "get": {
                "operationId": "getParcelPlanning",
                "tags": [parcels.id],
                "summary": "The planning zones over a parcel",
                "parameters": [FEATURE_ID, *PLANNING.openapi(ctx)],
                "responses": {
                    "200": {**answer, "content": {**JSON_OBJECT, **HTML}},
                    "304": NOT_MODIFIED,
                    **READ_REFUSED,
                    "404": PROBLEM,
                },
            }
        }
    }
    if principal.auth != "anonymous":
        content_crs = openapi_param(
            "Content-Crs",
            "CRS of the polygon (default CRS84)",
            {"type": "string", "enum": crs_uris(parcels.crs_srids)},
            where="header",
        )
        schema = _geometry_schema(parcels)
        paths["/planning"] = {
            "post": {
                "operationId": "postPlanning",
                "tags": [zones.id],
                "summary": "The planning zones over a drawn polygon",
                "parameters": [content_crs, *DRAWN_PLANNING.openapi(ctx)],
                "requestBody": {
                    "required": True,
                    "content": {m: {"schema": schema} for m in FEATURE_BODY_MEDIA},
                },
                "responses": {
                    "200": answer,
                    **REFUSED,
                    "404": PROBLEM,
                    "413": PROBLEM,
                    "415": PROBLEM,
                },
            }
        }
    return paths


def _lookup_paths(principal: Principal, ctx: DocContext) -> dict[str, Any]:
    """The parcel look-up (``api.routers.parcel_lookup``) where the caller may read
    parcels and administrative units."""
    parcels, units = CATALOGUE["land_parcels"], CATALOGUE["admin_units"]
    if not (parcels.access.can_read(principal) and units.access.can_read(principal)):
        return {}
    answer = _ok(
        "The parcels it may name, and whether they are several",
        {**JSON_OBJECT, **HTML},
    )
    return {
        "/collections/land_parcels/lookup": {
            "get": {
                "operationId": "lookupParcel",
                "tags": [parcels.id],
                "summary": "Find a parcel by ward, map sheet and number, or national id",
                "parameters": LOOKUP.openapi(ctx),
                "responses": {"200": answer, "304": NOT_MODIFIED, **READ_REFUSED},
            }
        }
    }


def _parcel_change_paths(principal: Principal, ctx: DocContext) -> dict[str, Any]:
    """Split and merge of parcels for their writers, and any parcel's lineage for
    whoever reads parcels (``api.routers.parcel_changes``)."""
    parcels = CATALOGUE["land_parcels"]
    if not parcels.access.can_read(principal):
        return {}
    paths: dict[str, Any] = {
        "/collections/land_parcels/items/{featureId}/lineage": {
            "get": {
                "operationId": "getParcelLineage",
                "tags": [parcels.id],
                "summary": "The parcels a parcel was made from, and those made from it",
                "parameters": [FEATURE_ID, *parcel_changes.LINEAGE.openapi(ctx)],
                "responses": {
                    "200": _ok(
                        "Its ancestors and descendants", {**JSON_OBJECT, **HTML}
                    ),
                    "304": NOT_MODIFIED,
                    **READ_REFUSED,
                    "404": PROBLEM,
                },
            }
        }
    }
    access = parcels.access
    if not (access.can_write(principal) and access.can_create(principal)):
        return paths
    decision = {
        "type": "object",
        "required": ["number", "date"],
        "additionalProperties": False,
        "properties": {
            "number": {
                "type": "string",
                "minLength": 1,
                "maxLength": MAX_DECISION_CHARS,
            },
            "date": {"type": "string", "format": "date"},
        },
    }
    properties = {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            name: _value_schema(parcels.table.c[name])
            for name in ("land_use", "area_legal_m2")
        },
    }
    geometry = _geometry_schema(parcels)
    child = {
        "oneOf": [
            geometry,
            {
                "type": "object",
                "required": ["type", "geometry"],
                "properties": {
                    "type": {"type": "string", "enum": ["Feature"]},
                    "geometry": geometry,
                    "properties": properties,
                },
            },
        ]
    }
    parcel_id = {"type": "integer", "minimum": 1}
    bodies = {
        "split": {
            "type": "object",
            "required": ["parcel", "decision", "children"],
            "additionalProperties": False,
            "properties": {
                "parcel": parcel_id,
                "decision": decision,
                "children": {
                    "type": "array",
                    "minItems": 2,
                    "maxItems": MAX_CHILDREN,
                    "items": child,
                },
            },
        },
        "merge": {
            "type": "object",
            "required": ["parcels", "decision"],
            "additionalProperties": False,
            "properties": {
                "parcels": {
                    "type": "array",
                    "minItems": 2,
                    "maxItems": MAX_PARENTS,
                    "uniqueItems": True,
                    "items": parcel_id,
                },
                "decision": decision,
                "properties": properties,
            },
        },
    }
    content_crs = openapi_param(
        "Content-Crs",
        "CRS of the children's geometries (default CRS84)",
        {"type": "string", "enum": crs_uris(parcels.crs_srids)},
        where="header",
    )
    refused = {**REFUSED, "403": PROBLEM, "404": PROBLEM, "409": PROBLEM}
    refused |= {"413": PROBLEM, "415": PROBLEM}
    geojson = {MEDIA["geojson"]: {"schema": {"type": "object"}}}
    for kind, op, summary, made in (
        ("split", "splitParcel", "Split a parcel into new parcels",
         "The children; Location names the parent's lineage"),
        ("merge", "mergeParcels", "Merge parcels into a new parcel",
         "The merged parcel; Location names it"),
    ):  # fmt: skip
        paths[f"/collections/land_parcels/{kind}"] = {
            "post": {
                "operationId": op,
                "tags": [parcels.id],
                "summary": summary,
                "parameters": [
                    *([content_crs] if kind == "split" else []),
                    *EDITS.openapi(ctx),
                ],
                "requestBody": {
                    "required": True,
                    "content": {
                        m: {"schema": bodies[kind]} for m in FEATURE_BODY_MEDIA
                    },
                },
                "responses": {
                    "201": {
                        "description": made,
                        "headers": {
                            "Location": {
                                "required": True,
                                "schema": {"type": "string"},
                            }
                        },
                        "content": geojson,
                    },
                    **refused,
                },
            }
        }
    return paths


def _dossier_paths(principal: Principal, ctx: DocContext) -> dict[str, Any]:
    """The land dossier reports (``api.routers.land_dossiers``) for whoever may read
    the dossiers (a ward's officers: their wards)."""
    dossiers = CATALOGUE["land_dossiers"]
    if not dossiers.access.can_read(principal):
        return {}
    paths: dict[str, Any] = {}
    for path, op, summary, params in (
        ("weekly", "getLandDossiersWeekly",
         "Land dossiers per ward and week: received, done, on time, late",
         DOSSIERS_WEEKLY),
        ("overdue", "getLandDossiersOverdue",
         "Open land dossiers past their due date", DOSSIERS_OVERDUE),
        ("due-soon", "getLandDossiersDueSoon",
         "Open land dossiers due within some working days", DOSSIERS_DUE_SOON),
    ):  # fmt: skip
        paths[f"/land/dossiers/{path}"] = {
            "get": {
                "operationId": op,
                "tags": [dossiers.id],
                "summary": summary,
                "parameters": params.openapi(ctx),
                "responses": {
                    "200": _ok(summary, {**JSON_OBJECT, **HTML}),
                    **READ_REFUSED,
                    "403": PROBLEM,  # another ward than the officer's
                    "404": PROBLEM,
                },
            }
        }
    return paths


def _service_paths(ctx: DocContext) -> dict[str, Any]:
    fref = DOCUMENT.openapi(ctx)
    openapi = {MEDIA["openapi"]: {"schema": {"type": "object"}}}
    paths: dict[str, Any] = {}
    for path, op, summary, content in (
        ("/", "getLandingPage", "Landing page", JSON_OBJECT),
        ("/conformance", "getConformance", "Conformance classes", JSON_OBJECT),
        ("/api", "getApi", "This document", openapi),
        ("/collections", "getCollections", "Collections", JSON_OBJECT),
    ):
        paths[path] = {
            "get": {
                "operationId": op,
                "summary": summary,
                "parameters": fref,
                "responses": {"200": _ok("OK", {**content, **HTML}), **READ_REFUSED},
            }
        }
    return paths


def _coordinates_paths(principal: Principal, ctx: DocContext) -> dict[str, Any]:
    """A parcel's VN-2000 coordinate table (``api.routers.land_office``)."""
    parcels = CATALOGUE["land_parcels"]
    if not parcels.access.can_read(principal):
        return {}
    answer = _ok(
        "Its vertices in its VN-2000 TM-3 zone, edges", {**JSON_OBJECT, **HTML}
    )
    return {
        "/collections/land_parcels/items/{featureId}/coordinates": {
            "get": {
                "operationId": "getParcelCoordinates",
                "tags": [parcels.id],
                "summary": "The VN-2000 coordinate table of a parcel",
                "parameters": [FEATURE_ID, *land_office.COORDINATES.openapi(ctx)],
                "responses": {"200": answer, **READ_REFUSED, "404": PROBLEM},
            }
        }
    }


def build_openapi(
    server: str, principal: Principal, lang: str, limits: LimitSettings
) -> dict[str, Any]:
    """The document for ``principal``: hidden collections are absent from it."""
    del lang
    ctx = DocContext(limits)
    paths = _service_paths(ctx)
    for layer in CATALOGUE.values():
        if layer.access.can_read(principal):
            paths.update(_collection_paths(layer, principal, ctx))
    paths.update(_planning_paths(principal, ctx))
    paths.update(_coordinates_paths(principal, ctx))
    paths.update(_lookup_paths(principal, ctx))
    paths.update(_dossier_paths(principal, ctx))
    paths.update(_parcel_change_paths(principal, ctx))
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "dothi",
            "version": "0.1.0",
            "description": "OGC API of the city (đô thị).",
            "license": {"name": "Apache-2.0"},
        },
        "servers": [{"url": server}],
        # anonymous, or one of these credentials (sent and not valid: 401)
        "security": [{}, {"apiKey": []}, {"bearer": []}, {"basic": []}],
        "paths": paths,
        "components": {
            "parameters": components(ctx),
            "schemas": _response_schemas(),
            "responses": {
                "Problem": {
                    "description": "An RFC 9457 problem with an OGC code",
                    "content": {
                        MEDIA["problem"]: {"schema": {"$ref": SCHEMAS + "Problem"}}
                    },
                }
            },
            "securitySchemes": {
                "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
                "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
                "basic": {"type": "http", "scheme": "basic"},
            },
        },
    }


def _response_schemas() -> dict[str, Any]:
    link = {
        "type": "object",
        "required": ["href", "rel"],
        "properties": {
            "href": {"type": "string"},
            "rel": {"type": "string"},
            "type": {"type": "string"},
            "title": {"type": "string"},
        },
    }
    links = {"type": "array", "items": {"$ref": SCHEMAS + "Link"}}
    return {
        "Link": link,
        "Feature": {
            "type": "object",
            "required": ["type"],
            "properties": {
                "type": {"type": "string", "enum": ["Feature"]},
                "geometry": {"type": "object", "nullable": True},
                "properties": {"type": "object", "nullable": True},
                "links": links,
            },
        },
        "FeatureCollection": {
            "type": "object",
            "required": ["type", "features", "numberReturned", "links"],
            "properties": {
                "type": {"type": "string", "enum": ["FeatureCollection"]},
                "features": {"type": "array", "items": {"$ref": SCHEMAS + "Feature"}},
                "numberReturned": {"type": "integer", "minimum": 0},
                "numberMatched": {"type": "integer", "minimum": 0},
                "timeStamp": {"type": "string", "format": "date-time"},
                "links": links,
            },
        },
        "Problem": {
            "type": "object",
            "required": ["type", "title", "status", "code"],
            "properties": {
                "type": {"type": "string"},
                "title": {"type": "string"},
                "status": {"type": "integer"},
                "detail": {"type": "string"},
                "instance": {"type": "string"},
                "code": {"type": "string"},
                "request_id": {"type": "string"},
            },
        },
    }
