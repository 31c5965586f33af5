"""`flask cases import` writes an audit-log row: who (the --operator or the OS user, from the CLI), the
file's SHA-256, the cases created, updated and unchanged; a refused import writes its own row."""

import getpass
import hashlib
import json

from sqlalchemy import func, select

from tests.data import EXAMPLES
from webapp.extensions import db
from webapp.models import Agency, AuditLog, Case

SMALL = EXAMPLES / "small-year.json"
SMALL_REFS = [f"2024-{n:04d}" for n in range(1, 16)]


def rows(app) -> list[tuple[str, str, int | None, str, str, dict]]:
    with app.app_context():
        return [(r.action, r.username, r.user_id, r.target_type, r.target_id, r.detail)
                for r in db.session.scalars(select(AuditLog).order_by(AuditLog.id))]


def sha256(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_import_writes_one_row_with_hash_operator_and_cases(app, cli):
    res = cli.invoke(args=["cases", "import", str(SMALL), "--operator", "王科长"])
    assert res.exit_code == 0, res.output
    [(action, username, user_id, ttype, tid, detail)] = rows(app)
    assert (action, username, user_id, ttype, tid) == ("cli.cases_import", "王科长", None, "agency", "SL-ZFB")
    assert detail == {
        "via": "cli", "command": "flask cases import", "operator": "王科长", "os_user": getpass.getuser(),
        "file": str(SMALL.resolve()), "sha256": sha256(SMALL), "bytes": SMALL.stat().st_size,
        "agency": "SL-ZFB", "cases_new": 15, "cases_updated": 0, "cases_unchanged": 0,
        "events_added": 28, "appeals": 2, "refs_new": SMALL_REFS, "refs_updated": [],
    }
    assert len(detail["sha256"]) == 64

    # the same file again: a second row, nothing created or updated
    res = cli.invoke(args=["cases", "import", str(SMALL), "--operator", "王科长"])
    assert res.exit_code == 0, res.output
    second = rows(app)[1][5]
    assert (second["sha256"], second["cases_new"], second["cases_updated"], second["cases_unchanged"],
            second["events_added"], second["refs_new"], second["refs_updated"]) == (sha256(SMALL), 0, 0, 15, 0, [], [])


def test_an_updated_case_is_named(app, cli, tmp_path):
    """A register exported earlier (case 2024-0003 one event short), then the full one: 2024-0003 is
    updated, the other 14 are unchanged."""
    doc = json.loads(SMALL.read_text(encoding="utf-8"))
    [case] = [c for c in doc["cases"] if c["ref"] == "2024-0003"]
    case["events"].pop()
    early = tmp_path / "early.json"
    early.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    assert cli.invoke(args=["cases", "import", str(early)]).exit_code == 0
    assert cli.invoke(args=["cases", "import", str(SMALL)]).exit_code == 0
    first, second = (r[5] for r in rows(app))
    assert first["sha256"] == sha256(early) != sha256(SMALL) == second["sha256"]
    assert (first["cases_new"], first["events_added"]) == (15, 27)
    assert (second["cases_new"], second["cases_updated"], second["cases_unchanged"], second["events_added"],
            second["refs_new"], second["refs_updated"]) == (0, 1, 14, 1, [], ["2024-0003"])


def test_default_operator_is_the_os_user(app, cli):
    assert cli.invoke(args=["cases", "import", str(EXAMPLES / "seed-agency-2023.json")]).exit_code == 0
    [(action, username, _uid, _t, tid, detail)] = rows(app)
    assert (action, username, tid) == ("cli.cases_import", getpass.getuser(), "LZ-SWJ")
    assert (detail["operator"], detail["os_user"], detail["cases_new"], detail["refs_new"]) == \
        (getpass.getuser(), getpass.getuser(), 0, [])


def test_refused_import_logs_the_attempt_and_records_nothing(app, cli):
    """All or nothing: the cases roll back, and the refusal is logged in a transaction of its own."""
    doc = EXAMPLES / "invalid-second-correction-notice.json"
    res = cli.invoke(args=["cases", "import", str(doc), "--operator", "李四"])
    assert res.exit_code != 0
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Case)) == 0
        assert db.session.scalar(select(func.count()).select_from(Agency)) == 0
    [(action, username, user_id, ttype, tid, detail)] = rows(app)
    assert (action, username, user_id, ttype, tid) == ("cli.cases_import_refused", "李四", None, "agency", "SL-ZFB")
    reason = res.output.strip().splitlines()[-1].removeprefix("error: ")
    assert detail == {
        "via": "cli", "command": "flask cases import", "operator": "李四", "os_user": getpass.getuser(),
        "file": str(doc.resolve()), "sha256": sha256(doc), "bytes": doc.stat().st_size,
        "refused": reason, "rule": "correction.twice", "case_ref": "2024-0102", "event_index": 3,
    }
    assert reason.startswith("nothing imported: case 2024-0102, event 3: ")


def test_unreadable_documents(app, cli, tmp_path):
    """A file that was read but is not a document is a refused attempt with its hash; a file that
    cannot be read at all leaves no row (nothing was presented)."""
    bad = tmp_path / "bad.json"
    bad.write_bytes(b"not json")
    assert cli.invoke(args=["cases", "import", str(bad), "--operator", "x"]).exit_code != 0
    assert cli.invoke(args=["cases", "import", str(tmp_path / "missing.json")]).exit_code != 0
    [(action, _u, _id, _t, tid, detail)] = rows(app)
    assert (action, tid, detail["sha256"], detail["bytes"]) == (
        "cli.cases_import_refused", "", "7ccfa1fbf3940e6f0c0375d87c0f9235a50514e14cb427bdfaf5077987b26ccf", 8)
    assert detail["refused"] == f"{bad} is not JSON: Expecting value at line 1"
