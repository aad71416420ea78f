"""Data too degenerate for the model: one sentence for the student, pure (no Streamlit).

A Gaussian needs points that spread out in every direction it measures. When the data do
not (every row the same point, fewer distinct points than components, a column with one
value, columns that lie on one line) EM shrinks components onto a point or a line and the
log-likelihood grows without limit: a large value then means a spike, not a good fit.
:func:`data_warning` says which of these the data have, in the words of the page, and
:func:`with_data_warning` puts it first in the notes of every state of a run.

The tests are those of :func:`emcore.selection.data_notes` (which speaks to programmers
and counts columns from 0): distinct rows, :func:`emcore.covariance.constant_columns` and
the correlation matrix's smallest eigenvalue, on the data with each gap at its column's
mean.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from emapp.build.covariance_models import ELLIPSOIDAL, SPHERICAL, kind
from emapp.build.describe import Note, StateDescription, listed
from emcore.covariance import constant_columns, weighted_moments
from emcore.missing import fill_column_means

# Columns whose correlation matrix has an eigenvalue this small lie on a line or plane (the
# fraction emcore.selection.data_notes uses for its collinearity note).
COLLINEAR_FRACTION = 1e-8
# Said after every sentence about data that make the log-likelihood grow without limit.
UNBOUNDED = "the log-likelihood grows without limit (its value here means nothing)"
COLUMNS = "Columns to fit"  # the sidebar's column picker (emapp.ui.upload)


def data_warning(
    X: np.ndarray, n_components: int, covariance_type: str, feature_names: Sequence[str]
) -> str:
    """What is wrong with data ``X`` (n, d) for ``n_components`` Gaussians of
    ``covariance_type``, in one sentence for a student, or "" when nothing is.

    The gravest problem only: the notes' box has one height. ``X`` may hold NaN (missing
    cells); ``feature_names`` name its columns as the page shows them.
    """
    X = fill_column_means(np.asarray(X, dtype=float))
    n_rows, n_columns = X.shape
    distinct = len(np.unique(X, axis=0))
    what = "values" if n_columns == 1 else "points"
    if distinct == 1:
        return same_point(X[0], n_rows, feature_names)
    if distinct <= n_components:
        return (
            f"The data have only {distinct} distinct {what}, too few for K = {n_components} "
            f"components: the components shrink onto single {what} and {UNBOUNDED}. Use data "
            f"with many more distinct {what}, or choose a smaller K."
        )
    constant = np.flatnonzero(constant_columns(*weighted_moments(X)))
    if constant.size:
        return constant_sentence(X, constant, covariance_type, feature_names)
    if kind(covariance_type) == ELLIPSOIDAL and collinear(X):
        return collinear_sentence(n_columns)
    least = n_components * (n_columns + 1)
    if distinct < least:
        return few_sentence(distinct, n_components, n_columns)
    return ""


def same_point(row: np.ndarray, n_rows: int, feature_names: Sequence[str]) -> str:
    """Every row is the same point: the words name it when it is short enough to read."""
    if len(row) == 1:
        same = f"have the same value ({feature_names[0]} = {row[0]:.6g})"
    elif len(row) <= 3:
        coordinates = ", ".join(f"{n} = {v:.6g}" for n, v in zip(feature_names, row, strict=True))
        same = f"are the same point ({coordinates})"
    else:
        same = "are the same point"
    what = "value" if len(row) == 1 else "point"
    return (
        f"All {n_rows:,} rows {same}: a Gaussian needs {what}s that spread out, so every "
        f"component shrinks onto that one {what} and {UNBOUNDED}. Use data whose rows differ."
    )


def constant_sentence(
    X: np.ndarray, constant: np.ndarray, covariance_type: str, feature_names: Sequence[str]
) -> str:
    """Columns with one value: singular for every model but circles, useless for all."""
    names = [feature_names[j] for j in constant]
    if len(names) == 1:
        which = f"Column {names[0]} has the same value ({X[0, constant[0]]:.6g}) in every row"
    else:
        which = f"Columns {listed(names)} have the same value in every row"
    them = "it" if len(names) == 1 else "them"
    if kind(covariance_type) == SPHERICAL:  # circles take their size from all the columns
        return f"{which}, so {them} cannot help tell groups apart: leave {them} out of {COLUMNS}."
    return (
        f"{which}: every ellipse is squeezed flat along {them} and {UNBOUNDED}. Leave {them} "
        f"out of {COLUMNS}."
    )


def collinear(X: np.ndarray) -> bool:
    """Whether the points lie on a line or plane: one column follows from the others."""
    if X.shape[1] < 2:
        return False
    correlation = np.corrcoef(X, rowvar=False)
    return bool(np.linalg.eigvalsh(correlation)[0] <= COLLINEAR_FRACTION)


def collinear_sentence(n_columns: int) -> str:
    where = (
        "on one straight line"
        if n_columns == 2
        else "on a flat line or plane (one column follows from the others)"
    )
    return (
        f"The points all lie {where}: every ellipse is squeezed flat onto it and {UNBOUNDED}. "
        "Leave a column out, or choose a covariance type with ellipses along the axes."
    )


def few_sentence(distinct: int, n_components: int, n_columns: int) -> str:
    """Too few points for every component to have a shape of its own (it may still work)."""
    if n_columns == 1:
        needs = "a bell curve needs at least 2 distinct values"
    elif n_columns == 2:
        needs = "an ellipse needs at least 3 points not on one line"
    else:
        needs = f"an ellipsoid needs at least {n_columns + 1} points not on one plane"
    what = "values" if n_columns == 1 else "points"
    if n_components == 1:
        return (
            f"Only {distinct} distinct {what}: {needs}, so the component may collapse. "
            "Use more data."
        )
    return (
        f"Only {distinct} distinct {what} for K = {n_components} components: {needs}, so "
        "some components may collapse. Choose a smaller K or use more data."
    )


def with_data_warning(
    descriptions: Sequence[StateDescription], warning: str
) -> tuple[StateDescription, ...]:
    """Every state's notes with ``warning`` first: it is true of the whole run, and the
    numbers beside it (a log-likelihood of +598) must not read as a good fit."""
    if not warning:
        return tuple(descriptions)
    note = Note("warning", warning)
    return tuple(replace(d, notes=(note, *d.notes)) for d in descriptions)
