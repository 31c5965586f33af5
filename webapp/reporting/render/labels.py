"""Labels of the annual report's tables and sections, worded exactly as the national format.

The format is 国办公开办函〔2021〕30号; the wording follows the published report in
tests/data/reference (note the fullwidth '．' after the item numbers of （三）（四）（五） and the plain
'.' in （六）, as the format itself has them). Keys are the JSON keys of report.md.

Absent label levels are None, so a display label is ``"".join(x for x in levels if x)``.
"""

from __future__ import annotations

from webapp.domain.outcomes import Outcome

# -- Table 二 (主动公开). Each entry: (row key, item of Art. 20, 信息内容 label, [(column key, label)]).
# A row with one figure has the column key None: its value is report["proactive"][row] itself.
PROACTIVE_ROWS: list[tuple[str, str, str, list[tuple[str | None, str]]]] = [
    ("rules", "第二十条第（一）项", "规章",
     [("issued", "本年制发件数"), ("repealed", "本年废止件数"), ("in_force", "现行有效件数")]),
    ("normative_documents", "第二十条第（一）项", "行政规范性文件",
     [("issued", "本年制发件数"), ("repealed", "本年废止件数"), ("in_force", "现行有效件数")]),
    ("licensing_decisions", "第二十条第（五）项", "行政许可", [(None, "本年处理决定数量")]),
    ("penalty_decisions", "第二十条第（六）项", "行政处罚", [(None, "本年处理决定数量")]),
    ("coercion_decisions", "第二十条第（六）项", "行政强制", [(None, "本年处理决定数量")]),
    ("fees_10k_yuan", "第二十条第（八）项", "行政事业性收费", [(None, "本年收费金额（单位：万元）")]),
]
PROACTIVE_CONTENT_HEADER = "信息内容"

# -- Table 三 (依申请公开).
TABLE3_CAPTION = "（本列数据的勾稽关系为：第一项加第二项之和，等于第三项加第四项之和）"
APPLICANT_HEADER = "申请人情况"
ORGANISATION_HEADER = "法人或其他组织"

TABLE3_COLUMNS: list[tuple[str, str]] = [
    ("natural_person", "自然人"),
    ("commercial", "商业企业"),
    ("research", "科研机构"),
    ("public_interest", "社会公益组织"),
    ("legal_service", "法律服务机构"),
    ("other_org", "其他"),
    ("total", "总计"),
]
#: The five columns that stand under 法人或其他组织.
ORGANISATION_COLUMNS = ["commercial", "research", "public_interest", "legal_service", "other_org"]

RESULTS = "三、本年度办理结果"
_WITHHELD = "（三）不予公开"
_UNAVAILABLE = "（四）无法提供"
_NOT_PROCESSED = "（五）不予处理"
_OTHER = "（六）其他处理"

