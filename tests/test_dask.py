"""EM on Dask arrays (issue 16): the same fit as in memory, lazy predictions, optional Dask."""

from __future__ import annotations

import builtins
import subprocess
import sys

import numpy as np
import pytest
from sklearn.datasets import make_blobs

from emcore import GaussianMixture

da = pytest.importorskip("dask.array")

MODELS = ["full", "tied", "diag", "spherical", "VEV", "EVE"]


def _data(n: int, offset: float = 0.0) -> np.ndarray:
    X, _ = make_blobs(n, n_features=3, centers=3, cluster_std=[1.0, 1.5, 0.7], random_state=1)
    return X + offset


def _start(X: np.ndarray, covariance_type: str) -> dict:
    """A user-given start: a short in-memory fit, moved a little, so EM has work left."""
    rough = GaussianMixture(3, covariance_type=covariance_type, max_iter=3, random_state=0)
    rough.fit(X)
    return {
        "weights_init": rough.weights_,
        "means_init": rough.means_ + 0.3,
        "precisions_init": rough.precisions_,
    }


def _relative(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.max(np.abs(a - b)) / np.max(np.abs(b)))


def _assert_same_fit(got: GaussianMixture, want: GaussianMixture, offset: float = 0.0) -> None:
    assert got.n_iter_ == want.n_iter_
    assert got.converged_ == want.converged_
    assert _relative(got.weights_, want.weights_) < 1e-8
    assert _relative(got.means_ - offset, want.means_ - offset) < 1e-8
    assert _relative(got.covariances_, want.covariances_) < 1e-8
    assert abs(got.lower_bound_ - want.lower_bound_) < 1e-8 * abs(want.lower_bound_)


@pytest.mark.parametrize("covariance_type", MODELS)
def test_same_start_same_fit_in_uneven_chunks(covariance_type):
    X = _data(240)
    start = _start(X, covariance_type)
    want = GaussianMixture(3, covariance_type=covariance_type, tol=1e-6, **start).fit(X)
    for chunks in [((50, 13, 90, 87), (3,)), ((37, 37, 37, 37, 37, 37, 18), (2, 1))]:
        Xd = da.from_array(X, chunks=chunks)  # the second split across columns: rechunked
        got = GaussianMixture(3, covariance_type=covariance_type, tol=1e-6, **start).fit(Xd)
        _assert_same_fit(got, want)


@pytest.mark.parametrize("covariance_type", MODELS)
def test_same_start_same_fit_in_one_row_chunks(covariance_type):
    X = _data(30)
    start = _start(X, covariance_type)
    settings = {"covariance_type": covariance_type, "tol": 1e-4, "max_iter": 20, **start}
    want = GaussianMixture(3, **settings).fit(X)
    got = GaussianMixture(3, **settings).fit(da.from_array(X, chunks=(1, 3)))
    _assert_same_fit(got, want)


def test_sample_weight_as_a_dask_array():
    X = _data(200)
    weights = np.random.default_rng(0).integers(0, 4, len(X)).astype(float)
    start = _start(X, "full")
    want = GaussianMixture(3, tol=1e-6, **start).fit(X, sample_weight=weights)
    Xd = da.from_array(X, chunks=(60, 3))
    got = GaussianMixture(3, tol=1e-6, **start).fit(Xd, sample_weight=da.from_array(weights, 45))
    _assert_same_fit(got, want)
    assert got.score(Xd, sample_weight=weights) == pytest.approx(
        want.score(X, sample_weight=weights), rel=1e-12
    )


def test_far_from_the_origin_equal_to_in_memory():
    offset = 1e8
    X = _data(300, offset)
    for covariance_type in ("full", "tied"):
        start = _start(X, covariance_type)
        want = GaussianMixture(3, covariance_type=covariance_type, tol=1e-6, **start).fit(X)
        Xd = da.from_array(X, chunks=(70, 3))
        got = GaussianMixture(3, covariance_type=covariance_type, tol=1e-6, **start).fit(Xd)
        _assert_same_fit(got, want, offset)


