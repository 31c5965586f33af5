"""The Celery side of the service: ``celery_app`` (Celery bound to the Flask app), ``schedule`` (the
whole beat schedule) and ``tasks`` (thin tasks: one service call, commit, enqueue after commit).
Importing this package does nothing."""
