"""emcore on Dask (issue 16): agreement with memory, time per iteration, out of core, scaling.

Run from the repository root (needs ``pip install emcore[dask]``)::

    .venv/bin/python bench/bench_dask.py            # the issue's sizes (several minutes)
    .venv/bin/python bench/bench_dask.py --quick    # small sizes: a smoke run (seconds)

Sections, each printed as a table:

1. *Same start, same parameters*: the four scikit-learn covariance types, 200,000 x 5 x 6
   in 8 chunks on a 2-process ``LocalCluster``, a fixed number of iterations from one
   user-given start; the largest difference of weights, means and covariances from the
   in-memory fit, relative to the largest entry (target: 1e-8).
2. *Time per iteration* at 4,000,000 x 2 x 10 (full) in 8 chunks on a 2-worker
   ``LocalCluster`` (one thread each, the data persisted on the workers) against the
   in-memory fast path (:class:`emcore.fast.FastEM`, all cores): median of the iterations
   (each a pass of tasks and the client's M-step).
3. *Scaling*: time per iteration with 1 and 2 worker processes (one thread each).
4. *Out of core*: 40,000,000 x 4 generated lazily (``dask.array.random``, 1,000,000-row
   chunks: 1.28 GB never held at once) fitted with a k-means start on a chunk-wise sample,
   on the threaded scheduler, in a process of its own; its peak RSS (target < 700 MB).
5. *Against Spark MLlib* (opt-in: only when ``pyspark`` and ``java`` are installed, a line
   says it was skipped otherwise; left out of ``--quick`` unless ``--spark``): whole fits of
   1, 2, 4 and 7 iterations (``tol=0``, median of 3, the repeats taken in turn) on the speed
   section's data, emcore's Dask engine on a 2-worker ``LocalCluster`` and Spark's
   ``GaussianMixture`` on ``local[2]``, each with its own default start; a least-squares
   line through the four medians gives the time per iteration (slope) and the fixed cost
   per fit (intercept: start, setup, scheduling), with its residuals; the fit of 1
   iteration is a direct measure of the fixed cost. Targets: Spark at least 3x slower per
   iteration and 10x in fixed cost.
"""

from __future__ import annotations

import argparse
import importlib.util
import logging
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
# Worker processes import emcore too.
os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))

import numpy as np  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402

from emcore import GaussianMixture  # noqa: E402
from emcore.fast import FastEM  # noqa: E402
from emcore.init import initial_params  # noqa: E402

FULL = {
    "agree": (200_000, 5, 6),
    "speed": (4_000_000, 2, 10),
    "core": (40_000_000, 4, 3, 1_000_000),
    "scale": (4_000_000, 2, 10),
    "iterations": 5,
}
# Fixed (tol=0): EM on these well-separated clusters would converge in two.
ITERATIONS_OUT_OF_CORE = 5
QUICK = {
    "agree": (20_000, 5, 6),
    "speed": (200_000, 2, 10),
    "core": (400_000, 4, 3, 100_000),
    "scale": (200_000, 2, 10),
    "iterations": 3,
}


