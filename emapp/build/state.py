"""What one visitor is looking at: a cursor in a precomputed :class:`Timeline` (pure Python).

The buttons move the cursor the way the EM engine would move (see :mod:`emcore.engine`):

- ``E-step`` from the start or an M state: to the next E state.
- ``M-step`` from an E state: to the next M state; from the start or an M state the engine
  does the E-step first, so the cursor moves two states.
- ``Step``: one full iteration, always ending on an E state (from the start: E, M, E).
- ``Run to convergence``: to the last state.
- Scrubbing: to any state already visited (``furthest`` is the furthest visited).
- ``Play`` hands the states after the cursor to the browser, which animates them and reports
  where it stopped; ``Pause`` stops there.

Everything here is small: a few integers and strings, whatever the size of the data. Nothing
here is in words: what the page says about a state, including why a press did nothing, is in
:mod:`emapp.build.describe`.
"""

from __future__ import annotations

from dataclasses import dataclass

from emapp.build.timeline import Timeline

# The stepping buttons that move the cursor by the rules below (Reset makes a fresh view).
STEP_ACTIONS = ("e_step", "m_step", "step", "run")
# States each button moves forward by, from each stage. The engine runs the E-step first when
# the responsibilities are stale, so an M-step from the start or an M state moves two states,
# and a Step always ends on fresh colours (an E state).
# This table is the rule's only copy: the browser moves the chart on the click by it too
# (sent as :func:`step_rules`; see player.js, stepTarget).
_AHEAD = {
    "e_step": {"start": 1, "M": 1},
    "m_step": {"start": 2, "E": 1, "M": 2},
    "step": {"start": 3, "E": 2, "M": 1},
}
# The one letter the browser knows each stage by (the player's ``stages`` string).
STAGE_LETTERS = {"start": "S", "E": "E", "M": "M"}


def stage_letter(stage: str) -> str:
    """``"S"``, ``"E"`` or ``"M"``: how the browser names the stage ``stage``."""
    return STAGE_LETTERS[stage]


def step_rules() -> dict[str, dict[str, int]]:
    """The stepping rules for the browser: states each of E-step, M-step and Step moves
    forward from each stage, by stage letter. A stage missing from a button's table is one
    it cannot move from (an E-step on fresh responsibilities)."""
    return {
        action: {stage_letter(stage): ahead for stage, ahead in rules.items()}
        for action, rules in _AHEAD.items()
    }


@dataclass
class ViewState:
    """Cursor, furthest visited state and playback status for one settings tuple.

    Attributes
    ----------
    settings_key : tuple
        The settings the timeline was computed for; a different key means "reset".
    last : int
        Index of the timeline's last state.
    cursor : int
        The state on screen.
    furthest : int
        The furthest state visited so far; the scrub slider goes up to here.
    playing : bool
        Whether the browser is animating.
    play_token : int
        Increases with every Play, so the browser can tell a new Play from a rerun.
    play_from : int
        The state the current playback started from.
    play_started : float or None
        Server time when Play was pressed (for estimating the frame if the browser does not
        report one, as in AppTest).
    refused : str or None
        The stepping button (a :data:`STEP_ACTIONS` key) whose last press did nothing, until
        the panel has said why (:attr:`emapp.build.describe.StateDescription.refusals`).
    request_seq : int
        Number of the browser's latest step request followed (see
        :func:`emapp.ui.player.step_request`), so a repeated value is not followed twice.
    """

    settings_key: tuple
    last: int
    cursor: int = 0
    furthest: int = 0
    playing: bool = False
    play_token: int = 0
    play_from: int = 0
    play_started: float | None = None
    refused: str | None = None
    request_seq: int = 0

    # -- moving the cursor -----------------------------------------------------------------

    def move_to(self, index: int) -> None:
        self.cursor = max(0, min(index, self.last))
        self.furthest = max(self.furthest, self.cursor)

    def press(self, timeline: Timeline, action: str) -> None:
        """Move the cursor as the stepping button ``action`` does (see :func:`step_target`);
        a press that cannot move it is remembered in :attr:`refused`."""
        target = step_target(timeline, self.cursor, action)
        self.refused = action if target is None else None
        if target is not None:
            self.move_to(target)

    def e_step(self, timeline: Timeline) -> None:
        self.press(timeline, "e_step")

    def m_step(self, timeline: Timeline) -> None:
        self.press(timeline, "m_step")

    def step(self, timeline: Timeline) -> None:
        self.press(timeline, "step")

    def run_to_convergence(self, timeline: Timeline) -> None:
        self.press(timeline, "run")

    def scrub(self, index: int) -> None:
        self.refused = None
        self.move_to(min(index, self.furthest))

    # -- playback ----------------------------------------------------------------------------

    def play(self, now: float) -> None:
        """Start playing from the cursor (from the beginning if the run is already over)."""
        self.refused = None
        if self.cursor >= self.last:
            self.cursor = 0
        self.playing = True
        self.play_token += 1
        self.play_from = self.cursor
        self.play_started = now

    def stop_at(self, index: int) -> None:
        """The browser stopped (paused or reached the end) on state ``index``."""
        self.playing = False
        self.play_started = None
        self.move_to(index)

    def pause(self, now: float, speed: float) -> None:
        """Pause with no report from the browser: estimate the state from the elapsed time.

        Playback shows two states (M, then E) per iteration at ``speed`` iterations per
        second. The browser normally reports the exact state; this is the fallback.
        """
        if not self.playing:
            return
        elapsed = max(0.0, now - (self.play_started or now))
        self.stop_at(self.play_from + int(elapsed * speed * 2))


def play_sequence(timeline: Timeline, start: int) -> list[int]:
    """The states the browser animates after ``start``: every half-step to the end.

    Each M state glides the ellipses to their new place and each E state recolours the
    points at once, so both halves of EM stay visible even at full speed.
    """
    return list(range(start + 1, timeline.last + 1))


def step_target(timeline: Timeline, index: int, action: str) -> int | None:
    """The state the stepping button ``action`` moves to from state ``index``.

    None when it cannot move: an E-step on fresh responsibilities, a step past the run's
    last state, or Run to convergence at the end. ``player.js`` applies the same table
    (:func:`step_rules`) on the click, before the rerun confirms it.
    """
    if action == "run":
        return None if index >= timeline.last else timeline.last
    ahead = _AHEAD[action].get(timeline.stage(index))
    if ahead is None or index + ahead > timeline.last:
        return None
    return index + ahead
