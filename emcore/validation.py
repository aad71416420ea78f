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