def mixture_data(n: int, d: int, k: int, seed: int = 0) -> np.ndarray:
    """n points of k well-separated Gaussians in d dimensions."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=6.0, size=(k, d))
    labels = rng.integers(0, k, n)
    return centres[labels] + rng.normal(size=(n, d)) * rng.uniform(0.5, 1.5, size=(k, d))[labels]


def given_start(X: np.ndarray, k: int, covariance_type: str) -> dict:
    """A user-given start from k-means++ on the first 5,000 rows."""
    start = initial_params(X[:5000], k, covariance_type, "k-means++", 0, regularization="add")
    return {
        "weights_init": start.weights,
        "means_init": start.means,
        "precisions_init": start.precisions,
    }


def relative(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.max(np.abs(a - b)) / np.max(np.abs(b)))


def cluster(n_workers: int):
    from distributed import Client, LocalCluster

    # The in-memory arrays go to the workers once, in the graph of ``persist``: Dask warns
    # about large graphs, which matters for graphs sent every iteration, not this one.
    warnings.filterwarnings("ignore", message="Sending large graph", category=UserWarning)

    local = LocalCluster(
        n_workers=n_workers,
        threads_per_worker=1,
        processes=True,
        dashboard_address=None,
        silence_logs=logging.ERROR,
    )
    return local, Client(local)


def agreement(n: int, d: int, k: int, iterations: int) -> None:
    import dask.array as da

    print(f"## 1. Same start, same parameters ({n:,} x {d} x {k}, 8 chunks, 2-process cluster)\n")
    print("| covariance | iterations | weights | means | covariances | lower bound | ok |")
    print("|---|---|---|---|---|---|---|")
    X = mixture_data(n, d, k)
    local, client = cluster(2)
    try:
        Xd = da.from_array(X, chunks=(-(-n // 8), d)).persist()
        for covariance_type in ("full", "tied", "diag", "spherical"):
            settings = {
                "covariance_type": covariance_type,
                "tol": 0.0,
                "max_iter": iterations,
                **given_start(X, k, covariance_type),
            }
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                want = GaussianMixture(k, **settings).fit(X)
                got = GaussianMixture(k, **settings).fit(Xd)
            errors = [
                relative(got.weights_, want.weights_),
                relative(got.means_, want.means_),
                relative(got.covariances_, want.covariances_),
                abs(got.lower_bound_ - want.lower_bound_) / abs(want.lower_bound_),
            ]
            ok = "yes" if max(errors) < 1e-8 else "**NO**"
            cells = " | ".join(f"{e:.1e}" for e in errors)
            print(f"| {covariance_type} | {got.n_iter_} | {cells} | {ok} |")
    finally:
        client.close()
        local.close()
    print()


def dask_iteration_times(Xd, start: dict, k: int, iterations: int) -> list[float]:
    """Seconds of each of ``iterations`` EM iterations (pass + M-step) on the Dask engine."""
    from emcore.dask_engine import DaskEM, initial_params_dask, prepare

    X, _ = prepare(Xd, None)
    params = initial_params_dask(X, k, "full", "kmeans", 0, 1e-6, **start)
    run = DaskEM(X, params, 1e-6, 0.0, iterations + 1, record="none", regularization="add")
    run.run(max_iter=1)  # the first pass and M-step: warms the workers
    times = []
    for _ in range(iterations):
        began = time.perf_counter()
        run.run(max_iter=1)
        times.append(time.perf_counter() - began)
    return times


def memory_iteration_times(X: np.ndarray, start: dict, k: int, iterations: int) -> list[float]:
    """Seconds of each in-memory fast-path iteration (fused pass + M-step)."""
    params = initial_params(
        X, k, "full", "kmeans", 0, 1e-6, **_start_args(start), regularization="add"
    )
    fast = FastEM(X, "full", 1e-6, "add")
    params = fast.m_step(fast.e_step(params), params)  # warm up
    times = []
    for _ in range(iterations):
        began = time.perf_counter()
        params = fast.m_step(fast.e_step(params), params)
        times.append(time.perf_counter() - began)
    return times


def _start_args(start: dict) -> dict:
    return {
        "weights": start["weights_init"],
        "means": start["means_init"],
        "precisions": start["precisions_init"],
    }


SPARK_ITERATIONS = (1, 2, 4, 7)  # fits of these max_iter (tol=0), each timed repeatedly


def slope_and_intercept(seconds: dict[int, float]) -> tuple[float, float, dict[int, float]]:
    """Least-squares line through (iterations, seconds): the slope is the time per iteration,
    the intercept the fixed cost per fit; and each point's residual (seconds)."""
    x = np.array(sorted(seconds), dtype=float)
    y = np.array([seconds[i] for i in sorted(seconds)])
    slope, intercept = np.polyfit(x, y, 1)
    residuals = y - (slope * x + intercept)
    return (
        float(slope),
        float(intercept),
        dict(zip(sorted(seconds), residuals.tolist(), strict=True)),
    )


def fit_times(fit, repeats: int) -> tuple[dict[int, float], dict[int, int]]:
    """Median seconds of ``fit(max_iter)`` (which returns the iterations run) for each
    ``max_iter`` of :data:`SPARK_ITERATIONS`, after one warm-up fit; the repeats go round
    all the counts in turn, so a change of load touches every count alike."""
    fit(1)  # warm-up
    times = {max_iter: [] for max_iter in SPARK_ITERATIONS}
    ran = {}
    for _ in range(repeats):
        for max_iter in SPARK_ITERATIONS:
            began = time.perf_counter()
            ran[max_iter] = fit(max_iter)
            times[max_iter].append(time.perf_counter() - began)
    return {i: statistics.median(t) for i, t in times.items()}, ran


