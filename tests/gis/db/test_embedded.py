"""The embedded cluster: start, reuse, restart with data kept, clear install hints."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest

from gis.db.embedded import EmbeddedCluster
from gis.db.urls import libpq_url
from gis.errors import EmbeddedClusterError


def test_restart_keeps_data_and_reuses_running_cluster(tmp_path: Path) -> None:
    cluster = EmbeddedCluster(tmp_path / "city")
    url = libpq_url(cluster.start())
    assert cluster.started_here
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE TABLE kept (v text)")
        conn.execute("INSERT INTO kept VALUES ('đô thị')")
    # a second handle on the same folder reuses the running server
    again = EmbeddedCluster(tmp_path / "city")
    assert libpq_url(again.start()) == url
    assert not again.started_here
    cluster.stop()
    assert cluster.running_port() is None
    restarted = EmbeddedCluster(tmp_path / "city")
    with psycopg.connect(libpq_url(restarted.start())) as conn:
        assert conn.execute("SELECT v FROM kept").fetchone() == ("đô thị",)
        assert conn.execute("SHOW fsync").fetchone() == ("on",)
        assert conn.execute("SHOW listen_addresses").fetchone() == ("127.0.0.1",)
    restarted.destroy()


def test_password_file_is_private(tmp_path: Path) -> None:
    cluster = EmbeddedCluster(tmp_path / "c")
    cluster.start()
    try:
        assert cluster.password_file.stat().st_mode & 0o077 == 0
        assert (tmp_path / "c" / "postgresql.log").exists() or (
            cluster.pgdata / "server.log"
        ).exists()
    finally:
        cluster.destroy()


def test_missing_postgresql_names_the_package(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DOTHI_PG_BINDIR", str(tmp_path / "nothing"))
    monkeypatch.setenv("PATH", str(tmp_path))
    import gis.db.embedded as embedded

    monkeypatch.setattr(embedded.Path, "glob", lambda *_: iter(()))
    with pytest.raises(EmbeddedClusterError, match="apt-get install postgresql-15"):
        EmbeddedCluster(tmp_path / "x").start()


def test_missing_postgis_names_the_package(tmp_path: Path) -> None:
    fake = tmp_path / "usr" / "lib" / "postgresql" / "99" / "bin"
    fake.mkdir(parents=True)
    from gis.db.embedded import check_postgis

    with pytest.raises(EmbeddedClusterError, match="postgresql-99-postgis-3"):
        check_postgis(fake)


def test_a_manual_pg_ctl_start_listens_on_the_clusters_own_port(tmp_path: Path) -> None:
    cluster = EmbeddedCluster(tmp_path / "city")
    url = libpq_url(cluster.start())
    try:
        port = cluster.port
        assert cluster.pg_ctl("-m", "fast", "-w", "stop").returncode == 0
        # as an operator would, without any port: the cluster's own config has it
        assert cluster.pg_ctl("-w", "start").returncode == 0
        assert EmbeddedCluster(tmp_path / "city").running_port() == port
        with psycopg.connect(url) as conn:
            assert conn.execute("SHOW port").fetchone() == (str(port),)
            assert conn.execute("SHOW listen_addresses").fetchone() == ("127.0.0.1",)
    finally:
        cluster.destroy()


def _dothi(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("DOTHI_DB__URL", "DATABASE_URL")}  # fmt: skip
    return subprocess.run([sys.executable, "-m", "dothi.cli", *args], env=env,
                          capture_output=True, text=True, timeout=300, check=False)  # fmt: skip


def test_a_cluster_left_by_a_crashed_dothi_is_adopted_and_stopped(
    tmp_path: Path,
) -> None:
    data = tmp_path / "city"
    # a dothi that started the cluster, then died without stopping it (kill -9)
    crashed = subprocess.run(
        [sys.executable, "-c", "import os, signal, sys; from pathlib import Path; "
         "from gis.db.embedded import EmbeddedCluster; "
         "EmbeddedCluster(Path(sys.argv[1])).start(); os.kill(os.getpid(), signal.SIGKILL)",
         str(data)],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert crashed.returncode == -signal.SIGKILL, crashed.stderr
    assert EmbeddedCluster(data).running_port() is not None
    try:
        served = _dothi("serve", "--no-serve", "--data-dir", str(data))
        assert served.returncode == 0, served.stderr
        assert "adopting" in served.stderr
        assert "embedded PostgreSQL stopped" in served.stderr
        assert EmbeddedCluster(data).running_port() is None
    finally:
        EmbeddedCluster(data).destroy()


def test_a_cluster_whose_dothi_still_runs_is_left_running(tmp_path: Path) -> None:
    data = tmp_path / "city"
    cluster = EmbeddedCluster(data)
    cluster.start()  # this process is the running dothi that owns it
    try:
        served = _dothi("serve", "--no-serve", "--data-dir", str(data))
        assert served.returncode == 0, served.stderr
        assert f"reusing (run by dothi process {os.getpid()}" in served.stderr
        assert "embedded PostgreSQL stopped" not in served.stderr
        assert cluster.running_port() == cluster.port
    finally:
        cluster.destroy()


def test_a_postgres_killed_with_9_starts_again_over_its_stale_pid_file(
    tmp_path: Path,
) -> None:
    cluster = EmbeddedCluster(tmp_path / "city")
    url = libpq_url(cluster.start())
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("CREATE TABLE kept (v int)")
            conn.execute("INSERT INTO kept VALUES (1)")
        pidfile = cluster.pgdata / "postmaster.pid"
        lines = pidfile.read_text().splitlines()
        os.kill(int(lines[0]), signal.SIGKILL)
        _wait_for_port_closed(cluster.port)
        # its number now belongs to another process (here: this one): PostgreSQL
        # would take the file for a live postmaster's and refuse to start
        pidfile.write_text("\n".join([str(os.getpid()), *lines[1:]]) + "\n")
        assert cluster.running_port() is None
        again = EmbeddedCluster(tmp_path / "city")
        again.start(timeout=30)
        assert again.started_here
        with psycopg.connect(libpq_url(again.url("postgres"))) as conn:
            assert conn.execute("SELECT v FROM kept").fetchone() == (1,)
    finally:
        cluster.destroy()


def _wait_for_port_closed(port: int | None) -> None:
    """Until the killed postmaster's children are gone too (shared memory freed)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port or 0), timeout=1):
                pass
        except OSError:
            break
        time.sleep(0.1)
    time.sleep(1)
