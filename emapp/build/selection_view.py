"""Choosing K: BIC and AIC against K for the 14 covariance models (pure: emcore and Plotly).

The fits come from :func:`emcore.select_model`; this module bounds the work for a live page
(K up to :data:`KMAX_LIMIT`, one EM start per fit: mclust's hierarchical start, computed once
for the whole table), keeps only the small tidy table (so a cache can hold it), and draws it.

Fourteen lines in one chart would be a tangle, so the chart is four small panels side by side
on one BIC axis, one per orientation: circles (EII, VII), ellipses along the axes (EEI ...
VVI), one shared orientation (EEE ... VVE) and each its own orientation (EEV ... VVV). In
every panel the colour and marker say what else is shared, the same way in all four: same
size and shape, own size, own shape, own size and shape. Each panel's title names its models
in their lines' colours, so the chart reads without hovering.
"""

from __future__ import annotations

import hashlib
import html
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from emapp.build.covariance_models import (
    MODEL_CHOICES,
    mclust_name,
    model_label,
    model_words,
    short_name,
)
from emapp.build.figures import AXIS_STYLE, FONT
from emcore import select_model

KMAX_LIMIT = 8
DEFAULT_KMAX = 6
# One start per fit, as mclust: the hierarchical agglomeration ("hc"), built once for the
# whole table and cut at every K, then one M-step per model. 14 models x 1 start costs about
# what 4 types x 3 k-means starts did (see README).
N_INIT = 1
INIT_PARAMS = "hc"
# Looser than select_model's 1e-6 (criteria move by far less than the gaps we read off the
# chart), which keeps the whole grid within a few seconds on 5,000 points.
TOL = 1e-4
MAX_ITER = 300
CRITERIA = {"bic": "BIC", "aic": "AIC"}
MODELS: tuple[str, ...] = MODEL_CHOICES

# The four panels: what the models in each share about orientation, and their models.
PANELS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("circles", ("EII", "spherical")),
    ("along the axes", ("EEI", "VEI", "EVI", "diag")),
    ("one orientation", ("tied", "VEE", "EVE", "VVE")),
    ("own orientations", ("EEV", "VEV", "EVV", "full")),
)
# Colour and marker by what the first two letters say (circles all share one shape), not the
# component colours, which mean "component k" everywhere else on the page.
PATTERN_STYLES: dict[str, dict[str, str]] = {
    "EE": {"color": "#3B4A6B", "symbol": "circle", "words": "same size and shape"},
    "VE": {"color": "#E67700", "symbol": "triangle-up", "words": "own size"},
    "EV": {"color": "#2B8A3E", "symbol": "diamond", "words": "own shape"},
    "VV": {"color": "#C2255C", "symbol": "square", "words": "own size and shape"},
}
BEST_COLOUR = "#F59F00"
PANEL_GAP = 0.025
FIGURE_HEIGHT = 540

Progress = Callable[[int, int, str], None]


def panel_of(name: str) -> int:
    """Which of :data:`PANELS` (0..3) draws model ``name``."""
    for index, (_, models) in enumerate(PANELS):
        if name in models:
            return index
    raise ValueError(f"{name!r} is not one of the 14 covariance models.")


def pattern(name: str) -> str:
    """``"EE"``, ``"VE"``, ``"EV"`` or ``"VV"``: equal or own size, then shape (circles share
    theirs)."""
    volume, shape, _ = mclust_name(name)
    return volume + ("V" if shape == "V" else "E")


def model_style(name: str) -> dict[str, str]:
    """The colour and marker of model ``name``'s line."""
    return PATTERN_STYLES[pattern(name)]


@dataclass(frozen=True)
class SelectionResult:
    """What the page keeps of a model comparison: the tidy table and a few facts."""

    table: pd.DataFrame
    n_samples: int
    kmax: int
    n_init: int


def data_digest(X: np.ndarray) -> str:
    """A short fingerprint of the data: the cache key of its comparison."""
    array = np.ascontiguousarray(X, dtype=float)
    return hashlib.sha1(repr(array.shape).encode() + array.tobytes()).hexdigest()[:16]


