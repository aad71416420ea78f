"""Streamlit panels for choosing K and for teaching in depth (issue 6).

- :func:`presets_panel`: one-click teaching scenarios (call it inside the sidebar).
- :func:`model_selection_panel`: BIC/AIC against K on demand, and "Use this model".
- :func:`worked_example_panel`: the E- and M-step with the numbers of one point.
- :func:`kmeans_panel`: k-means (hard) beside EM (soft).
- :func:`density_panel`: the mixture's density under the points.

The computations are in the pure modules :mod:`emapp.build.presets`,
:mod:`emapp.build.selection_view`, :mod:`emapp.build.worked`, :mod:`emapp.build.kmeans_view` and
:mod:`emapp.build.density`; this module only lays them out. Buttons that change the sidebar
are callbacks, which run before the sidebar's widgets are drawn: the only moment Streamlit
lets their values be set.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from emapp.build.colors import component_hex
from emapp.build.covariance_models import model_words, short_name
from emapp.build.density import DENSITY_FORMULA, density_figure
from emapp.build.kmeans_view import Comparison, compare, comparison_figure, difference_sentence
from emapp.build.names import markdown_literal
from emapp.build.prepare import PreparedRun
from emapp.build.presets import PRESET_NAMES, is_applied, preset_by_name, session_values
from emapp.build.projection import not_drawn_sentence
from emapp.build.selection_view import (
    CRITERIA,
    DEFAULT_KMAX,
    FITS_DECIMALS,
    KMAX_LIMIT,
    MODELS,
    N_INIT,
    SelectionResult,
    best_row,
    best_sentence,
    compare_models,
    data_digest,
    fits_table,
    selection_figure,
)
from emapp.build.text import E_STEP_FORMULA, M_STEP_FORMULA
from emapp.build.work import heavy_work
from emapp.build.worked import (
    DENSITY,
    LOG_DENSITY,
    LOG_WEIGHTED,
    RESPONSIBILITY,
    WEIGHT,
    WEIGHTED,
    WorkedExample,
    component_table,
    log_space_latex,
    mean_latex,
    n_k_latex,
    point_e_step,
    point_figure,
    point_latex,
    responsibility_latex,
    sum_to_one_latex,
    worked_example,
)
from emapp.ui.follow import DENSITY_SOURCE_KEY, TABS_KEY, mark_drawn

PRESET_KEY = "teaching_preset"
KMAX_KEY = "selection_kmax"
REQUEST_KEY = "selection_request"
CRITERION_KEY = "selection_criterion"
POINT_KEY = "worked_point"
DENSITY_LOG_KEY = "density_log"
DENSITY_POINTS_KEY = "density_points"
DENSITY_SOURCES = {"end": "the fitted mixture (end of the run)", "chart": "the state on the chart"}
CHART_CONFIG = {"displaylogo": False, "modeBarButtonsToRemove": ["select2d", "lasso2d"]}
# Streamlit's tables use small type; these numbers are read from the back of a classroom.
TABLE_CSS = """
<style>
[data-testid="stTable"] td, [data-testid="stTable"] th { font-size: 1.1rem !important; }
</style>
"""
VIEW_KEY = "em_view"  # the cursor's ViewState, kept by emapp.ui.session
# Cached results per server; small, so a class on the same data shares them.
MAX_CACHED = 16


# -- scenarios --------------------------------------------------------------------------------


def apply_preset() -> None:
    """Scenario callback: write every sidebar key of the chosen scenario."""
    name = st.session_state.get(PRESET_KEY)
    if name is not None:
        st.session_state.update(session_values(preset_by_name(name)))


def presets_panel() -> None:
    """One-click teaching scenarios and the lesson of the one on screen (in the sidebar)."""
    st.header("Scenarios")
    name = st.pills(
        "Pick a scenario: it sets the data and the model below",
        PRESET_NAMES,
        key=PRESET_KEY,
        on_change=apply_preset,
    )
    if name is None:
        return
    preset = preset_by_name(name)
    if is_applied(preset, st.session_state):
        st.info(f"**{preset.name}.** {preset.lesson}")
    else:
        st.caption(f"You changed a setting since choosing “{name}”: click it again to restore it.")


# -- choosing K -------------------------------------------------------------------------------


@st.cache_data(max_entries=MAX_CACHED, show_spinner=False)
def cached_comparison(digest: str, kmax: int, n_init: int, _X: np.ndarray) -> SelectionResult:
    """The model comparison for the data with fingerprint ``digest`` (the array is not hashed).

    The progress bar is made in here because Streamlit replays a cached function's elements
    on a cache hit and refuses ones drawn into blocks made outside; emptied at the end, it
    replays as nothing.
    """
    bar = st.progress(0.0, text="Fitting the models…")

    def report(done: int, total: int, label: str) -> None:
        bar.progress(done / total, text=f"Fitting {label} ({done} of {total})")

    try:
        with heavy_work():
            return compare_models(_X, kmax, n_init, report)
    finally:
        bar.empty()


def request_comparison(digest: str) -> None:
    """ "Compare models" callback: remember which data and K range were asked for."""
    st.session_state[REQUEST_KEY] = (digest, int(st.session_state.get(KMAX_KEY, DEFAULT_KMAX)))


def use_model(covariance_type: str, n_components: int) -> None:
    """ "Use this model" callback: set the sidebar's model before its widgets are drawn."""
    st.session_state["n_components"] = int(n_components)
    st.session_state["covariance_type"] = covariance_type


