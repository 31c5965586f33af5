"""A local stand-in for Alibaba Cloud SMS (http.server in a thread on 127.0.0.1): it checks each
request's signature with its own computation (written here from the documented algorithm, not with
webapp/sms) and answers OK with a BizId, or the error code a test asks for."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

KEY_ID, SECRET = "LTAI5tTestKeyId", "TestSecret+/=key"


def _enc(s: str) -> str:
    out = []
    for b in s.encode("utf-8"):
        c = chr(b)
        out.append(c if (c.isascii() and (c.isalnum() or c in "-_.~")) else f"%{b:02X}")
    return "".join(out)


def independent_signature(params: dict[str, str], secret: str) -> str:
    pairs = sorted((k, v) for k, v in params.items() if k != "Signature")
    canonical = "&".join(_enc(k) + "=" + _enc(v) for k, v in pairs)
    to_sign = "GET&" + _enc("/") + "&" + _enc(canonical)
    return base64.b64encode(hmac.new((secret + "&").encode(), to_sign.encode(), hashlib.sha1).digest()).decode()


class FakeAliyun:
    def __init__(self) -> None:
        self.requests: list[dict[str, str]] = []
        self.answers: list[tuple[int, dict]] = []    # queued answers; empty: OK
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}/"

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                query = urllib.parse.urlsplit(self.path).query
                params = dict(urllib.parse.parse_qsl(query, keep_blank_values=True))
                fake.requests.append(params)
                if params.get("AccessKeyId") != KEY_ID:
                    status, body = 404, {"Code": "InvalidAccessKeyId.NotFound",
                                         "Message": "Specified access key is not found."}
                elif params.get("Signature") != independent_signature(params, SECRET):
                    status, body = 400, {"Code": "SignatureDoesNotMatch",
                                         "Message": "Specified signature is not matched."}
                elif fake.answers:
                    status, body = fake.answers.pop(0)
                else:
                    status, body = 200, {"Code": "OK", "Message": "OK", "RequestId": "req-1",
                                         "BizId": f"biz-{len(fake.requests)}"}
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *a):
                pass

        return Handler


@pytest.fixture
def aliyun():
    fake = FakeAliyun()
    fake.thread.start()
    yield fake
    fake.server.shutdown()
    fake.server.server_close()


@pytest.fixture
def sms_aliyun(app, aliyun, monkeypatch):
    for k, v in {"SMS_BACKEND": "aliyun", "SMS_ENDPOINT": aliyun.url, "SMS_ACCESS_KEY_ID": KEY_ID,
                 "SMS_ACCESS_KEY_SECRET": SECRET, "SMS_SIGN_NAME": "某区政务公开",
                 "SMS_TEMPLATES": {"reminder": "SMS_100001", "answer": "SMS_100002", "confirmation": "SMS_100003",
                                   "submitted": "SMS_100004"}}.items():
        monkeypatch.setitem(app.config, k, v)
    return aliyun


# the applicant-side world (a government, departments, users) and its helpers
from tests.public.conftest import in_app, world  # noqa: E402, F401
from tests.workers.conftest import clean_redis, redis_url, smtp, worker_factory  # noqa: E402, F401
