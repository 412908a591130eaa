"""Tiles at every zoom: below a layer's ``minzoom`` an overview that counts every
feature, kept fresh by the database (migration 0013) as edits happen."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import morecantile
import psycopg
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from gis.db.urls import libpq_url
from layers import CATALOGUE
from tests.api import principals
from tests.api.test_tiles import _centre, _mvt_layers

WMQ = morecantile.tms.get("WebMercatorQuad")
TILED = sorted(
    k for k, la in CATALOGUE.items() if la.access.is_public and la.geometry_type
)
OVERVIEW_TABLES = {
    la.table.name: la.tiles.category or ""
    for la in CATALOGUE.values()
    if la.geometry_type and la.tiles.overview != "merge"
}


def _count(url: str, query: str, *args: Any) -> int:
    with psycopg.connect(libpq_url(url)) as conn:
        row = conn.execute(query, args).fetchone()
    assert row is not None
    return int(row[0])


@pytest.mark.parametrize("collection", TILED)
def test_every_zoom_has_a_tile_never_a_404(
    client: Any, city_url: str, collection: str
) -> None:
    table = CATALOGUE[collection].table.name
    empty = _count(city_url, f"SELECT count(*) FROM {table}") == 0
    # a point on a feature (the tile is not empty), or the city's centre
    lon, lat = (108.10, 10.93) if empty else _centre(client, collection)
    minzoom = CATALOGUE[collection].tiles.minzoom
    for z in range(23):
        t = WMQ.tile(lon, lat, z)
        r = client.get(
            f"/collections/{collection}/tiles/WebMercatorQuad/{z}/{t.y}/{t.x}"
        )
        # data at every zoom, the overview ones included; 204 only when empty
        expected = 204 if empty else 200
        assert r.status_code == expected, (collection, z, r.status_code, r.text[:200])
        assert len(r.content) <= 512 * 1024, (collection, z, len(r.content))
        if z < minzoom and not empty:
            assert r.headers["content-type"] == "application/vnd.mapbox-vector-tile"


@pytest.mark.parametrize("tms_id", ["WorldCRS84Quad", "VN2000TM3BinhThuan"])
def test_other_matrix_sets_have_overviews_too(client: Any, tms_id: str) -> None:
    tms = morecantile.tms.get("WorldCRS84Quad") if tms_id == "WorldCRS84Quad" else None
    lon, lat = _centre(client, "land_parcels")
    for z in (2, 5, 8):
        if tms is not None:
            t = tms.tile(lon, lat, z)
        else:
            from gis.tms import tile_matrix_sets

            t = tile_matrix_sets()[tms_id].tile(lon, lat, z)
        for layer in ("land_parcels", "trees", "roads", "admin_units"):
            r = client.get(f"/collections/{layer}/tiles/{tms_id}/{z}/{t.y}/{t.x}")
            assert r.status_code == 200, (tms_id, layer, z, r.text[:200])


def test_the_dataset_tile_at_the_city_extent_is_not_empty(client: Any) -> None:
    lon, lat = _centre(client, "land_parcels")
    for z in (8, 10, 11):
        t = WMQ.tile(lon, lat, z)
        r = client.get(f"/tiles/WebMercatorQuad/{z}/{t.y}/{t.x}")
        assert r.status_code == 200
        assert 0 < len(r.content) <= 512 * 1024


@pytest.mark.parametrize(
    ("collection", "kind"),
    [
        ("land_parcels", "grid"),
        ("trees", "cluster"),
        ("street_lights", "cluster"),
        ("planning_zones", "generalise"),
        ("admin_units", "generalise"),
        ("roads", "merge"),
    ],
)
def test_an_overview_counts_every_feature(
    client: Any, city_url: str, tmp_path: Path, collection: str, kind: str
) -> None:
    layer = CATALOGUE[collection]
    assert layer.tiles.overview == kind
    lon, lat = _centre(client, collection)
    z = min(6, layer.tiles.minzoom - 1)  # an overview; one tile holds the city
    t = WMQ.tile(lon, lat, z)
    r = client.get(f"/collections/{collection}/tiles/WebMercatorQuad/{z}/{t.y}/{t.x}")
    assert r.status_code == 200
    features = _mvt_layers(r.content, tmp_path, z, t.x, t.y)[collection]["features"]
    total = sum(int(f["properties"]["count"]) for f in features)
    table = layer.table.name
    assert total == _count(
        city_url, f"SELECT count(*) FROM {table} WHERE NOT ST_IsEmpty(geom)"
    )
    assert {f["properties"]["overview"] for f in features} <= {kind, "feature"}
    if layer.tiles.category:
        # the dominant category is a value of the layer's own column
        values = {
            r[0]
            for r in psycopg.connect(libpq_url(city_url))
            .execute(f"SELECT DISTINCT {layer.tiles.category}::text FROM {table}")
            .fetchall()
        }
        seen = {f["properties"].get(layer.tiles.category) for f in features}
        assert seen - {None} <= values
        assert seen - {None}


def test_the_overview_table_matches_the_layers(city_url: str) -> None:
    """What the triggers keep equals a recount from the tables."""
    for table in OVERVIEW_TABLES:
        kept = _count(
            city_url,
            "SELECT coalesce(sum(count), 0) FROM tile_overview WHERE table_name = %s",
            table,
        )
        rows = _count(
            city_url,
            f"SELECT count(*) FROM {table} WHERE NOT ST_IsEmpty(geom)",
        )
        assert kept == rows, table


SHAPE_TABLES = {
    la.table.name: (la.tiles.overview, la.tiles.category or "")
    for la in CATALOGUE.values()
    if la.geometry_type and la.tiles.overview in ("generalise", "merge")
}


def test_migration_0014_lists_the_catalogue_shapes() -> None:
    import importlib

    module = importlib.import_module(
        "migrations.versions.20261207_0014_overview_shapes"
    )
    assert module.TABLES == SHAPE_TABLES
    # its tables have no row-level security: they may hold public layers only
    by_table = {la.table.name: la for la in CATALOGUE.values()}
    assert all(by_table[t].access.is_public for t in module.TABLES)


def test_the_shape_tables_match_the_layers(city_url: str) -> None:
    """What the triggers of 0014 keep equals a recount from the tables."""
    filled = set()
    for table, (kind, _category) in SHAPE_TABLES.items():
        if kind == "generalise":
            kept = _count(
                city_url,
                "SELECT count(*) FROM tile_overview_shape WHERE table_name = %s",
                table,
            )
            rows = _count(
                city_url,
                f"SELECT count(*) FROM {table} WHERE NOT ST_IsEmpty(geom)"
                " AND overview_size_zoom(geom) <= 12",
            )
        else:
            kept = _count(
                city_url,
                "SELECT coalesce(sum(count), 0) FROM tile_overview_line"
                " WHERE table_name = %s",
                table,
            )
            rows = _count(
                city_url, f"SELECT count(*) FROM {table} WHERE NOT ST_IsEmpty(geom)"
            )
        assert kept == rows, table
        filled |= {table} if rows else set()
    # the demo city without open data has no power lines
    assert filled >= {"admin_unit", "planning_zone", "road"}


def _overview_features(
    c: TestClient, collection: str, lon: float, lat: float, z: int
) -> list[dict[str, Any]]:
    import tempfile

    t = WMQ.tile(lon, lat, z)
    r = c.get(f"/collections/{collection}/tiles/WebMercatorQuad/{z}/{t.y}/{t.x}")
    assert r.status_code in (200, 204), r.text[:200]
    if r.status_code == 204:
        return []
    with tempfile.TemporaryDirectory() as d:
        found = _mvt_layers(r.content, Path(d), z, t.x, t.y)
    return list(found[collection]["features"]) if collection in found else []


def test_line_edits_show_in_the_merged_overview(edited: tuple[TestClient, str]) -> None:
    c, url = edited
    a, b = (108.10, 10.93), (108.40, 11.20)  # in different zoom-12 cells
    line = (
        "ST_Multi(ST_SetSRID(ST_MakeLine("
        "ST_MakePoint(%s, %s), ST_MakePoint(%s, %s)), 4326))"
    )
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        conn.execute(
            f"INSERT INTO road (geom, road_class) SELECT {line}, 'arterial' "
            "FROM generate_series(1, 3)",
            (a[0], a[1], a[0] + 0.01, a[1]),
        )

    def counted(lon: float, lat: float, z: int) -> dict[str | None, int]:
        features = _overview_features(c, "roads", lon, lat, z)
        assert all(f["properties"]["overview"] == "merge" for f in features)
        return {
            f["properties"].get("road_class"): int(f["properties"]["count"])
            for f in features
        }

    for z in (4, 8):
        assert counted(*a, z) == {"arterial": 3}
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        conn.execute(
            f"UPDATE road SET geom = {line} WHERE id = (SELECT min(id) FROM road)",
            (b[0], b[1], b[0] + 0.01, b[1]),
        )
        conn.execute(
            "UPDATE road SET road_class = 'local' WHERE id = (SELECT max(id) FROM road)"
        )
        # a change of neither the geometry nor the class re-merges nothing
        conn.execute("UPDATE road SET name = 'Trần Hưng Đạo'")
    assert counted(*a, 9) == {"arterial": 1, "local": 1}
    assert counted(*b, 9) == {"arterial": 1}
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        conn.execute("DELETE FROM road WHERE road_class = 'local'")
    assert counted(*a, 9) == {"arterial": 1}
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        conn.execute("TRUNCATE road CASCADE")
        left = conn.execute(
            "SELECT count(*) FROM tile_overview_line WHERE table_name = 'road'"
        ).fetchone()
    assert left == (0,)
    assert counted(*a, 9) == {}


def test_polygon_edits_show_in_the_generalised_overview(
    edited: tuple[TestClient, str],
) -> None:
    c, url = edited
    lon, lat = 108.10, 10.93
    zone = "ST_Multi(ST_Buffer(ST_SetSRID(ST_MakePoint(%s, %s), 4326), %s))"
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        big = conn.execute(
            "INSERT INTO planning_zone (geom, zone_code, plan_name, zone_function)"
            f" VALUES ({zone}, 'Z-BIG', 'plan', 'residential') RETURNING id",
            (lon, lat, 0.05),
        ).fetchone()
        small = conn.execute(
            "INSERT INTO planning_zone (geom, zone_code, plan_name, zone_function)"
            f" VALUES ({zone}, 'Z-SMALL', 'plan', 'residential') RETURNING id",
            (lon + 0.01, lat, 0.00001),
        ).fetchone()
    assert big is not None and small is not None

    def seen(z: int) -> tuple[int, int]:
        """Features drawn as themselves, and features counted in all."""
        features = _overview_features(c, "planning_zones", lon, lat, z)
        kinds = [f["properties"]["overview"] for f in features]
        total = sum(int(f["properties"]["count"]) for f in features)
        return kinds.count("feature"), total

    # a 10 km zone is drawn as itself at zoom 8; the 2 m one only counted
    assert seen(8) == (1, 2)
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        conn.execute(
            f"UPDATE planning_zone SET geom = {zone} WHERE id = %s",
            (lon, lat, 0.00001, big[0]),
        )
    assert seen(8) == (0, 2)  # shrunk below a pixel: counted, not drawn
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        conn.execute("DELETE FROM planning_zone WHERE id = %s", (small[0],))
        shapes = conn.execute(
            "SELECT count(*) FROM tile_overview_shape WHERE table_name = "
            "'planning_zone'"
        ).fetchone()
    assert shapes == (0,)
    assert seen(8) == (0, 1)


PYRAMID_DIFF = """
    SELECT count(*) FROM (
        (SELECT table_name, g.z, cx / g.f, cy / g.f, category, size_zoom, sum(count)
         FROM tile_overview CROSS JOIN (VALUES (10, 4), (8, 16), (6, 64), (4, 256))
         g(z, f) GROUP BY 1, 2, 3, 4, 5, 6 HAVING sum(count) > 0
         EXCEPT
         SELECT table_name, grid_zoom, cx, cy, category, size_zoom, count
         FROM tile_overview_pyramid)
        UNION ALL
        (SELECT table_name, grid_zoom, cx, cy, category, size_zoom, count
         FROM tile_overview_pyramid
         EXCEPT
         SELECT table_name, g.z, cx / g.f, cy / g.f, category, size_zoom, sum(count)
         FROM tile_overview CROSS JOIN (VALUES (10, 4), (8, 16), (6, 64), (4, 256))
         g(z, f) GROUP BY 1, 2, 3, 4, 5, 6)) d
