"""``kairos evaluate``: every arm on the same seeded shoppers, per-seed metrics, intervals, tests, drift recovery.

Each seed fixes one shopper population (and catalogue, arrivals, drift); every arm runs on it through the in-process
loop (:func:`~kairos.evaluation.loop.run_loop`), so arms differ only by their decisions. Figures per (arm, seed):
:func:`metrics_of`; across seeds: t-intervals, paired relative lifts against the rules, one-way ANOVA per metric and
a chi-square test on pooled conversions (:mod:`kairos.evaluation.stats`); with a drift, the recovery time of each
run (:func:`recovery_time`). See docs/evaluation.md.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

import torch

from kairos.evaluation.arms import ARM_NAMES, arm
from kairos.evaluation.history import HistoryConfig, collect_history, warm_start
from kairos.evaluation.loop import LoopConfig, LoopResult, run_loop
from kairos.evaluation.stats import (
    Interval,
    TestResult,
    anova,
    chi_square,
    minimum_detectable_lift,
    relative_lift,
    t_interval,
)
from kairos.serving import policy_parts
from kairos.settings import Settings
from serving.policy import Feedback
from simulator import DriftConfig, SimulationConfig

__all__ = [
    "CLAIMS",
    "DEFAULT_DRIFT",
    "METRICS",
    "QUICK",
    "EvaluationConfig",
    "EvaluationReport",
    "RunFigures",
    "aggregate",
    "evaluate",
    "metrics_of",
    "preset",
    "recovery_time",
    "render",
]

START: Final = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)

METRICS: Final = (
    "conversion",
    "aov_eur",
    "revenue_per_user_eur",
    "csat_proxy",
    "signups_per_1k",
    "discount_per_user_eur",
    "regret_per_user_eur",
    "mean_reward",
)
"""Per (arm, seed) figures, in report order (see :func:`metrics_of`)."""

LIFT_METRICS: Final = ("conversion", "aov_eur", "revenue_per_user_eur")

CLAIMS: Final = (
    ("004", "conversion", 0.12),
    ("004", "aov_eur", 0.15),
    ("004", "revenue_per_user_eur", 0.10),
    ("000", "conversion", 0.30),
    ("000", "aov_eur", 0.40),
)
"""The design sources' claimed lifts over the rule baseline: (source, metric, relative lift)."""


@dataclass(frozen=True, slots=True)
class EvaluationConfig:
    """What ``kairos evaluate`` runs.

    Attributes:
        seeds: one shopper population per seed; every arm runs on each.
        shoppers: shoppers per population.
        duration_s: simulated seconds per run.
        arms: arm names (:data:`~kairos.evaluation.arms.ARM_NAMES`).
        drift: shift preferences and prices mid-run (:class:`~simulator.DriftConfig`), or ``None``.
        recovery_window_s: width of the reward windows compared for the recovery time.
        recovery_tolerance: a window has recovered when its mean reward is at least the pre-drift level minus this
            fraction of the level's magnitude.
        confidence: level of the intervals.
        history: the populations whose ε-greedy rule logs warm-start the ``warm`` arms (never an evaluated seed).
    """

    seeds: tuple[int, ...] = (1, 2, 3, 4, 5)
    shoppers: int = 800
    duration_s: float = 7200.0
    arms: tuple[str, ...] = ARM_NAMES
    drift: DriftConfig | None = None
    recovery_window_s: float = 900.0
    recovery_tolerance: float = 0.1
    confidence: float = 0.95
    history: HistoryConfig = field(default_factory=HistoryConfig)

    def __post_init__(self) -> None:
        """Reject history populations that are also evaluated.

        Raises:
            ValueError: a seed is both a history and an evaluated population.
        """
        shared = sorted(set(self.seeds) & set(self.history.seeds))
        if shared:
            raise ValueError(f"seeds {shared} are both evaluated and history: warm starts must come from others")

    def sim_config(self, seed: int) -> SimulationConfig:
        """The simulation of one seed (fixed start time, so runs are reproducible)."""
        return SimulationConfig(
            shoppers=self.shoppers, duration_s=self.duration_s, seed=seed, start_time=START, drift=self.drift
        )


