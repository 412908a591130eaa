"""Schemathesis over the whole OpenAPI document, anonymous and signed in.

Every operation the document lists for the caller is fuzzed with requests that fit
it (positive) and requests that do not (negative), against a fresh small demo city
so that the admin's creates, replaces, updates and deletes change nothing shared.
Each answer must not be a 5xx, must be a status the document lists for the
operation, in a media type it lists, with a body and headers that match it.

``DOTHI_FUZZ_EXAMPLES`` (examples per operation, default 48; a third as many that do
not fit) makes a longer run, e.g. ``DOTHI_FUZZ_EXAMPLES=300 uv run pytest
tests/api/test_fuzz_openapi.py``.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from openapi_schema_validator import OAS30Validator
from openapi_spec_validator import validate
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.python import asgi
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from api.app import create_app
from api.openapi import build_openapi
from auth.api_keys import create_api_key
from gis.crs import CRS84
from gis.db.urls import libpq_url
from gis.principal import ANONYMOUS, Principal
from gis.settings import LimitSettings, Settings
from tests.conftest import create_database, drop_database

DEFAULT_EXAMPLES = 48  # about 10,600 cases
EXAMPLES = int(os.environ.get("DOTHI_FUZZ_EXAMPLES", DEFAULT_EXAMPLES))
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
# the bar for the full run, both callers together
MIN_CASES = 10_000


def into_vietnam(case: Any) -> Any:
    """Move a positive case's CRS84 positions into Vietnam.

    OpenAPI 3.0's JSON Schema has no tuples, so the document can say that a position
    is two numbers inside Vietnam but not that the first is a longitude in 102-118
    and the second a latitude in 6-24; without this nearly every generated geometry
    is refused as outside the country and the writes behind it never run.
    """
    geometry = case.body.get("geometry") if isinstance(case.body, dict) else None
    crs = (case.headers or {}).get("Content-Crs", CRS84)
    if isinstance(geometry, dict) and "coordinates" in geometry and crs == CRS84:
        geometry["coordinates"] = _moved(geometry["coordinates"])
    return case


def _moved(value: Any) -> Any:
    if not isinstance(value, list):
        return value
    if len(value) == 2 and all(type(v) in (int, float) for v in value):
        x, y = value
        return [102 + abs(x) % 16, 6 + abs(y) % 18]
    return [_moved(v) for v in value]


@pytest.fixture(scope="module")
def fuzz_city(server_url: str, migrated_template: str) -> Iterator[str]:
    """A fresh small demo city that the signed-in run may write to."""
    from dothi.demo import build_demo

    name = f"fuzz_{os.getpid()}"
    url = create_database(server_url, name, template=migrated_template)
    build_demo(url, seed=0.42, scale=0.02, open_data=None)
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        conn.execute("ANALYZE")
    yield url
    asgi.shutdown_lifespans()  # the apps' pools, before their database goes
    drop_database(server_url, name)


@pytest.fixture(scope="module")
def app(fuzz_city: str) -> Any:
    # limits far away, so that a 429 never hides what a request would have got
    limits = LimitSettings(anonymous_rate_per_s=1_000_000, anonymous_burst=1_000_000)
    return create_app(Settings(limits=limits), database_url=fuzz_city)


@pytest.fixture(scope="module")
def totals() -> Counter[str]:
    """Cases run by each caller."""
    return Counter()


FUZZ_SETTINGS = {
    # requests that do not fit the document cost schemathesis three times as much
    # to make, and mostly meet the same checks: a third as many of them
    mode: settings(
        max_examples=max(1, examples),
        derandomize=True,  # the same cases on every run
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate, Phase.shrink],
        # slow, filtered and large data are the point here
        suppress_health_check=list(HealthCheck),
    )
    for mode, examples in (
        (GenerationMode.POSITIVE, EXAMPLES),
        (GenerationMode.NEGATIVE, EXAMPLES // 3),
    )
}


def fuzz(
    app: Any, headers: dict[str, str], methods: set[str]
) -> tuple[Counter[str], list[str]]:
    """The operations with ``methods`` of the caller's document, in both modes:
    answers by method and status, and the failures (one per operation and mode,
    shrunk)."""
    schema = schemathesis.openapi.from_asgi("/api", app, headers=headers)
    answers: Counter[str] = Counter()
    failures: list[str] = []
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.method.upper() not in methods:
            continue
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            strategy = operation.as_strategy(generation_mode=mode)
            if mode == GenerationMode.POSITIVE:
                strategy = strategy.map(into_vietnam)

            @FUZZ_SETTINGS[mode]
            @given(case=strategy)
            def run(case: Any) -> None:
                response = case.call(headers=headers)
                answers[f"{case.method} {response.status_code}"] += 1
                case.validate_response(response, checks=CHECKS)

            try:
                run()
            # schemathesis reports its checks' failures as a BaseExceptionGroup
            except (Exception, BaseExceptionGroup) as exc:
                failures.append(f"{operation.label} [{mode}]: {exc}"[:3000])
    return answers, failures


READS = {"GET"}
WRITES = {"POST", "PUT", "PATCH", "DELETE"}


# three tests rather than two, each well inside the suite's per-test timeout
@pytest.mark.parametrize(
    ("who", "methods"),
    [("anonymous", READS | WRITES), ("admin", READS), ("admin", WRITES)],
    ids=["anonymous", "admin-reads", "admin-writes"],
)
def test_fuzz(
    app: Any, fuzz_city: str, totals: Counter[str], who: str, methods: set[str]
) -> None:
    headers = {}
    if who == "admin":  # made as `dothi key create` makes it
        headers["X-API-Key"] = create_api_key(fuzz_city, "schemathesis", ["admin"])
    start, cpu = time.monotonic(), time.process_time()
    answers, failures = fuzz(app, headers, methods)
    wall, cpu = time.monotonic() - start, time.process_time() - cpu
    by_status = ", ".join(f"{k}: {v}" for k, v in sorted(answers.items()))
    print(  # noqa: T201
        f"{who} {sorted(methods)}: {answers.total()} cases in {wall:.0f} s "
        f"({cpu:.0f} s CPU in this process; {by_status})"
    )
    totals[f"{who} {sorted(methods)}"] = answers.total()
    assert not failures, "\n\n".join(failures)
    if who == "anonymous":  # the document offers no writes to anonymous callers
        assert not any(k.startswith(tuple(WRITES)) for k in answers)
    elif methods == WRITES:
        # the bodies are the layers' own schemas: writes get through, not refusals
        for done in ("POST 201", "PUT 204", "PATCH 204", "DELETE 204"):
            assert answers[done] > 0, done
    if len(totals) == 3 and EXAMPLES >= DEFAULT_EXAMPLES:
        assert totals.total() >= MIN_CASES, totals


# the document itself: what the fuzzing above relies on ------------------------------

ADMIN = Principal("root", frozenset({"admin"}))
SQUARE = [[[108.10, 10.93], [108.1003, 10.93], [108.1003, 10.9303],
           [108.10, 10.9303], [108.10, 10.93]]]  # fmt: skip
PARCEL = {
    "type": "Feature",
    "geometry": {"type": "Polygon", "coordinates": SQUARE},
    "properties": {"ward_code": "22945", "sheet_no": 7, "parcel_no": 1,
                   "land_use": "ODT", "address": "1 Trần Hưng Đạo"},
}  # fmt: skip


def document(principal: Principal = ANONYMOUS) -> dict[str, Any]:
    doc = build_openapi("http://testserver", principal, "en", LimitSettings())
    validate(doc)  # still valid OpenAPI 3.0
    return doc


def body_schema(doc: dict[str, Any], path: str, method: str) -> dict[str, Any]:
    content = doc["paths"][path][method]["requestBody"]["content"]
    schema: dict[str, Any] = content["application/geo+json"]["schema"]
    return schema


def test_write_bodies_are_the_layers_schema() -> None:
    doc = document(ADMIN)
    parcels = body_schema(doc, "/collections/land_parcels/items", "post")
    props = parcels["properties"]["properties"]
    assert {"sheet_no", "parcel_no", "land_use"} <= set(props["required"])
    assert props["additionalProperties"] is False
    assert props["properties"]["sheet_no"]["type"] == "integer"
    assert props["properties"]["area_legal_m2"]["nullable"] is True
    assert props["properties"]["valid_from"]["format"] == "date"
    assert "land_users" not in props["properties"]  # derived: read-only
    types = {s["properties"]["type"]["enum"][0] for s in parcels["properties"][
        "geometry"]["oneOf"]}  # fmt: skip
    assert types == {"Polygon", "MultiPolygon"}
    OAS30Validator(parcels).validate(PARCEL)
    for wrong in ({"sheet_no": "7"}, {"colour": "red"}, {"land_use": None}):
        bad = {**PARCEL, "properties": {**PARCEL["properties"], **wrong}}
        assert not OAS30Validator(parcels).is_valid(bad), wrong
    patch = body_schema(doc, "/collections/trees/items/{featureId}", "patch")
    assert "required" not in patch
    assert "application/merge-patch+json" in doc["paths"][
        "/collections/trees/items/{featureId}"]["patch"]["requestBody"]["content"]  # fmt: skip
    OAS30Validator(patch).validate({"properties": {"height_m": 12.5}})


def test_bodies_follow_the_callers_grants() -> None:
    citizen = document(Principal("an", frozenset({"citizen"})))
    reports = body_schema(citizen, "/collections/field_reports/items", "post")
    settable = set(reports["properties"]["properties"]["properties"])
    assert "description" in settable
    assert not {"status", "received_at", "assigned_unit"} & settable  # 403 if sent
    officer = document(
        Principal("lan", frozenset({"land_officer"}), frozenset({"22945"}))
    )
    parcels = body_schema(officer, "/collections/land_parcels/items", "post")
    assert parcels["properties"]["properties"]["properties"]["ward_code"]["enum"] == [
        "22945"
    ]


def test_every_answer_is_documented() -> None:
    doc = document(ADMIN)
    for path, item in doc["paths"].items():
        for method, op in item.items():
            codes = set(op["responses"])
            assert {"400", "401", "429", "503"} <= codes, (method, path)
            if method == "get":
                assert "406" in codes, path
                assert "text/html" in op["responses"]["200"]["content"], path
    items = doc["paths"]["/collections/trees/items"]
    assert {"200", "304", "404"} <= set(items["get"]["responses"])
    assert {"text/csv", "application/vnd.ogc.fg+json"} <= set(
        items["get"]["responses"]["200"]["content"]
    )
    f = next(
        p for p in items["get"]["parameters"] if p.get("$ref", "").endswith("/f-items")
    )
    assert f and set(doc["components"]["parameters"]["f-items"]["schema"]["enum"]) >= {
        "csv", "jsonfg", "html"}  # fmt: skip
    post = items["post"]["responses"]
    assert {"201", "403", "409", "413", "415"} <= set(post)
    assert post["201"]["headers"]["Location"]["required"] is True
    assert "/collections/trees/queryables" in doc["paths"]


def test_the_server_takes_what_the_document_describes(fuzz_city: str) -> None:
    from fastapi.testclient import TestClient

    key = {"X-API-Key": create_api_key(fuzz_city, "document check", ["admin"])}
    schema = body_schema(document(ADMIN), "/collections/land_parcels/items", "post")
    app = create_app(Settings(), database_url=fuzz_city)
    with TestClient(app) as c:
        good = c.post("/collections/land_parcels/items", json=PARCEL, headers=key)
        assert good.status_code == 201, good.text
        for wrong in ({"sheet_no": "7"}, {"colour": "red"}, {"address": "a\x00b"}):
            bad = {**PARCEL, "properties": {**PARCEL["properties"], **wrong}}
            assert not OAS30Validator(schema).is_valid(bad)
            r = c.post("/collections/land_parcels/items", json=bad, headers=key)
            assert r.status_code == 400, (wrong, r.text)
