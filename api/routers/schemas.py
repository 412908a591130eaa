"""OGC API Features Part 5 (and Part 3's queryables): what can be filtered, sorted,
returned. Fields a principal may not see are absent.
"""

from __future__ import annotations

import orjson
from fastapi import APIRouter, Request, Response

from api import html, negotiation
from api.deps import LayerDep, PrincipalDep
from api.links import base_url
from api.negotiation import MEDIA
from api.params import DocumentQuery, LangDep
from gis.layer import Field, VectorLayer
from gis.schema import properties_document

router = APIRouter()


def _respond(
    request: Request,
    layer: VectorLayer,
    lang: str,
    fields: tuple[Field, ...],
    part: str,
    *,
    geometry: bool,
    with_id: bool = False,
) -> Response:
    """The JSON Schema document of ``fields`` (or its HTML listing)."""
    doc = properties_document(
        layer,
        fields,
        lang,
        uri=f"{base_url(request)}/collections/{layer.id}/{part}",
        geometry=geometry,
        with_id=with_id,
        title=f"{layer.title.get(lang)} — {part}",
    )
    if negotiation.choose(request, ("schema", "html")) == "html":
        rows = [
            f"{k}: {v.get('type', v.get('format', ''))}"
            for k, v in doc["properties"].items()
        ]
        return html.render(
            "conformance.html",
            lang,
            title=str(doc["title"]),
            base=base_url(request),
            conforms=rows,
        )
    return Response(orjson.dumps(doc), media_type=MEDIA["schema"])


@router.get(
    "/collections/{collectionId}/queryables",
    operation_id="getQueryables",
    summary="Queryables",
)
async def queryables(
    request: Request,
    layer: LayerDep,
    lang: LangDep,
    principal: PrincipalDep,
    _: DocumentQuery,
) -> Response:
    """The properties a filter or a property=value parameter may use."""
    fields = tuple(f for f in layer.visible_fields(principal) if f.queryable)
    return _respond(request, layer, lang, fields, "queryables", geometry=True)


@router.get(
    "/collections/{collectionId}/sortables",
    operation_id="getSortables",
    summary="Sortables",
)
async def sortables(
    request: Request,
    layer: LayerDep,
    lang: LangDep,
    principal: PrincipalDep,
    _: DocumentQuery,
) -> Response:
    """The properties ``sortby`` accepts."""
    fields = tuple(f for f in layer.visible_fields(principal) if f.sortable)
    return _respond(request, layer, lang, fields, "sortables", geometry=False)


@router.get(
    "/collections/{collectionId}/schema",
    operation_id="getSchema",
    summary="Schema of the features",
)
async def schema(
    request: Request,
    layer: LayerDep,
    lang: LangDep,
    principal: PrincipalDep,
    _: DocumentQuery,
) -> Response:
    """Every property a feature of this collection carries for the caller."""
    fields = layer.visible_fields(principal)
    return _respond(request, layer, lang, fields, "schema", geometry=True, with_id=True)
