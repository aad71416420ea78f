"""Covariance ellipses: the curves where the Mahalanobis distance equals 1, 2 or 3."""

from __future__ import annotations

import numpy as np

N_STDS: tuple[int, ...] = (1, 2, 3)
# 60 segments: smooth on a projector, and the same count for every ellipse so Plotly can
# interpolate one into the next while animating.
ELLIPSE_POINTS = 61


def ellipse_axes(covariance: np.ndarray, n_std: float = 1.0) -> tuple[np.ndarray, float]:
    """Semi-axes (long first) and the long axis's angle in radians, from eigh.

    The eigenvectors of the covariance are the ellipse's axes; the square roots of the
    eigenvalues are the standard deviations along them.
    """
    eigenvalues, eigenvectors = np.linalg.eigh(np.asarray(covariance, dtype=float))
    # eigh sorts ascending; clip tiny negative rounding of a singular covariance.
    radii = n_std * np.sqrt(np.clip(eigenvalues[::-1], 0.0, None))
    long_axis = eigenvectors[:, -1]
    return radii, float(np.arctan2(long_axis[1], long_axis[0]))


def ellipse_xy(
    mean: np.ndarray, covariance: np.ndarray, n_std: float = 1.0, n_points: int = ELLIPSE_POINTS
) -> np.ndarray:
    """Closed outline of shape (n_points, 2) of the ``n_std`` ellipse of a 2-D Gaussian."""
    radii, angle = ellipse_axes(covariance, n_std)
    t = np.linspace(0.0, 2.0 * np.pi, n_points)
    circle = np.stack([radii[0] * np.cos(t), radii[1] * np.sin(t)])
    rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    return (rotation @ circle).T + np.asarray(mean, dtype=float)[:2]


def square_ranges(X: np.ndarray, pad: float = 0.08) -> tuple[list[float], list[float]]:
    """x and y ranges with equal spans around the data, so circles look round.

    Computed from the data only, never from the ellipses, so they stay fixed for a whole run:
    the picture does not jump between iterations.
    """
    low, high = X[:, :2].min(axis=0), X[:, :2].max(axis=0)
    centre = (low + high) / 2
    half = visible_span(float(np.max(high - low)), float(np.max(np.abs(centre)))) / 2 * (1 + pad)
    return [centre[0] - half, centre[0] + half], [centre[1] - half, centre[1] + half]


# The view is never wider than this many times the data's own window (square_ranges): a
# component gone wide (a random start, one wandering off) must not shrink the data to a dot.
WIDEST_VIEW = 1.5


def view_ranges(
    X: np.ndarray, boxes: np.ndarray, pad: float = 0.04, widest: float = WIDEST_VIEW
) -> tuple[list[float], list[float]]:
    """Square x and y ranges holding the data's window (:func:`square_ranges`) and the
    ``boxes`` (rows of x low, y low, x high, y high: a whole run's ellipses), with ``pad`` of
    room for the lines, but at most ``widest`` times the data's window across. Data with
    no spread keep their window: their ellipses are only the fit's regularisation."""
    x_range, y_range = square_ranges(X)
    window = np.array([x_range, y_range]).T  # rows: low, high; columns: x, y
    boxes = np.asarray(boxes, dtype=float).reshape(-1, 4)
    boxes = boxes[np.isfinite(boxes).all(axis=1)]
    if len(boxes) == 0 or no_spread(X):
        return x_range, y_range
    centre, half = window.mean(axis=0), (window[1, 0] - window[0, 0]) / 2
    low = np.maximum(np.minimum(window[0], boxes[:, :2].min(axis=0)), centre - widest * half)
    high = np.minimum(np.maximum(window[1], boxes[:, 2:].max(axis=0)), centre + widest * half)
    middle = (low + high) / 2
    reach = float(np.max(high - low)) / 2 * (1 + pad)
    reach = min(reach, widest * half) if reach > half else half
    x, y = (float(c) for c in middle)
    return [x - reach, x + reach], [y - reach, y + reach]


# Data whose span is below this fraction of their size have no spread to show (rounding).
NO_SPREAD = 1e-9


def no_spread(X: np.ndarray) -> bool:
    """Whether the plotted columns of ``X`` have no spread to show (:func:`visible_span`)."""
    low, high = X[:, :2].min(axis=0), X[:, :2].max(axis=0)
    size = float(np.max(np.abs((low + high) / 2)))
    return float(np.max(high - low)) <= NO_SPREAD * max(size, 1.0)


def visible_span(span: float, size: float) -> float:
    """``span``, or for data with no spread (every value the same, up to rounding) a window
    of a fifth of their size and at least 1: a window of 1e-9 printed ticks such as
    0.999999998 and hid the point at its centre among them."""
    if span > NO_SPREAD * max(size, 1.0):
        return span
    return max(0.2 * size, 1.0)
