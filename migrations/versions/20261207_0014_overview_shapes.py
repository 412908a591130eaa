"""Overview shapes and the overview pyramid, kept by the database.

Below its ``minzoom`` a layer is drawn from an overview (``gis.sql.tiles``). Migration
0013 counts every feature into a fine grid; this one keeps the shapes the overview
draws, so that a tile of the whole province costs what the tile shows, not what the
layer holds:

- ``tile_overview_shape`` (``generalise`` layers: wards, planning zones): every
  feature at least a pixel wide at some overview zoom (``size_zoom`` <= 12) once, in
  Web Mercator, simplified to a quarter of a zoom-12 pixel (9.55 m, below what any
  overview zoom can show). A tile draws the rows with ``size_zoom`` up to its zoom;
  the smaller features are counted from 0013's grid.
- ``tile_overview_line`` (``merge`` layers: roads, power lines): per zoom-12 tile
  (the cell of each line's ``ST_PointOnSurface``, as in 0013) and category, the
  cell's lines simplified to 9.55 m and merged, with how many lines they stand for.
  A tile merges the few cell rows under it.

- ``tile_overview_pyramid``: 0013's counts summed into coarser grids (64 cells per
  side of a tile of zoom 10, 8, 6 and 4), so that a tile of any zoom reads at most
  about 64 x 64 cells: a zoom-8 tile of a province reads its zoom-8 cells, not the
  tens of thousands of 152 m cells under it. It follows ``tile_overview`` itself (a
  trigger on that table adds each change of a count to the four cells above it),
  so it needs no geometry and no second reading of the layers.

Statement-level triggers with transition tables keep all three current for every insert,
update, delete and truncate, whoever makes them, in the same transaction as the change
and its ``layer_version`` bump. A changed polygon replaces its own row; a changed line
re-merges the cells it left and entered (one zoom-12 tile of one layer: its cost
follows that cell, not the layer). An UPDATE that changes neither the geometry nor
the category touches nothing. The functions run as their owner (SECURITY DEFINER,
fixed search_path); the API role only reads. Both tables hold public layers only
(a test checks that every table listed here is a public layer).

The tables and their category columns are the catalogue's (``TileSpec.overview`` and
``TileSpec.category`` in ``layers/``) at this revision; a test checks they agree.

Revision ID: 0014
Revises: 0013
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# table -> (overview kind, category column or '')
TABLES = {
    "admin_unit": ("generalise", "level"),
    "planning_zone": ("generalise", "land_use"),
    "road": ("merge", "road_class"),
    "power_line": ("merge", "power"),
}
API_ROLE = "dothi_api"
# the pyramid's grids: (zoom of the tile a grid has 64 cells per side of, how many
# 152 m cells of 0013's grid make one of its cells per side)
PYRAMID = ((10, 4), (8, 16), (6, 64), (4, 256))
# a quarter of a zoom-12 pixel (256 px tiles): finer than any overview zoom shows
TOLERANCE = 9.554628535647032
# the zoom-12 tile of a 0013 grid cell: 64 cells per side
CELLS_PER_TILE = 64


def upgrade() -> None:
    op.execute(
        f"""
        CREATE TABLE tile_overview_shape (
            table_name text NOT NULL,
            id bigint NOT NULL,
            category text NOT NULL DEFAULT '',
            size_zoom smallint NOT NULL,
            geom geometry(Geometry, 3857) NOT NULL,
            CONSTRAINT pk_tile_overview_shape PRIMARY KEY (table_name, id)
        );
        COMMENT ON TABLE tile_overview_shape IS
            'Generalised polygons of overview tiles, kept by triggers';
        CREATE INDEX ix_tile_overview_shape_geom ON tile_overview_shape
            USING gist (geom);

        CREATE TABLE tile_overview_line (
            table_name text NOT NULL,
            cx integer NOT NULL,
            cy integer NOT NULL,
            category text NOT NULL DEFAULT '',
            count bigint NOT NULL,
            geom geometry(Geometry, 3857) NOT NULL,
            CONSTRAINT pk_tile_overview_line
                PRIMARY KEY (table_name, cx, cy, category)
        );
        COMMENT ON TABLE tile_overview_line IS
            'Merged lines of overview tiles per zoom-12 tile, kept by triggers';
        CREATE INDEX ix_tile_overview_line_geom ON tile_overview_line
            USING gist (geom);

        -- the Web Mercator envelope of zoom-12 tile (cx, cy), counted from the
        -- south-west corner as 0013's grid counts its cells
        CREATE FUNCTION overview_line_cell(cx integer, cy integer) RETURNS geometry
        LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
            SELECT ST_MakeEnvelope(
                -20037508.342789244 + cx * 9783.93962050256,
                -20037508.342789244 + cy * 9783.93962050256,
                -20037508.342789244 + (cx + 1) * 9783.93962050256,
                -20037508.342789244 + (cy + 1) * 9783.93962050256, 3857)
        $$;

        CREATE FUNCTION overview_shape_sync() RETURNS trigger
        LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
        DECLARE
            col text := TG_ARGV[0];
            cat text := CASE WHEN col <> ''
                THEN format('coalesce(r.%I::text, '''')', col) ELSE '''''' END;
            changed text := CASE WHEN TG_OP = 'UPDATE' THEN format(
                ' AND (r.geom IS DISTINCT FROM o.geom%s)',
                CASE WHEN col <> '' THEN format(
                    ' OR r.%1$I IS DISTINCT FROM o.%1$I', col) ELSE '' END)
                ELSE '' END;
        BEGIN
            IF TG_OP = 'TRUNCATE' THEN
                DELETE FROM tile_overview_shape WHERE table_name = TG_TABLE_NAME;
                RETURN NULL;
            END IF;
            IF TG_OP IN ('UPDATE', 'DELETE') THEN
                EXECUTE 'DELETE FROM tile_overview_shape s USING '
                    || CASE WHEN TG_OP = 'UPDATE'
                        THEN 'old_rows r JOIN new_rows o USING (id)'
                        ELSE 'old_rows r' END
                    || ' WHERE s.table_name = $1 AND s.id = r.id' || changed
                USING TG_TABLE_NAME;
            END IF;
            IF TG_OP IN ('UPDATE', 'INSERT') THEN
                EXECUTE 'INSERT INTO tile_overview_shape AS s '
                    '(table_name, id, category, size_zoom, geom) '
                    'SELECT $1, r.id, ' || cat || ', overview_size_zoom(r.geom), '
                    'ST_SimplifyPreserveTopology(ST_Transform(r.geom, 3857), '
                    '{TOLERANCE!r}) FROM '
                    || CASE WHEN TG_OP = 'UPDATE'
                        THEN 'new_rows r JOIN old_rows o USING (id)'
                        ELSE 'new_rows r' END
                    || ' WHERE r.geom IS NOT NULL AND NOT ST_IsEmpty(r.geom) '
                    'AND overview_size_zoom(r.geom) <= 12' || changed
                    || ' ON CONFLICT (table_name, id) DO UPDATE SET '
                    'category = excluded.category, size_zoom = excluded.size_zoom, '
                    'geom = excluded.geom'
                USING TG_TABLE_NAME;
            END IF;
            RETURN NULL;
        END $$;

        -- re-merge the lines of table ``tbl`` whose cell is one of ``cells``
        CREATE FUNCTION overview_line_refresh(tbl text, col text, cells integer[])
        RETURNS void
        LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
        BEGIN
            DELETE FROM tile_overview_line l
            USING (SELECT cells[i][1] AS cx, cells[i][2] AS cy
                   FROM generate_subscripts(cells, 1) i) c
            WHERE l.table_name = tbl AND l.cx = c.cx AND l.cy = c.cy;
            EXECUTE format(
                'INSERT INTO tile_overview_line '
                '(table_name, cx, cy, category, count, geom) '
                'SELECT $1, c.cx, c.cy, %s, count(*), '
                'ST_LineMerge(ST_CollectionExtract(ST_Collect(ST_Simplify('
                'ST_Transform(r.geom, 3857), {TOLERANCE!r}, true)), 2)) '
                'FROM (SELECT $2[i][1] AS cx, $2[i][2] AS cy '
                'FROM generate_subscripts($2, 1) i) c '
                'JOIN %I r ON r.geom && ST_Transform(overview_line_cell(c.cx, c.cy), 4326) '
                'CROSS JOIN LATERAL overview_key(r.geom) k '
                'WHERE NOT ST_IsEmpty(r.geom) AND k.cx / {CELLS_PER_TILE} = c.cx '
                'AND k.cy / {CELLS_PER_TILE} = c.cy GROUP BY 2, 3, 4',
                CASE WHEN col <> '' THEN format('coalesce(r.%I::text, '''')', col)
                    ELSE '''''' END,
                tbl)
            USING tbl, cells;
        END $$;

        CREATE FUNCTION overview_line_sync() RETURNS trigger
        LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
        DECLARE
            col text := TG_ARGV[0];
            changed text := CASE WHEN TG_OP = 'UPDATE' THEN format(
                ' AND (r.geom IS DISTINCT FROM o.geom%s)',
                CASE WHEN col <> '' THEN format(
                    ' OR r.%1$I IS DISTINCT FROM o.%1$I', col) ELSE '' END)
                ELSE '' END;
            touched text := 'SELECT k.cx / {CELLS_PER_TILE} AS cx, '
                'k.cy / {CELLS_PER_TILE} AS cy FROM %s '
                'CROSS JOIN LATERAL overview_key(r.geom) k '
                'WHERE r.geom IS NOT NULL AND NOT ST_IsEmpty(r.geom)%s';
            parts text[] := '{{}}';
            cells integer[];
        BEGIN
            IF TG_OP = 'TRUNCATE' THEN
                DELETE FROM tile_overview_line WHERE table_name = TG_TABLE_NAME;
                RETURN NULL;
            END IF;
            IF TG_OP IN ('UPDATE', 'DELETE') THEN
                parts := parts || format(touched, CASE WHEN TG_OP = 'UPDATE'
                    THEN 'old_rows r JOIN new_rows o USING (id)'
                    ELSE 'old_rows r' END, changed);
            END IF;
            IF TG_OP IN ('UPDATE', 'INSERT') THEN
                parts := parts || format(touched, CASE WHEN TG_OP = 'UPDATE'
                    THEN 'new_rows r JOIN old_rows o USING (id)'
                    ELSE 'new_rows r' END, changed);
            END IF;
            EXECUTE 'SELECT array_agg(ARRAY[cx, cy]) FROM (SELECT DISTINCT cx, cy FROM ('
                || array_to_string(parts, ' UNION ALL ') || ') t) d'
            INTO cells;
            IF cells IS NOT NULL THEN
                PERFORM overview_line_refresh(TG_TABLE_NAME, col, cells);
            END IF;
            RETURN NULL;
        END $$;
        """
    )
    _pyramid()
    for name in ("tile_overview_shape", "tile_overview_line"):
        op.execute(f"GRANT SELECT ON {name} TO {API_ROLE}")
    for fn in (
        "overview_shape_sync()",
        "overview_line_sync()",
        "overview_line_refresh(text, text, integer[])",
    ):
        op.execute(f"REVOKE EXECUTE ON FUNCTION {fn} FROM PUBLIC")
    for table, (kind, category) in TABLES.items():
        sync = "overview_shape_sync" if kind == "generalise" else "overview_line_sync"
        _triggers(table, sync, category)
        if kind == "generalise":
            cat = f"coalesce(r.{category}::text, '')" if category else "''"
            op.execute(
                "INSERT INTO tile_overview_shape (table_name, id, category, size_zoom,"
                f" geom) SELECT '{table}', r.id, {cat}, overview_size_zoom(r.geom), "
                f"ST_SimplifyPreserveTopology(ST_Transform(r.geom, 3857), {TOLERANCE!r})"
                f" FROM {table} r WHERE r.geom IS NOT NULL AND NOT ST_IsEmpty(r.geom)"
                " AND overview_size_zoom(r.geom) <= 12"
            )
        else:
            op.execute(
                f"SELECT overview_line_refresh('{table}', '{category}', cells) FROM ("
                f"SELECT array_agg(ARRAY[cx, cy]) AS cells FROM (SELECT DISTINCT "
                f"k.cx / {CELLS_PER_TILE} AS cx, k.cy / {CELLS_PER_TILE} AS cy "
                f"FROM {table} r, overview_key(r.geom) k WHERE r.geom IS NOT NULL "
                "AND NOT ST_IsEmpty(r.geom)) d) a WHERE cells IS NOT NULL"
            )


def _pyramid() -> None:
    grids = ", ".join(f"({z}, {f})" for z, f in PYRAMID)
    op.execute(
        f"""
        CREATE TABLE tile_overview_pyramid (
            table_name text NOT NULL,
            grid_zoom smallint NOT NULL,
            cx integer NOT NULL,
            cy integer NOT NULL,
            category text NOT NULL DEFAULT '',
            size_zoom smallint NOT NULL,
            count bigint NOT NULL,
            CONSTRAINT pk_tile_overview_pyramid
                PRIMARY KEY (table_name, grid_zoom, cx, cy, category, size_zoom)
        );
        COMMENT ON TABLE tile_overview_pyramid IS
            'Overview counts in coarser grids, kept by triggers on tile_overview';
        CREATE INDEX ix_tile_overview_pyramid_spent ON tile_overview_pyramid
            (table_name) WHERE count <= 0;

        -- every change of a count in tile_overview, added to the cells above it
        CREATE FUNCTION overview_pyramid_sync() RETURNS trigger
        LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
        DECLARE
            cols text := 'table_name, cx, cy, category, size_zoom';
            added text := 'SELECT ' || cols || ', count AS n FROM new_rows';
            taken text := 'SELECT ' || cols || ', -count AS n FROM old_rows';
        BEGIN
            EXECUTE 'INSERT INTO tile_overview_pyramid AS p (table_name, grid_zoom, '
                'cx, cy, category, size_zoom, count) SELECT d.table_name, g.z, '
                'd.cx / g.f, d.cy / g.f, d.category, d.size_zoom, sum(d.n) FROM ('
                || CASE TG_OP WHEN 'INSERT' THEN added WHEN 'DELETE' THEN taken
                    ELSE added || ' UNION ALL ' || taken END
                || ') d CROSS JOIN (VALUES {grids}) g(z, f) '
                'GROUP BY 1, 2, 3, 4, 5, 6 HAVING sum(d.n) <> 0 '
                'ON CONFLICT (table_name, grid_zoom, cx, cy, category, size_zoom) '
                'DO UPDATE SET count = p.count + excluded.count';
            DELETE FROM tile_overview_pyramid WHERE count <= 0;
            RETURN NULL;
        END $$;
        REVOKE EXECUTE ON FUNCTION overview_pyramid_sync() FROM PUBLIC;
        CREATE TRIGGER tile_overview_pyramid_ins AFTER INSERT ON tile_overview
            REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT
            EXECUTE FUNCTION overview_pyramid_sync();
        CREATE TRIGGER tile_overview_pyramid_upd AFTER UPDATE ON tile_overview
            REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
            FOR EACH STATEMENT EXECUTE FUNCTION overview_pyramid_sync();
        CREATE TRIGGER tile_overview_pyramid_del AFTER DELETE ON tile_overview
            REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT
            EXECUTE FUNCTION overview_pyramid_sync();

        INSERT INTO tile_overview_pyramid (table_name, grid_zoom, cx, cy, category,
            size_zoom, count)
        SELECT o.table_name, g.z, o.cx / g.f, o.cy / g.f, o.category, o.size_zoom,
            sum(o.count)
        FROM tile_overview o CROSS JOIN (VALUES {grids}) g(z, f)
        GROUP BY 1, 2, 3, 4, 5, 6;

        GRANT SELECT ON tile_overview_pyramid TO {API_ROLE};
        -- cameras are never public: their cells follow the layer's read grant (0006)
        ALTER TABLE tile_overview_pyramid ENABLE ROW LEVEL SECURITY;
        CREATE POLICY tile_overview_pyramid_owner ON tile_overview_pyramid
            USING (current_user <> '{API_ROLE}');
        CREATE POLICY tile_overview_pyramid_by_claims ON tile_overview_pyramid
            FOR SELECT TO {API_ROLE} USING (table_name <> 'camera' OR string_to_array(
            coalesce(current_setting('dothi.roles', true), ''), ',')
            && ARRAY['ioc_operator', 'security_officer', 'admin']);
        """
    )


def _triggers(table: str, sync: str, category: str) -> None:
    arg = f"'{category}'"
    op.execute(
        f"CREATE TRIGGER {table}_shape_ins AFTER INSERT ON {table} "
        "REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT "
        f"EXECUTE FUNCTION {sync}({arg})"
    )
    op.execute(
        f"CREATE TRIGGER {table}_shape_upd AFTER UPDATE ON {table} "
        "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT "
        f"EXECUTE FUNCTION {sync}({arg})"
    )
    op.execute(
        f"CREATE TRIGGER {table}_shape_del AFTER DELETE ON {table} "
        "REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT "
        f"EXECUTE FUNCTION {sync}({arg})"
    )
    op.execute(
        f"CREATE TRIGGER {table}_shape_trunc AFTER TRUNCATE ON {table} "
        f"FOR EACH STATEMENT EXECUTE FUNCTION {sync}({arg})"
    )


def downgrade() -> None:
    for suffix in ("ins", "upd", "del"):
        op.execute(f"DROP TRIGGER tile_overview_pyramid_{suffix} ON tile_overview")
    op.execute("DROP FUNCTION overview_pyramid_sync()")
    op.execute("DROP TABLE tile_overview_pyramid")
    for table in TABLES:
        for suffix in ("ins", "upd", "del", "trunc"):
            op.execute(f"DROP TRIGGER {table}_shape_{suffix} ON {table}")
    op.execute("DROP FUNCTION overview_line_sync()")
    op.execute("DROP FUNCTION overview_line_refresh(text, text, integer[])")
    op.execute("DROP FUNCTION overview_shape_sync()")
    op.execute("DROP FUNCTION overview_line_cell(integer, integer)")
    op.execute("DROP TABLE tile_overview_line")
    op.execute("DROP TABLE tile_overview_shape")
