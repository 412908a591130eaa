"""Parcel identity: one parcel per (survey commune, map sheet, parcel number).

Map sheets (tờ bản đồ) are numbered within the commune that was surveyed, and since
the 2025 reform that is the *old* commune, not the ward the parcel lies in now: a
new ward holds sheet 4 of each of the communes merged into it, so (ward, sheet,
number) names up to one parcel per merged commune. The identity is therefore
(``survey_ward_code``, ``sheet_no``, ``parcel_no``), and this migration makes it a
database rule:

- A parcel surveyed after the reform is numbered in its own ward: an INSERT without
  a survey commune takes the parcel's ``ward_code``, and an UPDATE that clears it (a
  replace that leaves it out) keeps the parcel's own (a BEFORE trigger). A parcel
  with neither (drawn before it is placed in any commune, as ``ward_code`` may be
  empty) has no identity yet and is outside the rule below, as SQL's UNIQUE leaves
  NULLs.
- ``uq_land_parcel_identity`` UNIQUE (survey_ward_code, sheet_no, parcel_no). Numbers
  are never reused: a parcel retired by a split or a merge keeps its number, and the
  new parcels take the next free numbers of the sheet.
- ``uq_land_parcel_national_id``: a national parcel id (mã thửa quốc gia) names one
  parcel; most parcels have none yet.
- The index ``ix_land_parcel_sheet`` (sheet_no, parcel_no, ward_code) answers a
  look-up by the *new* ward: (ward, sheet, number) over the communes merged into it.
  The old (ward_code, sheet_no, parcel_no) index is the same columns in another
  order, so it goes.

Revision ID: 0015
Revises: 0014
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        """
        UPDATE land_parcel SET survey_ward_code = ward_code
        WHERE survey_ward_code IS NULL;

        CREATE FUNCTION land_parcel_survey_commune() RETURNS trigger
        LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
        BEGIN
            IF TG_OP = 'UPDATE' THEN
                NEW.survey_ward_code := coalesce(NEW.survey_ward_code,
                                                 OLD.survey_ward_code);
            ELSE
                NEW.survey_ward_code := coalesce(NEW.survey_ward_code, NEW.ward_code);
            END IF;
            RETURN NEW;
        END $$;
        CREATE TRIGGER land_parcel_survey_commune
            BEFORE INSERT OR UPDATE OF survey_ward_code ON land_parcel
            FOR EACH ROW EXECUTE FUNCTION land_parcel_survey_commune();

        ALTER TABLE land_parcel ADD CONSTRAINT uq_land_parcel_identity
            UNIQUE (survey_ward_code, sheet_no, parcel_no);
        CREATE UNIQUE INDEX uq_land_parcel_national_id ON land_parcel
            (national_parcel_id) WHERE national_parcel_id IS NOT NULL;
        DROP INDEX ix_land_parcel_lookup;
        CREATE INDEX ix_land_parcel_sheet ON land_parcel (sheet_no, parcel_no, ward_code);
        """
    )


def downgrade() -> None:
    op.execute(
        """
        DROP INDEX ix_land_parcel_sheet;
        CREATE INDEX ix_land_parcel_lookup ON land_parcel (ward_code, sheet_no, parcel_no);
        DROP INDEX uq_land_parcel_national_id;
        ALTER TABLE land_parcel DROP CONSTRAINT uq_land_parcel_identity;
        DROP TRIGGER land_parcel_survey_commune ON land_parcel;
        DROP FUNCTION land_parcel_survey_commune();
        """
    )
