"""Pure functions from a computed EM run to a Plotly figure (a plain dict, no Streamlit).

One figure holds everything the browser needs to animate and scrub without asking the
server: the data and the starting state as its traces, and one animation frame per state of
the :class:`~emapp.build.timeline.Timeline` (frame name = state index).

Traces, in this fixed order (frames address them by index):

0. the points, coloured by their responsibilities;
1 .. 3K. for every component k the 1, 2 and 3 standard-deviation ellipses;
3K + 1. the means, labelled 1..K;
3K + 2. the log-likelihood curve; 3K + 3. the current point on it; 3K + 4. the "converged" mark;
3K + 5. marks where a component was re-seeded.

E states (and the start) carry every trace; M states leave the points alone, because an
M-step moves the ellipses and keeps the colours: the two halves of EM look different.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from emapp.build.colors import NEUTRAL_HEX, component_hex, mean_symbols, point_colors, shade
from emapp.build.geometry import N_STDS, ellipse_xy, square_ranges
from emapp.build.names import plotly_literal
from emapp.build.timeline import Timeline
from emcore import MixtureParams, Snapshot

# Classroom styling: large type, calm grid, strong data colours.
FONT = {"family": "Source Sans Pro, Helvetica, Arial, sans-serif", "size": 17, "color": "#1F2430"}
GRID = "#E3E7EF"
AXIS_LINE = "#9AA3B5"
FIGURE_HEIGHT = 600  # the page makes it as tall as the screen leaves room for (PAGE_CSS)
TICK_SIZE = 19
TITLE_SIZE = 19
# The data panel and the log-likelihood panel, side by side (fractions of the width). Only
# the panels' own tick labels stand in the gap between them.
DATA_DOMAIN = [0.0, 0.63]
CURVE_DOMAIN = [0.69, 1.0]
# The panels' places as Plotly.relayout takes them: side by side (as built), and on a phone
# held upright one above the other, the curve's axis on the left like the data's and no
# legend (the table's swatches say which colour is which); the player switches between the
# two (see player.js).
PANEL_LAYOUTS = {
    "wide": {
        "xaxis.domain": DATA_DOMAIN,
        "yaxis.domain": [0.0, 1.0],
        "xaxis2.domain": CURVE_DOMAIN,
        "yaxis2.domain": [0.0, 1.0],
        "yaxis2.side": "right",
        "showlegend": True,
    },
    "narrow": {
        "xaxis.domain": [0.0, 1.0],
        "yaxis.domain": [0.46, 1.0],
        "xaxis2.domain": [0.0, 1.0],
        "yaxis2.domain": [0.0, 0.24],
        "yaxis2.side": "left",
        "showlegend": False,
    },
}


def panel_layouts(layout: dict) -> dict:
    """:data:`PANEL_LAYOUTS` for a figure with ``layout``, each with the data panel's ranges as
    built: Plotly widens one of them to keep circles round, and must start from these again
    when the panel's shape changes."""
    ranges = {f"{name}.range": layout[name]["range"] for name in ("xaxis", "yaxis")}
    return {size: {**places, **ranges} for size, places in PANEL_LAYOUTS.items()}


ELLIPSE_STYLES = (  # 1, 2 and 3 standard deviations: solid, then fainter and thinner
    {"width": 4.0, "dash": "solid"},
    {"width": 2.0, "dash": "dash"},
    {"width": 1.5, "dash": "dot"},
)
MEAN_OUTLINE = "#1F2430"
POINT_OPACITY = 0.6
CURVE_COLOUR = "#3B4A6B"
CURRENT_COLOUR = "#E8590C"
CONVERGED_COLOUR = "#2B8A3E"
RESEED_COLOUR = "#7048E8"


def ellipse_colour(k: int) -> str:
    """Ellipses are drawn darker than their points, or they vanish inside their own cluster."""
    return shade(component_hex(k), 0.72)


