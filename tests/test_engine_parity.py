"""The Dask engine and the in-memory engine refuse the same data with the same sentence
(one check, in emcore.validation, used by both)."""

from __future__ import annotations

import re

import numpy as np
import pytest
from sklearn.datasets import load_iris

from emcore import GaussianMixture, select_model

da = pytest.importorskip("dask.array")

X = load_iris().data
TINY = X.copy()
TINY[:, 1] *= 1e-120
NEGATIVE = np.ones(len(X))
NEGATIVE[80] = -1.0


def refusal(fit) -> str:
    with pytest.raises(ValueError) as caught:
        fit()
    return str(caught.value)


CASES = {
    "one row": (X[:1], None, r"1 sample\(s\) \(shape=\(1, 4\)\) while a minimum of 2"),
    "no rows": (X[:0], None, r"X is empty: found array with 0 sample\(s\)"),
    "no columns": (X[:, :0], None, r"0 feature\(s\) \(shape=\(150, 0\)\) while a minimum of 1"),
    "one dimension": (X[:, 0], None, r"2D array .* got 1-D data"),
    "tiny column": (TINY, None, r"Column\(s\) 1 of X .* below 10\^-100"),
    "weights all zero": (X, np.zeros(len(X)), r"sample_weight is all zero"),
    "weights of another length": (X, np.ones(3), r"must have shape \(150,\), one weight per row"),
    "negative weight": (X, NEGATIVE, r"sample_weight contains negative values \(rows 80,"),
    "complex numbers": (X + 0j, None, r"Complex data not supported"),
}


def dask(values):
    chunks = (40, *values.shape[1:]) if values.ndim == 2 else (40,)
    return da.from_array(values, chunks=chunks)


@pytest.mark.parametrize("case", sorted(CASES))
def test_gaussian_mixture_refuses_alike_in_memory_and_on_dask(case):
    values, weights, said = CASES[case]
    in_memory = refusal(lambda: GaussianMixture(1).fit(values, sample_weight=weights))
    on_dask = refusal(lambda: GaussianMixture(1).fit(dask(values), sample_weight=weights))
    assert re.search(said, in_memory), in_memory
    # The same sentence; a chunk's rows are named where the data are read chunk by chunk.
    assert on_dask.split(" in the chunk of rows")[0] == in_memory.split(";")[0] or (
        on_dask == in_memory
    ), (on_dask, in_memory)


@pytest.mark.parametrize("case", ["one row", "no columns", "tiny column", "weights all zero"])
def test_select_model_refuses_alike_in_memory_and_on_dask(case):
    values, weights, _ = CASES[case]
    settings = dict(n_components=[1], covariance_types=["VVV"], sample_weight=weights)
    in_memory = refusal(lambda: select_model(values, **settings))
    on_dask = refusal(lambda: select_model(dask(values), **settings))
    assert on_dask == in_memory


def test_dask_weights_given_as_a_dask_array_are_checked_alike():
    said = refusal(
        lambda: GaussianMixture(1).fit(dask(X), sample_weight=da.from_array(np.zeros(150)))
    )
    assert said == refusal(lambda: GaussianMixture(1).fit(X, sample_weight=np.zeros(150)))


def test_dask_score_weights_are_checked_alike():
    model = GaussianMixture(1).fit(X)
    for weights in (np.zeros(150), np.ones(3)):
        in_memory = refusal(lambda w=weights: model.score(X, sample_weight=w))
        on_dask = refusal(lambda w=weights: model.score(dask(X), sample_weight=w))
        assert on_dask == in_memory


def test_two_rows_fit_on_both_engines():
    in_memory = GaussianMixture(1).fit(X[:2])
    on_dask = GaussianMixture(1).fit(dask(X)[:2])
    np.testing.assert_allclose(on_dask.means_, in_memory.means_)
