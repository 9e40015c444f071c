"""The in-process closed loop: simulated shoppers → features → decisions → shoppers react → attributed rewards → learn.

No broker and no Triton: the same pieces the worker composes, called in one thread in event-time order. Per step of
``LoopConfig.step_s`` sim seconds: the simulator's records are decoded through the schemas codec, applied to one
:class:`~streams.features.FeatureState` and the River :class:`~serving.models.ModelSuite`
(:func:`agents.compute_features.learn_from_event`) and fed to an :class:`~streams.attribution.Attributor`; every
trigger (:func:`serving.decision_builder.is_trigger`) is prepared and guarded by :mod:`serving.decision_builder`
(candidates, vectors, guardrails with the guard state after the decisions before it) and chosen by the policy under
test with the decision's seed; the decision goes to the simulator (:meth:`~simulator.Simulation.apply_intervention`,
at the end of the step: the loop's decision latency) and to the
attributor. When the attributor settles a decision, its composite reward reaches the policy as a
:class:`~serving.policy.Feedback` with the state, candidates, mask, choice and propensity it was decided with.

Deterministic: the same simulation config, settings and policy (same seed) give the same decisions and rewards;
only :attr:`LoopResult.wall_s` and :attr:`LoopResult.policy_s` vary (``clock`` is a parameter).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import numpy.typing as npt

from agents.compute_features import learn_from_event
from kairos.serving import guardrail_config, policy_parts
from kairos.settings import Settings
from schemas.catalogue import CatalogueItem
from schemas.codec import EventDecoder, StructDecoder
from schemas.decisions import Decision, FeatureContribution
from schemas.events import AddToCart, Event, InterventionDismiss, ProductView
from schemas.rewards import RewardComponent
from serving.decision_builder import (
    Chosen,
    DecisionPolicy,
    Prepared,
    choose,
    is_trigger,
    prepare,
    record,
    trigger_context,
)
from serving.guardrails import GuardrailConfig, SharedGuardState, UserGuardState, apply_dismissal
from serving.models import ModelSuite
from serving.models.inputs import FeatureRow
from serving.policy import ActionSpace, Feedback, Policy, StateEncoder
from serving.product_rows import candidate_rows, popular_products, with_stock
from simulator import Simulation, SimulationConfig, SimulationSummary
from simulator.wire import catalogue_records
from streams.attribution import AttributionConfig, Attributor, ComponentRule, Settled
from streams.attribution.config import Aggregation, CreditRule
from streams.catalogue import CatalogueTable
from streams.features import FeatureConfig, FeatureState

__all__ = ["LoopConfig", "LoopResult", "RoundResult", "loop_attribution", "run_loop"]

F32 = npt.NDArray[np.float32]
_COMPOSITE = RewardComponent.COMPOSITE


def loop_attribution(window_s: float = 10800.0) -> AttributionConfig:
    """The loop's attribution rules: the defaults, with satisfaction, retention and penalty windows of ``window_s``.

    The production windows (24 h, 7 days) would settle no decision within a simulated run, so nothing could be
    learned online; the loop closes every component with the decision's own window (pass
    ``decide.attribution_window_s``, 3 h by default: the longest configured window caps the decisions' own, so a
    shorter one here would cut transaction value and conversion too — the loop did that, at 30 minutes, until
    issue 10).
    """
    return AttributionConfig(
        penalty=ComponentRule(window_s=window_s),
        satisfaction=ComponentRule(window_s=window_s, aggregation=Aggregation.AVERAGE, weight=0.5),
        retention=ComponentRule(
            window_s=window_s, backward_s=0.0, aggregation=Aggregation.EARLIEST, weight=0.25, credit=CreditRule.EVERY
        ),
    )


@dataclass(frozen=True, slots=True)
class LoopConfig:
    """How the loop runs.

    Attributes:
        step_s: sim seconds per step; decisions reach the simulator at the end of their step (the decision latency).
        popular_refresh_s: event-time seconds between refreshes of the popular products and their rows.
        popular_top: how many popular products are candidates.
        attribution: the attribution rules (default: :func:`loop_attribution` of the decisions' own window,
            ``decide.attribution_window_s``; shorter component windows would cap it).
        features: the feature state's configuration.
        learn: pass settled decisions to ``policy.learn_one`` (off: evaluate a frozen policy).
        drain: at the end, settle every pending decision (its windows cut at the end of the run).
    """

    step_s: float = 1.0
    popular_refresh_s: float = 5.0
    popular_top: int = 20
    attribution: AttributionConfig | None = None
    features: FeatureConfig = field(default_factory=FeatureConfig)
    learn: bool = True
    drain: bool = True


@dataclass(frozen=True, slots=True)
class RoundResult:
    """One decision of the run: what was chosen, with which propensity, what it earned and what the oracle knew.

    ``reward`` is the attributed composite (``None`` when it never settled), ``chosen_value`` / ``best_value`` the
    simulator's oracle values in EUR (``None`` when the decision was not applied, e.g. its session had ended),
    ``at`` the decision's sim time in seconds (its trigger's event time).
    """

    decision_id: str
    action: str
    propensity: float
    policy_version: str
    reward: float | None
    shown: bool | None
    status: str
    chosen_value: float | None
    best_value: float | None
    regret: float | None
    at: float = 0.0


@dataclass(frozen=True, slots=True)
class LoopResult:
    """One run: counts, attributed rewards, the simulator's outcomes and oracle, and timing.

    Attributes:
        policy: the policy's name.
        seed: the simulation seed.
        events: valid events processed.
        decisions: decisions made.
        learned: feedbacks passed to ``learn_one``.
        reward: the sum of the settled decisions' composite rewards.
        settled: decisions with a final reward.
        applied: decisions the simulator showed (its truth status ``applied``).
        chosen_value: the sum of the oracle values of the chosen actions over applied decisions (EUR).
        best_value: the sum of the oracle values of the best action over the same decisions (EUR).
        regret: ``best_value - chosen_value``, summed as the simulator computes it (EUR).
        conversions: sessions that purchased.
        sessions: sessions started.
        revenue: net revenue of every purchase (EUR).
        actions: decisions by action type.
        rounds: every decision, in decision order.
        wall_s: wall seconds of the whole run.
        policy_s: wall seconds inside the policy (scores, choose, learn_one).
        simulation: the simulator's final counters (purchases, discounts, sign-ups, reactions, events by type).
    """

    policy: str
    seed: int
    events: int
    decisions: int
    learned: int
    reward: float
    settled: int
    applied: int
    chosen_value: float
    best_value: float
    regret: float
    conversions: int
    sessions: int
    revenue: float
    actions: dict[str, int]
    rounds: tuple[RoundResult, ...]
    wall_s: float
    policy_s: float
    simulation: SimulationSummary

    @property
    def mean_reward(self) -> float:
        """Composite reward per settled decision."""
        return self.reward / self.settled if self.settled else 0.0

    @property
    def events_per_s(self) -> float:
        """Events through the whole loop per wall second."""
        return self.events / self.wall_s if self.wall_s > 0 else 0.0

    def summary(self) -> dict[str, object]:
        """The figures as a JSON-ready dict (no rounds)."""
        return {
            "policy": self.policy,
            "seed": self.seed,
            "events": self.events,
            "decisions": self.decisions,
            "learned": self.learned,
            "settled": self.settled,
            "applied": self.applied,
            "reward": round(self.reward, 4),
            "mean_reward": round(self.mean_reward, 5),
            "chosen_value_eur": round(self.chosen_value, 2),
            "best_value_eur": round(self.best_value, 2),
            "regret_eur": round(self.regret, 2),
            "conversions": self.conversions,
            "sessions": self.sessions,
            "revenue_eur": round(self.revenue, 2),
            "actions": self.actions,
            "wall_s": round(self.wall_s, 3),
            "policy_s": round(self.policy_s, 3),
            "events_per_s": round(self.events_per_s, 1),
        }


@dataclass(frozen=True, slots=True)
class _Logged:
    prepared: Prepared
    chosen: Chosen
    mask: npt.NDArray[np.bool_]


def run_loop(
    sim_config: SimulationConfig,
    policy: Policy,
    *,
    settings: Settings | None = None,
    config: LoopConfig | None = None,
    clock: Callable[[], float] = time.perf_counter,
) -> LoopResult:
    """Run one simulation closed through ``policy`` (see the module docstring).

    Args:
        sim_config: the simulated shoppers (seeded).
        policy: the policy under test (scores, chooses with exact propensities, learns).
        settings: where the state layout, action space and guardrails come from (default ``Settings()``).
        config: the loop's knobs.
        clock: wall seconds, for the timing figures only.

    Returns:
        The run's :class:`LoopResult`.
    """
    loop = _Loop(sim_config, policy, settings or Settings(), config or LoopConfig(), clock)
    return loop.run()


class _Loop:
    def __init__(
        self,
        sim_config: SimulationConfig,
        policy: Policy,
        settings: Settings,
        config: LoopConfig,
        clock: Callable[[], float],
    ) -> None:
        self.sim = Simulation(sim_config)
        self.policy = policy
        self.config = config
        self.clock = clock
        parts = policy_parts(settings)
        self.encoder: StateEncoder = parts.encoder
        self.space: ActionSpace = parts.space
        self.guardrails: GuardrailConfig = guardrail_config(settings)
        self.pad_to = settings.decide.pad_to
        self.window_s = settings.decide.attribution_window_s
        self.idle_trigger_s = settings.decide.idle_trigger_s
        self.state = FeatureState(config.features)
        self.models = ModelSuite(seed=sim_config.seed)
        # The decisions' own window must not be capped by shorter configured ones (the longest caps it).
        window_s = float(settings.decide.attribution_window_s)
        self.attributor = Attributor(config.attribution or loop_attribution(window_s))
        self.catalogue = CatalogueTable()
        item_decoder = StructDecoder(CatalogueItem)
        for _, value in catalogue_records(self.sim.catalogue, self.sim.start_time):
            self.catalogue.apply(item_decoder.decode(value))
        self.decode = EventDecoder().decode
        self.users: dict[str, UserGuardState] = {}
        self.shared = SharedGuardState.for_config(self.guardrails)
        self.logged: dict[str, _Logged] = {}
        self.order: list[Decision] = []
        self.rewards: dict[str, tuple[float, bool]] = {}
        self.popular: tuple[str, ...] = ()
        self.rows: dict[str, FeatureRow] = {}
        self.popular_due = float("-inf")
        self.events = self.learned = 0
        self.policy_s = 0.0

    def run(self) -> LoopResult:
        started = self.clock()
        sim, step = self.sim, self.config.step_s
        t = 0.0
        while t < sim.end:
            t = min(t + step, sim.end)
            made = [d for record in sim.advance(t) if (d := self.on_event(self.decode(record.value))) is not None]
            for decision in made:
                sim.apply_intervention(decision, sim.now)
            self.settle(self.attributor.advance().settled)
        if self.config.drain:
            self.settle(self.attributor.drain().settled)
        return self.result(self.clock() - started)

    def on_event(self, event: Event) -> Decision | None:
        self.events += 1
        keys = self.state.apply(event)
        if keys.late:
            return None
        user_row, session_row = learn_from_event(self.models, self.state, event, keys)
        self.attributor.add_event(event)
        key = event.partition_key
        if isinstance(event, InterventionDismiss):
            self.users[key] = apply_dismissal(self.users.get(key, UserGuardState()), event.event_time.timestamp())
            return None
        if not is_trigger(event, session_row, self.idle_trigger_s):
            return None
        decision = self.decide(event, user_row, session_row)
        self.attributor.add_decision(decision)
        self.order.append(decision)
        return decision

    def decide(self, event: Event, user_row: FeatureRow | None, session_row: FeatureRow | None) -> Decision:
        context = trigger_context(
            event,
            user_row,
            session_row,
            self.models,
            product_rows=self.product_rows(
                event.product_id if isinstance(event, ProductView | AddToCart) else None, event.event_time
            ),
            popular=self.popular,
        )
        prepared = prepare(context, self.encoder, self.space, policy_name=self.policy.name, pad_to=self.pad_to)
        policy, clock, masks = self.policy, self.clock, []

        def choose_masked(
            scores: npt.NDArray[np.float64], mask: npt.NDArray[np.bool_], seed: int
        ) -> tuple[int, npt.NDArray[np.float64]]:
            masks.append(mask)  # the guarded mask the policy chose under: the feedback's mask
            began = clock()
            out = policy.choose(scores, mask, seed)
            self.policy_s += clock() - began
            return out

        decider = DecisionPolicy(policy.name, policy.version, "triton", choose_masked, _no_explanation)
        key = event.partition_key
        began = clock()
        scored = policy.scores(prepared.state[None], prepared.vectors[None], prepared.valid[None])[0]
        self.policy_s += clock() - began
        chosen = choose(
            prepared, scored, decider, user=self.users.get(key, UserGuardState()), shared=self.shared,
            guardrails=self.guardrails,
        )  # fmt: skip
        self.users[key], self.shared = chosen.user, chosen.shared
        decision = record(chosen, decider, [], attribution_window_s=self.window_s)
        self.logged[decision.decision_id] = _Logged(prepared, chosen, masks[0])
        return decision

    def product_rows(self, current: str | None, at: datetime) -> dict[str, FeatureRow]:
        """Rows of the current product, its co-purchase neighbours and the popular products, stock overlaid."""
        now_s = at.timestamp()
        if now_s >= self.popular_due:
            self.popular_due = now_s + self.config.popular_refresh_s
            self.rows = {}
            state, stock = self.state, self.catalogue.stock
            rows = {p: state.product_row(p, at) for p in state.product_ids()}
            self.popular = popular_products(rows, lambda p: stock(p) != 0, self.config.popular_top)
        return candidate_rows(current, self.popular, lambda p: self.row(p, at))

    def row(self, product_id: str, at: datetime) -> FeatureRow:
        # Rows are kept until the next popularity refresh (the product stage's publishing lag in the worker).
        held = self.rows.get(product_id)
        if held is None:
            held = with_stock(self.state.product_row(product_id, at), self.catalogue.stock(product_id))
            self.rows[product_id] = held
        return held

    def settle(self, settled: tuple[Settled, ...]) -> None:
        for done in settled:
            decision_id = done.decision.decision_id
            reward = done.values[_COMPOSITE]
            self.rewards[decision_id] = (reward, done.shown)
            logged = self.logged.pop(decision_id, None)
            if logged is None or not self.config.learn:
                continue
            chosen = logged.chosen
            feedback = Feedback(
                state=logged.prepared.state,
                candidates=logged.prepared.vectors,
                mask=logged.mask,
                chosen=chosen.index,
                reward=reward,
                propensity=float(chosen.propensities[chosen.index]),
                propensities=chosen.propensities,
            )
            began = self.clock()
            self.policy.learn_one(feedback)
            self.policy_s += self.clock() - began
            self.learned += 1

    def result(self, wall_s: float) -> LoopResult:
        truth = self.sim.truth
        rounds: list[RoundResult] = []
        for decision in self.order:
            entry = truth.get(decision.decision_id)
            reward, shown = self.rewards.get(decision.decision_id, (None, None))
            applied = entry is not None and entry.status == "applied"
            chosen_value = entry.chosen_value if applied and entry is not None else None
            best = None
            if chosen_value is not None and entry is not None:  # as the simulator's regret: the chosen may beat all
                best = max(max(entry.oracle.values(), default=0.0), chosen_value)
            rounds.append(
                RoundResult(
                    decision_id=decision.decision_id,
                    action=decision.action.type.value,
                    propensity=decision.propensity,
                    policy_version=decision.policy_version,
                    reward=reward,
                    shown=shown,
                    status=entry.status if entry is not None else "not_received",
                    chosen_value=chosen_value,
                    best_value=best,
                    regret=entry.regret if applied and entry is not None else None,
                    at=(decision.event_time - self.sim.start_time).total_seconds(),
                )
            )
        summary = self.sim.summary()
        applied_rounds = [r for r in rounds if r.chosen_value is not None]
        return LoopResult(
            policy=self.policy.name,
            seed=self.sim.config.seed,
            events=self.events,
            decisions=len(rounds),
            learned=self.learned,
            reward=sum(r.reward for r in rounds if r.reward is not None),
            settled=sum(r.reward is not None for r in rounds),
            applied=len(applied_rounds),
            chosen_value=sum(r.chosen_value or 0.0 for r in applied_rounds),
            best_value=sum(r.best_value or 0.0 for r in applied_rounds),
            regret=sum(r.regret or 0.0 for r in applied_rounds),
            conversions=summary.sessions_converted,
            sessions=summary.sessions_started,
            revenue=summary.revenue,
            actions=dict(sorted(Counter(r.action for r in rounds).items())),
            rounds=tuple(rounds),
            wall_s=wall_s,
            policy_s=self.policy_s,
            simulation=summary,
        )


def _no_explanation(states: F32, _chosen: F32) -> list[list[FeatureContribution]]:
    """The loop explains nothing (explanations cost a backward pass and change no outcome)."""
    return [[] for _ in range(len(states))]
