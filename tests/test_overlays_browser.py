"""Nothing lies over the chart or the controls, and nothing moves, on a classroom projector
(headless Chromium; one server and one browser for the session, see tests/conftest.py).

A teacher's report found three faults:

- during Play the half-step words ("E-step: recolour") covered the top right of the data
  panel, its points and ellipses;
- a stepping button's tooltip stayed over the page's title after the button was clicked,
  as long as the pointer rested on it;
- with K = 10 at 1024x768 the legend wrapped to a second row and pushed the panels down,
  so they jumped when K changed (and on the one-column chart the data's and the mixture's
  entries were written over each other).
"""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser

IDLE = "[data-testid='stApp'][data-test-script-state='notRunning']"
POINTS = ".st-key-em-chart .scatterlayer .point"
BADGE = ".st-key-em-chart .em-half-step"
SIZES = [(1024, 768), (1280, 720), (1920, 1080)]
MAX_K = 10  # the sidebar's largest K (emapp.build.colors.MAX_COMPONENTS)

# The chart's parts, as boxes in viewport pixels: the two panels' plot areas, the legend
# and its entries, every axis text, and the half-step words when they show.
CHART_PARTS = """() => {
  const gd = document.querySelector(".st-key-em-chart .js-plotly-plot");
  const box = (e) => { const r = e.getBoundingClientRect();
    return {l: r.left, t: r.top, r: r.right, b: r.bottom}; };
  const shown = (e) => { const r = e.getBoundingClientRect(); return r.width > 0 && r.height > 0; };
  const panels = {};
  for (const name of ["xy", "x2y2"]) {
    panels[name] = box(gd.querySelector(`.draglayer .${name} .nsewdrag`));
  }
  const entries = [...gd.querySelectorAll(".legend .traces")];
  const texts = [".xtick text", ".ytick text", ".x2tick text", ".y2tick text", ".g-xtitle text",
    ".g-ytitle text", ".g-x2title text", ".g-y2title text"].join(", ");
  const badge = gd.querySelector(".em-half-step");
  const tools = [...gd.querySelectorAll(".modebar-btn")].filter(shown);
  return {
    tools: tools.map(box),
    chart: box(gd),
    panels,
    legend: box(gd.querySelector(".legend")),
    legendRows: new Set(entries.map((e) => Math.round(e.getBoundingClientRect().top))).size,
    legendTexts: [...gd.querySelectorAll(".legend .legendtext")].map((e) =>
      ({text: e.textContent, ...box(e)})),
    texts: [...gd.querySelectorAll(texts)].filter(shown).map((e) =>
      ({text: e.textContent, ...box(e)})),
    badge: badge && getComputedStyle(badge).display !== "none" ? box(badge) : null,
  };
}"""


def meets(a: dict, b: dict, air: float = 0.0) -> bool:
    """Whether boxes ``a`` and ``b`` overlap by more than ``air`` pixels each way."""
    return (
        a["l"] < b["r"] - air
        and b["l"] < a["r"] - air
        and a["t"] < b["b"] - air
        and (b["t"] < a["b"] - air)
    )


def inside(a: dict, b: dict, slack: float = 1.0) -> bool:
    return (
        a["l"] >= b["l"] - slack
        and a["r"] <= b["r"] + slack
        and a["t"] >= b["t"] - slack
        and a["b"] <= b["b"] + slack
    )


def open_page(chromium, url: str, width: int, height: int):
    from emapp.serve import PAGE_COMPLETE

    context = chromium.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    page.set_default_timeout(60_000)
    go_to(page, url)
    page.wait_for_selector(PAGE_COMPLETE)  # the chart comes first, then the rest
    return context, page


def go_to(page, url: str) -> None:
    """Open ``url`` and wait for its chart to be drawn and still."""
    page.goto(url)
    page.wait_for_selector(POINTS)
    page.wait_for_selector(IDLE)
    page.wait_for_function("window.__emPlayer && window.__emPlayer.gd")
    page.wait_for_timeout(300)  # the page sizes the chart more than once while it loads


def parts(page) -> dict:
    return page.evaluate(CHART_PARTS)


def assert_same_panels(
    before: dict, after: dict, where: str, sides: tuple[str, ...] = ("l", "t", "r", "b")
) -> None:
    for name, box in before["panels"].items():
        moved = {side: round(after["panels"][name][side] - box[side], 1) for side in sides}
        assert all(abs(by) <= 1 for by in moved.values()), f"{where}: {name} moved {moved}"


def assert_clear_words(found: dict, where: str) -> None:
    """The half-step words cover no panel, legend entry or axis text, inside the chart."""
    badge = found["badge"]
    assert badge is not None, f"{where}: no half-step words during Play"
    assert inside(badge, found["chart"]), f"{where}: the words leave the chart {badge}"
    for name, panel in found["panels"].items():
        assert not meets(badge, panel), f"{where}: the words cover the {name} panel"
    assert not meets(badge, found["legend"]), f"{where}: the words cover the legend"
    covered = [t["text"] for t in found["texts"] if meets(badge, t)]
    assert covered == [], f"{where}: the words cover {covered}"
    # Plotly's tool buttons show at the chart's top right while the pointer is on the chart.
    assert not any(meets(badge, tool) for tool in found["tools"]), f"{where}: on the tools"


