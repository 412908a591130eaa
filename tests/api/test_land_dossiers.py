"""Land dossiers (issue 14, item 6): due dates in working days across weekends, Tết and
30/4-1/5 (worked out by hand), the weekly table on generated data against an
independent count in Python, the ward scope (row-level security, not only the API),
denials and bad input."""

from __future__ import annotations

import datetime as dt
import json
import random
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.routers.land_dossiers import city_today
from gis.db.urls import libpq_url
from tests.api.principals import bearer, settings
from tests.conftest import create_database, drop_database

WARD_A, WARD_B = "22945", "22924"
D = dt.date.fromisoformat
OFFICER_A = bearer("land_officer", wards=(WARD_A,), sub="officer-a")
ADMIN = bearer("admin", sub="admin-1")
PROCEDURES = ("registration", "transfer", "certificate_issue", "certificate_change",
              "split_merge", "land_use_change")  # fmt: skip
PARCEL = (
    "INSERT INTO land_parcel (ward_code, survey_ward_code, sheet_no, parcel_no, "
    "land_use, geom) VALUES (%s, %s, 1, %s, 'ODT', ST_Multi(ST_Buffer(ST_SetSRID("
    "ST_MakePoint(108.1, 10.93), 4326), 0.0001))) RETURNING id"
)
DOSSIER = (
    "INSERT INTO land_dossier (dossier_no, parcel_id, procedure, received_on, status, "
    "done_on, apology_no, ward_code, due_on) VALUES (%s, %s, %s, %s, %s, %s, %s, "
    "'99999', '1900-01-01') RETURNING id, ward_code, due_on"
)


@dataclass
class Dossier:
    ward: str
    received: dt.date
    due: dt.date
    done: dt.date | None
    apology: str | None


@dataclass
class City:
    client: TestClient
    url: str
    parcels: dict[str, int]
    dossiers: list[Dossier]
    ids: dict[str, list[int]]


def _generate(conn: psycopg.Connection[Any], parcels: dict[str, int]) -> tuple[
    list[Dossier], dict[str, list[int]]
]:  # fmt: skip
    """400 dossiers, March to June 2026, some settled on time, some late, some open."""
    rng = random.Random(14)
    out: list[Dossier] = []
    ids: dict[str, list[int]] = {WARD_A: [], WARD_B: []}
    for i in range(400):
        ward = rng.choice((WARD_A, WARD_B))
        received = D("2026-03-02") + dt.timedelta(days=rng.randrange(0, 118))
        procedure = rng.choice(PROCEDURES)
        wanted = rng.random()
        # settled some days after receipt (late or not: the database's due date says)
        done = (
            received + dt.timedelta(days=rng.randrange(0, 45)) if wanted < 0.8 else None
        )
        status = (
            ("done" if rng.random() < 0.9 else "rejected") if done else "in_progress"
        )
        apology = f"{i}/TXL" if rng.random() < 0.4 else None
        row = conn.execute(
            DOSSIER,
            (f"T-{i:04d}", parcels[ward], procedure, received, status, done, apology),
        ).fetchone()
        assert row is not None
        assert row[1] == ward  # the parcel's ward, not the one sent
        out.append(Dossier(ward, received, row[2], done, apology))
        ids[ward].append(row[0])
    return out, ids


@pytest.fixture(scope="module")
def city(server_url: str, migrated_template: str) -> Iterator[City]:
    url = create_database(server_url, "dossier_city", template=migrated_template)
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        parcels = {}
        for number, ward in enumerate((WARD_A, WARD_B), start=1):
            row = conn.execute(PARCEL, (ward, ward, number)).fetchone()
            assert row is not None
            parcels[ward] = row[0]
        dossiers, ids = _generate(conn, parcels)
    with TestClient(create_app(settings(), database_url=url)) as client:
        yield City(client, url, parcels, dossiers, ids)
    drop_database(server_url, "dossier_city")


# --- due dates, by hand -----------------------------------------------------------------

