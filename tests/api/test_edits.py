"""Writes (OGC API Features Part 4): what is stored, what is refused, and that nothing
is lost: every bad body is a 4xx that changes nothing; concurrent writers all land.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import Iterator
from typing import Any

import httpx
import psycopg
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from gis.db.pool import Claims, fetch_one, open_pool
from gis.db.urls import libpq_url
from gis.settings import DbSettings, Settings
from gis.sql.compiled import Compiled
from tests.api.principals import bearer, settings
from tests.conftest import create_database, drop_database, served

WARD = "22945"
OFFICER = bearer("land_officer", wards=(WARD,), sub="lan")
PARCELS = "/collections/land_parcels/items"
SQUARE = [[[108.10, 10.93], [108.1003, 10.93], [108.1003, 10.9303],
           [108.10, 10.9303], [108.10, 10.93]]]  # fmt: skip
GEOJSON = {"Content-Type": "application/geo+json"}


# a parcel's number is unique on its sheet (migration 0015): each body a new one
_numbers = itertools.count(50_000)


def parcel(**props: Any) -> dict[str, Any]:
    base = {
        "ward_code": WARD,
        "sheet_no": 7,
        "parcel_no": next(_numbers),
        "land_use": "ODT",
    }
    return {
        "type": "Feature",
        "geometry": {"type": "Polygon", "coordinates": SQUARE},
        "properties": {**base, **props},
    }


@pytest.fixture(scope="module")
def city(server_url: str, migrated_template: str) -> Iterator[str]:
    from dothi.demo import build_demo

    url = create_database(server_url, "edits_city", template=migrated_template)
    build_demo(url, seed=0.3, scale=0.02, open_data=None)
    yield url
    drop_database(server_url, "edits_city")


@pytest.fixture(scope="module")
def client(city: str) -> Iterator[TestClient]:
    with TestClient(create_app(settings(), database_url=city)) as c:
        yield c


def _sql(url: str, query: str, *args: Any) -> Any:
    with psycopg.connect(libpq_url(url)) as conn:
        return conn.execute(query, args).fetchall()


def _create(c: TestClient, body: dict[str, Any], **headers: str) -> int:
    r = c.post(
        PARCELS, content=json.dumps(body), headers={**OFFICER, **GEOJSON, **headers}
    )
    assert r.status_code == 201, r.text
    assert r.headers["Cache-Control"] == "no-store"
    return int(r.headers["Location"].rsplit("/", 1)[1])


def test_create_then_read_back(client: TestClient, city: str) -> None:
    fid = _create(client, parcel(address="12 Trần Hưng Đạo", area_legal_m2=120.5))
    got = client.get(f"{PARCELS}/{fid}").json()
    assert got["properties"]["address"] == "12 Trần Hưng Đạo"
    assert got["properties"]["area_legal_m2"] == 120.5
    assert got["properties"]["source_crs"] == 4326
    assert got["geometry"]["type"] == "MultiPolygon"  # stored as the layer's type
    assert got["geometry"]["coordinates"] == [SQUARE]
    audit = _sql(city, "SELECT action, subject, auth FROM audit_log "
                 "WHERE layer = 'land_parcels' AND %s = ANY(feature_ids)", fid)  # fmt: skip
    assert audit == [("create", "lan", "jwt")]


def test_create_in_vn2000_is_stored_as_postgis_transforms_it(
    client: TestClient, city: str
) -> None:
    # the square's corners in VN-2000 / TM-3 108°30' (Bình Thuận), as PostGIS has them
    rows = _sql(
        city,
        "SELECT ST_AsGeoJSON(ST_Transform(ST_GeomFromGeoJSON(%s), 9218), 3)",
        json.dumps({"type": "Polygon", "coordinates": SQUARE, "crs": {
            "type": "name", "properties": {"name": "EPSG:4326"}}}),
    )  # fmt: skip
    projected = json.loads(rows[0][0])
    body = {**parcel(parcel_no=2), "geometry": projected}
    crs = "<http://www.opengis.net/def/crs/EPSG/0/9218>"
    fid = _create(client, body, **{"Content-Crs": crs.strip("<>")})
    back = _sql(
        city,
        "SELECT source_crs, ST_HausdorffDistance(ST_Transform(geom, 9218), "
        "ST_SetSRID(ST_GeomFromGeoJSON(%s), 9218)) FROM land_parcel WHERE id = %s",
        json.dumps(projected),
        fid,
    )
    assert back[0][0] == 9218
    assert back[0][1] < 0.01  # within a centimetre


def test_latitude_first_in_epsg_4326(client: TestClient, city: str) -> None:
    flipped = [[[y, x] for x, y in ring] for ring in SQUARE]
    body = {
        **parcel(parcel_no=3),
        "geometry": {"type": "Polygon", "coordinates": flipped},
    }
    fid = _create(
        client, body, **{"Content-Crs": "http://www.opengis.net/def/crs/EPSG/0/4326"}
    )
    x = _sql(city, "SELECT ST_XMin(geom) FROM land_parcel WHERE id = %s", fid)[0][0]
    assert abs(x - 108.10) < 1e-9


def test_replace_sets_every_property_and_patch_only_the_named(
    client: TestClient, city: str
) -> None:
    fid = _create(client, parcel(parcel_no=4, address="cũ", map_scale=1000))
    r = client.patch(
        f"{PARCELS}/{fid}",
        content=json.dumps({"properties": {"address": "mới", "map_scale": None}}),
        headers={**OFFICER, "Content-Type": "application/merge-patch+json"},
    )
    assert r.status_code == 204, r.text
    after = client.get(f"{PARCELS}/{fid}").json()["properties"]
    assert (after["address"], after["map_scale"], after["parcel_no"]) == (
        "mới",
        None,
        4,
    )
    r = client.put(
        f"{PARCELS}/{fid}",
        content=json.dumps(parcel(parcel_no=5)),
        headers={**OFFICER, **GEOJSON},
    )
    assert r.status_code == 204, r.text
    after = client.get(f"{PARCELS}/{fid}").json()["properties"]
    assert (after["address"], after["parcel_no"]) == (None, 5)  # left out: NULL
    assert after["valid_from"] is not None  # left out, with a default: the default
    r = client.delete(f"{PARCELS}/{fid}", headers=OFFICER)
    assert r.status_code == 204
    assert client.get(f"{PARCELS}/{fid}").status_code == 404
    assert client.delete(f"{PARCELS}/{fid}", headers=OFFICER).status_code == 404


def test_what_was_read_can_be_written_back(client: TestClient) -> None:
    """QGIS sends back what it read: server-kept and derived fields are ignored."""
    fid = _create(client, parcel(parcel_no=6))
    read = client.get(f"{PARCELS}/{fid}", headers=OFFICER).json()
    assert "land_users" in read["properties"] and "updated_at" in read["properties"]
    read["properties"]["address"] = "sửa trong QGIS"
    r = client.put(
        f"{PARCELS}/{fid}", content=json.dumps(read), headers={**OFFICER, **GEOJSON}
    )
    assert r.status_code == 204, r.text
    assert (
        client.get(f"{PARCELS}/{fid}").json()["properties"]["address"]
        == "sửa trong QGIS"
    )


BIG_RING = [[[108.1 + 0.001 * i / 60_000, 10.93] for i in range(60_000)]
            + [[108.1, 10.94], [108.1, 10.93]]] * 2  # fmt: skip
BAD_BODIES: list[tuple[str, Any, dict[str, str], int, str]] = [
    ("not json", b"{", {}, 400, "not valid JSON"),
    ("an array", [], {}, 400, "JSON object"),
    ("a collection", {"type": "FeatureCollection", "features": []}, {}, 400, "Feature"),
    ("unknown property", parcel(owner="x"), {}, 400, "unknown properties: owner"),
    ("string for integer", parcel(sheet_no="7"), {}, 400, "sheet_no: expected an integer"),
    ("bool for integer", parcel(sheet_no=True), {}, 400, "sheet_no: expected an integer"),
    ("integer overflow", parcel(sheet_no=2**40), {}, 400, "32 bits"),
    ("float overflow", parcel(sheet_no=1e30), {}, 400, "32 bits"),
    ("beyond 64 bits", parcel(map_scale=2**64), {}, 400, "32 bits"),
    ("huge float", parcel(sheet_no=1e300), {}, 400, "32 bits"),
    ("fraction for integer", parcel(sheet_no=1.5), {}, 400, "sheet_no"),
    ("numeric overflow", parcel(area_legal_m2=1e12), {}, 400, "area_legal_m2"),
    ("not a date", parcel(valid_from="31/12/2024"), {}, 400, "valid_from"),
    ("NUL in text", parcel(address="a\x00b"), {}, 400, "NUL"),
    ("text too long", parcel(address="x" * 10_001), {}, 400, "10000 characters"),
    ("required missing", parcel(land_use=None), {}, 400, "land_use: a value is required"),
    ("unknown code", parcel(land_use="XYZ"), {}, 400, "land_use: not a value of its code list"),
    ("no geometry", {**parcel(), "geometry": None}, {}, 400, "MultiPolygon is required"),
    ("wrong geometry type", {**parcel(), "geometry": {"type": "Point", "coordinates": [108.1, 10.93]}},
     {}, 400, "expected a MultiPolygon, got a Point"),
    ("self-intersecting", {**parcel(), "geometry": {"type": "Polygon", "coordinates": [[
        [108.1, 10.93], [108.11, 10.94], [108.11, 10.93], [108.1, 10.94], [108.1, 10.93]]]}},
     {}, 400, "not valid (Self-intersection"),
    ("axes swapped", {**parcel(), "geometry": {"type": "Polygon", "coordinates": [
        [[y, x] for x, y in SQUARE[0]]]}}, {}, 400, "outside Vietnam"),
    ("too many vertices", {**parcel(), "geometry": {"type": "Polygon", "coordinates": BIG_RING}},
     {}, 400, "more than 100000 vertices"),
    ("garbage geometry", {**parcel(), "geometry": {"type": "Polygon", "coordinates": "x"}},
     {}, 400, "not a valid GeoJSON geometry"),
    ("media type", parcel(), {"Content-Type": "text/plain"}, 415, "application/geo+json"),
    ("unknown CRS", parcel(), {"Content-Crs": "http://www.opengis.net/def/crs/EPSG/0/2154"},
     400, "crs"),
    ("another ward", parcel(ward_code="22924"), {}, 403, "only in your wards"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("body", "headers", "status", "says"),
    [pytest.param(b, h, s, m, id=name) for name, b, h, s, m in BAD_BODIES],
)
def test_bad_bodies_are_refused_and_change_nothing(
    client: TestClient,
    city: str,
    body: Any,
    headers: dict[str, str],
    status: int,
    says: str,
) -> None:
    before = _sql(city, "SELECT count(*), max(version) FROM land_parcel, layer_version "
                  "WHERE table_name = 'land_parcel'")  # fmt: skip
    content = body if isinstance(body, bytes) else json.dumps(body)
    english = {"Accept-Language": "en"}  # the details below are quoted in English
    r = client.post(
        PARCELS, content=content, headers={**OFFICER, **GEOJSON, **english, **headers}
    )
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert says.lower() in r.json()["detail"].lower(), r.json()["detail"]
    assert "psycopg" not in r.text and "violates" not in r.text  # no database text
    after = _sql(city, "SELECT count(*), max(version) FROM land_parcel, layer_version "
                 "WHERE table_name = 'land_parcel'")  # fmt: skip
    assert after == before


def test_conflicts_and_ids(client: TestClient, city: str) -> None:
    code = _sql(city, "SELECT camera_code FROM camera LIMIT 1")[0][0]
    admin = bearer("admin")
    cam = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [108.1, 10.93]},
           "properties": {"camera_code": code, "camera_type": "PTZ"}}  # fmt: skip
    r = client.post("/collections/cameras/items", content=json.dumps(cam),
                    headers={**admin, **GEOJSON})  # fmt: skip
    assert r.status_code == 409, r.text
    assert "camera_code" in r.json()["detail"]
    used = _sql(city, "SELECT parcel_id FROM land_certificate LIMIT 1")[0][0]
    r = client.delete(f"{PARCELS}/{used}", headers=admin)
    assert r.status_code == 409  # certificates refer to it: nothing deleted
    assert client.get(f"{PARCELS}/{used}").status_code == 200
    # a parcel's identity: one parcel per survey commune, sheet and number
    survey, sheet, number = _sql(
        city, "SELECT survey_ward_code, sheet_no, parcel_no FROM land_parcel "
        "WHERE ward_code = %s LIMIT 1", WARD)[0]  # fmt: skip
    twin = parcel(survey_ward_code=survey, sheet_no=sheet, parcel_no=number)
    r = client.post(PARCELS, content=json.dumps(twin), headers={**OFFICER, **GEOJSON})
    assert r.status_code == 409, r.text
    assert "survey_ward_code, sheet_no, parcel_no" in r.json()["detail"]
    fid = _create(client, parcel(parcel_no=8))
    r = client.put(f"{PARCELS}/{fid}", content=json.dumps({**parcel(), "id": fid + 1}),
                   headers={**OFFICER, **GEOJSON})  # fmt: skip
    assert r.status_code == 400
    for bad in ("abc", "0", "-1", str(2**64)):
        assert client.delete(f"{PARCELS}/{bad}", headers=admin).status_code == 404


def test_an_edit_is_seen_by_the_next_read(client: TestClient) -> None:
    fid = _create(client, parcel(parcel_no=9))
    first = client.get(f"{PARCELS}/{fid}")
    vary = {v.strip() for v in first.headers["Vary"].split(",")}
    assert {"Accept", "Accept-Language", "Authorization", "X-API-Key"} <= vary
    r = client.patch(f"{PARCELS}/{fid}", content=json.dumps({"properties": {"address": "B"}}),
                     headers={**OFFICER, "Content-Type": "application/merge-patch+json"})  # fmt: skip
    assert r.status_code == 204
    second = client.get(
        f"{PARCELS}/{fid}", headers={"If-None-Match": first.headers["ETag"]}
    )
    assert second.status_code == 200  # the old tag no longer matches
    assert second.json()["properties"]["address"] == "B"


@pytest.fixture(scope="module")
def live(city: str) -> Iterator[str]:
    with served(settings(), city) as url:
        yield url


def test_concurrent_writers_lose_nothing(live: str, city: str) -> None:
    async def run() -> tuple[list[httpx.Response], list[httpx.Response]]:
        async with httpx.AsyncClient(base_url=live, timeout=60) as c:
            creates = await asyncio.gather(*(
                c.post(PARCELS, content=json.dumps(parcel(sheet_no=77, parcel_no=i)),
                       headers={**OFFICER, **GEOJSON})
                for i in range(24)
            ))  # fmt: skip
            target = creates[0].headers["Location"].rsplit("/", 1)[1]
            # two clients patch two different properties of one feature at once
            patches = await asyncio.gather(*(
                c.patch(f"{PARCELS}/{target}", content=json.dumps({"properties": props}),
                        headers={**OFFICER, "Content-Type": "application/merge-patch+json"})
                for props in ({"address": "song song"}, {"map_scale": 500}) * 4
            ))  # fmt: skip
            return list(creates), list(patches)

    creates, patches = asyncio.run(run())
    assert [r.status_code for r in creates] == [201] * 24
    ids = {int(r.headers["Location"].rsplit("/", 1)[1]) for r in creates}
    assert len(ids) == 24
    stored = _sql(city, "SELECT count(*) FROM land_parcel WHERE sheet_no = 77 AND ward_code = %s",
                  WARD)  # fmt: skip
    assert stored == [(24,)]
    assert [r.status_code for r in patches] == [204] * 8
    target = int(creates[0].headers["Location"].rsplit("/", 1)[1])
    both = _sql(
        city, "SELECT address, map_scale FROM land_parcel WHERE id = %s", target
    )
    assert both == [("song song", 500)]
    audited = _sql(city, "SELECT count(*) FROM audit_log WHERE action = 'create' "
                   "AND layer = 'land_parcels' AND feature_ids && %s::bigint[]", list(ids))  # fmt: skip
    assert audited == [(24,)]


def test_statement_timeouts_follow_the_role(city: str) -> None:
    """A planner's statements may run 1 ms here, anonymous ones the default."""
    db = DbSettings(role_statement_timeout_ms={"planner": 1})
    big = "/collections/env_observations/items?limit=10000"
    with TestClient(create_app(settings(db=db), database_url=city)) as c:
        assert c.get(big).status_code == 200
        slow = c.get(big, headers=bearer("planner"))
        assert slow.status_code == 503, slow.text
        assert slow.headers["Retry-After"]
        assert c.get(big, headers=bearer("tree_crew")).status_code == 200


