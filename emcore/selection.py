"""Model selection: choose the number of components and the covariance type by BIC, AIC or ICL.

:func:`select_model` fits every (covariance type, K) pair with several EM starts, the way R's
mclust does with its ``Mclust`` function, and returns a :class:`ModelSelection` holding a tidy
table of the fits, the chosen model and mclust-style views of the results.

Sign convention: **lower is better**, as in scikit-learn::

    BIC = -2 log L + p ln n        AIC = -2 log L + 2 p        ICL = BIC + 2 E

where log L is the total log-likelihood, p the number of free parameters, n the number of
samples and ``E = -sum_i sum_k r_ik log r_ik >= 0`` the entropy of the responsibilities (so
ICL >= BIC, with equality when every point belongs to one component for sure). mclust reports
BIC and ICL with the opposite sign (higher is better): its BIC is minus ours. Its ICL also uses
hard labels, ``-2 sum_i log max_k r_ik``, in place of E; that term is never larger than E, so
mclust's ICL (with its sign flipped) lies between our BIC and our ICL.

Only emcore's four covariance types are searched: full (mclust's VVV), tied (EEE), diag (VVI)
and spherical (VII). mclust searches 14 parameterisations, so on some data it picks a model
emcore cannot fit (for iris, VEV with 2 components).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.exceptions import ConvergenceWarning
from threadpoolctl import threadpool_limits

from emcore.covariance import COVARIANCE_TYPES, covariance_model, weighted_moments
from emcore.engine import standardised_smallest_variances
from emcore.missing import fill_column_means
from emcore.params import MixtureParams
from emcore.sklearn_api import GaussianMixture
from emcore.steps import e_step, total_log_likelihood
from emcore.validation import (
    check_data,
    check_missing,
    check_n_components,
    check_observed_columns,
    check_sample_weight,
)

CRITERIA: tuple[str, ...] = ("bic", "aic", "icl")

# A component's smallest variance, in units of the data's own variance along that direction
# and after removing reg_covar, below which it has collapsed onto a point, line or plane.
# Measured in standardised units so a feature with a small scale does not look collapsed.
COLLAPSE_FRACTION = 1e-8

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
)

ProgressCallback = Callable[[int, int, str], None]
ModelKey = tuple[str, int]


@dataclass(frozen=True)
class BestModel:
    """The model a criterion chose.

    Attributes
    ----------
    covariance_type : str
        emcore's name: "full", "tied", "diag" or "spherical".
    mclust_name : str
        The same model in mclust's notation ("VVV", "EEE", "VVI", "VII").
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
            f"{self.covariance_type} ({self.mclust_name}) with {self.n_components} "
            f"component{plural}"
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
        ``n_iter``, ``status``, ``note`` and ``best``. ``status`` is "ok", "degenerate" (a
        component lost all its points or collapsed; its criteria are shown but it is only
        chosen if no fit is ok), "failed" (the fit raised; criteria are NaN, ``note`` says
        why) or "skipped" (more components than samples).
    criterion : str
        The criterion used to choose.
    best : BestModel or None
        None only if no fit produced a finite criterion.
    best_model : GaussianMixture or None
        The fitted estimator of the best row.
    models : dict
        Every fitted estimator keyed by ``(covariance_type, n_components)`` when
        ``keep_models=True``; otherwise only the best one.
    n_samples : int or float
        The number of samples, BIC's n: the rows, or the sum of the sample weights.
    n_init : int
    notes : tuple of str
        Plain-language warnings about the data itself (constant or collinear columns, fewer
        distinct points than components) that explain degenerate fits.
    """

    table: pd.DataFrame
    criterion: str
    best: BestModel | None
    best_model: GaussianMixture | None
    models: dict[ModelKey, GaussianMixture] = field(default_factory=dict, repr=False)
    n_samples: float = 0
    n_init: int = 1
    notes: tuple[str, ...] = ()

    def pivot(self, criterion: str | None = None, mclust_names: bool = False) -> pd.DataFrame:
        """A wide table like mclust's BIC table: one row per K, one column per covariance type.

        Parameters
        ----------
        criterion : {"bic", "aic", "icl", "log_likelihood"} or None
            Defaults to the criterion the selection used.
        mclust_names : bool
            Label the columns VVV, EEE, ... instead of full, tied, ...

        Returns
        -------
        pandas.DataFrame
            NaN where a fit failed or was skipped. Values keep emcore's sign (lower is better);
            negate the table to compare with mclust's.
        """
        column = _check_criterion(criterion or self.criterion, extra=("log_likelihood",))
        names = "mclust_name" if mclust_names else "covariance_type"
        order = list(dict.fromkeys(self.table[names]))
        wide = self.table.pivot(index="n_components", columns=names, values=column)
        return wide.reindex(columns=order)

    def ranking(self, criterion: str | None = None) -> pd.DataFrame:
        """Rows that can be chosen, best first: "ok" fits, or degenerate ones if none is ok."""
        column = _check_criterion(criterion or self.criterion)
        return _eligible(self.table, column).sort_values(column, kind="stable")

    def summary(self, top: int = 3) -> str:
        """A few plain lines, like mclust's ``summary``: the choice, the runners-up, the fits."""
        name = self.criterion.upper()
        if self.best is None:
            return f"No model could be chosen by {name}: every fit failed.\n" + self._counts()
        ranked = self.ranking().head(top)
        value = self.best.value
        lines = [
            f"Best model by {name}: {self.best.label}, {name} = {value:.1f} "
            f"(lower is better; mclust's sign is the opposite: {-value:.1f}).",
            f"Top {len(ranked)} by {name}: " + "; ".join(_ranked_entries(ranked, self.criterion)),
        ]
        if self.criterion == "bic":
            lines.extend(_lead_line(self.ranking()))
        if (self.table["status"] == "ok").sum() == 0:
            lines.append("Every fit was degenerate: the choice is among degenerate fits.")
        lines.append(self._counts())
        lines.extend(self.notes)
        return "\n".join(lines)

    def _counts(self) -> str:
        statuses = self.table["status"].value_counts()
        types = ", ".join(dict.fromkeys(self.table["covariance_type"]))
        ks = sorted(set(self.table["n_components"]))
        return (
            f"Fitted {statuses.get('ok', 0) + statuses.get('degenerate', 0)} models "
            f"({types}; K = {_ranges(ks)}; {self.n_init} starts each, n = {self.n_samples:g}): "
            f"{statuses.get('degenerate', 0)} degenerate, {statuses.get('failed', 0)} failed, "
            f"{statuses.get('skipped', 0)} skipped."
        )


