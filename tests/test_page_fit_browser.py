"""What a teacher found cut off or hidden on a projector, measured in headless Chromium.

- The E-step and M-step formulas of "What do the E-step and the M-step do?" fit their box at
  1024x768, 1280x720 and 1920x1080 (at 1024 the E-step's fraction ran 11 px past it, and
  KaTeX's 2-px overhang cut the M-step's last bracket at every size).
- A file over the upload limit, which the browser refuses before sending it, shows why in
  words one can read, and the limit is said under the uploader.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from emapp.serve import IDLE, PAGE_COMPLETE

pytestmark = pytest.mark.browser

SIZES = [(1024, 768), (1280, 720), (1920, 1080)]
SIDEBAR = "[data-testid='stSidebar']"
DROPZONE = "[data-testid='stFileUploaderDropzoneInput']"
REFUSED = "File must be 20.0MB or smaller."

# Every formula in the explanation: how far it reaches past its own scroll box and past the
# expander's content box (its padding taken off), in pixels; 0 or less fits.
FORMULA_OVERFLOWS = """() => [...document.querySelectorAll(
    "[data-testid='stExpanderDetails'] .katex-display")].map(display => {
  const details = display.closest("[data-testid='stExpanderDetails']");
  const style = getComputedStyle(details);
  const box = details.getBoundingClientRect();
  const inner = [box.left + parseFloat(style.paddingLeft),
                 box.right - parseFloat(style.paddingRight)];
  const katex = display.querySelector(".katex").getBoundingClientRect();
  return {
    scroll: display.scrollWidth - display.clientWidth,
    left: inner[0] - katex.left,
    right: katex.right - inner[1],
  };
})"""


def open_at(chromium, app_url: str, width: int, height: int):
    context = chromium.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    page.set_default_timeout(60_000)
    page.goto(app_url)
    page.wait_for_selector(PAGE_COMPLETE)
    page.wait_for_selector(IDLE)
    return page


def settle(page) -> None:
    page.wait_for_timeout(300)
    page.wait_for_selector(IDLE)


def close(page) -> None:
    exceptions = page.locator("[data-testid='stException']").count()
    page.context.close()
    assert exceptions == 0, "the page showed a traceback"


def test_no_formula_overflows_its_box_at_projector_sizes(chromium, app_url) -> None:
    for width, height in SIZES:
        page = open_at(chromium, app_url, width, height)
        page.wait_for_selector("[data-testid='stExpanderDetails'] .katex-display")
        overflows = page.evaluate(FORMULA_OVERFLOWS)
        close(page)
        assert len(overflows) == 2, (width, overflows)  # the E-step's and the M-step's
        for formula in overflows:
            assert max(formula.values()) <= 0, (width, height, overflows)


def test_a_refused_upload_says_why_and_the_limit_is_always_said(
    chromium, app_url, tmp_path: Path
) -> None:
    small = tmp_path / "small.csv"
    small.write_text("a,b\n1,2\n2,1\n5,6\n6,5\n1,1\n6,6\n")
    large = tmp_path / "large.csv"
    large.write_bytes(b"a,b\n" + b"1,2\n" * 5_300_000)  # 21.2 MB, over the 20 MB limit
    page = open_at(chromium, app_url, 1024, 768)
    sidebar = page.locator(SIDEBAR)
    sidebar.get_by_text("Upload CSV", exact=True).click()
    settle(page)
    limit = sidebar.get_by_text("Up to 20 MB per file")
    assert limit.is_visible()
    page.set_input_files(DROPZONE, str(small))
    settle(page)
    sidebar.get_by_text("Read 6 rows and 2 numeric columns").wait_for()
    page.set_input_files(DROPZONE, str(large))
    reason = sidebar.get_by_text(REFUSED).first
    reason.wait_for(state="attached")
    page.wait_for_timeout(500)
    box = reason.bounding_box()
    # Streamlit 1.67 drew it as 1-px screen-reader text, readable only in a hover tooltip.
    assert box is not None and box["width"] > 100 and box["height"] > 12, box
    assert "goes on showing the last data it could read" in limit.inner_text()
    assert sidebar.get_by_text("Read 6 rows and 2 numeric columns").is_visible()
    close(page)
