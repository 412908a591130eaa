"""The database of the CQL2 tests: created once, loaded with the rows of support.py."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from gis.db.urls import libpq_url
from tests.conftest import create_database, drop_database
from tests.gis.cql2.support import load, table_rows


@pytest.fixture(scope="session")
def db(server_url: str, migrated_template: str) -> Iterator[psycopg.Connection[Any]]:
    """A database for every CQL2 test, with the rows of support.py, and one connection."""
    name = f"filters_{os.getpid()}"
    url = libpq_url(create_database(server_url, name, template=migrated_template))
    with psycopg.connect(url, autocommit=True) as conn:
        load(conn)
        conn.execute("SET statement_timeout = '5s'")
        yield conn
    drop_database(server_url, name)


@pytest.fixture(scope="session")
def parcels(db: psycopg.Connection[Any]) -> list[dict[str, Any]]:
    """Every parcel, fetched once for the Python oracle."""
    return table_rows(
        db,
        "SELECT id, ward_code, sheet_no, parcel_no, land_use, area_legal_m2, address,"
        " valid_from, valid_to, ST_AsBinary(geom) AS geom FROM land_parcel",
    )


@pytest.fixture(scope="session")
def reports(db: psycopg.Connection[Any]) -> list[dict[str, Any]]:
    """Every field report, fetched once for the Python oracle."""
    return table_rows(
        db,
        "SELECT id, category, status, received_at, resolved_at,"
        " ST_AsBinary(geom) AS geom FROM field_report",
    )
