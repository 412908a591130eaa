"""The city layers: every table of layers/ (PostGIS enabled first).

Revision ID: 0001
Revises: 
Create Date: 2026-11-23 15:22:09.247100
"""

from collections.abc import Sequence

import geoalchemy2
import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry

revision: str = '0001'
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    op.create_geospatial_table('admin_unit',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('code', sa.Text(), nullable=False),
    sa.Column('level', sa.Text(), nullable=False),
    sa.Column('unit_type', sa.Text(), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('parent_code', sa.Text(), nullable=True),
    sa.Column('province_code', sa.Text(), nullable=True),
    sa.Column('code_system', sa.Text(), nullable=False),
    sa.Column('area_km2', sa.Numeric(precision=12, scale=2), nullable=True),
    sa.Column('population', sa.Numeric(precision=12, scale=0), nullable=True),
    sa.Column('valid_from', sa.Date(), nullable=False),
    sa.Column('valid_to', sa.Date(), nullable=True),
    sa.Column('legal_basis', sa.Text(), nullable=True),
    sa.Column('source_crs', sa.Integer(), server_default='4326', nullable=False),
    sa.Column('geom', Geometry(geometry_type='MULTIPOLYGON', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry'), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_admin_unit'))
    )
    op.create_geospatial_index('idx_admin_unit_geom', 'admin_unit', ['geom'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_index('ix_admin_unit_level_valid', 'admin_unit', ['level', 'valid_from', 'valid_to'], unique=False)
    op.create_index('uq_admin_unit_code_system', 'admin_unit', ['code', 'code_system'], unique=True)
    op.create_table('admin_unit_lineage',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('old_code', sa.Text(), nullable=False),
    sa.Column('old_name', sa.Text(), nullable=False),
    sa.Column('new_code', sa.Text(), nullable=False),
    sa.Column('new_name', sa.Text(), nullable=False),
    sa.Column('merge_type', sa.Text(), nullable=False),
    sa.Column('effective_date', sa.Date(), server_default=sa.text("'2025-07-01'"), nullable=False),
    sa.Column('legal_basis', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_admin_unit_lineage')),
    comment='Old (3-level) commune -> 2025 ward crosswalk.'
    )
    op.create_index(op.f('ix_admin_unit_lineage_new_code'), 'admin_unit_lineage', ['new_code'], unique=False)
    op.create_index(op.f('ix_admin_unit_lineage_old_code'), 'admin_unit_lineage', ['old_code'], unique=False)
    op.create_table('aqi_band',
    sa.Column('aqi_min', sa.Integer(), nullable=False),
    sa.Column('aqi_max', sa.Integer(), nullable=False),
    sa.Column('name_vi', sa.Text(), nullable=False),
    sa.Column('name_en', sa.Text(), nullable=False),
    sa.Column('color', sa.Text(), nullable=False),
    sa.Column('rgb', sa.Text(), nullable=False),
    sa.Column('legal_basis', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('aqi_min', name=op.f('pk_aqi_band')),
    comment='VN_AQI bands (Decision 1459/QĐ-TCMT).'
    )
    op.create_geospatial_table('camera',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('camera_code', sa.Text(), nullable=False),
    sa.Column('camera_type', sa.Text(), nullable=False),
    sa.Column('bearing_deg', sa.Numeric(precision=5, scale=1), nullable=True),
    sa.Column('fov_deg', sa.Numeric(precision=5, scale=1), nullable=True),
    sa.Column('range_m', sa.Numeric(precision=7, scale=1), nullable=True),
    sa.Column('status', sa.Text(), server_default='online', nullable=False),
    sa.Column('stream_url', sa.Text(), nullable=True),
    sa.Column('installed_on', sa.Date(), nullable=True),
    sa.Column('ward_code', sa.Text(), nullable=True),
    sa.Column('source_crs', sa.Integer(), server_default='4326', nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('geom', Geometry(geometry_type='POINT', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_camera')),
    sa.UniqueConstraint('camera_code', name=op.f('uq_camera_camera_code'))
    )
    op.create_geospatial_index('idx_camera_geom', 'camera', ['geom'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_index(op.f('ix_camera_ward_code'), 'camera', ['ward_code'], unique=False)
    op.create_table('env_parameter',
    sa.Column('code', sa.Text(), nullable=False),
    sa.Column('name_vi', sa.Text(), nullable=False),
    sa.Column('name_en', sa.Text(), nullable=False),
    sa.Column('unit', sa.Text(), nullable=False),
    sa.Column('limit_1h', sa.Numeric(), nullable=True),
    sa.Column('limit_24h', sa.Numeric(), nullable=True),
    sa.Column('limit_year', sa.Numeric(), nullable=True),
    sa.Column('limit_basis', sa.Text(), nullable=True),
    sa.Column('valid_from', sa.Date(), nullable=True),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_env_parameter')),
    comment='Observed parameters and their national limits (QCVN 05:2023/BTNMT).'
    )
    op.create_geospatial_table('env_station',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('station_code', sa.Text(), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('medium', sa.Text(), server_default='air', nullable=False),
    sa.Column('automatic', sa.Boolean(), server_default='true', nullable=False),
    sa.Column('operator', sa.Text(), nullable=True),
    sa.Column('installed_on', sa.Date(), nullable=True),
    sa.Column('ward_code', sa.Text(), nullable=True),
    sa.Column('source_crs', sa.Integer(), server_default='4326', nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('geom', Geometry(geometry_type='POINT', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_env_station')),
    sa.UniqueConstraint('station_code', name=op.f('uq_env_station_station_code'))
    )
    op.create_geospatial_index('idx_env_station_geom', 'env_station', ['geom'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_index(op.f('ix_env_station_ward_code'), 'env_station', ['ward_code'], unique=False)
    op.create_table('land_use_type',
    sa.Column('code', sa.Text(), nullable=False),
    sa.Column('group_code', sa.Text(), nullable=False),
    sa.Column('name_vi', sa.Text(), nullable=False),
    sa.Column('name_en', sa.Text(), nullable=False),
    sa.Column('legal_basis', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_land_use_type')),
    comment='Land-use type codes (Land Law 2024, Circular 08/2024/TT-BTNMT).'
    )
    op.create_table('land_user',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('kind', sa.Text(), nullable=False),
    sa.Column('full_name', sa.Text(), nullable=False),
    sa.Column('id_number', sa.Text(), nullable=True),
    sa.Column('birth_year', sa.Integer(), nullable=True),
    sa.Column('address', sa.Text(), nullable=True),
    sa.Column('phone', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_land_user')),
    comment='Land users (chủ sử dụng đất). Personal data: restricted.'
    )
    op.create_geospatial_table('lighting_cabinet',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('cabinet_code', sa.Text(), nullable=False),
    sa.Column('address', sa.Text(), nullable=True),
    sa.Column('control_mode', sa.Text(), nullable=True),
    sa.Column('circuits', sa.Integer(), nullable=True),
    sa.Column('status', sa.Text(), server_default='on', nullable=False),
    sa.Column('installed_on', sa.Date(), nullable=True),
    sa.Column('ward_code', sa.Text(), nullable=True),
    sa.Column('source_crs', sa.Integer(), server_default='4326', nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('geom', Geometry(geometry_type='POINT', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lighting_cabinet')),
    sa.UniqueConstraint('cabinet_code', name=op.f('uq_lighting_cabinet_cabinet_code'))
    )
    op.create_geospatial_index('idx_lighting_cabinet_geom', 'lighting_cabinet', ['geom'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_index(op.f('ix_lighting_cabinet_ward_code'), 'lighting_cabinet', ['ward_code'], unique=False)
    op.create_geospatial_table('poi',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('name', sa.Text(), nullable=True),
    sa.Column('name_en', sa.Text(), nullable=True),
    sa.Column('category', sa.Text(), server_default='other', nullable=False),
    sa.Column('subcategory', sa.Text(), nullable=True),
    sa.Column('address', sa.Text(), nullable=True),
    sa.Column('opening_hours', sa.Text(), nullable=True),
    sa.Column('osm_id', sa.Text(), nullable=True),
    sa.Column('source', sa.Text(), nullable=True),
    sa.Column('ward_code', sa.Text(), nullable=True),
    sa.Column('source_crs', sa.Integer(), server_default='4326', nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('geom', Geometry(geometry_type='POINT', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_poi'))
    )
    op.create_geospatial_index('idx_poi_geom', 'poi', ['geom'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_index(op.f('ix_poi_category'), 'poi', ['category'], unique=False)
    op.create_index(op.f('ix_poi_ward_code'), 'poi', ['ward_code'], unique=False)
    op.create_geospatial_table('power_line',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('name', sa.Text(), nullable=True),
    sa.Column('power', sa.Text(), nullable=True),
    sa.Column('voltage', sa.Text(), nullable=True),
    sa.Column('circuits', sa.Integer(), nullable=True),
    sa.Column('operator', sa.Text(), nullable=True),
    sa.Column('osm_id', sa.Text(), nullable=True),
    sa.Column('source_crs', sa.Integer(), server_default='4326', nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('geom', Geometry(geometry_type='MULTILINESTRING', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_power_line'))
    )
    op.create_geospatial_index('idx_power_line_geom', 'power_line', ['geom'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_table('report_category',
    sa.Column('code', sa.Text(), nullable=False),
    sa.Column('name_vi', sa.Text(), nullable=False),
    sa.Column('name_en', sa.Text(), nullable=False),
    sa.Column('handling_days', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_report_category')),
    comment='Citizen field report categories and their handling deadline.'
    )
    op.create_geospatial_table('road',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('name', sa.Text(), nullable=True),
    sa.Column('road_class', sa.Text(), nullable=True),
    sa.Column('width_m', sa.Numeric(precision=5, scale=1), nullable=True),
    sa.Column('lanes', sa.Integer(), nullable=True),
    sa.Column('surface', sa.Text(), nullable=True),
    sa.Column('ward_code', sa.Text(), nullable=True),
    sa.Column('source_crs', sa.Integer(), server_default='4326', nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('geom', Geometry(geometry_type='MULTILINESTRING', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_road'))
    )
    op.create_geospatial_index('idx_road_geom', 'road', ['geom'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_index(op.f('ix_road_ward_code'), 'road', ['ward_code'], unique=False)
    op.create_table('tree_category',
    sa.Column('code', sa.Text(), nullable=False),
    sa.Column('kind', sa.Text(), nullable=False),
    sa.Column('name_vi', sa.Text(), nullable=False),
    sa.Column('name_en', sa.Text(), nullable=False),
    sa.Column('legal_basis', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_tree_category')),
    comment='Urban tree use categories and conservation categories (Decree 258/2025).'
    )
    op.create_table('env_observation',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('station_id', sa.BigInteger(), nullable=False),
    sa.Column('parameter', sa.Text(), nullable=False),
    sa.Column('value', sa.Double(), nullable=False),
    sa.Column('unit', sa.Text(), nullable=False),
    sa.Column('averaging', sa.Text(), server_default='1h', nullable=False),
    sa.Column('observed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('qa_flag', sa.Text(), server_default='valid', nullable=False),
    sa.ForeignKeyConstraint(['parameter'], ['env_parameter.code'], name=op.f('fk_env_observation_parameter_env_parameter')),
    sa.ForeignKeyConstraint(['station_id'], ['env_station.id'], name=op.f('fk_env_observation_station_id_env_station')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_env_observation')),
    comment='Hourly observations (PM2.5, PM10, NO2, O3, CO, SO2, noise).'
    )
    op.create_index('ix_env_observation_series', 'env_observation', ['station_id', 'parameter', 'observed_at'], unique=False)
    op.create_index('ix_env_observation_time', 'env_observation', ['observed_at'], unique=False)
    op.create_geospatial_table('field_report',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('report_code', sa.Text(), nullable=False),
    sa.Column('category', sa.Text(), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('status', sa.Text(), server_default='received', nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('deadline_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('assigned_unit', sa.Text(), nullable=True),
    sa.Column('ward_code', sa.Text(), nullable=True),
    sa.Column('source_crs', sa.Integer(), server_default='4326', nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('geom', Geometry(geometry_type='POINT', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    sa.ForeignKeyConstraint(['category'], ['report_category.code'], name=op.f('fk_field_report_category_report_category')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_field_report')),
    sa.UniqueConstraint('report_code', name=op.f('uq_field_report_report_code'))
    )
    op.create_geospatial_index('idx_field_report_geom', 'field_report', ['geom'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_index('ix_field_report_status', 'field_report', ['status', 'received_at'], unique=False)
    op.create_index(op.f('ix_field_report_ward_code'), 'field_report', ['ward_code'], unique=False)
    op.create_geospatial_table('land_parcel',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('ward_code', sa.Text(), nullable=True),
    sa.Column('survey_ward_code', sa.Text(), nullable=True),
    sa.Column('sheet_no', sa.Integer(), nullable=False),
    sa.Column('parcel_no', sa.Integer(), nullable=False),
    sa.Column('land_use', sa.Text(), nullable=False),
    sa.Column('area_legal_m2', sa.Numeric(precision=12, scale=1), nullable=True),
    sa.Column('area_geom_m2', sa.Numeric(precision=12, scale=1), nullable=True),
    sa.Column('address', sa.Text(), nullable=True),
    sa.Column('national_parcel_id', sa.Text(), nullable=True),
    sa.Column('map_scale', sa.Integer(), nullable=True),
    sa.Column('source_crs', sa.Integer(), server_default='4326', nullable=False),
    sa.Column('valid_from', sa.Date(), server_default=sa.text('CURRENT_DATE'), nullable=False),
    sa.Column('valid_to', sa.Date(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('geom', Geometry(geometry_type='MULTIPOLYGON', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    sa.ForeignKeyConstraint(['land_use'], ['land_use_type.code'], name=op.f('fk_land_parcel_land_use_land_use_type')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_land_parcel'))
    )
    op.create_geospatial_index('idx_land_parcel_geom', 'land_parcel', ['geom'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_index('ix_land_parcel_land_use', 'land_parcel', ['land_use'], unique=False)
    op.create_index('ix_land_parcel_lookup', 'land_parcel', ['ward_code', 'sheet_no', 'parcel_no'], unique=False)
    op.create_index(op.f('ix_land_parcel_ward_code'), 'land_parcel', ['ward_code'], unique=False)
    op.create_geospatial_table('planning_zone',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('zone_code', sa.Text(), nullable=False),
    sa.Column('plan_name', sa.Text(), nullable=False),
    sa.Column('approval_decision', sa.Text(), nullable=True),
    sa.Column('approved_on', sa.Date(), nullable=True),
    sa.Column('zone_function', sa.Text(), nullable=False),
    sa.Column('land_use', sa.Text(), nullable=True),
    sa.Column('max_height_m', sa.Numeric(precision=6, scale=1), nullable=True),
    sa.Column('max_floors', sa.Integer(), nullable=True),
    sa.Column('building_density_pct', sa.Numeric(precision=5, scale=1), nullable=True),
    sa.Column('land_use_coefficient', sa.Numeric(precision=5, scale=2), nullable=True),
    sa.Column('ward_code', sa.Text(), nullable=True),
    sa.Column('valid_from', sa.Date(), nullable=True),
    sa.Column('valid_to', sa.Date(), nullable=True),
    sa.Column('source_crs', sa.Integer(), server_default='4326', nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('geom', Geometry(geometry_type='MULTIPOLYGON', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    sa.ForeignKeyConstraint(['land_use'], ['land_use_type.code'], name=op.f('fk_planning_zone_land_use_land_use_type')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_planning_zone'))
    )
    op.create_geospatial_index('idx_planning_zone_geom', 'planning_zone', ['geom'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_index('ix_planning_zone_function', 'planning_zone', ['zone_function'], unique=False)
    op.create_index(op.f('ix_planning_zone_ward_code'), 'planning_zone', ['ward_code'], unique=False)
    op.create_geospatial_table('street_light',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('pole_code', sa.Text(), nullable=True),
    sa.Column('lamp_type', sa.Text(), nullable=True),
    sa.Column('power_w', sa.Integer(), nullable=True),
    sa.Column('pole_height_m', sa.Numeric(precision=4, scale=1), nullable=True),
    sa.Column('cabinet_id', sa.BigInteger(), nullable=True),
    sa.Column('circuit_no', sa.Integer(), nullable=True),
    sa.Column('status', sa.Text(), server_default='on', nullable=False),
    sa.Column('installed_on', sa.Date(), nullable=True),
    sa.Column('ward_code', sa.Text(), nullable=True),
    sa.Column('source_crs', sa.Integer(), server_default='4326', nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('geom', Geometry(geometry_type='POINT', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    sa.ForeignKeyConstraint(['cabinet_id'], ['lighting_cabinet.id'], name=op.f('fk_street_light_cabinet_id_lighting_cabinet')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_street_light'))
    )
    op.create_geospatial_index('idx_street_light_geom', 'street_light', ['geom'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_index(op.f('ix_street_light_cabinet_id'), 'street_light', ['cabinet_id'], unique=False)
    op.create_index(op.f('ix_street_light_status'), 'street_light', ['status'], unique=False)
    op.create_index(op.f('ix_street_light_ward_code'), 'street_light', ['ward_code'], unique=False)
    op.create_geospatial_table('tree',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('tree_code', sa.Text(), nullable=True),
    sa.Column('species_vi', sa.Text(), nullable=True),
    sa.Column('species_scientific', sa.Text(), nullable=True),
    sa.Column('category', sa.Text(), nullable=True),
    sa.Column('height_m', sa.Numeric(precision=5, scale=1), nullable=True),
    sa.Column('trunk_circumference_cm', sa.Integer(), nullable=True),
    sa.Column('canopy_diameter_m', sa.Numeric(precision=5, scale=1), nullable=True),
    sa.Column('health', sa.Text(), nullable=True),
    sa.Column('conservation', sa.Text(), nullable=True),
    sa.Column('planted_on', sa.Date(), nullable=True),
    sa.Column('last_maintained_on', sa.Date(), nullable=True),
    sa.Column('ward_code', sa.Text(), nullable=True),
    sa.Column('source_crs', sa.Integer(), server_default='4326', nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('geom', Geometry(geometry_type='POINT', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    sa.ForeignKeyConstraint(['category'], ['tree_category.code'], name=op.f('fk_tree_category_tree_category')),
    sa.ForeignKeyConstraint(['conservation'], ['tree_category.code'], name=op.f('fk_tree_conservation_tree_category')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tree'))
    )
    op.create_geospatial_index('idx_tree_geom', 'tree', ['geom'], unique=False, postgresql_using='gist', postgresql_ops={})
    op.create_index(op.f('ix_tree_ward_code'), 'tree', ['ward_code'], unique=False)
    op.create_table('field_report_contact',
    sa.Column('report_id', sa.BigInteger(), nullable=False),
    sa.Column('reporter_name', sa.Text(), nullable=True),
    sa.Column('phone', sa.Text(), nullable=True),
    sa.Column('email', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['report_id'], ['field_report.id'], name=op.f('fk_field_report_contact_report_id_field_report')),
    sa.PrimaryKeyConstraint('report_id', name=op.f('pk_field_report_contact')),
    comment='Reporter contact. Personal data: restricted.'
    )
    op.create_table('land_certificate',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('parcel_id', sa.BigInteger(), nullable=False),
    sa.Column('land_user_id', sa.BigInteger(), nullable=False),
    sa.Column('serial_no', sa.Text(), nullable=False),
    sa.Column('register_no', sa.Text(), nullable=True),
    sa.Column('issued_on', sa.Date(), nullable=True),
    sa.Column('issuer', sa.Text(), nullable=True),
    sa.Column('status', sa.Text(), server_default='valid', nullable=False),
    sa.ForeignKeyConstraint(['land_user_id'], ['land_user.id'], name=op.f('fk_land_certificate_land_user_id_land_user')),
    sa.ForeignKeyConstraint(['parcel_id'], ['land_parcel.id'], name=op.f('fk_land_certificate_parcel_id_land_parcel')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_land_certificate')),
    comment='Land-use right certificates (GCN). Personal data: restricted.'
    )
    op.create_index('ix_land_certificate_parcel', 'land_certificate', ['parcel_id'], unique=False)
    # create_geospatial_table drops table comments: set them here
    op.create_table_comment('admin_unit', 'Administrative units with valid time (2-level since 2025-07-01).')
    op.create_table_comment('camera', 'Surveillance and traffic cameras. Never public.')
    op.create_table_comment('env_station', 'Environmental monitoring stations.')
    op.create_table_comment('lighting_cabinet', 'Lighting control cabinets; each feeds several circuits of lights.')
    op.create_table_comment('poi', 'Points of interest.')
    op.create_table_comment('power_line', 'Power transmission and distribution lines.')
    op.create_table_comment('road', 'Road centre lines.')
    op.create_table_comment('field_report', 'Citizen field reports and their handling.')
    op.create_table_comment('land_parcel', 'Land parcels; legal and geometric areas kept apart.')
    op.create_table_comment('planning_zone', 'Zoning plan areas with their planning indicators.')
    op.create_table_comment('street_light', 'Street light poles and their lamps.')
    op.create_table_comment('tree', 'Urban trees with their conservation status and maintenance.')


def downgrade() -> None:
    op.drop_index('ix_land_certificate_parcel', table_name='land_certificate')
    op.drop_table('land_certificate')
    op.drop_table('field_report_contact')
    op.drop_index(op.f('ix_tree_ward_code'), table_name='tree')
    op.drop_geospatial_index('idx_tree_geom', table_name='tree', postgresql_using='gist', column_name='geom')
    op.drop_geospatial_table('tree')
    op.drop_index(op.f('ix_street_light_ward_code'), table_name='street_light')
    op.drop_index(op.f('ix_street_light_status'), table_name='street_light')
    op.drop_index(op.f('ix_street_light_cabinet_id'), table_name='street_light')
    op.drop_geospatial_index('idx_street_light_geom', table_name='street_light', postgresql_using='gist', column_name='geom')
    op.drop_geospatial_table('street_light')
    op.drop_index(op.f('ix_planning_zone_ward_code'), table_name='planning_zone')
    op.drop_index('ix_planning_zone_function', table_name='planning_zone')
    op.drop_geospatial_index('idx_planning_zone_geom', table_name='planning_zone', postgresql_using='gist', column_name='geom')
    op.drop_geospatial_table('planning_zone')
    op.drop_index(op.f('ix_land_parcel_ward_code'), table_name='land_parcel')
    op.drop_index('ix_land_parcel_lookup', table_name='land_parcel')
    op.drop_index('ix_land_parcel_land_use', table_name='land_parcel')
    op.drop_geospatial_index('idx_land_parcel_geom', table_name='land_parcel', postgresql_using='gist', column_name='geom')
    op.drop_geospatial_table('land_parcel')
    op.drop_index(op.f('ix_field_report_ward_code'), table_name='field_report')
    op.drop_index('ix_field_report_status', table_name='field_report')
    op.drop_geospatial_index('idx_field_report_geom', table_name='field_report', postgresql_using='gist', column_name='geom')
    op.drop_geospatial_table('field_report')
    op.drop_index('ix_env_observation_time', table_name='env_observation')
    op.drop_index('ix_env_observation_series', table_name='env_observation')
    op.drop_table('env_observation')
    op.drop_table('tree_category')
    op.drop_index(op.f('ix_road_ward_code'), table_name='road')
    op.drop_geospatial_index('idx_road_geom', table_name='road', postgresql_using='gist', column_name='geom')
    op.drop_geospatial_table('road')
    op.drop_table('report_category')
    op.drop_geospatial_index('idx_power_line_geom', table_name='power_line', postgresql_using='gist', column_name='geom')
    op.drop_geospatial_table('power_line')
    op.drop_index(op.f('ix_poi_ward_code'), table_name='poi')
    op.drop_index(op.f('ix_poi_category'), table_name='poi')
    op.drop_geospatial_index('idx_poi_geom', table_name='poi', postgresql_using='gist', column_name='geom')
    op.drop_geospatial_table('poi')
    op.drop_index(op.f('ix_lighting_cabinet_ward_code'), table_name='lighting_cabinet')
    op.drop_geospatial_index('idx_lighting_cabinet_geom', table_name='lighting_cabinet', postgresql_using='gist', column_name='geom')
    op.drop_geospatial_table('lighting_cabinet')
    op.drop_table('land_user')
    op.drop_table('land_use_type')
    op.drop_index(op.f('ix_env_station_ward_code'), table_name='env_station')
    op.drop_geospatial_index('idx_env_station_geom', table_name='env_station', postgresql_using='gist', column_name='geom')
    op.drop_geospatial_table('env_station')
    op.drop_table('env_parameter')
    op.drop_index(op.f('ix_camera_ward_code'), table_name='camera')
    op.drop_geospatial_index('idx_camera_geom', table_name='camera', postgresql_using='gist', column_name='geom')
    op.drop_geospatial_table('camera')
    op.drop_table('aqi_band')
    op.drop_index(op.f('ix_admin_unit_lineage_old_code'), table_name='admin_unit_lineage')
    op.drop_index(op.f('ix_admin_unit_lineage_new_code'), table_name='admin_unit_lineage')
    op.drop_table('admin_unit_lineage')
    op.drop_index('uq_admin_unit_code_system', table_name='admin_unit')
    op.drop_index('ix_admin_unit_level_valid', table_name='admin_unit')
    op.drop_geospatial_index('idx_admin_unit_geom', table_name='admin_unit', postgresql_using='gist', column_name='geom')
    op.drop_geospatial_table('admin_unit')
