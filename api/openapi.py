"""The OpenAPI 3.0 document, built from the catalogue for one principal.

FastAPI's generator writes OpenAPI 3.1 and knows nothing of per-collection
parameters, so the document is ours: every collection's paths, with its queryables
as parameters, and only the collections the principal may see.
"""

from __future__ import annotations

from typing import Any

from gis.crs import crs_uris
from gis.layer import Principal, VectorLayer
from gis.settings import LimitSettings
from layers import CATALOGUE

PROBLEM = {"$ref": "#/components/responses/Problem"}


def _param(
    name: str,
    description: str,
    schema: dict[str, Any],
    *,
    style: str | None = None,
    explode: bool | None = None,
) -> dict[str, Any]:
    p: dict[str, Any] = {
        "name": name,
        "in": "query",
        "required": False,
        "description": description,
        "schema": schema,
    }
    if style:
        p["style"] = style
    if explode is not None:
        p["explode"] = explode
    return p


def _common_params(limits: LimitSettings) -> dict[str, Any]:
    return {
        "f": _param("f", "Output format", {"type": "string", "enum": ["json", "html"]}),
        "lang": _param(
            "lang",
            "Language of titles and messages",
            {"type": "string", "enum": ["vi", "en"]},
        ),
        "limit": _param(
            "limit",
            f"Features per page (default {limits.default_limit}, "
            f"maximum {limits.max_limit})",
            {
                "type": "integer",
                "minimum": 1,
                "maximum": limits.max_limit,
                "default": limits.default_limit,
            },
            style="form",
            explode=False,
        ),
        "bbox": _param(
            "bbox",
            "Only features intersecting this box (minx,miny,maxx,maxy in "
            "bbox-crs axis order)",
            {
                "type": "array",
                "minItems": 4,
                "maxItems": 6,
                "items": {"type": "number"},
            },
            style="form",
            explode=False,
        ),
        "datetime": _param(
            "datetime",
            "Instant or interval (RFC 3339, '..' for an open end) on the "
            "collection's datetimeProperty",
            {"type": "string"},
            style="form",
            explode=False,
        ),
        "properties": _param(
            "properties",
            "Properties to return",
            {"type": "array", "items": {"type": "string"}},
            style="form",
            explode=False,
        ),
        "skipGeometry": _param(
            "skipGeometry", "Omit geometries", {"type": "boolean", "default": False}
        ),
        "sortby": _param(
            "sortby",
            "Sort keys: +name or -name, comma separated",
            {"type": "array", "items": {"type": "string"}},
            style="form",
            explode=False,
        ),
        "cursor": _param(
            "cursor", "Paging token from a next/prev link", {"type": "string"}
        ),
        "filter": _param(
            "filter",
            "CQL2 filter (see filter-lang); limits: 8 KB text, 64 KB JSON, depth 20, "
            "200 nodes, IN lists of 1,000, 10,000 literal vertices, DWITHIN 100 km",
            {"type": "string"},
        ),
        "filter-lang": _param(
            "filter-lang",
            "Language of filter",
            {
                "type": "string",
                "enum": ["cql2-text", "cql2-json"],
                "default": "cql2-text",
            },
        ),
    }


def _collection_paths(layer: VectorLayer, principal: Principal) -> dict[str, Any]:
    cid = layer.id
    crs = crs_uris(layer.crs_srids)
    fields = layer.visible_fields(principal)
    queryables = [
        _param(f.name, f"{f.title.en} equals this value", {"type": "string"})
        for f in fields
        if f.queryable
    ]
    crs_param = _param(
        "crs", "Output CRS", {"type": "string", "format": "uri", "enum": crs}
    )
    bbox_crs = _param(
        "bbox-crs", "CRS of bbox", {"type": "string", "format": "uri", "enum": crs}
    )
    ref = "#/components/parameters/"
    items_params = [
        {"$ref": ref + n}
        for n in (
            "f",
            "lang",
            "limit",
            "bbox",
            "datetime",
            "properties",
            "skipGeometry",
            "sortby",
            "cursor",
            "filter",
            "filter-lang",
        )
    ]
    filter_crs = _param(
        "filter-crs",
        "CRS of geometries in filter",
        {"type": "string", "format": "uri", "enum": crs},
    )
    geojson = {
        "application/geo+json": {"schema": {"type": "object"}},
        "text/html": {"schema": {"type": "string"}},
    }
    paths = {
        f"/collections/{cid}": {
            "get": {
                "operationId": f"getCollection_{cid}",
                "tags": [cid],
                "summary": f"{layer.title.en} — metadata",
                "parameters": [{"$ref": ref + "f"}, {"$ref": ref + "lang"}],
                "responses": {
                    "200": {
                        "description": "The collection",
                        "content": {"application/json": {"schema": {"type": "object"}}},
                    },
                    "400": PROBLEM,
                    "404": PROBLEM,
                },
            }
        },
        f"/collections/{cid}/items": {
            "get": {
                "operationId": f"getItems_{cid}",
                "tags": [cid],
                "summary": f"{layer.title.en} — features",
                "parameters": [
                    *items_params,
                    crs_param,
                    bbox_crs,
                    filter_crs,
                    *queryables,
                ],
                "responses": {
                    "200": {"description": "A page of features", "content": geojson},
                    "400": PROBLEM,
                    "404": PROBLEM,
                    "406": PROBLEM,
                    "503": PROBLEM,
                },
            }
        },
        f"/collections/{cid}/items/{{featureId}}": {
            "get": {
                "operationId": f"getFeature_{cid}",
                "tags": [cid],
                "summary": f"{layer.title.en} — one feature",
                "parameters": [
                    {
                        "name": "featureId",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "string"},
                        "description": "Feature id",
                    },
                    {"$ref": ref + "f"},
                    {"$ref": ref + "lang"},
                    crs_param,
                ],
                "responses": {
                    "200": {"description": "The feature", "content": geojson},
                    "400": PROBLEM,
                    "404": PROBLEM,
                    "406": PROBLEM,
                },
            }
        },
    }
    _add_writes(paths, layer, principal)
    return paths


