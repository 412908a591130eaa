"""Literal values of a filter, checked and converted in Python before any SQL exists.

No literal can make PostgreSQL fail: strings are checked for NUL and lone surrogates,
numbers for infinity, dates and timestamps are parsed here. The time-zone rule of
dothi (``gis.columns``): a timestamp without a zone is the city's local time
(Asia/Ho_Chi_Minh), and so is the 00:00 that a date means when it meets a timestamp.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import unicodedata
from decimal import Decimal
from typing import Any

from gis.columns import CITY_TZ, Mag, as_instant
from gis.cql2.errors import invalid, show

DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}")
_TIMESTAMP_RE = re.compile(
    r"(\d{4}-\d{2}-\d{2})[Tt ](\d{2}:\d{2}:\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})?"
)


def text_value(value: str) -> str:
    """A string PostgreSQL can store: no NUL, valid Unicode."""
    if "\x00" in value:
        raise invalid("a string may not contain the NUL character", "basic-cql2")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise invalid("a string is not valid Unicode", "basic-cql2") from None
    return value


def number_value(value: float) -> float:
    """A finite number (the parser reads every number as a double)."""
    if not math.isfinite(value):
        raise invalid(f"the number {show(value)} is out of range", "basic-cql2")
    return value


def decimal(value: float) -> Decimal:
    """A number as the exact decimal its text meant."""
    # repr is the shortest text that reads back as the same double: 0.1 -> 0.1
    return Decimal(repr(float(value)))


def date_value(text: Any) -> dt.date:
    """A ``DATE('YYYY-MM-DD')`` literal."""
    if not isinstance(text, str) or not DATE_RE.fullmatch(text):
        raise invalid(f"{show(text)} is not a date (YYYY-MM-DD)", "basic-cql2")
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise invalid(f"{show(text)} is not a valid date", "basic-cql2") from None


def timestamp_value(text: Any) -> dt.datetime:
    """A ``TIMESTAMP(...)`` literal (RFC 3339) as an aware instant.

    Without a zone it is city time (Asia/Ho_Chi_Minh, the rule of ``gis.columns``).
    """
    match = _TIMESTAMP_RE.fullmatch(text) if isinstance(text, str) else None
    if match is None:
        raise invalid(
            f"{show(text)} is not an RFC 3339 timestamp (e.g. 2025-07-01T08:00:00Z)",
            "basic-cql2",
        )
    day, clock, fraction, zone = match.groups()
    fraction = (fraction or "")[:7]  # microseconds: PostgreSQL keeps no more
    if zone in ("Z", "z"):
        zone = "+00:00"
    try:
        value = as_instant(
            dt.datetime.fromisoformat(f"{day}T{clock}{fraction}{zone or ''}")
        )
        value.astimezone(dt.UTC)  # proves the UTC instant exists (year 1..9999)
    except (ValueError, OverflowError):
        raise invalid(f"{show(text)} is not a valid timestamp", "basic-cql2") from None
    return value


def zoneless_as_utc(text: str) -> str | None:
    """A timestamp without a zone, as the UTC instant it names in city time.

    ``"2026-07-01T08:30:00"`` is ``"2026-07-01T01:30:00Z"``. None for anything else
    (a zone is written, not a timestamp, or not an instant UTC can write).
    """
    match = _TIMESTAMP_RE.fullmatch(text)
    if match is None or match[4] is not None:
        return None
    day, clock, fraction = match[1], match[2], (match[3] or "")[:7]
    try:
        local = dt.datetime.fromisoformat(f"{day}T{clock}{fraction}")
        utc = as_instant(local).astimezone(dt.UTC)
    except (ValueError, OverflowError):
        return None  # refused later, with the message of an invalid timestamp
    return utc.isoformat().replace("+00:00", "Z")


def instant(value: dt.date) -> dt.datetime:
    """A date or a timestamp literal as an instant: a date is 00:00 city time."""
    if isinstance(value, dt.datetime):
        return value
    return dt.datetime.combine(value, dt.time.min, tzinfo=CITY_TZ)


def literal_mag(value: Decimal) -> Mag:
    """The digits of a numeric literal before and after the point."""
    if value == 0:
        return Mag(0, 0)
    _, digits, exponent = value.as_tuple()
    assert isinstance(exponent, int)
    return Mag(max(len(digits) + exponent, 0), max(-exponent, 0))


def fold_accents(value: str) -> str:
    """What ``ACCENTI`` makes of a string, as PostgreSQL computes it.

    NFD decomposition, combining marks U+0300..U+036F removed, đ/Đ mapped to d/D:
    ``fold_accents("Trần Hưng Đạo")`` is ``"Tran Hung Dao"``.
    """
    decomposed = unicodedata.normalize("NFD", value)
    stripped = "".join(c for c in decomposed if not "\u0300" <= c <= "\u036f")
    return stripped.translate({ord("đ"): "d", ord("Đ"): "D"})
