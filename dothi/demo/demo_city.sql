-- The deterministic demo city of Phan Thiết (Lâm Đồng, 2025 wards), built in SQL.
--
-- Run by dothi/demo/__init__.py inside ONE transaction, step by step (each "-- @step" block is
-- sent as one multi-statement string, without client-side parameters). The caller first
-- creates the temp table _d_param (seed, scale) from bound parameters.
--
-- Randomness: setseed(seed) seeds random(), which draws a single salt; every value is
-- then hashed from (salt, row key, stream) by pg_temp.u(). Values therefore do not depend
-- on the order in which the executor happens to produce rows (hash joins, parallel
-- workers, synchronized scans), so the same seed always gives the same city: the same ids,
-- attributes and geometry.
--
-- Geometry is generated in VN-2000 / TM-3 108°30' (EPSG:9218, the cadastral grid of the
-- former Bình Thuận province; the parcels' source_crs) and transformed to EPSG:4326.
-- The city outline is the 2009 boundary set's outline of the 17 predecessor units of the
-- six 2025 wards, simplified to 250 m; the old communes are a weighted Voronoi partition
-- of that outline on a 250 m grid (seeds: the real communes' interior points, weights:
-- their real areas), so the synthetic old communes and 2025 wards have about their real
-- areas and positions. Every ward boundary follows the 250 m grid; blocks of parcels keep
-- 7 m from it, so parcels never straddle a ward.
--
-- Fixed dates only (never now()): "today" is 2026-11-23.

-- @step params
DO $do$
DECLARE
    salt bigint;
BEGIN
    PERFORM setseed((SELECT seed FROM _d_param));
    salt := floor(random() * 2147483647)::bigint;
    -- uniform [0, 1) from (key, stream); the salt is a number, spliced as a literal so
    -- the function stays IMMUTABLE and is inlined
    EXECUTE format($f$
        CREATE FUNCTION pg_temp.u(k bigint, s integer) RETURNS double precision
        LANGUAGE sql IMMUTABLE PARALLEL SAFE AS
        'SELECT ((hashint8extended(k, s::bigint * 1000003 + %s) >> 11)
                 & 9007199254740991)::double precision / 9007199254740992.0'
    $f$, salt);
END
$do$;

-- standard normal (Box-Muller)
CREATE FUNCTION pg_temp.nrm(k bigint, s integer) RETURNS double precision
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS
'SELECT sqrt(-2 * ln(1 - pg_temp.u(k, s))) * cos(2 * pi() * pg_temp.u(k, s + 7919))';

-- uniform integer in [lo, hi]
CREATE FUNCTION pg_temp.ri(k bigint, s integer, lo integer, hi integer) RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS
'SELECT lo + floor(pg_temp.u(k, s) * (hi - lo + 1))::integer';

-- one element of a text array, uniformly
CREATE FUNCTION pg_temp.pick(a text[], k bigint, s integer) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS
'SELECT a[1 + floor(pg_temp.u(k, s) * cardinality(a))::integer]';

-- one element of a text array, with weights
CREATE FUNCTION pg_temp.wpick(a text[], w double precision[], k bigint, s integer)
RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT v FROM (
        SELECT v, sum(x) OVER (ORDER BY i) AS c, sum(x) OVER () AS t
        FROM unnest(a, w) WITH ORDINALITY AS z(v, x, i)
    ) q
    WHERE c > pg_temp.u(k, s) * t ORDER BY c LIMIT 1
$$;

-- a Vietnamese person's name (family names weighted as in the population)
CREATE FUNCTION pg_temp.person(k bigint, s integer, female boolean) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT pg_temp.wpick(
        ARRAY['Nguyễn','Trần','Lê','Phạm','Huỳnh','Hoàng','Phan','Võ','Vũ','Đặng',
              'Bùi','Đỗ','Hồ','Ngô','Dương','Lý','Trương','Đoàn','Lương','Châu',
              'Mai','Tô','Lâm','Thái'],
        ARRAY[38,11,9.5,7,3.5,1.5,4.5,3.5,1,2,2,1.4,1.3,1.3,1,0.5,1,0.6,0.5,0.5,
              0.6,0.4,0.5,0.4]::double precision[], k, s)
        || ' ' ||
        CASE WHEN female THEN pg_temp.pick(
            ARRAY['Thị','Thị','Thị','Ngọc','Thu','Thanh','Kim','Mỹ','Bích','Hồng',
                  'Thùy','Minh'], k, s + 1)
        ELSE pg_temp.pick(
            ARRAY['Văn','Văn','Văn','Hữu','Đức','Minh','Quốc','Thanh','Công','Ngọc',
                  'Tấn','Hoàng'], k, s + 1)
        END
        || ' ' ||
        CASE WHEN female THEN pg_temp.pick(
            ARRAY['Anh','Châu','Diệp','Dung','Hà','Hạnh','Hoa','Hồng','Hương','Lan',
                  'Linh','Loan','Mai','My','Nga','Ngân','Nhung','Oanh','Phương',
                  'Quyên','Thảo','Thủy','Trang','Tuyết','Uyên','Vân','Xuân','Yến',
                  'Hằng','Trinh','Thư','Nhi'], k, s + 2)
        ELSE pg_temp.pick(
            ARRAY['Anh','Bình','Cường','Dũng','Hải','Hùng','Hưng','Khoa','Long',
                  'Minh','Nam','Phong','Phúc','Quang','Sơn','Tài','Thắng','Thành',
                  'Toàn','Trung','Tuấn','Việt','Vinh','Khang','Lộc','Nghĩa','Tâm',
                  'Hiếu','Đạt','Huy','Khánh','Thịnh'], k, s + 2)
        END
$$;

-- ASCII slug of a Vietnamese name (for fake e-mail addresses)
CREATE FUNCTION pg_temp.slug(t text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT replace(translate(lower(t),
        'àáảãạăằắẳẵặâầấẩẫậèéẻẽẹêềếểễệìíỉĩịòóỏõọôồốổỗộơờớởỡợùúủũụưừứửữựỳýỷỹỵđ',
        'aaaaaaaaaaaaaaaaaeeeeeeeeeeeiiiiiooooooooooooooooouuuuuuuuuuuyyyyyd'), ' ', '.')
$$;

-- fake mobile number (Vietnamese 10-digit format)
CREATE FUNCTION pg_temp.phone(k bigint, s integer) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT '0' || pg_temp.pick(ARRAY['90','93','70','76','77','78','79','89','91','94',
                                     '88','83','84','85','81','82','86','96','97','98',
                                     '32','33','34','35','36','37','38','39'], k, s)
        || lpad(pg_temp.ri(k, s + 1, 0, 9999999)::text, 7, '0')
$$;

CREATE TEMP TABLE _d_n ON COMMIT DROP AS
SELECT p.seed, p.scale,
       round(20000 * p.scale)::integer AS n_parcels,
       greatest(1, round(2000 * p.scale))::integer AS n_zones,
       greatest(1, round(4000 * p.scale))::integer AS n_lights,
       greatest(1, round(80 * p.scale))::integer AS n_cabinets,
       greatest(1, round(8000 * p.scale))::integer AS n_trees,
       greatest(1, round(150 * p.scale))::integer AS n_cameras,
       greatest(1, round(3000 * p.scale))::integer AS n_reports,
       greatest(24, round(8760 * p.scale))::integer AS n_hours,
       greatest(1, round(400 * p.scale))::integer AS n_pois,
       timestamptz '2026-11-23 09:00+07' AS now_ts,
       timestamptz '2026-11-23 06:00+07' AS stamp
FROM _d_param p;

-- @step geography
-- grid origin (lower left) and top of the 9218 grid, 250 m cells
CREATE TEMP TABLE _d_outline ON COMMIT DROP AS
SELECT g, ST_Buffer(g, -8) AS inner_g, ST_Boundary(g) AS edge FROM (
    SELECT ST_GeomFromText('POLYGON ((447620 1191830, 444400 1194650, 444640 1196540,
    446530 1200160, 445390 1201520, 447900 1203930, 450430 1205140, 451840 1206900,
    452350 1206330, 453060 1206480, 454110 1207830, 454470 1207800, 454010 1208700,
    453280 1209130, 453360 1210010, 452700 1209910, 452130 1210660, 451990 1210230,
    451620 1210650, 451000 1210030, 450700 1210530, 448580 1211610, 448140 1211350,
    447360 1211910, 447430 1213430, 447040 1213620, 446780 1213200, 445960 1213650,
    446630 1214560, 445950 1216970, 446280 1217640, 445740 1218680, 447020 1218900,
    447090 1220320, 447750 1219590, 447910 1218610, 451300 1214040, 452530 1213810,
    452980 1212800, 454030 1212610, 455080 1211380, 455600 1211320, 456000 1211730,
    456530 1211280, 457240 1211470, 456860 1212130, 457690 1214740, 458500 1214850,
    459200 1216990, 460480 1217080, 460450 1217520, 461480 1216760, 461740 1215080,
    463430 1215070, 465620 1215660, 465980 1216360, 468620 1218120, 470900 1219380,
    472050 1219600, 473220 1219100, 475280 1219000, 477010 1217460, 477920 1216020,
    480020 1216130, 483220 1217130, 482110 1211250, 481350 1211080, 480470 1212080,
    479150 1211850, 477850 1210010, 477460 1207030, 475960 1207140, 475890 1209690,
    474200 1210560, 469500 1211430, 465820 1209460, 464360 1209400, 463280 1208810,
    460190 1208830, 460320 1209290, 457960 1208270, 456650 1207210, 456800 1207660,
    455500 1207430, 453620 1206360, 449580 1198650, 447620 1191830))', 9218) AS g
) o;

-- the 17 old (124/2004) units merged into the six 2025 wards (domain-vn.md section 7);
-- x, y: an interior point of the real unit (2009 boundary set) in EPSG:9218; w: the
-- Voronoi weight (the real area in km², the three central wards enlarged by the units
-- they absorbed in 2020); area_km2: area in the 2009 boundary set
CREATE TEMP TABLE _d_commune (
    code text, name text, unit_type text, district_code text, new_code text,
    x double precision, y double precision, w double precision, area_km2 numeric,
    ord integer
) ON COMMIT DROP;
INSERT INTO _d_commune VALUES
('22915', 'Phường Mũi Né',       'Phường',    '593', '22918', 477400, 1211960, 34.91, 35.41, 1),
('22918', 'Phường Hàm Tiến',     'Phường',    '593', '22918', 467090, 1211090, 10.04, 10.39, 2),
('22957', 'Xã Thiện Nghiệp',     'Xã',        '593', '22918', 472550, 1215330, 74.39, 74.04, 3),
('22921', 'Phường Phú Hài',      'Phường',    '593', '22924', 463480, 1210430, 11.81, 12.13, 4),
('22924', 'Phường Phú Thủy',     'Phường',    '593', '22924', 457670, 1209570,  4.32,  4.10, 5),
('22936', 'Phường Thanh Hải',    'Phường',    '593', '22924', 459530, 1209320,  0.99,  1.04, 6),
('22933', 'Phường Xuân An',      'Phường',    '593', '22933', 456610, 1210860,  2.38,  2.04, 7),
('23062', 'Thị trấn Phú Long',   'Thị trấn',  '597', '22933', 463580, 1214410, 25.26, 22.51, 8),
('23104', 'Xã Hàm Thắng',        'Xã',        '597', '22933', 458950, 1213570, 17.88, 17.85, 9),
('22930', 'Phường Phú Trinh',    'Phường',    '593', '22945', 455680, 1209080,  2.60,  1.51, 10),
('22945', 'Phường Lạc Đạo',      'Phường',    '593', '22945', 455570, 1207720,  1.00,  0.36, 11),
('22951', 'Phường Bình Hưng',    'Phường',    '593', '22945', 456710, 1208240,  1.20,  0.78, 12),
('22954', 'Phường Đức Long',     'Phường',    '593', '22954', 454080, 1206940,  2.14,  2.07, 13),
('22966', 'Xã Tiến Thành',       'Xã',        '593', '22954', 448040, 1199410, 52.48, 52.24, 14),
('22927', 'Phường Phú Tài',      'Phường',    '593', '22960', 454290, 1209250,  3.43,  2.85, 15),
('22960', 'Xã Phong Nẫm',        'Xã',        '593', '22960', 454380, 1210680,  3.95,  4.62, 16),
('23101', 'Xã Hàm Hiệp',         'Xã',        '597', '22960', 448490, 1215350, 37.33, 36.74, 17);

-- the six 2025 wards (QĐ 19/2025/QĐ-TTg); area_km2 from the 2025 code list
CREATE TEMP TABLE _d_ward (code text, name text, area_km2 numeric, ord integer)
ON COMMIT DROP;
INSERT INTO _d_ward VALUES
('22945', 'Phường Phan Thiết', 4.46, 1),
('22918', 'Phường Mũi Né', 118.59, 2),
('22924', 'Phường Phú Thủy', 17.3435, 3),
('22933', 'Phường Hàm Thắng', 44.90, 4),
('22954', 'Phường Tiến Thành', 55.06, 5),
('22960', 'Phường Bình Thuận', 45.16, 6);

