"""No button on the page has a tooltip (Streamlit's ``help``).

Streamlit 1.67 shows a button's help above the button for as long as the pointer rests on
it, click or not, and offers no way to dismiss it on a click: a pressed stepping button kept
its words over the page's title, "Compare models" over the slider beside it. Every
button's words are on the page instead (the "?" list beside the status line, captions).
Checked on the source, so a button in a branch no test runs is caught too.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SOURCES = sorted([ROOT / "app.py", *(ROOT / "emapp").rglob("*.py")])
BUTTONS = {"button", "download_button", "link_button", "form_submit_button"}


def buttons_with_help(path: Path) -> list[str]:
    """Every ``*.button(..., help=...)`` call (and the other buttons') in ``path``."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
            continue
        if node.func.attr in BUTTONS and any(k.arg == "help" for k in node.keywords):
            found.append(f"line {node.lineno}: {node.func.attr}")
    return found


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_no_button_has_a_tooltip(path: Path) -> None:
    assert buttons_with_help(path) == []


def test_the_check_sees_a_buttons_help(tmp_path: Path) -> None:
    source = tmp_path / "page.py"
    source.write_text(
        "import streamlit as st\n"
        "st.button('Step', help='One iteration')\n"
        "left = st.columns(2)[0]\n"
        "left.download_button('CSV', b'', help='The data')\n"
        "st.slider('K', 1, 10, help='Fine: its help is an icon beside the label')\n"
    )
    assert buttons_with_help(source) == ["line 2: button", "line 4: download_button"]


def test_the_stepping_buttons_words_are_in_the_keys_list() -> None:
    from emapp.ui.controls import BUTTONS as LABELS
    from emapp.ui.player import BUTTON_HELP

    named = {button for _, button, _ in BUTTON_HELP}
    assert set(LABELS.values()) - {"Play", "Pause"} <= named
    assert "Play / Pause" in named and "Re-seed" in named
