"""The mixture density map: a proper density, equal to emcore's at the data."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import multivariate_normal

from emapp.build.blobs import BlobSettings, make_blobs
from emapp.build.density import (
    DENSITY_SCALE,
    N_CONTOURS,
    density_figure,
    density_grid,
    marginal,
    mixture_log_density,
)
from emcore import COVARIANCE_TYPES, MixtureParams, e_step, initial_params


@pytest.fixture(scope="module")
def X() -> np.ndarray:
    return make_blobs(BlobSettings(n_points=400, seed=6))


def wide_ranges(params: MixtureParams, n_std: float = 9.0) -> tuple[list[float], list[float]]:
    """A box holding every component out to ``n_std`` standard deviations."""
    spread = np.sqrt(params.full_covariances[:, [0, 1], [0, 1]]).max(axis=0) * n_std
    low = (params.means[:, :2] - spread).min(axis=0)
    high = (params.means[:, :2] + spread).max(axis=0)
    return [low[0], high[0]], [low[1], high[1]]


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_equals_emcore_at_the_points(X, covariance_type) -> None:
    params = initial_params(X, 3, covariance_type, "kmeans", random_state=0)
    np.testing.assert_allclose(
        np.exp(mixture_log_density(X, params)), np.exp(e_step(X, params).log_prob), rtol=1e-10
    )


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_grid_density_integrates_to_one(X, covariance_type) -> None:
    params = initial_params(X, 3, covariance_type, "kmeans", random_state=0)
    xs, ys, z = density_grid(params, *wide_ranges(params), size=500)
    area = (xs[1] - xs[0]) * (ys[1] - ys[0])
    assert z.sum() * area == pytest.approx(1.0, abs=2e-3)


def test_grid_values_are_emcores_density_at_the_nodes(X) -> None:
    params = initial_params(X, 3, "full", "kmeans", random_state=0)
    xs, ys, z = density_grid(params, [-5, 5], [-4, 6], size=7)
    nodes = np.array([[xs[2], ys[5]], [xs[6], ys[0]]])
    expected = np.exp(e_step(nodes, params).log_prob)
    np.testing.assert_allclose([z[5, 2], z[0, 6]], expected, rtol=1e-10)


def test_an_empty_component_adds_nothing(X) -> None:
    params = initial_params(X, 3, "full", "kmeans", random_state=0)
    emptied = params.replace(weights=np.array([0.6, 0.4, 0.0]))
    log_density = mixture_log_density(X, emptied)
    assert np.all(np.isfinite(log_density))
    np.testing.assert_allclose(log_density, e_step(X, emptied).log_prob, rtol=1e-10)


def test_three_features_map_their_marginal() -> None:
    rng = np.random.default_rng(0)
    covariances = np.array([np.cov(rng.normal(size=(3, 10))) + np.eye(3) for _ in range(2)])
    params = MixtureParams.from_covariances(
        np.array([0.3, 0.7]), rng.normal(size=(2, 3)), covariances
    )
    two = marginal(params)
    points = rng.normal(size=(5, 2))
    expected = sum(
        w * multivariate_normal(m[:2], c[:2, :2]).pdf(points)
        for w, m, c in zip(params.weights, params.means, covariances, strict=True)
    )
    np.testing.assert_allclose(np.exp(mixture_log_density(points, two)), expected, rtol=1e-10)
    xs, ys, z = density_grid(params, *wide_ranges(two), size=400)
    assert z.sum() * (xs[1] - xs[0]) * (ys[1] - ys[0]) == pytest.approx(1.0, abs=2e-3)


@pytest.mark.parametrize("log_scale", [False, True])
def test_figure_maps_the_density_under_the_points(X, log_scale) -> None:
    params = initial_params(X, 3, "full", "kmeans", random_state=0)
    resp = e_step(X, params).resp
    figure = density_figure(X, params, ("a", "b"), resp, log_scale=log_scale)
    contour, points, means = figure.data
    assert contour.type == "contour" and points.type == "scatter"
    assert np.all(np.isfinite(np.asarray(contour.z)))
    assert len(points.x) == len(X) and len(means.x) == 3
    assert figure.layout.xaxis.title.text == "a"
    assert len(density_figure(X, params, show_points=False).data) == 2


# Column names from an uploaded file are plain text: Plotly must show them as written.
MARKUP = ("<b>x</b> %{meta}", "![i](http://e.invalid/a.png) $y$")
ESCAPED = ("&lt;b&gt;x&lt;/b&gt; &#37;{meta}", "![i](http://e.invalid/a.png) &#36;y&#36;")


def test_axis_titles_show_markup_in_names_as_written(X) -> None:
    params = initial_params(X, 3, "full", "kmeans", random_state=0)
    figure = density_figure(X, params, MARKUP)
    assert figure.layout.xaxis.title.text == ESCAPED[0]
    assert figure.layout.yaxis.title.text == ESCAPED[1]


@pytest.mark.parametrize("log_scale", [False, True])
def test_empty_ground_is_white_as_the_key_says(X, log_scale) -> None:
    """The text beside the map speaks of "points on white ground"; Plotly's own levels
    started at 0, so the emptiest ground was drawn in the second colour (light blue)."""
    params = initial_params(X, 3, "full", "kmeans", random_state=0)
    contour = density_figure(X, params, log_scale=log_scale).data[0]
    values = np.asarray(contour.z)
    assert DENSITY_SCALE[0][1] == "#FFFFFF" and contour.autocontour is False
    assert contour.zmin == values.min() and contour.zmax == values.max()
    # The corners of the map are far from every cluster: below the first level, so white.
    corners = values[[0, 0, -1, -1], [0, -1, 0, -1]]
    assert (corners < contour.contours.start).all()
    levels = contour.contours
    count = int(np.floor((levels.end - levels.start) / levels.size)) + 1
    assert N_CONTOURS // 2 <= count <= N_CONTOURS  # about N_CONTOURS bands, a round step
    mantissa = levels.size / 10 ** np.floor(np.log10(levels.size))
    assert min(abs(mantissa - m) for m in (1, 2, 5, 10)) < 1e-9
