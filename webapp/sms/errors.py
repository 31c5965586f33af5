"""Chinese explanations of the SMS provider's error codes, for the admin outbox page (the raw text
stays behind <details>)."""

from __future__ import annotations

import re

ALIYUN_CODES = {
    "isv.MOBILE_NUMBER_ILLEGAL": "手机号码格式不正确，请核对号码",
    "isv.BUSINESS_LIMIT_CONTROL": "触发短信平台的发送频率限制（同一号码每分钟/每小时/每天条数），稍后自动重试",
    "isv.DAY_LIMIT_CONTROL": "已达到当日发送上限，次日自动重试",
    "isv.AMOUNT_NOT_ENOUGH": "短信账户余额不足，请充值",
    "isv.OUT_OF_SERVICE": "短信账户已停机（欠费），请充值",
    "isv.SMS_SIGNATURE_ILLEGAL": "短信签名不可用（未审核或已停用），请检查 SMS_SIGN_NAME",
    "isv.SMS_TEMPLATE_ILLEGAL": "短信模板不可用（未审核或模板编号有误），请检查模板编号配置",
    "isv.TEMPLATE_MISSING_PARAMETERS": "模板变量缺失，与平台登记的模板不一致",
    "isv.INVALID_PARAMETERS": "请求参数不合法",
    "isv.PARAM_LENGTH_LIMIT": "模板变量超出长度限制",
    "isv.MOBILE_COUNT_OVER_LIMIT": "手机号码数量超过上限",
    "isv.BLACK_KEY_CONTROL_LIMIT": "内容含有平台禁止的关键字",
    "isv.DENY_IP_RANGE": "本机 IP 不在短信平台允许的范围内",
    "isp.SYSTEM_ERROR": "短信平台系统错误，稍后自动重试",
    "isp.RAM_PERMISSION_DENY": "访问密钥没有发送短信的权限（RAM 授权）",
    "SignatureDoesNotMatch": "签名校验失败：访问密钥（SMS_ACCESS_KEY_SECRET）不正确",
    "InvalidAccessKeyId.NotFound": "访问密钥 ID（SMS_ACCESS_KEY_ID）不存在",
    "InvalidTimeStamp.Expired": "请求时间与平台相差过大，请校准服务器时钟",
    "SignatureNonceUsed": "请求随机数重复，稍后自动重试",
    # local codes (webapp/sms/providers.py)
    "network": "无法连接短信平台（网络或地址错误），稍后自动重试",
    "bad_answer": "短信平台的应答无法识别",
    "no_template": "未配置该类通知的短信模板编号",
}


def explain(last_error: str) -> str:
    """'<code>: <message>' as stored on the outbox row -> the Chinese explanation ('' if unknown)."""
    code = (last_error or "").split(":", 1)[0].strip()
    if re.fullmatch(r"HTTP\d{3}", code):
        return "短信平台返回 HTTP 错误" + code[4:]
    return ALIYUN_CODES.get(code, "")
