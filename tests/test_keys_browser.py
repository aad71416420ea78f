"""The keyboard, the half-step words during Play, the growing iteration axis and shareable
links, in headless Chromium (Debian's, through Playwright; see tests/conftest.py)."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest

from emapp.build.blobs import BlobSettings
from emapp.build.figures import iteration_axis_end
from emapp.build.prepare import settings_tuple, version_of
from emapp.build.timeline import ModelSettings

pytestmark = pytest.mark.browser

STATUS = ".em-iteration"
IDLE = "[data-testid='stApp'][data-test-script-state='notRunning']"
POINTS = "[data-testid='stPlotlyChart'] .scatterlayer .point"
NOTE = ".st-key-link-note"


def status(page) -> str:
    return page.locator(STATUS).first.inner_text()


def wait_for_status(page, text: str) -> None:
    page.locator(STATUS).first.filter(has_text=re.compile("^" + re.escape(text))).wait_for()


def wait_confirmed(page, index: int) -> None:
    """The chart shows state ``index`` and the server's rerun has confirmed it."""
    page.wait_for_function(
        "window.__emPlayer && window.__emPlayer.data && "
        f"window.__emPlayer.data.target === {index} && window.__emPlayer.shown === {index}"
    )
    page.wait_for_selector(IDLE)


def key(page, name: str, text: str, index: int) -> None:
    page.keyboard.press(name)
    wait_for_status(page, text)
    wait_confirmed(page, index)


def run_version(page) -> str:
    return page.evaluate("document.querySelector('.st-key-em-chart .js-plotly-plot').layout.meta")


def axis_end(page) -> float:
    return page.evaluate("window.__emPlayer.gd._fullLayout.xaxis2.range[1]")


def test_the_keys_press_the_buttons(page) -> None:
    page.wait_for_selector(POINTS)
    page.wait_for_function("window.__emPlayer && window.__emPlayer.gd")
    assert axis_end(page) == pytest.approx(iteration_axis_end(0))  # nothing about the end
    key(page, "e", "Iteration 0 · E-step done", 1)
    key(page, "m", "Iteration 1 · M-step done", 2)
    key(page, "s", "Iteration 1 · E-step done", 3)  # once: one listener, however many reruns
    key(page, "ArrowLeft", "Iteration 1 · M-step done", 2)
    key(page, "ArrowRight", "Iteration 1 · E-step done", 3)
    assert page.evaluate("window.__emPlayer.data.furthest") == 3  # the server followed

    # Space plays, and the chart itself says which half-step just happened.
    page.keyboard.press(" ")
    page.wait_for_function("window.__emPlayer.playing && window.__emPlayer.shown >= 6")
    words = page.locator(".em-half-step")
    assert words.is_visible()
    # The step's name over what it does: "E-step" over "recolour".
    assert words.get_attribute("aria-label") in ("E-step: recolour", "M-step: move")
    assert words.inner_text().split() in (["E-step", "recolour"], ["M-step", "move"])
    assert float(words.evaluate("e => parseFloat(getComputedStyle(e).fontSize)")) >= 28
    page.keyboard.press(" ")
    page.wait_for_function("!window.__emPlayer.playing")
    page.wait_for_function("window.__emPlayer.data && !window.__emPlayer.data.playing")
    page.wait_for_selector(IDLE)
    stopped = page.evaluate("window.__emPlayer.shown")
    page.wait_for_timeout(500)
    assert page.evaluate("window.__emPlayer.shown") == stopped  # paused means paused
    assert not words.is_visible()
    assert page.evaluate("window.__emPlayer.data.target") == stopped

    # Keys are left alone while typing in a box.
    seed = page.get_by_role("spinbutton", name="Model seed")
    seed.click()
    requests = page.evaluate("window.__emPlayer.requests")
    for name in ("e", "m", "s", "r", " ", "ArrowRight"):
        page.keyboard.press(name)
    page.wait_for_timeout(400)
    assert page.evaluate("window.__emPlayer.requests") == requests
    assert page.evaluate("window.__emPlayer.shown") == stopped
    assert not page.evaluate("window.__emPlayer.playing")
    seed.fill("0")
    page.evaluate("document.activeElement.blur()")  # focus back on the page
    page.wait_for_selector(IDLE)

    # The "?" lists the keys; r resets.
    page.keyboard.press("?")
    assert page.locator(".em-keys-list").is_visible()
    assert "Play / Pause" in page.locator(".em-keys-list").inner_text()
    page.keyboard.press("?")
    assert not page.locator(".em-keys-list").is_visible()
    key(page, "r", "Iteration 0 · starting point", 0)

    # A slider takes arrows, not letters: after moving one, s steps without a click away.
    page.get_by_role("slider", name="Components K").focus()
    key(page, "e", "Iteration 0 · E-step done", 1)
    key(page, "r", "Iteration 0 · starting point", 0)
    # So does a closed drop-down after a choice (letters would only start a search in it).
    choice = page.get_by_role("combobox", name="Covariance type")
    choice.focus()
    assert choice.get_attribute("aria-expanded") == "false"
    key(page, "e", "Iteration 0 · E-step done", 1)
    key(page, "r", "Iteration 0 · starting point", 0)


