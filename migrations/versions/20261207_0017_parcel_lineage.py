"""Split and merge of parcels, with lineage (issue 14, item 5).

- ``parcel_change`` (one row per decision applied: kind, decision number and date,
  when and by whom) and ``parcel_lineage`` (parent -> child, per change; indexed
  both ways). Read like the parcels: the API role may SELECT them; nobody but the
  operations writes them.
- ``parcel_split(...)`` and ``parcel_merge(...)``: one call is one statement, so one
  transaction: all of it or nothing. SECURITY INVOKER, so the write policy of 0008
  decides whose parcels may be retired and made (a ward's land officer: its wards;
  admin: anywhere), exactly as for a PUT or POST. The parent is locked (``FOR
  UPDATE``: a row the caller may not change is not locked, that is the 403), checked
  current, the geometry checked, the numbers taken under a per-sheet advisory lock
  (``parcel_sheet_key``: two changes on one sheet never take the same number; the
  unique constraint of 0015 is the backstop), the children inserted and the parents
  retired (``valid_to`` = the decision date; never deleted).
- ``parcel_change_record(...)``: writes the change and its lineage. SECURITY DEFINER
  (the API role has no INSERT on the two tables), and it records only what the
  calling transaction itself did: every parent retired by it on the decision date,
  every child inserted by it from that date, none already in a lineage. So the
  lineage can only say what happened, whoever calls it.

Tolerance of the area checks: ``parcel_area_tolerance(area)`` = 0.5 % of the area,
at least 1 m² (a split's pieces drawn by hand over a 60 m² parcel may be 0.3 m²
off; over a 2 ha field 100 m² is still within a surveyor's error at 1:2000).
Areas are on the WGS 84 spheroid (``geography``), as ``area_geom_m2`` everywhere.

Refusals carry SQLSTATEs of class ``DT`` (dothi), with their numbers as JSON in
DETAIL; ``gis.sql.parcel_changes.refusal`` turns them into 400/403/404/409 with
the API's own words (never the database's text):

``DTA01`` bad arguments (400), ``DTN01`` no such parcel (404), ``DTF01`` not the
caller's to change (403), ``DTC01`` already retired (409), ``DTD01`` decision date
in the future, ``DTD02`` before the parcel came into force, ``DTV01`` children do
not cover the parent, ``DTV02`` a child of less than 1 m², ``DTV03`` parents in
several wards, ``DTV04`` parents overlapping, ``DTV05`` parents not one piece of
land (400 all).

Revision ID: 0017
Revises: 0016
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SUBJECT = "nullif(current_setting('dothi.subject', true), '')"

HELPERS = """
CREATE FUNCTION parcel_sheet_key(survey text, sheet integer) RETURNS bigint
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT hashtextextended('land_parcel sheet ' || survey || '/' || sheet, 0)
$$;
COMMENT ON FUNCTION parcel_sheet_key(text, integer) IS
    'The advisory lock key of a map sheet: numbers on it are taken under it.';

CREATE FUNCTION parcel_area_tolerance(area_m2 double precision)
RETURNS double precision LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT greatest(0.005 * area_m2, 1.0)
$$;

-- the decision may not be later than today, nor earlier than a parent came into force
CREATE FUNCTION parcel_check_decision(_no text, _date date, _parents bigint[])
RETURNS void LANGUAGE plpgsql SECURITY INVOKER SET search_path = public, pg_temp AS $$
DECLARE
    early record;
BEGIN
    IF _no IS NULL OR length(btrim(_no)) NOT BETWEEN 1 AND 200 OR _date IS NULL THEN
        RAISE EXCEPTION 'decision: number and date required' USING ERRCODE = 'DTA01',
            DETAIL = json_build_object('argument', 'decision')::text;
    END IF;
    IF _date > current_date THEN
        RAISE EXCEPTION 'decision date in the future' USING ERRCODE = 'DTD01',
            DETAIL = json_build_object('date', _date)::text;
    END IF;
    SELECT id, valid_from INTO early FROM land_parcel
    WHERE id = ANY(_parents) AND valid_from > _date ORDER BY id LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'decision before the parcel came into force' USING
            ERRCODE = 'DTD02',
            DETAIL = json_build_object('parcel', early.id, 'valid_from',
                                       early.valid_from)::text;
    END IF;
