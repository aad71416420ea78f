"""emcore against scikit-learn: time per EM iteration, peak memory, and whether the fits agree.

Run from the repository root::

    .venv/bin/python bench/bench_em.py            # every size (a few minutes)
    .venv/bin/python bench/bench_em.py --quick    # small sizes only: a smoke run
    .venv/bin/python bench/bench_em.py --sizes 1000000x2x10:full,100000x32x16:diag --float32

Method. Both libraries fit the same data from the same starting parameters (``weights_init``,
``means_init``, ``precisions_init``) for the same fixed number of iterations (``tol=0``,
``max_iter`` fixed, ConvergenceWarning silenced). Their fits are timed alternately, best of N,
in this one process, so both see the same machine load; ms/iteration is the whole ``fit``
divided by the iterations. Peak memory is the peak of traced allocations (``tracemalloc``,
which sees NumPy's buffers) during one extra, untimed ``fit``, beyond the data itself. The
fits agree when the final scores (mean log-likelihood) differ by at most 1e-6 relative and
the weights, means and covariances by at most 1e-6 relative to their largest entry.

The last table times a whole default ``fit`` (tol=1e-3, k-means start, same random_state) at
the app's everyday size: scikit-learn does one more M-step after the change falls below tol
than emcore, which stops at the parameters whose change it measured.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
import tracemalloc
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import sklearn
from sklearn.datasets import make_blobs
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import GaussianMixture as SklearnMixture

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from emcore import EM, GaussianMixture, MixtureParams, covariance_model

Size = tuple[int, int, int, str]  # n, d, K, covariance type

FULL_SIZES = [(1_000, 2, 3), (100_000, 2, 5), (1_000_000, 2, 10), (100_000, 20, 10)]
FULL_SIZES += [(100_000, 32, 16)]
OTHER_SIZES = [(1_000, 2, 3), (100_000, 32, 16), (1_000_000, 2, 10)]
DEFAULT_SIZES: list[Size] = [(*size, "full") for size in FULL_SIZES] + [
    (*size, covariance_type)
    for covariance_type in ("diag", "spherical", "tied")
    for size in OTHER_SIZES
]
QUICK_SIZES: list[Size] = [(1_000, 2, 3, kind) for kind in ("full", "tied", "diag", "spherical")]
QUICK_SIZES += [(5_000, 4, 4, "full")]

AGREEMENT = 1e-6


@dataclass
class Timing:
    """Best wall time of a fit, and the fitted estimator."""

    seconds: float = np.inf
    fitted: object = None


# -- the cases -------------------------------------------------------------------------------


def make_data(n: int, d: int, k: int) -> np.ndarray:
    """Blobs: K unit-variance clusters with centres in a box of side 20, fixed seed."""
    X, _ = make_blobs(n_samples=n, n_features=d, centers=k, random_state=0)
    return X


def shared_start(X: np.ndarray, k: int, covariance_type: str) -> dict[str, np.ndarray]:
    """Starting parameters both libraries accept: K data points as means, the data's
    covariance (in the type's storage) as every component's, equal weights."""
    rng = np.random.default_rng(1)
    covariance = np.atleast_2d(np.cov(X, rowvar=False))
    variances = np.diag(covariance)
    precisions = {
        "full": np.broadcast_to(np.linalg.inv(covariance), (k, *covariance.shape)),
        "tied": np.linalg.inv(covariance),
        "diag": np.broadcast_to(1.0 / variances, (k, len(variances))),
        "spherical": np.full(k, 1.0 / variances.mean()),
    }[covariance_type]
    return {
        "weights_init": np.full(k, 1.0 / k),
        "means_init": X[rng.choice(len(X), size=k, replace=False)],
        "precisions_init": np.array(precisions),
    }


def default_iterations(n: int, d: int, k: int) -> int:
    """Enough iterations for a second or two of scikit-learn per fit (5 to 100)."""
    work = n * k * (d * (d + 1) // 2 + d + 1)
    return int(np.clip(round(2e8 / work), 5, 100))


# -- measuring -------------------------------------------------------------------------------


def interleaved_best(fits: dict[str, Callable[[], object]], repeats: int) -> dict[str, Timing]:
    """Best-of-``repeats`` wall time of each fit, the fits taking turns."""
    timings = {name: Timing() for name in fits}
    for _ in range(repeats):
        for name, fit in fits.items():
            began = time.perf_counter()
            fitted = fit()
            elapsed = time.perf_counter() - began
            if elapsed < timings[name].seconds:
                timings[name] = Timing(elapsed, fitted)
    return timings


def peak_memory_mb(fit: Callable[[], object]) -> float:
    """Peak traced allocations during ``fit``, in MB (allocations made before it excluded)."""
    tracemalloc.start()
    try:
        fit()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak / 1e6


def relative_difference(ours: np.ndarray, theirs: np.ndarray) -> float:
    ours, theirs = np.asarray(ours, dtype=float), np.asarray(theirs, dtype=float)
    return float(np.max(np.abs(ours - theirs)) / max(np.max(np.abs(theirs)), 1e-300))


def compare(ours, theirs, X: np.ndarray) -> tuple[float, float]:
    """Relative difference of the final scores, and the largest one among the parameters."""
    score = abs(ours.score(X) - theirs.score(X)) / abs(theirs.score(X))
    params = max(
        relative_difference(getattr(ours, name), getattr(theirs, name))
        for name in ("weights_", "means_", "covariances_")
    )
    return score, params


def float32_fit(X: np.ndarray, settings: dict) -> Callable[[], EM]:
    """emcore's EM in float32 mode from the same start (the façade has no dtype option)."""
    model = covariance_model(settings["covariance_type"])
    start = MixtureParams.from_precisions_cholesky(
        settings["weights_init"],
        settings["means_init"],
        model.cholesky_from_precisions(settings["precisions_init"]),
        model.name,
    )

    def fit() -> EM:
        run = EM(X, start, 1e-6, 0.0, settings["max_iter"], "none", regularization="add")
        return run.run(dtype=np.float32)

    return fit


# -- the tables ------------------------------------------------------------------------------


def iteration_table(sizes: list[Size], repeats: int, iterations: int | None, f32: bool) -> None:
    header = (
        "| n x d x K | covariance | iterations | scikit-learn ms/iter | emcore ms/iter | speed-up "
        "| peak MB sklearn | peak MB emcore | same fit (score, params rel. diff.) |"
    )
    rule = "|---|---|--:|--:|--:|--:|--:|--:|---|"
    if f32:
        header += " emcore float32 ms/iter | float32 speed-up | float32 score rel. diff. |"
        rule += "--:|--:|--:|"
    print(header)
    print(rule, flush=True)
    for n, d, k, covariance_type in sizes:
        print(iteration_row(n, d, k, covariance_type, repeats, iterations, f32), flush=True)


def iteration_row(n, d, k, covariance_type, repeats, iterations, f32) -> str:
    X = make_data(n, d, k)
    n_iter = iterations or default_iterations(n, d, k)
    settings = dict(
        n_components=k,
        covariance_type=covariance_type,
        tol=0.0,
        max_iter=n_iter,
        **shared_start(X, k, covariance_type),
    )
    fits = {
        "sklearn": lambda: SklearnMixture(**settings).fit(X),
        "emcore": lambda: GaussianMixture(**settings).fit(X),
    }
    if f32:
        fits["float32"] = float32_fit(X, settings)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        timings = interleaved_best(fits, repeats)
        memory = {name: peak_memory_mb(fits[name]) for name in ("sklearn", "emcore")}
    theirs, ours = timings["sklearn"], timings["emcore"]
    score, params = compare(ours.fitted, theirs.fitted, X)
    agree = "yes" if score <= AGREEMENT and params <= AGREEMENT else "**NO**"
    row = (
        f"| {n:,} x {d} x {k} | {covariance_type} | {n_iter} "
        f"| {1e3 * theirs.seconds / n_iter:,.2f} | {1e3 * ours.seconds / n_iter:,.2f} "
        f"| {theirs.seconds / ours.seconds:.1f}x "
        f"| {memory['sklearn']:,.1f} | {memory['emcore']:,.1f} "
        f"| {agree} ({score:.0e}, {params:.0e}) |"
    )
    if f32:
        single = timings["float32"]
        ll = single.fitted.log_likelihoods[-1] / n
        f32_score = abs(ll - theirs.fitted.score(X)) / abs(theirs.fitted.score(X))
        row += (
            f" {1e3 * single.seconds / n_iter:,.2f} | {theirs.seconds / single.seconds:.1f}x "
            f"| {f32_score:.0e} |"
        )
    return row


def whole_fit_table(n: int, d: int, k: int, repeats: int) -> None:
    X = make_data(n, d, k)
    settings = dict(n_components=k, random_state=0)
    timings = interleaved_best(
        {
            "sklearn": lambda: SklearnMixture(**settings).fit(X),
            "emcore": lambda: GaussianMixture(**settings).fit(X),
        },
        repeats,
    )
    theirs, ours = timings["sklearn"].fitted, timings["emcore"].fitted
    score = abs(ours.score(X) - theirs.score(X)) / abs(theirs.score(X))
    print(
        "| whole fit (tol=1e-3, k-means start) | scikit-learn ms | emcore ms | speed-up "
        "| iterations sklearn / emcore | score rel. diff. |"
    )
    print("|---|--:|--:|--:|---|--:|")
    print(
        f"| {n:,} x {d} x {k} full | {1e3 * timings['sklearn'].seconds:.2f} "
        f"| {1e3 * timings['emcore'].seconds:.2f} "
        f"| {timings['sklearn'].seconds / timings['emcore'].seconds:.1f}x "
        f"| {theirs.n_iter_} / {ours.n_iter_} | {score:.0e} |",
        flush=True,
    )


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as info:
            names = [line.split(":", 1)[1].strip() for line in info if "model name" in line]
        cpu = names[0] if names else cpu
    except OSError:
        pass
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return (
        f"{cpu}, {cores} cores; Python {platform.python_version()}, NumPy {np.__version__}, "
        f"scikit-learn {sklearn.__version__}"
    )


# -- command line ----------------------------------------------------------------------------


def parse_sizes(text: str) -> list[Size]:
    """``"1000x2x3:full,100000x32x16:diag"`` (the type defaults to full)."""
    sizes = []
    for item in text.split(","):
        shape, _, covariance_type = item.strip().partition(":")
        n, d, k = (int(part) for part in shape.lower().split("x"))
        sizes.append((n, d, k, covariance_type or "full"))
    return sizes


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes only (a smoke run)")
    parser.add_argument("--sizes", type=parse_sizes, help="e.g. 1000000x2x10:full,1000x2x3:diag")
    parser.add_argument("--repeats", type=int, default=None, help="best of N (default 3)")
    parser.add_argument("--iterations", type=int, default=None, help="fixed iterations per fit")
    parser.add_argument("--float32", action="store_true", help="also time emcore in float32")
    args = parser.parse_args(argv)
    sizes = args.sizes or (QUICK_SIZES if args.quick else DEFAULT_SIZES)
    repeats = args.repeats or (2 if args.quick else 3)
    print(f"Machine: {machine()}\n")
    iteration_table(sizes, repeats, args.iterations, args.float32)
    print()
    whole_fit_table(1_000, 2, 3, repeats=5 if args.quick else 30)


if __name__ == "__main__":
    main()
