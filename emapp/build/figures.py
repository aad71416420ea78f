"""Pure functions from a computed EM run to a Plotly figure (a plain dict, no Streamlit).

One figure holds everything the browser needs to animate and scrub without asking the
server: the data and the starting state as its traces, and one animation frame per state of
the :class:`~emapp.build.timeline.Timeline` (frame name = state index).

Traces, in this fixed order (frames address them by index):

0. the points, coloured by their responsibilities;
1 .. 3K. for every component k the 1, 2 and 3 standard-deviation ellipses;
3K + 1. the means, labelled 1..K;
3K + 2. the log-likelihood curve; 3K + 3. the current point on it; 3K + 4. the "converged" mark;
3K + 5. marks where a component was re-seeded;
3K + 6 .. 4K + 5. the legend's entries, one per component: its mean's shape in its colour
   (no data: the legend alone shows them).

E states (and the start) carry every trace; M states leave the points alone, because an
M-step moves the ellipses and keeps the colours: the two halves of EM look different.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go

from emapp.build.blobs import COORDINATES
from emapp.build.colors import NEUTRAL_HEX, component_hex, mean_symbols, point_colors, shade
from emapp.build.geometry import N_STDS, ellipse_xy, view_ranges

# The "name as name" imports are re-exported: the numbers were placed here before labels.py.
from emapp.build.labels import BLANK_LABEL as BLANK_LABEL
from emapp.build.labels import LABEL_CLEARANCE as LABEL_CLEARANCE
from emapp.build.labels import (
    LABEL_FONT_PX,
    MEAN_MARKER_PX,
    NOMINAL_PANEL_PX,
    STACKED_PX,
    label_positions,
    label_texts,
    panel_zooms,
    stacks,
)
from emapp.build.labels import LABEL_PLACES as LABEL_PLACES
from emapp.build.labels import SMALLEST_PANEL_PX as SMALLEST_PANEL_PX
from emapp.build.labels import inside_panel as inside_panel
from emapp.build.labels import number_runs as number_runs
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
PANEL_GAP = 0.06
CURVE_DOMAIN = [DATA_DOMAIN[1] + PANEL_GAP, 1.0]
# The panels' places as Plotly.relayout takes them: side by side (as built), and on a phone
# held upright one above the other, the curve's axis on the left like the data's and no
# legend (the table's swatches say which colour is which); the player switches between the
# two (see player.js). A square data panel sits at the left of its share on a wide screen,
# centred on a phone.
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
SQUARE_PLACES = {"wide": "left", "narrow": "center"}  # xaxis.constraintoward


def panel_layouts(layout: dict) -> dict:
    """:data:`PANEL_LAYOUTS` for a figure with ``layout``, each with the data panel's ranges as
    built: Plotly widens one of them to keep circles round, and must start from these again
    when the panel's shape changes.

    A square data panel (equal scales, :data:`EQUAL_SCALE_Y`) is as wide as the chart is
    high, which on a wide screen is less than its share: ``split`` then tells the player to
    give the rest to the curve (the data panel ends where the square does, the curve
    starts ``gap`` after it), so no empty room is left beside the square. The player knows
    the chart's size in pixels; the shares stay here."""
    ranges = {f"{name}.range": layout[name]["range"] for name in ("xaxis", "yaxis")}
    places = {size: {**spec, **ranges} for size, spec in PANEL_LAYOUTS.items()}
    if not is_square(layout):
        return places
    for size, toward in SQUARE_PLACES.items():
        places[size]["xaxis.constraintoward"] = toward
    return {**places, "split": {"data_max": DATA_DOMAIN[1], "gap": PANEL_GAP}}


def is_square(layout: dict) -> bool:
    """Whether the data panel keeps equal scales (a 2-D view; a histogram does not)."""
    return layout["yaxis"].get("scaleanchor") == "x"


