"""Model selection: choose the number of components and the covariance model by BIC, AIC or ICL.

:func:`select_model` fits every (covariance model, K) cell of a table, the way R's mclust
does with ``mclustBIC``, and returns a :class:`ModelSelection` holding a tidy table of the
fits, the chosen model and mclust-style views of the results (:meth:`ModelSelection.pivot`
lays the table out as mclust prints it, :meth:`ModelSelection.summary` reads like mclust's
``summary(mclustBIC)``).

**Models.** mclust's 14 covariance models (EII, VII, EEI, VEI, EVI, VVI, EEE, VEE, EVE, VVE,
EEV, VEV, EVV, VVV; ``covariance_types="all"``, the default) or any of them by name, and
scikit-learn's names for four of them: spherical = VII, diag = VVI, tied = EEE, full = VVV.

**Sign convention: lower is better**, as in scikit-learn::

    BIC = -2 log L + p ln n        AIC = -2 log L + 2 p        ICL = BIC + 2 E

where log L is the total log-likelihood, p the number of free parameters, n the number of
samples and ``E = -sum_i sum_k r_ik log r_ik >= 0`` the entropy of the responsibilities (so
ICL >= BIC, with equality when every point belongs to one component for sure). mclust reports
BIC and ICL with the opposite sign (higher is better): its BIC is minus ours, so mclust's
"BIC = -2314.32" for Old Faithful is our 2314.32. Every value in the table and in
:meth:`ModelSelection.pivot` keeps emcore's sign unless ``mclust_sign=True`` asks for mclust's.
mclust's ICL also uses hard labels, ``-2 sum_i log max_k r_ik``, in place of E; that term is
never larger than E, so mclust's ICL (with its sign flipped) lies between our BIC and our ICL.

**Starts.** As mclust: by default every cell starts once, from model-based hierarchical
agglomeration (``init_params="hc"``) computed once per table and cut at every K; every model
starts from that partition with its own M-step. ``n_init`` > 1 adds ``n_init - 1`` k-means
starts per cell (the best fit is kept), so a cell can be better than mclust's, never worse
than its hc start. ``init_params`` can also name one of :class:`emcore.GaussianMixture`'s
methods to use it alone (``"kmeans"``: ``n_init`` k-means starts), or ``"hc+METHOD"`` for
the hc start plus ``n_init - 1`` starts of that method. k-means partitions, like hc's, are
computed once per K and shared by every model.

**Cells that cannot be fitted.** A fit in which a component lost all its points or collapsed
onto a point, line or plane (a singular covariance, held up only by ``reg_covar``) is
``"degenerate"``: its log-likelihood is inflated by the near-singular density, not earned.
mclust reports such cells as NA; :meth:`ModelSelection.pivot` shows them as NaN too, and they
are never chosen. Among a cell's starts, a degenerate fit never wins over a sound one. A start
whose component has stayed collapsed for :data:`COLLAPSE_PATIENCE` iterations, or rests on
``reg_covar`` at two checks in a row (see :class:`emcore.engine.EM`'s ``collapse_patience``),
stops there (mclust stops at the first singular covariance) instead of climbing on until
``max_iter``. When no
cell is usable nothing is chosen (``best`` is None) and :meth:`ModelSelection.summary` says so.
"""

from __future__ import annotations

import math
import numbers
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import pandas as pd
from sklearn.exceptions import ConvergenceWarning
from threadpoolctl import threadpool_limits

from emcore import covariance as _covariance
from emcore.covariance import (
    COVARIANCE_TYPES,
    REGULARIZATIONS,
    constant_columns,
    covariance_model,
    data_scale,
    effective_reg,
    scale_from_moments,
    weighted_moments,
)
from emcore.engine import (
    EM,
    singular_components,
    singular_estimate,
    singular_from_statistics,
    standardised_smallest_variances,
)
from emcore.hc import HierarchicalTree, hc_tree, init_from_tree
from emcore.init import (
    INIT_METHODS,
    as_generator,
    canonical_order,
    check_random_state,
    initial_params,
    quantile_classes,
    seeded_random_state,
    standardise,
)
from emcore.lockstep import LOCKSTEP_MAX_ELEMENTS, run_together
from emcore.missing import fill_column_means
from emcore.params import MixtureParams
from emcore.sklearn_api import MIN_FIT_SAMPLES, GaussianMixture
from emcore.steps import total_log_likelihood, unchecked_m_step
from emcore.validation import (
    check_choice,
    check_data,
    check_missing,
    check_n_components,
    check_observed_columns,
    check_sample_weight,
)

CRITERIA: tuple[str, ...] = ("bic", "aic", "icl")

ALL_MODELS = "all"

# mclust's order of its 14 models (its BIC table's columns); emcore.covariance has it too.
MCLUST_ORDER: tuple[str, ...] = (
    "EII",
    "VII",
    "EEI",
    "VEI",
    "EVI",
    "VVI",
    "EEE",
    "VEE",
    "EVE",
    "VVE",
    "EEV",
    "VEV",
    "EVV",
    "VVV",
)

HC = "hc"

# A component's smallest variance, in units of the data's own variance along that direction
# and after removing reg_covar, below which it has collapsed onto a point, line or plane.
# Measured in standardised units so a feature with a small scale does not look collapsed.
COLLAPSE_FRACTION = 1e-8

# A start stops once a component has stayed collapsed this many iterations (EM's
# collapse_patience): mclust stops at the first singular covariance and reports NA, where a
# start floored by reg_covar would climb on towards unbounded likelihood until max_iter. On
# wide data (60 x 50, EVE) that was 1.8 s per iteration for 1,000 iterations per start.
# Measured on iris and Old Faithful: no start whose component collapsed ever recovered.
COLLAPSE_PATIENCE = 5

TABLE_COLUMNS: tuple[str, ...] = (
    "covariance_type",
    "mclust_name",
    "n_components",
    "log_likelihood",
    "n_parameters",
    "bic",
    "aic",
    "icl",
    "converged",
    "n_iter",
    "status",
    "note",
    "best",
    "start",
)

ProgressCallback = Callable[[int, int, str], None]
ModelKey = tuple[str, int]


@dataclass(frozen=True)
class BestModel:
    """The model a criterion chose.

    Attributes
    ----------
    covariance_type : str
        emcore's name: scikit-learn's ("full", "tied", "diag", "spherical") for those four
        models, mclust's for the others ("VEV", ...).
    mclust_name : str
        The same model in mclust's notation ("VVV", "EEE", "VVI", "VII", "VEV", ...).
    n_components : int
    criterion : str
        "bic", "aic" or "icl".
    value : float
        The criterion's value, lower is better (mclust's sign is the opposite).
    """

    covariance_type: str
    mclust_name: str
    n_components: int
    criterion: str
    value: float

    @property
    def label(self) -> str:
        plural = "" if self.n_components == 1 else "s"
        return (
            f"{_model_label(self.covariance_type, self.mclust_name)} with "
            f"{self.n_components} component{plural}"
        )


