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

from collections.abc import Callable
from pathlib import Path

import streamlit as st

from emapp.build.describe import browser_text
from emapp.build.figures import Layout
from emapp.build.prepare import PreparedRun
from emapp.build.state import ViewState, play_sequence

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

_JS = (Path(__file__).with_name("player.js")).read_text(encoding="utf-8")
_FONT = 'font-family: var(--st-font, "Source Sans Pro", sans-serif); color: var(--st-text-color);'
_PLAYER_HTML = """
<div class="em-status" role="status">
  <div class="em-line">
    <span class="em-iteration">Iteration 0 · starting point</span>
    <span class="em-loglik"></span>
  </div>
  <div class="em-notes"></div>
</div>
"""
_PLAYER_CSS = f"""
.em-status {{ {_FONT} padding: 0 0 0.2rem 0; }}
.em-line {{ display: flex; flex-wrap: wrap; align-items: baseline; gap: 0.3rem 2rem; }}
.em-iteration {{ font-size: 2.1rem; font-weight: 700; letter-spacing: -0.01em; }}
.em-loglik {{ font-size: 1.35rem; color: #3B4A6B; font-variant-numeric: tabular-nums; }}
.em-notes {{ display: flex; flex-direction: column; gap: 0.35rem; margin-top: 0.3rem; }}
.em-note {{ font-size: 1.05rem; line-height: 1.35; padding: 0.45rem 0.8rem;
  border-radius: 0.5rem; }}
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
) -> dict:
    """Everything the browser needs, all small (the frames themselves are in the chart).

    The words of every state come from the run's descriptions; the rest says where to go,
    how fast, and which keys and traces to look for.
    ``rerun`` differs on every run of the panel, so the browser hears from every rerun even
    when nothing else changed: after a playback the server's cursor always wins.
    ``ask_for_page``: the page is the chart-first one, and the browser should ask for the
    rest once the chart is drawn.
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
        "version": run.version,
        "target": start,
        "playing": view.playing,
        "token": view.play_token,
        "sequence": play_sequence(timeline, start) if view.playing else [],
        "glide_ms": glide_ms,
        "hold_ms": hold_ms,
        "step_ms": STEP_MS,
        "step_hold_ms": STEP_HOLD_MS,
        **browser_text(run.descriptions),
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
