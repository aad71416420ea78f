"""The "hc" start with sample weights at any common scale (whole numbers up to 10^100 and
weights that are not whole numbers): the tree, the start and select_model's use of it."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import load_iris

from emcore import GaussianMixture, select_model
from emcore.hc import hc_tree, init_from_tree

X = load_iris().data
PLAIN = hc_tree(X)

SCALES = [1.0, 1e9, 1e12, 1e19, 1e100, 0.3, 7.25e-5]


@pytest.mark.parametrize("scale", SCALES)
def test_equal_weights_at_any_scale_give_the_unweighted_tree_and_start(scale):
    weights = np.full(len(X), scale)
    tree = hc_tree(X, sample_weight=weights, random_state=0)
    assert np.array_equal(tree.merges, PLAIN.merges)
    assert np.array_equal(tree.labels(3), PLAIN.labels(3))
    ours = init_from_tree(X, tree, 3, "full", sample_weight=weights)
    theirs = init_from_tree(X, PLAIN, 3, "full")
    np.testing.assert_allclose(ours.weights, theirs.weights, rtol=1e-12)
    np.testing.assert_allclose(ours.means, theirs.means, rtol=1e-12)


@pytest.mark.parametrize("scale", [1e9, 1e12, 1e19, 1e97, 0.3])
def test_gaussian_mixture_hc_start_with_equal_weights_is_the_unweighted_one(scale):
    plain = GaussianMixture(3, init_params="hc", max_iter=0).fit(X)
    weighted = GaussianMixture(3, init_params="hc", max_iter=0)
    weighted.fit(X, sample_weight=np.full(len(X), scale))
    np.testing.assert_allclose(weighted.weights_, plain.weights_, rtol=1e-10)
    np.testing.assert_allclose(weighted.means_, plain.means_, rtol=1e-10)


@pytest.mark.parametrize("scale", [2.0, 1e12, 1e19, 2.0**300])
def test_a_common_whole_number_scale_of_unequal_weights_does_not_change_the_tree(scale):
    """Whole-number weights are copies, divided by their greatest common divisor."""
    counts = np.random.default_rng(0).integers(1, 4, size=len(X)).astype(float)
    small = hc_tree(X, sample_weight=counts, random_state=0)
    big = hc_tree(X, sample_weight=counts * scale, random_state=0)
    assert np.array_equal(small.merges, big.merges)
    assert np.array_equal(small.rows, big.rows)


@pytest.mark.parametrize("scale", [1e20, 1e50, 1e90, 1e100, 3e30])
def test_a_common_scale_that_is_not_exact_in_floats_does_not_change_the_tree(scale):
    """Counts 1 to 4 times 1e90: 3 x 1e90 is not exactly 3e90 in floats, so the weights'
    exact greatest common divisor is not the scale; their ratios are the counts."""
    counts = np.resize([1.0, 2.0, 3.0, 4.0], len(X))
    small = hc_tree(X, sample_weight=counts, random_state=0)
    big = hc_tree(X, sample_weight=counts * scale, random_state=0)
    assert np.array_equal(small.merges, big.merges)
    assert np.array_equal(small.rows, big.rows)
    ours = init_from_tree(X, big, 3, "full", sample_weight=counts * scale)
    theirs = init_from_tree(X, small, 3, "full", sample_weight=counts)
    np.testing.assert_allclose(ours.means, theirs.means, rtol=1e-12)
    np.testing.assert_allclose(ours.covariances, theirs.covariances, rtol=1e-10)


@pytest.mark.parametrize("ratio", [1e12, 1e19, 1e100])
def test_huge_whole_number_counts_are_drawn_from_not_overflowed(ratio):
    """A count beyond int64 (weights 1 and 10^19): 2,000 leaves drawn from the copies,
    nearly all of the heavy row; the start is made and is finite."""
    weights = np.ones(len(X))
    weights[7] = ratio
    tree = hc_tree(X, sample_weight=weights, random_state=0)
    assert tree.n_leaves == 2000
    assert np.bincount(tree.rows, minlength=len(X))[7] >= 1990
    assert tree.row_weights().sum() == 2000
    start = init_from_tree(X, tree, 2, "full", sample_weight=weights)
    assert np.isfinite(start.means).all()


def test_rows_outside_the_subset_weigh_nothing_and_each_drawn_copy_one():
    weights = np.full(len(X), 1e12)
    weights[::2] = 3e12  # counts 3 and 1 after the common divisor: 300 leaves
    tree = hc_tree(X, sample_weight=weights, max_rows=100, random_state=1)
    assert tree.n_leaves == 100
    row_weights = tree.row_weights()
    assert row_weights.sum() == 100
    resp = tree.responsibilities(3)
    drawn = row_weights > 0
    np.testing.assert_allclose(resp[drawn].sum(axis=1), 1.0)
    assert (resp[~drawn] == 0).all()


@pytest.mark.parametrize("scale", [1e12, 1e19])
def test_select_model_keeps_its_hc_start_with_large_weights(scale):
    kwargs = dict(n_components=[2, 3], covariance_types=["VVV", "EEE"], random_state=0)
    plain = select_model(X, **kwargs)
    weighted = select_model(X, sample_weight=np.full(len(X), scale), **kwargs)
    assert list(weighted.table["start"]) == list(plain.table["start"])
    assert "hc" in set(weighted.table["start"])
    np.testing.assert_allclose(
        weighted.table["log_likelihood"], scale * plain.table["log_likelihood"], rtol=1e-8
    )
    assert not any("start" in note for note in weighted.notes)


def test_select_model_says_when_the_hc_start_cannot_be_made():
    weights = np.zeros(len(X))
    weights[3] = 1.0  # one row of positive weight: no tree
    table = select_model(X, n_components=[1], covariance_types=["VVV"], sample_weight=weights)
    assert any("hierarchical start ('hc') could not be made for K = 1" in n for n in table.notes)
    assert any("needs at least 2 rows" in note for note in table.notes)
    assert any("could not be made" in line for line in table.summary().splitlines())


def test_select_model_says_when_a_start_fails_in_a_cell(monkeypatch):
    import emcore.selection as selection

    real = selection.init_from_tree

    def failing(*args, **kwargs):
        raise ValueError("simulated breakdown of the hc start")

    monkeypatch.setattr(selection, "init_from_tree", failing)
    table = select_model(X, n_components=[2], covariance_types=["VVV"], random_state=0)
    monkeypatch.setattr(selection, "init_from_tree", real)
    assert table.table["status"].iloc[0] == "ok"
    assert table.table["start"].iloc[0] != "hc"
    note = next(note for note in table.notes if "simulated breakdown" in note)
    assert "The 'hc' start failed in 1 cell (full (VVV), K=2)" in note
    assert "simulated breakdown" in table.summary()
