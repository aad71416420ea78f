"""The numbers behind one E-step and one M-step, for one point the student picks (no Streamlit).

The formulas on the page are abstract; this module fills them in with the numbers of the
state on the chart:

- the E-step for point i: every component's density ``N(x_i | mu_k, Sigma_k)``, its weighted
  version ``pi_k N``, their logs (EM works in log space) and the responsibilities, which add
  up to 1;
- the M-step for component k: the new mean as the responsibility-weighted average of all
  points, ``sum_i r_ik x_i / N_k``.

The densities are computed here from the full covariance matrices with a Cholesky factor,
independently of :mod:`emcore.steps`, so the tests can check the page's numbers against the
engine rather than against themselves.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from emapp.build.blobs import COORDINATES
from emapp.build.colors import NEUTRAL_HEX, component_hex, mean_symbols
from emapp.build.figures import (
    EQUAL_SCALE_X,
    EQUAL_SCALE_Y,
    FONT,
    GRID,
    MEAN_OUTLINE,
    ellipse_colour,
)
from emapp.build.geometry import ellipse_xy, square_ranges
from emapp.build.labels import LABEL_PLACES, box_distances, label_box
from emapp.build.names import plotly_literal
from emapp.build.timeline import Timeline
from emcore import MixtureParams
from emcore.steps import EMPTY_POINTS

LOG_2PI = float(np.log(2.0 * np.pi))
# How many terms of the sum over all points the M-step formula writes out before "...".
SHOWN_TERMS = 2
# Up to this many components the E-step's denominator lists every term.
MAX_WRITTEN_TERMS = 5
# Responsibilities written on one line of the sum that shows they add up to 1.
TERMS_PER_LINE = 5
# Between the lines of a derivation, to keep one line's fraction off the next. KaTeX takes
# the size as the least depth of the line above, not as extra space: 1.2em clears a fraction.
LINE_BREAK = r" \\[1.2em] "


# -- the computation --------------------------------------------------------------------------


def log_component_densities(
    X: np.ndarray, means: np.ndarray, covariances: np.ndarray
) -> np.ndarray:
    """``log N(x_i | mu_k, Sigma_k)`` for every point and component, shape (n, K).

    ``covariances`` is a (K, d, d) stack. With ``Sigma = L L^T`` the squared Mahalanobis
    distance is ``|L^-1 (x - mu)|^2`` and ``log det Sigma = 2 sum log diag L``.
    """
    X = np.atleast_2d(np.asarray(X, dtype=float))
    n_features = X.shape[1]
    result = np.empty((len(X), len(means)))
    for k, (mean, covariance) in enumerate(zip(means, covariances, strict=True)):
        lower = np.linalg.cholesky(covariance)
        standardised = np.linalg.solve(lower, (X - mean).T)
        distance = np.einsum("dn,dn->n", standardised, standardised)
        log_det = 2.0 * np.log(np.diag(lower)).sum()
        result[:, k] = -0.5 * (n_features * LOG_2PI + log_det + distance)
    return result


def log_joint(X: np.ndarray, params: MixtureParams) -> np.ndarray:
    """``log pi_k + log N(x_i | k)``, shape (n, K); ``-inf`` for empty components."""
    with np.errstate(divide="ignore"):
        log_weights = np.log(params.weights)
    densities = log_component_densities(X, params.means, params.full_covariances)
    return densities + log_weights


def log_sum_exp(values: np.ndarray) -> np.ndarray:
    """Row-wise ``log sum exp``: the largest term is factored out so nothing underflows."""
    largest = np.max(values, axis=-1, keepdims=True)
    return (largest + np.log(np.exp(values - largest).sum(axis=-1, keepdims=True)))[..., 0]


def responsibilities(X: np.ndarray, params: MixtureParams) -> np.ndarray:
    """The E-step's (n, K) responsibilities, computed in log space."""
    joint = log_joint(X, params)
    return np.exp(joint - log_sum_exp(joint)[:, None])


@dataclass(frozen=True)
class PointEStep:
    """The E-step for one point.

    Attributes
    ----------
    point : int
        0-based index of the point.
    x : ndarray of shape (d,)
    weights : ndarray of shape (K,)
        The mixing weights pi_k.
    log_density : ndarray of shape (K,)
        ``log N(x | mu_k, Sigma_k)``.
    log_joint : ndarray of shape (K,)
        ``log pi_k + log N(x | mu_k, Sigma_k)``; ``-inf`` for an empty component.
    log_prob : float
        ``log p(x) = log sum_k pi_k N(x | mu_k, Sigma_k)``.
    resp : ndarray of shape (K,)
        The responsibilities ``r_ik``; they add up to 1.
    """

    point: int
    x: np.ndarray
    weights: np.ndarray
    log_density: np.ndarray
    log_joint: np.ndarray
    log_prob: float
    resp: np.ndarray

    @property
    def density(self) -> np.ndarray:
        return np.exp(self.log_density)

    @property
    def joint(self) -> np.ndarray:
        return np.exp(self.log_joint)

    @property
    def n_components(self) -> int:
        return len(self.weights)


