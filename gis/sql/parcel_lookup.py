"""Finding a parcel as a land officer names it (issue 14, item 1).

An officer names a parcel by a ward (or commune), a map sheet and a parcel number,
or by its national parcel id. Sheets are numbered within the commune that was
surveyed, which for the older surveys is the commune *before* the 2025 reform; a
ward formed of several communes therefore holds one sheet 4 per commune. A code is
read every way it can be meant, and every parcel it may name is answered with how
it matched, so the officer picks by the commune shown beside it:

- ``survey_commune``: the code is the commune whose sheet numbers the parcel (the
  unique identity of migration 0015);
- ``crosswalk``: the code is a 2025 ward and the parcel's survey commune was merged
  into it (``admin_unit_lineage``, the old-to-new crosswalk);
- ``current_ward``: the parcel lies in that ward today, though its survey commune
  is not one of the ward's predecessors (a commune split between wards);
- ``national_id``: the national parcel id.

One statement, built as JSON by PostgreSQL; every lookup reads a unique index
((survey commune, sheet, number) or the national id) or the (sheet, number, ward)
index, so its cost does not grow with the city. Names come from ``admin_unit``: the
parcel's ward as it is today, its survey commune as it was when the parcel was
registered (the codes of the two systems overlap: 22918 is Hàm Tiến before the
reform and Mũi Né after it).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any, ClassVar, NamedTuple

from gis.layer import VectorLayer
from gis.sql.compiled import Compiled, sql_identifier, sql_name

# the properties of each match, in this order, beside its id, names, how and href
MATCH_PROPERTIES = (
    "ward_code", "survey_ward_code", "sheet_no", "parcel_no", "national_parcel_id",
    "address", "land_use", "area_legal_m2", "valid_from", "valid_to",
)  # fmt: skip
# how a match was found, most direct first (a parcel found two ways is listed once)
HOW = ("national_id", "survey_commune", "crosswalk", "current_ward")


class LookupRow(NamedTuple):
    """The look-up's row: the document, whether the ward code names any unit, and
    the data versions its entity tag is made of."""

    doc: bytes
    ward_known: bool
    parcels_version: int | None
    units_version: int | None
    changed_at: dt.datetime | None


def build_lookup(parcels: VectorLayer, units: VectorLayer, crosswalk: str) -> str:
    """The SQL of a look-up: by ``%(ward)s``, ``%(sheet)s`` and ``%(parcel)s``, or by
    ``%(nid)s`` (the others NULL); ``%(base)s`` is the collection's URL."""
    parcel_table = sql_identifier(parcels.table.name)
    unit_table = sql_identifier(units.table.name)
    lineage = sql_identifier(crosswalk)
    described = ", ".join(
        f"{sql_name(n)}, p.{sql_identifier(n)}" for n in MATCH_PROPERTIES
    )
    names = f"{sql_name(parcels.table.name)}, {sql_name(units.table.name)}"
    rank = " ".join(f"WHEN {sql_name(h)} THEN {i}" for i, h in enumerate(HOW))
    by_sheet = "p.sheet_no = g.sheet AND p.parcel_no = g.parcel"
    return f"""WITH g AS (
  SELECT %(ward)s::text AS ward, %(sheet)s::integer AS sheet,
         %(parcel)s::integer AS parcel, %(nid)s::text AS nid
),
found AS (
  SELECT p.id, 'national_id' AS how FROM g JOIN {parcel_table} AS p
    ON p.national_parcel_id = g.nid
  UNION ALL
  SELECT p.id, 'survey_commune' FROM g JOIN {parcel_table} AS p
    ON p.survey_ward_code = g.ward AND {by_sheet}
  UNION ALL
  SELECT p.id, 'crosswalk' FROM g JOIN {lineage} AS l ON l.new_code = g.ward
    JOIN {parcel_table} AS p ON p.survey_ward_code = l.old_code AND {by_sheet}
  UNION ALL
  SELECT p.id, 'current_ward' FROM g JOIN {parcel_table} AS p
    ON p.ward_code = g.ward AND {by_sheet}
),
matched AS (
  SELECT DISTINCT ON (id) id, how FROM found
  ORDER BY id, CASE how {rank} END
)
SELECT json_build_object(
  'matches', COALESCE(json_agg(json_build_object(
      'id', p.id, {described},
      'ward_name', w.name, 'survey_ward_name', s.name, 'matched_by', m.how,
      'href', %(base)s || '/items/' || p.id
    ) ORDER BY p.valid_to IS NOT NULL, p.survey_ward_code, p.id), '[]'::json),
  'ambiguous', count(*) > 1
)::text AS doc,
(SELECT g.ward IS NULL OR EXISTS (SELECT FROM {unit_table} AS u WHERE u.code = g.ward)
 FROM g) AS ward_known,
(SELECT version FROM layer_version WHERE table_name = {sql_name(parcels.table.name)})
  AS parcels_version,
(SELECT version FROM layer_version WHERE table_name = {sql_name(units.table.name)})
  AS units_version,
(SELECT max(changed_at) FROM layer_version WHERE table_name IN ({names})) AS changed_at
FROM matched AS m
JOIN {parcel_table} AS p ON p.id = m.id
-- the ward today; the survey commune as it was when the parcel was registered
LEFT JOIN LATERAL (
  SELECT u.name FROM {unit_table} AS u
  WHERE u.code = p.ward_code AND u.level = 'commune'
  ORDER BY u.valid_to IS NULL DESC, u.valid_from DESC LIMIT 1
) AS w ON true
LEFT JOIN LATERAL (
  SELECT u.name FROM {unit_table} AS u
  WHERE u.code = p.survey_ward_code AND u.level = 'commune'
  ORDER BY (u.valid_from IS NULL OR u.valid_from <= p.valid_from) DESC,
           u.valid_from DESC NULLS LAST LIMIT 1
) AS s ON true"""  # noqa: S608 - catalogue names only; every value is a parameter


@dataclass(frozen=True, slots=True)
class LookupStatement:
    """A parcel look-up (a ``gis.db.statements.Statement``): by ``ward_code``,
    ``sheet_no`` and ``parcel_no``, or by ``national_parcel_id``."""

    parcels: VectorLayer
    units: VectorLayer
    crosswalk: str
    collection_url: str
    ward_code: str | None = None
    sheet_no: int | None = None
    parcel_no: int | None = None
    national_parcel_id: str | None = None

    row: ClassVar[type[LookupRow]] = LookupRow
    text_as_bytes: ClassVar[bool] = True

    def __post_init__(self) -> None:
        by_sheet = (self.ward_code, self.sheet_no, self.parcel_no)
        if (None in by_sheet) == (self.national_parcel_id is None):
            raise ValueError("a ward, sheet and number, or a national id")

    def shape(self) -> Hashable:
        return (self.parcels.id, self.units.id, self.crosswalk)

    def params(self) -> dict[str, Any]:
        return {
            "ward": self.ward_code,
            "sheet": self.sheet_no,
            "parcel": self.parcel_no,
            "nid": self.national_parcel_id,
            "base": self.collection_url,
        }

    def build(self) -> Compiled:
        sql = build_lookup(self.parcels, self.units, self.crosswalk)
        return Compiled(sql, dict.fromkeys(("ward", "sheet", "parcel", "nid", "base")))
