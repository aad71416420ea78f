"""Running EM: step by step, half-step by half-step, or to convergence, with a history.

The state machine the app teaches with::

    start --E--> E-done(0) --M--> M-done(1) --E--> E-done(1) --M--> ...

``E-done(t)`` has the parameters after t M-steps, their responsibilities and log-likelihood;
``M-done(t)`` has new parameters and the responsibilities they were computed from. Every state
can be recorded as a :class:`Snapshot`, so a front end can scrub back and forth.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from emcore.covariance import (
    REGULARIZATIONS,
    CovarianceModel,
    Regularization,
    data_scale,
    effective_reg,
    weighted_moments,
)
from emcore.fast import FastEM, Pass, _single_threaded_blas, check_dtype
from emcore.missing import Patterns, expected_statistics, fill_column_means, missing_patterns
from emcore.params import MixtureParams, check_params
from emcore.steps import EStep, e_step, total_log_likelihood, unchecked_m_step
from emcore.validation import (
    check_choice,
    check_data,
    check_missing,
    check_observed_columns,
    check_positive,
    check_sample_weight,
)

Stage = Literal["start", "E", "M"]

# A covariance whose smallest variance is below this fraction of the data's scale (its
# smallest column variance, see emcore.covariance.data_scale), on top of reg_covar, has
# collapsed onto a point or a line.
COLLAPSE_FRACTION = 1e-8

# Without reg_covar, a covariance whose smallest variance, in units of the data's variance
# along that direction, is below this is singular: its standard deviation is under a
# millionth of the data's, where EM is heading for a point of infinite likelihood.
SINGULAR_FRACTION = 1e-12

# With collapse_patience, every this many iterations a run that has not converged is also
# judged by its unregularised estimate (singular_estimate: one more M-step). With a volume
# of its own a collapsing component also shows as "collapsed" (patience: a few iterations),
# so for those models this check is a backstop and is kept rare: it costs an M-step.
FLOOR_CHECK_EVERY = 50

# ... and for models with one volume shared by components of their own shape (EVI, EVE,
# EVV) every this many: there a component flat in one direction is held up by the shared
# volume times the floor, so no "collapsed" event comes and this check is the only stop
# (measured: 60 x 10 data, EVE with K = 5..9, 1,000 iterations per start before any check,
# all ending degenerate). Checks 10 apart instead of 50 (bench/bench_wide.py, two groups of
# normal points): select_model's 14 x 9 table 2.5x faster at 60 x 10 and 2x at 100 x 15; no
# cell of iris, Old Faithful, six random blob tables or those two changed. The checks add
# 2% to iris's and Old Faithful's tables (171 and 437 checks against 42 and 198); every 10
# for all models would have added 7-8%.
SHARED_VOLUME_CHECK_EVERY = 10


def floor_check_every(model: CovarianceModel) -> int:
    """Iterations between two judgements of a run by its unregularised estimate (with
    ``collapse_patience``): :data:`SHARED_VOLUME_CHECK_EVERY` for a model whose shared
    volume hides a collapse (mclust's EV* models: EVI, EVE, EVV), :data:`FLOOR_CHECK_EVERY`
    otherwise."""
    return SHARED_VOLUME_CHECK_EVERY if model.mclust_name[:2] == "EV" else FLOOR_CHECK_EVERY


def standardised_smallest_variances(
    params: MixtureParams, column_variances: np.ndarray, reg_covar: float = 0.0
) -> np.ndarray:
    """Smallest eigenvalue of every component's covariance, without ``reg_covar``, shape (K,).

    Measured in standardised units (each column divided by its standard deviation), so a
    column with small units does not make every component look collapsed. A constant column
    (variance 0) keeps its units.

    Parameters
    ----------
    params : MixtureParams
    column_variances : ndarray of shape (d,)
        The data's variance per column (weighted, if the fit was).
    reg_covar : float
        The effective amount added to the variances, removed before measuring.
    """
    spread = np.sqrt(np.where(column_variances > 0, column_variances, 1.0))
    unregularised = params.full_covariances - reg_covar * np.eye(params.n_features)
    return np.linalg.eigvalsh(unregularised / np.outer(spread, spread))[:, 0]


def singular_components(params: MixtureParams, column_variances: np.ndarray) -> np.ndarray:
    """Non-empty components whose covariance is singular, shape (K,) of bool.

    Only meaningful when nothing regularises the covariances (``reg_covar = 0``): then the
    likelihood grows without bound as such a component shrinks onto its points (Bishop,
    *Pattern Recognition and Machine Learning*, section 9.2.1), and a fit that ends there
    has no maximum to report.
    """
    smallest = standardised_smallest_variances(params, column_variances)
    return (smallest <= SINGULAR_FRACTION) & ~params.empty


def singular_estimate(
    params: MixtureParams,
    X: np.ndarray,
    resp: np.ndarray,
    sample_weight: np.ndarray | None,
    variances: np.ndarray,
    reg_covar: float,
    patterns: Patterns | None = None,
) -> np.ndarray:
    """Components (K,) whose unregularised M-step estimate from ``resp`` (n, K), the
    responsibilities of ``params``, is singular: :func:`singular_from_statistics` of the
    M-step's sufficient statistics. With NaN cells in ``X`` (``patterns``: its missingness
    patterns, found here if None) they are the expected ones under ``params``
    (:func:`emcore.missing.expected_statistics`), as EM's own M-step takes them."""
    weighted = resp if sample_weight is None else resp * sample_weight[:, None]
    nk = weighted.sum(axis=0)
    if patterns is None:
        patterns = missing_patterns(X)
    model = params.model
    with np.errstate(all="ignore"):  # a singular scatter is what is being looked for
        if patterns is None:
            means = weighted.T @ X / np.where(nk > 0, nk, 1.0)[:, None]
            statistic = model.scatter_statistic(X, weighted, means)
        else:
            scatter = expected_statistics(X, weighted, nk, params, patterns)[1]
            statistic = model.statistic_from_scatter(scatter)
    return singular_from_statistics(params, statistic, nk, variances, reg_covar)


