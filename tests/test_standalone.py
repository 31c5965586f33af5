"""The repository stands alone: a clone without anything beside it runs its tests and reads its docs.
Nothing in tests/, the README, docs/, the Makefile or CI reaches for the company's shared folder."""

import re
from pathlib import Path

from tests.data import EXAMPLES, REFERENCE_REPORT

ROOT = Path(__file__).resolve().parents[1]
# the patterns of the before-stop hook: a parent-relative path to the shared folder, or one built with
# pathlib from parents[N] or joined with its examples folder
OUTSIDE = re.compile(r'\.\./shared|parents\[[0-9]\] */ *"shared"|"shared" */ *"examples"')


def test_nothing_reads_outside_the_repository():
    files = [ROOT / "README.md", ROOT / "Makefile", *sorted((ROOT / "docs").rglob("*")),
             *sorted((ROOT / "tests").rglob("*")), *sorted((ROOT / ".ci").rglob("*"))]
    found = [str(p.relative_to(ROOT)) for p in files if p.is_file() and p.suffix != ".pyc"
             and OUTSIDE.search(p.read_text(encoding="utf-8", errors="replace"))]
    assert found == []


def test_the_data_is_inside():
    assert EXAMPLES.is_relative_to(ROOT) and REFERENCE_REPORT.is_relative_to(ROOT)
    assert sorted(p.name for p in EXAMPLES.glob("*.json")) == [
        "invalid-answer-while-awaiting-correction.expected.json", "invalid-answer-while-awaiting-correction.json",
        "invalid-second-correction-notice.expected.json", "invalid-second-correction-notice.json",
        "seed-agency-2023.expected.json", "seed-agency-2023.json",
        "small-year.expected.json", "small-year.json",
    ]
    assert REFERENCE_REPORT.read_text(encoding="utf-8").startswith("临淄区商务局")
    for name in ("rules.md", "interchange.md", "report.md"):
        assert (ROOT / "docs" / name).is_file(), name
