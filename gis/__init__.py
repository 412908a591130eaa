"""dothi's spatial core: database, CRS registry, SQL builders, import/export.

Knows nothing of HTTP.
"""
