"""The city map page: MapLibre GL JS (shipped with dothi) over the city style."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from api import html
from api.deps import LangDep, reject_unknown
from api.links import base_url
from gis.errors import InvalidParameterError

router = APIRouter()


@router.get("/map", operation_id="getMap", summary="The city map")
async def city_map(request: Request, lang: LangDep) -> Response:
    """Every layer the caller may see, with a layer switcher and feature pop-ups."""
    reject_unknown(request, {"lang", "center", "zoom"})
    q = request.query_params
    try:
        center = [float(v) for v in q.get("center", "108.10,10.93").split(",")]
        zoom = float(q.get("zoom", "14"))
    except ValueError:
        raise InvalidParameterError("center is lon,lat and zoom a number") from None
    if len(center) != 2 or not (-180 <= center[0] <= 180 and -85 <= center[1] <= 85):
        raise InvalidParameterError("center: lon,lat in degrees", parameter="center")
    if not 0 <= zoom <= 22:
        raise InvalidParameterError("zoom: from 0 to 22", parameter="zoom")
    base = base_url(request)
    return html.render(
        "map.html",
        lang,
        title="Bản đồ đô thị" if lang == "vi" else "City map",
        base=base,
        style_url=f"{base}/styles/city?lang={lang}",
        center=center,
        zoom=zoom,
    )
