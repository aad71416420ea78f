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
    finite numbers: what a run may start from (EM's ``params``, a Mixture's, a warm start).

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
        precision factors in the model's storage) or one holds NaN or infinity.
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
    return params
