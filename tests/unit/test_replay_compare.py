"""replay diff's pure part: matching by trigger, changes by trigger/action/policy, reward deltas, the what-if."""

from __future__ import annotations

from collections import Counter

import msgspec
import pytest

from kairos.replay.compare import compare
from kairos.replay.render import render_html, render_text
from kairos.replay.sides import SideData
from schemas.decisions import Action, InterventionType, ScoredCandidate
from schemas.examples import example_decision, example_reward
from schemas.rewards import RewardComponent

DISCOUNT = Action(type=InterventionType.DISCOUNT, product_id="p-42", discount_pct=10.0)
NONE = Action(type=InterventionType.NONE)


def _side(name: str, chosen: list[Action], probs: tuple[float, float], value: dict[str, float]) -> SideData:
    base, reward = example_decision(), example_reward()
    side = SideData(name, events=len(chosen))
    for i, action in enumerate(chosen):
        p = probs[0] if action == DISCOUNT else probs[1]
        decision = msgspec.structs.replace(
            base,
            decision_id=f"{name}-{i}",
            trigger_event_id=f"e-{i}",
            trigger_event_type="exit_intent" if i % 2 else "product_view",
            action=action,
            propensity=p,
            policy_version=name,
            candidates=[
                ScoredCandidate(action=DISCOUNT, score=1.0, propensity=probs[0]),
                ScoredCandidate(action=NONE, score=0.0, propensity=probs[1]),
            ],
        )
        side.decisions.append(decision)
        side.rewards.append(
            msgspec.structs.replace(
                reward,
                reward_id=f"r-{name}-{i}",
                decision_id=decision.decision_id,
                value=value[action.type.value],
                component=RewardComponent.COMPOSITE,
            )
        )
    return side


def test_a_policy_that_always_discounts_is_found_and_estimated() -> None:
    values = {"discount": 1.0, "none": 0.0}
    logged = _side("logged", [DISCOUNT if i % 2 else NONE for i in range(200)], (0.5, 0.5), values)
    greedy = _side("greedy", [DISCOUNT] * 200, (1.0, 0.0), values)
    greedy.dead_letters = Counter({("ingest", "wrong_type"): 2})
    report = compare(logged, greedy).to_json()
    assert report["decisions"] == {"matched": 200, "changed": 100, "only_a": 0, "only_b": 0}
    assert report["changed_by_trigger"] == {"product_view": [100, 100], "exit_intent": [0, 100]}
    assert report["changed_by_action"] == {"none -> discount": 100}
    assert report["changed_by_policy"] == {"triton:logged -> triton:greedy": [100, 200]}
    assert report["rewards"]["delta_total"] == 100.0 and report["rewards"]["changed_delta_mean"] == 1.0
    assert report["dead_letters"] == {"ingest/wrong_type": [0, 2]}
    what = report["what_if"]
    assert what["n"] == 200 and what["logged_value"] == 0.5 and what["unmatched_mass"] == 0.0
    for name in ("ipw", "snipw", "dm", "dr"):
        assert what["estimates"][name]["value"] == pytest.approx(1.0)
    assert "none -> discount" in render_text(report)
    page = render_html(report)
    assert "<svg" in page and "<script" not in page


def test_identical_sides_have_no_changes() -> None:
    side = _side("x", [DISCOUNT, NONE, DISCOUNT], (0.5, 0.5), {"discount": 2.0, "none": 0.0})
    report = compare(side, side).to_json()
    assert report["decisions"]["changed"] == 0 and report["rewards"]["delta_total"] == 0.0
    assert report["what_if"]["estimates"]["ipw"]["value"] == pytest.approx(report["what_if"]["logged_value"])