def compare_models(
    X: np.ndarray,
    kmax: int = DEFAULT_KMAX,
    n_init: int = N_INIT,
    progress: Progress | None = None,
    models: tuple[str, ...] = MODELS,
) -> SelectionResult:
    """Fit K = 1..kmax for every model; ``progress(done, total, label)`` after each fit.

    Each fit starts from mclust's hierarchical start and ``n_init - 1`` k-means starts.

    Raises
    ------
    ValueError
        If ``kmax`` is outside 1..:data:`KMAX_LIMIT` (emcore raises for bad data).
    """
    if not 1 <= kmax <= KMAX_LIMIT:
        raise ValueError(f"Compare K from 1 up to at most {KMAX_LIMIT}; got {kmax}.")
    selection = select_model(
        X,
        n_components=kmax,
        covariance_types=models,
        n_init=n_init,
        init_params=INIT_PARAMS,
        tol=TOL,
        max_iter=MAX_ITER,
        progress=progress,
    )
    return SelectionResult(selection.table.copy(), len(X), kmax, n_init)


def best_row(table: pd.DataFrame, criterion: str) -> pd.Series | None:
    """The lowest ``criterion`` among fits that are ok (degenerate ones only if none is)."""
    finite = table[np.isfinite(table[criterion])]
    ok = finite[finite["status"] == "ok"]
    candidates = ok if len(ok) else finite
    if candidates.empty:
        return None
    return candidates.loc[candidates[criterion].idxmin()]


def best_sentence(table: pd.DataFrame, criterion: str) -> str:
    """``Best by BIC: **EEV** (same size and shape, own orientation) with **K = 3** (...).``"""
    name = CRITERIA[criterion]
    row = best_row(table, criterion)
    if row is None:
        return f"No model could be fitted, so {name} cannot choose."
    k = int(row["n_components"])
    label = model_label(str(row["covariance_type"]))
    letters, words = label.split(": ", 1)
    return (
        f"Best by {name}: **{letters}** ({words}) with **K = {k}** "
        f"({name} {row[criterion]:,.1f}; lower is better)."
    )


def axis_names(panel: int) -> tuple[str, str]:
    """The trace's ``xaxis`` and ``yaxis`` for a panel (0..3): one x axis each, one y axis."""
    return ("x" if panel == 0 else f"x{panel + 1}"), "y"


def panel_domains() -> list[list[float]]:
    """Each panel's share of the figure's width (equal, small gaps)."""
    count = len(PANELS)
    width = (1.0 - PANEL_GAP * (count - 1)) / count
    return [[i * (width + PANEL_GAP), i * (width + PANEL_GAP) + width] for i in range(count)]


def criterion_traces(table: pd.DataFrame, criterion: str) -> list[go.Scatter]:
    """One line per model in its panel; degenerate fits drawn hollow, as they are not chosen."""
    traces = []
    for name in dict.fromkeys(table["covariance_type"]):
        rows = table[table["covariance_type"] == name].sort_values("n_components")
        style = model_style(name)
        ok = rows["status"] == "ok"
        symbols = [style["symbol"] if good else f"{style['symbol']}-open" for good in ok]
        notes = [
            "" if good else f"<br>{status}: not chosen"
            for good, status in zip(ok, rows["status"], strict=True)
        ]
        xaxis, yaxis = axis_names(panel_of(name))
        traces.append(
            go.Scatter(
                x=rows["n_components"],
                y=rows[criterion],
                xaxis=xaxis,
                yaxis=yaxis,
                mode="lines+markers",
                name=short_name(name),
                meta=name,
                legendgroup=pattern(name),
                showlegend=False,
                line={"color": style["color"], "width": 3},
                marker={"symbol": symbols, "size": 10, "color": style["color"]},
                customdata=notes,
                hovertemplate=f"{html.escape(model_label(name))}<br>K = %{{x}}<br>"
                f"{CRITERIA[criterion]} %{{y:,.1f}}%{{customdata}}<extra></extra>",
            )
        )
    return traces


