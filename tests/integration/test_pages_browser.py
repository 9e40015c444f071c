"""A real browser on what people see: the live page of a running worker and the reports, headless chromium.

Each page must load, draw its plots (an SVG with marks in it) and log no console error. Set ``SCREENSHOT_DIR``
(e.g. ``docs/img``) to keep the screenshots the README shows.
"""

from __future__ import annotations

import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import CollectorRegistry, Gauge
from selenium.webdriver.remote.webdriver import WebDriver

from kairos.evaluation.report import evaluate, preset
from kairos.processes import start_worker
from kairos.settings import Settings
from kairos.simulate import simulate_to_kafka
from kairos.web.metric_figures import metric_figures, metric_tables
from kairos.web.report import write_report
from kairos.web.run_reports import write_evaluation_report
from kairos.web.snapshot import History, snapshot_of_registry, snapshot_of_text
from tests.integration.browser import chromium, console_errors, plots, screenshot, wait_for

pytestmark = pytest.mark.integration

HOSTILE = '<img src=x onerror="window.pwned=1">'

# Figures the simulated shoppers must fill (decisions come from the fallback rules: no Triton in this test; unknown
# consent denies personalised offers, so guardrails mask candidates of most decisions).
DRAWN = (
    "k-events_per_s",
    "k-dead_letters",
    "k-decisions",
    "k-decision_latency",
    "k-event_age",
    "k-guardrails_by_rule",
    "k-guardrails_over_time",
)
FAIRNESS = ("k-fairness_rates", "k-fairness_gap")


def plots_when_drawn(driver: WebDriver, keys: tuple[str, ...], timeout_s: float = 60.0) -> dict[str, dict[str, Any]]:
    """The page's plots once every figure in ``keys`` has drawn marks (or as they are at ``timeout_s``)."""
    deadline = time.monotonic() + timeout_s
    drawn = plots(driver)
    while not all(drawn.get(k, {}).get("marks", 0) > 0 for k in keys) and time.monotonic() < deadline:
        time.sleep(0.5)
        drawn = plots(driver)
    return drawn


def test_live_page_and_report_render_in_chromium(topics: Settings, tmp_path: Path) -> None:
    worker = start_worker(topics, tmp_path / "worker.log")
    base = worker.metrics_url.removesuffix("/metrics")
    history = History()
    shoppers = threading.Thread(
        target=simulate_to_kafka,
        args=(topics,),
        kwargs={"shoppers": 120, "duration_s": 900, "seed": 11, "speed": 60, "malformed_rate": 0.03},
        daemon=True,
    )
    try:
        with chromium(tmp_path / "profile") as driver:
            shoppers.start()
            driver.get(f"{base}/live")
            assert driver.title == "Kairos worker: live"
            while shoppers.is_alive():
                history.add(snapshot_of_text(worker.metrics(), time.time()))
                time.sleep(1.0)
            shoppers.join()
            wait_for(driver, "Number(document.body.dataset.updates || 0) >= 4", timeout_s=60)
            wait_for(driver, "document.querySelector('#k-decisions .bars path') !== null", timeout_s=60)
            time.sleep(2.5)  # one more poll after the run
            history.add(snapshot_of_text(worker.metrics(), time.time()))
            drawn = plots_when_drawn(driver, DRAWN)
            assert len(drawn) >= 12, drawn
            assert all(p["width"] > 100 and p["height"] > 100 for p in drawn.values()), drawn
            for key in DRAWN:
                assert drawn[key]["marks"] > 0, (key, drawn[key])
            table_rows = driver.execute_script("return document.querySelectorAll('#k-samples tr').length")
            assert table_rows > 10
            for key in FAIRNESS:  # no protected attribute configured: the page says so instead of drawing
                assert key in drawn, drawn
                assert "fairness parity off" in annotation(driver, key)
            assert "decide.fairness_attribute is empty" in note(driver, "k-fairness_rates")
            assert console_errors(driver) == []
            screenshot(driver, "live-page.png", tmp_path)
            with urllib.request.urlopen(f"{base}/live") as response:
                assert "script-src 'self'" in response.headers["Content-Security-Policy"]

            report = write_report(
                tmp_path / "report.html",
                "Kairos run report",
                metric_figures(history),
                metric_tables(history.latest),
                subtitle="the live page's figures over the whole run",
            )
            driver.get(report.as_uri())
            wait_for(driver, "document.body.dataset.rendered === '1'")
            drawn = plots_when_drawn(driver, DRAWN)
            for key in DRAWN:
                assert drawn[key]["marks"] > 0, (key, drawn[key])
            assert console_errors(driver) == []
            screenshot(driver, "run-report.png", tmp_path)
    finally:
        assert worker.stop() == 0


