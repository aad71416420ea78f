"""The page's pure logic: the precomputed timeline, the cursor the buttons move, the words."""

from __future__ import annotations

import itertools
from dataclasses import replace

import numpy as np
import pytest

from emapp.blobs import BlobSettings, make_blobs
from emapp.describe import notes_at, reseedable
from emapp.state import ViewState, end_sentence, play_sequence
from emapp.timeline import (
    MAX_ITERATIONS,
    ModelSettings,
    Timeline,
    compute_timeline,
    state_label,
)
from emcore import EM, e_step, initial_params


@pytest.fixture(scope="module")
def timeline():
    X = make_blobs(BlobSettings(n_points=300, seed=2))
    return compute_timeline(X, ModelSettings(n_components=3, seed=4))


def fresh(timeline) -> ViewState:
    return ViewState(settings_key=("test",), last=timeline.last)


# -- the timeline ------------------------------------------------------------------------------


def test_states_alternate_start_e_m_and_end_on_e(timeline) -> None:
    stages = [s.stage for s in timeline.states]
    assert stages[0] == "start" and stages[1] == "E" and stages[-1] == "E"
    assert all(a != b for a, b in itertools.pairwise(stages[1:]))


def test_the_timeline_is_what_stepping_the_engine_gives() -> None:
    X = make_blobs(BlobSettings(n_points=150, seed=5))
    model = ModelSettings(n_components=2, covariance_type="diag", init="random", seed=3)
    timeline = compute_timeline(X, model, max_iterations=6)
    params = initial_params(X, 2, covariance_type="diag", method="random", random_state=3)
    em = EM(X, params)
    for state in timeline.states[1:]:
        em.e_step() if state.stage == "E" else em.m_step()
        np.testing.assert_allclose(em.params.means, state.params.means, rtol=1e-12)


def test_log_likelihood_never_decreases(timeline) -> None:
    _, values = timeline.log_likelihood_curve(timeline.last)
    assert np.all(np.diff(values) >= -1e-9 * np.abs(values[:-1]))


def test_history_is_capped() -> None:
    X = make_blobs(BlobSettings(n_points=100, seed=1))
    timeline = compute_timeline(X, ModelSettings(n_components=4, seed=1), max_iterations=5)
    assert timeline.n_iterations <= 5
    assert len(timeline) <= 2 * 5 + 2
    assert MAX_ITERATIONS <= 200


def test_responsibilities_are_compact_float32_rows_that_sum_to_one(timeline) -> None:
    resp = timeline.responsibilities(1)
    assert resp.dtype == np.float32
    np.testing.assert_allclose(resp.sum(axis=1), 1.0, rtol=1e-5)
    assert timeline.responsibilities(0) is None  # no colours before the first E-step
    assert timeline.responsibilities(2) is timeline.responsibilities(1)  # M keeps colours


def test_labels_name_iteration_and_half_step(timeline) -> None:
    assert state_label(timeline.states[0]) == "Iteration 0 · starting point"
    assert state_label(timeline.states[1]) == "Iteration 0 · E-step done"
    assert state_label(timeline.states[2]) == "Iteration 1 · M-step done"


# -- the cursor --------------------------------------------------------------------------------


def test_e_step_then_m_step_then_step(timeline) -> None:
    view = fresh(timeline)
    view.e_step(timeline)
    assert timeline.stage(view.cursor) == "E" and view.cursor == 1
    view.m_step(timeline)
    assert timeline.stage(view.cursor) == "M" and view.cursor == 2
    view.step(timeline)
    assert timeline.stage(view.cursor) == "E" and view.cursor == 3
    view.step(timeline)
    assert view.cursor == 5 and view.furthest == 5


def test_m_step_from_the_start_does_the_e_step_first(timeline) -> None:
    view = fresh(timeline)
    view.m_step(timeline)
    assert view.cursor == 2 and timeline.stage(2) == "M"


def test_a_second_e_step_is_explained_not_repeated(timeline) -> None:
    view = fresh(timeline)
    view.e_step(timeline)
    view.e_step(timeline)
    assert view.cursor == 1 and "already up to date" in view.notice


def test_step_from_start_ends_on_fresh_colours(timeline) -> None:
    view = fresh(timeline)
    view.step(timeline)
    assert view.cursor == 3 and timeline.stage(3) == "E"


def test_run_to_convergence_then_step_says_why_nothing_moves(timeline) -> None:
    view = fresh(timeline)
    view.run_to_convergence(timeline)
    assert view.cursor == timeline.last
    view.step(timeline)
    assert view.cursor == timeline.last and view.notice == end_sentence(timeline)


