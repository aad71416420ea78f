"""The scikit-learn compatible façade: compatibility, equality with sklearn, reference fits."""

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_iris, make_blobs
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import GaussianMixture as SklearnMixture
from sklearn.utils.estimator_checks import parametrize_with_checks

from emcore import COVARIANCE_TYPES, GaussianMixture, covariance_model

FAITHFUL = Path(__file__).resolve().parents[1] / "emcore" / "_datasets" / "faithful.csv"
if not FAITHFUL.exists():
    FAITHFUL = Path(__file__).resolve().parents[2] / "shared" / "data" / "faithful.csv"


@parametrize_with_checks([GaussianMixture(n_components=2, random_state=0)])
def test_scikit_learn_estimator_checks(estimator, check):
    check(estimator)


def shared_start(X, k, covariance_type, seed=0):
    rng = np.random.default_rng(seed)
    d = X.shape[1]
    model = covariance_model(covariance_type)
    covariances = model.from_full(np.broadcast_to(np.cov(X.T) / k, (k, d, d)), np.ones(k))
    return {
        "weights_init": np.full(k, 1 / k),
        "means_init": X[rng.choice(len(X), k, replace=False)],
        "precisions_init": model.inverse(covariances),
    }


def relative_error(ours, theirs):
    ours, theirs = np.asarray(ours), np.asarray(theirs)
    return np.max(np.abs(ours - theirs)) / np.max(np.abs(theirs))


BLOBS, _ = make_blobs(600, centers=3, n_features=3, cluster_std=[1.0, 2.0, 0.5], random_state=1)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_same_start_same_fit_as_scikit_learn(covariance_type):
    settings = dict(
        n_components=3,
        covariance_type=covariance_type,
        tol=0.0,
        max_iter=40,
        **shared_start(BLOBS, 3, covariance_type),
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        theirs = SklearnMixture(**settings).fit(BLOBS)
        ours = GaussianMixture(**settings).fit(BLOBS)
    assert ours.n_iter_ == theirs.n_iter_ == 40
    for name in ("weights_", "means_", "covariances_", "precisions_cholesky_"):
        assert relative_error(getattr(ours, name), getattr(theirs, name)) < 1e-6, name
    assert ours.score(BLOBS) == pytest.approx(theirs.score(BLOBS), rel=1e-6)
    np.testing.assert_allclose(ours.predict_proba(BLOBS), theirs.predict_proba(BLOBS), atol=1e-6)
    assert ours.bic(BLOBS) == pytest.approx(theirs.bic(BLOBS), rel=1e-6)
    assert ours.aic(BLOBS) == pytest.approx(theirs.aic(BLOBS), rel=1e-6)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_converged_fits_agree_with_scikit_learn(covariance_type):
    # Both stop on a tiny tol; scikit-learn takes one more M-step after the change falls
    # below tol, emcore stops at the parameters whose change it measured.
    settings = dict(
        n_components=3,
        covariance_type=covariance_type,
        tol=1e-12,
        max_iter=2000,
        **shared_start(BLOBS, 3, covariance_type, seed=5),
    )
    theirs = SklearnMixture(**settings).fit(BLOBS)
    ours = GaussianMixture(**settings).fit(BLOBS)
    assert ours.converged_ and theirs.converged_
    assert ours.score(BLOBS) == pytest.approx(theirs.score(BLOBS), rel=1e-9)
    assert relative_error(ours.means_, theirs.means_) < 1e-6
    assert relative_error(ours.covariances_, theirs.covariances_) < 1e-5


IRIS = load_iris().data
OLD_FAITHFUL = pd.read_csv(FAITHFUL)[["eruptions", "waiting"]].to_numpy(float)

# (data, covariance type, K, mclust 6.0 total log-likelihood, mclust df) from shared/NOTES.md
MCLUST_FITS = [
    ("iris", "full", 3, -180.1858, 44),
    ("iris", "full", 2, -214.3547, 29),
    ("iris", "tied", 3, -256.3547, 24),
    ("iris", "diag", 3, -307.1808, 26),
    ("iris", "spherical", 3, -384.3168, 17),
    ("faithful", "tied", 3, -1126.326, 11),
    ("faithful", "full", 3, -1127.1988, 17),
    ("faithful", "full", 2, -1130.2641, 11),
]


@pytest.mark.parametrize(("data", "covariance_type", "k", "mclust_loglik", "df"), MCLUST_FITS)
def test_multi_start_reaches_mclust(data, covariance_type, k, mclust_loglik, df):
    X = IRIS if data == "iris" else OLD_FAITHFUL
    model = GaussianMixture(
        k, covariance_type=covariance_type, n_init=20, tol=1e-8, max_iter=3000, random_state=0
    ).fit(X)
    total = model.score(X) * len(X)
    # mclust prints four decimals: allow the last one.
    assert total >= mclust_loglik - 1e-4
    assert model.params_.n_parameters() == df
    assert model.bic(X) == pytest.approx(-2 * total + df * np.log(len(X)))


def test_sample_draws_from_the_fitted_mixture():
    model = GaussianMixture(3, random_state=0).fit(BLOBS)
    samples, labels = model.sample(3000)
    assert samples.shape == (3000, 3)
    np.testing.assert_allclose(np.bincount(labels) / 3000, model.weights_, atol=0.05)
    with pytest.raises(ValueError, match="at least one sample"):
        model.sample(0)


def test_fit_predict_equals_fit_then_predict():
    model = GaussianMixture(3, random_state=3)
    labels = model.fit_predict(BLOBS)
    np.testing.assert_array_equal(labels, model.predict(BLOBS))


@pytest.mark.parametrize("method", ["kmeans", "k-means++", "random", "random_from_data"])
def test_every_initialisation_fits(method):
    model = GaussianMixture(3, init_params=method, n_init=3, random_state=0).fit(BLOBS)
    assert np.isfinite(model.score(BLOBS))


@pytest.mark.parametrize(
    ("X", "settings", "message"),
    [
        ([[1.0, np.nan], [2.0, 3.0]], {}, "NaN"),
        ([[1.0, np.inf], [2.0, 3.0]], {}, "infinity"),
        (np.ones((3, 2)), {"n_components": 5}, "n_samples >= n_components"),
        (np.ones(5), {}, "2D array"),
        ([["a", "b"], ["c", "d"]], {}, "[Ss]tring|convert"),
        (np.ones((5, 2)), {"covariance_type": "weird"}, "covariance type"),
        (np.ones((5, 2)), {"init_params": "magic"}, "init_params"),
        (np.ones((5, 2)), {"n_components": 0}, "n_components"),
        (np.ones((5, 2)), {"max_iter": 0}, "max_iter"),
        (np.ones((5, 2)), {"tol": -1.0}, "tol"),
    ],
)
def test_bad_input_is_a_value_error_with_a_reason(X, settings, message):
    with pytest.raises(ValueError, match=message):
        GaussianMixture(**settings).fit(X)


def test_wrong_width_at_predict_time():
    model = GaussianMixture(2, random_state=0).fit(BLOBS)
    with pytest.raises(ValueError, match="features"):
        model.predict(np.ones((4, 2)))


def test_to_mixture_gives_the_friendly_object_model():
    model = GaussianMixture(3, covariance_type="diag", random_state=0).fit(BLOBS)
    mixture = model.to_mixture()
    assert len(mixture) == 3
    np.testing.assert_allclose(mixture.log_likelihood(BLOBS), model.score(BLOBS) * len(BLOBS))
