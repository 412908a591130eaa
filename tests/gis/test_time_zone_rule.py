"""One time-zone rule on every path: a date-time without a zone is city time.

The same zone-less string, 2026-07-01T08:30:00, goes in through a Part 4 write and
two imports (CSV and GeoJSON through gis.io), and is asked for through ``datetime=``
and a CQL2 filter; every path must mean 2026-07-01T01:30:00Z (Asia/Ho_Chi_Minh is
UTC+7), and the CSV and GeoJSON answers must say that instant with its offset.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from gis.columns import CITY_TZ, as_instant
from gis.db.urls import libpq_url
from gis.io import import_file
from layers import CATALOGUE
from tests.api.principals import bearer, settings

LOCAL = "2026-07-01T08:30:00"
INSTANT = dt.datetime(2026, 7, 1, 1, 30, tzinfo=dt.UTC)
REPORTS = "/collections/field_reports/items"
# the write, the CSV import and the GeoJSON import
CODES = ("TZ-WRITE", "TZ-CSV", "TZ-GEOJSON")
LON, LAT = 108.1, 10.93


def _sql(url: str, query: str, *args: Any) -> list[tuple[Any, ...]]:
    with psycopg.connect(libpq_url(url)) as conn:
        return conn.execute(query, args).fetchall()


@pytest.fixture
def client(db_url: str) -> Iterator[TestClient]:
    with TestClient(create_app(settings(), database_url=db_url)) as c:
        yield c


@pytest.fixture
def stored(client: TestClient, db_url: str, tmp_path: Path) -> str:
    """Three reports received at LOCAL: one written, one per imported file."""
    (category,) = _sql(db_url, "SELECT code FROM report_category LIMIT 1")[0]
    properties = {
        "report_code": "TZ-WRITE",
        "category": category,
        "description": "đèn hỏng",
        "received_at": LOCAL,
    }
    point = {"type": "Point", "coordinates": [LON, LAT]}
    feature = {"type": "Feature", "geometry": point, "properties": properties}
    r = client.post(
        REPORTS,
        content=json.dumps(feature),
        headers={"Content-Type": "application/geo+json", **bearer("ioc_operator")},
    )
    assert r.status_code == 201, r.text

    table = tmp_path / "reports.csv"
    table.write_text(
        "report_code,category,description,received_at,lon,lat\n"
        f"TZ-CSV,{category},cây đổ,{LOCAL},{LON},{LAT}\n",
        encoding="utf-8",
    )
    imported = {**properties, "report_code": "TZ-GEOJSON"}
    collection = {
        "type": "FeatureCollection",
        "features": [{**feature, "properties": imported}],
    }
    geojson = tmp_path / "reports.geojson"
    geojson.write_text(json.dumps(collection), encoding="utf-8")
    for path in (table, geojson):
        report = import_file(db_url, CATALOGUE["field_reports"], path)
        assert report.rows_imported == 1, report
    return db_url


def test_as_instant_reads_a_naive_time_as_city_time() -> None:
    assert as_instant(dt.datetime.fromisoformat(LOCAL)) == INSTANT
    assert as_instant(dt.datetime.fromisoformat(LOCAL)).tzinfo is CITY_TZ
    aware = dt.datetime.fromisoformat(LOCAL + "Z")
    assert as_instant(aware) is aware


def test_write_and_imports_store_the_same_instant(stored: str) -> None:
    got = dict(
        _sql(
            stored,
            "SELECT report_code, received_at FROM field_report "
            "WHERE report_code = ANY(%s)",
            list(CODES),
        )
    )
    assert got == dict.fromkeys(CODES, INSTANT)


def test_datetime_parameter_finds_that_instant(client: TestClient, stored: str) -> None:
    r = client.get(REPORTS, params={"datetime": LOCAL, "limit": 100})
    assert r.status_code == 200, r.text
    codes = {f["properties"]["report_code"] for f in r.json()["features"]}
    assert codes == set(CODES)
    # and the same instant with its zone spelled out finds the same features
    r = client.get(REPORTS, params={"datetime": "2026-07-01T01:30:00Z", "limit": 100})
    assert {f["properties"]["report_code"] for f in r.json()["features"]} == codes


def test_cql2_filter_finds_that_instant(client: TestClient, stored: str) -> None:
    r = client.get(
        REPORTS,
        params={"filter": f"received_at = TIMESTAMP('{LOCAL}')", "limit": 100},
    )
    assert r.status_code == 200, r.text
    codes = {f["properties"]["report_code"] for f in r.json()["features"]}
    assert codes == set(CODES)


def test_csv_and_geojson_say_that_instant_with_its_offset(
    client: TestClient, stored: str
) -> None:
    r = client.get(REPORTS, params={"f": "csv", "limit": 100})
    assert r.status_code == 200, r.text
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert {row["report_code"] for row in rows} == set(CODES)
    for row in rows:
        moment = dt.datetime.fromisoformat(row["received_at"])
        assert moment.tzinfo is not None, row["received_at"]
        assert moment == INSTANT
    for feature in client.get(REPORTS, params={"limit": 100}).json()["features"]:
        moment = dt.datetime.fromisoformat(feature["properties"]["received_at"])
        assert moment.tzinfo is not None
        assert moment == INSTANT