-- 250 m cells of the outline, each given to one old commune: the cell holding a seed
-- goes to that seed, any other to the seed nearest by distance / sqrt(weight)
CREATE TEMP TABLE _d_cell ON COMMIT DROP AS
WITH sq AS (
    SELECT ix, iy, ST_MakeEnvelope(444000 + ix * 250, 1191000 + iy * 250,
                                   444250 + ix * 250, 1191250 + iy * 250, 9218) AS g
    FROM generate_series(0, 159) ix, generate_series(0, 119) iy
), clipped AS (
    SELECT sq.ix, sq.iy,
           CASE WHEN ST_Within(sq.g, o.g) THEN sq.g
                ELSE ST_CollectionExtract(ST_Intersection(sq.g, o.g), 3) END AS g
    FROM sq, _d_outline o
    WHERE ST_Intersects(sq.g, o.g)
)
SELECT c.ix, c.iy, c.ix * 1000 + c.iy AS cell_id, c.g,
       coalesce(
           (SELECT s.code FROM _d_commune s
            WHERE s.x >= 444000 + c.ix * 250 AND s.x < 444250 + c.ix * 250
              AND s.y >= 1191000 + c.iy * 250 AND s.y < 1191250 + c.iy * 250),
           (SELECT s.code FROM _d_commune s
            ORDER BY sqrt((s.x - (444125 + c.ix * 250)) ^ 2
                          + (s.y - (1191125 + c.iy * 250)) ^ 2) / sqrt(s.w), s.code
            LIMIT 1)) AS commune
FROM clipped c
WHERE NOT ST_IsEmpty(c.g) AND ST_Area(c.g) > 1;

-- map sheets: 500 m tiles (1:1000) in wards and towns, 1 km tiles (1:2000) in rural
-- communes, numbered from 1 within each old commune, row by row from the north-west
CREATE TEMP TABLE _d_sheet ON COMMIT DROP AS
SELECT commune, tile, tx, ty,
       dense_rank() OVER (PARTITION BY commune ORDER BY ty, tx)::integer AS sheet_no
FROM (
    SELECT DISTINCT c.commune, t.tile,
           floor((c.ix * 250 + 125) / t.tile)::integer AS tx,
           floor((30000 - c.iy * 250 - 125) / t.tile)::integer AS ty
    FROM _d_cell c
    JOIN _d_commune m ON m.code = c.commune
    CROSS JOIN LATERAL (SELECT CASE WHEN m.unit_type = 'Xã' THEN 1000 ELSE 500 END
                        AS tile) t
) s;

-- @step admin_units
INSERT INTO admin_unit (id, code, level, unit_type, name, parent_code, province_code,
                        code_system, area_km2, population, valid_from, valid_to,
                        legal_basis, source_crs, geom)
SELECT row_number() OVER (ORDER BY ord), code, level, unit_type, name, parent_code,
       province_code, code_system, area_km2, NULL, valid_from, valid_to, legal_basis,
       source_crs, geom
FROM (
    SELECT 1 AS ord, '68' AS code, 'province' AS level, 'Tỉnh' AS unit_type,
           'Tỉnh Lâm Đồng' AS name, NULL AS parent_code, '68' AS province_code,
           '19/2025/QĐ-TTg' AS code_system, 24233.0::numeric AS area_km2,
           date '2025-07-01' AS valid_from, NULL::date AS valid_to,
           'NQ 202/2025/QH15; QĐ 19/2025/QĐ-TTg' AS legal_basis, 4326 AS source_crs,
           NULL::geometry AS geom
    UNION ALL
    SELECT 1 + w.ord, w.code, 'commune', 'Phường', w.name, '68', '68',
           '19/2025/QĐ-TTg', w.area_km2, date '2025-07-01', NULL,
           'QĐ 19/2025/QĐ-TTg', 9218,
           ST_Multi(ST_Transform(ST_Union(c.g ORDER BY c.cell_id), 4326))
    FROM _d_ward w
    JOIN _d_commune m ON m.new_code = w.code
    JOIN _d_cell c ON c.commune = m.code
    GROUP BY w.ord, w.code, w.name, w.area_km2
    UNION ALL
    SELECT 10, '60', 'province', 'Tỉnh', 'Tỉnh Bình Thuận', NULL, '60',
           '124/2004/QĐ-TTg', NULL, date '2004-07-08', date '2025-06-30',
           'QĐ 124/2004/QĐ-TTg', 4326, NULL
    UNION ALL
    SELECT 11, '593', 'district', 'Thành phố', 'Thành phố Phan Thiết', '60', '60',
           '124/2004/QĐ-TTg', NULL, date '2004-07-08', date '2025-06-30',
           'QĐ 124/2004/QĐ-TTg', 4326, NULL
    UNION ALL
    SELECT 12, '597', 'district', 'Huyện', 'Huyện Hàm Thuận Bắc', '60', '60',
           '124/2004/QĐ-TTg', NULL, date '2004-07-08', date '2025-06-30',
           'QĐ 124/2004/QĐ-TTg', 4326, NULL
    UNION ALL
    SELECT 20 + m.ord, m.code, 'commune', m.unit_type, m.name, m.district_code, '60',
           '124/2004/QĐ-TTg', m.area_km2, date '2004-07-08', date '2025-06-30',
           'QĐ 124/2004/QĐ-TTg', 9218,
           ST_Multi(ST_Transform(ST_Union(c.g ORDER BY c.cell_id), 4326))
    FROM _d_commune m
    JOIN _d_cell c ON c.commune = m.code
    GROUP BY m.ord, m.code, m.unit_type, m.name, m.district_code, m.area_km2
) u;

INSERT INTO admin_unit_lineage (id, old_code, old_name, new_code, new_name, merge_type,
                                effective_date, legal_basis)
SELECT row_number() OVER (ORDER BY o, ord), old_code, old_name, new_code, new_name,
       'full', date '2025-07-01', legal_basis
FROM (
    SELECT 1 AS o, 0 AS ord, '60' AS old_code, 'Tỉnh Bình Thuận' AS old_name,
           '68' AS new_code, 'Tỉnh Lâm Đồng' AS new_name,
           'NQ 202/2025/QH15' AS legal_basis
    UNION ALL
    SELECT 2, m.ord, m.code, m.name, w.code, w.name,
           'Sắp xếp ĐVHC cấp xã năm 2025; mã theo QĐ 19/2025/QĐ-TTg'
    FROM _d_commune m JOIN _d_ward w ON w.code = m.new_code
) l;

-- working copies of the units in 9218 and 4326 for the spatial joins below
CREATE TEMP TABLE _d_ward_g ON COMMIT DROP AS
SELECT a.code, a.name, a.geom FROM admin_unit a
WHERE a.code_system = '19/2025/QĐ-TTg' AND a.level = 'commune';
CREATE INDEX ON _d_ward_g USING gist (geom);
CREATE TEMP TABLE _d_old_g ON COMMIT DROP AS
SELECT a.code, a.name, a.unit_type, a.geom FROM admin_unit a
WHERE a.code_system = '124/2004/QĐ-TTg' AND a.level = 'commune';
CREATE INDEX ON _d_old_g USING gist (geom);
ANALYZE _d_ward_g;
ANALYZE _d_old_g;

-- @step blocks
-- 2 x 2 blocks of 111 m per cell, 7 m back from the grid lines (the streets); only
-- blocks well inside the outline. Blocks are ranked by an "effective distance" to the
-- city's centres (with noise); the first ranks are built up: core (4 x 18 lots),
-- urban (4 x 8), peri-urban (2 x 4), rural (2 x 2), shares 45/30/15/10 % of the parcels.
CREATE TEMP TABLE _d_centre (x double precision, y double precision, s double precision)
ON COMMIT DROP;
INSERT INTO _d_centre VALUES
    (456000, 1208500, 1.00),  -- Phan Thiết centre (Phú Trinh, Lạc Đạo, Đức Nghĩa)
    (459000, 1209300, 0.60),  -- Phú Thủy, Thanh Hải
    (454080, 1206940, 0.60),  -- Đức Long
    (454380, 1210680, 0.45),  -- Phong Nẫm (industrial park)
    (463300, 1210200, 0.35),  -- Phú Hài
    (467200, 1210600, 0.40),  -- Hàm Tiến resort strip
    (477400, 1211960, 0.40),  -- Mũi Né
    (463580, 1214410, 0.35);  -- Phú Long town

CREATE TEMP TABLE _d_block ON COMMIT DROP AS
WITH b AS (
    SELECT c.cell_id, c.commune, c.ix * 2 + bx AS gx, c.iy * 2 + bY AS gy
    FROM _d_cell c, generate_series(0, 1) bx, generate_series(0, 1) bY
), sq AS (
    SELECT b.*, (b.gx * 1000 + b.gy)::bigint AS block_id,
           444000 + b.gx * 125 + 7 AS x0, 1191000 + b.gy * 125 + 7 AS y0,
           ST_MakeEnvelope(444007 + b.gx * 125, 1191007 + b.gy * 125,
                           444118 + b.gx * 125, 1191118 + b.gy * 125, 9218) AS g
    FROM b
), ranked AS (
    SELECT sq.*,
           row_number() OVER (ORDER BY d.d_eff, sq.block_id) AS rank
    FROM sq
    JOIN _d_outline o ON ST_Within(sq.g, o.inner_g)
    CROSS JOIN LATERAL (
        SELECT min(sqrt((c.x - sq.x0 - 55.5) ^ 2 + (c.y - sq.y0 - 55.5) ^ 2) / c.s)
               * (0.85 + 0.3 * pg_temp.u(sq.block_id, 1)) AS d_eff
        FROM _d_centre c
    ) d
), sized AS (
    SELECT ranked.*, n.n_zones,
           -- expected lots per block, public blocks (one lot) included
           round(0.45 * n.n_parcels / 66.3) AS k1,
           round(0.45 * n.n_parcels / 66.3) + round(0.30 * n.n_parcels / 29.5) AS k2,
           round(0.45 * n.n_parcels / 66.3) + round(0.30 * n.n_parcels / 29.5)
               + round(0.15 * n.n_parcels / 7.6) AS k3,
           round(0.45 * n.n_parcels / 66.3) + round(0.30 * n.n_parcels / 29.5)
               + round(0.15 * n.n_parcels / 7.6) + round(0.10 * n.n_parcels / 3.85) AS k4
    FROM ranked, _d_n n
), classed AS (
    SELECT s.*,
           CASE WHEN rank <= k1 THEN 'core' WHEN rank <= k2 THEN 'urban'
                WHEN rank <= k3 THEN 'peri' WHEN rank <= k4 THEN 'rural' END AS class,
           rank <= n_zones AS in_zone,
           m.unit_type, CASE WHEN m.unit_type = 'Xã' THEN 'ONT' ELSE 'ODT' END AS res,
           (s.commune IN ('22915', '22918', '22921')
            AND ST_DWithin(s.g, o.edge, 500)) AS coastal
    FROM sized s
    JOIN _d_commune m ON m.code = s.commune
    CROSS JOIN _d_outline o
)
SELECT c.*,
       CASE
           WHEN c.class IS NULL THEN NULL
           WHEN c.commune = '22960' AND c.class IN ('urban', 'peri')
                AND pg_temp.u(c.block_id, 4) < 0.3 THEN 'SKK'
           WHEN c.class IN ('core', 'urban') AND pg_temp.u(c.block_id, 2) < 0.08 THEN
               pg_temp.wpick(ARRAY['DGD','DYT','TSC','DKV','DVH','TON','DCH','DTT'],
                             ARRAY[30,10,15,15,8,10,7,5]::double precision[],
                             c.block_id, 3)
           WHEN c.class IN ('peri', 'rural') AND pg_temp.u(c.block_id, 2) < 0.05 THEN
               pg_temp.wpick(ARRAY['DGD','NTD','TIN','DYT','TSC'],
                             ARRAY[30,30,15,10,15]::double precision[], c.block_id, 3)
       END AS public_lu
FROM classed c;

ALTER TABLE _d_block
    ADD COLUMN nrows integer, ADD COLUMN ncols integer;
UPDATE _d_block SET
    nrows = CASE WHEN public_lu IS NOT NULL THEN 1
                 WHEN pg_temp.u(block_id, 5) < 0.5 THEN
                     CASE class WHEN 'core' THEN 4 WHEN 'urban' THEN 4 ELSE 2 END
                 ELSE CASE class WHEN 'core' THEN 18 WHEN 'urban' THEN 8
                                 WHEN 'peri' THEN 4 ELSE 2 END END,
    ncols = CASE WHEN public_lu IS NOT NULL THEN 1
                 WHEN pg_temp.u(block_id, 5) < 0.5 THEN
                     CASE class WHEN 'core' THEN 18 WHEN 'urban' THEN 8
                                WHEN 'peri' THEN 4 ELSE 2 END
                 ELSE CASE class WHEN 'core' THEN 4 WHEN 'urban' THEN 4 ELSE 2 END END
