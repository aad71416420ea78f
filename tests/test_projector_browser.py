"""The page on a classroom projector, in headless Chromium: 1024x768 and 1280x720 with the
sidebar as it opens, and a phone.

One page per screen size walks through the states a teacher shows (first load, an E-step,
converged, and a collapsed component with its re-seed button and notes, from the "Bad
start that collapses" scenario) and checks in each one:

- no control label is cut off (every button's and label's text fits its box), nor the
  status line;
- the buttons, the status line and the whole chart are on the first screen, unscrolled;
- the chart's top stays put (within 4 px) from state to state: notes, the scrub slider and
  re-seed buttons have their own room;
- no axis title, tick label or text on the chart reaches into the other panel, and no text
  is cut at the edge of its panel or the figure ("converged" whole);
- no component's number sits on another component's marker.

Set ``EM_PROJECTOR_SHOTS`` to a folder to keep a screenshot of every state.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

IDLE = "[data-testid='stApp'][data-test-script-state='notRunning']"
STATUS = ".em-iteration"
SCENARIO = "Bad start that collapses"
STEADY_PX = 4
SHOTS = os.environ.get("EM_PROJECTOR_SHOTS")

# The chart is still once the player shows the state the server confirmed and Plotly has no
# animation or relayout under way.
SETTLED = """() => {
  const reg = window.__emPlayer;
  const gd = reg && reg.gd;
  if (!gd || !reg.data || reg.playing || reg.plotlyBusy > 0) return false;
  if (reg.version !== reg.data.version || reg.shown !== reg.data.target) return false;
  const queue = gd._transitionData;
  return Boolean(queue) && !(queue._frameQueue && queue._frameQueue.length) && !queue._animationRaf
    && !gd._transitioning;
}"""

# Everything measured in one pass over the page (boxes in viewport pixels).
MEASURE = """() => {
  const box = (e) => { const r = e.getBoundingClientRect();
    return {l: r.left, t: r.top, r: r.right, b: r.bottom}; };
  const meets = (a, b, air = 0) =>
    a.l < b.r - air && b.l < a.r - air && a.t < b.b - air && b.t < a.b - air;
  const inside = (a, b, slack = 1) =>
    a.l >= b.l - slack && a.r <= b.r + slack && a.t >= b.t - slack && a.b <= b.b + slack;
  const shown = (e) => { const r = e.getBoundingClientRect();
    return r.width > 0 && r.height > 0 && r.right > 0 && r.left < innerWidth; };
  const said = (e) => `'${(e.textContent || "").trim().slice(0, 40)}'`;
  const out = {viewport: {l: 0, t: 0, r: innerWidth, b: innerHeight}, scrolled: scrollY,
               cut: [], into: [], clipped: [], onMarker: [], boxes: {}};
  const LABELS = ["button", "button p", "button [data-testid='stMarkdownContainer']", "label",
    "[data-testid='stWidgetLabel']", "[data-testid='stWidgetLabel'] p"];
  for (const e of document.querySelectorAll(LABELS.join(", "))) {
    if (shown(e) && e.clientWidth > 0 && e.scrollWidth > e.clientWidth + 1) {
      out.cut.push(`${said(e)} ${e.scrollWidth}px in ${e.clientWidth}px`);
    }
  }
  // The status line (in the player's own shadow root): the state and the log-likelihood.
  const status = window.__emPlayer && window.__emPlayer.status;
  for (const e of status ? status.querySelectorAll(".em-iteration, .em-loglik") : []) {
    if (e.scrollWidth > e.clientWidth + 1) out.cut.push(`status ${said(e)}`);
  }
  // The notes keep one height so the chart never moves: the first note fits whole (more
  // notes than fit scroll; Playwright's headless Chromium hides scrollbars, so they are not
  // measured here). On a converged run, the end and the truth's agreement share that note.
  for (const e of status ? status.querySelectorAll(".em-notes") : []) {
    const first = e.firstElementChild;
    if (first && first.offsetHeight > e.clientHeight + 1) out.cut.push(`first note ${said(e)}`);
    out.notesOverflow = (out.notesOverflow || 0) + Math.max(0, e.scrollHeight - e.clientHeight);
  }
  for (const [name, selector] of Object.entries({chart: ".st-key-em-chart",
      buttons: ".st-key-em-buttons", status: ".st-key-player", scrub: ".st-key-em-scrub-row"})) {
    const element = document.querySelector(selector);
    if (element) out.boxes[name] = box(element);
  }
  const gd = document.querySelector(".st-key-em-chart .js-plotly-plot");
  if (!gd) return out;
  const areas = {};
  for (const panel of ["xy", "x2y2"]) {
    const drag = gd.querySelector(`.draglayer .${panel} .nsewdrag`);
    if (drag) areas[panel] = box(drag);
  }
  const other = {xy: "x2y2", x2y2: "xy"};
  const texts = {
    xy: [".g-xtitle text", ".g-ytitle text", ".subplot.xy .xtick text",
         ".subplot.xy .ytick text", ".subplot.xy .textpoint text"],
    x2y2: [".g-x2title text", ".g-y2title text", ".subplot.x2y2 .x2tick text",
           ".subplot.x2y2 .y2tick text", ".subplot.x2y2 .textpoint text"],
  };
  const paper = box(gd.querySelector(".main-svg"));
  for (const [panel, selectors] of Object.entries(texts)) {
    for (const e of gd.querySelectorAll(selectors.join(", "))) {
      if (!shown(e)) continue;
      const b = box(e);
      const beside = areas[other[panel]];
      if (beside && meets(b, beside)) out.into.push(`${panel} ${said(e)}`);
      if (!inside(b, paper)) out.clipped.push(`${said(e)} beyond the figure`);
      // Text in a group clipped to its panel is cut where it leaves the panel.
      const clip = e.closest("[clip-path]");
      const match = clip && /(x\\d*y\\d*)plot\\)/.exec(clip.getAttribute("clip-path"));
      if (match && areas[match[1]] && !inside(b, areas[match[1]])) {
        out.clipped.push(`${said(e)} cut at the edge of ${match[1]}`);
      }
    }
  }
  for (const e of gd.querySelectorAll(".legendtext")) {
    for (const [panel, area] of Object.entries(areas)) {
      if (meets(box(e), area)) out.into.push(`legend ${said(e)} in ${panel}`);
    }
  }
  // The means: a trace in the data panel with as many numbers as markers.
  for (const trace of gd.querySelectorAll(".subplot.xy .scatterlayer .trace")) {
    const numbers = [...trace.querySelectorAll(".textpoint text")];
    const markers = [...trace.querySelectorAll("path.point")].map(box);
    if (numbers.length === 0 || numbers.length !== markers.length) continue;
    numbers.forEach((number, k) => {
      markers.forEach((marker, j) => {
        // Markers that overlap each other leave no room between them to speak of.
        if (j !== k && !meets(markers[k], marker) && meets(box(number), marker, 1)) {
          out.onMarker.push(`${number.textContent} on the marker of ${j + 1}`);
        }
      });
    });
  }
  out.panelsStacked = Math.abs(gd._fullLayout.xaxis2.domain[0]) < 1e-9;
  return out;
}"""


def settle(page) -> None:
    page.wait_for_selector(IDLE)
    page.wait_for_function(SETTLED)
    page.wait_for_timeout(150)  # a frame or two for the last layout pass
    page.wait_for_function(SETTLED)


def press(page, label: str) -> None:
    page.get_by_role("button", name=label, exact=True).click()
    settle(page)


def wait_for_status(page, pattern: str) -> None:
    page.locator(STATUS).first.filter(has_text=re.compile(pattern)).wait_for()


def inside(box: dict, viewport: dict) -> bool:
    return (
        box["l"] >= viewport["l"] - 0.5
        and box["t"] >= viewport["t"] - 0.5
        and box["r"] <= viewport["r"] + 0.5
        and box["b"] <= viewport["b"] + 0.5
    )


def sidebar_right(page) -> float:
    """Where the sidebar ends on screen: 0 or less when it is closed."""
    return page.locator("[data-testid='stSidebar']").evaluate(
        "(e) => e.getBoundingClientRect().right"
    )


def measure(page, name: str) -> dict:
    """The state's measurements, after moving the mouse off the page's controls (a tooltip
    would cover them); a screenshot too when ``EM_PROJECTOR_SHOTS`` is set."""
    size = page.viewport_size
    page.mouse.move(size["width"] - 2, size["height"] - 2)
    page.wait_for_timeout(100)
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / f"{size['width']}x{size['height']}-{name}.png"))
    return page.evaluate(MEASURE)


def assert_readable(found: dict, where: str) -> None:
    """Nothing cut off, nothing of one panel in the other, no number on another marker."""
    assert found["cut"] == [], f"{where}: control labels cut off: {found['cut']}"
    assert found["into"] == [], f"{where}: text in the other panel: {found['into']}"
    assert found["clipped"] == [], f"{where}: text cut off: {found['clipped']}"
    assert found["onMarker"] == [], f"{where}: numbers on markers: {found['onMarker']}"


def assert_first_screen(found: dict, where: str) -> None:
    assert found["scrolled"] == 0, f"{where}: the page scrolled"
    for name in ("buttons", "status", "scrub", "chart"):
        box = found["boxes"][name]
        assert inside(box, found["viewport"]), f"{where}: {name} {box} off the first screen"


def open_page(chromium, app_url: str, width: int, height: int):
    from emapp.serve import PAGE_COMPLETE

    context = chromium.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    page.set_default_timeout(60_000)
    page.goto(app_url)
    page.wait_for_selector(PAGE_COMPLETE)  # the chart comes first, then the rest
    page.wait_for_selector("[data-testid='stPlotlyChart'] .scatterlayer .point")
    settle(page)
    return context, page


@pytest.mark.parametrize("width,height", [(1024, 768), (1280, 720)], ids=["1024x768", "1280x720"])
def test_every_state_fits_a_projector_screen(chromium, app_url, width, height) -> None:
    context, page = open_page(chromium, app_url, width, height)
    try:
        sidebar = page.locator("[data-testid='stSidebar']")
        assert sidebar_right(page) > 200, "the sidebar is open on a projector"
        found = {"first load": measure(page, "1-load")}

        press(page, "E-step")
        wait_for_status(page, r"E-step done")
        found["after an E-step"] = measure(page, "2-e-step")

        press(page, "Run to convergence")
        page.locator(".em-note.success").first.wait_for()
        found["converged"] = measure(page, "3-converged")
        assert found["converged"]["notesOverflow"] <= 1, "the end note and ARI fit whole"

        sidebar.get_by_text(SCENARIO, exact=True).click()
        wait_for_status(page, r"starting point")
        settle(page)
        press(page, "Run to convergence")
        page.locator(".em-note.warning").first.wait_for()
        reseed = page.get_by_role("button", name=re.compile(r"^Re-seed component \d$"))
        reseed.first.wait_for()
        found["collapsed"] = measure(page, "4-collapsed")
        box = reseed.first.bounding_box()
        assert box["y"] + box["height"] <= height and box["x"] + box["width"] <= width

        for state, measured in found.items():
            where = f"{width}x{height}, {state}"
            assert_readable(measured, where)
            assert_first_screen(measured, where)
            assert not measured["panelsStacked"]
        tops = {state: round(m["boxes"]["chart"]["t"], 1) for state, m in found.items()}
        assert max(tops.values()) - min(tops.values()) <= STEADY_PX, f"the chart moved: {tops}"
        chart = found["first load"]["boxes"]["chart"]
        assert chart["b"] - chart["t"] >= 0.5 * height, "the chart takes most of the screen"
    finally:
        context.close()


def test_wider_screens_keep_the_panels_apart(chromium, app_url) -> None:
    """From 1024 px up (here to 2560) no panel's text reaches into the other."""
    context, page = open_page(chromium, app_url, 1024, 768)
    try:
        press(page, "Run to convergence")
        for width, height in ((1366, 768), (1920, 1080), (2560, 1440)):
            page.set_viewport_size({"width": width, "height": height})
            page.wait_for_function(
                "(w) => { const gd = window.__emPlayer.gd;"
                " return Math.abs(gd._fullLayout.width - gd.parentElement.clientWidth) < 2"
                " && gd._fullLayout.width > w; }",
                arg=0.4 * width,
            )
            settle(page)
            measured = measure(page, "converged")
            assert_readable(measured, f"{width}x{height}")
            assert_first_screen(measured, f"{width}x{height}")
    finally:
        context.close()


