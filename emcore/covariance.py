"""Covariance models: each one is defined here, in one class, and nowhere else.

mclust's 14 models (Celeux & Govaert 1995; Fraley & Raftery 2002) write every covariance as
``Sigma_k = lambda_k D_k A_k D_k^T``, volume, shape and orientation, each Equal across
components, Variable, or the Identity: EII, VII, EEI, VEI, EVI, VVI, EEE, VEE, EVE, VVE, EEV,
VEV, EVV, VVV. scikit-learn's four names are aliases of four of them:

- ``full``: every component has its own d x d matrix (mclust's VVV);
- ``tied``: all components share one d x d matrix (EEE);
- ``diag``: every component has its own diagonal (VVI);
- ``spherical``: every component has its own single variance (VII).

A model is made of two things. Its *storage* (spherical variances (K,), diagonals (K, d), one
shared matrix (d, d) or matrices (K, d, d)) decides how the E-step evaluates it and which
*sufficient statistic* of a pass its M-step needs (:attr:`CovarianceModel.family`: traces,
diagonals, the pooled scatter or full scatters). Its *M-step*
(:meth:`CovarianceModel.maximum_likelihood_from`) turns that statistic and the counts into
parameters. The reference steps, the fused pass (:mod:`emcore.fast`) and the missing-value
steps compute the statistic their own way and share that one M-step per model: "the M-step of
VEV" is ``VolumeOrientationCovariance.maximum_likelihood_from`` below.

Each class also knows how its covariances are stored, how to turn
them into Cholesky factors of the precision (the parameterisation the E-step uses, as in
scikit-learn: ``precision = P @ P.T``), the log-determinant of those factors, the squared
Mahalanobis distance of every point to every component (vectorised over components), and how
many free parameters they have. The rest of emcore asks ``covariance_model(name)`` for the
object and never dispatches on the name itself.

For missing values (:mod:`emcore.missing`) each type gives its M-step from expected scatter
matrices (:meth:`CovarianceModel.from_scatter`); the marginal and conditional Gaussians of
each missingness pattern are taken from the full covariances (:meth:`CovarianceModel.to_full`)
for every model alike, batched over the patterns.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from functools import cache
from typing import ClassVar, Literal

import numpy as np

Regularization = Literal["add", "floor"]
REGULARIZATIONS: tuple[str, ...] = ("add", "floor")


def effective_reg(
    X: np.ndarray,
    reg_covar: float,
    regularization: Regularization,
    scale: float | None = None,
    sample_weight: np.ndarray | None = None,
) -> float:
    """The variance floor or addend actually used.

    ``"add"`` uses ``reg_covar`` as is (scikit-learn's absolute convention). ``"floor"``
    measures it in units of the data's scale, its smallest column variance
    (:func:`data_scale`), so the same setting works for data at any scale (1e-8 or 1e8) and
    in any column's units: the floor ``reg_covar`` times that variance lies below
    ``reg_covar`` times every column's own variance, in every direction.
    ``scale`` is ``data_scale(X, sample_weight)`` when the caller already has it (it costs a
    pass over X).
    """
    if regularization == "add":
        return reg_covar
    return reg_covar * (data_scale(X, sample_weight) if scale is None else scale)


def weighted_moments(
    X: np.ndarray, sample_weight: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Column means and (biased) variances of ``X``, shape (d,) each.

    With ``sample_weight`` (n,) they are frequency-weighted: ``sum_i w_i x_i / sum_i w_i``
    and the same for squared deviations, so a weight of 2 counts like a repeated row and a
    weight of 0 like a dropped one. NaN cells (missing values) are left out: each column's
    moments are those of its observed cells (every column needs one, see
    :func:`emcore.validation.check_observed_columns`).
    """
    missing = np.isnan(X)
    if missing.any():
        return _observed_moments(X, ~missing, sample_weight)
    if sample_weight is None:
        return X.mean(axis=0), np.var(X, axis=0)
    mean = np.average(X, axis=0, weights=sample_weight)
    return mean, np.average((X - mean) ** 2, axis=0, weights=sample_weight)


def _observed_moments(
    X: np.ndarray, observed: np.ndarray, sample_weight: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray]:
    """Weighted means and variances of each column's observed cells, shape (d,) each."""
    weights = observed * (1.0 if sample_weight is None else sample_weight[:, None])
    values = np.where(observed, X, 0.0)
    mean = (weights * values).sum(axis=0) / weights.sum(axis=0)
    # Unobserved cells have weight 0, so their stand-in value adds nothing.
    return mean, (weights * (values - mean) ** 2).sum(axis=0) / weights.sum(axis=0)


def data_scale(X: np.ndarray, sample_weight: np.ndarray | None = None) -> float:
    """The data's scale: its smallest column variance, columns that are constant left out,
    or 1 when every column is (the points are all identical).

    The unit of the covariance floor (:func:`effective_reg`) and of the collapse checks. The
    smallest column's, not the average's: measured against the average, a floor of 1e-8
    exceeded the clusters' variances in a column 10^4 times smaller than another (its
    variance 10^8 times smaller), so healthy fits there sat on the floor and were judged
    collapsed, and select_model chose EEI,1 where mclust, which has no floor, chose VEI,3.

    The variance of a constant column's floats comes out as rounding noise (1e-30, not 0),
    so "constant" means a variance negligible next to the column's magnitude. With
    ``sample_weight`` both are weighted (see :func:`weighted_moments`).
    """
    mean, variances = weighted_moments(X, sample_weight)
    return scale_from_moments(mean, variances)


# The variance of identical floats x is rounding noise of about (eps x)^2 = 5e-32 x^2; a true
# spread is far above it. 1e-28 leaves a margin of 2,000 over that noise and keeps data such
# as iris in millimetres at 1e8 (variance 1e-6, magnitude 1e16: 5 digits of spread left).
IDENTICAL_VARIANCE = 1e-28

# A column whose variance is below this fraction of the data's largest magnitude is rounding
# residue too, whatever its own mean: 500 times under the noise (eps x)^2 of that magnitude,
# where no column measured in its own units sits (light's frequency in Hz, 5e14, next to a
# reflectance of 0.5 with variance 0.02: 1e-31 of it, a real spread, which the former test
# at 1e-28 of the largest magnitude called constant, so select_model lost 36 of 42 cells
# and the floor was 1e24 times the reflectance's variance). Residues of a computation that
# should give 0 (values near 1e-14 around 0, variance 1e-29, next to columns of 1e4) are
# 1e-37 of it.
RESIDUE_VARIANCE = 1e-34


def scale_from_moments(mean: np.ndarray, variances: np.ndarray) -> float:
    """:func:`data_scale` from the columns' means and variances, shape (d,) each.

    A column is left out when it is constant (:func:`constant_columns`): its variance is
    rounding noise next to its own magnitude, or residue far below the rounding of the
    data's largest magnitude (values near 1e-14 around 0 have no magnitude of their own to
    compare with, yet a floor measured in their variance (1e-29) did nothing and EEI,9 was
    chosen on spikes at their 13 values).
    """
    spread = ~constant_columns(mean, variances)
    return float(np.asarray(variances)[spread].min()) if spread.any() else 1.0


def constant_columns(mean: np.ndarray, variances: np.ndarray) -> np.ndarray:
    """Columns whose variance is 0, rounding noise next to the column's own magnitude
    (:data:`IDENTICAL_VARIANCE`) or residue next to the data's largest magnitude
    (:data:`RESIDUE_VARIANCE`), from their means and variances (d,); shape (d,) bool.

    Each column is judged in its own units first, so data mixing units (Hz next to a
    fraction) keep every column that varies."""
    variances, mean = np.asarray(variances, dtype=float), np.asarray(mean, dtype=float)
    own = variances + mean**2
    largest = float(own.max()) if variances.size else 0.0
    spread = (variances > IDENTICAL_VARIANCE * own) & (variances > RESIDUE_VARIANCE * largest)
    return ~(spread & (variances > 0))


def safe_counts(nk: np.ndarray) -> np.ndarray:
    """``N_k`` with exact zeros replaced by 1, for dividing per-component sums, shape (K,).

    Only a component with no responsibility at all gets the stand-in; its sums are 0, so its
    estimate is 0 (and replaced by the caller's rule for empty components). A component with
    a tiny positive ``N_k`` keeps it, so its mean is its own weighted mean: a stand-in count
    there would put its mean near the origin, far from the points it still weighs.
    The stand-in is never added into a sum over components (see ``TiedCovariance``).
    """
    return np.where(nk > 0, nk, 1.0)


# Rows per block when a computation needs an (n, K, d) intermediate, so memory stays bounded.
_BLOCK_ELEMENTS = 1 << 20


def row_blocks(n_rows: int, elements_per_row: int) -> Iterator[slice]:
    """Slices of at most ``_BLOCK_ELEMENTS / elements_per_row`` rows covering ``range(n_rows)``."""
    size = max(1, _BLOCK_ELEMENTS // max(1, elements_per_row))
    for start in range(0, n_rows, size):
        yield slice(start, min(start + size, n_rows))


def _centred_squares(X: np.ndarray, resp: np.ndarray, means: np.ndarray) -> np.ndarray:
    """``sum_i r_ik (x_i - mu_k)**2`` per component and feature, shape (K, d).

    Centring on each component's own mean before squaring avoids the cancellation of the
    expanded form ``E[x^2] - mu^2``, which loses all digits for data far from the origin.
    """
    n_components, n_features = means.shape
    sums = np.zeros((n_components, n_features))
    for rows in row_blocks(len(X), n_components * n_features):
        diff = X[rows, None, :] - means[None, :, :]
        sums += np.einsum("nk,nkd->kd", resp[rows], diff * diff)
    return sums


def _centred_scatter(X: np.ndarray, resp: np.ndarray, means: np.ndarray) -> np.ndarray:
    """``sum_i r_ik (x_i - mu_k)(x_i - mu_k)^T`` per component, shape (K, d, d)."""
    n_components, n_features = means.shape
    scatter = np.zeros((n_components, n_features, n_features))
    for rows in row_blocks(len(X), n_components * n_features):
        diff = X[rows, None, :] - means[None, :, :]  # (n, K, d)
        weighted = diff * resp[rows, :, None]
        # One batched product for all components: (K, d, n) @ (K, n, d).
        scatter += np.matmul(weighted.transpose(1, 2, 0), diff.transpose(1, 0, 2))
    return scatter


def _scaled_distances(X: np.ndarray, means: np.ndarray, scales: np.ndarray) -> np.ndarray:
    """``sum_d ((x_d - mu_kd) * scales_kd)**2``, shape (n, K), computed on differences."""
    n_components, n_features = means.shape
    distances = np.empty((len(X), n_components))
    for rows in row_blocks(len(X), n_components * n_features):
        scaled = (X[rows, None, :] - means[None, :, :]) * scales[None, :, :]
        distances[rows] = np.einsum("nkd,nkd->nk", scaled, scaled)
    return distances


def _projected_distances(X: np.ndarray, means: np.ndarray, factors: np.ndarray) -> np.ndarray:
    """``||(x_i - mu_k) P_k||^2`` for all points and components, shape (n, K).

    The difference is taken before projecting: projecting first (``x P - mu P``) cancels
    catastrophically for a point sitting on a collapsed component far from the origin.
    """
    n_components, n_features = means.shape
    distances = np.empty((len(X), n_components))
    for rows in row_blocks(len(X), n_components * n_features):
        diff = (X[rows, None, :] - means[None, :, :]).transpose(1, 0, 2)  # (K, n, d)
        projected = np.matmul(diff, factors)  # one batched product for all components
        distances[rows] = np.einsum("knd,knd->nk", projected, projected)
    return distances


def _floor_eigenvalues(matrices: np.ndarray, floor: float) -> np.ndarray:
    """Symmetric matrices with every eigenvalue raised to at least ``floor``.

    Used only when a Cholesky factorisation fails, which happens when rounding makes a
    (nearly) singular scatter matrix slightly indefinite: e.g. collinear points at scale 1e8.
    """
    symmetric = (matrices + np.swapaxes(matrices, -1, -2)) / 2
    values, vectors = np.linalg.eigh(symmetric)
    largest = np.abs(values).max(axis=-1, keepdims=True)
    # The floor must be representable next to the largest eigenvalue, or Cholesky fails again.
    safe_floor = np.maximum(floor, largest * 1e-12)
    values = np.maximum(values, safe_floor)
    return (vectors * values[..., None, :]) @ np.swapaxes(vectors, -1, -2)


@cache
def _identity(d: int) -> np.ndarray:
    """The d x d identity, made once (read-only): np.eye costs 1 us, paid twice per M-step."""
    identity = np.eye(d)
    identity.flags.writeable = False
    return identity


def _raise_small_eigenvalues(matrices: np.ndarray, floor: float) -> np.ndarray:
    """Symmetric matrices with eigenvalues below ``floor`` raised to it, others untouched."""
    try:
        # Cholesky of M - floor I succeeds exactly when every eigenvalue is above the floor:
        # the usual case, found at a fraction of an eigendecomposition's cost (measured at
        # 16 x 32 x 32 under load: 240 ms for eigh, which then dominated an M-step).
        np.linalg.cholesky(matrices - floor * _identity(matrices.shape[-1]))
        return matrices
    except np.linalg.LinAlgError:
        pass
    values, vectors = np.linalg.eigh(matrices)
    if values.min() >= floor:
        return matrices
    values = np.maximum(values, floor)
    return (vectors * values[..., None, :]) @ np.swapaxes(vectors, -1, -2)


def _cholesky_of_precision(covariances: np.ndarray, reg_covar: float) -> np.ndarray:
    """Upper factors ``P`` with ``inv(cov) = P @ P.T`` for a stack of SPD matrices."""
    try:
        lower = np.linalg.cholesky(covariances)
    except np.linalg.LinAlgError:
        lower = np.linalg.cholesky(_floor_eigenvalues(covariances, max(reg_covar, 1e-300)))
    # inv(L).T is upper triangular and inv(cov) = inv(L).T @ inv(L). (inv gives the same
    # numbers as solving L X = I, without building the stack of identities: measured 18 us
    # against 25 us for 5 x 4 x 4, a cost paid after every M-step of a BIC table.)
    return np.linalg.inv(lower).swapaxes(-1, -2)  # the method: np.swapaxes costs 1 us more


class CovarianceModel(ABC):
    """What a covariance type must provide. Subclasses hold no state."""

    name: ClassVar[str]
    mclust_name: ClassVar[str]
    description: ClassVar[str]

    @abstractmethod
    def shape(self, n_components: int, n_features: int) -> tuple[int, ...]:
        """Shape of the stored covariances."""

    # Which sufficient statistic of the responsibilities this model's M-step needs (see
    # ``scatter_statistic``): the fused pass (emcore.fast) accumulates the matching features.
    family: ClassVar[str]

    # Whether the model ties components together beyond what its storage shows (mclust's E
    # and I letters): then an array of the right shape need not be one of its covariances
    # (EII is stored as K variances that must be equal), and a given one is fitted to the
    # model by :meth:`from_full`. scikit-learn's four models are their storage: False.
    constrained: ClassVar[bool] = False

    def estimate(
        self,
        X: np.ndarray,
        resp: np.ndarray,
        nk: np.ndarray,
        means: np.ndarray,
        reg_covar: float,
        regularization: Regularization = "add",
        previous: np.ndarray | None = None,
    ) -> np.ndarray:
        """M-step: regularised covariances from data, responsibilities, counts and means.

        Parameters
        ----------
        X : ndarray of shape (n, d)
        resp : ndarray of shape (n, K)
            Responsibilities, already multiplied by the sample weights if there are any.
        nk : ndarray of shape (K,)
            The true ``N_k = sum_i resp_ik`` (no stand-ins: tied covariances add them up).
        means : ndarray of shape (K, d)
            Each component's weighted mean (any finite value where ``N_k = 0``).
        reg_covar : float
            The effective value (see :func:`effective_reg`).
        regularization : {"add", "floor"}
        previous : ndarray, optional
            The previous covariances in this type's storage: where the iterative M-steps
            (VEI, VEE, EVE, VVE) start, so that EM's log-likelihood never decreases.

        Returns
        -------
        ndarray
            In this type's storage. Components with ``N_k = 0`` get 0 before regularisation;
            the caller replaces them (see :func:`emcore.steps.m_step`).
        """
        statistic = self.scatter_statistic(X, resp, means)
        return self.estimate_from(statistic, nk, reg_covar, regularization, previous)

    def estimate_from(
        self,
        statistic: np.ndarray,
        nk: np.ndarray,
        reg_covar: float,
        regularization: Regularization = "add",
        previous: np.ndarray | None = None,
    ) -> np.ndarray:
        """The M-step from this model's sufficient statistic (:meth:`scatter_statistic`).

        Every engine (the reference steps, the fused pass, missing values) computes the
        statistic its own way and calls this: each model's M-step exists once.
        """
        covariances = self.maximum_likelihood_from(statistic, nk, previous)
        return self.regularize(covariances, reg_covar, regularization)

    def maximum_likelihood(
        self, X: np.ndarray, resp: np.ndarray, nk: np.ndarray, means: np.ndarray
    ) -> np.ndarray:
        """The unregularised M-step estimate (may be singular)."""
        return self.maximum_likelihood_from(self.scatter_statistic(X, resp, means), nk)

    @abstractmethod
    def scatter_statistic(self, X: np.ndarray, resp: np.ndarray, means: np.ndarray) -> np.ndarray:
        """The part of the scatter ``W_k = sum_i r_ik (x_i - mu_k)(x_i - mu_k)^T`` the
        M-step needs, computed on differences (no cancellation far from the origin).

        Returns
        -------
        ndarray
            By :attr:`family`: ``"spherical"`` the mean variances ``tr W_k / d``, shape (K,);
            ``"diagonal"`` the diagonals, (K, d); ``"pooled"`` the sum ``sum_k W_k``, (d, d);
            ``"full"`` the matrices, (K, d, d).
        """

    @abstractmethod
    def statistic_from_scatter(self, scatter: np.ndarray) -> np.ndarray:
        """:meth:`scatter_statistic` from full scatter matrices (K, d, d)."""

    @abstractmethod
    def maximum_likelihood_from(
        self, statistic: np.ndarray, nk: np.ndarray, previous: np.ndarray | None = None
    ) -> np.ndarray:
        """The unregularised maximum-likelihood covariances (Celeux & Govaert 1995) from the
        statistic and the counts, in this type's storage (0 where ``N_k = 0``)."""

    @abstractmethod
    def regularize(
        self, covariances: np.ndarray, reg_covar: float, regularization: Regularization
    ) -> np.ndarray:
        """Keep covariances invertible.

        ``"add"`` adds ``reg_covar`` to every variance, as scikit-learn does. ``"floor"`` raises
        every eigenvalue below ``reg_covar`` up to it and leaves the others alone: that is the
        exact maximiser of the M-step's objective over covariances whose eigenvalues are at
        least ``reg_covar``, so EM stays a true EM and its log-likelihood never decreases.
        """

    @abstractmethod
    def precisions_cholesky(self, covariances: np.ndarray, reg_covar: float) -> np.ndarray:
        """Cholesky factors of the precisions, in this type's storage."""

    @abstractmethod
    def log_det_cholesky(self, precisions_cholesky: np.ndarray, n_features: int) -> np.ndarray:
        """``log det P`` for every component: half the log-determinant of the precision."""

    @abstractmethod
    def mahalanobis(
        self, X: np.ndarray, means: np.ndarray, precisions_cholesky: np.ndarray
    ) -> np.ndarray:
        """Squared Mahalanobis distances, shape (n, K)."""

    @abstractmethod
    def n_covariance_parameters(self, n_components: int, n_features: int) -> int:
        """Free parameters in the covariances."""

    @abstractmethod
    def smallest_eigenvalues(self, covariances: np.ndarray, n_components: int) -> np.ndarray:
        """Smallest eigenvalue of every component's covariance, shape (K,).

        What a collapse check needs; diagonal types read it off their variances, only
        matrices need an eigendecomposition.
        """

    @abstractmethod
    def to_full(self, covariances: np.ndarray, n_components: int, n_features: int) -> np.ndarray:
        """Covariances as a (K, d, d) stack of full matrices."""

    @abstractmethod
    def precisions(self, precisions_cholesky: np.ndarray) -> np.ndarray:
        """Precision matrices (inverse covariances) from their Cholesky factors."""

    @abstractmethod
    def cholesky_from_precisions(self, precisions: np.ndarray) -> np.ndarray:
        """Cholesky factors from user-given precisions (scikit-learn's ``precisions_init``)."""

    @abstractmethod
    def inverse(self, matrices: np.ndarray) -> np.ndarray:
        """Inverses in this type's storage (covariances from precisions and back)."""

    def keep_previous(
        self, covariances: np.ndarray, previous: np.ndarray, frozen: np.ndarray
    ) -> np.ndarray:
        """Covariances with frozen (empty) components' values taken from ``previous``."""
        result = covariances.copy()
        result[frozen] = previous[frozen]
        return result

    def from_scatter(self, scatter: np.ndarray, nk: np.ndarray) -> np.ndarray:
        """Unregularised M-step covariances from per-component scatter sums.

        Parameters
        ----------
        scatter : ndarray of shape (K, d, d)
            ``S_k = sum_i w_i r_ik E[(x_i - mu_k)(x_i - mu_k)^T]`` (with missing values, the
            expectation over the missing coordinates; see :mod:`emcore.missing`).
        nk : ndarray of shape (K,)
            The true ``N_k``.

        Returns
        -------
        ndarray
            In this type's storage: the same maximiser :meth:`maximum_likelihood` computes
            from complete data, from the same statistic.
        """
        return self.maximum_likelihood_from(self.statistic_from_scatter(scatter), nk)

    def from_full(self, full: np.ndarray, nk: np.ndarray | None = None) -> np.ndarray:
        """This model's covariances closest to full matrices: its maximum-likelihood estimate
        from scatters ``N_k full_k``.

        Every model's result satisfies the model (equal volumes, shapes or orientations
        where its letters say E, identity shape for I), and a stack that already does comes
        back unchanged (to rounding): ``from_full(to_full(x)) == x``.

        Parameters
        ----------
        full : ndarray of shape (K, d, d)
            Symmetric positive-definite matrices.
        nk : ndarray of shape (K,), optional
            How much each component counts (its weight or ``N_k``); 1 each by default.

        Returns
        -------
        ndarray
            In this model's storage.
        """
        full = np.asarray(full, dtype=float)
        weights = np.ones(len(full)) if nk is None else np.asarray(nk, dtype=float)
        # A component of weight 0 still gets a matrix (its own, barely counted).
        weights = np.where(weights > 0, weights, 1e-9 * max(weights.max(), 1e-300))
        return self.from_scatter(full * weights[:, None, None], weights)

    def __repr__(self) -> str:
        return f"covariance_model({self.name!r})"


class _MatrixCovariance(CovarianceModel):
    """Covariances stored as d x d matrices (one per component, or one shared)."""

    def regularize(self, covariances, reg_covar, regularization):
        if regularization == "floor":
            return _raise_small_eigenvalues(covariances, reg_covar)
        return covariances + reg_covar * _identity(covariances.shape[-1])

    def precisions_cholesky(self, covariances, reg_covar):
        return _cholesky_of_precision(covariances, reg_covar)

    def inverse(self, matrices):
        return np.linalg.inv(matrices)

    def cholesky_from_precisions(self, precisions):
        # P = chol(precision) is lower; P @ P.T = precision is all the E-step needs.
        return np.linalg.cholesky(precisions)

    def precisions(self, precisions_cholesky):
        return precisions_cholesky @ np.swapaxes(precisions_cholesky, -1, -2)


class _VarianceCovariance(CovarianceModel):
    """Covariances stored as variances (per feature, or one per component)."""

    def regularize(self, covariances, reg_covar, regularization):
        if regularization == "floor":
            return np.maximum(covariances, reg_covar)
        return covariances + reg_covar

    def precisions_cholesky(self, covariances, reg_covar):
        return 1.0 / np.sqrt(np.maximum(covariances, max(reg_covar, 1e-300)))

    def inverse(self, matrices):
        return 1.0 / matrices

    def cholesky_from_precisions(self, precisions):
        return np.sqrt(precisions)

    def precisions(self, precisions_cholesky):
        return precisions_cholesky**2


class FullCovariance(_MatrixCovariance):
    name = "full"
    mclust_name = "VVV"
    description = "each component has its own covariance matrix: any shape, size and angle"

    def shape(self, n_components: int, n_features: int) -> tuple[int, ...]:
        return (n_components, n_features, n_features)

    family = "full"

    def scatter_statistic(self, X, resp, means):
        return _centred_scatter(X, resp, means)

    def statistic_from_scatter(self, scatter):
        return scatter

    def maximum_likelihood_from(self, statistic, nk, previous=None):
        return statistic / safe_counts(nk)[:, None, None]

    def log_det_cholesky(self, precisions_cholesky, n_features):
        diagonals = np.diagonal(precisions_cholesky, axis1=1, axis2=2)
        return np.log(diagonals).sum(axis=1)

    def mahalanobis(self, X, means, precisions_cholesky):
        return _projected_distances(X, means, precisions_cholesky)

    def n_covariance_parameters(self, n_components, n_features):
        return n_components * n_features * (n_features + 1) // 2

    def smallest_eigenvalues(self, covariances, n_components):
        return np.linalg.eigvalsh(covariances)[:, 0]

    def to_full(self, covariances, n_components, n_features):
        return covariances.copy()

    def from_full(self, full, nk=None):
        return np.array(full, dtype=float)


class TiedCovariance(_MatrixCovariance):
    name = "tied"
    mclust_name = "EEE"
    description = "all components share one covariance matrix: same shape, size and angle"

    def shape(self, n_components: int, n_features: int) -> tuple[int, ...]:
        return (n_features, n_features)

    family = "pooled"

    def scatter_statistic(self, X, resp, means):
        return _centred_scatter(X, resp, means).sum(axis=0)

    def statistic_from_scatter(self, scatter):
        return scatter.sum(axis=0)

    def maximum_likelihood_from(self, statistic, nk, previous=None):
        # The shared matrix pools every component's scatter around its own mean, divided by
        # n = sum_k N_k (scikit-learn's estimate). A component that emptied adds its leftover
        # responsibility (< EMPTY_POINTS) around its own mean, and nothing to n: a stand-in
        # count of 1 made the result n / (n + empty components) too small.
        return statistic / nk.sum()

    def log_det_cholesky(self, precisions_cholesky, n_features):
        return np.log(np.diag(precisions_cholesky)).sum()

    def mahalanobis(self, X, means, precisions_cholesky):
        shared = np.broadcast_to(precisions_cholesky, (len(means), *precisions_cholesky.shape))
        return _projected_distances(X, means, shared)

    def n_covariance_parameters(self, n_components, n_features):
        return n_features * (n_features + 1) // 2

    def smallest_eigenvalues(self, covariances, n_components):
        # One decomposition of the shared matrix, not one per component.
        return np.full(n_components, np.linalg.eigvalsh(covariances)[0])

    def to_full(self, covariances, n_components, n_features):
        return np.broadcast_to(covariances, (n_components, n_features, n_features)).copy()

    def from_full(self, full, nk=None):
        weights = np.ones(len(full)) if nk is None else np.asarray(nk, dtype=float)
        return np.tensordot(weights / weights.sum(), full, axes=1)

    def keep_previous(self, covariances, previous, frozen):
        # The shared matrix is estimated from the components that have points; nothing to keep.
        return covariances


class DiagCovariance(_VarianceCovariance):
    name = "diag"
    mclust_name = "VVI"
    description = "each component has its own variances along the axes: ellipses not rotated"

    def shape(self, n_components: int, n_features: int) -> tuple[int, ...]:
        return (n_components, n_features)

    family = "diagonal"

    def scatter_statistic(self, X, resp, means):
        return _centred_squares(X, resp, means)

    def statistic_from_scatter(self, scatter):
        return np.diagonal(scatter, axis1=1, axis2=2).copy()

    def maximum_likelihood_from(self, statistic, nk, previous=None):
        return statistic / safe_counts(nk)[:, None]

    def log_det_cholesky(self, precisions_cholesky, n_features):
        return np.log(precisions_cholesky).sum(axis=1)

    def mahalanobis(self, X, means, precisions_cholesky):
        return _scaled_distances(X, means, precisions_cholesky)

    def n_covariance_parameters(self, n_components, n_features):
        return n_components * n_features

    def smallest_eigenvalues(self, covariances, n_components):
        # A diagonal matrix's eigenvalues are its diagonal: no eigendecomposition needed.
        return covariances.min(axis=1)

    def to_full(self, covariances, n_components, n_features):
        full = np.zeros((n_components, n_features, n_features))
        full[:, np.arange(n_features), np.arange(n_features)] = covariances
        return full

    def from_full(self, full, nk=None):
        return np.diagonal(np.asarray(full, dtype=float), axis1=1, axis2=2).copy()


class SphericalCovariance(_VarianceCovariance):
    name = "spherical"
    mclust_name = "VII"
    description = "each component has one variance in every direction: circles of any size"

    def shape(self, n_components: int, n_features: int) -> tuple[int, ...]:
        return (n_components,)

    family = "spherical"

    def scatter_statistic(self, X, resp, means):
        return _centred_squares(X, resp, means).mean(axis=1)

    def statistic_from_scatter(self, scatter):
        return np.trace(scatter, axis1=1, axis2=2) / scatter.shape[-1]

    def maximum_likelihood_from(self, statistic, nk, previous=None):
        return statistic / safe_counts(nk)

    def log_det_cholesky(self, precisions_cholesky, n_features):
        return n_features * np.log(precisions_cholesky)

    def mahalanobis(self, X, means, precisions_cholesky):
        scales = np.broadcast_to(precisions_cholesky[:, None], means.shape)
        return _scaled_distances(X, means, scales)

    def n_covariance_parameters(self, n_components, n_features):
        return n_components

    def smallest_eigenvalues(self, covariances, n_components):
        # Every eigenvalue of sigma^2 I is sigma^2.
        return covariances.copy()

    def to_full(self, covariances, n_components, n_features):
        return covariances[:, None, None] * np.eye(n_features)

    def from_full(self, full, nk=None):
        return np.trace(np.asarray(full, dtype=float), axis1=1, axis2=2) / full.shape[-1]


# -- mclust's constrained models ---------------------------------------------------------------
#
# Celeux & Govaert (1995, Pattern Recognition 28:781-793) write a covariance as
# Sigma_k = lambda_k D_k A_k D_k^T: volume lambda_k = |Sigma_k|^(1/d), shape A_k (diagonal,
# determinant 1) and orientation D_k (orthogonal). Each of the three is Equal across
# components, Variable, or the Identity, which names mclust's models (EII ... VVV). Every
# M-step below maximises the expected complete-data log-likelihood, i.e. minimises
#
#     F = sum_k [ N_k log|Sigma_k| + tr(W_k Sigma_k^-1) ]
#
# over the model's set, from the scatters W_k and counts N_k. They are stored as the four
# types above (spherical, diagonal or full), so the E-step, the fast path, missing values and
# every engine treat them as those; only the M-step, the parameter count and the statistic
# differ. Each class's ``maximum_likelihood_from`` is its M-step.

# Iterative M-steps stop when no parameter moves more than INNER_TOL (relative): mclust's own
# inner tolerance, sqrt(machine epsilon). Each starts from the previous M-step's parameters
# and every inner step lowers F, so EM never decreases whatever the tolerance.
INNER_TOL = 1.5e-8
INNER_MAX_ITER = 1000
# The common orientation (EVE, VVE) stops when a sweep lowers F by less than this times n d
# (F's trace part at the optimum given D; F itself moves by n d log s when the data are
# scaled by s, so the test is the same in any units), or after ORIENTATION_SWEEPS sweeps:
# each sweep starts from the previous M-step's orientation and lowers F, so EM still never
# decreases (a generalised EM, Dempster, Laird & Rubin 1977) and the orientation keeps
# improving across EM iterations. Measured at 20,000 x 32 x 16 from a cold start: 125 sweeps
# to 1e-12, 32 to 1.5e-8 (relative to F).
ORIENTATION_TOL = 1.5e-8
ORIENTATION_SWEEPS = 20


class _ConstrainedModel(CovarianceModel):
    """A model with parameters shared between components (mclust's E and I letters).

    Regularisation acts on each component's scatter before the constrained M-step, so the
    result keeps its constraint exactly: ``"add"`` adds ``reg_covar`` to every variance of
    ``W_k / N_k`` (for the closed forms, the same as adding it to the result), ``"floor"``
    raises its eigenvalues below ``reg_covar`` to it. The result is then floored once more
    as a guard (it binds only when the constraint itself squeezes a direction, e.g. a shared
    volume far smaller than one component's spread); there the M-step keeps the covariances
    invertible rather than exact.
    """

    constrained = True

    def from_full(self, full, nk=None):
        full = np.asarray(full, dtype=float)
        if (full == full[:1]).all():
            # Equal matrices satisfy every model, so the estimate is their storage's form
            # (the trace, the diagonal, the matrix), exactly: the iterative estimates (VEI,
            # VEE, VEV) would move the "random" start by an ulp.
            return super().from_full(full, nk)
        # Otherwise the base's maximum-likelihood projection, not the storage class's:
        # those (VII's trace, VVI's diagonal, VVV's copy) keep each component's own volume
        # and shape, outside this model (EII from variances 1 and 9 must give one variance).
        return CovarianceModel.from_full(self, full, nk)

    def estimate_from(self, statistic, nk, reg_covar, regularization="add", previous=None):
        # A component with its own volume or shape can shrink onto a point or a line; with
        # only shared size and shape (EII, EEI, EEV) the pooled scatter keeps it bounded.
        if reg_covar <= 0 and "V" in self.mclust_name[:2]:
            _refuse_singular_scatter(statistic, nk, self.family)
        scatter = self._regularised_statistic(statistic, nk, reg_covar, regularization)
        covariances, spectrum = self._solve(scatter, nk, previous)
        if spectrum is not None and _clear_of_floor(spectrum, reg_covar):
            return covariances  # the floor's own test would find nothing to raise
        return self.regularize(covariances, reg_covar, "floor")

    def _solve(
        self, statistic: np.ndarray, nk: np.ndarray, previous: np.ndarray | None
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """:meth:`maximum_likelihood_from` and, from the models that build their covariances
        from eigenvalues (:class:`_SpectralModel`), those eigenvalues (None otherwise)."""
        return self.maximum_likelihood_from(statistic, nk, previous), None

    def _regularised_statistic(self, statistic, nk, reg_covar, regularization):
        if reg_covar <= 0:
            return statistic
        counts = nk.reshape((-1,) + (1,) * (statistic.ndim - 1))
        per_point = statistic / safe_counts(counts)  # W_k / N_k in the family's form
        if regularization == "floor":
            per_point = _floor_statistic(per_point, reg_covar, self.family)
        else:
            per_point = _add_to_statistic(per_point, reg_covar, self.family)
        return per_point * counts  # empty components stay 0


class _SpectralModel(_ConstrainedModel):
    """A model whose M-step builds ``D_k diag(s_k) D_k^T`` (EVE, VVE, EEV, VEV): it knows
    the eigenvalues ``s_k`` of its covariances, so the guarding floor needs no Cholesky test
    when they are clear of it (measured: 2 us against 7 us for 9 x 4 x 4)."""

    def maximum_likelihood_from(self, statistic, nk, previous=None):
        return self._solve(statistic, nk, previous)[0]

    @abstractmethod
    def _solve(self, statistic, nk, previous):
        """The covariances, in full storage, and their eigenvalues ((K, d), or (d,) when
        shared) when every component is active (None otherwise: the empty ones' zeros need
        the floor)."""


# How far above the floor known eigenvalues must be, relative to the largest, for the floor's
# Cholesky test to be certain to pass: the covariances are built from them with errors of a
# few ulps of the largest (orthogonal D to rounding), 1e5 times less than this margin.
_FLOOR_MARGIN = 1e-10


def _clear_of_floor(spectrum: np.ndarray, floor: float) -> bool:
    """Whether every eigenvalue is above ``floor`` with :data:`_FLOOR_MARGIN` to spare, so
    :func:`_raise_small_eigenvalues` would return the covariances unchanged."""
    return bool(spectrum.min() > floor + _FLOOR_MARGIN * spectrum.max())


def _known(spectrum: np.ndarray, active: np.ndarray | slice) -> np.ndarray | None:
    """The eigenvalues of the active components when that is every component, else None."""
    return spectrum if isinstance(active, slice) else None


def _refuse_singular_scatter(statistic: np.ndarray, nk: np.ndarray, family: str) -> None:
    """With nothing regularising them, a component whose scatter is singular (it sits on
    repeated or too few points) leaves the likelihood without a maximum, and the constrained
    M-steps divide by its determinant: say so in a sentence instead of computing NaN.

    Raises
    ------
    ValueError
        Naming the first such component.
    """
    active = np.flatnonzero(nk > 0)
    scatters = statistic[active]
    if family == "full":
        values = np.linalg.eigvalsh(scatters) if np.isfinite(scatters).all() else None
    else:
        values = scatters.reshape(len(active), -1)
    if values is None:
        singular = np.ones(len(active), dtype=bool)
    else:
        largest = np.abs(values).max(axis=1)
        singular = values.min(axis=1) <= 1e-12 * np.where(largest > 0, largest, 1.0)
    if singular.any():
        k = int(active[np.argmax(singular)])
        raise ValueError(
            f"Component {k + 1} collapsed onto repeated or too few points: its covariance "
            "is singular, where the likelihood has no maximum (it grows without bound) and "
            "reg_covar=0 leaves nothing to stop it. Use a positive reg_covar (the default "
            "1e-6 usually suffices), fewer components, or drop duplicated points."
        )


def _floor_statistic(per_point: np.ndarray, floor: float, family: str) -> np.ndarray:
    if family == "full":
        return _raise_small_eigenvalues(per_point, floor)
    return np.maximum(per_point, floor)


def _add_to_statistic(per_point: np.ndarray, reg: float, family: str) -> np.ndarray:
    if family == "full":
        return per_point + reg * _identity(per_point.shape[-1])
    return per_point + reg


# A component whose N_k is below this fraction of the largest is numerically empty: its
# statistics underflow (responsibilities near exp(-740) are subnormal, and N_k times a
# floored per-point scatter rounds to 0), and its zero volume made the shared parameters
# NaN (VEE, EVE, VVE and VEV with a component started far from the data: a teacher's link).
# It is empty for EM anyway (fewer than steps.EMPTY_POINTS points) and keeps its previous
# parameters, so leaving it out of the shared ones changes nothing else.
NEGLIGIBLE_COUNT = 1e-100


def _active(nk: np.ndarray) -> np.ndarray | slice:
    """Components with a count that is not negligible (:data:`NEGLIGIBLE_COUNT`): the
    others take no part in shared parameters and get 0, which the caller replaces.

    ``slice(None)`` when every component has some (the usual case): selecting with it is a
    view and :func:`_scatter_back` has nothing to do, where a boolean mask copied every
    array and scattered the result back (5 us per M-step, measured).
    """
    active = nk > NEGLIGIBLE_COUNT * nk.max() if nk.size else nk > 0
    return slice(None) if active.all() else active


def _geometric_mean(values: np.ndarray) -> np.ndarray:
    """``(prod_j v_j)^(1/d)`` along the last axis, in logs (no overflow)."""
    # A sum over d, not .mean(): the same numbers, without mean's 4 us of bookkeeping
    # (measured), paid at every inner iteration of VEI, VEV and EVE.
    return np.exp(np.log(values).sum(axis=-1) / values.shape[-1])


def _root_det(matrices: np.ndarray) -> np.ndarray:
    """``|M|^(1/d)`` of a stack of SPD matrices, from the log-determinant."""
    return np.exp(np.linalg.slogdet(matrices)[1] / matrices.shape[-1])


def _converged(new: np.ndarray, old: np.ndarray) -> bool:
    """Every value moved by at most INNER_TOL of itself."""
    # The builtin abs, 0.5 us cheaper than np.abs on small arrays (measured), twice per
    # inner iteration.
    return bool((abs(new - old) <= INNER_TOL * abs(new)).all())


def _scatter_back(
    values: np.ndarray, active: np.ndarray | slice, shape: tuple[int, ...]
) -> np.ndarray:
    """``values`` of the active components in an array of ``shape``, 0 for the others.

    Every M-step computes ``values`` afresh, so with all components active they are returned
    as they are (in float64, as the zeros they would be written into).
    """
    if isinstance(active, slice):
        return values.astype(float, copy=False)
    out = np.zeros(shape)
    out[active] = values
    return out


def _volumes_and_shape(
    spreads: np.ndarray, nk: np.ndarray, volumes: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Variable volumes and one shared shape (VEI, VEV): ``Sigma_k = lambda_k diag(A)``
    in a basis where each ``W_k`` is ``diag(spreads[k])``.

    Minimises ``sum_k [N_k d log lambda_k + sum_j spreads_kj / (lambda_k A_j)]`` with
    ``prod_j A_j = 1`` by alternating the two exact conditional minimisers (Celeux & Govaert
    1995, models [lambda_k B] and [lambda_k D_k A D_k^T]):
    ``A = v / |v|^(1/d)`` with ``v = sum_k spreads_k / lambda_k``, and
    ``lambda_k = sum_j spreads_kj / A_j / (d N_k)``. In log coordinates the objective is
    convex, so this coordinate descent reaches its minimum from any start.

    Returns
    -------
    volumes : ndarray of shape (K,)
    shape : ndarray of shape (d,)
    """
    d = spreads.shape[-1]
    if volumes is None:
        volumes = _geometric_mean(spreads / nk[:, None])
    points = d * nk
    for _ in range(INNER_MAX_ITER):
        pooled = (spreads / volumes[:, None]).sum(axis=0)
        shape = pooled / _geometric_mean(pooled)
        new = (spreads / shape).sum(axis=1) / points
        done = _converged(new, volumes)
        volumes = new
        if done:
            break
    pooled = (spreads / volumes[:, None]).sum(axis=0)
    return volumes, pooled / _geometric_mean(pooled)


def _volumes_from_previous(
    previous: np.ndarray | None, active: np.ndarray | slice
) -> np.ndarray | None:
    """The previous M-step's volumes ``|Sigma_k|^(1/d)``, where an iterative M-step starts."""
    if previous is None:
        return None
    previous = previous[active]
    volumes = _geometric_mean(previous) if previous.ndim == 2 else _root_det(previous)
    return volumes if np.isfinite(volumes).all() and (volumes > 0).all() else None


def _jacobi_sweep(
    orientation: np.ndarray, scatters: np.ndarray, inverse_spreads: np.ndarray
) -> np.ndarray:
    """One sweep of plane rotations lowering ``f(D) = sum_k tr(D^T W_k D Lambda_k)`` over
    orthogonal D, with Lambda_k diagonal (``inverse_spreads`` (K, d)) held fixed.

    f is a sum over D's columns, ``sum_j d_j^T B_j d_j`` with ``B_m = sum_k Lambda_km W_k``,
    so rotating two columns ``u = d_i``, ``v = d_j`` by an angle t changes only their terms,
    by ``a cos 2t + b sin 2t - a`` with ``C = B_i - B_j``, ``a = (u^T C u - v^T C v) / 2``
    and ``b = u^T C v``: the best angle is exact, ``2t = atan2(-b, -a)``, and f never
    increases (the pairwise rotations of Flury & Gautschi 1986, SIAM J. Sci. Stat. Comput.
    7:169-184, for common principal components). Disjoint pairs do not interact, so each of
    the d - 1 rounds of a round-robin schedule rotates d/2 pairs at once, from one stacked
    product ``[u v]^T C [u v]`` (2 x 2 per pair): O(d^3) per round, O(d^4) per sweep.

    mclust uses Browne & McNicholas' (2014) majorise-minimise step here; measured on iris it
    needed hundreds of steps per M-step (10 s for a 10-start EVE fit), the sweeps a few.
    Measured against forming every ``D^T B_m D`` per round (O(d^5) per sweep): as fast at
    d = 4, 5x faster at d = 32 to 50.
    """
    n_components, d = inverse_spreads.shape
    weighted = (inverse_spreads.T @ scatters.reshape(n_components, d * d)).reshape(d, d, d)
    differences = _pair_differences(weighted)
    basis = orientation.T.copy()  # row j is D's column j
    for columns, pairs in _sweep_schedule(d)[2]:
        rows = basis[columns]  # (pairs, 2, d): u and v of every pair
        difference = (
            differences[pairs]
            if differences is not None
            else weighted[columns[:, 0]] - weighted[columns[:, 1]]
        )  # C per pair, (pairs, d, d)
        gram = rows @ difference @ rows.transpose(0, 2, 1)  # [u v]^T C [u v], (pairs, 2, 2)
        # 2t = atan2(-b, -a) = atan2(-2b, -2a): doubling both is exact. (pairs, 1, 1) each.
        angle = np.arctan2(-2 * gram[:, :1, 1:], gram[:, 1:, 1:] - gram[:, :1, :1]) / 2
        # u' = cos u + sin v and v' = cos v - sin u for all pairs in one expression: the
        # same products and sums as two, in 5 numpy calls instead of 8 (10% of a sweep).
        basis[columns] = np.cos(angle) * rows + (np.sin(angle) * _PLUS_MINUS) * rows[:, ::-1]
    return basis.T


# Up to this d the differences C of all d (d - 1) / 2 pairs are formed at once per sweep
# (9,504 numbers at d = 12): 3 numpy calls per sweep instead of per round, 10% of a sweep at
# d = 3 to 6 (measured). Beyond, that array grows as d^4 (24 MB at d = 50): per round.
_UPFRONT_MAX_D = 12


def _pair_differences(weighted: np.ndarray) -> np.ndarray | None:
    """``B_i - B_j`` for every pair of :func:`_sweep_schedule`, (all pairs, d, d), when d is
    at most :data:`_UPFRONT_MAX_D`; None above."""
    d = len(weighted)
    if d > _UPFRONT_MAX_D:
        return None
    first, second, _ = _sweep_schedule(d)
    return weighted[first] - weighted[second]


@cache
def _sweep_schedule(n: int) -> tuple[np.ndarray, np.ndarray, tuple[tuple[np.ndarray, slice], ...]]:
    """:func:`_round_robin` laid out for a sweep: the first and second members of every pair
    of every round in order, (all pairs,) each, and per round its pairs as an index array
    (P, 2) with their slice of that order."""
    rounds, start = [], 0
    for columns in _round_columns(n):
        rounds.append((columns, slice(start, start + len(columns))))
        start += len(columns)
    pairs = np.concatenate([np.zeros((0, 2), dtype=int), *_round_columns(n)])
    return pairs[:, 0].copy(), pairs[:, 1].copy(), tuple(rounds)


# The signs of the sine terms of a plane rotation: +sin for u', -sin for v'.
_PLUS_MINUS = np.array([1.0, -1.0]).reshape(1, 2, 1)


@cache
def _round_robin(n: int) -> tuple[tuple[np.ndarray, np.ndarray], ...]:
    """All pairs of ``range(n)`` in n - 1 (n odd: n) rounds of disjoint pairs (circle method)."""
    players = list(range(n)) + ([-1] if n % 2 else [])
    m = len(players)
    rounds = []
    for _ in range(m - 1):
        pairs = [(players[i], players[m - 1 - i]) for i in range(m // 2)]
        pairs = [pair for pair in pairs if -1 not in pair]
        first, second = ([pair[side] for pair in pairs] for side in (0, 1))
        rounds.append((np.array(first, dtype=int), np.array(second, dtype=int)))
        players = [players[0], players[-1], *players[1:-1]]
    return tuple(rounds)


@cache
def _round_columns(n: int) -> tuple[np.ndarray, ...]:
    """Per round of :func:`_round_robin`, its pairs as an index array of shape (P, 2)."""
    return tuple(np.stack([first, second], axis=1) for first, second in _round_robin(n))


def _rotated_spreads(orientation: np.ndarray, scatters: np.ndarray) -> np.ndarray:
    """``diag(D^T W_k D)`` for every component, shape (K, d); (S, K, d) for orientations
    stacked as (S, 1, d, d)."""
    return (orientation * (scatters @ orientation)).sum(axis=-2)


def _common_orientation(
    scatters: np.ndarray,
    nk: np.ndarray,
    spreads_given: Callable[[np.ndarray], np.ndarray],
    previous: np.ndarray | None,
) -> tuple[np.ndarray, np.ndarray]:
    """Covariances ``D Delta_k D^T`` with one orientation D for all (EVE, VVE), and their
    eigenvalues ``Delta_k`` (K, d).

    Alternates the exact diagonal part given D (``spreads_given(diag(D^T W_k D))``) with a
    sweep of plane rotations for D (:func:`_jacobi_sweep`), so F never increases. D starts
    from the previous covariances' common eigenvectors or from the pooled scatter's,
    whichever gives the lower F.
    """
    orientation, spreads, objective = _best_start(
        _starting_orientations(scatters, previous), scatters, nk, spreads_given
    )
    unit = float(nk.sum()) * scatters.shape[-1]  # n d: F's changes, in any units
    for _ in range(ORIENTATION_SWEEPS):
        orientation = _jacobi_sweep(orientation, scatters, 1.0 / spreads)
        rotated = _rotated_spreads(orientation, scatters)
        spreads = spreads_given(rotated)
        new = float(_diagonal_objective(rotated, spreads, nk))
        done = objective - new <= ORIENTATION_TOL * unit
        objective = new
        if done:
            break
    return np.einsum("ij,kj,lj->kil", orientation, spreads, orientation), spreads


def _starting_orientations(scatters: np.ndarray, previous: np.ndarray | None) -> np.ndarray:
    """The pooled scatter's eigenvectors and, if there are previous covariances, their
    common ones: a stack (1 or 2, d, d) from one batched ``eigh`` (the same numbers as two
    calls, at half the wrapper's cost: measured 8.7 us against 13.4 us at d = 4)."""
    d = scatters.shape[-1]
    pooled = scatters.sum(axis=0)[None]
    if previous is None or not np.isfinite(previous).all():
        return np.linalg.eigh(pooled)[1]
    # Eigenvectors of a combination with distinct weights are the shared ones. (A product
    # with the flattened stack: tensordot's bookkeeping cost 8 us, the product 1.3 us.)
    weights = np.arange(1, len(previous) + 1, dtype=float)
    combined = (weights @ previous.reshape(len(previous), d * d)).reshape(1, d, d)
    return np.linalg.eigh(np.concatenate((pooled, combined)))[1]


def _best_start(
    starts: np.ndarray,
    scatters: np.ndarray,
    nk: np.ndarray,
    spreads_given: Callable[[np.ndarray], np.ndarray],
) -> tuple[np.ndarray, np.ndarray, float]:
    """The start (of a stack (S, d, d), S <= 2) with the lowest F: its orientation, spreads
    and F; the first on a tie. All starts are evaluated together, in one call of each step
    (the same numbers as one start at a time, for 20 us less at d = 4)."""
    rotated = _rotated_spreads(starts[:, None], scatters)  # (S, K, d)
    spreads = spreads_given(rotated)
    objectives = _diagonal_objective(rotated, spreads, nk)
    best = 1 if len(starts) > 1 and objectives[1] < objectives[0] else 0
    return starts[best], spreads[best], float(objectives[best])


def _diagonal_objective(
    rotated: np.ndarray, spreads: np.ndarray, nk: np.ndarray
) -> np.ndarray | float:
    """F for ``Sigma_k = D diag(spreads_k) D^T`` given ``diag(D^T W_k D)`` = ``rotated``
    (K, d), or one F per start for a stack (S, K, d)."""
    logs = (nk * np.log(spreads).sum(axis=-1)).sum(axis=-1)
    return logs + (rotated / spreads).sum(axis=(-2, -1))


class EqualSphericalCovariance(_ConstrainedModel, SphericalCovariance):
    name = "EII"
    mclust_name = "EII"
    description = "EII: one round shape, the same size for every component"

    def maximum_likelihood_from(self, statistic, nk, previous=None):
        # sigma^2 = sum_k tr W_k / (n d): the statistic is already tr W_k / d.
        return np.full(len(nk), statistic.sum() / nk.sum())

    def n_covariance_parameters(self, n_components, n_features):
        return 1


class EqualDiagonalCovariance(_ConstrainedModel, DiagCovariance):
    name = "EEI"
    mclust_name = "EEI"
    description = "EEI: the same axis-aligned ellipse (size and shape) for every component"

    def maximum_likelihood_from(self, statistic, nk, previous=None):
        return np.broadcast_to(statistic.sum(axis=0) / nk.sum(), statistic.shape).copy()

    def n_covariance_parameters(self, n_components, n_features):
        return n_features


class VolumeDiagonalCovariance(_ConstrainedModel, DiagCovariance):
    name = "VEI"
    mclust_name = "VEI"
    description = "VEI: same axis-aligned shape, own size"

    def maximum_likelihood_from(self, statistic, nk, previous=None):
        active = _active(nk)
        volumes, shape = _volumes_and_shape(
            statistic[active], nk[active], _volumes_from_previous(previous, active)
        )
        return _scatter_back(volumes[:, None] * shape, active, statistic.shape)

    def n_covariance_parameters(self, n_components, n_features):
        return n_components + n_features - 1


class ShapeDiagonalCovariance(_ConstrainedModel, DiagCovariance):
    name = "EVI"
    mclust_name = "EVI"
    description = "EVI: same size, own axis-aligned shape"

    def maximum_likelihood_from(self, statistic, nk, previous=None):
        # Given lambda, each B_k = diag(W_k) / |diag W_k|^(1/d); then
        # lambda = sum_k |diag W_k|^(1/d) / n (Celeux & Govaert 1995, model [lambda B_k]).
        active = _active(nk)
        spreads = statistic[active]
        roots = _geometric_mean(spreads)
        volume = roots.sum() / nk.sum()
        # The shape first: volume * spreads would overflow for data near 1e77.
        return _scatter_back(volume * (spreads / roots[:, None]), active, statistic.shape)

    def n_covariance_parameters(self, n_components, n_features):
        return 1 + n_components * (n_features - 1)


class VolumeCovariance(_ConstrainedModel, FullCovariance):
    name = "VEE"
    mclust_name = "VEE"
    description = "VEE: same shape and orientation, own size"

    def maximum_likelihood_from(self, statistic, nk, previous=None):
        # Sigma_k = lambda_k C, |C| = 1: alternate C = M / |M|^(1/d) with
        # M = sum_k W_k / lambda_k, and lambda_k = tr(W_k C^-1) / (d N_k) (each step exact).
        active = _active(nk)
        scatters, counts = statistic[active], nk[active]
        d = scatters.shape[-1]
        volumes = _volumes_from_previous(previous, active)
        if volumes is None:
            volumes = _root_det(scatters / counts[:, None, None])
        flat = scatters.reshape(len(counts), d * d)
        for _ in range(INNER_MAX_ITER):
            # C^-1 = |M|^(1/d) M^-1, and tr(W_k M^-1) is W_k's entries times M^-1's.
            pooled = ((1.0 / volumes) @ flat).reshape(d, d)
            root = np.exp(np.linalg.slogdet(pooled)[1] / d)
            new = (flat @ np.linalg.inv(pooled).reshape(-1)) * (root / d) / counts
            done = _converged(new, volumes)
            volumes = new
            if done:
                break
        shape = _unit_det(((1.0 / volumes) @ flat).reshape(d, d))
        return _scatter_back(volumes[:, None, None] * shape, active, statistic.shape)

    def n_covariance_parameters(self, n_components, n_features):
        return n_components + (n_features - 1) + n_features * (n_features - 1) // 2


class ShapeCovariance(_SpectralModel, FullCovariance):
    name = "EVE"
    mclust_name = "EVE"
    description = "EVE: same size and orientation, own shape"

    def _solve(self, statistic, nk, previous=None):
        active = _active(nk)
        total = nk.sum()

        def spreads(rotated):  # given D: A_k = diag / |diag|^(1/d), one lambda
            roots = _geometric_mean(rotated)[..., None]  # (..., K, 1): any stack of starts
            return (roots.sum(axis=-2, keepdims=True) / total) * (rotated / roots)

        covariances, spectrum = _common_orientation(
            statistic[active], nk[active], spreads, None if previous is None else previous[active]
        )
        return _scatter_back(covariances, active, statistic.shape), _known(spectrum, active)

    def n_covariance_parameters(self, n_components, n_features):
        return 1 + n_components * (n_features - 1) + n_features * (n_features - 1) // 2


class VolumeShapeCovariance(_SpectralModel, FullCovariance):
    name = "VVE"
    mclust_name = "VVE"
    description = "VVE: same orientation, own size and shape"

    def _solve(self, statistic, nk, previous=None):
        active = _active(nk)
        counts = nk[active]

        def spreads(rotated):  # given D: lambda_k A_k = diag(D^T W_k D) / N_k
            return rotated / counts[:, None]

        covariances, spectrum = _common_orientation(
            statistic[active], counts, spreads, None if previous is None else previous[active]
        )
        return _scatter_back(covariances, active, statistic.shape), _known(spectrum, active)

    def n_covariance_parameters(self, n_components, n_features):
        return n_components * n_features + n_features * (n_features - 1) // 2


class OrientationCovariance(_SpectralModel, FullCovariance):
    name = "EEV"
    mclust_name = "EEV"
    description = "EEV: same size and shape, own orientation"

    def _solve(self, statistic, nk, previous=None):
        # W_k = L_k Omega_k L_k^T (eigenvalues in the same order for every k): D_k = L_k and
        # lambda A = sum_k Omega_k / n (Celeux & Govaert 1995, model [lambda D_k A D_k^T]).
        active = _active(nk)
        values, vectors = np.linalg.eigh(statistic[active])
        shared = values.sum(axis=0) / nk.sum()
        covariances = np.einsum("kij,j,klj->kil", vectors, shared, vectors)
        return _scatter_back(covariances, active, statistic.shape), _known(shared, active)

    def n_covariance_parameters(self, n_components, n_features):
        return n_features + n_components * n_features * (n_features - 1) // 2


class VolumeOrientationCovariance(_SpectralModel, FullCovariance):
    name = "VEV"
    mclust_name = "VEV"
    description = "VEV: same shape, own size and orientation"

    def _solve(self, statistic, nk, previous=None):
        # D_k are W_k's eigenvectors (ordered alike, so A pairs with them); volumes and the
        # shared shape then solve VEI's problem on the eigenvalues.
        active = _active(nk)
        values, vectors = np.linalg.eigh(statistic[active])
        volumes, shape = _volumes_and_shape(
            values, nk[active], _volumes_from_previous(previous, active)
        )
        spectrum = volumes[:, None] * shape
        covariances = np.einsum("kij,kj,klj->kil", vectors, spectrum, vectors)
        return _scatter_back(covariances, active, statistic.shape), _known(spectrum, active)

    def n_covariance_parameters(self, n_components, n_features):
        return n_components + (n_features - 1) + n_components * n_features * (n_features - 1) // 2


class ShapeOrientationCovariance(_ConstrainedModel, FullCovariance):
    name = "EVV"
    mclust_name = "EVV"
    description = "EVV: same size, own shape and orientation"

    def maximum_likelihood_from(self, statistic, nk, previous=None):
        # C_k = W_k / |W_k|^(1/d), lambda = sum_k |W_k|^(1/d) / n.
        active = _active(nk)
        scatters = statistic[active]
        roots = _root_det(scatters)
        volume = roots.sum() / nk.sum()
        covariances = volume * (scatters / roots[:, None, None])
        return _scatter_back(covariances, active, statistic.shape)

    def n_covariance_parameters(self, n_components, n_features):
        return 1 + n_components * ((n_features - 1) + n_features * (n_features - 1) // 2)


def _unit_det(matrix: np.ndarray) -> np.ndarray:
    return matrix / _root_det(matrix)


FULL = FullCovariance()
TIED = TiedCovariance()
DIAG = DiagCovariance()
SPHERICAL = SphericalCovariance()

# mclust's order (volume, shape, orientation; E before V), as its BIC tables print them.
MCLUST_ORDER: tuple[CovarianceModel, ...] = (
    EqualSphericalCovariance(),
    SPHERICAL,
    EqualDiagonalCovariance(),
    VolumeDiagonalCovariance(),
    ShapeDiagonalCovariance(),
    DIAG,
    TIED,
    VolumeCovariance(),
    ShapeCovariance(),
    VolumeShapeCovariance(),
    OrientationCovariance(),
    VolumeOrientationCovariance(),
    ShapeOrientationCovariance(),
    FULL,
)
MCLUST_MODELS: tuple[str, ...] = tuple(model.mclust_name for model in MCLUST_ORDER)

# scikit-learn's four names stay the names of their models (storage and attributes as
# scikit-learn has them); the other ten are called by mclust's names.
COVARIANCE_MODELS: dict[str, CovarianceModel] = {
    model.name: model for model in (FULL, TIED, DIAG, SPHERICAL)
}
COVARIANCE_TYPES: tuple[str, ...] = tuple(COVARIANCE_MODELS)
_BY_NAME: dict[str, CovarianceModel] = {
    **{model.mclust_name: model for model in MCLUST_ORDER},
    **COVARIANCE_MODELS,
}
ALL_MODELS = "all"


def covariance_model(name: str | CovarianceModel) -> CovarianceModel:
    """The covariance model called ``name``: one of mclust's 14 (``"EII"`` ... ``"VVV"``) or
    scikit-learn's four (``"spherical"`` = VII, ``"diag"`` = VVI, ``"tied"`` = EEE,
    ``"full"`` = VVV).

    Raises
    ------
    ValueError
        For any other name, listing the valid ones.
    """
    if isinstance(name, CovarianceModel):
        return name
    try:
        return _BY_NAME[name]
    except (KeyError, TypeError):
        sklearn_names = ", ".join(repr(key) for key in COVARIANCE_TYPES)
        mclust_names = ", ".join(repr(key) for key in MCLUST_MODELS)
        raise ValueError(
            f"Unknown covariance type {name!r}.{_did_you_mean(name)} Choose one of "
            f"{sklearn_names} (scikit-learn's names) or one of mclust's "
            f"{len(MCLUST_MODELS)} models: {mclust_names}."
        ) from None


def _did_you_mean(name: object) -> str:
    """`` Did you mean 'VEV'?`` for a known name in the wrong case (names are exact, as in
    scikit-learn and mclust), else ``""``."""
    if not isinstance(name, str):
        return ""
    match = next((known for known in _BY_NAME if known.lower() == name.strip().lower()), None)
    return f" Did you mean {match!r}?" if match else ""


def covariance_models(names: str | Sequence[str]) -> list[CovarianceModel]:
    """The models for a list of names, or all 14 for ``"all"`` (mclust's order), each once."""
    if isinstance(names, str):
        names = MCLUST_MODELS if names == ALL_MODELS else [names]
    return list(dict.fromkeys(covariance_model(name) for name in names))


def decompose(covariances: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Volume, shape and orientation of full covariance matrices (Celeux & Govaert 1995).

    Parameters
    ----------
    covariances : ndarray of shape (K, d, d)

    Returns
    -------
    volumes : ndarray of shape (K,)
        ``lambda_k = |Sigma_k|^(1/d)``.
    shapes : ndarray of shape (K, d)
        The eigenvalues over the volume (product 1), largest first.
    orientations : ndarray of shape (K, d, d)
        The eigenvectors, as columns in the same order (signs arbitrary).
    """
    values, vectors = np.linalg.eigh(covariances)
    values, vectors = values[:, ::-1], vectors[:, :, ::-1]
    volumes = _geometric_mean(values)
    return volumes, values / volumes[:, None], vectors
