"""The sidebar's data section for the "Upload CSV" and "Real data sets" sources (Streamlit).

- an upload is read in a child process with time and memory limits
  (:class:`emcore.bounded.BoundedRead`), with a progress bar and a Cancel button, so no file
  can stall the server for other students; at most :data:`MAX_READS_AT_ONCE` reads run at
  once on the server;
- the read report is shown ("dropped 2 text columns and 11 rows with missing values") and
  names from the file are shown as plain text;
- a file that cannot be read shows its one-sentence error and the page keeps the last file
  that could be read (kept in ``st.session_state``), so a mistake never loses the fit;
- the column widgets choose what EM fits; their choices are remembered per table.

Reading, digests and choosing are pure, in :mod:`emapp.build.tables`; the result is a
:class:`~emapp.build.tables.ChosenData`, which :mod:`emapp.ui.runs` turns into a run.
"""

from __future__ import annotations

import secrets
import threading

import pandas as pd
import streamlit as st

from emapp.build.names import display_names, markdown_literal
from emapp.build.projection import VIEW_LABELS, VIEWS
from emapp.build.tables import (
    MAX_FIT_COLUMNS,
    MISSING,
    SCALE_RATIO,
    ChosenData,
    Table,
    as_table,
    choose,
    dataset_table,
    default_columns,
    spread_ratio,
    suggest_standardise,
    unusable_columns,
    unusable_sentence,
    upload_digest,
    upload_name,
)
from emapp.ui.session import leave_chart_note
from emcore import DATASETS, DataError
from emcore.bounded import READ_CSV, BoundedRead, ReadLimits

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
# Session state: the read under way as (file id, BoundedRead), the file id whose read was
# cancelled, and the session's secret mixed into upload digests.
READING = "upload_reading"
CANCELLED = "upload_cancelled"
SALT = "upload_salt"
CANCEL_KEY = "upload_cancel"

# One read may take 20 s and 1.5 GB; at most this many run at once on the server, so a
# class uploading together cannot exhaust its memory (the others wait, interruptibly).
READ_LIMITS = ReadLimits(seconds=20.0, cpu_seconds=15, memory_bytes=1_500_000_000)
MAX_READS_AT_ONCE = 2
# What the child process reads with ("module:function"); tests name misbehaving readers.
READER = READ_CSV
_read_slots = threading.BoundedSemaphore(MAX_READS_AT_ONCE)
# How often the progress bar moves while a file is read (and a Cancel or a new upload can
# interrupt the wait).
POLL_SECONDS = 0.25

DATASET_TITLES = {"faithful": "Old Faithful", "iris": "Iris", "penguins": "Palmer penguins"}


# -- column choices ---------------------------------------------------------------------------


def default_choices(table: Table) -> dict:
    """What a table opens on: its measurements (no years, ids or counters), or for a data set
    that knows its classes, the two columns that show them best (see ``default_columns``)."""
    columns = default_columns(table)
    return {
        COLUMNS_KEY: columns,
        VIEW_KEY: VIEWS[0],
        X_KEY: columns[0] if columns else None,  # no column EM can fit: nothing chosen
        Y_KEY: columns[1] if len(columns) > 1 else (columns or [None])[0],
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
            f"({markdown_literal(high)} against {markdown_literal(low)})."
        )
    return bool(value)


def column_controls(table: Table) -> ChosenData | str:
    """Which columns to fit, how to draw them and whether to standardise; or the sentence
    saying why the chosen columns cannot be fitted (the page shows it over the last fit)."""
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
    unusable = unusable_columns(table.frame)
    if unusable:  # still offered (a link may name them), never chosen by default
        st.caption(markdown_literal(f"{unusable_sentence(unusable)} Not chosen by default."))
    if not columns:
        return no_columns_sentence(table, unusable)
    view, axes = picture_controls(columns, choices) if len(columns) > 2 else ("columns", None)
    standardise = False
    if len(columns) > 1:
        standardise = standardise_control(table.frame[columns])
    try:
        return choose(table, columns, standardise, view, axes)
    except DataError as error:  # e.g. an unusable column chosen: said in its name
        return str(error)


def no_columns_sentence(table: Table, unusable: dict[str, str]) -> str:
    """Why nothing is fitted when no column is chosen."""
    if len(unusable) == table.frame.shape[1]:
        return f"{unusable_sentence(unusable)} No column of this file can be fitted."
    return "Choose at least one column to fit."


def session_salt() -> bytes:
    """This session's secret for upload digests (made on first use)."""
    return st.session_state.setdefault(SALT, secrets.token_bytes(16))


def stop_reading(unless: object = None) -> None:
    """Stop the read under way, unless it is of the file with id ``unless``."""
    reading = st.session_state.get(READING)
    if reading is not None and (unless is None or reading[0] != unless):
        reading[1].cancel()
        del st.session_state[READING]


def cancel_reading() -> None:
    """The Cancel button's callback: stop the read and remember the student's choice."""
    reading = st.session_state.get(READING)
    if reading is not None:
        st.session_state[CANCELLED] = reading[0]
    stop_reading()


def start_reading(uploaded, file_id: object, status) -> BoundedRead:
    """A read of ``uploaded`` in a limited child process, once a read slot is free."""
    while not _read_slots.acquire(timeout=POLL_SECONDS):
        # Each update is a point where a Cancel or a new upload interrupts the wait.
        status.progress(0.0, text="Waiting for another upload to finish…")
    try:
        read = BoundedRead(
            uploaded.getvalue(),
            READ_LIMITS,
            on_done=_read_slots.release,
            reader=READER,
            missing=MISSING,
        )
    except BaseException:
        _read_slots.release()
        raise
    st.session_state[READING] = (file_id, read)
    return read


