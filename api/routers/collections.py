"""OGC API Common Part 2: the collections the caller may see."""

from __future__ import annotations

import datetime as dt
from typing import Any

import orjson
from fastapi import APIRouter, Request, Response

from api import html, negotiation
from api.deps import LangDep, LayerDep, PrincipalDep, reject_unknown, visible_layers
from api.links import alternates, base_url, link
from api.stats import LayerStats, layer_stats, layer_stats_many
from gis.crs import CRS84, crs_uris
from gis.layer import VectorLayer

router = APIRouter()
JSON = "application/json"
GEOJSON = "application/geo+json"
TRS = "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian"
OGC_REL = "http://www.opengis.net/def/rel/ogc/1.0"
SCHEMA_JSON = "application/schema+json"


def _iso(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, dt.date):
        return f"{value.isoformat()}T00:00:00Z"
    return str(value)


async def collection_doc(
    request: Request, layer: VectorLayer, lang: str, stats: LayerStats | None = None
) -> dict[str, Any]:
    """The collection document of ``layer`` (with ``stats`` when already read)."""
    base = base_url(request)
    url = f"{base}/collections/{layer.id}"
    if stats is None:
        stats = await layer_stats(request, layer)
    extent: dict[str, Any] = {}
    if stats.bbox:
        extent["spatial"] = {"bbox": [list(stats.bbox)], "crs": CRS84}
    if stats.interval:
        extent["temporal"] = {
            "interval": [[_iso(stats.interval[0]), _iso(stats.interval[1])]],
            "trs": TRS,
        }
    doc: dict[str, Any] = {
        "id": layer.id,
        "title": layer.title.get(lang),
        "description": layer.description.get(lang),
        "keywords": list(layer.keywords),
        "itemType": "feature",
        "crs": crs_uris(layer.crs_srids),
        "storageCrs": CRS84,
        "links": [
            link(url, "self", JSON, layer.title.get(lang)),
            link(f"{url}?f=html", "alternate", "text/html", layer.title.get(lang)),
            link(f"{url}/items", "items", GEOJSON, "Features (GeoJSON)"),
            link(f"{url}/items?f=html", "items", "text/html", "Features (HTML)"),
            link(
                f"{url}/queryables", f"{OGC_REL}/queryables", SCHEMA_JSON, "Queryables"
            ),
            link(f"{url}/sortables", f"{OGC_REL}/sortables", SCHEMA_JSON, "Sortables"),
            link(f"{url}/schema", f"{OGC_REL}/schema", SCHEMA_JSON, "Schema"),
        ],
    }
    if layer.geometry_type:
        doc["links"] += [
            link(f"{url}/tiles", f"{OGC_REL}/tilesets-vector", JSON, "Vector tiles"),
            link(f"{url}/styles", f"{OGC_REL}/styles", JSON, "Styles"),
        ]
    if extent:
        doc["extent"] = extent
    if layer.time:
        doc["datetimeProperty"] = layer.time.start
        if layer.time.end:
            doc["datetimeEndProperty"] = layer.time.end
    return doc


@router.get("/collections", operation_id="getCollections", summary="Collections")
async def list_collections(
    request: Request, lang: LangDep, principal: PrincipalDep
) -> Response:
    """The collections visible to the caller; hidden ones are absent, not forbidden."""
    reject_unknown(request, {"f", "lang"})
    fmt = negotiation.choose(request, ("json", "html"))
    base = base_url(request)
    layers = list(visible_layers(principal))
    # together: layers whose statistics are being refreshed hold the listing up once
    # (api.stats.WAIT_S at most), not once each
    stats = await layer_stats_many(request, layers)
    docs = [
        await collection_doc(request, layer, lang, s)
        for layer, s in zip(layers, stats, strict=True)
    ]
    if fmt == "html":
        return html.render(
            "collections.html", lang, title="Collections", base=base, collections=docs
        )
    body = {
        "links": alternates(
            request, f"{base}/collections", fmt, {"json": JSON, "html": "text/html"}
        ),
        "collections": docs,
    }
    return Response(orjson.dumps(body), media_type=JSON)


@router.get(
    "/collections/{collectionId}", operation_id="getCollection", summary="Collection"
)
async def get_collection(request: Request, layer: LayerDep, lang: LangDep) -> Response:
    """One collection's metadata."""
    reject_unknown(request, {"f", "lang"})
    fmt = negotiation.choose(request, ("json", "html"))
    doc = await collection_doc(request, layer, lang)
    if fmt == "html":
        return html.render(
            "collection.html", lang, title=doc["title"], base=base_url(request), c=doc
        )
    return Response(orjson.dumps(doc), media_type=JSON)
