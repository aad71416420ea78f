"""emcore.data: reading the CSV files people upload, refusing the rest, built-in data sets."""

from __future__ import annotations

import io
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from emcore.data import (
    DATASETS,
    MAX_BYTES,
    MAX_CELLS,
    MAX_COLUMNS,
    MAX_NUMBER_CHARS,
    DataError,
    ReadReport,
    dataset_labels,
    load_dataset,
    read_csv,
)

FIXTURES = Path(__file__).parent / "fixtures" / "csv"
PENGUINS = Path(__file__).parents[1] / "emcore" / "_datasets" / "penguins.csv"


def values(frame: pd.DataFrame) -> dict[str, list[float]]:
    return frame.to_dict("list")


def report_of(frame: pd.DataFrame) -> ReadReport:
    report = frame.attrs["report"]
    assert isinstance(report, ReadReport)
    return report


def assert_usable(frame: pd.DataFrame) -> None:
    """What every successful read promises."""
    assert isinstance(frame, pd.DataFrame)
    assert frame.shape[0] >= 2 and frame.shape[1] >= 1
    assert all(dtype == np.float64 for dtype in frame.dtypes)
    assert np.isfinite(frame.to_numpy()).all()
    assert list(frame.index) == list(range(len(frame)))
    report = report_of(frame)
    assert (report.n_rows, report.n_columns) == frame.shape
    assert report.columns == tuple(frame.columns)
    assert report.summary().startswith(f"Read {len(frame)} rows")


# ---------------------------------------------------------------------------------------------
# A corpus of real-world shapes


def test_comma_separated_file_with_header():
    frame = read_csv(FIXTURES / "comma.csv")
    assert values(frame) == {"height": [1.62, 1.80, 1.75], "weight": [55.5, 80.0, 72.25]}
    report = report_of(frame)
    assert (report.separator, report.decimal, report.encoding) == (",", ".", "utf-8")
    assert report.had_header
    assert report.summary() == "Read 3 rows and 2 numeric columns."


def test_semicolon_file_with_decimal_commas():
    frame = read_csv(FIXTURES / "semicolon_decimal_comma.csv")
    assert values(frame) == {"länge": [3.14, -1.5, 0.25], "breite": [2.5, 1000.0, 7.0]}
    report = report_of(frame)
    assert (report.separator, report.decimal) == (";", ",")


def test_tab_separated_file():
    frame = read_csv(FIXTURES / "tab.tsv")
    assert values(frame) == {"a": [1.0, 4.5, 7.0], "b": [2.0, 5.0, 8.0], "c": [3.0, 6.0, -9.0]}
    assert report_of(frame).separator == "\t"


def test_excel_sep_hint_line_names_the_separator():
    frame = read_csv(FIXTURES / "excel_sep_hint.csv")
    assert values(frame) == {"x": [1.5, 3.0], "y": [2.0, 4.25]}
    assert report_of(frame).separator == ";"


@pytest.mark.parametrize(
    ("encoding", "reported"),
    [("utf-8", "utf-8"), ("utf-8-sig", "utf-8-sig"), ("latin-1", "latin-1"), ("utf-16", "utf-16")],
)
def test_encodings(tmp_path, encoding, reported):
    path = tmp_path / "temperatures.csv"
    path.write_bytes("température;durée\n12,5;3\n-0,5;4\n".encode(encoding))
    frame = read_csv(path)
    assert values(frame) == {"température": [12.5, -0.5], "durée": [3.0, 4.0]}
    assert report_of(frame).encoding == reported


@pytest.mark.parametrize("line_end", [b"\r\n", b"\r", b"\n"])
def test_line_ends(line_end):
    data = line_end.join([b"x,y", b"1,2", b"3,4", b""])
    assert values(read_csv(data)) == {"x": [1.0, 3.0], "y": [2.0, 4.0]}


def test_quoted_numbers():
    frame = read_csv(FIXTURES / "quoted.csv")
    assert values(frame) == {"x": [3.5, 4.25, 0.0], "y": [-2.0, 0.001, 7.0]}


def test_file_without_header_names_columns_x1_x2():
    frame = read_csv(FIXTURES / "no_header.csv")
    assert list(frame.columns) == ["x1", "x2", "x3"]
    assert frame.shape == (4, 3)
    assert frame.iloc[0].tolist() == [5.1, 3.5, 1.4]
    report = report_of(frame)
    assert not report.had_header
    assert report.summary() == (
        "Read 4 rows and 3 numeric columns. The first row holds numbers, so it was read as data "
        "and the columns are named x1, x2 and x3."
    )