END $$;

CREATE FUNCTION parcel_change_record(
    _kind text, _no text, _date date, _parents bigint[], _children bigint[]
) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    mine xid := pg_current_xact_id()::xid;
    change bigint;
BEGIN
    IF NOT (
        (_kind = 'split' AND cardinality(_parents) = 1 AND cardinality(_children) >= 2)
        OR (_kind = 'merge' AND cardinality(_parents) >= 2
            AND cardinality(_children) = 1)
    ) OR (SELECT count(DISTINCT x) FROM unnest(_parents) AS x) <> cardinality(_parents)
      OR (SELECT count(DISTINCT x) FROM unnest(_children) AS x) <> cardinality(_children)
    THEN
        RAISE EXCEPTION 'not a split or merge' USING ERRCODE = 'DTA01',
            DETAIL = json_build_object('argument', 'lineage')::text;
    END IF;
    -- only what this transaction did: parents it retired on the decision date,
    -- children it made from that date, none of them in a lineage already
    IF (SELECT count(*) FROM land_parcel WHERE id = ANY(_parents)
        AND valid_to = _date AND xmin = mine) <> cardinality(_parents)
       OR (SELECT count(*) FROM land_parcel WHERE id = ANY(_children)
           AND valid_from = _date AND valid_to IS NULL AND xmin = mine)
          <> cardinality(_children)
       OR EXISTS (SELECT 1 FROM parcel_lineage WHERE parent_id = ANY(_parents)
                  OR child_id = ANY(_children))
    THEN
        RAISE EXCEPTION 'lineage of parcels this transaction did not change'
            USING ERRCODE = 'DTA01',
            DETAIL = json_build_object('argument', 'lineage')::text;
    END IF;
    INSERT INTO parcel_change (kind, decision_no, decision_date)
    VALUES (_kind, btrim(_no), _date) RETURNING id INTO change;
    INSERT INTO parcel_lineage (parent_id, child_id, change_id)
    SELECT p, c, change FROM unnest(_parents) AS p CROSS JOIN unnest(_children) AS c;
    RETURN change;
END $$;
"""

SPLIT = """
CREATE FUNCTION parcel_split(
    _parent bigint, _geoms bytea[], _srid integer, _land_uses text[],
    _legal_areas numeric[], _no text, _date date
) RETURNS SETOF land_parcel
LANGUAGE plpgsql SECURITY INVOKER SET search_path = public, pg_temp AS $$
DECLARE
    n integer := coalesce(cardinality(_geoms), 0);
    p land_parcel;
    pieces geometry[];
    survey text;
    tol double precision;
    outside double precision;
    uncovered double precision;
    overlap double precision;
    smallest record;
    first_no integer;
    made bigint[];