@dataclass
class ModelSelection:
    """The result of :func:`select_model`.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per (covariance_type, n_components) with the columns ``covariance_type``,
        ``mclust_name``, ``n_components``, ``log_likelihood`` (total over samples),
        ``n_parameters``, ``bic``, ``aic``, ``icl`` (lower is better), ``converged``,
        ``n_iter``, ``status``, ``note``, ``best`` and ``start`` (the start the kept fit came
        from: ``"hc"``, ``"kmeans 2"``, ...). ``status`` is "ok", "degenerate" (a component
        lost all its points or collapsed: NA in mclust's table and in :meth:`pivot`, never
        chosen; its numbers are kept here for the record, ``note`` says what happened),
        "failed" (every start raised; criteria are NaN, ``note`` says why) or "skipped" (more
        components than samples).
    criterion : str
        The criterion used to choose.
    best : BestModel or None
        None when no fit is "ok" (:meth:`summary` then says why).
    best_model : GaussianMixture or None
        The fitted estimator of the best row.
    models : dict
        Every fitted estimator keyed by ``(covariance_type, n_components)`` when
        ``keep_models=True``; otherwise only the best one.
    n_samples : int or float
        The number of samples, BIC's n: the rows, or the sum of the sample weights.
    n_init : int
        Starts per cell (the hc start counts as one).
    notes : tuple of str
        Plain-language warnings about the data itself (constant or collinear columns, fewer
        distinct points than components) that explain degenerate fits.
    init_params : str
        How the cells were started.
    """

    table: pd.DataFrame
    criterion: str
    best: BestModel | None
    best_model: GaussianMixture | None
    models: dict[ModelKey, GaussianMixture] = field(default_factory=dict, repr=False)
    n_samples: float = 0
    n_init: int = 1
    notes: tuple[str, ...] = ()
    init_params: str = HC

    def pivot(
        self,
        criterion: str | None = None,
        mclust_names: bool = False,
        *,
        mclust_sign: bool = False,
        include_degenerate: bool = False,
    ) -> pd.DataFrame:
        """A wide table like mclust's BIC table: one row per K, one column per model.

        Parameters
        ----------
        criterion : {"bic", "aic", "icl", "log_likelihood"} or None
            Defaults to the criterion the selection used.
        mclust_names : bool
            mclust's layout: columns labelled EII, VII, ... VVV and in mclust's order (the
            models that were fitted only). Otherwise emcore's names in the order asked for.
        mclust_sign : bool
            Negate the criteria (not the log-likelihood) to read mclust's numbers: its BIC
            is minus ours, higher is better.
        include_degenerate : bool
            Show degenerate fits' values instead of NaN.

        Returns
        -------
        pandas.DataFrame
            Index ``n_components``; NaN where mclust prints NA: a fit that is degenerate (a
            component emptied or collapsed), failed or was skipped. Values keep emcore's sign
            (lower is better) unless ``mclust_sign=True``.
        """
        column = _check_criterion(criterion or self.criterion, extra=("log_likelihood",))
        shown = ("ok", "degenerate") if include_degenerate else ("ok",)
        values = self.table[column].astype(float).where(self.table["status"].isin(shown))
        if mclust_sign and column != "log_likelihood":
            values = -values
        names = "mclust_name" if mclust_names else "covariance_type"
        order = list(dict.fromkeys(self.table[names]))
        if mclust_names:
            order.sort(key=_mclust_rank)
        frame = self.table.assign(**{column: values})
        wide = frame.pivot(index="n_components", columns=names, values=column)
        wide = wide.reindex(columns=order)
        wide.columns.name = None
        return wide

    def ranking(self, criterion: str | None = None) -> pd.DataFrame:
        """The rows that can be chosen ("ok" fits with a finite value), best first."""
        column = _check_criterion(criterion or self.criterion)
        return _eligible(self.table, column).sort_values(column, kind="stable")

    def summary(self, top: int = 3) -> str:
        """Plain lines like mclust's ``summary(mclustBIC)``: the choice, the ``top`` models
        (a whole number of at least 1) and their differences from the best, what could not
        be fitted, notes about the data."""
        if isinstance(top, bool) or not isinstance(top, numbers.Integral) or top < 1:
            raise ValueError(f"top must be a whole number of at least 1; got {top!r}.")
        name = self.criterion.upper()
        if self.best is None:
            return "\n".join([self._nothing_chosen(), self._counts(), *self.notes])
        ranking = self.ranking()
        value = self.best.value
        lines = [
            f"Best model by {name}: {self.best.label}, {name} = {_number(value, 1)} "
            f"(lower is better; mclust's sign is the opposite: {_number(-value, 1)}).",
            f"Top {min(top, len(ranking))} models based on the {name} criterion "
            f"(emcore's sign, lower is better; {name} diff: how much worse than the best):",
            _top_table(ranking.head(top), self.criterion),
        ]
        if self.criterion == "bic":
            lines.extend(_lead_line(ranking))
        lines.append(self._counts())
        lines.extend(self.notes)
        return "\n".join(lines)

    def _nothing_chosen(self) -> str:
        """Why no model was chosen, in one line that names every kind of unusable cell
        (degenerate, failed, skipped, or "ok" without a finite criterion) that occurred."""
        name = self.criterion.upper()
        table = self.table
        status = table["status"]
        fitted = int((status != "skipped").sum())
        if fitted == 0:
            return f"No model could be chosen by {name}: {_skipped(table, True)}."
        failed = table[status == "failed"]
        if len(failed) == fitted:
            reasons = [f"every fit failed. {_failures(failed)}"]
        else:
            none = f"none of the {fitted} fits is" if fitted > 1 else "the only fit is not"
            reasons = [f"{none} usable."]
            reasons.extend(_unusable(table, name))
            if len(failed):
                reasons.append(_failures(failed))
        if (status == "skipped").any():
            reasons.append(f"{_skipped(table, False)}.")
        return f"No model could be chosen by {name}: " + " ".join(reasons)

    def _counts(self) -> str:
        statuses = self.table["status"].value_counts()
        pairs = dict.fromkeys(
            zip(self.table["covariance_type"], self.table["mclust_name"], strict=True)
        )
        if len(pairs) == len(MCLUST_ORDER):
            types = f"all {len(pairs)} models"
        else:
            types = ", ".join(_model_label(name, mclust) for name, mclust in pairs)
        ks = sorted(set(self.table["n_components"]))
        starts = "start" if self.n_init == 1 else "starts"
        return (
            f"Fitted {statuses.get('ok', 0) + statuses.get('degenerate', 0)} models "
            f"({types}; K = {_ranges(ks)}; {self.n_init} {starts} each, "
            f"init_params={self.init_params!r}; n = {self.n_samples:g}): "
            f"{statuses.get('degenerate', 0)} degenerate (NA, never chosen), "
            f"{statuses.get('failed', 0)} failed, {statuses.get('skipped', 0)} skipped."
        )


