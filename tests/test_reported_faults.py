"""Faults a fresh user reported (Mixture's object model, select_model's summary, messages).

Each test names the fault it guards; each failed on the code before its fix.
"""

from __future__ import annotations

import copy
import itertools
import pickle
import re
import warnings

import numpy as np
import pytest
from sklearn.datasets import load_iris, make_blobs

import emcore
import emcore.selection as selection_module
from emcore import Gauss, GaussianMixture, Mixture, select_model
from emcore.covariance import MCLUST_MODELS

X, _ = make_blobs(n_samples=100, centers=3, random_state=0)
IRIS = load_iris().data


def three_gaussians(reg_covar: float = 1e-6, variance: float = 1.0) -> Mixture:
    components = [Gauss(X[i], variance * np.eye(2)) for i in range(3)]
    return Mixture(components, reg_covar=reg_covar)


def state(mixture: Mixture) -> dict:
    """Everything a fit may change, copied, to compare before and after a refused call."""
    params = mixture.params
    return {
        "arrays": [a.copy() for a in (params.weights, params.means, params.covariances)],
        "components": [(g.mu.copy(), g.cov.copy(), g.pi) for g in mixture],
        "log_likelihoods": list(mixture.log_likelihoods),
        "n_history": len(mixture.history),
        "events": list(mixture.events),
        "converged": mixture.converged,
        "resp": None if mixture.resp is None else mixture.resp.copy(),
        "objects": (params, mixture.resp, list(mixture)),
    }


def assert_same_state(before: dict, mixture: Mixture) -> None:
    after = state(mixture)
    for old, new in zip(before["arrays"], after["arrays"], strict=True):
        np.testing.assert_array_equal(old, new)
    for (mu, cov, pi), (mu2, cov2, pi2) in zip(
        before["components"], after["components"], strict=True
    ):
        np.testing.assert_array_equal(mu, mu2)
        np.testing.assert_array_equal(cov, cov2)
        assert pi == pi2
    for key in ("log_likelihoods", "n_history", "events", "converged"):
        assert before[key] == after[key], key
    np.testing.assert_array_equal(before["resp"], after["resp"])
    assert before["objects"][0] is after["objects"][0]
    assert before["objects"][1] is after["objects"][1]
    assert all(a is b for a, b in zip(before["objects"][2], after["objects"][2], strict=True))


# -- 1. to_mixture shared means_; a component's mu and cov behaved differently ------------------


def test_to_mixture_is_an_independent_copy_of_the_estimator():
    gm = GaussianMixture(3, random_state=0).fit(X)
    means, score = gm.means_.copy(), gm.score(X)
    mixture = gm.to_mixture()
    for name in ("weights", "means", "covariances", "precisions_cholesky"):
        mine = getattr(mixture.params, name)
        assert not np.shares_memory(mine, getattr(gm, f"{name}_")), name
    with pytest.raises(ValueError, match="read-only"):
        mixture[0].mu[:] = 1000.0
    with pytest.raises(ValueError, match="read-only"):
        mixture.params.means[0] = 1000.0
    np.testing.assert_array_equal(gm.means_, means)
    assert gm.score(X) == score


@pytest.mark.parametrize("name", ["mu", "cov"])
def test_a_components_mean_and_covariance_refuse_in_place_edits_alike(name):
    mixture = three_gaussians().fit(X)
    score = mixture.log_likelihood(X)
    with pytest.raises(ValueError, match="read-only"):
        getattr(mixture[0], name)[:] = 50.0
    with pytest.raises(ValueError, match="read-only"):
        getattr(mixture[0], name)[...] *= 2.0
    assert mixture.log_likelihood(X) == score


@pytest.mark.parametrize(("name", "value"), [("mu", [5.0, 5.0]), ("cov", np.eye(2)), ("pi", 0.5)])
def test_reassigning_a_components_parameter_is_a_sentence_not_a_silent_no_op(name, value):
    mixture = three_gaussians()
    before = state(mixture)
    with pytest.raises(AttributeError, match=rf"A Gauss.s {name} cannot.*new Gauss"):
        setattr(mixture[0], name, value)
    assert_same_state(before, mixture)