BEGIN
    IF n NOT BETWEEN 2 AND 1000 OR coalesce(cardinality(_land_uses), 0) <> n
       OR coalesce(cardinality(_legal_areas), 0) <> n THEN
        RAISE EXCEPTION 'a split makes 2 to 1000 parcels' USING ERRCODE = 'DTA01',
            DETAIL = json_build_object('argument', 'children')::text;
    END IF;
    PERFORM 1 FROM land_parcel WHERE id = _parent;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no such parcel' USING ERRCODE = 'DTN01',
            DETAIL = json_build_object('parcel', _parent)::text;
    END IF;
    -- the write policy (0008) hides from FOR UPDATE the rows the caller may not
    -- change; a concurrent change of the parent is waited for, then seen
    SELECT * INTO p FROM land_parcel WHERE id = _parent FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'parcel not yours to change' USING ERRCODE = 'DTF01',
            DETAIL = json_build_object('parcel', _parent)::text;
    END IF;
    IF p.valid_to IS NOT NULL THEN
        RAISE EXCEPTION 'parcel already retired' USING ERRCODE = 'DTC01',
            DETAIL = json_build_object('parcel', p.id, 'valid_to', p.valid_to)::text;
    END IF;
    PERFORM parcel_check_decision(_no, _date, ARRAY[_parent]);

    -- checked valid in their own CRS by the API; a transformed ring may still
    -- cross itself by a nanometre
    SELECT array_agg(ST_Multi(CASE WHEN ST_IsValid(g) THEN g
                             ELSE ST_CollectionExtract(ST_MakeValid(g), 3) END)
                     ORDER BY i)
    INTO pieces
    FROM (SELECT i, ST_Transform(ST_SetSRID(ST_GeomFromWKB(w), _srid), 4326) AS g
          FROM unnest(_geoms) WITH ORDINALITY AS given(w, i)) AS t;
    SELECT i, ST_Area(g::geography) AS m2 INTO smallest
    FROM unnest(pieces) WITH ORDINALITY AS c(g, i) ORDER BY 2, 1 LIMIT 1;
    IF smallest.m2 < 1 THEN
        RAISE EXCEPTION 'child of less than 1 m2' USING ERRCODE = 'DTV02',
            DETAIL = json_build_object('child', smallest.i - 1,
                                       'area_m2', round(smallest.m2::numeric, 2))::text;
    END IF;
    tol := parcel_area_tolerance(ST_Area(p.geom::geography));
    SELECT coalesce(ST_Area(ST_Difference(u, p.geom)::geography), 0),
           coalesce(ST_Area(ST_Difference(p.geom, u)::geography), 0),
           greatest(total - ST_Area(u::geography), 0)
    INTO outside, uncovered, overlap
    FROM (SELECT ST_Union(g) AS u, sum(ST_Area(g::geography)) AS total
          FROM unnest(pieces) AS g) AS s;
    IF outside > tol OR uncovered > tol OR overlap > tol THEN
        RAISE EXCEPTION 'children do not cover the parcel' USING ERRCODE = 'DTV01',
            DETAIL = json_build_object(
                'uncovered_m2', round(uncovered::numeric, 2),
                'overlap_m2', round(overlap::numeric, 2),
                'outside_m2', round(outside::numeric, 2),
                'tolerance_m2', round(tol::numeric, 2))::text;
    END IF;

    -- numbers are never reused: the next after the highest ever given on the sheet
    survey := coalesce(p.survey_ward_code, p.ward_code);
    PERFORM pg_advisory_xact_lock(parcel_sheet_key(survey, p.sheet_no));
    SELECT coalesce(max(parcel_no), 0) + 1 INTO first_no FROM land_parcel
    WHERE survey_ward_code = survey AND sheet_no = p.sheet_no;
    WITH made_rows AS (
        INSERT INTO land_parcel (ward_code, survey_ward_code, sheet_no, parcel_no,
            land_use, area_legal_m2, area_geom_m2, address, map_scale, source_crs,
            valid_from, geom)
        SELECT p.ward_code, survey, p.sheet_no, first_no + (i - 1)::integer,
               coalesce(_land_uses[i], p.land_use), _legal_areas[i],
               round(ST_Area(g::geography)::numeric, 1), p.address, p.map_scale,
               p.source_crs, _date, g
        FROM unnest(pieces) WITH ORDINALITY AS c(g, i)
        RETURNING id
    )
    SELECT array_agg(id) INTO made FROM made_rows;
    UPDATE land_parcel SET valid_to = _date, updated_at = now() WHERE id = _parent;
    PERFORM parcel_change_record('split', _no, _date, ARRAY[_parent], made);
    RETURN QUERY SELECT * FROM land_parcel WHERE id = ANY(made) ORDER BY parcel_no;