# (received, working days, due): the day of receipt never counts
BY_HAND = [
    ("2025-06-06", 1, "2025-06-09"),  # Friday: Saturday and Sunday skipped
    ("2025-06-02", 5, "2025-06-09"),  # a whole week
    ("2025-06-06", 0, "2025-06-06"),  # no time at all: the day itself
    # Tết 2026: Monday 16 to Friday 20 February off, with the weekends around it
    ("2026-02-12", 8, "2026-03-03"),
    ("2026-02-13", 1, "2026-02-23"),
    # Tết 2025: Monday 27 to Friday 31 January
    ("2025-01-24", 1, "2025-02-03"),
    # 30/4-1/5 2025: Saturday 26/4 worked, Friday 2/5 off in exchange
    ("2025-04-25", 1, "2025-04-26"),
    ("2025-04-25", 3, "2025-04-29"),
    ("2025-04-25", 4, "2025-05-05"),
    # 30/4-1/5 2024: Monday 29/4 off, Saturday 4/5 worked in exchange
    ("2024-04-26", 1, "2024-05-02"),
    ("2024-04-26", 3, "2024-05-04"),
    # Giỗ Tổ 2026 on a Sunday (26/4): Monday 27/4 off instead; then 30/4, 1/5
    ("2026-04-24", 1, "2026-04-28"),
    ("2026-04-24", 3, "2026-05-04"),
    # Quốc khánh 2025: Monday 1 and Tuesday 2 September
    ("2025-08-29", 1, "2025-09-03"),
]


@pytest.mark.parametrize(("received", "days", "due"), BY_HAND)
def test_working_days_by_hand(db_url: str, received: str, days: int, due: str) -> None:
    with psycopg.connect(libpq_url(db_url)) as conn:
        row = conn.execute(
            "SELECT add_working_days(%s::date, %s)", (D(received), days)
        ).fetchone()
    assert row == (D(due),)


def test_the_database_keeps_ward_and_due_date(db_url: str) -> None:
    with psycopg.connect(libpq_url(db_url), autocommit=True) as conn:
        parcel = conn.execute(PARCEL, (WARD_A, WARD_A, 1)).fetchone()
        assert parcel is not None
        # registration: 20 working days from Friday 30/1/2026, across Tết 2026:
        # 2-6/2 (5), 9-13/2 (10), Tết, 23-27/2 (15), 2-6/3 (20)
        fid, ward, due = conn.execute(
            DOSSIER, ("R-1", parcel[0], "registration", D("2026-01-30"), "received",
                      None, None),
        ).fetchone()  # fmt: skip
        assert (ward, due) == (WARD_A, D("2026-03-06"))
        # a status change keeps the deadline; so does a due date sent by a writer
        conn.execute(
            "UPDATE land_dossier SET status = 'in_progress', due_on = '2030-01-01' "
            "WHERE id = %s",
            (fid,),
        )
        assert _due(conn, fid) == D("2026-03-06")
        # a new receipt (returned for supplement, received again) moves it
        conn.execute(
            "UPDATE land_dossier SET received_on = '2026-03-06', procedure = "
            "'transfer' WHERE id = %s",
            (fid,),
        )
        assert _due(conn, fid) == D("2026-03-18")  # 9-13/3 (5), 16-18/3 (8)
        with pytest.raises(psycopg.errors.ForeignKeyViolation):
            conn.execute(DOSSIER, ("R-2", parcel[0], "nope", D("2026-01-30"),
                                   "received", None, None))  # fmt: skip
        with pytest.raises(psycopg.errors.CheckViolation):  # done without a day
            conn.execute(DOSSIER, ("R-3", parcel[0], "transfer", D("2026-01-30"),
                                   "done", None, None))  # fmt: skip


def _due(conn: psycopg.Connection[Any], fid: int) -> dt.date:
    row = conn.execute(
        "SELECT due_on FROM land_dossier WHERE id = %s", (fid,)
    ).fetchone()
    assert row is not None
    return row[0]  # type: ignore[no-any-return]


# --- the weekly table ---------------------------------------------------------------------


def _expected_weeks(
    dossiers: list[Dossier], first: dt.date, last: dt.date, ward: str | None
) -> dict[tuple[str, str], dict[str, Any]]:
    """The weekly table counted in Python, row by row, from the definitions."""
    today = city_today()
    monday = first - dt.timedelta(days=first.weekday())
    table: dict[tuple[str, str], dict[str, Any]] = {}
    wards = sorted({d.ward for d in dossiers} if ward is None else {ward})
    while monday <= min(last, today):
        sunday = monday + dt.timedelta(days=6)
        as_of = min(sunday, today)
        week = f"{monday.isocalendar().year}-W{monday.isocalendar().week:02d}"
        for w in wards:
            c: Counter[str] = Counter()
            for d in (d for d in dossiers if d.ward == w and d.received <= sunday):
                done_here = d.done is not None and monday <= d.done <= sunday
                late = (done_here and d.done > d.due) or (  # type: ignore[operator]
                    d.due < as_of and (d.done is None or d.done > as_of)
                )
                c["received"] += monday <= d.received <= sunday
                c["done"] += done_here
                c["done_on_time"] += done_here and d.done <= d.due  # type: ignore[operator]
                c["late"] += late
                c["late_without_apology"] += late and d.apology is None
            rate = round(c["done_on_time"] / c["done"], 4) if c["done"] else None
            table[(w, week)] = {**{k: c[k] for k in (
                "received", "done", "done_on_time", "late", "late_without_apology"
            )}, "on_time_rate": rate}  # fmt: skip
        monday += dt.timedelta(weeks=1)
    return table


