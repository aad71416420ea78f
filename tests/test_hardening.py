"""Issue 7, hardening: safe server settings, uploads parsed as data only, bounded sessions.

Everything here runs in a few seconds; the browser smoke test of the load test is in
``tests/test_loadtest_smoke.py`` and the full load test is ``make loadtest``.
"""

from __future__ import annotations

import builtins
import csv
import dataclasses
import inspect
import io
import os
import pickle
import subprocess
import tempfile
import time
import tomllib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest

import emapp.build.timeline as timeline_module
import emapp.ui.runs
from emapp.build.blobs import BlobSettings, make_blobs
from emapp.build.prepare import PreparedRun
from emapp.build.state import ViewState
from emapp.build.tables import read_upload
from emapp.build.timeline import MAX_ITERATIONS, ModelSettings, compute_timeline
from emapp.ui.sidebar import MAX_POINTS
from emcore.data import MAX_BYTES, MAX_CELLS, DataError, read_csv

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / ".streamlit" / "config.toml"

# -- server settings ------------------------------------------------------------------------

SAFE_SETTINGS = {
    "server.headless": True,
    "server.maxUploadSize": 20,
    "server.maxMessageSize": 50,
    "server.enableXsrfProtection": True,
    "server.enableCORS": True,
    "server.runOnSave": False,
    "server.fileWatcherType": "none",
    "server.enableStaticServing": False,
    "server.enableAgentApi": False,
    "server.disconnectedSessionTTL": 120,
    "browser.gatherUsageStats": False,
    "global.disableWidgetStateDuplicationWarning": True,
    "client.toolbarMode": "viewer",
    "client.showErrorDetails": "none",
    "client.showErrorLinks": False,
    "runner.magicEnabled": False,
    "runner.postScriptGC": False,
    "theme.base": "light",
    "theme.font": "sans-serif",
}


def config_values() -> dict[str, object]:
    """``section.option -> value`` from the app's config file."""
    with CONFIG.open("rb") as file:
        parsed = tomllib.load(file)
    return {
        f"{section}.{key}": value
        for section, table in parsed.items()
        for key, value in table.items()
    }


@pytest.mark.parametrize(("option", "expected"), SAFE_SETTINGS.items())
def test_config_sets_each_safe_public_default(option: str, expected: object) -> None:
    assert config_values().get(option) == expected


def test_every_config_option_is_one_streamlit_knows() -> None:
    # A misspelt option is ignored by Streamlit without a word: the setting would silently
    # fall back to its (unsafe for a class) default.
    from streamlit import config

    known = config.get_config_options()
    assert sorted(set(config_values()) - set(known)) == []


def test_config_has_a_deliberate_theme() -> None:
    theme = {k: v for k, v in config_values().items() if k.startswith("theme.")}
    assert {"theme.primaryColor", "theme.backgroundColor", "theme.textColor"} <= set(theme)


def test_upload_cap_is_read_csvs_byte_limit() -> None:
    # One limit, said one way: Streamlit's page refuses files over maxUploadSize * 10**6
    # bytes (its server allows maxUploadSize MiB, a little more), and read_csv refuses
    # anything over the same 20,000,000 bytes with a sentence that says "20 MB".
    assert config_values()["server.maxUploadSize"] * 1_000_000 == MAX_BYTES == 20_000_000
    with pytest.raises(DataError, match=r"more than the 20 MB limit"):
        read_csv(b"a,b\n" + b"1" * MAX_BYTES)


# -- uploads are data, never code -----------------------------------------------------------


class _ShellOnUnpickle:
    """Unpickling this runs a shell command: the classic hostile pickle."""

    def __reduce__(self) -> tuple:
        return (os.system, ("touch PWNED",))


FORMULA = "=cmd|' /C calc'!A0"
HOSTILE_FILES: dict[str, bytes] = {
    "formula cells": (
        f'a,b,c\n1,2,{FORMULA}\n3,4,=HYPERLINK("http://x")\n5,6,@SUM(A1)\n7,8,+1+1\n'.encode()
    ),
    "formula header": f'"{FORMULA}",@SUM(A1),+x\n1,2,3\n4,5,6\n7,8,9\n'.encode(),
    "python cells": b"x,y,z\n__import__('os').system('touch PWNED'),1,2\n2,3,4\n4,5,6\n",
    "python script": b"import os\nos.system('touch PWNED')\nprint(open('/etc/passwd').read())\n",
    "pickle protocol 0": pickle.dumps(_ShellOnUnpickle(), protocol=0),
    "pickle protocol 5": pickle.dumps(_ShellOnUnpickle(), protocol=5),
    "a path, not a file": b"/etc/passwd",
    "zip (xlsx)": b"PK\x03\x04" + bytes(200),
    "html": b"<script>alert(1)</script>,b\n1,2\n3,4\n",
}


