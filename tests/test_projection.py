"""Projecting a d-dimensional fit onto the picture's plane: the ellipse of a projected
component is the ellipse of the projected Gaussian."""

from __future__ import annotations

import numpy as np
import pytest

from emapp.build.figures import build_figure
from emapp.build.geometry import ellipse_xy
from emapp.build.projection import (
    Projection,
    column_projection,
    describe_projection,
    pca_projection,
    project_params,
    project_timeline,
)
from emapp.build.timeline import ModelSettings, compute_timeline
from emcore import MixtureParams, load_dataset

NAMES = ("a", "b", "c", "d")


def random_spd(rng: np.random.Generator, d: int) -> np.ndarray:
    A = rng.normal(size=(d, d))
    return A @ A.T + 0.5 * np.eye(d)


def full_params(rng: np.random.Generator, k: int = 3, d: int = 4) -> MixtureParams:
    covariances = np.stack([random_spd(rng, d) for _ in range(k)])
    means = rng.normal(scale=3.0, size=(k, d))
    return MixtureParams.from_covariances(np.full(k, 1 / k), means, covariances, "full")


def mahalanobis(points: np.ndarray, mean: np.ndarray, covariance: np.ndarray) -> np.ndarray:
    diff = points - mean
    return np.einsum("ni,ij,nj->n", diff, np.linalg.inv(covariance), diff)


def test_column_projection_is_the_explicit_marginal() -> None:
    params = full_params(np.random.default_rng(1))
    projected = project_params(params, column_projection(NAMES, "d", "b"))
    pick = [3, 1]
    np.testing.assert_allclose(projected.means, params.means[:, pick])
    for k in range(params.n_components):
        marginal = params.covariances[k][np.ix_(pick, pick)]
        np.testing.assert_allclose(projected.full_covariances[k], marginal, rtol=1e-12)
    np.testing.assert_array_equal(projected.weights, params.weights)


def test_projected_ellipse_is_the_ellipse_of_the_explicit_marginal() -> None:
    params = full_params(np.random.default_rng(2))
    projected = project_params(params, column_projection(NAMES, "a", "c"))
    marginal = params.covariances[0][np.ix_([0, 2], [0, 2])]
    outline = ellipse_xy(projected.means[0], projected.full_covariances[0], 2.0)
    np.testing.assert_allclose(mahalanobis(outline, params.means[0, [0, 2]], marginal), 4.0)


def test_pca_projection_matches_projected_samples() -> None:
    rng = np.random.default_rng(3)
    params = full_params(rng, k=1, d=5)
    samples = rng.multivariate_normal(params.means[0], params.covariances[0], size=200_000)
    projection = pca_projection(samples)
    projected = project_params(params, projection)
    shadow = projection.points(samples)
    np.testing.assert_allclose(shadow.mean(axis=0), projected.means[0], atol=0.03)
    np.testing.assert_allclose(
        np.cov(shadow.T), projected.full_covariances[0], rtol=0.03, atol=0.03
    )


def test_projected_ellipse_is_the_shadow_of_the_ellipsoid() -> None:
    """Every point of the d-dimensional 1-sd ellipsoid lands inside the projected ellipse,
    and some land on it: the projected ellipse is exactly the ellipsoid's outline."""
    rng = np.random.default_rng(4)
    params = full_params(rng, k=1, d=4)
    mean, cov = params.means[0], params.covariances[0]
    directions = rng.normal(size=(20_000, 4))
    directions /= np.linalg.norm(directions, axis=1, keepdims=True)
    surface = mean + directions @ np.linalg.cholesky(cov).T
    projection = Projection(
        np.linalg.qr(rng.normal(size=(4, 2)))[0].T, np.array([1.0, -2.0]), ("u", "v")
    )
    projected = project_params(params, projection)
    distances = mahalanobis(
        projection.points(surface), projected.means[0], projected.covariances[0]
    )
    assert distances.max() <= 1 + 1e-9
    assert distances.max() > 0.99


def test_pca_axes_are_orthonormal_sorted_and_deterministic() -> None:
    X = load_dataset("iris").to_numpy()
    projection = pca_projection(X)
    np.testing.assert_allclose(projection.matrix @ projection.matrix.T, np.eye(2), atol=1e-12)
    first, second = projection.explained
    assert first + second <= 1.0 and first >= second > 0
    again = pca_projection(X[::-1])
    np.testing.assert_allclose(again.matrix, projection.matrix, atol=1e-10)
    # Centred: the data's mean lands at the origin.
    np.testing.assert_allclose(projection.points(X).mean(axis=0), 0.0, atol=1e-12)


@pytest.mark.parametrize(
    ("covariance_type", "view", "expected"),
    [
        ("full", "columns", "full"),
        ("tied", "pca", "tied"),
        ("diag", "columns", "diag"),
        ("diag", "pca", "full"),
        ("spherical", "columns", "spherical"),
        ("spherical", "pca", "spherical"),
    ],
)
def test_covariance_type_is_kept_when_the_map_keeps_it(
    covariance_type: str, view: str, expected: str
) -> None:
    X = load_dataset("iris").to_numpy()
    names = tuple(load_dataset("iris").columns)
    timeline = compute_timeline(X, ModelSettings(3, covariance_type, "kmeans", 0))
    params = timeline.states[-1].params
    projection = column_projection(names, names[2], names[0]) if view == "columns" else None
    projection = projection or pca_projection(X)
    projected = project_params(params, projection)
    assert projected.covariance_type == expected
    explicit = projection.covariances(params.full_covariances)
    np.testing.assert_allclose(projected.full_covariances, explicit, atol=1e-12)


