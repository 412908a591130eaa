"""Alembic revisions: every schema change, code list and spatial_ref_sys entry."""

from pathlib import Path

MIGRATIONS_DIR = Path(__file__).resolve().parent