def test_the_iteration_axis_grows_with_the_states_visited(page) -> None:
    page.wait_for_selector(POINTS)
    page.wait_for_function("window.__emPlayer && window.__emPlayer.gd")
    start = axis_end(page)
    page.get_by_role("button", name="Run to convergence", exact=True).click()
    page.wait_for_selector(IDLE)
    last = page.evaluate("window.__emPlayer.data.labels.length - 1")
    wait_confirmed(page, last)
    iteration = int(re.match(r"Iteration (\d+)", status(page)).group(1))
    page.wait_for_function(f"window.__emPlayer.gd._fullLayout.xaxis2.range[1] > {start}")
    assert axis_end(page) == pytest.approx(iteration_axis_end(iteration))
    assert axis_end(page) >= iteration


def open_page(chromium, url: str):
    from emapp.serve import PAGE_COMPLETE

    context = chromium.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(60_000)
    page.goto(url)
    page.wait_for_selector(PAGE_COMPLETE)
    page.wait_for_selector(IDLE)
    page.wait_for_selector(POINTS)
    page.wait_for_function("window.__emPlayer && window.__emPlayer.gd")
    return context, page


def table_text(page) -> str:
    return page.locator(".em-table-view").first.inner_text()


def test_a_copied_link_shows_the_same_run_in_a_fresh_browser(chromium, app_url) -> None:
    context, page = open_page(chromium, app_url)
    try:
        page.get_by_role("radio", name="Overlapping", exact=True).click()
        page.wait_for_selector(IDLE)
        seed = page.get_by_role("spinbutton", name="Model seed")
        seed.fill("5")
        seed.press("Tab")  # commits the value; the rerun then writes the URL
        page.wait_for_timeout(500)
        page.wait_for_selector(IDLE)
        page.wait_for_function("location.search.includes('seed=5')", timeout=120_000)
        page.evaluate("document.activeElement.blur()")  # keys are ignored in the box
        key(page, "s", "Iteration 1 · E-step done", 3)
        key(page, "s", "Iteration 2 · E-step done", 5)
        copied, version = page.url, run_version(page)
        seen = (status(page), table_text(page))
        query = parse_qs(urlsplit(copied).query)
        assert query["scenario"] == ["Overlapping"] and query["seed"] == ["5"]
        assert page.locator(NOTE).count() == 0
    finally:
        context.close()
    context, page = open_page(chromium, copied)
    try:
        assert run_version(page) == version
        assert page.locator(NOTE).count() == 0
        assert page.get_by_role("spinbutton", name="Model seed").input_value() == "5"
        key(page, "s", "Iteration 1 · E-step done", 3)
        key(page, "s", "Iteration 2 · E-step done", 5)
        assert (status(page), table_text(page)) == seen
        assert page.url == copied  # opening it did not change it
        assert page.locator("[data-testid='stException']").count() == 0
    finally:
        context.close()


def test_a_tampered_link_shows_a_note_and_the_default_run(chromium, app_url) -> None:
    default = version_of(("blobs", settings_tuple(BlobSettings()), settings_tuple(ModelSettings())))
    tampered = f"{app_url}/?k=99&points=%3Cscript%3Ealert(1)%3C%2Fscript%3E&colour=red"
    context, page = open_page(chromium, tampered)
    try:
        note = page.locator(NOTE)
        note.wait_for()
        text = note.inner_text().strip()
        assert text.startswith("This link's settings could not be used")
        assert "\n" not in text and "script" not in text
        assert run_version(page) == default
        wait_for_status(page, "Iteration 0 · starting point")
        page.wait_for_function("location.search === ''")  # the URL now links to what is shown
        assert page.locator("[data-testid='stException']").count() == 0
    finally:
        context.close()
