"""Credit rules: last touch, a time-decayed split, every decision (the session outcome default), and tokens."""

from __future__ import annotations

import dataclasses

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from schemas.decisions import InterventionType
from schemas.rewards import RewardComponent
from streams.attribution import (
    Aggregation,
    AttributionConfig,
    ComponentRule,
    CreditRule,
    DecisionInfo,
    Outcome,
    OutcomeKind,
    PendingDecision,
    credit,
)
from tests.unit.test_attribution_kit import Record, at, decision, impression, purchase, run, survey

CONV = RewardComponent.CONVERSION
SUM_CONVERSION = ComponentRule(aggregation=Aggregation.SUM, weight=0.5)


def two_shown() -> list[Record]:
    return [decision("d1", 0), impression("i1", 1, "d1"), decision("d2", 100), impression("i2", 101, "d2")]


LAST_TOUCH = AttributionConfig(
    transaction_value=ComponentRule(aggregation=Aggregation.SUM),
    conversion=ComponentRule(aggregation=Aggregation.MAX, weight=0.5),
)
"""The session outcome components on the default credit rule (last touch) instead of their default ``every``."""


def test_last_touch_gives_everything_to_the_latest_shown_decision() -> None:
    result = run([*two_shown(), purchase("e1", 200)], LAST_TOUCH)
    assert (result.value("d1", CONV), result.value("d2", CONV)) == (0.0, 1.0)


def test_by_default_every_shown_decision_before_the_purchase_gets_the_session_outcome() -> None:
    result = run([*two_shown(), purchase("e1", 200, token="d1")])
    assert (result.value("d1", CONV), result.value("d2", CONV)) == (1.0, 1.0)
    tv = RewardComponent.TRANSACTION_VALUE
    assert result.value("d1", tv) == result.value("d2", tv) > 0


def test_a_decision_never_shown_gets_no_credit() -> None:
    result = run([decision("d1", 0), impression("i1", 1, "d1"), decision("d2", 100), purchase("e1", 200)])
    assert result.value("d1", CONV) == 1.0
    assert result.components("d2") == {RewardComponent.COMPOSITE: 0.0, RewardComponent.EARLY: 0.0}


def test_a_decision_shown_after_the_outcome_gets_no_credit() -> None:
    records = [
        decision("d1", 0),
        impression("i1", 1, "d1"),
        decision("d2", 100),
        purchase("e1", 110),
        impression("i2", 120, "d2"),
    ]
    result = run(records)
    assert (result.value("d1", CONV), result.value("d2", CONV)) == (1.0, 0.0)


def test_time_decay_splits_by_age_with_shares_summing_to_one() -> None:
    config = AttributionConfig(conversion=SUM_CONVERSION, credit=CreditRule.TIME_DECAY, half_life_s=100.0)
    result = run([*two_shown(), purchase("e1", 200)], config)
    # ages 200 s and 100 s: weights 1/4 and 1/2
    assert result.value("d1", CONV) == pytest.approx(1 / 3)
    assert result.value("d2", CONV) == pytest.approx(2 / 3)
    assert result.value("d1", CONV) + result.value("d2", CONV) == pytest.approx(1.0)


def test_last_touch_and_time_decay_credit_the_same_total() -> None:
    records = [
        *two_shown(),
        decision("d3", 150),
        impression("i3", 151, "d3"),
        survey("e1", 200, 4),
        survey("e2", 400, 4),
    ]
    satisfaction = ComponentRule(window_s=86_400.0, aggregation=Aggregation.SUM)
    for rule in (CreditRule.LAST_TOUCH, CreditRule.TIME_DECAY):
        result = run(records, AttributionConfig(satisfaction=satisfaction, credit=rule))
        values = [result.value(d, RewardComponent.SATISFACTION) for d in ("d1", "d2", "d3")]
        assert sum(values) == pytest.approx(2 * 0.5)
        assert (values[0] > 0) is (rule is CreditRule.TIME_DECAY)


