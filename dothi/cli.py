"""The ``dothi`` command: serve, demo, db, layers, import."""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from gis.db.embedded import EmbeddedCluster
from gis.db.migrate import migrate
from gis.db.urls import ensure_database, redact
from gis.errors import GisError
from gis.settings import Settings, database_url_from_env
from layers import CATALOGUE
from migrations import MIGRATIONS_DIR

DATABASE = "dothi"
DEFAULT_OPEN_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)  # noqa: T201 - a command-line tool


def _out(text: str) -> None:
    print(text, flush=True)  # noqa: T201 - a command-line tool's output


def resolve_database(
    settings: Settings, data_dir: Path, port: int | None = None
) -> tuple[str, EmbeddedCluster | None]:
    """The database URL: the configured one, or the embedded cluster's (started)."""
    url = database_url_from_env(settings)
    if url:
        return url, None
    cluster = EmbeddedCluster(data_dir, port=port)
    started = time.monotonic()
    server = cluster.start()
    _say(
        f"dothi: {_how(cluster)} embedded PostgreSQL in {cluster.pgdata} on port "
        f"{cluster.port} ({time.monotonic() - started:.1f} s)"
    )
    return ensure_database(server, DATABASE), cluster


def _how(cluster: EmbeddedCluster) -> str:
    """How this process came by the cluster, and whether it will stop it."""
    if cluster.started_here:
        return "started"
    if cluster.adopted:
        return (
            "adopting (found running, its dothi process gone; stopped when this "
            "one ends)"
        )
    return (
        f"reusing (run by dothi process {cluster.owner()}, which stops it; left "
        "running)"
    )


def _serve(url: str, settings: Settings, host: str, port: int, workers: int) -> None:
    # uvicorn with the HTTP limits of settings.http (api.server); the workers build
    # the app from the same DOTHI_* environment
    from api.server import serve, server_config

    os.environ["DOTHI_DB__URL"] = url
    # the bind address is one of the Host names the workers trust (api.links)
    os.environ["DOTHI_API__HOST"] = host
    _say(f"dothi: serving {redact(url)} on http://{host}:{port}/")
    config = server_config(
        "api.app:app_from_env",
        settings,
        host=host,
        port=port,
        factory=True,
        workers=workers,
        log_level="info",
    )
    serve(config)


def cmd_serve(args: argparse.Namespace, *, demo: bool = False) -> int:
    """Start (or reuse) the database, migrate, optionally load the demo, serve."""
    settings = Settings()
    url, cluster = resolve_database(settings, args.data_dir, args.db_port)
    try:
        migrate(url, MIGRATIONS_DIR)
        if demo:
            from dothi.demo import build_demo

            open_data = args.open_data
            if open_data is None and DEFAULT_OPEN_DATA.is_dir():
                open_data = DEFAULT_OPEN_DATA
            report = build_demo(
                url, seed=args.seed, scale=args.scale, open_data=open_data
            )
            _say(f"dothi: {report}")
        if not args.no_serve:
            _serve(url, settings, args.host, args.port, args.workers)
    finally:
        if cluster is not None and cluster.owned:
            cluster.stop()
            _say("dothi: embedded PostgreSQL stopped")
    return 0


def cmd_db(args: argparse.Namespace) -> int:
    """Migrations: upgrade, downgrade, current."""
    from alembic import command

    from gis.db.migrate import alembic_config

    settings = Settings()
    url, cluster = resolve_database(settings, args.data_dir)
    try:
        cfg = alembic_config(url, MIGRATIONS_DIR)
        if args.action == "upgrade":
            command.upgrade(cfg, args.revision or "head")  # type: ignore[arg-type]
        elif args.action == "downgrade":
            command.downgrade(cfg, args.revision or "-1")  # type: ignore[arg-type]
        else:
            command.current(cfg, verbose=False)  # type: ignore[arg-type]
    finally:
        if cluster is not None and cluster.owned:
            cluster.stop()
    return 0


def cmd_layers(args: argparse.Namespace) -> int:
    """Print the catalogue."""
    del args
    for layer in CATALOGUE.values():
        access = "public" if layer.access.is_public else "restricted"
        line = (
            f"{layer.id:20} {layer.table.name:18} {layer.geometry_type or '-':16} "
            f"{access:10} {layer.title.en} / {layer.title.vi}"
        )
        _out(line)
    return 0


def _pairs(items: list[str], what: str) -> dict[str, str]:
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise SystemExit(f"dothi import: {what} expects name=value, got {item!r}")
        out[key] = value
    return out


def cmd_import(args: argparse.Namespace) -> int:
    """Import a file into a layer's table (all or nothing)."""
    from gis.io import import_file

    layer = CATALOGUE.get(args.layer)
    if layer is None:
        raise SystemExit(
            f"dothi import: unknown layer {args.layer!r}; layers: {', '.join(CATALOGUE)}"
        )
    settings = Settings()
    url, cluster = resolve_database(settings, args.data_dir)
    try:
        migrate(url, MIGRATIONS_DIR)
        report = import_file(
            url,
            layer,
            args.file,
            crs=args.crs,
            src_layer=args.src_layer,
            mapping=_pairs(args.map, "--map"),
            defaults=_pairs(args.set, "--set"),
            strict=args.strict,
            progress=sys.stderr.isatty(),
        )
        _out(report.summary())
    finally:
        if cluster is not None and cluster.owned:
            cluster.stop()
    return 0


