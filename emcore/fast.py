"""Fast EM: whole iterations in one fused, chunked pass over the data.

The reference steps (:mod:`emcore.steps`) are what the app teaches from: the E-step builds the
(n, K) responsibilities, then the M-step makes (n, K, d) blocks of differences. This module
computes the same iterations with far fewer passes over memory. :meth:`emcore.engine.EM.run`
uses it when no history is recorded.

How
---
For every covariance type, ``log pi_k + log N(x | mu_k, Sigma_k)`` is a *linear* function of
the quadratic features of a point,

    phi(x) = [second-order terms of x, x, 1],      log pi_k N(x | k) = C[k] @ phi(x),

with ``C`` built from the parameters (``-Lambda / 2``, ``Lambda mu`` and a constant). The
second-order terms are the upper triangle of ``x x^T`` (full), ``x**2`` (diag), ``|x|**2``
(spherical), or nothing for tied covariances: their ``x^T Lambda x`` is the same for every
component, so it cancels in the responsibilities, and its sum over the data is
``trace(Lambda X^T X)`` with ``X^T X`` computed once per run. Per chunk of rows:

1. ``L = C @ phi``: the log densities of all components, one matrix product (points are
   columns, so the reductions over components below run along contiguous memory);
2. ``r = exp(L - max) / sum``: the responsibilities with one ``exp``, reused; the points'
   log-likelihoods are ``max + log(sum)``;
3. ``r @ phi^T``: all the next M-step needs, one matrix product: the counts ``N_k`` (the row of
   ones in ``phi``), the sums ``sum r x`` and the second moments ``sum r x x^T``.

The M-step is then a few (K, d, d) operations on these sums, with the covariance models'
own regularisation and Cholesky factors, and the reference's rule for empty components.
Nothing of size n x K outlives a chunk, so memory stays bounded. The chunks are shared out
between threads (NumPy and BLAS release the GIL), BLAS itself being kept to one thread.

Engines
-------
The rows enter only through :func:`chunk_moments` (one NumPy chunk alone: its log-likelihood
and moments for a pass's plan around the pass's centre); everything else, the plan of a pass
and the M-step from the summed moments (:func:`params_from_moments`, with the covariance
models' own statistics and M-steps), is data-free, in :class:`MomentSpace`. :class:`FastEM`
runs the chunks of an in-memory array on threads; :mod:`emcore.dask_engine` runs the same
function on a Dask array's chunks and tree-reduces the moments.

Accuracy
--------
The expanded form ``x^T Lambda x - 2 x^T Lambda mu + mu^T Lambda mu`` cancels when it is
large and its result small: for the points around component k its absolute error is about
``eps * B_k``, with

    B_k = |mu_k - o|^T |Lambda_k| |mu_k - o| + sum_ij |Lambda_k,ij| |Sigma_k,ij|

(``o`` the origin of ``x``, ``|.|`` taken entry by entry). The first term is large for a tight
component far from the origin, the second (about ``d`` for a round covariance) for a nearly
singular covariance; the M-step's ``sum r x x^T / N - mu mu^T`` loses the same digits. So:

- the data are centred once (``o`` is their mean);
- a component whose ``eps * B_k`` would exceed 1e-10 (typically one that collapsed onto a
  point or a line) is evaluated on its own: its distances by the covariance model's
  difference form, exactly as the reference, its moments around its own mean;
- if a component then moved so far, relative to its new width, that its moments lost digits
  all the same, the M-step is redone with its moments taken around its new mean;
- tied covariances cannot be split by component: for such parameters (very rare: clusters
  hundreds of their widths apart) the reference steps are used.

Each iteration then agrees with the reference steps to about 1e-12 relative on ordinary data
and to about 1e-10 at worst, except in the directions of a covariance so close to singular
that the reference itself has fewer digits (about ``eps * condition number``): there both
carry the same rounding noise, differently, and a whole run can differ accordingly (as would
the reference with its rows in another order).

Single precision
----------------
``dtype=np.float32`` runs the passes in float32 (the sums over chunks and the M-step stay in
float64): up to 2x faster where ``exp`` and the matrix products dominate. A pass's
log-likelihood is then accurate to about 1e-7 relative and the M-step's parameters to about
1e-6 of their largest entry (about ``1e-7 * B_k`` in a log density); measured on the
benchmark's fits, final scores within 1e-6 relative of float64. Components with
``B_k > 1e-3 / eps32`` (about 8,000) are evaluated on their own in float64, and data whose
variance is outside 1e-20..1e20 (squares beyond float32's range) are fitted in float64. Because
of this noise, a ``tol`` below about 1e-7 times the mean log-likelihood per point may never be met.
"""

from __future__ import annotations

import os
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache, cached_property
from typing import Any, ClassVar

import numpy as np

from emcore.covariance import (
    CovarianceModel,
    Regularization,
    covariance_model,
    data_scale,
    effective_reg,
    safe_counts,
    weighted_moments,
)
from emcore.params import MixtureParams
from emcore.steps import (
    LOG_2PI,
    EStep,
    assemble_params,
    e_step,
    empty_components,
    point_unit,
    total_log_likelihood,
    unchecked_m_step,
)

# Bytes of per-chunk scratch (features, log densities) per thread: small enough to stay in
# cache, large enough that a chunk's matrix products run at full speed.
CHUNK_BYTES = 1 << 22

# Most rows per piece of :func:`chunk_moments`: the per-point temporaries (maxima, sums,
# logarithms: 8 bytes a row) then stay under glibc's 128 KiB mmap threshold. Dask's workers
# set MALLOC_TRIM_THRESHOLD_, which freezes that threshold: larger temporaries were mapped
# and unmapped at every piece, and a worker's chunk took 1.6x as long (measured, 500,000 x 2
# x 10 full).
PIECE_ROWS = 8192

# Largest tolerated ``eps * B_k`` (see the module docstring), per working precision.
_MAX_CANCELLATION = {np.dtype(np.float64): 1e-10, np.dtype(np.float32): 1e-3}
FLOAT64 = np.dtype(np.float64)
# Machine epsilons, looked up once (np.finfo costs a microsecond a call, several per pass).
_EPS = {dtype: float(np.finfo(dtype).eps) for dtype in _MAX_CANCELLATION}


@cache
def _upper(n_features: int) -> tuple[np.ndarray, np.ndarray]:
    """Row and column indices of the upper triangle, in the order of the full features."""
    return np.triu_indices(n_features)


# -- quadratic features, one class per covariance type ----------------------------------------


