"""Backups that restore: ``flask backup create`` and ``flask backup restore`` (docs/operations.md).

An archive is a zip file written from ONE read transaction, so it is a consistent picture even
while clerks work. It is generic over the schema: every table of db.metadata is copied row by row
with its ids, except the few listed in ``NOT_BACKED_UP`` with the reason (a table added later is in
the next backup without a change here; tests/trust/test_backup.py checks the list):

    manifest.json                     format, scope, the audit key's id, each table's row count and
                                      columns, and the sha256 and size of every member
    tables/<table>.jsonl              the table's rows, one JSON object a line, ids included; users
                                      WITHOUT password hashes (``LEFT_OUT_COLUMNS``)
    files/<sha256>                    attachment and submission files from UPLOAD_FOLDER
    agencies/<CODE>/cases.json        the agency's export (flask cases export), as of its last event
    agencies/<CODE>/reports/<Y>.json  the report JSON of each year
    reports/ALL-<Y>.json              the consolidated report of all agencies (full backups)

``--agency CODE`` keeps that agency's rows and what they reference (backup/scope.py).

``restore_backup`` loads an archive into an EMPTY database (it refuses otherwise), exactly as
archived, then checks it: ``flask audit verify`` must pass (so the installation needs the audit
key the backup was made under: it travels with the operator, not with the archive), and every
agency's export and report must come out byte for byte as archived. Users come back without a
usable password (must_change_password): an operator issues one-time passwords with ``flask users
reset-password`` (README, docs/operations.md).
"""

from __future__ import annotations

from .archive import Archive, read_archive
from .common import FORMAT, LEFT_OUT_COLUMNS, NOT_BACKED_UP, BackupError, canonical, unhandled_tables
from .create import BackupSummary, create_backup
from .create import as_of as _as_of
from .restore import RestoreSummary, database_is_empty, restore_backup, verify_restore

__all__ = ["FORMAT", "LEFT_OUT_COLUMNS", "NOT_BACKED_UP", "Archive", "BackupError", "BackupSummary", "RestoreSummary",
           "_as_of", "canonical", "create_backup", "database_is_empty", "read_archive", "restore_backup",
           "unhandled_tables", "verify_restore"]
