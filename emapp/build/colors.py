"""Component colours and the colour of a point: a blend weighted by its responsibilities."""

from __future__ import annotations

import numpy as np

# Strong, distinct colours that survive a classroom projector (D3's category10 without its
# grey, which is kept for "no responsibilities yet").
PALETTE_HEX: tuple[str, ...] = (
    "#1F77B4",  # blue
    "#FF7F0E",  # orange
    "#2CA02C",  # green
    "#D62728",  # red
    "#9467BD",  # purple
    "#17BECF",  # cyan
    "#E377C2",  # pink
    "#8C564B",  # brown
    "#BCBD22",  # olive
    "#393B79",  # navy
)
NEUTRAL_HEX = "#9AA0A6"
MAX_COMPONENTS = len(PALETTE_HEX)

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


def blend(resp: np.ndarray, palette: np.ndarray) -> np.ndarray:
    """Colours of shape (n, 3), uint8: every point's responsibilities times the palette.

    A point owned by one component gets that component's colour; a point shared half and
    half gets the mix, so uncertain points stand out as in-between colours. Rows of ``resp``
    are renormalised, so rounding in float32 responsibilities cannot push a channel past 255.
    """
    resp = np.asarray(resp, dtype=float)
    totals = resp.sum(axis=1, keepdims=True)
    weights = np.divide(resp, totals, out=np.zeros_like(resp), where=totals > 0)
    mixed = weights @ np.asarray(palette, dtype=float)
    return np.clip(np.rint(mixed), 0, 255).astype(np.uint8)


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
    """Per-point hex colours from responsibilities, or the neutral grey before any E-step."""
    if resp is None:
        return NEUTRAL_HEX
    return to_hex(blend(resp, palette_rgb(resp.shape[1])))
