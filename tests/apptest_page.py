"""Opening the page in AppTest as a browser does: the chart-first run, then the whole page.

A session's first run draws only the header, the stepping panel and the chart; the browser's
player asks for the rest once the chart is drawn, and that request reruns the whole script.
AppTest runs no JavaScript, so :func:`open_app` makes that second run itself.
"""

from __future__ import annotations

import re
from pathlib import Path

from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parents[1] / "app.py")


def open_app(timeout: float = 120) -> AppTest:
    """The page as a student first sees it once loaded: every control drawn."""
    at = AppTest.from_file(APP, default_timeout=timeout).run()
    assert not at.exception, at.exception
    at.run()  # what the player's request for the rest of the page does
    assert not at.exception, at.exception
    return at


def shown(markdown: str) -> str:
    """What the browser shows for text escaped by :func:`emapp.build.names.markdown_literal`:
    AppTest reports the markdown source of captions and alerts."""
    return re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", markdown.replace(":small[]", ""))
