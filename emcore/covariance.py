"""Covariance types: each one is defined here, in one class, and nowhere else.

A mixture's covariances can be

- ``full``: every component has its own d x d matrix (mclust's VVV);
- ``tied``: all components share one d x d matrix (EEE);
- ``diag``: every component has its own diagonal (VVI);
- ``spherical``: every component has its own single variance (VII).

Each class knows how its covariances are stored, how the M-step estimates them, how to turn
them into Cholesky factors of the precision (the parameterisation the E-step uses, as in
scikit-learn: ``precision = P @ P.T``), the log-determinant of those factors, the squared
Mahalanobis distance of every point to every component (vectorised over components), and how
many free parameters they have. The rest of emcore asks ``covariance_model(name)`` for the
object and never dispatches on the name itself.

For missing values (:mod:`emcore.missing`) each type also gives the marginal covariances of
a subset of the coordinates (:meth:`CovarianceModel.marginal`), the conditional distribution
of the other coordinates given those (:meth:`CovarianceModel.conditional`: a Schur complement
for matrices, the variances themselves for diagonal types) and its M-step from expected
scatter matrices (:meth:`CovarianceModel.from_scatter`).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
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
    measures it in units of the data's average variance, so the same setting works for data
    at any scale (1e-8 or 1e8) and the condition number of a covariance stays near
    ``1 / reg_covar`` at most, where float64 still computes densities accurately.
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
    """The data's average variance, or 1 when the points are (numerically) all identical.

    The variance of identical floats comes out as rounding noise (1e-30, not 0), so "no
    spread" means a variance negligible next to the data's magnitude. With ``sample_weight``
    both are weighted (see :func:`weighted_moments`).
    """
    mean, variances = weighted_moments(X, sample_weight)
    variance = float(np.mean(variances))
    magnitude = float(np.mean(variances + mean**2))
    return variance if variance > 1e-20 * magnitude and variance > 0 else 1.0


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


def _raise_small_eigenvalues(matrices: np.ndarray, floor: float) -> np.ndarray:
    """Symmetric matrices with eigenvalues below ``floor`` raised to it, others untouched."""
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
    identity = np.broadcast_to(np.eye(covariances.shape[-1]), covariances.shape)
    # inv(L).T is upper triangular and inv(cov) = inv(L).T @ inv(L).
    return np.swapaxes(np.linalg.solve(lower, identity), -1, -2)


def _schur_complement(
    full: np.ndarray, observed: np.ndarray, missing: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Regression of the ``missing`` coordinates on the ``observed`` ones, and what is left.

    For a Gaussian with covariance ``S`` (a stack ``(..., d, d)``), ``x_m`` given ``x_o`` is
    Gaussian with mean ``mu_m + B (x_o - mu_o)`` and covariance ``C``, where
    ``B = S_mo S_oo^-1`` and ``C = S_mm - S_mo S_oo^-1 S_om`` (the Schur complement of
    ``S_oo``; Bishop, *Pattern Recognition and Machine Learning*, eq. 2.81-2.82).

    Returns
    -------
    regression : ndarray of shape (..., m, o)
    conditional : ndarray of shape (..., m, m)
    """
    s_om = full[..., observed, :][..., :, missing]
    s_mm = full[..., missing, :][..., :, missing]
    if not len(observed):  # nothing to condition on: the marginal of x_m itself
        return np.zeros((*full.shape[:-2], len(missing), 0)), s_mm.copy()
    s_oo = full[..., observed, :][..., :, observed]
    regression = np.swapaxes(np.linalg.solve(s_oo, s_om), -1, -2)  # S_oo symmetric
    conditional = s_mm - regression @ s_om
    # Symmetric in exact arithmetic; rounding is made symmetric so it stays a covariance.
    return regression, (conditional + np.swapaxes(conditional, -1, -2)) / 2


