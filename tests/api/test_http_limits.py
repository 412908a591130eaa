"""The HTTP server's own limits (api/server.py), spoken to over raw sockets.

Each test runs the real server as ``dothi serve`` configures it (``server_config``)
on a free port, with short timeouts and small caps set for the test so it stays fast;
one test checks the shipped defaults against the README.
"""

from __future__ import annotations

import asyncio
import re
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import httpx
import orjson
import pytest
import uvicorn
from starlette.types import Receive, Scope, Send
from uvicorn.server import ServerState

from api.server import LimitedHttpToolsProtocol, ServerConfig, server_config
from gis.settings import HttpSettings, LimitSettings, Settings
from tests.conftest import served

ROOT = Path(__file__).resolve().parents[2]
FAR = LimitSettings(anonymous_rate_per_s=1_000_000, anonymous_burst=1_000_000)
# short, so that the slow-client tests take seconds
SHORT = HttpSettings(
    header_timeout_s=1.5, body_timeout_s=1.5, max_concurrent_requests=2
)
HEAD = b"Host: 127.0.0.1\r\nAccept: application/json\r\n"
Response = tuple[int, dict[str, str], bytes]


@contextmanager
def serving(city_url: str, http: HttpSettings) -> Iterator[int]:
    """The server of ``dothi serve`` with ``http`` limits, in a thread; its port."""
    with served(Settings(limits=FAR, http=http), city_url) as url:
        yield int(url.rsplit(":", 1)[1])


@pytest.fixture(scope="module")
def port(city_url: str) -> Iterator[int]:
    with serving(city_url, SHORT) as p:
        yield p


def connect(port: int, timeout: float = 5.0) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    sock.settimeout(timeout)
    return sock


def read_response(sock: socket.socket) -> Response | None:
    """The next response on ``sock``; None when the server closed it without one."""
    data = b""
    try:
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(65536)
            if not chunk:
                return None
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        length = int(headers.get("content-length", "0"))
        while len(body) < length:
            chunk = sock.recv(65536)
            if not chunk:
                break
            body += chunk
    except ConnectionResetError:
        return None
    except TimeoutError:
        pytest.fail("the server neither answered nor closed the connection")
    return status, headers, body


def closed(sock: socket.socket) -> bool:
    """Whether the server has closed ``sock`` (waits up to the socket's timeout)."""
    try:
        return sock.recv(65536) == b""
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False


def send_all(sock: socket.socket, data: bytes) -> None:
    """Send what the server takes; it may refuse and close before the end."""
    with suppress(BrokenPipeError, ConnectionResetError):
        sock.sendall(data)


def assert_problem(response: Response | None, status: int) -> dict[str, object]:
    assert response is not None, f"closed without the {status} answer"
    got, headers, body = response
    assert got == status, body
    assert headers["content-type"] == "application/problem+json"
    problem = orjson.loads(body)
    assert problem["status"] == status
    assert isinstance(problem, dict)
    return problem


def request(sock: socket.socket, path: str = "/") -> Response | None:
    sock.sendall(b"GET " + path.encode() + b" HTTP/1.1\r\n" + HEAD + b"\r\n")
    return read_response(sock)


# the head


@pytest.mark.parametrize(
    ("header", "why"),
    [
        (b"X-Big: " + b"a" * 1_000_000, "head over 64 KiB"),
        (b"X-Big: " + b"a" * 10_000, "one line over 8 KiB"),
        (b"\r\n".join(b"X-%d: 1" % i for i in range(101)), "101 header lines"),
        (b"\r\n".join(b"X-%d: " % i + b"a" * 1000 for i in range(80)), "80 KB"),
    ],
)
def test_a_head_too_large_is_a_431(port: int, header: bytes, why: str) -> None:
    with connect(port) as sock:
        send_all(sock, b"GET / HTTP/1.1\r\n" + HEAD + header + b"\r\n\r\n")
        problem = assert_problem(read_response(sock), 431)
        assert closed(sock), why
    assert problem["code"] == "NoApplicableCode"


