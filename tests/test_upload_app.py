"""The table data sources through AppTest: uploads (good, then broken), column choice,
PCA or two columns, one column, the built-in data sets and the download buttons."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from apptest_page import open_app, shown
from streamlit.testing.v1 import AppTest

from emapp.ui.player import CHART_KEY

ROOT = Path(__file__).resolve().parents[1]
FAITHFUL = ROOT / "emcore" / "_datasets" / "faithful.csv"
PENGUINS = ROOT / "emcore" / "_datasets" / "penguins.csv"
TEXT_ONLY = ROOT / "tests" / "fixtures" / "upload" / "text_only.csv"
IMAGE = ROOT / "tests" / "fixtures" / "upload" / "image.csv"
DOWNLOADS = {
    "Download data with labels (CSV, final fit)",
    "Download fitted parameters (JSON, final fit)",
}


def run(at: AppTest) -> AppTest:
    at.run()
    assert not at.exception, at.exception
    return at


def source(name: str) -> AppTest:
    at = open_app()
    at.radio(key="source").set_value(name)
    return run(at)


def upload(at: AppTest, path: Path) -> AppTest:
    at.file_uploader(key="csv_file").set_value((path.name, path.read_bytes(), "text/csv"))
    return run(at)


def em_charts(at: AppTest) -> list:
    """The EM chart (the page may hold other charts, e.g. in teaching tabs)."""
    return [c for c in at.get("plotly_chart") if getattr(c, "key", None) == CHART_KEY]


def spec(at: AppTest) -> dict:
    charts = em_charts(at)
    assert len(charts) == 1
    return json.loads(charts[0].proto.spec)


def axis_titles(at: AppTest) -> tuple[str, str]:
    layout = spec(at)["layout"]
    return layout["xaxis"]["title"]["text"], layout["yaxis"]["title"]["text"]


def table(at: AppTest) -> dict:
    for element in at.main:
        data = getattr(element.proto, "json", None) if element.type == "bidi_component" else None
        if data and json.loads(data).get("role") == "table":
            return json.loads(data)
    raise AssertionError("no parameter table on the page")


def notes_on_screen(at: AppTest) -> list[list[str]]:
    """The notes the player shows under the status line, as ``[kind, sentence]`` pairs."""
    for element in at.main:
        data = getattr(element.proto, "json", None) if element.type == "bidi_component" else None
        if data and json.loads(data).get("role") == "player":
            player = json.loads(data)
            return player["notes"][player["notes_index"][player["target"]]]
    raise AssertionError("no player on the page")


def captions(at: AppTest) -> str:
    """The captions' text as the browser shows it."""
    return " ".join(shown(c.value) for c in at.caption)


def test_good_upload_then_broken_upload_keeps_the_fit() -> None:
    at = upload(source("Upload CSV"), FAITHFUL)
    assert axis_titles(at) == ("eruptions", "waiting")
    assert "Read 272 rows and 2 numeric columns" in captions(at)
    before = table(at)
    at = upload(at, TEXT_ONLY)
    errors = [e.value for e in at.error]
    assert any("No column of numbers" in e for e in errors)
    # The earlier data and fit are still on the page, unchanged.
    assert axis_titles(at) == ("eruptions", "waiting")
    assert table(at) == before
    assert "Still showing faithful.csv" in captions(at)
    # Said on top too, once: the sidebar's red box can sit below the fold on a projector.
    said = f"{TEXT_ONLY.name} could not be used (the sidebar says why); still showing faithful.csv."
    assert notes_on_screen(at)[:1] == [["info", said]]
    assert ["info", said] not in notes_on_screen(run(at))


def test_a_broken_first_upload_shows_only_the_error() -> None:
    at = upload(source("Upload CSV"), IMAGE)
    assert any("PNG image" in e.value for e in at.error)
    assert not em_charts(at)
    assert any("Upload a CSV file" in i.value for i in at.info)


