-- Copy the harness city (../shared/bench/gen_city.sql) into dothi's own layers, same
-- rows and ids, so dothi, the peers and raw PostGIS read the same data in one run.
-- Run after `dothi db upgrade` on the harness database:
--   psql "$DSN" -v src=parcels -f bench/load_city.sql      (src=parcels_2m for SCALE)
\set ON_ERROR_STOP 1
BEGIN;
TRUNCATE land_certificate, land_parcel, tree, street_light, lighting_cabinet RESTART IDENTITY CASCADE;
INSERT INTO land_parcel (id, ward_code, sheet_no, parcel_no, land_use, area_legal_m2,
                         area_geom_m2, source_crs, valid_from, updated_at, geom)
SELECT id, ward_code, sheet_no, parcel_no, land_use, area_m2, area_m2, 4326,
       coalesce(updated_at, date '2015-01-01'), coalesce(updated_at, date '2015-01-01'),
       ST_Multi(geom)
FROM :src;
INSERT INTO tree (id, tree_code, species_vi, height_m, trunk_circumference_cm, health,
                  ward_code, geom)
SELECT id, tree_code, species, height_m, round(dbh_cm * pi())::int, health, ward_code, geom
FROM trees;
INSERT INTO street_light (id, pole_code, status, power_w, pole_height_m, lamp_type,
                          installed_on, ward_code, geom)
SELECT id, light_code, status, wattage, pole_height, lamp_type, installed, ward_code, geom
FROM street_lights;
SELECT setval(pg_get_serial_sequence('land_parcel', 'id'), (SELECT max(id) FROM land_parcel));
SELECT setval(pg_get_serial_sequence('tree', 'id'), (SELECT max(id) FROM tree));
SELECT setval(pg_get_serial_sequence('street_light', 'id'), (SELECT max(id) FROM street_light));
COMMIT;
ANALYZE land_parcel; ANALYZE tree; ANALYZE street_light;
