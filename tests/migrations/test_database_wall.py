"""PostgreSQL as the second wall: the API role reads restricted tables only with claims."""

from __future__ import annotations

import importlib.util
from typing import Any

import psycopg
import pytest

from gis.db.urls import libpq_url
from layers import CATALOGUE
from migrations import MIGRATIONS_DIR


@pytest.fixture
def api_conn(db_url: str):  # type: ignore[no-untyped-def]
    with psycopg.connect(libpq_url(db_url), autocommit=True) as owner:
        owner.execute(
            "INSERT INTO camera (camera_code, camera_type, geom) VALUES "
            "('CAM-1', 'PTZ', ST_SetSRID(ST_MakePoint(108.1, 10.93), 4326))"
        )
        owner.execute(
            "INSERT INTO land_user (kind, full_name) VALUES ('individual', 'A')"
        )
        owner.execute(
            "INSERT INTO land_parcel (ward_code, sheet_no, parcel_no, land_use, geom) "
            "VALUES ('22945', 1, 1, 'ODT', ST_Multi(ST_Buffer(ST_SetSRID("
            "ST_MakePoint(108.1, 10.93), 4326), 0.0001)))"
        )
        owner.execute(
            "INSERT INTO land_certificate (parcel_id, land_user_id, serial_no) "
            "SELECT p.id, u.id, 'SN-1' FROM land_parcel p, land_user u"
        )
        owner.execute(
            "INSERT INTO app_user (username, password_hash) VALUES ('lan', 'x')"
        )
    with psycopg.connect(libpq_url(db_url), autocommit=True) as conn:
        conn.execute("SET ROLE dothi_api")
        yield conn


def _count(conn: psycopg.Connection, table: str) -> int:  # type: ignore[type-arg]
    return int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])


@pytest.mark.parametrize(
    "table",
    [
        "camera",
        "land_user",
        "land_certificate",
        "field_report_contact",
        "app_user",
        "api_key",
    ],
)
def test_restricted_tables_are_empty_without_claims(api_conn, table: str) -> None:  # type: ignore[no-untyped-def]
    assert _count(api_conn, table) == 0


def test_claims_open_what_the_role_may_read(api_conn) -> None:  # type: ignore[no-untyped-def]
    with api_conn.transaction():
        api_conn.execute("SELECT set_config('dothi.roles', 'public,citizen', true)")
        assert _count(api_conn, "camera") == 0
    with api_conn.transaction():
        api_conn.execute(
            "SELECT set_config('dothi.roles', 'public,security_officer', true)"
        )
        assert _count(api_conn, "camera") == 1
        assert _count(api_conn, "land_user") == 0
    with api_conn.transaction():  # a land officer: the land users of its wards
        _claims(api_conn, "public,land_officer", "22945")
        assert _count(api_conn, "land_user") == 1
        assert _count(api_conn, "land_certificate") == 1
    with api_conn.transaction():
        _claims(api_conn, "public,land_officer", "22924")
        assert _count(api_conn, "land_user") == 0
        assert _count(api_conn, "land_certificate") == 0
    with api_conn.transaction():  # the auditor reads the trail, not the data
        _claims(api_conn, "public,auditor")
        assert _count(api_conn, "land_user") == 0
    assert _count(api_conn, "camera") == 0  # claims end with the transaction
    with api_conn.transaction():
        api_conn.execute("SELECT set_config('dothi.authenticating', 'on', true)")
        assert _count(api_conn, "app_user") == 1


def test_api_role_cannot_write_or_reach_the_owner(api_conn, db_url: str) -> None:  # type: ignore[no-untyped-def]
    with psycopg.connect(libpq_url(db_url), autocommit=True) as owner:
        owner.execute(
            "INSERT INTO tree (species_vi, geom) VALUES "
            "('Sao đen', ST_SetSRID(ST_MakePoint(108.1, 10.93), 4326))"
        )
    # without claims the write policies match no row and refuse every new one
    assert api_conn.execute("DELETE FROM tree").rowcount == 0
    assert api_conn.execute("UPDATE tree SET height_m = 1").rowcount == 0
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        api_conn.execute(
            "INSERT INTO tree (species_vi, geom) VALUES "
            "('X', ST_SetSRID(ST_MakePoint(108.1, 10.93), 4326))"
        )
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        api_conn.execute("UPDATE app_user SET password_hash = 'y'")
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        api_conn.execute("CREATE TABLE intruder (x int)")
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        api_conn.execute("TRUNCATE tree")
    for function in ("bump_layer_version()", "audit_layer_write()"):
        granted = api_conn.execute(
            "SELECT has_function_privilege('dothi_api', %s, 'EXECUTE')", (function,)
        ).fetchone()
        assert granted == (False,), function
    assert api_conn.execute("SELECT current_user").fetchone() == ("dothi_api",)
    assert _count(api_conn, "tree") == 1  # public layers stay readable


def _claims(conn, roles: str, wards: str = "", subject: str = "") -> None:  # type: ignore[no-untyped-def]
    conn.execute(
        "SELECT set_config('dothi.roles', %s, true), "
        "set_config('dothi.wards', %s, true), set_config('dothi.subject', %s, true)",
        (roles, wards, subject),
    )


