"""The statutory rules of the service, in pure Python.

No Flask, no database, no clock reads: callers pass ``today``. Everything else in the service
(web pages, workers, reports) asks these modules; nothing re-implements a rule.
"""
