"""Every media type a dothi document advertises is served when asked for by ``Accept``.

The test is generated from the documents themselves: it walks the links of the landing
page, conformance, collections, each collection, tilesets, tile matrix sets, styles,
queryables, sortables and schema, and asks for each link's own ``type`` with ``Accept``
(no ``f=``), as a conformance checker that negotiates does.
"""

from __future__ import annotations

from collections import deque
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import pytest
from fastapi.testclient import TestClient
from starlette.requests import Request

from api import negotiation
from gis.errors import NotAcceptableError

# documents whose links are followed further (not feature pages nor tiles: their
# next/prev links page on without end, and a tile holds no links)
_FOLLOW_TYPES = ("application/json", "application/vnd.oai.openapi+json")
_LEAF_PARTS = ("/items", "/tiles/", "/legend")


def _without_f(href: str) -> str:
    """``href`` with its ``f=`` removed: the test negotiates by ``Accept`` only."""
    parts = urlsplit(href)
    query = [(k, v) for k, v in parse_qsl(parts.query) if k != "f"]
    return urlunsplit(("", "", parts.path, urlencode(query), ""))


def _media(content_type: str) -> str:
    """A Content-Type without charset, parameters kept (``version=3.0``)."""
    parts = [p.strip() for p in content_type.split(";")]
    kept = [p for p in parts[1:] if not p.lower().startswith("charset=")]
    return ";".join([parts[0].lower(), *kept])


def _advertised(client: TestClient) -> list[tuple[str, str, str]]:
    """(path without f=, advertised type, where it was advertised) for every link."""
    seen_docs: set[str] = set()
    found: dict[tuple[str, str], str] = {}
    queue = deque(["/"])
    while queue:
        path = queue.popleft()
        if path in seen_docs:
            continue
        seen_docs.add(path)
        r = client.get(path, headers={"Accept": "application/json"})
        assert r.status_code == 200, (path, r.status_code, r.text[:300])
        doc = r.json()
        links: list[dict[str, Any]] = list(doc.get("links", []))
        for key in ("collections", "tilesets", "tileMatrixSets", "styles"):
            for item in doc.get(key, []) if isinstance(doc, dict) else []:
                links.extend(item.get("links", []))
        for lk in links:
            href, media = lk.get("href", ""), lk.get("type")
            if not media or lk.get("templated") or "{" in href:
                continue
            if not href.startswith("http://testserver"):
                continue
            target = _without_f(href)
            found.setdefault((target, media), path)
            follow = media.split(";")[0] in _FOLLOW_TYPES and not any(
                p in target for p in _LEAF_PARTS
            )
            if follow and lk.get("rel") not in ("next", "prev"):
                queue.append(target)
    return [(p, m, where) for (p, m), where in sorted(found.items())]


def test_every_advertised_media_type_is_served_on_accept(client: TestClient) -> None:
    advertised = _advertised(client)
    documents = {p for p, _, _ in advertised}
    # the walk reached what the issue names: not a handful of links
    assert any(p.endswith("/queryables") for p in documents)
    assert any(p.endswith("/sortables") for p in documents)
    assert any(p.endswith("/schema") for p in documents)
    assert any("/tileMatrixSets/" in p for p in documents)
    assert any("/styles/" in p for p in documents)
    assert "/api" in documents
    failures = []
    for path, media, where in advertised:
        r = client.get(path, headers={"Accept": media})
        got = _media(r.headers.get("content-type", ""))
        if r.status_code != 200 or got != _media(media):
            failures.append(
                f"{path} Accept {media} (from {where}): {r.status_code} {got}"
            )
    assert not failures, "\n".join(failures)


def _request(accept: str, query: str = "") -> Request:
    headers = [(b"accept", accept.encode())] if accept else []
    scope = {"type": "http", "headers": headers, "query_string": query.encode()}
    return Request(scope)


OPENAPI = "application/vnd.oai.openapi+json;version=3.0"


@pytest.mark.parametrize(
    ("accept", "offered", "expected"),
    [
        ("", ("json", "html"), "json"),
        ("text/html", ("json", "html"), "html"),
        ("text/html;q=0.5, application/json", ("json", "html"), "json"),
        ("application/json;q=0.2, text/html;q=0.9", ("json", "html"), "html"),
        ("*/*", ("html", "json"), "html"),
        ("text/*", ("json", "html"), "html"),
        # a +json type answers a plain JSON request
        ("application/json", ("geojson", "html"), "geojson"),
        ("application/json", ("schema", "html"), "schema"),
        ("application/schema+json", ("schema", "html"), "schema"),
        (
            "application/vnd.oai.openapi+json;version=3.0",
            ("openapi", "html"),
            "openapi",
        ),
        ("application/vnd.oai.openapi+json", ("openapi", "html"), "openapi"),
        # the most specific range decides: html excluded, anything else welcome
        ("*/*, text/html;q=0", ("html", "json"), "json"),
        # an exact match beats the +json family of application/json
        ("application/json", ("geojson", "json"), "json"),
        ("APPLICATION/GEO+JSON", ("json", "geojson"), "geojson"),
        # a parameter the offered type does not define is no reason to refuse
        ("application/json; charset=utf-8", ("json", "html"), "json"),
        ("application/geo+json;charset=UTF-8", ("geojson", "html"), "geojson"),
    ],
)
def test_choose(accept: str, offered: tuple[str, ...], expected: str) -> None:
    assert negotiation.choose(_request(accept), offered) == expected


@pytest.mark.parametrize(
    ("accept", "offered"),
    [
        ("image/png", ("json", "html")),
        ("text/html;q=0", ("html",)),
        ("application/vnd.oai.openapi+json;version=3.1", ("openapi",)),
        ("application/json;q=0, */*;q=0", ("json", "html")),
    ],
)
def test_not_acceptable(accept: str, offered: tuple[str, ...]) -> None:
    with pytest.raises(NotAcceptableError):
        negotiation.choose(_request(accept), offered)


def test_f_wins_over_accept() -> None:
    request = _request("text/html", "f=json")
    assert negotiation.choose(request, ("json", "html")) == "json"
    assert negotiation.MEDIA["openapi"] == OPENAPI


def test_malformed_accept_is_not_a_500(client: TestClient) -> None:
    for accept in (
        "",
        ";;;",
        "q=1",
        "*/*;q=abc",
        "text/html;q=2",
        "a/b/c",
        "é/é".encode(),
    ):
        r = client.get("/", headers={"Accept": accept})
        assert r.status_code in (200, 406), (accept, r.status_code)


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/collections/no_such_layer", 404),
        ("GET", "/collections/trees/items/999999999", 404),
        ("GET", "/no/such/path", 404),
        ("DELETE", "/collections", 405),
        ("POST", "/collections/trees/items", 401),
        ("GET", "/collections/trees/items?limit=abc", 400),
    ],
)
def test_error_titles_follow_the_callers_language(
    client: TestClient, method: str, path: str, status: int
) -> None:
    titles = {}
    for how, headers, sep in (
        ("lang", {}, "&" if "?" in path else "?"),
        ("header", {"Accept-Language": "en-GB,en;q=0.9,vi;q=0.5"}, None),
        ("default", {}, None),
    ):
        url = f"{path}{sep}lang=en" if sep else path
        r = client.request(
            method, url, headers=headers, json={} if method == "POST" else None
        )
        assert r.status_code == status, (how, r.text)
        titles[how] = r.json()["title"]
    assert titles["lang"] == titles["header"]
    assert titles["default"] != titles["lang"]  # Vietnamese unless asked
    assert titles["lang"].isascii()
    assert not titles["default"].isascii()
