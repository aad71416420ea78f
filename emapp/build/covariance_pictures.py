"""Small pictures of the 14 covariance models: three ellipses each (pure, SVG text).

A model's picture shows three components that obey its constraint and vary wherever it lets
them: equal or different **sizes** (areas), **shapes** (how elongated) and **orientations**
(angles), circles for the spherical models and ellipses along the axes for the diagonal ones.
Faint lines through the centres are the coordinate axes, so "along the axes" can be seen.

The ellipses come from covariance matrices (:func:`picture_covariances`), built as mclust
writes them, ``Sigma_k = lambda_k D_k A_k D_k^T``: equal letters give equal factors, so the
pictures satisfy their model exactly (``tests/test_covariance_pictures.py`` checks each one
with emcore's decomposition and reads the drawn ellipses back out of the SVG).

- :func:`picture_svg`: one model's picture, for the sidebar under the covariance choice.
- :func:`pictures_grid_html`: all 14, grouped by kind, with what the letters mean.
"""

from __future__ import annotations

import base64
import html
from functools import lru_cache

import numpy as np

from emapp.build.colors import component_hex, shade
from emapp.build.covariance_models import (
    KIND_WORDS,
    KINDS,
    choice_words,
    letter_rows,
    mclust_name,
    model_label,
    models_of_kind,
    short_name,
)
from emapp.build.geometry import ellipse_axes

N_ELLIPSES = 3
# The factors of each letter, one per ellipse. Sizes are areas (lambda in 2-D is the
# square root of the determinant, so the area is pi * lambda); shapes are the ratio of the
# long axis to the short one; orientations are the long axis's angle in degrees.
VOLUMES = {"E": (1.0, 1.0, 1.0), "V": (1.0, 1.8, 0.5)}
ELONGATIONS = {"I": (1.0, 1.0, 1.0), "E": (2.6, 2.6, 2.6), "V": (1.5, 2.6, 4.2)}
ANGLES = {"E": (30.0, 30.0, 30.0), "V": (-20.0, 45.0, 100.0)}
# Along the axes, a variable shape may also turn the long axis from across to up.
AXIS_ANGLES = {"E": (0.0, 0.0, 0.0), "V": (0.0, 90.0, 0.0)}

# Picture units: three cells side by side, and the scale of lambda = 1.
CELL = 44.0
HEIGHT = 48.0
UNIT = 9.5
AXIS_COLOUR = "#C9CED8"


def _rotation(degrees: float) -> np.ndarray:
    angle = np.deg2rad(degrees)
    return np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])


def picture_covariances(name: str) -> np.ndarray:
    """The three 2x2 covariances drawn for model ``name``, shape (3, 2, 2), in picture units.

    ``Sigma_k = lambda_k D_k A_k D_k^T`` with ``A_k = diag(a_k, 1/a_k)`` (determinant 1), so
    ``|Sigma_k| = lambda_k^2`` and an ellipse's area is ``pi * lambda_k`` (times UNIT^2).
    """
    volume, shape, orientation = mclust_name(name)
    volumes = VOLUMES[volume]
    elongations = ELONGATIONS[shape]
    if orientation == "I":
        angles = AXIS_ANGLES["V" if shape == "V" else "E"]
    else:
        angles = ANGLES[orientation]
    covariances = []
    for lam, a, degrees in zip(volumes, elongations, angles, strict=True):
        rotation = _rotation(degrees)
        covariances.append(UNIT**2 * lam * rotation @ np.diag([a, 1.0 / a]) @ rotation.T)
    return np.array(covariances)


def picture_centres() -> np.ndarray:
    """The three ellipses' centres in the SVG's coordinates (x across, y down), shape (3, 2)."""
    return np.array([[CELL * (k + 0.5), HEIGHT / 2] for k in range(N_ELLIPSES)])


def _number(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".")


def _ellipse(k: int, centre: np.ndarray, covariance: np.ndarray) -> str:
    """One component: its filled 1-sd ellipse and, unless it is a circle, its long axis.

    The picture's y axis points down, so a counterclockwise angle is a negative SVG rotation.
    """
    radii, angle = ellipse_axes(covariance)
    degrees = -np.rad2deg(angle)
    colour = component_hex(k)
    cx, cy = (_number(value) for value in centre)
    turn = f"rotate({_number(degrees)} {cx} {cy})"
    parts = [
        f'<ellipse cx="{cx}" cy="{cy}" rx="{_number(radii[0])}" ry="{_number(radii[1])}" '
        f'transform="{turn}" fill="{colour}" fill-opacity="0.28" stroke="{colour}" '
        'stroke-width="2"/>'
    ]
    if radii[0] > radii[1] * 1.05:
        left, right = _number(centre[0] - radii[0]), _number(centre[0] + radii[0])
        parts.append(
            f'<line x1="{left}" y1="{cy}" x2="{right}" y2="{cy}" transform="{turn}" '
            f'stroke="{shade(colour)}" stroke-width="1.2" stroke-dasharray="3 2"/>'
        )
    return "".join(parts)


