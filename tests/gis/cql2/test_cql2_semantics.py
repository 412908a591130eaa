"""gis.cql2 semantics, one thing a test, on a real PostGIS: shapes, integers, CASEI and
ACCENTI, LIKE, arithmetic, temporal and spatial functions, arrays."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Callable
from typing import Any

import psycopg
import pytest
from sqlalchemy import select

from gis.columns import CITY_TZ
from gis.cql2 import CONFORMANCE_CLASSES, fold_accents, parse_filter
from gis.sql.compiled import compile_statement
from layers import CATALOGUE
from tests.gis.cql2.support import (
    PARCEL_ROWS,
    PARCELS,
    REPORTS,
    TAGS,
    TREES,
    Row,
    ids,
    refusal,
    run,
)

# --- behaviour, one thing a test ----------------------------------------------------------


def test_conformance_classes() -> None:
    """The classes implemented in full (the lead lists them in /conformance)."""
    names = {uri.rsplit("/", 1)[1] for uri in CONFORMANCE_CLASSES}
    assert "functions" not in names
    assert {
        "basic-cql2",
        "temporal-functions",
        "array-functions",
        "arithmetic",
    } <= names


def test_same_shape_same_sql_new_values(db: psycopg.Connection[Any]) -> None:
    """A statement compiled for one filter serves every filter of its shape."""
    first = parse_filter("sheet_no = 3 AND ward_code = '22945'", layer=PARCELS,
                         fields=PARCELS.fields)  # fmt: skip
    second = parse_filter(
        '{"op": "and", "args": [{"op": "=", "args": [{"property": "sheet_no"}, 7]},'
        ' {"op": "=", "args": [{"property": "ward_code"}, "22948"]}]}',
        lang="cql2-json",
        layer=PARCELS,
        fields=PARCELS.fields,
    )
    assert first.shape == second.shape and hash(first.shape) == hash(second.shape)
    assert first.params != second.params
    stmt = compile_statement(select(PARCELS.table.c.id).where(first.clause(PARCELS)))
    again = compile_statement(select(PARCELS.table.c.id).where(second.clause(PARCELS)))
    assert stmt.sql == again.sql
    reused = {r[0] for r in db.execute(stmt.sql, stmt.values(second.params))}
    assert reused == run(db, second, PARCELS)
    other = parse_filter("sheet_no = 3 OR ward_code = '22945'", layer=PARCELS,
                         fields=PARCELS.fields)  # fmt: skip
    assert other.shape != first.shape


def test_geometry_and_geom_are_one_property(db: psycopg.Connection[Any]) -> None:
    """``geometry`` (the queryables' name) and ``geom`` (the column) are the same."""
    box = "BBOX(108.05, 10.90, 108.10, 10.95)"
    a = parse_filter(
        f"S_INTERSECTS(geometry, {box})", layer=PARCELS, fields=PARCELS.fields
    )
    b = parse_filter(f"S_INTERSECTS(geom, {box})", layer=PARCELS, fields=PARCELS.fields)
    assert a.shape == b.shape
    assert run(db, a, PARCELS) == run(db, b, PARCELS) != set()


def test_id_is_queryable(db: psycopg.Connection[Any]) -> None:
    """The primary key filters too (index-friendly integer range)."""
    assert ids(db, "id = 5") == {5}
    assert ids(db, "id IN (1, 2, 2.5, 1e30)") == {1, 2}
    assert ids(db, "id < 3.5") == {1, 2, 3}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("sheet_no = 2.5", lambda _: False),
        ("sheet_no <> 2.5", lambda _: True),
        ("sheet_no < 2.5", lambda v: v <= 2),
        ("sheet_no <= 2.5", lambda v: v <= 2),
        ("sheet_no > 2.5", lambda v: v >= 3),
        ("sheet_no >= 2.5", lambda v: v >= 3),
        ("sheet_no < 1e300", lambda _: True),
        ("sheet_no > -1e300", lambda _: True),
        ("sheet_no = 1e300", lambda _: False),
        ("-1e300 < sheet_no", lambda _: True),
        ("3 >= sheet_no", lambda v: v <= 3),
        ("sheet_no BETWEEN 2.5 AND 4.5", lambda v: 3 <= v <= 4),
        ("sheet_no BETWEEN 4 AND 2", lambda _: False),
    ],
)
def test_integer_comparisons_are_exact(
    db: psycopg.Connection[Any],
    parcels: list[Row],
    text: str,
    expected: Callable[[int], bool],
) -> None:
    """An integer property against any number: exact, whatever the rewrite."""
    assert ids(db, text) == {r["id"] for r in parcels if expected(r["sheet_no"])}


