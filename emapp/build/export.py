"""Exporting a fit: the data with labels and responsibilities as CSV, the parameters as JSON.

Pure functions of numbers and names; the download buttons are in :mod:`emapp.ui.downloads`.
Both files describe either the *final* state of the run (the fit EM converged to, or stopped
at; the default) or the *state on screen* (:func:`state_export`), and say which: the JSON in
its ``state`` block, both in the buttons' labels and the files' names. When the data know
their true clusters (blobs) or species (iris, penguins), the CSV has a ``true_label`` column.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from emapp.build.covariance_models import model_label
from emapp.build.timeline import Timeline
from emcore import MixtureParams, e_step

RESP_DECIMALS = 6
LABEL_COLUMN = "label"
TRUE_LABEL_COLUMN = "true_label"
FINAL = "final"
ON_SCREEN = "on screen"
# A cell starting with one of these is run as a formula when the CSV is opened in a
# spreadsheet; an uploaded file's column names end up in the exported header.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True, eq=False)
class FitExport:
    """Everything the two downloads need, taken from a finished run.

    Attributes
    ----------
    data : ndarray of shape (n, d)
        The fitted columns in the units of the file (before any standardisation).
    columns : tuple of str
    params : MixtureParams
        The final parameters, in the units EM ran in (standardised if ``scale`` is set).
    resp : ndarray of shape (n, K)
        The final responsibilities.
    centre, scale : ndarray of shape (d,) or None
        The standardisation EM ran on: ``(x - centre) / scale``; None when it ran on the data
        as they are.
    iteration, converged, log_likelihood
        Which state this is.
    name : str
        A short name for the files (data set or upload).
    truth : ndarray of shape (n,) or None
        The true cluster or species of every row, when known.
    timeline : Timeline or None
        The whole run in the columns EM ran in, for :func:`state_export`.
    which : str
        :data:`FINAL` or :data:`ON_SCREEN`.
    label : str
        The state's status line ("Iteration 3 · E-step done"); empty for the final fit.
    stage : str
        The state's stage: "start", "E" or "M".
    """

    data: np.ndarray
    columns: tuple[str, ...]
    params: MixtureParams
    resp: np.ndarray
    iteration: int
    converged: bool
    log_likelihood: float | None
    centre: np.ndarray | None = None
    scale: np.ndarray | None = None
    name: str = "em"
    truth: np.ndarray | None = None
    timeline: Timeline | None = None
    which: str = FINAL
    label: str = ""
    stage: str = "E"


def final_export(
    timeline: Timeline,
    data: np.ndarray,
    columns: Sequence[str],
    centre: np.ndarray | None = None,
    scale: np.ndarray | None = None,
    name: str = "em",
    truth: np.ndarray | None = None,
) -> FitExport:
    """The export of a run's last state (an E state: its responsibilities match its params)."""
    last = timeline.last
    state = timeline.states[last]
    return FitExport(
        data=np.asarray(data, dtype=float),
        columns=tuple(str(c) for c in columns),
        params=state.params,
        resp=timeline.resp[last],
        iteration=state.iteration,
        converged=timeline.converged,
        log_likelihood=state.log_likelihood,
        centre=centre,
        scale=scale,
        name=name,
        truth=truth,
        timeline=timeline,
    )


def state_export(fit: FitExport, index: int, label: str = "") -> FitExport:
    """``fit`` (a final export) as of state ``index`` of its run: the state on screen.

    The parameters are that state's. The responsibilities are the ones its colours show:
    an E state's own, an M state's from the E-step before it; at the start, where the
    points are not coloured yet, those the start's parameters give (the first E-step's).
    """
    timeline = fit.timeline
    if timeline is None:
        raise ValueError("This export has no run to take another state from.")
    index = min(max(int(index), 0), timeline.last)
    state = timeline.states[index]
    source = timeline.colour_source(index)
    if source is not None:
        resp = timeline.resp[source]
    else:
        X = fit.data if fit.scale is None else (fit.data - fit.centre) / fit.scale
        resp = e_step(X, state.params).resp
    return FitExport(
        data=fit.data,
        columns=fit.columns,
        params=state.params,
        resp=resp,
        iteration=state.iteration,
        converged=bool(fit.converged and index == timeline.last),
        log_likelihood=state.log_likelihood,
        centre=fit.centre,
        scale=fit.scale,
        name=fit.name,
        truth=fit.truth,
        timeline=timeline,
        which=ON_SCREEN,
        label=label,
        stage=state.stage,
    )


