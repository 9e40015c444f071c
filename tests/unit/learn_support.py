"""Synthetic decision contexts for the learner tests: a world where one candidate feature pays."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np

from schemas.contexts import DecisionContext

S, A, K = 4, 3, 3
T0 = datetime(2026, 11, 1, tzinfo=UTC)


def context(
    i: int,
    rng: np.random.Generator,
    *,
    seconds: float | None = None,
    policy_version: str = "neural_bandit-u0",
    stratum: str = "all",
) -> DecisionContext:
    """Decision ``d-<i>``: K random candidates, one chosen uniformly (propensity 1/K), all allowed."""
    state = rng.normal(size=S)
    candidates = rng.normal(size=(K, A))
    chosen = int(rng.integers(0, K))
    return DecisionContext(
        decision_id=f"d-{i}",
        key=f"u-{i % 7}",
        event_time=T0 + timedelta(seconds=float(i) if seconds is None else seconds),
        schema_version=1,
        session_id=f"s-{i}",
        policy_name="neural_bandit",
        policy_version=policy_version,
        policy_source="triton",
        state=state.tolist(),
        candidates=candidates.tolist(),
        mask=[True] * K,
        chosen=chosen,
        propensity=1.0 / K,
        propensities=[1.0 / K] * K,
        stratum=stratum,
    )


def reward_of(ctx: DecisionContext) -> float:
    """1 when the chosen candidate has the largest first feature of its decision, else 0."""
    firsts = [c[0] for c in ctx.candidates]
    return 1.0 if int(np.argmax(firsts)) == ctx.chosen else 0.0


def when(ctx: DecisionContext, later_s: float = 0.0) -> float:
    """The context's event time in seconds, plus ``later_s``."""
    return ctx.event_time.timestamp() + later_s
