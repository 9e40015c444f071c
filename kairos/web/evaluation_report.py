"""The HTML report of ``kairos evaluate``, drawn from the JSON it prints (``EvaluationReport.to_json()``).

Generic on purpose: the metrics, arms and sections are whatever the JSON has (they change as the evaluation
evolves). A ``{"mean", "low", "high"}`` object is an interval and is drawn with its error bar; a mapping of arms to
``[[t, value], …]`` lists is a series over time and is drawn as lines; lists of records are tables; anything else
is listed in a last table so nothing the run reported is lost.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import orjson

from kairos.web.figure import Figure, Table, clean, text

__all__ = ["evaluation_figures", "is_interval", "is_series"]


def is_interval(value: object) -> bool:
    """Whether ``value`` is an interval as the evaluation writes it.

    >>> is_interval({"mean": 1.0, "low": 0.5, "high": 1.5, "n": 5}), is_interval({"mean": 1.0})
    (True, False)
    """
    return isinstance(value, Mapping) and {"mean", "low", "high"} <= value.keys()


def is_series(value: object) -> bool:
    """Whether ``value`` maps names to ``[[t, value], …]`` (a figure over time).

    >>> is_series({"rules": [[0, 1.0], [60, 1.2]]}), is_series({"rules": [1, 2]})
    (True, False)
    """
    return (
        isinstance(value, Mapping)
        and bool(value)
        and all(
            isinstance(points, Sequence)
            and bool(points)
            and all(isinstance(p, Sequence) and len(p) == 2 for p in points)
            for points in value.values()
        )
    )


def _num(value: object) -> float | None:
    return clean(float(value)) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _interval_bars(title: str, key: str, by_series: Mapping[str, Mapping[str, Any]], note: str = "") -> Figure:
    """Bars with asymmetric error bars: ``{series: {category: interval}}``."""
    traces = []
    for series, cells in by_series.items():
        names = [c for c, v in cells.items() if is_interval(v)]
        means = [_num(cells[c]["mean"]) for c in names]
        lows = [_num(cells[c]["low"]) for c in names]
        highs = [_num(cells[c]["high"]) for c in names]
        plus = [h - m if h is not None and m is not None else None for m, h in zip(means, highs, strict=True)]
        minus = [m - lo if lo is not None and m is not None else None for m, lo in zip(means, lows, strict=True)]
        traces.append(
            {
                "type": "bar",
                "name": text(series),
                "x": [text(c) for c in names],
                "y": means,
                "error_y": {"type": "data", "symmetric": False, "array": plus, "arrayminus": minus},
            }
        )
    layout = {"barmode": "group", "xaxis": {"type": "category"}, "showlegend": len(traces) > 1}
    return Figure(key, title, traces, layout, note)


def _flat(value: object) -> str:
    if is_interval(value):
        assert isinstance(value, Mapping)
        return f"{value['mean']} [{value['low']}, {value['high']}]"
    if isinstance(value, Mapping | list):
        return orjson.dumps(value).decode()
    return "–" if value is None else str(value)


def _records_table(key: str, title: str, records: Sequence[Mapping[str, Any]]) -> Table:
    columns: list[str] = []
    for record in records:
        columns.extend(c for c in record if c not in columns)
    return Table(key, title, columns, [[_flat(r.get(c)) for c in columns] for r in records])


def _by_metric(arms: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """``{arm: {metric: interval}}`` -> ``{metric: {arm: interval}}``, metrics in first-seen order."""
    out: dict[str, dict[str, Any]] = {}
    for arm, metrics in arms.items():
        for metric, interval in metrics.items():
            out.setdefault(metric, {})[arm] = interval
    return out


def evaluation_figures(result: Mapping[str, Any]) -> tuple[list[Figure], list[Table]]:
    """Figures and tables of one ``kairos evaluate`` run from its JSON (see the module docstring)."""
    figures: list[Figure] = []
    tables: list[Table] = []
    used: set[str] = set()
    level = result.get("confidence")
    ci = f"{level:.0%} intervals over seeds" if isinstance(level, float) else "intervals over seeds"
    arms = result.get("arms")
    if isinstance(arms, Mapping):
        used.add("arms")
        for metric, cells in _by_metric(arms).items():
            figures.append(_interval_bars(f"{metric} by arm", f"arm_{metric}", {metric: cells}, ci))
    lifts = result.get("lift_vs_rules")
    if isinstance(lifts, Mapping) and lifts:
        used.add("lift_vs_rules")
        note = "relative lift over the rules, paired by seed; " + ci
        figures.append(_interval_bars("Lift vs rules", "lift_vs_rules", lifts, note))
    for key, value in result.items():
        if is_series(value):
            used.add(key)
            figures.append(_series_figure(key, key.replace("_", " "), value))
        elif isinstance(value, Mapping):
            for sub, inner in value.items():
                if is_series(inner):
                    used.add(key)
                    figures.append(_series_figure(f"{key}_{sub}", f"{key} {sub}".replace("_", " "), inner))
    drift = result.get("drift")
    if isinstance(drift, Mapping):
        used.add("drift")
        recovery = drift.get("recovery_s")
        if isinstance(recovery, Mapping):
            figures.append(
                _interval_bars("Recovery after the drift (s)", "recovery", {"recovery_s": recovery}, ci),
            )
        rows = [(k, _flat(v)) for k, v in drift.items() if k != "recovery_s"]
        tables.append(Table("drift", "Drift", ("setting", "value"), rows))
    for key, value in result.items():
        if key in used:
            continue
        if isinstance(value, list) and value and all(isinstance(r, Mapping) for r in value):
            used.add(key)
            tables.append(_records_table(key, key.replace("_", " ").capitalize(), value))
        elif isinstance(value, Mapping) and value and all(isinstance(v, Mapping) for v in value.values()):
            used.add(key)
            tables.append(
                _records_table(key, key.replace("_", " ").capitalize(), [{"": k, **v} for k, v in value.items()])
            )
    rest = [(k, _flat(v)) for k, v in result.items() if k not in used]
    tables.append(Table("run", "Run", ("field", "value"), rest))
    return figures, tables


def _series_figure(key: str, title: str, series: Mapping[str, Sequence[Sequence[Any]]]) -> Figure:
    traces = [
        {
            "type": "scatter",
            "mode": "lines",
            "name": text(name),
            "x": [_num(p[0]) for p in points],
            "y": [_num(p[1]) for p in points],
        }
        for name, points in series.items()
    ]
    return Figure(key, title, traces, {"xaxis": {"title": {"text": "simulated seconds"}}})
