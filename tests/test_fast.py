"""The fast path (:mod:`emcore.fast`) against the reference steps, and ``EM.run``'s use of it.

The reference is the plain loop of :func:`emcore.steps.e_step` and :func:`emcore.steps.m_step`
that the app teaches from; the fast path must give the same numbers (to 1e-10 relative) in
every situation the reference handles: all covariance types, both regularisations, chunk and
thread boundaries, empty and collapsed components, points far from every component.
No timing assertions here: speed is measured by ``bench/bench_em.py``.
"""

import tracemalloc

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.datasets import make_blobs

from emcore import COVARIANCE_TYPES, EM, MixtureParams, covariance_model, e_step, m_step
from emcore.fast import FastEM

RTOL = 1e-10

# 1001 points: not a multiple of the chunk sizes used below.
X, _ = make_blobs(
    n_samples=1001, centers=3, n_features=3, cluster_std=[1.0, 2.0, 0.5], random_state=1
)


def start(
    data: np.ndarray, k: int, covariance_type: str, seed: int = 0, scale: float = 1.0
) -> MixtureParams:
    """K data points as means, the data's covariance (times ``scale``) for every component."""
    rng = np.random.default_rng(seed)
    d = data.shape[1]
    model = covariance_model(covariance_type)
    full = np.broadcast_to(np.cov(data.T) * scale, (k, d, d))
    return MixtureParams.from_covariances(
        np.full(k, 1 / k),
        data[rng.choice(len(data), k, replace=False)],
        model.from_full(full, np.ones(k)),
        covariance_type,
    )


def reference_run(data, params, n_iter, regularization="floor", reg_covar=1e-6):
    """Log-likelihoods, final parameters and final E-step of the reference loop."""
    log_likelihoods = []
    for _ in range(n_iter):
        estep = e_step(data, params)
        log_likelihoods.append(estep.log_likelihood)
        params = m_step(data, estep.resp, params.covariance_type, reg_covar, params, regularization)
    final = e_step(data, params)
    return [*log_likelihoods, final.log_likelihood], params, final


def fast_run(fast: FastEM, params: MixtureParams, n_iter: int):
    """The same loop with the fused passes."""
    log_likelihoods = []
    for _ in range(n_iter):
        current = fast.e_step(params)
        log_likelihoods.append(current.log_likelihood)
        params = fast.m_step(current, params)
    final = fast.e_step(params, keep_resp=True)
    return [*log_likelihoods, final.log_likelihood], params, final.estep


def relative(ours: np.ndarray, theirs: np.ndarray) -> float:
    ours, theirs = np.asarray(ours, dtype=float), np.asarray(theirs, dtype=float)
    scale = np.max(np.abs(theirs))
    return float(np.max(np.abs(ours - theirs)) / (scale if scale > 0 else 1.0))


def assert_same(ours, theirs, rtol: float = RTOL) -> None:
    (lls, params, estep), (ref_lls, ref_params, ref_estep) = ours, theirs
    np.testing.assert_allclose(lls, ref_lls, rtol=rtol)
    for name in ("weights", "means", "covariances", "precisions_cholesky"):
        assert relative(getattr(params, name), getattr(ref_params, name)) < rtol, name
    np.testing.assert_array_equal(params.empty, ref_params.empty)
    assert relative(estep.resp, ref_estep.resp) < rtol
    assert relative(estep.log_prob, ref_estep.log_prob) < rtol
    finite = np.isfinite(ref_estep.log_resp)
    np.testing.assert_array_equal(np.isfinite(estep.log_resp), finite)
    np.testing.assert_allclose(
        estep.log_resp[finite], ref_estep.log_resp[finite], rtol=rtol, atol=100 * rtol
    )


# -- equality with the reference steps --------------------------------------------------------


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("regularization", ["floor", "add"])
@pytest.mark.parametrize(("chunk_rows", "n_threads"), [(None, 1), (97, 2), (97, 1)])
def test_fast_iterations_equal_the_reference(
    covariance_type, regularization, chunk_rows, n_threads
):
    params = start(X, 4, covariance_type)
    fast = FastEM(
        X, covariance_type, 1e-6, regularization, chunk_rows=chunk_rows, n_threads=n_threads
    )
    assert_same(fast_run(fast, params, 15), reference_run(X, params, 15, regularization))


