"""Classroom features in headless Chromium: clicking the start onto the chart, the agreement
with the true clusters, and the worked example following the chart.

Each test gets a fresh page from the ``page`` fixture (tests/conftest.py), which fails the
test if the page ever shows a traceback.
"""

from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.browser
PlaywrightTimeout = pytest.importorskip("playwright.sync_api").TimeoutError

IDLE = "[data-testid='stApp'][data-test-script-state='notRunning']"
PLACE_CHART = ".st-key-em-place-chart .js-plotly-plot"
EM_CHART = ".st-key-em-chart .js-plotly-plot"
POINTS = f"{EM_CHART} .scatterlayer .trace:first-child path.point"

# Where a click at fractions (fx, fy) of the plot area lands: page coordinates, and the
# data coordinates the chart's own axes give for them.
CLICK_AT = """
([fx, fy]) => {
  const gd = document.querySelector(".st-key-em-place-chart .js-plotly-plot");
  const {xaxis: xa, yaxis: ya} = gd._fullLayout;
  const box = gd.getBoundingClientRect();
  const px = Math.round(xa._length * fx), py = Math.round(ya._length * fy);
  return {
    page: [box.left + xa._offset + px, box.top + ya._offset + py],
    data: [xa.p2c(px), ya.p2c(py)],
    unit: Math.abs(xa.p2c(1) - xa.p2c(0)),
  };
}
"""
# The means of the run's start, as the EM chart draws them (its base traces show state 0).
START_MEANS = """
() => {
  const gd = document.querySelector(".st-key-em-chart .js-plotly-plot");
  if (!gd || !gd.data || !gd._fullLayout || !gd._fullLayout.meta) return null;
  const means = gd.data.find((trace) => trace.name === "means");
  return means ? [means.x, means.y] : null;
}
"""


# Scroll every scrolling box around an element back to its top: the stepping buttons sit at
# the top of the page, under Streamlit's header once the page has scrolled.
SCROLL_TO_TOP = """
(element) => {
  for (let box = element.parentElement; box; box = box.parentElement) box.scrollTop = 0;
  document.scrollingElement.scrollTop = 0;
}
"""


def press_at_top(page, name: str) -> None:
    button = page.get_by_role("button", name=name, exact=True)
    button.evaluate(SCROLL_TO_TOP)
    button.click()


def choose_init(page, label: str) -> None:
    """Pick an initialisation (the dropdown may miss a click while the page settles)."""
    option = page.get_by_role("option", name=label)
    for _ in range(5):
        page.locator(".st-key-init input").click()
        try:
            option.wait_for(timeout=3000)
            break
        except PlaywrightTimeout:
            page.keyboard.press("Escape")
    option.click()
    page.wait_for_selector(IDLE)


def status_text(page) -> str:
    return page.locator(".em-iteration").first.inner_text()


def test_clicking_three_points_places_three_means(page) -> None:
    choose_init(page, "click to place the means")
    page.wait_for_selector(PLACE_CHART)
    status = page.locator(".em-place-status")
    status.filter(has_text="component 1: 3 means left").wait_for()
    expected = []
    for n, fractions in enumerate([(0.25, 0.3), (0.7, 0.35), (0.45, 0.75)]):
        page.wait_for_selector(PLACE_CHART)
        target = page.evaluate(CLICK_AT, list(fractions))
        page.mouse.click(*target["page"])
        expected.append((target["data"], target["unit"]))
        if n < 2:  # the status says how many are left, at once and after the rerun
            left = 2 - n
            word = "mean" if left == 1 else "means"
            status.filter(has_text=f"component {n + 2}: {left} {word} left").wait_for()
            page.wait_for_selector(IDLE)
    # The third mean starts the run: the EM chart's start has the three means where clicked.
    page.wait_for_selector(EM_CHART)
    page.wait_for_function(START_MEANS)
    xs, ys = page.evaluate(START_MEANS)
    assert len(xs) == 3
    for k, ((x, y), unit) in enumerate(expected):
        assert abs(xs[k] - x) <= 2 * unit and abs(ys[k] - y) <= 2 * unit, (k, xs, ys, expected)
    assert re.match(r"^Iteration 0", status_text(page))
    assert page.get_by_text("EM starts from the 3 means you placed.").is_visible()


def test_the_agreement_with_the_true_clusters_is_shown_after_convergence(page) -> None:
    page.get_by_text("Outline the points by true cluster").click()
    page.wait_for_selector(IDLE)
    page.wait_for_selector(POINTS)
    press_at_top(page, "Run to convergence")
    page.wait_for_selector(IDLE)
    note = page.locator(".em-note").filter(has_text="adjusted Rand index")
    note.wait_for()
    said = note.first.inner_text()
    assert re.search(r"Agreement with the true clusters: adjusted Rand index [01]\.\d\d", said)
    # The outlines, in a few colours (one per true cluster), stay on after the chart moved.
    outlines = page.eval_on_selector_all(
        POINTS,
        "(points) => points.map((p) => [parseFloat(getComputedStyle(p).strokeWidth), "
        "p.style.stroke])",
    )
    assert outlines and min(width for width, _ in outlines) >= 1
    colours = {colour for _, colour in outlines}
    assert {"rgb(17, 17, 17)", "rgb(127, 127, 127)", "rgb(140, 81, 10)"} <= colours


def test_the_worked_example_follows_the_chart(page) -> None:
    tab = page.get_by_role("tab", name="Worked example")
    tab.scroll_into_view_if_needed()
    tab.click()
    page.get_by_text("Numbers at: Iteration 0 · starting point").wait_for()
    press_at_top(page, "Step")
    page.get_by_text("Numbers at: Iteration 1 · E-step done").wait_for()
