"""k-means as EM's hard-assignment limit, side by side with EM (pure: NumPy, SciPy, Plotly).

k-means is what EM becomes when every point must belong to exactly one component and every
component is the same round Gaussian: the E-step gives each point to its nearest mean (a
responsibility of 1 or 0) and the M-step moves each mean to the plain average of its points.
Run from EM's own starting means on the same data, the two differ only where that limit is
wrong: elongated clusters (k-means only sees distances to the means) and overlapping ones
(k-means cannot share a point).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots
from scipy.optimize import linear_sum_assignment

from emapp.build.blobs import COORDINATES
from emapp.build.colors import component_hex, hex_to_rgb, mean_symbols, point_colors
from emapp.build.figures import AXIS_STYLE, FONT, TITLE_SIZE, ellipse_colour, marker_size
from emapp.build.geometry import ellipse_axes, ellipse_xy, square_ranges
from emapp.build.names import plotly_literal
from emcore import MixtureParams, e_step

MAX_ITERATIONS = 300
# A point is "shared" when no component has more than this share of it.
SHARED_BELOW = 0.9
# Below this share of disagreeing points the two methods are said to agree.
AGREE_BELOW = 0.01
# An EM component whose long axis is this many times its short one counts as elongated.
ELONGATED_RATIO = 1.8
VORONOI_GRID = 260
GRID_WIDENING = 2.0
TINT = 0.78  # how far the k-means regions' colours are mixed towards white
DISAGREE_COLOUR = "#111111"


@dataclass(frozen=True)
class KMeansRun:
    """Lloyd's algorithm from given means: the labels, the final means, how long it took."""

    means: np.ndarray
    labels: np.ndarray
    n_iter: int
    converged: bool


def nearest(X: np.ndarray, means: np.ndarray) -> np.ndarray:
    """Index of the nearest mean (Euclidean) for every point: k-means' hard E-step."""
    distances = ((X[:, None, :] - means[None, :, :]) ** 2).sum(axis=2)
    return np.argmin(distances, axis=1)


def cluster_means(X: np.ndarray, labels: np.ndarray, previous: np.ndarray) -> np.ndarray:
    """Plain averages of each cluster: k-means' M-step. An empty cluster keeps its mean,
    as an empty EM component does."""
    means = previous.copy()
    for k in range(len(previous)):
        members = labels == k
        if members.any():
            means[k] = X[members].mean(axis=0)
    return means


def kmeans(X: np.ndarray, start_means: np.ndarray, max_iter: int = MAX_ITERATIONS) -> KMeansRun:
    """Alternate the hard E- and M-steps until no point changes cluster."""
    X = np.asarray(X, dtype=float)
    means = np.asarray(start_means, dtype=float).copy()
    labels = nearest(X, means)
    for iteration in range(1, max_iter + 1):
        means = cluster_means(X, labels, means)
        new_labels = nearest(X, means)
        if np.array_equal(new_labels, labels):
            return KMeansRun(means, labels, iteration, True)
        labels = new_labels
    return KMeansRun(cluster_means(X, labels, means), labels, max_iter, False)


def match_labels(labels: np.ndarray, reference: np.ndarray, n_components: int) -> np.ndarray:
    """``mapping[j]``: the reference label that k-means' cluster ``j`` is renamed to.

    Chosen to maximise the points on which the two labellings agree (the Hungarian method on
    the table of counts), so "disagree" means a real difference, not a different numbering.
    """
    counts = np.zeros((n_components, n_components))
    np.add.at(counts, (labels, reference), 1)
    rows, columns = linear_sum_assignment(-counts)
    mapping = np.arange(n_components)
    mapping[rows] = columns
    return mapping


@dataclass(frozen=True)
class Comparison:
    """k-means and EM on the same data from the same starting means.

    Attributes
    ----------
    kmeans : KMeansRun
        With k-means' own numbering.
    labels : ndarray of shape (n,)
        k-means' labels renamed to match EM's components.
    means : ndarray of shape (K, d)
        k-means' means in EM's numbering.
    em_resp : ndarray of shape (n, K)
        EM's final responsibilities.
    em_labels : ndarray of shape (n,)
        EM's most responsible component for every point.
    """

    kmeans: KMeansRun
    labels: np.ndarray
    means: np.ndarray
    em_resp: np.ndarray
    em_labels: np.ndarray
    em_params: MixtureParams

    @property
    def differ(self) -> np.ndarray:
        return self.labels != self.em_labels

    @property
    def share_differ(self) -> float:
        return float(self.differ.mean())

    @property
    def share_shared(self) -> float:
        """Share of points EM splits between components (none above :data:`SHARED_BELOW`)."""
        return float((self.em_resp.max(axis=1) < SHARED_BELOW).mean())

    @property
    def elongation(self) -> float:
        """The largest long-to-short axis ratio among EM's non-empty components (1 in 1-D)."""
        if self.em_params.n_features < 2:
            return 1.0
        ratios = [
            radii[0] / max(radii[1], 1e-12)
            for k, covariance in enumerate(self.em_params.full_covariances)
            if not self.em_params.empty[k]
            for radii in [ellipse_axes(covariance[:2, :2])[0]]
        ]
        return max(ratios, default=1.0)


