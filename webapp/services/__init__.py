"""The only code that changes data: validate through the domain, write rows and the case event,
flush. Routes, CLI commands and tasks all call these."""
