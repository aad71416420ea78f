"""Every teaching scenario really shows its lesson with emcore, and fits the sidebar."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import adjusted_rand_score

from emapp.build.blobs import make_blobs, make_labelled_blobs
from emapp.build.covariance_models import MODEL_CHOICES
from emapp.build.kmeans_view import compare
from emapp.build.presets import PRESET_NAMES, PRESETS, is_applied, preset_by_name, session_values
from emapp.build.selection_view import best_row, compare_models
from emapp.build.timeline import compute_timeline
from emapp.ui.sidebar import MAX_POINTS
from emcore import INIT_METHODS, GaussianMixture

SIDEBAR_KEYS = {
    "source",
    "n_points",
    "n_clusters",
    "spread",
    "stretch",
    "rotation",
    "own_orientation",
    "data_seed",
    "dimensions",
    "n_components",
    "covariance_type",
    "init",
    "model_seed",
}


def run_of(name: str):
    preset = preset_by_name(name)
    X = make_blobs(preset.blobs)
    return preset, X, compute_timeline(X, preset.model)


def kmeans_comparison(X, timeline):
    return compare(X, timeline.states[0].params.means, timeline.states[-1].params)


@pytest.mark.parametrize("preset", PRESETS, ids=PRESET_NAMES)
def test_values_fit_the_sidebar_widgets(preset) -> None:
    values = session_values(preset)
    assert set(values) == SIDEBAR_KEYS
    assert values["source"] == "Blobs"
    assert 50 <= values["n_points"] <= MAX_POINTS and values["n_points"] % 50 == 0
    assert 1 <= values["n_clusters"] <= 8
    assert 0.2 <= values["spread"] <= 3.0 and 1.0 <= values["stretch"] <= 6.0
    assert isinstance(values["rotation"], int) and values["rotation"] % 5 == 0
    assert values["covariance_type"] in MODEL_CHOICES and values["init"] in INIT_METHODS
    assert 1 <= values["n_components"] <= 10
    assert values["dimensions"] in (1, 2)
    assert preset.lesson.endswith(".") and len(preset.lesson) < 260


def test_is_applied_until_a_setting_changes() -> None:
    preset = PRESETS[0]
    state = session_values(preset)
    assert is_applied(preset, state)
    assert not is_applied(preset, {**state, "spread": 2.0})
    assert not is_applied(PRESETS[1], state)


def test_unknown_name_is_refused() -> None:
    with pytest.raises(ValueError, match="Unknown scenario"):
        preset_by_name("nope")


def test_one_column_is_a_first_lesson_on_a_line() -> None:
    preset, X, timeline = run_of("One column")
    assert preset is PRESETS[0] and X.shape == (preset.blobs.n_points, 1)
    _, truth = make_labelled_blobs(preset.blobs)
    # The curves really move: from a start far from both bumps onto them, in a few steps.
    assert timeline.converged and 5 <= timeline.n_iterations <= 40
    start, end = timeline.states[0].params, timeline.states[-1].params
    centres = np.sort([X[truth == k, 0].mean() for k in (1, 2)])
    assert np.abs(end.means - start.means).max() > 2 * preset.blobs.spread
    order = np.argsort(end.means[:, 0])
    np.testing.assert_allclose(end.means[order, 0], centres, atol=0.2 * preset.blobs.spread)
    # Every point is shared by heights: the hard labels match the true bumps...
    labels = timeline.resp[timeline.last].argmax(axis=1)
    assert adjusted_rand_score(truth, labels) > 0.95
    # ...and the taller bump earns the larger weight.
    sizes = np.bincount(truth)[1:] / len(truth)
    tall = int(np.argmax(sizes))
    centre_of_tall = X[truth == tall + 1, 0].mean()
    heavier = int(np.argmax(end.weights))
    assert abs(end.means[heavier, 0] - centre_of_tall) < 0.2 * preset.blobs.spread
    np.testing.assert_allclose(np.sort(end.weights), np.sort(sizes), atol=0.03)


def test_well_separated_converges_fast_with_certain_points_like_kmeans() -> None:
    _, X, timeline = run_of("Well separated")
    assert timeline.converged and timeline.n_iterations <= 15
    comparison = kmeans_comparison(X, timeline)
    assert comparison.share_differ < 0.01
    assert comparison.share_shared < 0.01


def test_overlapping_shares_many_points() -> None:
    _, X, timeline = run_of("Overlapping")
    comparison = kmeans_comparison(X, timeline)
    assert comparison.share_shared > 0.2


def test_elongated_fits_long_ellipses_that_kmeans_cuts() -> None:
    _, X, timeline = run_of("Elongated")
    comparison = kmeans_comparison(X, timeline)
    assert timeline.converged
    assert comparison.elongation > 4
    assert comparison.share_differ > 0.05


def test_same_shape_own_direction_is_a_case_for_eev_not_full() -> None:
    """The clusters share size and shape and each has its own angle: fitting both models on
    the scenario's data, EEV's BIC is lower than full's (VVV) by well over the noise, and
    lower than every other model's; the run in the sidebar finds the clusters."""
    preset, X, timeline = run_of("Same shape, own direction")
    assert preset.model.covariance_type == "EEV" and preset.blobs.own_orientation
    k = preset.blobs.n_clusters
    bic = {
        name: GaussianMixture(k, covariance_type=name, random_state=0).fit(X).bic(X)
        for name in MODEL_CHOICES
    }
    assert bic["EEV"] < bic["full"] - 10  # 4 parameters fewer cost 4 ln 600 = 25.6 less
    assert min(bic, key=bic.get) == "EEV"
    assert bic["tied"] > bic["EEV"] + 100  # one shared angle cannot turn the clusters
    _, truth = make_labelled_blobs(preset.blobs)
    assert timeline.converged
    labels = timeline.responsibilities(len(timeline) - 1).argmax(axis=1)
    assert adjusted_rand_score(truth, labels) > 0.95
    assert "EEV" in preset.lesson and "VVV" in preset.lesson


def test_bad_start_really_collapses() -> None:
    _, _, timeline = run_of("Bad start that collapses")
    kinds = {event.kind for event in timeline.events_until(timeline.last)}
    assert kinds & {"collapsed", "emptied"}


@pytest.mark.slow
def test_too_many_components_leaves_small_ones_and_bic_prefers_fewer() -> None:
    preset, X, timeline = run_of("Too many components")
    weights = timeline.states[-1].params.weights
    assert weights.min() < 0.05
    table = compare_models(X, kmax=preset.model.n_components, n_init=3).table
    best = best_row(table, "bic")
    assert int(best["n_components"]) == preset.blobs.n_clusters < preset.model.n_components
    # The log-likelihood alone would take more components.
    full = table[table["covariance_type"] == "full"].set_index("n_components")
    assert np.all(np.diff(full["log_likelihood"].to_numpy()) > -1e-6 * len(X))
