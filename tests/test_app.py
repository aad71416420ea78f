"""The page through Streamlit's AppTest: every control and every settings change.

The status line ("Iteration N · ...") and the parameter table are drawn in the browser by the
player component from data the script sends; these tests read that data (what the browser
is told to show) and the session's cursor.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from apptest_page import APP, open_app
from streamlit.testing.v1 import AppTest

from emapp.ui.player import CHART_KEY
from emcore.selection import model_names

BUTTON_LABELS = ["E-step", "M-step", "Step", "Play", "Pause", "Run to convergence", "Reset"]


def start() -> AppTest:
    return open_app()


def component(at: AppTest, role: str) -> dict:
    """The data sent to one of the page's custom components (``player`` or ``table``)."""
    for element in at.main:
        data = getattr(element.proto, "json", None) if element.type == "bidi_component" else None
        if data and json.loads(data).get("role") == role:
            return json.loads(data)
    raise AssertionError(f"no {role} component on the page")


def shown(at: AppTest) -> str:
    """The status line the browser shows: ``Iteration N · ...``."""
    player = component(at, "player")
    return player["labels"][player["target"]]


def click(at: AppTest, label: str) -> AppTest:
    button = next(b for b in at.button if b.label == label)
    button.click().run()
    assert not at.exception
    return at


def notes_on_screen(at: AppTest) -> list[list[str]]:
    """The notes the player shows under the status line, as ``[kind, sentence]`` pairs."""
    player = component(at, "player")
    return player["notes"][player["notes_index"][player["target"]]]


def reseed_controls(at: AppTest) -> list:
    """Every re-seed button: one per stuck component (``reseed_<k>``) or one beside a
    drop-down of them (``reseed_chosen``)."""
    return [b for b in at.button if (b.key or "").startswith("reseed_")]


def scrub_slider(at: AppTest):
    return next(s for s in at.select_slider if s.label.startswith("Scrub through"))


def view(at: AppTest):
    return at.session_state["em_view"]


def test_the_page_loads_with_every_control_and_the_explanation() -> None:
    at = start()
    labels = [b.label for b in at.button]
    for label in BUTTON_LABELS:
        assert label in labels
    assert shown(at) == "Iteration 0 · starting point"
    assert at.get("plotly_chart")
    assert any("E-step (Expectation)" in m.value for m in at.markdown)
    assert len(at.get("latex")) >= 2
    assert {"Blobs", "Upload CSV"} <= set(at.radio(key="source").options)


def test_the_first_run_draws_the_chart_first_and_the_rest_follows() -> None:
    at = AppTest.from_file(APP, default_timeout=120).run()
    assert not at.exception
    first = component(at, "player")
    assert first["ask_for_page"] is True  # the browser asks for the rest once drawn
    assert [c.key for c in at.get("plotly_chart")] == [CHART_KEY]
    assert {b.label for b in at.button} == set(BUTTON_LABELS)
    assert shown(at) == "Iteration 0 · starting point"
    assert not at.sidebar.slider and not at.sidebar.radio  # only a placeholder
    assert "Loading the settings…" in [c.value for c in at.sidebar.caption]
    assert not at.tabs and not at.get("latex")
    at.run()  # the browser's request
    assert not at.exception
    second = component(at, "player")
    assert second["ask_for_page"] is False
    # The defaults the first run used are the sidebar's: the same run, not a new one.
    assert second["version"] == first["version"] and second["target"] == first["target"]
    assert at.sidebar.slider and at.tabs and at.get("latex")
    assert component(at, "table")["role"] == "table"


def test_a_step_before_the_rest_arrives_keeps_the_step() -> None:
    at = AppTest.from_file(APP, default_timeout=120).run()
    click(at, "Step")
    at.run()
    assert shown(at) == "Iteration 1 · E-step done"
    assert component(at, "player")["ask_for_page"] is False


