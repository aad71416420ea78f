"""``pip install .`` gives the library with its data sets (the app runs from the repository)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> zipfile.ZipFile:
    """A wheel built from a copy of the sources (the build leaves nothing in the repo)."""
    source = tmp_path_factory.mktemp("source")
    shutil.copy(ROOT / "pyproject.toml", source)
    skip = shutil.ignore_patterns("__pycache__")
    shutil.copytree(ROOT / "emcore", source / "emcore", ignore=skip)
    out = tmp_path_factory.mktemp("wheel")
    command = [sys.executable, "-m", "pip", "wheel", str(source), "--no-deps"]
    command += ["--no-build-isolation", "--quiet", "--wheel-dir", str(out)]
    subprocess.run(command, check=True, capture_output=True, timeout=300)
    (built,) = out.glob("emcore-*.whl")
    return zipfile.ZipFile(built)


def test_the_wheel_holds_the_library_and_its_data_sets(wheel) -> None:
    names = set(wheel.namelist())
    modules = {p.relative_to(ROOT).as_posix() for p in (ROOT / "emcore").glob("*.py")}
    assert modules <= names
    assert {"emcore/_datasets/faithful.csv", "emcore/_datasets/penguins.csv"} <= names
    assert not any(name.startswith(("emapp/", "tests/", "bench/")) for name in names)


def test_the_wheel_requires_what_emcore_imports(wheel) -> None:
    (metadata,) = [n for n in wheel.namelist() if n.endswith(".dist-info/METADATA")]
    lines = [
        line.split(":", 1)[1]
        for line in wheel.read(metadata).decode().splitlines()
        if line.startswith("Requires-Dist:")
    ]
    requires = {line.split(">")[0].strip() for line in lines if "extra ==" not in line}
    assert requires == {"numpy", "scikit-learn", "pandas", "threadpoolctl", "joblib"}
    # Dask only as the optional extra emcore[dask] (emcore.dask_engine).
    extras = {line.split(";")[0].strip() for line in lines if "extra ==" in line}
    assert extras == {"dask[array,distributed]==2026.8.0"}


def test_the_library_pins_are_within_its_stated_ranges() -> None:
    with (ROOT / "pyproject.toml").open("rb") as file:
        dependencies = tomllib.load(file)["project"]["dependencies"]
    pins = dict(
        line.split("==") for line in (ROOT / "requirements.txt").read_text().split() if "==" in line
    )
    for requirement in dependencies:
        name, minimum = requirement.split(">=")
        pinned = tuple(int(part) for part in pins[name].split(".")[:2])
        assert pinned >= tuple(int(part) for part in minimum.split("."))


def test_the_installed_wheel_fits_a_built_in_data_set(wheel, tmp_path) -> None:
    target = tmp_path / "site"
    install = [sys.executable, "-m", "pip", "install", wheel.filename, "--no-deps", "--quiet"]
    subprocess.run([*install, "--target", str(target)], check=True, capture_output=True)
    script = (
        "import emcore, pathlib; "
        f"assert pathlib.Path(emcore.__file__).is_relative_to({str(target)!r}); "
        "X = emcore.load_dataset('faithful').to_numpy(); "
        "print(len(X), emcore.GaussianMixture(2, random_state=0).fit(X).converged_)"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=tmp_path,  # not the repository, whose emcore/ would shadow the installed one
        env={"PYTHONPATH": str(target), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["272", "True"]
