"""The remembered answers of creates sent with an ``Idempotency-Key``.

Not a layer: ``gis.idempotency`` writes a row in the transaction that inserts the
feature, so a retry of the same request (same principal, key and body) gets the
first answer and creates nothing. Rows expire (``DOTHI_LIMITS__IDEMPOTENCY_TTL_S``)
and are purged by ``purge_idempotency_keys()`` (migration 0012). Row-level security
shows the API role only the rows of the principal its claims name.
"""

from sqlalchemy import (
    CheckConstraint,
    Column,
    DateTime,
    Index,
    LargeBinary,
    SmallInteger,
    Table,
    Text,
    func,
)

from gis.idempotency import MAX_KEY_CHARS
from gis.tables.metadata import metadata

idempotency_key = Table(
    "idempotency_key",
    metadata,
    # "<auth>:<subject>" (``gis.db.pool.Claims``): keys of different callers never meet
    Column("principal", Text, primary_key=True),
    Column("key", Text, primary_key=True),
    Column("fingerprint", LargeBinary, nullable=False),  # SHA-256 of the request
    Column("status", SmallInteger, nullable=False),
    Column("location", Text),  # a path under the service root: the host may differ
    Column("etag", Text),
    Column("content_type", Text),
    Column("body", LargeBinary, nullable=False),
    Column(
        "created_at", DateTime(timezone=True), nullable=False, server_default=func.now()
    ),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    CheckConstraint(f"length(key) BETWEEN 1 AND {MAX_KEY_CHARS}", name="key_length"),
    Index("ix_idempotency_key_expires_at", "expires_at"),
    comment="First answers of POSTs with an Idempotency-Key, kept for their retries.",
)
