"""Figures and tables as plain JSON (Plotly traces and layout), the unit the live page and the HTML reports show.

Everything that comes from data (label values, metric names, arm names) goes through :func:`text` before it reaches
a trace or a title: Plotly turns a few HTML tags in its strings into SVG (links included), so data must not.
"""

from __future__ import annotations

import html
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Figure", "Table", "bars", "clean", "flatten", "lines", "text"]


def text(value: object) -> str:
    """``value`` as text Plotly shows literally (``<``, ``>`` and ``&`` as entities).

    >>> text("<b>x</b> & y")
    '&lt;b&gt;x&lt;/b&gt; &amp; y'
    """
    return html.escape(str(value), quote=False)


def clean(value: float | None) -> float | None:
    """``value``, or ``None`` (a gap in a plot, ``null`` in JSON) when it is missing or not finite.

    >>> clean(float("nan")), clean(2.0)
    (None, 2.0)
    """
    return value if value is not None and math.isfinite(value) else None


@dataclass(frozen=True, slots=True)
class Figure:
    """One plot: Plotly traces and layout, a title, a note under it, and what an empty plot says (plain text)."""

    key: str
    title: str
    data: Sequence[Mapping[str, Any]]
    layout: Mapping[str, Any] = field(default_factory=dict)
    note: str = ""
    empty_text: str = "no data yet"

    @property
    def empty(self) -> bool:
        """Whether no trace has a point."""
        return not any(trace.get("x") or trace.get("y") for trace in self.data)

    def to_json(self) -> dict[str, Any]:
        """The figure as the page's script takes it."""
        layout: dict[str, Any] = {
            "margin": {"l": 56, "r": 16, "t": 16, "b": 48},
            "height": 300,
            "showlegend": True,
            "legend": {"orientation": "h", "y": -0.25},
            **self.layout,
        }
        for axis in ("xaxis", "yaxis"):  # long category names push the margin instead of being cut
            layout[axis] = {"automargin": True, **self.layout.get(axis, {})}
        if self.empty:
            note = {"text": text(self.empty_text), "showarrow": False, "xref": "paper", "yref": "paper"}
            layout["annotations"] = [{**note, "x": 0.5, "y": 0.5}]
        return {"key": self.key, "title": self.title, "note": self.note, "data": list(self.data), "layout": layout}


@dataclass(frozen=True, slots=True)
class Table:
    """One table: a title, column names and rows of plain values (the page renders them as text)."""

    key: str
    title: str
    columns: Sequence[str]
    rows: Sequence[Sequence[object]]
    note: str = ""

    def to_json(self) -> dict[str, Any]:
        """The table as the page's script takes it (values as text)."""
        return {
            "key": self.key,
            "title": self.title,
            "note": self.note,
            "columns": [str(c) for c in self.columns],
            "rows": [[_cell(v) for v in row] for row in self.rows],
        }


def _cell(value: object) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return "n/a" if not math.isfinite(value) else f"{value:.6g}"
    return str(value)


def bars(categories: Mapping[str, Mapping[str, float]], *, horizontal: bool = False) -> list[dict[str, Any]]:
    """Grouped bars: one trace per series of ``{series: {category: value}}``.

    >>> bars({"triton": {"upsell": 2.0}})[0]["x"], bars({"triton": {"upsell": 2.0}})[0]["y"]
    (['upsell'], [2.0])
    """
    traces = []
    for series, values in categories.items():
        keys = [text(k) for k in values]
        vals = [clean(v) for v in values.values()]
        axes = {"y": keys, "x": vals, "orientation": "h"} if horizontal else {"x": keys, "y": vals}
        traces.append({"type": "bar", "name": text(series), **axes})
    return traces


def lines(series: Mapping[str, Iterable[tuple[float, float | None]]], *, step: bool = False) -> list[dict[str, Any]]:
    """One line per ``{name: [(epoch seconds, value), …]}``, x in epoch milliseconds as a date axis reads them
    (``step``: a staircase, for versions).

    >>> lines({"valid": [(0.0, 1.0)]})[0]["y"]
    [1.0]
    """
    traces = []
    for name, points in series.items():
        pts = list(points)
        traces.append(
            {
                "type": "scatter",
                "mode": "lines",
                "name": text(name),
                "x": [round(t * 1000.0, 1) for t, _ in pts],
                "y": [clean(v) for _, v in pts],
                "line": {"shape": "hv"} if step else {},
            }
        )
    return traces


def flatten(value: object, prefix: str = "") -> list[tuple[str, object]]:
    """``(dotted path, value)`` rows of a nested mapping (lists of plain values joined by newlines).

    >>> flatten({"a": {"b": 1, "c": [1, 2]}, "d": None})
    [('a.b', 1), ('a.c', '1\\n2'), ('d', None)]
    """
    if isinstance(value, Mapping):
        rows: list[tuple[str, object]] = []
        for key, inner in value.items():
            rows.extend(flatten(inner, f"{prefix}.{key}" if prefix else str(key)))
        return rows
    if isinstance(value, list) and all(not isinstance(v, Mapping | list) for v in value):
        return [(prefix, "\n".join(str(v) for v in value))]
    return [(prefix, value)]
