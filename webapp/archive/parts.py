"""The dossier's own parts (registered in dossier.DOSSIER_PARTS): the application, the letters, the
delivery proofs and the timeline."""

from __future__ import annotations

from html import escape

from sqlalchemy import select

from webapp.domain.kinds import AttachmentKind
from webapp.domain.states import DeliveryStatus
from webapp.extensions import db
from webapp.letters import LETTER_FOR_EVENT, LETTER_TITLES, render_letter_text
from webapp.models import Case
from webapp.models.submission import Submission

from .part import Part, image_html


def _file(att) -> bytes | None:
    from webapp.cases.attachments import attachment_path

    try:
        return attachment_path(att).read_bytes()
    except OSError:
        return None


def _scan_parts(atts, title: str) -> list[Part]:
    out = []
    for att in atts:
        data = _file(att)
        on = att.uploaded_at.date() if att.uploaded_at else None
        if data is None:
            missing = f'<p class="muted">（文件“{escape(att.filename)}”缺失）</p>'
            out.append(Part(f"{title}：{att.filename}", on, missing))
        elif att.content_type == "application/pdf":
            out.append(Part(f"{title}：{att.filename}", on, pdf=data))
        else:
            out.append(Part(f"{title}：{att.filename}", on, image_html(data, att.content_type, att.filename)))
    return out


def application(case: Case) -> list[Part]:
    """The application as received: its scans, and for an online submission what the applicant sent;
    always the registered applicant and items."""
    a = case.applicant
    rows = [("申请人", a.name), ("证件号码", a.id_number or a.uscc or a.id_document or "—"),
            ("联系电话", a.phone or "—"), ("通信地址", a.address or "—"), ("电子邮箱", a.email or "—"),
            ("收到申请之日", case.received_on.isoformat() if case.received_on else "—")]
    html = ['<table class="kv">'] + [f"<tr><th>{escape(k)}</th><td>{escape(v)}</td></tr>" for k, v in rows]
    html.append("</table><h3>申请获取的政府信息</h3><ol>")
    html += [f"<li>{escape(it.text)}</li>" for it in case.items]
    html.append("</ol>")
    sub = db.session.scalar(select(Submission).where(Submission.case_id == case.id))
    if sub is not None:
        html.append(f'<p class="meta">网上申请编号 {escape(sub.number)}，'
                    f"提交于 {escape(sub.submitted_on.isoformat())}；以上为申请人在线提交的内容。</p>")
    parts = [Part("政府信息公开申请", case.received_on, "".join(html))]
    scans = [att for att in sorted(case.attachments, key=lambda x: x.id) if att.kind == AttachmentKind.SCAN]
    return parts + _scan_parts(scans, "申请材料")


def letters(case: Case) -> list[Part]:
    out = []
    for ev in sorted(case.events, key=lambda e: e.seq):
        kind = next((k for e, k in LETTER_FOR_EVENT.items() if e.value == ev.type), None)
        if kind is None:
            continue
        text = render_letter_text(case, kind, event=ev)
        lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
        body = []
        for i, line in enumerate(lines):
            if i == 0:
                body.append(f'<h3 class="letter-title">{escape(line)}</h3>')
            elif line == "---":
                body.append('<p class="gap"></p>')
            elif line[0] in "^>=":
                cls = {"^": "center", ">": "right", "=": "flush"}[line[0]]
                body.append(f'<p class="{cls}">{escape(line[1:].strip())}</p>')
            else:
                body.append(f'<p class="indent">{escape(line)}</p>')
        out.append(Part(LETTER_TITLES[kind], ev.on, '<div class="letter">' + "".join(body) + "</div>"))
    return out


def delivery_proofs(case: Case) -> list[Part]:
    from webapp.delivery.services import METHODS, STATUSES, deliveries_of

    rows = deliveries_of(case)
    if not rows:
        return []
    html = ['<table class="grid"><thead><tr><th>文书</th><th>送达方式</th><th>送达日期</th><th>凭证</th>'
            "<th>情况</th></tr></thead><tbody>"]
    for d in rows:
        state = STATUSES.get(d.status, d.status)
        if d.status != DeliveryStatus.DELIVERED:
            state += f"（{d.returned_on}，{d.return_reason}）"
        html.append(f"<tr><td>{escape(LETTER_TITLES.get(d.letter_kind, d.letter_kind or '—'))}</td>"
                    f"<td>{escape(METHODS.get(d.method, d.method))}</td><td>{d.delivered_on.isoformat()}</td>"
                    f"<td>{escape(d.proof or '—')}</td><td>{escape(state)}</td></tr>")
    html.append("</tbody></table>")
    parts = [Part("送达记录", rows[0].delivered_on, "".join(html))]
    proofs = [d.proof_attachment for d in rows if d.proof_attachment is not None]
    return parts + _scan_parts(proofs, "送达凭证")


def timeline(case: Case) -> list[Part]:
    from webapp.cases.view import timeline as case_timeline

    html = ['<table class="grid timeline"><thead><tr><th>序号</th><th>日期</th><th>事项</th><th>经办</th>'
            "<th>内容</th></tr></thead><tbody>"]
    for row in case_timeline(case):
        ev = row.event
        detail = "；".join(f"{k}：{v}" for k, v in row.summary)
        html.append(f"<tr><td>{ev.seq}</td><td>{ev.on.isoformat()}</td><td>{escape(row.label)}</td>"
                    f"<td>{escape(ev.actor_name or '系统')}</td><td>{escape(detail)}</td></tr>")
    html.append("</tbody></table>")
    last = case.events[-1] if case.events else None
    if last is not None:
        html.append(f'<p class="meta hash">办理记录共{len(case.events)}条，末条校验值 {escape(last.hash)}</p>')
    return [Part("办理记录", last.on if last else None, "".join(html))]
