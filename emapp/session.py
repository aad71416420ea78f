"""The glue between ``st.session_state`` and the pure :class:`~emapp.state.ViewState`.

Per session the state holds a :class:`ViewState` (a few integers) and a reference to the
cached :class:`~emapp.runs.PreparedRun` on screen; nothing else, so nothing grows.
Button presses are callbacks: they run before the script, so the whole page, including
which buttons are enabled, is drawn from the updated state.
"""

from __future__ import annotations

import time

import streamlit as st

from emapp.player import stopped_report
from emapp.runs import PreparedRun
from emapp.state import ViewState

VIEW = "em_view"
RUN = "em_run"
SPEED = "speed"
SCRUB = "scrub"


def current_view(run: PreparedRun) -> ViewState:
    """The view for ``run``; a fresh one (a clean reset) when the settings changed."""
    view: ViewState | None = st.session_state.get(VIEW)
    if view is None or view.settings_key != run.key:
        token = view.play_token if view is not None else 0
        view = ViewState(settings_key=run.key, last=run.timeline.last, play_token=token)
        st.session_state[VIEW] = view
    st.session_state[RUN] = run
    return view


def _view_and_run() -> tuple[ViewState, PreparedRun] | None:
    view, run = st.session_state.get(VIEW), st.session_state.get(RUN)
    if view is None or run is None or view.settings_key != run.key:
        return None
    return view, run


def apply_action(action: str) -> None:
    """Button callback: move the cursor (``action`` is a :data:`ACTIONS` key)."""
    pair = _view_and_run()
    if pair is None:
        return
    view, run = pair
    timeline = run.timeline
    if action == "reset":
        st.session_state[VIEW] = ViewState(run.key, timeline.last, play_token=view.play_token)
    elif action == "play":
        view.play(time.monotonic())
    elif action == "pause":
        apply_stopped()  # the browser's exact frame, if it reported one with this click
        view.pause(time.monotonic(), st.session_state.get(SPEED, 12))
    elif action == "run":
        view.run_to_convergence(timeline)
    else:
        {"e_step": view.e_step, "m_step": view.m_step, "step": view.step}[action](timeline)


def apply_scrub() -> None:
    """Scrub slider callback."""
    pair = _view_and_run()
    if pair is not None:
        pair[0].scrub(int(st.session_state[SCRUB]))


def apply_stopped() -> None:
    """Player callback: the browser stopped playback; continue from the frame it showed."""
    pair, report = _view_and_run(), stopped_report()
    if pair is None or report is None:
        return
    view, _ = pair
    if view.playing and report.get("token") == view.play_token:
        view.stop_at(int(report["index"]))
