"""签收: routed applications signed for or sent back (handovers/services.py)."""
