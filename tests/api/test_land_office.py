"""The land officer's pages and the VN-2000 coordinate table (issue 14, item 7).

The coordinate table is checked against pyproj transforming the parcel's stored
WGS 84 vertices itself (an independent computation: PROJ through Python, not
PostGIS); the pages in headless Chromium (the look-up form, an ambiguous number, the
card with its map drawn, checked by its pixels), the extract as a PDF whose text is
read back; the access policy and bad input as on every other route.
"""

from __future__ import annotations

import io
import json
import math
import re
from collections.abc import Iterator
from typing import Any

import httpx
import psycopg
import pytest
from fastapi.testclient import TestClient
from PIL import Image
from playwright.sync_api import Browser
from pypdf import PdfReader
from pyproj import Transformer

from api.app import create_app
from api.routers.land_office import city_time
from gis.db.urls import libpq_url
from tests.api.principals import bearer, settings
from tests.api.test_map import browser  # noqa: F401 - the Chromium fixture
from tests.conftest import create_database, drop_database, served

TM3 = 9218
ROUNDING = 0.0005 + 2e-5  # metres: the table's rounding, and PROJ's differences
SHOTS = "/tmp"  # noqa: S108 - screenshots and the PDF, to look at after a run
PARCELS = "/collections/land_parcels/items"
# the parcel's fill on the card's map (#f6b26b at 0.55 over #f4f1ea), give or take
PARCEL_FILL = (245, 205, 160)


def _coordinates(client: Any, fid: int, **headers: str) -> dict[str, Any]:
    r = client.get(f"{PARCELS}/{fid}/coordinates", headers=headers)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/json")
    doc: dict[str, Any] = r.json()
    return doc


def _stored_geometry(url: str, fid: int) -> dict[str, Any]:
    """The parcel's geometry as stored (WGS 84, every digit: the API's GeoJSON
    rounds to 7 decimals of a degree, a centimetre)."""
    with psycopg.connect(libpq_url(url)) as conn:
        row = conn.execute(
            "SELECT ST_AsGeoJSON(geom, 17)::json FROM land_parcel WHERE id = %s", (fid,)
        ).fetchone()
    assert row is not None
    geometry: dict[str, Any] = row[0]
    return geometry


def _rings_in(geometry: dict[str, Any]) -> list[list[list[float]]]:
    """Every ring of a (Multi)Polygon, closed as GeoJSON has them."""
    polygons = (
        geometry["coordinates"]
        if geometry["type"] == "MultiPolygon"
        else [geometry["coordinates"]]
    )
    return [ring for polygon in polygons for ring in polygon]


def _shoelace(ring: list[tuple[float, float]]) -> float:
    """Twice the signed area of a ring (negative: clockwise)."""
    return sum(
        x1 * y2 - x2 * y1
        for (x1, y1), (x2, y2) in zip(ring, ring[1:] + ring[:1], strict=True)
    )


def _check_against_pyproj(doc: dict[str, Any], geometry: dict[str, Any]) -> None:
    """The table is the stored vertices transformed by pyproj: each ring once, no
    closing point, clockwise from its north-west corner, X northing and Y easting to
    the millimetre, edges to the next point to the centimetre."""
    srid = doc["crs"]["epsg"]
    to_tm3 = Transformer.from_crs(4326, srid, always_xy=True)
    points = doc["points"]
    assert [p["no"] for p in points] == list(range(1, len(points) + 1))
    for p in points:
        assert re.fullmatch(r"-?\d+\.\d{3}", p["x"]), p
        assert re.fullmatch(r"-?\d+\.\d{3}", p["y"]), p
        assert re.fullmatch(r"\d+\.\d{2}", p["edge_m"]), p
    rings = _rings_in(geometry)
    listed = [(p["part"], p["ring"]) for p in points]
    groups = list(dict.fromkeys(listed))
    assert len(groups) == len(rings)
    for ring, group in zip(rings, groups, strict=True):
        assert ring[0] == ring[-1]
        expected = [to_tm3.transform(lon, lat) for lon, lat in ring[:-1]]
        rows = [p for p in points if (p["part"], p["ring"]) == group]
        assert len(rows) == len(expected)
        got = [(float(p["y"]), float(p["x"])) for p in rows]  # (easting, northing)
        # the stored ring may run either way: the table runs clockwise
        turn = 1 if (_shoelace(expected) < 0) == (_shoelace(got) < 0) else -1

        # the same vertices, each axis within the rounding (half a millimetre) and
        # what two PROJ pipelines may differ by (PostGIS's and pyproj's: microns)
        def near(a: tuple[float, float], b: tuple[float, float]) -> bool:
            return abs(a[0] - b[0]) <= ROUNDING and abs(a[1] - b[1]) <= ROUNDING

        start = next(i for i, v in enumerate(expected) if near(got[0], v))
        for k, point in enumerate(got):  # in the ring's order, from its start
            assert near(point, expected[(start + k * turn) % len(expected)]), point
        # north-west corner first: the greatest northing minus easting
        assert got[0][1] - got[0][0] >= max(n - e for e, n in got) - 0.002
        # clockwise exteriors (negative shoelace area), holes the other way
        assert (_shoelace(got) < 0) == (group[1] == 1), group
        for i, p in enumerate(rows):
            edge = math.dist(got[i], got[(i + 1) % len(got)])
            assert abs(float(p["edge_m"]) - edge) <= 0.006, (p, edge)