def dask_fit_times(Xd, k: int, repeats: int) -> tuple[dict[int, float], dict[int, int]]:
    """Whole ``GaussianMixture.fit`` calls on the Dask engine (default k-means start,
    ``tol=0``), timed by :func:`fit_times`."""

    def fit(max_iter: int) -> int:
        model = GaussianMixture(k, max_iter=max_iter, tol=0.0, random_state=0)
        return model.fit(Xd).n_iter_

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return fit_times(fit, repeats)


def spark_fit_times(
    X: np.ndarray, k: int, repeats: int
) -> tuple[dict[int, float], dict[int, int]] | str:
    """Spark MLlib's GaussianMixture on ``local[2]`` (its own default start, ``tol=0``,
    8 cached partitions), timed by :func:`fit_times`; or why it was skipped.

    The data go through a Parquet file (pyarrow) and ``VectorAssembler``: a DataFrame made
    from millions of Python ``Vectors.dense`` rows takes longer than the benchmark."""
    if importlib.util.find_spec("pyspark") is None:
        return "skipped: pyspark is not installed (pip install pyspark)"
    if shutil.which("java") is None:
        return "skipped: java not found (e.g. Debian's openjdk-17-jre-headless)"
    import pyarrow as pa
    import pyarrow.parquet as pq
    from pyspark.ml.clustering import GaussianMixture as SparkGaussianMixture
    from pyspark.ml.feature import VectorAssembler
    from pyspark.sql import SparkSession

    columns = [f"x{j}" for j in range(X.shape[1])]
    with tempfile.TemporaryDirectory(prefix="emcore-spark-") as folder:
        path = os.path.join(folder, "points.parquet")
        pq.write_table(pa.table({c: X[:, j] for j, c in enumerate(columns)}), path)
        spark = (
            SparkSession.builder.master("local[2]")
            .appName("emcore-bench")
            .config("spark.driver.memory", "4g")
            .config("spark.ui.enabled", "false")
            .config("spark.ui.showConsoleProgress", "false")
            .config("spark.sql.shuffle.partitions", "8")
            .getOrCreate()
        )
        spark.sparkContext.setLogLevel("ERROR")
        try:
            assembler = VectorAssembler(inputCols=columns, outputCol="features")
            frame = assembler.transform(spark.read.parquet(path)).select("features")
            frame = frame.repartition(8).cache()
            frame.count()

            def fit(max_iter: int) -> int:
                estimator = SparkGaussianMixture(k=k, maxIter=max_iter, tol=0.0, seed=0)
                return estimator.fit(frame).summary.numIter

            result = fit_times(fit, repeats)
            frame.unpersist()
            return result
        finally:
            spark.stop()


