"""dothi's HTTP layer: OGC API routers, negotiation, errors, HTML."""
