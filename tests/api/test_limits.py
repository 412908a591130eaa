"""Request limits before routing: the anonymous rate limit and the body size cap."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import anyio
import pytest
from fastapi.testclient import TestClient
from starlette.types import Message, Receive, Scope, Send
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from api import limits
from api.app import create_app
from api.limits import (
    AnonymousRateLimitMiddleware,
    BodyLimitMiddleware,
    client_key,
    content_length,
)
from auth.api_keys import create_api_key, revoke_api_key
from gis.settings import LimitSettings, Settings

PROBLEM_JSON = "application/problem+json"
FAR = LimitSettings(anonymous_rate_per_s=1_000_000, anonymous_burst=1_000_000)


class Clock:
    """The buckets' clock, moved on by hand."""

    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now

    def wait(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    c = Clock()
    monkeypatch.setattr(limits, "clock", c)
    return c


@pytest.fixture(scope="module")
def api_key(city_url: str) -> Iterator[str]:
    """A valid key on the shared demo city, revoked afterwards."""
    key = create_api_key(city_url, "rate limit tests", ["ioc_operator"])
    yield key
    revoke_api_key(city_url, key.split("_")[1])


def app_with(city_url: str, **limit_settings: Any) -> Any:
    """An app with these limits; the failures bucket follows the anonymous one, and
    database time costs nothing unless asked (these tests count requests)."""
    if "anonymous_rate_per_s" in limit_settings:
        limit_settings.setdefault(
            "failed_credentials_rate_per_s", limit_settings["anonymous_rate_per_s"]
        )
    if "anonymous_burst" in limit_settings:
        limit_settings.setdefault(
            "failed_credentials_burst", limit_settings["anonymous_burst"]
        )
    limit_settings.setdefault("anonymous_db_ms_per_unit", 1e12)
    return create_app(
        Settings(limits=LimitSettings(**limit_settings)), database_url=city_url
    )


@pytest.fixture
def slow(city_url: str, clock: Clock) -> Iterator[TestClient]:
    """Rate 2/s, burst 5, for one client address."""
    app = app_with(city_url, anonymous_rate_per_s=2.0, anonymous_burst=5)
    with TestClient(app, client=("10.0.0.1", 40000)) as c:
        yield c


@pytest.fixture
def proxied(city_url: str, clock: Clock) -> Iterator[TestClient]:
    """Rate 2/s, burst 5, behind a trusted proxy: X-Forwarded-For is the address."""
    app = app_with(city_url, anonymous_rate_per_s=2.0, anonymous_burst=5)
    wrapped = ProxyHeadersMiddleware(app, trusted_hosts="127.0.0.1")
    with TestClient(wrapped, client=("127.0.0.1", 40000)) as c:
        yield c


def drain(c: TestClient, n: int = 5, **kwargs: Any) -> None:
    for _ in range(n):
        assert c.get("/collections", **kwargs).status_code == 200


def assert_problem(r: Any, status: int, slug: str) -> dict[str, Any]:
    assert r.status_code == status
    assert r.headers["content-type"] == PROBLEM_JSON
    body: dict[str, Any] = r.json()
    assert body["status"] == status
    assert body["type"] == f"/problems/{slug}"
    assert body["code"] == (
        "InvalidParameterValue" if status == 400 else "NoApplicableCode"
    )
    assert body["title"] and body["detail"]
    assert body["request_id"] == r.headers["x-request-id"]
    return body


# the anonymous rate limit ---------------------------------------------------------


def test_burst_then_429_with_retry_after(slow: TestClient) -> None:
    drain(slow)
    r = slow.get("/collections")
    body = assert_problem(r, 429, "too-many-requests")
    assert body["title"] == "Quá nhiều yêu cầu"  # before routing: the default language
    assert r.headers["retry-after"] == "1"  # one token at 2/s: 0.5 s, rounded up
    assert body["instance"] == "/collections"
    assert "thử lại sau 1 giây" in body["detail"]  # retry after 1 s


def test_retry_after_is_the_wait_for_one_token(city_url: str, clock: Clock) -> None:
    app = app_with(city_url, anonymous_rate_per_s=0.25, anonymous_burst=2)
    with TestClient(app) as c:
        drain(c, 2)
        assert c.get("/collections").headers["retry-after"] == "4"
        clock.wait(1.0)
        assert c.get("/collections").headers["retry-after"] == "3"
        clock.wait(3.0)
        assert c.get("/collections").status_code == 200


def test_one_request_again_after_one_over_rate_seconds(
    slow: TestClient, clock: Clock
) -> None:
    drain(slow)
    assert slow.get("/collections").status_code == 429
    clock.wait(0.5)
    assert slow.get("/collections").status_code == 200
    assert slow.get("/collections").status_code == 429
    clock.wait(60)  # refills to the burst, not beyond
    drain(slow)
    assert slow.get("/collections").status_code == 429


def test_refused_requests_do_not_drain_further(slow: TestClient, clock: Clock) -> None:
    drain(slow)
    for _ in range(10):
        assert slow.get("/collections").status_code == 429
    clock.wait(0.5)
    assert slow.get("/collections").status_code == 200


def test_valid_credentials_are_not_limited(slow: TestClient, api_key: str) -> None:
    drain(slow)
    assert slow.get("/collections").status_code == 429
    for _ in range(10):
        r = slow.get("/collections", headers={"X-API-Key": api_key})
        assert r.status_code == 200
        assert "collections" in r.json()
    for _ in range(3):
        r = slow.get("/collections", headers={"Authorization": f"ApiKey {api_key}"})
        assert r.status_code == 200
    assert slow.get("/collections").status_code == 429


def test_empty_credentials_count_as_anonymous(slow: TestClient) -> None:
    drain(slow)
    assert slow.get("/collections", headers={"X-API-Key": ""}).status_code == 429
    assert slow.get("/collections", headers={"Authorization": ""}).status_code == 429


def test_made_up_credentials_do_not_pass_anywhere(
    slow: TestClient, api_key: str
) -> None:
    """Routes that read no data check credentials too: a made-up key is a 401 there
    and is charged; a valid one is not, and anonymous traffic is not touched."""
    made_up = {"X-API-Key": "made-up"}
    for path in ("/", "/conformance", "/map"):
        assert slow.get(path, headers=made_up).status_code == 401, path
    for _ in range(10):
        assert (
            slow.get("/conformance", headers={"X-API-Key": api_key}).status_code == 200
        )
    # 3 made-up requests were charged: 2 tokens of the burst of 5 are left for them
    assert slow.get("/", headers=made_up).status_code == 401
    assert slow.get("/", headers=made_up).status_code == 401
    assert slow.get("/", headers=made_up).status_code == 429
    drain(slow)  # the anonymous bucket is whole: 5 more pass


def test_401s_drain_the_failures_bucket(
    slow: TestClient, clock: Clock, api_key: str
) -> None:
    wrong = {"X-API-Key": "dothi_aaaaaaaa_" + "x" * 43}
    for _ in range(5):
        assert slow.get("/collections", headers=wrong).status_code == 401
    # the guesses emptied the failures bucket: further guesses are refused ...
    r = slow.get("/collections", headers=wrong)
    assert_problem(r, 429, "too-many-requests")
    assert r.headers["retry-after"] == "1"
    # ... while a valid key passes as long as a token is there for it to hold
    clock.wait(0.5)
    assert slow.get("/collections", headers={"X-API-Key": api_key}).status_code == 200
    # one guess per token as the bucket refills
    assert slow.get("/collections", headers=wrong).status_code == 401
    assert slow.get("/collections", headers=wrong).status_code == 429
    drain(slow)  # anonymous visitors of the same address were never held back


def test_401s_with_basic_credentials_drain_too(slow: TestClient) -> None:
    bad = ("nobody", "not-the-password")
    for _ in range(5):
        assert slow.get("/collections", auth=bad).status_code == 401
    assert slow.get("/collections", auth=bad).status_code == 429


def test_busy_anonymous_neighbours_never_lock_out_a_valid_key(
    slow: TestClient, clock: Clock, api_key: str
) -> None:
    """Behind one NAT: anonymous traffic keeps its bucket empty, one request of the
    signed-in user fails (an unknown path); the valid key still passes every time."""
    key = {"X-API-Key": api_key}
    drain(slow)  # the neighbours empty the anonymous bucket
    assert slow.get("/no-such-path", headers=key).status_code == 404
    for _ in range(20):
        assert slow.get("/collections").status_code == 429
        assert slow.get("/collections", headers=key).status_code == 200
        clock.wait(0.5)
        drain(slow, n=1)  # and take each token as it comes


def test_concurrent_guesses_are_held_to_the_burst(city_url: str) -> None:
    """Tokens are reserved before a request runs: 40 guesses at once, burst 5."""
    import asyncio

    import httpx

    app = app_with(city_url, anonymous_rate_per_s=0.001, anonymous_burst=5)

    async def guesses() -> list[int]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://testserver"
        ) as c:
            bad = httpx.BasicAuth("nobody", "not-the-password")
            answers = await asyncio.gather(
                *(c.get("/collections", auth=bad) for _ in range(40))
            )
        return [a.status_code for a in answers]

    with TestClient(app):  # the lifespan: the pool the guesses are checked against
        statuses = asyncio.run(guesses())
    assert sorted(statuses) == [401] * 5 + [429] * 35


