"""EM with missing values (``missing="em"``): what the gaps cost, per iteration and per table.

Run from the repository root::

    .venv/bin/python bench/bench_missing.py            # 4 models x K = 1..4 (20 seconds)
    .venv/bin/python bench/bench_missing.py --full     # also all 14 models x K = 1..9
    .venv/bin/python bench/bench_missing.py --quick    # a few seconds: a smoke run

Data. scikit-learn's wine data (178 x 13) with each cell removed with probability 5 %
(``np.random.default_rng(0)``): 40 missingness patterns, 88 rows with a gap. Its complete
counterpart is the same data with nothing removed (the removed cells at their true values).

What it measures, all in this one process, the two data sets taking turns ``--repeats``
times so that both see the same machine load (the load average is printed):

1. **Time per EM iteration**, for each model and K: from the same start, a fixed number of
   iterations (``--iterations``, timed against a run of a quarter as many, so the difference
   is the marginal cost of one iteration, after an untimed warm-up run) of
   :func:`emcore.e_step` and :func:`emcore.m_step`, the reference steps every
   run with missing values takes (with the data's :class:`~emcore.missing.Patterns`, found
   once per run as :class:`emcore.EM` does). The complete data run the same steps
   (*reference*) and, as ``EM.run`` does for complete data, the fused passes of
   :mod:`emcore.fast` (*fused*). The medians per iteration and their ratios: missing values
   / complete data, so 1 would mean the gaps cost nothing.
2. **Time of a whole table**: ``select_model`` with ``missing="em"`` on the data with gaps
   and with its defaults on the complete data (same models, same K), the median time and the
   ratio. With ``--full`` also all 14 models for K = 1..9, once each (slow: a minute or more).

Before the missing-value steps were batched over patterns (emcore.missing), an iteration on
these data took 10 to 40 times as long as the complete data's reference iteration (now 2 to
7 times), and the 14-model table 3 to 3.5 times as long as now (260 s against 73 to 87 s of
CPU time, a loaded 2-core machine); that older code is gone, so it is not timed here.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
from sklearn.datasets import load_wine
from sklearn.exceptions import ConvergenceWarning

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench_mclust import load_average, machine, markdown

from emcore import EM, e_step, initial_params, m_step, select_model
from emcore.missing import fill_column_means, missing_patterns
from emcore.selection import model_names

MISSING_FRACTION = 0.05
MODELS = ["VVV", "EEE", "VVI", "EII"]
ITERATION_CASES = [(model, k) for model in [*MODELS, "VEV"] for k in (2, 4, 9)]
QUICK_CASES = [("VVV", 2), ("VVI", 2)]


def wine_with_gaps(fraction: float = MISSING_FRACTION) -> tuple[np.ndarray, np.ndarray]:
    """The wine data with gaps (NaN), and complete."""
    complete = load_wine().data
    gaps = complete.copy()
    gaps[np.random.default_rng(0).random(gaps.shape) < fraction] = np.nan
    return gaps, complete


def median_time(run: Callable[[], object], repeats: int) -> float:
    """Median wall time of ``run`` over ``repeats`` calls, seconds."""
    times = []
    for _ in range(repeats):
        begin = time.perf_counter()
        run()
        times.append(time.perf_counter() - begin)
    return statistics.median(times)


def stepped(X: np.ndarray, params, model: str, iterations: int) -> Callable[[], None]:
    """``iterations`` reference EM iterations (E-step, M-step) from ``params``."""

    def run() -> None:
        patterns = missing_patterns(X)  # once per run, as EM does
        current = params
        for _ in range(iterations):
            estep = e_step(X, current, patterns)
            current = m_step(X, estep.resp, model, 1e-8, current, "floor", patterns=patterns)

    return run


def fused(X: np.ndarray, params, iterations: int) -> Callable[[], None]:
    """``iterations`` EM iterations by the fused passes (complete data only)."""
    settings = dict(reg_covar=1e-8, regularization="floor", tol=0.0, max_iter=iterations)
    return lambda: EM(X, params, record="none", **settings).run()


def marginal_ms(make: Callable[[int], Callable[[], object]], iterations: int) -> float:
    """Milliseconds of one more iteration: a run of ``iterations`` against one of a quarter
    as many, so what a run costs once (validation, patterns, set-up) cancels."""
    short = max(1, iterations // 4)
    long_run, short_run = make(iterations), make(short)
    return 1e3 * (median_time(long_run, 1) - median_time(short_run, 1)) / (iterations - short)


def per_iteration(cases, iterations: int, repeats: int) -> list[list[str]]:
    """Table 1: ms per iteration with gaps and complete, and their ratios."""
    gaps, complete = wine_with_gaps()
    rows = []
    for model, k in cases:
        name = model_names([model])[0]
        start = initial_params(fill_column_means(gaps), k, name, random_state=0)
        runs = {
            "missing": lambda n, start=start, name=name: stepped(gaps, start, name, n),
            "reference": lambda n, start=start, name=name: stepped(complete, start, name, n),
            "fused": lambda n, start=start: fused(complete, start, n),
        }
        for make in runs.values():  # untimed: the first calls warm caches up
            make(2)()
        times: dict[str, list[float]] = {label: [] for label in runs}
        for _ in range(repeats):  # the three take turns: the same load for each
            for label, make in runs.items():
                times[label].append(marginal_ms(make, iterations))
        ms = {label: statistics.median(values) for label, values in times.items()}
        rows.append(
            [
                model,
                str(k),
                f"{ms['missing']:.2f}",
                f"{ms['reference']:.2f}",
                f"{ms['fused']:.2f}",
                f"{ms['missing'] / ms['reference']:.1f}x",
                f"{ms['missing'] / ms['fused']:.1f}x",
            ]
        )
    return rows


def whole_table(models: list[str], ks: list[int], repeats: int) -> list[str]:
    """Table 2, one row: select_model with gaps and on the complete data."""
    gaps, complete = wine_with_gaps()
    with_gaps, without = [], []
    for _ in range(repeats):
        with_gaps.append(median_time(lambda: select_model(gaps, ks, models, missing="em"), 1))
        without.append(median_time(lambda: select_model(complete, ks, models), 1))
    seconds, plain = statistics.median(with_gaps), statistics.median(without)
    described = f"{len(models)} models ({', '.join(models) if len(models) < 5 else 'all'})"
    return [
        described,
        f"{ks[0]}..{ks[-1]}",
        f"{seconds:.2f}",
        f"{plain:.2f}",
        f"{seconds / plain:.1f}x",
    ]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a few seconds: a smoke run")
    parser.add_argument("--full", action="store_true", help="also all 14 models, K = 1..9")
    parser.add_argument("--repeats", type=int, default=None, help="turns of each (default 5)")
    parser.add_argument("--iterations", type=int, default=None, help="per timed run (20)")
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore", ConvergenceWarning)
    repeats = args.repeats or (1 if args.quick else 5)
    iterations = args.iterations or (5 if args.quick else 20)

    gaps, _ = wine_with_gaps()
    patterns = missing_patterns(gaps)
    print(f"Machine: {machine()}; load average {load_average()}")
    print(
        f"Data: wine {gaps.shape[0]} x {gaps.shape[1]}, {MISSING_FRACTION:.0%} of cells removed:"
        f" {len(patterns)} patterns, {len(gaps) - len(patterns.complete_rows)} rows with gaps\n"
    )

    cases = QUICK_CASES if args.quick else ITERATION_CASES
    headers = ["model", "K", "gaps ms/it", "complete ms/it", "fused ms/it"]
    headers += ["gaps / complete", "gaps / fused"]
    print(f"Time per EM iteration (median of {repeats}; runs of {iterations} against fewer):\n")
    print(markdown(headers, per_iteration(cases, iterations, repeats)))

    tables = [(MODELS[:2], [1, 2])] if args.quick else [(MODELS, [1, 2, 3, 4])]
    if args.full:
        tables.append((model_names("all"), list(range(1, 10))))
    rows = [whole_table(models, ks, 1 if len(models) > 4 else repeats) for models, ks in tables]
    print(f"\nselect_model, the whole table (median of {repeats} for 4 models, once for all):\n")
    print(markdown(["models", "K", "gaps s", "complete s", "gaps / complete"], rows))
    print(f"\nLoad average after: {load_average()}")


if __name__ == "__main__":
    main()
