"""The demo's and the evaluation's HTML reports: built from whatever their JSON has, nothing dropped, escaped."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest
from prometheus_client import CollectorRegistry, Counter, generate_latest

from kairos.web.evaluation_report import evaluation_figures
from kairos.web.run_reports import demo_figures, write_demo_report, write_evaluation_report
from kairos.web.sampler import MetricsSampler


def interval(mean: float, half: float = 0.1) -> dict[str, Any]:
    return {"mean": mean, "low": mean - half, "high": mean + half, "n": 3}


def evaluation_json() -> dict[str, Any]:
    """The shape of ``EvaluationReport.to_json()``, with a metric and sections it may gain or lose."""
    return {
        "seeds": [1, 2, 3],
        "shoppers": 150,
        "duration_s": 1800.0,
        "confidence": 0.95,
        "arms": {
            "rules": {"conversion": interval(0.1), "brand_new_metric": interval(2.0)},
            "full": {"conversion": interval(0.12), "brand_new_metric": {"mean": None, "low": None, "high": None}},
        },
        "lift_vs_rules": {"full": {"conversion": interval(0.2, 0.05)}},
        "anova": {"conversion": {"statistic": 3.1, "p_value": 0.04, "dof": [1, 4]}},
        "chi_square_conversion": {"statistic": 1.2, "p_value": 0.3, "dof": [1]},
        "claims": [{"source": "004", "metric": "conversion", "claimed": 0.12, "measured": interval(0.2), "met": True}],
        "reward_over_time": {"rules": [[0, 0.1], [900, 0.2]], "<b>full</b>": [[0, 0.1], [900, 0.3]]},
        "drift": {"at_s": 900.0, "recovery_s": {"rules": interval(450.0, 100.0)}, "recovered_runs": {"rules": 2}},
        "something_else": 42,
    }


def test_evaluation_figures_follow_the_json() -> None:
    figures, tables = evaluation_figures(evaluation_json())
    by_key = {f.key: f.to_json() for f in figures}
    assert {"arm_conversion", "arm_brand_new_metric", "lift_vs_rules", "reward_over_time", "recovery"} <= set(by_key)
    (conversion,) = by_key["arm_conversion"]["data"]
    assert conversion["x"] == ["rules", "full"] and conversion["y"] == [0.1, 0.12]
    assert conversion["error_y"]["array"] == pytest.approx([0.1, 0.1])
    assert by_key["arm_brand_new_metric"]["data"][0]["y"] == [2.0, None]  # a missing value is a gap, not an error
    names = [t["name"] for t in by_key["reward_over_time"]["data"]]
    assert names == ["rules", "&lt;b&gt;full&lt;/b&gt;"]
    tables_by_key = {t.key: t for t in tables}
    assert {"anova", "claims", "drift", "run"} <= set(tables_by_key)
    run = dict(tables_by_key["run"].rows)  # type: ignore[arg-type]
    assert run["something_else"] == "42" and "chi_square_conversion" in run


def test_evaluation_report_without_optional_sections() -> None:
    bare = {"seeds": [1], "arms": {"rules": {"conversion": interval(0.1)}}}
    figures, tables = evaluation_figures(bare)
    assert [f.key for f in figures] == ["arm_conversion"]
    assert [t.key for t in tables] == ["run"]


def test_reports_are_written(tmp_path: Path) -> None:
    path = write_evaluation_report(tmp_path / "eval.html", evaluation_json())
    page = path.read_text()
    data = orjson.loads(page.split('id="report-data">', 1)[1].split("</script>", 1)[0])
    assert "arm_conversion" in [f["key"] for f in data["figures"]]

    registry = CollectorRegistry()
    decisions = Counter("kairos_decisions", "d", ["source", "action"], registry=registry)
    sampler = MetricsSampler(lambda: generate_latest(registry).decode(), every_s=0.01)
    sampler.sample()
    decisions.labels("triton", "upsell").inc(5)
    history = sampler.stop()
    assert len(history.snapshots) == 2
    result = {
        "decisions": {"guardrails_applied": {"cap_per_session": 3}, "explain_sample": ["a", "b"]},
        "checks": {"every_trigger_decided_once": True, "learner_joined_rewards": False},
        "ok": False,
        "logs": "/tmp/x",
    }
    figures, tables = demo_figures(result, history)
    keys = [f.key for f in figures]
    assert "guardrails" in keys and "decisions" in keys
    checks = next(t for t in tables if t.key == "checks")
    assert list(checks.rows) == [("every_trigger_decided_once", "ok"), ("learner_joined_rewards", "FAILED")]
    page = write_demo_report(tmp_path / "demo.html", result, history).read_text()
    assert "SOME CHECKS FAILED" in page


def test_sampler_skips_a_failed_read() -> None:
    def refuse() -> str:
        raise ConnectionRefusedError("worker gone")

    sampler = MetricsSampler(refuse)
    sampler.sample()
    assert sampler.history.snapshots == ()