END $$;
"""

MERGE = """
CREATE FUNCTION parcel_merge(
    _parents bigint[], _no text, _date date, _land_use text, _legal_area numeric
) RETURNS SETOF land_parcel
LANGUAGE plpgsql SECURITY INVOKER SET search_path = public, pg_temp AS $$
DECLARE
    ids bigint[];
    n integer;
    x bigint;
    retired record;
    wards text[];
    largest land_parcel;
    whole geometry;
    total double precision;
    whole_m2 double precision;
    tol double precision;
    survey text;
    next_no integer;
    child bigint;
BEGIN
    SELECT array_agg(DISTINCT v ORDER BY v) INTO ids FROM unnest(_parents) AS v;
    n := coalesce(cardinality(ids), 0);
    IF n NOT BETWEEN 2 AND 100 OR n <> cardinality(_parents) THEN
        RAISE EXCEPTION 'a merge takes 2 to 100 distinct parcels' USING
            ERRCODE = 'DTA01', DETAIL = json_build_object('argument', 'parcels')::text;
    END IF;
    SELECT v INTO x FROM unnest(ids) AS v
    WHERE NOT EXISTS (SELECT 1 FROM land_parcel WHERE id = v) ORDER BY v LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'no such parcel' USING ERRCODE = 'DTN01',
            DETAIL = json_build_object('parcel', x)::text;
    END IF;
    -- locked in id order: two merges sharing parcels wait, never deadlock
    FOREACH x IN ARRAY ids LOOP
        PERFORM 1 FROM land_parcel WHERE id = x FOR UPDATE;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'parcel not yours to change' USING ERRCODE = 'DTF01',
                DETAIL = json_build_object('parcel', x)::text;
        END IF;
    END LOOP;
    SELECT id, valid_to INTO retired FROM land_parcel
    WHERE id = ANY(ids) AND valid_to IS NOT NULL ORDER BY id LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'parcel already retired' USING ERRCODE = 'DTC01',
            DETAIL = json_build_object('parcel', retired.id,
                                       'valid_to', retired.valid_to)::text;
    END IF;
    SELECT array_agg(DISTINCT ward_code ORDER BY ward_code) INTO wards
    FROM land_parcel WHERE id = ANY(ids);
    IF cardinality(wards) > 1 THEN
        RAISE EXCEPTION 'parcels in several wards' USING ERRCODE = 'DTV03',
            DETAIL = json_build_object('wards', wards)::text;
    END IF;
    PERFORM parcel_check_decision(_no, _date, ids);

    SELECT ST_Union(geom), sum(ST_Area(geom::geography)) INTO whole, total
    FROM land_parcel WHERE id = ANY(ids);
    whole_m2 := ST_Area(whole::geography);
    tol := parcel_area_tolerance(whole_m2);
    IF total - whole_m2 > tol THEN
        RAISE EXCEPTION 'parcels overlap' USING ERRCODE = 'DTV04',
            DETAIL = json_build_object('overlap_m2', round((total - whole_m2)::numeric, 2),
                                       'tolerance_m2', round(tol::numeric, 2))::text;
    END IF;
    -- one piece of land: parcels that meet only at a corner, or not at all, are not
    -- merged into a parcel of several parts
    IF ST_NumGeometries(whole) <> 1 THEN
        RAISE EXCEPTION 'parcels not one piece of land' USING ERRCODE = 'DTV05',
            DETAIL = json_build_object('parts', ST_NumGeometries(whole))::text;
    END IF;

    -- the child is numbered on the sheet of the largest parent
    SELECT * INTO largest FROM land_parcel WHERE id = ANY(ids)
    ORDER BY ST_Area(geom::geography) DESC, id LIMIT 1;
    survey := coalesce(largest.survey_ward_code, largest.ward_code);
    PERFORM pg_advisory_xact_lock(parcel_sheet_key(survey, largest.sheet_no));
    SELECT coalesce(max(parcel_no), 0) + 1 INTO next_no FROM land_parcel
    WHERE survey_ward_code = survey AND sheet_no = largest.sheet_no;
    INSERT INTO land_parcel (ward_code, survey_ward_code, sheet_no, parcel_no,
        land_use, area_legal_m2, area_geom_m2, address, map_scale, source_crs,
        valid_from, geom)
    VALUES (largest.ward_code, survey, largest.sheet_no, next_no,
            coalesce(_land_use, largest.land_use), _legal_area,
            round(whole_m2::numeric, 1), largest.address, largest.map_scale,
            largest.source_crs, _date, ST_Multi(whole))
    RETURNING id INTO child;
    UPDATE land_parcel SET valid_to = _date, updated_at = now() WHERE id = ANY(ids);
    PERFORM parcel_change_record('merge', _no, _date, ids, ARRAY[child]);
    RETURN QUERY SELECT * FROM land_parcel WHERE id = child;
