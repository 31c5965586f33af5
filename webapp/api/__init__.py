"""JSON API v1 for government portals (see routes.py and openapi.py)."""