def fitted_data(run: PreparedRun) -> np.ndarray:
    """The data EM ran on. For a table with more than two columns ``run.X`` is only the
    picture's projection; the export keeps the fitted columns (before standardising)."""
    export = getattr(run, "export", None)
    if export is None:
        return run.X
    data = np.asarray(export.data, dtype=float)
    if export.centre is not None:
        data = (data - export.centre) / export.scale
    return data


def is_projection(run: PreparedRun) -> bool:
    """Whether the chart shows a projection of a fit in more than two columns."""
    return fitted_data(run).shape[1] > 2


def projection_note(run: PreparedRun, what: str) -> None:
    """Why a tab does not show ``what`` for a fit in more than two columns."""
    columns = fitted_data(run).shape[1]
    sentence = not_drawn_sentence(what, columns, run.view, run.feature_names)
    st.info(markdown_literal(sentence))  # it may name uploaded columns


def current_model(run: PreparedRun) -> tuple[str, int]:
    """The sidebar's model: the fit's own, not its picture's (a projection onto two columns
    may turn, say, VEV into full)."""
    export = getattr(run, "export", None)
    params = export.params if export is not None else run.timeline.states[0].params
    return params.covariance_type, params.n_components


def model_selection_panel(run: PreparedRun) -> None:
    """BIC (or AIC) against K for every covariance type, computed when asked for."""
    st.markdown(
        "More components always fit the points better (higher likelihood), so the likelihood "
        "alone would always pick the largest K. **BIC** and **AIC** add a penalty for every "
        "parameter; the model with the **lowest** value is the best trade-off."
    )
    X = fitted_data(run)
    digest = data_digest(X)
    left, right = st.columns([3, 1], vertical_alignment="bottom")
    left.slider("Largest K to try", 2, KMAX_LIMIT, DEFAULT_KMAX, key=KMAX_KEY)
    right.button(
        "Compare models",
        type="primary",
        on_click=request_comparison,
        args=(digest,),
        width="stretch",
    )
    request = st.session_state.get(REQUEST_KEY)
    if request is None or request[0] != digest:
        # The button's words are here, not in a tooltip (see emapp/ui/controls.py, BUTTONS).
        st.caption(
            f"Press **Compare models** to fit K = 1 … the largest K for all {len(MODELS)} "
            "covariance models on these data, each from mclust's hierarchical start "
            "(computed once), on all the columns EM ran on."
        )
        return
    result = cached_comparison(digest, request[1], N_INIT, X)
    show_comparison(result, current_model(run))


