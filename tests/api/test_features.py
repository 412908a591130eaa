"""OGC API Features Part 1 and 2 on the demo city: paging, bbox, datetime, CRS."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest
from pyproj import Transformer

from gis.db import libpq_url

EPSG = "http://www.opengis.net/def/crs/EPSG/0/"
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"


def _ids(url: str, sql: str, params: tuple[Any, ...] = ()) -> list[int]:
    with psycopg.connect(libpq_url(url)) as conn:
        return [r[0] for r in conn.execute(sql, params).fetchall()]


def _follow(client: Any, url: str, rel: str = "next") -> list[dict[str, Any]]:
    pages = []
    for _ in range(1000):
        body = client.get(url).json()
        pages.append(body)
        nxt = [lk["href"] for lk in body["links"] if lk["rel"] == rel]
        if not nxt:
            return pages
        url = nxt[0].replace("http://testserver", "")
    raise AssertionError("paging did not end")


def test_paging_reaches_every_feature_once(client: Any, city_url: str) -> None:
    pages = _follow(client, "/collections/street_lights/items?limit=37")
    got = [f["id"] for p in pages for f in p["features"]]
    assert got == _ids(city_url, "SELECT id FROM street_light ORDER BY id")
    assert pages[0]["numberMatched"] == len(got)
    assert all(p["numberReturned"] == len(p["features"]) for p in pages)


def test_prev_link_returns_the_previous_page(client: Any) -> None:
    first = client.get("/collections/trees/items?limit=5").json()
    nxt = next(lk["href"] for lk in first["links"] if lk["rel"] == "next")
    second = client.get(nxt.replace("http://testserver", "")).json()
    prev = next(lk["href"] for lk in second["links"] if lk["rel"] == "prev")
    back = client.get(prev.replace("http://testserver", "")).json()
    assert [f["id"] for f in back["features"]] == [f["id"] for f in first["features"]]


def test_sortby_pages_in_order(client: Any, city_url: str) -> None:
    pages = _follow(client, "/collections/trees/items?limit=50&sortby=-height_m")
    got = [f["id"] for p in pages for f in p["features"]]
    want = _ids(city_url, "SELECT id FROM tree ORDER BY height_m DESC NULLS LAST, id")
    assert got == want


def test_bbox_matches_postgis(client: Any, city_url: str) -> None:
    box = (108.09, 10.92, 108.11, 10.94)
    body = client.get(
        "/collections/land_parcels/items",
        params={"bbox": ",".join(map(str, box)), "limit": 10000},
    ).json()
    want = _ids(
        city_url,
        "SELECT id FROM land_parcel WHERE ST_Intersects(geom, "
        "ST_MakeEnvelope(%s,%s,%s,%s,4326)) ORDER BY id",
        box,
    )
    assert want, "the test box should hold parcels"
    assert [f["id"] for f in body["features"]] == want
    assert body["numberMatched"] == len(want)


def test_bbox_in_vn2000(client: Any, city_url: str) -> None:
    to_tm3 = Transformer.from_crs(4326, 9218, always_xy=True)
    x1, y1 = to_tm3.transform(108.09, 10.92)
    x2, y2 = to_tm3.transform(108.11, 10.94)
    r = client.get(
        "/collections/land_parcels/items",
        params={
            "bbox": f"{x1},{y1},{x2},{y2}",
            "bbox-crs": f"{EPSG}9218",
            "limit": 10000,
        },
    )
    assert r.status_code == 200
    got = {f["id"] for f in r.json()["features"]}
    exact = set(
        _ids(
            city_url,
            "SELECT id FROM land_parcel WHERE ST_Intersects("
            "ST_Transform(geom, 9218), ST_MakeEnvelope(%s,%s,%s,%s,9218))",
            (x1, y1, x2, y2),
        )
    )
    assert got == exact


def test_crs_vn2000_tm3_to_the_centimetre(client: Any) -> None:
    wgs = client.get("/collections/street_lights/items/1").json()
    lon, lat = wgs["geometry"]["coordinates"]
    r = client.get(f"/collections/street_lights/items/1?crs={EPSG}9218")
    assert r.headers["Content-Crs"] == f"<{EPSG}9218>"
    x, y = r.json()["geometry"]["coordinates"]
    ex, ey = Transformer.from_crs(4326, 9218, always_xy=True).transform(lon, lat)
    assert abs(x - ex) < 0.01
    assert abs(y - ey) < 0.01


def test_epsg_4326_is_latitude_first(client: Any) -> None:
    lon, lat = client.get("/collections/trees/items/1").json()["geometry"][
        "coordinates"
    ]
    r = client.get(f"/collections/trees/items/1?crs={EPSG}4326")
    assert r.json()["geometry"]["coordinates"] == [lat, lon]
    assert (
        client.get("/collections/trees/items/1").headers["Content-Crs"] == f"<{CRS84}>"
    )


def test_datetime_interval_on_the_layer_time(client: Any, city_url: str) -> None:
    r = client.get(
        "/collections/field_reports/items",
        params={
            "datetime": "2025-01-01T00:00:00Z/2025-03-31T23:59:59Z",
            "limit": 10000,
        },
    )
    want = _ids(
        city_url,
        "SELECT id FROM field_report WHERE received_at BETWEEN "
        "'2025-01-01T00:00:00Z' AND '2025-03-31T23:59:59Z' ORDER BY id",
    )
    assert [f["id"] for f in r.json()["features"]] == want
    open_end = client.get(
        "/collections/field_reports/items",
        params={"datetime": "2026-06-01T00:00:00Z/..", "limit": 1},
    )
    assert open_end.status_code == 200


def test_property_equals_and_properties_and_skip_geometry(client: Any) -> None:
    body = client.get(
        "/collections/street_lights/items",
        params={
            "status": "on",
            "properties": "status,power_w",
            "skipGeometry": "true",
            "limit": 20,
        },
    ).json()
    assert body["features"]
    for f in body["features"]:
        assert f["geometry"] is None
        assert set(f["properties"]) == {"status", "power_w"}
        assert f["properties"]["status"] == "on"


def test_etag_and_304(client: Any) -> None:
    r = client.get("/collections/trees/items?limit=3")
    assert r.headers["Cache-Control"].startswith("public")
    again = client.get(
        "/collections/trees/items?limit=3", headers={"If-None-Match": r.headers["ETag"]}
    )
    assert again.status_code == 304


@pytest.mark.parametrize(
    ("query", "fragment"),
    [
        ("limit=0", "limit"),
        ("limit=10001", "limit"),
        ("limit=abc", "limit"),
        ("bbox=1,2,3", "bbox"),
        ("bbox=a,b,c,d", "bbox"),
        ("bbox=108,11,108.1,10.9", "bbox"),
        ("bbox=0,-91,1,1", "bbox"),
        ("crs=EPSG:2154", "CRS"),
        (f"crs={EPSG}6959", "CRS"),
        ("bbox-crs=EPSG:4326", "bbox-crs"),
        ("datetime=yesterday", "datetime"),
        ("datetime=2025-01-01T00:00:00", "time zone"),
        ("datetime=../..", "datetime"),
        ("datetime=2026-01-01T00:00:00Z/2025-01-01T00:00:00Z", "datetime"),
        ("sortby=geom", "sortby"),
        ("properties=nope", "properties"),
        ("skipGeometry=maybe", "skipGeometry"),
        ("cursor=%%%", "cursor"),
        ("cursor=eyJ2IjpbMV0sImkiOjN9", "cursor"),
        ("limit=1&limit=2", "limit"),
        ("owner=x", "owner"),
    ],
)
def test_bad_items_requests_are_400(client: Any, query: str, fragment: str) -> None:
    r = client.get(f"/collections/trees/items?{query}")
    assert r.status_code == 400, r.text
    body = r.json()
    assert r.headers["content-type"] == "application/problem+json"
    assert body["code"] == "InvalidParameterValue"
    assert fragment.lower() in body["detail"].lower()


def test_unknown_feature_is_404(client: Any) -> None:
    for fid in ("999999999", "abc", "1e5", "99999999999999999999999"):
        r = client.get(f"/collections/trees/items/{fid}")
        assert r.status_code == 404, fid
        assert r.json()["code"] == "NotFound"


def test_items_html_pages(client: Any) -> None:
    r = client.get("/collections/trees/items?f=html&limit=5")
    assert r.status_code == 200
    assert "CX-" in r.text or "<table>" in r.text