@dataclass(frozen=True, slots=True)
class RunFigures:
    """One (arm, seed) run: its metrics, its conversions for the chi-square, its recovery time after a drift."""

    arm: str
    seed: int
    metrics: dict[str, float]
    converted: int
    sessions: int
    recovery_s: float | None = None
    wall_s: float = 0.0


@dataclass(frozen=True, slots=True)
class EvaluationReport:
    """Everything ``kairos evaluate`` prints."""

    config: EvaluationConfig
    runs: tuple[RunFigures, ...]
    arms: dict[str, dict[str, Interval]]
    lifts: dict[str, dict[str, Interval]]
    anova: dict[str, TestResult]
    chi_square: TestResult
    recovery: dict[str, Interval] = field(default_factory=dict)
    recovered: dict[str, int] = field(default_factory=dict)
    mde: dict[str, dict[str, float]] = field(default_factory=dict)

    def ranking(self) -> list[str]:
        """The arms by whole-population revenue per user, best first (not by mean reward per decision, which an arm
        improves just by deciding more often)."""
        return sorted(self.arms, key=lambda a: -self.arms[a]["revenue_per_user_eur"].mean)

    def to_json(self) -> dict[str, Any]:
        """The report as a JSON-ready dict (the last line ``kairos evaluate`` prints)."""
        cfg = self.config
        out: dict[str, Any] = {
            "seeds": list(cfg.seeds),
            "shoppers": cfg.shoppers,
            "duration_s": cfg.duration_s,
            "confidence": cfg.confidence,
            "arms": {a: {m: i.to_json() for m, i in ms.items()} for a, ms in self.arms.items()},
            "lift_vs_rules": {a: {m: i.to_json() for m, i in ms.items()} for a, ms in self.lifts.items()},
            "minimum_detectable_lift": {a: {m: round(v, 4) for m, v in ms.items()} for a, ms in self.mde.items()},
            "ranking_by_revenue_per_user": self.ranking(),
            "history_seeds": list(cfg.history.seeds),
            "anova": {m: t.to_json() for m, t in self.anova.items()},
            "chi_square_conversion": self.chi_square.to_json(),
            "claims": self.claims(),
            "wall_s": round(sum(r.wall_s for r in self.runs), 1),
        }
        if cfg.drift is not None:
            out["drift"] = {
                "at_s": cfg.drift.at_s,
                "preference_mix": cfg.drift.preference_mix,
                "price_sigma": cfg.drift.price_sigma,
                "price_shift": cfg.drift.price_shift,
                "window_s": cfg.recovery_window_s,
                "tolerance": cfg.recovery_tolerance,
                "recovery_s": {a: i.to_json(1) for a, i in self.recovery.items()},
                "recovered_runs": self.recovered,
            }
        return out

    def claims(self) -> list[dict[str, Any]]:
        """Each design-source claim beside the full policy's measured lift over the rules (its interval)."""
        measured = self.lifts.get("full", {})
        out = []
        for source, metric, claimed in CLAIMS:
            lift = measured.get(metric)
            out.append(
                {
                    "source": source,
                    "metric": metric,
                    "claimed": claimed,
                    "measured": lift.to_json() if lift is not None else None,
                    "met": None if lift is None or not math.isfinite(lift.low) else lift.low >= claimed,
                }
            )
        return out


def metrics_of(result: LoopResult, shoppers: int) -> dict[str, float]:
    """The figures of one run.

    - ``conversion``: sessions with a purchase / sessions started;
    - ``aov_eur``: net revenue / orders (``nan`` without orders);
    - ``revenue_per_user_eur``: net revenue / shoppers in the population;
    - ``csat_proxy``: 1 - (dismissals + leaves) / interventions shown (1 when nothing was shown): the share of shown
      interventions the shopper did not reject (survey scores are too few to compare arms: 20% of purchases after
      an intervention);
    - ``signups_per_1k``: email sign-ups (organic and captured) per 1,000 shoppers;
    - ``discount_per_user_eur``: discounts given / shoppers;
    - ``regret_per_user_eur``: the oracle's regret summed over applied decisions / shoppers;
    - ``mean_reward``: attributed composite reward per settled decision.
    """
    summary = result.simulation
    reactions = summary.reactions
    shown = sum(n for kind, n in reactions.items() if kind != "none")
    rejected = reactions.get("dismiss", 0) + reactions.get("leave", 0)
    return {
        "conversion": result.conversions / result.sessions if result.sessions else math.nan,
        "aov_eur": summary.revenue / summary.purchases if summary.purchases else math.nan,
        "revenue_per_user_eur": summary.revenue / shoppers,
        "csat_proxy": 1.0 - rejected / shown if shown else 1.0,
        "signups_per_1k": 1000.0 * summary.email_signups / shoppers,
        "discount_per_user_eur": summary.discount_total / shoppers,
        "regret_per_user_eur": result.regret / shoppers,
        "mean_reward": result.mean_reward,
    }