def test_a_phone_shows_the_chart_with_the_sidebar_closed(chromium, app_url) -> None:
    context, page = open_page(chromium, app_url, 390, 844)
    try:
        assert sidebar_right(page) <= 0, "the sidebar starts closed on a phone"
        press(page, "Run to convergence")
        page.wait_for_function("window.__emPlayer.gd._fullLayout.xaxis2.domain[0] === 0")
        settle(page)
        measured = measure(page, "phone-converged")
        assert measured["panelsStacked"], "on a phone the curve goes under the data"
        assert_readable(measured, "390x844")
        chart = measured["boxes"]["chart"]
        assert chart["l"] >= 0 and chart["r"] <= 390
        assert chart["b"] - chart["t"] >= 500, "tall enough for both panels"
    finally:
        context.close()


@pytest.mark.parametrize("width,height", [(1024, 768), (1280, 720), (1920, 1080)])
def test_every_reseed_control_is_on_screen_and_the_notes_say_there_is_more(
    chromium, app_url, width, height
) -> None:
    """50 points and 10 components: five collapse. Every re-seed control is whole on the
    screen (none in a strip that scrolls sideways), and notes that overflow their box say so."""
    context, page = open_page(chromium, app_url, width, height)
    try:
        page.goto(f"{app_url}/?points=50&k=10&seed=4")
        page.wait_for_selector("[data-testid='stPlotlyChart'] .scatterlayer .point")
        settle(page)
        press(page, "Run to convergence")
        page.locator(".st-key-em-reseeds button").first.wait_for()
        found = measure(page, f"5-reseeds-{width}")
        # Ten crowded means cannot all keep their numbers off each other's markers; no
        # label or word on the chart is cut, though ("converged" and "5" were, at the top).
        assert found["cut"] == [] and found["clipped"] == [], found
        controls = page.locator(
            ".st-key-em-reseeds [data-testid^=stBaseButton], "
            ".st-key-em-reseeds [data-testid=stSelectbox] >> visible=true"
        )
        assert controls.count() >= 2
        for i in range(controls.count()):
            box = controls.nth(i).bounding_box()
            assert box["x"] >= 0 and box["x"] + box["width"] <= width, f"control {i} cut"
            assert box["y"] + box["height"] <= height
        strip = page.locator(".st-key-em-scrub-row > div:has(.st-key-em-reseeds)")
        assert strip.evaluate("e => e.scrollWidth <= e.clientWidth + 1"), "scrolls sideways"
        # Two notes (the collapsed components, the end) overflow the box: "more" shows.
        more = page.evaluate(
            """() => { const box = window.__emPlayer.status.querySelector('.em-notes');
            const more = getComputedStyle(box, '::after').opacity;
            return [box.scrollHeight > box.clientHeight + 1, Number(more)]; }"""
        )
        assert more[1] == (1 if more[0] else 0), more
    finally:
        context.close()


