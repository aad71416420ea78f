"""Shareable links: the page's settings in the URL's query string and back (pure).

A link carries what defines a run and how it plays: the data source and its settings (the
blob sliders; the built-in data set, its fitted columns, picture and standardisation), the
scenario picked, the model (K, covariance type, initialisation, seeds) and the play speed.
Opening it gives the same settings, hence the same cached run (same run key and version).

Only settings that differ from the defaults are written, so the default page has no query
string. A link naming a scenario starts from that scenario's settings instead: its other
settings are the changes made since choosing it, so an unchanged scenario's link is
``?scenario=Overlapping`` and opens that scenario, not the default data.

:func:`decode` accepts any query string: a valid one gives its settings; anything
else (an unknown key, a number out of range or off the slider's steps, a wrong type, a huge
or repeated value, markup) gives the defaults and a one-line note in plain text, never an
error. An uploaded file cannot travel in a link: the link keeps the source, and the note
says the file must be uploaded again.

:mod:`emapp.ui.links` reads ``st.query_params`` into :func:`decode`, writes the result into
the sidebar's widget keys, and writes :func:`encode` of the settings back to the URL.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace

from emapp.build.blobs import BlobSettings
from emapp.build.colors import MAX_COMPONENTS
from emapp.build.covariance_models import MODEL_CHOICES
from emapp.build.presets import PRESET_NAMES, preset_by_name
from emapp.build.projection import VIEWS
from emapp.build.tables import MAX_FIT_COLUMNS
from emapp.build.timeline import CLICK_INIT, ModelSettings
from emcore import DATASETS, INIT_METHODS
from emcore.covariance import covariance_model

# Play speeds (iterations per second) the sidebar offers; the default shows each half-step
# for a quarter of a second, slow enough to follow, and 12 is still there for a quick run.
SPEEDS = (1, 2, 5, 12)
DEFAULT_SPEED = 2

# The data sources, as the sidebar names them and as a link writes them.
SOURCES = {"blobs": "Blobs", "upload": "Upload CSV", "datasets": "Real data sets"}
DEFAULT_SOURCE = "Blobs"
UPLOAD = "Upload CSV"
DATASETS_SOURCE = "Real data sets"
DEFAULT_DATASET = next(iter(DATASETS))

# The sidebar's sliders and number boxes: (widget key, minimum, maximum, step). A link's
# number must be one the widget could show.
BLOB_RANGES = {
    "n_points": (50, 5000, 50),
    "n_clusters": (1, 8, 1),
    "spread": (0.2, 3.0, 0.1),
    "stretch": (1.0, 6.0, 0.5),
    "rotation": (0, 180, 5),
    "data_seed": (0, 9999, 1),
    "dimensions": (1, 2, 1),
}
MODEL_RANGES = {"n_components": (1, MAX_COMPONENTS, 1), "model_seed": (0, 9999, 1)}

# Query-string names (short, readable) of the settings, by field.
BLOB_PARAMS = {
    "n_points": "points",
    "n_clusters": "clusters",
    "spread": "spread",
    "stretch": "stretch",
    "rotation": "rotation",
    "own_orientation": "own",
    "seed": "data_seed",
    "dimensions": "dims",
}
MODEL_PARAMS = {"n_components": "k", "covariance_type": "cov", "init": "init", "seed": "seed"}
TABLE_PARAMS = ("dataset", "cols", "picture", "x", "y", "std")
MEANS_PARAM = "mean"  # one per placed mean: "x,y" (or "x" on a line), in the data's units
ALL_PARAMS = frozenset(
    {
        "source",
        "scenario",
        "speed",
        MEANS_PARAM,
        *BLOB_PARAMS.values(),
        *MODEL_PARAMS.values(),
        *TABLE_PARAMS,
    }
)
INITS = (*INIT_METHODS, CLICK_INIT)
# mclust's letters of the models stored under scikit-learn's names: "VVV" opens "full".
COVARIANCE_ALIASES = {
    covariance_model(name).mclust_name: name
    for name in MODEL_CHOICES
    if covariance_model(name).mclust_name != name
}

# Limits on what is even looked at: a real link is a few hundred characters.
MAX_PARAMS = 40
MAX_VALUE_CHARS = 100
_INT = re.compile(r"0|[1-9][0-9]{0,5}")
_FLOAT = re.compile(r"[0-9]{1,2}(\.[0-9]{1,17})?")
_ON_STEP = 1e-6  # how far from the slider's steps a float may be (rounding of 0.1 steps)
# A clicked mean's coordinate, as Python writes a float (repr), within a sane size: repr
# writes 17 significant digits without an exponent down to 1e-4, so up to 21 decimals
# (0.00064436258890823920 has 19).
_COORDINATE = re.compile(r"-?([0-9]{1,17}(\.[0-9]{0,21})?|\.[0-9]{1,21})(e[-+]?[0-9]{1,3})?")
MAX_COORDINATE = 1e12

UPLOAD_NOTE = (
    "This link was made with an uploaded CSV file, which a link cannot carry: upload the "
    "file again to see its run."
)
BAD_NOTE = "This link's settings could not be used ({reason}), so the page shows the default run."


@dataclass(frozen=True)
class TableChoices:
    """What the sidebar chose for a built-in data set's table (its column names)."""

    columns: tuple[str, ...]
    picture: str = "columns"
    x: str | None = None
    y: str | None = None
    standardise: bool = False


