"""The teaching panels through Streamlit's AppTest, with a real run and the real sidebar."""

from __future__ import annotations

import json
import re

import pytest
from streamlit.testing.v1 import AppTest

from emapp.ui.teaching import TABS_KEY


def teaching_page() -> None:
    """The sidebar with the scenarios on top, a cached run, and the four teaching tabs."""
    import streamlit as st

    from emapp.build.prepare import settings_tuple
    from emapp.ui import teaching as ui
    from emapp.ui.runs import blob_run
    from emapp.ui.session import current_view
    from emapp.ui.sidebar import sidebar

    with st.sidebar:
        ui.presets_panel()
    settings = sidebar()
    run = blob_run(settings_tuple(settings.blobs), settings_tuple(settings.model))
    current_view(run)
    ui.teaching_tabs(run)


def start() -> AppTest:
    at = AppTest.from_function(teaching_page, default_timeout=120)
    at.session_state["n_points"] = 300  # small data keeps the fits quick
    at.run()
    assert not at.exception
    return at


def open_tab(at: AppTest, label: str) -> AppTest:
    """Select a teaching tab: only the open tab runs (lazy tabs)."""
    at.session_state[TABS_KEY] = label
    at.run()
    assert not at.exception
    return at


def click(at: AppTest, label: str) -> AppTest:
    next(b for b in at.button if b.label == label).click().run()
    assert not at.exception
    return at


def charts(at: AppTest) -> list[dict]:
    return [json.loads(chart.proto.spec) for chart in at.get("plotly_chart")]


def chart_with_y_title(at: AppTest, text: str) -> dict | None:
    for spec in charts(at):
        title = spec["layout"].get("yaxis", {}).get("title", {}).get("text", "")
        if text in title:
            return spec
    return None


def latex(at: AppTest) -> str:
    return "\n".join(element.value for element in at.latex)


# -- choosing K -------------------------------------------------------------------------------


def test_compare_models_draws_the_chart_and_names_the_best() -> None:
    at = start()
    open_tab(at, "Choose K")
    assert chart_with_y_title(at, "BIC") is None  # nothing is fitted before the click
    click(at, "Compare models")
    spec = chart_with_y_title(at, "BIC (lower is better)")
    assert spec is not None
    names = [trace.get("name") for trace in spec["data"]]
    models = [trace.get("meta") for trace in spec["data"] if trace.get("meta")]
    assert len(models) == 14 and {"full", "tied", "diag", "spherical", "VEV"} <= set(models)
    assert {"VVV (full)", "EEE (tied)", "VEV", "best"} <= set(names)
    assert any("Best by BIC" in m.value for m in at.markdown)
    at.segmented_control(key="selection_criterion").set_value("aic").run()
    assert chart_with_y_title(at, "AIC (lower is better)") is not None
    assert any("Best by AIC" in m.value for m in at.markdown)


def test_use_this_model_sets_the_sidebar() -> None:
    at = start()
    open_tab(at, "Choose K")
    at.slider(key="n_components").set_value(6).run()
    at.selectbox(key="covariance_type").set_value("spherical").run()
    click(at, "Compare models")
    use = next(b for b in at.button if b.label.startswith("Use this model"))
    # The blobs are one ellipse turned three ways: BIC picks EEV, a model scikit-learn lacks.
    assert use.label == "Use this model: EEV, K = 3"
    use.click().run()
    assert not at.exception
    assert at.session_state["n_components"] == 3
    assert at.session_state["covariance_type"] == "EEV"
    assert at.selectbox(key="covariance_type").value == "EEV"
    assert at.slider(key="n_components").value == 3
    assert any("already uses this model" in s.value for s in at.success)


def test_other_data_asks_for_a_new_comparison() -> None:
    at = start()
    open_tab(at, "Choose K")
    click(at, "Compare models")
    assert chart_with_y_title(at, "BIC") is not None
    at.number_input(key="data_seed").set_value(7).run()
    assert chart_with_y_title(at, "BIC") is None
    assert any("Press **Compare models**" in c.value for c in at.caption)


# -- the worked example -----------------------------------------------------------------------


def test_point_number_changes_the_numbers() -> None:
    at = start()
    open_tab(at, "Worked example")
    first = latex(at)
    assert r"x_{1} = " in first
    at.number_input(key="worked_point").set_value(5).run()
    assert not at.exception
    second = latex(at)
    assert r"x_{5} = " in second and r"x_{1} = " not in second
    assert any("the same numbers" in s.value for s in at.success)


