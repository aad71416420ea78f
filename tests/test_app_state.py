"""The page's pure logic: the precomputed timeline and the cursor the buttons move (what the
page says about a state is tested in ``test_app_describe.py``)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from emapp.build.blobs import BlobSettings, make_blobs
from emapp.build.describe import describe_state, end_sentence, state_label
from emapp.build.state import STEP_ACTIONS, ViewState, play_sequence, step_target
from emapp.build.timeline import (
    MAX_ITERATIONS,
    ModelSettings,
    compute_timeline,
)
from emcore import EM, initial_params


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
    assert view.cursor == 1 and view.refused == "e_step"
    assert "already up to date" in describe_state(timeline, view.cursor).refusals["e_step"]


def test_step_from_start_ends_on_fresh_colours(timeline) -> None:
    view = fresh(timeline)
    view.step(timeline)
    assert view.cursor == 3 and timeline.stage(3) == "E"


def test_run_to_convergence_then_step_says_why_nothing_moves(timeline) -> None:
    view = fresh(timeline)
    view.run_to_convergence(timeline)
    assert view.cursor == timeline.last
    view.step(timeline)
    assert view.cursor == timeline.last and view.refused == "step"
    assert describe_state(timeline, view.cursor).refusals["step"] == end_sentence(timeline)
    view.scrub(1)
    assert view.refused is None  # said once; the next move forgets it


def test_every_button_goes_to_the_next_state_of_its_kind(timeline) -> None:
    # The rules in words: an E-step ends on the next E state (unless the colours are fresh),
    # an M-step on the next M state, a Step on the E state after an M state (the one on
    # screen, or the next one).
    stages = [s.stage for s in timeline.states]

    def next_stage(stage: str, after: int) -> int | None:
        return next((i for i in range(after + 1, len(stages)) if stages[i] == stage), None)

    for index in range(len(timeline)):
        m_state = index if stages[index] == "M" else next_stage("M", index)
        expected = {
            "e_step": None if stages[index] == "E" else next_stage("E", index),
            "m_step": next_stage("M", index),
            "step": None if m_state is None else next_stage("E", m_state),
            "run": None if index == timeline.last else timeline.last,
        }
        for action in STEP_ACTIONS:
            assert step_target(timeline, index, action) == expected[action], (index, action)
            view = fresh(timeline)
            view.move_to(index)
            view.press(timeline, action)
            assert view.cursor == (expected[action] or index)
            assert (view.refused == action) == (expected[action] is None)


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


def test_heavy_work_runs_a_bounded_number_at_once() -> None:
    import threading
    import time

    from emapp.build.work import MAX_AT_ONCE, heavy_work

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