@dataclass(frozen=True)
class LinkSettings:
    """Everything a link carries. ``model.reseeds`` and ``model.means`` are never part of
    it: ``means`` are the means clicked onto the chart (``init == "click"``) as the page
    keeps them, in the data's units (before standardising)."""

    source: str = DEFAULT_SOURCE
    blobs: BlobSettings = field(default_factory=BlobSettings)
    model: ModelSettings = field(default_factory=ModelSettings)
    speed: int = DEFAULT_SPEED
    scenario: str | None = None
    dataset: str = DEFAULT_DATASET
    choices: TableChoices | None = None
    means: tuple[tuple[float, ...], ...] = ()


@dataclass(frozen=True)
class OpenedLink:
    """A decoded query string: the settings to show, and a note for the student (or "")."""

    settings: LinkSettings
    note: str = ""


class BadLink(ValueError):
    """A query string that cannot be used; the message is a short reason in plain words."""


def base_settings(scenario: str | None) -> LinkSettings:
    """What a link's settings are written against: the named scenario's data and model
    (on blobs, as the scenario sets them), or the defaults without a scenario."""
    if scenario is None:
        return LinkSettings()
    preset = preset_by_name(scenario)
    return LinkSettings(blobs=preset.blobs, model=preset.model, scenario=scenario)


# -- encoding ----------------------------------------------------------------------------------