def recovery_time(
    rewards: Sequence[tuple[float, float]], drift_at: float, window_s: float, tolerance: float, end: float
) -> float | None:
    """Seconds from the drift until the reward is back near its pre-drift level.

    The pre-drift level is the mean reward of the decisions in ``[drift_at - window_s, drift_at)``. After the drift,
    windows ``[t - window_s, t)`` slide by a quarter window from ``t = drift_at + window_s`` (the first window wholly
    after the drift); the run has recovered at the first ``t`` whose window's mean reward is at least ``level -
    tolerance · |level|``, and the recovery time is ``t - drift_at`` (so at least ``window_s``). ``None`` when no
    window recovers before ``end`` or a window is empty.

    Args:
        rewards: ``(sim seconds, reward)`` of each settled decision.
        drift_at: sim seconds of the drift.
        window_s: the window width.
        tolerance: the fraction of the level's magnitude a recovered window may fall short by.
        end: sim seconds of the end of the run.

    >>> flat = [(float(t), 1.0) for t in range(0, 100)]
    >>> recovery_time(flat, 50.0, 10.0, 0.1, 100.0)
    10.0
    >>> dip = [(float(t), 1.0 if t < 50 or t >= 70 else 0.0) for t in range(0, 100)]
    >>> recovery_time(dip, 50.0, 10.0, 0.1, 100.0)
    30.0
    """
    level = _mean(r for t, r in rewards if drift_at - window_s <= t < drift_at)
    if level is None:
        return None
    floor = level - tolerance * abs(level)
    step = window_s / 4.0
    t = drift_at + window_s
    while t <= end + 1e-9:
        mean = _mean(r for at, r in rewards if t - window_s <= at < t)
        if mean is not None and mean >= floor:
            return t - drift_at
        t += step
    return None


def _mean(values: Any) -> float | None:
    xs = list(values)
    return sum(xs) / len(xs) if xs else None


def evaluate(
    config: EvaluationConfig,
    *,
    settings: Settings | None = None,
    loop: LoopConfig | None = None,
    progress: Callable[[RunFigures], None] | None = None,
) -> EvaluationReport:
    """Run every arm on every seed and aggregate (see the module docstring).

    Args:
        config: seeds, population, duration, arms, drift.
        settings: state layout, action space and guardrails (default ``Settings()``).
        loop: the loop's knobs (default :class:`~kairos.evaluation.loop.LoopConfig`).
        progress: called after each run.

    Returns:
        The :class:`EvaluationReport`.
    """
    settings = settings or Settings()
    threads = torch.get_num_threads()
    # One intra-op thread: the policy's tensors are tiny, and on a busy 2-core machine torch's threads contend
    # (measured: a NeuralBandit run 13x slower with 2 threads than with 1).
    torch.set_num_threads(1)
    try:
        history: tuple[Feedback, ...] = ()
        if any(arm(name).warm for name in config.arms):
            history = collect_history(config.history, config.sim_config, settings=settings, loop=loop)
        runs = [
            _run(config, name, seed, settings=settings, loop=loop, progress=progress, history=history)
            for seed in config.seeds
            for name in config.arms
        ]
    finally:
        torch.set_num_threads(threads)
    return aggregate(config, runs)