def marker_size(n_points: int) -> float:
    """Smaller dots for more points, so dense clusters stay readable."""
    if n_points <= 500:
        return 8
    if n_points <= 1500:
        return 6.5
    if n_points <= 3000:
        return 5.5
    return 4.5


def round_for(span: float) -> int:
    """Decimals that resolve a thousandth of the plot's span: a fraction of a pixel, and
    short numbers keep the animation frames' JSON small."""
    return int(max(0, 3 - np.floor(np.log10(max(span, 1e-12)))))


class Layout:
    """Index arithmetic for the fixed trace order."""

    def __init__(self, n_components: int) -> None:
        self.n_components = n_components

    @staticmethod
    def points() -> int:
        return 0

    def ellipse(self, k: int, level: int) -> int:
        return 1 + 3 * k + level

    @property
    def means(self) -> int:
        return 1 + 3 * self.n_components

    @property
    def curve(self) -> int:
        return self.means + 1

    @property
    def current(self) -> int:
        return self.means + 2

    @property
    def converged(self) -> int:
        return self.means + 3

    @property
    def reseeded(self) -> int:
        return self.means + 4

    @property
    def n_traces(self) -> int:
        return self.means + 5


# -- the pieces of one state --------------------------------------------------------------


def ellipse_update(params: MixtureParams, k: int, level: int, decimals: int) -> dict:
    """x, y and line colour of component ``k``'s ellipse at ``N_STDS[level]`` deviations.

    The first two features are plotted, so the ellipse is that of the 2x2 marginal
    covariance. An empty component (weight 0) keeps its last shape, drawn in grey.
    """
    covariance = params.full_covariances[k][:2, :2]
    outline = np.round(ellipse_xy(params.means[k], covariance, N_STDS[level]), decimals)
    colour = NEUTRAL_HEX if params.empty[k] else ellipse_colour(k)
    return {
        "type": "scatter",
        "x": outline[:, 0].tolist(),
        "y": outline[:, 1].tolist(),
        "line": {**ELLIPSE_STYLES[level], "color": colour},
    }


# Where a mean's number may go, in order of preference, with the offset of the number's
# centre from the mean in pixels (a 22 px digit beside a 20 px marker, as Plotly places it).
LABEL_PLACES = (
    ("top right", 16, 20),
    ("top left", -16, 20),
    ("bottom right", 16, -20),
    ("bottom left", -16, -20),
    ("middle right", 22, 0),
    ("middle left", -22, 0),
    ("top center", 0, 25),
    ("bottom center", 0, -25),
)
# A number whose centre is closer than this (x, y, in pixels) to another mean sits on that
# mean's marker: half a digit plus the marker's radius and outline, and a little air.
LABEL_CLEARANCE = (22.0, 26.0)
# The data panel's height on a small projector screen, in pixels: what a pixel is in data
# units for the numbers' places (a taller panel only gives them more room).
NOMINAL_PANEL_PX = 320.0
# The data panel's least height on a projector (1024x768 with two rows of legend), and half
# a number's height with a little air: a number nearer the panel's edge than this is cut.
SMALLEST_PANEL_PX = 220.0
LABEL_HALF_HEIGHT = 14.0


