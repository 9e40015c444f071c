"""Headless Debian chromium driven by selenium through Debian's chromedriver (installed by ``make setup``)."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
    "--window-size=1500,2400",
)


@contextmanager
def chromium(profile: Path) -> Iterator[webdriver.Chrome]:
    """A fresh headless chromium (its own ``--user-data-dir`` under ``profile``), quit on exit.

    A missing browser fails the test: ``make setup`` installs it.
    """
    for path in (CHROMIUM, CHROMEDRIVER):
        assert path.exists(), f"{path} is missing: `make setup` installs Debian's chromium and chromium-driver"
    options = Options()
    options.binary_location = str(CHROMIUM)
    for flag in (*FLAGS, f"--user-data-dir={profile}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    os.environ.setdefault("SE_OFFLINE", "true")  # never let selenium look for a driver online
    service = Service(executable_path=str(CHROMEDRIVER), log_output=str(profile.with_suffix(".chromedriver.log")))
    driver = webdriver.Chrome(options=options, service=service)
    try:
        driver.set_page_load_timeout(60)
        yield driver
    finally:
        driver.quit()


def console_errors(driver: webdriver.Chrome) -> list[dict[str, Any]]:
    """The page's console entries of level SEVERE (errors, failed loads)."""
    return [entry for entry in driver.get_log("browser") if entry.get("level") == "SEVERE"]


def wait_for(driver: webdriver.Chrome, script: str, timeout_s: float = 30.0) -> Any:
    """Run ``script`` (a JS expression after ``return``) until it is truthy; fails after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    value = None
    while time.monotonic() < deadline:
        value = driver.execute_script(f"return {script}")
        if value:
            return value
        time.sleep(0.25)
    raise AssertionError(f"still falsy after {timeout_s}s: {script} -> {value!r}")


PLOTS = """
return Array.from(document.querySelectorAll('.card')).filter(c => c.querySelector('.js-plotly-plot')).map(c => {
  const svg = c.querySelector('svg.main-svg');
  const box = svg ? svg.getBoundingClientRect() : {width: 0, height: 0};
  return {id: c.id, width: box.width, height: box.height,
          marks: c.querySelectorAll('.trace path, .trace .point, .bars path, .scatterlayer .js-line').length};
});
"""


def plots(driver: webdriver.Chrome) -> dict[str, dict[str, Any]]:
    """Every Plotly figure on the page: its SVG's size and how many marks (bars, lines, points) it drew."""
    return {p["id"]: p for p in driver.execute_script(PLOTS)}


def screenshot(driver: webdriver.Chrome, name: str, fallback: Path) -> Path:
    """A PNG of the page down to its last figure, in ``$SCREENSHOT_DIR`` (e.g. docs/img) when set, else under
    ``fallback``."""
    folder = Path(os.environ.get("SCREENSHOT_DIR") or fallback)
    folder.mkdir(parents=True, exist_ok=True)
    # The figures (the tables under them can be thousands of rows; they stay out of the picture).
    height = int(
        driver.execute_script(
            "const f = document.getElementById('figures');"
            "return f ? f.getBoundingClientRect().bottom + window.scrollY : document.documentElement.scrollHeight"
        )
    )
    driver.set_window_size(1500, min(max(height + 160, 800), 6000))  # the window keeps some height for itself
    time.sleep(0.5)
    path = folder / name
    assert driver.save_screenshot(str(path)), f"no screenshot written to {path}"
    return path