def point_e_step(X: np.ndarray, params: MixtureParams, point: int) -> PointEStep:
    """The E-step's numbers for point ``point`` (0-based) under ``params``."""
    x = np.asarray(X, dtype=float)[point]
    densities = log_component_densities(x[None, :], params.means, params.full_covariances)[0]
    joint = log_joint(x[None, :], params)[0]
    total = float(log_sum_exp(joint))
    return PointEStep(
        point=point,
        x=x,
        weights=params.weights.copy(),
        log_density=densities,
        log_joint=joint,
        log_prob=total,
        resp=np.exp(joint - total),
    )


@dataclass(frozen=True)
class MeanUpdate:
    """The M-step's new mean of one component, as a weighted average of all points.

    Attributes
    ----------
    component : int
    n_k : float
        ``N_k = sum_i r_ik``, the component's effective number of points.
    weighted_sum : ndarray of shape (d,)
        ``sum_i r_ik x_i``.
    mean : ndarray of shape (d,)
        The new mean: ``weighted_sum / n_k``, or the previous mean if the component is empty.
    previous_mean : ndarray of shape (d,)
    empty : bool
        Whether ``N_k`` is (numerically) zero: the engine then keeps the previous mean.
    terms : tuple of (int, float, ndarray)
        ``(i, r_ik, x_i)`` for the first points and the picked one: the start of the sum.
    """

    component: int
    n_k: float
    weighted_sum: np.ndarray
    mean: np.ndarray
    previous_mean: np.ndarray
    empty: bool
    terms: tuple[tuple[int, float, np.ndarray], ...]


def mean_update(
    X: np.ndarray, resp: np.ndarray, component: int, previous_mean: np.ndarray, point: int = 0
) -> MeanUpdate:
    """The new mean of ``component`` from the responsibilities (the M-step's mean)."""
    X = np.asarray(X, dtype=float)
    weights = resp[:, component]
    n_k = float(weights.sum())
    weighted_sum = weights @ X
    empty = n_k < EMPTY_POINTS
    mean = np.asarray(previous_mean, dtype=float).copy() if empty else weighted_sum / n_k
    shown = sorted({*range(min(SHOWN_TERMS, len(X))), point})
    terms = tuple((i, float(weights[i]), X[i]) for i in shown)
    return MeanUpdate(
        component, n_k, weighted_sum, mean, np.asarray(previous_mean, float), empty, terms
    )


@dataclass(frozen=True)
class WorkedExample:
    """One E-step and the M-step after it, for one point and one component.

    Attributes
    ----------
    params_index : int
        The timeline state whose parameters the E-step uses: the state on the chart.
    e_index : int or None
        The timeline's E state with these responsibilities (None past the end of the run).
    m_index : int or None
        The timeline's M state the M-step leads to (None past the end of the run).
    e_step : PointEStep
    mean : MeanUpdate
    timeline_mean : ndarray or None
        The engine's new mean of the component at ``m_index``: equal to ``mean.mean``.
    """

    params_index: int
    e_index: int | None
    m_index: int | None
    e_step: PointEStep
    mean: MeanUpdate
    timeline_mean: np.ndarray | None


def next_states(timeline: Timeline, index: int) -> tuple[int | None, int | None]:
    """The E state computed from state ``index``'s parameters, and the M state after it.

    On an E state the responsibilities are the ones on screen; from the start or an M state
    they are those of the next E-step.
    """
    e_index = index if timeline.stage(index) == "E" else index + 1
    m_index = e_index + 1
    return (
        e_index if e_index <= timeline.last else None,
        m_index if m_index <= timeline.last else None,
    )


def worked_example(
    X: np.ndarray, timeline: Timeline, index: int, point: int, component: int | None = None
) -> WorkedExample:
    """The worked E- and M-step for the state ``index`` on the chart.

    ``component`` defaults to the one most responsible for the point.
    """
    params = timeline.states[index].params
    e_numbers = point_e_step(X, params, point)
    if component is None:
        component = int(np.argmax(e_numbers.resp))
    resp = responsibilities(X, params)
    update = mean_update(X, resp, component, params.means[component], point)
    e_index, m_index = next_states(timeline, index)
    engine_mean = None if m_index is None else timeline.states[m_index].params.means[component]
    return WorkedExample(index, e_index, m_index, e_numbers, update, engine_mean)


