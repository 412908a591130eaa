"""Bounded, checked inputs (issue 11, findings 1, 5 and part of 9).

A projected bbox is clipped to its CRS's area of use and densified into a bounded
number of vertices (a world-wide Web Mercator box took 1.1 GB in one backend); the
API's connections carry work_mem and temp_file_limit; paging tokens are signed and
their values checked against the sort keys' columns; a NUL in a query parameter, an
unknown ``lang`` and an empty ``filter`` are 400s as the OpenAPI says; a write's ward
must exist and its geometry must be 2D.
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import psycopg
import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy.engine import make_url

from api.app import create_app
from gis.crs import DEFAULT_CRS_SRIDS, MAX_BOX_VERTICES, area_of_use, segment_length
from gis.db.pool import open_pool
from gis.db.urls import libpq_url
from gis.query import SortKey, _scope, _tag, paging_key, parse_bbox, parse_crs
from gis.settings import AuthSettings, DbSettings, LimitSettings, Settings
from layers import CATALOGUE
from tests.api.principals import bearer
from tests.api.principals import settings as signed_in_settings

EPSG = "http://www.opengis.net/def/crs/EPSG/0/"
LIGHTS = "/collections/street_lights/items"
OPEN = LimitSettings(anonymous_rate_per_s=1_000_000, anonymous_burst=1_000_000)


def _app(url: str, **overrides: Any) -> TestClient:
    return TestClient(create_app(Settings(limits=OPEN, **overrides), database_url=url))


def _problem(r: Any, parameter: str) -> dict[str, Any]:
    assert r.status_code == 400, r.text
    assert r.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = r.json()
    assert body["parameter"] == parameter, body
    return body


def _ids(url: str, sql: str) -> list[int]:
    with psycopg.connect(libpq_url(url)) as conn:
        return [r[0] for r in conn.execute(sql).fetchall()]


# --- finding 1: projected bboxes --------------------------------------------------


def _backends(url: str) -> set[int]:
    database = make_url(url).database
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pid FROM pg_stat_activity "
            "WHERE application_name = 'dothi' AND datname = %s",
            (database,),
        ).fetchall()
    return {r[0] for r in rows}


def _peak_mb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) // 1024
    raise AssertionError(f"no VmHWM for backend {pid}")


def test_a_world_bbox_in_web_mercator_is_cheap_and_finds_everything(
    city_url: str,
) -> None:
    """Before: 2.4-3.1 s and 1,077 MB in one backend (ST_Segmentize every 100 m);
    ±1e9 a 500. Now the box is clipped to Web Mercator's world, 1,000 vertices."""
    everyone = _ids(city_url, "SELECT id FROM street_light ORDER BY id")
    others = _backends(city_url)
    with _app(city_url) as client:
        assert client.get(f"{LIGHTS}?limit=1").status_code == 200
        ours = _backends(city_url) - others
        assert ours, "the app's pool should have its own backends"
        before = max(_peak_mb(pid) for pid in ours)
        for half in ("2e7", "20037508.342789244", "4e7", "1e9", "1e300"):
            started = time.perf_counter()
            r = client.get(
                LIGHTS,
                params={
                    "limit": 10_000,
                    "bbox": f"-{half},-{half},{half},{half}",
                    "bbox-crs": f"{EPSG}3857",
                },
            )
            took = time.perf_counter() - started
            assert r.status_code == 200, r.text
            assert [f["id"] for f in r.json()["features"]] == everyone
            assert took < 2.0, (half, took)
        grown = max(_peak_mb(pid) for pid in ours) - before
        assert grown < 200, f"a backend grew by {grown} MB"


