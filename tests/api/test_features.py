"""OGC API Features Part 1 and 2 on the demo city: paging, bbox, datetime, CRS."""

from __future__ import annotations

import json
from typing import Any

import psycopg
import pytest
from pyproj import Transformer

from gis.db.urls import libpq_url

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


@pytest.mark.parametrize("collection", ["pois", "roads", "power_lines"])
def test_datetime_on_a_layer_without_time_is_a_400(
    client: Any, collection: str
) -> None:
    """It was a 500: the statement had no time to compare the interval with."""
    r = client.get(
        f"/collections/{collection}/items",
        params={"datetime": "2026-01-01T00:00:00Z", "lang": "en"},
    )
    assert r.status_code == 400, r.text
    body = r.json()
    assert body["detail"] == f"datetime: {collection} has no time"
    assert body["code"] == "InvalidParameterValue"


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


def test_integer_properties_compare_as_integers(client: Any, city_url: str) -> None:
    """``sheet_no=4`` is the integer 4 (so "04" names it too, and the index on the
    column answers); a value no integer column can hold is a 400, not an empty page."""
    sheet, number = _ids(city_url, "SELECT sheet_no FROM land_parcel ORDER BY id")[0], 1
    want = _ids(
        city_url,
        "SELECT id FROM land_parcel WHERE sheet_no = %s AND parcel_no = %s ORDER BY id",
        (sheet, number),
    )
    assert want
    for given in (str(sheet), f"0{sheet}"):
        page = client.get(
            "/collections/land_parcels/items",
            params={"sheet_no": given, "parcel_no": number, "limit": 100},
        )
        assert page.status_code == 200, page.text
        assert [f["id"] for f in page.json()["features"]] == want
    for bad in ("abc", "4.0", " 4", "99999999999", "4²"):
        r = client.get("/collections/land_parcels/items", params={"sheet_no": bad})
        assert r.status_code == 400, (bad, r.text)
        assert r.json()["parameter"] == "sheet_no"


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
        ("datetime=2025-13-01T00:00:00", "RFC 3339"),
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


@pytest.mark.parametrize(
    "path",
    [
        "/collections/land_parcels/items?limit=50",
        "/collections/roads/items?limit=20",
        "/collections/trees/items?limit=20&skipGeometry=true",
        "/collections/env_observations/items?limit=20",
        "/collections/admin_units/items?limit=5",
    ],
)
def test_geojson_against_its_schema(client: Any, path: str) -> None:
    from geojson_pydantic import Feature, FeatureCollection
    from jsonschema import validate

    body = client.get(path).json()
    validate(body, FeatureCollection.model_json_schema())
    assert body["features"], path
    one = body["features"][0]["id"]
    item = client.get(path.split("?")[0] + f"/{one}").json()
    validate(item, Feature.model_json_schema())


def test_csv_is_built_by_postgresql(client: Any) -> None:
    import csv
    import io

    r = client.get("/collections/street_lights/items?f=csv&limit=5")
    assert r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert len(rows) == 5
    assert rows[0]["wkt"].startswith("POINT(")
    assert 'rel="next"' in r.headers["Link"]


def test_gzip_when_asked(client: Any) -> None:
    r = client.get(
        "/collections/land_parcels/items?limit=100", headers={"Accept-Encoding": "gzip"}
    )
    assert r.headers["content-encoding"] == "gzip"
    assert r.json()["numberReturned"] == 100