def test_every_gives_each_eligible_decision_the_whole_outcome() -> None:
    config = AttributionConfig(conversion=ComponentRule(aggregation=Aggregation.MAX, credit=CreditRule.EVERY))
    result = run([*two_shown(), purchase("e1", 200)], config)
    assert (result.value("d1", CONV), result.value("d2", CONV)) == (1.0, 1.0)


@pytest.mark.parametrize(("honour", "winner"), [(True, "d1"), (False, "d2")])
def test_a_token_names_the_decision_when_honoured(honour: bool, winner: str) -> None:
    config = dataclasses.replace(LAST_TOUCH, honour_tokens=honour)
    result = run([*two_shown(), purchase("e1", 200, token="d1"), survey("e2", 300, 5, token="d1")], config)
    loser = {"d1": "d2", "d2": "d1"}[winner]
    assert result.value(winner, CONV) == 1.0
    assert result.value(loser, CONV) == 0.0
    assert result.value(winner, RewardComponent.SATISFACTION) == 1.0


def test_a_token_naming_an_ineligible_decision_falls_back_to_the_rule() -> None:
    records = [decision("d1", 0), *two_shown()[2:], purchase("e1", 200, token="d1")]  # d1 never shown
    result = run(records)
    assert result.value("d2", CONV) == 1.0
    assert result.unattributed == []


def test_a_session_links_an_anonymous_decision_to_the_logged_in_purchase() -> None:
    anonymous = msgspec.structs.replace(decision("d1", 0), user_id=None, anonymous_id="a1")
    result = run([anonymous, impression("i1", 1, "d1"), purchase("e1", 100, user="u-logged-in")])
    assert result.value("d1", CONV) == 1.0


def test_another_users_decision_is_never_credited() -> None:
    result = run([*two_shown(), purchase("e1", 200, user="u2", session="s9")])
    assert result.value("d2", CONV) == 0.0


# -- the credit function on its own ---------------------------------------------------------------------------------


def _pending(decision_id: str, seconds: float) -> PendingDecision:
    config = AttributionConfig()
    pending = PendingDecision.open(DecisionInfo.of(decision(decision_id, seconds)), config)
    pending.activated_us = pending.info.time_us
    return pending


def _outcome(seconds: float, token: str | None = None) -> Outcome:
    from streams.features.windows import to_micros

    return Outcome("e", OutcomeKind.PURCHASE, CONV, to_micros(at(seconds)), "u1", "s1", 1.0, token=token)


@given(ages=st.lists(st.integers(0, 1700), min_size=1, max_size=12), half_life=st.integers(1, 3600))
def test_time_decay_shares_always_sum_to_one_and_favour_recent_decisions(ages: list[int], half_life: int) -> None:
    candidates = sorted(
        (_pending(f"d{i}", 1800 - age) for i, age in enumerate(ages)),
        key=lambda p: (p.info.time_us, p.info.decision_id),
    )
    credits = credit(
        _outcome(1800),
        candidates,
        CreditRule.TIME_DECAY,
        half_life_us=half_life * 1_000_000,
        quick_exit_us=0,
        honour_tokens=True,
    )
    assert sum(share for _, share, _ in credits) == pytest.approx(1.0)
    shares = [share for _, share, _ in credits]
    assert shares == sorted(shares)  # oldest first, so shares never shrink


def test_credit_returns_nothing_without_an_eligible_decision() -> None:
    assert credit(_outcome(100), [], CreditRule.LAST_TOUCH, half_life_us=1, quick_exit_us=0, honour_tokens=True) == []
    not_shown = _pending("d1", 0)
    not_shown.activated_us = None
    got = credit(_outcome(100), [not_shown], CreditRule.EVERY, half_life_us=1, quick_exit_us=0, honour_tokens=True)
    assert got == []


def test_the_kind_of_action_does_not_change_conversion_credit() -> None:
    records = [
        decision("d1", 0, kind=InterventionType.UPSELL, product="p9"),
        impression("i1", 1, "d1"),
        purchase("e1", 100),
    ]
    assert run(records).value("d1", CONV) == 1.0