def show_comparison(result: SelectionResult, current: tuple[str, int]) -> None:
    """The chart, the best model with its button, and the table behind them."""
    criterion = st.segmented_control(
        "Criterion",
        list(CRITERIA),
        default="bic",
        required=True,
        format_func=CRITERIA.get,
        key=CRITERION_KEY,
    )
    criterion = criterion or "bic"
    table = result.table
    st.plotly_chart(selection_figure(table, criterion, current), theme=None, config=CHART_CONFIG)
    st.caption(
        "One panel per orientation: circles, ellipses along the axes, one orientation shared "
        "by all components, each its own. In every panel the colour says what else the "
        "components share (the key is under the chart). The star is the lowest; ★ marks its "
        "letters above its panel. Hover a point for its model."
    )
    best = best_row(table, criterion)
    st.markdown(best_sentence(table, criterion))
    if best is not None:
        use_model_button(str(best["covariance_type"]), int(best["n_components"]), current)
    with st.expander("All fits"):
        # One decimal everywhere (-4175.0, not -4175 beside -4208.8).
        decimals = st.column_config.NumberColumn(format="%.1f")
        st.dataframe(
            fits_table(table),
            hide_index=True,
            column_config={name: decimals for name in FITS_DECIMALS},
        )


def use_model_button(covariance_type: str, k: int, current: tuple[str, int]) -> None:
    if (covariance_type, k) == current:
        st.success("The sidebar already uses this model.")
        return
    st.button(
        f"Use this model: {short_name(covariance_type)}, K = {k}",
        type="primary",
        on_click=use_model,
        args=(covariance_type, k),
    )
    # Under the button, not in a tooltip (see emapp/ui/controls.py, BUTTONS).
    st.caption(
        f"Sets Components K and Covariance type in the sidebar: {short_name(covariance_type)} "
        f"is {model_words(covariance_type)}."
    )


# -- the worked example -----------------------------------------------------------------------


def live_cursor(run: PreparedRun, cursor: int | None) -> int:
    """The state on the chart now: the stepping panel moves it without rerunning the page."""
    view = st.session_state.get(VIEW_KEY)
    if view is not None and getattr(view, "settings_key", None) == run.key:
        return int(view.cursor)
    return int(cursor or 0)


@st.fragment
def worked_example_panel(run: PreparedRun, cursor: int | None = None) -> None:
    """The E- and M-step formulas with the numbers of one point at the state on the chart.

    A fragment: its controls rerun only this panel. It follows the chart without a button:
    while it is open, the stepping panel reruns the page when the chart moves
    (:mod:`emapp.ui.follow`).
    """
    if is_projection(run):
        projection_note(run, "a worked example on the picture")
        return
    index = live_cursor(run, cursor)
    point, k = worked_controls(run, index)
    example = worked_example(run.X, run.timeline, index, point, k)
    left, right = st.columns([3, 2], gap="large")
    with left:
        show_e_step(example)
    if run.X.shape[1] == 2:
        with right:
            params = run.timeline.states[index].params
            figure = point_figure(run.X, params, point, run.feature_names)
            st.plotly_chart(figure, theme=None, config=CHART_CONFIG, key="worked_point_chart")
    # The table at full width: beside the map its last column, the responsibility, was cut
    # off at 1280 pixels and more at 1024.
    show_component_table(example)
    show_responsibility(example, k)
    show_m_step(example, run)


def worked_controls(run: PreparedRun, index: int) -> tuple[int, int]:
    """The heading and the point and component pickers; returns 0-based (point, component)."""
    top = st.columns([3, 1, 1.3], vertical_alignment="bottom")
    top[0].markdown(f"#### Numbers at: {run.descriptions[index].label}")
    number = top[1].number_input("Point #", 1, len(run.X), 1, step=1, key=POINT_KEY)
    point = int(number) - 1
    params = run.timeline.states[index].params
    most_responsible = int(np.argmax(point_e_step(run.X, params, point).resp))
    k = top[2].selectbox(
        "Component (M-step)",
        range(params.n_components),
        index=most_responsible,
        format_func=lambda j: f"Component {j + 1}",
        # A new point starts again on its most responsible component.
        key=f"worked_component_{run.version}_{point}",
        help="Starts on the component most responsible for the point.",
    )
    return point, int(k)


def show_e_step(example: WorkedExample) -> None:
    numbers = example.e_step
    st.markdown(f"##### E-step: which component explains point {numbers.point + 1}?")
    st.latex(E_STEP_FORMULA)
    st.latex(point_latex(numbers))


def show_component_table(example: WorkedExample) -> None:
    st.html(TABLE_CSS)
    st.table(styled_components(component_table(example.e_step)))


