"""Review and sign-off (审核、签发, Art. 45): chains per agency and kind, drafts moving through them.

A clerk drafts (拟办) a case action - the answer, the extension, the fee or correction notice - as
the case page's form would record it; each review step approves or returns it with an opinion; an
approver signs it off, which records the statutory event on that day through the one service
function (cases/actions.perform -> cases/services.record_event) and issues the letter with the
signer printed on it. Every step is a non-statutory case event (``review_submitted``,
``review_approved``, ``review_returned``, ``signed_off``: hash-chained, no clock effect).
Callers commit; a refusal raises ServiceError and changes nothing. See docs/review.md.
"""

from .chains import (
    ACTION_KINDS,
    KINDS,
    MAX_STEPS,
    OPINION_LIMIT,
    chain_for,
    chains,
    current_step,
    kind_of,
    may_have_chain,
    needs_review,
    require_direct_allowed,
    set_chain,
)
from .drafts import (
    history,
    may_act,
    mine,
    open_draft,
    pending_for,
    rebuild_form,
    submit,
)
from .steps import approve, return_, sign_off, withdraw

__all__ = [
    "ACTION_KINDS",
    "KINDS",
    "MAX_STEPS",
    "OPINION_LIMIT",
    "approve",
    "chain_for",
    "chains",
    "current_step",
    "history",
    "kind_of",
    "may_act",
    "may_have_chain",
    "mine",
    "needs_review",
    "open_draft",
    "pending_for",
    "rebuild_form",
    "require_direct_allowed",
    "return_",
    "set_chain",
    "sign_off",
    "submit",
    "withdraw",
]
