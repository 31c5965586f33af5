"""The audit log in words (the audit page): each action, object type and detail field in Chinese.
An action or field not named here is shown as recorded, so nothing recorded is ever hidden."""

from __future__ import annotations

from typing import Any

ACTION_ZH = {
    "access.refused": "拒绝访问",
    "auth.login": "登录", "auth.logout": "退出登录", "auth.login_failed": "登录失败",
    "auth.login_refused": "拒绝登录", "auth.locked": "账户锁定", "auth.password_changed": "修改密码",
    "auth.password_change_refused": "修改密码被拒绝",
    "admin.user_created": "新建用户", "admin.user_updated": "修改用户", "admin.password_reset": "重置密码",
    "admin.user_unlocked": "解锁用户", "admin.agency_created": "新建机关", "admin.agency_updated": "修改机关信息",
    "admin.policies_updated": "修改政策设置", "admin.token_created": "生成接口令牌",
    "admin.token_revoked": "吊销接口令牌", "admin.mail_retry": "邮件立即重发",
    "admin.letter_template_saved": "保存文书模板", "admin.letter_template_reset": "恢复默认文书模板",
    "admin.email_template_saved": "保存邮件模板", "admin.email_template_reset": "恢复默认邮件模板",
    "admin.calendar_entered": "录入节假日安排", "admin.calendar_removed": "删除节假日安排",
    "personal_data.viewed": "查看完整个人信息", "personal.view": "查看网上申请个人信息",
    "letter.downloaded": "下载文书", "attachment.downloaded": "下载附件",
    "case.event_corrected": "更正办理记录",
    "submission.confirmed": "确认受理网上申请", "submission.rejected": "不予受理网上申请",
    "submission.routed": "分办网上申请",
    "case.routed": "转办案件", "handover.signed": "签收分办申请", "handover.returned": "退回分办申请",
    "report.finalize": "年度报告定稿", "report.close": "年度报告关账", "report.narrative": "编辑报告文字部分",
    "report.ledger.document": "编辑主动公开台账",
    "report.opening": "录入期初数（上年已公开报告）", "report.ledger.year": "编辑主动公开年度数据",
    "backup.restored": "恢复备份",
    "archive.settings": "修改归档设置", "archive.year": "按年度批量归档", "dossier.downloaded": "下载案卷",
    "register.imported": "导入台账", "register.exported": "导出台账",
}

TARGET_ZH = {
    "case": "案件", "user": "用户", "agency": "机关", "applicant": "申请人", "attachment": "附件",
    "submission": "网上申请", "route": "页面", "api_token": "接口令牌", "outbox_mail": "邮件",
    "letter_template": "文书模板", "email_template": "邮件模板", "calendar_year": "节假日年度",
    "report_version": "年度报告版本", "narrative": "报告文字", "proactive_document": "主动公开文件",
    "proactive_year": "主动公开年度", "backup": "备份",
}

DETAIL_ZH = {
    "case": "案件编号", "case_id": "案件", "number": "编号", "kind": "类型", "event": "办理记录",
    "reason": "原因", "failed_logins": "连续失败次数", "password_right": "密码正确", "limit": "限制",
    "username": "用户名", "role": "角色", "agency_id": "机关", "agency": "机关", "changes": "修改内容",
    "unlocked": "已解锁", "locked_at": "锁定时间", "op": "操作", "title": "标题", "year": "年度",
    "version": "版本", "changed": "修改项数", "archive_sha256": "备份校验值", "agencies": "机关数",
    "cases": "案件数", "code": "机关代码", "name": "名称", "parent_id": "上级机关", "moved_cases": "期限变化的案件",
    "to": "收件人", "before_sha": "修改前校验值", "after_sha": "修改后校验值", "days_off": "放假天数",
    "makeup_days": "调休上班天数", "replaced": "替换的原有安排",
    "corrects_seq": "更正的记录序号", "action": "操作", "path": "地址", "note": "说明",
    "handover": "分办记录", "waited_hours": "等待签收（小时）",
}

VALUE_ZH = {
    "unknown_user": "用户不存在", "bad_password": "密码错误", "locked": "账户已锁定", "inactive": "账户已停用",
    "bad_current": "原密码错误", "throttled": "尝试过于频繁", "add": "新增", "update": "修改", "delete": "删除",
    True: "是", False: "否",
}


def action_zh(action: str) -> str:
    return ACTION_ZH.get(action, action)


def target_zh(target_type: str, target_id: str) -> str:
    kind = TARGET_ZH.get(target_type, target_type)
    return f"{kind} {target_id}" if target_id else kind


def _value(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        return "、".join(_value(v) for v in value) or "—"
    if isinstance(value, dict):
        return "；".join(f"{DETAIL_ZH.get(k, k)}：{_value(v)}" for k, v in value.items())
    if isinstance(value, (bool, str)) and value in VALUE_ZH:
        return VALUE_ZH[value]
    return str(value)


def details_zh(detail: dict[str, Any] | None) -> list[tuple[str, str]]:
    """The detail fields as (label, value) pairs in Chinese."""
    return [(DETAIL_ZH.get(k, k), _value(v)) for k, v in (detail or {}).items()]
