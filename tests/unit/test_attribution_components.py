"""Reward components: what each one counts, its window and backward window, defaults, aggregations, weights."""

from __future__ import annotations

import math

import pytest

from schemas.decisions import InterventionType
from schemas.rewards import RewardComponent
from streams.attribution import Aggregation, AttributionConfig, ComponentRule, CreditRule, ValueClaim
from tests.unit.test_attribution_kit import (
    Record,
    chat,
    click,
    decision,
    dismiss,
    impression,
    page_view,
    purchase,
    run,
    session_end,
    signup,
    survey,
    unsubscribe,
)

TV = RewardComponent.TRANSACTION_VALUE
CONV = RewardComponent.CONVERSION
SAT = RewardComponent.SATISFACTION
RET = RewardComponent.RETENTION
PEN = RewardComponent.PENALTY
COMPOSITE = RewardComponent.COMPOSITE
EARLY = RewardComponent.EARLY


def shown(
    decision_id: str = "d1",
    t: float = 0,
    kind: InterventionType = InterventionType.CHECKOUT_NUDGE,
    **kwargs: object,
) -> list[Record]:
    """A decision and its impression one second later."""
    session = str(kwargs.get("session", "s1"))
    return [
        decision(decision_id, t, kind=kind, **kwargs),  # type: ignore[arg-type]
        impression(f"imp-{decision_id}", t + 1, decision_id, session=session),
    ]


# -- transaction value ----------------------------------------------------------------------------------------------


def test_transaction_value_is_the_whole_order_net_of_discounts_squashed_by_tanh() -> None:
    result = run([*shown(), purchase("e1", 100, [("p1", 50.0), ("p2", 30.0)], discount=5.0)])
    assert result.value("d1", TV) == pytest.approx(math.tanh(75.0 / 100.0))


@pytest.mark.parametrize(
    ("kind", "product", "category", "expected_net"),
    [
        (InterventionType.UPSELL, "p2", None, 30.0),
        (InterventionType.CROSS_SELL, None, "hats", 80.0),
        (InterventionType.DISCOUNT, None, None, 80.0),
        (InterventionType.NONE, None, None, 80.0),
    ],
)
def test_transaction_value_is_what_the_action_offered(
    kind: InterventionType, product: str | None, category: str | None, expected_net: float
) -> None:
    records = [
        decision("d1", 0, kind=kind, product=product, category=category),
        impression("i1", 1, "d1"),
        purchase("e1", 100, [("p1", 50.0), ("p2", 30.0)], category="hats"),
    ]
    offered = AttributionConfig(value_claim=ValueClaim.OFFERED)
    assert run(records, offered).value("d1", TV) == pytest.approx(math.tanh(expected_net / 100.0))
    # the default claims the whole order: the session's outcome after the decision, whatever it offered
    assert run(records).value("d1", TV) == pytest.approx(math.tanh(80.0 / 100.0))


def test_a_purchase_without_the_offered_product_earns_no_value_but_converts() -> None:
    records = [*shown(kind=InterventionType.UPSELL, product="p9"), purchase("e1", 100, [("p1", 50.0)])]
    result = run(records, AttributionConfig(value_claim=ValueClaim.OFFERED))
    assert result.value("d1", TV) == 0.0
    assert result.value("d1", CONV) == 1.0


@pytest.mark.parametrize(("at", "counted"), [(1800, True), (1801, False), (-5, True), (-6, False)])
def test_window_and_backward_window_of_the_decision(at: float, counted: bool) -> None:
    # attribution_window_s = 1800 (the decision's own), backward window 5 s; shown (clock skew) before the purchase
    records = [impression("i1", -5, "d1"), decision("d1", 0), purchase("e1", at)]
    assert (run(records).value("d1", CONV) == 1.0) is counted


def test_a_configured_window_overrides_the_decisions_own() -> None:
    config = AttributionConfig(conversion=ComponentRule(window_s=60.0, aggregation=Aggregation.MAX))
    records = [*shown(window_s=1800), purchase("e1", 61)]
    assert run(records, config).value("d1", CONV) == 0.0
    assert run([*shown(window_s=1800), purchase("e1", 61)]).value("d1", CONV) == 1.0


def test_the_decisions_own_window_is_capped_by_the_longest_configured_one() -> None:
    short = ComponentRule(window_s=600.0)
    config = AttributionConfig(satisfaction=short, retention=short, penalty=short)
    assert config.longest_window_s == 600.0
    records = [*shown(window_s=100_000), purchase("e1", 599), purchase("e2", 1000)]
    result = run(records, config)
    assert result.value("d1", CONV) == 1.0
    tv = [r for r in result.rewards if r.decision_id == "d1" and r.component is TV]
    assert tv[0].outcome_event_ids == ["e1"]


