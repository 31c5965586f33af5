from decimal import Decimal

import pytest

from webapp.domain.fees import compute_fee, fee_basis_zh, fee_per_item, fee_per_page
from webapp.domain.outcomes import Outcome, OutcomeError, application_outcome
from webapp.domain.policies import Policies


@pytest.mark.parametrize("items, earlier, want", [
    (10, 0, 0), (11, 0, 100), (12, 0, 200), (30, 0, 2000), (31, 0, 2200), (40, 0, 4000), (41, 0, 4300),
    (45, 0, 5500), (1, 10, 100), (2, 29, 300), (5, 0, 0),
])
def test_fee_per_item(items, earlier, want):
    assert fee_per_item(items, earlier) == Decimal(want)


@pytest.mark.parametrize("pages, want", [(30, 0), (31, 10), (100, 700), (101, 720), (150, 1700), (200, 2700),
                                         (201, 2740)])
def test_fee_per_page(pages, want):
    assert fee_per_page(pages) == Decimal(want)


def test_fee_basis_text_states_the_amount():
    assert compute_fee("per_page", 150) == Decimal(1700)
    assert fee_basis_zh("per_page", 150).endswith("应缴1700元。")
    assert "本次12件" in fee_basis_zh("per_item", 12)


def test_outcome_rows_cover_all_21_codes():
    assert len(Outcome) == 21
    assert Outcome.WITHHELD_THIRD_PARTY.report_row == "（三）4．保护第三方合法权益"
    assert Outcome.DISCLOSED.report_row == "予以公开"


@pytest.mark.parametrize("items, main, want", [
    (["disclosed"], None, "disclosed"),
    (["disclosed", "disclosed"], None, "disclosed"),
    (["disclosed", "unavailable.not_held"], None, "partial"),
    (["partial", "withheld.state_secret"], None, "partial"),
    (["withheld.state_secret", "unavailable.not_held"], "unavailable.not_held", "unavailable.not_held"),
])
def test_application_outcome(items, main, want):
    assert application_outcome(items, main) == Outcome(want)


def test_application_outcome_needs_main_ground_among_items():
    with pytest.raises(OutcomeError):
        application_outcome(["withheld.state_secret", "unavailable.not_held"])
    with pytest.raises(OutcomeError):
        application_outcome(["withheld.state_secret", "unavailable.not_held"], "disclosed")
    with pytest.raises(OutcomeError):
        application_outcome([])


def test_policies_defaults_and_validation():
    p = Policies()
    assert (p.correction_period_days, p.fee_payment_days, p.fee_pauses_clock, p.multi_item_outcome,
            p.appeal_year, p.auto_lapse) == (15, 20, True, "application", "filed", False)
    assert Policies.from_mapping({"auto_lapse": "on", "correction_period_days": "10"}) == Policies(
        auto_lapse=True, correction_period_days=10)
    with pytest.raises(ValueError):
        Policies.from_mapping({"nope": 1})
    with pytest.raises(ValueError):
        Policies(appeal_year="sometime")
