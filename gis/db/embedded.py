"""A private PostgreSQL + PostGIS cluster in a data folder.

Used when no database URL is configured (the embedded default) and by the test suite,
so the same code is exercised on every test run.

The cluster listens on 127.0.0.1 only, on a free port unless one is given, with
password authentication (a random password kept in the data folder, mode 0600), fsync
on and its log in the data folder. When run as root, ``initdb`` and the server run as
the ``postgres`` OS user, since PostgreSQL refuses to run as root.

Its port and listening settings are written into the cluster's own configuration
(``dothi.conf``, included by ``postgresql.conf``), so an operator's
``pg_ctl -D PGDATA start`` brings it back where the running server looks for it.

Who stops it: the process that started it, or that adopted it. A cluster found
running is adopted (and stopped when that process is done) unless the dothi process
that started or adopted it is still alive (``owner.pid`` in the data folder): then it
is that process's, and is left running.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import pwd
import re
import secrets
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from gis.errors import EmbeddedClusterError

INSTALL_HINT = (
    "Install them with: sudo apt-get install postgresql-15 postgresql-15-postgis-3 "
    "(Debian/Ubuntu), or set DOTHI_DB__URL to an existing PostGIS database."
)
SUPERUSER = "dothi"
# root cannot run PostgreSQL; clusters that root starts for a folder the postgres user
# cannot reach live here instead, keyed by the folder's absolute path.
ROOT_CLUSTER_HOME = Path("/var/lib/postgresql/dothi-clusters")
CONFIG_NAME = "dothi.conf"


def find_bindir() -> Path:
    """Locate the PostgreSQL server binaries (``initdb``, ``pg_ctl``, ``postgres``).

    Returns
    -------
    Path
        The folder holding them; the newest installed major version wins.

    Raises
    ------
    EmbeddedClusterError
        When no PostgreSQL server is installed.
    """
    explicit = os.environ.get("DOTHI_PG_BINDIR")
    candidates = [Path(explicit)] if explicit else []
    candidates += sorted(
        Path("/usr/lib/postgresql").glob("*/bin"),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
        reverse=True,
    )
    pg_config = shutil.which("pg_config")
    if pg_config:
        out = subprocess.run(
            [pg_config, "--bindir"], capture_output=True, text=True, check=False
        )
        if out.returncode == 0:
            candidates.append(Path(out.stdout.strip()))
    for bindir in candidates:
        if (bindir / "initdb").exists() and (bindir / "pg_ctl").exists():
            return bindir
    raise EmbeddedClusterError(f"PostgreSQL server binaries not found. {INSTALL_HINT}")


def check_postgis(bindir: Path) -> None:
    """Fail with an install hint when the PostGIS extension is not installed.

    Raises
    ------
    EmbeddedClusterError
        When ``postgis.control`` is absent from the server's extension folder.
    """
    sharedir = _sharedir(bindir)
    if not (sharedir / "extension" / "postgis.control").exists():
        major = bindir.parent.name
        raise EmbeddedClusterError(
            f"PostGIS is not installed for PostgreSQL {major} "
            f"(no {sharedir}/extension/postgis.control). "
            f"Install it with: sudo apt-get install postgresql-{major}-postgis-3"
        )


def _sharedir(bindir: Path) -> Path:
    pg_config = bindir / "pg_config"
    if pg_config.exists():
        out = subprocess.run(
            [str(pg_config), "--sharedir"], capture_output=True, text=True, check=False
        )
        if out.returncode == 0:
            return Path(out.stdout.strip())
    # Debian layout: /usr/lib/postgresql/15/bin -> /usr/share/postgresql/15
    return Path("/usr/share/postgresql") / bindir.parent.name


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class EmbeddedCluster:
    """A private cluster whose state lives in ``data_dir``.

    Parameters
    ----------
    data_dir
        The folder holding the cluster (created when absent).
    port
        The port to listen on; a free one when None. A running cluster keeps its port.

    ``EmbeddedCluster(Path(".dothi")).start()`` initialises (first time) and starts
    the cluster and returns its database URL.
    """

    data_dir: Path
    port: int | None = None
    started_here: bool = field(default=False, init=False)
    # found running, left by a dothi process that is gone (crashed): now ours to stop
    adopted: bool = field(default=False, init=False)

    def __post_init__(self) -> None:
        self.data_dir = self.data_dir.resolve()
        self._run_as = _run_as_user()

    # --- paths ---------------------------------------------------------------------
    @property
    def pgdata(self) -> Path:
        """The PostgreSQL data directory."""
        link = self.data_dir / "pgdata"
        if link.is_symlink() or link.exists():
            return link.resolve()
        if self._run_as and not _reachable_by(self.data_dir, self._run_as):
            digest = hashlib.sha256(str(self.data_dir).encode()).hexdigest()[:16]
            return ROOT_CLUSTER_HOME / digest
        return link

    @property
    def password_file(self) -> Path:
        """Where the superuser password is kept (mode 0600)."""
        return self.data_dir / "pg-password"

    @property
    def log_file(self) -> Path:
        """The server log."""
        return self.data_dir / "postgresql.log"

    @property
    def owner_file(self) -> Path:
        """The id of the dothi process that started or adopted the running server."""
        return self.data_dir / "owner.pid"

    @property
    def owned(self) -> bool:
        """Whether this process is to stop the server: it started or adopted it."""
        return self.started_here or self.adopted

    def owner(self) -> int | None:
        """The live dothi process that runs this cluster, or None (none, or gone)."""
        try:
            pid = int(self.owner_file.read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None
        return pid if _alive(pid) else None

    # --- lifecycle -----------------------------------------------------------------
    def start(self, *, timeout: float = 60) -> str:
        """Initialise when needed, start unless running, and return a database URL.

        Returns
        -------
        str
            ``postgresql+psycopg://dothi:…@127.0.0.1:PORT/postgres``.

        Raises
        ------
        EmbeddedClusterError
            PostgreSQL or PostGIS missing, or the server did not come up.
        """
        bindir = find_bindir()
        check_postgis(bindir)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if not (self.pgdata / "PG_VERSION").exists():
            self._initdb(bindir)
        running = self.running_port()
        if running is None:
            self._pg_ctl_start(bindir, timeout)
            self.started_here = True
        else:
            self.port = running
            self.adopted = self.owner() is None
        if self.owned:
            self.owner_file.write_text(f"{os.getpid()}\n")
        self._wait_ready(timeout)
        return self.url("postgres")

    def stop(self) -> None:
        """Stop the server (fast shutdown) if it runs."""
        if self.running_port() is not None:
            self.pg_ctl("-m", "fast", "-w", "stop")
        if self.owner() in (os.getpid(), None):
            self.owner_file.unlink(missing_ok=True)

    def pg_ctl(self, *args: str) -> subprocess.CompletedProcess[str]:
        """Run ``pg_ctl -D PGDATA ARGS`` as the cluster's OS user (as an operator
        would: the port and settings come from the cluster's own configuration).

        A server it starts logs to :attr:`server_log`: with its output on our pipe
        it would hold the pipe open, and this call would never return.
        """
        bindir = find_bindir()
        log = ["-l", str(self.server_log)] if "-l" not in args else []
        return self._run(
            [str(bindir / "pg_ctl"), "-D", str(self.pgdata), *log, *args], check=False
        )

    def destroy(self) -> None:
        """Stop the server and delete the cluster and the data folder (tests)."""
        self.stop()
        pgdata = self.pgdata
        if pgdata.exists() and not pgdata.is_relative_to(self.data_dir):
            shutil.rmtree(pgdata, ignore_errors=True)
        shutil.rmtree(self.data_dir, ignore_errors=True)

    def running_port(self) -> int | None:
        """The port of the server running on this data folder, or None."""
        pidfile = self.pgdata / "postmaster.pid"
        try:
            lines = pidfile.read_text().splitlines()
        except (FileNotFoundError, PermissionError):
            return None
        if len(lines) < 4 or not lines[0].strip().isdigit():
            return None
        # a postmaster killed with -9 leaves its pid file; its number may have been
        # given to another process since: then PostgreSQL is not running (it starts
        # over the stale file, which it checks the same way)
        if not _alive(int(lines[0]), name="postgres"):
            return None
        return int(lines[3])

    def url(self, database: str, *, driver: str = "postgresql+psycopg") -> str:
        """A URL for ``database`` on this cluster."""
        password = self.password_file.read_text().strip()
        return f"{driver}://{SUPERUSER}:{password}@127.0.0.1:{self.port}/{database}"

    # --- internals -----------------------------------------------------------------
    def _initdb(self, bindir: Path) -> None:
        pgdata = self.pgdata
        pgdata.parent.mkdir(parents=True, exist_ok=True)
        if pgdata.exists() and any(pgdata.iterdir()):
            raise EmbeddedClusterError(
                f"{pgdata} exists but holds no PostgreSQL cluster; remove it first"
            )
        password = secrets.token_urlsafe(24)
        self.password_file.write_text(password + "\n")
        self.password_file.chmod(0o600)
        pwfile = pgdata.parent / f".pw-{secrets.token_hex(4)}"
        pwfile.write_text(password + "\n")
        pgdata.mkdir(mode=0o700, exist_ok=True)
        if self._run_as:
            for path in (pgdata, pwfile):
                shutil.chown(path, self._run_as, self._run_as)
            if pgdata.parent != self.data_dir and pgdata.parent.owner() == "root":
                pgdata.parent.chmod(0o755)
        pwfile.chmod(0o600)
        try:
            self._run(
                [
                    str(bindir / "initdb"),
                    "-D",
                    str(pgdata),
                    "-U",
                    SUPERUSER,
                    f"--pwfile={pwfile}",
                    "--auth=scram-sha-256",
                    "-E",
                    "UTF8",
                    "--locale=C.UTF-8",
                ],
                check=True,
            )
        finally:
            pwfile.unlink(missing_ok=True)
        with (pgdata / "postgresql.conf").open("a") as conf:
            conf.write(
                "\n# dothi embedded cluster\n"
                "listen_addresses = '127.0.0.1'\n"
                "unix_socket_directories = ''\n"
                "fsync = on\n"
                "shared_buffers = 256MB\n"
                "work_mem = 16MB\n"
                "max_connections = 200\n"
                "jit = off\n"
            )
        if pgdata != self.data_dir / "pgdata":
            (self.data_dir / "pgdata").symlink_to(pgdata)

    def _pg_ctl_start(self, bindir: Path, timeout: float) -> None:
        port = self.port or self._configured_port() or free_port()
        self._write_config(port)
        self._clear_stale_pidfile()
        self.log_file.touch()
        if self._run_as:
            shutil.chown(self.log_file, self._run_as, self._run_as)
        log = self.server_log
        result = self._run(
            [
                str(bindir / "pg_ctl"),
                "-D",
                str(self.pgdata),
                "-l",
                str(log),
                "-w",
                "-t",
                str(int(timeout)),
                "start",
            ],
            check=False,
        )
        if result.returncode != 0:
            tail = _tail(log)
            raise EmbeddedClusterError(
                f"PostgreSQL did not start on port {port} (see {log}):\n{tail}"
            )
        self.port = port

    @property
    def config_file(self) -> Path:
        """The settings dothi owns (port, addresses), included by postgresql.conf."""
        return self.pgdata / CONFIG_NAME

    def _clear_stale_pidfile(self) -> None:
        """Remove the pid file of a postmaster killed with -9 whose number another
        process has since: PostgreSQL would take that process for itself and refuse
        to start. A file naming a dead process it removes on its own."""
        pidfile = self.pgdata / "postmaster.pid"
        try:
            pid = int(pidfile.read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return
        try:
            name = Path(f"/proc/{pid}/comm").read_text().strip()
        except OSError:
            return  # gone (PostgreSQL removes the file itself), or no /proc
        if name != "postgres":
            pidfile.unlink(missing_ok=True)

    def _configured_port(self) -> int | None:
        """The port of the last start, when it is still free (a stable address)."""
        try:
            text = self.config_file.read_text()
        except OSError:
            return None
        match = re.search(r"^port = (\d+)$", text, re.MULTILINE)
        port = int(match.group(1)) if match else None
        return port if port is not None and _port_free(port) else None

    def _write_config(self, port: int) -> None:
        """Write the port and listening settings where ``pg_ctl start`` reads them."""
        self.config_file.write_text(
            "# written by dothi at each start: a manual pg_ctl start listens here too\n"
            "listen_addresses = '127.0.0.1'\n"
            f"port = {port}\n"
            "unix_socket_directories = ''\n"
        )
        main = self.pgdata / "postgresql.conf"
        include = f"include_if_exists = '{CONFIG_NAME}'\n"
        if include not in main.read_text():  # clusters made before this file existed
            with main.open("a") as conf:
                conf.write(f"\n# dothi: port and addresses\n{include}")
        if self._run_as:
            shutil.chown(self.config_file, self._run_as, self._run_as)

    @property
    def server_log(self) -> Path:
        """Where the server writes its log: ``log_file``, or inside the cluster when
        the postgres user cannot reach the data dir."""
        return self.log_file if self._log_reachable() else self.pgdata / "server.log"

    def _log_reachable(self) -> bool:
        return not self._run_as or _reachable_by(self.data_dir, self._run_as)

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        assert self.port is not None
        while time.monotonic() < deadline:
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.port), timeout=1),
            ):
                return
            time.sleep(0.1)
        raise EmbeddedClusterError(f"PostgreSQL on port {self.port} is not answering")

    def _run(self, argv: list[str], *, check: bool) -> subprocess.CompletedProcess[str]:
        if self._run_as:
            argv = ["runuser", "-u", self._run_as, "--", *argv]
        result = subprocess.run(
            argv, capture_output=True, text=True, check=False, cwd="/"
        )
        if check and result.returncode != 0:
            raise EmbeddedClusterError(
                f"{Path(argv[-1] if not self._run_as else argv[4]).name} failed: "
                f"{result.stderr.strip() or result.stdout.strip()}"
            )
        return result


def _alive(pid: int, *, name: str | None = None) -> bool:
    """Whether process ``pid`` runs (and, with ``name``, is that program)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # alive, another user's (the postgres user's)
    if name is None:
        return True
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip() == name
    except FileNotFoundError:
        return False  # gone meanwhile
    except OSError:
        return True  # no /proc here: trust the signal check


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _run_as_user() -> str | None:
    """The OS user to run PostgreSQL as: ``postgres`` when we are root, else ourselves."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam("postgres")
    except KeyError as exc:
        raise EmbeddedClusterError(
            f"running as root needs the 'postgres' OS user. {INSTALL_HINT}"
        ) from exc
    return "postgres"


def _reachable_by(path: Path, user: str) -> bool:
    """Whether ``user`` may enter ``path`` and every folder above it."""
    info = pwd.getpwnam(user)
    for folder in [path, *path.parents]:
        if not folder.exists():
            continue
        st = folder.stat()
        if st.st_uid == info.pw_uid:
            ok = bool(st.st_mode & 0o100)
        elif st.st_gid == info.pw_gid:
            ok = bool(st.st_mode & 0o010)
        else:
            ok = bool(st.st_mode & 0o001)
        if not ok:
            return False
    return True


def _tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"
