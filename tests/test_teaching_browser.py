"""The teaching tabs in headless Chromium: the BIC chart on demand and the k-means view.

Each test gets a fresh page from the ``page`` fixture (tests/conftest.py), which fails the
test if the page ever shows a traceback.
"""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser

CHART = "[data-testid='stPlotlyChart']"


def open_tab(page, name: str) -> None:
    tab = page.get_by_role("tab", name=name)
    tab.scroll_into_view_if_needed()
    tab.click()


def test_compare_models_draws_the_bic_chart(page) -> None:
    open_tab(page, "Choose K")
    assert page.locator(CHART).filter(has_text="BIC (lower is better)").count() == 0
    page.get_by_role("button", name="Compare models").click()
    chart = page.locator(CHART).filter(has_text="BIC (lower is better)")
    chart.wait_for()
    assert chart.locator(".scatterlayer .trace").count() >= 15  # 14 models and the star
    for title in ("circles", "along the axes", "one orientation", "own orientations"):
        assert chart.get_by_text(title, exact=True).count() == 1
    page.get_by_text("Best by BIC").wait_for()  # drawn in the same rerun, maybe a moment later
    assert page.get_by_role("button", name="Use this model").count() <= 1


def test_kmeans_view_shows_both_methods(page) -> None:
    open_tab(page, "k-means vs EM")
    chart = page.locator(CHART).filter(has_text="k-means: hard assignments")
    chart.wait_for()
    assert chart.get_by_text("EM: soft assignments and ellipses").count() == 1
    assert chart.locator(".heatmaplayer, .hm").count() >= 1  # the k-means regions
    page.get_by_text("Points labelled differently").wait_for()
