"""The friendly object model of the original blog post, done right.

>>> rng = np.random.default_rng(0)
>>> mix = Mixture(Gauss(rng.standard_normal(2) * 4, np.eye(2), 1 / 3) for _ in range(3))
>>> mix.fit(X)                                  # doctest: +SKIP

``Gauss`` is one component; ``Mixture`` behaves like a list of them. Underneath, the mixture
keeps its parameters as arrays over components and runs the vectorised, log-space E-step and
M-step of :mod:`emcore.steps`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import overload

import numpy as np

from emcore.covariance import covariance_model
from emcore.engine import EM
from emcore.params import MixtureParams
from emcore.steps import e_step, log_gaussian, log_likelihood, m_step
from emcore.validation import check_data, check_positive, check_sample_weight


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


class Gauss:
    """One Gaussian component: mean ``mu``, covariance ``cov``, weight ``pi``.

    After :meth:`Mixture.expectation`, ``r`` holds this component's responsibility for every
    point (None before).
    """

    def __init__(self, mu: Iterable[float], cov: Iterable, pi: float = 1.0) -> None:
        self.mu = np.atleast_1d(np.asarray(mu, dtype=float))
        self.cov = np.atleast_2d(np.asarray(cov, dtype=float))
        self.pi = float(pi)
        self.r: np.ndarray | None = None
        d = self.mu.shape[0]
        if self.mu.ndim != 1 or self.cov.shape != (d, d):
            raise ValueError(
                f"A Gauss needs a mean of length d and a d x d covariance; got mean shape "
                f"{self.mu.shape} and covariance shape {self.cov.shape}."
            )
        if not (np.isfinite(self.mu).all() and np.isfinite(self.cov).all()):
            raise ValueError("A Gauss's mean and covariance must be finite numbers.")
        _check_covariance(self.cov)
        if not np.isfinite(self.pi) or self.pi < 0:
            raise ValueError(f"A Gauss's weight pi must be a number >= 0; got {pi!r}.")

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


class Mixture(Sequence[Gauss]):
    """A Gaussian mixture that behaves like a list of :class:`Gauss` components.

    Parameters
    ----------
    components : iterable of Gauss
        Weights are normalised to sum to 1 (the blog's ``1 / 3`` each works as is).
    covariance_type : {"full", "tied", "diag", "spherical"}
        Constrains what the M-step may fit; components' ``cov`` are always full d x d matrices.
    reg_covar : float
        Added to covariance diagonals so they stay invertible.

    Every method that takes ``X`` also takes ``missing``: ``"error"`` (default) refuses NaN
    cells, ``"em"`` treats them as values missing at random (see :class:`emcore.EM` and
    :mod:`emcore.missing`): the E-step and the log-likelihood use each row's observed
    coordinates, the M-step fills the others in by their conditional expectations under the
    mixture's current parameters.
    """

    def __init__(
        self,
        components: Iterable[Gauss],
        covariance_type: str = "full",
        reg_covar: float = 1e-6,
    ) -> None:
        components = list(components)
        if not components or not all(isinstance(c, Gauss) for c in components):
            raise ValueError("A Mixture needs at least one Gauss component.")
        if len({c.mu.shape[0] for c in components}) != 1:
            raise ValueError("All components of a Mixture must have the same dimension.")
        model = covariance_model(covariance_type)
        weights = np.array([c.pi for c in components])
        if weights.sum() <= 0:
            raise ValueError("At least one component needs a positive weight pi.")
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
        """A Mixture holding existing parameters."""
        mixture = cls.__new__(cls)
        mixture._start(params, reg_covar)
        return mixture

    def _start(self, params: MixtureParams, reg_covar: float) -> None:
        self.model = params.model
        self.reg_covar = check_positive("reg_covar", reg_covar)
        self.params = params
        self.resp: np.ndarray | None = None
        self.log_likelihoods: list[float] = []
        self.history: list = []
        self.events: list = []
        self.converged = False
        self._components = self._build_components()

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
        in by expectation under the current parameters (those of the last E-step).
        """
        X = self._check(X, missing, to_fit=True)
        if self.resp is None or self.resp.shape[0] != X.shape[0]:
            raise ValueError(
                "maximization needs responsibilities for this X: call expectation(X) first."
            )
        weights = check_sample_weight(sample_weight, len(X))
        self.params = m_step(
            X, self.resp, self.model.name, self.reg_covar, self.params, sample_weight=weights
        )
        self._components = self._build_components()
        self._share_resp()
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
        """
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
        self.params = run.params
        self.resp = run.resp
        self.log_likelihoods = run.log_likelihoods
        self.history = run.history
        self.events = run.events
        self.converged = run.converged
        self._components = self._build_components()
        self._share_resp()
        return self

    def predict(self, X: np.ndarray, missing: str = "error") -> np.ndarray:
        """Index of the most responsible component for every point."""
        return e_step(self._check(X, missing), self.params).log_resp.argmax(axis=1)

    # -- helpers --------------------------------------------------------------------------

    def _check(self, X: np.ndarray, missing: str = "error", to_fit: bool = False) -> np.ndarray:
        return check_data(X, n_features=self.params.n_features, missing=missing, to_fit=to_fit)

    def _build_components(self) -> list[Gauss]:
        full = self.params.full_covariances
        return [
            Gauss(mu, cov, pi)
            for mu, cov, pi in zip(self.params.means, full, self.params.weights, strict=True)
        ]

    def _share_resp(self) -> None:
        for k, component in enumerate(self._components):
            component.r = None if self.resp is None else self.resp[:, k]
