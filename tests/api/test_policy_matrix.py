"""The access policy, every role x every layer x every operation, through HTTP.

The cases are generated from the policy of ``layers/`` (the roles' grants, restated
here as set arithmetic, not by calling the methods the routes use): discover, read
the collection, list, get, a tile, queryables, schema, filter and sort on *every*
field, the personal fields of a feature, create, replace, update and delete. Each
case has one expected status; the run collects every mismatch and expects none.

Canary strings are seeded in every personal place (land users of two wards, a
reporter's name and phone, a camera's code and stream) and searched in every
response body, header and tile, in every log record of the run and in PostgreSQL's
log: a canary appears only where the principal's roles may read it.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import morecantile
import psycopg
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from gis.db.embedded import EmbeddedCluster
from gis.db.urls import libpq_url
from gis.layer import VectorLayer
from gis.principal import PUBLIC, ROLES
from gis.sql.history import has_history, is_append_only
from layers import CATALOGUE
from tests.api.principals import bearer, settings
from tests.conftest import create_database, drop_database

WARD_A, WARD_B = "22945", "22924"  # the land officer's ward, and another
WMQ = morecantile.tms.get("WebMercatorQuad")
# canary -> the roles that may read it (a ward's officer: only its ward's owner)
CANARIES = {
    "CANARY-OWNER-A-9f1": {"admin", "land_officer"},
    "CANARY-OWNER-B-9f2": {"admin"},
    "CANARY-REPORTER-9f3": {"admin", "ioc_operator"},
    "CANARY-PHONE-9f4": {"admin", "ioc_operator"},
    "CANARY-CAM-9f5": {"admin", "ioc_operator", "security_officer"},
    "CANARY-STREAM-9f6": {"admin", "ioc_operator", "security_officer"},
}
_UNIQUE = itertools.count()
PRINCIPALS = ["anonymous", *sorted(ROLES - {PUBLIC})]


@dataclass
class World:
    """The matrix's city: a client, its database and the features it acts on."""

    client: TestClient
    url: str
    sample: dict[str, int] = field(default_factory=dict)  # layer -> a feature id
    bodies: dict[str, dict[str, Any]] = field(default_factory=dict)
    parcel_a: int = 0
    parcel_b: int = 0
    report: int = 0


def headers_of(principal: str) -> dict[str, str]:
    """The Authorization of a principal holding one role (none for anonymous)."""
    if principal == "anonymous":
        return {}
    wards = (WARD_A,) if principal == "land_officer" else ()
    return bearer(principal, wards=wards, sub=f"matrix-{principal}")


def _seed(url: str) -> dict[str, int]:
    """Canaries in every personal place; returns the ids they hang on."""
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:

        def one(sql: str, *args: Any) -> int:
            row = conn.execute(sql, args).fetchone()
            assert row is not None, sql
            return int(row[0])

        ids = {}
        for key, ward, name in (
            ("parcel_a", WARD_A, "CANARY-OWNER-A-9f1"),
            ("parcel_b", WARD_B, "CANARY-OWNER-B-9f2"),
        ):
            parcel = one("SELECT min(id) FROM land_parcel WHERE ward_code = %s", ward)
            user = one(
                "INSERT INTO land_user (kind, full_name, phone) "
                "VALUES ('individual', %s, '0900000000') RETURNING id",
                name,
            )
            conn.execute(
                "INSERT INTO land_certificate (parcel_id, land_user_id, serial_no) "
                "VALUES (%s, %s, %s)",
                (parcel, user, f"SN-{key}"),
            )
            ids[key] = parcel
        report = one("SELECT min(id) FROM field_report")
        conn.execute("DELETE FROM field_report_contact WHERE report_id = %s", (report,))
        conn.execute(
            "INSERT INTO field_report_contact (report_id, reporter_name, phone) "
            "VALUES (%s, 'CANARY-REPORTER-9f3', 'CANARY-PHONE-9f4')",
            (report,),
        )
        ids["report"] = report
        # power lines come from OpenStreetMap only: one drawn here
        conn.execute(
            "INSERT INTO power_line (name, power, voltage, geom) VALUES "
            "('Tuyến 22kV', 'line', '22000', ST_Multi(ST_GeomFromText("
            "'LINESTRING(108.10 10.93, 108.11 10.94)', 4326)))"
        )
        conn.execute(
            "UPDATE camera SET camera_code = 'CANARY-CAM-9f5', "
            "stream_url = 'rtsp://CANARY-STREAM-9f6/live' "
            "WHERE id = (SELECT min(id) FROM camera)"
        )
        conn.execute("ANALYZE")
    return ids


