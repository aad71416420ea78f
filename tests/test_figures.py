"""Figure builders as pure functions: ellipse geometry, colours, frames, fixed axes."""

from __future__ import annotations

import json

import numpy as np
import plotly.graph_objects as go
import pytest
from colorspacious import cspace_convert

from emapp.build.blobs import BlobSettings, make_blobs
from emapp.build.colors import (
    NEUTRAL_HEX,
    PALETTE_HEX,
    blend,
    mean_symbols,
    palette_rgb,
    point_colors,
)
from emapp.build.figures import (
    CURVE_DOMAIN,
    DATA_DOMAIN,
    Layout,
    build_figure,
    panel_layouts,
    run_view,
)
from emapp.build.geometry import N_STDS, ellipse_axes, ellipse_xy, square_ranges
from emapp.build.histogram import build_histogram_figure
from emapp.build.timeline import ModelSettings, compute_timeline


@pytest.fixture(scope="module")
def small_run():
    X = make_blobs(BlobSettings(n_points=200, n_clusters=3, seed=1))
    timeline = compute_timeline(X, ModelSettings(n_components=3, init="k-means++", seed=0))
    return X, timeline, build_figure(X, timeline)


# -- ellipse geometry ------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(5))
def test_ellipse_axes_are_the_square_roots_of_the_eigenvalues(seed: int) -> None:
    rng = np.random.default_rng(seed)
    A = rng.normal(size=(2, 2))
    covariance = A @ A.T + 0.1 * np.eye(2)
    eigenvalues, eigenvectors = np.linalg.eigh(covariance)
    radii, angle = ellipse_axes(covariance, n_std=2.0)
    np.testing.assert_allclose(radii, 2.0 * np.sqrt(eigenvalues[::-1]))
    direction = np.array([np.cos(angle), np.sin(angle)])
    # The long axis is the eigenvector of the largest eigenvalue (up to sign).
    assert abs(direction @ eigenvectors[:, 1]) == pytest.approx(1.0)


@pytest.mark.parametrize("n_std", N_STDS)
def test_every_outline_point_is_at_mahalanobis_distance_n_std(n_std: int) -> None:
    mean = np.array([3.0, -1.0])
    covariance = np.array([[4.0, 1.5], [1.5, 1.0]])
    outline = ellipse_xy(mean, covariance, n_std)
    offsets = outline - mean
    distances = np.sqrt(np.einsum("ni,ij,nj->n", offsets, np.linalg.inv(covariance), offsets))
    np.testing.assert_allclose(distances, n_std, rtol=1e-10)
    np.testing.assert_allclose(outline[0], outline[-1])  # closed


def test_a_singular_covariance_gives_a_flat_ellipse_not_nan() -> None:
    outline = ellipse_xy(np.zeros(2), np.array([[1.0, 1.0], [1.0, 1.0]]))
    assert np.isfinite(outline).all()
    np.testing.assert_allclose(outline[:, 0], outline[:, 1], atol=1e-7)


def test_square_ranges_have_equal_spans_and_contain_the_data() -> None:
    X = np.array([[0.0, 0.0], [10.0, 2.0], [5.0, -1.0]])
    x_range, y_range = square_ranges(X)
    assert x_range[1] - x_range[0] == pytest.approx(y_range[1] - y_range[0])
    assert x_range[0] < 0 and x_range[1] > 10 and y_range[0] < -1 and y_range[1] > 2


# -- colours from responsibilities ------------------------------------------------------------


def test_a_point_owned_by_one_component_gets_its_colour() -> None:
    resp = np.eye(3)
    assert point_colors(resp) == [c.lower() for c in PALETTE_HEX[:3]]


def test_a_shared_point_gets_the_weighted_mix_as_seen() -> None:
    # Blue and sky blue: their mix is colourful, so it is the plain weighted mean in
    # CAM02-UCS (a perceptual space), up to the rounding grid and sRGB's 8 bits.
    resp = np.array([[0.25, 0.0, 0.0, 0.0, 0.0, 0.75]])
    ucs = cspace_convert(palette_rgb(6) / 255, "sRGB1", "CAM02-UCS")
    got = cspace_convert(blend(resp, palette_rgb(6))[0] / 255, "sRGB1", "CAM02-UCS")
    assert np.linalg.norm(got - (0.25 * ucs[0] + 0.75 * ucs[5])) < 1.5


def test_float32_rounding_cannot_overflow_a_channel() -> None:
    resp = np.array([[0.6, 0.6]], dtype=np.float32)  # sums past 1
    assert blend(resp, np.array([[255.0, 255, 255], [255, 255, 255]])).max() == 255


def test_before_the_first_e_step_points_are_neutral() -> None:
    assert point_colors(None) == NEUTRAL_HEX


# -- the animated figure ---------------------------------------------------------------------


def test_one_frame_per_state_named_by_index(small_run) -> None:
    _, timeline, figure = small_run
    assert [f["name"] for f in figure["frames"]] == [str(i) for i in range(len(timeline))]