def test_e_step_recolours_then_m_step_moves() -> None:
    at = start()
    click(at, "E-step")
    assert shown(at) == "Iteration 0 · E-step done"
    click(at, "M-step")
    assert shown(at) == "Iteration 1 · M-step done"
    player = component(at, "player")
    assert "before this M-step" in player["loglik"][player["target"]]


def test_step_runs_one_full_iteration() -> None:
    at = start()
    click(at, "Step")
    assert shown(at) == "Iteration 1 · E-step done"
    click(at, "Step")
    assert shown(at) == "Iteration 2 · E-step done"
    player = component(at, "player")
    assert player["loglik"][player["target"]].startswith("log-likelihood −")


def test_run_to_convergence_reaches_the_end_and_says_so() -> None:
    at = start()
    click(at, "Run to convergence")
    player = component(at, "player")
    assert player["target"] == len(player["labels"]) - 1
    notes = player["notes"][player["notes_index"][player["target"]]]
    assert any("converged" in sentence for _, sentence in notes)


def test_play_then_pause() -> None:
    at = start()
    click(at, "Play")
    player = component(at, "player")
    assert player["playing"] and player["sequence"][0] == 1
    assert next(b for b in at.button if b.label == "Pause").disabled is False
    assert next(b for b in at.button if b.label == "Step").disabled is True
    click(at, "Pause")
    assert not component(at, "player")["playing"]
    assert view(at).playing is False


def test_reset_goes_back_to_the_start() -> None:
    at = start()
    click(at, "Step")
    click(at, "Step")
    click(at, "Reset")
    assert shown(at) == "Iteration 0 · starting point"
    assert view(at).furthest == 0


def test_scrub_back_and_forth_through_visited_iterations() -> None:
    at = start()
    for _ in range(3):
        click(at, "Step")
    scrub = scrub_slider(at)
    assert scrub.options[-1].startswith("3")
    scrub.set_value(2).run()
    assert shown(at) == "Iteration 1 · M-step done"
    scrub_slider(at).set_value(7).run()
    assert shown(at) == "Iteration 3 · E-step done"


def test_the_table_follows_the_state_on_screen() -> None:
    at = start()
    click(at, "Step")
    table = component(at, "table")
    assert len(table["labels"]) == len(component(at, "player")["labels"])
    assert "Iteration 1 · E-step done" in table["labels"]


@pytest.mark.parametrize(
    ("kind", "key", "value"),
    [
        ("slider", "n_points", 400),
        ("slider", "n_clusters", 4),
        ("slider", "spread", 2.0),
        ("slider", "stretch", 1.0),
        ("slider", "rotation", 90),
        ("checkbox", "own_orientation", False),
        ("number_input", "data_seed", 7),
        ("slider", "n_components", 2),
        ("selectbox", "covariance_type", "diag"),
        ("selectbox", "init", "k-means++"),
        ("number_input", "model_seed", 3),
    ],
)
def test_changing_a_setting_resets_cleanly(kind: str, key: str, value: object) -> None:
    at = start()
    click(at, "Step")
    before = component(at, "player")["version"]
    getattr(at, kind)(key=key).set_value(value).run()
    assert not at.exception
    assert shown(at) == "Iteration 0 · starting point"
    assert component(at, "player")["version"] != before
    click(at, "Step")
    assert shown(at) == "Iteration 1 · E-step done"


def test_every_covariance_type_and_initialisation_runs() -> None:
    at = start()
    for covariance_type in ["full", "tied", "diag", "spherical"]:
        at.selectbox(key="covariance_type").set_value(covariance_type).run()
        for init in ["random", "random_from_data", "k-means++", "kmeans"]:
            at.selectbox(key="init").set_value(init).run()
            assert not at.exception
            click(at, "Run to convergence")
            assert component(at, "player")["playing"] is False


