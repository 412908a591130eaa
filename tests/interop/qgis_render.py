"""Render dothi layers in QGIS 3.22, headless, as a planner adds them.

Run by Debian's python3 (``python3-qgis`` is built for it), not by the project's
environment:

    QT_QPA_PLATFORM=offscreen /usr/bin/python3 qgis_render.py BASE_URL OUT.json LAYER...

For every layer: an OAPIF layer and an ``xyz`` vector tile layer (zmin 0), each
rendered at the layer's whole extent and at street zoom around its middle feature;
writes ``{layer: {"oapif"|"tiles": {"extent"|"street": distinct colours}}}`` and a PNG
of each next to OUT.json.
"""

from __future__ import annotations

import json
import os
import sys
import urllib.request
from pathlib import Path

from qgis.core import (
    QgsApplication,
    QgsCoordinateReferenceSystem,
    QgsCoordinateTransform,
    QgsMapRendererSequentialJob,
    QgsMapSettings,
    QgsProject,
    QgsRectangle,
    QgsVectorLayer,
    QgsVectorTileBasicRenderer,
    QgsVectorTileLayer,
)
from qgis.PyQt.QtCore import QSize
from qgis.PyQt.QtGui import QColor

WGS84 = QgsCoordinateReferenceSystem("EPSG:4326")
MERCATOR = QgsCoordinateReferenceSystem("EPSG:3857")


def fetch(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=120) as r:  # noqa: S310 - loopback
        return json.load(r)


def render(layer, extent_wgs84: QgsRectangle, png: Path) -> int:
    settings = QgsMapSettings()
    settings.setLayers([layer])
    settings.setDestinationCrs(MERCATOR)
    settings.setOutputSize(QSize(800, 600))
    settings.setBackgroundColor(QColor(255, 255, 255))
    to_merc = QgsCoordinateTransform(WGS84, MERCATOR, QgsProject.instance())
    settings.setExtent(to_merc.transformBoundingBox(extent_wgs84))
    job = QgsMapRendererSequentialJob(settings)
    job.start()
    job.waitForFinished()
    image = job.renderedImage()
    image.save(str(png))
    colours = set()
    for y in range(0, image.height(), 3):
        for x in range(0, image.width(), 3):
            colours.add(image.pixel(x, y))
    return len(colours)


def main() -> None:
    base, out = sys.argv[1], Path(sys.argv[2])
    app = QgsApplication([], False)
    app.initQgis()
    result: dict[str, dict[str, dict[str, int]]] = {}
    for name in sys.argv[3:]:
        doc = fetch(f"{base}/collections/{name}")
        x1, y1, x2, y2 = doc["extent"]["spatial"]["bbox"][0][:4]
        whole = QgsRectangle(x1, y1, x2, y2)
        page = fetch(f"{base}/collections/{name}/items?limit=100")
        feats = [f for f in page["features"] if f.get("geometry")]
        if feats:  # a vertex of the middle feature: the street view shows it
            coords = feats[len(feats) // 2]["geometry"]["coordinates"]
            while isinstance(coords[0], list):
                coords = coords[0]
            cx, cy = coords[0], coords[1]
        else:
            cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
        street = QgsRectangle(cx - 0.003, cy - 0.002, cx + 0.003, cy + 0.002)
        oapif = QgsVectorLayer(f"url='{base}' typename='{name}'", name, "OAPIF")
        tiles_url = f"{base}/collections/{name}/tiles/WebMercatorQuad/{{z}}/{{y}}/{{x}}"
        tiles = QgsVectorTileLayer(
            f"type=xyz&url={tiles_url}&zmin=0&zmax=22", f"{name} tiles"
        )
        renderer = QgsVectorTileBasicRenderer()
        renderer.setStyles(QgsVectorTileBasicRenderer.simpleStyleWithRandomColors())
        tiles.setRenderer(renderer)
        entry: dict[str, dict[str, int]] = {}
        for kind, layer in (("oapif", oapif), ("tiles", tiles)):
            if not layer.isValid():
                entry[kind] = {"extent": 0, "street": 0}
                continue
            entry[kind] = {
                view: render(layer, rect, out.parent / f"{name}-{kind}-{view}.png")
                for view, rect in (("extent", whole), ("street", street))
            }
        result[name] = entry
        print(name, entry, flush=True)  # noqa: T201 - progress in the test log
    out.write_text(json.dumps(result))
    # QGIS 3.22's exitQgis() crashes at teardown in offscreen scripts: the result
    # is written, so leave without it
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
