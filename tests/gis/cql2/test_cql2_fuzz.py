"""gis.cql2 fuzzed: at least 10,000 generated and mutated filters each either compile
and run without a PostgreSQL error, or are refused with InvalidParameterError /
LimitExceededError."""

from __future__ import annotations

import json
import os
import random
import re
import time
from collections.abc import Iterator
from typing import Any

import psycopg
from sqlalchemy import func, select

from gis.cql2 import parse_filter
from gis.errors import InvalidParameterError
from gis.sql.compiled import compile_statement
from tests.gis.cql2.support import PARCELS, REPORTS, TREES

# --- fuzz: generated and mutated filters ----------------------------------------------

SEEDS = (
    "ward_code = '22945' AND sheet_no = 3 AND parcel_no = 7",
    "sheet_no < 2.5 OR parcel_no >= 14",
    "NOT (land_use IN ('ODT', 'CLN')) AND area_legal_m2 BETWEEN 100 AND 200.5",
    "CASEI(address) LIKE CASEI('%trần hưng%')",
    "ACCENTI(address) = ACCENTI('20 Tran Hung Dao')",
    "CASEI(ACCENTI(address)) LIKE '%thiet%'",
    "address LIKE 'Lô A\\_1%' OR address NOT LIKE '%50\\%%'",
    "valid_to IS NULL AND valid_from > DATE('2020-01-01')",
    "T_INTERSECTS(INTERVAL(valid_from, valid_to), INTERVAL('2019-01-01', '..'))",
    "T_DURING(INTERVAL(valid_from, valid_to), INTERVAL('2015-01-01', '2030-12-31'))",
    "T_AFTER(valid_from, TIMESTAMP('2021-06-01T07:30:00+07:00'))",
    "T_MEETS(INTERVAL(valid_from, valid_to), INTERVAL('2025-01-01', '2026-01-01'))",
    "S_INTERSECTS(geometry, BBOX(108.05, 10.90, 108.10, 10.95))",
    "S_WITHIN(geom, POLYGON((108.0 10.8, 108.2 10.8, 108.2 11.0, 108.0 11.0, 108.0 10.8)))",
    "S_CONTAINS(geometry, POINT(108.1 10.93))",
    "S_DWITHIN(geometry, POINT(108.1 10.93), 800, meters)",
    "S_TOUCHES(geometry, LINESTRING(108.0 10.8, 108.2 11.0))",
    "S_CROSSES(geometry, MULTILINESTRING((108.0 10.8, 108.2 11.0), (108.1 10.8, 108.1 11)))",
    "S_OVERLAPS(geometry, MULTIPOLYGON(((108.0 10.8, 108.2 10.8, 108.2 11.0, 108.0 10.8))))",
    "S_DISJOINT(geometry, MULTIPOINT((108.1 10.93), (108.11 10.94)))",
    "S_EQUALS(geometry, GEOMETRYCOLLECTION(POINT(108.1 10.93), LINESTRING(108 10, 109 11)))",
    "sheet_no * 2 + parcel_no > 20 AND area_legal_m2 / sheet_no < 100",
    "parcel_no % 3 = 1 OR parcel_no div 4 = 2 OR sheet_no ^ 2 > 50",
    "sheet_no = parcel_no AND valid_from <= valid_to",
    "id IN (1, 2, 3, 50, 100) OR id = 7",
    "(ward_code = '22948' OR ward_code IS NULL) AND NOT land_use = 'DGT'",
    "TRUE AND 1 = 1 AND 'a' < 'b'",
    "T_EQUALS(DATE('2020-01-01'), TIMESTAMP('2020-01-01T00:00:00Z'))",
    "A_CONTAINS(land_use, ('ODT'))",
)
TOKENS = (
    "AND", "OR", "NOT", "LIKE", "BETWEEN", "IN", "IS", "NULL", "TRUE", "FALSE",
    "CASEI", "ACCENTI", "S_INTERSECTS", "S_WITHIN", "S_DWITHIN", "S_EQUALS",
    "T_AFTER", "T_DURING", "T_INTERSECTS", "T_STARTS", "A_EQUALS", "A_OVERLAPS",
    "DATE", "TIMESTAMP", "INTERVAL", "BBOX", "POINT", "POLYGON", "LINESTRING",
    "GEOMETRYCOLLECTION", "EMPTY", "=", "<>", "<", "<=", ">", ">=", "+", "-", "*",
    "/", "%", "^", "div", "(", ")", ",", ";", "--", "'", '"', "..", "'..'",
    "geometry", "geom", "id", "ward_code", "sheet_no", "area_legal_m2",
    "valid_from", "valid_to", "address", "owner", '"x y"', "received_at",
    "1", "0", "-1", "1.5", "1e308", "1e400", "-0", "99999999999999999999",
    "'x'", "''", "'%'", "'\\'", "'Đạo'", "DATE('2020-02-30')", "DATE('0000-01-01')",
    "TIMESTAMP('9999-12-31T23:59:59-12:00')", "TIMESTAMP('0001-01-01T00:00:00+14:00')",
    "'; DROP TABLE land_parcel; --", "pg_sleep(10)", "UNION SELECT 1",
    "POINT(1 2)", "POINT(108.1 91)", "BBOX(1,2,3,4)", "BBOX(170,1,-170,2)",
    "INTERVAL('..','..')", "INTERVAL(valid_from, '..')", "('a','b')", "(1,2,3)",
)  # fmt: skip
NUMBERS = ("0", "1", "-1", "2.5", "-7", "13", "1e300", "-1e-300", "0.0001", "1e-320",
           "123456789012", "9223372036854775807", "-9223372036854775809", "64", "65",
           "108.1", "10.93", "200000", "1e400")  # fmt: skip
