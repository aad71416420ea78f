"""Starting parameters for EM.

Methods, each a function ``(X, n_components, covariance_type, rng, reg_covar) -> MixtureParams``:

- ``random``: the source blog post's start, made scale-aware: means drawn at random around the
  data's centre (one standard deviation per axis), identity covariances in the data's units
  (the identity times the data's average variance), equal weights. Poor starts happen: that is
  what it is for.
- ``random_from_data``: K distinct data points as means, the data's covariance, equal weights.
- ``k-means++``: means chosen by k-means++ seeding, the data's covariance, equal weights.
- ``kmeans``: a k-means clustering's hard labels as responsibilities, then one M-step
  (scikit-learn's default).
"""

from __future__ import annotations

import numbers
import threading
from collections.abc import Callable

import numpy as np

from emcore.covariance import Regularization, covariance_model, effective_reg
from emcore.params import MixtureParams
from emcore.steps import data_params, m_step

RandomState = int | np.random.Generator | np.random.RandomState | None
Initializer = Callable[
    [np.ndarray, int, str, np.random.Generator, float, Regularization], MixtureParams
]


def as_generator(random_state: RandomState) -> np.random.Generator:
    """A NumPy Generator from a seed, a Generator or a legacy RandomState."""
    if isinstance(random_state, np.random.Generator):
        return random_state
    if isinstance(random_state, np.random.RandomState):
        return np.random.default_rng(random_state.randint(0, 2**31 - 1))
    return np.random.default_rng(random_state)


_REUSED_STATES = threading.local()


def seeded_random_state(seed: int, slot: str) -> np.random.RandomState:
    """``np.random.RandomState(seed)``: the same stream, in about 1 us instead of 60.

    A new RandomState first seeds its Mersenne Twister through a SeedSequence (624 words
    hashed), only to reseed it from ``seed``: that is most of a k-means start's extra cost at
    the app's size. Reseeding an existing one skips it. Each thread keeps one per ``slot``;
    it is valid until that slot is seeded again, so callers use it at once.
    """
    states = _REUSED_STATES.__dict__
    if slot not in states:
        states[slot] = np.random.RandomState()
    state = states[slot]
    state.seed(seed)
    return state


def check_random_state(random_state: RandomState) -> np.random.RandomState | np.random.Generator:
    """scikit-learn's ``check_random_state``, with integer seeds by :func:`seeded_random_state`
    (slot ``"fit"``)."""
    if isinstance(random_state, numbers.Integral) and not isinstance(random_state, bool):
        return seeded_random_state(int(random_state), "fit")
    from sklearn.utils import check_random_state as sklearn_check_random_state

    return sklearn_check_random_state(random_state)


def _means_with_data_covariance(
    X: np.ndarray,
    means: np.ndarray,
    covariance_type: str,
    reg_covar: float,
    regularization: Regularization,
) -> MixtureParams:
    base = data_params(X, len(means), covariance_type, reg_covar, regularization)
    return base.replace(means=np.asarray(means, dtype=float))


def init_random(X, n_components, covariance_type, rng, reg_covar, regularization):
    center, spread = X.mean(axis=0), X.std(axis=0)
    spread = np.where(spread > 0, spread, 1.0)
    means = center + spread * rng.standard_normal((n_components, X.shape[1]))
    identity = np.eye(X.shape[1])
    # In the data's units like everything else here ("floor" scales reg_covar with the data).
    reg = effective_reg(X, reg_covar, regularization)
    full = np.broadcast_to(identity * (np.mean(spread**2) + reg), (n_components, *identity.shape))
    model = covariance_model(covariance_type)
    weights = np.full(n_components, 1.0 / n_components)
    return MixtureParams.from_covariances(weights, means, model.from_full(full), model.name, reg)


def init_random_from_data(X, n_components, covariance_type, rng, reg_covar, regularization):
    chosen = rng.choice(len(X), size=n_components, replace=False)
    return _means_with_data_covariance(X, X[chosen], covariance_type, reg_covar, regularization)


