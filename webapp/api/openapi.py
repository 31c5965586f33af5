"""The OpenAPI 3.0 document of the JSON API v1, and the small validator that checks request bodies
against the very schemas it publishes (so the document and the checks cannot drift apart)."""

from __future__ import annotations

import copy
from typing import Any

from webapp.cases.services import ITEM_TEXT_LIMIT, MAX_ITEMS
from webapp.cases.services.applicants import APPLICANT_KINDS, TEXT_LIMITS
from webapp.domain.kinds import NotifyVia
from webapp.public.services import DEFAULTS, FORMS_WANTED, ROUTES_WANTED

MAX_FILE_B64 = (DEFAULTS["SUBMISSION_MAX_FILE_BYTES"] * 4) // 3 + 4

ERROR_CODES = {
    400: ("invalid_request", "请求格式错误（JSON 无法解析，或字段、类型不符合接口说明）"),
    401: ("unauthorized", "缺少或无效的访问令牌"),
    403: ("forbidden", "该令牌无权向此机关提交申请"),
    404: ("not_found", "申请编号或查询码不正确"),
    405: ("method_not_allowed", "不支持该请求方法"),
    413: ("payload_too_large", "请求内容过大"),
    415: ("unsupported_media_type", "请以 application/json 提交"),
    422: ("validation_failed", "申请内容不符合要求"),
    429: ("rate_limited", "请求过于频繁，请稍后再试"),
    500: ("internal_error", "服务器内部错误，请稍后再试"),
}


def _s(max_length: int, min_length: int = 0, **kw: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"type": "string", "maxLength": max_length}
    if min_length:
        out["minLength"] = min_length
    out.update(kw)
    return out


APPLICANT = {
    "type": "object",
    "description": "申请人（rules.md §3）。自然人填写 id_number（居民身份证号码，校验位须正确），"
                   "法人或其他组织填写 uscc（统一社会信用代码，校验位须正确）；其他证件写入 id_document。"
                   "联系方式至少一项；选择电子邮件方式的须填写 email，选择邮寄的须填写 address。",
    "required": ["kind", "name"],
    "additionalProperties": False,
    "properties": {
        "kind": {"type": "string", "enum": list(APPLICANT_KINDS),
                 "description": "; ".join(f"{k}={v}" for k, v in APPLICANT_KINDS.items())},
        "name": _s(TEXT_LIMITS["name"], 1),
        "id_number": {**_s(18), "nullable": True, "example": "11010519491231002X"},
        "uscc": {**_s(18), "nullable": True, "example": "91350100M000100Y43"},
        "id_document": _s(TEXT_LIMITS["id_document"]),
        "phone": _s(TEXT_LIMITS["phone"]),
        "email": _s(TEXT_LIMITS["email"]),
        "address": _s(TEXT_LIMITS["address"]),
    },
}

ATTACHMENT_IN = {
    "type": "object",
    "description": "PDF、JPEG 或 PNG（按文件内容判断，后缀须与内容一致），每个不超过10MB。",
    "required": ["filename", "content_base64"],
    "additionalProperties": False,
    "properties": {
        "filename": _s(200, 1, example="身份证明.pdf"),
        "content_base64": {"type": "string", "format": "byte", "maxLength": MAX_FILE_B64},
    },
}

APPLICATION_REQUEST = {
    "type": "object",
    "required": ["applicant", "items", "form_wanted", "route_wanted"],
    "additionalProperties": False,
    "properties": {
        "agency": {**_s(40), "nullable": True,
                   "description": "受理机关代码；省略时为令牌所属机关。政府的令牌可填写其所属部门的代码。"},
        "applicant": APPLICANT,
        "items": {"type": "array", "minItems": 1, "maxItems": MAX_ITEMS,
                  "description": "所需信息的名称、文号或者便于查询的其他特征性描述，每项一条",
                  "items": _s(ITEM_TEXT_LIMIT, 1)},
        "form_wanted": {"type": "string", "enum": list(FORMS_WANTED),
                        "description": "; ".join(f"{k}={v}" for k, v in FORMS_WANTED.items())},
        "route_wanted": {"type": "string", "enum": list(ROUTES_WANTED),
                         "description": "; ".join(f"{k}={v}" for k, v in ROUTES_WANTED.items())},
        "notify_via": {"type": "string", "enum": [v.value for v in NotifyVia], "default": NotifyVia.EMAIL.value,
                       "description": "接收办理通知的方式：email=电子邮件; sms=短信（需11位手机号码）; both=两者"},
        "attachments": {"type": "array", "maxItems": DEFAULTS["SUBMISSION_MAX_FILES"], "items": ATTACHMENT_IN},
    },
}

STATUS_ENUM = ["submitted", "routed", "rejected", "registered", "awaiting_correction", "consulting",
               "awaiting_fee", "closed"]

