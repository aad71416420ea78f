"""EM for Gaussian mixtures, one step at a time: the Streamlit teaching page.

Layout only; the work is in :mod:`emapp`. The EM run for the current settings is computed
once (to convergence, capped) and drawn as one Plotly figure with a frame per half-step.
The stepping panel above the chart is a fragment: its buttons move a cursor, and the
browser moves the chart, the status line and the table to match (see :mod:`emapp.ui.player`).

A session's first run draws the chart first: header, stepping panel and chart only, with the
default settings. Once the chart is drawn the browser asks for the rest of the page.
"""

from __future__ import annotations

import streamlit as st

from emapp.build.describe import table_data
from emapp.build.names import markdown_literal
from emapp.build.prepare import PreparedRun, settings_tuple
from emapp.build.tables import in_column_names
from emapp.ui.controls import stepping_panel
from emapp.ui.downloads import download_buttons
from emapp.ui.links import open_link, sync_link
from emapp.ui.page import explanation, page_header
from emapp.ui.placing import placing_page
from emapp.ui.player import CHART_KEY, render_table
from emapp.ui.runs import blob_run, last_run, remember_run, table_run
from emapp.ui.session import chart_first, current_view, with_reseeds
from emapp.ui.sidebar import Settings, default_settings, sidebar, sidebar_placeholder
from emapp.ui.teaching import presets_panel, teaching_tabs

STAGE_KEY = "em-stage"
CHART_CONFIG = {"displaylogo": False, "modeBarButtonsToRemove": ["select2d", "lasso2d"]}


def load_run(settings: Settings) -> PreparedRun | None:
    """The prepared run for the sidebar's settings, or None after saying why not."""
    model = settings_tuple(settings.model)
    if settings.source == "Blobs":
        try:
            return blob_run(settings_tuple(settings.blobs), model)
        except ValueError as error:  # emcore explains bad settings in one sentence
            st.error(markdown_literal(str(error)))
            return None
    if settings.problem is not None:  # the sidebar found the chosen columns unusable
        return kept_run(settings.source, settings.problem)
    if settings.table is None:
        st.info("Upload a CSV file in the sidebar to run EM on your own data.")
        return None
    try:
        run = table_run(settings.table, model)
    except ValueError as error:  # e.g. fewer rows than components; may cite X's columns
        return kept_run(settings.source, in_column_names(str(error), settings.table.feature_names))
    remember_run(settings.source, run)
    return run


def kept_run(source: str, sentence: str) -> PreparedRun | None:
    """Say why the table cannot be fitted (in its column names), and go on showing the last
    fit this source could make, so a bad file or choice never loses the student's work."""
    run = last_run(source)
    kept = " The page goes on showing the last fit it could make." if run is not None else ""
    st.error(markdown_literal(sentence + kept))  # it may name an uploaded column
    return run


def chosen_settings(first: bool) -> Settings:
    """The sidebar's settings, or the defaults (and a placeholder) on a chart-first run."""
    if first:
        sidebar_placeholder()
        return default_settings()
    with st.sidebar:
        presets_panel()  # scenarios on top: their callbacks set the widgets below
    return with_reseeds(sidebar())


def below_chart(run: PreparedRun) -> None:
    """The parameter table, downloads, explanation and teaching tabs."""
    # A small gap (the expander has its own border): at 1024x768 the large one left the
    # E-step's formula in the right column 11 px too narrow.
    left, right = st.columns([3, 2], gap="small")
    with left:
        render_table(run.table or table_data(run.timeline, run.version, run.feature_names))
        if run.export is not None:
            download_buttons(run.export)
    with right:
        explanation()
    teaching_tabs(run)  # worked example, choosing K, k-means vs EM, density


def main() -> None:
    st.set_page_config(
        page_title="EM, one step at a time",
        page_icon="🎯",
        layout="wide",
        initial_sidebar_state="auto",  # open on a wide screen, closed on a phone
    )
    first = chart_first(allowed=not open_link())  # a shared link draws the whole page
    # The first screen: title, stepping panel and chart, one screen high once it holds the
    # chart (see PAGE_CSS), the chart taking whatever height the rest leaves.
    with st.container(key=STAGE_KEY, gap="xsmall"):
        run = first_screen(first)
    if run is not None and not first:
        below_chart(run)


def first_screen(first: bool) -> PreparedRun | None:
    """The title, the stepping panel and the chart (the sidebar is drawn on the way)."""
    page_header()
    settings = chosen_settings(first)
    if not first:
        sync_link(settings)  # the URL is always a link to the settings on screen
    if placing_page(settings):  # the start is still being clicked onto the chart
        return None
    run = load_run(settings)
    if run is None:
        if first:  # the defaults always run; should they not, draw the page that says why
            st.rerun()
        explanation()
        return None
    current_view(run)  # a clean reset when the settings changed
    stepping_panel(run, settings.speed)
    st.plotly_chart(run.figure, key=CHART_KEY, theme=None, config=CHART_CONFIG, height="stretch")
    if run.caption:  # plain text that may hold column names from an upload
        st.caption(markdown_literal(run.caption))
    return run


main()
