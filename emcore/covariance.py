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
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from typing import ClassVar

import numpy as np

# Rows per block when a computation needs an (n, K, d) intermediate, so memory stays bounded.
_BLOCK_ELEMENTS = 1 << 20


def row_blocks(n_rows: int, elements_per_row: int) -> Iterator[slice]:
    """Slices of at most ``_BLOCK_ELEMENTS / elements_per_row`` rows covering ``range(n_rows)``."""
    size = max(1, _BLOCK_ELEMENTS // max(1, elements_per_row))
    for start in range(0, n_rows, size):
        yield slice(start, min(start + size, n_rows))


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


def _cholesky_of_precision(covariances: np.ndarray, reg_covar: float) -> np.ndarray:
    """Upper factors ``P`` with ``inv(cov) = P @ P.T`` for a stack of SPD matrices."""
    try:
        lower = np.linalg.cholesky(covariances)
    except np.linalg.LinAlgError:
        lower = np.linalg.cholesky(_floor_eigenvalues(covariances, max(reg_covar, 1e-300)))
    identity = np.broadcast_to(np.eye(covariances.shape[-1]), covariances.shape)
    # inv(L).T is upper triangular and inv(cov) = inv(L).T @ inv(L).
    return np.swapaxes(np.linalg.solve(lower, identity), -1, -2)


class CovarianceModel(ABC):
    """What a covariance type must provide. Subclasses hold no state."""

    name: ClassVar[str]
    mclust_name: ClassVar[str]
    description: ClassVar[str]

    @abstractmethod
    def shape(self, n_components: int, n_features: int) -> tuple[int, ...]:
        """Shape of the stored covariances."""

    @abstractmethod
    def estimate(
        self,
        X: np.ndarray,
        resp: np.ndarray,
        nk: np.ndarray,
        means: np.ndarray,
        reg_covar: float,
    ) -> np.ndarray:
        """M-step: covariances from data, responsibilities, their column sums and the means.

        ``nk`` must be positive; callers replace empty components' counts beforehand.
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

    def __repr__(self) -> str:
        return f"covariance_model({self.name!r})"


class FullCovariance(CovarianceModel):
    name = "full"
    mclust_name = "VVV"
    description = "each component has its own covariance matrix: any shape, size and angle"

    def inverse(self, matrices):
        return np.linalg.inv(matrices)

    def shape(self, n_components: int, n_features: int) -> tuple[int, ...]:
        return (n_components, n_features, n_features)

    def estimate(self, X, resp, nk, means, reg_covar):
        n_components, n_features = means.shape
        scatter = np.zeros((n_components, n_features, n_features))
        for rows in row_blocks(len(X), n_components * n_features):
            diff = X[rows, None, :] - means[None, :, :]  # (n, K, d)
            weighted = diff * resp[rows, :, None]
            # One batched product for all components: (K, d, n) @ (K, n, d).
            scatter += np.matmul(weighted.transpose(1, 2, 0), diff.transpose(1, 0, 2))
        covariances = scatter / nk[:, None, None]
        covariances[:, np.arange(n_features), np.arange(n_features)] += reg_covar
        return covariances

    def precisions_cholesky(self, covariances, reg_covar):
        return _cholesky_of_precision(covariances, reg_covar)

    def log_det_cholesky(self, precisions_cholesky, n_features):
        diagonals = np.diagonal(precisions_cholesky, axis1=1, axis2=2)
        return np.log(diagonals).sum(axis=1)

    def mahalanobis(self, X, means, precisions_cholesky):
        n_components, n_features, _ = precisions_cholesky.shape
        # Stack every component's factor side by side so one matrix product serves them all.
        stacked = precisions_cholesky.transpose(1, 0, 2).reshape(n_features, -1)
        shift = np.einsum("kd,kde->ke", means, precisions_cholesky).reshape(-1)
        distances = np.empty((len(X), n_components))
        for rows in row_blocks(len(X), n_components * n_features):
            projected = X[rows] @ stacked - shift
            distances[rows] = np.square(projected).reshape(-1, n_components, n_features).sum(2)
        return distances

    def n_covariance_parameters(self, n_components, n_features):
        return n_components * n_features * (n_features + 1) // 2

    def to_full(self, covariances, n_components, n_features):
        return covariances.copy()

    def from_full(self, full, nk=None):
        return np.array(full, dtype=float)

    def precisions(self, precisions_cholesky):
        return precisions_cholesky @ np.swapaxes(precisions_cholesky, 1, 2)

    def cholesky_from_precisions(self, precisions):
        # P = chol(precision) is lower; P @ P.T = precision is all the E-step needs.
        return np.linalg.cholesky(precisions)


class TiedCovariance(CovarianceModel):
    name = "tied"
    mclust_name = "EEE"
    description = "all components share one covariance matrix: same shape, size and angle"

    def inverse(self, matrices):
        return np.linalg.inv(matrices)

    def shape(self, n_components: int, n_features: int) -> tuple[int, ...]:
        return (n_features, n_features)

    def estimate(self, X, resp, nk, means, reg_covar):
        second_moment = X.T @ X
        means_moment = (nk * means.T) @ means
        covariance = (second_moment - means_moment) / nk.sum()
        covariance.flat[:: len(covariance) + 1] += reg_covar
        return covariance

    def precisions_cholesky(self, covariances, reg_covar):
        return _cholesky_of_precision(covariances, reg_covar)

    def log_det_cholesky(self, precisions_cholesky, n_features):
        return np.log(np.diag(precisions_cholesky)).sum()

    def mahalanobis(self, X, means, precisions_cholesky):
        shifted_means = means @ precisions_cholesky
        n_components, n_features = means.shape
        distances = np.empty((len(X), n_components))
        for rows in row_blocks(len(X), n_components * n_features):
            projected = (X[rows] @ precisions_cholesky)[:, None, :] - shifted_means[None]
            distances[rows] = np.square(projected).sum(axis=2)
        return distances

    def n_covariance_parameters(self, n_components, n_features):
        return n_features * (n_features + 1) // 2

    def to_full(self, covariances, n_components, n_features):
        return np.broadcast_to(covariances, (n_components, n_features, n_features)).copy()

    def from_full(self, full, nk=None):
        weights = np.ones(len(full)) if nk is None else np.asarray(nk, dtype=float)
        return np.tensordot(weights / weights.sum(), full, axes=1)

    def keep_previous(self, covariances, previous, frozen):
        # The shared matrix is estimated from the components that have points; nothing to keep.
        return covariances

    def precisions(self, precisions_cholesky):
        return precisions_cholesky @ precisions_cholesky.T

    def cholesky_from_precisions(self, precisions):
        return np.linalg.cholesky(precisions)


class DiagCovariance(CovarianceModel):
    name = "diag"
    mclust_name = "VVI"
    description = "each component has its own variances along the axes: ellipses not rotated"

    def inverse(self, matrices):
        return 1.0 / matrices

    def shape(self, n_components: int, n_features: int) -> tuple[int, ...]:
        return (n_components, n_features)

    def estimate(self, X, resp, nk, means, reg_covar):
        mean_of_squares = (resp.T @ (X * X)) / nk[:, None]
        mean_cross = means * (resp.T @ X) / nk[:, None]
        variances = mean_of_squares - 2 * mean_cross + means**2
        # Rounding can make a zero variance slightly negative; it is zero.
        return np.maximum(variances, 0.0) + reg_covar

    def precisions_cholesky(self, covariances, reg_covar):
        return 1.0 / np.sqrt(np.maximum(covariances, max(reg_covar, 1e-300)))

    def log_det_cholesky(self, precisions_cholesky, n_features):
        return np.log(precisions_cholesky).sum(axis=1)

    def mahalanobis(self, X, means, precisions_cholesky):
        precisions = precisions_cholesky**2
        # Expanded square: one matrix product per term instead of a loop over components.
        return (
            np.sum(means**2 * precisions, axis=1)
            - 2.0 * (X @ (means * precisions).T)
            + (X * X) @ precisions.T
        ).clip(min=0.0)

    def n_covariance_parameters(self, n_components, n_features):
        return n_components * n_features

    def to_full(self, covariances, n_components, n_features):
        full = np.zeros((n_components, n_features, n_features))
        full[:, np.arange(n_features), np.arange(n_features)] = covariances
        return full

    def from_full(self, full, nk=None):
        return np.diagonal(np.asarray(full, dtype=float), axis1=1, axis2=2).copy()

    def precisions(self, precisions_cholesky):
        return precisions_cholesky**2

    def cholesky_from_precisions(self, precisions):
        return np.sqrt(precisions)


class SphericalCovariance(CovarianceModel):
    name = "spherical"
    mclust_name = "VII"
    description = "each component has one variance in every direction: circles of any size"

    def inverse(self, matrices):
        return 1.0 / matrices

    def shape(self, n_components: int, n_features: int) -> tuple[int, ...]:
        return (n_components,)

    def estimate(self, X, resp, nk, means, reg_covar):
        return DIAG.estimate(X, resp, nk, means, reg_covar).mean(axis=1)

    def precisions_cholesky(self, covariances, reg_covar):
        return 1.0 / np.sqrt(np.maximum(covariances, max(reg_covar, 1e-300)))

    def log_det_cholesky(self, precisions_cholesky, n_features):
        return n_features * np.log(precisions_cholesky)

    def mahalanobis(self, X, means, precisions_cholesky):
        precisions = precisions_cholesky**2
        squared_norms = (
            np.sum(means**2, axis=1) - 2.0 * (X @ means.T) + np.sum(X * X, axis=1)[:, None]
        )
        return (squared_norms * precisions).clip(min=0.0)

    def n_covariance_parameters(self, n_components, n_features):
        return n_components

    def to_full(self, covariances, n_components, n_features):
        return covariances[:, None, None] * np.eye(n_features)

    def from_full(self, full, nk=None):
        return np.trace(np.asarray(full, dtype=float), axis1=1, axis2=2) / full.shape[-1]

    def precisions(self, precisions_cholesky):
        return precisions_cholesky**2

    def cholesky_from_precisions(self, precisions):
        return np.sqrt(precisions)


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
