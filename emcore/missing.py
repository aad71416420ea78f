"""Missing values: EM for Gaussian mixtures on data missing at random.

A NaN cell is a missing value. Following Ghahramani & Jordan (1994), "Supervised learning
from incomplete data via an EM approach" (NIPS 6), with data missing at random:

- **E-step.** Row i's responsibilities and log-likelihood come from the density of its
  observed coordinates ``o``: each component's marginal Gaussian ``N(x_o | mu_ko, S_koo)``
  (the rows and columns of ``o``), mixed with the weights. The observed-data log-likelihood
  ``sum_i w_i log sum_k pi_k N(x_io | mu_ko, S_koo)`` is what EM then never decreases.
- **M-step.** The expected complete-data sums under the previous parameters. Given ``x_o``
  and component k, the missing coordinates ``m`` are Gaussian with mean
  ``E[x_m | x_o, k] = mu_km + B_k (x_o - mu_ko)`` and covariance ``C_k``, where
  ``B_k = S_mo S_oo^-1`` and ``C_k = S_mm - S_mo S_oo^-1 S_om`` is the Schur complement
  (Bishop, *Pattern Recognition and Machine Learning*, eq. 2.81-2.82; for diagonal and
  spherical types ``S_mo = 0``, so ``B_k = 0`` and ``C_k`` is the missing variances). With
  ``x^_ik`` the row completed by those means,

      N_k = sum_i w_i r_ik,     mu_k = sum_i w_i r_ik x^_ik / N_k,
      S_k = sum_i w_i r_ik [(x^_ik - mu_k)(x^_ik - mu_k)^T + C_ik],

  ``C_ik`` being ``C_k`` in the rows and columns of row i's missing coordinates, zero
  elsewhere; the covariance type turns ``S_k`` into its own estimate
  (:meth:`~emcore.covariance.CovarianceModel.statistic_from_scatter`, then ``estimate_from``).

**Patterns.** Rows are grouped by which coordinates they observe (:class:`Patterns`). Rows
with nothing missing take the complete-data route (the parameters' own precision factors,
plain sums). The other patterns are stacked (:class:`PatternStack`) and each is handled as
a d x d matrix in column order, *padded*: ``S_oo`` in its observed rows and columns, the
identity in its missing ones, zeros between (:func:`_padded`). Reordered, that matrix is
block-diagonal, so its Cholesky factor and that factor's inverse are those of ``S_oo``
padded the same way (Cholesky makes no fill-in between unconnected blocks), and its
determinant is that of ``S_oo``. So all patterns, whatever their number of observed
coordinates, are factorised by one batched Cholesky call per iteration; the E-step's
marginal densities and the M-step's ``B_k`` and ``C_k`` all follow from those factors
(:meth:`PatternStack.factors` keeps them from the E-step for the M-step after it), and the
rows of all patterns are handled together, each taking its pattern's matrices by index.

A loop over patterns, as this module had before, paid about 0.2 ms of Python and LAPACK call
overhead per pattern and step: on the wine data with 5 % of its cells removed (40 patterns in
178 rows) an iteration took 10 to 40 times as long as on the complete data; batched, 2 to 7
times (bench/bench_missing.py measures that ratio).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property
from itertools import pairwise

import numpy as np

from emcore.covariance import covariance_model, row_blocks, safe_counts, weighted_moments
from emcore.params import MixtureParams

# A marginal covariance is a full matrix in its o coordinates, whatever the type's storage:
# when its factor needs repair, the full type's repair.
_FULL = covariance_model("full")

# At most this many elements (patterns x d x d) per stack, so that each step's stacks of
# factors, regressions and conditional covariances (times K each) stay bounded in memory
# even when nearly every row has a pattern of its own.
_PATTERN_ELEMENTS = 1 << 16

# A pattern with at least this many rows gets row chunks of its own, multiplied by its
# matrices with one product per component; the rows of smaller patterns are mixed and each
# takes its pattern's matrices by index. (At 100,000 rows in 31 patterns, d = 5, gathering
# every row's matrices made the E-step 40 % slower than a product per pattern.)
_OWN_CHUNK_ROWS = 32


@dataclass(frozen=True, eq=False)
class Pattern:
    """The rows that observe the same coordinates.

    Attributes
    ----------
    rows : ndarray of int, shape (n_p,)
        Indices of the rows, ascending.
    observed, missing : ndarray of int, shapes (o,) and (m,)
        The coordinates these rows observe and miss; together ``0..d-1``.
    """

    rows: np.ndarray
    observed: np.ndarray
    missing: np.ndarray


@dataclass(frozen=True, eq=False)
class PatternStack:
    """Patterns with missing cells, stacked for batched linear algebra.

    Attributes
    ----------
    observed : ndarray of bool, shape (P, d)
        Each pattern's mask, True where it observes a coordinate.
    rows : ndarray of int, shape (n_s,)
        The rows of these patterns, pattern after pattern.
    pattern_of_row : ndarray of int, shape (n_s,)
        Which of the P patterns each of ``rows`` has.
    starts : ndarray of int, shape (P,)
        Where each pattern's rows begin in ``rows``.
    """

    observed: np.ndarray
    rows: np.ndarray
    pattern_of_row: np.ndarray
    starts: np.ndarray
    # The last covariances the factors were asked for, and the factors (see :meth:`factors`).
    _last: list[tuple[np.ndarray, tuple[np.ndarray, np.ndarray]] | None] = field(
        default_factory=lambda: [None], init=False, repr=False
    )

    @classmethod
    def stack(cls, patterns: list[Pattern], n_features: int) -> PatternStack:
        """One stack of (non-empty) patterns."""
        sizes = np.array([len(p.rows) for p in patterns])
        observed = np.zeros((len(patterns), n_features), dtype=bool)
        for mask, pattern in zip(observed, patterns, strict=True):
            mask[pattern.observed] = True
        return cls(
            observed=observed,
            rows=np.concatenate([p.rows for p in patterns]),
            pattern_of_row=np.repeat(np.arange(len(patterns)), sizes),
            starts=np.concatenate([[0], np.cumsum(sizes)[:-1]]),
        )

    def factors(self, covariances: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """:func:`marginal_factors` of these patterns for ``covariances`` (G, d, d).

        The last result is kept: an M-step's conditionals are taken under the parameters
        of the E-step just before it, whose factors are then not computed twice. Kept by the
        covariances' values (a copy), so a new or changed array is never served stale.
        """
        last = self._last[0]
        if last is not None and np.array_equal(last[0], covariances):
            return last[1]
        result = marginal_factors(covariances, self.observed)
        self._last[0] = (covariances.copy(), result)
        return result

    def row_chunks(self, elements_per_row: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """``(rows, patterns)`` in chunks bounded in memory: row indices of ``X`` (b,) and
        each row's pattern in this stack (b,), ascending.

        A pattern of at least ``_OWN_CHUNK_ROWS`` rows is never chunked with other patterns,
        so that its rows are multiplied by its matrices directly (see :func:`_times`).
        """
        sizes = np.diff(np.append(self.starts, len(self.rows)))
        own = self.starts[sizes >= _OWN_CHUNK_ROWS]
        ends = own + sizes[sizes >= _OWN_CHUNK_ROWS]
        cuts = np.unique(np.concatenate([[0, len(self.rows)], own, ends]))
        for begin, end in pairwise(cuts.tolist()):
            for chunk in row_blocks(end - begin, elements_per_row):
                span = slice(begin + chunk.start, begin + chunk.stop)
                yield self.rows[span], self.pattern_of_row[span]


@dataclass(frozen=True, eq=False)
class Patterns:
    """Rows of a data set grouped by their missingness pattern.

    Build with :func:`missing_patterns` (None for complete data) or :meth:`from_mask`.
    """

    groups: tuple[Pattern, ...]

    @classmethod
    def from_mask(cls, observed: np.ndarray) -> Patterns:
        """Group the rows of a boolean mask (n, d), True where a cell is observed."""
        observed = np.asarray(observed, dtype=bool)
        # Rows packed to bytes: np.unique then compares a few bytes per row, not d booleans.
        packed = np.packbits(observed, axis=1)
        _, first, inverse = np.unique(packed, axis=0, return_index=True, return_inverse=True)
        inverse = inverse.ravel()
        order = np.argsort(inverse, kind="stable")  # rows of each pattern stay ascending
        bounds = np.cumsum(np.bincount(inverse, minlength=len(first)))[:-1]
        columns = np.arange(observed.shape[1])
        groups = tuple(
            Pattern(rows, columns[observed[row]], columns[~observed[row]])
            for rows, row in zip(np.split(order, bounds), first, strict=True)
        )
        return cls(groups)

    def __iter__(self) -> Iterator[Pattern]:
        return iter(self.groups)

    def __len__(self) -> int:
        return len(self.groups)

    @cached_property
    def complete_rows(self) -> np.ndarray:
        """Rows with no missing cell, ascending, shape (n_c,): the complete-data route."""
        complete = [p.rows for p in self.groups if not len(p.missing)]
        return complete[0] if complete else np.zeros(0, dtype=int)

    @cached_property
    def stacks(self) -> tuple[PatternStack, ...]:
        """The patterns with missing cells, in stacks of at most ``_PATTERN_ELEMENTS / d^2``."""
        incomplete = [p for p in self.groups if len(p.missing)]
        if not incomplete:
            return ()
        n_features = len(incomplete[0].observed) + len(incomplete[0].missing)
        size = max(1, _PATTERN_ELEMENTS // n_features**2)
        return tuple(
            PatternStack.stack(incomplete[start : start + size], n_features)
            for start in range(0, len(incomplete), size)
        )


def missing_patterns(X: np.ndarray) -> Patterns | None:
    """The missingness patterns of ``X`` (n, d), or None when no cell is NaN."""
    missing = np.isnan(X)
    return Patterns.from_mask(~missing) if missing.any() else None


# -- every pattern's Gaussians, as padded d x d matrices ----------------------------------------


def _distinct_covariances(params: MixtureParams) -> np.ndarray:
    """The components' covariances as full matrices (G, d, d): G = 1 when all K are equal
    (tied types), so that their marginals are factorised once instead of K times."""
    full = params.full_covariances
    return full[:1] if (full == full[0]).all() else full


def _padded(covariances: np.ndarray, observed: np.ndarray) -> np.ndarray:
    """Every pattern's ``S_oo`` padded by the identity, shape (P, G, d, d).

    ``covariances`` (G, d, d); ``observed`` (P, d) the patterns' masks. The result holds
    ``S`` where row and column are observed, 1 on the diagonal where they are missing and 0
    elsewhere (see the module docstring for why its factors are those of ``S_oo``).
    """
    both = observed[:, None, :, None] & observed[:, None, None, :]
    return np.where(both, covariances[None], np.eye(covariances.shape[-1]))


def _only(covariances: np.ndarray, rows: np.ndarray, columns: np.ndarray) -> np.ndarray:
    """``S`` in the given rows and columns of each pattern, 0 elsewhere, shape (P, G, d, d).

    ``rows`` and ``columns`` are (P, d) masks."""
    return np.where(rows[:, None, :, None] & columns[:, None, None, :], covariances[None], 0.0)


def _is_diagonal(covariances: np.ndarray) -> bool:
    """True when no covariance couples two coordinates (the diagonal and spherical types)."""
    diagonal = np.diagonal(covariances, axis1=-2, axis2=-1)
    return np.count_nonzero(covariances) == np.count_nonzero(diagonal)


def marginal_factors(
    covariances: np.ndarray, observed: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Precision factors of every pattern's observed marginal, padded, and their log-dets.

    The marginal of ``x_o`` under component k is ``N(mu_ko, S_koo)`` (Bishop, eq. 2.98).

    Parameters
    ----------
    covariances : ndarray of shape (G, d, d)
    observed : ndarray of bool, shape (P, d)

    Returns
    -------
    factors : ndarray of shape (P, G, d, d)
        Upper ``F`` with ``S_koo^-1 = F_oo F_oo^T`` in the observed rows and columns, the
        identity in the missing ones.
    log_det : ndarray of shape (P, G)
        ``log det F_oo`` (half the log-determinant of the marginal precision).
    """
    if _is_diagonal(covariances):
        # Independent coordinates: 1 / standard deviation, as the diagonal types' own factors.
        variances = np.diagonal(covariances, axis1=-2, axis2=-1)
        scales = np.where(observed[:, None, :], 1.0 / np.sqrt(np.maximum(variances, 1e-300)), 1.0)
        factors = scales[..., None] * np.eye(covariances.shape[-1])
    else:
        factors = _precision_factors(_padded(covariances, observed))
    return factors, np.log(np.diagonal(factors, axis1=-2, axis2=-1)).sum(axis=-1)


