"""The component colours for every student: colour-vision deficiency, swatch text, blends.

Distances are CIELAB ΔE76 (Euclidean in L*a*b*). Deuteranopia and protanopia are simulated
with colorspacious after Machado, Oliveira & Fernandes (2009) at full severity (100).
The threshold, 15, is the issue's "distinct at a glance" distance between two components;
a blend must be as far from the "no responsibilities yet" grey, and from every grey (its
chroma, the distance to the grey axis), as two components are from each other, or an
uncertain point could be read as a point nobody has claimed.
"""

from __future__ import annotations

import itertools

import numpy as np
import plotly.graph_objects as go
import pytest
from colorspacious import cspace_convert

from emapp.build.blobs import BlobSettings, make_blobs
from emapp.build.colors import (
    MAX_COMPONENTS,
    MEAN_SYMBOLS,
    NEUTRAL_HEX,
    PALETTE_HEX,
    blend,
    blend_cells,
    contrast_ratio,
    hex_to_rgb,
    mean_symbol,
    mean_symbols,
    palette_rgb,
    point_colors,
    swatch_inks,
    text_colour,
)
from emapp.build.describe import table_data
from emapp.build.timeline import ModelSettings, compute_timeline

DISTINCT = 15.0  # ΔE76: two colours told apart at a glance
VISIONS = {"normal": None, "deuteranopia": "deuteranomaly", "protanopia": "protanomaly"}
WCAG_AA = 4.5


def seen_lab(rgb255: np.ndarray, vision: str) -> np.ndarray:
    """CIELAB of 0-255 sRGB rows as someone with ``vision`` sees them."""
    rgb = np.asarray(rgb255, dtype=float).reshape(-1, 3) / 255.0
    if VISIONS[vision] is not None:
        cvd = {"name": "sRGB1+CVD", "cvd_type": VISIONS[vision], "severity": 100}
        rgb = np.clip(cspace_convert(rgb, cvd, "sRGB1"), 0.0, 1.0)
    return cspace_convert(rgb, "sRGB1", "CIELab")


def rgb_of(colours: list[str] | tuple[str, ...]) -> np.ndarray:
    return np.array([hex_to_rgb(c) for c in colours], dtype=float)


def min_pairwise(lab: np.ndarray) -> float:
    pairs = itertools.combinations(range(len(lab)), 2)
    return min(np.linalg.norm(lab[i] - lab[j]) for i, j in pairs)


def distances_to(lab: np.ndarray, other: np.ndarray) -> np.ndarray:
    return np.linalg.norm(lab - other.reshape(1, 3), axis=1)


def half_and_half(n_components: int) -> np.ndarray:
    """Responsibilities 50/50 for every ordered pair of components (ties both ways)."""
    rows = []
    for i, j in itertools.permutations(range(n_components), 2):
        for share in (0.5, 0.51):
            row = np.zeros(n_components)
            row[i], row[j] = share, 1.0 - share
            rows.append(row)
    return np.array(rows)


# -- the palette -------------------------------------------------------------------------------


@pytest.mark.parametrize("vision", VISIONS)
@pytest.mark.parametrize("n_components", [6, MAX_COMPONENTS])
def test_component_colours_are_distinct_for_every_vision(vision: str, n_components: int) -> None:
    lab = seen_lab(palette_rgb(n_components), vision)
    assert min_pairwise(lab) >= DISTINCT


def test_the_old_category10_palette_fails_the_same_test() -> None:
    """The measure is sharp enough to catch the issue's khaki (orange, green and red)."""
    category10 = rgb_of(["#1F77B4", "#FF7F0E", "#2CA02C", "#D62728", "#9467BD", "#17BECF"])
    assert min_pairwise(seen_lab(category10, "deuteranopia")) < 8
    assert min_pairwise(seen_lab(category10, "protanopia")) < 8


@pytest.mark.parametrize("vision", VISIONS)
def test_component_colours_are_far_from_the_neutral_grey_and_from_white(vision: str) -> None:
    lab = seen_lab(palette_rgb(MAX_COMPONENTS), vision)
    assert distances_to(lab, seen_lab(rgb_of([NEUTRAL_HEX]), vision)).min() >= DISTINCT
    assert distances_to(lab, seen_lab(rgb_of(["#FFFFFF"]), vision)).min() >= DISTINCT


def test_the_palette_has_a_distinct_colour_for_every_component() -> None:
    assert len(set(PALETTE_HEX)) == MAX_COMPONENTS == 10
    assert NEUTRAL_HEX not in PALETTE_HEX


# -- text on swatches ---------------------------------------------------------------------------


@pytest.mark.parametrize("background", [*PALETTE_HEX, NEUTRAL_HEX])
def test_swatch_text_has_wcag_aa_contrast(background: str) -> None:
    ink = swatch_inks()[background]
    assert ink == text_colour(background)
    assert contrast_ratio(background, ink) >= WCAG_AA
    other = "#FFFFFF" if ink == "#000000" else "#000000"
    assert contrast_ratio(background, ink) >= contrast_ratio(background, other)


def test_the_parameter_table_says_which_text_colour_each_swatch_takes() -> None:
    X = make_blobs(BlobSettings(n_points=120, n_clusters=3, seed=2))
    timeline = compute_timeline(X, ModelSettings(n_components=4, seed=0), max_iterations=3)
    table = table_data(timeline, "v", ("x", "y"))
    for colours in table["colours"]:
        assert all(contrast_ratio(c, table["inks"][c]) >= WCAG_AA for c in colours)