ELLIPSE_STYLES = (  # 1, 2 and 3 standard deviations: solid, then fainter and thinner
    {"width": 4.0, "dash": "solid"},
    {"width": 2.0, "dash": "dash"},
    {"width": 1.5, "dash": "dot"},
)
MEAN_OUTLINE = "#1F2430"
LEGEND_MARKER_PX = 14  # Plotly draws a legend's symbol at most 16 px
# The legend has this many columns, so at most two rows for the app's ten components
# (MAX_COMPONENTS): ten in one row wrapped at 1024 px, and the panels moved down a row.
LEGEND_COLUMNS = 5
# The strip above the panels, in pixels, the same whatever K: the legend's two rows, and
# during Play the half-step words at its right end (player.js), clear of every panel.
TOP_STRIP_PX = 68
LEGEND_TEXT_PX = 20
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

    def legend(self, k: int) -> int:
        return self.means + 5 + k

    @property
    def n_traces(self) -> int:
        return self.legend(self.n_components)


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


@dataclass(frozen=True)
class LabelRoom:
    """What the means' numbers are placed in: ``per_pixel`` data units per pixel on the
    nominal panel, the panel's fixed ranges, and the panel sizes (relative to the nominal)
    on which every number must be clear (see :mod:`emapp.build.labels`)."""

    per_pixel: float
    x_range: Sequence[float] | None = None
    y_range: Sequence[float] | None = None
    zooms: Sequence[float] = (1.0,)

    def positions(self, means: np.ndarray) -> list[str]:
        return label_positions(
            means, self.per_pixel, self.y_range, self.x_range, self.zooms, MEAN_MARKER_PX
        )


def means_update(params: MixtureParams, decimals: int, room: LabelRoom | None = None) -> dict:
    """Markers at the means, in the components' colours and each of its own shape (colour is
    never the only cue); empty components hollow and grey. With ``room`` each number is
    placed beside its own mean, clear of every other mean's marker on every panel size and
    inside the panel, and means on one spot share one number."""
    means = np.round(params.means[:, :2], decimals)
    k_range = range(params.n_components)
    empty = params.empty
    texts = [str(k + 1) for k in k_range]
    if room is not None:
        texts = label_texts(stacks(means, STACKED_PX * room.per_pixel))
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
        **({} if room is None else {"textposition": room.positions(means)}),
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
    room: LabelRoom | None = None,
) -> tuple[list[dict], list[int]]:
    """The trace updates that show state ``index`` and the trace indices they replace
    (``room``: where the means' numbers are placed)."""
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
    updates.append(means_update(state.params, decimals, room))
    targets.append(layout.means)
    updates.extend(curve_updates(timeline, index))
    targets.extend([layout.curve, layout.current, layout.converged, layout.reseeded])
    return updates, targets


def frame(
    timeline: Timeline,
    index: int,
    layout: Layout,
    decimals: int,
    room: LabelRoom | None = None,
) -> dict:
    """The animation frame for state ``index`` (points only on the start and E states)."""
    with_points = timeline.stage(index) != "M"
    data, traces = state_traces(timeline, index, layout, decimals, with_points, room)
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
        for n_std in N_STDS:
            traces.append(
                {
                    "type": "scatter",
                    "mode": "lines",
                    "name": f"Component {k + 1}",
                    "showlegend": False,  # the legend shows the means' shapes (legend_traces)
                    "hovertemplate": f"Component {k + 1}: {n_std} standard deviation"
                    + ("s" if n_std > 1 else "")
                    + "<extra></extra>",
                }
            )
    traces.append(means_base_trace(size=MEAN_MARKER_PX))
    traces.extend(curve_base_traces())
    traces.extend(legend_traces(layout.n_components))
    return traces


def legend_traces(n_components: int) -> list[dict]:
    """The legend's entries: every component's mean as the chart draws it, its shape in its
    full colour (colour is never the only cue: the ellipses' darker lines were 13.5 apart
    under deuteranopia), named by its number alone. They hold no data, so nothing of them
    is drawn in the panels. Each is in the legend group of its column
    (:func:`legend_column`), which lays them out in at most two rows."""
    return [
        {
            "type": "scatter",
            "mode": "markers",
            "name": str(k + 1),
            "legendgroup": legend_column(k),
            "x": [None],
            "y": [None],
            "marker": {
                "symbol": symbol,
                "size": LEGEND_MARKER_PX,
                "color": component_hex(k),
                "line": {"width": 1.5, "color": MEAN_OUTLINE},
            },
            "hoverinfo": "skip",
            "showlegend": True,
        }
        for k, symbol in enumerate(mean_symbols(n_components))
    ]


