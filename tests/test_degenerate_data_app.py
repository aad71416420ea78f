"""Data too degenerate for the model (no spread, too few distinct points for K, a constant
column, points on a line, very few rows): the page says so in one sentence, first in the
chart's notes and above the teaching tabs, draws the components' numbers apart, and never
shows a traceback, whichever tab is open.

The pure builders (:mod:`emapp.build.degenerate`, the numbers' places in
:mod:`emapp.build.figures`, the window of :func:`emapp.build.geometry.square_ranges`) are
tested first, then the page through AppTest with uploaded files.
"""

from __future__ import annotations

import itertools
import json

import numpy as np
import pytest
from apptest_page import shown
from streamlit.testing.v1 import AppTest
from test_upload_app import notes_on_screen, run, source, spec

from emapp.build.blobs import BlobSettings, make_labelled_blobs
from emapp.build.degenerate import data_warning, with_data_warning
from emapp.build.describe import describe_run
from emapp.build.export import labels_csv, parameters_json
from emapp.build.figures import (
    BLANK_LABEL,
    LABEL_CLEARANCE,
    NOMINAL_PANEL_PX,
    Layout,
    build_figure,
    label_positions,
    label_texts,
    number_runs,
    stacks,
)
from emapp.build.geometry import square_ranges
from emapp.build.histogram import HistogramLayout, build_histogram_figure
from emapp.build.timeline import ModelSettings, compute_timeline
from emapp.ui.teaching import TABS_KEY

RNG = np.random.default_rng(0)
VARIED = RNG.normal(size=50)
SAME = np.tile([1.0, 2.0], (50, 1))
TWO = np.repeat([[1.0, 2.0], [3.0, 5.0]], 25, axis=0)
CONSTANT_Y = np.column_stack([VARIED, np.full(50, 2.0)])
LINE = np.column_stack([VARIED, 2.54 * VARIED + 170])
FIVE = np.array([[0.0, 0.0], [1.0, 0.2], [0.3, 1.0], [2.0, 2.1], [2.5, 1.9]])
NAMES = ("x", "y")


# -- the sentence ------------------------------------------------------------------------------


def test_every_row_the_same_point_is_said_with_the_point() -> None:
    said = data_warning(SAME, 3, "full", NAMES)
    assert said.startswith("All 50 rows are the same point (x = 1, y = 2)")
    assert "grows without limit" in said
    assert data_warning(SAME, 1, "spherical", NAMES) == said  # whatever K and the model
    one = data_warning(SAME[:, :1], 2, "full", ("x",))
    assert one.startswith("All 50 rows have the same value (x = 1)")


def test_fewer_distinct_points_than_components() -> None:
    said = data_warning(TWO, 3, "full", NAMES)
    assert said.startswith("The data have only 2 distinct points, too few for K = 3 components")
    three = data_warning(np.vstack([TWO, [[0.0, 0.0]]]), 3, "diag", NAMES)
    assert "only 3 distinct points" in three  # K distinct points: one for each to shrink onto


def test_a_constant_column_is_named_with_its_value() -> None:
    said = data_warning(CONSTANT_Y, 2, "full", NAMES)
    assert said.startswith("Column y has the same value (2) in every row")
    assert "grows without limit" in said and "Columns to fit" in said
    # Circles take their size from every column: not singular, but still of no use.
    circles = data_warning(CONSTANT_Y, 2, "spherical", NAMES)
    assert "cannot help tell groups apart" in circles and "without limit" not in circles


def test_points_on_a_line_matter_only_to_ellipses_at_an_angle() -> None:
    assert "lie on one straight line" in data_warning(LINE, 2, "full", NAMES)
    assert "lie on one straight line" in data_warning(LINE, 2, "tied", NAMES)
    assert data_warning(LINE, 2, "diag", NAMES) == ""  # ellipses along the axes are fine