def test_a_components_responsibilities_are_read_only_too():
    mixture = three_gaussians()
    mixture.expectation(X)
    with pytest.raises(ValueError, match="read-only"):
        mixture[0].r[:] = 0.0
    with pytest.raises(AttributeError, match=r"A Gauss.s r cannot.*new Gauss"):
        mixture[0].r = np.zeros(len(X))


def test_a_gauss_keeps_its_own_copy_of_what_it_was_given():
    mu, cov = np.zeros(2), np.eye(2)
    gauss = Gauss(mu, cov)
    mu[:] = 5.0
    cov[:] = 0.0  # would make the Gauss's covariance singular, after it was checked
    np.testing.assert_array_equal(gauss.mu, [0.0, 0.0])
    np.testing.assert_array_equal(gauss.cov, np.eye(2))
    assert mu.flags.writeable and cov.flags.writeable  # the caller's arrays stay theirs


@pytest.mark.parametrize("duplicate", [copy.deepcopy, lambda m: pickle.loads(pickle.dumps(m))])
def test_a_copied_mixture_stays_read_only_and_keeps_its_components_in_step(duplicate):
    mixture = duplicate(three_gaussians().fit(X))
    for array in (mixture.params.means, mixture[0].mu, mixture[0].cov, mixture[0].r):
        with pytest.raises(ValueError, match="read-only"):
            array[...] = 0.0
    assert np.shares_memory(mixture[0].r, mixture.resp)
    gauss = duplicate(Gauss([0.0, 0.0], np.eye(2)))
    with pytest.raises(ValueError, match="read-only"):
        gauss.mu[0] = 1.0


def test_new_params_on_a_mixture_rebuild_its_components():
    mixture = three_gaussians()
    other = GaussianMixture(3, random_state=0).fit(X).params_
    mixture.params = other
    np.testing.assert_array_equal(mixture[1].mu, other.means[1])
    np.testing.assert_allclose(mixture[1].cov, other.covariances[1])
    assert not np.shares_memory(mixture.params.means, other.means)
    with pytest.raises(TypeError, match="MixtureParams"):
        mixture.params = {"means": other.means}
    with pytest.raises(TypeError, match="MixtureParams"):
        Mixture.from_params(other.to_dict())


def test_the_estimator_keeps_its_own_copy_of_the_arrays_it_was_started_from():
    means, weights = np.array([[0.0, 0.0], [1.0, 1.0], [2.0, 2.0]]), np.array([0.2, 0.3, 0.5])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        gm = GaussianMixture(3, max_iter=0, means_init=means, weights_init=weights).fit(X)
    assert not np.shares_memory(gm.means_, means)
    assert not np.shares_memory(gm.weights_, weights)


# -- 2. a collapse with reg_covar=0 blamed a Gauss and left the Mixture half-updated --------


def test_a_collapse_without_reg_covar_is_said_and_leaves_the_mixture_as_it_was():
    mixture = three_gaussians(reg_covar=0).fit(X)
    before = state(mixture)
    with pytest.raises(ValueError, match=r"Component \d.* collapsed.*positive reg_covar") as error:
        mixture.fit(X[:3])
    assert "Gauss" not in str(error.value)
    assert_same_state(before, mixture)


def test_a_collapse_in_a_hand_made_m_step_is_said_and_changes_nothing():
    # Tight components on the three points: each takes one point, its scatter is 0.
    mixture = three_gaussians(reg_covar=0, variance=1e-4)
    mixture.expectation(X[:3])
    before = state(mixture)
    with pytest.raises(ValueError, match=r"Component \d.* collapsed.*positive reg_covar"):
        mixture.maximization(X[:3])
    assert_same_state(before, mixture)


# -- 3. select_model's summary said "every fit failed" when nothing had been fitted ---------