def label_positions(
    means: np.ndarray, per_pixel: float, y_range: Sequence[float] | None = None
) -> list[str]:
    """A Plotly ``textposition`` for every mean's number: the first place in
    :data:`LABEL_PLACES` whose number keeps clear of every other mean's marker and of the
    numbers placed before it, or the clearest one. ``per_pixel``: data units per pixel. With
    ``y_range`` (the data panel's fixed y range) a place whose number would be cut at the
    panel's top or bottom is never chosen while another place is inside.

    Numbers are placed in order, so the later ones step around the earlier: with ten
    crowded components "5" sat beside "3" and read as "53". Means on one spot share one
    number (:func:`label_texts`): it steps around the other means only, and the blanks of
    the rest take its place."""
    clear_x, clear_y = (c * per_pixel for c in LABEL_CLEARANCE)
    leaders = stacks(means, STACKED_PX * per_pixel)
    positions, placed = [], []
    for k, (x, y) in enumerate(means):
        if leaders[k] != k:
            positions.append(positions[leaders[k]])
            continue
        others = means[[j for j in range(len(means)) if leaders[j] != k]]
        obstacles = np.vstack([others, *[[p] for p in placed]])
        places = [p for p in LABEL_PLACES if y_range is None or inside_panel(y, p[2], y_range)]
        best = (places or LABEL_PLACES)[0]
        best_score = -1.0
        for place in places:
            _, dx, dy = place
            gaps = np.maximum(
                np.abs(x + dx * per_pixel - obstacles[:, 0]) / clear_x,
                np.abs(y + dy * per_pixel - obstacles[:, 1]) / clear_y,
            )
            score = float(gaps.min()) if len(gaps) else np.inf
            if score >= 1.0:
                best = place
                break
            if score > best_score:
                best, best_score = place, score
        name, dx, dy = best
        positions.append(name)
        placed.append((x + dx * per_pixel, y + dy * per_pixel))
    return positions


# Means closer than this many pixels (in x and in y) sit on one spot: the top marker hides
# the others, and their numbers would be drawn on top of each other.
STACKED_PX = 6.0
# What a stacked mean says instead of its number: a space, not "", so that every mean keeps
# its text element (Plotly drops empty ones, and the player moves the numbers by index).
BLANK_LABEL = " "


def stacks(points: np.ndarray, tolerance: float | Sequence[float]) -> list[int]:
    """For every point (rows of ``points``), the first point on the same spot: within
    ``tolerance`` of it in every coordinate (itself when there is none before it)."""
    points = np.asarray(points, dtype=float).reshape(len(points), -1)
    leaders: list[int] = []
    for k, point in enumerate(points):
        same = (j for j in range(k) if leaders[j] == j)
        spot = next((j for j in same if np.all(np.abs(points[j] - point) <= tolerance)), k)
        leaders.append(spot)
    return leaders


def label_texts(leaders: Sequence[int], numbers: Sequence[int] | None = None) -> list[str]:
    """Every mean's number (``numbers``, else 1, 2, ...), from :func:`stacks`: means on one
    spot share one, the first saying all of theirs ("1, 2" or "1–3"), the others
    :data:`BLANK_LABEL`. When data collapse onto a point, "2", "1" and "3" were drawn on
    top of each other."""
    numbers = range(1, len(leaders) + 1) if numbers is None else numbers
    texts = []
    for k, leader in enumerate(leaders):
        mine = [numbers[j] for j, other in enumerate(leaders) if other == k]
        texts.append(number_runs(mine) if leader == k else BLANK_LABEL)
    return texts


def number_runs(numbers: Sequence[int]) -> str:
    """``[1, 2, 3, 5]`` as ``"1–3, 5"``: short enough to sit beside one marker."""
    runs: list[list[int]] = []
    for n in numbers:
        if runs and n == runs[-1][-1] + 1:
            runs[-1].append(n)
        else:
            runs.append([n])
    return ", ".join(f"{r[0]}–{r[-1]}" if len(r) > 2 else ", ".join(map(str, r)) for r in runs)


def inside_panel(y: float, dy: float, y_range: Sequence[float]) -> bool:
    """Whether a number ``dy`` pixels above the mean at ``y`` stays inside ``y_range``.

    Measured on the smallest panel a projector gives (:data:`SMALLEST_PANEL_PX`): a pixel is
    then the most data units, so the number fits on every larger panel too.
    """
    low, high = y_range
    per_pixel = (high - low) / SMALLEST_PANEL_PX
    centre = y + dy * per_pixel
    half = LABEL_HALF_HEIGHT * per_pixel
    return low <= centre - half and centre + half <= high