def pattern_keys() -> list[go.Scatter]:
    """Legend entries for the four colours (no data): what else a panel's models share."""
    return [
        go.Scatter(
            x=[None],
            y=[None],
            mode="lines+markers",
            name=style["words"],
            legendgroup=key,
            line={"color": style["color"], "width": 3},
            marker={"symbol": style["symbol"], "size": 10, "color": style["color"]},
            hoverinfo="skip",
        )
        for key, style in PATTERN_STYLES.items()
    ]


def panel_titles(best: str | None = None) -> list[dict]:
    """Above each panel: what its models share about orientation, and their letters in their
    lines' colours; the best model's letters starred and in bold (no label over the lines,
    which would hide some of them)."""
    titles = []
    for (words, models), domain in zip(PANELS, panel_domains(), strict=True):
        names = []
        for name in models:
            letters = mclust_name(name)
            if name == best:
                letters = f"<b>★{letters}</b>"
            names.append(f'<span style="color:{model_style(name)["color"]}">{letters}</span>')
        titles.append(
            {
                "x": (domain[0] + domain[1]) / 2,
                "y": 1.0,
                "xref": "paper",
                "yref": "paper",
                "xanchor": "center",
                "yanchor": "bottom",
                "yshift": 6,
                "showarrow": False,
                "text": f"<b>{words}</b><br>{' '.join(names)}",
                "font": {"size": 15},
            }
        )
    return titles


def best_trace(row: pd.Series, criterion: str) -> go.Scatter:
    xaxis, yaxis = axis_names(panel_of(str(row["covariance_type"])))
    return go.Scatter(
        x=[row["n_components"]],
        y=[row[criterion]],
        xaxis=xaxis,
        yaxis=yaxis,
        mode="markers",
        name="best",
        marker={
            "symbol": "star",
            "size": 26,
            "color": BEST_COLOUR,
            "line": {"width": 2, "color": "#7A4100"},
        },
        hovertemplate=f"best: {html.escape(model_label(str(row['covariance_type'])))}, "
        f"K = %{{x}}<br>{CRITERIA[criterion]} %{{y:,.1f}}<extra></extra>",
    )


def current_trace(table: pd.DataFrame, criterion: str, current: tuple[str, int]) -> go.Scatter:
    """A ring around the model the sidebar has chosen now."""
    covariance_type, k = current
    rows = table[(table["covariance_type"] == covariance_type) & (table["n_components"] == k)]
    y = float(rows[criterion].iloc[0]) if len(rows) else None
    panel = panel_of(covariance_type) if covariance_type in MODELS else 0
    xaxis, yaxis = axis_names(panel)
    return go.Scatter(
        x=[k] if y is not None else [],
        y=[y] if y is not None else [],
        xaxis=xaxis,
        yaxis=yaxis,
        mode="markers",
        name="your model now",
        marker={"symbol": "circle-open", "size": 26, "color": "#1F2430", "line": {"width": 3}},
        hoverinfo="skip",
    )


# When the worst values (typically K = 1's, far above every other K) span more than this
# many times the values worth comparing, the y axis ends near those and the worse ones run
# off the top: otherwise the differences near the best, which the choice is about, are
# squeezed into a thin strip (measured on the page's default blobs: 14 models within 150 BIC
# units of each other at K = 3 to 6, drawn in a 3,200-unit range).
SQUEEZE = 3.0


