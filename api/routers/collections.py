"""OGC API Common Part 2: the collections the caller may see."""

from __future__ import annotations

import datetime as dt
from typing import Any

import orjson
from fastapi import APIRouter, Request, Response

from api import html, negotiation
from api.deps import LayerDep, PrincipalDep, visible_layers
from api.links import alternates, base_url, link
from api.negotiation import MEDIA
from api.params import DocumentQuery, LangDep
from api.stats import LayerStats, layer_stats, layer_stats_many
from gis.crs import CRS84, crs_uris
from gis.layer import VectorLayer

router = APIRouter()
TRS = "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian"
OGC_REL = "http://www.opengis.net/def/rel/ogc/1.0"


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
            link(url, "self", MEDIA["json"], layer.title.get(lang)),
            link(f"{url}?f=html", "alternate", MEDIA["html"], layer.title.get(lang)),
            link(f"{url}/items", "items", MEDIA["geojson"], "Features (GeoJSON)"),
            link(f"{url}/items?f=html", "items", MEDIA["html"], "Features (HTML)"),
            link(
                f"{url}/queryables",
                f"{OGC_REL}/queryables",
                MEDIA["schema"],
                "Queryables",
            ),
            link(
                f"{url}/sortables", f"{OGC_REL}/sortables", MEDIA["schema"], "Sortables"
            ),
            link(f"{url}/schema", f"{OGC_REL}/schema", MEDIA["schema"], "Schema"),
        ],
    }
    if layer.geometry_type:
        doc["links"] += [
            link(
                f"{url}/tiles",
                f"{OGC_REL}/tilesets-vector",
                MEDIA["json"],
                "Vector tiles",
            ),
            link(f"{url}/styles", f"{OGC_REL}/styles", MEDIA["json"], "Styles"),
        ]
    if extent:
        doc["extent"] = extent
    if layer.time:
        doc["datetimeProperty"] = layer.time.start
        if layer.time.end:
            doc["datetimeEndProperty"] = layer.time.end
    return doc


async def _collection_docs(
    request: Request, layers: list[VectorLayer], lang: str
) -> list[dict[str, Any]]:
    """The collection documents of ``layers``."""
    # together: layers whose statistics are being refreshed hold the listing up once
    # (api.stats.WAIT_S at most), not once each
    stats = await layer_stats_many(request, layers)
    return [
        await collection_doc(request, layer, lang, s)
        for layer, s in zip(layers, stats, strict=True)
    ]


@router.get("/collections", operation_id="getCollections", summary="Collections")
async def list_collections(
    request: Request,
    lang: LangDep,
    principal: PrincipalDep,
    _: DocumentQuery,
) -> Response:
    """The collections visible to the caller; hidden ones are absent, not forbidden."""
    fmt = negotiation.choose(request, ("json", "html"))
    base = base_url(request)
    docs = await _collection_docs(request, visible_layers(principal), lang)
    if fmt == "html":
        return html.render(
            "collections.html", lang, title="Collections", base=base, collections=docs
        )
    body = {
        "links": alternates(
            request,
            f"{base}/collections",
            fmt,
            {"json": MEDIA["json"], "html": MEDIA["html"]},
        ),
        "collections": docs,
    }
    return Response(orjson.dumps(body), media_type=MEDIA["json"])


@router.get(
    "/collections/{collectionId}", operation_id="getCollection", summary="Collection"
)
async def get_collection(
    request: Request, layer: LayerDep, lang: LangDep, _: DocumentQuery
) -> Response:
    """One collection's metadata."""
    fmt = negotiation.choose(request, ("json", "html"))
    doc = await collection_doc(request, layer, lang)
    if fmt == "html":
        return html.render(
            "collection.html", lang, title=doc["title"], base=base_url(request), c=doc
        )
    return Response(orjson.dumps(doc), media_type=MEDIA["json"])
