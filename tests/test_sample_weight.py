"""Sample weights (scikit-learn issue #15647): frequency weights through every layer.

A weight counts its row that many times: integer weights must give the fit of the repeated
rows, zero weights that of the dropped rows, and the number of samples (BIC's n) is the sum
of the weights. Checked for the reference steps and the fast path, the starts, the
estimator, the object model and model selection.
"""

import warnings

import numpy as np
import pytest
from sklearn.datasets import make_blobs
from sklearn.exceptions import ConvergenceWarning

from emcore import (
    COVARIANCE_TYPES,
    EM,
    INIT_METHODS,
    Gauss,
    GaussianMixture,
    Mixture,
    MixtureParams,
    covariance_model,
    e_step,
    initial_params,
    m_step,
    select_model,
)
from emcore.fast import FastEM

RTOL = 1e-10

X, _ = make_blobs(n_samples=301, centers=3, n_features=3, cluster_std=[1, 2, 0.5], random_state=1)
RNG = np.random.default_rng(7)
# Every third row twice, a few rows not at all, the rest once.
TWOS = np.where(np.arange(len(X)) % 3 == 0, 2.0, 1.0)
ZEROS = np.where(RNG.random(len(X)) < 0.1, 0.0, 1.0)
INTEGERS = RNG.integers(0, 4, len(X)).astype(float)