# outcome code -> (level 2, level 3) under 三、本年度办理结果
_OUTCOME_ROWS: dict[str, tuple[str, str | None]] = {
    Outcome.DISCLOSED: ("（一）予以公开", None),
    Outcome.PARTIAL: ("（二）部分公开（区分处理的，只计这一情形，不计其他情形）", None),
    Outcome.WITHHELD_STATE_SECRET: (_WITHHELD, "1．属于国家秘密"),
    Outcome.WITHHELD_PROHIBITED_BY_LAW: (_WITHHELD, "2．其他法律行政法规禁止公开"),
    Outcome.WITHHELD_SECURITY_STABILITY: (_WITHHELD, "3．危及“三安全一稳定”"),
    Outcome.WITHHELD_THIRD_PARTY: (_WITHHELD, "4．保护第三方合法权益"),
    Outcome.WITHHELD_INTERNAL_AFFAIRS: (_WITHHELD, "5．属于三类内部事务信息"),
    Outcome.WITHHELD_PROCESS_INFO: (_WITHHELD, "6．属于四类过程性信息"),
    Outcome.WITHHELD_ENFORCEMENT_FILE: (_WITHHELD, "7．属于行政执法案卷"),
    Outcome.WITHHELD_QUERY_MATTER: (_WITHHELD, "8．属于行政查询事项"),
    Outcome.UNAVAILABLE_NOT_HELD: (_UNAVAILABLE, "1．本机关不掌握相关政府信息"),
    Outcome.UNAVAILABLE_NEEDS_CREATION: (_UNAVAILABLE, "2．没有现成信息需要另行制作"),
    Outcome.UNAVAILABLE_UNCLEAR_AFTER_CORRECTION: (_UNAVAILABLE, "3．补正后申请内容仍不明确"),
    Outcome.NOT_PROCESSED_PETITION: (_NOT_PROCESSED, "1．信访举报投诉类申请"),
    Outcome.NOT_PROCESSED_DUPLICATE: (_NOT_PROCESSED, "2．重复申请"),
    Outcome.NOT_PROCESSED_PUBLICATION: (_NOT_PROCESSED, "3．要求提供公开出版物"),
    Outcome.NOT_PROCESSED_EXCESSIVE: (_NOT_PROCESSED, "4．无正当理由大量反复申请"),
    Outcome.NOT_PROCESSED_CONFIRM_OR_REISSUE: (_NOT_PROCESSED, "5．要求行政机关确认或重新出具已获取信息"),
    Outcome.OTHER_CORRECTION_LAPSED: (
        _OTHER, "1.申请人无正当理由逾期不补正、行政机关不再处理其政府信息公开申请"),
    Outcome.OTHER_FEE_UNPAID: (
        _OTHER, "2.申请人逾期未按收费通知要求缴纳费用、行政机关不再处理其政府信息公开申请"),
    Outcome.OTHER_OTHER: (_OTHER, "3.其他"),
}
assert set(_OUTCOME_ROWS) == set(Outcome), "every outcome code has its table 三 row"

#: Table 三 rows in the order of the format: (row key, level 1, level 2, level 3).
#: Row keys: 'new', 'carried_in', the 21 outcome codes, 'total', 'carried_out'.
TABLE3_ROWS: list[tuple[str, str, str | None, str | None]] = (
    [("new", "一、本年新收政府信息公开申请数量", None, None),
     ("carried_in", "二、上年结转政府信息公开申请数量", None, None)]
    + [(o.value, RESULTS, *_OUTCOME_ROWS[o]) for o in Outcome]
    + [("total", RESULTS, "（七）总计", None),
       ("carried_out", "四、结转下年度继续办理", None, None)]
)
OUTCOME_CODES: list[str] = [o.value for o in Outcome]

# -- Table 四 (行政复议、行政诉讼): (group key, level 1, level 2).
TABLE4_GROUPS: list[tuple[str, str, str | None]] = [
    ("review", "行政复议", None),
    ("litigation_direct", "行政诉讼", "未经复议直接起诉"),
    ("litigation_after_review", "行政诉讼", "复议后起诉"),
]
TABLE4_RESULTS: list[tuple[str, str]] = [
    ("upheld", "结果维持"),
    ("corrected", "结果纠正"),
    ("other", "其他结果"),
    ("pending", "尚未审结"),
    ("total", "总计"),
]

# -- Sections, in the order of the format.
SECTION_HEADINGS: dict[str, str] = {
    "overview": "一、总体情况",
    "proactive": "二、主动公开政府信息情况",
    "applications": "三、收到和处理政府信息公开申请情况",
    "appeals": "四、政府信息公开行政复议、行政诉讼情况",
    "problems": "五、存在的主要问题及改进情况",
    "other": "六、其他需要报告的事项",
}

#: Narrative texts in the order they appear: (narrative key, section, run-in heading or None).
#: The run-in heading starts the key's first paragraph, as in the published reports;
#: 'other_matters' carries its own headings (（二）建议提案办理情况 ...).
NARRATIVE_PARTS: list[tuple[str, str, str | None]] = [
    ("overview", "overview", None),
    ("proactive", "overview", "（一）主动公开信息情况。"),
    ("on_request", "overview", "（二）依申请公开工作情况。"),
    ("management", "overview", "（三）政府信息管理情况。"),
    ("platform", "overview", "（四）政府信息公开平台建设情况。"),
    ("oversight", "overview", "（五）政府信息公开监督保障情况。"),
    ("problems", "problems", "（一）存在的主要问题："),
    ("measures", "problems", "（二）整改措施："),
    ("fees", "other", "（一）依申请公开政府信息处理费收费情况。"),
    ("other_matters", "other", None),
]
NARRATIVE_KEYS: list[str] = [key for key, _section, _heading in NARRATIVE_PARTS]