class _Features(ABC):
    """The second-order part of ``phi(x)`` for one covariance type, and its way back.

    ``phi(x) = [quadratic(x), x, 1]``; subclasses define ``quadratic`` (the second-order
    terms), their coefficients in ``C``, the maximum-likelihood covariances from the moment
    sums, and the two parts of ``B_k`` (see the module docstring) in the type's storage.
    """

    # True when the second-order term is shared by all components (tied covariances).
    shared_quadratic: ClassVar[bool] = False

    @abstractmethod
    def n_quadratic(self, n_features: int) -> int:
        """Number of second-order features."""

    @abstractmethod
    def fill_quadratic(self, x: np.ndarray, out: np.ndarray) -> None:
        """Write the second-order terms of the points ``x`` (d, m) into ``out`` (q, m)."""

    @abstractmethod
    def quadratic_coefficients(self, precisions: np.ndarray) -> np.ndarray:
        """Coefficients of the second-order terms in ``log N``, shape (q, K) or (q, 1)."""

    @abstractmethod
    def linear_coefficients(self, precisions: np.ndarray, means: np.ndarray) -> np.ndarray:
        """``Lambda_k mu_k`` for every component, shape (K, d)."""

    @abstractmethod
    def spread(self, precisions: np.ndarray, covariances: np.ndarray, n_features: int) -> Any:
        """``sum_ij |Lambda_k,ij| |Sigma_k,ij|`` for every component, shape (K,) (a scalar
        when the matrices are shared)."""

    @abstractmethod
    def offset(self, precisions: np.ndarray, offsets: np.ndarray) -> np.ndarray:
        """``|o_k|^T |Lambda_k| |o_k|`` for every component's ``o_k`` (a row of ``offsets``)."""

    @abstractmethod
    def scatter_statistic(
        self,
        quadratic_sums: np.ndarray,
        sums: np.ndarray,
        nk: np.ndarray,
        means: np.ndarray,
        data_moment: Callable[[], np.ndarray],
    ) -> np.ndarray:
        """The covariance model's statistic (see
        :meth:`emcore.covariance.CovarianceModel.scatter_statistic`) from the moment sums.

        ``quadratic_sums`` is ``sum_i w_i r_ik quadratic(x_i)`` and ``sums`` is
        ``sum_i w_i r_ik x_i``, both around the components' origins; ``nk`` are the true
        ``N_k``, ``means`` the new means around the same origins. The scatter
        ``Q - s mu^T - mu s^T + N mu mu^T`` equals ``sum_i w_i r_ik (x_i - mu_k)(x_i - mu_k)^T``
        exactly, empty components included. ``data_moment()`` is
        ``sum_i w_i (x_i - c)(x_i - c)^T`` (used by tied covariances).
        """


class _FullFeatures(_Features):
    """``quadratic(x)``: the upper triangle of ``x x^T``, row by row."""

    def n_quadratic(self, n_features):
        return n_features * (n_features + 1) // 2

    def fill_quadratic(self, x, out):
        start = 0
        for i in range(len(x)):
            # Row i of the upper triangle, x_i * x_j for j >= i: one broadcast product.
            stop = start + len(x) - i
            np.multiply(x[i], x[i:], out=out[start:stop])
            start = stop

    def quadratic_coefficients(self, precisions):
        rows, columns = _upper(precisions.shape[-1])
        # x_i x_j with i < j stands for both (i, j) and (j, i): coefficient -Lambda_ij;
        # the diagonal terms get -Lambda_ii / 2.
        halves = np.where(rows == columns, -0.5, -1.0)
        return (precisions[:, rows, columns] * halves).T

    def linear_coefficients(self, precisions, means):
        return np.einsum("kij,kj->ki", precisions, means)

    def spread(self, precisions, covariances, n_features):
        return np.einsum("kij,kij->k", np.abs(precisions), np.abs(covariances))

    def offset(self, precisions, offsets):
        offsets = np.abs(offsets)
        return np.einsum("ki,kij,kj->k", offsets, np.abs(precisions), offsets)

    def scatter_statistic(self, quadratic_sums, sums, nk, means, data_moment):
        rows, columns = _upper(means.shape[1])
        second = np.empty((len(means), means.shape[1], means.shape[1]))
        second[:, rows, columns] = quadratic_sums
        second[:, columns, rows] = quadratic_sums
        cross = sums[:, :, None] * means[:, None, :]
        scatter = second - cross - np.swapaxes(cross, 1, 2)
        scatter += nk[:, None, None] * (means[:, :, None] * means[:, None, :])
        return scatter


class _TiedFeatures(_Features):
    """No per-component second-order terms: ``x^T Lambda x`` is shared by all components."""

    shared_quadratic = True

    def n_quadratic(self, n_features):
        return 0

    def fill_quadratic(self, x, out):
        pass

    def quadratic_coefficients(self, precisions):
        return np.empty((0, 1))

    def linear_coefficients(self, precisions, means):
        return np.einsum("ij,kj->ki", precisions, means)

    def spread(self, precisions, covariances, n_features):
        # One shared matrix: the same value for every component.
        return np.einsum("ij,ij->", np.abs(precisions), np.abs(covariances))

    def offset(self, precisions, offsets):
        offsets = np.abs(offsets)
        return np.einsum("ki,ij,kj->k", offsets, np.abs(precisions), offsets)

    def scatter_statistic(self, quadratic_sums, sums, nk, means, data_moment):
        # Pooled: the rows of r sum to 1, so sum_k sum_i w_i r_ik x x^T is the data's
        # weighted X^T X.
        cross = sums.T @ means
        return data_moment() - cross - cross.T + (means.T * nk) @ means


class _DiagFeatures(_Features):
    """``quadratic(x) = x**2``."""

    def n_quadratic(self, n_features):
        return n_features

    def fill_quadratic(self, x, out):
        np.square(x, out=out)

    def quadratic_coefficients(self, precisions):
        return -0.5 * precisions.T

    # Diagonal matrices: the sums over (i, j) keep only their i == j terms.
    def linear_coefficients(self, precisions, means):
        return precisions * means

    def spread(self, precisions, covariances, n_features):
        return (precisions * covariances).sum(axis=1)

    def offset(self, precisions, offsets):
        return (offsets * precisions * offsets).sum(axis=1)

    def scatter_statistic(self, quadratic_sums, sums, nk, means, data_moment):
        return quadratic_sums - 2.0 * sums * means + nk[:, None] * means**2