def singular_from_statistics(
    params: MixtureParams,
    statistic: np.ndarray,
    nk: np.ndarray,
    variances: np.ndarray,
    reg_covar: float,
) -> np.ndarray:
    """Components (K,) whose unregularised maximum-likelihood covariance from the M-step's
    sufficient statistics is singular (or cannot be computed) in units of the data's
    variance, or has a variance below the effective ``reg_covar``: a fit of ``params`` whose
    next M-step has these statistics rests on the floor.

    Every engine has the statistics (the reference steps from the responsibilities, the
    fused passes and Dask from their moments), so every engine can judge. The iterative
    M-steps start from ``params``' (floored) covariances, so a flat component's estimate
    comes out small, not exactly singular (measured: 1.7e-8 of the data's variance with the
    floor at 1e-6).

    Parameters
    ----------
    params : MixtureParams
        The parameters the statistics were gathered under.
    statistic : ndarray
        ``W_k`` in the covariance model's form
        (:meth:`emcore.covariance.CovarianceModel.scatter_statistic`).
    nk : ndarray of shape (K,)
        ``N_k = sum_i w_i r_ik``.
    variances : ndarray of shape (d,)
        The data's (weighted) column variances.
    reg_covar : float
        The effective ``reg_covar``.
    """
    model = params.model
    spread = np.sqrt(np.where(variances > 0, variances, 1.0))
    with np.errstate(all="ignore"):  # a singular scatter is what is being looked for
        try:
            estimate = model.maximum_likelihood_from(statistic, nk, params.covariances)
            full = model.to_full(estimate, params.n_components, params.n_features)
            standardised = np.linalg.eigvalsh(full / np.outer(spread, spread))[:, 0]
            smallest = np.linalg.eigvalsh(full)[:, 0]
        except (np.linalg.LinAlgError, ValueError, ArithmeticError):
            return np.ones(params.n_components, dtype=bool)
    # NaN counts as singular.
    return ~((standardised > COLLAPSE_FRACTION) & (smallest > reg_covar))


def _finite_params(params: MixtureParams) -> bool:
    """Whether every weight, mean and covariance of ``params`` is a finite number."""
    return bool(
        np.isfinite(params.weights).all()
        and np.isfinite(params.means).all()
        and np.isfinite(params.covariances).all()
    )