def annotation(driver: WebDriver, key: str) -> str:
    """The text of a plot's annotations (Plotly draws them as SVG text)."""
    return str(driver.execute_script(f"return document.querySelector('#{key} .annotation')?.textContent || ''"))


def note(driver: WebDriver, key: str) -> str:
    """The note under a figure."""
    return str(driver.execute_script(f"return document.querySelector('#{key} .note').textContent"))


def test_fairness_figures_render_in_chromium(tmp_path: Path) -> None:
    """With the rule on, the fairness figures draw the groups' rates and the gaps (a group's name is drawn as text)."""
    registry = CollectorRegistry()
    setting = Gauge("kairos_fairness_setting", "s", ["attribute", "setting"], registry=registry)
    decisions = Gauge("kairos_fairness_window_decisions", "d", ["partition", "group"], registry=registry)
    offers = Gauge("kairos_fairness_window_discounts", "o", ["partition", "group"], registry=registry)
    gap = Gauge("kairos_fairness_parity_gap", "g", ["partition"], registry=registry)
    for name, value in (("max_gap", 0.05), ("min_decisions", 100.0), ("group_lookup", 1.0)):
        setting.labels("age_band", name).set(value)
    history = History()
    for step in range(5):
        for partition, group in (("0", "18-34"), ("0", HOSTILE), ("1", "18-34")):
            decisions.labels(partition, group).set(100 + 50 * step)
            offers.labels(partition, group).set(5 + 4 * step + (3 if group == HOSTILE else 0))
        gap.labels("0").set(0.01 * step)
        gap.labels("1").set(0.0)
        history.add(snapshot_of_registry(registry, 1_765_000_000.0 + 2 * step))
    report = write_report(tmp_path / "fairness.html", "fairness", metric_figures(history), [])
    with chromium(tmp_path / "profile") as driver:
        driver.get(report.as_uri())
        wait_for(driver, "document.body.dataset.rendered === '1'")
        drawn = plots(driver)
        for key in FAIRNESS:
            assert drawn[key]["marks"] > 0, (key, drawn[key])
        labels = driver.execute_script(
            "return document.querySelector('#k-fairness_rates .xaxislayer-above').textContent"
        )
        assert HOSTILE in labels, "a group's name is drawn as text, not markup"
        assert driver.execute_script("return document.querySelectorAll('#k-fairness_rates img').length") == 0
        assert "'age_band'" in note(driver, "k-fairness_rates")
        assert console_errors(driver) == []


def test_evaluation_report_renders_in_chromium(tmp_path: Path) -> None:
    config = preset(seeds=2, shoppers=80, duration_s=1200.0, drift=True, arms=("none", "rules", "full"), quick=True)
    result = evaluate(config).to_json()
    report = write_evaluation_report(tmp_path / "evaluate.html", result)
    with chromium(tmp_path / "profile") as driver:
        driver.get(report.as_uri())
        wait_for(driver, "document.body.dataset.rendered === '1'")
        drawn = plots(driver)
        metrics = {m for arm in result["arms"].values() for m in arm}
        assert {f"k-arm_{m}" for m in metrics} <= set(drawn)
        assert {"k-lift_vs_rules", "k-recovery"} <= set(drawn)
        assert all(p["marks"] > 0 for key, p in drawn.items() if key.startswith("k-arm_")), drawn
        error_bars = driver.execute_script("return document.querySelectorAll('#k-lift_vs_rules .errorbar').length")
        assert error_bars > 0, "lifts are drawn with their intervals"
        assert driver.execute_script("return document.querySelectorAll('#k-claims tr').length") > 1
        assert console_errors(driver) == []
        screenshot(driver, "evaluation-report.png", tmp_path)