def test_claims_carry_the_timeout(city: str) -> None:
    sleep = Compiled("SELECT pg_sleep(0.3) AS slept", {})

    async def run(timeout_ms: int) -> Any:
        pool = await open_pool(city, Settings())
        try:
            claims = Claims(frozenset({"public", "planner"}), timeout_ms=timeout_ms)
            return await fetch_one(pool, sleep, {}, claims=claims)
        finally:
            await pool.close()

    with pytest.raises(psycopg.errors.QueryCanceled):
        asyncio.run(run(50))
    assert asyncio.run(run(5_000)) is not None


def test_owslib_creates_replaces_and_deletes(live: str, city: str) -> None:
    """A real OGC API client (OWSLib's Part 4 methods), signed in as a tree crew."""
    from owslib.ogcapi.features import Features

    def signed_in(role: str, sub: str = "") -> Features:
        # not Features(headers=...): OWSLib 0.3x updates its module-level default
        # headers in place, which would sign every later OWSLib client in
        client = Features(live)
        client.headers = {**client.headers, **bearer(role, sub=sub)}
        return client

    crew = signed_in("tree_crew", "doi-cay-xanh")
    tree = {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [108.101, 10.931]},
        "properties": {"species_vi": "Sao đen", "height_m": 7.5, "health": "good"},
    }
    assert crew.collection_item_create("trees", tree)
    fid = crew.response_headers["Location"].rsplit("/", 1)[1]
    got = crew.collection_item("trees", fid)
    assert got["properties"]["species_vi"] == "Sao đen"
    assert got["geometry"]["coordinates"] == [108.101, 10.931]
    tree["properties"]["height_m"] = 8.0
    assert crew.collection_item_update("trees", fid, json.dumps(tree))
    assert crew.collection_item("trees", fid)["properties"]["height_m"] == 8.0
    assert crew.collection_item_delete("trees", fid)
    assert _sql(city, "SELECT count(*) FROM tree WHERE id = %s", int(fid)) == [(0,)]
    citizen = signed_in("citizen")
    with pytest.raises(RuntimeError, match="may not add features to trees"):
        citizen.collection_item_create("trees", tree)
    actions = _sql(city, "SELECT action FROM audit_log WHERE layer = 'trees' AND "
                   "subject = 'doi-cay-xanh' ORDER BY id")  # fmt: skip
    assert actions == [("create",), ("update",), ("delete",)]
    assert "Authorization" not in Features(live).headers  # nothing leaked


