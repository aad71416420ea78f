"""The page in headless Chromium: what only a browser shows (the player moves the chart).

Each test gets a fresh page from the ``page`` fixture (tests/conftest.py), which fails the
test if the page ever shows a traceback.
"""

from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.browser

STATUS = ".em-iteration"
IDLE = "[data-testid='stApp'][data-test-script-state='notRunning']"


def status(page) -> str:
    return page.locator(STATUS).first.inner_text()


def press(page, label: str) -> None:
    page.get_by_role("button", name=label, exact=True).click()
    page.wait_for_selector(IDLE)


def wait_for_status(page, pattern: str) -> None:
    page.locator(STATUS).first.filter(has_text=re.compile(pattern)).wait_for()


def wait_confirmed(page, index: int) -> None:
    """Wait until the server's rerun has confirmed state ``index`` (the browser moves the
    chart on the click already; a click during that rerun would race it)."""
    page.wait_for_function(
        f"window.__emPlayer && window.__emPlayer.data && window.__emPlayer.data.target === {index}"
    )


def chart_frame(page) -> int:
    """The state the chart shows, as the player keeps it."""
    return page.evaluate("window.__emPlayer ? window.__emPlayer.shown : -1")


def test_load_shows_chart_status_and_explanation(page) -> None:
    page.wait_for_selector("[data-testid='stPlotlyChart'] .scatterlayer .point")
    wait_for_status(page, r"^Iteration 0")
    assert page.get_by_text("What do the E-step and the M-step do?").is_visible()
    page.locator(".katex").nth(1).wait_for()  # the formulas are typeset (KaTeX loads lazily)


def test_each_control_moves_the_chart(page) -> None:
    page.wait_for_selector("[data-testid='stPlotlyChart'] .scatterlayer .point")
    steps = [
        ("E-step", 1, r"Iteration 0 · E-step done"),
        ("M-step", 2, r"Iteration 1 · M-step done"),
        # From an M-step, Step completes the iteration with its E-step.
        ("Step", 3, r"Iteration 1 · E-step done"),
        ("Step", 5, r"Iteration 2 · E-step done"),
    ]
    for label, index, status_text in steps:
        press(page, label)
        wait_for_status(page, status_text)
        wait_confirmed(page, index)
        page.wait_for_function(f"window.__emPlayer.shown === {index}")
    press(page, "Run to convergence")
    page.locator(".em-note.success").first.wait_for()
    assert "converged" in page.locator(".em-note.success").first.inner_text()
    press(page, "Reset")
    wait_for_status(page, r"Iteration 0 · starting point")
    wait_confirmed(page, 0)
    page.wait_for_function("window.__emPlayer && window.__emPlayer.shown === 0")


def test_play_animates_in_the_browser_and_pause_stops_it(page) -> None:
    page.wait_for_selector("[data-testid='stPlotlyChart'] .scatterlayer .point")
    press(page, "Play")
    # The iterations advance with no rerun per frame.
    page.wait_for_function("window.__emPlayer && window.__emPlayer.shown >= 6")
    press(page, "Pause")
    page.wait_for_function("window.__emPlayer && !window.__emPlayer.playing")
    stopped = chart_frame(page)
    page.wait_for_timeout(600)
    assert chart_frame(page) == stopped  # paused means paused
    label = status(page)
    assert label.startswith("Iteration ")
    # Step continues from where the animation stopped, not from the beginning.
    press(page, "Step")
    page.wait_for_function(f"window.__emPlayer.shown > {stopped}")


def test_a_settings_change_resets_the_view(page) -> None:
    page.wait_for_selector("[data-testid='stPlotlyChart'] .scatterlayer .point")
    press(page, "Step")
    wait_for_status(page, r"Iteration 1 · E-step done")
    seed = page.get_by_role("spinbutton", name="Model seed")
    seed.fill("5")
    seed.press("Enter")
    page.wait_for_selector(IDLE)
    wait_for_status(page, r"Iteration 0 · starting point")


# Records, from the first frame on, when the chart's points and the sidebar's controls
# appear, and which graph div (and how wide) the points were first drawn in.
RECORD_FIRST_PAINT = """
window.__firstPaint = {};
const watch = () => {
  const seen = window.__firstPaint;
  const gd = document.querySelector(".st-key-em-chart .js-plotly-plot");
  if (!seen.chart && gd && gd.querySelector(".scatterlayer .point")) {
    Object.assign(seen, {chart: performance.now(), gd, width: gd.getBoundingClientRect().width});
  }
  if (!seen.controls && document.querySelector("[data-testid='stSidebar'] input")) {
    seen.controls = performance.now();
  }
  if (!seen.chart || !seen.controls) requestAnimationFrame(watch);
};
requestAnimationFrame(watch);
"""


def test_the_chart_comes_first_and_the_rest_follows_by_itself(chromium, app_url) -> None:
    from emapp.serve import PAGE_COMPLETE

    context = chromium.new_context(viewport={"width": 1400, "height": 1000})
    try:
        page = context.new_page()
        page.add_init_script(RECORD_FIRST_PAINT)
        page.goto(app_url)
        page.wait_for_selector(PAGE_COMPLETE, timeout=60_000)  # no click needed
        page.wait_for_selector(IDLE)
        page.wait_for_function("window.__firstPaint.chart && window.__firstPaint.controls")
        first = page.evaluate(
            """() => {
              const seen = window.__firstPaint;
              const gd = document.querySelector(".st-key-em-chart .js-plotly-plot");
              return {order: seen.chart < seen.controls, same: gd === seen.gd,
                      resized: Math.abs(gd.getBoundingClientRect().width - seen.width) > 1};
            }"""
        )
        assert first == {"order": True, "same": True, "resized": False}
        assert page.get_by_role("tab", name="Worked example").count() == 1
        assert page.locator("[data-testid='stException']").count() == 0
    finally:
        context.close()
