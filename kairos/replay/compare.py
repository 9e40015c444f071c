"""``kairos replay diff``, the pure part: two sides' decisions joined by trigger, rewards, dead letters, what-if.

Decisions are matched by ``trigger_event_id`` (a decision id also digests the policy name, so it changes with the
policy; the trigger does not). A matched pair *changed* when the actions differ. Reward deltas compare each matched
pair's final composite rewards (both sides must have one: windows still open at the end of a slice have none).

What-if: the off-policy estimate of side B's policy on side A's logged decisions (A is the original). B's
decision for the same trigger logs the probability its policy gave each candidate; those probabilities, on A's
candidates (matched by action, renormalised over what A considered; the mass B put elsewhere is reported as
``unmatched_mass``), are the evaluation policy of IPW, SNIPW, DM and DR (:mod:`serving.ope`) on A's decisions that
have a final reward. DM and DR's reward model is A's mean reward per action type. Intervals: seeded bootstrap.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from kairos.replay.sides import SideData
from schemas.decisions import Action, Decision
from schemas.rewards import Reward
from serving.ope import IntervalSpec, OPEInputError, decision_log, estimate_all, final_rewards

__all__ = ["Comparison", "compare", "describe_action", "what_if"]


def describe_action(action: Action) -> str:
    """A short label of an action.

    >>> from schemas.decisions import InterventionType
    >>> describe_action(Action(type=InterventionType.DISCOUNT, product_id="p-1", discount_pct=10.0))
    'discount p-1 10%'
    """
    parts = [action.type.value]
    if action.product_id:
        parts.append(action.product_id)
    elif action.category:
        parts.append(action.category)
    if action.discount_pct:
        parts.append(f"{action.discount_pct:g}%")
    return " ".join(parts)


def _by_trigger(decisions: list[Decision]) -> dict[str, Decision]:
    out: dict[str, Decision] = {}
    for decision in decisions:
        out.setdefault(decision.trigger_event_id, decision)
    return out


def _finals(rewards: list[Reward]) -> dict[str, float]:
    try:
        return final_rewards(rewards)
    except OPEInputError:
        return {}


def _policy(decision: Decision) -> str:
    return f"{decision.policy_source}:{decision.policy_version}"


@dataclass
class Comparison:
    """What changed from side A to side B (see the module docstring)."""

    a: str
    b: str
    counts: dict[str, dict[str, int]]
    matched: int = 0
    changed: int = 0
    only_a: int = 0
    only_b: int = 0
    by_trigger: dict[str, list[int]] = field(default_factory=dict)  # trigger type -> [changed, matched]
    transitions: Counter[tuple[str, str]] = field(default_factory=Counter)  # changed pairs by action type
    by_policy: dict[str, list[int]] = field(default_factory=dict)  # "A policy -> B policy" -> [changed, matched]
    actions: dict[str, Counter[str]] = field(default_factory=dict)
    rewards: dict[str, float] = field(default_factory=dict)
    dead_letters: dict[str, list[int]] = field(default_factory=dict)  # "stage/reason" -> [A, B]
    examples: list[dict[str, Any]] = field(default_factory=list)
    what_if: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The comparison as one JSON object."""
        return {
            "a": self.a,
            "b": self.b,
            "counts": self.counts,
            "decisions": {
                "matched": self.matched,
                "changed": self.changed,
                "only_a": self.only_a,
                "only_b": self.only_b,
            },
            "changed_by_trigger": self.by_trigger,
            "changed_by_action": {f"{a} -> {b}": n for (a, b), n in sorted(self.transitions.items())},
            "changed_by_policy": self.by_policy,
            "actions": {side: dict(sorted(c.items())) for side, c in self.actions.items()},
            "rewards": self.rewards,
            "dead_letters": self.dead_letters,
            "examples": self.examples,
            "what_if": self.what_if,
        }


