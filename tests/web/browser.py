"""A headless Chromium driven by Selenium: Debian's chromium and chromium-driver, never a
downloaded browser. Missing either is a failure, not a skip (make test installs them)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service

from service.db.migrate import PROJECT_ROOT

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
SCREENSHOTS = PROJECT_ROOT / "var" / "screenshots"
DESKTOP = (1280, 900)
PHONE = (412, 915)
ARGUMENTS = (
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
    "--disable-extensions", "--no-first-run",
)  # fmt: skip


def _require(path: Path, package: str) -> None:
    if not path.exists():
        pytest.fail(
            f"{path} is missing: install it with `apt-get install {package}` (make test does)."
        )


def chromium() -> Iterator[webdriver.Chrome]:
    """A fresh headless browser whose console messages can be read with get_log('browser')."""
    _require(CHROMIUM, "chromium")
    _require(CHROMEDRIVER, "chromium-driver")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in ARGUMENTS:
        options.add_argument(argument)
    options.add_argument(f"--window-size={DESKTOP[0]},{DESKTOP[1]}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(str(CHROMEDRIVER)))
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


def console_errors(driver: webdriver.Chrome) -> list[str]:
    """Console messages at SEVERE level since the last call (CSP violations included)."""
    return [entry["message"] for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]


def screenshot(driver: webdriver.Chrome, name: str, *, size: tuple[int, int] = DESKTOP) -> Path:
    """Save the whole page (as tall as it is) under var/screenshots/NAME.png."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    driver.set_window_size(*size)
    # The window's own bars take part of its height: add them, so the page is not cut off.
    height, bars = driver.execute_script(
        "return [document.documentElement.scrollHeight, window.outerHeight - window.innerHeight]"
    )
    driver.set_window_size(size[0], min(max(int(height) + int(bars), size[1]), 4000))
    path = SCREENSHOTS / f"{name}.png"
    driver.save_screenshot(str(path))
    driver.set_window_size(*DESKTOP)
    return path


def copy_to_docs(names: list[str]) -> None:
    """Copy screenshots into docs/screenshots/ when SAVE_SCREENSHOTS asks for it (README)."""
    target = PROJECT_ROOT / "docs" / "screenshots"
    target.mkdir(parents=True, exist_ok=True)
    for name in names:
        shutil.copyfile(SCREENSHOTS / f"{name}.png", target / f"{name}.png")