def test_file_without_header_drops_a_counting_first_column():
    frame = read_csv(b"1,2.5,3\n2,5,6\n3,8,9\n")
    assert values(frame) == {"x2": [2.5, 5.0, 8.0], "x3": [3.0, 6.0, 9.0]}
    assert report_of(frame).index_column == "x1"


def test_r_write_csv_index_column():
    frame = read_csv(FIXTURES / "r_write_csv.csv")
    assert values(frame) == {"eruptions": [3.6, 1.8, 3.333], "waiting": [79.0, 54.0, 74.0]}
    report = report_of(frame)
    assert report.index_column == "Unnamed: 0"
    assert report.summary() == (
        "Read 3 rows and 2 numeric columns; dropped the unnamed index column."
    )


def test_r_write_table_header_one_short_and_space_separated():
    frame = read_csv(FIXTURES / "r_write_table.txt")
    assert values(frame) == {"eruptions": [3.6, 1.8, 3.333], "waiting": [79.0, 54.0, 74.0]}
    report = report_of(frame)
    assert (report.separator, report.index_column) == (" ", "Unnamed: 0")


def test_pandas_to_csv_index_column():
    original = pd.DataFrame({"a": [0.5, 1.5, 2.5], "b": [10.0, 20.0, 30.0]})
    frame = read_csv(original.to_csv().encode())
    pd.testing.assert_frame_equal(frame, original)
    assert report_of(frame).index_column == "Unnamed: 0"


def test_pandas_index_with_gaps_after_filtering_is_still_an_index():
    original = pd.DataFrame({"a": [0.5, 1.5, 2.5, 3.5]}).iloc[[0, 2, 3]]
    frame = read_csv(original.to_csv().encode())
    assert values(frame) == {"a": [0.5, 2.5, 3.5]}


def test_pandas_integer_column_names_stay_a_header():
    frame = read_csv(pd.DataFrame(np.arange(6.0).reshape(3, 2) / 2).to_csv().encode())
    assert values(frame) == {"0": [0.0, 1.0, 2.0], "1": [0.5, 1.5, 2.5]}


@pytest.mark.parametrize("name", ["rownames", "id", "ID", "index", "Unnamed: 0", "row.names"])
def test_columns_named_like_an_index_are_dropped(name):
    frame = read_csv(f"{name},x\n1,0.5\n2,0.7\n3,0.1\n".encode())
    assert values(frame) == {"x": [0.5, 0.7, 0.1]}
    assert report_of(frame).index_column == name


def test_text_row_names_in_an_unnamed_first_column_are_an_index():
    frame = read_csv(b'"","mpg","cyl"\n"Mazda RX4",21,6\n"Datsun 710",22.8,4\n')
    assert values(frame) == {"mpg": [21.0, 22.8], "cyl": [6.0, 4.0]}
    assert report_of(frame).dropped_text_columns == ()


def test_increasing_measurement_columns_are_kept():
    frame = read_csv(b"time,x\n1,0.5\n2,0.7\n3,0.1\n")
    assert list(frame.columns) == ["time", "x"]
    assert report_of(frame).index_column is None


def test_id_column_with_repeats_is_kept():
    frame = read_csv(b"id,x\n1,0.5\n1,0.7\n2,0.1\n")
    assert list(frame.columns) == ["id", "x"]


def test_text_columns_index_and_missing_values_are_dropped_and_reported():
    frame = read_csv(FIXTURES / "text_and_missing.csv")
    assert values(frame) == {"age": [23.0, 45.0, 52.0], "score": [88.5, 91.0, 60.25]}
    report = report_of(frame)
    assert report.dropped_text_columns == ("name", "city")
    assert report.index_column == "id"
    assert report.dropped_rows_missing == 2
    assert report.summary() == (
        "Read 3 rows and 2 numeric columns; dropped 2 text columns (name, city), the index "
        "column 'id' and 2 rows with missing values."
    )


@pytest.mark.parametrize(
    "token", ["", "NA", "NaN", "nan", "null", "NULL", "None", "?", "-", "N/A", "inf", "-Inf"]
)
def test_missing_value_tokens_and_infinities_drop_their_row(token):
    frame = read_csv(f"x,y\n1,2\n3,{token}\n5,6\n".encode())
    assert values(frame) == {"x": [1.0, 5.0], "y": [2.0, 6.0]}
    assert report_of(frame).dropped_rows_missing == 1