def export_suffix(fit: FitExport) -> str:
    """What the file names add: ``final``, or ``iteration3_E`` for a state on screen."""
    if fit.which == FINAL:
        return FINAL
    return f"iteration{fit.iteration}_{fit.stage}"


def unique_name(name: str, taken: set[str]) -> str:
    """``name``, or ``name_2``, ``name_3``... when a data column already has it."""
    candidate, number = name, 1
    while candidate in taken:
        number += 1
        candidate = f"{name}_{number}"
    taken.add(candidate)
    return candidate


def normalised(resp: np.ndarray) -> np.ndarray:
    """Responsibilities as float64 rows summing to 1 (they are stored as float32)."""
    resp = np.asarray(resp, dtype=float)
    totals = resp.sum(axis=1, keepdims=True)
    return np.divide(resp, totals, out=np.zeros_like(resp), where=totals > 0)


def labels_frame(
    data: np.ndarray,
    columns: Sequence[str],
    resp: np.ndarray,
    truth: np.ndarray | None = None,
) -> pd.DataFrame:
    """The data, the hard label (1..K, the component numbers on screen), ``resp_1..K`` and,
    when known, the true label (cluster number or species)."""
    columns = [str(c) for c in columns]
    frame = pd.DataFrame(np.asarray(data, dtype=float), columns=columns)
    taken = set(columns)
    resp = normalised(resp)
    frame[unique_name(LABEL_COLUMN, taken)] = resp.argmax(axis=1) + 1
    for k in range(resp.shape[1]):
        frame[unique_name(f"resp_{k + 1}", taken)] = np.round(resp[:, k], RESP_DECIMALS)
    if truth is not None:
        frame[unique_name(TRUE_LABEL_COLUMN, taken)] = np.asarray(truth)
    return frame


def spreadsheet_safe(name: str) -> str:
    """``name`` with a leading apostrophe if a spreadsheet would read it as a formula (the
    usual defence: the apostrophe shows the rest as text)."""
    return "'" + name if name.startswith(FORMULA_STARTS) else name


def labels_csv(
    data: np.ndarray,
    columns: Sequence[str],
    resp: np.ndarray,
    truth: np.ndarray | None = None,
) -> str:
    """:func:`labels_frame` as CSV text, one row per point, with a header that no
    spreadsheet runs as a formula (the cells are numbers, and the built-in data sets'
    species names)."""
    frame = labels_frame(data, columns, resp, truth)
    frame.columns = [spreadsheet_safe(str(c)) for c in frame.columns]
    return frame.to_csv(index=False, lineterminator="\n")


# How "covariances" is laid out, by what the model stores (emcore's ``model.family``).
COVARIANCE_LAYOUTS = {
    "full": "one d x d matrix per component",
    "pooled": "one d x d matrix shared by every component",
    "diagonal": "one row of d variances (the diagonal) per component",
    "spherical": "one variance per component, the same in every direction",
}


def parameters_dict(fit: FitExport) -> dict:
    """The fitted parameters as plain lists, with what they mean."""
    params = fit.params
    standardised = fit.scale is not None
    result: dict = {
        "covariance_type": params.covariance_type,
        "covariance_model": model_label(params.covariance_type),
        "covariances_layout": COVARIANCE_LAYOUTS[params.model.family],
        "n_components": params.n_components,
        "columns": list(fit.columns),
        "weights": params.weights.tolist(),
        "means": params.means.tolist(),
        "covariances": np.asarray(params.covariances).tolist(),
        "state": {
            "which": fit.which,
            "iteration": fit.iteration,
            "stage": fit.stage,
            "converged": bool(fit.converged),
            "log_likelihood": fit.log_likelihood,
        },
        "standardised": standardised,
    }
    if fit.label:
        result["state"]["label"] = fit.label
    if standardised:
        centre = np.zeros(len(fit.columns)) if fit.centre is None else fit.centre
        result["standardisation"] = {
            "note": "means and covariances are in standardised units: (x - centre) / scale",
            "centre": np.asarray(centre, dtype=float).tolist(),
            "scale": np.asarray(fit.scale, dtype=float).tolist(),
        }
    return result


def parameters_json(fit: FitExport) -> str:
    return json.dumps(parameters_dict(fit), indent=2)


def file_stem(name: str) -> str:
    """A safe file name stem from a data set's or file's name."""
    stem = "".join(c if c.isalnum() or c in "-_" else "_" for c in name.rsplit(".", 1)[0])
    return stem.strip("_") or "em"
