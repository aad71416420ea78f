"""Files that read fine but cannot be fitted (tester's fault 1): the page keeps the last fit
it could make and says why in the file's own column names, never in X's indices."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from apptest_page import shown
from test_upload_app import FAITHFUL, axis_titles, captions, run, source, table, upload

ROWS = 60


def write(tmp_path: Path, name: str, a_scale: float, b_scale: float) -> Path:
    """Two normal columns a and b, multiplied by the given scales."""
    rng = np.random.default_rng(0)
    values = rng.normal(size=(ROWS, 2)) * [a_scale, b_scale]
    path = tmp_path / name
    path.write_text("a,b\n" + "\n".join(f"{float(x)!r},{float(y)!r}" for x, y in values) + "\n")
    return path


def errors(at) -> str:
    return " ".join(shown(e.value) for e in at.error)


def after_faithful(tmp_path: Path, name: str, a_scale: float, b_scale: float):
    at = upload(source("Upload CSV"), FAITHFUL)
    before = table(at)
    return upload(at, write(tmp_path, name, a_scale, b_scale)), before


@pytest.mark.parametrize(
    ("a_scale", "b_scale", "said"),
    [
        (1e300, 1e-300, "Column a has no usable value"),  # beyond 10^100: read as missing
        (1e-300, 1e-300, "Column a has no value larger than"),  # variances underflow
    ],
)
def test_a_file_with_no_fittable_column_keeps_the_last_fit(
    tmp_path: Path, a_scale: float, b_scale: float, said: str
) -> None:
    at, before = after_faithful(tmp_path, "both.csv", a_scale, b_scale)
    assert said in errors(at)
    assert "Column b" in errors(at) and "of X" not in errors(at)
    assert "last fit it could make" in errors(at)
    assert axis_titles(at) == ("eruptions", "waiting")  # faithful's chart, still drawn
    assert table(at) == before


@pytest.mark.parametrize(
    ("a_scale", "said"),
    [(1e300, "Column a has no usable value"), (1e-300, "Column a has no value larger than")],
)
def test_an_unfittable_column_is_named_and_not_chosen(
    tmp_path: Path, a_scale: float, said: str
) -> None:
    at, _ = after_faithful(tmp_path, "one.csv", a_scale, 1.0)
    fit = at.multiselect(key="fit_columns")
    assert fit.value == ["b"]  # the usable column alone is fitted
    assert said in captions(at)
    assert not at.error
    # Chosen anyway: the fit on b stays, and the sentence names a.
    before = table(at)
    fit.set_value(["a", "b"])
    at = run(at)
    assert said in errors(at) and "of X" not in errors(at)
    assert table(at) == before


def test_a_fit_that_fails_keeps_the_last_fit(tmp_path: Path) -> None:
    """Any other refusal by the fit (here: fewer rows than components) keeps it too."""
    at = upload(source("Upload CSV"), FAITHFUL)
    at.slider(key="n_components").set_value(3)
    at = run(at)
    before = table(at)
    path = tmp_path / "two.csv"
    path.write_text("a,b\n1,2\n3,5\n")
    at = upload(at, path)
    assert "components" in errors(at)
    assert "last fit it could make" in errors(at)
    assert table(at) == before


def test_emcore_column_indices_become_names() -> None:
    from emapp.build.tables import in_column_names  # here: the old code has none

    message = "Column(s) 0, 2 of X (counted from 0) have no observed value: drop them."
    assert (
        in_column_names(message, ("a", "b", "c"))
        == "Column(s) a, c have no observed value: drop them."
    )
