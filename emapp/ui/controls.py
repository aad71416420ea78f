"""The stepping panel above the chart: buttons, status line and scrub slider.

It is a fragment: a button press reruns only this panel, not the chart, whose figure (with
every animation frame) stays in the browser and is moved there by the player.

Every word it shows about the state on screen comes from that state's
:class:`~emapp.build.describe.StateDescription`; this module only lays the words out.
"""

from __future__ import annotations

import streamlit as st

from emapp.build.describe import StateDescription, describe_state
from emapp.build.prepare import PreparedRun
from emapp.build.state import ViewState
from emapp.ui.follow import follow_chart
from emapp.ui.player import player_data, render_player
from emapp.ui.session import (
    SCRUB,
    apply_action,
    apply_request,
    apply_scrub,
    apply_stopped,
    current_view,
    page_pending,
    request_page,
    request_reseed,
    reseeds_left,
    take_chart_note,
    take_page_request,
    take_reseed_request,
)

# key -> label. The labels are the ones the issue asks for, word for word.
# No button on the page has a tooltip (Streamlit's ``help``): Streamlit 1.67 shows a button's
# help above it for as long as the pointer rests on it, click or not, with no way to dismiss
# it, so a pressed stepping button kept its words over the page's title. What each button
# does is said in the "?" list beside the status line (emapp/ui/player.py, BUTTON_HELP).
BUTTONS: dict[str, str] = {
    "e_step": "E-step",
    "m_step": "M-step",
    "step": "Step",
    "play": "Play",
    "pause": "Pause",
    "run": "Run to convergence",
    "reset": "Reset",
}
PRIMARY = {"step", "play"}
RERUNS = "em_panel_reruns"
# The panel's rows, laid out by the page's CSS (emapp/build/text.py): the buttons share their
# row and each keeps its whole label; the scrub row keeps one height whatever it holds.
BUTTONS_KEY = "em-buttons"
SCRUB_ROW_KEY = "em-scrub-row"
RESEEDS_KEY = "em-reseeds"
SCRUB_HELP = (
    "Drag through every state computed so far, back and forth; 'E' marks an E-step, 'M' an M-step."
)


def is_disabled(key: str, playing: bool) -> bool:
    """While playing only Pause and Reset work; otherwise everything but Pause."""
    if key == "reset":
        return False
    return not playing if key == "pause" else playing


def controls_row(view: ViewState) -> None:
    """The buttons; presses are handled by callbacks before the panel is drawn again."""
    with st.container(horizontal=True, key=BUTTONS_KEY, gap="small"):
        for key, label in BUTTONS.items():
            st.button(
                label,
                key=key,
                type="primary" if key in PRIMARY else "secondary",
                disabled=is_disabled(key, view.playing),
                on_click=apply_action,
                args=(key,),
                width="content",  # as wide as its label at least (the CSS shares the row out)
            )


def scrub_slider(view: ViewState, run: PreparedRun) -> None:
    """A slider over every state visited so far (both halves of every iteration)."""
    if view.furthest == 0:
        st.caption("Take a step: every state you visit can then be scrubbed back and forth.")
        return
    # A new key whenever the cursor moves: the slider is created afresh at the cursor, and a
    # value the browser still holds for the old slider (it races the rerun under load)
    # cannot be mistaken for the student dragging it back.
    key = scrub_key(view)
    descriptions = run.descriptions
    # The label beside the slider, not over it: the row is as low as the slider itself.
    st.markdown("**Scrub**", width="content", help=SCRUB_HELP)
    st.select_slider(
        "Scrub through the iterations computed so far",
        options=list(range(view.furthest + 1)),
        value=view.cursor,
        format_func=lambda i: descriptions[i].short_label,
        key=key,
        on_change=apply_scrub,
        args=(key,),
        disabled=view.playing,
        label_visibility="collapsed",
    )


def scrub_key(view: ViewState) -> str:
    return f"{SCRUB}-{view.cursor}-{view.furthest}"


