"""Public entry points refuse bad input with the sentence EM and GaussianMixture give.

Starting parameters (weights that do not sum to 1, covariances that are not symmetric
positive definite), data of the wrong width for the step functions, the M-step's inputs,
string options, and starts from weights of any common scale.
"""

from __future__ import annotations

import numpy as np
import pytest

import emcore.steps as steps
from emcore import EM, GaussianMixture, Mixture, MixtureParams
from emcore.hc import hc_tree
from emcore.init import initial_params

RNG = np.random.default_rng(0)
X = np.vstack(
    [
        RNG.normal(0.0, 1.0, (20, 2)),
        RNG.normal(5.0, 1.0, (20, 2)),
        RNG.normal((0.0, 6.0), 1.0, (20, 2)),
    ]
)
START = initial_params(X, 2, random_state=0)
RESP = np.tile([0.5, 0.5], (len(X), 1))


def _params(weights, covariances, covariance_type: str) -> MixtureParams:
    return MixtureParams.from_covariances(
        np.asarray(weights, dtype=float), X[:2].copy(), covariances, covariance_type
    )


def _message(action) -> str:
    with pytest.raises(ValueError) as caught:
        action()
    return str(caught.value)


# -- A: weights that do not sum to 1 ------------------------------------------------------


@pytest.mark.parametrize("weights", [[10.0, 10.0], [0.3, 0.3], [0.0, 0.0], [0.5, 0.5 + 1e-4]])
def test_starting_weights_must_sum_to_one(weights):
    params = _params(weights, np.stack([np.eye(2)] * 2), "full")
    with pytest.raises(ValueError, match="weights must sum to 1"):
        EM(X, params)
    with pytest.raises(ValueError, match="weights must sum to 1"):
        Mixture.from_params(params)


def test_weights_within_gaussian_mixtures_tolerance_are_accepted():
    params = _params([0.5, 0.5 + 1e-7], np.stack([np.eye(2)] * 2), "full")
    run = EM(X, params).run()
    assert np.all(np.diff(run.log_likelihoods) >= -1e-9)


# -- B: covariances that are not symmetric positive definite ------------------------------

NOT_A_COVARIANCE = [
    ("full", np.stack([[[1.0, 2.0], [2.0, 1.0]]] * 2), "positive definite"),
    ("full", np.zeros((2, 2, 2)), "positive definite"),
    ("full", np.stack([[[1.0, 0.5], [0.0, 1.0]]] * 2), "symmetric"),
    ("tied", np.array([[1.0, 2.0], [2.0, 1.0]]), "positive definite"),
    ("tied", np.array([[1.0, 0.5], [0.0, 1.0]]), "symmetric"),
    ("diag", np.array([[1.0, 0.0], [1.0, 1.0]]), "positive definite"),
    ("diag", np.array([[1.0, -1.0], [1.0, 1.0]]), "positive definite"),
    ("spherical", np.array([1.0, 0.0]), "positive definite"),
    ("spherical", np.array([-1.0, 1.0]), "positive definite"),
    ("VEV", np.stack([[[1.0, 2.0], [2.0, 1.0]]] * 2), "positive definite"),
]


@pytest.mark.parametrize(("covariance_type", "covariances", "words"), NOT_A_COVARIANCE)
def test_starting_covariances_must_be_symmetric_positive_definite(
    covariance_type, covariances, words
):
    params = _params([0.5, 0.5], covariances, covariance_type)
    with pytest.raises(ValueError, match=f"covariances must be {words}"):
        EM(X, params)
    with pytest.raises(ValueError, match=f"covariances must be {words}"):
        Mixture.from_params(params)


def test_fitted_parameters_remain_a_valid_start():
    for covariance_type in ("full", "tied", "diag", "spherical", "EEV", "VVI"):
        fitted = EM(X, initial_params(X, 3, covariance_type, random_state=1)).run().params
        EM(X, fitted)  # a warm start from a fit is accepted


# -- C: data of another width for the step functions --------------------------------------

THREE = MixtureParams.from_covariances(
    np.array([0.5, 0.5]), np.zeros((2, 3)), np.stack([np.eye(3)] * 2), "full"
)


@pytest.mark.parametrize("columns", [1, 2, 4])
@pytest.mark.parametrize(
    "function", [steps.e_step, steps.log_likelihood, steps.weighted_log_prob, steps.log_gaussian]
)
def test_step_functions_refuse_data_of_another_width(function, columns):
    data = np.ones((5, columns))
    expected = _message(lambda: Mixture.from_params(THREE).log_likelihood(data))
    assert _message(lambda: function(data, THREE)) == expected
    assert f"X has {columns} features, but the mixture was fitted with 3" in expected


def test_step_functions_refuse_one_dimensional_data():
    with pytest.raises(ValueError, match="X must be a 2D array"):
        steps.e_step(np.ones(5), THREE)


# -- D: the M-step's inputs, with EM's sentences ------------------------------------------


@pytest.mark.parametrize(
    "weights",
    [np.full(60, np.nan), np.full(60, np.inf), np.zeros(60), -np.ones(60), np.full(60, 1e99)],
)
def test_m_step_refuses_weights_as_em_does(weights):
    expected = _message(lambda: EM(X, START, sample_weight=weights))
    assert _message(lambda: steps.m_step(X, RESP, "full", sample_weight=weights)) == expected