def test_scrubbing_only_reaches_visited_states(timeline) -> None:
    view = fresh(timeline)
    view.step(timeline)
    view.step(timeline)
    view.scrub(1)
    assert view.cursor == 1 and view.furthest == 5
    view.scrub(99)
    assert view.cursor == 5


def test_play_pause_and_the_browsers_report(timeline) -> None:
    view = fresh(timeline)
    view.play(now=100.0)
    assert view.playing and view.play_token == 1
    assert play_sequence(timeline, view.play_from) == list(range(1, timeline.last + 1))
    view.stop_at(4)
    assert not view.playing and view.cursor == 4 and view.furthest == 4


def test_pause_without_a_report_estimates_the_state_from_the_clock(timeline) -> None:
    view = fresh(timeline)
    view.play(now=10.0)
    view.pause(now=10.5, speed=4)  # two states per iteration at 4 it/s: 4 states in 0.5 s
    assert not view.playing and view.cursor == min(4, timeline.last)


def test_play_at_the_end_starts_over(timeline) -> None:
    view = fresh(timeline)
    view.run_to_convergence(timeline)
    view.play(now=0.0)
    assert view.play_from == 0


# -- words -------------------------------------------------------------------------------------


def test_convergence_is_said_at_the_end(timeline) -> None:
    assert timeline.converged
    kinds = [kind for kind, _ in notes_at(timeline, timeline.last)]
    assert "success" in kinds
    assert notes_at(timeline, 0) == []


def test_a_collapsed_component_is_explained_in_a_sentence() -> None:
    X = make_blobs(BlobSettings(n_points=200, n_clusters=3, seed=0))
    timeline = compute_timeline(X, ModelSettings(n_components=8, init="random", seed=0))
    sentences = [text for kind, text in notes_at(timeline, timeline.last) if kind == "warning"]
    assert sentences and all(s.startswith("At iteration") for s in sentences)


def test_an_empty_component_is_shown_and_explained() -> None:
    X = make_blobs(BlobSettings(n_points=200, n_clusters=2, seed=0))
    start = initial_params(X, 2, method="k-means++", random_state=0)
    # A component far from every point gets no responsibility at all: it empties.
    start = start.replace(means=np.vstack([start.means[0], X.mean(axis=0) + 1e3]))
    em = EM(X, start, record="params", tol=1e-3)
    em.run(max_iter=20)
    states = tuple(em.history)
    resp = {
        i: e_step(X, s.params).resp.astype(np.float32)
        for i, s in enumerate(states)
        if s.stage == "E"
    }
    timeline = Timeline(states=states, resp=resp, converged=em.converged)
    assert timeline.states[-1].params.empty[1]
    sentences = [text for kind, text in notes_at(timeline, timeline.last) if kind == "warning"]
    assert any("Component 2 lost all its points" in s for s in sentences)


def test_a_reseed_replays_the_same_run_then_moves_the_component() -> None:
    X = make_blobs(BlobSettings(n_points=200, n_clusters=3, seed=0))
    model = ModelSettings(n_components=8, init="random", seed=0)
    timeline = compute_timeline(X, model)
    stuck = reseedable(timeline, timeline.last)
    assert stuck
    at, k = timeline.last, stuck[0]
    again = compute_timeline(X, replace(model, reseeds=((at, k),)))
    for old, new in zip(timeline.states, again.states[: at + 1], strict=True):
        np.testing.assert_array_equal(old.params.means, new.params.means)
    assert state_label(again.states[at + 1]).endswith(f"component {k + 1} re-seeded")
    assert again.states[at + 2].stage == "E"
    assert [m[0] for m in again.reseed_marks(again.last)] == [again.states[at + 2].iteration]
    assert k not in reseedable(again, at + 2)
    assert any(kind == "info" and "re-seeded" in text for kind, text in notes_at(again, at + 2))
    # Convergence before the re-seed no longer counts.
    assert again.converged_index() is None or again.converged_index() > at


def test_heavy_work_runs_a_bounded_number_at_once() -> None:
    import threading
    import time

    from emapp.work import MAX_AT_ONCE, heavy_work

    inside, most, release = [0], [0], threading.Event()
    lock = threading.Lock()

    def work() -> None:
        with heavy_work():
            with lock:
                inside[0] += 1
                most[0] = max(most[0], inside[0])
            release.wait(timeout=10)
            with lock:
                inside[0] -= 1

    threads = [threading.Thread(target=work) for _ in range(MAX_AT_ONCE + 3)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 5
    while inside[0] < MAX_AT_ONCE and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.1)  # the others had time to get in, if they could
    assert inside[0] == MAX_AT_ONCE
    release.set()
    for thread in threads:
        thread.join()
    assert most[0] == MAX_AT_ONCE and inside[0] == 0
