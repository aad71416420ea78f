"""The in-browser player: ``st.components.v2`` components that drive the chart.

Two components share one script (``player.js``) and one registry in the page:

- the *player*, above the chart, shows the status line ("Iteration 3 · E-step done", the
  log-likelihood, and notes on empty, collapsed or converged components) and moves the
  chart to the state Python asks for with ``Plotly.animate``. Play runs in the browser with
  no rerun per frame; when playback stops (Pause, or the end of the run) it reports
  ``{"token", "index"}`` as its ``stopped`` state;
- the *table*, below the chart, shows the weights, means and covariances of whatever state
  the chart shows, including during playback.

The player says only what the run's state descriptions say
(:class:`~emapp.build.describe.StateDescription`, computed once per run as
:attr:`emapp.build.prepare.PreparedRun.descriptions`), sent with
:func:`~emapp.build.describe.browser_text`.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from pathlib import Path

import streamlit as st

from emapp.build.describe import box_sentences, browser_text, with_refusal
from emapp.build.figures import Layout, axis_ends, panel_layouts
from emapp.build.prepare import PreparedRun
from emapp.build.state import ViewState, play_sequence, step_rules

KEY = "player"
TABLE_KEY = "parameter_table"
CHART_KEY = "em-chart"
PAUSE_KEY = "pause"
# Buttons whose effect the browser shows on the click, before the rerun confirms it.
STEP_KEYS = ("e_step", "m_step", "step", "run", "reset")
# A single M-step glides for this long: long enough to see the ellipses move, short enough
# not to feel slow; within a Step the new colours follow after STEP_HOLD_MS.
STEP_MS = 260
STEP_HOLD_MS = 120
# Share of an iteration's time for the M-step's glide; the rest shows the E-step's colours.
# Slow playback splits it evenly so the two halves are easy to tell apart.
GLIDE_SHARE_FAST = 0.65
GLIDE_SHARE_SLOW = 0.5
SLOW_SPEED = 2.0

PLAY_KEY = "play"
# The keyboard: a key presses the button with this key, exactly as a click does (the
# browser moves the chart and sends the state it went to; see player.js). Space presses
# Play or Pause, the arrows move one state back or forward.
KEY_BUTTONS = {"e": "e_step", "m": "m_step", "s": "step", "r": "reset"}
# The "?" beside the status line opens what every button above the chart does, with its key:
# the buttons have no tooltips (see emapp/ui/controls.py, BUTTONS). (key, button, what it does)
BUTTON_HELP = (
    ("e", "E-step", "recolour the points: how much does each component explain each point?"),
    ("m", "M-step", "move the components to fit the points they are responsible for."),
    ("s", "Step", "one full iteration, E-step and M-step, ending with fresh colours."),
    ("space", "Play / Pause", "animate the iterations to convergence; stop on the one on screen."),
    ("", "Run to convergence", "jump to the end of the run."),
    ("r", "Reset", "back to the starting point (same data, same start)."),
    (
        "",
        "Re-seed",
        "offered for a stuck component: move it to the point the mixture explains worst, "
        "with a fresh round covariance, and carry on. The curve marks it.",
    ),
    ("← →", "", "one state back / forward."),
    ("?", "", "show or hide this list."),
)


def help_row(key: str, button: str, does: str) -> str:
    """One line of the "?" list, as HTML: the key, the button's name, what it does."""
    keys = f"<kbd>{html.escape(key)}</kbd>" if key else '<span class="em-nokey"></span>'
    name = f"<b>{html.escape(button)}</b>: " if button else ""
    return f'<div class="em-keys-row">{keys}<span>{name}{html.escape(does)}</span></div>'