def select_model(
    X,
    n_components: int | Iterable[int] = range(1, 10),
    covariance_types: str | Sequence[str] = ALL_MODELS,
    criterion: str = "bic",
    *,
    n_init: int = 2,
    random_state: int | np.random.RandomState | None = 0,
    tol: float = 1e-5,
    max_iter: int = 1000,
    reg_covar: float = 1e-8,
    init_params: str = HC,
    regularization: str = "floor",
    keep_models: bool = False,
    progress: ProgressCallback | None = None,
    sample_weight=None,
    missing: str = "error",
    n_jobs: int | None = None,
) -> ModelSelection:
    """Fit every (covariance model, K) and choose the model with the lowest criterion.

    Sign convention: lower is better for BIC, AIC and ICL, as in scikit-learn
    (``BIC = -2 log L + p ln n``). mclust reports BIC with the opposite sign: its BIC is minus
    ours, so mclust's "BIC = -2314.3" is our 2314.3.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        A DataFrame is kept as is for the chosen estimator, so it knows its column names.
    n_components : int or iterable of int, default=range(1, 10)
        An int ``Kmax`` means ``1..Kmax``. K larger than the number of samples is skipped.
    covariance_types : "all", a model name, or a sequence of names, default="all"
        ``"all"`` is mclust's 14 models in mclust's order. Names are mclust's ("EII" ...
        "VVV") or scikit-learn's for four of them ("spherical" = VII, "diag" = VVI,
        "tied" = EEE, "full" = VVV); a model named twice is fitted once. On one column
        the 14 are only two models, equal or variable variance, so ``"all"`` fits EII and
        VII (mclust's "E" and "V").
    criterion : {"bic", "aic", "icl"}, default="bic"
    n_init : int, default=2
        Starts per cell; the fit with the highest log-likelihood among those that are not
        degenerate is kept. With ``init_params="hc"`` the first start is the hierarchical
        agglomeration's and the others are k-means starts. mclust makes the hc start only;
        the one k-means start after it is what makes every cell of mclust's iris and Old
        Faithful tables at least as good as mclust's: from the same hc start, iris VVE,5
        ends 34 BIC units worse than mclust's (EM with an exact VVE M-step and mclust's
        inexact one take different paths; on VVE,3 the same difference favours emcore by
        48), and k-means reaches it.
    random_state : int, RandomState or None, default=0
        Seeds the k-means (and other random) starts. An int seeds every K alike, so a cell's
        result does not depend on the rest of the grid.
    tol : float, default=1e-5
        Convergence threshold on the mean log-likelihood per sample. Tighter than the
        estimator's 1e-3 because criteria compare total log-likelihoods: 1e-3 per sample can
        shift a BIC by several units on a few hundred points. mclust stops at a relative
        change of 1e-5 (``|l_new - l_old| / (1 + |l_new|)``), which depends on the data's
        units; 1e-5 per sample is about as tight for iris and 4x tighter for Old Faithful,
        and every cell of both tables is at least as good as mclust's (tests). Measured on
        both tables' 252 cells, 1e-6 takes 1.5 times the iterations and changes the median
        cell by 0.007 BIC units, 90% by less than 0.08, but 5% by 3 to 22 units: slow climbs
        that the tighter rule follows further. Pass ``tol=1e-6`` for those.
    max_iter : int, default=1000
    reg_covar : float, default=1e-8
        With ``regularization="floor"`` the covariances' eigenvalues are kept at least
        ``reg_covar`` times the data's smallest column variance (so no column is squeezed by
        another's units: see :func:`emcore.covariance.data_scale`). Lower than the
        estimator's 1e-6,
        as mclust has no floor at all: with 1e-6, three clusters of standard deviation 0.03
        placed across +-100 sat on the floor (their variance is 1e-7 of the data's), every
        K = 3 cell was degenerate and EEI,2 was chosen; 1e-8 chooses EII,3. The iris and Old
        Faithful tables are the same with either (measured).
    init_params : str, default="hc"
        ``"hc"``: hierarchical agglomeration, computed once and cut at every K, then
        ``n_init - 1`` k-means starts; ``"hc+METHOD"``: the same with ``n_init - 1`` starts
        of METHOD; or one of :class:`emcore.GaussianMixture`'s methods ("kmeans",
        "k-means++", "random_from_data", "random") for ``n_init`` starts of it alone.
    regularization : {"floor", "add"}, default="floor"
        How ``reg_covar`` keeps covariances invertible (see :class:`emcore.EM`). ``"floor"``
        only raises eigenvalues below ``reg_covar`` times the data's smallest column variance:
        every
        fit that is not degenerate is the exact maximum-likelihood fit, as mclust's.
    keep_models : bool, default=False
        Keep every fitted estimator in ``.models``, not only the best one.
    progress : callable ``(done, total, label) -> None``, optional
        Called once after every cell (failed ones included) with ``done`` = 1..total;
        skipped cells are not counted in ``total``.
    sample_weight : array-like of shape (n_samples,), optional
        Frequency weights, passed to every fit (see :class:`emcore.GaussianMixture`). The
        log-likelihood is ``sum_i w_i log p(x_i)``, the entropy in ICL is weighted alike, and
        BIC's n is ``sum_i w_i``: integer weights give the table of the repeated rows. Rows
        of weight 0 count nowhere (not in the data notes either).
    missing : {"error", "em"}, default="error"
        ``"em"`` fits data with NaN cells (values missing at random, see
        :class:`emcore.GaussianMixture`): log-likelihoods are those of each row's observed
        coordinates, the parameter counts are unchanged and n is still the number of rows
        (or the sum of the weights). Starts are made from the data with each gap filled by
        its column's mean. ``"error"`` refuses NaN.

    n_jobs : int or None, default=None
        Worker processes fitting the table's K in parallel (joblib's, as scikit-learn's
        ``n_jobs``: None or 1 fits in this process, -1 uses every core). Each K's cells are
        one task, so more than ``len(n_components)`` workers do not help. The table is the
        same whatever ``n_jobs``. Worker processes take about a second to start the first
        time; joblib keeps them for the calls that follow. Not used on Dask arrays, whose
        own scheduler runs the chunks in parallel.

    A ``dask.array.Array`` (chunked by rows, with ``sample_weight`` a dask array or None) is
    fitted on Dask: every cell is a :class:`GaussianMixture` whose passes run as tasks over
    the chunks, its starts made on a sample of rows; ICL and ``missing="em"`` are refused
    (they need every row's responsibilities or the rows in memory), and a cell is checked
    for collapse on its fitted covariances only (see :func:`degeneracy`).

    Returns
    -------
    ModelSelection
        Failed and degenerate fits are marked in ``.table["status"]``; they never raise and
        are never chosen. ``best`` is None when no fit is "ok".

    Raises
    ------
    ValueError
        For invalid arguments or data (NaN, wrong shape), not for fits that go wrong.
    """
    _check_n_jobs(n_jobs)
    if progress is not None and not callable(progress):
        raise ValueError(
            f"progress must be a function called as progress(done, total, label); got {progress!r}."
        )
    if _is_dask(X):
        return _select_on_dask(
            X,
            sample_weight,
            n_components,
            covariance_types,
            criterion,
            progress,
            {
                "n_init": n_init,
                "random_state": random_state,
                "tol": tol,
                "max_iter": max_iter,
                "reg_covar": reg_covar,
                "init_params": init_params,
                "regularization": regularization,
                "missing": missing,
            },
        )
    # At least two rows, as every fit (GaussianMixture's, and a table on Dask) asks.
    data = check_data(X, missing=check_missing(missing), min_samples=MIN_FIT_SAMPLES)
    weights = check_sample_weight(sample_weight, len(data))
    if np.isnan(data).any():  # said once here, not as a failed row for every fit
        check_observed_columns(data, weights)
    counted = data if weights is None else data[weights > 0]
    criterion = _check_criterion(criterion)
    types = model_names(covariance_types)
    if data.shape[1] == 1 and covariance_types == ALL_MODELS:
        # On a line every model is equal (E) or variable (V) variance: mclust fits "E" and
        # "V" there, and so does this table, as EII and VII.
        types = [name for name in types if name in (model_names("EII")[0], "spherical")]
    ks = _component_grid(n_components)
    hc_first, method = _parse_init(init_params)
    settings = {
        "n_init": n_init,
        "random_state": random_state,
        "tol": tol,
        "max_iter": max_iter,
        "reg_covar": reg_covar,
        "init_params": init_params,
        "regularization": regularization,
        "missing": missing,
    }
    _check_settings(data, settings, method)
    context = _Context.of(data, weights, settings)
    fitted_ks = [k for k in ks if k <= len(counted)]
    total = len(types) * len(fitted_ks)
    rows, runs, done, leader = [], {}, 0, None
    for k in ks:
        if k > len(counted):
            note = _skip_note(k, len(counted))
            rows.extend(_empty_row(name, k, data.shape[1], "skipped", note) for name in types)
    order = _TableOrder(types, ks)
    # The grid runs many small k-means starts; on a busy machine their OpenMP threads wait on
    # each other far longer than they compute (measured: 9 s instead of 1.2 s for Old
    # Faithful on 2 shared cores). One thread is never much slower for such sizes.
    with threadpool_limits(limits=1, user_api="openmp"), warnings.catch_warnings():
        # k-means with more clusters than distinct points, EM that stops at max_iter: the
        # table says what happened ("converged", "status"), a warning per cell would not.
        warnings.simplefilter("ignore", ConvergenceWarning)
        starts, start_notes = _starts(
            data, fitted_ks, hc_first, method, n_init, random_state, weights
        )
        task = _KTask(context, types, criterion, keep_models, order)
        for cells in _map_ks(task, [(k, starts[k]) for k in fitted_ks], n_jobs):
            for name, k, row, run in cells:
                rows.append(row)
                # Runs hold (n, K) responsibilities: only the best so far is kept, unless
                # every model is asked for.
                if run is not None and (keep_models or order.better(row, criterion, leader)):
                    if not keep_models:
                        runs.clear()
                        leader = row
                    runs[(name, k)] = run
                done += 1
                if progress is not None:
                    progress(done, total, _pair_label(name, k))
    rows.sort(key=order.key)  # the table in the order asked for: models, then K
    lost = start_notes + _lost_start_notes(rows)
    selection = _assemble(rows, criterion, context.n_samples, n_init)
    selection.init_params = init_params
    best = selection.best
    best_key = None if best is None else (best.covariance_type, best.n_components)
    # Estimators are made only for the fits kept (each validates X again).
    kept = runs if keep_models else {key: runs[key] for key in [best_key] if key is not None}
    selection.models = {key: _estimator(X, key, run, settings) for key, run in kept.items()}
    selection.best_model = None if best_key is None else selection.models[best_key]
    selection.notes = data_notes(counted, max(ks)) + _weight_notes(weights) + lost
    return selection


# A row's starts that raised while another start fitted it: (start, reason) pairs.
LOST_STARTS = "lost_starts"


def _lost_start_notes(rows: list[dict]) -> tuple[str, ...]:
    """Notes naming every start that raised in a cell another start fitted, by start and
    reason (without them the ``start`` column would show "kmeans 2" under
    ``init_params='hc'`` and nothing would say why)."""
    failures: dict[tuple[str, str], list[str]] = {}
    for row in rows:
        for start, error in row.get(LOST_STARTS, ()):
            cell = _pair_label(row["covariance_type"], row["n_components"])
            failures.setdefault((start, error), []).append(cell)
    notes = []
    for (start, error), cells in failures.items():
        shown = ", ".join(cells[:6]) + (f" and {len(cells) - 6} more" if len(cells) > 6 else "")
        count = f"{len(cells)} cell" + ("s" if len(cells) > 1 else "")
        notes.append(
            f"The '{start}' start failed in {count} ({shown}) that another start fitted: "
            f"{error}. The start column names the start each cell kept."
        )
    return tuple(notes)


def _weight_notes(weights: np.ndarray | None) -> tuple[str, ...]:
    """A note when frequency weights sum to less than the rows they weigh: BIC's n is their
    sum, so its penalty log(n) per parameter shrinks (and below n = 1 rewards parameters)."""
    if weights is None:
        return ()
    total, rows = float(weights.sum()), int((weights > 0).sum())
    if total >= rows:
        return ()
    reward = " (below 1, log n < 0 rewards them)" if total < 1 else ""
    return (
        f"The weights sum to {total:.3g}, less than the {rows} rows they weigh: BIC and ICL "
        f"take n = {total:.3g}, so they charge each parameter log n = {math.log(total):.2f}"
        f"{reward} instead of the {math.log(rows):.2f} of the rows themselves. Weights are "
        "frequencies: give each row its number of copies.",
    )


# -- a table on Dask ----------------------------------------------------------------------------


def _is_dask(X) -> bool:
    from emcore.sklearn_api import _is_dask as looks_like_dask

    return looks_like_dask(X)