def test_project_timeline_keeps_the_run_and_draws_in_2d() -> None:
    frame = load_dataset("penguins")
    X = ((frame - frame.mean()) / frame.std()).to_numpy()
    timeline = compute_timeline(X, ModelSettings(3, "full", "kmeans", 1))
    projection = pca_projection(X)
    shown = project_timeline(timeline, projection)
    assert len(shown) == len(timeline)
    assert shown.resp is timeline.resp
    assert [s.log_likelihood for s in shown.states] == [s.log_likelihood for s in timeline.states]
    assert all(s.params.n_features == 2 for s in shown.states)
    spec = build_figure(projection.points(X), shown, projection.axis_names)
    assert len(spec["frames"]) == len(timeline)
    assert spec["layout"]["xaxis"]["title"]["text"] == "PC1"


def test_bad_column_choices_are_refused() -> None:
    with pytest.raises(ValueError, match="different"):
        column_projection(NAMES, "a", "a")
    with pytest.raises(ValueError, match="not one of"):
        column_projection(NAMES, "a", "z")
    with pytest.raises(ValueError, match="two columns"):
        pca_projection(np.ones((5, 1)))


def test_the_caption_says_what_the_picture_is() -> None:
    X = load_dataset("iris").to_numpy()
    names = list(load_dataset("iris").columns)
    pca = describe_projection(pca_projection(X), names)
    assert "PCA" in pca and "PC1" in pca and "petal_length" in pca
    columns = describe_projection(column_projection(names, names[0], names[1]), names)
    assert "marginal" in columns and names[0] in columns


# -- the 14 covariance models -------------------------------------------------------------------

# What each model becomes on the picture (emcore's names): d = 4 onto two of the columns, onto
# the PCA plane; d = 2 rotated onto its own PCA axes, or with its columns swapped.
PROJECTED = {
    #  model:     (columns,     pca,         2-D pca,     2-D swapped)
    "EII": ("EII", "EII", "EII", "EII"),
    "spherical": ("spherical", "spherical", "spherical", "spherical"),
    "EEI": ("EEI", "tied", "tied", "EEI"),
    "VEI": ("VEI", "VEE", "VEE", "VEI"),
    "EVI": ("diag", "full", "EVE", "EVI"),
    "diag": ("diag", "full", "VVE", "diag"),
    "tied": ("tied", "tied", "tied", "tied"),
    "VEE": ("VEE", "VEE", "VEE", "VEE"),
    "EVE": ("full", "full", "EVE", "EVE"),
    "VVE": ("full", "full", "VVE", "VVE"),
    "EEV": ("full", "full", "EEV", "EEV"),
    "VEV": ("full", "full", "VEV", "VEV"),
    "EVV": ("full", "full", "EVV", "EVV"),
    "full": ("full", "full", "full", "full"),
}


def obeys(covariances: np.ndarray, name: str) -> bool:
    """Whether 2x2 covariances (K, 2, 2) satisfy model ``name``'s constraint (mclust's
    letters: volume, shape, orientation)."""
    from emcore.covariance import covariance_model, decompose

    volume, shape, orientation = covariance_model(name).mclust_name
    volumes, shapes, orientations = decompose(covariances)
    close = {"rtol": 1e-6, "atol": 1e-9}
    ok = True
    if volume == "E":
        ok &= np.allclose(volumes, volumes[0], **close)
    if shape == "I":
        ok &= np.allclose(shapes, 1.0, **close)
    elif shape == "E":
        ok &= np.allclose(shapes, shapes[0], **close)
    if orientation == "I" and shape != "I":
        ok &= np.allclose(covariances[:, 0, 1], 0.0, atol=1e-9 * np.abs(covariances).max())
    elif orientation == "E":
        long_axes = np.abs(orientations[:, :, 0])  # 2-D: the sign is the only freedom
        ok &= np.allclose(long_axes, long_axes[0], atol=1e-6)
    return bool(ok)


@pytest.fixture(scope="module")
def iris() -> tuple[np.ndarray, tuple[str, ...]]:
    frame = load_dataset("iris")
    return ((frame - frame.mean()) / frame.std()).to_numpy(), tuple(frame.columns)


@pytest.mark.parametrize("name", list(PROJECTED))
def test_every_model_is_labelled_with_a_model_its_projection_obeys(name: str, iris) -> None:
    X, names = iris
    params = compute_timeline(X, ModelSettings(3, name, "kmeans", 0)).states[-1].params
    assert params.covariance_type == name
    faithful = load_dataset("faithful")
    X2 = ((faithful - faithful.mean()) / faithful.std()).to_numpy()
    params2 = compute_timeline(X2, ModelSettings(3, name, "kmeans", 0)).states[-1].params
    cases = [
        (params, column_projection(names, names[2], names[0])),
        (params, pca_projection(X)),
        (params2, pca_projection(X2)),
        (params2, column_projection(tuple(faithful.columns), *reversed(faithful.columns))),
    ]
    for (fitted, projection), expected in zip(cases, PROJECTED[name], strict=True):
        projected = project_params(fitted, projection)
        assert projected.covariance_type == expected, projection.axis_names
        assert projection.keeps(name) == (expected == name)
        explicit = projection.covariances(fitted.full_covariances)
        np.testing.assert_allclose(projected.full_covariances, explicit, atol=1e-10)
        assert obeys(explicit, expected), (name, expected, projection.axis_names)
        # ... and the label is the tightest: the model's own constraint is really lost.
        if expected != name:
            assert not obeys(explicit, name), (name, projection.axis_names)