@pytest.mark.parametrize("cell", ["1e300", "-2e101", "1E+150"])
def test_cells_beyond_1e100_are_missing_values_and_said(cell):
    """Their squares leave float64's range: standardising divided by an infinite spread
    and the app said the columns' spreads "differ by a factor of inf"."""
    frame = read_csv(f"x,y\n1,2\n3,{cell}\n5,6\n".encode())
    assert values(frame) == {"x": [1.0, 5.0], "y": [2.0, 6.0]}
    report = report_of(frame)
    assert report.dropped_rows_missing == 1 and report.out_of_range_cells == 1
    assert "1 cell is beyond 10^100 in size" in report.summary()
    kept = read_csv(f"x,y\n1,2\n3,{cell}\n5,6\n".encode(), missing="keep")
    assert np.isnan(kept["y"][1]) and report_of(kept).out_of_range_cells == 1
    assert report_of(read_csv(b"x,y\n1,2\n3,1e100\n5,6\n")).out_of_range_cells == 0


def test_rows_of_empty_cells_are_skipped_like_blank_lines():
    frame = read_csv(b"x,y\n1,2\n,\n\n3,4\n , \n")
    assert values(frame) == {"x": [1.0, 3.0], "y": [2.0, 4.0]}
    assert report_of(frame).dropped_rows_missing == 0


def test_a_stray_text_cell_is_an_unreadable_missing_value_not_a_text_column():
    frame = read_csv(b"a,b\n1,2\n3,4x\n5,6\n")
    assert values(frame) == {"a": [1.0, 5.0], "b": [2.0, 6.0]}
    report = report_of(frame)
    assert report.dropped_mixed_columns == ()
    assert (report.unreadable_cells, report.dropped_rows_missing) == (1, 1)
    assert report.unreadable_examples == (("b", "4x"),)
    assert report.summary() == (
        "Read 2 rows and 2 numeric columns; dropped 1 row with missing or unreadable values. "
        "1 cell is not a number ('4x' in b) and counts as missing."
    )


def test_a_few_stray_cells_in_a_long_column_are_counted_and_shown_by_example():
    rows = [f"{i}.5,{i}" for i in range(100)]
    for i, cell in ((3, "n.d."), (10, "#VALUE!"), (40, "3,4x"), (70, "oops"), (90, "12 kg")):
        rows[i] = f"{i}.5,{cell}" if "," not in cell else f'{i}.5,"{cell}"'
    frame = read_csv(("x,y\n" + "\n".join(rows) + "\n").encode())
    report = report_of(frame)
    assert frame.shape == (95, 2) and report.dropped_rows_missing == 5
    assert report.unreadable_cells == 5
    assert report.summary().endswith(
        "5 cells are not numbers ('n.d.' in y, '#VALUE!' in y, '3,4x' in y and 2 more) and "
        "count as missing."
    )


def test_a_column_with_many_text_cells_is_still_dropped_as_mixed():
    rows = [f"{i},{i}.5" if i % 3 else f"{i},{i} kg" for i in range(30)]
    frame = read_csv(("a,b\n" + "\n".join(rows) + "\n").encode())
    report = report_of(frame)
    assert list(frame.columns) == ["a"] and report.dropped_mixed_columns == ("b",)
    assert report.unreadable_cells == 0
    assert report.summary() == (
        "Read 30 rows and 1 numeric column; dropped 1 column with some text cells (b)."
    )


def test_too_few_rows_after_unreadable_cells_says_so():
    with pytest.raises(DataError, match="after dropping 2 rows with missing or unreadable"):
        read_csv(b"a,b\n1,2\nx,3\n4,y\n")


def test_empty_column_is_dropped_and_reported():
    frame = read_csv(b"a,b,c\n1,,2\n3,NA,4\n")
    assert values(frame) == {"a": [1.0, 3.0], "c": [2.0, 4.0]}
    assert report_of(frame).dropped_empty_columns == ("b",)
    assert "1 empty column (b)" in report_of(frame).summary()


def test_single_numeric_column():
    assert values(read_csv(b"x\n1\n2\n3\n")) == {"x": [1.0, 2.0, 3.0]}


def test_duplicate_column_names_are_made_unique():
    assert list(read_csv(b"x,x\n1,2\n3,4\n").columns) == ["x", "x (2)"]