@pytest.mark.parametrize("init_params", ["kmeans", "k-means++", "hc"])
def test_starts_on_small_data_are_the_in_memory_ones(init_params):
    # Data smaller than the start's sample: every row is drawn, so the start is the same.
    X = _data(150)
    settings = {"init_params": init_params, "random_state": 3, "tol": 1e-6}
    want = GaussianMixture(3, **settings).fit(X)
    got = GaussianMixture(3, **settings).fit(da.from_array(X, chunks=(40, 3)))
    _assert_same_fit(got, want)


def test_start_from_a_chunk_wise_sample_of_larger_data():
    X = _data(9000)
    want = GaussianMixture(3, random_state=0).fit(X)
    got = GaussianMixture(3, random_state=0, n_init=2).fit(da.from_array(X, chunks=(2500, 3)))
    assert got.converged_
    assert got.lower_bound_ == pytest.approx(want.lower_bound_, rel=1e-4)


def test_predictions_are_lazy_and_equal_to_in_memory():
    X = _data(200)
    Xd = da.from_array(X, chunks=(64, 3))
    start = _start(X, "diag")
    model = GaussianMixture(3, covariance_type="diag", **start).fit(Xd)
    labels = model.fit_predict(Xd)
    for method in ("predict", "predict_proba", "score_samples"):
        lazy = getattr(model, method)(Xd)
        assert isinstance(lazy, da.Array)
        np.testing.assert_allclose(lazy.compute(), getattr(model, method)(X), rtol=1e-12)
    assert isinstance(labels, da.Array)
    np.testing.assert_array_equal(labels.compute(), model.predict(X))

    def never(block):
        raise AssertionError("computed")

    untouchable = Xd.map_blocks(never, dtype=float)
    for method in ("predict", "predict_proba", "score_samples"):
        getattr(model, method)(untouchable)  # builds a graph, computes nothing
    for method in ("score", "bic", "aic"):
        value = getattr(model, method)(Xd)
        assert isinstance(value, float)
        assert value == pytest.approx(getattr(model, method)(X), rel=1e-12)


def test_nan_names_the_chunk():
    X = _data(100)
    X[57, 1] = np.nan
    with pytest.raises(ValueError, match="chunk of rows 50 to 74"):
        GaussianMixture(2).fit(da.from_array(X, chunks=(25, 3)))
    with pytest.raises(ValueError, match="missing='em' is not available on Dask"):
        GaussianMixture(2, missing="em").fit(da.from_array(X, chunks=(25, 3)))


def test_bad_weights_name_the_chunk():
    X = _data(100)
    weights = np.ones(len(X))
    weights[80] = -1.0
    with pytest.raises(ValueError, match=r"sample_weight .* chunk of rows 75 to 99"):
        GaussianMixture(2).fit(da.from_array(X, chunks=(25, 3)), sample_weight=weights)


def test_without_dask_a_look_alike_gets_an_install_hint(monkeypatch):
    real_import = builtins.__import__

    def no_dask(name, *args, **kwargs):
        if name == "dask" or name.startswith("dask."):
            raise ImportError(f"No module named {name!r}")
        return real_import(name, *args, **kwargs)

    class LooksLikeDask:
        chunks = ((2, 2), (2,))
        shape = (4, 2)

        def compute(self):
            return np.zeros((4, 2))

    monkeypatch.setattr(builtins, "__import__", no_dask)
    with pytest.raises(ImportError, match=r"pip install emcore\[dask\]"):
        GaussianMixture(2).fit(LooksLikeDask())
    GaussianMixture(2, random_state=0).fit(_data(50))  # NumPy arrays never need Dask


def test_emcore_imports_and_fits_without_dask():
    code = (
        "import sys; sys.modules['dask'] = None; sys.modules['dask.array'] = None\n"
        "import numpy as np, emcore\n"
        "X = np.random.default_rng(0).normal(size=(60, 2))\n"
        "print(emcore.GaussianMixture(2, random_state=0).fit(X).converged_)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "True"


def test_local_cluster_smoke():
    distributed = pytest.importorskip("distributed")
    X = _data(400)
    start = _start(X, "full")
    want = GaussianMixture(3, tol=1e-6, **start).fit(X)
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster),
    ):
        Xd = da.from_array(X, chunks=(100, 3)).persist()
        got = GaussianMixture(3, tol=1e-6, **start).fit(Xd)
        labels = got.predict(Xd).compute()
    _assert_same_fit(got, want)
    np.testing.assert_array_equal(labels, want.predict(X))
