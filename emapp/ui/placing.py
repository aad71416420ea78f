"""Placing the start by clicking (Streamlit): the sidebar's part and the page while placing.

With the initialisation "click to place the means" (:data:`emapp.build.timeline.CLICK_INIT`):

- :func:`placed_model` (in the sidebar, after the model's widgets) gives the model the means
  placed so far, in the units EM runs in, and offers to clear them;
- while fewer than K are placed, :func:`placing_panel` shows the data alone and the placer
  component, which turns every click on the chart into the next mean
  (``placeMeans`` in ``player.js``); once all K are placed the page runs EM from them.

The clicks are kept per data (blob settings, or table and fitted columns) in the file's
units, so switching standardisation keeps them where they were on the data. Pure parts
are in :mod:`emapp.build.placing`.
"""

from __future__ import annotations

from dataclasses import astuple, replace

import numpy as np
import streamlit as st

from emapp.build.blobs import BlobSettings, coordinate_names, make_blobs
from emapp.build.colors import component_hex, mean_symbols
from emapp.build.figures import PrebuiltFigure
from emapp.build.names import markdown_literal
from emapp.build.placing import (
    MEANS_TRACE,
    clicked_points,
    placing_figure,
    placing_status,
    to_em_units,
    to_file_units,
)
from emapp.build.prepare import version_of
from emapp.build.tables import ChosenData
from emapp.build.timeline import CLICK_INIT, ModelSettings
from emapp.ui.player import PLACE_CHART_KEY, placed_report, render_placer

PLACED = "placed_means"  # {"for": data key, "points": [...] in the file's units, "cleared": n}
CLEAR_KEY = "clear_placed_means"
CHART_CONFIG = {"displaylogo": False, "displayModeBar": False}


def data_key(blobs: BlobSettings, table: ChosenData | None) -> tuple:
    """What the placed means belong to: the blob settings, or the table and its columns."""
    if table is None:
        return ("blobs", astuple(blobs))
    return ("table", table.digest, table.feature_names)


def placeable(table: ChosenData | None) -> bool:
    """Means can be clicked on a picture of every fitted column: one or two columns."""
    return table is None or len(table.feature_names) <= 2


def stored(key: tuple) -> dict:
    """The placed means for the data ``key`` (a fresh, empty record for other data)."""
    record = st.session_state.get(PLACED)
    if record is None or record.get("for") != key:
        cleared = record.get("cleared", 0) if record is not None else 0
        record = {"for": key, "points": [], "cleared": cleared}
        st.session_state[PLACED] = record
    return record


def clear_placed() -> None:
    """The Clear button's callback: start placing again."""
    record = st.session_state.get(PLACED)
    if record is not None:
        record["points"] = []
        record["cleared"] = record.get("cleared", 0) + 1


def units_of(table: ChosenData | None) -> tuple[np.ndarray | None, np.ndarray | None]:
    if table is None or not table.standardised:
        return None, None
    return table.centre, table.scale


def placed_model(model: ModelSettings, blobs: BlobSettings, table: ChosenData | None):
    """``model`` with the means placed so far (in EM's units), and the sidebar's words."""
    if model.init != CLICK_INIT:
        return model
    if not placeable(table):
        st.caption(
            "Clicking the means works on a picture of one or two fitted columns: choose "
            "at most two columns above. Until then EM starts from k-means++."
        )
        return replace(model, init="k-means++")
    record = stored(data_key(blobs, table))
    centre, scale = units_of(table)
    means = to_em_units(record["points"][: model.n_components], centre, scale)
    n_placed = len(means)
    if n_placed < model.n_components:
        st.caption(placing_status(n_placed, model.n_components))
    else:
        st.caption(f"EM starts from the {n_placed} means you placed.")
    if n_placed:
        st.button("Place the means again", key=CLEAR_KEY, on_click=clear_placed)
    return replace(model, means=means)


def placer_token(key: tuple, table: ChosenData | None, n_components: int) -> str:
    """Changes when the chart's units, K or a Clear make the browser's clicks stale."""
    record = st.session_state.get(PLACED) or {}
    standardised = table is not None and table.standardised
    return version_of((key, standardised, n_components, record.get("cleared", 0)))


def take_clicks(key: tuple, table: ChosenData | None, n_components: int, dims: int) -> None:
    """The placer's callback: keep the browser's clicks (in the file's units)."""
    report = placed_report()
    if report is None or report.get("token") != placer_token(key, table, n_components):
        return  # clicks on a chart of other data, units or K
    points = clicked_points(report.get("points"), dims, n_components)
    if points is None:
        return
    centre, scale = units_of(table)
    stored(key)["points"] = [to_file_units(p, centre, scale) for p in points]


def placing_data(blobs: BlobSettings, table: ChosenData | None) -> tuple[np.ndarray, tuple]:
    """The data as the chart shows it (EM's units) and the axes' names."""
    if table is not None:
        return table.X, table.feature_names
    X = make_blobs(blobs)
    return X, coordinate_names(X.shape[1])


def placing_panel(model: ModelSettings, blobs: BlobSettings, table: ChosenData | None) -> None:
    """The page while the means are placed: what is left to place, and the data to click on."""
    key = data_key(blobs, table)
    X, names = placing_data(blobs, table)
    dims = X.shape[1]
    n_components = model.n_components
    statuses = [placing_status(n, n_components) for n in range(n_components + 1)]
    data = {
        "role": "placer",
        "chart": PLACE_CHART_KEY,
        "token": placer_token(key, table, n_components),
        "placed": [list(point) for point in model.means],
        "n_components": n_components,
        "dimensions": dims,
        "statuses": statuses,
        "colours": [component_hex(k) for k in range(n_components)],
        "symbols": mean_symbols(n_components),
        "means_trace": MEANS_TRACE,
    }
    render_placer(data, lambda: take_clicks(key, table, n_components, dims))
    figure = PrebuiltFigure(placing_figure(X, model.means, names))  # built to Plotly's schema
    st.plotly_chart(figure, key=PLACE_CHART_KEY, theme=None, config=CHART_CONFIG)
    st.caption(
        markdown_literal(
            "EM will start from your means, with equal weights and the whole data's "
            "covariance for every component."
        )
    )


def placing_page(settings) -> bool:
    """Draw the placing page if the sidebar's settings are still placing the means; whether
    it did (the page has nothing else to show then)."""
    model, table = settings.model, settings.table
    if not model.placing or (settings.source != "Blobs" and table is None):
        return False
    placing_panel(model, settings.blobs, table)
    return True


__all__ = ["placed_model", "placing_page", "placing_panel"]