WHERE class IS NOT NULL;
CREATE INDEX ON _d_block (block_id);
CREATE INDEX ON _d_block (gx, gy);
ANALYZE _d_block;

-- @step roads
-- street pieces (125 m) on the grid lines: around every built-up block, collectors
-- (every 500 m) around planned blocks, arterials (every 2 km) a little further out
CREATE TEMP TABLE _d_piece ON COMMIT DROP AS
WITH side AS (
    SELECT b.block_id, b.rank, b.class, b.in_zone, s.orient, s.line, s.pos, s.side
    FROM _d_block b
    CROSS JOIN LATERAL (VALUES ('h', b.gy, b.gx, 'S'), ('h', b.gy + 1, b.gx, 'N'),
                               ('v', b.gx, b.gy, 'W'), ('v', b.gx + 1, b.gy, 'E'))
        AS s(orient, line, pos, side)
), lc AS (
    SELECT side.*,
           CASE WHEN line % 16 = 0 THEN 3 WHEN line % 4 = 0 THEN 2 ELSE 1 END AS lclass
    FROM side
), kept AS (
    SELECT orient, line, pos, max(lclass) AS lclass, min(rank) AS rank
    FROM lc, _d_n n
    WHERE class IS NOT NULL
       OR (rank <= n.n_zones AND lclass >= 2)
       OR (rank <= 2 * n.n_zones AND lclass = 3)
    GROUP BY orient, line, pos
)
SELECT k.*,
       k.pos / CASE k.lclass WHEN 3 THEN 16 WHEN 2 THEN 8 ELSE 4 END AS run,
       CASE WHEN k.orient = 'h'
            THEN ST_MakeLine(ST_MakePoint(444000 + k.pos * 125, 1191000 + k.line * 125),
                             ST_MakePoint(444125 + k.pos * 125, 1191000 + k.line * 125))
            ELSE ST_MakeLine(ST_MakePoint(444000 + k.line * 125, 1191000 + k.pos * 125),
                             ST_MakePoint(444000 + k.line * 125, 1191125 + k.pos * 125))
       END AS g
FROM kept k;
UPDATE _d_piece SET g = ST_SetSRID(g, 9218);
DELETE FROM _d_piece p USING _d_outline o WHERE NOT ST_CoveredBy(p.g, o.g);

CREATE TEMP TABLE _d_road ON COMMIT DROP AS
WITH runs AS (
    SELECT orient, line, run, max(lclass) AS lclass, min(rank) AS rank,
           ST_LineMerge(ST_Collect(g ORDER BY pos)) AS g
    FROM _d_piece
    GROUP BY orient, line, run
), numbered AS (
    SELECT runs.*,
           row_number() OVER (ORDER BY lclass DESC, rank, orient, line, run) AS road_id,
           (CASE orient WHEN 'h' THEN 1 ELSE 2 END) * 1000000::bigint
               + line * 1000 + run AS rkey
    FROM runs
)
SELECT n.*,
       coalesce((ARRAY[
           'Trần Hưng Đạo','Nguyễn Tất Thành','Võ Văn Kiệt','Tôn Đức Thắng','Hùng Vương',
           'Lê Duẩn','Nguyễn Hội','Thủ Khoa Huân','Trần Phú','Nguyễn Thông',
           'Lê Hồng Phong','Nguyễn Đình Chiểu','Trường Chinh','Võ Thị Sáu',
           'Hải Thượng Lãn Ông','Tuyên Quang','Phạm Văn Đồng','Nguyễn Văn Linh',
           'Lạc Long Quân','Âu Cơ','Huỳnh Tấn Phát','Lê Lợi','Nguyễn Huệ',
           'Hai Bà Trưng','Phan Chu Trinh','Huỳnh Thúc Kháng','Ngư Ông','Kim Đồng',
           'Yersin','Cao Thắng','Lữ Gia','Từ Văn Tư','Ngô Sĩ Liên','Đặng Văn Lãnh',
           'Lê Văn Phấn','Xuân Thủy','Nguyễn Minh Châu','Trần Quý Cáp',
           'Lý Thường Kiệt','Bà Triệu','Nguyễn Trãi','Lê Thánh Tôn','Ngô Quyền',
           'Đinh Tiên Hoàng','Phạm Ngọc Thạch','Hoàng Văn Thụ','Nguyễn Du',
           'Trần Quốc Toản','Phan Bội Châu','Lê Quý Đôn','Chu Văn An',
           'Nguyễn Công Trứ','Bùi Thị Xuân','Nguyễn Thị Minh Khai','Điện Biên Phủ',
           'Hoàng Hoa Thám','Trưng Trắc','Trưng Nhị','Mạc Đĩnh Chi','Tô Hiến Thành',
           'Lê Thị Hồng Gấm','Nguyễn Văn Trỗi','Võ Nguyên Giáp','Phạm Hùng','Đống Đa',
           'Hàm Nghi','Lê Đại Hành','Nguyễn Trung Trực','Trương Văn Ly',
           'Nguyễn Gia Thiều'])[n.road_id],
           'Đường số ' || (n.road_id - 70)) AS name,
       CASE n.lclass WHEN 3 THEN 'arterial' WHEN 2 THEN 'collector' ELSE 'local' END
           AS road_class
FROM numbered n;

-- the street each built-up block is addressed on: its adjacent road of highest class
CREATE TEMP TABLE _d_block_street ON COMMIT DROP AS
SELECT DISTINCT ON (b.block_id) b.block_id, s.side, p.orient, r.name, r.run,
       p.lclass, r.road_id
FROM _d_block b
CROSS JOIN LATERAL (VALUES ('h', b.gy, b.gx, 'S', 1), ('h', b.gy + 1, b.gx, 'N', 3),
                           ('v', b.gx, b.gy, 'W', 2), ('v', b.gx + 1, b.gy, 'E', 4))
    AS s(orient, line, pos, side, o)
JOIN _d_piece p ON p.orient = s.orient AND p.line = s.line AND p.pos = s.pos
JOIN _d_road r ON r.orient = p.orient AND r.line = p.line AND r.run = p.run
WHERE b.class IS NOT NULL
ORDER BY b.block_id, p.lclass DESC, s.o;
CREATE INDEX ON _d_block_street (block_id);

INSERT INTO road (id, name, road_class, width_m, lanes, surface, ward_code, source_crs,
                  updated_at, geom)
SELECT r.road_id, r.name, r.road_class,
       CASE r.lclass
           WHEN 3 THEN 20 + 4 * pg_temp.ri(r.rkey, 10, 0, 3)
           WHEN 2 THEN 13 + pg_temp.ri(r.rkey, 10, 0, 7)
           ELSE 6 + pg_temp.ri(r.rkey, 10, 0, 6) END,
       CASE r.lclass WHEN 3 THEN 4 + 2 * pg_temp.ri(r.rkey, 11, 0, 1)
                     WHEN 2 THEN 2 + 2 * pg_temp.ri(r.rkey, 11, 0, 1) ELSE 2 END,
       CASE WHEN r.lclass >= 2 THEN 'asphalt'
            ELSE pg_temp.wpick(ARRAY['asphalt','concrete','gravel'],
                               ARRAY[70,25,5]::double precision[], r.rkey, 12) END,
       w.code, 9218, n.stamp, ST_Multi(ST_Transform(r.g, 4326))
FROM _d_road r
CROSS JOIN _d_n n
LEFT JOIN LATERAL (
    -- a road on a ward boundary touches two wards: the one holding most of it wins
    SELECT wg.code FROM _d_ward_g wg
    WHERE ST_Intersects(wg.geom, ST_Transform(r.g, 4326))
    ORDER BY ST_Length(ST_Intersection(wg.geom, ST_Transform(r.g, 4326))) DESC, wg.code
    LIMIT 1
) w ON true
ORDER BY r.road_id;

-- @step parcels
-- lots: rows x cols cells per block, each corner pulled inwards at random (so lots are
-- irregular quadrilaterals, each inside its own cell: no two overlap)
CREATE TEMP TABLE _d_lot ON COMMIT DROP AS
WITH cells AS (
    SELECT b.block_id, b.commune, b.class, b.res, b.coastal, b.public_lu, b.unit_type,
           b.nrows, b.ncols, r, c,
           b.block_id * 100 + r * b.ncols + c AS pkey,
           b.x0 + c * 111.0 / b.ncols AS lx0, b.y0 + r * 111.0 / b.nrows AS ly0,
           b.x0 + (c + 1) * 111.0 / b.ncols AS lx1, b.y0 + (r + 1) * 111.0 / b.nrows AS ly1,
           least(1.2, 0.12 * least(111.0 / b.ncols, 111.0 / b.nrows)) AS amp,
           s.side, s.name AS street, s.run, s.orient,
           CASE s.lclass WHEN 3 THEN 16 WHEN 2 THEN 8 ELSE 4 END AS runlen
    FROM _d_block b
    JOIN _d_block_street s ON s.block_id = b.block_id
    CROSS JOIN LATERAL generate_series(0, b.nrows - 1) r
    CROSS JOIN LATERAL generate_series(0, b.ncols - 1) c
    WHERE b.class IS NOT NULL
)
SELECT cells.*,
       (lx0 + lx1) / 2 AS cx, (ly0 + ly1) / 2 AS cy,
       ST_SetSRID(ST_MakePolygon(ST_MakeLine(ARRAY[
           ST_MakePoint(lx0 + 0.15 + amp * pg_temp.u(pkey, 21), ly0 + 0.15 + amp * pg_temp.u(pkey, 22)),
           ST_MakePoint(lx1 - 0.15 - amp * pg_temp.u(pkey, 23), ly0 + 0.15 + amp * pg_temp.u(pkey, 24)),
           ST_MakePoint(lx1 - 0.15 - amp * pg_temp.u(pkey, 25), ly1 - 0.15 - amp * pg_temp.u(pkey, 26)),
           ST_MakePoint(lx0 + 0.15 + amp * pg_temp.u(pkey, 27), ly1 - 0.15 - amp * pg_temp.u(pkey, 28)),
           ST_MakePoint(lx0 + 0.15 + amp * pg_temp.u(pkey, 21), ly0 + 0.15 + amp * pg_temp.u(pkey, 22))
       ])), 9218) AS g,
       CASE side WHEN 'S' THEN r WHEN 'N' THEN nrows - 1 - r
                 WHEN 'W' THEN c ELSE ncols - 1 - c END AS depth,
       -- metres from the start of the street (the run) to the lot, for house numbers
       CASE WHEN orient = 'h' THEN (lx0 + lx1) / 2 - (444000 + run * runlen * 125)
            ELSE (ly0 + ly1) / 2 - (1191000 + run * runlen * 125) END AS along,
       CASE
           WHEN public_lu IS NOT NULL THEN public_lu
           WHEN coastal THEN
               pg_temp.wpick(ARRAY['TMD','RES','CLN'],
                             ARRAY[60,30,10]::double precision[], pkey, 30)
           WHEN class = 'core' THEN
               pg_temp.wpick(ARRAY['RES','TMD','SKC','TIN'],
                             ARRAY[84,12,3,1]::double precision[], pkey, 30)
           WHEN class = 'urban' THEN
               pg_temp.wpick(ARRAY['RES','TMD','CLN','HNK','BHK','SKC','NTS'],
                             ARRAY[66,9,10,4,4,4,3]::double precision[], pkey, 30)
           WHEN class = 'peri' THEN
               pg_temp.wpick(ARRAY['RES','CLN','BHK','HNK','LUC','NTS'],
                             ARRAY[30,32,12,8,12,6]::double precision[], pkey, 30)
           ELSE
               pg_temp.wpick(ARRAY['LUC','CLN','BHK','HNK','RSX','RES','NTS'],
                             ARRAY[24,32,14,10,8,7,5]::double precision[], pkey, 30)
       END AS lu0
FROM cells;
UPDATE _d_lot SET lu0 = res WHERE lu0 = 'RES';

-- ward and survey ward by containment (PostGIS decides, nothing is carried over)
CREATE TEMP TABLE _d_parcel ON COMMIT DROP AS
SELECT l.*, w.code AS ward_code, w.name AS ward_name, o.code AS survey_code,
       o.unit_type AS survey_type, s.sheet_no,
       CASE WHEN o.unit_type = 'Xã' THEN 2000 ELSE 1000 END AS map_scale,
       ST_Multi(ST_Transform(l.g, 4326)) AS geom