_JS = (Path(__file__).with_name("player.js")).read_text(encoding="utf-8")
_FONT = 'font-family: var(--st-font, "Source Sans Pro", sans-serif); color: var(--st-text-color);'
_PLAYER_HTML = """
<div class="em-status" role="status">
  <div class="em-line">
    <span class="em-iteration">Iteration 0 · starting point</span>
    <span class="em-loglik"></span>
    <details class="em-keys">
      <summary title="What the buttons do, and their keys"
        aria-label="What the buttons do, and their keys">?</summary>
      <div class="em-keys-list">
        <div class="em-keys-title">Buttons and keys (keys work when not typing in a box)</div>
        {rows}
      </div>
    </details>
  </div>
  <div class="em-notes"></div>
  <div class="em-notes-probe" aria-hidden="true"></div>
</div>
""".replace(
    "{rows}",
    "\n        ".join(help_row(*row) for row in BUTTON_HELP),
)
_PLAYER_CSS = f"""
/* One height in every state, so the chart below never moves: the state on one line in type
   the back of the room reads; under it the log-likelihood, and beside that the notes in a
   box of one height (it scrolls when they are many). That height is what the run's tallest
   note needs at the box's width, and at least the log-likelihood's two lines: player.js
   measures it (fitNotes) into --em-notes-fit; the clamp only stands in until then. */
.em-status {{ {_FONT} --em-notes-height: var(--em-notes-fit, clamp(5.8rem, 12.5vh, 7.5rem));
  padding: 0; position: relative;
  container-type: inline-size; display: grid; column-gap: 1rem; row-gap: 0.15rem;
  grid-template-columns: 17rem minmax(0, 1fr) auto;
  grid-template-rows: auto var(--em-notes-height); align-items: start; }}
.em-line {{ display: contents; }}
.em-iteration {{ grid-area: 1 / 1 / 2 / 3; font-size: clamp(1.9rem, 5cqi, 2.5rem);
  line-height: 1.2; font-weight: 700; letter-spacing: -0.01em; white-space: nowrap; }}
/* Two lines at most, whatever the number (" (before this M-step)" goes on the second). */
.em-loglik {{ grid-area: 2 / 1; font-size: 1.35rem; line-height: 1.3; color: #3B4A6B;
  font-variant-numeric: tabular-nums; text-wrap: balance; }}
.em-line > .em-keys {{ grid-area: 1 / 3; }}
.em-keys {{ margin-left: auto; position: relative; align-self: center; }}
.em-keys summary {{ list-style: none; cursor: pointer; width: 2rem; height: 2rem;
  border-radius: 50%; border: 2px solid #9AA3B5; color: #3B4A6B; font-weight: 700;
  font-size: 1.1rem; display: flex; align-items: center; justify-content: center; }}
.em-keys summary::-webkit-details-marker {{ display: none; }}
.em-keys-list {{ position: absolute; right: 0; top: 2.4rem; z-index: 1000;
  width: min(30rem, 80vw); background: #FFFFFF; border: 1px solid #D5DAE5;
  border-radius: 0.5rem; padding: 0.6rem 0.8rem; box-shadow: 0 4px 16px rgba(31, 36, 48, 0.15);
  font-size: 1.02rem; line-height: 1.35; }}
.em-keys-row {{ display: grid; grid-template-columns: 3.6rem 1fr; align-items: baseline;
  margin: 0.3rem 0; }}
.em-keys-title {{ font-weight: 700; margin-bottom: 0.2rem; }}
.em-keys kbd {{ display: inline-block; min-width: 1.6rem; text-align: center; padding: 0 0.35rem;
  border: 1px solid #9AA3B5; border-bottom-width: 2px; border-radius: 0.3rem;
  font-family: inherit; background: #F3F5FA; margin-right: 0.4rem; }}
/* More notes than fit scroll, a note at a time, with a thin scrollbar. Scrollbars that only
   show while scrolling (a Mac's, a touch screen's) would not say there is more: while the
   box can scroll further its foot fades out, cutting no line silently; at the end it does
   not, and a box with nothing to scroll never fades (its scroll timeline is inactive). */
.em-notes {{ grid-area: 2 / 2 / 3 / 4; display: flex; flex-direction: column; gap: 0.25rem;
  height: var(--em-notes-height); overflow-y: auto; scrollbar-width: thin;
  scrollbar-color: #7A849A #E6E9F0; scroll-snap-type: y proximity; }}
@supports (animation-timeline: scroll()) {{
  .em-notes {{ animation: em-more-below linear both; animation-timeline: scroll(self); }}
  /* "more" at the foot, taking no room of its own (hidden where nothing scrolls). */
  .em-notes::after {{ content: "more \\25BE"; position: sticky; bottom: 0; flex: none;
    align-self: flex-end; margin-top: -1.7rem; padding: 0 0.5rem; border-radius: 0.6rem;
    background: #3B4A6B; color: #FFFFFF; font-size: 0.9rem; line-height: 1.4rem;
    pointer-events: none; opacity: 0; animation: em-more-word linear both;
    animation-timeline: scroll(nearest); }}
}}
@keyframes em-more-below {{
  0%, 96% {{ mask-image: linear-gradient(#000 calc(100% - 1.7rem), rgba(0, 0, 0, 0.12)); }}
  100% {{ mask-image: none; }}
}}
@keyframes em-more-word {{ 0%, 96% {{ opacity: 1; }} 100% {{ opacity: 0; }} }}
.em-note {{ flex: none; font-size: 1.02rem; line-height: 1.3; padding: 0.25rem 0.7rem;
  border-radius: 0.4rem; scroll-snap-align: start; }}
/* Where fitNotes lays the run's notes out, unseen, as wide as the box and with the room a
   scrollbar takes in it, to measure them. */
.em-notes-probe {{ position: absolute; left: 0; top: 0; height: 0; visibility: hidden;
  pointer-events: none; display: flex; flex-direction: column; overflow-x: hidden;
  overflow-y: scroll; scrollbar-width: thin; }}
/* A phone: everything under each other, as long as it needs (the page scrolls there). */
@container (max-width: 560px) {{ .em-iteration {{ white-space: normal; }} }}
@media (max-width: 640px) {{
  .em-status {{ grid-template-columns: minmax(0, 1fr) auto; grid-template-rows: none; }}
  .em-iteration {{ grid-area: 1 / 1; white-space: normal; }}
  .em-line > .em-keys {{ grid-area: 1 / 2; }}
  .em-loglik {{ grid-area: 2 / 1 / 3 / 3; }}
  .em-notes {{ grid-area: 3 / 1 / 4 / 3; height: auto; }}
}}
.em-note.warning {{ background: #FFF4E5; color: #7A4100; border-left: 5px solid #F08C00; }}
.em-note.success {{ background: #EBFBEE; color: #1B5E20; border-left: 5px solid #2B8A3E; }}
.em-note.info {{ background: #E7F5FF; color: #14406B; border-left: 5px solid #1C7ED6; }}
"""
_TABLE_HTML = """
<div class="em-table-view">
  <div class="em-table-title"></div>
  <div class="em-table-scroll">
    <table class="em-table"><thead></thead><tbody></tbody></table>
  </div>
  <div class="em-table-caption"></div>
</div>
"""
_TABLE_CSS = f"""
.em-table-view {{ {_FONT} }}
.em-table-title {{ font-size: 1.35rem; font-weight: 700; margin: 0.2rem 0 0.5rem 0; }}
.em-table-scroll {{ overflow-x: auto; }}
.em-table {{ border-collapse: collapse; width: 100%; font-size: 1.08rem;
  font-variant-numeric: tabular-nums; }}
.em-table th {{ text-align: right; font-weight: 600; color: #3B4A6B; padding: 0.35rem 0.45rem;
  border-bottom: 2px solid #D5DAE5; vertical-align: bottom; }}
.em-table td {{ text-align: right; padding: 0.35rem 0.45rem; border-bottom: 1px solid #E3E7EF; }}
.em-table th:first-child, .em-table td:first-child {{ text-align: left; }}
.em-swatch {{ display: inline-block; min-width: 2.2rem; padding: 0.1rem 0.5rem;
  border-radius: 0.4rem; color: #fff; font-weight: 700; text-align: center; }}
.em-table-caption {{ font-size: 0.95rem; color: #5C667A; margin-top: 0.4rem; }}
/* Beside the explanation panel at 1024 x 768 the column is about 370 px: seven columns of
   numbers then scrolled sideways and hid the covariances, so narrow columns set tighter. */
.em-table-view {{ container-type: inline-size; }}
@container (max-width: 520px) {{
  .em-table {{ font-size: 0.94rem; }}
  .em-table th, .em-table td {{ padding: 0.3rem 0.2rem; }}
  .em-swatch {{ min-width: 1.6rem; padding: 0.1rem 0.3rem; }}
}}
"""