def test_m_frames_move_ellipses_and_keep_colours_e_frames_recolour(small_run) -> None:
    _, timeline, figure = small_run
    layout = Layout(3)
    for index, frame in enumerate(figure["frames"]):
        if timeline.stage(index) == "M":
            assert layout.points() not in frame["traces"]
        else:
            assert frame["traces"][0] == layout.points()
        assert all(layout.ellipse(k, 0) in frame["traces"] for k in range(3))


def test_frames_draw_each_states_ellipse(small_run) -> None:
    _, timeline, figure = small_run
    layout = Layout(3)
    index = 4
    frame = figure["frames"][index]
    update = frame["data"][frame["traces"].index(layout.ellipse(1, 0))]
    params = timeline.states[index].params
    expected = ellipse_xy(params.means[1], params.full_covariances[1], 1)
    # Coordinates are rounded to a thousandth of the plot's span (a fraction of a pixel).
    tolerance = 1e-3 * (
        figure["layout"]["xaxis"]["range"][1] - figure["layout"]["xaxis"]["range"][0]
    )
    np.testing.assert_allclose(update["x"], expected[:, 0], atol=tolerance)
    np.testing.assert_allclose(update["y"], expected[:, 1], atol=tolerance)


def test_colours_in_e_frames_come_from_that_states_responsibilities(small_run) -> None:
    _, timeline, figure = small_run
    index = 3
    assert timeline.stage(index) == "E"
    colours = figure["frames"][index]["data"][0]["marker"]["color"]
    assert colours == point_colors(timeline.responsibilities(index))


def test_every_mean_keeps_its_own_shape_in_every_frame(small_run) -> None:
    """Colour is never the only cue: each component's mean has its shape in every state
    (the player moves the means' SVG paths, never their shapes)."""
    _, timeline, figure = small_run
    layout = Layout(3)
    assert figure["data"][layout.means]["marker"]["symbol"] == mean_symbols(3)
    for frame in figure["frames"]:
        means = frame["data"][frame["traces"].index(layout.means)]
        empty = timeline.states[int(frame["name"])].params.empty
        assert means["marker"]["symbol"] == mean_symbols(3, empty)
        assert len(set(means["marker"]["symbol"])) == 3


def test_axes_are_fixed_for_the_whole_run(small_run) -> None:
    X, timeline, figure = small_run
    layout = figure["layout"]
    assert (layout["xaxis"]["range"], layout["yaxis"]["range"]) == run_view(X, timeline)
    for frame in figure["frames"]:
        assert "layout" not in frame  # no frame moves an axis


def test_a_square_data_panel_leaves_the_spare_width_to_the_curve(small_run) -> None:
    """The square sits at the left of its share (where the player keeps it), and the player
    is told how to give the rest of a wide chart to the curve; a histogram keeps its share."""
    X, _, figure = small_run
    layout = figure["layout"]
    assert layout["xaxis"]["constraintoward"] == "left"
    places = panel_layouts(layout)
    gap = CURVE_DOMAIN[0] - DATA_DOMAIN[1]
    assert places["split"] == pytest.approx({"data_max": DATA_DOMAIN[1], "gap": gap})
    assert places["wide"]["xaxis.constraintoward"] == "left"
    assert places["narrow"]["xaxis.constraintoward"] == "center"  # centred on a phone
    line = compute_timeline(X[:, :1], ModelSettings(n_components=2, seed=0), max_iterations=3)
    histogram = build_histogram_figure(X[:, 0], line, "x")
    assert "split" not in panel_layouts(histogram["layout"])


def test_the_figure_is_valid_plotly() -> None:
    X = make_blobs(BlobSettings(n_points=60, n_clusters=2, seed=3))
    timeline = compute_timeline(X, ModelSettings(n_components=2, seed=1), max_iterations=4)
    go.Figure(build_figure(X, timeline))  # raises on anything outside Plotly's schema


def test_the_curve_ends_at_the_current_log_likelihood(small_run) -> None:
    _, timeline, figure = small_run
    layout = Layout(3)
    last = figure["frames"][-1]
    current = last["data"][last["traces"].index(layout.current)]
    assert current["y"][0] == pytest.approx(timeline.states[-1].log_likelihood, abs=0.01)


def test_hex_colours_are_exact_and_points_of_one_colour_share_one_string() -> None:
    from emapp.build.colors import to_hex

    rgb = np.random.default_rng(3).integers(0, 256, (400, 3)).astype(np.uint8)
    rgb[::2] = (31, 119, 180)  # half the points fully owned by component 1
    colours = to_hex(rgb)
    assert colours == [f"#{r:02x}{g:02x}{b:02x}" for r, g, b in rgb.tolist()]
    assert len({id(c) for c in colours[::2]}) == 1  # one object, 200 references
    assert to_hex(np.zeros((0, 3), dtype=np.uint8)) == []


# Column names from an uploaded file are plain text: Plotly must show them as written.
MARKUP = ("<b>x</b> %{meta}", "![i](http://e.invalid/a.png) $y$")
ESCAPED = ("&lt;b&gt;x&lt;/b&gt; &#37;{meta}", "![i](http://e.invalid/a.png) &#36;y&#36;")


