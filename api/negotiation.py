"""Output formats: ``f=`` first, then the Accept header."""

from __future__ import annotations

from fastapi import Request

from gis.errors import NotAcceptableError

MEDIA = {
    "json": "application/json",
    "geojson": "application/geo+json",
    "html": "text/html",
    "csv": "text/csv",
    "jsonfg": "application/vnd.ogc.fg+json",
}


def choose(request: Request, offered: tuple[str, ...]) -> str:
    """The format key to answer with, among ``offered`` (the first is the default).

    Raises
    ------
    NotAcceptableError
        ``f=`` names a format not offered, or Accept excludes every offered one.
    """
    f = request.query_params.get("f")
    if f is not None:
        key = {
            "application/json": "json",
            "application/geo+json": "geojson",
            "text/html": "html",
            "text/csv": "csv",
        }.get(f, f.lower())
        if key == "json" and "json" not in offered and "geojson" in offered:
            key = "geojson"
        if key not in offered:
            raise NotAcceptableError(
                f"f: format {f!r} not available here; offered: {', '.join(offered)}",
                parameter="f",
            )
        return key
    accept = request.headers.get("accept", "")
    if not accept.strip():
        return offered[0]
    ranked: list[tuple[float, int, str]] = []
    for pos, part in enumerate(accept.split(",")):
        mtype, _, params = part.strip().partition(";")
        q = 1.0
        for p in params.split(";"):
            if p.strip().startswith("q="):
                try:
                    q = float(p.strip()[2:])
                except ValueError:
                    q = 0.0
        ranked.append((q, -pos, mtype.strip().lower()))
    for q, _, mtype in sorted(ranked, reverse=True):
        if q <= 0:
            continue
        for key in offered:
            if mtype == MEDIA[key] or (
                mtype == "application/json" and key == "geojson"
            ):
                return key
        if mtype in ("*/*", "application/*"):
            return offered[0]
    raise NotAcceptableError(
        f"none of the accepted media types is offered: "
        f"{', '.join(MEDIA[k] for k in offered)}"
    )


def choose_any(request: Request, offered: dict[str, str]) -> str:
    """Like ``choose`` for formats outside ``MEDIA`` (keys to media types)."""
    f = request.query_params.get("f")
    if f is not None:
        if f not in offered:
            raise NotAcceptableError(
                f"f: format {f!r} not available here; offered: {', '.join(offered)}",
                parameter="f",
            )
        return f
    accept = request.headers.get("accept", "")
    for key, media in offered.items():
        if media in accept:
            return key
    return next(iter(offered))
