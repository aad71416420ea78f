"""Component colours, mean shapes, swatch text, and the colour of a point: a blend of its
components' colours weighted by its responsibilities.

**The palette.** Components 1-6 are Okabe & Ito's colour-blind-safe set (Color Universal
Design, 2008) without its black (the colour of the means' outlines and of the text) and its
yellow (1.3:1 luminance contrast with the white chart: small points of it fade out on a
projector): blue, orange, bluish green, vermillion, reddish purple, sky blue. Measured with
:mod:`colorspacious` (CIELAB ΔE76; deuteranopia and protanopia simulated after Machado et al.
2009 at full severity), any two of them are at least 26.4 apart for normal vision, 17.9 under
deuteranopia and 20.7 under protanopia (``tests/test_colors.py`` checks ≥ 15).

Components 7-10 (the app allows 10) extend it by the same rule the tests check: each was
picked, in turn, from a 15-step grid of sRGB colours of CIELAB lightness 30-80 and chroma
≥ 30 (visible on white, not greyish), as the one that maximises the smallest of: its distance
(CAM02-UCS, the smallest over normal vision, deuteranopia and protanopia) to every colour
before it, to the neutral grey and to white, and the distance (ΔE76, the same three visions)
of its 50/50 blends (:func:`blend`) with every colour before it to the neutral grey. In turn:
mint, dark olive, periwinkle and pure blue. All ten stay as far apart as the first six
(26.4 / 17.9 / 20.7). Beyond six, colour is a weaker cue (three-way blends come within 13 of
the grey under deuteranopia): every component's mean also has its own shape
(:data:`MEAN_SYMBOLS`) and number.

The neutral grey (points before the first E-step, empty components) is dark enough to be seen
on a projector and at least 21 away from every component colour for all three visions; the
old mid-grey was 4 from reddish purple under deuteranopia.
"""

from __future__ import annotations

import functools

import numpy as np
from colorspacious import cspace_convert

PALETTE_HEX: tuple[str, ...] = (
    "#0072B2",  # blue (Okabe-Ito)
    "#E69F00",  # orange (Okabe-Ito)
    "#009E73",  # bluish green (Okabe-Ito)
    "#D55E00",  # vermillion (Okabe-Ito)
    "#CC79A7",  # reddish purple (Okabe-Ito)
    "#56B4E9",  # sky blue (Okabe-Ito)
    "#00E196",  # mint (7-10: see the module's docstring)
    "#4B4B00",  # dark olive
    "#6987FF",  # periwinkle
    "#0000F0",  # pure blue
)
NEUTRAL_HEX = "#555555"
MAX_COMPONENTS = len(PALETTE_HEX)

# Every component's mean has its own shape, so colour is never the only cue (Plotly symbol
# names; an empty component's is the same shape hollow, "<symbol>-open", in the neutral grey).
MEAN_SYMBOLS: tuple[str, ...] = (
    "circle",
    "square",
    "diamond",
    "triangle-up",
    "cross",
    "x",
    "triangle-down",
    "star",
    "hourglass",
    "pentagon",
)

# Text on a swatch is black or white, whichever contrasts more (WCAG 2: at least 4.5:1 for
# any background, as one of the two always reaches 4.58:1).
INK_DARK, INK_LIGHT = "#000000", "#FFFFFF"

# Blending (see :func:`blend_cells`): the space, the share of its two leading components'
# mean chroma a tie between them keeps, and the grid (CAM02-UCS units, well under a
# just-noticeable difference) blends are rounded to.
BLEND_SPACE = "CAM02-UCS"
CHROMA_KEPT = 0.7
BLEND_QUANTUM = 0.5

_HEX_BYTES = [f"{value:02x}" for value in range(256)]


def hex_to_rgb(color: str) -> tuple[int, int, int]:
    """``"#1F77B4"`` -> ``(31, 119, 180)``."""
    value = color.lstrip("#")
    return int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16)