def show_responsibility(example: WorkedExample, k: int) -> None:
    numbers = example.e_step
    st.latex(responsibility_latex(numbers, k))
    st.latex(log_space_latex(numbers, k))
    st.caption(
        "EM works with logarithms: far from a component the density can be smaller than the "
        "smallest number a computer stores, but its log is an ordinary number."
    )
    st.latex(sum_to_one_latex(numbers))


def show_m_step(example: WorkedExample, run: PreparedRun) -> None:
    update = example.mean
    st.markdown(f"##### M-step: the new mean of component {update.component + 1}")
    st.latex(M_STEP_FORMULA)
    st.latex(n_k_latex(update))
    st.latex(mean_latex(update, example.e_step.point))
    if example.timeline_mean is None:
        st.info(
            "This is the run's last state, so the chart has no next M-step: one more would put "
            f"the mean at {format_vector(update.mean)}."
        )
        return
    state = run.descriptions[example.m_index].label
    verdict = (
        "the same numbers"
        if np.allclose(example.timeline_mean, update.mean, rtol=1e-9, atol=1e-12)
        else f"not the {format_vector(update.mean)} computed here"
    )
    st.success(
        f"The engine's M-step ({state}) moved component {update.component + 1}'s mean to "
        f"{format_vector(example.timeline_mean)}: {verdict}."
    )


def format_vector(values: np.ndarray) -> str:
    return "(" + ", ".join(f"{v:.4g}" for v in values) + ")"


def styled_components(table: pd.DataFrame):
    """The per-component numbers, each row tinted with its component's colour."""

    def row_colour(row: pd.Series) -> list[str]:
        colour = component_hex(int(row["component"]) - 1)
        return [f"border-left: 6px solid {colour}" if c == "component" else "" for c in row.index]

    return (
        table.style.apply(row_colour, axis=1)
        .format(
            {
                WEIGHT: "{:.4f}",
                DENSITY: "{:.4g}",
                LOG_DENSITY: "{:.3f}",
                WEIGHTED: "{:.4g}",
                LOG_WEIGHTED: "{:.3f}",
                RESPONSIBILITY: "{:.4f}",
            }
        )
        .hide(axis="index")
    )


# -- k-means ----------------------------------------------------------------------------------


@st.cache_resource(max_entries=MAX_CACHED, show_spinner=False)
def cached_kmeans(version: str, _run: PreparedRun) -> tuple[Comparison, object | None]:
    """k-means from the run's starting means, and the figure, once per run."""
    start = _run.timeline.states[0].params.means
    comparison = compare(_run.X, start, _run.timeline.states[-1].params)
    if _run.X.shape[1] != 2:
        return comparison, None
    return comparison, comparison_figure(_run.X, comparison, _run.feature_names)


def kmeans_panel(run: PreparedRun) -> None:
    """k-means (EM's hard limit) beside EM's final state, and where they differ."""
    st.markdown(
        "**k-means is EM with hard assignments:** each point goes to its nearest mean "
        "(responsibility 1 or 0) and each mean moves to the plain average of its points. "
        "Both start here from the same means."
    )
    if is_projection(run):
        projection_note(run, "k-means on the picture")
        return
    comparison, figure = cached_kmeans(run.version, run)
    metrics = st.columns(3)
    metrics[0].metric("Points labelled differently", f"{comparison.share_differ:.1%}")
    metrics[1].metric("k-means iterations", comparison.kmeans.n_iter)
    metrics[2].metric("EM iterations", run.timeline.n_iterations)
    st.info(difference_sentence(comparison))
    if figure is not None:
        st.plotly_chart(figure, theme=None, config=CHART_CONFIG, key="kmeans_chart")


# -- the density ------------------------------------------------------------------------------


@st.cache_resource(max_entries=MAX_CACHED, show_spinner=False)
def cached_density(
    version: str, index: int, log_scale: bool, show_points: bool, _run: PreparedRun
) -> object:
    """The density figure of state ``index`` of the run with id ``version``."""
    params = _run.timeline.states[index].params
    resp = _run.timeline.responsibilities(index)
    return density_figure(_run.X, params, _run.feature_names, resp, log_scale, show_points)