def test_every_one_of_the_fourteen_models_runs_to_convergence() -> None:
    at = start()
    for covariance_type in model_names("all"):
        at.selectbox(key="covariance_type").set_value(covariance_type).run()
        assert not at.exception, covariance_type
        click(at, "Run to convergence")
        assert not at.exception, covariance_type
        params = at.session_state["em_run"].timeline.states[-1].params
        assert params.covariance_type == covariance_type
        assert component(at, "player")["playing"] is False


def test_a_constrained_model_chosen_in_the_sidebar_runs_and_steps() -> None:
    """VEV (same shape, own size and orientation), one of mclust's models, from the sidebar:
    its picture and words are shown, the run is a VEV fit, and stepping works."""
    at = start()
    box = at.selectbox(key="covariance_type")
    assert len(box.options) == 14 and box.value == "full"
    assert "VEV: own size and angle" in box.options
    box.set_value("VEV").run()
    assert not at.exception
    pictures = [
        e.proto.body for e in at.sidebar.get("html") if 'class="em-cov-chosen"' in e.proto.body
    ]
    assert len(pictures) == 1
    assert 'alt="VEV: same shape, own size and orientation"' in pictures[0]
    assert shown(at) == "Iteration 0 · starting point"
    click(at, "Step")
    assert shown(at) == "Iteration 1 · E-step done"
    click(at, "Run to convergence")
    run = at.session_state["em_run"]
    params = run.timeline.states[-1].params
    assert params.covariance_type == "VEV"
    # Same shape: the ratio of each ellipse's axes is shared by the three components.
    eigenvalues = np.linalg.eigvalsh(params.full_covariances)
    np.testing.assert_allclose(
        eigenvalues[:, 1] / eigenvalues[:, 0], eigenvalues[0, 1] / eigenvalues[0, 0], rtol=1e-6
    )
    assert "VEV: same shape, own size and orientation" in component(at, "table")["caption"]
    assert at.query_params["cov"] in (["VEV"], "VEV")


def test_play_speed_changes_the_frame_timing() -> None:
    at = start()
    fast = component(at, "player")["glide_ms"]
    at.select_slider(key="speed").set_value(1).run()
    assert component(at, "player")["glide_ms"] > fast


def test_more_components_than_points_is_a_sentence_not_a_traceback() -> None:
    at = start()
    at.slider(key="n_points").set_value(50).run()
    at.slider(key="n_components").set_value(10).run()
    assert not at.exception
    click(at, "Run to convergence")


def test_a_collapsed_component_can_be_reseeded_and_the_curve_marks_it() -> None:
    at = start()
    at.slider(key="n_points").set_value(200).run()
    at.slider(key="n_components").set_value(8).run()
    click(at, "Run to convergence")
    before = component(at, "player")
    end = before["target"]
    reseed = reseed_controls(at)
    assert reseed, "a collapsed component should offer a re-seed button"
    reseed[0].click().run()
    assert not at.exception
    after = component(at, "player")
    assert after["version"] != before["version"]
    assert "re-seeded" in after["labels"][end + 1]
    assert after["target"] == end + 2  # carries on from the re-seeded state
    assert after["labels"][: end + 1] == before["labels"][: end + 1]  # history is kept
    chart = json.loads(at.get("plotly_chart")[0].proto.spec)
    marks = next(t for t in chart["frames"][-1]["data"] if t.get("text") == ["re-seeded"])
    assert marks["x"][0] is not None
    # Another setting starts afresh, without the re-seed.
    at.number_input(key="model_seed").set_value(1).run()
    assert not any("re-seeded" in label for label in component(at, "player")["labels"])


def test_with_no_reseeds_left_the_panel_says_so_instead(monkeypatch) -> None:
    import emapp.ui.session as session_module
    from emapp.build.describe import NO_RESEEDS_LEFT

    monkeypatch.setattr(session_module, "MAX_RESEEDS", 0)
    at = start()
    at.slider(key="n_points").set_value(200).run()
    at.slider(key="n_components").set_value(8).run()
    click(at, "Run to convergence")
    assert not reseed_controls(at)
    assert NO_RESEEDS_LEFT in [c.value for c in at.caption]


