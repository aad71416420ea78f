"""The app's folder layout is its architecture: :mod:`emapp.build` is pure, :mod:`emapp.ui`
renders.

Nothing below ``emapp/build/`` may import Streamlit or :mod:`emapp.ui`, directly (checked on
the source, so a forgotten import fails even in a branch never run) or through another
module (checked by importing every build module in a fresh interpreter).
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BUILD = ROOT / "emapp" / "build"
# Modules that a pure module must not import: Streamlit, and the package that uses it.
FORBIDDEN = ("streamlit", "emapp.ui")


def build_modules() -> list[Path]:
    return sorted(BUILD.rglob("*.py"))


def imported_names(path: Path) -> list[tuple[int, str]]:
    """Every module ``path`` imports, with its line, wherever the import statement is."""
    names = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            names += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.append((node.lineno, node.module))
            # ``from emapp import ui`` names the package in the alias, not in the module.
            names += [(node.lineno, f"{node.module}.{alias.name}") for alias in node.names]
    return names


def is_forbidden(name: str) -> bool:
    return any(name == banned or name.startswith(banned + ".") for banned in FORBIDDEN)


def test_the_build_package_has_the_pure_modules() -> None:
    names = {path.stem for path in build_modules()}
    assert {"timeline", "state", "describe", "figures", "tables", "export", "prepare"} <= names


@pytest.mark.parametrize("path", build_modules(), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_no_build_module_imports_streamlit(path: Path) -> None:
    offending = [
        f"line {line}: {name}" for line, name in imported_names(path) if is_forbidden(name)
    ]
    assert not offending, f"{path.relative_to(ROOT)} imports " + ", ".join(offending)


def test_the_checker_sees_every_form_of_import(tmp_path: Path) -> None:
    source = tmp_path / "sneaky.py"
    source.write_text(
        "def later():\n"
        "    import streamlit.components.v2 as c\n"
        "    from streamlit import session_state\n"
        "    from emapp import ui\n"
        "import streamlit_extras\n"  # another package whose name starts alike: allowed
    )
    flagged = {line for line, name in imported_names(source) if is_forbidden(name)}
    assert flagged == {2, 3, 4}


def test_importing_every_build_module_leaves_streamlit_unloaded() -> None:
    modules = [
        ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        for path in build_modules()
    ]
    script = (
        "import importlib, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] == 'streamlit'"
        " or m.startswith('emapp.ui'))\n"
        "print(','.join(loaded))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "", f"importing emapp.build loaded {done.stdout.strip()}"