@pytest.fixture(scope="module")
def world(server_url: str, migrated_template: str) -> Iterator[World]:
    from dothi.demo import build_demo

    url = create_database(server_url, "matrix_city", template=migrated_template)
    build_demo(url, seed=0.7, scale=0.03, open_data=None)
    ids = _seed(url)
    with TestClient(create_app(settings(), database_url=url)) as client:
        w = World(client, url, **ids)
        admin = headers_of("admin")
        for layer in CATALOGUE.values():
            if layer.id == "audit_log":
                continue
            fid = {"land_parcels": w.parcel_a, "field_reports": w.report,
                   "land_dossiers": _dossier_in(url, WARD_A)}.get(layer.id)  # fmt: skip
            if fid is None:
                fid = _first_id(url, layer)
            w.sample[layer.id] = fid
            body = client.get(f"/collections/{layer.id}/items/{fid}", headers=admin)
            assert body.status_code == 200, body.text
            w.bodies[layer.id] = _as_new(layer, body.json())
        w.sample["audit_log"] = 1
        yield w
    drop_database(server_url, "matrix_city")


def _dossier_in(url: str, ward: str) -> int:
    """A dossier of ``ward`` (the land officer's: it may replace its own copy)."""
    with psycopg.connect(libpq_url(url)) as conn:
        row = conn.execute(
            "SELECT min(id) FROM land_dossier WHERE ward_code = %s", (ward,)
        ).fetchone()
    assert row is not None and row[0] is not None
    return int(row[0])


def _first_id(url: str, layer: VectorLayer) -> int:
    drawn = "geom IS NOT NULL" if layer.geometry_type else "true"
    with psycopg.connect(libpq_url(url)) as conn:
        row = conn.execute(
            f"SELECT min(id) FROM {layer.table.name} WHERE {drawn}"
        ).fetchone()
    assert row is not None and row[0] is not None, layer.id
    return int(row[0])


def _as_new(layer: VectorLayer, feature: dict[str, Any]) -> dict[str, Any]:
    """What was read, sent back as a new feature (read-only fields and all, as QGIS
    does); unique codes made unique again."""
    props = dict(feature["properties"])
    for name in ("camera_code", "report_code", "station_code", "cabinet_code",
                 "dossier_no"):  # fmt: skip
        if name in props:
            props[name] = f"{props[name]}-{{uniq}}"  # one per request (_send)
    if layer.id == "admin_units":
        props["code"] = "99999"
    if layer.id == "land_parcels":  # one parcel a number on its sheet (0015)
        props["parcel_no"] = "{uniq:int}"
        props["national_parcel_id"] = None  # unique too: a new parcel has none yet
    return {"type": "Feature", "geometry": feature["geometry"], "properties": props}


@dataclass(frozen=True)
class Case:
    """One request and the status the policy expects."""

    op: str
    method: str
    path: str
    expected: int | tuple[int, ...]
    body: dict[str, Any] | None = None
    check: str | None = None  # an extra assertion on the answer, by name


def _grants(principal: str) -> set[str]:
    return {PUBLIC} if principal == "anonymous" else {PUBLIC, principal}


def _tile(w: World, layer: VectorLayer, fid: int | None = None, base: str = "") -> str:
    """A WebMercatorQuad tile over the sample feature, at a zoom the layer serves
    (``base`` ``/tiles``: the dataset tile with every layer there)."""
    z = max(layer.tiles.minzoom, 14)
    with psycopg.connect(libpq_url(w.url)) as conn:
        row = conn.execute(
            f"SELECT ST_X(c), ST_Y(c) FROM (SELECT ST_PointOnSurface(geom) AS c "
            f"FROM {layer.table.name} WHERE id = %s) p",
            (fid or w.sample[layer.id],),
        ).fetchone()
    assert row is not None
    t = WMQ.tile(row[0], row[1], z)
    base = base or f"/collections/{layer.id}/tiles"
    return f"{base}/WebMercatorQuad/{z}/{t.y}/{t.x}"