def select_model(
    X,
    n_components: int | Iterable[int] = range(1, 10),
    covariance_types: Sequence[str] = COVARIANCE_TYPES,
    criterion: str = "bic",
    *,
    n_init: int = 5,
    random_state: int | np.random.RandomState | None = 0,
    tol: float = 1e-6,
    max_iter: int = 1000,
    reg_covar: float = 1e-6,
    init_params: str = "kmeans",
    keep_models: bool = False,
    progress: ProgressCallback | None = None,
    sample_weight=None,
    missing: str = "error",
) -> ModelSelection:
    """Fit every (covariance type, K) and choose the model with the lowest criterion.

    Sign convention: lower is better for BIC, AIC and ICL, as in scikit-learn
    (``BIC = -2 log L + p ln n``). mclust reports BIC with the opposite sign: its BIC is minus
    ours, so mclust's "BIC = -2314.3" is our 2314.3.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        A DataFrame is kept as is for fitting, so the chosen estimator knows its column names.
    n_components : int or iterable of int, default=range(1, 10)
        An int ``Kmax`` means ``1..Kmax``. K larger than the number of samples is skipped.
    covariance_types : sequence of str, default=all four
        Among "full", "tied", "diag" and "spherical".
    criterion : {"bic", "aic", "icl"}, default="bic"
    n_init : int, default=5
        EM starts per fit; the one with the highest log-likelihood is kept.
    random_state : int, RandomState or None, default=0
        An int seeds every fit alike, so a pair's result does not depend on the rest of the
        grid.
    tol : float, default=1e-6
        Convergence threshold on the mean log-likelihood per sample. Tighter than the
        estimator's 1e-3 because criteria compare total log-likelihoods: 1e-3 per sample can
        shift a BIC by several units on a few hundred points.
    max_iter : int, default=1000
    reg_covar : float, default=1e-6
    init_params : str, default="kmeans"
        See :class:`emcore.GaussianMixture`.
    keep_models : bool, default=False
        Keep every fitted estimator in ``.models``, not only the best one.
    progress : callable ``(done, total, label) -> None``, optional
        Called once after every fit (failed ones included) with ``done`` = 1..total; skipped
        pairs are not counted in ``total``.
    sample_weight : array-like of shape (n_samples,), optional
        Frequency weights, passed to every fit (see :class:`emcore.GaussianMixture`). The
        log-likelihood is ``sum_i w_i log p(x_i)``, the entropy in ICL is weighted alike, and
        BIC's n is ``sum_i w_i``: integer weights give the table of the repeated rows. Rows
        of weight 0 count nowhere (not in the data notes either).
    missing : {"error", "em"}, default="error"
        ``"em"`` fits data with NaN cells (values missing at random, see
        :class:`emcore.GaussianMixture`): log-likelihoods are those of each row's observed
        coordinates, the parameter counts are unchanged and n is still the number of rows
        (or the sum of the weights). ``"error"`` refuses NaN.

    Returns
    -------
    ModelSelection
        Failed and degenerate fits are marked in ``.table["status"]``; they never raise. A
        degenerate fit (a component emptied or collapsed onto a point, line or plane, held up
        only by ``reg_covar``) has an inflated log-likelihood, so it is chosen only when no
        fit is ok.

    Raises
    ------
    ValueError
        For invalid arguments or data (NaN, wrong shape), not for fits that go wrong.
    """
    data = check_data(X, missing=check_missing(missing))
    weights = check_sample_weight(sample_weight, len(data))
    if np.isnan(data).any():  # said once here, not as a failed row for every fit
        check_observed_columns(data, weights)
    counted = data if weights is None else data[weights > 0]
    criterion = _check_criterion(criterion)
    types = [covariance_model(name).name for name in covariance_types]
    ks = _component_grid(n_components)
    settings = {
        "n_init": n_init,
        "random_state": random_state,
        "tol": tol,
        "max_iter": max_iter,
        "reg_covar": reg_covar,
        "init_params": init_params,
        "missing": missing,
    }
    _check_settings(data, settings)
    pairs = [(name, k) for name in types for k in ks]
    total = sum(k <= len(counted) for _, k in pairs)
    rows, models, done = [], {}, 0
    # The grid runs hundreds of small k-means starts; on a busy machine their OpenMP threads
    # wait on each other far longer than they compute (measured: 9 s instead of 1.2 s for
    # Old Faithful on 2 shared cores). One thread is never much slower for such sizes.
    with threadpool_limits(limits=1, user_api="openmp"):
        for name, k in pairs:
            if k > len(counted):
                note = f"{k} components > {len(counted)} samples"
                rows.append(_empty_row(name, k, data.shape[1], "skipped", note))
                continue
            row, model = _fit_one(X, data, name, k, settings, weights)
            rows.append(row)
            if model is not None:
                models[(name, k)] = model
            done += 1
            if progress is not None:
                progress(done, total, _pair_label(name, k))
    n_samples = len(data) if weights is None else float(weights.sum())
    selection = _assemble(rows, models, criterion, keep_models, n_samples, n_init)
    selection.notes = data_notes(counted, max(ks))
    return selection


