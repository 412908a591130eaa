"""The embedded cluster: start, reuse, restart with data kept, clear install hints."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from gis.db import libpq_url
from gis.embedded import EmbeddedCluster
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
    import gis.embedded as embedded

    monkeypatch.setattr(embedded.Path, "glob", lambda *_: iter(()))
    with pytest.raises(EmbeddedClusterError, match="apt-get install postgresql-15"):
        EmbeddedCluster(tmp_path / "x").start()


def test_missing_postgis_names_the_package(tmp_path: Path) -> None:
    fake = tmp_path / "usr" / "lib" / "postgresql" / "99" / "bin"
    fake.mkdir(parents=True)
    from gis.embedded import check_postgis

    with pytest.raises(EmbeddedClusterError, match="postgresql-99-postgis-3"):
        check_postgis(fake)
