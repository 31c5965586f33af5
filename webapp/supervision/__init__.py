"""督办 (supervision by the government office): the figures of a government's departments, their
drill-down lists and monthly chart, the .xlsx export, and supervision notices with their replies."""
