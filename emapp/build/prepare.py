"""Prepared runs, pure: data -> EM timeline -> animated figure, parameter table and words.

:func:`prepare` (blobs) and :func:`prepare_table` (uploaded or built-in tables) build a
:class:`PreparedRun`, everything the page shows for one settings tuple. They are uncached:
:mod:`emapp.ui.runs` caches them, shared between sessions.
"""

from __future__ import annotations

import hashlib
from dataclasses import astuple, dataclass
from functools import cached_property

import numpy as np

from emapp.build.blobs import BlobSettings
from emapp.build.covariance_models import short_name
from emapp.build.degenerate import data_warning, with_data_warning
from emapp.build.describe import (
    PROJECTED,
    StateDescription,
    describe_run,
    table_caption,
    table_data,
)
from emapp.build.export import FitExport, final_export
from emapp.build.figures import Layout, PrebuiltFigure, build_figure
from emapp.build.histogram import build_histogram_figure, histogram_table
from emapp.build.projection import (
    Projection,
    column_projection,
    describe_projection,
    pca_projection,
    project_timeline,
)
from emapp.build.tables import ChosenData
from emapp.build.timeline import ModelSettings, Timeline, compute_timeline
from emapp.build.truth import outlined, with_agreement


@dataclass(frozen=True, eq=False)
class PreparedRun:
    """One EM run ready to show: the data, its timeline and the figure with every frame.

    For table data with more than two columns, ``X``, ``feature_names`` and ``timeline`` are
    what the picture shows (the points and parameters projected onto its plane); the fit in
    all columns is in ``export``. For one column they are one-dimensional.

    Attributes added for table data
    -------------------------------
    table : dict or None
        The parameter table for the browser when :func:`emapp.build.describe.table_data` does not
        fit (one column; projected parameters); None means "use table_data".
    caption : str
        What the picture shows, in words ("" when it is plain).
    export : FitExport or None
        The final fit in all columns, for the download buttons.
    truth : ndarray or None
        The true cluster (blobs) or species (iris, penguins) of every point, when known.
    data_warning : str
        What makes the data degenerate for the model, in one sentence ("" when nothing
        does): said first in the notes of every state.
    view : str
        How a table in more than two columns is drawn: ``"columns"`` (two of them, named by
        ``feature_names``) or ``"pca"`` (its PCA plane).
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
    truth: np.ndarray | None = None
    data_warning: str = ""
    view: str = "columns"

    @cached_property
    def descriptions(self) -> tuple[StateDescription, ...]:
        """What the page says about every state of :attr:`timeline`, by index.

        Computed once per run (:func:`prepare` does it while the run is built) and shared
        by every session that shows the run, like the rest of it. With a known truth the
        last state also says how well EM's grouping agrees with it; degenerate data are
        said first in every state.
        """
        described = with_agreement(describe_run(self.timeline), self.timeline, self.truth)
        return with_data_warning(described, self.data_warning)


def described(run: PreparedRun) -> PreparedRun:
    """``run`` with its :attr:`~PreparedRun.descriptions` computed, so no page waits for them."""
    _ = run.descriptions
    return run


def version_of(key: tuple) -> str:
    """A short stable id of the settings, sent to the browser to tell runs apart."""
    return hashlib.sha1(repr(key).encode()).hexdigest()[:12]


def prepare(
    key: tuple,
    X: np.ndarray,
    feature_names: tuple[str, ...],
    model: ModelSettings,
    truth: np.ndarray | None = None,
) -> PreparedRun:
    """Compute the timeline and figure for data ``X`` (uncached: :mod:`emapp.ui.runs` caches it).

    One column (blobs on a line) is drawn as a histogram with the components' curves.

    Raises
    ------
    ValueError
        With emcore's sentence, e.g. when there are fewer points than components.
    """
    version = version_of(key)
    timeline = compute_timeline(X, model)
    export = final_export(timeline, X, feature_names, name="blobs", truth=truth)
    warning = data_warning(X, model.n_components, model.covariance_type, feature_names)
    if X.shape[1] == 1:
        name = feature_names[0]
        spec = build_histogram_figure(X[:, 0], timeline, name)
        spec["layout"]["meta"] = version
        table = histogram_table(timeline, version, name)
        return described(
            PreparedRun(
                key,
                version,
                X,
                (name,),
                timeline,
                PrebuiltFigure(spec),
                table,
                HISTOGRAM_NOTE,
                export,
                truth,
                warning,
            )
        )
    spec = build_figure(X, timeline, feature_names)
    spec["layout"]["meta"] = version  # lets the browser check which run the chart shows
    figure = PrebuiltFigure(spec if truth is None else outlined(spec, truth))
    return described(
        PreparedRun(
            key,
            version,
            X,
            feature_names,
            timeline,
            figure,
            export=export,
            truth=truth,
            data_warning=warning,
        )
    )


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
        timeline,
        data.raw_observed,  # missing cells stay empty in the CSV
        data.full_feature_names,
        data.centre,
        data.scale,
        data.name,
        truth=data.truth,
    )
    notes = [scale_note(data)] if data.standardised else []
    warning = table_warning(data, timeline)
    if len(data.feature_names) == 1:
        notes.insert(0, HISTOGRAM_NOTE)
        name = data.feature_names[0]
        spec = build_histogram_figure(data.X[:, 0], timeline, name)
        spec["layout"]["meta"] = version
        table = histogram_table(timeline, version, name)
        figure = PrebuiltFigure(spec)
        caption = " ".join(notes)
        return described(
            PreparedRun(
                key,
                version,
                data.X,
                (name,),
                timeline,
                figure,
                table,
                caption,
                export,
                data.truth,
                warning,
            )
        )
    projection = projection_for(data)
    points = projection.points(data.X)
    shown = project_timeline(timeline, projection)
    spec = build_figure(points, shown, projection.axis_names)
    spec["layout"]["meta"] = version
    if data.truth is not None:
        spec = outlined(spec, data.truth)  # too thin to see: the toggle shows them
    incomplete = data.incomplete_rows
    if incomplete is not None:
        spec = hollow(spec, incomplete)
        notes.append(missing_note(int(incomplete.sum()), data.view == "pca"))
    table = short_header(table_data(shown, version, projection.axis_names))
    if len(data.feature_names) > 2:
        notes.insert(0, describe_projection(projection, data.feature_names))
        table["covariance_type"] = fitted_type_words(timeline, len(data.feature_names))
        table["caption"] = table_caption(table["covariance_type"], PROJECTED)
    figure = PrebuiltFigure(spec)
    names, caption = projection.axis_names, " ".join(notes)
    return described(
        PreparedRun(
            key,
            version,
            points,
            names,
            shown,
            figure,
            table,
            caption,
            export,
            data.truth,
            warning,
            data.view,
        )
    )


def table_warning(data: ChosenData, timeline: Timeline) -> str:
    """:func:`~emapp.build.degenerate.data_warning` for the columns EM fitted, in the file's
    units (standardising changes no point's distinctness), for the run's model."""
    params = timeline.states[0].params
    return data_warning(
        data.raw_observed, params.n_components, params.covariance_type, data.feature_names
    )


def short_header(table: dict) -> dict:
    """Column names can be long: "Cov" alone (it sits between the two variances) keeps the
    table inside its half of the page."""
    header = list(table["header"])
    if len(header) == 7 and header[5].startswith("Cov"):
        header[5] = "Cov"
    return {**table, "header": header}


# Points with a missing cell in the fitted columns are drawn with this (open) symbol.
MISSING_SYMBOL = "circle-open"


def hollow(spec: dict, incomplete: np.ndarray) -> dict:
    """The chart's figure with the points in ``incomplete`` drawn as hollow circles.

    Only the points trace's base styling changes (a shallow copy, like
    :func:`emapp.build.truth.outlined`); Plotly draws an open symbol's ring in the point's
    colour, at least 1 px wide.
    """
    data = list(spec["data"])
    points = dict(data[Layout.points()])
    marker = dict(points.get("marker", {}))
    marker["symbol"] = np.where(incomplete, MISSING_SYMBOL, "circle").tolist()
    points["marker"] = marker
    data[Layout.points()] = points
    return {**spec, "data": data}


def missing_note(n_rows: int, pca: bool) -> str:
    """The caption's sentence about the hollow points."""
    rows = "1 point has" if n_rows == 1 else f"{n_rows:,} points have"
    where = "projected" if pca else "drawn"
    return (
        f"Hollow circles: {rows} a missing value in the fitted columns. EM fits them on their "
        f"observed columns; the picture and the teaching tabs put each missing value at its "
        f"column's mean, so they are {where} there."
    )


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
    label = short_name(kind)
    return f"{label}, fitted in {n_columns} columns and shown here projected onto the picture"


def settings_tuple(settings: BlobSettings | ModelSettings) -> tuple:
    return astuple(settings)
