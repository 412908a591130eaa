"""OGC API Styles: each layer's style and the city style, in three encodings."""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Path, Request, Response

from api import negotiation
from api.deps import LayerDep, PrincipalDep, visible_layers
from api.links import base_url, link
from api.negotiation import MEDIA
from api.params import DocumentQuery, LangDep
from gis.errors import NotFoundError
from gis.layer import VectorLayer
from gis.principal import Principal
from gis.styles import legend_svg, load_source, maplibre_style, qml, sld
from layers import STYLES_DIR

router = APIRouter()
ENCODINGS = {k: MEDIA[k] for k in ("mapbox", "sld11", "qml")}
CITY = "city"
StyleId = Annotated[str, Path(alias="styleId")]


def _styled(principal: Principal) -> list[VectorLayer]:
    return [la for la in visible_layers(principal) if la.geometry_type is not None]


# the city style is MapLibre only: SLD and QML describe one layer each
CITY_ENCODINGS = ("mapbox",)


def _style_links(url: str, encodings: tuple[str, ...]) -> list[dict[str, Any]]:
    out = [link(f"{url}?f={k}", "stylesheet", ENCODINGS[k], k) for k in encodings]
    out.append(link(f"{url}/metadata", "describedby", MEDIA["json"], "metadata"))
    return out


@router.get("/styles", operation_id="getStyles", summary="Styles")
async def list_styles(request: Request, lang: LangDep, _: DocumentQuery) -> Response:
    """The styles of the whole city map."""
    url = f"{base_url(request)}/styles/{CITY}"
    title = "Bản đồ đô thị" if lang == "vi" else "City map"
    body = {
        "styles": [
            {"id": CITY, "title": title, "links": _style_links(url, CITY_ENCODINGS)}
        ],
        "links": [link(f"{base_url(request)}/styles", "self", MEDIA["json"])],
    }
    return Response(orjson.dumps(body), media_type=MEDIA["json"])


@router.get("/styles/{styleId}", operation_id="getStyle", summary="A style")
async def get_style(
    request: Request,
    style_id: StyleId,
    lang: LangDep,
    principal: PrincipalDep,
    _: DocumentQuery,
) -> Response:
    """The city style: every layer the caller may see, from the all-layers tiles."""
    if style_id != CITY:
        raise NotFoundError(f"no style {style_id!r}; styles: {CITY}")
    negotiation.choose(request, CITY_ENCODINGS)
    sources = [load_source(STYLES_DIR, la.id) for la in _styled(principal)]
    doc = maplibre_style(
        sources,
        tiles_url=f"{base_url(request)}/tiles/WebMercatorQuad/{{z}}/{{y}}/{{x}}",
        name="dothi",
        lang=lang,
    )
    return Response(orjson.dumps(doc), media_type=ENCODINGS["mapbox"])


@router.get(
    "/styles/{styleId}/metadata",
    operation_id="getStyleMetadata",
    summary="Style metadata",
)
async def style_metadata(
    request: Request,
    style_id: StyleId,
    lang: LangDep,
    principal: PrincipalDep,
    _: DocumentQuery,
) -> Response:
    """What the city style draws, with a legend per layer."""
    if style_id != CITY:
        raise NotFoundError(f"no style {style_id!r}; styles: {CITY}")
    base = base_url(request)
    title = "Bản đồ đô thị" if lang == "vi" else "City map"
    url = f"{base}/styles/{CITY}"
    body = _metadata(CITY, title, url, _styled(principal), base, lang, CITY_ENCODINGS)
    return Response(orjson.dumps(body), media_type=MEDIA["json"])