@pytest.mark.parametrize(
    ("aggregation", "expected_net"),
    [(Aggregation.SUM, 90.0), (Aggregation.MAX, 60.0), (Aggregation.EARLIEST, 30.0), (Aggregation.AVERAGE, 45.0)],
)
def test_aggregations_over_several_outcomes(aggregation: Aggregation, expected_net: float) -> None:
    config = AttributionConfig(transaction_value=ComponentRule(aggregation=aggregation))
    records = [*shown(), purchase("e2", 200, [("p2", 60.0)]), purchase("e1", 100, [("p1", 30.0)])]
    assert run(records, config).value("d1", TV) == pytest.approx(math.tanh(expected_net / 100.0))


# -- conversion -----------------------------------------------------------------------------------------------------


def test_conversion_is_one_however_many_purchases_with_max() -> None:
    result = run([*shown(), purchase("e1", 10), purchase("e2", 20)])
    assert result.value("d1", CONV) == 1.0


@pytest.mark.parametrize(("kind", "expected"), [(InterventionType.EMAIL_CAPTURE, 0.1), (InterventionType.UPSELL, 0.0)])
def test_an_email_signup_converts_only_an_email_capture(kind: InterventionType, expected: float) -> None:
    assert run([*shown(kind=kind), click("c1", 5, "d1"), signup("e1", 30)]).value("d1", CONV) == expected


def test_an_organic_signup_earns_an_unclicked_email_capture_nothing() -> None:
    shown_only = [*shown(kind=InterventionType.EMAIL_CAPTURE), signup("e1", 30)]
    assert run(shown_only).value("d1", CONV) == 0.0
    clicked_after = [*shown(kind=InterventionType.EMAIL_CAPTURE), signup("e1", 30), click("c1", 40, "d1")]
    assert run(clicked_after).value("d1", CONV) == 0.0


# -- satisfaction ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("score", "expected"), [(1, -1.0), (2, -0.5), (3, 0.0), (4, 0.5), (5, 1.0)])
def test_survey_scores_map_to_minus_one_one(score: int, expected: float) -> None:
    assert run([*shown(), survey("e1", 600, score)]).value("d1", SAT) == expected


def test_surveys_average_and_beat_the_chat_sentiment_proxy() -> None:
    records = [*shown(), chat("e1", 50, "thanks, great"), survey("e2", 100, 5), survey("e3", 200, 2)]
    result = run(records)
    assert result.value("d1", SAT) == pytest.approx(0.25)
    (sat,) = [r for r in result.rewards if r.decision_id == "d1" and r.component is SAT]
    assert sat.outcome_event_ids == ["e2", "e3"]


def test_chat_sentiment_stands_in_when_no_survey_came() -> None:
    assert run([*shown(), chat("e1", 50, "this is terrible, so annoying")]).value("d1", SAT) == -1.0
    assert run([*shown(), chat("e1", 50, "thanks")]).value("d1", SAT) == 0.5


def test_the_decisions_own_trigger_is_not_its_outcome() -> None:
    records = [decision("d1", 0, kind=InterventionType.NONE, trigger="e1"), chat("e1", 0, "this is terrible")]
    assert run(records).value("d1", SAT) == 0.0


def test_satisfaction_outside_its_day_is_not_counted_and_the_default_applies() -> None:
    config = AttributionConfig(satisfaction=ComponentRule(window_s=86_400.0, default=0.1, weight=0.5))
    result = run([*shown(), survey("e1", 86_402, 5)], config)
    assert result.value("d1", SAT) == 0.1


# -- retention ------------------------------------------------------------------------------------------------------


def test_a_return_visit_in_another_session_is_plus_one_for_every_decision_shown_before() -> None:
    records = [*shown("d1", 0), *shown("d2", 100), page_view("e1", 3600, session="s2")]
    result = run(records)
    assert result.value("d1", RET) == 1.0
    assert result.value("d2", RET) == 1.0


def test_the_same_session_is_not_a_return_visit_and_nothing_is_the_default() -> None:
    assert run([*shown(), page_view("e1", 60, session="s1")]).value("d1", RET) == 0.0


def test_a_return_visit_after_the_horizon_does_not_count() -> None:
    assert run([*shown(), page_view("e1", 7 * 86_400 + 2, session="s2")]).value("d1", RET) == 0.0


def test_the_earliest_signal_wins_an_unsubscribe_before_returning_is_minus_one() -> None:
    records = [*shown(), unsubscribe("e1", 100), page_view("e2", 3600, session="s2")]
    assert run(records).value("d1", RET) == -1.0
    records = [*shown(), page_view("e2", 50, session="s2"), unsubscribe("e1", 100)]
    assert run(records).value("d1", RET) == 1.0


