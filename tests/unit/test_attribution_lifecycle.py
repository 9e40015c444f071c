"""Lifecycle: activation, emission driven by the watermark, late, unattributed and duplicate records, bounds."""

from __future__ import annotations

import pickle

import pytest

from schemas.decisions import InterventionType
from schemas.rewards import RewardComponent, reward_id_for
from streams.attribution import (
    AttributionConfig,
    AttributionConfigError,
    Attributor,
    ComponentRule,
    Intake,
    UnattributedReason,
)
from tests.unit.test_attribution_kit import (
    at,
    click,
    decision,
    dismiss,
    feed,
    impression,
    purchase,
    run,
    survey,
)

TV = RewardComponent.TRANSACTION_VALUE
CONV = RewardComponent.CONVERSION
COMPOSITE = RewardComponent.COMPOSITE
EARLY = RewardComponent.EARLY


# -- activation -----------------------------------------------------------------------------------------------------


def test_a_decision_never_shown_earns_only_the_not_shown_composite() -> None:
    attributor = Attributor()
    attributor.add_decision(decision("d1", 0))
    attributor.add_event(purchase("e1", 100))
    emission = attributor.drain()
    assert [(r.component, r.value, r.outcome_event_ids) for r in emission.rewards] == [
        (COMPOSITE, 0.0, []),
        (EARLY, 0.0, []),  # the learner's early reward: the same, nothing else will come
    ]
    (settled,) = emission.settled
    assert settled.shown is False
    assert attributor.stats.not_shown == 1
    assert attributor.stats.organic == 1  # the purchase: nobody was shown anything


def test_not_shown_reward_is_configurable() -> None:
    result = run([decision("d1", 0)], AttributionConfig(not_shown_reward=-0.1))
    assert result.components("d1") == {COMPOSITE: -0.1, EARLY: -0.1}


def test_doing_nothing_is_shown_by_definition() -> None:
    result = run([decision("d1", 0, kind=InterventionType.NONE), purchase("e1", 100)])
    assert result.value("d1", CONV) == 1.0


def test_feedback_arriving_before_its_decision_activates_it() -> None:
    result = run([impression("i1", 1, "d1"), decision("d1", 0), purchase("e1", 100)])
    assert result.value("d1", CONV) == 1.0
    assert result.unattributed == []


def test_a_click_alone_activates_but_earns_nothing() -> None:
    result = run([decision("d1", 0), click("c1", 2, "d1")])
    assert set(result.components("d1")) == {
        TV,
        CONV,
        RewardComponent.SATISFACTION,
        RewardComponent.RETENTION,
        RewardComponent.PENALTY,
        COMPOSITE,
        EARLY,
    }
    assert result.value("d1", COMPOSITE) == 0.0


def test_an_impression_after_the_activation_timeout_is_reported_and_the_decision_not_shown() -> None:
    result = run([decision("d1", 0), impression("i1", 301, "d1")])
    assert result.components("d1") == {COMPOSITE: 0.0, EARLY: 0.0}
    [(event_id, decision_id, reason)] = [(u.event.event_id, u.decision_id, u.reason) for u in result.unattributed]
    assert (event_id, decision_id, reason) == ("i1", "d1", UnattributedReason.UNKNOWN_DECISION)


# -- emission -------------------------------------------------------------------------------------------------------


def test_components_are_emitted_once_each_as_their_windows_close_then_the_composite() -> None:
    attributor = Attributor()  # lateness 300 s; transaction value 1800 s + 5 s backward window
    for record in (decision("d1", 0), impression("i1", 1, "d1"), purchase("e1", 100)):
        assert feed(attributor, record) is Intake.ACCEPTED
    assert attributor.advance(at(1800 + 5 + 300)).rewards == ()  # not strictly past yet
    first = attributor.advance(at(1800 + 5 + 300 + 0.001)).rewards
    assert [r.component for r in first] == [TV, CONV, RewardComponent.PENALTY, EARLY]  # all within 3 h: early
    assert all(r.final for r in first)
    assert first[0].event_time == at(1800)
    assert attributor.advance(at(86_400 + 305)).rewards == ()
    second = attributor.advance(at(86_400 + 306)).rewards
    assert [r.component for r in second] == [RewardComponent.SATISFACTION]
    last = attributor.advance(at(7 * 86_400 + 301)).rewards
    assert [r.component for r in last] == [RewardComponent.RETENTION, COMPOSITE]
    assert len(attributor) == 0
    assert attributor.advance(at(30 * 86_400)).rewards == ()
    assert attributor.drain().rewards == ()


def test_reward_ids_are_deterministic() -> None:
    result = run([decision("d1", 0), impression("i1", 1, "d1"), purchase("e1", 100)])
    conversion = next(r for r in result.rewards if r.component is CONV)
    assert conversion.reward_id == reward_id_for("d1", CONV, ["e1"], final=True)
    assert conversion.outcome_event_ids == ["e1"]
    assert (conversion.policy_name, conversion.policy_version, conversion.user_id) == ("linucb", "1", "u1")


