"""Output formats: ``f=`` first, then the ``Accept`` header (RFC 9110 §12.5.1).

One implementation for every route. A route offers format keys (``MEDIA``); the first
is its default. ``Accept`` is read as media ranges with q-values: for each offered type
the most specific matching range gives its quality (``text/html;q=0`` excludes HTML
even beside ``*/*``), and the offered type of the highest quality wins, ties going to
the route's order. Beyond the RFC, a ``+json`` type (GeoJSON, JSON Schema, OpenAPI,
TileJSON) answers a request for plain ``application/json``, less specifically than an
exact match, because that is what such clients mean. Parameters of a range
(``version=3.0``) must match the offered type's.

No maintained parser fits: ``python-mimeparse`` knows neither the ``+json`` family
nor ``q=0`` exclusion by a more specific range, and werkzeug's ``MIMEAccept`` would
bring a second web framework for sixty lines.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from fastapi import Request

from gis.errors import NotAcceptableError

# every media type dothi answers with or reads, by format key: routes, links and the
# OpenAPI document name them from here (``MEDIA["geojson"]``), never by a literal
MEDIA: Final = {
    "json": "application/json",
    "geojson": "application/geo+json",
    "html": "text/html",
    "csv": "text/csv",
    "jsonfg": "application/vnd.ogc.fg+json",
    "openapi": "application/vnd.oai.openapi+json;version=3.0",
    "schema": "application/schema+json",
    "tilejson": "application/vnd.mapbox.tile+json",
    "mvt": "application/vnd.mapbox-vector-tile",
    "mapbox": "application/vnd.mapbox.style+json",
    "sld11": "application/vnd.ogc.sld+xml;version=1.1",
    "qml": "application/vnd.qgis.qml",
    "svg": "image/svg+xml",
    # never negotiated: errors (RFC 9457) and the body of a PATCH (RFC 7396)
    "problem": "application/problem+json",
    "merge-patch": "application/merge-patch+json",
}
# the bodies a write of a feature takes (Content-Type); a PATCH also a merge patch
FEATURE_BODY_MEDIA: Final = (MEDIA["geojson"], MEDIA["json"])
PATCH_BODY_MEDIA: Final = (MEDIA["merge-patch"], *FEATURE_BODY_MEDIA)
# ``f=`` may also name a media type; these keys answer for their JSON family
_F_ALIASES = {"json": ("geojson", "schema", "openapi", "tilejson", "mapbox")}
# Accept headers longer than this are cut (a header is small; parsing is per request)
MAX_RANGES = 64


@dataclass(frozen=True, slots=True)
class MediaRange:
    """One element of ``Accept``: ``type/subtype;params;q=``."""

    type: str
    subtype: str
    params: tuple[tuple[str, str], ...]
    q: float
    position: int


def _split_params(text: str) -> tuple[str, dict[str, str]]:
    """``'a/b; x=1'`` -> ``('a/b', {'x': '1'})`` (names and values lower-cased)."""
    head, *rest = text.split(";")
    params: dict[str, str] = {}
    for p in rest:
        name, eq, value = p.partition("=")
        if eq:
            params[name.strip().lower()] = value.strip().strip('"').lower()
    return head.strip().lower(), params


def parse_accept(header: str) -> list[MediaRange]:
    """The media ranges of an ``Accept`` header, e.g. ``text/html;q=0.5, */*`` gives
    ``html`` at 0.5 and ``*/*`` at 1; malformed elements are dropped."""
    ranges = []
    for pos, part in enumerate(header.split(",")[:MAX_RANGES]):
        mtype, params = _split_params(part)
        main, slash, sub = mtype.partition("/")
        if not slash or not main or not sub or "/" in sub:
            continue
        try:
            q = float(params.pop("q", "1"))
        except ValueError:
            continue
        if not 0.0 <= q <= 1.0:
            continue
        ranges.append(MediaRange(main, sub, tuple(sorted(params.items())), q, pos))
    return ranges


def _specificity(r: MediaRange, media: str) -> int | None:
    """How specifically ``r`` matches the offered ``media`` (None: not at all)."""
    mtype, params = _split_params(media)
    main, _, sub = mtype.partition("/")
    # a parameter the offered type defines must agree (version=3.0); one it does not
    # define is no reason to refuse (charset=utf-8 on JSON, a common default)
    asked = [(k, v) for k, v in r.params if k in params]
    if any(params[k] != v for k, v in asked):
        return None
    if r.type == "*" and r.subtype == "*":
        return 1
    if r.type != main:
        return None
    if r.subtype == "*":
        return 2
    if r.subtype == sub:
        return 5 if asked else 4
    if r.subtype == "json" and sub.endswith("+json"):
        return 3
    return None


def quality(ranges: Sequence[MediaRange], media: str) -> tuple[float, int]:
    """The q the most specific range matching ``media`` gives it, and how specific
    that range is (an exact type beats the ``+json`` family at equal q); (0, 0) when
    no range matches."""
    best = (0, 0.0)
    for r in ranges:
        s = _specificity(r, media)
        if s is not None and s > best[0]:
            best = (s, r.q)
    return best[1], best[0]


def _from_f(f: str, offered: Sequence[str]) -> str:
    key = next((k for k, m in MEDIA.items() if m == f.lower()), f.lower())
    if key not in offered:
        key = next((k for k in _F_ALIASES.get(key, ()) if k in offered), key)
    if key not in offered:
        raise NotAcceptableError(
            f"f: format {f!r} not available here; offered: {', '.join(offered)}",
            parameter="f",
        )
    return key


def choose(request: Request, offered: Sequence[str]) -> str:
    """The format key to answer with, among ``offered`` keys of ``MEDIA``.

    Raises
    ------
    NotAcceptableError
        ``f=`` names a format not offered, or ``Accept`` excludes every offered one.
    """
    f = request.query_params.get("f")
    if f is not None:
        return _from_f(f, offered)
    header = request.headers.get("accept", "")
    if not header.strip():
        return offered[0]
    ranges = parse_accept(header)
    if not ranges:
        return offered[0]  # nothing readable was asked for: the default
    scored = [(*quality(ranges, MEDIA[k]), -i, k) for i, k in enumerate(offered)]
    q, _, _, key = max(scored)
    if q <= 0:
        raise NotAcceptableError(
            "none of the accepted media types is offered: "
            f"{', '.join(MEDIA[k] for k in offered)}"
        )
    return key


LANGS = ("vi", "en")


def accept_language(header: str) -> str:
    """The first of ``LANGS`` by ``Accept-Language`` q-values; Vietnamese default:
    ``fr;q=0.9, en;q=0.8`` gives ``en``; an empty header or ``en;q=0`` gives ``vi``."""
    best, best_q = "vi", -1.0
    for part in header.split(",")[:MAX_RANGES]:
        tag, params = _split_params(part)
        try:
            q = float(params.get("q", "1"))
        except ValueError:
            q = 0.0
        code = tag[:2]
        if q <= 0:  # q=0: not acceptable
            continue
        if code in LANGS and q > best_q and (len(tag) == 2 or tag[2] == "-"):
            best, best_q = code, q
    return best


def language(request: Request) -> str:
    """The language of an answer to ``request``, never raising: a valid ``lang=``,
    else ``Accept-Language``. Errors use it before (or without) ``get_lang``, which
    also refuses an unknown ``lang=`` with a 400 in that same language."""
    chosen: str | None = getattr(request.state, "lang", None)
    if chosen:
        return chosen
    lang = request.query_params.get("lang")
    if lang is not None and lang in LANGS:
        return lang
    return accept_language(request.headers.get("accept-language", ""))