def plan(w: World, principal: str) -> list[Case]:
    """Every case of ``principal``, from the policy of every layer."""
    roles = _grants(principal)
    camera = w.sample["cameras"]
    cases: list[Case] = [  # the documents that list or draw every layer at once
        Case("discover", "GET", "/api", 200),
        Case("discover", "GET", "/collections?f=html", 200),
        Case("discover", "GET", "/styles/city", 200),
        Case("dataset-tile", "GET", _tile(w, CATALOGUE["cameras"], camera, "/tiles"),
             (200, 204)),
    ]  # fmt: skip
    for layer in CATALOGUE.values():
        a = layer.access
        base = f"/collections/{layer.id}"
        readable = bool(roles & a.read)
        hidden = 404
        seen = 200 if readable else hidden
        personal = readable and bool(roles & a.personal)
        visible = {f.name for f in layer.fields if personal or not f.personal}
        fid = w.sample[layer.id]
        cases += [
            Case("discover", "GET", "/collections", 200, check=f"lists:{layer.id}"),
            Case("collection", "GET", base, seen),
            Case("list", "GET", f"{base}/items?limit=3", seen),
            Case("list-csv", "GET", f"{base}/items?limit=3&f=csv", seen),
            Case("list-html", "GET", f"{base}/items?limit=3&f=html", seen),
            Case("get-html", "GET", f"{base}/items/{fid}?f=html", seen),
            Case("get", "GET", f"{base}/items/{fid}", seen, check="fields"),
            Case("queryables", "GET", f"{base}/queryables", seen, check="queryables"),
            Case("schema", "GET", f"{base}/schema", seen, check="schema"),
            # a layer without geometry has nothing to draw: no styles either
            Case(
                "styles", "GET", f"{base}/styles", seen if layer.geometry_type else 404
            ),
        ]
        # history (issue 14, item 3): the versions, one version, the layer as of now
        now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        kept = has_history(layer.table)
        cases += [
            Case("versions", "GET", f"{base}/items/{fid}/versions",
                 seen if kept else hidden),
            Case("version", "GET", f"{base}/items/{fid}/versions/1",
                 seen if kept else hidden, check="fields" if kept else None),
            # the audit trail needs no history to be read as of an instant
            Case("as-of", "GET", f"{base}/items?limit=3&asOf={now}",
                 (seen if kept or is_append_only(layer) else 400)
                 if readable else hidden),
        ]  # fmt: skip
        if layer.id == "land_parcels":  # another ward's parcel and its owner
            other = f"{base}/items/{w.parcel_b}"
            cases.append(Case("get", "GET", other, seen, check="fields"))
        if layer.geometry_type is not None:
            cases.append(
                Case("tile", "GET", _tile(w, layer), (200, 204) if readable else hidden)
            )
        else:
            cases.append(
                Case("tile", "GET", f"{base}/tiles/WebMercatorQuad/15/1/1", 404)
            )
        for f in layer.fields:
            can_filter = f.name in visible and f.queryable
            can_sort = f.name in visible and f.sortable
            status = (200 if can_filter else 400) if readable else hidden
            cases.append(
                Case(
                    "filter",
                    "GET",
                    f"{base}/items?limit=2&filter={f.name}%20IS%20NULL",
                    status,
                )
            )
            status = (200 if can_sort else 400) if readable else hidden
            cases.append(
                Case("sort", "GET", f"{base}/items?limit=2&sortby=-{f.name}", status)
            )
        cases += _writes(w, layer, principal, roles, readable)
    return cases


def _refusal(principal: str, readable: bool) -> int:
    if not readable:
        return 404
    return 401 if principal == "anonymous" else 403