def means_update(
    params: MixtureParams,
    decimals: int,
    per_pixel: float | None = None,
    y_range: Sequence[float] | None = None,
) -> dict:
    """Markers at the means, in the components' colours and each of its own shape (colour is
    never the only cue); empty components hollow and grey. With ``per_pixel`` (data units per
    pixel) each number is placed beside its mean where no other mean's marker is, and inside
    ``y_range`` (the panel's y range) when given, and means on one spot share one number."""
    means = np.round(params.means[:, :2], decimals)
    k_range = range(params.n_components)
    empty = params.empty
    texts = [str(k + 1) for k in k_range]
    if per_pixel is not None:
        texts = label_texts(stacks(means, STACKED_PX * per_pixel))
    hover = [
        f"Component {k + 1}<br>weight {params.weights[k]:.3f}"
        + ("<br>empty: weight 0" if empty[k] else "")
        for k in k_range
    ]
    return {
        "type": "scatter",
        "x": means[:, 0].tolist(),
        "y": means[:, 1].tolist(),
        "text": texts,
        "hovertext": hover,
        "marker": {
            "color": [NEUTRAL_HEX if empty[k] else component_hex(k) for k in k_range],
            "symbol": mean_symbols(params.n_components, empty),
        },
        **(
            {}
            if per_pixel is None
            else {"textposition": label_positions(means, per_pixel, y_range)}
        ),
    }


def curve_updates(timeline: Timeline, index: int, decimals: int = 2) -> list[dict]:
    """The log-likelihood line, the current point and the "converged" mark at state ``index``.

    The line always has one point per iteration of the whole run: points not reached yet sit
    on the current point, so when Plotly animates from one state to the next the line grows
    smoothly instead of being redrawn with a different number of points.
    """
    iterations, values = timeline.log_likelihood_curve(index)
    total = timeline.n_iterations + 1
    if not values:
        nothing = [None] * total
        line = {"type": "scatter", "x": list(range(total)), "y": nothing}
        nowhere = {"type": "scatter", "x": [None], "y": [None]}
        return [line, nowhere, nowhere, nowhere]
    values = [round(v, decimals) for v in values]
    pad = total - len(values)
    line = {
        "type": "scatter",
        "x": iterations + [iterations[-1]] * pad,
        "y": values + [values[-1]] * pad,
    }
    current = {"type": "scatter", "x": [iterations[-1]], "y": [values[-1]]}
    converged_at = timeline.converged_index()
    if converged_at is not None and converged_at <= index:
        state = timeline.states[converged_at]
        mark = {"type": "scatter", "x": [state.iteration], "y": [round(state.log_likelihood, 2)]}
    else:
        mark = {"type": "scatter", "x": [None], "y": [None]}
    reseeds = timeline.reseed_marks(index)
    reseeded = {
        "type": "scatter",
        "x": [iteration for iteration, _ in reseeds] or [None],
        "y": [round(value, decimals) for _, value in reseeds] or [None],
        "text": ["re-seeded"] * len(reseeds),
    }
    return [line, current, mark, reseeded]


def state_traces(
    timeline: Timeline,
    index: int,
    layout: Layout,
    decimals: int,
    with_points: bool,
    per_pixel: float | None = None,
    y_range: Sequence[float] | None = None,
) -> tuple[list[dict], list[int]]:
    """The trace updates that show state ``index`` and the trace indices they replace
    (``per_pixel``: data units per pixel, and ``y_range``: the data panel's y range, for the
    places of the means' numbers)."""
    state: Snapshot = timeline.states[index]
    updates: list[dict] = []
    targets: list[int] = []
    if with_points:
        resp = timeline.responsibilities(index)
        updates.append({"type": "scatter", "marker": {"color": point_colors(resp)}})
        targets.append(layout.points())
    for k in range(layout.n_components):
        for level in range(len(N_STDS)):
            updates.append(ellipse_update(state.params, k, level, decimals))
            targets.append(layout.ellipse(k, level))
    updates.append(means_update(state.params, decimals, per_pixel, y_range))
    targets.append(layout.means)
    updates.extend(curve_updates(timeline, index))
    targets.extend([layout.curve, layout.current, layout.converged, layout.reseeded])
    return updates, targets


