"""emcore against scikit-learn: time per EM iteration, peak memory, and whether the fits agree.

Run from the repository root::

    make bench                                    # every size, with float32 (several minutes)
    .venv/bin/python bench/bench_em.py            # every size, float64 only
    .venv/bin/python bench/bench_em.py --quick    # small sizes only: a smoke run (seconds)
    .venv/bin/python bench/bench_em.py --sizes 1000000x2x10:full,100000x32x16:diag --float32

Method. Both libraries fit the same data from the same starting parameters (``weights_init``,
``means_init``, ``precisions_init``) for the same fixed number of iterations (``tol=0``,
``max_iter`` fixed, ConvergenceWarning silenced), full ``fit`` calls through the estimators'
public API. The fits take turns, ``--repeats`` times, in this one process, so both see the
same machine load; ms/iteration is the *median* ``fit`` time divided by the iterations, and
the speed-up is the ratio of the two medians. The fits agree when the final scores (mean
log-likelihood) differ by at most 1e-6 relative and the weights, means and covariances by at
most 1e-6 relative to their largest entry.

Peak memory is measured with ``tracemalloc`` (which sees NumPy's array buffers, not BLAS's
internal scratch) in separate, untimed runs, and counts what is allocated beyond the data:

- *fit*: a whole ``fit`` of each library. emcore's includes the final (n, K) responsibilities
  and their logarithms, which ``fit_predict`` needs for its labels;
- *iteration*: one emcore E-step + M-step without responsibilities (the fused pass of
  :mod:`emcore.fast`): bounded by its row chunks whatever n is. The (n, K) column is the size
  of one n x K float64 matrix, for scale.

The whole-fit table times default fits (tol=1e-3, same ``random_state``) at the app's
everyday size, validation and start included, each right after an untimed fit of the same
library (see :func:`interleaved`): from each library's own k-means start (the
everyday call; k-means, the same scikit-learn code in both, takes most of the time), and from
the shared given start (the EM loop itself). scikit-learn stops one M-step later than emcore:
both stop when the log-likelihood changed by less than tol, emcore at the parameters it
measured, scikit-learn after one more M-step. So agreement is checked on ``lower_bound_``,
the log-likelihood both computed at that same point of the path: equal to rounding from the
given start; about 1e-6 from k-means starts, which the two libraries seed differently.
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
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import sklearn
from sklearn.datasets import make_blobs
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import GaussianMixture as SklearnMixture

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from emcore import COVARIANCE_TYPES, EM, GaussianMixture, MixtureParams, covariance_model
from emcore.fast import FastEM

Size = tuple[int, int, int, str]  # n, d, K, covariance type

FULL_SIZES = [(1_000, 2, 3), (100_000, 2, 5), (1_000_000, 2, 10), (100_000, 20, 10)]
FULL_SIZES += [(100_000, 32, 16)]
OTHER_SIZES = [(1_000, 2, 3), (100_000, 32, 16), (1_000_000, 2, 10)]
DEFAULT_SIZES: list[Size] = [(*size, "full") for size in FULL_SIZES] + [
    (*size, covariance_type)
    for covariance_type in ("diag", "spherical", "tied")
    for size in OTHER_SIZES
]
QUICK_SIZES: list[Size] = [(1_000, 2, 3, kind) for kind in COVARIANCE_TYPES]
QUICK_SIZES += [(5_000, 4, 4, "full")]
WHOLE_FIT_SIZE = (1_000, 2, 3)

# The speed targets (emcore's speed over scikit-learn's); every other case: never slower.
TARGETS: dict[Size, float] = {(1_000_000, 2, 10, "full"): 10.0, (100_000, 32, 16, "full"): 4.0}
AGREEMENT = 1e-6


@dataclass
class Timing:
    """Wall times of one kind of fit, and the last fitted estimator."""

    seconds: list[float] = field(default_factory=list)
    fitted: object = None

    @property
    def median(self) -> float:
        return float(np.median(self.seconds))


# -- the cases -------------------------------------------------------------------------------


def make_data(n: int, d: int, k: int) -> np.ndarray:
    """Blobs: K unit-variance clusters with centres in a box of side 20, fixed seed."""
    X, _ = make_blobs(n_samples=n, n_features=d, centers=k, random_state=0)
    return X


def shared_start(X: np.ndarray, k: int, covariance_type: str) -> dict[str, np.ndarray]:
    """Starting parameters both libraries accept: K data points as means, the data's
    covariance (in the type's storage) as every component's, equal weights (as ``fit``
    keyword arguments)."""
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


def start_params(settings: dict) -> MixtureParams:
    """The shared start as emcore's parameters (for the runs below the façade)."""
    model = covariance_model(settings["covariance_type"])
    return MixtureParams.from_precisions_cholesky(
        settings["weights_init"],
        settings["means_init"],
        model.cholesky_from_precisions(settings["precisions_init"]),
        model.name,
    )


def default_iterations(n: int, d: int, k: int) -> int:
    """Enough iterations for a second or two of scikit-learn per fit (5 to 100)."""
    work = n * k * (d * (d + 1) // 2 + d + 1)
    return int(np.clip(round(2e8 / work), 5, 100))


# -- measuring -------------------------------------------------------------------------------


def interleaved(
    fits: dict[str, Callable[[], object]], repeats: int, settle: bool = False
) -> dict[str, Timing]:
    """Wall times of each fit, ``repeats`` times, the fits taking turns.

    With ``settle``, each timed fit follows an untimed one of the same library: threads left
    spinning by the other library (its BLAS, k-means' OpenMP) then slow neither. Measured
    here, such leftovers made a 2 ms fit at 1,000 x 2 x 3 up to 6 ms slower.
    """
    timings = {name: Timing() for name in fits}
    for _ in range(repeats):
        for name, fit in fits.items():
            if settle:
                fit()
            began = time.perf_counter()
            fitted = fit()
            timings[name].seconds.append(time.perf_counter() - began)
            timings[name].fitted = fitted
    return timings


def peak_memory_mb(run: Callable[[], object]) -> float:
    """Peak traced allocations during ``run``, in MB (allocations made before it excluded)."""
    tracemalloc.start()
    try:
        run()
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
    start = start_params(settings)

    def fit() -> EM:
        run = EM(X, start, 1e-6, 0.0, settings["max_iter"], "none", regularization="add")
        return run.run(dtype=np.float32)

    return fit


def one_iteration(X: np.ndarray, settings: dict) -> Callable[[], MixtureParams]:
    """One fused E-step + M-step that keeps no responsibilities, as ``EM.run`` does."""
    start = start_params(settings)

    def iterate() -> MixtureParams:
        fast = FastEM(X, settings["covariance_type"], 1e-6, "add")
        return fast.m_step(fast.e_step(start), start)

    return iterate


def verdict(speed_up: float, target: float) -> str:
    return f"{target:g}x: " + ("met" if speed_up >= target else "**NOT MET**")


# -- the tables ------------------------------------------------------------------------------


def iteration_table(sizes: list[Size], repeats: int, iterations: int | None, f32: bool) -> None:
    header = (
        "| n x d x K | covariance | iterations | scikit-learn ms/iter | emcore ms/iter "
        "| speed-up | target | peak MB fit: sklearn / emcore | peak MB emcore iteration "
        "| (n x K MB) | same fit (score, params rel. diff.) |"
    )
    rule = "|---|---|--:|--:|--:|--:|---|--:|--:|--:|---|"
    if f32:
        header += " float32 ms/iter | float32 speed-up | float32 vs sklearn (score, params) |"
        rule += "--:|--:|---|"
    print(header)
    print(rule, flush=True)
    for size in sizes:
        print(iteration_row(size, repeats, iterations, f32), flush=True)


def iteration_row(size: Size, repeats: int, iterations: int | None, f32: bool) -> str:
    n, d, k, covariance_type = size
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
        # Untimed, and also the warm-up (thread pools, caches) of the timed fits.
        memory = {name: peak_memory_mb(fits[name]) for name in ("sklearn", "emcore")}
        memory["iteration"] = peak_memory_mb(one_iteration(X, settings))
        timings = interleaved(fits, repeats)
    theirs, ours = timings["sklearn"], timings["emcore"]
    speed_up = theirs.median / ours.median
    score, params = compare(ours.fitted, theirs.fitted, X)
    agree = "yes" if score <= AGREEMENT and params <= AGREEMENT else "**NO**"
    row = (
        f"| {n:,} x {d} x {k} | {covariance_type} | {n_iter} "
        f"| {1e3 * theirs.median / n_iter:,.2f} | {1e3 * ours.median / n_iter:,.2f} "
        f"| {speed_up:.1f}x | {verdict(speed_up, TARGETS.get(size, 1.0))} "
        f"| {memory['sklearn']:,.1f} / {memory['emcore']:,.1f} | {memory['iteration']:,.1f} "
        f"| {n * k * 8 / 1e6:,.1f} | {agree} ({score:.0e}, {params:.0e}) |"
    )
    if f32:
        row += float32_cells(timings["float32"], theirs, X, n_iter)
    return row


def float32_cells(single: Timing, theirs: Timing, X: np.ndarray, n_iter: int) -> str:
    """Speed of the float32 run, and its distance from scikit-learn's float64 fit."""
    fitted, reference = single.fitted, theirs.fitted
    score = abs(fitted.log_likelihoods[-1] / len(X) - reference.score(X))
    params = max(
        relative_difference(getattr(fitted.params, name), getattr(reference, f"{name}_"))
        for name in ("weights", "means", "covariances")
    )
    return (
        f" {1e3 * single.median / n_iter:,.2f} | {theirs.median / single.median:.1f}x "
        f"| {score / abs(reference.score(X)):.0e}, {params:.0e} |"
    )


def whole_fit_table(covariance_types: tuple[str, ...], repeats: int) -> None:
    print(
        "| whole fit (tol=1e-3) | covariance | start | scikit-learn ms | emcore ms | speed-up "
        "| target | iterations sklearn / emcore | lower_bound_ rel. diff. |"
    )
    print("|---|---|---|--:|--:|--:|---|---|--:|")
    n, d, k = WHOLE_FIT_SIZE
    X = make_data(n, d, k)
    for covariance_type in covariance_types:
        for start in ("k-means", "same given"):
            print(whole_fit_row(X, k, covariance_type, start, repeats), flush=True)


def whole_fit_row(X: np.ndarray, k: int, covariance_type: str, start: str, repeats: int) -> str:
    """Default ``fit`` calls: each library's k-means start, or the shared given start."""
    settings: dict = dict(n_components=k, covariance_type=covariance_type, random_state=0)
    if start != "k-means":
        settings.update(shared_start(X, k, covariance_type))
    fits = {
        "sklearn": lambda: SklearnMixture(**settings).fit(X),
        "emcore": lambda: GaussianMixture(**settings).fit(X),
    }
    timings = interleaved(fits, repeats, settle=True)
    theirs, ours = timings["sklearn"].fitted, timings["emcore"].fitted
    difference = abs(ours.lower_bound_ - theirs.lower_bound_) / abs(theirs.lower_bound_)
    speed_up = timings["sklearn"].median / timings["emcore"].median
    n, d = X.shape
    return (
        f"| {n:,} x {d} x {k} | {covariance_type} | {start} "
        f"| {1e3 * timings['sklearn'].median:.2f} | {1e3 * timings['emcore'].median:.2f} "
        f"| {speed_up:.1f}x | {verdict(speed_up, 1.0)} | {theirs.n_iter_} / {ours.n_iter_} "
        f"| {difference:.0e} |"
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
        f"{cpu}, {cores} cores; Python {platform.python_version()}, NumPy {np.__version__} "
        f"({blas()}), scikit-learn {sklearn.__version__}"
    )


def load_average() -> str:
    """The 1-minute load average (compare it with the cores), if the system reports it."""
    try:
        return f"{os.getloadavg()[0]:.1f}"
    except (AttributeError, OSError):
        return "unknown"


def blas() -> str:
    """NumPy's BLAS, as NumPy reports it."""
    try:
        info = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        return f"{info['name']} {info['version']}"
    except (KeyError, TypeError, ValueError):
        return "BLAS unknown"


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
    parser.add_argument("--repeats", type=int, default=None, help="fits per library (default 5)")
    parser.add_argument("--iterations", type=int, default=None, help="fixed iterations per fit")
    parser.add_argument("--float32", action="store_true", help="also time emcore in float32")
    parser.add_argument("--no-whole-fit", action="store_true", help="skip the whole-fit table")
    args = parser.parse_args(argv)
    sizes = args.sizes or (QUICK_SIZES if args.quick else DEFAULT_SIZES)
    repeats = args.repeats or (2 if args.quick else 5)
    print(f"Machine: {machine()}; load average {load_average()}\n")
    iteration_table(sizes, repeats, args.iterations, args.float32)
    if not args.no_whole_fit:
        print()
        whole_fit_table(COVARIANCE_TYPES, repeats=max(5, 5 * repeats if args.quick else 20))
    # Other processes' load slows both libraries, not always equally (spinning BLAS threads).
    print(f"\nLoad average at the end: {load_average()}")


if __name__ == "__main__":
    main()