# parcel 1 of sheet 1 is the fixture's: a number is unique on its sheet (0015)
PARCEL = (
    "INSERT INTO land_parcel (ward_code, sheet_no, parcel_no, land_use, geom) "
    "VALUES (%s, 1, %s, 'ODT', ST_Multi(ST_Buffer(ST_SetSRID("
    "ST_MakePoint(108.1, 10.93), 4326), 0.0001))) RETURNING id"
)


def test_a_wards_officer_writes_only_that_ward(api_conn) -> None:  # type: ignore[no-untyped-def]
    with api_conn.transaction():
        _claims(api_conn, "public,land_officer", "22945", "lan")
        own = api_conn.execute(PARCEL, ("22945", 11)).fetchone()[0]
    with api_conn.transaction():
        _claims(api_conn, "public,admin")
        other = api_conn.execute(PARCEL, ("22960", 12)).fetchone()[0]
    with api_conn.transaction():
        _claims(api_conn, "public,land_officer", "22945", "lan")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            api_conn.execute(PARCEL, ("22960", 13))
    with api_conn.transaction():
        _claims(api_conn, "public,land_officer", "22945", "lan")
        update = "UPDATE land_parcel SET parcel_no = parcel_no + 100 WHERE id = %s"
        assert api_conn.execute(update, (other,)).rowcount == 0  # not in its ward
        assert api_conn.execute(update, (own,)).rowcount == 1
        with pytest.raises(psycopg.errors.InsufficientPrivilege):  # moving it out
            api_conn.execute(
                "UPDATE land_parcel SET ward_code = '22960' WHERE id = %s", (own,)
            )
    with api_conn.transaction():
        _claims(api_conn, "public,tree_crew")
        assert api_conn.execute("DELETE FROM land_parcel").rowcount == 0


def test_every_write_is_audited_and_only_the_auditor_reads_it(api_conn) -> None:  # type: ignore[no-untyped-def]
    with api_conn.transaction():
        _claims(api_conn, "public,land_officer", "22945", "lan")
        fid = api_conn.execute(PARCEL, ("22945", 17)).fetchone()[0]
    assert _count(api_conn, "audit_log") == 0  # no claims: nothing to see
    with api_conn.transaction():
        _claims(api_conn, "public,admin")
        assert _count(api_conn, "audit_log") == 0  # not even the administrator
    with api_conn.transaction():
        _claims(api_conn, "public,auditor")
        rows = api_conn.execute(
            "SELECT action, layer, feature_ids, subject, roles, db_user "
            "FROM audit_log WHERE layer = 'land_parcels' AND subject IS NOT NULL"
        ).fetchall()
        assert rows == [
            ("create", "land_parcels", [fid], "lan", "public,land_officer", "dothi")
        ]
        # the auditor changes nothing, and nobody forges an edit record
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            api_conn.execute("UPDATE audit_log SET subject = 'x'")
    with api_conn.transaction():
        _claims(api_conn, "public,auditor")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            api_conn.execute(
                "INSERT INTO audit_log (action, layer, feature_ids) "
                "VALUES ('delete', 'land_parcel', '{1}')"
            )
    # who and when are never the API's to write
    with api_conn.transaction(), pytest.raises(psycopg.errors.InsufficientPrivilege):
        api_conn.execute(
            "INSERT INTO audit_log (action, layer, feature_ids, subject, at) "
            "VALUES ('read_personal', 'land_parcels', '{1}', 'someone', "
            "'2020-01-01')"
        )


def _revision(name: str) -> Any:
    path = next((MIGRATIONS_DIR / "versions").glob(f"*_{name}.py"))
    spec = importlib.util.spec_from_file_location(f"revision_{name}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_database_wall_repeats_the_catalogue_policy() -> None:
    """Migration 0008 wrote the write policy of ``layers/`` into SQL (and each later
    layer's migration its own, in the same form); they agree."""
    revision = _revision("0008_audit_and_writes")
    later = [_revision("0018_land_dossiers")]
    expected = {}
    for layer in CATALOGUE.values():
        a = layer.access
        if not (a.write | a.creators):
            continue
        scoped = a.ward_scoped & (a.write | a.creators)
        expected[layer.table.name] = (
            tuple(sorted(a.creators)),
            tuple(sorted(a.write)),
            tuple(sorted(scoped)),
        )
        layer_ids = {**revision.LAYER_IDS}
        for r in later:
            layer_ids.update(r.LAYER_IDS)
        assert layer_ids[layer.table.name] == layer.id
    written = {**revision.WRITE_POLICY}
    for r in later:
        written.update(r.WRITE_POLICY)
    policy = {t: tuple(tuple(sorted(r)) for r in v) for t, v in written.items()}
    assert policy == expected
    restricted = {**_revision("0006_database_wall").RESTRICTED}
    for r in later:
        restricted.update(r.RESTRICTED)
    for layer in CATALOGUE.values():
        if layer.access.is_public or layer.id == "audit_log":  # audit_log: 0008
            continue
        assert set(restricted[layer.table.name]) == set(layer.access.read), layer.id