def test_casei_lowercases_vietnamese_like_python(db: psycopg.Connection[Any]) -> None:
    """PostgreSQL's lower() (C.UTF-8 here) knows Vietnamese capitals."""
    upper = "ÀÁẢÃẠĂẰẮẲẴẶÂẦẤẨẪẬĐÈÉẺẼẸÊỀẾỂỄỆÌÍỈĨỊÒÓỎÕỌÔỒỐỔỖỘƠỜỚỞỠỢÙÚỦŨỤƯỪỨỬỮỰỲÝỶỸỴ"
    assert db.execute("SELECT lower(%s)", (upper,)).fetchone() == (upper.lower(),)


def test_accenti_matches_python_on_every_address(db: psycopg.Connection[Any]) -> None:
    """The SQL ACCENTI (NFD, marks removed, đ->d) equals fold_accents, NFD data too."""
    flt = parse_filter(
        "ACCENTI(address) = ACCENTI('x')", layer=PARCELS, fields=PARCELS.fields
    )
    folded = flt.clause(PARCELS).left
    stmt = compile_statement(select(PARCELS.table.c.address, folded))
    for address, sql_folded in db.execute(stmt.sql, stmt.values({})):
        assert sql_folded == (None if address is None else fold_accents(address))


def test_accenti_finds_every_spelling(
    db: psycopg.Connection[Any], parcels: list[Row]
) -> None:
    """One street, written with accents, without, in capitals or decomposed (NFD)."""
    found = ids(db, "CASEI(ACCENTI(address)) LIKE CASEI(ACCENTI('%trần hưng đạo%'))")
    expected = {
        r["id"] for r in parcels
        if r["address"] and "tran hung dao" in fold_accents(r["address"]).lower()
    }  # fmt: skip
    assert found == expected
    spellings = {fold_accents(r["address"]) == r["address"] for r in parcels
                 if r["id"] in found}  # fmt: skip
    assert spellings == {True, False}
    nfd = {r["id"] for r in parcels if r["address"] and unicodedata.is_normalized(
        "NFD", r["address"]) and not r["address"].isascii()}  # fmt: skip
    assert nfd & found, "decomposed addresses are found too"
    assert not ids(db, "address LIKE '%Tran Hung Dao%'") >= found


def test_like_escapes_and_wildcards(
    db: psycopg.Connection[Any], parcels: list[Row]
) -> None:
    """% and _ are wildcards; \\% and \\_ match themselves (the escape is \\)."""
    literal = ids(db, "address LIKE '%50\\% đất%'")
    assert literal == {
        r["id"] for r in parcels if r["address"] and "50% đất" in r["address"]
    }
    assert literal
    assert ids(db, "address LIKE 'Lô _\\_%'") == {
        r["id"] for r in parcels if r["address"] and re.match(r"Lô ._", r["address"])
    }


def test_arithmetic_never_fails(
    db: psycopg.Connection[Any], parcels: list[Row]
) -> None:
    """Division or modulo by zero is NULL, not an error; powers and div are exact."""
    everyone = {r["id"] for r in parcels}
    assert ids(db, "sheet_no / 0 IS NULL AND parcel_no % 0 IS NULL") == everyone
    assert ids(db, "parcel_no div (sheet_no - sheet_no) IS NULL") == everyone
    assert ids(db, "sheet_no ^ 2 = sheet_no * sheet_no") == everyone
    assert ids(db, "(sheet_no - 20) ^ 3 < 0") == everyone
    assert ids(db, "parcel_no div 4 = (parcel_no - parcel_no % 4) / 4") == everyone
    with_area = {r["id"] for r in parcels if r["area_legal_m2"] is not None}
    assert (
        ids(db, "area_legal_m2 * 1e300 * 1e300 / 1e300 / 1e300 = area_legal_m2")
        == with_area
    )


