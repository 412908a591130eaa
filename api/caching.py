"""HTTP caching in one place: entity tags, ``If-None-Match`` -> 304, ``Cache-Control``
and ``Vary``.

Who may keep an answer decides its ``Cache-Control``: a shared cache (a CDN, a city
proxy) only what anybody may see, i.e. an anonymous caller reading public layers;
anything that depends on credentials is ``private, no-store``. Every answer varies on
the credentials (``Authorization``, ``X-API-Key``: ``vary_on_credentials``, applied to
every response by ``api.app.RequestIdMiddleware``), so a cache never hands one caller's
answer to another.

Entity tags are made from what decides a representation (the data version that a
trigger bumps on every edit, and the request), never from the body: the tag is exact
without hashing megabytes of GeoJSON or tiles on every request. One feature's tag
starts with its row's version (``feature_tag``), which ``If-Match`` names to make a
write conditional (``if_match``; checked in the write's own statement, ``gis.edits``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Iterable, Sequence
from email.utils import format_datetime
from typing import Final, Literal

from fastapi import Request, Response

from api.negotiation import language
from gis.layer import VectorLayer
from gis.principal import Principal

PRIVATE: Final = "private, no-store"
# answers to writes: nothing keeps them (not even the caller's own cache)
NO_STORE: Final = {"Cache-Control": "no-store"}
# a page of features may be a minute old in a shared cache (tiles have their own setting)
FEATURES_MAX_AGE_S: Final = 60
# the request headers that carry credentials, as named in ``Vary``
CREDENTIAL_HEADERS: Final = (b"Authorization", b"X-API-Key")
_CREDENTIALS_LOWER: Final = tuple(h.lower() for h in CREDENTIAL_HEADERS)


def entity_tag(identity: str) -> str:
    """A strong ETag for the representation that ``identity`` names in full."""
    return '"' + hashlib.blake2b(identity.encode(), digest_size=12).hexdigest() + '"'


def request_tag(
    request: Request, principal: Principal, fmt: str, versions: Sequence[str]
) -> str:
    """The ETag of an answer to ``request`` built from data at ``versions``: the same
    path, query, format, language and what the caller may see give the same tag."""
    return entity_tag(
        "|".join(
            (
                *versions,
                fmt,
                request.url.path,
                str(request.url.query),
                getattr(request.state, "lang", "vi"),
                # what the caller may see is part of the representation
                ",".join(sorted(principal.roles)),
                ",".join(sorted(principal.ward_codes)),
            )
        )
    )


def feature_tag(
    request: Request,
    principal: Principal,
    fmt: str,
    row_version: int,
    *,
    query: str | None = None,
) -> str:
    """The strong ETag of one feature as ``request`` (with ``query`` instead of its
    own, when given) gets it: ``"<row version>-<digest>"``.

    The row version (``gis.sql.features.row_version``) is what ``If-Match`` checks;
    the digest of what else decides the representation (format, path, query,
    language, what the caller may see) keeps two representations of one version
    apart, as a strong tag must be (RFC 9110, 8.8.1).
    """
    variant = "|".join(
        (
            fmt,
            request.url.path,
            str(request.url.query) if query is None else query,
            language(request),
            ",".join(sorted(principal.roles)),
            ",".join(sorted(principal.ward_codes)),
        )
    )
    digest = hashlib.blake2b(variant.encode(), digest_size=8).hexdigest()
    return f'"{row_version}-{digest}"'


# an entity tag (RFC 9110, 8.8.3), weak or strong, then a comma or the end
_ENTITY_TAG = re.compile(r'\s*(W/)?"([\x21\x23-\x7e\x80-\xff]*)"\s*(?:,|$)')
_FEATURE_TAG = re.compile(r"([0-9]{1,10})-[0-9a-f]{16}")
_MAX_ROW_VERSION = 2**32 - 1  # xmin is a 32-bit transaction id


def if_match(request: Request) -> frozenset[int] | Literal["exists"] | None:
    """The ``If-Match`` of a write: None when not sent, "exists" for ``*``, else the
    row versions of the feature tags it lists (``feature_tag``).

    Only strong tags match (RFC 9110, 13.1.1); a weak tag, a tag this server never
    gives or a malformed header names no version, so the write is refused (412).
    """
    sent = request.headers.getlist("if-match")
    if not sent:
        return None
    value = ", ".join(sent).strip()
    if value == "*":
        return "exists"
    versions: set[int] = set()
    at = 0
    while at < len(value):
        tag = _ENTITY_TAG.match(value, at)
        if tag is None or tag.end() == at:
            return frozenset()  # not a list of entity tags: matches nothing
        at = tag.end()
        feature = _FEATURE_TAG.fullmatch(tag.group(2))
        if tag.group(1) is None and feature is not None:
            version = int(feature.group(1))
            if version <= _MAX_ROW_VERSION:
                versions.add(version)
    return frozenset(versions)


def shareable(principal: Principal, layers: Iterable[VectorLayer]) -> bool:
    """Whether a shared cache may keep an answer: it does not depend on credentials
    (an anonymous caller, only public layers)."""
    return principal.auth == "anonymous" and all(la.access.is_public for la in layers)


def cache_headers(
    etag: str, *, public: bool, max_age_s: int, vary: str | None = None
) -> dict[str, str]:
    """``ETag``, ``Cache-Control`` and (when the answer is negotiated) ``Vary``; the
    credentials are added to ``Vary`` for every answer (``vary_on_credentials``)."""
    headers = {
        "ETag": etag,
        "Cache-Control": f"public, max-age={max_age_s}" if public else PRIVATE,
    }
    if vary is not None:
        headers["Vary"] = vary
    return headers


def data_headers(
    request: Request,
    principal: Principal,
    layers: Sequence[VectorLayer],
    *,
    fmt: str,
    versions: Sequence[str],
    changed_at: dt.datetime | None,
    tag: str | None = None,
) -> dict[str, str]:
    """The caching headers of a read answered from ``layers`` at their data
    ``versions``: ``ETag`` (``tag``, else the request's at those versions),
    ``Cache-Control`` (shared only when the answer depends on no credentials),
    ``Vary`` and ``Last-Modified`` (``changed_at``, the newest change)."""
    headers = cache_headers(
        tag or request_tag(request, principal, fmt, versions),
        public=shareable(principal, layers),
        max_age_s=FEATURES_MAX_AGE_S,
        vary="Accept, Accept-Language",
    )
    if changed_at is not None:
        headers["Last-Modified"] = http_date(changed_at)
    return headers


def http_date(moment: dt.datetime) -> str:
    """``moment`` as an HTTP date (``Last-Modified``), in GMT."""
    return format_datetime(moment.astimezone(dt.UTC), usegmt=True)


def not_modified(request: Request, headers: dict[str, str]) -> Response | None:
    """A 304 with ``headers`` when ``If-None-Match`` names their ``ETag``, else None."""
    inm = request.headers.get("if-none-match")
    if inm and headers["ETag"] in {t.strip() for t in inm.split(",")}:
        return Response(status_code=304, headers=headers)
    return None


def sends_credentials(raw_headers: Iterable[tuple[bytes, bytes]]) -> bool:
    """Whether raw ASGI request headers carry credentials (non-empty)."""
    return any(
        name in _CREDENTIALS_LOWER and bool(value) for name, value in raw_headers
    )


def private_when_signed_in(
    headers: list[tuple[bytes, bytes]], signed_in: bool
) -> list[tuple[bytes, bytes]]:
    """Raw response ``headers`` with ``Cache-Control: private, no-store`` when the
    request had credentials and the answer set no ``Cache-Control`` of its own (an
    HTML page with a parcel's land users, a listing with the cameras)."""
    if signed_in and all(name.lower() != b"cache-control" for name, _ in headers):
        return [*headers, (b"cache-control", PRIVATE.encode())]
    return headers


def vary_on_credentials(
    headers: list[tuple[bytes, bytes]],
) -> list[tuple[bytes, bytes]]:
    """Raw response ``headers`` with ``Authorization`` and ``X-API-Key`` in ``Vary``."""
    vary = [v for k, v in headers if k.lower() == b"vary"]
    have = {p.strip().lower() for v in vary for p in v.split(b",")}
    if b"*" in have:
        return headers
    extra = [p for p in CREDENTIAL_HEADERS if p.lower() not in have]
    if not extra:
        return headers
    rest = [(k, v) for k, v in headers if k.lower() != b"vary"]
    return [*rest, (b"vary", b", ".join([*vary, *extra]))]