def _run(
    config: EvaluationConfig,
    name: str,
    seed: int,
    *,
    settings: Settings,
    loop: LoopConfig | None,
    progress: Callable[[RunFigures], None] | None,
    history: tuple[Feedback, ...] = (),
) -> RunFigures:
    began = time.perf_counter()
    encoder = policy_parts(settings).encoder
    chosen = arm(name)
    policy = chosen.build(encoder, seed)
    if chosen.warm:
        warm_start(policy, history)
    result = run_loop(config.sim_config(seed), policy, settings=settings, config=loop)
    recovery = None
    if config.drift is not None:
        rewards = [(r.at, r.reward) for r in result.rounds if r.reward is not None]
        drift = config.drift
        recovery = recovery_time(
            rewards, drift.at_s, config.recovery_window_s, config.recovery_tolerance, config.duration_s
        )
    figures = RunFigures(
        arm=name,
        seed=seed,
        metrics=metrics_of(result, config.shoppers),
        converted=result.conversions,
        sessions=result.sessions,
        recovery_s=recovery,
        wall_s=time.perf_counter() - began,
    )
    if progress is not None:
        progress(figures)
    return figures


def aggregate(config: EvaluationConfig, runs: Sequence[RunFigures]) -> EvaluationReport:
    """Intervals, lifts against the rules, ANOVA per metric, chi-square on conversions, recovery times."""
    by_arm = {a: [r for r in runs if r.arm == a] for a in config.arms}
    per_seed = {a: {m: [r.metrics[m] for r in rs] for m in METRICS} for a, rs in by_arm.items()}
    arms = {a: {m: t_interval(v, config.confidence) for m, v in ms.items()} for a, ms in per_seed.items()}
    lifts: dict[str, dict[str, Interval]] = {}
    mde: dict[str, dict[str, float]] = {}
    if "rules" in per_seed:
        base = {r.seed: r for r in by_arm["rules"]}
        for a, rs in by_arm.items():
            if a == "rules":
                continue
            paired = [r for r in rs if r.seed in base]
            pairs = {
                m: ([r.metrics[m] for r in paired], [base[r.seed].metrics[m] for r in paired]) for m in LIFT_METRICS
            }
            lifts[a] = {m: relative_lift(*pairs[m], config.confidence) for m in LIFT_METRICS}
            mde[a] = {m: minimum_detectable_lift(*pairs[m], config.confidence) for m in LIFT_METRICS}
    tests = {m: anova({a: [v for v in ms[m] if math.isfinite(v)] for a, ms in per_seed.items()}) for m in METRICS}
    pooled = {a: (sum(r.converted for r in rs), sum(r.sessions for r in rs)) for a, rs in by_arm.items()}
    recovery: dict[str, Interval] = {}
    recovered: dict[str, int] = {}
    if config.drift is not None:
        for a, rs in by_arm.items():
            times = [r.recovery_s for r in rs if r.recovery_s is not None]
            recovery[a] = t_interval(times, config.confidence)
            recovered[a] = len(times)
    return EvaluationReport(config, tuple(runs), arms, lifts, tests, chi_square(pooled), recovery, recovered, mde)


_FORMATS: Final[Mapping[str, str]] = {
    "conversion": "{:.2%}",
    "aov_eur": "{:.2f}",
    "revenue_per_user_eur": "{:.3f}",
    "csat_proxy": "{:.3f}",
    "signups_per_1k": "{:.1f}",
    "discount_per_user_eur": "{:.3f}",
    "regret_per_user_eur": "{:.3f}",
    "mean_reward": "{:.4f}",
}


def _cell(interval: Interval, fmt: str, half_fmt: str | None = None) -> str:
    if not math.isfinite(interval.mean):
        return "n/a"
    if not math.isfinite(interval.low):
        return fmt.format(interval.mean)
    return f"{fmt.format(interval.mean)} ±{(half_fmt or fmt).format((interval.high - interval.low) / 2)}"


