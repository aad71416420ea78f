"""Model-based hierarchical agglomeration: the start R's mclust gives EM (``init_params="hc"``).

mclust starts EM from a tree (Banfield & Raftery, 1993; Fraley, 1998, "Algorithms for
model-based Gaussian hierarchical clustering", SIAM J. Sci. Comput. 20:270-281): every row
starts as its own cluster, and the pair of clusters whose merge costs the classification
likelihood least is merged, over and over, until one cluster is left. Cutting the tree
where K clusters remain gives a partition for every K, so one tree serves every K and every
covariance model; one M-step from the partition is the start.

**The criterion** (mclust 6's default, ``hcModelName = "VVV"``). Fraley (1998) merges, at
each stage, the pair that least lowers the classification likelihood of Gaussian clusters
with unconstrained covariances, ``sum_k n_k log|W_k / n_k|``, where a cluster of ``n_k``
points has the scatter matrix ``W_k = sum_i (x_i - mean_k)(x_i - mean_k)^T``. Clusters of up
to ``p`` points have ``|W_k| = 0``, so mclust's ``hcVVV`` (its Fortran ``hcvvv``/``vvvtij``,
read for this module) regularises each cluster's term to::

    T(n, W) = n log( [n > p] |W / n| + beta (tr W + alpha) / n )

with ``beta = 1`` and ``alpha = tr(W_data) / (n p)``, the data's total scatter per number
and coordinate. Merging clusters ``i`` and ``j`` costs ``T(i u j) - (T(i) + T(j))``, and the
merged scatter is ``W_i + W_j + w w^T`` with ``w = sqrt(n_i n_j / (n_i + n_j)) (m_i - m_j)``
(Fraley 1998, the update behind every model's merge; ``|w|^2`` alone is the increase of
``tr W``, Ward's criterion). ``"EII"`` (spherical, equal volume) is that Ward criterion,
mclust's alternative; its costs after a merge follow from the old ones by Lance and
Williams' update, as mclust's ``hceii`` computes them.

**The data it runs on** (``hcUse = "SVD"``, mclust's default): the columns are standardised
(centred, divided by their standard deviation with ``n - 1``; constant columns dropped), then
``X_s = U D V^T`` (a thin SVD) gives ``Z = X_s V D^{-1/2} = U D^{1/2}``: the principal
components, each scaled by the square root of its singular value. Directions with a
(numerically) zero singular value are dropped, where mclust would divide by zero.

**The subset rule** (mclust's ``subset = 2000``): with more than 2,000 rows the tree is built
on 2,000 rows drawn at random (by the caller's random state) without replacement, from the
rows in lexicographic order so that the draw does not depend on their order; the
start's M-step then uses
those rows' partition and the EM that follows sees all rows, which is what mclust does (an
M-step on the subset, then EM on all data, starting with an E-step).

**Ties.** Equal costs are broken as mclust's Fortran breaks them: clusters keep slots, the last
slot moving into the one a merge frees (its ``wardsw``), and of equal costs the pair with the
highest slots wins. Identical rows are separate starting points, as in mclust's ``hc`` (its
declared ``partition = dupPartition(data)`` is never passed on to ``hcVVV``): two copies merge
at the lowest cost a pair can have, and the order of those merges shapes the tree (grouping
Old Faithful's 16 duplicated rows first gives a visibly different one). The starting pairs'
costs are rounded as mclust's Fortran rounds them and later costs use its formulas, but
sums can still differ in their last bits (this module's SVD differs from R's by 1e-15), and
where two merges tie exactly (data on a grid, as iris and Old Faithful are) they may be made
in the other order. On iris and Old Faithful, from the raw data or from mclust's own
transformed data, both criteria give mclust's partitions at K = 1..9 exactly, and at all but
a few fine cuts (K of 90 or more, between two tied merges made in the other order). On
data on a coarse grid with many duplicates the EII tree can differ more: an equally good
tree, as ties go.

**Sample weights.** Whole-number weights count rows: a row of weight ``w`` is ``w`` copies,
each a leaf of the tree, so the tree is the one mclust builds on the repeated rows, and the
start is theirs (copies of one row can land in different clusters, as repeated rows can);
rows of weight 0 are left out. Weights that are not counts cannot be copied: each row of
positive weight is then a starting cluster of ``w / mean(w)`` coincident points with no
scatter (the standardisation, the SVD and ``alpha`` are weighted alike), and the M-step
takes the weights as given; equal such weights give the unweighted tree.

**A common scale of the weights does not matter.** Ward's criterion (EII) does not depend
on it: multiplying every size by ``c`` multiplies every cost ``n_i n_j / (n_i + n_j) |d|^2``
by ``c``, and the order of the merges stays. VVV's does: with sizes ``c n`` the scatters
are ``c W``, and ``|W / n|`` stays but the regularising part ``(tr W + alpha) / n`` does
not (``alpha`` is per point), nor does the rule ``n > p``; the weighted standardisation
(denominator ``sum w - 1``) rescales the view, which moves ``|W|`` (degree ``2p``) against
the trace (degree 2). So the weights are brought to one scale first: whole numbers are
divided by their greatest common divisor (the fewest copies with the same ratios: weights
of 10^12 each are one copy per row, the unweighted tree), other weights by their mean. A
whole number of copies too large for 64-bit integers (weights 1 and 10^19) is drawn from
exactly, with Python integers. The start's M-step is then taken on the tree's leaves, each
row weighing as many copies of it as the tree holds (:meth:`HierarchicalTree.row_weights`),
so a subset of 2,000 copies out of 10^14 is 2,000 points, not 10^-11 of each row.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from emcore.covariance import REGULARIZATIONS, Regularization, data_scale
from emcore.params import MixtureParams
from emcore.steps import e_step, m_step, unchecked_m_step
from emcore.validation import check_choice, check_positive

HC_MODELS: tuple[str, ...] = ("VVV", "EII")
HC_USES: tuple[str, ...] = ("SVD", "STD", "VARS")
SUBSET_ROWS = 2000  # mclust.options("subset")
_RT_HALF = float(np.sqrt(0.5))  # mclust's rthalf, .7071067811865476

# Cost matrices are filled this many numbers at a time (pairwise differences of a block of
# rows), so memory stays near 16 MB whatever n and d are.
_BLOCK_NUMBERS = 2_000_000


@dataclass(frozen=True, eq=False)
class HierarchicalTree:
    """A model-based agglomeration: the merges that took its leaves, one cluster each, to one.

    A leaf is a row of the caller's data, or one copy of a row that a whole-number sample
    weight repeats (see the module notes).

    Attributes
    ----------
    merges : ndarray of shape (n_leaves - 1, 2), int
        Merge ``s`` joins cluster ``merges[s, 1]`` into cluster ``merges[s, 0]`` (the
        smaller id, which the merged cluster keeps). A cluster's id is that of its first
        leaf, 0-based.
    costs : ndarray of shape (n_leaves - 1,)
        The criterion's change at each merge.
    rows : ndarray of shape (n_leaves,), int
        Each leaf's row in the caller's data, in increasing order: every row once, unless
        the subset rule drew some, and a row once per copy with whole-number weights.
    n_samples : int
        The number of rows of the caller's data.
    model : str
        ``"VVV"`` or ``"EII"``.
    leaf_weights : ndarray of shape (n_leaves,) or None
        Each leaf's share of the sample weight in the start's M-step: the row's weight for
        weights that are not whole numbers, else None (each leaf, row or copy, counts 1).
    """

    merges: np.ndarray
    costs: np.ndarray
    rows: np.ndarray
    n_samples: int
    model: str
    leaf_weights: np.ndarray | None = None

    @property
    def n_leaves(self) -> int:
        """The number of leaves, the most clusters a cut can give."""
        return len(self.rows)

    def labels(self, n_components: int) -> np.ndarray:
        """The partition of the leaves into ``n_components`` clusters.

        Parameters
        ----------
        n_components : int
            K, from 1 to :attr:`n_leaves`.

        Returns
        -------
        ndarray of shape (n_leaves,), int
            Labels 0 .. K-1, numbered in order of first appearance; entry ``r`` is for
            leaf ``r``, row ``self.rows[r]`` of the caller's data.

        Raises
        ------
        ValueError
            If K is not a whole number from 1 to :attr:`n_leaves`.
        """
        k = _check_cut(n_components, self.n_leaves)
        return _first_appearance(_cut(self.merges, self.n_leaves, k))

    def responsibilities(self, n_components: int) -> np.ndarray:
        """The cut as responsibilities of the caller's rows, for an M-step.

        Row i's entry for cluster c is the share of its leaves that lie in c: 1 for the
        cluster of a row that is one leaf, ``copies in c / copies`` for a row whose
        whole-number weight made copies (they can fall in different clusters, as the
        repeated rows can), 0 everywhere for a row with no leaf (outside the subset, or of
        weight 0). ``m_step(X, resp, ..., sample_weight=tree.row_weights())`` is then
        mclust's M-step on the tree's leaves (:func:`init_from_tree`).

        Parameters
        ----------
        n_components : int

        Returns
        -------
        ndarray of shape (n_samples, n_components)
            Rows sum to 1, or to 0 for rows with no leaf.

        Raises
        ------
        ValueError
            As :meth:`labels`.
        """
        labels = self.labels(n_components)
        shares = np.zeros((self.n_samples, n_components))
        np.add.at(shares, (self.rows, labels), self._leaf_masses())
        totals = shares.sum(axis=1, keepdims=True)
        return shares / np.where(totals > 0, totals, 1.0)

    def row_weights(self) -> np.ndarray:
        """Each row's weight in the start's M-step: what its leaves weigh, shape (n_samples,).

        The number of its copies that are leaves (1 for an unweighted row in the tree), or
        its own weight for weights that are not whole numbers; 0 for a row with no leaf.
        Measured in leaves, not in the caller's weights: a subset of 2,000 copies of rows
        weighing 10^12 each is 2,000 points, which is what the M-step on the leaves sees.
        """
        weights = np.zeros(self.n_samples)
        np.add.at(weights, self.rows, self._leaf_masses())
        return weights

    def _leaf_masses(self) -> np.ndarray:
        return np.ones(self.n_leaves) if self.leaf_weights is None else self.leaf_weights


def agglomerate(
    Z: np.ndarray,
    model: str = "VVV",
    sizes: np.ndarray | None = None,
    alpha: float = 1.0,
    beta: float = 1.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Agglomerate the rows of ``Z``, each a starting cluster, down to one cluster.

    Parameters
    ----------
    Z : ndarray of shape (g, p)
        One row per starting cluster (the data as the criterion sees them, e.g. after
        :func:`svd_transform`), g >= 1.
    model : {"VVV", "EII"}
        The criterion: VVV's regularised ``n log|W/n|`` or EII's ``tr W`` (Ward); see the
        module notes.
    sizes : ndarray of shape (g,), optional
        Each starting cluster's number of coincident points (a weight); 1 by default.
    alpha, beta : float
        mclust's ``hcVVV`` arguments: ``alpha`` multiplies the data's scatter per number,
        ``tr(W_data) / (n p)``, to give the criterion's ``alpha``; ``beta`` is used as is.

    Returns
    -------
    merges : ndarray of shape (g - 1, 2), int
        See :attr:`HierarchicalTree.merges`.
    costs : ndarray of shape (g - 1,)

    Raises
    ------
    ValueError
        For an unknown model, a ``Z`` that is not a finite 2-D array with a row, or sizes
        that are not positive.
    """
    Z = _check_points(Z)
    sizes = np.ones(len(Z)) if sizes is None else np.asarray(sizes, dtype=float)
    if sizes.shape != (len(Z),) or not (np.isfinite(sizes).all() and (sizes > 0).all()):
        raise ValueError(f"sizes must be {len(Z)} positive numbers, one per row of Z.")
    criterion = _criterion(model, Z, sizes, alpha, beta)
    return _Agglomeration(Z, sizes, criterion).run()


