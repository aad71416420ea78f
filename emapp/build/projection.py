"""Drawing a d-dimensional EM run on a plane: two chosen columns or the first two principal
components (pure numpy, no Streamlit).

EM runs in all d fitted columns; the picture is the image of everything under one linear map
``y = P x + offset`` with ``P`` of shape (2, d). The image of a Gaussian N(mu, Sigma) under
that map is exactly N(P mu + offset, P Sigma Pᵀ), so a component's projected ellipse is the
ellipse of the projected Gaussian: for two columns, the marginal of those columns; for PCA,
the shadow of the d-dimensional ellipsoid on the plane of the first two components.

:func:`project_timeline` turns a d-dimensional :class:`~emapp.build.timeline.Timeline` into a 2-D
one (responsibilities unchanged, since they belong to the points, not to the picture), so
:func:`emapp.build.figures.build_figure` draws it as it draws any 2-D run.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from emapp.build.timeline import Timeline
from emcore import MixtureParams
from emcore.covariance import covariance_model

VIEWS = ("columns", "pca")
VIEW_LABELS = {"columns": "Two columns", "pca": "PCA projection"}
# Loadings below this are rounding noise when checking a map's structure.
_TOLERANCE = 1e-9


@dataclass(frozen=True, eq=False)
class Projection:
    """The linear map ``y = matrix @ x + offset`` from the fitted space onto the picture.

    Attributes
    ----------
    matrix : ndarray of shape (2, d)
    offset : ndarray of shape (2,)
    axis_names : (str, str)
        Titles of the picture's axes.
    explained : tuple of float or None
        For PCA, the share of the total variance along each axis.
    """

    matrix: np.ndarray
    offset: np.ndarray
    axis_names: tuple[str, str]
    explained: tuple[float, float] | None = None

    @property
    def n_features(self) -> int:
        return self.matrix.shape[1]

    def points(self, X: np.ndarray) -> np.ndarray:
        """Points of shape (n, d) mapped onto the picture: shape (n, 2)."""
        return np.asarray(X, dtype=float) @ self.matrix.T + self.offset

    def means(self, means: np.ndarray) -> np.ndarray:
        """A mean maps like a point (the map is affine)."""
        return self.points(means)

    def covariances(self, full: np.ndarray) -> np.ndarray:
        """Full covariances (K, d, d) -> (K, 2, 2): ``P Σ Pᵀ`` (the offset does not matter)."""
        P = self.matrix
        return np.einsum("ij,kjl,ml->kim", P, full, P)

    @property
    def orthonormal(self) -> bool:
        """Whether the two rows of the map are orthonormal (columns and PCA both are)."""
        return bool(np.allclose(self.matrix @ self.matrix.T, np.eye(2), atol=1e-9))

    @property
    def axis_aligned(self) -> bool:
        """Whether each axis of the picture is one column (times a number), two different
        ones: the map then sends a diagonal matrix to a diagonal matrix."""
        used = np.abs(self.matrix) > _TOLERANCE
        return bool(np.all(used.sum(axis=1) == 1) and not np.any(used[0] & used[1]))

    def projected_type(self, covariance_type: str) -> str:
        """The covariance model the projected covariances ``P Σ_k Pᵀ`` still belong to, for
        covariances of model ``covariance_type`` (emcore's name of the model).

        Writing ``Σ_k = λ_k D_k A_k D_kᵀ`` (mclust's letters: volume, shape, orientation):

        - any map keeps equal matrices equal (EEE) and proportional ones proportional (VEE);
          VVV stays VVV;
        - an orthonormal map keeps λ I as λ I (EII, VII);
        - a map onto two of the columns (axis-aligned) keeps diagonal matrices diagonal, and
          equal or proportional diagonals so (EEI, VEI, VVI); EVI's equal determinants are
          lost when other columns are dropped, so it becomes VVI;
        - a rotation of the plane (two columns, PCA) keeps determinants, eigenvalues and
          angles between components: every model stays itself, except that ellipses along
          the axes are turned together (I orientation becomes E: EEI -> EEE, VVI -> VVE);
        - otherwise a model that equalises only part of the matrices (a volume, a shape or an
          orientation: EVI, VVI, EVE, VVE, EEV, VEV, EVV) does not survive dropping
          dimensions, and the projection is full (VVV). Diagonal EEI and VEI become EEE and
          VEE, as equal or proportional matrices.
        """
        model = covariance_model(covariance_type)
        volume, shape, orientation = model.mclust_name
        square = self.n_features == 2 and self.orthonormal
        if shape == "I":  # λ_k I -> λ_k P Pᵀ
            if self.orthonormal:
                return model.name
            return _named(volume + "EE")
        if self.axis_aligned and (square or orientation == "I"):
            if square or not (volume == "E" and shape == "V"):
                return model.name
            return _named("VVI")  # EVI: the dropped columns took part in the determinants
        if square:
            return _named(volume + shape + ("E" if orientation == "I" else orientation))
        if shape == "E" and orientation in "IE":  # equal or proportional matrices
            return _named(volume + "EE")
        return _named("VVV")

    def keeps(self, covariance_type: str) -> bool:
        """Whether projected covariances of ``covariance_type`` are still of that model."""
        return self.projected_type(covariance_type) == covariance_model(covariance_type).name


def _named(letters: str) -> str:
    """emcore's name of the model with mclust's ``letters`` ("VVV" -> "full")."""
    return covariance_model(letters).name


def column_projection(names: Sequence[str], x_name: str, y_name: str) -> Projection:
    """The picture of columns ``x_name`` (across) and ``y_name`` (up) of the fitted data.

    Raises
    ------
    ValueError
        When a name is not a fitted column, or both are the same.
    """
    names = [str(name) for name in names]
    for name in (x_name, y_name):
        if name not in names:
            raise ValueError(f"{name!r} is not one of the fitted columns ({', '.join(names)}).")
    if x_name == y_name:
        raise ValueError("Choose two different columns for the picture.")
    matrix = np.zeros((2, len(names)))
    matrix[0, names.index(x_name)] = 1.0
    matrix[1, names.index(y_name)] = 1.0
    return Projection(matrix, np.zeros(2), (x_name, y_name))


def pca_projection(X: np.ndarray) -> Projection:
    """The plane of the data's first two principal components, centred on the data's mean.

    Each axis's sign is fixed so its largest loading is positive: the same data always gives
    the same picture, never a mirror image.

    Raises
    ------
    ValueError
        With fewer than two columns or two points.
    """
    X = np.asarray(X, dtype=float)
    if X.ndim != 2 or X.shape[1] < 2 or X.shape[0] < 2:
        raise ValueError("A PCA picture needs at least two columns and two points.")
    centre = X.mean(axis=0)
    _, singular, vt = np.linalg.svd(X - centre, full_matrices=False)
    axes = vt[:2]
    signs = np.sign(axes[np.arange(2), np.argmax(np.abs(axes), axis=1)])
    axes = axes * signs[:, None]
    variance = singular**2
    total = float(variance.sum())
    shares = (variance[:2] / total) if total > 0 else np.zeros(2)
    return Projection(axes, -axes @ centre, ("PC1", "PC2"), (float(shares[0]), float(shares[1])))


def project_params(params: MixtureParams, projection: Projection) -> MixtureParams:
    """The mixture seen on the plane: weights unchanged, means and covariances mapped.

    The projection is labelled with the model it still belongs to (see
    :meth:`Projection.projected_type`): the model itself when the map keeps it, so the
    parameter table still reads e.g. "diag"; else the tightest model it is sure to be (full
    at worst), stored as that model stores its covariances.
    """
    full = projection.covariances(params.full_covariances)
    means = projection.means(params.means)
    kind = projection.projected_type(params.covariance_type)
    storage = {
        "full": full,
        "pooled": full[0],
        "diagonal": np.diagonal(full, axis1=1, axis2=2).copy(),
        "spherical": full[:, 0, 0].copy(),
    }[covariance_model(kind).family]
    return MixtureParams.from_covariances(params.weights.copy(), means, storage, kind)


def project_timeline(timeline: Timeline, projection: Projection) -> Timeline:
    """The same run with every state's parameters projected onto the picture's plane.

    Log-likelihoods, events and responsibilities are those of the d-dimensional fit: the
    picture changes, the fit does not.
    """
    states = tuple(
        replace(state, params=project_params(state.params, projection)) for state in timeline.states
    )
    return replace(timeline, states=states)


def describe_projection(projection: Projection, names: Sequence[str]) -> str:
    """One sentence saying what the picture shows, for the caption under the chart."""
    d = projection.n_features
    if projection.explained is None:
        x_name, y_name = projection.axis_names
        return (
            f"EM ran in all {d} fitted columns; the picture shows {x_name} across and {y_name} "
            "up, and each ellipse is its component's marginal on those two columns."
        )
    first, second = (round(100 * share) for share in projection.explained)
    return (
        f"EM ran in all {d} fitted columns; the picture is their PCA projection "
        f"(PC1 {first} %, PC2 {second} % of the variance; PC1 = {loadings(projection, 0, names)},"
        f" PC2 = {loadings(projection, 1, names)}). Each ellipse is its component projected "
        "onto this plane."
    )


def not_drawn_sentence(what: str, n_columns: int, view: str, axis_names: Sequence[str]) -> str:
    """Why a teaching tab does not show ``what`` ("k-means on the picture") for a fit in
    more than two columns: what EM ran in and what the chart draws of it, in plain text.

    Parameters
    ----------
    what : str
        What would mislead, as the end of "so ... would not be EM's own numbers".
    n_columns : int
        How many columns EM ran in (the chosen ones, not the table's).
    view : str
        How the chart draws them: ``"columns"`` (two of them) or ``"pca"``.
    axis_names : sequence of str
        The chart's axes: the two columns drawn, or PC1 and PC2.
    """
    if view == "pca":
        drawn = f"the chart shows their PCA projection, a plane through all {n_columns}"
    else:
        x_name, y_name = axis_names
        drawn = f"the chart draws two of them, {x_name} across and {y_name} up"
    return (
        f"EM ran in the {n_columns} chosen columns and {drawn}, so {what} would not be EM's "
        "own numbers. Choose one or two columns in the sidebar to see it."
    )


def loadings(projection: Projection, axis: int, names: Sequence[str], top: int = 3) -> str:
    """``"0.52 petal_length + 0.36 sepal_length − …"``: the largest loadings of one axis."""
    row = projection.matrix[axis]
    order = np.argsort(-np.abs(row))[:top]
    terms = []
    for position, j in enumerate(order):
        value = float(row[j])
        sign = ("−" if value < 0 else "") if position == 0 else (" − " if value < 0 else " + ")
        terms.append(f"{sign}{abs(value):.2f} {names[j]}")
    suffix = " + …" if len(row) > top else ""
    return "".join(terms) + suffix