def _precision_factors(covariances: np.ndarray) -> np.ndarray:
    """Upper ``F = L^-T`` with ``inv(S) = F F^T``, ``L`` the Cholesky factor, for a stack.

    The full type's :meth:`~emcore.covariance.CovarianceModel.precisions_cholesky` computes
    the same, but inverts ``L`` by a general LU solve per matrix: for the hundreds of small
    matrices of a stack that cost 5 times the Cholesky factorisation itself.
    """
    try:
        lower = np.linalg.cholesky(covariances)
    except np.linalg.LinAlgError:  # rounding made one slightly indefinite: the type's repair
        return _FULL.precisions_cholesky(covariances, 0.0)
    return np.swapaxes(_inverse_lower(lower), -1, -2)


def _inverse_lower(lower: np.ndarray) -> np.ndarray:
    """Inverses of a stack of lower triangular matrices (..., d, d), by forward substitution
    vectorised over the stack: row j of ``X = L^-1`` is ``(e_j - L[j, :j] X[:j]) / L[j, j]``."""
    n_features = lower.shape[-1]
    inverse = np.zeros_like(lower)
    diagonal = np.diagonal(lower, axis1=-2, axis2=-1)
    for j in range(n_features):
        done = (lower[..., j : j + 1, :j] @ inverse[..., :j, :])[..., 0, :]
        inverse[..., j, :] = -done / diagonal[..., j, None]
        inverse[..., j, j] += 1.0 / diagonal[..., j]
    return inverse