@pytest.mark.parametrize("chunk_rows", [1, 2, 1000, 1001, 1002])
def test_chunk_boundaries_do_not_matter(chunk_rows):
    params = start(X, 3, "full", seed=2)
    fast = FastEM(X, "full", chunk_rows=chunk_rows, n_threads=2)
    assert_same(fast_run(fast, params, 5), reference_run(X, params, 5))


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_empty_components_behave_like_the_reference(covariance_type):
    # Component 3 starts far from every point and loses them all in the first M-step;
    # component 4 starts with weight 0 and must stay out.
    params = start(X, 4, covariance_type)
    means = params.means.copy()
    means[2] = 1e6
    params = MixtureParams.from_covariances(
        np.array([0.4, 0.3, 0.3, 0.0]), means, params.covariances, covariance_type
    )
    ours = fast_run(FastEM(X, covariance_type, chunk_rows=100), params, 6)
    assert_same(ours, reference_run(X, params, 6))
    final = ours[1]
    assert final.weights[2] == 0.0 and final.weights[3] == 0.0
    np.testing.assert_array_equal(final.means[2:], params.means[2:])


def test_points_far_from_every_component_stay_in_log_space():
    # Densities of these points underflow to exactly 0 in linear space (log density < -745).
    far = np.vstack([X, [[60.0, -60.0, 60.0], [-80.0, 0.0, 80.0]]])
    params = start(far[:-2], 3, "full", seed=3, scale=0.1)
    assert e_step(far[-2:], params).log_prob.max() < -745
    ours = fast_run(FastEM(far, "full", chunk_rows=128), params, 8)
    assert np.isfinite(ours[0]).all()
    assert_same(ours, reference_run(far, params, 8))


@pytest.mark.parametrize("covariance_type", ["full", "diag", "spherical"])
def test_collapsed_component_far_from_the_centre_is_evaluated_on_its_own(covariance_type):
    # A component sits on one far point with a variance of reg_covar: the expanded form
    # around the data's centre would lose 12 digits, so the fast path takes it on its own.
    data = np.vstack([X, [[40.0, 40.0, 40.0]]])
    params = start(X, 4, covariance_type, seed=4)
    model = covariance_model(covariance_type)
    full = params.full_covariances
    full[3] = np.eye(3) * 1e-6
    means = params.means.copy()
    means[3] = 40.0
    params = MixtureParams.from_covariances(
        np.array([0.3, 0.3, 0.3, 0.1]), means, model.from_full(full), covariance_type
    )
    fast = FastEM(data, covariance_type, 1e-6, "add", chunk_rows=100)
    assert sum(fast.cancellation(params))[3] * np.finfo(float).eps > 1e-10
    assert_same(fast_run(fast, params, 6), reference_run(data, params, 6, "add"))


def test_component_that_collapses_far_from_where_it_was_gets_a_second_pass():
    # Component 3 jumps to the lone far point and collapses onto it in one M-step: its moments
    # around its old mean lose digits, so the M-step is redone around its new mean.
    data = np.vstack([X, [[50.0, 50.0, 50.0]]])
    params = start(X, 4, "full", seed=5)
    means = params.means.copy()
    means[3] = 44.0
    covariances = params.covariances.copy()
    covariances[3] = np.eye(3) * 9.0
    params = MixtureParams.from_covariances(
        np.array([0.33, 0.33, 0.33, 0.01]), means, covariances, "full"
    )
    fast = FastEM(data, "full", 1e-6, "add")
    moved = fast.m_step(fast.e_step(params), params)
    offset, _ = fast.cancellation(moved, origins=params.means)
    assert offset[3] * np.finfo(float).eps > 1e-10
    assert_same(fast_run(fast, params, 4), reference_run(data, params, 4, "add"))


