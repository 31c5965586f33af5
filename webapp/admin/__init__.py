"""The administrators' pages (blueprint ``admin``): users and roles, agencies and their policies, the
holiday calendar, letter and mail templates, the mail outbox, the audit log and API tokens."""