def compare(X: np.ndarray, start_means: np.ndarray, em_params: MixtureParams) -> Comparison:
    """Run k-means from ``start_means`` and line it up with EM's final ``em_params``."""
    X = np.asarray(X, dtype=float)
    run = kmeans(X, start_means)
    resp = e_step(X, em_params).resp
    em_labels = np.argmax(resp, axis=1)
    mapping = match_labels(run.labels, em_labels, len(start_means))
    means = np.empty_like(run.means)
    means[mapping] = run.means
    return Comparison(run, mapping[run.labels], means, resp, em_labels, em_params)


def difference_sentence(comparison: Comparison) -> str:
    """One or two sentences on where and why the two methods differ, from the numbers."""
    n = len(comparison.labels)
    count = int(comparison.differ.sum())
    share = f"{comparison.share_differ:.1%}"
    if comparison.share_differ < AGREE_BELOW and comparison.share_shared < AGREE_BELOW:
        return (
            f"k-means and EM agree on {n - count} of {n} points: with clusters this well "
            "separated EM's responsibilities are almost all 0 or 1, which is exactly the "
            "hard assignment k-means makes."
        )
    if comparison.share_differ < AGREE_BELOW:  # the same labels, but not from 0-or-1 answers
        return (
            f"k-means and EM agree on {n - count} of {n} points when each point goes to EM's "
            f"most responsible component, but EM shares {comparison.share_shared:.0%} of "
            "them between components (none gets 90 % of them), which a hard assignment "
            "cannot say."
        )
    reasons = []
    if comparison.elongation >= ELONGATED_RATIO:
        reasons.append(
            f"EM's ellipses are up to {comparison.elongation:.1f} times longer than wide, "
            "while k-means only measures the distance to each mean and cuts the plane with "
            "straight lines halfway between them"
        )
    if comparison.share_shared >= AGREE_BELOW:
        reasons.append(
            f"EM shares {comparison.share_shared:.0%} of the points between components "
            "(none gets 90 % of them), where k-means must give each point to one cluster"
        )
    why = "; ".join(reasons) if reasons else "the clusters differ in size and shape"
    return (
        f"k-means puts {count} of {n} points ({share}) in a different cluster than EM's most "
        f"responsible component. Why: {why}."
    )


# -- the figure -------------------------------------------------------------------------------


def tint(colour: str, amount: float = TINT) -> str:
    """``colour`` mixed with white, for the background regions behind the points."""
    r, g, b = (round(c + (255 - c) * amount) for c in hex_to_rgb(colour))
    return f"rgb({r},{g},{b})"


def widened(value_range: list[float], factor: float = GRID_WIDENING) -> list[float]:
    """A range ``factor`` times as wide around the same centre: Plotly widens one axis to
    keep equal scales, and the background must still cover the whole plot."""
    centre, half = (value_range[0] + value_range[1]) / 2, (value_range[1] - value_range[0]) / 2
    return [centre - factor * half, centre + factor * half]


def region_trace(comparison: Comparison, ranges: tuple[list[float], list[float]]) -> go.Heatmap:
    """k-means' regions: every grid cell coloured by its nearest k-means mean (a Voronoi
    diagram), so the straight boundaries between clusters are visible."""
    x_range, y_range = (widened(r) for r in ranges)
    xs = np.linspace(*x_range, VORONOI_GRID)
    ys = np.linspace(*y_range, VORONOI_GRID)
    grid = np.column_stack([np.repeat(xs, len(ys)), np.tile(ys, len(xs))])
    labels = nearest(grid, comparison.means[:, :2]).reshape(len(xs), len(ys)).T
    n_components = len(comparison.means)
    scale = []
    for k in range(n_components):
        colour = tint(component_hex(k))
        scale += [[k / n_components, colour], [(k + 1) / n_components, colour]]
    return go.Heatmap(
        x=xs,
        y=ys,
        z=labels,
        zmin=-0.5,
        zmax=n_components - 0.5,
        colorscale=scale,
        showscale=False,
        hoverinfo="skip",
    )


def points_trace(X: np.ndarray, colours: list[str] | str, size: float) -> go.Scatter:
    return go.Scatter(
        x=X[:, 0],
        y=X[:, 1],
        mode="markers",
        marker={"color": colours, "size": size, "opacity": 0.75, "line": {"width": 0}},
        hoverinfo="skip",
        showlegend=False,
    )


def disagree_trace(X: np.ndarray, differ: np.ndarray, size: float, legend: bool) -> go.Scatter:
    """Rings around the points the two methods label differently."""
    return go.Scatter(
        x=X[differ, 0],
        y=X[differ, 1],
        mode="markers",
        name="k-means ≠ EM",
        legendgroup="differ",
        showlegend=legend,
        marker={
            "symbol": "circle-open",
            "size": size + 6,
            "color": DISAGREE_COLOUR,
            "line": {"width": 1.6},
        },
        hoverinfo="skip",
    )