@pytest.mark.parametrize(
    "settings", [{"reg_covar": -1.0}, {"reg_covar": np.nan}, {"reg_covar": np.inf},
                 {"regularization": "floorr"}, {"regularization": ["floor"]}]
)  # fmt: skip
def test_m_step_refuses_settings_as_em_does(settings):
    expected = _message(lambda: EM(X, START, **settings))
    assert _message(lambda: steps.m_step(X, RESP, "full", **settings)) == expected


def test_m_step_refuses_data_as_em_does():
    infinite = X.copy()
    infinite[3, 1] = np.inf
    expected = _message(lambda: EM(infinite, START))
    assert _message(lambda: steps.m_step(infinite, RESP, "full")) == expected


def test_m_step_reads_a_list_as_em_does():
    from_list = steps.m_step(X.tolist(), RESP.tolist(), "full")
    np.testing.assert_array_equal(from_list.means, steps.m_step(X, RESP, "full").means)


@pytest.mark.parametrize(
    ("resp", "words"),
    [
        (RESP * 1e308, "numbers from 0 to 1"),
        (RESP * 3.0, "numbers from 0 to 1"),
        (np.full((60, 2), "a"), "resp must be numbers"),
        (np.full((60, 2), None), "NaN or infinite responsibilities"),
        (np.full((60, 2), {}), "resp must be numbers"),
    ],
)
def test_m_step_refuses_responsibilities_that_are_not_probabilities(resp, words):
    with pytest.raises(ValueError, match=words):
        steps.m_step(X, resp, "full")


def test_m_step_refuses_previous_parameters_of_another_size():
    three = initial_params(X, 3, random_state=0)
    with pytest.raises(ValueError, match="previous parameters have 3 components but resp has 2"):
        steps.m_step(X, RESP, "full", previous=three)
    with pytest.raises(ValueError, match="X has 2 features, but the mixture was fitted with 3"):
        steps.m_step(X, RESP, "full", previous=THREE)
    bad = _params([10.0, 10.0], np.stack([np.eye(2)] * 2), "full")
    with pytest.raises(ValueError, match="previous parameters' weights must sum to 1"):
        steps.m_step(X, RESP, "full", previous=bad)


@pytest.mark.parametrize("method", ["kmeans", "hc"])
def test_starts_take_the_unchecked_m_step(monkeypatch, method):
    calls = []
    checked = steps.check_m_step_inputs
    monkeypatch.setattr(steps, "check_m_step_inputs", lambda *a: calls.append(1) or checked(*a))
    initial_params(X, 3, method=method, random_state=0)
    assert calls == []
    steps.m_step(X, RESP, "full")  # the public one checks
    assert calls == [1]


# -- E: string options --------------------------------------------------------------------


def test_initial_params_refuses_an_unknown_regularization():
    with pytest.raises(ValueError, match="regularization must be one of 'add', 'floor'"):
        initial_params(X, 2, regularization="floorr")
    with pytest.raises(ValueError, match="reg_covar must be a number at least 0"):
        initial_params(X, 2, reg_covar=-1.0)


@pytest.mark.parametrize("model", [np.array(["VVV"]), ["VVV"], None, 3, "VVVV"])
def test_hc_tree_refuses_a_model_that_is_not_one_of_its_names(model):
    with pytest.raises(ValueError, match="model must be one of 'VVV', 'EII'"):
        hc_tree(X, model=model)


def test_hc_tree_still_takes_its_names_in_any_case():
    np.testing.assert_array_equal(hc_tree(X, model="vvv").merges, hc_tree(X).merges)


# -- F: a common scale of the weights does not change a start -----------------------------

METHODS = ["kmeans", "k-means++", "random_from_data", "random", "hc"]


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("scale", [1e-310, 1e-200, 1e-30, 3.0, 1e30, 1e200, 1e300])
def test_equal_weights_of_any_scale_give_the_unweighted_start(method, scale):
    plain = initial_params(X, 3, method=method, random_state=0)
    weighted = initial_params(
        X, 3, method=method, random_state=0, sample_weight=np.full(len(X), scale)
    )
    for name in ("weights", "means", "covariances"):
        np.testing.assert_array_equal(getattr(weighted, name), getattr(plain, name))


@pytest.mark.parametrize("method", METHODS[:4])
@pytest.mark.parametrize("scale", [2.0**-1040, 2.0**-600, 2.0**600, 2.0**1000])
def test_a_power_of_two_scale_of_unequal_weights_changes_no_start(method, scale):
    counts = np.resize([1.0, 2.0, 3.0], len(X))
    plain = initial_params(X, 3, method=method, random_state=0, sample_weight=counts)
    scaled = initial_params(X, 3, method=method, random_state=0, sample_weight=counts * scale)
    for name in ("weights", "means", "covariances"):
        np.testing.assert_allclose(getattr(scaled, name), getattr(plain, name), rtol=1e-12)


def test_a_k_means_start_of_subnormal_weights_is_the_unweighted_fit():
    plain = GaussianMixture(3, random_state=0).fit(X)
    tiny = GaussianMixture(3, random_state=0).fit(X, sample_weight=np.full(len(X), 1e-310))
    np.testing.assert_allclose(np.sort(tiny.weights_), np.sort(plain.weights_), rtol=1e-9)
