"""Style encodings made from one source per layer (``styles/<layer>/style.json``).

The source says what a cartographer decides (symbol kind, colour, opacity, outline,
width or radius, vi/en title); this module writes it as MapLibre style
JSON, SLD 1.1 (Symbology Encoding 1.1) and QGIS QML, and draws a legend, so the
encodings cannot drift apart.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape, quoteattr

StyleSource = dict[str, Any]


def load_source(styles_dir: Path, layer_id: str) -> StyleSource:
    """The style source of a layer.

    Raises
    ------
    FileNotFoundError
        When the layer has no ``style.json``.
    """
    data: StyleSource = json.loads((styles_dir / layer_id / "style.json").read_text())
    return data


def maplibre_layers(
    src: StyleSource, *, source: str, source_layer: str, lang: str
) -> list[dict[str, Any]]:
    """The MapLibre layers drawing ``source_layer`` of vector source ``source``."""
    kind = src["kind"]
    base: dict[str, Any] = {
        "id": src["layer"],
        "source": source,
        "source-layer": source_layer,
        "minzoom": src.get("minzoom", 0),
        "metadata": {
            "title": src["title"][lang],
            "title:vi": src["title"]["vi"],
            "title:en": src["title"]["en"],
        },
    }
    if kind == "fill":
        return [
            {
                **base,
                "type": "fill",
                "paint": {
                    "fill-color": src["color"],
                    "fill-opacity": src.get("opacity", 0.5),
                },
            },
            {
                **base,
                "id": f"{src['layer']}-outline",
                "type": "line",
                "paint": {
                    "line-color": src.get("outline", src["color"]),
                    "line-width": 0.5,
                },
            },
        ]
    if kind == "line":
        return [
            {
                **base,
                "type": "line",
                "paint": {
                    "line-color": src["color"],
                    "line-width": src.get("width", 1),
                },
            }
        ]
    if kind == "circle":
        return [
            {
                **base,
                "type": "circle",
                "paint": {
                    "circle-color": src["color"],
                    "circle-radius": [
                        "case",
                        ["has", "count"],
                        ["min", 14, ["+", 4, ["/", ["get", "count"], 10]]],
                        src.get("radius", 4),
                    ],
                    "circle-stroke-color": "#ffffff",
                    "circle-stroke-width": 1,
                    "circle-opacity": src.get("opacity", 1.0),
                },
            }
        ]
    return []


def maplibre_style(
    sources: list[StyleSource],
    *,
    tiles_url: str,
    name: str,
    lang: str,
    center: tuple[float, float] = (108.10, 10.93),
    zoom: float = 13,
    source_layers: dict[str, str] | None = None,
) -> dict[str, Any]:
    """A MapLibre style (version 8) drawing ``sources`` from one vector tile source."""
    order = {"fill": 0, "line": 1, "circle": 2}
    layers: list[dict[str, Any]] = [
        {
            "id": "background",
            "type": "background",
            "paint": {"background-color": "#f4f1ea"},
        }
    ]
    for src in sorted(sources, key=lambda s: order.get(s["kind"], 3)):
        layer_name = str((source_layers or {}).get(src["layer"], src["layer"]))
        layers += maplibre_layers(
            src, source="dothi", source_layer=layer_name, lang=lang
        )
    return {
        "version": 8,
        "name": name,
        "metadata": {"lang": lang},
        "center": list(center),
        "zoom": zoom,
        "sources": {
            "dothi": {
                "type": "vector",
                "tiles": [tiles_url],
                "minzoom": 0,
                "maxzoom": 22,
            }
        },
        "layers": layers,
    }


def sld(src: StyleSource, lang: str) -> str:
    """The layer's style as an SLD 1.1 / Symbology Encoding 1.1 document."""
    kind = src["kind"]
    color = src["color"]
    if kind == "fill":
        symbolizer = (
            "<se:PolygonSymbolizer><se:Fill>"
            f'<se:SvgParameter name="fill">{color}</se:SvgParameter>'
            f'<se:SvgParameter name="fill-opacity">{src.get("opacity", 0.5)}'
            "</se:SvgParameter></se:Fill><se:Stroke>"
            f'<se:SvgParameter name="stroke">{src.get("outline", color)}'
            '</se:SvgParameter><se:SvgParameter name="stroke-width">0.5'
            "</se:SvgParameter></se:Stroke></se:PolygonSymbolizer>"
        )
    elif kind == "line":
        symbolizer = (
            "<se:LineSymbolizer><se:Stroke>"
            f'<se:SvgParameter name="stroke">{color}</se:SvgParameter>'
            f'<se:SvgParameter name="stroke-width">{src.get("width", 1)}'
            "</se:SvgParameter></se:Stroke></se:LineSymbolizer>"
        )
    else:
        symbolizer = (
            "<se:PointSymbolizer><se:Graphic><se:Mark>"
            "<se:WellKnownName>circle</se:WellKnownName><se:Fill>"
            f'<se:SvgParameter name="fill">{color}</se:SvgParameter></se:Fill>'
            '<se:Stroke><se:SvgParameter name="stroke">#ffffff</se:SvgParameter>'
            "</se:Stroke></se:Mark>"
            f"<se:Size>{2 * src.get('radius', 4)}</se:Size></se:Graphic>"
            "</se:PointSymbolizer>"
        )
    title = escape(src["title"][lang])
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<StyledLayerDescriptor version="1.1.0" '
        'xmlns="http://www.opengis.net/sld" xmlns:se="http://www.opengis.net/se" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
        'xsi:schemaLocation="http://www.opengis.net/sld '
        'http://schemas.opengis.net/sld/1.1.0/StyledLayerDescriptor.xsd">'
        f"<NamedLayer><se:Name>{escape(src['layer'])}</se:Name><UserStyle>"
        f"<se:Name>default</se:Name><se:Description><se:Title>{title}</se:Title>"
        "</se:Description><se:FeatureTypeStyle><se:Rule>"
        f"<se:Name>{escape(src['layer'])}</se:Name>{symbolizer}"
        "</se:Rule></se:FeatureTypeStyle></UserStyle></NamedLayer>"
        "</StyledLayerDescriptor>\n"
    )


