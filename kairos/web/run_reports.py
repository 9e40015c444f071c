"""The reports of ``kairos demo`` and ``kairos evaluate``: their figures and tables, written as one HTML file each."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from kairos.web.evaluation_report import evaluation_figures
from kairos.web.figure import Figure, Table, bars, flatten
from kairos.web.metric_figures import metric_figures, metric_tables
from kairos.web.report import write_report
from kairos.web.snapshot import History

__all__ = ["demo_figures", "write_demo_report", "write_evaluation_report"]


def demo_figures(result: Mapping[str, Any], history: History) -> tuple[list[Figure], list[Table]]:
    """The live page's figures over the demo's run, the guardrails its decisions carried, and its report as tables."""
    figures = metric_figures(history)
    decisions = result.get("decisions")
    guardrails = decisions.get("guardrails_applied") if isinstance(decisions, Mapping) else None
    if isinstance(guardrails, Mapping):
        figures.append(
            Figure(
                "guardrails",
                "Guardrails applied (decisions on the interventions topic)",
                bars({"decisions": guardrails}, horizontal=True),
                {"yaxis": {"type": "category"}, "showlegend": False},
                "a decision counts once per guardrail that changed or masked its choice",
            )
        )
    tables = []
    checks = result.get("checks")
    if isinstance(checks, Mapping):
        rows = [(name, "ok" if ok else "FAILED") for name, ok in checks.items()]
        tables.append(Table("checks", "Checks", ("check", "result"), rows))
    sections = {k: v for k, v in result.items() if isinstance(v, Mapping)}
    for section, value in sections.items():
        if section != "checks":
            tables.append(Table(f"demo_{section}", section.capitalize(), ("field", "value"), flatten(value)))
    rest = [(k, v) for k, v in result.items() if k not in sections]
    tables.append(Table("demo_run", "Run", ("field", "value"), rest))
    return figures, [*tables, *metric_tables(history.latest)]


def write_demo_report(path: Path, result: Mapping[str, Any], history: History) -> Path:
    """Write the demo's report; returns its absolute path."""
    figures, tables = demo_figures(result, history)
    ok = "every check passed" if result.get("ok") else "SOME CHECKS FAILED"
    return write_report(path, "Kairos demo run", figures, tables, subtitle=f"{ok} · logs in {result.get('logs', '')}")


def write_evaluation_report(path: Path, result: Mapping[str, Any]) -> Path:
    """Write the report of one ``kairos evaluate`` run from its JSON; returns its absolute path."""
    figures, tables = evaluation_figures(result)
    seeds, shoppers = result.get("seeds"), result.get("shoppers")
    subtitle = f"seeds {seeds}, {shoppers} shoppers per population, {result.get('duration_s')} simulated s per run"
    return write_report(path, "Kairos evaluation", figures, tables, subtitle=subtitle)
