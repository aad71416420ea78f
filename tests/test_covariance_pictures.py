"""The 14 covariance models' names and pictures: each picture obeys its model's constraint
and varies where the model lets it; the SVG draws exactly those ellipses."""

from __future__ import annotations

import base64
import re
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from emapp.build.covariance_models import (
    COVARIANCE_LABELS,
    KINDS,
    MODEL_CHOICES,
    choice_label,
    kind,
    model_label,
    model_words,
    models_of_kind,
    short_name,
)
from emapp.build.covariance_pictures import (
    chosen_picture_html,
    picture_centres,
    picture_covariances,
    picture_svg,
    pictures_grid_html,
)
from emcore.covariance import MCLUST_MODELS, MCLUST_ORDER, covariance_model, decompose

SVG = "{http://www.w3.org/2000/svg}"


def letters(name: str) -> str:
    return covariance_model(name).mclust_name


def all_equal(values: np.ndarray, rtol: float = 1e-9) -> bool:
    values = np.asarray(values, dtype=float)
    return bool(np.allclose(values, values[0], rtol=rtol, atol=1e-12))


def all_different(values: list) -> bool:
    """No two of the three are equal (each component really has its own)."""
    return all(
        not np.allclose(values[i], values[j], rtol=1e-3, atol=1e-6)
        for i in range(len(values))
        for j in range(i + 1, len(values))
    )


def axis_of(covariance: np.ndarray) -> np.ndarray:
    """The long axis as a unit vector with a fixed sign."""
    vector = np.linalg.eigh(covariance)[1][:, -1]
    return vector * np.sign(vector[np.argmax(np.abs(vector))])


# -- names --------------------------------------------------------------------------------------


def test_the_choices_are_the_14_models_in_mclusts_order_under_emcores_names() -> None:
    assert len(MODEL_CHOICES) == 14
    assert [letters(name) for name in MODEL_CHOICES] == list(MCLUST_MODELS)
    assert tuple(model.name for model in MCLUST_ORDER) == MODEL_CHOICES
    # scikit-learn's four keep their names, so old links and scenarios keep working.
    assert {"full", "tied", "diag", "spherical"} <= set(MODEL_CHOICES)
    assert set(COVARIANCE_LABELS) == set(MODEL_CHOICES)


def test_kinds_group_the_models_as_mclust_does() -> None:
    assert [letters(n) for n in models_of_kind("spherical")] == ["EII", "VII"]
    assert [letters(n) for n in models_of_kind("diagonal")] == ["EEI", "VEI", "EVI", "VVI"]
    assert [letters(n) for n in models_of_kind("ellipsoidal")] == [
        "EEE",
        "VEE",
        "EVE",
        "VVE",
        "EEV",
        "VEV",
        "EVV",
        "VVV",
    ]
    assert sum(len(models_of_kind(which)) for which in KINDS) == 14


@pytest.mark.parametrize(
    ("name", "label", "words"),
    [
        ("VEV", "VEV: own size and angle", "same shape, own size and orientation"),
        ("full", "VVV (full): any ellipse", "own size, shape and orientation"),
        ("tied", "EEE (tied): one shared ellipse", "same size, shape and orientation"),
        ("EEV", "EEV: own angle", "same size and shape, own orientation"),
        ("diag", "VVI (diag): any ellipse on axes", "own size and shape, along the axes"),
        ("EVI", "EVI: on axes, own shape", "same size, own shape, along the axes"),
        ("EII", "EII: circles, one size", "circles, one size"),
        ("spherical", "VII (spherical): circles, own size", "circles, own size"),
    ],
)
def test_every_model_is_named_in_words(name: str, label: str, words: str) -> None:
    assert choice_label(name) == label == COVARIANCE_LABELS[name]
    assert model_words(name) == words
    assert model_label(name) == f"{short_name(name)}: {words}"


def test_the_sidebar_names_are_short_enough_for_one_line() -> None:
    """The sidebar's box is one line of about 190 px (about 34 characters); measured in
    Chromium, the longest name is 179 px."""
    assert max(len(label) for label in COVARIANCE_LABELS.values()) <= 34
    assert len(set(COVARIANCE_LABELS.values())) == 14