def against_spark(n: int, d: int, k: int, repeats: int = 3) -> None:
    import dask.array as da

    counts = ", ".join(map(str, SPARK_ITERATIONS))
    print(
        f"## 5. Against Spark MLlib ({n:,} x {d} x {k}, full, 8 chunks/partitions; "
        f"fits of {counts} iterations, tol=0, median of {repeats}; least-squares line)\n"
    )
    X = mixture_data(n, d, k, seed=1)
    local, client = cluster(2)
    try:
        Xd = da.from_array(X, chunks=(-(-n // 8), d)).persist()
        engines = {"emcore Dask, 2-worker LocalCluster": dask_fit_times(Xd, k, repeats)}
        del Xd
    finally:
        client.close()
        local.close()
    spark = spark_fit_times(X, k, repeats)  # after the cluster is gone: 2 cores each
    if not isinstance(spark, str):
        engines["Spark MLlib, local[2]"] = spark
    fits = " | ".join(f"fit of {i} (s)" for i in SPARK_ITERATIONS)
    blank = " |" * len(SPARK_ITERATIONS)
    print(
        f"| engine | {fits} | ms / iteration (slope) | fixed cost (s, intercept) | residuals (s) |"
    )
    print("|---|" + "---|" * (len(SPARK_ITERATIONS) + 3))
    lines = {}
    for name, (seconds, _ran) in engines.items():
        slope, fixed, residuals = lines[name] = slope_and_intercept(seconds)
        cells = " | ".join(f"{seconds[i]:.2f}" for i in SPARK_ITERATIONS)
        rest = " ".join(f"{residuals[i]:+.2f}" for i in SPARK_ITERATIONS)
        print(f"| {name} | {cells} | {slope * 1000:.0f} | {fixed:.2f} | {rest} |")
    if isinstance(spark, str):
        print(f"| Spark MLlib, local[2] | {spark} |{blank} | |\n")
        return
    print("\niterations run: " + "; ".join(f"{name} {ran}" for name, (_, ran) in engines.items()))
    (dask_slope, dask_fixed, _), (spark_slope, spark_fixed, _) = lines.values()
    dask_one, spark_one = (seconds[1] for seconds, _ in engines.values())
    print(
        f"Spark / emcore: {spark_slope / dask_slope:.2f}x per iteration (target >= 3x), "
        f"{spark_fixed / dask_fixed:.2f}x fixed cost per fit from the intercepts "
        f"(target >= 10x); a whole fit of 1 iteration: {spark_one:.2f} vs {dask_one:.2f} s, "
        f"{spark_one / dask_one:.2f}x\n"
    )


def speed(n: int, d: int, k: int, iterations: int) -> None:
    import dask.array as da

    print(f"## 2. Time per iteration ({n:,} x {d} x {k}, full, 8 chunks)\n")
    X = mixture_data(n, d, k, seed=1)
    start = given_start(X, k, "full")
    memory = statistics.median(memory_iteration_times(X, start, k, iterations))
    local, client = cluster(2)
    try:
        Xd = da.from_array(X, chunks=(-(-n // 8), d)).persist()
        distributed_time = statistics.median(dask_iteration_times(Xd, start, k, iterations))
        del Xd
    finally:
        client.close()
        local.close()
    print("| engine | ms / iteration | vs in memory |")
    print("|---|---|---|")
    print(f"| in memory (FastEM, {os.cpu_count()} threads) | {memory * 1000:.0f} | 1.00x |")
    print(
        f"| Dask, 2-worker LocalCluster | {distributed_time * 1000:.0f} | "
        f"{distributed_time / memory:.2f}x |"
    )
    print()


def out_of_core(n: int, d: int, k: int, chunk: int) -> None:
    import dask
    import dask.array as da

    print(f"## 4. Out of core ({n:,} x {d} x {k}, generated lazily in {chunk:,}-row chunks)\n")
    rng = da.random.default_rng(7)
    noise = rng.standard_normal((n, d), chunks=(chunk, d))
    labels = rng.integers(0, k, n, chunks=chunk)
    shifts = np.array([4.0, -3.0, 2.0, 5.0][:d] + [1.0] * max(0, d - 4))
    X = noise + labels[:, None].astype(float) * shifts
    began = time.perf_counter()
    with dask.config.set(scheduler="threads"), warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = GaussianMixture(k, max_iter=ITERATIONS_OUT_OF_CORE, tol=0.0, random_state=0)
        model.fit(X)
    elapsed = time.perf_counter() - began
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    data_mb = n * d * 8 / 1e6
    print(
        "| rows | data (MB, never held) | iterations | seconds (whole fit, start included) "
        "| peak RSS (MB) | < 700 MB |"
    )
    print("|---|---|---|---|---|---|")
    met = "yes" if peak_mb < 700 else "**NO**"
    print(f"| {n:,} | {data_mb:,.0f} | {model.n_iter_} | {elapsed:.1f} | {peak_mb:.0f} | {met} |")
    print(f"\nweights {np.round(np.sort(model.weights_), 3)} (true: 1/{k} each)\n")


def write_npy(path: str, n: int, d: int, k: int, chunk: int) -> None:
    """The out-of-core data (section 4's mixture), written to a ``.npy`` file chunk by chunk
    (never whole in memory)."""
    shifts = np.array([4.0, -3.0, 2.0, 5.0][:d] + [1.0] * max(0, d - 4))
    out = np.lib.format.open_memmap(path, mode="w+", dtype=np.float64, shape=(n, d))
    rng = np.random.default_rng(7)
    for start in range(0, n, chunk):
        rows = min(chunk, n - start)
        labels = rng.integers(0, k, rows)
        out[start : start + rows] = rng.standard_normal((rows, d)) + labels[:, None] * shifts
        out.flush()
    del out


class AnonymousPeak:
    """The peak of this process's anonymous memory (``RssAnon`` in /proc/self/status),
    sampled every 50 ms: what the process itself holds, without the pages of a memory-mapped
    file (the kernel's page cache, which it reclaims when memory is short)."""

    def __init__(self) -> None:
        self.peak_kb = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.is_set():
            for line in Path("/proc/self/status").read_text().splitlines():
                if line.startswith("RssAnon:"):
                    self.peak_kb = max(self.peak_kb, int(line.split()[1]))
            self._stop.wait(0.05)

    def __enter__(self) -> AnonymousPeak:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def from_npy(path: str, k: int, chunk: int) -> None:
    """Fit a ``.npy`` file larger than the process's anonymous memory, read through
    ``dask.array`` from a memory map (one chunk's rows copied at a time)."""
    import dask

    from emcore.dask_engine import from_npy as from_npy_file

    X = from_npy_file(path, chunk)  # each task copies its rows out of a memory map
    n, d = X.shape
    size = Path(path).stat().st_size / 1e6
    print(f"## 4b. A .npy file ({n:,} x {d}, {size:,.0f} MB) through a memory map\n")
    began = time.perf_counter()
    quiet = warnings.catch_warnings()
    with AnonymousPeak() as anonymous, dask.config.set(scheduler="threads"), quiet:
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = GaussianMixture(k, max_iter=ITERATIONS_OUT_OF_CORE, tol=0.0, random_state=0)
        model.fit(X)
    elapsed = time.perf_counter() - began
    peak_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    anonymous_mb = anonymous.peak_kb / 1024
    print(
        "| file (MB) | iterations | seconds | peak anonymous memory (MB) "
        "| peak RSS with mapped pages (MB) | < 700 MB |"
    )
    print("|---|---|---|---|---|---|")
    met = "yes" if anonymous_mb < 700 else "**NO**"
    print(
        f"| {size:,.0f} | {model.n_iter_} | {elapsed:.1f} | {anonymous_mb:.0f} "
        f"| {peak_rss:.0f} | {met} |"
    )
    print(f"\nweights {np.round(np.sort(model.weights_), 3)} (true: 1/{k} each)\n")


def scaling(n: int, d: int, k: int, iterations: int) -> None:
    import dask.array as da

    print(f"## 3. Scaling ({n:,} x {d} x {k}, full, 8 chunks, worker processes of one thread)\n")
    X = mixture_data(n, d, k, seed=2)
    start = given_start(X, k, "full")
    print("| workers | ms / iteration | speed-up |")
    print("|---|---|---|")
    first = None
    for workers in (1, 2):
        local, client = cluster(workers)
        try:
            Xd = da.from_array(X, chunks=(-(-n // 8), d)).persist()
            seconds = statistics.median(dask_iteration_times(Xd, start, k, iterations))
            del Xd
        finally:
            client.close()
            local.close()
        first = first or seconds
        print(f"| {workers} | {seconds * 1000:.0f} | {first / seconds:.2f}x |")
    print()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke run")
    parser.add_argument(
        "--skip",
        default="",
        help="sections to leave out, e.g. 'core,scale' (agree, speed, scale, core, spark)",
    )
    parser.add_argument(
        "--spark", action="store_true", help="run the Spark section with --quick too"
    )
    parser.add_argument("--only-core", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--only-npy", help=argparse.SUPPRESS)
    parser.add_argument("--write-npy", help=argparse.SUPPRESS)
    args = parser.parse_args()
    sizes = QUICK if args.quick else FULL
    skip = set(filter(None, args.skip.split(",")))
    if args.only_core:
        out_of_core(*sizes["core"])
        return
    n, d, k, chunk = sizes["core"]
    if args.write_npy:
        write_npy(args.write_npy, n, d, k, chunk)
        return
    if args.only_npy:
        from_npy(args.only_npy, k, chunk)
        return
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    print(f"Machine: {platform.machine()}, {os.cpu_count()} CPUs; load average {load}\n")
    iterations = sizes["iterations"]
    if "agree" not in skip:
        agreement(*sizes["agree"], iterations)
    if "speed" not in skip:
        speed(*sizes["speed"], iterations)
    if "scale" not in skip:
        scaling(*sizes["scale"], iterations)
    if "spark" not in skip and (args.spark or not args.quick):
        against_spark(*sizes["speed"])
    if "core" not in skip:  # in a process of its own: its peak RSS is the fit's alone
        quick = ["--quick"] if args.quick else []
        command = [sys.executable, __file__, "--only-core", *quick]
        sys.stdout.flush()
        subprocess.run(command, check=True)
        # The same data as a .npy file, written by one process and fitted by another.
        with tempfile.TemporaryDirectory() as folder:
            path = str(Path(folder) / "mixture.npy")
            subprocess.run([sys.executable, __file__, "--write-npy", path, *quick], check=True)
            sys.stdout.flush()
            subprocess.run([sys.executable, __file__, "--only-npy", path, *quick], check=True)


if __name__ == "__main__":
    main()
