"""Checks on user input that turn bad data into one clear sentence."""

from __future__ import annotations

import numbers

import numpy as np


def check_data(X: object, n_components: int | None = None, n_features: int | None = None):
    """``X`` as a finite float64 array of shape (n_samples, n_features).

    Raises
    ------
    ValueError
        With a message that says what is wrong and what to do about it.
    """
    array = _as_numeric_array(X)
    if array.ndim != 2:
        hint = " For a single feature use X.reshape(-1, 1)." if array.ndim == 1 else ""
        raise ValueError(
            f"X must be a 2-D array of shape (n_samples, n_features); got {array.ndim}-D "
            f"data of shape {array.shape}.{hint}"
        )
    if array.shape[0] == 0 or array.shape[1] == 0:
        raise ValueError(f"X is empty (shape {array.shape}); it needs rows and columns of numbers.")
    if not np.isfinite(array).all():
        bad_rows = int((~np.isfinite(array)).any(axis=1).sum())
        raise ValueError(
            f"X contains NaN or infinite values in {bad_rows} row(s). "
            "Drop or fill those rows before fitting."
        )
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


def _as_numeric_array(X: object) -> np.ndarray:
    try:
        array = np.asarray(X)
    except (TypeError, ValueError) as error:
        raise ValueError(
            f"X could not be read as an array of numbers ({error}). "
            "Pass a 2-D list, NumPy array or DataFrame of numbers."
        ) from None
    if array.dtype.kind in "biuf":
        return array.astype(np.float64, copy=False)
    if array.dtype.kind == "c":
        raise ValueError("X contains complex numbers; pass real numbers only.")
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
    if weights.shape != (n_samples,):
        raise ValueError(
            f"sample_weight must have shape ({n_samples},), one weight per row of X; "
            f"got shape {weights.shape}."
        )
    _check_weight_values(weights)
    if (weights == 1.0).all():
        return None
    return weights.copy()  # never the caller's array: nothing here may change it


def _check_weight_values(weights: np.ndarray) -> None:
    for bad, what in (
        (np.isnan(weights), "NaN"),
        (np.isinf(weights), "infinite values"),
        (weights < 0, "negative values"),
    ):
        if bad.any():
            rows = ", ".join(str(int(i)) for i in np.flatnonzero(bad)[:5])
            more = ", ..." if bad.sum() > 5 else ""
            raise ValueError(
                f"sample_weight contains {what} (rows {rows}{more}, counted from 0); every "
                "weight must be a finite number >= 0 (how many times its row counts)."
            )
    if not (weights > 0).any():
        raise ValueError("sample_weight is all zero: at least one row must have a positive weight.")
