"""PostgreSQL restarting or down: every answer is a 200 or a fast 503 with Retry-After
and a problem body, never a 500, a hang or a traceback in the log; the server takes
up again by itself when the database is back, without a restart of its own.

These tests stop and start a cluster of their own (never the session's).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import psycopg
import pytest
import uvicorn

from api.app import create_app
from gis.db.embedded import EmbeddedCluster, free_port
from gis.db.migrate import migrate
from gis.db.urls import ensure_database, libpq_url
from migrations import MIGRATIONS_DIR
from tests.api.principals import bearer, settings

WARD = "22945"
OFFICER = bearer("land_officer", wards=(WARD,), sub="outage")
PARCELS = "/collections/land_parcels/items"
READS = (
    "/collections/street_lights/items?limit=2",
    "/collections/trees/items?limit=1",
    "/collections/street_lights",
)
SQUARE = [[[108.10, 10.93], [108.1003, 10.93], [108.1003, 10.9303],
           [108.10, 10.9303], [108.10, 10.93]]]  # fmt: skip
FAST_S = 5.0  # a 503 comes at most this late (the pool waits 3 s by default)


@dataclass(frozen=True)
class Answer:
    """One request as a client saw it."""

    path: str
    started: float
    took: float
    status: int
    headers: dict[str, str]
    body: bytes


@pytest.fixture(scope="module")
def own_city(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, str]]:
    """A small demo city on a cluster of its own, to be stopped and started."""
    from dothi.demo import build_demo

    cluster = EmbeddedCluster(tmp_path_factory.mktemp("outage"))
    url = ensure_database(cluster.start(), "city")
    migrate(url, MIGRATIONS_DIR)
    build_demo(url, seed=0.5, scale=0.01, open_data=None)
    yield cluster, url
    cluster.destroy()


class Server:
    """The app under uvicorn on a free loopback port, in a thread."""

    def __init__(self, url: str) -> None:
        self.port = free_port()
        config = uvicorn.Config(
            create_app(settings(), database_url=url),
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> str:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started and time.monotonic() < deadline:
            time.sleep(0.05)
        assert self.server.started, "uvicorn did not start"
        return f"http://127.0.0.1:{self.port}"

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)


class Records(logging.Handler):
    """Every log record of WARNING and above, from every thread."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def records() -> Iterator[Records]:
    handler = Records()
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield handler
    finally:
        root.removeHandler(handler)


def _call(c: httpx.Client, method: str, path: str, **kw: Any) -> Answer:
    t0 = time.monotonic()
    r = c.request(method, path, **kw)
    return Answer(path, t0, time.monotonic() - t0, r.status_code, dict(r.headers),
                  r.content)  # fmt: skip


def _reader(base: str, stop: threading.Event, out: list[Answer]) -> None:
    with httpx.Client(base_url=base, timeout=60) as c:
        while not stop.is_set():
            for path in READS:
                out.append(_call(c, "GET", path))


def _writer(base: str, stop: threading.Event, out: list[Answer]) -> None:
    with httpx.Client(base_url=base, timeout=60) as c:
        n = 0
        while not stop.is_set():
            n += 1
            body = {
                "type": "Feature",
                "geometry": {"type": "Polygon", "coordinates": SQUARE},
                "properties": {"ward_code": WARD, "sheet_no": 901, "parcel_no": n,
                               "land_use": "ODT"},
            }  # fmt: skip
            out.append(_call(c, "POST", PARCELS, content=json.dumps(body),
                             headers={**OFFICER, "Content-Type": "application/geo+json"}))  # fmt: skip
            time.sleep(0.02)


def _check_refusals(answers: list[Answer]) -> None:
    """Every answer a 200/201 or a fast 503 problem with Retry-After."""
    statuses = {a.status for a in answers}
    assert statuses <= {200, 201, 503}, sorted(statuses)
    for a in answers:
        assert a.took < FAST_S, (a.path, a.status, a.took)
        if a.status == 503:
            assert int(a.headers["retry-after"]) > 0
            assert a.headers["content-type"].startswith("application/problem+json")
            problem = json.loads(a.body)
            assert problem["status"] == 503 and problem["request_id"]


