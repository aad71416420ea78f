"""Prepared runs: data -> EM timeline -> animated figure, cached and shared between sessions.

Every visitor with the same settings gets the same (read-only) objects, so a class of 30
students on the default settings costs one computation, and the cache holds at most
:data:`MAX_CACHED_RUNS` runs whatever happens. A session keeps only a reference to the run on
its screen and a :class:`~emapp.state.ViewState`.
"""

from __future__ import annotations

import hashlib
from dataclasses import astuple, dataclass

import numpy as np
import streamlit as st

from emapp.blobs import BlobSettings, make_blobs
from emapp.describe import PROJECTED, table_caption
from emapp.export import FitExport, final_export
from emapp.figures import PrebuiltFigure, build_figure
from emapp.histogram import build_histogram_figure, histogram_table
from emapp.player import table_data
from emapp.projection import (
    Projection,
    column_projection,
    describe_projection,
    pca_projection,
    project_timeline,
)
from emapp.timeline import COVARIANCE_LABELS, ModelSettings, Timeline, compute_timeline
from emapp.upload import ChosenData
from emapp.work import heavy_work

MAX_CACHED_RUNS = 8


@dataclass(frozen=True, eq=False)
class PreparedRun:
    """One EM run ready to show: the data, its timeline and the figure with every frame.

    For table data with more than two columns, ``X``, ``feature_names`` and ``timeline`` are
    what the picture shows (the points and parameters projected onto its plane); the fit in
    all columns is in ``export``. For one column they are one-dimensional.

    Attributes added for table data
    -------------------------------
    table : dict or None
        The parameter table for the browser when :func:`emapp.player.table_data` does not
        fit (one column; projected parameters); None means "use table_data".
    caption : str
        What the picture shows, in words ("" when it is plain).
    export : FitExport or None
        The final fit in all columns, for the download buttons.
    """

    key: tuple
    version: str
    X: np.ndarray
    feature_names: tuple[str, ...]
    timeline: Timeline
    figure: PrebuiltFigure
    table: dict | None = None
    caption: str = ""
    export: FitExport | None = None


def version_of(key: tuple) -> str:
    """A short stable id of the settings, sent to the browser to tell runs apart."""
    return hashlib.sha1(repr(key).encode()).hexdigest()[:12]


def prepare(
    key: tuple, X: np.ndarray, feature_names: tuple[str, str], model: ModelSettings
) -> PreparedRun:
    """Compute the timeline and figure for data ``X`` (uncached; see the wrappers below).

    Raises
    ------
    ValueError
        With emcore's sentence, e.g. when there are fewer points than components.
    """
    version = version_of(key)
    timeline = compute_timeline(X, model)
    spec = build_figure(X, timeline, feature_names)
    spec["layout"]["meta"] = version  # lets the browser check which run the chart shows
    export = final_export(timeline, X, feature_names, name="blobs")
    return PreparedRun(
        key, version, X, feature_names, timeline, PrebuiltFigure(spec), export=export
    )


@st.cache_resource(max_entries=MAX_CACHED_RUNS, show_spinner="Running EM…")
def blob_run(blob_values: tuple, model_values: tuple) -> PreparedRun:
    """The run for blob data; arguments are the settings as plain tuples (cache keys)."""
    blobs, model = BlobSettings(*blob_values), ModelSettings(*model_values)
    with heavy_work():
        return prepare(("blobs", blob_values, model_values), make_blobs(blobs), ("x₁", "x₂"), model)


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
    timeline = fit_table(data.fit_key, data.X, model_values)
    return table_view(data.view_key, data, timeline, model_values)


def projection_for(data: ChosenData) -> Projection:
    if data.view == "pca":
        return pca_projection(data.X)
    axes = data.axes or (data.feature_names[0], data.feature_names[1])
    return column_projection(data.feature_names, *axes)


def prepare_table(key: tuple, data: ChosenData, timeline: Timeline) -> PreparedRun:
    """Figure, parameter table, caption and export for table data (uncached)."""
    version = version_of(key)
    # The page shows short names; the files keep the names the upload had.
    export = final_export(
        timeline, data.raw, data.full_feature_names, data.centre, data.scale, data.name
    )
    notes = [scale_note(data)] if data.standardised else []
    if len(data.feature_names) == 1:
        notes.insert(0, HISTOGRAM_NOTE)
        name = data.feature_names[0]
        spec = build_histogram_figure(data.X[:, 0], timeline, name)
        spec["layout"]["meta"] = version
        table = histogram_table(timeline, version, name)
        figure = PrebuiltFigure(spec)
        return PreparedRun(
            key, version, data.X, (name,), timeline, figure, table, " ".join(notes), export
        )
    projection = projection_for(data)
    points = projection.points(data.X)
    shown = project_timeline(timeline, projection)
    spec = build_figure(points, shown, projection.axis_names)
    spec["layout"]["meta"] = version
    table = short_header(table_data(shown, version, projection.axis_names))
    if len(data.feature_names) > 2:
        notes.insert(0, describe_projection(projection, data.feature_names))
        table["covariance_type"] = fitted_type_words(timeline, len(data.feature_names))
        table["caption"] = table_caption(table["covariance_type"], PROJECTED)
    figure = PrebuiltFigure(spec)
    return PreparedRun(
        key, version, points, projection.axis_names, shown, figure, table, " ".join(notes), export
    )


def short_header(table: dict) -> dict:
    """Column names can be long: "Cov" alone (it sits between the two variances) keeps the
    table inside its half of the page."""
    header = list(table["header"])
    if len(header) == 7 and header[5].startswith("Cov"):
        header[5] = "Cov"
    return {**table, "header": header}


HISTOGRAM_NOTE = (
    "One column: the grey histogram is the data, scaled so its area is 1; each coloured curve "
    "is a component's weighted density π_k N(x | μ_k, σ_k²), and the dashed curve, their sum, "
    "is the mixture's density."
)


def scale_note(data: ChosenData) -> str:
    return (
        "The columns were standardised (mean 0, standard deviation 1): the axes and the "
        "parameters are in standard deviations of each column."
    )


def fitted_type_words(timeline: Timeline, n_columns: int) -> str:
    """The table's covariance type for a projected run: the model's, said to be projected."""
    kind = timeline.states[0].params.covariance_type
    label = COVARIANCE_LABELS.get(kind, kind).split(":")[0]
    return f"{label}, fitted in {n_columns} columns and shown here projected onto the picture"


def settings_tuple(settings: BlobSettings | ModelSettings) -> tuple:
    return astuple(settings)
