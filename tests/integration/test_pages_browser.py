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
from selenium.webdriver.remote.webdriver import WebDriver

from kairos.evaluation.report import evaluate, preset
from kairos.processes import start_worker
from kairos.settings import Settings
from kairos.simulate import simulate_to_kafka
from kairos.web.metric_figures import metric_figures, metric_tables
from kairos.web.report import write_report
from kairos.web.run_reports import write_evaluation_report
from kairos.web.snapshot import History, snapshot_of_text
from tests.integration.browser import chromium, console_errors, plots, screenshot, wait_for

pytestmark = pytest.mark.integration

# Figures the simulated shoppers must fill (decisions come from the fallback rules: no Triton in this test).
DRAWN = ("k-events_per_s", "k-dead_letters", "k-decisions", "k-decision_latency", "k-event_age")


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