# --- the coordinate table ---------------------------------------------------------


def test_coordinate_table_matches_pyproj(client: Any, city_url: str) -> None:
    with psycopg.connect(libpq_url(city_url)) as conn:
        ids = [
            r[0]
            for r in conn.execute(
                "SELECT id FROM land_parcel ORDER BY md5(id::text) LIMIT 25"
            ).fetchall()
        ]
    assert len(ids) == 25
    for fid in ids:
        doc = _coordinates(client, fid)
        feature = client.get(f"{PARCELS}/{fid}").json()
        assert doc["parcel"] == fid
        assert doc["crs"]["epsg"] == TM3  # the demo's parcels were surveyed in it
        assert "VN-2000" in doc["crs"]["name"]
        assert doc["crs"]["uri"].endswith("/EPSG/0/9218")
        _check_against_pyproj(doc, _stored_geometry(city_url, fid))
        # the perimeter is the sum of the edges
        edges = sum(float(p["edge_m"]) for p in doc["points"])
        assert abs(float(doc["perimeter_m"]) - edges) < 0.01 * len(doc["points"])
        # and the place: ward and province by name
        assert doc["place"]["ward_code"] == feature["properties"]["ward_code"]
        assert doc["place"]["ward_name"]
        assert doc["place"]["province_name"] == "Tỉnh Lâm Đồng"


@pytest.fixture
def odd_parcels(db_url: str) -> tuple[str, dict[str, int]]:
    """Parcels of a fresh database: one drawn in CRS84 (no TM-3 zone of its own),
    one surveyed in Ninh Thuận's zone, one with a hole and two parts."""
    box = "POLYGON((500000 1200000,500000 1200030,500020 1200030,500020 1200000,500000 1200000))"
    holed = (
        "MULTIPOLYGON(((500100 1200000,500140 1200000,500140 1200040,500100 1200040,"
        "500100 1200000),(500110 1200010,500120 1200010,500120 1200020,500110 1200020,"
        "500110 1200010)),((500200 1200000,500210 1200000,500205 1200008,"
        "500200 1200000)))"
    )
    ids: dict[str, int] = {}
    with psycopg.connect(libpq_url(db_url), autocommit=True) as conn:
        for name, wkt, srid, source in (
            ("crs84", box, TM3, 4326),
            ("ninh_thuan", box, 9217, 9217),
            ("holed", holed, TM3, TM3),
        ):
            row = conn.execute(
                "INSERT INTO land_parcel (ward_code, sheet_no, parcel_no, land_use, "
                "source_crs, geom) VALUES ('22945', 1, %s, 'ODT', %s, "
                "ST_Multi(ST_Transform(ST_GeomFromText(%s, %s), 4326))) RETURNING id",
                (len(ids) + 1, source, wkt, srid),
            ).fetchone()
            assert row is not None
            ids[name] = row[0]
    return db_url, ids


def test_the_zone_is_the_survey_s_else_the_settings(
    odd_parcels: tuple[str, dict[str, int]],
) -> None:
    url, ids = odd_parcels
    with TestClient(create_app(settings(), database_url=url)) as c:
        crs84 = _coordinates(c, ids["crs84"])
        assert crs84["crs"]["epsg"] == 9218  # the default cadastral zone
        ninh = _coordinates(c, ids["ninh_thuan"])
        assert ninh["crs"]["epsg"] == 9217
        # the box drawn in 9217 reads back in 9217 as drawn, to the millimetre
        assert [(p["x"], p["y"]) for p in ninh["points"]] == [
            ("1200030.000", "500000.000"),
            ("1200030.000", "500020.000"),
            ("1200000.000", "500020.000"),
            ("1200000.000", "500000.000"),
        ]
        assert [p["edge_m"] for p in ninh["points"]] == [
            "20.00",
            "30.00",
            "20.00",
            "30.00",
        ]
        assert ninh["perimeter_m"] == "100.00"
        assert ninh["area_plane_m2"] == "600.0"
        holed = _coordinates(c, ids["holed"])
        rings = [(p["part"], p["ring"]) for p in holed["points"]]
        assert rings == [(1, 1)] * 4 + [(1, 2)] * 4 + [(2, 1)] * 3
        _check_against_pyproj(holed, _stored_geometry(url, ids["holed"]))
        assert holed["area_plane_m2"] == "1540.0"  # 40 x 40 - 10 x 10 + 10 x 8 / 2
    # another deployment's zone
    with TestClient(create_app(settings(cadastral_srid=9217), database_url=url)) as c:
        assert _coordinates(c, ids["crs84"])["crs"]["epsg"] == 9217
        assert _coordinates(c, ids["holed"])["crs"]["epsg"] == 9218


