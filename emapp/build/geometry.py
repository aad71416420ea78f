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


# Data whose span is below this fraction of their size have no spread to show (rounding).
NO_SPREAD = 1e-9


def visible_span(span: float, size: float) -> float:
    """``span``, or for data with no spread (every value the same, up to rounding) a window
    of a fifth of their size and at least 1: a window of 1e-9 printed ticks such as
    0.999999998 and hid the point at its centre among them."""
    if span > NO_SPREAD * max(size, 1.0):
        return span
    return max(0.2 * size, 1.0)
