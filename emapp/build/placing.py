"""Placing the start by clicking: the chart the student clicks on and what it says (pure).

With the initialisation "click to place the means" the page first shows the data alone
(points, or the histogram of one column) with the means placed so far, and each click on it
puts the next component's mean there (see ``placeMeans`` in ``emapp/ui/player.js``). Once
every component has its mean, EM runs from them like from any start: equal weights and the
data's covariance for every component (:func:`emapp.build.timeline.start_params`).

The chart is in the units EM runs in (standardised columns when standardised); the page
keeps the clicks in the file's units (:func:`to_file_units`), so they survive switching
standardisation on or off.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from emapp.build.colors import NEUTRAL_HEX, component_hex, mean_symbols
from emapp.build.figures import (
    EQUAL_SCALE_X,
    EQUAL_SCALE_Y,
    FIGURE_HEIGHT,
    FONT,
    MEAN_OUTLINE,
    POINT_OPACITY,
    axis,
    marker_size,
)
from emapp.build.geometry import square_ranges
from emapp.build.histogram import BAR_COLOUR, BAR_EDGE, histogram, x_grid

# The trace of the placed means in the placing figure (the browser adds a click's mean there
# at once, before the page confirms it).
MEANS_TRACE = 1
# The data panel's share of the width, as in the run's chart, so a mean placed here is
# drawn at the same place on the screen once EM runs.
DOMAIN = [0.0, 0.6]


def placing_status(n_placed: int, n_components: int) -> str:
    """What the status line says while placing: which mean is next and how many are left."""
    left = n_components - n_placed
    if left <= 0:
        return "Every mean is placed."
    means = "1 mean" if left == 1 else f"{left} means"
    return (
        f"Click on the chart to place the mean of component {n_placed + 1}: {means} left to place."
    )


def to_file_units(
    point: Sequence[float], centre: np.ndarray | None, scale: np.ndarray | None
) -> tuple[float, ...]:
    """A point clicked on the chart (EM's units) in the file's units."""
    values = np.asarray(point, dtype=float)
    if scale is not None:
        values = values * np.asarray(scale, dtype=float) + np.asarray(centre, dtype=float)
    return tuple(float(v) for v in values)


def to_em_units(
    points: Sequence[Sequence[float]], centre: np.ndarray | None, scale: np.ndarray | None
) -> tuple[tuple[float, ...], ...]:
    """Placed means kept in the file's units, in the units EM runs in."""
    result = []
    for point in points:
        values = np.asarray(point, dtype=float)
        if scale is not None:
            values = (values - np.asarray(centre, dtype=float)) / np.asarray(scale, dtype=float)
        result.append(tuple(float(v) for v in values))
    return tuple(result)


def clicked_points(value: object, n_dimensions: int, limit: int) -> list[tuple[float, ...]] | None:
    """The browser's list of clicked points, checked: at most ``limit`` points of
    ``n_dimensions`` finite numbers each; None if it is anything else."""
    if not isinstance(value, list) or len(value) > limit:
        return None
    points = []
    for point in value:
        if not isinstance(point, list) or len(point) < n_dimensions:
            return None
        numbers = point[:n_dimensions]
        if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in numbers):
            return None
        if not np.isfinite(np.asarray(numbers, dtype=float)).all():
            return None
        points.append(tuple(float(v) for v in numbers))
    return points


def means_trace(placed: Sequence[Sequence[float]], y_of: float | None = None) -> dict:
    """The placed means as numbered markers in their components' colours and symbols."""
    xs = [float(p[0]) for p in placed]
    ys = [float(p[1]) if y_of is None else y_of for p in placed]
    return {
        "type": "scatter",
        "mode": "markers+text",
        "name": "placed means",
        "x": xs,
        "y": ys,
        "text": [str(k + 1) for k in range(len(placed))],
        "textposition": "top right",
        "textfont": {"size": 18, "color": MEAN_OUTLINE},
        "marker": {
            "symbol": mean_symbols(len(placed)),  # as the run's chart draws them
            "size": 20,
            "color": [component_hex(k) for k in range(len(placed))],
            "line": {"width": 2.5, "color": MEAN_OUTLINE},
        },
        "hoverinfo": "skip",
        "showlegend": False,
        "cliponaxis": False,
    }


def placing_figure(
    X: np.ndarray, placed: Sequence[Sequence[float]], feature_names: Sequence[str]
) -> dict:
    """The data (points, or a histogram for one column) and the means placed so far.

    No zooming or panning: a drag or click is a placement. Trace :data:`MEANS_TRACE` holds
    the means.
    """
    X = np.asarray(X, dtype=float)
    common = {
        "height": FIGURE_HEIGHT,
        "font": FONT,
        "paper_bgcolor": "#FFFFFF",
        "plot_bgcolor": "#FFFFFF",
        "margin": {"l": 10, "r": 10, "t": 50, "b": 10},
        "dragmode": False,
        "hovermode": False,
        "showlegend": False,
    }
    if X.shape[1] == 1:
        x = X[:, 0]
        edges, heights = histogram(x)
        grid = x_grid(x)
        top = float(heights.max()) * 1.15
        data = [
            {
                "type": "scatter",
                "mode": "lines",
                "name": "data (histogram)",
                "x": edges.tolist(),
                "y": np.append(heights, heights[-1]).tolist(),
                "line": {"shape": "hv", "width": 1, "color": BAR_EDGE},
                "fill": "tozeroy",
                "fillcolor": BAR_COLOUR,
                "hoverinfo": "skip",
            },
            means_trace(placed, y_of=0.0),
        ]
        layout = {
            **common,
            "xaxis": {
                **axis(feature_names[0], [float(grid[0]), float(grid[-1])], fixedrange=True),
                "domain": DOMAIN,
            },
            "yaxis": axis("density", [-0.05 * top, top], fixedrange=True),
        }
    else:
        x_range, y_range = square_ranges(X)
        data = [
            {
                "type": "scatter",
                "mode": "markers",
                "name": "points",
                "x": X[:, 0].tolist(),
                "y": X[:, 1].tolist(),
                "marker": {
                    "size": marker_size(len(X)),
                    "color": NEUTRAL_HEX,
                    "opacity": POINT_OPACITY,
                    "line": {"width": 0},
                },
                "hoverinfo": "skip",
            },
            means_trace(placed),
        ]
        layout = {
            **common,
            "xaxis": {
                **axis(feature_names[0], x_range, fixedrange=True, **EQUAL_SCALE_X),
                "domain": DOMAIN,
            },
            "yaxis": axis(feature_names[1], y_range, fixedrange=True, **EQUAL_SCALE_Y),
        }
    return {"data": data, "layout": layout}
