"""The true clusters, when the data have them (pure, no Streamlit).

Blobs know the cluster each point was drawn from; iris and penguins know their species.
Once EM has run, the page says how well its grouping agrees with them, by the adjusted Rand
index (scikit-learn's ``adjusted_rand_score``: 1 for the same grouping whatever the
component numbers, about 0 for a grouping no better than chance), and a toggle outlines
every point by its true cluster on the chart: the figure carries the outlines' colours,
too thin to see, and the toggle's style widens them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from emapp.build.describe import Note, StateDescription
from emapp.build.figures import Layout
from emapp.build.timeline import Timeline

# Outline colours by true cluster: dark and plain, so they do not read as component colours.
OUTLINE_COLOURS = (
    "#111111",
    "#7F7F7F",
    "#8C510A",
    "#01665E",
    "#542788",
    "#B2182B",
    "#2166AC",
    "#4D9221",
)
OUTLINE_WIDTH = 1.6
# The figure's own outline width: too thin to see, but Plotly only colours a point's outline
# when its width is not 0, and the toggle's style only widens it.
HIDDEN_WIDTH = 0.01


def agreement(truth: np.ndarray, resp: np.ndarray) -> float:
    """The adjusted Rand index of EM's hard labels (most responsible component) and ``truth``."""
    from sklearn.metrics import adjusted_rand_score

    return float(adjusted_rand_score(np.asarray(truth), np.asarray(resp).argmax(axis=1)))


def agreement_sentence(ari: float, what: str = "the true clusters") -> str:
    return f"Agreement with {what}: adjusted Rand index {ari:.2f} (1 = same grouping)."


def truth_words(truth: np.ndarray) -> str:
    """How the page names the truth: species for the data sets, clusters for blobs."""
    return "the species" if np.asarray(truth).dtype.kind in "US" else "the true clusters"


def with_agreement(
    descriptions: Sequence[StateDescription], timeline: Timeline, truth: np.ndarray | None
) -> tuple[StateDescription, ...]:
    """The run's descriptions with the agreement said at its last state (once EM has run)."""
    descriptions = tuple(descriptions)
    if truth is None or timeline.last == 0:
        return descriptions
    ari = agreement(truth, timeline.resp[timeline.last])
    sentence = agreement_sentence(ari, truth_words(truth))
    last = descriptions[-1]
    notes = last.notes
    if notes and notes[-1].kind in ("success", "info"):
        # Said in the end note's own box: the notes' box has one height on a projector, and
        # a second box's margins cost the line the sentence needs.
        notes = (*notes[:-1], Note(notes[-1].kind, f"{notes[-1].sentence} {sentence}"))
    else:
        notes = (*notes, Note("info", sentence))
    return (*descriptions[:-1], replace(last, notes=notes))


def outline_colours(truth: np.ndarray) -> list[str]:
    """One outline colour per point, by its true cluster (classes in sorted order)."""
    _, codes = np.unique(np.asarray(truth), return_inverse=True)
    palette = np.asarray(OUTLINE_COLOURS)
    return palette[codes % len(palette)].tolist()


# The page shows the outlines by widening them with this style while the toggle is on; the
# figure never changes, so the chart is neither redrawn nor moved from the state on screen.
OUTLINE_CSS = (
    "<style>.st-key-em-chart .scatterlayer .trace:first-child path.point "
    f"{{ stroke-width: {OUTLINE_WIDTH}px !important; }}</style>"
)


def outlined(spec: dict, truth: np.ndarray) -> dict:
    """The chart's figure with every point's outline coloured by its true cluster.

    The outlines are too thin to see (:data:`HIDDEN_WIDTH`) until the page's style widens
    them (:data:`OUTLINE_CSS`). Only the points trace's base styling changes (a shallow copy:
    the frames, which set the points' fill colours, are shared with ``spec``).
    """
    data = list(spec["data"])
    points = dict(data[Layout.points()])
    marker = dict(points.get("marker", {}))
    marker["line"] = {"width": HIDDEN_WIDTH, "color": outline_colours(truth)}
    points["marker"] = marker
    data[Layout.points()] = points
    return {**spec, "data": data}