def svd_transform(X: np.ndarray, sample_weight: np.ndarray | None = None) -> np.ndarray:
    """mclust's ``hcUse = "SVD"`` view of the data: standardised principal components.

    ``X_s`` is ``X`` with each column centred and divided by its standard deviation
    (denominator n - 1, R's ``scale``); constant columns are dropped, as mclust drops their
    NaN. With the thin SVD ``X_s = U D V^T`` the result is ``X_s V D^{-1/2}``, mclust's
    ``data %*% SVD$v %*% diag(1/sqrt(SVD$d))``. Directions whose singular value is zero to
    working precision (collinear columns, n <= d) are dropped rather than divided by zero.

    Parameters
    ----------
    X : ndarray of shape (n, d)
    sample_weight : ndarray of shape (n,), optional
        Positive frequency weights: the mean, the standard deviation (denominator
        ``sum w - 1``, or ``sum w`` when that is at most 1) and the SVD (of ``sqrt(w) X_s``)
        are those of the repeated rows.

    Returns
    -------
    ndarray of shape (n, q), q <= d
        With q = 0 when every column is constant.

    Raises
    ------
    ValueError
        For fewer than 2 rows or non-finite values.
    """
    X = _check_points(X)
    if len(X) < 2:
        raise ValueError(f"Standardising needs at least 2 rows; X has {len(X)}.")
    standardised = _standardised(X, sample_weight)
    if standardised.shape[1] == 0:
        return standardised
    root_w = 1.0 if sample_weight is None else np.sqrt(sample_weight)[:, None]
    _, singular, vt = np.linalg.svd(root_w * standardised, full_matrices=False)
    rank_floor = singular[0] * max(standardised.shape) * np.finfo(float).eps
    kept = singular > rank_floor
    return (standardised @ vt[kept].T) / np.sqrt(singular[kept])