_player = st.components.v2.component("emapp_player", html=_PLAYER_HTML, css=_PLAYER_CSS, js=_JS)
_table = st.components.v2.component("emapp_table", html=_TABLE_HTML, css=_TABLE_CSS, js=_JS)


def frame_timing(speed: float) -> tuple[int, int]:
    """Milliseconds of the M-step glide and of the E-step hold, for ``speed`` it/s.

    Only M states move anything (a few ellipse outlines, tweened); E states recolour every
    point at once, because tweening thousands of points would cost more than the frame.
    """
    iteration_ms = 1000.0 / speed
    share = GLIDE_SHARE_SLOW if speed <= SLOW_SPEED else GLIDE_SHARE_FAST
    glide = int(iteration_ms * share)
    return glide, int(iteration_ms) - glide


def trace_indices(n_components: int) -> dict:
    """Where the figure's traces are (see :class:`emapp.build.figures.Layout`)."""
    layout = Layout(n_components)
    return {
        "points": layout.points(),
        "ellipses": [layout.ellipse(k, level) for k in range(n_components) for level in range(3)],
        "means": layout.means,
        "curve": layout.curve,
        "current": layout.current,
    }


def player_data(
    run: PreparedRun,
    view: ViewState,
    speed: float,
    rerun: int = 0,
    ask_for_page: bool = False,
    refusal: str | None = None,
) -> dict:
    """Everything the browser needs, all small (the frames themselves are in the chart).

    The words of every state come from the run's descriptions; the rest says where to go,
    how fast, and which keys and traces to look for.
    ``rerun`` differs on every run of the panel, so the browser hears from every rerun even
    when nothing else changed: after a playback the server's cursor always wins.
    ``ask_for_page``: the page is the chart-first one, and the browser should ask for the
    rest once the chart is drawn.
    ``refusal``: why the last press did nothing, said first in the notes of the state on
    screen (this once).
    """
    timeline = run.timeline
    glide_ms, hold_ms = frame_timing(speed)
    start = view.play_from if view.playing else view.cursor
    return {
        "role": "player",
        "rerun": rerun,
        "ask_for_page": ask_for_page,
        "chart": CHART_KEY,
        "pause_key": PAUSE_KEY,
        "step_keys": list(STEP_KEYS),
        "step_ahead": step_rules(),  # the browser steps by Python's own table
        "play_key": PLAY_KEY,
        "key_buttons": KEY_BUTTONS,
        "furthest": view.furthest,
        "axis_ends": axis_ends(timeline),
        "panels": panel_layouts(run.figure.to_dict()["layout"]),  # stacked on a phone
        "version": run.version,
        "target": start,
        "playing": view.playing,
        "token": view.play_token,
        "sequence": play_sequence(timeline, start) if view.playing else [],
        "glide_ms": glide_ms,
        "hold_ms": hold_ms,
        "step_ms": STEP_MS,
        "step_hold_ms": STEP_HOLD_MS,
        **with_refusal(browser_text(run.descriptions), view.cursor, refusal),
        "box_sentences": box_sentences(run.descriptions),  # what the notes' box must fit
        "traces": trace_indices(timeline.states[0].params.n_components),
    }