def test_coordinate_table_answers_html_with_the_card_s_table(
    client: Any, city_url: str
) -> None:
    with psycopg.connect(libpq_url(city_url)) as conn:
        row = conn.execute("SELECT min(id) FROM land_parcel").fetchone()
    assert row is not None
    fid = row[0]
    doc = _coordinates(client, fid)
    assert {x["rel"] for x in doc["links"]} == {"self", "alternate", "about"}
    path = f"{PARCELS}/{fid}/coordinates"
    page = client.get(f"{path}?f=html")
    assert page.status_code == 200, page.text
    assert page.headers["content-type"].startswith("text/html")
    assert page.headers["cache-control"] == "public, max-age=60"
    assert page.headers["vary"].startswith("Accept, Accept-Language")
    text = page.text
    assert "<title>Bảng tọa độ VN-2000" in text and 'id="coordinates"' in text
    # the table is the card's: the same rows as the document's points
    rows = re.findall(
        r"<tr><td>(\d+)</td><td>([^<]+)</td><td>([^<]+)</td><td>([^<]+)</td>", text
    )
    assert rows == [(str(p["no"]), p["x"], p["y"], p["edge_m"]) for p in doc["points"]]
    assert doc["perimeter_m"] in text and doc["place"]["ward_name"] in text
    assert f'href="http://testserver/land/parcels/{fid}?lang=vi"' in text
    card = client.get(f"/land/parcels/{fid}").text
    table = text[text.index('<table id="coordinates"') :]
    assert table[: table.index("</table>")] in card
    english = client.get(f"{path}?lang=en", headers={"Accept": "text/html"})
    assert english.headers["content-type"].startswith("text/html")
    assert "<title>VN-2000 coordinates of the vertices" in english.text
    assert english.text.index("Perimeter") < english.text.index("Chu vi")
    assert client.get(f"{path}?f=csv").status_code == 406
    assert client.get(path, headers={"Accept": "image/png"}).status_code == 406


def test_cadastral_zone_setting_is_checked() -> None:
    with pytest.raises(ValueError, match="TM-3"):
        settings(cadastral_srid=4326)


