"""Time per EM iteration, emcore against scikit-learn, on the same data and start.

Run: ``make bench`` or ``.venv/bin/python bench/bench_iteration.py [--quick]``.
Both libraries get identical weights, means and precisions and run a fixed number of
iterations (tol=0), interleaved and best-of-N, so the printed ratio is measured in one run on
one machine. The final scores are compared too.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import GaussianMixture as SklearnMixture

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from emcore import GaussianMixture, covariance_model

FULL_SIZES = [(1_000, 2, 3), (100_000, 2, 5), (100_000, 20, 10)]
QUICK_SIZES = [(1_000, 2, 3), (5_000, 4, 4)]


def make_case(n: int, d: int, k: int, covariance_type: str, seed: int = 0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=5.0, size=(k, d))
    X = centres[rng.integers(0, k, n)] + rng.normal(size=(n, d))
    model = covariance_model(covariance_type)
    covariances = model.from_full(np.broadcast_to(np.cov(X.T).reshape(d, d), (k, d, d)), None)
    start = {
        "weights_init": np.full(k, 1 / k),
        "means_init": X[rng.choice(n, k, replace=False)],
        "precisions_init": model.inverse(covariances),
    }
    return X, start


def time_fit(estimator, X, repeats: int) -> tuple[float, float]:
    best = np.inf
    for _ in range(repeats):
        began = time.perf_counter()
        estimator.fit(X)
        best = min(best, time.perf_counter() - began)
    return best, estimator.score(X)


def run(sizes, covariance_types, iterations: int, repeats: int) -> None:
    print("| n x d x K | covariance | sklearn ms/iter | emcore ms/iter | speed-up | scores agree |")
    print("|---|---|---|---|---|---|")
    for n, d, k in sizes:
        for covariance_type in covariance_types:
            X, start = make_case(n, d, k, covariance_type)
            settings = dict(
                n_components=k,
                covariance_type=covariance_type,
                tol=0.0,
                max_iter=iterations,
                **start,
            )
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                theirs, their_score = time_fit(SklearnMixture(**settings), X, repeats)
                ours, our_score = time_fit(GaussianMixture(**settings), X, repeats)
            agree = abs(our_score - their_score) <= 1e-6 * abs(their_score)
            print(
                f"| {n:,} x {d} x {k} | {covariance_type} | {1e3 * theirs / iterations:.2f} "
                f"| {1e3 * ours / iterations:.2f} | {theirs / ours:.2f}x | {agree} |",
                flush=True,
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes only (a smoke run)")
    parser.add_argument("--iterations", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    sizes = QUICK_SIZES if args.quick else FULL_SIZES
    run(sizes, ("full", "tied", "diag", "spherical"), args.iterations, args.repeats)


if __name__ == "__main__":
    main()