# The plane at every screen; the line (a wider legend, so less room) at the narrowest, where
# the room is least (each case opens a page: about 8 s).
CASES = [(w, h, f"k={MAX_K}&points=1000") for w, h in SIZES] + [(1024, 768, "dims=1&k=10")]


@pytest.mark.parametrize(
    "width,height,query",
    CASES,
    ids=[f"{w}x{h}-{'1d' if 'dims' in q else '2d'}" for w, h, q in CASES],
)
def test_the_half_step_words_cover_nothing_and_move_nothing(
    chromium, app_url, width, height, query
) -> None:
    """During Play the words sit in the strip above the panels, beside the legend: on none
    of the three screens do they cover a panel (points, ellipses, the curve), the legend or
    an axis's numbers, and the panels stay where they were before Play."""
    context, page = open_page(chromium, f"{app_url}/?{query}", width, height)
    try:
        before = parts(page)
        page.get_by_role("button", name="Play", exact=True).click()
        page.wait_for_selector(BADGE, state="visible")
        panel = before["panels"]["xy"]  # the pointer on the chart: Plotly shows its tools
        page.mouse.move((panel["l"] + panel["r"]) / 2, panel["b"] - 5)
        seen = set()
        for sample in range(6):  # both halves: E and M words differ in width
            found = parts(page)
            if found["badge"] is None:
                break  # the run ended
            seen.add(page.locator(BADGE).get_attribute("data-stage"))
            where = f"{width}x{height} {query}, sample {sample}"
            assert_clear_words(found, where)
            assert_same_panels(before, found, where)
            page.wait_for_timeout(120)
        assert seen, "the words never showed"
        page.get_by_role("button", name="Pause", exact=True).click()
        page.wait_for_function("!window.__emPlayer.playing")
        page.wait_for_selector(BADGE, state="hidden")
        assert_same_panels(before, parts(page), f"{width}x{height} {query}, paused")
    finally:
        context.close()


@pytest.mark.parametrize("dims", [2, 1])
def test_the_legend_keeps_its_height_whatever_k_at_1024(chromium, app_url, dims) -> None:
    """At 1024x768 the panels are where they are for K = 2 with the app's largest K too: the
    legend takes at most two rows of a strip kept for it, none of its entries is written
    over another, and it stays out of the panels."""
    context, page = open_page(chromium, f"{app_url}/?k=2&dims={dims}", 1024, 768)
    try:
        found = {}
        for k in (2, 6, MAX_K):  # one row, the first K of two rows, the most
            go_to(page, f"{app_url}/?k={k}&dims={dims}")
            found[k] = parts(page)
        for k, measured in found.items():
            where = f"K = {k}, dims = {dims}"
            # The panels' tops: another K's tick labels may widen a margin a little.
            assert_same_panels(found[2], measured, where, sides=("t",))
            assert measured["legendRows"] <= 2, where
            for panel in measured["panels"].values():
                assert not meets(measured["legend"], panel), f"{where}: legend on a panel"
            entries = measured["legendTexts"]
            for i, one in enumerate(entries):
                for other in entries[i + 1 :]:
                    assert not meets(one, other), f"{where}: {one['text']} on {other['text']}"
        # Entries of every component and each in its own colour and shape: the figure's job
        # (tests/test_chart_labels.py); here, that ten show.
        assert len([t for t in found[MAX_K]["legendTexts"] if t["text"].isdigit()]) == MAX_K
    finally:
        context.close()


# A tooltip is visible when Streamlit has put its content on the page (it removes it when
# the tooltip closes).
TOOLTIPS = """() => [...document.querySelectorAll("[data-testid='stTooltipContent']")]
  .filter((e) => { const r = e.getBoundingClientRect(); return r.width > 0 && r.height > 0; })
  .map((e) => e.textContent.slice(0, 60))"""
STEPPING = ("E-step", "M-step", "Step", "Run to convergence", "Reset")


def test_no_tooltip_stays_after_a_stepping_button_is_clicked(chromium, app_url) -> None:
    """A teacher clicks a button and leaves the pointer on it: nothing may then lie over the
    title or the other controls (Streamlit showed a button's help above it for as long as
    the pointer rested there). The "?" list of what the buttons do closes on such a click."""
    context, page = open_page(chromium, app_url, 1024, 768)
    try:
        for label in STEPPING:
            button = page.get_by_role("button", name=label, exact=True)
            button.hover()
            page.wait_for_timeout(700)  # longer than Streamlit's delay before a tooltip
            button.click()
            page.wait_for_selector(IDLE)
            page.wait_for_timeout(700)
            assert page.evaluate(TOOLTIPS) == [], f"a tooltip stays after {label}"
        page.locator(".em-keys summary").click()
        listed = page.locator(".em-keys-list")
        assert listed.is_visible()
        assert "E-step: recolour the points" in listed.inner_text()  # the button's words
        page.get_by_role("button", name="Step", exact=True).click()
        listed.wait_for(state="hidden")
    finally:
        context.close()
