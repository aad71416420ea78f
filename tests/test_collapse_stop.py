"""A run stops once a component has stayed collapsed (EM's ``collapse_patience``), as mclust
stops at a singular covariance: the same stop on every engine, and select_model's starts on
wide data no longer climb towards unbounded likelihood for max_iter iterations."""

import numpy as np
import pytest
from sklearn.datasets import make_blobs

from emcore import EM, MixtureParams, initial_params, select_model
from emcore.covariance import MCLUST_MODELS, covariance_model
from emcore.engine import FLOOR_CHECK_EVERY, SHARED_VOLUME_CHECK_EVERY, floor_check_every
from emcore.lockstep import run_together
from emcore.selection import COLLAPSE_PATIENCE

# The models of the floor-check tests below (EVE, EVV) share a volume: checks come this often.
CHECK_EVERY = SHARED_VOLUME_CHECK_EVERY

X, _ = make_blobs(n_samples=300, centers=3, random_state=2)
# Three blobs and one far point, with a component sitting on the point from the start.
DATA = np.vstack([X, [[50.0, 50.0]]])


def collapsing_params() -> MixtureParams:
    return MixtureParams.from_covariances(
        np.array([0.5, 0.49, 0.01]),
        np.array([X[:150].mean(0), X[150:].mean(0), [50.0, 50.0]]),
        np.stack([np.eye(2) * 9.0, np.eye(2) * 9.0, np.eye(2)]),
    )


def first_collapse(run: EM) -> int:
    return next(event.iteration for event in run.events if event.kind == "collapsed")


@pytest.mark.parametrize("patience", [0, 2, 4])
def test_run_stops_patience_iterations_after_the_collapse(patience):
    run = EM(DATA, collapsing_params(), tol=1e-12, max_iter=200, collapse_patience=patience)
    run.run()
    assert run.stopped and not run.converged and run.finished
    assert run.iteration == first_collapse(run) + patience
    stop = [event for event in run.events if event.kind == "stopped"]
    assert len(stop) == 1 and stop[0].iteration == run.iteration
    assert "component(s) 3 stayed collapsed" in stop[0].message
    assert run.stage == "E" and run.estep is not None  # ends evaluated, as a converged run
    run.run()  # nothing more to do
    assert run.iteration == first_collapse(run) + patience


def test_without_patience_the_run_goes_on():
    run = EM(DATA, collapsing_params(), tol=1e-12, max_iter=30).run()
    assert not run.stopped and run.iteration == 30
    assert "stopped" not in [event.kind for event in run.events]


def test_a_run_without_collapse_is_unaffected():
    params = MixtureParams.from_covariances(
        np.full(3, 1 / 3),
        np.array([X[:100].mean(0), X[100:200].mean(0), X[200:].mean(0)]),
        np.stack([np.eye(2)] * 3),
    )
    plain = EM(X, params, tol=1e-8, max_iter=100).run()
    patient = EM(X, params, tol=1e-8, max_iter=100, collapse_patience=0).run()
    assert not patient.stopped and patient.converged
    assert patient.log_likelihoods == plain.log_likelihoods


def test_every_engine_stops_at_the_same_state():
    def run(**settings):
        return EM(
            DATA, collapsing_params(), tol=1e-12, max_iter=200, collapse_patience=3, **settings
        )

    stepped = run(record="params").run()  # the reference steps, one by one
    fused = run(record="none").run()  # the fused passes
    together = run(record="none")
    assert run_together([together]) == {}
    for other in (fused, together):
        assert other.stopped and other.iteration == stepped.iteration
        assert [(e.kind, e.iteration) for e in other.events] == [
            (e.kind, e.iteration) for e in stepped.events
        ]
        np.testing.assert_allclose(other.log_likelihoods, stepped.log_likelihoods, rtol=1e-10)
        np.testing.assert_allclose(other.params.means, stepped.params.means, rtol=1e-10)


def test_reseeding_a_stopped_run_lets_it_go_on():
    run = EM(DATA, collapsing_params(), tol=1e-12, max_iter=200, collapse_patience=1).run()
    stopped_at = run.iteration
    run.reseed(2, rng=0)
    assert not run.stopped
    run.run(max_iter=3)
    assert run.iteration > stopped_at