def _select_on_dask(
    X,
    sample_weight,
    n_components: int | Iterable[int],
    covariance_types: str | Sequence[str],
    criterion: str,
    progress: ProgressCallback | None,
    settings: dict,
) -> ModelSelection:
    """:func:`select_model` for a ``dask.array.Array``: every cell is a
    :class:`GaussianMixture` fitted on Dask (its passes run as tasks over the chunks, see
    :mod:`emcore.dask_engine`), from the hierarchical agglomeration of a sample of rows and
    ``n_init - 1`` k-means starts (also on a sample), and its criteria computed on Dask.
    Nothing of size n x K is gathered, so the responsibilities' entropy (ICL) is not
    available: ``criterion="icl"`` is refused with a sentence.
    """
    if settings["missing"] != "error":
        raise ValueError("missing='em' runs in memory only; compute the dask array first.")
    criterion = _check_criterion(criterion)
    if criterion == "icl":
        raise ValueError(
            "ICL needs every row's responsibilities, which a table on Dask does not gather; "
            "use criterion='bic' or 'aic'."
        )
    hc_first, method = _parse_init(settings["init_params"])
    types, ks = model_names(covariance_types), _component_grid(n_components)
    from emcore.dask_engine import prepare

    data = prepare(X, sample_weight, min_samples=MIN_FIT_SAMPLES)  # as in memory
    means, variances = _dask_moments(*data)
    settings = {**settings, "means": means, "variances": variances, "data": data}
    rows, models, done = [], {}, 0
    n_features = X.shape[1]
    for name in types:
        for k in ks:
            fitted = _fit_dask_cell(X, sample_weight, name, k, hc_first, method, settings)
            if isinstance(fitted, str):  # every start raised: the first one's reason
                rows.append(_empty_row(name, k, n_features, "failed", fitted))
            else:
                row, model = fitted
                rows.append(row)
                models[(name, k)] = model
            done += 1
            if progress is not None:
                progress(done, len(types) * len(ks), _pair_label(name, k))
    n_samples = float(X.shape[0] if sample_weight is None else sample_weight.sum().compute())
    selection = _assemble(rows, criterion, n_samples, settings["n_init"])
    selection.init_params = settings["init_params"]
    best = selection.best
    best_key = None if best is None else (best.covariance_type, best.n_components)
    selection.models = {best_key: models[best_key]} if best_key is not None else {}
    selection.best_model = None if best_key is None else models[best_key]
    selection.notes = _lost_start_notes(rows)
    return selection


def _dask_moments(X, weights) -> tuple[np.ndarray, np.ndarray]:
    """The data's (weighted) column means and variances, shape (d,) each, from the Dask
    engine's own first pass, which checks every chunk (NaN, infinite or huge values, bad
    weights): bad data are a ValueError here, before any cell, as in memory, not a table
    of failed cells."""
    from emcore.dask_engine import summarise

    summary = summarise(X, weights)
    return summary.centre, summary.column_variances


def _fit_dask_cell(X, sample_weight, name, k, hc_first, method, settings):
    """The best of one cell's starts on Dask, as (row, fitted estimator), or, if every
    start raised, the first one's reason."""
    starts = [("hc", 1)] if hc_first else []
    extra = settings["n_init"] - len(starts)
    if extra > 0:
        starts.append((method, extra))
    best, errors = None, []
    for init, count in starts:
        model = GaussianMixture(
            k,
            covariance_type=name,
            tol=settings["tol"],
            reg_covar=settings["reg_covar"],
            max_iter=settings["max_iter"],
            n_init=count,
            init_params=init,
            random_state=settings["random_state"],
            regularization=settings["regularization"],
        )
        try:  # as fit, with the collapse stop and quiet (the table says), as in memory
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                model._fit_dask(X, sample_weight, collapse_patience=COLLAPSE_PATIENCE)
        except (ValueError, ArithmeticError) as error:
            errors.append((init, _said(error)))
            continue
        if best is None or model.lower_bound_ > best[0].lower_bound_:
            best = (model, init)
    if best is None:
        return errors[0][1]
    model, init = best
    log_likelihood = model.lower_bound_ * float(
        X.shape[0] if sample_weight is None else sample_weight.sum().compute()
    )
    parameter_count = model.params_.n_parameters()
    n = float(X.shape[0] if sample_weight is None else sample_weight.sum().compute())
    variances = settings["variances"]
    reg = settings["reg_covar"]
    if settings["regularization"] == "floor":  # in units of the data's scale, as the fit's
        reg *= scale_from_moments(settings["means"], variances)
    # Judged by the next M-step's statistics (two passes), as a fit in memory by its
    # responsibilities: a shared volume can hide a fit resting on the floor.
    from emcore.dask_engine import m_step_statistics

    statistics = m_step_statistics(*settings["data"], model.params_)
    problem = degeneracy(model.params_, None, reg, variances=variances, statistics=statistics)
    problem = problem or ""
    row = {
        **_identity(name, k),
        "log_likelihood": log_likelihood,
        "n_parameters": parameter_count,
        **information_criteria(log_likelihood, parameter_count, n),
        "icl": float("nan"),
        "converged": bool(model.converged_),
        "n_iter": int(model.n_iter_),
        "status": "degenerate" if problem else "ok",
        "note": problem,
        "start": init,
        LOST_STARTS: errors,  # said in the table's notes, as in memory
    }
    return row, model


def model_names(covariance_types: str | Sequence[str]) -> list[str]:
    """emcore's names of the models asked for, each once, in the order given.

    ``"all"`` is mclust's 14 models in mclust's order (only the models emcore has, should it
    have fewer). A single name is one model. Unknown names raise ``ValueError``.
    """
    if isinstance(covariance_types, str):
        everything = covariance_types == ALL_MODELS
        covariance_types = _all_models() if everything else [covariance_types]
    elif not isinstance(covariance_types, Iterable):
        raise ValueError(
            f"covariance_types must be 'all', a model's name or a list of names (such as "
            f"['VVV', 'EEE']); got {covariance_types!r}."
        )
    names = [_known_model(name) for name in covariance_types]
    if not names:
        raise ValueError("covariance_types is empty; give at least one covariance model.")
    return list(dict.fromkeys(names))


def _known_model(name: object) -> str:
    """emcore's name of the model called ``name``; an unknown one's message (which lists the
    models) also says that ``"all"`` asks for every one. Names are case-sensitive, as
    everywhere in emcore (``covariance_model``), so "ALL" or "vvv" are not guessed at."""
    try:
        return covariance_model(name).name
    except ValueError as error:
        raise ValueError(
            f"covariance_types: {error} Or give covariance_types='all' (lowercase) for all "
            f"{len(MCLUST_ORDER)}."
        ) from None


def _all_models() -> tuple[str, ...]:
    names = getattr(_covariance, "MCLUST_MODELS", None)
    if names is not None:
        return tuple(names)
    return tuple(sorted(COVARIANCE_TYPES, key=lambda name: _mclust_rank(_mclust_name(name))))


# -- starts: one partition per K for every model ------------------------------------------


@dataclass(frozen=True)
class _Start:
    """A start for every model of one K: a hard partition (``labels``, shape (n,)) or the
    hierarchical ``tree`` (cut at K: a weighted row's copies may be split between clusters),
    from which each model takes its own M-step; or, for methods that give parameters rather
    than a partition ("k-means++", "random", ...), the method and the seed to call it with."""

    name: str
    labels: np.ndarray | None = None
    method: str | None = None
    seed: int | None = None
    tree: HierarchicalTree | None = None


def _parse_init(init_params: str) -> tuple[bool, str]:
    """``(hc first?, the method of the other starts)`` from ``init_params``."""
    if not isinstance(init_params, str):
        raise ValueError(f"init_params must be a string; got {init_params!r}.")
    if init_params == HC:
        return True, "kmeans"
    others = [name for name in INIT_METHODS if name != HC]
    if init_params.startswith(HC + "+") and init_params[len(HC) + 1 :] in others:
        return True, init_params[len(HC) + 1 :]
    if init_params in others:
        return False, init_params
    choices = ", ".join(repr(name) for name in (HC, *others))
    raise ValueError(
        f"init_params must be one of {choices}, or 'hc+' followed by one of the others; "
        f"got {init_params!r}."
    )