@pytest.mark.parametrize(
    "path",
    [
        f"{PARCELS}/{{}}/coordinates",
        "/land/parcels/{}",
        "/land/parcels/{}/extract.pdf",
    ],
)
def test_bad_ids_and_parameters(client: Any, path: str) -> None:
    for bad in ("abc", "0", "-1", "99999999999", "1e3", str(2**63)):
        r = client.get(path.format(bad))
        assert r.status_code == 404, (bad, r.status_code, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
    assert client.get(path.format(1) + "?x=1").status_code == 400
    assert client.get(path.format(1) + "?lang=fr").status_code == 400


def test_lookup_page_rejects_bad_input(client: Any) -> None:
    assert client.get("/land").status_code == 200
    # empty fields are the empty form (a GET of it with nothing filled in)
    assert client.get("/land?ward_code=&sheet_no=&parcel_no=").status_code == 200
    ok = client.get("/land?ward_code=22918&sheet_no=1&parcel_no=2&lang=en")
    assert ok.status_code == 200 and 'value="2"' in ok.text
    for query in (
        "sheet_no=abc",
        "parcel_no=0",
        "sheet_no=-3",
        "parcel_no=99999999999",
        "sheet_no=1&sheet_no=2",
        "national_parcel_id=" + "x" * 65,
        "national_parcel_id=abc&sheet_no=1",
        "ward_code=22918&sheet_no=1",
        "ward_code=abc&sheet_no=1&parcel_no=1",
        "bogus=1",
    ):
        r = client.get(f"/land?{query}")
        assert r.status_code == 400, (query, r.text)
    r = client.get("/land?sheet_no=abc&lang=vi")
    assert "sheet_no" in r.json()["detail"]


# --- the card, the extract and who sees what ------------------------------------------


@pytest.fixture(scope="module")
def certified(city_url: str) -> tuple[int, str]:
    """A parcel with a valid certificate, and its ward."""
    with psycopg.connect(libpq_url(city_url)) as conn:
        row = conn.execute(
            "SELECT p.id, p.ward_code FROM land_parcel p JOIN land_certificate c "
            "ON c.parcel_id = p.id AND c.status = 'valid' ORDER BY p.id LIMIT 1"
        ).fetchone()
    assert row is not None
    return row[0], row[1]


@pytest.fixture(scope="module")
def officer_client(city_url: str) -> Iterator[TestClient]:
    with TestClient(create_app(settings(), database_url=city_url)) as c:
        yield c


def _another_ward(url: str, ward: str) -> str:
    with psycopg.connect(libpq_url(url)) as conn:
        row = conn.execute(
            "SELECT code FROM admin_unit WHERE level = 'commune' AND valid_to IS NULL "
            "AND code <> %s ORDER BY code LIMIT 1",
            (ward,),
        ).fetchone()
    assert row is not None
    return str(row[0])


def test_card_shows_personal_fields_only_to_whom_the_policy_opens_them(
    officer_client: TestClient, certified: tuple[int, str], city_url: str
) -> None:
    fid, ward = certified
    c = officer_client
    anonymous = c.get(f"/land/parcels/{fid}")
    assert anonymous.status_code == 200
    assert anonymous.headers["content-type"].startswith("text/html")
    assert 'id="coordinates"' in anonymous.text
    assert 'id="land-users"' not in anonymous.text
    own = c.get(f"/land/parcels/{fid}", headers=bearer("land_officer", wards=(ward,)))
    assert 'id="land-users"' in own.text and 'id="certificates"' in own.text
    assert own.headers["cache-control"] == "private, no-store"
    elsewhere = _another_ward(city_url, ward)
    other = c.get(
        f"/land/parcels/{fid}", headers=bearer("land_officer", wards=(elsewhere,))
    )
    assert other.status_code == 200
    assert 'id="land-users"' not in other.text
    admin = c.get(f"/land/parcels/{fid}", headers=bearer("admin"))
    assert 'id="land-users"' in admin.text
    # the names shown are the ones the feature document gives the same caller
    users = c.get(
        f"{PARCELS}/{fid}", headers=bearer("land_officer", wards=(ward,))
    ).json()["properties"]["land_users"]
    assert users and all(u["full_name"] in own.text for u in users)
    # English first on request
    english = c.get(f"/land/parcels/{fid}?lang=en")
    assert english.text.index("Coordinates of the vertices") < english.text.index(
        "Bảng tọa độ"
    )


def test_extract_is_a_pdf_with_the_numbers_and_coordinates(
    client: Any, certified: tuple[int, str]
) -> None:
    fid, _ = certified
    feature = client.get(f"{PARCELS}/{fid}").json()["properties"]
    doc = _coordinates(client, fid)
    r = client.get(f"/land/parcels/{fid}/extract.pdf")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/pdf"
    assert r.content.startswith(b"%PDF-")
    with open(f"{SHOTS}/land-extract.pdf", "wb") as out:
        out.write(r.content)
    text = "\n".join(
        page.extract_text() for page in PdfReader(io.BytesIO(r.content)).pages
    )
    flat = re.sub(r"\s+", " ", text)
    assert "TRÍCH LỤC THỬA ĐẤT" in flat
    assert f"Tờ bản đồ số {feature['sheet_no']}" in flat
    assert f"Thửa đất số {feature['parcel_no']}" in flat
    for p in doc["points"]:
        assert p["x"] in flat and p["y"] in flat, p
    assert doc["crs"]["name"] in flat
    assert "Thông tin quy hoạch" in flat
    english = client.get(f"/land/parcels/{fid}/extract.pdf?lang=en")
    assert english.status_code == 200
    assert "Map sheet" in PdfReader(io.BytesIO(english.content)).pages[0].extract_text()


def test_extracts_render_off_the_event_loop(
    officer_client: TestClient, certified: tuple[int, str]
) -> None:
    """Four extracts at once while the coordinate table keeps answering."""
    import concurrent.futures
    import time

    fid, _ = certified
    c = officer_client
    with concurrent.futures.ThreadPoolExecutor(max_workers=5) as pool:
        pdfs = [
            pool.submit(c.get, f"/land/parcels/{fid}/extract.pdf") for _ in range(4)
        ]
        time.sleep(0.2)
        started = time.monotonic()
        quick = c.get(f"{PARCELS}/{fid}/coordinates")
        waited = time.monotonic() - started
        assert quick.status_code == 200
        assert all(f.result().status_code == 200 for f in pdfs)
    assert waited < 2.0, waited


# --- in the browser --------------------------------------------------------------------


@pytest.fixture(scope="module")
def land_city_db(server_url: str, migrated_template: str) -> Iterator[str]:
    """The small demo city, this module's own (its parcels are edited and split
    here), where one 2025 ward holds the same sheet and parcel number in two of its
    old communes (the suite's small city has too few parcels a sheet for that to
    happen by itself): one parcel renumbered."""
    from dothi.demo import build_demo

    url = create_database(server_url, "land_city", template=migrated_template)
    build_demo(url, seed=0.42, scale=0.05, open_data=None)
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        row = conn.execute(
            "WITH p AS (SELECT a.* FROM land_parcel a WHERE EXISTS (SELECT 1 FROM "
            " land_parcel b WHERE b.ward_code = a.ward_code AND b.survey_ward_code "
            " <> a.survey_ward_code) ORDER BY a.id LIMIT 1), "
            "q AS (SELECT l.id FROM land_parcel l, p WHERE l.ward_code = p.ward_code "
            " AND l.survey_ward_code <> p.survey_ward_code AND NOT EXISTS (SELECT 1 "
            " FROM land_parcel x WHERE x.survey_ward_code = l.survey_ward_code AND "
            " x.sheet_no = p.sheet_no AND x.parcel_no = p.parcel_no) "
            " ORDER BY l.id LIMIT 1) "
            "UPDATE land_parcel SET sheet_no = p.sheet_no, parcel_no = p.parcel_no "
            "FROM p, q WHERE land_parcel.id = q.id RETURNING land_parcel.id"
        ).fetchone()
        assert row is not None
    yield url
    drop_database(server_url, "land_city")


@pytest.fixture(scope="module")
def land_city(land_city_db: str) -> Iterator[str]:
    """``land_city_db``, served."""
    with served(settings(), land_city_db) as live:
        yield live


def _ambiguous(client: Any) -> tuple[str, int, int, int]:
    """A 2025 ward, sheet and number that name parcels of several old communes,
    and how many, as the look-up finds them."""
    for f in client.get(
        f"{PARCELS}?limit=2000&properties=ward_code,sheet_no,parcel_no"
    ).json()["features"]:
        p = f["properties"]
        doc = client.get(
            "/collections/land_parcels/lookup",
            params={
                "ward_code": p["ward_code"],
                "sheet_no": p["sheet_no"],
                "parcel_no": p["parcel_no"],
            },
        ).json()
        if doc["ambiguous"]:
            return p["ward_code"], p["sheet_no"], p["parcel_no"], len(doc["matches"])
    raise AssertionError("no ambiguous triple")


def _parcel_pixels(png: bytes) -> int:
    shot = Image.open(io.BytesIO(png)).convert("RGB")
    return sum(
        count
        for count, rgb in shot.getcolors(maxcolors=1_000_000) or []
        if all(abs(a - b) <= 20 for a, b in zip(rgb, PARCEL_FILL, strict=True))
    )


def test_form_to_ambiguous_list_to_card_in_chromium(
    browser: Browser,  # noqa: F811 - the fixture imported above
    land_city: str,
) -> None:
    live_url = land_city
    client = httpx.Client(base_url=live_url, timeout=30)
    ward, sheet, number, count = _ambiguous(client)
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{live_url}/land?lang=vi")
    page.select_option("#ward_code", ward)
    page.fill("#sheet_no", str(sheet))
    page.fill("#parcel_no", str(number))
    page.click("#find")
    page.wait_for_function("window.landState.done", timeout=30_000)
    rows = page.locator("#matches tr")
    assert rows.count() == 1 + count  # a head and the parcels
    page.screenshot(path=f"{SHOTS}/land-ambiguous.png", full_page=True)
    assert "?lang=vi&ward_code=" in page.url  # the look-up can be bookmarked
    expected = client.get(
        "/collections/land_parcels/lookup",
        params={"ward_code": ward, "sheet_no": sheet, "parcel_no": number},
    ).json()["matches"]
    for m in expected:
        assert m["survey_ward_name"] in page.locator("#matches").inner_text()
    # open the second: its card, with the map drawn
    rows.nth(2).locator("a").click()
    page.wait_for_url(re.compile(r".*/land/parcels/\d+\?lang=vi$"))
    page.wait_for_function("window.landState.mapReady", timeout=60_000)
    fid = int(page.url.rsplit("/", 1)[1].split("?")[0])
    assert fid in {m["id"] for m in expected}
    assert not errors, errors
    card = page.screenshot(path=f"{SHOTS}/land-card.png", full_page=True)
    map_shot = page.locator("#parcel-map").screenshot(path=f"{SHOTS}/land-map.png")
    assert _parcel_pixels(map_shot) > 2_000  # the parcel is drawn, and large
    colours = Image.open(io.BytesIO(map_shot)).convert("RGB").getcolors(1_000_000)
    assert colours is not None and len(colours) > 50  # neighbours, lines, labels
    assert page.evaluate("window.landState.neighbours") > 0
    assert len(card) > 0
    # the table shows the coordinate document's values
    doc = _coordinates(client, fid)
    cells = page.locator("#coordinates tr").all_inner_texts()[1:-1]
    assert [c.split() for c in cells] == [
        [str(p["no"]), p["x"], p["y"], p["edge_m"]] for p in doc["points"]
    ]
    assert page.locator(".vertex-label").count() == len(doc["points"])
    # anonymous callers see no dossiers, and no land users
    page.wait_for_function("window.landState.dossiers !== null", timeout=10_000)
    assert page.locator("#dossiers").is_hidden()
    assert page.locator("#land-users").count() == 0
    page.close()


def test_lookup_by_national_id_goes_straight_to_the_card(
    browser: Browser,  # noqa: F811
    live_url: str,
    city_url: str,
) -> None:
    with psycopg.connect(libpq_url(city_url)) as conn:
        row = conn.execute(
            "SELECT id, national_parcel_id FROM land_parcel "
            "WHERE national_parcel_id IS NOT NULL ORDER BY id LIMIT 1"
        ).fetchone()
    assert row is not None
    page = browser.new_page(viewport={"width": 1000, "height": 800})
    page.goto(f"{live_url}/land?lang=en&national_parcel_id={row[1]}")
    page.wait_for_url(
        re.compile(rf".*/land/parcels/{row[0]}\?lang=en$"), timeout=30_000
    )
    assert page.locator("#parcel-no").inner_text().strip()
    page.close()


def test_officer_sees_users_and_dossier_section_in_chromium(
    browser: Browser,  # noqa: F811
    city_url: str,
    certified: tuple[int, str],
) -> None:
    fid, ward = certified
    with served(settings(), city_url) as url:
        page = browser.new_page(viewport={"width": 1200, "height": 1000})
        page.set_extra_http_headers(bearer("land_officer", wards=(ward,)))
        page.goto(f"{url}/land/parcels/{fid}?lang=en")
        page.wait_for_function("window.landState.mapReady", timeout=60_000)
        page.wait_for_function(
            "window.landState.dossiers !== null && window.landState.versions !== null",
            timeout=10_000,
        )
        assert page.locator("#land-users").is_visible()
        page.screenshot(path=f"{SHOTS}/land-card-officer.png", full_page=True)
        status = page.evaluate("window.landState.dossiers")
        # shown exactly when the dossiers route answers this caller
        assert page.locator("#dossiers").is_visible() == (status == 200)
        versions = page.evaluate("window.landState.versions")
        assert page.locator("#versions").is_visible() == (versions == 200)
        page.close()


# --- versions, dossiers, lineage and personal fields in the extract ---------------------

DECISION = {"number": "4711/QĐ-UBND", "date": "2026-11-30"}


def _sql(url: str, query: str, *args: Any) -> list[Any]:
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        cur = conn.execute(query, args)
        return cur.fetchall() if cur.description else []


def _pdf_text(content: bytes) -> str:
    """The PDF's text with no whitespace at all (a narrow cell may wrap a value
    anywhere: at a hyphen, between a date and its time)."""
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(content)).pages)
    return "".join(text.split())


