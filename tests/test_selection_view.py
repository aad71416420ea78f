"""The BIC/AIC chart's data and figure: bounded fits, the best model, scikit-learn's numbers."""

from __future__ import annotations

import math
from itertools import pairwise

import numpy as np
import pandas as pd
import pytest
from sklearn.mixture import GaussianMixture as SklearnGaussianMixture

from emapp.build.blobs import BlobSettings, make_blobs
from emapp.build.covariance_models import MODEL_CHOICES, mclust_name
from emapp.build.selection_view import (
    FITS_DECIMALS,
    KMAX_LIMIT,
    PANELS,
    PATTERN_STYLES,
    best_row,
    best_sentence,
    compare_models,
    data_digest,
    fits_table,
    focused_range,
    model_style,
    panel_of,
    selection_figure,
)
from emcore import COVARIANCE_TYPES


@pytest.fixture(scope="module")
def X() -> np.ndarray:
    return make_blobs(BlobSettings(n_points=300, n_clusters=3, spread=0.7, seed=1))


@pytest.fixture(scope="module")
def result(X):
    calls: list[tuple[int, int, str]] = []
    outcome = compare_models(X, kmax=4, n_init=2, progress=lambda *a: calls.append(a))
    return outcome, calls


def test_every_model_and_k_is_fitted_with_progress(result) -> None:
    outcome, calls = result
    table = outcome.table
    assert len(table) == 4 * 14
    assert list(dict.fromkeys(table["covariance_type"])) == list(MODEL_CHOICES)
    assert set(table["n_components"]) == {1, 2, 3, 4}
    assert [done for done, _, _ in calls] == list(range(1, 57))
    assert {total for _, total, _ in calls} == {56}
    assert (table["status"] == "ok").all()


def test_three_blobs_choose_three_components(result) -> None:
    """The blobs share size and shape, each its own angle: BIC finds EEV with K = 3."""
    best = best_row(result[0].table, "bic")
    assert int(best["n_components"]) == 3 and best["covariance_type"] == "EEV"
    sentence = best_sentence(result[0].table, "bic")
    assert "**EEV** (same size and shape, own orientation) with **K = 3**" in sentence


def test_criteria_are_the_formulas(result, X) -> None:
    table = result[0].table
    n = len(X)
    ll, p = table["log_likelihood"], table["n_parameters"]
    np.testing.assert_allclose(table["bic"], -2 * ll + p * math.log(n), rtol=1e-12)
    np.testing.assert_allclose(table["aic"], -2 * ll + 2 * p, rtol=1e-12)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_bic_and_aic_match_scikit_learn_fitting_the_same_model(result, X, covariance_type):
    """scikit-learn fits the same (type, K=3) on its own; on clear blobs both find the same
    optimum, so the criteria agree to well under one unit."""
    table = result[0].table
    row = table[(table["covariance_type"] == covariance_type) & (table["n_components"] == 3)]
    theirs = SklearnGaussianMixture(
        3, covariance_type=covariance_type, n_init=2, tol=1e-6, random_state=0
    ).fit(X)
    assert float(row["bic"].iloc[0]) == pytest.approx(theirs.bic(X), abs=0.5)
    assert float(row["aic"].iloc[0]) == pytest.approx(theirs.aic(X), abs=0.5)


def test_the_page_fits_each_cell_once_from_mclusts_hierarchical_start(X) -> None:
    """14 models, one start each (the tree is built once for the table): the page's cost
    stays near what 4 types with 3 k-means starts each cost."""
    outcome = compare_models(X, kmax=2)
    assert outcome.n_init == 1 and len(outcome.table) == 28
    assert set(outcome.table["start"]) == {"hc"}


def test_kmax_is_bounded(X) -> None:
    with pytest.raises(ValueError, match="at most 8"):
        compare_models(X, kmax=KMAX_LIMIT + 1)


def test_best_row_skips_degenerate_fits_unless_all_are() -> None:
    table = pd.DataFrame(
        {
            "covariance_type": ["full", "full", "full"],
            "n_components": [1, 2, 3],
            "bic": [10.0, 8.0, 1.0],
            "aic": [9.0, 7.0, 0.5],
            "status": ["ok", "ok", "degenerate"],
        }
    )
    assert int(best_row(table, "bic")["n_components"]) == 2
    all_degenerate = table.assign(status="degenerate")
    assert int(best_row(all_degenerate, "aic")["n_components"]) == 3
    assert best_row(table.assign(bic=np.nan), "bic") is None


