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
  columns or PCA), and whether to standardise them, as a :class:`ChosenData`;
- :func:`default_columns`, :func:`bookkeeping_columns`: what a table opens on. Years, ids and
  row counters (penguins' ``year``) are not fitted by default and never drive the advice to
  standardise; a table that knows its classes (iris, penguins) opens on the two columns in
  which they show best as clusters (iris: petal length and width).

The widgets that read uploads (in a limited child process) and pick columns are in
:mod:`emapp.ui.upload`; :mod:`emapp.build.prepare` turns a :class:`ChosenData` into a run.
"""

from __future__ import annotations

import hashlib
import itertools
import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from emapp.build.names import display_names
from emapp.build.projection import VIEWS
from emcore import DataError, load_dataset, read_csv
from emcore.data import dataset_labels
from emcore.validation import LARGEST_MAGNITUDE, SMALLEST_MAGNITUDE

# EM runs in every fitted column; beyond this many the fit is slow and the picture says little.
MAX_FIT_COLUMNS = 10
# The page precomputes every state of a run and sends it to the browser: more rows are
# subsampled (with a fixed seed, and the page says so) to keep that fast.
MAX_ROWS = 5000
SAMPLE_SEED = 0
# Standardising is suggested when the columns' spreads differ by more than this factor.
SCALE_RATIO = 10.0
# Bookkeeping columns: names that say so, and whole numbers that look like years.
BOOKKEEPING_NAME = re.compile(
    r"(^|[^a-z])(id|ids|year|years|yr|index|idx|row|rownum|no|nr|num|number|count|counter|"
    r"code|seq|serial|date|day|month)([^a-z]|$)",
    re.IGNORECASE,
)
YEARS = (1800.0, 2100.0)
# Rows with some missing cells are kept (as NaN) and fitted with EM's missing="em".
MISSING = "keep"
# A column of years repeats a few of them; beyond this many distinct values it may be data.
MAX_DISTINCT_YEARS = 30


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
    truth: np.ndarray | None = None  # the true class of every row (iris, penguins), as text

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
    missing : ndarray of bool, shape (n, d), or None
        Which cells of the chosen columns are missing (None when none are). ``X`` and ``raw``
        then hold each missing cell's column mean, for the pictures; EM fits
        :attr:`fit_X`, which has NaN there (``missing="em"``).
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
    truth: np.ndarray | None = None
    missing: np.ndarray | None = None

    @property
    def fit_X(self) -> np.ndarray:
        """What EM fits: ``X`` with NaN in the missing cells."""
        return self.X if self.missing is None else np.where(self.missing, np.nan, self.X)

    @property
    def raw_observed(self) -> np.ndarray:
        """``raw`` with NaN in the missing cells (the export leaves them empty)."""
        return self.raw if self.missing is None else np.where(self.missing, np.nan, self.raw)

    @property
    def incomplete_rows(self) -> np.ndarray | None:
        """Which rows have a missing cell in the chosen columns, or None when none do."""
        return None if self.missing is None else self.missing.any(axis=1)

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


def sample_rows(n_rows: int) -> np.ndarray | None:
    """The rows kept when there are more than :data:`MAX_ROWS` (fixed, in file order)."""
    if n_rows <= MAX_ROWS:
        return None
    return np.sort(np.random.default_rng(SAMPLE_SEED).choice(n_rows, MAX_ROWS, replace=False))


def subsample(frame: pd.DataFrame) -> tuple[pd.DataFrame, str]:
    """At most :data:`MAX_ROWS` rows (a fixed random sample, in file order) and a sentence."""
    rows = sample_rows(len(frame))
    if rows is None:
        return frame, ""
    note = (
        f" EM runs on a random sample of {MAX_ROWS:,} of the {len(frame):,} rows, so every "
        "iteration can be sent to the browser."
    )
    return frame.iloc[rows], note


def as_table(frame: pd.DataFrame, digest: str, name: str, truth: np.ndarray | None = None) -> Table:
    """A read frame as a :class:`Table`, with its report in words and short column names.

    ``truth``, the true class of every row if known, is subsampled with the rows.
    """
    report = frame.attrs.get("report")
    summary = report.summary() if report is not None else f"Read {len(frame)} rows."
    rows = sample_rows(len(frame))
    if truth is not None and rows is not None:
        truth = truth[rows]
    frame, note = subsample(frame)
    full = [str(column) for column in frame.columns]
    shown = list(display_names(full))
    frame = frame.set_axis(shown, axis=1)
    names = dict(zip(shown, full, strict=True))
    return Table(frame, digest, summary + note, name, names, truth)


UPLOAD_PREFIX = "file-"  # marks an upload's digest: its runs are private to the session


def upload_digest(content: bytes, name: str, salt: bytes) -> str:
    """Identifies an upload within one session: its bytes, its name and the session's secret.

    The digest keys the cached runs, which all sessions share; the secret keeps one
    student's upload (and its name) from ever being served to another, even for the same
    bytes, and the name keeps a renamed copy from showing the old name.
    """
    hashed = hashlib.sha256(salt + name.encode("utf-8", "replace") + b"\0" + content)
    return UPLOAD_PREFIX + hashed.hexdigest()[:24]


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
    frame = read_csv(content, missing=MISSING)
    name = upload_name(uploaded)
    return as_table(frame, upload_digest(content, name, salt), name)


def dataset_table(key: str) -> Table:
    """A built-in data set as a :class:`Table` (raises :class:`DataError` like read_csv)."""
    frame = load_dataset(key, missing=MISSING)
    return as_table(frame, f"dataset-{key}", key, dataset_labels(key, missing=MISSING))


# -- choosing ---------------------------------------------------------------------------------


def is_bookkeeping(name: str, values: np.ndarray) -> bool:
    """Whether a column is a year, an id or a row counter rather than a measurement.

    Only whole numbers can be: named so (``year``, ``id``, ``row_no``, ``sample number``),
    years (between 1800 and 2100, a few distinct ones), or counting up row by row.
    """
    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values)]
    if len(values) == 0 or not (values == np.round(values)).all():
        return False
    if BOOKKEEPING_NAME.search(name.replace("_", " ").replace(".", " ")):
        return True
    low, high = YEARS
    in_years = values.min() >= low and values.max() <= high
    if in_years and len(np.unique(values)) <= MAX_DISTINCT_YEARS:
        return True
    return len(values) > 2 and bool((np.diff(values) > 0).all())


def bookkeeping_columns(frame: pd.DataFrame) -> set[str]:
    """The columns of ``frame`` that are years, ids or counters (see :func:`is_bookkeeping`)."""
    return {
        str(column)
        for column in frame.columns
        if is_bookkeeping(str(column), frame[column].to_numpy(dtype=float))
    }


def separation(X: np.ndarray, truth: np.ndarray) -> float:
    """How well the true classes show as clusters in the columns of ``X``: the adjusted Rand
    index of k-means (told the number of classes, on standardised columns) against them."""
    from sklearn.cluster import KMeans
    from sklearn.metrics import adjusted_rand_score

    X = (X - X.mean(axis=0)) / np.where(X.std(axis=0) > 0, X.std(axis=0), 1.0)
    n_classes = len(np.unique(truth))
    labels = KMeans(n_classes, n_init=4, random_state=SAMPLE_SEED).fit(X).labels_
    return float(adjusted_rand_score(truth, labels))


def best_pair(frame: pd.DataFrame, truth: np.ndarray, columns: list[str]) -> tuple[str, str]:
    """The two of ``columns`` in which the true classes show best as clusters (ties: the
    first pair)."""
    pairs = list(itertools.combinations(columns, 2))
    scores = [separation(frame[list(pair)].to_numpy(dtype=float), truth) for pair in pairs]
    return pairs[int(np.argmax(scores))]


def unusable_reason(values: np.ndarray) -> str | None:
    """Why EM can learn nothing from a column of values (NaN for missing cells), or None.

    The same limits emcore checks when fitting (:mod:`emcore.validation`), said here in words
    about the column, so the page can leave it out before a fit fails.
    """
    observed = np.abs(values[~np.isnan(values)])
    if observed.size == 0:
        # The reader reads cells it cannot use (text, infinities, beyond 10^100) as missing.
        return (
            "has no usable value (every cell is empty, not a number, or beyond 10^100 in "
            "size, and so read as missing)"
        )
    largest = float(observed.max())
    if 0 < largest < SMALLEST_MAGNITUDE:
        return (
            f"has no value larger than {largest:.3g} in size: below 10^-100 its variances "
            "cannot be computed in floating-point numbers (rescale it, for example to other "
            "units)"
        )
    if largest > LARGEST_MAGNITUDE:  # the reader makes these missing; data sets are checked
        return f"has values as large as {largest:.3g}: beyond 10^100 variances cannot be computed"
    return None


def unusable_columns(frame: pd.DataFrame) -> dict[str, str]:
    """The columns of ``frame`` EM cannot fit, each with the reason in words."""
    reasons = {str(c): unusable_reason(frame[c].to_numpy(dtype=float)) for c in frame.columns}
    return {column: reason for column, reason in reasons.items() if reason is not None}


def unusable_sentence(reasons: dict[str, str]) -> str:
    """One sentence per unusable column, naming it as the page shows it."""
    return " ".join(f"Column {column} {reason}." for column, reason in reasons.items())


# How emcore names columns: by their index in X ("Column(s) 0, 2 of X (counted from 0)").
INDEXED_COLUMNS = re.compile(r"Column\(s\) ([\d, ]+?)(?:, \.\.\.)? of X \(counted from 0\)")


def in_column_names(message: str, names: tuple[str, ...]) -> str:
    """``message`` with emcore's column indices replaced by the columns' names, so the page
    never asks a student to find "column 0 of X" in a file of named columns."""

    def named(match: re.Match) -> str:
        indices = [int(i) for i in match.group(1).split(",") if i.strip()]
        if any(i >= len(names) for i in indices):
            return match.group(0)
        return "Column(s) " + ", ".join(names[i] for i in indices)

    return INDEXED_COLUMNS.sub(named, message)


def default_columns(table: Table) -> list[str]:
    """The columns a table opens on: at most :data:`MAX_FIT_COLUMNS`, bookkeeping ones left
    out (unless nothing else is left); with known classes, the two that separate them best.
    Columns EM cannot fit (:func:`unusable_columns`) are never among them; with none left,
    the list is empty."""
    unusable = unusable_columns(table.frame)
    columns = [str(c) for c in table.frame.columns if str(c) not in unusable]
    if not columns:
        return []
    skipped = bookkeeping_columns(table.frame)
    measured = [c for c in columns if c not in skipped] or columns
    measured = measured[:MAX_FIT_COLUMNS]
    if table.truth is not None and len(measured) > 2:
        key = (table.digest, tuple(measured))
        if key not in _BEST_PAIRS:  # a few k-means fits: once per data set and process
            if len(_BEST_PAIRS) >= MAX_REMEMBERED_PAIRS:
                _BEST_PAIRS.pop(next(iter(_BEST_PAIRS)))
            _BEST_PAIRS[key] = best_pair(table.frame, table.truth, measured)
        return list(_BEST_PAIRS[key])
    return measured


MAX_REMEMBERED_PAIRS = 16
_BEST_PAIRS: dict[tuple, tuple[str, str]] = {}


def spread_ratio(frame: pd.DataFrame) -> tuple[float, str, str]:
    """Largest over smallest column standard deviation, and those two columns' names.

    Years, ids and counters (:func:`bookkeeping_columns`) do not count: their spread says
    nothing about the measurements'.
    """
    skipped = bookkeeping_columns(frame)
    if len(skipped) < frame.shape[1]:
        frame = frame[[c for c in frame.columns if str(c) not in skipped]]
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
    """Column means and standard deviations of the observed cells (1 for a constant column,
    which stays 0)."""
    centre = np.nanmean(raw, axis=0)
    scale = np.nanstd(raw, axis=0)
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
    unusable = unusable_columns(table.frame[list(columns)])
    if unusable:  # said here, in the file's names, rather than by the fit in X's indices
        raise DataError(f"{unusable_sentence(unusable)} Choose other columns to fit.")
    raw = table.frame[list(columns)].to_numpy(dtype=float)
    truth = table.truth
    missing = np.isnan(raw)
    if missing.any():
        # Rows with nothing observed in the chosen columns say nothing to EM.
        rows = ~missing.all(axis=1)
        if rows.sum() < 1:
            raise DataError("Every row is missing the chosen columns; choose other columns.")
        raw, missing = raw[rows], missing[rows]
        truth = None if truth is None else truth[rows]
        # The pictures need every coordinate: a missing cell is drawn at its column's mean.
        raw = np.where(missing, np.nanmean(raw, axis=0), raw)
    centre = scale = None
    X = raw
    if standardise:
        centre, scale = standardisation(np.where(missing, np.nan, raw))
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
        truth,
        missing if missing.any() else None,
    )
