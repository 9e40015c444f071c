"""``kairos replay diff`` for people: a terminal table and a self-contained HTML page (inline SVG, no scripts)."""

from __future__ import annotations

import html
from typing import Any

__all__ = ["render_html", "render_text"]


def _rows(title: str, header: tuple[str, ...], rows: list[tuple[Any, ...]]) -> list[str]:
    if not rows:
        return [f"{title}: none", ""]
    table = [tuple(str(c) for c in header), *(tuple(str(c) for c in r) for r in rows)]
    widths = [max(len(r[i]) for r in table) for i in range(len(header))]
    lines = [title]
    for n, row in enumerate(table):
        lines.append(
            "  "
            + "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True)))
        )
        if n == 0:
            lines.append("  " + "  ".join("-" * w for w in widths))
    return [*lines, ""]


def _sections(report: dict[str, Any]) -> list[tuple[str, tuple[str, ...], list[tuple[Any, ...]]]]:
    a, b = report["a"], report["b"]
    counts = report["counts"]
    names = list(counts)
    metrics = ("events", "decisions", "final_rewards", "dead_letters", "undecodable")
    d = report["decisions"]
    rewards = report["rewards"]
    what = report["what_if"]
    return [
        (
            f"counts (A = {a}, B = {b})",
            ("", "A", "B"),
            [(m, counts[names[0]][m], counts[names[-1]][m]) for m in metrics],
        ),
        (
            "decisions",
            ("matched", "changed", "only A", "only B"),
            [(d["matched"], d["changed"], d["only_a"], d["only_b"])],
        ),
        (
            "changed by trigger",
            ("trigger", "changed", "matched"),
            [(t, c, m) for t, (c, m) in sorted(report["changed_by_trigger"].items())],
        ),
        (
            "changed by action",
            ("A -> B", "decisions"),
            sorted(report["changed_by_action"].items(), key=lambda kv: -kv[1]),
        ),
        (
            "changed by policy version",
            ("A -> B", "changed", "matched"),
            [(p, c, m) for p, (c, m) in sorted(report["changed_by_policy"].items())],
        ),
        (
            "actions",
            ("action", "A", "B"),
            [
                (k, report["actions"]["a"].get(k, 0), report["actions"]["b"].get(k, 0))
                for k in sorted(set(report["actions"]["a"]) | set(report["actions"]["b"]))
            ],
        ),
        ("rewards (final composite)", ("", "value"), list(rewards.items())),
        ("dead letters", ("stage/reason", "A", "B"), [(k, v[0], v[1]) for k, v in report["dead_letters"].items()]),
        (
            "examples of changed decisions",
            ("trigger event", "trigger", "A", "B", "A reward", "B reward"),
            [
                (e["trigger_event_id"], e["trigger"], e["a"], e["b"], e["a_reward"], e["b_reward"])
                for e in report["examples"]
            ],
        ),
        (
            f"what-if: B's policy on A's logged decisions (n={what.get('n', 0)}, "
            f"logged value {what.get('logged_value', '-')}, unmatched mass {what.get('unmatched_mass', '-')}, "
            f"{what.get('interval', '')})",
            ("estimator", "value", "lower", "upper"),
            [(k, v["value"], v["lower"], v["upper"]) for k, v in what.get("estimates", {}).items()],
        ),
    ]


def render_text(report: dict[str, Any]) -> str:
    """The comparison as plain-text tables."""
    lines: list[str] = []
    for title, header, rows in _sections(report):
        lines.extend(_rows(title, header, rows))
    return "\n".join(lines).rstrip() + "\n"


def _bars(title: str, labels: list[str], series: dict[str, list[float]], colors: tuple[str, ...]) -> str:
    """A grouped horizontal bar chart as inline SVG."""
    if not labels:
        return ""
    top = max([abs(v) for values in series.values() for v in values] + [1e-9])
    bar, gap, left, width = 14, 10, 220, 420
    height = len(labels) * (bar * len(series) + gap) + 40
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{left + width + 80}" height="{height}" role="img">']
    parts.append(f'<text x="4" y="16" font-weight="bold">{html.escape(title)}</text>')
    y = 30
    for i, label in enumerate(labels):
        parts.append(f'<text x="4" y="{y + bar}" font-size="12">{html.escape(label[:34])}</text>')
        for (name, values), color in zip(series.items(), colors, strict=False):
            value = values[i]
            w = abs(value) / top * width
            parts.append(
                f'<rect x="{left}" y="{y}" width="{w:.1f}" height="{bar - 2}" fill="{color}">'
                f"<title>{html.escape(name)}: {value:g}</title></rect>"
                f'<text x="{left + w + 4:.1f}" y="{y + bar - 3}" font-size="11">{value:g}</text>'
            )
            y += bar
        y += gap
    legend = " ".join(f'<tspan fill="{c}">■ {html.escape(n)}</tspan>' for n, c in zip(series, colors, strict=False))
    parts.append(f'<text x="{left}" y="16" font-size="12">{legend}</text></svg>')
    return "".join(parts)


