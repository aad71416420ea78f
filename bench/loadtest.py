"""Load test: a class of students using the app at once (opt-in: ``make loadtest``).

    .venv/bin/python bench/loadtest.py [--sessions 30] [--steps 4] [--json PATH]
        [--hostile-session N | --no-hostile] [--session-ttl 10]

One headless Debian Chromium with a browser context per student (a context is a separate
Streamlit session, with its own cookies), driven concurrently with Playwright's async API
against one ``streamlit run app.py`` using the repository's ``.streamlit/config.toml``.
Each session, as a student would:

1. opens the page, sets its own *Data seed* (``SEED_BASE + i``);
2. presses Step a few times, Play, Pause, Run to convergence and Reset;
3. switches to *Upload CSV*, uploads its own file (own column names, own number of rows)
   and steps once.

One of them (``--hostile-session``, by default the one a third of the way through the
arrivals) is a *hostile student*: before its own file it uploads, one after another while the
others work, the files that cost the reader most within the limits (see
:func:`hostile_files`: a 19 MB file at the cell limit, read once to the end after being
cancelled once with the sidebar's Cancel button; 50,000 columns; a 1,000-name header over a
million rows; one cell of 60,000 digits; 100 KB column names; Markdown and HTML column
names). Each must end in a read report or a short error sentence in the sidebar, never a
traceback, and the browser must request nothing from ``example.invalid``. Meanwhile a thread
asks ``/_stcore/health`` every 0.2 s.

After each action the session checks that the page shows *its own* numbers: the chart's run
id, the status line ("Iteration N · ...") and every cell of the parameter table must equal
what EM computes locally for that session's seed, and the uploaded table must carry the
session's column names and row count. A mismatch is an isolation error.

Reported: errors by kind, isolation checks, step latency (pointer-down to the status line
showing the step, and to the server's answer reaching the page; median and worst), page
load and upload times, the hostile student's outcome per file, the other students' step
latency and the health probe's worst answer while it uploads, and the server's memory (RSS
from /proc): after one page, at peak, right after the sessions closed, after
``server.disconnectedSessionTTL`` (the server is started with ``--session-ttl``, 10 s by
default instead of the config's 120 s, to keep the run short), and after one more page was
opened and closed (Streamlit drops expired sessions only when it stores another). The
browser runs on the same cores as the server, so latencies here are pessimistic.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import astuple, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
from playwright.async_api import Browser, Dialog, Page, Request, async_playwright  # noqa: E402
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
HEALTH_EVERY_S = 0.2
HEALTH_TIMEOUT_S = 30.0
SIDEBAR = "[data-testid='stSidebar']"
PROGRESS = f"{SIDEBAR} [data-testid='stProgress']"
DELETE_FILE = f"{SIDEBAR} [data-testid='stFileChipDeleteBtn'] button"
CANCELLED_SENTENCE = "Reading the file was cancelled"
# A hostile file's outcome in the sidebar, once its read has ended: the error's sentence or
# the read report (a caption "Read N rows ..."); null while it is read or before.
OUTCOME = """() => {
  const side = document.querySelector("[data-testid='stSidebar']");
  if (!side || side.querySelector("[data-testid='stProgress']")) return null;
  const error = side.querySelector("[data-testid='stAlertContentError']");
  if (error) return {kind: 'error', text: error.innerText.trim()};
  for (const c of side.querySelectorAll("[data-testid='stCaptionContainer']"))
    if (c.innerText.trim().startsWith('Read ')) return {kind: 'report', text: c.innerText.trim()};
  return null;
}"""
READING = f"""() => {{
  const bar = document.querySelector("{PROGRESS}");
  return !!bar && bar.innerText.startsWith('Reading');
}}"""
NO_OUTCOME = f"""() => {{
  const app = document.querySelector("[data-testid='stApp']");
  return app.getAttribute('data-test-script-state') === 'notRunning' && ({OUTCOME})() === null
    && !document.querySelector("[data-testid='stFileChip']");
}}"""

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


# -- the hostile student's files ------------------------------------------------------------

MARKUP_NAMES = ("![x](http://example.invalid/a.png)", "<img src=x onerror=alert(1)>")


@dataclass(frozen=True)
class HostileFile:
    """A file within the upload limits that costs the reader as much as possible."""

    name: str
    what: str
    content: bytes
    # What the page may show: "report", "error" or both. The largest file is read in about
    # 5 s on an idle machine; on a starved one the read's 20 s limit may stop it, with its
    # sentence, which is also right.
    expect: tuple[str, ...]
    cancel_first: bool = False  # upload it once and press Cancel while it is read


def largest_file() -> bytes:
    """About 19 MB and 1,900,000 numeric cells: the slowest read the limits let through."""
    values = np.random.default_rng(0).normal(size=(190_000, 10)) * 1000
    lines = [",".join(f"c{j}" for j in range(10))]
    lines += (",".join(f"{v:.4f}" for v in row) for row in values)
    return ("\n".join(lines) + "\n").encode()


def hostile_files(cheap: bool = False) -> list[HostileFile]:
    """The hostile student's uploads; ``cheap`` leaves out the 19 MB and 4 MB files."""
    wide = ",".join(f"c{j}" for j in range(50_000)) + "\n" + ",".join(["1"] * 50_000) + "\n"
    tall = ",".join(f"n{j}" for j in range(1_000)) + "\n" + "1,2\n" * 999_999
    long_cell = "x\n" + "1" * 60_000 + "a\n"
    long_names = ",".join(c * 100_000 for c in "abc") + "\n1,2,3\n4,5,6\n7,8,9\n"
    # Decimals, so that no column looks like a counter the page leaves out of the fit.
    rows = "1.5,2.25,3.5\n2.25,1.5,4.75\n5.75,6.5,1.25\n6.5,5.75,2.5\n"
    markup = ",".join(f'"{name}"' for name in MARKUP_NAMES) + ",y\n" + rows
    files = [
        HostileFile(
            "largest.csv", "19 MB, 1,900,000 cells", largest_file(), ("report", "error"), True
        ),
        HostileFile("wide.csv", "50,000 columns", wide.encode(), ("error",)),
        HostileFile("tall.csv", "1,000 names over 999,999 rows of 1,2", tall.encode(), ("error",)),
        HostileFile(
            "long_cell.csv",
            "one cell of 60,000 digits and a letter",
            long_cell.encode(),
            ("error",),
        ),
        HostileFile(
            "long_names.csv", "three 100 KB column names", long_names.encode(), ("report",)
        ),
        HostileFile("markup.csv", "Markdown and HTML column names", markup.encode(), ("report",)),
    ]
    if cheap:
        files = [f for f in files if len(f.content) < 1_000_000]
    return files