@pytest.mark.parametrize(
    ("role", "layer", "collection", "item"),
    [
        (None, "trees", "GET, OPTIONS", "GET, OPTIONS"),
        ("citizen", "trees", "GET, OPTIONS", "GET, OPTIONS"),
        ("citizen", "field_reports", "GET, OPTIONS, POST", "GET, OPTIONS"),
        ("tree_crew", "trees", "GET, OPTIONS, POST", "GET, OPTIONS, PUT, PATCH, DELETE"),
        ("land_officer", "land_parcels", "GET, OPTIONS, POST",
         "GET, OPTIONS, PUT, PATCH, DELETE"),
    ],
)  # fmt: skip
def test_options_tell_qgis_what_it_may_edit(
    client: TestClient, role: str | None, layer: str, collection: str, item: str
) -> None:
    """QGIS offers editing from the ``Allow`` of OPTIONS on /items and /items/{id}."""
    who = bearer(role, wards=(WARD,)) if role else {}
    r = client.options(f"/collections/{layer}/items", headers=who)
    assert (r.status_code, r.headers["Allow"]) == (204, collection)
    r = client.options(f"/collections/{layer}/items/unknown_id", headers=who)
    assert (r.status_code, r.headers["Allow"]) == (204, item)


def test_options_of_a_hidden_layer_are_absent(client: TestClient) -> None:
    assert client.options("/collections/cameras/items").status_code == 404
    admin = bearer("admin")
    r = client.options("/collections/cameras/items", headers=admin)
    assert r.headers["Allow"] == "GET, OPTIONS, POST"


