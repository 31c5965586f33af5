"""What a mail's state and its delivery error mean, in Chinese, for the pages that show them: the
applicant's status page, the case timeline and the administrators' outbox page. Read from the
OutboxMail row (notify/outbox/ writes it), never assumed: a notice that was written is not yet a
notice that was delivered.

The outbox has no final failure: a failed mail is retried (with back-off) until it goes through, so
its state is 发送失败，将重试 until then.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select

from webapp.domain.states import MailStatus
from webapp.extensions import db
from webapp.models import OutboxMail

#: OutboxMail.status -> what it means, in Chinese
STATE_ZH = {MailStatus.PENDING: "待发送", MailStatus.SENDING: "正在发送", MailStatus.SENT: "已发送",
            MailStatus.FAILED: "发送失败，将重试"}
#: OutboxMail.status -> a CSS class of the tag showing it
STATE_CLASS = {MailStatus.PENDING: "mail-pending", MailStatus.SENDING: "mail-pending", MailStatus.SENT: "mail-sent",
               MailStatus.FAILED: "mail-failed"}
UNKNOWN_ZH = "邮件记录不存在"


@dataclass(frozen=True)
class MailState:
    status: str          # pending | sending | sent | failed | missing
    text: str            # Chinese, e.g. 发送失败，将重试
    css: str

    @property
    def sent(self) -> bool:
        return self.status == MailStatus.SENT


def state_of(mail: OutboxMail | None) -> MailState:
    if mail is None:
        return MailState("missing", UNKNOWN_ZH, "mail-failed")
    status = mail.status or MailStatus.PENDING
    return MailState(status, STATE_ZH.get(status, STATE_ZH[MailStatus.PENDING]),
                     STATE_CLASS.get(status, "mail-pending"))


def states(mail_ids: Iterable[int]) -> dict[int, MailState]:
    """The state of each of these outbox mails, by id (a missing row: state 'missing')."""
    ids = sorted({int(i) for i in mail_ids if i is not None})
    rows = {m.id: m for m in db.session.scalars(select(OutboxMail).where(OutboxMail.id.in_(ids)))} if ids else {}
    return {i: state_of(rows.get(i)) for i in ids}


# --- delivery errors -----------------------------------------------------------------------------

# (pattern on "<ExceptionName>: <text>" as deliver_pending stores it, explanation); first match wins
_ERRORS: tuple[tuple[str, str], ...] = (
    (r"SMTPAuthenticationError|\b53[45]\b.*auth|authentication (failed|unsuccessful)",
     "邮件服务器拒绝登录：请核对邮件账号和密码（MAIL_USERNAME、MAIL_PASSWORD）。"),
    (r"AUTH extension not supported",
     "邮件服务器不支持登录认证：请检查是否须先建立加密连接（MAIL_USE_TLS），或去掉账号设置。"),
    (r"SMTPNotSupportedError|STARTTLS|SSLError|\bssl\b|certificate",
     "与邮件服务器建立加密连接失败：请核对加密方式（MAIL_USE_TLS、MAIL_USE_SSL）和端口。"),
    (r"SMTPRecipientsRefused|\b55[0-3]\b|recipient|mailbox unavailable|user unknown",
     "邮件服务器拒收：收件人地址不存在或不接受邮件，请核对收件人地址。"),
    (r"SMTPSenderRefused", "邮件服务器拒绝发件人地址：请核对发件地址（MAIL_FROM）。"),
    (r"ConnectionRefusedError|Connection refused|SMTPConnectError",
     "无法连接邮件服务器：服务器未开启或地址、端口有误（MAIL_SERVER、MAIL_PORT）。"),
    (r"gaierror|Name or service not known|nodename nor servname|getaddrinfo",
     "找不到邮件服务器：请核对服务器地址（MAIL_SERVER）。"),
    (r"timed out|TimeoutError|timeout", "连接邮件服务器超时：网络不通或服务器无响应。"),
    (r"SMTPServerDisconnected|ConnectionResetError|Connection reset|Broken pipe",
     "邮件服务器中途断开了连接，将自动重试。"),
    (r"SMTPDataError|\b5[0-9][0-9]\b", "邮件服务器拒绝了这封邮件（如内容或大小不符合其要求）。"),
    (r"\b4[0-9][0-9]\b|SMTPResponseException", "邮件服务器暂时无法接收，将自动重试。"),
    (r"attachment \d+ does not exist|FileNotFoundError|No such file",
     "附件文件缺失，邮件无法生成：请检查附件存储。"),
    (r"template error|TemplateError|UndefinedError|no composer",
     "邮件模板有误，邮件无法生成：请检查邮件模板。"),
    (r"OSError|Network is unreachable", "网络错误，无法连接邮件服务器。"),
)


def explain_error(error: str | None) -> str:
    """A delivery error (``last_error``) explained in Chinese; "" for no error."""
    text = (error or "").strip()
    if not text:
        return ""
    from webapp.sms.errors import explain as explain_sms  # an SMS provider's code (webapp/sms/)

    if sms := explain_sms(text):
        return sms
    for pattern, explanation in _ERRORS:
        if re.search(pattern, text, re.IGNORECASE):
            return explanation
    return "发送失败，原因见技术信息。"
