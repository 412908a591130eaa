"""Vector tiles: OGC API Tiles, tile matrix sets, statuses, cache that follows edits."""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import morecantile
import psycopg
import pytest
from fastapi.testclient import TestClient
from pyproj import Transformer

from api.app import create_app
from gis.db.urls import libpq_url
from gis.settings import Settings
from tests.api import principals

MVT = "application/vnd.mapbox-vector-tile"
WMQ = morecantile.tms.get("WebMercatorQuad")


def _centre(client: Any, collection: str) -> tuple[float, float]:
    """A point on the first feature of a collection (so its tile is not empty)."""
    found = client.get(f"/collections/{collection}/items?limit=100").json()["features"]
    f = next(x for x in found if x["geometry"])
    coords = f["geometry"]["coordinates"]
    while isinstance(coords[0], list):
        coords = coords[0]
    return float(coords[0]), float(coords[1])


def _mvt_layers(data: bytes, tmp_path: Path, z: int, x: int, y: int) -> dict[str, Any]:
    """Each layer of a tile as GeoJSON, read by GDAL's MVT driver (3.6: no -json)."""
    # the driver reads a single tile from a path ending in z/x/y.pbf
    path = tmp_path / str(z) / str(x) / f"{y}.pbf"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    info = subprocess.run(
        ["ogrinfo", "-ro", "-so", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    names = re.findall(r"^\d+: (\w+) \(", info, flags=re.MULTILINE)
    layers = {}
    for name in names:
        out = subprocess.run(
            ["ogr2ogr", "-f", "GeoJSON", "/vsistdout/", str(path), name],
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
        layers[name] = json.loads(out.stdout)
    return layers


def test_tilesets_and_matrix_sets(client: Any) -> None:
    sets = {s["id"] for s in client.get("/tileMatrixSets").json()["tileMatrixSets"]}
    assert {"WebMercatorQuad", "WorldCRS84Quad", "VN2000TM3BinhThuan"} <= sets
    tms = client.get("/tileMatrixSets/VN2000TM3BinhThuan").json()
    assert "9218" in json.dumps(tms["crs"])
    listing = client.get("/collections/land_parcels/tiles").json()["tilesets"]
    assert len(listing) == len(sets)
    meta = client.get("/collections/land_parcels/tiles/WebMercatorQuad").json()
    assert meta["dataType"] == "vector"
    item = next(lk for lk in meta["links"] if lk["rel"] == "item")
    assert item["templated"] is True
    assert item["href"].endswith("/{tileMatrix}/{tileRow}/{tileCol}")
    tj = client.get("/collections/land_parcels/tiles/WebMercatorQuad?f=tilejson").json()
    assert tj["tilejson"] == "3.0.0"
    assert tj["vector_layers"][0]["id"] == "land_parcels"


def test_gdal_reads_a_tile_with_the_features_of_items(
    client: Any, tmp_path: Path
) -> None:
    lon, lat = _centre(client, "street_lights")
    t = WMQ.tile(lon, lat, 16)
    r = client.get(f"/collections/street_lights/tiles/WebMercatorQuad/16/{t.y}/{t.x}")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == MVT
    layer = _mvt_layers(r.content, tmp_path, 16, t.x, t.y)["street_lights"]
    tile_ids = {f["properties"]["mvt_id"] for f in layer["features"]}
    # ST_AsMVTGeom keeps a point only inside the tile itself (the buffer is for
    # lines and polygons), so the tile holds exactly the points of its bounds
    b = WMQ.xy_bounds(t)
    to_wgs = Transformer.from_crs(3857, 4326, always_xy=True)
    x1, y1 = to_wgs.transform(b.left, b.bottom)
    x2, y2 = to_wgs.transform(b.right, b.top)
    items = client.get(
        "/collections/street_lights/items",
        params={"bbox": f"{x1},{y1},{x2},{y2}", "limit": 10000},
    ).json()
    assert tile_ids
    assert tile_ids == {f["id"] for f in items["features"]}


def test_vn2000_tiles(client: Any, tmp_path: Path) -> None:
    lon, lat = _centre(client, "land_parcels")
    from gis.tms import tile_matrix_sets

    t = tile_matrix_sets()["VN2000TM3BinhThuan"].tile(lon, lat, 15)
    r = client.get(f"/collections/land_parcels/tiles/VN2000TM3BinhThuan/15/{t.y}/{t.x}")
    assert r.status_code == 200
    assert _mvt_layers(r.content, tmp_path, 15, t.x, t.y)["land_parcels"]["features"]


def test_dataset_tile_has_every_layer_at_its_zoom(client: Any, tmp_path: Path) -> None:
    lon, lat = _centre(client, "land_parcels")
    t = WMQ.tile(lon, lat, 16)
    r = client.get(f"/tiles/WebMercatorQuad/16/{t.y}/{t.x}")
    assert r.status_code == 200
    names = set(_mvt_layers(r.content, tmp_path, 16, t.x, t.y))
    assert {"land_parcels", "street_lights", "trees"} <= names
    assert "cameras" not in names


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/collections/trees/tiles/WebMercatorQuad/16/99999999/1", 404),  # outside
        ("/collections/trees/tiles/WebMercatorQuad/30/0/0", 404),  # no such matrix
        ("/collections/trees/tiles/WebMercatorQuad/5/10/10", 204),  # overview, empty
        ("/collections/trees/tiles/NoSuchSet/16/0/0", 404),
        ("/collections/trees/tiles/WebMercatorQuad/a/b/c", 400),
        ("/collections/trees/tiles/WebMercatorQuad/16/0/0", 204),  # empty (Arctic)
        ("/collections/cameras/tiles/WebMercatorQuad/16/0/0", 404),  # hidden
        ("/collections/trees/tiles/WebMercatorQuad/16/0/0?foo=1", 400),
    ],
)
def test_tile_statuses(client: Any, path: str, status: int) -> None:
    r = client.get(path)
    assert r.status_code == status, r.text
    if status >= 400:
        assert r.headers["content-type"] == "application/problem+json"


def test_cors_on_tiles(client: Any) -> None:
    r = client.get(
        "/collections/trees/tiles/WebMercatorQuad/16/0/0",
        headers={"Origin": "https://map.example"},
    )
    assert r.headers["access-control-allow-origin"] == "*"


def test_an_edit_in_psql_changes_the_next_tile(db_url: str, tmp_path: Path) -> None:
    with psycopg.connect(libpq_url(db_url), autocommit=True) as conn:
        conn.execute(
            "INSERT INTO tree (tree_code, species_vi, geom) VALUES "
            "('CX-9', 'Sao đen', ST_SetSRID(ST_MakePoint(108.1, 10.93), 4326))"
        )
    t = WMQ.tile(108.1, 10.93, 17)
    path = f"/collections/trees/tiles/WebMercatorQuad/17/{t.y}/{t.x}"
    with TestClient(create_app(Settings(), database_url=db_url)) as c:
        first = c.get(path)
        assert c.get(path).content == first.content  # served from the cache
        with psycopg.connect(libpq_url(db_url), autocommit=True) as conn:
            conn.execute("UPDATE tree SET species_vi = 'Dầu rái'")
        second = c.get(path)
    assert second.status_code == 200
    assert second.headers["ETag"] != first.headers["ETag"]
    tree = _mvt_layers(second.content, tmp_path, 17, t.x, t.y)["trees"]["features"][0]
    assert tree["properties"]["species_vi"] == "Dầu rái"


def test_the_cache_never_crosses_principals(city_url: str) -> None:
    with TestClient(create_app(principals.settings(), database_url=city_url)) as c:
        lon, lat = _centre(c, "land_parcels")
        t = WMQ.tile(lon, lat, 14)
        path = f"/tiles/WebMercatorQuad/14/{t.y}/{t.x}"
        secret = c.get(path, headers=principals.bearer("security_officer"))
        public = c.get(path)
    assert secret.headers["ETag"] != public.headers["ETag"]
    assert b"cameras" in secret.content
    assert b"cameras" not in public.content
    assert secret.headers["Cache-Control"].startswith("private")
    assert {"Authorization", "X-API-Key"} <= {
        v.strip() for v in public.headers["Vary"].split(",")
    }


def test_styles_in_three_encodings(client: Any) -> None:
    import xml.etree.ElementTree as ET

    listing = client.get("/collections/land_parcels/styles").json()["styles"]
    assert listing[0]["id"] == "default"
    ml = client.get("/collections/land_parcels/styles/default?f=mapbox")
    assert ml.headers["content-type"] == "application/vnd.mapbox.style+json"
    style = ml.json()
    assert style["version"] == 8
    assert style["layers"][1]["source-layer"] == "land_parcels"
    sld = client.get("/collections/land_parcels/styles/default?f=sld11")
    root = ET.fromstring(sld.content)
    assert root.tag == "{http://www.opengis.net/sld}StyledLayerDescriptor"
    assert root.attrib["version"] == "1.1.0"
    qml = client.get("/collections/trees/styles/default?f=qml")
    assert ET.fromstring(qml.content.split(b"\n", 1)[1]).tag == "qgis"
    legend = client.get("/collections/trees/styles/default/legend?lang=en")
    assert legend.headers["content-type"] == "image/svg+xml"
    assert "Trees" in legend.text
    assert client.get("/collections/trees/styles/other").status_code == 404
    assert client.get("/collections/trees/styles/default?f=png").status_code == 406


def test_city_style_has_every_visible_layer_in_both_languages(client: Any) -> None:
    vi = client.get("/styles/city?lang=vi").json()
    en = client.get("/styles/city?lang=en").json()
    ids = {la["id"] for la in vi["layers"]}
    assert {"land_parcels", "trees", "roads"} <= ids
    assert "cameras" not in ids
    titles_vi = {la["metadata"]["title"] for la in vi["layers"] if "metadata" in la}
    titles_en = {la["metadata"]["title"] for la in en["layers"] if "metadata" in la}
    assert "Cây xanh" in titles_vi
    assert "Trees" in titles_en
    assert vi["sources"]["dothi"]["tiles"][0].endswith(
        "/tiles/WebMercatorQuad/{z}/{y}/{x}"
    )


@pytest.mark.parametrize(
    "layer_id",
    sorted(
        k
        for k, v in __import__("layers").CATALOGUE.items()
        if v.access.is_public and v.geometry_type
    ),
)
@pytest.mark.parametrize(
    "tms_id", ["WebMercatorQuad", "WorldCRS84Quad", "VN2000TM3BinhThuan"]
)
def test_every_public_layer_in_every_matrix_set(
    client: Any, layer_id: str, tms_id: str
) -> None:
    from gis.tms import tile_matrix_sets

    z = max(16, __import__("layers").CATALOGUE[layer_id].tiles.minzoom)
    items = client.get(f"/collections/{layer_id}/items?limit=1").json()["features"]
    if not items:  # power lines come only with open data: an empty layer's tile
        r = client.get(f"/collections/{layer_id}/tiles/{tms_id}/{z}/0/0")
        assert r.status_code == 204
        return
    lon, lat = _centre(client, layer_id)
    t = tile_matrix_sets()[tms_id].tile(lon, lat, z)
    r = client.get(f"/collections/{layer_id}/tiles/{tms_id}/{z}/{t.y}/{t.x}")
    assert r.status_code == 200, (layer_id, tms_id, r.status_code)
    assert r.headers["content-type"] == MVT


@pytest.fixture
def redis_url(tmp_path: Path) -> Iterator[str]:
    """A private Redis on a free loopback port (Debian's redis-server)."""
    import shutil
    import socket
    import time

    from gis.db.embedded import free_port

    server = shutil.which("redis-server")
    if server is None:
        pytest.fail("redis-server is missing: ./run installs it (apt redis-server)")
    port = free_port()
    proc = subprocess.Popen(
        [
            server,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(tmp_path),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_redis_cache_is_shared_and_follows_edits(
    db_url: str, redis_url: str, tmp_path: Path
) -> None:
    from gis.settings import TileSettings

    with psycopg.connect(libpq_url(db_url), autocommit=True) as conn:
        conn.execute(
            "INSERT INTO tree (tree_code, species_vi, geom) VALUES "
            "('CX-9', 'Sao đen', ST_SetSRID(ST_MakePoint(108.1, 10.93), 4326))"
        )
    t = WMQ.tile(108.1, 10.93, 17)
    path = f"/collections/trees/tiles/WebMercatorQuad/17/{t.y}/{t.x}"
    settings = Settings(tiles=TileSettings(redis_url=redis_url))
    # two apps stand for two workers (or two replicas) sharing one Redis
    with (
        TestClient(create_app(settings, database_url=db_url)) as one,
        TestClient(create_app(settings, database_url=db_url)) as two,
    ):
        first = one.get(path)
        assert first.headers["X-Cache"] == "miss"
        again = two.get(path)
        assert again.headers["X-Cache"] == "hit"  # filled by the other worker
        assert again.content == first.content
        with psycopg.connect(libpq_url(db_url), autocommit=True) as conn:
            conn.execute("UPDATE tree SET species_vi = 'Dầu rái'")
        after = two.get(path)
        assert after.headers["X-Cache"] == "miss"
        tree = _mvt_layers(after.content, tmp_path, 17, t.x, t.y)["trees"]["features"][
            0
        ]
        assert tree["properties"]["species_vi"] == "Dầu rái"
        assert one.get(path).headers["X-Cache"] == "hit"


def test_an_unreachable_redis_is_a_miss_not_an_error(db_url: str) -> None:
    from gis.db.embedded import free_port
    from gis.settings import TileSettings

    settings = Settings(
        tiles=TileSettings(redis_url=f"redis://127.0.0.1:{free_port()}/0")
    )
    with TestClient(create_app(settings, database_url=db_url)) as c:
        r = c.get("/collections/trees/tiles/WebMercatorQuad/16/0/0")
    assert r.status_code == 204
    assert r.headers["X-Cache"] == "miss"


@pytest.mark.parametrize(
    "layer_id",
    sorted(
        k
        for k, v in __import__("layers").CATALOGUE.items()
        if v.access.is_public and v.geometry_type
    ),
)
def test_every_public_layer_has_its_style_in_three_encodings(
    client: Any, layer_id: str
) -> None:
    import xml.etree.ElementTree as ET

    base = f"/collections/{layer_id}/styles/default"
    style = client.get(f"{base}?f=mapbox").json()
    assert style["version"] == 8
    assert any(la.get("source-layer") == layer_id for la in style["layers"])
    assert (
        ET.fromstring(client.get(f"{base}?f=sld11").content).attrib["version"]
        == "1.1.0"
    )
    qml = client.get(f"{base}?f=qml").content
    assert ET.fromstring(qml.split(b"\n", 1)[1]).tag == "qgis"
    assert client.get(f"{base}/legend").headers["content-type"] == "image/svg+xml"
