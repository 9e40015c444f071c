"""The live page's data and the HTML reports: snapshots, rates, figures, escaping, the bounded history."""

from __future__ import annotations

import re
from pathlib import Path

import orjson
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from kairos.web.figure import Figure, Table
from kairos.web.live import LiveData
from kairos.web.metric_figures import metric_figures, metric_tables, rates
from kairos.web.report import render_report, write_report
from kairos.web.snapshot import History, Snapshot, snapshot_of_registry, snapshot_of_text

HOSTILE = '<img src=x onerror="alert(1)">'


def _registry() -> tuple[CollectorRegistry, Counter, Counter, Histogram, Gauge]:
    registry = CollectorRegistry()
    records = Counter("kairos_ingest_records", "r", ["outcome"], registry=registry)
    decisions = Counter("kairos_decisions", "d", ["source", "action"], registry=registry)
    seconds = Histogram("kairos_decision_batch_seconds", "s", buckets=(0.01, 0.1, 1.0), registry=registry)
    letters = Counter("kairos_dead_letters", "l", ["stage", "reason"], registry=registry)
    version = Gauge("kairos_policy_model_version", "v", ["role"], registry=registry)
    records.labels("valid").inc(10)
    decisions.labels("triton", "upsell").inc(3)
    decisions.labels("fallback", "none").inc(1)
    seconds.observe(0.05)
    letters.labels("ingest", HOSTILE).inc(2)
    version.labels("decide").set(2)
    return registry, records, decisions, seconds, version


def test_registry_and_text_snapshots_agree() -> None:
    registry, *_ = _registry()
    direct = snapshot_of_registry(registry, 5.0)
    parsed = snapshot_of_text(generate_latest(registry).decode(), 5.0)
    for name in ("kairos_ingest_records_total", "kairos_decisions_total", "kairos_decision_batch_seconds_bucket"):
        assert sorted(direct.get(name), key=repr) == sorted(parsed.get(name), key=repr)
    assert direct.total("kairos_decisions_total", source="triton") == 3.0


def test_rates_per_second_and_a_reset_counts_as_zero() -> None:
    registry, records, *_ = _registry()
    first = snapshot_of_registry(registry, 100.0)
    records.labels("valid").inc(20)
    records.labels("dead").inc(4)
    second = snapshot_of_registry(registry, 102.0)
    reset = Snapshot(104.0, {})
    got = rates([first, second, reset], "kairos_ingest_records_total", ("outcome",))
    assert got == {"dead": [(102.0, 2.0), (104.0, 0.0)], "valid": [(102.0, 10.0), (104.0, 0.0)]}


def test_figures_draw_what_the_registry_has_and_escape_labels() -> None:
    registry, *_ = _registry()
    figures = {f.key: f.to_json() for f in metric_figures([snapshot_of_registry(registry, 1.0)])}
    decisions = {t["name"]: dict(zip(t["x"], t["y"], strict=True)) for t in figures["decisions"]["data"]}
    assert decisions == {"fallback": {"none": 1.0}, "triton": {"upsell": 3.0}}
    letters = figures["dead_letters"]["data"][0]
    assert letters["x"] == [2.0] and letters["orientation"] == "h"
    assert "<" not in letters["y"][0] and "&lt;img" in letters["y"][0]
    latency = figures["decision_latency"]
    assert latency["data"][0]["y"] == [0.0, 1.0, 0.0, 0.0]
    assert "p50" in latency["note"]
    assert "annotations" in figures["rewards_per_s"]["layout"]  # nothing yet: an empty plot says so


def test_tables_list_every_sample_but_buckets() -> None:
    registry, *_ = _registry()
    (table,) = metric_tables(snapshot_of_registry(registry, 1.0))
    names = {row[0] for row in table.rows}
    assert "kairos_decisions_total" in names and "kairos_decision_batch_seconds_count" in names
    assert not any(n.endswith(("_bucket", "_created")) for n in names)


def test_history_is_bounded_and_keeps_the_whole_span() -> None:
    history = History(capacity=10)
    for t in range(1000):
        history.add(Snapshot(float(t), {}))
    times = [s.at for s in history.snapshots]
    assert len(times) <= 10
    assert times[0] == 0.0 and times[-1] == 999.0
    assert times == sorted(times)


def test_live_data_reads_the_registry_at_most_once_per_interval() -> None:
    registry, records, *_ = _registry()
    now = [1000.0]
    data = LiveData(registry, min_interval_s=1.0, clock=lambda: now[0])
    assert data.poll()["snapshots"] == 1
    now[0] += 0.5
    first = data.body()
    assert data.poll()["snapshots"] == 1
    assert data.body() is first, "a second page within the interval gets the same body, not a rebuilt one"
    records.labels("valid").inc(30)
    now[0] += 1.5
    out = data.poll()
    assert out["snapshots"] == 2
    events = {f["key"]: f for f in out["figures"]}["events_per_s"]["data"]
    assert events[0]["name"] == "valid" and events[0]["y"] == [15.0]
    assert orjson.loads(data.body())["snapshots"] == 2


def test_report_is_self_contained_and_escapes_its_data(tmp_path: Path) -> None:
    figure = Figure("f", HOSTILE, [{"type": "bar", "x": ["a"], "y": [1.0]}], note="</script><b>")
    table = Table("t", "Table", ("k", "v"), [(HOSTILE, 1.0)])
    path = write_report(tmp_path / "r" / "report.html", f"Report {HOSTILE}", [figure], [table], subtitle=HOSTILE)
    page = path.read_text()
    assert '<link rel="stylesheet' not in page, "the style is inline too"
    assert not re.search(r"<script[^>]+src=", page), "every script is inline"
    assert "Plotly" in page and len(page) > 1_000_000  # plotly.js is inlined
    assert HOSTILE not in page and "</script><b>" not in page
    data = page.split('id="report-data">', 1)[1].split("</script>", 1)[0]
    decoded = orjson.loads(data)
    assert decoded["tables"][0]["rows"] == [[HOSTILE, "1"]]  # the script sets it as text
    assert render_report("x", [], []).count("<main") == 2
