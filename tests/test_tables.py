"""What a table opens on: years, ids and counters left out, known classes shown best, and
the sentence for more components than rows."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from emapp.build.tables import (
    as_table,
    bookkeeping_columns,
    choose,
    dataset_table,
    default_columns,
    is_bookkeeping,
    spread_ratio,
    suggest_standardise,
)
from emapp.build.timeline import ModelSettings, compute_timeline
from emcore import read_csv

PENGUINS = Path(__file__).parents[1] / "emcore" / "_datasets" / "penguins.csv"


@pytest.mark.parametrize(
    ("name", "values", "expected"),
    [
        ("year", [2007, 2008, 2009, 2007], True),
        ("Year of birth", [1990, 1985, 2001, 1999], True),
        ("sample_id", [17, 3, 99, 4], True),
        ("ID", [5, 6, 7, 5], True),
        ("row number", [3, 1, 2, 4], True),
        ("season", [2007, 2008, 2007, 2009], True),  # whole numbers in the years, a few of them
        ("t", [1, 2, 3, 4, 5], True),  # counting up row by row
        ("height", [172.5, 180.0, 165.2, 190.1], False),
        ("mass", [3750, 3800, 3250, 4000], False),
        ("flipper", [181, 186, 195, 193], False),
        ("idx score", [0.5, 1.5, 2.5, 3.0], False),  # not whole numbers: a measurement
    ],
)
def test_years_ids_and_counters_are_bookkeeping(name, values, expected) -> None:
    assert is_bookkeeping(name, np.asarray(values, dtype=float)) is expected


def test_penguins_year_is_not_fitted_and_does_not_drive_the_advice() -> None:
    table = as_table(read_csv(PENGUINS), "digest", "penguins.csv")
    assert "year" in table.frame.columns
    assert bookkeeping_columns(table.frame) == {"year"}
    assert default_columns(table) == ["bill_len", "bill_dep", "flipper_len", "body_mass"]
    # Two measurements of similar spread and the year: no advice to standardise.
    chosen = table.frame[["bill_len", "flipper_len", "year"]]
    ratio, high, low = spread_ratio(chosen)
    assert "year" not in (high, low) and ratio < 10
    years_only = pd.DataFrame({"a": [1.0, 1.1, 0.9, 1.2], "year": [2000, 2010, 1990, 2020]})
    assert not suggest_standardise(years_only)


def test_a_table_of_only_bookkeeping_columns_still_opens_on_them() -> None:
    table = as_table(
        pd.DataFrame({"id": [1.0, 2.0, 3.0], "year": [2001.0, 2002.0, 2001.0]}), "d", "t"
    )
    assert default_columns(table) == ["id", "year"]


def test_iris_opens_on_petal_length_and_width() -> None:
    table = dataset_table("iris")
    assert table.truth is not None and len(table.truth) == len(table.frame)
    assert default_columns(table) == ["petal_length", "petal_width"]
    chosen = choose(table, default_columns(table), standardise=False)
    assert chosen.truth is table.truth


def test_penguins_open_on_two_columns_that_show_the_species() -> None:
    table = dataset_table("penguins")
    columns = default_columns(table)
    assert len(columns) == 2 and "bill_len" in columns  # the one that tells Adelie apart


def test_more_components_than_rows_is_said_in_plain_words() -> None:
    X = np.array([[1.0, 2.0], [3.0, 5.0]])
    for init in ("random", "random_from_data", "k-means++", "kmeans"):
        with pytest.raises(ValueError) as raised:
            compute_timeline(X, ModelSettings(3, "full", init, 0))
        assert str(raised.value) == (
            "3 components need at least 3 rows; this file has 2 usable rows. "
            "Choose fewer components."
        )