@pytest.mark.parametrize(
    ("first", "last", "ward"),
    [("2026-03-02", "2026-06-28", None), ("2026-04-15", "2026-08-10", WARD_B)],
)
def test_weekly_table_matches_an_independent_count(
    city: City, first: str, last: str, ward: str | None
) -> None:
    query = f"from={first}&to={last}" + (f"&ward_code={ward}" if ward else "")
    answer = city.client.get(f"/land/dossiers/weekly?{query}", headers=ADMIN)
    assert answer.status_code == 200, answer.text
    doc = answer.json()
    got = {
        (w["ward_code"], w["week"]): {
            k: w[k] for k in ("received", "done", "done_on_time", "late",
                              "late_without_apology", "on_time_rate")
        }
        for w in doc["weeks"]
    }  # fmt: skip
    expected = _expected_weeks(city.dossiers, D(first), D(last), ward)
    assert got == expected
    assert sum(r["late"] for r in got.values()) > 0  # the data has late ones
    assert doc["on_time_goal"] == 0.98


def test_weekly_html_is_vietnamese_first(city: City) -> None:
    page = city.client.get(
        "/land/dossiers/weekly?from=2026-03-02&to=2026-04-05&f=html", headers=ADMIN
    )
    assert page.status_code == 200
    assert page.text.index("Tiếp nhận") < page.text.index("Received")
    assert "2026-W10" in page.text


# --- scope and denials --------------------------------------------------------------------


def test_a_wards_officer_sees_only_its_ward(city: City) -> None:
    c = city.client
    weekly = c.get("/land/dossiers/weekly?from=2026-03-02&to=2026-06-28",
                   headers=OFFICER_A).json()  # fmt: skip
    assert {w["ward_code"] for w in weekly["weeks"]} == {WARD_A}
    overdue = c.get("/land/dossiers/overdue?limit=1000", headers=OFFICER_A).json()
    assert overdue["numberMatched"] > 0
    assert {d["ward_code"] for d in overdue["dossiers"]} == {WARD_A}
    refused = c.get(f"/land/dossiers/weekly?ward_code={WARD_B}", headers=OFFICER_A)
    assert refused.status_code == 403
    items = c.get("/collections/land_dossiers/items?limit=1000", headers=OFFICER_A)
    assert {f["properties"]["ward_code"] for f in items.json()["features"]} == {WARD_A}
    other = city.ids[WARD_B][0]
    assert c.get(f"/collections/land_dossiers/items/{other}",
                 headers=OFFICER_A).status_code == 404  # fmt: skip
    # the parcel card's request
    parcel = city.parcels[WARD_A]
    card = c.get(f"/collections/land_dossiers/items?parcel_id={parcel}&limit=1000",
                 headers=OFFICER_A)  # fmt: skip
    assert card.status_code == 200
    assert len(card.json()["features"]) == len(city.ids[WARD_A])


def test_row_level_security_scopes_the_api_role(city: City) -> None:
    """The database itself: the API role sees a ward's dossiers with that ward's
    officer's claims, every ward's with the administrator's, none without claims."""
    with psycopg.connect(libpq_url(city.url)) as conn:
        conn.execute("SET ROLE dothi_api")
        counts = []
        for roles, wards in (("", ""), ("public,land_officer", WARD_A),
                             ("public,admin", ""), ("public,planner", "")):  # fmt: skip
            with conn.transaction():
                conn.execute(
                    "SELECT set_config('dothi.roles', %s, true), "
                    "set_config('dothi.wards', %s, true)",
                    (roles, wards),
                )
                row = conn.execute("SELECT count(*) FROM land_dossier").fetchone()
                assert row is not None
                counts.append(row[0])
        n_a = len(city.ids[WARD_A])
        assert counts == [0, n_a, n_a + len(city.ids[WARD_B]), 0]


