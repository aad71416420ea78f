"""What the page says about a state: one :class:`~emapp.build.describe.StateDescription`.

The stepping panel, the player's words for the browser and the teaching tabs all render it;
these tests check the description itself (first, M, converged, collapsed, empty and
re-seeded states) and that the browser's words are exactly the descriptions'.
"""

from __future__ import annotations

import itertools
from dataclasses import replace

import numpy as np
import pytest

from emapp.build.blobs import BlobSettings, make_blobs
from emapp.build.describe import (
    FRESH_SENTENCE,
    NO_RESEEDS_LEFT,
    Note,
    browser_text,
    describe_run,
    describe_state,
    end_sentence,
    signed,
)
from emapp.build.prepare import prepare
from emapp.build.state import STEP_ACTIONS, ViewState, step_target
from emapp.build.timeline import ModelSettings, Timeline, compute_timeline
from emcore import EM, e_step, initial_params


@pytest.fixture(scope="module")
def timeline() -> Timeline:
    X = make_blobs(BlobSettings(n_points=300, seed=2))
    return compute_timeline(X, ModelSettings(n_components=3, seed=4))


@pytest.fixture(scope="module")
def collapsing() -> tuple[np.ndarray, ModelSettings, Timeline]:
    """Eight components on three clusters from a random start: some collapse."""
    X = make_blobs(BlobSettings(n_points=200, n_clusters=3, seed=0))
    model = ModelSettings(n_components=8, init="random", seed=0)
    return X, model, compute_timeline(X, model)


def kinds(notes: tuple[Note, ...]) -> list[str]:
    return [note.kind for note in notes]


# -- one state -------------------------------------------------------------------------------


def test_the_first_state_says_where_it_starts_and_nothing_else(timeline) -> None:
    first = describe_state(timeline, 0)
    assert first.index == 0 and first.stage == "start" and not first.last
    assert first.label == "Iteration 0 · starting point"
    assert first.short_label == "0 start"
    assert first.loglik == "log-likelihood: after the first E-step"
    assert first.notes == () and first.reseedable == () and first.reseed_limit is None
    assert first.refusals == {}  # every stepping button moves from the start


def test_an_e_state_and_an_m_state_name_their_half_step(timeline) -> None:
    e_state, m_state = describe_state(timeline, 1), describe_state(timeline, 2)
    assert (e_state.label, e_state.short_label) == ("Iteration 0 · E-step done", "0 E")
    assert (m_state.label, m_state.short_label) == ("Iteration 1 · M-step done", "1 M")
    value = signed(timeline.latest_log_likelihood(1), 2)
    assert e_state.loglik == f"log-likelihood {value}"
    # The M-step's log-likelihood is only known after the next E-step: the last one is shown.
    assert m_state.loglik == f"log-likelihood {value} (before this M-step)"
    assert e_state.refusals == {"e_step": FRESH_SENTENCE}
    assert m_state.refusals == {}


def test_the_converged_state_says_so_and_why_nothing_moves(timeline) -> None:
    assert timeline.converged
    end = describe_state(timeline, timeline.last)
    assert end.last and end.stage == "E"
    assert end.end_sentence == end_sentence(timeline)
    assert end.end_sentence.startswith(f"EM converged at iteration {timeline.n_iterations}")
    assert Note("success", end.end_sentence) in end.notes
    assert end.refusals == {
        "e_step": FRESH_SENTENCE,
        "m_step": end.end_sentence,
        "step": end.end_sentence,
        "run": end.end_sentence,
    }


def test_a_run_stopped_at_the_cap_says_that_instead() -> None:
    X = make_blobs(BlobSettings(n_points=200, n_clusters=4, seed=1))
    capped = compute_timeline(X, ModelSettings(n_components=4, seed=2), max_iterations=2)
    assert not capped.converged
    end = describe_state(capped, capped.last)
    assert end.end_sentence.startswith("This run stopped at the limit of 2 iterations")
    assert end.notes[-1] == Note("info", end.end_sentence)


def test_a_collapsed_component_is_said_and_offered_a_reseed(collapsing) -> None:
    _, _, timeline = collapsing
    stuck = describe_state(timeline, timeline.last)
    warnings = [note.sentence for note in stuck.notes if note.kind == "warning"]
    assert warnings and all(sentence.startswith("At iteration") for sentence in warnings)
    assert stuck.reseedable and stuck.reseed_limit is None
    assert describe_state(timeline, timeline.last, reseeds_left=3) == stuck


def test_with_no_reseeds_left_the_buttons_give_way_to_a_sentence(collapsing) -> None:
    _, _, timeline = collapsing
    spent = describe_state(timeline, timeline.last, reseeds_left=0)
    assert spent.reseedable == () and spent.reseed_limit == NO_RESEEDS_LEFT
    assert describe_state(timeline, 0, reseeds_left=0).reseed_limit is None  # nothing stuck


def test_an_empty_component_is_said_and_offered_a_reseed() -> None:
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
    end = describe_state(timeline, timeline.last)
    warnings = [note.sentence for note in end.notes if note.kind == "warning"]
    assert any("Component 2 lost all its points" in sentence for sentence in warnings)
    assert 1 in end.reseedable