def repeated(data: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Row i repeated ``weights[i]`` times (0: dropped), in the original order."""
    return np.repeat(data, weights.astype(int), axis=0)


def start(covariance_type: str, k: int = 4, seed: int = 0) -> MixtureParams:
    """K data points as means, the data's covariance: a start shared by both sides."""
    rng = np.random.default_rng(seed)
    model = covariance_model(covariance_type)
    full = np.broadcast_to(np.cov(X.T), (k, 3, 3))
    return MixtureParams.from_covariances(
        np.full(k, 1 / k),
        X[rng.choice(len(X), k, replace=False)],
        model.from_full(full),
        model.name,
    )


def relative(ours, theirs) -> float:
    ours, theirs = np.asarray(ours, float), np.asarray(theirs, float)
    return float(np.max(np.abs(ours - theirs)) / max(np.max(np.abs(theirs)), 1e-300))


def assert_same_params(ours: MixtureParams, theirs: MixtureParams, rtol: float = RTOL) -> None:
    for name in ("weights", "means", "covariances", "precisions_cholesky"):
        assert relative(getattr(ours, name), getattr(theirs, name)) < rtol, name


# -- EM: weights equal repeated and dropped rows, reference steps and fast path ---------------


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("record", ["params", "none"])  # the reference steps, the fast path
@pytest.mark.parametrize("weights", [TWOS, ZEROS, INTEGERS], ids=["twos", "zeros", "0-3"])
@pytest.mark.parametrize("regularization", ["floor", "add"])
def test_integer_weights_equal_repeated_rows(covariance_type, record, weights, regularization):
    settings = dict(tol=0.0, max_iter=15, record=record, regularization=regularization)
    params = start(covariance_type)
    weighted = EM(X, params, sample_weight=weights, **settings).run()
    plain = EM(repeated(X, weights), params, **settings).run()
    np.testing.assert_allclose(weighted.log_likelihoods, plain.log_likelihoods, rtol=RTOL)
    assert_same_params(weighted.params, plain.params)
    assert weighted.n_samples == len(repeated(X, weights))


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize(("chunk_rows", "n_threads"), [(None, 1), (64, 2)])
def test_fast_path_with_weights_equals_the_reference_steps(covariance_type, chunk_rows, n_threads):
    weights = RNG.uniform(0.0, 3.0, len(X))  # not whole numbers: the sums must still agree
    params = start(covariance_type)
    fast = FastEM(
        X, covariance_type, chunk_rows=chunk_rows, n_threads=n_threads, sample_weight=weights
    )
    ours = params
    for _ in range(10):
        current = fast.e_step(params)
        reference = e_step(X, params)
        assert current.log_likelihood == pytest.approx(reference.log_prob @ weights, rel=RTOL)
        ours = fast.m_step(current, params)
        expected = m_step(X, reference.resp, covariance_type, 1e-6, params, sample_weight=weights)
        assert_same_params(ours, expected)
        params = ours


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_fast_path_with_weights_and_an_emptied_component(covariance_type):
    params = start(covariance_type)
    means = params.means.copy()
    means[3] = 1e4  # far from every point: it empties in the first M-step
    params = params.replace(means=means)
    for record in ("params", "none"):
        weighted = EM(X, params, sample_weight=TWOS, tol=0.0, max_iter=6, record=record).run()
        plain = EM(repeated(X, TWOS), params, tol=0.0, max_iter=6, record=record).run()
        assert weighted.params.empty[3]
        assert_same_params(weighted.params, plain.params)


def test_scaling_every_weight_changes_nothing_but_n():
    # Weights summing to 1 (a common convention) must not make components look empty.
    params = start("full")
    counts = EM(X, params, sample_weight=TWOS, tol=0.0, max_iter=10, record="none").run()
    shares = EM(X, params, sample_weight=TWOS / TWOS.sum(), tol=0.0, max_iter=10).run()
    assert_same_params(shares.params, counts.params, rtol=1e-9)
    assert shares.n_samples == pytest.approx(1.0)


# -- starts -------------------------------------------------------------------------------------


@pytest.mark.parametrize("method", list(INIT_METHODS))
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_zero_weights_give_the_start_of_dropped_rows(method, covariance_type):
    weighted = initial_params(X, 3, covariance_type, method, 0, sample_weight=ZEROS)
    dropped = initial_params(X[ZEROS > 0], 3, covariance_type, method, 0)
    assert_same_params(weighted, dropped)


@pytest.mark.parametrize("method", ["kmeans", "k-means++", "random"])
@pytest.mark.parametrize("shuffle", [False, True])
def test_integer_weights_give_the_start_of_repeated_rows(method, shuffle):
    # Starts see the rows in a canonical order, so even shuffled repeats give the same start.
    rows = repeated(X, INTEGERS)
    if shuffle:
        rows = rows[np.random.default_rng(3).permutation(len(rows))]
    weighted = initial_params(X, 3, "full", method, 0, sample_weight=INTEGERS)
    plain = initial_params(rows, 3, "full", method, 0)
    assert_same_params(weighted, plain, rtol=1e-9)


def test_random_from_data_never_picks_a_row_of_weight_zero():
    weights = np.zeros(len(X))
    weights[:5] = 1.0
    for seed in range(20):
        params = initial_params(X, 5, "diag", "random_from_data", seed, sample_weight=weights)
        assert {tuple(mean) for mean in params.means} == {tuple(row) for row in X[:5]}


# -- the estimator ---------------------------------------------------------------------------


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_estimator_with_weights_equals_the_repeated_rows(covariance_type):
    settings = dict(n_components=3, covariance_type=covariance_type, tol=1e-8, random_state=0)
    rows = repeated(X, INTEGERS)
    weighted = GaussianMixture(**settings).fit(X, sample_weight=INTEGERS)
    plain = GaussianMixture(**settings).fit(rows)
    assert weighted.n_iter_ == plain.n_iter_
    for name in ("weights_", "means_", "covariances_", "precisions_cholesky_"):
        assert relative(getattr(weighted, name), getattr(plain, name)) < RTOL, name
    assert weighted.lower_bound_ == pytest.approx(plain.lower_bound_, rel=RTOL)
    # score, BIC and AIC: the weighted log-likelihood and n = sum of the weights.
    assert weighted.score(X, sample_weight=INTEGERS) == pytest.approx(plain.score(rows), rel=RTOL)
    assert weighted.bic(X, sample_weight=INTEGERS) == pytest.approx(plain.bic(rows), rel=RTOL)
    assert weighted.aic(X, sample_weight=INTEGERS) == pytest.approx(plain.aic(rows), rel=RTOL)


def test_weighted_score_bic_and_aic_follow_their_definitions():
    model = GaussianMixture(3, random_state=0).fit(X, sample_weight=TWOS)
    log_prob = model.score_samples(X)
    total, n, p = log_prob @ TWOS, TWOS.sum(), model._n_parameters()
    assert model.score(X, sample_weight=TWOS) == pytest.approx(total / n, rel=1e-12)
    assert model.bic(X, sample_weight=TWOS) == pytest.approx(-2 * total + p * np.log(n), rel=1e-12)
    assert model.aic(X, sample_weight=TWOS) == pytest.approx(-2 * total + 2 * p, rel=1e-12)
    assert model.score(X) == pytest.approx(log_prob.mean(), rel=1e-12)  # no weights: the mean


def test_weights_of_one_are_the_unweighted_fit():
    one = GaussianMixture(3, random_state=0).fit(X, sample_weight=np.ones(len(X)))
    none = GaussianMixture(3, random_state=0).fit(X)
    np.testing.assert_array_equal(one.means_, none.means_)


@pytest.mark.parametrize(
    ("weights", "message"),
    [
        (-TWOS, "negative"),
        (np.where(np.arange(len(X)) == 4, np.nan, 1.0), r"NaN \(rows 4"),
        (np.where(np.arange(len(X)) == 4, np.inf, 1.0), "infinite"),
        (np.ones(len(X) - 1), r"shape \(301,\)"),
        (np.ones((len(X), 1)), r"shape \(301,\)"),
        (np.zeros(len(X)), "all zero"),
        (["a"] * len(X), "numbers"),
        (np.where(np.arange(len(X)) < 2, 1.0, 0.0), "positive sample_weight"),
    ],
)
def test_bad_weights_are_a_value_error_that_says_which(weights, message):
    with pytest.raises(ValueError, match=message):
        GaussianMixture(3, random_state=0).fit(X, sample_weight=weights)


def test_weights_are_not_changed_in_place():
    weights = TWOS.copy()
    GaussianMixture(3, random_state=0).fit(X, sample_weight=weights)
    np.testing.assert_array_equal(weights, TWOS)


# -- the object model and model selection -----------------------------------------------------


def test_mixture_fit_with_weights_equals_the_repeated_rows():
    def blog_mixture() -> Mixture:
        means = X[[0, 100, 200]]
        return Mixture(Gauss(mean, np.eye(3), 1 / 3) for mean in means)

    weighted = blog_mixture().fit(X, sample_weight=INTEGERS)
    plain = blog_mixture().fit(repeated(X, INTEGERS))
    assert_same_params(weighted.params, plain.params)
    assert weighted.log_likelihood(X, sample_weight=INTEGERS) == pytest.approx(
        plain.log_likelihood(repeated(X, INTEGERS)), rel=RTOL
    )
    # One step by hand: the weights multiply the responsibilities in the M-step.
    by_hand = blog_mixture()
    by_hand.expectation(X)
    by_hand.maximization(X, sample_weight=INTEGERS)
    reference = blog_mixture()
    reference.expectation(repeated(X, INTEGERS))
    reference.maximization(repeated(X, INTEGERS))
    assert_same_params(by_hand.params, reference.params)


def test_select_model_with_weights_equals_the_repeated_rows():
    settings = dict(n_components=3, covariance_types=("full", "diag"), n_init=2, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        weighted = select_model(X, sample_weight=INTEGERS, **settings)
        plain = select_model(repeated(X, INTEGERS), **settings)
    columns = ["log_likelihood", "bic", "aic", "icl"]
    np.testing.assert_allclose(weighted.table[columns], plain.table[columns], rtol=1e-9)
    assert list(weighted.table["status"]) == list(plain.table["status"])
    assert weighted.n_samples == plain.n_samples == INTEGERS.sum()
    assert weighted.best.label == plain.best.label
    assert weighted.best.value == pytest.approx(plain.best.value, rel=1e-12)


def test_random_from_data_draws_distinct_points_from_repeated_rows():
    # 95 copies of one row and five others: drawing rows would often give two equal means.
    X = np.vstack([np.repeat([[0.0, 0.0]], 95, axis=0), np.arange(10.0).reshape(5, 2) + 1])
    for seed in range(30):
        means = initial_params(X, 3, "full", "random_from_data", seed).means
        assert len(np.unique(means, axis=0)) == 3
    # Weighted: the repeated value still counts by its weight, and weight-0 rows never come.
    weights = np.r_[np.full(95, 1.0), [0.0, 1.0, 1.0, 1.0, 1.0]]
    for seed in range(30):
        means = initial_params(X, 4, "diag", "random_from_data", seed, sample_weight=weights).means
        assert len(np.unique(means, axis=0)) == 4 and not (means == [1.0, 2.0]).all(axis=1).any()
