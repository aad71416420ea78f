"""Where each mean's number goes on a chart (pure, no Streamlit).

Plotly draws a marker's text at a fixed offset in *pixels* from the marker (``textposition``),
while the means are apart by *data units*, which become more or fewer pixels with the size
of the panel: the chart is one figure for every screen, from a projector's 220 px panel to
a wide monitor's 1200 px one. So a number is placed where it is clear on every one of those
panels: a number clear of the other markers on one panel size sat on them on another (with
eight components "6" touched the diamond of 3 on a 1024x768 screen).

A place is taken for a number only if, at every panel size:

- its box keeps clear of every other mean's marker (:data:`MARKER_REACH`);
- it is nearer its own mean than any other mean by at least :data:`NEARER_BY` pixels, so it
  reads as its own mean's number;
- it keeps apart from the numbers placed before it (:data:`LABEL_AIR`): "5" beside "3"
  read as "53";
- it stays inside the panel (measured on the smallest panel, where it reaches furthest).

Means on one spot share one number ("1–3"); see :func:`stacks` and :func:`label_texts`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

# The places Plotly offers, in order of preference, with the offset of a one-digit number's
# centre from its mean in pixels (x right, y up), as Plotly draws it beside a 20 px marker
# (:func:`label_box`).
LABEL_PLACES = (
    ("top right", 20, 27),
    ("top left", -20, 27),
    ("bottom right", 20, -22),
    ("bottom left", -20, -22),
    ("middle right", 20, 2),
    ("middle left", -20, 2),
    ("top center", 0, 27),
    ("bottom center", 0, -22),
)
# Two numbers' centres closer than this (x, y, in pixels) touch: a digit's size and air.
LABEL_CLEARANCE = (22.0, 26.0)
# The means' markers and numbers as the charts draw them (``means_base_trace``).
MEAN_MARKER_PX = 20.0
LABEL_FONT_PX = 22.0
# A digit's width and height as fractions of the font size (Source Sans Pro, Helvetica and
# Arial all keep digits within these), and the narrower ", " of "1, 2".
DIGIT_WIDTH, DIGIT_HEIGHT, NARROW_WIDTH = 0.56, 0.72, 0.3
# How far from a marker's centre it is drawn (Plotly draws some symbols 1.25 times their
# nominal size, and a 2.5 px outline), with 2 px of air: a number's box must stay outside.
MARKER_REACH = MEAN_MARKER_PX / 2 / 0.8 + 1.25 + 2.0
# How much nearer its own mean than any other a number must be (pixels, box to centre).
NEARER_BY = 10.0
# Two numbers' boxes are apart when this far apart in x or in y (pixels): "53" otherwise;
# for one digit each, their centres are then LABEL_CLEARANCE apart.
LABEL_AIR = (
    LABEL_CLEARANCE[0] - DIGIT_WIDTH * LABEL_FONT_PX,
    LABEL_CLEARANCE[1] - DIGIT_HEIGHT * LABEL_FONT_PX,
)
# The data panel's height on a small projector screen, in pixels: the panel on which a
# pixel is ``per_pixel`` data units; the places are checked on panels from the smallest a
# projector gives (1024x768 with a legend) to a wide monitor's (PANEL_SIDES_PX).
NOMINAL_PANEL_PX = 320.0
SMALLEST_PANEL_PX = 220.0
LARGEST_PANEL_PX = 1200.0
PANEL_STEPS = 16
# Means closer than this many pixels (in x and in y) sit on one spot: the top marker hides
# the others, and their numbers would be drawn on top of each other.
STACKED_PX = 6.0
# What a stacked mean says instead of its number: a space, not "", so that every mean keeps
# its text element (Plotly drops empty ones, and the player moves the numbers by index).
BLANK_LABEL = " "


def panel_zooms() -> tuple[float, ...]:
    """The panel sizes a chart's numbers must be clear on, relative to the nominal panel."""
    sides = np.geomspace(SMALLEST_PANEL_PX, LARGEST_PANEL_PX, PANEL_STEPS)
    return tuple(float(side / NOMINAL_PANEL_PX) for side in sides)


