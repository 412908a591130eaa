"""Tile overviews: every feature counted into a fine grid, kept by the database.

A layer opened at its whole extent (zoom 8-12 over a city) is drawn from an overview
(``gis.sql.tiles``): a count of its features per cell of a fixed Web Mercator grid
(cells of 152.87 m, 64 per side of a zoom-12 tile) with their category and the zoom
from which each is at least a pixel wide (``size_zoom``). A tile below the layer's
``minzoom`` sums the cells under it into its own 64 x 64 grid, so its cost depends
on the tile's area, not on the number of features.

Statement-level triggers with transition tables keep ``tile_overview`` current for
every insert, update, delete and truncate, whoever makes them (the API, QGIS, psql,
imports), in the same transaction as the change and its ``layer_version`` bump: the
next tile at every zoom shows the edit. The functions run as their owner (SECURITY
DEFINER, fixed search_path): the API role reads the table and never writes it.

Cells and sizes are computed from longitude/latitude with the spherical Mercator
formulas, clamped to ±85.05°, so no geometry can make a write fail here. An UPDATE
moves only the rows whose geometry or category changed. Row-level security repeats
the cameras' read grant (migration 0006) for the API role.

The tables and their category columns are the catalogue's (``TileSpec.overview``
and ``TileSpec.category`` in ``layers/``) at this revision; a test checks they agree.
Line layers (roads, power lines) are merged when a tile is made and have no grid.

Revision ID: 0013
Revises: 0012
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# table -> category column ('' for none)
TABLES = {
    "admin_unit": "level",
    "camera": "camera_type",
    "env_station": "medium",
    "field_report": "category",
    "land_parcel": "land_use",
    "lighting_cabinet": "status",
    "planning_zone": "land_use",
    "poi": "category",
    "street_light": "status",
    "tree": "category",
}
API_ROLE = "dothi_api"


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE tile_overview (
            table_name text NOT NULL,
            cx integer NOT NULL,
            cy integer NOT NULL,
            category text NOT NULL DEFAULT '',
            size_zoom smallint NOT NULL,
            count bigint NOT NULL,
            CONSTRAINT pk_tile_overview
                PRIMARY KEY (table_name, cx, cy, category, size_zoom)
        );
        COMMENT ON TABLE tile_overview IS
            'Features per grid cell, category and size, kept by triggers';
        CREATE INDEX ix_tile_overview_spent ON tile_overview (table_name)
            WHERE count <= 0;

        -- the zoom from which a feature of this extent is a pixel (256 px tiles)
        CREATE FUNCTION overview_size_zoom(g geometry) RETURNS smallint
        LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
            SELECT CASE WHEN d > 0
                THEN least(32, greatest(0, ceil(ln(156543.03392804097 / d) / ln(2.0))))
                ELSE 32 END::smallint
            FROM (SELECT greatest(
                (ST_XMax(g) - ST_XMin(g)) * 111319.49079327357,
                (ST_YMax(g) - ST_YMin(g)) * 111319.49079327357
                    / greatest(0.01, cos(radians(
                        least(85.05, abs((ST_YMax(g) + ST_YMin(g)) / 2))))))
                AS d) extent
        $$;

        -- the grid cell of a feature (lon/lat storage), on spherical Mercator
        CREATE FUNCTION overview_key(
            g geometry, OUT cx integer, OUT cy integer, OUT size_zoom smallint)
        LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
            SELECT floor((least(180, greatest(-180, ST_X(p))) * 111319.49079327357
                          + 20037508.342789244) / 152.8740565703525)::integer,
                   floor((6378137.0 * ln(tan(pi() / 4 + radians(
                          least(85.05, greatest(-85.05, ST_Y(p)))) / 2))
                          + 20037508.342789244) / 152.8740565703525)::integer,
                   overview_size_zoom(g)
            FROM (SELECT ST_PointOnSurface(g) AS p) s
        $$;

        CREATE FUNCTION overview_sync() RETURNS trigger
        LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
        DECLARE
            col text := TG_ARGV[0];
            cat text := CASE WHEN col <> ''
                THEN format('r.%I::text', col) ELSE '''''' END;
            -- an UPDATE moves only the rows whose place or category changed: a
            -- status change of a light locks no overview row
            changed text := CASE WHEN TG_OP = 'UPDATE' THEN format(
                'AND (r.geom IS DISTINCT FROM o.geom%s)',
                CASE WHEN col <> '' THEN format(
                    ' OR r.%1$I IS DISTINCT FROM o.%1$I', col) ELSE '' END)
                ELSE '' END;
            grouped text := 'SELECT k.cx, k.cy, coalesce(%s, '''') AS category, '
                'k.size_zoom, count(*) AS n FROM %s '
                'CROSS JOIN LATERAL overview_key(r.geom) k '
                'WHERE r.geom IS NOT NULL AND NOT ST_IsEmpty(r.geom) %s '
                'GROUP BY 1, 2, 3, 4';
        BEGIN
            IF TG_OP = 'TRUNCATE' THEN
                DELETE FROM tile_overview WHERE table_name = TG_TABLE_NAME;
                RETURN NULL;
            END IF;
            IF TG_OP IN ('UPDATE', 'DELETE') THEN
                EXECUTE 'UPDATE tile_overview t SET count = t.count - d.n FROM ('
                    || format(grouped, cat, CASE WHEN TG_OP = 'UPDATE'
                        THEN 'old_rows r JOIN new_rows o USING (id)'
                        ELSE 'old_rows r' END, changed)
                    || ') d WHERE t.table_name = $1 AND t.cx = d.cx '
                    'AND t.cy = d.cy AND t.category = d.category '
                    'AND t.size_zoom = d.size_zoom'
                USING TG_TABLE_NAME;
                DELETE FROM tile_overview
                WHERE table_name = TG_TABLE_NAME AND count <= 0;
            END IF;
            IF TG_OP IN ('UPDATE', 'INSERT') THEN
                EXECUTE 'INSERT INTO tile_overview AS t '
                    '(table_name, cx, cy, category, size_zoom, count) '
                    'SELECT $1, d.cx, d.cy, d.category, d.size_zoom, d.n FROM ('
                    || format(grouped, cat, CASE WHEN TG_OP = 'UPDATE'
                        THEN 'new_rows r JOIN old_rows o USING (id)'
                        ELSE 'new_rows r' END, changed)
                    || ') d ON CONFLICT (table_name, cx, cy, category, size_zoom) '
                    'DO UPDATE SET count = t.count + excluded.count'
                USING TG_TABLE_NAME;
            END IF;
            RETURN NULL;
        END $$;
        """
    )
    op.execute(f"GRANT SELECT ON tile_overview TO {API_ROLE}")
    # cameras are never public: their cells follow the layer's read grant (0006)
    op.execute("ALTER TABLE tile_overview ENABLE ROW LEVEL SECURITY")
    op.execute(
        "CREATE POLICY tile_overview_owner ON tile_overview "
        f"USING (current_user <> '{API_ROLE}')"
    )
    op.execute(
        "CREATE POLICY tile_overview_by_claims ON tile_overview FOR SELECT "
        f"TO {API_ROLE} USING (table_name <> 'camera' OR string_to_array("
        "coalesce(current_setting('dothi.roles', true), ''), ',') "
        "&& ARRAY['ioc_operator', 'security_officer', 'admin'])"
    )
    op.execute("REVOKE EXECUTE ON FUNCTION overview_sync() FROM PUBLIC")
    for table, category in TABLES.items():
        _triggers(table, category)
        cat = f"r.{category}::text" if category else "''"
        op.execute(
            "INSERT INTO tile_overview (table_name, cx, cy, category, size_zoom, "
            f"count) SELECT '{table}', k.cx, k.cy, coalesce({cat}, ''), k.size_zoom, "
            f"count(*) FROM {table} r, overview_key(r.geom) k "
            "WHERE r.geom IS NOT NULL AND NOT ST_IsEmpty(r.geom) GROUP BY 2, 3, 4, 5"
        )


