"""Validated, HTTP-free request objects and the parsers that build them.

Every parser raises ``InvalidParameterError`` (a 400) with a message naming the
parameter; nothing unvalidated reaches SQL.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import math
from dataclasses import dataclass, field
from typing import Any

import orjson

from gis.crs import CrsRef, parse_crs
from gis.errors import InvalidParameterError, LimitExceededError
from gis.filters import Filter
from gis.layer import Field

Bbox = tuple[float, float, float, float]


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
    equals: tuple[tuple[str, str], ...] = ()
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
    if x1 > x2 and crs.srid not in (4326, 4756):
        raise InvalidParameterError(
            "bbox: the lower corner must come first", parameter="bbox"
        )
    return (x1, y1, x2, y2)


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
    if value.tzinfo is None:
        raise InvalidParameterError(
            f"datetime: {text!r} needs a time zone (e.g. Z or +07:00)",
            parameter="datetime",
        )
    return value


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


def encode_cursor(cursor: Cursor) -> str:
    """An opaque, URL-safe token for a keyset position."""
    payload = [_jsonable(v) for v in cursor.values]
    raw = orjson.dumps({"v": payload, "i": cursor.id, "b": cursor.backwards})
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(token: str, sortby: tuple[SortKey, ...]) -> Cursor:
    """Decode a token made by ``encode_cursor`` for the same sort order."""
    try:
        data = orjson.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        values = data["v"]
        ident = data["i"]
        backwards = bool(data.get("b", False))
        if not isinstance(values, list) or not isinstance(ident, int):
            raise TypeError
        if len(values) != len(sortby):
            raise ValueError
        decoded = tuple(_from_json(v) for v in values)
    except (ValueError, TypeError, KeyError, binascii.Error, orjson.JSONDecodeError):
        raise InvalidParameterError(
            "cursor: not a paging token of this query (follow the next/prev links)",
            parameter="cursor",
        ) from None
    return Cursor(decoded, ident, backwards)


def _jsonable(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return {"t": value.isoformat()}
    if hasattr(value, "as_tuple"):  # Decimal
        return {"d": str(value)}
    return value


def _from_json(value: Any) -> Any:
    import decimal

    if isinstance(value, dict):
        if "t" in value:
            text = str(value["t"])
            return (
                dt.datetime.fromisoformat(text)
                if "T" in text
                else dt.date.fromisoformat(text)
            )
        if "d" in value:
            return decimal.Decimal(str(value["d"]))
        raise ValueError
    if value is not None and not isinstance(value, int | float | str | bool):
        raise TypeError
    return value