def test_an_edit_changes_etag_and_last_modified(db_url: str) -> None:
    from fastapi.testclient import TestClient

    from api.app import create_app
    from gis.settings import Settings

    with psycopg.connect(libpq_url(db_url), autocommit=True) as conn:
        conn.execute(
            "INSERT INTO tree (tree_code, species_vi, geom) VALUES "
            "('CX-1', 'Sao đen', ST_SetSRID(ST_MakePoint(108.1, 10.93), 4326))"
        )
    with TestClient(create_app(Settings(), database_url=db_url)) as c:
        first = c.get("/collections/trees/items")
        tag = first.headers["ETag"]
        assert (
            c.get(
                "/collections/trees/items", headers={"If-None-Match": tag}
            ).status_code
            == 304
        )
        # an edit from psql, outside the API, bumps the layer's data version
        with psycopg.connect(libpq_url(db_url), autocommit=True) as conn:
            conn.execute("UPDATE tree SET species_vi = 'Dầu rái'")
        second = c.get("/collections/trees/items", headers={"If-None-Match": tag})
        assert second.status_code == 200
        assert second.headers["ETag"] != tag
        assert second.json()["features"][0]["properties"]["species_vi"] == "Dầu rái"
        assert "Last-Modified" in second.headers


def test_statement_timeout_is_503_with_retry_after(city_url: str) -> None:
    from fastapi.testclient import TestClient

    from api.app import create_app
    from gis.settings import DbSettings, Settings

    settings = Settings(db=DbSettings(statement_timeout_ms=1))
    with TestClient(create_app(settings, database_url=city_url)) as c:
        path = "/collections/land_parcels/items?limit=10000&sortby=-area_legal_m2"
        r = c.get(f"{path}&lang=en")
        vi = c.get(path).json()
    assert r.status_code == 503
    assert r.headers["Retry-After"]
    body = r.json()
    assert body["code"] == "NoApplicableCode"
    assert "statement" in body["detail"]
    assert "thời gian" in vi["detail"]  # in the caller's language
    assert "canceling" not in r.text  # PostgreSQL's own text never reaches a client


def test_concurrent_clients_get_no_errors(live_url: str) -> None:
    import asyncio

    import httpx

    async def run(concurrency: int) -> list[int]:
        limits = httpx.Limits(max_connections=concurrency)
        async with httpx.AsyncClient(base_url=live_url, limits=limits, timeout=60) as c:

            async def one(i: int) -> int:
                lon = 108.08 + (i % 20) * 0.002
                r = await c.get(
                    "/collections/land_parcels/items",
                    params={"bbox": f"{lon},10.92,{lon + 0.003},10.923", "limit": 100},
                )
                return r.status_code

            return await asyncio.gather(*(one(i) for i in range(concurrency * 3)))

    for concurrency in (16, 64):
        statuses = asyncio.run(run(concurrency))
        assert statuses == [200] * len(statuses), concurrency


@pytest.mark.parametrize("sortby", ["height_m", "-height_m", "-height_m,species_vi"])
def test_keyset_paging_with_nulls_both_ways(db_url: str, sortby: str) -> None:
    from fastapi.testclient import TestClient

    from api.app import create_app
    from gis.settings import Settings

    with psycopg.connect(libpq_url(db_url), autocommit=True) as conn:
        conn.execute(
            "INSERT INTO tree (tree_code, species_vi, height_m, geom) "
            "SELECT 'CX-' || i, CASE WHEN i % 3 = 0 THEN NULL ELSE 'Bàng' END, "
            "CASE WHEN i % 4 = 0 THEN NULL ELSE (i % 7) END, "
            "ST_SetSRID(ST_MakePoint(108.1 + i * 1e-4, 10.93), 4326) "
            "FROM generate_series(1, 61) i"
        )
        keys = ", ".join(
            f"{k.lstrip('-')} {'DESC' if k.startswith('-') else 'ASC'} NULLS LAST"
            for k in sortby.split(",")
        )
        want = [r[0] for r in conn.execute(f"SELECT id FROM tree ORDER BY {keys}, id")]
    with TestClient(create_app(Settings(), database_url=db_url)) as c:
        pages = _follow(c, f"/collections/trees/items?limit=7&sortby={sortby}")
        assert [f["id"] for p in pages for f in p["features"]] == want
        # and back again from the last page by prev links
        last = pages[-1]
        back = [[f["id"] for f in last["features"]]]
        url = next((lk["href"] for lk in last["links"] if lk["rel"] == "prev"), None)
        while url:
            body = c.get(url.replace("http://testserver", "")).json()
            back.insert(0, [f["id"] for f in body["features"]])
            url = next(
                (lk["href"] for lk in body["links"] if lk["rel"] == "prev"), None
            )
        assert [i for page in back for i in page] == want


