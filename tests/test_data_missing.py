"""read_csv's missing="keep": rows with some missing cells are kept as NaN and counted."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from emcore import DataError, read_csv
from emcore.bounded import read_csv_bounded
from emcore.data import dataset_labels, load_dataset

CSV = b"a,b,c\n1,2,3\n4,,6\nNA,8,inf\n,,\n10,11,12\n?,-,NA\n"


def test_drop_is_the_default_and_drops_rows_with_missing_cells():
    frame = read_csv(CSV)
    assert frame.to_numpy().tolist() == [[1, 2, 3], [10, 11, 12]]
    report = frame.attrs["report"]
    assert report.dropped_rows_missing == 3  # the all-missing "?,-,NA" row included
    assert report.kept_rows_missing == 0
    assert "have missing values" not in report.summary()


def test_keep_keeps_rows_with_some_missing_cells_as_nan():
    frame = read_csv(CSV, missing="keep")
    values = frame.to_numpy()
    expected = np.array([[1, 2, 3], [4, np.nan, 6], [np.nan, 8, np.nan], [10, 11, 12]])
    np.testing.assert_array_equal(values, expected)  # NaN == NaN here; inf became NaN
    report = frame.attrs["report"]
    assert report.n_rows == 4
    assert report.kept_rows_missing == 2
    assert report.dropped_rows_missing == 1  # "?,-,NA": nothing observed
    summary = report.summary()
    assert "2 rows have missing values; EM fits them on their observed columns." in summary
    assert "1 row with missing values" in summary


def test_keep_one_row_sentence_and_bad_mode():
    frame = read_csv(b"a,b\n1,2\n3,\n5,6\n", missing="keep")
    assert "1 row has missing values; EM fits it on its observed columns." in (
        frame.attrs["report"].summary()
    )
    with pytest.raises(DataError, match="missing must be"):
        read_csv(b"a,b\n1,2\n3,4\n", missing="fill")


def test_bounded_read_keeps_nan_and_the_new_field():
    frame = read_csv_bounded(CSV, missing="keep")
    assert np.isnan(frame.to_numpy()).sum() == 3
    assert frame.attrs["report"].kept_rows_missing == 2
    assert frame.attrs["report"] == read_csv(CSV, missing="keep").attrs["report"]
    assert read_csv_bounded(CSV).attrs["report"].kept_rows_missing == 0


def test_penguins_keep_is_a_parameter_and_labels_follow():
    default = load_dataset("penguins")
    kept = load_dataset("penguins", missing="keep")
    assert not np.isnan(default.to_numpy()).any()
    assert len(kept) >= len(default)
    assert len(dataset_labels("penguins", missing="keep")) == len(kept)


def test_app_build_fits_rows_with_gaps_and_exports_them_empty():
    from emapp.build.export import labels_csv
    from emapp.build.prepare import prepare_table
    from emapp.build.tables import as_table, choose
    from emapp.build.timeline import ModelSettings, compute_timeline

    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(0, 1, (30, 3)), rng.normal(5, 1, (30, 3))])
    lines = ["a,b,c"] + [
        ",".join("" if (i % 6 == 1 and j == i % 3) else f"{v:.3f}" for j, v in enumerate(row))
        for i, row in enumerate(X)
    ]
    table = as_table(read_csv("\n".join(lines).encode(), missing="keep"), "d", "gaps.csv")
    for columns in (["a", "b"], ["a", "b", "c"]):
        data = choose(table, columns, standardise=True)
        assert data.missing is not None and np.isfinite(data.X).all()
        assert np.isnan(data.fit_X).sum() == data.missing.sum() > 0
        np.testing.assert_allclose(np.nanmean(data.fit_X, axis=0), 0, atol=1e-12)
        timeline = compute_timeline(data.fit_X, ModelSettings(2))
        ll = [s.log_likelihood for s in timeline.states if s.log_likelihood is not None]
        assert all(b >= a - 1e-9 * abs(a) for a, b in itertools.pairwise(ll))
        run = prepare_table(("t", tuple(columns)), data, timeline)
        assert "Hollow circles" in run.caption
        fit = run.export
        text = labels_csv(fit.data, fit.columns, fit.resp)
        rows = [line.split(",") for line in text.splitlines()[1:]]
        empty = sum(cell == "" for row in rows for cell in row[: len(columns)])
        assert empty == data.missing.sum()  # the gaps stay empty


def test_penguins_keep_drops_only_the_two_birds_with_no_measurement_and_says_so():
    """Penguins' two incomplete birds have every measurement empty: "keep" cannot keep them,
    so both settings give the same complete rows, and the docstring says so (it said they
    were kept as NaN)."""
    default = load_dataset("penguins")
    kept = load_dataset("penguins", missing="keep")
    assert kept.shape == default.shape == (342, 4)
    assert not np.isnan(kept.to_numpy()).any()
    report = kept.attrs["report"]
    assert report.kept_rows_missing == 0 and report.dropped_rows_missing == 2
    assert "2 rows with missing values" in report.summary()
    doc = " ".join(load_dataset.__doc__.split())
    assert "two incomplete birds (rows 4 and 272 of its file) have every measurement empty" in doc
    assert "keeps penguins' two birds with some measurements" not in doc