def conditionals(
    covariances: np.ndarray, stack: PatternStack
) -> tuple[np.ndarray | None, np.ndarray]:
    """Every pattern's regression of its missing coordinates on its observed ones, padded.

    Parameters
    ----------
    covariances : ndarray of shape (G, d, d)
    stack : PatternStack
        Of P patterns.

    Returns
    -------
    gain : ndarray of shape (P, G, d, d), or None
        ``B_k^T = S_oo^-1 S_om`` in the observed rows and missing columns, 0 elsewhere: a
        row vector of deviations ``x_o - mu_ko`` (0 in the missing coordinates) times it
        is ``B_k (x_o - mu_ko)`` in the missing coordinates. None when ``B_k = 0``.
    conditional : ndarray of shape (P, G, d, d)
        ``C_k = S_mm - B_k S_om`` in the missing rows and columns, 0 elsewhere.
    """
    observed, missing = stack.observed, ~stack.observed
    within = _only(covariances, missing, missing)  # S_mm
    if _is_diagonal(covariances):  # S_om = 0: B = 0 and C = S_mm, nothing to solve
        return None, within
    cross = _only(covariances, observed, missing)  # S_om
    factors, _ = stack.factors(covariances)
    # With S_oo^-1 = F F^T and W = F^T S_om: B^T = F W and B S_om = W^T W.
    whitened = np.swapaxes(factors, -1, -2) @ cross
    conditional = within - np.swapaxes(whitened, -1, -2) @ whitened
    # Symmetric in exact arithmetic; rounding is made symmetric so it stays a covariance.
    return factors @ whitened, (conditional + np.swapaxes(conditional, -1, -2)) / 2