STRINGS = ("''", "'\\'", "'%\\'", "'\\%'", "'it''s'", "'Đạo'", "'😀'", "'..'",
           "'2020-01-01'", "'2020-01-01T00:00:00Z'", "'x" + "y" * 400 + "'",
           "'\u0301'", "'a\\\u0301'")  # fmt: skip
CHARS = "()',\"%_\\ -+*/^<>=.;:0123456789abcdeEZTxyđĐ\x00\ud800\u0301\n\t"


def mutate(rng: random.Random, text: str, others: tuple[str, ...]) -> str:
    """One random edit: delete, insert, swap, replace a token, nest, splice..."""
    n = len(text)
    i = rng.randrange(n + 1)
    kind = rng.randrange(11)
    if kind == 0 and n:
        return text[:i] + text[i + rng.randint(1, 6) :]
    if kind == 1:
        return text[:i] + rng.choice(CHARS) + text[i:]
    if kind == 2 and n > 1:
        i = min(i, n - 2)
        return text[:i] + text[i + 1] + text[i] + text[i + 2 :]
    if kind == 3:
        parts = re.findall(r"\w+|'[^']*'|\S", text)
        if parts:
            parts[rng.randrange(len(parts))] = rng.choice(TOKENS)
        return " ".join(parts)
    if kind == 4:
        return text[:i] + f" {rng.choice(TOKENS)} " + text[i:]
    if kind == 5 and n:
        j = rng.randint(i, n)
        return text[:j] + text[i:j] + text[j:]
    if kind == 6:
        depth = rng.choice((2, 10, 19, 25, 70, 1000, 3000))
        return "(" * depth + text + ")" * depth
    if kind == 7:
        depth = rng.choice((1, 5, 21, 200, 2000))
        return "NOT " * depth + text
    if kind == 8 and others:
        other = rng.choice(others)
        return text[:i] + other[rng.randrange(len(other) + 1) :]
    if kind == 9:
        return re.sub(
            r"\d+(\.\d+)?",
            lambda m: rng.choice(
                (m[0], "1e400", "-0", "1e-400", "123456789012345678901", "0")
            ),
            text,
        )
    return re.sub(
        r"'[^']*'",
        lambda m: rng.choice(
            (m[0], "''", "'\\'", "'%\\'", "'" + "x" * 300 + "'", "'😀'")
        ),
        text,
    )


JSON_FRAGMENTS: tuple[Any, ...] = (
    None, True, 0, -1.5, 1e308, "x", "..", "", [], [1, "a"], [[1]], {},
    {"property": "sheet_no"}, {"property": "nope"}, {"property": 5},
    {"op": "nope", "args": []}, {"op": "=", "args": "x"}, {"op": "and", "args": [True]},
    {"date": "2020-13-01"}, {"timestamp": "2020-01-01"}, {"interval": ["..", ".."]},
    {"interval": [1, 2]}, {"bbox": [1, 2, 3]}, {"bbox": [108, 10, 108.1, 10.1]},
    {"type": "Point", "coordinates": [1]}, {"type": "Polygon", "coordinates": [[[0, 0], [1, 1]]]},
    {"type": "GeometryCollection", "geometries": []},
    {"type": "LineString", "coordinates": [[108, 10], [108.1, 10.1]]},
    {"op": "casei", "args": [{"property": "address"}]},
    {"op": "+", "args": [{"property": "sheet_no"}, 1]},
)  # fmt: skip


