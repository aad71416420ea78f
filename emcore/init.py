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
- ``hc``: R mclust's default start: a model-based hierarchical agglomeration (VVV criterion,
  on the SVD-transformed data) cut at K, then one M-step (:mod:`emcore.hc`). Deterministic
  up to 2,000 rows; beyond, the tree is built on 2,000 rows drawn with ``rng`` (from the
  rows in canonical order), as mclust does. It takes the rows in their given order, as
  mclust, which decides exactly tied merges only. Whole-number weights count as copies of
  their rows (the start of the repeated rows); other weights make each row a starting
  cluster of its relative weight, and weigh the M-step.

**Units.** k-means and k-means++ choose by Euclidean distances, which add up squared
differences in each column's own units: a column in millimetres outweighs the same column in
metres a million times, and a wide noise column can outvote the narrow one the groups are
separated along. So both run on standardised columns (centred, divided by their standard
deviation; constant columns only centred) and the result is taken back to the data's units:
k-means gives labels, k-means++ gives data points (their indices), so nothing needs
converting back. The start is then the same in any units per column. (``random_from_data``
picks points without distances and ``random`` is the blog's start, both unchanged.)
scikit-learn's k-means start works in the data's units, so from default starts the two
libraries may reach different optima; from the same given start they agree.

**Row order.** The starts that draw rows (all but ``random``) see the rows sorted
lexicographically, so a start depends neither on the order of the rows nor on whether a row
is repeated or weighted: shuffled data, or data with each row repeated ``w`` times, give the
start that weights ``w`` give.

**Sample weights** (frequency weights, see :func:`emcore.validation.check_sample_weight`):
rows of weight 0 are left out before anything is drawn, so they change no start; k-means and
k-means++ weigh the points (scikit-learn's ``sample_weight``), ``random_from_data`` draws
points with probability proportional to their weight, and the data's mean and covariance are
weighted.

**Missing values** (NaN cells, for ``missing="em"`` fits): every start is made from the data
with each missing cell filled by its column's mean of observed cells. So k-means clusters
mean-filled standardised columns, k-means++ and ``random_from_data`` pick mean-filled rows,
and the covariances are the mean-filled data's: a little narrow along columns with many gaps
(filled cells sit at the centre), which the EM that follows corrects, since it never sees the
filled values. Data without NaN give the very same starts.
"""

from __future__ import annotations

import numbers
import threading
from collections.abc import Callable

import numpy as np

from emcore.covariance import (
    REGULARIZATIONS,
    CovarianceModel,
    Regularization,
    covariance_model,
    effective_reg,
    weighted_moments,
)
from emcore.hc import init_hc
from emcore.missing import fill_column_means
from emcore.params import MixtureParams, check_covariance_matrices, weights_sum_to_one
from emcore.steps import data_params, unchecked_m_step
from emcore.validation import check_choice, check_observed_columns, check_positive

RandomState = int | np.random.Generator | np.random.RandomState | None
Initializer = Callable[
    [np.ndarray, int, str, np.random.Generator, float, Regularization, np.ndarray | None],
    MixtureParams,
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


def standardise(X: np.ndarray, sample_weight: np.ndarray | None = None) -> np.ndarray:
    """``X`` with every column centred and divided by its standard deviation, shape (n, d).

    Weighted when ``sample_weight`` is given; constant columns are only centred (there is no
    unit to divide by). Distances on the result do not depend on the columns' units.
    """
    mean, variance = weighted_moments(X, sample_weight)
    spread = np.sqrt(variance)
    return (X - mean) / np.where(spread > 0, spread, 1.0)


def canonical_order(X: np.ndarray) -> np.ndarray:
    """Indices that sort the rows of ``X`` lexicographically (first column first), shape (n,).

    Random draws over rows in this order pick the same points however the rows were shuffled,
    and a row repeated ``w`` times sits where a row of weight ``w`` would. Positive rescaling
    of a column keeps the order, so it holds in any units.
    """
    return np.lexsort(X.T[::-1])


def _sorted_rows(
    X: np.ndarray, sample_weight: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """The canonical order, the rows in it and their weights in it."""
    order = canonical_order(X)
    return order, X[order], None if sample_weight is None else sample_weight[order]


def _means_with_data_covariance(
    X: np.ndarray,
    means: np.ndarray,
    covariance_type: str,
    reg_covar: float,
    regularization: Regularization,
    sample_weight: np.ndarray | None,
) -> MixtureParams:
    base = data_params(X, len(means), covariance_type, reg_covar, regularization, sample_weight)
    return base.replace(means=np.asarray(means, dtype=float))


def _seed(rng: np.random.Generator) -> int:
    return int(rng.integers(2**31 - 1))


def init_random(
    X, n_components, covariance_type, rng, reg_covar, regularization, sample_weight=None
):
    sample_weight = in_working_range(sample_weight)  # subnormal or huge: see there
    center, variance = weighted_moments(X, sample_weight)
    spread = np.sqrt(variance)
    spread = np.where(spread > 0, spread, 1.0)
    means = center + spread * rng.standard_normal((n_components, X.shape[1]))
    identity = np.eye(X.shape[1])
    # In the data's units like everything else here ("floor" scales reg_covar with the data).
    reg = effective_reg(X, reg_covar, regularization, sample_weight=sample_weight)
    full = np.broadcast_to(identity * (np.mean(spread**2) + reg), (n_components, *identity.shape))
    model = covariance_model(covariance_type)
    weights = np.full(n_components, 1.0 / n_components)
    return MixtureParams.from_covariances(weights, means, model.from_full(full), model.name, reg)


def init_random_from_data(
    X, n_components, covariance_type, rng, reg_covar, regularization, sample_weight=None
):
    sample_weight = in_working_range(sample_weight)  # subnormal or huge: see there
    _, rows, weights = _sorted_rows(X, sample_weight)
    rows, weights = _distinct_values(rows, weights, n_components)
    p = None if weights is None else weights / weights.sum()
    chosen = rng.choice(len(rows), size=n_components, replace=False, p=p)
    return _means_with_data_covariance(
        X, rows[chosen], covariance_type, reg_covar, regularization, sample_weight
    )


def _distinct_values(
    rows: np.ndarray, weights: np.ndarray | None, n_components: int
) -> tuple[np.ndarray, np.ndarray | None]:
    """Each distinct row once (its first copy, in the rows' order), weighted by its number of
    copies (or their summed weights), so K rows drawn without replacement are K distinct
    points and each value is drawn as often as a draw from the data would pick it.

    Rows with no repeats come back as they are (the same draws as before); with fewer
    distinct values than ``n_components`` too, since some means must then repeat.
    """
    values, first, inverse = np.unique(rows, axis=0, return_index=True, return_inverse=True)
    if len(values) == len(rows) or len(values) < n_components:
        return rows, weights
    copies = np.bincount(inverse.ravel(), weights=weights, minlength=len(values))
    kept = np.sort(first)
    return rows[kept], copies[inverse.ravel()[kept]]


def init_kmeans_plus_plus(
    X, n_components, covariance_type, rng, reg_covar, regularization, sample_weight=None
):
    from sklearn.cluster import kmeans_plusplus

    # Seeded on standardised columns; the indices give the chosen points in the data's units.
    sample_weight = in_working_range(sample_weight)  # scikit-learn's sums: see there
    _, rows, weights = _sorted_rows(X, sample_weight)
    _, chosen = kmeans_plusplus(
        standardise(rows, weights), n_components, sample_weight=weights, random_state=_seed(rng)
    )
    return _means_with_data_covariance(
        X, rows[chosen], covariance_type, reg_covar, regularization, sample_weight
    )


def init_kmeans(
    X, n_components, covariance_type, rng, reg_covar, regularization, sample_weight=None
):
    from sklearn.cluster import KMeans

    # KMeans would make RandomState(seed) itself; a reseeded one gives the same labels sooner.
    seeded = seeded_random_state(_seed(rng), "kmeans")
    kmeans = KMeans(n_clusters=n_components, n_init=1, random_state=seeded)
    # Clustered on standardised columns; labels need no converting back, only unsorting.
    sample_weight = in_working_range(sample_weight)  # scikit-learn's sums: see there
    order, rows, weights = _sorted_rows(X, sample_weight)
    labels = np.empty(len(X), dtype=int)
    labels[order] = kmeans.fit(standardise(rows, weights), sample_weight=weights).labels_
    resp = np.zeros((len(X), n_components))
    resp[np.arange(len(X)), labels] = 1.0
    return unchecked_m_step(
        X,
        resp,
        covariance_type,
        reg_covar,
        regularization=regularization,
        sample_weight=sample_weight,
    )


INIT_METHODS: dict[str, Initializer] = {
    "random": init_random,
    "random_from_data": init_random_from_data,
    "k-means++": init_kmeans_plus_plus,
    "kmeans": init_kmeans,
    "hc": init_hc,
}


def check_init_method(method: object) -> str:
    """``method`` if it names one of :data:`INIT_METHODS`.

    Raises
    ------
    ValueError
        For anything else (an unknown name, a list, None), listing the choices.
    """
    return check_choice("method", method, tuple(INIT_METHODS))


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
    sample_weight: np.ndarray | None = None,
) -> MixtureParams:
    """Starting parameters by ``method``, overridden by any user-given weights, means, precisions.

    Parameters
    ----------
    X : ndarray of shape (n, d)
    n_components : int
    covariance_type : str
    method : {"kmeans", "k-means++", "random", "random_from_data", "hc"}
    random_state : int, Generator, RandomState or None
    reg_covar : float
    weights, means, precisions : ndarray, optional
        User-given starting values, finite; ``precisions`` are precision matrices in the
        covariance type's storage, as scikit-learn's ``precisions_init``. For a model with
        an E or I letter (EII, EEI, VEI, ...) the precisions are first fitted to the model,
        as :class:`emcore.Mixture` fits given covariances: its maximum-likelihood estimate
        from their covariances, weighted by the start's weights (unequal EII variances
        become their weighted mean). Precisions that satisfy the model are kept.
    regularization : {"floor", "add"}
    sample_weight : ndarray of shape (n,), optional
        Checked frequency weights (see the module docstring); rows of weight 0 are left out.

    Returns
    -------
    MixtureParams

    Raises
    ------
    ValueError
        For an unknown method or regularization, a reg_covar that is not a finite number
        >= 0, badly shaped or non-finite user-given values, fewer rows of
        positive weight than components, or (with NaN cells) a column with no observed value.
    """
    check_init_method(method)
    check_positive("reg_covar", reg_covar)
    check_choice("regularization", regularization, REGULARIZATIONS)
    model = covariance_model(covariance_type)
    X, sample_weight = _counted_rows(X, sample_weight, n_components)
    if np.isnan(X).any():  # missing values: starts see the mean-filled data (module notes)
        check_observed_columns(X, sample_weight)
        filled = fill_column_means(X, sample_weight)
        start = initial_params(
            filled,
            n_components,
            model.name,
            method,
            random_state,
            reg_covar,
            weights,
            means,
            precisions,
            regularization,
            sample_weight,
        )
        if precisions is not None:  # the user's precisions are kept as given
            return start
        return _floored_for(X, start, reg_covar, regularization, sample_weight)
    if weights is not None and means is not None and precisions is not None:
        start = None
    else:
        rng = as_generator(random_state)
        start = INIT_METHODS[method](
            X, n_components, model.name, rng, reg_covar, regularization, sample_weight
        )
        if weights is None and means is None and precisions is None:
            return start  # nothing to override
    weights = start.weights if weights is None else _check_weights(weights, n_components)
    means = start.means if means is None else _check_means(means, n_components, X.shape[1])
    if precisions is None:
        # The start's own precisions were floored at the effective reg_covar: so are these
        # (the raw one would make every start on data of small scale far too wide).
        reg = effective_reg(X, reg_covar, regularization, sample_weight=sample_weight)
        return MixtureParams.from_covariances(weights, means, start.covariances, model.name, reg)
    precisions = _check_precisions(precisions, model, n_components, X.shape[1])
    return _given_precisions_start(weights, means, precisions, model)


def _given_precisions_start(
    weights: np.ndarray, means: np.ndarray, precisions: np.ndarray, model: CovarianceModel
) -> MixtureParams:
    """The start with user-given (checked) precisions, in ``model``'s storage.

    scikit-learn's four models are their storage: the precisions are kept as given. A
    constrained model (an E or I letter) fits them to itself first, as :class:`Mixture`
    does with given covariances: its maximum-likelihood estimate from them, weighted by
    ``weights`` (:meth:`~emcore.covariance.CovarianceModel.from_full`). Precisions that
    already satisfy the model come back unchanged (to rounding); others would start EM
    outside the model, with more free parameters than its BIC counts.
    """
    if not model.constrained:
        return MixtureParams.from_precisions_cholesky(
            weights, means, model.cholesky_from_precisions(precisions), model.name
        )
    n_components, n_features = means.shape
    full = model.to_full(model.inverse(precisions), n_components, n_features)
    covariances = model.from_full(full, weights)
    return MixtureParams.from_covariances(weights, means, covariances, model.name)


def _floored_for(
    X: np.ndarray,
    start: MixtureParams,
    reg_covar: float,
    regularization: Regularization,
    sample_weight: np.ndarray | None,
) -> MixtureParams:
    """A start made from mean-filled data, with its covariances floored as EM on ``X`` will.

    Filled cells shrink the data's variance, so a start measured on them can have
    eigenvalues below the ``"floor"`` that EM measures on the observed cells; EM's first
    step from outside its own constraint could then lower the likelihood. (``"add"``
    does not depend on the data.)
    """
    if regularization != "floor":
        return start
    model = start.model
    reg = effective_reg(X, reg_covar, regularization, sample_weight=sample_weight)
    covariances = model.regularize(start.covariances, reg, regularization)
    return MixtureParams.from_covariances(start.weights, start.means, covariances, model.name, reg)


def _counted_rows(
    X: np.ndarray, sample_weight: np.ndarray | None, n_components: int
) -> tuple[np.ndarray, np.ndarray | None]:
    """The rows of positive weight and their weights: a weight of 0 is a dropped row."""
    if sample_weight is None:
        return X, None
    counted = sample_weight > 0
    if counted.sum() < n_components:
        raise ValueError(
            f"Only {int(counted.sum())} rows have a positive sample_weight but "
            f"{n_components} components were asked for; use at most as many components."
        )
    X, sample_weight = (X, sample_weight) if counted.all() else (X[counted], sample_weight[counted])
    # Only zeros and a common weight (ones, 1e-310, 1e300): a common factor weighs no row
    # more than another, so the start of the rows kept, drawn exactly as without weights.
    if (sample_weight == sample_weight[0]).all():
        return X, None
    return X, sample_weight


# Weights whose largest lies in [2^-100, 2^100] are used as given; others are brought there.
_WEIGHT_EXPONENTS = (-100, 100)


def in_working_range(weights: np.ndarray | None) -> np.ndarray | None:
    """Positive ``weights`` (n,) with their largest brought into ``[2^-100, 2^100]`` by a
    power of two, ``weights`` itself when it already is (or is None).

    Starts weigh points in products and sums (and scikit-learn's KMeans and kmeans++ do
    too): subnormal weights (1e-310) lose their digits there, and a k-means start of
    equal such weights put every point in one cluster; huge ones overflow. A start depends
    on the weights' ratios only, and a power of two changes none of them (the product is
    exact), so weights already in range pass bit for bit. A weight 2^1074 times smaller
    than the largest becomes 0: it counts for nothing next to it. (The ``hc`` start brings
    weights to one scale itself, telling whole numbers from others: see :mod:`emcore.hc`.)
    """
    if weights is None:
        return None
    exponent = int(np.frexp(weights.max())[1])
    low, high = _WEIGHT_EXPONENTS
    if low <= exponent <= high:
        return weights
    return np.ldexp(weights, -exponent)


def _check_weights(weights: object, n_components: int) -> np.ndarray:
    weights = np.asarray(weights, dtype=float)
    if weights.shape != (n_components,):
        raise ValueError(f"weights_init must have shape ({n_components},); got {weights.shape}.")
    if not np.isfinite(weights).all():
        raise ValueError("weights_init must be finite numbers (no NaN or infinity).")
    if (weights < 0).any() or not weights_sum_to_one(weights):
        raise ValueError("weights_init must be non-negative and sum to 1.")
    return weights


def _check_means(means: object, n_components: int, n_features: int) -> np.ndarray:
    means = np.asarray(means, dtype=float)
    if means.shape != (n_components, n_features):
        raise ValueError(
            f"means_init must have shape ({n_components}, {n_features}); got {means.shape}."
        )
    if not np.isfinite(means).all():
        raise ValueError("means_init must be finite numbers (no NaN or infinity).")
    return means


# scikit-learn checks precisions_init's symmetry with np.allclose: relative 1e-5.
PRECISIONS_INIT_RTOL = 1e-5


def _check_precisions(
    precisions: object, model: CovarianceModel, n_components: int, n_features: int
) -> np.ndarray:
    """User-given precisions in ``model``'s storage, as floats.

    Raises
    ------
    ValueError
        If their shape is not the storage's, a value is NaN or infinite (NaN compares
        False in the matrix test below, and EM would run on NaN), or a matrix is not symmetric
        positive definite (:func:`emcore.params.check_covariance_matrices`).
    """
    precisions = np.asarray(precisions, dtype=float)
    shape = model.shape(n_components, n_features)
    if precisions.shape != shape:
        raise ValueError(f"precisions_init must have shape {shape}; got {precisions.shape}.")
    if not np.isfinite(precisions).all():
        raise ValueError("precisions_init must be finite numbers (no NaN or infinity).")
    full = model.to_full(precisions, n_components, n_features)
    # scikit-learn's tolerance (np.allclose's rtol), so what it accepts is accepted here.
    check_covariance_matrices(
        full, "precisions_init", PRECISIONS_INIT_RTOL, "an eigenvalue is 0 (an infinite variance)"
    )
    return precisions


def quantile_classes(x: np.ndarray, n_components: int) -> np.ndarray | None:
    """mclust's start for one-dimensional data (its ``qclass``): K groups of ``x`` cut at
    quantiles, labels 0..K-1 from the smallest values up; None if ``x`` has too few
    distinct values for K + 1 distinct cut points.

    Quantiles (R's and NumPy's default, linear interpolation) at n + 1 equally spaced
    levels, n from K up until K + 1 of them differ; if more differ, the cut points that
    close the narrowest gaps are dropped. The ends move out by ``sd(x) sqrt(eps)`` so every
    value falls in a group. mclust's ``mclustBIC`` starts one-column data from these groups
    instead of the agglomeration (Scrucca et al. 2016, The R Journal 8:289-317, describe
    the hierarchical start it uses otherwise).

    Parameters
    ----------
    x : ndarray of shape (n,)
    n_components : int

    Returns
    -------
    ndarray of shape (n,) of int, or None
    """
    x = np.asarray(x, dtype=float).ravel()
    if len(np.unique(x)) <= n_components:  # K + 1 distinct quantiles cannot be found
        return None
    levels, cuts = n_components, np.array([])
    while len(cuts) < n_components + 1:
        levels += 1
        cuts = np.unique(np.quantile(x, np.linspace(0.0, 1.0, levels)))
    surplus = len(cuts) - n_components - 1
    if surplus > 0:  # drop the left end of each of the narrowest gaps, as mclust does
        narrowest = np.argsort(np.diff(cuts), kind="stable")[:surplus]
        cuts = np.delete(cuts, narrowest)
    margin = np.std(x, ddof=1) * np.sqrt(np.finfo(float).eps)
    cuts[0], cuts[-1] = x.min() - margin, x.max() + margin
    return np.searchsorted(cuts, x, side="right") - 1
