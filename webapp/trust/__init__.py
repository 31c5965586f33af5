"""What makes the records trustworthy: the audit log, the keyed hash chain of the case history and
its verification and re-keying, the append-only guards, backups that restore, login lock-out
and password hashing. No pages (the audit page is in admin/)."""
