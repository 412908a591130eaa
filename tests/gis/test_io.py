"""gis.io.import_file against a real PostGIS, with real open data from ../shared/data.

Every rejection test checks that the table is unchanged: an import is all or nothing.
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import psycopg
import pyogrio
import pytest
import shapely
from pyproj import Transformer

from gis.db.urls import libpq_url
from gis.errors import ImportRejectedError
from gis.io import ImportReport, RejectedRow, import_file
from layers import CATALOGUE
from tests.conftest import shared_data

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "io"
TREES_GPKG = "montpellier-street-trees/montpellier_trees_2014.gpkg"
LIGHTS_GPKG = "montpellier-street-lighting/montpellier_streetlight_supports_2013.gpkg"
ROADS_GPKG = "montpellier-roads-buildings/montpellier_roads_buildings.gpkg"
COMMUNES_GPKG = "vn-admin-boundaries-2009/south_central_communes_2009_with_codes.gpkg"
POI_GPKG = (
    "osm-hot-poi-south-central-vn/hotosm_vnm_poi_binhthuan_ninhthuan_binhphuoc.gpkg"
)
POWER_GPKG = "osm-power-infrastructure-south-central-vn/osm_power_south_central_vn.gpkg"
TREE_MAPPING = {
    "IDARBRE": "tree_code",
    "BOTANIQUE": "species_scientific",
    "HAUTEUR_M": "height_m",
    "CIRCONF_CM": "trunk_circumference_cm",
}
POI_MAPPING = {"name:en": "name_en", "addr:full": "address", "amenity": "subcategory"}
COMMUNE_MAPPING = {
    "gso_ward_code_2024": "code",
    "commune_vn": "name",
    "gso_district_code_2024": "parent_code",
    "gso_province_code": "province_code",
    "population": "population",
}
COMMUNE_DEFAULTS = {
    "level": "commune",
    # the 2009 file does not say xã / phường / thị trấn apart from the name prefix
    "unit_type": "xã/phường/thị trấn",
    "code_system": "124/2004/QĐ-TTg",
    "valid_from": "2009-04-01",
}


def rows(
    url: str, query: str, params: tuple[object, ...] = ()
) -> list[tuple[Any, ...]]:
    with psycopg.connect(libpq_url(url)) as conn:
        return conn.execute(query, params).fetchall()


def count(url: str, table: str) -> int:
    return int(rows(url, f"SELECT count(*) FROM {table}")[0][0])


def lonlat_bounds(url: str, table: str) -> tuple[float, float, float, float]:
    (b,) = rows(
        url,
        f"SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) "
        f"FROM (SELECT ST_Extent(geom) e FROM {table}) x",
    )
    return b


def known_tree_lonlat() -> tuple[float, float]:
    """Tree 248.10 (a Celtis australis) in lon/lat, transformed by pyproj."""
    src = pyogrio.read_dataframe(
        shared_data(TREES_GPKG), layer="street_trees", where="IDARBRE = '248.10'"
    )
    lon, lat = Transformer.from_crs(2154, 4326, always_xy=True).transform(
        src.geometry.x.iat[0], src.geometry.y.iat[0]
    )
    return float(lon), float(lat)


def trees_subset(tmp_path: Path) -> gpd.GeoDataFrame:
    """The 743 attributed Montpellier trees (EPSG:2154), as written to other formats."""
    df = pyogrio.read_dataframe(shared_data(TREES_GPKG), layer="street_trees")
    return df[df["BOTANIQUE"].notna()][[*TREE_MAPPING, "geometry"]].reset_index(
        drop=True
    )


# -- real GeoPackages into the city layers -----------------------------------------


def test_montpellier_trees_lambert93_with_mapping(db_url: str) -> None:
    layer = CATALOGUE["trees"]
    path = shared_data(TREES_GPKG)
    report = import_file(
        db_url, layer, path, src_layer="street_trees", mapping=TREE_MAPPING
    )

    assert report.rows_read == report.rows_imported == 23972
    assert report.rejected == ()
    assert report.source_crs == 2154 and not report.axes_swapped
    assert count(db_url, "tree") == 23972
    xmin, ymin, xmax, ymax = lonlat_bounds(db_url, "tree")
    assert 3.8 < xmin < xmax < 3.95 and 43.56 < ymin < ymax < 43.66
    assert rows(db_url, "SELECT DISTINCT source_crs FROM tree") == [(2154,)]
    # one known tree, against pyproj's own transformation (to ~1 cm)
    lon, lat = known_tree_lonlat()
    ((x, y, species, height, circ),) = rows(
        db_url,
        "SELECT ST_X(geom), ST_Y(geom), species_scientific, height_m, "
        "trunk_circumference_cm FROM tree WHERE tree_code = %s",
        ("248.10",),
    )
    assert (x, y) == pytest.approx((lon, lat), abs=1e-7)
    assert (species, float(height), circ) == ("Celtis australis", 10.0, 100)


def test_montpellier_street_lights(db_url: str) -> None:
    report = import_file(
        db_url,
        CATALOGUE["street_lights"],
        shared_data(LIGHTS_GPKG),
        mapping={"type_lante": "lamp_type"},
    )
    assert report.rows_imported == report.rows_read == 29969
    # status is NOT NULL with a database default: unmapped, the default fills it
    assert rows(db_url, "SELECT DISTINCT status FROM street_light") == [("on",)]
    assert count(db_url, "street_light WHERE lamp_type = 'LANTERNE'") == 22594
    xmin, ymin, xmax, ymax = lonlat_bounds(db_url, "street_light")
    assert 3.7 < xmin < xmax < 4.0 and 43.5 < ymin < ymax < 43.7


def test_montpellier_roads_promoted_to_multilinestring(db_url: str) -> None:
    report = import_file(
        db_url,
        CATALOGUE["roads"],
        shared_data(ROADS_GPKG),
        src_layer="street_centerlines",
        mapping={"LIB_OFF": "name"},
    )
    assert report.rows_imported == report.rows_read == 8011
    assert rows(db_url, "SELECT DISTINCT GeometryType(geom) FROM road") == [
        ("MULTILINESTRING",)
    ]
    assert count(db_url, "road WHERE name = 'Rue René Grousset'") >= 1
    assert ("LIB_OFF", "name") in report.columns


def test_vn_communes_with_mapping_and_defaults(db_url: str) -> None:
    report = import_file(
        db_url,
        CATALOGUE["admin_units"],
        shared_data(COMMUNES_GPKG),
        mapping=COMMUNE_MAPPING,
        defaults=COMMUNE_DEFAULTS,
    )
    # 13 communes of 2009 have no GSO code (dissolved or merged since): code is NOT NULL
    assert (report.rows_read, report.rows_imported, len(report.rejected)) == (
        302,
        289,
        13,
    )
    assert all(r.reason == "code: a value is required" for r in report.rejected)
    ((levels, systems, since, crs),) = rows(
        db_url,
        "SELECT array_agg(DISTINCT level), array_agg(DISTINCT code_system), "
        "array_agg(DISTINCT valid_from), array_agg(DISTINCT source_crs) FROM admin_unit",
    )
    assert (levels, systems, crs) == (["commune"], ["124/2004/QĐ-TTg"], [4326])
    assert [str(d) for d in since] == ["2009-04-01"]
    ((name, geom_type),) = rows(
        db_url,
        "SELECT name, GeometryType(geom) FROM admin_unit WHERE code = %s",
        ("22759",),
    )
    assert (name, geom_type) == ("Phường Kinh Dinh", "MULTIPOLYGON")


def test_vn_communes_twice_rejects_duplicates(db_url: str) -> None:
    layer, path = CATALOGUE["admin_units"], shared_data(COMMUNES_GPKG)
    import_file(db_url, layer, path, mapping=COMMUNE_MAPPING, defaults=COMMUNE_DEFAULTS)
    with pytest.raises(ImportRejectedError, match="already has a row"):
        import_file(
            db_url, layer, path, mapping=COMMUNE_MAPPING, defaults=COMMUNE_DEFAULTS
        )
    assert count(db_url, "admin_unit") == 289


def test_admin_units_without_required_columns_rejected(db_url: str) -> None:
    with pytest.raises(ImportRejectedError, match="needs a value for") as err:
        import_file(db_url, CATALOGUE["admin_units"], shared_data(COMMUNES_GPKG))
    assert {"code", "level", "unit_type", "code_system", "valid_from"} <= set(
        err.value.extra["columns"]
    )
    assert count(db_url, "admin_unit") == 0


def test_osm_pois_field_names_with_colons(db_url: str) -> None:
    report = import_file(
        db_url, CATALOGUE["pois"], shared_data(POI_GPKG), mapping=POI_MAPPING
    )
    assert report.rows_imported == report.rows_read == 3687
    # name, opening_hours, osm_id, source match columns by name
    assert {c for _, c in report.columns} >= {
        "name",
        "name_en",
        "address",
        "subcategory",
        "osm_id",
        "opening_hours",
    }
    assert count(db_url, "poi WHERE name_en IS NOT NULL") == 474
    assert count(db_url, "poi WHERE subcategory = 'restaurant'") == 473
    assert count(db_url, "poi WHERE address IS NOT NULL") == 3
    # category is NOT NULL with a default: unmapped rows get it
    assert rows(db_url, "SELECT DISTINCT category FROM poi") == [("other",)]
    assert any("name:vi" in w for w in report.warnings)  # left out, and said so


def test_power_lines_utm48n(db_url: str) -> None:
    report = import_file(
        db_url, CATALOGUE["power_lines"], shared_data(POWER_GPKG), src_layer="line"
    )
    assert report.rows_imported == report.rows_read == 790
    assert report.source_crs == 32648
    xmin, ymin, xmax, ymax = lonlat_bounds(db_url, "power_line")
    assert 105 < xmin < xmax < 110 and 10 < ymin < ymax < 13
    assert count(db_url, "power_line WHERE circuits = 2") == 134


def test_power_plants_mixed_geometries(db_url: str) -> None:
    report = import_file(
        db_url, CATALOGUE["power_lines"], shared_data(POWER_GPKG), src_layer="plant"
    )
    # 263 points and 85 multipolygons rejected; the 98 (closed) linestrings are lines
    assert (report.rows_read, report.rows_imported) == (446, 98)
    reasons = pd.Series([r.reason for r in report.rejected]).value_counts()
    assert reasons.to_dict() == {
        "Point geometry does not fit layer power_lines (MultiLineString)": 263,
        "MultiPolygon geometry does not fit layer power_lines (MultiLineString)": 85,
    }
    assert count(db_url, "power_line") == 98


# -- other formats, written from the real data ------------------------------------


@pytest.mark.parametrize("fmt", ["shp", "zip", "geojson", "csv-wkt"])
def test_formats(db_url: str, tmp_path: Path, fmt: str) -> None:
    df = trees_subset(tmp_path)
    if fmt == "shp":
        path = tmp_path / "trees.shp"
        df.to_file(path, engine="pyogrio")
    elif fmt == "zip":
        folder = tmp_path / "shp"
        folder.mkdir()
        df.to_file(folder / "arbres.shp", engine="pyogrio")
        path = tmp_path / "arbres.zip"
        with zipfile.ZipFile(path, "w") as zf:
            for f in folder.iterdir():
                zf.write(f, f"export/{f.name}")  # in a sub-folder, as zips often are
    elif fmt == "geojson":
        path = tmp_path / "trees.geojson"
        df.to_crs(4326).to_file(path, engine="pyogrio")
    else:
        path = tmp_path / "trees.csv"
        pd.DataFrame(df.drop(columns="geometry")).assign(
            wkt=df.geometry.to_wkt()
        ).to_csv(path, index=False)
    report = import_file(
        db_url,
        CATALOGUE["trees"],
        path,
        mapping=TREE_MAPPING,
        crs=2154 if fmt == "csv-wkt" else None,
    )
    assert report.rows_imported == report.rows_read == 743
    assert report.source_crs == (4326 if fmt == "geojson" else 2154)
    ((x, y),) = rows(
        db_url, "SELECT ST_X(geom), ST_Y(geom) FROM tree WHERE tree_code = '248.10'"
    )
    assert (x, y) == pytest.approx(known_tree_lonlat(), abs=1e-7)
    assert (
        count(db_url, "tree WHERE height_m = 10 AND species_scientific IS NOT NULL") > 0
    )


def test_csv_lonlat_assumes_wgs84(db_url: str, tmp_path: Path) -> None:
    pois = pyogrio.read_dataframe(shared_data(POI_GPKG))
    path = tmp_path / "poi.csv"
    pd.DataFrame(
        {
            "name": pois["name"],
            "Longitude": pois.geometry.x,
            "Latitude": pois.geometry.y,
        }
    ).to_csv(path, index=False)
    report = import_file(db_url, CATALOGUE["pois"], path)
    assert report.rows_imported == 3687 and report.source_crs == 4326
    assert any("EPSG:4326 (WGS 84) was assumed" in w for w in report.warnings)


def test_csv_latitude_first_is_swapped(db_url: str, tmp_path: Path) -> None:
    pois = pyogrio.read_dataframe(shared_data(POI_GPKG))
    path = tmp_path / "poi.csv"
    # columns called x/y, but x holds the latitude: obvious, since 108 is no latitude
    pd.DataFrame({"x": pois.geometry.y, "y": pois.geometry.x}).to_csv(path, index=False)
    report = import_file(db_url, CATALOGUE["pois"], path, crs=4326)
    assert report.axes_swapped and report.rows_imported == 3687
    assert any("longitude/latitude swapped" in w for w in report.warnings)
    xmin, ymin, xmax, ymax = lonlat_bounds(db_url, "poi")
    assert 105 < xmin < xmax < 110 and 10 < ymin < ymax < 13


def test_csv_vn2000_survey_table_xy_swapped(db_url: str) -> None:
    path = FIXTURES / "phan_thiet_poi_vn2000_9218_xy_swapped.csv"
    report = import_file(
        db_url,
        CATALOGUE["pois"],
        path,
        crs=9218,
        mapping={"Tên": "name", "Loại": "subcategory"},
    )
    assert report.rows_imported == 10 and report.axes_swapped
    assert any("Vietnamese survey convention" in w for w in report.warnings)
    expected = pd.read_csv(path, dtype={"osm_id": str})
    got = pd.DataFrame(
        rows(db_url, "SELECT osm_id, ST_X(geom), ST_Y(geom), source_crs FROM poi"),
        columns=["osm_id", "lon", "lat", "source_crs"],
    ).merge(expected, on="osm_id")
    assert len(got) == 10 and set(got.source_crs) == {9218}
    # millimetre coordinates, through EPSG:6960 and back: well under 1e-7 degrees
    np.testing.assert_allclose(got.lon, got.lon_wgs84, atol=1e-7)
    np.testing.assert_allclose(got.lat, got.lat_wgs84, atol=1e-7)


def test_csv_projected_without_crs_rejected(db_url: str) -> None:
    path = FIXTURES / "phan_thiet_poi_vn2000_9218_xy_swapped.csv"
    with pytest.raises(ImportRejectedError, match=r"has no CRS.*pass crs="):
        import_file(db_url, CATALOGUE["pois"], path)
    assert count(db_url, "poi") == 0


# -- file-level rejections: nothing written ---------------------------------------


@pytest.mark.parametrize("how", ["crs", "gpkg", "shp"])
def test_deprecated_vn2000_refused(db_url: str, tmp_path: Path, how: str) -> None:
    path = FIXTURES / "phan_thiet_poi_vn2000_9218_xy_swapped.csv"
    if how != "crs":
        pts = pd.read_csv(path)
        gdf = gpd.GeoDataFrame(
            pts[["osm_id"]], geometry=shapely.points(pts["Y"], pts["X"]), crs=6959
        )
        # a GeoPackage records the code; a Shapefile only an ESRI .prj definition
        path = tmp_path / f"labelled_6959.{how}"
        # GDAL would write the non-deprecated code unless told not to
        pyogrio.set_gdal_config_options({"OSR_USE_NON_DEPRECATED": "NO"})
        try:
            gdf.to_file(path, engine="pyogrio")
        finally:
            pyogrio.set_gdal_config_options({"OSR_USE_NON_DEPRECATED": None})
    with pytest.raises(ImportRejectedError, match="EPSG:6959") as err:
        import_file(db_url, CATALOGUE["pois"], path, crs=6959 if how == "crs" else None)
    assert "deprecated" in err.value.detail and "EPSG:5899" in err.value.detail
    assert err.value.extra["replacement"] == 5899
    assert count(db_url, "poi") == 0


def test_wrong_crs_rejected(db_url: str, tmp_path: Path) -> None:
    df = trees_subset(tmp_path)
    path = tmp_path / "trees.gpkg"
    df.to_file(path, engine="pyogrio")
    # Lambert-93 metres read as VN-2000 TM-3: nowhere near Vietnam, in either order
    with pytest.raises(ImportRejectedError, match=r"do not fit EPSG:9218.*Is the CRS"):
        import_file(db_url, CATALOGUE["trees"], path, crs=9218)
    assert count(db_url, "tree") == 0


@pytest.mark.parametrize(
    "kind", ["truncated.gpkg", "garbage.shp", "garbage.zip", "empty.csv"]
)
def test_unreadable_file_rejected(db_url: str, tmp_path: Path, kind: str) -> None:
    path = tmp_path / kind
    if kind == "truncated.gpkg":
        path.write_bytes(shared_data(POI_GPKG).read_bytes()[:8192])
    elif kind == "garbage.shp":
        path.write_bytes(b"\x00\x00\x27\x0a" + b"not a shapefile" * 20)
    elif kind == "garbage.zip":
        path.write_bytes(b"PK\x03\x04 this is not really a zip")
    else:
        path.write_text("")
    with pytest.raises(ImportRejectedError) as err:
        import_file(db_url, CATALOGUE["pois"], path)
    assert kind in err.value.detail and str(tmp_path) not in err.value.detail
    assert count(db_url, "poi") == 0


def test_unknown_mapping_column_rejected(db_url: str) -> None:
    with pytest.raises(ImportRejectedError, match="'nom' is not an importable") as err:
        import_file(
            db_url,
            CATALOGUE["pois"],
            shared_data(POI_GPKG),
            mapping={"name:vi": "nom"},
        )
    assert "name_en" in err.value.detail and "geom" not in err.value.detail
    assert count(db_url, "poi") == 0


def test_unknown_source_field_rejected(db_url: str) -> None:
    with pytest.raises(ImportRejectedError, match=r"no field 'name:fr'"):
        import_file(
            db_url,
            CATALOGUE["pois"],
            shared_data(POI_GPKG),
            mapping={"name:fr": "name_en"},
        )
    assert count(db_url, "poi") == 0


def test_wrong_geometry_type_everywhere_rejected(db_url: str) -> None:
    with pytest.raises(ImportRejectedError, match="none of its 3687 rows") as err:
        import_file(db_url, CATALOGUE["roads"], shared_data(POI_GPKG))
    assert "Point geometry does not fit layer roads" in err.value.detail
    assert count(db_url, "road") == 0


def test_multiple_layers_need_src_layer(db_url: str) -> None:
    with pytest.raises(ImportRejectedError, match="street_trees, remarkable_trees"):
        import_file(db_url, CATALOGUE["trees"], shared_data(TREES_GPKG))


def test_zip_with_several_datasets(db_url: str, tmp_path: Path) -> None:
    df = trees_subset(tmp_path)
    path = tmp_path / "two.zip"
    with zipfile.ZipFile(path, "w") as zf:
        for stem, part in (("north", df.head(10)), ("south", df.tail(20))):
            part.to_file(tmp_path / f"{stem}.shp", engine="pyogrio")
            for f in tmp_path.glob(f"{stem}.*"):
                zf.write(f, f.name)
    with pytest.raises(ImportRejectedError, match="src_layer: north, south"):
        import_file(db_url, CATALOGUE["trees"], path)
    report = import_file(db_url, CATALOGUE["trees"], path, src_layer="south")
    assert report.rows_imported == 20 and count(db_url, "tree") == 20


# -- row-level rejections and strict mode -----------------------------------------


def bad_height_csv(tmp_path: Path) -> Path:
    df = trees_subset(tmp_path).head(50)
    df = pd.DataFrame(df.drop(columns="geometry")).assign(
        x=df.geometry.x, y=df.geometry.y
    )
    df["HAUTEUR_M"] = df["HAUTEUR_M"].astype(object)
    df.loc[6, "HAUTEUR_M"] = "tall"  # row 7 of the file
    path = tmp_path / "trees.csv"
    df.to_csv(path, index=False)
    return path


def test_bad_value_rejects_the_row(db_url: str, tmp_path: Path) -> None:
    path = bad_height_csv(tmp_path)
    report = import_file(
        db_url, CATALOGUE["trees"], path, crs=2154, mapping=TREE_MAPPING
    )
    assert report.rows_imported == 49
    assert [tuple(r) for r in report.rejected] == [
        (7, "height_m: 'tall' is not a valid numeric(5,1)")
    ]
    assert count(db_url, "tree") == 49


def test_strict_aborts_on_one_bad_row(db_url: str, tmp_path: Path) -> None:
    path = bad_height_csv(tmp_path)
    with pytest.raises(ImportRejectedError, match=r"strict import: 1 of 50.*row 7"):
        import_file(
            db_url,
            CATALOGUE["trees"],
            path,
            crs=2154,
            mapping=TREE_MAPPING,
            strict=True,
        )
    assert count(db_url, "tree") == 0


def test_unknown_code_list_value_rejects_the_row(db_url: str, tmp_path: Path) -> None:
    (code,) = rows(db_url, "SELECT code FROM tree_category LIMIT 1")[0]
    path = tmp_path / "trees.csv"
    path.write_text(
        "lon,lat,category\n"
        f"108.10,10.93,{code}\n"
        "108.11,10.93,not-a-category\n"
        "108.12,10.93,\n"
    )
    report = import_file(db_url, CATALOGUE["trees"], path)
    assert report.rows_imported == 2
    assert report.rejected[0].row == 2
    assert "category: 'not-a-category' is not a known tree_category.code" in (
        report.rejected[0].reason
    )


def test_invalid_polygon_repaired_and_collapsed_rejected(
    db_url: str, tmp_path: Path
) -> None:
    path = tmp_path / "wards.csv"
    # a bow-tie (self-intersecting: repaired into two triangles), a polygon that is
    # only a line (nothing left after repair), and a plain square
    path.write_text(
        "code,name,wkt\n"
        '1,Bow,"POLYGON((108 10, 108.1 10.1, 108.1 10, 108 10.1, 108 10))"\n'
        '2,Flat,"POLYGON((108 10, 108.1 10, 108.2 10, 108 10))"\n'
        '3,Square,"POLYGON((108 10, 108.1 10, 108.1 10.1, 108 10.1, 108 10))"\n'
    )
    report = import_file(
        db_url,
        CATALOGUE["admin_units"],
        path,
        crs=4326,
        defaults={**COMMUNE_DEFAULTS, "code_system": "test"},
    )
    assert report.rows_imported == 2
    assert [tuple(r) for r in report.rejected] == [
        (2, "invalid geometry: no polygon left after ST_MakeValid")
    ]
    assert any("repaired with ST_MakeValid" in w for w in report.warnings)
    assert rows(
        db_url,
        "SELECT ST_NumGeometries(geom), ST_IsValid(geom) FROM admin_unit "
        "WHERE code = '1'",
    ) == [(2, True)]


def test_bad_default_rejected(db_url: str) -> None:
    with pytest.raises(ImportRejectedError, match="valid_from='first of April'"):
        import_file(
            db_url,
            CATALOGUE["admin_units"],
            shared_data(COMMUNES_GPKG),
            mapping=COMMUNE_MAPPING,
            defaults={**COMMUNE_DEFAULTS, "valid_from": "first of April"},
        )
    assert count(db_url, "admin_unit") == 0


def test_report_summary() -> None:
    report = ImportReport(
        "pois",
        "x.csv",
        None,
        9218,
        12,
        10,
        tuple(RejectedRow(i, "no geometry") for i in (1, 2)),
        ("X/Y swapped",),
        0.25,
    )
    text = report.summary()
    assert "read 12, imported 10, rejected 2" in text
    assert "row 1: no geometry" in text and "X/Y swapped" in text


def test_row_outside_the_crs_area_rejected(db_url: str, tmp_path: Path) -> None:
    survey = FIXTURES / "phan_thiet_poi_vn2000_9218_xy_swapped.csv"
    path = tmp_path / "survey.csv"
    # a typing slip in one row of the survey table: a northing of 12 105 m
    path.write_text(survey.read_text() + "11,Sai,cafe,12105.5,466940.2,1,0,0\n")
    report = import_file(db_url, CATALOGUE["pois"], path, crs=9218)
    assert report.axes_swapped and report.rows_imported == 10
    ((row, reason),) = report.rejected
    assert row == 11 and "outside the area of use of EPSG:9218" in reason


def test_crs_unknown_to_postgis_transformed_with_proj(
    db_url: str, tmp_path: Path
) -> None:
    rows(db_url, "DELETE FROM spatial_ref_sys WHERE srid = 2154 RETURNING srid")
    path = tmp_path / "trees.gpkg"
    trees_subset(tmp_path).to_file(path, engine="pyogrio")
    report = import_file(db_url, CATALOGUE["trees"], path, mapping=TREE_MAPPING)
    assert report.rows_imported == 743 and report.source_crs == 2154
    assert any("not in the database's spatial_ref_sys" in w for w in report.warnings)
    ((x, y),) = rows(
        db_url, "SELECT ST_X(geom), ST_Y(geom) FROM tree WHERE tree_code = '248.10'"
    )
    assert (x, y) == pytest.approx(known_tree_lonlat(), abs=1e-7)


@pytest.mark.parametrize("fmt", ["gpkg", "geojson", "csv"])
def test_timestamps_without_zone_are_city_time(
    db_url: str, tmp_path: Path, fmt: str
) -> None:
    """08:30 without a zone is 01:30 UTC (Asia/Ho_Chi_Minh) in every format; a
    written zone is kept, even in a column that mixes both (GDAL reads such a
    GeoJSON column as date-times and would make them all UTC)."""
    (category,) = rows(db_url, "SELECT code FROM report_category LIMIT 1")[0]
    df = gpd.GeoDataFrame(
        {
            "report_code": ["TZ-LOCAL", "TZ-UTC"],
            "category": [category, category],
            "description": ["đèn hỏng", "cây đổ"],
            "received_at": ["2026-07-01T08:30:00", "2026-07-01T08:30:00Z"],
        },
        geometry=[shapely.Point(108.1, 10.93), shapely.Point(108.1, 10.93)],
        crs=4326,
    )
    path = tmp_path / f"reports.{fmt}"
    if fmt == "csv":
        table = pd.DataFrame(df.drop(columns="geometry"))
        table.assign(lon=108.1, lat=10.93).to_csv(path, index=False)
    elif fmt == "gpkg":  # a DateTime field: one zone for the whole column
        df["received_at"] = pd.to_datetime(["2026-07-01T08:30:00"] * 2)
        df.to_file(path, engine="pyogrio")
        assert pyogrio.read_info(path)["dtypes"][3].startswith("datetime64")
    else:  # the strings as written: GDAL's GeoJSON driver makes them date-times
        df.to_file(path, engine="pyogrio")
        assert pyogrio.read_info(path)["dtypes"][3].startswith("datetime64")
    report = import_file(db_url, CATALOGUE["field_reports"], path)
    assert report.rows_imported == 2
    got = dict(
        rows(
            db_url,
            "SELECT report_code, to_char(received_at AT TIME ZONE 'UTC', "
            "'YYYY-MM-DD HH24:MI') FROM field_report",
        )
    )
    utc = "2026-07-01 01:30" if fmt == "gpkg" else "2026-07-01 08:30"
    assert got == {"TZ-LOCAL": "2026-07-01 01:30", "TZ-UTC": utc}