def frame(
    timeline: Timeline,
    index: int,
    layout: Layout,
    decimals: int,
    per_pixel: float | None = None,
    y_range: Sequence[float] | None = None,
) -> dict:
    """The animation frame for state ``index`` (points only on the start and E states)."""
    with_points = timeline.stage(index) != "M"
    data, traces = state_traces(timeline, index, layout, decimals, with_points, per_pixel, y_range)
    return {"name": str(index), "data": data, "traces": traces}


# -- the static parts -----------------------------------------------------------------------


def base_traces(X: np.ndarray, layout: Layout, decimals: int) -> list[dict]:
    """Traces with their fixed styling; their state-dependent parts come from frame 0."""
    points = np.round(X[:, :2], decimals)
    traces: list[dict] = [
        {
            "type": "scatter",
            "mode": "markers",
            "name": "points",
            "x": points[:, 0].tolist(),
            "y": points[:, 1].tolist(),
            "marker": {
                "size": marker_size(len(X)),
                "opacity": POINT_OPACITY,
                "line": {"width": 0},
            },
            "hoverinfo": "skip",
            "showlegend": False,
        }
    ]
    for k in range(layout.n_components):
        for level, n_std in enumerate(N_STDS):
            traces.append(
                {
                    "type": "scatter",
                    "mode": "lines",
                    "name": f"Component {k + 1}",
                    "legendgroup": f"c{k}",
                    "showlegend": level == 0,
                    "hovertemplate": f"Component {k + 1}: {n_std} standard deviation"
                    + ("s" if n_std > 1 else "")
                    + "<extra></extra>",
                }
            )
    traces.append(means_base_trace(size=20))
    traces.extend(curve_base_traces())
    return traces


def means_base_trace(size: float) -> dict:
    """The means: numbered markers; their colours and places come from the frames."""
    return {
        "type": "scatter",
        "mode": "markers+text",
        "name": "means",
        "showlegend": False,
        "textposition": "top right",
        "textfont": {"size": 22, "color": MEAN_OUTLINE},
        "marker": {"size": size, "line": {"width": 2.5, "color": MEAN_OUTLINE}},
        "hovertemplate": "%{hovertext}<extra></extra>",
    }


def curve_base_traces() -> list[dict]:
    axes = {"xaxis": "x2", "yaxis": "y2", "showlegend": False}
    return [
        {
            **axes,
            "type": "scatter",
            "mode": "lines+markers",
            "name": "log-likelihood",
            "line": {"color": CURVE_COLOUR, "width": 3},
            "marker": {"size": 7, "color": CURVE_COLOUR},
            "hovertemplate": "iteration %{x}<br>log-likelihood %{y:.2f}<extra></extra>",
        },
        {
            **axes,
            "type": "scatter",
            "mode": "markers",
            "name": "current",
            "marker": {"size": 16, "color": CURRENT_COLOUR, "line": {"width": 2, "color": "#fff"}},
            "hovertemplate": "now: iteration %{x}<br>log-likelihood %{y:.2f}<extra></extra>",
        },
        {
            **axes,
            "type": "scatter",
            "mode": "markers+text",
            "name": "converged",
            "text": ["converged"],
            # Above and to the left of the last point: the curve climbs to it from below, and
            # the iteration axis always reaches past it, so the word is never cut or crossed.
            "textposition": "top left",
            "cliponaxis": False,
            "textfont": {"size": 16, "color": CONVERGED_COLOUR},
            "marker": {"size": 22, "symbol": "star", "color": CONVERGED_COLOUR},
            "hovertemplate": "converged at iteration %{x}<extra></extra>",
        },
        {
            **axes,
            "type": "scatter",
            "mode": "markers+text",
            "name": "re-seeded",
            "text": ["re-seeded"],
            # Under the mark: a re-seed drops the log-likelihood, so the curve runs above it.
            "textposition": "bottom center",
            "cliponaxis": False,
            "textfont": {"size": 15, "color": RESEED_COLOUR},
            "marker": {"size": 16, "symbol": "triangle-up", "color": RESEED_COLOUR},
            "hovertemplate": "re-seeded at iteration %{x}<extra></extra>",
        },
    ]


