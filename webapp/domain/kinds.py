"""Who is who, and the closed kinds of the records around a case, as enums: staff roles, applicant
kinds (rules.md §3), agency kinds; a review chain's kind, a handover's, a letter's, a delivery's
method, an outbox row's channel, an online submission's source, an attachment's kind; how a person
wants notices (e-mail, SMS or both); in what form and by what way an applicant wants the
information (FormWanted, RouteWanted). The values
are what the database (plain VARCHAR columns, models/_types.ENUM_COLUMNS), the interchange format
and the forms hold; ``label_zh`` is the wording."""

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


class ReviewKind(StrEnum):
    """The kind of act a review chain (审核/签发, models/review.ReviewChain) and its drafts are for."""

    ANSWER_DISCLOSURE = "answer_disclosure"
    ANSWER_ADVERSE = "answer_adverse"
    ANSWER_OTHER = "answer_other"
    EXTENSION = "extension"      # always signed off by an approver (Art. 33)
    FEE_NOTICE = "fee_notice"
    CORRECTION = "correction"

    @property
    def label_zh(self) -> str:
        return {"answer_disclosure": "答复（予以公开、部分公开）",
                "answer_adverse": "答复（不予公开、无法提供、不予处理）",
                "answer_other": "答复（其他处理）", "extension": "延期答复", "fee_notice": "收费通知",
                "correction": "补正告知"}[self]


class HandoverKind(StrEnum):
    """What a routing to another office (models/handover.Handover) carries."""

    SUBMISSION = "submission"   # an online submission, not yet a case: the clock has not started
    CASE = "case"               # a registered case whose clock runs


class LetterKind(StrEnum):
    """The letters sent in a case (templates/letters/<kind>.txt); their titles: labels.LETTER_TITLES."""

    CORRECTION = "correction"
    CONSULTATION = "consultation"   # to a third party, not to the applicant
    EXTENSION = "extension"
    FEE = "fee"
    ANSWER = "answer"

    @property
    def to_applicant(self) -> bool:
        """Sent to the applicant (delivered, announced), not to a third party or another agency."""
        return self != LetterKind.CONSULTATION


class DeliveryMethod(StrEnum):
    """How a letter reached the applicant (送达, models/delivery.Delivery)."""

    POST = "post"        # a tracking number (邮件号); the only method whose letter can come back
    EMAIL = "email"      # the outbox mail that carried it
    PICKUP = "pickup"    # the applicant's signed receipt
    ONLINE = "online"    # the status page

    @property
    def label_zh(self) -> str:
        return {"post": "邮寄", "email": "电子邮件", "pickup": "当面领取", "online": "网上获取（状态查询页）"}[self]


class MailChannel(StrEnum):
    """What an outbox row (models/notify.OutboxMail) is."""

    EMAIL = "email"   # to_addr a mail address
    SMS = "sms"       # to_addr a mobile number (webapp/sms/)


class SubmissionSource(StrEnum):
    """Where an online submission (models/submission.Submission) came from."""

    WEB = "web"   # the applicant's form
    API = "api"   # a government portal through the JSON API


class AttachmentKind(StrEnum):
    """What a case's file (models/case.Attachment) is."""

    SCAN = "scan"         # an uploaded scan (the application, its files)
    LETTER = "letter"     # a letter the system wrote (.docx): no personal data beyond the name
    PROOF = "proof"       # a delivery's proof (the applicant's signed receipt)
    DOSSIER = "dossier"   # the archived case file (PDF)


class NotifyVia(StrEnum):
    """How a person wants notices: an applicant as filed (Submission, Case), a staff member their
    reminders (User, with ``User.mobile``); webapp/sms/."""

    EMAIL = "email"
    SMS = "sms"
    BOTH = "both"

    @property
    def label_zh(self) -> str:
        return {"email": "电子邮件", "sms": "短信", "both": "电子邮件和短信"}[self]

    def wants(self, channel: MailChannel) -> bool:
        """Notices by ``channel`` (an e-mail, an SMS) are wanted."""
        return self == NotifyVia.BOTH or self.value == channel.value


class _Wanted(StrEnum):
    """An applicant's stated choice; NOT_STATED (""): a case that never said (an imported one)."""

    @classmethod
    def choices(cls) -> dict[str, str]:
        """value -> label of the forms (every stated one)."""
        return {m.value: m.label_zh for m in cls if m.value}


class FormWanted(_Wanted):
    """In what form the applicant wants the information (信息提供形式: Submission, Case)."""

    PAPER = "paper"
    EMAIL = "email"
    DISK = "disk"
    READING = "reading"
    NOT_STATED = ""

    @property
    def label_zh(self) -> str:
        return {"paper": "纸质", "email": "电子邮件", "disk": "光盘等存储介质", "reading": "当场阅读、抄录",
                "": "—"}[self]


class RouteWanted(_Wanted):
    """By what way the applicant wants to receive it (获取信息方式: Submission, Case). The public form
    and the API offer post, pickup and e-mail; the desk also online."""

    POST = "post"
    PICKUP = "pickup"
    EMAIL = "email"
    ONLINE = "online"
    NOT_STATED = ""

    @property
    def label_zh(self) -> str:
        return {"post": "邮寄", "pickup": "自行领取", "email": "电子邮件", "online": "网上获取", "": "—"}[self]
