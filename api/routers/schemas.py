"""OGC API Features Part 5 (and Part 3's queryables): what can be filtered, sorted,
returned. Fields a principal may not see are absent.
"""

from __future__ import annotations

import orjson
from fastapi import APIRouter, Request, Response

from api import html, negotiation
from api.deps import LangDep, LayerDep, PrincipalDep, reject_unknown
from api.links import base_url
from gis.schema import properties_document

router = APIRouter()
SCHEMA_JSON = "application/schema+json"


def _respond(request: Request, lang: str, doc: dict[str, object]) -> Response:
    fmt = negotiation.choose(request, ("json", "html"))
    if fmt == "html":
        props = doc["properties"]
        assert isinstance(props, dict)
        return html.render(
            "conformance.html",
            lang,
            title=str(doc["title"]),
            base=base_url(request),
            conforms=[
                f"{k}: {v.get('type', v.get('format', ''))}" for k, v in props.items()
            ],
        )
    return Response(orjson.dumps(doc), media_type=SCHEMA_JSON)


@router.get(
    "/collections/{collectionId}/queryables",
    operation_id="getQueryables",
    summary="Queryables",
)
async def queryables(
    request: Request, layer: LayerDep, lang: LangDep, principal: PrincipalDep
) -> Response:
    """The properties a filter or a property=value parameter may use."""
    reject_unknown(request, {"f", "lang"})
    fields = tuple(f for f in layer.visible_fields(principal) if f.queryable)
    uri = f"{base_url(request)}/collections/{layer.id}/queryables"
    doc = properties_document(
        layer,
        fields,
        lang,
        uri=uri,
        geometry=True,
        title=f"{layer.title.get(lang)} — queryables",
    )
    return _respond(request, lang, doc)


@router.get(
    "/collections/{collectionId}/sortables",
    operation_id="getSortables",
    summary="Sortables",
)
async def sortables(
    request: Request, layer: LayerDep, lang: LangDep, principal: PrincipalDep
) -> Response:
    """The properties ``sortby`` accepts."""
    reject_unknown(request, {"f", "lang"})
    fields = tuple(f for f in layer.visible_fields(principal) if f.sortable)
    uri = f"{base_url(request)}/collections/{layer.id}/sortables"
    doc = properties_document(
        layer,
        fields,
        lang,
        uri=uri,
        geometry=False,
        title=f"{layer.title.get(lang)} — sortables",
    )
    return _respond(request, lang, doc)


@router.get(
    "/collections/{collectionId}/schema",
    operation_id="getSchema",
    summary="Schema of the features",
)
async def schema(
    request: Request, layer: LayerDep, lang: LangDep, principal: PrincipalDep
) -> Response:
    """Every property a feature of this collection carries for the caller."""
    reject_unknown(request, {"f", "lang"})
    uri = f"{base_url(request)}/collections/{layer.id}/schema"
    doc = properties_document(
        layer,
        layer.visible_fields(principal),
        lang,
        uri=uri,
        geometry=True,
        with_id=True,
        title=layer.title.get(lang),
    )
    return _respond(request, lang, doc)
