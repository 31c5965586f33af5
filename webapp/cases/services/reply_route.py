"""The applicant must be reachable the way they chose to receive the information (rules.md §3): one
rule for the public form and the API (public/services.clean_submission) and for the desk
intake (webapp/intake): delivery by e-mail needs an e-mail address, delivery by post a postal
address."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from webapp.domain.kinds import FormWanted, RouteWanted
from webapp.errors import ServiceError


def is_electronic(form_wanted: str, route_wanted: str) -> bool:
    return form_wanted == FormWanted.EMAIL or route_wanted == RouteWanted.EMAIL


def check_reply_route(applicant: Mapping[str, Any], form_wanted: str, route_wanted: str) -> None:
    """Raise ServiceError (rule ``applicant.email`` or ``applicant.address``) when the applicant gave
    no way to reach them that fits the chosen delivery."""
    if is_electronic(form_wanted, route_wanted) and not (applicant.get("email") or "").strip():
        raise ServiceError("an e-mail address is needed for electronic delivery",
                           "选择电子邮件方式的，须填写电子邮箱", rule="applicant.email")
    if route_wanted == RouteWanted.POST and not (applicant.get("address") or "").strip():
        raise ServiceError("a postal address is needed for delivery by post",
                           "选择邮寄的，须填写通信地址", rule="applicant.address")
