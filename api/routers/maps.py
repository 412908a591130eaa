"""The city map page: MapLibre GL JS (shipped with dothi) over the city style."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from api import html
from api.links import base_url
from api.params import LangDep, MapQuery

router = APIRouter()


@router.get("/map", operation_id="getMap", summary="The city map")
async def city_map(request: Request, lang: LangDep, view: MapQuery) -> Response:
    """Every layer the caller may see, with a layer switcher and feature pop-ups."""
    base = base_url(request)
    return html.render(
        "map.html",
        lang,
        title="Bản đồ đô thị" if lang == "vi" else "City map",
        base=base,
        style_url=f"{base}/styles/city?lang={lang}",
        center=view.center,
        zoom=view.zoom,
    )