def text_width(text: str, font: float = LABEL_FONT_PX) -> float:
    """A number's width in pixels: digits and dashes a digit wide, commas and spaces less."""
    return font * sum(DIGIT_WIDTH if c.isdigit() or c == "–" else NARROW_WIDTH for c in text)


def label_box(
    place: str, text: str = "1", size: float = MEAN_MARKER_PX, font: float = LABEL_FONT_PX
) -> np.ndarray:
    """The box of ``text`` drawn at ``place`` beside a marker of ``size`` pixels: left,
    bottom, right, top in pixels from the marker's centre, y up.

    As Plotly draws it (``Drawing.textPointPosition``): the text starts ``r`` = size / 1.6 +
    1 pixels right of the centre (or ends as far left); its baseline is ``r`` + a quarter of
    the font above the centre for "top", a quarter of the font below it for "middle", and
    ``r`` + three quarters of the font below it for "bottom".
    """
    vertical, horizontal = place.split(" ")
    r = size / 2 / 0.8 + 1
    width = text_width(text, font)
    left = {"right": r, "left": -r - width, "center": -width / 2}[horizontal]
    baseline = {"top": r + font / 4, "middle": -font / 4, "bottom": -(0.75 * font + r)}[vertical]
    return np.array([left, baseline, left + width, baseline + DIGIT_HEIGHT * font])


