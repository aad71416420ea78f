"""Panels below the chart that show the state on the chart follow it without a button.

The stepping panel is a fragment: a step reruns only it, and the browser moves the chart,
status line and table. Panels elsewhere on the page that show numbers *of the state on the
chart* would keep showing the old state: the worked example, the density map of "the state
on the chart", and the downloads of "the state on screen". So when one of them is open and
drew another state than the chart's, the stepping panel reruns the whole page
(:func:`follow_chart`); every full run records the state the page drew
(:func:`mark_drawn`). The cost is paid only while such a panel is open, and playback never
reruns anything: the page follows once it stops.
"""

from __future__ import annotations

import streamlit as st

DRAWN = "follow_drawn"  # (run key, state index) the page's panels last drew
TABS_KEY = "teaching_tab"
WORKED_TAB = "Worked example"
DENSITY_TAB = "Density"
DENSITY_SOURCE_KEY = "density_source"
EXPORT_KEY = "export_which"


def followers_open() -> bool:
    """Whether a panel showing the state on the chart is on the page."""
    state = st.session_state
    tab = state.get(TABS_KEY)
    if tab == WORKED_TAB:
        return True
    if tab == DENSITY_TAB and state.get(DENSITY_SOURCE_KEY) == "chart":
        return True
    return state.get(EXPORT_KEY) == "screen"


def mark_drawn(run_key: tuple, index: int) -> None:
    """A full run of the page drew its panels for state ``index`` of the run ``run_key``."""
    st.session_state[DRAWN] = (run_key, int(index))


def follow_chart(run_key: tuple, index: int, playing: bool) -> None:
    """In the stepping panel: rerun the whole page if a following panel shows another state.

    Only after the page drew its panels once (so never on the chart-first run) and never
    while playing (the browser animates then; the page follows when playback stops).
    """
    drawn = st.session_state.get(DRAWN)
    if playing or drawn is None or drawn == (run_key, int(index)) or not fragment_run():
        return
    if followers_open():
        st.rerun(scope="app")


def fragment_run() -> bool:
    """Whether this is a rerun of fragments only (in a full run the panels are drawn below
    anyway, after the stepping panel: rerunning then would never end)."""
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    return bool(ctx is not None and getattr(ctx, "fragment_ids_this_run", None))