def test_addresses_have_separate_buckets(proxied: TestClient) -> None:
    one = {"X-Forwarded-For": "10.0.0.1"}
    two = {"X-Forwarded-For": "10.0.0.2"}
    drain(proxied, headers=one)
    assert proxied.get("/collections", headers=one).status_code == 429
    drain(proxied, headers=two)
    assert proxied.get("/collections", headers=two).status_code == 429


def test_an_ipv6_slash_64_is_one_address(proxied: TestClient) -> None:
    drain(proxied, 3, headers={"X-Forwarded-For": "2001:db8:1:2::1"})
    drain(proxied, 2, headers={"X-Forwarded-For": "2001:db8:1:2:ffff::9"})
    r = proxied.get("/collections", headers={"X-Forwarded-For": "2001:db8:1:2::77"})
    assert r.status_code == 429
    drain(proxied, headers={"X-Forwarded-For": "2001:db8:1:3::1"})


def test_client_key() -> None:
    def key(host: str) -> str:
        return client_key({"type": "http", "client": (host, 1)})

    assert key("203.0.113.7") == "203.0.113.7"
    assert key("2001:db8::1") == key("2001:db8::ffff:1") == "2001:db8::/64"
    assert key("::ffff:203.0.113.7") == "203.0.113.7"
    assert key("testclient") == "testclient"
    assert client_key({"type": "http", "client": None}) == "-"