FROM _d_lot l
CROSS JOIN LATERAL (SELECT ST_Transform(l.g, 4326) AS g4) t
LEFT JOIN LATERAL (SELECT wg.code, wg.name FROM _d_ward_g wg
                   WHERE ST_Contains(wg.geom, t.g4) ORDER BY wg.code LIMIT 1) w ON true
LEFT JOIN LATERAL (SELECT og.code, og.unit_type FROM _d_old_g og
                   WHERE ST_Contains(og.geom, t.g4) ORDER BY og.code LIMIT 1) o ON true
LEFT JOIN _d_sheet s
    ON s.commune = o.code
   AND s.tile = CASE WHEN o.unit_type = 'Xã' THEN 1000 ELSE 500 END
   AND s.tx = floor((l.cx - 444000) / s.tile)::integer
   AND s.ty = floor((1221000 - l.cy) / s.tile)::integer;

INSERT INTO land_parcel (id, ward_code, survey_ward_code, sheet_no, parcel_no, land_use,
                         area_legal_m2, area_geom_m2, address, national_parcel_id,
                         map_scale, source_crs, valid_from, valid_to, updated_at, geom)
SELECT row_number() OVER (ORDER BY m.ord, p.sheet_no, p.parcel_no),
       p.ward_code, p.survey_code, p.sheet_no, p.parcel_no, p.lu0,
       CASE WHEN pg_temp.u(p.pkey, 31) < 0.55 THEN p.area_geom
            ELSE round(p.area_geom * (1 + 0.015 * pg_temp.nrm(p.pkey, 32))::numeric, 1)
       END,
       p.area_geom,
       CASE WHEN p.lu0 IN ('LUC','CLN','BHK','HNK','RSX','NTS')
            THEN 'Khu phố ' || (1 + p.sheet_no % 9) || ', ' || p.ward_name
                 || ', tỉnh Lâm Đồng'
            ELSE (2 * floor(greatest(p.along, 0) / 7)::integer
                  + CASE WHEN p.side IN ('S', 'W') THEN 2 ELSE 1 END)
                 -- lots behind the frontage are reached by an alley: "12/3"
                 || CASE WHEN p.depth > 0 THEN '/' || p.depth ELSE '' END
                 || ' ' || p.street || ', ' || p.ward_name || ', tỉnh Lâm Đồng'
       END,
       -- national parcel id: 12-char GeoHash of the characteristic point, assigned to
       -- 70 % so far. The lots are convex, so the centroid is inside; polylabel
       -- (ST_MaximumInscribedCircle) would cost about 1 ms a lot.
       CASE WHEN pg_temp.u(p.pkey, 33) < 0.7
            THEN ST_GeoHash(ST_Transform(ST_Centroid(p.g), 4326), 12) END,
       p.map_scale, 9218,
       CASE WHEN pg_temp.u(p.pkey, 34) < 0.06
            THEN date '2019-01-01' + pg_temp.ri(p.pkey, 35, 0, 2850)
            ELSE date '2012-03-01' + pg_temp.ri(hashtext(p.survey_code), 36, 0, 2400) END,
       NULL, n.stamp, p.geom
FROM (
    SELECT _d_parcel.*,
           round(ST_Area(geom::geography)::numeric, 1) AS area_geom,
           row_number() OVER (PARTITION BY survey_code, sheet_no
                              ORDER BY cy DESC, cx)::integer AS parcel_no
    FROM _d_parcel
) p
JOIN _d_commune m ON m.code = p.survey_code
CROSS JOIN _d_n n;

-- @step land_users
-- named public lots: schools, clinics, offices, parks, pagodas, markets ... (shared by
-- the organisations holding them and by the points of interest)
CREATE TEMP TABLE _d_public ON COMMIT DROP AS
SELECT p.id AS parcel_id, p.land_use, p.ward_code, w.name AS ward_name, p.address,
       p.survey_ward_code,
       CASE p.land_use
           WHEN 'DGD' THEN pg_temp.pick(ARRAY['Trường Mầm non ','Trường Tiểu học ',
                           'Trường Tiểu học ','Trường THCS ','Trường THPT '], p.id, 70)
                || pg_temp.pick(ARRAY['Lê Lợi','Nguyễn Du','Chu Văn An','Lê Quý Đôn',
                           'Trần Phú','Phan Bội Châu','Nguyễn Trãi','Võ Thị Sáu',
                           'Kim Đồng','Hùng Vương','Nguyễn Huệ','Lý Thường Kiệt',
                           'Quang Trung','Ngô Quyền','Hoa Sen','Sơn Ca','Họa Mi',
                           'Tuổi Thơ','Nguyễn Văn Trỗi','Bùi Thị Xuân'], p.id, 71)
           WHEN 'DYT' THEN pg_temp.pick(ARRAY['Trạm Y tế ','Phòng khám Đa khoa khu vực '],
                                        p.id, 70) || c.short
           WHEN 'TSC' THEN pg_temp.pick(ARRAY['Trung tâm Phục vụ hành chính công ',
                           'Trụ sở Công an ', 'Trụ sở UBND ', 'Bưu điện '], p.id, 70)
                || CASE WHEN pg_temp.u(p.id, 72) < 0.6 THEN w.name ELSE c.short END
           WHEN 'DKV' THEN 'Công viên ' || pg_temp.pick(ARRAY['Đồi Dương','Thanh Niên',
                           'Bờ Kè','Tuổi Trẻ','Hải Đăng','Bến Lội','Văn Thánh'], p.id, 70)
           WHEN 'DVH' THEN 'Nhà văn hóa Khu phố ' || pg_temp.ri(p.id, 70, 1, 12)
           WHEN 'TON' THEN pg_temp.pick(ARRAY['Chùa ','Chùa ','Nhà thờ Giáo xứ ',
                           'Thánh thất Cao Đài '], p.id, 70)
                || pg_temp.pick(ARRAY['Phước Thiện','Long Quang','Bửu Sơn','Phổ Quang',
                           'Linh Sơn','Thiên Phước','Quang Minh','Pháp Hội'], p.id, 71)
           WHEN 'TIN' THEN pg_temp.pick(ARRAY['Đình ','Miếu ','Vạn '], p.id, 70) || c.short
           WHEN 'DCH' THEN 'Chợ ' || c.short
           WHEN 'DTT' THEN pg_temp.pick(ARRAY['Sân vận động ','Nhà thi đấu đa năng ',
                           'Sân bóng đá '], p.id, 70) || c.short
           WHEN 'NTD' THEN 'Nghĩa trang nhân dân ' || c.short
           WHEN 'SKK' THEN 'Công ty TNHH ' || pg_temp.pick(ARRAY['Thủy sản Hải Long',
                           'May mặc Phong Nẫm','Nước mắm Phan Thiết','Gỗ Bình Thuận',
                           'Cơ khí Mũi Né','Chế biến Thanh long Hàm Thuận',
                           'Bao bì Nam Trung Bộ','Đá Granite Lâm Đồng'], p.id, 70)
       END AS name
FROM land_parcel p
JOIN _d_ward w ON w.code = p.ward_code
JOIN LATERAL (SELECT regexp_replace(m.name, '^(Phường|Xã|Thị trấn) ', '') AS short
              FROM _d_commune m WHERE m.code = p.survey_ward_code) c ON true
WHERE p.land_use IN ('DGD','DYT','TSC','DKV','DVH','TON','TIN','DCH','DTT','NTD','SKK')
  AND p.area_geom_m2 > 5000;  -- a whole block: not a shrine among the houses

-- parcels with a certificate: most private lots, fewer state-held public lots
CREATE TEMP TABLE _d_cp ON COMMIT DROP AS
SELECT p.id AS parcel_id, p.ward_code, w.name AS ward_name, p.address, p.valid_from,
       p.survey_ward_code, m.district_code, pu.name AS org_name,
       row_number() OVER (PARTITION BY pu.name IS NOT NULL ORDER BY p.id) AS k
FROM land_parcel p
JOIN _d_ward w ON w.code = p.ward_code
JOIN _d_commune m ON m.code = p.survey_ward_code
LEFT JOIN _d_public pu ON pu.parcel_id = p.id
WHERE pg_temp.u(p.id, 40) < CASE WHEN pu.name IS NULL THEN 0.88 ELSE 0.4 END;

-- people: 82 % of the private certificates have their own holder, the rest go to
-- holders of another lot
CREATE TEMP TABLE _d_holder ON COMMIT DROP AS
SELECT cp.parcel_id,
       CASE WHEN cp.k <= n.n_users THEN cp.k
            ELSE 1 + floor(pg_temp.u(cp.parcel_id, 41) * n.n_users)::bigint END AS user_id
FROM _d_cp cp
CROSS JOIN (SELECT greatest(1, round(0.82 * count(*)))::bigint AS n_users
            FROM _d_cp WHERE org_name IS NULL) n
WHERE cp.org_name IS NULL
UNION ALL
SELECT cp.parcel_id,
       (SELECT greatest(1, round(0.82 * count(*)))::bigint FROM _d_cp
        WHERE org_name IS NULL) + cp.k
FROM _d_cp cp
WHERE cp.org_name IS NOT NULL;

INSERT INTO land_user (id, kind, full_name, id_number, birth_year, address, phone)
SELECT u.user_id,
       CASE WHEN cp.org_name IS NOT NULL THEN 'organisation'
            WHEN pg_temp.u(u.user_id, 42) < 0.4 THEN 'household' ELSE 'individual' END,
       coalesce(cp.org_name, pg_temp.person(u.user_id, 43, f.female)),
       CASE WHEN cp.org_name IS NOT NULL
            -- tax code (mã số thuế) of a former Bình Thuận business: 34xxxxxxxx
            THEN '34' || lpad(pg_temp.ri(u.user_id, 44, 0, 99999999)::text, 8, '0')
            -- CCCD: birth province (060 Bình Thuận ...), century/sex digit, year, serial
            ELSE pg_temp.wpick(ARRAY['060','068','079','056','058','052','051','001'],
                               ARRAY[80,4,5,3,3,2,2,1]::double precision[], u.user_id, 45)
                 || ((CASE WHEN f.birth_year >= 2000 THEN 2 ELSE 0 END)
                     + CASE WHEN f.female THEN 1 ELSE 0 END)
                 || lpad((f.birth_year % 100)::text, 2, '0')
                 || lpad(pg_temp.ri(u.user_id, 46, 0, 999999)::text, 6, '0')
       END,
       CASE WHEN cp.org_name IS NULL THEN f.birth_year END,
       cp.address,
       CASE WHEN cp.org_name IS NOT NULL
            THEN '0252 ' || lpad(pg_temp.ri(u.user_id, 47, 3000000, 3999999)::text, 7, '0')
            WHEN pg_temp.u(u.user_id, 48) < 0.6 THEN pg_temp.phone(u.user_id, 49) END
FROM (SELECT user_id, min(parcel_id) AS parcel_id FROM _d_holder GROUP BY user_id) u
JOIN _d_cp cp ON cp.parcel_id = u.parcel_id
CROSS JOIN LATERAL (SELECT pg_temp.u(u.user_id, 50) < 0.45 AS female,
                           1940 + pg_temp.ri(u.user_id, 51, 0, 64) AS birth_year) f
ORDER BY u.user_id;

-- certificates: one valid per certified parcel, plus an older replaced one for 8 %
CREATE TEMP TABLE _d_cert ON COMMIT DROP AS
WITH base AS (
    SELECT cp.*, h.user_id,
           least(date '2026-10-30', greatest(
               date '1995-01-01' + pg_temp.ri(cp.parcel_id, 52, 0, 11600),
               cp.valid_from + pg_temp.ri(cp.parcel_id, 53, 20, 400))) AS issued
    FROM _d_cp cp JOIN _d_holder h ON h.parcel_id = cp.parcel_id
)
SELECT parcel_id, user_id, ward_name, district_code, org_name, issued, 'valid' AS status,
       parcel_id * 10 AS ckey
FROM base
UNION ALL
SELECT parcel_id, user_id, ward_name, district_code, org_name,
       date '1993-06-01' + floor(pg_temp.u(parcel_id, 55)
                                 * greatest(0, issued - date '1994-06-01'))::integer,
       'replaced', parcel_id * 10 + 1
FROM base
WHERE pg_temp.u(parcel_id, 54) < 0.08 AND issued > date '1996-01-01';

INSERT INTO land_certificate (id, parcel_id, land_user_id, serial_no, register_no,
                              issued_on, issuer, status)