APPLICATION_CREATED = {
    "type": "object",
    "required": ["number", "query_code", "duplicate", "status", "status_text", "submitted_on", "agency"],
    "properties": {
        "number": {"type": "string", "example": "WS-SWJ-20240610-004711"},
        "query_code": {"type": "string", "nullable": True,
                       "description": "查询码，只在首次提交时返回一次；重复提交时为 null"},
        "duplicate": {"type": "boolean",
                      "description": "10分钟内同一申请人提交了相同内容：返回此前的编号，不重复登记"},
        "status": {"type": "string", "enum": STATUS_ENUM},
        "status_text": {"type": "string"},
        "submitted_on": {"type": "string", "format": "date"},
        "agency": {"type": "object", "required": ["code", "name"],
                   "properties": {"code": {"type": "string"}, "name": {"type": "string"}}},
        "message": {"type": "string"},
    },
}

NOTICE = {
    "type": "object",
    "required": ["type", "title", "on", "detail", "emailed"],
    "properties": {"type": {"type": "string"}, "title": {"type": "string"},
                   "on": {"type": "string", "format": "date"}, "detail": {"type": "string"},
                   "emailed": {"type": "boolean"},
                   "mail_state": {"type": ["string", "null"], "enum": ["pending", "sending", "sent", "failed",
                                                                       "missing", None]},
                   "mail_text": {"type": "string"}},
}

LETTER = {
    "type": "object",
    "required": ["id", "filename", "size", "url"],
    "properties": {"id": {"type": "integer"}, "filename": {"type": "string"}, "size": {"type": "integer"},
                   "url": {"type": "string"}},
}

APPLICATION_STATUS = {
    "type": "object",
    "required": ["number", "status", "status_text", "agency", "notices", "letters"],
    "properties": {
        "number": {"type": "string"},
        "case_number": {"type": "string", "nullable": True},
        "agency": {"type": "string"},
        "status": {"type": "string", "enum": STATUS_ENUM},
        "status_text": {"type": "string", "description": "办理状态（中文）"},
        "submitted_on": {"type": "string", "format": "date", "nullable": True},
        "received_on": {"type": "string", "format": "date", "nullable": True,
                        "description": "收到申请之日（确认受理之日）"},
        "due_on": {"type": "string", "format": "date", "nullable": True, "description": "答复期限"},
        "due_provisional": {"type": "boolean", "description": "期限暂定（所涉年度节假日安排尚未公布）"},
        "closed_on": {"type": "string", "format": "date", "nullable": True},
        "reject_reason": {"type": "string", "nullable": True},
        "notices": {"type": "array", "items": NOTICE},
        "letters": {"type": "array", "items": LETTER,
                    "description": "可下载的文书（仅限选择电子方式获取的申请）"},
    },
}

ERROR = {
    "type": "object",
    "required": ["error", "message"],
    "properties": {
        "error": {"type": "string", "description": "机器可读的错误代码",
                  "enum": sorted({c for c, _ in ERROR_CODES.values()} | {"invalid_json"})},
        "message": {"type": "string", "minLength": 1, "description": "中文说明"},
        "rule": {"type": "string", "description": "未通过的规则（validation_failed、rate_limited 时）"},
    },
}