def box_distances(box: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Distance from each point (rows of ``points``, any leading shape) to ``box``."""
    dx = np.maximum(np.maximum(box[0] - points[..., 0], points[..., 0] - box[2]), 0.0)
    dy = np.maximum(np.maximum(box[1] - points[..., 1], points[..., 1] - box[3]), 0.0)
    return np.hypot(dx, dy)


def boxes_apart(box: np.ndarray, others: np.ndarray) -> np.ndarray:
    """How far apart ``box`` is from each of ``others`` (rows of boxes, any leading shape),
    in units of :data:`LABEL_AIR`: 1 or more is apart."""
    gap_x = np.maximum(others[..., 0] - box[2], box[0] - others[..., 2]) / LABEL_AIR[0]
    gap_y = np.maximum(others[..., 1] - box[3], box[1] - others[..., 3]) / LABEL_AIR[1]
    return np.maximum(gap_x, gap_y)


def stacks(points: np.ndarray, tolerance: float | Sequence[float]) -> list[int]:
    """For every point (rows of ``points``), the first point on the same spot: within
    ``tolerance`` of it in every coordinate (itself when there is none before it)."""
    points = np.asarray(points, dtype=float).reshape(len(points), -1)
    leaders: list[int] = []
    for k, point in enumerate(points):
        same = (j for j in range(k) if leaders[j] == j)
        spot = next((j for j in same if np.all(np.abs(points[j] - point) <= tolerance)), k)
        leaders.append(spot)
    return leaders


def label_texts(leaders: Sequence[int], numbers: Sequence[int] | None = None) -> list[str]:
    """Every mean's number (``numbers``, else 1, 2, ...), from :func:`stacks`: means on one
    spot share one, the first saying all of theirs ("1, 2" or "1–3"), the others
    :data:`BLANK_LABEL`. When data collapse onto a point, "2", "1" and "3" were drawn on
    top of each other."""
    numbers = range(1, len(leaders) + 1) if numbers is None else numbers
    texts = []
    for k, leader in enumerate(leaders):
        mine = [numbers[j] for j, other in enumerate(leaders) if other == k]
        texts.append(number_runs(mine) if leader == k else BLANK_LABEL)
    return texts


def number_runs(numbers: Sequence[int]) -> str:
    """``[1, 2, 3, 5]`` as ``"1–3, 5"``: short enough to sit beside one marker."""
    runs: list[list[int]] = []
    for n in numbers:
        if runs and n == runs[-1][-1] + 1:
            runs[-1].append(n)
        else:
            runs.append([n])
    return ", ".join(f"{r[0]}–{r[-1]}" if len(r) > 2 else ", ".join(map(str, r)) for r in runs)


def inside_panel(
    centre: float, low_px: float, high_px: float, value_range: Sequence[float] | None
) -> bool:
    """Whether a number reaching from ``low_px`` to ``high_px`` pixels of the mean at
    ``centre`` (along one axis) stays inside ``value_range`` (the panel's fixed range).

    Measured on the smallest panel a projector gives (:data:`SMALLEST_PANEL_PX`): a pixel is
    then the most data units, so the number fits on every larger panel too.
    """
    if value_range is None:
        return True
    low, high = value_range
    per_pixel = (high - low) / SMALLEST_PANEL_PX
    return low <= centre + low_px * per_pixel and centre + high_px * per_pixel <= high


class Placer:
    """The numbers placed so far, at every panel size (pixels, per :func:`panel_zooms`)."""

    def __init__(self, means: np.ndarray, per_pixel: float, zooms: Sequence[float]) -> None:
        # pixels[k, z]: mean k on the panel of zoom z, in pixels (y up).
        self.pixels = (
            np.asarray(means, dtype=float)[:, None, :2]
            / per_pixel
            * np.asarray(zooms, dtype=float)[None, :, None]
        )
        self.boxes: list[np.ndarray] = []  # (zooms, 4) each: a placed number's box

    def score(self, k: int, box: np.ndarray, others: Sequence[int]) -> float:
        """How clear ``box`` beside mean ``k`` is at its worst panel size: 1 or more is
        clear of ``others``' markers, nearer its own mean, and apart from placed numbers."""
        scores = [np.inf]
        if len(others):
            apart = self.pixels[list(others)] - self.pixels[k]  # (others, zooms, 2)
            distance = box_distances(box, apart)
            own = float(box_distances(box, np.zeros(2)))
            needed = max(MARKER_REACH, own + NEARER_BY)
            scores.append(float(distance.min()) / needed)
        if self.boxes:
            shift = np.concatenate([self.pixels[k], self.pixels[k]], axis=-1)  # (zooms, 4)
            placed = np.stack(self.boxes) - shift  # relative to mean k, (placed, zooms, 4)
            scores.append(float(boxes_apart(box, placed).min()))
        return min(scores)

    def place(self, k: int, box: np.ndarray) -> None:
        self.boxes.append(np.concatenate([self.pixels[k], self.pixels[k]], axis=-1) + box)


def label_positions(
    means: np.ndarray,
    per_pixel: float,
    y_range: Sequence[float] | None = None,
    x_range: Sequence[float] | None = None,
    zooms: Sequence[float] = (1.0,),
    size: float = MEAN_MARKER_PX,
) -> list[str]:
    """A Plotly ``textposition`` for every mean's number: the first place in
    :data:`LABEL_PLACES` that is clear (see the module's docstring) on every panel in
    ``zooms`` (sizes relative to the panel on which a pixel is ``per_pixel`` data units),
    or the clearest one. With ``y_range`` / ``x_range`` (the data panel's fixed ranges) a
    place whose number would be cut at the panel's edge is never chosen while another
    place is inside. ``size``: the markers' size in pixels.

    Numbers are placed in order, so the later ones step around the earlier. Means on one
    spot share one number (:func:`label_texts`): it steps around the other means only, and
    the blanks of the rest take its place."""
    means = np.asarray(means, dtype=float).reshape(len(means), -1)
    leaders = stacks(means, STACKED_PX * per_pixel)
    texts = label_texts(leaders)
    placer = Placer(means, per_pixel, zooms)
    positions: list[str] = []
    for k, (x, y) in enumerate(means[:, :2]):
        if leaders[k] != k:
            positions.append(positions[leaders[k]])
            continue
        others = [j for j in range(len(means)) if leaders[j] != k]
        boxes = {name: label_box(name, texts[k], size) for name, _, _ in LABEL_PLACES}
        inside = [
            name
            for name, box in boxes.items()
            if inside_panel(y, box[1], box[3], y_range) and inside_panel(x, box[0], box[2], x_range)
        ]
        best, best_score = (inside or list(boxes))[0], -1.0
        for name in inside:
            score = placer.score(k, boxes[name], others)
            if score >= 1.0:
                best = name
                break
            if score > best_score:
                best, best_score = name, score
        positions.append(best)
        placer.place(k, boxes[best])
    return positions
