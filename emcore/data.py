"""Read the CSV files people actually upload, and load the built-in data sets.

:func:`read_csv` turns a path, bytes or an uploaded file into a DataFrame of float64 columns
that EM can use, and says in plain words what it did (a :class:`ReadReport` in
``df.attrs["report"]``). Anything it cannot use raises :class:`DataError` with a message a
student can act on; no other exception escapes it.

What it reads
-------------
- Separators: comma, semicolon, tab, ``|`` and runs of spaces, found by sniffing. An Excel
  ``sep=;`` first line is honoured.
- Decimal commas (``3,14``) when the separator is not a comma. With a comma separator a cell
  like ``"3,14"`` is text, because ``1,234`` might be a thousands separator.
- UTF-8 with or without BOM, UTF-16 with BOM, otherwise Latin-1. CRLF and CR line ends.
- A header row, or none: when every cell of the first row is a number the row is data and the
  columns are named ``x1, x2, ...``.
- Missing values: empty cells and tokens such as ``NA``, ``NaN``, ``null``, ``?``, ``-``.
  Infinite values count as missing. With ``missing="drop"`` (the default) rows with a missing
  value in a kept column are dropped and counted. With ``missing="keep"`` they are kept with
  NaN in the missing cells (for ``EM(..., missing="em")``, which fits each row on its observed
  columns) and counted in ``ReadReport.kept_rows_missing``; only rows whose every kept cell is
  missing are dropped. Rows with every cell empty (``,,,`` from spreadsheets) are skipped like
  blank lines.

What it drops, and says so
--------------------------
- An index column: one named like an id (``rownames``, ``index``, ``id``, ``Unnamed: 0``, ...)
  or the unnamed first column, whose values are all present and unique (whole numbers, or text
  such as R's row names). In a file without a header only a first column holding exactly
  ``0..n-1`` or ``1..n`` counts. An ordinary column that merely increases is kept.
- Text columns, and entirely empty columns.
- Columns that are mostly numbers but have many text cells ("mixed" columns: more than
  :data:`MAX_STRAY_CELLS` and more than a tenth of the column's cells), such as numbers
  written with their units. They are dropped whole rather than guessed at.

A column of numbers with a few stray text cells (a typo such as ``3.4x``, a ``n.d.`` or
``#VALUE!``) is a numeric column: those cells are *unreadable*, count as missing values (their
rows are dropped and counted), and the report says how many there were and shows a few.

Limits
------
So that the app stays responsive, and so that a hostile file costs little, ``read_csv`` refuses

- files over ``max_bytes`` (default 20 MB, that is 20,000,000 bytes; sizes are said in
  decimal units, 1 MB = 1,000,000 bytes);
- files with more than ``max_columns`` columns (default 1,000), counted in the widest of the
  first row and the rows sniffed, before any cell is parsed;
- files with more than ``max_cells`` cells (default 2,000,000, header row included), counted as
  the parser builds them: lines times the widest of those rows, since every row is padded to
  the first row's width.

Cells longer than :data:`MAX_NUMBER_CHARS` (100) characters are text, never numbers: no number
a person writes is that long, and reading one would cost time for nothing. At least 2 usable
rows are needed.

Duplicate column names are kept apart: ``a, a, a.1`` becomes ``a``, ``a (2)``, ``a.1`` (the
number is one that no other column uses), and the report says so.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import itertools
import os
import re
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache
from importlib import resources

import numpy as np
import pandas as pd

from emcore.validation import LARGEST_MAGNITUDE

# Decimal megabytes, like the browser's own limit, so that every message says "20 MB".
MAX_BYTES = 20_000_000
MAX_CELLS = 2_000_000
# Far more than EM can use (the app fits a handful of columns), far fewer than would make
# the per-column work slow.
MAX_COLUMNS = 1_000
# Longer cells are text without being parsed: a float64 needs 17 significant digits and an
# exponent, and parsing a 60,000-digit "number" would only cost time.
MAX_NUMBER_CHARS = 100
MIN_ROWS = 2
# Text cells in a column of numbers are stray (unreadable, so missing) up to this many, or up
# to this share of the column's cells; beyond both the column is "mixed" and dropped.
MAX_STRAY_CELLS = 3
MAX_STRAY_SHARE = 0.1

# Sniffing looks at about this many characters (whole lines) and at most this many rows.
_SAMPLE_CHARS = 65_536
_SAMPLE_ROWS = 500
# More control characters than this fraction of the text means the file is not text.
_MAX_CONTROL_FRACTION = 0.01
# Latin-1 text has a few accented letters; random bytes have about half their bytes >= 0x80.
_MAX_HIGH_BYTE_FRACTION = 0.3
# Messages and summaries name at most this many columns of a kind.
_MAX_LISTED_COLUMNS = 5
# Cells are turned into numbers this many at a time.
_CHUNK_CELLS = 65_536
# Summaries tell how at most this many shared names were told apart.
_MAX_LISTED_RENAMES = 3
# Summaries show at most this many unreadable cells.
_MAX_LISTED_UNREADABLE = 3

# Candidate separators, in the order that wins a tie. " " stands for runs of whitespace.
_SEPARATORS = (",", ";", "\t", "|", " ")
_SEPARATOR_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "bar", " ": "whitespace"}

_MISSING_TOKENS = frozenset(
    {"", "na", "n/a", "n.a.", "nan", "null", "none", "nil", "missing", "?", "-", "--", ".", "#n/a"}
    | {"#na", "<na>", "na_real_"}
)
_INDEX_NAMES = frozenset(
    {"rownames", "row.names", "row_names", "rowname", "index", "idx", "id", "row", "rowid"}
    | {"row_id", "#", "obs"}
)
_UNNAMED = re.compile(r"unnamed: \d+", re.IGNORECASE)
# Each part can match a digit in only one way, so a failed match takes time linear in the
# cell's length (``\d+\.?\d*`` tried every split of a run of digits: quadratic).
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_DECIMAL_COMMA_NUMBER = re.compile(r"[+-]?(?:\d+,\d*|,\d+)(?:[eE][+-]?\d+)?")
# The longest missing-value token; longer cells need not be compared with them.
_LONGEST_MISSING_TOKEN = max(len(token) for token in _MISSING_TOKENS)
_NON_SPACE = re.compile(r"\S")
# The first characters of the cells pd.to_numeric can read (stripped cells; "inf" included).
_NUMBER_STARTS = frozenset("0123456789+-.iI")
_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0e-\x1f\x7f]")
_SEP_HINT = re.compile(r"sep=(.)[ \t]*(\n|$)", re.IGNORECASE)
_RAGGED = re.compile(r"Expected (\d+) fields in line (\d+), saw (\d+)")

# File signatures (magic bytes) of things people upload by mistake.
_SIGNATURES = (
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"%PDF", "a PDF document"),
    (b"\x1f\x8b", "a gzip-compressed file"),
    (b"PAR1", "a Parquet file"),
    (b"SQLite format 3", "an SQLite database"),
)
_EXCEL_HINT = (
    "In Excel use File > Save As and choose 'CSV UTF-8 (comma delimited)', then upload that."
)
_CSV_HINT = "Export your table as CSV (comma-separated values) and upload that file."


class DataError(ValueError):
    """A file or data set that cannot be used, with a message that says what to do."""


@dataclass(frozen=True)
class ReadReport:
    """What :func:`read_csv` found and did, for showing to the user.

    Attributes
    ----------
    n_rows, n_columns : int
        Size of the returned table (kept rows and numeric columns).
    columns : tuple of str
        Names of the kept columns.
    separator : str or None
        ``","``, ``";"``, ``"\\t"``, ``"|"`` or ``" "`` (runs of whitespace); None when the
        data did not come from a text file (iris).
    decimal : str
        ``"."``, or ``","`` when decimal commas were read.
    encoding : str or None
        ``"utf-8"``, ``"utf-8-sig"`` (UTF-8 with BOM), ``"utf-16"`` or ``"latin-1"``.
    had_header : bool
        False when the first row held numbers and the columns were named ``x1, x2, ...``.
    index_column : str or None
        The id or index column that was dropped, if any.
    dropped_text_columns, dropped_mixed_columns, dropped_empty_columns : tuple of str
        Columns dropped because they hold text, numbers mixed with some text, or nothing.
    dropped_unused_columns : tuple of str
        Numeric columns a built-in data set leaves out (penguins' ``year``).
    dropped_rows_missing : int
        Rows dropped because a kept column had a missing, infinite or unreadable value in them
        (with ``missing="keep"``: because every kept column had).
    unreadable_cells : int
        Text cells in kept columns of numbers (``3.4x``), read as missing values.
    unreadable_examples : tuple of (str, str)
        ``(column, cell)`` for the first few of them, for the summary.
    kept_rows_missing : int
        With ``missing="keep"``: rows kept with some (not all) kept cells missing (NaN).

    out_of_range_cells : int
        Cells beyond +-10^100 in kept columns (their squares leave float64's range, see
        :data:`emcore.validation.LARGEST_MAGNITUDE`), read as missing values like infinities.
    renamed_columns : tuple of (str, str)
        ``(name in the file, name given)`` for each column whose header name an earlier
        column already had: ``a, a`` are read as ``a`` and ``a (2)``.
    """

    n_rows: int
    n_columns: int
    columns: tuple[str, ...] = ()
    separator: str | None = None
    decimal: str = "."
    encoding: str | None = None
    had_header: bool = True
    index_column: str | None = None
    dropped_text_columns: tuple[str, ...] = ()
    dropped_mixed_columns: tuple[str, ...] = ()
    dropped_empty_columns: tuple[str, ...] = ()
    dropped_unused_columns: tuple[str, ...] = ()
    dropped_rows_missing: int = 0
    renamed_columns: tuple[tuple[str, str], ...] = ()
    unreadable_cells: int = 0
    unreadable_examples: tuple[tuple[str, str], ...] = ()
    kept_rows_missing: int = 0
    out_of_range_cells: int = 0

    def summary(self) -> str:
        """One or a few plain sentences, mentioning only what happened.

        Examples
        --------
        "Read 342 rows and 5 numeric columns; dropped 3 text columns (species, island, sex),
        the index column 'rownames' and 2 rows with missing values."

        "Read 2 rows and 3 numeric columns. 2 columns are both named 'a'; the second is called
        'a (2)'."
        """
        sentence = (
            f"Read {_count(self.n_rows, 'row')} and {_count(self.n_columns, 'numeric column')}"
        )
        dropped = self._dropped_phrases()
        if dropped:
            sentence += "; dropped " + _join(dropped)
        sentence += "."
        if not self.had_header and self.columns:
            sentence += (
                " The first row holds numbers, so it was read as data and the columns are named "
                f"{_name_range(self.columns)}."
            )
        unreadable = _unreadable_sentence(self.unreadable_cells, self.unreadable_examples)
        kept = _kept_missing_sentence(self.kept_rows_missing)
        huge = _out_of_range_sentence(self.out_of_range_cells)
        renamed = _renaming_sentences(self.renamed_columns)
        return " ".join([sentence, *kept, *unreadable, *huge, *renamed])

    def _dropped_phrases(self) -> list[str]:
        groups = (
            (self.dropped_text_columns, "text column", None),
            (
                self.dropped_mixed_columns,
                "column with some text cells",
                "columns with some text cells",
            ),
            (self.dropped_empty_columns, "empty column", None),
            (self.dropped_unused_columns, "unused column", None),
        )
        phrases = [
            f"{_count(len(names), singular, plural)} ({_list_names(names)})"
            for names, singular, plural in groups
            if names
        ]
        if self.index_column is not None:
            phrases.append(_index_phrase(self.index_column))
        if self.dropped_rows_missing:
            what = "missing or unreadable values" if self.unreadable_cells else "missing values"
            phrases.append(f"{_count(self.dropped_rows_missing, 'row')} with {what}")
        return phrases


def _out_of_range_sentence(n_cells: int) -> list[str]:
    """'1 cell is beyond 10^100 in size ...' when there are any."""
    if not n_cells:
        return []
    verb = "is" if n_cells == 1 else "are"
    return [
        f"{_count(n_cells, 'cell')} {verb} beyond 10^100 in size, where squares and variances "
        "leave the range of computer numbers: read as missing values."
    ]


def _kept_missing_sentence(n_rows: int) -> list[str]:
    """'12 rows have missing values; EM fits them on their observed columns.'"""
    if not n_rows:
        return []
    verb = "has" if n_rows == 1 else "have"
    them = "it" if n_rows == 1 else "them"
    columns = "its" if n_rows == 1 else "their"
    return [
        f"{_count(n_rows, 'row')} {verb} missing values; EM fits {them} on {columns} "
        "observed columns."
    ]


def _unreadable_sentence(n_cells: int, examples: tuple[tuple[str, str], ...]) -> list[str]:
    """ "2 cells are not numbers ('3.4x' in height, 'n.d.' in width) and count as missing." """
    if not n_cells:
        return []
    shown = [f"'{_short(cell, 20)}' in {_short(column, 30)}" for column, cell in examples]
    more = n_cells - len(shown)
    if more > 0:
        shown.append(f"{more:,} more")
    verb = "is not a number" if n_cells == 1 else "are not numbers"
    counts = "counts" if n_cells == 1 else "count"
    return [f"{_count(n_cells, 'cell')} {verb} ({_join(shown)}) and {counts} as missing."]


def _renaming_sentences(renamed: tuple[tuple[str, str], ...]) -> list[str]:
    """'2 columns are both named 'a'; the second is called 'a (2)'.', one per shared name."""
    new_names: dict[str, list[str]] = {}
    for original, new in renamed:
        new_names.setdefault(original, []).append(new)
    # A file whose every header cell says "x" must not give a summary as long as the file.
    shown = list(new_names.items())[:_MAX_LISTED_RENAMES]
    sentences = [_renaming_sentence(original, news) for original, news in shown]
    n_more = len(new_names) - len(shown)
    if n_more:
        sentences.append(
            f"{_count(n_more, 'other name is', 'other names are')} shared by several columns, "
            "which are numbered the same way."
        )
    return sentences


def _renaming_sentence(original: str, new_names: list[str]) -> str:
    if len(new_names) == 1:
        return (
            f"2 columns are both named {_quoted(original)}; the second is called "
            f"{_quoted(new_names[0])}."
        )
    return (
        f"{len(new_names) + 1:,} columns are named {_quoted(original)}; the others are called "
        f"{_list_quoted(new_names)}."
    )


def read_csv(
    source: object,
    *,
    max_bytes: int = MAX_BYTES,
    max_cells: int = MAX_CELLS,
    max_columns: int = MAX_COLUMNS,
    missing: str = "drop",
) -> pd.DataFrame:
    """Read a CSV file into a DataFrame of the numeric columns, ready for EM.

    Parameters
    ----------
    source : str, os.PathLike, bytes or binary file-like
        A path, the file's bytes, or an object with ``getvalue()`` or ``read()`` such as
        Streamlit's ``UploadedFile`` or ``io.BytesIO``.
    max_bytes : int
        Refuse files larger than this many bytes (default 20,000,000, said as "20 MB").
    max_cells : int
        Refuse files with more cells than this (default 2,000,000): lines times the widest
        of the first row and the sniffed rows, header included, as the parser would build them.
    max_columns : int
        Refuse files with more columns than this (default 1,000), before parsing any cell.
    missing : {"drop", "keep"}
        ``"drop"`` (default): rows with a missing, infinite or unreadable value in a kept
        column are dropped and counted in ``dropped_rows_missing``. ``"keep"``: such rows are
        kept with NaN in those cells (fit them with ``missing="em"``) and counted in
        ``kept_rows_missing``; rows whose every kept cell is missing are still dropped.

    Returns
    -------
    pandas.DataFrame
        Float64 columns, finite values (or NaN with ``missing="keep"``), at least 2 rows, a
        fresh 0..n-1 index, and the :class:`ReadReport` in ``df.attrs["report"]``.

    Raises
    ------
    DataError
        For anything that cannot be used, with a message that says what to do. No other
        exception escapes.

    Notes
    -----
    Cells longer than :data:`MAX_NUMBER_CHARS` characters are read as text. Columns with the
    same name are kept apart as ``a``, ``a (2)``, ... and listed in the report's
    ``renamed_columns``.
    """
    if not (isinstance(missing, str) and missing in ("drop", "keep")):
        raise DataError(f"missing must be 'drop' or 'keep'; got {_short(repr(missing))}.")
    return _guarded(
        lambda: _read(
            source,
            max_bytes=max_bytes,
            max_cells=max_cells,
            max_columns=max_columns,
            missing=missing,
        )
    )


def _guarded(read: Callable[[], pd.DataFrame]) -> pd.DataFrame:
    # The app shows DataError messages to students; anything else would be a crash, so the
    # specific checks come first and this turns whatever slips past them into a DataError.
    try:
        return read()
    except DataError:
        raise
    except Exception as error:
        detail = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise DataError(
            f"This file could not be read as a table of numbers ({_short(detail, 200)}). "
            f"{_CSV_HINT}"
        ) from error


def _read(
    source: object,
    *,
    max_bytes: int = MAX_BYTES,
    max_cells: int = MAX_CELLS,
    max_columns: int = MAX_COLUMNS,
    keep: tuple[str, ...] | None = None,
    label: str | None = None,
    missing: str = "drop",
) -> pd.DataFrame:
    _check_limit("max_bytes", max_bytes)
    _check_limit("max_cells", max_cells)
    _check_limit("max_columns", max_columns)
    data = _source_bytes(source, max_bytes)
    _refuse_oversized(len(data), max_bytes)
    _refuse_known_binary(data)
    text, encoding = _decode(data)
    _refuse_non_table_text(text)
    # One kind of line end, so sniffing and parsing agree on what a line is.
    text, separator = _separator_hint(text.replace("\r\n", "\n").replace("\r", "\n"))
    sniffed = _sniff(text, separator)
    cells = _parse_cells(text, sniffed, _Limits(max_cells, max_columns))
    table = _Table.from_cells(cells, sniffed)
    return table.to_frame(encoding, keep, label, missing)


# ---------------------------------------------------------------------------------------------
# Getting the bytes


def _check_limit(name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise DataError(f"{name} must be a whole number of at least 1; got {_short(repr(value))}.")


def _source_bytes(source: object, max_bytes: int) -> bytes:
    if isinstance(source, bytes | bytearray | memoryview):
        return bytes(source)
    if isinstance(source, str | os.PathLike):
        return _path_bytes(source, max_bytes)
    if hasattr(source, "getvalue"):
        # Streamlit's UploadedFile: getvalue() returns everything, wherever the read position.
        return _as_bytes(source.getvalue())
    if hasattr(source, "read"):
        # One byte over the limit is enough to know the file is too large.
        return _as_bytes(source.read(max_bytes + 1))
    raise DataError(
        f"read_csv needs a file path, the file's bytes or an uploaded file; "
        f"got {_short(type(source).__name__)}."
    )


def _as_bytes(content: object) -> bytes:
    if isinstance(content, str):
        return content.encode("utf-8")
    if isinstance(content, bytes | bytearray | memoryview):
        return bytes(content)
    raise DataError(f"The uploaded file gave {_short(type(content).__name__)} instead of bytes.")


def _path_bytes(path: str | os.PathLike, max_bytes: int) -> bytes:
    hint = ""
    if isinstance(path, str) and ("\n" in path or len(path) > 1000):
        hint = " To read CSV text rather than a file, pass text.encode() (bytes)."
    try:
        size = os.path.getsize(path)
        _refuse_oversized(size, max_bytes)
        with open(path, "rb") as file:
            return file.read(max_bytes + 1)
    except DataError:
        # A DataError is a ValueError too: the too-large sentence must not be wrapped below.
        raise
    except FileNotFoundError:
        raise DataError(f"There is no file at {_short(str(path))!r}.{hint}") from None
    except IsADirectoryError:
        raise DataError(f"{_short(str(path))!r} is a folder, not a file.") from None
    except PermissionError:
        raise DataError(f"{_short(str(path))!r} cannot be opened: permission denied.") from None
    except (OSError, ValueError) as error:
        # An OSError's text repeats the whole path; its strerror does not.
        reason = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
        raise DataError(
            f"{_short(str(path))!r} cannot be opened ({_short(reason)}).{hint}"
        ) from None


def _refuse_oversized(size: int, max_bytes: int) -> None:
    if size > max_bytes:
        limit = _format_bytes(max_bytes)
        # 20,000,001 bytes rounds to "20 MB" too; then only the exact count says why.
        said = _format_bytes(size)
        said = f"{size:,} bytes" if said == limit else said
        raise DataError(
            f"The file is {said}, more than the {limit} limit "
            "that keeps the app responsive. Upload a smaller file, for example a random sample "
            "of its rows."
        )


# ---------------------------------------------------------------------------------------------
# Is it text at all?


def _refuse_known_binary(data: bytes) -> None:
    if not data.strip():
        raise DataError("The file is empty. Upload a CSV file with a header row and rows of data.")
    if data.startswith(b"PK\x03\x04"):
        raise DataError(_zip_message(data))
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        raise DataError(
            f"This looks like an old Excel file (.xls), not a CSV text file. {_EXCEL_HINT}"
        )
    for signature, description in _SIGNATURES:
        if data.startswith(signature):
            raise DataError(f"This looks like {description}, not a CSV text file. {_CSV_HINT}")


def _zip_message(data: bytes) -> str:
    if b"opendocument.spreadsheet" in data[:200]:
        return (
            "This looks like a LibreOffice spreadsheet (.ods), not a CSV text file. "
            "Use File > Save As and choose 'Text CSV', then upload that."
        )
    if b"word/" in data and b"xl/" not in data:
        return f"This looks like a Word document, not a CSV text file. {_CSV_HINT}"
    # Workbooks (.xlsx) are ZIP archives; they are by far the most common mistake.
    return f"This looks like an Excel file (.xlsx) or a ZIP archive, not a CSV file. {_EXCEL_HINT}"


def _decode(data: bytes) -> tuple[str, str]:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16"), "utf-16"
    try:
        encoding = "utf-8-sig" if data.startswith(b"\xef\xbb\xbf") else "utf-8"
        return data.decode("utf-8-sig"), encoding
    except UnicodeDecodeError:
        pass
    sample = data[:_SAMPLE_CHARS]
    n_high = len(sample.translate(None, delete=bytes(range(0x80))))
    if n_high > _MAX_HIGH_BYTE_FRACTION * len(sample):
        raise DataError(_binary_message())
    # Latin-1 maps every byte to a character, so it never fails.
    return data.decode("latin-1"), "latin-1"


def _binary_message() -> str:
    return (
        "This file looks binary (it is not plain text), so it is not a CSV file. If it is a "
        f"spreadsheet, save it as CSV first. {_CSV_HINT}"
    )


def _refuse_non_table_text(text: str) -> None:
    if not text.strip():
        raise DataError("The file is empty. Upload a CSV file with a header row and rows of data.")
    if "\x00" in text:
        raise DataError(_binary_message())
    sample = text[:_SAMPLE_CHARS]
    if len(_CONTROL_CHARS.findall(sample)) > _MAX_CONTROL_FRACTION * len(sample):
        raise DataError(_binary_message())
    start = text[_first_non_space(text) :][:2048].lower()
    if start.startswith("<") and any(tag in start for tag in ("<html", "<!doctype html", "<head")):
        raise DataError(
            "This is a web page (HTML), not a CSV file; it was probably saved from the browser "
            "by mistake. Download the raw CSV file instead (look for a 'Raw' or 'Download' link)."
        )
    if start.startswith("<?xml"):
        raise DataError(f"This is an XML file, not a CSV file. {_CSV_HINT}")


# ---------------------------------------------------------------------------------------------
# Finding the separator


@dataclass(frozen=True)
class _Sniffed:
    separator: str
    widest: int  # the most cells in a sampled row
    # Where the header row lacks a cell that the data rows have: "front" (R's write.table
    # leaves out the row names' header), "back" (a separator ends every data row) or None.
    header_gap: str | None = None

    @property
    def decimal_comma(self) -> bool:
        # With a comma separator "1,234" may be a thousands separator, so it stays text.
        return self.separator != ","


def _separator_hint(text: str) -> tuple[str, str | None]:
    """Text without Excel's ``sep=;`` first line, and the separator that line names."""
    text = text.removeprefix("\ufeff")
    match = _SEP_HINT.match(text)
    if match and match.group(1) in _SEPARATORS:
        return text[match.end() :], match.group(1)
    return text, None


def _sniff(text: str, forced: str | None) -> _Sniffed:
    sample, complete = _sample(text)
    candidates = (forced,) if forced else _SEPARATORS
    rows = {separator: _split_rows(sample, separator) for separator in candidates}
    scores = {separator: _score(rows[separator], separator) for separator in candidates}
    usable = [separator for separator in candidates if scores[separator] is not None]
    # max() keeps the first of equal scores, so ties go to the earlier separator.
    separator = max(usable, key=lambda sep: scores[sep]) if usable else candidates[0]
    chosen = rows[separator]
    widths = [len(row) for row in chosen]
    # A row cut off by the end of the sample says nothing about the whole row's width.
    widest = max(widths if complete else widths[:-1], default=1)
    return _Sniffed(separator, widest, _header_gap(chosen))


def _header_gap(rows: list[list[str]]) -> str | None:
    if len(rows) < 2 or all(_looks_numeric(cell.strip(), True) for cell in rows[0]):
        return None
    width = _modal_width([len(row) for row in rows[1:]])
    if len(rows[0]) != width - 1:
        return None
    full_rows = [row for row in rows[1:] if len(row) == width]
    return "back" if all(not row[-1].strip() for row in full_rows) else "front"


def _sample(text: str) -> tuple[str, bool]:
    """About _SAMPLE_CHARS characters of the text, and whether its last line is whole."""
    start = _first_non_space(text)
    first_end = text.find("\n", start)
    if first_end - start > _SAMPLE_CHARS and _NON_SPACE.search(text, first_end):
        # A first row too long to sniff (a wide or hostile header): the rows below show the
        # separator as well, and the first row's width is counted exactly before parsing.
        start = first_end + 1
    end = start + _SAMPLE_CHARS
    if end >= len(text):
        return text[start:], True
    # Whole lines, so the last sampled row is not cut in half; but never more, since a file
    # can be one 20 MB line and sniffing splits and tests the whole sample five times.
    cut = text.rfind("\n", start, end)
    if cut == -1 or not text[start:cut].strip():
        return text[start:end], False
    return text[start:cut], True


def _split_rows(sample: str, separator: str) -> list[list[str]]:
    """The sample's non-blank rows split on ``separator`` ([] if the csv module gives up)."""
    if separator == " ":
        lines = (line.strip() for line in sample.split("\n"))
        reader = csv.reader((line for line in lines if line), delimiter=" ", skipinitialspace=True)
    else:
        reader = csv.reader(io.StringIO(sample), delimiter=separator, skipinitialspace=True)
    try:
        rows = list(itertools.islice(reader, _SAMPLE_ROWS))
    except csv.Error:
        return []
    return [row for row in rows if any(cell.strip() for cell in row)]


def _modal_width(widths: list[int]) -> int:
    if not widths:
        return 1
    counts = Counter(widths)
    # The most common width; between equally common widths, the larger.
    return max(counts, key=lambda width: (counts[width], width))


def _score(rows: list[list[str]], separator: str) -> tuple[float, float] | None:
    """(share of rows of the usual width, share of data cells that are numbers).

    None when the separator does not split rows at all. Consistent widths come first; the
    share of numbers settles files where two separators split evenly, such as ``1,5;2,5``.
    """
    widths = [len(row) for row in rows]
    modal = _modal_width(widths)
    if modal < 2:
        return None
    data_rows = rows[1:] if len(rows) > 1 else rows
    cells = [cell.strip() for row in data_rows for cell in row]
    decimal_comma = separator != ","
    numbers = sum(1 for cell in cells if _looks_numeric(cell, decimal_comma))
    return widths.count(modal) / len(widths), numbers / max(len(cells), 1)


def _looks_numeric(cell: str, decimal_comma: bool) -> bool:
    if len(cell) > MAX_NUMBER_CHARS:
        return False
    if _NUMBER.fullmatch(cell):
        return True
    return decimal_comma and _DECIMAL_COMMA_NUMBER.fullmatch(cell) is not None


# ---------------------------------------------------------------------------------------------
# Splitting into cells


@dataclass(frozen=True)
class _Limits:
    cells: int
    columns: int


def _parse_cells(text: str, sniffed: _Sniffed, limits: _Limits) -> np.ndarray:
    """All cells as stripped strings (rows by columns), header row included, blank rows removed."""
    text = _fill_header_gap(text, sniffed)
    _refuse_too_large_table(text, sniffed, limits)
    separator = r"\s+" if sniffed.separator == " " else sniffed.separator
    try:
        # No names=: pandas then takes the width from the first row and refuses longer rows,
        # where names= would make it drop or shift cells silently. Bytes, because a StringIO
        # would hold the text as 4 bytes per character.
        frame = pd.read_csv(
            io.BytesIO(text.encode("utf-8")),
            sep=separator,
            header=None,
            dtype=object,
            na_filter=False,
            skipinitialspace=True,
            skip_blank_lines=True,
            engine="c",
        )
    except pd.errors.EmptyDataError:
        raise DataError(
            "The file has no rows of data. Upload a CSV file with a header row and data."
        ) from None
    except pd.errors.ParserError as error:
        raise DataError(_parser_message(str(error), sniffed.separator)) from None
    # The checks above count what pandas builds; these catch any way they could be wrong.
    if frame.shape[1] > limits.columns:
        raise DataError(_too_many_columns_message(frame.shape[1], limits.columns))
    if frame.size > limits.cells:
        raise DataError(_too_many_cells_message(*frame.shape, limits.cells))
    cells = _strip(frame.to_numpy(dtype=object))
    return cells[(cells != "").any(axis=1)]


def _strip(cells: np.ndarray) -> np.ndarray:
    # One call over every cell: per-column pandas string methods cost far more at 1,000 columns.
    return np.frompyfunc(str.strip, 1, 1)(cells) if cells.size else cells


def _refuse_too_large_table(text: str, sniffed: _Sniffed, limits: _Limits) -> None:
    """Refuse, before pandas allocates anything, a table wider or larger than the limits."""
    # pandas pads every row to the first row's width (and refuses wider rows), so a wide
    # header over narrow rows costs its full width in every row.
    width = max(_first_row_width(text, sniffed.separator), sniffed.widest)
    if width > limits.columns:
        raise DataError(_too_many_columns_message(width, limits.columns))
    n_lines = text.rstrip("\n").count("\n") + 1
    if n_lines * width > limits.cells:
        raise DataError(_too_many_cells_message(n_lines, width, limits.cells))


def _first_row_width(text: str, separator: str) -> int:
    """How many cells pandas gives the first row that is not blank."""
    start = _first_non_space(text)
    end = text.find("\n", start)
    line = text[start : len(text) if end == -1 else end]
    if '"' not in line:
        # Without quotes every separator ends a cell: counting is exact and runs at C speed.
        return len(line.split()) if separator == " " else line.count(separator) + 1
    # A quoted cell may hold separators and line ends; the csv module reads them as pandas
    # does, and reads only as far as the first row goes.
    lines = _lines_from(text, start, whitespace=separator == " ")
    delimiter = " " if separator == " " else separator
    try:
        row = next(csv.reader(lines, delimiter=delimiter, skipinitialspace=True), [])
    except csv.Error:
        # csv's limit on a cell's length (131,072 characters): a quote that is never closed,
        # or a header cell far longer than any name.
        raise DataError(
            'A quote mark (") in the first row opens a cell that runs on for much of the file. '
            "Remove the stray quote or close it, then upload the file again."
        ) from None
    return max(len(row), 1)


def _lines_from(text: str, start: int, *, whitespace: bool) -> Iterator[str]:
    """The text's lines from ``start``, one at a time, as the csv module reads them."""
    while start < len(text):
        end = text.find("\n", start)
        end = len(text) if end == -1 else end + 1
        line = text[start:end]
        # pandas splits on runs of spaces and tabs and ignores them at a line's end.
        yield line.replace("\t", " ").rstrip() + "\n" if whitespace else line
        start = end


def _first_non_space(text: str) -> int:
    # A search, not text.lstrip(), which would copy a 20 MB text to look at its start.
    match = _NON_SPACE.search(text)
    return match.start() if match else len(text)


def _fill_header_gap(text: str, sniffed: _Sniffed) -> str:
    """Give the header row the empty cell it lacks, so that every row has the same width."""
    if sniffed.header_gap is None:
        return text
    empty_cell = '""' if sniffed.separator == " " else ""
    blank = _first_non_space(text)
    end = text.find("\n", blank)
    end = len(text) if end == -1 else end
    header = text[blank:end]
    if sniffed.header_gap == "front":
        header = f"{empty_cell}{sniffed.separator}{header}"
    else:
        header = f"{header}{sniffed.separator}{empty_cell}"
    return text[:blank] + header + text[end:]


def _too_many_columns_message(n_columns: int, max_columns: int) -> str:
    return (
        f"The file has {n_columns:,} columns; at most {max_columns:,} can be read. Keep only "
        "the columns you want to fit and upload the file again."
    )


def _too_many_cells_message(n_rows: int, n_columns: int, max_cells: int) -> str:
    return (
        f"The file has about {n_rows * n_columns:,} cells ({_count(n_rows, 'row')} × "
        f"{_count(n_columns, 'column')}), more than the limit of {max_cells:,} that keeps the "
        "app responsive. Upload a random sample of the rows, or fewer columns."
    )


def _parser_message(detail: str, separator: str) -> str:
    ragged = _RAGGED.search(detail)
    if ragged:
        expected, line, seen = ragged.groups()
        return (
            f"Line {line} has {seen} values but the first row has {expected}. Every row "
            f"needs the same number of {_SEPARATOR_NAMES[separator]}-separated values; a stray "
            "separator, or a separator inside an unquoted value, usually causes this."
        )
    if "EOF inside string" in detail or "EOF following" in detail:
        return (
            'A quote mark (") is opened but never closed, so the rest of the file reads as one '
            "value. Remove the stray quote or close it."
        )
    return f"The file could not be split into columns ({_short(detail.strip(), 200)}). {_CSV_HINT}"


# ---------------------------------------------------------------------------------------------
# From cells to numbers


@dataclass(frozen=True, eq=False)
class _Column:
    name: str
    values: np.ndarray  # float64, NaN where a cell is missing or text
    n_missing: int
    n_text: int
    text_example: str | None
    cells: np.ndarray  # the original strings, for index detection
    has_decimal_commas: bool = False

    @property
    def kind(self) -> str:
        n_present = len(self.values) - self.n_missing
        if n_present == 0:
            return "empty"
        if self.n_text == 0 or self.stray:
            return "numeric"
        return "mixed" if self.n_text < n_present - self.n_text else "text"

    @property
    def stray(self) -> bool:
        """A few text cells in a column of numbers: unreadable cells, not a text column."""
        n_present = len(self.values) - self.n_missing
        few = self.n_text <= MAX_STRAY_CELLS or self.n_text <= MAX_STRAY_SHARE * n_present
        return 0 < self.n_text < n_present - self.n_text and few

    def unreadable(self, limit: int) -> list[str]:
        """The column's first ``limit`` text cells (its unreadable cells when it is stray)."""
        values = self.values
        found: list[str] = []
        for position in np.flatnonzero(np.isnan(values))[: limit + self.n_missing]:
            cell = str(self.cells[position])
            if not _is_missing_token(cell):
                found.append(cell)
            if len(found) == limit:
                break
        return found


@dataclass(frozen=True)
class _Numbers:
    """Cells read as numbers; every array has the cells' shape."""

    values: np.ndarray  # float64, NaN where a cell is missing or text
    missing: np.ndarray  # a missing-value token such as "" or "NA"
    decimal_comma: np.ndarray  # read as a number written with a decimal comma

    @property
    def text(self) -> np.ndarray:
        return ~self.missing & np.isnan(self.values)


def _numbers(cells: np.ndarray, decimal_comma: bool) -> _Numbers:
    """Read stripped cells of any shape, a chunk of cells per call rather than a column."""
    flat = cells.ravel()
    values = np.full(flat.size, np.nan)
    missing = np.zeros(flat.size, dtype=bool)
    commas = np.zeros(flat.size, dtype=bool)
    # Chunks bound the parsers' temporaries: pd.to_numeric keeps several arrays per cell.
    for start in range(0, flat.size, _CHUNK_CELLS):
        part = slice(start, start + _CHUNK_CELLS)
        _read_chunk(flat[part], decimal_comma, _Numbers(values[part], missing[part], commas[part]))
    return _Numbers(*(array.reshape(cells.shape) for array in (values, missing, commas)))


def _read_chunk(cells: np.ndarray, decimal_comma: bool, into: _Numbers) -> None:
    """Fill ``into`` (views of the whole table's arrays) from a flat chunk of cells."""
    # Only a cell that starts like a number (or "inf") can be one, and pd.to_numeric takes
    # three times longer to reject a cell than to read one. Longer cells are text unparsed.
    readable = np.fromiter(map(_may_be_number, cells), dtype=bool, count=cells.size)
    candidates = np.flatnonzero(readable)
    to_read = cells[candidates]
    if decimal_comma:
        # "3,14" -> "3.14" before reading: one pass of the parser instead of two.
        commas = np.fromiter(map(_has_decimal_comma, to_read), dtype=bool, count=to_read.size)
        to_read[commas] = [cell.replace(",", ".") for cell in to_read[commas]]
    into.values[candidates] = _to_floats(to_read)
    if decimal_comma:
        with_comma = candidates[commas]
        into.decimal_comma[with_comma] = ~np.isnan(into.values[with_comma])
    # Every missing-value token reads as NaN, so only unread cells need comparing with them.
    unread = np.flatnonzero(np.isnan(into.values))
    into.missing[unread] = list(map(_is_missing_token, cells[unread]))


def _may_be_number(cell: str) -> bool:
    return len(cell) <= MAX_NUMBER_CHARS and cell[:1] in _NUMBER_STARTS


def _is_missing_token(cell: str) -> bool:
    return len(cell) <= _LONGEST_MISSING_TOKEN and cell.lower() in _MISSING_TOKENS


def _has_decimal_comma(cell: str) -> bool:
    return "." not in cell and cell.count(",") == 1


def _to_floats(cells: np.ndarray) -> np.ndarray:
    if not cells.size:
        return np.empty(0)
    return np.asarray(pd.to_numeric(cells, errors="coerce"), dtype=np.float64)


def _make_columns(names: list[str], body: np.ndarray, decimal_comma: bool) -> list[_Column]:
    numbers = _numbers(body, decimal_comma)
    text = numbers.text
    n_missing = numbers.missing.sum(axis=0)
    n_text = text.sum(axis=0)
    first_text = text.argmax(axis=0)
    has_commas = numbers.decimal_comma.any(axis=0)
    return [
        _Column(
            name,
            numbers.values[:, position],
            int(n_missing[position]),
            int(n_text[position]),
            str(body[first_text[position], position]) if n_text[position] else None,
            body[:, position],
            bool(has_commas[position]),
        )
        for position, name in enumerate(names)
    ]


def _column_names(header: list[str]) -> tuple[list[str], tuple[tuple[str, str], ...]]:
    """A different name for each header cell, and (name, new name) for each renamed one.

    A repeated name gets the first free number: ``a, a, a (2)`` gives ``a, a (3), a (2)``, so
    a new name is never one that another column of the file has.
    """
    wanted = [cell or f"Unnamed: {position}" for position, cell in enumerate(header)]
    taken = set(wanted)
    next_number: dict[str, int] = {}
    names: list[str] = []
    renamed: list[tuple[str, str]] = []
    for name in wanted:
        if name in next_number:
            number = next_number[name]
            while f"{name} ({number})" in taken:
                number += 1
            new_name = f"{name} ({number})"
            taken.add(new_name)
            renamed.append((name, new_name))
            next_number[name] = number + 1
            names.append(new_name)
        else:
            next_number[name] = 2
            names.append(name)
    return names, tuple(renamed)


@dataclass
class _Table:
    columns: list[_Column]
    sniffed: _Sniffed
    had_header: bool
    index_column: str | None
    renamed: tuple[tuple[str, str], ...] = ()

    @classmethod
    def from_cells(cls, cells: np.ndarray, sniffed: _Sniffed) -> _Table:
        if cells.size == 0:
            raise DataError(
                "The file has no rows of data. Upload a CSV file with a header row and data."
            )
        # A header is any first row that is not all numbers.
        first_row = _numbers(cells[0], sniffed.decimal_comma).values
        had_header = bool(np.isnan(first_row).any())
        if had_header:
            body = cells[1:]
            names, renamed = _column_names([str(cell) for cell in cells[0]])
        else:
            body, renamed = cells, ()
            names = [f"x{position + 1}" for position in range(cells.shape[1])]
        if body.shape[0] == 0:
            raise DataError(
                f"The file has a header row ({_list_names(names)}) but no rows of data below "
                "it. Upload the file with its data rows."
            )
        columns = _make_columns(names, body, sniffed.decimal_comma)
        return cls(columns, sniffed, had_header, _find_index(columns, had_header), renamed)

    def to_frame(
        self,
        encoding: str,
        keep: tuple[str, ...] | None,
        label: str | None = None,
        missing: str = "drop",
    ) -> pd.DataFrame:
        numeric = [
            column
            for column in self.columns
            if column.kind == "numeric" and column.name != self.index_column
        ]
        kept = numeric if keep is None else [c for c in numeric if c.name in keep]
        if not kept:
            raise DataError(self._no_numeric_message())
        frame = pd.DataFrame({column.name: column.values for column in kept})
        values = frame.to_numpy()
        with np.errstate(invalid="ignore"):
            huge = np.abs(values) > LARGEST_MAGNITUDE  # finite, but their squares are not
        finite = np.isfinite(values) & ~huge
        n_kept_missing = 0
        if missing == "keep":
            usable = finite.any(axis=1)
            frame = frame.where(finite)  # infinities become missing values too
            n_kept_missing = int((usable & ~finite.all(axis=1)).sum())
        else:
            usable = finite.all(axis=1)
        frame = frame[usable].reset_index(drop=True)
        n_dropped = int((~usable).sum())
        n_unreadable = sum(column.n_text for column in kept)
        _refuse_too_few_rows(len(frame), n_dropped, n_unreadable > 0)
        report = self._report(frame, encoding, kept, numeric, n_dropped)
        frame.attrs["report"] = dataclasses.replace(
            report, kept_rows_missing=n_kept_missing, out_of_range_cells=int(huge.sum())
        )
        if label is not None:  # a built-in data set's true classes, row for row
            cells = next(column.cells for column in self.columns if column.name == label)
            frame.attrs["labels"] = np.asarray(cells[usable], dtype=str)
        return frame

    def _report(
        self,
        frame: pd.DataFrame,
        encoding: str,
        kept: list[_Column],
        numeric: list[_Column],
        n_dropped: int,
    ) -> ReadReport:
        def names_of(kind: str) -> tuple[str, ...]:
            return tuple(
                column.name
                for column in self.columns
                if column.kind == kind and column.name != self.index_column
            )

        kept_names = {column.name for column in kept}
        return ReadReport(
            n_rows=len(frame),
            n_columns=frame.shape[1],
            columns=tuple(frame.columns),
            separator=self.sniffed.separator,
            decimal="," if self._uses_decimal_commas(kept) else ".",
            encoding=encoding,
            had_header=self.had_header,
            index_column=self.index_column,
            dropped_text_columns=names_of("text"),
            dropped_mixed_columns=names_of("mixed"),
            dropped_empty_columns=names_of("empty"),
            dropped_unused_columns=tuple(c.name for c in numeric if c.name not in kept_names),
            dropped_rows_missing=n_dropped,
            renamed_columns=self.renamed,
            unreadable_cells=sum(column.n_text for column in kept),
            unreadable_examples=_unreadable_examples(kept),
        )

    def _uses_decimal_commas(self, kept: list[_Column]) -> bool:
        return any(column.has_decimal_commas for column in kept)

    def _no_numeric_message(self) -> str:
        mixed = [c for c in self.columns if c.kind == "mixed" and c.name != self.index_column]
        text = [c.name for c in self.columns if c.kind == "text" and c.name != self.index_column]
        if mixed:
            column = mixed[0]
            return (
                f"Column {_quoted(column.name)} is mostly numbers but has text such as "
                f"'{_short(column.text_example or '')}'. Fix or delete those cells (leave a "
                "missing value empty or write NA), then upload the file again."
            )
        if text:
            index = self.index_column
            apart = f" apart from the row index {_quoted(index)}" if index is not None else ""
            return (
                f"No column of numbers was found{apart}; the file's "
                f"{_count(len(text), 'column holds', 'columns hold')} text ({_list_names(text)}). "
                "emcore needs at least one column of numbers; check that the file uses a comma, "
                "semicolon or tab between values."
            )
        if self.index_column is not None:
            return (
                f"The only column of numbers, {_quoted(self.index_column)}, is a row index (id) "
                "and was left out. The file needs at least one column of measurements."
            )
        return "Every column of the file is empty. Upload a file with columns of numbers."


def _unreadable_examples(kept: list[_Column]) -> tuple[tuple[str, str], ...]:
    examples: list[tuple[str, str]] = []
    for column in kept:
        if column.n_text and len(examples) < _MAX_LISTED_UNREADABLE:
            cells = column.unreadable(_MAX_LISTED_UNREADABLE - len(examples))
            examples.extend((column.name, cell) for cell in cells)
    return tuple(examples)


def _find_index(columns: list[_Column], had_header: bool) -> str | None:
    if not had_header:
        first = columns[0]
        return first.name if _is_counting(first.values) else None
    for position, column in enumerate(columns):
        name = column.name.strip().lower()
        unnamed = _UNNAMED.fullmatch(name) is not None
        if (name in _INDEX_NAMES or (unnamed and position == 0)) and _holds_ids(column):
            return column.name
    return None


def _holds_ids(column: _Column) -> bool:
    """All cells present and unique: whole numbers, or text such as R's row names."""
    if column.n_missing:
        return False
    if column.kind == "numeric":
        values = column.values
        whole = np.isfinite(values).all() and bool((values == np.round(values)).all())
        return whole and len(np.unique(values)) == len(values)
    return column.kind == "text" and len(set(column.cells)) == len(column.cells)


def _is_counting(values: np.ndarray) -> bool:
    """Exactly 0, 1, ..., n-1 or 1, 2, ..., n."""
    if len(values) == 0 or not np.isfinite(values).all():
        return False
    start = values[0]
    return start in (0.0, 1.0) and bool(np.array_equal(values, start + np.arange(len(values))))


def _refuse_too_few_rows(n_rows: int, n_dropped: int, unreadable: bool = False) -> None:
    if n_rows >= MIN_ROWS:
        return
    if n_dropped:
        what = "missing or unreadable values" if unreadable else "missing values"
        raise DataError(
            f"Only {_count(n_rows, 'row')} left after dropping {_count(n_dropped, 'row')} with "
            f"{what}; at least {MIN_ROWS} are needed. Fill in the missing values or use "
            "a file with more rows."
        )
    raise DataError(
        f"The file has only {_count(n_rows, 'row')} of data; at least {MIN_ROWS} are needed."
    )


# ---------------------------------------------------------------------------------------------
# Built-in data sets

DATASETS: dict[str, str] = {
    "faithful": "Old Faithful geyser: eruption length and waiting time in minutes (272 rows).",
    "iris": "Iris flowers: sepal and petal length and width in cm (150 flowers, 3 species).",
    "penguins": "Palmer penguins: bill length and depth, flipper length, body mass (342 birds).",
}

# Which columns each shipped CSV contributes; the rest are reported as unused.
_DATASET_COLUMNS: dict[str, tuple[str, ...]] = {
    "faithful": ("eruptions", "waiting"),
    "penguins": ("bill_len", "bill_dep", "flipper_len", "body_mass"),
}
# The column holding each shipped CSV's true classes, if it has them.
_DATASET_LABELS: dict[str, str] = {"penguins": "species"}
_IRIS_COLUMNS = ("sepal_length", "sepal_width", "petal_length", "petal_width")


def load_dataset(name: str, missing: str = "drop") -> pd.DataFrame:
    """One of the built-in data sets as a DataFrame of numbers, like :func:`read_csv` returns.

    Parameters
    ----------
    name : str
        A key of :data:`DATASETS` ("faithful", "iris" or "penguins"), in any case.
    missing : {"drop", "keep"}
        As :func:`read_csv`'s: ``"keep"`` keeps rows with some (not all) measurements
        missing, as NaN, and drops only rows with none. None of the built-in data sets has
        such a row: penguins' two incomplete birds (rows 4 and 272 of its file) have every
        measurement empty, so both settings give the same 342 birds without NaN, and the
        report says the two were dropped for having no value.

    Raises
    ------
    DataError
        For an unknown name, or when iris is asked for and scikit-learn is not installed.
    """
    # Copies, so callers may modify what they get without changing the cache.
    return _load_cached(_dataset_key(name), _missing_mode(missing))[0].copy()


def _missing_mode(missing: object) -> str:
    if not (isinstance(missing, str) and missing in ("drop", "keep")):
        raise DataError(f"missing must be 'drop' or 'keep'; got {_short(repr(missing))}.")
    return str(missing)


def dataset_labels(name: str, missing: str = "drop") -> np.ndarray | None:
    """The true class of every row of :func:`load_dataset` ``(name)``, or None.

    Iris and penguins know their species (strings, row for row); Old Faithful has no classes.
    ``missing`` must be the one given to :func:`load_dataset`.

    Raises
    ------
    DataError
        Like :func:`load_dataset`.
    """
    labels = _load_cached(_dataset_key(name), _missing_mode(missing))[1]
    return None if labels is None else labels.copy()


def _dataset_key(name: str) -> str:
    key = name.strip().lower() if isinstance(name, str) else None
    if key not in DATASETS:
        raise DataError(
            f"There is no built-in data set called {_short(repr(name))}; choose one of "
            f"{', '.join(sorted(DATASETS))}."
        )
    return key


@cache
def _load_cached(key: str, missing: str = "drop") -> tuple[pd.DataFrame, np.ndarray | None]:
    if key == "iris":
        return _load_iris()
    data = resources.files("emcore").joinpath("_datasets", f"{key}.csv").read_bytes()
    label = _DATASET_LABELS.get(key)
    frame = _guarded(lambda: _read(data, keep=_DATASET_COLUMNS[key], label=label, missing=missing))
    return frame, frame.attrs.pop("labels", None)


def _load_iris() -> tuple[pd.DataFrame, np.ndarray]:
    try:
        from sklearn.datasets import load_iris  # scikit-learn is only needed for this one
    except ImportError:
        raise DataError(
            "The iris data set needs scikit-learn; install it with `pip install scikit-learn`."
        ) from None
    iris = load_iris()
    species = np.asarray(iris.target_names, dtype=str)[iris.target]
    frame = pd.DataFrame(iris.data, columns=list(_IRIS_COLUMNS)).astype(np.float64)
    frame.attrs["report"] = ReadReport(
        n_rows=len(frame),
        n_columns=frame.shape[1],
        columns=_IRIS_COLUMNS,
        separator=None,
        encoding=None,
        dropped_text_columns=("species",),
    )
    return frame, species


# ---------------------------------------------------------------------------------------------
# Words


def _count(n: int, singular: str, plural: str | None = None) -> str:
    """'1 row', '2 rows'; ``plural`` for nouns that do not just take an s."""
    return f"1 {singular}" if n == 1 else f"{n:,} {plural or singular + 's'}"


def _name_range(names: tuple[str, ...]) -> str:
    """'x1, x2 and x3', or 'x1 to x9' when listing them all would be long."""
    return _join(names) if len(names) <= 3 else f"{names[0]} to {names[-1]}"


def _join(parts: list[str] | tuple[str, ...]) -> str:
    if len(parts) <= 1:
        return "".join(parts)
    return ", ".join(parts[:-1]) + " and " + parts[-1]


def _list_names(names: list[str] | tuple[str, ...]) -> str:
    shown = ", ".join(_short(name, 40) for name in names[:_MAX_LISTED_COLUMNS])
    extra = len(names) - _MAX_LISTED_COLUMNS
    return f"{shown} and {extra} more" if extra > 0 else shown


def _list_quoted(names: list[str]) -> str:
    """ "'a (2)', 'a (3)' and 'a (4)'", or the first few "and 12 more"."""
    shown = [_quoted(name) for name in names[:_MAX_LISTED_COLUMNS]]
    extra = len(names) - len(shown)
    return _join([*shown, f"{extra:,} more"] if extra > 0 else shown)


def _index_phrase(name: str) -> str:
    if re.fullmatch(r"Unnamed: \d+", name):
        return "the unnamed index column"
    return f"the index column {_quoted(name)}"


def _quoted(name: str) -> str:
    """A name in quotes, shortened: a column name may be 100 KB long."""
    return f"'{_short(name, 40)}'"


def _short(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _format_bytes(size: int) -> str:
    """'20 MB', '3.9 KB', '10 bytes', in decimal units like the browser (1 KB = 1,000 bytes)."""
    for unit, scale in (("GB", 10**9), ("MB", 10**6), ("KB", 10**3)):
        if size >= scale:
            return f"{size / scale:,.1f} {unit}".replace(f".0 {unit}", f" {unit}")
    return f"{size} bytes"


__all__ = [
    "DATASETS",
    "MAX_BYTES",
    "MAX_CELLS",
    "MAX_COLUMNS",
    "MAX_NUMBER_CHARS",
    "DataError",
    "ReadReport",
    "dataset_labels",
    "load_dataset",
    "read_csv",
]
