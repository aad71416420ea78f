"""The "Upload CSV" data source: a file uploader read by :func:`emcore.data.read_csv`.

Kept in its own module so the upload issue can extend it (column choice, built-in data
sets, scaling) without touching the rest of the page.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
import streamlit as st

try:  # emcore.data arrives with the data issue; without it the uploader explains itself.
    from emcore.data import DataError, read_csv
except ImportError:  # pragma: no cover - only before emcore/data.py exists
    DataError = ValueError
    read_csv = None

UPLOAD_KEY = "csv_file"


@dataclass(frozen=True)
class UploadedTable:
    """The first two numeric columns of an uploaded file."""

    X: np.ndarray
    feature_names: tuple[str, str]
    digest: str
    summary: str


def first_two_columns(frame) -> tuple[np.ndarray, tuple[str, str]]:
    """The data EM runs on: the first two numeric columns (the page draws two dimensions).

    Raises
    ------
    DataError
        When the table has fewer than two numeric columns.
    """
    if frame.shape[1] < 2:
        raise DataError(
            f"The file has {frame.shape[1]} numeric column; the picture needs two. "
            "Add a second numeric column and upload it again."
        )
    names = (str(frame.columns[0]), str(frame.columns[1]))
    return frame.iloc[:, :2].to_numpy(dtype=float), names


def read_upload(uploaded) -> UploadedTable:
    """Read an uploaded file (anything with ``getvalue()``) into an :class:`UploadedTable`."""
    content = uploaded.getvalue()
    frame = read_csv(content)
    X, names = first_two_columns(frame)
    report = frame.attrs.get("report")
    summary = report.summary() if report is not None else f"Read {len(X)} rows."
    if frame.shape[1] > 2:
        summary += f" The chart and the model use the first two columns: {names[0]}, {names[1]}."
    return UploadedTable(X, names, hashlib.sha1(content).hexdigest()[:16], summary)


def upload_widget() -> UploadedTable | None:
    """The uploader in the sidebar; the table if one was read, else None (with a message)."""
    if read_csv is None:
        st.info("Reading CSV files needs emcore.data, which is not installed yet.")
        return None
    uploaded = st.file_uploader(
        "CSV file",
        type=["csv", "txt", "tsv"],
        key=UPLOAD_KEY,
        help="A table with a header row; the first two numeric columns are used.",
    )
    if uploaded is None:
        st.caption("Choose a CSV file with at least two numeric columns.")
        return None
    try:
        table = read_upload(uploaded)
    except DataError as error:
        st.error(str(error))
        return None
    st.caption(table.summary)
    return table