# -- the words and formulas -------------------------------------------------------------------


def number(value: float, digits: int = 4) -> str:
    """A number for LaTeX: ``digits`` significant figures, a power of ten when tiny or huge."""
    if value == 0:
        return "0"
    if not np.isfinite(value):
        return r"-\infty" if value < 0 else r"\infty"
    text = f"{value:.{digits}g}"
    if "e" not in text:
        return text
    mantissa, exponent = text.split("e")
    return rf"{mantissa} \times 10^{{{int(exponent)}}}"


def probability(value: float) -> str:
    """Responsibilities: four decimals, so they visibly add up to 1."""
    return f"{value:.4f}"


def vector(values: np.ndarray, digits: int = 4) -> str:
    """A column vector in LaTeX."""
    rows = r" \\ ".join(number(float(v), digits) for v in values)
    return rf"\begin{{pmatrix}} {rows} \end{{pmatrix}}"


def joint_symbol(i: int, k: int) -> str:
    return (
        rf"\pi_{{{k + 1}}}\,\mathcal{{N}}(x_{{{i + 1}}} \mid \mu_{{{k + 1}}}, \Sigma_{{{k + 1}}})"
    )


def point_latex(e_numbers: PointEStep) -> str:
    """``x_17 = (1.2, 3.4)^T``."""
    return rf"x_{{{e_numbers.point + 1}}} = {vector(e_numbers.x)}"


def aligned(*lines: str) -> str:
    """Lines of one derivation, one under the other, lined up on their ``&=``.

    A derivation written on one line runs off the page at a projector's 1024 pixels, and
    KaTeX never breaks a line by itself.
    """
    return r"\begin{aligned}" + LINE_BREAK.join(lines) + r"\end{aligned}"


def responsibility_latex(e_numbers: PointEStep, k: int) -> str:
    """``r_ik`` with the formula, then (a line below) the actual numbers and the result."""
    i, joint = e_numbers.point, e_numbers.joint
    indices = range(e_numbers.n_components)
    if e_numbers.n_components <= MAX_WRITTEN_TERMS:
        denominator = " + ".join(number(float(joint[j]), 3) for j in indices)
    else:
        written = " + ".join(number(float(joint[j]), 3) for j in range(MAX_WRITTEN_TERMS - 1))
        denominator = rf"{written} + \cdots"
    return aligned(
        rf"r_{{{i + 1},{k + 1}}} &= \frac{{{joint_symbol(i, k)}}}"
        rf"{{\sum_j \pi_j\,\mathcal{{N}}(x_{{{i + 1}}} \mid \mu_j, \Sigma_j)}}",
        rf"&= \frac{{{number(float(joint[k]), 3)}}}{{{denominator}}}"
        rf" = {probability(float(e_numbers.resp[k]))}",
    )


def log_space_latex(e_numbers: PointEStep, k: int) -> str:
    """The same responsibility in log space, the way the engine computes it: the formula,
    then the numbers on the line below."""
    i = e_numbers.point
    return aligned(
        rf"\log r_{{{i + 1},{k + 1}}} &= \log\big({joint_symbol(i, k)}\big)"
        rf" - \log p(x_{{{i + 1}}})",
        rf"&= {number(float(e_numbers.log_joint[k]))} - ({number(e_numbers.log_prob)})"
        rf" = {number(float(e_numbers.log_joint[k] - e_numbers.log_prob))}",
    )


def sum_to_one_latex(e_numbers: PointEStep) -> str:
    """``sum_k r_ik = 0.9812 + 0.0188 + 0.0000 = 1``, on more lines for many components
    (eight terms on one line ran off the page at 1024 pixels)."""
    i = e_numbers.point
    terms = [probability(float(r)) for r in e_numbers.resp]
    rows = [
        " + ".join(terms[start : start + TERMS_PER_LINE])
        for start in range(0, len(terms), TERMS_PER_LINE)
    ]
    total = number(float(e_numbers.resp.sum()), 6)
    if len(rows) == 1:
        return rf"\sum_k r_{{{i + 1},k}} = {rows[0]} = {total}"
    first = rf"\sum_k r_{{{i + 1},k}} &= {rows[0]}"
    return aligned(
        first, *(rf"&\quad + {row}" for row in rows[1:-1]), rf"&\quad + {rows[-1]} = {total}"
    )


