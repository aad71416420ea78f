"""Memory of one session of the teaching app at the largest data the sliders allow.

    .venv/bin/python bench/session_memory.py [--points 5000] [--steps 200] [--json PATH]

What a session costs is two things (see ``emapp/ui/runs.py`` and ``emapp/ui/session.py``):

- the *prepared run* on its screen (data, EM timeline, figure with a frame per half-step),
  shared through ``st.cache_resource`` by every session with the same settings, and kept
  alive by each session that shows it;
- its own *ViewState*, a few integers that the buttons move.

Two runs are measured at ``--points`` points: the app's default model settings, and the
worst case the sliders allow (K at its maximum, random start, EM forced to the iteration
cap, as a slow start would). Memory is measured twice: the bytes still allocated after
``prepare`` returned (tracemalloc, which sees NumPy buffers too) and a deep size of the run's
parts. The session is then driven with ``--steps`` presses of Step and Play/Pause, and its
ViewState measured; its size must not depend on the number of presses.
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import json
import sys
import time
import tracemalloc
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FunctionType, ModuleType

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import emapp.build.timeline as timeline_module  # noqa: E402
import emapp.ui.runs  # noqa: E402
from emapp.build.blobs import BlobSettings, coordinate_names, make_blobs  # noqa: E402
from emapp.build.colors import MAX_COMPONENTS  # noqa: E402
from emapp.build.describe import table_data  # noqa: E402
from emapp.build.prepare import PreparedRun, prepare, settings_tuple  # noqa: E402
from emapp.build.state import ViewState  # noqa: E402
from emapp.build.timeline import ModelSettings  # noqa: E402
from emapp.ui.player import player_data  # noqa: E402
from emapp.ui.sidebar import MAX_POINTS  # noqa: E402

MB = 1e6
# A tolerance no run reaches: EM then stops only at the iteration cap (the engine needs tol > 0).
NEVER_CONVERGE = 1e-300


# -- sizes --------------------------------------------------------------------------------


def deep_size(obj: object, seen: set[int] | None = None) -> int:
    """Bytes of ``obj`` and everything it references (shared objects counted once).

    Types, modules and functions are skipped: they belong to the program, not the session.
    Arrays count their buffer through their base, so views are not counted twice.
    """
    seen = set() if seen is None else seen
    total = 0
    stack = [obj]
    while stack:
        item = stack.pop()
        if id(item) in seen or isinstance(item, type | ModuleType | FunctionType):
            continue
        seen.add(id(item))
        total += sys.getsizeof(item)
        stack.extend(_referents(item))
    return total


def _referents(item: object) -> list[object]:
    if isinstance(item, np.ndarray):
        return [] if item.base is None else [item.base]
    if _is_prebuilt_figure(item):
        # Only the spec is ours; plotly's own figure machinery is shared by every figure.
        return [item._spec]
    return gc.get_referents(item)


def _is_prebuilt_figure(item: object) -> bool:
    return type(item).__name__ == "PrebuiltFigure" and hasattr(item, "_spec")


@contextmanager
def traced() -> Iterator[dict[str, float]]:
    """Bytes allocated and still alive when the block ends, and the peak above the start."""
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    result: dict[str, float] = {}
    try:
        yield result
    finally:
        gc.collect()
        current, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        result["retained_mb"] = round((current - before) / MB, 1)
        result["peak_mb"] = round((peak - before) / MB, 1)


@contextmanager
def forced_to_cap(enabled: bool) -> Iterator[None]:
    """Make EM run to MAX_ITERATIONS, the longest timeline the app ever stores."""
    saved = timeline_module.TOL
    if enabled:
        timeline_module.TOL = NEVER_CONVERGE
    try:
        yield
    finally:
        timeline_module.TOL = saved


def cache_entries() -> int:
    """How many results the cached functions of emapp.ui.runs can hold together."""
    from streamlit.runtime.caching.cache_utils import CachedFunc

    functions = [f for f in vars(emapp.ui.runs).values() if isinstance(f, CachedFunc)]
    return sum(f._info.max_entries or 0 for f in functions)


# -- the run ------------------------------------------------------------------------------


def build_run(points: int, model: ModelSettings, worst: bool) -> tuple[PreparedRun, dict]:
    """The prepared run exactly as ``emapp.ui.runs.blob_run`` builds it, with its costs."""
    blobs = BlobSettings(n_points=points)
    key = ("blobs", settings_tuple(blobs), settings_tuple(model))
    with traced() as memory, forced_to_cap(worst):
        start = time.perf_counter()
        run = prepare(key, make_blobs(blobs), coordinate_names(2), model)
        seconds = time.perf_counter() - start
    return run, {**memory, "seconds": round(seconds, 2)}


def run_report(run: PreparedRun) -> dict:
    """Deep sizes of the run's parts and of what the browser receives once per page load."""
    timeline = run.timeline
    parts = {
        "data": run.X,
        "states": timeline.states,
        "responsibilities": timeline.resp,
        "figure": run.figure,
    }
    sizes = {name: round(deep_size(part) / MB, 1) for name, part in parts.items()}
    figure_json = json.dumps(run.figure.to_dict(), separators=(",", ":"))
    return {
        "iterations": timeline.n_iterations,
        "states": len(timeline),
        "converged": timeline.converged,
        "deep_size_mb": round(deep_size(run) / MB, 1),
        "parts_mb": sizes,
        "figure_json_mb": round(len(figure_json) / MB, 1),
    }


