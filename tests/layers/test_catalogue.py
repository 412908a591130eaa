"""The catalogue contract: every layer has its table, index, style and queryables."""

from __future__ import annotations

import importlib
import json
import pkgutil

import psycopg
import pytest

import layers
from gis.db.urls import libpq_url
from gis.layer import VectorLayer
from layers import CATALOGUE, LAYERS, STYLES_DIR


def test_catalogue_has_every_city_layer() -> None:
    expected = {
        "admin_units", "land_parcels", "planning_zones", "street_lights",
        "lighting_cabinets", "trees", "env_stations", "env_observations", "cameras",
        "field_reports", "roads", "pois", "power_lines", "land_dossiers",
    }  # fmt: skip
    assert expected <= set(CATALOGUE)


def test_every_layer_module_is_in_the_catalogue() -> None:
    # LAYERS is written by hand: a module that declares a LAYER the list forgets
    # would be a table with no collection
    declared: dict[str, VectorLayer] = {}
    for info in pkgutil.iter_modules(layers.__path__):
        module = importlib.import_module(f"layers.{info.name}")
        layer = getattr(module, "LAYER", None)
        if isinstance(layer, VectorLayer):
            declared[info.name] = layer
    listed = {id(layer) for layer in LAYERS}
    forgotten = sorted(
        name for name, layer in declared.items() if id(layer) not in listed
    )
    assert not forgotten, f"layer modules missing from layers.LAYERS: {forgotten}"
    assert len(declared) == len(LAYERS) == len(CATALOGUE)


@pytest.mark.parametrize("layer_id", sorted(CATALOGUE))
def test_layer_contract(layer_id: str, db_url: str) -> None:
    layer = CATALOGUE[layer_id]
    with psycopg.connect(libpq_url(db_url)) as conn:
        cols = {
            r[0]
            for r in conn.execute(
                "SELECT column_name FROM information_schema.columns "
                "WHERE table_name = %s",
                (layer.table.name,),
            )
        }
        assert {f.name for f in layer.fields if not f.derived} <= cols
        if layer.geometry_type:
            srid, gtype = conn.execute(
                "SELECT srid, type FROM geometry_columns WHERE f_table_name = %s",
                (layer.table.name,),
            ).fetchone()
            assert srid == 4326
            assert gtype == layer.geometry_type.upper()
            gist = conn.execute(
                "SELECT count(*) FROM pg_indexes WHERE tablename = %s "
                "AND indexdef ILIKE '%%gist%%(geom)%%'",
                (layer.table.name,),
            ).fetchone()
            assert gist == (1,)
    style = json.loads((STYLES_DIR / layer_id / "style.json").read_text())
    assert style["layer"] == layer_id
    assert style["title"]["vi"] and style["title"]["en"]
    assert any(f.queryable for f in layer.fields)
    assert layer.title.vi != layer.title.en or layer_id == "pois"


def test_personal_data_is_not_in_public_layers() -> None:
    # land users, certificates and reporter contacts are tables, never collections
    tables = {layer.table.name for layer in CATALOGUE.values()}
    assert not {"land_user", "land_certificate", "field_report_contact"} & tables
    assert not CATALOGUE["cameras"].access.is_public
