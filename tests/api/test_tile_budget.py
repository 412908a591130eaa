"""The tile byte budget holds at the worst density: a tile of single features over
512 KB is drawn as the layer's overview, in a layer tile and in the dataset tile."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import morecantile
import psycopg
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from gis.db.urls import libpq_url
from gis.sql.tiles import TILE_BUDGET
from tests.api import principals
from tests.api.test_tiles import _mvt_layers

WMQ = morecantile.tms.get("WebMercatorQuad")
LON, LAT = 108.10, 10.93
SIDE = 150  # parcels per side: 22,500 parcels of 10 x 10 m, 15 m apart


@pytest.fixture(scope="module")
def dense(server_url: str, migrated_template: str) -> Iterator[tuple[TestClient, int]]:
    """A city of one block of 22,500 small parcels (a 2.2 km square)."""
    from tests.conftest import create_database, drop_database

    url = create_database(server_url, "dense_parcels", template=migrated_template)
    step = 15 / 111_320  # degrees of 15 m
    size = 10 / 111_320
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        conn.execute(
            "INSERT INTO land_parcel (geom, sheet_no, parcel_no, land_use) "
            "SELECT ST_Multi(ST_MakeEnvelope(%(x)s + i * %(s)s, %(y)s + j * %(s)s, "
            "%(x)s + i * %(s)s + %(d)s, %(y)s + j * %(s)s + %(d)s, 4326)), "
            "1 + i, 1 + j, 'ODT' "
            "FROM generate_series(0, %(n)s - 1) i, generate_series(0, %(n)s - 1) j",
            {
                "x": LON - SIDE * step / 2,
                "y": LAT - SIDE * step / 2,
                "s": step,
                "d": size,
                "n": SIDE,
            },
        )
        conn.execute("ANALYZE land_parcel")
    with TestClient(create_app(principals.settings(), database_url=url)) as c:
        yield c, SIDE * SIDE
    drop_database(server_url, "dense_parcels")


@pytest.mark.parametrize("z", [14, 15, 16])
def test_no_parcel_tile_outgrows_the_budget(
    dense: tuple[TestClient, int], tmp_path: Path, z: int
) -> None:
    c, _ = dense
    t = WMQ.tile(LON, LAT, z)
    r = c.get(f"/collections/land_parcels/tiles/WebMercatorQuad/{z}/{t.y}/{t.x}")
    assert r.status_code == 200
    assert 0 < len(r.content) <= TILE_BUDGET, len(r.content)
    features = _mvt_layers(r.content, tmp_path, z, t.x, t.y)["land_parcels"]["features"]
    kinds = {f["properties"].get("overview") for f in features}
    if z == 14:
        # ~9,000 parcels of single features would be ~700 KB: the grid instead,
        # counting every parcel of the tile
        assert kinds == {"grid"}
        assert sum(int(f["properties"]["count"]) for f in features) > 5_000
    else:
        assert kinds == {None}, z  # within the budget: single parcels, as ever


def test_the_dataset_tile_keeps_the_budget(dense: tuple[TestClient, int]) -> None:
    c, _ = dense
    t = WMQ.tile(LON, LAT, 14)
    r = c.get(f"/tiles/WebMercatorQuad/14/{t.y}/{t.x}")
    assert r.status_code == 200
    assert 0 < len(r.content) <= TILE_BUDGET
