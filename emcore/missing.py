"""Missing values: EM for Gaussian mixtures on data missing at random.

A NaN cell is a missing value. Following Ghahramani & Jordan (1994), "Supervised learning
from incomplete data via an EM approach" (NIPS 6), with data missing at random:

- **E-step.** Row i's responsibilities and log-likelihood come from the density of its
  observed coordinates ``o``: each component's marginal Gaussian ``N(x_o | mu_ko, S_koo)``
  (the rows and columns of ``o``), mixed with the weights. The observed-data log-likelihood
  ``sum_i w_i log sum_k pi_k N(x_io | mu_ko, S_koo)`` is what EM then never decreases.
- **M-step.** The expected complete-data sums under the previous parameters. Given ``x_o``
  and component k, the missing coordinates ``m`` are Gaussian with mean
  ``E[x_m | x_o, k] = mu_km + B_k (x_o - mu_ko)`` and covariance ``C_k`` (the covariance
  type's :meth:`~emcore.covariance.CovarianceModel.conditional`: ``B_k = S_mo S_oo^-1`` and
  the Schur complement ``C_k = S_mm - S_mo S_oo^-1 S_om`` for full and tied matrices,
  ``B_k = 0`` and ``C_k`` the missing coordinates' variances for diag and spherical). With
  ``x^_ik`` the row completed by those means,

      N_k = sum_i w_i r_ik,     mu_k = sum_i w_i r_ik x^_ik / N_k,
      S_k = sum_i w_i r_ik [(x^_ik - mu_k)(x^_ik - mu_k)^T + C_ik],

  ``C_ik`` being ``C_k`` in the rows and columns of row i's missing coordinates, zero
  elsewhere; the covariance type turns ``S_k`` into its own estimate
  (:meth:`~emcore.covariance.CovarianceModel.from_scatter`).

**Patterns.** Rows are grouped by which coordinates they observe (:class:`Patterns`); all the
work above is one batched computation per pattern (patterns are few in practice; at most
``min(n, 2^d)``), never a loop over rows. Within a pattern ``B_k`` and ``C_k`` are the same for
every row and the completed rows are linear in ``x_o``, so the M-step needs only the pattern's
weighted sums and scatter of ``x_o`` around each component's mean: no ``(n, K, d)`` array of
completed rows is made.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from emcore.covariance import row_blocks, safe_counts, weighted_moments
from emcore.params import MixtureParams


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


def missing_patterns(X: np.ndarray) -> Patterns | None:
    """The missingness patterns of ``X`` (n, d), or None when no cell is NaN."""
    missing = np.isnan(X)
    return Patterns.from_mask(~missing) if missing.any() else None


def marginal_params(params: MixtureParams, observed: np.ndarray) -> MixtureParams:
    """The mixture of the marginal Gaussians of the coordinates ``observed`` (o,).

    Weights unchanged; means and covariances restricted to those coordinates (Bishop,
    *Pattern Recognition and Machine Learning*, eq. 2.98), with their own precision factors.
    The parameters themselves when every coordinate is observed.
    """
    if len(observed) == params.n_features:
        return params
    model = params.model
    return MixtureParams.from_covariances(
        params.weights,
        params.means[:, observed],
        model.marginal(params.covariances, observed),
        model.name,
    )


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
    model, n_components = previous.model, previous.n_components
    # B_k and C_k of every pattern, under the previous parameters: one solve per pattern.
    conditionals = [
        model.conditional(previous.covariances, n_components, p.observed, p.missing)
        for p in patterns
    ]
    old_means = previous.means
    sums = np.zeros(old_means.shape)
    for pattern, (regression, _) in zip(patterns, conditionals, strict=True):
        sums += _expected_sums(X, weighted_resp, old_means, pattern, regression)
    means = sums / safe_counts(nk)[:, None]
    # The scatter is taken around the new means (a second pass, as the complete-data M-step).
    scatter = np.zeros((n_components, old_means.shape[1], old_means.shape[1]))
    for pattern, (regression, conditional) in zip(patterns, conditionals, strict=True):
        scatter += _expected_scatter(
            X, weighted_resp, old_means, means, pattern, regression, conditional
        )
    return means, scatter


def _expected_sums(
    X: np.ndarray,
    weighted_resp: np.ndarray,
    old_means: np.ndarray,
    pattern: Pattern,
    regression: np.ndarray,
) -> np.ndarray:
    """``sum_i w_i r_ik x^_ik`` over one pattern's rows, shape (K, d)."""
    o, m = pattern.observed, pattern.missing
    x = X[np.ix_(pattern.rows, o)]
    resp = weighted_resp[pattern.rows]
    sums = np.empty(old_means.shape)
    sums[:, o] = resp.T @ x
    if len(m):
        # E[x_m | x_o, k] is linear in x_o: its sum needs only sum_i w_i r_ik (x_io - mu_ko),
        # taken on differences so data far from the origin lose no digits.
        centred, _ = _centred_moments(x, resp, old_means[:, o], second=False)
        counts = resp.sum(axis=0)
        regressed = np.einsum("kmo,ko->km", regression, centred)
        sums[:, m] = counts[:, None] * old_means[:, m] + regressed
    return sums


