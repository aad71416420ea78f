"""select_model against R's mclustBIC on wide data: few points per dimension.

Run from the repository root::

    .venv/bin/python bench/bench_wide.py            # 60 x 10, 100 x 15, 60 x 50; R too
    .venv/bin/python bench/bench_wide.py --no-mclust # emcore only
    .venv/bin/python bench/bench_wide.py --quick    # one small set, no R: a smoke run

The data: two groups of normal points, half at 0 and half at 2 in every column (the
tests' ``_two_groups_in_ten_columns`` at other sizes), where many cells cannot be fitted
(a component flat in some direction: NA in mclust's table, "degenerate" in emcore's). Per
data set: the whole 14 x 9 table's time with select_model's defaults and mclustBIC's
(``Rscript bench/mclust_csv.R``, the same data through a temporary CSV), their ratio
(emcore / mclust: below 1 is faster than mclust), both choices, and the cells where emcore's
BIC is worse than mclust's by more than 0.1 or NA where mclust has a value. Without
``Rscript`` or mclust the R side is skipped with a message. One timed run per table: these
tables take seconds to minutes and their times move with the machine's load (printed).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
from sklearn.exceptions import ConvergenceWarning

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_mclust import WORSE_BY, load_average, machine, markdown, run_r_json  # noqa: E402

from emcore import select_model  # noqa: E402

R_SCRIPT = ROOT / "bench" / "mclust_csv.R"
SIZES = ((60, 10), (100, 15), (60, 50))


def two_groups(n: int, d: int) -> np.ndarray:
    """n x d: the first n // 2 rows standard normal, the others centred at 2."""
    rng = np.random.default_rng(0)
    return np.r_[rng.normal(size=(n // 2, d)), rng.normal(2, 1, size=(n - n // 2, d))]


def mclust_table(X: np.ndarray) -> dict | None:
    """mclustBIC's time and cells on ``X``, or None (with a message) when R cannot run."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "data.csv"
        np.savetxt(path, X, delimiter=",", fmt="%.17g")
        return run_r_json([str(R_SCRIPT), str(path)], "run", 3600)


def emcore_table(X: np.ndarray) -> tuple[float, dict[tuple[str, int], float], str]:
    """select_model's time, its cells in mclust's sign (NaN: NA) and its choice."""
    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        result = select_model(X, covariance_types="all")
    seconds = time.perf_counter() - started
    table = result.pivot(mclust_names=True, mclust_sign=True)
    cells = {(model, int(k)): float(table.loc[k, model]) for model in table for k in table.index}
    best = result.best
    return seconds, cells, "none" if best is None else f"{best.mclust_name},{best.n_components}"


def worse_cells(ours: dict[tuple[str, int], float], theirs: dict) -> list[str]:
    """Cells where emcore is worse than mclust by more than WORSE_BY, or NA where mclust
    has a value."""
    found = []
    for cell in theirs["cells"]:
        reference = cell["bic"]
        mine = ours.get((cell["model"], cell["G"]), np.nan)
        if reference is None or mine >= reference - WORSE_BY:
            continue
        gap = "NA" if np.isnan(mine) else f"{mine - reference:.1f}"
        found.append(f"{cell['model']},{cell['G']} ({gap})")
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="one small set, no R")
    parser.add_argument("--no-mclust", action="store_true", help="emcore only, no R")
    arguments = parser.parse_args()
    sizes = ((30, 4),) if arguments.quick else SIZES
    print(f"Machine: {machine()}; load average {load_average()}")
    print("Two groups of normal points; all 14 models, K = 1..9, defaults of both.\n")
    rows = []
    for n, d in sizes:
        X = two_groups(n, d)
        seconds, cells, choice = emcore_table(X)
        skip_r = arguments.quick or arguments.no_mclust
        reference = None if skip_r else mclust_table(X)
        if reference is None:
            rows.append([f"{n} x {d}", f"{seconds:.2f}", "-", "-", choice, "-", "-"])
            continue
        worse = worse_cells(cells, reference)
        ratio = seconds / reference["seconds"]
        rows.append(
            [
                f"{n} x {d}",
                f"{seconds:.2f}",
                f"{reference['seconds']:.2f}",
                f"{ratio:.2f}x",
                choice,
                reference["best"],
                ", ".join(worse) or "none",
            ]
        )
    headers = ["n x d", "emcore s", "mclust s", "emcore / mclust", "emcore's choice"]
    headers += ["mclust's choice", "cells worse than mclust's (BIC difference)"]
    print(markdown(headers, rows))
    print(f"\nLoad average at the end: {load_average()}")


if __name__ == "__main__":
    main()
