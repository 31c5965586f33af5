"""Thin tasks: JSON arguments in (dates as ISO strings, ids), one service call, commit; idempotent,
so a retried or redelivered task never does anything twice."""