def hc_tree(
    X: np.ndarray,
    model: str = "VVV",
    use: str = "SVD",
    max_rows: int | None = SUBSET_ROWS,
    random_state: int | np.random.Generator | np.random.RandomState | None = None,
    sample_weight: np.ndarray | None = None,
) -> HierarchicalTree:
    """mclust's ``hc(X, modelName = model, use = use)``, with its subset rule.

    Parameters
    ----------
    X : ndarray of shape (n, d)
        Finite data, n >= 2 (fill or drop missing values first).
    model : {"VVV", "EII"}
    use : {"SVD", "STD", "VARS"}
        The data the criterion sees: :func:`svd_transform` (mclust's default for EM), the
        standardised columns, or the columns as they are.
    max_rows : int or None
        With more rows than this, the tree is built on ``max_rows`` rows drawn at random
        without replacement (mclust's ``subset``, 2000); None never draws.
    random_state : int, Generator, RandomState or None
        For that draw only (the tree itself is deterministic). Rows are drawn from their
        lexicographic order, so the subset does not depend on the order of the rows.
    sample_weight : ndarray of shape (n,), optional
        Non-negative weights, some positive. Whole numbers, divided by their greatest
        common divisor, count each row as that many points (copies, the tree of the
        repeated rows); other weights make each row a starting cluster of its weight
        relative to their mean. Either way a common scale of the weights does not change
        the tree. See the module notes.

    Returns
    -------
    HierarchicalTree

    Raises
    ------
    ValueError
        With a sentence: fewer than 2 rows (or copies), non-finite values, an unknown model
        or use, negative or non-finite weights, all zero, or of the wrong length.
    """
    X = _check_points(X)
    use = _check_choice("use", use, HC_USES)
    weights = _check_tree_weights(sample_weight, len(X))
    counts = _whole_counts(weights, len(X))
    if counts is not None:  # each row counts as that many points: copies are leaves
        rows = _draw_leaves(X, counts, max_rows, random_state)
        sizes = leaf_weights = None
    else:  # weights that are not counts: each row is a cluster of its relative weight
        positive = np.flatnonzero(weights > 0)
        rows = positive[_draw_leaves(X[positive], None, max_rows, random_state)]
        leaf_weights = weights[rows]
        sizes = None if (leaf_weights == leaf_weights[0]).all() else leaf_weights
        sizes = None if sizes is None else sizes / sizes.mean()
    if len(rows) < 2:
        raise ValueError(
            f"A hierarchical agglomeration needs at least 2 rows; X has {len(rows)} "
            "(counting rows of positive weight, each as often as its weight). Use another "
            "start, or more data."
        )
    merges, costs = agglomerate(_view(X[rows], use, sizes), model, sizes)
    return HierarchicalTree(merges, costs, rows, len(X), model.upper(), leaf_weights)


def hc_partitions(
    X: np.ndarray,
    ks: Iterable[int],
    tree: HierarchicalTree | None = None,
    *,
    model: str = "VVV",
    use: str = "SVD",
    max_rows: int | None = SUBSET_ROWS,
    random_state: int | np.random.Generator | np.random.RandomState | None = None,
    sample_weight: np.ndarray | None = None,
) -> dict[int, np.ndarray]:
    """Labels of every row of ``X`` for each K in ``ks``, from one tree.

    The rows the tree was built on get the tree's cut (a row whose weight made copies, the
    cluster of most of them). With the subset rule, the other rows get the most responsible
    component of one E-step under the VVV (``"full"``) model fitted by one M-step to the
    subset's partition (mclust's way of extending it; reg_covar 1e-6, ``"floor"``). For a
    start, :func:`init_from_tree` is exact where these labels round copies.

    Parameters
    ----------
    X : ndarray of shape (n, d)
    ks : iterable of int
        The numbers of clusters, each from 1 to the tree's ``n_leaves``.
    tree : HierarchicalTree, optional
        A tree of these rows; built with the keyword arguments (see :func:`hc_tree`) if None.
    model, use, max_rows, random_state, sample_weight
        As for :func:`hc_tree`; ``sample_weight`` also weighs the M-step.

    Returns
    -------
    dict of int to ndarray of shape (n,), int
        Labels 0 .. K-1 for each K.

    Raises
    ------
    ValueError
        As :func:`hc_tree` and :meth:`HierarchicalTree.labels`, or if ``tree`` was built on
        data with another number of rows.
    """
    X = np.asarray(X, dtype=float)
    if tree is None:
        tree = hc_tree(X, model, use, max_rows, random_state, sample_weight)
    _check_tree_rows(tree, X)
    partitions = {}
    for k in ks:
        resp = tree.responsibilities(k)
        labels = np.where(resp.any(axis=1), resp.argmax(axis=1), -1)
        outside = labels < 0
        if outside.any():  # mclust's extension: one E-step of the leaves' VVV M-step
            params = init_from_tree(X, tree, k, "full", sample_weight=sample_weight)
            labels[outside] = e_step(X[outside], params).resp.argmax(axis=1)
        partitions[int(k)] = labels
    return partitions