def test_shipped_penguins_csv():
    frame = read_csv(PENGUINS)
    assert frame.shape == (342, 5)
    assert list(frame.columns) == ["bill_len", "bill_dep", "flipper_len", "body_mass", "year"]
    assert frame.iloc[0].tolist() == [39.1, 18.7, 181.0, 3750.0, 2007.0]
    report = report_of(frame)
    assert report.dropped_text_columns == ("species", "island", "sex")
    assert report.index_column == "rownames"
    assert report.dropped_rows_missing == 2
    assert report.summary() == (
        "Read 342 rows and 5 numeric columns; dropped 3 text columns (species, island, sex), "
        "the index column 'rownames' and 2 rows with missing values."
    )


# ---------------------------------------------------------------------------------------------
# What read_csv accepts as a source

CSV_BYTES = b"x,y\n1,2\n3,4\n"


class UploadedFile(io.BytesIO):
    """Like Streamlit's UploadedFile: a BytesIO with a name, type and size."""

    def __init__(self, data: bytes, name: str) -> None:
        super().__init__(data)
        self.name = name
        self.type = "text/csv"
        self.size = len(data)


class ReadOnly:
    """A file-like object with read() only, like an open binary file or a socket."""

    def __init__(self, data: bytes) -> None:
        self._stream = io.BytesIO(data)

    def read(self, size: int = -1) -> bytes:
        return self._stream.read(size)


def already_read_upload(data: bytes) -> UploadedFile:
    upload = UploadedFile(data, "data.csv")
    upload.read()  # the app may have read it already; getvalue() still has everything
    return upload


@pytest.mark.parametrize(
    "make_source",
    [
        bytes,
        bytearray,
        memoryview,
        io.BytesIO,
        lambda data: UploadedFile(data, "data.csv"),
        already_read_upload,
        ReadOnly,
        lambda data: io.StringIO(data.decode()),
    ],
    ids=["bytes", "bytearray", "memoryview", "BytesIO", "upload", "read-upload", "read", "text"],
)
def test_in_memory_sources(make_source):
    assert values(read_csv(make_source(CSV_BYTES))) == {"x": [1.0, 3.0], "y": [2.0, 4.0]}


@pytest.mark.parametrize("as_str", [False, True])
def test_path_sources(tmp_path, as_str):
    path = tmp_path / "data.csv"
    path.write_bytes(CSV_BYTES)
    assert values(read_csv(str(path) if as_str else path)) == {"x": [1.0, 3.0], "y": [2.0, 4.0]}


# ---------------------------------------------------------------------------------------------
# Refusals: each raises DataError with a message that says what is wrong

XLSX_START = b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00[Content_Types].xml xl/workbook.xml"