def mean_latex(update: MeanUpdate, point: int) -> str:
    """``mu_k^new = sum_i r_ik x_i / N_k`` with the start of the sum and the result."""
    k = update.component + 1
    if update.empty:
        return (
            rf"N_{{{k}}} = \sum_i r_{{i,{k}}} \approx 0:\quad \mu_{{{k}}}^{{\text{{new}}}}"
            rf" = \mu_{{{k}}} = {vector(update.mean)}\ \text{{(empty: it keeps its mean)}}"
        )
    written: list[str] = []
    previous = -1
    for i, r, x in update.terms:
        if i > previous + 1:
            written.append(r"\cdots")
        written.append(rf"\underbrace{{{probability(r)}}}_{{r_{{{i + 1},{k}}}}}{vector(x, 3)}")
        previous = i
    written.append(r"\cdots")
    # Three lines: the formula, the sum written out, the result. On one line the result,
    # the number the student wants, was cut off at 1024 pixels.
    return aligned(
        rf"\mu_{{{k}}}^{{\text{{new}}}} &= \frac{{\sum_i r_{{i,{k}}}\, x_i}}{{N_{{{k}}}}}",
        rf"&= \frac{{{' + '.join(written)}}}{{{number(update.n_k)}}}",
        rf"&= \frac{{{vector(update.weighted_sum)}}}{{{number(update.n_k)}}}"
        rf" = {vector(update.mean)}",
    )


def n_k_latex(update: MeanUpdate) -> str:
    """``N_k = sum_i r_ik = 312.4`` and the new weight it gives."""
    k = update.component + 1
    return rf"N_{{{k}}} = \sum_i r_{{i,{k}}} = {number(update.n_k)}"


# The per-component table's headers: each quantity in words, then its symbol.
WEIGHT = "weight π_k"
DENSITY = "density N(x | μ_k, Σ_k)"
LOG_DENSITY = "log density"
WEIGHTED = "weighted density π_k · N"
LOG_WEIGHTED = "log weighted density"
RESPONSIBILITY = "responsibility r_ik"
COMPONENT_TABLE_COLUMNS = (
    "component",
    WEIGHT,
    DENSITY,
    LOG_DENSITY,
    WEIGHTED,
    LOG_WEIGHTED,
    RESPONSIBILITY,
)


def component_table(e_numbers: PointEStep) -> pd.DataFrame:
    """One row per component: weight, density, weighted density (and their logs) and the
    responsibility, under headers that say each in words ("weight π_k")."""
    values = (
        [f"{k + 1}" for k in range(e_numbers.n_components)],
        e_numbers.weights,
        e_numbers.density,
        e_numbers.log_density,
        e_numbers.joint,
        e_numbers.log_joint,
        e_numbers.resp,
    )
    return pd.DataFrame(dict(zip(COMPONENT_TABLE_COLUMNS, values, strict=True)))


# -- where the point is -----------------------------------------------------------------------

# The picked point's ring and its label ("x₁₃") on the small map, in pixels.
RING_PX = 24.0
POINT_LABEL_PX = 22.0
# The small map's square data panel, from the narrow column of a 1024x768 screen to a wide
# monitor's (pixels): its label must be clear on all of them.
POINT_PANEL_PX = (150.0, 220.0, 300.0, 380.0)
# Air around the label's box (pixels): a grey point this near touches the label.
LABEL_AIR_PX = 3.0
LABEL_HALO = "0 0 3px #FFFFFF, 0 0 3px #FFFFFF, 0 0 2px #FFFFFF"
# A mean under the label hides the component's marker: it counts as this many points.
MEAN_COVERS = 25


def covered(box: np.ndarray, spots: np.ndarray) -> int:
    """How many ``spots`` (pixels from the labelled point, y up) touch ``box``."""
    widened = box + np.array([-1.0, -1.0, 1.0, 1.0]) * LABEL_AIR_PX
    return int(np.count_nonzero(box_distances(widened, spots) == 0))


def label_cost(
    box: np.ndarray, centre: np.ndarray, spots: tuple[np.ndarray, np.ndarray], ranges: np.ndarray
) -> float:
    """How much the label's ``box`` (pixels from the point at ``centre``) covers, at its
    worst panel size: other points, and means (each :data:`MEAN_COVERS`); infinite where it
    leaves the map (``ranges``: rows x and y, columns low and high)."""
    others, means = spots
    worst = 0.0
    for side in POINT_PANEL_PX:
        per_pixel = (ranges[0, 1] - ranges[0, 0]) / side  # square ranges, equal scales
        corners = centre[:, None] + box.reshape(2, 2).T * per_pixel  # rows x, y
        if np.any(corners[:, 0] < ranges[:, 0]) or np.any(corners[:, 1] > ranges[:, 1]):
            return np.inf
        count = covered(box, (others - centre) / per_pixel)
        worst = max(worst, count + MEAN_COVERS * covered(box, (means - centre) / per_pixel))
    return worst