# -- E-step -------------------------------------------------------------------------------------


def marginal_distances(
    X: np.ndarray, params: MixtureParams, patterns: Patterns
) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
    """Mahalanobis distances of the rows with missing cells to their observed marginals.

    Complete rows are the caller's (the parameters' own factors serve them).

    Yields
    ------
    rows : ndarray of int, shape (b,)
    n_observed : ndarray of int, shape (b,)
        ``o``, each row's number of observed coordinates.
    distances : ndarray of shape (b, K)
        ``(x_io - mu_ko)^T S_koo^-1 (x_io - mu_ko)``, on differences.
    log_det : ndarray of shape (b, K)
        ``log det F`` of each row's marginal precision factor, so that
        ``log N(x_io | mu_ko, S_koo) = -(o log 2 pi + distances) / 2 + log_det``.
    """
    covariances, means = _distinct_covariances(params), params.means
    n_components, n_features = means.shape
    for stack in patterns.stacks:
        factors, log_det = stack.factors(covariances)
        for rows, index in stack.row_chunks(n_components * n_features * (n_features + 1)):
            observed = stack.observed[index]
            # 0 in the missing coordinates, so the padding's identity adds nothing.
            diff = np.where(observed[:, None, :], X[rows, None, :] - means, 0.0)  # (b, K, d)
            projected = _times(diff, factors, index)
            distances = np.einsum("bkd,bkd->bk", projected, projected)
            row_log_det = np.broadcast_to(log_det[index], distances.shape)
            yield rows, observed.sum(axis=1), distances, row_log_det


