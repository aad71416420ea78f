"""The E-step and M-step as plain functions."""

import numpy as np
import pytest
from scipy.stats import multivariate_normal

from emcore import MixtureParams, e_step, log_likelihood, m_step
from emcore.steps import EMPTY_POINTS

RNG = np.random.default_rng(3)
X = np.vstack([RNG.normal(0, 1, (40, 2)), RNG.normal(5, 1, (40, 2))])


def two_components(weights=(0.5, 0.5)) -> MixtureParams:
    return MixtureParams.from_covariances(
        np.array(weights), np.array([[0.0, 0.0], [5.0, 5.0]]), np.stack([np.eye(2)] * 2)
    )


def test_responsibilities_match_scipy_densities():
    params = two_components((0.3, 0.7))
    dens = np.column_stack(
        [
            w * multivariate_normal(m, c).pdf(X)
            for w, m, c in zip(params.weights, params.means, params.full_covariances, strict=True)
        ]
    )
    result = e_step(X, params)
    np.testing.assert_allclose(result.resp, dens / dens.sum(axis=1, keepdims=True), rtol=1e-10)
    np.testing.assert_allclose(result.log_likelihood, np.log(dens.sum(axis=1)).sum(), rtol=1e-12)
    assert log_likelihood(X, params) == pytest.approx(result.log_likelihood)


def test_far_points_do_not_underflow_to_nan():
    # Raw densities of these points are exactly 0.0 in float64: the blog's 0 / 0.
    far = np.array([[1e4, -1e4], [-3e3, 2e5]])
    result = e_step(far, two_components())
    assert np.isfinite(result.log_prob).all()
    np.testing.assert_allclose(result.resp.sum(axis=1), 1.0)
    assert np.isfinite(result.resp).all()


def test_m_step_is_the_weighted_average():
    resp = e_step(X, two_components()).resp
    params = m_step(X, resp, "full")
    nk = resp.sum(axis=0)
    np.testing.assert_allclose(params.weights, nk / len(X))
    np.testing.assert_allclose(params.means, resp.T @ X / nk[:, None])


def test_empty_component_keeps_its_place_with_weight_zero():
    previous = MixtureParams.from_covariances(
        np.array([0.5, 0.3, 0.2]),
        np.array([[0.0, 0.0], [5.0, 5.0], [99.0, 99.0]]),
        np.stack([np.eye(2)] * 3),
    )
    resp = np.zeros((len(X), 3))
    resp[:40, 0] = 1.0
    resp[40:, 1] = 1.0
    resp[0, 2] = EMPTY_POINTS / 10
    params = m_step(X, resp, "full", previous=previous)
    assert params.weights[2] == 0.0
    assert params.empty.tolist() == [False, False, True]
    np.testing.assert_array_equal(params.means[2], [99.0, 99.0])
    np.testing.assert_array_equal(params.covariances[2], np.eye(2))
    # An empty component takes no responsibility and produces no NaN afterwards.
    again = e_step(X, params)
    assert np.isfinite(again.log_prob).all()
    assert (again.resp[:, 2] == 0.0).all()


def test_all_components_empty_is_refused():
    with pytest.raises(ValueError, match="Every component is empty"):
        m_step(X, np.zeros((len(X), 2)), "full")


# -- fault 1: an empty component's stand-in count must not reach a pooled sum ---------------

GROUPS = np.vstack([RNG.normal(0, 1, (10, 2)), RNG.normal(6, 1, (10, 2))])


def pooled_scatter(data: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """``sum_k sum_{i in k} (x_i - mean_k)(x_i - mean_k)^T``: the tied M-step's numerator."""
    centred = data - np.array([data[labels == k].mean(axis=0) for k in labels])
    return centred.T @ centred


@pytest.mark.parametrize("leftover", [0.0, EMPTY_POINTS / 10])
def test_tied_covariance_is_divided_by_n_not_by_n_plus_empty_components(leftover):
    # Third component empty (exactly, or with less than EMPTY_POINTS left on one point):
    # the shared matrix pools the two real groups and divides by n = 20, not 21.
    labels = np.repeat([0, 1], 10)
    resp = np.zeros((20, 3))
    resp[np.arange(20), labels] = 1.0
    resp[0, 2], resp[0, 0] = leftover, 1.0 - leftover
    params = m_step(GROUPS, resp, "tied", reg_covar=0.0, regularization="add")
    assert params.empty.tolist() == [False, False, True]
    np.testing.assert_allclose(params.covariances, pooled_scatter(GROUPS, labels) / 20, rtol=1e-8)


def test_an_emptied_component_far_away_adds_nothing_to_the_pooled_scatter():
    # Its leftover responsibility sits on a point 1e8 from its stand-in mean: squared around
    # that stand-in it would add 1e-9 * 1e16 to the scatter.
    data = GROUPS + 1e8
    labels = np.repeat([0, 1], 10)
    resp = np.zeros((20, 3))
    resp[np.arange(20), labels] = 1.0
    resp[5, 2], resp[5, 0] = EMPTY_POINTS / 10, 1.0 - EMPTY_POINTS / 10
    params = m_step(data, resp, "tied", reg_covar=0.0, regularization="add")
    np.testing.assert_allclose(params.covariances, pooled_scatter(data, labels) / 20, rtol=1e-6)


@pytest.mark.parametrize(
    ("resp", "said"),
    [
        (np.ones(200), r"resp must have shape \(200, n_components\)"),
        (np.ones((199, 3)), r"got shape \(199, 3\)"),
        (np.ones((200, 0)), r"at least one component"),
        (np.full((200, 3), np.nan), r"NaN or infinite responsibilities"),
        (np.full((200, 3), np.inf), r"NaN or infinite responsibilities"),
        (-np.ones((200, 3)), r"negative responsibilities"),
    ],
)
def test_m_step_refuses_responsibilities_it_cannot_use(resp, said):
    X = np.random.default_rng(0).normal(size=(200, 2))
    with pytest.raises(ValueError, match=said):
        m_step(X, resp, "full", 1e-6)


def test_m_step_refuses_weights_of_another_length():
    X = np.random.default_rng(0).normal(size=(200, 2))
    with pytest.raises(ValueError, match=r"sample_weight must have shape \(200,\)"):
        m_step(X, np.ones((200, 2)), "full", 1e-6, sample_weight=np.ones(3))