END $$;
"""

FUNCTIONS = (
    "parcel_sheet_key(text, integer)",
    "parcel_area_tolerance(double precision)",
    "parcel_check_decision(text, date, bigint[])",
    "parcel_change_record(text, text, date, bigint[], bigint[])",
    "parcel_split(bigint, bytea[], integer, text[], numeric[], text, date)",
    "parcel_merge(bigint[], text, date, text, numeric)",
)


def upgrade() -> None:
    op.create_table(
        "parcel_change",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("decision_no", sa.Text(), nullable=False),
        sa.Column("decision_date", sa.Date(), nullable=False),
        sa.Column(
            "made_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("made_by", sa.Text(), server_default=sa.text(SUBJECT), nullable=True),
        sa.CheckConstraint("kind IN ('split', 'merge')", name="ck_parcel_change_kind"),
        sa.CheckConstraint(
            "length(decision_no) BETWEEN 1 AND 200",
            name="ck_parcel_change_decision_no",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_parcel_change"),
        comment="Splits and merges of land parcels: one row per decision applied.",
    )
    op.create_table(
        "parcel_lineage",
        sa.Column("parent_id", sa.BigInteger(), nullable=False),
        sa.Column("child_id", sa.BigInteger(), nullable=False),
        sa.Column("change_id", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["parent_id"], ["land_parcel.id"],
            name="fk_parcel_lineage_parent_id_land_parcel",
        ),
        sa.ForeignKeyConstraint(
            ["child_id"], ["land_parcel.id"],
            name="fk_parcel_lineage_child_id_land_parcel",
        ),
        sa.ForeignKeyConstraint(
            ["change_id"], ["parcel_change.id"],
            name="fk_parcel_lineage_change_id_parcel_change",
        ),
        sa.PrimaryKeyConstraint("parent_id", "child_id", name="pk_parcel_lineage"),
        comment="Which parcels each split or merge retired (parents) and made "
        "(children).",
    )  # fmt: skip
    op.create_index("ix_parcel_lineage_child_id", "parcel_lineage", ["child_id"])
    op.create_index("ix_parcel_lineage_change_id", "parcel_lineage", ["change_id"])
    op.execute("GRANT SELECT ON parcel_change, parcel_lineage TO dothi_api")
    op.execute(HELPERS)
    op.execute(SPLIT)
    op.execute(MERGE)
    # the helpers run as the API role too: the operations are SECURITY INVOKER
    for signature in FUNCTIONS:
        op.execute(f"REVOKE EXECUTE ON FUNCTION {signature} FROM PUBLIC")
        op.execute(f"GRANT EXECUTE ON FUNCTION {signature} TO dothi_api")


def downgrade() -> None:
    for signature in reversed(FUNCTIONS):
        op.execute(f"DROP FUNCTION {signature}")
    op.drop_index("ix_parcel_lineage_change_id", table_name="parcel_lineage")
    op.drop_index("ix_parcel_lineage_child_id", table_name="parcel_lineage")
    op.drop_table("parcel_lineage")
    op.drop_table("parcel_change")
