"""Missing values (scikit-learn issue #9268): EM on data missing at random.

Every expected value here is computed independently of emcore: marginal densities with
scipy.stats on each row's observed block, conditional means and covariances by solving the
Gaussian conditioning formulas row by row, the observed-data maximum likelihood by
scipy.optimize, and closeness to a known truth by Monte Carlo KL divergence.
"""

import re
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.optimize import minimize
from scipy.special import logsumexp
from scipy.stats import multivariate_normal
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.estimator_checks import parametrize_with_checks

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
from emcore.missing import Patterns, fill_column_means

# A known mixture in 3-D with correlated coordinates, so that observed coordinates say
# something about the missing ones (the conditional means are not just the means).
TRUE_WEIGHTS = np.array([0.5, 0.3, 0.2])
TRUE_MEANS = np.array([[0.0, 0.0, 0.0], [4.0, 4.0, 0.0], [0.0, 4.0, 4.0]])
TRUE_COVARIANCES = np.array(
    [
        [[1.0, 0.6, 0.3], [0.6, 1.0, 0.5], [0.3, 0.5, 1.0]],
        [[1.5, -0.7, 0.0], [-0.7, 1.0, 0.2], [0.0, 0.2, 0.5]],
        [[0.6, 0.0, 0.3], [0.0, 1.2, -0.6], [0.3, -0.6, 1.0]],
    ]
)


