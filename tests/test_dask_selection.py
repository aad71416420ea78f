"""select_model on a dask array: the same table as in memory, its passes run on Dask."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import load_iris

from emcore import select_model

da = pytest.importorskip("dask.array")

IRIS = load_iris().data
MODELS = ["VII", "EEE", "VEV", "VVV"]


def test_a_dask_table_is_the_in_memory_table() -> None:
    """With the hc start alone (on 150 rows the sample is every row) both tables hold the
    same fits: criteria equal to 1e-6 relative, the same choice."""
    chunked = da.from_array(IRIS, chunks=(40, 4))
    on_dask = select_model(chunked, n_components=range(1, 4), covariance_types=MODELS, n_init=1)
    in_memory = select_model(IRIS, n_components=range(1, 4), covariance_types=MODELS, n_init=1)
    ours = on_dask.table.set_index(["mclust_name", "n_components"]).sort_index()
    theirs = in_memory.table.set_index(["mclust_name", "n_components"]).sort_index()
    np.testing.assert_allclose(ours["bic"], theirs["bic"], rtol=1e-6)
    np.testing.assert_allclose(ours["aic"], theirs["aic"], rtol=1e-6)
    assert list(ours["n_parameters"]) == list(theirs["n_parameters"])
    assert (on_dask.best.covariance_type, on_dask.best.n_components) == (
        in_memory.best.covariance_type,
        in_memory.best.n_components,
    )
    assert on_dask.best_model.bic(chunked) == pytest.approx(on_dask.best.value, rel=1e-9)
    assert "Top 3" in on_dask.summary()


def test_a_dask_table_refuses_what_needs_the_rows_responsibilities() -> None:
    chunked = da.from_array(IRIS, chunks=(50, 4))
    with pytest.raises(ValueError, match="ICL needs every row"):
        select_model(chunked, n_components=2, covariance_types="VVV", criterion="icl")
    with pytest.raises(ValueError, match="in memory only"):
        select_model(chunked, n_components=2, covariance_types="VVV", missing="em")


def test_weights_on_dask_count_like_repeated_rows() -> None:
    rng = np.random.default_rng(0)
    weights = rng.integers(1, 3, len(IRIS)).astype(float)
    chunked, chunked_weights = da.from_array(IRIS, chunks=(50, 4)), da.from_array(weights, 50)
    table = select_model(
        chunked, n_components=2, covariance_types="VVV", n_init=1, sample_weight=chunked_weights
    ).table
    plain = select_model(
        IRIS, n_components=2, covariance_types="VVV", n_init=1, sample_weight=weights
    )
    assert table["bic"].iloc[0] == pytest.approx(plain.table["bic"].iloc[0], rel=1e-6)


@pytest.mark.parametrize(
    ("bad", "said"), [(1e200, r"beyond 10\^100 in the chunk of rows 40 to 79"), (np.nan, "NaN")]
)
def test_bad_data_on_dask_are_refused_before_any_cell(bad, said) -> None:
    """As in memory: a sentence about the data, not a table of failed cells."""
    X = IRIS.copy()
    X[45, 2] = bad
    with pytest.raises(ValueError, match=said):
        select_model(da.from_array(X, chunks=(40, 4)), n_components=[1, 2], covariance_types="VVV")


def test_a_failed_dask_cell_says_why() -> None:
    """Twenty copies of one point make VVV with reg_covar=0 collapse from every start: the
    row's note is the fit's own sentence (it was "no start could be fitted")."""
    X = np.r_[IRIS, np.tile([[20.0, 20.0, 20.0, 20.0]], (20, 1))]
    table = select_model(
        da.from_array(X, chunks=(50, 4)),
        n_components=[2],
        covariance_types="VVV",
        reg_covar=0.0,
        n_init=1,
    ).table
    assert list(table["status"]) == ["failed"]
    # The start itself is singular there (refused before any step) or the fit collapses.
    assert "repeated or too few points" in table["note"].iloc[0]