# -- M-step -------------------------------------------------------------------------------------


def expected_statistics(
    X: np.ndarray,
    weighted_resp: np.ndarray,
    nk: np.ndarray,
    previous: MixtureParams,
    patterns: Patterns,
) -> tuple[np.ndarray, np.ndarray]:
    """The M-step's means and expected scatter sums with missing values.

    Parameters
    ----------
    X : ndarray of shape (n, d)
        NaN where a cell is missing.
    weighted_resp : ndarray of shape (n, K)
        ``w_i r_ik``: responsibilities times the sample weights (if any).
    nk : ndarray of shape (K,)
        ``N_k = sum_i w_i r_ik``.
    previous : MixtureParams
        The parameters the responsibilities came from: the conditional expectations of the
        missing coordinates are taken under them.
    patterns : Patterns
        Of ``X``.

    Returns
    -------
    means : ndarray of shape (K, d)
        ``sum_i w_i r_ik x^_ik / N_k``.
    scatter : ndarray of shape (K, d, d)
        ``S_k = sum_i w_i r_ik [(x^_ik - mu_k)(x^_ik - mu_k)^T + C_ik]`` around these means
        (Ghahramani & Jordan, 1994, section 3; see the module docstring).
    """
    old_means = previous.means
    n_components, n_features = old_means.shape
    # B_k and C_k of every pattern under the previous parameters, from each stack's factors.
    covariances = _distinct_covariances(previous)
    stacks = [(stack, *conditionals(covariances, stack)) for stack in patterns.stacks]
    per_row = n_components * n_features * (n_features + 3)  # gathered gains, deviations
    complete = patterns.complete_rows
    x_complete, resp_complete = X[complete], weighted_resp[complete]
    sums = resp_complete.T @ x_complete
    for stack, gain, _ in stacks:
        # sum_i w r x^_ik = (sum_i w r) mu'_k + sum_i w r (x^_ik - mu'_k): only the
        # deviations need a pass over the rows.
        for rows, index in stack.row_chunks(per_row):
            deviations = _completed_deviations(
                X[rows], stack.observed[index], gain, index, old_means, old_means
            )
            sums += np.einsum("bk,bkd->kd", weighted_resp[rows], deviations)
        sums += weighted_resp[stack.rows].sum(axis=0)[:, None] * old_means
    means = sums / safe_counts(nk)[:, None]
    # The scatter is taken around the new means (a second pass, as the complete-data M-step).
    scatter = _centred_scatter(x_complete, resp_complete, means)
    for stack, gain, conditional in stacks:
        for rows, index in stack.row_chunks(per_row):
            deviations = _completed_deviations(
                X[rows], stack.observed[index], gain, index, old_means, means
            )
            weighted = deviations * weighted_resp[rows, :, None]
            scatter += np.matmul(weighted.transpose(1, 2, 0), deviations.transpose(1, 0, 2))
        # C_k is the same for all rows of a pattern: each pattern adds it times its total
        # responsibility.
        counts = np.add.reduceat(weighted_resp[stack.rows], stack.starts, axis=0)  # (P, K)
        scatter += (counts[:, :, None, None] * conditional).sum(axis=0)
    return means, scatter


