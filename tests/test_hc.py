"""emcore.hc: mclust's model-based hierarchical agglomeration, the ``init_params="hc"`` start.

The reference partitions are mclust 6.0's own, ``hclass(hc(X, "VVV", use = "SVD"), 1:9)``
on iris and Old Faithful (and the same for EII), written by bench/mclust_hc_fixture.R into
tests/fixtures/mclust/hc_{iris,faithful}.json. The trees agree exactly, at every K, both
from the raw data (through this module's own SVD transform) and from mclust's transformed
data, so the tests ask for equal partitions, not a high adjusted Rand index.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from emcore import GaussianMixture, initial_params, load_dataset
from emcore.hc import (
    SUBSET_ROWS,
    agglomerate,
    hc_partitions,
    hc_tree,
    init_from_labels,
    init_from_tree,
    svd_transform,
)
from emcore.init import INIT_METHODS

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "mclust"
DATA_SETS = ("iris", "faithful")
MODELS = ("VVV", "EII")


def fixture(name: str) -> dict:
    return json.loads((FIXTURES / f"hc_{name}.json").read_text())


def data(name: str) -> np.ndarray:
    return load_dataset(name).to_numpy(dtype=float)


def same_partition(a: np.ndarray, b: np.ndarray) -> bool:
    """True when two labelings group the rows alike, whatever the labels' names."""
    pairs = set(zip(np.asarray(a).tolist(), np.asarray(b).tolist(), strict=True))
    return len(pairs) == len(set(np.asarray(a).tolist())) == len(set(np.asarray(b).tolist()))


def leaf_partition(merges: np.ndarray, n: int, k: int) -> np.ndarray:
    """The cut at k of a merge list, by applying the merges one by one (the slow, plain way)."""
    labels = np.arange(n)
    for keep, absorbed in merges[: n - k]:
        labels[labels == absorbed] = keep
    return labels


@pytest.mark.parametrize("name", DATA_SETS)
def test_fixture_is_mclusts_run_on_this_data(name):
    reference = fixture(name)
    assert reference["mclust_version"] == "6.0.0"
    assert (reference["hcModelName"], reference["hcUse"]) == ("VVV", "SVD")
    assert (reference["n"], reference["d"]) == data(name).shape


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("name", DATA_SETS)
def test_partitions_equal_mclusts_from_the_raw_data(name, model):
    reference = fixture(name)[model]["labels"]
    tree = hc_tree(data(name), model=model)
    for k in range(1, 10):
        labels = tree.labels(k)
        assert len(np.unique(labels)) == k
        assert same_partition(labels, reference[str(k)]), f"{name} {model} K={k}"


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("name", DATA_SETS)
def test_partitions_equal_mclusts_on_mclusts_transformed_data(name, model):
    """The agglomeration alone, on the very numbers mclust's Fortran merged."""
    record = fixture(name)[model]
    Z = np.array(record["transformed"])
    merges, _ = agglomerate(Z, model)
    for k in range(1, 10):
        labels = leaf_partition(merges, len(Z), k)
        assert same_partition(labels, record["labels"][str(k)]), f"{name} {model} K={k}"


@pytest.mark.parametrize("name", DATA_SETS)
def test_svd_transform_is_mclusts_up_to_column_signs(name):
    ours = svd_transform(data(name))
    theirs = np.array(fixture(name)["VVV"]["transformed"])
    assert ours.shape == theirs.shape
    # An SVD's singular vectors are defined up to sign; the criterion does not see signs.
    signs = np.sign((ours * theirs).sum(axis=0))
    np.testing.assert_allclose(ours * signs, theirs, atol=1e-12)


def test_svd_transform_drops_constant_and_collinear_directions():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(30, 2))
    X = np.column_stack([X, 5.0 * np.ones(30), X[:, 0] + X[:, 1]])  # constant, collinear
    Z = svd_transform(X)
    assert Z.shape == (30, 2)
    assert np.isfinite(Z).all()