def _qgis_color(hex_color: str, alpha: float = 1.0) -> str:
    h = hex_color.lstrip("#")
    r, g, b = (int(h[i : i + 2], 16) for i in (0, 2, 4))
    return f"{r},{g},{b},{round(alpha * 255)}"


def qml(src: StyleSource) -> str:
    """The layer's style as a QGIS QML document (single symbol renderer)."""
    kind = src["kind"]
    color = src["color"]
    if kind == "fill":
        layer_class, symbol_type = "SimpleFill", "fill"
        props = {
            "color": _qgis_color(color, src.get("opacity", 0.5)),
            "outline_color": _qgis_color(str(src.get("outline", color))),
            "outline_width": "0.26",
            "style": "solid",
        }
    elif kind == "line":
        layer_class, symbol_type = "SimpleLine", "line"
        props = {
            "line_color": _qgis_color(color),
            "line_width": str(0.26 * src.get("width", 1)),
            "line_style": "solid",
        }
    else:
        layer_class, symbol_type = "SimpleMarker", "marker"
        props = {
            "color": _qgis_color(color),
            "name": "circle",
            "outline_color": "255,255,255,255",
            "size": str(src.get("radius", 4) * 0.5),
        }
    options = "".join(
        f'<Option name={quoteattr(k)} value={quoteattr(v)} type="QString"/>'
        for k, v in props.items()
    )
    return (
        "<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n"
        '<qgis version="3.22" styleCategories="Symbology">'
        '<renderer-v2 type="singleSymbol" symbollevels="0" enableorderby="0">'
        f'<symbols><symbol name="0" type={quoteattr(symbol_type)} alpha="1" '
        'clip_to_extent="1" force_rhr="0">'
        f'<layer class={quoteattr(layer_class)} enabled="1" locked="0" pass="0">'
        f'<Option type="Map">{options}</Option></layer></symbol></symbols>'
        "</renderer-v2></qgis>\n"
    )


def legend_svg(src: StyleSource, lang: str) -> str:
    """A one-entry legend: the symbol and the layer's title."""
    kind = src["kind"]
    color = src["color"]
    if kind == "fill":
        mark = (
            f'<rect x="4" y="4" width="16" height="16" fill="{color}" '
            f'fill-opacity="{src.get("opacity", 0.5)}" '
            f'stroke="{src.get("outline", color)}"/>'
        )
    elif kind == "line":
        mark = (
            f'<line x1="2" y1="12" x2="22" y2="12" stroke="{color}" '
            f'stroke-width="{src.get("width", 1) + 1}"/>'
        )
    else:
        mark = (
            f'<circle cx="12" cy="12" r="{src.get("radius", 4) + 1}" fill="{color}"/>'
        )
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" width="240" height="24">'
        f'{mark}<text x="28" y="17" font-family="sans-serif" font-size="13">'
        f"{escape(src['title'][lang])}</text></svg>"
    )
