"""Layer statistics kept by the database: extent, time span and size per layer table.

Collection documents show a layer's extent and time span; computing them scans the
table (2,000,000 parcels: about a second). They are computed once per data version,
not per request: ``layer_stats`` holds the values with the ``layer_version`` they were
computed at (migration 0004's statement triggers bump it on every insert, update,
delete and truncate, by anyone), and ``refresh_layer_stats`` recomputes them when
they lag. A transaction-scoped advisory lock per table lets one session compute at a
time across every worker and replica (the others return at once and keep serving the
stored row); a refresh is skipped while the last one is younger than ``p_spacing``
times its own duration, so a stream of edits costs at most about 1/``p_spacing`` of a
core. The extent is exact (``ST_Extent``), so it shrinks when the features at its edge
are deleted; ``ST_EstimatedExtent`` would lag until the next ANALYZE and miss
outliers outside the sample.

The function runs as its owner (SECURITY DEFINER, fixed search_path): the API role
may read the stored rows and ask for a refresh, never write them, and the refresh
sees every row of a table whose row-level security would hide rows from the API
role. The rows of restricted layers are readable with the same claims as the layers.

Revision ID: 0011
Revises: 0010
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CLAIMED_ROLES = (
    "string_to_array(coalesce(current_setting('dothi.roles', true), ''), ',')"
)
# layer tables whose rows only some roles read (migrations 0006, 0008): their
# statistics follow the same claims
RESTRICTED = {
    "camera": ("ioc_operator", "security_officer", "admin"),
    "audit_log": ("auditor",),
}
REFRESH = """
CREATE FUNCTION refresh_layer_stats(
    p_table text, p_start text, p_end text, p_spacing float8
) RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    rel regclass := to_regclass(p_table);
    cur bigint;
    old layer_stats%ROWTYPE;
    has_geom boolean;
    t0 timestamptz := clock_timestamp();
    r record;