def test_cuts_are_the_plain_application_of_the_merges():
    X = data("faithful")
    tree = hc_tree(X)
    for k in (1, 2, 5, 40, len(X)):
        assert same_partition(tree.labels(k), leaf_partition(tree.merges, len(X), k))


points = arrays(
    np.float64,
    st.tuples(st.integers(2, 24), st.integers(1, 3)),
    elements=st.floats(-100, 100, allow_nan=False).map(lambda v: round(v, 1)),
)


@settings(max_examples=60, deadline=None)
@given(X=points, model=st.sampled_from(MODELS))
def test_every_cut_has_k_groups_and_refines_the_one_above(X, model):
    """Whatever the data (duplicates and constant columns included): K non-empty groups,
    labelled 0 .. K-1, and the K groups split the K-1 ones (the cuts are nested)."""
    tree = hc_tree(X, model=model)
    previous = None
    for k in range(1, len(X) + 1):
        labels = tree.labels(k)
        assert labels.shape == (len(X),)
        assert np.array_equal(np.unique(labels), np.arange(k))
        if previous is not None:
            # Each group of the finer cut lies inside one group of the coarser one.
            assert len(set(zip(labels.tolist(), previous.tolist(), strict=True))) == k
        previous = labels


@pytest.fixture(scope="module")
def large() -> np.ndarray:
    rng = np.random.default_rng(3)
    return np.concatenate([rng.normal(centre, 1.0, size=(700, 2)) for centre in (0, 20, 40)])


@pytest.fixture(scope="module")
def large_tree(large) -> object:
    return hc_tree(large, random_state=7)


def test_more_than_2000_rows_builds_the_tree_on_2000_drawn_rows(large, large_tree):
    assert len(large) > SUBSET_ROWS
    rows = large_tree.rows
    assert rows.shape == (SUBSET_ROWS,)
    assert np.array_equal(rows, np.unique(rows))  # distinct, sorted
    assert large_tree.n_samples == len(large)
    assert large_tree.labels(3).shape == (SUBSET_ROWS,)


def test_the_subset_follows_the_seed_not_the_row_order():
    X = np.random.default_rng(0).normal(size=(300, 2))
    rows = hc_tree(X, max_rows=100, random_state=7).rows
    assert rows.shape == (100,)
    assert not np.array_equal(hc_tree(X, max_rows=100, random_state=8).rows, rows)
    order = np.random.default_rng(1).permutation(len(X))
    shuffled = hc_tree(X[order], max_rows=100, random_state=7).rows
    assert np.array_equal(np.sort(order[shuffled]), rows)  # the same rows of data
    assert np.array_equal(hc_tree(X, max_rows=300).rows, np.arange(300))  # n <= max_rows
    assert len(hc_tree(X[:101], max_rows=100, random_state=0).rows) == 100


def test_subset_partitions_cover_every_row(large, large_tree):
    partitions = hc_partitions(large, [1, 3], tree=large_tree)
    labels = partitions[3]
    assert labels.shape == (len(large),)
    assert np.array_equal(np.unique(labels), [0, 1, 2])
    assert np.array_equal(labels[large_tree.rows], large_tree.labels(3))
    assert (partitions[1] == 0).all()
    # The 100 rows outside the subset go with their own group, 28 standard deviations
    # from the next one. (The tree itself puts two of the subset's outliers, off the line
    # the groups lie on, in the middle group: that is the VVV criterion, not the subset.)
    truth = np.repeat([0, 1, 2], 700)
    majority = np.array([np.bincount(labels[truth == group]).argmax() for group in range(3)])
    outside = np.setdiff1d(np.arange(len(large)), large_tree.rows)
    assert len(outside) == len(large) - SUBSET_ROWS
    assert np.array_equal(labels[outside], majority[truth[outside]])
    assert len(set(majority.tolist())) == 3


