"""Teaching scenarios a teacher picks in one click: data and model settings plus a lesson.

Pure definitions (no Streamlit). Every scenario was chosen so that its lesson really shows
with these exact settings, and ``tests/test_presets.py`` checks it with emcore: the
well-separated one agrees with k-means, the collapsing one collapses, and so on.
"""

from __future__ import annotations

from dataclasses import dataclass

from emapp.build.blobs import BlobSettings
from emapp.build.timeline import ModelSettings


@dataclass(frozen=True)
class Preset:
    """One scenario: what to set and the one line it teaches."""

    name: str
    lesson: str
    blobs: BlobSettings
    model: ModelSettings


PRESETS: tuple[Preset, ...] = (
    Preset(
        "One column",
        "A first lesson on a line: the histogram is the data, each curve a component. The "
        "E-step shares every point between the curves by their heights there; the M-step moves "
        "each curve onto its share, and the taller bump earns the larger weight.",
        BlobSettings(400, 2, 1.0, 1.0, 0.0, True, 4, dimensions=1),
        ModelSettings(2, "full", "random", 0),
    ),
    Preset(
        "Well separated",
        "Round clusters far apart: EM converges in a few steps, almost every point is 100 % "
        "one colour, and k-means finds the very same clusters.",
        BlobSettings(500, 3, 0.6, 1.0, 0.0, True, 1),
        ModelSettings(3, "full", "k-means++", 1),
    ),
    Preset(
        "Overlapping",
        "Where clusters overlap, points are shared (mixed colours): a responsibility is a "
        "probability, not a verdict, while k-means must force every point into one cluster.",
        BlobSettings(800, 3, 2.0, 1.5, 30.0, True, 2),
        ModelSettings(3, "full", "k-means++", 2),
    ),
    Preset(
        "Elongated",
        "Long, thin clusters: full covariances let EM's ellipses stretch along them, while "
        "k-means only measures distances to the means and cuts them with straight lines.",
        BlobSettings(800, 3, 1.0, 6.0, 30.0, True, 2),
        ModelSettings(3, "full", "k-means++", 2),
    ),
    Preset(
        "Same shape, own direction",
        "Three clusters cut from one ellipse, each turned its own way: EEV (same size and "
        "shape, own orientation) describes them with 4 numbers fewer than full (VVV), and "
        "BIC prefers it (see 'Choose K'); tied (EEE) cannot turn them.",
        BlobSettings(600, 3, 1.0, 4.0, 0.0, True, 3),
        ModelSettings(3, "EEV", "k-means++", 0),
    ),
    Preset(
        "Bad start that collapses",
        "A random start with too many components: one component shrinks onto a few points "
        "until its ellipse is a needle, and the likelihood rises although the fit is worse. "
        "Try another seed or k-means++.",
        BlobSettings(150, 2, 1.0, 2.5, 30.0, True, 0),
        ModelSettings(4, "full", "random", 1),
    ),
    Preset(
        "Too many components",
        "Seven components for three clusters: EM splits real clusters and leaves some "
        "components with a few percent of the points. The likelihood always rewards more "
        "components; BIC does not (see 'Choose K').",
        BlobSettings(600, 3, 1.0, 2.0, 30.0, True, 0),
        ModelSettings(7, "full", "random_from_data", 0),
    ),
)
PRESET_NAMES: tuple[str, ...] = tuple(p.name for p in PRESETS)


def preset_by_name(name: str) -> Preset:
    for preset in PRESETS:
        if preset.name == name:
            return preset
    raise ValueError(f"Unknown scenario {name!r}; choose one of {', '.join(PRESET_NAMES)}.")


def session_values(preset: Preset) -> dict[str, object]:
    """The sidebar's widget keys and the values that make up ``preset``.

    Types match the widgets (an int slider needs an int), or Streamlit would reject them.
    """
    blobs, model = preset.blobs, preset.model
    return {
        "source": "Blobs",
        "n_points": int(blobs.n_points),
        "n_clusters": int(blobs.n_clusters),
        "spread": float(blobs.spread),
        "stretch": float(blobs.stretch),
        "rotation": int(blobs.rotation),
        "own_orientation": bool(blobs.own_orientation),
        "data_seed": int(blobs.seed),
        "dimensions": int(blobs.dimensions),
        "n_components": int(model.n_components),
        "covariance_type": model.covariance_type,
        "init": model.init,
        "model_seed": int(model.seed),
    }


def is_applied(preset: Preset, state: dict[str, object]) -> bool:
    """Whether the sidebar still shows ``preset`` (the lesson is only promised for it)."""
    return all(state.get(key) == value for key, value in session_values(preset).items())
