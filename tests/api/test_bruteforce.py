"""Password guessing (issue 11, finding 3) and revocation that bites at once (finding 7).

The servers here run the shipped limits. Guesses are counted at the argon2 hasher
itself (a counting subclass with the production parameters), the server's CPU and
memory in a subprocess of its own.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient

import auth.passwords
import auth.signin
from api.app import create_app
from auth.accounts import add_user, set_password
from auth.api_keys import create_api_key
from auth.signin import verify_password
from gis.db.embedded import free_port
from gis.db.urls import libpq_url
from gis.settings import LimitSettings, Settings
from tests.conftest import served

STRONG = "biển-xanh-cát-trắng-2025"
ATTACKER = "203.0.113.7"
REAL_USER = "198.51.100.9"
ROOT = Path(__file__).resolve().parents[2]
REPORT = {
    "type": "Feature",
    "geometry": {"type": "Point", "coordinates": [108.1, 10.93]},
    "properties": {"report_code": "PA-BF-1", "category": "lighting",
                   "description": "Đèn đường hỏng"},
}  # fmt: skip


class Counting(PasswordHasher):
    """The production hasher's parameters, counting the checks it makes."""

    def __init__(self) -> None:
        prod = auth.passwords.PASSWORD_HASHER
        super().__init__(prod.time_cost, prod.memory_cost, prod.parallelism)
        self.checks = 0
        self._lock = threading.Lock()

    def verify(self, hash: str | bytes, password: str | bytes) -> Any:
        with self._lock:
            self.checks += 1
        return super().verify(hash, password)


@pytest.fixture
def hasher(monkeypatch: pytest.MonkeyPatch) -> Counting:
    counting = Counting()
    monkeypatch.setattr(auth.passwords, "PASSWORD_HASHER", counting)
    return counting


@pytest.fixture
def live(db_url: str) -> Iterator[str]:
    """The app with the shipped limits, served by uvicorn on loopback; uvicorn trusts
    loopback's X-Forwarded-For, so each request says which address it comes from."""
    with served(Settings(), db_url) as url:
        yield url


def _from(address: str) -> dict[str, str]:
    return {"X-Forwarded-For": address}


@dataclass
class Answer:
    status_code: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