@pytest.mark.parametrize("bad", [-1, 1.5, True, "3"])
def test_bad_patience_is_a_sentence(bad):
    with pytest.raises(ValueError, match="collapse_patience must be a whole number"):
        EM(X, collapsing_params(), collapse_patience=bad)


def test_wide_data_starts_stop_at_the_collapse():
    # 30 points per cluster in 40 dimensions: a component with its own shape can lie flat in
    # a direction where its points have no spread, so its k-means start collapses at once and
    # then climbs for as long as it is let (before: max_iter iterations of EVE's sweeps per
    # start; mclust reports such cells as NA at once).
    rng = np.random.default_rng(0)
    wide = rng.normal(size=(60, 40))
    wide[:30] += 3.0
    table = select_model(
        wide, n_components=[2, 3], covariance_types=["VVE", "EVV"], max_iter=60
    ).table
    degenerate = table[table["status"] == "degenerate"]
    assert len(degenerate) >= 3
    assert (degenerate["n_iter"] <= COLLAPSE_PATIENCE + 1).all()  # before: up to max_iter


def _two_groups_in_ten_columns() -> np.ndarray:
    rng = np.random.default_rng(0)
    return np.r_[rng.normal(size=(30, 10)), rng.normal(2, 1, size=(30, 10))]


def test_a_shared_volume_fit_resting_on_the_floor_stops_at_the_second_check():
    # EVE on 60 x 10 with K = 6: components flat in some direction are held up by the
    # shared volume times the floor, so no "collapsed" event ever comes; the runs used to
    # climb for 609 and 1,000 iterations (15 s for the cell) and end degenerate anyway.
    table = select_model(_two_groups_in_ten_columns(), n_components=[6], covariance_types="EVE")
    row = table.table.iloc[0]
    assert row["status"] == "degenerate"
    assert row["n_iter"] == 2 * CHECK_EVERY


@pytest.mark.parametrize("name", MCLUST_MODELS)
def test_only_a_shared_volume_over_own_shapes_brings_the_floor_check_forward(name):
    # With their own volume (or one shape for all) a collapsing component shows as
    # "collapsed" within the patience, so the check, one more M-step, stays a backstop
    # every 50 iterations; for EVI, EVE and EVV it is the only stop and comes every 10
    # (the runs of the test above used to climb 100 iterations before it stopped them).
    hidden = name in {"EVI", "EVE", "EVV"}
    expected = SHARED_VOLUME_CHECK_EVERY if hidden else FLOOR_CHECK_EVERY
    assert floor_check_every(covariance_model(name)) == expected
    start = initial_params(DATA, 2, name, "kmeans", random_state=0)
    run = EM(DATA, start, tol=0.0, collapse_patience=5)  # tol=0: no convergence first
    run.run(max_iter=SHARED_VOLUME_CHECK_EVERY)
    assert run.floor_check_due == hidden


def test_every_engine_stops_on_the_floor_check_alike():
    data = _two_groups_in_ten_columns()
    start = initial_params(data, 6, "EVE", "kmeans", random_state=0)

    def run(**settings):
        return EM(data, start, tol=1e-5, max_iter=1000, collapse_patience=5, **settings)

    stepped = run(record="params").run()
    fused = run(record="none").run()
    together = run(record="none")
    assert run_together([together]) == {}
    assert stepped.stopped and stepped.iteration == 2 * CHECK_EVERY
    assert "rested on reg_covar" in stepped.events[-1].message
    for other in (fused, together):
        assert other.stopped and other.iteration == stepped.iteration
        np.testing.assert_allclose(other.log_likelihoods, stepped.log_likelihoods, rtol=1e-9)
    plain = EM(data, start, tol=1e-5, max_iter=2 * CHECK_EVERY + 5, record="none").run()
    assert not plain.stopped and plain.iteration > stepped.iteration  # without patience


