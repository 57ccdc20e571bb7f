"""The pages in a real browser: headless Chromium on a real uvicorn server, on each database.

One browser for the run (tests/web/conftest.py) and one server per database, shared by the tests
in any order: only the curator's inclusion changes the site, and no other test depends on it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

from tests.api.pooled_support import trial
from tests.reliability.servers import fresh_database, migrated_with_keys, running
from tests.web.browser import PHONE, console_errors, copy_to_docs, screenshot
from tests.web.support import HOSTILE_AUTHORS, HOSTILE_TITLE, pending_body, post_study, seed

# One xdist worker runs them all: one browser (tests/web/conftest.py) and one server a database.
pytestmark = [
    pytest.mark.db,
    pytest.mark.dialect_free,
    pytest.mark.slow,
    pytest.mark.xdist_group("browser"),
]
WAIT_SECONDS = 20


@pytest.fixture(scope="module")
def site(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    folder = tmp_path_factory.mktemp(f"browser-{backend}")
    with fresh_database(backend, folder) as url:
        keys = migrated_with_keys(url, {"curator": "submit,curate", "bot": "submit"})
        with running(url, folder / "server.log") as [server]:
            pending = seed(server.base_url, curator=keys["curator"], submitter=keys["bot"])
            yield {
                "base": server.base_url,
                "keys": keys,
                "pending": pending,
                "pending_body": pending_body(),
                "backend": backend,
            }


def _open(browser: webdriver.Chrome, site: dict[str, Any], path: str) -> None:
    browser.get(site["base"] + path)
    WebDriverWait(browser, WAIT_SECONDS).until(
        lambda d: d.execute_script("return document.readyState") == "complete"
    )


@pytest.fixture(autouse=True)
def signed_out(browser: webdriver.Chrome) -> None:
    """Each test starts as an anonymous reader: the browser is shared by the run, its cookies
    are not (they ignore ports, so they would even cross from one database's server to the
    other's)."""
    browser.execute_cdp_cmd("Network.clearBrowserCookies", {})


def _sign_in(browser: webdriver.Chrome, site: dict[str, Any]) -> None:
    _open(browser, site, "/sign-in")
    browser.find_element(By.ID, "key").send_keys(site["keys"]["curator"])
    browser.find_element(By.ID, "sign-in").click()
    WebDriverWait(browser, WAIT_SECONDS).until(expected_conditions.url_contains("/curate"))


def _no_script_ran(browser: webdriver.Chrome) -> None:
    assert browser.execute_script("return window.__xss === undefined"), "injected script ran"


PAGES = [
    ("summary", "/", "Pooled effects of peer support"),
    ("outcome", "/outcomes/empowerment", "Empowerment"),
    ("versions", "/versions", "Evidence versions"),
    ("sign-in", "/sign-in", "Sign in"),
]


@pytest.mark.parametrize(("name", "path", "heading"), PAGES)
def test_each_page_renders_without_console_errors(
    browser: webdriver.Chrome, site: dict[str, Any], name: str, path: str, heading: str
) -> None:
    _open(browser, site, path)
    assert browser.find_element(By.TAG_NAME, "h1").text == heading
    for image in browser.find_elements(By.TAG_NAME, "img"):
        assert browser.execute_script("return arguments[0].naturalWidth > 0", image), (
            image.get_attribute("src")
        )
    assert console_errors(browser) == []
    screenshot(browser, name)


def test_pages_are_readable_on_a_phone(browser: webdriver.Chrome, site: dict[str, Any]) -> None:
    browser.set_window_size(*PHONE)
    _open(browser, site, "/outcomes/empowerment")
    # Nothing wider than the screen but the tables' own scrolling containers.
    width = browser.execute_script("return document.documentElement.scrollWidth")
    assert width <= PHONE[0]
    assert console_errors(browser) == []
    screenshot(browser, "outcome-phone", size=PHONE)


NARROW_PHONE = (375, 812)  # issue 26: the narrowest phone in common use


def _warned_study(site: dict[str, Any]) -> int:
    """A pending study with an error-level data warning: long field paths on its page."""
    body = trial(0.2, n=60, authors="Narrow P, Phone Q", year=2022)
    body["outcome_results"][0]["data"]["intervention"]["sd"] = 0.07
    study = post_study(site["base"], site["keys"]["bot"], body)
    assert study["outcome_results"][0]["data_warnings"]
    return int(study["id"])


@pytest.mark.parametrize("path", ["/", "/outcomes/empowerment", "pending-study", "warned-study",
                                  "/versions", "/sign-in"])  # fmt: skip
def test_pages_fit_a_375_pixel_screen(
    browser: webdriver.Chrome, site: dict[str, Any], path: str
) -> None:
    """No page scrolls sideways at 375 px: only tables scroll, inside their own containers."""
    browser.set_window_size(*NARROW_PHONE)
    if path == "pending-study":
        path = f"/studies/{site['pending']['id']}"
    elif path == "warned-study":
        path = f"/studies/{_warned_study(site)}"
    _open(browser, site, path)
    viewport = browser.execute_script("return document.documentElement.clientWidth")
    assert viewport <= NARROW_PHONE[0]
    width = browser.execute_script(
        "return Math.max(document.documentElement.scrollWidth, document.body.scrollWidth)"
    )
    assert width <= viewport, path
    wide = browser.execute_script(
        "const w = document.documentElement.clientWidth;"
        "return [...document.querySelectorAll('main *')]"
        ".filter(e => !e.closest('.scroll') && e.getBoundingClientRect().right > w + 1)"
        ".map(e => e.tagName + '.' + e.className);"
    )
    assert wide == [], path
    assert console_errors(browser) == []


def test_the_summary_shows_certainty_and_its_statement_on_a_phone(
    browser: webdriver.Chrome, site: dict[str, Any]
) -> None:
    browser.set_window_size(*PHONE)
    _open(browser, site, "/")
    cell = browser.find_element(By.ID, "cell-empowerment-all")
    certainty = cell.find_element(By.CSS_SELECTOR, "details.certainty")
    assert certainty.find_element(By.TAG_NAME, "summary").text.endswith(" certainty")
    statement = certainty.find_element(By.CSS_SELECTOR, ".statement")
    assert not statement.is_displayed()
    certainty.find_element(By.TAG_NAME, "summary").click()  # a tap opens it
    assert statement.text.startswith("Peer support") or statement.text.startswith("The evidence")
    assert browser.execute_script("return document.documentElement.scrollWidth") <= PHONE[0]
    assert console_errors(browser) == []
    screenshot(browser, "summary-phone", size=PHONE)


def test_study_page_shows_hostile_markup_as_text(
    browser: webdriver.Chrome, site: dict[str, Any]
) -> None:
    _open(browser, site, f"/studies/{site['pending']['id']}")
    assert browser.find_element(By.CSS_SELECTOR, ".study-title").text == HOSTILE_TITLE
    assert HOSTILE_AUTHORS in browser.find_element(By.TAG_NAME, "main").text
    assert browser.find_elements(By.CSS_SELECTOR, "main script, main b, main img[src=x]") == []
    _no_script_ran(browser)
    assert console_errors(browser) == []
    screenshot(browser, "study")


@pytest.mark.parametrize(
    ("path", "selector", "minimum"),
    [("/docs", ".opblock", 20), ("/redoc", "[data-section-id^='tag']", 3)],
)
def test_api_docs_show_the_operations_offline(
    browser: webdriver.Chrome, site: dict[str, Any], path: str, selector: str, minimum: int
) -> None:
    _open(browser, site, path)
    WebDriverWait(browser, WAIT_SECONDS).until(
        lambda d: len(d.find_elements(By.CSS_SELECTOR, selector)) >= minimum
    )
    if path == "/docs":
        titles = [e.text for e in browser.find_elements(By.CSS_SELECTOR, ".opblock-summary-path")]
        assert "/v1/outcomes/{outcome}/forest.svg" in " ".join(titles)
    assert console_errors(browser) == []
    screenshot(browser, path.strip("/"))


def _forest(site: dict[str, Any], browser: webdriver.Chrome) -> bytes:
    source = browser.find_element(By.ID, "plot-1").get_attribute("src")
    response = httpx.get(str(source))
    assert response.status_code == 200
    return response.content


def _api_preview(site: dict[str, Any]) -> dict[str, Any]:
    """POST /v1/studies/preview of the pending study's body: its overall empowerment cell."""
    response = httpx.post(
        f"{site['base']}/v1/studies/preview",
        json=site["pending_body"],
        headers={"Authorization": f"Bearer {site['keys']['bot']}"},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    cells = response.json()["cells"]
    cell: dict[str, Any] = next(c for c in cells if c["category"] is None)
    return cell


def _effect(side: dict[str, Any]) -> str:
    s = side["summary"]
    return f"{s['estimate']:.2f} [{s['ci_lower']:.2f}, {s['ci_upper']:.2f}]"


def test_curator_includes_a_pending_study_and_the_outcome_changes(
    browser: webdriver.Chrome, site: dict[str, Any]
) -> None:
    _open(browser, site, "/outcomes/empowerment")
    before, forest_before = (
        browser.find_element(By.ID, "pooled-estimate").text,
        _forest(site, browser),
    )
    _sign_in(browser, site)
    pending = browser.find_element(By.ID, f"pending-{site['pending']['id']}")
    assert pending.find_element(By.CSS_SELECTOR, ".study-title").text == HOSTILE_TITLE
    # The what-if preview replaces its link once in view (curation.js), with the API's numbers.
    slot = pending.find_element(By.CSS_SELECTOR, ".preview-slot")
    browser.execute_script("arguments[0].scrollIntoView()", slot)
    row = WebDriverWait(browser, WAIT_SECONDS).until(
        lambda d: d.find_element(By.ID, "preview-empowerment-all")
    )
    preview = _api_preview(site)
    assert row.find_element(By.CSS_SELECTOR, ".after .effect").text == _effect(preview["after"])
    assert row.find_element(By.CSS_SELECTOR, ".before .effect").text == _effect(preview["before"])
    assert (
        row.find_element(By.CSS_SELECTOR, ".after .statement").text
        == (preview["after"]["statement"]["text"])
    )
    _no_script_ran(browser)
    assert console_errors(browser) == []
    screenshot(browser, "curation")
    pending.find_element(By.CSS_SELECTOR, "button.include").click()
    WebDriverWait(browser, WAIT_SECONDS).until(
        lambda d: d.find_elements(By.ID, f"pending-{site['pending']['id']}") == []
    )
    _open(browser, site, "/outcomes/empowerment")
    after, forest_after = (
        browser.find_element(By.ID, "pooled-estimate").text,
        _forest(site, browser),
    )
    assert after != before
    assert forest_after != forest_before
    assert "Mallory" in forest_after.decode()
    assert "&lt;b onmouseover" in forest_after.decode()
    _no_script_ran(browser)
    assert console_errors(browser) == []
    screenshot(browser, "outcome-after-curation")
    if os.environ.get("SAVE_SCREENSHOTS"):
        copy_to_docs(["summary", "summary-phone", "outcome", "outcome-phone", "curation", "docs"])


def test_a_form_without_the_csrf_token_is_refused(
    site: dict[str, Any], browser: webdriver.Chrome
) -> None:
    _sign_in(browser, site)
    cookies = {c["name"]: c["value"] for c in browser.get_cookies()}
    assert cookies, "the curator should be signed in"
    [cookie] = [c for c in browser.get_cookies() if c["name"] == "lma_session"]
    assert cookie["httpOnly"]
    assert cookie["sameSite"] == "Strict"
    response = httpx.post(
        f"{site['base']}/curate/studies/1/exclude", data={"reason": "forged"}, cookies=cookies
    )
    assert response.status_code in (403, 422)