def test_a_press_that_cannot_move_says_why_once() -> None:
    from emapp.build.describe import FRESH_SENTENCE

    at = start()
    click(at, "E-step")
    assert notes_on_screen(at) == []
    click(at, "E-step")  # the colours are fresh already
    assert shown(at) == "Iteration 0 · E-step done"
    # Said first in the notes, just under the buttons: a toast would cover the buttons.
    assert not at.toast
    assert notes_on_screen(at) == [["info", FRESH_SENTENCE]]
    click(at, "M-step")
    assert notes_on_screen(at) == []
    # Only for the state on screen: the browser shows every other state's notes as they are.
    click(at, "E-step")
    click(at, "E-step")
    player = component(at, "player")
    others = [player["notes"][i] for n, i in enumerate(player["notes_index"]) if n != 3]
    assert [["info", FRESH_SENTENCE]] not in others


def test_a_refused_press_at_the_end_brings_the_end_note_first() -> None:
    at = start()
    at.slider(key="n_points").set_value(200).run()
    at.slider(key="n_components").set_value(8).run()
    click(at, "Run to convergence")
    before = notes_on_screen(at)
    assert before[-1][0] in ("success", "info") and len(before) > 1
    click(at, "Run to convergence")  # nothing further to run
    after = notes_on_screen(at)
    assert after[0] == before[-1] and sorted(map(tuple, after)) == sorted(map(tuple, before))


def reseed_panel(components: tuple[int, ...]) -> None:
    """The re-seed controls alone, for a state with ``components`` stuck (AppTest script)."""
    from dataclasses import replace

    import streamlit as st

    import emapp.ui.controls as controls
    from emapp.build.blobs import BlobSettings, make_blobs
    from emapp.build.describe import describe_state
    from emapp.build.timeline import ModelSettings, compute_timeline

    timeline = compute_timeline(make_blobs(BlobSettings(n_points=60)), ModelSettings(2, seed=1))
    chosen = st.session_state.setdefault("chosen", [])
    controls.request_reseed = chosen.append  # record the press instead of re-running EM
    controls.reseed_controls(replace(describe_state(timeline, 0), reseedable=components))


@pytest.mark.parametrize(
    "components,labels",
    [((2,), ["Re-seed component 3"]), ((0, 2, 5), ["1", "3", "6"])],
    ids=["one", "a few"],
)
def test_a_few_stuck_components_get_a_button_each(components, labels) -> None:
    at = AppTest.from_function(reseed_panel, args=(components,)).run()
    assert [b.label for b in reseed_controls(at)] == labels
    assert [b.key for b in reseed_controls(at)] == [f"reseed_{k}" for k in components]
    # Numbers alone say which component beside "Re-seed:"; no tooltip, which would lie over
    # the notes (what a re-seed does is in the "?" list: tests/test_app_tooltips.py).
    assert len(components) == 1 or any(m.value == "**Re-seed:**" for m in at.markdown)
    assert not any(b.help for b in reseed_controls(at))
    reseed_controls(at)[-1].click().run()
    assert at.session_state["chosen"] == [components[-1]]


def test_many_stuck_components_get_one_drop_down_and_one_button() -> None:
    # Five or more: a button each would not fit beside the slider at 1024 px.
    components = (0, 2, 3, 4, 5)
    at = AppTest.from_function(reseed_panel, args=(components,)).run()
    [button] = reseed_controls(at)
    assert (button.key, button.label) == ("reseed_chosen", "Re-seed")
    [picker] = at.selectbox
    assert picker.options == [f"Component {k + 1}" for k in components]
    picker.select_index(3).run()
    next(b for b in at.button if b.key == "reseed_chosen").click().run()
    assert at.session_state["chosen"] == [4]
