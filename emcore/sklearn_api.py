"""``GaussianMixture``: a scikit-learn compatible estimator on top of emcore's EM.

It only validates input, picks starting points, runs :class:`emcore.engine.EM` and copies the
result into scikit-learn's attribute names; the numerics are the same ones the app steps
through.
"""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.base import BaseEstimator, DensityMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted, validate_data

from emcore.covariance import covariance_model
from emcore.engine import EM
from emcore.init import INIT_METHODS, initial_params
from emcore.init import check_random_state as seeded_check_random_state
from emcore.mixture import Mixture
from emcore.params import MixtureParams
from emcore.steps import e_step
from emcore.validation import check_n_components, check_positive


class GaussianMixture(DensityMixin, BaseEstimator):
    """Gaussian mixture fitted by EM, with scikit-learn's parameters and attributes.

    Parameters
    ----------
    n_components : int, default=1
    covariance_type : {"full", "tied", "diag", "spherical"}, default="full"
    tol : float, default=1e-3
        Stop when the mean log-likelihood per sample changes by less than this.
    reg_covar : float, default=1e-6
        Added to covariance diagonals.
    max_iter : int, default=100
    n_init : int, default=1
        Independent starts; the one with the highest log-likelihood is kept.
    init_params : {"kmeans", "k-means++", "random", "random_from_data"}, default="kmeans"
        See :mod:`emcore.init`. Unlike scikit-learn's ``"random"`` (random responsibilities),
        emcore's ``"random"`` is the blog's start: random means, identity-like covariances.
    weights_init, means_init, precisions_init : array-like, optional
        User-given starting parameters (precisions in the covariance type's storage).
    random_state : int, RandomState or None
        Seed for the starts and for :meth:`sample`.
    regularization : {"add", "floor"}, default="add"
        ``"add"`` adds ``reg_covar`` to every variance, exactly as scikit-learn (same numbers
        from the same start). ``"floor"`` only raises eigenvalues below ``reg_covar``: EM's
        log-likelihood then never decreases, even on degenerate data.

    Attributes
    ----------
    weights_, means_, covariances_, precisions_, precisions_cholesky_ : ndarray
    converged_ : bool
    n_iter_ : int
        EM iterations (M-steps) of the kept start.
    lower_bound_ : float
        Mean log-likelihood per sample of the final parameters.
    lower_bounds_ : list of float
        Mean log-likelihood per sample at every iteration of the kept start.
    """

    def __init__(
        self,
        n_components: int = 1,
        *,
        covariance_type: str = "full",
        tol: float = 1e-3,
        reg_covar: float = 1e-6,
        max_iter: int = 100,
        n_init: int = 1,
        init_params: str = "kmeans",
        weights_init=None,
        means_init=None,
        precisions_init=None,
        random_state=None,
        regularization: str = "add",
    ) -> None:
        self.n_components = n_components
        self.covariance_type = covariance_type
        self.tol = tol
        self.reg_covar = reg_covar
        self.max_iter = max_iter
        self.n_init = n_init
        self.init_params = init_params
        self.weights_init = weights_init
        self.means_init = means_init
        self.precisions_init = precisions_init
        self.random_state = random_state
        self.regularization = regularization

    # -- fitting --------------------------------------------------------------------------

    def fit(self, X, y=None) -> GaussianMixture:
        """Fit the mixture to ``X`` (``y`` is ignored)."""
        self.fit_predict(X, y)
        return self

    def fit_predict(self, X, y=None) -> np.ndarray:
        """Fit, then return the most likely component of every sample."""
        X = validate_data(self, X, dtype=[np.float64, np.float32], ensure_min_samples=2)
        X = np.asarray(X, dtype=np.float64)
        self._check_parameters(X)
        # An integer seed gives the same RandomState as scikit-learn's, 60 us sooner.
        seeds = seeded_check_random_state(self.random_state)
        best: EM | None = None
        for _ in range(self.n_init):
            start = initial_params(
                X,
                self.n_components,
                self.covariance_type,
                self.init_params,
                seeds,
                self.reg_covar,
                self.weights_init,
                self.means_init,
                self.precisions_init,
                self.regularization,
            )
            run = EM(
                X,
                start,
                self.reg_covar,
                self.tol,
                self.max_iter,
                record="none",
                regularization=self.regularization,
            ).run()
            if best is None or run.log_likelihoods[-1] > best.log_likelihoods[-1]:
                best = run
        if not best.converged:
            warnings.warn(
                f"EM did not converge in {self.max_iter} iterations; try a larger max_iter, "
                "a looser tol or another start.",
                ConvergenceWarning,
                stacklevel=2,
            )
        self._store(best, len(X))
        return best.resp.argmax(axis=1)

    def _check_parameters(self, X: np.ndarray) -> None:
        check_n_components(self.n_components)
        covariance_model(self.covariance_type)
        check_positive("tol", self.tol)
        check_positive("reg_covar", self.reg_covar)
        for name in ("max_iter", "n_init"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
                raise ValueError(f"{name} must be a whole number of at least 1; got {value!r}.")
        if self.init_params not in INIT_METHODS:
            choices = ", ".join(repr(name) for name in INIT_METHODS)
            raise ValueError(f"init_params must be one of {choices}; got {self.init_params!r}.")
        if X.shape[0] < self.n_components:
            raise ValueError(
                f"Expected n_samples >= n_components but got n_components = "
                f"{self.n_components}, n_samples = {X.shape[0]}. Use fewer components."
            )

    def _store(self, run: EM, n_samples: int) -> None:
        params = run.params
        self.weights_ = params.weights
        self.means_ = params.means
        self.covariances_ = params.covariances
        self.precisions_cholesky_ = params.precisions_cholesky
        self.precisions_ = params.precisions
        self.converged_ = run.converged
        self.n_iter_ = run.iteration
        self.lower_bounds_ = [value / n_samples for value in run.log_likelihoods]
        self.lower_bound_ = self.lower_bounds_[-1]

    # -- using a fitted model -------------------------------------------------------------

    @property
    def params_(self) -> MixtureParams:
        """The fitted parameters as emcore's :class:`MixtureParams`."""
        check_is_fitted(self)
        return MixtureParams(
            self.weights_,
            self.means_,
            self.covariances_,
            self.covariance_type,
            self.precisions_cholesky_,
        )

    def to_mixture(self) -> Mixture:
        """The fitted model as a friendly :class:`emcore.Mixture` of ``Gauss`` components."""
        return Mixture.from_params(self.params_, self.reg_covar)

    def _estep(self, X):
        check_is_fitted(self)
        X = validate_data(self, X, dtype=[np.float64, np.float32], reset=False)
        return e_step(np.asarray(X, dtype=np.float64), self.params_)

    def score_samples(self, X) -> np.ndarray:
        """Log-likelihood of every sample."""
        return self._estep(X).log_prob

    def score(self, X, y=None) -> float:
        """Mean log-likelihood per sample."""
        return float(self.score_samples(X).mean())

    def predict(self, X) -> np.ndarray:
        """Most likely component of every sample."""
        return self._estep(X).log_resp.argmax(axis=1)

    def predict_proba(self, X) -> np.ndarray:
        """Responsibilities, shape (n_samples, n_components)."""
        return self._estep(X).resp

    def _n_parameters(self) -> int:
        return self.params_.n_parameters()

    def bic(self, X) -> float:
        """Bayesian information criterion (lower is better): -2 log L + p ln n."""
        n = np.shape(X)[0]
        return -2 * self.score(X) * n + self._n_parameters() * np.log(n)

    def aic(self, X) -> float:
        """Akaike information criterion (lower is better): -2 log L + 2 p."""
        return -2 * self.score(X) * np.shape(X)[0] + 2 * self._n_parameters()

    def sample(self, n_samples: int = 1) -> tuple[np.ndarray, np.ndarray]:
        """Draw samples and their component labels from the fitted mixture."""
        check_is_fitted(self)
        if isinstance(n_samples, bool) or not isinstance(n_samples, int | np.integer):
            raise ValueError(f"n_samples must be a whole number; got {n_samples!r}.")
        if n_samples < 1:
            raise ValueError(
                f"Invalid value for 'n_samples': {n_samples}. The sampling requires at "
                "least one sample."
            )
        rng = check_random_state(self.random_state)
        counts = rng.multinomial(n_samples, self.weights_)
        full = self.params_.full_covariances
        draws = [
            rng.multivariate_normal(mean, cov, int(count))
            for mean, cov, count in zip(self.means_, full, counts, strict=True)
        ]
        labels = np.repeat(np.arange(self.n_components), counts)
        return np.vstack(draws), labels
