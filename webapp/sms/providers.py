"""SMS providers behind one interface: ``send(phone, template_code, params, out_id)`` returns the
provider's message id or raises ``SmsError`` (code, message). Chosen by ``SMS_BACKEND``.

Alibaba Cloud SMS ``SendSms`` (API version 2017-05-25) is an RPC-style call: every parameter in the
query string, signed with the AccessKey secret (documented "RPC signature", SignatureVersion 1.0):

1. the parameters (common + SendSms, without Signature) sorted by name, names and values
   percent-encoded (RFC 3986: unreserved ``A-Za-z0-9-_.~`` kept, everything else %XX, UTF-8; so a
   space is %20, ``*`` %2A, ``~`` kept) and joined as ``k=v&k=v``;
2. StringToSign = ``GET&%2F&`` + percent-encode(that string);
3. Signature = Base64(HMAC-SHA1(key = AccessKeySecret + "&", StringToSign)), sent as one more
   percent-encoded parameter.

The answer is JSON: ``{"Code": "OK", "BizId": ..., "RequestId": ..., "Message": "OK"}`` or another
Code (e.g. ``isv.MOBILE_NUMBER_ILLEGAL``), explained in Chinese by ``errors.explain``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import urllib.error
import urllib.parse
import urllib.request
import uuid
from pathlib import Path
from typing import Any, Protocol

from webapp.timeutil import now_utc

DEFAULT_ALIYUN_ENDPOINT = "https://dysmsapi.aliyuncs.com/"
DEFAULT_LOG_DIR = Path(__file__).resolve().parents[2] / "instance" / "sms"


class SmsError(Exception):
    """A send that did not go through: the provider's code (or a local one) and its message."""

    def __init__(self, code: str, message: str = "") -> None:
        super().__init__(f"{code}: {message}" if message else code)
        self.code = code
        self.message = message


class SmsProvider(Protocol):
    name: str

    def send(self, phone: str, template_code: str, params: dict[str, str], out_id: str) -> str: ...


class LogProvider:
    """``make run`` without a provider: each SMS is one line of JSON appended to
    ``SMS_LOG_DIR``/sms.log (default instance/sms/); the outbox marks it sent as usual."""

    name = "log"

    def __init__(self, directory: str | os.PathLike | None = None, sign_name: str = "") -> None:
        self.directory = Path(directory or DEFAULT_LOG_DIR)
        self.sign_name = sign_name

    def send(self, phone: str, template_code: str, params: dict[str, str], out_id: str,
             text: str = "") -> str:
        self.directory.mkdir(parents=True, exist_ok=True)
        ident = f"log-{out_id}"
        line = json.dumps({"at": now_utc().isoformat(timespec="seconds"), "id": ident, "phone": phone,
                           "template": template_code, "params": params, "sign": self.sign_name,
                           "text": text}, ensure_ascii=False)
        with open(self.directory / "sms.log", "a", encoding="utf-8") as fh:
            fh.write(line + "\n")
        return ident


def percent_encode(value: str) -> str:
    """Alibaba Cloud's percent-encoding (RFC 3986 unreserved characters kept)."""
    return urllib.parse.quote(str(value), safe="-_.~", encoding="utf-8")


def aliyun_signature(params: dict[str, str], secret: str, method: str = "GET") -> str:
    canonical = "&".join(f"{percent_encode(k)}={percent_encode(params[k])}" for k in sorted(params))
    to_sign = f"{method}&{percent_encode('/')}&{percent_encode(canonical)}"
    digest = hmac.new((secret + "&").encode("utf-8"), to_sign.encode("utf-8"), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


class AliyunProvider:
    name = "aliyun"

    def __init__(self, access_key_id: str, access_key_secret: str, sign_name: str,
                 endpoint: str = DEFAULT_ALIYUN_ENDPOINT, region: str = "cn-hangzhou", timeout: float = 10) -> None:
        if not (access_key_id and access_key_secret and sign_name):
            raise ValueError("SMS_BACKEND=aliyun needs SMS_ACCESS_KEY_ID, SMS_ACCESS_KEY_SECRET and SMS_SIGN_NAME")
        self.access_key_id, self.secret, self.sign_name = access_key_id, access_key_secret, sign_name
        self.endpoint = endpoint or DEFAULT_ALIYUN_ENDPOINT
        self.region, self.timeout = region, timeout

    def signed_params(self, phone: str, template_code: str, params: dict[str, str], out_id: str,
                      nonce: str | None = None, timestamp: str | None = None) -> dict[str, str]:
        p = {
            "AccessKeyId": self.access_key_id, "Action": "SendSms", "Format": "JSON", "RegionId": self.region,
            "SignatureMethod": "HMAC-SHA1", "SignatureNonce": nonce or uuid.uuid4().hex,
            "SignatureVersion": "1.0", "Timestamp": timestamp or now_utc().strftime("%Y-%m-%dT%H:%M:%SZ"),
            "Version": "2017-05-25", "PhoneNumbers": phone, "SignName": self.sign_name,
            "TemplateCode": template_code,
            "TemplateParam": json.dumps(params, ensure_ascii=False, separators=(",", ":")),
            "OutId": out_id,
        }
        p["Signature"] = aliyun_signature(p, self.secret)
        return p

    def send(self, phone: str, template_code: str, params: dict[str, str], out_id: str, text: str = "") -> str:
        query = "&".join(f"{percent_encode(k)}={percent_encode(v)}"
                         for k, v in self.signed_params(phone, template_code, params, out_id).items())
        url = self.endpoint.rstrip("/") + "/?" + query
        try:
            with urllib.request.urlopen(urllib.request.Request(url, method="GET"), timeout=self.timeout) as r:
                raw = r.read()
        except urllib.error.HTTPError as e:   # the API answers errors with 4xx and a JSON body
            raw = e.read()
            if not raw:
                raise SmsError(f"HTTP{e.code}", str(e.reason)) from e
        except (urllib.error.URLError, OSError, TimeoutError) as e:
            raise SmsError("network", f"{type(e).__name__}: {e}") from e
        try:
            answer: dict[str, Any] = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as e:
            raise SmsError("bad_answer", raw[:200].decode("utf-8", "replace")) from e
        code = str(answer.get("Code") or "")
        if code != "OK":
            raise SmsError(code or "bad_answer", str(answer.get("Message") or ""))
        return str(answer.get("BizId") or answer.get("RequestId") or "")


def provider_for(config) -> SmsProvider:
    """The provider the configuration names (SMS_BACKEND: log | aliyun)."""
    backend = (config.get("SMS_BACKEND") or "log").lower()
    if backend == "log":
        return LogProvider(config.get("SMS_LOG_DIR") or None, config.get("SMS_SIGN_NAME") or "")
    if backend == "aliyun":
        return AliyunProvider(config.get("SMS_ACCESS_KEY_ID") or "", config.get("SMS_ACCESS_KEY_SECRET") or "",
                              config.get("SMS_SIGN_NAME") or "",
                              config.get("SMS_ENDPOINT") or DEFAULT_ALIYUN_ENDPOINT,
                              config.get("SMS_REGION") or "cn-hangzhou",
                              float(config.get("SMS_TIMEOUT") or 10))
    raise ValueError(f"unknown SMS_BACKEND {backend!r} (log | aliyun)")
