"""emcore's select_model against R's mclustBIC: time, time per EM iteration, and the BIC table.

Run from the repository root::

    .venv/bin/python bench/bench_mclust.py                   # iris and Old Faithful, R too
    .venv/bin/python bench/bench_mclust.py --json out.json   # the same, also as JSON
    .venv/bin/python bench/bench_mclust.py --quick           # a few seconds, no R: smoke run

What it does, for iris (R's ``iris[, 1:4]``) and Old Faithful (``faithful``):

1. **Time of the whole table**, K = 1..9, for mclust's 14 models and for the four shared with
   scikit-learn (VII, VVI, EEE, VVV): mclustBIC's elapsed time (``Rscript
   bench/mclust_bic.R --time-only``: the median of ``--repeats`` runs after a warm-up) and
   select_model's with its defaults (the median of ``--repeats`` runs after a warm-up), and
   their ratio (emcore / mclust: below 1 is faster than mclust); the 14-model table also
   with ``n_jobs=2`` (two worker processes; mclust uses one core), after a first call that
   starts them (its time printed). Without ``Rscript`` or
   mclust the R side is skipped with a message. Both run in this one process's time, one
   after the other, so both see about the same machine load (printed).
   Then select_model on blobs of 300 to 4,000 x 4 with its runs stepped together
   (emcore.lockstep) and alone (fused passes), which places ``LOCKSTEP_MAX_ELEMENTS``.
2. **Time per EM iteration** of every model: one K = 3 fit per model from the same start
   (k-means labels, each model's own M-step), a fixed number of iterations (``tol=0``),
   timed at two lengths so the difference is the marginal cost of one iteration; with the
   iterations the model needed in the table (its K = 3 cell) and their total over the table.
3. **The BIC tables side by side**, in mclust's sign (higher is better): emcore's, mclust's
   (the recorded fixtures in tests/fixtures/mclust, written by bench/mclust_bic.R), and
   their difference per cell (emcore - mclust: positive is emcore better). Cells where
   emcore is worse by more than 0.1, or missing where mclust has a value, are flagged ``!``.

``--quick`` fits only the four shared models for K = 1..3, skips R and repeats nothing: it
checks that the script runs, not how fast anything is.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.datasets import load_iris
from sklearn.exceptions import ConvergenceWarning
from threadpoolctl import threadpool_limits

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from emcore import EM, select_model  # noqa: E402
from emcore.lockstep import LOCKSTEP_MAX_ELEMENTS  # noqa: E402
from emcore.selection import MCLUST_ORDER, model_names  # noqa: E402
from emcore.steps import m_step  # noqa: E402

FIXTURES = ROOT / "tests" / "fixtures" / "mclust"
R_SCRIPT = ROOT / "bench" / "mclust_bic.R"
SHARED = ("VII", "VVI", "EEE", "VVV")
WORSE_BY = 0.1


def load_data() -> dict[str, np.ndarray]:
    faithful = pd.read_csv(ROOT / "emcore" / "_datasets" / "faithful.csv")
    return {"iris": load_iris().data, "faithful": faithful[["eruptions", "waiting"]].to_numpy()}


def all_models() -> list[str]:
    """mclust's names of the models emcore has, in mclust's order."""
    try:
        return [name for name in MCLUST_ORDER if model_names([name])]
    except ValueError:  # emcore without mclust's 14 models: the four it has
        return list(SHARED)


# -- R ---------------------------------------------------------------------------------------


def mclust_times(repeats: int) -> dict | None:
    """mclustBIC's times from the R script, or None (with a message) when R cannot run it."""
    return run_r_json([str(R_SCRIPT), "--time-only", "--repeats", str(repeats)], "timed", 900)


