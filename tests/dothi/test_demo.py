"""The demo city of Phan Thiết: deterministic, loaded only once, spatially consistent.

Built at scale 0.05 (about 1,000 parcels) into databases cloned from the migrated
template; the databases are shared by the tests of this module (they only read).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TypeAlias

import psycopg
import pytest
from psycopg import sql

from dothi.demo import CITY_TABLES, DemoReport, build_demo, is_empty
from gis.db.urls import libpq_url
from tests.conftest import create_database, drop_database, shared_data

SCALE = 0.05
Query: TypeAlias = str | sql.SQL | sql.Composed
# tables whose full content (ordered by key) must repeat exactly for one seed
HASHED = {
    "admin_unit": "id",
    "admin_unit_lineage": "id",
    "land_parcel": "id",
    "land_user": "id",
    "land_certificate": "id",
    "planning_zone": "id",
    "road": "id",
    "lighting_cabinet": "id",
    "street_light": "id",
    "tree": "id",
    "env_station": "id",
    "env_observation": "id",
    "camera": "id",
    "field_report": "id",
    "field_report_contact": "report_id",
    "poi": "id",
}
POINT_LAYERS = (
    "street_light",
    "lighting_cabinet",
    "tree",
    "env_station",
    "camera",
    "field_report",
    "poi",
)


def _db(server_url: str, template: str, tag: str) -> tuple[str, str]:
    name = f"demo_{tag}_{os.getpid()}"
    return name, create_database(server_url, name, template=template)


@pytest.fixture(scope="module")
def demo(server_url: str, migrated_template: str) -> Iterator[tuple[str, DemoReport]]:
    """A demo city (seed 0.42) and its build report."""
    name, url = _db(server_url, migrated_template, "a")
    report = build_demo(url, seed=0.42, scale=SCALE)
    yield url, report
    drop_database(server_url, name)


@pytest.fixture(scope="module")
def twin(server_url: str, migrated_template: str) -> Iterator[str]:
    """A second demo city built with the same seed."""
    name, url = _db(server_url, migrated_template, "b")
    build_demo(url, seed=0.42, scale=SCALE)
    yield url
    drop_database(server_url, name)


@pytest.fixture(scope="module")
def other(server_url: str, migrated_template: str) -> Iterator[str]:
    """A demo city built with another seed."""
    name, url = _db(server_url, migrated_template, "c")
    build_demo(url, seed=-0.3, scale=SCALE)
    yield url
    drop_database(server_url, name)


@pytest.fixture(scope="module")
def with_open_data(server_url: str, migrated_template: str) -> Iterator[str]:
    """A demo city with the real open data of the area loaded as well."""
    files = [
        shared_data(
            "vn-admin-boundaries-2009/south_central_communes_2009_with_codes.gpkg"
        ),
        shared_data(
            "osm-hot-poi-south-central-vn/"
            "hotosm_vnm_poi_binhthuan_ninhthuan_binhphuoc.gpkg"
        ),
        shared_data(
            "osm-power-infrastructure-south-central-vn/osm_power_south_central_vn.gpkg"
        ),
    ]
    name, url = _db(server_url, migrated_template, "od")
    report = build_demo(url, scale=SCALE, open_data=files[0].parent.parent)
    assert report.loaded and report.open_data
    yield url
    drop_database(server_url, name)


def _rows(url: str, query: Query, params: Any = None) -> list[Any]:
    with psycopg.connect(libpq_url(url)) as conn:
        return conn.execute(query, params).fetchall()


def _one(url: str, query: Query, params: Any = None) -> Any:
    return _rows(url, query, params)[0][0]


def _digests(url: str) -> dict[str, str]:
    out = {}
    for table, key in HASHED.items():
        # the rows without their transaction time (migration 0016's sys_period: when
        # the demo was loaded, not what it holds)
        q = sql.SQL(
            "SELECT md5(coalesce(string_agg((to_jsonb(t) - 'sys_period')::text, '|' "
            "ORDER BY t.{}), '')) FROM {} t"
        ).format(sql.Identifier(key), sql.Identifier(table))
        out[table] = _one(url, q)
    return out


def test_same_seed_gives_the_same_city(demo: tuple[str, DemoReport], twin: str) -> None:
    url, _ = demo
    assert _digests(url) == _digests(twin)


def test_another_seed_gives_another_city(
    demo: tuple[str, DemoReport], other: str
) -> None:
    a, b = _digests(demo[0]), _digests(other)
    for table in (
        "land_parcel",
        "tree",
        "street_light",
        "field_report",
        "env_observation",
    ):
        assert a[table] != b[table], table


def test_second_run_changes_nothing(demo: tuple[str, DemoReport]) -> None:
    url, first = demo
    before = _digests(url)
    again = build_demo(url, seed=0.9, scale=SCALE)
    assert not again.loaded
    assert again.skipped_reason and "already has rows" in again.skipped_reason
    assert dict(again.counts) == dict(first.counts)
    assert _digests(url) == before
    assert not is_empty(url)


def test_is_empty_on_a_fresh_database(db_url: str) -> None:
    assert is_empty(db_url)


def test_counts_near_target(demo: tuple[str, DemoReport]) -> None:
    _, report = demo
    c = report.counts
    assert report.loaded and set(c) == set(CITY_TABLES)
    assert 900 <= c["land_parcel"] <= 1100
    assert c["planning_zone"] == 100
    assert c["street_light"] == 200
    assert c["lighting_cabinet"] == 4
    assert c["tree"] == 400
    assert c["camera"] == 8
    assert c["field_report"] == c["field_report_contact"] == 150
    assert c["env_station"] == 6
    hours = round(8760 * SCALE)
    assert 6 * 7 * (hours - 7) <= c["env_observation"] <= 6 * 7 * hours
    assert 0.8 * c["land_parcel"] <= c["land_certificate"] <= 1.1 * c["land_parcel"]
    assert c["land_user"] > 0.6 * c["land_parcel"]
    assert c["road"] > 20
    assert c["power_line"] == 0  # only with open data


def test_admin_units_follow_the_2025_reform(demo: tuple[str, DemoReport]) -> None:
    url, _ = demo
    wards = dict(
        _rows(
            url,
            "SELECT code, name FROM admin_unit WHERE code_system = '19/2025/QĐ-TTg'"
            " AND level = 'commune' AND parent_code = '68' AND geom IS NOT NULL"
            " AND valid_from = date '2025-07-01'",
        )
    )
    assert wards == {
        "22945": "Phường Phan Thiết",
        "22918": "Phường Mũi Né",
        "22924": "Phường Phú Thủy",
        "22933": "Phường Hàm Thắng",
        "22954": "Phường Tiến Thành",
        "22960": "Phường Bình Thuận",
    }
    lineage = _rows(
        url,
        "SELECT new_code, array_agg(old_code ORDER BY old_code) FROM admin_unit_lineage"
        " WHERE new_code LIKE '229%' GROUP BY new_code ORDER BY new_code",
    )
    assert dict(lineage)["22945"] == ["22930", "22945", "22951"]
    assert dict(lineage)["22933"] == ["22933", "23062", "23104"]
    assert sum(len(v) for _, v in lineage) == 17
    # every old unit is legacy, inside exactly one new ward
    bad = _one(
        url,
        "SELECT count(*) FROM admin_unit o JOIN admin_unit_lineage l ON l.old_code = o.code"
        " JOIN admin_unit n ON n.code = l.new_code AND n.code_system = '19/2025/QĐ-TTg'"
        " WHERE o.code_system = '124/2004/QĐ-TTg' AND o.level = 'commune'"
        " AND (o.valid_to <> date '2025-06-30' OR NOT ST_Covers(n.geom, o.geom))",
    )
    assert bad == 0


def test_wards_do_not_overlap(demo: tuple[str, DemoReport]) -> None:
    url, _ = demo
    overlap = _one(
        url,
        "SELECT coalesce(sum(ST_Area(ST_Intersection(a.geom, b.geom))), 0)"
        " FROM admin_unit a JOIN admin_unit b ON a.id < b.id"
        " AND a.code_system = b.code_system AND a.level = b.level"
        " AND ST_Intersects(a.geom, b.geom)"
        " WHERE a.level = 'commune'",
    )
    assert overlap < 1e-12


def test_every_parcel_lies_in_its_ward(demo: tuple[str, DemoReport]) -> None:
    url, _ = demo
    outside = _one(
        url,
        "SELECT count(*) FROM land_parcel p WHERE NOT EXISTS ("
        " SELECT 1 FROM admin_unit w WHERE w.code = p.ward_code"
        " AND w.code_system = '19/2025/QĐ-TTg' AND ST_Contains(w.geom, p.geom))"
        " OR NOT EXISTS (SELECT 1 FROM admin_unit o WHERE o.code = p.survey_ward_code"
        " AND o.code_system = '124/2004/QĐ-TTg' AND ST_Contains(o.geom, p.geom))",
    )
    assert outside == 0


@pytest.mark.parametrize("table", [*POINT_LAYERS, "planning_zone"])
def test_ward_code_is_the_containing_ward(
    demo: tuple[str, DemoReport], table: str
) -> None:
    url, _ = demo
    q = sql.SQL(
        "SELECT count(*) FILTER (WHERE NOT EXISTS (SELECT 1 FROM admin_unit w"
        " WHERE w.code = f.ward_code AND w.code_system = '19/2025/QĐ-TTg'"
        " AND ST_Covers(w.geom, f.geom))), count(*) FROM {} f"
    ).format(sql.Identifier(table))
    wrong, total = _rows(url, q)[0]
    assert total > 0 and wrong == 0


def test_parcels_do_not_overlap(demo: tuple[str, DemoReport]) -> None:
    url, _ = demo
    touching = _one(
        url,
        "SELECT count(*) FROM land_parcel a JOIN land_parcel b"
        " ON a.id < b.id AND ST_Intersects(a.geom, b.geom)",
    )
    assert touching == 0


def test_geometries_are_valid_and_typed(demo: tuple[str, DemoReport]) -> None:
    url, _ = demo
    for table, kind in [
        ("land_parcel", "ST_MultiPolygon"),
        ("planning_zone", "ST_MultiPolygon"),
        ("admin_unit", "ST_MultiPolygon"),
        ("road", "ST_MultiLineString"),
        *((t, "ST_Point") for t in POINT_LAYERS),
    ]:
        q = sql.SQL(
            "SELECT count(*) FROM {} WHERE geom IS NOT NULL AND (NOT ST_IsValid(geom)"
            " OR ST_GeometryType(geom) <> %s OR ST_SRID(geom) <> 4326)"
        ).format(sql.Identifier(table))
        assert _one(url, q, (kind,)) == 0, table


def test_parcel_attributes(demo: tuple[str, DemoReport]) -> None:
    url, _ = demo
    row = _rows(
        url,
        "SELECT count(*) FILTER (WHERE area_geom_m2"
        "        <> round(ST_Area(geom::geography)::numeric, 1)),"
        " count(*) FILTER (WHERE area_legal_m2 <> area_geom_m2),"
        " count(*) FILTER (WHERE abs(area_legal_m2 - area_geom_m2) > 0.1 * area_geom_m2),"
        " count(*) FILTER (WHERE source_crs <> 9218),"
        " count(*) - count(DISTINCT (survey_ward_code, sheet_no, parcel_no)),"
        " count(*) FILTER (WHERE land_use = 'ODT'),"
        " count(*) FILTER (WHERE address IS NULL OR sheet_no < 1 OR parcel_no < 1),"
        " count(*) FILTER (WHERE national_parcel_id IS NOT NULL"
        "        AND national_parcel_id <> ST_GeoHash(ST_Centroid(geom), 12)"
        "        AND NOT ST_Contains(geom, ST_PointFromGeoHash(national_parcel_id))),"
        " count(*)"
        " FROM land_parcel",
    )[0]
    geom_off, legal_diff, legal_far, crs, dup, odt, missing, bad_id, total = row
    assert geom_off == 0 and crs == 0 and dup == 0 and missing == 0 and bad_id == 0
    assert 0.2 * total < legal_diff < 0.7 * total and legal_far == 0
    assert odt > 0.3 * total  # urban residential dominates the centre


def test_certificates_and_users(demo: tuple[str, DemoReport]) -> None:
    url, _ = demo
    bad = _one(
        url,
        "SELECT count(*) FROM land_certificate c JOIN land_user u ON u.id = c.land_user_id"
        " WHERE c.serial_no !~ '^[A-ZĐ]{2} [0-9]{6}$'"
        " OR (u.kind <> 'organisation' AND (u.id_number !~ '^0[0-9]{11}$'"
        "     OR substr(u.id_number, 5, 2)::int <> u.birth_year % 100))"
        " OR c.issued_on > date '2026-11-23'",
    )
    assert bad == 0
    valid_twice = _one(
        url,
        "SELECT count(*) FROM (SELECT parcel_id FROM land_certificate"
        " WHERE status = 'valid' GROUP BY parcel_id HAVING count(*) > 1) d",
    )
    assert valid_twice == 0


def test_field_report_workflow_is_consistent(demo: tuple[str, DemoReport]) -> None:
    url, _ = demo
    bad = _one(
        url,
        "SELECT count(*) FROM field_report r JOIN report_category c ON c.code = r.category"
        " LEFT JOIN field_report_contact k ON k.report_id = r.id"
        " WHERE r.status NOT IN ('received','assigned','in_progress','resolved','rejected')"
        " OR r.deadline_at <> r.received_at + c.handling_days * interval '1 day'"
        " OR (r.status IN ('resolved','rejected')) <> (r.resolved_at IS NOT NULL)"
        " OR r.resolved_at <= r.received_at"
        " OR greatest(r.received_at, r.resolved_at) > timestamptz '2026-11-23 12:00+07'"
        " OR r.received_at < timestamptz '2024-11-23 00:00+07'"
        " OR (r.status = 'received') <> (r.assigned_unit IS NULL)"
        " OR k.reporter_name IS NULL OR k.phone !~ '^0[0-9]{9}$'",
    )
    assert bad == 0


def test_lights_hang_on_their_nearest_cabinet(demo: tuple[str, DemoReport]) -> None:
    url, _ = demo
    bad = _one(
        url,
        "SELECT count(*) FROM street_light l JOIN lighting_cabinet c ON c.id = l.cabinet_id"
        " WHERE l.circuit_no NOT BETWEEN 1 AND c.circuits"
        " OR EXISTS (SELECT 1 FROM lighting_cabinet o"
        "   WHERE ST_Distance(o.geom::geography, l.geom::geography)"
        "       < ST_Distance(c.geom::geography, l.geom::geography) - 1)",
    )
    assert bad == 0
    assert _one(url, "SELECT count(*) FROM street_light WHERE cabinet_id IS NULL") == 0


def test_observations_are_plausible(demo: tuple[str, DemoReport]) -> None:
    url, _ = demo
    rows = _rows(
        url,
        "SELECT o.parameter, count(*) FILTER (WHERE o.unit <> p.unit),"
        " percentile_cont(0.5) WITHIN GROUP (ORDER BY o.value),"
        " min(o.observed_at), max(o.observed_at)"
        " FROM env_observation o JOIN env_parameter p ON p.code = o.parameter"
        " GROUP BY o.parameter",
    )
    medians = {r[0]: r[2] for r in rows}
    assert set(medians) == {"pm25", "pm10", "no2", "o3", "co", "so2", "noise"}
    assert all(r[1] == 0 for r in rows)
    assert 8 < medians["pm25"] < 40 and medians["pm10"] > medians["pm25"]
    assert 40 < medians["noise"] < 75 and 200 < medians["co"] < 2000
    assert max(r[4] for r in rows).isoformat() == "2026-11-22T17:00:00+00:00"
    # traffic peaks: NO2 at 18-19 h is above NO2 at 03-04 h (local time)
    peak, night = _rows(
        url,
        "SELECT avg(value) FILTER (WHERE h = 19), avg(value) FILTER (WHERE h = 4)"
        " FROM (SELECT value, extract(hour FROM observed_at AT TIME ZONE"
        " 'Asia/Ho_Chi_Minh') AS h FROM env_observation WHERE parameter = 'no2') s",
    )[0]
    assert peak > 1.5 * night


def test_rejects_out_of_range_parameters(db_url: str) -> None:
    with pytest.raises(ValueError, match="seed"):
        build_demo(db_url, seed=2.0)
    with pytest.raises(ValueError, match="scale"):
        build_demo(db_url, scale=0)
    assert is_empty(db_url)


def test_missing_open_data_folder_gives_synthetic_city(
    server_url: str, migrated_template: str, tmp_path: Path
) -> None:
    name, url = _db(server_url, migrated_template, "nod")
    try:
        report = build_demo(url, scale=0.01, open_data=tmp_path / "absent")
        assert report.loaded and not report.open_data
        assert report.counts["power_line"] == 0
    finally:
        drop_database(server_url, name)


def test_open_data_adds_real_osm_features(with_open_data: str) -> None:
    url = with_open_data
    pois, inside, categories = _rows(
        url,
        "SELECT count(*), count(*) FILTER (WHERE EXISTS (SELECT 1 FROM admin_unit w"
        " WHERE w.code = p.ward_code AND w.code_system = '19/2025/QĐ-TTg'"
        " AND ST_Covers(w.geom, p.geom))), count(DISTINCT category)"
        " FROM poi p WHERE source = 'OpenStreetMap' AND osm_id LIKE 'node/%'",
    )[0]
    assert pois > 300 and inside == pois and categories >= 5
    lines, crs, in_area = _rows(
        url,
        "SELECT count(*), count(*) FILTER (WHERE source_crs = 32648),"
        " count(*) FILTER (WHERE ST_Intersects(geom, (SELECT ST_Union(geom)"
        " FROM admin_unit WHERE code_system = '19/2025/QĐ-TTg' AND level = 'commune'))"
        " AND ST_XMin(geom) > 100 AND ST_YMax(geom) < 20)"
        " FROM power_line",
    )[0]
    assert lines > 0 and crs == lines and in_area == lines
    real = _one(
        url,
        "SELECT count(*) FROM admin_unit WHERE code_system = '124/2004/QĐ-TTg'"
        " AND level = 'commune' AND source_crs = 4326 AND geom IS NOT NULL"
        " AND valid_to = date '2025-06-30'",
    )
    assert real >= 17
