"""Real clients nobody on the team wrote: GDAL's OAPIF driver and OWSLib."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import httpx
import psycopg
import pytest
from owslib.ogcapi.features import Features

from gis.db.urls import libpq_url
from layers import CATALOGUE


def _run(*argv: str) -> str:
    out = subprocess.run(argv, capture_output=True, text=True, timeout=300, check=False)
    assert out.returncode == 0, out.stderr
    return out.stdout


def _count(url: str, sql: str, params: tuple[object, ...] = ()) -> int:
    with psycopg.connect(libpq_url(url)) as conn:
        return int(conn.execute(sql, params).fetchone()[0])


def test_ogrinfo_lists_public_layers(live_url: str) -> None:
    out = _run("ogrinfo", "-ro", "-so", f"OAPIF:{live_url}/")
    assert "land_parcels" in out
    assert "trees" in out
    assert "cameras" not in out


def _feature_count(info: str) -> int:
    found = re.search(r"^Feature Count: (\d+)", info, flags=re.MULTILINE)
    assert found, info
    return int(found.group(1))


def test_ogrinfo_feature_count_equals_number_matched(
    live_url: str, city_url: str
) -> None:
    # GDAL 3.6 has no ogrinfo -json: read its text report
    out = _run("ogrinfo", "-ro", "-so", f"OAPIF:{live_url}/", "street_lights")
    assert _feature_count(out) == _count(city_url, "SELECT count(*) FROM street_light")


def test_ogr2ogr_copies_with_spat_and_where(
    live_url: str, city_url: str, tmp_path: Path
) -> None:
    dest = tmp_path / "parcels.gpkg"
    _run(
        "ogr2ogr",
        "-f",
        "GPKG",
        str(dest),
        f"OAPIF:{live_url}/",
        "land_parcels",
        "-spat",
        "108.08",
        "10.91",
        "108.12",
        "10.95",
        "-where",
        "land_use = 'ODT'",
    )
    got = _feature_count(_run("ogrinfo", "-ro", "-so", str(dest), "land_parcels"))
    want = _count(
        city_url,
        "SELECT count(*) FROM land_parcel WHERE land_use = 'ODT' AND "
        "ST_Intersects(geom, ST_MakeEnvelope(108.08, 10.91, 108.12, 10.95, 4326))",
    )
    assert want > 0
    assert got == want


def test_gdal_and_server_agree_in_vn2000_tm3(live_url: str, tmp_path: Path) -> None:
    # GDAL 3.6's OAPIF driver has no CRS option (Part 2 arrived in 3.7): let GDAL and
    # PROJ reproject client-side and compare with the server's own crs=EPSG:9218
    dest = tmp_path / "lights.geojson"
    _run(
        "ogr2ogr",
        "-f",
        "GeoJSON",
        str(dest),
        f"OAPIF:{live_url}/",
        "street_lights",
        "-t_srs",
        "EPSG:9218",
        "-lco",
        "COORDINATE_PRECISION=4",
        "-preserve_fid",
    )
    gdal = {
        f["id"]: f["geometry"]["coordinates"]
        for f in json.loads(dest.read_text())["features"]
    }
    body = httpx.get(
        f"{live_url}/collections/street_lights/items",
        params={"crs": "http://www.opengis.net/def/crs/EPSG/0/9218", "limit": 10000},
    ).json()
    assert len(body["features"]) == len(gdal)
    for f in body["features"]:
        x, y = f["geometry"]["coordinates"]
        gx, gy = gdal[f["id"]]
        assert abs(x - gx) < 0.01
        assert abs(y - gy) < 0.01
        assert 400_000 < x < 520_000  # eastings in the 108°30′ zone


def test_owslib_features(live_url: str, city_url: str) -> None:
    api = Features(live_url)
    ids = [c["id"] for c in api.collections()["collections"]]
    assert "trees" in ids
    assert "cameras" not in ids
    items = api.collection_items("trees", limit=7, health="good")
    assert len(items["features"]) == 7
    assert all(f["properties"]["health"] == "good" for f in items["features"])
    assert items["numberMatched"] == _count(
        city_url, "SELECT count(*) FROM tree WHERE health = 'good'"
    )


PUBLIC_LAYERS = sorted(k for k, v in CATALOGUE.items() if v.access.is_public)


@pytest.mark.parametrize("layer_id", PUBLIC_LAYERS)
def test_gdal_copies_every_public_layer(
    live_url: str, city_url: str, tmp_path: Path, layer_id: str
) -> None:
    table = CATALOGUE[layer_id].table.name
    want = _count(city_url, f"SELECT count(*) FROM {table}")
    dest = tmp_path / f"{layer_id}.gpkg"
    # the whole layer, paged by GDAL through our next links, into a GeoPackage
    _run(
        "ogr2ogr",
        "-f",
        "GPKG",
        str(dest),
        f"OAPIF:{live_url}/",
        layer_id,
        "-oo",
        "PAGE_SIZE=5000",
        "-nln",
        layer_id,
    )
    assert _feature_count(_run("ogrinfo", "-ro", "-so", str(dest), layer_id)) == want


@pytest.mark.parametrize(
    "layer_id", [k for k in PUBLIC_LAYERS if CATALOGUE[k].geometry_type]
)
def test_owslib_reads_in_vn2000(live_url: str, layer_id: str) -> None:
    api = Features(live_url)
    items = api.collection_items(
        layer_id, limit=5, crs="http://www.opengis.net/def/crs/EPSG/0/9218"
    )
    with_geometry = [f for f in items["features"] if f["geometry"]]
    if not with_geometry:  # power lines come only with open data
        assert layer_id == "power_lines"
        return
    coords = json.dumps(with_geometry[0]["geometry"]["coordinates"])
    first = float(coords.replace("[", "").split(",")[0])
    assert 300_000 < first < 700_000  # an easting of the 108°30′ zone


def test_owslib_filter_gives_exactly_the_matching_features(
    live_url: str, city_url: str
) -> None:
    api = Features(live_url)
    items = api.collection_items(
        "land_parcels", filter="land_use = 'ODT' AND area_legal_m2 > 300", limit=10000
    )
    want = _count(
        city_url,
        "SELECT count(*) FROM land_parcel WHERE land_use = 'ODT' AND area_legal_m2 > 300",
    )
    assert want > 0
    assert len(items["features"]) == want
    assert all(f["properties"]["land_use"] == "ODT" for f in items["features"])
