"""Synthetic Gaussian blobs from the sidebar's slider values (pure NumPy): points in the plane,
or on a line (one column, drawn as a histogram), and the true cluster of every point."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Centres are drawn in a box that grows with the number of clusters, and kept at least this
# many "spread units" apart, so blobs overlap a little at spread 1 and a lot at spread 3.
MIN_CENTRE_DISTANCE = 4.0
MAX_CENTRE_TRIES = 200
# The blobs' coordinates, as the axes, the parameter table and the downloads name them: x
# across and y up (one column: x). Not x₁ and x₂: the formulas call point i x_i, so "x₁"
# would name both the first point and the first coordinate.
COORDINATES = ("x", "y")


def coordinate_names(dimensions: int) -> tuple[str, ...]:
    """The names of the blobs' ``dimensions`` coordinates (1 or 2)."""
    return COORDINATES[:dimensions]


@dataclass(frozen=True)
class BlobSettings:
    """Everything that defines a blob data set; equal settings give identical data.

    Attributes
    ----------
    n_points : int
        Total number of points.
    n_clusters : int
        Number of true clusters.
    spread : float
        Standard deviation of a round cluster (the geometric mean of its two axes).
    stretch : float
        Ratio of a cluster's long axis to its short axis (1 = round).
    rotation : float
        Orientation of the long axis in degrees.
    own_orientation : bool
        If True every cluster gets its own orientation (spread evenly around ``rotation``);
        if False they all share it, which is the data the "tied" covariance type assumes.
    seed : int
        Seed of the random generator.
    dimensions : int
        2 (the plane) or 1 (a line: clusters are bell curves of standard deviation
        ``spread``; stretch and rotation do not apply).
    """

    n_points: int = 1000
    n_clusters: int = 3
    spread: float = 1.0
    stretch: float = 2.5
    rotation: float = 30.0
    own_orientation: bool = True
    seed: int = 0
    dimensions: int = 2


def cluster_sizes(n_points: int, n_clusters: int, rng: np.random.Generator) -> np.ndarray:
    """Unequal but not tiny cluster sizes that add up to ``n_points`` exactly."""
    # Dirichlet(4) proportions vary by a factor of about 2-3, which looks natural; the floor
    # keeps every cluster visible.
    proportions = rng.dirichlet(np.full(n_clusters, 4.0))
    proportions = np.maximum(proportions, 0.3 / n_clusters)
    proportions /= proportions.sum()
    sizes = np.floor(proportions * n_points).astype(int)
    # Largest remainders get the points lost to rounding.
    remainder = n_points - sizes.sum()
    order = np.argsort(proportions * n_points - sizes)[::-1]
    sizes[order[:remainder]] += 1
    return sizes


def cluster_centres(n_clusters: int, rng: np.random.Generator, dimensions: int = 2) -> np.ndarray:
    """Centres in units of the spread, kept apart when possible (rejection sampling).

    On a line the clusters get as much room as in the plane along one axis: the box's
    width grows with their number.
    """
    half_width = 3.0 + 2.5 * (np.sqrt(n_clusters) if dimensions == 2 else n_clusters)
    centres: list[np.ndarray] = []
    for _ in range(n_clusters):
        candidate = rng.uniform(-half_width, half_width, size=dimensions)
        for _ in range(MAX_CENTRE_TRIES):
            if all(np.linalg.norm(candidate - c) >= MIN_CENTRE_DISTANCE for c in centres):
                break
            candidate = rng.uniform(-half_width, half_width, size=dimensions)
        centres.append(candidate)
    return np.array(centres)


def cluster_covariance(spread: float, stretch: float, angle_degrees: float) -> np.ndarray:
    """A 2x2 covariance with axes ``spread * sqrt(stretch)`` and ``spread / sqrt(stretch)``."""
    angle = np.deg2rad(angle_degrees)
    rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    # Stretching keeps the area (the product of the axes) fixed, so "spread" keeps its meaning.
    axes = np.array([spread * np.sqrt(stretch), spread / np.sqrt(stretch)])
    return rotation @ np.diag(axes**2) @ rotation.T


def cluster_angles(settings: BlobSettings) -> np.ndarray:
    """Orientation of every cluster's long axis, in degrees."""
    k = np.arange(settings.n_clusters)
    if not settings.own_orientation:
        return np.full(settings.n_clusters, float(settings.rotation))
    return settings.rotation + k * 180.0 / settings.n_clusters


def make_blobs(settings: BlobSettings) -> np.ndarray:
    """Points of shape (n_points, dimensions), clusters in random order of appearance.

    The centres are placed in spread-independent units and then the clusters are scaled, so
    changing the spread makes the same clusters overlap more or less instead of moving them.
    """
    return make_labelled_blobs(settings)[0]


def make_labelled_blobs(settings: BlobSettings) -> tuple[np.ndarray, np.ndarray]:
    """:func:`make_blobs`'s points and the true cluster of each (1, 2, ...), row for row."""
    rng = np.random.default_rng(settings.seed)
    sizes = cluster_sizes(settings.n_points, settings.n_clusters, rng)
    if settings.dimensions == 1:
        centres = cluster_centres(settings.n_clusters, rng, dimensions=1)
        parts = [
            rng.normal(centre[0], settings.spread, size=(size, 1))
            for size, centre in zip(sizes, centres, strict=True)
        ]
    else:
        centres = cluster_centres(settings.n_clusters, rng)
        angles = cluster_angles(settings)
        parts = []
        for size, centre, angle in zip(sizes, centres, angles, strict=True):
            covariance = cluster_covariance(settings.spread, settings.stretch, angle)
            parts.append(rng.multivariate_normal(centre, covariance, size=size))
    points = np.vstack(parts)
    labels = np.repeat(np.arange(1, settings.n_clusters + 1), sizes)
    order = rng.permutation(len(points))
    return points[order], labels[order]
