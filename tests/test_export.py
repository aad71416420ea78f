"""The downloads: data with labels and responsibilities as CSV, parameters as JSON."""

from __future__ import annotations

import csv
import io
import json

import numpy as np
import pandas as pd
import pytest

from emapp.build.covariance_models import MODEL_CHOICES, model_label
from emapp.build.export import (
    export_suffix,
    file_stem,
    final_export,
    labels_csv,
    parameters_dict,
    parameters_json,
    state_export,
)
from emapp.build.timeline import ModelSettings, compute_timeline
from emcore import load_dataset


@pytest.fixture(scope="module")
def faithful():
    frame = load_dataset("faithful")
    return frame.to_numpy(), tuple(frame.columns)


def run_export(data, columns, covariance_type="full", standardise=False):
    centre = scale = None
    X = data
    if standardise:
        centre, scale = data.mean(axis=0), data.std(axis=0)
        X = (data - centre) / scale
    timeline = compute_timeline(X, ModelSettings(2, covariance_type, "kmeans", 0))
    return timeline, final_export(timeline, data, columns, centre, scale, "faithful.csv")


def test_csv_round_trips_with_labels_and_responsibilities(faithful) -> None:
    data, columns = faithful
    _, fit = run_export(data, columns)
    text = labels_csv(fit.data, fit.columns, fit.resp)
    back = pd.read_csv(io.StringIO(text))
    assert len(back) == len(data)
    assert list(back.columns) == [*columns, "label", "resp_1", "resp_2"]
    np.testing.assert_allclose(back[list(columns)].to_numpy(), data)
    resp = back[["resp_1", "resp_2"]].to_numpy()
    np.testing.assert_allclose(resp.sum(axis=1), 1.0, atol=1e-5)
    np.testing.assert_array_equal(back["label"].to_numpy(), resp.argmax(axis=1) + 1)
    assert set(back["label"]) == {1, 2}  # Old Faithful's two groups


def test_added_columns_never_overwrite_data_columns() -> None:
    data = np.array([[1.0, 2.0], [3.0, 4.0]])
    resp = np.array([[0.25, 0.75], [1.0, 0.0]], dtype=np.float32)
    back = pd.read_csv(io.StringIO(labels_csv(data, ("label", "resp_1"), resp)))
    assert list(back.columns) == ["label", "resp_1", "label_2", "resp_1_2", "resp_2"]
    np.testing.assert_array_equal(back["label"], [1.0, 3.0])
    np.testing.assert_array_equal(back["label_2"], [2, 1])


@pytest.mark.parametrize("covariance_type", ["full", "tied", "diag", "spherical"])
def test_json_parses_with_weights_means_covariances_and_type(faithful, covariance_type) -> None:
    data, columns = faithful
    timeline, fit = run_export(data, columns, covariance_type)
    parsed = json.loads(parameters_json(fit))
    assert parsed["covariance_type"] == covariance_type
    assert parsed["columns"] == list(columns)
    assert np.isclose(sum(parsed["weights"]), 1.0)
    assert np.asarray(parsed["means"]).shape == (2, 2)
    expected = {"full": (2, 2, 2), "tied": (2, 2), "diag": (2, 2), "spherical": (2,)}
    assert np.asarray(parsed["covariances"]).shape == expected[covariance_type]
    final = timeline.states[-1]
    assert parsed["state"] == {
        "which": "final",
        "iteration": final.iteration,
        "stage": "E",
        "converged": timeline.converged,
        "log_likelihood": final.log_likelihood,
    }
    assert parsed["standardised"] is False and "standardisation" not in parsed


