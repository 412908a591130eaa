"""Split and merge of parcels, with lineage (issue 14, item 5).

Parcels are rectangles laid out in VN-2000 / TM-3 108°30' (EPSG:9218, metres) and
stored as the layer stores them. A split or merge is one PostgreSQL function in one
transaction: the tests kill the backend while it waits half-way (children inserted,
parent retired, the change recorded, the lineage not yet) and find nothing changed;
two splits on one sheet at once both succeed with distinct numbers; every refusal is
a 4xx that leaves the parcels as they were.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import psycopg
import pytest
from fastapi.testclient import TestClient
from openapi_spec_validator import validate

from api.app import create_app
from gis.db.urls import libpq_url
from tests.api.principals import bearer, settings
from tests.conftest import create_database, drop_database, served

TM3 = 9218
TM3_URI = "http://www.opengis.net/def/crs/EPSG/0/9218"
X0, Y0 = 452_000.0, 1_210_000.0
WARD, OTHER_WARD, SURVEY = "22945", "22924", "22939"
OFFICER = bearer("land_officer", wards=(WARD,), sub="officer-an")
OTHER_OFFICER = bearer("land_officer", wards=(OTHER_WARD,), sub="officer-binh")
ADMIN = bearer("admin")
GEOJSON = {"Content-Type": "application/geo+json"}
DECISION = {"number": "123/QĐ-UBND", "date": "2026-11-20"}
PARCELS = "/collections/land_parcels"
_places = itertools.count()  # each test's parcels on their own ground and sheet


def _sql(url: str, query: str, *args: Any) -> list[Any]:
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        cur = conn.execute(query, args)
        return cur.fetchall() if cur.description else []


def _wkt(x1: float, y1: float, x2: float, y2: float) -> str:
    return f"POLYGON(({x1} {y1},{x2} {y1},{x2} {y2},{x1} {y2},{x1} {y1}))"


class Ground:
    """A free patch of the city and a sheet of its own, for one test."""

    def __init__(self, url: str) -> None:
        n = next(_places)
        self.url = url
        self.x, self.y = X0 + 1_000 * n, Y0
        self.sheet = 100 + n

    def parcel(
        self,
        x1: float,
        y1: float,
        x2: float,
        y2: float,
        *,
        number: int,
        ward: str = WARD,
        sheet: int | None = None,
        valid_to: str | None = None,
    ) -> int:
        """A parcel (x, y in metres from the patch's corner), valid since 2020."""
        rows = _sql(
            self.url,
            "INSERT INTO land_parcel (ward_code, survey_ward_code, sheet_no, "
            "parcel_no, land_use, address, map_scale, source_crs, valid_from, "
            "valid_to, area_geom_m2, geom) SELECT %s, %s, %s, %s, 'ODT', "
            "'12 Trần Hưng Đạo', 500, 9218, '2020-01-01', %s, "
            "round(ST_Area(g::geography)::numeric, 1), g FROM (SELECT "
            "ST_Multi(ST_Transform(ST_GeomFromText(%s, %s), 4326)) AS g) AS t "
            "RETURNING id",
            ward,
            SURVEY,
            sheet or self.sheet,
            number,
            valid_to,
            self.wkt(x1, y1, x2, y2),
            TM3,
        )
        return int(rows[0][0])

    def wkt(self, x1: float, y1: float, x2: float, y2: float) -> str:
        return _wkt(self.x + x1, self.y + y1, self.x + x2, self.y + y2)

    def box(self, x1: float, y1: float, x2: float, y2: float) -> dict[str, Any]:
        """A GeoJSON Polygon in EPSG:9218 (easting, northing)."""
        x, y = self.x, self.y
        ring = [
            [x + x1, y + y1],
            [x + x2, y + y1],
            [x + x2, y + y2],
            [x + x1, y + y2],
            [x + x1, y + y1],
        ]
        return {"type": "Polygon", "coordinates": [ring]}


@pytest.fixture(scope="module")
def db(server_url: str, migrated_template: str) -> Iterator[str]:
    url = create_database(server_url, "parcel_changes", template=migrated_template)
    yield url
    drop_database(server_url, "parcel_changes")


@pytest.fixture(scope="module")
def client(db: str) -> Iterator[TestClient]:
    with TestClient(create_app(settings(), database_url=db)) as c:
        yield c


@pytest.fixture(scope="module")
def live(db: str) -> Iterator[str]:
    with served(settings(), db) as url:
        yield url


def _split(
    client: TestClient,
    body: Any,
    who: dict[str, str] = OFFICER,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    content = body if isinstance(body, bytes) else json.dumps(body)
    r: httpx.Response = client.post(
        f"{PARCELS}/split",
        content=content,
        headers={
            **who,
            **GEOJSON,
            "Content-Crs": TM3_URI,
            "Accept-Language": "en",
            **(headers or {}),
        },
    )
    return r


def _merge(
    client: TestClient, body: Any, who: dict[str, str] = OFFICER
) -> httpx.Response:
    content = body if isinstance(body, bytes) else json.dumps(body)
    r: httpx.Response = client.post(
        f"{PARCELS}/merge",
        content=content,
        headers={**who, **GEOJSON, "Accept-Language": "en"},
    )
    return r


def _state(url: str) -> Any:
    """Everything a split or merge could change."""
    return (
        _sql(
            url,
            "SELECT id, parcel_no, valid_to, xmin::text FROM land_parcel ORDER BY id",
        ),
        _sql(url, "SELECT count(*) FROM parcel_change"),
        _sql(url, "SELECT count(*) FROM parcel_lineage"),
    )


def test_split_makes_numbered_children_and_retires_the_parent(
    client: TestClient, db: str
) -> None:
    g = Ground(db)
    for n in (1, 2, 3):
        g.parcel(100 + 30 * n, 0, 120 + 30 * n, 20, number=n)
    g.parcel(300, 0, 320, 20, number=9, valid_to="2024-01-01")  # retired: kept
    parent = g.parcel(0, 0, 20, 30, number=4)
    body = {
        "parcel": parent,
        "decision": DECISION,
        "children": [
            {
                "type": "Feature",
                "geometry": g.box(0, 0, 12, 30),
                "properties": {"land_use": "TMD", "area_legal_m2": 359.5},
            },
            g.box(12, 0, 20, 30),
        ],
    }
    r = _split(client, body)
    assert r.status_code == 201, r.text
    assert r.headers["location"].endswith(f"{PARCELS}/items/{parent}/lineage")
    doc = r.json()
    assert doc["type"] == "FeatureCollection"
    first, second = doc["features"]
    # the next numbers after the highest ever given on the sheet, retired ones too
    assert [f["properties"]["parcel_no"] for f in doc["features"]] == [10, 11]
    for f in doc["features"]:
        p = f["properties"]
        assert f["id"] not in (parent,)
        assert p["ward_code"] == WARD and p["survey_ward_code"] == SURVEY
        assert p["sheet_no"] == g.sheet
        assert p["valid_from"] == DECISION["date"] and p["valid_to"] is None
        assert p["source_crs"] == 9218 and p["map_scale"] == 500
        assert f["links"][0]["href"].endswith(f"/items/{f['id']}")
    assert first["properties"]["land_use"] == "TMD"
    assert first["properties"]["area_legal_m2"] == 359.5
    assert second["properties"]["land_use"] == "ODT"  # the parent's
    assert second["properties"]["area_legal_m2"] is None
    # TM-3's scale factor makes 360 m² on the grid 0.02 % more on the spheroid
    assert first["properties"]["area_geom_m2"] == pytest.approx(360, abs=0.2)
    assert second["properties"]["area_geom_m2"] == pytest.approx(240, abs=0.2)
    # the parent is retired on the decision's date, not deleted
    old = client.get(f"{PARCELS}/items/{parent}").json()
    assert old["properties"]["valid_to"] == DECISION["date"]
    lineage_link = [x for x in old["links"] if x["href"].endswith("/lineage")]
    assert lineage_link and lineage_link[0]["rel"] == "related"
    # lineage both ways
    down = client.get(f"{PARCELS}/items/{parent}/lineage").json()
    assert down["parents"] == []
    assert [c["id"] for c in down["children"]] == [first["id"], second["id"]]
    change = down["children"][0]["change"]
    assert change["kind"] == "split"
    assert change["decision_no"] == DECISION["number"]
    assert change["decision_date"] == DECISION["date"]
    up = client.get(f"{PARCELS}/items/{second['id']}/lineage").json()
    assert [(p["id"], p["depth"], p["parcel_no"]) for p in up["parents"]] == [
        (parent, 1, 4)
    ]
    assert up["parents"][0]["href"].endswith(f"{PARCELS}/items/{parent}")
    assert up["children"] == []
    made = _sql(
        db,
        "SELECT kind, decision_no, made_by FROM parcel_change WHERE id = %s",
        change["id"],
    )
    assert made == [("split", DECISION["number"], "officer-an")]


def test_merge_then_lineage_to_any_depth(client: TestClient, db: str) -> None:
    g = Ground(db)
    small = g.parcel(0, 0, 10, 20, number=1)
    large = g.parcel(10, 0, 40, 20, number=7, sheet=g.sheet + 500)
    r = _merge(
        client,
        {
            "parcels": [small, large],
            "decision": DECISION,
            "properties": {"area_legal_m2": 600},
        },
    )
    assert r.status_code == 201, r.text
    merged = r.json()
    assert r.headers["location"].endswith(f"{PARCELS}/items/{merged['id']}")
    p = merged["properties"]
    # numbered on the sheet of the larger parent
    assert (p["sheet_no"], p["parcel_no"]) == (g.sheet + 500, 8)
    assert p["area_geom_m2"] == pytest.approx(800, abs=0.3)
    assert p["area_legal_m2"] == 600 and p["land_use"] == "ODT"
    assert merged["geometry"]["type"] == "MultiPolygon"
    assert len(merged["geometry"]["coordinates"]) == 1  # one piece of land
    for parent in (small, large):
        old = client.get(f"{PARCELS}/items/{parent}").json()
        assert old["properties"]["valid_to"] == DECISION["date"]
    # split the merged parcel again: its children reach both grandparents
    r = _split(
        client,
        {
            "parcel": merged["id"],
            "decision": DECISION,
            "children": [g.box(0, 0, 40, 8), g.box(0, 8, 40, 20)],
        },
    )
    assert r.status_code == 201, r.text
    grandchild = r.json()["features"][1]["id"]
    up = client.get(f"{PARCELS}/items/{grandchild}/lineage").json()
    assert [(e["id"], e["depth"], e["change"]["kind"]) for e in up["parents"]] == [
        (merged["id"], 1, "split"),
        (small, 2, "merge"),
        (large, 2, "merge"),
    ]
    down = client.get(f"{PARCELS}/items/{small}/lineage").json()
    assert [(e["depth"], e["change"]["kind"]) for e in down["children"]] == [
        (1, "merge"),
        (2, "split"),
        (2, "split"),
    ]
    assert client.get(f"{PARCELS}/items/999999999/lineage").status_code == 404
    assert client.get(f"{PARCELS}/items/x/lineage").status_code == 404
    assert client.get(f"{PARCELS}/items/{small}/lineage?bogus=1").status_code == 400


def test_lineage_answers_html_with_the_card_s_table(
    client: TestClient, db: str
) -> None:
    g = Ground(db)
    parent = g.parcel(0, 0, 20, 30, number=4)
    lonely = g.parcel(40, 0, 60, 30, number=5)
    r = _split(
        client,
        {
            "parcel": parent,
            "decision": DECISION,
            "children": [g.box(0, 0, 10, 30), g.box(10, 0, 20, 30)],
        },
    )
    assert r.status_code == 201, r.text
    children = [f["id"] for f in r.json()["features"]]
    path = f"{PARCELS}/items/{parent}/lineage"
    doc = client.get(path).json()
    assert any(x["rel"] == "alternate" and "f=html" in x["href"] for x in doc["links"])
    json_tag = client.get(path).headers["etag"]
    page = client.get(f"{path}?f=html")
    assert page.status_code == 200, page.text
    assert page.headers["content-type"].startswith("text/html")
    assert page.headers["cache-control"] == "public, max-age=60"
    assert page.headers["etag"] != json_tag  # one tag per format
    text = page.text
    assert "<title>Nguồn gốc thửa đất" in text
    assert DECISION["number"] in text and "Tách thửa" in text
    assert text.count('<tr class="children">') == len(children)
    for child in doc["children"]:
        card = f'href="http://testserver/land/parcels/{child["id"]}?lang=vi"'
        assert card in text, child
        assert f"{child['sheet_no']}/{child['parcel_no']}" in text
    # the table is the card's own
    on_card = client.get(f"/land/parcels/{parent}").text
    table = text[text.index('<section id="lineage">') :]
    table = table[table.index("<table>") : table.index("</table>")]
    assert table in on_card
    english = client.get(
        f"{PARCELS}/items/{children[0]}/lineage?lang=en",
        headers={"Accept": "text/html"},
    )
    assert english.headers["content-type"].startswith("text/html")
    assert "<title>Parcel lineage" in english.text
    assert english.text.index("Relation") < english.text.index("Quan hệ")
    assert "Made from parcel" in english.text
    assert '<tr class="parents">' in english.text
    untouched = client.get(f"{PARCELS}/items/{lonely}/lineage?f=html&lang=en")
    assert "No split or merge has touched this parcel." in untouched.text
    again = client.get(
        f"{path}?f=html", headers={"If-None-Match": page.headers["etag"]}
    )
    assert again.status_code == 304
    assert client.get(f"{path}?f=csv").status_code == 406
    assert client.get(path, headers={"Accept": "text/csv"}).status_code == 406


def test_every_refusal_is_a_4xx_and_changes_nothing(
    client: TestClient, db: str
) -> None:
    g = Ground(db)
    parent = g.parcel(0, 0, 20, 30, number=1)
    retired = g.parcel(30, 0, 50, 30, number=2, valid_to="2025-01-01")
    elsewhere = g.parcel(60, 0, 80, 30, number=3, ward=OTHER_WARD)
    beside = g.parcel(20, 0, 28, 30, number=4)
    apart = g.parcel(100, 0, 120, 30, number=5)
    corner = g.parcel(20, 30, 30, 40, number=6)  # meets the parent at a corner
    over = g.parcel(15, 0, 25, 30, number=7)  # 5 m of `beside`, 150 m²

    def split(children: Any, **changes: Any) -> dict[str, Any]:
        return {"parcel": parent, "decision": DECISION, "children": children, **changes}

    halves = [g.box(0, 0, 10, 30), g.box(10, 0, 20, 30)]
    cases: list[tuple[str, Any, int, str]] = [
        ("uncovered", split([g.box(0, 0, 10, 30), g.box(10, 0, 15, 30)]), 400, "150.0"),
        (
            "overlapping",
            split([g.box(0, 0, 12, 30), g.box(8, 0, 20, 30)]),
            400,
            "overlap each other by 120",
        ),
        (
            "outside",
            split([g.box(0, 0, 10, 30), g.box(10, 0, 25, 30)]),
            400,
            "outside it by 150",
        ),
        (
            "tiny child",
            split([g.box(0, 0, 20, 30), g.box(0, 0, 0.5, 0.5)]),
            400,
            "children[1]",
        ),
        ("retired", split(halves, parcel=retired), 409, "retired on 2025-01-01"),
        ("unknown", split(halves, parcel=987654321), 404, "987654321"),
        ("other ward", split(halves, parcel=elsewhere), 403, "outside what you"),
        (
            "future",
            split(halves, decision={"number": "1", "date": "2999-01-01"}),
            400,
            "in the future",
        ),
        (
            "before",
            split(halves, decision={"number": "1", "date": "2019-01-01"}),
            400,
            "came into force",
        ),
        ("one child", split(halves[:1]), 400, "children"),
        (
            "point",
            split([{"type": "Point", "coordinates": [0, 0]}, halves[0]]),
            400,
            "children[0]",
        ),
        (
            "invalid",
            split(
                [
                    {
                        "type": "Polygon",
                        "coordinates": [
                            [
                                [X0, Y0],
                                [X0 + 1, Y0 + 1],
                                [X0 + 1, Y0],
                                [X0, Y0 + 1],
                                [X0, Y0],
                            ]
                        ],
                    },
                    halves[0],
                ]
            ),
            400,
            "children[0]: geometry: not valid",
        ),
        (
            "bad land use",
            split(
                [
                    {
                        "type": "Feature",
                        "geometry": halves[0],
                        "properties": {"land_use": "XXX"},
                    },
                    halves[1],
                ]
            ),
            400,
            "land_use",
        ),
        (
            "bad property",
            split(
                [
                    {
                        "type": "Feature",
                        "geometry": halves[0],
                        "properties": {"owner": "Nguyễn"},
                    },
                    halves[1],
                ]
            ),
            400,
            "owner",
        ),
        ("no decision", {"parcel": parent, "children": halves}, 400, "decision"),
        (
            "bad date",
            split(halves, decision={"number": "1", "date": "20-11-2026"}),
            400,
            "decision.date",
        ),
        ("extra member", split(halves, colour="red"), 400, "colour"),
        ("string id", split(halves, parcel="abc"), 400, "parcel"),
        ("not json", b"{", 400, "JSON"),
        ("array", [], 400, "body"),
    ]
    merges: list[tuple[str, Any, int, str]] = [
        ("apart", [parent, apart], 400, "not one piece of land"),
        ("corner", [parent, corner], 400, "not one piece of land"),
        # a ward's officer may not touch the other ward's parcel; nor may the
        # admin merge across wards
        ("other ward", [parent, elsewhere], 403, "outside what you may edit"),
        ("several wards", [parent, elsewhere], 400, "several wards"),
        ("retired", [beside, retired], 409, "retired"),
        ("overlap", [beside, over], 400, "overlap by 150.0"),
        ("one", [parent], 400, "parcels"),
        ("twice", [parent, parent], 400, "distinct"),
        ("unknown", [parent, 987654321], 404, "987654321"),
    ]
    before = _state(db)
    for name, body, status, said in cases:
        r = _split(client, body)
        assert r.status_code == status, (name, r.text)
        assert r.headers["content-type"] == "application/problem+json", name
        assert said in r.json()["detail"], (name, r.json()["detail"])
    for name, parcels, status, said in merges:
        who = ADMIN if name == "several wards" else OFFICER
        r = _merge(client, {"parcels": parcels, "decision": DECISION}, who)
        assert r.status_code == status, (name, r.text)
        assert said in r.json()["detail"], (name, r.json()["detail"])
    # who may: the writers of parcels only, signed in
    assert _split(client, split(halves), who={}).status_code == 401
    assert _split(client, split(halves), who=bearer("planner")).status_code == 403
    assert (
        _merge(
            client,
            {"parcels": [parent, beside], "decision": DECISION},
            who=OTHER_OFFICER,
        ).status_code
        == 403
    )
    assert (
        _split(
            client, split(halves), headers={"Content-Type": "text/plain"}
        ).status_code
        == 415
    )
    assert (
        _split(client, split(halves), headers={"Content-Crs": "EPSG:1"}).status_code
        == 400
    )
    assert _state(db) == before
    # Vietnamese by default, as every detail
    r = client.post(
        f"{PARCELS}/split",
        content=json.dumps(split(halves, parcel=retired)),
        headers={**OFFICER, **GEOJSON, "Content-Crs": TM3_URI},
    )
    assert r.status_code == 409 and "thửa đất" in r.json()["detail"]
    # and the admin may split anywhere
    pieces = [g.box(60, 0, 70, 30), g.box(70, 0, 80, 30)]
    r = _split(client, split(pieces, parcel=elsewhere), who=ADMIN)
    assert r.status_code == 201, r.text


def _wait_until_waiting(db: str, what: str) -> int:
    """The pid of the split's backend once it waits for a lock of kind ``what``."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        rows = _sql(
            db,
            "SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
            "AND wait_event = %s AND query LIKE '%%parcel_split%%'",
            what,
        )
        if rows:
            return int(rows[0][0])
        time.sleep(0.05)
    raise AssertionError(f"the split never waited for a {what} lock")


@pytest.mark.parametrize(
    ("held", "waits_for"),
    [
        # before any write: the sheet's numbers
        ("SELECT pg_advisory_lock(parcel_sheet_key(%s, %s))", "advisory"),
        # after every other write: children in, parent retired, change recorded
        ("LOCK TABLE parcel_lineage IN SHARE MODE", "relation"),
    ],
)
def test_a_split_killed_mid_way_leaves_nothing(
    live: str, db: str, held: str, waits_for: str
) -> None:
    g = Ground(db)
    parent = g.parcel(0, 0, 20, 30, number=1)
    body = {
        "parcel": parent,
        "decision": DECISION,
        "children": [g.box(0, 0, 10, 30), g.box(10, 0, 20, 30)],
    }
    before = _state(db)
    answer: list[httpx.Response] = []
    with psycopg.connect(libpq_url(db)) as holder:
        args = (SURVEY, g.sheet) if "%s" in held else ()
        holder.execute(held, args)
        thread = threading.Thread(
            target=lambda: answer.append(
                httpx.post(
                    f"{live}{PARCELS}/split",
                    content=json.dumps(body),
                    headers={**OFFICER, **GEOJSON, "Content-Crs": TM3_URI},
                    timeout=60,
                )
            )
        )
        thread.start()
        pid = _wait_until_waiting(db, waits_for)
        _sql(db, "SELECT pg_terminate_backend(%s)", pid)
        thread.join(timeout=60)
        holder.rollback()
    assert answer and answer[0].status_code == 503, answer and answer[0].text
    assert _state(db) == before
    # and the same split, sent again, goes through whole
    r = httpx.post(
        f"{live}{PARCELS}/split",
        content=json.dumps(body),
        headers={**OFFICER, **GEOJSON, "Content-Crs": TM3_URI},
    )
    assert r.status_code == 201, r.text


def test_concurrent_splits_on_one_sheet_take_distinct_numbers(
    live: str, db: str
) -> None:
    g = Ground(db)
    parents = [g.parcel(40 * i, 0, 40 * i + 20, 30, number=i + 1) for i in range(6)]

    def body(i: int) -> str:
        x = 40 * i
        return json.dumps(
            {
                "parcel": parents[i],
                "decision": DECISION,
                "children": [g.box(x, 0, x + 10, 30), g.box(x + 10, 0, x + 20, 30)],
            }
        )

    answers: list[httpx.Response] = []
    barrier = threading.Barrier(len(parents))

    def send(i: int) -> None:
        barrier.wait()
        answers.append(
            httpx.post(
                f"{live}{PARCELS}/split",
                content=body(i),
                headers={**OFFICER, **GEOJSON, "Content-Crs": TM3_URI},
                timeout=60,
            )
        )

    threads = [threading.Thread(target=send, args=(i,)) for i in range(len(parents))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert [a.status_code for a in answers] == [201] * len(parents), [
        a.text for a in answers
    ]
    numbers = sorted(
        f["properties"]["parcel_no"] for a in answers for f in a.json()["features"]
    )
    assert numbers == list(range(7, 7 + 2 * len(parents)))
    assert dt.date.fromisoformat(DECISION["date"]) <= dt.date.today()


def test_the_operations_are_in_the_openapi_document(client: TestClient) -> None:
    lineage = "/collections/land_parcels/items/{featureId}/lineage"
    anonymous = client.get("/api").json()["paths"]
    assert "get" in anonymous[lineage]
    assert f"{PARCELS}/split" not in anonymous  # offered to the writers only
    assert f"{PARCELS}/merge" not in anonymous
    officer = client.get("/api", headers=OFFICER).json()
    validate(officer)
    split = officer["paths"][f"{PARCELS}/split"]["post"]
    assert split["operationId"] == "splitParcel"
    assert {"201", "400", "401", "403", "404", "409"} <= set(split["responses"])
    assert "post" in officer["paths"][f"{PARCELS}/merge"]
    planner = client.get("/api", headers=bearer("planner")).json()["paths"]
    assert f"{PARCELS}/split" not in planner and lineage in planner


def test_the_lineage_says_only_what_happened(db: str) -> None:
    """The API role writes lineage only through the operations: not directly, and
    the recording function refuses parcels its transaction did not change."""
    g = Ground(db)
    a = g.parcel(0, 0, 10, 10, number=1)
    b = g.parcel(10, 0, 20, 10, number=2)
    c = g.parcel(20, 0, 30, 10, number=3)
    with psycopg.connect(libpq_url(db)) as conn:
        conn.execute("SET ROLE dothi_api")
        conn.execute("SELECT set_config('dothi.roles', 'public,admin', false)")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute(
                "INSERT INTO parcel_lineage (parent_id, child_id, change_id) "
                "VALUES (%s, %s, 1)",
                (a, b),
            )
        conn.rollback()
        conn.execute("SET ROLE dothi_api")
        with pytest.raises(psycopg.Error) as refused:
            conn.execute(
                "SELECT parcel_change_record('split', '1', current_date, %s, %s)",
                ([a], [b, c]),
            )
        assert refused.value.diag.sqlstate == "DTA01"
    assert _sql(db, "SELECT count(*) FROM parcel_lineage WHERE parent_id = %s", a) == [
        (0,)
    ]
