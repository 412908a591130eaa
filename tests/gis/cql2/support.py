"""What the CQL2 tests share: hand-made rows around Phan Thiết, the layers, and the
helpers that parse a filter and run it through the compiled-once statement path."""

from __future__ import annotations

import datetime as dt
import random
import re
import time
import unicodedata
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
import pytest
import shapely
from sqlalchemy import (
    ARRAY,
    BigInteger,
    Column,
    Integer,
    MetaData,
    Numeric,
    Table,
    Text,
    select,
)

from gis.cql2 import Filter, fold_accents, parse_filter
from gis.errors import InvalidParameterError
from gis.layer import Field, Label, VectorLayer
from gis.sql.compiled import compile_statement
from layers import CATALOGUE

PARCELS = CATALOGUE["land_parcels"]
REPORTS = CATALOGUE["field_reports"]
TREES = CATALOGUE["trees"]
CORPUS = Path(__file__).with_name("bad_corpus.txt")
UTC = dt.UTC
Row = dict[str, Any]  # a row of a table, by column name

# --- the data: a few hundred hand-made rows around Phan Thiết -------------------------

STREETS = (
    "Trần Hưng Đạo",
    "Phan Thiết",
    "Nguyễn Tất Thành",
    "Võ Văn Kiệt",
    "Lê Lợi",
    "Tôn Đức Thắng",
    "Hải Thượng Lãn Ông",
    "Thủ Khoa Huân",
    "Ngô Sĩ Liên",
    "Đường 19/4",
)
LAND_USES = ("ODT", "CLN", "TMD", "ONT", "DGT")
WARDS = ("22945", "22948", "22951")
SPECIES = ("Sao đen", "Dầu rái", "Bàng", "Phượng vĩ", "Me tây", "Xà cừ")
CATEGORIES = ("lighting", "trees", "roads", "drainage", "waste")


def _address(rng: random.Random) -> str | None:
    street = rng.choice(STREETS)
    text = f"{rng.randint(1, 250)} {street}"
    roll = rng.random()
    if roll < 0.08:
        return None
    if roll < 0.2:
        return text.upper()
    if roll < 0.3:
        return fold_accents(text)  # typed without accents
    if roll < 0.4:
        return unicodedata.normalize("NFD", text)  # decomposed, as some tools write
    if roll < 0.45:
        return f"Lô {rng.choice('ABC')}_{rng.randint(1, 9)}, 50% đất ở, {street}"
    return text


def _parcel_rows() -> list[tuple[Any, ...]]:
    """The parcels, deterministic (the strategies draw literals from them too)."""
    rng = random.Random(20251123)
    parcels = []
    for i in range(320):
        valid_from = dt.date(2015, 1, 1) + dt.timedelta(days=rng.randint(0, 3650))
        valid_to = (
            None
            if rng.random() < 0.45
            else valid_from + dt.timedelta(days=rng.randint(0, 1500))
        )
        x, y = 108.05 + rng.random() * 0.1, 10.88 + rng.random() * 0.1
        s = 0.0002 + rng.random() * 0.002
        parcels.append(
            (
                rng.choice((*WARDS, None)),
                rng.randint(1, 12),
                # a number is unique on its sheet (migration 0015): 100 apart a row
                100 * i + rng.randint(1, 15),
                rng.choice(LAND_USES),
                None if rng.random() < 0.1 else Decimal(rng.randint(200, 20000)) / 10,
                _address(rng),
                valid_from,
                valid_to,
                f"MULTIPOLYGON((({x} {y},{x + s} {y},{x + s} {y + s},{x} {y + s},"
                f"{x} {y})))",
            )
        )
    return parcels


PARCEL_ROWS = _parcel_rows()
PARCEL_COLUMNS = (
    "ward_code",
    "sheet_no",
    "parcel_no",
    "land_use",
    "area_legal_m2",
    "address",
    "valid_from",
    "valid_to",
)


def pool(name: str) -> list[Any]:
    """The distinct non-NULL values of a parcel column, sorted."""
    i = PARCEL_COLUMNS.index(name)
    return sorted({row[i] for row in PARCEL_ROWS if row[i] is not None})


