"""The two download buttons under the parameter table (Streamlit).

The files are built by :mod:`emapp.build.export`, only when a button is clicked.
"""

from __future__ import annotations

import streamlit as st

from emapp.build.export import FitExport, file_stem, labels_csv, parameters_json


def download_buttons(fit: FitExport) -> None:
    """Two download buttons; the files are built only when clicked, and no rerun follows."""
    stem = file_stem(fit.name)
    # Stacked at full width: side by side, the labels (which must say "final fit") are cut.
    st.download_button(
        "Download data with labels (CSV, final fit)",
        data=lambda: labels_csv(fit.data, fit.columns, fit.resp),
        file_name=f"{stem}_labels.csv",
        mime="text/csv",
        key="download_labels",
        on_click="ignore",
        width="stretch",
        help="Every point with its hard label (the most responsible component) and its "
        "responsibilities resp_1..K at the final state of the run.",
    )
    st.download_button(
        "Download fitted parameters (JSON, final fit)",
        data=lambda: parameters_json(fit),
        file_name=f"{stem}_parameters.json",
        mime="application/json",
        key="download_parameters",
        on_click="ignore",
        width="stretch",
        help="Weights, means and covariances at the final state of the run.",
    )
