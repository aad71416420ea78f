"""The friendly object model of the original blog post, done right.

>>> rng = np.random.default_rng(0)
>>> mix = Mixture(Gauss(rng.standard_normal(2) * 4, np.eye(2), 1 / 3) for _ in range(3))
>>> mix.fit(X)                                  # doctest: +SKIP

``Gauss`` is one component; ``Mixture`` behaves like a list of them. Underneath, the mixture
keeps its parameters as arrays over components (a :class:`MixtureParams`) and runs the
vectorised, log-space E-step and M-step of :mod:`emcore.steps`.

**Components are read, not edited.** A mixture's parameters live in its ``params``; its
``Gauss`` objects are rebuilt from them after every step. So a component's ``mu``, ``cov``
and ``r`` are read-only arrays (an in-place edit raises numpy's "assignment destination is
read-only"), and ``mu``, ``cov``, ``pi`` and ``r`` cannot be reassigned (an AttributeError
says what to do instead): an edit could otherwise never reach the fit, or would reach it
through shared arrays behind its back. The parameters' own arrays are read-only too, and
every Mixture holds its own copy of them, so no other object (an estimator, a
:class:`MixtureParams`, the arrays a Gauss was made from) changes with it. To change a
component, make new ones and a new Mixture (or assign new :class:`MixtureParams` to
``params``).
"""

from __future__ import annotations

import dataclasses
import numbers
from collections.abc import Iterable, Iterator, Sequence
from typing import overload

import numpy as np

from emcore.covariance import covariance_model, weighted_moments
from emcore.engine import EM, singular_components
from emcore.params import MixtureParams, check_params
from emcore.steps import e_step, log_gaussian, log_likelihood, unchecked_m_step
from emcore.validation import check_data, check_positive, check_sample_weight

# What a Gauss never lets be reassigned: a Mixture rebuilds its components from its parameters
# after every step, so a reassigned mean would be silently lost at the next one.
_FIXED: tuple[str, ...] = ("mu", "cov", "pi", "r")


def _fixed_message(name: str) -> str:
    return (
        f"A Gauss's {name} cannot be changed: a Mixture keeps its parameters as arrays and "
        "rebuilds its Gauss components from them after every step, so the change would be "
        "lost. Make a new Gauss instead (Gauss(mu, cov, pi)) and, for a mixture, a new "
        "Mixture of the components you want (or assign new MixtureParams to its params)."
    )


def _read_only(array: np.ndarray) -> np.ndarray:
    """``array``, marked read-only (for a view, only the view: its base stays writable)."""
    array.flags.writeable = False
    return array


def _check_covariance(cov: np.ndarray) -> None:
    """A covariance must be symmetric and positive definite (every variance along every
    direction above 0), else its density is not a density: say so in a sentence."""
    if not np.allclose(cov, cov.T, rtol=1e-8, atol=0.0):
        raise ValueError("A Gauss's covariance must be symmetric (cov equal to cov.T).")
    try:
        np.linalg.cholesky(cov)
    except np.linalg.LinAlgError:
        raise ValueError(
            "A Gauss's covariance must be positive definite: every eigenvalue above 0 (a "
            "variance along some direction is 0 or negative here)."
        ) from None


def _check_gauss(mu: np.ndarray, cov: np.ndarray, pi: float) -> None:
    """A mean of length d, a valid d x d covariance and a weight >= 0, else a sentence."""
    d = mu.shape[0]
    if mu.ndim != 1 or cov.shape != (d, d):
        raise ValueError(
            f"A Gauss needs a mean of length d and a d x d covariance; got mean shape "
            f"{mu.shape} and covariance shape {cov.shape}."
        )
    if not (np.isfinite(mu).all() and np.isfinite(cov).all()):
        raise ValueError("A Gauss's mean and covariance must be finite numbers.")
    _check_covariance(cov)
    if not np.isfinite(pi) or pi < 0:
        raise ValueError(f"A Gauss's weight pi must be a number >= 0; got {pi!r}.")


