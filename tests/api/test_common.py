"""Landing page, conformance, collections, OpenAPI; hidden layers are absent."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from openapi_spec_validator import validate

from api.app import create_app
from api.deps import get_principal
from gis.principal import Principal
from gis.settings import Settings
from layers import CATALOGUE

PUBLIC = sorted(k for k, v in CATALOGUE.items() if v.access.is_public)


def test_landing_links(client: Any) -> None:
    r = client.get("/")
    assert r.status_code == 200
    rels = {link["rel"] for link in r.json()["links"]}
    assert {"self", "service-desc", "conformance", "data"} <= rels


def test_conformance_declares_features_core_and_crs(client: Any) -> None:
    conf = client.get("/conformance").json()["conformsTo"]
    assert "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core" in conf
    assert "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs" in conf


def test_anonymous_sees_public_layers_only(client: Any) -> None:
    r = client.get("/collections")
    assert r.status_code == 200
    ids = [c["id"] for c in r.json()["collections"]]
    assert sorted(ids) == PUBLIC
    assert "cameras" not in r.text
    assert "camera" not in client.get("/api").text.lower()


@pytest.mark.parametrize(
    "path",
    [
        "/collections/cameras",
        "/collections/cameras/items",
        "/collections/cameras/items/1",
        "/collections/no_such_layer",
    ],
)
def test_hidden_or_unknown_collection_is_404(client: Any, path: str) -> None:
    r = client.get(path)
    assert r.status_code == 404
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["code"] == "NotFound"


def test_collection_metadata(client: Any) -> None:
    doc = client.get("/collections/land_parcels").json()
    assert doc["storageCrs"] == "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
    assert "http://www.opengis.net/def/crs/EPSG/0/9218" in doc["crs"]
    xmin, ymin, xmax, ymax = doc["extent"]["spatial"]["bbox"][0]
    assert 107.9 < xmin < xmax < 108.4
    assert 10.7 < ymin < ymax < 11.1
    assert any(lk["rel"] == "items" for lk in doc["links"])


def test_language_follows_accept_language_and_lang(client: Any) -> None:
    vi = client.get("/collections/trees", headers={"Accept-Language": "vi"}).json()
    en = client.get("/collections/trees", headers={"Accept-Language": "en-GB"}).json()
    assert vi["title"] == "Cây xanh"
    assert en["title"] == "Trees"
    assert client.get("/collections/trees?lang=en").json()["title"] == "Trees"
    assert client.get("/collections/trees?lang=fr").status_code == 400


def test_html_pages(client: Any) -> None:
    for path in ("/", "/collections", "/collections/trees", "/conformance"):
        r = client.get(path, headers={"Accept": "text/html"})
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/html")
    assert "Cây xanh" in client.get("/collections?f=html").text


def test_unsupported_format_is_406(client: Any) -> None:
    r = client.get("/collections?f=xml")
    assert r.status_code == 406
    assert r.json()["code"] == "InvalidParameterValue"
    assert (
        client.get("/collections", headers={"Accept": "image/png"}).status_code == 406
    )


def test_unknown_parameter_is_400(client: Any) -> None:
    r = client.get("/collections?foo=bar")
    assert r.status_code == 400
    assert "foo" in r.json()["detail"]


def test_openapi_is_valid_30(client: Any) -> None:
    doc = client.get("/api").json()
    assert doc["openapi"].startswith("3.0")
    validate(doc)
    ops = [op["operationId"] for p in doc["paths"].values() for op in p.values()]
    assert len(ops) == len(set(ops))
    items = doc["paths"]["/collections/land_parcels/items"]["get"]["parameters"]
    names = {p.get("name") for p in items} | {
        p.get("$ref", "").split("/")[-1] for p in items
    }
    assert {"limit", "bbox", "datetime", "crs", "bbox-crs", "ward_code"} <= names
    limit = doc["components"]["parameters"]["limit"]["schema"]
    assert (limit["default"], limit["maximum"]) == (10, 10_000)


@pytest.fixture
def admin_client(city_url: str) -> Iterator[Any]:
    app = create_app(Settings(), database_url=city_url)
    app.dependency_overrides[get_principal] = lambda: Principal(
        "admin", frozenset({"public", "admin"})
    )
    with TestClient(app) as c:
        yield c


def test_admin_sees_cameras(admin_client: Any) -> None:
    ids = [c["id"] for c in admin_client.get("/collections").json()["collections"]]
    assert "cameras" in ids
    r = admin_client.get("/collections/cameras/items?limit=1")
    assert r.status_code == 200
    assert r.json()["features"][0]["properties"]["camera_type"] in ("PTZ", "fixed")


def test_queryables_sortables_schema(client: Any) -> None:
    q = client.get("/collections/land_parcels/queryables")
    assert q.headers["content-type"] == "application/schema+json"
    doc = q.json()
    assert doc["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert doc["$id"].endswith("/collections/land_parcels/queryables")
    assert doc["properties"]["geometry"]["format"] == "geometry-multipolygon"
    assert doc["properties"]["sheet_no"]["type"] == "integer"
    assert doc["properties"]["area_legal_m2"]["type"] == "number"
    assert doc["properties"]["valid_from"]["format"] == "date"
    rels = {lk["rel"] for lk in client.get("/collections/land_parcels").json()["links"]}
    assert "http://www.opengis.net/def/rel/ogc/1.0/queryables" in rels
    sortables = client.get("/collections/land_parcels/sortables").json()
    assert "geometry" not in sortables["properties"]
    schema = client.get("/collections/land_parcels/schema").json()
    assert schema["properties"]["id"]["x-ogc-role"] == "id"
    # a camera's stream is personal data: absent for a role without that right
    assert client.get("/collections/cameras/queryables").status_code == 404


def test_openapi_lists_the_writes_a_caller_may_make(city_url: str) -> None:
    from tests.api.principals import bearer, settings

    with TestClient(create_app(settings(), database_url=city_url)) as c:
        anonymous = c.get("/api").json()
        crew = c.get("/api", headers=bearer("tree_crew")).json()
        admin = c.get("/api", headers=bearer("admin")).json()
    validate(crew)
    validate(admin)
    trees = "/collections/trees/items"
    assert "post" not in anonymous["paths"][trees]
    assert "post" in crew["paths"][trees]
    assert {"put", "patch", "delete"} <= set(crew["paths"][trees + "/{featureId}"])
    assert "post" not in crew["paths"]["/collections/land_parcels/items"]
    assert "post" in admin["paths"]["/collections/land_parcels/items"]
    assert "/collections/audit_log/items" not in admin["paths"]  # the auditor's only
