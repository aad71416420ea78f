"""Table data for the page, pure (no Streamlit): a read CSV file or a built-in data set, and
the columns chosen to fit.

- :func:`read_upload` / :func:`dataset_table` read a table (:func:`emcore.read_csv` /
  :func:`emcore.load_dataset`) into a :class:`Table` with its read report in words
  ("dropped 2 text columns and 11 rows with missing values"), subsampled to
  :data:`MAX_ROWS` rows, with column names shortened for the page
  (:func:`emapp.build.names.display_names`) and the full names kept for the export;
- :func:`upload_digest`: an upload's identity (it keys the cached runs) mixes in a secret of
  the session, so nothing of one student's upload (its name, columns or numbers) can come
  back from a cache in another student's session, even for identical bytes;
- :func:`choose`: the columns EM fits, how the picture shows more than two of them (two
  columns or PCA), and whether to standardise them, as a :class:`ChosenData`.

The widgets that read uploads (in a limited child process) and pick columns are in
:mod:`emapp.ui.upload`; :mod:`emapp.build.prepare` turns a :class:`ChosenData` into a run.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from emapp.build.names import display_names
from emapp.build.projection import VIEWS
from emcore import DataError, load_dataset, read_csv

# EM runs in every fitted column; beyond this many the fit is slow and the picture says little.
MAX_FIT_COLUMNS = 10
# The page precomputes every state of a run and sends it to the browser: more rows are
# subsampled (with a fixed seed, and the page says so) to keep that fast.
MAX_ROWS = 5000
SAMPLE_SEED = 0
# Standardising is suggested when the columns' spreads differ by more than this factor.
SCALE_RATIO = 10.0


@dataclass(frozen=True, eq=False)
class Table:
    """A table of numeric columns read from a file or a built-in data set.

    ``frame``'s columns are the names the page shows (short, unique); ``full_names`` maps each
    to the file's own name, which the export keeps.
    """

    frame: pd.DataFrame
    digest: str
    summary: str
    name: str
    full_names: dict[str, str] = field(default_factory=dict)

    def full_name(self, shown: str) -> str:
        return self.full_names.get(shown, shown)


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
    export_names : tuple of str
        The fitted columns' names as the file has them (``feature_names`` are shortened for
        the page); empty means the same as ``feature_names``.
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
    export_names: tuple[str, ...] = ()

    @property
    def full_feature_names(self) -> tuple[str, ...]:
        return self.export_names or self.feature_names

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
    """A read frame as a :class:`Table`, with its report in words and short column names."""
    report = frame.attrs.get("report")
    summary = report.summary() if report is not None else f"Read {len(frame)} rows."
    frame, note = subsample(frame)
    full = [str(column) for column in frame.columns]
    shown = list(display_names(full))
    frame = frame.set_axis(shown, axis=1)
    return Table(frame, digest, summary + note, name, dict(zip(shown, full, strict=True)))


def upload_digest(content: bytes, name: str, salt: bytes) -> str:
    """Identifies an upload within one session: its bytes, its name and the session's secret.

    The digest keys the cached runs, which all sessions share; the secret keeps one
    student's upload (and its name) from ever being served to another, even for the same
    bytes, and the name keeps a renamed copy from showing the old name.
    """
    hashed = hashlib.sha256(salt + name.encode("utf-8", "replace") + b"\0" + content)
    return "file-" + hashed.hexdigest()[:24]


def upload_name(uploaded) -> str:
    return str(getattr(uploaded, "name", None) or "upload.csv")


def read_upload(uploaded, salt: bytes = b"") -> Table:
    """Read an uploaded file (anything with ``getvalue()`` and ``name``) into a :class:`Table`,
    in this process (the page reads uploads in a limited child process instead).

    Raises
    ------
    DataError
        With a sentence saying what is wrong with the file.
    """
    content = uploaded.getvalue()
    frame = read_csv(content)
    name = upload_name(uploaded)
    return as_table(frame, upload_digest(content, name, salt), name)


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
    export_names = tuple(table.full_name(column) for column in columns)
    return ChosenData(
        X,
        tuple(columns),
        table.digest,
        table.summary,
        raw,
        centre,
        scale,
        view,
        axes,
        table.name,
        export_names,
    )
