"""No empty room above or beside the chart on a projector (headless Chromium).

A teacher's and a reviewer's notes found two wastes of a small screen's room:

- the notes' box beside the log-likelihood kept one fixed height (a share of the screen's),
  taller than any note needs at 1280 px and up: an empty band pushed the chart down. Its
  height is now what the run's tallest note needs at the box's width (and at least the
  log-likelihood's two lines), still one height in every state, so the chart never moves
  when notes come and go;
- on a wide screen the square data panel (equal scales on purpose) was narrower than its
  share of the width and stood in the middle of it, a wide empty gap on either side. It now
  sits at the left of the chart and the log-likelihood panel takes the rest of the width.

One page at 1280x720, then the same page at 1920x1080.
"""

from __future__ import annotations

import pytest
from test_projector_browser import assert_readable, measure, open_page, press, settle

from emapp.build.figures import PANEL_GAP

pytestmark = pytest.mark.browser

SLACK_PX = 2

# The notes' box, the tallest note in it and the log-likelihood's two lines; the chart's top;
# the data panel and the curve panel (viewport pixels), and the figure's plot area.
ROOM = """() => {
  const status = window.__emPlayer.status;
  const box = status.querySelector(".em-notes");
  const notes = [...box.children].map((note) => note.getBoundingClientRect().height);
  const loglik = status.querySelector(".em-loglik");
  const gd = document.querySelector(".st-key-em-chart .js-plotly-plot");
  const rect = (e) => { const r = e.getBoundingClientRect();
    return {l: r.left, t: r.top, r: r.right, b: r.bottom}; };
  const size = gd._fullLayout._size;
  const paper = gd.getBoundingClientRect();
  return {
    box: box.getBoundingClientRect().height,
    tallestNote: Math.max(0, ...notes),
    loglikLines: 2 * parseFloat(getComputedStyle(loglik).lineHeight),
    chartTop: document.querySelector(".st-key-em-chart").getBoundingClientRect().top,
    data: rect(gd.querySelector(".draglayer .xy .nsewdrag")),
    curve: rect(gd.querySelector(".draglayer .x2y2 .nsewdrag")),
    plot: {l: paper.left + size.l, w: size.w},
  };
}"""


def room(page) -> dict:
    return page.evaluate(ROOM)


def assert_no_empty_band(found: dict, where: str) -> None:
    """The box holds its tallest note (or the log-likelihood's lines) and no more."""
    needed = max(found["tallestNote"], found["loglikLines"])
    assert found["tallestNote"] <= found["box"] + 1, f"{where}: a note is cut: {found}"
    assert found["box"] <= needed + SLACK_PX, f"{where}: empty room in the notes' box: {found}"


def assert_panels_use_the_width(found: dict, where: str) -> None:
    """The data panel is square and at the left of the plot area; the curve starts the
    usual gap after it."""
    data, curve, plot = found["data"], found["curve"], found["plot"]
    width, height = data["r"] - data["l"], data["b"] - data["t"]
    assert abs(width - height) <= SLACK_PX, f"{where}: the data panel is not square: {data}"
    assert data["l"] - plot["l"] <= SLACK_PX, f"{where}: room left of the data panel: {found}"
    gap = curve["l"] - data["r"]
    assert gap <= PANEL_GAP * plot["w"] + SLACK_PX, f"{where}: {gap:.0f} px between panels"


def test_no_empty_room_above_or_beside_the_chart(chromium, app_url) -> None:
    context, page = open_page(chromium, app_url, 1280, 720)
    try:
        start = room(page)
        press(page, "Run to convergence")
        page.locator(".em-note.success").first.wait_for()  # the end note and the agreement
        settle(page)
        end = room(page)
        where = "1280x720, converged"
        assert abs(end["chartTop"] - start["chartTop"]) <= 1, "the chart moved for the notes"
        assert end["box"] == start["box"], "the notes' box changed height"
        assert_no_empty_band(end, where)
        assert_panels_use_the_width(end, where)
        assert_readable(measure(page, "room"), where)

        page.set_viewport_size({"width": 1920, "height": 1080})
        page.wait_for_function(
            "() => { const gd = window.__emPlayer.gd;"
            " return Math.abs(gd._fullLayout.width - gd.parentElement.clientWidth) < 2"
            " && gd._fullLayout.width > 1000; }"
        )
        settle(page)
        page.wait_for_timeout(300)  # the box and the panels fitted to the new width
        settle(page)
        where = "1920x1080, converged"
        wide = room(page)
        assert_no_empty_band(wide, where)
        assert_panels_use_the_width(wide, where)
        assert_readable(measure(page, "room"), where)
    finally:
        context.close()