class _Upload:
    """The part of Streamlit's UploadedFile that emapp.build.tables uses."""

    name = "upload.csv"
    file_id = "test-file"

    def __init__(self, content: bytes) -> None:
        self._content = content

    def getvalue(self) -> bytes:
        return self._content


class Forbidden(BaseException):
    """Raised by the guards below; a BaseException, so read_csv's catch-all for ordinary
    exceptions (which turns them into DataError) cannot hide it."""


# A small table with numbers, text and missing values: reading it imports what reading any
# table needs.
WARM_UP = "a;b;c;d\n1,5;2;x;1\n3,5;4;y;NA\n5,5;6;z;7\n7,5;8;w;9\n".encode("utf-16")
# Never needed to read a table: any call while reading is a failure.
FORBIDDEN = (
    (pickle, "loads"),
    (pickle, "load"),
    (os, "system"),
    (os, "popen"),
    (subprocess, "Popen"),
)


def _forbidden(name: str) -> Callable[..., None]:
    def refuse(*_args: object, **_kwargs: object) -> None:
        raise Forbidden(f"{name} was called while reading an upload")

    return refuse


def _no_upload_code(original: Callable, name: str, content: bytes) -> Callable:
    """eval/exec that refuse source text taken from the upload.

    Lazy imports (pyarrow) and collections.namedtuple call exec/eval with their own code while
    pandas parses; that is the library, not the file. Text of the file must never get there.
    """
    lines = [line.strip() for line in content.decode("latin-1").splitlines()]
    pieces = [line for line in lines if len(line) >= 6]

    def guarded(source: object, *args: object, **kwargs: object) -> object:
        text = source.decode("latin-1") if isinstance(source, bytes) else source
        if isinstance(text, str) and any(piece in text for piece in pieces):
            raise Forbidden(f"{name} was given text from the upload: {text[:80]!r}")
        return original(source, *args, **kwargs)

    return guarded


def _no_writes(original: Callable) -> Callable:
    def guarded_open(file: object, mode: str = "r", *args: object, **kwargs: object) -> object:
        if any(flag in mode for flag in "wax+"):
            raise Forbidden(f"reading an upload opened {file!r} for writing")
        return original(file, mode, *args, **kwargs)

    return guarded_open


@contextmanager
def data_only(monkeypatch: pytest.MonkeyPatch, content: bytes) -> Iterator[None]:
    """While reading ``content``: no unpickling, shell or subprocess, none of its text given
    to eval/exec, and no file opened for writing."""
    read_csv(WARM_UP)  # pandas and pyarrow import lazily: let them, before the guards go on
    with monkeypatch.context() as patch:
        for module, name in FORBIDDEN:
            patch.setattr(module, name, _forbidden(f"{module.__name__}.{name}"))
        for name in ("eval", "exec"):
            patch.setattr(builtins, name, _no_upload_code(getattr(builtins, name), name, content))
        patch.setattr(builtins, "open", _no_writes(builtins.open))
        patch.setattr(io, "open", _no_writes(io.open))
        yield