def test_column_choice_and_standardisation() -> None:
    at = upload(source("Upload CSV"), PENGUINS)
    fit = at.multiselect(key="fit_columns")
    # The file keeps 'year', which the built-in data set leaves out: offered, not chosen.
    assert "year" in fit.options
    assert fit.value == ["bill_len", "bill_dep", "flipper_len", "body_mass"]
    assert at.checkbox(key="standardise").value is True  # body mass is in grams
    assert "differ by a factor of" in captions(at)
    fit.set_value(["bill_len", "flipper_len"])
    at = run(at)
    assert axis_titles(at) == ("bill_len", "flipper_len")
    assert at.session_state["em_run"].export.columns == ("bill_len", "flipper_len")
    at.checkbox(key="standardise").uncheck()
    at = run(at)
    assert "standardised" not in captions(at)


def test_pca_or_two_columns_for_more_than_two() -> None:
    at = source("Real data sets")
    at.radio(key="dataset").set_value("iris")
    at = run(at)
    # Iris opens on the two columns that show its species best, not the first two.
    assert axis_titles(at) == ("petal_length", "petal_width")
    assert at.multiselect(key="fit_columns").value == ["petal_length", "petal_width"]
    at.multiselect(key="fit_columns").set_value(
        ["sepal_length", "sepal_width", "petal_length", "petal_width"]
    )
    at = run(at)
    assert axis_titles(at) == ("petal_length", "petal_width")  # the same picture
    at.selectbox(key="x_column").set_value("sepal_length")
    at = run(at)
    assert axis_titles(at) == ("sepal_length", "petal_width")
    at.selectbox(key="x_column").set_value("petal_length")
    at = run(at)
    fitted = at.session_state["em_run"].export
    assert len(fitted.columns) == 4  # EM ran in all four columns
    at.radio(key="picture").set_value("pca")
    at = run(at)
    assert axis_titles(at) == ("PC1", "PC2")
    assert "PCA projection" in captions(at)
    assert "fitted in 4 columns" in table(at)["covariance_type"]
    # Back to two columns: the chosen axes are remembered.
    at.radio(key="picture").set_value("columns")
    at = run(at)
    assert axis_titles(at) == ("petal_length", "petal_width")


def test_one_column_draws_a_histogram() -> None:
    at = source("Real data sets")
    at.multiselect(key="fit_columns").set_value(["waiting"])
    at = run(at)
    figure = spec(at)
    assert figure["data"][0]["name"] == "data (histogram)"
    assert figure["layout"]["xaxis"]["title"]["text"] == "waiting"
    assert len(figure["frames"]) == len(at.session_state["em_run"].timeline)
    assert table(at)["header"][2] == "Mean waiting"
    at.button(key="run").click()
    at = run(at)
    assert at.session_state["em_view"].cursor == at.session_state["em_run"].timeline.last


@pytest.mark.parametrize(
    ("key", "report", "n_columns"),
    [
        ("faithful", "dropped the index column 'rownames'", 2),
        ("iris", "dropped 1 text column (species)", 2),
        ("penguins", "2 rows with missing values", 2),
    ],
)
def test_each_built_in_data_set_is_one_click_away(key: str, report: str, n_columns: int) -> None:
    at = source("Real data sets")
    at.radio(key="dataset").set_value(key)
    at = run(at)
    assert report in captions(at)
    assert len(at.multiselect(key="fit_columns").value) == n_columns
    assert at.session_state["em_run"].export.data.shape[1] == n_columns
    assert spec(at)["frames"]


def test_export_buttons_are_on_the_page() -> None:
    at = source("Real data sets")
    labels = {b.label for b in at.get("download_button")}
    assert labels == DOWNLOADS


def test_a_scenario_from_another_source_switches_to_blobs_without_a_warning(
    caplog, monkeypatch
) -> None:
    from streamlit.elements.lib import policies

    from emapp.build.presets import preset_by_name

    monkeypatch.setattr(policies, "_shown_default_value_warning", False)  # once per process
    at = source("Real data sets")
    with caplog.at_level("WARNING"):
        at.pills(key="teaching_preset").set_value("Elongated")
        run(at)
    assert at.radio(key="source").value == "Blobs"
    assert at.slider(key="stretch").value == preset_by_name("Elongated").blobs.stretch
    assert not [r for r in caplog.records if "Session State API" in r.getMessage()]
