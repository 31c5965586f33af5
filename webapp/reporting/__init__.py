"""The annual report area (blueprint ``reports``, routes.py): report pages, drill-down to the cases
behind every figure, narratives, the proactive-disclosure ledger, year close-out and final marking,
the consolidated report and the year-on-year page. Renderers live in ``render/``."""