def _metadata(
    style_id: str,
    title: str,
    url: str,
    layers: list[VectorLayer],
    base: str,
    lang: str,
    encodings: tuple[str, ...],
) -> dict[str, Any]:
    """A style's metadata document: what it draws, with a legend per layer."""
    return {
        "id": style_id,
        "title": title,
        "scope": "style",
        "layers": [
            {
                "id": la.id,
                "description": la.title.get(lang),
                "dataType": "vector",
                "sampleData": link(
                    f"{base}/collections/{la.id}/items", "data", MEDIA["geojson"]
                ),
                "legend": link(
                    f"{base}/collections/{la.id}/styles/default/legend",
                    "legend",
                    MEDIA["svg"],
                ),
            }
            for la in layers
        ],
        "links": _style_links(url, encodings),
    }


@router.get(
    "/collections/{collectionId}/styles",
    operation_id="getCollectionStyles",
    summary="Styles of a collection",
)
async def collection_styles(
    request: Request,
    layer: LayerDep,
    lang: LangDep,
    _: DocumentQuery,
) -> Response:
    """The collection's style (``default``) and its encodings."""
    if layer.geometry_type is None:
        raise NotFoundError(f"{layer.id} has no geometry and no style")
    url = f"{base_url(request)}/collections/{layer.id}/styles/default"
    body = {
        "styles": [
            {
                "id": "default",
                "title": layer.title.get(lang),
                "links": [
                    *_style_links(url, tuple(ENCODINGS)),
                    link(f"{url}/legend", "legend", MEDIA["svg"]),
                ],
            }
        ]
    }
    return Response(orjson.dumps(body), media_type=MEDIA["json"])


def _layer_source(layer: VectorLayer, style_id: str) -> dict[str, Any]:
    if style_id != "default" or layer.geometry_type is None:
        raise NotFoundError(f"no style {style_id!r} for {layer.id}; styles: default")
    return load_source(STYLES_DIR, layer.id)


@router.get(
    "/collections/{collectionId}/styles/{styleId}",
    operation_id="getCollectionStyle",
    summary="A style of a collection",
)
async def collection_style(
    request: Request,
    layer: LayerDep,
    style_id: StyleId,
    lang: LangDep,
    _: DocumentQuery,
) -> Response:
    """The style as MapLibre JSON (``f=mapbox``), SLD 1.1 (``sld11``) or QML."""
    src = _layer_source(layer, style_id)
    fmt = negotiation.choose(request, tuple(ENCODINGS))
    if fmt == "sld11":
        return Response(sld(src, lang), media_type=ENCODINGS[fmt])
    if fmt == "qml":
        return Response(qml(src), media_type=ENCODINGS[fmt])
    tiles = (
        f"{base_url(request)}/collections/{layer.id}/tiles/WebMercatorQuad/"
        "{z}/{y}/{x}"
    )
    doc = maplibre_style([src], tiles_url=tiles, name=layer.id, lang=lang)
    return Response(orjson.dumps(doc), media_type=ENCODINGS["mapbox"])


@router.get(
    "/collections/{collectionId}/styles/{styleId}/legend",
    operation_id="getCollectionStyleLegend",
    summary="Legend",
)
async def collection_legend(
    layer: LayerDep,
    style_id: StyleId,
    lang: LangDep,
    _: DocumentQuery,
) -> Response:
    """The legend of the style, as SVG."""
    return Response(
        legend_svg(_layer_source(layer, style_id), lang), media_type=MEDIA["svg"]
    )


@router.get(
    "/collections/{collectionId}/styles/{styleId}/metadata",
    operation_id="getCollectionStyleMetadata",
    summary="Metadata of a collection's style",
)
async def collection_style_metadata(
    request: Request,
    layer: LayerDep,
    style_id: StyleId,
    lang: LangDep,
    _: DocumentQuery,
) -> Response:
    """What the collection's style draws, with its legend."""
    _layer_source(layer, style_id)
    negotiation.choose(request, ("json",))
    base = base_url(request)
    url = f"{base}/collections/{layer.id}/styles/{style_id}"
    title = layer.title.get(lang)
    body = _metadata(style_id, title, url, [layer], base, lang, tuple(ENCODINGS))
    return Response(orjson.dumps(body), media_type=MEDIA["json"])
