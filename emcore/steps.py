"""The two halves of EM, as plain functions of data and parameters.

E-step: for every point i and component k, the responsibility

    r_ik = pi_k N(x_i | mu_k, Sigma_k) / sum_j pi_j N(x_i | mu_j, Sigma_j)

computed in log space (log-sum-exp), so a point far from every component gets finite
responsibilities instead of 0 / 0.

M-step: with N_k = sum_i r_ik,

    pi_k = N_k / n,   mu_k = sum_i r_ik x_i / N_k,
    Sigma_k = sum_i r_ik (x_i - mu_k)(x_i - mu_k)^T / N_k + reg_covar I

(weighted by r, not r squared). A component whose N_k is (numerically) zero has lost all its
points: it keeps its mean and covariance, gets weight 0, and is reported, not re-seeded.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from emcore.covariance import Regularization, covariance_model, effective_reg
from emcore.params import MixtureParams

LOG_2PI = np.log(2.0 * np.pi)

# Below this many effective points a component counts as empty. Far below one point, so a
# component is only frozen when it has truly nothing; tiny compared with any real cluster,
# so the log-likelihood change from dropping it is negligible.
EMPTY_POINTS = 1e-8


@dataclass(frozen=True, eq=False)
class EStep:
    """Result of an E-step.

    Attributes
    ----------
    log_resp : ndarray of shape (n, K)
        Log responsibilities (``-inf`` for empty components).
    log_prob : ndarray of shape (n,)
        Log-likelihood of every point under the mixture.
    resp : ndarray of shape (n, K)
        Responsibilities, ``exp(log_resp)``, computed once.
    """

    log_resp: np.ndarray
    log_prob: np.ndarray
    resp: np.ndarray

    @property
    def log_likelihood(self) -> float:
        """Total log-likelihood of the data."""
        return float(self.log_prob.sum())


def log_gaussian(X: np.ndarray, params: MixtureParams) -> np.ndarray:
    """Log-density of every point under every component, shape (n, K)."""
    model = params.model
    n_features = X.shape[1]
    distances = model.mahalanobis(X, params.means, params.precisions_cholesky)
    log_det = model.log_det_cholesky(params.precisions_cholesky, n_features)
    return -0.5 * (n_features * LOG_2PI + distances) + log_det


def weighted_log_prob(X: np.ndarray, params: MixtureParams) -> np.ndarray:
    """``log pi_k + log N(x_i | k)``; ``-inf`` where a weight is 0."""
    with np.errstate(divide="ignore"):
        log_weights = np.log(params.weights)
    return log_gaussian(X, params) + log_weights


def logsumexp_rows(values: np.ndarray) -> np.ndarray:
    """``log(sum(exp(values), axis=1))`` without overflow or underflow."""
    largest = values.max(axis=1, keepdims=True)
    # A row of -inf only arises if every weight is 0, which m_step never produces.
    largest = np.where(np.isfinite(largest), largest, 0.0)
    return (np.log(np.exp(values - largest).sum(axis=1, keepdims=True)) + largest)[:, 0]


def e_step(X: np.ndarray, params: MixtureParams) -> EStep:
    """Responsibilities of every component for every point, in log space."""
    log_joint = weighted_log_prob(X, params)
    log_prob = logsumexp_rows(log_joint)
    log_resp = log_joint - log_prob[:, None]
    return EStep(log_resp=log_resp, log_prob=log_prob, resp=np.exp(log_resp))


def log_likelihood(X: np.ndarray, params: MixtureParams) -> float:
    """Total log-likelihood of ``X`` under the mixture."""
    return float(logsumexp_rows(weighted_log_prob(X, params)).sum())


def m_step(
    X: np.ndarray,
    resp: np.ndarray,
    covariance_type: str,
    reg_covar: float = 1e-6,
    previous: MixtureParams | None = None,
    regularization: Regularization = "floor",
    *,
    scale: float | None = None,
) -> MixtureParams:
    """New parameters from the data and responsibilities.

    ``regularization`` says how ``reg_covar`` keeps covariances invertible: ``"floor"``
    (default: eigenvalues at least ``reg_covar`` times the data's average variance, which
    keeps EM monotone) or ``"add"``
    (``reg_covar`` added to every variance, as scikit-learn does).

    Components with fewer than ``EMPTY_POINTS`` effective points keep ``previous`` mean and
    covariance (or the data's, without ``previous``) and get weight exactly 0.

    ``scale`` is :func:`emcore.covariance.data_scale` of ``X`` when the caller knows it, so a
    run does not measure the data again at every M-step.
    """
    model = covariance_model(covariance_type)
    reg_covar = effective_reg(X, reg_covar, regularization, scale=scale)
    nk = resp.sum(axis=0)
    empty = nk < EMPTY_POINTS
    if empty.all():
        raise ValueError("Every component is empty; the responsibilities are all zero.")
    counts = np.where(empty, 1.0, nk)
    means = (resp.T @ X) / counts[:, None]
    covariances = model.estimate(X, resp, counts, means, reg_covar, regularization)
    if empty.any():
        fallback = previous if previous is not None else data_params(X, len(nk), model.name)
        means[empty] = fallback.means[empty]
        covariances = model.keep_previous(covariances, fallback.covariances, empty)
    weights = np.where(empty, 0.0, nk)
    return MixtureParams.from_covariances(
        weights / weights.sum(), means, covariances, model.name, reg_covar
    )


def data_params(
    X: np.ndarray,
    n_components: int,
    covariance_type: str,
    reg_covar: float = 1e-6,
    regularization: Regularization = "floor",
) -> MixtureParams:
    """Parameters with every component equal to the whole data's Gaussian, equal weights."""
    model = covariance_model(covariance_type)
    reg_covar = effective_reg(X, reg_covar, regularization)
    resp = np.full((len(X), n_components), 1.0 / n_components)
    nk = resp.sum(axis=0)
    means = np.broadcast_to(X.mean(axis=0), (n_components, X.shape[1])).copy()
    covariances = model.estimate(X, resp, nk, means, reg_covar, regularization)
    return MixtureParams.from_covariances(
        np.full(n_components, 1.0 / n_components), means, covariances, model.name, reg_covar
    )
