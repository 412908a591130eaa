"""Migrations: upgrade -> downgrade -> upgrade, no drift, VN-2000 and code lists."""

from __future__ import annotations

import psycopg
from alembic import command
from alembic.util.exc import CommandError

from gis.crs import VN2000_SRIDS
from gis.db.migrate import alembic_config
from gis.db.urls import libpq_url
from migrations import MIGRATIONS_DIR
from tests.conftest import create_database, drop_database


def _tables(url: str) -> set[str]:
    with psycopg.connect(libpq_url(url)) as conn:
        rows = conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
        ).fetchall()
    return {r[0] for r in rows}


def test_upgrade_downgrade_upgrade(server_url: str) -> None:
    url = create_database(server_url, "mig_cycle")
    cfg = alembic_config(url, MIGRATIONS_DIR)
    command.upgrade(cfg, "head")
    full = _tables(url)
    assert {"land_parcel", "land_user", "land_certificate", "camera", "tree"} <= full
    command.downgrade(cfg, "base")
    assert _tables(url) - {"spatial_ref_sys", "alembic_version"} == set()
    with psycopg.connect(libpq_url(url)) as conn:
        left = conn.execute(
            "SELECT count(*) FROM spatial_ref_sys WHERE srid BETWEEN 9205 AND 9218"
        ).fetchone()
    assert left == (0,)  # only what 0002 added is removed: PostGIS lacks these
    command.upgrade(cfg, "head")
    assert _tables(url) == full
    drop_database(server_url, "mig_cycle")


def test_models_match_migrations(db_url: str) -> None:
    cfg = alembic_config(db_url, MIGRATIONS_DIR)
    try:
        command.check(cfg)
    except CommandError as exc:  # pragma: no cover - the failure message is the point
        raise AssertionError(f"layers/ and migrations/ differ: {exc}") from exc


def test_vn2000_crs_come_from_proj(db_url: str) -> None:
    with psycopg.connect(libpq_url(db_url)) as conn:
        rows = dict(
            conn.execute(
                "SELECT srid, auth_name || ':' || auth_srid FROM spatial_ref_sys "
                "WHERE srid = ANY(%s)",
                (list(VN2000_SRIDS),),
            ).fetchall()
        )
        assert set(rows) == set(VN2000_SRIDS)
        assert all(v == f"EPSG:{k}" for k, v in rows.items())
        # Phan Thiết in VN-2000 / TM-3 108°30′ (EPSG:9218) through EPSG:6960
        x, y = conn.execute(
            "SELECT ST_X(g), ST_Y(g) FROM ST_Transform("
            "ST_SetSRID(ST_MakePoint(108.10, 10.93), 4326), 9218) g"
        ).fetchone()
    from pyproj import Transformer

    ex, ey = Transformer.from_crs(4326, 9218, always_xy=True).transform(108.10, 10.93)
    assert abs(x - ex) < 0.01
    assert abs(y - ey) < 0.01
    assert abs(x - 456084.03) < 0.05  # the sample easting in domain-vn.md


def test_code_lists_are_data(db_url: str) -> None:
    with psycopg.connect(libpq_url(db_url)) as conn:
        counts = {
            t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
            for t in (
                "land_use_type",
                "report_category",
                "tree_category",
                "aqi_band",
                "env_parameter",
            )
        }
        odt = conn.execute(
            "SELECT name_vi FROM land_use_type WHERE code = 'ODT'"
        ).fetchone()
        pm25 = conn.execute(
            "SELECT limit_24h FROM env_parameter WHERE code = 'pm25'"
        ).fetchone()
    assert all(n > 0 for n in counts.values()), counts
    assert counts["aqi_band"] == 6
    assert odt == ("Đất ở tại đô thị",)
    assert float(pm25[0]) == 45.0  # QCVN 05:2023 from 2026-01-01
