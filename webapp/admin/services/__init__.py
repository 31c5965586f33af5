"""The administrators' changes: agencies and their policies, users and roles, the holiday calendar,
letter and mail templates, API tokens. Scope rules live here; the pages in admin/routes/ are thin."""