def test_a_summary_with_every_k_above_the_sample_count_says_so():
    text = select_model(IRIS[:5], n_components=[6, 10], covariance_types=["VVV"]).summary()
    first = text.splitlines()[0]
    assert "failed" not in first
    assert "6, 10" in first and "5 samples" in first and "nothing was fitted" in first


def synthetic_selection(kinds: tuple[str, ...]) -> selection_module.ModelSelection:
    """A table with one row of every status in ``kinds`` (K = 1, 2, ...)."""
    notes = {"degenerate": "a component emptied", "failed": "ValueError: nope"}
    rows = []
    for k, kind in enumerate(kinds, start=1):
        note = notes.get(kind, f"{k} components > 0 samples")
        rows.append(selection_module._empty_row("VVV", k, 2, kind, note))
    return selection_module._assemble(rows, "bic", 10.0, 1)


COMBINATIONS = [
    combo
    for size in (1, 2, 3)
    for combo in itertools.combinations(("degenerate", "failed", "skipped"), size)
]


@pytest.mark.parametrize("kinds", COMBINATIONS, ids="+".join)
def test_a_summary_that_chooses_nothing_names_exactly_what_happened(kinds):
    first = synthetic_selection(kinds).summary().splitlines()[0]
    assert first.startswith("No model could be chosen by BIC:")
    assert ("every fit failed" in first) == (kinds in {("failed",), ("failed", "skipped")})
    assert ("degenerate" in first) == ("degenerate" in kinds)
    assert ("failed" in first) == ("failed" in kinds)
    assert ("nope" in first) == ("failed" in kinds)  # what the failure said
    assert ("skipped" in first or "nothing was fitted" in first) == ("skipped" in kinds)


# -- 4. Mixture.fit's n_steps was blamed as max_iter ---------------------------------------


@pytest.mark.parametrize("n_steps", [-1, 1.5, "3", None, True])
def test_a_bad_n_steps_is_named_n_steps(n_steps):
    mixture = three_gaussians()
    before = state(mixture)
    with pytest.raises(ValueError, match="n_steps must be a whole number") as error:
        mixture.fit(X, n_steps=n_steps)
    assert "max_iter" not in str(error.value)
    assert_same_state(before, mixture)


# -- 5. the docs listed four covariance types of the 14 that work ---------------------------


@pytest.mark.parametrize("doc", [emcore.__doc__, Mixture.__doc__], ids=["emcore", "Mixture"])
def test_the_docs_list_all_fourteen_models(doc):
    assert all(re.search(rf"\b{name}\b", doc) for name in MCLUST_MODELS)


def test_every_model_name_is_exported_beside_scikit_learns_four():
    assert emcore.MCLUST_MODELS == MCLUST_MODELS and len(emcore.MCLUST_MODELS) == 14
    assert emcore.COVARIANCE_TYPES == ("full", "tied", "diag", "spherical")
    assert "MCLUST_MODELS" in emcore.__all__
    for name in emcore.MCLUST_MODELS:
        Mixture([Gauss([0.0, 0.0], np.eye(2)), Gauss([3.0, 3.0], np.eye(2))], name).fit(X)


# -- 6. "ALL" got no hint; huge criteria printed hundreds of digits -------------------------


@pytest.mark.parametrize("types", ["ALL", ["VVV", "vvv"], "every"])
def test_an_unknown_model_name_mentions_all(types):
    with pytest.raises(ValueError, match="covariance_types='all'"):
        select_model(IRIS, 2, covariance_types=types)


def test_a_summary_prints_huge_criteria_in_few_digits_without_warnings():
    rows = []
    for k, bic in enumerate([3.2e300, 3.3e300, 7.5e200], start=1):
        row = selection_module._empty_row("VVV", k, 2, "ok", "")
        log_likelihood = -bic / 2
        row.update(log_likelihood=log_likelihood, bic=bic, aic=bic, icl=bic)
        rows.append(row)
    selection = selection_module._assemble(rows, "bic", 1e299, 1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        text = selection.summary()
    assert max(len(run) for run in re.findall(r"\d+", text)) < 12, text
    assert "7.5e+200" in text
