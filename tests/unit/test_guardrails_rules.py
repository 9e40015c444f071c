"""Each guardrail on crafted sessions: consent, cool-down, caps, sentiment, stock, discount caps, fairness."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

import numpy as np
import pytest

from schemas.decisions import Action, InterventionType
from serving.guardrails import (
    RULE_ORDER,
    FairnessConfig,
    GuardContext,
    GuardrailConfig,
    GuardrailConfigError,
    GuardrailLabel,
    GuardResult,
    SharedGuardState,
    UserGuardState,
    apply_decision,
    apply_dismissal,
    evaluate,
)
from serving.policy import action_key

T = InterventionType
L = GuardrailLabel
T0 = 1_750_000_000.0
CONFIG = GuardrailConfig()
CANDIDATES = [
    Action(type=T.NONE),
    Action(type=T.UPSELL, product_id="p-in"),
    Action(type=T.UPSELL, product_id="p-out"),
    Action(type=T.CROSS_SELL, product_id="p-unknown"),
    Action(type=T.CROSS_SELL, product_id="p-norow"),
    Action(type=T.CROSS_SELL, product_id="p-neg"),
    Action(type=T.CROSS_SELL, category="hats"),
    Action(type=T.DISCOUNT, discount_pct=5.0),
    Action(type=T.DISCOUNT, discount_pct=10.0),
    Action(type=T.DISCOUNT, discount_pct=15.0),
    Action(type=T.DISCOUNT, discount_pct=20.0),
    Action(type=T.CHECKOUT_NUDGE),
    Action(type=T.EMAIL_CAPTURE),
    Action(type=T.CONCIERGE_MESSAGE),
]
KEYS = [action_key(a) for a in CANDIDATES]
PRODUCTS = {"p-in": {"stock": 5}, "p-out": {"stock": 0}, "p-unknown": {"stock": -1}, "p-neg": {"stock": -3}}
EVERY_INTERVENTION = set(KEYS) - {"none"}


def context(**overrides: object) -> GuardContext:
    base = GuardContext(
        now_s=T0,
        session_id="s1",
        trigger="page_view",
        user_row={"consent_marketing": False, "consent_personalisation": True},
        session_row={"cart_value": 100.0, "last_sentiment": 0.0},
        product_rows=PRODUCTS,
    )
    return replace(base, **overrides)  # type: ignore[arg-type]


def run(
    ctx: GuardContext | None = None,
    user: UserGuardState | None = None,
    shared: SharedGuardState | None = None,
    config: GuardrailConfig = CONFIG,
) -> GuardResult:
    shared = shared or SharedGuardState.for_config(config)
    return evaluate(CANDIDATES, ctx or context(), user or UserGuardState(), shared, config)


def blocked(result: GuardResult, label: GuardrailLabel | None = None) -> set[str]:
    return {
        k for k, reasons in zip(KEYS, result.blocked_by, strict=True) if reasons and (label is None or label in reasons)
    }


def with_interventions(times_sessions: list[tuple[float, str]], kind: T = T.CHECKOUT_NUDGE) -> UserGuardState:
    user, shared = UserGuardState(), SharedGuardState.for_config(CONFIG)
    for t, session in times_sessions:
        user, shared = apply_decision(user, shared, Action(type=kind), context(now_s=t, session_id=session), CONFIG)
    return user


def test_a_clean_session_only_meets_stock_and_the_level_cap() -> None:
    result = run()
    assert blocked(result) == {"upsell:p-out", "cross_sell:p-neg", "discount:20"}
    assert result.applied == (L.OUT_OF_STOCK, L.DISCOUNT_LEVEL_CAP)
    assert result.mask.tolist() == [not reasons for reasons in result.blocked_by]
    assert result.mask.dtype == np.bool_


@pytest.mark.parametrize("user_row", [{"consent_personalisation": False}, None, {}])
def test_personalisation_consent_gates_offers_discounts_and_the_concierge(
    user_row: Mapping[str, object] | None,
) -> None:
    result = run(context(user_row=user_row))
    assert blocked(result, L.CONSENT_PERSONALISATION) == {
        k for k in KEYS if k.split(":")[0] in {"upsell", "cross_sell", "discount", "concierge_message"}
    }
    assert not blocked(result, L.CONSENT_MARKETING)
    assert "checkout_nudge" not in blocked(result) and "email_capture" not in blocked(result)


def test_email_capture_asks_for_marketing_consent_once() -> None:
    subscribed = {"consent_marketing": True, "consent_personalisation": True}
    assert blocked(run(context(user_row=subscribed)), L.ALREADY_SUBSCRIBED) == {"email_capture"}
    assert not blocked(run(context()), L.ALREADY_SUBSCRIBED)


def test_missing_consent_can_be_configured_to_allow() -> None:
    config = GuardrailConfig(missing_consent_allows=True)
    assert not blocked(run(context(user_row=None), config=config), L.CONSENT_PERSONALISATION)
    revoked = {"consent_personalisation": False}
    assert blocked(run(context(user_row=revoked), config=config), L.CONSENT_PERSONALISATION)


def test_dismissal_cool_down_and_the_chat_reply_exemption() -> None:
    user = apply_dismissal(UserGuardState(), T0 - 100.0)
    assert blocked(run(context(), user), L.DISMISSAL_COOLDOWN) == EVERY_INTERVENTION
    chat = run(context(trigger="chat_message"), user)
    assert blocked(chat, L.DISMISSAL_COOLDOWN) == EVERY_INTERVENTION - {"concierge_message"}
    assert not blocked(run(context(now_s=T0 - 100.0 + CONFIG.dismissal_cooldown_s), user), L.DISMISSAL_COOLDOWN)


def test_session_cap_counts_this_session_only() -> None:
    user = with_interventions([(T0 - 30, "s1"), (T0 - 20, "s1"), (T0 - 10, "s1")])
    assert blocked(run(context(), user), L.SESSION_CAP) == EVERY_INTERVENTION
    assert not blocked(run(context(session_id="s2"), user), L.SESSION_CAP)
    two = with_interventions([(T0 - 20, "s1"), (T0 - 10, "s1")])
    assert not blocked(run(context(), two), L.SESSION_CAP)


def test_daily_cap_rolls_over_a_day_of_event_time() -> None:
    user = with_interventions([(T0 - 3_600 * i, f"s{i + 10}") for i in range(8)])
    assert blocked(run(context(), user), L.USER_DAILY_CAP) == EVERY_INTERVENTION
    assert blocked(run(context(trigger="chat_message"), user), L.USER_DAILY_CAP) == EVERY_INTERVENTION - {
        "concierge_message"
    }
    later = T0 - 3_600 * 7 + CONFIG.day_s  # the oldest one has left the rolling day
    assert not blocked(run(context(now_s=later), user), L.USER_DAILY_CAP)


def test_negative_sentiment_masks_the_pushy_offers() -> None:
    result = run(context(session_row={"cart_value": 100.0, "last_sentiment": -0.5}))
    pushy = {k for k in EVERY_INTERVENTION if k.startswith(("upsell", "cross_sell", "discount"))}
    assert blocked(result, L.NEGATIVE_SENTIMENT) == pushy
    assert {"checkout_nudge", "email_capture", "concierge_message"}.isdisjoint(blocked(result))
    assert not blocked(run(context(session_row={"last_sentiment": -0.1})), L.NEGATIVE_SENTIMENT)
    assert not blocked(run(context(session_row=None)), L.NEGATIVE_SENTIMENT)


def test_stock_masks_only_known_empty_stock() -> None:
    assert blocked(run(), L.OUT_OF_STOCK) == {"upsell:p-out", "cross_sell:p-neg"}
    assert not blocked(run(context(product_rows={})), L.OUT_OF_STOCK)


def test_discount_caps_count_and_budget_per_user_day() -> None:
    user, shared = UserGuardState(), SharedGuardState.for_config(CONFIG)
    ten = Action(type=T.DISCOUNT, discount_pct=10.0)
    user, shared = apply_decision(user, shared, ten, context(now_s=T0 - 60, session_id="s0"), CONFIG)
    # 10 offered so far of a budget of 30; on a 140 cart, 5% (7) and 10% (14) fit, 15% (21) and 20% (28) do not
    result = run(context(session_row={"cart_value": 140.0}), user, shared)
    assert blocked(result, L.DISCOUNT_USER_BUDGET) == {"discount:15", "discount:20"}
    assert not blocked(result, L.DISCOUNT_USER_COUNT)
    user, shared = apply_decision(user, shared, ten, context(now_s=T0 - 30, session_id="s0"), CONFIG)
    assert blocked(run(context(), user, shared), L.DISCOUNT_USER_COUNT) == {k for k in KEYS if k.startswith("discount")}


def test_an_empty_cart_is_costed_on_the_minimum_basis() -> None:
    config = GuardrailConfig(max_discount_value_per_user_day=4.0)
    result = run(context(session_row={"cart_value": 0.0}), config=config)
    assert blocked(result, L.DISCOUNT_USER_BUDGET) == {"discount:10", "discount:15", "discount:20"}  # 5% of 50 fits


def test_global_budget_is_shared_across_users_within_its_window() -> None:
    config = GuardrailConfig(global_discount_budget=20.0, max_discount_value_per_user_day=1e9)
    user, shared = UserGuardState(), SharedGuardState.for_config(config)
    fifteen = Action(type=T.DISCOUNT, discount_pct=15.0)
    _, shared = apply_decision(user, shared, fifteen, context(now_s=T0 - 120), config)  # another user: 15 of 20
    result = run(context(), UserGuardState(), shared, config)
    assert blocked(result, L.DISCOUNT_GLOBAL_BUDGET) == {"discount:10", "discount:15", "discount:20"}
    later = run(context(now_s=T0 - 120 + config.global_budget_window_s + 60), UserGuardState(), shared, config)
    assert not blocked(later, L.DISCOUNT_GLOBAL_BUDGET)


def test_fairness_masks_discounts_of_a_group_above_the_gap() -> None:
    config = GuardrailConfig(fairness=FairnessConfig(attribute="age_band", max_gap=0.1, min_decisions=10))
    shared = SharedGuardState.for_config(config)
    monitor = shared.fairness
    for i in range(20):
        monitor = monitor.record("a", discount=i < 10, now_s=T0 - 60)  # 50%
        monitor = monitor.record("b", discount=i < 6, now_s=T0 - 60)  # 30%
    shared = SharedGuardState(shared.budget, monitor)
    over = run(context(group="a"), shared=shared, config=config)
    assert blocked(over, L.FAIRNESS_DISCOUNT_PARITY) == {k for k in KEYS if k.startswith("discount")}
    assert not blocked(run(context(group="b"), shared=shared, config=config), L.FAIRNESS_DISCOUNT_PARITY)
    assert not blocked(run(context(group=None), shared=shared, config=config), L.FAIRNESS_DISCOUNT_PARITY)
    off = replace(config, fairness=FairnessConfig(attribute=None, max_gap=0.1, min_decisions=10))
    assert not blocked(run(context(group="a"), shared=shared, config=off), L.FAIRNESS_DISCOUNT_PARITY)


def test_none_is_never_masked_and_every_reason_is_reported_in_order() -> None:
    user = apply_dismissal(with_interventions([(T0 - 3_600 * i, "s1") for i in range(8)]), T0 - 1)
    ctx = context(user_row=None, session_row={"last_sentiment": -1.0, "cart_value": 1e6})
    result = run(ctx, user)
    assert result.mask.tolist() == [True] + [False] * (len(CANDIDATES) - 1)
    assert result.blocked_by[0] == ()
    reasons = dict(zip(KEYS, result.blocked_by, strict=True))
    assert reasons["discount:20"] == (
        L.CONSENT_PERSONALISATION,
        L.DISMISSAL_COOLDOWN,
        L.SESSION_CAP,
        L.USER_DAILY_CAP,
        L.NEGATIVE_SENTIMENT,
        L.DISCOUNT_LEVEL_CAP,
        L.DISCOUNT_USER_BUDGET,
        L.DISCOUNT_GLOBAL_BUDGET,
    )
    assert list(result.applied) == [label for label in RULE_ORDER if label in result.applied]
    assert result.padded(20).tolist() == result.mask.tolist() + [False] * (20 - len(CANDIDATES))


def test_evaluation_is_pure() -> None:
    user = with_interventions([(T0 - 10, "s1")])
    shared = SharedGuardState.for_config(CONFIG)
    first, second = run(context(), user, shared), run(context(), user, shared)
    assert first.blocked_by == second.blocked_by and first.applied == second.applied
    assert user == with_interventions([(T0 - 10, "s1")])


@pytest.mark.parametrize(
    "kwargs",
    [
        {"max_per_session": -1},
        {"global_discount_budget": -1.0},
        {"day_s": 0.0},
        {"max_discount_pct": 120.0},
        {"budget_bucket_s": 7_200.0},
        {"max_user_records": 2},
        {"consent_features": {}},
    ],
)
def test_bad_configuration_raises(kwargs: dict[str, object]) -> None:
    with pytest.raises(GuardrailConfigError):
        GuardrailConfig(**kwargs)  # type: ignore[arg-type]