def render(report: EvaluationReport) -> str:
    """A readable table: metrics per arm (mean ± half-width of the interval), lifts, tests, drift recovery."""
    cfg = report.config
    width = 22
    lines = [
        f"{len(cfg.seeds)} seeds x {cfg.shoppers} shoppers x {cfg.duration_s:.0f} s, "
        f"{cfg.confidence:.0%} t-intervals over seeds" + (f", drift at {cfg.drift.at_s:.0f} s" if cfg.drift else ""),
        "metric".ljust(width) + "".join(a.rjust(width) for a in report.arms),
    ]
    for m in METRICS:
        cells = (_cell(report.arms[a][m], _FORMATS[m]).rjust(width) for a in report.arms)
        lines.append(m.ljust(width) + "".join(cells))
    lines.append("ranked by revenue per user: " + " > ".join(report.ranking()))
    if report.lifts:
        lines.append("lift vs rules (paired by seed)")
        for m in LIFT_METRICS:
            cells = (
                (_cell(report.lifts[a][m], "{:+.1%}", "{:.1%}") if a in report.lifts else "-").rjust(width)
                for a in report.arms
            )
            lines.append(f"  {m}".ljust(width) + "".join(cells))
        lines.append(f"minimum detectable lift ({cfg.confidence:.0%}, power 80%)")
        for m in LIFT_METRICS:
            cells = (
                (f"{report.mde[a][m]:.1%}" if a in report.mde and math.isfinite(report.mde[a][m]) else "-").rjust(width)
                for a in report.arms
            )
            lines.append(f"  {m}".ljust(width) + "".join(cells))
    for m, test in report.anova.items():
        lines.append(f"ANOVA {m}: F{test.dof} = {test.statistic:.3g}, p = {test.p_value:.3g}")
    chi = report.chi_square
    lines.append(f"chi-square conversion x arm: {chi.statistic:.3g} (dof {chi.dof[0]}), p = {chi.p_value:.3g}")
    for claim in report.claims():
        got = claim["measured"]
        text = "n/a" if got is None or got["mean"] is None else f"{got['mean']:+.1%} [{got['low']}, {got['high']}]"
        lines.append(f"claim {claim['source']}: {claim['metric']} {claim['claimed']:+.0%} over rules; full: {text}")
    if cfg.drift is not None:
        for a, interval in report.recovery.items():
            runs = len([r for r in report.runs if r.arm == a])
            took = _cell(interval, "{:.0f}")
            lines.append(f"recovery after drift, {a}: {took} s ({report.recovered[a]}/{runs} runs recovered)")
    return "\n".join(lines)


def preset(
    *,
    seeds: int = 5,
    shoppers: int | None = None,
    duration_s: float | None = None,
    drift: bool = False,
    arms: tuple[str, ...] = ARM_NAMES,
    quick: bool = False,
    first_seed: int = 1,
    history_seeds: int = 3,
) -> EvaluationConfig:
    """The configuration of ``kairos evaluate``: the default run, or ``quick`` (150 shoppers x 30 min) for tests.

    With ``drift``, preferences and prices shift at half the duration (:data:`DEFAULT_DRIFT` otherwise). Seeds are
    ``first_seed .. first_seed + seeds - 1``; the history populations the ``warm`` arms learn from are the
    ``history_seeds`` seeds from ``first_seed + 1000`` on (so they never overlap the evaluated ones).

    Raises:
        ValueError: fewer than one seed, or history seeds that overlap.
        KeyError: an unknown arm.
    """
    if seeds < 1 or history_seeds < 1:
        raise ValueError(f"need at least one seed and one history seed, got {seeds}, {history_seeds}")
    for name in arms:
        arm(name)
    base = QUICK if quick else EvaluationConfig()
    shoppers = shoppers if shoppers is not None else base.shoppers
    duration_s = duration_s if duration_s is not None else base.duration_s
    shift = DriftConfig(at_s=duration_s / 2, **DEFAULT_DRIFT) if drift else None
    window = min(base.recovery_window_s, duration_s / 8)
    return EvaluationConfig(
        seeds=tuple(range(first_seed, first_seed + seeds)),
        shoppers=shoppers,
        duration_s=duration_s,
        arms=arms,
        drift=shift,
        recovery_window_s=window,
        history=HistoryConfig(seeds=tuple(range(first_seed + 1000, first_seed + 1000 + history_seeds))),
    )


DEFAULT_DRIFT: Final[dict[str, float]] = {"preference_mix": 0.8, "price_sigma": 0.3, "price_shift": 0.1}
"""The ``--drift`` shift: tastes mostly redrawn, category prices moved by ~30% around a 10% rise."""

QUICK: Final = EvaluationConfig(shoppers=150, duration_s=1800.0)
"""The ``--quick`` population and duration."""
