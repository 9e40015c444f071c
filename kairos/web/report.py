"""Self-contained HTML reports: a list of figures and tables -> one file with Plotly inlined (opens offline).

The report builders (:mod:`kairos.web.demo_report`, :mod:`kairos.web.evaluation_report`, and any later one such as a
replay diff) only make :class:`~kairos.web.figure.Figure` and :class:`~kairos.web.figure.Table` values and hand them
to :func:`write_report`; the page draws them with the same script as the live page.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from pathlib import Path

import orjson

from kairos.web.assets import asset
from kairos.web.figure import Figure, Table

__all__ = ["render_report", "write_report"]


def _script_json(value: object) -> str:
    """JSON safe inside a ``<script>`` element (no ``<``, ``>`` or ``&`` that could close it).

    >>> _script_json({"a": "</script>"})
    '{"a":"\\\\u003c/script\\\\u003e"}'
    """
    text = orjson.dumps(value).decode()
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _inline_script(name: str) -> str:
    source = asset(name).decode()
    if "</script" in source.lower():
        raise ValueError(f"{name} cannot be inlined: it contains a closing script tag")
    return source


def render_report(title: str, figures: Sequence[Figure], tables: Sequence[Table], *, subtitle: str = "") -> str:
    """The HTML text of a report (title and subtitle escaped; figure and table data drawn as text by the script)."""
    data = _script_json(
        {"figures": [f.to_json() for f in figures], "tables": [t.to_json() for t in tables]},
    )
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{html.escape(title)}</title>
<link rel="icon" href="data:,">
<style>{asset("page.css").decode()}</style>
<script>{_inline_script("plotly.min.js")}</script>
<script>{_inline_script("figures.js")}</script>
</head>
<body>
<header><h1>{html.escape(title)}</h1><p>{html.escape(subtitle)}</p></header>
<main id="figures"></main>
<main id="tables"></main>
<script type="application/json" id="report-data">{data}</script>
<script>
"use strict";
(function () {{
  const data = JSON.parse(document.getElementById("report-data").textContent);
  Kairos.renderFigures(document.getElementById("figures"), data.figures);
  Kairos.renderTables(document.getElementById("tables"), data.tables);
  document.body.dataset.rendered = "1";
}})();
</script>
</body>
</html>
"""


def write_report(
    path: Path, title: str, figures: Sequence[Figure], tables: Sequence[Table], *, subtitle: str = ""
) -> Path:
    """Write :func:`render_report` to ``path`` (parents created) and return the absolute path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_report(title, figures, tables, subtitle=subtitle), encoding="utf-8")
    return path.resolve()
