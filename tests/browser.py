"""Open a generated HTML page in headless Chromium (Debian's chromium + chromedriver) offline.

Used by the report tests: the page must render every chart with no console error while the
browser has no network (a proxy that does not exist, and background networking disabled).
"""

from __future__ import annotations

import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"


@dataclass(frozen=True)
class PageCheck:
    total_charts: int
    rendered_charts: int
    failed_charts: list[str]
    console_errors: list[str]
    svg_count: int
    headings: list[str]
    """Text of the page's h2 headings in document order."""
    summary_top: float
    """Distance in px from the top of the page to the summary table (-1: none)."""


def available() -> bool:
    return Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()


def check_page(
    path: Path, timeout: float = 60.0, *, screenshot: Path | None = None, width: int = 1280
) -> PageCheck:
    """Load `path` (file://) with the network off; wait for every chart to finish rendering.

    `screenshot`: also save a PNG of the whole page there (to look at the result).
    """
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    profile = tempfile.mkdtemp(prefix="wb-chrome-")
    for arg in (
        "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--disable-dev-shm-usage", f"--user-data-dir={profile}",
        # network off: every request would go to a proxy that does not exist
        "--proxy-server=http://127.0.0.1:9", "--proxy-bypass-list=<-loopback>",
    ):
        opts.add_argument(arg)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    try:
        driver.get(path.resolve().as_uri())
        deadline = time.monotonic() + timeout
        state = None
        while time.monotonic() < deadline:
            state = driver.execute_script("return window.__charts || null;")
            if state and state["rendered"] + len(state["failed"]) >= state["total"]:
                break
            time.sleep(0.2)
        svg_count = driver.execute_script("return document.querySelectorAll('.chart svg').length;")
        headings = driver.execute_script(
            "return Array.from(document.querySelectorAll('h2')).map(h => h.textContent);")
        summary_top = driver.execute_script(
            "const t = document.querySelector('table.summary');"
            "return t ? t.getBoundingClientRect().top + window.scrollY : -1;")
        if screenshot is not None:
            height = driver.execute_script("return document.body.scrollHeight;")
            driver.set_window_size(width, min(int(height) + 100, 30000))
            driver.save_screenshot(str(screenshot))
        logs = driver.get_log("browser")
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)
    errors = [e["message"] for e in logs if e.get("level") == "SEVERE"]
    state = state or {"total": -1, "rendered": 0, "failed": []}
    return PageCheck(state["total"], state["rendered"], list(state["failed"]), errors, svg_count,
                     list(headings), float(summary_top))
