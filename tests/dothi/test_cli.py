"""The README's path: ``dothi demo`` and ``dothi serve`` on an embedded cluster."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from gis.db.embedded import EmbeddedCluster, free_port


def _env() -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DOTHI_DB__URL", "DATABASE_URL")
    }
    env["PYTHONUNBUFFERED"] = "1"
    return env


def _dothi(
    *args: str, db_url: str | None = None, stdin: str = ""
) -> subprocess.CompletedProcess[str]:
    """Run ``dothi`` as a user would; with ``db_url`` it uses that database."""
    env = _env() | ({"DOTHI_DB__URL": db_url} if db_url else {})
    return subprocess.run(
        [sys.executable, "-m", "dothi.cli", *args],
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def test_demo_then_serve_then_stop(tmp_path: Path) -> None:
    data = tmp_path / "city"
    first = _dothi(
        "demo",
        "--no-serve",
        "--scale",
        "0.02",
        "--open-data",
        str(tmp_path / "no-open-data"),
        "--data-dir",
        str(data),
    )
    assert first.returncode == 0, first.stderr
    assert "started embedded PostgreSQL" in first.stderr
    assert EmbeddedCluster(data).running_port() is None  # stopped when done
    second = _dothi("demo", "--no-serve", "--scale", "0.02", "--data-dir", str(data))
    assert second.returncode == 0, second.stderr
    assert "only into an empty database" in second.stderr  # the city is left alone

    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "dothi.cli",
            "serve",
            "--port",
            str(port),
            "--data-dir",
            str(data),
        ],
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        body = None
        for _ in range(300):
            try:
                r = httpx.get(f"http://127.0.0.1:{port}/collections", timeout=5)
                body = r.json()
                break
            except httpx.HTTPError:
                time.sleep(0.2)
        assert body is not None, "dothi serve did not answer"
        ids = {c["id"] for c in body["collections"]}
        assert {"land_parcels", "trees", "street_lights"} <= ids
        assert "cameras" not in ids
        items = httpx.get(f"http://127.0.0.1:{port}/collections/trees/items").json()
        assert items["numberReturned"] == 10
        assert EmbeddedCluster(data).running_port() is not None
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert "embedded PostgreSQL stopped" in err
    assert EmbeddedCluster(data).running_port() is None
    EmbeddedCluster(data).destroy()


def test_layers_command_lists_the_catalogue() -> None:
    out = _dothi("layers")
    assert out.returncode == 0, out.stderr
    assert "land_parcels" in out.stdout
    assert "cameras" in out.stdout and "restricted" in out.stdout


def test_db_current_with_a_url_never_runs_initdb(db_url: str, tmp_path: Path) -> None:
    out = _dothi("db", "current", "--data-dir", str(tmp_path / "unused"), db_url=db_url)
    assert out.returncode == 0, out.stderr
    assert "(head)" in out.stdout + out.stderr
    assert not (tmp_path / "unused").exists()


def test_import_command_on_real_data(db_url: str, tmp_path: Path) -> None:
    from tests.conftest import shared_data

    trees = str(shared_data("montpellier-street-trees/montpellier_trees_2014.gpkg"))
    unused = str(tmp_path / "unused")
    out = _dothi(
        "import",
        "trees",
        trees,
        "--src-layer",
        "street_trees",
        "--map",
        "BOTANIQUE=species_scientific",
        "--map",
        "HAUTEUR_M=height_m",
        "--set",
        "category=public",
        "--data-dir",
        unused,
        db_url=db_url,
    )
    assert out.returncode == 0, out.stderr
    assert "23972" in out.stdout.replace(",", "")
    bad = _dothi(
        "import",
        "trees",
        trees,
        "--src-layer",
        "street_trees",
        "--map",
        "BOTANIQUE=no_such_column",
        "--data-dir",
        unused,
        db_url=db_url,
    )
    assert bad.returncode == 2
    assert "no_such_column" in bad.stderr
    assert "Traceback" not in bad.stderr
    unknown = _dothi("import", "nope", trees, db_url=db_url)
    assert unknown.returncode != 0
    assert "unknown layer" in unknown.stderr


def test_db_downgrade_and_upgrade_commands(db_url: str, tmp_path: Path) -> None:
    def db(*args: str) -> str:
        out = _dothi("db", *args, "--data-dir", str(tmp_path / "unused"), db_url=db_url)
        assert out.returncode == 0, out.stderr
        return out.stdout + out.stderr

    db("downgrade", "0003")
    assert "0003" in db("current")
    db("upgrade")
    assert "(head)" in db("current")


def test_user_and_key_commands(db_url: str, tmp_path: Path) -> None:
    def dothi(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        return _dothi(
            *args, "--data-dir", str(tmp_path / "u"), db_url=db_url, stdin=stdin
        )

    added = dothi(
        "user",
        "add",
        "lan",
        "--role",
        "land_officer",
        "--ward",
        "22945",
        "--password-stdin",
        stdin="phuong-22945-dia-chinh\n",
    )
    assert added.returncode == 0, added.stderr
    assert "phuong-22945" not in added.stdout + added.stderr
    weak = dothi(
        "user", "add", "hoa", "--role", "planner", "--password-stdin", stdin="123456\n"
    )
    assert weak.returncode == 2
    assert "password" in weak.stderr
    listed = dothi("user", "list")
    assert "lan" in listed.stdout and "22945" in listed.stdout
    assert dothi("user", "disable", "lan").returncode == 0
    assert "disabled" in dothi("user", "list").stdout
    key = dothi("key", "create", "tỉnh IOC", "--role", "ioc_operator").stdout.strip()
    assert key.startswith("dothi_")
    assert key.split("_")[1] in dothi("key", "list").stdout
    assert dothi("key", "revoke", key.split("_")[1]).returncode == 0
    assert "revoked" in dothi("key", "list").stdout
