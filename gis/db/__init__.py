"""The database plumbing, one job a module:

- ``urls``: database URLs (libpq's, SQLAlchemy's, redacted) and creating a database;
- ``pool``: the connection pool, the claims a request runs under, ``fetch_one``;
- ``statements``: typed statement specs and the one statement cache;
- ``migrate``: Alembic migrations;
- ``embedded``: the private PostgreSQL + PostGIS cluster.

Nothing is re-exported here: each name is imported from its module, so an import
says where the code lives.
"""
