"""Browser speed of the teaching app, against bare Streamlit pages (opt-in, not a test).

    .venv/bin/python bench/bench_app.py [--repeats 7] [--loads 15] [--points 2000] [--json PATH]

Measured in headless Debian Chromium on this machine, each as the median of ``--repeats``
(page loads: of ``--loads``, as they vary more):

- bare rerun: a page with one button and one text; click -> the text changes.
  The bare pages run twice: with Streamlit's defaults (the issue's baseline) and with the
  app's ``.streamlit/config.toml`` (which, e.g., skips the full garbage collection after each
  run); ratios against the second are printed in brackets.
- bare chart: a page with one st.plotly_chart of as many points as the app's default data;
  load -> points drawn.
- first chart: the app's page with its defaults; load -> points drawn and status shown.
  A session's first run sends the chart and its panel only, and the browser asks for the
  rest of the page once the chart is drawn; "page complete" (sidebar controls, table,
  explanation and tabs drawn, script idle) is reported alongside.
- step: click ``Step`` -> the status line and the chart show the next iteration (the 0.26 s
  glide of the ellipses that follows is deliberate and not counted). The browser starts
  moving on pointer-down; "rerun done" is when the rerun the click started has finished
  (scrub slider and buttons up to date), reported alongside.
- play: iterations per second while ``Play`` animates ``--points`` points to convergence at
  the fastest speed (12 it/s, set by opening the page as a link with ``?speed=12``),
  plus the browser's frame rate during playback (smoothness).

Targets from the issue: play >= 10 it/s; step <= 2x bare rerun; first chart <= 1.5x bare chart.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from playwright.sync_api import Page, sync_playwright  # noqa: E402

from emapp.build.blobs import BlobSettings  # noqa: E402
from emapp.build.links import SPEEDS  # noqa: E402
from emapp.serve import IDLE, PAGE_COMPLETE, launch_chromium, serve  # noqa: E402

BARE_RERUN_APP = """
import streamlit as st
st.session_state.setdefault("clicks", 0)
if st.button("Click", key="click"):
    st.session_state.clicks += 1