def palette_rgb(n_components: int) -> np.ndarray:
    """The first ``n_components`` palette colours as a float array of shape (K, 3), 0-255."""
    if not 1 <= n_components <= MAX_COMPONENTS:
        raise ValueError(f"The palette has colours for 1 to {MAX_COMPONENTS} components.")
    return np.array([hex_to_rgb(c) for c in PALETTE_HEX[:n_components]], dtype=float)


def component_hex(k: int) -> str:
    """Colour of component ``k`` (0-based)."""
    return PALETTE_HEX[k % MAX_COMPONENTS]


def shade(color: str, factor: float = 0.7) -> str:
    """A darker version of ``color`` (each channel times ``factor``), for outlines that must
    stand out on top of points of the same hue."""
    r, g, b = (round(c * factor) for c in hex_to_rgb(color))
    return f"#{r:02x}{g:02x}{b:02x}"


def mean_symbol(k: int, empty: bool = False) -> str:
    """Plotly marker symbol of component ``k``'s mean (0-based); hollow when it is empty."""
    symbol = MEAN_SYMBOLS[k % len(MEAN_SYMBOLS)]
    return f"{symbol}-open" if empty else symbol


def mean_symbols(n_components: int, empty: np.ndarray | None = None) -> list[str]:
    """:func:`mean_symbol` of every component, hollow where ``empty`` is true."""
    return [
        mean_symbol(k, bool(empty[k]) if empty is not None else False) for k in range(n_components)
    ]


def relative_luminance(color: str) -> float:
    """WCAG 2 relative luminance of ``"#rrggbb"`` (0 black, 1 white)."""
    channels = np.array(hex_to_rgb(color), dtype=float) / 255.0
    linear = np.where(channels <= 0.04045, channels / 12.92, ((channels + 0.055) / 1.055) ** 2.4)
    return float(linear @ np.array([0.2126, 0.7152, 0.0722]))