"""


def test_the_pyramid_sums_the_grid(city_url: str) -> None:
    """Every cell of every coarser grid holds the sum of the 152 m cells under it."""
    assert _count(city_url, "SELECT count(*) FROM tile_overview_pyramid") > 0
    assert _count(city_url, PYRAMID_DIFF) == 0


def test_migration_lists_the_catalogue_overviews() -> None:
    import importlib

    module = importlib.import_module("migrations.versions.20261207_0013_tile_overviews")
    assert module.TABLES == OVERVIEW_TABLES


@pytest.fixture
def edited(db_url: str) -> Iterator[tuple[TestClient, str]]:
    with TestClient(create_app(principals.settings(), database_url=db_url)) as c:
        yield c, db_url


def _tree_count_at(c: TestClient, lon: float, lat: float, z: int) -> int:
    t = WMQ.tile(lon, lat, z)
    r = c.get(f"/collections/trees/tiles/WebMercatorQuad/{z}/{t.y}/{t.x}")
    assert r.status_code in (200, 204)
    if r.status_code == 204:
        return 0
    return _count_in_mvt(r.content)


def _count_in_mvt(data: bytes) -> int:
    """The sum of ``count`` in a one-layer MVT, read by PostGIS-free means: GDAL."""
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        layers = _mvt_layers(data, Path(d), 0, 0, 0)
    return sum(int(f["properties"]["count"]) for f in layers["trees"]["features"])


def test_edits_show_at_every_overview_zoom(edited: tuple[TestClient, str]) -> None:
    c, url = edited
    a, b = (108.10, 10.93), (108.40, 11.20)  # two places a z10 tile apart
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        conn.execute(
            "INSERT INTO tree (geom) SELECT ST_SetSRID(ST_MakePoint(%s, %s), 4326) "
            "FROM generate_series(1, 5)",
            a,
        )
    for z in (2, 4, 6, 8, 10, 12, 14):  # every grid of the pyramid, and 0013's
        assert _tree_count_at(c, *a, z) == 5
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        conn.execute(
            "UPDATE tree SET geom = ST_SetSRID(ST_MakePoint(%s, %s), 4326) "
            "WHERE id IN (SELECT id FROM tree ORDER BY id LIMIT 2)",
            b,
        )
        conn.execute("DELETE FROM tree WHERE id = (SELECT max(id) FROM tree)")
    assert _tree_count_at(c, *a, 10) == 2
    assert _tree_count_at(c, *b, 10) == 2
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        conn.execute("TRUNCATE tree CASCADE")
        left = conn.execute(
            "SELECT count(*) FROM tile_overview WHERE table_name = 'tree'"
        ).fetchone()
    assert left == (0,)
    assert _tree_count_at(c, *a, 10) == 0
    # the pyramid followed every step, the truncate included
    assert _count(url, PYRAMID_DIFF) == 0


def test_the_api_role_cannot_write_the_overview(db_url: str) -> None:
    with psycopg.connect(libpq_url(db_url)) as conn:
        conn.execute("SET ROLE dothi_api")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("DELETE FROM tile_overview")


def test_tilejson_says_which_zooms_are_overviews(client: Any) -> None:
    tj = client.get("/collections/land_parcels/tiles/WebMercatorQuad?f=tilejson").json()
    assert tj["minzoom"] == 0
    (vl,) = tj["vector_layers"]
    assert vl["minzoom"] == 0
    assert vl["dothi:featuresFromZoom"] == CATALOGUE["land_parcels"].tiles.minzoom
    assert vl["dothi:overview"]["kind"] == "grid"
    assert "count" in vl["fields"]


def test_zoom_rules_follow_the_scale_in_every_matrix_set(client: Any) -> None:
    """Found in review: a VN-2000 tile at 1:3,571 (its zoom 12) was drawn as a
    zoom-12 overview grid; it is the Web Mercator zoom 17 of its scale."""
    from gis.tms import level_of, tile_matrix_sets

    assert level_of("WebMercatorQuad", 13) == 13
    assert level_of("VN2000TM3BinhThuan", 12) == 17
    lon, lat = _centre(client, "land_parcels")
    t = tile_matrix_sets()["VN2000TM3BinhThuan"].tile(lon, lat, 12)
    r = client.get(f"/collections/land_parcels/tiles/VN2000TM3BinhThuan/12/{t.y}/{t.x}")
    assert r.status_code == 200
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        layer = _mvt_layers(r.content, Path(d), 12, t.x, t.y)["land_parcels"]
    props = [f["properties"] for f in layer["features"]]
    assert props and all("overview" not in p for p in props)  # single parcels
    assert all("parcel_no" in p for p in props)


def test_camera_cells_follow_the_cameras_read_grant(city_url: str) -> None:
    """Found in review: the overview showed the API role where cameras are."""
    owner = _count(
        city_url, "SELECT count(*) FROM tile_overview WHERE table_name = 'camera'"
    )
    assert owner > 0
    with psycopg.connect(libpq_url(city_url)) as conn:
        conn.execute("SET ROLE dothi_api")
        seen = conn.execute(
            "SELECT count(*) FILTER (WHERE table_name = 'camera'), "
            "count(*) FILTER (WHERE table_name = 'tree') FROM tile_overview"
        ).fetchone()
        assert seen is not None
        assert seen[0] == 0 and seen[1] > 0
        conn.execute("SELECT set_config('dothi.roles', 'ioc_operator', false)")
        row = conn.execute(
            "SELECT count(*) FROM tile_overview WHERE table_name = 'camera'"
        ).fetchone()
    assert row == (owner,)


def test_an_update_of_other_columns_leaves_the_overview_alone(db_url: str) -> None:
    with psycopg.connect(libpq_url(db_url), autocommit=True) as conn:
        conn.execute(
            "INSERT INTO tree (geom, health) "
            "VALUES (ST_SetSRID(ST_MakePoint(108.1, 10.93), 4326), 'good')"
        )
        before = conn.execute("SELECT xmin::text, * FROM tile_overview").fetchall()
        conn.execute("UPDATE tree SET health = 'poor'")
        after = conn.execute("SELECT xmin::text, * FROM tile_overview").fetchall()
        assert after == before  # not even rewritten (same row versions)
        conn.execute("UPDATE tree SET category = NULL, geom = ST_SetSRID("
                     "ST_MakePoint(108.3, 11.1), 4326)")  # fmt: skip
        moved = conn.execute("SELECT cx, cy, count FROM tile_overview").fetchall()
    assert len(moved) == 1 and moved[0][2] == 1
    assert moved[0][:2] != before[0][2:4]