class _SphericalFeatures(_Features):
    """``quadratic(x) = |x|**2``: one feature."""

    def n_quadratic(self, n_features):
        return 1

    def fill_quadratic(self, x, out):
        np.einsum("ij,ij->j", x, x, out=out[0])

    def quadratic_coefficients(self, precisions):
        return -0.5 * precisions[None, :]

    # lambda I: the sums over (i, j) keep d equal diagonal terms.
    def linear_coefficients(self, precisions, means):
        return precisions[:, None] * means

    def spread(self, precisions, covariances, n_features):
        return n_features * (precisions * covariances)

    def offset(self, precisions, offsets):
        return precisions * np.einsum("kd,kd->k", offsets, offsets)

    def scatter_statistic(self, quadratic_sums, sums, nk, means, data_moment):
        scatter = quadratic_sums[:, 0] - 2.0 * np.einsum("kd,kd->k", sums, means)
        scatter += nk * np.einsum("kd,kd->k", means, means)
        return scatter / means.shape[1]  # tr W_k / d, as the spherical models' statistic


# What the pass accumulates, by the covariance model's statistic (its storage): the 14 models
# need only these four kinds of features.
_FEATURES: dict[str, _Features] = {
    "full": _FullFeatures(),
    "pooled": _TiedFeatures(),
    "diagonal": _DiagFeatures(),
    "spherical": _SphericalFeatures(),
}


# -- what a pass produces, and how it evaluates each component --------------------------------


@dataclass(frozen=True, eq=False)
class Pass:
    """What one E-step pass over the data produced.

    Attributes
    ----------
    log_likelihood : float
        Total log-likelihood of the parameters the pass evaluated.
    moments : ndarray of shape (K, p) or None
        ``sum_i r_ik phi(x_i - origins[k])``, for the next M-step (None if ``estep`` was kept).
    origins : ndarray of shape (K, d) or None
        The point each component's moments are taken around.
    estep : EStep or None
        The full responsibilities, when they were asked for or the reference step was used.
    dtype : numpy dtype or None
        The precision of the pass; None for the reference :func:`emcore.steps.e_step`.
    finish_estep : callable or None
        Builds the pass's :class:`EStep` from what it kept (small data, one chunk), the same
        numbers as a pass with ``keep_resp``, for a fraction of its cost.
    """

    log_likelihood: float
    moments: np.ndarray | None = None
    origins: np.ndarray | None = None
    estep: EStep | None = None
    dtype: np.dtype | None = None
    finish_estep: Callable[[], EStep] | None = None


@dataclass(frozen=True, eq=False)
class _Plan:
    """How a pass evaluates the active components (those with weight > 0).

    ``shared`` components: all at once, ``matrix @ phi(x - centre)``. ``own`` components (too
    tight for the expanded form around the centre): one by one, distances by the covariance
    model's difference form, moments around ``own_origins``.
    """

    dtype: np.dtype
    shared: np.ndarray
    matrix: np.ndarray  # (len(shared), p) in ``dtype``
    own: np.ndarray
    own_origins: np.ndarray
    own_means: np.ndarray
    own_factors: np.ndarray
    own_constants: np.ndarray

    @cached_property  # asked several times per pass
    def order(self) -> np.ndarray:
        """Component index of every row of a chunk's log densities."""
        return np.concatenate([self.shared, self.own])