def test_numbers_against_a_double_column(db: psycopg.Connection[Any]) -> None:
    """A double property meets literals, numerics and huge expressions without overflow."""
    layer = CATALOGUE["env_observations"]
    for text in ("value > 1.5", "value * 1e300 * 1e300 > 1", "value IN (1, 2.5)",
                 "value BETWEEN 1 AND 1e300", "value + 1 = value"):  # fmt: skip
        assert ids(db, text, layer) == set()


def test_boolean_property_and_literals(db: psycopg.Connection[Any]) -> None:
    """Boolean properties, TRUE/FALSE literals and predicates compared to booleans."""
    stations = CATALOGUE["env_stations"]
    assert ids(db, "automatic = TRUE AND automatic", stations) == set()
    everyone = ids(db, "TRUE")
    assert len(everyone) == len(PARCEL_ROWS)
    assert ids(db, "FALSE OR NOT TRUE") == set()
    assert ids(db, "isNull(valid_to) = TRUE") == ids(db, "valid_to IS NULL") != set()


# --- temporal -------------------------------------------------------------------------------

D = "INTERVAL('2020-01-01', '2020-12-31')"
TEMPORAL_CASES = [
    # (function, first, second, holds) with the second always INTERVAL 2020
    ("T_BEFORE", "INTERVAL('2019-01-01', '2019-12-31')", D, True),
    ("T_BEFORE", "INTERVAL('2019-01-01', '2020-01-01')", D, False),
    ("T_AFTER", "DATE('2021-01-01')", D, True),
    ("T_AFTER", "DATE('2020-12-31')", D, False),
    ("T_MEETS", "INTERVAL('2019-01-01', '2020-01-01')", D, True),
    ("T_METBY", "INTERVAL('2020-12-31', '2021-06-01')", D, True),
    ("T_OVERLAPS", "INTERVAL('2019-06-01', '2020-06-01')", D, True),
    ("T_OVERLAPS", "INTERVAL('2020-01-01', '2020-06-01')", D, False),
    ("T_OVERLAPPEDBY", "INTERVAL('2020-06-01', '2021-06-01')", D, True),
    ("T_STARTS", "INTERVAL('2020-01-01', '2020-06-01')", D, True),
    ("T_STARTEDBY", "INTERVAL('2020-01-01', '2021-06-01')", D, True),
    ("T_STARTEDBY", "INTERVAL('2020-01-01', '2020-06-01')", D, False),
    ("T_DURING", "INTERVAL('2020-02-01', '2020-06-01')", D, True),
    ("T_DURING", "INTERVAL('2020-01-01', '2020-06-01')", D, False),
    ("T_CONTAINS", "INTERVAL('2019-02-01', '2021-06-01')", D, True),
    ("T_FINISHES", "INTERVAL('2020-06-01', '2020-12-31')", D, True),
    ("T_FINISHEDBY", "INTERVAL('2019-06-01', '2020-12-31')", D, True),
    ("T_EQUALS", "INTERVAL('2020-01-01', '2020-12-31')", D, True),
    ("T_EQUALS", "DATE('2020-01-01')", "DATE('2020-01-01')", True),
    # a date meets a timestamp as 00:00 city time (Asia/Ho_Chi_Minh, UTC+7)
    ("T_EQUALS", "DATE('2020-01-01')", "TIMESTAMP('2020-01-01T00:00:00+07:00')", True),
    ("T_EQUALS", "DATE('2020-01-01')", "TIMESTAMP('2020-01-01T00:00:00')", True),
    ("T_EQUALS", "DATE('2020-01-01')", "TIMESTAMP('2020-01-01T00:00:00Z')", False),
    ("T_INTERSECTS", "DATE('2020-12-31')", D, True),
    ("T_INTERSECTS", "INTERVAL('..', '2020-01-01')", D, True),
    ("T_DISJOINT", "INTERVAL('..', '2019-12-31')", D, True),
    ("T_DISJOINT", "INTERVAL('2020-05-01', '..')", D, False),
    ("T_CONTAINS", "INTERVAL('..', '..')", D, True),
    ("T_EQUALS", "INTERVAL('..', '..')", "INTERVAL('..', '..')", True),
    ("T_DURING", "INTERVAL('2020-02-01', '2020-06-01')", "INTERVAL('..', '..')", True),
    ("T_AFTER", "TIMESTAMP('2020-12-31T00:00:01+07:00')", D, True),
    ("T_BEFORE", "TIMESTAMP('2019-12-31T23:59:59+07:00')", D, True),
    ("T_BEFORE", "TIMESTAMP('2019-12-31T23:59:59')", D, True),
    ("T_BEFORE", "TIMESTAMP('2019-12-31T16:59:59Z')", D, True),
    ("T_BEFORE", "TIMESTAMP('2019-12-31T17:00:00Z')", D, False),
]


