"""The sidebar: data source (blobs, an uploaded CSV or a real data set), blob sliders, model
settings and playback speed."""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from emapp.build.blobs import BlobSettings
from emapp.build.colors import MAX_COMPONENTS
from emapp.build.covariance_models import COVARIANCE_LABELS, MODEL_CHOICES
from emapp.build.covariance_pictures import chosen_picture_html, pictures_grid_html
from emapp.build.links import DEFAULT_SPEED, SPEEDS, UPLOAD
from emapp.build.tables import ChosenData
from emapp.build.timeline import CLICK_INIT, INIT_LABELS, ModelSettings
from emapp.ui.placing import placed_model
from emapp.ui.truth import truth_toggle
from emapp.ui.upload import data_widget
from emcore import INIT_METHODS

DATA_SOURCES = ("Blobs", "Upload CSV", "Real data sets")
MAX_POINTS = 5000


@dataclass(frozen=True)
class Settings:
    """What the sidebar chose. ``table`` is the data and picture chosen for "Upload CSV" (once
    a file was read) and "Real data sets"; None for blobs. ``problem`` is the sentence saying
    why the table's chosen columns cannot be fitted (then ``table`` is None)."""

    source: str
    blobs: BlobSettings
    model: ModelSettings
    speed: float
    table: ChosenData | None = None
    problem: str | None = None


DIMENSIONS = {2: "2: points in a plane", 1: "1: points on a line"}


def blob_controls() -> BlobSettings:
    default = BlobSettings()
    dimensions = st.radio(
        "Dimensions",
        tuple(DIMENSIONS),
        format_func=DIMENSIONS.get,
        horizontal=True,
        key="dimensions",
        help="On a line the chart is a histogram with each component's bell curve: the "
        "simplest picture of EM for a first lesson.",
    )
    flat = dimensions == 1  # stretch and rotation need a plane
    n_points = st.slider(
        "Number of points", 50, MAX_POINTS, default.n_points, step=50, key="n_points"
    )
    n_clusters = st.slider("True clusters", 1, 8, default.n_clusters, key="n_clusters")
    spread = st.slider(
        "Cluster spread",
        0.2,
        3.0,
        default.spread,
        step=0.1,
        key="spread",
        help="Standard deviation of a cluster: larger clusters overlap more.",
    )
    stretch = st.slider(
        "Stretch",
        1.0,
        6.0,
        default.stretch,
        step=0.5,
        key="stretch",
        help="How elongated the clusters are: 1 is round.",
        disabled=flat,
    )
    rotation = st.slider(
        "Rotation (degrees)",
        0,
        180,
        int(default.rotation),
        step=5,
        key="rotation",
        disabled=flat,
    )
    own = st.checkbox(
        "Each cluster its own direction",
        default.own_orientation,
        key="own_orientation",
        help="On: one ellipse turned a different way for each cluster, the case EEV "
        "assumes. Off: all clusters share one ellipse, the case tied (EEE) assumes.",
        disabled=flat,
    )
    seed = st.number_input("Data seed", 0, 9999, default.seed, step=1, key="data_seed")
    return BlobSettings(
        n_points,
        n_clusters,
        float(spread),
        float(stretch),
        float(rotation),
        bool(own),
        int(seed),
        int(dimensions),
    )


def model_controls() -> ModelSettings:
    default = ModelSettings()
    n_components = st.slider(
        "Components K", 1, MAX_COMPONENTS, default.n_components, key="n_components"
    )
    covariance_type = st.selectbox(
        "Covariance type",
        MODEL_CHOICES,
        index=MODEL_CHOICES.index(default.covariance_type),
        key="covariance_type",
        format_func=lambda name: COVARIANCE_LABELS.get(name, name),
        help="The shapes the components may take: R mclust's 14 models, from circles of one "
        "size (EII) to any ellipse (VVV, full). Circles first, then ellipses along the axes, "
        "then ellipses at any angle.",
    )
    covariance_picture(covariance_type)
    init = st.selectbox(
        "Initialisation",
        (*INIT_METHODS, CLICK_INIT),
        key="init",
        format_func=lambda method: INIT_LABELS.get(method, method),
        help="How the starting means and covariances are chosen.",
    )
    seed = st.number_input(
        "Model seed",
        0,
        9999,
        default.seed,
        step=1,
        key="model_seed",
        help="Another seed gives another random start.",
    )
    return ModelSettings(n_components, covariance_type, init, int(seed))


def covariance_picture(covariance_type: str) -> None:
    """Three ellipses drawn for the chosen model, and all 14 on demand."""
    st.html(chosen_picture_html(covariance_type))
    with st.popover("What do the letters mean?", width="stretch"):
        st.html(pictures_grid_html())


def truth_controls(source: str, blobs: BlobSettings, table: ChosenData | None) -> None:
    """The toggle that outlines the points by their true cluster or species, when known."""
    if source == "Blobs":
        truth_toggle(True, blobs.dimensions == 2, species=False)
    elif table is not None:
        truth_toggle(table.truth is not None, len(table.feature_names) >= 2, species=True)


def default_settings() -> Settings:
    """What the sidebar chooses before anyone touches it (the chart-first run uses these)."""
    return Settings(DATA_SOURCES[0], BlobSettings(), ModelSettings(), float(DEFAULT_SPEED))


def sidebar_placeholder() -> None:
    """The sidebar while the chart-first page waits for the rest: it keeps the sidebar's
    width, so the chart does not resize when the controls arrive."""
    with st.sidebar:
        st.header("Scenarios")  # the sidebar's first heading, so only what follows it moves
        st.caption("Loading the settings…")


def sidebar() -> Settings:
    """Draw the sidebar and return the chosen settings."""
    with st.sidebar:
        st.header("Data")
        source = st.radio("Data source", DATA_SOURCES, horizontal=True, key="source")
        chosen = data_widget(source)
        table = chosen if isinstance(chosen, ChosenData) else None
        blobs = blob_controls() if source == "Blobs" else BlobSettings()
        truth_controls(source, blobs, table)
        st.header("Model")
        model = placed_model(model_controls(), blobs, table)  # clicked means, if any
        st.header("Playback")
        speed = st.select_slider(
            "Play speed (iterations per second)",
            SPEEDS,
            value=DEFAULT_SPEED,
            key="speed",
            help="At 1 or 2 per second Play shows the E- and M-steps separately. "
            "Keys: e, m, s, space, r and the arrows (see ? above the chart).",
        )
        if source == UPLOAD:
            st.caption(
                "The address bar links to these settings, but a link cannot carry the "
                "uploaded file: whoever opens it must upload the file again."
            )
    problem = chosen if isinstance(chosen, str) else None
    return Settings(source, blobs, model, float(speed), table, problem)
