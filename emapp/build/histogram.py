"""The picture of a one-column EM run: a histogram with the fitted densities (pure, no Streamlit).

Like :func:`emapp.build.figures.build_figure` it is one Plotly figure (a plain dict) with one
animation frame per state of the :class:`~emapp.build.timeline.Timeline`, named by the state's
index, so the page's player steps and plays it with ``Plotly.animate``. Its first trace is
the histogram, a line without markers, which the player's direct-drawing playback does not
accept as the points of a 2-D figure, so playback always goes through ``Plotly.animate``
(fine for one column: a few hundred points, a few curves).

Traces, in this fixed order (frames address them by index):

0. the histogram (a filled step line), scaled as a density (area 1), never changed by a frame;
1 .. K. every component's weighted density ``pi_k N(x | mu_k, sigma_k^2)``;
K + 1. the mixture density, the sum of those;
K + 2. the points, as a jittered strip under the axis, coloured by their responsibilities;
K + 3. the means, on top of their component's curve, labelled 1..K;
K + 4 ... the log-likelihood panel's traces, as :mod:`emapp.build.figures` draws them (the curve,
   the current point, the "converged" mark, ...);
then the legend's entries, one per component, as :func:`emapp.build.figures.legend_traces`.
"""

from __future__ import annotations

import numpy as np

from emapp.build.colors import NEUTRAL_HEX, component_hex, mean_symbols, point_colors, swatch_inks
from emapp.build.covariance_models import short_name
from emapp.build.describe import (
    ONE_COLUMN,
    component_colours,
    signed,
    state_label,
    table_caption,
)
from emapp.build.figures import (
    NOMINAL_PANEL_PX,
    POINT_OPACITY,
    STACKED_PX,
    axis,
    curve_base_traces,
    curve_updates,
    ellipse_colour,
    label_positions,
    label_texts,
    legend_traces,
    means_base_trace,
    merge,
    round_for,
    run_layout,
    stacks,
)
from emapp.build.geometry import visible_span
from emapp.build.timeline import Timeline
from emcore import MixtureParams

MEANS_SIZE = 18  # the means' markers, in pixels
GRID_POINTS = 161  # the same x grid in every frame, so Plotly can glide one curve into the next
MAX_BINS = 60
MIN_BINS = 5
BAR_COLOUR = "#D5DAE5"
BAR_EDGE = "#B4BCCB"
MIXTURE_COLOUR = "#1F2430"
# The data's and the mixture's legend entries: a column of their own after the components'
# (their names are longer than a number: each says how much room its text takes, or the
# two names were written over each other).
EXTRA_ENTRY = {"legendrank": 2000, "legendgroup": "data and mixture", "legendwidth": 122}
STRIP_SEED = 0  # a fixed jitter: the strip looks the same on every rerun
# Heights as fractions of the density axis's top: room above the tallest curve, and the
# band under zero where the points are drawn.
TOP_MARGIN = 1.15
STRIP_LOW, STRIP_HIGH = -0.11, -0.03
# The data panel's width on a small projector screen, in pixels: what a pixel is along x
# when deciding which means sit on one spot.
NOMINAL_PANEL_WIDTH_PX = 500.0


class HistogramLayout:
    """Index arithmetic for the fixed trace order."""

    def __init__(self, n_components: int) -> None:
        self.n_components = n_components

    bars = 0

    @staticmethod
    def component(k: int) -> int:
        return 1 + k

    @property
    def mixture(self) -> int:
        return 1 + self.n_components

    @property
    def points(self) -> int:
        return self.mixture + 1

    @property
    def means(self) -> int:
        return self.mixture + 2

    @property
    def curve(self) -> int:
        return self.mixture + 3

    @property
    def legend(self) -> int:
        return self.curve + len(curve_base_traces())

    @property
    def n_traces(self) -> int:
        return self.legend + self.n_components


# -- numbers ----------------------------------------------------------------------------------