def test_very_few_rows_for_k() -> None:
    said = data_warning(FIVE, 3, "full", NAMES)
    assert said.startswith("Only 5 distinct points for K = 3 components")
    assert data_warning(FIVE, 1, "full", NAMES) == ""


def test_missing_cells_are_judged_at_their_columns_mean() -> None:
    gaps = np.vstack([SAME, [[np.nan, 2.0], [1.0, np.nan]]])
    assert data_warning(gaps, 3, "full", NAMES).startswith("All 52 rows are the same point")


def test_ordinary_data_and_every_blob_setting_say_nothing() -> None:
    """The sliders cannot make degenerate blobs: the fewest points, the smallest spread and
    the most components still spread out (blobs always have 50 points or more)."""
    for dimensions in (1, 2):
        blobs = BlobSettings(n_points=50, n_clusters=8, spread=0.2, seed=3, dimensions=dimensions)
        X, _ = make_labelled_blobs(blobs)
        names = NAMES[: X.shape[1]]
        for covariance_type in ("full", "diag", "spherical"):
            assert data_warning(X, 8, covariance_type, names) == ""


def test_the_warning_comes_first_in_every_state() -> None:
    timeline = compute_timeline(SAME, ModelSettings())
    descriptions = with_data_warning(describe_run(timeline), "No spread.")
    assert all(d.notes[0] == ("warning", "No spread.") for d in descriptions)
    assert with_data_warning(describe_run(timeline), "") == describe_run(timeline)


# -- the picture --------------------------------------------------------------------------------


def test_means_on_one_spot_share_one_number() -> None:
    means = np.array([[0.0, 0.0], [5.0, 5.0], [0.0, 0.001], [0.0, 0.0]])
    leaders = stacks(means, 0.01)
    assert leaders == [0, 1, 0, 0]
    assert label_texts(leaders) == ["1, 3, 4", "2", BLANK_LABEL, BLANK_LABEL]
    assert number_runs([1, 2, 3, 5, 7, 8]) == "1–3, 5, 7, 8"
    # The blanks take their leader's place, which steps around the other means only.
    places = label_positions(means, 0.01)
    assert places[2] == places[3] == places[0] == "top right"


def final_means(figure: dict, trace: int) -> dict:
    last = figure["frames"][-1]
    return last["data"][last["traces"].index(trace)]


def test_collapsed_means_are_numbered_once_on_a_chart_with_room() -> None:
    timeline = compute_timeline(SAME, ModelSettings())
    figure = build_figure(SAME, timeline, NAMES)
    assert final_means(figure, Layout(3).means)["text"] == ["1–3", BLANK_LABEL, BLANK_LABEL]
    # A window around the point, not one of 2e-9 with ticks such as 0.999999998.
    x_range, y_range = figure["layout"]["xaxis"]["range"], figure["layout"]["yaxis"]["range"]
    assert x_range[1] - x_range[0] >= 1 and y_range[0] < 2 < y_range[1]
    assert square_ranges(SAME)[0] == pytest.approx(x_range)


def test_collapsed_means_on_a_histogram_are_numbered_once() -> None:
    timeline = compute_timeline(SAME[:, :1], ModelSettings())
    figure = build_histogram_figure(SAME[:, 0], timeline)
    means = final_means(figure, HistogramLayout(3).means)
    texts = [t for t in means["text"] if t != BLANK_LABEL]
    assert sorted(",".join(texts).replace(" ", "").split(",")) == ["1", "2", "3"]
    # No two numbers in one place: the spikes all sit at x = 1, cut at the axis's top.
    places = means.get("textposition", ["top right"] * 3)
    per_pixel = figure["layout"]["yaxis"]["range"][1] / NOMINAL_PANEL_PX
    numbered = [
        (y, place)
        for y, place, text in zip(means["y"], places, means["text"], strict=True)
        if text != BLANK_LABEL
    ]
    for (y, place), (other_y, other_place) in itertools.combinations(numbered, 2):
        assert place != other_place or abs(y - other_y) >= LABEL_CLEARANCE[1] * per_pixel
    x_range = figure["layout"]["xaxis"]["range"]
    assert x_range[1] - x_range[0] >= 1