@pytest.mark.parametrize(("op", "first", "second", "holds"), TEMPORAL_CASES)
def test_temporal_relations_on_literals(
    db: psycopg.Connection[Any], op: str, first: str, second: str, holds: bool
) -> None:
    """The Allen relations of OGC 21-065 (literal against literal: property-property)."""
    selected = ids(db, f"{op}({first}, {second})")
    assert bool(selected) is holds


@pytest.mark.parametrize(
    "op",
    ["T_CONTAINS", "T_DURING", "T_FINISHEDBY", "T_FINISHES", "T_MEETS", "T_METBY",
     "T_OVERLAPPEDBY", "T_OVERLAPS", "T_STARTEDBY", "T_STARTS"],
)  # fmt: skip
def test_interval_functions_refuse_instants(op: str) -> None:
    """OGC 21-065 Table 6: these relate intervals; an instant is a client error."""
    error = refusal(f"{op}(valid_from, {D})")
    assert f"{op} relates two intervals" in error.detail
    assert error.extra["conformance"].endswith("/temporal-functions")


def test_open_interval_property(
    db: psycopg.Connection[Any], parcels: list[Row]
) -> None:
    """A NULL end of INTERVAL(valid_from, valid_to) is open: still valid today."""
    today = dt.date(2031, 1, 1)
    assert ids(
        db, f"T_INTERSECTS(INTERVAL(valid_from, valid_to), DATE('{today}'))"
    ) == {r["id"] for r in parcels if r["valid_to"] is None or r["valid_to"] >= today}
    # but a NULL instant is unknown, even under NOT
    assert ids(db, "NOT T_BEFORE(valid_to, DATE('2000-01-01'))") == {
        r["id"] for r in parcels if r["valid_to"] is not None
    }


def test_dates_against_timestamps_are_city_midnight(
    db: psycopg.Connection[Any], reports: list[Row]
) -> None:
    """A date meets a timestamp as 00:00 city time; a timestamp without zone is city
    time (Asia/Ho_Chi_Minh, UTC+7)."""
    midnight = dt.datetime(2024, 6, 1, tzinfo=CITY_TZ)
    expected = {r["id"] for r in reports if r["received_at"] >= midnight}
    assert ids(db, "received_at >= DATE('2024-06-01')", REPORTS) == expected
    assert (
        ids(db, "received_at >= TIMESTAMP('2024-06-01T00:00:00')", REPORTS) == expected
    )
    assert (
        ids(db, "received_at >= TIMESTAMP('2024-06-01T00:00:00+07:00')", REPORTS)
        == expected
    )
    assert (
        ids(db, "received_at >= TIMESTAMP('2024-05-31T17:00:00Z')", REPORTS) == expected
    )


# --- spatial ---------------------------------------------------------------------------------