def test_the_worked_example_follows_the_chart_without_a_button() -> None:
    at = start()
    open_tab(at, "Worked example")
    assert any("Numbers at: Iteration 0" in m.value for m in at.markdown)
    assert not [b for b in at.button if b.label == "Follow the chart"]
    view = at.session_state["em_view"]
    view.move_to(4)  # what the stepping buttons do: two full iterations' halves
    at.session_state["em_view"] = view
    at.run()  # the rerun the stepping panel asks for (emapp.ui.follow.follow_chart)
    assert any("Numbers at: Iteration 2 · M-step done" in m.value for m in at.markdown)
    assert at.session_state["follow_drawn"][1] == 4
    headers = at.table[0].value.columns
    assert {"weight π_k", "density N(x | μ_k, Σ_k)", "responsibility r_ik"} <= set(headers)


class FakeStreamlit:
    """Session state and a rerun that is only recorded: emapp.ui.follow's view of Streamlit."""

    def __init__(self, state: dict) -> None:
        self.session_state = state
        self.reruns = 0

    def rerun(self, scope: str = "app") -> None:
        assert scope == "app"
        self.reruns += 1


@pytest.mark.parametrize(
    ("state", "index", "playing", "fragment", "reruns"),
    [
        ({"teaching_tab": "Worked example"}, 5, False, True, 1),
        ({"teaching_tab": "Density", "density_source": "chart"}, 5, False, True, 1),
        ({"teaching_tab": "Density", "density_source": "end"}, 5, False, True, 0),
        ({"export_which": "screen"}, 5, False, True, 1),
        ({"export_which": "final", "teaching_tab": "Choose K"}, 5, False, True, 0),
        ({"teaching_tab": "Worked example"}, 3, False, True, 0),  # already drawn
        ({"teaching_tab": "Worked example"}, 5, True, True, 0),  # playing
        ({"teaching_tab": "Worked example"}, 5, False, False, 0),  # a full run draws it anyway
    ],
)
def test_the_stepping_panel_reruns_the_page_only_for_an_open_follower(
    monkeypatch, state, index, playing, fragment, reruns
) -> None:
    from emapp.ui import follow

    fake = FakeStreamlit({**state, follow.DRAWN: ("run", 3)})
    monkeypatch.setattr(follow, "st", fake)
    monkeypatch.setattr(follow, "fragment_run", lambda: fragment)
    follow.follow_chart("run", index, playing)
    assert fake.reruns == reruns


# -- scenarios --------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["One column", "Elongated", "Bad start that collapses"])
def test_a_scenario_sets_every_sidebar_key_and_shows_its_lesson(name) -> None:
    from emapp.build.presets import preset_by_name, session_values

    at = start()
    at.pills(key="teaching_preset").set_value(name).run()
    assert not at.exception
    for key, value in session_values(preset_by_name(name)).items():
        assert at.session_state[key] == value, key
    assert at.slider(key="n_points").value == preset_by_name(name).blobs.n_points
    assert any(name in info.value for info in at.sidebar.info)
    at.slider(key="spread").set_value(2.5).run()
    assert not at.sidebar.info
    assert any("You changed a setting" in c.value for c in at.sidebar.caption)


# -- k-means and the density ------------------------------------------------------------------


def test_kmeans_tab_compares_and_explains() -> None:
    at = start()
    open_tab(at, "k-means vs EM")
    labels = [metric.label for metric in at.metric]
    assert "Points labelled differently" in labels
    assert any("k-means" in info.value for info in at.info)
    kinds = [trace.get("type") for spec in charts(at) for trace in spec["data"]]
    assert "heatmap" in kinds


def test_density_tab_maps_the_density_and_switches_scale() -> None:
    at = start()
    open_tab(at, "Density")

    def contour_title() -> str:
        for spec in charts(at):
            for trace in spec["data"]:
                if trace.get("type") == "contour":
                    return trace["colorbar"]["title"]["text"]
        raise AssertionError("no density map")

    assert contour_title() == "p(x)"
    at.toggle(key="density_log").set_value(True).run()
    assert contour_title() == "log p(x)"


def one_column_page() -> None:
    """The tabs for a run on one column (what a one-column table gives)."""
    import numpy as np

    from emapp.build.prepare import PreparedRun
    from emapp.build.timeline import ModelSettings, compute_timeline
    from emapp.ui import teaching as ui

    rng = np.random.default_rng(0)
    X = np.concatenate([rng.normal(0, 1, (100, 1)), rng.normal(6, 1, (80, 1))])
    timeline = compute_timeline(X, ModelSettings(2, "full", "k-means++", 0))
    ui.teaching_tabs(PreparedRun(("one",), "one-column", X, ("x",), timeline, None))