def run_r_json(arguments: list[str], what: str, timeout: float) -> dict | None:
    """``Rscript *arguments``'s standard output read as JSON, or None with a message ("mclust
    is not <what>: ...") when Rscript is missing or the script fails."""
    rscript = shutil.which("Rscript")
    if rscript is None:
        print(f"Rscript not found: mclust is not {what} (apt-get install r-cran-mclust).")
        return None
    command = [rscript, *arguments]
    result = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, timeout=timeout)
    if result.returncode != 0:
        reason = result.stderr.strip().splitlines()[-1:] or ["no message"]
        print(f"mclust is not {what}: the R script failed ({reason[0]}).")
        return None
    return json.loads(result.stdout)


# -- emcore ----------------------------------------------------------------------------------


def time_select(
    X: np.ndarray, models: list[str], ks: list[int], repeats: int, n_jobs: int | None = None
) -> dict:
    """The median time of ``repeats`` tables after a warm-up (imports, caches and, with
    ``n_jobs``, joblib's worker processes, which it keeps for the calls that follow); the
    warm-up's own time is ``first_seconds``."""
    started = time.perf_counter()
    select_model(X, ks, models, n_jobs=n_jobs)
    first = time.perf_counter() - started
    runs = []
    for _ in range(repeats):
        started = time.perf_counter()
        select_model(X, ks, models, n_jobs=n_jobs)
        runs.append(time.perf_counter() - started)
    return {"median_seconds": statistics.median(runs), "runs_seconds": runs, "first_seconds": first}


def lockstep_against_alone(sizes: list[int], models: list[str], repeats: int) -> list[dict]:
    """select_model on blobs of n x 4 (K = 1..9) with its runs stepped together
    (emcore.lockstep) and with every run alone (fused passes): the times and their ratio,
    where lockstep.LOCKSTEP_MAX_ELEMENTS (n * d * K) should sit."""
    from sklearn.datasets import make_blobs

    import emcore.lockstep as lockstep
    import emcore.selection as selection

    rows = []
    for n in sizes:
        X, _ = make_blobs(n_samples=n, n_features=4, centers=4, random_state=0)
        seconds = {}
        for label, limit in (("together", 10**15), ("alone", 0)):
            selection.LOCKSTEP_MAX_ELEMENTS = limit
            try:
                seconds[label] = min(_timed(X, models) for _ in range(repeats))
            finally:
                selection.LOCKSTEP_MAX_ELEMENTS = lockstep.LOCKSTEP_MAX_ELEMENTS
        rows.append({"n": n, "n_d_9": n * 4 * 9, **seconds})
    return rows


def _timed(X: np.ndarray, models: list[str]) -> float:
    started = time.perf_counter()
    select_model(X, range(1, 10), models)
    return time.perf_counter() - started


def kmeans_labels(X: np.ndarray, k: int) -> np.ndarray:
    from sklearn.cluster import KMeans

    scaled = (X - X.mean(axis=0)) / X.std(axis=0)
    return KMeans(n_clusters=k, n_init=1, random_state=0).fit(scaled).labels_


def per_iteration_ms(X: np.ndarray, model: str, k: int, short: int, long: int) -> float:
    """Marginal time of one EM iteration: (time of ``long`` - time of ``short``) iterations."""
    resp = np.eye(k)[kmeans_labels(X, k)]
    start = m_step(X, resp, model, 1e-6, regularization="floor")

    def fit(iterations: int) -> float:
        best = float("inf")
        for _ in range(3):
            began = time.perf_counter()
            EM(X, start, 1e-6, 0.0, iterations, record="none").run()
            best = min(best, time.perf_counter() - began)
        return best

    fit(short)  # warm-up
    return (fit(long) - fit(short)) / (long - short) * 1e3


# -- printing ----------------------------------------------------------------------------------


def machine() -> str:
    cpu = platform.machine()
    try:
        with open("/proc/cpuinfo") as info:
            names = [line.split(":", 1)[1].strip() for line in info if "model name" in line]
        cpu = names[0] if names else cpu
    except OSError:
        pass
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return f"{cpu}, {cores} cores; Python {platform.python_version()}, NumPy {np.__version__}"