SQUARE = "POLYGON((0 0, 2 0, 2 2, 0 2, 0 0))"
SPATIAL_CASES = [
    ("S_INTERSECTS", SQUARE, "POINT(1 1)", True),
    ("S_DISJOINT", SQUARE, "POINT(3 3)", True),
    ("S_EQUALS", SQUARE, "POLYGON((2 2, 0 2, 0 0, 2 0, 2 2))", True),
    ("S_TOUCHES", SQUARE, "POLYGON((2 0, 3 0, 3 2, 2 2, 2 0))", True),
    ("S_TOUCHES", SQUARE, "POINT(1 1)", False),
    ("S_WITHIN", "POINT(1 1)", SQUARE, True),
    ("S_CONTAINS", SQUARE, "LINESTRING(0.5 0.5, 1.5 1.5)", True),
    ("S_OVERLAPS", SQUARE, "POLYGON((1 1, 3 1, 3 3, 1 3, 1 1))", True),
    ("S_CROSSES", "LINESTRING(-1 1, 3 1)", SQUARE, True),
    ("S_CROSSES", "LINESTRING(0.5 1, 1.5 1)", SQUARE, False),
    ("S_INTERSECTS", "BBOX(1, 1, 3, 3)", SQUARE, True),
    ("S_WITHIN", "MULTIPOINT((1 1), (1.5 0.5))", SQUARE, True),
    ("S_INTERSECTS", "GEOMETRYCOLLECTION(POINT(5 5), LINESTRING(1 -1, 1 3))", SQUARE, True),
    ("S_CONTAINS", "GEOMETRYCOLLECTION(POLYGON((0 0, 1 0, 1 1, 0 1, 0 0)),"
     " POLYGON((1 0, 2 0, 2 1, 1 1, 1 0)))", "POINT(1 0.5)", True),
    ("S_DWITHIN", "POINT(108.1 10.93)", "POINT(108.1 10.9345)", False),  # 498 m
]  # fmt: skip


@pytest.mark.parametrize(("op", "a", "b", "holds"), SPATIAL_CASES)
def test_spatial_functions_on_literals(
    db: psycopg.Connection[Any], op: str, a: str, b: str, holds: bool
) -> None:
    """Every DE-9IM function (literal against literal), as OGC 06-103 defines it."""
    extra = ", 400, meters" if op == "S_DWITHIN" else ""
    assert bool(ids(db, f"{op}({a}, {b}{extra})")) is holds


def test_dwithin_is_in_metres_on_the_spheroid(db: psycopg.Connection[Any]) -> None:
    """S_DWITHIN distances are metres (geography), the box pre-filter keeps them all."""
    row = db.execute("SELECT ST_X(geom), ST_Y(geom) FROM tree WHERE id = 1").fetchone()
    assert row is not None
    x, y = row
    north = y + 0.0045  # about 498 m north
    assert 1 in ids(db, f"S_DWITHIN(geometry, POINT({x} {north}), 510, meters)", TREES)
    assert 1 not in ids(db, f"S_DWITHIN(geometry, POINT({x} {north}), 480)", TREES)
    assert 1 in ids(db, f"S_DWITHIN(POINT({x} {north}), geom, 510, metres)", TREES)


def test_filter_crs_vn2000(db: psycopg.Connection[Any], parcels: list[Row]) -> None:
    """Literals in VN-2000 / TM-3 (EPSG:9218) are transformed by PostGIS to WGS 84."""
    from pyproj import Transformer

    target = parcels[0]
    centre = target["geom"].centroid
    x, y = Transformer.from_crs(4326, 9218, always_xy=True).transform(
        centre.x, centre.y
    )
    assert target["id"] in ids(
        db, f"S_INTERSECTS(geometry, POINT({x} {y}))", filter_crs=9218
    )
    box = f"BBOX({x - 5}, {y - 5}, {x + 5}, {y + 5})"
    assert target["id"] in ids(db, f"S_INTERSECTS(geometry, {box})", filter_crs=9218)
    # a box south of the zone's area of use (the equator): refused, not transformed
    error = refusal("S_INTERSECTS(geometry, BBOX(0, 0, 2000000, 10))", filter_crs=9218)
    assert "outside the area of use of EPSG:9218" in error.detail


def test_filter_crs_epsg4326_is_latitude_first(
    db: psycopg.Connection[Any], parcels: list[Row]
) -> None:
    """EPSG:4326 literals come latitude first (CRS84 is the longitude-first default)."""
    centre = parcels[0]["geom"].centroid
    text = f"S_INTERSECTS(geometry, POINT({centre.y} {centre.x}))"
    assert parcels[0]["id"] in ids(db, text, filter_lonlat=False)
    # the same text read longitude first has a latitude of 108: refused, not guessed
    assert "latitude -90..90" in refusal(text).detail


