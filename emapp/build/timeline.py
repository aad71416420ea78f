"""A whole EM run computed up front, as the list of states the page can show.

The page never runs EM in response to a button: every half-step from the starting point to
convergence (or the iteration cap) is computed once per settings, and the buttons move a
cursor through it. EM is deterministic, so this is exactly what stepping would compute; it
lets the browser animate and scrub without asking the server.

State ``i`` is one :class:`emcore.Snapshot`: ``start -> E(0) -> M(1) -> E(1) -> M(2) -> ...``
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from emcore import EM, Event, Snapshot, e_step, initial_params

# The page's own start: the student clicks the means onto the chart (emcore's user-given
# means, with equal weights and the data's covariance).
CLICK_INIT = "click"
INIT_LABELS: dict[str, str] = {
    "random": "random (as in the blog post)",
    "random_from_data": "random data points",
    "k-means++": "k-means++",
    "kmeans": "k-means",
    "hc": "hierarchical clustering (mclust's start)",
    CLICK_INIT: "click to place the means",
}
# Enough for slow random starts, small enough that the animation frames stay a few MB.
MAX_ITERATIONS = 150
TOL = 1e-3
REG_COVAR = 1e-6


Reseed = tuple[int, int]  # (state index after which it happens, component)


@dataclass(frozen=True)
class ModelSettings:
    """The model part of the sidebar: K, covariance type, initialisation and its seed.

    ``reseeds`` lists the re-seed buttons pressed so far, as (state index, component): the
    run is replayed from the same start with those repairs at those states, so it stays a
    pure function of its settings (and a cache key).

    ``means`` are the means placed by clicking (``init == "click"``), one tuple per
    component in the units EM runs in; the run needs exactly ``n_components`` of them.
    """

    n_components: int = 3
    covariance_type: str = "full"
    init: str = "random"
    seed: int = 0
    reseeds: tuple[Reseed, ...] = ()
    means: tuple[tuple[float, ...], ...] = ()

    @property
    def placing(self) -> bool:
        """Whether the start is still being clicked into place (too few means yet)."""
        return self.init == CLICK_INIT and len(self.means) < self.n_components


@dataclass(frozen=True, eq=False)
class Timeline:
    """Every state of one EM run, plus what the page needs to describe it.

    Attributes
    ----------
    states : tuple of Snapshot
        ``start, E(0), M(1), E(1), ...``; ends with an E state.
    resp : dict of int to ndarray
        float32 responsibilities of every E state, by state index (the M state after it
        colours its points with the same ones).
    converged : bool
        Whether EM converged within :data:`MAX_ITERATIONS`.
    """

    states: tuple[Snapshot, ...]
    resp: dict[int, np.ndarray] = field(repr=False)
    converged: bool
    max_iterations: int = MAX_ITERATIONS

    def __len__(self) -> int:
        return len(self.states)

    @property
    def last(self) -> int:
        return len(self.states) - 1

    @property
    def n_iterations(self) -> int:
        return self.states[-1].iteration

    def stage(self, index: int) -> str:
        return self.states[index].stage

    def colour_source(self, index: int) -> int | None:
        """Index of the E state whose responsibilities colour state ``index`` (None at start)."""
        stage = self.states[index].stage
        if stage == "start":
            return None
        return index if stage == "E" else index - 1

    def responsibilities(self, index: int) -> np.ndarray | None:
        source = self.colour_source(index)
        return None if source is None else self.resp[source]

    def log_likelihood_curve(self, index: int) -> tuple[list[int], list[float]]:
        """Iterations and log-likelihoods of every E state up to state ``index``."""
        pairs = [
            (s.iteration, s.log_likelihood)
            for s in self.states[: index + 1]
            if s.stage == "E" and s.log_likelihood is not None
        ]
        return [p[0] for p in pairs], [p[1] for p in pairs]

    def latest_log_likelihood(self, index: int) -> float | None:
        _, values = self.log_likelihood_curve(index)
        return values[-1] if values else None

    def events_until(self, index: int) -> list[Event]:
        return [event for s in self.states[: index + 1] for event in s.events]

    def converged_index(self) -> int | None:
        """The state at which the "converged" event was raised, if it still holds.

        A convergence before a re-seed no longer counts: the run went on from there.
        """
        for i in range(self.last, -1, -1):
            state = self.states[i]
            if any(e.kind == "converged" for e in state.events):
                return i
            if reseeded_component(state) is not None:
                return None
        return None

    def reseed_marks(self, index: int) -> list[tuple[int, float]]:
        """(iteration, log-likelihood) just after every re-seed up to state ``index``."""
        marks = []
        for i in range(1, min(index, self.last) + 1):
            before, state = self.states[i - 1], self.states[i]
            if reseeded_component(before) is not None and state.log_likelihood is not None:
                marks.append((state.iteration, state.log_likelihood))
        return marks


def reseeded_component(state: Snapshot) -> int | None:
    """The component re-seeded at ``state``, if that is what the state is."""
    return next((e.component for e in state.events if e.kind == "reseeded"), None)


def compute_timeline(
    X: np.ndarray, model: ModelSettings, max_iterations: int = MAX_ITERATIONS
) -> Timeline:
    """Run EM from the chosen start to convergence or ``max_iterations`` and record it all.

    Raises
    ------
    ValueError
        With a sentence, e.g. when K is larger than the number of points (said in words
        here, before emcore or scikit-learn would say it in theirs).
    """
    check_enough_rows(len(X), model.n_components)
    params = start_params(X, model)
    # History holds parameters only (tiny); responsibilities are recomputed below as float32,
    # once per E state, because the engine would keep float64 copies for both halves.
    # Each re-seed adds two states (the moved component, then its E-step).
    limit = 2 * max_iterations + 2 + 2 * len(model.reseeds)
    # NaN cells are missing values: EM judges each row on its observed columns.
    missing = "em" if np.isnan(X).any() else "error"
    run = EM(
        X,
        params,
        reg_covar=REG_COVAR,
        tol=TOL,
        record="params",
        history_limit=limit,
        missing=missing,
    )
    for at, component in sorted(model.reseeds):
        advance_to(run, at)
        run.reseed(component)
    run.run(max_iter=max(0, max_iterations - run.iteration))
    states = tuple(run.history)
    resp = {
        i: e_step(X, s.params).resp.astype(np.float32)
        for i, s in enumerate(states)
        if s.stage == "E"
    }
    return Timeline(
        states=states, resp=resp, converged=run.converged, max_iterations=max_iterations
    )


def check_enough_rows(n_rows: int, n_components: int) -> None:
    """Refuse more components than rows, in plain words."""
    if n_rows < n_components:
        rows = "1 usable row" if n_rows == 1 else f"{n_rows:,} usable rows"
        raise ValueError(
            f"{n_components} components need at least {n_components} rows; this file has "
            f"{rows}. Choose fewer components."
        )


def start_params(X: np.ndarray, model: ModelSettings):
    """The run's starting parameters: emcore's start by ``model.init``, or the placed means
    with equal weights and the data's covariance for every component."""
    if model.init != CLICK_INIT:
        return initial_params(
            X,
            model.n_components,
            covariance_type=model.covariance_type,
            method=model.init,
            random_state=model.seed,
            reg_covar=REG_COVAR,
        )
    means = np.asarray(model.means, dtype=float)
    if means.shape != (model.n_components, X.shape[1]):
        raise ValueError(
            f"Click on the chart to place all {model.n_components} means first "
            f"({len(model.means)} placed)."
        )
    return initial_params(
        X,
        model.n_components,
        covariance_type=model.covariance_type,
        method="random_from_data",  # its covariances are the data's; its means are replaced
        random_state=model.seed,
        reg_covar=REG_COVAR,
        weights=np.full(model.n_components, 1.0 / model.n_components),
        means=means,
    )


def advance_to(run: EM, index: int) -> None:
    """Step ``run`` half a step at a time until its history's last state is ``index``."""
    while len(run.history) - 1 < index:
        if run.stage == "E":
            run.m_step()
        else:
            run.e_step()