def test_tied_covariance_too_tight_for_the_expanded_form_uses_the_reference_steps():
    rng = np.random.default_rng(6)
    data = np.vstack([rng.normal(-50, 0.01, (200, 2)), rng.normal(50, 0.01, (200, 2))])
    params = MixtureParams.from_covariances(
        np.array([0.5, 0.5]), np.array([[-50.0, -50.0], [50.0, 50.0]]), np.eye(2) * 1e-4, "tied"
    )
    fast = FastEM(data, "tied", 1e-8, "add")
    assert fast.e_step(params).dtype is None  # the reference E-step
    assert_same(fast_run(fast, params, 4), reference_run(data, params, 4, "add", 1e-8))


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    covariance_type=st.sampled_from(COVARIANCE_TYPES),
    log_scale=st.floats(-6, 6),
    offset=st.floats(-1e6, 1e6),
)
def test_fast_equals_reference_at_any_scale_and_offset(seed, covariance_type, log_scale, offset):
    data = X * 10.0**log_scale + offset
    params = start(data, 3, covariance_type, seed=seed)
    fast = FastEM(data, covariance_type, chunk_rows=256)
    # Both paths round every coordinate to eps * |offset|, i.e. eps * |offset| / scale in
    # units of the clusters' spread: agreement can be no better than a multiple of that.
    conditioning = np.finfo(float).eps * abs(offset) / 10.0**log_scale
    rtol = 1e-10 + 1e3 * conditioning
    assert_same(fast_run(fast, params, 5), reference_run(data, params, 5), rtol=rtol)


# -- float32 ----------------------------------------------------------------------------------


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_float32_mode_is_within_its_stated_accuracy(covariance_type):
    # Stated in emcore.fast: per pass, log-likelihoods to about 1e-7 relative and M-step
    # parameters to about 1e-6 of their largest entry. Checked along the reference's path
    # (over many iterations EM itself amplifies any difference where the likelihood is flat).
    params = start(X, 3, covariance_type, seed=7)
    single = FastEM(X, covariance_type, dtype=np.float32, chunk_rows=300)
    for _ in range(20):
        current = single.e_step(params)
        assert current.dtype == np.float32
        reference = e_step(X, params)
        assert current.log_likelihood == pytest.approx(reference.log_likelihood, rel=1e-6)
        ours = single.m_step(current, params)
        params = m_step(X, reference.resp, covariance_type, 1e-6, params)
        for name in ("weights", "means", "covariances"):
            assert relative(getattr(ours, name), getattr(params, name)) < 1e-5, name
    estep = single.e_step(params, keep_resp=True).estep
    assert relative(estep.resp, e_step(X, params).resp) < 1e-5


def test_float32_needs_record_none():
    with pytest.raises(ValueError, match="record='none'"):
        EM(X, start(X, 3, "full"), record="params").run(dtype=np.float32)


# -- memory ----------------------------------------------------------------------------------


def iteration_peak_bytes(data: np.ndarray, covariance_type: str, n_threads: int) -> int:
    """Peak of traced (NumPy) allocations during one fused E-step + M-step."""
    params = start(data, 4, covariance_type, seed=13)
    fast = FastEM(data, covariance_type, chunk_rows=500, n_threads=n_threads)
    tracemalloc.start()
    try:
        fast.m_step(fast.e_step(params), params)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_an_iteration_without_responsibilities_needs_memory_independent_of_n(covariance_type):
    # Ten times the rows, the same working set: chunks of rows, never an (n, K) matrix.
    small, _ = make_blobs(n_samples=4_000, centers=4, n_features=3, random_state=2)
    large, _ = make_blobs(n_samples=40_000, centers=4, n_features=3, random_state=2)
    single = [iteration_peak_bytes(data, covariance_type, 1) for data in (small, large)]
    assert single[1] < single[0] + 16_384
    assert single[1] < len(large) * 4 * 8 / 4  # a quarter of one (n, K) float64 matrix
    # Each thread has its own chunk scratch: at most twice the memory with two threads.
    assert iteration_peak_bytes(large, covariance_type, 2) < 2 * single[1] + 16_384


# -- EM.run: record="none" (fast) against record="params" (stepping) --------------------------


def lone_far_component(covariance_type: str) -> MixtureParams:
    """Component 3 starts far from every point: it is emptied in the first M-step."""
    params = start(X, 3, covariance_type, seed=8)
    means = params.means.copy()
    means[2] = 1e6
    return MixtureParams.from_covariances(
        params.weights, means, params.covariances, covariance_type
    )


def collapsing_component(covariance_type: str) -> tuple[np.ndarray, MixtureParams]:
    """Component 3 sits on a lone point and collapses onto it."""
    data = np.vstack([X, [[30.0, 30.0, 30.0]]])
    params = start(X, 3, covariance_type, seed=9)
    model = covariance_model(covariance_type)
    means = params.means.copy()
    means[2] = 30.0
    full = params.full_covariances
    full[2] = np.eye(3)
    params = MixtureParams.from_covariances(
        np.array([0.5, 0.49, 0.01]), means, model.from_full(full, np.ones(3)), covariance_type
    )
    return data, params