def test_the_figure_draws_14_lines_in_four_panels_on_one_axis(result) -> None:
    table = result[0].table
    figure = selection_figure(table, "aic", current=("VEV", 2))
    lines = [trace for trace in figure.data if trace.meta in MODEL_CHOICES]
    assert [trace.meta for trace in lines] == list(MODEL_CHOICES)
    assert [trace.name for trace in lines] == [
        name if name == mclust_name(name) else f"{mclust_name(name)} ({name})"
        for name in MODEL_CHOICES
    ]
    for trace in lines:
        panel = panel_of(trace.meta)
        assert trace.xaxis == ("x" if panel == 0 else f"x{panel + 1}") and trace.yaxis == "y"
        assert trace.line.color == model_style(trace.meta)["color"]
        assert not trace.showlegend
    # Each panel holds one kind of orientation; the colour is the size-and-shape pattern,
    # the same in every panel.
    assert [[mclust_name(n) for n in models] for _, models in PANELS] == [
        ["EII", "VII"],
        ["EEI", "VEI", "EVI", "VVI"],
        ["EEE", "VEE", "EVE", "VVE"],
        ["EEV", "VEV", "EVV", "VVV"],
    ]
    for _, models in PANELS[1:]:
        assert [model_style(n)["color"] for n in models] == [
            style["color"] for style in PATTERN_STYLES.values()
        ]
    # The key: the four colours, the ring and the star.
    keyed = [trace.name for trace in figure.data if trace.showlegend is not False]
    assert keyed == [
        *(style["words"] for style in PATTERN_STYLES.values()),
        "your model now",
        "best",
    ]
    # Four x axes side by side, one y axis.
    domains = [figure.layout[f"xaxis{i if i > 1 else ''}"].domain for i in range(1, 5)]
    assert all(a[1] < b[0] for a, b in pairwise(domains))
    assert "AIC" in figure.layout.yaxis.title.text
    ring = next(trace for trace in figure.data if trace.name == "your model now")
    assert ring.xaxis == "x4" and ring.x == (2,)
    best = best_row(table, "aic")
    star = figure.data[-1]
    assert star.name == "best" and star.x == (best["n_components"],)
    assert star.y == (best["aic"],) and star.xaxis == f"x{panel_of(best['covariance_type']) + 1}"
    titles = [a.text for a in figure.layout.annotations]
    assert len(titles) == 4
    starred = [t for t in titles if "★" in t]
    assert len(starred) == 1 and f"★{mclust_name(best['covariance_type'])}" in starred[0]
    with pytest.raises(ValueError, match="criterion"):
        selection_figure(table, "icl")


def test_degenerate_fits_are_drawn_hollow() -> None:
    rows = [
        {"covariance_type": name, "n_components": k, "bic": 100.0 - k, "aic": 90.0 - k}
        for name in MODEL_CHOICES
        for k in (1, 2)
    ]
    table = pd.DataFrame(rows).assign(status="ok")
    table.loc[(table["covariance_type"] == "VEV") & (table["n_components"] == 2), "status"] = (
        "degenerate"
    )
    figure = selection_figure(table, "bic")
    vev = next(trace for trace in figure.data if trace.meta == "VEV")
    symbol = model_style("VEV")["symbol"]
    assert list(vev.marker.symbol) == [symbol, f"{symbol}-open"]
    assert "degenerate: not chosen" in vev.customdata[1]


def test_digest_follows_the_data(X) -> None:
    assert data_digest(X) == data_digest(X.copy())
    assert data_digest(X) != data_digest(X[:-1])
    changed = X.copy()
    changed[0, 0] += 1e-9
    assert data_digest(X) != data_digest(changed)


def test_the_y_axis_leaves_far_worse_values_off_the_top() -> None:
    # Iris-like (one row per model, one column per K): K = 1 far above the rest would
    # squeeze the differences near the best; every model's best value stays on the chart.
    values = np.array(
        [
            [1804.0, 1123.0, 879.0, 894.0, 783.0, 716.0],
            [1522.0, 1043.0, 814.0, 828.0, 742.0, 694.0],
            [830.0, 574.0, 581.0, 631.0, 677.0, np.nan],
            [830.0, 645.0, 645.0, 700.0, 670.0, 664.0],
        ]
    )
    (low, high), clipped = focused_range(values)
    assert clipped and low < 574.0 and 716.0 < high < 830.0
    # Values of one spread are all shown, with a margin.
    (low, high), clipped = focused_range(np.linspace(1900.0, 3400.0, 20).reshape(4, 5))
    assert not clipped and low < 1900.0 and high > 3400.0
    # A model far worse than the others, even at its best, is kept on the chart.
    (low, high), clipped = focused_range(np.vstack([values, values[0] + 1000.0]))
    assert high > 1716.0
    assert focused_range(np.array([np.nan])) == (None, False)
    assert focused_range(np.array([5.0, 5.0]))[0][0] < 5.0 < focused_range(np.array([5.0]))[0][1]
    rows = [
        {"covariance_type": name, "n_components": k, "bic": 2000.0 if k == 1 else 100.0 - k}
        for name in MODEL_CHOICES
        for k in range(1, 6)
    ]
    figure = selection_figure(pd.DataFrame(rows).assign(status="ok", aic=0.0), "bic")
    assert figure.layout.yaxis.title.text == "BIC (lower is better), worse ones off the top"
    assert figure.layout.yaxis.range[1] < 2000.0


def test_the_all_fits_table_puts_what_decides_first_with_one_decimal(result) -> None:
    """Status before the words (a narrow screen cut the status), and -4175.0, not -4175
    beside -4208.8."""
    outcome, _ = result
    shown = fits_table(outcome.table)
    assert list(shown.columns)[:5] == ["model", "K", "status", "BIC", "AIC"]
    assert list(shown.columns)[-1] == "covariances"
    for name in FITS_DECIMALS:
        values = shown[name].dropna().to_numpy()
        np.testing.assert_allclose(values, np.round(values, 1))
    assert shown["model"].iloc[0] in {"EII", "VII", "EEI"} and len(shown) == len(outcome.table)