# Up to this many stuck components get a button each, labelled by number after "Re-seed:";
# more get a drop-down and one button. Either way every control fits beside the slider at
# 1024 px with the sidebar open, so none is hidden in a strip that scrolls sideways.
MAX_RESEED_BUTTONS = 4
RESEED_PICK = "reseed_pick"
RESEED_CHOSEN = "reseed_chosen"


def reseed_controls(description: StateDescription) -> None:
    """A way to re-seed each empty or collapsed component at the state on screen.

    EM never repairs a component by itself; the student decides, and the curve marks it.
    """
    if description.reseed_limit:
        st.caption(description.reseed_limit)
        return
    components = description.reseedable
    if not components:
        return
    with st.container(
        horizontal=True,
        key=RESEEDS_KEY,
        gap="small",
        width="content",
        vertical_alignment="center",
    ):
        if len(components) == 1:
            reseed_button(components[0], f"Re-seed component {components[0] + 1}")
        elif len(components) <= MAX_RESEED_BUTTONS:
            numbered_reseeds(components)
        else:
            reseed_picker(components)


def reseed_button(k: int, label: str) -> None:
    # No tooltip (see BUTTONS): what a re-seed does is in the "?" list.
    st.button(label, key=f"reseed_{k}", on_click=request_reseed, args=(k,))


def numbered_reseeds(components: tuple[int, ...]) -> None:
    """Compact buttons, one per component, named by its number (as on the chart)."""
    st.markdown("**Re-seed:**", width="content")
    for k in components:
        reseed_button(k, str(k + 1))


def reseed_picker(components: tuple[int, ...]) -> None:
    """Too many stuck components for a button each: choose one, then press Re-seed."""
    # A key per set of components: a choice made for another set cannot linger.
    key = f"{RESEED_PICK}-{'-'.join(str(k) for k in components)}"
    st.selectbox(
        "Component to re-seed",
        options=components,
        format_func=lambda k: f"Component {k + 1}",
        key=key,
        label_visibility="collapsed",
        width=170,
    )
    st.button("Re-seed", key=RESEED_CHOSEN, on_click=reseed_chosen, args=(key,))


def reseed_chosen(key: str) -> None:
    """Button callback: re-seed the component chosen in the drop-down ``key``."""
    chosen = st.session_state.get(key)
    if chosen is not None:
        request_reseed(int(chosen))


def take_refusal(view: ViewState, description: StateDescription) -> str | None:
    """Why the last press did nothing, once: the player shows it first in the notes, just
    under the buttons (a toast would cover the buttons themselves)."""
    sentence = description.refusals.get(view.refused) if view.refused is not None else None
    view.refused = None
    return sentence


@st.fragment
def stepping_panel(run: PreparedRun, speed: float) -> None:
    """Buttons, status line and scrub slider for ``run``; reruns on its own."""
    if take_reseed_request():
        st.rerun()  # a re-seed changes the run: the chart must be rebuilt, not just moved
    if take_page_request():
        st.rerun()  # the chart is drawn: now the whole page
    view = current_view(run)
    follow_chart(run.key, view.cursor, view.playing)  # panels of the state on screen follow
    description = describe_state(run.timeline, view.cursor, reseeds_left())
    refusal = take_refusal(view, description) or take_chart_note()
    controls_row(view)
    rerun = st.session_state[RERUNS] = st.session_state.get(RERUNS, 0) + 1
    data = player_data(run, view, speed, rerun, page_pending(), refusal)
    render_player(data, apply_stopped, apply_request, request_page)
    # One row of one height (see the page's CSS): the slider, or the words that stand in for
    # it, and the re-seed buttons beside it come and go without moving the chart.
    with st.container(
        horizontal=True, key=SCRUB_ROW_KEY, gap="medium", vertical_alignment="center"
    ):
        scrub_slider(view, run)
        if not view.playing:  # the state on screen changes under the buttons while playing
            reseed_controls(description)