def _writes(w: World, layer: VectorLayer, principal: str, roles: set[str],
            readable: bool) -> list[Case]:  # fmt: skip
    a = layer.access
    base = f"/collections/{layer.id}/items"
    creators = a.write if a.create is None else a.create
    may_create = readable and bool(roles & creators)
    may_write = readable and bool(roles & a.write)
    full = w.bodies.get(
        layer.id, {"type": "Feature", "geometry": None, "properties": {}}
    )
    # fields only some writers may set (a report's handling): the others leave them out
    held = {
        f.name for f in layer.fields if f.set_by is not None and not roles & f.set_by
    }
    props = {k: v for k, v in full["properties"].items() if k not in held}
    body = {**full, "properties": props}
    fid = w.sample[layer.id]
    seen = 204 if readable else 404
    cases = [  # what QGIS asks before it offers editing
        Case("options", "OPTIONS", base, seen, check="allow"),
        Case("options", "OPTIONS", f"{base}/{fid}", seen, check="allow"),
    ]
    if may_create and held & set(full["properties"]):
        cases.append(Case("set-by", "POST", base, 403, full))
    if may_create:  # its own new feature: created, replaced, updated, deleted
        cases.append(Case("create", "POST", base, 201, body, check="created"))
        own = "{created}"
        after = 204 if may_write else _refusal(principal, readable)
        cases += [
            Case("replace", "PUT", f"{base}/{own}", after, body),
            Case("update", "PATCH", f"{base}/{own}", after, {"properties": {}}),
            Case("delete", "DELETE", f"{base}/{own}", after),
        ]
    else:
        cases.append(Case("create", "POST", base, _refusal(principal, readable), body))
    if not may_write:  # somebody else's feature: refused before anything is read
        refused = _refusal(principal, readable)
        cases += [
            Case("replace", "PUT", f"{base}/{fid}", refused, body),
            Case("update", "PATCH", f"{base}/{fid}", refused, {"properties": {}}),
            Case("delete", "DELETE", f"{base}/{fid}", refused),
        ]
    if layer.id == "land_parcels" and may_write:
        # the ward predicate: another ward's parcel is out of reach, create or edit
        scoped = not (roles & (a.write - a.ward_scoped))
        other = f"{base}/{w.parcel_b}"
        moved = {**body, "properties": {**body["properties"], "ward_code": WARD_B}}
        cases += [
            Case("ward-create", "POST", base, 403 if scoped else 201, moved,
                 check="created"),
            Case("ward-update", "PATCH", other, 403 if scoped else 204,
                 {"properties": {"address": "Khu phố 1"}}),
            Case("ward-delete", "DELETE", other, 403 if scoped else 409),
        ]  # fmt: skip
    return cases


def _send(
    c: TestClient, case: Case, headers: dict[str, str], created: str | None
) -> Any:
    path = case.path.replace("{created}", created or "0")
    body = None
    if case.body is not None:
        uniq = str(next(_UNIQUE))
        body = (
            json.dumps(case.body).replace('"{uniq:int}"', uniq).replace("{uniq}", uniq)
        )
    extra = {"Content-Type": "application/geo+json"} if case.body is not None else {}
    if case.method == "PATCH":
        extra = {"Content-Type": "application/merge-patch+json"}
    return c.request(
        case.method,
        path,
        headers={**headers, **extra},
        content=body,
    )


def _extra_check(w: World, case: Case, principal: str, answer: Any) -> str | None:
    """The named assertion of a case: what the answer must (not) contain."""
    roles = _grants(principal)
    if case.check is None or answer.status_code >= 300:
        return None
    if case.check.startswith("lists:"):
        layer = CATALOGUE[case.check[6:]]
        listed = layer.id in {x["id"] for x in answer.json()["collections"]}
        return None if listed == bool(roles & layer.access.read) else "listing"
    layer = CATALOGUE[case.path.split("/")[2]]
    personal = bool(roles & layer.access.personal)
    visible = {f.name for f in layer.fields if personal or not f.personal}
    if case.check == "allow":
        creators = (
            layer.access.write if layer.access.create is None else layer.access.create
        )
        on_item = case.path.count("/") == 4
        may = bool(roles & (layer.access.write if on_item else creators))
        offered = set(answer.headers["Allow"].split(", "))
        wanted = {"GET", "OPTIONS"} | (
            ({"PUT", "PATCH", "DELETE"} if on_item else {"POST"}) if may else set()
        )
        return None if offered == wanted else f"Allow {sorted(offered)}"
    if case.check == "fields":
        got = set(answer.json()["properties"])
        return None if got == visible else f"fields {sorted(got ^ visible)}"
    if case.check == "queryables":
        got = set(answer.json()["properties"]) - {"geometry"}
        want = {f.name for f in layer.fields if f.name in visible and f.queryable}
        return None if got == want else f"queryables {sorted(got ^ want)}"
    if case.check == "schema":
        got = set(answer.json()["properties"]) - {"geometry", "id"}
        return None if got == visible else f"schema {sorted(got ^ visible)}"
    return None


def _leaks(principal: str, answer: Any) -> list[str]:
    roles = _grants(principal)
    raw = answer.content + repr(dict(answer.headers)).encode()
    return [
        c
        for c, allowed in CANARIES.items()
        if c.encode() in raw and not roles & allowed
    ]