def test_a_reseed_replays_the_same_run_then_says_what_moved(collapsing) -> None:
    X, model, timeline = collapsing
    at, k = timeline.last, describe_state(timeline, timeline.last).reseedable[0]
    again = compute_timeline(X, replace(model, reseeds=((at, k),)))
    for old, new in zip(timeline.states, again.states[: at + 1], strict=True):
        np.testing.assert_array_equal(old.params.means, new.params.means)
    moved, after = describe_state(again, at + 1), describe_state(again, at + 2)
    assert moved.label.endswith(f"component {k + 1} re-seeded")
    assert after.stage == "E" and k not in after.reseedable
    assert any(n.kind == "info" and "re-seeded" in n.sentence for n in after.notes)
    assert [m[0] for m in again.reseed_marks(again.last)] == [again.states[at + 2].iteration]
    # Convergence before the re-seed no longer counts.
    assert again.converged_index() is None or again.converged_index() > at


# -- every state ------------------------------------------------------------------------------


def test_a_press_is_refused_exactly_where_the_cursor_cannot_move(timeline) -> None:
    for index in range(len(timeline)):
        refusals = describe_state(timeline, index).refusals
        for action in STEP_ACTIONS:
            assert (action in refusals) == (step_target(timeline, index, action) is None)


def test_the_refused_press_of_a_view_is_said_by_its_state(timeline) -> None:
    view = ViewState(("test",), timeline.last)
    view.e_step(timeline)
    view.e_step(timeline)
    assert describe_state(timeline, view.cursor).refusals[view.refused] == FRESH_SENTENCE


def test_the_browsers_words_are_the_descriptions(timeline) -> None:
    descriptions = describe_run(timeline)
    text = browser_text(descriptions)
    assert text["labels"] == [d.label for d in descriptions]
    assert text["loglik"] == [d.loglik for d in descriptions]
    assert text["stages"] == "S" + "".join(s.stage for s in timeline.states[1:])
    for description, position in zip(descriptions, text["notes_index"], strict=True):
        assert text["notes"][position] == [list(note) for note in description.notes]
    # States share their list of notes: each distinct list is sent once.
    distinct = {d.notes for d in descriptions}
    assert len(text["notes"]) == len(distinct) < len(descriptions)


def test_a_prepared_run_holds_its_descriptions_and_the_player_sends_them() -> None:
    from emapp.ui.player import player_data

    X = make_blobs(BlobSettings(n_points=150, seed=3))
    run = prepare(("test",), X, ("x₁", "x₂"), ModelSettings(n_components=2, seed=1))
    assert "descriptions" in vars(run)  # computed while the run was built, not per page
    assert run.descriptions == describe_run(run.timeline)
    view = ViewState(run.key, run.timeline.last)
    data = player_data(run, view, speed=12.0)
    assert {k: data[k] for k in browser_text(run.descriptions)} == browser_text(run.descriptions)


def test_each_state_is_described_the_same_alone_or_with_its_run(timeline) -> None:
    descriptions = describe_run(timeline)
    for index in itertools.chain(range(4), [timeline.last]):
        assert describe_state(timeline, index) == descriptions[index]


# -- fitting the notes' box ---------------------------------------------------------------------


def test_several_collapsed_components_share_one_note(collapsing) -> None:
    from emapp.build.describe import collapsed_sentence, open_problems

    _, _, timeline = collapsing
    end = describe_state(timeline, timeline.last)
    problems = list(open_problems(timeline.events_until(timeline.last)).values())
    warnings = [note.sentence for note in end.notes if note.kind == "warning"]
    assert len(problems) > 1 and len(warnings) == 1, "one note, however many collapsed"
    assert warnings[0] == collapsed_sentence(problems)
    for event in problems:
        assert f"{event.component + 1}" in warnings[0] and f"{event.iteration}" in warnings[0]
    # One alone says why in a student's words: no setting the page does not show.
    alone = collapsed_sentence(problems[:1])
    assert alone.startswith(
        f"At iteration {problems[0].iteration}: component {problems[0].component + 1} "
        "collapsed onto too few points."
    )
    assert "reg_covar" not in alone and "needle" in alone


def test_a_refusal_is_said_first_at_the_state_on_screen_only(timeline) -> None:
    from emapp.build.describe import with_refusal

    text = browser_text(describe_run(timeline))
    assert with_refusal(text, 1, None) is text
    said = with_refusal(text, 1, FRESH_SENTENCE)
    assert said["notes"][said["notes_index"][1]] == [["info", FRESH_SENTENCE]]
    others = [i for i in range(len(timeline)) if i != 1]
    assert [said["notes_index"][i] for i in others] == [text["notes_index"][i] for i in others]
    # At the end the end note already says it: it moves to the front, not said twice.
    end = timeline.last
    notes = [["warning", "a"], ["success", end_sentence(timeline) + " And more."]]
    text = {**text, "notes": [*text["notes"], notes]}
    text["notes_index"] = [*text["notes_index"][:-1], len(text["notes"]) - 1]
    said = with_refusal(text, end, end_sentence(timeline))
    assert said["notes"][said["notes_index"][end]] == [notes[1], notes[0]]
