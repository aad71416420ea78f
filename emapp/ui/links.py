"""Shareable links (Streamlit glue): the URL's query string <-> the sidebar's settings.

On a session's first run :func:`open_link` reads ``st.query_params`` with the pure
:func:`emapp.build.links.decode` and writes the settings into the sidebar's widget keys
(before any widget is drawn, the only moment Streamlit lets a script set them); after the
sidebar, :func:`sync_link` writes the settings on screen back into the URL, so the address
bar always holds a link to the run on screen, and shows the link's note while it applies.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

import streamlit as st

from emapp.build.links import (
    DATASETS_SOURCE,
    UPLOAD,
    LinkSettings,
    TableChoices,
    decode,
    encode,
    widget_values,
)
from emapp.build.names import markdown_literal
from emapp.build.tables import ChosenData, choose, dataset_table
from emapp.build.timeline import CLICK_INIT
from emapp.ui.placing import PLACED, data_key
from emapp.ui.upload import (
    CHOICES,
    CHOICES_FOR,
    COLUMNS_KEY,
    DATASET_KEY,
    STANDARDISE_KEY,
    VIEW_KEY,
    X_KEY,
    Y_KEY,
)

if TYPE_CHECKING:
    from emapp.ui.sidebar import Settings

OPENED = "em_link_opened"  # the session has read its URL
NOTE = "em_link_note"  # (note, the query string it is about) while that link is on screen
PRESET_KEY = "teaching_preset"  # the scenario pills (emapp.ui.teaching)
NOTE_KEY = "link-note"


def dataset_columns(key: str) -> list[str]:
    return list(dataset_table(key).frame.columns)


def current_query() -> dict[str, list[str]]:
    return {name: st.query_params.get_all(name) for name in st.query_params}


def as_lists(params: dict[str, str | list[str]]) -> dict[str, list[str]]:
    return {k: list(v) if isinstance(v, list) else [v] for k, v in params.items()}


def remembered_choices(choices: TableChoices) -> dict:
    """``choices`` as :mod:`emapp.ui.upload` remembers a table's column choices."""
    columns = list(choices.columns)
    return {
        COLUMNS_KEY: columns,
        VIEW_KEY: choices.picture,
        X_KEY: choices.x or columns[0],
        Y_KEY: choices.y or (columns[1] if len(columns) > 1 else columns[0]),
        STANDARDISE_KEY: choices.standardise,
    }


def chosen_table(dataset: str, choices: TableChoices) -> ChosenData:
    """The data a link's table choices give (what clicked means belong to)."""
    axes = (choices.x, choices.y) if choices.x is not None and choices.y is not None else None
    columns = list(choices.columns)
    return choose(dataset_table(dataset), columns, choices.standardise, choices.picture, axes)


def placed_means(settings: Settings) -> tuple[tuple[float, ...], ...]:
    """The means clicked onto the chart for these settings' data (in the data's units)."""
    if settings.model.init != CLICK_INIT or settings.source == UPLOAD:
        return ()
    record = st.session_state.get(PLACED)
    if not record or record.get("for") != data_key(settings.blobs, settings.table):
        return ()
    points = record.get("points", [])[: settings.model.n_components]
    return tuple(tuple(float(v) for v in point) for point in points)


def open_link() -> bool:
    """On the session's first run, show the settings of the URL's query string (or the
    defaults and a note, if it cannot be used). Whether the URL had a query string."""
    if st.session_state.get(OPENED):
        return False
    st.session_state[OPENED] = True
    query = current_query()
    if not query:
        return False
    opened = decode(query, dataset_columns)
    st.session_state.update(widget_values(opened.settings))
    settings = opened.settings
    table = None
    if settings.source == DATASETS_SOURCE and settings.choices is not None:
        table = chosen_table(settings.dataset, settings.choices)
        memory = st.session_state.setdefault(CHOICES, {})
        memory[table.digest] = remembered_choices(settings.choices)
    if settings.means:  # the means were clicked onto the chart: place them again
        points = [tuple(mean) for mean in settings.means]
        st.session_state[PLACED] = {"for": data_key(settings.blobs, table), "points": points}
    if opened.note:
        st.session_state[NOTE] = (opened.note, as_lists(encode(settings)))
    return True


def link_settings(settings: Settings) -> LinkSettings:
    """What a link to the page on screen carries."""
    choices = None
    if settings.source == DATASETS_SOURCE and settings.table is not None:
        memory = st.session_state.get(CHOICES, {}).get(st.session_state.get(CHOICES_FOR))
        if memory:
            columns = tuple(memory[COLUMNS_KEY])
            many = len(columns) > 2
            picture = memory[VIEW_KEY] if many else "columns"
            axes = many and picture == "columns"
            choices = TableChoices(
                columns,
                picture,
                memory[X_KEY] if axes else (columns[0] if many else None),
                memory[Y_KEY] if axes else (columns[1] if many else None),
                bool(memory[STANDARDISE_KEY]) and len(columns) > 1,
            )
    return LinkSettings(
        source=settings.source,
        blobs=settings.blobs,
        model=replace(settings.model, reseeds=(), means=()),
        speed=int(settings.speed),
        scenario=st.session_state.get(PRESET_KEY),
        dataset=st.session_state.get(DATASET_KEY) or LinkSettings().dataset,
        choices=choices,
        means=placed_means(settings),
    )


def sync_link(settings: Settings) -> None:
    """Keep the URL a link to ``settings``; say what the opened link's note says while its
    settings are still on screen (in plain text)."""
    params = as_lists(encode(link_settings(settings)))
    if params != current_query():
        st.query_params.from_dict(params)
    stored = st.session_state.get(NOTE)
    if stored is None:
        return
    note, opened = stored
    if params != opened or (settings.source == UPLOAD and settings.table is not None):
        del st.session_state[NOTE]  # the settings changed, or the file was uploaded again
        return
    with st.container(key=NOTE_KEY):
        st.info(markdown_literal(note))
