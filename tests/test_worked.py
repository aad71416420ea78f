"""The worked example's numbers against emcore's own E- and M-steps."""

from __future__ import annotations

import re
from dataclasses import astuple

import numpy as np
import pytest

from emapp.build.blobs import BlobSettings, make_blobs
from emapp.build.describe import table_data
from emapp.build.geometry import square_ranges
from emapp.build.labels import label_box
from emapp.build.timeline import REG_COVAR, ModelSettings, compute_timeline
from emapp.build.worked import (
    LINE_BREAK,
    POINT_LABEL_PX,
    POINT_PANEL_PX,
    RING_PX,
    TERMS_PER_LINE,
    component_table,
    log_component_densities,
    log_space_latex,
    mean_latex,
    mean_update,
    next_states,
    number,
    point_e_step,
    point_figure,
    point_latex,
    probability,
    responsibilities,
    responsibility_latex,
    subscript,
    sum_to_one_latex,
    vector,
    worked_example,
)
from emcore import COVARIANCE_TYPES, MixtureParams, e_step, initial_params, m_step
from emcore.steps import log_gaussian


@pytest.fixture(scope="module")
def X() -> np.ndarray:
    return make_blobs(BlobSettings(n_points=300, seed=2))


@pytest.fixture(scope="module")
def timeline(X):
    return compute_timeline(X, ModelSettings(n_components=3, seed=4))


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_densities_equal_emcore_for_every_covariance_type(X, covariance_type) -> None:
    params = initial_params(X, 3, covariance_type, "k-means++", random_state=1)
    ours = log_component_densities(X, params.means, params.full_covariances)
    np.testing.assert_allclose(ours, log_gaussian(X, params), rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_point_e_step_equals_emcore(X, covariance_type) -> None:
    params = initial_params(X, 4, covariance_type, "random", random_state=3)
    reference = e_step(X, params)
    for point in (0, 17, len(X) - 1):
        numbers = point_e_step(X, params, point)
        np.testing.assert_allclose(numbers.resp, reference.resp[point], atol=1e-12)
        assert numbers.log_prob == pytest.approx(reference.log_prob[point], abs=1e-10)
        assert numbers.resp.sum() == pytest.approx(1.0, abs=1e-12)
        np.testing.assert_allclose(numbers.joint / numbers.joint.sum(), numbers.resp, atol=1e-12)


def test_all_responsibilities_equal_emcore(X, timeline) -> None:
    params = timeline.states[2].params
    np.testing.assert_allclose(responsibilities(X, params), e_step(X, params).resp, atol=1e-12)


def test_a_far_point_keeps_finite_logs_where_densities_underflow() -> None:
    X = np.array([[0.0, 0.0], [1.0, 0.5], [0.2, 1.0], [400.0, 400.0]])
    params = MixtureParams.from_covariances(
        np.array([0.5, 0.5]),
        np.array([[0.0, 0.0], [1.0, 1.0]]),
        np.stack([np.eye(2) * 0.1, np.eye(2) * 0.2]),
    )
    numbers = point_e_step(X, params, 3)
    assert np.all(numbers.density == 0.0)  # below the smallest float
    assert np.all(np.isfinite(numbers.log_density))
    assert numbers.resp.sum() == pytest.approx(1.0)
    np.testing.assert_allclose(numbers.resp, e_step(X, params).resp[3], atol=1e-12)


@pytest.mark.parametrize(("stage", "index"), [("start", 0), ("E", 3), ("M", 4)])
def test_new_mean_is_the_engines_next_m_state(X, timeline, stage, index) -> None:
    assert timeline.stage(index) == stage
    params = timeline.states[index].params
    resp = e_step(X, params).resp
    expected = m_step(X, resp, params.covariance_type, REG_COVAR, params)
    for k in range(params.n_components):
        example = worked_example(X, timeline, index, point=5, component=k)
        np.testing.assert_allclose(example.mean.mean, expected.means[k], rtol=1e-10)
        np.testing.assert_allclose(example.timeline_mean, example.mean.mean, rtol=1e-10)
        assert example.mean.n_k == pytest.approx(resp[:, k].sum())


def test_states_the_e_and_m_steps_lead_to(timeline) -> None:
    assert next_states(timeline, 0) == (1, 2)
    assert next_states(timeline, 1) == (1, 2)  # an E state shows its own responsibilities
    assert next_states(timeline, 2) == (3, 4)  # from an M state the next E-step comes first
    assert next_states(timeline, timeline.last) == (timeline.last, None)
    example = worked_example(make_blobs(BlobSettings(n_points=300, seed=2)), timeline, 0, 0)
    assert example.e_index == 1 and example.m_index == 2


def test_the_default_component_is_the_most_responsible(X, timeline) -> None:
    example = worked_example(X, timeline, 3, point=11)
    assert example.mean.component == int(np.argmax(example.e_step.resp))


def test_an_empty_component_keeps_its_mean(X) -> None:
    resp = np.zeros((len(X), 2))
    resp[:, 0] = 1.0
    update = mean_update(X, resp, 1, np.array([9.0, 9.0]))
    assert update.empty
    np.testing.assert_array_equal(update.mean, [9.0, 9.0])
    assert "keeps its mean" in mean_latex(update, 0)


def test_mean_terms_start_the_sum_and_include_the_picked_point(X, timeline) -> None:
    example = worked_example(X, timeline, 1, point=40, component=0)
    indices = [i for i, _, _ in example.mean.terms]
    assert indices == [0, 1, 40]
    latex = mean_latex(example.mean, 40)
    assert r"r_{41,1}" in latex and vector(example.mean.mean) in latex


def test_latex_shows_the_actual_numbers(X, timeline) -> None:
    example = worked_example(X, timeline, 1, point=7)
    numbers = example.e_step
    k = example.mean.component
    formula, numbers_line = lines(responsibility_latex(numbers, k))
    assert r"\sum_j" in formula
    assert numbers_line.endswith(probability(float(numbers.resp[k])))
    assert number(float(numbers.joint[k]), 3) in numbers_line
    assert sum_to_one_latex(numbers).endswith("= 1")
    table = component_table(numbers)
    assert list(table["component"]) == ["1", "2", "3"]
    assert {"weight π_k", "density N(x | μ_k, Σ_k)", "responsibility r_ik"} <= set(table.columns)
    np.testing.assert_allclose(table["responsibility r_ik"], numbers.resp)


def lines(latex: str) -> list[str]:
    """The lines of an ``aligned`` derivation, without the environment around them."""
    assert latex.startswith(r"\begin{aligned}") and latex.endswith(r"\end{aligned}")
    body = latex.removeprefix(r"\begin{aligned}").removesuffix(r"\end{aligned}")
    return [line.strip() for line in body.split(LINE_BREAK)]


# At 1024 pixels the one-line derivations ran off the page, cutting off their results.


def test_the_new_mean_is_written_on_three_lines_ending_with_the_result(X, timeline) -> None:
    example = worked_example(X, timeline, 1, point=40, component=0)
    update = example.mean
    formula, terms, result = lines(mean_latex(update, 40))
    assert formula.startswith(r"\mu_{1}^{\text{new}} &=") and r"\sum_i" in formula
    assert terms.startswith("&=") and r"r_{41,1}" in terms and vector(update.mean) not in terms
    assert result.startswith("&=") and result.endswith(vector(update.mean))
    assert vector(update.weighted_sum) in result


def test_the_log_space_responsibility_puts_its_numbers_on_a_second_line(X, timeline) -> None:
    numbers = worked_example(X, timeline, 1, point=7).e_step
    formula, numbers_line = lines(log_space_latex(numbers, 0))
    assert r"\log p(x_{8})" in formula
    assert numbers_line.startswith("&=")
    assert numbers_line.endswith(number(float(numbers.log_joint[0] - numbers.log_prob)))


def test_many_responsibilities_add_up_to_one_over_several_lines(X) -> None:
    params = initial_params(X, 8, "full", "random", random_state=3)
    numbers = point_e_step(X, params, 5)
    written = lines(sum_to_one_latex(numbers))
    assert len(written) == 2
    assert written[0].startswith(r"\sum_k r_{6,k} &=") and written[1].startswith(r"&\quad +")
    assert written[1].endswith("= 1")
    shown = [term for line in written for term in re.findall(r"\d\.\d{4}", line)]
    assert shown == [probability(float(r)) for r in numbers.resp]
    assert all(len(re.findall(r"\d\.\d{4}", line)) <= TERMS_PER_LINE for line in written)


def test_number_formatting() -> None:
    assert number(0.0) == "0"
    assert number(0.0123456) == "0.01235"
    assert number(1.5e-15) == r"1.5 \times 10^{-15}"
    assert number(-float("inf")) == r"-\infty"
    assert probability(0.98765) == "0.9877"


def test_point_figure_rings_the_picked_point(X, timeline) -> None:
    figure = point_figure(X, timeline.states[1].params, 12)
    ring = figure.data[-1]
    assert ring.x == (X[12, 0],) and ring.y == (X[12, 1],)
    assert ring.text == ("x₁₃",)


def test_points_and_coordinates_have_different_names() -> None:
    """ "x₁" was point 1 in the worked example (x₁ = (2.033, 3.249)) and the first coordinate
    on the axes and in the parameter table: points are x₁, x₂, ..., coordinates x and y."""
    from emapp.ui.runs import blob_run

    run = blob_run(astuple(BlobSettings()), astuple(ModelSettings()))
    assert run.feature_names == ("x", "y")
    layout = run.figure.to_dict()["layout"]
    titles = [
        axis["title"]["text"]
        for axis in layout.values()
        if isinstance(axis, dict) and isinstance(axis.get("title"), dict)
    ]
    figure = point_figure(run.X, run.timeline.states[3].params, 0, run.feature_names)
    titles += [figure.layout.xaxis.title.text, figure.layout.yaxis.title.text]
    header = table_data(run.timeline, run.version, run.feature_names)["header"]
    points = [f"x{subscript(i)}" for i in range(1, 10)]
    assert not [word for word in [*titles, *header] for p in points if p in word]
    assert figure.data[-1].text == ("x₁",)
    assert point_latex(point_e_step(run.X, run.timeline.states[0].params, 0)).startswith("x_{1} =")


def label_corners(place: str, text: str, centre: np.ndarray, per_pixel: float) -> np.ndarray:
    """The label's box in data units (rows: left-bottom, right-top), as Plotly draws it."""
    box = label_box(place, "0" * len(text), RING_PX, POINT_LABEL_PX)
    return centre + box.reshape(2, 2) * per_pixel


def test_the_points_label_sits_beside_its_ring_inside_the_map_off_the_means() -> None:
    """Plotly's fixed "top right" put the teacher's "x₁" (default blobs, Iteration 2) above
    the map's top edge at 1024x768, over the data and away from its ring."""
    X = make_blobs(BlobSettings())
    params = compute_timeline(X, ModelSettings()).states[3].params
    x_range, y_range = square_ranges(X)
    low, high = np.array([x_range[0], y_range[0]]), np.array([x_range[1], y_range[1]])
    for point in range(40):
        ring = point_figure(X, params, point).data[-1]
        for side in POINT_PANEL_PX:
            per_pixel = (x_range[1] - x_range[0]) / side
            corners = label_corners(ring.textposition, ring.text[0], X[point], per_pixel)
            assert np.all(corners[0] >= low) and np.all(corners[1] <= high), (point, side)
            inside = np.all((params.means >= corners[0]) & (params.means <= corners[1]), axis=1)
            assert not inside.any(), (point, side)
    assert point_figure(X, params, 0).data[-1].textposition != "top right"


def test_the_points_label_takes_the_emptiest_side() -> None:
    """Points on the right of the picked point, none on its left: the label goes left (the
    old fixed "top right" sat on them)."""
    rng = np.random.default_rng(0)
    cloud = rng.uniform([0.3, -4.0], [4.0, 4.0], (200, 2))
    X = np.vstack([[[0.0, 0.0]], cloud, [[-4.0, -4.0], [-4.0, 4.0]]])
    params = initial_params(X, 2, "full", "k-means++", random_state=0)
    place = point_figure(X, params, 0).data[-1].textposition
    assert place.endswith("left"), place
