"""The two download buttons under the parameter table (Streamlit).

The files are built by :mod:`emapp.build.export`, only when a button is clicked. A choice
above them says which state they hold: the final fit (the default) or the state on screen;
the buttons' labels and the files' names say which. While "the state on screen" is chosen,
the page follows the chart (:mod:`emapp.ui.follow`), so the buttons always hold the state
the chart shows.
"""

from __future__ import annotations

import streamlit as st

from emapp.build.export import (
    FINAL,
    FitExport,
    export_suffix,
    file_stem,
    labels_csv,
    parameters_json,
    state_export,
)
from emapp.ui.follow import EXPORT_KEY
from emapp.ui.session import RUN, VIEW

WHICH = {"final": "the final fit", "screen": "the state on screen"}


def on_screen(fit: FitExport) -> FitExport:
    """``fit`` as of the state on the chart now (the final fit when that is unknown)."""
    run, view = st.session_state.get(RUN), st.session_state.get(VIEW)
    if run is None or view is None or run.export is not fit or view.settings_key != run.key:
        return fit
    index = int(view.cursor)
    return state_export(fit, index, run.descriptions[index].label)


DOWNLOADS_SAID = (
    "The CSV has every point with its hard label (the most responsible component), its "
    "responsibilities resp_1..K and, when the data know it, its true cluster or species. "
    "The JSON has the weights, means and covariances, and which state they are (its 'state' "
    "block)."
)


def download_buttons(fit: FitExport) -> None:
    """The choice of state and two download buttons; the files are built only when clicked,
    and no rerun follows."""
    which = st.segmented_control(
        "Download",
        tuple(WHICH),
        default="final",
        required=True,
        format_func=WHICH.get,
        key=EXPORT_KEY,
        help="The final fit is where EM converged or stopped; the state on screen is the one "
        "the chart shows now.",
    )
    if which == "screen" and fit.timeline is not None:
        fit = on_screen(fit)
    final = fit.which == FINAL
    stem = file_stem(fit.name) if final else f"{file_stem(fit.name)}_{export_suffix(fit)}"
    said = "final fit" if final else f"on screen: {fit.label}"
    # Stacked at full width: side by side, the labels (which say which state) are cut.
    st.download_button(
        f"Download data with labels (CSV, {said})",
        data=lambda: labels_csv(fit.data, fit.columns, fit.resp, fit.truth),
        file_name=f"{stem}_labels.csv",
        mime="text/csv",
        key="download_labels",
        on_click="ignore",
        width="stretch",
    )
    st.download_button(
        f"Download fitted parameters (JSON, {said})",
        data=lambda: parameters_json(fit),
        file_name=f"{stem}_parameters.json",
        mime="application/json",
        key="download_parameters",
        on_click="ignore",
        width="stretch",
    )
    # Said under the buttons, not in tooltips: a button's tooltip covers the control above
    # it while the pointer rests on the button (see emapp/ui/controls.py, BUTTONS).
    st.caption(DOWNLOADS_SAID)