class MomentSpace:
    """The data-free half of the fused pass: everything but the rows themselves.

    How parameters are evaluated around a centre (:meth:`plan`), and the M-step from the
    moments a pass gathered (:meth:`params_from_moments`). :class:`FastEM` (all the rows in
    memory) and :mod:`emcore.dask_engine` (rows in Dask chunks, moments tree-reduced) share
    it: the chunks' work is :func:`chunk_moments`, the same function in both.

    Parameters
    ----------
    model : CovarianceModel
    n_features : int
    centre : ndarray of shape (d,)
        The point the pass's features are taken around (the data's weighted mean).
    effective_reg : float
        The effective ``reg_covar`` (:func:`emcore.covariance.effective_reg`).
    regularization : {"floor", "add"}
    point_unit : float
        :func:`emcore.steps.point_unit` of the sample weights.
    dtype : numpy float dtype
        The passes' working precision.
    data_moment : ndarray of shape (d, d), optional
        ``sum_i w_i (x_i - c)(x_i - c)^T`` (tied covariances need it), if known.
    """

    def __init__(
        self,
        model: CovarianceModel,
        n_features: int,
        centre: np.ndarray,
        effective_reg: float,
        regularization: Regularization,
        point_unit: float,
        dtype: np.dtype = FLOAT64,
        data_moment: np.ndarray | None = None,
    ) -> None:
        self.model = model
        self.features = _FEATURES[model.family]
        self.n_features = n_features
        self.n_quadratic = self.features.n_quadratic(n_features)
        self.width = self.n_quadratic + n_features + 1
        self.centre = centre
        self.effective_reg = effective_reg
        self.regularization = regularization
        self.point_unit = point_unit
        self.dtype = np.dtype(dtype)
        self._data_moment = data_moment
        self._magnitudes: tuple[MixtureParams, np.ndarray, np.ndarray] | None = None

    def data_moment(self) -> np.ndarray:
        """``sum_i w_i (x_i - c)(x_i - c)^T`` around :attr:`centre`."""
        if self._data_moment is None:
            raise ValueError("This covariance model needs the data's second moment.")
        return self._data_moment

    def plan(
        self,
        params: MixtureParams,
        dtype: np.dtype,
        forced: dict[int, np.ndarray] | None = None,
    ) -> _Plan:
        """How a pass evaluates ``params`` in ``dtype`` (picklable: sent to every chunk);
        ``forced`` components go alone, their moments around the given origins."""
        return self._plan(params, np.dtype(dtype), forced)

    def moments_and_origins(
        self, plan: _Plan, partial: np.ndarray, n_components: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """The (K, p) moments and (K, d) origins of a pass from the plan's summed
        :func:`chunk_moments` (rows in ``plan.order``; empty components get zeros)."""
        moments = np.zeros((n_components, self.width))
        moments[plan.order] = partial
        if len(plan.own):
            origins = np.repeat(self.centre[None, :], n_components, axis=0)
            origins[plan.own] = plan.own_origins
        else:  # read-only, as m_step's own default
            origins = np.broadcast_to(self.centre, (n_components, self.n_features))
        return moments, origins

    def params_from_moments(
        self, moments: np.ndarray, origins: np.ndarray, previous: MixtureParams
    ) -> MixtureParams:
        """:func:`params_from_moments` with this space's model and settings."""
        return params_from_moments(
            moments,
            origins,
            previous,
            self.model,
            self.effective_reg,
            self.regularization,
            self.point_unit,
            self.data_moment,
        )

    def statistics(self, moments: np.ndarray, origins: np.ndarray) -> tuple[np.ndarray, ...]:
        """:func:`statistics_from_moments` with this space's model: ``(W_k, N_k, offsets)``."""
        return statistics_from_moments(moments, origins, self.model, self.data_moment)

    def shared_quadratic(self, params: MixtureParams) -> float:
        """``-1/2 sum_i (x_i - c)^T Lambda (x_i - c)``, left out of ``C`` (tied), else 0."""
        return self._shared_quadratic(params)

    def tight(self, params: MixtureParams, dtype: np.dtype) -> np.ndarray:
        """Active components the expanded form around the centre cannot evaluate."""
        return self._tight(params, np.dtype(dtype))

    def moved(self, params: MixtureParams, dtype: np.dtype, origins: np.ndarray) -> np.ndarray:
        """Active components whose new covariances lost digits (see :meth:`FastEM.m_step`)."""
        return self._moved(params, np.dtype(dtype), origins)

    # -- what a pass needs of the parameters ----------------------------------------------------

    def cancellation(
        self, params: MixtureParams, origins: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """The two parts of ``B_k`` for every component, around ``origins`` (default: centre).

        Returns ``(offset, spread)``: ``|mu_k - o|^T |Lambda_k| |mu_k - o|``, and
        ``sum_ij |Lambda_k,ij| |Sigma_k,ij|`` for the points around the component (about ``d``
        when the covariance is well conditioned, about its condition number when it is not).
        """
        if self._magnitudes is None or self._magnitudes[0] is not params:
            # Each parameters are checked twice (after their M-step, before their E-step).
            # In the type's own storage: diagonal types need no (K, d, d) matrices.
            precisions = params.model.precisions(params.precisions_cholesky)
            spread = self.features.spread(precisions, params.covariances, self.n_features)
            spread = np.broadcast_to(spread, (params.n_components,))  # tied: one for all
            self._magnitudes = (params, precisions, spread)
        _, precisions, spread = self._magnitudes
        offsets = params.means - (self.centre if origins is None else origins)
        return self.features.offset(precisions, offsets), spread

    def _tight(self, params: MixtureParams, dtype: np.dtype) -> np.ndarray:
        """Active components the expanded form around the centre cannot evaluate in ``dtype``.

        Its error, ``eps * B_k``, must stay below the limit (the reference's difference form
        is accurate to about ``eps * sqrt(spread)``).
        """
        offset, spread = self.cancellation(params)
        error = _EPS[dtype] * (offset + spread)
        return (error > _MAX_CANCELLATION[dtype]) & ~params.empty

    def _moved(self, params: MixtureParams, dtype: np.dtype, origins: np.ndarray) -> np.ndarray:
        """Active components whose new covariances lost digits in moments around ``origins``.

        ``Q / N - mu mu^T`` loses ``eps * B_k``; the reference's centred scatter itself loses
        ``eps64 * spread`` (that part is inherent to the covariance, not to the method).
        """
        offset, spread = self.cancellation(params, origins)
        eps = _EPS[dtype]
        error = eps * offset + (eps - _EPS[FLOAT64]) * spread
        return (error > _MAX_CANCELLATION[dtype]) & ~params.empty

    def _plan(
        self,
        params: MixtureParams,
        dtype: np.dtype,
        forced: dict[int, np.ndarray] | None = None,
    ) -> _Plan:
        """Which components the GEMM evaluates, and which (tight or ``forced``) go alone."""
        forced = forced or {}
        model = params.model
        q, d = self.n_quadratic, params.n_features
        own_mask = self._tight(params, dtype)
        if forced:
            own_mask[list(forced)] = True
        shared = np.flatnonzero(~(params.empty | own_mask))
        own = np.flatnonzero(own_mask)
        precisions = model.precisions(params.precisions_cholesky)
        log_weights = np.log(np.where(params.empty, 1.0, params.weights))
        constants = (
            log_weights + model.log_det_cholesky(params.precisions_cholesky, d) - 0.5 * d * LOG_2PI
        )
        means = params.means - self.centre
        linear = self.features.linear_coefficients(precisions, means)
        # C, one row per component, in phi's order: second-order, linear, constant terms.
        matrix = np.empty((params.n_components, self.width))
        matrix[:, :q] = self.features.quadratic_coefficients(precisions).T
        matrix[:, q:-1] = linear
        matrix[:, -1] = constants - 0.5 * np.einsum("ki,ki->k", linear, means)
        own_means = params.means[own]
        own_origins = own_means.copy()
        for row, component in enumerate(own):
            if component in forced:
                own_origins[row] = forced[component]
        factors = params.precisions_cholesky
        return _Plan(
            dtype=dtype,
            shared=shared,
            matrix=np.ascontiguousarray(matrix[shared], dtype=dtype),
            own=own,
            own_origins=own_origins,
            own_means=own_means,
            own_factors=factors if self.features.shared_quadratic else factors[own],
            own_constants=constants[own],
        )

    # -- tied covariances: the shared x^T Lambda x ---------------------------------------------

    def _shared_factor(self, params: MixtureParams) -> np.ndarray | None:
        """The shared precision factor when the second-order term is shared, else None."""
        return params.precisions_cholesky if self.features.shared_quadratic else None

    def _shared_quadratic(self, params: MixtureParams) -> float:
        """``-1/2 sum_i (x_i - c)^T Lambda (x_i - c)``, left out of ``C`` (tied), else 0."""
        factor = self._shared_factor(params)
        if factor is None:
            return 0.0
        return -0.5 * float(np.sum(self.data_moment() * (factor @ factor.T)))


class FastEM(MomentSpace):
    """Fused, chunked EM iterations on fixed data.

    Parameters
    ----------
    X : ndarray of shape (n, d)
        Finite float64 data (as checked by :func:`emcore.validation.check_data`).
    covariance_type : str or CovarianceModel
    reg_covar : float
        As for :func:`emcore.steps.m_step` (the effective value is computed once here).
    regularization : {"floor", "add"}
    dtype : numpy float dtype
        ``np.float64`` (default) or ``np.float32`` for the passes (see the module docstring).
    chunk_rows : int, optional
        Rows per chunk; by default about ``CHUNK_BYTES`` of scratch per chunk.
    n_threads : int, optional
        Threads sharing the chunks; by default the CPUs available.
    scale : float, optional
        :func:`emcore.covariance.data_scale` of ``X`` (and ``sample_weight``) if the caller has
        it (a run measures it once), else measured here when needed.
    sample_weight : ndarray of shape (n,), optional
        Checked frequency weights (:func:`emcore.validation.check_sample_weight`). A chunk's
        responsibilities are multiplied by its rows' weights before the moment product, so
        the moments are ``sum_i w_i r_ik phi(x_i)``, and the log-likelihood is
        ``sum_i w_i log p(x_i)``: the reference steps' numbers, at the cost of one
        multiplication per responsibility.

    Examples
    --------
    >>> fast = FastEM(X, "full", regularization="add")       # doctest: +SKIP
    >>> current = fast.e_step(params)                         # log-likelihood and statistics
    >>> params = fast.m_step(current, params)                 # the next parameters
    """

    def __init__(
        self,
        X: np.ndarray,
        covariance_type: str | CovarianceModel,
        reg_covar: float = 1e-6,
        regularization: Regularization = "floor",
        *,
        dtype: type | np.dtype = np.float64,
        chunk_rows: int | None = None,
        n_threads: int | None = None,
        scale: float | None = None,
        sample_weight: np.ndarray | None = None,
    ) -> None:
        self.X = X
        self.sample_weight = sample_weight
        self.reg_covar = reg_covar
        dtype = check_dtype(dtype)
        if scale is None and (regularization != "add" or dtype != FLOAT64):
            scale = data_scale(X, sample_weight)  # measured only when something needs it
        self.scale = scale
        dtype = pass_dtype(dtype, scale)
        self.n_samples = X.shape[0]
        # Centring makes the expanded quadratic form accurate (see the module docstring).
        super().__init__(
            covariance_model(covariance_type),
            X.shape[1],
            weighted_moments(X, sample_weight)[0],
            effective_reg(X, reg_covar, regularization, scale=scale),
            regularization,
            point_unit(sample_weight),
            dtype,
        )
        self._chunk_rows = chunk_rows
        # Asked once, not on every pass: the affinity query is a system call.
        self._n_threads = max(1, n_threads or _available_cpus())
        self._weights_by_dtype: dict[np.dtype, np.ndarray] = {}
        self._last_plan: tuple[MixtureParams, _Plan] | None = None

    # -- the steps ----------------------------------------------------------------------------

    def e_step(self, params: MixtureParams, keep_resp: bool = False) -> Pass:
        """Log-likelihood of ``params`` and the statistics for the next M-step, in one pass.

        With ``keep_resp`` the pass keeps the full responsibilities (an :class:`EStep`, as
        :func:`emcore.steps.e_step` returns) instead of the statistics.
        """
        dtype = self.dtype
        if self.features.shared_quadratic and self._tight(params, dtype).any():
            # Tied covariances cannot be split by component: float64, else the reference step.
            dtype = FLOAT64
            if self._tight(params, dtype).any():
                estep = e_step(self.X, params)
                return Pass(self._total(estep), estep=estep)
        return self._pass(self._evaluation_plan(params, dtype), params, keep_resp)

    def _evaluation_plan(self, params: MixtureParams, dtype: np.dtype) -> _Plan:
        """:meth:`_plan` of ``params``, reused when they are evaluated again: a converged run
        evaluates its final parameters twice, for the log-likelihood and for the
        responsibilities (:meth:`full_e_step`)."""
        if self._last_plan is not None:
            last_params, plan = self._last_plan
            if last_params is params and plan.dtype == dtype:
                return plan
        plan = self._plan(params, dtype)
        self._last_plan = (params, plan)
        return plan

    def m_step(self, current: Pass, previous: MixtureParams) -> MixtureParams:
        """New parameters from a pass over ``previous`` (the parameters it evaluated).

        Same rules as :func:`emcore.steps.m_step`: empty components keep ``previous`` mean and
        covariance with weight 0. A component whose moments were too far from its new mean
        for their precision (``Q / N - mu mu^T`` cancels) gets them again from a second pass,
        around its new mean.
        """
        moments, origins, dtype = current.moments, current.origins, current.dtype or FLOAT64
        if moments is None:
            moments, origins = self.moments_from_resp(current.estep.resp), None
        if origins is None:
            origins = np.broadcast_to(self.centre, previous.means.shape)
        params = self._params_from_moments(moments, origins, previous)
        inaccurate = self._moved(params, dtype, origins)
        if not inaccurate.any():
            return params
        if not self.features.shared_quadratic:
            forced = dict(zip(np.flatnonzero(inaccurate), params.means[inaccurate], strict=True))
            again = self._pass(self._plan(previous, FLOAT64, forced), previous)
            params = self._params_from_moments(again.moments, again.origins, previous)
            if not self._moved(params, FLOAT64, again.origins).any():
                return params
        exact = current.estep if current.dtype is None else e_step(self.X, previous)
        return unchecked_m_step(
            self.X,
            exact.resp,
            self.model.name,
            self.reg_covar,
            previous,
            self.regularization,
            scale=self.scale,
            sample_weight=self.sample_weight,
        )

    def full_e_step(self, current: Pass, params: MixtureParams) -> EStep:
        """The :class:`EStep` of ``params``: the one ``current`` kept, or a new pass."""
        if current.estep is not None:
            return current.estep
        if current.finish_estep is not None:
            return current.finish_estep()
        return self.e_step(params, keep_resp=True).estep

    def moments_from_resp(self, resp: np.ndarray) -> np.ndarray:
        """``sum_i r_ik phi(x_i - c)`` from given responsibilities, in float64."""

        def work(slices: list[slice]) -> np.ndarray:
            buffer = _buffer(slices, self.width, FLOAT64)
            moments = np.zeros((resp.shape[1], self.width))
            for rows in slices:
                weighted = (
                    resp[rows]
                    if self.sample_weight is None
                    else (resp[rows] * self.sample_weight[rows, None])
                )
                moments += weighted.T @ self._features(rows, buffer, self.centre).T
            return moments

        return sum(self._map_chunks(work, self._rows_per_chunk(resp.shape[1], FLOAT64)))

    # -- one pass -----------------------------------------------------------------------------

    def _pass(self, plan: _Plan, params: MixtureParams, keep_resp: bool = False) -> Pass:
        if keep_resp:
            estep = self._estep_pass(plan, params)
            return Pass(self._total(estep), estep=estep, dtype=plan.dtype)
        n_active = len(plan.order)
        # Data that are one chunk for this pass and for a pass keeping the responsibilities
        # (:meth:`_estep_pass`): keep the chunk's arrays, so the EStep of these parameters, if
        # a converged run asks for it, is a few array writes instead of another pass, with
        # the same numbers (the same operations on the same chunk).
        keep = self._rows_per_chunk(2 * n_active, plan.dtype) >= self.n_samples
        kept: list[tuple[slice, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []

        def work(slices: list[slice]) -> tuple[float, np.ndarray]:
            buffer = _buffer(slices, self.width, plan.dtype)
            own_buffer = _buffer(slices if len(plan.own) else [], self.width, FLOAT64)
            scratch = _buffer(slices, n_active, plan.dtype)
            moments = np.zeros((n_active, self.width))
            total = 0.0
            for rows in slices:
                log_likelihood, arrays = _chunk_step(
                    self.X[rows],
                    self._chunk_weights(rows, plan.dtype),
                    plan,
                    self.model,
                    self.centre,
                    moments,
                    (buffer, own_buffer, scratch),
                    keep,
                )
                total += log_likelihood
                if keep:
                    kept.append((rows, *arrays))
            return total, moments

        results = self._map_chunks(work, self._rows_per_chunk(n_active, plan.dtype))
        moments, origins = self.moments_and_origins(
            plan, sum(part for _, part in results), params.n_components
        )
        log_likelihood = sum(total for total, _ in results) + self._shared_quadratic(params)

        def finish_estep() -> EStep:
            estep, columns = self._new_estep(plan, params)
            for chunk in kept:
                self._write_estep(estep, columns, params, *chunk)
            return estep

        return Pass(
            log_likelihood,
            moments=moments,
            origins=origins,
            dtype=plan.dtype,
            finish_estep=finish_estep if kept else None,
        )

    def _estep_pass(self, plan: _Plan, params: MixtureParams) -> EStep:
        """A pass that keeps the (n, K) responsibilities, as :func:`emcore.steps.e_step`."""
        order = plan.order
        estep, columns = self._new_estep(plan, params)

        def work(slices: list[slice]) -> None:
            buffer = _buffer(slices, self.width, plan.dtype)
            scratch = _buffer(slices, 2 * len(order), plan.dtype)
            for rows in slices:
                phi = self._features(rows, buffer, self.centre)
                shape = (len(order), phi.shape[1])
                log_joint = _view(scratch, shape)
                _log_joint(plan, self.model, self.X[rows], phi, log_joint)
                weights = _view(scratch[log_joint.size :], shape)
                _, largest, totals = _responsibilities(log_joint, weights)
                self._write_estep(
                    estep, columns, params, rows, log_joint, weights, largest, totals, phi
                )

        self._map_chunks(work, self._rows_per_chunk(2 * len(order), plan.dtype))
        return estep

    def _new_estep(self, plan: _Plan, params: MixtureParams) -> tuple[EStep, slice | np.ndarray]:
        """Empty (n, K) arrays for an EStep, and the columns the plan's rows go to."""
        n, k = self.n_samples, params.n_components
        order = plan.order
        if np.array_equal(order, np.arange(k)):
            # Every component active, in order: whole rows are written, much faster.
            columns, log_resp, resp = slice(None), np.empty((n, k)), np.empty((n, k))
        else:
            columns, log_resp, resp = order, np.full((n, k), -np.inf), np.zeros((n, k))
        return EStep(log_resp=log_resp, log_prob=np.empty(n), resp=resp), columns

    def _write_estep(
        self,
        estep: EStep,
        columns: slice | np.ndarray,
        params: MixtureParams,
        rows: slice,
        shifted: np.ndarray,
        weights: np.ndarray,
        largest: np.ndarray,
        totals: np.ndarray,
        phi: np.ndarray,
    ) -> None:
        """A chunk's rows of ``estep`` from ``shifted = L - max``, the responsibilities
        ``weights = exp(shifted) / totals`` (both (active, m)), ``max`` and ``totals``.
        (Overwrites ``shifted``.)"""
        estep.resp[rows, columns] = weights.T
        log_totals = np.log(totals)
        shifted -= log_totals
        estep.log_resp[rows, columns] = shifted.T
        estep.log_prob[rows] = largest + log_totals
        shared_factor = self._shared_factor(params)
        if shared_factor is not None:
            projected = shared_factor.T @ phi[self.n_quadratic : self.n_quadratic + self.n_features]
            estep.log_prob[rows] -= 0.5 * np.einsum("ij,ij->j", projected, projected)

    def data_moment(self) -> np.ndarray:
        """``sum_i w_i (x_i - c)(x_i - c)^T``, computed once, by chunks (tied covariances need
        it)."""
        if self._data_moment is None:
            d = self.n_features
            self._data_moment = np.zeros((d, d))
            for rows in _chunks(self.n_samples, self._rows_per_chunk(0, FLOAT64)):
                centred = self.X[rows] - self.centre
                weighted = _weigh(centred.T, self._chunk_weights(rows, FLOAT64), in_place=False)
                self._data_moment += weighted @ centred
        return self._data_moment

    # -- sample weights -----------------------------------------------------------------------

    def _chunk_weights(self, rows: slice, dtype: np.dtype) -> np.ndarray | None:
        """The chunk's sample weights in the pass's precision, or None without weights."""
        if self.sample_weight is None:
            return None
        if dtype not in self._weights_by_dtype:
            self._weights_by_dtype[dtype] = self.sample_weight.astype(dtype)
        return self._weights_by_dtype[dtype][rows]

    def _total(self, estep: EStep) -> float:
        """The (weighted) log-likelihood of an EStep over these data."""
        return total_log_likelihood(estep.log_prob, self.sample_weight)

    # -- the M-step from moments --------------------------------------------------------------

    def _params_from_moments(
        self, moments: np.ndarray, origins: np.ndarray, previous: MixtureParams
    ) -> MixtureParams:
        return self.params_from_moments(moments, origins, previous)

    # -- chunks and threads -------------------------------------------------------------------

    def _rows_per_chunk(self, n_components: int, dtype: np.dtype) -> int:
        """``chunk_rows`` if given, else about ``CHUNK_BYTES`` of scratch per chunk, with the
        same number of equal chunks for every thread."""
        if self._chunk_rows is not None:
            return max(1, int(self._chunk_rows))
        row_bytes = dtype.itemsize * (self.width + n_components)
        n_chunks = -(-self.n_samples // max(64, CHUNK_BYTES // row_bytes))
        n_threads = min(self._n_threads, n_chunks)
        n_chunks = -(-n_chunks // n_threads) * n_threads
        return -(-self.n_samples // n_chunks)

    def _features(self, rows: slice, buffer: np.ndarray, origin: np.ndarray) -> np.ndarray:
        """``phi(x - origin)`` of the given rows, shape (p, m): one column per point.

        Written to the front of ``buffer``, so every chunk's features are contiguous.
        """
        return chunk_features(self.X[rows], self.features, origin, buffer)

    def _map_chunks(self, work: Callable[[list[slice]], Any], chunk_rows: int) -> list[Any]:
        """Run ``work`` on every thread's share of the row chunks; its results, in order."""
        chunks = list(_chunks(self.n_samples, chunk_rows))
        if len(chunks) == 1:
            # Small data: one chunk, too little work for BLAS threads or for ours.
            return [work(chunks)]
        n_threads = min(self._n_threads, len(chunks))
        # BLAS stays single-threaded even when we use one thread: its threads on these
        # skinny per-chunk products made a pass 2.5x slower here (100,000 x 32 x 16).
        with _single_threaded_blas():
            if n_threads <= 1:
                return [work(chunks)]
            shares = [chunks[i::n_threads] for i in range(n_threads)]
            return list(_executor(n_threads).map(work, shares))


def check_dtype(dtype: object) -> np.dtype:
    """``dtype`` as a NumPy dtype, refused with a sentence unless float64 or float32 (the
    precisions the fused passes have accuracy bounds for)."""
    try:
        checked = np.dtype(dtype)
    except TypeError:
        checked = None
    if checked not in _MAX_CANCELLATION:
        raise ValueError(f"dtype must be np.float64 or np.float32; got {dtype!r}.")
    return checked


def pass_dtype(dtype: np.dtype, scale: float | None) -> np.dtype:
    """The passes' precision: ``dtype``, or float64 for data whose squares would leave
    float32's range (variance ``scale`` outside 1e-20..1e20)."""
    dtype = np.dtype(dtype)
    if dtype != FLOAT64 and not 1e-20 < scale < 1e20:
        return FLOAT64
    return dtype


def params_from_moments(
    moments: np.ndarray,
    origins: np.ndarray,
    previous: MixtureParams,
    model: CovarianceModel,
    reg: float,
    regularization: Regularization,
    unit: float,
    data_moment: Callable[[], np.ndarray],
) -> MixtureParams:
    """:func:`emcore.steps.m_step`, from ``moments = sum_i w_i r_ik phi(x_i - origins[k])``.

    The one M-step of the fused pass, whoever gathered the moments (:class:`FastEM` in
    memory, :mod:`emcore.dask_engine` by chunks): the covariance model's statistic from the
    moments (``_FEATURES[model.family]``), then ``model.estimate_from`` and the reference's
    rule for empty components (:func:`emcore.steps.assemble_params`).

    Parameters
    ----------
    moments : ndarray of shape (K, p)
    origins : ndarray of shape (K, d)
    previous : MixtureParams
        The parameters the moments were gathered under.
    model : CovarianceModel
    reg : float
        The effective ``reg_covar``.
    regularization : {"floor", "add"}
    unit : float
        :func:`emcore.steps.point_unit` of the sample weights.
    data_moment : callable
        Returns ``sum_i w_i (x_i - c)(x_i - c)^T`` around the centre (tied covariances).
    """
    statistic, nk, offsets = statistics_from_moments(moments, origins, model, data_moment)
    empty = empty_components(nk, unit)
    covariances = model.estimate_from(statistic, nk, reg, regularization, previous.covariances)
    means = origins + offsets
    return assemble_params(nk, means, covariances, model, reg, previous, empty)


def statistics_from_moments(
    moments: np.ndarray,
    origins: np.ndarray,
    model: CovarianceModel,
    data_moment: Callable[[], np.ndarray],
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The M-step's sufficient statistics from a fused pass's moments (see
    :func:`params_from_moments`): ``(statistic, N_k, offsets)``, the covariance model's
    statistic ``W_k`` (:meth:`emcore.covariance.CovarianceModel.scatter_statistic`), the
    counts (K,) and the new means less ``origins`` (K, d)."""
    features = _FEATURES[model.family]
    d = origins.shape[1]
    q = features.n_quadratic(d)
    nk = moments[:, -1]
    sums = moments[:, q : q + d]
    offsets = sums / safe_counts(nk)[:, None]  # the new means, around the origins
    statistic = features.scatter_statistic(moments[:, :q], sums, nk, offsets, data_moment)
    return statistic, nk, offsets


def chunk_features(
    x: np.ndarray, features: _Features, origin: np.ndarray, buffer: np.ndarray
) -> np.ndarray:
    """``phi(x - origin)`` of a chunk's rows ``x`` (m, d), shape (p, m): one column a point.

    Written to the front of the flat ``buffer`` (its dtype is the pass's), so every chunk's
    features are contiguous.
    """
    m, d = x.shape
    q = features.n_quadratic(d)
    phi = _view(buffer, (q + d + 1, m))
    linear = phi[q : q + d]
    np.subtract(x.T, origin[:, None], out=linear, casting="same_kind")
    features.fill_quadratic(linear, phi[:q])
    phi[-1] = 1.0
    return phi


def _log_joint(
    plan: _Plan, model: CovarianceModel, x: np.ndarray, phi: np.ndarray, out: np.ndarray
) -> None:
    """``log pi_k N(x | k)`` of the chunk's points ``x`` for the plan's components into ``out``.

    (Tied: without the shared ``-x^T Lambda x / 2``.)
    """
    n_shared = len(plan.shared)
    np.matmul(plan.matrix, phi, out=out[:n_shared])
    if len(plan.own):
        distances = model.mahalanobis(x, plan.own_means, plan.own_factors)
        out[n_shared:] = plan.own_constants[:, None] - 0.5 * distances.T


def _chunk_step(
    x: np.ndarray,
    weights: np.ndarray | None,
    plan: _Plan,
    model: CovarianceModel,
    centre: np.ndarray,
    moments: np.ndarray,
    buffers: tuple[np.ndarray, np.ndarray, np.ndarray],
    keep: bool = False,
) -> tuple[float, tuple | None]:
    """One chunk of a pass: adds its ``sum_i w_i r_ik phi(x_i - origin_k)`` to ``moments``
    (rows in ``plan.order``) and returns its log-likelihood (tied: without the shared term).

    ``buffers`` are flat scratch for the features around the centre, around an own
    component's origin, and the log densities. With ``keep`` the chunk's arrays are returned
    too (``L - max``, responsibilities, maxima, sums, features), else None.
    """
    buffer, own_buffer, scratch = buffers
    features = _FEATURES[model.family]
    n_shared = len(plan.shared)
    phi = chunk_features(x, features, centre, buffer)
    log_joint = _view(scratch, (len(plan.order), phi.shape[1]))
    _log_joint(plan, model, x, phi, log_joint)
    resp = np.empty_like(log_joint) if keep else log_joint
    log_likelihood, largest, totals = _responsibilities(log_joint, resp, weights)
    weighted = _weigh(resp, weights, in_place=not keep)
    moments[:n_shared] += weighted[:n_shared] @ phi.T
    for j, origin in enumerate(plan.own_origins, start=n_shared):
        around = chunk_features(x, features, origin, own_buffer)
        moments[j] += weighted[j] @ around.T
    return log_likelihood, ((log_joint, resp, largest, totals, phi) if keep else None)


def chunk_moments(
    x: np.ndarray,
    weights: np.ndarray | None,
    plan: _Plan,
    model: CovarianceModel,
    centre: np.ndarray,
) -> tuple[float, np.ndarray]:
    """One pass's statistics of a NumPy chunk of rows alone (no :class:`FastEM`, no other rows).

    Parameters
    ----------
    x : ndarray of shape (m, d)
        Finite float64 rows.
    weights : ndarray of shape (m,) or None
        Their sample weights.
    plan : the pass's plan (:meth:`MomentSpace.plan`)
    model : CovarianceModel
    centre : ndarray of shape (d,)
        The pass's centre (the same for every chunk).

    Returns
    -------
    log_likelihood : float
        ``sum_i w_i log p(x_i)`` over the chunk (tied: without the shared quadratic term,
        :meth:`MomentSpace.shared_quadratic`, which is added once for all the data).
    moments : ndarray of shape (len(plan.order), p)
        ``sum_i w_i r_ik phi(x_i - origin_k)``; summed over chunks, they are the pass's
        (:meth:`MomentSpace.moments_and_origins`).

    The chunk is worked through in pieces of about ``CHUNK_BYTES`` of scratch (at most
    ``PIECE_ROWS`` rows), in one thread with BLAS kept single-threaded (the caller, e.g. Dask,
    runs chunks in parallel).
    """
    features = _FEATURES[model.family]
    n_rows, d = x.shape
    width = features.n_quadratic(d) + d + 1
    n_active = len(plan.order)
    step = max(64, CHUNK_BYTES // (plan.dtype.itemsize * (width + n_active)))
    step = min(step, PIECE_ROWS, max(1, n_rows))
    buffers = (
        np.empty(step * width, dtype=plan.dtype),
        np.empty(step * width if len(plan.own) else 0, dtype=FLOAT64),
        np.empty(step * n_active, dtype=plan.dtype),
    )
    if weights is not None:
        weights = weights.astype(plan.dtype, copy=False)
    moments = np.zeros((n_active, width))
    total = 0.0
    with _single_threaded_blas():
        for rows in _chunks(n_rows, step):
            part, _ = _chunk_step(
                x[rows],
                None if weights is None else weights[rows],
                plan,
                model,
                centre,
                moments,
                buffers,
            )
            total += part
    return total, moments


def _responsibilities(
    log_joint: np.ndarray, out: np.ndarray, weights: np.ndarray | None = None
) -> tuple[float, np.ndarray, np.ndarray]:
    """A chunk's responsibilities from its ``L = log pi_k N(x_i | k)`` (K, m), into ``out``
    (which may be ``log_joint`` itself; otherwise ``log_joint`` is left as ``L - max``).

    One ``exp`` over the chunk: ``exp(L - max)`` gives both the column sums (the likelihoods,
    up to the factor ``exp(max)``) and, divided by them, the responsibilities. Returns the
    chunk's log-likelihood (``sum_i w_i log p(x_i)`` with the points' ``weights`` (m,)), the
    column maxima and the column sums.
    """
    largest = log_joint.max(axis=0)
    log_joint -= largest
    np.exp(log_joint, out=out)
    totals = out.sum(axis=0)
    out /= totals
    if weights is None:
        log_likelihood = np.log(totals).sum(dtype=np.float64) + largest.sum(dtype=np.float64)
    else:
        log_points = np.log(totals, dtype=np.float64) + largest
        log_likelihood = log_points @ weights.astype(np.float64, copy=False)
    return float(log_likelihood), largest, totals


def _weigh(values: np.ndarray, weights: np.ndarray | None, in_place: bool) -> np.ndarray:
    """``values`` (q, m) with column j multiplied by ``weights[j]``; itself without weights."""
    if weights is None:
        return values
    if in_place:
        values *= weights
        return values
    return values * weights


def _buffer(slices: list[slice], rows_per_point: int, dtype: np.dtype) -> np.ndarray:
    """Flat scratch for ``rows_per_point`` values of every point of the largest chunk."""
    points = max((s.stop - s.start for s in slices), default=0)
    return np.empty(points * rows_per_point, dtype=dtype)


def _view(buffer: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """The front of a flat buffer as a contiguous array of ``shape``."""
    return buffer[: shape[0] * shape[1]].reshape(shape)


def _chunks(n_rows: int, chunk_rows: int) -> Iterator[slice]:
    for start in range(0, n_rows, chunk_rows):
        yield slice(start, min(start + chunk_rows, n_rows))


def _available_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


_EXECUTORS: dict[int, ThreadPoolExecutor] = {}


def _executor(n_threads: int) -> ThreadPoolExecutor:
    """A process-wide pool per thread count, so threads are not restarted every pass."""
    if n_threads not in _EXECUTORS:
        _EXECUTORS[n_threads] = ThreadPoolExecutor(n_threads, thread_name_prefix="emcore")
    return _EXECUTORS[n_threads]


_BLAS_LOCK = threading.Lock()
_BLAS_STATE: dict[str, Any] = {"controller": None, "users": 0, "limiter": None}


@contextmanager
def _single_threaded_blas() -> Iterator[None]:
    """While a pass works through its chunks, BLAS must not start threads of its own.

    Its spinning threads would compete with ours for the cores (and with other processes):
    measured here, that made a pass up to ten times slower; with a single thread of ours, its
    threads on the small per-chunk products still made a pass 2.5x slower. The limit is
    process-wide, so it is counted: set by the first pass that needs it, restored when the
    last one ends.
    """
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:  # optional: without it BLAS may oversubscribe the cores
        yield
        return
    with _BLAS_LOCK:
        if _BLAS_STATE["controller"] is None:
            _BLAS_STATE["controller"] = ThreadpoolController()
        if _BLAS_STATE["users"] == 0:
            _BLAS_STATE["limiter"] = _BLAS_STATE["controller"].limit(limits=1, user_api="blas")
        _BLAS_STATE["users"] += 1
    try:
        yield
    finally:
        with _BLAS_LOCK:
            _BLAS_STATE["users"] -= 1
            if _BLAS_STATE["users"] == 0:
                _BLAS_STATE["limiter"].restore_original_limits()
