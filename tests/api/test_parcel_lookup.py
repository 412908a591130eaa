"""Finding a parcel as a land officer names it (issue 14, item 1).

The expected answers are worked out here in Python from the raw rows (parcels and
the old-to-new crosswalk), independently of the look-up's SQL: a ward code may be
the commune whose sheet it is, a 2025 ward whose merged communes' sheets it holds,
or the ward the parcel lies in today.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from gis.db.urls import libpq_url
from tests.api.principals import settings
from tests.conftest import create_database, drop_database

LOOKUP = "/collections/land_parcels/lookup"
ITEMS = "/collections/land_parcels/items"


def _rows(url: str, sql: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(libpq_url(url)) as conn:
        return conn.execute(sql).fetchall()


@pytest.fixture(scope="module")
def city_url(server_url: str, migrated_template: str) -> Iterator[str]:
    """A demo city large enough for merged communes to share sheet numbers (the
    suite's small city has too few parcels a sheet)."""
    from dothi.demo import build_demo

    url = create_database(server_url, "lookup_city", template=migrated_template)
    build_demo(url, seed=0.42, scale=0.25, open_data=None)
    yield url
    drop_database(server_url, "lookup_city")


@pytest.fixture(scope="module")
def client(city_url: str) -> Iterator[TestClient]:
    with TestClient(create_app(settings(), database_url=city_url)) as c:
        yield c


@pytest.fixture(scope="module")
def city(city_url: str) -> dict[str, Any]:
    parcels = _rows(
        city_url,
        "SELECT id, ward_code, survey_ward_code, sheet_no, parcel_no, "
        "national_parcel_id FROM land_parcel",
    )
    crosswalk: dict[str, set[str]] = defaultdict(set)
    for old, new in _rows(
        city_url, "SELECT old_code, new_code FROM admin_unit_lineage"
    ):
        crosswalk[new].add(old)
    return {"parcels": parcels, "crosswalk": crosswalk}


def _expected(city: dict[str, Any], ward: str, sheet: int, number: int) -> set[int]:
    communes = {ward} | city["crosswalk"].get(ward, set())
    return {
        fid
        for fid, now, survey, s, n, _ in city["parcels"]
        if s == sheet and n == number and (survey in communes or now == ward)
    }


def _ask(client: Any, **params: Any) -> Any:
    r = client.get(LOOKUP, params=params)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/json"
    return r.json()


def test_ambiguous_triples_answer_every_candidate_with_its_commune(
    client: Any, city: dict[str, Any]
) -> None:
    by_triple: dict[tuple[str, int, int], list[int]] = defaultdict(list)
    for fid, ward, _, sheet, number, _ in city["parcels"]:
        by_triple[(ward, sheet, number)].append(fid)
    ambiguous = [t for t, ids in by_triple.items() if len(ids) > 1]
    assert ambiguous, "the demo city has merged communes: some triples are ambiguous"
    survey_of = {p[0]: p[2] for p in city["parcels"]}
    for ward, sheet, number in random.Random(7).sample(
        ambiguous, min(40, len(ambiguous))
    ):
        doc = _ask(client, ward_code=ward, sheet_no=sheet, parcel_no=number)
        got = {m["id"] for m in doc["matches"]}
        assert got == _expected(city, ward, sheet, number)
        assert set(by_triple[(ward, sheet, number)]) <= got
        assert doc["ambiguous"] is True
        for m in doc["matches"]:
            assert m["survey_ward_code"] == survey_of[m["id"]]
            assert m["survey_ward_name"] and m["ward_name"]
            assert m["matched_by"] in {"survey_commune", "crosswalk", "current_ward"}
            assert m["href"].endswith(f"{ITEMS}/{m['id']}")
        # the commune's own code names exactly one of them
        for m in doc["matches"]:
            one = _ask(
                client,
                ward_code=m["survey_ward_code"],
                sheet_no=sheet,
                parcel_no=number,
            )
            assert m["id"] in {x["id"] for x in one["matches"]}
            assert [
                x for x in one["matches"] if x["matched_by"] == "survey_commune"
            ] == [x for x in one["matches"] if x["id"] == m["id"]]


def test_old_and_new_codes_find_the_same_parcel(
    client: Any, city: dict[str, Any]
) -> None:
    merged = [p for p in city["parcels"] if p[1] != p[2]]  # surveyed in an old commune
    assert merged
    for fid, ward, survey, sheet, number, _ in random.Random(3).sample(merged, 40):
        for code in (ward, survey):
            doc = _ask(client, ward_code=code, sheet_no=sheet, parcel_no=number)
            assert fid in {m["id"] for m in doc["matches"]}
            assert {m["id"] for m in doc["matches"]} == _expected(
                city, code, sheet, number
            )
            assert doc["ambiguous"] is (len(doc["matches"]) > 1)


def test_national_id_names_one_parcel(client: Any, city: dict[str, Any]) -> None:
    with_id = [p for p in city["parcels"] if p[5]]
    for fid, *_, national in random.Random(5).sample(with_id, 20):
        doc = _ask(client, national_parcel_id=national)
        assert [m["id"] for m in doc["matches"]] == [fid]
        assert doc["matches"][0]["matched_by"] == "national_id"
        assert doc["ambiguous"] is False
    assert _ask(client, national_parcel_id="zzzzzzzzzzzz")["matches"] == []


def test_a_well_formed_miss_is_empty(client: Any, city: dict[str, Any]) -> None:
    ward = city["parcels"][0][1]
    doc = _ask(client, ward_code=ward, sheet_no=99_999, parcel_no=999_999)
    assert doc == {**doc, "matches": [], "ambiguous": False}
    assert any(link["rel"] == "self" for link in doc["links"])


@pytest.mark.parametrize(
    ("params", "says"),
    [
        ({"ward_code": "22924", "sheet_no": "4"}, "parcel_no"),
        ({"sheet_no": "4", "parcel_no": "1"}, "ward_code"),
        ({}, "ward_code"),
        ({"ward_code": "phu thuy", "sheet_no": "4", "parcel_no": "1"}, "ward_code"),
        ({"ward_code": "99999", "sheet_no": "4", "parcel_no": "1"}, "99999"),
        ({"ward_code": "22924", "sheet_no": "0", "parcel_no": "1"}, "sheet_no"),
        ({"ward_code": "22924", "sheet_no": "4", "parcel_no": "-1"}, "parcel_no"),
        ({"ward_code": "22924", "sheet_no": "4.5", "parcel_no": "1"}, "sheet_no"),
        ({"ward_code": "22924", "sheet_no": "4²", "parcel_no": "1"}, "sheet_no"),
        ({"ward_code": "２２９２４", "sheet_no": "4", "parcel_no": "1"}, "ward_code"),
        ({"ward_code": "22924", "sheet_no": "100000", "parcel_no": "1"}, "sheet_no"),
        ({"ward_code": "22924", "sheet_no": "4", "parcel_no": "99" * 40}, "parcel_no"),
        ({"national_parcel_id": "w3uy'; --"}, "national_parcel_id"),
        ({"national_parcel_id": "w3uy", "sheet_no": "4"}, "national_parcel_id"),
        (
            {"ward_code": "22924", "sheet_no": "4", "parcel_no": "1", "so_to": "4"},
            "so_to",
        ),
    ],
)
def test_wrong_input_is_a_400(client: Any, params: dict[str, str], says: str) -> None:
    r = client.get(LOOKUP, params=params, headers={"Accept-Language": "en"})
    assert r.status_code == 400, r.text
    problem = r.json()
    assert r.headers["content-type"] == "application/problem+json"
    assert says in problem["detail"], problem
    assert problem["code"]


def test_the_identity_is_a_database_rule(city_url: str) -> None:
    fid, ward = _rows(city_url, "SELECT id, ward_code FROM land_parcel ORDER BY id")[0]
    with psycopg.connect(libpq_url(city_url)) as conn:
        with pytest.raises(psycopg.errors.UniqueViolation):
            conn.execute(
                "INSERT INTO land_parcel (ward_code, survey_ward_code, sheet_no, "
                "parcel_no, land_use, geom) SELECT ward_code, survey_ward_code, "
                "sheet_no, parcel_no, land_use, geom FROM land_parcel WHERE id = %s",
                (fid,),
            )
        conn.rollback()
        # without a survey commune, the parcel is numbered in its own ward
        row = conn.execute(
            "INSERT INTO land_parcel (ward_code, sheet_no, parcel_no, land_use, geom) "
            "SELECT ward_code, 9999, 99999, land_use, geom FROM land_parcel "
            "WHERE id = %s RETURNING survey_ward_code",
            (fid,),
        ).fetchone()
        assert row == (ward,)
        conn.rollback()
        conn.rollback()
        # a replace that leaves it out keeps the parcel's own
        row = conn.execute(
            "UPDATE land_parcel SET survey_ward_code = NULL WHERE id = %s "
            "RETURNING survey_ward_code",
            (fid,),
        ).fetchone()
        assert row is not None and row[0] is not None
        conn.rollback()
        # in no commune yet: no identity, outside the rule (twice the same number)
        for _ in range(2):
            row = conn.execute(
                "INSERT INTO land_parcel (sheet_no, parcel_no, land_use, geom) "
                "SELECT 9999, 99998, land_use, geom FROM land_parcel WHERE id = %s "
                "RETURNING survey_ward_code",
                (fid,),
            ).fetchone()
            assert row == (None,)


def test_property_and_cql2_find_the_same_parcel(
    client: Any, city: dict[str, Any]
) -> None:
    fid, _, survey, sheet, number, _ = random.Random(11).choice(city["parcels"])
    by_property = client.get(
        ITEMS,
        params={"survey_ward_code": survey, "sheet_no": sheet, "parcel_no": number},
    )
    assert by_property.status_code == 200, by_property.text
    cql = (
        f"survey_ward_code = '{survey}' AND sheet_no = {sheet} AND parcel_no = {number}"
    )
    by_cql = client.get(ITEMS, params={"filter": cql})
    assert by_cql.status_code == 200, by_cql.text
    for r in (by_property, by_cql):
        assert [f["id"] for f in r.json()["features"]] == [fid]


def test_the_lookup_is_in_the_openapi_document(client: Any) -> None:
    doc = client.get("/api").json()
    op = doc["paths"][LOOKUP]["get"]
    assert op["operationId"] == "lookupParcel"
    shared = doc["components"]["parameters"]
    names = {
        shared[p["$ref"].rsplit("/", 1)[1]]["name"] if "$ref" in p else p["name"]
        for p in op["parameters"]
    }
    assert {"ward_code", "sheet_no", "parcel_no", "national_parcel_id"} <= names


def test_the_lookup_answers_html_with_each_commune_and_links(
    client: Any, city: dict[str, Any]
) -> None:
    by_triple: dict[tuple[str, int, int], list[int]] = defaultdict(list)
    for fid, ward, _, sheet, number, _ in city["parcels"]:
        by_triple[(ward, sheet, number)].append(fid)
    ward, sheet, number = next(t for t, ids in by_triple.items() if len(ids) > 1)
    asked = {"ward_code": ward, "sheet_no": sheet, "parcel_no": number}
    doc = _ask(client, **asked)
    assert any(x["rel"] == "alternate" and "f=html" in x["href"] for x in doc["links"])
    json_tag = client.get(LOOKUP, params=asked).headers["etag"]
    page = client.get(LOOKUP, params={**asked, "f": "html"})
    assert page.status_code == 200, page.text
    assert page.headers["content-type"].startswith("text/html")
    assert page.headers["cache-control"] == "public, max-age=60"
    assert page.headers["etag"] != json_tag  # one tag per format
    assert "Accept" in page.headers["vary"]
    text = page.text
    assert "<title>Tra cứu thửa đất" in text and 'id="several"' in text
    for m in doc["matches"]:
        assert f"{m['survey_ward_name']} ({m['survey_ward_code']})" in text
        assert f'href="http://testserver/land/parcels/{m["id"]}?lang=vi"' in text
        assert f'href="{m["href"]}?f=html&amp;lang=vi"' in text
    assert text.count('class="card"') == len(doc["matches"])
    # Accept: text/html, English on request; a revalidation is a 304
    english = client.get(
        LOOKUP, params={**asked, "lang": "en"}, headers={"Accept": "text/html"}
    )
    assert english.headers["content-type"].startswith("text/html")
    assert "<title>Parcel look-up" in english.text
    assert english.text.index("Former commune") < english.text.index("Xã cũ")
    again = client.get(
        LOOKUP,
        params={**asked, "f": "html"},
        headers={"If-None-Match": page.headers["etag"]},
    )
    assert again.status_code == 304
    # a miss says so; a format it lacks is a 406
    miss = client.get(
        LOOKUP, params={**asked, "sheet_no": 99_999, "f": "html", "lang": "en"}
    )
    assert miss.status_code == 200 and "No parcel found." in miss.text
    assert client.get(LOOKUP, params={**asked, "f": "csv"}).status_code == 406
    refused = client.get(LOOKUP, params=asked, headers={"Accept": "text/csv"})
    assert refused.status_code == 406
