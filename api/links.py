"""Links built from the base URL string (Starlette's url_for walks every route)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import Request


def base_url(request: Request) -> str:
    """The service root, without a trailing slash (honours ``root_path``)."""
    return str(request.base_url).rstrip("/")


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