@pytest.mark.parametrize(
    ("data", "phrase"),
    [
        (b"", "file is empty"),
        (b"  \n\t\r\n \n", "file is empty"),
        ("\ufeff\n".encode(), "file is empty"),
        (b"a,b,c\n", "header row (a, b, c) but no rows of data"),
        (b"a,b,c\r\n\r\n,,\r\n", "but no rows of data"),
        (b"name,city\nAnn,Paris\nBob,Lyon\n", "the file's 2 columns hold text (name, city)"),
        (b"a\n1\n3\n5\n7\n11\n9x\n0x\n1x\n2x\n", "mostly numbers but has text such as '9x'"),
        (b"id,name\n1,Ann\n2,Bob\n", "No column of numbers was found apart from the row index"),
        (b"id,x\n1,\n2,NA\n", "The only column of numbers, 'id', is a row index"),
        (b"a,b\n,\nNA,\n", "Every column of the file is empty"),
        (b"a,b\n1,2\n", "only 1 row of data"),
        (b"a,b\n1,2\nNA,3\n", "Only 1 row left after dropping 1 row with missing values"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01", "PNG image"),
        (XLSX_START, "Excel file"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(64), "old Excel file"),
        (b"%PDF-1.7\n", "PDF"),
        (b"x,y\n1,2\x00\x00\x003,4\n", "binary"),
        (b"x,y\n" + b"1,2\n" * 1000 + b"3,\x004\n", "binary"),
        (bytes(range(256)) * 4, "binary"),
        (b"<!DOCTYPE html>\n<html><head><title>data.csv</title></head></html>", "web page"),
        (b"  <html>\n<body>1,2</body></html>", "web page"),
        (b"a,b\n1,2\n3,4,5\n6,7\n", "Line 3 has 3 values but the first row has 2"),
        (b'a,b\n1,"2\n3,4\n', "quote mark"),
    ],
)
def test_refusals(data, phrase):
    with pytest.raises(DataError) as raised:
        read_csv(data)
    message = str(raised.value)
    assert phrase in message
    sentences = [s for s in re.split(r"(?<=[.!?])\s+", message) if s]
    assert len(sentences) == len(set(sentences)), message  # each thing is said once


def test_data_error_is_a_value_error():
    assert issubclass(DataError, ValueError)


def test_too_many_bytes():
    with pytest.raises(DataError, match="more than the 10 bytes limit"):
        read_csv(CSV_BYTES, max_bytes=10)
    with pytest.raises(DataError, match="more than the 10 bytes limit"):
        read_csv(io.BytesIO(CSV_BYTES), max_bytes=10)
    assert len(read_csv(CSV_BYTES, max_bytes=len(CSV_BYTES))) == 2


def test_too_large_file_is_refused_before_reading(tmp_path):
    path = tmp_path / "big.csv"
    path.write_bytes(b"x\n" + b"1\n" * 1950)
    with pytest.raises(DataError, match=r"^The file is 3\.9 KB, more than the 1 KB limit"):
        read_csv(path, max_bytes=1000)


def test_too_many_cells():
    data = b"x,y,z\n" + b"1,2,3\n" * 10
    with pytest.raises(DataError, match=r"more than the limit of 20 that keeps the app"):
        read_csv(data, max_cells=20)
    assert read_csv(data, max_cells=33).shape == (10, 3)


@pytest.mark.parametrize(
    ("source", "phrase"),
    [
        (42, "needs a file path, the file's bytes or an uploaded file; got int"),
        (None, "got NoneType"),
        ("no/such/file.csv", "There is no file at 'no/such/file.csv'"),
        ("x,y\n1,2\n3,4\n", "pass text.encode()"),
    ],
)
def test_unusable_sources(source, phrase):
    with pytest.raises(DataError) as raised:
        read_csv(source)
    assert phrase in str(raised.value)


def test_folder_is_refused(tmp_path):
    with pytest.raises(DataError, match="is a folder, not a file"):
        read_csv(tmp_path)


@pytest.mark.parametrize(
    "limits",
    [
        {"max_bytes": 0},
        {"max_cells": -1},
        {"max_cells": 2.5},
        {"max_columns": 0},
        {"max_columns": True},
        {"max_columns": "1000"},
    ],
)
def test_invalid_limits(limits):
    with pytest.raises(DataError, match="must be a whole number of at least 1"):
        read_csv(CSV_BYTES, **limits)


# ---------------------------------------------------------------------------------------------
# Limits that keep hostile files cheap (tests/test_data_hostile.py runs them under OS limits)


def grid(n_columns: int, n_rows: int, cell: str = "1.5", separator: str = ",") -> bytes:
    """A header c0, c1, ... and ``n_rows`` rows of ``cell``."""
    header = separator.join(f"c{position}" for position in range(n_columns))
    row = separator.join([cell] * n_columns)
    return "\n".join([header, *[row] * n_rows, ""]).encode()


def refusal(data: bytes | Path, **limits: int) -> str:
    with pytest.raises(DataError) as raised:
        read_csv(data, **limits)
    return str(raised.value)


def test_limits_are_what_the_docs_say():
    assert (MAX_BYTES, MAX_CELLS, MAX_COLUMNS, MAX_NUMBER_CHARS) == (
        20_000_000,
        2_000_000,
        1_000,
        100,
    )


def test_a_file_at_the_column_cap_is_read():
    frame = read_csv(grid(1000, 3))
    assert frame.shape == (3, 1000)
    assert list(frame.columns[:2]) == ["c0", "c1"]
    assert (frame.to_numpy() == 1.5).all()


def test_one_column_over_the_cap_is_refused_with_the_columns_sentence():
    assert refusal(grid(1001, 3)) == (
        "The file has 1,001 columns; at most 1,000 can be read. Keep only the columns you "
        "want to fit and upload the file again."
    )


@pytest.mark.parametrize("separator", [",", ";", "\t", "|", " "])
def test_the_column_cap_holds_for_every_separator(separator):
    message = refusal(grid(20_000, 2, cell="1", separator=separator))
    assert message.startswith("The file has 20,000 columns; at most 1,000 can be read.")


def test_max_columns_is_a_keyword_like_max_cells():
    data = grid(3, 4)
    assert read_csv(data, max_columns=3).shape == (4, 3)
    assert refusal(data, max_columns=2).startswith("The file has 3 columns; at most 2 can")


def test_columns_are_counted_before_any_cell_is_parsed(monkeypatch):
    def no_parsing(*args, **kwargs):
        raise AssertionError("pandas was asked to parse a file that is too wide")

    monkeypatch.setattr(pd, "read_csv", no_parsing)
    assert refusal(grid(5000, 2)).startswith("The file has 5,000 columns")
    header_over_rows = (",".join(f"c{i}" for i in range(1000)) + "\n" + "1,2\n" * 5000).encode()
    assert "cells" in refusal(header_over_rows)


def test_a_header_wider_than_the_rows_counts_its_full_width_in_every_row():
    # pandas pads each row to the first row's width, so this builds 2,001 x 1,000 cells.
    data = (",".join(f"c{i}" for i in range(1000)) + "\n" + "1,2\n" * 2000).encode()
    assert refusal(data) == (
        "The file has about 2,001,000 cells (2,001 rows × 1,000 columns), more than the limit "
        "of 2,000,000 that keeps the app responsive. Upload a random sample of the rows, or "
        "fewer columns."
    )


def test_a_first_row_of_empty_cells_counts_too():
    # Rows of empty cells are skipped when sniffing, but pandas takes its width from them.
    data = b"," * 1500 + b"\n" + b"x,y\n1,2\n3,4\n"
    assert refusal(data).startswith("The file has 1,501 columns; at most 1,000 can be read.")


def test_quoted_separators_in_the_header_are_not_columns():
    frame = read_csv(b'"a, cm","b; kg"\n1,2\n3,4\n', max_columns=2)
    assert values(frame) == {"a, cm": [1.0, 3.0], "b; kg": [2.0, 4.0]}


def test_a_quote_that_runs_on_past_what_a_header_can_hold_is_refused():
    data = b'a,"b\n' + b"1,2\n" * 70_000
    assert refusal(data).startswith('A quote mark (") in the first row opens a cell')


def test_a_long_cell_followed_by_a_letter_is_text():
    data = b"a,b\n1,2\n" + b"9" * 60_000 + b"x,3\n4,5\n"
    frame = read_csv(data)
    assert values(frame) == {"a": [1.0, 4.0], "b": [2.0, 5.0]}
    report = report_of(frame)
    assert report.unreadable_cells == 1
    assert len(report.summary()) < 200  # the cell is shortened in words


@pytest.mark.parametrize("length", [101, 500])
def test_a_number_longer_than_the_cell_cap_is_text(length):
    frame = read_csv(b"a,b\n1,2\n" + b"9" * length + b",3\n4,5\n")
    assert values(frame) == {"a": [1.0, 4.0], "b": [2.0, 5.0]}
    assert report_of(frame).unreadable_cells == 1


def test_a_number_at_the_cell_cap_is_read():
    frame = read_csv(b"a,b\n1,2\n" + b"1" * 100 + b",3\n4,5\n")
    assert frame["a"].tolist() == [1.0, float("1" * 100), 4.0]


def test_a_long_cell_is_text_for_the_sniffer_too():
    # A 100,000-digit first row is not "all numbers", so it is a header, not data.
    frame = read_csv(b"9" * 100_000 + b";x\n1;2\n3;4\n")
    assert report_of(frame).had_header
    assert [len(name) for name in frame.columns] == [100_000, 1]


def test_duplicate_names_are_kept_apart_and_reported():
    frame = read_csv(b"a,a,a.1\n1,2,3\n4,5,6\n")
    assert values(frame) == {"a": [1.0, 4.0], "a (2)": [2.0, 5.0], "a.1": [3.0, 6.0]}
    report = report_of(frame)
    assert report.renamed_columns == (("a", "a (2)"),)
    assert report.summary() == (
        "Read 2 rows and 3 numeric columns. 2 columns are both named 'a'; the second is "
        "called 'a (2)'."
    )


def test_a_new_name_is_never_one_the_file_has():
    frame = read_csv(b"a,a,a (2)\n1,2,3\n4,5,6\n")
    assert values(frame) == {"a": [1.0, 4.0], "a (3)": [2.0, 5.0], "a (2)": [3.0, 6.0]}
    assert report_of(frame).renamed_columns == (("a", "a (3)"),)


def test_an_unnamed_column_and_one_named_like_it_stay_apart():
    frame = read_csv(b",Unnamed: 1,b\n1.5,2,3\n4.5,5,6\n")
    assert list(frame.columns) == ["Unnamed: 0", "Unnamed: 1", "b"]
    frame = read_csv(b"Unnamed: 1,,b\n1.5,2,3\n4.5,5,6\n")
    assert list(frame.columns) == ["Unnamed: 1", "Unnamed: 1 (2)", "b"]


def test_three_columns_of_one_name():
    report = report_of(read_csv(b"x,x,x\n1,2,3\n4,5,6\n"))
    assert report.renamed_columns == (("x", "x (2)"), ("x", "x (3)"))
    assert report.summary().endswith(
        "3 columns are named 'x'; the others are called 'x (2)' and 'x (3)'."
    )


def test_renamed_columns_that_are_dropped_are_named_by_their_new_names():
    report = report_of(read_csv(b"name,name,x\nA,B,1\nC,D,2\n"))
    assert report.dropped_text_columns == ("name", "name (2)")


def test_a_summary_of_many_shared_names_stays_short():
    header = ",".join(f"n{position % 400}" for position in range(1000))
    frame = read_csv((header + ("\n" + ",".join(["1"] * 1000)) * 2).encode())
    report = report_of(frame)
    assert frame.shape[1] == 1000 and len(set(frame.columns)) == 1000
    assert len(report.renamed_columns) == 600
    assert len(report.summary()) < 600
    assert report.summary().endswith(
        "397 other names are shared by several columns, which are numbered the same way."
    )


LONG = "N" * 100_000


def test_a_100_kb_column_name_is_kept_whole_but_shortened_in_words():
    frame = read_csv(f"{LONG}1,{LONG}2,{LONG}3\n1,2,3\n4,5,6\n".encode())
    assert [len(name) for name in frame.columns] == [100_001] * 3
    assert len(report_of(frame).summary()) < 100


@pytest.mark.parametrize(
    "data",
    [
        f"{LONG}\n1\n3x\n5\n".encode(),  # a stray text cell
        f"{LONG}\n1\n3\n5\n7\n11\n{LONG}x\n0x\n1x\n2x\n".encode(),  # a mixed column
        f"{LONG},{LONG}b\nAnn,Paris\nBob,Lyon\n".encode(),  # text only
        f"{LONG},b\n".encode(),  # a header without rows
        f"{LONG},{LONG}\n1,2\n1,2\n{LONG}x,y\n".encode(),  # long cells and names
        f"id,{LONG}\n1,\n2,NA\n".encode(),  # only an index
        f"{LONG},{LONG}2\nx,1\n".encode(),  # too few rows
    ],
)
def test_messages_shorten_long_names_and_cells(data):
    try:
        frame = read_csv(data)
    except DataError as error:
        assert len(str(error)) < 400
    else:
        assert len(report_of(frame).summary()) < 400


def test_a_long_path_is_shortened_in_the_message(tmp_path):
    message = refusal(str(tmp_path / ("p" * 5000)))
    assert len(message) < 300


def test_the_byte_limit_is_20_mb_decimal(tmp_path):
    path = tmp_path / "huge.csv"
    with path.open("wb") as file:
        file.truncate(MAX_BYTES + 1)  # sparse: refused by its size, never read
    expected = (
        "The file is 20,000,001 bytes, more than the 20 MB limit that keeps the app "
        "responsive. Upload a smaller file, for example a random sample of its rows."
    )
    assert refusal(path) == expected
    assert refusal(b"x" * (MAX_BYTES + 1)) == expected
    assert refusal(io.BytesIO(b"x" * (MAX_BYTES + 1))) == expected


@pytest.mark.parametrize(
    ("size", "limit", "said"),
    [
        (25_000_000, MAX_BYTES, "The file is 25 MB, more than the 20 MB limit"),
        (1_500, 1_000, "The file is 1.5 KB, more than the 1 KB limit"),
        (12, 10, "The file is 12 bytes, more than the 10 bytes limit"),
    ],
)
def test_sizes_are_said_in_decimal_units(tmp_path, size, limit, said):
    path = tmp_path / "big.csv"
    with path.open("wb") as file:
        file.truncate(size)
    assert refusal(path, max_bytes=limit).startswith(said)


def test_every_missing_token_is_a_missing_value_in_any_case():
    tokens = ["NA", "n/a", "N.A.", "NaN", "NULL", "none", "Nil", "MISSING", "?", "-", "--", "."]
    tokens += ["#N/A", "#NA", "<NA>", "NA_real_", ""]
    text = "x,y\n" + "".join(f"{index},{token}\n" for index, token in enumerate(tokens))
    report = report_of(read_csv((text + "7.5,8\n8.5,9\n").encode()))
    assert report.dropped_rows_missing == len(tokens)
    assert report.dropped_mixed_columns == ()


# ---------------------------------------------------------------------------------------------
# Fuzzing: only DataError escapes, and what comes back is usable

VALID_CSVS = [path.read_text(encoding="utf-8") for path in sorted(FIXTURES.iterdir())]
NASTY_CHARACTERS = "\"',;\t\n\r\x00 .-e1é?\\|\ufeff"
FUZZ = settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True
)


