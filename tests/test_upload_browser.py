"""Table data in headless Chromium: uploads through the real file input, and the one-column
histogram stepped and played by the page's player.

Each test gets a fresh page from the ``page`` fixture (tests/conftest.py), which fails the
test if the page ever shows a traceback.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[1]
FAITHFUL = ROOT / "emcore" / "_datasets" / "faithful.csv"
TEXT_ONLY = ROOT / "tests" / "fixtures" / "upload" / "text_only.csv"
IDLE = "[data-testid='stApp'][data-test-script-state='notRunning']"
DROPZONE = "[data-testid='stFileUploaderDropzoneInput']"
CHART = ".st-key-em-chart .js-plotly-plot"
SIDEBAR = "[data-testid='stSidebar']"


def settle(page) -> None:
    """Wait until the script has rerun and finished (a rerun starts a moment after input)."""
    page.wait_for_timeout(300)
    page.wait_for_selector(IDLE)


def choose_source(page, label: str) -> None:
    page.locator(SIDEBAR).get_by_text(label, exact=True).click()
    settle(page)


def axis_title(page) -> str:
    return page.locator(f"{CHART} .g-xtitle").first.text_content()


def wait_for_axis(page, title: str) -> None:
    page.locator(f"{CHART} .g-xtitle").filter(has_text=re.compile(f"^{title}$")).wait_for()


def press(page, key: str) -> None:
    page.locator(f".st-key-{key} button:visible").click()
    settle(page)


def test_broken_upload_shows_an_error_and_keeps_the_fit(page) -> None:
    choose_source(page, "Upload CSV")
    page.set_input_files(DROPZONE, str(FAITHFUL))
    settle(page)
    wait_for_axis(page, "eruptions")
    page.set_input_files(DROPZONE, str(TEXT_ONLY))
    settle(page)
    error = page.locator("[data-testid='stAlert']").filter(has_text="No column of numbers")
    error.first.wait_for()
    # The earlier fit is still drawn, and the column widgets still show its columns.
    assert axis_title(page) == "eruptions"
    assert page.locator(f"{CHART} .scatterlayer .point").count() > 272
    chips = page.locator(f"{SIDEBAR} [data-testid='stMultiSelect'] [data-tag]")
    assert sorted(chips.all_inner_texts()) == ["eruptions", "waiting"]
    assert page.locator(SIDEBAR).get_by_text("Still showing faithful.csv").is_visible()


def test_one_column_histogram_steps_and_plays(page) -> None:
    choose_source(page, "Real data sets")
    wait_for_axis(page, "eruptions")
    page.locator(f"{SIDEBAR} button[aria-label='Remove waiting']").click()
    settle(page)
    wait_for_axis(page, "eruptions")
    page.locator(f"{CHART} .g-ytitle").filter(has_text="density").wait_for()
    press(page, "step")
    page.locator(".em-iteration").filter(has_text="Iteration 1 · E-step done").first.wait_for()
    page.wait_for_function("window.__emPlayer && window.__emPlayer.shown === 3")
    press(page, "play")
    page.locator(".em-note.success").first.wait_for()
    last = page.evaluate(f"document.querySelector('{CHART}')._transitionData._frames.length - 1")
    page.wait_for_function(f"window.__emPlayer.shown === {last} && !window.__emPlayer.playing")
    # The histogram (trace 0, a filled step line) is still drawn after the animation.
    fill = page.evaluate(
        f"""() => {{
            const gd = document.querySelector('{CHART}');
            const group = [...gd.querySelectorAll('.scatterlayer .trace')]
                .find((g) => g.__data__ && g.__data__[0].trace.index === 0);
            const path = group && group.querySelector('path.js-fill');
            return path ? path.getAttribute('d') : '';
        }}"""
    )
    assert len(fill) > 20