def test_html_shows_personal_values_readably_to_whom_may_read_them(
    client: TestClient, city: str
) -> None:
    pid, name = _sql(
        city,
        "SELECT c.parcel_id, u.full_name FROM land_certificate c "
        "JOIN land_user u ON u.id = c.land_user_id WHERE c.status = 'valid' LIMIT 1",
    )[0]
    page = client.get(f"{PARCELS}/{pid}?f=html", headers=bearer("admin"))
    assert page.status_code == 200
    assert page.headers["Cache-Control"] == "private, no-store"
    assert {"Authorization", "X-API-Key"} <= {
        v.strip() for v in page.headers["Vary"].split(",")
    }
    assert name in page.text  # Vietnamese as written inside the JSON cell
    assert name not in client.get(f"{PARCELS}/{pid}?f=html").text


def test_tile_metadata_never_lists_personal_fields(client: TestClient) -> None:
    admin = bearer("admin")
    tilejson = client.get(
        "/collections/land_parcels/tiles/WebMercatorQuad?f=tilejson", headers=admin
    ).json()
    fields = tilejson["vector_layers"][0]["fields"]
    assert "parcel_no" in fields
    assert not {"land_users", "certificates"} & set(fields)
    tileset = client.get(
        "/collections/field_reports/tiles/WebMercatorQuad", headers=admin
    ).json()
    schema = tileset["layers"][0]["propertiesSchema"]["properties"]
    assert "category" in schema and "reporter" not in schema