def test_settled_decisions_carry_what_learning_needs() -> None:
    attributor = Attributor()
    attributor.add_decision(decision("d1", 0, propensity=0.25))
    attributor.add_event(impression("i1", 1, "d1"))
    (settled,) = attributor.drain().settled
    assert settled.shown and not settled.evicted
    assert settled.decision.propensity == 0.25
    assert settled.decision.action.type is InterventionType.CHECKOUT_NUDGE
    assert settled.values[COMPOSITE] == 0.0


# -- late, unattributed, duplicates ---------------------------------------------------------------------------------


def test_an_outcome_after_its_window_closed_and_the_lateness_passed_is_late() -> None:
    attributor = Attributor()
    attributor.add_decision(decision("d1", 0))
    attributor.add_event(impression("i1", 1, "d1"))
    attributor.advance(at(2200))  # transaction value and conversion closed at 1805 + 300
    assert attributor.add_event(purchase("e1", 100, token="d1")) is Intake.LATE
    assert attributor.stats.late == 1
    rewards = attributor.drain().rewards
    assert all(r.value == 0.0 for r in rewards)


def test_an_outcome_behind_the_lateness_still_counts_while_its_window_is_open() -> None:
    attributor = Attributor()
    attributor.add_decision(decision("d1", 0))
    attributor.add_event(impression("i1", 1, "d1"))
    attributor.advance(at(5000))  # satisfaction (24 h) is still open
    assert attributor.add_event(survey("e1", 600, 5)) is Intake.ACCEPTED
    assert attributor.stats.late_credited == 1
    rewards = {r.component: r.value for r in attributor.drain().rewards}
    assert rewards[RewardComponent.SATISFACTION] == 1.0


@pytest.mark.parametrize(
    ("records", "reason"),
    [
        ([purchase("e1", 100, token="d-missing")], UnattributedReason.UNKNOWN_DECISION),
        ([decision("d1", 0), purchase("e1", 100, token="d1")], UnattributedReason.NOT_SHOWN),
        (
            [decision("d1", 0), impression("i1", 1, "d1"), survey("e1", 90_000, 5, token="d1")],
            UnattributedReason.OUTSIDE_WINDOW,
        ),
        ([dismiss("x1", 10, "d-missing")], UnattributedReason.UNKNOWN_DECISION),
    ],
)
def test_outcomes_naming_a_decision_that_earns_nothing_are_reported(
    records: list[object], reason: UnattributedReason
) -> None:
    result = run(records)  # type: ignore[arg-type]
    [(event_id, why)] = [(u.event.event_id, u.reason) for u in result.unattributed]
    assert event_id == records[-1].event_id  # type: ignore[attr-defined]
    assert why is reason


def test_an_outcome_naming_nobody_with_no_decision_shown_is_organic_not_reported() -> None:
    attributor = Attributor()
    assert attributor.add_event(purchase("e1", 100)) is Intake.ACCEPTED  # waiting for decisions within lateness
    assert attributor.drain().unattributed == ()
    assert attributor.stats.organic == 1


def test_organic_outcomes_are_reported_when_asked() -> None:
    result = run([purchase("e1", 100), survey("e2", 200, 4)], AttributionConfig(report_organic=True))
    reported = [(u.event.event_id, u.decision_id, u.reason) for u in result.unattributed]
    assert reported == [("e1", None, UnattributedReason.NO_DECISION), ("e2", None, UnattributedReason.NO_DECISION)]


def test_duplicates_are_ignored() -> None:
    attributor = Attributor()
    assert attributor.add_decision(decision("d1", 0)) is Intake.ACCEPTED
    assert attributor.add_decision(decision("d1", 0)) is Intake.DUPLICATE
    assert attributor.add_event(impression("i1", 1, "d1")) is Intake.ACCEPTED
    assert attributor.add_event(purchase("e1", 100, [("p1", 10.0)])) is Intake.ACCEPTED
    assert attributor.add_event(purchase("e1", 100, [("p1", 10.0)])) is Intake.DUPLICATE
    rewards = {r.component: r for r in attributor.advance(at(7 * 86_400 + 301)).rewards}
    assert rewards[TV].outcome_event_ids == ["e1"]
    assert attributor.add_decision(decision("d1", 0)) is Intake.DUPLICATE  # closed, still remembered
    assert attributor.stats.duplicate_decisions == 2 and attributor.stats.duplicate_events == 1
    assert attributor.add_decision(decision("d1", 0)) is Intake.DUPLICATE
    attributor.advance(at(8 * 86_400))
    assert attributor.add_decision(decision("d1", 0)) is Intake.LATE  # forgotten, but stale anyway


def test_a_copy_of_a_decision_closed_as_not_shown_is_not_reopened() -> None:
    attributor = Attributor()
    attributor.add_decision(decision("d1", 0))
    attributor.add_event(purchase("e1", 1000))
    assert [r.component for r in attributor.advance().rewards] == [COMPOSITE, EARLY]
    assert attributor.add_decision(decision("d1", 0)) is Intake.DUPLICATE
    assert attributor.drain().rewards == ()


