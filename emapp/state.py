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

Everything here is small: a few integers and strings, whatever the size of the data.
"""

from __future__ import annotations

from dataclasses import dataclass

from emapp.timeline import Timeline


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
    notice : str or None
        A one-off sentence for the last button press that did nothing (e.g. "converged").
    request_seq : int
        Number of the browser's latest step request followed (see
        :func:`emapp.player.step_request`), so a repeated value is not followed twice.
    """

    settings_key: tuple
    last: int
    cursor: int = 0
    furthest: int = 0
    playing: bool = False
    play_token: int = 0
    play_from: int = 0
    play_started: float | None = None
    notice: str | None = None
    request_seq: int = 0

    # -- moving the cursor -----------------------------------------------------------------

    def move_to(self, index: int) -> None:
        self.cursor = max(0, min(index, self.last))
        self.furthest = max(self.furthest, self.cursor)

    def e_step(self, timeline: Timeline) -> None:
        self.notice = None
        if timeline.stage(self.cursor) == "E":
            self.notice = (
                "The responsibilities are already up to date: another E-step would give the "
                "same colours. Press M-step to move the components."
            )
            return
        self._advance(timeline, 1)

    def m_step(self, timeline: Timeline) -> None:
        self.notice = None
        # The engine runs the E-step first when the responsibilities are stale.
        self._advance(timeline, 1 if timeline.stage(self.cursor) == "E" else 2)

    def step(self, timeline: Timeline) -> None:
        self.notice = None
        stage = timeline.stage(self.cursor)
        self._advance(timeline, {"start": 3, "E": 2, "M": 1}[stage])

    def run_to_convergence(self, timeline: Timeline) -> None:
        self.notice = None
        if self.cursor == self.last:
            self.notice = end_sentence(timeline)
        self.move_to(self.last)

    def scrub(self, index: int) -> None:
        self.notice = None
        self.move_to(min(index, self.furthest))

    def _advance(self, timeline: Timeline, n_states: int) -> None:
        if self.cursor + n_states > self.last:
            self.notice = end_sentence(timeline)
            return
        self.move_to(self.cursor + n_states)

    # -- playback ----------------------------------------------------------------------------

    def play(self, now: float) -> None:
        """Start playing from the cursor (from the beginning if the run is already over)."""
        self.notice = None
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


def end_sentence(timeline: Timeline) -> str:
    """Why there is nothing further to show."""
    iterations = timeline.n_iterations
    if timeline.converged:
        return (
            f"EM converged at iteration {iterations}: another step would change the "
            "log-likelihood per point by less than the tolerance. Reset or change a setting "
            "to try again."
        )
    return (
        f"This run stopped at the limit of {timeline.max_iterations} iterations without "
        "converging. Reset, or try another initialisation."
    )