def _starts(
    X: np.ndarray,
    ks: list[int],
    hc_first: bool,
    method: str,
    n_init: int,
    random_state,
    sample_weight: np.ndarray | None,
) -> tuple[dict[int, list[_Start]], tuple[str, ...]]:
    """The starts of every cell, per K, made once for the whole table, and a note if the
    hierarchical start could not be made for some K.

    Every model of a K starts from the same partitions (each with its own M-step), as in
    mclust. With ``hc_first`` the first start of every K is the hierarchical agglomeration
    cut into K groups, and ``n_init - 1`` starts of ``method`` follow; otherwise ``n_init``
    starts of ``method``. On one column (unweighted) mclust's own start, quantile groups,
    comes before them all. Identical partitions are tried once (K = 1 has only one).

    The agglomeration (:func:`emcore.hc.hc_tree`, mclust's VVV criterion on SVD-transformed
    data) is computed once per table, on the column-mean-filled rows when cells are missing,
    and cut at every K. Whole-number weights give the tree of the repeated rows. Where
    there is no tree, or it has fewer leaves than K, the first k-means start stands in,
    and the note says so.
    """
    starts: dict[int, list[_Start]] = {}
    tree = _hc_tree(X, random_state, sample_weight) if hc_first else None
    stand_ins = []
    for k in ks:
        cell: list[_Start] = []
        if hc_first:
            cell.extend(_quantile_start(X, k, sample_weight))
            if isinstance(tree, HierarchicalTree) and k <= tree.n_leaves:
                cell.append(_Start(HC, tree=tree))
            else:  # no tree (e.g. one row): k-means start 1 of the sequence stands in
                stand_ins.append(k)
                cell.extend(_random_starts(X, k, "kmeans", 1, random_state, sample_weight))
            cell.extend(_random_starts(X, k, method, n_init, random_state, sample_weight, skip=1))
        else:
            cell.extend(_random_starts(X, k, method, n_init, random_state, sample_weight))
        starts[k] = _distinct(cell)
    return starts, _stand_in_note(stand_ins, tree)


def _stand_in_note(ks: list[int], tree: HierarchicalTree | str | None) -> tuple[str, ...]:
    """The note for the K whose hierarchical start a k-means start replaced."""
    if not ks:
        return ()
    why = tree if isinstance(tree, str) else f"its tree has only {tree.n_leaves} leaves"
    return (
        f"The hierarchical start ('hc') could not be made for K = {_ranges(ks)} ({why}); "
        "the first k-means start stands in for it there.",
    )


def _quantile_start(X: np.ndarray, k: int, sample_weight: np.ndarray | None) -> list[_Start]:
    """mclust's own start on one column (:func:`emcore.init.quantile_classes`), tried first,
    before the agglomeration: on Old Faithful's eruptions alone, V with K = 5 and 6 ended
    0.6-0.7 BIC units below mclust's without it. None for weighted rows (mclust has no
    weights) or when a group would be empty."""
    if X.shape[1] != 1 or sample_weight is not None or k < 2:
        return []
    labels = quantile_classes(X[:, 0], k)
    if labels is None or len(np.unique(labels)) < k:
        return []
    return [_Start("quantiles", labels=labels)]


def _hc_tree(
    X: np.ndarray, random_state, sample_weight: np.ndarray | None
) -> HierarchicalTree | str:
    """mclust's hierarchical agglomeration of the table's rows, or why there is none (e.g.
    fewer than two rows of positive weight), for the table's notes. As mclustBIC: the VVV
    criterion, or EII (Ward's) when there are no more rows than columns, where VVV's
    scatter of a merged cluster stays singular."""
    rows = fill_column_means(X, sample_weight) if np.isnan(X).any() else X
    model = "VVV" if len(rows) > rows.shape[1] else "EII"
    try:
        return hc_tree(rows, model, random_state=random_state, sample_weight=sample_weight)
    except ValueError as error:
        return str(error)


def _random_starts(
    X: np.ndarray,
    k: int,
    method: str,
    count: int,
    random_state,
    sample_weight: np.ndarray | None,
    skip: int = 0,
) -> list[_Start]:
    """Starts ``skip + 1 .. count`` of ``method`` for K = ``k``, seeded as
    :class:`GaussianMixture` seeds its ``n_init`` starts: the same ``random_state`` gives
    the same k-means labels."""
    seeds = check_random_state(random_state)
    # Drawn at once: an int's RandomState is a reused per-thread object (see emcore.init).
    draws = [int(seeds.randint(0, 2**31 - 1)) for _ in range(count)]
    starts = []
    for number, draw in enumerate(draws[skip:], start=skip + 1):
        seed = int(as_generator(draw).integers(2**31 - 1))
        name = f"{method} {number}"
        if method == "kmeans":
            starts.append(_Start(name, labels=_kmeans_labels(X, k, seed, sample_weight)))
        else:
            starts.append(_Start(name, method=method, seed=draw))
    return starts


def _kmeans_labels(
    X: np.ndarray, k: int, seed: int, sample_weight: np.ndarray | None
) -> np.ndarray:
    """The partition of :func:`emcore.init.init_kmeans`: k-means on standardised columns of
    the rows in canonical order, rows of weight 0 left out (and put in cluster 0, where they
    weigh nothing), NaN cells filled by their column's mean."""
    from sklearn.cluster import KMeans

    counted = np.ones(len(X), dtype=bool) if sample_weight is None else sample_weight > 0
    rows = X[counted]
    weights = None if sample_weight is None else sample_weight[counted]
    if weights is not None and (weights == 1.0).all():
        weights = None
    if np.isnan(rows).any():
        rows = fill_column_means(rows, weights)
    order = canonical_order(rows)
    ordered = rows[order]
    ordered_weights = None if weights is None else weights[order]
    kmeans = KMeans(n_clusters=k, n_init=1, random_state=seeded_random_state(seed, "kmeans"))
    fitted = kmeans.fit(standardise(ordered, ordered_weights), sample_weight=ordered_weights)
    counted_labels = np.empty(len(rows), dtype=int)
    counted_labels[order] = fitted.labels_
    labels = np.zeros(len(X), dtype=int)
    labels[counted] = counted_labels
    return labels


def _distinct(starts: list[_Start]) -> list[_Start]:
    """The starts without repeated partitions (the same groups under other numbers)."""
    seen, kept = set(), []
    for start in starts:
        if start.labels is None:
            kept.append(start)
            continue
        _, first, inverse = np.unique(start.labels, return_index=True, return_inverse=True)
        key = np.argsort(np.argsort(first))[inverse].tobytes()
        if key not in seen:
            seen.add(key)
            kept.append(start)
    return kept


# -- fitting one cell --------------------------------------------------------------------


@dataclass(frozen=True)
class _Context:
    """What every fit of a table shares, measured once."""

    data: np.ndarray
    filled: np.ndarray
    weights: np.ndarray | None
    settings: dict
    scale: float
    reg: float
    variances: np.ndarray
    n_samples: float

    @classmethod
    def of(cls, data: np.ndarray, weights: np.ndarray | None, settings: dict) -> _Context:
        scale = data_scale(data, weights)
        reg = effective_reg(data, settings["reg_covar"], settings["regularization"], scale=scale)
        filled = fill_column_means(data, weights) if np.isnan(data).any() else data
        return cls(
            data=data,
            filled=filled,
            weights=weights,
            settings=settings,
            scale=scale,
            reg=reg,
            variances=weighted_moments(data, weights)[1],
            n_samples=float(len(data) if weights is None else weights.sum()),
        )


@dataclass
class _Outcome:
    """A finished start of a cell. Whether it is degenerate is judged on first asking
    (:attr:`problem`): the judgement refits the model's unregularised M-step, and a cell
    needs it only for the starts that could be kept."""

    run: EM
    start: str
    log_likelihood: float
    context: _Context = field(repr=False)

    @cached_property
    def problem(self) -> str | None:
        """Why the fit is degenerate (:func:`degeneracy`), or None."""
        context = self.context
        return degeneracy(
            self.run.params,
            context.data,
            context.reg,
            context.weights,
            variances=context.variances,
            resp=self.run.estep.resp,
        )


@dataclass(frozen=True)
class _TableOrder:
    """The table's order (models, then K): which of two equal fits is chosen does not
    depend on the order in which they were fitted."""

    types: list[str]
    ks: list[int]

    @cached_property
    def _positions(self) -> tuple[dict[str, int], dict[int, int]]:
        # Looked up for every row: a dict, not list.index (a grid of 10,000 K sorted in
        # O(K^2) took minutes).
        return {name: i for i, name in enumerate(self.types)}, {k: i for i, k in enumerate(self.ks)}

    def key(self, row: dict) -> tuple[int, int]:
        types, ks = self._positions
        return types[row["covariance_type"]], ks[row["n_components"]]

    def better(self, row: dict, criterion: str, leader: dict | None) -> bool:
        """Whether ``row`` would be chosen over ``leader`` (the best so far, or None): an
        "ok" fit with a finite, lower value, or an equal one earlier in the table (as
        :func:`_assemble` chooses)."""
        value = row[criterion]
        if row["status"] != "ok" or not math.isfinite(value):
            return False
        if leader is None or value < leader[criterion]:
            return True
        return value == leader[criterion] and self.key(row) < self.key(leader)


