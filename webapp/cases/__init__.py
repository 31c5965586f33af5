"""The clerks' case pages: dashboard and search, the case page with its actions, letters,
attachments, and the notifications list (notifications.py, its own blueprint)."""