def test_a_session_is_one_visit_however_many_events() -> None:
    config = AttributionConfig(retention=ComponentRule(window_s=86_400.0, backward_s=0.0, aggregation=Aggregation.SUM))
    records = [*shown(), page_view("e1", 100, session="s2"), page_view("e2", 110, session="s2")]
    result = run(records, config)
    assert result.value("d1", RET) == 1.0
    (ret,) = [r for r in result.rewards if r.decision_id == "d1" and r.component is RET]
    assert ret.outcome_event_ids == ["e1"]


# -- penalties ------------------------------------------------------------------------------------------------------


def test_a_dismissal_penalises_the_dismissed_decision_only() -> None:
    records = [*shown("d1", 0), *shown("d2", 10), dismiss("x1", 20, "d1")]
    result = run(records)
    assert result.value("d1", PEN) == -AttributionConfig().dismiss_penalty
    assert result.value("d2", PEN) == 0.0


@pytest.mark.parametrize(("end", "quick"), [(31, True), (32, False)])
def test_a_session_end_within_quick_exit_of_the_showing(end: float, quick: bool) -> None:
    # shown at 1 s; quick exit is 30 s
    penalty = -AttributionConfig().quick_exit_penalty if quick else 0.0
    assert run([*shown(), session_end("e1", end)]).value("d1", PEN) == penalty


def test_no_quick_exit_penalty_for_nothing_shown_or_an_exit_already_announced() -> None:
    nothing = [decision("d1", 0, kind=InterventionType.NONE), session_end("e1", 5)]
    assert run(nothing).value("d1", PEN) == 0.0
    rescue_attempt = [*shown(trigger_type="exit_intent"), session_end("e1", 5)]
    assert run(rescue_attempt).value("d1", PEN) == 0.0


def test_a_session_end_elsewhere_is_no_quick_exit() -> None:
    assert run([*shown(), session_end("e1", 5, session="s9")]).value("d1", PEN) == 0.0


def test_penalties_add_up_and_are_clipped() -> None:
    records = [*shown(), dismiss("x1", 3, "d1"), session_end("e1", 5)]
    defaults = AttributionConfig()
    assert run(records).value("d1", PEN) == pytest.approx(-(defaults.dismiss_penalty + defaults.quick_exit_penalty))
    config = AttributionConfig(dismiss_penalty=0.5, quick_exit_penalty=1.0)
    assert run(records, config).value("d1", PEN) == -1.0


# -- composite ------------------------------------------------------------------------------------------------------


def test_the_composite_is_the_weighted_sum_of_the_components() -> None:
    config = AttributionConfig(
        transaction_value=ComponentRule(weight=2.0),
        conversion=ComponentRule(aggregation=Aggregation.MAX, weight=0.25),
        satisfaction=ComponentRule(window_s=86_400.0, aggregation=Aggregation.AVERAGE, weight=1.5),
        retention=ComponentRule(window_s=86_400.0, backward_s=0.0, weight=-1.0, credit=CreditRule.EVERY),
        penalty=ComponentRule(window_s=1800.0, weight=3.0),
    )
    records = [
        *shown(),
        dismiss("x1", 50, "d1"),
        purchase("e1", 100),
        survey("e2", 200, 4),
        page_view("e3", 4000, session="s2"),
    ]
    values = run(records, config).components("d1")
    expected = 2.0 * math.tanh(0.5) + 0.25 * 1.0 + 1.5 * 0.5 - 1.0 * 1.0 + 3.0 * -AttributionConfig().dismiss_penalty
    assert values[COMPOSITE] == pytest.approx(expected)
    assert set(values) == {TV, CONV, SAT, RET, PEN, COMPOSITE, EARLY}
    # early: the components that close within 3 h (value and conversion in the decision's 30 min, penalty), the
    # satisfaction and retention (24 h) at their defaults (0)
    early = 2.0 * math.tanh(0.5) + 0.25 * 1.0 + 3.0 * -AttributionConfig().dismiss_penalty
    assert values[EARLY] == pytest.approx(early)


def test_nothing_happening_gives_the_defaults() -> None:
    config = AttributionConfig(
        satisfaction=ComponentRule(window_s=86_400.0, default=0.2, weight=0.5),
        retention=ComponentRule(window_s=86_400.0, default=-1.0, weight=0.25, credit=CreditRule.EVERY),
    )
    values = run(shown(), config).components("d1")
    assert values[SAT] == 0.2
    assert values[RET] == -1.0
    assert values[COMPOSITE] == pytest.approx(0.5 * 0.2 + 0.25 * -1.0)
    assert values[COMPOSITE] == pytest.approx(config.nothing_happened_reward)
