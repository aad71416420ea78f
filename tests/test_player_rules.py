"""The stepping rules have one owner, Python (:mod:`emapp.build.state`).

The browser moves the chart on a stepping button's pointer-down, before the rerun confirms
the state (see ``player.js``, ``stepTarget``). It used to do so by its own copy of the rules
(``STEP_RULES``), which could drift from what Python does; it now reads Python's table from
the player's data. These tests check that ``player.js`` holds no copy of the rules, that the
table sent is the one Python steps by, and, when Node.js is at hand, that the browser's own
``stepTarget`` lands on Python's target from every state of a real run.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from emapp.build.blobs import BlobSettings, make_labelled_blobs
from emapp.build.prepare import PreparedRun, prepare
from emapp.build.state import STEP_ACTIONS, ViewState, stage_letter, step_rules, step_target
from emapp.build.timeline import ModelSettings
from emapp.ui.player import player_data

PLAYER_JS = Path(__file__).resolve().parents[1] / "emapp" / "ui" / "player.js"
RULED = ("e_step", "m_step", "step")  # the buttons the table is for ("run" goes to the end)


@pytest.fixture(scope="module")
def run() -> PreparedRun:
    X, truth = make_labelled_blobs(BlobSettings(n_points=200, seed=3))
    model = ModelSettings(n_components=3, seed=5)
    return prepare(("rules",), X, ("x₁", "x₂"), model, truth)


@pytest.fixture(scope="module")
def data(run: PreparedRun) -> dict:
    view = ViewState(settings_key=("rules",), last=run.timeline.last)
    return player_data(run, view, speed=2.0)


def step_target_source() -> str:
    """The text of ``stepTarget`` in player.js: from its first line to its closing brace."""
    source = PLAYER_JS.read_text(encoding="utf-8")
    match = re.search(r"^function stepTarget\(.*?^\}$", source, flags=re.M | re.S)
    assert match, "player.js has no stepTarget function"
    return match.group(0)


def test_player_js_keeps_no_copy_of_the_step_rules() -> None:
    source = PLAYER_JS.read_text(encoding="utf-8")
    assert "STEP_RULES" not in source
    body = step_target_source()
    assert "data.step_ahead" in body, "stepTarget reads the table Python sends"
    # No stage named and no count of states written in: those are the rule itself.
    assert not re.search(r"""["'](S|E|M)["']|\b(S|E|M)\s*:""", body), body
    assert not re.search(r"\b[1-9]\b", body.replace("length - 1", "")), body


def test_the_player_sends_the_table_python_steps_by(data: dict) -> None:
    assert data["step_ahead"] == step_rules()
    assert set(data["step_ahead"]) == set(RULED)
    assert set(data["stages"]) <= {stage_letter(stage) for stage in ("start", "E", "M")}


def table_target(data: dict, index: int, action: str) -> int | None:
    """Where the table in ``data`` takes ``action`` from state ``index`` (stepTarget's reading)."""
    ahead = data["step_ahead"][action].get(data["stages"][index])
    last = len(data["stages"]) - 1
    return None if ahead is None or index + ahead > last else index + ahead


def test_the_table_gives_python_target_from_every_state(run: PreparedRun, data: dict) -> None:
    timeline = run.timeline
    assert len(data["stages"]) == len(timeline)
    for index in range(len(timeline)):
        for action in RULED:
            expected = step_target(timeline, index, action)
            assert table_target(data, index, action) == expected, (index, action)


@pytest.mark.skipif(shutil.which("node") is None, reason="Node.js is not installed")
def test_the_browser_steps_to_python_target_from_every_state(run: PreparedRun, data: dict) -> None:
    """player.js's own stepTarget, run by Node.js on the data the player receives."""
    script = (
        step_target_source()
        + """
const data = JSON.parse(require("fs").readFileSync(0, "utf8"));
const out = {};
for (const key of data.keys) {
  out[key] = [...data.stages].map((_, from) => stepTarget(data, key, from));
}
process.stdout.write(JSON.stringify(out));
"""
    )
    payload = {"stages": data["stages"], "step_ahead": data["step_ahead"], "keys": STEP_ACTIONS}
    result = subprocess.run(
        ["node", "-e", script],
        input=json.dumps(payload),
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    browser = json.loads(result.stdout)
    timeline = run.timeline
    for action in STEP_ACTIONS:
        for index, target in enumerate(browser[action]):
            expected = step_target(timeline, index, action)
            if action == "run" and expected is None:
                # At the end the browser names the state on screen, which it does not move
                # to: the click goes on to Python, which says why nothing moved.
                assert target == index, (index, action)
            else:
                assert target == expected, (index, action)