def test_citizens_report_and_the_operations_centre_handles(
    client: TestClient, city: str
) -> None:
    report = {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [108.1, 10.93]},
        "properties": {"report_code": "PA-CITIZEN-1", "category": "lighting",
                       "description": "Đèn đường hỏng"},
    }  # fmt: skip
    citizen = {**bearer("citizen"), **GEOJSON}
    closed = {**report, "properties": {**report["properties"], "status": "resolved"}}
    r = client.post("/collections/field_reports/items", content=json.dumps(closed),
                    headers={**citizen, "Accept-Language": "en"})  # fmt: skip
    assert r.status_code == 403, r.text
    assert "status: set by admin, ioc_operator only" in r.json()["detail"]
    r = client.post("/collections/field_reports/items", content=json.dumps(report),
                    headers=citizen)  # fmt: skip
    assert r.status_code == 201, r.text
    fid = int(r.headers["Location"].rsplit("/", 1)[1])
    stored = _sql(city, "SELECT status, now() - received_at < interval '1 minute' "
                  "FROM field_report WHERE id = %s", fid)  # fmt: skip
    assert stored == [("received", True)]  # the defaults: received now, by the server
    backdated = {**report, "properties": {**report["properties"],
                                          "received_at": "2020-01-01T08:00:00"}}  # fmt: skip
    r = client.post("/collections/field_reports/items", content=json.dumps(backdated),
                    headers=citizen)  # fmt: skip
    assert r.status_code == 403
    r = client.patch(f"/collections/field_reports/items/{fid}",
                     content=json.dumps({"properties": {"status": "assigned",
                                                        "assigned_unit": "Điện lực"}}),
                     headers={**bearer("ioc_operator"),
                              "Content-Type": "application/merge-patch+json"})  # fmt: skip
    assert r.status_code == 204, r.text
    assert _sql(city, "SELECT status FROM field_report WHERE id = %s", fid) == [
        ("assigned",)
    ]
    # a handler may enter when a report came in; without an offset it is Vietnam's time
    entered = {**report, "properties": {**report["properties"], "report_code": "PA-2",
                                        "received_at": "2026-11-23T08:00:00"}}  # fmt: skip
    r = client.post("/collections/field_reports/items", content=json.dumps(entered),
                    headers={**bearer("ioc_operator"), **GEOJSON})  # fmt: skip
    assert r.status_code == 201, r.text
    fid = int(r.headers["Location"].rsplit("/", 1)[1])
    utc = _sql(city, "SELECT received_at AT TIME ZONE 'UTC' FROM field_report "
               "WHERE id = %s", fid)[0][0]  # fmt: skip
    assert (utc.day, utc.hour) == (23, 1)
