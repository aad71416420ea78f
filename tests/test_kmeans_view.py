"""k-means as EM's hard limit: Lloyd's algorithm, label matching and the comparison with EM."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import pytest
from sklearn.cluster import KMeans

from emapp.build.blobs import BlobSettings, make_blobs
from emapp.build.colors import PALETTE_HEX, mean_symbols
from emapp.build.kmeans_view import (
    cluster_means,
    compare,
    comparison_figure,
    difference_sentence,
    kmeans,
    match_labels,
    nearest,
    panel_titles,
)
from emapp.build.presets import preset_by_name
from emapp.build.timeline import ModelSettings, compute_timeline


@pytest.fixture(scope="module")
def X() -> np.ndarray:
    return make_blobs(BlobSettings(n_points=600, n_clusters=4, seed=3))


def start_means(X: np.ndarray, k: int, seed: int = 0) -> np.ndarray:
    return X[np.random.default_rng(seed).choice(len(X), k, replace=False)]


def test_converges_to_a_fixed_point(X) -> None:
    run = kmeans(X, start_means(X, 4))
    assert run.converged
    # Every label is the nearest final mean, and every mean is the average of its points.
    np.testing.assert_array_equal(run.labels, nearest(X, run.means))
    np.testing.assert_allclose(run.means, cluster_means(X, run.labels, run.means))


def test_same_as_scikit_learn_lloyd_from_the_same_means(X) -> None:
    start = start_means(X, 4, seed=5)
    ours = kmeans(X, start)
    theirs = KMeans(4, init=start, n_init=1, algorithm="lloyd", tol=0.0).fit(X)
    np.testing.assert_array_equal(ours.labels, theirs.labels_)
    np.testing.assert_allclose(ours.means, theirs.cluster_centers_, rtol=1e-9)


def test_an_empty_cluster_keeps_its_mean() -> None:
    X = np.array([[0.0, 0.0], [0.1, 0.0], [5.0, 5.0]])
    run = kmeans(X, np.array([[0.0, 0.0], [5.0, 5.0], [100.0, 100.0]]))
    np.testing.assert_array_equal(run.means[2], [100.0, 100.0])
    assert set(run.labels) == {0, 1}


def test_matching_undoes_a_renumbering() -> None:
    reference = np.repeat([0, 1, 2], 10)
    renamed = np.array([2, 0, 1])[reference]
    mapping = match_labels(renamed, reference, 3)
    np.testing.assert_array_equal(mapping[renamed], reference)


def test_agrees_with_em_on_well_separated_round_blobs() -> None:
    X = make_blobs(BlobSettings(n_points=500, n_clusters=3, spread=0.5, stretch=1.0, seed=4))
    timeline = compute_timeline(X, ModelSettings(3, "full", "k-means++", 0))
    comparison = compare(X, timeline.states[0].params.means, timeline.states[-1].params)
    assert comparison.share_differ == 0.0
    assert "agree" in difference_sentence(comparison)
    # Same numbering after matching: k-means' means sit on EM's.
    np.testing.assert_allclose(comparison.means, timeline.states[-1].params.means, atol=0.05)


def test_differs_from_em_on_elongated_clusters() -> None:
    preset = preset_by_name("Elongated")
    X = make_blobs(preset.blobs)
    timeline = compute_timeline(X, preset.model)
    comparison = compare(X, timeline.states[0].params.means, timeline.states[-1].params)
    assert comparison.share_differ > 0.05
    assert comparison.elongation > 4
    sentence = difference_sentence(comparison)
    assert f"{int(comparison.differ.sum())} of {len(X)} points" in sentence
    assert "longer than wide" in sentence


def test_figure_has_both_panels_and_the_regions(X) -> None:
    timeline = compute_timeline(X, ModelSettings(4, "full", "k-means++", 0))
    comparison = compare(X, timeline.states[0].params.means, timeline.states[-1].params)
    figure = comparison_figure(X, comparison)
    assert isinstance(figure, go.Figure)
    kinds = [trace.type for trace in figure.data]
    assert kinds[0] == "heatmap"
    assert {trace.xaxis for trace in figure.data} == {"x", "x2"}
    regions = np.asarray(figure.data[0].z)
    assert set(np.unique(regions)) <= set(range(4))
    # Both panels' means: cluster k and component k have the same colour and shape.
    means = [t for t in figure.data if t.name in ("k-means means", "EM means")]
    assert [list(t.marker.symbol) for t in means] == [mean_symbols(4)] * 2
    assert [list(t.marker.color) for t in means] == [list(PALETTE_HEX[:4])] * 2


# Column names from an uploaded file are plain text: Plotly must show them as written.
MARKUP = ("<b>x</b> %{meta}", "![i](http://e.invalid/a.png) $y$")
ESCAPED = ("&lt;b&gt;x&lt;/b&gt; &#37;{meta}", "![i](http://e.invalid/a.png) &#36;y&#36;")


def test_both_panels_show_markup_in_names_as_written(X) -> None:
    timeline = compute_timeline(X, ModelSettings(n_components=4, seed=0))
    comparison = compare(X, timeline.states[0].params.means, timeline.states[-1].params)
    figure = comparison_figure(X, comparison, MARKUP)
    for axis in ("xaxis", "xaxis2"):
        assert figure.layout[axis].title.text == ESCAPED[0]
    assert figure.layout.yaxis.title.text == ESCAPED[1]


def test_titles_and_axis_numbers_fit_panels_300_pixels_wide(X) -> None:
    """At 1024 pixels the one-line titles ran into each other and the right panel's y title
    and numbers landed on the left panel."""
    timeline = compute_timeline(X, ModelSettings(n_components=4, seed=0))
    comparison = compare(X, timeline.states[0].params.means, timeline.states[-1].params)
    figure = comparison_figure(X, comparison)
    titles = [annotation.text for annotation in figure.layout.annotations]
    assert titles == list(panel_titles(comparison))
    assert titles[0].endswith(f"<br>({comparison.kmeans.n_iter} iterations)")
    # 19-pixel type is about 9 pixels a character: 33 characters fill 290 of 300 pixels.
    assert max(len(line) for title in titles for line in title.split("<br>")) <= 33
    assert figure.layout.yaxis2.showticklabels is False
    assert not figure.layout.yaxis2.title.text
    # Both panels show the same range, so the left panel's numbers are the right one's.
    assert figure.layout.yaxis.range == figure.layout.yaxis2.range


def test_agreement_is_not_called_separation_when_em_shares_the_points() -> None:
    # Every row the same point: k-means and EM's most responsible component agree on every
    # point, but EM's responsibilities are shared, not 0 or 1: nothing is well separated.
    X = np.tile([[1.0, 2.0]], (50, 1))
    timeline = compute_timeline(X, ModelSettings(3, "full", "random", 0))
    comparison = compare(X, timeline.states[0].params.means, timeline.states[-1].params)
    assert comparison.share_differ < 0.05 and comparison.share_shared > 0.05
    sentence = difference_sentence(comparison)
    assert "well separated" not in sentence
    assert "agree on 50 of 50 points" in sentence and "shares" in sentence