# -- pictures -----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", MODEL_CHOICES, ids=lambda n: letters(n))
def test_each_picture_draws_its_models_constraint(name: str) -> None:
    """Equal letters give equal volumes, shapes or orientations; V letters give three
    different ones; I gives circles (shape) or ellipses along the axes (orientation)."""
    covariances = picture_covariances(name)
    assert covariances.shape == (3, 2, 2)
    volume, shape, orientation = letters(name)
    volumes, shapes, _ = decompose(covariances)
    areas = np.pi * np.sqrt(np.linalg.det(covariances))  # what the eye compares
    if volume == "E":
        assert all_equal(volumes) and all_equal(areas)
    else:
        assert all_different(list(areas))
    if shape == "I":
        assert all_equal(shapes.ravel())  # every eigenvalue ratio is 1: circles
        np.testing.assert_allclose(shapes, 1.0, rtol=1e-9)
    elif shape == "E":
        assert all_equal(shapes[:, 0]) and shapes[0, 0] > 1.5
    else:
        assert all_different(list(shapes[:, 0]))
    off_diagonal = np.abs(covariances[:, 0, 1])
    if orientation == "I":
        np.testing.assert_allclose(off_diagonal, 0.0, atol=1e-9)  # along the axes
        if shape == "E":  # the same diagonal shape: the long axis points the same way
            assert all_equal(np.argmax(np.diagonal(covariances, axis1=1, axis2=2), axis=1))
    else:
        axes = [axis_of(c) for c in covariances]
        assert np.all(off_diagonal > 1e-3)  # not along the axes
        if orientation == "E":
            assert all(np.allclose(axes[0], axis) for axis in axes)
        else:
            assert all_different(axes)
    # EEE draws one ellipse three times; VVV three unrelated ones.
    if letters(name) == "EEE":
        assert all(np.allclose(covariances[0], c) for c in covariances)


def svg_ellipses(svg: str) -> list[dict[str, float]]:
    root = ET.fromstring(svg)
    found = []
    for element in root.iter(f"{SVG}ellipse"):
        turn = re.fullmatch(
            r"rotate\(([-0-9.e]+) ([-0-9.e]+) ([-0-9.e]+)\)", element.get("transform")
        )
        found.append(
            {
                "cx": float(element.get("cx")),
                "cy": float(element.get("cy")),
                "rx": float(element.get("rx")),
                "ry": float(element.get("ry")),
                "angle": float(turn.group(1)),
            }
        )
    return found


@pytest.mark.parametrize("name", MODEL_CHOICES, ids=lambda n: letters(n))
def test_the_svg_draws_those_three_ellipses(name: str) -> None:
    svg = picture_svg(name)
    root = ET.fromstring(svg)  # well-formed
    assert root.get("role") == "img" and root.get("aria-label") == model_label(name)
    drawn = svg_ellipses(svg)
    assert len(drawn) == 3
    for ellipse, centre, covariance in zip(
        drawn, picture_centres(), picture_covariances(name), strict=True
    ):
        assert (ellipse["cx"], ellipse["cy"]) == pytest.approx(tuple(centre), abs=0.01)
        # Back to a covariance: SVG's y points down, so its angle is minus the math angle.
        angle = np.deg2rad(-ellipse["angle"])
        rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
        rebuilt = rotation @ np.diag([ellipse["rx"] ** 2, ellipse["ry"] ** 2]) @ rotation.T
        np.testing.assert_allclose(rebuilt, covariance, atol=0.05 * covariance.max())
    # Every ellipse fits in its third of the picture.
    width, height = (float(v) for v in root.get("viewBox").split()[2:])
    for ellipse in drawn:
        assert ellipse["rx"] < min(width / 6, height / 2)
    equal_areas = letters(name)[0] == "E"
    areas = [e["rx"] * e["ry"] for e in drawn]
    assert all_equal(areas, rtol=1e-2) == equal_areas  # drawn to 0.01 units


def test_circles_draw_no_long_axis_and_ellipses_do() -> None:
    assert "<line x1" in picture_svg("EII")  # the faint coordinate axes only
    axis_lines = [svg.count("stroke-dasharray") for svg in map(picture_svg, MODEL_CHOICES)]
    assert dict(zip(MODEL_CHOICES, axis_lines, strict=True)) == {
        name: 0 if kind(name) == "spherical" else 3 for name in MODEL_CHOICES
    }


def test_the_chosen_picture_and_the_grid_are_images_with_words() -> None:
    """Streamlit's HTML sanitiser drops inline SVG, so the pictures travel as data URIs."""
    chosen = chosen_picture_html("VEV")
    assert "<svg" not in chosen and "data:image/svg+xml;base64," in chosen
    encoded = re.search(r"base64,([A-Za-z0-9+/=]+)", chosen).group(1)
    assert base64.b64decode(encoded).decode() == picture_svg("VEV", width=200)
    assert "size: own" in chosen and "shape: same" in chosen and "orientation: own" in chosen
    grid = pictures_grid_html()
    assert grid.count("data:image/svg+xml;base64,") == 14
    for name in MODEL_CHOICES:
        assert f"<b>{short_name(name)}</b>" in grid
    headings = re.findall(r'class="em-cov-kind">([^<]+)<', grid)
    assert headings == [
        "Spherical: circles",
        "Diagonal: ellipses along the axes",
        "Ellipsoidal: ellipses at any angle",
    ]
    assert grid.index("<b>VII (spherical)</b>") < grid.index("<b>EEI</b>") < grid.index("<b>EEE")


def test_unknown_models_are_refused() -> None:
    with pytest.raises(ValueError, match="Unknown covariance type"):
        picture_svg("XYZ")
