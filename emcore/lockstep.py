"""Many small EM runs on the same data, stepped together.

A BIC table (:func:`emcore.select_model`) is hundreds of EM runs, one per (model, K, start),
on one data set that is often small: iris is 150 x 4. On such data an EM iteration is a
few dozen NumPy calls on arrays of a few hundred numbers, and their per-call cost, not the
arithmetic, is the time (measured: 0.15-0.8 ms per iteration on iris, nearly all of it
overhead). :func:`run_together` steps every run with the same K at once: one batched E-step
and one batched scatter computation for all of them, then each run's own M-step
(:meth:`emcore.covariance.CovarianceModel.estimate_from`, the M-step every engine shares)
and the run's own bookkeeping (convergence, empty and collapsed components), so each
:class:`emcore.engine.EM` ends in the state its own :meth:`~emcore.engine.EM.run` would
have reached, with the same numbers to rounding.

The batched E-step is the reference's (:func:`emcore.steps.e_step`) with every covariance
type written as full precision factors ``P_k`` (``inv(Sigma_k) = P_k P_k^T``: a diagonal
type's factor is a diagonal matrix), so runs of different models share one computation:

    log N(x | mu_k, Sigma_k) = -(d log(2 pi) + ||(x - mu_k) P_k||^2) / 2 + log|P_k|,

with the difference taken before projecting, as the reference does. The M-step's statistics
are the scatters ``W_k = sum_i r_ik (x_i - mu_k)(x_i - mu_k)^T`` around each component's
new mean (Bishop, *Pattern Recognition and Machine Learning*, eq. 9.24-9.27), from which
each model takes its own statistic
(:meth:`~emcore.covariance.CovarianceModel.statistic_from_scatter`).

Memory is ``runs x K x n x d`` floats per batch, so runs are batched in groups of at most
:data:`BATCH_ELEMENTS`; large data belong to the fused passes (:mod:`emcore.fast`), which
:meth:`~emcore.engine.EM.run` uses.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from emcore.covariance import safe_counts
from emcore.engine import EM
from emcore.fast import _single_threaded_blas
from emcore.params import MixtureParams
from emcore.steps import (
    LOG_2PI,
    EStep,
    assemble_params,
    empty_components,
    normalise_rows,
    point_unit,
)

# Data with n * d * K above this run alone by fused passes instead (select_model's rule):
# there the arithmetic, not the calls, is the cost. Measured by bench/bench_mclust.py on
# blobs x 4, K = 1..9, in two runs: the runs stepped together took 0.80-0.71 of the time of
# the runs alone at n = 300 (n d K up to 10,800), 0.85-0.99 at n = 1,000 (36,000), 0.88-1.43
# at n = 2,000 (72,000) and 1.30 at n = 4,000 (144,000).
LOCKSTEP_MAX_ELEMENTS = 40_000

# Elements of the largest (runs, K, n, d) array of a batch: 2**21 float64 is 16 MiB, a
# few of which are alive at once.
BATCH_ELEMENTS = 1 << 21


def run_together(runs: Sequence[EM]) -> dict[int, Exception]:
    """Run every EM of ``runs`` until it converges or has done its ``max_iter`` iterations.

    Each run ends as after its own :meth:`emcore.engine.EM.run`: ``params``,
    ``log_likelihoods``, ``iteration``, ``converged``, ``events`` and the final ``estep``.

    Parameters
    ----------
    runs : sequence of EM
        Fresh runs (stage ``"start"``) on the same data: equal ``X`` (n, d) and
        ``sample_weight``, no missing values, ``record="none"``. Their models, K, starts,
        ``tol``, ``max_iter``, ``reg_covar`` and ``regularization`` may all differ.

    Returns
    -------
    dict
        ``{index in runs: exception}`` for the runs whose M-step raised (``ValueError``,
        ``ArithmeticError`` or ``numpy.linalg.LinAlgError``), or whose own checks of the new
        parameters (empty and collapsed components) did: such a run stops there (in its last
        E-done state, or with the new parameters and no ``estep``), the others go on.

    Raises
    ------
    ValueError
        If the runs do not share their data, or one is not fresh, records a history or has
        missing values.
    """
    _check_runs(runs)
    errors: dict[int, Exception] = {}
    groups: dict[int, list[int]] = {}
    for index, run in enumerate(runs):
        groups.setdefault(run.params.n_components, []).append(index)
    n, d = runs[0].X.shape if runs else (0, 0)
    with _single_threaded_blas():
        for k, members in groups.items():
            size = max(1, BATCH_ELEMENTS // (k * n * d))
            for first in range(0, len(members), size):
                batch = members[first : first + size]
                failed = _run_batch([runs[i] for i in batch])
                errors.update({batch[j]: error for j, error in failed.items()})
    return errors


def _check_runs(runs: Sequence[EM]) -> None:
    if not runs:
        return
    first = runs[0]
    if len({id(run) for run in runs}) < len(runs):
        raise ValueError("run_together needs distinct runs: the same EM appears twice.")
    for run in runs:
        if run.stage != "start" or run.record != "none" or run._patterns is not None:
            raise ValueError(
                "run_together needs fresh runs (stage 'start') with record='none' and no "
                "missing values."
            )
        same_rows = run.X is first.X or np.array_equal(run.X, first.X)
        mine, theirs = run.sample_weight, first.sample_weight
        same_weights = mine is theirs or (
            mine is not None and theirs is not None and np.array_equal(mine, theirs)
        )
        if not (same_rows and same_weights):
            raise ValueError("run_together needs runs on the same data and sample weights.")


def _run_batch(runs: list[EM]) -> dict[int, Exception]:
    """Step runs with the same K together until each has stopped; errors by position."""
    X, weights = runs[0].X, runs[0].sample_weight
    space = _Workspace(X, weights, len(runs), runs[0].params.n_components)
    targets = [run.iteration + run.max_iter for run in runs]
    active = list(range(len(runs)))
    errors: dict[int, Exception] = {}
    while active:
        log_joint, log_prob, resp = space.e_step([runs[i].params for i in active])
        totals = log_prob @ weights if weights is not None else log_prob.sum(axis=1)
        going = []
        for j, i in enumerate(active):
            run = runs[i]
            run._evaluated(float(totals[j]), None, resp[j].T if run.floor_check_due else None)
            if run.finished or run.iteration >= targets[i]:
                run.estep = _final_estep(log_joint[j], log_prob[j])
            else:
                going.append(j)
        if not going:
            break
        counts, means, scatters = space.statistics(resp, going)
        active_next = []
        for position, j in enumerate(going):
            i = active[j]
            run = runs[i]
            try:
                # The run's own checks (empty, collapsed) can fail on non-finite parameters too.
                run._updated(_m_step(run, counts[position], means[position], scatters[position]))
            except (ValueError, ArithmeticError, np.linalg.LinAlgError) as error:
                errors[i] = error
                if run.stage != "E":  # the update happened: no E-step of these parameters
                    run.estep = None
                else:
                    run.estep = _final_estep(log_joint[j], log_prob[j])
                continue
            active_next.append(i)
        active = active_next
    return errors


def _final_estep(log_joint: np.ndarray, log_prob: np.ndarray) -> EStep:
    """A run's :class:`EStep` (arrays (n, K) and (n,)) from its rows of a batch (log_joint
    (K, n)), normalised as :func:`emcore.steps.normalise_rows` does."""
    log_resp, _ = normalise_rows(log_joint.T)
    return EStep(log_resp=log_resp, log_prob=log_prob.copy(), resp=np.exp(log_resp))


class _Workspace:
    """The batched E-step and statistics of up to ``size`` runs with K components.

    Arrays are laid out (run, component, feature, point), points last, so every
    elementwise operation and reduction runs along long contiguous rows, and the large ones
    are written into buffers made once per batch: a fresh array of a megabyte costs more in
    page faults than the arithmetic on it (measured: 1.4 ms against 75 us for the same
    batched product at 28 x 9 x 150 x 4).
    """

    def __init__(self, X: np.ndarray, weights: np.ndarray | None, size: int, k: int):
        n, d = X.shape
        self.X, self.rows, self.weights = X, np.ascontiguousarray(X.T), weights
        self.centred = np.empty((size, k, d, n))
        self.projected = np.empty((size, k, d, n))
        self.log_joint = np.empty((size, k, n))
        self.exp = np.empty((size, k, n))
        self.constant = d * LOG_2PI

    def e_step(self, params: list[MixtureParams]):
        """The reference E-step of every run: log pi_k N(x | k) (B, K, n), the points'
        log-likelihoods (B, n) and the responsibilities (B, K, n)."""
        size = len(params)
        means = np.stack([p.means for p in params])  # (B, K, d)
        factors = np.stack([p.model.to_full(p.precisions_cholesky, *p.means.shape) for p in params])
        with np.errstate(divide="ignore"):
            log_weights = np.log(np.stack([p.weights for p in params]))  # -inf for empty ones
        log_det = np.log(np.diagonal(factors, axis1=2, axis2=3)).sum(axis=2)  # (B, K)
        centred, projected = self.centred[:size], self.projected[:size]
        np.subtract(self.rows, means[:, :, :, None], out=centred)  # differences first
        np.matmul(np.swapaxes(factors, 2, 3), centred, out=projected)  # (x - mu) P, transposed
        np.multiply(projected, projected, out=projected)
        log_joint = self.log_joint[:size]
        np.sum(projected, axis=2, out=log_joint)
        log_joint += self.constant
        log_joint *= -0.5
        log_joint += (log_det + log_weights)[:, :, None]
        largest = log_joint.max(axis=1, keepdims=True)  # (B, 1, n)
        largest[~np.isfinite(largest)] = 0.0
        exp = self.exp[:size]
        np.subtract(log_joint, largest, out=exp)
        np.exp(exp, out=exp)
        total = exp.sum(axis=1, keepdims=True)
        exp /= total  # the responsibilities
        log_prob = (np.log(total) + largest)[:, 0, :]
        return log_joint, log_prob, exp

    def statistics(self, resp: np.ndarray, chosen: list[int]):
        """``N_k`` (B, K), the means (B, K, d) and the scatters around them (B, K, d, d) of
        the runs at positions ``chosen`` of the last E-step."""
        weighted = resp[chosen]
        if self.weights is not None:
            weighted *= self.weights
        counts = weighted.sum(axis=2)
        means = np.matmul(weighted, self.X) / safe_counts(counts)[:, :, None]
        size = len(chosen)
        centred, scaled = self.centred[:size], self.projected[:size]
        np.subtract(self.rows, means[:, :, :, None], out=centred)
        np.multiply(centred, weighted[:, :, None, :], out=scaled)
        return counts, means, np.matmul(scaled, np.swapaxes(centred, 2, 3))


def _m_step(run: EM, counts: np.ndarray, means: np.ndarray, scatter: np.ndarray):
    """:func:`emcore.steps.m_step` of one run from its batched statistics."""
    previous = run.params
    model = previous.model
    empty = empty_components(counts, point_unit(run.sample_weight))
    statistic = model.statistic_from_scatter(scatter)
    covariances = model.estimate_from(
        statistic, counts, run._reg, run.regularization, previous.covariances
    )
    return assemble_params(counts, means, covariances, model, run._reg, previous, empty)
