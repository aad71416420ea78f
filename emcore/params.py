"""The parameters of a Gaussian mixture, stored as arrays over components."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from emcore.covariance import CovarianceModel, covariance_model


@dataclass(frozen=True, eq=False)
class MixtureParams:
    """Weights, means and covariances of K components in d dimensions.

    Parameters
    ----------
    weights : ndarray of shape (K,)
        Mixing proportions; they sum to 1. A weight of exactly 0 marks an empty component.
    means : ndarray of shape (K, d)
    covariances : ndarray
        Shape given by the covariance type: full (K, d, d), tied (d, d), diag (K, d),
        spherical (K,).
    covariance_type : str
    precisions_cholesky : ndarray
        Cholesky factors of the precisions, same storage as ``covariances``.

    Instances are immutable in spirit: every step makes a new one, so a recorded history can
    share arrays safely. Build them with :meth:`from_covariances`.
    """

    weights: np.ndarray
    means: np.ndarray
    covariances: np.ndarray
    covariance_type: str
    precisions_cholesky: np.ndarray = field(repr=False)

    @classmethod
    def from_covariances(
        cls,
        weights: np.ndarray,
        means: np.ndarray,
        covariances: np.ndarray,
        covariance_type: str = "full",
        reg_covar: float = 0.0,
    ) -> MixtureParams:
        """Parameters with their precision factors computed from the covariances."""
        model = covariance_model(covariance_type)
        weights = np.asarray(weights, dtype=float)
        means = np.asarray(means, dtype=float)
        if means.ndim < 2:  # (atleast_2d costs 1 us even when there is nothing to do)
            means = np.atleast_2d(means)
        covariances = np.asarray(covariances, dtype=float)
        expected = model.shape(*means.shape)
        if covariances.shape != expected:
            raise ValueError(
                f"{model.name!r} covariances must have shape {expected} for {means.shape[0]} "
                f"components in {means.shape[1]} dimensions; got {covariances.shape}."
            )
        return cls(
            weights=weights,
            means=means,
            covariances=covariances,
            covariance_type=model.name,
            precisions_cholesky=model.precisions_cholesky(covariances, reg_covar),
        )

    @classmethod
    def from_precisions_cholesky(
        cls,
        weights: np.ndarray,
        means: np.ndarray,
        precisions_cholesky: np.ndarray,
        covariance_type: str = "full",
    ) -> MixtureParams:
        """Parameters given by precision factors (covariances derived from them)."""
        model = covariance_model(covariance_type)
        precisions_cholesky = np.asarray(precisions_cholesky, dtype=float)
        covariances = model.inverse(model.precisions(precisions_cholesky))
        return cls(
            weights=np.asarray(weights, dtype=float),
            means=np.atleast_2d(np.asarray(means, dtype=float)),
            covariances=covariances,
            covariance_type=model.name,
            precisions_cholesky=precisions_cholesky,
        )

    @property
    def model(self) -> CovarianceModel:
        return covariance_model(self.covariance_type)

    @property
    def n_components(self) -> int:
        return self.means.shape[0]

    @property
    def n_features(self) -> int:
        return self.means.shape[1]

    @property
    def full_covariances(self) -> np.ndarray:
        """Covariances as a (K, d, d) stack whatever the covariance type."""
        return self.model.to_full(self.covariances, self.n_components, self.n_features)

    @property
    def precisions(self) -> np.ndarray:
        return self.model.precisions(self.precisions_cholesky)

    @property
    def empty(self) -> np.ndarray:
        """Boolean mask of components with weight 0 (they lost all their points)."""
        return self.weights <= 0.0

    def n_parameters(self) -> int:
        """Free parameters: K - 1 weights, K d means and the covariance terms."""
        k, d = self.n_components, self.n_features
        return (k - 1) + k * d + self.model.n_covariance_parameters(k, d)

    def replace(self, **changes: np.ndarray) -> MixtureParams:
        """A copy with some arrays replaced; precision factors recomputed if covariances change."""
        values = {
            "weights": self.weights,
            "means": self.means,
            "covariances": self.covariances,
            "covariance_type": self.covariance_type,
        }
        values.update(changes)
        return MixtureParams.from_covariances(**values)

    def to_dict(self) -> dict[str, object]:
        """Plain lists, ready for JSON."""
        return {
            "covariance_type": self.covariance_type,
            "weights": self.weights.tolist(),
            "means": self.means.tolist(),
            "covariances": self.covariances.tolist(),
        }


# The arrays of a MixtureParams, in the order a message names them.
_ARRAYS: tuple[str, ...] = ("weights", "means", "covariances", "precisions_cholesky")


def check_params(params: object, what: str = "The starting parameters") -> MixtureParams:
    """``params`` if it is a :class:`MixtureParams` whose arrays fit together and are all
    finite numbers, with weights that sum to 1 and symmetric positive-definite covariances:
    what a run may start from (EM's ``params``, a Mixture's, a warm start).

    A NaN or an infinity there makes every later value NaN, and a run on NaN must not be
    reported as anything: it is refused before it starts.

    Parameters
    ----------
    params : object
    what : str
        How the message names them, e.g. ``"A Mixture's parameters"``.

    Returns
    -------
    MixtureParams
        ``params`` itself.

    Raises
    ------
    TypeError
        If ``params`` is not a MixtureParams.
    ValueError
        If its arrays' shapes disagree (weights (K,), means (K, d), covariances and
        precision factors in the model's storage), one holds NaN or infinity, the weights
        are negative or do not sum to 1, or a covariance is not symmetric positive definite
        (in any storage: the check is on the full matrices).
    """
    if not isinstance(params, MixtureParams):
        raise TypeError(
            f"{what} must be a MixtureParams (for example "
            "MixtureParams.from_covariances(weights, means, covariances, covariance_type) or "
            f"emcore.initial_params(X, n_components)); got {type(params).__name__}."
        )
    means = np.asarray(params.means)
    if means.ndim != 2:
        raise ValueError(f"{what}' means must have shape (K, d); got {means.shape}.")
    storage = params.model.shape(*means.shape)
    expected = {
        "weights": (means.shape[0],),
        "covariances": storage,
        "precisions_cholesky": storage,
    }
    for name, shape in expected.items():
        got = np.shape(getattr(params, name))
        if got != shape:
            raise ValueError(
                f"{what}' {name} must have shape {shape} for {means.shape[0]} components in "
                f"{means.shape[1]} dimensions; got {got}."
            )
    for name in _ARRAYS:
        if not np.isfinite(getattr(params, name)).all():
            raise ValueError(
                f"{what}' {name} must be finite numbers; they hold NaN or infinity, from "
                "which EM could only compute NaN."
            )
    if (np.asarray(params.weights) < 0).any():
        raise ValueError(f"{what}' weights must be at least 0; got {params.weights!r}.")
    if not weights_sum_to_one(params.weights):
        # Weights summing to s add n log(s) to the first log-likelihood only: EM's first
        # step would seem to lower it, and the M-step's weights sum to 1 from then on.
        raise ValueError(
            f"{what}' weights must sum to 1 (they are mixing proportions); they sum to "
            f"{float(np.sum(params.weights)):.6g}. Divide them by their sum."
        )
    full = params.model.to_full(params.covariances, *means.shape)
    check_covariance_matrices(full, f"{what}' covariances")
    return params


# As GaussianMixture's weights_init: a sum this close to 1 is 1 with rounding.
WEIGHTS_SUM_ATOL = 1e-6


def weights_sum_to_one(weights: np.ndarray) -> bool:
    """Whether mixing proportions sum to 1, up to rounding (:data:`WEIGHTS_SUM_ATOL`)."""
    return bool(np.isclose(np.sum(weights), 1.0, atol=WEIGHTS_SUM_ATOL))


# Largest asymmetry accepted, relative to sqrt(S_ii S_jj): rounding of a computed covariance
# is about 1e-16 there; a typed-in asymmetric matrix is far above.
SYMMETRY_RTOL = 1e-8


# What to do about a singular covariance: a start made with reg_covar=0 on repeated values.
SINGULAR_COVARIANCE = (
    "its variance along some direction is 0, as on repeated or too few points with nothing "
    "regularising it; use a positive reg_covar, or a wider covariance"
)


def check_covariance_matrices(
    full: np.ndarray, name: str, rtol: float = SYMMETRY_RTOL, singular: str = SINGULAR_COVARIANCE
) -> None:
    """Refuse a stack of matrices (..., d, d) that are not symmetric positive definite.

    Only the lower triangle reaches the Cholesky factor that the E-step uses: an asymmetric
    matrix would be stored as one matrix and evaluated as another, and a matrix that is not
    positive definite is no covariance (its density is not a density). Asymmetry is
    measured against ``sqrt(S_ii S_jj)``, so the check holds in any units, and an
    off-diagonal entry near 0 may carry its rounding noise.

    Parameters
    ----------
    full : ndarray of shape (..., d, d)
    name : str
        How the message names the matrices, e.g. ``"precisions_init"``.
    rtol : float
        Largest asymmetry accepted, relative to ``sqrt(S_ii S_jj)``.
    singular : str
        What the message says of a singular matrix (an eigenvalue of 0).

    Raises
    ------
    ValueError
        Saying which property fails.
    """
    full = np.asarray(full, dtype=float)
    # sqrt(S_ii) sqrt(S_jj), not sqrt(S_ii S_jj): variances of data near 1e99 are 1e198,
    # whose product overflows.
    roots = np.sqrt(np.abs(np.diagonal(full, axis1=-2, axis2=-1)))
    scale = roots[..., :, None] * roots[..., None, :]
    if (np.abs(full - np.swapaxes(full, -1, -2)) > rtol * scale).any():
        raise ValueError(f"{name} must be symmetric (each matrix equal to its transpose).")
    if not _positive_definite(full):
        raise ValueError(
            f"{name} must be positive definite: every eigenvalue above 0 "
            f"({_why_not(full, singular)})."
        )


# Eigenvalues within this fraction of the largest one are 0 up to rounding.
ROUNDING_EIGENVALUE = 1e-10


def _why_not(full: np.ndarray, singular: str) -> str:
    """Which matrix of a stack (..., d, d) is not positive definite, and how, in words."""
    stack = full.reshape(-1, *full.shape[-2:])
    index = next(k for k, matrix in enumerate(stack) if not _positive_definite(matrix))
    matrix = stack[index]
    where = f"component {index + 1}" if len(stack) > 1 else "the matrix"
    values = np.linalg.eigvalsh(matrix)
    # A zero eigenvalue computes as rounding noise of either sign (a k-means start on
    # repeated points with reg_covar=0): only one beyond that noise is truly negative.
    if values.min() < -ROUNDING_EIGENVALUE * np.abs(values).max():
        return f"{where} has a negative eigenvalue"
    return f"{where} is singular: {singular}"


def _positive_definite(matrix: np.ndarray) -> bool:
    """Whether symmetric matrices (..., d, d) all have a Cholesky factor (every eigenvalue
    above 0)."""
    try:
        np.linalg.cholesky(matrix)
    except np.linalg.LinAlgError:
        return False
    return True