st.markdown(f"Clicks: {st.session_state.clicks}")
"""
BARE_CHART_APP = """
import numpy as np
import plotly.graph_objects as go
import streamlit as st
X = np.random.default_rng(0).normal(size=({points}, 2))
st.plotly_chart(go.Figure(go.Scatter(x=X[:, 0], y=X[:, 1], mode="markers")))
"""
# Timings are taken inside the page (performance.now), so Playwright's own round trips do
# not count: from navigation start to the points being drawn, and from the pointer-down on a
# button to the page showing the result.
POINTS_DRAWN = """() => {
  if (document.querySelectorAll('.js-plotly-plot .scatterlayer .point').length === 0) return false;
  window.__drawnAt = performance.now();
  return true;
}"""
# The status line lives in the player's shadow root; the player keeps a handle on it.
STATUS_SHOWN = "window.__emPlayer?.status?.querySelector('.em-loglik').textContent.length > 0"
PLAYER = "window.__emPlayer"
CLICK_PROBE = """(watch) => {
  window.__lat = {};
  window.addEventListener('pointerdown', () => { window.__lat = {t0: performance.now()}; }, true);
  const seen = (name) => { const l = window.__lat; if (l.t0 && !l[name]) l[name] = performance.now() - l.t0; };
  if (watch === 'bare') {
    new MutationObserver(() => seen('text')).observe(document.body, {subtree: true, childList: true, characterData: true});
  } else {
    const reg = window.__emPlayer;
    new MutationObserver(() => seen('status')).observe(reg.status, {subtree: true, childList: true, characterData: true, attributes: true});
    // The chart has changed when its SVG does (a path, a colour or a marker moved).
    new MutationObserver(() => seen('frame')).observe(reg.gd.querySelector('.main-svg'), {subtree: true, attributes: true});
  }
}"""


def idle(page: Page) -> None:
    page.wait_for_selector(IDLE, timeout=60_000)


def median_ms(samples: list[float]) -> float:
    return round(statistics.median(samples), 1)


def time_load(page: Page, url: str, extra: str = "true") -> float:
    """Milliseconds from navigation start to the points drawn (and ``extra`` true)."""
    page.goto(url)
    page.wait_for_function(f"({POINTS_DRAWN})() && ({extra})", polling="raf", timeout=60_000)
    return page.evaluate("window.__drawnAt")


def time_complete(page: Page) -> float:
    """Milliseconds from navigation start to the whole page drawn and the script idle."""
    complete = f"document.querySelector({PAGE_COMPLETE!r}) && document.querySelector({IDLE!r})"
    page.wait_for_function(f"() => {complete}", polling="raf", timeout=60_000)
    return page.evaluate("performance.now()")


def bare_rerun(page: Page, url: str, repeats: int) -> list[float]:
    page.goto(url)
    idle(page)
    page.evaluate(CLICK_PROBE, "bare")
    samples = []
    for i in range(1, repeats + 2):
        page.get_by_role("button", name="Click").click()
        page.get_by_text(f"Clicks: {i}", exact=True).wait_for()
        idle(page)
        samples.append(page.evaluate("window.__lat.text"))
    return samples[1:]  # the first click also loads code paths once


def set_points(page: Page, points: int) -> None:
    """Move the "Number of points" slider with the keyboard (50 points per arrow press)."""
    thumb = page.locator("input[type=range][aria-label='Number of points']")
    current = int(thumb.input_value())
    key = "ArrowRight" if points > current else "ArrowLeft"
    thumb.focus()
    for _ in range(abs(points - current) // 50):
        thumb.press(key)
    page.wait_for_function(
        f"document.querySelector(\"input[aria-label='Number of points']\").value === '{points}'"
    )
    time.sleep(1.0)
    idle(page)
    page.wait_for_function(f"{PLAYER} && {PLAYER}.data && {PLAYER}.gd && !{PLAYER}.playing")


def wait_shown(page: Page, target: int) -> None:
    page.wait_for_function(
        f"{PLAYER}.shown === {target} && {PLAYER}.status.dataset.index === '{target}'",
        timeout=30_000,
    )


def steps(page: Page, repeats: int) -> tuple[list[float], list[float]]:
    """Click Step repeatedly; samples of when both the status and the chart changed, and of
    when the rerun the click started had finished (scrub slider and buttons up to date)."""
    page.get_by_role("button", name="Reset", exact=True).click()
    idle(page)
    wait_shown(page, 0)
    page.evaluate(CLICK_PROBE, "app")
    samples, reruns = [], []
    target = 0
    for _ in range(repeats + 1):
        target = 3 if target == 0 else target + 2  # Step from the start is E, M, E
        page.get_by_role("button", name="Step", exact=True).click()
        # The rerun is done when the scrub slider shows the new state ("N E").
        label = f"{(target - 1) // 2} E"
        page.wait_for_function(RERUN_SEEN, arg=label, polling="raf", timeout=30_000)
        wait_shown(page, target)
        idle(page)
        latency = page.evaluate("window.__lat")
        samples.append(max(latency["status"], latency["frame"]))
        reruns.append(page.evaluate("window.__lat.rerun"))
        time.sleep(0.6)  # let the glide finish before the next click
    return samples[1:], reruns[1:]


RERUN_SEEN = """(label) => {
  const thumbs = document.querySelectorAll("[data-testid='stSliderThumbValue']");
  if (![...thumbs].some((thumb) => thumb.textContent.trim() === label)) return false;
  window.__lat.rerun = performance.now() - window.__lat.t0;
  return true;
}"""
PLAY_PROBE = """() => {
  const reg = window.__emPlayer;
  window.__bench = {frames: [], rafs: 0, run: true};
  if (!reg.__benchHooked) {  // the player calls its listeners with every state it shows
    reg.__benchHooked = true;
    reg.listeners.push((index) => window.__bench.frames.push([performance.now(), index]));
  }
  const tick = () => { if (!window.__bench.run) return; window.__bench.rafs++; requestAnimationFrame(tick); };
  requestAnimationFrame(tick);
}"""
PLAY_RESULT = """() => {
  window.__bench.run = false;
  const labels = window.__emPlayer.data.labels;
  const iteration = (i) => Number(/Iteration (\\d+)/.exec(labels[i])[1]);
  const f = window.__bench.frames;
  const seconds = (f[f.length - 1][0] - f[0][0]) / 1000;
  const gaps = f.slice(1).map((x, i) => x[0] - f[i][0]);
  return {frames: f.length, seconds, iterations: iteration(f[f.length - 1][1]) - iteration(f[0][1]),
          rafs: window.__bench.rafs, maxGapMs: Math.max(...gaps)};
}"""


def play(page: Page) -> dict:
    page.get_by_role("button", name="Reset", exact=True).click()
    idle(page)
    wait_shown(page, 0)
    page.evaluate(PLAY_PROBE)
    start = time.perf_counter()
    page.get_by_role("button", name="Play", exact=True).click()
    page.wait_for_function(f"{PLAYER}.playing === true", timeout=30_000)
    page.wait_for_function(f"{PLAYER}.playing === false", timeout=120_000)
    wall = time.perf_counter() - start
    result = page.evaluate(PLAY_RESULT)
    idle(page)
    result["iterations_per_second"] = round(result["iterations"] / result["seconds"], 2)
    result["browser_fps"] = round(result.pop("rafs") / wall, 1)
    result["wall_seconds"] = round(wall, 2)
    return result


def bare_pages(root: Path, with_app_config: bool) -> Path:
    """A folder with the two bare pages; with the app's ``.streamlit/config.toml`` or with
    Streamlit's defaults (the issue's "bare Streamlit page")."""
    root.mkdir()
    (root / "bare_rerun.py").write_text(BARE_RERUN_APP)
    default_points = BlobSettings().n_points
    (root / "bare_chart.py").write_text(BARE_CHART_APP.format(points=default_points))
    if with_app_config:
        (root / ".streamlit").mkdir()
        shutil.copy(ROOT / ".streamlit" / "config.toml", root / ".streamlit" / "config.toml")
    return root


def run(repeats: int, points: int, loads: int) -> dict:
    results: dict = {"points": points, "repeats": repeats, "loads": loads}
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as playwright:
        bare = {"": bare_pages(Path(tmp) / "default", False)}
        bare["_app_config"] = bare_pages(Path(tmp) / "app_config", True)
        browser = launch_chromium(playwright)
        page = browser.new_page(viewport={"width": 1600, "height": 1000})
        for suffix, folder in bare.items():
            with serve(folder / "bare_rerun.py", folder) as url:
                results[f"bare_rerun{suffix}_ms"] = median_ms(bare_rerun(page, url, repeats))
        with (
            serve(bare[""] / "bare_chart.py", bare[""]) as bare_url,
            serve(bare["_app_config"] / "bare_chart.py", bare["_app_config"]) as tuned_url,
            serve("app.py", ROOT) as app,
        ):
            pages = {"": bare_url, "_app_config": tuned_url}
            for url in pages.values():  # warm the servers and the browser cache
                time_load(page, url)
            time_load(page, app, STATUS_SHOWN)
            bare_loads: dict[str, list[float]] = {suffix: [] for suffix in pages}
            app_loads, app_completes = [], []
            for _ in range(loads):  # interleaved, so background load hits all alike
                for suffix, url in pages.items():
                    bare_loads[suffix].append(time_load(page, url))
                app_loads.append(time_load(page, app, STATUS_SHOWN))
                app_completes.append(time_complete(page))
            for suffix, samples in bare_loads.items():
                results[f"bare_chart{suffix}_ms"] = median_ms(samples)
            results["first_chart_ms"] = median_ms(app_loads)
            results["page_complete_ms"] = median_ms(app_completes)
            results["load_samples_ms"] = {"bare": sorted(bare_loads[""]), "app": sorted(app_loads)}
            # Step and Play at the fastest speed (the default is 2 iterations per second),
            # opened as a shareable link.
            page.goto(f"{app}/?speed={max(SPEEDS)}")
            time_complete(page)
            idle(page)
            set_points(page, points)
            shown, reruns = steps(page, repeats)
            results["step_ms"] = median_ms(shown)
            results["step_rerun_ms"] = median_ms(reruns)
            results["play"] = [play(page) for _ in range(2)]
        browser.close()
    for suffix in bare:
        rerun, chart = results[f"bare_rerun{suffix}_ms"], results[f"bare_chart{suffix}_ms"]
        results[f"step_vs_bare_rerun{suffix}"] = round(results["step_ms"] / rerun, 2)
        results[f"step_rerun_vs_bare_rerun{suffix}"] = round(results["step_rerun_ms"] / rerun, 2)
        results[f"first_chart_vs_bare_chart{suffix}"] = round(results["first_chart_ms"] / chart, 2)
    return results


def report(results: dict) -> None:
    """Ratios against bare pages with Streamlit's defaults (the issue's baseline), and in
    brackets against the same bare pages with the app's config file."""
    play_rates = [p["iterations_per_second"] for p in results["play"]]
    print(
        f"medians of {results['repeats']} runs ({results['loads']} page loads); "
        f"play and step with {results['points']} points; [with the app's config]"
    )
    print(
        f"bare rerun          {results['bare_rerun_ms']:8.1f} ms   "
        f"[{results['bare_rerun_app_config_ms']:.1f} ms]"
    )
    for name, key, note in (
        ("step", "step", "(target <= 2x)"),
        ("step, rerun done", "step_rerun", "(slider and buttons)"),
    ):
        print(
            f"{name:19s} {results[f'{key}_ms']:8.1f} ms   "
            f"= {results[f'{key}_vs_bare_rerun']:.2f}x bare rerun "
            f"[{results[f'{key}_vs_bare_rerun_app_config']:.2f}x]   {note}"
        )
    print(
        f"bare chart page     {results['bare_chart_ms']:8.1f} ms   "
        f"[{results['bare_chart_app_config_ms']:.1f} ms]"
    )
    print(
        f"first chart         {results['first_chart_ms']:8.1f} ms   "
        f"= {results['first_chart_vs_bare_chart']:.2f}x bare chart "
        f"[{results['first_chart_vs_bare_chart_app_config']:.2f}x]   (target <= 1.5x)"
    )
    print(f"page complete       {results['page_complete_ms']:8.1f} ms   (controls, table, tabs)")
    for p in results["play"]:
        print(
            f"play                {p['iterations_per_second']:8.2f} it/s "
            f"({p['iterations']} iterations in {p['seconds']:.2f} s, {p['frames']} frames, "
            f"longest gap {p['maxGapMs']:.0f} ms, browser {p['browser_fps']} fps)"
        )
    print(f"play target >= 10 it/s: {'met' if min(play_rates) >= 10 else 'NOT met'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--loads", type=int, default=15)
    parser.add_argument("--points", type=int, default=2000)
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    results = run(args.repeats, args.points, args.loads)
    report(results)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
