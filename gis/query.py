"""Validated, HTTP-free request objects and the parsers that build them.

Every parser raises ``InvalidParameterError`` (a 400) with a message naming the
parameter; nothing unvalidated reaches SQL.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import hmac
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import orjson

from gis.columns import as_instant
from gis.cql2 import Filter
from gis.crs import CrsRef, clip_to_area, parse_crs
from gis.edits import check_value
from gis.errors import InvalidParameterError, LimitExceededError
from gis.layer import Field, VectorLayer

if TYPE_CHECKING:
    from psycopg_pool import AsyncConnectionPool

Bbox = tuple[float, float, float, float]
# a paging token is at most this long (4 sort values of text, base64): longer is a 400
# before any decoding
MAX_CURSOR_CHARS = 65_536
# the HMAC-SHA256 tag of a token, truncated: 128 bits cannot be guessed
CURSOR_TAG_BYTES = 16
# the secret of migration 0009 that signs paging tokens when DOTHI_AUTH__SECRET_KEY is
# not set: every worker and replica of one database signs with the same key
PAGING_KEY_SQL = "SELECT value FROM app_secret WHERE name = 'paging'"


@dataclass(frozen=True)
class TimeFilter:
    """A datetime instant (``start == end``) or interval; None ends are open."""

    start: dt.datetime | None
    end: dt.datetime | None


@dataclass(frozen=True)
class SortKey:
    """One ``sortby`` term."""

    field: str
    descending: bool = False


@dataclass(frozen=True)
class Cursor:
    """A keyset position: the sort values and id of the row to continue from."""

    values: tuple[Any, ...]
    id: int
    backwards: bool = False  # True for a ``prev`` page


@dataclass(frozen=True)
class ItemsQuery:
    """A features request, validated against one layer."""

    limit: int
    bbox: Bbox | None = None
    bbox_srid: int = 4326
    time: TimeFilter | None = None
    crs: CrsRef = field(default_factory=lambda: parse_crs("CRS84", (4326,)))
    properties: tuple[str, ...] | None = None
    skip_geometry: bool = False
    sortby: tuple[SortKey, ...] = ()
    equals: tuple[tuple[str, str | int], ...] = ()  # int: an integer column's
    cursor: Cursor | None = None
    filter: Filter | None = None


def parse_limit(raw: str | None, *, default: int, maximum: int) -> int:
    """``limit``: an integer from 1 to ``maximum``.

    Examples
    --------
    >>> parse_limit("25", default=10, maximum=10000)
    25
    """
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise InvalidParameterError(
            f"limit: expected an integer, got {raw!r}", parameter="limit"
        ) from None
    if value < 1:
        raise InvalidParameterError("limit: must be at least 1", parameter="limit")
    if value > maximum:
        raise LimitExceededError(
            f"limit: at most {maximum} features a page", parameter="limit"
        )
    return value


def parse_bbox(raw: str, crs: CrsRef) -> Bbox:
    """``bbox``: 4 numbers (6 with heights, which are ignored) in ``crs`` axis order.

    The result is always x/lon first. Latitudes must lie in [-90, 90].

    Examples
    --------
    >>> parse_bbox("108,10.9,108.2,11", parse_crs("CRS84", (4326,)))
    (108.0, 10.9, 108.2, 11.0)
    """
    parts = raw.split(",")
    if len(parts) not in (4, 6):
        raise InvalidParameterError(
            f"bbox: expected 4 or 6 numbers, got {len(parts)}", parameter="bbox"
        )
    try:
        nums = [float(p) for p in parts]
    except ValueError:
        raise InvalidParameterError(
            "bbox: every value must be a number", parameter="bbox"
        ) from None
    if not all(math.isfinite(n) for n in nums):
        raise InvalidParameterError("bbox: values must be finite", parameter="bbox")
    if len(nums) == 6:
        nums = [nums[0], nums[1], nums[3], nums[4]]
    a, b, c, d = nums
    x1, y1, x2, y2 = (a, b, c, d) if crs.lonlat else (b, a, d, c)
    if y1 > y2:
        raise InvalidParameterError(
            "bbox: the lower corner must come first", parameter="bbox"
        )
    if crs.srid in (4326, 4756) and not (-90 <= y1 <= 90 and -90 <= y2 <= 90):
        raise InvalidParameterError(
            "bbox: latitude out of range [-90, 90]", parameter="bbox"
        )
    if crs.srid in (4326, 4756) and not (-180 <= x1 <= 180 and -180 <= x2 <= 180):
        # PROJ cannot shift datums out there (a VN-2000 box is transformed)
        raise InvalidParameterError(
            "bbox: longitude out of range [-180, 180]", parameter="bbox"
        )
    if x1 > x2 and crs.srid not in (4326, 4756):
        raise InvalidParameterError(
            "bbox: the lower corner must come first", parameter="bbox"
        )
    if crs.srid in (4326, 4756):
        return (x1, y1, x2, y2)
    # a projected box: only its part inside the CRS's area of use (a zoomed-out web
    # map sends more than the world), which also bounds its size
    return clip_to_area(crs.srid, (x1, y1, x2, y2), parameter="bbox")


def _parse_instant(text: str, *, end: bool) -> dt.datetime:
    try:
        if len(text) == 10:
            day = dt.date.fromisoformat(text)
            moment = dt.datetime.combine(day, dt.time.max if end else dt.time.min)
            return moment.replace(tzinfo=dt.UTC)
        value = dt.datetime.fromisoformat(text)
    except ValueError:
        raise InvalidParameterError(
            f"datetime: {text!r} is not an RFC 3339 date-time", parameter="datetime"
        ) from None
    return as_instant(value)  # no zone: city time (README, "Time zones")


def parse_datetime(raw: str) -> TimeFilter:
    """``datetime``: an instant, or an interval ``a/b`` with ``..`` or empty open ends.

    Examples
    --------
    >>> parse_datetime("2024-01-01T00:00:00Z/..").end is None
    True
    """
    if "/" not in raw:
        if raw in ("", ".."):
            raise InvalidParameterError("datetime: empty instant", parameter="datetime")
        if len(raw) == 10:
            return TimeFilter(
                _parse_instant(raw, end=False), _parse_instant(raw, end=True)
            )
        t = _parse_instant(raw, end=False)
        return TimeFilter(t, t)
    left, _, right = raw.partition("/")
    start = None if left in ("", "..") else _parse_instant(left, end=False)
    end = None if right in ("", "..") else _parse_instant(right, end=True)
    if start is None and end is None:
        raise InvalidParameterError(
            "datetime: an interval needs at least one end", parameter="datetime"
        )
    if start and end and start > end:
        raise InvalidParameterError(
            "datetime: the interval ends before it starts", parameter="datetime"
        )
    return TimeFilter(start, end)


def parse_properties(raw: str, visible: tuple[Field, ...]) -> tuple[str, ...]:
    """``properties``: a comma list of published property names."""
    names = tuple(p.strip() for p in raw.split(",") if p.strip())
    known = {f.name for f in visible}
    unknown = [n for n in names if n not in known]
    if unknown:
        raise InvalidParameterError(
            f"properties: unknown {', '.join(unknown)}; known: {', '.join(sorted(known))}",
            parameter="properties",
        )
    return names


def parse_sortby(raw: str, visible: tuple[Field, ...]) -> tuple[SortKey, ...]:
    """``sortby``: ``+name`` / ``name`` ascending, ``-name`` descending (Part 5)."""
    keys: list[SortKey] = []
    sortable = {f.name for f in visible if f.sortable}
    for term in (t.strip() for t in raw.split(",")):
        if not term:
            continue
        desc = term.startswith("-")
        name = term.lstrip("+-").strip()
        if name not in sortable:
            raise InvalidParameterError(
                f"sortby: {name!r} is not sortable; sortables: "
                f"{', '.join(sorted(sortable))}",
                parameter="sortby",
            )
        keys.append(SortKey(name, desc))
    if len(keys) > 4:
        raise LimitExceededError("sortby: at most 4 keys", parameter="sortby")
    return tuple(keys)


def paging_key(secret: str, stored: bytes | None) -> bytes:
    """The key that signs paging tokens: derived from ``DOTHI_AUTH__SECRET_KEY`` when
    it is set (one purpose, one key), else the database's own secret.

    Examples
    --------
    >>> paging_key("s" * 32, None) == paging_key("s" * 32, b"other")
    True
    >>> paging_key("", b"k" * 32)
    b'kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk'
    """
    if secret:
        return hmac.new(secret.encode(), b"dothi paging tokens", "sha256").digest()
    if not stored:
        raise RuntimeError(
            "no key to sign paging tokens: set DOTHI_AUTH__SECRET_KEY or migrate the "
            "database (dothi db upgrade)"
        )
    return stored


async def load_paging_key(pool: AsyncConnectionPool, secret: str) -> bytes:
    """``paging_key`` for a server (read once, then kept): the same in every worker,
    replica and restart."""
    if secret:
        return paging_key(secret, None)
    async with pool.connection() as conn:
        row = await (await conn.execute(PAGING_KEY_SQL)).fetchone()
    return paging_key("", bytes(row[0]) if row else None)


def _scope(layer: VectorLayer, sortby: tuple[SortKey, ...]) -> bytes:
    # a token is valid for the collection and sort order it was made for only
    order = ",".join(("-" if k.descending else "+") + k.field for k in sortby)
    return f"{layer.id}|{order}|".encode()


def _tag(key: bytes, scope: bytes, body: str) -> str:
    digest = hmac.new(key, scope + body.encode(), hashlib.sha256).digest()
    return _b64(digest[:CURSOR_TAG_BYTES])


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def encode_cursor(
    cursor: Cursor, layer: VectorLayer, sortby: tuple[SortKey, ...], *, key: bytes
) -> str:
    """An opaque, URL-safe, signed token for a keyset position.

    The sort values are those PostgreSQL wrote as JSON (numbers, strings, booleans,
    null); the HMAC tag covers them, the collection and the sort order.
    """
    raw = orjson.dumps(
        {"v": list(cursor.values), "i": cursor.id, "b": cursor.backwards}
    )
    body = _b64(raw)
    return f"{body}.{_tag(key, _scope(layer, sortby), body)}"


def decode_cursor(
    token: str, layer: VectorLayer, sortby: tuple[SortKey, ...], *, key: bytes
) -> Cursor:
    """Check and decode a token made by ``encode_cursor`` for the same collection and
    sort order.

    The signature is checked first (a tampered token is a 400), then every value
    against its sort key's column type (``gis.edits.check_value``: type, range,
    NUL), so that nothing PostgreSQL would refuse reaches it.
    """
    body, _, tag = token.partition(".")
    if (
        len(token) > MAX_CURSOR_CHARS
        or not token.isascii()  # compare_digest compares ASCII text only
        or not tag
        or not hmac.compare_digest(tag, _tag(key, _scope(layer, sortby), body))
    ):
        raise _bad_cursor()
    try:
        data = orjson.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
        values, ident, backwards = data["v"], data["i"], data["b"]
    except (ValueError, TypeError, KeyError, binascii.Error):
        raise _bad_cursor() from None
    if (
        not isinstance(values, list)
        or len(values) != len(sortby)
        or not isinstance(backwards, bool)
        or not isinstance(ident, int)
        or isinstance(ident, bool)
        or not -(2**63) <= ident < 2**63
    ):
        raise _bad_cursor()
    checked = []
    for sort_key, value in zip(sortby, values, strict=True):
        try:
            checked.append(check_value(layer.table.c[sort_key.field], value))
        except InvalidParameterError:
            raise _bad_cursor() from None
    return Cursor(tuple(checked), ident, backwards)


def _bad_cursor() -> InvalidParameterError:
    return InvalidParameterError(
        "cursor: not a paging token of this query (follow the next/prev links)",
        parameter="cursor",
    )
