"""Runs stepped together (emcore.lockstep) end where each run alone ends."""

import numpy as np
import pytest
from sklearn.datasets import load_iris

import emcore.lockstep as lockstep
from emcore import EM
from emcore.covariance import MCLUST_MODELS
from emcore.lockstep import run_together
from emcore.steps import m_step

IRIS = load_iris().data


def fresh(model, k, seed, X=IRIS, weights=None, **settings):
    """A run from a random partition's M-step, as select_model starts one."""
    labels = np.random.default_rng(seed).integers(0, k, len(X))
    params = m_step(X, np.eye(k)[labels], model, 1e-6, sample_weight=weights)
    options = {"tol": 1e-6, "max_iter": 200, **settings}
    return EM(X, params, record="none", sample_weight=weights, **options)


def assert_same_end(together, alone):
    assert together.iteration == alone.iteration
    assert together.converged == alone.converged
    assert [(e.kind, e.component, e.iteration) for e in together.events] == [
        (e.kind, e.component, e.iteration) for e in alone.events
    ]
    np.testing.assert_allclose(together.log_likelihoods, alone.log_likelihoods, rtol=1e-10)
    for name in ("weights", "means", "covariances"):
        np.testing.assert_allclose(
            getattr(together.params, name), getattr(alone.params, name), rtol=1e-8, atol=1e-12
        )
    np.testing.assert_allclose(together.estep.resp, alone.estep.resp, atol=1e-10)
    np.testing.assert_allclose(together.estep.log_prob, alone.estep.log_prob, rtol=1e-10)
    assert together.stage == alone.stage == "E"


@pytest.mark.parametrize("k", [1, 3, 5])
def test_every_model_ends_as_when_run_alone(k):
    settings = [(model, seed) for model in MCLUST_MODELS for seed in (0, 1)]
    together = [fresh(model, k, seed) for model, seed in settings]
    alone = [fresh(model, k, seed).run() for model, seed in settings]
    assert run_together(together) == {}
    for a, b in zip(together, alone, strict=True):
        assert_same_end(a, b)


def test_mixed_k_tolerances_and_budgets_and_small_batches(monkeypatch):
    # Batches of two runs: the same ends as one batch, whatever the grouping.
    monkeypatch.setattr(lockstep, "BATCH_ELEMENTS", 2 * 4 * len(IRIS) * 4)
    settings = [("VVV", 2, 0, 1e-3, 100), ("EVE", 4, 1, 1e-8, 7), ("VII", 4, 2, 1e-6, 0)]
    together = [fresh(m, k, s, tol=tol, max_iter=it) for m, k, s, tol, it in settings]
    alone = [fresh(m, k, s, tol=tol, max_iter=it).run() for m, k, s, tol, it in settings]
    run_together(together)
    for a, b in zip(together, alone, strict=True):
        assert_same_end(a, b)
    assert together[1].iteration == 7 and not together[1].converged
    assert together[2].iteration == 0 and len(together[2].log_likelihoods) == 1


def test_sample_weights_count_rows():
    weights = np.random.default_rng(3).integers(0, 4, len(IRIS)).astype(float)
    together = [fresh(m, 3, 0, weights=weights) for m in ("VEV", "EEI", "tied")]
    alone = [fresh(m, 3, 0, weights=weights).run() for m in ("VEV", "EEI", "tied")]
    run_together(together)
    for a, b in zip(together, alone, strict=True):
        assert_same_end(a, b)


def test_a_failing_m_step_stops_its_run_only():
    # Three repeated points and a spread-out cloud: with reg_covar=0, VVV's M-step on the
    # component that sits on the repeated points cannot go on; the round one can.
    X = np.vstack(
        [np.repeat([[5.0, 5.0]], 10, axis=0), np.random.default_rng(0).normal(size=(40, 2))]
    )
    labels = np.r_[np.zeros(10, int), np.ones(40, int)]
    failing = EM(X, m_step(X, np.eye(2)[labels], "VEV", 1e-6), 0.0, record="none", max_iter=50)
    sound = EM(X, m_step(X, np.eye(2)[labels], "EII", 1e-6), 0.0, record="none", max_iter=50)
    errors = run_together([failing, sound])
    assert list(errors) == [0] and "singular" in str(errors[0])
    assert failing.stage == "E" and failing.estep is not None
    assert sound.converged and np.isfinite(sound.log_likelihoods[-1])


def test_runs_must_be_fresh_unrecorded_and_on_the_same_data():
    stepped = fresh("VVV", 2, 0)
    stepped.step()
    with pytest.raises(ValueError, match="fresh runs"):
        run_together([stepped])
    recorded = EM(IRIS, fresh("VVV", 2, 0).params, record="params")
    with pytest.raises(ValueError, match="record='none'"):
        run_together([recorded])
    other = fresh("VVV", 2, 0, X=IRIS + 1.0)
    with pytest.raises(ValueError, match="same data"):
        run_together([fresh("VVV", 2, 0), other])
    assert run_together([]) == {}


def test_the_same_run_twice_is_refused():
    run = fresh("VVV", 2, 0)
    with pytest.raises(ValueError, match="distinct runs"):
        run_together([run, run])


def test_a_failing_check_of_new_parameters_stops_its_run_only(monkeypatch):
    # The run's own check of its new parameters raising (as eigvalsh does on NaN) ends
    # that run with the error; the others go on to the end they reach alone.
    checks = EM._degeneracy_events

    def failing_for_eve(self, previous):
        if self.params.covariance_type == "EVE":
            raise np.linalg.LinAlgError("Eigenvalues did not converge")
        return checks(self, previous)

    alone = fresh("VVV", 3, 0).run()
    failing, sound = fresh("EVE", 3, 0), fresh("VVV", 3, 0)
    monkeypatch.setattr(EM, "_degeneracy_events", failing_for_eve)
    errors = run_together([failing, sound])
    assert list(errors) == [0] and "did not converge" in str(errors[0])
    assert failing.stage == "M" and failing.estep is None
    assert_same_end(sound, alone)
