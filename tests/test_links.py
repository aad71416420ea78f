"""Shareable links: the settings <-> query string round trip, tampered links, and the page
opening a link (AppTest). The browser side is in tests/test_keys_browser.py."""

from __future__ import annotations

from dataclasses import replace

import pytest
from apptest_page import APP
from hypothesis import given, settings
from hypothesis import strategies as st
from streamlit.testing.v1 import AppTest

from emapp.build.blobs import BlobSettings
from emapp.build.covariance_models import MODEL_CHOICES
from emapp.build.links import (
    BAD_NOTE,
    BLOB_RANGES,
    MODEL_RANGES,
    SOURCES,
    SPEEDS,
    UPLOAD_NOTE,
    LinkSettings,
    TableChoices,
    decode,
    encode,
    widget_values,
)
from emapp.build.prepare import settings_tuple
from emapp.build.presets import PRESET_NAMES, PRESETS, is_applied, preset_by_name
from emapp.build.projection import VIEWS
from emapp.build.timeline import CLICK_INIT, ModelSettings
from emcore import DATASETS, INIT_METHODS

COLUMNS = {
    "faithful": ["eruptions", "waiting"],
    "iris": ["sepal_length", "sepal_width", "petal_length", "petal_width"],
    "penguins": ["bill_len", "bill_dep", "flipper_len", "body_mass"],
}


def columns_of(key: str) -> list[str]:
    return COLUMNS[key]


def as_query(params: dict) -> dict[str, list[str]]:
    """What ``st.query_params`` hands the page for ``params``."""
    return {k: list(v) if isinstance(v, list) else [v] for k, v in params.items()}