def _expected_scatter(
    X: np.ndarray,
    weighted_resp: np.ndarray,
    old_means: np.ndarray,
    means: np.ndarray,
    pattern: Pattern,
    regression: np.ndarray,
    conditional: np.ndarray,
) -> np.ndarray:
    """``sum_i w_i r_ik [(x^_ik - mu_k)(x^_ik - mu_k)^T + C_ik]`` over one pattern, (K, d, d).

    With ``a_ik = x_io - mu_ko`` (new means), the completed row's missing part is
    ``x^_ikm - mu_km = B_k a_ik + t_k`` where ``t_k = mu'_km - mu_km + B_k (mu_ko - mu'_ko)``
    (``mu'`` the previous means), so every block follows from ``sum w r a`` and
    ``sum w r a a^T``, which are taken on differences.
    """
    o, m = pattern.observed, pattern.missing
    x = X[np.ix_(pattern.rows, o)]
    resp = weighted_resp[pattern.rows]
    first, second = _centred_moments(x, resp, means[:, o])
    n_components, n_features = means.shape
    scatter = np.zeros((n_components, n_features, n_features))
    scatter[:, o[:, None], o] = second
    if not len(m):
        return scatter
    counts = resp.sum(axis=0)
    shift = old_means[:, m] - means[:, m]
    shift += np.einsum("kmo,ko->km", regression, means[:, o] - old_means[:, o])
    regressed = np.einsum("kmo,ko->km", regression, first)  # sum w r B a
    cross = regression @ second + shift[:, :, None] * first[:, None, :]  # (K, m, o)
    scatter[:, m[:, None], o] = cross
    scatter[:, o[:, None], m] = np.swapaxes(cross, 1, 2)
    outer = regressed[:, :, None] * shift[:, None, :]
    scatter[:, m[:, None], m] = (
        regression @ second @ np.swapaxes(regression, 1, 2)
        + outer
        + np.swapaxes(outer, 1, 2)
        + counts[:, None, None] * (shift[:, :, None] * shift[:, None, :] + conditional)
    )
    return scatter


def _centred_moments(
    x: np.ndarray, resp: np.ndarray, centres: np.ndarray, second: bool = True
) -> tuple[np.ndarray, np.ndarray | None]:
    """``sum_i r_ik (x_i - c_k)`` (K, o) and, if asked, ``sum_i r_ik (x_i - c_k)(x_i - c_k)^T``
    (K, o, o), in row blocks so the (rows, K, o) differences stay bounded in memory."""
    n_components, n_features = centres.shape
    first = np.zeros((n_components, n_features))
    scatter = np.zeros((n_components, n_features, n_features)) if second else None
    for rows in row_blocks(len(x), n_components * max(n_features, 1)):
        diff = x[rows, None, :] - centres[None, :, :]  # (b, K, o)
        weighted = diff * resp[rows, :, None]
        first += weighted.sum(axis=0)
        if second:
            scatter += np.matmul(weighted.transpose(1, 2, 0), diff.transpose(1, 0, 2))
    return first, scatter


def impute(
    X: np.ndarray, params: MixtureParams, resp: np.ndarray, patterns: Patterns | None
) -> np.ndarray:
    """``X`` with every missing cell replaced by its conditional mean, a new (n, d) array.

    ``E[x_m | x_o] = sum_k r_ik E[x_m | x_o, k] = sum_k r_ik (mu_km + B_k (x_o - mu_ko))``,
    the responsibilities ``resp`` (n, K) being those of the observed coordinates (the
    posterior probabilities of the components given ``x_o``).
    """
    filled = np.array(X, dtype=float)
    for pattern in () if patterns is None else patterns:
        if not len(pattern.missing):
            continue
        regression, _ = params.model.conditional(
            params.covariances, params.n_components, pattern.observed, pattern.missing
        )
        x = X[np.ix_(pattern.rows, pattern.observed)]
        filled[np.ix_(pattern.rows, pattern.missing)] = _mixed_conditional_means(
            x, resp[pattern.rows], params.means, pattern, regression
        )
    return filled


def _mixed_conditional_means(
    x: np.ndarray,
    resp: np.ndarray,
    means: np.ndarray,
    pattern: Pattern,
    regression: np.ndarray,
) -> np.ndarray:
    """``sum_k r_ik (mu_km + B_k (x_io - mu_ko))`` for one pattern's rows, shape (n_p, m)."""
    o, m = pattern.observed, pattern.missing
    result = resp @ means[:, m]
    width = len(means) * max(len(o), len(m), 1)
    for rows in row_blocks(len(x), width):
        diff = x[rows, None, :] - means[None, :, o]  # (b, K, o)
        regressed = np.einsum("kmo,bko->bkm", regression, diff)
        result[rows] += np.einsum("bk,bkm->bm", resp[rows], regressed)
    return result


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