BEGIN
    IF rel IS NULL OR NOT EXISTS (
        SELECT 1 FROM layer_version WHERE table_name = p_table
    ) THEN
        RAISE EXCEPTION 'not a layer table: %', p_table USING ERRCODE = '22023';
    END IF;
    -- one refresher per table across every session; the others keep the stored row
    -- (first key: a constant of dothi's layer statistics, 0x0D070011)
    IF NOT pg_try_advisory_xact_lock(218562577, hashtext(p_table)) THEN
        RETURN false;
    END IF;
    -- read before the scan: rows committed meanwhile make the stored version lag,
    -- never lead
    SELECT version INTO cur FROM layer_version WHERE table_name = p_table;
    SELECT * INTO old FROM layer_stats WHERE table_name = p_table;
    IF FOUND AND (old.version >= cur OR clock_timestamp() < old.computed_at
            + make_interval(secs => old.duration_ms * p_spacing / 1000.0)) THEN
        RETURN false;
    END IF;
    has_geom := EXISTS (
        SELECT 1 FROM pg_attribute WHERE attrelid = rel AND attname = 'geom'
        AND atttypid = 'geometry'::regtype AND NOT attisdropped
    );
    EXECUTE format(
        'SELECT ST_XMin(e) AS west, ST_YMin(e) AS south, ST_XMax(e) AS east, '
        'ST_YMax(e) AS north, %s AS tmin, %s AS tmax, n FROM (SELECT %s AS e, '
        '%s AS t0, %s AS t1, %s AS n FROM %s) s',
        _layer_stats_instant(rel, p_start, 't0'),
        _layer_stats_instant(rel, coalesce(p_end, p_start), 't1'),
        CASE WHEN has_geom THEN 'ST_Extent(geom)' ELSE 'NULL::box2d' END,
        CASE WHEN p_start IS NULL THEN 'NULL' ELSE format('min(%I)', p_start) END,
        CASE WHEN p_start IS NULL THEN 'NULL'
             ELSE format('max(%I)', coalesce(p_end, p_start)) END,
        -- the scan is there anyway for the extent; a table without geometry is
        -- left to the planner's estimate (its time span comes from an index)
        CASE WHEN has_geom THEN 'count(*)' ELSE 'NULL::bigint' END,
        rel
    ) INTO r;
    INSERT INTO layer_stats AS s (table_name, version, west, south, east, north,
                                  tmin, tmax, row_count, computed_at, duration_ms)
    VALUES (p_table, cur, r.west, r.south, r.east, r.north, r.tmin, r.tmax, r.n,
            clock_timestamp(),
            1000 * extract(epoch FROM clock_timestamp() - t0))
    ON CONFLICT (table_name) DO UPDATE SET
        version = excluded.version, west = excluded.west, south = excluded.south,
        east = excluded.east, north = excluded.north, tmin = excluded.tmin,
        tmax = excluded.tmax, row_count = excluded.row_count,
        computed_at = excluded.computed_at, duration_ms = excluded.duration_ms,
        refreshes = s.refreshes + 1;
    RETURN true;
END $$;
"""

# the SQL expression of a time column's aggregate as timestamptz: a date or a
# timestamp without zone is read as UTC (as collection documents print it);
# anything else is refused (the caller names the columns)
INSTANT = """
CREATE FUNCTION _layer_stats_instant(rel regclass, col text, agg text)
RETURNS text LANGUAGE plpgsql STABLE SET search_path = public, pg_temp AS $$
DECLARE
    typ regtype;
BEGIN
    IF col IS NULL THEN
        RETURN 'NULL::timestamptz';
    END IF;
    SELECT atttypid::regtype INTO typ FROM pg_attribute
    WHERE attrelid = rel AND attname = col AND attnum > 0 AND NOT attisdropped;
    IF typ = 'timestamptz'::regtype THEN
        RETURN agg;
    ELSIF typ IN ('date'::regtype, 'timestamp'::regtype) THEN
        RETURN format('(%s)::timestamp AT TIME ZONE ''UTC''', agg);
    END IF;
    RAISE EXCEPTION 'not a time column of %: %', rel, col USING ERRCODE = '22023';
END $$;
"""


def _read_policy() -> str:
    cases = " ".join(
        f"WHEN '{table}' THEN {CLAIMED_ROLES} && ARRAY[{', '.join(map(repr, roles))}]"
        for table, roles in RESTRICTED.items()
    )
    return f"CASE table_name {cases} ELSE true END"


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE layer_stats (
            table_name text NOT NULL,
            version bigint NOT NULL,
            west float8,
            south float8,
            east float8,
            north float8,
            tmin timestamptz,
            tmax timestamptz,
            row_count bigint,
            computed_at timestamptz NOT NULL DEFAULT now(),
            duration_ms float8 NOT NULL DEFAULT 0,
            refreshes bigint NOT NULL DEFAULT 1,
            CONSTRAINT pk_layer_stats PRIMARY KEY (table_name),
            CONSTRAINT fk_layer_stats_table_name_layer_version
                FOREIGN KEY (table_name) REFERENCES layer_version (table_name)
                ON DELETE CASCADE
        );
        COMMENT ON TABLE layer_stats IS
            'Extent, time span and size per layer table, at a layer_version';
        """
    )
    op.execute(INSTANT)
    op.execute(REFRESH)
    op.execute("REVOKE EXECUTE ON FUNCTION _layer_stats_instant FROM PUBLIC")
    op.execute("REVOKE EXECUTE ON FUNCTION refresh_layer_stats FROM PUBLIC")
    op.execute("GRANT EXECUTE ON FUNCTION refresh_layer_stats TO dothi_api")
    op.execute("GRANT SELECT ON layer_stats TO dothi_api")
    op.execute("ALTER TABLE layer_stats ENABLE ROW LEVEL SECURITY")
    op.execute(
        "CREATE POLICY layer_stats_owner ON layer_stats "
        "USING (current_user <> 'dothi_api')"
    )
    op.execute(
        "CREATE POLICY layer_stats_by_claims ON layer_stats FOR SELECT "
        f"TO dothi_api USING ({_read_policy()})"
    )


def downgrade() -> None:
    op.execute("DROP FUNCTION refresh_layer_stats(text, text, text, float8)")
    op.execute("DROP FUNCTION _layer_stats_instant(regclass, text, text)")
    op.execute("DROP TABLE layer_stats")