class Gauss:
    """One Gaussian component: mean ``mu``, covariance ``cov``, weight ``pi``.

    After :meth:`Mixture.expectation`, ``r`` holds this component's responsibility for every
    point (None before).

    A Gauss is a fixed value: it keeps read-only copies of the mean and covariance it is
    given (later edits to the caller's arrays do not reach it, and an in-place edit of
    ``mu``, ``cov`` or ``r`` raises numpy's "assignment destination is read-only"), and
    ``mu``, ``cov``, ``pi`` and ``r`` cannot be reassigned. Why: see :mod:`emcore.mixture`.
    """

    mu: np.ndarray
    cov: np.ndarray
    pi: float
    r: np.ndarray | None

    def __init__(self, mu: Iterable[float], cov: Iterable, pi: float = 1.0) -> None:
        # Copies (np.array, not np.asarray): the Gauss is checked once, so nobody else may
        # hold its arrays and make them invalid later.
        mu = np.atleast_1d(np.array(mu, dtype=float))
        cov = np.atleast_2d(np.array(cov, dtype=float))
        pi = float(pi)
        _check_gauss(mu, cov, pi)
        self._fix(mu, cov, pi)

    @classmethod
    def _of_params(cls, mu: np.ndarray, cov: np.ndarray, pi: float) -> Gauss:
        """A component of a mixture's parameters: copied, not checked again. EM keeps them
        valid; a check here could only make a fit that succeeded raise, and blame a Gauss
        the user never made."""
        gauss = cls.__new__(cls)
        gauss._fix(np.array(mu, dtype=float), np.array(cov, dtype=float), float(pi))
        return gauss

    def _fix(self, mu: np.ndarray, cov: np.ndarray, pi: float) -> None:
        object.__setattr__(self, "mu", _read_only(mu))
        object.__setattr__(self, "cov", _read_only(cov))
        object.__setattr__(self, "pi", pi)
        object.__setattr__(self, "r", None)

    def _share_resp(self, r: np.ndarray | None) -> None:
        """Show this component's column of the mixture's responsibilities, read-only."""
        object.__setattr__(self, "r", None if r is None else _read_only(r))

    def __setattr__(self, name: str, value: object) -> None:
        if name in _FIXED:
            raise AttributeError(_fixed_message(name))
        super().__setattr__(name, value)

    def __delattr__(self, name: str) -> None:
        if name in _FIXED:
            raise AttributeError(_fixed_message(name))
        super().__delattr__(name)

    def __setstate__(self, state: dict) -> None:
        # pickle and copy.deepcopy give arrays back writable: read-only again, as made.
        self.__dict__.update(state)
        for array in (self.mu, self.cov, self.r):
            if array is not None:
                _read_only(array)

    def logpdf(self, X: np.ndarray) -> np.ndarray:
        """Log-density of every row of ``X`` under this Gaussian (weight not included)."""
        X = check_data(X, n_features=self.mu.shape[0], to_fit=False)
        params = MixtureParams.from_covariances([1.0], self.mu[None], self.cov[None], "full")
        return log_gaussian(X, params)[:, 0]

    def pdf(self, X: np.ndarray) -> np.ndarray:
        return np.exp(self.logpdf(X))

    def __repr__(self) -> str:
        def fmt(array: np.ndarray) -> str:
            return np.array2string(array, precision=3, suppress_small=True, separator=", ")

        cov = fmt(self.cov).replace("\n", "")
        return f"Gauss(mu={fmt(self.mu)}, cov={cov}, pi={self.pi:.3g})"