def test_a_decision_whose_windows_all_closed_is_stale() -> None:
    attributor = Attributor()
    attributor.advance(at(8 * 86_400))
    assert attributor.add_decision(decision("d1", 0)) is Intake.LATE
    assert attributor.stats.stale_decisions == 1
    assert attributor.add_decision(decision("d2", 8 * 86_400 - 600)) is Intake.ACCEPTED
    assert attributor.stats.late_decisions == 1


# -- state ----------------------------------------------------------------------------------------------------------


def test_state_pickles_mid_stream() -> None:
    attributor = Attributor()
    attributor.add_decision(decision("d1", 0))
    attributor.add_event(impression("i1", 1, "d1"))
    attributor.add_event(purchase("e1", 100))
    attributor.advance()
    restored: Attributor = pickle.loads(pickle.dumps(attributor))
    pending = restored.pending("d1")
    assert pending is not None and pending.activated_us is not None
    assert [r.reward_id for r in restored.drain().rewards] == [r.reward_id for r in attributor.drain().rewards]
    assert restored.stats == attributor.stats


def test_a_user_holds_at_most_max_pending_per_user_decisions_oldest_closed_first() -> None:
    attributor = Attributor(AttributionConfig(max_pending_per_user=2))
    for i in range(3):
        attributor.add_decision(decision(f"d{i}", i * 10))
        attributor.add_event(impression(f"i{i}", i * 10 + 1, f"d{i}"))
    assert len(attributor) == 2 and attributor.pending("d0") is None
    emission = attributor.advance()
    assert {r.decision_id for r in emission.rewards} == {"d0"}
    assert len(emission.rewards) == 7  # five components, early, composite
    assert [s.evicted for s in emission.settled] == [True]
    assert attributor.stats.evicted == 1


def test_the_partition_holds_at_most_max_pending_decisions() -> None:
    attributor = Attributor(AttributionConfig(max_pending=2))
    for i, user in enumerate(("u1", "u2", "u3")):
        attributor.add_decision(decision(f"d{i}", i, user=user))
    assert len(attributor) == 2
    (settled,) = attributor.advance().settled
    assert settled.decision.decision_id == "d0" and settled.shown is False and settled.evicted


def test_a_full_tally_drops_and_counts() -> None:
    config = AttributionConfig(satisfaction=ComponentRule(window_s=86_400.0), max_outcomes_per_component=2)
    records = [decision("d1", 0), impression("i1", 1, "d1"), *(survey(f"e{i}", 10 + i, 5) for i in range(3))]
    attributor = Attributor(config)
    result = run(records, attributor=attributor)
    (sat,) = [r for r in result.rewards if r.component is RewardComponent.SATISFACTION]
    assert sat.outcome_event_ids == ["e0", "e1"]
    assert attributor.stats.dropped_outcomes == 1


def test_watermark_moves_forward_only() -> None:
    attributor = Attributor()
    assert attributor.watermark is None
    attributor.add_event(purchase("e1", 100))
    attributor.advance(at(50))
    assert attributor.watermark == at(100)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"allowed_lateness_s": -1.0},
        {"half_life_s": 0.0},
        {"max_pending": 0},
        {"not_shown_reward": float("nan")},
        {
            "satisfaction": ComponentRule(window_s=None),
            "retention": ComponentRule(window_s=None),
            "penalty": ComponentRule(window_s=None),
        },
    ],
)
def test_invalid_configuration_is_rejected(kwargs: dict[str, object]) -> None:
    with pytest.raises(AttributionConfigError):
        AttributionConfig(**kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "kwargs", [{"window_s": 0.0}, {"backward_s": -1.0}, {"default": 2.0}, {"weight": float("inf")}]
)
def test_invalid_component_rules_are_rejected(kwargs: dict[str, float]) -> None:
    with pytest.raises(AttributionConfigError, match="must be"):
        ComponentRule(**kwargs)  # type: ignore[arg-type]
    assert issubclass(AttributionConfigError, ValueError)


def test_the_early_reward_is_the_composite_with_the_slow_components_at_their_defaults() -> None:
    records = [decision("d1", 0), impression("i1", 1, "d1"), purchase("e1", 100)]
    result = run(records)
    values = result.components("d1")
    config = AttributionConfig()
    slow = (RewardComponent.SATISFACTION, RewardComponent.RETENTION)
    at_defaults = sum(config.rule(c).weight * (values[c] - config.rule(c).default) for c in slow)
    assert values[EARLY] == pytest.approx(values[COMPOSITE] - at_defaults)
    assert values[EARLY] > 0  # the purchase counts in it


def test_with_no_component_inside_the_early_horizon_the_early_reward_is_the_composite() -> None:
    attributor = Attributor(AttributionConfig(early_horizon_s=60.0))
    for record in (decision("d1", 0), impression("i1", 1, "d1"), purchase("e1", 100)):
        feed(attributor, record)
    rewards = attributor.advance(at(7 * 86_400 + 301)).rewards
    assert [r.component for r in rewards][-2:] == [EARLY, COMPOSITE]
    assert rewards[-2].value == rewards[-1].value
