"""Each covariance type against direct, loop-per-component formulas."""

import numpy as np
import pytest

from emcore.covariance import COVARIANCE_TYPES, covariance_model, row_blocks

RNG = np.random.default_rng(7)
N, D, K = 60, 3, 4
X = RNG.normal(size=(N, D)) * [1.0, 3.0, 0.5] + 2.0
MEANS = RNG.normal(size=(K, D))
RESP = RNG.dirichlet(np.ones(K), size=N)


def random_spd(k: int, d: int) -> np.ndarray:
    a = RNG.normal(size=(k, d, d))
    return a @ a.transpose(0, 2, 1) + d * np.eye(d)


def stored_covariances(name: str) -> np.ndarray:
    return covariance_model(name).from_full(random_spd(K, D), np.ones(K))


@pytest.mark.parametrize("name", COVARIANCE_TYPES)
def test_mahalanobis_matches_explicit_inverse(name):
    model = covariance_model(name)
    covariances = stored_covariances(name)
    factors = model.precisions_cholesky(covariances, 0.0)
    full = model.to_full(covariances, K, D)
    expected = np.array(
        [
            [(x - m) @ np.linalg.inv(c) @ (x - m) for m, c in zip(MEANS, full, strict=True)]
            for x in X
        ]
    )
    np.testing.assert_allclose(model.mahalanobis(X, MEANS, factors), expected, rtol=1e-9)


@pytest.mark.parametrize("name", COVARIANCE_TYPES)
def test_log_det_cholesky_is_half_log_det_precision(name):
    model = covariance_model(name)
    covariances = stored_covariances(name)
    factors = model.precisions_cholesky(covariances, 0.0)
    full = model.to_full(covariances, K, D)
    expected = -0.5 * np.linalg.slogdet(full)[1]
    np.testing.assert_allclose(
        np.broadcast_to(model.log_det_cholesky(factors, D), (K,)), expected, rtol=1e-10
    )


@pytest.mark.parametrize("name", COVARIANCE_TYPES)
def test_precisions_round_trip(name):
    model = covariance_model(name)
    covariances = stored_covariances(name)
    precisions = model.precisions(model.precisions_cholesky(covariances, 0.0))
    np.testing.assert_allclose(model.inverse(precisions), covariances, rtol=1e-9)
    factors = model.cholesky_from_precisions(precisions)
    np.testing.assert_allclose(model.precisions(factors), precisions, rtol=1e-9)


def weighted_full_covariances(resp, means, reg):
    """The textbook M-step, one component at a time, weighting by r (not r squared)."""
    result = []
    for k in range(K):
        diff = X - means[k]
        result.append((resp[:, k, None] * diff).T @ diff / resp[:, k].sum() + reg * np.eye(D))
    return np.array(result)


def test_full_estimate_weights_by_r_not_r_squared():
    nk = RESP.sum(axis=0)
    means = RESP.T @ X / nk[:, None]
    got = covariance_model("full").estimate(X, RESP, nk, means, 1e-6)
    np.testing.assert_allclose(got, weighted_full_covariances(RESP, means, 1e-6), rtol=1e-10)
    squared = [
        (RESP[:, k, None] ** 2 * (X - means[k])).T @ (X - means[k]) / nk[k] for k in range(K)
    ]
    assert not np.allclose(got, np.array(squared), rtol=1e-3)


@pytest.mark.parametrize("name", ["tied", "diag", "spherical"])
def test_constrained_estimates_match_full_reduced(name):
    nk = RESP.sum(axis=0)
    means = RESP.T @ X / nk[:, None]
    full = weighted_full_covariances(RESP, means, 0.0)
    model = covariance_model(name)
    expected = model.from_full(full, nk)
    got = model.estimate(X, RESP, nk, means, 0.0)
    np.testing.assert_allclose(got, expected, rtol=1e-9)


@pytest.mark.parametrize(
    ("name", "expected"), [("full", 4 * 6), ("tied", 6), ("diag", 4 * 3), ("spherical", 4)]
)
def test_parameter_counts(name, expected):
    assert covariance_model(name).n_covariance_parameters(K, D) == expected


def test_singular_covariance_still_gets_finite_factors():
    # Collinear points at a large scale: the scatter is singular and rounding makes it indefinite.
    line = np.outer(np.linspace(-1, 1, 50), [1.0, 2.0]) * 1e8
    resp = np.ones((50, 1))
    model = covariance_model("full")
    means = line.mean(axis=0, keepdims=True)
    covariances = model.estimate(line, resp, resp.sum(axis=0), means, 1e-6)
    factors = model.precisions_cholesky(covariances, 1e-6)
    assert np.isfinite(factors).all()
    assert np.isfinite(model.mahalanobis(line, means, factors)).all()


def test_unknown_covariance_type_is_a_clear_error():
    with pytest.raises(ValueError, match="Choose one of 'full', 'tied', 'diag', 'spherical'"):
        covariance_model("banana")


def test_row_blocks_cover_rows_exactly_once():
    blocks = list(row_blocks(10_001, 1 << 10))
    covered = np.concatenate([np.arange(10_001)[block] for block in blocks])
    np.testing.assert_array_equal(covered, np.arange(10_001))
    assert len(blocks) > 1
