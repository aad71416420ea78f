"""The two halves of EM, as plain functions of data and parameters.

E-step: for every point i and component k, the responsibility

    r_ik = pi_k N(x_i | mu_k, Sigma_k) / sum_j pi_j N(x_i | mu_j, Sigma_j)

computed in log space (log-sum-exp), so a point far from every component gets finite
responsibilities instead of 0 / 0.

M-step: with N_k = sum_i r_ik,

    pi_k = N_k / n,   mu_k = sum_i r_ik x_i / N_k,
    Sigma_k = sum_i r_ik (x_i - mu_k)(x_i - mu_k)^T / N_k + reg_covar I

(weighted by r, not r squared). A component whose N_k is (numerically) zero has lost all its
points: it keeps its mean and covariance, gets weight 0, and is reported, not re-seeded. It
takes part in no sum over components with a stand-in count: the tied covariance is the pooled
scatter divided by n = sum_k N_k, as scikit-learn computes it.

With sample weights w_i (frequency weights) every sum counts point i w_i times: r_ik becomes
w_i r_ik in N_k and in the sums of the M-step, and the log-likelihood is
sum_i w_i log p(x_i), so integer weights give exactly the steps of the repeated rows.

With NaN in X (missing values, data missing at random) both halves work on what is observed
(:mod:`emcore.missing`): the E-step uses each row's marginal density of its observed
coordinates, the M-step the conditional expectations of the missing ones under the
parameters the responsibilities came from. Complete data never take that path.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from emcore.covariance import (
    REGULARIZATIONS,
    CovarianceModel,
    Regularization,
    covariance_model,
    effective_reg,
    safe_counts,
    weighted_moments,
)
from emcore.missing import Patterns, expected_statistics, marginal_distances, missing_patterns
from emcore.params import MixtureParams, check_params
from emcore.validation import (
    check_choice,
    check_data,
    check_positive,
    check_sample_weight,
    check_shape,
)

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


def log_gaussian(
    X: np.ndarray, params: MixtureParams, patterns: Patterns | None = None
) -> np.ndarray:
    """Log-density of every point under every component, shape (n, K).

    A row with NaN cells gets the density of its observed coordinates: the marginal
    Gaussian of those coordinates (see :mod:`emcore.missing`, all patterns batched); rows
    without NaN are evaluated as complete data, with the parameters' own factors.
    ``patterns``: those of ``X`` if the caller has them (found here otherwise).

    Raises
    ------
    ValueError
        If ``X`` is not 2-D or its columns are not the mixture's features
        (:func:`check_columns`).
    """
    check_columns(X, params)
    if patterns is None:
        patterns = missing_patterns(X)
    if patterns is None:
        return _log_gaussian_complete(X, params)
    log_density = np.empty((len(X), params.n_components))
    complete = patterns.complete_rows
    if len(complete):
        log_density[complete] = _log_gaussian_complete(X[complete], params)
    for rows, n_observed, distances, log_det in marginal_distances(X, params, patterns):
        log_density[rows] = -0.5 * (n_observed[:, None] * LOG_2PI + distances) + log_det
    return log_density


def check_columns(X: object, params: MixtureParams) -> None:
    """Refuse ``X`` that is not 2-D or whose columns are not ``params``' features, with the
    sentence EM and Mixture give (:func:`emcore.validation.check_data`'s).

    Every function that scores data under parameters (:func:`log_gaussian`, and through
    it :func:`weighted_log_prob`, :func:`e_step`, :func:`log_likelihood`) comes here:
    one column against a three-column mixture broadcast into numbers, silently. Only
    shapes are compared, so it costs nothing on the E-steps of a run.

    Raises
    ------
    ValueError
    """
    shape = np.shape(X)
    if len(shape) == 2 and shape[1] == params.n_features:
        return
    check_shape(shape)  # not 2-D: its own sentence
    # The sentence lives in check_data; a stand-in row of X's width makes it say it.
    check_data(np.zeros((1, shape[1])), n_features=params.n_features, to_fit=False)


def _log_gaussian_complete(X: np.ndarray, params: MixtureParams) -> np.ndarray:
    """``log N(x_i | mu_k, Sigma_k)`` for finite ``X`` (n, d), shape (n, K)."""
    model = params.model
    n_features = X.shape[1]
    distances = model.mahalanobis(X, params.means, params.precisions_cholesky)
    log_det = model.log_det_cholesky(params.precisions_cholesky, n_features)
    return -0.5 * (n_features * LOG_2PI + distances) + log_det


def weighted_log_prob(
    X: np.ndarray, params: MixtureParams, patterns: Patterns | None = None
) -> np.ndarray:
    """``log pi_k + log N(x_i | k)``; ``-inf`` where a weight is 0 (NaN cells: see
    :func:`log_gaussian`)."""
    with np.errstate(divide="ignore"):
        log_weights = np.log(params.weights)
    return log_gaussian(X, params, patterns) + log_weights


def logsumexp_rows(values: np.ndarray) -> np.ndarray:
    """``log(sum(exp(values), axis=1))`` without overflow or underflow."""
    largest = values.max(axis=1, keepdims=True)
    # A row of -inf only arises if every weight is 0, which m_step never produces.
    largest = np.where(np.isfinite(largest), largest, 0.0)
    return (np.log(np.exp(values - largest).sum(axis=1, keepdims=True)) + largest)[:, 0]


def e_step(X: np.ndarray, params: MixtureParams, patterns: Patterns | None = None) -> EStep:
    """Responsibilities of every component for every point, in log space.

    Rows with NaN cells are judged on their observed coordinates (see :func:`log_gaussian`);
    ``patterns`` are ``X``'s missingness patterns if the caller already has them.
    """
    log_resp, log_prob = normalise_rows(weighted_log_prob(X, params, patterns))
    return EStep(log_resp=log_resp, log_prob=log_prob, resp=np.exp(log_resp))


def normalise_rows(log_joint: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``log_joint`` (n, K) as log-responsibilities (n, K) and log-densities (n,).

    The responsibilities are normalised from the rows shifted by their maximum, not by
    subtracting ``log p(x)``: far from every component the log-joints are so large (-1e40 at
    1e20 data widths away) that ``log p(x) = max + log(sum ...)`` rounds the sum's log away,
    and rows summed to K instead of 1.
    """
    largest = log_joint.max(axis=1, keepdims=True)
    # A row of -inf only arises if every weight is 0, which m_step never produces.
    largest = np.where(np.isfinite(largest), largest, 0.0)
    shifted = log_joint - largest
    log_totals = np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return shifted - log_totals, (largest + log_totals)[:, 0]


def log_likelihood(
    X: np.ndarray, params: MixtureParams, sample_weight: np.ndarray | None = None
) -> float:
    """Total log-likelihood of ``X`` under the mixture, ``sum_i w_i log p(x_i)`` if weighted."""
    return total_log_likelihood(logsumexp_rows(weighted_log_prob(X, params)), sample_weight)


def total_log_likelihood(log_prob: np.ndarray, sample_weight: np.ndarray | None = None) -> float:
    """``sum_i w_i log p(x_i)`` from the points' log-likelihoods (n,): each point counted
    ``w_i`` times (frequency weights), or once without weights."""
    if sample_weight is None:
        return float(log_prob.sum())
    return float(log_prob @ sample_weight)


def point_unit(sample_weight: np.ndarray | None) -> float:
    """The weight of an average counted point: 1 without weights, else the mean positive weight.

    Emptiness (``EMPTY_POINTS``) is measured in these units, so multiplying every weight by
    the same factor (e.g. weights that sum to 1) does not make components look empty.
    """
    if sample_weight is None:
        return 1.0
    return float(sample_weight.sum() / np.count_nonzero(sample_weight))


def empty_components(nk: np.ndarray, unit: float = 1.0) -> np.ndarray:
    """Components with fewer than ``EMPTY_POINTS`` effective points, shape (K,) of bool.

    Raises
    ------
    ValueError
        If every component is empty (the responsibilities are all zero).
    """
    empty = nk < EMPTY_POINTS * unit
    if empty.all():
        raise ValueError("Every component is empty; the responsibilities are all zero.")
    return empty


def assemble_params(
    nk: np.ndarray,
    means: np.ndarray,
    covariances: np.ndarray,
    model: CovarianceModel,
    reg_covar: float,
    fallback: MixtureParams,
    empty: np.ndarray,
) -> MixtureParams:
    """The M-step's parameters, with the rule for empty components applied.

    Shared by :func:`m_step` and the fast path, so both treat empty components alike.

    Parameters
    ----------
    nk : ndarray of shape (K,)
        ``N_k`` (weighted by the sample weights, if any).
    means : ndarray of shape (K, d)
    covariances : ndarray
        Regularised M-step covariances in the type's storage.
    model : CovarianceModel
    reg_covar : float
        The effective value, for the precision factors.
    fallback : MixtureParams
        Where empty components' means and covariances come from (the previous parameters).
    empty : ndarray of shape (K,) of bool

    Returns
    -------
    MixtureParams
        Weights ``N_k / sum_j N_j`` over the non-empty components, exactly 0 for empty ones,
        which keep ``fallback``'s mean and covariance.
    """
    if empty.any():
        means = means.copy()
        means[empty] = fallback.means[empty]
        covariances = model.keep_previous(covariances, fallback.covariances, empty)
        nk = np.where(empty, 0.0, nk)  # the weights: 0 for the empty components
    return MixtureParams.from_covariances(nk / nk.sum(), means, covariances, model.name, reg_covar)


def m_step(
    X: np.ndarray,
    resp: np.ndarray,
    covariance_type: str,
    reg_covar: float = 1e-6,
    previous: MixtureParams | None = None,
    regularization: Regularization = "floor",
    *,
    scale: float | None = None,
    sample_weight: np.ndarray | None = None,
    patterns: Patterns | None = None,
) -> MixtureParams:
    """New parameters from the data and responsibilities, every input checked first.

    The public M-step: bad input gets the sentence EM or GaussianMixture give for the same
    mistake (:func:`check_m_step_inputs`). Engines whose inputs were checked once per run
    call :func:`unchecked_m_step`, the same computation without the checks (an M-step runs
    thousands of times per model-selection table).

    Parameters
    ----------
    X : array-like of shape (n, d)
        Finite, or NaN for missing cells (then ``previous`` is required).
    resp : array-like of shape (n, K)
        Responsibilities from :func:`e_step`: numbers from 0 to 1 (0/1 for a partition).
    covariance_type, reg_covar, previous, regularization, scale, sample_weight, patterns
        As :func:`unchecked_m_step`; ``reg_covar`` must be a finite number >= 0,
        ``regularization`` "floor" or "add", ``previous`` a valid :class:`MixtureParams`
        with one component per column of ``resp``, and ``sample_weight`` frequency weights
        (:func:`emcore.validation.check_sample_weight`).

    Returns
    -------
    MixtureParams

    Raises
    ------
    ValueError
        For inputs that are not what an M-step can use (:func:`check_m_step_inputs`), if
        every component is empty, or ``X`` has NaN cells and ``previous`` is None.
    """
    X, resp, sample_weight = check_m_step_inputs(
        X, resp, sample_weight, previous, reg_covar, regularization, scale
    )
    return unchecked_m_step(
        X,
        resp,
        covariance_type,
        reg_covar,
        previous,
        regularization,
        scale=scale,
        sample_weight=sample_weight,
        patterns=patterns,
    )


def unchecked_m_step(
    X: np.ndarray,
    resp: np.ndarray,
    covariance_type: str,
    reg_covar: float = 1e-6,
    previous: MixtureParams | None = None,
    regularization: Regularization = "floor",
    *,
    scale: float | None = None,
    sample_weight: np.ndarray | None = None,
    patterns: Patterns | None = None,
) -> MixtureParams:
    """New parameters from the data and responsibilities, for inputs already checked.

    The engines' M-step (they check their data, weights and settings once per run); users
    call :func:`m_step`, which checks its inputs and comes here.

    Parameters
    ----------
    X : ndarray of shape (n, d)
    resp : ndarray of shape (n, K)
        Responsibilities from :func:`e_step`.
    covariance_type : str
    reg_covar : float
        How ``regularization`` keeps covariances invertible: ``"floor"`` (default:
        eigenvalues at least ``reg_covar`` times the data's smallest column variance, which
        keeps EM monotone) or ``"add"`` (``reg_covar`` added to every variance, as
        scikit-learn does).
    previous : MixtureParams, optional
        Components with fewer than ``EMPTY_POINTS`` effective points keep ``previous`` mean
        and covariance (or the data's, without ``previous``) and get weight exactly 0. With
        NaN in ``X`` it is required: the parameters ``resp`` came from, under which the
        missing cells' conditional expectations are taken.
    regularization : {"floor", "add"}
    scale : float, optional
        :func:`emcore.covariance.data_scale` of ``X`` (and ``sample_weight``) when the caller
        knows it, so a run does not measure the data again at every M-step.
    sample_weight : ndarray of shape (n,), optional
        Frequency weights (checked by :func:`emcore.validation.check_sample_weight`): they
        multiply the responsibilities in every sum, ``N_k = sum_i w_i r_ik``,
        ``mu_k = sum_i w_i r_ik x_i / N_k``, and so on (Bishop, *Pattern Recognition and
        Machine Learning*, eq. 9.24-9.27, with each point counted ``w_i`` times).
    patterns : Patterns, optional
        ``X``'s missingness patterns if the caller has them (found here otherwise). With
        NaN cells the sums are the expected ones of :func:`emcore.missing.expected_statistics`
        (Ghahramani & Jordan, 1994).

    Returns
    -------
    MixtureParams

    Raises
    ------
    ValueError
        If every component is empty, or ``X`` has NaN cells and ``previous`` is None.
    """
    model = covariance_model(covariance_type)
    reg_covar = effective_reg(X, reg_covar, regularization, scale, sample_weight)
    weighted = resp if sample_weight is None else resp * sample_weight[:, None]
    nk = weighted.sum(axis=0)
    empty = empty_components(nk, point_unit(sample_weight))
    if patterns is None:
        patterns = missing_patterns(X)
    start = None if previous is None else previous.covariances  # iterative M-steps start here
    if patterns is None:
        means = (weighted.T @ X) / safe_counts(nk)[:, None]
        covariances = model.estimate(X, weighted, nk, means, reg_covar, regularization, start)
    else:
        if previous is None:
            raise ValueError(
                "X has missing values (NaN): the M-step needs the parameters the "
                "responsibilities came from (previous=...), to fill them in by expectation."
            )
        means, scatter = expected_statistics(X, weighted, nk, previous, patterns)
        statistic = model.statistic_from_scatter(scatter)
        covariances = model.estimate_from(statistic, nk, reg_covar, regularization, start)
    if previous is None and empty.any():
        previous = data_params(X, len(nk), model.name, sample_weight=sample_weight)
    return assemble_params(nk, means, covariances, model, reg_covar, previous, empty)


def check_m_step_inputs(
    X: object,
    resp: object,
    sample_weight: object = None,
    previous: MixtureParams | None = None,
    reg_covar: object = 1e-6,
    regularization: object = "floor",
    scale: object = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """The M-step's inputs, checked with the sentences EM and GaussianMixture give for the
    same mistakes, else a ValueError.

    ``X`` as EM checks it (:func:`emcore.validation.check_data`, NaN allowed as missing
    cells), ``sample_weight`` as :func:`emcore.validation.check_sample_weight`,
    ``reg_covar`` and ``regularization`` as EM's settings, ``previous`` as a start
    (:func:`emcore.params.check_params`) with one component per column of ``resp`` and the
    columns of ``X``. ``resp`` must be one row of K >= 1 numbers from 0 to 1 per row of
    ``X``: responsibilities are probabilities, and with values above 1 the weighted sums
    leave the range that :mod:`emcore.validation`'s limits on ``X`` and the weights keep
    them in (``resp * 1e308`` gave NaN parameters, silently).

    Returns
    -------
    X : ndarray of shape (n, d) of float64
    resp : ndarray of shape (n, K) of float64
    sample_weight : ndarray of shape (n,) or None
        None for no weights or all ones, as EM keeps them.

    Raises
    ------
    ValueError
    """
    X = check_data(X, missing="em")
    resp = _checked_resp(resp, len(X))
    sample_weight = check_sample_weight(sample_weight, len(X))
    check_positive("reg_covar", reg_covar)
    check_choice("regularization", regularization, REGULARIZATIONS)
    if scale is not None:
        check_positive("scale", scale)
    if previous is not None:
        check_params(previous, "The previous parameters")
        check_columns(X, previous)
        if previous.n_components != resp.shape[1]:
            raise ValueError(
                f"The previous parameters have {previous.n_components} components but resp "
                f"has {resp.shape[1]} columns; pass the parameters the responsibilities came "
                "from (one column of resp per component)."
            )
    return X, resp, sample_weight


def _checked_resp(resp: object, n_samples: int) -> np.ndarray:
    """``resp`` as a float64 array of shape (n_samples, K >= 1) of numbers from 0 to 1."""
    try:
        resp = np.asarray(resp, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(
            "resp must be numbers: one row of responsibilities (from 0 to 1) per row of X."
        ) from None
    if resp.ndim != 2 or resp.shape[0] != n_samples or resp.shape[1] < 1:
        raise ValueError(
            f"resp must have shape ({n_samples}, n_components): one row of responsibilities "
            f"per row of X, at least one component; got shape {resp.shape}."
        )
    if not np.isfinite(resp).all():
        raise ValueError(
            "resp has NaN or infinite responsibilities; they must be finite numbers >= 0 "
            "(from an E-step, or 0/1 for a partition)."
        )
    if (resp < 0).any():
        raise ValueError("resp has negative responsibilities; they must be numbers >= 0.")
    if (resp > 1.0 + RESP_ROUNDING).any():
        raise ValueError(
            f"resp has responsibilities as large as {float(resp.max()):.3g}; they are "
            "probabilities, numbers from 0 to 1 (from an E-step, or 0/1 for a partition). "
            "To count a row more than once, use sample_weight."
        )
    return resp


# Responsibilities computed outside emcore may exceed 1 by rounding.
RESP_ROUNDING = 1e-9


def data_params(
    X: np.ndarray,
    n_components: int,
    covariance_type: str,
    reg_covar: float = 1e-6,
    regularization: Regularization = "floor",
    sample_weight: np.ndarray | None = None,
) -> MixtureParams:
    """Parameters with every component equal to the whole data's Gaussian, equal weights.

    With ``sample_weight`` (n,) the Gaussian is the weighted data's.
    """
    model = covariance_model(covariance_type)
    reg_covar = effective_reg(X, reg_covar, regularization, sample_weight=sample_weight)
    weights = np.ones(len(X)) if sample_weight is None else sample_weight
    resp = np.repeat(weights[:, None] / n_components, n_components, axis=1)
    nk = resp.sum(axis=0)
    mean, _ = weighted_moments(X, sample_weight)
    means = np.broadcast_to(mean, (n_components, X.shape[1])).copy()
    covariances = model.estimate(X, resp, nk, means, reg_covar, regularization)
    return MixtureParams.from_covariances(
        np.full(n_components, 1.0 / n_components), means, covariances, model.name, reg_covar
    )