def histogram(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Bin edges and heights scaled to a density (area 1).

    At least about sqrt(n) bins: numpy's "auto" rule is coarse for a few hundred points, and
    two bumps of a mixture should show as two bumps.
    """
    auto = len(np.histogram_bin_edges(x, bins="auto")) - 1
    n_bins = int(np.clip(max(auto, np.ceil(np.sqrt(len(x)))), MIN_BINS, MAX_BINS))
    counts, edges = np.histogram(x, bins=n_bins)
    widths = np.diff(edges)
    widths[widths == 0] = 1.0  # all values equal: one bin of width 0
    return edges, counts / (len(x) * widths)


def x_grid(x: np.ndarray) -> np.ndarray:
    """Where the densities are evaluated: the data's range and a little beyond."""
    low, high = float(np.min(x)), float(np.max(x))
    span = visible_span(high - low, max(abs(low), abs(high)))
    pad = (span - (high - low)) / 2 + span * 0.08  # all of the window for a constant column
    return np.linspace(low - pad, high + pad, GRID_POINTS)


def variances(params: MixtureParams) -> np.ndarray:
    """Every component's variance (K,), whatever the covariance type."""
    return params.full_covariances[:, 0, 0]


def weighted_densities(params: MixtureParams, grid: np.ndarray) -> np.ndarray:
    """``pi_k N(x | mu_k, sigma_k^2)`` on the grid, shape (K, len(grid)); 0 for empty ones."""
    var = np.maximum(variances(params), 1e-300)[:, None]
    z = (grid[None, :] - params.means[:, :1]) ** 2 / var
    density = np.exp(-0.5 * z) / np.sqrt(2 * np.pi * var)
    return params.weights[:, None] * density


def peak_heights(params: MixtureParams) -> np.ndarray:
    """Height of every weighted density at its own mean."""
    return params.weights / np.sqrt(2 * np.pi * np.maximum(variances(params), 1e-300))


def density_top(heights: np.ndarray, timeline: Timeline, grid: np.ndarray) -> float:
    """The top of the density axis: the histogram and the final mixture, with some room.

    Fixed for the whole run, so the picture does not jump. A component collapsing onto a
    point has a spike far above this; its curve is then cut off at the top.
    """
    final = weighted_densities(timeline.states[-1].params, grid).sum(axis=0)
    return float(max(heights.max(), final.max(), 1e-12)) * TOP_MARGIN


def density_range(top: float) -> list[float]:
    """The density axis's range: the points' strip under zero, up to ``top``."""
    return [STRIP_LOW * top * 1.1, top]


def strip_heights(n: int, top: float) -> np.ndarray:
    """The jittered heights of the points' strip under the axis."""
    rng = np.random.default_rng(STRIP_SEED)
    return rng.uniform(STRIP_LOW * top, STRIP_HIGH * top, size=n)


# -- traces -----------------------------------------------------------------------------------


def state_traces(
    timeline: Timeline,
    index: int,
    layout: HistogramLayout,
    grid: np.ndarray,
    decimals: tuple[int, int],
    top: float,
) -> tuple[list[dict], list[int]]:
    """The trace updates that show state ``index`` and the trace indices they replace.

    As in the 2-D figure, M states leave the points' colours alone.
    """
    params = timeline.states[index].params
    x_dec, y_dec = decimals
    densities = np.round(weighted_densities(params, grid), y_dec)
    updates: list[dict] = []
    targets: list[int] = []
    for k in range(params.n_components):
        colour = NEUTRAL_HEX if params.empty[k] else ellipse_colour(k)
        updates.append({"type": "scatter", "y": densities[k].tolist(), "line": {"color": colour}})
        targets.append(layout.component(k))
    updates.append({"type": "scatter", "y": np.round(densities.sum(axis=0), y_dec).tolist()})
    targets.append(layout.mixture)
    if timeline.stage(index) != "M":
        colours = point_colors(timeline.responsibilities(index))
        updates.append({"type": "scatter", "marker": {"color": colours}})
        targets.append(layout.points)
    updates.append(means_update(params, x_dec, y_dec, top, float(grid[-1] - grid[0])))
    targets.append(layout.means)
    curve = curve_updates(timeline, index)
    updates.extend(curve)
    targets.extend(range(layout.curve, layout.curve + len(curve)))
    return updates, targets


def means_update(params: MixtureParams, x_dec: int, y_dec: int, top: float, x_span: float) -> dict:
    """Markers at the means, each component's own shape as on the 2-D chart, on top of their
    curves (kept inside the axis when they spike). Their numbers are placed as on the 2-D
    chart (``x_span``: the x axis's span), in pixels, as the axes' units differ: spikes cut
    at the top all sit on one spot and share one number, the others step around it."""
    k_range = range(params.n_components)
    empty = params.empty
    heights = np.minimum(peak_heights(params), top * 0.97)
    per_pixel = np.array([x_span / NOMINAL_PANEL_WIDTH_PX, top / NOMINAL_PANEL_PX])
    pixels = np.column_stack([params.means[:, 0], heights]) / per_pixel
    panel = np.divide(density_range(top), per_pixel[1])
    sd = np.sqrt(variances(params))
    hover = [
        f"Component {k + 1}<br>weight {params.weights[k]:.3f}<br>mean {params.means[k, 0]:.4g}"
        f"<br>standard deviation {sd[k]:.4g}" + ("<br>empty: weight 0" if empty[k] else "")
        for k in k_range
    ]
    return {
        "type": "scatter",
        "x": np.round(params.means[:, 0], x_dec).tolist(),
        "y": np.round(heights, y_dec).tolist(),
        "text": label_texts(stacks(pixels, STACKED_PX)),
        "textposition": label_positions(pixels, 1.0, panel, size=MEANS_SIZE),
        "hovertext": hover,
        "marker": {
            "color": [NEUTRAL_HEX if empty[k] else component_hex(k) for k in k_range],
            "symbol": mean_symbols(params.n_components, empty),
        },
    }


def base_traces(
    x: np.ndarray, grid: np.ndarray, layout: HistogramLayout, decimals: tuple[int, int], top: float
) -> list[dict]:
    """Every trace with its fixed styling; the state-dependent parts come from frame 0."""
    x_dec, y_dec = decimals
    edges, heights = histogram(x)
    grid_x = np.round(grid, x_dec).tolist()
    # A filled step line rather than a bar trace: Plotly's animated transitions leave scatter
    # traces that no frame touches alone, but wiped the bars in a real browser.
    traces: list[dict] = [
        {
            "type": "scatter",
            "mode": "lines",
            "name": "data (histogram)",
            "x": np.round(edges, x_dec).tolist(),
            "y": np.round(np.append(heights, heights[-1]), y_dec).tolist(),
            "line": {"shape": "hv", "width": 1, "color": BAR_EDGE},
            "fill": "tozeroy",
            "fillcolor": BAR_COLOUR,
            "hoverinfo": "skip",
            **EXTRA_ENTRY,
        }
    ]
    for k in range(layout.n_components):
        traces.append(
            {
                "type": "scatter",
                "mode": "lines",
                "name": f"Component {k + 1}",
                "x": grid_x,
                "line": {"width": 3.5},
                "showlegend": False,  # the legend shows the means' shapes (legend_traces)
                "hovertemplate": f"Component {k + 1}: %{{y}}<extra></extra>",
            }
        )
    traces.append(
        {
            "type": "scatter",
            "mode": "lines",
            "name": "mixture",
            "x": grid_x,
            "line": {"width": 3, "dash": "dash", "color": MIXTURE_COLOUR},
            **EXTRA_ENTRY,
            "hovertemplate": "mixture: %{y}<extra></extra>",
        }
    )
    traces.append(
        {
            "type": "scatter",
            "mode": "markers",
            "name": "points",
            "x": np.round(x, x_dec).tolist(),
            "y": np.round(strip_heights(len(x), top), y_dec).tolist(),
            "marker": {"size": 6, "opacity": POINT_OPACITY, "line": {"width": 0}},
            "hoverinfo": "skip",
            "showlegend": False,
        }
    )
    traces.append(means_base_trace(size=MEANS_SIZE))
    traces.extend(curve_base_traces())
    traces.extend(legend_traces(layout.n_components))
    return traces


def histogram_layout(grid: np.ndarray, timeline: Timeline, name: str, top: float) -> dict:
    return run_layout(
        timeline,
        axis(name, [float(grid[0]), float(grid[-1])]),
        axis("density", density_range(top), zeroline=True),
    )


def build_histogram_figure(x: np.ndarray, timeline: Timeline, name: str = "x") -> dict:
    """The animated 1-D figure as a plain dict: base traces at state 0, one frame per state.

    Parameters
    ----------
    x : ndarray of shape (n,) or (n, 1)
        The data EM ran on.
    timeline : Timeline
        A run on that one column.
    name : str
        The column's name (the x axis's title), as plain text (shown as written).
    """
    x = np.asarray(x, dtype=float).reshape(-1)
    layout = HistogramLayout(timeline.states[0].params.n_components)
    grid = x_grid(x)
    top = density_top(histogram(x)[1], timeline, grid)
    decimals = (round_for(float(grid[-1] - grid[0])), round_for(top))
    traces = base_traces(x, grid, layout, decimals, top)
    start, targets = state_traces(timeline, 0, layout, grid, decimals, top)
    for update, target in zip(start, targets, strict=True):
        traces[target] = merge(traces[target], update)
    frames = []
    for i in range(len(timeline)):
        data, indices = state_traces(timeline, i, layout, grid, decimals, top)
        frames.append({"name": str(i), "data": data, "traces": indices})
    return {"data": traces, "layout": histogram_layout(grid, timeline, name, top), "frames": frames}


# -- the parameter table ------------------------------------------------------------------------


def table_rows(params: MixtureParams) -> list[list[str]]:
    """One row per component: weight, mean, variance and standard deviation."""
    var = variances(params)
    rows = []
    for k in range(params.n_components):
        label = f"{k + 1} (empty)" if params.empty[k] else str(k + 1)
        numbers = (params.weights[k], params.means[k, 0], var[k], np.sqrt(var[k]))
        rows.append([label, *(signed(float(v)) for v in numbers)])
    return rows


def histogram_table(timeline: Timeline, version: str, name: str) -> dict:
    """What the page's parameter table shows for a one-column run, state by state.

    The header is plain text with the column's name as it is: the browser sets every cell
    with ``textContent`` (``player.js``), which never reads markup.
    """
    return {
        "role": "table",
        "version": version,
        "labels": [state_label(s) for s in timeline.states],
        "header": ["Component", "Weight", f"Mean {name}", f"Var {name}", f"SD {name}"],
        "rows": [table_rows(s.params) for s in timeline.states],
        "colours": [component_colours(s.params) for s in timeline.states],
        "inks": swatch_inks(),
        "covariance_type": timeline.states[0].params.covariance_type,
        "caption": table_caption(short_name(timeline.states[0].params.covariance_type), ONE_COLUMN),
    }
