"""Property tests: over many data sets and starts, EM never crashes, never NaNs, never goes down."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from emcore import COVARIANCE_TYPES, EM, INIT_METHODS, GaussianMixture, initial_params


@st.composite
def data_and_start(draw):
    n_features = draw(st.integers(1, 4))
    n_samples = draw(st.integers(2, 60))
    n_components = draw(st.integers(1, min(5, n_samples)))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    shape = draw(st.sampled_from(["blobs", "duplicates", "line", "wide"]))
    scale = 10.0 ** draw(st.integers(-3, 3))
    X = rng.normal(size=(n_samples, n_features))
    if shape == "blobs":
        X += rng.integers(0, 3, n_samples)[:, None] * 6
    elif shape == "duplicates":
        X = X[rng.integers(0, max(1, n_samples // 4), n_samples)]
    elif shape == "line":
        X = np.outer(X[:, 0], rng.normal(size=n_features))
    else:
        X = X * rng.uniform(0.01, 100, n_features)
    return (
        X * scale,
        n_components,
        draw(st.sampled_from(COVARIANCE_TYPES)),
        draw(st.sampled_from(list(INIT_METHODS))),
        seed,
    )


def assert_monotone(log_likelihoods):
    lls = np.asarray(log_likelihoods)
    assert np.isfinite(lls).all()
    drops = np.diff(lls)
    assert (drops >= -1e-6 * np.maximum(np.abs(lls[1:]), 1.0)).all(), drops.min()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data_and_start())
def test_em_never_crashes_never_nans_never_decreases(case):
    X, k, covariance_type, method, seed = case
    start = initial_params(X, k, covariance_type, method, random_state=seed)
    run = EM(X, start, tol=1e-9, max_iter=60).run()
    assert_monotone(run.log_likelihoods)
    params = run.params
    for array in (params.weights, params.means, params.covariances, params.precisions_cholesky):
        assert np.isfinite(array).all()
    assert params.weights.sum() == pytest.approx(1.0)
    assert np.isfinite(run.resp).all()


DEGENERATE = {
    "identical points": np.ones((30, 2)) * 3.0,
    "collinear points": np.outer(np.linspace(0, 1, 40), [1.0, -2.0]),
    "scale 1e8": np.random.default_rng(0).normal(size=(50, 2)) * 1e8,
    "offset 1e8": np.random.default_rng(1).normal(size=(50, 2)) + 1e8,
    "scale 1e-8": np.random.default_rng(2).normal(size=(50, 2)) * 1e-8,
    "one column": np.random.default_rng(3).normal(size=(50, 1)),
    "two points": np.array([[0.0, 0.0], [1.0, 1.0]]),
}


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("name", DEGENERATE)
def test_degenerate_data_fits_without_nan(name, covariance_type):
    X = DEGENERATE[name]
    k = min(3, len(X))
    for method in INIT_METHODS:
        for regularization in ("add", "floor"):
            model = GaussianMixture(
                k,
                covariance_type=covariance_type,
                init_params=method,
                random_state=0,
                max_iter=50,
                regularization=regularization,
            )
            model.fit(X)  # a ConvergenceWarning is fine; an exception or NaN is not
            assert np.isfinite(model.score(X))
            assert np.isfinite(model.means_).all() and np.isfinite(model.covariances_).all()
        # Only the floor keeps EM exactly monotone (adding reg_covar, as scikit-learn does,
        # can lower the likelihood when the data's variance is near reg_covar).
        assert_monotone(model.lower_bounds_)


@pytest.mark.parametrize("method", list(INIT_METHODS))
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("scale", [1e-4, 1e4])
def test_a_fit_is_the_same_at_any_scale(method, covariance_type, scale) -> None:
    # The default "floor" regularisation is measured in the data's units, from the start on:
    # the same data in other units gives the same fit, step for step (the log-likelihood
    # shifts by n d log(scale)). A start floored at the raw reg_covar used to make small-scale
    # starts far too wide (a tied random start then stopped after 2 iterations, 73 lower).
    X = np.random.default_rng(0).normal(size=(300, 2))
    X[100:200] += 6.0
    X[200:] -= [4.0, 5.0]
    fits = []
    for data in (X, X * scale):
        start = initial_params(data, 3, covariance_type, method, random_state=0)
        fits.append(EM(data, start, tol=1e-8, max_iter=300).run())
    one, scaled = fits
    shift = X.size * np.log(scale)
    assert scaled.iteration == one.iteration
    np.testing.assert_allclose(
        np.asarray(scaled.log_likelihoods) + shift, one.log_likelihoods, rtol=1e-7, atol=1e-6
    )
    np.testing.assert_allclose(scaled.params.means / scale, one.params.means, atol=1e-6)


# -- fault 3: starts built from distances do not depend on the columns' units -----------------

DISTANCE_STARTS = ["kmeans", "k-means++", "random_from_data"]


@pytest.mark.parametrize("method", DISTANCE_STARTS)
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("units", [(1.0, 1 / 50), (100.0, 1.0), (1e-3, 1e4)])
def test_a_start_is_the_same_in_any_units_per_column(method, covariance_type, units) -> None:
    # The same data with each column in other units (metres or millimetres): the start is the
    # same points and clusters, in the new units.
    X = np.random.default_rng(1).normal(size=(200, 2)) * [1.0, 50.0]
    X[:100, 0] += 3.0
    # Without regularisation: any reg_covar is one number for all columns, in no column's units.
    exact = {"reg_covar": 0.0, "regularization": "add", "random_state": 0}
    one = initial_params(X, 3, covariance_type, method, **exact)
    other = initial_params(X * units, 3, covariance_type, method, **exact)
    np.testing.assert_allclose(other.means / units, one.means, rtol=1e-9, atol=1e-9)
    if covariance_type != "spherical":  # one variance for all columns cannot follow the units
        full = one.full_covariances
        expected = full * np.outer(units, units)
        np.testing.assert_allclose(other.full_covariances, expected, rtol=1e-9)
