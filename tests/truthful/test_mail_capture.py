"""`make run` without a mail server: MAIL_BACKEND=file writes each mail as an .eml file and the outbox
marks it sent; MAIL_BACKEND=smtp (the default) is unchanged."""

from __future__ import annotations

from email import message_from_bytes
from email.policy import default as default_policy

from webapp.domain.states import MailStatus
from webapp.extensions import db
from webapp.models import OutboxMail
from webapp.notify.outbox import deliver_pending, queue_mail


def test_the_file_backend_writes_an_eml_and_marks_the_mail_sent(app, db_session, today, tmp_path):
    assert app.config["MAIL_BACKEND"] == "smtp"                  # the default
    app.config.update(MAIL_BACKEND="file", MAIL_CAPTURE_DIR=str(tmp_path / "mail"))
    try:
        mail = queue_mail("zhangsan@example.com", "您的申请已确认受理", "张三：\n您的申请已受理。\n",
                          dedupe_key="capture-test", secrets=["受理"])
        db.session.commit()
        result = deliver_pending()
    finally:
        app.config.update(MAIL_BACKEND="smtp", MAIL_CAPTURE_DIR=None)
    assert result.sent == [mail.id] and result.failed == []
    row = db.session.get(OutboxMail, mail.id)
    assert (row.status, row.attempts, row.last_error) == (MailStatus.SENT, 1, "")
    [eml] = sorted((tmp_path / "mail").iterdir())
    assert eml.name.endswith(f"-outbox-{mail.id}.{eml.name.split('.')[1]}.eml")
    msg = message_from_bytes(eml.read_bytes(), policy=default_policy)
    assert str(msg["To"]) == "zhangsan@example.com" and str(msg["Subject"]) == "您的申请已确认受理"
    assert msg.get_content() == "张三：\n您的申请已受理。\n"         # what was sent, in full
    assert [p.name for p in (tmp_path / "mail").iterdir() if p.suffix == ".tmp"] == []
