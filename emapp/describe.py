"""Words and numbers for every state of a run, computed once and shown by the browser.

Pure functions (no Streamlit): the notes under the status line (empty, collapsed and
converged components, in one sentence each) and the parameter table of every state. The
browser switches between them as it shows states, so they stay in step with the chart even
during playback.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from emapp.colors import NEUTRAL_HEX, component_hex
from emapp.state import end_sentence
from emapp.timeline import Timeline
from emcore import Event, MixtureParams

Note = tuple[str, str]  # (kind: "warning" | "success" | "info", sentence)


def signed(value: float, decimals: int = 3) -> str:
    """``-1.5`` as ``"−1.500"``: a real minus sign reads better on a projector."""
    return f"{value:,.{decimals}f}".replace("-", "−")


def empty_sentence(k: int, iteration: int | None) -> str:
    when = f" at iteration {iteration}" if iteration is not None else ""
    return (
        f"Component {k + 1} lost all its points{when}: it is drawn in grey with weight 0 and "
        "takes no further part; try another seed, initialisation or fewer components."
    )


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
        notes.append(("warning", empty_sentence(int(k), event.iteration if event else None)))
    for event in open_problems(events).values():
        if not params.empty[event.component]:
            notes.append(("warning", f"At iteration {event.iteration}: {event.message}"))
    for event in events:
        if event.kind == "reseeded":
            notes.append(("info", f"At iteration {event.iteration}: {event.message}"))
    converged_at = timeline.converged_index()
    if converged_at is not None and index >= converged_at:
        notes.append(("success", end_sentence(timeline)))
    elif index == timeline.last and not timeline.converged:
        notes.append(("info", end_sentence(timeline)))
    return notes


def all_notes(timeline: Timeline) -> tuple[list[list[Note]], list[int]]:
    """Distinct note lists and, for every state, the index of its list (states share them)."""
    distinct: list[list[Note]] = []
    positions: dict[tuple[Note, ...], int] = {}
    per_state: list[int] = []
    for index in range(len(timeline)):
        notes = notes_at(timeline, index)
        key = tuple(notes)
        if key not in positions:
            positions[key] = len(distinct)
            distinct.append(notes)
        per_state.append(positions[key])
    return distinct, per_state


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
        "covariance_type": timeline.states[0].params.covariance_type,
        "caption": table_caption(timeline.states[0].params.covariance_type),
    }
