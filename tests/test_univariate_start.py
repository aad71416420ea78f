"""One column: mclust starts every cell from quantile groups (its qclass), not from the
agglomeration. emcore tries that start first, so each cell of its table is at least as good
as mclust's (tests/fixtures/mclust/univariate_faithful.json, from bench/mclust_univariate.R)."""

import json
from pathlib import Path

import numpy as np
import pytest

from emcore import load_dataset, select_model
from emcore.init import quantile_classes

FIXTURE = json.loads(
    (Path(__file__).parent / "fixtures" / "mclust" / "univariate_faithful.json").read_text()
)
COLUMNS = ("eruptions", "waiting")
# In one dimension mclust's E and V are emcore's EII and VII (and every model of the family).
ONE_D_NAMES = {"E": "EII", "V": "VII"}


@pytest.mark.parametrize("column", COLUMNS)
def test_quantile_groups_are_mclusts(column: str) -> None:
    x = load_dataset("faithful")[column].to_numpy()
    for k, labels in FIXTURE["columns"][column]["qclass"].items():
        np.testing.assert_array_equal(quantile_classes(x, int(k)), labels)


def test_quantile_groups_of_repeated_values_match_mclusts_rules() -> None:
    # From R: mclust:::qclass(c(1,1,1,2,2,3,3,3,3,4,5,5,5,5,5,6), k) - 1.
    x = np.array([1, 1, 1, 2, 2, 3, 3, 3, 3, 4, 5, 5, 5, 5, 5, 6], dtype=float)
    expected = {
        2: [0] * 5 + [1] * 11,
        3: [0] * 5 + [1] * 5 + [2] * 6,
        5: [0, 0, 0, 1, 1, 2, 2, 2, 2, 2, 4, 4, 4, 4, 4, 4],  # mclust leaves group 3 empty
    }
    for k, labels in expected.items():
        np.testing.assert_array_equal(quantile_classes(x, k), labels)
    assert quantile_classes(np.array([1.0, 1.0, 2.0, 2.0]), 2) is None  # 3 cuts impossible


@pytest.mark.parametrize("column", COLUMNS)
def test_every_one_column_cell_is_at_least_as_good_as_mclusts(column: str) -> None:
    # Before, without the quantile start: eruptions V with K = 5, 6 and 9 ended 0.7, 0.6
    # and 1.9 BIC units below mclust's.
    X = load_dataset("faithful")[[column]].to_numpy()
    table = select_model(X).table.set_index(["mclust_name", "n_components"])
    for cell in FIXTURE["columns"][column]["cells"]:
        if cell["bic"] is None:
            continue
        ours = table.loc[(ONE_D_NAMES[cell["model"]], cell["G"]), "bic"]
        assert ours <= -cell["bic"] + 0.1, (cell, ours)


def test_the_quantile_start_is_named_in_the_table() -> None:
    X = load_dataset("faithful")[["eruptions"]].to_numpy()
    starts = set(select_model(X, n_components=[3], covariance_types="VII").table["start"])
    assert starts <= {"quantiles", "hc", "kmeans 2"} and len(starts) == 1