def _generator(rng: object) -> np.random.Generator:
    """``np.random.default_rng(rng)``, with a sentence for what it cannot take.

    Raises
    ------
    ValueError
        For anything but a seed (a whole number >= 0), a Generator or None.
    """
    try:
        if isinstance(rng, bool):  # default_rng would take True as the seed 1
            raise TypeError
        return np.random.default_rng(rng)
    except (TypeError, ValueError):
        raise ValueError(
            f"rng must be a seed (a whole number of at least 0), a NumPy Generator or None; "
            f"got {rng!r}."
        ) from None


@dataclass(frozen=True)
class Event:
    """Something worth telling the user that happened at one iteration."""

    iteration: int
    kind: Literal["emptied", "collapsed", "reseeded", "converged", "stopped"]
    component: int | None
    message: str


@dataclass(frozen=True, eq=False)
class Snapshot:
    """One recorded state of an EM run.

    ``resp`` is None at the start, or when responsibilities are not recorded.
    ``log_likelihood`` is the total log-likelihood of ``params``, None until it is computed.
    """

    iteration: int
    stage: Stage
    params: MixtureParams
    resp: np.ndarray | None
    log_likelihood: float | None
    events: tuple[Event, ...] = ()


RECORDS: tuple[str, ...] = ("none", "params", "resp")


def _check_run_settings(
    max_iter: object, record: object, history_limit: object, collapse_patience: object = None
) -> None:
    """A run's counts are whole numbers (``max_iter`` may be 0: no iteration) and ``record``
    one of :data:`RECORDS`, each else a ValueError that says so."""
    _check_count("max_iter", max_iter, 0)
    _check_count("history_limit", history_limit, 0, optional=True)
    _check_count("collapse_patience", collapse_patience, 0, optional=True)
    check_choice("record", record, RECORDS)


def _check_count(name: str, value: object, least: int, optional: bool = False) -> None:
    """``value`` is a whole number of at least ``least`` (or None, if ``optional``)."""
    if optional and value is None:
        return
    whole = isinstance(value, numbers.Integral) and not isinstance(value, bool)
    if not (whole and value >= least):
        or_none = " (or None)" if optional else ""
        raise ValueError(
            f"{name} must be a whole number of at least {least}{or_none}; got {value!r}."
        )


