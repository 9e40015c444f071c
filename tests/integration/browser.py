"""What the browser test asks of a page: console errors, waits, plots drawn, screenshots (chromium: bench.browser)."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from selenium import webdriver

from bench.browser import chromium

__all__ = ["chromium", "console_errors", "plots", "screenshot", "wait_for"]


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