# The share of the curve panel's height kept free above the run's highest log-likelihood
# (plus the usual pad): the star's upper half and the word "converged" above it take about
# 34 px, and the panel is about 220 px high on the smallest projector screen.
CONVERGED_ROOM = 0.16
# The iteration axis first shows this many iterations, whatever the run's length, and
# doubles its reach whenever a state beyond it is visited (the player widens it in the
# browser): at iteration 0 the chart must not tell how long the run will take.
MIN_AXIS_ITERATIONS = 10


def iteration_axis_end(iteration: int) -> float:
    """The right end of the iteration axis once ``iteration`` has been reached: the first
    of 10, 20, 40, 80, ... iterations that holds it, plus room on the right for the
    "converged" label under the last point."""
    reach = MIN_AXIS_ITERATIONS
    while reach < iteration:
        reach *= 2
    return reach * 1.1 + 1.0


def axis_ends(timeline: Timeline) -> list[float]:
    """:func:`iteration_axis_end` of every state, by index (sent to the player)."""
    return [iteration_axis_end(state.iteration) for state in timeline.states]


def curve_ranges(timeline: Timeline) -> tuple[list[float], list[float]]:
    """The curve's ranges at the start: log-likelihood fixed for the whole run, iterations
    only up to :data:`MIN_AXIS_ITERATIONS` (the player widens them as states are visited).

    The log-likelihood range has room above the highest value for the "converged" star and
    its word (:data:`CONVERGED_ROOM`): the curve ends at its highest, and the word above it
    must stay inside the panel, under the legend.
    """
    values = [s.log_likelihood for s in timeline.states if s.log_likelihood is not None]
    low, high = min(values), max(values)
    pad = max((high - low) * 0.08, abs(high) * 1e-4, 1.0)
    span = high - low + 2 * pad
    top = high + pad + span * CONVERGED_ROOM / (1 - CONVERGED_ROOM)
    return [-0.5, iteration_axis_end(0)], [low - pad, top]


# The look of every axis on the page's charts.
AXIS_STYLE = {
    "gridcolor": GRID,
    "zeroline": False,
    "showline": True,
    "linecolor": AXIS_LINE,
    "automargin": True,
    "tickfont": {"size": TICK_SIZE},  # read from the back of a classroom
}


def tick_format(value_range: list[float], ticks: int = 5) -> str:
    """A thousands-separated format with as many decimals as ``ticks`` steps across
    ``value_range`` need to differ: ",.0f" printed -20, -20, -21, -21 on a curve that
    climbed from -20.9 to -20.2."""
    step = abs(value_range[1] - value_range[0]) / ticks
    decimals = 0 if step >= 1 or step <= 0 else min(6, math.ceil(-math.log10(step)))
    return f",.{decimals}f"


def axis(title: str, value_range: list[float], **extra: object) -> dict:
    """An axis in the page's style titled ``title``, which is plain text (often a column
    name from an uploaded file): Plotly must not read it as markup or a template."""
    return {
        "title": {"text": plotly_literal(title), "font": {"size": TITLE_SIZE}},
        "range": value_range,
        **AXIS_STYLE,
        "ticks": "outside",
        "tickcolor": AXIS_LINE,
        **extra,
    }