def init_from_labels(
    X: np.ndarray,
    labels: np.ndarray,
    covariance_type: str = "full",
    reg_covar: float = 1e-6,
    regularization: Regularization = "floor",
    sample_weight: np.ndarray | None = None,
) -> MixtureParams:
    """A start from a hard partition: one M-step with 0/1 responsibilities.

    This is mclust's step from ``hclass`` to EM (``mstep`` on ``unmap(classification)``).

    Parameters
    ----------
    X : ndarray of shape (n, d)
    labels : ndarray of shape (n,), int
        Components 0 .. K-1, each used at least once; -1 leaves a row out of the M-step
        (the rows outside mclust's subset).
    covariance_type : {"full", "tied", "diag", "spherical"}
    reg_covar : float
    regularization : {"floor", "add"}
        As :func:`emcore.steps.m_step`.
    sample_weight : ndarray of shape (n,), optional
        Frequency weights for the M-step's sums.

    Returns
    -------
    MixtureParams
        K components with weights ``N_k / N``, the labelled rows' means and covariances.

    Raises
    ------
    ValueError
        If ``labels`` has the wrong shape, no row in the M-step, or a component 0 .. K-1
        with no row.
    """
    labels = np.asarray(labels)
    if labels.shape != (len(X),) or not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"labels must be {len(X)} whole numbers, one per row of X.")
    used = labels >= 0
    if not used.any():
        raise ValueError("labels leave every row out (-1): nothing to start from.")
    counts = np.bincount(labels[used])
    if (counts == 0).any():
        missing = int(np.flatnonzero(counts == 0)[0])
        raise ValueError(
            f"labels use components 0 to {len(counts) - 1} but component {missing} has no "
            "row: number the components 0 .. K-1, each used at least once."
        )
    resp = np.zeros((int(used.sum()), len(counts)))
    resp[np.arange(len(resp)), labels[used]] = 1.0
    weights = None if sample_weight is None else np.asarray(sample_weight, dtype=float)[used]
    return m_step(  # the public M-step: it checks the user's X, weights and settings
        X[used],
        resp,
        covariance_type,
        reg_covar,
        regularization=regularization,
        sample_weight=weights,
    )


def init_from_tree(
    X: np.ndarray,
    tree: HierarchicalTree,
    n_components: int,
    covariance_type: str = "full",
    reg_covar: float = 1e-6,
    regularization: Regularization = "floor",
    sample_weight: np.ndarray | None = None,
    *,
    scale: float | None = None,
) -> MixtureParams:
    """mclust's start for K components: the tree's cut, then one M-step on the tree's leaves.

    With the subset rule only the subset's rows enter the M-step, exactly as mclust; EM's
    first E-step then spreads the start over all rows. With whole-number weights the start
    is that of the repeated rows (see :meth:`HierarchicalTree.responsibilities`).

    Parameters
    ----------
    X : ndarray of shape (n, d)
        The data the tree was built from (the same rows, in the same order).
    tree : HierarchicalTree
    n_components : int
    covariance_type, reg_covar, regularization : as :func:`emcore.steps.m_step`
    sample_weight : ndarray of shape (n,), optional
        The weights the tree was built with. The M-step weighs each row by its leaves
        (:meth:`HierarchicalTree.row_weights`: copies, or the weight itself when it is not a
        whole number); these weights measure the data's scale for the ``"floor"``.
    scale : float, optional
        :func:`emcore.covariance.data_scale` of ``X`` and ``sample_weight``, if the caller
        has it.

    Returns
    -------
    MixtureParams

    Raises
    ------
    ValueError
        If the tree was built on another number of rows or cannot be cut into
        ``n_components`` clusters (more than its leaves), or for weights that are not
        non-negative numbers, one per row.
    """
    _check_tree_rows(tree, X)
    weights = _check_tree_weights(sample_weight, len(X))
    # The M-step below is the engines' unchecked one (model selection makes one per cell):
    # the settings are checked here, the responsibilities come from the tree.
    check_positive("reg_covar", reg_covar)
    check_choice("regularization", regularization, REGULARIZATIONS)
    if scale is None and regularization == "floor":
        # The floor EM on all the rows will use, not one measured on the tree's leaves.
        scale = data_scale(X, weights)
    leaf_weights = tree.row_weights()
    return unchecked_m_step(
        X,
        tree.responsibilities(n_components),
        covariance_type,
        reg_covar,
        regularization=regularization,
        scale=scale,
        sample_weight=None if (leaf_weights == 1.0).all() else leaf_weights,
    )


def init_hc(
    X: np.ndarray,
    n_components: int,
    covariance_type: str,
    rng: np.random.Generator,
    reg_covar: float,
    regularization: Regularization,
    sample_weight: np.ndarray | None = None,
) -> MixtureParams:
    """The ``"hc"`` entry of :data:`emcore.init.INIT_METHODS`: mclust's default start.

    The VVV tree on the SVD view of the rows (a subset of 2,000 drawn with ``rng`` beyond
    that), cut at ``n_components``, then one M-step of ``covariance_type``: see
    :func:`hc_tree` and :func:`init_from_tree`. Rows of weight 0 are removed by the caller;
    the others are copies (whole numbers, divided by their greatest common divisor) or
    starting clusters' sizes (rescaled to mean 1), so a common scale of the weights does not
    change the start. Each call builds the tree anew: to fit many K or covariance types from one
    tree, build it once with :func:`hc_tree` and call :func:`init_from_tree`.
    """
    tree = hc_tree(X, random_state=rng, sample_weight=sample_weight)
    return init_from_tree(
        X, tree, n_components, covariance_type, reg_covar, regularization, sample_weight
    )


# --- the agglomeration ---------------------------------------------------------------------