def load_average() -> str:
    try:
        return f"{os.getloadavg()[0]:.1f}"
    except (AttributeError, OSError):
        return "unknown"


def markdown(headers: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def fixture_table(name: str) -> pd.DataFrame | None:
    path = FIXTURES / f"bic_{name}.json"
    if not path.exists():
        return None
    cells = pd.DataFrame(json.loads(path.read_text())["cells"]).astype({"bic": float})
    return cells.pivot(index="G", columns="model", values="bic")


def side_by_side(name: str, ours: pd.DataFrame, theirs: pd.DataFrame | None) -> list[dict]:
    """Print emcore's, mclust's and the difference; return the flagged cells."""
    print(f"\n### {name}: BIC in mclust's sign (higher is better)\n")
    print("emcore (select_model's defaults):\n")
    print(ours.round(3).to_string(na_rep="NA"))
    if theirs is None:
        print("\n(no mclust fixture: run Rscript bench/mclust_bic.R)")
        return []
    theirs = theirs.reindex(index=ours.index, columns=ours.columns)
    print("\nmclust:\n")
    print(theirs.round(3).to_string(na_rep="NA"))
    difference = ours - theirs
    flagged = []
    shown = difference.round(3).astype(object).where(difference.notna(), "NA")
    for k in ours.index:
        for model in ours.columns:
            mine, reference = ours.loc[k, model], theirs.loc[k, model]
            if np.isnan(reference):
                continue
            if np.isnan(mine) or mine < reference - WORSE_BY:
                shown.loc[k, model] = f"!{shown.loc[k, model]}"
                gap = None if np.isnan(mine) else float(mine - reference)
                flagged.append({"data": name, "model": model, "K": int(k), "difference": gap})
    print("\nemcore - mclust (positive: emcore better; ! worse by more than 0.1 or NA):\n")
    print(shown.to_string())
    print(f"\n{len(flagged)} cell(s) flagged.")
    return flagged


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="seconds, no R: a smoke run")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs of each table")
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    args = parser.parse_args()
    warnings.simplefilter("ignore", ConvergenceWarning)

    data = load_data()
    ks = [1, 2, 3] if args.quick else list(range(1, 10))
    everything = list(SHARED) if args.quick else all_models()
    model_sets = {"shared_4": list(SHARED)} if args.quick else {"all_14": everything}
    if not args.quick:
        model_sets["shared_4"] = list(SHARED)
    repeats = 1 if args.quick else args.repeats
    results: dict = {"machine": machine(), "quick": args.quick, "load_before": load_average()}
    print(f"Machine: {results['machine']}; load average {results['load_before']}")
    print(f"K = {ks[0]}..{ks[-1]}; models: {', '.join(everything)}\n")

    mclust = None if args.quick else mclust_times(repeats)
    if args.quick:
        print("--quick: mclust is not timed.")
    results["mclust"] = mclust

    # 1. The whole table; the largest model set also by two worker processes (select_model's
    # n_jobs=2): mclust's own runs use one core.
    timing_rows, results["timings"] = [], {}
    largest = "all_14" if "all_14" in model_sets else "shared_4"
    runs = [(label, models, None) for label, models in model_sets.items()]
    runs.append((largest, model_sets[largest], 2))
    with threadpool_limits(limits=1, user_api="openmp"):
        for name, X in data.items():
            for label, models, n_jobs in runs:
                ours = time_select(X, models, ks, repeats, n_jobs=n_jobs)
                theirs = None if mclust is None else mclust[name][label]["median_seconds"]
                ratio = None if theirs is None else ours["median_seconds"] / theirs
                key = f"{name}/{label}" + ("" if n_jobs is None else f"/n_jobs={n_jobs}")
                results["timings"][key] = {
                    "emcore": ours,
                    "mclust_median_seconds": theirs,
                    "ratio": ratio,
                }
                described = f"{label.replace('_', ' ')} ({len(models)} here)"
                if n_jobs is not None:
                    described += f", n_jobs={n_jobs} (first call {ours['first_seconds']:.1f} s)"
                timing_rows.append(
                    [
                        name,
                        described,
                        f"{ours['median_seconds']:.3f}",
                        "-" if theirs is None else f"{theirs:.3f}",
                        "-" if ratio is None else f"{ratio:.2f}x",
                    ]
                )
    headers = ["data", "models", "emcore s", "mclust s", "emcore / mclust"]
    print(markdown(headers, timing_rows))

    # 1b. Runs stepped together against runs alone, by the size of the data.
    sizes = [300] if args.quick else [300, 1000, 2000, 4000]
    lockstep_models = ["EII", "VVI", "EEE", "VEV", "EVE", "VVV"]
    with threadpool_limits(limits=1, user_api="openmp"):
        results["lockstep"] = lockstep_against_alone(sizes, lockstep_models, repeats)
    print(
        f"\nselect_model on blobs n x 4, K = 1..9, {', '.join(lockstep_models)}: runs stepped "
        "together (emcore.lockstep) against runs alone (fused passes), best of "
        f"{repeats}; select_model steps them together while n * d * K <= "
        f"{LOCKSTEP_MAX_ELEMENTS:,}:\n"
    )
    print(
        markdown(
            ["n", "n * d * 9", "together s", "alone s", "together / alone"],
            [
                [
                    str(row["n"]),
                    f"{row['n_d_9']:,}",
                    f"{row['together']:.2f}",
                    f"{row['alone']:.2f}",
                    f"{row['together'] / row['alone']:.2f}",
                ]
                for row in results["lockstep"]
            ],
        )
    )

    # 2. Per iteration, and the tables (select_model's defaults, every model).
    tables = {name: select_model(X, ks, everything, keep_models=False) for name, X in data.items()}
    short, long = (2, 6) if args.quick else (5, 45)
    iteration_rows, results["per_iteration_ms"] = [], {}
    with threadpool_limits(limits=1, user_api="openmp"):
        for model in everything:
            row = [model]
            for name, X in data.items():
                ms = per_iteration_ms(X, model, 3, short, long)
                table = tables[name].table
                cells = table[table["mclust_name"] == model]
                at_three = cells.loc[cells["n_components"] == 3, "n_iter"]
                iterations = int(at_three.iloc[0]) if len(at_three) else 0
                total = int(cells["n_iter"].sum())
                results["per_iteration_ms"][f"{name}/{model}"] = {
                    "ms": ms,
                    "iterations_at_k3": iterations,
                    "iterations_in_table": total,
                }
                row += [f"{ms:.3f}", str(iterations), str(total)]
            iteration_rows.append(row)
    headers = ["model"]
    for name in data:
        headers += [f"{name} ms/iter (K=3)", f"{name} iters K=3", f"{name} iters, table"]
    print(f"\nTime per EM iteration, K = 3 ({long} - {short} iterations, best of 3):\n")
    print(markdown(headers, iteration_rows))

    # 3. The BIC tables side by side.
    results["flagged"] = []
    for name, selection in tables.items():
        ours = selection.pivot(mclust_names=True, mclust_sign=True)
        results["flagged"] += side_by_side(name, ours, fixture_table(name))
        results.setdefault("best", {})[name] = {
            "model": selection.best.mclust_name if selection.best else None,
            "K": selection.best.n_components if selection.best else None,
            "bic_mclust_sign": -selection.best.value if selection.best else None,
        }
        if selection.best is not None:
            best = selection.best
            print(f"\nemcore's choice: {best.mclust_name},{best.n_components}")
    results["load_after"] = load_average()
    print(f"\nLoad average at the end: {results['load_after']}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
        print(f"Wrote {args.json}")


if __name__ == "__main__":
    main()
