"""Exact EM on Dask arrays: out of core, on a cluster (issue 16).

``GaussianMixture(...).fit(X)`` with ``X`` a ``dask.array.Array`` runs here. Every EM iteration
is one pass of tasks over the row chunks:

1. each chunk computes its sufficient statistics with :func:`emcore.fast.chunk_moments`, the
   function the in-memory fast path runs on its own chunks: the counts, first and second
   moments ``sum_i w_i r_ik phi(x_i - c)`` around ONE global centre ``c`` (the data's weighted
   column mean, computed once) and the chunk's log-likelihood;
2. Dask tree-reduces them (``map_blocks`` then ``sum(split_every=...)``): a few numbers per
   component and feature, never anything of size n x K, never the data;
3. the small M-step runs on the client with :class:`emcore.fast.MomentSpace`, the same code
   as :class:`emcore.fast.FastEM` (the covariance models' own statistics and M-steps).

So the same start gives the same fit as in memory, to rounding (the sums are added in
another order). The stopping rule and the events are :class:`emcore.engine.EM`'s.

Where the fused moments lose their digits for tied covariances (EEE, the one model whose
quadratic term is shared by all components, :attr:`emcore.fast._Features.shared_quadratic`:
clusters hundreds of their widths apart, see :mod:`emcore.fast`), the in-memory fast path
runs the reference steps, and so does this engine, over the chunks: the E-step is
:func:`emcore.steps.e_step` on every chunk (the difference form), tree-reducing the
log-likelihood, ``N_k`` and ``sum_i w_i r_ik x_i``; the M-step takes the new means from
those sums, then one more pass for the scatter around them in the covariance model's
statistic (``CovarianceModel.scatter_statistic``, a sum over rows), and ends with the
model's own ``estimate_from`` and :func:`emcore.steps.assemble_params`, as
:func:`emcore.steps.m_step` does. Such an iteration reads the data twice (three times when
the fused E-step came first and its moments proved too coarse); the choice is made again at
every E-step, so the fused passes resume when the parameters allow.

Works with Dask's default (threaded) scheduler and with a ``distributed.Client`` (whatever
scheduler is active when :meth:`DaskEM.run` computes). The data are read once per
iteration (twice in the fallback above; plus two passes for the centre and the data's scale
at the start): data that are generated or read lazily are regenerated or read again each
time (out of core); on a cluster whose memory holds them, ``X = X.persist()`` first.

Data: chunks split across columns are rechunked to whole rows; NaN or infinite cells raise a
``ValueError`` naming the chunk's rows (``missing="em"`` is not available on Dask arrays);
``sample_weight`` may be a NumPy array or a Dask array (rechunked like ``X``'s rows).
Dask is an optional dependency: ``pip install emcore[dask]``.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from emcore.covariance import REGULARIZATIONS, effective_reg, safe_counts, scale_from_moments
from emcore.engine import EM, _check_run_settings, singular_from_statistics
from emcore.fast import (
    FLOAT64,
    MomentSpace,
    Pass,
    _single_threaded_blas,
    check_dtype,
    chunk_moments,
    pass_dtype,
)
from emcore.init import initial_params
from emcore.missing import missing_patterns
from emcore.params import MixtureParams, check_params
from emcore.steps import assemble_params, e_step, empty_components, total_log_likelihood
from emcore.validation import (
    ALL_ZERO_WEIGHTS,
    COMPLEX_REFUSED,
    LARGEST_MAGNITUDE,
    SMALLEST_MAGNITUDE,
    check_choice,
    check_column_scale,
    check_missing,
    check_positive,
    check_shape,
    check_weight_shape,
    check_weight_total,
    check_weight_values,
    refuse_dates,
)

# Partial sums added per task of the reduction tree.
SPLIT_EVERY = 8
# Rows drawn (chunk-wise, without replacement) for the k-means, k-means++, random and hc starts.
START_SAMPLE = 4000

MISSING_EM_REFUSED = (
    "missing='em' is not available on Dask arrays: EM with missing values runs in memory "
    "(compute the array first), or drop or impute the rows."
)
INSTALL_HINT = (
    "Dask is an optional dependency of emcore: install it with `pip install emcore[dask]` "
    "(or pass a NumPy array)."
)


def looks_like_dask(X: object) -> bool:
    """True for a Dask array (without importing Dask for anything else).

    Raises
    ------
    ImportError
        If ``X`` looks like a Dask collection (it has ``.chunks`` and ``.compute``) but Dask
        cannot be imported, with a sentence saying how to install it.
    """
    if getattr(X, "chunks", None) is None or not hasattr(X, "compute"):
        return False
    try:
        import dask.array as da
    except ImportError:
        raise ImportError(
            f"X looks like a Dask array ({type(X).__name__}) but Dask is not installed. "
            + INSTALL_HINT
        ) from None
    return isinstance(X, da.Array)


# -- data ---------------------------------------------------------------------------------------


def from_npy(path: str | Path, chunk_rows: int = 1_000_000) -> Any:
    """A ``.npy`` file of shape (n, d) as a dask array of row chunks, each read from a memory
    map by its own task and copied (only the chunks being worked on are in memory).

    ``dask.array.from_array(np.load(path, mmap_mode="r"))`` kept a copy of every chunk here:
    fitting a 1,280 MB file that way peaked at 1,420 MB of the process's own memory, against
    a few chunks with this reader (``bench/bench_dask.py``, section 4b).

    Raises
    ------
    ValueError
        If the file does not hold a two-dimensional array.
    """
    import dask.array as da

    path = str(path)
    mapped = np.load(path, mmap_mode="r")
    if mapped.ndim != 2:
        raise ValueError(
            f"{path} holds an array of shape {mapped.shape}; expected (rows, columns)."
        )
    n, d = mapped.shape
    dtype = mapped.dtype
    del mapped
    chunk_rows = max(1, int(chunk_rows))
    rows = tuple(min(chunk_rows, n - start) for start in range(0, n, chunk_rows))

    def read(block_info=None):
        start, stop = block_info[None]["array-location"][0]
        return np.array(np.load(path, mmap_mode="r")[start:stop])

    return da.map_blocks(read, chunks=(rows, (d,)), dtype=dtype, meta=np.empty((0, d), dtype))


def prepare(
    X: Any, sample_weight: Any, n_features: int | None = None, min_samples: int = 1
) -> tuple[Any, Any]:
    """``X`` as float64 chunked by whole rows, and the weights as a Dask column (n, 1) chunked
    like ``X``'s rows (or None). Lazy: nothing is computed.

    The shape is checked by the in-memory checks' own code (:func:`emcore.validation.
    check_shape`: 2-D, rows and columns, at least ``min_samples`` rows; the weights one per
    row), so both engines refuse the same data with the same sentence.
    """
    import dask.array as da

    if X.ndim == 2 and any(np.isnan(size) for size in X.chunks[0]):
        raise ValueError(
            "X's row chunk sizes are unknown; call X.compute_chunk_sizes() (or build it with "
            "known chunks) first."
        )
    check_shape(X.shape, min_samples)
    refuse_dates(X)  # the sentence every entry point gives
    if X.dtype.kind == "c":
        raise ValueError(COMPLEX_REFUSED)
    if X.dtype.kind not in "biuf":
        raise ValueError(f"X must hold numbers; got a Dask array of dtype {X.dtype}.")
    if n_features is not None and X.shape[1] != n_features:
        raise ValueError(
            f"X has {X.shape[1]} features, but the model was fitted with {n_features}."
        )
    if len(X.chunks[1]) > 1:  # chunks split across columns: each task needs whole rows
        X = X.rechunk({1: -1})
    X = X.astype(np.float64)
    if sample_weight is None:
        return X, None
    if not isinstance(sample_weight, da.Array):
        sample_weight = da.from_array(np.asarray(sample_weight, dtype=np.float64))
    check_weight_shape(sample_weight.shape, X.shape[0])
    sample_weight = sample_weight.astype(np.float64).rechunk((X.chunks[0],))
    return X, sample_weight[:, None]


def _location(block_info: dict | None) -> tuple[int, int]:
    """The first row and one past the last of the block a task works on."""
    if not block_info:
        return 0, 0
    return tuple(block_info[0]["array-location"][0])


def _check_block(x: np.ndarray, w: np.ndarray | None, start: int, missing: str = "error") -> None:
    """A chunk's cells must be finite (NaN allowed with ``missing="em"``), its weights valid."""
    stop = start + len(x)
    bad = np.isinf(x) if missing == "em" else ~np.isfinite(x)
    if bad.any():
        row = start + int(np.flatnonzero(bad.any(axis=1))[0])
        what = "infinite" if missing == "em" else "NaN or infinite"
        raise ValueError(
            f"X has {what} values in the chunk of rows {start} to {stop - 1} (first at row "
            f"{row}). EM on Dask arrays needs complete rows: drop or impute them first "
            "(missing='em' runs in memory only)."
        )
    if np.abs(x).max(initial=0.0, where=~np.isnan(x)) > LARGEST_MAGNITUDE:
        row = start + int(np.flatnonzero((np.abs(x) > LARGEST_MAGNITUDE).any(axis=1))[0])
        raise ValueError(
            f"X has values beyond 10^100 in the chunk of rows {start} to {stop - 1} (first at "
            f"row {row}): their squares leave the range of floating-point numbers, so "
            "variances and densities cannot be computed. Rescale those columns (for example "
            "to other units) or drop the rows."
        )
    if w is not None:  # as in memory; a chunk's total is at most the whole's
        check_weight_values(w, start, whole=False)


def _block_summary(x, *w, origin, block_info=None):
    """The data's one pass: ``[sum w, rows of positive weight, sum w (x - o),
    sum w (x - o)(x - o)^T, per column: cells not 0, cells of at least 10^-100]`` of a
    chunk around a provisional origin ``o``, flat; the chunk is checked first. The counts
    find the columns :func:`emcore.validation.check_column_scale` refuses (every value
    below 10^-100, not all 0), which only the whole data can tell."""
    weights = w[0][:, 0] if w else None
    _check_block(x, weights, _location(block_info)[0])
    centred = x - origin
    if weights is None:
        totals = [len(x), len(x)]
        weighted = centred
    else:
        totals = [weights.sum(), np.count_nonzero(weights)]
        weighted = centred * weights[:, None]
    magnitude = np.abs(x)
    scales = [(magnitude > 0).sum(axis=0), (magnitude >= SMALLEST_MAGNITUDE).sum(axis=0)]
    moments = [weighted.sum(axis=0), (weighted.T @ centred).ravel()]
    return np.concatenate([totals, *moments, *scales])[None, :]


def _block_pass(x, *w, plan, model, centre):
    """An iteration's pass: ``[log-likelihood, moments]`` of a chunk, flat."""
    log_likelihood, moments = chunk_moments(x, w[0][:, 0] if w else None, plan, model, centre)
    return np.concatenate([[log_likelihood], moments.ravel()])[None, :]


def _weighted_resp(x, w, params) -> tuple[Any, np.ndarray]:
    """:func:`emcore.steps.e_step` of a chunk and its responsibilities times the weights."""
    estep = e_step(x, params)
    weights = w[0][:, 0] if w else None
    return estep, (estep.resp if weights is None else estep.resp * weights[:, None])


def _block_reference_counts(x, *w, params):
    """The reference E-step of a chunk: ``[sum_i w_i log p(x_i), N_k, sum_i w_i r_ik x_i]``,
    flat (the log-likelihood and what the new means need)."""
    estep, weighted = _weighted_resp(x, w, params)
    log_likelihood = total_log_likelihood(estep.log_prob, w[0][:, 0] if w else None)
    sums = weighted.T @ x
    return np.concatenate([[log_likelihood], weighted.sum(axis=0), sums.ravel()])[None, :]


def _block_reference_scatter(x, *w, params, means):
    """The covariance model's statistic of a chunk's scatter around the new ``means``,
    ``sum_i w_i r_ik (x_i - mu_k)(x_i - mu_k)^T`` in the model's shape, flat (computed on
    differences, as :func:`emcore.steps.m_step`; it is a sum over rows, so chunks add up)."""
    _, weighted = _weighted_resp(x, w, params)
    return params.model.scatter_statistic(x, weighted, means).ravel()[None, :]


def reference_scatter(X: Any, weights: Any, params: MixtureParams, means: np.ndarray) -> np.ndarray:
    """One pass over the chunks: the covariance model's statistic ``W_k`` of the scatter
    around ``means`` (K, d) under ``params``' responsibilities, in the model's shape (see
    :meth:`emcore.covariance.CovarianceModel.scatter_statistic`). ``X`` and ``weights`` as
    :func:`prepare` returns them."""
    model, K = params.model, params.n_components
    # The statistic's shape, whatever the model (zero rows: nothing computed).
    shape = model.scatter_statistic(means[:0], np.empty((0, K)), means).shape
    flat = _reduce(
        X, weights, _block_reference_scatter, int(np.prod(shape)), params=params, means=means
    )
    return flat.reshape(shape)


def m_step_statistics(X: Any, weights: Any, params: MixtureParams) -> tuple[np.ndarray, np.ndarray]:
    """The next M-step's sufficient statistics of ``params`` over the chunks, two passes:
    ``(W_k, N_k)``, the model's scatter statistic and the counts (K,), as
    :func:`emcore.engine.singular_from_statistics` takes them (select_model judges a Dask
    cell's fit by them, as a fit in memory by its responsibilities). ``X`` and ``weights``
    as :func:`prepare` returns them."""
    K, d = params.n_components, params.n_features
    flat = _reduce(X, weights, _block_reference_counts, 1 + K + K * d, params=params)
    nk, sums = flat[1 : 1 + K], flat[1 + K :].reshape(K, d)
    means = sums / safe_counts(nk)[:, None]
    return reference_scatter(X, weights, params, means), nk


def _reduce(X: Any, weights: Any, function, size: int, **kwargs: Any) -> np.ndarray:
    """``function`` on every chunk (each returns (1, size)), tree-summed, computed."""
    arrays = (X,) if weights is None else (X, weights)
    parts = X.map_blocks(
        function,
        *arrays[1:],
        chunks=((1,) * X.numblocks[0], (size,)),
        dtype=np.float64,
        **kwargs,
    )
    # Held for the whole pass: on the threaded scheduler the chunks run in this process, and
    # switching BLAS's threads off and on around every chunk made a pass several times slower.
    with _single_threaded_blas():
        return parts.sum(axis=0, split_every=SPLIT_EVERY).compute()


@dataclass(frozen=True)
class DataSummary:
    """What EM needs of the data as a whole, from two passes over the chunks."""

    total_weight: float  # n = sum_i w_i
    point_unit: float  # the mean positive weight (1 without weights)
    counted_rows: int  # rows of positive weight
    centre: np.ndarray  # (d,) the weighted column means (as computed from chunk sums)
    data_moment: np.ndarray  # (d, d) sum_i w_i (x_i - c)(x_i - c)^T
    column_variances: np.ndarray  # (d,)
    scale: float  # emcore.covariance.data_scale


def summarise(X: Any, weights: Any) -> DataSummary:
    """One tree-reduced pass: the weighted means and the second moments around them.

    The sums are taken around a provisional origin, the mean of the first chunk's rows (one
    chunk read), and shifted to the weighted mean exactly: ``S_m = S_o - n d d^T`` with
    ``d = m - o``. The origin is near the data (far from the axes' origin, data at 1e8 lose
    no digits), and a first chunk several spreads from the mean costs at most a digit or
    two of the moment. One pass instead of two: the fixed cost of a fit on a cluster is
    mostly passes. Checks every chunk on the way (NaN, infinite values, bad weights raise a
    ValueError naming the chunk's rows).
    """
    d = X.shape[1]
    first_rows = X.chunks[0][0]
    with warnings.catch_warnings():  # NaN in the first chunk is reported by the pass itself
        warnings.simplefilter("ignore", RuntimeWarning)
        origin = np.asarray(X[:first_rows].mean(axis=0).compute(), dtype=np.float64)
    origin = np.where(np.isfinite(origin), origin, 0.0)
    sums = _reduce(X, weights, _block_summary, 2 + d + d * d + 2 * d, origin=origin)
    total, counted = float(sums[0]), int(sums[1] + 0.5)
    if total <= 0:
        raise ValueError(ALL_ZERO_WEIGHTS)
    check_weight_total(total)
    _check_column_scale(X, sums[-2 * d :].reshape(2, d))
    shift = sums[2 : 2 + d] / total
    centre = origin + shift
    moment = sums[2 + d : 2 + d + d * d].reshape(d, d) - total * np.outer(shift, shift)
    moment = (moment + moment.T) / 2
    variances = np.maximum(np.diag(moment) / total, 0.0)
    scale = scale_from_moments(centre, variances)
    return DataSummary(
        total_weight=total,
        point_unit=total / counted if weights is not None else 1.0,
        counted_rows=counted,
        centre=centre,
        data_moment=moment,
        column_variances=variances,
        scale=scale,
    )


def _check_column_scale(X: Any, counts: np.ndarray) -> None:
    """:func:`emcore.validation.check_column_scale` from the pass's counts (2, d): cells not
    0 and cells of at least 10^-100 per column. Only a column it refuses costs one more pass
    (for its largest value, which the sentence names)."""
    tiny = (counts[0] > 0) & (counts[1] == 0)
    if tiny.any():
        largest = np.zeros(X.shape[1])
        largest[tiny] = abs(X[:, np.flatnonzero(tiny)]).max(axis=0).compute()
        check_column_scale(largest)


# -- starts -------------------------------------------------------------------------------------


def _block_sample(x, w, count, seed):
    """``count`` rows of a chunk drawn without replacement (with their weights), in order."""
    rng = np.random.default_rng(seed)
    rows = np.sort(rng.choice(len(x), size=count, replace=False))
    return x[rows], (None if w is None else w[rows, 0])


def sample_rows(X: Any, weights: Any, size: int, seed: int) -> tuple[np.ndarray, np.ndarray | None]:
    """At most ``size`` rows drawn uniformly without replacement, chunk by chunk (all rows
    when there are no more), with their weights, as NumPy arrays."""
    import dask

    sizes = np.array(X.chunks[0], dtype=np.int64)
    blocks = X.to_delayed().ravel()
    weight_blocks = [None] * len(blocks) if weights is None else weights.to_delayed().ravel()
    if sizes.sum() <= size:
        counts = sizes
    else:  # how many rows each chunk gives: one multivariate hypergeometric draw
        counts = np.random.default_rng(seed).multivariate_hypergeometric(sizes, size)
    tasks = [
        dask.delayed(_block_sample, pure=True)(block, w, int(count), [seed, index])
        for index, (block, w, count) in enumerate(zip(blocks, weight_blocks, counts, strict=True))
        if count > 0
    ]
    parts = dask.compute(*tasks)
    rows = np.concatenate([part[0] for part in parts])
    drawn_weights = None if weights is None else np.concatenate([part[1] for part in parts])
    return rows, drawn_weights


def initial_params_dask(
    X: Any,
    n_components: int,
    covariance_type: str,
    method: str,
    random_state: Any,
    reg_covar: float,
    weights_init: Any = None,
    means_init: Any = None,
    precisions_init: Any = None,
    regularization: str = "floor",
    sample_weight: Any = None,
    sample_size: int = START_SAMPLE,
) -> MixtureParams:
    """:func:`emcore.init.initial_params` (the same arguments, ``X`` prepared by :func:`prepare`,
    ``sample_weight`` its (n, 1) column) on ``sample_size`` rows drawn chunk-wise (all rows of
    smaller data, so the start is then the in-memory one); user-given ``weights_init``,
    ``means_init`` and ``precisions_init`` together need no rows at all."""
    if weights_init is not None and means_init is not None and precisions_init is not None:
        # Nothing is measured on the data: a stand-in of the right width suffices.
        sample, sample_weight = np.zeros((n_components, X.shape[1])), None
    else:
        seed = 0  # all rows of small data: the start is the in-memory one
        if X.shape[0] > sample_size:
            rng = random_state
            if not (hasattr(rng, "integers") or hasattr(rng, "randint")):  # None or a seed
                rng = np.random.default_rng(rng)
            draw = rng.integers if hasattr(rng, "integers") else rng.randint
            seed = int(draw(np.iinfo(np.int32).max))
        sample, sample_weight = sample_rows(X, sample_weight, sample_size, seed)
    return initial_params(
        sample,
        n_components,
        covariance_type,
        method,
        random_state,
        reg_covar,
        weights_init,
        means_init,
        precisions_init,
        regularization,
        sample_weight=sample_weight,
    )


# -- the run ------------------------------------------------------------------------------------


@dataclass(eq=False)
class DaskEM(EM):
    """:class:`emcore.engine.EM` on a Dask array: the same states, events and stopping rule,
    each iteration one tree-reduced pass over the chunks (see the module docstring).

    ``X`` is a ``dask.array.Array`` (chunks split across columns are rechunked to whole
    rows), ``sample_weight`` None, a NumPy array or a Dask array. Only ``record="none"``
    (nothing of size n is kept) and ``missing="error"``; :meth:`run` is the way to iterate
    (``e_step``, ``m_step``, ``step`` and ``reseed`` need the rows in memory). After a run,
    ``resp`` and ``estep`` are None: predict lazily with
    :func:`lazy_e_step` instead. ``summary`` is the data's :func:`summarise` if the caller
    has it (runs from several starts share it), else computed here (two passes).
    """

    summary: DataSummary | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        check_params(self.params)  # before anything reads its shapes, as EM does
        if self.record != "none":
            raise ValueError("EM on a Dask array keeps no history: use record='none'.")
        if check_missing(self.missing) != "error":
            raise ValueError(MISSING_EM_REFUSED)
        self.X, self.sample_weight = prepare(self.X, self.sample_weight, self.params.n_features)
        self.reg_covar = check_positive("reg_covar", self.reg_covar)
        self.tol = check_positive("tol", self.tol)
        _check_run_settings(self.max_iter, self.record, self.history_limit, self.collapse_patience)
        check_choice("regularization", self.regularization, REGULARIZATIONS)
        if self.summary is None:
            self.summary = summarise(self.X, self.sample_weight)
        if self.summary.counted_rows < self.params.n_components:
            raise ValueError(
                f"Expected rows of positive sample_weight >= n_components but got "
                f"n_components = {self.params.n_components}, rows of positive sample_weight "
                f"= {self.summary.counted_rows}. Use fewer components."
            )
        self._patterns = None
        self.n_samples = self.summary.total_weight
        self._data_variance = self.summary.scale
        self._reg = effective_reg(
            None, self.reg_covar, self.regularization, scale=self._data_variance
        )
        self._space = MomentSpace(
            self.params.model,
            self.params.n_features,
            self.summary.centre,
            self._reg,
            self.regularization,
            self.summary.point_unit,
            data_moment=self.summary.data_moment,
        )
        self._current: Pass | _ReferencePass | None = None
        self._collapsed: set[int] = set()
        self._collapsed_for = 0
        self._resting_checks = 0
        self._compared_from = 0
        self._column_variances = None
        self._record(resp=None, events=self._degeneracy_events(None))

    @property
    def column_variances(self) -> np.ndarray:
        """The data's (weighted) variance per column."""
        return self.summary.column_variances

    def e_step(self):
        raise NotImplementedError("On a Dask array, iterate with run().")

    m_step = step = e_step

    def reseed(self, component, rng=None):
        raise NotImplementedError("Re-seeding needs the rows in memory.")

    def run(self, max_iter=None, callback=None, *, dtype=np.float64) -> DaskEM:
        """Iterate until converged or ``max_iter`` more iterations; returns self.

        ``dtype=np.float32`` runs the chunks' passes in single precision (as
        :class:`emcore.fast.FastEM`).
        """
        if callback is not None:
            raise ValueError("EM on a Dask array takes no callback.")
        self._dtype = pass_dtype(check_dtype(dtype), self._data_variance)
        target = self.iteration + self._budget(max_iter)
        self._refuse_not_finite()  # a run stopped on NaN has nothing left to evaluate
        # BLAS on one thread for the whole run, the client's M-steps included (as
        # :meth:`emcore.engine.EM.run`'s fused runs).
        with _single_threaded_blas():
            if self.stage == "start":
                self._current = self._evaluate()
            while not self.finished and self.iteration < target:
                previous = self.params
                self.params = self._m_step(self._current, previous)
                self.iteration += 1
                self.stage = "M"
                self._record(resp=None, events=self._degeneracy_events(previous))
                self._current = self._evaluate()
        self._refuse_not_finite()  # NaN is a sentence, never a fit (as EM.run)
        return self

    # -- passes ----------------------------------------------------------------------------------

    def _pass(self, plan) -> tuple[float, np.ndarray, np.ndarray]:
        """One pass of tasks: the log-likelihood (tied: less the shared term), moments, origins."""
        size = 1 + len(plan.order) * self._space.width
        flat = _reduce(
            self.X,
            self.sample_weight,
            _block_pass,
            size,
            plan=plan,
            model=self._space.model,
            centre=self._space.centre,
        )
        partial = flat[1:].reshape(len(plan.order), self._space.width)
        moments, origins = self._space.moments_and_origins(plan, partial, self.params.n_components)
        return float(flat[0]), moments, origins

    def _evaluate(self) -> Pass | _ReferencePass:
        """The E-step: the log-likelihood of the current parameters and the next moments
        (as :meth:`emcore.fast.FastEM.e_step`).

        Tied covariances too tight for the fused moments even in float64 (clusters hundreds
        of their widths apart) get the reference E-step on every chunk instead, as in memory.
        The choice is made afresh for every E-step, as :class:`emcore.fast.FastEM` makes it:
        the fused passes resume as soon as the parameters allow them (no state to keep).
        """
        space, params, dtype = self._space, self.params, self._dtype
        if space.features.shared_quadratic and space.tight(params, dtype).any():
            dtype = FLOAT64
        if space.features.shared_quadratic and space.tight(params, dtype).any():
            current = self._reference_pass(params)
        else:
            plan = space.plan(params, dtype)
            log_likelihood, moments, origins = self._pass(plan)
            log_likelihood += space.shared_quadratic(params)
            current = Pass(log_likelihood, moments=moments, origins=origins, dtype=plan.dtype)
        self.log_likelihoods.append(current.log_likelihood)
        self.stage = "E"
        events = self._convergence_events()
        events += self._floor_judged(lambda: self._singular_estimate(current))
        self._record(resp=None, events=events)
        return current

    def _singular_estimate(self, current: Pass | _ReferencePass) -> np.ndarray:
        """:func:`emcore.engine.singular_from_statistics` of the next M-step's statistics:
        the pass's moments' (no extra pass), or the reference's scatter (one pass)."""
        params = self.params
        if isinstance(current, _ReferencePass):
            means = current.sums / safe_counts(current.nk)[:, None]
            statistic, nk = self._reference_scatter(params, means), current.nk
        else:
            statistic, nk, _ = self._space.statistics(current.moments, current.origins)
        return singular_from_statistics(
            params, statistic, nk, self.summary.column_variances, self._reg
        )

    def _m_step(self, current: Pass | _ReferencePass, previous: MixtureParams) -> MixtureParams:
        """:meth:`emcore.fast.FastEM.m_step` with its extra passes as Dask tasks: where the
        fused moments lost their digits, the reference M-step (:meth:`_reference_m_step`)."""
        if isinstance(current, _ReferencePass):
            return self._reference_m_step(previous, current)
        space = self._space
        params = space.params_from_moments(current.moments, current.origins, previous)
        inaccurate = space.moved(params, current.dtype, current.origins)
        if not inaccurate.any():
            return params
        if not space.features.shared_quadratic:
            forced = dict(zip(np.flatnonzero(inaccurate), params.means[inaccurate], strict=True))
            _, moments, origins = self._pass(space.plan(previous, FLOAT64, forced))
            params = space.params_from_moments(moments, origins, previous)
            if not space.moved(params, FLOAT64, origins).any():
                return params
        return self._reference_m_step(previous)

    # -- the reference steps over the chunks ------------------------------------------------------

    def _reference_pass(self, params: MixtureParams) -> _ReferencePass:
        """:func:`emcore.steps.e_step` on every chunk, in its difference form: the
        log-likelihood ``sum_i w_i log p(x_i)`` (the fused passes' quantity), ``N_k`` and
        ``sum_i w_i r_ik x_i``, tree-reduced."""
        K, d = params.n_components, params.n_features
        flat = _reduce(
            self.X, self.sample_weight, _block_reference_counts, 1 + K + K * d, params=params
        )
        return _ReferencePass(float(flat[0]), flat[1 : 1 + K], flat[1 + K :].reshape(K, d))

    def _reference_m_step(
        self, previous: MixtureParams, current: _ReferencePass | None = None
    ) -> MixtureParams:
        """:func:`emcore.steps.m_step` over the chunks, from ``current`` (the reference E-step
        of ``previous``; made here, one pass, if None): the new means from its sums, then one
        pass for the scatter around them in the covariance model's statistic, then the
        model's own M-step (``estimate_from``) and the reference's rule for empty components
        (:func:`emcore.steps.assemble_params`): nothing of the M-step is redone here."""
        if current is None:
            current = self._reference_pass(previous)
        model, nk = previous.model, current.nk
        empty = empty_components(nk, self.summary.point_unit)
        means = current.sums / safe_counts(nk)[:, None]
        statistic = self._reference_scatter(previous, means)
        covariances = model.estimate_from(
            statistic, nk, self._reg, self.regularization, previous.covariances
        )
        return assemble_params(nk, means, covariances, model, self._reg, previous, empty)

    def _reference_scatter(self, params: MixtureParams, means: np.ndarray) -> np.ndarray:
        """One pass: the covariance model's statistic of the scatter around ``means`` under
        ``params``' responsibilities."""
        return reference_scatter(self.X, self.sample_weight, params, means)


@dataclass(frozen=True, eq=False)
class _ReferencePass:
    """An E-step by the reference steps over the chunks (see :meth:`DaskEM._evaluate`)."""

    log_likelihood: float  # sum_i w_i log p(x_i)
    nk: np.ndarray  # (K,) N_k = sum_i w_i r_ik
    sums: np.ndarray  # (K, d) sum_i w_i r_ik x_i


# -- lazy predictions ---------------------------------------------------------------------------


def _block_e_step(x, params, kind, missing, block_info=None):
    _check_block(x, None, _location(block_info)[0], missing)
    estep = e_step(x, params, missing_patterns(x) if missing == "em" else None)
    if kind == "labels":
        return estep.log_resp.argmax(axis=1)
    if kind == "proba":
        return estep.resp
    return estep.log_prob


def lazy_e_step(X: Any, params: MixtureParams, kind: str, missing: str = "error") -> Any:
    """A lazy Dask array of ``kind``: "labels" (n,), "proba" (n, K) or "log_prob" (n,).

    Each chunk runs :func:`emcore.steps.e_step` (as the in-memory predictions do); with
    ``missing="em"`` NaN cells are marginalised as in memory.
    """
    X, _ = prepare(X, None, params.n_features)
    if kind == "proba":
        return X.map_blocks(
            _block_e_step,
            params=params,
            kind=kind,
            missing=missing,
            chunks=(X.chunks[0], (params.n_components,)),
            dtype=np.float64,
        )
    return X.map_blocks(
        _block_e_step,
        params=params,
        kind=kind,
        missing=missing,
        drop_axis=1,
        dtype=np.int64 if kind == "labels" else np.float64,
    )


def _block_weighted_total(log_prob, *w, block_info=None):
    weights = w[0] if w else None
    if weights is not None:
        _check_block(np.zeros((len(weights), 0)), weights[:, None], _location(block_info)[0])
        total = [log_prob @ weights, weights.sum()]
    else:
        total = [log_prob.sum(), len(log_prob)]
    return np.array(total)[None, :]


def weighted_total(log_prob: Any, sample_weight: Any) -> tuple[float, float]:
    """``sum_i w_i log p(x_i)`` and ``n = sum_i w_i``, computed (one tree-reduced pass)."""
    import dask.array as da

    if sample_weight is None:
        arrays = (log_prob,)
    else:
        if not isinstance(sample_weight, da.Array):
            sample_weight = da.from_array(np.asarray(sample_weight, dtype=np.float64))
        check_weight_shape(sample_weight.shape, log_prob.shape[0])
        arrays = (log_prob, sample_weight.astype(np.float64).rechunk(log_prob.chunks))
    parts = da.map_blocks(
        _block_weighted_total,
        *arrays,
        chunks=((1,) * log_prob.numblocks[0], (2,)),
        new_axis=1,
        dtype=np.float64,
    )
    total, n = parts.sum(axis=0, split_every=SPLIT_EVERY).compute()
    if n <= 0:
        raise ValueError(ALL_ZERO_WEIGHTS)
    return float(total), float(n)