def on_grid(name: str, ranges: dict) -> st.SearchStrategy:
    low, high, step = ranges[name]
    if isinstance(step, float):
        count = round((high - low) / step)
        return st.integers(0, count).map(lambda i: round(low + i * step, 10))
    return st.integers(0, (high - low) // step).map(lambda i: low + i * step)


blob_settings = st.builds(
    BlobSettings,
    on_grid("n_points", BLOB_RANGES),
    on_grid("n_clusters", BLOB_RANGES),
    on_grid("spread", BLOB_RANGES),
    on_grid("stretch", BLOB_RANGES),
    on_grid("rotation", BLOB_RANGES).map(float),
    st.booleans(),
    on_grid("data_seed", BLOB_RANGES),
    st.sampled_from((1, 2)),
)
model_settings = st.builds(
    ModelSettings,
    on_grid("n_components", MODEL_RANGES),
    st.sampled_from(MODEL_CHOICES),
    st.sampled_from((*INIT_METHODS, CLICK_INIT)),
    on_grid("model_seed", MODEL_RANGES),
)


@st.composite
def table_choices(draw, dataset: str) -> TableChoices:
    columns = draw(st.permutations(COLUMNS[dataset]))
    chosen = tuple(columns[: draw(st.integers(1, len(columns)))])
    if len(chosen) <= 2:
        return TableChoices(chosen, standardise=len(chosen) > 1 and draw(st.booleans()))
    picture = draw(st.sampled_from(VIEWS))
    x, y = (draw(st.permutations(chosen))[:2]) if picture == "columns" else chosen[:2]
    return TableChoices(chosen, picture, x, y, draw(st.booleans()))


@st.composite
def link_settings(draw) -> LinkSettings:
    source = draw(st.sampled_from(tuple(SOURCES.values())))
    dataset = draw(st.sampled_from(tuple(DATASETS)))
    blobs = draw(blob_settings) if source == "Blobs" else BlobSettings()
    choices = None
    if source == "Real data sets":
        choices = draw(st.none() | table_choices(dataset))
    model = draw(model_settings)
    axes = blobs.dimensions
    if source == "Real data sets":
        axes = len(choices.columns) if choices is not None else 0
    means = ()
    if model.init == CLICK_INIT and source != "Upload CSV" and 1 <= axes <= 2:
        coordinate = st.floats(-1e6, 1e6, allow_nan=False)
        mean = st.tuples(*[coordinate] * axes)
        means = tuple(draw(st.lists(mean, max_size=model.n_components)))
    return LinkSettings(
        source=source,
        blobs=blobs,
        model=model,
        means=means,
        speed=draw(st.sampled_from(SPEEDS)),
        scenario=draw(st.none() | st.sampled_from(PRESET_NAMES)),
        dataset=dataset if source == "Real data sets" else LinkSettings().dataset,
        choices=choices,
    )


# -- round trip ---------------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(link_settings())
def test_every_link_opens_the_settings_it_was_made_from(link: LinkSettings) -> None:
    opened = decode(as_query(encode(link)), columns_of)
    assert opened.settings == link
    assert opened.note == (UPLOAD_NOTE if link.source == "Upload CSV" else "")


def test_the_default_page_has_a_clean_url() -> None:
    assert encode(LinkSettings()) == {}
    assert decode({}, columns_of) == decode(as_query(encode(LinkSettings())), columns_of)
    assert decode({}, columns_of).note == ""


def test_a_link_writes_short_readable_names() -> None:
    link = LinkSettings(
        blobs=BlobSettings(n_points=500, spread=1.5),
        model=ModelSettings(n_components=4, init="k-means++", seed=7),
        speed=12,
    )
    assert encode(link) == {
        "points": "500",
        "spread": "1.5",
        "k": "4",
        "init": "k-means++",
        "seed": "7",
        "speed": "12",
    }


def test_a_scenario_link_writes_only_the_changes_since_choosing_it() -> None:
    preset = preset_by_name("Overlapping")
    link = LinkSettings(
        blobs=replace(preset.blobs, n_points=500),
        model=replace(preset.model, n_components=4),
        scenario="Overlapping",
    )
    assert encode(link) == {"scenario": "Overlapping", "points": "500", "k": "4"}
    unchanged = LinkSettings(blobs=preset.blobs, model=preset.model, scenario="Overlapping")
    assert encode(unchanged) == {"scenario": "Overlapping"}


@pytest.mark.parametrize("preset", PRESETS, ids=PRESET_NAMES)
def test_a_link_naming_only_a_scenario_opens_that_scenario(preset) -> None:
    """``?scenario=Overlapping`` used to open the default data with the scenario's pill
    lit, and the sidebar said a setting had been changed."""
    opened = decode({"scenario": [preset.name]}, columns_of)
    assert opened.note == ""
    assert opened.settings == LinkSettings(
        blobs=preset.blobs, model=preset.model, scenario=preset.name
    )
    assert is_applied(preset, widget_values(opened.settings))


# One changed setting of each kind a link can carry: (query name, value, the field it sets).
SCENARIO_CHANGES = [
    ("points", "1000", "blobs", "n_points", 1000),
    ("clusters", "5", "blobs", "n_clusters", 5),
    ("spread", "0.5", "blobs", "spread", 0.5),
    ("stretch", "3.5", "blobs", "stretch", 3.5),
    ("rotation", "75", "blobs", "rotation", 75.0),
    ("own", "0", "blobs", "own_orientation", False),
    ("data_seed", "42", "blobs", "seed", 42),
    ("dims", "2", "blobs", "dimensions", 2),
    ("k", "5", "model", "n_components", 5),
    ("cov", "VII", "model", "covariance_type", "spherical"),
    ("init", "random", "model", "init", "random"),
    ("seed", "9", "model", "seed", 9),
]


@pytest.mark.parametrize("preset", PRESETS, ids=PRESET_NAMES)
@pytest.mark.parametrize(("param", "text", "part", "name", "value"), SCENARIO_CHANGES)
def test_a_scenario_links_other_settings_go_on_top_of_it(preset, param, text, part, name, value):
    opened = decode({"scenario": [preset.name], param: [text]}, columns_of)
    assert opened.note == ""
    expected = LinkSettings(blobs=preset.blobs, model=preset.model, scenario=preset.name)
    expected = replace(expected, **{part: replace(getattr(expected, part), **{name: value})})
    assert opened.settings == expected
    assert decode(as_query(encode(expected)), columns_of).settings == expected
    assert is_applied(preset, widget_values(opened.settings)) == (
        expected.blobs == preset.blobs and expected.model == preset.model
    )


@pytest.mark.parametrize("preset", PRESETS, ids=PRESET_NAMES)
def test_a_scenario_link_to_other_data_keeps_the_scenarios_model(preset) -> None:
    query = {"scenario": [preset.name], "source": ["datasets"], "dataset": ["iris"], "speed": ["5"]}
    opened = decode(query, columns_of)
    assert opened.note == ""
    assert opened.settings.model == preset.model and opened.settings.speed == 5
    assert opened.settings.source == "Real data sets" and opened.settings.dataset == "iris"
    assert decode(as_query(encode(opened.settings)), columns_of).settings == opened.settings


def test_slider_floats_keep_every_digit() -> None:
    """A slider may hand back 1.2000000000000002: the link keeps it, so the run key (and
    the run) is the very same."""
    link = LinkSettings(blobs=BlobSettings(spread=1.2000000000000002))
    assert decode(as_query(encode(link)), columns_of).settings == link


def test_every_scenario_round_trips_through_the_widgets() -> None:
    for preset in PRESETS:
        link = LinkSettings(blobs=preset.blobs, model=preset.model, scenario=preset.name)
        values = widget_values(decode(as_query(encode(link)), columns_of).settings)
        assert values["teaching_preset"] == preset.name
        assert values["n_points"] == preset.blobs.n_points
        assert isinstance(values["rotation"], int) and isinstance(values["spread"], float)


def test_clicked_means_travel_in_the_data_units() -> None:
    link = LinkSettings(
        model=ModelSettings(n_components=2, init=CLICK_INIT),
        means=((1.5, -2.0000000000000004), (1e-05, 3.0)),
    )
    params = encode(link)
    assert params["mean"] == ["1.5,-2.0000000000000004", "1e-05,3.0"]
    assert decode(as_query(params), columns_of).settings == link


@pytest.mark.parametrize("name", MODEL_CHOICES)
def test_every_covariance_model_round_trips(name: str) -> None:
    """All 14 models travel under the name the sidebar stores ("full" stays "full")."""
    link = LinkSettings(model=ModelSettings(covariance_type=name))
    params = encode(link)
    assert params == ({} if name == "full" else {"cov": name})
    opened = decode(as_query(params), columns_of)
    assert opened.settings == link and opened.note == ""
    assert widget_values(opened.settings)["covariance_type"] == name


@pytest.mark.parametrize(
    ("letters", "name"), [("VVV", "full"), ("EEE", "tied"), ("VVI", "diag"), ("VII", "spherical")]
)
def test_mclusts_letters_open_the_models_scikit_learn_names(letters: str, name: str) -> None:
    opened = decode({"cov": [letters]}, columns_of)
    assert opened.settings.model.covariance_type == name and opened.note == ""
    assert encode(opened.settings) == ({} if name == "full" else {"cov": name})


@pytest.mark.parametrize(
    ("typed", "name"), [("vev", "VEV"), ("Full", "full"), ("vvv", "full"), (" eee ", "tied")]
)
def test_a_model_typed_in_another_case_opens_that_model(typed: str, name: str) -> None:
    # A link typed by hand ("cov=vev") used to open the default run with a bad-link note.
    opened = decode({"cov": [typed]}, columns_of)
    assert opened.settings.model.covariance_type == name and opened.note == ""


def test_reseeds_are_not_part_of_a_link() -> None:
    link = LinkSettings(model=ModelSettings(reseeds=((4, 1),)))
    assert decode(as_query(encode(link)), columns_of).settings.model.reseeds == ()


# -- tampering ------------------------------------------------------------------------------------

TAMPERED = [
    {"colour": ["red"]},  # unknown key
    {"k": ["99"]},  # out of range
    {"k": ["0"]},
    {"k": ["three"]},  # wrong type
    {"k": ["3.0"]},
    {"k": ["-1"]},
    {"k": ["3", "4"]},  # repeated
    {"points": ["1234"]},  # off the slider's steps
    {"points": ["9" * 90]},  # huge
    {"spread": ["1.25"]},
    {"spread": ["nan"]},
    {"spread": ["inf"]},
    {"spread": ["1e1"]},
    {"own": ["yes"]},
    {"cov": ["<script>alert(1)</script>"]},  # markup
    {"cov": ["VXV"]},  # no such model (in any case)
    {"cov": ["VVX"]},
    {"init": ["**bold**"]},
    {"scenario": ["[link](http://example.com)"]},
    {"source": ["ftp"]},
    {"speed": ["3"]},
    {"speed": [""]},
    {"source": ["upload"], "points": ["500"]},  # settings of another source
    {"dataset": ["iris"]},
    {"source": ["datasets"], "dataset": ["mnist"]},
    {"source": ["datasets"], "dataset": ["iris"], "cols": ["petal_length", "<b>x</b>"]},
    {"source": ["datasets"], "dataset": ["iris"], "cols": ["petal_length", "petal_length"]},
    {"source": ["datasets"], "dataset": ["faithful"], "cols": ["waiting"], "std": ["1"]},
    {"source": ["datasets"], "dataset": ["iris"], "picture": ["pca"]},
    {"source": ["datasets"], "cols": ["eruptions", "waiting"], "picture": ["pca"]},
    {
        "source": ["datasets"],
        "dataset": ["iris"],
        "cols": ["sepal_length", "sepal_width", "petal_length"],
        "x": ["sepal_length"],
        "y": ["sepal_length"],
    },
    {f"k{i}": ["1"] for i in range(100)},
    {"mean": ["1,2"]},  # means for another start
    {"init": ["click"], "k": ["1"], "mean": ["1,2", "3,4"]},  # more means than components
    {"init": ["click"], "mean": ["1,2,3"]},  # a plane has two axes
    {"init": ["click"], "mean": ["1,nan"]},
    {"init": ["click"], "mean": ["1,1e99"]},
    {"init": ["click"], "mean": ["1;2"]},
    {"source": ["upload"], "init": ["click"], "mean": ["1,2"]},
    {"dims": ["3"]},
]


@pytest.mark.parametrize("query", TAMPERED)
def test_a_tampered_link_shows_the_default_run_and_says_so(query: dict) -> None:
    opened = decode(query, columns_of)
    assert opened.settings == LinkSettings()
    assert opened.note.startswith("This link's settings could not be used (")
    assert opened.note.endswith("), so the page shows the default run.")
    assert "\n" not in opened.note and "<" not in opened.note and "[" not in opened.note


def test_a_note_never_repeats_what_the_link_said() -> None:
    for value in ("<img src=x onerror=alert(1)>", "`code`", "$x$"):
        note = decode({value: ["1"]}, columns_of).note
        assert value not in note
        note = decode({"cov": [value]}, columns_of).note
        assert value not in note


def test_a_failing_data_set_gives_the_defaults_too() -> None:
    def broken(_key: str) -> list[str]:
        raise OSError("gone")

    query = {"source": ["datasets"], "cols": ["eruptions"]}
    opened = decode(query, broken)
    assert opened.settings == LinkSettings()
    assert opened.note == BAD_NOTE.format(reason="it is not readable")


def test_an_upload_link_keeps_the_source_and_asks_for_the_file() -> None:
    opened = decode({"source": ["upload"], "k": ["2"]}, columns_of)
    assert opened.settings.source == "Upload CSV"
    assert opened.settings.model.n_components == 2
    assert opened.note == UPLOAD_NOTE


text = st.text(max_size=30)
queries = st.dictionaries(
    st.sampled_from(sorted({"k", "points", "spread", "source", "cols", "x", "y", "std", "dataset"}))
    | text,
    st.lists(
        text | st.sampled_from(["1", "3", "iris", "datasets", "eruptions", "waiting"]), max_size=12
    ),
    max_size=12,
)


@settings(max_examples=500, deadline=None)
@given(queries)
def test_any_query_string_gives_valid_settings_or_the_defaults_and_a_note(query) -> None:
    opened = decode(query, columns_of)
    link = opened.settings
    if opened.note and opened.note != UPLOAD_NOTE:
        assert link == LinkSettings()
        return
    # Valid settings: they round trip, and every widget value is one the sidebar offers.
    assert decode(as_query(encode(link)), columns_of).settings == link
    values = widget_values(link)
    for key, (low, high, _) in {**BLOB_RANGES, **MODEL_RANGES}.items():
        if key in values:
            assert low <= values[key] <= high
    assert values["speed"] in SPEEDS


# -- the page (AppTest) ---------------------------------------------------------------------------


def open_with(query: dict) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params.update(query)
    at.run()
    assert not at.exception, at.exception
    return at


def test_the_sidebar_offers_what_links_accept() -> None:
    """links.py keeps its own copy of the sliders' ranges: they must match the sidebar."""
    at = open_with({"k": "4"})
    assert at.radio(key="dimensions").value == 2 and len(at.radio(key="dimensions").options) == 2
    for key, (low, high, step) in {**BLOB_RANGES, **MODEL_RANGES}.items():
        if key == "dimensions":
            continue
        widget = at.sidebar.get("slider") + at.sidebar.get("number_input")
        found = [w for w in widget if w.key == key]
        assert found, key
        proto = found[0].proto
        assert (proto.min, proto.max) == (low, high), key
        assert proto.step == step, key
    speed = at.select_slider(key="speed")
    assert tuple(int(o) for o in speed.options) == SPEEDS
    assert at.radio(key="source").options == list(SOURCES.values())


def test_opening_a_link_shows_its_run_and_keeps_the_url() -> None:
    query = {"points": "500", "clusters": "4", "k": "4", "cov": "diag", "seed": "3", "speed": "5"}
    at = open_with(query)
    assert at.session_state["n_points"] == 500 and at.session_state["covariance_type"] == "diag"
    assert at.session_state["speed"] == 5
    assert dict(at.query_params) == query
    run = at.session_state["em_run"]
    blobs = BlobSettings(n_points=500, n_clusters=4)
    model = ModelSettings(n_components=4, covariance_type="diag", seed=3)
    assert run.key == ("blobs", settings_tuple(blobs), settings_tuple(model))
    assert not at.info  # no note for a good link


def test_changing_a_setting_updates_the_url() -> None:
    at = open_with({"k": "4"})
    at.slider(key="n_components").set_value(5).run()
    assert at.query_params["k"] == ["5"] or at.query_params["k"] == "5"
    at.slider(key="n_components").set_value(3).run()
    assert "k" not in at.query_params


def test_a_tampered_link_opens_the_default_run_with_a_note() -> None:
    at = open_with({"k": "99", "evil": "<script>"})
    assert at.session_state["em_run"].key == open_with({}).session_state["em_run"].key
    assert len(at.info) == 1
    assert "could not be used" in at.info[0].value
    assert dict(at.query_params) == {}  # the URL now links to what is shown


def test_a_data_set_link_restores_its_columns() -> None:
    query = {
        "source": "datasets",
        "dataset": "iris",
        "cols": ["petal_length", "petal_width", "sepal_length"],
        "picture": "columns",
        "x": "petal_width",
        "y": "sepal_length",
        "std": "1",
    }
    at = open_with(query)
    assert at.session_state["fit_columns"] == query["cols"]
    assert (at.session_state["x_column"], at.session_state["y_column"]) == (
        "petal_width",
        "sepal_length",
    )
    assert at.session_state["standardise"] is True
    assert {k: v for k, v in at.query_params.items()} == query


@pytest.mark.parametrize("preset", PRESETS, ids=PRESET_NAMES)
def test_a_scenario_link_opens_the_scenarios_run_and_lesson(preset) -> None:
    at = open_with({"scenario": preset.name})
    run = at.session_state["em_run"]
    assert run.key[1:] == (settings_tuple(preset.blobs), settings_tuple(preset.model))
    assert [i.value for i in at.sidebar.info] == [f"**{preset.name}.** {preset.lesson}"]
    assert not [c for c in at.sidebar.caption if "You changed a setting" in c.value]
    assert dict(at.query_params) == {"scenario": preset.name}


def test_a_scenario_link_with_a_change_says_it_is_changed() -> None:
    at = open_with({"scenario": "Overlapping", "k": "5"})
    run = at.session_state["em_run"]
    preset = preset_by_name("Overlapping")
    assert run.key[1:] == (
        settings_tuple(preset.blobs),
        settings_tuple(replace(preset.model, n_components=5)),
    )
    assert [c for c in at.sidebar.caption if "You changed a setting" in c.value]


def test_an_upload_link_says_the_file_must_be_uploaded_again() -> None:
    at = open_with({"source": "upload"})
    assert at.session_state["source"] == "Upload CSV"
    assert any("upload the file again" in i.value.replace("\\", "") for i in at.info)


def test_a_link_with_clicked_means_starts_from_them() -> None:
    query = {"dims": "1", "k": "2", "init": "click", "mean": ["-3.5", "2.25"]}
    at = open_with(query)
    run = at.session_state["em_run"]
    assert run.key[1] == settings_tuple(BlobSettings(dimensions=1))
    assert run.key[2] == settings_tuple(
        ModelSettings(n_components=2, init=CLICK_INIT, means=((-3.5,), (2.25,)))
    )
    assert dict(at.query_params) == query