SELECT row_number() OVER (ORDER BY c.parcel_id, c.issued, c.ckey), c.parcel_id, c.user_id,
       -- series letters by period of the certificate form, then a 6-digit number
       CASE WHEN c.issued < date '2009-12-10' THEN 'A'
            WHEN c.issued < date '2014-07-01' THEN 'B'
            WHEN c.issued < date '2019-12-01' THEN 'C'
            WHEN c.issued < date '2024-08-01' THEN 'D' ELSE 'Đ' END
           || pg_temp.pick(ARRAY['A','B','C','D','Đ','E','G','H','K','L','M','N','O','P',
                                 'Q','R','S','T','U','V','X','Y'], c.ckey, 56)
           || ' ' || lpad(pg_temp.ri(c.ckey, 57, 0, 999999)::text, 6, '0'),
       CASE WHEN c.issued < date '2014-07-01' THEN 'CH ' ELSE 'CS ' END
           || lpad(pg_temp.ri(c.ckey, 58, 1, 99999)::text, 5, '0'),
       c.issued,
       CASE WHEN c.issued >= date '2025-07-01' THEN
                CASE WHEN c.org_name IS NULL THEN 'UBND ' || c.ward_name
                     ELSE 'Sở Nông nghiệp và Môi trường tỉnh Lâm Đồng' END
            WHEN c.org_name IS NOT NULL OR c.issued >= date '2020-01-01'
                THEN 'Sở Tài nguyên và Môi trường tỉnh Bình Thuận'
            WHEN c.district_code = '597' THEN 'UBND huyện Hàm Thuận Bắc'
            WHEN c.issued < date '1999-08-25' THEN 'UBND thị xã Phan Thiết'
            ELSE 'UBND thành phố Phan Thiết' END,
       c.status
FROM _d_cert c;

-- @step planning_zones
CREATE TEMP TABLE _d_zfun (fn text, lu text, fmin integer, fmax integer,
                           dmin integer, dmax integer) ON COMMIT DROP;
INSERT INTO _d_zfun VALUES
    ('Đất ở hiện trạng chỉnh trang', 'ODT', 3, 6, 70, 90),
    ('Đất ở mới', 'ODT', 3, 5, 60, 80),
    ('Đất ở làng xóm hiện hữu', 'ONT', 2, 3, 40, 60),
    ('Đất hỗn hợp', 'TMD', 9, 25, 40, 60),
    ('Đất thương mại, dịch vụ', 'TMD', 5, 15, 40, 60),
    ('Đất du lịch', 'TMD', 3, 12, 25, 40),
    ('Đất cây xanh, công viên', 'DKV', 1, 1, 5, 5),
    ('Đất giáo dục', 'DGD', 2, 4, 30, 40),
    ('Đất y tế', 'DYT', 3, 7, 35, 40),
    ('Đất cơ quan, trụ sở', 'TSC', 3, 9, 35, 45),
    ('Đất văn hóa', 'DVH', 1, 3, 30, 40),
    ('Đất tôn giáo', 'TON', 1, 2, 30, 40),
    ('Đất tín ngưỡng', 'TIN', 1, 2, 30, 40),
    ('Đất chợ', 'DCH', 2, 3, 50, 60),
    ('Đất thể dục thể thao', 'DTT', 1, 2, 20, 30),
    ('Đất nghĩa trang', 'NTD', NULL, NULL, 5, 5),
    ('Đất công nghiệp', 'SKK', 1, 3, 55, 70),
    ('Đất nông nghiệp', 'CLN', NULL, NULL, 0, 5);

INSERT INTO planning_zone (id, zone_code, plan_name, approval_decision, approved_on,
                           zone_function, land_use, max_height_m, max_floors,
                           building_density_pct, land_use_coefficient, ward_code,
                           valid_from, valid_to, source_crs, updated_at, geom)
SELECT z.rank, 'PK' || lpad(m.ord::text, 2, '0') || '-'
           || lpad(row_number() OVER (PARTITION BY m.ord ORDER BY z.rank)::text, 3, '0'),
       'Quy hoạch phân khu tỷ lệ 1/2000 khu vực ' || m.name,
       'QĐ ' || pg_temp.ri(hashtext(m.code), 80, 120, 3980) || '/QĐ-UBND',
       date '2016-01-01' + pg_temp.ri(hashtext(m.code), 81, 0, 3400),
       f.fn, f.lu,
       round((fl.floors * 3.6 + 1.5)::numeric, 1), fl.floors, fl.density,
       round(fl.density / 100.0 * fl.floors, 2),
       w.code,
       date '2016-01-01' + pg_temp.ri(hashtext(m.code), 81, 0, 3400), NULL,
       9218, n.stamp, ST_Multi(ST_Transform(z.g, 4326))
FROM (
    SELECT b.*,
           CASE
               WHEN b.public_lu IS NOT NULL THEN (SELECT fn FROM _d_zfun
                                                  WHERE lu = b.public_lu)
               WHEN b.coastal THEN pg_temp.wpick(ARRAY['Đất du lịch',
                   'Đất ở hiện trạng chỉnh trang','Đất cây xanh, công viên'],
                   ARRAY[70,20,10]::double precision[], b.block_id, 82)
               WHEN b.class = 'core' THEN pg_temp.wpick(ARRAY[
                   'Đất ở hiện trạng chỉnh trang','Đất hỗn hợp','Đất thương mại, dịch vụ'],
                   ARRAY[60,25,15]::double precision[], b.block_id, 82)
               WHEN b.class = 'urban' THEN pg_temp.wpick(ARRAY[
                   'Đất ở hiện trạng chỉnh trang','Đất ở mới','Đất hỗn hợp',
                   'Đất cây xanh, công viên'],
                   ARRAY[45,30,15,10]::double precision[], b.block_id, 82)
               ELSE pg_temp.wpick(ARRAY['Đất ở mới','Đất ở làng xóm hiện hữu',
                   'Đất nông nghiệp','Đất cây xanh, công viên','Đất công nghiệp',
                   'Đất giáo dục'],
                   ARRAY[35,20,25,10,5,5]::double precision[], b.block_id, 82)
           END AS fn
    FROM _d_block b
    WHERE b.in_zone
) z
JOIN _d_zfun f ON f.fn = z.fn
JOIN _d_commune m ON m.code = z.commune
CROSS JOIN _d_n n
CROSS JOIN LATERAL (
    SELECT CASE WHEN f.fmin IS NOT NULL
                THEN pg_temp.ri(z.block_id, 83, f.fmin, f.fmax) END AS floors,
           pg_temp.ri(z.block_id, 84, f.dmin, f.dmax) AS density
) fl
LEFT JOIN LATERAL (SELECT wg.code FROM _d_ward_g wg
                   WHERE ST_Contains(wg.geom, ST_Transform(z.g, 4326))
                   ORDER BY wg.code LIMIT 1) w ON true
ORDER BY z.rank;

-- @step street_lights
-- poles on the pavements, 2 m outside the built-up blocks, evenly spaced along the
-- perimeters weighted by density (core 3, urban 2, peri-urban 1, rural 0.2), so exactly
-- n_lights poles whatever the scale
CREATE TEMP TABLE _d_light ON COMMIT DROP AS
WITH p AS (
    SELECT b.block_id, b.class, b.g, b.x0, b.y0,
           4 * (111 + 4.0) * CASE b.class WHEN 'core' THEN 3 WHEN 'urban' THEN 2
                                          WHEN 'peri' THEN 1 ELSE 0.2 END AS wlen
    FROM _d_block b WHERE b.class IS NOT NULL
), c AS (
    SELECT p.*, sum(wlen) OVER (ORDER BY block_id) - wlen AS c0,
           sum(wlen) OVER (ORDER BY block_id) AS c1
    FROM p
), sp AS (
    SELECT max(c1) / n.n_lights AS s FROM c, _d_n n GROUP BY n.n_lights
), pts AS (
    SELECT c.block_id, c.class, c.x0, c.y0, k,
           ST_LineInterpolatePoint(ST_ExteriorRing(ST_Expand(c.g, 2.0)),
               least(1.0, greatest(0.0, ((k + 0.5) * sp.s - c.c0) / (c.c1 - c.c0)))) AS g
    FROM c, sp,
         generate_series(ceil(c.c0 / sp.s - 0.5)::integer,
                         ceil(c.c1 / sp.s - 0.5)::integer - 1) k
)
SELECT pts.*, ST_Transform(pts.g, 4326) AS g4,
       row_number() OVER (ORDER BY ST_GeoHash(ST_Transform(pts.g, 4326), 12), k) AS hrank
FROM pts;

-- cabinets: every (n_lights / n_cabinets)-th pole along a space-filling (GeoHash)
-- order, 1 m into the block side of the pavement
CREATE TEMP TABLE _d_cab ON COMMIT DROP AS
SELECT c + 1 AS id, l.block_id,
       ST_SetSRID(ST_MakePoint(
           ST_X(l.g) + (l.x0 + 55.5 - ST_X(l.g))
               / greatest(1, sqrt((ST_X(l.g) - l.x0 - 55.5) ^ 2 + (ST_Y(l.g) - l.y0 - 55.5) ^ 2)),
           ST_Y(l.g) + (l.y0 + 55.5 - ST_Y(l.g))
               / greatest(1, sqrt((ST_X(l.g) - l.x0 - 55.5) ^ 2 + (ST_Y(l.g) - l.y0 - 55.5) ^ 2))),
           9218) AS g,
       pg_temp.ri(c + 1, 90, 2, 6) AS circuits,
       date '2008-01-01' + pg_temp.ri(c + 1, 91, 0, 6500) AS installed_on,
       pg_temp.wpick(ARRAY['on','fault','off'], ARRAY[92,5,3]::double precision[],
                     c + 1, 92) AS status
FROM _d_n n
CROSS JOIN LATERAL generate_series(0, least(n.n_cabinets, n.n_lights) - 1) c
JOIN _d_light l ON l.hrank = 1 + floor((c + 0.5) * n.n_lights
                                       / least(n.n_cabinets, n.n_lights))::integer;
CREATE INDEX ON _d_cab USING gist (g);
ANALYZE _d_cab;

INSERT INTO lighting_cabinet (id, cabinet_code, address, control_mode, circuits, status,
                              installed_on, ward_code, source_crs, updated_at, geom)
SELECT c.id, 'TCS-' || lpad(c.id::text, 3, '0'),
       s.name || ', ' || wg.name,
       pg_temp.wpick(ARRAY['timer','astronomical','remote'],
                     ARRAY[30,30,40]::double precision[], c.id, 93),
       c.circuits, c.status, c.installed_on, wg.code, 9218, n.stamp,
       ST_Transform(c.g, 4326)
FROM _d_cab c
CROSS JOIN _d_n n
JOIN _d_block_street s ON s.block_id = c.block_id
LEFT JOIN LATERAL (SELECT code, name FROM _d_ward_g w
                   WHERE ST_Intersects(w.geom, ST_Transform(c.g, 4326))
                   ORDER BY code LIMIT 1) wg ON true
ORDER BY c.id;

-- each pole on its nearest cabinet; the cabinet's circuits split the compass round it
CREATE TEMP TABLE _d_light2 ON COMMIT DROP AS
SELECT l.*, cab.id AS cabinet_id, cab.status AS cab_status,
       cab.installed_on AS cab_installed,
       1 + least(cab.circuits - 1, floor(coalesce(ST_Azimuth(cab.g, l.g), 0)
                                         / (2 * pi() / cab.circuits))::integer)
           AS circuit_no,
       coalesce(ST_Azimuth(cab.g, l.g), 0) AS az
FROM _d_light l
CROSS JOIN LATERAL (SELECT c.id, c.g, c.circuits, c.status, c.installed_on
                    FROM _d_cab c ORDER BY c.g <-> l.g, c.id LIMIT 1) cab;

INSERT INTO street_light (id, pole_code, lamp_type, power_w, pole_height_m, cabinet_id,
                          circuit_no, status, installed_on, ward_code, source_crs,
                          updated_at, geom)
SELECT q.id,
       'TCS-' || lpad(q.cabinet_id::text, 3, '0') || '/L' || q.circuit_no || '-'
           || lpad(q.seq::text, 2, '0'),
       q.lamp,
       CASE q.lamp
           WHEN 'LED' THEN (ARRAY[60,90,120,150])[pg_temp.ri(q.id, 101, 1, 4)]
           WHEN 'HPS' THEN (ARRAY[150,250])[pg_temp.ri(q.id, 101, 1, 2)]
           ELSE (ARRAY[250,400])[pg_temp.ri(q.id, 101, 1, 2)] END,
       CASE WHEN q.class IN ('core', 'urban') THEN 8 + pg_temp.ri(q.id, 102, 0, 4)
            ELSE 6 + pg_temp.ri(q.id, 102, 0, 2) END,
       q.cabinet_id, q.circuit_no,
       CASE WHEN q.cab_status = 'fault' THEN 'off'
            ELSE pg_temp.wpick(ARRAY['on','off','fault','maintenance'],
                               ARRAY[92,3,4,1]::double precision[], q.id, 103) END,
       q.installed, wg.code, 9218, n.stamp, q.g4