def test_cql2_filter_through_the_api(client: Any, city_url: str) -> None:
    flt = "land_use = 'ODT' AND area_legal_m2 > 200 AND sheet_no BETWEEN 1 AND 50"
    body = client.get(
        "/collections/land_parcels/items", params={"filter": flt, "limit": 10000}
    ).json()
    want = _ids(
        city_url,
        "SELECT id FROM land_parcel WHERE land_use = 'ODT' AND "
        "area_legal_m2 > 200 AND sheet_no BETWEEN 1 AND 50 ORDER BY id",
    )
    assert want
    assert [f["id"] for f in body["features"]] == want
    assert body["numberMatched"] == len(want)
    as_json = {
        "op": "and",
        "args": [
            {"op": "=", "args": [{"property": "land_use"}, "ODT"]},
            {"op": ">", "args": [{"property": "area_legal_m2"}, 200]},
            {"op": "between", "args": [{"property": "sheet_no"}, 1, 50]},
        ],
    }
    body = client.get(
        "/collections/land_parcels/items",
        params={
            "filter": json.dumps(as_json),
            "filter-lang": "cql2-json",
            "limit": 10000,
        },
    ).json()
    assert [f["id"] for f in body["features"]] == want
    # combined with bbox and paging, and spatial in VN-2000
    r = client.get(
        "/collections/land_parcels/items",
        params={
            "filter": "S_INTERSECTS(geometry, POINT(456084 1208744))",
            "filter-crs": "http://www.opengis.net/def/crs/EPSG/0/9218",
        },
    )
    assert r.status_code == 200


@pytest.mark.parametrize(
    "flt",
    [
        "nope = 1",
        "land_use = ",
        "land_use = 'x'; DROP TABLE land_parcel; --",
        "sheet_no = 'abc'",
        "(" * 1000 + "sheet_no = 1" + ")" * 1000,
    ],
)
def test_bad_filters_are_400(client: Any, flt: str) -> None:
    r = client.get("/collections/land_parcels/items", params={"filter": flt})
    assert r.status_code == 400, r.text
    assert r.json()["code"] == "InvalidParameterValue"


def test_filter_lang_without_filter_is_400(client: Any) -> None:
    r = client.get("/collections/land_parcels/items?filter-lang=cql2-json")
    assert r.status_code == 400


def test_a_citizen_finds_phan_thiet_without_diacritics(db_url: str) -> None:
    from fastapi.testclient import TestClient

    from api.app import create_app
    from gis.settings import Settings

    with psycopg.connect(libpq_url(db_url), autocommit=True) as conn:
        conn.execute(
            "INSERT INTO poi (name, category, geom) VALUES "
            "('Chợ Phan Thiết', 'commerce', ST_SetSRID(ST_MakePoint(108.1, 10.93), 4326)),"
            "('Đồi cát Mũi Né', 'tourism', ST_SetSRID(ST_MakePoint(108.3, 10.95), 4326))"
        )
        plan = "\n".join(
            r[0]
            for r in conn.execute(
                "EXPLAIN SELECT id FROM poi WHERE lower(translate(regexp_replace("
                "normalize(name, NFD), E'[\\u0300-\\u036f]', '', 'g'), 'đĐ', 'dD')) "
                "LIKE '%phan thiet%'"
            )
        )
    assert "ix_poi_name_folded" in plan or "Seq Scan" in plan  # tiny table: either
    with TestClient(create_app(Settings(), database_url=db_url)) as c:
        for text, want in (
            ("phan thiet", "Chợ Phan Thiết"),
            ("doi cat", "Đồi cát Mũi Né"),
        ):
            r = c.get(
                "/collections/pois/items",
                params={
                    "filter": f"CASEI(ACCENTI(name)) LIKE CASEI(ACCENTI('%{text}%'))"
                },
            )
            assert r.status_code == 200, r.text
            assert [f["properties"]["name"] for f in r.json()["features"]] == [want]
