"""The one home of absolute URLs: links, ``Location``, ``servers`` of the OpenAPI.

Every link starts with :func:`base_url`: the configured public URL when there is one
(``DOTHI_API__PUBLIC_URL``), else the request's ``Host``, which
:class:`TrustedHostMiddleware` has checked against ``DOTHI_API__TRUSTED_HOSTS``
before routing. So no request can make a response that a shared cache keeps
(``public, max-age=60``) point at another site. ``X-Forwarded-Host`` is never read:
behind a proxy, set the public URL. Links are strings built here, not Starlette's
``url_for``, which walks every route.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlencode, urlsplit

import orjson
from fastapi import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from api.problems import status_problem
from api.state import app_state
from gis.settings import ApiSettings

# a Host header: a name or an IPv4 address, or an IPv6 one in brackets; a port
_HOST = re.compile(
    r"(?:\[(?P<ip6>[0-9A-Fa-f:.]+)\]|(?P<name>[A-Za-z0-9._-]+))(?::[0-9]{1,5})?"
)
# addresses a server binds to that are nobody's name
_WILDCARDS = frozenset({"", "0.0.0.0", "::", "[::]"})  # noqa: S104 - not a bind


def base_url(request: Request) -> str:
    """The service root, without a trailing slash, ``root_path`` included."""
    api = app_state(request).settings.api
    if api.public_url:
        # the prefix in the scope: api.root_path, or uvicorn's --root-path
        scope = request.scope
        prefix: str = scope.get("app_root_path", scope.get("root_path", ""))
        return api.public_url + prefix
    # the Host was checked (TrustedHostMiddleware); base_url carries the prefix
    return str(request.base_url).rstrip("/")


def self_url(request: Request) -> str:
    """The request's own URL from :func:`base_url`, without its query string."""
    root = request.scope.get("root_path", "")
    path = request.url.path
    return base_url(request) + (path[len(root) :] if path.startswith(root) else path)


def with_links(doc: bytes, links: list[dict[str, Any]]) -> bytes:
    """A JSON object PostgreSQL wrote (``{...}``, passed through as bytes) with
    ``links`` added as its last member."""
    return doc.rstrip()[:-1] + b', "links": ' + orjson.dumps(links) + b"}"


def link(
    href: str, rel: str, type_: str, title: str | None = None, **extra: Any
) -> dict[str, Any]:
    """One OGC link object."""
    out: dict[str, Any] = {"href": href, "rel": rel, "type": type_}
    if title:
        out["title"] = title
    out.update(extra)
    return out


def with_query(url: str, params: dict[str, str]) -> str:
    """``url`` with ``params`` as its query string."""
    return f"{url}?{urlencode(params)}" if params else url


def alternates(
    request: Request, url: str, current: str, formats: dict[str, str]
) -> list[dict[str, Any]]:
    """``self`` and ``alternate`` links for every format key in ``formats``."""
    keep = {k: v for k, v in request.query_params.items() if k != "f"}
    out = []
    for key, media in formats.items():
        rel = "self" if key == current else "alternate"
        out.append(
            link(
                with_query(url, {**keep, "f": key}),
                rel,
                media,
                f"this document as {key.upper()}",
            )
        )
    return out


def trusted_hosts(api: ApiSettings) -> frozenset[str]:
    """The host names (lower case, IPv6 without brackets) a Host header may carry.

    ``trusted_hosts``, the address the server binds to unless it is a wildcard, and
    the public URL's host.
    """
    names = {h.strip().lower().strip("[]") for h in api.trusted_hosts}
    if api.host.strip() not in _WILDCARDS:
        names.add(api.host.strip().lower().strip("[]"))
    if api.public_url:
        names.add(urlsplit(api.public_url).hostname or "")
    return frozenset(names - {""})


def host_is_trusted(value: str, trusted: frozenset[str]) -> bool:
    """Whether a Host header ``value`` names one of ``trusted`` (any port).

    Examples
    --------
    >>> names = frozenset({"localhost", "::1", "*.city.gov.vn"})
    >>> [host_is_trusted(h, names) for h in ("localhost:8000", "[::1]:8000",
    ...  "gis.city.gov.vn", "city.gov.vn", "evil.example", "localhost@evil")]
    [True, True, True, False, False, False]
    """
    if "*" in trusted:
        return True
    match = _HOST.fullmatch(value)
    if match is None:
        return False
    host = (match["ip6"] or match["name"]).lower()
    return host in trusted or any(
        p.startswith("*.") and host.endswith(p[1:]) for p in trusted
    )


class TrustedHostMiddleware:
    """Refuse a request whose ``Host`` is not one of the server's names (400), and
    serve under ``root_path``.

    Starlette's ``TrustedHostMiddleware`` does the first, but answers in plain text
    rather than a problem and offers ``www.`` redirects we do not want. A request
    without ``Host`` is accepted only in HTTP/1.0 (RFC 9112 §3.2: an HTTP/1.1 one is
    a 400); its links then use the address it reached. ``root_path`` is put in the
    scope as uvicorn's ``--root-path`` does, so routing, ``request.url`` and
    ``request.base_url`` agree whether or not the proxy strips the prefix.
    """

    def __init__(self, app: ASGIApp, *, api: ApiSettings) -> None:
        self.app = app
        self.trusted = trusted_hosts(api)
        self.root_path = api.root_path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        hosts = [v for k, v in scope["headers"] if k == b"host"]
        if not self._accepted(hosts, scope.get("http_version", "1.1")):
            # the problem's instance must not be built from the refused Host
            headers = [(k, v) for k, v in scope["headers"] if k != b"host"]
            detail = (
                "the Host header names no host this server serves; its operator "
                "lists them in DOTHI_API__TRUSTED_HOSTS or DOTHI_API__PUBLIC_URL"
            )
            response = status_problem(400, detail, {**scope, "headers": headers})
            await response(scope, receive, send)
            return
        if self.root_path:
            scope = _under_root(scope, self.root_path)
        await self.app(scope, receive, send)

    def _accepted(self, hosts: list[bytes], http_version: str) -> bool:
        if not hosts:
            return http_version == "1.0"
        return len(hosts) == 1 and host_is_trusted(
            hosts[0].decode("latin-1"), self.trusted
        )


def _under_root(scope: Scope, root_path: str) -> Scope:
    """``scope`` with ``root_path`` set and in front of its path (ASGI's rule)."""
    path: str = scope["path"]
    if path == root_path or path.startswith(root_path + "/"):
        return {**scope, "root_path": root_path}  # the proxy kept the prefix
    raw: bytes = scope.get("raw_path") or path.encode()
    return {
        **scope,
        "root_path": root_path,
        "path": root_path + path,
        "raw_path": root_path.encode() + raw,
    }