def test_a_projected_bbox_beyond_the_zone_is_clipped_or_refused(
    client: Any, city_url: str
) -> None:
    """Before: ``0,0,3e7,3e7`` in EPSG:9218 was a 500 (Point outside of projection
    domain). Its part in the zone's area holds the whole city; a box wholly outside
    the area is a 400 naming bbox."""
    r = client.get(
        LIGHTS,
        params={"limit": 10_000, "bbox": "0,0,3e7,3e7", "bbox-crs": f"{EPSG}9218"},
    )
    assert r.status_code == 200, r.text
    everyone = _ids(city_url, "SELECT id FROM street_light ORDER BY id")
    assert [f["id"] for f in r.json()["features"]] == everyone
    for box in ("2e6,2e7,3e6,3e7", "-3e7,-3e7,-2e7,-2e7"):
        en = {"lang": "en"}  # the detail is quoted in English
        r = client.get(LIGHTS, params={"bbox": box, "bbox-crs": f"{EPSG}9218", **en})
        assert "area of use" in _problem(r, "bbox")["detail"]


@pytest.mark.parametrize("crs", ["4756", "4326"])
def test_a_geographic_bbox_beyond_the_world_is_a_400(client: Any, crs: str) -> None:
    """Found in review: a VN-2000 geographic box with longitude 1e6 reached PROJ's
    datum shift, a 500."""
    for box in ("10,-1e6,11,1e6", "-1e6,10,1e6,11", "181,10,182,11"):
        en = {"lang": "en"}  # the detail is quoted in English
        r = client.get(LIGHTS, params={"bbox": box, "bbox-crs": f"{EPSG}{crs}", **en})
        assert "out of range" in _problem(r, "bbox")["detail"], (crs, box)


@pytest.mark.parametrize("srid", [s for s in DEFAULT_CRS_SRIDS if area_of_use(s)])
def test_any_accepted_box_transforms_with_at_most_1000_vertices(
    city_url: str, srid: int
) -> None:
    """The largest box each projected CRS accepts (its widened area of use) and a
    small one: PostGIS densifies and transforms them, within the vertex bound."""
    area = area_of_use(srid)
    assert area is not None
    x, y = (area[0] + area[2]) / 2, (area[1] + area[3]) / 2
    crs = parse_crs(f"{EPSG}{srid}", DEFAULT_CRS_SRIDS)
    with psycopg.connect(libpq_url(city_url)) as conn:
        for raw in ("-1e12,-1e12,1e12,1e12", f"{x},{y},{x + 250},{y + 250}"):
            box = parse_bbox(raw, crs)
            row = conn.execute(
                "SELECT ST_NPoints(g), ST_IsValid(ST_Transform(g, 4326)) FROM "
                "ST_Segmentize(ST_MakeEnvelope(%s, %s, %s, %s, %s), %s) AS g",
                (*box, srid, segment_length(srid, box)),
            ).fetchone()
            assert row is not None
            assert row[0] <= MAX_BOX_VERTICES
            assert row[1] is True


def test_filter_boxes_and_literals_follow_the_same_area(client: Any) -> None:
    """A world-wide CQL2 BBOX in EPSG:3857 was refused (1,000 km a side): now it is
    bounded like bbox=; a literal outside the CRS's area of use is a 400."""
    world = "S_INTERSECTS(geometry, BBOX(-2e7, -2e7, 2e7, 2e7))"
    r = client.get(LIGHTS, params={"filter": world, "filter-crs": f"{EPSG}3857"})
    assert r.status_code == 200, r.text
    assert r.json()["numberReturned"] > 0
    for literal in ("BBOX(2e6, 2e7, 3e6, 3e7)", "POINT(3000000 5000000)"):
        r = client.get(
            LIGHTS,
            params={
                "filter": f"S_INTERSECTS(geometry, {literal})",
                "filter-crs": f"{EPSG}9218",
                "lang": "en",  # the detail is quoted in English
            },
        )
        assert "area of use" in _problem(r, "filter")["detail"]


def test_a_bbox_on_a_collection_without_geometry_is_no_500(client: Any) -> None:
    """Before: the bbox values were bound to a statement without them (a 500)."""
    r = client.get("/collections/env_observations/items?limit=2&bbox=1,2,3,4")
    assert r.status_code == 200, r.text