def contrast_ratio(first: str, second: str) -> float:
    """WCAG 2 contrast ratio of two colours, from 1 (the same) to 21 (black on white)."""
    high, low = sorted((relative_luminance(first), relative_luminance(second)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def text_colour(background: str) -> str:
    """Black or white, whichever contrasts more with ``background`` (always ≥ 4.58:1)."""
    dark = contrast_ratio(background, INK_DARK)
    return INK_DARK if dark >= contrast_ratio(background, INK_LIGHT) else INK_LIGHT


def swatch_inks() -> dict[str, str]:
    """Text colour on every swatch background the parameter table uses, by background."""
    return {colour: text_colour(colour) for colour in (*PALETTE_HEX, NEUTRAL_HEX)}


@functools.lru_cache(maxsize=64)
def _to_blend_space(rgb: tuple[tuple[float, ...], ...]) -> np.ndarray:
    """Rows of 0-255 sRGB in :data:`BLEND_SPACE` (cached: the palette is converted once)."""
    converted = cspace_convert(np.array(rgb, dtype=float) / 255.0, "sRGB1", BLEND_SPACE)
    converted.setflags(write=False)
    return converted


def _cells(coordinates: np.ndarray) -> np.ndarray:
    """The :data:`BLEND_QUANTUM` grid cell of every row of blend-space coordinates, as one
    int64 each (12 bits per coordinate: J' is 0-100 and a', b' within ±50 for sRGB)."""
    q = np.rint(coordinates / BLEND_QUANTUM).astype(np.int64) + 2048
    return (q[:, 0] << 24) | (q[:, 1] << 12) | q[:, 2]


def blend(resp: np.ndarray, palette: np.ndarray) -> np.ndarray:
    """Colours of shape (n, 3), uint8: :func:`blend_cells` for every point."""
    colours, inverse = blend_cells(resp, palette)
    return colours[inverse]


def blend_cells(resp: np.ndarray, palette: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Every point's components' colours mixed by its responsibilities in a perceptual
    space: the distinct colours, uint8 of shape (m, 3), and each point's row in them.

    A point owned by one component gets exactly that component's colour; a point shared
    half and half gets a colour halfway between the two *as seen* (the mean in CAM02-UCS,
    through :mod:`colorspacious`), so uncertain points stand out as in-between colours.

    A plain mean of two opposite hues (bluish green and reddish purple, blue and orange) is
    a grey, which would read as "no responsibilities yet". So the mean is pulled towards
    the point's leading component, by the fraction ``t`` of the way that a tie between its
    two leading components (their shares made equal) needs to keep :data:`CHROMA_KEPT` of
    their mean colourfulness (chroma, the distance from the grey axis). ``t`` does not
    change as the leading share grows, so the colour moves steadily from the softened
    leading colour at the tie to the pure colour (how sure a point is still shows), and it
    is 0 for nearby hues (blue and bluish green mix to teal, untouched). Where the lead
    changes between two opposite hues, the colour flips from one softened colour to the
    other: never a grey, and never a third component's hue.

    Blends are rounded to a :data:`BLEND_QUANTUM` grid in CAM02-UCS (far below a visible
    difference), so points that look the same share one colour (and, through
    :func:`point_colors`, one string in all of a run's frames), and only the distinct cells
    are converted back to sRGB. Rows of ``resp`` are renormalised (float32 rounding cannot
    overflow a channel); a row of zeros gets the neutral grey.
    """
    palette = np.asarray(palette, dtype=float).reshape(-1, 3)
    mixed = _mix(resp, palette)
    if len(mixed) == 0:
        return np.zeros((0, 3), dtype=np.uint8), np.zeros(0, dtype=np.intp)
    cells, inverse = np.unique(_cells(mixed), return_inverse=True)
    return _cell_rgb(cells, np.vstack([palette, _NEUTRAL_RGB])), inverse.reshape(-1)


_NEUTRAL_RGB = np.array([hex_to_rgb(NEUTRAL_HEX)], dtype=float)


def _mix(resp: np.ndarray, palette: np.ndarray) -> np.ndarray:
    """Every point's blend in :data:`BLEND_SPACE`, as :func:`blend_cells` describes."""
    # float32 is plenty for colours and halves the work on a (n, K) array.
    resp = np.asarray(resp, dtype=np.float32)
    totals = resp.sum(axis=1, keepdims=True)
    weights = np.divide(resp, totals, out=np.zeros_like(resp), where=totals > 0)
    ucs = _to_blend_space(tuple(map(tuple, palette.tolist())))
    chroma = np.hypot(ucs[:, 1], ucs[:, 2])
    towards = ucs[None, :, :] - ucs[:, None, :]  # towards[l, m]: from colour l to colour m
    mixed = (weights @ ucs.astype(np.float32)).astype(float)
    # The tie: the leading component's and the runner-up's shares made equal, i.e. half
    # their difference moved from the one to the other.
    rows = np.arange(len(weights))
    lead = weights.argmax(axis=1)
    leading_share = weights[rows, lead]
    weights[rows, lead] = -1.0  # (weights is a fresh array: renormalised above)
    second = weights.argmax(axis=1)
    half_gap = (leading_share - weights[rows, second]).astype(float)[:, None] / 2
    tie_mixed = mixed + half_gap * towards[lead, second]
    weights[rows, lead] = leading_share
    tie_chroma = (weights @ chroma.astype(np.float32)).astype(float)
    floor = CHROMA_KEPT * (tie_chroma + half_gap[:, 0] * (chroma[second] - chroma[lead]))
    # The t in [0, 1] that takes the tie's mix, towards the leading colour, to the floor:
    # the root of |ab + t step|^2 = floor^2, for the rows whose tie falls short (c < 0).
    leading = ucs[lead]
    ab = tie_mixed[:, 1:]
    step = leading[:, 1:] - ab
    a = np.einsum("ij,ij->i", step, step)
    b = 2.0 * np.einsum("ij,ij->i", ab, step)
    c = np.einsum("ij,ij->i", ab, ab) - floor * floor
    root = np.sqrt(np.maximum(b * b - 4.0 * a * c, 0.0))
    t = np.divide(root - b, 2.0 * a, out=np.ones_like(a), where=a > 0)
    t = np.where(c < 0.0, np.clip(t, 0.0, 1.0), 0.0)
    mixed += t[:, None] * (leading - mixed)
    nobody = np.flatnonzero(totals[:, 0] <= 0)
    if nobody.size:
        mixed[nobody] = _to_blend_space(tuple(map(tuple, _NEUTRAL_RGB.tolist())))[0]
    return mixed


def _cell_rgb(cells: np.ndarray, exact: np.ndarray) -> np.ndarray:
    """The sRGB colours (uint8) of grid cells: their centres converted back, except that the
    cells of the ``exact`` colours (0-255 rows: the palette, the neutral grey) get exactly
    those colours."""
    shifted = np.column_stack([(cells >> shift) & 0xFFF for shift in (24, 12, 0)]) - 2048
    srgb = cspace_convert(shifted * BLEND_QUANTUM, BLEND_SPACE, "sRGB1")
    srgb[~np.isfinite(srgb)] = 0.0
    rgb = np.rint(np.clip(srgb, 0.0, 1.0) * 255.0)
    exact_cells = _cells(_to_blend_space(tuple(map(tuple, exact.tolist()))))
    for cell, colour in zip(exact_cells.tolist(), exact, strict=True):
        rgb[cells == cell] = colour
    return rgb.astype(np.uint8)


def to_hex(rgb: np.ndarray) -> list[str]:
    """Rows of uint8 RGB as ``"#rrggbb"`` strings (what Plotly's marker.color takes).

    Points of one colour share one string object: most points of a fit are (nearly) owned by
    one component, so a run's thousands of per-frame colour lists hold mostly references
    (8 bytes each) rather than a 56-byte string per point and frame.
    """
    rgb = np.asarray(rgb, dtype=np.int64).reshape(-1, 3)
    codes = (rgb[:, 0] << 16) | (rgb[:, 1] << 8) | rgb[:, 2]
    unique, inverse = np.unique(codes, return_inverse=True)
    table = _HEX_BYTES
    names = [
        "#" + table[code >> 16] + table[(code >> 8) & 255] + table[code & 255]
        for code in unique.tolist()
    ]
    return [names[i] for i in inverse.tolist()]


def point_colors(resp: np.ndarray | None) -> list[str] | str:
    """Per-point hex colours from responsibilities (:func:`blend_cells`), or the neutral grey
    before any E-step. Points, and frames, of one colour share one string object."""
    if resp is None:
        return NEUTRAL_HEX
    mixed = _mix(resp, palette_rgb(resp.shape[1]))
    cells, inverse = np.unique(_cells(mixed), return_inverse=True)
    codes = cells.tolist()
    known = _CELL_NAMES
    names = [known.get(code) for code in codes]
    missing = [i for i, name in enumerate(names) if name is None]
    if missing:
        exact = np.vstack([palette_rgb(MAX_COMPONENTS), _NEUTRAL_RGB])
        fresh = to_hex(_cell_rgb(cells[missing], exact))
        if len(known) + len(missing) > _CELL_NAMES_MAX:
            known.clear()
        for i, name in zip(missing, fresh, strict=True):
            names[i] = known.setdefault(codes[i], name)
    return [names[i] for i in inverse.reshape(-1).tolist()]


# Grid cell -> its "#rrggbb" for :func:`point_colors`, shared by every frame and run: a run's
# E-states mostly revisit the same few thousand cells (5,164 over the 151 E-states of the
# worst case, against 72,882 cells frame by frame), so each is converted once and all frames
# share one string per colour. Bounded (cleared when full: about 4 MB).
_CELL_NAMES: dict[int, str] = {}
_CELL_NAMES_MAX = 1 << 15
