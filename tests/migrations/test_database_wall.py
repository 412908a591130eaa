"""PostgreSQL as the second wall: the API role reads restricted tables only with claims."""

from __future__ import annotations

import psycopg
import pytest

from gis.db import libpq_url


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
    with api_conn.transaction():
        api_conn.execute(
            "SELECT set_config('dothi.roles', 'public,land_officer', true)"
        )
        assert _count(api_conn, "land_user") == 1
    assert _count(api_conn, "camera") == 0  # claims end with the transaction
    with api_conn.transaction():
        api_conn.execute("SELECT set_config('dothi.authenticating', 'on', true)")
        assert _count(api_conn, "app_user") == 1


def test_api_role_cannot_write_or_reach_the_owner(api_conn) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        api_conn.execute("DELETE FROM tree")
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        api_conn.execute("UPDATE app_user SET password_hash = 'y'")
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        api_conn.execute("CREATE TABLE intruder (x int)")
    granted = api_conn.execute(
        "SELECT has_function_privilege('dothi_api', 'bump_layer_version()', 'EXECUTE')"
    ).fetchone()
    assert granted == (False,)
    assert api_conn.execute("SELECT current_user").fetchone() == ("dothi_api",)
    assert _count(api_conn, "tree") == 0  # public layers stay readable