@dataclass(frozen=True)
class _KTask:
    """Fitting every cell of one K (a picklable callable, so a worker process can run it):
    ``(model name, K, row, run or None)`` per model. Unless every model is kept, only the
    K's best run by the criterion comes back with its row; the table's best is among them.
    """

    context: _Context
    types: list[str]
    criterion: str
    keep_models: bool
    order: _TableOrder

    def __call__(self, k: int, starts: list[_Start]) -> list[tuple[str, int, dict, EM | None]]:
        with threadpool_limits(limits=1, user_api="openmp"), warnings.catch_warnings():
            # As in select_model, also in a worker process: the table says what happened.
            warnings.simplefilter("ignore", ConvergenceWarning)
            return self.fit(k, starts)

    def fit(self, k: int, starts: list[_Start]) -> list[tuple[str, int, dict, EM | None]]:
        """The cells of one K, in a process whose thread limit and warning filter are set."""
        cells, leader = [], None
        for name, (row, run) in _fit_cells(self.context, self.types, k, starts):
            if not self.keep_models:
                if run is not None and self.order.better(row, self.criterion, leader):
                    for index, (other, _, other_row, _) in enumerate(cells):
                        if other_row is leader:
                            cells[index] = (other, k, other_row, None)
                    leader = row
                else:
                    run = None
            cells.append((name, k, row, run))
        return cells


def _check_n_jobs(n_jobs) -> None:
    """None, or a whole number of processes other than 0 (negative: joblib's count back from
    every core, -1 being all of them)."""
    whole = isinstance(n_jobs, (int, np.integer)) and not isinstance(n_jobs, bool)
    if n_jobs is not None and not (whole and n_jobs != 0):
        raise ValueError(
            "n_jobs must be None (one process), a positive number of worker processes, or a "
            f"negative one counting back from every core (-1: all of them); got {n_jobs!r}."
        )


def _map_ks(task: _KTask, work: list[tuple[int, list[_Start]]], n_jobs: int | None):
    """``task`` on every (K, starts): in this process one K after the other, or with
    ``n_jobs`` worker processes (joblib's, as scikit-learn's ``n_jobs``), the largest K
    first since they take longest; results as they come."""
    if n_jobs is None or n_jobs == 1 or len(work) <= 1:
        # select_model already holds the thread limit and the warning filter in this
        # process; setting them again per K cost 3 ms each (threadpoolctl inspects the
        # loaded libraries), 2% of iris's table.
        return (task.fit(k, starts) for k, starts in work)
    from joblib import Parallel, delayed

    largest_first = sorted(work, key=lambda item: -item[0])
    parallel = Parallel(n_jobs=n_jobs, return_as="generator_unordered")
    return parallel(delayed(task)(k, starts) for k, starts in largest_first)


def _fit_cells(
    context: _Context, names: list[str], n_components: int, starts: list[_Start]
) -> Iterator[tuple[str, tuple[dict, EM | None]]]:
    """Fit the cells of one K, every model from each of the K's starts, and keep each
    cell's best sound fit: ``(model name, (row, run or None))`` per model, in order.

    On small complete data the runs step together (:func:`emcore.lockstep.run_together`:
    one batched E-step for all of them); otherwise each runs alone, by fused passes. A
    start that raises is skipped; a degenerate fit is kept only if no start gave a sound
    one (the row is then "degenerate"); if every start raised the row is "failed".
    """
    if _lockstep_suits(context, n_components):
        attempts = _attempts_together(context, names, n_components, starts)
        for name in names:
            yield name, _cell(context, name, n_components, attempts[name])
        return
    for name in names:
        attempts = [_attempt(context, name, n_components, start) for start in starts]
        yield name, _cell(context, name, n_components, attempts)


def _lockstep_suits(context: _Context, n_components: int) -> bool:
    """Whether the runs of a K step together: complete data small enough that per-call
    overhead, not arithmetic, is an iteration's cost (see :mod:`emcore.lockstep`)."""
    n, d = context.data.shape
    return context.filled is context.data and n * d * n_components <= LOCKSTEP_MAX_ELEMENTS


@dataclass
class _Attempt:
    """One start of one cell: its finished run, or why there is none."""

    start: str
    run: EM | None
    error: str | None = None


def _attempt(context: _Context, name: str, n_components: int, start: _Start) -> _Attempt:
    try:
        return _Attempt(start.name, _fit_start(context, name, n_components, start))
    except (ValueError, ArithmeticError, RuntimeWarning) as error:
        return _Attempt(start.name, None, _said(error))


def _attempts_together(
    context: _Context, names: list[str], n_components: int, starts: list[_Start]
) -> dict[str, list[_Attempt]]:
    attempts = {name: [] for name in names}
    fresh: list[tuple[_Attempt, EM]] = []
    for name in names:
        for start in starts:
            try:
                run = _start_run(context, name, n_components, start)
            except (ValueError, ArithmeticError, RuntimeWarning) as error:
                attempts[name].append(_Attempt(start.name, None, _said(error)))
                continue
            attempt = _Attempt(start.name, run)
            attempts[name].append(attempt)
            fresh.append((attempt, run))
    errors = run_together([run for _, run in fresh])
    for index, (attempt, run) in enumerate(fresh):
        try:
            if index in errors:
                raise errors[index]
            if context.settings["reg_covar"] == 0:
                _refuse_singular(run, context.variances)
        except (ValueError, ArithmeticError, RuntimeWarning) as error:
            attempt.run, attempt.error = None, _said(error)
    return attempts


def _said(error: Exception) -> str:
    return f"{type(error).__name__}: {error}"


def _cell(
    context: _Context, covariance_type: str, n_components: int, attempts: list[_Attempt]
) -> tuple[dict, EM | None]:
    """A cell's row from its attempts, and the run kept (None if every start failed)."""
    outcomes, errors = [], []
    for attempt in attempts:
        run = attempt.run
        if run is None:
            errors.append(attempt.error)
            continue
        # Summed from the final E-step's per-point values, as GaussianMixture.score does
        # (the run's own total is the same to rounding, summed in chunks).
        log_likelihood = total_log_likelihood(run.estep.log_prob, context.weights)
        if not math.isfinite(log_likelihood):
            errors.append("the log-likelihood is not finite")
            continue
        outcomes.append(_Outcome(run, attempt.start, log_likelihood, context))
    if not outcomes:
        d = context.data.shape[1]
        note = errors[0] if errors else "no start"
        return _empty_row(covariance_type, n_components, d, "failed", note), None
    kept = _first_best(outcomes)
    row = _row(context, covariance_type, n_components, kept)
    # Starts that raised while others fitted: not a column (the table's DataFrame drops the
    # key), but said in the table's notes (:func:`_lost_start_notes`), never silently.
    row[LOST_STARTS] = [(a.start, a.error) for a in attempts if a.run is None]
    return row, kept.run


# Starts whose log-likelihoods differ by less than this (relative) reached the same fit: the
# first of them is kept, so rounding (which engine, which machine) does not pick the start.
SAME_FIT = 1e-10


def _first_best(outcomes: list[_Outcome]) -> _Outcome:
    """The sound outcome (or, if none is, any) with the highest log-likelihood; of those
    equal to it within SAME_FIT, the first start's.

    Outcomes are judged from the highest log-likelihood down, so only those above the best
    sound one (and its near-equals) are judged: usually one per cell.
    """
    ranked = sorted(outcomes, key=lambda outcome: -outcome.log_likelihood)
    sound = next((outcome for outcome in ranked if outcome.problem is None), None)
    best = (sound or ranked[0]).log_likelihood
    margin = SAME_FIT * max(1.0, abs(best))
    near = (outcome for outcome in outcomes if outcome.log_likelihood >= best - margin)
    return next(outcome for outcome in near if sound is None or outcome.problem is None)


def _fit_start(context: _Context, covariance_type: str, n_components: int, start: _Start) -> EM:
    """EM for one cell from one start, run to convergence (or ``max_iter``)."""
    run = _start_run(context, covariance_type, n_components, start)
    run.run()
    if context.settings["reg_covar"] == 0:
        _refuse_singular(run, context.variances)
    return run


def _start_run(context: _Context, covariance_type: str, n_components: int, start: _Start) -> EM:
    """A fresh EM run for one cell from one start (nothing iterated yet)."""
    settings = context.settings
    reg_covar, regularization = settings["reg_covar"], settings["regularization"]
    if start.tree is not None:  # the M-step on the tree's leaves, as GaussianMixture's
        params = init_from_tree(
            context.filled,
            start.tree,
            n_components,
            covariance_type,
            reg_covar,
            regularization,
            context.weights,
            scale=context.scale,
        )
    elif start.labels is not None:
        resp = np.zeros((len(context.data), n_components))
        resp[np.arange(len(context.data)), start.labels] = 1.0
        # The model's own M-step from the partition (mclust's start), on mean-filled data
        # when cells are missing, floored as EM on the data itself will floor.
        params = unchecked_m_step(
            context.filled,
            resp,
            covariance_type,
            reg_covar,
            regularization=regularization,
            scale=context.scale,
            sample_weight=context.weights,
        )
    else:
        params = initial_params(
            context.data,
            n_components,
            covariance_type,
            start.method,
            start.seed,
            reg_covar,
            regularization=regularization,
            sample_weight=context.weights,
        )
    return EM(
        context.data,
        params,
        reg_covar,
        settings["tol"],
        settings["max_iter"],
        record="none",
        regularization=regularization,
        sample_weight=context.weights,
        missing=settings["missing"],
        collapse_patience=COLLAPSE_PATIENCE,
    )