@pytest.mark.parametrize("covariance_type", MODEL_CHOICES)
def test_json_names_each_of_the_14_models_and_how_its_covariances_are_laid_out(
    faithful, covariance_type
) -> None:
    data, columns = faithful
    _, fit = run_export(data, columns, covariance_type, standardise=True)
    parsed = json.loads(parameters_json(fit))
    assert parsed["covariance_type"] == covariance_type
    assert parsed["covariance_model"] == model_label(covariance_type)
    layout = parsed["covariances_layout"]
    shape = np.asarray(parsed["covariances"]).shape
    expected = {
        "one d x d matrix per component": (2, 2, 2),
        "one d x d matrix shared by every component": (2, 2),
        "one row of d variances (the diagonal) per component": (2, 2),
        "one variance per component, the same in every direction": (2,),
    }
    assert shape == expected[layout]


def test_json_says_when_parameters_are_in_standardised_units(faithful) -> None:
    data, columns = faithful
    _, fit = run_export(data, columns, standardise=True)
    parsed = parameters_dict(fit)
    assert parsed["standardised"] is True
    np.testing.assert_allclose(parsed["standardisation"]["centre"], data.mean(axis=0))
    np.testing.assert_allclose(parsed["standardisation"]["scale"], data.std(axis=0))
    # The data in the CSV stay in the file's units.
    back = pd.read_csv(io.StringIO(labels_csv(fit.data, fit.columns, fit.resp)))
    np.testing.assert_allclose(back[list(columns)].to_numpy(), data)


def test_export_is_the_final_state(faithful) -> None:
    data, columns = faithful
    timeline, fit = run_export(data, columns)
    assert fit.params is timeline.states[-1].params
    assert fit.resp is timeline.resp[timeline.last]


@pytest.mark.parametrize("standardise", [False, True])
def test_the_state_on_screen_is_exported_and_says_so(faithful, standardise) -> None:
    data, columns = faithful
    timeline, fit = run_export(data, columns, standardise=standardise)
    for index in (0, 1, 2, timeline.last):
        state = timeline.states[index]
        shown = state_export(fit, index, f"state {index}")
        assert shown.params is state.params
        parsed = parameters_dict(shown)
        assert parsed["state"]["which"] == "on screen"
        assert parsed["state"]["label"] == f"state {index}"
        assert (parsed["state"]["iteration"], parsed["state"]["stage"]) == (
            state.iteration,
            state.stage,
        )
        assert parsed["state"]["converged"] == (timeline.converged and index == timeline.last)
        # The colours on screen: an E state's own, an M state's from the E before; at the
        # start, those the start gives (the first E-step's).
        source = timeline.colour_source(index) or 1
        np.testing.assert_allclose(shown.resp, timeline.resp[source], atol=1e-6)
    assert export_suffix(state_export(fit, 2)) == "iteration1_M"
    assert export_suffix(fit) == "final"


def test_the_true_label_is_exported_when_known() -> None:
    data = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    resp = np.array([[1.0, 0.0], [0.0, 1.0], [0.2, 0.8]], dtype=np.float32)
    back = pd.read_csv(io.StringIO(labels_csv(data, ("a", "true_label"), resp, ["x", "y", "y"])))
    assert list(back.columns) == ["a", "true_label", "label", "resp_1", "resp_2", "true_label_2"]
    assert list(back["true_label_2"]) == ["x", "y", "y"]
    assert "true_label" not in labels_csv(data, ("a", "b"), resp)


def test_file_names_are_safe() -> None:
    assert file_stem("my data (1).csv") == "my_data__1"
    assert file_stem("iris") == "iris"
    assert file_stem("...") == "em"


def test_formula_like_column_names_are_neutralised() -> None:
    data = np.array([[1.0, -2.0], [3.0, 4.0]])
    resp = np.array([[1.0], [1.0]], dtype=np.float32)
    text = labels_csv(data, ("=cmd|' /C calc'!A0", "@SUM(A1)"), resp)
    header = next(csv.reader(io.StringIO(text)))
    assert header[:2] == ["'=cmd|' /C calc'!A0", "'@SUM(A1)"]
    assert not any(cell[:1] in ("=", "+", "-", "@", "\t", "\r") for cell in header)
