"""Tied covariances with clusters hundreds of their widths apart, on Dask.

The fused moments lose their digits there (:mod:`emcore.fast`, "Accuracy"); the in-memory
fast path then runs the reference steps, and so must :class:`emcore.dask_engine.DaskEM`: the
reference E-step on every chunk and the reference M-step from chunk-wise sums (it raised a
ValueError asking to compute the array instead). Its runs must be the in-memory ones.
"""

from __future__ import annotations

import numpy as np
import pytest

from emcore import EM, GaussianMixture, MixtureParams, select_model

da = pytest.importorskip("dask.array")
dask = pytest.importorskip("dask")
dask_engine = pytest.importorskip("emcore.dask_engine")

RTOL = 1e-8
ROWS = (97, 97, 97, 97, 62)  # uneven chunks of the 450 rows


def _data() -> np.ndarray:
    """Two overlapping clusters of width 0.01 and a third 40 (4,000 widths) away."""
    rng = np.random.default_rng(6)
    return np.vstack(
        [
            rng.normal([0.0, 0.0], 0.01, (160, 2)),
            rng.normal([0.015, 0.01], 0.01, (160, 2)),
            rng.normal([30.0, -30.0], 0.01, (130, 2)),
        ]
    )


def _start(data: np.ndarray, covariance: np.ndarray) -> MixtureParams:
    means = np.array([[-0.01, 0.0], [0.02, 0.015], [29.99, -29.99]])
    return MixtureParams.from_covariances(np.full(3, 1 / 3), means, covariance, "tied")


TIGHT = np.eye(2) * 1e-4  # the clusters' own width: the fused moments cannot be used at all
BROAD = np.eye(2) * 200.0  # fused first pass; the M-step's new covariance is already too tight


def _weights() -> np.ndarray:
    return np.random.default_rng(1).integers(0, 4, 450).astype(float)


def _runs(data, start, weights, max_iter=12):
    settings = {
        "reg_covar": 1e-8,
        "tol": 1e-12,
        "max_iter": max_iter,
        "regularization": "add",
        "sample_weight": weights,
    }
    reference = EM(data, start, record="params", **settings).run()  # the reference steps
    fast = EM(data, start, record="none", **settings).run()  # the in-memory fast path
    chunks = da.from_array(data, chunks=(ROWS, 2))
    dask_weights = None if weights is None else da.from_array(weights, chunks=(ROWS,))
    with dask.config.set(scheduler="synchronous"):
        ours = dask_engine.DaskEM(
            chunks, start, record="none", **{**settings, "sample_weight": dask_weights}
        ).run()
    return ours, fast, reference


def _relative(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.max(np.abs(a - b)) / np.max(np.abs(b)))


def _assert_same_run(ours, theirs) -> None:
    assert ours.iteration == theirs.iteration
    assert ours.converged == theirs.converged
    np.testing.assert_allclose(ours.log_likelihoods, theirs.log_likelihoods, rtol=RTOL)
    for name in ("weights", "means", "covariances", "precisions_cholesky"):
        assert _relative(getattr(ours.params, name), getattr(theirs.params, name)) < RTOL, name


@pytest.mark.parametrize("covariance", [TIGHT, BROAD], ids=["tight", "broad"])
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
def test_dask_runs_the_reference_steps_where_the_fused_moments_lose_their_digits(
    covariance, weighted
):
    data = _data()
    start = _start(data, covariance)
    weights = _weights() if weighted else None
    ours, fast, reference = _runs(data, start, weights)
    assert ours.iteration >= 3
    _assert_same_run(ours, reference)
    _assert_same_run(ours, fast)
    # The case is the one the fused moments cannot handle (the final parameters, and for the
    # tight start the first ones too).
    space = ours._space
    assert space.tight(ours.params, np.float64).any()
    assert space.tight(start, np.float64).any() == (covariance is TIGHT)


def test_dask_float32_falls_back_alike():
    data = _data()
    start = _start(data, TIGHT)
    chunks = da.from_array(data, chunks=(ROWS, 2))
    settings = {"reg_covar": 1e-8, "tol": 1e-12, "max_iter": 6, "regularization": "add"}
    reference = EM(data, start, record="params", **settings).run()
    with dask.config.set(scheduler="synchronous"):
        ours = dask_engine.DaskEM(chunks, start, record="none", **settings)
        ours.run(dtype=np.float32)
    _assert_same_run(ours, reference)


def test_gaussian_mixture_fits_far_tied_clusters_on_dask():
    data = _data()
    weights = _weights()
    start = _start(data, TIGHT)
    settings = {
        "covariance_type": "tied",
        "tol": 1e-6,
        "reg_covar": 1e-8,
        "regularization": "add",
        "weights_init": start.weights,
        "means_init": start.means,
        "precisions_init": start.precisions,
    }
    want = GaussianMixture(3, **settings).fit(data, sample_weight=weights)
    with dask.config.set(scheduler="synchronous"):
        got = GaussianMixture(3, **settings).fit(
            da.from_array(data, chunks=(ROWS, 2)),
            sample_weight=da.from_array(weights, chunks=(ROWS,)),
        )
    assert got.n_iter_ == want.n_iter_
    assert _relative(got.means_, want.means_) < RTOL
    assert _relative(got.covariances_, want.covariances_) < RTOL
    assert got.lower_bound_ == pytest.approx(want.lower_bound_, rel=RTOL)


def test_select_model_on_dask_fits_the_far_tied_cells():
    # Every EEE cell needs the fallback (K = 1 too: the data's covariance is nearly singular
    # along the line through the clusters); each used to be reported "failed".
    data = _data()
    settings = {"n_components": range(1, 4), "covariance_types": ["EEE"], "n_init": 1}
    in_memory = select_model(data, **settings).table
    with dask.config.set(scheduler="synchronous"):
        on_dask = select_model(da.from_array(data, chunks=(ROWS, 2)), **settings).table
    assert list(on_dask["status"]) == list(in_memory["status"]) == ["ok"] * 3
    for column in ("log_likelihood", "bic", "aic"):
        np.testing.assert_allclose(on_dask[column], in_memory[column], rtol=1e-8)