def _completed_deviations(
    x: np.ndarray,
    observed: np.ndarray,
    gain: np.ndarray | None,
    index: np.ndarray,
    old_means: np.ndarray,
    centres: np.ndarray,
) -> np.ndarray:
    """``x^_ik - c_k``: rows completed by their conditional means, minus centres, (b, K, d).

    Parameters
    ----------
    x : ndarray of shape (b, d)
        The rows, NaN in their missing cells.
    observed : ndarray of bool, shape (b, d)
        Their masks.
    gain : ndarray of shape (P, G, d, d), or None
        The stack's :func:`conditionals` gains (None: ``B_k = 0``).
    index : ndarray of int, shape (b,)
        Each row's pattern in the stack.
    old_means, centres : ndarray of shape (K, d)
        ``mu'`` (the parameters the gains are of) and ``c``.

    That is ``(x^_ik - mu'_k) + (mu'_k - c_k)``, where ``x^_ik - mu'_k`` is ``x_o - mu'_ko``
    in the observed coordinates and ``B_k (x_o - mu'_ko)`` in the missing ones. Each term is
    a difference of nearby numbers, so with ``c = mu'`` (sums) or ``c = mu`` (scatter around
    the new means) data far from the origin lose no digits.
    """
    deviations = np.where(observed[:, None, :], x[:, None, :] - old_means, 0.0)
    if gain is not None:
        deviations += _times(deviations, gain, index)  # 0 in the observed coordinates
    if centres is not old_means:
        deviations += old_means - centres
    return deviations


def _times(vectors: np.ndarray, matrices: np.ndarray, index: np.ndarray) -> np.ndarray:
    """``vectors[i, k] @ matrices[index[i], k]`` for every row i and component k, (b, K, d).

    ``vectors`` (b, K, d); ``matrices`` (P, G, d, d) with G = 1 (shared by all components)
    or K; ``index`` (b,) ascending. Rows of one pattern take one product per component, on
    all rows at once; rows of several patterns each take their pattern's matrices.
    """
    if index[0] == index[-1]:
        return np.matmul(vectors.transpose(1, 0, 2), matrices[index[0]]).transpose(1, 0, 2)
    return np.matmul(vectors[:, :, None, :], matrices[index])[:, :, 0, :]


def _centred_scatter(x: np.ndarray, resp: np.ndarray, centres: np.ndarray) -> np.ndarray:
    """``sum_i r_ik (x_i - c_k)(x_i - c_k)^T`` of complete rows ``x`` (n, d), shape (K, d, d),
    in row blocks so the (rows, K, d) differences stay bounded in memory."""
    n_components, n_features = centres.shape
    scatter = np.zeros((n_components, n_features, n_features))
    for rows in row_blocks(len(x), n_components * n_features):
        diff = x[rows, None, :] - centres[None, :, :]  # (b, K, d)
        weighted = diff * resp[rows, :, None]
        scatter += np.matmul(weighted.transpose(1, 2, 0), diff.transpose(1, 0, 2))
    return scatter


# -- imputation ---------------------------------------------------------------------------------


def impute(
    X: np.ndarray, params: MixtureParams, resp: np.ndarray, patterns: Patterns | None
) -> np.ndarray:
    """``X`` with every missing cell replaced by its conditional mean, a new (n, d) array.

    ``E[x_m | x_o] = sum_k r_ik E[x_m | x_o, k] = sum_k r_ik (mu_km + B_k (x_o - mu_ko))``,
    the responsibilities ``resp`` (n, K) being those of the observed coordinates (the
    posterior probabilities of the components given ``x_o``).
    """
    filled = np.array(X, dtype=float)
    if patterns is None:
        return filled
    covariances, means = _distinct_covariances(params), params.means
    origin = np.zeros_like(means)
    n_components, n_features = means.shape
    for stack in patterns.stacks:
        gain, _ = conditionals(covariances, stack)
        for rows, index in stack.row_chunks(n_components * n_features * (n_features + 3)):
            observed = stack.observed[index]
            completed = _completed_deviations(X[rows], observed, gain, index, means, origin)
            mixed = np.einsum("bk,bkd->bd", resp[rows], completed)
            filled[rows] = np.where(observed, X[rows], mixed)
    return filled


def fill_column_means(X: np.ndarray, sample_weight: np.ndarray | None = None) -> np.ndarray:
    """``X`` with every NaN replaced by its column's (weighted) mean of observed cells.

    Only for starts and summaries, never for EM itself: filled cells sit at the centre, so
    the filled data's variances are too small along columns with many gaps.
    """
    missing = np.isnan(X)
    if not missing.any():
        return X
    means, _ = weighted_moments(X, sample_weight)
    return np.where(missing, means, X)