def point_label_place(
    X: np.ndarray, point: int, means: np.ndarray, ranges: tuple[list[float], list[float]]
) -> str:
    """Where the picked point's label goes beside its ring: a Plotly ``textposition``.

    Of the places in :data:`~emapp.build.labels.LABEL_PLACES` inside the map on every panel
    size (:data:`POINT_PANEL_PX`), the one over the fewest other points and means at its
    worst size; the first of equals. Plotly's fixed "top right" put "x₁" at the map's top
    edge, over the data and away from its ring.
    """
    X = np.asarray(X, dtype=float)[:, :2]
    centre = X[point]
    spots = (np.delete(X, point, axis=0), np.asarray(means, dtype=float).reshape(-1, 2))
    # Every character as wide as a digit: a little wide for "x" and the subscripts.
    width = "0" * len("x" + subscript(point + 1))
    costs = {
        place: label_cost(
            label_box(place, width, RING_PX, POINT_LABEL_PX), centre, spots, np.array(ranges)
        )
        for place, _, _ in LABEL_PLACES
    }
    return min(costs, key=costs.get)  # the first of the least covered


def point_figure(
    X: np.ndarray,
    params: MixtureParams,
    point: int,
    feature_names: tuple[str, str] = COORDINATES,
) -> go.Figure:
    """A small map: the data in grey, the picked point ringed, the components' 1-sd ellipses.

    The numbers only mean something once the student sees which point they belong to.
    ``feature_names`` (the axis titles) are plain text, escaped for Plotly.
    """
    X = np.asarray(X, dtype=float)
    x_range, y_range = square_ranges(X)
    place = point_label_place(X, point, params.means[~params.empty], (x_range, y_range))
    figure = go.Figure()
    figure.add_trace(
        go.Scatter(
            x=X[:, 0],
            y=X[:, 1],
            mode="markers",
            marker={"color": NEUTRAL_HEX, "size": 5, "opacity": 0.45},
            hoverinfo="skip",
            showlegend=False,
        )
    )
    for k in np.flatnonzero(~params.empty):
        outline = ellipse_xy(params.means[k], params.full_covariances[k][:2, :2], 1.0)
        figure.add_trace(
            go.Scatter(
                x=outline[:, 0],
                y=outline[:, 1],
                mode="lines",
                line={"color": ellipse_colour(int(k)), "width": 3},
                name=f"Component {k + 1}",
                hoverinfo="skip",
            )
        )
    figure.add_trace(
        go.Scatter(
            x=params.means[:, 0],
            y=params.means[:, 1],
            mode="markers",
            marker={
                "symbol": mean_symbols(params.n_components),
                "size": 15,
                "color": [component_hex(k) for k in range(params.n_components)],
                "line": {"width": 2, "color": MEAN_OUTLINE},
            },
            hoverinfo="skip",
            showlegend=False,
        )
    )
    figure.add_trace(
        go.Scatter(
            x=[X[point, 0]],
            y=[X[point, 1]],
            mode="markers+text",
            text=[f"x{subscript(point + 1)}"],
            textposition=place,
            # A white halo: in a dense cloud every place beside the ring is over some points.
            textfont={"size": POINT_LABEL_PX, "color": MEAN_OUTLINE, "shadow": LABEL_HALO},
            marker={
                "symbol": "circle-open-dot",
                "size": RING_PX,
                "color": MEAN_OUTLINE,
                "line": {"width": 3},
            },
            hoverinfo="skip",
            showlegend=False,
        )
    )
    common = {"gridcolor": GRID, "zeroline": False, "showline": True, "automargin": True}
    figure.update_layout(
        height=420,
        font=FONT,
        paper_bgcolor="#FFFFFF",
        plot_bgcolor="#FFFFFF",
        margin={"l": 10, "r": 10, "t": 10, "b": 10},
        showlegend=False,
        xaxis={
            **common,
            **EQUAL_SCALE_X,
            "range": x_range,
            "title": {"text": plotly_literal(feature_names[0])},
        },
        yaxis={
            **common,
            **EQUAL_SCALE_Y,
            "range": y_range,
            "title": {"text": plotly_literal(feature_names[1])},
        },
    )
    return figure


def subscript(value: int) -> str:
    """``17`` as ``"₁₇"``, for labels drawn by Plotly (which has no LaTeX here)."""
    return str(value).translate(str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉"))