@pytest.mark.parametrize(
    "path",
    ["/land/dossiers/weekly", "/land/dossiers/overdue", "/land/dossiers/due-soon",
     "/collections/land_dossiers", "/collections/land_dossiers/items"],
)  # fmt: skip
@pytest.mark.parametrize("who", [None, "planner", "ioc_operator", "citizen"])
def test_everyone_else_finds_nothing(city: City, path: str, who: str | None) -> None:
    assert city.client.get(path, headers=bearer(who)).status_code == 404


def test_an_officer_creates_dossiers_in_its_ward_only(city: City) -> None:
    body = {
        "type": "Feature",
        "geometry": None,
        "properties": {
            "dossier_no": "API-1", "parcel_id": city.parcels[WARD_A],
            "procedure": "certificate_change", "received_on": "2026-04-24",
            "ward_code": WARD_B, "due_on": "2000-01-01",  # kept by the database
        },
    }  # fmt: skip
    headers = {**OFFICER_A, "Content-Type": "application/geo+json"}
    made = city.client.post(
        "/collections/land_dossiers/items", content=json.dumps(body), headers=headers
    )
    assert made.status_code == 201, made.text
    got = city.client.get(made.headers["Location"], headers=OFFICER_A).json()
    # 7 working days from Friday 24/4/2026: 28, 29/4, 4-8/5
    assert got["properties"]["ward_code"] == WARD_A
    assert got["properties"]["due_on"] == "2026-05-08"
    body["properties"] |= {"dossier_no": "API-2", "parcel_id": city.parcels[WARD_B]}
    refused = city.client.post(
        "/collections/land_dossiers/items", content=json.dumps(body), headers=headers
    )
    assert refused.status_code == 403
    city.client.delete(made.headers["Location"], headers=ADMIN)


def test_due_soon_and_overdue_lists(city: City) -> None:
    today = city_today()
    with psycopg.connect(libpq_url(city.url), autocommit=True) as conn:
        due_soon_id, _, due = conn.execute(
            DOSSIER, ("SOON-1", city.parcels[WARD_A], "transfer", today, "received",
                      None, None),
        ).fetchone()  # fmt: skip
    try:
        soon = city.client.get(
            f"/land/dossiers/due-soon?days=8&ward_code={WARD_A}", headers=OFFICER_A
        ).json()
        listed = {d["id"]: d for d in soon["dossiers"]}
        assert listed[due_soon_id]["days_left"] == (due - today).days
        soon = city.client.get("/land/dossiers/due-soon?days=7", headers=OFFICER_A)
        assert due_soon_id not in {d["id"] for d in soon.json()["dossiers"]}
        overdue = city.client.get(
            "/land/dossiers/overdue?limit=1000", headers=ADMIN
        ).json()
        expected = [d for d in city.dossiers if d.done is None and d.due < today]
        assert overdue["numberMatched"] == len(expected)
        first = overdue["dossiers"][0]
        assert first["days_late"] == (today - D(first["due_on"])).days
        assert first["due_on"] == min(d.due for d in expected).isoformat()
        assert {"sheet_no", "parcel_no", "procedure_vi"} <= set(first)
    finally:
        with psycopg.connect(libpq_url(city.url), autocommit=True) as conn:
            conn.execute("DELETE FROM land_dossier WHERE id = %s", (due_soon_id,))


@pytest.mark.parametrize(
    "query",
    ["weekly?ward_code=abc", "weekly?ward_code=229450", "weekly?from=2026-13-01",
     "weekly?from=2026-02-30", "weekly?to=yesterday", "weekly?from=2026-05-01&to=2026-04-01",
     "weekly?from=2020-01-01&to=2026-01-01", "weekly?week=1", "weekly?from=2026-01-01&from=2026-02-01",
     "overdue?limit=0", "overdue?limit=1001", "overdue?limit=x", "overdue?days=3",
     "due-soon?days=-1", "due-soon?days=61", "due-soon?days=1.5", "due-soon?lang=fr"],
)  # fmt: skip
def test_bad_parameters_are_400(city: City, query: str) -> None:
    answer = city.client.get(f"/land/dossiers/{query}", headers=ADMIN)
    assert answer.status_code == 400, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    # in Vietnamese by default, and in English on request
    english = city.client.get(f"/land/dossiers/{query}&lang=en"
                              if "lang=" not in query else f"/land/dossiers/{query}",
                              headers=ADMIN)  # fmt: skip
    assert english.status_code == 400
