"""``GaussianMixture``: a scikit-learn compatible estimator on top of emcore's EM.

It only validates input, picks starting points, runs :class:`emcore.engine.EM` and copies the
result into scikit-learn's attribute names; the numerics are the same ones the app steps
through.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial

import numpy as np
from sklearn.base import BaseEstimator, DensityMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted, validate_data

from emcore.covariance import covariance_model, decompose, weighted_moments
from emcore.engine import EM
from emcore.init import INIT_METHODS, initial_params
from emcore.init import check_random_state as seeded_check_random_state
from emcore.missing import impute, missing_patterns
from emcore.mixture import Mixture, refuse_singular
from emcore.params import MixtureParams
from emcore.steps import EStep, e_step, total_log_likelihood
from emcore.validation import (
    check_choice,
    check_data,
    check_missing,
    check_n_components,
    check_positive,
    check_sample_weight,
    check_shape,
    plain_values,
)

# Rows a fit needs, in memory and on Dask alike (scikit-learn's rule for GaussianMixture: a
# covariance cannot be estimated from one row).
MIN_FIT_SAMPLES = 2


class GaussianMixture(DensityMixin, BaseEstimator):
    """Gaussian mixture fitted by EM, with scikit-learn's parameters and attributes.

    Parameters
    ----------
    n_components : int, default=1
    covariance_type : str, default="full"
        scikit-learn's "full", "tied", "diag", "spherical", or any of mclust's 14 models
        (Celeux & Govaert 1995): "EII", "VII", "EEI", "VEI", "EVI", "VVI", "EEE", "VEE",
        "EVE", "VVE", "EEV", "VEV", "EVV", "VVV" (letters: volume, shape, orientation;
        Equal, Variable or Identity across components). scikit-learn's names are aliases of
        VVV, EEE, VVI and VII. ``covariances_`` is stored as the model's kind: (K,) variances
        for EII and VII, (K, d) diagonals for EEI, VEI, EVI and VVI, one (d, d) matrix for
        EEE, and (K, d, d) matrices for the seven other ellipsoidal models.
    tol : float, default=1e-3
        Stop when the mean log-likelihood per sample changes by less than this.
    reg_covar : float, default=1e-6
        Added to covariance diagonals. With ``reg_covar=0`` a component that collapses onto
        repeated or too few points makes the likelihood unbounded: :meth:`fit` then raises.
    max_iter : int, default=100
        EM iterations per start; 0 returns the start itself (``n_iter_ = 0``, no
        ConvergenceWarning, as scikit-learn).
    n_init : int, default=1
        Independent starts; the one with the highest log-likelihood is kept (with
        ``max_iter=0`` too, where scikit-learn keeps the last start).
    init_params : {"kmeans", "k-means++", "random", "random_from_data", "hc"}, default="kmeans"
        See :mod:`emcore.init`. k-means and k-means++ run on standardised columns, so the
        start does not depend on each column's units (scikit-learn's run in the data's units:
        default starts may differ). Unlike scikit-learn's ``"random"`` (random
        responsibilities), emcore's ``"random"`` is the blog's start: random means,
        identity-like covariances. ``"hc"`` is R mclust's start, a model-based hierarchical
        agglomeration cut at ``n_components`` (:mod:`emcore.hc`).
    weights_init, means_init, precisions_init : array-like, optional
        User-given starting parameters, finite numbers (precisions in the covariance type's
        storage). For a model with an E or I letter (EII, EEI, VEI, ...) the precisions are
        first fitted to the model, as :class:`emcore.Mixture` fits given covariances: its
        maximum-likelihood estimate from their covariances, weighted by the start's weights
        (unequal EII precisions become one variance, their weighted mean). Precisions that
        already satisfy the model are kept.
    random_state : int, RandomState or None
        Seed for the starts and for :meth:`sample`.
    warm_start : bool, default=False
        If True, every :meth:`fit` after the first continues from the last fit's parameters
        (``n_init`` is then ignored: one run), as scikit-learn. The settings that shape the
        parameters (``n_components``, ``covariance_type``, the number of features) must not
        change in between.
    verbose : int, default=0
        1 prints every start and every ``verbose_interval``-th iteration, 2 adds the time
        and the change of the log-likelihood per sample, in scikit-learn's words.
    verbose_interval : int, default=10
        Iterations between two printed lines.
    regularization : {"add", "floor"}, default="add"
        ``"add"`` adds ``reg_covar`` to every variance, exactly as scikit-learn (same numbers
        from the same start). ``"floor"`` only raises eigenvalues below ``reg_covar``: EM's
        log-likelihood then never decreases, even on degenerate data.
    missing : {"error", "em"}, default="error"
        What NaN cells in ``X`` mean, for every method that takes ``X``. ``"error"`` refuses
        them. ``"em"`` treats them as values missing at random (scikit-learn issue #9268):
        :meth:`fit` runs EM on each row's observed coordinates (Ghahramani & Jordan, 1994;
        see :mod:`emcore.missing`), and :meth:`score_samples`, :meth:`score`,
        :meth:`predict`, :meth:`predict_proba`, :meth:`bic` and :meth:`aic` use the density
        of each row's observed coordinates (the marginal of the fitted mixture), whatever
        data the model was fitted on. A row with nothing observed is refused. Data without
        NaN give exactly the same fit and numbers either way. :meth:`impute` fills NaN in
        any case.

    Attributes
    ----------
    weights_, means_, covariances_, precisions_, precisions_cholesky_ : ndarray
    volumes_ : ndarray of shape (K,)
        ``lambda_k = |Sigma_k|^(1/d)`` (property).
    shapes_ : ndarray of shape (K, d)
        Eigenvalues over the volume (product 1), largest first (property).
    orientations_ : ndarray of shape (K, d, d)
        Eigenvectors as columns, in the order of ``shapes_`` (property; signs arbitrary).
    converged_ : bool
    n_iter_ : int
        EM iterations (M-steps) of the kept start.
    lower_bound_ : float
        Mean log-likelihood per sample of the final parameters (per unit of weight when
        fitted with ``sample_weight``); with ``max_iter=0``, the start's (scikit-learn: -inf).
    lower_bounds_ : list of float
        Mean log-likelihood per sample at every iteration of the kept start.
    events_ : list of emcore.Event
        What the kept run reported: components that emptied or collapsed (with the
        iteration and a sentence), and convergence.

    Notes
    -----
    ``fit(X, sample_weight=w)`` takes frequency weights: row i counts ``w_i`` times in every
    sum of EM and in the log-likelihood, and the number of samples is ``sum_i w_i`` (see
    :meth:`bic`). Integer weights give the fit of repeated rows, zero weights that of
    dropped rows.

    With ``missing="em"`` the starts are made from the data with each missing cell filled by
    its column's mean (see :mod:`emcore.init`), and EM runs the reference steps (the fused
    passes need complete rows). BIC's parameter count is unchanged and its n is still the
    number of rows (or the sum of the weights): a row with gaps counts as one sample.
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
        warm_start: bool = False,
        verbose: int = 0,
        verbose_interval: int = 10,
        regularization: str = "add",
        missing: str = "error",
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
        self.warm_start = warm_start
        self.verbose = verbose
        self.verbose_interval = verbose_interval
        self.regularization = regularization
        self.missing = missing

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = self.missing == "em"
        return tags

    # -- fitting --------------------------------------------------------------------------

    def fit(self, X, y=None, sample_weight=None) -> GaussianMixture:
        """Fit the mixture to ``X`` (``y`` is ignored).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : ignored
        sample_weight : array-like of shape (n_samples,), optional
            Frequency weights (see the class notes).

        Raises
        ------
        ValueError
            For invalid data, settings or weights, and when ``reg_covar=0`` and a component
            ends singular (the likelihood has no maximum there).
        """
        self.fit_predict(X, y, sample_weight)
        return self

    def fit_predict(self, X, y=None, sample_weight=None) -> np.ndarray:
        """Fit, then return the most likely component of every sample, shape (n_samples,).

        ``X`` may be a ``dask.array.Array`` (and ``sample_weight`` too): EM then runs as Dask
        tasks over its row chunks (:mod:`emcore.dask_engine`; ``pip install emcore[dask]``)
        and the labels come back as a lazy Dask array. Chunks split across columns are
        rechunked to whole rows; NaN raises a ValueError naming the chunk's rows.
        """
        if _is_dask(X):
            return self._fit_dask(X, sample_weight)
        with self._inputs_kept_if_refused():
            X = self._validate(X, reset=True)
            weights = check_sample_weight(sample_weight, len(X))
            self._check_parameters(X, weights)
            warm = self._warm_start_params(X)
            # An integer seed gives the same RandomState as scikit-learn's, 60 us sooner.
            seeds = seeded_check_random_state(self.random_state)
            best = self._best_run(EM, X, weights, warm, lambda: self._start(X, seeds, weights))
        self._store(best)
        return best.resp.argmax(axis=1)

    def _best_run(
        self,
        engine,
        X,
        weights,
        warm,
        make_start,
        stacklevel: int = 3,
        collapse_patience: int | None = None,
    ) -> EM:
        """A run of ``engine`` (:class:`EM` or the Dask engine's ``DaskEM``) from every start
        (``warm`` alone when given), the one with the highest log-likelihood kept; warns
        when it did not converge (``stacklevel``: at the caller of :meth:`fit_predict`).
        ``collapse_patience``: EM's, for :func:`emcore.select_model` on Dask (a cell whose
        start collapses stops, as in memory)."""
        progress = _Progress(self.verbose, self.verbose_interval)
        best: EM | None = None
        for init in range(1 if warm is not None else self.n_init):
            progress.start(init)
            start = warm if warm is not None else make_start()
            run = engine(
                X,
                start,
                self.reg_covar,
                self.tol,
                self.max_iter,
                record="none",
                regularization=self.regularization,
                sample_weight=weights,
                missing=self.missing,
                collapse_patience=collapse_patience,
            )
            self._iterate(run, progress)
            self._refuse_singular(run, X, weights, getattr(run, "column_variances", None))
            if best is None or run.log_likelihoods[-1] > best.log_likelihoods[-1]:
                best = run
        # As scikit-learn: max_iter=0 asks for the start, which is not meant to converge.
        if not best.converged and self.max_iter > 0:
            warnings.warn(
                f"EM did not converge in {self.max_iter} iterations; try a larger max_iter, "
                "a looser tol or another start.",
                ConvergenceWarning,
                stacklevel=stacklevel,
            )
        return best

    def _fit_dask(self, X, sample_weight, collapse_patience: int | None = None):
        """:meth:`fit_predict` on a Dask array: the same starts, runs and checks, each EM
        iteration one tree-reduced pass over the chunks; starts other than user-given
        parameters are made on a few thousand rows drawn chunk-wise (all rows of small
        data). ``collapse_patience``: see :meth:`_best_run`."""
        from emcore.dask_engine import (
            MISSING_EM_REFUSED,
            DaskEM,
            initial_params_dask,
            prepare,
            summarise,
        )

        if check_missing(self.missing) == "em":
            raise ValueError(MISSING_EM_REFUSED)
        # The checks of fit in memory (:meth:`_validate`), in the same order: the shape
        # (at least MIN_FIT_SAMPLES rows, a column), then the settings; the values are
        # checked chunk by chunk by the first pass (summarise).
        Xd, column = prepare(X, sample_weight, min_samples=MIN_FIT_SAMPLES)
        self._check_parameters(X)
        warm = self._warm_start_params(X)
        weights = None if column is None else column[:, 0]
        seeds = seeded_check_random_state(self.random_state)

        def make_start() -> MixtureParams:
            return self._start(Xd, seeds, column, initial_params_dask)

        # Checks every chunk (NaN, weights) before any start is drawn; shared by the starts.
        engine = partial(DaskEM, summary=summarise(Xd, column))
        best = self._best_run(
            engine, Xd, weights, warm, make_start, 4, collapse_patience=collapse_patience
        )
        self._store(best)
        self.n_features_in_ = X.shape[1]
        if hasattr(self, "feature_names_in_"):
            del self.feature_names_in_
        return self.predict(X)

    def _start(
        self, X: np.ndarray, seeds, weights: np.ndarray | None, initializer=initial_params
    ) -> MixtureParams:
        """A start by ``initializer`` (:func:`emcore.init.initial_params`, or the Dask
        engine's, which takes the same arguments) with the estimator's settings."""
        return initializer(
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
            sample_weight=weights,
        )

    def _iterate(self, run: EM, progress: _Progress) -> None:
        """Run EM to the end; with ``verbose``, in stretches of ``verbose_interval``
        iterations with a line after each (the fused passes stay in use)."""
        if not self.verbose or self.max_iter == 0:
            run.run()
        else:
            interval = self.verbose_interval
            while not run.converged and run.iteration < self.max_iter:
                stretch = min(interval - run.iteration % interval, self.max_iter - run.iteration)
                run.run(max_iter=stretch)
                if run.iteration % interval == 0:
                    change = (run.log_likelihoods[-1] - run.log_likelihoods[-2]) / run.n_samples
                    progress.iteration(run.iteration, change)
        if self.max_iter > 0:
            progress.end(run.log_likelihoods[-1] / run.n_samples, run.converged)

    @contextmanager
    def _inputs_kept_if_refused(self) -> Iterator[None]:
        """Put back ``n_features_in_`` and ``feature_names_in_`` if the fit inside raises,
        so a refused refit leaves the last good fit usable as it was.

        Validating X with ``reset=True`` records the new data's columns before the later
        checks run; a refused refit (a warm start asked to continue in 3 columns a fit made
        in 2) then left the estimator expecting 3 columns, so the kept good fit could no
        longer predict.
        """
        names = ("n_features_in_", "feature_names_in_")
        saved = {name: getattr(self, name) for name in names if hasattr(self, name)}
        try:
            yield
        except ValueError:
            for name in names:
                if name in saved:
                    setattr(self, name, saved[name])
                elif hasattr(self, name):
                    delattr(self, name)
            raise

    def _warm_start_params(self, X: np.ndarray) -> MixtureParams | None:
        """The last fit's parameters when ``warm_start`` continues it, else None."""
        if not (self.warm_start and hasattr(self, "converged_")):
            return None
        model = covariance_model(self.covariance_type)
        shape = model.shape(self.n_components, X.shape[1])
        if self._fitted_covariance_type != model.name or self.covariances_.shape != shape:
            raise ValueError(
                "warm_start=True continues the last fit, but it had "
                f"{len(self.means_)} {self._fitted_covariance_type!r} components in "
                f"{self.means_.shape[1]} dimensions and {self.n_components} "
                f"{model.name!r} components in {X.shape[1]} dimensions are asked for now. "
                "Set warm_start=False to start afresh."
            )
        return self.params_

    def _refuse_singular(
        self,
        run: EM,
        X: np.ndarray | None,
        weights: np.ndarray | None,
        variances: np.ndarray | None = None,
    ) -> None:
        """Raise if, with nothing regularising them, a component's covariance is singular.

        The likelihood has no maximum there (it grows without bound as the component
        shrinks), so the numbers such a fit reports are set by the arithmetic's limits, not
        by the data (a variance of 0, a log-density of +342 from a 1e-300 floor).
        """
        if self.reg_covar > 0:
            return
        if variances is None:
            variances = weighted_moments(X, weights)[1]
        refuse_singular(run.params, variances, f" at iteration {run.iteration}")

    def _validate(self, X, reset: bool, missing: str | None = None) -> np.ndarray:
        """``X`` as float64 (n_samples, n_features), NaN only as ``missing`` allows.

        scikit-learn's checks (shape, feature names, infinity) let NaN through; emcore's
        then refuse it with a message naming ``missing="em"``, or refuse rows of only NaN.
        """
        missing = check_missing(self.missing if missing is None else missing)
        # scikit-learn's check would say "DTypePromotionError", fit dates as numbers or read
        # a masked array's hidden values.
        X = plain_values(X)
        min_samples = MIN_FIT_SAMPLES if reset else 1
        if getattr(X, "shape", None) is not None:  # arrays and frames: judged as on Dask
            check_shape(X.shape, min_samples)
        # The shape is judged by emcore's check_shape (via check_data), which the Dask path
        # shares, not by scikit-learn's (whose words it keeps): one rule for both engines.
        X = validate_data(
            self,
            X,
            dtype=[np.float64, np.float32],
            ensure_min_samples=0,
            ensure_min_features=0,
            ensure_all_finite="allow-nan",
            reset=reset,
        )
        return check_data(
            np.asarray(X, dtype=np.float64), missing=missing, to_fit=reset, min_samples=min_samples
        )

    def _check_parameters(self, X: np.ndarray, weights: np.ndarray | None = None) -> None:
        check_missing(self.missing)
        check_n_components(self.n_components)
        covariance_model(self.covariance_type)
        check_positive("tol", self.tol)
        check_positive("reg_covar", self.reg_covar)
        for name, least in (("max_iter", 0), ("n_init", 1), ("verbose_interval", 1)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < least:
                raise ValueError(
                    f"{name} must be a whole number of at least {least}; got {value!r}."
                )
        if not isinstance(self.verbose, int | np.integer) or self.verbose < 0:
            raise ValueError(f"verbose must be 0, 1 or 2; got {self.verbose!r}.")
        check_choice("init_params", self.init_params, tuple(INIT_METHODS))
        counted = X.shape[0] if weights is None else int(np.count_nonzero(weights))
        if counted < self.n_components:
            rows = "n_samples" if weights is None else "rows of positive sample_weight"
            raise ValueError(
                f"Expected {rows} >= n_components but got n_components = "
                f"{self.n_components}, {rows} = {counted}. Use fewer components."
            )

    def _store(self, run: EM) -> None:
        # Copies: a start's arrays can be the user's own (means_init, ... with max_iter=0) or
        # the last fit's (warm_start), and the fitted estimator must not change with them.
        params = run.params
        self.weights_ = params.weights.copy()
        self.means_ = params.means.copy()
        self.covariances_ = params.covariances.copy()
        self.precisions_cholesky_ = params.precisions_cholesky.copy()
        self.precisions_ = params.precisions
        self.converged_ = run.converged
        self.n_iter_ = run.iteration
        self.lower_bounds_ = [value / run.n_samples for value in run.log_likelihoods]
        self.lower_bound_ = self.lower_bounds_[-1]
        self.events_ = list(run.events)
        self._fitted_covariance_type = params.covariance_type

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

    @property
    def volumes_(self) -> np.ndarray:
        """Every component's volume ``|Sigma_k|^(1/d)``, shape (K,)."""
        return decompose(self.params_.full_covariances)[0]

    @property
    def shapes_(self) -> np.ndarray:
        """Every component's shape (eigenvalues over the volume, largest first), (K, d)."""
        return decompose(self.params_.full_covariances)[1]

    @property
    def orientations_(self) -> np.ndarray:
        """Every component's orientation (eigenvectors as columns), shape (K, d, d)."""
        return decompose(self.params_.full_covariances)[2]

    def to_mixture(self) -> Mixture:
        """The fitted model as a friendly :class:`emcore.Mixture` of ``Gauss`` components:
        an independent copy (editing it, or refitting it, leaves the estimator as it is)."""
        return Mixture.from_params(self.params_, self.reg_covar)

    def _estep(self, X) -> EStep:
        check_is_fitted(self)
        return e_step(self._validate(X, reset=False), self.params_)

    def score_samples(self, X) -> np.ndarray:
        """Log-likelihood of every sample, shape (n_samples,).

        With ``missing="em"``, a row with NaN cells gets the log-density of its observed
        coordinates under the fitted mixture (the marginal of those coordinates). On a Dask
        array: a lazy Dask array.
        """
        if _is_dask(X):
            return self._lazy(X, "log_prob")
        return self._estep(X).log_prob

    def _lazy(self, X, kind: str):
        """A lazy Dask array of per-row results (see :func:`emcore.dask_engine.lazy_e_step`)."""
        from emcore.dask_engine import lazy_e_step

        check_is_fitted(self)
        return lazy_e_step(X, self.params_, kind, check_missing(self.missing))

    def impute(self, X) -> np.ndarray:
        """A copy of ``X`` with every NaN cell replaced by its conditional mean.

        ``E[x_m | x_o] = sum_k r_ik E[x_m | x_o, k]``, where ``E[x_m | x_o, k] = mu_km +
        S_kmo S_koo^-1 (x_o - mu_ko)`` is component k's conditional mean (its mean ``mu_km``
        for diag and spherical covariances) and ``r_ik`` the responsibilities of the observed
        coordinates (:meth:`predict_proba`). Accepts NaN whatever ``missing`` is: filling
        them is what it is for.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples, n_features)
            Observed cells unchanged.

        Raises
        ------
        ValueError
            If a row has no observed value (it is named), or the data do not fit the model.
        """
        check_is_fitted(self)
        X = self._validate(X, reset=False, missing="em")
        patterns = missing_patterns(X)
        if patterns is None:
            return X.copy()  # nothing to fill (and never the caller's own array)
        resp = e_step(X, self.params_, patterns).resp
        return impute(X, self.params_, resp, patterns)

    def score(self, X, y=None, sample_weight=None) -> float:
        """Mean log-likelihood per sample: ``sum_i w_i log p(x_i) / sum_i w_i`` with weights."""
        if _is_dask(X):
            total, n = self._total_and_count(X, sample_weight)
            return total / n
        log_prob = self.score_samples(X)
        weights = check_sample_weight(sample_weight, len(log_prob))
        return float(np.average(log_prob, weights=weights))

    def predict(self, X) -> np.ndarray:
        """Most likely component of every sample (on a Dask array: a lazy Dask array)."""
        if _is_dask(X):
            return self._lazy(X, "labels")
        return self._estep(X).log_resp.argmax(axis=1)

    def predict_proba(self, X) -> np.ndarray:
        """Responsibilities, shape (n_samples, n_components) (on a Dask array: lazy)."""
        if _is_dask(X):
            return self._lazy(X, "proba")
        return self._estep(X).resp

    def _n_parameters(self) -> int:
        return self.params_.n_parameters()

    def _total_and_count(self, X, sample_weight) -> tuple[float, float]:
        """``sum_i w_i log p(x_i)`` and ``n = sum_i w_i`` (the row count without weights)."""
        if _is_dask(X):
            from emcore.dask_engine import weighted_total

            return weighted_total(self._lazy(X, "log_prob"), sample_weight)
        log_prob = self.score_samples(X)
        weights = check_sample_weight(sample_weight, len(log_prob))
        n = float(len(log_prob) if weights is None else weights.sum())
        return total_log_likelihood(log_prob, weights), n

    def bic(self, X, sample_weight=None) -> float:
        """Bayesian information criterion (lower is better): ``-2 log L + p ln n``.

        With ``sample_weight``, ``log L = sum_i w_i log p(x_i)`` and ``n = sum_i w_i``: the
        number of samples the frequency weights stand for (Schwarz, 1978, with each row
        counted ``w_i`` times). Weights that are not counts (e.g. summing to 1) make ``n``
        meaningless for BIC; scale them to counts first.
        """
        total, n = self._total_and_count(X, sample_weight)
        return -2 * total + self._n_parameters() * np.log(n)

    def aic(self, X, sample_weight=None) -> float:
        """Akaike information criterion (lower is better): ``-2 log L + 2 p``, ``log L``
        weighted as in :meth:`bic`."""
        total, _ = self._total_and_count(X, sample_weight)
        return -2 * total + 2 * self._n_parameters()

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


def _is_dask(X) -> bool:
    """A Dask array? (Dask is imported only for objects that look like one.)"""
    if getattr(X, "chunks", None) is None or not hasattr(X, "compute"):
        return False
    from emcore.dask_engine import looks_like_dask

    return looks_like_dask(X)


class _Progress:
    """scikit-learn's verbose lines: every start, every ``interval``-th iteration, the end."""

    def __init__(self, verbose: int, interval: int) -> None:
        self.verbose = verbose
        self.interval = interval
        self._start_time = self._iteration_time = 0.0

    def start(self, init: int) -> None:
        if self.verbose:
            print(f"Initialization {init}")
            self._start_time = self._iteration_time = time.perf_counter()

    def iteration(self, n_iter: int, change: float) -> None:
        if self.verbose == 1:
            print(f"  Iteration {n_iter}")
        elif self.verbose >= 2:
            now = time.perf_counter()
            lapse = now - self._iteration_time
            print(f"  Iteration {n_iter}\t time lapse {lapse:.5f}s\t ll change {change:.5f}")
            self._iteration_time = now

    def end(self, lower_bound: float, converged: bool) -> None:
        outcome = "converged" if converged else "did not converge"
        if self.verbose == 1:
            print(f"Initialization {outcome}.")
        elif self.verbose >= 2:
            lapse = time.perf_counter() - self._start_time
            print(
                f"Initialization {outcome}. time lapse {lapse:.5f}s\t lower bound "
                f"{lower_bound:.5f}."
            )