def test_a_429_is_readable_by_a_page_on_another_origin(slow: TestClient) -> None:
    drain(slow)
    r = slow.get("/collections", headers={"Origin": "https://map.example"})
    assert r.status_code == 429
    assert r.headers["access-control-allow-origin"] == "*"
    assert "retry-after" in r.headers["access-control-expose-headers"].lower()


def test_preflights_are_not_charged(slow: TestClient) -> None:
    drain(slow)
    preflight = {
        "Origin": "https://map.example",
        "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": "accept-language",
    }
    for _ in range(3):
        assert slow.options("/collections", headers=preflight).status_code == 200


def test_limit_off_never_429s(city_url: str, clock: Clock) -> None:
    app = app_with(city_url, anonymous_rate_per_s=0, anonymous_burst=1)
    with TestClient(app) as c:
        for _ in range(30):
            assert c.get("/conformance").status_code == 200
        wrong = {"X-API-Key": "dothi_aaaaaaaa_" + "x" * 43}
        for _ in range(5):
            assert c.get("/collections", headers=wrong).status_code == 401


def test_the_real_clock(city_url: str) -> None:
    app = app_with(city_url, anonymous_rate_per_s=0.1, anonymous_burst=1)
    with TestClient(app) as c:
        assert c.get("/conformance").status_code == 200
        r = c.get("/conformance")
        assert r.status_code == 429
        assert int(r.headers["retry-after"]) in (9, 10)


async def _ok(scope: Scope, receive: Receive, send: Send) -> None:
    await send({"type": "http.response.start", "status": 204, "headers": []})
    await send({"type": "http.response.body", "body": b""})


def test_the_table_of_buckets_is_bounded(clock: Clock) -> None:
    limit = LimitSettings(anonymous_rate_per_s=1.0, anonymous_burst=2)
    mw = AnonymousRateLimitMiddleware(_ok, limits=limit, max_clients=3)
    app = ProxyHeadersMiddleware(mw, trusted_hosts="127.0.0.1")  # type: ignore[arg-type]
    c = TestClient(app, client=("127.0.0.1", 1))  # no lifespan: a bare ASGI app

    def get(host: str) -> int:
        return c.get("/", headers={"X-Forwarded-For": host}).status_code

    for host in ("10.0.0.1", "10.0.0.1", "10.0.0.2", "10.0.0.3"):
        assert get(host) == 204
    assert get("10.0.0.1") == 429  # remembered; and now the most recently seen
    assert get("10.0.0.4") == 204  # drops the least recently seen: 10.0.0.2
    assert len(mw._buckets) == 3
    assert [a for _, a in mw._buckets] == ["10.0.0.3", "10.0.0.1", "10.0.0.4"]
    assert get("10.0.0.1") == 429