def picture_svg(name: str, width: int = 132) -> str:
    """Model ``name``'s picture as an inline SVG ``width`` pixels wide (scales with its box).

    Raises
    ------
    ValueError
        For a name emcore does not know.
    """
    covariances = picture_covariances(name)
    centres = picture_centres()
    total = CELL * N_ELLIPSES
    height = width * HEIGHT / total
    said = html.escape(model_label(name), quote=True)
    axes = [
        f'<line x1="0" y1="{_number(HEIGHT / 2)}" x2="{_number(total)}" '
        f'y2="{_number(HEIGHT / 2)}" stroke="{AXIS_COLOUR}" stroke-width="0.8"/>'
    ]
    axes += [
        f'<line x1="{_number(x)}" y1="0" x2="{_number(x)}" y2="{_number(HEIGHT)}" '
        f'stroke="{AXIS_COLOUR}" stroke-width="0.8"/>'
        for x, _ in centres
    ]
    shapes = [
        _ellipse(k, centre, covariance)
        for k, (centre, covariance) in enumerate(zip(centres, covariances, strict=True))
    ]
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {_number(total)} '
        f'{_number(HEIGHT)}" width="{width}" height="{_number(height)}" role="img" '
        f'aria-label="{said}" style="max-width: 100%; height: auto; display: block">'
        f"<title>{said}</title>{''.join(axes)}{''.join(shapes)}</svg>"
    )


def picture_img(name: str, width: int) -> str:
    """The picture as an ``<img>`` holding the SVG as a data URI: Streamlit's HTML sanitiser
    drops inline ``<svg>`` but keeps images, and an image keeps its own proportions."""
    data = base64.b64encode(picture_svg(name, width).encode("utf-8")).decode("ascii")
    said = html.escape(model_label(name), quote=True)
    return (
        f'<img class="em-cov-picture" src="data:image/svg+xml;base64,{data}" alt="{said}" '
        f'title="{said}" width="{width}">'
    )


@lru_cache(maxsize=32)
def chosen_picture_html(name: str) -> str:
    """The sidebar's picture of the chosen model with its letters read out under it."""
    rows = "".join(
        f'<span class="em-cov-letter"><b>{letter}</b> {html.escape(word)}: '
        f"{html.escape(said)}</span>"
        for word, letter, said in letter_rows(name)
    )
    return (
        f'{GRID_CSS}<div class="em-cov-chosen">{picture_img(name, width=200)}'
        f'<div class="em-cov-letters">{rows}</div></div>'
    )


GRID_CSS = """
<style>
.em-cov-grid { display: grid; grid-template-columns: repeat(4, 120px); gap: 4px 14px;
  margin: 0 0 6px 0; }
.em-cov-tile { font-size: 0.8rem; line-height: 1.15; }
.em-cov-tile b { font-size: 0.9rem; }
.em-cov-kind { font-weight: 600; margin: 4px 0 0 0; }
.em-cov-intro { font-size: 0.85rem; line-height: 1.3; margin: 0 0 4px 0; max-width: 560px; }
.em-cov-chosen { margin: -4px 0 4px 0; }
.em-cov-picture { display: block; max-width: 100%; height: auto; }
.em-cov-letters { display: flex; flex-wrap: wrap; gap: 0 10px; font-size: 0.85rem;
  color: #3D4452; }
.em-cov-letter b { font-family: monospace; }
</style>
"""


def letters_explained_html() -> str:
    """What the three letters mean: one short paragraph above the grid."""
    return (
        '<p class="em-cov-intro">Σ<sub>k</sub> = λ<sub>k</sub> D<sub>k</sub> A<sub>k</sub> '
        "D<sub>k</sub><sup>T</sup>: <b>size</b> λ (volume), <b>shape</b> A, "
        "<b>orientation</b> D (angle). The three letters say, in that order, whether each is "
        "<b>E</b>qual for all components, <b>V</b>ariable (each its own) or the "
        "<b>I</b>dentity (round; along the axes). Fewer free parts, fewer parameters: BIC "
        "rewards a constraint the data really follow.</p>"
    )


@lru_cache(maxsize=1)
def pictures_grid_html() -> str:
    """All 14 pictures, grouped by kind, each with its letters and words (HTML for st.html)."""
    sections = [GRID_CSS, letters_explained_html()]
    for which in KINDS:
        tiles = "".join(
            f'<div class="em-cov-tile">{picture_img(name, width=120)}'
            f"<b>{html.escape(short_name(name))}</b><br>{html.escape(choice_words(name))}</div>"
            for name in models_of_kind(which)
        )
        sections.append(
            f'<div class="em-cov-kind">{html.escape(KIND_WORDS[which])}</div>'
            f'<div class="em-cov-grid">{tiles}</div>'
        )
    return "".join(sections)