def compare(a: SideData, b: SideData, *, examples: int = 10, spec: IntervalSpec | None = None) -> Comparison:
    """Compare side ``b`` with side ``a`` (the original)."""
    da, db = _by_trigger(a.decisions), _by_trigger(b.decisions)
    ra, rb = _finals(a.rewards), _finals(b.rewards)
    out = Comparison(
        a.name,
        b.name,
        counts={
            side.name: {
                "events": side.events,
                "decisions": len(decisions),
                "final_rewards": len(finals),
                "dead_letters": sum(side.dead_letters.values()),
                "undecodable": side.undecodable,
            }
            for side, decisions, finals in ((a, da, ra), (b, db, rb))
        },
        actions={
            "a": Counter(d.action.type.value for d in da.values()),
            "b": Counter(d.action.type.value for d in db.values()),
        },
    )
    deltas: list[float] = []
    changed_deltas: list[float] = []
    for trigger, left in da.items():
        right = db.get(trigger)
        if right is None:
            out.only_a += 1
            continue
        out.matched += 1
        changed = left.action != right.action
        row = out.by_trigger.setdefault(left.trigger_event_type, [0, 0])
        policy = out.by_policy.setdefault(f"{_policy(left)} -> {_policy(right)}", [0, 0])
        row[1] += 1
        policy[1] += 1
        reward_a, reward_b = ra.get(left.decision_id), rb.get(right.decision_id)
        if reward_a is not None and reward_b is not None:
            deltas.append(reward_b - reward_a)
            if changed:
                changed_deltas.append(reward_b - reward_a)
        if not changed:
            continue
        out.changed += 1
        row[0] += 1
        policy[0] += 1
        out.transitions[(left.action.type.value, right.action.type.value)] += 1
        if len(out.examples) < examples:
            out.examples.append(
                {
                    "trigger_event_id": trigger,
                    "trigger": left.trigger_event_type,
                    "event_time": left.event_time.isoformat(),
                    "a": describe_action(left.action),
                    "b": describe_action(right.action),
                    "a_reward": reward_a,
                    "b_reward": reward_b,
                }
            )
    out.only_b = sum(1 for t in db if t not in da)
    out.rewards = {
        "a_total": round(sum(ra.values()), 6),
        "b_total": round(sum(rb.values()), 6),
        "a_mean": round(float(np.mean(list(ra.values()))), 6) if ra else 0.0,
        "b_mean": round(float(np.mean(list(rb.values()))), 6) if rb else 0.0,
        "paired": len(deltas),
        "delta_total": round(sum(deltas), 6),
        "delta_mean": round(float(np.mean(deltas)), 6) if deltas else 0.0,
        "changed_paired": len(changed_deltas),
        "changed_delta_mean": round(float(np.mean(changed_deltas)), 6) if changed_deltas else 0.0,
    }
    keys = sorted(set(a.dead_letters) | set(b.dead_letters))
    out.dead_letters = {f"{s}/{r}": [a.dead_letters.get((s, r), 0), b.dead_letters.get((s, r), 0)] for s, r in keys}
    out.what_if = what_if(da, ra, db, spec or IntervalSpec(n_bootstrap=1000))
    return out


def what_if(
    original: dict[str, Decision], rewards: dict[str, float], candidate: dict[str, Decision], spec: IntervalSpec
) -> dict[str, Any]:
    """The OPE estimates of the candidate side's policy on the original side's rewarded decisions."""
    rows = [d for t, d in original.items() if d.decision_id in rewards and t in candidate and d.candidates]
    if not rows:
        return {"n": 0, "note": "no original decision with a final reward has a candidate decision"}
    unmatched: list[float] = []

    def dist(decision: Decision) -> list[float]:
        offered = candidate[decision.trigger_event_id]
        probs: dict[Action, float] = {}
        for c in offered.candidates:
            probs[c.action] = probs.get(c.action, 0.0) + c.propensity
        row = [probs.get(c.action, 0.0) for c in decision.candidates]
        total = sum(row)
        unmatched.append(max(0.0, 1.0 - total))
        if total <= 0.0:  # nothing in common: the candidate's choice is invisible here; count it as "none of these"
            return [1.0 / len(row)] * len(row)
        return [p / total for p in row]

    by_type: dict[str, list[float]] = {}
    for d in rows:
        by_type.setdefault(d.action.type.value, []).append(rewards[d.decision_id])
    overall = float(np.mean([rewards[d.decision_id] for d in rows]))
    means = {k: float(np.mean(v)) for k, v in by_type.items()}
    try:
        log = decision_log(rows, rewards)
        action_dist = log.action_dist(dist)
        q_hat = log.estimated_rewards(lambda d: [means.get(c.action.type.value, overall) for c in d.candidates])
        estimates = estimate_all(log.bandit, action_dist, q_hat, spec=spec)
    except OPEInputError as exc:
        return {"n": len(rows), "error": str(exc)}
    realised = [rewards[d.decision_id] for d in rows]
    return {
        "n": len(rows),
        "coverage": round(len(rows) / max(1, len(rewards)), 4),
        "unmatched_mass": round(float(np.mean(unmatched)), 4) if unmatched else 0.0,
        "logged_value": round(float(np.mean(realised)), 6),
        "estimates": {
            name: {"value": round(e.value, 6), "lower": round(e.interval.lower, 6), "upper": round(e.interval.upper, 6)}
            for name, e in estimates.items()
        },
        "interval": f"{spec.method} {spec.level:g}",
    }
