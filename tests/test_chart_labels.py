"""The main chart's numbers, legend and view, as the teacher's report found them wanting:
numbers beside the wrong marker on some screens, a legend of darkened lines, and a zoom that
changed from one page load to the next."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from emapp.build.blobs import BlobSettings, make_labelled_blobs
from emapp.build.colors import component_hex, mean_symbols
from emapp.build.figures import Layout, build_figure, run_view
from emapp.build.geometry import ellipse_xy
from emapp.build.labels import (
    LARGEST_PANEL_PX,
    MARKER_REACH,
    MEAN_MARKER_PX,
    NOMINAL_PANEL_PX,
    SMALLEST_PANEL_PX,
    box_distances,
    label_box,
)
from emapp.build.timeline import ModelSettings, compute_timeline

# The data panel's side from a 1024x768 projector's (its legend on one row) to a wide
# monitor's, finer than the placing's steps.
SIDES = np.geomspace(NOMINAL_PANEL_PX, LARGEST_PANEL_PX, 40)


@pytest.fixture(scope="module")
def crowded():
    """The teacher's case: eight true clusters and K = 8 (``?clusters=8&k=8``)."""
    X, _ = make_labelled_blobs(BlobSettings(n_clusters=8))
    timeline = compute_timeline(X, ModelSettings(n_components=8))
    return X, timeline, build_figure(X, timeline)


def means_of(figure: dict, index: int, n_components: int) -> dict:
    frame = figure["frames"][index]
    return frame["data"][frame["traces"].index(Layout(n_components).means)]


def label_distances(means: dict, side: float, span: float) -> list[tuple[float, float]]:
    """For every number: the distance (pixels, from its box) to its own mean's centre and
    to the nearest other mean's whose marker is apart from its own, on a square panel
    ``side`` pixels across."""
    pixels = np.column_stack([means["x"], means["y"]]) * side / span
    found = []
    for k, (text, place) in enumerate(zip(means["text"], means["textposition"], strict=True)):
        if not text.strip():
            continue
        box = label_box(place, text)
        apart = pixels - pixels[k]
        mine = [j for j, t in enumerate(means["text"]) if j == k or not t.strip()]
        others = np.delete(apart, mine, axis=0)
        # Markers that overlap their own leave no room between them to speak of.
        others = others[np.hypot(*others.T) > MEAN_MARKER_PX + 2.5]
        own = float(box_distances(box, np.zeros(2)))
        other = float(box_distances(box, others).min()) if len(others) else np.inf
        found.append((own, other))
    return found


def test_the_teachers_numbers_sit_by_their_own_markers_on_every_screen(crowded) -> None:
    """At K = 8, converged: "6" touched the diamond of 3, "8" sat under the x of 6. Every
    number must be nearer its own mean than any other, and off every other marker, on every
    panel from a projector's to a wide monitor's."""
    _, timeline, figure = crowded
    span = np.diff(figure["layout"]["yaxis"]["range"])[0]
    means = means_of(figure, len(timeline) - 1, 8)
    for side in SIDES:
        for own, other in label_distances(means, side, span):
            assert other >= MARKER_REACH - 0.5, side
            assert other > own + 5, side


def test_numbers_are_placed_by_plotlys_own_offsets() -> None:
    """Plotly draws "top right" text 13.5 px right of a 20 px marker's centre with its
    baseline 19 px above it: the old table put that number's centre at (16, 20), 14 px
    nearer the mean than drawn, so a neighbour it sat on looked clear."""
    left, bottom, right, top = label_box("top right", "1")
    assert left == pytest.approx(13.5) and bottom == pytest.approx(19.0)
    assert (right - left, top - bottom) == pytest.approx((12.32, 15.84))
    assert label_box("middle left", "10")[2] == pytest.approx(-13.5)


def test_the_legend_shows_each_components_shape_in_its_own_colour(crowded) -> None:
    """The legend showed short lines in the ellipses' darker colours, 13.5 apart under
    deuteranopia; it must carry what the chart encodes: colour and shape."""
    _, _, figure = crowded
    shown = [t for t in figure["data"] if t.get("showlegend", True)]
    assert [t["name"] for t in shown] == [str(k + 1) for k in range(8)]
    assert [t["marker"]["symbol"] for t in shown] == mean_symbols(8)
    assert [t["marker"]["color"] for t in shown] == [component_hex(k) for k in range(8)]
    assert all(t["mode"] == "markers" and t["x"] == [None] for t in shown)  # no data drawn
    assert len(figure["data"]) == Layout(8).n_traces
    assert figure["layout"]["legend"]["orientation"] == "h"


def test_the_view_is_fixed_by_the_figure_and_holds_the_whole_run(crowded) -> None:
    """Plotly widened a range to keep equal scales and wrote it back, so each of the page's
    draws at a new size widened it again, and loads differed. The axes must keep equal
    scales by shrinking the panel, never the ranges; and the ranges hold every point and
    every state's ellipses (within WIDEST_VIEW)."""
    X, timeline, figure = crowded
    xaxis, yaxis = figure["layout"]["xaxis"], figure["layout"]["yaxis"]
    assert xaxis["constrain"] == yaxis["constrain"] == "domain"
    assert yaxis["scaleanchor"] == "x"
    assert (xaxis["range"], yaxis["range"]) == run_view(X, timeline)
    assert build_figure(X, timeline)["layout"] == figure["layout"]  # a pure function
    default_X, _ = make_labelled_blobs(BlobSettings())
    default = compute_timeline(default_X, ModelSettings())
    layout = build_figure(default_X, default)["layout"]
    (x0, x1), (y0, y1) = layout["xaxis"]["range"], layout["yaxis"]["range"]
    for state, k, level in itertools.product(default.states, range(3), (1, 2)):
        params = state.params
        outline = ellipse_xy(params.means[k], params.full_covariances[k][:2, :2], level)
        assert outline[:, 0].min() >= x0 and outline[:, 0].max() <= x1
        assert outline[:, 1].min() >= y0 and outline[:, 1].max() <= y1
    assert x0 <= default_X[:, 0].min() and default_X[:, 0].max() <= x1


def test_numbers_stay_clear_on_a_panel_smaller_than_nominal() -> None:
    """A mean 40 px right of and 50 px above another on the nominal 320 px panel: the old
    placing put the first's number "top right" (clear there, by its guessed offsets), but
    on a 1024x768 screen's smaller panel the other mean's marker sat on it (the teacher's
    "6" by the diamond of 3). A place must be clear on every panel size."""
    from emapp.build.figures import LabelRoom, panel_zooms

    per_pixel = 100 / NOMINAL_PANEL_PX
    means = np.array([[0.0, 0.0], [40 * per_pixel, 50 * per_pixel]])
    place = LabelRoom(per_pixel, zooms=panel_zooms()).positions(means)[0]
    box = label_box(place)
    for side in np.geomspace(SMALLEST_PANEL_PX, LARGEST_PANEL_PX, 40):
        other = (means[1] - means[0]) * side / 100
        assert float(box_distances(box, other)) >= MARKER_REACH - 0.5, (place, side)