def test_api_connections_carry_memory_bounds(city_url: str) -> None:
    """The embedded login is a superuser that SETs ROLE: role settings would not
    apply, so the pool sets work_mem and temp_file_limit (before: the server's
    work_mem, and no temp file limit: -1)."""

    async def show() -> Any:
        pool = await open_pool(city_url, Settings())
        try:
            async with pool.connection() as conn:
                cur = await conn.execute(
                    "SELECT current_user AS who, current_setting('work_mem') AS w, "
                    "current_setting('temp_file_limit') AS t"
                )
                return tuple(await cur.fetchone() or ())
        finally:
            await pool.close()

    assert asyncio.run(show()) == ("dothi_api", "16MB", "1GB")


def test_a_login_as_the_api_role_has_the_same_bounds(
    server_url: str, db_url: str
) -> None:
    """A deployment that logs in as dothi_api gets them from the role (migration
    0009 as a superuser): temp_file_limit is not a setting it may change itself."""
    password = "bounded-inputs-" + base64.b32encode(bytes(range(10))).decode()
    with psycopg.connect(libpq_url(server_url), autocommit=True) as su:
        row = su.execute(
            "SELECT setconfig FROM pg_db_role_setting "
            "WHERE setrole = 'dothi_api'::regrole AND setdatabase = 0"
        ).fetchone()
        assert row is not None
        assert {"work_mem=16MB", "temp_file_limit=1GB"} <= set(row[0])
        su.execute(f"ALTER ROLE dothi_api LOGIN PASSWORD '{password}'")
    try:
        url = (
            make_url(db_url)
            .set(username="dothi_api", password=password)
            .render_as_string(hide_password=False)
        )
        with psycopg.connect(libpq_url(url)) as conn:
            row = conn.execute(
                "SELECT current_setting('work_mem'), current_setting('temp_file_limit')"
            ).fetchone()
            assert row == ("16MB", "1GB")
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute("SET temp_file_limit = -1")
    finally:
        with psycopg.connect(libpq_url(server_url), autocommit=True) as su:
            su.execute("ALTER ROLE dothi_api NOLOGIN PASSWORD NULL")


# --- finding 5: paging tokens and NULs ---------------------------------------------


def _unsigned(values: list[Any], ident: int = 1) -> str:
    """A token as the server made them before they were signed."""
    raw = json.dumps({"v": values, "i": ident, "b": False}).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _signed(url: str, sortby: str, values: list[Any], ident: int = 1) -> str:
    """A token signed with the server's own key: only its values are wrong."""
    with psycopg.connect(libpq_url(url)) as conn:
        row = conn.execute(
            "SELECT value FROM app_secret WHERE name = 'paging'"
        ).fetchone()
    assert row is not None
    key = paging_key("", bytes(row[0]))
    layer = CATALOGUE["street_lights"]
    keys = tuple(SortKey(k.lstrip("-"), k.startswith("-")) for k in sortby.split(","))
    raw = json.dumps({"v": values, "i": ident, "b": False}).encode()
    body = base64.urlsafe_b64encode(raw).decode().rstrip("=")
    return f"{body}.{_tag(key, _scope(layer, keys), body)}"


# the seven anonymous 500s of the issue: (sortby, the sort value in the token)
TAMPERED = [
    ("power_w", "abc"),
    ("power_w", 2**70),
    ("installed_on", "not a date"),
    ("pole_height_m", {"d": "1e999999"}),
    ("pole_height_m", "x"),
    ("pole_code", "a\u0000b"),
    ("pole_height_m", 1e300),
]


@pytest.mark.parametrize(("sortby", "value"), TAMPERED)
def test_tampered_paging_tokens_are_400(
    client: Any, city_url: str, sortby: str, value: Any
) -> None:
    for token in (_unsigned([value]), _signed(city_url, sortby, [value])):
        en = {"lang": "en"}  # the detail is quoted in English
        r = client.get(LIGHTS, params={"sortby": sortby, "cursor": token, **en})
        assert "paging token" in _problem(r, "cursor")["detail"]