def legend_column(k: int) -> str:
    """The legend group, so the column, of component ``k``: Plotly stacks a group's entries
    in a horizontal legend, so 1 and 6 share a column, 2 and 7 the next, and so on."""
    return f"column {k % LEGEND_COLUMNS}"


def means_base_trace(size: float) -> dict:
    """The means: numbered markers; their colours and places come from the frames."""
    return {
        "type": "scatter",
        "mode": "markers+text",
        "name": "means",
        "showlegend": False,
        "textposition": "top right",
        "textfont": {"size": LABEL_FONT_PX, "color": MEAN_OUTLINE},
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
        # A fixed top margin: the legend's rows, one or two, fit in it and never push it.
        "margin": {"l": 10, "r": 10, "t": TOP_STRIP_PX, "b": 10},
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
        # The legend sits in the strip above the panels (TOP_STRIP_PX), in columns of two
        # (legend_traces): its height never moves the panels, whatever K, and the strip's
        # right end stays free for the half-step words during Play. No title: "Component"
        # beside it took the room those words need at 1024 px, and the means' own numbers
        # and the table's swatches say what the numbers are.
        "legend": {
            "orientation": "h",
            "x": 0.0,
            "y": 1.0,
            "yanchor": "bottom",
            "traceorder": "grouped",
            "tracegroupgap": 0,
            "font": {"size": 16},
            "itemwidth": 30,
            "entrywidth": LEGEND_TEXT_PX,  # the text's room: "10" at 16 px
            "itemclick": False,
            "itemdoubleclick": False,
        },
    }


# Equal scales so circles look round, kept by shrinking the panel to a square rather than
# by widening a range: Plotly writes a widened range back into the figure, and the next
# draw at another size (the page sizes the chart more than once while it loads, in an
# order that varies) widened it again, so one load showed x -6.4..13.7 and the next
# -10.7..18. Shrinking the panel leaves the ranges as built: the same picture every time.
EQUAL_SCALE_X = {"constrain": "domain", "constraintoward": "center"}
EQUAL_SCALE_Y = {
    "scaleanchor": "x",
    "scaleratio": 1,
    "constrain": "domain",
    "constraintoward": "top",
}


def run_view(X: np.ndarray, timeline: Timeline) -> tuple[list[float], list[float]]:
    """The data panel's fixed x and y ranges: every point and every state's ellipses
    (:func:`~emapp.build.geometry.view_ranges`)."""
    params = [state.params for state in timeline.states]
    means = np.concatenate([p.means[:, :2] for p in params])
    spreads = np.concatenate(
        [np.diagonal(p.full_covariances, axis1=1, axis2=2)[:, :2] for p in params]
    )
    reach = max(N_STDS) * np.sqrt(np.clip(spreads, 0.0, None))
    return view_ranges(X, np.hstack([means - reach, means + reach]))


def figure_layout(
    timeline: Timeline, feature_names: Sequence[str], ranges: tuple[list[float], list[float]]
) -> dict:
    x_range, y_range = ranges
    # The square at the left of its share, where the player keeps it once it has given the
    # rest of the width to the curve (panel_layouts): the first draw already puts it there.
    x_scale = {**EQUAL_SCALE_X, "constraintoward": SQUARE_PLACES["wide"]}
    return run_layout(
        timeline,
        axis(feature_names[0], x_range, **x_scale),
        axis(feature_names[1], y_range, **EQUAL_SCALE_Y),
    )


def build_figure(
    X: np.ndarray, timeline: Timeline, feature_names: Sequence[str] = COORDINATES
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
    x_range, y_range = run_view(X, timeline)
    decimals = round_for(x_range[1] - x_range[0])
    # The panel is a square (EQUAL_SCALE_*): a pixel is the span over its side.
    per_pixel = (y_range[1] - y_range[0]) / NOMINAL_PANEL_PX
    room = LabelRoom(per_pixel, x_range, y_range, panel_zooms())
    traces = base_traces(X, layout, decimals)
    start, targets = state_traces(timeline, 0, layout, decimals, True, room)
    for update, target in zip(start, targets, strict=True):
        traces[target] = merge(traces[target], update)
    frames = [frame(timeline, i, layout, decimals, room) for i in range(len(timeline))]
    layout_spec = figure_layout(timeline, feature_names, (x_range, y_range))
    return {"data": traces, "layout": layout_spec, "frames": frames}


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
