"""Everything the page says about a state of a run, in one place (pure, no Streamlit).

:func:`describe_state` gathers it into one :class:`StateDescription`: the status line, the
log-likelihood, the notes under them (empty, collapsed, re-seeded and converged components,
one sentence each), which components a re-seed would help, why a button press does nothing
there, and the run's end sentence. The widgets only render it:

- the stepping panel (:mod:`emapp.ui.controls`) shows the description of the state on
  screen: its re-seed buttons, the note for a press that did nothing, the scrub slider's
  marks;
- the player (:mod:`emapp.ui.player`) sends the words of every state to the browser once
  (:func:`browser_text`), so the status line follows the chart even during playback;
- the teaching tabs name a state by its label.

The parameter table of every state is built here too (:func:`table_data`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from emapp.build.colors import NEUTRAL_HEX, component_hex, swatch_inks
from emapp.build.covariance_models import model_label
from emapp.build.state import STEP_ACTIONS, stage_letter, step_target
from emapp.build.timeline import Timeline, reseeded_component
from emcore import Event, MixtureParams, Snapshot


class Note(NamedTuple):
    """One sentence under the status line, and how it is shown."""

    kind: str  # "warning" | "success" | "info": the colour of its box
    sentence: str


# What the chart itself says during Play about the half-step just shown, by stage letter:
# large words in the chart's corner, read from the back of the room.
HALF_STEPS = {"E": "E-step: recolour", "M": "M-step: move"}
FRESH_SENTENCE = (
    "The responsibilities are already up to date: another E-step would give the same "
    "colours. Press M-step to move the components."
)
NO_RESEEDS_LEFT = (
    "This run has had as many re-seeds as it may: press Reset or change a setting to start again."
)


@dataclass(frozen=True)
class StateDescription:
    """What the page says about one state of a run; the widgets only render it.

    Attributes
    ----------
    index : int
        The state's index in the run.
    stage : str
        ``"start"``, ``"E"`` or ``"M"``.
    label : str
        The status line: ``"Iteration 3 · E-step done"``.
    short_label : str
        The scrub slider's mark: ``"3 E"``.
    loglik : str
        The log-likelihood beside the status line.
    notes : tuple of Note
        The sentences under the status line, in the order shown.
    reseedable : tuple of int
        The components (0-based) to offer a re-seed button for: empty or collapsed and not
        re-seeded since. Empty when the run may have no more re-seeds.
    reseed_limit : str or None
        Said instead of the buttons when a re-seed would help but none is left.
    refusals : dict of str to str
        Why pressing a stepping button (``"e_step"``, ``"m_step"``, ``"step"``, ``"run"``)
        does nothing here, for each button that would not move.
    end_sentence : str
        Why the run has nothing after its last state (converged, or stopped at the cap).
    last : bool
        Whether this is the run's last state.
    """

    index: int
    stage: str
    label: str
    short_label: str
    loglik: str
    notes: tuple[Note, ...]
    reseedable: tuple[int, ...]
    reseed_limit: str | None
    refusals: dict[str, str]
    end_sentence: str
    last: bool


def describe_state(
    timeline: Timeline, index: int, reseeds_left: int | None = None
) -> StateDescription:
    """Everything the page says about state ``index`` of ``timeline``.

    Parameters
    ----------
    timeline : Timeline
        The run.
    index : int
        The state.
    reseeds_left : int or None
        How many more re-seeds the session may press; None for no limit (the words sent to
        the browser for every state, where no re-seed button is drawn).

    Returns
    -------
    StateDescription
    """
    state = timeline.states[index]
    stuck = tuple(reseedable(timeline, index))
    exhausted = bool(stuck) and reseeds_left is not None and reseeds_left <= 0
    return StateDescription(
        index=index,
        stage=state.stage,
        label=state_label(state),
        short_label=short_label(index, state),
        loglik=loglik_text(timeline, index),
        notes=tuple(notes_at(timeline, index)),
        reseedable=() if exhausted else stuck,
        reseed_limit=NO_RESEEDS_LEFT if exhausted else None,
        refusals=refusals(timeline, index),
        end_sentence=end_sentence(timeline),
        last=index == timeline.last,
    )


def describe_run(timeline: Timeline) -> tuple[StateDescription, ...]:
    """The description of every state of ``timeline``, with no limit on re-seeds."""
    return tuple(describe_state(timeline, index) for index in range(len(timeline)))


def browser_text(descriptions: Sequence[StateDescription]) -> dict:
    """The words of every state for the browser's player (``player.js``).

    ``stages`` has one letter per state (``S``, ``E``, ``M``); ``labels`` and ``loglik`` one
    string per state; ``half_steps`` the words the chart shows during Play for an E and
    an M state; the notes are sent once per distinct list (``notes``, each note a
    ``[kind, sentence]`` pair) with the list of every state in ``notes_index``: long runs of
    states share theirs.
    """
    distinct: list[list[list[str]]] = []
    positions: dict[tuple[Note, ...], int] = {}
    notes_index: list[int] = []
    for description in descriptions:
        if description.notes not in positions:
            positions[description.notes] = len(distinct)
            distinct.append([[note.kind, note.sentence] for note in description.notes])
        notes_index.append(positions[description.notes])
    return {
        "stages": "".join(stage_letter(d.stage) for d in descriptions),
        "labels": [d.label for d in descriptions],
        "loglik": [d.loglik for d in descriptions],
        "notes": distinct,
        "notes_index": notes_index,
        "half_steps": HALF_STEPS,
    }


def box_sentences(descriptions: Sequence[StateDescription]) -> list[str]:
    """Every sentence the notes' box can show for this run, once each: every state's notes
    and every refusal (said first in the box after a press that did nothing).

    The box is as tall as the tallest of them needs (``player.js``, fitNotes): any one note
    shows whole, and the box keeps that height whatever the state, so the chart under it
    never moves when notes come and go.
    """
    sentences = {note.sentence for d in descriptions for note in d.notes}
    sentences.update(sentence for d in descriptions for sentence in d.refusals.values())
    return sorted(sentences)


def with_refusal(text: dict, index: int, refusal: str | None) -> dict:
    """:func:`browser_text` with ``refusal`` (why the last press did nothing) said first in
    the notes of state ``index``, once: just under the buttons, where the room looks.

    A note that already says it (the end sentence, perhaps with the truth's agreement after
    it) moves to the front instead of being said twice.
    """
    if not refusal:
        return text
    notes = text["notes"][text["notes_index"][index]]
    said = [note for note in notes if note[1].startswith(refusal)]
    first = said[0] if said else ["info", refusal]
    notes_index = list(text["notes_index"])
    notes_index[index] = len(text["notes"])
    rest = [note for note in notes if note is not first]
    return {**text, "notes": [*text["notes"], [first, *rest]], "notes_index": notes_index}


# -- the parts of a description ---------------------------------------------------------------


# Numbers in the table keep this many significant digits, whatever the data's units: fixed
# decimals printed every mean and variance of data near 1e-8 as 0.000.
SIGNIFICANT = 4
# Outside this range of sizes a number is written in scientific notation (4.000e−8).
FIXED_RANGE = (1e-3, 1e6)


def signed(value: float, decimals: int | None = None) -> str:
    """``-1.5`` as ``"−1.500"``: a real minus sign reads better on a projector.

    With ``decimals`` (the log-likelihood) that many decimals; otherwise
    :data:`SIGNIFICANT` significant digits, in scientific notation for very small or large
    sizes. Never ``"−0.000"``: a value that rounds to zero has no sign.
    """
    if decimals is not None:
        text = f"{value:,.{decimals}f}"
    elif not math.isfinite(value) or value == 0:
        text = f"{value:g}"
    elif FIXED_RANGE[0] <= abs(value) < FIXED_RANGE[1]:
        places = max(0, SIGNIFICANT - 1 - math.floor(math.log10(abs(value))))
        text = f"{value:,.{places}f}"
    else:
        mantissa, exponent = f"{value:.{SIGNIFICANT - 1}e}".split("e")
        text = f"{mantissa}e{int(exponent)}"
    if text.startswith("-") and not any(c in "123456789" for c in text.split("e")[0]):
        text = text[1:]  # "-0.000": rounded to zero
    return text.replace("-", "−")


def state_label(state: Snapshot) -> str:
    """``"Iteration 3 · E-step done"``: the words shown above the chart."""
    if state.stage == "start":
        return "Iteration 0 · starting point"
    reseeded = reseeded_component(state)
    if reseeded is not None:
        return f"Iteration {state.iteration} · component {reseeded + 1} re-seeded"
    return f"Iteration {state.iteration} · {state.stage}-step done"


def short_label(index: int, state: Snapshot) -> str:
    """A compact label for the scrub slider: ``"3 E"``, ``"0 start"``."""
    return f"{state.iteration} {state.stage}" if state.stage != "start" else "0 start"


def loglik_text(timeline: Timeline, index: int) -> str:
    """The log-likelihood as shown beside the status line."""
    state = timeline.states[index]
    if state.stage == "start":
        return "log-likelihood: after the first E-step"
    value = timeline.latest_log_likelihood(index)
    suffix = " (before this M-step)" if state.stage == "M" else ""
    return f"log-likelihood {signed(value, 2)}{suffix}"


def end_sentence(timeline: Timeline) -> str:
    """Why there is nothing further to show."""
    iterations = timeline.n_iterations
    if timeline.converged:
        # Short enough to share the notes' fixed box with the truth's note on a projector.
        return (
            f"EM converged at iteration {iterations}: the last step changed the "
            "log-likelihood per point by less than the tolerance."
        )
    return (
        f"This run stopped at the limit of {timeline.max_iterations} iterations without "
        "converging. Reset, or try another initialisation."
    )


def refusals(timeline: Timeline, index: int) -> dict[str, str]:
    """Why each stepping button that would not move from state ``index`` does nothing."""
    said: dict[str, str] = {}
    for action in STEP_ACTIONS:
        if step_target(timeline, index, action) is None:
            fresh = action == "e_step" and timeline.stage(index) == "E"
            said[action] = FRESH_SENTENCE if fresh else end_sentence(timeline)
    return said


def empty_sentence(k: int, iteration: int | None) -> str:
    when = f" at iteration {iteration}" if iteration is not None else ""
    return (
        f"Component {k + 1} lost all its points{when}: it is drawn in grey with weight 0 and "
        "takes no further part; try another seed, initialisation or fewer components."
    )


def collapsed_sentence(events: Sequence[Event]) -> str:
    """One sentence for every collapsed component: the notes' box has one height, and five
    sentences that differ only in a number would push the end note out of sight."""
    if len(events) == 1:
        # In a student's words: emcore's own message names reg_covar, a setting the page
        # does not show.
        event = events[0]
        return (
            f"At iteration {event.iteration}: component {event.component + 1} collapsed onto "
            "too few points. Its ellipse is a needle that only a tiny floor under its "
            "variances holds open."
        )
    events = sorted(events, key=lambda e: e.iteration)
    iterations = sorted({e.iteration for e in events})
    return (
        f"At iteration{'s' if len(iterations) > 1 else ''} {listed(iterations)}: components "
        f"{listed(sorted(e.component + 1 for e in events))} collapsed onto too few points."
    )


def listed(numbers: Sequence[int]) -> str:
    """``[1, 3, 4]`` as ``"1, 3 and 4"``."""
    words = [str(n) for n in numbers]
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} and {words[-1]}"


def _first(events: Sequence[Event], kind: str, k: int) -> Event | None:
    return next((e for e in events if e.kind == kind and e.component == k), None)


def open_problems(events: Sequence[Event]) -> dict[int, Event]:
    """The latest "collapsed" event of every component not re-seeded since."""
    problems: dict[int, Event] = {}
    for event in events:
        if event.kind == "collapsed":
            problems[event.component] = event
        elif event.kind == "reseeded":
            problems.pop(event.component, None)
    return problems


def reseedable(timeline: Timeline, index: int) -> list[int]:
    """Components a re-seed would help at state ``index``: empty, or collapsed and not
    re-seeded since."""
    params = timeline.states[index].params
    collapsed = open_problems(timeline.events_until(index))
    return sorted({int(k) for k in np.flatnonzero(params.empty)} | set(collapsed))


def notes_at(timeline: Timeline, index: int) -> list[Note]:
    """What is worth saying at state ``index``: empty, collapsed, re-seeded, converged."""
    events = timeline.events_until(index)
    params = timeline.states[index].params
    notes: list[Note] = []
    for k in np.flatnonzero(params.empty):
        event = _first(events, "emptied", int(k))
        notes.append(Note("warning", empty_sentence(int(k), event.iteration if event else None)))
    collapsed = [e for e in open_problems(events).values() if not params.empty[e.component]]
    if collapsed:
        notes.append(Note("warning", collapsed_sentence(collapsed)))
    for event in events:
        if event.kind == "reseeded":
            notes.append(Note("info", f"At iteration {event.iteration}: {event.message}"))
    converged_at = timeline.converged_index()
    if converged_at is not None and index >= converged_at:
        notes.append(Note("success", end_sentence(timeline)))
    elif index == timeline.last and not timeline.converged:
        notes.append(Note("info", end_sentence(timeline)))
    return notes


# -- the parameter table ----------------------------------------------------------------------


def table_header(feature_names: Sequence[str]) -> list[str]:
    """The parameter table's column titles, with the two plotted columns' names as they are.

    Plain text, not HTML or markdown: the browser sets every cell with ``textContent``
    (``player.js``), so a name that looks like markup shows as written.
    """
    a, b = feature_names[0], feature_names[1]
    return ["Component", "Weight", f"Mean {a}", f"Mean {b}", f"Var {a}", f"Cov {a},{b}", f"Var {b}"]


def table_rows(params: MixtureParams) -> list[list[str]]:
    """One row of formatted numbers per component: weight, means, 2x2 covariance."""
    covariances = params.full_covariances[:, :2, :2]
    rows = []
    for k in range(params.n_components):
        cov = covariances[k]
        label = f"{k + 1} (empty)" if params.empty[k] else str(k + 1)
        numbers = [params.weights[k], *params.means[k, :2], cov[0, 0], cov[0, 1], cov[1, 1]]
        rows.append([label, *(signed(float(v)) for v in numbers)])
    return rows


def component_colours(params: MixtureParams) -> list[str]:
    return [
        NEUTRAL_HEX if params.empty[k] else component_hex(k) for k in range(params.n_components)
    ]


PLOTTED = "The ellipses show these covariances (of the two plotted columns)."
PROJECTED = ""  # the covariance words of a projected fit already say so
ONE_COLUMN = "Each component is a bell curve with this mean and variance."


def table_caption(covariance_words: str, shown_how: str = PLOTTED) -> str:
    """The sentence under the parameter table."""
    return f"Covariance type: {covariance_words}. {shown_how}".strip()


def all_tables(timeline: Timeline, feature_names: Sequence[str]) -> dict:
    """The table of every state, for the browser: header, rows and colours by state."""
    return {
        "header": table_header(feature_names),
        "rows": [table_rows(s.params) for s in timeline.states],
        "colours": [component_colours(s.params) for s in timeline.states],
        "inks": swatch_inks(),  # black or white text on each swatch colour (WCAG AA)
        "covariance_type": timeline.states[0].params.covariance_type,
        "caption": table_caption(model_label(timeline.states[0].params.covariance_type)),
    }


def table_data(timeline: Timeline, version: str, feature_names: Sequence[str]) -> dict:
    """The parameter table's data for the browser (:func:`emapp.ui.player.render_table`)."""
    return {
        "role": "table",
        "version": version,
        "labels": [state_label(s) for s in timeline.states],
        **all_tables(timeline, feature_names),
    }