FROM (
    SELECT l.*, row_number() OVER (ORDER BY l.cabinet_id, l.circuit_no, l.az, l.k) AS id,
           row_number() OVER (PARTITION BY l.cabinet_id, l.circuit_no
                              ORDER BY l.az, l.k) AS seq,
           i.installed,
           CASE WHEN i.installed >= date '2016-01-01'
                     OR pg_temp.u(l.k, 104) < 0.4 THEN 'LED'
                ELSE pg_temp.wpick(ARRAY['HPS','MH'], ARRAY[80,20]::double precision[],
                                   l.k, 105) END AS lamp
    FROM _d_light2 l
    CROSS JOIN LATERAL (SELECT least(date '2026-10-31',
                               l.cab_installed + pg_temp.ri(l.k, 106, 0, 3000))
                               AS installed) i
) q
CROSS JOIN _d_n n
LEFT JOIN LATERAL (SELECT code FROM _d_ward_g w WHERE ST_Intersects(w.geom, q.g4)
                   ORDER BY code LIMIT 1) wg ON true
ORDER BY q.id;

-- @step trees
-- street trees 4 m outside the blocks (evenly spaced, weighted like the poles), and
-- 15 % in parks and the grounds of schools, offices, clinics and pagodas
CREATE TEMP TABLE _d_tree ON COMMIT DROP AS
WITH parks AS (
    SELECT b.block_id, b.g, b.public_lu,
           row_number() OVER (ORDER BY b.block_id) - 1 AS j,
           count(*) OVER () AS np
    FROM _d_block b
    WHERE b.public_lu IN ('DKV','DGD','TSC','DYT','TON','DVH')
), split AS (
    SELECT n.n_trees,
           CASE WHEN EXISTS (SELECT 1 FROM parks) THEN round(0.15 * n.n_trees)::integer
                ELSE 0 END AS n_park
    FROM _d_n n
), p AS (
    SELECT b.block_id, b.class, b.public_lu, b.g,
           4 * (111 + 8.0) * CASE b.class WHEN 'core' THEN 2 WHEN 'urban' THEN 2
                                          WHEN 'peri' THEN 1.5 ELSE 0.3 END AS wlen
    FROM _d_block b WHERE b.class IS NOT NULL
), c AS (
    SELECT p.*, sum(wlen) OVER (ORDER BY block_id) - wlen AS c0,
           sum(wlen) OVER (ORDER BY block_id) AS c1
    FROM p
), sp AS (
    SELECT max(c1) / (split.n_trees - split.n_park) AS s FROM c, split
    GROUP BY split.n_trees, split.n_park
)
SELECT 1 AS kind, c.block_id, k AS seq, c.public_lu,
       ST_LineInterpolatePoint(ST_ExteriorRing(ST_Expand(c.g, 4.0)),
           least(1.0, greatest(0.0, ((k + 0.5) * sp.s - c.c0) / (c.c1 - c.c0)))) AS g
FROM c, sp,
     generate_series(ceil(c.c0 / sp.s - 0.5)::integer,
                     ceil(c.c1 / sp.s - 0.5)::integer - 1) k
UNION ALL
SELECT 2, parks.block_id, d.path[1], parks.public_lu, d.geom
FROM parks
CROSS JOIN split
CROSS JOIN LATERAL (SELECT split.n_park / parks.np
                           + CASE WHEN parks.j < split.n_park % parks.np THEN 1 ELSE 0 END
                           AS cnt) t
CROSS JOIN LATERAL ST_Dump(ST_GeneratePoints(ST_Buffer(parks.g, -3), t.cnt::integer,
                           1 + floor(pg_temp.u(parks.block_id, 110) * 2e9)::integer)) d
WHERE t.cnt > 0;

CREATE TEMP TABLE _d_species (vi text, sci text, w double precision,
                              hmax double precision, rare boolean) ON COMMIT DROP;
INSERT INTO _d_species VALUES
    ('Sao đen', 'Hopea odorata', 14, 30, false),
    ('Dầu rái', 'Dipterocarpus alatus', 8, 30, false),
    ('Bàng', 'Terminalia catappa', 12, 15, false),
    ('Phượng vĩ', 'Delonix regia', 10, 12, false),
    ('Me tây', 'Samanea saman', 5, 20, false),
    ('Lim xẹt', 'Peltophorum pterocarpum', 6, 15, false),
    ('Muồng hoàng yến', 'Cassia fistula', 6, 10, false),
    ('Bằng lăng nước', 'Lagerstroemia speciosa', 8, 12, false),
    ('Dừa', 'Cocos nucifera', 10, 18, false),
    ('Xà cừ', 'Khaya senegalensis', 5, 25, false),
    ('Sứ', 'Plumeria rubra', 4, 6, false),
    ('Me', 'Tamarindus indica', 4, 15, false),
    ('Phi lao', 'Casuarina equisetifolia', 4, 18, false),
    ('Lộc vừng', 'Barringtonia acutangula', 2, 8, false),
    ('Giáng hương', 'Pterocarpus macrocarpus', 2, 20, true);

INSERT INTO tree (id, tree_code, species_vi, species_scientific, category, height_m,
                  trunk_circumference_cm, canopy_diameter_m, health, conservation,
                  planted_on, last_maintained_on, ward_code, source_crs, updated_at, geom)
SELECT t.id, 'CX-' || lpad(t.id::text, 5, '0'), sp.vi, sp.sci,
       CASE WHEN t.kind = 2 AND t.public_lu <> 'DKV' THEN 'restricted'
            WHEN t.public_lu = 'SKK' THEN 'isolation' ELSE 'public' END,
       a.height, round(pi() * a.dbh)::integer, round((a.height * 0.55)::numeric, 1),
       pg_temp.wpick(ARRAY['good','fair','poor','dangerous','dead'],
                     ARRAY[72,18,6,3,1]::double precision[], t.id, 121),
       CASE WHEN sp.rare THEN 'rare' WHEN a.age >= 50 THEN 'ancient' END,
       a.planted, date '2026-11-20' - pg_temp.ri(t.id, 122, 0, 700),
       wg.code, 9218, n.stamp, t.g4
FROM (
    SELECT _d_tree.*, ST_Transform(g, 4326) AS g4,
           row_number() OVER (ORDER BY kind, block_id, seq) AS id
    FROM _d_tree
) t
CROSS JOIN _d_n n
CROSS JOIN LATERAL (
    SELECT s.* FROM _d_species s
    WHERE s.vi = pg_temp.wpick((SELECT array_agg(vi ORDER BY vi) FROM _d_species),
                               (SELECT array_agg(w ORDER BY vi) FROM _d_species),
                               t.id, 120)
) sp
CROSS JOIN LATERAL (
    SELECT make_date(2025 - floor(55 * pg_temp.u(t.id, 123) ^ 2.5)::integer,
                     pg_temp.ri(t.id, 124, 1, 12), pg_temp.ri(t.id, 125, 1, 28)) AS planted
) pl
CROSS JOIN LATERAL (
    SELECT pl.planted, 2026 - extract(year FROM pl.planted)::integer AS age,
           round((sp.hmax * (1 - exp(-(2026 - extract(year FROM pl.planted)) / 12.0))
                  * (0.8 + 0.3 * pg_temp.u(t.id, 126)) + 1.0)::numeric, 1) AS height,
           least(180, 4 + 1.1 * (2026 - extract(year FROM pl.planted))
                      * (0.7 + 0.6 * pg_temp.u(t.id, 127))) AS dbh
) a
LEFT JOIN LATERAL (SELECT code FROM _d_ward_g w WHERE ST_Intersects(w.geom, t.g4)
                   ORDER BY code LIMIT 1) wg ON true
ORDER BY t.id;

-- @step env_stations
-- six automatic air stations; f: traffic factor, so2: industry factor, coast: sea
-- breeze (cleaner air, a little more ozone)
CREATE TEMP TABLE _d_station (id integer, code text, name text, x double precision,
                              y double precision, f double precision,
                              so2 double precision, coast double precision,
                              installed date) ON COMMIT DROP;
INSERT INTO _d_station VALUES
    (1, 'QT-PT01', 'Trạm quan trắc không khí tự động Trung tâm Phan Thiết',
        455900, 1208650, 1.20, 1.0, 0.0, date '2019-06-18'),
    (2, 'QT-PT02', 'Trạm quan trắc không khí tự động Phú Thủy',
        458200, 1209500, 1.00, 1.0, 0.3, date '2020-03-02'),
    (3, 'QT-PT03', 'Trạm quan trắc không khí tự động KCN Phan Thiết (Phong Nẫm)',
        454300, 1210900, 1.10, 2.5, 0.0, date '2019-11-11'),
    (4, 'QT-PT04', 'Trạm quan trắc không khí tự động Hàm Tiến',
        467000, 1210900, 0.80, 0.8, 0.8, date '2021-05-20'),
    (5, 'QT-PT05', 'Trạm quan trắc không khí tự động Mũi Né',
        477400, 1211800, 0.70, 0.7, 1.0, date '2021-05-20'),
    (6, 'QT-PT06', 'Trạm quan trắc không khí tự động Tiến Thành',
        448500, 1199800, 0.75, 0.8, 0.8, date '2022-08-09');

INSERT INTO env_station (id, station_code, name, medium, automatic, operator,
                         installed_on, ward_code, source_crs, updated_at, geom)
SELECT s.id, s.code, s.name, 'air', true,
       'Trung tâm Quan trắc Tài nguyên và Môi trường tỉnh Lâm Đồng', s.installed,
       wg.code, 9218, n.stamp, t.g4
FROM _d_station s
CROSS JOIN _d_n n
CROSS JOIN LATERAL (SELECT ST_Transform(ST_SetSRID(ST_MakePoint(s.x, s.y), 9218), 4326)
                    AS g4) t
LEFT JOIN LATERAL (SELECT code FROM _d_ward_g w WHERE ST_Intersects(w.geom, t.g4)
                   ORDER BY code LIMIT 1) wg ON true
ORDER BY s.id;

-- hourly means labelled by the end of the hour (VN_AQI convention), up to
-- 2026-11-23 00:00 +07; a diurnal traffic cycle (peaks 07-08 h and 18-19 h), an
-- afternoon ozone peak, a dry-season (Dec-Apr) high, day-to-day weather episodes and
-- hourly noise; one 6-hour maintenance gap per station; rare suspect spikes
CREATE TEMP TABLE _d_hour ON COMMIT DROP AS
SELECT i, ts AS observed_at,
       extract(hour FROM (ts - interval '30 minutes') AT TIME ZONE 'Asia/Ho_Chi_Minh')
           + 0.5 AS h,
       extract(doy FROM ts AT TIME ZONE 'Asia/Ho_Chi_Minh') AS doy,
       ((ts - interval '1 minute') AT TIME ZONE 'Asia/Ho_Chi_Minh')::date AS day
FROM _d_n n
CROSS JOIN LATERAL generate_series(0, n.n_hours - 1) i
CROSS JOIN LATERAL (SELECT timestamptz '2026-11-23 00:00+07'
                           - (n.n_hours - 1 - i) * interval '1 hour' AS ts) t;

-- per station and hour: the traffic cycle, season, weather of the day and PM2.5
CREATE TEMP TABLE _d_obs ON COMMIT DROP AS
SELECT s.id AS station_id, s.f, s.so2 AS fso2, s.coast, hr.i, hr.observed_at, hr.h,
       s.id * 100000 + hr.i AS okey, c.traffic, c.season, c.dayf,
       20 * s.f * (1 - 0.25 * s.coast) * c.season * (0.6 + 0.4 * c.traffic) * c.dayf
           * exp(0.18 * pg_temp.nrm(s.id * 100000 + hr.i, 142)) AS pm25
FROM _d_station s
CROSS JOIN _d_hour hr
CROSS JOIN _d_n n
CROSS JOIN LATERAL (
    SELECT 0.75 + 0.5 * exp(-((hr.h - 7.5) ^ 2) / 2.5)
                + 0.6 * exp(-((hr.h - 18.5) ^ 2) / 3.5)
                - 0.25 * exp(-((hr.h - 3.5) ^ 2) / 5) AS traffic,
           1 + 0.25 * cos(2 * pi() * (hr.doy - 20) / 365.0) AS season,
           exp(0.28 * pg_temp.nrm(s.id * 100000 + (hr.day - date '2020-01-01'), 141))
               AS dayf
) c
-- one 6-hour maintenance gap per station
WHERE NOT (hr.day = date '2026-11-22' - floor(pg_temp.u(s.id, 149)
                                              * (n.n_hours / 24.0))::integer
           AND hr.h BETWEEN 8 AND 14);

-- @step observations
INSERT INTO env_observation (id, station_id, parameter, value, unit, averaging,
                             observed_at, qa_flag)
