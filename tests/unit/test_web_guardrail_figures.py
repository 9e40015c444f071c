"""The live page's guardrail and fairness figures: data shaping from the metrics the decision stage exports."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from prometheus_client import CollectorRegistry, Counter, Gauge

from agents.decide import export_fairness
from kairos.web.guardrail_figures import fairness_view, guardrail_figures
from kairos.web.live import LiveData
from kairos.web.snapshot import Snapshot, snapshot_of_registry
from serving.guardrails import FairnessConfig, FairnessMonitor
from streams.metrics import REGISTRY

HOSTILE = "<script>alert(1)</script>"


class Metrics:
    """The decision stage's guardrail and fairness metrics, on a registry of the test's own."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.guardrails = Counter("kairos_guardrails", "g", ["rule", "effect"], registry=r)
        self.setting = Gauge("kairos_fairness_setting", "s", ["attribute", "setting"], registry=r)
        self.decisions = Gauge("kairos_fairness_window_decisions", "d", ["partition", "group"], registry=r)
        self.discounts = Gauge("kairos_fairness_window_discounts", "o", ["partition", "group"], registry=r)
        self.gap = Gauge("kairos_fairness_parity_gap", "p", ["partition"], registry=r)

    def settings(self, attribute: str, *, lookup: bool = True, max_gap: float = 0.05) -> None:
        for name, value in (("max_gap", max_gap), ("min_decisions", 100.0), ("group_lookup", float(lookup))):
            self.setting.labels(attribute, name).set(value)

    def snap(self, at: float) -> Snapshot:
        return snapshot_of_registry(self.registry, at)


def figures_by_key(history: list[Snapshot]) -> dict[str, dict[str, Any]]:
    return {f.key: f.to_json() for f in guardrail_figures(history)}


def test_guardrails_by_rule_stack_the_effects_and_the_series_keep_changed_and_blocked() -> None:
    m = Metrics()
    m.guardrails.labels("session_cap", "blocked").inc(3)
    m.guardrails.labels("out_of_stock", "masked").inc(5)
    first = m.snap(10.0)
    m.guardrails.labels("out_of_stock", "changed").inc(2)
    m.guardrails.labels("session_cap", "blocked").inc(1)
    figs = figures_by_key([first, m.snap(12.0)])

    traces = {t["name"]: dict(zip(t["y"], t["x"], strict=True)) for t in figs["guardrails_by_rule"]["data"]}
    assert list(traces) == ["blocked", "changed", "masked"]  # strongest effect first, whatever the sample order
    assert traces == {
        "blocked": {"session_cap": 4.0},
        "changed": {"out_of_stock": 2.0},
        "masked": {"out_of_stock": 5.0},
    }

    series = {t["name"]: (t["x"], t["y"]) for t in figs["guardrails_over_time"]["data"]}
    assert series == {
        "out_of_stock (changed)": ([12000.0], [2.0]),
        "session_cap (blocked)": ([10000.0, 12000.0], [3.0, 4.0]),
    }, "cumulative counts per rule and effect; masked-only is left out"


@pytest.mark.parametrize(
    ("attribute", "lookup", "state", "says"),
    [
        ("", True, "off", "decide.fairness_attribute is empty"),
        ("age_band", False, "no_lookup", "no group lookup"),
        ("age_band", True, "waiting", "no group counted yet"),
    ],
)
def test_fairness_says_plainly_when_it_has_nothing_to_show(attribute: str, lookup: bool, state: str, says: str) -> None:
    m = Metrics()
    m.settings(attribute, lookup=lookup)
    m.guardrails.labels("session_cap", "blocked").inc()
    view = fairness_view(m.snap(1.0))
    assert view.state == state and says in view.summary
    figs = figures_by_key([m.snap(1.0)])
    for key in ("fairness_rates", "fairness_gap"):
        assert figs[key]["data"] == [] or all(not t["x"] for t in figs[key]["data"])
        [annotation] = figs[key]["layout"]["annotations"]
        assert annotation["text"] == ("no data yet" if state == "waiting" else "fairness parity off")
    assert figs["fairness_rates"]["note"] == view.summary


def test_no_decision_stage_yet_is_unknown() -> None:
    assert fairness_view(Snapshot(0.0, {})).state == "unknown"


def test_fairness_rates_sum_partitions_and_the_gap_is_the_largest_partitions() -> None:
    m = Metrics()
    m.settings("age_band", max_gap=0.05)
    for partition, group, n, offers in [("0", "a", 100, 10), ("1", "a", 300, 10), ("0", HOSTILE, 200, 10)]:
        m.decisions.labels(partition, group).set(n)
        m.discounts.labels(partition, group).set(offers)
    m.gap.labels("0").set(0.05)
    first = m.snap(10.0)
    m.gap.labels("1").set(0.08)
    last = m.snap(12.0)

    view = fairness_view(last)
    assert view.state == "on"
    assert view.rates == {"a": (400.0, 20.0, 0.05), HOSTILE: (200.0, 10.0, 0.05)}
    assert view.gap == pytest.approx(0.08) and view.max_gap == pytest.approx(0.05)
    assert "ABOVE" in view.summary and "'age_band'" in view.summary
    assert "within" in fairness_view(first).summary

    figs = figures_by_key([first, last])
    [rates] = figs["fairness_rates"]["data"]
    assert rates["x"] == ["&lt;script&gt;alert(1)&lt;/script&gt;", "a"] and rates["y"] == [0.05, 0.05]
    gaps = {t["name"]: t["y"] for t in figs["fairness_gap"]["data"]}
    assert gaps == {"partition 0": [0.05, 0.05], "max gap": [0.05, 0.05], "partition 1": [0.08]}
    assert "<script>" not in orjson.dumps(list(figs.values())).decode()


def test_the_live_page_serves_the_new_figures() -> None:
    m = Metrics()
    m.settings("")
    data = LiveData(m.registry, clock=lambda: 5.0).poll()
    keys = [f["key"] for f in data["figures"]]
    assert {"guardrails_by_rule", "guardrails_over_time", "fairness_rates", "fairness_gap"} <= set(keys)
    assert keys.index("guardrails_by_rule") == keys.index("decisions_per_s") + 1


def test_export_fairness_sets_the_partitions_gauges_and_zeroes_groups_that_left_the_window() -> None:
    config = FairnessConfig(attribute="age_band", max_gap=0.1, min_decisions=2, window_s=7200.0, bucket_s=3600.0)
    monitor = FairnessMonitor.for_config(config)
    for group, offered in [("a", True), ("a", True), ("b", False), ("b", True)]:
        monitor = monitor.record(group, offered, now_s=10.0)
    seen: set[str] = set()
    export_fairness(97, monitor, 10.0, config, seen)
    value = REGISTRY.get_sample_value
    assert value("kairos_fairness_window_decisions", {"partition": "97", "group": "a"}) == 2
    assert value("kairos_fairness_window_discounts", {"partition": "97", "group": "b"}) == 1
    assert value("kairos_fairness_parity_gap", {"partition": "97"}) == pytest.approx(0.5)
    assert seen == {"a", "b"}

    later = monitor.record("c", False, now_s=20_000.0)  # a and b are out of the window now
    export_fairness(97, later, 20_000.0, config, seen)
    assert value("kairos_fairness_window_decisions", {"partition": "97", "group": "a"}) == 0
    assert value("kairos_fairness_window_decisions", {"partition": "97", "group": "c"}) == 1
    assert value("kairos_fairness_parity_gap", {"partition": "97"}) == 0