def _refuse_singular(run: EM, variances: np.ndarray) -> None:
    """As :class:`GaussianMixture` with ``reg_covar=0``: a singular covariance is an error
    (the likelihood has no maximum there), so the start fails."""
    singular = np.flatnonzero(singular_components(run.params, variances))
    if singular.size:
        raise ValueError(
            f"Component {int(singular[0]) + 1} collapsed onto repeated or too few points: its "
            "covariance is singular and reg_covar=0 leaves nothing to stop it."
        )


def _row(context: _Context, covariance_type: str, n_components: int, kept: _Outcome) -> dict:
    run = kept.run
    parameter_count = run.params.n_parameters()
    criteria = information_criteria(kept.log_likelihood, parameter_count, context.n_samples)
    entropy = responsibility_entropy(run.estep.log_resp, context.weights)
    criteria["icl"] = criteria["bic"] + 2.0 * entropy
    return {
        **_identity(covariance_type, n_components),
        "log_likelihood": kept.log_likelihood,
        "n_parameters": parameter_count,
        **criteria,
        "converged": bool(run.converged),
        "n_iter": int(run.iteration),
        "status": "ok" if kept.problem is None else "degenerate",
        "note": kept.problem or "",
        "start": kept.start,
    }


def _estimator(X, key: ModelKey, run: EM, settings: dict) -> GaussianMixture:
    """A fitted :class:`GaussianMixture` holding one cell's fit, as if ``fit`` had made it:
    validated on ``X`` (its feature names kept), the run's parameters and diagnostics.

    Its parameters are the selection's settings (``init_params`` as given if
    ``GaussianMixture`` has that method, else the method of the extra starts), so a refit
    starts afresh.
    """
    covariance_type, k = key
    _, method = _parse_init(settings["init_params"])
    init = settings["init_params"] if settings["init_params"] in INIT_METHODS else method
    model = GaussianMixture(
        k,
        covariance_type=covariance_type,
        tol=settings["tol"],
        reg_covar=settings["reg_covar"],
        max_iter=settings["max_iter"],
        n_init=settings["n_init"],
        init_params=init,
        random_state=settings["random_state"],
        regularization=settings["regularization"],
        missing=settings["missing"],
    )
    model._validate(X, reset=True)  # n_features_in_ and feature_names_in_, as fit sets them
    model._store(run)
    return model


def information_criteria(log_likelihood: float, parameter_count: int, n_samples: float) -> dict:
    """BIC and AIC from a total log-likelihood, lower is better (mclust's BIC is minus ours).

    ``n_samples`` is the number of rows, or the sum of the frequency weights.
    """
    deviance = -2.0 * log_likelihood
    return {
        "bic": deviance + parameter_count * math.log(n_samples),
        "aic": deviance + 2.0 * parameter_count,
    }


def responsibility_entropy(log_resp: np.ndarray, sample_weight: np.ndarray | None = None) -> float:
    """``E = -sum_i w_i sum_k r_ik log r_ik`` (>= 0), from log responsibilities (n, K).

    Empty components have ``log r = -inf`` and ``r = 0``; their terms are 0 (the limit of
    r log r), not NaN. Without ``sample_weight`` every ``w_i`` is 1.
    """
    finite = np.isfinite(log_resp)
    terms = np.where(finite, np.exp(np.where(finite, log_resp, 0.0)) * log_resp, 0.0)
    per_point = terms.sum(axis=1)
    return float(max(-total_log_likelihood(per_point, sample_weight), 0.0))


def degeneracy(
    params: MixtureParams,
    X: np.ndarray,
    reg_covar: float,
    sample_weight: np.ndarray | None = None,
    *,
    variances: np.ndarray | None = None,
    resp: np.ndarray | None = None,
    statistics: tuple[np.ndarray, np.ndarray] | None = None,
) -> str | None:
    """Why a fit is degenerate, or None if it is not.

    Degenerate means a component lost all its points (weight 0) or collapsed: its smallest
    variance, in units of the data's variance and without ``reg_covar`` (the effective value
    added or floored), is (nearly) zero. Such a fit's log-likelihood is inflated by the
    near-singular density, not earned; mclust reports it as NA. ``variances``: the data's
    (weighted) column variances, if the caller has them.

    With the fit's responsibilities ``resp`` (n, K), or the next M-step's sufficient
    statistics ``statistics`` = ``(statistic, N_k)`` where the rows are not in memory (Dask:
    see :func:`emcore.engine.singular_from_statistics`), a component also collapsed when the
    model's unregularised maximum-likelihood estimate from them is singular for it: in a
    model where components share a volume (EVI, EVE, EVV), the floor that keeps a component
    flat in one column invertible is scaled up by the shared volume, so the fitted
    covariance clears the test above while the fit still rests on ``reg_covar`` (mclust,
    which has no floor, reports such cells as NA). With NaN cells in ``X`` the statistics
    are the expected ones, as EM's M-step takes them.
    """
    problems = []
    empty = np.flatnonzero(params.empty)
    if empty.size:
        problems.append(f"component(s) {_one_based(empty)} lost all their points")
    if variances is None:
        variances = weighted_moments(X, sample_weight)[1]
    collapsed = _collapsed(params, variances, reg_covar)
    if resp is not None:
        collapsed |= singular_estimate(params, X, resp, sample_weight, variances, reg_covar)
    elif statistics is not None:
        collapsed |= singular_from_statistics(params, *statistics, variances, reg_covar)
    collapsed = np.flatnonzero(collapsed & ~params.empty)
    if collapsed.size:
        problems.append(f"component(s) {_one_based(collapsed)} collapsed (singular covariance)")
    return "; ".join(problems) or None


def _collapsed(params: MixtureParams, variances: np.ndarray, reg_covar: float) -> np.ndarray:
    smallest = standardised_smallest_variances(params, variances, reg_covar)
    return smallest <= COLLAPSE_FRACTION


def data_notes(X: np.ndarray, largest_k: int) -> tuple[str, ...]:
    """Warnings about the data that make some fits degenerate whatever EM does.

    With NaN cells the notes are about the data with each gap filled by its column's mean:
    that makes no column constant and no points distinct that were not, though it can hide
    collinearity (filled rows leave the line), where the note is then merely missing.
    """
    X = fill_column_means(X)
    notes = []
    # Constant to rounding, as the covariance floor's scale judges it (a column of residues
    # near 1e-14 around 0 is as constant as one of zeros).
    constant = np.flatnonzero(constant_columns(*weighted_moments(X)))
    if constant.size:
        notes.append(
            f"Column(s) {', '.join(map(str, constant))} of X (counted from 0) are constant "
            "(up to rounding): every model with a variance per column is singular along them "
            "(all but EII and VII); drop those columns."
        )
    elif X.shape[1] > 1 and len(X) > 1:
        correlation = np.corrcoef(X, rowvar=False)
        if np.linalg.eigvalsh(correlation)[0] <= COLLAPSE_FRACTION:
            notes.append(
                "The columns are collinear (the data lie on a line or plane): models with "
                "an orientation (EEE ... VVV: full, tied) are singular; drop a redundant column."
            )
    distinct = len(np.unique(X, axis=0))
    if distinct < largest_k:
        points = "point" if distinct == 1 else "points"
        notes.append(
            f"The data have only {distinct} distinct {points}: with more components than that, "
            "some must be empty or collapse onto a single point."
        )
    return tuple(notes)


# -- assembling the result -------------------------------------------------------------------


def _assemble(rows: list[dict], criterion: str, n_samples: float, n_init: int) -> ModelSelection:
    table = pd.DataFrame(rows, columns=list(TABLE_COLUMNS))
    table = table.astype({"n_components": int, "converged": bool})
    table["best"] = False
    candidates = _eligible(table, criterion)
    best = None
    if len(candidates):
        index = candidates[criterion].idxmin()
        table.loc[index, "best"] = True
        chosen = table.loc[index]
        best = BestModel(
            covariance_type=str(chosen["covariance_type"]),
            mclust_name=str(chosen["mclust_name"]),
            n_components=int(chosen["n_components"]),
            criterion=criterion,
            value=float(chosen[criterion]),
        )
    return ModelSelection(table, criterion, best, None, {}, n_samples, n_init)


def _skipped(table: pd.DataFrame, everything: bool) -> str:
    """What the skipped cells' K were and why (their note: "6 components > 5 samples");
    ``everything``: no cell was fitted at all."""
    skipped = table[table["status"] == "skipped"]
    ks = sorted(set(skipped["n_components"]))
    values = ", ".join(str(k) for k in ks) if len(ks) <= 10 else _ranges(ks)
    why = skipped["note"].iloc[0]
    if everything:
        asked = "every K asked for" if len(ks) > 1 else "the K asked for"
        return (
            f"{asked} ({values}) exceeds the {_rows_in(why)}, so nothing was fitted (ask for "
            "at most as many components as samples)"
        )
    return f"K = {values} {'were' if len(ks) > 1 else 'was'} skipped ({why})"


