"""The evaluation report: per-run metrics by hand, recovery times, aggregation, presets, rendering."""

from __future__ import annotations

import math

import orjson
import pytest

from kairos.evaluation.history import HistoryConfig
from kairos.evaluation.loop import LoopResult
from kairos.evaluation.report import (
    CLAIMS,
    METRICS,
    EvaluationConfig,
    RunFigures,
    aggregate,
    metrics_of,
    preset,
    recovery_time,
    render,
)
from simulator import SimulationSummary


def loop_result(summary: SimulationSummary) -> LoopResult:
    return LoopResult(
        policy="p", seed=1, events=100, decisions=10, learned=8, reward=-2.0, settled=8, applied=9, chosen_value=1.0,
        best_value=5.0, regret=4.0, conversions=3, sessions=40, revenue=300.0, actions={"none": 10}, rounds=(),
        wall_s=1.0, policy_s=0.1, simulation=summary,
    )  # fmt: skip


def test_metrics_by_hand() -> None:
    summary = SimulationSummary(
        sim_time=1800.0, sessions_started=40, sessions_ended=40, sessions_converted=3,
        reactions={"accept": 2, "ignore": 4, "dismiss": 3, "leave": 1, "none": 5}, purchases=4, revenue=300.0,
        discount_total=12.0, email_signups=2,
    )  # fmt: skip
    got = metrics_of(loop_result(summary), shoppers=20)
    assert got == pytest.approx(
        {
            "conversion": 3 / 40,
            "aov_eur": 75.0,
            "revenue_per_user_eur": 15.0,
            "csat_proxy": 1 - 4 / 10,
            "signups_per_1k": 100.0,
            "discount_per_user_eur": 0.6,
            "regret_per_user_eur": 0.2,
            "mean_reward": -0.25,
        }
    )
    assert set(got) == set(METRICS)


def test_metrics_without_orders_or_interventions() -> None:
    summary = SimulationSummary(sim_time=1.0, sessions_started=40, sessions_ended=40, sessions_converted=0)
    got = metrics_of(loop_result(summary), shoppers=20)
    assert math.isnan(got["aov_eur"]) and got["csat_proxy"] == 1.0


def test_recovery_never_happens_when_the_reward_stays_down() -> None:
    down = [(float(t), 1.0 if t < 50 else 0.2) for t in range(100)]
    assert recovery_time(down, 50.0, 10.0, 0.1, 100.0) is None


def test_recovery_tolerance_and_negative_levels() -> None:
    # level -1.0: a window at -1.05 is within 10% of it; after a dip to -2 the first window at -1 ends at 90
    slight = [(float(t), -1.0 if t < 50 else -1.05) for t in range(100)]
    assert recovery_time(slight, 50.0, 10.0, 0.1, 100.0) == 10.0
    deep = [(float(t), -1.0 if t < 50 or t >= 80 else -2.0) for t in range(100)]
    assert recovery_time(deep, 50.0, 10.0, 0.1, 100.0) == 40.0


def test_recovery_needs_a_pre_drift_level() -> None:
    late = [(float(t), 1.0) for t in range(60, 100)]
    assert recovery_time(late, 50.0, 10.0, 0.1, 100.0) is None


def figures(arm: str, seed: int, conversion: float, revenue: float, recovery: float | None = None) -> RunFigures:
    metrics = dict.fromkeys(METRICS, 1.0) | {"conversion": conversion, "revenue_per_user_eur": revenue}
    return RunFigures(arm, seed, metrics, converted=int(conversion * 1000), sessions=1000, recovery_s=recovery)


def test_aggregate_pairs_lifts_by_seed_and_tests_across_arms() -> None:
    config = EvaluationConfig(seeds=(1, 2, 3), arms=("rules", "full"))
    runs = [
        figures("rules", 1, 0.05, 2.0),
        figures("rules", 2, 0.06, 3.0),
        figures("rules", 3, 0.04, 1.0),
        figures("full", 1, 0.055, 2.4),
        figures("full", 2, 0.066, 3.6),
        figures("full", 3, 0.044, 1.2),
    ]
    report = aggregate(config, runs)
    assert report.arms["rules"]["conversion"].mean == pytest.approx(0.05)
    lift = report.lifts["full"]["conversion"]
    assert lift.mean == pytest.approx(0.1) and lift.high - lift.low == pytest.approx(0.0, abs=1e-9)
    assert "rules" not in report.lifts
    assert report.chi_square.dof == (1,) and report.anova["conversion"].dof == (1, 4)
    claims = {(c["source"], c["metric"]): c for c in report.claims()}
    assert len(claims) == len(CLAIMS)
    assert claims[("004", "revenue_per_user_eur")]["met"] is True  # +20% measured, claimed +10%
    assert claims[("004", "conversion")]["met"] is False
    out = report.to_json()
    assert orjson.loads(orjson.dumps(out)) == out and "drift" not in out
    text = render(report)
    assert "conversion" in text and "full" in text and "chi-square" in text


def test_aggregate_reports_recovery_with_drift() -> None:
    config = preset(seeds=2, drift=True, arms=("rules", "full"), quick=True)
    runs = [
        figures("rules", 1, 0.05, 2.0, None),
        figures("rules", 2, 0.05, 2.0, None),
        figures("full", 1, 0.05, 2.0, 300.0),
        figures("full", 2, 0.05, 2.0, 500.0),
    ]
    report = aggregate(config, runs)
    assert report.recovered == {"rules": 0, "full": 2}
    assert report.recovery["full"].mean == 400.0 and math.isnan(report.recovery["rules"].mean)
    drift = report.to_json()["drift"]
    assert drift["recovery_s"]["full"]["mean"] == 400.0 and drift["recovery_s"]["rules"]["mean"] is None
    assert "1 recovered" not in render(report) and "2/2 runs recovered" in render(report)


def test_presets() -> None:
    default, quick = preset(), preset(quick=True, seeds=2)
    assert default.seeds == (1, 2, 3, 4, 5) and default.drift is None
    assert quick.seeds == (1, 2) and quick.shoppers < default.shoppers and quick.duration_s < default.duration_s
    drifting = preset(duration_s=4000.0, drift=True)
    assert drifting.drift is not None and drifting.drift.at_s == 2000.0
    assert drifting.recovery_window_s <= 4000.0 / 8
    with pytest.raises(KeyError):
        preset(arms=("rules", "magic"))
    with pytest.raises(ValueError, match="at least one seed"):
        preset(seeds=0)
    shifted = preset(seeds=5, first_seed=101, history_seeds=2)
    assert shifted.seeds == (101, 102, 103, 104, 105) and shifted.history.seeds == (1101, 1102)
    with pytest.raises(ValueError, match="both evaluated and history"):
        EvaluationConfig(seeds=(1, 2), history=HistoryConfig(seeds=(2, 3)))