def _number(value: float | int) -> str:
    """A number as a link writes it: ints without a point, floats exactly (``repr``)."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return repr(value) if isinstance(value, float) else str(int(value))


def _written(value: object) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int | float):
        return _number(value)
    return str(value)


def encode(settings: LinkSettings) -> dict[str, str | list[str]]:
    """The query string (as ``st.query_params`` takes it) for ``settings``: only what
    differs from the defaults (or from its scenario's settings), so the default page's URL
    stays clean."""
    default = base_settings(settings.scenario)
    params: dict[str, str | list[str]] = {}
    if settings.source != default.source:
        params["source"] = next(k for k, v in SOURCES.items() if v == settings.source)
    if settings.scenario is not None:
        params["scenario"] = settings.scenario
    if settings.source == DEFAULT_SOURCE:
        for name, param in BLOB_PARAMS.items():
            value = getattr(settings.blobs, name)
            if value != getattr(default.blobs, name):
                params[param] = _written(value)
    if settings.source == DATASETS_SOURCE:
        params["dataset"] = settings.dataset
        if settings.choices is not None:
            choices = settings.choices
            params["cols"] = list(choices.columns)
            if len(choices.columns) > 2:
                params["picture"] = choices.picture
                if choices.picture == "columns" and choices.x is not None:
                    params["x"] = choices.x
                    params["y"] = choices.y or choices.x
            if len(choices.columns) > 1:
                params["std"] = _written(choices.standardise)
    for name, param in MODEL_PARAMS.items():
        value = getattr(settings.model, name)
        if value != getattr(default.model, name):
            params[param] = _written(value)
    if settings.means:
        params[MEANS_PARAM] = [",".join(repr(float(v)) for v in mean) for mean in settings.means]
    if settings.speed != default.speed:
        params["speed"] = _written(settings.speed)
    return params


# -- decoding ----------------------------------------------------------------------------------


def _single(query: Mapping[str, Sequence[str]], name: str) -> str | None:
    values = query.get(name)
    if values is None:
        return None
    if len(values) != 1:
        raise BadLink(f"“{name}” is given more than once")
    return values[0]


def _int(text: str, name: str, bounds: tuple[int, int, int]) -> int:
    low, high, step = bounds
    if not _INT.fullmatch(text):
        raise BadLink(f"“{name}” is not a whole number")
    value = int(text)
    if not low <= value <= high or (value - low) % step:
        raise BadLink(f"“{name}” is out of range")
    return value


def _float(text: str, name: str, bounds: tuple[float, float, float]) -> float:
    low, high, step = bounds
    if not _FLOAT.fullmatch(text):
        raise BadLink(f"“{name}” is not a number")
    value = float(text)
    steps = (value - low) / step
    if not (low - _ON_STEP <= value <= high + _ON_STEP) or abs(steps - round(steps)) > _ON_STEP:
        raise BadLink(f"“{name}” is out of range")
    return value


def _bool(text: str, name: str) -> bool:
    if text not in ("0", "1"):
        raise BadLink(f"“{name}” is not 0 or 1")
    return text == "1"


def _choice(text: str, name: str, options: Sequence[str]) -> str:
    if text not in options:
        raise BadLink(f"“{name}” is not one of the choices")
    return text


def _covariance(text: str, name: str) -> str:
    """One of the 14 models as the sidebar stores it; mclust's letters for the four that
    scikit-learn names ("VVV" for "full", ...) are read too, and written back as the name."""
    if text in MODEL_CHOICES:
        return text
    if text in COVARIANCE_ALIASES:
        return COVARIANCE_ALIASES[text]
    # A link typed by hand ("cov=vev", "cov=Full"): the model whose name it spells.
    folded = {name.lower(): name for name in (*MODEL_CHOICES, *COVARIANCE_ALIASES)}
    if text.strip().lower() in folded:
        return _covariance(folded[text.strip().lower()], name)
    raise BadLink(f"“{name}” is not one of the covariance models")


def _blobs(query: Mapping[str, Sequence[str]], base: BlobSettings) -> BlobSettings:
    values: dict[str, object] = {}
    for name, param in BLOB_PARAMS.items():
        text = _single(query, param)
        if text is None:
            continue
        key = "data_seed" if name == "seed" else name
        if name == "own_orientation":
            values[name] = _bool(text, param)
        elif isinstance(BLOB_RANGES[key][2], float):
            values[name] = _float(text, param, BLOB_RANGES[key])
        else:
            number = _int(text, param, BLOB_RANGES[key])
            # BlobSettings keeps the rotation as a float, as the sidebar gives it.
            values[name] = float(number) if name == "rotation" else number
    return replace(base, **values)


def _model(query: Mapping[str, Sequence[str]], base: ModelSettings) -> ModelSettings:
    values: dict[str, object] = {}
    for name, param in MODEL_PARAMS.items():
        text = _single(query, param)
        if text is None:
            continue
        if name == "covariance_type":
            values[name] = _covariance(text, param)
        elif name == "init":
            values[name] = _choice(text, param, INITS)
        else:
            key = "model_seed" if name == "seed" else name
            values[name] = _int(text, param, MODEL_RANGES[key])
    return replace(base, **values)


def _choices(query: Mapping[str, Sequence[str]], columns: Sequence[str]) -> TableChoices | None:
    """The table choices of a link, checked against the data set's ``columns``."""
    chosen = query.get("cols")
    if chosen is None:
        if any(name in query for name in ("picture", "x", "y", "std")):
            raise BadLink("column choices without columns")
        return None
    if not 1 <= len(chosen) <= min(MAX_FIT_COLUMNS, len(columns)):
        raise BadLink("“cols” has too many or too few columns")
    if len(set(chosen)) != len(chosen) or any(c not in columns for c in chosen):
        raise BadLink("“cols” names a column the data set does not have")
    picture = _single(query, "picture")
    x, y, std = _single(query, "x"), _single(query, "y"), _single(query, "std")
    if len(chosen) <= 2 and (picture is not None or x is not None or y is not None):
        raise BadLink("a picture is only chosen for three or more columns")
    if len(chosen) == 1 and std is not None:
        raise BadLink("one column is not standardised")
    picture = "columns" if picture is None else _choice(picture, "picture", VIEWS)
    if (x is None) != (y is None) or (x is not None and picture != "columns"):
        raise BadLink("the axes “x” and “y” go together, for two columns")
    if x is not None and (x not in chosen or y not in chosen or x == y):
        raise BadLink("“x” and “y” must be two different chosen columns")
    return TableChoices(
        tuple(chosen),
        picture,
        x if x is not None else (chosen[0] if len(chosen) > 2 else None),
        y if y is not None else (chosen[1] if len(chosen) > 2 else None),
        False if std is None else _bool(std, "std"),
    )


def _coordinate(text: str) -> float:
    if not _COORDINATE.fullmatch(text):
        raise BadLink(f"“{MEANS_PARAM}” is not a number")
    value = float(text)
    if not abs(value) <= MAX_COORDINATE:
        raise BadLink(f"“{MEANS_PARAM}” is out of range")
    return value


def _means(
    query: Mapping[str, Sequence[str]], settings: LinkSettings
) -> tuple[tuple[float, ...], ...]:
    """The clicked means of a link: only with that start, at most K, each with as many
    coordinates as the picture has axes (the blobs' dimensions, or the fitted columns)."""
    texts = query.get(MEANS_PARAM)
    if texts is None:
        return ()
    if settings.model.init != CLICK_INIT or settings.source == UPLOAD:
        raise BadLink("means for another start")
    if settings.source == DATASETS_SOURCE:
        columns = len(settings.choices.columns) if settings.choices is not None else 0
        if not 1 <= columns <= 2:
            raise BadLink("means without one or two columns")
        axes = columns
    else:
        axes = settings.blobs.dimensions
    if len(texts) > settings.model.n_components:
        raise BadLink("more means than components")
    means = tuple(tuple(_coordinate(v) for v in text.split(",")) for text in texts)
    if any(len(mean) != axes for mean in means):
        raise BadLink("a mean with the wrong number of coordinates")
    return means


def _check_shape(query: Mapping[str, Sequence[str]]) -> None:
    if len(query) > MAX_PARAMS:
        raise BadLink("too many settings")
    for name, values in query.items():
        if not isinstance(name, str) or name not in ALL_PARAMS:
            raise BadLink("an unknown setting")
        if isinstance(values, str | bytes) or not isinstance(values, Sequence):
            raise BadLink(f"“{name}” is not readable")
        if len(values) > MAX_FIT_COLUMNS or not values:
            raise BadLink(f"“{name}” has too many values")
        for value in values:
            if not isinstance(value, str) or not value or len(value) > MAX_VALUE_CHARS:
                raise BadLink(f"“{name}” is empty or too long")


def read_link(
    query: Mapping[str, Sequence[str]], columns_of: Callable[[str], Sequence[str]]
) -> LinkSettings:
    """The settings of a query string (name -> all its values), or :class:`BadLink`.

    A named scenario's settings come first and the link's other settings on top of them
    (see :func:`base_settings`). ``columns_of(dataset)`` gives a built-in data set's column
    names.
    """
    _check_shape(query)
    source_token = _single(query, "source")
    source = DEFAULT_SOURCE if source_token is None else SOURCES.get(source_token)
    if source is None:
        raise BadLink("“source” is not one of the choices")
    if source != DEFAULT_SOURCE and any(p in query for p in BLOB_PARAMS.values()):
        raise BadLink("blob settings for another data source")
    if source != DATASETS_SOURCE and any(p in query for p in TABLE_PARAMS):
        raise BadLink("data set settings for another data source")
    scenario = _single(query, "scenario")
    if scenario is not None:
        scenario = _choice(scenario, "scenario", PRESET_NAMES)
    speed = _single(query, "speed")
    base = base_settings(scenario)
    settings = LinkSettings(
        source=source,
        # A link to another source carries no blobs (nor writes them into the sidebar).
        blobs=_blobs(query, base.blobs if source == DEFAULT_SOURCE else BlobSettings()),
        model=_model(query, base.model),
        speed=DEFAULT_SPEED if speed is None else _speed(speed),
        scenario=scenario,
    )
    if source == DATASETS_SOURCE:
        dataset = _single(query, "dataset")
        dataset = DEFAULT_DATASET if dataset is None else _choice(dataset, "dataset", DATASETS)
        choices = _choices(query, list(columns_of(dataset)))
        settings = replace(settings, dataset=dataset, choices=choices)
    return replace(settings, means=_means(query, settings))


def _speed(text: str) -> int:
    value = _int(text, "speed", (1, max(SPEEDS), 1))
    if value not in SPEEDS:
        raise BadLink("“speed” is not one of the choices")
    return value


def decode(
    query: Mapping[str, Sequence[str]], columns_of: Callable[[str], Sequence[str]]
) -> OpenedLink:
    """What opening a link shows: its settings, or the defaults and a note; never raises.

    Parameters
    ----------
    query : mapping of str to sequence of str
        Every name of the query string with all its values.
    columns_of : callable
        A built-in data set's column names, by its key.
    """
    try:
        settings = read_link(query, columns_of)
    except BadLink as reason:
        return OpenedLink(LinkSettings(), BAD_NOTE.format(reason=reason))
    except Exception:  # a link must never break the page
        return OpenedLink(LinkSettings(), BAD_NOTE.format(reason="it is not readable"))
    return OpenedLink(settings, UPLOAD_NOTE if settings.source == UPLOAD else "")


# -- to and from the sidebar's widgets -------------------------------------------------------


def widget_values(settings: LinkSettings) -> dict[str, object]:
    """The sidebar's widget keys and values that show ``settings``, with the types the
    widgets take (an int slider needs an int). Table choices are separate (see
    :attr:`LinkSettings.choices`): the page remembers them per table."""
    blobs, model = settings.blobs, settings.model
    values: dict[str, object] = {
        "source": settings.source,
        "n_components": int(model.n_components),
        "covariance_type": model.covariance_type,
        "init": model.init,
        "model_seed": int(model.seed),
        "speed": int(settings.speed),
    }
    if settings.source == DEFAULT_SOURCE:
        values.update(
            n_points=int(blobs.n_points),
            n_clusters=int(blobs.n_clusters),
            spread=float(blobs.spread),
            stretch=float(blobs.stretch),
            rotation=int(blobs.rotation),
            own_orientation=bool(blobs.own_orientation),
            data_seed=int(blobs.seed),
            dimensions=int(blobs.dimensions),
        )
    if settings.source == DATASETS_SOURCE:
        values["dataset"] = settings.dataset
    if settings.scenario is not None:
        values["teaching_preset"] = settings.scenario
    return values
