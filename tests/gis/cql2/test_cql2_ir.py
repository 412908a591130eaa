"""gis.cql2's typed form: the statement-cache key, and the city time-zone rule.

The shape of a filter is a tree of frozen dataclasses: equal filters (whatever their
literals and language) give equal, equally hashed shapes; different filters do not.
A date-time without a zone is city time (Asia/Ho_Chi_Minh, UTC+7) in a literal, in a
``timestamp without time zone`` property, and as the 00:00 a date means.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import psycopg
import pytest
from sqlalchemy import BigInteger, Column, Date, DateTime, MetaData, Table

from gis.cql2 import ir, parse_filter
from gis.layer import Field, Label, VectorLayer
from tests.gis.cql2.support import PARCELS, REPORTS, UTC, ids

PLUS_7 = dt.timezone(dt.timedelta(hours=7))


def shape(text: str, layer: VectorLayer = PARCELS, **options: Any) -> ir.Predicate:
    """The typed form of ``text`` (all fields visible)."""
    return parse_filter(text, layer=layer, fields=layer.fields, **options).shape


def test_equal_filters_have_equal_hashable_shapes() -> None:
    """Other literals, the other language, the same form: one cache entry."""
    text = (
        "ward_code = '22945' AND sheet_no < 2.5 AND CASEI(address) LIKE '%đạo%'"
        " AND T_INTERSECTS(INTERVAL(valid_from, valid_to), INTERVAL('2020-01-01', '..'))"
        " AND S_DWITHIN(geometry, POINT(108.1 10.93), 50, meters)"
        " AND land_use IN ('ODT', 'CLN')"
    )
    other = (
        "ward_code = '22948' AND sheet_no < 7 AND CASEI(address) LIKE '%lợi%'"
        " AND T_INTERSECTS(INTERVAL(valid_from, valid_to), INTERVAL('2024-05-01', '..'))"
        " AND S_DWITHIN(geometry, POINT(108.2 10.9), 900, meters)"
        " AND land_use IN ('TMD')"
    )
    first, second = shape(text), shape(other)
    assert first == second
    assert hash(first) == hash(second)
    assert {first: "compiled"}[second] == "compiled"
    assert isinstance(first, ir.And)
    as_json = parse_filter(
        json.dumps(
            {
                "op": "and",
                "args": [
                    {"op": "=", "args": [{"property": "ward_code"}, "x"]},
                    {"op": "<", "args": [{"property": "sheet_no"}, 3]},
                ],
            }
        ),
        lang="cql2-json",
        layer=PARCELS,
        fields=PARCELS.fields,
    ).shape
    assert as_json == shape("ward_code = 'y' AND sheet_no < 9")


@pytest.mark.parametrize(
    ("text", "other"),
    [
        ("ward_code < '3'", "ward_code > '3'"),
        ("sheet_no < 3", "NOT sheet_no < 3"),
        ("sheet_no < 3", "parcel_no < 3"),
        ("ward_code = 'a' AND land_use = 'b'", "ward_code = 'a' OR land_use = 'b'"),
        ("CASEI(address) = CASEI('x')", "ACCENTI(address) = ACCENTI('x')"),
        (
            "T_INTERSECTS(INTERVAL(valid_from, valid_to), INTERVAL('2020-01-01', '..'))",
            "T_INTERSECTS(INTERVAL(valid_from, valid_to), INTERVAL('..', '2020-01-01'))",
        ),
        (
            "S_INTERSECTS(geometry, BBOX(108, 10, 109, 11))",
            "S_INTERSECTS(geometry, BBOX(179, 10, -179, 11))",
        ),
        (
            "valid_from > DATE('2020-01-01')",
            "valid_from > TIMESTAMP('2020-01-01T00:00:00Z')",
        ),
    ],
)
def test_different_filters_have_different_shapes(text: str, other: str) -> None:
    """Whatever changes the SQL changes the shape (an open end, a crossing box...)."""
    assert shape(text) != shape(other)


def test_shapes_hold_parameter_names_never_values() -> None:
    """The values are in ``params``; the shape only names them."""
    flt = parse_filter(
        "ward_code = '22945' AND area_legal_m2 > 200.5",
        layer=PARCELS,
        fields=PARCELS.fields,
    )
    assert flt.shape == ir.And(
        (
            ir.Compare("=", ir.Column("ward_code"), ir.Param("f_0", "text")),
            ir.Compare(">", ir.Column("area_legal_m2"), ir.Param("f_1", "numeric")),
        )
    )
    assert flt.params == {"f_0": "22945", "f_1": Decimal("200.5")}
    assert "22945" not in repr(flt.shape)


def test_a_timestamp_without_zone_is_city_time() -> None:
    """``TIMESTAMP('2026-07-01T08:30:00')`` is 01:30 UTC, in every place a literal goes,
    in cql2-text and cql2-json (the parser alone would read it as UTC)."""
    instant = dt.datetime(2026, 7, 1, 1, 30, tzinfo=UTC)
    received = {"property": "received_at"}
    cases = [
        ("cql2-text", "received_at = TIMESTAMP('2026-07-01T08:30:00')"),
        ("cql2-text", "received_at = TIMESTAMP('2026-07-01 08:30:00.000')"),
        ("cql2-text", "received_at IN (TIMESTAMP('2026-07-01T08:30:00'))"),
        ("cql2-text", "T_AFTER(received_at, TIMESTAMP('2026-07-01T08:30:00'))"),
        (
            "cql2-text",
            "T_DURING(INTERVAL(received_at, resolved_at),"
            " INTERVAL('2026-07-01T08:30:00', '..'))",
        ),
        (
            "cql2-json",
            json.dumps(
                {"op": "=", "args": [received, {"timestamp": "2026-07-01T08:30:00"}]}
            ),
        ),
        (
            "cql2-json",
            json.dumps(
                {
                    "op": "t_during",
                    "args": [
                        {"interval": [received, {"property": "resolved_at"}]},
                        {"interval": ["2026-07-01T08:30:00", ".."]},
                    ],
                }
            ),
        ),
    ]
    for lang, text in cases:
        flt = parse_filter(text, lang=lang, layer=REPORTS, fields=REPORTS.fields)
        (value,) = flt.params.values()
        value = value[0] if isinstance(value, list) else value
        assert value == instant, text
    for zoned in ("2026-07-01T08:30:00Z", "2026-07-01T15:30:00+07:00"):
        flt = parse_filter(
            f"received_at = TIMESTAMP('{zoned}')",
            layer=REPORTS,
            fields=REPORTS.fields,
        )
        assert flt.params["f_0"] == dt.datetime(2026, 7, 1, 8, 30, tzinfo=UTC)
    # a string that is not an instant stays as written
    text = parse_filter(
        "category = '2026-07-01T08:30:00'", layer=REPORTS, fields=REPORTS.fields
    )
    assert text.params == {"f_0": "2026-07-01T08:30:00"}


def test_a_date_meeting_a_timestamp_is_city_midnight() -> None:
    """A date literal bound as a timestamp is 00:00 in Asia/Ho_Chi_Minh."""
    flt = parse_filter(
        "received_at >= DATE('2026-07-01')", layer=REPORTS, fields=REPORTS.fields
    )
    assert flt.params["f_0"] == dt.datetime(2026, 7, 1, tzinfo=PLUS_7)
    assert flt.params["f_0"] == dt.datetime(2026, 6, 30, 17, tzinfo=UTC)


CLOCK = VectorLayer(
    id="clock",
    table=Table(
        "filter_clock",
        MetaData(),
        Column("id", BigInteger, primary_key=True),
        Column("seen_at", DateTime(timezone=False)),
        Column("seen_on", Date),
        Column("logged_at", DateTime(timezone=True)),
    ),
    title=Label("Đồng hồ", "Clock"),
    description=Label("", ""),
    fields=tuple(Field(n, Label(n, n)) for n in ("seen_at", "seen_on", "logged_at")),
    geometry_type=None,
)


@pytest.fixture(scope="module")
def clock(db: psycopg.Connection[Any]) -> Iterator[psycopg.Connection[Any]]:
    """A table with a timestamp without time zone, a date and a timestamptz."""
    db.execute(
        "CREATE TABLE filter_clock (id bigint PRIMARY KEY, seen_at timestamp,"
        " seen_on date, logged_at timestamptz)"
    )
    db.execute(
        "INSERT INTO filter_clock VALUES"
        " (1, '2026-07-01 08:30:00', '2026-07-01', '2026-07-01 01:30:00+00'),"
        " (2, '2026-07-01 01:30:00', '2026-06-30', '2026-06-29 17:00:00+00')"
    )
    yield db
    db.execute("DROP TABLE filter_clock")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # a timestamp without time zone column is city time
        ("seen_at = TIMESTAMP('2026-07-01T01:30:00Z')", {1}),
        ("seen_at = TIMESTAMP('2026-07-01T08:30:00')", {1}),
        ("seen_at = TIMESTAMP('2026-07-01T08:30:00+07:00')", {1}),
        ("seen_at = logged_at", {1}),
        # a date column meets a timestamp at 00:00 city time
        ("seen_on = TIMESTAMP('2026-06-30T17:00:00Z')", {1}),
        ("seen_on = TIMESTAMP('2026-07-01T00:00:00')", {1}),
        ("seen_on = logged_at", {2}),
        ("T_EQUALS(seen_on, TIMESTAMP('2026-06-30T00:00:00'))", {2}),
        # a zone-less literal against a timestamptz column
        ("logged_at = TIMESTAMP('2026-07-01T08:30:00')", {1}),
        ("logged_at = DATE('2026-06-30')", {2}),
    ],
)
def test_city_time_in_the_database(
    clock: psycopg.Connection[Any], text: str, expected: set[int]
) -> None:
    """PostgreSQL reads columns by the same rule as the literals."""
    assert ids(clock, text, CLOCK) == expected
