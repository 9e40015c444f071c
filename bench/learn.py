"""``kairos bench learn``: Kairos's decide+learn loop against Vowpal Wabbit and River's LinUCB, same simulated shoppers.

Each learner runs the in-process closed loop (:func:`kairos.evaluation.run_loop`) on the same seeded simulation
(shoppers, catalogue, arrivals), the same feature pipeline, candidates, vectors and guardrails, and learns online from
the same attributed composite reward as decisions settle. Only the policy differs:

- ``kairos``: :class:`~serving.policy.neural_bandit.NeuralBandit` (SquareCB), the policy the worker serves;
- ``vw``: Vowpal Wabbit ``--cb_explore_adf --squarecb`` (:class:`bench.learners.VowpalWabbitPolicy`);
- ``river``: River's ``LinUCBDisjoint`` (:class:`bench.learners.RiverLinUCBPolicy`).

The loop is closed, so the shoppers' later events depend on each policy's interventions: the streams start the same
and diverge with the decisions. Figures per learner: events/s through the whole loop (simulator, decode, features,
River models, attribution and the policy), decisions/s inside the policy alone (score, choose, learn), the mean
composite reward per decision, and the simulator's oracle: the mean value of the chosen actions and of the best
action (EUR) over the decisions it showed, and the regret.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import torch

from bench.learners import RiverLinUCBPolicy, VowpalWabbitPolicy
from kairos.evaluation import LoopConfig, LoopResult, loop_attribution, run_loop
from kairos.progress import progress
from kairos.serving import policy_parts
from kairos.settings import Settings
from serving.policy import Policy
from simulator import SimulationConfig

__all__ = ["LEARNERS", "learner", "run"]

LEARNERS = ("kairos", "vw", "river")


def learner(name: str, settings: Settings, seed: int) -> Policy:
    """A fresh policy of one of :data:`LEARNERS`, seeded."""
    if name == "kairos":
        return policy_parts(replace(settings, serving=replace(settings.serving, policy_seed=seed))).policy
    if name == "vw":
        return VowpalWabbitPolicy(seed=seed)
    if name == "river":
        return RiverLinUCBPolicy(seed=seed)
    raise ValueError(f"unknown learner {name!r}; one of {LEARNERS}")


def _figures(results: list[LoopResult]) -> dict[str, Any]:
    events = sum(r.events for r in results)
    decisions = sum(r.decisions for r in results)
    settled = sum(r.settled for r in results)
    applied = sum(r.applied for r in results)
    wall = sum(r.wall_s for r in results)
    policy_s = sum(r.policy_s for r in results)
    return {
        "events": events,
        "decisions": decisions,
        "settled": settled,
        "applied": applied,
        "learned": sum(r.learned for r in results),
        "events_per_s": events / wall if wall else 0.0,
        "policy_decisions_per_s": decisions / policy_s if policy_s else 0.0,
        "reward": sum(r.reward for r in results) / settled if settled else 0.0,
        "value_eur": sum(r.chosen_value for r in results) / applied if applied else 0.0,
        "oracle_eur": sum(r.best_value for r in results) / applied if applied else 0.0,
        "regret_eur": sum(r.regret for r in results) / applied if applied else 0.0,
        "conversions": sum(r.conversions for r in results),
        "revenue_eur": round(sum(r.revenue for r in results), 2),
        "wall_s": round(wall, 2),
        "policy_s": round(policy_s, 2),
    }


def run(
    *,
    shoppers: int = 2000,
    duration_s: float = 4 * 3600.0,
    seeds: tuple[int, ...] = (1,),
    window_s: float = 900.0,
    step_s: float = 1.0,
    log: Callable[[str], None] = lambda line: print(line, file=sys.stderr),
) -> dict[str, Any]:
    """Run every learner on every seed and report the figures and the headline comparison.

    Args:
        shoppers: simulated shoppers per run (arrivals spread over the run).
        duration_s: simulated seconds per run.
        seeds: simulation (and learner) seeds; figures are pooled over them.
        window_s: the attribution window (every component) and the decisions' ``attribution_window_s``: the
            delay before a decision's reward is final and learned from.
        step_s: the loop's step (decision latency), sim seconds.
        log: progress lines (stderr).

    Returns:
        ``{"learners": {...}, "headline": {...}}``; the headline has ``kairos_events_per_s``, ``vw_events_per_s``,
        ``river_events_per_s``, ``kairos_reward``, ``vw_reward``, ``river_reward`` and ``oracle_reward``.
    """
    base = Settings()
    settings = replace(base, decide=replace(base.decide, attribution_window_s=int(window_s)))
    config = LoopConfig(step_s=step_s, attribution=loop_attribution(window_s))
    figures: dict[str, dict[str, Any]] = {}
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as the Triton server runs the policy (TORCH_NUM_THREADS=1); VW and River use one too
    try:
        with progress("bench learn", total=len(LEARNERS) * len(seeds), unit="run") as bar:
            for name in LEARNERS:
                results = []
                for seed in seeds:
                    bar.set_postfix_str(f"{name} seed={seed}")
                    sim = SimulationConfig(shoppers=shoppers, duration_s=duration_s, seed=seed)
                    result = run_loop(sim, learner(name, settings, seed), settings=settings, config=config)
                    log(f"{name} seed={seed}: {result.summary()}")
                    results.append(result)
                    bar.update(1)
                figures[name] = _figures(results)
    finally:
        torch.set_num_threads(threads)
    kairos, vw, river = figures["kairos"], figures["vw"], figures["river"]
    headline: dict[str, Any] = {
        "kairos_events_per_s": round(kairos["events_per_s"], 1),
        "vw_events_per_s": round(vw["events_per_s"], 1),
        "river_events_per_s": round(river["events_per_s"], 1),
        "kairos_policy_decisions_per_s": round(kairos["policy_decisions_per_s"], 1),
        "vw_policy_decisions_per_s": round(vw["policy_decisions_per_s"], 1),
        "river_policy_decisions_per_s": round(river["policy_decisions_per_s"], 1),
        "kairos_reward": round(kairos["reward"], 5),
        "vw_reward": round(vw["reward"], 5),
        "river_reward": round(river["reward"], 5),
        "kairos_value_eur": round(kairos["value_eur"], 4),
        "vw_value_eur": round(vw["value_eur"], 4),
        "river_value_eur": round(river["value_eur"], 4),
        "oracle_reward": round(kairos["oracle_eur"], 4),
        "kairos_regret_eur": round(kairos["regret_eur"], 4),
        "vw_regret_eur": round(vw["regret_eur"], 4),
        "river_regret_eur": round(river["regret_eur"], 4),
        "throughput_ratio_kairos_vw": _ratio(kairos["events_per_s"], vw["events_per_s"]),
        "reward_gain_kairos_vw": round(kairos["reward"] - vw["reward"], 5),
        "decisions": {name: figures[name]["decisions"] for name in LEARNERS},
        "seeds": list(seeds),
        "shoppers": shoppers,
        "duration_s": duration_s,
        "window_s": window_s,
    }
    return {"learners": figures, "headline": headline}


def _ratio(a: float, b: float) -> float:
    return round(a / b, 3) if b else 0.0
