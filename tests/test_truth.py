"""The true clusters: blobs' labels, the agreement said once EM has run, the outline, and
the true label in the export."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
from sklearn.metrics import adjusted_rand_score

from emapp.build.blobs import BlobSettings, make_blobs, make_labelled_blobs
from emapp.build.export import labels_csv
from emapp.build.figures import Layout
from emapp.build.prepare import prepare, prepare_table
from emapp.build.tables import choose, dataset_table
from emapp.build.timeline import ModelSettings, compute_timeline
from emapp.build.truth import agreement, outlined

BLOBS = BlobSettings(n_points=300, n_clusters=3, spread=0.6, seed=1)
MODEL = ModelSettings(3, "full", "k-means++", 1)


def test_blobs_know_their_true_clusters_row_for_row() -> None:
    X, truth = make_labelled_blobs(BLOBS)
    np.testing.assert_array_equal(X, make_blobs(BLOBS))
    assert sorted(set(truth)) == [1, 2, 3] and len(truth) == len(X)
    for k in (1, 2, 3):  # each cluster is one blob: its points are close to its mean
        part = X[truth == k]
        assert np.linalg.norm(part - part.mean(axis=0), axis=1).mean() < 3 * BLOBS.spread


def test_the_agreement_is_said_at_the_end_of_the_run_only() -> None:
    X, truth = make_labelled_blobs(BLOBS)
    run = prepare(("t", 1), X, ("x₁", "x₂"), MODEL, truth)
    last = run.descriptions[-1]
    expected = adjusted_rand_score(truth, run.timeline.resp[run.timeline.last].argmax(axis=1))
    assert expected == agreement(truth, run.timeline.resp[run.timeline.last]) > 0.9
    sentences = [note.sentence for note in last.notes]
    assert f"Agreement with the true clusters: adjusted Rand index {expected:.2f}" in " ".join(
        sentences
    )
    assert not any(
        "adjusted Rand index" in note.sentence for d in run.descriptions[:-1] for note in d.notes
    )
    assert run.export.truth is truth
    plain = prepare(("t", 2), X, ("x₁", "x₂"), MODEL)
    assert not any("adjusted Rand" in n.sentence for d in plain.descriptions for n in d.notes)


def test_iris_says_its_agreement_with_the_species() -> None:
    table = dataset_table("iris")
    data = choose(table, ["petal_length", "petal_width"], standardise=False)
    run = prepare_table(("iris",), data, compute_timeline(data.X, MODEL))
    assert "Agreement with the species: adjusted Rand index" in " ".join(
        note.sentence for note in run.descriptions[-1].notes
    )


def test_the_outline_changes_only_the_points_styling() -> None:
    X, truth = make_labelled_blobs(BLOBS)
    plain = prepare(("t", 3), X, ("x₁", "x₂"), MODEL)
    spec = plain.figure.to_dict()
    shown = outlined(spec, truth)
    assert (
        prepare(("t", 3), X, ("x₁", "x₂"), MODEL, truth).figure.to_dict()["data"] == shown["data"]
    )
    points = shown["data"][Layout.points()]
    colours = points["marker"]["line"]["color"]
    assert len(colours) == len(X) and len(set(colours)) == 3
    assert points["marker"]["line"]["width"] < 0.1  # the toggle's style shows them
    assert spec["data"][Layout.points()]["marker"]["line"] == {"width": 0}  # not modified
    assert shown["frames"] is spec["frames"] and shown["layout"] is spec["layout"]
    assert shown["data"][1:] == spec["data"][1:]


def test_the_csv_holds_the_true_label() -> None:
    X, truth = make_labelled_blobs(BLOBS)
    run = prepare(("t", 4), X, ("x₁", "x₂"), MODEL, truth)
    fit = run.export
    back = pd.read_csv(io.StringIO(labels_csv(fit.data, fit.columns, fit.resp, fit.truth)))
    np.testing.assert_array_equal(back["true_label"], truth)