def test_the_matrix_has_at_least_800_cases(world: World) -> None:
    sizes = {p: len(plan(world, p)) for p in PRINCIPALS}
    assert sum(sizes.values()) >= 800, sizes
    ops = {
        c.op for c in itertools.chain.from_iterable(plan(world, p) for p in PRINCIPALS)
    }
    assert {"discover", "list", "get", "tile", "queryables", "filter", "sort",
            "create", "replace", "update", "delete", "ward-update"} <= ops  # fmt: skip


@pytest.mark.parametrize("principal", PRINCIPALS)
def test_role_layer_operation_matrix(
    world: World, principal: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    headers = headers_of(principal)
    mismatches: list[str] = []
    created: str | None = None
    seen_canaries: set[str] = set()
    for case in plan(world, principal):
        answer = _send(world.client, case, headers, created)
        if case.check == "created" and answer.status_code == 201:
            created = answer.headers["Location"].rsplit("/", 1)[1]
        ok = answer.status_code in (
            case.expected if isinstance(case.expected, tuple) else (case.expected,)
        )
        where = f"{principal} {case.op} {case.method} {case.path}"
        if not ok:
            mismatches.append(f"{where}: {answer.status_code} != {case.expected} "
                              f"{answer.text[:160]}")  # fmt: skip
        if answer.status_code >= 500:
            mismatches.append(f"{where}: server error")
        if (problem := _extra_check(world, case, principal, answer)) is not None:
            mismatches.append(f"{where}: {problem}")
        if leaks := _leaks(principal, answer):
            mismatches.append(f"{where}: canaries {leaks}")
        seen_canaries |= {c for c in CANARIES if c.encode() in answer.content}
    for record in caplog.records:
        line = record.getMessage() + (record.exc_text or "")
        mismatches += [f"log line carries {c}" for c in CANARIES if c in line]
    assert mismatches == []
    # the scan is not vacuous: whoever may read a canary did get it back
    allowed = {c for c, roles in CANARIES.items() if _grants(principal) & roles}
    assert allowed <= seen_canaries


def test_personal_reads_are_audited_for_the_auditor_only(world: World) -> None:
    c = world.client
    officer = headers_of("land_officer")
    before = _audit(world, "land_parcels")
    own = c.get(f"/collections/land_parcels/items/{world.parcel_a}", headers=officer)
    other = c.get(f"/collections/land_parcels/items/{world.parcel_b}", headers=officer)
    assert "CANARY-OWNER-A-9f1" in own.text
    assert other.json()["properties"]["land_users"] is None  # not its ward
    page = c.get(
        "/collections/land_parcels/items?limit=50&ward_code=" + WARD_A, headers=officer
    )
    assert page.status_code == 200
    shown = {f["id"] for f in page.json()["features"]}
    after = _audit(world, "land_parcels")
    new = [r for r in after if r not in before]
    reads = [
        r for r in new if r[0] == "read_personal" and r[2] == "matrix-land_officer"
    ]
    # the single feature of its ward, then the page; nothing for the other ward
    assert [set(r[1]) for r in reads] == [{world.parcel_a}, shown]
    assert all(r[3] == "jwt" and r[4].startswith("testclient") for r in reads)
    # through the API: the auditor reads the trail, nobody else even finds it
    trail = c.get(
        "/collections/audit_log/items?action=read_personal&subject=matrix-land_officer",
        headers=headers_of("auditor"),
    )
    assert trail.status_code == 200
    assert trail.json()["numberReturned"] >= 2
    for who in ("anonymous", "admin", "land_officer", "ioc_operator"):
        assert (
            c.get("/collections/audit_log/items", headers=headers_of(who)).status_code
            == 404
        )


def _audit(w: World, layer: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(libpq_url(w.url)) as conn:
        return conn.execute(
            "SELECT action, feature_ids, subject, auth, client, id FROM audit_log "
            "WHERE layer = %s ORDER BY id",
            (layer,),
        ).fetchall()


def test_no_canary_in_the_database_log(cluster: EmbeddedCluster, world: World) -> None:
    # PostgreSQL logs errors with their statements: bound values never appear there
    log = cluster.server_log.read_text(errors="replace")
    assert log  # the scan reads a real log
    assert [c for c in CANARIES if c in log] == []