class _Criterion:
    """Each cluster's own term T, vectorised over clusters; a merge costs T(i u j) - T(i) - T(j).

    Clusters come as ``sizes`` (k,), ``traces`` (k,) of their scatter matrices and, when
    :attr:`needs_scatter`, the scatter matrices themselves as ``(p, p, k)`` (one contiguous
    vector per entry, so the arithmetic below runs over all k clusters at once).
    """

    needs_scatter = False
    lance_williams = False

    def terms(self, sizes: np.ndarray, scatters: np.ndarray | None, traces: np.ndarray):
        raise NotImplementedError


class _Ward(_Criterion):
    """EII: the total within-cluster sum of squares, T = tr W (Ward's increase).

    Its merge costs after a merge follow from the old ones (Lance & Williams' update,
    :meth:`_Agglomeration._ward_costs`), as mclust's hceii computes them.
    """

    lance_williams = True

    def terms(self, sizes, scatters, traces):
        return traces


class _Unconstrained(_Criterion):
    """VVV, mclust's regularised ``n log(|W/n| + beta (tr W + alpha) / n)``."""

    def __init__(self, n_dims: int, alpha: float, beta: float) -> None:
        self.n_dims = n_dims
        self.alpha = alpha
        self.beta = beta
        self.needs_scatter = n_dims > 0

    def terms(self, sizes, scatters, traces):
        log_trace_part = np.log((self.beta * (traces + self.alpha)) / sizes)
        if scatters is None:
            return sizes * log_trace_part
        log_det = _log_det_psd(scatters) - self.n_dims * np.log(sizes)  # log|W / n|
        # Only clusters of more than p points have a determinant (mclust's vvvtij); below
        # that W is singular and the trace part alone keeps them comparable.
        log_det[sizes <= self.n_dims] = -np.inf
        return sizes * np.logaddexp(log_det, log_trace_part)  # log(|W/n| + trace part)


def _log_det_psd(W: np.ndarray) -> np.ndarray:
    """log|W| of k positive semi-definite matrices stored as (p, p, k); -inf where singular.

    p <= 2 by the formula; beyond, symmetric Gaussian elimination (the LDL^T form of
    Cholesky, stable without pivoting for such matrices) run on all k matrices at once:
    p steps of vector arithmetic instead of k small LAPACK calls, which cost more than the
    arithmetic at p <= 10. A determinant or pivot that is not positive (a singular W, up to
    rounding) gives -inf, a determinant of 0, as mclust's det2mc does for a zero on the
    diagonal of its triangular factor.
    """
    p = W.shape[0]
    # A pivot that is tiny next to its row (a merge that is singular up to rounding) can make
    # the elimination overflow: the pivots after it come out inf or NaN, not positive, and
    # the log-determinant -inf, which is the answer, so the warning says nothing.
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if p == 1:
            return np.log(np.maximum(W[0, 0], 0.0))
        if p == 2:
            return np.log(np.maximum(W[0, 0] * W[1, 1] - W[0, 1] * W[0, 1], 0.0))
        pivots = _elimination_pivots(W)
        positive = pivots > 0
        log_det = np.log(np.where(positive, pivots, 1.0)).sum(axis=0)
        return np.where(positive.all(axis=0), log_det, -np.inf)


def _elimination_pivots(W: np.ndarray) -> np.ndarray:
    """The pivots of symmetric Gaussian elimination of each (p, p, k) matrix, (p, k)."""
    W = W.copy()
    p = W.shape[0]
    for c in range(p - 1):
        pivot = W[c, c]
        # A non-positive pivot marks the matrix singular; dividing by 1 there keeps the
        # rest finite (and unused).
        scaled = W[c, c + 1 :] / np.where(pivot > 0, pivot, 1.0)
        W[c + 1 :, c + 1 :] -= W[c + 1 :, c, None, :] * scaled[None, :, :]
    return np.diagonal(W).T


def _criterion(model: str, Z: np.ndarray, sizes: np.ndarray, alpha: float, beta: float):
    model = _check_choice("model", model, HC_MODELS)
    if model == "EII":
        return _Ward()
    n_dims = Z.shape[1]
    # mclust's hcVVV: alpha * traceW(data / sqrt(n p)), at least the machine epsilon.
    scatter_per_number = _total_scatter(Z, sizes) / (sizes.sum() * max(n_dims, 1))
    return _Unconstrained(n_dims, max(alpha * scatter_per_number, np.finfo(float).eps), beta)


def _total_scatter(Z: np.ndarray, sizes: np.ndarray) -> float:
    centre = sizes @ Z / sizes.sum()
    return float(sizes @ ((Z - centre) ** 2).sum(axis=1))


