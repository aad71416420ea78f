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
from emapp.figures import PrebuiltFigure, build_figure
from emapp.timeline import ModelSettings, Timeline, compute_timeline

MAX_CACHED_RUNS = 8


@dataclass(frozen=True, eq=False)
class PreparedRun:
    """One EM run ready to show: the data, its timeline and the figure with every frame."""

    key: tuple
    version: str
    X: np.ndarray
    feature_names: tuple[str, str]
    timeline: Timeline
    figure: PrebuiltFigure


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
    return PreparedRun(key, version, X, feature_names, timeline, PrebuiltFigure(spec))


@st.cache_resource(max_entries=MAX_CACHED_RUNS, show_spinner="Running EM…")
def blob_run(blob_values: tuple, model_values: tuple) -> PreparedRun:
    """The run for blob data; arguments are the settings as plain tuples (cache keys)."""
    blobs, model = BlobSettings(*blob_values), ModelSettings(*model_values)
    return prepare(("blobs", blob_values, model_values), make_blobs(blobs), ("x₁", "x₂"), model)


@st.cache_resource(max_entries=MAX_CACHED_RUNS, show_spinner="Running EM…")
def table_run(
    digest: str, _X: np.ndarray, feature_names: tuple[str, str], model_values: tuple
) -> PreparedRun:
    """The run for uploaded data, cached by the file's digest (the array is not hashed)."""
    key = ("table", digest, feature_names, model_values)
    return prepare(key, _X, feature_names, ModelSettings(*model_values))


def settings_tuple(settings: BlobSettings | ModelSettings) -> tuple:
    return astuple(settings)