async def _get(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, headers: dict[str, str]
) -> Answer:
    """One keep-alive GET /collections: a bare HTTP/1.1 client, so the attacker's
    own overhead (httpx's, with hundreds of connections) does not hide the server's."""
    lines = ["GET /collections HTTP/1.1", "Host: 127.0.0.1"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
    status = int((await reader.readline()).split()[1])
    answer_headers: dict[str, str] = {}
    while (line := (await reader.readline()).strip()) != b"":
        name, _, value = line.decode().partition(":")
        answer_headers[name.strip().lower()] = value.strip()
    body = await reader.readexactly(int(answer_headers.get("content-length", "0")))
    return Answer(status, answer_headers, body)


def add_users(db_url: str) -> None:
    """The real user ``lan``, and two others whose first sign-ins set the bound."""
    for name in ("lan", "warm", "quiet"):
        add_user(db_url, name, STRONG, ["land_officer"], ward_codes=["22945"])


def attack(
    url: str, auth: Any, *, n: int = 500, in_flight: int = 200
) -> tuple[list[Answer], float]:
    """``n`` guesses from the attacker's address over ``in_flight`` connections at
    once; their answers, and how long the real user's first sign-in took, from
    another address, when half of them had been answered."""
    # made beforehand: a client's TLS set-up alone takes 0.1-0.5 s on a busy box
    with httpx.Client(base_url=url, timeout=60) as user:
        quiet = 0.0
        for i, name in enumerate(("warm", "quiet")):  # first sign-ins, no attack
            start = time.perf_counter()
            r = user.get(
                "/collections", auth=(name, STRONG), headers=_from(f"192.0.2.{i}")
            )
            assert r.status_code == 200
            quiet = time.perf_counter() - start
        answers, real_s = asyncio.run(
            _attack(url, auth, user, n=n, in_flight=in_flight)
        )
    # 1 s, the requirement, on a box of its own; when other work slows even a quiet
    # sign-in, the bound grows with it (before the fix: 24 s to over 120 s)
    assert real_s < max(1.0, 4 * quiet), (real_s, quiet)
    print(f"\nfirst sign-in: {real_s:.3f} s under attack, {quiet:.3f} s quiet")  # noqa: T201
    return answers, real_s


async def _attack(
    url: str, auth: Any, user: httpx.Client, *, n: int, in_flight: int
) -> tuple[list[Answer], float]:
    host, port = url.removeprefix("http://").split(":")
    answers: list[Answer] = []
    todo = iter(range(n))
    real: dict[str, Any] = {}

    def sign_in() -> None:
        start = time.perf_counter()
        r = user.get("/collections", auth=("lan", STRONG), headers=_from(REAL_USER))
        real["s"] = time.perf_counter() - start
        real["status"] = r.status_code

    async def connection() -> None:
        reader, writer = await asyncio.open_connection(host, int(port))
        for i in todo:
            headers = {"Authorization": _basic(*auth(i)), **_from(ATTACKER)}
            answers.append(await _get(reader, writer, headers))
            if len(answers) == n // 2:  # the attack in full swing: the user signs in
                real["thread"] = asyncio.create_task(asyncio.to_thread(sign_in))
        writer.close()

    await asyncio.gather(*(connection() for _ in range(in_flight)))
    await real["thread"]
    assert real["status"] == 200
    return answers, real["s"]


def _assert_stopped(answers: list[Answer], budget: int) -> None:
    """At most ``budget`` guesses were checked (401); every other one was refused
    with a wait: 429, or 503 when the worker's concurrency cap was full."""
    statuses = [r.status_code for r in answers]
    assert set(statuses) <= {401, 429, 503}
    assert statuses.count(401) <= budget
    assert statuses.count(429) >= len(answers) // 2
    for r in answers:
        if r.status_code != 401:
            assert r.headers["content-type"] == "application/problem+json"
            assert int(r.headers["retry-after"]) >= 1


def test_guessing_one_accounts_password_is_stopped_at_the_budget(
    live: str, db_url: str, hasher: Counting
) -> None:
    """Finding 3: 500 wrong passwords, 200 in flight, from one address; the real
    user, from another, signs in within a second while it runs."""
    add_users(db_url)
    hasher.checks = 0
    start = time.perf_counter()
    answers, _ = attack(live, lambda i: ("lan", f"guess-{i:04d}x"))
    wall = time.perf_counter() - start
    # the account locks after LOCKOUT_AFTER checks from the address: no more run
    _assert_stopped(answers, auth.signin.LOCKOUT_AFTER)
    assert hasher.checks <= auth.signin.LOCKOUT_AFTER + 3  # + the 3 real sign-ins
    assert len(answers) == 500
    assert wall < 30


def test_guessing_many_names_from_one_address_is_stopped_at_the_budget(
    live: str, db_url: str, hasher: Counting
) -> None:
    """Password spraying: a different name each time (no lockout is reached), so the
    address's budget of checks is what stops it."""
    add_users(db_url)
    hasher.checks = 0
    answers, _ = attack(live, lambda i: (f"name{i:04d}", STRONG), n=300, in_flight=100)
    budget = LimitSettings().sign_in_burst + 1  # + one refilled while it runs
    _assert_stopped(answers, budget)
    assert hasher.checks <= budget + 3
    r = max(answers, key=lambda r: r.status_code)
    assert "thử lại sau" in r.json()["detail"]  # retry after, in Vietnamese


def test_the_lockout_does_not_lock_the_real_user_out(
    live: str, db_url: str, hasher: Counting
) -> None:
    """The rule: the lockout is per (account, address). The attacker's address is
    locked out of the account; the user's own address never is, and from the
    attacker's address (a shared NAT) the right password gets in once the back-off
    has passed."""
    add_user(db_url, "lan", STRONG, ["planner"])
    with httpx.Client(base_url=live) as c:
        for i in range(auth.signin.LOCKOUT_AFTER):
            r = c.get(
                "/collections", auth=("lan", f"wrong-{i}"), headers=_from(ATTACKER)
            )
            assert r.status_code == 401
        locked = c.get("/collections", auth=("lan", STRONG), headers=_from(ATTACKER))
        assert locked.status_code == 429
        assert 1 <= int(locked.headers["retry-after"]) <= auth.signin.LOCKOUT_FIRST_S
        ok = c.get("/collections", auth=("lan", STRONG), headers=_from(REAL_USER))
        assert ok.status_code == 200
        _pass_the_lock(db_url)
        again = c.get("/collections", auth=("lan", STRONG), headers=_from(ATTACKER))
        assert again.status_code == 200


def _pass_the_lock(db_url: str) -> None:
    """Move every lock into the past, as if its back-off had been waited out."""
    with psycopg.connect(libpq_url(db_url), autocommit=True) as conn:
        conn.execute(
            "UPDATE sign_in_failure SET locked_until = now() - interval '1 second', "
            "last_attempt_at = now() - interval '1 second'"
        )


def test_old_hashes_verify_and_are_rehashed_with_the_box_parameters(
    db_url: str,
) -> None:
    """argon2-cffi's default (64 MiB, t=3, p=4) made the stored hashes so far."""
    prod = auth.passwords.PASSWORD_HASHER
    # OWASP's argon2id minimum: m=19 MiB, t=2, p=1 (or m=46 MiB, t=1)
    assert prod.memory_cost >= 19 * 1024 and prod.time_cost >= 2
    assert prod.memory_cost <= 32 * 1024  # what two checks at once may take
    add_user(db_url, "lan", STRONG, ["planner"])
    with psycopg.connect(libpq_url(db_url), autocommit=True) as conn:
        conn.execute(
            "UPDATE app_user SET password_hash = %s", (PasswordHasher().hash(STRONG),)
        )
    assert verify_password(db_url, "lan", STRONG) is not None
    with psycopg.connect(libpq_url(db_url)) as conn:
        stored = conn.execute("SELECT password_hash FROM app_user").fetchone()[0]
    assert f"m={prod.memory_cost},t={prod.time_cost},p={prod.parallelism}" in stored
    start = time.perf_counter()
    assert verify_password(db_url, "lan", STRONG) is not None
    assert time.perf_counter() - start < 0.5  # 32 ms measured, with a connection


# ------------------------------------------------------- revocation bites at once


def _dothi(db_url: str, *args: str) -> None:
    """The documented command, as an administrator runs it."""
    env = {**os.environ, "DOTHI_DB__URL": db_url}
    done = subprocess.run(
        [sys.executable, "-m", "dothi.cli", *args],
        env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr


@pytest.fixture
def two_apps(db_url: str) -> Iterator[tuple[TestClient, TestClient]]:
    """Two app instances on one database: two processes as far as caches go."""
    settings = Settings()
    with (
        TestClient(create_app(settings, database_url=db_url)) as one,
        TestClient(create_app(settings, database_url=db_url)) as two,
    ):
        yield one, two


def test_a_disabled_account_stops_at_once_everywhere(
    two_apps: tuple[TestClient, TestClient], db_url: str, hasher: Counting
) -> None:
    """Finding 7: remembered Basic credentials stop at the very next request."""
    one, two = two_apps
    add_user(db_url, "hoa", STRONG, ["citizen"])
    auth = ("hoa", STRONG)
    for app in (one, two):
        assert app.get("/collections", auth=auth).status_code == 200
    checks = hasher.checks
    r = one.post(
        "/collections/field_reports/items", content=json.dumps(REPORT), auth=auth,
        headers={"Content-Type": "application/geo+json"},
    )  # fmt: skip
    assert r.status_code == 201, r.text
    assert hasher.checks == checks  # remembered: no second argon2 check
    _dothi(db_url, "user", "disable", "hoa")
    for app in (one, two):
        assert app.get("/collections", auth=auth).status_code == 401
    r = one.post(
        "/collections/field_reports/items", content=json.dumps(REPORT), auth=auth,
        headers={"Content-Type": "application/geo+json"},
    )  # fmt: skip
    assert r.status_code == 401


def test_a_changed_password_or_role_ends_remembered_sign_ins(
    two_apps: tuple[TestClient, TestClient], db_url: str, hasher: Counting
) -> None:
    one, two = two_apps
    add_user(db_url, "hoa", STRONG, ["citizen"])
    for app in (one, two):
        assert app.get("/collections", auth=("hoa", STRONG)).status_code == 200
    with psycopg.connect(libpq_url(db_url), autocommit=True) as conn:
        conn.execute("UPDATE app_user SET roles = '{security_officer}'")
    for app in (one, two):  # checked again: the new role shows at once
        ids = {
            c["id"]
            for c in app.get("/collections", auth=("hoa", STRONG)).json()["collections"]
        }
        assert "cameras" in ids
    set_password(db_url, "hoa", "mưa-rào-tháng-sáu-88")
    for app in (one, two):
        assert app.get("/collections", auth=("hoa", STRONG)).status_code == 401


def test_a_rehash_keeps_the_sign_in_remembered(db_url: str, hasher: Counting) -> None:
    """The version the rehash bumps is the one remembered: no check per request."""
    add_user(db_url, "lan", STRONG, ["planner"])
    with psycopg.connect(libpq_url(db_url), autocommit=True) as conn:
        old = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash(STRONG)
        conn.execute("UPDATE app_user SET password_hash = %s", (old,))
    with TestClient(create_app(Settings(), database_url=db_url)) as c:
        for _ in range(5):
            assert c.get("/collections", auth=("lan", STRONG)).status_code == 200
    assert hasher.checks == 1


def test_a_revoked_key_stops_at_once_everywhere(
    two_apps: tuple[TestClient, TestClient], db_url: str
) -> None:
    one, two = two_apps
    key = create_api_key(db_url, "provincial IOC", ["ioc_operator"])
    for app in (one, two):
        assert (
            app.get("/collections/cameras", headers={"X-API-Key": key}).status_code
            == 200
        )
    _dothi(db_url, "key", "revoke", key.split("_")[1])
    for app in (one, two):
        assert app.get("/collections", headers={"X-API-Key": key}).status_code == 401


# ------------------------------------------------- the server's CPU and memory


def _proc(pid: int) -> tuple[float, int]:
    """CPU seconds (user + system) and peak RSS in KiB of process ``pid``."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    cpu = (int(fields[11]) + int(fields[12])) / ticks
    status = Path(f"/proc/{pid}/status").read_text()
    hwm = next(
        int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM")
    )
    return cpu, hwm


@pytest.fixture
def server_process(db_url: str) -> Iterator[tuple[str, int]]:
    """``uvicorn --factory api.app:app_from_env`` with the shipped settings."""
    port = free_port()
    env = {**os.environ, "DOTHI_DB__URL": db_url, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "--factory", "api.app:app_from_env",
         "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
        cwd=ROOT, env=env,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            httpx.get(f"{url}/conformance", timeout=1)
            break
        except httpx.TransportError:
            assert proc.poll() is None and time.monotonic() < deadline
            time.sleep(0.1)
    yield url, proc.pid
    proc.terminate()
    proc.wait(timeout=30)


def test_500_guesses_cost_the_server_little_cpu_and_memory(
    server_process: tuple[str, int], db_url: str
) -> None:
    """Measured on the 2-core box before the fix: 1.8 cores busy for a minute and
    1.4 GB for 500 guesses. The figures are printed for the issue's note."""
    url, pid = server_process
    add_users(db_url)
    cpu0, _ = _proc(pid)
    start = time.perf_counter()
    answers, real_s = attack(url, lambda i: ("lan", f"guess-{i:04d}x"))
    wall = time.perf_counter() - start
    cpu1, hwm = _proc(pid)
    print(  # noqa: T201 - the figures for the report
        f"\n500 guesses: server CPU {cpu1 - cpu0:.2f} s, peak RSS {hwm / 1024:.0f} MiB, "
        f"wall {wall:.2f} s, real user {real_s * 1000:.0f} ms"
    )
    _assert_stopped(answers, auth.signin.LOCKOUT_AFTER)
    assert cpu1 - cpu0 < 10
    assert hwm < 400 * 1024