def read_or_refuse(data: bytes) -> None:
    try:
        frame = read_csv(data)
    except DataError as error:
        assert str(error).strip()
        return
    assert_usable(frame)


@st.composite
def mangled_csv(draw) -> bytes:
    text = draw(st.sampled_from(VALID_CSVS))
    for _ in range(draw(st.integers(min_value=1, max_value=8))):
        position = draw(st.integers(min_value=0, max_value=len(text)))
        character = draw(st.sampled_from(NASTY_CHARACTERS) | st.characters())
        edit = draw(st.sampled_from(["insert", "delete", "replace"]))
        if edit == "insert":
            text = text[:position] + character + text[position:]
        elif edit == "delete":
            text = text[:position] + text[position + 1 :]
        else:
            text = text[:position] + character + text[position + 1 :]
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "latin-1", "utf-16"]))
    return text.encode(encoding, errors="replace")


@pytest.mark.filterwarnings("error")
@FUZZ
@given(st.binary(max_size=2000))
def test_fuzz_random_bytes(data):
    read_or_refuse(data)


@pytest.mark.filterwarnings("error")
@FUZZ
@given(mangled_csv())
def test_fuzz_mangled_csv(data):
    read_or_refuse(data)


@pytest.mark.filterwarnings("error")
@FUZZ
@given(st.text(alphabet=st.sampled_from("0123456789.,;\t\n\r\"' -eNAa") | st.characters()))
def test_fuzz_random_text(text):
    read_or_refuse(text.encode("utf-8", errors="replace"))