def wait_for_read(uploaded, file_id: object) -> Table | str:
    """Read ``uploaded`` (or go on waiting for its read), showing progress and Cancel.

    A rerun (another upload, Cancel, any widget) interrupts the wait at the next progress
    update; the read goes on in its process and the next run waits for it again, or
    cancels it if the file has changed.
    """
    name = upload_name(uploaded)
    shown = markdown_literal(display_names([name], limit=60)[0])
    box = st.empty()
    with box.container():
        status = st.progress(0.0, text=f"Reading {shown}…")
        st.button("Cancel", key=CANCEL_KEY, on_click=cancel_reading)
        reading = st.session_state.get(READING)
        read = reading[1] if reading is not None else start_reading(uploaded, file_id, status)
        while not read.wait(POLL_SECONDS):
            fraction = min(read.elapsed / read.limits.seconds, 1.0)
            seconds = f"{read.elapsed:.0f} s of at most {read.limits.seconds:.0f} s"
            status.progress(fraction, text=f"Reading {shown}… {seconds}")
    box.empty()
    st.session_state.pop(READING, None)
    try:
        frame = read.outcome()
    except DataError as error:
        return str(error)
    return as_table(frame, upload_digest(uploaded.getvalue(), name, session_salt()), name)


def read_current(uploaded) -> Table | str:
    """The uploaded file's table, or its error sentence; read once per file, not per rerun."""
    file_id = getattr(uploaded, "file_id", None)
    cached = st.session_state.get(LAST_READ)
    if cached is not None and file_id is not None and cached[0] == file_id:
        return cached[1]
    stop_reading(unless=file_id)  # a read of an earlier file is of no use any more
    if file_id is not None and st.session_state.get(CANCELLED) == file_id:
        return "Reading the file was cancelled. Upload it again to try once more."
    result = wait_for_read(uploaded, file_id)
    st.session_state[LAST_READ] = (file_id, result)
    return result


def upload_table() -> Table | None:
    """The uploader and its limit; the table to use (the last readable one after an error),
    or None."""
    uploaded = st.file_uploader(
        "CSV file",
        type=["csv", "txt", "tsv"],
        key=UPLOAD_KEY,
        help="A table with a header row and numeric columns; text columns are left out.",
    )
    # Under the uploader, said again once the outcome is known: a file the browser refuses
    # causes no run, so the words must already be right for the table this run shows.
    limit = st.empty()
    limit.caption(limit_words(st.session_state.get(LAST_GOOD) is not None))
    table = uploaded_table(uploaded)
    limit.caption(limit_words(table is not None))
    return table


def uploaded_table(uploaded) -> Table | None:
    """The table of ``uploaded``, or the last readable one (saying why, after an error)."""
    last_good: Table | None = st.session_state.get(LAST_GOOD)
    if uploaded is None:
        stop_reading()  # the student removed the file being read
        # Also the state for a moment while a new file replaces the old one: keep the fit.
        if last_good is None:
            st.caption("Choose a CSV file with at least one numeric column.")
        else:
            st.caption(f"Showing {file_label(last_good)}, the last file uploaded.")
        return last_good
    result = read_current(uploaded)
    if isinstance(result, str):
        st.error(markdown_literal(result))
        if last_good is not None:
            st.caption(f"Still showing {file_label(last_good)}, the last file that could be read.")
            # The sidebar's red box can sit below the fold on a projector: say it on top too
            # (plain text there, not markdown).
            failed, kept = (short_name(name) for name in (uploaded.name, last_good.name))
            leave_chart_note(
                f"{failed} could not be used (the sidebar says why); still showing {kept}.",
                about=getattr(uploaded, "file_id", uploaded.name),
            )
        return last_good
    st.session_state[LAST_GOOD] = result
    st.caption(markdown_literal(result.summary))
    return result


def limit_words(showing: bool) -> str:
    """The upload limit, said under the uploader at all times.

    The browser refuses a larger file before sending it, so the script never hears of it:
    Streamlit's own "20MB per file" hint goes once a file is listed, and nothing would
    say that the chart still shows the earlier data.
    """
    limit = st.get_option("server.maxUploadSize")
    kept = ", and the page goes on showing the last data it could read" if showing else ""
    return (
        f"Up to {limit} MB per file: a larger file is refused (its name turns red, with "
        f"the reason under it){kept}."
    )


def short_name(name: str) -> str:
    """A file's name, short and on one line, as plain text."""
    return display_names([name], limit=60)[0]


def file_label(table: Table) -> str:
    """A file's name as the page shows it: short, and plain text."""
    return markdown_literal(short_name(table.name))


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
        st.error(markdown_literal(str(error)))
        return None
    st.caption(markdown_literal(table.summary))
    return table


def data_widget(source: str) -> ChosenData | str | None:
    """The sidebar's data section for a source; None for blobs and while there is no table,
    or the sentence saying why the table's chosen columns cannot be fitted."""
    if source != "Upload CSV":
        stop_reading()  # the student left the uploader while a file was being read
    if source not in ("Upload CSV", "Real data sets"):
        return None
    table = upload_table() if source == "Upload CSV" else dataset_picker()
    if table is None:
        return None
    return column_controls(table)
