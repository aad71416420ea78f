"""A short run of the load test (``bench/loadtest.py``): two students at once, each on its own
data seed and its own uploaded file, see only their own numbers; one of them also uploads the
cheap hostile files (50,000 columns, a 60,000-digit cell, 100 KB names, Markdown and HTML
names), each ending in a read report or a short error. ``make loadtest`` runs 30, with the
19 MB file and a Cancel."""

from __future__ import annotations

import concurrent.futures
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def summary() -> dict:
    pytest.importorskip("playwright.async_api")
    from emapp.serve import CHROMIUM

    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is missing (make browser installs it)")
    from bench.loadtest import Plan, run_load_test

    # Short timeouts: a healthy page answers in a second or two, even on a busy machine.
    plan = Plan(
        steps=2,
        stagger=0.0,
        timeout_ms=45_000,
        load_slots=2,
        hostile=0,
        hostile_cheap=True,
        session_ttl=1,
        settle_s=1.0,
    )
    # In its own thread: the other browser tests' sync Playwright keeps an event loop on
    # this one, and the load test starts its own with asyncio.run.
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(run_load_test, sessions=2, plan=plan).result()


def test_every_action_of_both_sessions_works(summary: dict) -> None:
    assert summary["errors"] == []
    assert summary["server_tracebacks"] == 0
    assert summary["sessions_ok"] == 2


def test_each_session_sees_only_its_own_numbers(summary: dict) -> None:
    # Per session: 2 steps, Play/Pause, Run, Reset (blob numbers) and 2 upload checks; Run is
    # skipped (nothing moves) when Play already reached the end.
    assert summary["isolation_checks"] >= 2 * 6
    assert summary["isolation_errors"] == []


def test_hostile_files_end_in_a_report_or_a_sentence(summary: dict) -> None:
    hostile = summary["hostile"]
    files = {f["file"]: f for f in hostile["files"]}
    assert set(files) == {"wide.csv", "long_cell.csv", "long_names.csv", "markup.csv"}
    assert [f["problems"] for f in files.values()] == [[]] * 4
    assert files["wide.csv"]["outcome"] == "error" and "50,000" in files["wide.csv"]["sentence"]
    assert files["markup.csv"]["outcome"] == "report"
    assert hostile["requested_example_invalid"] == []
    assert hostile["health_during"]["answers"] > 0


def test_latency_and_server_memory_are_reported(summary: dict) -> None:
    assert summary["steps_timed"] >= 2 * 2
    assert summary["step_server_ms"]["median"] > 0
    assert summary["health"]["answers"] > 0 and summary["health"]["failures"] == []
    rss = summary["server_rss_mb"]
    assert 0 < rss["started"] <= rss["peak"]
    assert rss["closed"] > 0 and rss["after_ttl"] > 0 and rss["after_one_more_page"] > 0
