"""The database's own tables: everything in the schema that is not a layer.

The shared ``MetaData`` (``gis.tables.metadata``, with the naming convention every
table follows), the paging token key (``app_secret``), the data versions and
statistics of the layer tables, the code lists, the remembered answers of idempotent
creates and the tile overviews. The layer tables (``layers``) and the security tables
(``auth``) join the same ``MetaData``, which Alembic targets (``migrations/env.py``
imports all three packages).

Importing this package registers all of its tables.
"""

from gis.tables import (
    app_secret,
    codelists,
    idempotency,
    overviews,
    parcel_changes,
    versions,
)

__all__ = [
    "app_secret",
    "codelists",
    "idempotency",
    "overviews",
    "parcel_changes",
    "versions",
]
