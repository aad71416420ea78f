"""Classroom features through AppTest: the start placed by clicking (its units), the truth
on the page and in the export, exports of the state on screen, the one-column scenario, and
the error for more components than rows."""

from __future__ import annotations

import io
import json
import re
from dataclasses import astuple
from pathlib import Path

import numpy as np
import pandas as pd
from apptest_page import open_app, shown
from streamlit.testing.v1 import AppTest

from emapp.build.blobs import BlobSettings
from emapp.build.timeline import CLICK_INIT
from emapp.ui.player import CHART_KEY, PLACE_CHART_KEY

ROOT = Path(__file__).resolve().parents[1]
FAITHFUL = ROOT / "emcore" / "_datasets" / "faithful.csv"


def run(at: AppTest) -> AppTest:
    at.run()
    assert not at.exception, at.exception
    return at


def charts(at: AppTest, key: str) -> list:
    return [c for c in at.get("plotly_chart") if getattr(c, "key", None) == key]


def component(at: AppTest, role: str) -> dict | None:
    for element in at.main:
        data = getattr(element.proto, "json", None) if element.type == "bidi_component" else None
        if data and json.loads(data).get("role") == role:
            return json.loads(data)
    return None


def place(at: AppTest, key: tuple, points: list) -> AppTest:
    """What the placer's callback keeps after clicks (the browser test clicks for real)."""
    at.session_state["placed_means"] = {"for": key, "points": points, "cleared": 0}
    return run(at)


def test_the_page_asks_for_clicks_then_runs_from_the_placed_means() -> None:
    at = open_app()
    at.selectbox(key="init").set_value(CLICK_INIT)
    at = run(at)
    assert not charts(at, CHART_KEY) and len(charts(at, PLACE_CHART_KEY)) == 1
    placer = component(at, "placer")
    assert placer["statuses"][0].startswith("Click on the chart to place the mean of component 1")
    assert placer["n_components"] == 3 and placer["placed"] == []
    key = ("blobs", astuple(BlobSettings()))
    at = place(at, key, [(0.0, 1.0), (5.0, -5.0)])
    assert component(at, "placer")["placed"] == [[0.0, 1.0], [5.0, -5.0]]
    assert any("1 mean left to place" in c.value for c in at.sidebar.caption)
    at = place(at, key, [(0.0, 1.0), (5.0, -5.0), (-2.0, 4.0)])
    assert len(charts(at, CHART_KEY)) == 1 and not charts(at, PLACE_CHART_KEY)
    start = at.session_state["em_run"].timeline.states[0].params
    np.testing.assert_allclose(start.means, [[0.0, 1.0], [5.0, -5.0], [-2.0, 4.0]])
    np.testing.assert_allclose(start.weights, [1 / 3] * 3)
    # Place again: back to the clicks.
    next(b for b in at.sidebar.button if b.label == "Place the means again").click()
    at = run(at)
    assert charts(at, PLACE_CHART_KEY) and component(at, "placer")["placed"] == []


def test_means_placed_on_an_upload_keep_their_place_in_the_files_units() -> None:
    at = open_app()
    at.radio(key="source").set_value("Upload CSV")
    at = run(at)
    at.file_uploader(key="csv_file").set_value(("faithful.csv", FAITHFUL.read_bytes(), "text/csv"))
    at = run(at)
    assert at.checkbox(key="standardise").value is True  # waiting is in minutes, spread 13
    at.slider(key="n_components").set_value(2)
    at.selectbox(key="init").set_value(CLICK_INIT)
    at = run(at)
    assert charts(at, PLACE_CHART_KEY) and not charts(at, CHART_KEY)  # no run while placing
    table = at.session_state["upload_last_good"]
    key = ("table", table.digest, ("eruptions", "waiting"))
    raw = [(2.0, 55.0), (4.5, 80.0)]
    at = place(at, key, raw)
    frame = table.frame[["eruptions", "waiting"]].to_numpy()
    centre, scale = frame.mean(axis=0), frame.std(axis=0)
    start = at.session_state["em_run"].timeline.states[0].params
    np.testing.assert_allclose(start.means, (np.asarray(raw) - centre) / scale)
    at.checkbox(key="standardise").uncheck()
    at = run(at)
    start = at.session_state["em_run"].timeline.states[0].params
    np.testing.assert_allclose(start.means, raw)


def test_penguins_know_their_species_on_the_page_and_in_the_export() -> None:
    at = open_app()
    at.radio(key="source").set_value("Real data sets")
    at = run(at)
    at.radio(key="dataset").set_value("penguins")
    at = run(at)
    assert any(t.label == "Outline the points by species" for t in at.sidebar.toggle)
    player = component(at, "player")
    last = player["notes"][player["notes_index"][-1]]
    assert any(
        re.search(r"Agreement with the species: adjusted Rand index \d\.\d\d", s) for _, s in last
    )
    fit = at.session_state["em_run"].export
    assert set(fit.truth) == {"Adelie", "Chinstrap", "Gentoo"}
    from emapp.build.export import labels_csv

    back = pd.read_csv(io.StringIO(labels_csv(fit.data, fit.columns, fit.resp, fit.truth)))
    assert list(back.columns)[-1] == "true_label" and len(back) == len(fit.data)


def test_exports_of_the_state_on_screen_say_which() -> None:
    at = open_app()
    labels = {b.label for b in at.get("download_button")}
    assert labels == {
        "Download data with labels (CSV, final fit)",
        "Download fitted parameters (JSON, final fit)",
    }
    at.segmented_control(key="export_which").set_value("screen")
    at = run(at)
    at.button(key="step").click()
    at = run(at)
    labels = {b.label for b in at.get("download_button")}
    assert labels == {
        "Download data with labels (CSV, on screen: Iteration 1 · E-step done)",
        "Download fitted parameters (JSON, on screen: Iteration 1 · E-step done)",
    }


def test_the_one_column_scenario_draws_a_histogram() -> None:
    at = open_app()
    at.pills(key="teaching_preset").set_value("One column")
    at = run(at)
    spec = json.loads(charts(at, CHART_KEY)[0].proto.spec)
    assert spec["data"][0]["name"] == "data (histogram)"
    assert at.session_state["em_run"].X.shape[1] == 1
    assert any("One column" in i.value for i in at.sidebar.info)


def test_more_components_than_rows_says_so_once_in_plain_words() -> None:
    at = open_app()
    at.radio(key="source").set_value("Upload CSV")
    at = run(at)
    at.file_uploader(key="csv_file").set_value(("two.csv", b"x,y\n1,2\n3,5\n", "text/csv"))
    at = run(at)
    errors = [shown(e.value) for e in at.error]
    sentence = "3 components need at least 3 rows; this file has 2 usable rows."
    assert sum(sentence in e for e in errors) == 1, errors
    assert not any("n_samples" in e or "n_clusters" in e for e in errors)