DENSITY_TEXT = """
**How to read it.** Dark means the model expects many points there. Each point's share of
the log-likelihood is log p(xᵢ): points in dark regions are well explained, points on white
ground are surprises, and they pull the log-likelihood down.
"""
# For a fit in more columns than drawn the map is the density of the drawn plane alone (the
# marginal, or the projection), while log p(xᵢ) depends on every fitted column.
PROJECTED_DENSITY_TEXT = """
**How to read it.** The map is the fitted mixture's density in this plane alone: dark means
the model expects many points in this view. A point's share of the log-likelihood,
log p(xᵢ), depends on all the fitted columns, which the map does not show: a point on dark
ground here can still be a surprise in the others.
"""


@st.fragment
def density_panel(run: PreparedRun, cursor: int | None = None) -> None:
    """The mixture density ``p(x)`` as filled contours under the points.

    For a projected fit this is still exact: a linear projection of a Gaussian mixture is
    the Gaussian mixture of the projected components, which the chart's ellipses show.
    """
    if run.X.shape[1] != 2:
        st.info("With one column the main chart already draws the density over the histogram.")
        return
    projected = is_projection(run)
    if projected:  # the same note as the other tabs: the map is not EM's log p(xᵢ)
        projection_note(run, "the density at a point on this map")
    chart, words = st.columns([2, 1], gap="large")
    with words:
        source = st.radio(
            "Density of",
            list(DENSITY_SOURCES),
            format_func=DENSITY_SOURCES.get,
            key=DENSITY_SOURCE_KEY,
        )
        log_scale = st.toggle(
            "Log scale", key=DENSITY_LOG_KEY, help="log p(x): shows the tails too."
        )
        show_points = st.toggle("Show the points", True, key=DENSITY_POINTS_KEY)
        index = run.timeline.last if source == "end" else live_cursor(run, cursor)
        st.caption(run.descriptions[index].label)
        st.markdown(PROJECTED_DENSITY_TEXT if projected else DENSITY_TEXT)
    with chart:
        # Above the map it describes: in the narrow column beside it the formula was cut
        # off at 1024 pixels.
        st.latex(DENSITY_FORMULA)
        figure = cached_density(run.version, index, bool(log_scale), bool(show_points), run)
        st.plotly_chart(figure, theme=None, config=CHART_CONFIG, key="density_chart")


# -- all of them ------------------------------------------------------------------------------

TAB_LABELS = ("Go deeper", "Worked example", "Choose K", "k-means vs EM", "Density")
GO_DEEPER = """
Four ways to look closer, one tab each:

- **Worked example**: the E-step and M-step formulas with the actual numbers of one point
  at the iteration on the chart.
- **Choose K**: BIC and AIC for K = 1 to 8 and all 14 covariance models, and a one-click
  "use this model".
- **k-means vs EM**: k-means (EM's hard-assignment limit) from the same start, side by
  side, and where the two disagree.
- **Density**: the fitted mixture density as a map under the points.
"""


def teaching_tabs(run: PreparedRun, cursor: int | None = None) -> None:
    """The four teaching panels as tabs after a short guide, full width below the chart.

    Only the open tab runs and is sent: the k-means and density figures are as large as
    the main chart, and drawing them in hidden tabs would slow every page load. The first
    tab is words only, so the page's first load is the chart's.
    """
    mark_drawn(run.key, live_cursor(run, cursor))  # what the panels below show
    if run.data_warning:  # every tab fits these data: BIC, k-means and density mislead too
        st.warning(markdown_literal(run.data_warning))  # it may name an uploaded column
    panels = (
        lambda: st.markdown(GO_DEEPER),
        lambda: worked_example_panel(run, cursor),
        lambda: model_selection_panel(run),
        lambda: kmeans_panel(run),
        lambda: density_panel(run, cursor),
    )
    tabs = st.tabs(list(TAB_LABELS), key=TABS_KEY, on_change="rerun")
    for tab, panel in zip(tabs, panels, strict=True):
        if tab.open:
            with tab:
                panel()


__all__ = [
    "density_panel",
    "kmeans_panel",
    "model_selection_panel",
    "presets_panel",
    "teaching_tabs",
    "worked_example_panel",
]
