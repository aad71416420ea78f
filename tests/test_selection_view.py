"""The BIC/AIC chart's data and figure: bounded fits, the best model, scikit-learn's numbers."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from sklearn.mixture import GaussianMixture as SklearnGaussianMixture

from emapp.build.blobs import BlobSettings, make_blobs
from emapp.build.selection_view import (
    KMAX_LIMIT,
    best_row,
    best_sentence,
    compare_models,
    data_digest,
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


def test_every_type_and_k_is_fitted_with_progress(result) -> None:
    outcome, calls = result
    table = outcome.table
    assert len(table) == 4 * len(COVARIANCE_TYPES)
    assert set(table["n_components"]) == {1, 2, 3, 4}
    assert [done for done, _, _ in calls] == list(range(1, 17))
    assert {total for _, total, _ in calls} == {16}


def test_three_blobs_choose_three_components(result) -> None:
    best = best_row(result[0].table, "bic")
    assert int(best["n_components"]) == 3
    assert "K = 3" in best_sentence(result[0].table, "bic")


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


def test_figure_draws_a_line_per_type_and_stars_the_best(result) -> None:
    table = result[0].table
    figure = selection_figure(table, "aic", current=("tied", 2))
    names = [trace.name for trace in figure.data]
    assert names == [*COVARIANCE_TYPES, "your model now", "best"]
    best = best_row(table, "aic")
    star = figure.data[-1]
    assert star.x == (best["n_components"],) and star.y == (best["aic"],)
    assert "AIC" in figure.layout.yaxis.title.text
    assert figure.layout.annotations[0].text.startswith("best:")
    with pytest.raises(ValueError, match="criterion"):
        selection_figure(table, "icl")


def test_digest_follows_the_data(X) -> None:
    assert data_digest(X) == data_digest(X.copy())
    assert data_digest(X) != data_digest(X[:-1])
    changed = X.copy()
    changed[0, 0] += 1e-9
    assert data_digest(X) != data_digest(changed)