# -- the session --------------------------------------------------------------------------


def press(view: ViewState, run: PreparedRun, steps: int) -> None:
    """Drive the view as a student would: Step ``steps`` times, then Play, Pause, Reset."""
    for _ in range(steps):
        view.step(run.timeline)
    view.play(now=0.0)
    view.pause(now=2.0, speed=12)
    view.run_to_convergence(run.timeline)


def session_report(run: PreparedRun, steps: int) -> dict:
    """The session's own state after ``steps`` presses, and the messages a press sends."""
    sizes: list[int] = []
    view = ViewState(settings_key=run.key, last=run.timeline.last)
    for chunk in (1, steps - 1):
        press(view, run, chunk)
        sizes.append(_own_size(view))
    player = json.dumps(player_data(run, view, 12.0))
    table = json.dumps(table_data(run.timeline, run.version, run.feature_names))
    return {
        "steps": steps,
        "cursor": view.cursor,
        "view_state_bytes": sizes[-1],
        "view_state_bytes_after_1_step": sizes[0],
        "player_message_kb": round(len(player) / 1e3, 1),
        "table_message_kb": round(len(table) / 1e3, 1),
    }


def _own_size(view: ViewState) -> int:
    """ViewState bytes without the settings key, which the cached run also holds."""
    shared = {id(view.settings_key)}
    fields = [getattr(view, f.name) for f in dataclasses.fields(view)]
    return sys.getsizeof(view) + sum(deep_size(value, set(shared)) for value in fields)


# -- report -------------------------------------------------------------------------------


CASES: dict[str, tuple[ModelSettings, bool]] = {
    "default": (ModelSettings(), False),
    "worst": (ModelSettings(n_components=MAX_COMPONENTS, init="random"), True),
}


def measure(points: int, steps: int, cases: tuple[str, ...] = tuple(CASES)) -> dict:
    """Costs of each case's run and session; the cache bound needs the "worst" case."""
    results: dict = {"points": points, "max_cached_runs": cache_entries()}
    for name in cases:
        model, worst = CASES[name]
        run, cost = build_run(points, model, worst)
        results[name] = {"model": dataclasses.asdict(model), **cost, **run_report(run)}
        results[name]["session"] = session_report(run, steps)
        del run
    if "worst" in results:
        worst_mb = results["worst"]["retained_mb"]
        results["cache_bound_mb"] = round(worst_mb * results["max_cached_runs"], 0)
    return results


def line(label: str, value: object) -> None:
    print(f"  {label:<34}{value}")


def print_report(results: dict) -> None:
    print(f"{results['points']} points")
    for name in (n for n in CASES if n in results):
        case = results[name]
        session = case["session"]
        print(f"{name}: {case['model']}")
        line("iterations (states)", f"{case['iterations']} ({case['states']})")
        line("time to prepare", f"{case['seconds']} s")
        line("retained (tracemalloc)", f"{case['retained_mb']} MB, peak {case['peak_mb']} MB")
        line("deep size", f"{case['deep_size_mb']} MB  {case['parts_mb']}")
        line("figure sent per page load", f"{case['figure_json_mb']} MB of JSON")
        line(f"ViewState after {session['steps']} steps", f"{session['view_state_bytes']} B")
        line("ViewState after 1 step", f"{session['view_state_bytes_after_1_step']} B")
        line("player message per press", f"{session['player_message_kb']} kB")
        line("table message per page", f"{session['table_message_kb']} kB")
    if "cache_bound_mb" not in results:
        return
    print(
        f"cache bound: {results['max_cached_runs']} runs x worst case = "
        f"{results['cache_bound_mb']:.0f} MB (plus runs still shown by open sessions)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=MAX_POINTS)
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    results = measure(args.points, args.steps)
    print_report(results)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