def focused_range(values: np.ndarray) -> tuple[list[float] | None, bool]:
    """The y axis's range for ``values`` (one row per model, one column per K; NaN
    ignored), and whether some run off the top.

    All values fit, with a margin, unless the worst would squeeze the values worth
    comparing (see :data:`SQUEEZE`): every model's best value and the best quarter of all.
    Then the range ends a quarter of their span above the highest of them, so each model's
    best fit is on the chart and worse ones leave it at the top.
    """
    values = np.atleast_2d(np.asarray(values, dtype=float))
    finite = values[np.isfinite(values)]
    if not finite.size:
        return None, False
    low, high = float(finite.min()), float(finite.max())
    bests = [row[np.isfinite(row)].min() for row in values if np.isfinite(row).any()]
    upper = max(float(max(bests)), float(np.percentile(finite, 25)))
    clipped = upper > low and high - low > SQUEEZE * (upper - low)
    top = upper + 0.25 * (upper - low) if clipped else high
    margin = 0.05 * (top - low) if top > low else max(1.0, abs(low) * 0.05)
    return [low - margin, top + (0.0 if clipped else margin)], clipped


def selection_figure(
    table: pd.DataFrame, criterion: str = "bic", current: tuple[str, int] | None = None
) -> go.Figure:
    """``criterion`` ("bic" or "aic") against K: four panels on one axis, the best starred."""
    if criterion not in CRITERIA:
        raise ValueError(f"criterion must be one of {', '.join(CRITERIA)}; got {criterion!r}.")
    figure = go.Figure([*criterion_traces(table, criterion), *pattern_keys()])
    if current is not None:
        figure.add_trace(current_trace(table, criterion, current))
    best = best_row(table, criterion)
    if best is not None:
        figure.add_trace(best_trace(best, criterion))
    ks = sorted(int(k) for k in set(table["n_components"]))
    common = {**AXIS_STYLE, "title_font": {"size": 17}}
    by_model = table.pivot(index="covariance_type", columns="n_components", values=criterion)
    y_range, clipped = focused_range(by_model.to_numpy())
    y_title = f"{CRITERIA[criterion]} (lower is better)"
    if clipped:
        y_title += ", worse ones off the top"
    axes = {}
    for panel, domain in enumerate(panel_domains()):
        key = "xaxis" if panel == 0 else f"xaxis{panel + 1}"
        axes[key] = {
            **common,
            "domain": domain,
            "anchor": "y",
            "title": {"text": "K"},
            "tickvals": ks,
            "range": [min(ks) - 0.5, max(ks) + 0.5] if ks else None,
        }
    figure.update_layout(
        height=FIGURE_HEIGHT,
        font=FONT,
        paper_bgcolor="#FFFFFF",
        plot_bgcolor="#FFFFFF",
        margin={"l": 10, "r": 10, "t": 70, "b": 10},
        yaxis={
            **common,
            "title": {"text": y_title},
            "tickformat": ",.0f",
            "range": y_range,
        },
        legend={
            "orientation": "h",
            "x": 0.0,
            "y": -0.2,
            "yanchor": "top",
            "font": {"size": 15},
        },
        annotations=panel_titles(None if best is None else str(best["covariance_type"])),
        hovermode="closest",
        **axes,
    )
    return figure


# The "All fits" table: what decides first (model, K, whether the fit is sound, the
# criteria), the words last, so a narrow screen cuts the words, not the status.
FITS_COLUMNS: dict[str, str] = {
    "letters": "model",
    "n_components": "K",
    "status": "status",
    "bic": "BIC",
    "aic": "AIC",
    "log_likelihood": "log-likelihood",
    "n_parameters": "parameters",
    "words": "covariances",
}
FITS_DECIMALS: tuple[str, ...] = ("BIC", "AIC", "log-likelihood")


def fits_table(table: pd.DataFrame) -> pd.DataFrame:
    """Every fit of a comparison, one row each, under the headers of :data:`FITS_COLUMNS`;
    the criteria and log-likelihoods rounded to one decimal (:data:`FITS_DECIMALS`)."""
    table = table.assign(
        letters=[mclust_name(name) for name in table["covariance_type"]],
        words=[model_words(name) for name in table["covariance_type"]],
    )
    shown = table[list(FITS_COLUMNS)].rename(columns=FITS_COLUMNS)
    return shown.round({name: 1 for name in FITS_DECIMALS})