# -- one session ----------------------------------------------------------------------------


@dataclass
class SessionResult:
    session: int
    load_s: float | None = None
    upload_s: float | None = None
    step_shown_ms: list[float] = field(default_factory=list)
    step_server_ms: list[float] = field(default_factory=list)
    step_at: list[float] = field(default_factory=list)  # perf_counter() at each timed click
    checks: int = 0
    hostile: list[dict] = field(default_factory=list)  # one entry per hostile upload
    hostile_window: tuple[float, float] | None = None
    hostile_fetched: list[str] = field(default_factory=list)
    phase: str = "start"
    errors: list[str] = field(default_factory=list)
    isolation_errors: list[str] = field(default_factory=list)


class Student:
    """One browser context driving one Streamlit session."""

    def __init__(
        self,
        page: Page,
        expected: Expected,
        result: SessionResult,
        timeout_ms: int,
        hostile: list[HostileFile] | None = None,
    ) -> None:
        self.page, self.expected, self.result = page, expected, result
        self.timeout = timeout_ms
        self.hostile_files = hostile or []

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
        self.result.step_at.append(time.perf_counter())
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

    async def choose_upload(self) -> None:
        option = self.page.locator("[data-testid='stRadio'] label").filter(has_text="Upload CSV")
        await option.click(timeout=self.timeout)
        await self.idle()

    async def upload(self) -> None:
        expected = self.expected
        start = time.perf_counter()
        await self.choose_upload()
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

    async def hostile_uploads(self) -> None:
        """Upload every hostile file in turn; each must end in a report or a short error."""
        page = self.page
        fetched = self.result.hostile_fetched
        dialogs: list[str] = []

        def on_request(request: Request) -> None:
            # The markup names point at example.invalid, and <img src=x> at the page's "/x".
            if "example.invalid" in request.url or request.url.split("?")[0].endswith("/x"):
                fetched.append(request.url)

        async def on_dialog(dialog: Dialog) -> None:
            dialogs.append(dialog.message)
            await dialog.dismiss()

        page.on("request", on_request)
        page.on("dialog", on_dialog)
        await self.choose_upload()
        start = time.perf_counter()
        try:
            for file in self.hostile_files:
                if file.cancel_first:
                    await self.hostile_upload(file, cancel=True)
                await self.hostile_upload(file)
        finally:
            self.result.hostile_window = (start, time.perf_counter())
            page.remove_listener("request", on_request)
        if fetched:
            self.result.errors.append(f"hostile uploads: the browser requested {fetched[:3]}")
        if dialogs:
            self.result.errors.append(f"hostile uploads: the page opened dialogs {dialogs[:3]}")

    async def hostile_upload(self, file: HostileFile, cancel: bool = False) -> None:
        """One hostile file: upload it (and press Cancel while it is read, if ``cancel``),
        then record the sidebar's sentence and the seconds from the upload to it."""
        page = self.page
        chip = page.locator(DELETE_FILE)
        if await chip.count():  # start from no file, so the sentence seen is this file's
            await chip.first.click(timeout=self.timeout)
        await self.wait(NO_OUTCOME)
        start = time.perf_counter()
        await page.locator("[data-testid='stFileUploaderDropzoneInput']").set_input_files(
            {"name": file.name, "mimeType": "text/csv", "buffer": file.content},
            timeout=self.timeout,
        )
        problems: list[str] = []
        cancelled_at, pressed_while = None, None
        if cancel:
            # Press Cancel once the file is being read (the bar also shows while the upload
            # waits for one of the server's two read slots).
            await self.wait(READING)
            pressed_while = await page.locator(PROGRESS).inner_text()
            cancel_button = page.locator(SIDEBAR).get_by_role("button", name="Cancel", exact=True)
            await cancel_button.click(timeout=self.timeout)
            cancelled_at = time.perf_counter()
        handle = await page.wait_for_function(OUTCOME, polling=POLL_MS, timeout=self.timeout)
        outcome = await handle.json_value()
        end = time.perf_counter()
        seconds = end - start
        await self.idle()
        sentence = outcome["text"]
        if await page.locator("[data-testid='stException']").count():
            problems.append("the page shows a traceback")
        if "Traceback" in await page.locator(SIDEBAR).inner_text():
            problems.append("the sidebar shows a traceback")
        if len(sentence) > 400 or "\n" in sentence:
            problems.append("the message is not a short sentence")
        if cancel:
            if outcome["kind"] != "error" or CANCELLED_SENTENCE not in sentence:
                problems.append(f"Cancel did not say '{CANCELLED_SENTENCE}'")
        elif outcome["kind"] not in file.expect:
            problems.append(
                f"expected {' or '.join(file.expect)}, the page shows {outcome['kind']}"
            )
        if file.name == "markup.csv" and outcome["kind"] == "report":
            problems += await self.markup_problems()
        self.result.hostile.append(
            {
                "file": file.name + (" (cancelled)" if cancel else ""),
                "what": file.what,
                "bytes": len(file.content),
                "outcome": "cancelled" if cancel else outcome["kind"],
                "sentence": sentence,
                "seconds": round(seconds, 1),
                # For the Cancel: from the click to the sentence.
                "after_cancel_s": round(end - cancelled_at, 1) if cancelled_at else None,
                "cancel_pressed_while": pressed_while,
                "problems": problems,
            }
        )
        self.result.errors += [f"hostile file {file.name}: {p}" for p in problems]

    async def markup_problems(self) -> list[str]:
        """The markup names show as text: literal chips, no image made from them."""
        chips = await self.page.locator(
            f"{SIDEBAR} [data-testid='stMultiSelect'] [data-tag]"
        ).all_inner_texts()
        problems = [
            f"name {name!r} not shown as text" for name in MARKUP_NAMES if name not in chips
        ]
        images = await self.page.locator("img[src*='example.invalid'], img[src='x']").count()
        if images:
            problems.append(f"{images} image(s) made from the names")
        return problems

    async def run(self, url: str, steps: int, slots: asyncio.Semaphore) -> None:
        last = self.expected.timeline.last
        phases = (
            ("load", lambda: self.open(url, slots)),
            ("seed", self.use_own_seed),
            ("step", lambda: self.steps(min(steps, (last - 1) // 2))),
            ("play and pause", self.play_pause),
            ("run to convergence", lambda: self.step_to("Run to convergence", last)),
            ("reset", lambda: self.step_to("Reset", 0)),
        )
        if self.hostile_files:
            phases += (("hostile uploads", self.hostile_uploads),)
        phases += (("upload", self.upload),)
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
    # Which session is the hostile student (None: nobody), and whether it leaves out the
    # 19 MB and 4 MB files (and the Cancel), for a short test.
    hostile: int | None = None
    hostile_cheap: bool = False
    # The server's server.disconnectedSessionTTL, in seconds (the config says 120), and how
    # long to wait past it (and after one more page) before measuring memory again.
    session_ttl: int = 10
    settle_s: float = 5.0


async def student(
    browser: Browser,
    url: str,
    expected: Expected,
    plan: Plan,
    session: int,
    slots: asyncio.Semaphore,
    hostile: list[HostileFile] | None = None,
) -> SessionResult:
    """One session from start to end; any failure is recorded, never raised."""
    result = SessionResult(session)
    # Students arrive over a minute or so, not all in the same instant.
    await asyncio.sleep(session * plan.stagger)
    context = await browser.new_context(viewport=VIEWPORT)
    page = await context.new_page()
    # Every action may wait as long as the plan says (fill and press took Playwright's default
    # 30 s, too short for a page starved of CPU).
    page.set_default_timeout(plan.timeout_ms)
    page.on("pageerror", lambda error: result.errors.append(f"page error: {error}"))
    try:
        driver = Student(page, expected, result, plan.timeout_ms, hostile)
        await driver.run(url, plan.steps, slots)
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
def serve_app(log: Path, session_ttl: int | None = None) -> Iterator[tuple[str, int]]:
    """``streamlit run app.py`` with the repository's config (and ``session_ttl`` for
    ``server.disconnectedSessionTTL``, if given); yields its URL and PID. The server inherits
    this process's environment: ``make loadtest`` sets ``MALLOC_ARENA_MAX`` as ``make run``
    does."""
    port = free_port()
    command = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port)]
    if session_ttl is not None:
        command += ["--server.disconnectedSessionTTL", str(session_ttl)]
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


async def sample_rss(
    pid: int, samples: list[float], stop: asyncio.Event, load: list[float] | None = None
) -> None:
    """RSS every 0.5 s, and the machine's 1-minute load average (other work on the same
    cores shows there)."""
    while not stop.is_set():
        samples.append(rss_mb(pid))
        if load is not None:
            load.append(os.getloadavg()[0])
        await asyncio.sleep(RSS_EVERY_S)


class HealthProbe(threading.Thread):
    """Asks ``/_stcore/health`` every 0.2 s (in a thread, so the browsers' event loop does
    not delay it) and keeps every answer's start and duration; a failure counts as its
    timeout."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.url = f"{url}/_stcore/health"
        self.answers: list[tuple[float, float]] = []
        self.failures: list[str] = []
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            start = time.perf_counter()
            try:
                with urllib.request.urlopen(self.url, timeout=HEALTH_TIMEOUT_S) as response:
                    if response.read() != b"ok":
                        self.failures.append("answer was not ok")
            except OSError as error:
                self.failures.append(f"{type(error).__name__}: {error}")
            self.answers.append((start, time.perf_counter() - start))
            self.stop.wait(HEALTH_EVERY_S)


def server_metrics(url: str) -> dict:
    """From Streamlit's /_stcore/metrics: active sessions and cached entries per function
    (for ``st.cache_resource`` Streamlit reports an entry count, not bytes)."""
    with urllib.request.urlopen(f"{url}/_stcore/metrics", timeout=HEALTH_TIMEOUT_S) as response:
        text = response.read().decode()
    active = re.search(r"^active_sessions (\d+)", text, re.MULTILINE)
    entries = {
        name.rsplit(".", 1)[-1]: int(float(value))
        for name, value in re.findall(
            r'cache_memory_bytes\{cache_type="st_cache_resource",cache="([^"]+)"\} (\S+)', text
        )
    }
    return {"active_sessions": int(active.group(1)) if active else None, "cached_runs": entries}


# -- the whole test -------------------------------------------------------------------------


async def warm_up(browser: Browser, url: str, timeout_ms: int) -> None:
    """One page load first, so the baseline memory includes the app's imports and the
    default run: what remains is what the students add."""
    context = await browser.new_context(viewport=VIEWPORT)
    page = await context.new_page()
    try:
        await page.goto(url, timeout=timeout_ms)
        await page.wait_for_selector(PAGE_COMPLETE, timeout=timeout_ms)
        await page.wait_for_selector(IDLE, timeout=timeout_ms)
    except PlaywrightTimeout:
        shown = await page.locator("[data-testid='stException']").all_inner_texts()
        raise RuntimeError(f"a page did not load; it shows {shown[:1] or 'no exception'}") from None
    finally:
        await context.close()


async def drive(url: str, pid: int, sessions: int, plan: Plan) -> dict:
    expected = [expected_for(i) for i in range(sessions)]
    hostile = hostile_files(plan.hostile_cheap) if plan.hostile is not None else None
    samples: list[float] = []
    stop = asyncio.Event()
    memory = {"started": rss_mb(pid)}
    metrics = {}
    probe = HealthProbe(url)
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        await warm_up(browser, url, plan.timeout_ms)
        memory["baseline"], cpu_before = rss_mb(pid), cpu_seconds(pid)
        metrics["baseline"] = await asyncio.to_thread(server_metrics, url)
        load: list[float] = []
        sampler = asyncio.create_task(sample_rss(pid, samples, stop, load))
        probe.start()
        start = time.perf_counter()
        slots = asyncio.Semaphore(plan.load_slots)
        results = await asyncio.gather(
            *(
                student(
                    browser,
                    url,
                    expected[i],
                    plan,
                    i,
                    slots,
                    hostile if i == plan.hostile else None,
                )
                for i in range(sessions)
            )
        )
        wall = time.perf_counter() - start
        probe.stop.set()
        await asyncio.to_thread(probe.join)
        stop.set()
        await sampler
        cpu = cpu_seconds(pid) - cpu_before
        memory["peak"] = max(samples, default=memory["baseline"])
        await after_class(browser, url, pid, plan, memory, metrics)
        await browser.close()
    summary = summarise(results, memory, wall, cpu)
    summary["health"] = health_summary(probe, None)
    summary["server_metrics"] = metrics
    summary["session_ttl_s"] = plan.session_ttl
    summary["cores"] = os.cpu_count()
    summary["load_average"] = spread(load, 1)
    if plan.hostile is not None and plan.hostile < sessions:
        summary["hostile"] = hostile_summary(results, plan.hostile, probe)
    return summary


async def after_class(
    browser: Browser, url: str, pid: int, plan: Plan, memory: dict, metrics: dict
) -> None:
    """Memory once every student has closed its tab: at once, after the server's
    disconnected-session TTL, and after one more page was opened and closed (Streamlit
    drops expired sessions only when it stores another one)."""
    await asyncio.sleep(1.0)  # the server hears of the last closed tab
    memory["closed"] = rss_mb(pid)
    metrics["closed"] = await asyncio.to_thread(server_metrics, url)
    await asyncio.sleep(plan.session_ttl + plan.settle_s)
    memory["after_ttl"] = rss_mb(pid)
    metrics["after_ttl"] = await asyncio.to_thread(server_metrics, url)
    try:
        await warm_up(browser, url, plan.timeout_ms)
    except RuntimeError as error:  # the class's numbers matter more than this one
        metrics["one_more_page_error"] = str(error)
    await asyncio.sleep(plan.settle_s)
    memory["after_one_more_page"] = rss_mb(pid)
    metrics["after_one_more_page"] = await asyncio.to_thread(server_metrics, url)


def spread(values: list[float], digits: int = 0) -> dict[str, float | None]:
    if not values:
        return {"median": None, "worst": None}
    return {"median": round(statistics.median(values), digits), "worst": round(max(values), digits)}


def health_summary(probe: HealthProbe, window: tuple[float, float] | None) -> dict:
    """The health probe's answers, all of them or those asked within ``window``."""
    times = [
        seconds * 1000
        for start, seconds in probe.answers
        if window is None or window[0] <= start <= window[1]
    ]
    return {"answers": len(times), **spread(times), "failures": probe.failures[:5]}


def hostile_summary(results: list[SessionResult], hostile: int, probe: HealthProbe) -> dict:
    """What the hostile student saw, and how the others fared while it uploaded."""
    result = results[hostile]
    window = result.hostile_window
    others = [
        ms
        for r in results
        if r.session != hostile
        for at, ms in zip(r.step_at, r.step_server_ms, strict=False)
        if window is not None and window[0] <= at <= window[1]
    ]
    return {
        "session": hostile,
        "files": result.hostile,
        "seconds": round(window[1] - window[0], 1) if window else None,
        "requested_example_invalid": result.hostile_fetched,
        "others_steps_during": len(others),
        "others_step_server_ms_during": spread(others),
        "health_during": health_summary(probe, window) if window else None,
    }


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
        try:
            with serve_app(log, plan.session_ttl) as (url, pid):
                summary = asyncio.run(drive(url, pid, sessions, plan))
        except Exception:
            print(log.read_text(errors="replace")[-3000:], file=sys.stderr)  # the server's side
            raise
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
        f" page, {rss['peak']} MB peak (+{summary['server_rss_per_session_mb']} MB per"
        " session)",
        f"  after the class      {rss['closed']} MB when every tab had closed,"
        f" {rss['after_ttl']} MB after the {summary['session_ttl_s']} s session TTL,"
        f" {rss['after_one_more_page']} MB after one more page",
        f"  cached runs          {summary['server_metrics']['after_one_more_page']['cached_runs']}",
        f"server CPU             {summary['server_cpu_s']} s on {summary['cores']} cores;"
        f" machine load average median {summary['load_average']['median']}, worst"
        f" {summary['load_average']['worst']} (browsers, server and any other work)",
        f"health probe           median {summary['health']['median']} ms, worst"
        f" {summary['health']['worst']} ms ({summary['health']['answers']} answers,"
        f" {len(summary['health']['failures'])} failed)",
    ]
    hostile = summary.get("hostile")
    if hostile:
        during, health = hostile["others_step_server_ms_during"], hostile["health_during"]
        lines += [
            f"hostile student        session {hostile['session']}, {hostile['seconds']} s of"
            " uploads:",
            *(
                f"  {f['file']:<24} {f['seconds']:>5} s  {f['outcome']}: {f['sentence'][:90]}"
                + (
                    f" ({f['after_cancel_s']} s after Cancel, pressed at"
                    f" {f['cancel_pressed_while']!r})"
                    if f["after_cancel_s"] is not None
                    else ""
                )
                + (f"  PROBLEMS: {f['problems']}" if f["problems"] else "")
                for f in hostile["files"]
            ),
            f"  meanwhile: others' step, server answer median {during['median']} ms, worst"
            f" {during['worst']} ms ({hostile['others_steps_during']} clicks); health worst"
            f" {health['worst'] if health else None} ms"
            f" ({health['answers'] if health else 0} answers)",
            f"  requests to example.invalid: {len(hostile['requested_example_invalid'])}",
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
    parser.add_argument(
        "--hostile-session",
        type=int,
        help="which session uploads the hostile files (default: a third of the way through)",
    )
    parser.add_argument("--no-hostile", action="store_true", help="no hostile student")
    parser.add_argument(
        "--session-ttl",
        type=int,
        default=10,
        help="the server's disconnectedSessionTTL in seconds (the config's is 120)",
    )
    args = parser.parse_args()
    hostile = args.hostile_session if args.hostile_session is not None else args.sessions // 3
    plan = Plan(
        args.steps,
        args.stagger,
        load_slots=args.load_slots,
        hostile=None if args.no_hostile else hostile,
        session_ttl=args.session_ttl,
    )
    summary = run_load_test(args.sessions, plan)
    print_summary(summary)
    if args.json:
        args.json.write_text(json.dumps(summary, indent=2))
    failed = (
        summary["errors"]
        or summary["isolation_errors"]
        or summary["server_tracebacks"]
        or summary["health"]["failures"]
    )
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