class _Agglomeration:
    """Greedy merging with a cost matrix over slots and each slot's least cost cached.

    Cluster statistics live in slots 0 .. live-1. A merge of slots i < j puts the merged
    cluster in slot i and moves the last live slot into j (mclust's ``wardsw``), so slots
    stay contiguous and ties break as mclust's do. ``row_min[s]`` is the least cost in row
    ``s``; after a merge only the rows whose least cost was with i or j are scanned again,
    the others compare with their one new cost, so a merge costs the merged cluster's new
    row (O(g p^3) for VVV's determinants, O(g) for Ward's update) instead of a scan of the
    whole g x g matrix. Memory: the g x g cost matrix (32 MB at mclust's 2,000 rows).
    """

    def __init__(self, Z: np.ndarray, sizes: np.ndarray, criterion: _Criterion) -> None:
        g, p = Z.shape
        self.criterion = criterion
        self.sizes = sizes.copy()
        self.means = np.ascontiguousarray(Z.T)  # (p, g): one contiguous vector per axis
        self.traces = np.zeros(g)
        self.scatters = np.zeros((p, p, g)) if criterion.needs_scatter else None
        self.terms = criterion.terms(self.sizes, self.scatters, self.traces)
        self.ids = np.arange(g)  # the first leaf of each slot's cluster, which names it
        self.costs = _initial_costs(Z, self.sizes, self.terms, criterion)
        self.row_min = self.costs.min(axis=1) if g > 1 else np.full(g, np.inf)
        self.live = g

    def run(self) -> tuple[np.ndarray, np.ndarray]:
        n_merges = max(self.live - 1, 0)
        merges = np.empty((n_merges, 2), dtype=np.intp)
        costs = np.empty(n_merges)
        with np.errstate(divide="ignore", invalid="ignore"):  # log|W| of singular W: -inf
            for step in range(n_merges):
                i, j = self._best_pair()
                costs[step] = self.costs[i, j]
                merges[step] = sorted((int(self.ids[i]), int(self.ids[j])))
                self._merge(i, j)
        return merges, costs

    def _best_pair(self) -> tuple[int, int]:
        """The cheapest pair (i < j); of equal costs, the highest j, then the highest i."""
        minima = self.row_min[: self.live]
        best = minima.min()
        # Every row on a cheapest pair has row_min == best, so the highest such row is the
        # pair's j and all its cheapest partners lie below it.
        j = len(minima) - 1 - int(np.argmax(minima[::-1] == best))
        i = j - 1 - int(np.argmax(self.costs[j, j - 1 :: -1] == best))
        return i, j

    def _merge(self, i: int, j: int) -> None:
        last = self.live - 1
        old_i = self.costs[: last + 1, i].copy()  # every row's cost with i and j before
        old_j = self.costs[: last + 1, j].copy()
        n_i, n_j, pair_cost = float(self.sizes[i]), float(self.sizes[j]), float(self.costs[i, j])
        self._store_merged(i, j)
        if j != last:
            self._move(last, j)
            old_i[j], old_j[j] = old_i[last], old_j[last]
        self.live = last
        self.costs[last, :] = np.inf
        self.costs[:, last] = np.inf
        old_i, old_j = old_i[:last], old_j[:last]
        if self.criterion.lance_williams:
            row = self._ward_costs(i, old_i, old_j, n_i, n_j, pair_cost)
        else:
            row = self._costs_with(i, last)
        self._refresh(i, row, old_i, old_j)

    def _store_merged(self, i: int, j: int) -> None:
        """Slot i becomes the union of clusters i and j (the scatter update, Fraley 1998)."""
        n_i, n_j = float(self.sizes[i]), float(self.sizes[j])
        size = n_i + n_j
        mean_i, mean_j = self.means[:, i], self.means[:, j]
        delta = mean_i - mean_j
        factor = n_i * n_j / size
        # As mclust's hcvvv stores it: the merge's cost plus the parts' terms.
        self.terms[i] = float(self.costs[i, j]) + (float(self.terms[i]) + float(self.terms[j]))
        self.traces[i] = float(self.traces[i]) + float(self.traces[j]) + factor * (delta @ delta)
        if self.scatters is not None:
            between = delta[:, None] * (factor * delta)[None, :]
            self.scatters[:, :, i] += self.scatters[:, :, j] + between
        self.means[:, i] = (n_i * mean_i + n_j * mean_j) / size
        self.sizes[i] = size
        self.ids[i] = min(self.ids[i], self.ids[j])

    def _move(self, source: int, target: int) -> None:
        """The cluster in slot ``source`` takes slot ``target`` (whose cluster is gone)."""
        for vector in (self.sizes, self.traces, self.terms, self.row_min, self.ids):
            vector[target] = vector[source]
        self.means[:, target] = self.means[:, source]
        if self.scatters is not None:
            self.scatters[:, :, target] = self.scatters[:, :, source]
        self.costs[target, :] = self.costs[source, :]
        self.costs[:, target] = self.costs[:, source]
        self.costs[target, target] = np.inf

    def _refresh(self, i: int, row: np.ndarray, old_i: np.ndarray, old_j: np.ndarray) -> None:
        """Slot i's new costs ``row``, and the row minima they change."""
        live = self.live
        self.costs[i, :live] = row
        self.costs[:live, i] = row
        minima = self.row_min[:live]
        stale = (minima == old_i) | (minima == old_j)
        stale[i] = False
        np.minimum(minima, row, out=minima)
        if stale.any():
            minima[stale] = self.costs[:live][stale, :live].min(axis=1)
        minima[i] = row.min()

    def _ward_costs(
        self,
        i: int,
        old_i: np.ndarray,
        old_j: np.ndarray,
        n_i: float,
        n_j: float,
        pair_cost: float,
    ) -> np.ndarray:
        """Ward's costs of the merged cluster in slot i, by Lance & Williams' update.

        ``d(k, i u j) = ((n_k + n_i) d(k, i) + (n_k + n_j) d(k, j) - n_k d(i, j)) / (n_k +
        n_i + n_j)``, in the order of operations of mclust's hceii: equal to recomputing
        the increase of tr W, and rounded as mclust rounds, which decides exact ties.
        """
        n_k = self.sizes[: self.live]
        row = ((n_k + n_i) * old_i + (n_k + n_j) * old_j - n_k * pair_cost) / (n_k + (n_i + n_j))
        row[i] = np.inf
        return row

    def _costs_with(self, i: int, live: int) -> np.ndarray:
        """The cost of merging cluster i with each live cluster (inf with itself), (live,)."""
        n_i, n_o = self.sizes[i], self.sizes[:live]
        sizes = n_i + n_o
        factor = n_i * n_o / sizes
        delta = self.means[:, :live] - self.means[:, i, None]
        squared = np.einsum("pk,pk->k", delta, delta)
        traces = (self.traces[i] + self.traces[:live]) + factor * squared
        scatters = None
        if self.scatters is not None:
            between = delta[:, None, :] * (delta * factor)[None, :, :]
            scatters = (self.scatters[:, :, i, None] + self.scatters[:, :, :live]) + between
        merged = self.criterion.terms(sizes, scatters, traces)
        # Parenthesised as mclust's dij, so that cost(a, b) == cost(b, a) to the last bit.
        row = merged - (self.terms[i] + self.terms[:live])
        row[i] = np.inf
        return row