def test_the_start_on_a_subset_is_the_m_step_of_the_subset(large, large_tree):
    start = init_from_tree(large, large_tree, 3, "full")
    counts = np.bincount(large_tree.labels(3))
    np.testing.assert_allclose(np.sort(start.weights), np.sort(counts / SUBSET_ROWS))
    assert start.means.shape == (3, 2)


def test_hc_partitions_builds_its_own_tree():
    X = data("iris")
    partitions = hc_partitions(X, range(1, 4))
    assert sorted(partitions) == [1, 2, 3]
    assert same_partition(partitions[3], fixture("iris")["VVV"]["labels"]["3"])


def test_hc_is_an_init_method_and_gives_mclusts_start():
    assert "hc" in INIT_METHODS
    X = data("faithful")
    start = initial_params(X, 3, "tied", method="hc", random_state=0)
    expected = init_from_labels(X, hc_tree(X).labels(3), "tied")
    np.testing.assert_allclose(start.means, expected.means)
    np.testing.assert_allclose(start.weights, expected.weights)
    np.testing.assert_allclose(start.covariances, expected.covariances)


@pytest.mark.parametrize("covariance_type", ["full", "tied", "diag", "spherical"])
def test_gaussian_mixture_fits_from_hc(covariance_type):
    X = data("faithful")
    gm = GaussianMixture(3, covariance_type=covariance_type, init_params="hc", random_state=0)
    gm.fit(X)
    assert gm.converged_
    assert np.isfinite(gm.score(X))
    assert len(np.unique(gm.predict(X))) == 3


def test_gaussian_mixture_hc_start_is_the_tree_cut():
    X = data("iris")
    gm = GaussianMixture(3, init_params="hc", max_iter=0).fit(X)
    labels = np.array(fixture("iris")["VVV"]["labels"]["3"])
    counts = np.sort(np.bincount(labels)[1:])
    np.testing.assert_allclose(np.sort(gm.weights_), counts / len(X))


def repeated(X: np.ndarray, weights: np.ndarray) -> np.ndarray:
    return np.repeat(X, weights.astype(int), axis=0)


@pytest.mark.parametrize("max_rows", [SUBSET_ROWS, 150])
def test_whole_number_weights_give_the_tree_and_start_of_the_repeated_rows(max_rows):
    X = data("faithful")
    weights = np.random.default_rng(2).integers(0, 3, size=len(X)).astype(float)
    weighted = hc_tree(X, max_rows=max_rows, random_state=4, sample_weight=weights)
    plain = hc_tree(repeated(X, weights), max_rows=max_rows, random_state=4)
    assert np.array_equal(weighted.merges, plain.merges)
    assert np.array_equal(X[weighted.rows], repeated(X, weights)[plain.rows])
    for covariance_type in ("full", "spherical"):
        ours = init_from_tree(X, weighted, 3, covariance_type, sample_weight=weights)
        theirs = init_from_tree(repeated(X, weights), plain, 3, covariance_type)
        np.testing.assert_allclose(ours.weights, theirs.weights, rtol=1e-12)
        np.testing.assert_allclose(ours.means, theirs.means, rtol=1e-12)
        np.testing.assert_allclose(ours.covariances, theirs.covariances, rtol=1e-10)


def test_rows_of_weight_zero_are_left_out():
    X = data("iris")
    weights = np.ones(len(X))
    weights[::4] = 0.0
    tree = hc_tree(X, sample_weight=weights)
    assert np.array_equal(tree.merges, hc_tree(X[weights > 0]).merges)
    assert not np.isin(np.flatnonzero(weights == 0), tree.rows).any()
    assert (tree.responsibilities(3)[weights == 0] == 0).all()
    assert (tree.row_weights()[weights == 0] == 0).all()