def _triggers(table: str, category: str) -> None:
    arg = f"'{category}'"
    op.execute(
        f"CREATE TRIGGER {table}_overview_ins AFTER INSERT ON {table} "
        "REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT "
        f"EXECUTE FUNCTION overview_sync({arg})"
    )
    op.execute(
        f"CREATE TRIGGER {table}_overview_upd AFTER UPDATE ON {table} "
        "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT "
        f"EXECUTE FUNCTION overview_sync({arg})"
    )
    op.execute(
        f"CREATE TRIGGER {table}_overview_del AFTER DELETE ON {table} "
        "REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT "
        f"EXECUTE FUNCTION overview_sync({arg})"
    )
    op.execute(
        f"CREATE TRIGGER {table}_overview_trunc AFTER TRUNCATE ON {table} "
        f"FOR EACH STATEMENT EXECUTE FUNCTION overview_sync({arg})"
    )


def downgrade() -> None:
    for table in TABLES:
        for suffix in ("ins", "upd", "del", "trunc"):
            op.execute(f"DROP TRIGGER {table}_overview_{suffix} ON {table}")
    op.execute("DROP FUNCTION overview_sync()")
    op.execute("DROP FUNCTION overview_key(geometry)")
    op.execute("DROP FUNCTION overview_size_zoom(geometry)")
    op.execute("DROP TABLE tile_overview")