class Transport(asyncio.Transport):
    """Collects what the protocol writes."""

    def __init__(self) -> None:
        super().__init__()
        self.written = b""
        self.closing = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.written += bytes(data)

    def is_closing(self) -> bool:
        return self.closing

    def close(self) -> None:
        self.closing = True

    def can_write_eof(self) -> bool:
        return False

    def get_extra_info(self, name: str, default: object = None) -> object:
        return {"peername": ("127.0.0.1", 5555)}.get(name, default)

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


async def no_content(scope: Scope, receive: Receive, send: Send) -> None:
    del scope, receive
    await send({"type": "http.response.start", "status": 204, "headers": []})
    await send({"type": "http.response.body", "body": b""})


def feed_in_one_read(data: bytes) -> bytes:
    """What the protocol writes when ``data`` arrives in a single read."""
    loop = asyncio.new_event_loop()
    try:
        config = ServerConfig(no_content, limits=HttpSettings(), lifespan="off")
        config.load()
        state = ServerState()
        protocol = LimitedHttpToolsProtocol(
            config=config, server_state=state, app_state={}, _loop=loop
        )
        transport = Transport()
        protocol.connection_made(transport)
        protocol.data_received(data)
        if state.tasks:  # the app's answer
            loop.run_until_complete(asyncio.gather(*state.tasks))
        protocol.connection_lost(None)
        return transport.written
    finally:
        loop.close()


def test_the_head_limit_holds_when_the_head_arrives_in_one_read() -> None:
    lines = b"".join(b"X-%d: " % i + b"a" * 1000 + b"\r\n" for i in range(80))
    written = feed_in_one_read(b"GET / HTTP/1.1\r\n" + HEAD + lines + b"\r\n")
    assert written.startswith(b"HTTP/1.1 431 ")
    body = b"a" * 200_000  # a large body in the same read is not part of the head
    post = b"POST / HTTP/1.1\r\n" + HEAD + b"Content-Length: 200000\r\n\r\n"
    assert feed_in_one_read(post + body).startswith(b"HTTP/1.1 204 ")


def test_a_long_request_target_is_a_414(port: int) -> None:
    with connect(port) as sock:
        send_all(sock, b"GET /?q=" + b"a" * 10_000 + b" HTTP/1.1\r\n" + HEAD + b"\r\n")
        assert_problem(read_response(sock), 414)
        assert closed(sock)


def test_a_slow_head_is_cut_with_a_408(port: int) -> None:
    """Slowloris: one header line every 0.5 s never completes the head."""
    with connect(port) as sock:
        started = time.monotonic()
        sock.sendall(b"GET / HTTP/1.1\r\n" + HEAD)
        answer: list[Response | None] = []
        reader = threading.Thread(target=lambda: answer.append(read_response(sock)))
        reader.start()
        for i in range(12):  # 6 s of header lines unless cut
            if not reader.is_alive():
                break
            send_all(sock, b"X-Slow-%d: 1\r\n" % i)
            time.sleep(0.5)
        reader.join(timeout=5)
        elapsed = time.monotonic() - started
    assert answer, "the server held the slow head"
    assert_problem(answer[0], 408)
    assert 1.4 < elapsed < SHORT.header_timeout_s + 1.5


def test_a_silent_connection_is_closed(port: int) -> None:
    with connect(port) as sock:
        started = time.monotonic()
        assert closed(sock)
        assert time.monotonic() - started < SHORT.header_timeout_s + 1.0


def test_blank_lines_do_not_hold_a_connection(port: int) -> None:
    with connect(port) as sock:
        assert request(sock) is not None
        started = time.monotonic()
        sock.settimeout(0.5)
        for _ in range(12):  # blank lines before a request line are allowed
            send_all(sock, b"\r\n")
            if closed(sock):
                break
        assert time.monotonic() - started < SHORT.header_timeout_s + 1.0