@dataclass
class EM:
    """An EM run on data ``X`` from starting parameters.

    Parameters
    ----------
    X : array-like of shape (n, d)
    params : MixtureParams
        Starting parameters.
    reg_covar : float
        Added to covariance diagonals so they stay invertible.
    tol : float
        Convergence when the mean log-likelihood per point changes by less than this.
    max_iter : int
        Most iterations :meth:`run` will do.
    record : {"none", "params", "resp"}
        What the history keeps: nothing, every state's parameters, or parameters and
        responsibilities (what a front end needs to colour points).
    regularization : {"floor", "add"}
        How ``reg_covar`` is applied (see :func:`emcore.steps.m_step`); ``"floor"`` keeps the
        log-likelihood from ever decreasing.
    history_limit : int or None
        Keep at most this many snapshots (the earliest are kept, later ones dropped and
        ``truncated`` set), so memory stays bounded.
    sample_weight : array-like of shape (n,), optional
        Frequency weights (see :func:`emcore.validation.check_sample_weight`): every sum of
        the M-step and the log-likelihood count row i ``w_i`` times, and the convergence test
        divides by ``n = sum_i w_i``. Checked and kept as a float array, or None.
    missing : {"error", "em"}
        ``"em"`` accepts NaN cells in ``X`` as values missing at random: every E-step judges
        a row on its observed coordinates and every M-step fills in the missing ones by
        their conditional expectations (:mod:`emcore.missing`); ``log_likelihoods`` are then
        observed-data log-likelihoods, still never decreasing. ``"error"`` (default) refuses
        NaN. Data without NaN run exactly the same either way.
    collapse_patience : int or None
        Stop :meth:`run` once a component has stayed collapsed (the ``"collapsed"`` event)
        for this many more iterations, with ``stopped`` set and a ``"stopped"`` event: such
        a run is climbing towards a point of unbounded likelihood, which only ``reg_covar``
        bounds, and mclust stops at the first singular covariance. Every
        :func:`floor_check_every` iterations such a run is also stopped when, at two checks
        in a row, a component's unregularised estimate is singular (:func:`singular_estimate`;
        with a shared volume no "collapsed" event shows it). ``None`` (default): run on, so
        a front end can show the collapse and re-seed the component.
    """

    X: np.ndarray
    params: MixtureParams
    reg_covar: float = 1e-6
    tol: float = 1e-3
    max_iter: int = 100
    record: Literal["none", "params", "resp"] = "params"
    history_limit: int | None = None
    regularization: Regularization = "floor"
    sample_weight: np.ndarray | None = None
    missing: Literal["error", "em"] = "error"
    collapse_patience: int | None = None
    iteration: int = field(default=0, init=False)
    stage: Stage = field(default="start", init=False)
    estep: EStep | None = field(default=None, init=False, repr=False)
    log_likelihoods: list[float] = field(default_factory=list, init=False)
    events: list[Event] = field(default_factory=list, init=False)
    history: list[Snapshot] = field(default_factory=list, init=False, repr=False)
    converged: bool = field(default=False, init=False)
    stopped: bool = field(default=False, init=False)
    truncated: bool = field(default=False, init=False)
    # Why the run stopped on a log-likelihood or parameters that are not finite numbers, or
    # None. A class default (not a field), so engines with their own __post_init__ have it.
    _not_finite = None

    def __post_init__(self) -> None:
        check_params(self.params)
        self.missing = check_missing(self.missing)
        self.X = check_data(
            self.X, self.params.n_components, self.params.n_features, missing=self.missing
        )
        self.sample_weight = check_sample_weight(self.sample_weight, len(self.X))
        # Grouped once per run: every step reuses the patterns (None for complete data).
        self._patterns = missing_patterns(self.X)
        if self._patterns is not None:
            check_observed_columns(self.X, self.sample_weight)
        # The number of samples the weights stand for (frequency weights): sum_i w_i.
        self.n_samples = float(
            len(self.X) if self.sample_weight is None else self.sample_weight.sum()
        )
        self.reg_covar = check_positive("reg_covar", self.reg_covar)
        self.tol = check_positive("tol", self.tol)
        _check_run_settings(self.max_iter, self.record, self.history_limit, self.collapse_patience)
        check_choice("regularization", self.regularization, REGULARIZATIONS)
        # The data's scale costs a pass over X: measured once per run and handed to every
        # step that needs it (the effective reg_covar, the collapse floor, the fast passes).
        self._data_variance = data_scale(self.X, self.sample_weight)
        self._reg = effective_reg(
            self.X, self.reg_covar, self.regularization, scale=self._data_variance
        )
        # A start can already be collapsed (k-means may put repeated values in a cluster of
        # their own): said at iteration 0, or it would never be said.
        self._collapsed: set[int] = set()
        self._collapsed_for = 0  # consecutive states with a collapsed component
        self._resting_checks = 0  # consecutive floor checks with a singular estimate
        self._compared_from = 0  # the first log-likelihood the convergence test may compare
        self._column_variances: np.ndarray | None = None  # for the floor checks
        self._record(resp=None, events=self._degeneracy_events(None))

    @property
    def finished(self) -> bool:
        """Whether :meth:`run` has nothing more to do: converged, or stopped on a collapse."""
        return self.converged or self.stopped

    # -- the two halves ---------------------------------------------------------------------

    def e_step(self) -> np.ndarray:
        """Compute responsibilities for the current parameters; returns them (n, K).

        After an E-step (stage ``"E"``) the parameters are already evaluated: another one
        returns the same responsibilities and records nothing, so the log-likelihood is not
        listed twice (a repeated value would read as a change of 0: converged).
        """
        self._refuse_not_finite()  # a run stopped on NaN has nothing left to evaluate
        if self.stage == "E" and self.estep is not None:
            return self.estep.resp
        estep = e_step(self.X, self.params, self._patterns)
        if self.stage == "E":  # evaluated by fused passes that kept no responsibilities
            self.estep = estep
            return estep.resp
        self.estep = estep
        log_likelihood = total_log_likelihood(self.estep.log_prob, self.sample_weight)
        self.log_likelihoods.append(log_likelihood)
        self.stage = "E"
        events = self._convergence_events() + self._floor_events(estep.resp)
        self._record(resp=self.estep.resp, events=events)
        self._refuse_not_finite()
        return self.estep.resp

    def m_step(self) -> MixtureParams:
        """Update the parameters from the current responsibilities."""
        self._refuse_not_finite()
        if self.stage != "E":
            self.e_step()
        resp = self.estep.resp
        previous = self.params
        self.params = unchecked_m_step(
            self.X,
            resp,
            previous.covariance_type,
            self.reg_covar,
            previous,
            self.regularization,
            scale=self._data_variance,
            sample_weight=self.sample_weight,
            patterns=self._patterns,
        )
        self.iteration += 1
        self.stage = "M"
        self._record(resp=resp, events=self._degeneracy_events(previous))
        return self.params

    def step(self) -> Snapshot | None:
        """One full iteration: end in the E-done state of the next iteration.

        From the start this is E, M, E; after an E-step it is M, E; after an M-step it is the
        E-step that completes the iteration.
        """
        if self.stage == "start":
            self.e_step()
        if self.stage == "E":
            self.m_step()
        self.e_step()
        return self.history[-1] if self.history else None

    def run(
        self,
        max_iter: int | None = None,
        callback: Callable[[EM], object] | None = None,
        *,
        dtype: type | np.dtype = np.float64,
    ) -> EM:
        """Iterate until converged or ``max_iter`` more iterations; returns self.

        When nothing is recorded (``record="none"``) and there is no ``callback``, whole
        iterations run as fused passes over the data (:mod:`emcore.fast`), several times
        faster and in bounded memory: the same states, events, stopping rule and final
        ``estep`` as stepping, with numbers equal to rounding (about 1e-12 relative; nearly
        singular covariances carry their own rounding noise, see :mod:`emcore.fast`).
        ``dtype=np.float32`` makes those passes single precision (accuracy in
        :mod:`emcore.fast`); it needs ``record="none"`` and no callback.

        With missing values the reference steps run instead (in float64, whatever
        ``dtype``): the fused passes evaluate every point on all d coordinates at once,
        while each missingness pattern needs its own marginal and conditional Gaussians.
        """
        budget = self._budget(max_iter)
        self._refuse_not_finite()
        if callback is not None and not callable(callback):
            raise TypeError(
                "callback must be a function called with the run after every iteration (or "
                f"None); got {type(callback).__name__}."
            )
        fused = self.record == "none" and callback is None
        dtype = check_dtype(dtype)  # a wrong one is named before anything else is said of it
        if fused and self._patterns is None:
            return self._run_fused(budget, dtype)
        if dtype != np.float64 and not fused:
            raise ValueError("dtype=float32 needs record='none' and no callback.")
        if self.stage == "start":
            self.e_step()
        target = self.iteration + budget
        while not self.finished and self.iteration < target:
            self.step()
            if callback is not None:
                callback(self)
        return self

    def _budget(self, max_iter: object) -> int:
        """The iterations :meth:`run` may do: ``max_iter``, checked as the constructor checks
        its own (a whole number >= 0), or the run's ``max_iter`` for None.

        Raises
        ------
        ValueError
            For 1.5 (which ran 2 iterations), -3 (which ran none, silently), True, "10".
        """
        _check_count("max_iter", max_iter, 0, optional=True)
        return self.max_iter if max_iter is None else int(max_iter)

    def _run_fused(self, budget: int, dtype: type | np.dtype) -> EM:
        """:meth:`run` by fused passes: the same states, events and stops as :meth:`step`.

        Each pass over the data evaluates the current parameters (log-likelihood) and gathers
        the sums the next M-step needs, so ``estep`` (the (n, K) responsibilities) is only
        made for the final state. The last pass of a run known to end keeps it directly.
        """
        fast = FastEM(
            self.X,
            self.params.model,
            self.reg_covar,
            self.regularization,
            dtype=dtype,
            scale=self._data_variance,
            sample_weight=self.sample_weight,
        )
        current = None  # the pass over the current parameters, once there is one
        if self.stage == "E" and self.estep is not None:
            current = Pass(self.log_likelihoods[-1], estep=self.estep)
        target = self.iteration + budget

        def evaluate() -> Pass:  # the E-step: stage "E" with the new log-likelihood
            keep = self.iteration >= target or self.floor_check_due
            evaluated = fast.e_step(self.params, keep_resp=keep)
            self._evaluated(evaluated.log_likelihood, evaluated.estep)
            return evaluated

        # BLAS on one thread for the whole run, M-steps included: their eigendecompositions
        # of K small matrices took 19 ms with OpenBLAS's threads and 4.5 ms without at
        # 16 x 32 x 32 (171 ms under load), more than the pass over 100,000 rows.
        with _single_threaded_blas():
            if self.stage == "start":
                current = evaluate()
            while not self.finished and self.iteration < target:
                if self.stage == "E":
                    self._updated(fast.m_step(current or fast.e_step(self.params), self.params))
                current = evaluate()
        self._refuse_not_finite()
        if self.stage == "E" and self.estep is None:
            self.estep = fast.full_e_step(current or fast.e_step(self.params), self.params)
        return self

    # -- states reached by an engine that computes the steps itself -----------------------
    # (the fused passes, emcore.lockstep): the same bookkeeping as e_step and m_step.

    def _evaluated(
        self, log_likelihood: float, estep: EStep | None, resp: np.ndarray | None = None
    ) -> None:
        """The E-done state of the current parameters: their log-likelihood (and, when the
        engine kept them, their responsibilities), convergence checked. ``resp`` (n, K):
        responsibilities the engine has at hand without keeping them, for the periodic
        judgement of a collapse (see :attr:`floor_check_due`)."""
        self.estep = estep
        self.log_likelihoods.append(log_likelihood)
        self.stage = "E"
        events = self._convergence_events()
        events += self._floor_events(estep.resp if estep is not None else resp)
        self._record(resp=None, events=events)

    def _updated(self, params: MixtureParams) -> None:
        """The M-done state: new parameters from the last E-done state's responsibilities."""
        previous = self.params
        self.params = params
        self.iteration += 1
        self.stage = "M"
        self._record(resp=None, events=self._degeneracy_events(previous))

    # -- explicit repairs ----------------------------------------------------------------

    def reseed(self, component: int, rng: np.random.Generator | int | None = None) -> None:
        """Move a component to the worst-explained point, with the data's average variance
        (the identity times it: a fresh round start, as the "random" start makes).

        This is the explicit cure for an empty or collapsed component; EM never does it by
        itself. The weights are shared out again equally between it and the others' mass.
        The covariances are then fitted to the model (:meth:`CovarianceModel.from_full`,
        weighted by the new weights), so a model with shared parts keeps them shared: with
        EII the one variance becomes the weighted mean of the others' and the fresh one's.

        Raises
        ------
        ValueError
            If ``component`` is not one of 0..K-1, or ``rng`` is not a seed (a whole number
            >= 0), a NumPy Generator or None.
        """
        count = self.params.n_components
        whole = isinstance(component, numbers.Integral) and not isinstance(component, bool)
        if not (whole and 0 <= component < count):
            raise ValueError(
                f"component must be a component's index, 0 to {count - 1}; got {component!r}."
            )
        rng = _generator(rng)
        scores = self.estep.log_prob if self.estep is not None else rng.random(len(self.X))
        if self.sample_weight is not None:  # a row of weight 0 is not in the data
            scores = np.where(self.sample_weight > 0, scores, np.inf)
        worst = int(np.argmin(scores))
        params = self.params
        model = params.model
        full = params.full_covariances
        average = float(np.mean(weighted_moments(self.X, self.sample_weight)[1]))
        spread = average if average > 0 else self._data_variance
        full[component] = np.eye(params.n_features) * (spread + self._reg)
        means = params.means.copy()
        # A row with missing cells is completed by its columns' means (a start, not EM).
        means[component] = fill_column_means(self.X, self.sample_weight)[worst]
        weights = params.weights.copy()
        weights[component] = 1.0 / params.n_components
        weights /= weights.sum()
        self.params = params.replace(
            weights=weights, means=means, covariances=model.from_full(full, weights)
        )
        self._collapsed.discard(component)
        self._collapsed_for = self._resting_checks = 0  # a fresh start for both stops
        self._compared_from = len(self.log_likelihoods)  # convergence after an M-step only
        self.converged = self.stopped = False
        self._not_finite = None  # judged again at the E-step below
        event = Event(
            self.iteration,
            "reseeded",
            component,
            f"Component {component + 1} was re-seeded at the point the mixture explained worst.",
        )
        self.stage = "M"
        self.estep = None
        self._record(resp=self.history[-1].resp if self.history else None, events=(event,))
        self.e_step()

    # -- reporting -----------------------------------------------------------------------

    @property
    def resp(self) -> np.ndarray | None:
        return None if self.estep is None else self.estep.resp

    @property
    def log_likelihood(self) -> float | None:
        """Total log-likelihood of the current parameters, if the E-step has computed it."""
        return self.log_likelihoods[-1] if self.stage == "E" else None

    def _convergence_events(self) -> tuple[Event, ...]:
        """Judge the newest log-likelihood: the ``"converged"`` event when it is the first to
        change by less than ``tol`` per point, or a ``"stopped"`` one when it (or, before a
        convergence is declared, a parameter) is not a finite number.

        Every engine (stepping, fused passes, lockstep, Dask) decides convergence here, so
        none can report a fit on NaN as converged: NaN compares False with everything, and
        ``change >= tol`` on a NaN change had said "converged".
        """
        latest = self.log_likelihoods[-1]
        if not math.isfinite(latest):
            return self._stop_not_finite(f"its log-likelihood is {latest}")
        # Two log-likelihoods of the same run of EM: not across a reseed (whose parameters
        # are a new start), and not after a stop (the run ended on the collapse).
        compared = len(self.log_likelihoods) - self._compared_from
        if compared < 2 or self.iteration == 0 or self.stopped:
            return ()
        change = abs(latest - self.log_likelihoods[-2]) / self.n_samples
        if self.converged or not change < self.tol:
            return ()
        if not _finite_params(self.params):  # checked once per run: it costs a few us
            return self._stop_not_finite("its parameters hold NaN or infinity")
        self.converged = True
        return (
            Event(
                self.iteration,
                "converged",
                None,
                f"Converged: the log-likelihood per point changed by {change:.2g} < tol.",
            ),
        )

    def _degeneracy_events(self, previous: MixtureParams | None) -> tuple[Event, ...]:
        """Components that became empty or collapsed since ``previous`` (None: at the start,
        where an empty component, of weight 0 from the start, is said once too)."""
        events = []
        empty = self.params.empty
        before = np.zeros_like(empty) if previous is None else previous.empty
        newly_empty = np.flatnonzero(empty & ~before) if empty.any() else ()
        what = "has no points from the start" if previous is None else "lost all its points"
        for k in newly_empty:
            events.append(
                Event(
                    self.iteration,
                    "emptied",
                    int(k),
                    f"Component {k + 1} {what}: it keeps its place with weight 0 and no longer "
                    "takes part (re-seed it to try again).",
                )
            )
        collapsed = self._collapsed_components(self.params)
        held = (
            "only reg_covar keeps its density finite"
            if self._reg > 0
            else "with reg_covar = 0 nothing keeps its density finite"
        )
        for k in sorted(collapsed - self._collapsed):
            events.append(
                Event(
                    self.iteration,
                    "collapsed",
                    int(k),
                    f"Component {k + 1} collapsed onto too few points: its covariance is "
                    f"(almost) singular and {held}.",
                )
            )
        self._collapsed = collapsed
        events.extend(self._collapse_stop(collapsed))
        return tuple(events)

    def _collapse_stop(self, collapsed: set[int]) -> tuple[Event, ...]:
        """The ``"stopped"`` event, once a component has stayed collapsed for
        ``collapse_patience`` iterations after the one where it collapsed."""
        self._collapsed_for = self._collapsed_for + 1 if collapsed else 0
        patience = self.collapse_patience
        if patience is None or self.stopped or self._collapsed_for <= patience:
            return ()
        return self._stop(sorted(collapsed), f"stayed collapsed for {patience} iterations")

    @property
    def floor_check_due(self) -> bool:
        """Whether the E-step of the current parameters is one where, with
        ``collapse_patience``, the run is also judged by its unregularised estimate (every
        :func:`floor_check_every` iterations): engines that do not keep responsibilities
        keep them for this one, or judge from their pass's statistics (Dask)."""
        return (
            self.collapse_patience is not None
            and self.iteration > 0
            and self.iteration % floor_check_every(self.params.model) == 0
        )

    def _floor_events(self, resp: np.ndarray | None) -> tuple[Event, ...]:
        """:meth:`_floor_judged` from the current parameters' responsibilities ``resp`` (n, K),
        if the engine has them (in memory)."""
        if resp is None:
            return ()

        def judge() -> np.ndarray:
            if self._column_variances is None:
                self._column_variances = weighted_moments(self.X, self.sample_weight)[1]
            return singular_estimate(
                self.params,
                self.X,
                resp,
                self.sample_weight,
                self._column_variances,
                self._reg,
                self._patterns,
            )

        return self._floor_judged(judge)

    def _floor_judged(self, judge: Callable[[], np.ndarray]) -> tuple[Event, ...]:
        """The ``"stopped"`` event when, at two checks in a row, some component's
        unregularised estimate is singular (``judge()``, shape (K,) of bool: the engine's
        :func:`singular_from_statistics`, asked only when a check is due): the run rests on
        ``reg_covar``, which select_model would judge degenerate at its end anyway."""
        if self.finished or not self.floor_check_due:
            return ()
        resting = judge() & ~self.params.empty
        self._resting_checks = self._resting_checks + 1 if resting.any() else 0
        if self._resting_checks < 2:
            return ()
        return self._stop(
            np.flatnonzero(resting).tolist(),
            f"rested on reg_covar for {floor_check_every(self.params.model)} iterations (their "
            "unregularised estimate is singular)",
        )

    def _stop_not_finite(self, what: str) -> tuple[Event, ...]:
        """Stop the run (never converged) with a ``"stopped"`` event saying why.

        :meth:`run`, :meth:`e_step` and :meth:`m_step` then raise it
        (:meth:`_refuse_not_finite`); engines that drive runs themselves
        (:func:`emcore.lockstep.run_together`) find the run finished, not converged.
        """
        if self._not_finite is not None:
            return ()
        self.stopped = True
        self._not_finite = (
            f"EM stopped at iteration {self.iteration}: {what}, so there is no fit to report. "
            "The starting parameters or an M-step left the range of floating-point numbers: "
            "give finite starting values with positive-definite covariances, a positive "
            "reg_covar, or data of a less extreme scale."
        )
        return (Event(self.iteration, "stopped", None, self._not_finite),)

    def _refuse_not_finite(self) -> None:
        """Raise the sentence of :meth:`_stop_not_finite` if the run stopped on NaN: at its
        end, and at every later attempt to step it (until a :meth:`reseed`).

        Raises
        ------
        ValueError
            Saying at which iteration and what is not finite.
        """
        if self._not_finite is not None:
            raise ValueError(self._not_finite)

    def _stop(self, components: list[int], why: str) -> tuple[Event, ...]:
        self.stopped = True
        which = ", ".join(str(k + 1) for k in components)
        return (
            Event(
                self.iteration,
                "stopped",
                None,
                f"Stopped: component(s) {which} {why}; the likelihood would only grow "
                "without bound (as mclust, which stops at a singular covariance).",
            ),
        )

    def _collapsed_components(self, params: MixtureParams) -> set[int]:
        # Checked after every M-step, so first by a bound that needs no eigendecomposition:
        # with inv(Sigma) = P P^T, the smallest eigenvalue of Sigma is at least
        # 1 / tr(inv(Sigma)) = 1 / ||P||_F^2 (the trace bounds the largest eigenvalue of
        # inv(Sigma)). Only when that bound is below the floor are the eigenvalues computed,
        # each covariance type its own way (diagonal types without any eigendecomposition).
        model = params.model
        floor = COLLAPSE_FRACTION * self._data_variance
        factors = model.to_full(params.precisions_cholesky, params.n_components, params.n_features)
        squares = (factors * factors).sum(axis=(1, 2))
        if ((floor + self._reg) * squares < 1.0).all():  # 1 / ||P||^2 - reg > floor, no 1/0
            return set()
        smallest = model.smallest_eigenvalues(params.covariances, params.n_components) - self._reg
        return {int(k) for k in np.flatnonzero((smallest <= floor) & ~params.empty)}

    def _record(self, resp: np.ndarray | None, events: tuple[Event, ...]) -> None:
        self.events.extend(events)
        if self.record == "none":
            return
        if self.history_limit is not None and len(self.history) >= self.history_limit:
            self.truncated = True
            return
        self.history.append(
            Snapshot(
                iteration=self.iteration,
                stage=self.stage,
                params=self.params,
                resp=resp if self.record == "resp" else None,
                log_likelihood=self.log_likelihood,
                events=events,
            )
        )
