"""The limits of float64 are refused the same way on every road in: in memory and on Dask,
for the data (values beyond 10^100) and for the weights (a total beyond 10^100)."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import make_blobs

from emcore import GaussianMixture, select_model
from emcore.validation import LARGEST_WEIGHT_TOTAL, check_sample_weight

da = pytest.importorskip("dask.array")


def _blobs(n: int = 300) -> np.ndarray:
    return make_blobs(n, centers=3, n_features=2, random_state=0)[0]


def test_dask_refuses_values_beyond_1e100_as_memory_does():
    X = np.r_[_blobs(), [[1e200, 1.0]]]
    with pytest.raises(ValueError, match=r"10\^100"):
        GaussianMixture(3, random_state=0).fit(X)
    with pytest.raises(ValueError, match=r"beyond 10\^100 in the chunk of rows 300 to 300"):
        GaussianMixture(3, random_state=0).fit(da.from_array(X, chunks=(100, 2)))


def test_dask_keeps_values_up_to_1e100():
    X = _blobs() * 1e98  # squares near 1e200, still in range
    fitted = GaussianMixture(3, random_state=0).fit(da.from_array(X, chunks=(100, 2)))
    assert np.isfinite(fitted.means_).all() and np.isfinite(fitted.lower_bound_)


@pytest.mark.parametrize("weight", [1e307, 1e99])
def test_weights_whose_total_overflows_are_refused_with_a_sentence(weight):
    X = _blobs(200)
    weights = np.full(200, weight)  # totals 2e309 (inf) and 2e101
    with pytest.raises(ValueError, match=r"sample_weight adds up to .*Divide every weight"):
        GaussianMixture(3, random_state=0).fit(X, sample_weight=weights)
    with pytest.raises(ValueError, match="sample_weight adds up to"):
        select_model(X, [1, 2], ["VVV"], sample_weight=weights)
    with pytest.raises(ValueError, match="sample_weight adds up to"):
        GaussianMixture(3, random_state=0).fit(
            da.from_array(X, chunks=(50, 2)), sample_weight=da.from_array(weights, chunks=50)
        )


def test_large_weights_below_the_limit_are_kept():
    weights = np.full(200, LARGEST_WEIGHT_TOTAL / 400)
    assert check_sample_weight(weights, 200) is not None
    X = _blobs(200)
    heavy = GaussianMixture(3, random_state=0).fit(X, sample_weight=weights)
    plain = GaussianMixture(3, random_state=0).fit(X)
    np.testing.assert_allclose(heavy.means_, plain.means_, rtol=1e-8)


@pytest.mark.parametrize("record", ["none", "params"])
@pytest.mark.parametrize("dtype", [np.int32, np.float16, "no such type"])
def test_a_wrong_dtype_is_named_whatever_the_record(record, dtype):
    from emcore import EM, initial_params

    X = _blobs(100)
    start = initial_params(X, 3, covariance_type="full", method="kmeans", random_state=0)
    with pytest.raises(ValueError, match=r"dtype must be np\.float64 or np\.float32; got"):
        EM(X, start, record=record).run(dtype=dtype)
    with pytest.raises(ValueError, match=r"dtype must be np\.float64 or np\.float32; got"):
        from emcore.dask_engine import DaskEM

        DaskEM(da.from_array(X, chunks=(50, 2)), start, record="none").run(dtype=dtype)


@pytest.mark.parametrize("far", [1e17, 1e20, 1e40])
def test_responsibilities_of_far_points_sum_to_one_for_every_model(far):
    from emcore import MCLUST_MODELS
    from emcore.lockstep import _final_estep
    from emcore.steps import weighted_log_prob

    X = _blobs(150)
    point = np.array([[far, 0.0], [0.0, -far]])
    for name in MCLUST_MODELS:
        fitted = GaussianMixture(3, covariance_type=name, random_state=0, max_iter=20).fit(X)
        proba = fitted.predict_proba(point)
        np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-12, err_msg=name)
        log_joint = weighted_log_prob(point, fitted.params_)
        lockstep = _final_estep(log_joint.T, np.zeros(2))  # the batch's layout, (K, n)
        np.testing.assert_allclose(lockstep.resp.sum(axis=1), 1.0, rtol=1e-12, err_msg=name)