@pytest.fixture
def sandbox(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    """An empty working directory, home and temporary directory to check afterwards."""
    places = {name: tmp_path / name for name in ("cwd", "home", "tmp")}
    for place in places.values():
        place.mkdir()
    monkeypatch.chdir(places["cwd"])
    monkeypatch.setenv("HOME", str(places["home"]))
    monkeypatch.setattr(tempfile, "tempdir", str(places["tmp"]))
    return places


def numbers_and_names(table: object) -> tuple[np.ndarray, tuple[str, ...]]:
    """The values and column names of what emapp.build.tables.read_upload returned.

    The reader was reworked (a table with a DataFrame, formerly the first two columns as an
    array): both shapes are accepted so this test checks safety, not the API.
    """
    frame = getattr(table, "frame", None)
    if frame is not None:
        return frame.to_numpy(), tuple(frame.columns)
    return np.asarray(table.X), tuple(table.feature_names)


def read_hostile(content: bytes) -> tuple[np.ndarray, tuple[str, ...]] | DataError:
    """What the app's uploader makes of ``content``: numbers and names, or a refusal."""
    try:
        return numbers_and_names(read_upload(_Upload(content)))
    except DataError as error:
        return error


@pytest.mark.parametrize("name", HOSTILE_FILES)
def test_hostile_upload_is_parsed_as_data_or_refused(
    name: str, sandbox: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    with data_only(monkeypatch, HOSTILE_FILES[name]):
        result = read_hostile(HOSTILE_FILES[name])
    if isinstance(result, DataError):
        assert str(result)
    else:
        values, names = result
        # The page keeps rows with some missing cells (NaN, fitted by EM on the rest); a
        # stray text cell such as code is one of those, never a value.
        assert values.dtype == np.float64 and not np.isinf(values).any()
        assert np.isfinite(values).any(axis=1).all()
        assert all(isinstance(n, str) for n in names)
    left_behind = {k: sorted(p.name for p in v.iterdir()) for k, v in sandbox.items()}
    assert left_behind == {"cwd": [], "home": [], "tmp": []}


def test_formula_cells_are_text_and_are_dropped_not_evaluated(monkeypatch) -> None:
    with data_only(monkeypatch, HOSTILE_FILES["formula cells"]):
        frame = read_csv(HOSTILE_FILES["formula cells"])
    assert list(frame.columns) == ["a", "b"]
    assert "c" in frame.attrs["report"].dropped_text_columns


def test_formula_header_stays_a_plain_name(monkeypatch) -> None:
    with data_only(monkeypatch, HOSTILE_FILES["formula header"]):
        values, names = read_hostile(HOSTILE_FILES["formula header"])
    assert names[:2] == (FORMULA, "@SUM(A1)")
    np.testing.assert_array_equal(values[:, :2], [[1, 2], [4, 5], [7, 8]])


def test_uploaded_bytes_naming_a_path_are_not_opened(monkeypatch) -> None:
    # read_csv opens a str as a path; the uploader must hand it the bytes, never text.
    opened: list[object] = []
    original = builtins.open
    monkeypatch.setattr(
        builtins, "open", lambda f, *a, **k: opened.append(f) or original(f, *a, **k)
    )
    with pytest.raises(DataError) as error:
        read_upload(_Upload(b"/etc/passwd"))
    assert "/etc/passwd" not in map(str, opened) and "root:" not in str(error.value)


def test_a_pickle_is_refused_and_its_command_never_runs(sandbox, monkeypatch) -> None:
    for protocol in (0, 2, 5):
        payload = pickle.dumps(_ShellOnUnpickle(), protocol=protocol)
        with data_only(monkeypatch, payload), pytest.raises(DataError):
            read_csv(payload)
    assert not (sandbox["cwd"] / "PWNED").exists()


def _export_header(columns: list[str]) -> list[str]:
    export = pytest.importorskip("emapp.build.export")
    text = export.labels_csv(np.ones((2, len(columns))), columns, np.full((2, 2), 0.5))
    return next(csv.reader(io.StringIO(text)))


def test_exported_csv_neutralises_formula_like_names() -> None:
    # The app exports uploaded column names: a spreadsheet would run "=..." as a formula.
    header = _export_header([FORMULA, "@SUM(A1)"])
    assert not any(cell[:1] in ("=", "+", "-", "@", "\t", "\r") for cell in header)
    assert FORMULA in header[0] and "@SUM(A1)" in header[1]  # still readable names


# -- long work is bounded -------------------------------------------------------------------


def test_read_csv_refuses_too_many_cells_before_parsing() -> None:
    content = b"a,b\n" + b"1,2\n" * (MAX_CELLS // 2 + 1)
    start = time.perf_counter()
    with pytest.raises(DataError, match="cells"):
        read_csv(content)
    assert time.perf_counter() - start < 5.0


def test_read_csv_refuses_files_over_the_byte_limit() -> None:
    with pytest.raises(DataError):
        read_csv(b"a,b\n" + b"1" * MAX_BYTES)


def test_an_upload_is_capped_at_the_points_the_sliders_allow() -> None:
    # Every row of an upload becomes a point of a cached run with a frame per half-step; an
    # uncapped upload (up to MAX_CELLS / 2 = 1e6 rows) would cost 200 times the sliders' worst.
    rows = np.random.default_rng(0).normal(size=(4 * MAX_POINTS, 2))
    content = ("x,y\n" + "\n".join(f"{a:.4f},{b:.4f}" for a, b in rows)).encode()
    result = read_hostile(content)
    assert isinstance(result, DataError) or len(result[0]) <= MAX_POINTS


# -- a session stays small ------------------------------------------------------------------


@pytest.fixture(scope="module")
def small_timeline():
    return compute_timeline(make_blobs(BlobSettings(n_points=200, seed=3)), ModelSettings())


def test_view_state_stays_a_few_numbers_after_many_presses(small_timeline) -> None:
    view = ViewState(settings_key=("key",), last=small_timeline.last)
    for _ in range(1000):
        view.step(small_timeline)
    view.play(now=0.0)
    view.pause(now=1.0, speed=12)
    for field in dataclasses.fields(view):
        value = getattr(view, field.name)
        assert value is None or isinstance(value, int | float | bool | str | tuple), field.name
    assert view.cursor <= small_timeline.last


def cached_functions() -> dict[str, object]:
    """Every st.cache_resource / st.cache_data function of emapp.ui.runs, by name."""
    from streamlit.runtime.caching.cache_utils import CachedFunc

    return {n: f for n, f in vars(emapp.ui.runs).items() if isinstance(f, CachedFunc)}


def test_runs_are_cached_with_a_bounded_number_of_entries() -> None:
    cached = cached_functions()
    assert "blob_run" in cached
    for name, function in cached.items():
        info = function._info  # Streamlit keeps the decorator's arguments here
        assert info.max_entries is not None and info.max_entries <= 16, name
        assert info.scope == "global", name  # shared by every session, not one copy each


def test_a_timeline_stops_at_its_iteration_cap(monkeypatch) -> None:
    monkeypatch.setattr(timeline_module, "TOL", 1e-300)  # as if EM never converged
    X = make_blobs(BlobSettings(n_points=200, n_clusters=4, seed=1))
    timeline = compute_timeline(X, ModelSettings(n_components=4, seed=2), max_iterations=6)
    assert timeline.n_iterations == 6 and not timeline.converged
    assert len(timeline) == 2 * 6 + 2
    assert len(timeline.resp) == 6 + 1
    assert all(r.dtype == np.float32 for r in timeline.resp.values())


def test_the_app_caps_every_run_at_max_iterations() -> None:
    cap = inspect.signature(compute_timeline).parameters["max_iterations"].default
    assert cap == MAX_ITERATIONS <= 200


def _app(seed: int):
    from apptest_page import open_app

    app = open_app(timeout=60)
    app.number_input(key="data_seed").set_value(seed).run()
    assert not app.exception
    return app


def test_session_state_holds_small_values_and_one_shared_run() -> None:
    from bench.session_memory import deep_size

    app = _app(seed=5)
    for _ in range(3):
        app.button(key="step").click().run()
    runs = [v for v in app.session_state.values() if isinstance(v, PreparedRun)]
    assert len(runs) == 1  # a reference to the cached run, not a copy per press
    others = [v for v in app.session_state.values() if not isinstance(v, PreparedRun)]
    assert not any(isinstance(v, np.ndarray) for v in others)
    view = app.session_state["em_view"]
    assert deep_size(others, {id(view.settings_key)}) < 20_000


def test_two_sessions_keep_their_own_data_and_cursor() -> None:
    first, second = _app(seed=11), _app(seed=12)
    first.button(key="step").click().run()
    first.button(key="step").click().run()
    second.button(key="e_step").click().run()
    view_1, view_2 = first.session_state["em_view"], second.session_state["em_view"]
    seeds = (BlobSettings(*view_1.settings_key[1]).seed, BlobSettings(*view_2.settings_key[1]).seed)
    assert seeds == (11, 12)
    assert (view_1.cursor, view_2.cursor) == (5, 1)
    run_1, run_2 = first.session_state["em_run"], second.session_state["em_run"]
    assert run_1.version != run_2.version
    assert not np.array_equal(run_1.X, run_2.X)


def test_the_session_memory_bench_runs_and_the_view_does_not_grow() -> None:
    from bench.session_memory import measure

    # The default case only: the worst case (K = 10, 150 iterations) takes 10-20 s here.
    case = measure(points=300, steps=40, cases=("default",))["default"]
    assert 0 < case["iterations"] <= MAX_ITERATIONS
    session = case["session"]
    assert session["view_state_bytes"] == session["view_state_bytes_after_1_step"] < 2_000
    assert case["retained_mb"] > 0 and case["figure_json_mb"] > 0


def test_values_whose_squares_overflow_are_refused_with_a_sentence():
    from emcore import GaussianMixture, select_model

    X = np.vstack([np.random.default_rng(0).normal(size=(30, 2)), [[1e200, 0.0]]])
    for fit in (lambda: GaussianMixture(2).fit(X), lambda: select_model(X, 2)):
        with pytest.raises(ValueError, match=r"as large as 1e\+200 in 1 row\(s\) \(30\)"):
            fit()
    # At 1e100 everything is still computable.
    assert GaussianMixture(1).fit(X[:30] * 1e90).converged_


def test_nullable_pandas_columns_are_numbers_with_missing_values():
    import pandas as pd

    from emcore import select_model

    X = np.random.default_rng(1).normal(size=(40, 2))
    frame = pd.DataFrame(X, columns=["a", "b"]).astype({"a": "Float64"})
    frame.iloc[3, 0] = pd.NA
    with pytest.raises(ValueError, match='missing="em"'):
        select_model(frame, 2, ["VVV"])
    table = select_model(frame, 2, ["VVV"], missing="em").table
    assert (table["status"] == "ok").all()
    with pytest.raises(ValueError, match="it is a generator"):
        select_model((row for row in X), 2)
