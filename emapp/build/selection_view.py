"""Choosing K: BIC and AIC against K for every covariance type (pure: emcore and Plotly).

The fits come from :func:`emcore.select_model`; this module bounds the work for a live page
(K up to :data:`KMAX_LIMIT`, a few EM starts per fit), keeps only the small tidy table (so a
cache can hold it), and draws it: one line per covariance type, the best model starred.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from emapp.build.figures import AXIS_STYLE, FONT
from emcore import COVARIANCE_TYPES, select_model

KMAX_LIMIT = 8
DEFAULT_KMAX = 6
N_INIT = 3
# Looser than select_model's 1e-6 (criteria move by far less than the gaps we read off the
# chart), which keeps the whole grid within a few seconds on 5,000 points.
TOL = 1e-4
MAX_ITER = 300
CRITERIA = {"bic": "BIC", "aic": "AIC"}
# One colour, dash and marker per covariance type: distinct without the component colours,
# which mean "component k" everywhere else on the page.
TYPE_STYLES: dict[str, dict[str, str]] = {
    "full": {"color": "#3B4A6B", "dash": "solid", "symbol": "circle"},
    "tied": {"color": "#C2255C", "dash": "dash", "symbol": "square"},
    "diag": {"color": "#2B8A3E", "dash": "dot", "symbol": "diamond"},
    "spherical": {"color": "#E67700", "dash": "dashdot", "symbol": "triangle-up"},
}
BEST_COLOUR = "#F59F00"

Progress = Callable[[int, int, str], None]


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
    X: np.ndarray, kmax: int = DEFAULT_KMAX, n_init: int = N_INIT, progress: Progress | None = None
) -> SelectionResult:
    """Fit K = 1..kmax for every covariance type; ``progress(done, total, label)`` after each.

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
        covariance_types=COVARIANCE_TYPES,
        n_init=n_init,
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
    """``Best by BIC: full covariances with K = 3 (BIC 7866.4; lower is better).``"""
    name = CRITERIA[criterion]
    row = best_row(table, criterion)
    if row is None:
        return f"No model could be fitted, so {name} cannot choose."
    k = int(row["n_components"])
    return (
        f"Best by {name}: **{row['covariance_type']}** covariances with **K = {k}** "
        f"({name} {row[criterion]:,.1f}; lower is better)."
    )


def criterion_traces(table: pd.DataFrame, criterion: str) -> list[go.Scatter]:
    """One line per covariance type; degenerate fits drawn hollow, as they are not chosen."""
    traces = []
    for name in dict.fromkeys(table["covariance_type"]):
        rows = table[table["covariance_type"] == name].sort_values("n_components")
        style = TYPE_STYLES.get(name, TYPE_STYLES["full"])
        ok = rows["status"] == "ok"
        symbols = [style["symbol"] if good else f"{style['symbol']}-open" for good in ok]
        notes = [
            "" if good else f"<br>{status}: not chosen"
            for good, status in zip(ok, rows["status"], strict=True)
        ]
        traces.append(
            go.Scatter(
                x=rows["n_components"],
                y=rows[criterion],
                mode="lines+markers",
                name=name,
                line={"color": style["color"], "width": 3.5, "dash": style["dash"]},
                marker={"symbol": symbols, "size": 12, "color": style["color"]},
                customdata=notes,
                hovertemplate=f"{name}, K = %{{x}}<br>{CRITERIA[criterion]} %{{y:,.1f}}"
                "%{customdata}<extra></extra>",
            )
        )
    return traces


def best_trace(row: pd.Series, criterion: str) -> go.Scatter:
    return go.Scatter(
        x=[row["n_components"]],
        y=[row[criterion]],
        mode="markers",
        name="best",
        marker={
            "symbol": "star",
            "size": 30,
            "color": BEST_COLOUR,
            "line": {"width": 2, "color": "#7A4100"},
        },
        hoverinfo="skip",
    )


def best_label(row: pd.Series, criterion: str) -> dict:
    """The words next to the star, on an arrow so no line runs through them."""
    return {
        "x": row["n_components"],
        "y": row[criterion],
        "text": f"best: {row['covariance_type']}, K = {int(row['n_components'])}",
        "showarrow": True,
        "arrowhead": 0,
        "arrowcolor": "#7A4100",
        "ax": 0,
        "ay": -70,
        "font": {"size": 19, "color": "#7A4100"},
        "bgcolor": "rgba(255,255,255,0.9)",
    }


def current_trace(table: pd.DataFrame, criterion: str, current: tuple[str, int]) -> go.Scatter:
    """A ring around the model the sidebar has chosen now."""
    covariance_type, k = current
    rows = table[(table["covariance_type"] == covariance_type) & (table["n_components"] == k)]
    y = float(rows[criterion].iloc[0]) if len(rows) else None
    return go.Scatter(
        x=[k] if y is not None else [],
        y=[y] if y is not None else [],
        mode="markers",
        name="your model now",
        marker={"symbol": "circle-open", "size": 30, "color": "#1F2430", "line": {"width": 3}},
        hoverinfo="skip",
    )


def selection_figure(
    table: pd.DataFrame, criterion: str = "bic", current: tuple[str, int] | None = None
) -> go.Figure:
    """``criterion`` ("bic" or "aic") against K, one line per type, the best starred."""
    if criterion not in CRITERIA:
        raise ValueError(f"criterion must be one of {', '.join(CRITERIA)}; got {criterion!r}.")
    figure = go.Figure(criterion_traces(table, criterion))
    if current is not None:
        figure.add_trace(current_trace(table, criterion, current))
    best = best_row(table, criterion)
    if best is not None:
        figure.add_trace(best_trace(best, criterion))
        figure.add_annotation(best_label(best, criterion))
    ks = sorted(set(table["n_components"]))
    common = {
        **AXIS_STYLE,
        "title_font": {"size": 19},
    }
    figure.update_layout(
        height=520,
        font=FONT,
        paper_bgcolor="#FFFFFF",
        plot_bgcolor="#FFFFFF",
        margin={"l": 10, "r": 10, "t": 30, "b": 10},
        xaxis={**common, "title": {"text": "number of components K"}, "tickvals": ks},
        yaxis={
            **common,
            "title": {"text": f"{CRITERIA[criterion]} (lower is better)"},
            "tickformat": ",.0f",
        },
        legend={"orientation": "h", "x": 0.0, "y": 1.02, "yanchor": "bottom", "font": {"size": 17}},
        hovermode="closest",
    )
    return figure