def _next(client: Any, path: str) -> str:
    body = client.get(path).json()
    href = next(lk["href"] for lk in body["links"] if lk["rel"] == "next")
    return href.replace("http://testserver", "")


def test_a_changed_token_is_400_and_a_token_serves_only_its_query(
    client: Any,
) -> None:
    nxt = _next(client, f"{LIGHTS}?limit=3&sortby=power_w")
    token = parse_qs(urlsplit(nxt).query)["cursor"][0]
    body, _, tag = token.partition(".")
    assert tag, "tokens are signed"
    data = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    data["i"] += 1  # a valid value, but not the one signed
    forged = base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")
    for bad, sortby in (
        (f"{forged}.{tag}", "power_w"),
        (token, "-power_w"),  # another sort order
        (body, "power_w"),  # the tag dropped
        (f"{body}.é{tag}", "power_w"),  # not even ASCII
    ):
        r = client.get(LIGHTS, params={"limit": 3, "sortby": sortby, "cursor": bad})
        _problem(r, "cursor")
    assert client.get(nxt).status_code == 200


def test_paging_by_dates_and_decimals_reaches_every_feature_once(
    client: Any, city_url: str
) -> None:
    path = f"{LIGHTS}?limit=40&sortby=-installed_on,pole_height_m"
    got: list[int] = []
    for _ in range(1000):
        body = client.get(path).json()
        got += [f["id"] for f in body["features"]]
        nxt = [lk["href"] for lk in body["links"] if lk["rel"] == "next"]
        if not nxt:
            break
        path = nxt[0].replace("http://testserver", "")
    want = _ids(
        city_url,
        "SELECT id FROM street_light ORDER BY installed_on DESC NULLS LAST, "
        "pole_height_m NULLS LAST, id",
    )
    assert got == want


def test_tokens_outlive_the_process_and_follow_the_configured_secret(
    city_url: str,
) -> None:
    """Every worker, replica and restart signs alike (the key is the database's);
    DOTHI_AUTH__SECRET_KEY, when set, is the key instead."""
    path = f"{LIGHTS}?limit=5&sortby=installed_on"
    with _app(city_url) as first:
        nxt = _next(first, path)
        page = first.get(nxt).json()["features"]
    with _app(city_url) as restarted:
        assert restarted.get(nxt).json()["features"] == page
    secret = AuthSettings(secret_key=SecretStr("bounded-inputs-" + "k9" * 12))
    with _app(city_url, auth=secret) as other:
        _problem(other.get(nxt), "cursor")
        assert other.get(_next(other, path)).json()["features"] == page


@pytest.mark.parametrize(
    "path",
    [
        f"{LIGHTS}?pole_code=a%00b",
        f"{LIGHTS}?status=on%00",
        f"{LIGHTS}?filter=pole_code%3D%27a%00%27",
        "/collections?f=json%00",
        "/collections/street_lights/items/1?crs=%00",
    ],
)
def test_a_nul_in_a_query_parameter_is_400(client: Any, path: str) -> None:
    r = client.get(path)
    assert r.status_code == 400, r.text
    assert "NUL" in r.json()["detail"]


# --- finding 9: lang, filter, ward codes, 2D ---------------------------------------


@pytest.mark.parametrize(
    "query", ["lang=english", "lang=", "lang=EN", "lang=vi&lang=xx", "lang=en-GB"]
)
def test_lang_outside_its_enum_is_400(client: Any, query: str) -> None:
    _problem(client.get(f"/collections/trees?{query}"), "lang")


def test_lang_in_its_enum_is_served(client: Any) -> None:
    assert client.get("/collections/trees?lang=en").json()["title"] == "Trees"
    assert client.get("/collections/trees?lang=vi").status_code == 200


