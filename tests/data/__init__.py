"""The project's own test data, inside the repository (a clone alone runs the whole suite).

- ``examples/``: interchange documents with their expected exports and reports (examples/README.md);
- ``reference/``: a published annual report (2023, 临淄区商务局) whose text the renderers must match.
"""

from pathlib import Path

DATA = Path(__file__).resolve().parent
EXAMPLES = DATA / "examples"
REFERENCE_REPORT = DATA / "reference" / "annual-report-2023-linzi-commerce-bureau.txt"