SELECT row_number() OVER (ORDER BY o.station_id, o.observed_at, v.ord), o.station_id,
       v.param,
       CASE WHEN v.spike THEN round((v.val * 2.5)::numeric, 1)::double precision
            ELSE v.val END,
       p.unit, '1h', o.observed_at,
       CASE WHEN v.spike THEN 'suspect' ELSE 'valid' END
FROM _d_obs o
CROSS JOIN LATERAL (
    SELECT z.ord, z.param, z.val,
           z.param <> 'noise' AND pg_temp.u(o.okey * 8 + z.ord, 140) < 0.003 AS spike
    FROM (VALUES
        (1, 'pm25', round(o.pm25::numeric, 1)::double precision),
        (2, 'pm10', round((o.pm25 * (1.6 + 0.3 * pg_temp.u(o.okey, 143)))::numeric, 1)
                    ::double precision),
        (3, 'no2', round((18 * o.f * o.traffic * sqrt(o.season) * o.dayf ^ 0.7
                          * exp(0.2 * pg_temp.nrm(o.okey, 144)))::numeric, 1)
                   ::double precision),
        (4, 'o3', round(((30 + 55 * exp(-((o.h - 14) ^ 2) / 10) * (1.2 - 0.2 * o.season))
                         * (1 + 0.15 * o.coast) * o.dayf ^ -0.3
                         * exp(0.15 * pg_temp.nrm(o.okey, 145)))::numeric, 1)
                  ::double precision),
        (5, 'co', round(600 * o.f * o.traffic * o.dayf
                        * exp(0.2 * pg_temp.nrm(o.okey, 146)))::double precision),
        (6, 'so2', round((8 * o.fso2 * (0.8 + 0.2 * o.traffic) * o.dayf
                          * exp(0.25 * pg_temp.nrm(o.okey, 147)))::numeric, 1)
                   ::double precision),
        (7, 'noise', round((46 + 10 * o.traffic + 6 * (o.f - 1)
                            + 1.5 * pg_temp.nrm(o.okey, 148))::numeric, 1)
                     ::double precision)
    ) z(ord, param, val)
) v
JOIN env_parameter p ON p.code = v.param;

-- @step cameras
-- at street corners (3 m diagonally off a block corner) of core and urban blocks
INSERT INTO camera (id, camera_code, camera_type, bearing_deg, fov_deg, range_m, status,
                    stream_url, installed_on, ward_code, source_crs, updated_at, geom)
SELECT q.id, 'CAM-' || lpad(q.id::text, 4, '0'), q.ctype,
       CASE WHEN q.ctype = 'PTZ' THEN pg_temp.ri(q.ckey, 151, 0, 359)
            ELSE (q.corner_bearing + pg_temp.ri(q.ckey, 151, -20, 20) + 360) % 360 END,
       CASE WHEN q.ctype = 'PTZ' THEN 60 ELSE pg_temp.ri(q.ckey, 152, 50, 95) END,
       CASE WHEN q.ctype = 'PTZ' THEN pg_temp.ri(q.ckey, 153, 150, 300)
            ELSE pg_temp.ri(q.ckey, 153, 40, 120) END,
       pg_temp.wpick(ARRAY['online','offline','maintenance'],
                     ARRAY[90,6,4]::double precision[], q.ckey, 154),
       'rtsp://10.68.' || (q.id / 250) || '.' || (q.id % 250 + 1)
           || ':554/Streaming/Channels/101',
       date '2019-01-01' + pg_temp.ri(q.ckey, 155, 0, 2850),
       wg.code, 9218, n.stamp, q.g4
FROM (
    SELECT c.*, row_number() OVER (ORDER BY c.pri, c.ckey) AS id,
           CASE WHEN pg_temp.u(c.ckey, 150) < 0.35 THEN 'PTZ' ELSE 'fixed' END AS ctype,
           ST_Transform(ST_SetSRID(ST_MakePoint(c.x, c.y), 9218), 4326) AS g4
    FROM (
        SELECT b.block_id * 4 + k.i AS ckey, k.bearing AS corner_bearing,
               b.x0 + k.dx AS x, b.y0 + k.dy AS y,
               pg_temp.u(b.block_id * 4 + k.i, 156)
                   + CASE WHEN b.class IN ('core', 'urban') THEN 0 ELSE 1 END AS pri
        FROM _d_block b
        CROSS JOIN LATERAL (VALUES (0, -3.0, -3.0, 225), (1, 114.0, -3.0, 135),
                                   (2, 114.0, 114.0, 45), (3, -3.0, 114.0, 315))
            AS k(i, dx, dy, bearing)
        WHERE b.class IS NOT NULL
    ) c
    ORDER BY c.pri, c.ckey
    LIMIT (SELECT n_cameras FROM _d_n)
) q
CROSS JOIN _d_n n
LEFT JOIN LATERAL (SELECT code FROM _d_ward_g w WHERE ST_Intersects(w.geom, q.g4)
                   ORDER BY code LIMIT 1) wg ON true
ORDER BY q.id;

-- @step field_reports
-- citizens' reports over two years, on the pavements of the built-up blocks (denser
-- blocks get more), drainage reports peaking in the rainy season (May-October)
CREATE TEMP TABLE _d_rperim ON COMMIT DROP AS
WITH p AS (
    SELECT b.block_id, b.g,
           CASE b.class WHEN 'core' THEN 4 WHEN 'urban' THEN 2.5
                        WHEN 'peri' THEN 1 ELSE 0.3 END AS w
    FROM _d_block b WHERE b.class IS NOT NULL
)
SELECT block_id, g, sum(w) OVER (ORDER BY block_id) - w AS c0,
       sum(w) OVER (ORDER BY block_id) AS c1
FROM p;
CREATE INDEX ON _d_rperim (c1);
ANALYZE _d_rperim;

CREATE TEMP TABLE _d_report ON COMMIT DROP AS
WITH draws AS (
    SELECT i,
           ((date '2024-11-23' + pg_temp.ri(i, 160, 0, 729))::timestamp
            + pg_temp.ri(i, 161, 360, 1319) * interval '1 minute')
               AT TIME ZONE 'Asia/Ho_Chi_Minh' AS received_at,
           pg_temp.u(i, 162) * (SELECT max(c1) FROM _d_rperim) AS target
    FROM _d_n n, generate_series(1, n.n_reports) i
)
SELECT d.i, d.received_at, r.block_id,
       ST_Transform(ST_LineInterpolatePoint(ST_ExteriorRing(ST_Expand(r.g, 3.0)),
           least(1.0, greatest(0.0, (d.target - r.c0) / (r.c1 - r.c0)))), 4326) AS g4,
       CASE WHEN extract(month FROM d.received_at AT TIME ZONE 'Asia/Ho_Chi_Minh')
                 BETWEEN 5 AND 10
            THEN pg_temp.wpick(ARRAY['lighting','trees','roads','drainage','waste',
                     'construction','land','environment','public_order','other'],
                     ARRAY[15,12,13,20,14,7,4,5,7,3]::double precision[], d.i, 163)
            ELSE pg_temp.wpick(ARRAY['lighting','trees','roads','drainage','waste',
                     'construction','land','environment','public_order','other'],
                     ARRAY[19,8,14,5,17,9,6,7,10,5]::double precision[], d.i, 163)
       END AS category
FROM draws d
CROSS JOIN LATERAL (SELECT * FROM _d_rperim p WHERE p.c1 > d.target
                    ORDER BY p.c1 LIMIT 1) r;

INSERT INTO field_report (id, report_code, category, description, status, received_at,
                          deadline_at, resolved_at, assigned_unit, ward_code,
                          source_crs, updated_at, geom)
SELECT q.id,
       'PA-' || q.yr || '-' || lpad(row_number() OVER (PARTITION BY q.yr
                                                       ORDER BY q.id)::text, 5, '0'),
       q.category,
       replace(pg_temp.pick(CASE q.category
           WHEN 'lighting' THEN ARRAY['Đèn đường không sáng trên {s}',
               'Cụm đèn chiếu sáng {s} bật sáng cả ban ngày',
               'Cột đèn nghiêng, có nguy cơ đổ trên {s}',
               'Tủ điện chiếu sáng trên {s} bị mở cửa, hở điện']
           WHEN 'trees' THEN ARRAY['Cây xanh gãy nhánh trên {s}',
               'Cây nghiêng có nguy cơ ngã đổ trên {s}',
               'Cây xanh che khuất đèn đường và biển báo trên {s}',
               'Cây chết khô chưa được thay thế trên vỉa hè {s}']
           WHEN 'roads' THEN ARRAY['Ổ gà lớn trên mặt {s}',
               'Vỉa hè bị sụt lún trên {s}',
               'Nắp hố ga bị vỡ trên {s}',
               'Biển báo giao thông bị mất trên {s}']
           WHEN 'drainage' THEN ARRAY['Ngập nước sau mưa trên {s}',
               'Cống thoát nước bị tắc trên {s}',
               'Nước thải tràn ra mặt {s}']
           WHEN 'waste' THEN ARRAY['Rác thải tập kết không đúng nơi quy định trên {s}',
               'Xe thu gom rác không đến đúng giờ tại {s}',
               'Đổ trộm xà bần trên {s}']
           WHEN 'construction' THEN ARRAY['Công trình xây dựng không phép trên {s}',
               'Vật liệu xây dựng lấn chiếm lòng {s}',
               'Công trình xây dựng gây bụi, không che chắn trên {s}']
           WHEN 'land' THEN ARRAY['Lấn chiếm đất công gần {s}',
               'Tranh chấp ranh giới thửa đất trên {s}',
               'San lấp mặt bằng trái phép gần {s}']
           WHEN 'environment' THEN ARRAY['Khói bụi, mùi hôi từ cơ sở sản xuất gần {s}',
               'Tiếng ồn lớn vào ban đêm trên {s}',
               'Đốt rác gây ô nhiễm không khí trên {s}']
           WHEN 'public_order' THEN ARRAY['Lấn chiếm vỉa hè để kinh doanh trên {s}',
               'Đậu đỗ xe trái phép trên vỉa hè {s}',
               'Quảng cáo rao vặt dán sai quy định trên {s}']
           ELSE ARRAY['Đề nghị lắp đặt thêm ghế đá tại {s}',
               'Phản ánh khác tại {s}'] END, q.id, 164), '{s}',
               CASE WHEN q.street LIKE 'Đường %' THEN q.street
                    ELSE 'đường ' || q.street END),
       q.status, q.received_at, q.received_at + q.handling_days * interval '1 day',
       q.resolved_at,
       CASE WHEN q.status = 'received' THEN NULL
            ELSE CASE q.category
                WHEN 'lighting' THEN 'Đội Quản lý chiếu sáng công cộng'
                WHEN 'trees' THEN 'Đội Công viên – Cây xanh'
                WHEN 'drainage' THEN 'Đội Quản lý thoát nước đô thị'
                WHEN 'waste' THEN 'Đội Vệ sinh môi trường'
                WHEN 'land' THEN 'Văn phòng Đăng ký đất đai – Chi nhánh Phan Thiết'
                WHEN 'public_order' THEN 'Công an ' || q.ward_name
                WHEN 'other' THEN 'UBND ' || q.ward_name
                ELSE 'Phòng Kinh tế, Hạ tầng và Đô thị ' || q.ward_name END
       END,
       q.ward_code, 4326, coalesce(q.resolved_at, q.received_at), q.g4
FROM (
    SELECT r.*, row_number() OVER (ORDER BY r.received_at, r.i) AS id,
           extract(year FROM r.received_at AT TIME ZONE 'Asia/Ho_Chi_Minh')::integer
               AS yr,
           rc.handling_days, s.name AS street, wg.code AS ward_code,
           wg.name AS ward_name, st.status,
           CASE WHEN st.status IN ('resolved', 'rejected')
                THEN least(n.now_ts - interval '5 minutes',
                           r.received_at + rc.handling_days
                               * (0.1 + 1.2 * pg_temp.u(r.i, 166)) * interval '1 day')
           END AS resolved_at
    FROM _d_report r
    CROSS JOIN _d_n n
    JOIN report_category rc ON rc.code = r.category
    JOIN _d_block_street s ON s.block_id = r.block_id
    LEFT JOIN LATERAL (SELECT code, name FROM _d_ward_g w WHERE ST_Intersects(w.geom, r.g4)
                       ORDER BY code LIMIT 1) wg ON true
    CROSS JOIN LATERAL (
        SELECT CASE
            WHEN n.now_ts - r.received_at < interval '1 day' THEN
                pg_temp.wpick(ARRAY['received','assigned'],
                              ARRAY[60,40]::double precision[], r.i, 165)
            WHEN n.now_ts - r.received_at < 2 * rc.handling_days * interval '1 day' THEN
                pg_temp.wpick(ARRAY['received','assigned','in_progress','resolved',
                                    'rejected'],
                              ARRAY[10,25,30,30,5]::double precision[], r.i, 165)
            ELSE pg_temp.wpick(ARRAY['resolved','rejected','in_progress','assigned'],
                               ARRAY[86,8,4,2]::double precision[], r.i, 165)
        END AS status
    ) st
) q
ORDER BY q.id;

