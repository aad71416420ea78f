"""The glue between ``st.session_state`` and the pure :class:`~emapp.build.state.ViewState`.

Per session the state holds a :class:`ViewState` (a few integers) and a reference to the
cached :class:`~emapp.build.prepare.PreparedRun` on screen; nothing else, so nothing grows.
Button presses are callbacks: they run before the script, so the whole page, including
which buttons are enabled, is drawn from the updated state.
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import TYPE_CHECKING

import streamlit as st

from emapp.build.links import DEFAULT_SPEED
from emapp.build.prepare import PreparedRun
from emapp.build.state import ViewState
from emapp.ui.player import step_request, stopped_report

if TYPE_CHECKING:
    from emapp.ui.sidebar import Settings

VIEW = "em_view"
RUN = "em_run"
SPEED = "speed"
SCRUB = "scrub"  # prefix of the scrub slider's keys
RESEEDS = "em_reseeds"  # (settings without re-seeds, the re-seeds pressed for them)
RESUME = "em_resume"  # the state to show once the re-seeded run is on screen
RESEED_PENDING = "em_reseed_pending"
# Each re-seed replays the run with one more repair: a cap keeps that work bounded.
MAX_RESEEDS = 20
# A sentence for the top of the notes box, once (what the sidebar said below the fold).
CHART_NOTE = "em_chart_note"
NOTED = "em_chart_noted"


def leave_chart_note(sentence: str, about: object) -> None:
    """Show ``sentence`` once, first in the notes under the buttons, for the thing ``about``
    (a file's id): the next rerun about the same thing does not show it again."""
    if st.session_state.get(NOTED) != about:
        st.session_state[NOTED] = about
        st.session_state[CHART_NOTE] = sentence


def take_chart_note() -> str | None:
    """The sentence left for the notes box, if any; it is shown once."""
    return st.session_state.pop(CHART_NOTE, None)


def current_view(run: PreparedRun) -> ViewState:
    """The view for ``run``; a fresh one (a clean reset) when the settings changed."""
    view: ViewState | None = st.session_state.get(VIEW)
    if view is None or view.settings_key != run.key:
        # Counters carry over, so nothing the browser sent for the old view is replayed.
        token = view.play_token if view is not None else 0
        seq = view.request_seq if view is not None else 0
        view = ViewState(run.key, run.timeline.last, play_token=token, request_seq=seq)
        resume = st.session_state.pop(RESUME, None)
        if resume is not None:  # a re-seed: the same run up to here, so carry on from here
            view.move_to(resume)
        st.session_state[VIEW] = view
    st.session_state[RUN] = run
    return view


def _view_and_run() -> tuple[ViewState, PreparedRun] | None:
    view, run = st.session_state.get(VIEW), st.session_state.get(RUN)
    if view is None or run is None or view.settings_key != run.key:
        return None
    return view, run


def apply_action(action: str) -> None:
    """Button callback: move the cursor (``action`` is a key of
    :data:`emapp.ui.controls.BUTTONS`)."""
    pair = _view_and_run()
    if pair is None:
        return
    view, run = pair
    timeline = run.timeline
    if action == "reset" and clear_reseeds():
        return  # back to the run without repairs: a new run, drawn by a full rerun
    if action == "reset":
        st.session_state[VIEW] = ViewState(
            run.key, timeline.last, play_token=view.play_token, request_seq=view.request_seq
        )
    elif action == "play":
        view.play(time.monotonic())
    elif action == "pause":
        apply_stopped()  # the browser's exact frame, if it reported one with this click
        view.pause(time.monotonic(), st.session_state.get(SPEED, DEFAULT_SPEED))
    else:  # a stepping button: E-step, M-step, Step, Run to convergence
        view.press(timeline, action)


def apply_scrub(key: str) -> None:
    """Scrub slider callback (``key`` is the slider's, which changes with the cursor)."""
    pair = _view_and_run()
    if pair is not None:
        pair[0].scrub(int(st.session_state[key]))


def apply_request() -> None:
    """Player callback: a stepping button moved the chart in the browser; follow it."""
    pair, request = _view_and_run(), step_request()
    if pair is None or request is None:
        return
    view, run = pair
    seq = request.get("seq")
    if view.playing or request.get("version") != run.version or not isinstance(seq, int):
        return  # a request from another run, or overtaken by Play
    if seq <= view.request_seq:
        return  # already followed: Streamlit may hand the same value to a later rerun
    view.request_seq = seq
    view.refused = None
    view.move_to(int(request["index"]))


def apply_stopped() -> None:
    """Player callback: the browser stopped playback; continue from the frame it showed."""
    pair, report = _view_and_run(), stopped_report()
    if pair is None or report is None:
        return
    view, _ = pair
    if view.playing and report.get("token") == view.play_token:
        view.stop_at(int(report["index"]))


# -- re-seeding a collapsed or empty component ----------------------------------------------


def settings_base(settings: Settings) -> str:
    """Everything that defines the run except the re-seeds (and the play speed)."""
    return repr(replace(settings, speed=0.0))


def with_reseeds(settings: Settings) -> Settings:
    """``settings`` with the re-seeds pressed for them; other settings start with none."""
    base = settings_base(settings)
    stored = st.session_state.get(RESEEDS)
    if stored is None or stored[0] != base:
        st.session_state[RESEEDS] = stored = (base, ())
    return replace(settings, model=replace(settings.model, reseeds=stored[1]))


def request_reseed(component: int) -> None:
    """Button callback: re-seed ``component`` at the state on screen and continue from it."""
    pair, stored = _view_and_run(), st.session_state.get(RESEEDS)
    if pair is None or stored is None:
        return
    view, _ = pair
    if len(stored[1]) >= MAX_RESEEDS:
        return  # the button is not offered then (see reseeds_left)
    st.session_state[RESEEDS] = (stored[0], (*stored[1], (view.cursor, component)))
    # The new run equals the old one up to the cursor; then come the moved component and
    # its E-step: show that E-step.
    st.session_state[RESUME] = view.cursor + 2
    st.session_state[RESEED_PENDING] = True


def clear_reseeds() -> bool:
    """Forget the re-seeds of the current settings; whether there were any."""
    stored = st.session_state.get(RESEEDS)
    if stored is None or not stored[1]:
        return False
    st.session_state[RESEEDS] = (stored[0], ())
    st.session_state[RESEED_PENDING] = True
    return True


def reseeds_left() -> int:
    stored = st.session_state.get(RESEEDS)
    return MAX_RESEEDS - (len(stored[1]) if stored is not None else 0)


def take_reseed_request() -> bool:
    """Whether a re-seed was just requested (the whole page must then run again)."""
    return bool(st.session_state.pop(RESEED_PENDING, False))


# -- chart first ---------------------------------------------------------------------------
# A session's first run sends the header, the stepping panel and the chart only; the browser
# asks for the rest (sidebar, table, explanation, tabs) once the chart is drawn, so drawing
# the chart does not share the browser with thirty other widgets (see README, "The teaching
# app"). Every later run draws the whole page.
PAGE_RUNS = "em_page_runs"
PAGE_REQUESTED = "em_page_requested"


def chart_first(allowed: bool = True) -> bool:
    """Whether this run of the whole script is the session's first (count it); when not
    ``allowed`` (a shared link: its settings are not the defaults) the whole page is drawn
    at once."""
    if not allowed:
        st.session_state[PAGE_RUNS] = 2
        return False
    runs = st.session_state.get(PAGE_RUNS, 0)
    st.session_state[PAGE_RUNS] = min(runs + 1, 2)  # only "first", "second" and "later" matter
    return runs == 0


def page_pending() -> bool:
    """Whether the page on screen is still the chart-first one, waiting for the rest."""
    return st.session_state.get(PAGE_RUNS, 0) <= 1


def request_page() -> None:
    """Player callback: the chart is drawn, so the rest of the page may come."""
    st.session_state[PAGE_REQUESTED] = True


def take_page_request() -> bool:
    """Whether the browser just asked for the rest of the page (the whole script must run)."""
    return bool(st.session_state.pop(PAGE_REQUESTED, False))
