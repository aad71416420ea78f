"""Stepping EM by halves and wholes, its history, convergence and events."""

import numpy as np
import pytest
from sklearn.datasets import make_blobs

from emcore import EM, MixtureParams, initial_params

X, _ = make_blobs(n_samples=300, centers=3, random_state=2)


def start(method="random_from_data", k=3, seed=0, covariance_type="full"):
    return initial_params(X, k, covariance_type, method, random_state=seed)


def test_half_steps_alternate_and_are_recorded():
    run = EM(X, start(), record="resp")
    assert (run.stage, run.iteration, run.log_likelihood) == ("start", 0, None)
    run.e_step()
    assert (run.stage, run.iteration) == ("E", 0)
    params_before = run.params
    run.m_step()
    assert (run.stage, run.iteration) == ("M", 1)
    assert run.params is not params_before
    assert run.log_likelihood is None
    run.e_step()
    stages = [(s.stage, s.iteration) for s in run.history]
    assert stages == [("start", 0), ("E", 0), ("M", 1), ("E", 1)]
    # After an M-step the picture's colours (responsibilities) stay; after an E-step they change.
    assert run.history[2].resp is run.history[1].resp
    assert run.history[3].params is run.history[2].params
    assert not np.allclose(run.history[3].resp, run.history[1].resp)


def test_step_always_ends_after_an_e_step():
    run = EM(X, start())
    run.step()
    assert (run.stage, run.iteration) == ("E", 1)
    run.m_step()
    run.step()
    assert (run.stage, run.iteration) == ("E", 2)
    assert len(run.log_likelihoods) == 3


def test_m_step_first_does_the_missing_e_step():
    run = EM(X, start())
    run.m_step()
    assert run.iteration == 1
    assert [s.stage for s in run.history] == ["start", "E", "M"]


def test_run_converges_with_non_decreasing_log_likelihood():
    run = EM(X, start("random", seed=4), tol=1e-8, max_iter=500).run()
    assert run.converged
    lls = np.array(run.log_likelihoods)
    assert (np.diff(lls) >= -1e-6 * np.abs(lls[1:])).all()
    assert run.events[-1].kind == "converged"
    assert len(run.log_likelihoods) == run.iteration + 1


def test_run_respects_max_iter_and_can_continue():
    run = EM(X, start("random", seed=1), tol=0.0, max_iter=5).run()
    assert run.iteration == 5 and not run.converged
    run.run(max_iter=3)
    assert run.iteration == 8


def test_history_limit_bounds_memory():
    run = EM(X, start(), tol=0.0, max_iter=50, record="resp", history_limit=10).run()
    assert len(run.history) == 10
    assert run.truncated
    assert run.iteration == 50


def test_record_none_keeps_no_history_but_same_result():
    recorded = EM(X, start(seed=3), tol=0.0, max_iter=20).run()
    bare = EM(X, start(seed=3), tol=0.0, max_iter=20, record="none").run()
    assert bare.history == []
    np.testing.assert_allclose(bare.params.means, recorded.params.means)
    np.testing.assert_allclose(bare.log_likelihoods, recorded.log_likelihoods)


def test_component_that_loses_its_points_is_reported_not_reseeded():
    # Component 3 starts far from every point: it loses everything in the first M-step.
    params = MixtureParams.from_covariances(
        np.full(3, 1 / 3),
        np.array([[X[:, 0].min(), 0.0], [X[:, 0].max(), 0.0], [1e6, 1e6]]),
        np.stack([np.eye(2) * 4.0] * 3),
    )
    run = EM(X, params, tol=1e-6).run()
    kinds = [(e.kind, e.component) for e in run.events]
    assert ("emptied", 2) in kinds
    assert run.params.weights[2] == 0.0
    np.testing.assert_array_equal(run.params.means[2], [1e6, 1e6])
    assert np.isfinite(run.log_likelihoods).all()


def test_reseed_is_explicit_and_recorded():
    params = MixtureParams.from_covariances(
        np.full(3, 1 / 3),
        np.array([[X[:, 0].min(), 0.0], [X[:, 0].max(), 0.0], [1e6, 1e6]]),
        np.stack([np.eye(2) * 4.0] * 3),
    )
    run = EM(X, params, tol=1e-6).run()
    run.reseed(2, rng=0)
    assert run.events[-1].kind == "reseeded"
    assert run.params.weights[2] > 0
    assert run.stage == "E"
    run.run()
    assert run.params.weights[2] > 0
    assert np.isfinite(run.log_likelihoods).all()


def test_collapse_onto_one_point_is_reported():
    data = np.vstack([X, [[50.0, 50.0]]])
    params = MixtureParams.from_covariances(
        np.array([0.5, 0.49, 0.01]),
        np.array([X[:150].mean(0), X[150:].mean(0), [50.0, 50.0]]),
        np.stack([np.eye(2) * 9.0, np.eye(2) * 9.0, np.eye(2)]),
    )
    run = EM(data, params, tol=1e-6).run()
    assert ("collapsed", 2) in [(e.kind, e.component) for e in run.events]
    assert np.isfinite(run.log_likelihoods).all()