def test_contrast_ratio_matches_wcag() -> None:
    assert contrast_ratio("#000000", "#FFFFFF") == pytest.approx(21.0)
    assert contrast_ratio("#FFFFFF", "#000000") == pytest.approx(21.0)
    assert contrast_ratio("#0072B2", "#0072B2") == pytest.approx(1.0)
    assert contrast_ratio("#777777", "#FFFFFF") == pytest.approx(4.48, abs=0.01)  # the classic miss


# -- blends ------------------------------------------------------------------------------------


@pytest.mark.parametrize("vision", VISIONS)
@pytest.mark.parametrize("n_components", [6, MAX_COMPONENTS])
def test_a_half_and_half_blend_is_never_the_no_responsibilities_grey(
    vision: str, n_components: int
) -> None:
    colours = blend(half_and_half(n_components), palette_rgb(n_components))
    lab = seen_lab(colours, vision)
    assert distances_to(lab, seen_lab(rgb_of([NEUTRAL_HEX]), vision)).min() >= DISTINCT


@pytest.mark.parametrize("n_components", [6, MAX_COMPONENTS])
def test_a_half_and_half_blend_is_never_a_grey(n_components: int) -> None:
    """Chroma is the distance to the nearest grey of any lightness: a plain mean of opposite
    hues (bluish green and reddish purple, say) would be about 4 from one."""
    lab = seen_lab(blend(half_and_half(n_components), palette_rgb(n_components)), "normal")
    assert np.hypot(lab[:, 1], lab[:, 2]).min() >= DISTINCT


@pytest.mark.parametrize("vision", VISIONS)
@pytest.mark.parametrize("n_components", [3, 6])
def test_any_mixture_of_up_to_six_components_stays_away_from_the_grey(
    vision: str, n_components: int
) -> None:
    resp = np.random.default_rng(n_components).dirichlet(np.full(n_components, 0.5), 4000)
    lab = seen_lab(blend(resp, palette_rgb(n_components)), vision)
    assert distances_to(lab, seen_lab(rgb_of([NEUTRAL_HEX]), vision)).min() >= DISTINCT


def test_the_plain_mean_of_opposite_hues_would_be_grey() -> None:
    """Why blends keep their colourfulness: the perceptual mean alone is not enough."""
    ucs = cspace_convert(palette_rgb(5)[[2, 4]] / 255, "sRGB1", "CAM02-UCS")
    mean = cspace_convert(ucs.mean(axis=0), "CAM02-UCS", "CIELab")
    assert np.hypot(mean[1], mean[2]) < 5


def test_the_colour_still_tells_how_sure_a_point_is() -> None:
    """Once a component leads, a larger share brings the colour steadily closer to its own:
    the pull away from grey keeps gradation (no flat stretch of one colour), never back."""
    palette = palette_rgb(6)
    shares = np.linspace(0.5, 1.0, 11)  # the leading component's share
    for i, j in itertools.permutations(range(6), 2):
        resp = np.zeros((len(shares), 6))
        resp[:, i], resp[:, j] = shares, 1.0 - shares
        resp[0, i] += 1e-9  # i leads the tie
        lab = seen_lab(blend(resp, palette), "normal")
        to_i = distances_to(lab, seen_lab(palette[i], "normal"))
        # Never farther (beyond rounding: CIELAB is not CAM02-UCS, sRGB has 8 bits) and, by
        # the midway share, closer by at least a just-noticeable difference (2.3).
        assert np.all(np.diff(to_i) <= 1.0), (i, j)
        assert to_i[-1] == 0.0 and to_i[0] >= 5.0
        assert to_i[len(shares) // 2] <= to_i[0] - 2.3, (i, j)


def test_one_owner_gives_the_exact_palette_colour_and_nobody_the_neutral_grey() -> None:
    resp = np.vstack([np.eye(MAX_COMPONENTS), np.zeros((1, MAX_COMPONENTS))])
    expected = rgb_of([*PALETTE_HEX, NEUTRAL_HEX])
    np.testing.assert_array_equal(blend(resp, palette_rgb(MAX_COMPONENTS)), expected)


def test_nearly_owned_points_share_their_components_colour_and_string() -> None:
    """The memory trick: blends are rounded, so almost sure points are the pure colour."""
    rng = np.random.default_rng(0)
    doubt = rng.uniform(0.0, 1e-3, 500)
    resp = np.column_stack([1.0 - doubt, doubt, np.zeros(500)])
    colours = point_colors(resp)
    assert set(colours) == {PALETTE_HEX[0].lower()}
    assert len({id(c) for c in colours}) == 1


def test_blend_cells_are_distinct_and_index_every_point() -> None:
    resp = np.random.default_rng(1).dirichlet(np.ones(4), 2000)
    colours, inverse = blend_cells(resp, palette_rgb(4))
    assert inverse.shape == (2000,) and inverse.max() < len(colours) <= 2000
    np.testing.assert_array_equal(colours[inverse], blend(resp, palette_rgb(4)))


# -- mean shapes -------------------------------------------------------------------------------


@pytest.mark.parametrize("n_components", range(1, MAX_COMPONENTS + 1))
def test_every_components_mean_has_its_own_shape(n_components: int) -> None:
    symbols = mean_symbols(n_components)
    assert len(set(symbols)) == n_components
    assert symbols == [mean_symbol(k) for k in range(n_components)]


def test_mean_shapes_are_plotly_symbols_and_empty_ones_are_hollow() -> None:
    empty = np.array([k % 2 == 1 for k in range(MAX_COMPONENTS)])
    symbols = mean_symbols(MAX_COMPONENTS, empty)
    assert symbols[1] == f"{MEAN_SYMBOLS[1]}-open" and symbols[0] == MEAN_SYMBOLS[0]
    go.scatter.Marker(symbol=symbols)  # raises on a name Plotly does not know
    go.scatter.Marker(symbol=list(MEAN_SYMBOLS))
