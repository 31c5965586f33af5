"""The case file (归档): services.py (settings, archive numbers, archiving one case or a year),
dossier.py (the one PDF of a case, its parts in a small registry), routes.py (blueprint
``archive``), cli.py (``flask cases archive``), history.py (the ``archived`` event's timeline and
interchange forms). See docs/delivery-archive.md."""