def _check_log(records: Records) -> None:
    """No traceback, no error line; a few rate-limited warnings at most."""
    assert [r for r in records.records if r.exc_info] == []
    assert [r.getMessage() for r in records.records if r.levelno >= logging.ERROR] == []
    ours = [r for r in records.records if r.name.startswith("dothi")]
    assert len(ours) <= 5, [r.getMessage() for r in ours]


def test_restart_and_outage_under_load(
    own_city: tuple[EmbeddedCluster, str], records: Records
) -> None:
    cluster, url = own_city
    reads: list[Answer] = []
    writes: list[Answer] = []
    stop = threading.Event()
    with Server(url) as base:
        clients = [threading.Thread(target=_reader, args=(base, stop, reads))
                   for _ in range(3)]  # fmt: skip
        clients.append(threading.Thread(target=_writer, args=(base, stop, writes)))
        for t in clients:
            t.start()
        try:
            time.sleep(1.5)
            assert cluster.pg_ctl("-m", "fast", "-w", "restart").returncode == 0
            time.sleep(2)
            assert cluster.pg_ctl("-m", "fast", "-w", "stop").returncode == 0
            down = time.monotonic()
            # three times the pool's wait and more: requests that start while it
            # is down give up on it (a 503) before it comes back, even when a
            # reader is still held by a request made before the stop (a loaded
            # CI box once left 7 s with no whole /items request in it)
            time.sleep(10)
            starting = time.monotonic()
            # as an operator would: the port comes from the cluster's own config
            assert cluster.pg_ctl("-w", "start").returncode == 0
            back = time.monotonic()
            time.sleep(5)
        finally:
            stop.set()
            for t in clients:
                t.join(timeout=60)
    answers = reads + writes
    _check_refusals(answers)
    # pages of features need PostgreSQL (a collection's description may be cached)
    # (answered before the start began: a request waiting for the pool may get its
    # connection from the server coming back, a 200, before pg_ctl returns)
    during = [
        a
        for a in reads
        if down <= a.started and a.started + a.took < starting and "/items" in a.path
    ]
    assert during and {a.status for a in during} == {503}
    # back by itself: the first read that came after PostgreSQL did succeeded soon
    after = [a for a in reads if a.started >= back]
    first_ok = min(a.started + a.took for a in after if a.status == 200)
    assert first_ok - back < 3.0
    settled = [a for a in answers if a.started >= back + 3.0]
    assert settled and {a.status for a in settled} <= {200, 201}
    _check_log(records)
    # a write answered 201 is stored; one refused with a 503 said it may not be
    created = [int(a.headers["location"].rsplit("/", 1)[1])
               for a in writes if a.status == 201]  # fmt: skip
    with psycopg.connect(libpq_url(url)) as conn:
        stored = conn.execute(
            "SELECT count(*) FROM land_parcel WHERE id = ANY(%s)", (created,)
        ).fetchone()
    assert stored == (len(created),)
    refused = [json.loads(a.body)["detail"] for a in writes if a.status == 503]
    # (in the caller's language: Vietnamese by default)
    assert all("có thể chưa được ghi" in d for d in refused)


def test_database_down_at_start_then_back(
    own_city: tuple[EmbeddedCluster, str], records: Records
) -> None:
    cluster, url = own_city
    assert cluster.pg_ctl("-m", "fast", "-w", "stop").returncode == 0
    try:
        t0 = time.monotonic()
        with Server(url) as base, httpx.Client(base_url=base, timeout=60) as c:
            assert time.monotonic() - t0 < FAST_S  # the server starts all the same
            down = [_call(c, "GET", READS[0])]
            assert cluster.pg_ctl("-w", "start").returncode == 0
            back = time.monotonic()
            while (a := _call(c, "GET", READS[0])).status != 200:
                assert time.monotonic() - back < 5.0, "no recovery"
                down.append(a)
    finally:
        cluster.pg_ctl("-w", "start")
    _check_refusals(down)
    assert down[0].status == 503
    _check_log(records)
    assert any("not reachable at start" in r.getMessage() for r in records.records)