@pytest.mark.parametrize("bad", [{"tol": -1.0}, {"reg_covar": float("nan")}])
def test_bad_settings_are_clear_errors(bad):
    with pytest.raises(ValueError, match="must be a number"):
        EM(X, start(), **bad)


@pytest.mark.parametrize("covariance_type", ["full", "tied", "diag", "spherical"])
def test_smallest_eigenvalues_are_those_of_the_full_matrices(covariance_type):
    # The collapse check asks each covariance type; diag and spherical read them off.
    params = start(covariance_type=covariance_type)
    model = params.model
    smallest = model.smallest_eigenvalues(params.covariances, params.n_components)
    expected = np.linalg.eigvalsh(params.full_covariances)[:, 0]
    np.testing.assert_allclose(smallest, expected, rtol=1e-12)


def test_seeded_random_state_is_a_fresh_random_state():
    # Reseeding a kept RandomState must give RandomState(seed)'s stream, every time.
    from emcore.init import check_random_state, seeded_random_state

    for seed in (0, 7, 2**31 - 2):
        reused = seeded_random_state(seed, "test")
        reused.random_sample(5)  # used, then seeded again: no trace of the use
        reused = seeded_random_state(seed, "test")
        fresh = np.random.RandomState(seed)
        np.testing.assert_array_equal(reused.random_sample(20), fresh.random_sample(20))
        np.testing.assert_array_equal(
            reused.randint(0, 2**31 - 1, 5), fresh.randint(0, 2**31 - 1, 5)
        )
        np.testing.assert_array_equal(reused.standard_normal(3), fresh.standard_normal(3))
    assert check_random_state(3).randint(100) == np.random.RandomState(3).randint(100)
    state = np.random.RandomState(1)
    assert check_random_state(state) is state


# -- fault 1: a tied fit with an emptied component is a true EM -----------------------------


def test_tied_run_with_an_emptied_component_is_monotone_and_ends_at_a_fixed_point():
    rng = np.random.default_rng(0)
    data = np.vstack([rng.normal(0, 1, (10, 2)), rng.normal(6, 1, (10, 2))])
    start = MixtureParams.from_covariances(
        np.full(3, 1 / 3), np.array([[0.0, 0.0], [6.0, 6.0], [1000.0, 1000.0]]), np.eye(2), "tied"
    )
    for record in ("params", "none"):  # the reference steps and the fast path
        run = EM(data, start, tol=1e-12, max_iter=500, record=record).run()
        assert run.converged and run.params.empty.tolist() == [False, False, True]
        assert any(event.kind == "emptied" for event in run.events)
        lls = np.array(run.log_likelihoods)
        assert (np.diff(lls) >= -1e-12 * np.abs(lls[1:])).all(), record
        # One more EM iteration from the converged fit changes nothing.
        again = EM(data, run.params, tol=0.0, max_iter=1).run()
        np.testing.assert_allclose(again.params.covariances, run.params.covariances, rtol=1e-9)
        np.testing.assert_allclose(again.params.means, run.params.means, rtol=1e-9)


@pytest.mark.parametrize("record", ["none", "params", "resp"])
def test_a_repeated_e_step_changes_nothing(record):
    # A student pressing E twice: the second E-step of the same parameters used to list the
    # log-likelihood again, which the stopping rule read as a change of 0 (converged).
    plain = EM(X, start("kmeans"), tol=1e-8, record=record).run()
    run = EM(X, start("kmeans"), tol=1e-8, record=record)
    first = run.e_step()
    assert run.e_step() is first
    assert len(run.log_likelihoods) == 1
    run.m_step()
    run.e_step()
    snapshots = len(run.history)
    run.e_step()
    assert len(run.log_likelihoods) == 2 and len(run.history) == snapshots
    assert not run.converged
    run.run()  # with record="none" by fused passes after the hand steps: equal to rounding
    np.testing.assert_allclose(run.log_likelihoods, plain.log_likelihoods, rtol=1e-10)
    assert run.converged and run.iteration == plain.iteration


def test_no_convergence_is_declared_across_a_reseed():
    # The test compared the re-seeded parameters' log-likelihood with the one before the
    # reseed: with a loose tol a reseed could end the run with no EM step (a fresh user's
    # sweep: 4 of 200 reseeds at tol=0.01).
    data, _ = make_blobs(300, centers=3, random_state=0)
    start = initial_params(data, 5, "full", "k-means++", random_state=8)
    run = EM(data, start, tol=0.01, record="params", max_iter=200).run()
    for component in range(4):  # reseeds in a row, as a student clicking
        run.reseed(component, rng=0)
        assert not run.converged, f"reseed({component}) declared convergence"
    before = run.iteration
    run.run()
    assert run.iteration > before
