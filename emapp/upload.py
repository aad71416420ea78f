"""Table data for the page: an uploaded CSV file or a built-in data set, and what to fit.

The sidebar's data section for the "Upload CSV" and "Real data sets" sources:

- read the table (:func:`emcore.read_csv` / :func:`emcore.load_dataset`) and show its read
  report ("dropped 2 text columns and 11 rows with missing values");
- a file that cannot be read shows its one-sentence error and the page keeps the last file
  that could be read (kept in ``st.session_state``), so a mistake never loses the fit;
- choose the columns EM fits (all, up to :data:`MAX_FIT_COLUMNS`), how the picture shows
  more than two of them (two columns or PCA), and whether to standardise them.

The result is a :class:`ChosenData`; :mod:`emapp.runs` turns it into a run.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
import pandas as pd
import streamlit as st

from emapp.projection import VIEW_LABELS, VIEWS
from emcore import DATASETS, DataError, load_dataset, read_csv

UPLOAD_KEY = "csv_file"
DATASET_KEY = "dataset"
COLUMNS_KEY = "fit_columns"
VIEW_KEY = "picture"
X_KEY = "x_column"
Y_KEY = "y_column"
STANDARDISE_KEY = "standardise"
# Session state (not widgets): the last readable upload, the parse of the current file, the
# choices made for each recent table, and which table the column widgets show.
LAST_GOOD = "upload_last_good"
LAST_READ = "upload_last_read"
CHOICES = "column_choices"
CHOICES_FOR = "columns_chosen_for"
MAX_REMEMBERED = 8

# EM runs in every fitted column; beyond this many the fit is slow and the picture says little.
MAX_FIT_COLUMNS = 10
# The page precomputes every state of a run and sends it to the browser: more rows are
# subsampled (with a fixed seed, and the page says so) to keep that fast.
MAX_ROWS = 5000
SAMPLE_SEED = 0
# Standardising is suggested when the columns' spreads differ by more than this factor.
SCALE_RATIO = 10.0

DATASET_TITLES = {"faithful": "Old Faithful", "iris": "Iris", "penguins": "Palmer penguins"}


@dataclass(frozen=True, eq=False)
class Table:
    """A table of numeric columns read from a file or a built-in data set."""

    frame: pd.DataFrame
    digest: str
    summary: str
    name: str


@dataclass(frozen=True, eq=False)
class ChosenData:
    """The data EM runs on and how the picture shows it.

    Attributes
    ----------
    X : ndarray of shape (n, d)
        The fitted columns, standardised when ``scale`` is set: what EM sees.
    feature_names : tuple of str
        The fitted columns' names.
    digest : str
        Identifies the table (file contents or data set).
    summary : str
        The read report in words.
    raw : ndarray of shape (n, d)
        The fitted columns in the file's units.
    centre, scale : ndarray of shape (d,) or None
        The standardisation ``(raw - centre) / scale``, or None.
    view : str
        ``"columns"`` or ``"pca"`` (only matters for three or more columns).
    axes : (str, str) or None
        The columns across and up, for the ``"columns"`` view.
    name : str
        The file's or data set's name.
    """

    X: np.ndarray
    feature_names: tuple[str, ...]
    digest: str
    summary: str
    raw: np.ndarray
    centre: np.ndarray | None = None
    scale: np.ndarray | None = None
    view: str = "columns"
    axes: tuple[str, str] | None = None
    name: str = "data"

    @property
    def standardised(self) -> bool:
        return self.scale is not None

    @property
    def fit_key(self) -> tuple:
        """What the EM run depends on (the picture does not)."""
        return (self.digest, self.feature_names, self.standardised)

    @property
    def view_key(self) -> tuple:
        """What the figure depends on."""
        return (*self.fit_key, self.view, self.axes)


# -- reading ----------------------------------------------------------------------------------


def subsample(frame: pd.DataFrame) -> tuple[pd.DataFrame, str]:
    """At most :data:`MAX_ROWS` rows (a fixed random sample, in file order) and a sentence."""
    if len(frame) <= MAX_ROWS:
        return frame, ""
    rows = np.sort(np.random.default_rng(SAMPLE_SEED).choice(len(frame), MAX_ROWS, replace=False))
    note = (
        f" EM runs on a random sample of {MAX_ROWS:,} of the {len(frame):,} rows, so every "
        "iteration can be sent to the browser."
    )
    return frame.iloc[rows], note


def as_table(frame: pd.DataFrame, digest: str, name: str) -> Table:
    """A read frame as a :class:`Table`, with its report in words."""
    report = frame.attrs.get("report")
    summary = report.summary() if report is not None else f"Read {len(frame)} rows."
    frame, note = subsample(frame)
    frame = frame.set_axis([str(c) for c in frame.columns], axis=1)
    return Table(frame, digest, summary + note, name)


def read_upload(uploaded) -> Table:
    """Read an uploaded file (anything with ``getvalue()`` and ``name``) into a :class:`Table`.

    Raises
    ------
    DataError
        With a sentence saying what is wrong with the file.
    """
    content = uploaded.getvalue()
    frame = read_csv(content)
    digest = "file-" + hashlib.sha1(content).hexdigest()[:16]
    return as_table(frame, digest, str(getattr(uploaded, "name", "upload.csv")))


def dataset_table(key: str) -> Table:
    """A built-in data set as a :class:`Table` (raises :class:`DataError` like read_csv)."""
    return as_table(load_dataset(key), f"dataset-{key}", key)


# -- choosing ---------------------------------------------------------------------------------


def spread_ratio(frame: pd.DataFrame) -> tuple[float, str, str]:
    """Largest over smallest column standard deviation, and those two columns' names."""
    std = frame.std(ddof=0).to_numpy(dtype=float)
    positive = std > 0
    if positive.sum() < 2:
        return 1.0, "", ""
    names = np.asarray(frame.columns)[positive]
    std = std[positive]
    high, low = int(np.argmax(std)), int(np.argmin(std))
    return float(std[high] / std[low]), str(names[high]), str(names[low])