def _initial_costs(
    Z: np.ndarray, sizes: np.ndarray, terms: np.ndarray, criterion: _Criterion
) -> np.ndarray:
    """The cost matrix of merging two starting clusters (points with no scatter), (g, g).

    Their merged scatter has rank one, ``w d d^T`` with ``w = n_i n_j / (n_i + n_j)``, so
    its trace is ``w |d|^2`` and its determinant 0 unless p = 1 (where it is the trace).
    """
    g, p = Z.shape
    costs = np.empty((g, g))
    block = max(1, _BLOCK_NUMBERS // max(g * max(p, 1), 1))
    with np.errstate(divide="ignore", invalid="ignore"):
        for start in range(0, g, block):
            rows = slice(start, min(start + block, g))
            traces = _pair_traces(Z[rows], Z, sizes[rows], sizes, criterion.lance_williams)
            if criterion.lance_williams:  # Ward: the cost is the trace's increase itself
                costs[rows] = traces
                continue
            merged_sizes = sizes[rows, None] + sizes[None, :]
            one_dim = criterion.needs_scatter and p == 1
            merged_terms = criterion.terms(
                merged_sizes.ravel(),
                traces.reshape(1, 1, -1) if one_dim else None,
                traces.ravel(),
            ).reshape(traces.shape)
            # Parenthesised so that cost(a, b) == cost(b, a) to the last bit (as mclust's dij).
            costs[rows] = merged_terms - (terms[rows, None] + terms[None, :])
    np.fill_diagonal(costs, np.inf)
    return costs


def _pair_traces(
    Z_rows: np.ndarray, Z: np.ndarray, sizes_rows: np.ndarray, sizes: np.ndarray, ward: bool
) -> np.ndarray:
    """``tr W`` of each merged pair of starting clusters, ``|v|^2``, shape (len(Z_rows), g).

    ``v = sqrt(n_i n_j / (n_i + n_j)) (z_i - z_j)``, formed and summed as mclust's Fortran
    does (hcvvv scales the difference of two points by sqrt(1/2), hceii the points; ``v.v``
    is summed coordinate by coordinate). Exactly tied distances (duplicated rows, data on a
    grid) are common, and which of them comes first is decided by this rounding; on the
    same transformed data it is then mclust's. The result is symmetric to the last bit.
    """
    if (sizes_rows == 1.0).all() and (sizes == 1.0).all():
        if ward:
            v = _RT_HALF * Z_rows[:, None, :] - _RT_HALF * Z[None, :, :]
        else:
            v = (Z_rows[:, None, :] - Z[None, :, :]) * _RT_HALF
    else:  # weighted rows: v = s_j y_i - s_i y_j with y = sqrt(n) z, s_i = sqrt(n_i / n_ij)
        merged = sizes_rows[:, None] + sizes[None, :]
        s_i = np.sqrt(sizes_rows[:, None] / merged)[..., None]
        s_j = np.sqrt(sizes[None, :] / merged)[..., None]
        y_rows = np.sqrt(sizes_rows)[:, None] * Z_rows
        y = np.sqrt(sizes)[:, None] * Z
        v = s_j * y_rows[:, None, :] - s_i * y[None, :, :]
    total = np.zeros(v.shape[:2])
    for axis in range(v.shape[2]):
        total += v[..., axis] * v[..., axis]
    return total


def _cut(merges: np.ndarray, n_leaves: int, k: int) -> np.ndarray:
    """Each leaf's cluster (the id of its first leaf) after the first n_leaves - k merges."""
    parent = np.arange(n_leaves)
    applied = merges[: n_leaves - k]
    parent[applied[:, 1]] = applied[:, 0]
    # A merge points a group to a smaller id, so following pointers ends at each cluster's
    # id; doubling the jumps gets there in log(depth) passes.
    while True:
        jumped = parent[parent]
        if np.array_equal(jumped, parent):
            return parent
        parent = jumped


def _first_appearance(clusters: np.ndarray) -> np.ndarray:
    """Cluster ids renumbered 0 .. K-1 in the order they first appear, shape (n,)."""
    _, first, inverse = np.unique(clusters, return_index=True, return_inverse=True)
    rank = np.empty(len(first), dtype=np.intp)
    rank[np.argsort(first)] = np.arange(len(first))
    return rank[inverse.ravel()]


# --- data handling -------------------------------------------------------------------------


def _view(X: np.ndarray, use: str, weights: np.ndarray | None) -> np.ndarray:
    """The data as the criterion sees them (mclust's ``hcUse``)."""
    if use == "SVD":
        return svd_transform(X, weights)
    if use == "STD":
        return _standardised(X, weights)
    return X


def _standardised(X: np.ndarray, weights: np.ndarray | None) -> np.ndarray:
    """R's ``scale(X)``, weighted: columns centred and divided by their standard deviation
    (denominator ``sum w - 1``, or ``sum w`` when that is at most 1), constant ones dropped."""
    X = X[:, X.max(axis=0) > X.min(axis=0)]  # exact: rounding must not revive a constant
    if weights is None:
        centred = X - X.mean(axis=0)
        return centred / np.sqrt((centred**2).sum(axis=0) / (len(X) - 1))
    total = float(weights.sum())
    centred = X - weights @ X / total
    return centred / np.sqrt(weights @ centred**2 / (total - 1.0 if total > 1.0 else total))


def _draw_leaves(
    X: np.ndarray,
    counts: np.ndarray | None,
    max_rows: int | None,
    random_state: int | np.random.Generator | np.random.RandomState | None,
) -> np.ndarray:
    """The tree's leaves as rows of ``X``, increasing, a row once per count (1 if None).

    All of them, or ``max_rows`` drawn at random without replacement (mclust's subset).
    The draw is over the rows (with their copies) in lexicographic order, so it depends
    neither on the order of the rows nor on whether a row is repeated or counted: the
    repeated rows draw the same points.
    """
    counts = np.ones(len(X), dtype=np.int64) if counts is None else counts
    total = int(counts.sum())
    if max_rows is not None and (
        isinstance(max_rows, bool) or not isinstance(max_rows, int | np.integer) or max_rows < 2
    ):
        raise ValueError(f"max_rows must be a whole number of at least 2; got {max_rows!r}.")
    if max_rows is None or total <= max_rows:
        return np.repeat(np.arange(len(X)), counts.astype(np.int64))
    # Imported here: emcore.init registers this module's start, so it imports this module.
    from emcore.init import as_generator

    canonical = np.lexsort(X.T[::-1])  # stable: equal rows keep their order
    generator = as_generator(random_state)
    if counts.dtype == object:  # beyond int64: the same draw, with Python integers
        return _draw_huge(canonical, list(counts[canonical]), int(max_rows), generator)
    ends = np.cumsum(counts[canonical])
    drawn = generator.choice(total, size=int(max_rows), replace=False)
    position = np.searchsorted(ends, drawn, side="right")  # which row of the sorted ones
    rows = canonical[position]
    copy = drawn - (ends[position] - counts[canonical][position])
    return rows[np.lexsort((copy, rows))]


def _draw_huge(
    canonical: np.ndarray, sorted_counts: list[int], size: int, generator: np.random.Generator
) -> np.ndarray:
    """``size`` copies drawn without replacement from more than 2^62, as rows, increasing.

    Each draw is a uniform whole number below the total, made of 32-bit words and rejected
    when it falls beyond (at most half the time); a repeat is drawn again, which keeps the
    draw uniform over sets of copies (repeats are rare: 2,000 of 2^62).
    """
    ends = list(np.cumsum(np.array(sorted_counts, dtype=object)))
    total = ends[-1]
    bits = total.bit_length()
    n_words = -(-bits // 32)
    drawn: set[int] = set()
    while len(drawn) < size:
        value = 0
        for word in generator.integers(0, 2**32, size=n_words, dtype=np.uint64):
            value = (value << 32) | int(word)
        value >>= 32 * n_words - bits
        if value < total:
            drawn.add(value)
    leaves = []
    for position in drawn:
        index = bisect_right(ends, position)  # which row of the sorted ones
        leaves.append((int(canonical[index]), position - (ends[index] - sorted_counts[index])))
    return np.array([row for row, _ in sorted(leaves)], dtype=np.intp)


# --- checks --------------------------------------------------------------------------------


def _check_points(X: object) -> np.ndarray:
    X = np.asarray(X, dtype=float)
    if X.ndim != 2 or len(X) == 0:
        raise ValueError(
            f"The data must be a 2-D array with at least one row; got shape {X.shape}."
        )
    if not np.isfinite(X).all():
        raise ValueError(
            "The data have NaN or infinite values; the agglomeration needs every value "
            "(fill missing values first)."
        )
    return X


def _check_choice(name: str, value: object, choices: tuple[str, ...]) -> str:
    """``value`` in upper case (hc's names are case-free: "vvv" is "VVV") if it is one of
    ``choices``, else :func:`emcore.validation.check_choice`'s sentence (which names the
    value as given, and never compares anything but a string)."""
    upper = value.upper() if isinstance(value, str) else value
    if isinstance(upper, str) and upper in choices:
        return upper
    return check_choice(name, value, choices)


def _check_tree_weights(sample_weight: object, n_rows: int) -> np.ndarray | None:
    if sample_weight is None:
        return None
    weights = np.asarray(sample_weight, dtype=float)
    valid = np.isfinite(weights).all() and (weights >= 0).all() and (weights > 0).any()
    if weights.shape != (n_rows,) or not valid:
        raise ValueError(
            f"sample_weight must be {n_rows} non-negative numbers, one per row, and not all zero."
        )
    return weights


# Whole-number counts up to this total are drawn from with NumPy's 64-bit integers.
_INT64_TOTAL = 2**62


def _whole_counts(weights: np.ndarray | None, n_rows: int) -> np.ndarray | None:
    """Whole-number weights as the fewest copies with the same ratios, shape (n_rows,).

    All 1 without weights; None for weights that are not whole numbers. Divided by their
    greatest common divisor, so a common whole-number scale does not change the tree (see
    the module notes). int64, or Python integers (dtype object) when their total is too
    large for int64.
    """
    if weights is None:
        return np.ones(n_rows, dtype=np.int64)
    if (weights != np.round(weights)).any():
        return None
    if weights.max() >= 2.0**53:
        counts = _counts_by_ratio(weights)
        if counts is not None:
            return counts
    if weights.max() < 2.0**53:  # exact in int64, and their gcd by NumPy
        counts = weights.astype(np.int64)
        counts //= np.gcd.reduce(counts[counts > 0])
        if int(counts.max()) * n_rows < _INT64_TOTAL:
            return counts
        return np.array([int(count) for count in counts], dtype=object)
    whole = [int(weight) for weight in weights]  # a float that is a whole number is exact
    divisor = math.gcd(*whole)
    counts = [count // divisor for count in whole]
    if sum(counts) < _INT64_TOTAL:
        return np.array(counts, dtype=np.int64)
    return np.array(counts, dtype=object)


# Ratios to the smallest weight within this relative distance of whole numbers are taken as
# them: 3e100 / 1e100 is 3 to 1e-16 (the floats' rounding), far inside.
_RATIO_RTOL = 1e-12
# Ratios up to this are told from their neighbours by _RATIO_RTOL (1e-12 x 2^32 < 0.01).
_LARGEST_RATIO = 2.0**32


def _counts_by_ratio(weights: np.ndarray) -> np.ndarray | None:
    """Whole-number counts from the ratios of large whole-number weights to their smallest
    positive one, divided by their greatest common divisor; None if a ratio is not a whole
    number (to :data:`_RATIO_RTOL`) or exceeds :data:`_LARGEST_RATIO`.

    Above 2^53 a float is a whole number but a common scale is not exact: 3 x 1e100 is not
    3e100, so the integers' exact gcd was 1 or so, and counts of about 1e16 drew a random
    subset instead of the start of counts {1, 2, 3, 4}.
    """
    smallest = weights[weights > 0].min()
    ratios = weights / smallest
    if ratios.max() > _LARGEST_RATIO:
        return None
    whole = np.round(ratios)
    if (np.abs(ratios - whole) > _RATIO_RTOL * ratios).any():
        return None
    counts = whole.astype(np.int64)
    return counts // np.gcd.reduce(counts[counts > 0])


def _check_cut(n_components: object, n_leaves: int) -> int:
    whole = isinstance(n_components, int | np.integer) and not isinstance(n_components, bool)
    if not whole or not 1 <= n_components <= n_leaves:
        raise ValueError(
            f"The tree was built on {n_leaves} rows, so it can be cut into 1 to {n_leaves} "
            f"clusters; got n_components={n_components!r}. Ask for fewer components."
        )
    return int(n_components)


def _check_tree_rows(tree: HierarchicalTree, X: np.ndarray) -> None:
    if tree.n_samples != len(X):
        raise ValueError(
            f"The tree was built on data with {tree.n_samples} rows but X has {len(X)}; "
            "build it from the same rows."
        )