def test_axis_titles_show_markup_in_names_as_written(small_run) -> None:
    X, timeline, _ = small_run
    spec = build_figure(X, timeline, MARKUP)
    assert spec["layout"]["xaxis"]["title"]["text"] == ESCAPED[0]
    assert spec["layout"]["yaxis"]["title"]["text"] == ESCAPED[1]
    assert "<b>x" not in json.dumps(spec) and "%{meta}" not in json.dumps(spec)


def test_the_iteration_axis_at_the_start_does_not_tell_the_run_length() -> None:
    """Every run's figure starts on the same iteration axis; the player widens it to
    ``axis_ends`` of the states visited (doubling reaches, so rarely during Play)."""
    from emapp.build.figures import MIN_AXIS_ITERATIONS, axis_ends, iteration_axis_end

    X = make_blobs(BlobSettings(n_points=300, seed=2))
    short = compute_timeline(X, ModelSettings(3, "full", "kmeans", 0))
    long = compute_timeline(X, ModelSettings(6, "full", "random", 1))
    assert short.n_iterations != long.n_iterations
    ranges = [build_figure(X, t)["layout"]["xaxis2"]["range"] for t in (short, long)]
    assert ranges[0] == ranges[1] == [-0.5, iteration_axis_end(0)]
    for timeline in (short, long):
        ends = axis_ends(timeline)
        assert len(ends) == len(timeline)
        assert ends == sorted(ends) and ends[0] == iteration_axis_end(0)
        assert all(end > state.iteration for end, state in zip(ends, timeline.states, strict=True))
    reaches = {iteration_axis_end(i) for i in range(0, 151)}
    assert len(reaches) == 5  # 10, 20, 40, 80, 160 iterations
    assert iteration_axis_end(MIN_AXIS_ITERATIONS) == iteration_axis_end(0)


def test_a_number_near_the_panels_top_goes_below_its_mean() -> None:
    from emapp.build.figures import SMALLEST_PANEL_PX, label_positions

    means = np.array([[0.0, 9.9], [0.0, 0.0]])
    per_pixel = 10.0 / SMALLEST_PANEL_PX
    assert label_positions(means, per_pixel)[0] == "top right"  # no range: the first place
    top, middle = label_positions(means, per_pixel, (-0.5, 10.0))
    assert top.startswith(("bottom", "middle")) and middle == "top right"
    assert label_positions(np.array([[0.0, -0.4]]), per_pixel, (-0.5, 10.0))[0].startswith("top")


def test_the_curve_keeps_room_above_its_top_for_the_converged_word() -> None:
    from emapp.build.blobs import BlobSettings, make_blobs
    from emapp.build.figures import CONVERGED_ROOM, curve_ranges
    from emapp.build.timeline import ModelSettings, compute_timeline

    timeline = compute_timeline(make_blobs(BlobSettings(n_points=100)), ModelSettings(3, seed=0))
    values = [s.log_likelihood for s in timeline.states if s.log_likelihood is not None]
    _, (low, high) = curve_ranges(timeline)
    assert (high - max(values)) / (high - low) >= CONVERGED_ROOM
    assert low < min(values)


def test_log_likelihood_ticks_have_the_decimals_their_steps_need() -> None:
    """A curve from -20.9 to -20.2 had ticks -20, -20, -21, -21 at no decimals."""
    from emapp.build.figures import tick_format

    assert tick_format([-1500.0, -400.0]) == ",.0f"
    assert tick_format([-20.9, -20.2]) == ",.1f"  # steps of 0.14
    assert tick_format([-20.95, -20.9]) == ",.2f"  # steps of 0.01
    assert tick_format([3.0, 3.0]) == ",.0f"
    for low, high in ([-20.9, -20.2], [-1.234, -1.2], [100.0, 101.0]):
        step = (high - low) / 5
        fmt = tick_format([low, high])
        values = [format(low + i * step, fmt[1:]) for i in range(6)]
        assert len(set(values)) == 6, values


def test_numbers_step_around_the_numbers_placed_before_them() -> None:
    """Means close together: a later number must not sit on an earlier one (with ten
    crowded components "5" beside "3" read as "53"). Found by search: with these means the
    second number went "top left", onto the first's "top right"."""
    from emapp.build.figures import LABEL_CLEARANCE, LABEL_PLACES, label_positions

    per_pixel = 0.01
    means = np.array([[0.49, 0.58], [0.43, 0.75], [0.65, 0.0]])
    places = {name: (dx, dy) for name, dx, dy in LABEL_PLACES}
    centres = [
        (x + places[p][0] * per_pixel, y + places[p][1] * per_pixel)
        for (x, y), p in zip(means, label_positions(means, per_pixel), strict=True)
    ]
    for i in range(len(centres)):
        for j in range(i):
            apart_x = abs(centres[i][0] - centres[j][0]) >= LABEL_CLEARANCE[0] * per_pixel
            apart_y = abs(centres[i][1] - centres[j][1]) >= LABEL_CLEARANCE[1] * per_pixel
            assert apart_x or apart_y, (i, j, centres)
