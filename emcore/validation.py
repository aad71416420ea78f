"""Checks on user input that turn bad data into one clear sentence."""

from __future__ import annotations

import datetime as dt
import numbers

import numpy as np
import pandas as pd

# What NaN cells in X mean: an error (the default), or missing values for EM to work around.
MISSING_OPTIONS: tuple[str, ...] = ("error", "em")


def check_choice(
    name: str, value: object, choices: tuple[str, ...], error: type[ValueError] = ValueError
) -> str:
    """``value`` if it is one of the strings ``choices``, else ``error`` (a ValueError) with
    a sentence that lists them.

    Only strings are compared: ``value in choices`` on a NumPy array compares element-wise
    and raises "truth value ... is ambiguous", and on a list raises "unhashable type" for a
    dict of choices, instead of saying what is wrong.
    """
    if not (isinstance(value, str) and value in choices):
        listed = ", ".join(map(repr, choices))
        raise error(f"{name} must be one of {listed}; got {_short_repr(value)}.")
    return value


def _short_repr(value: object, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def check_missing(missing: object) -> str:
    """``"error"`` or ``"em"``, else a ValueError that lists them."""
    if not (isinstance(missing, str) and missing in MISSING_OPTIONS):
        raise ValueError(f"missing must be 'error' or 'em'; got {_short_repr(missing)}.")
    return missing


def check_data(
    X: object,
    n_components: int | None = None,
    n_features: int | None = None,
    missing: str = "error",
    *,
    to_fit: bool = True,
    min_samples: int = 1,
):
    """``X`` as a float64 array of shape (n_samples, n_features), finite or NaN.

    Parameters
    ----------
    X : array-like
    n_components, n_features : int, optional
        What the data must fit: at least as many rows as components, exactly so many columns.
    missing : {"error", "em"}
        ``"error"`` refuses NaN cells (with a message that points at ``missing="em"``);
        ``"em"`` keeps them as missing values, as long as every row observes something.
        Infinite values are always refused.
    to_fit : bool, default=True
        Data to fit (not new points for a fitted model): a column whose values are all
        smaller than 10^-100 (not all 0) is also refused, as its variances leave float64's
        range.
    min_samples : int, default=1
        The fewest rows accepted (:func:`check_shape`).

    Raises
    ------
    ValueError
        With a message that says what is wrong and what to do about it.
    """
    array = _as_numeric_array(X)
    check_shape(array.shape, min_samples)
    if not np.isfinite(array).all():
        _check_non_finite(array, check_missing(missing))
    _check_magnitude(array)
    if to_fit:  # a column's own scale matters for its variances, not for new points
        _check_column_scale(array)
    if n_features is not None and array.shape[1] != n_features:
        raise ValueError(
            f"X has {array.shape[1]} features, but the mixture was fitted with {n_features}. "
            "Pass data with the same columns."
        )
    if n_components is not None:
        check_n_components(n_components)
        if array.shape[0] < n_components:
            raise ValueError(
                f"X has {array.shape[0]} samples but {n_components} components were asked for; "
                "use at most as many components as samples."
            )
    return array


# Beyond this, squared differences (1e200) and their sums over many rows come near float64's
# largest number (1.8e308): variances, densities and BIC can no longer be computed.
LARGEST_MAGNITUDE = 1e100
# A column whose values are all this small (but not all 0) has variances below 1e-200, whose
# products with a covariance floor of 1e-8 leave float64's normal range near 1e-150
# (measured: EII's log-likelihood 0.58 BIC units off at 1e-150, EVE NaN at 1e-160).
SMALLEST_MAGNITUDE = 1e-100


def _check_magnitude(array: np.ndarray) -> None:
    """Refuse values whose squares leave float64's range, naming the rows."""
    with np.errstate(invalid="ignore"):
        huge = np.abs(array) > LARGEST_MAGNITUDE  # NaN compares False
    if huge.any():
        rows = huge.any(axis=1)
        raise ValueError(
            f"X has values as large as {float(np.nanmax(np.abs(array))):.3g} in "
            f"{int(rows.sum())} row(s) ({_rows(rows)}): beyond 10^100 their "
            "squares leave the range of floating-point numbers, so variances and densities "
            "cannot be computed. Rescale those columns (for example to other units) or drop "
            "the rows."
        )


def check_shape(shape: tuple[int, ...], min_samples: int = 1) -> None:
    """Refuse data of the wrong shape: not 2-D, no rows or no columns, fewer rows than
    ``min_samples``. One sentence for arrays in memory and Dask arrays alike (whose shape
    is known before any chunk is read). The words are scikit-learn's, which its estimator
    checks look for, followed by what to do.

    Raises
    ------
    ValueError
    """
    if len(shape) != 2:
        hint = (
            " Reshape your data: for a single feature use X.reshape(-1, 1), for a single "
            "sample X.reshape(1, -1)."
            if len(shape) == 1
            else ""
        )
        raise ValueError(
            f"X must be a 2D array of shape (n_samples, n_features); got {len(shape)}-D "
            f"data of shape {tuple(int(size) for size in shape)}.{hint}"
        )
    n_samples, n_features = (int(size) for size in shape)
    found = f"shape=({n_samples}, {n_features})"
    if n_features == 0:
        raise ValueError(
            f"X is empty: found array with 0 feature(s) ({found}) while a minimum of 1 is "
            "required. Pass rows and columns of numbers."
        )
    least = max(1, min_samples)
    if n_samples < least:
        empty = "X is empty: f" if n_samples == 0 else "F"
        why = " (a covariance needs two rows)" if least > 1 else ""
        raise ValueError(
            f"{empty}ound array with {n_samples} sample(s) ({found}) while a minimum of "
            f"{least} is required{why}. Pass more rows of numbers."
        )


def _check_column_scale(array: np.ndarray) -> None:
    """Refuse columns whose values are all so small (not all 0) that their variances leave
    float64's range, naming the columns."""
    check_column_scale(np.where(np.isnan(array), 0.0, np.abs(array)).max(axis=0))


def check_column_scale(largest: np.ndarray) -> None:
    """Refuse columns whose values are all so small (not all 0) that their variances leave
    float64's range, from each column's largest magnitude (d,), naming the columns. Shared
    by data in memory and on Dask (which finds the magnitudes chunk by chunk)."""
    largest = np.asarray(largest, dtype=float)
    tiny = (largest > 0) & (largest < SMALLEST_MAGNITUDE)
    if tiny.any():
        raise ValueError(
            f"Column(s) {_rows(tiny)} of X (counted from 0) have no value larger than "
            f"{float(largest[tiny].max()):.3g}: below 10^-100 their variances fall out of the "
            "range of floating-point numbers, so covariances cannot be computed. Rescale "
            "those columns (for example to other units)."
        )


def _check_non_finite(array: np.ndarray, missing: str) -> None:
    """Refuse infinite values always, NaN unless ``missing="em"``, and rows of only NaN."""
    infinite = np.isinf(array).any(axis=1)
    if infinite.any():
        raise ValueError(
            f"X contains infinite values in {int(infinite.sum())} row(s) ({_rows(infinite)}). "
            "Drop or fill those rows before fitting."
        )
    nan = np.isnan(array)
    if missing != "em":
        raise ValueError(
            f"X contains NaN in {int(nan.any(axis=1).sum())} row(s). To fit with missing "
            'values, pass missing="em" (EM on each row\'s observed values); or drop or fill '
            "those rows."
        )
    empty = nan.all(axis=1)
    if empty.any():
        which = "Row" if empty.sum() == 1 else "Rows"
        has = "has" if empty.sum() == 1 else "have"
        raise ValueError(
            f"{which} {_rows(empty)} of X (counted from 0) {has} no observed value: every "
            "entry is NaN, so there is nothing to fit or score. Drop such rows."
        )


def check_observed_columns(X: np.ndarray, sample_weight: np.ndarray | None = None) -> None:
    """Refuse to fit data with a column that has no observed (non-NaN) cell.

    Nothing could be learnt about such a column: its mean and variance would stay wherever
    the start put them. With ``sample_weight``, only rows of positive weight count.

    Raises
    ------
    ValueError
        Naming the columns, counted from 0.
    """
    observed = ~np.isnan(X)
    if sample_weight is not None:
        observed &= (sample_weight > 0)[:, None]
    empty = ~observed.any(axis=0)
    if empty.any():
        where = "" if sample_weight is None else " in a row of positive sample_weight"
        raise ValueError(
            f"Column(s) {_rows(empty)} of X (counted from 0) have no observed value{where}: "
            "nothing can be learnt about them. Drop those columns."
        )


def _rows(mask: np.ndarray) -> str:
    """The first few indices where ``mask`` is True, as text."""
    indices = np.flatnonzero(mask)
    more = ", ..." if len(indices) > 5 else ""
    return ", ".join(str(int(i)) for i in indices[:5]) + more


def refuse_dates(X: object) -> None:
    """Refuse date, time and duration values in a DataFrame, Series, array or list: columns
    of NumPy kinds ``M`` and ``m`` or pandas periods, and date, time or duration objects
    among other values. As numbers they are counts since 1970 (nanoseconds: about 1.6e18;
    or days), a scale that would swamp every other column, so what they should mean is the
    user's choice.

    Raises
    ------
    ValueError
        Naming the columns (a DataFrame's), with what to do instead.
    """
    dtypes = getattr(X, "dtypes", None)
    if dtypes is not None and not isinstance(dtypes, np.dtype):  # a DataFrame's, per column
        named = [str(name) for name, dtype in dtypes.items() if _dated(dtype, X[name])]
    elif isinstance(X, np.ndarray | list | tuple) or hasattr(X, "dtype"):
        named = ["X"] if _dated(getattr(X, "dtype", np.dtype(object)), X) else []
    else:
        named = []
    if named:
        raise ValueError(
            f"X has date, time or duration values ({', '.join(named[:5])}), which are not "
            "measurements to cluster as they stand. Convert them to numbers that mean "
            "something for your data (for example days since the first date, or the hour "
            "of the day), or drop them."
        )


# scikit-learn's words first: its estimator checks look for them.
COMPLEX_REFUSED = "Complex data not supported: X contains complex numbers; pass real numbers only."

# Objects that NumPy would turn into counts since 1970 (or fail on): pandas' Timestamp and
# Timedelta are subclasses of datetime's.
_DATE_OBJECTS = (dt.date, dt.time, dt.timedelta, np.datetime64, np.timedelta64, pd.Period)


def _dated(dtype: object, values: object) -> bool:
    if getattr(dtype, "kind", None) in ("M", "m") or isinstance(dtype, pd.PeriodDtype):
        return True
    return getattr(dtype, "kind", None) == "O" and _any_instance(values, _DATE_OBJECTS)


def _holds(X: object, kind: type) -> bool:
    """Whether an object column or array of ``X`` holds a ``kind`` (pandas' interval
    columns are objects to NumPy)."""
    dtypes = getattr(X, "dtypes", None)
    if dtypes is not None and not isinstance(dtypes, np.dtype):
        return any(
            getattr(dtype, "kind", None) in ("O", None) or isinstance(dtype, pd.IntervalDtype)
            for dtype in dtypes.values
        ) and _any_instance(X.to_numpy(dtype=object), kind)
    if isinstance(X, list | tuple) or getattr(getattr(X, "dtype", None), "kind", None) == "O":
        return _any_instance(X, kind)
    return False


def _any_instance(values: object, kinds: type | tuple[type, ...]) -> bool:
    try:
        cells = np.asarray(values, dtype=object).ravel()
    except (TypeError, ValueError):
        return False
    return any(isinstance(cell, kinds) for cell in cells)


def plain_values(X: object) -> object:
    """``X`` as values NumPy reads as a plain array, or a sentence: dates refused
    (:func:`refuse_dates`), a masked array's masked cells made NaN (missing values, as
    ``missing`` then treats them; NumPy would read the hidden values), complex columns and
    structured arrays refused.

    Raises
    ------
    ValueError
        Saying what is wrong and what to do instead.
    """
    refuse_dates(X)
    if _holds(X, pd.Interval):  # scikit-learn's check would raise float()'s TypeError
        raise ValueError(
            "X has intervals (pandas Interval), which are not single numbers: use their "
            "midpoints (for example series.array.mid) or their ends as columns."
        )
    if isinstance(X, np.ma.MaskedArray):
        if X.dtype.kind in "biuf":
            return np.ma.filled(X.astype(np.float64), np.nan)
        return np.ma.getdata(X)
    X = missing_as_nan(X)
    dtypes = getattr(X, "dtypes", None)
    kinds = [getattr(dtype, "kind", None) for dtype in getattr(dtypes, "values", [])]
    if "c" in kinds or getattr(getattr(X, "dtype", None), "kind", None) == "c":
        raise ValueError(
            "Complex data not supported: X contains complex numbers; pass real numbers only."
        )
    if getattr(getattr(X, "dtype", None), "names", None):
        raise ValueError(
            "X is a structured array (named fields); pass a plain 2-D array of numbers, for "
            "example numpy.column_stack of its fields, or a DataFrame."
        )
    return X


def missing_as_nan(X: object) -> object:
    """``X`` with pandas' missing-value markers in object cells (``pd.NA``, None) as NaN.

    Nullable columns (Int64, Float64) convert their ``pd.NA`` themselves; an object column
    or array holding ``pd.NA`` made NumPy's ``float()`` raise a TypeError instead. As NaN
    they are missing values like any other (refused, or fitted with ``missing="em"``).
    Every reader of X goes through :func:`plain_values`, so this is the one place. ``X`` is
    returned as it is when it has no such cell (never the caller's object changed).
    """
    dtypes = getattr(X, "dtypes", None)
    if isinstance(X, pd.DataFrame):
        columns = [i for i, dtype in enumerate(dtypes) if dtype.kind == "O"]
        if not columns or not X.iloc[:, columns].isna().to_numpy().any():
            return X
        frame = X.copy()
        for i in columns:
            column = frame.iloc[:, i]
            frame.isetitem(i, column.where(column.notna(), np.nan))
        return frame
    if isinstance(X, pd.Series):
        return X.where(X.notna(), np.nan) if X.dtype.kind == "O" and X.isna().any() else X
    if isinstance(X, np.ndarray | list | tuple) and not _numeric_array(X):
        try:
            cells = np.asarray(X, dtype=object)
            missing = pd.isna(cells)
        except (TypeError, ValueError):
            return X  # ragged or unreadable: said by the reader
        if isinstance(missing, np.ndarray) and missing.any():
            return np.where(missing, np.nan, cells)
    return X


def _numeric_array(X: object) -> bool:
    """Whether ``X`` (an array or a list) reads as numbers, so it holds no pandas marker."""
    if not isinstance(X, np.ndarray):
        try:
            X = np.asarray(X)
        except (TypeError, ValueError):
            return True  # ragged or unreadable: left to the reader, which says so
    return X.dtype.kind in "biufc"


def _as_numeric_array(X: object) -> np.ndarray:
    X = plain_values(X)
    if hasattr(X, "to_numpy") and hasattr(X, "dtypes"):
        # pandas' nullable columns (Int64, Float64) hold pd.NA, which NumPy cannot convert:
        # as missing values they are NaN, which check_data then treats as any NaN.
        try:
            return np.asarray(X.to_numpy(dtype=np.float64, na_value=np.nan))
        except (TypeError, ValueError):
            pass  # text and other columns: said below
    try:
        array = np.asarray(X)
    except (TypeError, ValueError) as error:
        raise ValueError(
            f"X could not be read as an array of numbers ({error}). "
            "Pass a 2-D list, NumPy array or DataFrame of numbers."
        ) from None
    if array.dtype.kind in "biuf":
        return array.astype(np.float64, copy=False)
    if array.dtype.kind == "c":  # e.g. a list of complex numbers
        raise ValueError(COMPLEX_REFUSED)
    if array.ndim == 0 and array.dtype == object:  # a generator, a set, any other object
        raise ValueError(
            f"X could not be read as an array of numbers (it is a {type(X).__name__}). "
            "Pass a 2-D list, NumPy array or DataFrame of numbers."
        )
    try:
        return array.astype(np.float64)
    except (TypeError, ValueError):
        raise ValueError(
            "X contains values that are not numbers (for example text). "
            "Keep only numeric columns, or read a CSV file with emcore.read_csv, which drops "
            "text columns for you."
        ) from None


def check_n_components(n_components: object) -> int:
    if (
        isinstance(n_components, bool)
        or not isinstance(n_components, numbers.Integral)
        or n_components < 1
    ):
        raise ValueError(
            f"n_components must be a whole number of at least 1; got {n_components!r}."
        )
    return int(n_components)


def check_positive(name: str, value: object, allow_zero: bool = True) -> float:
    """A non-negative (or positive) finite number, else a clear ValueError."""
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool) and np.isfinite(value)
    if ok and (value > 0 or (allow_zero and value == 0)):
        return float(value)
    bound = "at least 0" if allow_zero else "greater than 0"
    raise ValueError(f"{name} must be a number {bound}; got {value!r}.")


