"""Delivery (送达) of the letters sent to an applicant: services.py (the only code that writes
Delivery rows and their history events), forms.py, routes.py (blueprint ``delivery``),
history.py (timeline labels and the interchange form of the events). See docs/delivery-archive.md."""
