"""Guard state: pure updates from decisions and dismissals, bounded memory, windows, pickling."""

from __future__ import annotations

import pickle

import pytest

from schemas.decisions import Action, InterventionType
from serving.guardrails import (
    BucketWindow,
    FairnessConfig,
    GuardContext,
    GuardrailConfig,
    GuardrailConfigError,
    SharedGuardState,
    UserGuardState,
    apply_decision,
    apply_dismissal,
    discount_value,
)

T = InterventionType
T0 = 1_750_000_000.0
CONFIG = GuardrailConfig(fairness=FairnessConfig(attribute="age_band", min_decisions=1))


def ctx(now_s: float = T0, session_id: str = "s1", group: str | None = "g1", cart: float = 100.0) -> GuardContext:
    return GuardContext(
        now_s=now_s, session_id=session_id, trigger="page_view", session_row={"cart_value": cart}, group=group
    )


def test_apply_decision_returns_new_state_and_leaves_the_inputs_alone() -> None:
    user, shared = UserGuardState(), SharedGuardState.for_config(CONFIG)
    discount = Action(type=T.DISCOUNT, discount_pct=10.0)
    new_user, new_shared = apply_decision(user, shared, discount, ctx(), CONFIG)
    assert user == UserGuardState() and shared == SharedGuardState.for_config(CONFIG)
    [record] = new_user.interventions
    assert (record.t_s, record.session_id, record.type, record.discount_value) == (T0, "s1", T.DISCOUNT, 10.0)
    assert new_user.discounts(T0, CONFIG.day_s) == (1, 10.0)
    assert new_shared.discount_spent(T0) == 10.0
    rates = new_shared.fairness.rates(T0)
    assert (rates["g1"].decisions, rates["g1"].discounts) == (1, 1)


def test_none_is_counted_for_fairness_but_not_as_an_intervention() -> None:
    user, shared = apply_decision(
        UserGuardState(), SharedGuardState.for_config(CONFIG), Action(type=T.NONE), ctx(), CONFIG
    )
    assert user.interventions == () and shared.discount_spent(T0) == 0.0
    assert shared.fairness.rates(T0)["g1"].decisions == 1
    _, anonymous = apply_decision(
        UserGuardState(), SharedGuardState.for_config(CONFIG), Action(type=T.NONE), ctx(group=None), CONFIG
    )
    assert anonymous.fairness.rates(T0) == {}
    off = GuardrailConfig()
    _, unmonitored = apply_decision(UserGuardState(), SharedGuardState.for_config(off), Action(type=T.NONE), ctx(), off)
    assert unmonitored.fairness.rates(T0) == {}


def test_user_memory_is_pruned_to_the_day_and_bounded() -> None:
    config = GuardrailConfig(max_user_records=10)
    user, shared = UserGuardState(), SharedGuardState.for_config(config)
    nudge = Action(type=T.CHECKOUT_NUDGE)
    for i in range(30):
        user, shared = apply_decision(user, shared, nudge, ctx(now_s=T0 + 600 * i, session_id=f"s{i}"), config)
    assert len(user.interventions) == 10
    assert [r.session_id for r in user.interventions] == [f"s{i}" for i in range(20, 30)]
    user, shared = apply_decision(user, shared, nudge, ctx(now_s=T0 + 600 * 29 + config.day_s), config)
    assert len(user.interventions) == 1


def test_dismissals_start_the_cool_down_and_keep_the_latest_time() -> None:
    user = apply_dismissal(UserGuardState(), T0)
    assert (user.last_dismissal_s, user.dismissals) == (T0, 1)
    late = apply_dismissal(user, T0 - 50.0)  # an out-of-order dismissal does not move the cool-down back
    assert (late.last_dismissal_s, late.dismissals) == (T0, 2)
    assert apply_dismissal(late, T0 + 5).last_dismissal_s == T0 + 5


def test_guard_state_and_config_pickle() -> None:
    user, shared = UserGuardState(), SharedGuardState.for_config(CONFIG)
    user, shared = apply_decision(user, shared, Action(type=T.DISCOUNT, discount_pct=5.0), ctx(), CONFIG)
    user = apply_dismissal(user, T0 + 1)
    restored_user, restored_shared = pickle.loads(pickle.dumps((user, shared)))
    assert restored_user == user and restored_shared == shared
    assert restored_shared.fairness.rates(T0) == shared.fairness.rates(T0)
    assert pickle.loads(pickle.dumps(CONFIG)) == CONFIG


def test_discount_value() -> None:
    pct = Action(type=T.DISCOUNT, discount_pct=15.0)
    assert discount_value(pct, {"cart_value": 200.0}, CONFIG) == pytest.approx(30.0)
    assert discount_value(pct, {"cart_value": 10.0}, CONFIG) == pytest.approx(7.5)  # the 50.0 minimum basis
    assert discount_value(pct, None, CONFIG) == pytest.approx(7.5)
    assert discount_value(Action(type=T.UPSELL, product_id="p"), {"cart_value": 200.0}, CONFIG) == 0.0


def test_bucket_window_slides_and_stays_bounded() -> None:
    window = BucketWindow(60.0, 3)
    for minute in range(10):
        window = window.add(60.0 * minute + 1, {"n": 1.0})
    assert len(window.buckets) == 3
    assert window.totals(60.0 * 9) == {"n": 3.0}
    assert window.totals(60.0 * 10) == {"n": 2.0}  # read later than the newest bucket: the window slid
    assert window.totals(60.0 * 13) == {}
    assert window.add(0.0, {"n": 5.0}) is window  # older than the kept window: ignored
    late = window.add(60.0 * 8 + 30, {"n": 5.0})  # late but within the window: counted
    assert late.totals(60.0 * 9) == {"n": 8.0}
    assert late.totals(60.0 * 8) == {"n": 7.0}  # a read in the past sums the buckets up to it
    with pytest.raises(GuardrailConfigError):
        BucketWindow(0.0, 3)


def test_running_sums_match_a_recount() -> None:
    window = BucketWindow(10.0, 5)
    times = [3, 14, 14, 27, 25, 61, 58, 59, 90, 91, 60, 200, 199, 205]
    for i, t in enumerate(times):
        window = window.add(float(t), {"v": float(i)})
        recount: dict[str, float] = {}
        for _, values in window.buckets:
            for name, value in values.items():
                recount[name] = recount.get(name, 0.0) + value
        assert window.sums == pytest.approx(recount)
