"""OGC API Common: landing page, conformance, the API definition."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import APIRouter, Request, Response

from api import html, negotiation
from api.conformance import CONFORMANCE
from api.deps import LangDep, PrincipalDep, reject_unknown
from api.links import alternates, base_url, link
from api.openapi import build_openapi

router = APIRouter()
JSON = "application/json"
OGC_REL = "http://www.opengis.net/def/rel/ogc/1.0"
OPENAPI_JSON = "application/vnd.oai.openapi+json;version=3.0"
DESCRIPTION = {
    "vi": "Máy chủ OGC API của đô thị: đơn vị hành chính, thửa đất, quy hoạch, chiếu "
    "sáng, cây xanh, quan trắc môi trường, phản ánh hiện trường, giao thông.",
    "en": "The city's OGC API server: administrative units, land parcels, planning, "
    "street lighting, trees, environmental monitoring, citizen reports, roads.",
}


def _json(body: dict[str, Any], media: str = JSON) -> Response:
    return Response(orjson.dumps(body), media_type=media)


@router.get("/", operation_id="getLandingPage", summary="Landing page")
async def landing(request: Request, lang: LangDep) -> Response:
    """Landing page."""
    reject_unknown(request, {"f", "lang"})
    fmt = negotiation.choose(request, ("json", "html"))
    base = base_url(request)
    links = [
        *alternates(request, f"{base}/", fmt, {"json": JSON, "html": "text/html"}),
        link(f"{base}/api", "service-desc", OPENAPI_JSON, "OpenAPI 3.0"),
        link(f"{base}/api?f=html", "service-doc", "text/html", "API documentation"),
        link(f"{base}/conformance", "conformance", JSON, "Conformance"),
        link(f"{base}/conformance?f=html", "conformance", "text/html", "Conformance"),
        link(f"{base}/collections", "data", JSON, "Collections"),
        link(f"{base}/collections?f=html", "data", "text/html", "Collections"),
        link(f"{base}/tiles", f"{OGC_REL}/tilesets-vector", JSON, "Vector tiles"),
        link(
            f"{base}/tileMatrixSets",
            f"{OGC_REL}/tiling-schemes",
            JSON,
            "Tile matrix sets",
        ),
        link(f"{base}/styles", f"{OGC_REL}/styles", JSON, "Styles"),
        link(f"{base}/map", "alternate", "text/html", "City map"),
    ]
    body = {"title": "dothi", "description": DESCRIPTION[lang], "links": links}
    if fmt == "html":
        return html.render(
            "landing.html",
            lang,
            title="dothi",
            base=base,
            description=DESCRIPTION[lang],
            links=links,
        )
    return _json(body)


@router.get("/conformance", operation_id="getConformance", summary="Conformance")
async def conformance(request: Request, lang: LangDep) -> Response:
    """The conformance classes this server implements."""
    reject_unknown(request, {"f", "lang"})
    fmt = negotiation.choose(request, ("json", "html"))
    if fmt == "html":
        return html.render(
            "conformance.html",
            lang,
            title="Conformance",
            base=base_url(request),
            conforms=CONFORMANCE,
        )
    return _json({"conformsTo": list(CONFORMANCE)})


@router.get("/api", operation_id="getApi", summary="API definition (OpenAPI 3.0)")
async def api_definition(
    request: Request, lang: LangDep, principal: PrincipalDep
) -> Response:
    """The OpenAPI 3.0 document, listing only the collections the caller may see."""
    reject_unknown(request, {"f", "lang"})
    fmt = negotiation.choose(request, ("openapi", "html"))
    doc = build_openapi(
        base_url(request), principal, lang, request.app.state.settings.limits
    )
    if fmt == "html":
        return html.render(
            "conformance.html",
            lang,
            title="OpenAPI",
            base=base_url(request),
            conforms=[f"{p}" for p in doc["paths"]],
        )
    return _json(doc, OPENAPI_JSON)