def _own_copy(params: object, what: str = "A Mixture's parameters") -> MixtureParams:
    """A copy of ``params`` with read-only arrays, for a Mixture to hold: its parameters then
    change only by its own steps or a new assignment, never through an array it shares with
    an estimator, a history or the caller.

    Raises
    ------
    TypeError
        If ``params`` is not a MixtureParams.
    ValueError
        If its arrays disagree in shape or hold NaN or infinity (see
        :func:`emcore.params.check_params`; ``what`` names them in the message): a Mixture
        never holds parameters EM could only turn into NaN.
    """
    check_params(params, what)
    arrays = {
        field.name: _read_only(np.array(getattr(params, field.name)))
        for field in dataclasses.fields(params)
        if isinstance(getattr(params, field.name), np.ndarray)
    }
    return dataclasses.replace(params, **arrays)


def _check_n_steps(n_steps: object) -> None:
    """``n_steps`` is EM's ``max_iter`` under :meth:`Mixture.fit`'s name: checked here, so a
    bad value is called by the name the user wrote."""
    whole = isinstance(n_steps, numbers.Integral) and not isinstance(n_steps, bool)
    if not (whole and n_steps >= 0):
        raise ValueError(f"n_steps must be a whole number of at least 0; got {n_steps!r}.")


def refuse_singular(params: MixtureParams, variances: np.ndarray, when: str = "") -> None:
    """Raise if, with nothing regularising them (``reg_covar=0``), a component's covariance
    is singular.

    The likelihood has no maximum there (it grows without bound as the component shrinks),
    so the numbers such a fit reports are set by the arithmetic's limits, not by the data.
    ``variances``: the data's column variances (see
    :func:`emcore.engine.singular_components`); ``when``: where it happened, such as
    ``" at iteration 4"``. Shared by :class:`Mixture` and :class:`emcore.GaussianMixture`,
    so both say the same.
    """
    singular = np.flatnonzero(singular_components(params, variances))
    if singular.size:
        others = "" if singular.size == 1 else f" (and {singular.size - 1} more)"
        raise ValueError(
            f"Component {int(singular[0]) + 1}{others} collapsed onto repeated or too few "
            f"points{when}: its covariance is singular, where the likelihood has no maximum "
            "(it grows without bound) and reg_covar=0 leaves nothing to stop it. Use a "
            "positive reg_covar (the default 1e-6 usually suffices), fewer components, or "
            "drop duplicated points."
        )