def test_a_reseed_after_the_floor_stop_gets_two_fresh_checks():
    data = _two_groups_in_ten_columns()
    start = initial_params(data, 6, "EVE", "kmeans", random_state=0)
    run = EM(data, start, tol=1e-5, max_iter=1000, collapse_patience=5).run()
    assert run.stopped and run.iteration == 2 * CHECK_EVERY
    run.reseed(0, rng=0)
    assert not run.stopped and not run.converged
    # It used to stop again at once (the reseed's own E-step fell on a check, and one more
    # check made two); the reseeded parameters are judged afresh, at two checks in a row.
    run.run(max_iter=CHECK_EVERY - 1)
    assert not run.stopped and run.iteration == 3 * CHECK_EVERY - 1
    run.run()
    assert not run.stopped or run.iteration >= 3 * CHECK_EVERY


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_a_stopped_run_is_not_also_converged(seed):
    # The E-step after a collapse stop could also pass the convergence test, and the table
    # then said converged for a start that stopped (a fresh user's: full, K = 4, seed 2).
    data = _two_groups_in_ten_columns()
    start = initial_params(data, 4, "full", "random_from_data", random_state=seed)
    run = EM(data, start, tol=1e-5, max_iter=300, collapse_patience=5).run()
    assert run.stopped and not run.converged
    assert "converged" not in [event.kind for event in run.events]


def test_the_patience_sentence_says_none_is_allowed():
    with pytest.raises(ValueError, match=r"at least 0 \(or None\)"):
        EM(X, collapsing_params(), collapse_patience=-1)


# -- the floor check on every engine: judged from the M-step's sufficient statistics --------


def _with_holes(data: np.ndarray, fraction: float = 0.05) -> np.ndarray:
    holes = data.copy()
    holes[np.random.default_rng(1).random(holes.shape) < fraction] = np.nan
    return holes


def test_with_missing_values_a_fit_resting_on_the_floor_is_judged_and_stopped():
    # With 5% of the cells missing the floor check used to be skipped (it needed complete
    # rows): EVV, K = 5 climbed for 419 iterations and was reported "ok". Its expected
    # statistics (as EM's own M-step takes them) show the unregularised estimate singular.
    holes = _with_holes(_two_groups_in_ten_columns())
    row = select_model(holes, n_components=[5], covariance_types="EVV", missing="em").table
    row = row.iloc[0]
    assert row["status"] == "degenerate"
    assert row["n_iter"] <= 2 * CHECK_EVERY


def test_the_floor_check_with_missing_values_uses_the_expected_statistics():
    holes = _with_holes(_two_groups_in_ten_columns())
    start = initial_params(holes, 6, "EVE", "kmeans", random_state=0)
    run = EM(holes, start, tol=1e-5, max_iter=400, collapse_patience=5, missing="em").run()
    assert run.stopped and run.iteration % CHECK_EVERY == 0  # at a check (the 5th here)
    assert "rested on reg_covar" in run.events[-1].message


def test_on_dask_the_floor_check_stops_the_run_where_the_memory_run_stops():
    da = pytest.importorskip("dask.array")
    from emcore.dask_engine import DaskEM

    data = _two_groups_in_ten_columns()
    start = initial_params(data, 6, "EVE", "kmeans", random_state=0)
    settings = {"tol": 1e-5, "max_iter": 1000, "collapse_patience": 5, "record": "none"}
    memory = EM(data, start, **settings).run()
    chunked = DaskEM(da.from_array(data, chunks=25), start, **settings).run()
    assert memory.stopped and chunked.stopped  # the Dask run used to climb 1,000 iterations
    assert chunked.iteration == memory.iteration == 2 * CHECK_EVERY
    np.testing.assert_allclose(chunked.log_likelihoods, memory.log_likelihoods, rtol=1e-9)


def test_a_dask_table_judges_a_cell_resting_on_the_floor_as_memory_does():
    # select_model on Dask judged a fit by its covariances alone: EVE, K = 6 was "ok" after
    # 1,000 iterations where the table in memory says degenerate (mclust: NA).
    da = pytest.importorskip("dask.array")
    data = _two_groups_in_ten_columns()
    memory = select_model(data, n_components=[6], covariance_types="EVE").table.iloc[0]
    chunked = select_model(
        da.from_array(data, chunks=20), n_components=[6], covariance_types="EVE"
    ).table.iloc[0]
    assert memory["status"] == chunked["status"] == "degenerate"
    assert chunked["n_iter"] == memory["n_iter"] == 2 * CHECK_EVERY