def load(conn: psycopg.Connection[Any]) -> None:
    rng = random.Random(20251124)
    parcels = PARCEL_ROWS
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO land_parcel (ward_code, sheet_no, parcel_no, land_use,"
            " area_legal_m2, address, valid_from, valid_to, geom)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, ST_GeomFromText(%s, 4326))",
            parcels,
        )
        reports = []
        for i in range(180):
            received = dt.datetime(2024, 1, 1, tzinfo=UTC) + dt.timedelta(
                minutes=rng.randint(0, 525_600)
            )
            resolved = (
                None
                if rng.random() < 0.4
                else received + dt.timedelta(minutes=rng.randint(0, 40_000))
            )
            reports.append(
                (
                    f"PA-{i:05d}",
                    rng.choice(CATEGORIES),
                    f"Phản ánh {rng.choice(STREETS)}",
                    rng.choice(("received", "assigned", "resolved")),
                    received,
                    received + dt.timedelta(days=rng.randint(1, 15)),
                    resolved,
                    f"POINT({108.05 + rng.random() * 0.1} {10.88 + rng.random() * 0.1})",
                )
            )
        cur.executemany(
            "INSERT INTO field_report (report_code, category, description, status,"
            " received_at, deadline_at, resolved_at, geom)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, ST_GeomFromText(%s, 4326))",
            reports,
        )
        trees = [
            (
                f"CX-{i:04d}",
                rng.choice(SPECIES),
                None if rng.random() < 0.1 else Decimal(rng.randint(10, 300)) / 10,
                None if rng.random() < 0.1 else rng.randint(10, 400),
                rng.choice(("good", "fair", "poor")),
                None
                if rng.random() < 0.2
                else dt.date(1990, 1, 1) + dt.timedelta(days=rng.randint(0, 12000)),
                f"POINT({108.05 + rng.random() * 0.1} {10.88 + rng.random() * 0.1})",
            )
            for i in range(120)
        ]
        cur.executemany(
            "INSERT INTO tree (tree_code, species_vi, height_m, trunk_circumference_cm,"
            " health, planted_on, geom)"
            " VALUES (%s, %s, %s, %s, %s, %s, ST_GeomFromText(%s, 4326))",
            trees,
        )
        cur.execute(
            "CREATE TABLE filter_tag (id bigint PRIMARY KEY, tags text[],"
            " codes integer[], scores numeric(5,1)[])"
        )
        cur.executemany(
            "INSERT INTO filter_tag VALUES (%s, %s, %s, %s)",
            [
                (1, ["cây", "đèn"], [1, 2, 3], [Decimal("1.5")]),
                (2, ["đèn"], [2], [Decimal("2.0"), Decimal("3.5")]),
                (3, [], [], []),
                (4, None, None, None),
                (5, ["cây", "nước", "đèn"], [3, 4], [Decimal("1.5"), Decimal("2.0")]),
            ],
        )
    conn.execute("ANALYZE")


TAGS = VectorLayer(
    id="tags",
    table=Table(
        "filter_tag",
        MetaData(),
        Column("id", BigInteger, primary_key=True),
        Column("tags", ARRAY(Text)),
        Column("codes", ARRAY(Integer)),
        Column("scores", ARRAY(Numeric(5, 1))),
    ),
    title=Label("Nhãn", "Tags"),
    description=Label("", ""),
    fields=tuple(Field(n, Label(n, n)) for n in ("tags", "codes", "scores")),
    geometry_type=None,
)


def run(db: psycopg.Connection[Any], flt: Filter, layer: VectorLayer) -> set[int]:
    """The ids ``flt`` selects, through the compiled-once statement path."""
    compiled = compile_statement(select(layer.table.c.id).where(flt.clause(layer)))
    placeholders = set(re.findall(r"%\((\w+)\)s", compiled.sql))
    assert placeholders == set(flt.params), "params and SQL parameters must match"
    return {row[0] for row in db.execute(compiled.sql, compiled.values(flt.params))}


def ids(
    db: psycopg.Connection[Any],
    text: str,
    layer: VectorLayer = PARCELS,
    **options: Any,
) -> set[int]:
    """Parse (all fields visible) and run."""
    return run(
        db, parse_filter(text, layer=layer, fields=layer.fields, **options), layer
    )


def table_rows(db: psycopg.Connection[Any], sql: str) -> list[dict[str, Any]]:
    """Rows as dicts (geometries as shapely)."""
    cur = db.execute(sql)
    names = [d.name for d in cur.description or ()]
    out = []
    for values in cur.fetchall():
        row = dict(zip(names, values, strict=True))
        if row.get("geom") is not None:
            row["geom"] = shapely.from_wkb(row["geom"])
        out.append(row)
    return out


def refusal(text: str, lang: str = "cql2-text", layer: VectorLayer = PARCELS,
            **options: Any) -> InvalidParameterError:  # fmt: skip
    """The error ``parse_filter`` raises for ``text`` (it must raise one, quickly)."""
    started = time.monotonic()
    with pytest.raises(InvalidParameterError) as info:
        parse_filter(text, lang=lang, layer=layer, fields=layer.fields, **options)
    assert time.monotonic() - started < 1.0, "a refusal must be cheap"
    return info.value