def suggest_standardise(frame: pd.DataFrame) -> bool:
    return spread_ratio(frame)[0] > SCALE_RATIO


def standardisation(raw: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Column means and standard deviations (1 for a constant column, which stays 0)."""
    centre = raw.mean(axis=0)
    scale = raw.std(axis=0)
    return centre, np.where(scale > 0, scale, 1.0)


def choose(
    table: Table,
    columns: list[str],
    standardise: bool,
    view: str = "columns",
    axes: tuple[str, str] | None = None,
) -> ChosenData:
    """The data EM runs on: the chosen columns of ``table``, standardised if asked.

    Raises
    ------
    DataError
        With no column chosen, or an unknown column or view.
    """
    if not columns:
        raise DataError("Choose at least one column to fit.")
    unknown = [c for c in columns if c not in table.frame.columns]
    if unknown:
        raise DataError(f"The table has no column {unknown[0]!r}.")
    if view not in VIEWS:
        raise DataError(f"Unknown picture {view!r}; choose one of {', '.join(VIEWS)}.")
    raw = table.frame[list(columns)].to_numpy(dtype=float)
    centre = scale = None
    X = raw
    if standardise:
        centre, scale = standardisation(raw)
        X = (raw - centre) / scale
    if len(columns) == 2:
        view, axes = "columns", (columns[0], columns[1])
    elif len(columns) == 1 or view == "pca":
        axes = None
    elif axes is None:
        axes = (columns[0], columns[1])
    return ChosenData(
        X, tuple(columns), table.digest, table.summary, raw, centre, scale, view, axes, table.name
    )


# -- widgets ----------------------------------------------------------------------------------


def default_choices(table: Table) -> dict:
    columns = list(table.frame.columns)[:MAX_FIT_COLUMNS]
    return {
        COLUMNS_KEY: columns,
        VIEW_KEY: VIEWS[0],
        X_KEY: columns[0],
        Y_KEY: columns[1] if len(columns) > 1 else columns[0],
        STANDARDISE_KEY: suggest_standardise(table.frame[columns]),
    }


def choices_for(table: Table) -> dict:
    """The column choices for ``table``, remembered per table and given to the widgets.

    Streamlit forgets (or reverts) a widget's value when a run does not draw it (after
    choosing PCA, the axis boxes; while a new file uploads, all of them), and the browser
    keeps showing a keyed widget's old value when the table changes unless the script writes
    a new one. So the choices live here: every run writes them into the widgets' keys, and
    the widgets' ``on_change`` callback (:func:`remember`) records what the user picks.
    Returns the (mutable) dict of choices.
    """
    memory = st.session_state.setdefault(CHOICES, {})
    choices = memory.pop(table.digest, None) or default_choices(table)
    memory[table.digest] = choices  # most recently used last
    while len(memory) > MAX_REMEMBERED:
        del memory[next(iter(memory))]
    st.session_state[CHOICES_FOR] = table.digest
    for key, value in choices.items():
        st.session_state[key] = list(value) if isinstance(value, list) else value
    return choices


def remember(key: str) -> None:
    """Widget callback: record the user's new choice for the table the widget was drawn for."""
    choices = st.session_state.get(CHOICES, {}).get(st.session_state.get(CHOICES_FOR))
    if choices is not None and key in st.session_state:
        value = st.session_state[key]
        choices[key] = list(value) if isinstance(value, list) else value


def keep_valid(key: str, options: list[str], choices: dict) -> None:
    """Replace a remembered choice that is no longer offered (its column was deselected)."""
    if st.session_state.get(key) not in options:
        st.session_state[key] = choices[key] = options[0]