def assert_same_run(fast: EM, stepped: EM) -> None:
    assert fast.history == [] and stepped.history
    assert (fast.iteration, fast.stage, fast.converged) == (
        stepped.iteration,
        stepped.stage,
        stepped.converged,
    )
    assert [(e.iteration, e.kind, e.component) for e in fast.events] == [
        (e.iteration, e.kind, e.component) for e in stepped.events
    ]
    np.testing.assert_allclose(fast.log_likelihoods, stepped.log_likelihoods, rtol=RTOL)
    for name in ("weights", "means", "covariances"):
        ours, theirs = getattr(fast.params, name), getattr(stepped.params, name)
        assert relative(ours, theirs) < RTOL, name
    assert relative(fast.resp, stepped.resp) < RTOL
    np.testing.assert_allclose(fast.estep.log_prob, stepped.estep.log_prob, rtol=RTOL)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("case", ["converges", "max_iter", "emptied", "collapsed"])
def test_run_without_history_equals_stepping(covariance_type, case):
    data, params, tol, max_iter = X, start(X, 3, covariance_type, seed=10), 1e-6, 200
    if case == "max_iter":
        tol, max_iter = 0.0, 12
    elif case == "emptied":
        params = lone_far_component(covariance_type)
    elif case == "collapsed":
        data, params = collapsing_component(covariance_type)
    runs = [
        EM(data, params, tol=tol, max_iter=max_iter, record=record, regularization="add").run()
        for record in ("none", "params")
    ]
    assert_same_run(*runs)
    kinds = {event.kind for event in runs[0].events}
    expected = {"converges": "converged", "emptied": "emptied", "collapsed": "collapsed"}
    # A tied covariance is shared: one component cannot collapse on its own.
    if case != "max_iter" and not (case == "collapsed" and covariance_type == "tied"):
        assert expected[case] in kinds


def test_run_continues_from_any_stage_like_stepping():
    runs = [EM(X, start(X, 3, "full", seed=11), tol=0.0, record=r) for r in ("none", "params")]
    for run in runs:
        run.run(max_iter=0)  # only the first E-step
        run.run(max_iter=3)
        run.m_step()  # stopped after an M-step: run() completes the iteration first
        run.run(max_iter=2)
        run.reseed(1, rng=0)
        run.run(max_iter=2)
    assert_same_run(*runs)
    assert runs[0].iteration == 8


def test_float32_run_converges_to_the_float64_fit():
    params = start(X, 3, "full", seed=12)
    single = EM(X, params, tol=1e-6, max_iter=500, record="none").run(dtype=np.float32)
    double = EM(X, params, tol=1e-6, max_iter=500, record="none").run()
    assert single.converged and double.converged
    assert single.log_likelihoods[-1] == pytest.approx(double.log_likelihoods[-1], rel=1e-6)
    assert single.resp.dtype == np.float64
    assert relative(single.params.means, double.params.means) < 1e-3


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_a_small_pass_builds_the_same_responsibilities_as_a_pass_keeping_them(
    covariance_type, dtype
):
    # One-chunk data: a statistics pass keeps its chunk, and its EStep must be the very
    # numbers of a pass made to keep the responsibilities (bit for bit), for every component
    # layout: all shared, one empty, one evaluated on its own.
    params = start(X, 4, covariance_type, seed=13)
    weights = np.array([0.4, 0.3, 0.3, 0.0])
    means = params.means.copy()
    means[1] = X[0]
    tight = params.covariances.copy()
    if covariance_type != "tied":  # tied covariances cannot be split by component
        tight[1] = covariance_model(covariance_type).from_full(np.eye(3)[None] * 1e-9)[0]
    for case in (params, MixtureParams.from_covariances(weights, means, tight, covariance_type)):
        fast = FastEM(X, covariance_type, dtype=dtype)
        current = fast.e_step(case)
        assert current.finish_estep is not None
        kept = fast.full_e_step(current, case)
        again = FastEM(X, covariance_type, dtype=dtype).e_step(case, keep_resp=True).estep
        for name in ("resp", "log_resp", "log_prob"):
            np.testing.assert_array_equal(getattr(kept, name), getattr(again, name))


def test_a_pass_over_several_chunks_keeps_nothing():
    fast = FastEM(X, "full", chunk_rows=300)
    assert fast.e_step(start(X, 3, "full")).finish_estep is None