def render_player(
    data: dict,
    on_stopped: Callable[[], None],
    on_request: Callable[[], None],
    on_page: Callable[[], None],
) -> None:
    """Mount the player (status line) with ``data``; ``on_stopped`` runs when the browser
    reports where playback stopped, ``on_request`` when it asks for a state (a step), and
    ``on_page`` when it asks for the rest of a chart-first page."""
    _player(
        key=KEY,
        data=data,
        default={"stopped": None, "request": None},
        on_stopped_change=on_stopped,
        on_request_change=on_request,
        on_page_change=on_page,
    )


def render_table(data: dict) -> None:
    """Mount the parameter table, which follows the state the chart shows."""
    _table(key=TABLE_KEY, data=data)


def browser_report(name: str) -> dict | None:
    """The browser's latest ``name`` report (a dict with an integer ``index``), if any."""
    value = st.session_state.get(KEY)
    report = value.get(name) if hasattr(value, "get") else None
    if isinstance(report, dict) and isinstance(report.get("index"), int):
        return report
    return None


def stopped_report() -> dict | None:
    """Where the browser's playback stopped: ``{"token", "index"}``."""
    return browser_report("stopped")


def step_request() -> dict | None:
    """The state a stepping button asked for in the browser: ``{"index", "seq"}``.

    The browser moves the chart on the click and sends the state it went to as the
    component's value rather than letting the button's click through: a value cannot be
    lost when reruns pile up under load, a click can.
    """
    return browser_report("request")


# -- placing the start by clicking ---------------------------------------------------------
# A third component on the same script: on the page that shows the data alone while the
# means are placed by clicking, it says how many are left and turns each click on the chart
# into the next mean (``placeMeans`` in player.js). It reports every click so far as its
# ``placed`` state: ``{"token", "points"}``.

PLACER_KEY = "placer"
PLACE_CHART_KEY = "em-place-chart"
_PLACER_HTML = """
<div class="em-status" role="status">
  <div class="em-line"><span class="em-iteration em-place-status"></span></div>
</div>
"""
_placer = st.components.v2.component("emapp_placer", html=_PLACER_HTML, css=_PLAYER_CSS, js=_JS)


def render_placer(data: dict, on_placed: Callable[[], None]) -> None:
    """Mount the placer with ``data`` (role "placer"); ``on_placed`` runs on every click."""
    _placer(key=PLACER_KEY, data=data, default={"placed": None}, on_placed_change=on_placed)


def placed_report() -> dict | None:
    """The browser's latest clicks: ``{"token": str, "points": [[x, y], ...]}``, if any."""
    value = st.session_state.get(PLACER_KEY)
    report = value.get("placed") if hasattr(value, "get") else None
    return report if isinstance(report, dict) else None
