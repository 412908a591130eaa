"""SQL builders: pure functions from validated requests to SQLAlchemy statements."""
