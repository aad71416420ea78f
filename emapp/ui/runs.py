"""Prepared runs, cached and shared between sessions (Streamlit's ``st.cache_resource``).

Every visitor with the same settings gets the same (read-only) :class:`PreparedRun`, so a
class of 30 students on the default settings costs one computation, and the cache holds at
most :data:`MAX_CACHED_RUNS` runs per function whatever happens. A session keeps only a
reference to the run on its screen and a :class:`~emapp.build.state.ViewState`. The runs
themselves are built by the pure :mod:`emapp.build.prepare`.

An upload's run is the exception: its key mixes in the session's secret
(:func:`~emapp.build.tables.upload_digest`), so no other session could ever reuse it. It is
kept in the session's own state instead (the latest fit and view only), and goes when the
session goes, so memory returns after a class instead of holding 16 dead uploads' runs.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import TypeVar

import numpy as np
import streamlit as st

from emapp.build.blobs import BlobSettings, coordinate_names, make_labelled_blobs
from emapp.build.prepare import PreparedRun, prepare, prepare_table
from emapp.build.tables import UPLOAD_PREFIX, ChosenData
from emapp.build.timeline import ModelSettings, Timeline, compute_timeline
from emapp.build.work import heavy_work

MAX_CACHED_RUNS = 8
UPLOAD_RUNS = "upload_runs"  # session state: {"fit": (key, Timeline), "view": (key, PreparedRun)}

T = TypeVar("T")


@st.cache_resource(max_entries=MAX_CACHED_RUNS, show_spinner="Running EM…")
def blob_run(blob_values: tuple, model_values: tuple) -> PreparedRun:
    """The run for blob data; arguments are the settings as plain tuples (cache keys)."""
    blobs, model = BlobSettings(*blob_values), ModelSettings(*model_values)
    X, truth = make_labelled_blobs(blobs)  # the true clusters too: the page compares with them
    names = coordinate_names(X.shape[1])
    with heavy_work():
        return prepare(("blobs", blob_values, model_values), X, names, model, truth)


@st.cache_resource(max_entries=MAX_CACHED_RUNS, show_spinner="Running EM…")
def fit_table(fit_key: tuple, _X: np.ndarray, model_values: tuple) -> Timeline:
    """The EM run on table data in all its chosen columns, cached by what it depends on
    (:attr:`ChosenData.fit_key`), so changing only the picture does not run EM again."""
    with heavy_work():
        return compute_timeline(_X, ModelSettings(*model_values))


@st.cache_resource(max_entries=MAX_CACHED_RUNS, show_spinner="Drawing…")
def table_view(
    view_key: tuple, _data: ChosenData, _timeline: Timeline, model_values: tuple
) -> PreparedRun:
    """The run for table data as drawn, cached by :attr:`ChosenData.view_key` (the timeline
    is determined by the key and the model, so it is not hashed)."""
    with heavy_work():
        return prepare_table(("table", view_key, model_values), _data, _timeline)


def table_run(data: ChosenData, model_values: tuple) -> PreparedRun:
    """The run for uploaded or built-in table data and the chosen picture.

    Raises
    ------
    ValueError
        With emcore's sentence, e.g. when there are fewer points than components.
    """
    if not data.digest.startswith(UPLOAD_PREFIX):  # built-in data: shared by every session
        timeline = fit_table(data.fit_key, data.fit_X, model_values)
        return table_view(data.view_key, data, timeline, model_values)
    timeline = session_memo(
        "fit", (data.fit_key, model_values), lambda: fit_table_now(data, model_values)
    )
    view_key = (data.view_key, model_values)
    return session_memo("view", view_key, lambda: view_now(data, timeline, model_values))


def fit_table_now(data: ChosenData, model_values: tuple) -> Timeline:
    with st.spinner("Running EM…"), heavy_work():
        return compute_timeline(data.fit_X, ModelSettings(*model_values))


def view_now(data: ChosenData, timeline: Timeline, model_values: tuple) -> PreparedRun:
    with st.spinner("Drawing…"), heavy_work():
        return prepare_table(("table", data.view_key, model_values), data, timeline)


def session_memo(slot: str, key: Hashable, compute: Callable[[], T]) -> T:
    """The value kept in this session's ``slot`` if it was computed for ``key``, else a new one
    (which replaces it: a session shows one upload at a time)."""
    store = st.session_state.setdefault(UPLOAD_RUNS, {})
    kept = store.get(slot)
    if kept is not None and kept[0] == key:
        return kept[1]
    value = compute()
    store[slot] = (key, value)
    return value


# Session state: the last run each table source could make ({source: PreparedRun}), shown
# again when a new file or choice cannot be fitted, so a mistake never loses the fit.
LAST_RUNS = "last_good_runs"


def remember_run(source: str, run: PreparedRun) -> None:
    """Keep ``run`` as ``source``'s last good run (a reference: the run is on screen anyway)."""
    st.session_state.setdefault(LAST_RUNS, {})[source] = run


def last_run(source: str) -> PreparedRun | None:
    """The last run ``source`` could make in this session, or None."""
    return st.session_state.get(LAST_RUNS, {}).get(source)
