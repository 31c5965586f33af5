"""Issue 15: the case page's answer form written once per number of items, the case's item texts
filled in (cases/action_forms.answer_html); its two fixed forms (显示完整信息, the upload) written once
per app, the request's token filled in (page_forms_html); the case's appeals not joined to its
statement: a case with none has its collection set empty, one with some shows them."""

from __future__ import annotations

import re
from datetime import date

from webapp.cases.services.appeals import record_appeal
from webapp.extensions import db
from webapp.models import Case, User

from .helpers import csrf_token
from .test_case_display_forms import forms_built
from .test_request_path import _read

RECEIVED = date(2024, 6, 3)
LONG = "关于<某某>项目的批复文件及其附件，包括可行性研究报告、环境影响评价报告和专家评审意见等全部材料"


def _answer_labels(page: str) -> list[str]:
    part = page.split('id="action-answer"')[1].split("</details>")[0]
    return re.findall(r'<label for="answer-outcomes-\d+">([^<]*(?:&lt;[^<]*)*)</label>', part)


def test_answer_memo_per_number_of_items_texts_filled_in(app, world, new_case, login, monkeypatch):
    first = new_case(world.a, RECEIVED, items=["本机关2023年度部门预算", LONG])
    second = new_case(world.a, RECEIVED, items=["某某文件", "某某&通知"])
    built = forms_built(app, monkeypatch)
    client = login(world.a.clerk)
    page = client.get(f"/cases/{first}").text
    assert built.count("answer") == 1
    assert _answer_labels(page) == ["第1项：本机关2023年度部门预算",
                                    "第2项：关于&lt;某某&gt;项目的批复文件及其附件，包括可行性研究报告、环境影响评价报告和专家…"]
    built.clear()
    page = client.get(f"/cases/{second}").text
    assert built == []      # two items again: from the memo
    assert _answer_labels(page) == ["第1项：某某文件", "第2项：某某&amp;通知"]
    # the same HTML as written without the memo
    app.extensions.pop("cases.display_forms", None)
    assert client.get(f"/cases/{second}").text == page
    assert built.count("answer") == 1


def test_fixed_forms_carry_the_request_token(app, world, new_case, login, csrf_on):
    cid = new_case(world.a, RECEIVED)
    app.extensions.pop("cases.page_forms", None)
    page = login(world.a.clerk).get(f"/cases/{cid}").text
    assert set(app.extensions["cases.page_forms"]) == {True}      # written once, CSRF on
    token = csrf_token(page)
    personal = page.split('id="show-personal"')[0].rsplit("<form", 1)[1]
    upload = page.split('class="upload">')[1].split("</form>")[0]
    assert f'<input id="csrf_token" name="csrf_token" type="hidden" value="{token}">' in personal
    assert upload.startswith(f'\n    <input id="csrf_token" name="csrf_token" type="hidden" value="{token}">\n'
                             '    <label for="files">')
    other = login(world.a.clerk).get(f"/cases/{cid}").text
    assert csrf_token(other) != token and f'value="{csrf_token(other)}"' in other.split('class="upload">')[1]


def test_appeals_not_joined_shown_when_recorded(app, world, new_case, login, in_app):
    cid = new_case(world.a, RECEIVED)
    client = login(world.a.clerk)
    seen, page = _read(app, client, f"/cases/{cid}")
    assert not [s for s in seen if re.search(r"\bappeal\b", s) and "EXISTS" not in s.upper()]
    assert 'id="appeals"' not in page

    def appeal():
        case = db.session.get(Case, cid)
        record_appeal(case, "review", date(2024, 7, 1), "pending", None,
                      actor=db.session.get(User, world.a.clerk), today=date(2024, 7, 1))
        db.session.commit()
    in_app(appeal)
    seen, page = _read(app, client, f"/cases/{cid}")
    assert 'id="appeals"' in page and '<td class="mono">2024-07-01</td>' in page