def test_bbox_across_the_antimeridian(db: psycopg.Connection[Any]) -> None:
    """A BBOX whose west edge is east of its east edge wraps (OGC 21-065 7.6)."""
    assert ids(db, "S_INTERSECTS(geometry, BBOX(170, -10, -170, 10))") == set()
    assert ids(db, "S_INTERSECTS(geometry, BBOX(100, 0, 90, 20))")  # all but 90..100


# --- arrays ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("A_CONTAINS(tags, ('cây'))", {1, 5}),
        ("A_CONTAINS(tags, ('cây', 'đèn'))", {1, 5}),
        ("A_CONTAINEDBY(tags, ('đèn', 'x'))", {2, 3}),
        ("A_EQUALS(tags, ('đèn'))", {2}),
        ("A_OVERLAPS(tags, ('nước', 'x'))", {5}),
        ("A_EQUALS(codes, (3, 2, 1))", {1}),
        ("A_CONTAINEDBY(codes, (1, 2, 3, 4))", {1, 2, 3, 5}),
        ("A_OVERLAPS(scores, (2))", {2, 5}),
        ("A_CONTAINS(scores, (1.5, 2.0))", {5}),
        ("A_OVERLAPS(codes, scores)", {2}),
        ("A_EQUALS(('a', 'b'), ('b', 'a', 'a'))", {1, 2, 3, 4, 5}),
        ("NOT A_OVERLAPS(tags, ('cây'))", {2, 3}),
    ],
)
def test_array_functions(
    db: psycopg.Connection[Any], text: str, expected: set[int]
) -> None:
    """Arrays compare as sets; NULL arrays are unknown."""
    assert ids(db, text, TAGS) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("A_CONTAINS(codes, ('a'))", "the arrays hold different types"),
        ("A_CONTAINS(tags, ('a', 1))", "must share one type"),
        ("A_CONTAINS(tags, ('a', DATE('2020-01-01')))", "must share one type"),
        ('{"op": "a_contains", "args": [{"property": "tags"}, [["a"]]]}', "no nested arrays"),
        ('{"op": "a_contains", "args": [{"property": "tags"}, "a"]}',
         "compares arrays, not text literal"),
        ("tags = ('a')", "cannot compare 'tags' (an array) with text literal"),
        ("A_EQUALS(tags, codes)", "the arrays hold different types (text and an integer)"),
    ],
)  # fmt: skip
def test_array_type_errors(text: str, message: str) -> None:
    """Array functions check element types before any SQL (the text parser makes a
    lone value an array of one, so some of these are JSON)."""
    lang = "cql2-json" if text.startswith("{") else "cql2-text"
    assert message in refusal(text, lang, layer=TAGS).detail


@pytest.mark.parametrize(
    "literal",
    [
        "LINESTRING(-180 -45, 0 -45)",
        "MULTILINESTRING((-180 -45, 0 -45), (0 45, 180 45))",
        "POLYGON((-180 -90, -90 -90, -90 90, -180 90, -180 -90),"
        " (-120 -50, -100 -50, -100 -40, -120 -40, -120 -50))",
        "MULTIPOLYGON(((-180 -90, -90 -90, -90 90, -180 90, -180 -90),"
        " (-120 -50, -100 -50, -100 -40, -120 -40, -120 -50)),"
        " ((0 0, 10 0, 10 10, 0 10, 0 0)))",
        "GEOMETRYCOLLECTION(POINT(7.02 49.92), POLYGON((0 0, 10 0, 10 10, 0 10, 0 0)))",
    ],
)
def test_ats_spatial_literals_run(db: psycopg.Connection[Any], literal: str) -> None:
    """The literals of the ATS (basic-spatial-functions-plus), world edges included."""
    assert ids(db, f"S_INTERSECTS(geom,{literal})") == set()


def test_lowercase_functions_and_quoted_properties(db: psycopg.Connection[Any]) -> None:
    """The ATS writes t_after("date", date('...')): names are case-insensitive."""
    assert ids(db, "t_after(\"valid_from\",date('2022-04-16'))") == ids(
        db, "T_AFTER(valid_from, DATE('2022-04-16'))"
    )
    assert ids(db, "t_intersects(interval(valid_from,valid_to),interval('..','..'))")