class Mixture(Sequence[Gauss]):
    """A Gaussian mixture that behaves like a list of :class:`Gauss` components.

    Parameters
    ----------
    components : iterable of Gauss
        Weights are normalised to sum to 1 (the blog's ``1 / 3`` each works as is).
    covariance_type : str, default="full"
        The covariance model the M-step fits: one of mclust's 14, EII, VII, EEI, VEI, EVI,
        VVI, EEE, VEE, EVE, VVE, EEV, VEV, EVV, VVV (:data:`emcore.MCLUST_MODELS`), or
        scikit-learn's names for four of them (:data:`emcore.COVARIANCE_TYPES`):
        "spherical" = VII, "diag" = VVI, "tied" = EEE, "full" = VVV. The components' ``cov``
        are always full d x d matrices; the given ones are first fitted to the model (its
        maximum-likelihood estimate from them, weighted by the components' pi: "diag" keeps
        their diagonals, "tied" their weighted average, EII the weighted mean variance, ...).
    reg_covar : float
        Added to covariance diagonals so they stay invertible. With 0, a fit or M-step in
        which a component collapses (a singular covariance) raises a ValueError that says
        so, and leaves the mixture as it was.

    Every method that takes ``X`` also takes ``missing``: ``"error"`` (default) refuses NaN
    cells, ``"em"`` treats them as values missing at random (see :class:`emcore.EM` and
    :mod:`emcore.missing`): the E-step and the log-likelihood use each row's observed
    coordinates, the M-step fills the others in by their conditional expectations under the
    mixture's current parameters.

    The components are read-only views of ``params`` (see :mod:`emcore.mixture`): to change
    one, build a new Mixture, or assign new :class:`MixtureParams` to ``params``. A call
    that raises leaves the mixture exactly as it was.
    """

    def __init__(
        self,
        components: Iterable[Gauss],
        covariance_type: str = "full",
        reg_covar: float = 1e-6,
    ) -> None:
        if not isinstance(components, Iterable):
            raise TypeError(
                "A Mixture needs an iterable of Gauss components, such as a list; got "
                f"{type(components).__name__}."
            )
        components = list(components)
        if not components or not all(isinstance(c, Gauss) for c in components):
            raise ValueError("A Mixture needs at least one Gauss component.")
        if len({c.mu.shape[0] for c in components}) != 1:
            raise ValueError("All components of a Mixture must have the same dimension.")
        model = covariance_model(covariance_type)
        weights = np.array([c.pi for c in components])
        if weights.sum() <= 0:
            raise ValueError("At least one component needs a positive weight pi.")
        if not np.isfinite(weights.sum()):  # each pi is finite, their sum can overflow
            raise ValueError(
                "The components' weights pi add up to more than floating-point numbers hold; "
                "give them on a smaller scale (they are normalised to sum to 1)."
            )
        full = np.stack([c.cov for c in components])
        params = MixtureParams.from_covariances(
            weights / weights.sum(),
            np.stack([c.mu for c in components]),
            model.from_full(full, weights),
            model.name,
        )
        self._start(params, reg_covar)

    @classmethod
    def from_params(cls, params: MixtureParams, reg_covar: float = 1e-6) -> Mixture:
        """A Mixture holding a (read-only) copy of existing parameters."""
        mixture = cls.__new__(cls)
        mixture._start(params, reg_covar)
        return mixture

    def _start(self, params: MixtureParams, reg_covar: float) -> None:
        self.reg_covar = check_positive("reg_covar", reg_covar)
        self.resp: np.ndarray | None = None
        self.log_likelihoods: list[float] = []
        self.history: list = []
        self.events: list = []
        self.converged = False
        self._commit(_own_copy(params), None)

    # -- parameters and components ----------------------------------------------------------

    @property
    def params(self) -> MixtureParams:
        """The mixture's parameters, with read-only arrays. Assigning new
        :class:`MixtureParams` keeps a copy of them and rebuilds the components (the
        responsibilities are kept if they are for as many components)."""
        return self._params

    @params.setter
    def params(self, params: MixtureParams) -> None:
        params = _own_copy(params)
        kept = self.resp is not None and self.resp.shape[1] == params.n_components
        self._commit(params, self.resp if kept else None)

    @property
    def model(self):  # -> CovarianceModel
        """The covariance model of :attr:`params`."""
        return self._params.model

    def __setstate__(self, state: dict) -> None:
        # pickle and copy.deepcopy give arrays back writable and the components' r apart from
        # resp: parameters read-only again, components rebuilt from them.
        self.__dict__.update(state)
        self._commit(_own_copy(self._params), self.resp)

    def _commit(self, params: MixtureParams, resp: np.ndarray | None) -> None:
        """Keep new parameters and responsibilities, with components rebuilt from them.

        The components are made first: nothing is assigned until all of it exists, so the
        components always show the parameters.
        """
        full = params.full_covariances
        components = [
            Gauss._of_params(mu, cov, pi)
            for mu, cov, pi in zip(params.means, full, params.weights, strict=True)
        ]
        self._params, self._components, self.resp = params, components, resp
        self._share_resp()

    # -- list behaviour -------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._components)

    @overload
    def __getitem__(self, index: int) -> Gauss: ...

    @overload
    def __getitem__(self, index: slice) -> list[Gauss]: ...

    def __getitem__(self, index):
        return self._components[index]

    def __iter__(self) -> Iterator[Gauss]:
        return iter(self._components)

    def __repr__(self) -> str:
        inner = ",\n ".join(repr(c) for c in self._components)
        return f"Mixture([\n {inner}\n], covariance_type={self.model.name!r})"

    # -- EM -------------------------------------------------------------------------------

    def expectation(self, X: np.ndarray, missing: str = "error") -> np.ndarray:
        """E-step: responsibilities (n, K), kept on the mixture and on each component's ``r``."""
        X = self._check(X, missing)
        self.resp = e_step(X, self.params).resp
        self._share_resp()
        return self.resp

    def maximization(self, X: np.ndarray, sample_weight=None, missing: str = "error") -> Mixture:
        """M-step: update every component from the kept responsibilities.

        ``sample_weight`` (n,): frequency weights, multiplying the responsibilities in every
        sum (see :func:`emcore.steps.m_step`). With ``missing="em"``, NaN cells are filled
        in by expectation under the current parameters (those of the last E-step). With
        ``reg_covar=0``, a component that collapses is a ValueError and nothing changes.
        """
        X = self._check(X, missing, to_fit=True)
        if self.resp is None or self.resp.shape[0] != X.shape[0]:
            raise ValueError(
                "maximization needs responsibilities for this X: call expectation(X) first."
            )
        weights = check_sample_weight(sample_weight, len(X))
        params = unchecked_m_step(
            X, self.resp, self.model.name, self.reg_covar, self.params, sample_weight=weights
        )
        if self.reg_covar == 0:
            refuse_singular(params, weighted_moments(X, weights)[1])
        self._commit(_own_copy(params, "The M-step's new parameters"), self.resp)
        return self

    def log_likelihood(self, X: np.ndarray, sample_weight=None, missing: str = "error") -> float:
        """Total log-likelihood of ``X`` under the mixture, ``sum_i w_i log p(x_i)`` with
        ``sample_weight`` (n,); with ``missing="em"``, of each row's observed coordinates."""
        X = self._check(X, missing)
        return log_likelihood(X, self.params, check_sample_weight(sample_weight, len(X)))

    def fit(
        self,
        X: np.ndarray,
        n_steps: int = 100,
        tol: float = 1e-6,
        sample_weight=None,
        missing: str = "error",
    ) -> Mixture:
        """Run up to ``n_steps`` EM iterations, stopping early once the log-likelihood per point
        changes by less than ``tol``. The run's history and events are kept on the mixture.

        ``sample_weight`` (n,): frequency weights (see :class:`emcore.EM`); a weight of 2
        counts a row twice, 0 drops it. ``missing="em"``: NaN cells are missing values (see
        :class:`emcore.EM`).

        Raises ValueError for bad input, and with ``reg_covar=0`` when a component collapses
        (a singular covariance, where the likelihood has no maximum); the mixture is then
        left exactly as it was.
        """
        _check_n_steps(n_steps)
        run = EM(
            self._check(X, missing),
            self.params,
            self.reg_covar,
            tol=tol,
            max_iter=n_steps,
            sample_weight=sample_weight,
            missing=missing,
        )
        run.run()
        if self.reg_covar == 0:
            when = f" at iteration {run.iteration}"
            refuse_singular(run.params, weighted_moments(run.X, run.sample_weight)[1], when)
        # Everything is computed and checked above: from here on nothing can raise, so a
        # failed fit leaves the mixture as it was.
        self._commit(_own_copy(run.params), run.resp)
        self.log_likelihoods = run.log_likelihoods
        self.history = run.history
        self.events = run.events
        self.converged = run.converged
        return self

    def predict(self, X: np.ndarray, missing: str = "error") -> np.ndarray:
        """Index of the most responsible component for every point."""
        return e_step(self._check(X, missing), self.params).log_resp.argmax(axis=1)

    # -- helpers --------------------------------------------------------------------------

    def _check(self, X: np.ndarray, missing: str = "error", to_fit: bool = False) -> np.ndarray:
        return check_data(X, n_features=self.params.n_features, missing=missing, to_fit=to_fit)

    def _share_resp(self) -> None:
        for k, component in enumerate(self._components):
            component._share_resp(None if self.resp is None else self.resp[:, k])