def mutate_json(rng: random.Random, node: Any) -> Any:
    """Replace a random node of a CQL2-JSON tree (or an op name, or an argument count)."""
    if isinstance(node, dict) and "args" in node and isinstance(node["args"], list):
        roll = rng.random()
        if roll < 0.15:
            return {**node, "op": rng.choice(TOKENS).lower()}
        if roll < 0.25:
            return {
                **node,
                "args": node["args"][: rng.randrange(len(node["args"]) + 1)],
            }
        if node["args"] and roll < 0.8:
            args = list(node["args"])
            k = rng.randrange(len(args))
            args[k] = mutate_json(rng, args[k])
            return {**node, "args": args}
    if rng.random() < 0.5:
        return rng.choice(JSON_FRAGMENTS)
    return node


def fuzz_cases(rng: random.Random, count: int) -> Iterator[tuple[str, str]]:
    """``count`` (lang, filter) pairs: text mutations, JSON tree and text mutations."""
    import cql2

    trees = [cql2.parse_text(s).to_json() for s in SEEDS]
    for k in range(count):
        if k % 4 == 3:
            tree = rng.choice(trees)
            for _ in range(rng.randint(1, 3)):
                tree = mutate_json(rng, tree)
            text = json.dumps(tree, ensure_ascii=False)
            if rng.random() < 0.3:
                text = mutate(rng, text, ())
            yield "cql2-json", text
        elif k % 4 == 2:
            # new values in a valid filter: mostly still valid, so the SQL paths run
            text = rng.choice(SEEDS)
            text = re.sub(
                r"(?<![\w.])-?\d+(\.\d+)?(e-?\d+)?",
                lambda m: rng.choice((m[0], m[0], *NUMBERS)),
                text,
            )
            text = re.sub(
                r"'(?:[^']|'')*'",
                lambda m: rng.choice((m[0], m[0], m[0], *STRINGS)),
                text,
            )
            yield "cql2-text", text
        else:
            text = rng.choice(SEEDS)
            for _ in range(rng.randint(1, 3)):
                text = mutate(rng, text, SEEDS)
            yield "cql2-text", text


FUZZ_COUNT = int(os.environ.get("DOTHI_FUZZ_COUNT", "12000"))
FUZZ_SEED = int(os.environ.get("DOTHI_FUZZ_SEED", "65"))


def test_fuzz_never_reaches_postgres_as_an_error(db: psycopg.Connection[Any]) -> None:
    """Every mutated filter compiles and runs, or is a 400-class refusal: nothing else.

    ``DOTHI_FUZZ_SEED`` / ``DOTHI_FUZZ_COUNT`` change the run (the default is fixed so
    a failure reproduces).
    """
    rng = random.Random(FUZZ_SEED)
    layers = (PARCELS,) * 8 + (REPORTS, TREES)
    failures: list[str] = []
    ran = refused = 0
    started = time.monotonic()
    for lang, text in fuzz_cases(rng, FUZZ_COUNT):
        layer = rng.choice(layers)
        crs = {}  # literals in another CRS now and then: PostGIS transforms them
        if rng.random() < 0.3:
            crs = {"filter_crs": rng.choice(layer.crs_srids),
                   "filter_lonlat": rng.random() < 0.5}  # fmt: skip
        try:
            flt = parse_filter(text, lang=lang, layer=layer, fields=layer.fields, **crs)
        except InvalidParameterError:  # LimitExceededError included
            refused += 1
            continue
        except Exception as exc:  # the point of the test: nothing else escapes
            failures.append(f"{lang} {text[:200]!r}: {type(exc).__name__}: {exc}")
            continue
        try:
            stmt = (
                select(func.count()).select_from(layer.table).where(flt.clause(layer))
            )
            compiled = compile_statement(stmt)
            db.execute(compiled.sql, compiled.values(flt.params)).fetchone()
            ran += 1
        except Exception as exc:
            failures.append(f"{lang} {text[:200]!r}: {type(exc).__name__}: {exc}")
    assert ran + refused + len(failures) == FUZZ_COUNT >= 10_000
    assert ran > FUZZ_COUNT // 20, "the mutations should leave many filters valid"
    assert not failures, f"seed {FUZZ_SEED}: {len(failures)} failures:\n" + "\n".join(
        failures[:15]
    )
    print(  # noqa: T201 - the count is part of the evidence
        f"fuzz: {FUZZ_COUNT} filters, {ran} ran, {refused} refused, "
        f"{time.monotonic() - started:.1f}s"
    )