def _error_responses(*codes: int) -> dict[str, Any]:
    out = {}
    for code in codes:
        out[str(code)] = {"description": ERROR_CODES[code][1],
                          "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    return out


CODE_PARAMS = [
    {"name": "number", "in": "path", "required": True, "description": "申请编号（提交时返回）或案件编号",
     "schema": {"type": "string", "maxLength": 80}},
    {"name": "X-Query-Code", "in": "header", "required": True,
     "description": "查询码（只在请求头中传递，不放在网址里：网址会进入访问日志）",
     "schema": {"type": "string", "maxLength": 64}},
]


def openapi_document() -> dict[str, Any]:
    doc = {
        "openapi": "3.0.3",
        "info": {
            "title": "政府信息公开网上申请接口",
            "version": "1.0.0",
            "description": (
                "供政府门户网站自建申请表单使用。每个机关的令牌由管理员发放，以 "
                "`Authorization: Bearer <令牌>` 提交。提交的申请进入受理机关的待确认队列，"
                "工作人员确认之日为收到申请之日（条例第三十一条）。错误一律以 JSON 返回："
                "`{\"error\": 代码, \"message\": 中文说明}`。查询失败（编号不存在或查询码错误，二者不作区分）"
                "每个编号每小时最多5次。"),
        },
        "servers": [{"url": "/"}],
        "security": [{"bearerAuth": []}],
        "paths": {
            "/api/v1/applications": {
                "post": {
                    "operationId": "createApplication",
                    "summary": "提交政府信息公开申请",
                    "requestBody": {"required": True, "content": {"application/json": {
                        "schema": {"$ref": "#/components/schemas/ApplicationRequest"}}}},
                    "responses": {
                        "201": {"description": "已提交，返回申请编号和查询码（查询码只返回这一次）",
                                "content": {"application/json": {
                                    "schema": {"$ref": "#/components/schemas/ApplicationCreated"}}}},
                        "200": {"description": "10分钟内的重复提交：返回此前的申请编号，不重复登记",
                                "content": {"application/json": {
                                    "schema": {"$ref": "#/components/schemas/ApplicationCreated"}}}},
                        **_error_responses(400, 401, 403, 413, 415, 422, 429),
                    },
                },
            },
            "/api/v1/applications/{number}": {
                "get": {
                    "operationId": "getApplication",
                    "summary": "凭申请编号和查询码查询办理状态",
                    "parameters": CODE_PARAMS,
                    "responses": {
                        "200": {"description": "办理状态", "content": {"application/json": {
                            "schema": {"$ref": "#/components/schemas/ApplicationStatus"}}}},
                        **_error_responses(400, 401, 404, 429),
                    },
                },
            },
            "/api/v1/applications/{number}/letters/{letter_id}": {
                "get": {
                    "operationId": "getApplicationLetter",
                    "summary": "下载寄给申请人的文书（仅限选择电子方式获取的申请）",
                    "parameters": [*CODE_PARAMS, {"name": "letter_id", "in": "path", "required": True,
                                                  "schema": {"type": "integer", "minimum": 1}}],
                    "responses": {
                        "200": {"description": "文书文件",
                                "content": {"application/octet-stream": {
                                    "schema": {"type": "string", "format": "binary"}}}},
                        **_error_responses(400, 401, 404, 429),
                    },
                },
            },
            "/api/v1/openapi.json": {
                "get": {"operationId": "getOpenApi", "summary": "本接口说明（OpenAPI 3.0）", "security": [],
                        "responses": {"200": {"description": "OpenAPI 文档",
                                              "content": {"application/json": {"schema": {"type": "object"}}}}}},
            },
        },
        "components": {
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer",
                                               "description": "管理员为本机关发放的接口令牌"}},
            "schemas": {
                "Applicant": APPLICANT, "Attachment": ATTACHMENT_IN, "ApplicationRequest": APPLICATION_REQUEST,
                "ApplicationCreated": APPLICATION_CREATED, "ApplicationStatus": APPLICATION_STATUS,
                "Notice": NOTICE, "Letter": LETTER, "Error": ERROR,
            },
        },
    }
    return copy.deepcopy(doc)


# --- request validation against the published schema ---------------------------------------------

class SchemaError(ValueError):
    def __init__(self, path: str, message_zh: str):
        super().__init__(f"{path}: {message_zh}")
        self.path = path
        self.message_zh = message_zh


_TYPES = {"object": dict, "array": list, "string": str, "integer": int, "boolean": bool}
_TYPE_ZH = {"object": "对象", "array": "数组", "string": "字符串", "integer": "整数", "boolean": "布尔值"}


def validate(value: Any, schema: dict[str, Any], path: str = "$") -> None:
    """Check ``value`` against the subset of OpenAPI 3.0 schema used above; SchemaError if not."""
    if value is None:
        if schema.get("nullable"):
            return
        raise SchemaError(path, f"{path} 不能为空（null）")
    t = schema.get("type")
    if t is not None:
        ok = isinstance(value, _TYPES[t]) and not (t == "integer" and isinstance(value, bool))
        if not ok:
            raise SchemaError(path, f"{path} 应为{_TYPE_ZH[t]}")
    if "enum" in schema and value not in schema["enum"]:
        raise SchemaError(path, f"{path} 取值无效，应为：{'、'.join(map(str, schema['enum']))}")
    if t == "string":
        if len(value) > schema.get("maxLength", 10**9):
            raise SchemaError(path, f"{path} 过长（不超过{schema['maxLength']}字）")
        if len(value) < schema.get("minLength", 0):
            raise SchemaError(path, f"{path} 不能为空")
    elif t == "array":
        if len(value) > schema.get("maxItems", 10**9):
            raise SchemaError(path, f"{path} 不超过{schema['maxItems']}项")
        if len(value) < schema.get("minItems", 0):
            raise SchemaError(path, f"{path} 至少{schema['minItems']}项")
        for i, v in enumerate(value):
            validate(v, schema.get("items", {}), f"{path}[{i}]")
    elif t == "object":
        props = schema.get("properties", {})
        for key in schema.get("required", []):
            if key not in value:
                raise SchemaError(f"{path}.{key}", f"缺少字段 {path}.{key}")
        if schema.get("additionalProperties") is False:
            extra = [k for k in value if k not in props]
            if extra:
                raise SchemaError(path, f"{path} 含有未定义的字段：{'、'.join(map(str, extra))[:200]}")
        for key, v in value.items():
            if key in props:
                validate(v, props[key], f"{path}.{key}")