# -- fitting one pair ------------------------------------------------------------------------


def _fit_one(
    X,
    data: np.ndarray,
    covariance_type: str,
    n_components: int,
    settings: dict,
    weights: np.ndarray | None = None,
) -> tuple[dict, GaussianMixture | None]:
    """Fit one pair; a fit that raises becomes a "failed" row instead of an exception."""
    model = GaussianMixture(n_components, covariance_type=covariance_type, **settings)
    try:
        with warnings.catch_warnings():
            # Non-convergence is reported in the table's "converged" column instead.
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.fit(X, sample_weight=weights)
        estep = e_step(data, model.params_)
    except (ValueError, ArithmeticError, RuntimeWarning) as error:
        note = f"{type(error).__name__}: {error}"
        return _empty_row(covariance_type, n_components, data.shape[1], "failed", note), None
    log_likelihood = total_log_likelihood(estep.log_prob, weights)
    if not math.isfinite(log_likelihood):
        note = "the log-likelihood is not finite"
        return _empty_row(covariance_type, n_components, data.shape[1], "failed", note), None
    params = model.params_
    n_samples = len(data) if weights is None else float(weights.sum())
    criteria = information_criteria(log_likelihood, params.n_parameters(), n_samples)
    criteria["icl"] = criteria["bic"] + 2.0 * responsibility_entropy(estep.log_resp, weights)
    problem = degeneracy(params, data, settings["reg_covar"], weights)
    row = {
        **_identity(covariance_type, n_components),
        "log_likelihood": log_likelihood,
        "n_parameters": params.n_parameters(),
        **criteria,
        "converged": bool(model.converged_),
        "n_iter": int(model.n_iter_),
        "status": "ok" if problem is None else "degenerate",
        "note": problem or "",
    }
    return row, model


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
) -> str | None:
    """Why a fit is degenerate, or None if it is not.

    Degenerate means a component lost all its points (weight 0) or collapsed: its smallest
    variance, in units of the data's variance and without ``reg_covar``, is (nearly) zero.
    Such a fit's log-likelihood is inflated by the near-singular density, not earned.
    """
    problems = []
    empty = np.flatnonzero(params.empty)
    if empty.size:
        problems.append(f"component(s) {_one_based(empty)} lost all their points")
    variances = weighted_moments(X, sample_weight)[1]
    collapsed = np.flatnonzero(_collapsed(params, variances, reg_covar) & ~params.empty)
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
    spread = X.std(axis=0)
    constant = np.flatnonzero(spread == 0)
    if constant.size:
        notes.append(
            f"Column(s) {_one_based(constant)} are constant: fits with a variance per column "
            "(full, tied, diag) are singular along them; drop those columns."
        )
    elif X.shape[1] > 1 and len(X) > 1:
        correlation = np.corrcoef(X, rowvar=False)
        if np.linalg.eigvalsh(correlation)[0] <= COLLAPSE_FRACTION:
            notes.append(
                "The columns are collinear (the data lie on a line or plane): full and tied "
                "fits are singular; drop a redundant column."
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


def _assemble(
    rows: list[dict],
    models: dict[ModelKey, GaussianMixture],
    criterion: str,
    keep_models: bool,
    n_samples: float,
    n_init: int,
) -> ModelSelection:
    table = pd.DataFrame(rows, columns=list(TABLE_COLUMNS))
    table = table.astype({"n_components": int, "converged": bool})
    table["best"] = False
    candidates = _eligible(table, criterion)
    best, best_model = None, None
    if len(candidates):
        index = candidates[criterion].idxmin()
        table.loc[index, "best"] = True
        chosen = table.loc[index]
        key = (chosen["covariance_type"], int(chosen["n_components"]))
        best = BestModel(
            covariance_type=key[0],
            mclust_name=str(chosen["mclust_name"]),
            n_components=key[1],
            criterion=criterion,
            value=float(chosen[criterion]),
        )
        best_model = models[key]
    kept = dict(models) if keep_models else ({} if best is None else {key: best_model})
    return ModelSelection(table, criterion, best, best_model, kept, n_samples, n_init)


def _eligible(table: pd.DataFrame, criterion: str) -> pd.DataFrame:
    """Rows that may be chosen: ok fits, or degenerate ones with a finite value if none is ok."""
    finite = table[np.isfinite(table[criterion].astype(float))]
    ok = finite[finite["status"] == "ok"]
    return ok if len(ok) else finite[finite["status"] == "degenerate"]


def _identity(covariance_type: str, n_components: int) -> dict:
    return {
        "covariance_type": covariance_type,
        "mclust_name": covariance_model(covariance_type).mclust_name,
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
    }


def n_parameters(covariance_type: str, n_components: int, n_features: int) -> int:
    """Free parameters: K - 1 weights, K d means and the covariance type's terms."""
    model = covariance_model(covariance_type)
    covariance_terms = model.n_covariance_parameters(n_components, n_features)
    return (n_components - 1) + n_components * n_features + covariance_terms


# -- small helpers ---------------------------------------------------------------------------


def _check_criterion(criterion: str, extra: tuple[str, ...] = ()) -> str:
    choices = CRITERIA + extra
    name = criterion.lower() if isinstance(criterion, str) else criterion
    if name not in choices:
        raise ValueError(f"criterion must be one of {', '.join(choices)}; got {criterion!r}.")
    return name


def _component_grid(n_components: int | Iterable[int]) -> list[int]:
    """The Ks to try: ``1..n`` for an int, else the sorted distinct values given."""
    if isinstance(n_components, int | np.integer) and not isinstance(n_components, bool):
        return list(range(1, check_n_components(n_components) + 1))
    try:
        ks = sorted({check_n_components(k) for k in n_components})
    except TypeError:
        raise ValueError(
            f"n_components must be an int or an iterable of ints; got {n_components!r}."
        ) from None
    if not ks:
        raise ValueError("n_components is empty; give at least one number of components.")
    return ks


def _check_settings(data: np.ndarray, settings: dict) -> None:
    # One throwaway estimator checks the shared settings once, so a typo raises at once
    # instead of turning every fit into a "failed" row.
    probe = GaussianMixture(1, **settings)
    probe._check_parameters(data)


def _pair_label(covariance_type: str, n_components: int) -> str:
    mclust_name = covariance_model(covariance_type).mclust_name
    return f"{covariance_type} ({mclust_name}), K={n_components}"


def _lead_line(ranked: pd.DataFrame) -> list[str]:
    """How far ahead the best is of the first runner-up that is a different fit.

    K = 1 full and tied (and in one dimension all four types) are the same model; comparing
    the best with its own twin would report a meaningless lead of 0.
    """
    best = ranked.iloc[0]
    for _, row in ranked.iloc[1:].iterrows():
        same_fit = row["n_parameters"] == best["n_parameters"] and math.isclose(
            row["log_likelihood"], best["log_likelihood"], rel_tol=1e-9, abs_tol=1e-6
        )
        if not same_fit:
            gap = row["bic"] - best["bic"]
            name = f"{row['covariance_type']} ({row['mclust_name']}), K={row['n_components']}"
            return [
                f"Lead over the runner-up, {name}: {gap:.1f} (a BIC difference above 10 is "
                "usually read as very strong evidence, 6-10 as strong, 2-6 as positive)."
            ]
    return []


def _ranked_entries(ranked: pd.DataFrame, criterion: str) -> list[str]:
    first = ranked[criterion].iloc[0]
    entries = []
    for _, row in ranked.iterrows():
        gap = row[criterion] - first
        suffix = f" (+{gap:.1f})" if gap > 0 else ""
        name = f"{row['covariance_type']} ({row['mclust_name']}), K={row['n_components']}"
        entries.append(f"{name}: {row[criterion]:.1f}{suffix}")
    return entries


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
