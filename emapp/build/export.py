"""Exporting a fit: the data with labels and responsibilities as CSV, the parameters as JSON.

Pure functions of numbers and names; the download buttons are in :mod:`emapp.ui.downloads`.
Both files describe the *final* state of the run (the fit EM converged to, or stopped at),
whatever state is on screen: the browser may be in the middle of playback, and a download
should not depend on timing.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from emapp.build.timeline import Timeline
from emcore import MixtureParams

RESP_DECIMALS = 6
LABEL_COLUMN = "label"
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


def final_export(
    timeline: Timeline,
    data: np.ndarray,
    columns: Sequence[str],
    centre: np.ndarray | None = None,
    scale: np.ndarray | None = None,
    name: str = "em",
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
    )


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


def labels_frame(data: np.ndarray, columns: Sequence[str], resp: np.ndarray) -> pd.DataFrame:
    """The data, the hard label (1..K, the component numbers on screen) and ``resp_1..K``."""
    columns = [str(c) for c in columns]
    frame = pd.DataFrame(np.asarray(data, dtype=float), columns=columns)
    taken = set(columns)
    resp = normalised(resp)
    frame[unique_name(LABEL_COLUMN, taken)] = resp.argmax(axis=1) + 1
    for k in range(resp.shape[1]):
        frame[unique_name(f"resp_{k + 1}", taken)] = np.round(resp[:, k], RESP_DECIMALS)
    return frame


def spreadsheet_safe(name: str) -> str:
    """``name`` with a leading apostrophe if a spreadsheet would read it as a formula (the
    usual defence: the apostrophe shows the rest as text)."""
    return "'" + name if name.startswith(FORMULA_STARTS) else name


def labels_csv(data: np.ndarray, columns: Sequence[str], resp: np.ndarray) -> str:
    """:func:`labels_frame` as CSV text, one row per point, with a header that no
    spreadsheet runs as a formula (the cells are all numbers)."""
    frame = labels_frame(data, columns, resp)
    frame.columns = [spreadsheet_safe(str(c)) for c in frame.columns]
    return frame.to_csv(index=False, lineterminator="\n")


def parameters_dict(fit: FitExport) -> dict:
    """The fitted parameters as plain lists, with what they mean."""
    params = fit.params
    standardised = fit.scale is not None
    result: dict = {
        "covariance_type": params.covariance_type,
        "n_components": params.n_components,
        "columns": list(fit.columns),
        "weights": params.weights.tolist(),
        "means": params.means.tolist(),
        "covariances": np.asarray(params.covariances).tolist(),
        "state": {
            "which": "final",
            "iteration": fit.iteration,
            "converged": bool(fit.converged),
            "log_likelihood": fit.log_likelihood,
        },
        "standardised": standardised,
    }
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