# -- the page -----------------------------------------------------------------------------------


def csv_bytes(X: np.ndarray, names: tuple[str, ...] = NAMES) -> bytes:
    rows = "\n".join(",".join(f"{v:.6f}" for v in row) for row in X)
    return (",".join(names[: X.shape[1]]) + "\n" + rows + "\n").encode()


def uploaded(name: str, content: bytes) -> AppTest:
    at = source("Upload CSV")
    at.file_uploader(key="csv_file").set_value((name, content, "text/csv"))
    return run(at)


def said_on_the_chart(at: AppTest) -> str:
    """The first note under the status line, at the state on screen and at the last one."""
    run_ = at.session_state["em_run"]
    first = notes_on_screen(at)[0]
    assert run_.descriptions[-1].notes[0] == tuple(first)
    assert first[0] == "warning"
    return first[1]


def above_the_tabs(at: AppTest) -> str:
    return " ".join(shown(w.value) for w in at.warning)


CASES = [
    ("same.csv", csv_bytes(SAME), "All 50 rows are the same point (x = 1, y = 2)"),
    ("two.csv", csv_bytes(TWO), "only 2 distinct points, too few for K = 3 components"),
    ("constant.csv", csv_bytes(CONSTANT_Y), "Column y has the same value (2) in every row"),
    ("line.csv", csv_bytes(LINE, ("cm", "inches")), "The points all lie on one straight line"),
    ("five.csv", csv_bytes(FIVE), "Only 5 distinct points for K = 3 components"),
]


@pytest.mark.parametrize(("name", "content", "sentence"), CASES, ids=[c[0] for c in CASES])
def test_an_upload_without_spread_is_explained_on_the_chart(
    name: str, content: bytes, sentence: str
) -> None:
    at = uploaded(name, content)
    assert not at.exception
    assert sentence in said_on_the_chart(at)
    assert sentence in above_the_tabs(at)


def test_every_tab_and_the_downloads_work_on_identical_rows() -> None:
    at = uploaded("same.csv", csv_bytes(SAME))
    for tab in ("Worked example", "Choose K", "k-means vs EM", "Density"):
        at.session_state[TABS_KEY] = tab
        at = run(at)
        assert "All 50 rows are the same point" in above_the_tabs(at)
    at.session_state[TABS_KEY] = "Choose K"
    at = run(at)
    next(b for b in at.button if b.label == "Compare models").click()
    at = run(at)
    assert any("Best by BIC" in m.value for m in at.markdown)
    fit = at.session_state["em_run"].export
    assert json.loads(parameters_json(fit))["n_components"] == 3
    assert labels_csv(fit.data, fit.columns, fit.resp, fit.truth).count("\n") == 51


def test_the_chart_numbers_collapsed_means_once() -> None:
    at = uploaded("same.csv", csv_bytes(SAME))
    assert final_means(spec(at), Layout(3).means)["text"] == ["1–3", BLANK_LABEL, BLANK_LABEL]


def test_a_smaller_k_changes_the_sentence_and_a_good_file_clears_it() -> None:
    at = uploaded("two.csv", csv_bytes(TWO))
    at.slider(key="n_components").set_value(1)
    at = run(at)
    assert "lie on one straight line" in said_on_the_chart(at)  # two points make a line
    at.selectbox(key="covariance_type").set_value("diag")
    at = run(at)
    assert "Only 2 distinct points" in said_on_the_chart(at)
    content = csv_bytes(np.column_stack([VARIED, RNG.normal(size=50)]))
    at.file_uploader(key="csv_file").set_value(("good.csv", content, "text/csv"))
    at = run(at)
    assert all(note[0] != "warning" for note in notes_on_screen(at))
    assert not at.warning