def draw_truth(n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` points from the known mixture, shape (n, 3)."""
    labels = rng.choice(3, size=n, p=TRUE_WEIGHTS)
    points = np.empty((n, 3))
    for k in range(3):
        rows = labels == k
        points[rows] = rng.multivariate_normal(TRUE_MEANS[k], TRUE_COVARIANCES[k], rows.sum())
    return points


def remove_cells(X: np.ndarray, fraction: float, rng: np.random.Generator) -> np.ndarray:
    """A copy with each cell NaN with probability ``fraction`` (MCAR); every row keeps one
    observed cell and every column one observed value."""
    missing = rng.random(X.shape) < fraction
    empty_rows = np.flatnonzero(missing.all(axis=1))
    missing[empty_rows, rng.integers(0, X.shape[1], len(empty_rows))] = False
    for column in np.flatnonzero(missing.all(axis=0)):
        missing[rng.integers(0, len(X)), column] = False
    return np.where(missing, np.nan, X)


def direct_log_density(X, weights, means, covariances) -> np.ndarray:
    """``log sum_k pi_k N(x_o | mu_ko, S_koo)`` row by row with scipy, shape (n,)."""
    result = np.empty(len(X))
    for i, row in enumerate(X):
        o = ~np.isnan(row)
        terms = [
            np.log(w) + multivariate_normal(mu[o], cov[np.ix_(o, o)]).logpdf(row[o])
            for w, mu, cov in zip(weights, means, covariances, strict=True)
        ]
        result[i] = logsumexp(terms)
    return result


def observed_log_density(X, weights, means, covariances) -> np.ndarray:
    """:func:`direct_log_density` with one scipy call per pattern and component, (n,)."""
    observed = ~np.isnan(X)
    result = np.empty(len(X))
    for pattern in np.unique(observed, axis=0):
        rows = (observed == pattern).all(axis=1)
        block = X[np.ix_(rows, pattern)]
        terms = [
            np.log(w)
            + multivariate_normal(mu[pattern], cov[np.ix_(pattern, pattern)]).logpdf(block)
            for w, mu, cov in zip(weights, means, covariances, strict=True)
        ]
        result[rows] = logsumexp(np.reshape(terms, (len(terms), -1)), axis=0)
    return result


def observed_log_likelihood(X, weights, means, covariances) -> float:
    """The observed-data log-likelihood ``sum_i log p(x_io)``."""
    return float(observed_log_density(X, weights, means, covariances).sum())


def direct_conditional(row, mean, cov) -> tuple[np.ndarray, np.ndarray]:
    """One row completed by ``E[x_m | x_o]`` under N(mean, cov), and the (d, d) conditional
    covariance (zero outside the missing block)."""
    o, m = ~np.isnan(row), np.isnan(row)
    gain = np.linalg.solve(cov[np.ix_(o, o)], cov[np.ix_(o, m)])  # S_oo^-1 S_om
    completed = row.copy()
    completed[m] = mean[m] + gain.T @ (row[o] - mean[o])
    conditional = np.zeros_like(cov)
    conditional[np.ix_(m, m)] = cov[np.ix_(m, m)] - cov[np.ix_(m, o)] @ gain
    return completed, conditional


def random_params(covariance_type: str, k: int, d: int, seed: int) -> MixtureParams:
    """Parameters with correlated full covariances (projected onto the type)."""
    rng = np.random.default_rng(seed)
    model = covariance_model(covariance_type)
    factors = rng.normal(size=(k, d, d))
    full = factors @ factors.transpose(0, 2, 1) + np.eye(d)
    weights = rng.dirichlet(np.ones(k))
    means = rng.normal(scale=3.0, size=(k, d))
    return MixtureParams.from_covariances(
        weights, means, model.from_full(full, weights), model.name
    )


X_FULL = draw_truth(240, np.random.default_rng(0))
X_GAPS = remove_cells(X_FULL, 0.2, np.random.default_rng(1))


# -- complete data: exactly the ordinary fit --------------------------------------------------


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_without_nan_missing_em_is_exactly_the_ordinary_fit(covariance_type):
    settings = dict(n_components=3, covariance_type=covariance_type, random_state=0, n_init=2)
    em = GaussianMixture(missing="em", **settings).fit(X_FULL)
    plain = GaussianMixture(**settings).fit(X_FULL)
    for name in ("weights_", "means_", "covariances_", "precisions_cholesky_", "lower_bounds_"):
        np.testing.assert_array_equal(getattr(em, name), getattr(plain, name), err_msg=name)
    np.testing.assert_array_equal(em.score_samples(X_FULL), plain.score_samples(X_FULL))
    np.testing.assert_array_equal(em.predict_proba(X_FULL), plain.predict_proba(X_FULL))
    # Stepping too (the app's path): the same states.
    start = initial_params(X_FULL, 3, covariance_type, random_state=0)
    stepped = EM(X_FULL, start, missing="em", max_iter=5, record="params").run()
    reference = EM(X_FULL, start, max_iter=5, record="params").run()
    assert stepped.log_likelihoods == reference.log_likelihoods


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_pattern_steps_on_complete_rows_equal_the_ordinary_steps(covariance_type):
    # The missing-value machinery itself, forced onto complete data (one pattern, nothing
    # missing), must compute the ordinary E-step and M-step.
    params = random_params(covariance_type, 3, 3, seed=2)
    patterns = Patterns.from_mask(np.ones(X_FULL.shape, dtype=bool))
    forced, plain = e_step(X_FULL, params, patterns), e_step(X_FULL, params)
    np.testing.assert_allclose(forced.log_prob, plain.log_prob, rtol=1e-12)
    weights = np.random.default_rng(3).uniform(0.5, 2.0, len(X_FULL))
    ours = m_step(
        X_FULL, plain.resp, covariance_type, 1e-6, params, sample_weight=weights, patterns=patterns
    )
    theirs = m_step(X_FULL, plain.resp, covariance_type, 1e-6, params, sample_weight=weights)
    for name in ("weights", "means", "covariances"):
        np.testing.assert_allclose(getattr(ours, name), getattr(theirs, name), rtol=1e-10)


# -- the steps against their definitions --------------------------------------------------------


def direct_m_step(X, resp, sample_weight, previous, covariance_type, reg_covar):
    """The M-step of Ghahramani & Jordan (1994), row by row and component by component."""
    full = previous.full_covariances
    n, d = X.shape
    k = previous.n_components
    weighted = resp * sample_weight[:, None]
    nk = weighted.sum(axis=0)
    completed = np.empty((n, k, d))
    conditional = np.empty((n, k, d, d))
    for i in range(n):
        for j in range(k):
            completed[i, j], conditional[i, j] = direct_conditional(
                X[i], previous.means[j], full[j]
            )
    means = np.einsum("nk,nkd->kd", weighted, completed) / nk[:, None]
    diff = completed - means[None]
    scatter = np.einsum("nk,nkd,nke->kde", weighted, diff, diff)
    scatter += np.einsum("nk,nkde->kde", weighted, conditional)
    # Each type's maximiser of the expected complete-data log-likelihood, written out.
    estimates = {
        "full": scatter / nk[:, None, None] + reg_covar * np.eye(d),
        "tied": scatter.sum(axis=0) / nk.sum() + reg_covar * np.eye(d),
        "diag": np.diagonal(scatter, axis1=1, axis2=2) / nk[:, None] + reg_covar,
        "spherical": np.trace(scatter, axis1=1, axis2=2) / (d * nk) + reg_covar,
    }
    return nk / nk.sum(), means, estimates[covariance_type]


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_m_step_uses_conditional_means_and_covariances(covariance_type):
    X = X_GAPS[:60]
    previous = random_params(covariance_type, 3, 3, seed=4)
    rng = np.random.default_rng(5)
    resp = rng.dirichlet(np.ones(3), size=len(X))
    weights = rng.uniform(0.0, 3.0, len(X))
    ours = m_step(X, resp, covariance_type, 1e-6, previous, "add", sample_weight=weights)
    expected = direct_m_step(X, resp, weights, previous, covariance_type, 1e-6)
    for name, value in zip(("weights", "means", "covariances"), expected, strict=True):
        np.testing.assert_allclose(getattr(ours, name), value, rtol=1e-10, err_msg=name)


def test_m_step_with_missing_values_needs_the_previous_parameters():
    resp = np.full((len(X_GAPS), 3), 1 / 3)
    with pytest.raises(ValueError, match="previous"):
        m_step(X_GAPS, resp, "full")


# -- scoring, predicting and imputing ---------------------------------------------------------


ROWS = np.array(
    [
        [np.nan, 1.0, 2.0],
        [0.5, np.nan, np.nan],
        [np.nan, np.nan, 3.0],
        [4.0, 3.5, np.nan],
        [1.0, 2.0, 3.0],
        [np.nan, 5.0, np.nan],
    ]
)


@pytest.fixture(scope="module", params=COVARIANCE_TYPES)
def fitted(request):
    return GaussianMixture(3, covariance_type=request.param, missing="em", random_state=0).fit(
        X_GAPS
    )


def test_score_samples_is_the_marginal_density_of_the_observed_coordinates(fitted):
    full = fitted.params_.full_covariances
    expected = direct_log_density(ROWS, fitted.weights_, fitted.means_, full)
    np.testing.assert_allclose(fitted.score_samples(ROWS), expected, rtol=1e-10)
    # Responsibilities are the posterior given the observed coordinates.
    joint = np.stack(
        [
            direct_log_density(ROWS, [1.0], fitted.means_[[k]], full[[k]]) + np.log(w)
            for k, w in enumerate(fitted.weights_)
        ],
        axis=1,
    )
    posterior = np.exp(joint - expected[:, None])
    np.testing.assert_allclose(fitted.predict_proba(ROWS), posterior, rtol=1e-9)
    np.testing.assert_array_equal(fitted.predict(ROWS), posterior.argmax(axis=1))
    assert fitted.score(ROWS) == pytest.approx(expected.mean(), rel=1e-10)
    # BIC: the parameter count is unchanged, n is the number of rows.
    p = 2 + 3 * 3 + covariance_model(fitted.covariance_type).n_covariance_parameters(3, 3)
    bic = -2 * expected.sum() + p * np.log(len(ROWS))
    assert fitted.bic(ROWS) == pytest.approx(bic, rel=1e-10)
    assert fitted.aic(ROWS) == pytest.approx(-2 * expected.sum() + 2 * p, rel=1e-10)


def test_fit_reports_the_observed_data_log_likelihood(fitted):
    full = fitted.params_.full_covariances
    expected = observed_log_likelihood(X_GAPS, fitted.weights_, fitted.means_, full)
    assert fitted.lower_bound_ * len(X_GAPS) == pytest.approx(expected, rel=1e-10)


def test_impute_is_the_conditional_mean(fitted):
    full = fitted.params_.full_covariances
    resp = fitted.predict_proba(ROWS)
    expected = np.zeros_like(ROWS)
    for k in range(3):
        completed = np.array(
            [direct_conditional(row, fitted.means_[k], full[k])[0] for row in ROWS]
        )
        expected += resp[:, [k]] * completed
    rows = ROWS.copy()
    imputed = fitted.impute(rows)
    np.testing.assert_allclose(imputed, expected, rtol=1e-10)
    observed = ~np.isnan(ROWS)
    np.testing.assert_array_equal(imputed[observed], ROWS[observed])  # observed cells kept
    np.testing.assert_array_equal(rows, ROWS)  # the caller's array is not filled in place


def test_diagonal_types_impute_the_responsibility_weighted_means():
    # Independent coordinates: observing some says nothing about the others given k.
    model = GaussianMixture(3, covariance_type="diag", missing="em", random_state=0).fit(X_GAPS)
    expected = model.predict_proba(ROWS) @ model.means_
    imputed = model.impute(ROWS)
    np.testing.assert_allclose(imputed[np.isnan(ROWS)], expected[np.isnan(ROWS)], rtol=1e-12)


def test_impute_accepts_nan_whatever_missing_is_and_copies_complete_data():
    model = GaussianMixture(3, random_state=0).fit(X_FULL)
    assert not np.isnan(model.impute(ROWS)).any()
    filled = model.impute(X_FULL)
    np.testing.assert_array_equal(filled, X_FULL)
    assert filled is not X_FULL


# -- refusals ----------------------------------------------------------------------------------


def test_a_row_with_nothing_observed_is_refused_by_name():
    X = X_GAPS.copy()
    X[7] = np.nan
    message = re.escape("Row 7 of X (counted from 0) has no observed value")
    with pytest.raises(ValueError, match=message):
        GaussianMixture(3, missing="em").fit(X)
    with pytest.raises(ValueError, match=message):
        EM(X, random_params("full", 3, 3, 0), missing="em")
    model = GaussianMixture(3, missing="em", random_state=0).fit(X_GAPS)
    for method in (model.score_samples, model.predict, model.impute):
        with pytest.raises(ValueError, match=message):
            method(X)
    X[9] = np.nan
    with pytest.raises(ValueError, match=re.escape("Rows 7, 9 of X (counted from 0) have no")):
        model.impute(X)


def test_the_default_refuses_nan_and_names_missing_em():
    message = 'pass missing="em"'
    with pytest.raises(ValueError, match=message):
        GaussianMixture(3).fit(X_GAPS)
    fitted = GaussianMixture(3, random_state=0).fit(X_FULL)
    for method in (fitted.score_samples, fitted.predict, fitted.predict_proba, fitted.score):
        with pytest.raises(ValueError, match=message):
            method(X_GAPS)
    with pytest.raises(ValueError, match=message):
        EM(X_GAPS, random_params("full", 3, 3, 0))
    with pytest.raises(ValueError, match=message):
        Mixture.from_params(random_params("full", 3, 3, 0)).fit(X_GAPS)
    with pytest.raises(ValueError, match=message):
        select_model(X_GAPS, n_components=2)
    # The same settings accept it with missing="em", which the tags then advertise.
    fitted.set_params(missing="em")
    assert np.isfinite(fitted.score_samples(X_GAPS)).all()
    assert fitted.__sklearn_tags__().input_tags.allow_nan
    assert not GaussianMixture().__sklearn_tags__().input_tags.allow_nan


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda X: X.__setitem__((3, 1), np.inf), "infinit"),
        (lambda X: X.__setitem__((slice(None), 2), np.nan), re.escape("Column(s) 2 of X")),
    ],
    ids=["infinity", "empty column"],
)
def test_infinity_and_unobserved_columns_are_refused(change, message):
    X = X_GAPS.copy()
    only_last = np.isnan(X[:, :2]).all(axis=1)
    X[only_last, 0] = X_FULL[only_last, 0]  # every row observes x0 or x1
    change(X)
    with pytest.raises(ValueError, match=message):
        GaussianMixture(3, missing="em").fit(X)
    with pytest.raises(ValueError, match=message):
        EM(X, random_params("full", 3, 3, 0), missing="em")
    with pytest.raises(ValueError, match=message):
        select_model(X, n_components=2, missing="em")


def test_an_unknown_missing_option_is_refused():
    with pytest.raises(ValueError, match="missing must be 'error' or 'em'"):
        GaussianMixture(3, missing="drop").fit(X_FULL)
    with pytest.raises(ValueError, match="missing must be 'error' or 'em'"):
        EM(X_FULL, random_params("full", 3, 3, 0), missing="mean")


@parametrize_with_checks([GaussianMixture(n_components=2, random_state=0, missing="em")])
def test_scikit_learn_estimator_checks_with_missing_em(estimator, check):
    check(estimator)


# -- EM with missing values: monotone, and it gets the right answer ----------------------------


@st.composite
def incomplete_data(draw):
    n_features = draw(st.integers(2, 4))
    n_samples = draw(st.integers(4, 60))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n_samples, n_features)) @ rng.normal(size=(n_features, n_features))
    X += rng.integers(0, 3, n_samples)[:, None] * 5.0
    X = remove_cells(X * 10.0 ** draw(st.integers(-2, 2)), draw(st.floats(0.05, 0.6)), rng)
    return (
        X,
        draw(st.integers(1, min(4, n_samples // 2))),
        draw(st.sampled_from(COVARIANCE_TYPES)),
        draw(st.sampled_from(list(INIT_METHODS))),
        seed,
    )


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(incomplete_data())
def test_observed_log_likelihood_never_decreases(case):
    X, k, covariance_type, method, seed = case
    start = initial_params(X, k, covariance_type, method, random_state=seed)
    run = EM(X, start, tol=1e-10, max_iter=50, missing="em").run()
    lls = np.asarray(run.log_likelihoods)
    assert np.isfinite(lls).all()
    drops = np.diff(lls)
    assert (drops >= -1e-9 * np.maximum(np.abs(lls[1:]), 1.0)).all(), drops.min()
    for array in (run.params.means, run.params.covariances, run.resp):
        assert np.isfinite(array).all()


def kl_from_truth(model: GaussianMixture, test_points: np.ndarray, truth_log_density) -> float:
    """Monte Carlo ``KL(truth || model) = E_truth[log p_truth(x) - log p_model(x)]``."""
    return float(np.mean(truth_log_density - model.score_samples(test_points)))


def matched_mean_error(model: GaussianMixture) -> float:
    """Mean distance of the true means to the nearest fitted mean."""
    distances = np.linalg.norm(TRUE_MEANS[:, None, :] - model.means_[None, :, :], axis=2)
    return float(distances.min(axis=1).mean())


@pytest.mark.slow
def test_em_with_missing_values_beats_dropping_incomplete_rows():
    test_points = draw_truth(20_000, np.random.default_rng(99))
    truth = observed_log_density(test_points, TRUE_WEIGHTS, TRUE_MEANS, TRUE_COVARIANCES)
    kl_em, kl_dropped, error_em, error_dropped = [], [], [], []
    for seed in range(6):
        rng = np.random.default_rng(seed)
        X = remove_cells(draw_truth(150, rng), 0.2, rng)
        complete = X[~np.isnan(X).any(axis=1)]  # about half the rows (0.8^3)
        settings = dict(n_components=3, n_init=3, random_state=seed, tol=1e-6)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            em = GaussianMixture(missing="em", **settings).fit(X)
            dropped = GaussianMixture(**settings).fit(complete)
        kl_em.append(kl_from_truth(em, test_points, truth))
        kl_dropped.append(kl_from_truth(dropped, test_points, truth))
        error_em.append(matched_mean_error(em))
        error_dropped.append(matched_mean_error(dropped))
    assert np.mean(kl_em) < np.mean(kl_dropped), (kl_em, kl_dropped)
    assert np.mean(error_em) < np.mean(error_dropped), (error_em, error_dropped)


# -- against a direct numerical maximisation of the observed-data likelihood -------------------


class Parametrisation:
    """Unconstrained vectors <-> mixture parameters (softmax weights, log-Cholesky or log
    variances), for scipy.optimize."""

    def __init__(self, covariance_type: str, k: int, d: int) -> None:
        self.covariance_type, self.k, self.d = covariance_type, k, d
        self.lower = np.tril_indices(d)

    def pack(self, weights, means, full) -> np.ndarray:
        logits = np.log(weights[1:] / weights[0])
        if self.covariance_type == "full":
            factors = np.linalg.cholesky(full)
            diagonal = np.arange(self.d)
            factors[:, diagonal, diagonal] = np.log(factors[:, diagonal, diagonal])
            shape = factors[:, self.lower[0], self.lower[1]]
        else:
            shape = np.log(np.diagonal(full, axis1=1, axis2=2))
        return np.concatenate([logits, means.ravel(), shape.ravel()])

    def unpack(self, theta: np.ndarray):
        k, d = self.k, self.d
        logits = np.concatenate([[0.0], theta[: k - 1]])
        weights = np.exp(logits - logsumexp(logits))
        means = theta[k - 1 : k - 1 + k * d].reshape(k, d)
        rest = theta[k - 1 + k * d :]
        if self.covariance_type == "full":
            factors = np.zeros((k, d, d))
            factors[:, self.lower[0], self.lower[1]] = rest.reshape(k, -1)
            diagonal = np.arange(d)
            factors[:, diagonal, diagonal] = np.exp(factors[:, diagonal, diagonal])
            full = factors @ factors.transpose(0, 2, 1)
        else:
            full = np.exp(rest.reshape(k, d))[:, :, None] * np.eye(d)
        return weights, means, full


@pytest.mark.parametrize("covariance_type", ["full", "diag"])
@pytest.mark.parametrize("k", [1, 2])
def test_em_reaches_the_maximum_of_the_observed_data_likelihood(covariance_type, k):
    rng = np.random.default_rng(10 + k)
    X = rng.multivariate_normal([0, 0], [[1.0, 0.8], [0.8, 2.0]], 70)
    if k == 2:
        X[35:] += [6.0, -3.0]
    X = remove_cells(X, 0.15, rng)
    start = initial_params(X, k, covariance_type, random_state=0)
    run = EM(X, start, tol=1e-13, max_iter=20_000, record="none", missing="em").run()
    assert run.converged
    fit = run.params
    ours = observed_log_likelihood(X, fit.weights, fit.means, fit.full_covariances)
    assert ours == pytest.approx(run.log_likelihoods[-1], rel=1e-10)
    # The optimiser starts where EM started and climbs the same likelihood by quasi-Newton.
    shape = Parametrisation(covariance_type, k, 2)
    result = minimize(
        lambda theta: -observed_log_likelihood(X, *shape.unpack(theta)),
        shape.pack(start.weights, start.means, start.full_covariances),
        method="BFGS",
        options={"gtol": 1e-7, "maxiter": 5000},
    )
    theirs = -result.fun
    assert ours >= theirs - 1e-7
    weights, means, full = shape.unpack(result.x)
    order = np.argsort(means[:, 0])  # the same components, maybe in another order
    np.testing.assert_allclose(np.sort(fit.weights), np.sort(weights), atol=1e-4)
    np.testing.assert_allclose(fit.means[np.argsort(fit.means[:, 0])], means[order], atol=1e-3)
    np.testing.assert_allclose(
        fit.full_covariances[np.argsort(fit.means[:, 0])], full[order], atol=1e-3
    )


# -- sample weights, stepping, the object model, model selection -------------------------------


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_integer_weights_with_missing_values_equal_repeated_rows(covariance_type):
    weights = np.random.default_rng(6).integers(0, 4, len(X_GAPS)).astype(float)
    settings = dict(n_components=3, covariance_type=covariance_type, random_state=0, tol=1e-8)
    weighted = GaussianMixture(missing="em", **settings).fit(X_GAPS, sample_weight=weights)
    repeated = np.repeat(X_GAPS, weights.astype(int), axis=0)
    plain = GaussianMixture(missing="em", **settings).fit(repeated)
    for name in ("weights_", "means_", "covariances_"):
        np.testing.assert_allclose(getattr(weighted, name), getattr(plain, name), rtol=1e-9)
    assert weighted.bic(X_GAPS, sample_weight=weights) == pytest.approx(
        plain.bic(repeated), rel=1e-10
    )


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_stepping_with_missing_values_records_the_same_run(covariance_type):
    start = initial_params(X_GAPS, 3, covariance_type, random_state=0)
    stepped = EM(X_GAPS, start, tol=0.0, max_iter=8, record="resp", missing="em")
    stepped.e_step()
    stepped.m_step()
    stepped.step()
    stepped.run(max_iter=7)  # iteration 1 done by hand, 7 more: 8 as the other run
    # record="none" would take the fused passes; with gaps it falls back to the same steps.
    fused = EM(X_GAPS, start, tol=0.0, max_iter=8, record="none", missing="em").run()
    assert stepped.log_likelihoods == fused.log_likelihoods
    np.testing.assert_array_equal(stepped.params.means, fused.params.means)
    stages = [snapshot.stage for snapshot in stepped.history]
    assert stages[:4] == ["start", "E", "M", "E"] and len(stages) == 2 + 2 * 8
    assert all(np.isfinite(s.resp).all() for s in stepped.history[1:])


def test_mixture_fits_and_steps_with_missing_values():
    def blog_mixture() -> Mixture:
        return Mixture(Gauss(mean, np.eye(3), 1 / 3) for mean in TRUE_MEANS + 0.5)

    fitted = blog_mixture().fit(X_GAPS, missing="em")
    assert np.all(np.diff(fitted.log_likelihoods) >= -1e-9 * abs(fitted.log_likelihoods[-1]))
    full = fitted.params.full_covariances
    assert fitted.log_likelihood(X_GAPS, missing="em") == pytest.approx(
        observed_log_likelihood(X_GAPS, fitted.params.weights, fitted.params.means, full)
    )
    by_hand = blog_mixture()
    by_hand.expectation(X_GAPS, missing="em")
    by_hand.maximization(X_GAPS, missing="em")
    run = EM(X_GAPS, blog_mixture().params, max_iter=1, tol=0.0, missing="em").run()
    np.testing.assert_allclose(by_hand.params.means, run.params.means, rtol=1e-12)
    assert len(fitted.predict(ROWS, missing="em")) == len(ROWS)


def test_select_model_with_missing_values():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        selection = select_model(
            X_GAPS, n_components=4, covariance_types=("full", "diag"), n_init=2, missing="em"
        )
    assert (selection.table["status"] == "ok").all()
    assert selection.n_samples == len(X_GAPS)
    assert selection.best.n_components == 3  # the truth
    best = selection.best_model
    row = selection.table[selection.table["best"]].iloc[0]
    assert row["bic"] == pytest.approx(best.bic(X_GAPS), rel=1e-10)


@pytest.mark.parametrize("method", list(INIT_METHODS))
def test_starts_are_those_of_the_mean_filled_data(method):
    ours = initial_params(X_GAPS, 3, "full", method, random_state=0)
    filled = initial_params(fill_column_means(X_GAPS), 3, "full", method, random_state=0)
    np.testing.assert_array_equal(ours.means, filled.means)
    np.testing.assert_array_equal(ours.covariances, filled.covariances)


def _object_column_with_na():
    import pandas as pd

    values = np.random.default_rng(4).normal(size=(40, 2))
    frame = pd.DataFrame(values, columns=["a", "b"])
    frame["a"] = frame["a"].astype(object)
    frame.loc[[3, 17], "a"] = pd.NA
    expected = values.copy()
    expected[[3, 17], 0] = np.nan
    return frame, expected


@pytest.mark.parametrize("marker", ["pd.NA", "None"])
def test_pd_na_in_an_object_column_is_a_missing_value_everywhere(marker):
    """pd.NA (or None) in an object column reads as NaN, like a nullable column's pd.NA: one
    rule (emcore.validation.missing_as_nan) for every reader of X."""
    import pandas as pd

    frame, expected = _object_column_with_na()
    if marker == "None":
        frame.loc[[3, 17], "a"] = None
    reference = GaussianMixture(2, missing="em", random_state=0).fit(expected)
    fitted = GaussianMixture(2, missing="em", random_state=0).fit(frame)
    np.testing.assert_allclose(fitted.means_, reference.means_)
    np.testing.assert_allclose(fitted.score_samples(frame), reference.score_samples(expected))
    table = select_model(frame, n_components=[1, 2], covariance_types=["VVV"], missing="em")
    same = select_model(expected, n_components=[1, 2], covariance_types=["VVV"], missing="em")
    np.testing.assert_allclose(table.table["bic"], same.table["bic"])
    as_list = frame.astype(object).to_numpy().tolist()
    np.testing.assert_allclose(
        GaussianMixture(2, missing="em", random_state=0).fit(as_list).means_, reference.means_
    )
    with pytest.raises(ValueError, match=r'X contains NaN in 2 row\(s\)\. .*missing="em"'):
        GaussianMixture(2).fit(frame)
    assert frame["a"].isna().sum() == 2 and frame["a"].dtype == object  # left as given
    assert pd.isna(frame.loc[3, "a"])
