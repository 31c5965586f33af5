"""The applicant's side: online application form, status look-up (routes.py) and the clerks' queue of
online submissions (queue.py). See docs/applicant-side.md."""
