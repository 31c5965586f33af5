"""Who is who, as enums: staff roles, applicant kinds (rules.md §3), agency kinds. The values are
what the database, the interchange format and the forms hold; ``label_zh`` is the wording."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    CLERK = "clerk"          # 经办人
    APPROVER = "approver"    # 负责人 (信息公开工作机构负责人): approves extensions, marks reports final
    ADMIN = "admin"          # 管理员
    AUDITOR = "auditor"      # 审计（只读）

    @property
    def label_zh(self) -> str:
        return {"clerk": "经办人", "approver": "负责人", "admin": "管理员", "auditor": "审计（只读）"}[self]


class ApplicantKind(StrEnum):
    """自然人, or for 法人或其他组织 one of five (table 三's columns)."""

    NATURAL_PERSON = "natural_person"
    COMMERCIAL = "commercial"
    RESEARCH = "research"
    PUBLIC_INTEREST = "public_interest"
    LEGAL_SERVICE = "legal_service"
    OTHER_ORG = "other_org"

    @property
    def label_zh(self) -> str:
        return APPLICANT_KIND_LABELS_ZH[self]


APPLICANT_KIND_LABELS_ZH = {
    ApplicantKind.NATURAL_PERSON: "自然人",
    ApplicantKind.COMMERCIAL: "商业企业",
    ApplicantKind.RESEARCH: "科研机构",
    ApplicantKind.PUBLIC_INTEREST: "社会公益组织",
    ApplicantKind.LEGAL_SERVICE: "法律服务机构",
    ApplicantKind.OTHER_ORG: "其他",
}


class AgencyKind(StrEnum):
    DEPARTMENT = "department"   # 部门: its report is due by 31 January (Art. 49)
    GOVERNMENT = "government"   # 人民政府: its own report by 31 March; sees its departments
