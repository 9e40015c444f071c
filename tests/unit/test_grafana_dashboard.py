"""The Grafana dashboard in deploy/grafana queries only metrics the worker really exports."""

from __future__ import annotations

import importlib
import json
import re
from pathlib import Path
from typing import Any

import pytest

DASHBOARDS = sorted((Path(__file__).parents[2] / "deploy" / "grafana").glob("*.json"))

# Sample names each Prometheus metric type exposes for a family called NAME.
_SUFFIXES = {
    "counter": ("_total", "_created"),
    "gauge": ("",),
    "histogram": ("_bucket", "_sum", "_count", "_created"),
    "summary": ("", "_sum", "_count", "_created"),
    "info": ("_info",),
}
# Metric names in a PromQL expression (ours all start with kairos_).
_PROMQL = re.compile(r"\b(kairos_[a-z0-9_]+)\b")


def exported_names() -> set[str]:
    """Every sample name the worker's registry can expose, after importing everything the worker runs."""
    importlib.import_module("kairos.worker")  # imports every stage, so every metric is registered
    from streams.metrics import REGISTRY

    names: set[str] = set()
    for family in REGISTRY.collect():
        names.update(family.name + suffix for suffix in _SUFFIXES.get(family.type, ("",)))
    return names


def queries(dashboard: dict[str, Any]) -> list[str]:
    return [target["expr"] for panel in dashboard["panels"] for target in panel.get("targets", [])]


def test_there_is_a_dashboard() -> None:
    assert DASHBOARDS, "deploy/grafana/*.json"


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.name)
def test_every_queried_metric_is_exported(path: Path) -> None:
    dashboard = json.loads(path.read_text())
    exported = exported_names()
    assert "kairos_decisions_total" in exported and "kairos_decision_batch_seconds_bucket" in exported
    used = {name for expr in queries(dashboard) for name in _PROMQL.findall(expr)}
    assert used, "the dashboard queries kairos metrics"
    assert sorted(used - exported) == [], "queried but not exported by the worker"


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.name)
def test_dashboard_is_well_formed(path: Path) -> None:
    dashboard = json.loads(path.read_text())
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids)), "panel ids are unique"
    variables = {v["name"] for v in dashboard["templating"]["list"]}
    for panel in dashboard["panels"]:
        assert panel["datasource"]["uid"].strip("${}") in variables, panel["title"]
        assert {"h", "w", "x", "y"} <= panel["gridPos"].keys(), panel["title"]
        ref_ids = [t["refId"] for t in panel["targets"]]
        assert ref_ids and len(ref_ids) == len(set(ref_ids)), panel["title"]


def test_the_check_catches_a_metric_that_does_not_exist() -> None:
    bogus = {"panels": [{"targets": [{"expr": "sum(rate(kairos_no_such_metric_total[5m]))"}]}]}
    used = {name for expr in queries(bogus) for name in _PROMQL.findall(expr)}
    assert used - exported_names() == {"kairos_no_such_metric_total"}