@pytest.mark.parametrize(
    ("line", "status"),
    [(b"GET /\r\n", 400), (b"GET / HTTP/0.9\r\n", 400), (b"GET / HTTP/2.0\r\n", 505)],
)
def test_http_versions_other_than_1_are_refused(
    port: int, line: bytes, status: int
) -> None:
    with connect(port) as sock:
        send_all(sock, line + HEAD + b"\r\n")
        assert_problem(read_response(sock), status)
        assert closed(sock)


# the body


def test_a_slow_body_is_cut_with_a_408(port: int) -> None:
    with connect(port) as sock:
        sock.sendall(
            b"POST / HTTP/1.1\r\n" + HEAD + b"Transfer-Encoding: chunked\r\n\r\n"
        )
        started = time.monotonic()
        answer: list[Response | None] = []
        reader = threading.Thread(target=lambda: answer.append(read_response(sock)))
        reader.start()
        for _ in range(20):  # one byte every 0.3 s: 6 s unless cut
            if not reader.is_alive():
                break
            send_all(sock, b"1\r\na\r\n")
            time.sleep(0.3)
        reader.join(timeout=5)
        elapsed = time.monotonic() - started
    assert answer, "the server held the slow body"
    assert_problem(answer[0], 408)
    assert elapsed < SHORT.body_timeout_s + 1.5


def test_a_slow_body_after_an_early_answer_is_cut(port: int) -> None:
    """An anonymous POST is answered 401 at once; its trickling body is not held."""
    with connect(port) as sock:
        sock.sendall(
            b"POST /collections/field_reports/items HTTP/1.1\r\n"
            + HEAD
            + b"Content-Type: application/geo+json\r\nContent-Length: 1000\r\n\r\n"
        )
        first = read_response(sock)
        assert first is not None
        assert first[0] == 401
        started = time.monotonic()
        for _ in range(20):
            send_all(sock, b"a")
            time.sleep(0.3)
            try:
                if sock.recv(1, socket.MSG_DONTWAIT) == b"":
                    break
            except BlockingIOError:
                continue
            except ConnectionResetError:
                break
        assert time.monotonic() - started < SHORT.body_timeout_s + 1.5


# the connection


def test_the_concurrency_cap_answers_a_fast_503(port: int) -> None:
    held = [connect(port) for _ in range(SHORT.max_concurrent_requests)]
    try:
        for sock in held:  # chunked bodies the app waits for: requests in flight
            sock.sendall(
                b"POST / HTTP/1.1\r\n" + HEAD + b"Transfer-Encoding: chunked\r\n\r\n"
            )
        time.sleep(0.3)
        with connect(port) as sock:
            started = time.monotonic()
            problem = assert_problem(full := request(sock), 503)
            assert time.monotonic() - started < 0.5
        assert full is not None
        assert full[1]["retry-after"] == "1"
        assert problem["type"] == "/problems/server-busy"
        assert "x-request-id" in full[1]
    finally:
        for sock in held:
            sock.close()
    time.sleep(0.3)  # the held requests end with their connections
    with connect(port) as sock:
        answer = request(sock)
        assert answer is not None
        assert answer[0] == 200


def test_an_idle_keep_alive_connection_stays_usable(port: int) -> None:
    """Idle past uvicorn's old 5 s (and past the header timeout): still served."""
    with connect(port, timeout=10) as sock:
        first = request(sock, "/conformance")
        assert first is not None
        assert first[0] == 200
        time.sleep(5.5)
        again = request(sock, "/conformance")
        assert again is not None, "the server closed the idle connection"
        assert again[0] == 200


def test_past_max_connections_an_idle_one_makes_room(city_url: str) -> None:
    with serving(city_url, HttpSettings(max_connections=3)) as p:
        idle = [connect(p, timeout=2) for _ in range(3)]
        for sock in idle:
            assert request(sock, "/conformance") is not None
        with connect(p, timeout=2) as sock:  # one idle connection is closed for it
            answer = request(sock, "/conformance")
            assert answer is not None
            assert answer[0] == 200
        for sock in idle:
            sock.settimeout(0.2)
        assert sum(closed(sock) for sock in idle) == 1
        busy = [connect(p, timeout=2) for _ in range(3)]
        for sock in busy:  # heads begun: not idle, nothing to close
            sock.sendall(b"GET / HTTP/1.1\r\n")
        time.sleep(0.2)
        with connect(p, timeout=2) as sock:
            assert closed(sock)
        for sock in idle + busy:
            sock.close()