def _skip_note(n_components: int, n_rows: int) -> str:
    """A skipped cell's note: ``"6 components > 5 samples"`` (read back by :func:`_rows_in`)."""
    return f"{n_components} components > {n_rows} samples"


def _rows_in(note: str) -> str:
    """``"5 samples"`` from a note of :func:`_skip_note`."""
    return note.split(" > ", 1)[-1]


def _unusable(table: pd.DataFrame, name: str) -> list[str]:
    """Sentences for the fitted cells that cannot be chosen: degenerate ones, and "ok" ones
    whose criterion is not a finite number."""
    status = table["status"]
    sentences = []
    degenerate = int((status == "degenerate").sum())
    if degenerate:
        plural = "fit is" if degenerate == 1 else "fits are"
        sentences.append(
            f"{degenerate} {plural} degenerate: a component lost all its points or collapsed "
            "onto a point, line or plane (a singular covariance, which mclust reports as NA); "
            "such fits are never chosen, because only reg_covar holds their likelihood up."
        )
    ok = table[status == "ok"]
    no_value = int((~np.isfinite(ok[name.lower()].astype(float))).sum())
    if no_value:
        sentences.append(f"{no_value} fitted without a finite {name}.")
    return sentences


def _failures(failed: pd.DataFrame) -> str:
    """How many cells failed (every start raised) and what the first one said."""
    count = len(failed)
    cells = "cell" if count == 1 else "cells"
    return (
        f"{count} {cells} failed (every start raised); {_cell_name(failed.iloc[0])} said: "
        f"{str(failed['note'].iloc[0]).rstrip('.')}."
    )


def _eligible(table: pd.DataFrame, criterion: str) -> pd.DataFrame:
    """Rows that may be chosen: "ok" fits with a finite value. Never a degenerate one."""
    finite = table[np.isfinite(table[criterion].astype(float))]
    return finite[finite["status"] == "ok"]


def _mclust_name(covariance_type: str) -> str:
    return covariance_model(covariance_type).mclust_name


def _mclust_rank(mclust_name: str) -> int:
    order = getattr(_covariance, "MCLUST_MODELS", MCLUST_ORDER)
    return order.index(mclust_name) if mclust_name in order else len(order)


def _model_label(covariance_type: str, mclust_name: str) -> str:
    """``"tied (EEE)"`` for scikit-learn's names, ``"VEV"`` for the others."""
    if covariance_type == mclust_name:
        return mclust_name
    return f"{covariance_type} ({mclust_name})"


def _identity(covariance_type: str, n_components: int) -> dict:
    return {
        "covariance_type": covariance_type,
        "mclust_name": _mclust_name(covariance_type),
        "n_components": n_components,
    }


def _empty_row(
    covariance_type: str, n_components: int, n_features: int, status: str, note: str
) -> dict:
    nan = float("nan")
    return {
        **_identity(covariance_type, n_components),
        "log_likelihood": nan,
        "n_parameters": n_parameters(covariance_type, n_components, n_features),
        "bic": nan,
        "aic": nan,
        "icl": nan,
        "converged": False,
        "n_iter": 0,
        "status": status,
        "note": note,
        "start": "",
    }


def n_parameters(covariance_type: str, n_components: int, n_features: int) -> int:
    """Free parameters: K - 1 weights, K d means and the covariance model's terms."""
    model = covariance_model(covariance_type)
    covariance_terms = model.n_covariance_parameters(n_components, n_features)
    return (n_components - 1) + n_components * n_features + covariance_terms


# -- small helpers ---------------------------------------------------------------------------


def _check_criterion(criterion: str, extra: tuple[str, ...] = ()) -> str:
    choices = CRITERIA + extra
    name = criterion.lower() if isinstance(criterion, str) else criterion
    if not (isinstance(name, str) and name in choices):
        raise ValueError(f"criterion must be one of {', '.join(choices)}; got {criterion!r}.")
    return name


# More values of K than a table can usefully hold (each is a row per model, skipped or not).
MAX_GRID = 10_000


def _component_grid(n_components: int | Iterable[int]) -> list[int]:
    """The Ks to try: ``1..n`` for an int, else the sorted distinct values given."""
    if isinstance(n_components, int | np.integer) and not isinstance(n_components, bool):
        ks = range(1, check_n_components(n_components) + 1)
    else:
        try:
            ks = sorted({check_n_components(k) for k in n_components})
        except TypeError:
            raise ValueError(
                f"n_components must be an int or an iterable of ints; got {n_components!r}."
            ) from None
    if not ks:
        raise ValueError("n_components is empty; give at least one number of components.")
    if len(ks) > MAX_GRID:
        raise ValueError(
            f"n_components asks for {len(ks):,} values of K; a table holds at most "
            f"{MAX_GRID:,} (and K above the number of rows cannot be fitted): give fewer."
        )
    return list(ks)


def _check_settings(data: np.ndarray, settings: dict, method: str) -> None:
    # One throwaway estimator checks the shared settings once, so a typo raises at once
    # instead of turning every fit into a "failed" row.
    check_choice("regularization", settings["regularization"], REGULARIZATIONS)
    shared = {key: value for key, value in settings.items() if key != "regularization"}
    probe = GaussianMixture(1, **{**shared, "init_params": method})
    probe._check_parameters(data)


def _pair_label(covariance_type: str, n_components: int) -> str:
    return f"{_model_label(covariance_type, _mclust_name(covariance_type))}, K={n_components}"


def _cell_name(row: pd.Series) -> str:
    """mclust's name of a cell, ``"EEE,3"``."""
    return f"{row['mclust_name']},{int(row['n_components'])}"


def _top_table(ranked: pd.DataFrame, criterion: str) -> str:
    """The top models as mclust's ``summary(mclustBIC)`` prints them, in emcore's sign::

                  EEE,3      VVE,2      VEE,3
    BIC        2314.316   2320.433   2322.103
    BIC diff      0.000      6.117      7.787
    """
    name = criterion.upper()
    values = ranked[criterion].astype(float).tolist()
    cells = [_cell_name(row) for _, row in ranked.iterrows()]
    numbers = [_number(value, 3) for value in values]
    diffs = [_number(value - values[0], 3) for value in values]
    width = max(len(text) for text in [*cells, *numbers, *diffs]) + 2
    label = max(len(name) + 5, 8)
    lines = [
        " " * label + "".join(cell.rjust(width) for cell in cells),
        name.ljust(label) + "".join(number.rjust(width) for number in numbers),
        f"{name} diff".ljust(label) + "".join(diff.rjust(width) for diff in diffs),
    ]
    return "\n".join(lines)


def _lead_line(ranked: pd.DataFrame) -> list[str]:
    """How far ahead the best is of the first runner-up that is a different fit.

    At K = 1 several models are the same fit (EEE ... VVV all are one Gaussian with a full
    covariance), and in one dimension many more coincide; comparing the best with its own
    twin would report a meaningless lead of 0.
    """
    best = ranked.iloc[0]
    for _, row in ranked.iloc[1:].iterrows():
        same_fit = row["n_parameters"] == best["n_parameters"] and math.isclose(
            row["log_likelihood"], best["log_likelihood"], rel_tol=1e-9, abs_tol=1e-6
        )
        if not same_fit:
            gap = row["bic"] - best["bic"]
            label = _model_label(row["covariance_type"], row["mclust_name"])
            name = f"{label}, K={row['n_components']}"
            return [
                f"Lead over the runner-up, {name}: {_number(gap, 1)} (a BIC difference above 10 is "
                "usually read as very strong evidence, 6-10 as strong, 2-6 as positive)."
            ]
    return []


# Beyond this magnitude a criterion is printed in 6 significant digits: fixed-point notation
# would print every digit of a number like 1e300 (huge frequency weights make such BICs).
FIXED_POINT_LIMIT = 1e9


def _number(value: float, decimals: int) -> str:
    """``value`` with ``decimals`` decimals, or as ``3.2e+300`` when that would be long."""
    if math.isfinite(value) and abs(value) >= FIXED_POINT_LIMIT:
        return f"{value:.6g}"
    return f"{value:.{decimals}f}"


def _one_based(indices: np.ndarray) -> str:
    return ", ".join(str(int(i) + 1) for i in indices)


def _ranges(values: list[int]) -> str:
    """``[1, 2, 3, 5]`` as ``"1..3, 5"``."""
    parts, start = [], None
    for position, value in enumerate(values):
        if start is None:
            start = value
        following = values[position + 1] if position + 1 < len(values) else None
        if following != value + 1:
            parts.append(str(start) if start == value else f"{start}..{value}")
            start = None
    return ", ".join(parts)
