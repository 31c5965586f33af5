"""Telling people: deadline reminders (reminders/), the one outbox of mail and SMS rows and their
delivery (outbox/), the applicants' notices, what a mail's state means, the holiday-notice watch.
No pages (the notifications page is in cases/, the outbox page in admin/)."""
