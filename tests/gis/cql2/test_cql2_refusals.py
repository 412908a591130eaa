"""gis.cql2 refusals: a documented corpus of bad filters (``bad_corpus.txt``) and
generated giants, each refused with a 400-class error whose message names the problem;
the limits still allow what they promise."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import psycopg
import pytest

from gis.cql2 import MAX_IN_ITEMS, MAX_VERTICES, parse_filter
from gis.errors import InvalidParameterError, LimitExceededError
from gis.layer import Field
from tests.gis.cql2.support import CORPUS, PARCEL_ROWS, PARCELS, ids, refusal

# --- bad filters: the documented corpus and generated giants ---------------------------


@dataclass(frozen=True)
class BadFilter:
    """One entry of cql2_bad_corpus.txt."""

    why: str
    lang: str
    error: str
    expect: str
    text: str


def load_corpus() -> list[BadFilter]:
    """Parse the corpus file (blocks of ``# why`` / ``key: value`` lines)."""
    entries = []
    for block in CORPUS.read_text(encoding="utf-8").split("\n\n"):
        lines = block.strip("\n").splitlines()
        why = " ".join(ln[1:].strip() for ln in lines if ln.startswith("#"))
        fields: dict[str, str] = {}
        for ln in lines:
            if not ln.startswith("#"):
                key, _, value = ln.partition(":")
                fields[key] = value.removeprefix(" ")
        if "filter" not in fields:
            continue  # the header
        text = fields["filter"]  # sent as is, JSON escapes included
        entries.append(
            BadFilter(
                why,
                fields.get("lang", "cql2-text"),
                fields["error"],
                fields["expect"],
                text if fields["filter"].strip() else "   ",
            )
        )
    return entries


CORPUS_ENTRIES = load_corpus()


def test_corpus_is_documented() -> None:
    """Every corpus entry says why it is bad, and there are enough of them."""
    assert len(CORPUS_ENTRIES) >= 50
    assert all(e.why for e in CORPUS_ENTRIES)


@pytest.mark.parametrize("entry", CORPUS_ENTRIES, ids=lambda e: e.why[:60])
def test_bad_filter_is_refused_clearly(entry: BadFilter) -> None:
    """Each corpus filter is a 400-class error whose message names the problem."""
    error = refusal(entry.text, entry.lang)
    assert type(error).__name__ == entry.error
    assert entry.expect.lower() in error.detail.lower(), error.detail
    assert error.detail.startswith("filter: ")
    assert error.extra["parameter"] == "filter"


def nested_json(depth: int) -> str:
    """``depth`` NOTs around a comparison, as CQL2 JSON text."""
    leaf = '{"op": "=", "args": [{"property": "sheet_no"}, 1]}'
    return '{"op": "not", "args": [' * depth + leaf + "]}" * depth


GIANTS = {
    # name: (lang, filter, error class, message)
    "1000-deep parentheses": (
        "cql2-text",
        "(" * 1000 + "sheet_no = 1" + ")" * 1000,
        LimitExceededError,
        "nested too deeply",
    ),
    "4000-deep parentheses (the parser would overflow its stack)": (
        "cql2-text",
        "(" * 4000 + "sheet_no = 1" + ")" * 4000,
        LimitExceededError,
        "nested too deeply",
    ),
    "1000 NOTs": ("cql2-text", "NOT " * 1000 + "sheet_no = 1", LimitExceededError,
                  "nested too deeply"),
    "3000 minus signs": ("cql2-text", "sheet_no = " + "-" * 3000 + "1",
                         LimitExceededError, "nested too deeply"),
    "1000-deep JSON": ("cql2-json", nested_json(1000), LimitExceededError,
                       "nested too deeply"),
    "21 nested NOTs": ("cql2-json", nested_json(20), LimitExceededError,
                       "nested too deeply (at most 20 levels)"),
    "a syntax error 6 groups deep in 8 KB": (
        "cql2-text",
        "(" * 6 + " AND ".join(f"sheet_no = {i}" for i in range(500))[:7900] + " AND" + ")" * 6,
        LimitExceededError,
        "parentheses nested too deeply for a filter of",
    ),
    "IN list of 5000 items (text)": (
        "cql2-text",
        "sheet_no IN (" + ", ".join(str(i) for i in range(5000)) + ")",
        LimitExceededError,
        "at most 8 KB",
    ),
    "IN list of 5000 items (JSON)": (
        "cql2-json",
        json.dumps({"op": "in", "args": [{"property": "sheet_no"}, list(range(5000))]}),
        LimitExceededError,
        f"an IN list has at most {MAX_IN_ITEMS} items (5000 given)",
    ),
    "polygon of 1,000,000 vertices (text)": (
        "cql2-text",
        "S_INTERSECTS(geometry, POLYGON((" + ", ".join(["1 1"] * 1_000_000) + ")))",
        LimitExceededError,
        "at most 8 KB",
    ),
    "polygon of 1,000,000 vertices (JSON)": (
        "cql2-json",
        '{"op": "s_intersects", "args": [{"property": "geometry"}, {"type": "Polygon",'
        ' "coordinates": [[' + ",".join(["[1,1]"] * 1_000_000) + "]]}]}",
        LimitExceededError,
        "at most 64 KB",
    ),
    "multipoint of 10,001 vertices (JSON, under 64 KB)": (
        "cql2-json",
        '{"op": "s_intersects", "args": [{"property": "geometry"}, {"type":'
        ' "MultiPoint", "coordinates": [' + ",".join(["[1,1]"] * 10_001) + "]}]}",
        LimitExceededError,
        f"at most {MAX_VERTICES:,} vertices",
    ),
    "9 KB of text": (
        "cql2-text",
        "address = '" + "x" * 9 * 1024 + "'",
        LimitExceededError,
        "cql2-text filters are at most 8 KB (this one is 10 KB)",
    ),
    "9 KB of Vietnamese (bytes, not characters, count)": (
        "cql2-text",
        "address = '" + "đ" * 4700 + "'",
        LimitExceededError,
        "at most 8 KB",
    ),
    "65 KB of JSON": (
        "cql2-json",
        json.dumps({"op": "=", "args": [{"property": "address"}, "x" * 65 * 1024]}),
        LimitExceededError,
        "cql2-json filters are at most 64 KB",
    ),
    "201 nodes": (
        "cql2-text",
        " OR ".join(["sheet_no = 1"] * 70),
        LimitExceededError,
        "at most 200 nodes",
    ),
    "arithmetic chain 300 deep": (
        "cql2-text",
        "sheet_no = " + " + ".join(["1"] * 300),
        LimitExceededError,
        "nested too deeply",
    ),
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(GIANTS))
def test_giant_filter_is_refused_cheaply(name: str) -> None:
    """Huge, deep or wide filters stop at a documented limit, fast, without parsing
    what would crash or stall the parser."""
    lang, text, error_class, message = GIANTS[name]
    error = refusal(text, lang)
    assert isinstance(error, error_class)
    assert message in error.detail, error.detail


def test_limits_allow_what_they_promise(db: psycopg.Connection[Any]) -> None:
    """At the limits (20 levels, 1,000 IN items, 10,000 vertices) filters still run."""
    twenty_levels = nested_json(18)  # 18 NOTs, =, and an even number of NOTs
    assert ids(db, twenty_levels, lang="cql2-json") == ids(db, "sheet_no = 1")
    parse_filter(
        nested_json(19), lang="cql2-json", layer=PARCELS, fields=PARCELS.fields
    )
    in_list = {"op": "in", "args": [{"property": "id"}, list(range(1, 1001))]}
    assert len(ids(db, json.dumps(in_list), lang="cql2-json")) == len(PARCEL_ROWS)
    points = ",".join(["[1,1]"] * MAX_VERTICES)  # short enough for 64 KB
    text = (
        '{"op":"s_intersects","args":[{"property":"geometry"},'
        f'{{"type":"MultiPoint","coordinates":[{points}]}}]}}'
    )
    assert ids(db, text, lang="cql2-json") == set()


def test_unknown_filter_lang() -> None:
    """Only cql2-text and cql2-json are filter languages."""
    error = refusal("sheet_no = 1", "ecql")
    assert error.extra["parameter"] == "filter-lang"
    assert "use cql2-text or cql2-json" in error.detail


def test_a_lone_surrogate_in_the_text_is_refused() -> None:
    """A str that is not encodable (from a lossy decoder) is a 400, not a crash."""
    assert "not valid UTF-8" in refusal("ward_code = '\ud800'").detail


def test_filter_crs_must_be_offered() -> None:
    """Only the collection's CRSs: PostGIS knows those (spatial_ref_sys)."""
    error = refusal("S_INTERSECTS(geometry, POINT(1 2))", filter_crs=2154)
    assert error.extra["parameter"] == "filter-crs"


def test_hidden_fields_are_not_queryable() -> None:
    """``fields`` is what the caller may see: anything else is an unknown property."""
    visible = tuple(f for f in PARCELS.fields if f.name != "address")
    with pytest.raises(InvalidParameterError, match="unknown property 'address'"):
        parse_filter("address = 'x'", layer=PARCELS, fields=visible)
    not_queryable = tuple(
        Field(f.name, f.title, queryable=f.name != "ward_code") for f in PARCELS.fields
    )
    with pytest.raises(InvalidParameterError, match="unknown property 'ward_code'"):
        parse_filter("ward_code = 'x'", layer=PARCELS, fields=not_queryable)