def test_the_openapi_says_an_empty_filter_is_refused(client: Any) -> None:
    doc = client.get("/api", headers={"Accept": "application/json"}).json()
    schema = doc["components"]["parameters"]["filter"]["schema"]
    assert schema.get("minLength") == 1
    assert client.get(f"{LIGHTS}?filter=").status_code == 400
    lang = doc["components"]["parameters"]["lang"]["schema"]
    assert lang["enum"] == ["vi", "en"]


WARD = "22945"
CREW = bearer("lighting_crew")
GEOJSON = {"Content-Type": "application/geo+json"}


@pytest.fixture
def writer(db_url: str) -> Iterator[TestClient]:
    """An empty city with one ward in force and one that ended with the reform."""
    with psycopg.connect(libpq_url(db_url)) as conn:
        conn.execute(
            "INSERT INTO admin_unit (code, level, unit_type, name, code_system, "
            "valid_from, valid_to) VALUES "
            "(%s, 'commune', 'Phường', 'Phú Thủy', '19/2025/QĐ-TTg', '2025-07-01', "
            "NULL), ('22918', 'commune', 'Phường', 'Đức Long', '124/2004/QĐ-TTg', "
            "'2004-07-08', '2025-06-30'), ('68', 'province', 'Tỉnh', 'Lâm Đồng', "
            "'19/2025/QĐ-TTg', '2025-07-01', NULL)",
            (WARD,),
        )
    app = create_app(signed_in_settings(), database_url=db_url)
    with TestClient(app) as c:
        yield c


def _light(ward: str | None, coordinates: list[float]) -> str:
    return json.dumps(
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": coordinates},
            "properties": {"pole_code": "TC-1", "ward_code": ward},
        }
    )


def test_a_ward_code_must_name_a_ward_in_force(writer: TestClient, db_url: str) -> None:
    headers = {**CREW, **GEOJSON}
    for ward in ("99999", "22918", "68", "a\u0000"):
        r = writer.post(LIGHTS, content=_light(ward, [108.1, 10.93]), headers=headers)
        assert "ward" in _problem(r, "ward_code")["detail"]
    assert _ids(db_url, "SELECT id FROM street_light") == []
    made = writer.post(LIGHTS, content=_light(WARD, [108.1, 10.93]), headers=headers)
    assert made.status_code == 201, made.text
    wardless = writer.post(
        LIGHTS, content=_light(None, [108.1, 10.93]), headers=headers
    )
    assert wardless.status_code == 201, wardless.text
    location = made.headers["Location"].replace("http://testserver", "")
    r = writer.patch(
        location,
        content=json.dumps({"properties": {"ward_code": "99999"}}),
        headers={**CREW, "Content-Type": "application/merge-patch+json"},
    )
    _problem(r, "ward_code")
    assert _ids(db_url, "SELECT ward_code FROM street_light") == [WARD, None]


def test_a_2d_layer_takes_2d_geometries_only(writer: TestClient, db_url: str) -> None:
    headers = {**CREW, **GEOJSON}
    r = writer.post(LIGHTS, content=_light(WARD, [108.1, 10.93, 12.0]), headers=headers)
    assert "2D" in _problem(r, "geometry")["detail"]
    assert _ids(db_url, "SELECT id FROM street_light") == []


def test_a_query_over_the_temp_file_limit_is_a_503(city_url: str) -> None:
    """temp_file_limit bites (a sort spilling past it fails in PostgreSQL), and the
    failure is a 503 like a statement timeout, not a 500."""
    tight = DbSettings(work_mem_kb=64, temp_file_limit_kb=64)
    with _app(city_url, db=tight) as client:
        r = client.get(
            "/collections/land_parcels/items",
            params={"limit": 10_000, "sortby": "-area_legal_m2"},
        )
        assert r.status_code == 503, r.text[:300]
        assert r.headers["Retry-After"]
        assert r.json()["type"] == "/problems/query-too-large"
        assert client.get(f"{LIGHTS}?limit=1").status_code == 200
