"""OGC API Common: landing page, conformance, the API definition."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import APIRouter, Request, Response

from api import html, negotiation
from api.conformance import CONFORMANCE
from api.deps import PrincipalDep
from api.links import alternates, base_url, link
from api.negotiation import MEDIA
from api.openapi import build_openapi
from api.params import DocumentQuery, LangDep
from api.state import app_state

router = APIRouter()
OGC_REL = "http://www.opengis.net/def/rel/ogc/1.0"
DESCRIPTION = {
    "vi": "Máy chủ OGC API của đô thị: đơn vị hành chính, thửa đất, quy hoạch, chiếu "
    "sáng, cây xanh, quan trắc môi trường, phản ánh hiện trường, giao thông.",
    "en": "The city's OGC API server: administrative units, land parcels, planning, "
    "street lighting, trees, environmental monitoring, citizen reports, roads.",
}


def _json(body: dict[str, Any], media: str = MEDIA["json"]) -> Response:
    return Response(orjson.dumps(body), media_type=media)


def _landing_links(request: Request, base: str, fmt: str) -> list[dict[str, Any]]:
    """The landing page's links: its alternates, the API, conformance, data, tiles,
    styles and the map."""
    return [
        *alternates(
            request, f"{base}/", fmt, {"json": MEDIA["json"], "html": MEDIA["html"]}
        ),
        link(f"{base}/api", "service-desc", MEDIA["openapi"], "OpenAPI 3.0"),
        link(f"{base}/api?f=html", "service-doc", MEDIA["html"], "API documentation"),
        link(f"{base}/conformance", "conformance", MEDIA["json"], "Conformance"),
        link(f"{base}/conformance?f=html", "conformance", MEDIA["html"], "Conformance"),
        link(f"{base}/collections", "data", MEDIA["json"], "Collections"),
        link(f"{base}/collections?f=html", "data", MEDIA["html"], "Collections"),
        link(
            f"{base}/tiles", f"{OGC_REL}/tilesets-vector", MEDIA["json"], "Vector tiles"
        ),
        link(
            f"{base}/tileMatrixSets",
            f"{OGC_REL}/tiling-schemes",
            MEDIA["json"],
            "Tile matrix sets",
        ),
        link(f"{base}/styles", f"{OGC_REL}/styles", MEDIA["json"], "Styles"),
        link(f"{base}/map", "alternate", MEDIA["html"], "City map"),
        link(
            f"{base}/land", "alternate", MEDIA["html"], "Land office / Tra cứu thửa đất"
        ),
    ]


@router.get("/", operation_id="getLandingPage", summary="Landing page")
async def landing(request: Request, lang: LangDep, _: DocumentQuery) -> Response:
    """Landing page."""
    fmt = negotiation.choose(request, ("json", "html"))
    base = base_url(request)
    links = _landing_links(request, base, fmt)
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
async def conformance(request: Request, lang: LangDep, _: DocumentQuery) -> Response:
    """The conformance classes this server implements."""
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
    request: Request,
    lang: LangDep,
    principal: PrincipalDep,
    _: DocumentQuery,
) -> Response:
    """The OpenAPI 3.0 document, listing only the collections the caller may see."""
    fmt = negotiation.choose(request, ("openapi", "html"))
    doc = build_openapi(
        base_url(request), principal, lang, app_state(request).settings.limits
    )
    if fmt == "html":
        return html.render(
            "conformance.html",
            lang,
            title="OpenAPI",
            base=base_url(request),
            conforms=[f"{p}" for p in doc["paths"]],
        )
    return _json(doc, MEDIA["openapi"])