def _squeezed(value: object) -> str:
    return "".join(str(value).split())


@pytest.fixture(scope="module")
def dossier_parcel(land_city_db: str) -> tuple[int, str, str]:
    """A current parcel with users, and an open or recent dossier: its id, ward and
    the newest such dossier's number."""
    rows = _sql(
        land_city_db,
        "SELECT d.parcel_id, p.ward_code, d.dossier_no FROM land_dossier d "
        "JOIN land_dossier_status s ON s.code = d.status "
        "JOIN land_parcel p ON p.id = d.parcel_id "
        "WHERE p.valid_to IS NULL AND (s.is_open OR d.done_on >= "
        "(now() AT TIME ZONE 'Asia/Ho_Chi_Minh')::date - 365) "
        "AND EXISTS (SELECT 1 FROM land_certificate c WHERE c.parcel_id = p.id "
        "AND c.land_user_id IS NOT NULL) "
        "ORDER BY d.received_on DESC, d.id DESC LIMIT 1",
    )
    assert rows, "no parcel with users and an open or recent dossier"
    fid, ward, number = rows[0]
    return int(fid), str(ward), str(number)


def _audited(url: str, subject: str, fid: int) -> int:
    rows = _sql(
        url,
        "SELECT count(*) FROM audit_log WHERE action = 'read_personal' "
        "AND layer = 'land_parcels' AND subject = %s AND %s = ANY(feature_ids)",
        subject,
        fid,
    )
    return int(rows[0][0])