def init_kmeans_plus_plus(X, n_components, covariance_type, rng, reg_covar, regularization):
    from sklearn.cluster import kmeans_plusplus

    centers, _ = kmeans_plusplus(X, n_components, random_state=int(rng.integers(2**31 - 1)))
    return _means_with_data_covariance(X, centers, covariance_type, reg_covar, regularization)


def init_kmeans(X, n_components, covariance_type, rng, reg_covar, regularization):
    from sklearn.cluster import KMeans

    # KMeans would make RandomState(seed) itself; a reseeded one gives the same labels sooner.
    seeded = seeded_random_state(int(rng.integers(2**31 - 1)), "kmeans")
    labels = KMeans(n_clusters=n_components, n_init=1, random_state=seeded).fit(X).labels_
    resp = np.zeros((len(X), n_components))
    resp[np.arange(len(X)), labels] = 1.0
    return m_step(X, resp, covariance_type, reg_covar, regularization=regularization)


INIT_METHODS: dict[str, Initializer] = {
    "random": init_random,
    "random_from_data": init_random_from_data,
    "k-means++": init_kmeans_plus_plus,
    "kmeans": init_kmeans,
}


def initial_params(
    X: np.ndarray,
    n_components: int,
    covariance_type: str = "full",
    method: str = "kmeans",
    random_state: RandomState = None,
    reg_covar: float = 1e-6,
    weights: np.ndarray | None = None,
    means: np.ndarray | None = None,
    precisions: np.ndarray | None = None,
    regularization: Regularization = "floor",
) -> MixtureParams:
    """Starting parameters by ``method``, overridden by any user-given weights, means, precisions.

    ``precisions`` are precision matrices in the covariance type's storage, as scikit-learn's
    ``precisions_init``.
    """
    if method not in INIT_METHODS:
        choices = ", ".join(repr(name) for name in INIT_METHODS)
        raise ValueError(f"Unknown initialisation {method!r}. Choose one of {choices}.")
    model = covariance_model(covariance_type)
    if weights is not None and means is not None and precisions is not None:
        start = None
    else:
        rng = as_generator(random_state)
        start = INIT_METHODS[method](X, n_components, model.name, rng, reg_covar, regularization)
        if weights is None and means is None and precisions is None:
            return start  # nothing to override
    weights = start.weights if weights is None else _check_weights(weights, n_components)
    means = start.means if means is None else _check_means(means, n_components, X.shape[1])
    if precisions is None:
        # The start's own precisions were floored at the effective reg_covar: so are these
        # (the raw one would make every start on data of small scale far too wide).
        reg = effective_reg(X, reg_covar, regularization)
        return MixtureParams.from_covariances(weights, means, start.covariances, model.name, reg)
    precisions = _check_precisions(precisions, model, n_components, X.shape[1])
    return MixtureParams.from_precisions_cholesky(
        weights, means, model.cholesky_from_precisions(precisions), model.name
    )


def _check_weights(weights: object, n_components: int) -> np.ndarray:
    weights = np.asarray(weights, dtype=float)
    if weights.shape != (n_components,):
        raise ValueError(f"weights_init must have shape ({n_components},); got {weights.shape}.")
    if (weights < 0).any() or not np.isclose(weights.sum(), 1.0, atol=1e-6):
        raise ValueError("weights_init must be non-negative and sum to 1.")
    return weights


def _check_means(means: object, n_components: int, n_features: int) -> np.ndarray:
    means = np.asarray(means, dtype=float)
    if means.shape != (n_components, n_features):
        raise ValueError(
            f"means_init must have shape ({n_components}, {n_features}); got {means.shape}."
        )
    return means


def _check_precisions(precisions: object, model, n_components: int, n_features: int) -> np.ndarray:
    precisions = np.asarray(precisions, dtype=float)
    shape = model.shape(n_components, n_features)
    if precisions.shape != shape:
        raise ValueError(f"precisions_init must have shape {shape}; got {precisions.shape}.")
    full = model.to_full(precisions, n_components, n_features)
    symmetric = np.allclose(full, np.swapaxes(full, -1, -2))
    if not symmetric or (np.linalg.eigvalsh(full) <= 0).any():
        raise ValueError("precisions_init must be symmetric and positive-definite.")
    return precisions
