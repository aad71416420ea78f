"""Load test: a class of students using the app at once (opt-in: ``make loadtest``).

    .venv/bin/python bench/loadtest.py [--sessions 30] [--steps 4] [--json PATH]

One headless Debian Chromium with a browser context per student (a context is a separate
Streamlit session, with its own cookies), driven concurrently with Playwright's async API
against one ``streamlit run app.py`` using the repository's ``.streamlit/config.toml``.
Each session, as a student would:

1. opens the page, sets its own *Data seed* (``SEED_BASE + i``);
2. presses Step a few times, Play, Pause, Run to convergence and Reset;
3. switches to *Upload CSV*, uploads its own file (own column names, own number of rows)
   and steps once.

After each action the session checks that the page shows *its own* numbers: the chart's run
id, the status line ("Iteration N · ...") and every cell of the parameter table must equal
what EM computes locally for that session's seed, and the uploaded table must carry the
session's column names and row count. A mismatch is an isolation error.

Reported: errors by kind, isolation checks, step latency (pointer-down to the status line
showing the step, and to the server's answer reaching the page; median and worst), page
load and upload times, and the server's memory (RSS from /proc) before, at peak and after.
The browser runs on the same cores as the server, so latencies here are pessimistic.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import astuple, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from playwright.async_api import Browser, Page, async_playwright  # noqa: E402
from playwright.async_api import TimeoutError as PlaywrightTimeout  # noqa: E402

from emapp.build.blobs import BlobSettings, make_blobs  # noqa: E402
from emapp.build.describe import state_label, table_rows  # noqa: E402
from emapp.build.prepare import version_of  # noqa: E402
from emapp.build.timeline import ModelSettings, Timeline, compute_timeline  # noqa: E402
from emapp.serve import (  # noqa: E402
    CHROMIUM,
    CHROMIUM_ARGS,
    IDLE,
    PAGE_COMPLETE,
    free_port,
    wait_healthy,
)

SEED_BASE = 100
UPLOAD_ROWS = 200  # session i uploads UPLOAD_ROWS + i rows, so every file is told apart
# 30 sessions on 2 shared cores: a page can wait a long time for CPU.
TIMEOUT_MS = 180_000
POLL_MS = 100  # how often Python looks at the page; the timings themselves are taken inside
RSS_EVERY_S = 0.5
PLAY_SECONDS = 1.0
PAUSE_TIMEOUT_MS = 5_000
SETTLE_MS = 60_000
VIEWPORT = {"width": 1400, "height": 1000}

# In-page timing of one click: from the pointer-down to (a) the status line showing the
# target state and (b) the server's answer (the new cursor) reaching the page.
PROBE = """() => {
  const reg = window.__emPlayer;
  window.__lt = {};
  if (window.__ltInstalled) return;
  window.__ltInstalled = true;
  window.addEventListener('pointerdown', () => {
    // The player listens first and may jump to the target at once (Run, Reset).
    const lt = {t0: performance.now(), target: window.__ltTarget};
    if (reg.shown === lt.target) lt.shown = 0;
    window.__lt = lt;
  }, true);
  reg.listeners.push((index) => {
    const lt = window.__lt;
    if (lt.t0 !== undefined && index === lt.target && lt.shown === undefined)
      lt.shown = performance.now() - lt.t0;
  });
  // The player stores every render's data from Python in reg.data: the server's answer to
  // the click is the first one that carries the click's target. (The script-state attribute
  // is no signal: a fast fragment rerun may start and end within one React render.)
  let current = reg.data;
  Object.defineProperty(reg, 'data', {
    configurable: true,
    get: () => current,
    set: (value) => {
      current = value;
      const lt = window.__lt;
      if (lt.t0 !== undefined && lt.confirmed === undefined && value && value.target === lt.target)
        lt.confirmed = performance.now() - lt.t0;
    },
  });
}"""
READY = """(v) => {
  const r = window.__emPlayer;
  return !!(r && r.gd && r.version === v && r.data && r.data.version === v && r.table
            && r.table.data.version === v);
}"""
SHOWN = """(i) => {
  const r = window.__emPlayer;
  return r.shown === i && r.status.dataset.index === String(i)
         && r.table.root.dataset.index === String(i);
}"""
CONSISTENT = """() => {
  const r = window.__emPlayer;
  return !!(r.gd && r.data && r.table && r.version === r.data.version
            && r.version === r.table.data.version);
}"""
SETTLED = """() => {
  const r = window.__emPlayer;
  return !r.playing && r.data && !r.data.playing && r.shown === r.data.target;
}"""
PLAY_STARTED = """(last) => {
  const r = window.__emPlayer;
  return r.playing || r.data.playing || r.shown === last;
}"""
STOPPED = "() => { const r = window.__emPlayer; return !r.playing && r.data && !r.data.playing; }"
PAGE_VIEW = """() => {
  const r = window.__emPlayer, root = r.table.root;
  return {
    version: r.version,
    index: r.shown,
    status: r.status.querySelector('.em-iteration').textContent,
    title: root.querySelector('.em-table-title').textContent,
    header: Array.from(root.querySelectorAll('thead th')).map((c) => c.textContent),
    rows: Array.from(root.querySelectorAll('tbody tr')).map(
      (tr) => Array.from(tr.cells).map((c) => c.textContent)),
  };
}"""


# -- what each session should see ----------------------------------------------------------


@dataclass
class Expected:
    """One session's own run, computed here with the app's code, and its upload."""

    seed: int
    version: str
    timeline: Timeline
    upload_name: str
    upload: bytes
    upload_rows: int
    upload_columns: tuple[str, str]

    def label(self, index: int) -> str:
        return state_label(self.timeline.states[index])

    def rows(self, index: int) -> list[list[str]]:
        return table_rows(self.timeline.states[index].params)


def expected_for(session: int) -> Expected:
    seed = SEED_BASE + session
    blobs, model = BlobSettings(seed=seed), ModelSettings()
    version = version_of(("blobs", astuple(blobs), astuple(model)))
    timeline = compute_timeline(make_blobs(blobs), model)
    rows = UPLOAD_ROWS + session
    columns = (f"s{session:02d}_width", f"s{session:02d}_height")
    points = make_blobs(BlobSettings(n_points=rows, seed=10_000 + session))
    lines = [",".join(columns), *(f"{a:.4f},{b:.4f}" for a, b in points)]
    upload = ("\n".join(lines) + "\n").encode()
    return Expected(seed, version, timeline, f"session{session:02d}.csv", upload, rows, columns)


# -- one session ----------------------------------------------------------------------------


@dataclass
class SessionResult:
    session: int
    load_s: float | None = None
    upload_s: float | None = None
    step_shown_ms: list[float] = field(default_factory=list)
    step_server_ms: list[float] = field(default_factory=list)
    checks: int = 0
    phase: str = "start"
    errors: list[str] = field(default_factory=list)
    isolation_errors: list[str] = field(default_factory=list)


class Student:
    """One browser context driving one Streamlit session."""

    def __init__(
        self, page: Page, expected: Expected, result: SessionResult, timeout_ms: int
    ) -> None:
        self.page, self.expected, self.result = page, expected, result
        self.timeout = timeout_ms

    async def idle(self) -> None:
        await self.page.wait_for_selector(IDLE, timeout=self.timeout)

    async def wait(self, script: str, arg: object = None) -> None:
        await self.page.wait_for_function(script, arg=arg, polling=POLL_MS, timeout=self.timeout)

    async def button(self, label: str) -> None:
        await self.page.get_by_role("button", name=label, exact=True).click(timeout=self.timeout)

    async def open(self, url: str, slots: asyncio.Semaphore) -> None:
        """Load the page (a few at a time, see :attr:`Plan.load_slots`); timed from the
        request to the whole page ready, without the wait for a slot."""
        async with slots:
            start = time.perf_counter()
            await self.page.goto(url, timeout=self.timeout)
            await self.page.wait_for_selector(PAGE_COMPLETE, timeout=self.timeout)
            await self.idle()
            await self.wait("() => !!(window.__emPlayer && window.__emPlayer.gd)")
            self.result.load_s = time.perf_counter() - start

    async def use_own_seed(self) -> None:
        box = self.page.locator("input[aria-label='Data seed']")
        await box.fill(str(self.expected.seed))
        await box.press("Enter")
        await self.wait(READY, self.expected.version)
        await self.idle()
        await self.page.evaluate(PROBE)

    async def step_to(self, label: str, target: int) -> None:
        """Press a stepping button and time it; the page must end on state ``target``."""
        await self.idle()
        await self.settled()
        if await self.page.evaluate("window.__emPlayer.shown") == target:
            return  # nothing would move (e.g. Play already reached the end): no timing
        await self.page.evaluate(f"window.__ltTarget = {target}")
        await self.button(label)
        await self.wait(
            "() => window.__lt.shown !== undefined && window.__lt.confirmed !== undefined"
        )
        timing = await self.page.evaluate("window.__lt")
        self.result.step_shown_ms.append(timing["shown"])
        self.result.step_server_ms.append(timing["confirmed"])
        await self.wait(SHOWN, target)
        await self.check_blobs(target)

    async def settled(self) -> None:
        """Wait until the chart shows the server's cursor (after playback it may still be
        catching up); say which two states differ if it never does."""
        try:
            await self.page.wait_for_function(SETTLED, polling=POLL_MS, timeout=SETTLE_MS)
        except PlaywrightTimeout:
            shown, cursor = await self.page.evaluate(
                "[window.__emPlayer.shown, window.__emPlayer.data.target]"
            )
            raise RuntimeError(
                f"the chart shows state {shown} but the server's cursor is {cursor}"
            ) from None

    async def check_blobs(self, index: int | None = None) -> None:
        """The page shows this session's run: its id, status line and every table cell."""
        await self.idle()
        view = await self.page.evaluate(PAGE_VIEW)
        index = view["index"] if index is None else index
        expected = self.expected
        wanted = {
            "version": expected.version,
            "index": index,
            "status": expected.label(index),
            "rows": expected.rows(index),
        }
        self.compare(view, wanted, f"blobs state {index}")

    def compare(self, view: dict, wanted: dict, where: str) -> None:
        self.result.checks += 1
        wrong = [key for key, value in wanted.items() if view[key] != value]
        if wrong:
            details = {key: (view[key], wanted[key]) for key in wrong}
            self.result.isolation_errors.append(f"{where}: {json.dumps(details)[:400]}")

    async def steps(self, count: int) -> None:
        target = 0
        for _ in range(count):
            target = 3 if target == 0 else target + 2  # from the start Step is E, M, E
            await self.step_to("Step", target)

    async def play_pause(self) -> None:
        """Play for a moment and Pause; a short run may reach its end first, which is fine."""
        await self.idle()
        await self.button("Play")
        # Under load the server's answer to Play can take seconds: wait for it first.
        await self.wait(PLAY_STARTED, self.expected.timeline.last)
        await asyncio.sleep(PLAY_SECONDS)
        if await self.page.evaluate("window.__emPlayer.playing"):
            pause = self.page.get_by_role("button", name="Pause", exact=True)
            with contextlib.suppress(PlaywrightTimeout):  # the run ended meanwhile
                await pause.click(timeout=PAUSE_TIMEOUT_MS)
        await self.wait(STOPPED)
        await self.idle()
        await self.check_blobs()

    async def upload(self) -> None:
        expected = self.expected
        start = time.perf_counter()
        option = self.page.locator("[data-testid='stRadio'] label").filter(has_text="Upload CSV")
        await option.click(timeout=self.timeout)
        await self.idle()
        dropzone = self.page.locator("[data-testid='stFileUploaderDropzoneInput']")
        await dropzone.set_input_files(
            {"name": expected.upload_name, "mimeType": "text/csv", "buffer": expected.upload},
            timeout=self.timeout,
        )
        column = expected.upload_columns[0]
        await self.wait(
            "(c) => { const t = window.__emPlayer.table;"
            " return !!(t && t.data.header.some((h) => h.includes(c))); }",
            column,
        )
        await self.wait(CONSISTENT)
        await self.idle()
        self.result.upload_s = time.perf_counter() - start
        await self.check_upload(0)
        await self.button("Step")
        await self.wait(SHOWN, 3)
        await self.check_upload(3)

    async def check_upload(self, index: int) -> None:
        """The page shows this session's file: its columns and its number of rows."""
        view = await self.page.evaluate(PAGE_VIEW)
        sidebar = await self.page.locator("[data-testid='stSidebar']").inner_text()
        names = self.expected.upload_columns
        view["own_columns"] = all(any(name in h for h in view["header"]) for name in names)
        view["own_rows"] = f"Read {self.expected.upload_rows} rows" in sidebar
        view["status_matches_table"] = view["title"].endswith(view["status"])
        wanted = {"index": index, "own_columns": True, "own_rows": True}
        self.compare(view, {**wanted, "status_matches_table": True}, f"upload state {index}")

    async def run(self, url: str, steps: int, slots: asyncio.Semaphore) -> None:
        last = self.expected.timeline.last
        phases = (
            ("load", lambda: self.open(url, slots)),
            ("seed", self.use_own_seed),
            ("step", lambda: self.steps(min(steps, (last - 1) // 2))),
            ("play and pause", self.play_pause),
            ("run to convergence", lambda: self.step_to("Run to convergence", last)),
            ("reset", lambda: self.step_to("Reset", 0)),
            ("upload", self.upload),
        )
        for name, action in phases:
            self.result.phase = name
            await action()


@dataclass(frozen=True)
class Plan:
    """What every student does, and how long a page may take to answer."""

    steps: int = 4
    stagger: float = 1.0
    timeout_ms: int = TIMEOUT_MS
    # Pages loading at once. Every load parses and draws the whole animated figure in the
    # browser; 30 at once on 2 cores starve each other (and the server) for minutes.
    load_slots: int = 4


async def student(
    browser: Browser,
    url: str,
    expected: Expected,
    plan: Plan,
    session: int,
    slots: asyncio.Semaphore,
) -> SessionResult:
    """One session from start to end; any failure is recorded, never raised."""
    result = SessionResult(session)
    # Students arrive over a minute or so, not all in the same instant.
    await asyncio.sleep(session * plan.stagger)
    context = await browser.new_context(viewport=VIEWPORT)
    page = await context.new_page()
    page.on("pageerror", lambda error: result.errors.append(f"page error: {error}"))
    try:
        await Student(page, expected, result, plan.timeout_ms).run(url, plan.steps, slots)
        exceptions = await page.locator("[data-testid='stException']").count()
        if exceptions:
            result.errors.append(f"{exceptions} exception(s) shown on the page")
    except Exception as error:  # a timeout or a missing element is an error of this session
        first_line = str(error).splitlines()[0][:200]
        state = await page_state(page)
        result.errors.append(f"{result.phase}: {type(error).__name__}: {first_line} ({state})")
    finally:
        await context.close()
    return result


async def page_state(page: Page) -> str:
    """A few words on where the page was, for an error message."""
    script = """() => { const r = window.__emPlayer || {};
      const app = document.querySelector("[data-testid='stApp']");
      return JSON.stringify({script: app && app.getAttribute('data-test-script-state'),
        shown: r.shown, playing: r.playing, version: r.version,
        data: r.data && {version: r.data.version, target: r.data.target, playing: r.data.playing},
        timing: window.__lt}); }"""
    try:
        return await page.evaluate(script)
    except Exception as error:  # the page may be gone; the original error matters more
        return f"page state unavailable: {type(error).__name__}"


# -- the server and its memory --------------------------------------------------------------


@contextmanager
def serve_app(log: Path) -> Iterator[tuple[str, int]]:
    """``streamlit run app.py`` with the repository's config; yields its URL and PID."""
    port = free_port()
    command = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port)]
    with log.open("wb") as sink:
        process = subprocess.Popen(command, cwd=ROOT, stdout=sink, stderr=subprocess.STDOUT)
        try:
            wait_healthy(port, process)
            yield f"http://127.0.0.1:{port}", process.pid
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def rss_mb(pid: int) -> float:
    """Resident memory of a process, from /proc (Linux)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / 100  # clock ticks; 100 per second on Linux


async def sample_rss(pid: int, samples: list[float], stop: asyncio.Event) -> None:
    while not stop.is_set():
        samples.append(rss_mb(pid))
        await asyncio.sleep(RSS_EVERY_S)


# -- the whole test -------------------------------------------------------------------------


async def warm_up(browser: Browser, url: str, timeout_ms: int) -> None:
    """One page load first, so the baseline memory includes the app's imports and the
    default run: what remains is what the students add."""
    context = await browser.new_context(viewport=VIEWPORT)
    page = await context.new_page()
    await page.goto(url, timeout=timeout_ms)
    await page.wait_for_selector(PAGE_COMPLETE, timeout=timeout_ms)
    await page.wait_for_selector(IDLE, timeout=timeout_ms)
    await context.close()


async def drive(url: str, pid: int, sessions: int, plan: Plan) -> dict:
    expected = [expected_for(i) for i in range(sessions)]
    samples: list[float] = []
    stop = asyncio.Event()
    memory = {"started": rss_mb(pid)}
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        await warm_up(browser, url, plan.timeout_ms)
        memory["baseline"], cpu_before = rss_mb(pid), cpu_seconds(pid)
        sampler = asyncio.create_task(sample_rss(pid, samples, stop))
        start = time.perf_counter()
        slots = asyncio.Semaphore(plan.load_slots)
        results = await asyncio.gather(
            *(student(browser, url, expected[i], plan, i, slots) for i in range(sessions))
        )
        wall = time.perf_counter() - start
        stop.set()
        await sampler
        await browser.close()
    memory.update(peak=max(samples, default=memory["baseline"]), end=rss_mb(pid))
    return summarise(results, memory, wall, cpu_seconds(pid) - cpu_before)


def spread(values: list[float], digits: int = 0) -> dict[str, float | None]:
    if not values:
        return {"median": None, "worst": None}
    return {"median": round(statistics.median(values), digits), "worst": round(max(values), digits)}


def summarise(results: list[SessionResult], memory: dict, wall: float, cpu: float) -> dict:
    shown = [v for r in results for v in r.step_shown_ms]
    reruns = [v for r in results for v in r.step_server_ms]
    sessions = len(results)
    return {
        "sessions": sessions,
        "sessions_ok": sum(not r.errors and not r.isolation_errors for r in results),
        "errors": [f"session {r.session}: {e}" for r in results for e in r.errors],
        "isolation_checks": sum(r.checks for r in results),
        "isolation_errors": [
            f"session {r.session}: {e}" for r in results for e in r.isolation_errors
        ],
        "steps_timed": len(reruns),
        "step_shown_ms": spread(shown),
        "step_server_ms": spread(reruns),
        "page_load_s": spread([r.load_s for r in results if r.load_s is not None], 1),
        "upload_s": spread([r.upload_s for r in results if r.upload_s is not None], 1),
        "server_rss_mb": {k: round(v) for k, v in memory.items()},
        "server_rss_per_session_mb": round((memory["peak"] - memory["baseline"]) / sessions, 1),
        "server_cpu_s": round(cpu, 1),
        "wall_s": round(wall, 1),
    }


def run_load_test(sessions: int, plan: Plan = Plan()) -> dict:
    """Serve the app, run ``sessions`` students against it, and summarise."""
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "streamlit.log"
        with serve_app(log) as (url, pid):
            summary = asyncio.run(drive(url, pid, sessions, plan))
        tracebacks = log.read_text(errors="replace").count("Traceback")
    summary["server_tracebacks"] = tracebacks
    return summary


def print_summary(summary: dict) -> None:
    step, rerun = summary["step_shown_ms"], summary["step_server_ms"]
    rss = summary["server_rss_mb"]
    lines = [
        f"sessions ok            {summary['sessions_ok']} of {summary['sessions']}"
        f" in {summary['wall_s']} s",
        f"errors                 {len(summary['errors'])}"
        f" (+ {summary['server_tracebacks']} tracebacks in the server log)",
        f"isolation              {len(summary['isolation_errors'])} wrong of"
        f" {summary['isolation_checks']} checks",
        f"step, status shown     median {step['median']} ms, worst {step['worst']} ms"
        f" ({summary['steps_timed']} clicks)",
        f"step, server answer    median {rerun['median']} ms, worst {rerun['worst']} ms",
        f"page load              median {summary['page_load_s']['median']} s,"
        f" worst {summary['page_load_s']['worst']} s",
        f"upload to table        median {summary['upload_s']['median']} s,"
        f" worst {summary['upload_s']['worst']} s",
        f"server RSS             {rss['started']} MB started, {rss['baseline']} MB after one"
        f" page, {rss['peak']} MB peak, {rss['end']} MB after"
        f" (+{summary['server_rss_per_session_mb']} MB per session at peak)",
        f"server CPU             {summary['server_cpu_s']} s",
    ]
    print("\n".join(lines))
    for message in summary["errors"] + summary["isolation_errors"]:
        print("  " + message)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=30)
    parser.add_argument("--steps", type=int, default=4, help="Step presses per session")
    parser.add_argument("--stagger", type=float, default=1.0, help="seconds between arrivals")
    parser.add_argument("--load-slots", type=int, default=4, help="pages loading at once")
    parser.add_argument("--json", type=Path, help="also write the summary here")
    args = parser.parse_args()
    plan = Plan(args.steps, args.stagger, load_slots=args.load_slots)
    summary = run_load_test(args.sessions, plan)
    print_summary(summary)
    if args.json:
        args.json.write_text(json.dumps(summary, indent=2))
    failed = summary["errors"] or summary["isolation_errors"] or summary["server_tracebacks"]
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