def test_one_column_runs_show_numbers_kmeans_and_choose_k() -> None:
    at = AppTest.from_function(one_column_page, default_timeout=120).run()
    assert not at.exception
    open_tab(at, "Worked example")
    assert r"x_{1} = \begin{pmatrix}" in latex(at)
    open_tab(at, "k-means vs EM")
    assert any("agree on 180 of 180" in info.value for info in at.info)
    open_tab(at, "Choose K")
    click(at, "Compare models")
    assert any("**K = 2**" in m.value for m in at.markdown)


def test_the_model_in_use_is_the_fits_own_not_its_pictures() -> None:
    """On two of iris's four columns a VEV fit is drawn as full ellipses (the projection keeps
    no VEV constraint); "your model now" and "Use this model" still mean VEV."""
    from emapp.build.prepare import prepare_table
    from emapp.build.tables import choose, dataset_table
    from emapp.build.timeline import ModelSettings, compute_timeline
    from emapp.ui.teaching import current_model

    table = dataset_table("iris")
    data = choose(table, list(table.frame.columns)[:4], standardise=True)
    run = prepare_table(("iris", "VEV"), data, compute_timeline(data.X, ModelSettings(3, "VEV")))
    assert run.timeline.states[0].params.covariance_type == "full"  # the picture's
    assert current_model(run) == ("VEV", 3)
    assert "VEV, fitted in 4 columns" in run.table["covariance_type"]


def penguins_page(columns: tuple[str, ...], view: str) -> None:
    """The tabs for a run on some of penguins' columns, drawn as ``view``."""
    from emapp.build.prepare import prepare_table
    from emapp.build.tables import choose, dataset_table
    from emapp.build.timeline import ModelSettings, compute_timeline
    from emapp.ui import teaching as ui

    axes = (columns[2], columns[0]) if view == "columns" else None
    data = choose(dataset_table("penguins"), list(columns), True, view, axes)
    timeline = compute_timeline(data.X, ModelSettings(3, "full", "k-means++", 0))
    ui.teaching_tabs(prepare_table(("penguins", columns, view), data, timeline))


PENGUINS_3 = ("bill_len", "bill_dep", "flipper_len")
PENGUINS_4 = (*PENGUINS_3, "body_mass")


@pytest.mark.parametrize(
    ("columns", "view", "drawn"),
    [
        (PENGUINS_3, "columns", "the chart draws two of them, flipper_len across and bill_len up"),
        (PENGUINS_4, "columns", "the chart draws two of them, flipper_len across and bill_len up"),
        (PENGUINS_4, "pca", "the chart shows their PCA projection, a plane through all 4"),
    ],
)
@pytest.mark.parametrize("tab", ["Worked example", "k-means vs EM"])
def test_a_fit_in_more_columns_than_drawn_says_what_the_chart_shows(
    columns: tuple[str, ...], view: str, drawn: str, tab: str
) -> None:
    """The tabs said "EM ran in all the table's columns and the chart shows a projection of
    them" also for two chosen columns drawn as they are, and for a few of the columns."""
    at = AppTest.from_function(penguins_page, args=(columns, view), default_timeout=120).run()
    assert not at.exception
    open_tab(at, tab)
    # The words are markdown-escaped (column names may come from an upload).
    said = [re.sub(r"\\(.)", r"\1", i.value) for i in at.info if "EM ran in" in i.value]
    assert said == [
        f"EM ran in the {len(columns)} chosen columns and {drawn}, so "
        f"{'a worked example' if tab == 'Worked example' else 'k-means'} on the picture would "
        "not be EM's own numbers. Choose one or two columns in the sidebar to see it."
    ]


@pytest.mark.parametrize(
    ("columns", "view", "drawn"),
    [
        (PENGUINS_3, "columns", "the chart draws two of them, flipper_len across and bill_len up"),
        (PENGUINS_4, "pca", "the chart shows their PCA projection, a plane through all 4"),
    ],
)
def test_the_density_tab_of_a_projected_fit_says_what_its_map_is(
    columns: tuple[str, ...], view: str, drawn: str
) -> None:
    """The map of a fit in more columns than drawn is the density of the drawn plane: it said
    each point's log p(x_i) could be read off it (tester's fault 3)."""
    at = AppTest.from_function(penguins_page, args=(columns, view), default_timeout=120).run()
    assert not at.exception
    open_tab(at, "Density")
    said = [re.sub(r"\\(.)", r"\1", i.value) for i in at.info if "EM ran in" in i.value]
    assert said == [
        f"EM ran in the {len(columns)} chosen columns and {drawn}, so the density at a point "
        "on this map would not be EM's own numbers. Choose one or two columns in the sidebar "
        "to see it."
    ]
    words = " ".join(m.value for m in at.markdown)
    assert "points in dark regions are well explained" not in words
    assert "depends on all the fitted columns" in words