def _halves(url: str, fid: int) -> list[dict[str, Any]]:
    """The parcel cut in two by a north-south line through the middle of its box,
    as GeoJSON in EPSG:9218 (the children of a split)."""
    rows = _sql(
        url,
        "WITH p AS (SELECT ST_Transform(geom, 9218) AS g FROM land_parcel "
        "WHERE id = %s), b AS (SELECT g, ST_XMin(g) AS x1, ST_YMin(g) - 1 AS y1, "
        "(ST_XMin(g) + ST_XMax(g)) / 2 AS xm, ST_XMax(g) AS x2, ST_YMax(g) + 1 AS y2 "
        "FROM p) SELECT ST_AsGeoJSON(ST_CollectionExtract(ST_Intersection(g, "
        "ST_MakeEnvelope(x1 - 1, y1, xm, y2, 9218)), 3), 6)::json, "
        "ST_AsGeoJSON(ST_CollectionExtract(ST_Intersection(g, "
        "ST_MakeEnvelope(xm, y1, x2 + 1, y2, 9218)), 3), 6)::json FROM b",
        fid,
    )
    return [rows[0][0], rows[0][1]]


def test_officer_extract_has_versions_dossiers_users_and_lineage(
    land_city_db: str, dossier_parcel: tuple[int, str, str]
) -> None:
    url = land_city_db
    fid, ward, dossier_no = dossier_parcel
    officer = bearer("land_officer", wards=(ward,), sub="officer-trich-luc")
    with TestClient(create_app(settings(), database_url=url)) as c:
        # a second version, made through the API by the officer
        r = c.patch(
            f"{PARCELS}/{fid}",
            content=json.dumps({"properties": {"address": "15 Lê Lợi"}}),
            headers={**officer, "Content-Type": "application/merge-patch+json"},
        )
        assert r.status_code == 204, r.text
        versions = c.get(f"{PARCELS}/{fid}/versions", headers=officer).json()
        assert len(versions["versions"]) >= 2
        users = c.get(f"{PARCELS}/{fid}", headers=officer).json()["properties"][
            "land_users"
        ]
        assert users
        before = _audited(url, "officer-trich-luc", fid)
        r = c.get(f"/land/parcels/{fid}/extract.pdf", headers=officer)
        assert r.status_code == 200, r.text
        with open(f"{SHOTS}/land-extract-officer.pdf", "wb") as out:
            out.write(r.content)
        text = _pdf_text(r.content)
        # the versions: one row each, the last made by the officer, changing the
        # address (its title, Vietnamese first)
        assert "Cácphiênbảntrongcơsởdữliệu" in text
        for v in versions["versions"]:
            assert _squeezed(city_time(v["valid_from"])) in text
        assert "Cậpnhật" in text and "officer-trich-luc" in text
        assert "15LêLợi" in text
        # the dossiers of the parcel (its ward's officer sees them)
        assert "Hồsơđấtđai" in text
        assert _squeezed(dossier_no) in text
        # the users and certificates, and the personal read is audited
        assert all(_squeezed(u["full_name"]) in text for u in users)
        assert "Giấychứngnhận" in text
        assert _audited(url, "officer-trich-luc", fid) == before + 1

        # anonymous, a planner, another ward's officer: no dossier, no personal value
        elsewhere = _another_ward(url, ward)
        for who in (
            {},
            bearer("planner"),
            bearer("land_officer", wards=(elsewhere,), sub="officer-khac"),
        ):
            r = c.get(f"/land/parcels/{fid}/extract.pdf", headers=who)
            assert r.status_code == 200, r.text
            other = _pdf_text(r.content)
            assert "Cácphiênbản" in other  # versions are as public as the parcel
            assert "Hồsơđấtđai" not in other
            assert _squeezed(dossier_no) not in other
            assert "Ngườisửdụngđất" not in other
            assert not any(_squeezed(u["full_name"]) in other for u in users)
        assert _audited(url, "officer-khac", fid) == 0

        # a split through the API: both extracts and cards name the other side
        parent = c.get(f"{PARCELS}/{fid}").json()["properties"]
        body = {"parcel": fid, "decision": DECISION, "children": _halves(url, fid)}
        r = c.post(
            "/collections/land_parcels/split",
            content=json.dumps(body),
            headers={
                **officer,
                "Content-Type": "application/geo+json",
                "Content-Crs": "http://www.opengis.net/def/crs/EPSG/0/9218",
            },
        )
        assert r.status_code == 201, r.text
        children = r.json()["features"]
        child = children[0]
        r = c.get(f"/land/parcels/{child['id']}/extract.pdf", headers=officer)
        assert r.status_code == 200, r.text
        with open(f"{SHOTS}/land-extract-child.pdf", "wb") as out:
            out.write(r.content)
        text = _pdf_text(r.content)
        assert "Đượctạotừthửa" in text
        assert f"{parent['sheet_no']}/{parent['parcel_no']}" in text
        assert _squeezed(DECISION["number"]) in text and DECISION["date"] in text
        assert "Táchthửa" in text
        r = c.get(f"/land/parcels/{fid}/extract.pdf?lang=en")
        text = _pdf_text(r.content)
        assert "Madeintoparcel" in text
        for k in children:
            p = k["properties"]
            assert f"{p['sheet_no']}/{p['parcel_no']}" in text
        # the card: the lineage rendered with the page, linked both ways
        card = c.get(f"/land/parcels/{child['id']}?lang=en").text
        assert 'id="lineage"' in card
        assert f"/land/parcels/{fid}?lang=en" in card
        assert DECISION["number"] in card
        unsplit = c.get(f"/land/parcels/{_another_parcel(url, fid)}").text
        assert 'id="lineage"' not in unsplit