-- the reporters' contacts (personal data; fake names and numbers)
INSERT INTO field_report_contact (report_id, reporter_name, phone, email)
SELECT r.id, c.name, pg_temp.phone(r.id, 171),
       CASE WHEN pg_temp.u(r.id, 172) < 0.25
            THEN pg_temp.slug(c.name) || pg_temp.ri(r.id, 173, 1, 99) || '@example.com'
       END
FROM field_report r
CROSS JOIN LATERAL (SELECT pg_temp.person(r.id, 170, pg_temp.u(r.id, 174) < 0.5) AS name) c
ORDER BY r.id;

-- @step pois
CREATE TEMP TABLE _d_poi ON COMMIT DROP AS
-- 1. public lots: schools, clinics, offices, parks, places of worship, markets
SELECT 1 AS grp, pu.parcel_id AS pkey, pu.name, NULL::text AS name_en,
       CASE pu.land_use WHEN 'DGD' THEN 'education' WHEN 'DYT' THEN 'health'
            WHEN 'TSC' THEN 'public_service' WHEN 'DVH' THEN 'public_service'
            WHEN 'DKV' THEN 'tourism' WHEN 'TON' THEN 'worship' WHEN 'TIN' THEN 'worship'
            WHEN 'DCH' THEN 'commerce' ELSE 'other' END AS category,
       CASE pu.land_use
            WHEN 'DGD' THEN CASE WHEN pu.name LIKE 'Trường Mầm non%' THEN 'kindergarten'
                                 ELSE 'school' END
            WHEN 'DYT' THEN 'clinic'
            WHEN 'TSC' THEN CASE WHEN pu.name LIKE 'Trụ sở Công an%' THEN 'police'
                                 WHEN pu.name LIKE 'Bưu điện%' THEN 'post_office'
                                 ELSE 'townhall' END
            WHEN 'DVH' THEN 'community_centre' WHEN 'DKV' THEN 'park'
            WHEN 'TON' THEN 'place_of_worship' WHEN 'TIN' THEN 'place_of_worship'
            WHEN 'DCH' THEN 'marketplace' ELSE 'sports_centre' END AS subcategory,
       pu.address,
       CASE WHEN pu.land_use IN ('TSC', 'DYT')
            THEN 'Mo-Fr 07:00-11:30,13:30-17:00' END AS opening_hours,
       9218 AS source_crs, ST_PointOnSurface(p.geom) AS g4
FROM _d_public pu
JOIN land_parcel p ON p.id = pu.parcel_id
WHERE pu.land_use NOT IN ('SKK', 'NTD')
UNION ALL
-- 2. each 2025 ward's offices, at the old unit whose code the ward took over
SELECT 2, k.i * 100 + w.ord, k.prefix || w.name, NULL, k.category, k.sub,
       w.name || ', tỉnh Lâm Đồng', k.hours, 9218,
       ST_Transform(ST_SetSRID(ST_MakePoint(m.x + k.dx, m.y + k.dy), 9218), 4326)
FROM _d_ward w
JOIN _d_commune m ON m.code = w.code
CROSS JOIN (VALUES
    (1, 'UBND ', 'public_service', 'townhall', 'Mo-Fr 07:00-11:30,13:30-17:00', 0, 0),
    (2, 'Trung tâm Phục vụ hành chính công ', 'public_service', 'townhall',
        'Mo-Fr 07:00-11:30,13:30-17:00; Sa 07:00-11:30', 12, 0),
    (3, 'Công an ', 'public_service', 'police', '24/7', 0, 12),
    (4, 'Trạm Y tế ', 'health', 'clinic', 'Mo-Su 07:00-17:00', -12, 0)
) k(i, prefix, category, sub, hours, dx, dy)
UNION ALL
-- 3. landmarks (approximate positions)
SELECT 3, l.i, l.name, l.name_en, l.category, l.sub, NULL, NULL, 4326,
       ST_SetSRID(ST_MakePoint(l.lon, l.lat), 4326)
FROM (VALUES
    (1, 'Tháp nước Phan Thiết', 'Phan Thiết Water Tower', 'tourism', 'attraction',
        108.1006, 10.9299),
    (2, 'Di tích Trường Dục Thanh', 'Dục Thanh School relic', 'tourism', 'museum',
        108.0991, 10.9317),
    (3, 'Tháp Chàm Pô Sah Inư', 'Po Sah Inu Cham towers', 'tourism', 'attraction',
        108.1545, 10.9365),
    (4, 'Vạn Thủy Tú', 'Vạn Thủy Tú whale temple', 'worship', 'place_of_worship',
        108.1010, 10.9265),
    (5, 'Đồi Cát Bay Mũi Né', 'Mũi Né red sand dunes', 'tourism', 'viewpoint',
        108.3030, 10.9505),
    (6, 'Suối Tiên (Suối Hồng)', 'Fairy Stream', 'tourism', 'attraction',
        108.2845, 10.9440)
) l(i, name, name_en, category, sub, lon, lat);
DELETE FROM _d_poi p
WHERE NOT EXISTS (SELECT 1 FROM _d_ward_g w WHERE ST_Intersects(w.geom, p.g4));

-- 4. shops, restaurants, cafés and hotels on commercial lots, up to n_pois in all
INSERT INTO _d_poi
SELECT 4, q.id, q.kind || q.brand, NULL,
       CASE q.kind WHEN 'Khách sạn ' THEN 'tourism' WHEN 'Resort ' THEN 'tourism'
                   WHEN 'Nhà thuốc ' THEN 'health' ELSE 'commerce' END,
       CASE q.kind WHEN 'Nhà hàng ' THEN 'restaurant' WHEN 'Quán ăn ' THEN 'fast_food'
                   WHEN 'Quán cà phê ' THEN 'cafe' WHEN 'Khách sạn ' THEN 'hotel'
                   WHEN 'Resort ' THEN 'resort' WHEN 'Nhà thuốc ' THEN 'pharmacy'
                   ELSE 'convenience' END,
       q.address,
       CASE q.kind WHEN 'Quán cà phê ' THEN 'Mo-Su 06:00-22:00'
                   WHEN 'Nhà hàng ' THEN 'Mo-Su 10:00-22:00'
                   WHEN 'Nhà thuốc ' THEN 'Mo-Su 07:00-21:30' END,
       9218, ST_PointOnSurface(q.geom)
FROM (
    SELECT p.id, p.address, p.geom,
           CASE WHEN p.ward_code = '22918'
                THEN pg_temp.wpick(ARRAY['Resort ','Khách sạn ','Nhà hàng ','Quán cà phê '],
                                   ARRAY[35,30,20,15]::double precision[], p.id, 180)
                ELSE pg_temp.wpick(ARRAY['Nhà hàng ','Quán ăn ','Quán cà phê ',
                                         'Cửa hàng tạp hóa ','Nhà thuốc ','Khách sạn '],
                                   ARRAY[20,20,25,15,10,10]::double precision[], p.id, 180)
           END AS kind,
           pg_temp.pick(ARRAY['Biển Xanh','Hải Âu','Thanh Long','Cát Vàng','Hoàng Gia',
                              'Sao Biển','Ngọc Lan','Bình Minh','Hương Biển','Gió Biển',
                              'Đồi Dương','Hải Đăng','Phương Nam','Mũi Né','Hàm Tiến',
                              'Phú Hài','Ngọc Trai','Trăng Xanh'], p.id, 181)
               || ' ' || pg_temp.ri(p.id, 182, 1, 99) AS brand
    FROM land_parcel p
    WHERE p.land_use = 'TMD'
    ORDER BY pg_temp.u(p.id, 183), p.id
    LIMIT greatest(0, (SELECT n_pois FROM _d_n) - (SELECT count(*) FROM _d_poi))
) q;

INSERT INTO poi (id, name, name_en, category, subcategory, address, opening_hours,
                 osm_id, source, ward_code, source_crs, updated_at, geom)
SELECT row_number() OVER (ORDER BY p.grp, p.pkey), p.name, p.name_en, p.category,
       p.subcategory, p.address, p.opening_hours, NULL,
       CASE WHEN p.grp = 3 THEN 'dothi demo (landmark, approximate position)'
            ELSE 'dothi demo (synthetic)' END,
       wg.code, p.source_crs, n.stamp, p.g4
FROM _d_poi p
CROSS JOIN _d_n n
LEFT JOIN LATERAL (SELECT code FROM _d_ward_g w WHERE ST_Intersects(w.geom, p.g4)
                   ORDER BY code LIMIT 1) wg ON true
ORDER BY p.grp, p.pkey;

-- @step land_dossiers
-- land dossiers over the 18 months to "today", received on working days, on parcels
-- drawn at random; ~7 % settled late (about half of those with an apology letter
-- within a few working days of the due date), the recent ones still open; ward and
-- due date are set by the table's trigger (migration 0018) as for any writer
INSERT INTO land_dossier (id, dossier_no, parcel_id, procedure, received_on, status,
                          officer, done_on, late_reason, apology_no, apology_on)
WITH drawn AS (
    SELECT k, 1 + floor(pg_temp.u(k, 301) * (SELECT count(*) FROM land_parcel))::bigint
               AS parcel_id,
           pg_temp.wpick(ARRAY['transfer','certificate_change','registration',
                               'split_merge','land_use_change','certificate_issue'],
                         ARRAY[40,15,15,12,10,8]::double precision[], k, 302) AS procedure,
           -- the first working day on or after a day of the period
           add_working_days(date '2025-05-23' + pg_temp.ri(k, 303, 0, 548), 1) AS received,
           pg_temp.u(k, 304) < 0.07 AS runs_late
    FROM generate_series(1, greatest(1, round(3000 * (SELECT scale FROM _d_n)))::integer) k
), planned AS (
    SELECT d.*, pr.working_days, add_working_days(d.received, pr.working_days) AS due,
           CASE WHEN d.runs_late
                THEN add_working_days(add_working_days(d.received, pr.working_days),
                                      pg_temp.ri(d.k, 305, 1, 12))
                ELSE add_working_days(d.received,
                                      pg_temp.ri(d.k, 305, 1, pr.working_days)) END
               AS settles
    FROM drawn d JOIN land_procedure pr ON pr.code = d.procedure
), dated AS (
    SELECT p.*, p.settles <= date '2026-11-23' AS settled,
           CASE WHEN pg_temp.u(p.k, 306) < 0.5 AND p.due < date '2026-11-23'
                THEN add_working_days(p.due, pg_temp.ri(p.k, 307, 1, 3)) END AS apology
    FROM planned p
)
SELECT d.k, 'HS-' || to_char(d.received, 'YYMMDD') || '-' || lpad(d.k::text, 5, '0'),
       d.parcel_id, d.procedure, d.received,
       CASE WHEN d.settled THEN
                CASE WHEN pg_temp.u(d.k, 308) < 0.04 THEN 'rejected' ELSE 'done' END
            ELSE pg_temp.wpick(ARRAY['received','in_progress','returned_for_supplement'],
                               ARRAY[20,70,10]::double precision[], d.k, 309) END,
       'diachinh.' || lp.ward_code || '.' || pg_temp.ri(d.k, 310, 1, 3),
       CASE WHEN d.settled THEN d.settles END,
       CASE WHEN d.runs_late THEN pg_temp.pick(ARRAY[
           'Chờ kết quả đo đạc lại ranh giới thửa đất',
           'Chờ ý kiến của cơ quan thuế về nghĩa vụ tài chính',
           'Hồ sơ có tranh chấp, đang xác minh',
           'Chờ xác minh nguồn gốc sử dụng đất']::text[], d.k, 311) END,
       CASE WHEN d.runs_late AND d.apology IS NOT NULL AND d.apology <= date '2026-11-23'
            THEN d.k || '/TXL-UBND' END,
       CASE WHEN d.runs_late AND d.apology <= date '2026-11-23' THEN d.apology END
FROM dated d
JOIN land_parcel lp ON lp.id = d.parcel_id
ORDER BY d.k;
SELECT setval(pg_get_serial_sequence('land_dossier', 'id'),
              greatest(1, (SELECT max(id) FROM land_dossier)), true);

-- @step finish
-- identity sequences continue after the explicit ids
SELECT setval(pg_get_serial_sequence(t, 'id'),
              greatest(1, (xpath('/row/m/text()',
                  query_to_xml(format('SELECT max(id) AS m FROM %I', t), false, true, ''))
              )[1]::text::bigint), true)
FROM unnest(ARRAY['admin_unit','admin_unit_lineage','land_parcel','land_user',
                  'land_certificate','planning_zone','road','lighting_cabinet',
                  'street_light','tree','env_station','env_observation','camera',
                  'field_report','poi','power_line']) t;