# the body size cap ----------------------------------------------------------------


@pytest.fixture
def small_body(city_url: str) -> Iterator[TestClient]:
    app = create_app(
        Settings(limits=FAR.model_copy(update={"max_body_bytes": 1000})),
        database_url=city_url,
    )
    with TestClient(app) as c:
        yield c


def test_declared_length_over_the_limit_is_413(small_body: TestClient) -> None:
    r = small_body.post("/collections/trees/items", content=b"x" * 1001)
    body = assert_problem(r, 413, "content-too-large")
    assert "lớn hơn 1000 byte" in body["detail"]  # larger than 1000 bytes
    assert body["instance"] == "/collections/trees/items"
    # refused before routing and authentication: no 405, no 401
    r = small_body.put("/", content=b"x" * 5000, headers={"X-API-Key": "wrong"})
    assert r.status_code == 413
    r = small_body.post("/", headers={"Content-Length": "9" * 40})
    assert_problem(r, 413, "content-too-large")


def test_chunked_body_over_the_limit_is_413(small_body: TestClient) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(5):
            yield b"y" * 300

    r = small_body.post("/collections/trees/items", content=chunks())
    assert r.request.headers.get("transfer-encoding") == "chunked"
    assert "content-length" not in r.request.headers
    assert_problem(r, 413, "content-too-large")


def test_body_under_the_limit_reaches_the_app(small_body: TestClient) -> None:
    # /collections answers GET only: routing, not the cap, refuses the POST
    r = small_body.post("/collections", content=b"x" * 1000)
    assert r.status_code == 405
    r = small_body.post("/collections", content=iter([b"x" * 500, b"x" * 500]))
    assert r.status_code == 405
    assert small_body.get("/collections").status_code == 200


@pytest.mark.parametrize("value", ["abc", "-1", "1.5", "", "12, 13", "0x10"])
def test_malformed_content_length_is_400(small_body: TestClient, value: str) -> None:
    r = small_body.post("/collections", headers={"Content-Length": value})
    body = assert_problem(r, 400, "bad-request")
    assert "Content-Length" in body["detail"]


def test_content_length() -> None:
    assert content_length([b"12"]) == 12
    assert content_length([b"12, 12"]) == content_length([b"12", b" 12"]) == 12
    assert content_length([b"0"]) == 0
    assert content_length([b"9" * 40]) == 10**18
    for bad in ([b"12", b"13"], [b"+1"], [b" "], [b"1 2"], ["١".encode()]):
        assert content_length(bad) is None


def _echo_body(max_bytes: int) -> tuple[Any, list[bytes]]:
    """The cap around an app that reads the whole body and says what it got."""
    seen: list[bytes] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        body = b""
        while True:
            message: Message = await receive()
            assert message["type"] == "http.request"
            body += message.get("body", b"")
            if not message.get("more_body", False):
                break
        seen.append(body)
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": str(len(body)).encode()})

    limit = LimitSettings(max_body_bytes=max_bytes)
    return BodyLimitMiddleware(app, limits=limit), seen


def test_the_app_gets_a_chunked_body_whole() -> None:
    app, seen = _echo_body(1000)
    c = TestClient(app)  # no lifespan: a bare ASGI app
    parts = [b"a" * 400, b"b" * 400, b"c" * 200]
    r = c.post("/", content=iter(parts))
    assert (r.status_code, r.text) == (200, "1000")
    assert seen == [b"".join(parts)]
    r = c.post("/", content=iter([*parts, b"d"]))
    assert r.status_code == 413
    assert len(seen) == 1  # the app never saw the too large body
    assert c.get("/").text == "0"


def _drive(app: Any, messages: list[Message]) -> tuple[list[Message], int]:
    """Call ``app`` with a request of ``messages``: what it sent, how many it read."""
    scope: Scope = {
        "type": "http",
        "method": "POST",
        "path": "/",
        "raw_path": b"/",
        "root_path": "",
        "query_string": b"",
        "headers": [(b"transfer-encoding", b"chunked")],
        "scheme": "http",
        "server": ("test", 80),
        "client": ("10.0.0.1", 1),
        "http_version": "1.1",
        "asgi": {"version": "3.0"},
    }
    sent: list[Message] = []
    queue = iter(messages)
    read = 0

    async def receive() -> Message:
        nonlocal read
        read += 1
        return next(queue, {"type": "http.disconnect"})

    async def send(message: Message) -> None:
        sent.append(message)

    anyio.run(app, scope, receive, send)
    return sent, read


