"""The fitted mixture's density as a map under the points (pure: NumPy and Plotly).

``p(x) = sum_k pi_k N(x | mu_k, Sigma_k)`` on a grid over the plot. Only the first two
features are drawn; for more, the map is the exact marginal density of those two (a
Gaussian mixture's marginal keeps the weights and takes the means' and covariances' sub-blocks).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from emapp.build.blobs import COORDINATES
from emapp.build.colors import component_hex, mean_symbol, point_colors
from emapp.build.figures import (
    AXIS_STYLE,
    EQUAL_SCALE_X,
    EQUAL_SCALE_Y,
    FONT,
    MEAN_OUTLINE,
    NOMINAL_PANEL_PX,
    STACKED_PX,
    label_positions,
    label_texts,
    marker_size,
    panel_zooms,
    stacks,
)
from emapp.build.geometry import square_ranges
from emapp.build.kmeans_view import widened
from emapp.build.names import plotly_literal
from emapp.build.worked import log_component_densities, log_sum_exp
from emcore import MixtureParams

GRID_SIZE = 240
# The formula over the map (LaTeX, for st.latex).
DENSITY_FORMULA = r"p(x) = \sum_k \pi_k\, \mathcal{N}(x \mid \mu_k, \Sigma_k)"
# Light to dark slate: neutral, so the components' colours on the points stay readable.
DENSITY_SCALE = [
    [0.0, "#FFFFFF"],
    [0.12, "#DCE4F0"],
    [0.4, "#9FB0CC"],
    [0.7, "#5E7196"],
    [1.0, "#24314D"],
]
N_CONTOURS = 14
# On the log scale, densities this many e-folds below the peak share the lightest colour.
LOG_DEPTH = 12.0


def marginal(params: MixtureParams, dims: Sequence[int] = (0, 1)) -> MixtureParams:
    """The mixture of the chosen features only (every component's marginal Gaussian)."""
    index = np.asarray(dims)
    full = params.full_covariances[:, index[:, None], index[None, :]]
    return MixtureParams.from_covariances(params.weights, params.means[:, index], full, "full")


def mixture_log_density(points: np.ndarray, params: MixtureParams) -> np.ndarray:
    """``log p(x)`` at every row of ``points`` (all of the mixture's features)."""
    densities = log_component_densities(points, params.means, params.full_covariances)
    with np.errstate(divide="ignore"):
        return log_sum_exp(densities + np.log(params.weights))


def density_grid(
    params: MixtureParams,
    x_range: Sequence[float],
    y_range: Sequence[float],
    size: int = GRID_SIZE,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Grid coordinates and the density of the first two features, ``z[iy, ix]``."""
    xs = np.linspace(x_range[0], x_range[1], size)
    ys = np.linspace(y_range[0], y_range[1], size)
    grid_x, grid_y = np.meshgrid(xs, ys)
    points = np.column_stack([grid_x.ravel(), grid_y.ravel()])
    log_density = mixture_log_density(points, marginal(params))
    return xs, ys, np.exp(log_density).reshape(grid_x.shape)


def density_figure(
    X: np.ndarray,
    params: MixtureParams,
    feature_names: Sequence[str] = COORDINATES,
    resp: np.ndarray | None = None,
    log_scale: bool = False,
    show_points: bool = True,
) -> go.Figure:
    """Filled contours of ``p(x)`` with the points (in their soft colours) and the means on top.

    ``log_scale`` maps ``log p(x)`` instead, which shows the tails and where a component is
    much tighter than the others.
    """
    X = np.asarray(X, dtype=float)
    x_range, y_range = square_ranges(X)
    # Plotly widens one axis to keep equal scales: the map must cover that too.
    xs, ys, z = density_grid(params, widened(x_range), widened(y_range), GRID_SIZE)
    figure = go.Figure()
    figure.add_trace(contour_trace(xs, ys, z, log_scale))
    if show_points:
        figure.add_trace(points_trace(X, resp))
    figure.add_trace(means_trace(params, (y_range[1] - y_range[0]) / NOMINAL_PANEL_PX))
    figure.update_layout(density_layout(x_range, y_range, feature_names))
    return figure


def points_trace(X: np.ndarray, resp: np.ndarray | None) -> go.Scatter:
    """Small, half-transparent points: the map underneath is the subject here."""
    return go.Scatter(
        x=X[:, 0],
        y=X[:, 1],
        mode="markers",
        marker={
            "color": point_colors(resp),
            "size": max(3.0, marker_size(len(X)) - 2.5),
            "opacity": 0.55,
            "line": {"width": 0},
        },
        hoverinfo="skip",
        showlegend=False,
    )


def contour_trace(xs: np.ndarray, ys: np.ndarray, z: np.ndarray, log_scale: bool) -> go.Contour:
    if log_scale:
        with np.errstate(divide="ignore"):
            values = np.log(z)
        values = np.maximum(values, values.max() - LOG_DEPTH)
        title, hover = "log p(x)", "log p(x) = %{z:.2f}"
    else:
        values, title, hover = z, "p(x)", "p(x) = %{z:.3g}"
    low, high = float(values.min()), float(values.max())
    return go.Contour(
        x=xs,
        y=ys,
        z=values,
        colorscale=DENSITY_SCALE,
        zmin=low,
        zmax=high,
        autocontour=False,
        contours=contour_levels(low, high),
        line={"width": 0.6, "color": "rgba(47,62,92,0.35)"},
        colorbar={"title": {"text": title, "font": {"size": 17}}, "tickfont": {"size": 15}},
        hovertemplate=f"(%{{x:.2f}}, %{{y:.2f}})<br>{hover}<extra></extra>",
    )


def contour_levels(low: float, high: float) -> dict[str, float]:
    """About N_CONTOURS bands over ``[low, high]``, a round step apart (1, 2 or 5 times a
    power of ten, so the key's ticks read 0.01, 0.02, ...), the first level above ``low``:
    the ground below it (where the model expects almost no points) is the scale's white, as
    the key and the text beside the map say. (Plotly's own levels started at 0, so the
    emptiest ground was the second colour, light blue.)"""
    size = _round_step((high - low) / N_CONTOURS) if high > low else 1.0
    start = (np.floor(low / size) + 1) * size
    return {"start": float(start), "end": float(max(high, start)), "size": float(size)}


def _round_step(step: float) -> float:
    """The value of 1, 2 or 5 times a power of ten nearest to ``step`` (by ratio)."""
    power = 10.0 ** np.floor(np.log10(step))
    candidates = [factor * power for factor in (1, 2, 5, 10)]
    return float(min(candidates, key=lambda value: abs(np.log(value / step))))


def means_trace(params: MixtureParams, per_pixel: float) -> go.Scatter:
    """The live means, numbered; means on one spot share one number (``per_pixel``: data
    units per pixel), each beside its own mean on every panel size, as on the main chart."""
    live = np.flatnonzero(~params.empty)
    means = params.means[live, :2]
    leaders = stacks(means, STACKED_PX * per_pixel)
    return go.Scatter(
        x=params.means[live, 0],
        y=params.means[live, 1],
        mode="markers+text",
        text=label_texts(leaders, [int(k) + 1 for k in live]),
        textposition=label_positions(means, per_pixel, zooms=panel_zooms(), size=18),
        textfont={"size": 20, "color": MEAN_OUTLINE},
        marker={
            "symbol": [mean_symbol(int(k)) for k in live],
            "size": 18,
            "color": [component_hex(int(k)) for k in live],
            "line": {"width": 2.5, "color": MEAN_OUTLINE},
        },
        hovertemplate="mean (%{x:.2f}, %{y:.2f})<extra></extra>",
        showlegend=False,
    )


def density_layout(
    x_range: list[float], y_range: list[float], feature_names: Sequence[str]
) -> dict:
    """Equal-scale axes titled with ``feature_names`` (plain text, escaped for Plotly)."""
    common = {
        **AXIS_STYLE,
    }
    return {
        "height": 600,
        "font": FONT,
        "paper_bgcolor": "#FFFFFF",
        "plot_bgcolor": "#FFFFFF",
        "margin": {"l": 10, "r": 10, "t": 20, "b": 10},
        "xaxis": {
            **common,
            **EQUAL_SCALE_X,
            "range": x_range,
            "title": {"text": plotly_literal(feature_names[0])},
        },
        "yaxis": {
            **common,
            **EQUAL_SCALE_Y,
            "range": y_range,
            "title": {"text": plotly_literal(feature_names[1])},
        },
    }
