"""VN-2000 CRSs in spatial_ref_sys, taken from PROJ's EPSG database.

The PostGIS 3.3 snapshot lacks the provincial TM-3 zones (EPSG:9205-9218, added to
EPSG in 2020). Rows are built by pyproj from PROJ's database (``auth_name`` EPSG, so
PostGIS lets PROJ pick the EPSG:6960 datum shift), never hand-typed. Only missing rows
are inserted; ``dothi_added_srid`` remembers which, so a downgrade removes only those.

Revision ID: 0002
Revises: 0001
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from gis.crs import DEFAULT_CRS_SRIDS, VN2000_SRIDS, spatial_ref_sys_row

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

WANTED = sorted({*VN2000_SRIDS, *DEFAULT_CRS_SRIDS})


def upgrade() -> None:
    conn = op.get_bind()
    present = {
        r[0]
        for r in conn.execute(
            sa.text("SELECT srid FROM spatial_ref_sys WHERE srid = ANY(:s)"),
            {"s": WANTED},
        )
    }
    op.create_table("dothi_added_srid", sa.Column("srid", sa.Integer, primary_key=True))
    for srid in WANTED:
        if srid in present:
            continue
        row = spatial_ref_sys_row(srid)
        conn.execute(
            sa.text(
                "INSERT INTO spatial_ref_sys (srid, auth_name, auth_srid, srtext, "
                "proj4text) VALUES (:srid, :auth, :asrid, :wkt, :proj)"
            ),
            dict(zip(("srid", "auth", "asrid", "wkt", "proj"), row, strict=True)),
        )
        conn.execute(sa.text("INSERT INTO dothi_added_srid VALUES (:s)"), {"s": srid})


def downgrade() -> None:
    op.execute(
        "DELETE FROM spatial_ref_sys WHERE srid IN (SELECT srid FROM dothi_added_srid)"
    )
    op.drop_table("dothi_added_srid")