def run_layout(timeline: Timeline, xaxis: dict, yaxis: dict) -> dict:
    """The layout of a run's figure: the data panel on the left (``xaxis``, ``yaxis``) and
    the log-likelihood curve on the right (its iteration axis widened by the player as
    states are visited)."""
    iteration_range, ll_range = curve_ranges(timeline)
    return {
        "height": FIGURE_HEIGHT,
        "font": FONT,
        "paper_bgcolor": "#FFFFFF",
        "plot_bgcolor": "#FFFFFF",
        "margin": {"l": 10, "r": 10, "t": 40, "b": 10},
        # The same uirevision on every rerun keeps a zoom the student chose.
        "uirevision": "em",
        "hovermode": "closest",
        "xaxis": {**xaxis, "domain": DATA_DOMAIN},
        "yaxis": yaxis,
        "xaxis2": axis("iteration", iteration_range, domain=CURVE_DOMAIN, anchor="y2"),
        # Its ticks and title on the right, in the figure's margin (which Plotly widens to
        # hold them): on the left they would reach into the data panel.
        "yaxis2": axis(
            "log-likelihood (total)",
            ll_range,
            anchor="x2",
            side="right",
            tickformat=tick_format(ll_range),
        ),
        "legend": {
            "orientation": "h",
            "x": 0.0,
            "y": 1.02,
            "yanchor": "bottom",
            "font": {"size": 16},
            "itemclick": False,
            "itemdoubleclick": False,
        },
    }


def figure_layout(X: np.ndarray, timeline: Timeline, feature_names: Sequence[str]) -> dict:
    x_range, y_range = square_ranges(X)
    # Equal scales so circles look round; Plotly widens the x range to fill the space
    # (once, from the layout; frames never change it).
    return run_layout(
        timeline,
        axis(feature_names[0], x_range),
        axis(feature_names[1], y_range, scaleanchor="x", scaleratio=1),
    )


def build_figure(
    X: np.ndarray, timeline: Timeline, feature_names: Sequence[str] = ("x₁", "x₂")
) -> dict:
    """The animated figure as a plain dict: base traces showing state 0, one frame per state.

    Parameters
    ----------
    X : ndarray of shape (n, d)
        The data EM ran on; the first two columns are plotted.
    timeline : Timeline
    feature_names : sequence of str
        Axis titles for the first two columns, as plain text (shown as written).
    """
    n_components = timeline.states[0].params.n_components
    layout = Layout(n_components)
    x_range, y_range = square_ranges(X)
    decimals = round_for(x_range[1] - x_range[0])
    per_pixel = (y_range[1] - y_range[0]) / NOMINAL_PANEL_PX
    traces = base_traces(X, layout, decimals)
    start, targets = state_traces(timeline, 0, layout, decimals, True, per_pixel, y_range)
    for update, target in zip(start, targets, strict=True):
        traces[target] = merge(traces[target], update)
    frames = [
        frame(timeline, i, layout, decimals, per_pixel, y_range) for i in range(len(timeline))
    ]
    return {"data": traces, "layout": figure_layout(X, timeline, feature_names), "frames": frames}


def merge(base: dict, update: dict) -> dict:
    """``base`` with ``update`` applied, one level deep into nested dicts (like restyle)."""
    merged = dict(base)
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = {**merged[key], **value}
        else:
            merged[key] = value
    return merged


class PrebuiltFigure(go.Figure):
    """A figure dict that ``st.plotly_chart`` accepts without re-validating it.

    ``st.plotly_chart`` sends ``figure.to_dict()`` for Figure objects and validates plain
    dicts through Plotly's object model, which takes about 0.6 s for 40 frames of 2,000
    coloured points. The dicts above are built to Plotly's schema (the tests validate a
    small one with ``go.Figure``), so this wrapper hands them over as they are.
    """

    def __init__(self, spec: dict) -> None:
        super().__init__(layout={"height": spec["layout"].get("height")})
        self._spec = spec

    def to_dict(self) -> dict:
        return self._spec