def _interval_chart(what: dict[str, Any]) -> str:
    estimates = what.get("estimates", {})
    if not estimates:
        return ""
    values = [v for e in estimates.values() for v in (e["lower"], e["upper"], e["value"])]
    values.append(what.get("logged_value", 0.0))
    lo, hi = min(values), max(values)
    span = (hi - lo) or 1.0
    left, width, row = 120, 460, 26

    def x(v: float) -> float:
        return float(left + (v - lo) / span * width)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{left + width + 40}" height="{len(estimates) * row + 60}">'
    ]
    parts.append('<text x="4" y="16" font-weight="bold">what-if: estimated reward per decision (95% interval)</text>')
    logged = what.get("logged_value", 0.0)
    parts.append(
        f'<line x1="{x(logged):.1f}" y1="24" x2="{x(logged):.1f}" y2="{len(estimates) * row + 34}" stroke="#999" '
        f'stroke-dasharray="4"><title>logged value {logged:g}</title></line>'
    )
    for i, (name, e) in enumerate(estimates.items()):
        y = 40 + i * row
        parts.append(f'<text x="4" y="{y + 4}" font-size="12">{html.escape(name)}</text>')
        parts.append(
            f'<line x1="{x(e["lower"]):.1f}" y1="{y}" x2="{x(e["upper"]):.1f}" y2="{y}" '
            'stroke="#1f77b4" stroke-width="2"/>'
        )
        parts.append(
            f'<circle cx="{x(e["value"]):.1f}" cy="{y}" r="4" fill="#1f77b4"><title>{e["value"]:g}</title></circle>'
        )
    parts.append(
        f'<text x="{left}" y="{len(estimates) * row + 52}" font-size="11">{lo:g} … {hi:g}; dashed: logged</text></svg>'
    )
    return "".join(parts)


def render_html(report: dict[str, Any]) -> str:
    """The comparison as one self-contained HTML page: the tables and inline SVG charts (no scripts, no CDN)."""
    blocks = []
    actions = sorted(set(report["actions"]["a"]) | set(report["actions"]["b"]))
    blocks.append(
        _bars(
            "decisions by action",
            actions,
            {
                "A": [report["actions"]["a"].get(k, 0) for k in actions],
                "B": [report["actions"]["b"].get(k, 0) for k in actions],
            },
            ("#1f77b4", "#ff7f0e"),
        )
    )
    triggers = sorted(report["changed_by_trigger"])
    blocks.append(
        _bars(
            "changed decisions by trigger",
            triggers,
            {
                "changed": [report["changed_by_trigger"][t][0] for t in triggers],
                "matched": [report["changed_by_trigger"][t][1] for t in triggers],
            },
            ("#d62728", "#bbbbbb"),
        )
    )
    dead = list(report["dead_letters"])
    blocks.append(
        _bars(
            "dead letters",
            dead,
            {"A": [report["dead_letters"][k][0] for k in dead], "B": [report["dead_letters"][k][1] for k in dead]},
            ("#1f77b4", "#ff7f0e"),
        )
    )
    blocks.append(_interval_chart(report["what_if"]))
    tables = []
    for title, header, rows in _sections(report):
        head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
        body = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in r) + "</tr>" for r in rows)
        tables.append(f"<h2>{html.escape(title)}</h2><table><tr>{head}</tr>{body or '<tr><td>none</td></tr>'}</table>")
    style = (
        "body{font-family:sans-serif;margin:2em;max-width:1100px}table{border-collapse:collapse;margin-bottom:1em}"
        "td,th{border:1px solid #ddd;padding:3px 8px;text-align:right}td:first-child,th:first-child{text-align:left}"
        "svg{display:block;margin:1em 0}"
    )
    title = f"kairos replay diff: {report['a']} vs {report['b']}"
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title><style>{style}</style>"
        f"</head><body><h1>{html.escape(title)}</h1>{''.join(blocks)}{''.join(tables)}</body></html>\n"
    )