def check_sample_weight(sample_weight: object, n_samples: int) -> np.ndarray | None:
    """Frequency weights as a float64 array of shape (n_samples,), or None for "all ones".

    A weight counts its row that many times: 2 is the row repeated, 0 the row dropped, and
    the number of samples (BIC's n) is the sum of the weights. Weights need not be whole
    numbers. ``None``, and weights that are all exactly 1, come back as None, so unweighted
    fits take the unweighted code paths and give the very same numbers.

    Parameters
    ----------
    sample_weight : array-like of shape (n_samples,), scalar or None
        A scalar gives every row that weight.
    n_samples : int
        Rows of the data the weights belong to.

    Raises
    ------
    ValueError
        If the weights are not numbers, have the wrong shape or length, contain NaN,
        infinite or negative values, or are all zero; the message says which.
    """
    if sample_weight is None:
        return None
    try:
        weights = np.asarray(sample_weight, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError("sample_weight must be numbers, one per row of X.") from None
    if weights.ndim == 0:
        weights = np.full(n_samples, float(weights))
    check_weight_shape(weights.shape, n_samples)
    check_weight_values(weights)
    if (weights == 1.0).all():
        return None
    return weights.copy()  # never the caller's array: nothing here may change it


def check_weight_shape(shape: tuple[int, ...], n_samples: int) -> None:
    """Refuse weights that are not one per row (in memory and on Dask alike)."""
    if tuple(shape) != (n_samples,):
        raise ValueError(
            f"sample_weight must have shape ({n_samples},), one weight per row of X; "
            f"got shape {tuple(int(size) for size in shape)}."
        )


ALL_ZERO_WEIGHTS = "sample_weight is all zero: at least one row must have a positive weight."


def check_weight_values(weights: np.ndarray, first_row: int = 0, whole: bool = True) -> None:
    """Refuse NaN, infinite or negative weights (naming their rows, counted from 0 in the
    whole data: ``first_row`` is the first row of a chunk) and a total beyond 10^100;
    ``whole``: the weights are all of them, which must not be all zero (a Dask chunk's may
    be, the engine checks their sum)."""
    for bad, what in (
        (np.isnan(weights), "NaN"),
        (np.isinf(weights), "infinite values"),
        (weights < 0, "negative values"),
    ):
        if bad.any():
            rows = ", ".join(str(first_row + int(i)) for i in np.flatnonzero(bad)[:5])
            more = ", ..." if bad.sum() > 5 else ""
            chunk = (
                ""
                if whole
                else f" in the chunk of rows {first_row} to {first_row + len(weights) - 1}"
            )
            raise ValueError(
                f"sample_weight contains {what} (rows {rows}{more}, counted from 0){chunk}; "
                "every weight must be a finite number >= 0 (how many times its row counts)."
            )
    if whole and not (weights > 0).any():
        raise ValueError(ALL_ZERO_WEIGHTS)
    with np.errstate(over="ignore"):  # an overflowing total is what is being refused
        check_weight_total(float(weights.sum(dtype=np.float64)))


# Weighted sums multiply a weight by a squared value (at most 1e200, LARGEST_MAGNITUDE's
# square): with the weights' total below 1e100 they stay under float64's largest number.
LARGEST_WEIGHT_TOTAL = 1e100


def check_weight_total(total: float) -> None:
    """Refuse weights whose total (BIC's n) is too large for the weighted sums (or is inf)."""
    if not total <= LARGEST_WEIGHT_TOTAL:
        shown = f"{total:.3g}" if np.isfinite(total) else "more than 10^308"
        raise ValueError(
            f"sample_weight adds up to {shown}: beyond 10^100 the weighted sums leave the "
            "range of floating-point numbers. Divide every weight by the same number: the fit "
            "depends on their ratios only (their total is BIC's number of samples)."
        )