def test_a_stream_is_refused_as_soon_as_it_passes_the_limit() -> None:
    app, seen = _echo_body(1000)
    parts = [{"type": "http.request", "body": b"z" * 400, "more_body": True}] * 10
    sent, read = _drive(app, parts)
    assert read == 3  # 1200 bytes: no further chunk is read
    assert sent[0]["status"] == 413
    assert seen == []
    parts = [
        {"type": "http.request", "body": b"z" * 400, "more_body": True},
        {"type": "http.request", "body": b"", "more_body": True},
        {"type": "http.request", "body": b"z" * 600, "more_body": False},
    ]
    sent, read = _drive(app, parts)
    assert (sent[0]["status"], sent[1]["body"]) == (200, b"1000")
    assert seen == [b"z" * 1000]


def test_a_client_gone_mid_stream_is_not_a_complete_body() -> None:
    app, seen = _echo_body(1000)
    sent, _ = _drive(app, [{"type": "http.request", "body": b"z", "more_body": True}])
    assert sent == []
    assert seen == []


# charged by cost: what the anonymous limit lets through on its defaults -------------


def test_a_request_is_charged_its_database_time(city_url: str, clock: Clock) -> None:
    """A request that runs statements costs more than one that runs none."""
    app = app_with(
        city_url,
        anonymous_rate_per_s=1.0,
        anonymous_burst=5,
        anonymous_db_ms_per_unit=0.001,  # a microsecond of database time: a token
    )
    with TestClient(app) as c:
        for _ in range(5):  # no statement: one token each
            assert c.get("/conformance").status_code == 200
        assert c.get("/conformance").status_code == 429
        clock.wait(5)
        assert c.get("/collections/trees/items?limit=5").status_code == 200
        r = c.get("/conformance")  # the page's statements emptied the bucket
        assert r.status_code == 429
        assert int(r.headers["retry-after"]) > 1


def test_a_sequential_download_is_never_refused_on_the_defaults(
    city_url: str,
) -> None:
    """GDAL's way (one page after another) through 1,000+ pages: the old count
    limit (20/s, burst 200) stopped it after about 200 pages."""
    defaults = LimitSettings()
    app = create_app(Settings(limits=defaults), database_url=city_url)
    statuses: list[int] = []
    with TestClient(app) as c:
        url: str | None = "/collections/land_parcels/items?limit=1"
        while url and len(statuses) < 1_200:
            r = c.get(url)
            statuses.append(r.status_code)
            nxt = [lk for lk in r.json().get("links", []) if lk["rel"] == "next"]
            url = nxt[0]["href"] if nxt else None
    assert len(statuses) > 600
    assert set(statuses) == {200}


def test_a_crowd_behind_one_address_is_served_on_the_defaults(city_url: str) -> None:
    """50 phones behind one carrier address (CGNAT) loading tiles and pages at
    once: no 429 (the old count limit refused 93.8 % of such a crowd)."""
    import asyncio

    import httpx
    import morecantile

    from tests.conftest import served

    t = morecantile.tms.get("WebMercatorQuad").tile(108.10, 10.93, 14)
    paths = [
        f"/tiles/WebMercatorQuad/14/{t.y + dy}/{t.x + dx}"
        for dx in (-1, 0, 1)
        for dy in (-1, 0, 1)
    ] + ["/collections/trees/items?limit=20", "/collections"]

    async def phone(c: httpx.AsyncClient) -> list[int]:
        return [(await c.get(p)).status_code for p in paths * 3]

    async def crowd(url: str) -> list[int]:
        limits = httpx.Limits(max_connections=50)
        async with httpx.AsyncClient(base_url=url, timeout=120, limits=limits) as c:
            answers = await asyncio.gather(*(phone(c) for _ in range(50)))
        return [s for a in answers for s in a]

    with served(Settings(), city_url) as url:  # the shipped defaults
        statuses = asyncio.run(crowd(url))
    assert len(statuses) == 50 * 33
    assert 429 not in statuses
    assert set(statuses) <= {200, 204}