def _password(args: argparse.Namespace) -> str:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\n")
    import getpass

    first = getpass.getpass("password: ")
    if getpass.getpass("again: ") != first:
        raise SystemExit("dothi: the passwords differ")
    return first


def cmd_user(args: argparse.Namespace) -> int:
    """Local accounts: add, passwd, disable, enable, list."""
    from auth import accounts

    url, cluster = resolve_database(Settings(), args.data_dir)
    try:
        migrate(url, MIGRATIONS_DIR)
        if args.action == "add":
            accounts.add_user(
                url,
                args.username,
                _password(args),
                args.role,
                ward_codes=args.ward,
                display_name=args.name,
            )
        elif args.action == "passwd":
            accounts.set_password(url, args.username, _password(args))
        elif args.action == "disable":
            accounts.disable_user(url, args.username)
        elif args.action == "enable":
            accounts.enable_user(url, args.username)
        else:
            for u in accounts.list_users(url):
                _out(
                    f"{u.username:20} {','.join(sorted(u.roles)):30} "
                    f"{','.join(sorted(u.ward_codes)):12} "
                    f"{'disabled' if u.disabled else ''}"
                )
    finally:
        if cluster is not None and cluster.owned:
            cluster.stop()
    return 0


def cmd_key(args: argparse.Namespace) -> int:
    """API keys for systems: create (printed once), revoke, list."""
    from auth import api_keys

    url, cluster = resolve_database(Settings(), args.data_dir)
    try:
        migrate(url, MIGRATIONS_DIR)
        if args.action == "create":
            _out(
                api_keys.create_api_key(
                    url,
                    args.name,
                    args.role,
                    ward_codes=args.ward,
                )
            )
        elif args.action == "revoke":
            api_keys.revoke_api_key(url, args.name)
        else:
            for k in api_keys.list_api_keys(url):
                _out(
                    f"{k.prefix:10} {k.name:30} {','.join(sorted(k.roles)):30} "
                    f"{'revoked' if k.revoked_at else ''}"
                )
    finally:
        if cluster is not None and cluster.owned:
            cluster.stop()
    return 0


def parser() -> argparse.ArgumentParser:
    """The argument parser of every sub-command."""
    p = argparse.ArgumentParser(prog="dothi", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)

    def data_dir(sp: argparse.ArgumentParser) -> None:
        sp.add_argument(
            "--data-dir",
            type=Path,
            default=Path(os.environ.get("DOTHI_DATA_DIR", ".dothi")),
            help="folder of the embedded cluster (default .dothi)",
        )

    for name in ("serve", "demo"):
        sp = sub.add_parser(name, help=f"{name} the city server")
        sp.add_argument("--host", default="127.0.0.1")
        sp.add_argument("--port", type=int, default=8000)
        sp.add_argument("--workers", type=int, default=1)
        sp.add_argument(
            "--db-port",
            type=int,
            default=None,
            help="port of the embedded cluster (default: a free one)",
        )
        sp.add_argument(
            "--no-serve", action="store_true", help="prepare the database and exit"
        )
        data_dir(sp)
        if name == "demo":
            sp.add_argument(
                "--open-data",
                type=Path,
                default=None,
                help="real open data folder (default ../shared/data)",
            )
            sp.add_argument("--seed", type=float, default=0.42)
            sp.add_argument("--scale", type=float, default=1.0)
    sp = sub.add_parser("db", help="migrations")
    sp.add_argument("action", choices=["upgrade", "downgrade", "current"])
    sp.add_argument("revision", nargs="?")
    data_dir(sp)
    sub.add_parser("layers", help="list the catalogue")
    sp = sub.add_parser("import", help="import a file into a layer")
    sp.add_argument("layer")
    sp.add_argument("file", type=Path)
    sp.add_argument("--crs", type=int, default=None, help="EPSG code of the file")
    sp.add_argument("--src-layer", default=None, help="layer inside the file")
    sp.add_argument("--map", action="append", default=[], metavar="FIELD=COLUMN")
    sp.add_argument("--set", action="append", default=[], metavar="COLUMN=VALUE")
    sp.add_argument("--strict", action="store_true", help="abort on any rejected row")
    data_dir(sp)
    sp = sub.add_parser("user", help="local accounts")
    sp.add_argument("action", choices=["add", "passwd", "disable", "enable", "list"])
    sp.add_argument("username", nargs="?", default="")
    sp.add_argument("--role", action="append", default=[])
    sp.add_argument(
        "--ward",
        action="append",
        default=[],
        help="a ward code the user may edit (land officers)",
    )
    sp.add_argument("--name", default=None, help="display name")
    sp.add_argument("--password-stdin", action="store_true")
    data_dir(sp)
    sp = sub.add_parser("key", help="API keys for systems")
    sp.add_argument("action", choices=["create", "revoke", "list"])
    sp.add_argument(
        "name", nargs="?", default="", help="the key's name (create) or prefix (revoke)"
    )
    sp.add_argument("--role", action="append", default=[])
    sp.add_argument("--ward", action="append", default=[])
    data_dir(sp)
    return p


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``dothi`` console script."""
    args = parser().parse_args(argv)
    try:
        if args.command == "serve":
            return cmd_serve(args)
        if args.command == "demo":
            return cmd_serve(args, demo=True)
        if args.command == "db":
            return cmd_db(args)
        if args.command == "layers":
            return cmd_layers(args)
        if args.command == "user":
            return cmd_user(args)
        if args.command == "key":
            return cmd_key(args)
        return cmd_import(args)
    except GisError as exc:
        _say(f"dothi: {exc.detail}")
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
