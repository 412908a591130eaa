"""The planning information of a parcel or a drawn polygon (issue 14, item 2).

Generated parcels and planning zones, laid out in VN-2000 / TM-3 108°30' (EPSG:9218,
the city's cadastral grid) and stored as the layers store them: every area and share
the API answers is checked against PostGIS computing it another way (the parcel
intersected with the union of the zones, rather than the union of the pieces), and
the shares add up to the covered fraction wherever the zones do not overlap.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient
from openapi_spec_validator import validate

from api.app import create_app
from gis.db.urls import libpq_url
from tests.api.principals import bearer, settings
from tests.conftest import create_database, drop_database

TM3 = 9218
TM3_URI = "http://www.opengis.net/def/crs/EPSG/0/9218"
# a corner of the generated city, in EPSG:9218 metres (Phan Thiết)
X0, Y0 = 450_000.0, 1_200_000.0
PLANNER = bearer("planner")
GEOJSON = {"Content-Type": "application/geo+json"}
# what float noise leaves of an exact match: two ways of cutting the same polygons
# in degrees place their crossings a few micrometres apart (1e-5 m² seen)
AREA_ABS = 1e-4  # m², a square centimetre
SHARE_ABS = 1e-5


@dataclass(frozen=True)
class Box:
    """A rectangle in EPSG:9218 metres."""

    x1: float
    y1: float
    x2: float
    y2: float

    def wkt(self) -> str:
        x1, y1, x2, y2 = self.x1, self.y1, self.x2, self.y2
        return f"POLYGON(({x1} {y1},{x2} {y1},{x2} {y2},{x1} {y2},{x1} {y1}))"

    def overlaps(self, other: Box) -> bool:
        return min(self.x2, other.x2) > max(self.x1, other.x1) and min(
            self.y2, other.y2
        ) > max(self.y1, other.y1)

    def clipped(self, other: Box) -> Box | None:
        if not self.overlaps(other):
            return None
        return Box(
            max(self.x1, other.x1),
            max(self.y1, other.y1),
            min(self.x2, other.x2),
            min(self.y2, other.y2),
        )


def _box(ox: float, oy: float, x1: float, y1: float, x2: float, y2: float) -> Box:
    return Box(ox + x1, oy + y1, ox + x2, oy + y2)


def _insert_parcel(conn: psycopg.Connection[Any], box: Box, number: int) -> int:
    row = conn.execute(
        "INSERT INTO land_parcel (ward_code, sheet_no, parcel_no, land_use, geom) "
        "VALUES ('22945', 1, %s, 'ODT', "
        "ST_Multi(ST_Transform(ST_GeomFromText(%s, %s), 4326))) RETURNING id",
        (number, box.wkt(), TM3),
    ).fetchone()
    assert row is not None
    return int(row[0])


def _insert_zone(
    conn: psycopg.Connection[Any],
    box: Box,
    code: str,
    *,
    valid_to: str | None = None,
) -> int:
    row = conn.execute(
        "INSERT INTO planning_zone (zone_code, plan_name, approval_decision, "
        "approved_on, zone_function, land_use, max_height_m, max_floors, "
        "building_density_pct, land_use_coefficient, valid_from, valid_to, geom) "
        "VALUES (%s, 'Phân khu 1/2000 Phú Thủy', 'QĐ 123/QĐ-UBND', '2024-05-02', "
        "'Đất ở hiện trạng cải tạo', 'ODT', 25.5, 7, 80.0, 5.6, '2024-06-01', %s, "
        "ST_Multi(ST_Transform(ST_GeomFromText(%s, %s), 4326))) RETURNING id",
        (code, valid_to, box.wkt(), TM3),
    ).fetchone()
    assert row is not None
    return int(row[0])


@dataclass(frozen=True)
class Case:
    parcel: int
    zones: tuple[int, ...]  # those over the parcel with an area, in force
    disjoint: bool  # whether those zones overlap each other within the parcel


@dataclass(frozen=True)
class City:
    url: str
    named: dict[str, Case]
    generated: tuple[Case, ...]


def _generated_cases(conn: psycopg.Connection[Any], count: int) -> list[Case]:
    """Random parcels, each with 0-3 random zones around it (some over it, some
    overlapping each other, some beside it)."""
    rng = random.Random(142)
    cases = []
    for i in range(count):
        ox, oy = X0 + 2_000 + 300 * i, Y0 + 2_000
        parcel = _box(ox, oy, 0, 0, rng.uniform(8, 60), rng.uniform(8, 60))
        pid = _insert_parcel(conn, parcel, 1_000 + i)
        over, pieces = [], []
        for j in range(rng.randint(0, 3)):
            x1, y1 = rng.uniform(-40, 50), rng.uniform(-40, 50)
            zone = _box(
                ox, oy, x1, y1, x1 + rng.uniform(5, 80), y1 + rng.uniform(5, 80)
            )
            zid = _insert_zone(conn, zone, f"G{i}-{j}")
            if (piece := zone.clipped(parcel)) is not None:
                over.append(zid)
                pieces.append(piece)
        disjoint = not any(
            a.overlaps(b) for k, a in enumerate(pieces) for b in pieces[k + 1 :]
        )
        cases.append(Case(pid, tuple(over), disjoint))
    return cases


@pytest.fixture(scope="module")
def city(server_url: str, migrated_template: str) -> Iterator[City]:
    url = create_database(server_url, "planning_city", template=migrated_template)
    named: dict[str, Case] = {}
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        # two zones side by side, the second over part of the parcel only; a zone
        # no longer in force over all of it
        ox, oy = X0, Y0
        p = _insert_parcel(conn, _box(ox, oy, 0, 0, 20, 30), 1)
        a = _insert_zone(conn, _box(ox, oy, -50, -50, 8, 80), "A1")
        b = _insert_zone(conn, _box(ox, oy, 8, -50, 60, 22), "B2")
        _insert_zone(conn, _box(ox, oy, -5, -5, 25, 35), "OLD", valid_to="2020-01-01")
        named["two"] = Case(p, (a, b), disjoint=True)
        # two zones over the same ground (two plans): covered once
        ox = X0 + 500
        p = _insert_parcel(conn, _box(ox, oy, 0, 0, 20, 30), 2)
        c = _insert_zone(conn, _box(ox, oy, -50, -50, 12, 80), "C3")
        d = _insert_zone(conn, _box(ox, oy, 6, -50, 60, 25), "D4")
        named["overlapping"] = Case(p, (c, d), disjoint=False)
        # none over it: a zone beside it shares only its edge
        ox = X0 + 1_000
        p = _insert_parcel(conn, _box(ox, oy, 0, 0, 20, 30), 3)
        _insert_zone(conn, _box(ox, oy, 20, 0, 40, 30), "E5")
        named["none"] = Case(p, (), disjoint=True)
        generated = tuple(_generated_cases(conn, 24))
        conn.execute("ANALYZE")
    yield City(url, named, generated)
    drop_database(server_url, "planning_city")


@pytest.fixture(scope="module")
def client(city: City) -> Iterator[TestClient]:
    with TestClient(create_app(settings(), database_url=city.url)) as c:
        yield c


def _planning(client: TestClient, parcel: int, **params: str) -> dict[str, Any]:
    r = client.get(f"/collections/land_parcels/items/{parcel}/planning", params=params)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/json")
    doc: dict[str, Any] = r.json()
    return doc


def _direct(url: str, parcel: int, zones: tuple[int, ...]) -> dict[str, Any]:
    """The same measures straight from PostGIS: each zone's overlap, and the parcel
    intersected with the union of the zones."""
    with psycopg.connect(libpq_url(url)) as conn:
        row = conn.execute(
            "SELECT ST_Area(p.geom::geography), "
            "COALESCE(ST_Area(ST_Intersection(p.geom, (SELECT ST_Union(geom) FROM "
            "planning_zone WHERE id = ANY(%s)))::geography), 0) "
            "FROM land_parcel p WHERE p.id = %s",
            (list(zones), parcel),
        ).fetchone()
        assert row is not None
        areas = dict(
            conn.execute(
                "SELECT z.id, ST_Area(ST_Intersection(z.geom, p.geom)::geography) "
                "FROM planning_zone z, land_parcel p WHERE p.id = %s "
                "AND z.id = ANY(%s)",
                (parcel, list(zones)),
            ).fetchall()
        )
    return {"area": row[0], "covered": row[1], "zones": areas}


def _check_against_postgis(doc: dict[str, Any], url: str, case: Case) -> None:
    direct = _direct(url, case.parcel, case.zones)
    assert doc["parcel"] == case.parcel
    assert doc["area_m2"] == pytest.approx(direct["area"], abs=AREA_ABS)
    assert sorted(z["id"] for z in doc["zones"]) == sorted(case.zones)
    for zone in doc["zones"]:
        assert zone["area_m2"] == pytest.approx(
            direct["zones"][zone["id"]], abs=AREA_ABS
        )
        assert zone["share"] == pytest.approx(
            zone["area_m2"] / direct["area"], abs=SHARE_ABS
        )
        assert 0 < zone["share"] <= 1
    # the union cut another way: its crossings may move a few micrometres more
    covered = pytest.approx(direct["covered"], rel=1e-6, abs=AREA_ABS)
    assert doc["covered_area_m2"] == covered
    fraction = direct["covered"] / direct["area"]
    assert doc["covered_fraction"] == pytest.approx(fraction, abs=SHARE_ABS)
    shares = sum(z["share"] for z in doc["zones"])
    if case.disjoint:  # the shares add up to the covered fraction
        assert shares == pytest.approx(doc["covered_fraction"], abs=SHARE_ABS)
    else:  # overlapping zones: the covered fraction counts their ground once
        assert shares >= doc["covered_fraction"] - SHARE_ABS


def test_two_zones_share_the_parcel(client: TestClient, city: City) -> None:
    case = city.named["two"]
    doc = _planning(client, case.parcel)
    _check_against_postgis(doc, city.url, case)
    # the largest overlap first; A1 takes x 0-8 of 20, B2 x 8-20 and y 0-22 of 30
    assert [z["zone_code"] for z in doc["zones"]] == ["B2", "A1"]
    b2, a1 = doc["zones"]
    assert a1["share"] == pytest.approx(8 / 20, rel=1e-3)
    assert b2["share"] == pytest.approx(12 * 22 / 600, rel=1e-3)
    assert doc["covered_fraction"] == pytest.approx((240 + 264) / 600, rel=1e-3)
    assert doc["area_m2"] == pytest.approx(600, rel=1e-3)  # TM-3's scale: 0.02 %
    assert a1 | {"area_m2": None, "share": None} == {
        "id": a1["id"],
        "zone_code": "A1",
        "zone_function": "Đất ở hiện trạng cải tạo",
        "land_use": "ODT",
        "max_height_m": 25.5,
        "max_floors": 7,
        "building_density_pct": 80.0,
        "land_use_coefficient": 5.6,
        "plan_name": "Phân khu 1/2000 Phú Thủy",
        "approval_decision": "QĐ 123/QĐ-UBND",
        "approved_on": "2024-05-02",
        "valid_from": "2024-06-01",
        "valid_to": None,
        "area_m2": None,
        "share": None,
    }


def test_overlapping_zones_are_covered_once(client: TestClient, city: City) -> None:
    case = city.named["overlapping"]
    doc = _planning(client, case.parcel)
    _check_against_postgis(doc, city.url, case)
    # C3 x 0-12, D4 x 6-20 and y 0-25: together x 0-12 whole, x 12-20 y 0-25
    assert doc["covered_fraction"] == pytest.approx((360 + 200) / 600, rel=1e-3)
    shares = sum(z["share"] for z in doc["zones"])  # x 6-12, y 0-25 counted twice
    assert shares == pytest.approx((360 + 350) / 600, rel=1e-3)


def test_no_zone_over_the_parcel(client: TestClient, city: City) -> None:
    case = city.named["none"]
    doc = _planning(client, case.parcel)
    _check_against_postgis(doc, city.url, case)
    assert doc["zones"] == []  # E5 only touches its edge
    assert doc["covered_area_m2"] == 0
    assert doc["covered_fraction"] == 0


def test_generated_parcels_match_postgis(client: TestClient, city: City) -> None:
    assert any(c.zones and not c.disjoint for c in city.generated)
    assert any(len(c.zones) >= 2 and c.disjoint for c in city.generated)
    assert any(not c.zones for c in city.generated)
    for case in city.generated:
        _check_against_postgis(_planning(client, case.parcel), city.url, case)


def _polygon_in(url: str, wkt: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """A polygon given in EPSG:9218 as GeoJSON in CRS84 and in EPSG:9218."""
    with psycopg.connect(libpq_url(url)) as conn:
        row = conn.execute(
            "SELECT ST_AsGeoJSON(ST_Transform(g, 4326), 15), ST_AsGeoJSON(g, 6) "
            "FROM ST_GeomFromText(%s, %s) AS g",
            (wkt, TM3),
        ).fetchone()
    assert row is not None
    return json.loads(row[0]), json.loads(row[1])


def _post(client: TestClient, body: Any, **headers: str) -> Any:
    content = body if isinstance(body, bytes) else json.dumps(body)
    return client.post(
        "/planning", content=content, headers={**PLANNER, **GEOJSON, **headers}
    )


def test_drawn_polygon_in_crs84_and_vn2000(client: TestClient, city: City) -> None:
    # an L over the first parcel and both its zones, drawn by hand
    x, y = X0, Y0
    wkt = (
        f"POLYGON(({x - 4} {y - 3},{x + 16} {y - 3},{x + 16} {y + 10},"
        f"{x + 6} {y + 10},{x + 6} {y + 27},{x - 4} {y + 27},{x - 4} {y - 3}))"
    )
    crs84, tm3 = _polygon_in(city.url, wkt)
    r84 = _post(client, crs84)
    assert r84.status_code == 200, r84.text
    rtm = _post(client, tm3, **{"Content-Crs": TM3_URI})
    assert rtm.status_code == 200, rtm.text
    a, b = r84.json(), rtm.json()
    assert a["parcel"] is None
    assert a["area_m2"] == pytest.approx(b["area_m2"], abs=0.01)
    assert a["covered_area_m2"] == pytest.approx(b["covered_area_m2"], abs=0.01)
    assert [z["zone_code"] for z in a["zones"]] == [z["zone_code"] for z in b["zones"]]
    assert {z["zone_code"] for z in a["zones"]} == {"A1", "B2"}  # OLD has expired
    for za, zb in zip(a["zones"], b["zones"], strict=True):
        assert za["area_m2"] == pytest.approx(zb["area_m2"], abs=0.01)
    # and PostGIS agrees: the L's overlap with each zone
    with psycopg.connect(libpq_url(city.url)) as conn:
        expected = dict(
            conn.execute(
                "SELECT zone_code, ST_Area(ST_Intersection(geom, ST_Transform("
                "ST_GeomFromText(%s, %s), 4326))::geography) FROM planning_zone "
                "WHERE zone_code IN ('A1', 'B2')",
                (wkt, TM3),
            ).fetchall()
        )
    for zone in a["zones"]:
        assert zone["area_m2"] == pytest.approx(expected[zone["zone_code"]], abs=0.01)
    # a Feature of the polygon is the same question
    feature = {"type": "Feature", "properties": {}, "geometry": crs84}
    assert _post(client, feature).json()["zones"] == a["zones"]


def test_unknown_parcel_is_404(client: TestClient) -> None:
    for fid in ("999999999", "abc", "0", "-1"):
        r = client.get(f"/collections/land_parcels/items/{fid}/planning")
        assert r.status_code == 404, (fid, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")


SQUARE_84 = {
    "type": "Polygon",
    "coordinates": [
        [[108.1, 10.93], [108.1003, 10.93], [108.1003, 10.9303], [108.1, 10.93]]
    ],
}


@pytest.mark.parametrize(
    ("body", "headers"),
    [
        (b"{not json", {}),
        (b"[]", {}),
        ({"type": "Point", "coordinates": [108.1, 10.93]}, {}),
        ({"type": "Feature", "properties": {}, "geometry": None}, {}),
        ({"type": "Polygon", "coordinates": "nope"}, {}),
        ({"type": "Polygon", "coordinates": [[[1, 2], [3, 4]]]}, {}),
        ({"type": "Polygon", "coordinates": [[[2.35, 48.85], [2.36, 48.85],
          [2.36, 48.86], [2.35, 48.85]]]}, {}),  # Paris
        ({"type": "Polygon", "coordinates": [[[108.1, 10.93], [108.2, 11.0],
          [108.2, 10.93], [108.1, 11.0], [108.1, 10.93]]]}, {}),  # a bow tie
        ({"type": "Polygon", "coordinates": [[[108.1, 10.93, 5], [108.2, 11.0, 5],
          [108.2, 10.93, 5], [108.1, 10.93, 5]]]}, {}),  # heights
        (SQUARE_84, {"Content-Crs": "http://www.opengis.net/def/crs/EPSG/0/2154"}),
        (SQUARE_84, {"Content-Crs": TM3_URI}),  # degrees read as metres
    ],
)  # fmt: skip
def test_bad_body_is_400(
    client: TestClient, body: Any, headers: dict[str, str]
) -> None:
    r = _post(client, body, **headers)
    assert r.status_code == 400, r.text
    assert r.headers["content-type"].startswith("application/problem+json")


def test_polygon_limits_and_media(client: TestClient) -> None:
    ring = [[108.1 + 0.01 * i / 60_000, 10.93] for i in range(60_000)]
    ring += [[108.11 - 0.01 * i / 60_000, 10.94] for i in range(60_000)]
    big = {"type": "Polygon", "coordinates": [[*ring, ring[0]]]}
    r = _post(client, big)
    assert r.status_code == 400, r.text
    assert "100000" in r.json()["detail"]
    r = _post(client, SQUARE_84, **{"Content-Type": "text/plain"})
    assert r.status_code == 415
    r = client.post("/planning", content=json.dumps(SQUARE_84), headers=GEOJSON)
    assert r.status_code == 401  # signed-in callers only
    assert _post(client, SQUARE_84).status_code == 200


def test_unknown_parameter_is_400(client: TestClient, city: City) -> None:
    parcel = city.named["two"].parcel
    r = client.get(f"/collections/land_parcels/items/{parcel}/planning?crs=x")
    assert r.status_code == 400
    r = client.post("/planning?f=html", content=json.dumps(SQUARE_84),
                    headers={**PLANNER, **GEOJSON})  # fmt: skip
    assert r.status_code == 400


def test_html_page(client: TestClient, city: City) -> None:
    case = city.named["two"]
    r = client.get(f"/collections/land_parcels/items/{case.parcel}/planning?f=html")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    assert "A1" in r.text and "B2" in r.text and "OLD" not in r.text
    assert "Thông tin quy hoạch" in r.text and "Planning information" in r.text
    r = client.get(
        f"/collections/land_parcels/items/{case.parcel}/planning",
        headers={"Accept": "text/html"},
    )
    assert r.status_code == 200 and "B2" in r.text
    none = city.named["none"].parcel
    r = client.get(f"/collections/land_parcels/items/{none}/planning?f=html&lang=en")
    assert r.status_code == 200 and "No planning zone" in r.text


def test_caching(client: TestClient, city: City) -> None:
    url = f"/collections/land_parcels/items/{city.named['two'].parcel}/planning"
    r = client.get(url)
    assert r.headers["cache-control"] == "public, max-age=60"
    again = client.get(url, headers={"If-None-Match": r.headers["etag"]})
    assert again.status_code == 304


def test_feature_links_to_its_planning(client: TestClient, city: City) -> None:
    parcel = city.named["two"].parcel
    feature = client.get(f"/collections/land_parcels/items/{parcel}").json()
    related = [
        lk for lk in feature["links"] if "Thông tin quy hoạch" in lk.get("title", "")
    ]
    assert len(related) == 1
    assert related[0]["rel"] == "related"
    assert "Planning information" in related[0]["title"]
    href = related[0]["href"]
    assert href.endswith(f"/collections/land_parcels/items/{parcel}/planning")
    assert client.get(href).json()["parcel"] == parcel
    other = client.get("/collections/planning_zones/items").json()["features"][0]
    zone = client.get(f"/collections/planning_zones/items/{other['id']}").json()
    assert not any(lk["href"].endswith("/planning") for lk in zone["links"])


def test_openapi_lists_the_routes(client: TestClient) -> None:
    anonymous = client.get("/api").json()["paths"]
    assert "get" in anonymous["/collections/land_parcels/items/{featureId}/planning"]
    assert "/planning" not in anonymous  # the document offers anonymous no POST
    signed_in = client.get("/api", headers=PLANNER).json()
    validate(signed_in)
    assert "post" in signed_in["paths"]["/planning"]
