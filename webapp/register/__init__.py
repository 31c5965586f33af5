"""Spreadsheet registers (台账): export a history as .xlsx, import a register (.xlsx / .csv) through
the interchange import, the import page with its column mapping, the template to fill in."""
