"""emcore's select_model against R's mclust 6.0 on iris and Old Faithful, cell by cell.

The fixtures (tests/fixtures/mclust/bic_{iris,faithful}.json) are mclustBIC(X, G = 1:9)'s
tables for its 14 models, recorded by ``Rscript bench/mclust_bic.R``: each cell's BIC in
mclust's sign (higher is better; emcore's BIC is minus it), log-likelihood and parameter
count (df), null where mclust could not fit the cell (NA in its table).

With select_model's defaults (all 14 models, one hc start per cell, as mclust):

- every cell mclust fitted, emcore fits too, at least as well: its BIC (lower is better) is
  at most mclust's (negated) + 0.1;
- emcore counts the parameters as mclust does (df) in every cell;
- the choices are mclust's: VEV with 2 components for iris, EEE with 3 for Old Faithful.

The module runs once emcore has mclust's 14 models (``covariance_model("VEV")``); before
that it is skipped.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_iris

from emcore.covariance import covariance_model
from emcore.selection import ModelSelection, select_model

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures" / "mclust"
FAITHFUL_CSV = ROOT / "emcore" / "_datasets" / "faithful.csv"

# How much worse than mclust a cell may be, in BIC units (2 x log-likelihood).
TOLERANCE = 0.1
# mclust's choice by BIC (its summary's best model).
CHOICES = {"iris": ("VEV", 2), "faithful": ("EEE", 3)}


def _has_mclust_models() -> bool:
    try:
        covariance_model("VEV")
    except ValueError:
        return False
    return True


pytestmark = pytest.mark.skipif(
    not _has_mclust_models(), reason="emcore does not have mclust's 14 covariance models yet"
)


def load_reference(name: str) -> dict:
    return json.loads((FIXTURES / f"bic_{name}.json").read_text())


def reference_cells(reference: dict) -> pd.DataFrame:
    """One row per (model, G): mclust's bic, loglik, df (NaN where mclust has NA)."""
    cells = pd.DataFrame(reference["cells"])
    return cells.astype({"bic": float, "loglik": float}).set_index(["model", "G"])


def load_data(name: str) -> np.ndarray:
    if name == "iris":
        return load_iris().data
    return pd.read_csv(FAITHFUL_CSV)[["eruptions", "waiting"]].to_numpy()


@pytest.fixture(scope="module", params=["iris", "faithful"])
def case(request) -> tuple[str, dict, np.ndarray, ModelSelection]:
    name = request.param
    reference = load_reference(name)
    X = load_data(name)
    return name, reference, X, select_model(X, reference["G"])


def emcore_cells(selection: ModelSelection) -> pd.DataFrame:
    table = selection.table.rename(columns={"mclust_name": "model", "n_components": "G"})
    return table.set_index(["model", "G"])


def test_the_data_are_mclusts(case):
    _, reference, X, _ = case
    check = reference["data_check"]
    assert X.shape == (reference["n"], reference["d"])
    np.testing.assert_allclose(X.sum(axis=0), check["column_sums"], rtol=1e-12)
    np.testing.assert_allclose((X**2).sum(axis=0), check["column_sums_of_squares"], rtol=1e-12)
    assert check.get("equals_csv", True)  # Old Faithful: R's faithful is emcore's CSV


def test_the_fixture_is_consistent():
    """mclust's BIC is 2 loglik - df log n in every fitted cell, as the R script checked."""
    for name in ("iris", "faithful"):
        reference = load_reference(name)
        cells = reference_cells(reference).dropna(subset=["bic"])
        expected = 2 * cells["loglik"] - cells["df"] * math.log(reference["n"])
        np.testing.assert_allclose(cells["bic"], expected, rtol=1e-9)


def test_every_model_and_k_is_in_the_table(case):
    _, reference, _, selection = case
    ours = emcore_cells(selection)
    assert set(ours.index) == set(reference_cells(reference).index)
    assert list(selection.pivot(mclust_names=True).columns) == reference["models"]


def test_parameter_counts_equal_mclusts_df(case):
    _, reference, _, selection = case
    theirs = reference_cells(reference)
    ours = emcore_cells(selection).loc[theirs.index]
    different = ours["n_parameters"] != theirs["df"]
    assert not different.any(), ours.loc[different, ["n_parameters"]].join(theirs["df"])


def test_every_cell_is_at_least_as_good_as_mclusts(case):
    name, reference, _, selection = case
    theirs = reference_cells(reference).dropna(subset=["bic"])
    ours = emcore_cells(selection).loc[theirs.index]
    mclust_bic_our_sign = -theirs["bic"]
    usable = ours["status"] == "ok"
    worse = ~usable | (ours["bic"] > mclust_bic_our_sign + TOLERANCE)
    report = pd.DataFrame(
        {
            "emcore_bic": ours["bic"],
            "mclust_bic": mclust_bic_our_sign,
            "worse_by": ours["bic"] - mclust_bic_our_sign,
            "status": ours["status"],
            "start": ours["start"],
        }
    )
    assert not worse.any(), f"{name}: cells worse than mclust's\n{report[worse].to_string()}"


def test_the_choice_is_mclusts(case):
    name, reference, _, selection = case
    best = reference["best"][0]
    assert (best["model"], best["G"]) == CHOICES[name]
    assert (selection.best.mclust_name, selection.best.n_components) == CHOICES[name]
    assert selection.best.value <= -best["bic"] + TOLERANCE


# -- data where the start decides (outliers around two clusters, a skewed cloud) ----------------
#
# Generated once with NumPy (seeded), saved as CSV, and given to mclust 6.0 by
# ``Rscript bench/mclust_starts.R``. The issue reports such data where ten k-means starts miss
# mclust's optimum for the full model by over 100 BIC units; here select_model's defaults
# must reach every cell mclust reached. Four models keep the test short (all 14 were checked
# when the fixtures were recorded: no cell worse than mclust's).
START_MODELS = ["VII", "EEE", "VEV", "VVV"]


@pytest.mark.parametrize("name", ["outliers", "skewed"])
def test_the_default_starts_reach_mclusts_optimum_where_starts_matter(name: str) -> None:
    X = pd.read_csv(FIXTURES / f"starts_{name}.csv").to_numpy()
    reference = json.loads((FIXTURES / f"starts_{name}.json").read_text())
    table = select_model(X, covariance_types=START_MODELS).table
    table = table.set_index(["mclust_name", "n_components"])
    for cell in reference["cells"]:
        if cell["model"] not in START_MODELS or cell["bic"] is None:
            continue
        row = table.loc[(cell["model"], cell["G"])]
        assert row["status"] == "ok", (cell, row["status"])
        assert row["bic"] <= -cell["bic"] + TOLERANCE, (cell, row["bic"])
