"""Shared fixtures: the app served headless for the browser tests, and a page on it.

The browser tests are marked ``browser``; they share one server per session and one
Chromium, and each test gets a fresh page (a fresh Streamlit session). A page that shows a
traceback (``stException``) fails the test that used it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def app_url() -> Iterator[str]:
    """The real app, served headless on a free port for the whole test session."""
    from emapp.serve import serve

    with serve(ROOT / "app.py", cwd=ROOT) as url:
        yield url


@pytest.fixture(scope="session")
def chromium() -> Iterator[object]:
    """Debian's Chromium through Playwright (browsers cannot be downloaded here)."""
    sync_api = pytest.importorskip("playwright.sync_api")
    from emapp.serve import launch_chromium

    with sync_api.sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        yield browser
        browser.close()


@pytest.fixture
def page(chromium, app_url) -> Iterator[object]:
    """A new browser page on the app, whole and idle; fails the test on any traceback."""
    from emapp.serve import IDLE, PAGE_COMPLETE

    context = chromium.new_context(viewport={"width": 1400, "height": 1000})
    browser_page = context.new_page()
    browser_page.set_default_timeout(60_000)
    browser_page.goto(app_url)
    browser_page.wait_for_selector(PAGE_COMPLETE)  # the chart comes first, then the rest
    browser_page.wait_for_selector(IDLE)
    yield browser_page
    exceptions = browser_page.locator("[data-testid='stException']").count()
    context.close()
    assert exceptions == 0, "the page showed a traceback"