class CovarianceModel(ABC):
    """What a covariance type must provide. Subclasses hold no state."""

    name: ClassVar[str]
    mclust_name: ClassVar[str]
    description: ClassVar[str]

    @abstractmethod
    def shape(self, n_components: int, n_features: int) -> tuple[int, ...]:
        """Shape of the stored covariances."""

    def estimate(
        self,
        X: np.ndarray,
        resp: np.ndarray,
        nk: np.ndarray,
        means: np.ndarray,
        reg_covar: float,
        regularization: Regularization = "add",
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

        Returns
        -------
        ndarray
            In this type's storage. Components with ``N_k = 0`` get 0 before regularisation;
            the caller replaces them (see :func:`emcore.steps.m_step`).
        """
        return self.regularize(
            self.maximum_likelihood(X, resp, nk, means), reg_covar, regularization
        )

    @abstractmethod
    def maximum_likelihood(
        self, X: np.ndarray, resp: np.ndarray, nk: np.ndarray, means: np.ndarray
    ) -> np.ndarray:
        """The unregularised M-step estimate (may be singular)."""

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
    def from_full(self, full: np.ndarray, nk: np.ndarray | None = None) -> np.ndarray:
        """This type's covariances closest to a (K, d, d) stack (``nk`` weights the tied mean)."""

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

    @abstractmethod
    def marginal(self, covariances: np.ndarray, observed: np.ndarray) -> np.ndarray:
        """Covariances of the coordinates ``observed`` (indices, shape (o,)) alone.

        A Gaussian's marginal keeps the rows and columns of those coordinates (Bishop, eq.
        2.98), so the result is of the same type in ``o`` dimensions, in its storage.
        """

    def conditional(
        self,
        covariances: np.ndarray,
        n_components: int,
        observed: np.ndarray,
        missing: np.ndarray,
    ) -> tuple[np.ndarray, np.ndarray]:
        """How every component's ``missing`` coordinates depend on its ``observed`` ones.

        Given ``x_o`` and component k, ``x_m`` is Gaussian with mean
        ``mu_km + B_k (x_o - mu_ko)`` and covariance ``C_k`` (see :func:`_schur_complement`).

        Parameters
        ----------
        covariances : ndarray
            In this type's storage.
        n_components : int
        observed, missing : ndarray of int, shapes (o,) and (m,)
            Complementary coordinate indices.

        Returns
        -------
        regression : ndarray of shape (K, m, o)
            ``B_k``.
        conditional : ndarray of shape (K, m, m)
            ``C_k``.
        """
        full = self.to_full(covariances, n_components, len(observed) + len(missing))
        return _schur_complement(full, observed, missing)

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
            In this type's storage: the type's closest form of ``S_k / N_k`` weighted by
            ``N_k`` (:meth:`from_full`), which is the same maximiser :meth:`maximum_likelihood`
            computes from complete data: ``S_k / N_k`` (full), ``sum_k S_k / sum_k N_k``
            (tied), the diagonal of ``S_k / N_k`` (diag) and its mean (spherical).
        """
        return self.from_full(scatter / safe_counts(nk)[:, None, None], nk)

    def __repr__(self) -> str:
        return f"covariance_model({self.name!r})"


class _MatrixCovariance(CovarianceModel):
    """Covariances stored as d x d matrices (one per component, or one shared)."""

    def regularize(self, covariances, reg_covar, regularization):
        if regularization == "floor":
            return _raise_small_eigenvalues(covariances, reg_covar)
        return covariances + reg_covar * np.eye(covariances.shape[-1])

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

    def conditional(self, covariances, n_components, observed, missing):
        # Independent coordinates: observing some says nothing about the others, whose
        # conditional distribution is their marginal (B = 0, C = their variances).
        full = self.to_full(covariances, n_components, len(observed) + len(missing))
        variances = full[:, missing, :][:, :, missing]
        return np.zeros((n_components, len(missing), len(observed))), variances


class FullCovariance(_MatrixCovariance):
    name = "full"
    mclust_name = "VVV"
    description = "each component has its own covariance matrix: any shape, size and angle"

    def shape(self, n_components: int, n_features: int) -> tuple[int, ...]:
        return (n_components, n_features, n_features)

    def maximum_likelihood(self, X, resp, nk, means):
        return _centred_scatter(X, resp, means) / safe_counts(nk)[:, None, None]

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

    def marginal(self, covariances, observed):
        return covariances[:, observed, :][:, :, observed]


class TiedCovariance(_MatrixCovariance):
    name = "tied"
    mclust_name = "EEE"
    description = "all components share one covariance matrix: same shape, size and angle"

    def shape(self, n_components: int, n_features: int) -> tuple[int, ...]:
        return (n_features, n_features)

    def maximum_likelihood(self, X, resp, nk, means):
        # The shared matrix pools every component's scatter around its own mean, divided by
        # n = sum_k N_k (scikit-learn's estimate). A component that emptied adds its leftover
        # responsibility (< EMPTY_POINTS) around its own mean, and nothing to n: a stand-in
        # count of 1 made the result n / (n + empty components) too small.
        return _centred_scatter(X, resp, means).sum(axis=0) / nk.sum()

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

    def marginal(self, covariances, observed):
        return covariances[observed, :][:, observed]

    def conditional(self, covariances, n_components, observed, missing):
        # One shared matrix: one solve, the same regression for every component.
        regression, conditional = _schur_complement(covariances, observed, missing)
        return (
            np.broadcast_to(regression, (n_components, *regression.shape)),
            np.broadcast_to(conditional, (n_components, *conditional.shape)),
        )


class DiagCovariance(_VarianceCovariance):
    name = "diag"
    mclust_name = "VVI"
    description = "each component has its own variances along the axes: ellipses not rotated"

    def shape(self, n_components: int, n_features: int) -> tuple[int, ...]:
        return (n_components, n_features)

    def maximum_likelihood(self, X, resp, nk, means):
        return _centred_squares(X, resp, means) / safe_counts(nk)[:, None]

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

    def marginal(self, covariances, observed):
        return covariances[:, observed]


class SphericalCovariance(_VarianceCovariance):
    name = "spherical"
    mclust_name = "VII"
    description = "each component has one variance in every direction: circles of any size"

    def shape(self, n_components: int, n_features: int) -> tuple[int, ...]:
        return (n_components,)

    def maximum_likelihood(self, X, resp, nk, means):
        return DIAG.maximum_likelihood(X, resp, nk, means).mean(axis=1)

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

    def marginal(self, covariances, observed):
        return covariances  # the same variance in every direction, hence in any subset


FULL = FullCovariance()
TIED = TiedCovariance()
DIAG = DiagCovariance()
SPHERICAL = SphericalCovariance()

COVARIANCE_MODELS: dict[str, CovarianceModel] = {
    model.name: model for model in (FULL, TIED, DIAG, SPHERICAL)
}
COVARIANCE_TYPES: tuple[str, ...] = tuple(COVARIANCE_MODELS)


def covariance_model(name: str | CovarianceModel) -> CovarianceModel:
    """The covariance model called ``name`` ('full', 'tied', 'diag' or 'spherical')."""
    if isinstance(name, CovarianceModel):
        return name
    try:
        return COVARIANCE_MODELS[name]
    except (KeyError, TypeError):
        choices = ", ".join(repr(key) for key in COVARIANCE_TYPES)
        raise ValueError(f"Unknown covariance type {name!r}. Choose one of {choices}.") from None