# Every formula's right edge against its column's (or the main block's): a formula wider
# than its column is cut off there, and KaTeX gives no sign of it.
FORMULAS_CUT = """() => {
  const out = [];
  for (const e of document.querySelectorAll("[data-testid='stMain'] .katex-display")) {
    // The display box is as wide as its column; what it draws ends at its last glyph.
    let right = 0;
    for (const part of e.querySelectorAll(".katex-html .base")) {
      right = Math.max(right, part.getBoundingClientRect().right);
    }
    if (right === 0) continue;
    const home = e.closest("[data-testid='stColumn']")
      || e.closest("[data-testid='stMainBlockContainer']");
    const edge = home.getBoundingClientRect().right;
    if (right > edge + 1) {
      out.push(`'${e.textContent.slice(0, 30)}' ends at ${Math.round(right)} > ${edge}`);
    }
  }
  return out;
}"""


def test_every_formula_fits_its_column_at_1024(chromium, app_url) -> None:
    """The "How EM works" panel beside the chart, the parameter table and the worked
    example's numbers, at the smallest projector size (its M-step formula ran 80 px past
    the panel's edge)."""
    context, page = open_page(chromium, app_url, 1024, 768)
    try:
        assert page.evaluate(FORMULAS_CUT) == [], "first page"
        press(page, "Step")
        wait_for_status(page, r"Iteration 1")
        # The parameter table beside the explanation panel: seven columns of numbers used to
        # scroll sideways, hiding the covariances.
        table = page.locator(".em-table-scroll").first
        assert table.evaluate("e => e.scrollWidth - e.clientWidth") <= 1, "table cut"
        page.get_by_role("tab", name="Worked example").click()
        page.get_by_text("E-step: which component explains point").wait_for()
        settle(page)
        assert page.evaluate(FORMULAS_CUT) == [], "worked example"
    finally:
        context.close()