def means_trace(means: np.ndarray, name: str) -> go.Scatter:
    """The means in their components' colours and shapes: k-means' clusters are matched to
    EM's components, so cluster k and component k look the same in both panels."""
    return go.Scatter(
        x=means[:, 0],
        y=means[:, 1],
        mode="markers",
        name=name,
        marker={
            "symbol": mean_symbols(len(means)),
            "size": 20,
            "color": [component_hex(k) for k in range(len(means))],
            "line": {"width": 2.5, "color": "#1F2430"},
        },
        hovertemplate="mean (%{x:.2f}, %{y:.2f})<extra></extra>",
        showlegend=False,
    )


def ellipse_traces(params: MixtureParams) -> list[go.Scatter]:
    """EM's 1- and 2-standard-deviation ellipses, as on the main chart."""
    traces = []
    for k in np.flatnonzero(~params.empty):
        for n_std, dash, width in ((1, "solid", 3.5), (2, "dash", 2.0)):
            outline = ellipse_xy(params.means[k], params.full_covariances[k][:2, :2], n_std)
            traces.append(
                go.Scatter(
                    x=outline[:, 0],
                    y=outline[:, 1],
                    mode="lines",
                    line={"color": ellipse_colour(int(k)), "width": width, "dash": dash},
                    hoverinfo="skip",
                    showlegend=False,
                )
            )
    return traces


def comparison_figure(
    X: np.ndarray, comparison: Comparison, feature_names: Sequence[str] = COORDINATES
) -> go.Figure:
    """k-means (hard colours over its regions) beside EM (soft colours and ellipses)."""
    X = np.asarray(X, dtype=float)
    ranges = square_ranges(X)
    size = marker_size(len(X))
    hard = [component_hex(int(k)) for k in comparison.labels]
    figure = make_subplots(
        rows=1, cols=2, horizontal_spacing=0.04, subplot_titles=panel_titles(comparison)
    )
    differ = comparison.differ
    figure.add_trace(region_trace(comparison, ranges), row=1, col=1)
    figure.add_trace(points_trace(X, hard, size), row=1, col=1)
    figure.add_trace(disagree_trace(X, differ, size, legend=bool(differ.any())), row=1, col=1)
    figure.add_trace(means_trace(comparison.means, "k-means means"), row=1, col=1)
    figure.add_trace(points_trace(X, point_colors(comparison.em_resp), size), row=1, col=2)
    for trace in ellipse_traces(comparison.em_params):
        figure.add_trace(trace, row=1, col=2)
    figure.add_trace(disagree_trace(X, differ, size, legend=False), row=1, col=2)
    figure.add_trace(means_trace(comparison.em_params.means, "EM means"), row=1, col=2)
    style_axes(figure, ranges, feature_names)
    return figure


def panel_titles(comparison: Comparison) -> tuple[str, str]:
    """The two panels' titles. On one line each they ran into each other at 1024 pixels,
    where a panel is about 300 pixels wide: the iteration count goes on a second line."""
    return (
        f"k-means: hard assignments<br>({comparison.kmeans.n_iter} iterations)",
        "EM: soft assignments and ellipses",
    )


def style_axes(
    figure: go.Figure, ranges: tuple[list[float], list[float]], feature_names: Sequence[str]
) -> None:
    """Both panels on the same fixed, equal-scale axes, in the main chart's style.

    ``feature_names`` are plain text (column names from a file), escaped for Plotly.
    """
    common = {
        **AXIS_STYLE,
    }
    x_title, y_title = plotly_literal(feature_names[0]), plotly_literal(feature_names[1])
    for col, anchor in ((1, "x"), (2, "x2")):
        # constrain="domain": equal scales by a square panel, never by a range Plotly
        # widens anew at each size the page draws it at (see figures.EQUAL_SCALE_X).
        figure.update_xaxes(
            range=ranges[0], title_text=x_title, row=1, col=col, constrain="domain", **common
        )
        figure.update_yaxes(
            range=ranges[1],
            scaleanchor=anchor,
            scaleratio=1,
            constrain="domain",
            row=1,
            col=col,
            **common,
        )
    # The panels have the same y range and size, so the left panel's title and numbers
    # serve both; the right panel's own ones landed on the left panel at 1024 pixels.
    figure.update_yaxes(title_text=y_title, row=1, col=1)
    figure.update_yaxes(showticklabels=False, row=1, col=2)
    # The main chart's title size: at 20 the EM title filled its panel to the pixel at 1024.
    figure.update_annotations(font={"size": TITLE_SIZE})
    figure.update_layout(
        height=580,
        font=FONT,
        paper_bgcolor="#FFFFFF",
        plot_bgcolor="#FFFFFF",
        # Room above the plots for the two-line panel titles and, above them, the legend.
        margin={"l": 10, "r": 10, "t": 90, "b": 10},
        legend={
            "orientation": "h",
            "x": 1.0,
            "xanchor": "right",
            "y": 1.0,
            "yref": "container",
            "yanchor": "top",
            "font": {"size": 16},
        },
    )
