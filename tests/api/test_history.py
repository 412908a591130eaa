"""History of every layer (issue 14, item 3): versions made by every writer (API,
psql, import), as-of reads equal to snapshots taken at the instant, deleted
features, personal fields in history, bad instants and version numbers."""

from __future__ import annotations

import datetime as dt
import json
import random
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from gis.db.urls import libpq_url
from gis.io.importer import import_file
from gis.query import ItemsQuery
from gis.sql.compiled import compile_statement
from gis.sql.features import ItemsStatement, ItemStatement, build_item, build_items
from layers import CATALOGUE
from tests.api.principals import bearer, settings
from tests.conftest import create_database, drop_database

CREW = bearer("tree_crew", sub="doi-cay-xanh")
ADMIN = bearer("admin", sub="quan-tri")
TREES = "/collections/trees/items"
GEOJSON = {"Content-Type": "application/geo+json"}
MERGE = {"Content-Type": "application/merge-patch+json"}


@pytest.fixture(scope="module")
def db(server_url: str, migrated_template: str) -> Iterator[str]:
    url = create_database(server_url, "history", template=migrated_template)
    yield url
    drop_database(server_url, "history")


@pytest.fixture(scope="module")
def client(db: str) -> Iterator[TestClient]:
    with TestClient(create_app(settings(), database_url=db)) as c:
        yield c


def _sql(url: str, query: str, *args: Any) -> Any:
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        cur = conn.execute(query, args)
        return cur.fetchall() if cur.description else None


def tree(species: str = "Sao đen", **props: Any) -> dict[str, Any]:
    return {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [108.101, 10.931]},
        "properties": {"species_vi": species, "health": "good", **props},
    }


def _create(c: TestClient, **props: Any) -> int:
    r = c.post(TREES, content=json.dumps(tree(**props)), headers={**CREW, **GEOJSON})
    assert r.status_code == 201, r.text
    return int(r.headers["Location"].rsplit("/", 1)[1])


def _versions(c: TestClient, fid: int, **headers: str) -> dict[str, Any]:
    r = c.get(f"{TREES}/{fid}/versions", headers={**CREW, **headers})
    assert r.status_code == 200, r.text
    doc: dict[str, Any] = r.json()
    return doc


