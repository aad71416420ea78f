"""Placing the start by clicking: the pure parts (the run from placed means, units, the
chart and its words). The browser test is in tests/test_classroom_browser.py."""

from __future__ import annotations

import numpy as np
import pytest

from emapp.build.blobs import BlobSettings, make_blobs
from emapp.build.placing import (
    MEANS_TRACE,
    clicked_points,
    placing_figure,
    placing_status,
    to_em_units,
    to_file_units,
)
from emapp.build.timeline import CLICK_INIT, INIT_LABELS, ModelSettings, compute_timeline


def test_em_runs_from_the_placed_means_with_equal_weights_and_the_data_covariance() -> None:
    X = make_blobs(BlobSettings(n_points=400, seed=2))
    means = ((0.0, 0.0), (5.0, -3.0), (-4.0, 6.0))
    timeline = compute_timeline(X, ModelSettings(3, "full", CLICK_INIT, 0, (), means))
    start = timeline.states[0].params
    np.testing.assert_allclose(start.means, means)
    np.testing.assert_allclose(start.weights, [1 / 3] * 3)
    for covariance in start.covariances:
        np.testing.assert_allclose(covariance, np.cov(X.T, bias=True), rtol=1e-6)
    assert timeline.converged
    assert "click" in INIT_LABELS[CLICK_INIT]


def test_one_dimensional_means_and_too_few_means() -> None:
    X = make_blobs(BlobSettings(n_points=200, n_clusters=2, seed=4, dimensions=1))
    timeline = compute_timeline(X, ModelSettings(2, "full", CLICK_INIT, 0, (), ((-5.0,), (1.0,))))
    np.testing.assert_allclose(timeline.states[0].params.means, [[-5.0], [1.0]])
    model = ModelSettings(2, "full", CLICK_INIT, 0, (), ((-5.0,),))
    assert (
        model.placing and not ModelSettings(2, "full", CLICK_INIT, 0, (), ((1.0,), (2.0,))).placing
    )
    with pytest.raises(ValueError, match="place all 2 means first"):
        compute_timeline(X, model)


def test_the_status_says_which_mean_is_next_and_how_many_are_left() -> None:
    assert placing_status(0, 3) == (
        "Click on the chart to place the mean of component 1: 3 means left to place."
    )
    assert placing_status(2, 3).endswith("component 3: 1 mean left to place.")
    assert placing_status(3, 3) == "Every mean is placed."


def test_clicks_are_kept_in_the_files_units() -> None:
    centre, scale = np.array([10.0, 100.0]), np.array([2.0, 50.0])
    raw = to_file_units([1.0, -1.0], centre, scale)
    assert raw == (12.0, 50.0)
    assert to_em_units([raw], centre, scale) == ((1.0, -1.0),)
    assert to_em_units([raw], None, None) == (raw,)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ([[1, 2.5], [3.0, 4]], [(1.0, 2.5), (3.0, 4.0)]),
        ([[1, 2, 99]], [(1.0, 2.0)]),
        ([], []),
        ([[1]], None),
        ([[1, "2"]], None),
        ([[1, True]], None),
        ([[1, float("nan")]], None),
        ([[1, 2]] * 4, None),  # more points than components
        ("[[1, 2]]", None),
        (None, None),
    ],
)
def test_the_browsers_clicks_are_checked(value, expected) -> None:
    assert clicked_points(value, 2, 3) == expected


def test_the_placing_chart_shows_the_data_and_the_placed_means() -> None:
    X = make_blobs(BlobSettings(n_points=100, seed=1))
    figure = placing_figure(X, [(1.0, 2.0)], ("x₁", "x₂"))
    means = figure["data"][MEANS_TRACE]
    assert (means["x"], means["y"], means["text"]) == ([1.0], [2.0], ["1"])
    assert len(figure["data"][0]["x"]) == 100
    layout = figure["layout"]
    assert layout["dragmode"] is False and layout["xaxis"]["fixedrange"]
    flat = placing_figure(X[:, :1], [(1.0,)], ("x",))
    assert flat["data"][MEANS_TRACE]["y"] == [0.0]
    assert flat["data"][0]["name"] == "data (histogram)"