# ---------------------------------------------------------------------------------------------
# Built-in data sets


def test_load_faithful():
    frame = load_dataset("faithful")
    assert_usable(frame)
    assert frame.shape == (272, 2)
    assert list(frame.columns) == ["eruptions", "waiting"]
    assert frame.iloc[0].tolist() == [3.6, 79.0]
    assert report_of(frame).index_column == "rownames"


def test_load_iris():
    frame = load_dataset("iris")
    assert_usable(frame)
    assert frame.shape == (150, 4)
    assert list(frame.columns) == ["sepal_length", "sepal_width", "petal_length", "petal_width"]
    assert frame.iloc[0].tolist() == [5.1, 3.5, 1.4, 0.2]
    assert report_of(frame).summary() == (
        "Read 150 rows and 4 numeric columns; dropped 1 text column (species)."
    )


def test_load_penguins_keeps_the_four_measurements():
    frame = load_dataset("penguins")
    assert_usable(frame)
    assert frame.shape == (342, 4)
    assert list(frame.columns) == ["bill_len", "bill_dep", "flipper_len", "body_mass"]
    assert frame.iloc[0].tolist() == [39.1, 18.7, 181.0, 3750.0]
    report = report_of(frame)
    assert report.dropped_unused_columns == ("year",)
    assert report.dropped_rows_missing == 2
    assert "1 unused column (year)" in report.summary()


def test_iris_and_penguins_know_their_species_row_for_row():
    iris = dataset_labels("iris")
    assert iris.shape == (150,) and list(np.unique(iris)) == ["setosa", "versicolor", "virginica"]
    assert iris[0] == "setosa" and iris[-1] == "virginica"
    penguins = dataset_labels("Penguins")
    assert penguins.shape == (len(load_dataset("penguins")),)
    assert list(np.unique(penguins)) == ["Adelie", "Chinstrap", "Gentoo"]
    assert dataset_labels("faithful") is None
    assert "labels" not in load_dataset("penguins").attrs


def test_load_dataset_ignores_case_and_returns_a_fresh_copy():
    first = load_dataset(" Faithful ")
    first.iloc[0, 0] = -1.0
    assert load_dataset("FAITHFUL").iloc[0, 0] == 3.6


@pytest.mark.parametrize("name", ["old faithful", "", None])
def test_load_dataset_unknown_name_lists_the_choices(name):
    with pytest.raises(DataError, match="choose one of faithful, iris, penguins"):
        load_dataset(name)


def test_datasets_describe_each_set_in_one_line():
    assert set(DATASETS) == {"faithful", "iris", "penguins"}
    assert all(description and "\n" not in description for description in DATASETS.values())