def _add_writes(
    paths: dict[str, Any], layer: VectorLayer, principal: Principal
) -> None:
    """Part 4 operations, only where the principal's roles may use them."""
    cid = layer.id
    feature_body: dict[str, Any] = {
        "required": True,
        "content": {
            "application/geo+json": {"schema": {"type": "object"}},
            "application/json": {"schema": {"type": "object"}},
        },
    }
    content_crs = _param(
        "Content-Crs",
        "CRS of the body's geometry (default CRS84)",
        {"type": "string", "enum": crs_uris(layer.crs_srids)},
    )
    content_crs["in"] = "header"
    refused = {"400": PROBLEM, "401": PROBLEM, "403": PROBLEM, "404": PROBLEM}
    refused |= {"409": PROBLEM, "413": PROBLEM, "415": PROBLEM}
    fid = {
        "name": "featureId",
        "in": "path",
        "required": True,
        "schema": {"type": "string"},
        "description": "Feature id",
    }
    done = {"204": {"description": "Done"}, **refused}
    if layer.access.can_create(principal):
        paths[f"/collections/{cid}/items"]["post"] = {
            "operationId": f"createFeature_{cid}",
            "tags": [cid],
            "summary": f"{layer.title.en} — add a feature",
            "parameters": [content_crs],
            "requestBody": feature_body,
            "responses": {
                "201": {"description": "Created; Location names the new feature"},
                **refused,
            },
        }
    if layer.access.can_write(principal):
        item = paths[f"/collections/{cid}/items/{{featureId}}"]
        patch_body = {
            "required": True,
            "content": {
                "application/merge-patch+json": {"schema": {"type": "object"}},
                **feature_body["content"],
            },
        }
        for method, op, summary, body in (
            ("put", "replaceFeature", "replace a feature", feature_body),
            ("patch", "updateFeature", "update a feature", patch_body),
        ):
            item[method] = {
                "operationId": f"{op}_{cid}",
                "tags": [cid],
                "summary": f"{layer.title.en} — {summary}",
                "parameters": [fid, content_crs],
                "requestBody": body,
                "responses": done,
            }
        item["delete"] = {
            "operationId": f"deleteFeature_{cid}",
            "tags": [cid],
            "summary": f"{layer.title.en} — delete a feature",
            "parameters": [fid],
            "responses": done,
        }


def build_openapi(
    server: str, principal: Principal, lang: str, limits: LimitSettings
) -> dict[str, Any]:
    """The document for ``principal``: hidden collections are absent from it."""
    del lang
    simple = {
        "200": {
            "description": "OK",
            "content": {
                "application/json": {"schema": {"type": "object"}},
                "text/html": {"schema": {"type": "string"}},
            },
        },
        "400": PROBLEM,
        "406": PROBLEM,
    }
    fref = [
        {"$ref": "#/components/parameters/f"},
        {"$ref": "#/components/parameters/lang"},
    ]
    paths: dict[str, Any] = {
        "/": {
            "get": {
                "operationId": "getLandingPage",
                "summary": "Landing page",
                "parameters": fref,
                "responses": simple,
            }
        },
        "/conformance": {
            "get": {
                "operationId": "getConformance",
                "summary": "Conformance classes",
                "parameters": fref,
                "responses": simple,
            }
        },
        "/api": {
            "get": {
                "operationId": "getApi",
                "summary": "This document",
                "parameters": fref,
                "responses": simple,
            }
        },
        "/collections": {
            "get": {
                "operationId": "getCollections",
                "summary": "Collections",
                "parameters": fref,
                "responses": simple,
            }
        },
    }
    for layer in CATALOGUE.values():
        if layer.access.can_read(principal):
            paths.update(_collection_paths(layer, principal))
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "dothi",
            "version": "0.1.0",
            "description": "OGC API of the city (đô thị).",
            "license": {"name": "Apache-2.0"},
        },
        "servers": [{"url": server}],
        "paths": paths,
        "components": {
            "parameters": _common_params(limits),
            "responses": {
                "Problem": {
                    "description": "An RFC 9457 problem with an OGC code",
                    "content": {
                        "application/problem+json": {
                            "schema": {
                                "type": "object",
                                "required": ["type", "title", "status", "code"],
                                "properties": {
                                    "type": {"type": "string"},
                                    "title": {"type": "string"},
                                    "status": {"type": "integer"},
                                    "detail": {"type": "string"},
                                    "instance": {"type": "string"},
                                    "code": {"type": "string"},
                                },
                            }
                        }
                    },
                }
            },
        },
    }