# 405


def test_every_405_names_the_allowed_methods(live_url: str) -> None:
    """TRACE on every path of the OpenAPI document (and a static file): 405 + Allow."""
    spec = httpx.get(f"{live_url}/api", headers={"Accept": "application/json"}).json()
    paths = [
        re.sub(r"\{[^}]+\}", "1", p).replace("/1/items", "/street_lights/items")
        for p in spec["paths"]
    ]
    static = next((ROOT / "api" / "static").rglob("*.js")).relative_to(ROOT / "api")
    seen = 0
    with httpx.Client(base_url=live_url) as client:
        answers = [
            (path, client.request("TRACE", path))
            for path in [*paths, f"/{static.as_posix()}"]
        ]
    for path, answer in answers:
        if answer.status_code == 404:
            continue
        assert answer.status_code == 405, path
        allow = {m.strip() for m in answer.headers["allow"].split(",")}
        assert "GET" in allow or "POST" in allow, path
        assert "TRACE" not in allow
        seen += 1
    assert seen >= len(paths) // 2


# the shipped configuration


def test_the_shipped_defaults_are_the_readme_s() -> None:
    readme = (ROOT / "README.md").read_text()
    defaults = HttpSettings()
    for name, value in defaults.model_dump().items():
        row = next(
            (r for r in readme.splitlines() if f"DOTHI_HTTP__{name.upper()}`" in r),
            None,
        )
        assert row is not None, (
            f"README's limits table lacks DOTHI_HTTP__{name.upper()}"
        )
        shown = f"{value:,}" if isinstance(value, int) else f"{value:g} s"
        assert shown in row, (name, shown, row)
    config = server_config("api.app:app_from_env", Settings(), host="::1", port=1)
    assert config.http is LimitedHttpToolsProtocol
    assert config.timeout_keep_alive == defaults.keep_alive_timeout_s == 75
    assert config.ws == "none"
    assert config.limit_concurrency is None  # ours answers problem+json instead


def test_uvicorn_is_the_version_the_protocol_was_written_for() -> None:
    """LimitedHttpToolsProtocol overrides uvicorn internals: re-read them on upgrade
    (uvicorn/protocols/http/httptools_impl.py) before changing this pin."""
    assert uvicorn.__version__.split(".")[:2] == ["0", "54"]
    lock = (ROOT / "uv.lock").read_text()
    assert re.search(r'name = "uvicorn"\nversion = "0\.54\.', lock)


def test_an_answer_nobody_reads_is_cut_and_frees_its_slot(city_url: str) -> None:
    """Found in review: clients that ask for large pages and never read them held
    the worker's request slots for ever (every other caller got the busy 503)."""
    http = HttpSettings(max_concurrent_requests=2, write_timeout_s=1.0)
    big = b"/collections/env_observations/items?limit=10000"
    with serving(city_url, http) as p:
        stalled = []
        for _ in range(2):
            sock = socket.socket()
            # a tiny window: the answer backs up into the server's buffers at once
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 2048)
            sock.connect(("127.0.0.1", p))
            # pipelined: more than the kernel's send buffer (4 MB here) can absorb
            sock.sendall((b"GET " + big + b" HTTP/1.1\r\n" + HEAD + b"\r\n") * 4)
            stalled.append(sock)
        try:
            time.sleep(0.5)
            with connect(p) as sock:  # both slots are taken by unread answers
                busy = request(sock)
                assert busy is not None and busy[0] == 503
            deadline = time.monotonic() + 10
            while True:  # cut after the write timeout: the slots are free again
                with connect(p) as sock:
                    answer = request(sock, "/conformance")
                assert answer is not None
                if answer[0] == 200:
                    break
                assert time.monotonic() < deadline, "the unread answers were kept"
                time.sleep(0.3)
        finally:
            for sock in stalled:
                sock.close()