def test_weights_that_are_not_counts_only_matter_by_their_ratios():
    X = data("iris")
    plain = hc_tree(X)
    assert np.array_equal(hc_tree(X, sample_weight=np.full(len(X), 0.3)).merges, plain.merges)
    weights = np.random.default_rng(0).integers(1, 4, size=len(X)) + 0.5
    weighted = hc_tree(X, sample_weight=weights)
    assert weighted.n_leaves == len(X)
    assert np.array_equal(hc_tree(X, sample_weight=weights / 7).merges, weighted.merges)
    start = init_from_tree(X, weighted, 3, "full", sample_weight=weights)
    np.testing.assert_allclose(start.weights.sum(), 1.0)


def test_weighted_fit_from_hc():
    X = data("faithful")
    weights = np.random.default_rng(1).integers(0, 3, size=len(X)).astype(float)
    gm = GaussianMixture(2, init_params="hc", random_state=0).fit(X, sample_weight=weights)
    assert gm.converged_
    gm = GaussianMixture(2, init_params="hc", random_state=0).fit(X, sample_weight=weights / 3)
    assert gm.converged_


def test_too_many_components_is_refused_with_a_sentence():
    X = data("iris")[:5]
    tree = hc_tree(X)
    with pytest.raises(ValueError, match=r"built on 5 rows, so it can be cut into 1 to 5"):
        tree.labels(6)
    with pytest.raises(ValueError, match=r"cut into 1 to 5 clusters"):
        tree.labels(0)
    with pytest.raises(ValueError, match=r"n_components"):
        GaussianMixture(6, init_params="hc").fit(X)


def test_one_row_is_refused_with_a_sentence():
    with pytest.raises(ValueError, match=r"needs at least 2 rows; X has 1"):
        hc_tree(np.array([[1.0, 2.0]]))
    with pytest.raises(ValueError, match=r"at least 2 rows"):
        svd_transform(np.array([[1.0, 2.0]]))


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda X: hc_tree(X, model="VVI"), r"model must be one of 'VVV', 'EII'"),
        (lambda X: hc_tree(X, use="PCS"), r"use must be one of"),
        (lambda X: hc_tree(np.where(X > 7, np.nan, X)), r"NaN or infinite"),
        (lambda X: hc_tree(X, sample_weight=np.zeros(len(X))), r"not all zero"),
        (lambda X: hc_tree(X, sample_weight=-np.ones(len(X))), r"non-negative numbers"),
        (lambda X: hc_tree(X, max_rows=1), r"max_rows must be a whole number"),
        (lambda X: init_from_labels(X, np.zeros(3, dtype=int)), r"one per row of X"),
        (lambda X: init_from_labels(X, np.full(len(X), 1)), r"component 0 has no row"),
        (lambda X: init_from_tree(X[:10], hc_tree(X), 2), r"built on data with 150 rows"),
    ],
)
def test_bad_input_is_refused_with_a_sentence(call, message):
    with pytest.raises(ValueError, match=message):
        call(data("iris"))


def test_select_models_tree_on_wide_data_is_ward_as_mclusts() -> None:
    """mclustBIC agglomerates by EII (Ward) when n <= d, where a merged cluster's VVV
    scatter stays singular; select_model's hc start does the same (it used VVV always)."""
    from emcore.hc import hc_tree
    from emcore.selection import _hc_tree

    rng = np.random.default_rng(3)
    wide = np.r_[rng.normal(size=(6, 14)), rng.normal(3, 1, size=(6, 14))]  # 12 x 14
    tall = wide[:, :4]
    for X, model in ((wide, "EII"), (tall, "VVV")):
        chosen = _hc_tree(X, 0, None)
        expected = hc_tree(X, model)
        for k in (2, 3, 5):
            np.testing.assert_array_equal(chosen.responsibilities(k), expected.responsibilities(k))
    ward, vvv = hc_tree(wide, "EII"), hc_tree(wide, "VVV")
    assert any(
        not np.array_equal(ward.responsibilities(k), vvv.responsibilities(k)) for k in range(2, 8)
    ), "the data must tell the two criteria apart"