def picture_controls(columns: list[str], choices: dict) -> tuple[str, tuple[str, str] | None]:
    """For three or more columns: two of them, or the PCA plane."""
    view = st.radio(
        "Picture",
        VIEWS,
        format_func=VIEW_LABELS.get,
        horizontal=True,
        key=VIEW_KEY,
        on_change=remember,
        args=(VIEW_KEY,),
        help="EM always runs in all the chosen columns; this only changes what is drawn.",
    )
    if view == "pca":
        return view, None
    keep_valid(X_KEY, columns, choices)
    across = st.selectbox("Across (x axis)", columns, key=X_KEY, on_change=remember, args=(X_KEY,))
    others = [c for c in columns if c != across]
    keep_valid(Y_KEY, others, choices)
    up = st.selectbox("Up (y axis)", others, key=Y_KEY, on_change=remember, args=(Y_KEY,))
    return view, (across, up)


def standardise_control(frame: pd.DataFrame) -> bool:
    ratio, high, low = spread_ratio(frame)
    suggested = ratio > SCALE_RATIO
    value = st.checkbox(
        "Standardise the columns (mean 0, standard deviation 1)",
        key=STANDARDISE_KEY,
        on_change=remember,
        args=(STANDARDISE_KEY,),
        help="EM's components are compared in the columns' units; standardising stops one "
        "large-valued column from dominating.",
    )
    if suggested:
        st.caption(
            f"Suggested, on by default: the columns' spreads differ by a factor of {ratio:,.0f} "
            f"({high} against {low})."
        )
    return bool(value)


def column_controls(table: Table) -> ChosenData | None:
    """Which columns to fit, how to draw them and whether to standardise; None if none."""
    choices = choices_for(table)
    options = list(table.frame.columns)
    columns = st.multiselect(
        "Columns to fit",
        options,
        key=COLUMNS_KEY,
        on_change=remember,
        args=(COLUMNS_KEY,),
        max_selections=MAX_FIT_COLUMNS,
        help="EM runs in all of these. One column gives a histogram; two a scatter plot; "
        "more a picture of two of them or of their PCA plane.",
    )
    if len(options) > MAX_FIT_COLUMNS:
        st.caption(f"At most {MAX_FIT_COLUMNS} of the {len(options)} columns can be fitted.")
    if not columns:
        st.warning("Choose at least one column to fit.")
        return None
    view, axes = picture_controls(columns, choices) if len(columns) > 2 else ("columns", None)
    standardise = False
    if len(columns) > 1:
        standardise = standardise_control(table.frame[columns])
    return choose(table, columns, standardise, view, axes)


def read_current(uploaded) -> Table | str:
    """The uploaded file's table, or its error sentence; read once per file, not per rerun."""
    file_id = getattr(uploaded, "file_id", None)
    cached = st.session_state.get(LAST_READ)
    if cached is not None and file_id is not None and cached[0] == file_id:
        return cached[1]
    try:
        with st.spinner("Reading the file…"):
            result: Table | str = read_upload(uploaded)
    except DataError as error:
        result = str(error)
    st.session_state[LAST_READ] = (file_id, result)
    return result


def upload_table() -> Table | None:
    """The uploader; the table to use (the last readable one after an error), or None."""
    uploaded = st.file_uploader(
        "CSV file",
        type=["csv", "txt", "tsv"],
        key=UPLOAD_KEY,
        help="A table with a header row and numeric columns; text columns are left out.",
    )
    last_good: Table | None = st.session_state.get(LAST_GOOD)
    if uploaded is None:
        # Also the state for a moment while a new file replaces the old one: keep the fit.
        if last_good is None:
            st.caption("Choose a CSV file with at least one numeric column.")
        else:
            st.caption(f"Showing {last_good.name}, the last file uploaded.")
        return last_good
    result = read_current(uploaded)
    if isinstance(result, str):
        st.error(result)
        if last_good is not None:
            st.caption(f"Still showing {last_good.name}, the last file that could be read.")
        return last_good
    st.session_state[LAST_GOOD] = result
    st.caption(result.summary)
    return result


def dataset_picker() -> Table | None:
    """The built-in data sets, one click each."""
    key = st.radio(
        "Data set",
        tuple(DATASET_TITLES),
        format_func=DATASET_TITLES.get,
        horizontal=True,
        key=DATASET_KEY,
    )
    st.caption(DATASETS[key])
    try:
        table = dataset_table(key)
    except DataError as error:
        st.error(str(error))
        return None
    st.caption(table.summary)
    return table


def data_widget(source: str) -> ChosenData | None:
    """The sidebar's data section for a table source ("Upload CSV" or "Real data sets")."""
    table = upload_table() if source == "Upload CSV" else dataset_picker()
    if table is None:
        return None
    return column_controls(table)