def _instant(db: str) -> str:
    """The database's clock now, between two committed transactions."""
    time.sleep(0.002)
    (stamp,) = _sql(db, "SELECT clock_timestamp()")[0]
    time.sleep(0.002)
    return str(stamp.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"))


def test_api_edits_make_versions(client: TestClient) -> None:
    fid = _create(client)
    for health in ("fair", "poor"):
        body = json.dumps({"properties": {"health": health}})
        r = client.patch(f"{TREES}/{fid}", content=body, headers={**CREW, **MERGE})
        assert r.status_code == 204, r.text
    doc = _versions(client, fid)
    versions = doc["versions"]
    assert [v["version"] for v in versions] == [1, 2, 3]
    assert [v["operation"] for v in versions] == ["create", "update", "update"]
    assert {v["by"] for v in versions} == {"doi-cay-xanh"}
    assert (
        "health" in versions[1]["changed"] and "geometry" not in versions[1]["changed"]
    )
    assert versions[0]["valid_to"] == versions[1]["valid_from"]
    assert versions[-1]["valid_to"] is None and doc["deleted"] is None
    first = client.get(f"{TREES}/{fid}/versions/1", headers=CREW)
    assert first.status_code == 200
    assert first.json()["properties"]["health"] == "good"
    rels = {lk["rel"] for lk in first.json()["links"]}
    assert {"version-history", "successor-version", "latest-version"} <= rels
    current = client.get(f"{TREES}/{fid}", headers=CREW).json()
    assert any(lk["rel"] == "version-history" for lk in current["links"])
    html = client.get(f"{TREES}/{fid}/versions?f=html", headers=CREW)
    assert html.status_code == 200 and "doi-cay-xanh" in html.text


def test_psql_and_import_edits_make_versions(
    client: TestClient, db: str, tmp_path: Path
) -> None:
    fid = _create(client)
    _sql(db, "UPDATE tree SET height_m = 7.5 WHERE id = %s", fid)
    versions = _versions(client, fid)["versions"]
    assert len(versions) == 2 and versions[1]["changed"] == ["height_m"]
    (owner,) = _sql(db, "SELECT session_user")[0]
    assert versions[1]["by"] == owner  # no claims: the database user
    # several updates in one transaction make one version
    with psycopg.connect(libpq_url(db)) as conn:
        conn.execute("UPDATE tree SET height_m = 8 WHERE id = %s", (fid,))
        conn.execute("UPDATE tree SET height_m = 9 WHERE id = %s", (fid,))
    assert len(_versions(client, fid)["versions"]) == 3
    source = tmp_path / "trees.geojson"
    features = [tree("Nhập khẩu", tree_code=f"IMP-{i}") for i in range(3)]
    source.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    import_file(db, CATALOGUE["trees"], source)
    ids = [r[0] for r in _sql(db, "SELECT id FROM tree WHERE species_vi = 'Nhập khẩu'")]
    assert len(ids) == 3
    for imported in ids:
        (v,) = _versions(client, imported)["versions"]
        assert v["operation"] == "create" and v["by"] == owner


def test_a_forged_transaction_time_is_replaced(db: str) -> None:
    """A row inserted with a sys_period of its own (QGIS pastes every attribute it
    copied) gets the inserting transaction's; one without keeps the default, which
    is the same value (the INSERT trigger's WHEN spares it the call)."""
    with psycopg.connect(libpq_url(db)) as conn:
        rows = conn.execute(
            "INSERT INTO tree (tree_code, species_vi, geom, sys_period) VALUES "
            "('FORGED', 'Sao đen', ST_SetSRID(ST_MakePoint(108.1, 10.93), 4326), "
            "tstzrange('2001-01-01', '2002-01-01')), "
            "('PLAIN', 'Sao đen', ST_SetSRID(ST_MakePoint(108.1, 10.93), 4326), "
            "DEFAULT) RETURNING sys_period = tstzrange(now(), NULL)"
        ).fetchall()
        conn.rollback()
    assert rows == [(True,), (True,)]


def test_a_deleted_feature_is_404_now_and_readable_as_of_before(
    client: TestClient, db: str
) -> None:
    fid = _create(client, tree_code="DEL-1")
    before = _instant(db)
    assert client.delete(f"{TREES}/{fid}", headers=CREW).status_code == 204
    assert client.get(f"{TREES}/{fid}", headers=CREW).status_code == 404
    doc = _versions(client, fid)
    assert len(doc["versions"]) == 1 and doc["versions"][0]["valid_to"] is not None
    assert doc["deleted"]["by"] == "doi-cay-xanh"
    old = client.get(f"{TREES}/{fid}", params={"asOf": before}, headers=CREW)
    assert old.status_code == 200, old.text
    assert old.json()["properties"]["tree_code"] == "DEL-1"
    assert client.get(f"{TREES}/{fid}/versions/1", headers=CREW).status_code == 200


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_as_of_answers_equal_snapshots(client: TestClient, db: str, seed: int) -> None:
    """A seeded random sequence of inserts, updates and deletes by the owner (as
    QGIS or psql would make them); the collection as of each instant equals the
    snapshot taken then, through paging (limit 3) and a filter."""
    rng = random.Random(seed)
    species = f"Snap {seed}"
    ids: list[int] = []
    snapshots: list[tuple[str, dict[int, str]]] = []
    for _ in range(12):
        op = rng.choice(["insert", "update", "update", "delete"]) if ids else "insert"
        if op == "insert":
            (row,) = _sql(
                db,
                "INSERT INTO tree (species_vi, health, geom) VALUES (%s, 'good', "
                "ST_SetSRID(ST_MakePoint(108.1, 10.93), 4326)) RETURNING id",
                species,
            )
            ids.append(row[0])
        elif op == "update":
            health = rng.choice(["good", "fair", "poor", "dead"])
            _sql(
                db, "UPDATE tree SET health = %s WHERE id = %s", health, rng.choice(ids)
            )
        else:
            _sql(db, "DELETE FROM tree WHERE id = %s", ids.pop(rng.randrange(len(ids))))
        rows = _sql(db, "SELECT id, health FROM tree WHERE species_vi = %s", species)
        snapshots.append((_instant(db), dict(rows)))
    for instant, expected in snapshots:
        seen: dict[int, str] = {}
        url: str | None = TREES
        params: dict[str, Any] | None = {
            "asOf": instant,
            "limit": 3,
            "filter": f"species_vi = '{species}'",
        }
        while url:
            r = client.get(url, params=params, headers=CREW)
            assert r.status_code == 200, r.text
            page = r.json()
            seen.update({f["id"]: f["properties"]["health"] for f in page["features"]})
            url = next(
                (lk["href"] for lk in page["links"] if lk["rel"] == "next"), None
            )
            params = None
        assert seen == expected, instant


def test_personal_fields_in_history_follow_the_policy(
    client: TestClient, db: str
) -> None:
    (pid,) = _sql(
        db,
        "INSERT INTO land_parcel (ward_code, survey_ward_code, sheet_no, parcel_no, "
        "land_use, geom) VALUES ('22924', '22924', 901, 1, 'ODT', ST_Multi("
        "ST_MakeEnvelope(108.1, 10.93, 108.1001, 10.9301, 4326))) RETURNING id",
    )[0]
    (uid,) = _sql(
        db, "INSERT INTO land_user (kind, full_name) VALUES ('individual', 'Nguyễn A') "
        "RETURNING id")[0]  # fmt: skip
    (cid,) = _sql(
        db,
        "INSERT INTO land_certificate (parcel_id, land_user_id, serial_no) "
        "VALUES (%s, %s, 'CS-1') RETURNING id",
        pid,
        uid,
    )[0]
    then = _instant(db)
    (uid2,) = _sql(
        db, "INSERT INTO land_user (kind, full_name) VALUES ('individual', 'Trần B') "
        "RETURNING id")[0]  # fmt: skip
    _sql(db, "UPDATE land_certificate SET land_user_id = %s WHERE id = %s", uid2, cid)
    url = f"/collections/land_parcels/items/{pid}"
    now = client.get(url, headers=ADMIN).json()["properties"]["land_users"]
    assert [u["full_name"] for u in now] == ["Trần B"]
    old = client.get(url, params={"asOf": then}, headers=ADMIN)
    assert old.status_code == 200, old.text
    assert [u["full_name"] for u in old.json()["properties"]["land_users"]] == [
        "Nguyễn A"
    ]
    audited = _sql(
        db,
        "SELECT count(*) FROM audit_log WHERE action = 'read_personal' "
        "AND layer = 'land_parcels' AND %s = ANY(feature_ids) AND subject = 'quan-tri'",
        pid,
    )[0][0]
    assert audited >= 2
    for who in ({}, bearer("planner")):
        props = client.get(url, params={"asOf": then}, headers=who).json()["properties"]
        assert "land_users" not in props and "certificates" not in props
        version = client.get(f"{url}/versions/1", headers=who).json()["properties"]
        assert "land_users" not in version
    # the history tables themselves: the API role reads them through RLS only
    with psycopg.connect(libpq_url(db), autocommit=True) as conn:
        conn.execute("SET ROLE dothi_api")
        rows = conn.execute("SELECT count(*) FROM land_certificate_history").fetchall()
    assert rows == [(0,)]  # no claims: no rows, though one version is there
    assert _sql(db, "SELECT count(*) FROM land_certificate_history") == [(1,)]


def test_restricted_layers_hide_their_history(client: TestClient, db: str) -> None:
    (cam,) = _sql(
        db,
        "INSERT INTO camera (camera_code, camera_type, geom) VALUES ('C-H1', 'fixed', "
        "ST_SetSRID(ST_MakePoint(108.1, 10.93), 4326)) RETURNING id",
    )[0]
    path = f"/collections/cameras/items/{cam}/versions"
    assert client.get(path).status_code == 404
    assert client.get(f"{path}/1").status_code == 404
    assert client.get(path, headers=bearer("security_officer")).status_code == 200


@pytest.mark.parametrize(
    ("as_of", "words"),
    [
        ("yesterday", "RFC 3339"),
        ("2020-13-01T00:00:00Z", "RFC 3339"),
        ("1990-01-01T00:00:00Z", "starts at"),
        ("2999-01-01T00:00:00Z", "future"),
    ],
)
def test_bad_instants_are_400(client: TestClient, as_of: str, words: str) -> None:
    for path in (TREES, f"{TREES}/1"):
        r = client.get(path, params={"asOf": as_of, "lang": "en"})
        assert r.status_code == 400, r.text
        assert words in r.json()["detail"]


def test_the_audit_trail_as_of_an_instant_is_its_rows_until_then(
    client: TestClient, db: str
) -> None:
    """The audit trail keeps no history (nobody may change its rows): as of an
    instant it is the rows written by then, through the same paging and policy."""
    auditor = bearer("auditor", sub="kiem-toan")
    _create(client)
    before = _instant(db)
    ids_then = [r[0] for r in _sql(db, "SELECT id FROM audit_log ORDER BY id")]
    fid = _create(client)
    _sql(db, "UPDATE tree SET height_m = 3 WHERE id = %s", fid)
    assert len(_sql(db, "SELECT id FROM audit_log")) > len(ids_then)
    page = client.get(
        "/collections/audit_log/items",
        params={"asOf": before, "limit": 10_000},
        headers=auditor,
    )
    assert page.status_code == 200, page.text
    assert sorted(f["id"] for f in page.json()["features"]) == ids_then
    assert (
        client.get("/collections/audit_log/items", params={"asOf": before}).status_code
        == 404
    )  # the trail is the auditor's, as of any instant too
    assert (
        client.get(
            "/collections/audit_log/items",
            params={"asOf": "2999-01-01T00:00:00Z"},
            headers=auditor,
        ).status_code
        == 400
    )


@pytest.mark.parametrize("n", ["0", "99", "-1", "x", "1.5", "99999999999999"])
def test_bad_version_numbers_are_404(client: TestClient, n: str) -> None:
    fid = _create(client)
    assert client.get(f"{TREES}/{fid}/versions/{n}", headers=CREW).status_code == 404
    assert client.get(f"{TREES}/999999999/versions", headers=CREW).status_code == 404
    assert client.get(f"{TREES}/abc/versions", headers=CREW).status_code == 404


def test_the_read_path_without_an_instant_is_unchanged() -> None:
    layer = CATALOGUE["land_parcels"]
    fields = layer.fields
    query = ItemsQuery(limit=10)
    normal = ItemsStatement(layer, query, fields, count=True).build()
    assert (
        normal.sql
        == compile_statement(build_items(layer, query, fields, count=True)).sql
    )
    assert "sys_period" not in normal.sql and "_history" not in normal.sql
    one = ItemStatement(layer, query, fields, 1).build()
    assert one.sql == compile_statement(build_item(layer, query, fields, 1)).sql
    as_of = ItemsStatement(
        layer, query, fields, count=True, as_of=dt.datetime.now(dt.UTC)
    )
    assert as_of.shape() != ItemsStatement(layer, query, fields, count=True).shape()
    sql = as_of.build().sql
    assert sql.startswith("WITH land_parcel AS NOT MATERIALIZED") or sql.startswith(
        'WITH "land_parcel" AS NOT MATERIALIZED'
    )
    assert "land_certificate_history" in sql and "land_user_history" in sql
