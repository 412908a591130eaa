"""Links that no request can point elsewhere, and creates that a retry cannot repeat.

Host: links and ``Location`` come from the configured public URL or from a trusted
``Host``; any other Host is a 400, and the authority of an absolute-form request line
never reaches a link. Idempotency-Key: a retried POST gets the first answer and
creates nothing; another body with the same key is a 422; a duplicate while the first
is still running is a 409; keys expire and are purged.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import httpx
import psycopg
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from gis.db.urls import libpq_url
from gis.settings import ApiSettings, LimitSettings, Settings
from tests.api.principals import bearer
from tests.api.principals import settings as signed_in_settings
from tests.conftest import create_database, drop_database, served

FAR = LimitSettings(anonymous_rate_per_s=1_000_000, anonymous_burst=1_000_000)
TESTS_HOSTS = ["localhost", "127.0.0.1", "::1", "testserver"]
LIGHTS = "/collections/street_lights/items"
TREES = "/collections/trees/items"
CREW = bearer("tree_crew", sub="crew-1")
GEOJSON = {"Content-Type": "application/geo+json"}


def _hrefs(doc: Any) -> list[str]:
    """Every ``href`` in a JSON document."""
    if isinstance(doc, dict):
        own = [doc["href"]] if isinstance(doc.get("href"), str) else []
        return own + [h for v in doc.values() for h in _hrefs(v)]
    if isinstance(doc, list):
        return [h for v in doc for h in _hrefs(v)]
    return []


# ---------------------------------------------------------------------------- Host


@pytest.mark.parametrize(
    "path", ["/", "/collections", "/collections/street_lights", f"{LIGHTS}?limit=2"]
)
def test_an_untrusted_host_is_a_400_problem(client: TestClient, path: str) -> None:
    r = client.get(path, headers={"Host": "evil.example"})
    assert r.status_code == 400
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["status"] == 400
    assert "evil.example" not in r.text
    # a trusted name is served, and its links use it (public, cacheable pages)
    ok = client.get(path, headers={"Host": "localhost:8000"})
    assert ok.status_code == 200
    hrefs = _hrefs(ok.json())
    assert hrefs
    assert all(h.startswith("http://localhost:8000/") for h in hrefs)


@pytest.mark.parametrize(
    "host", ["evil.example:8000", "localhost@evil.example", "localhost.evil.example"]
)
def test_no_host_that_only_resembles_a_trusted_one_passes(
    client: TestClient, host: str
) -> None:
    r = client.get("/collections", headers={"Host": host})
    assert r.status_code == 400
    assert "evil" not in r.text


def _raw(url: str, request: str) -> tuple[int, str]:
    """Send ``request`` as it is to the server of ``url``; status and whole answer."""
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
        sock.sendall(request.encode())
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    answer = b"".join(chunks).decode("latin-1")
    return int(answer.split(" ", 2)[1]), answer


def test_an_absolute_uri_request_line_never_reaches_the_links(live_url: str) -> None:
    authority = urlsplit(live_url).netloc
    target = f"http://evil.example{LIGHTS}?limit=2"
    status, answer = _raw(
        live_url,
        f"GET {target} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n\r\n",
    )
    assert status < 500
    assert "evil.example" not in answer
    # and the Host of such a request is checked as any other
    status, answer = _raw(
        live_url,
        f"GET {live_url}{LIGHTS}?limit=2 HTTP/1.1\r\nHost: evil.example\r\n"
        "Connection: close\r\n\r\n",
    )
    assert status == 400
    assert "evil.example" not in answer


def _app(city_url: str, **api: Any) -> TestClient:
    api.setdefault("trusted_hosts", TESTS_HOSTS)
    settings = Settings(api=ApiSettings(**api), limits=FAR)
    return TestClient(create_app(settings, database_url=city_url))


def _some_light(c: TestClient, prefix: str = "") -> dict[str, Any]:
    page = c.get(f"{prefix}{LIGHTS}?limit=1")
    assert page.status_code == 200, page.text
    body: dict[str, Any] = page.json()
    return body


def test_the_public_url_is_in_every_link_whatever_the_host(city_url: str) -> None:
    public = "https://gis.phanthiet.gov.vn/dothi"
    with _app(city_url, public_url=public + "/") as c:
        for path in ("/", "/collections", f"{LIGHTS}?limit=1", "/api"):
            for host in ("localhost:8000", "127.0.0.1:9999"):
                r = c.get(path, headers={"Host": host})
                assert r.status_code == 200, (path, r.text)
                hrefs = _hrefs(r.json()) or [s["url"] for s in r.json()["servers"]]
                assert hrefs
                assert all(f"{h}/".startswith(public + "/") for h in hrefs), hrefs
        fid = _some_light(c)["features"][0]["id"]
        # the proxy strips /dothi, or forwards it: the same answer
        for prefix in ("", "/dothi"):
            one = c.get(f"{prefix}{LIGHTS}/{fid}").json()
            self_link = next(x["href"] for x in one["links"] if x["rel"] == "self")
            assert self_link == f"{public}{LIGHTS}/{fid}"
        # public_url's host is trusted; others still are not
        assert c.get("/", headers={"Host": "gis.phanthiet.gov.vn"}).status_code == 200
        assert c.get("/", headers={"Host": "evil.example"}).status_code == 400


def test_root_path_behind_a_proxy_without_a_public_url(city_url: str) -> None:
    with _app(city_url, root_path="/gis") as c:
        page = _some_light(c)
        hrefs = _hrefs(page)
        assert all(h.startswith("http://testserver/gis/") for h in hrefs), hrefs
        nxt = next(x["href"] for x in page["links"] if x["rel"] == "next")
        # the proxy forwards /gis/... as it is: the next page is served too
        follow = c.get(nxt.removeprefix("http://testserver"))
        assert follow.status_code == 200
        fid = page["features"][0]["id"]
        one = c.get(f"{LIGHTS}/{fid}").json()
        self_link = next(x["href"] for x in one["links"] if x["rel"] == "self")
        assert self_link == f"http://testserver/gis{LIGHTS}/{fid}"


def test_settings_refuse_what_would_reopen_the_hole() -> None:
    with pytest.raises(ValueError, match="public_url"):
        ApiSettings(trusted_hosts=["*"])
    with pytest.raises(ValueError, match="public_url"):
        ApiSettings(public_url="ftp://city.gov.vn")
    with pytest.raises(ValueError, match="differ"):
        ApiSettings(public_url="https://city.gov.vn/a", root_path="/b")
    assert ApiSettings(public_url="https://city.gov.vn", trusted_hosts=["*"])


# ------------------------------------------------------------------ Idempotency-Key


@pytest.fixture(scope="module")
def db(server_url: str, migrated_template: str) -> Iterator[str]:
    url = create_database(server_url, "idempotency", template=migrated_template)
    yield url
    drop_database(server_url, "idempotency")


@pytest.fixture(scope="module")
def writer(db: str) -> Iterator[TestClient]:
    app = create_app(signed_in_settings(api=ApiSettings(trusted_hosts=TESTS_HOSTS)),
                     database_url=db)  # fmt: skip
    with TestClient(app) as c:
        yield c


def _sql(url: str, query: str, *args: Any) -> list[Any]:
    with psycopg.connect(libpq_url(url)) as conn:
        cursor = conn.execute(query, args)
        return cursor.fetchall() if cursor.description else []


def _tree(code: str, lon: float = 108.1, *, lat_first: bool = False) -> bytes:
    where = [10.93, lon] if lat_first else [lon, 10.93]
    feature = {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": where},
        "properties": {"tree_code": code, "species_vi": "Bàng"},
    }
    return json.dumps(feature).encode()


def _count(db: str, code: str) -> int:
    return int(_sql(db, "SELECT count(*) FROM tree WHERE tree_code = %s", code)[0][0])


def _post(c: TestClient, body: bytes, key: str | None, **extra: str) -> httpx.Response:
    headers = {**CREW, **GEOJSON, **extra}
    if key is not None:
        headers["Idempotency-Key"] = key
    return c.post(TREES, content=body, headers=headers)


def test_a_retry_gets_the_first_answer_and_creates_nothing(
    writer: TestClient, db: str
) -> None:
    first = _post(writer, _tree("retry-1"), "8e03978e-40d5-43e8-bc93-6894a57f9324")
    assert first.status_code == 201, first.text
    again = _post(writer, _tree("retry-1"), "8e03978e-40d5-43e8-bc93-6894a57f9324")
    assert again.status_code == 201
    assert again.headers["Location"] == first.headers["Location"]
    assert again.content == first.content
    assert again.headers.get("ETag") == first.headers.get("ETag")
    assert again.headers["Cache-Control"] == "no-store"
    assert _count(db, "retry-1") == 1
    # the draft's Structured Field form is the same key
    quoted = _post(writer, _tree("retry-1"), '"8e03978e-40d5-43e8-bc93-6894a57f9324"')
    assert quoted.headers["Location"] == first.headers["Location"]
    # the Location follows the retry's (trusted) Host
    other = _post(writer, _tree("retry-1"), "8e03978e-40d5-43e8-bc93-6894a57f9324",
                  Host="localhost:8000")  # fmt: skip
    assert other.headers["Location"] == first.headers["Location"].replace(
        "http://testserver", "http://localhost:8000"
    )
    assert _count(db, "retry-1") == 1
    # without a key, or with another, a new feature: the key is what ties them
    assert _post(writer, _tree("retry-1"), None).status_code == 201
    assert _post(writer, _tree("retry-1"), "another").status_code == 201
    assert _count(db, "retry-1") == 3


def test_the_same_key_with_another_request_is_a_422(
    writer: TestClient, db: str
) -> None:
    assert _post(writer, _tree("reuse-1"), "k-reuse").status_code == 201
    for body, extra in (
        (_tree("reuse-1", lon=108.2), {}),
        # the same point, stated in EPSG:4326 (latitude first): another request
        (_tree("reuse-1", lat_first=True),
         {"Content-Crs": "http://www.opengis.net/def/crs/EPSG/0/4326"}),
    ):  # fmt: skip
        r = _post(writer, body, "k-reuse", **extra)
        assert r.status_code == 422, r.text
        assert r.headers["content-type"] == "application/problem+json"
        assert r.json()["parameter"] == "Idempotency-Key"
    assert _count(db, "reuse-1") == 1
    # keys are per principal: another caller's same key is a key of its own
    other = _post(writer, _tree("reuse-1", lon=108.2), "k-reuse",
                  **bearer("tree_crew", sub="crew-2"))  # fmt: skip
    assert other.status_code == 201
    assert _count(db, "reuse-1") == 2


def test_keys_are_limited_and_anonymous_callers_sign_in_first(
    writer: TestClient, db: str
) -> None:
    assert _post(writer, _tree("long-1"), "k" * 255).status_code == 201
    for bad in ("k" * 256, "", "two, keys", "tab\tkey"):
        r = writer.post(TREES, content=_tree("long-1"),
                        headers=[*CREW.items(), *GEOJSON.items(),
                                 *(("Idempotency-Key", p) for p in bad.split(", "))])  # fmt: skip
        assert r.status_code == 400, (bad, r.text)
        assert r.json()["parameter"] == "Idempotency-Key"
    anonymous = writer.post(TREES, content=_tree("long-1"),
                            headers={**GEOJSON, "Idempotency-Key": "a"})  # fmt: skip
    assert anonymous.status_code == 401
    assert _count(db, "long-1") == 1


def test_keys_expire_and_are_purged(writer: TestClient, db: str) -> None:
    first = _post(writer, _tree("expire-1"), "k-expire")
    assert first.status_code == 201
    (ttl,) = _sql(db, "SELECT extract(epoch FROM expires_at - created_at) "
                  "FROM idempotency_key WHERE key = 'k-expire'")[0]  # fmt: skip
    assert float(ttl) == LimitSettings().idempotency_ttl_s == 86_400
    # a day later (moved by hand: the ttl is the setting's)
    _sql(db, "UPDATE idempotency_key SET expires_at = now() - interval '1 s' "
         "WHERE key = 'k-expire'")  # fmt: skip
    assert _post(writer, _tree("expire-2"), "k-purger").status_code == 201
    assert _sql(db, "SELECT key FROM idempotency_key WHERE key = 'k-expire'") == []
    # the key is forgotten: its retry now creates
    again = _post(writer, _tree("expire-1"), "k-expire")
    assert again.status_code == 201
    assert again.headers["Location"] != first.headers["Location"]
    assert _count(db, "expire-1") == 2


def test_the_ttl_is_a_setting(db: str) -> None:
    settings = signed_in_settings(api=ApiSettings(trusted_hosts=TESTS_HOSTS))
    settings.limits.idempotency_ttl_s = 1
    with TestClient(create_app(settings, database_url=db)) as c:
        assert _post(c, _tree("ttl-1"), "k-ttl").status_code == 201
        time.sleep(1.2)
        assert _post(c, _tree("ttl-1"), "k-ttl").status_code == 201
    assert _count(db, "ttl-1") == 2


@pytest.fixture(scope="module")
def live(db: str) -> Iterator[str]:
    with served(signed_in_settings(), db) as url:
        yield url


async def _burst(live: str, body: bytes, key: str, n: int) -> list[httpx.Response]:
    headers = {**CREW, **GEOJSON, "Idempotency-Key": key}
    async with httpx.AsyncClient(base_url=live, timeout=30) as c:
        return list(
            await asyncio.gather(
                *(c.post(TREES, content=body, headers=headers) for _ in range(n))
            )
        )


def test_concurrent_duplicates_never_make_two_features(live: str, db: str) -> None:
    answers = asyncio.run(_burst(live, _tree("burst-1"), "k-burst", 12))
    assert {r.status_code for r in answers} <= {201, 409}
    created = [r for r in answers if r.status_code == 201]
    assert created
    assert len({r.headers["Location"] for r in created}) == 1
    assert _count(db, "burst-1") == 1


def test_a_duplicate_while_the_first_runs_is_a_409(live: str, db: str) -> None:
    """The first create is held at its INSERT by a table lock; its duplicate is
    refused at once, and after the first has finished a retry gets its answer."""
    with psycopg.connect(libpq_url(db)) as blocker:
        blocker.execute("LOCK TABLE tree IN SHARE MODE")
        first: list[httpx.Response] = []
        thread = threading.Thread(
            target=lambda: first.extend(asyncio.run(_burst(live, _tree("held-1"), "k-held", 1)))
        )  # fmt: skip
        thread.start()
        deadline = time.monotonic() + 10
        while not _sql(db, "SELECT 1 FROM pg_locks WHERE NOT granted "
                       "AND relation = 'tree'::regclass"):  # fmt: skip
            assert time.monotonic() < deadline, (
                "the first create never reached its INSERT"
            )
            time.sleep(0.02)
        started = time.monotonic()
        (duplicate,) = asyncio.run(_burst(live, _tree("held-1"), "k-held", 1))
        assert duplicate.status_code == 409, duplicate.text
        assert duplicate.headers["content-type"] == "application/problem+json"
        assert duplicate.headers["Retry-After"] == "1"
        assert time.monotonic() - started < 5  # refused, not queued behind the first
        assert _count(db, "held-1") == 0
        blocker.rollback()  # the first goes on
    thread.join(timeout=30)
    assert [r.status_code for r in first] == [201]
    (retry,) = asyncio.run(_burst(live, _tree("held-1"), "k-held", 1))
    assert retry.status_code == 201
    assert retry.headers["Location"] == first[0].headers["Location"]
    assert _count(db, "held-1") == 1


def test_the_openapi_lists_the_header(writer: TestClient) -> None:
    doc = writer.get("/api", headers=CREW).json()
    post = doc["paths"][TREES]["post"]
    names = [p.get("name") for p in post["parameters"]]
    assert "Idempotency-Key" in names
    assert "422" in post["responses"]
