"""The one-column picture: histogram, weighted component densities and the mixture."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import pytest

from emapp.build.colors import contrast_ratio, mean_symbols
from emapp.build.histogram import (
    HistogramLayout,
    build_histogram_figure,
    histogram,
    histogram_table,
    weighted_densities,
)
from emapp.build.timeline import ModelSettings, compute_timeline
from emcore import load_dataset


@pytest.fixture(scope="module")
def eruptions():
    x = load_dataset("faithful")["eruptions"].to_numpy()
    timeline = compute_timeline(x[:, None], ModelSettings(2, "full", "random", 0))
    return x, timeline


@pytest.fixture(scope="module")
def figure(eruptions):
    x, timeline = eruptions
    return build_histogram_figure(x, timeline, "eruptions")


def test_histogram_has_area_one(eruptions) -> None:
    edges, heights = histogram(eruptions[0])
    assert np.isclose(np.sum(heights * np.diff(edges)), 1.0)


def test_weighted_densities_integrate_to_the_weights(eruptions) -> None:
    params = eruptions[1].states[-1].params
    grid = np.linspace(-10, 20, 20_001)
    areas = np.trapezoid(weighted_densities(params, grid), grid, axis=1)
    np.testing.assert_allclose(areas, params.weights, rtol=1e-6)


def test_one_frame_per_state_named_by_index(figure, eruptions) -> None:
    timeline = eruptions[1]
    assert [f["name"] for f in figure["frames"]] == [str(i) for i in range(len(timeline))]
    layout = HistogramLayout(2)
    assert len(figure["data"]) == layout.n_traces
    for f in figure["frames"]:
        assert len(f["data"]) == len(f["traces"])
        assert max(f["traces"]) < layout.n_traces
        assert 0 not in f["traces"]  # the histogram never moves


def test_m_frames_leave_the_colours_e_frames_recolour(figure, eruptions) -> None:
    timeline = eruptions[1]
    points = HistogramLayout(2).points
    for i, f in enumerate(figure["frames"]):
        assert (points in f["traces"]) == (timeline.stage(i) != "M")


def test_mixture_is_the_sum_of_the_components(figure) -> None:
    layout = HistogramLayout(2)
    last = figure["frames"][-1]
    by_trace = dict(zip(last["traces"], last["data"], strict=True))
    components = sum(np.asarray(by_trace[layout.component(k)]["y"]) for k in range(2))
    np.testing.assert_allclose(by_trace[layout.mixture]["y"], components, atol=2e-3)


def test_means_have_the_2d_charts_shapes(figure) -> None:
    layout = HistogramLayout(2)
    for frame in figure["frames"]:
        means = frame["data"][frame["traces"].index(layout.means)]
        assert [s.removesuffix("-open") for s in means["marker"]["symbol"]] == mean_symbols(2)


def test_table_swatches_have_readable_text(eruptions) -> None:
    table = histogram_table(eruptions[1], "v", "eruptions")
    for colours in table["colours"]:
        assert all(contrast_ratio(c, table["inks"][c]) >= 4.5 for c in colours)


def test_first_trace_is_no_point_cloud(figure) -> None:
    """The player's direct-drawing playback needs markers in trace 0; the histogram has none,
    so the player uses Plotly.animate for this figure."""
    assert figure["data"][0]["mode"] == "lines"


def test_figure_is_valid_plotly(eruptions) -> None:
    x, timeline = eruptions
    small = build_histogram_figure(x[:40], timeline, "eruptions")
    go.Figure(small)  # raises on anything outside Plotly's schema


def test_table_has_a_row_per_component_and_state(eruptions) -> None:
    timeline = eruptions[1]
    table = histogram_table(timeline, "v1", "eruptions")
    assert table["header"] == [
        "Component",
        "Weight",
        "Mean eruptions",
        "Var eruptions",
        "SD eruptions",
    ]
    assert len(table["rows"]) == len(timeline)
    assert all(len(rows) == 2 for rows in table["rows"])
    assert table["version"] == "v1" and table["role"] == "table"


def test_prepared_one_column_run_is_tagged_for_the_player() -> None:
    from emapp.build.prepare import prepare_table
    from emapp.build.tables import choose, dataset_table

    data = choose(dataset_table("faithful"), ["waiting"], standardise=False)
    timeline = compute_timeline(data.X, ModelSettings(2, "full", "kmeans", 0))
    run = prepare_table(("test",), data, timeline)
    spec = run.figure.to_dict()
    assert spec["layout"]["meta"] == run.version
    assert run.table["version"] == run.version
    assert run.table["header"][2] == "Mean waiting"
    assert run.export.columns == ("waiting",)


def test_the_column_name_is_escaped_in_the_chart_and_plain_in_the_table(eruptions) -> None:
    x, timeline = eruptions
    name = "<b>x</b> %{meta}"
    figure = build_histogram_figure(x, timeline, name)
    assert figure["layout"]["xaxis"]["title"]["text"] == "&lt;b&gt;x&lt;/b&gt; &#37;{meta}"
    # The browser sets the table's cells with textContent, which shows them as written.
    assert histogram_table(timeline, "v", name)["header"][2] == f"Mean {name}"