def _another_parcel(url: str, fid: int) -> int:
    rows = _sql(
        url,
        "SELECT id FROM land_parcel p WHERE id <> %s AND NOT EXISTS (SELECT 1 FROM "
        "parcel_lineage l WHERE p.id IN (l.parent_id, l.child_id)) ORDER BY id LIMIT 1",
        fid,
    )
    return int(rows[0][0])


def test_lookup_page_links_the_dossier_reports_for_their_readers(
    officer_client: TestClient, certified: tuple[int, str]
) -> None:
    _, ward = certified
    c = officer_client
    assert 'id="dossier-reports"' not in c.get("/land").text
    assert 'id="dossier-reports"' not in c.get("/land", headers=bearer("planner")).text
    officer = bearer("land_officer", wards=(ward,))
    page = c.get("/land?lang=en", headers=officer).text
    links = re.findall(r'id="report-([a-z-]+)" href="([^"]+)"', page)
    assert [name for name, _ in links] == ["weekly", "overdue", "due-soon"]
    for _, href in links:
        target = href.replace("&amp;", "&").replace("http://testserver", "")
        r = c.get(target, headers=officer)
        assert r.status_code == 200, (target, r.text)
        assert r.headers["content-type"].startswith("text/html")


def test_card_with_lineage_in_chromium(
    browser: Browser,  # noqa: F811
    land_city: str,
    land_city_db: str,
) -> None:
    url = land_city_db
    rows = _sql(
        url,
        "SELECT p.id, p.ward_code FROM land_parcel p WHERE p.valid_to IS NULL "
        "AND ST_Area(p.geom::geography) > 150 AND NOT EXISTS (SELECT 1 FROM "
        "parcel_lineage l WHERE p.id IN (l.parent_id, l.child_id)) "
        "ORDER BY p.id DESC LIMIT 1",
    )
    fid, ward = int(rows[0][0]), str(rows[0][1])
    officer = bearer("land_officer", wards=(ward,), sub="officer-lineage")
    client = httpx.Client(base_url=land_city, timeout=30)
    r = client.post(
        "/collections/land_parcels/split",
        content=json.dumps(
            {"parcel": fid, "decision": DECISION, "children": _halves(url, fid)}
        ),
        headers={
            **officer,
            "Content-Type": "application/geo+json",
            "Content-Crs": "http://www.opengis.net/def/crs/EPSG/0/9218",
        },
    )
    assert r.status_code == 201, r.text
    children = [f["id"] for f in r.json()["features"]]
    page = browser.new_page(viewport={"width": 1200, "height": 1000})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.set_extra_http_headers(officer)
    page.goto(f"{land_city}/land/parcels/{children[0]}?lang=vi")
    page.wait_for_function("window.landState.mapReady", timeout=60_000)
    page.wait_for_function(
        "window.landState.dossiers !== null && window.landState.versions !== null",
        timeout=10_000,
    )
    lineage = page.locator("#lineage")
    assert lineage.is_visible()
    assert DECISION["number"] in lineage.inner_text()
    assert "Được tạo từ thửa" in lineage.inner_text()
    page.screenshot(path=f"{SHOTS}/land-card-lineage.png", full_page=True)
    # to the parent's card: it lists both children, each linked to its card
    lineage.locator("tr.parents a").first.click()
    page.wait_for_url(re.compile(rf".*/land/parcels/{fid}\?lang=vi$"))
    page.wait_for_function("window.landState.mapReady", timeout=60_000)
    made = page.locator("#lineage tr.children a")
    assert made.count() == len(children)
    hrefs = {made.nth(i).get_attribute("href") for i in range(made.count())}
    assert hrefs == {f"{land_city}/land/parcels/{k}?lang=vi" for k in children}
    page.screenshot(path=f"{SHOTS}/land-card-parent.png", full_page=True)
    assert not errors, errors
    page.close()
