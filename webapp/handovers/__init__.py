"""签收: routed applications signed for or sent back (services/handovers.py)."""
