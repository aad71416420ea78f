"""emcore.bounded: a read in a child process that the OS limits and the caller can kill.

The limits are exercised with readers that misbehave on purpose (tests/misbehaving_readers.py),
so each test checks what the caller is told, not how fast a machine is.
"""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from emcore import DataError, read_csv
from emcore.bounded import BoundedRead, ReadLimits, read_csv_bounded

ROOT = Path(__file__).resolve().parents[1]
FAITHFUL = (ROOT / "emcore" / "_datasets" / "faithful.csv").read_bytes()
READERS = "tests.misbehaving_readers"


def outcome_of(read: BoundedRead) -> pd.DataFrame | str:
    while not read.wait(0.1):
        pass
    try:
        return read.outcome()
    except DataError as error:
        return str(error)


def test_a_bounded_read_equals_read_csv_report_included() -> None:
    frame = read_csv_bounded(FAITHFUL)
    expected = read_csv(FAITHFUL)
    pd.testing.assert_frame_equal(frame, expected)
    assert frame.attrs["report"] == expected.attrs["report"]


def test_read_csv_refusals_come_back_as_the_same_sentence() -> None:
    with pytest.raises(DataError) as direct:
        read_csv(b"name,colour\nann,red\nbob,blue\n")
    with pytest.raises(DataError) as bounded:
        read_csv_bounded(b"name,colour\nann,red\nbob,blue\n")
    assert str(bounded.value) == str(direct.value)


def test_names_survive_the_trip_back() -> None:
    frame = outcome_of(BoundedRead(b"x", reader=f"{READERS}:tricky_names"))
    assert list(frame.columns) == ['a "q"', "ü\n€ <b>"]
    np.testing.assert_array_equal(frame.to_numpy(), [[1, 2], [3, 4]])


def test_cpu_time_is_limited_by_the_kernel() -> None:
    limits = ReadLimits(seconds=60, cpu_seconds=1)
    message = outcome_of(BoundedRead(b"x", limits, reader=f"{READERS}:spin"))
    assert message.startswith("Reading this file took longer than 1 seconds")


def test_wall_clock_is_limited_even_when_nobody_waits() -> None:
    ended = threading.Event()
    limits = ReadLimits(seconds=1.0, cpu_seconds=60)
    read = BoundedRead(b"x", limits, on_done=ended.set, reader=f"{READERS}:sleep")
    assert ended.wait(30), "the child was not stopped at the wall-clock limit"
    assert outcome_of(read).startswith("Reading this file took longer than 1 seconds")


def test_memory_is_limited_and_said_in_words() -> None:
    limits = ReadLimits(memory_bytes=200_000_000)
    message = outcome_of(BoundedRead(b"x", limits, reader=f"{READERS}:allocate"))
    assert message.startswith("Reading this file needed more than 200 MB of memory")


def test_a_crash_is_a_sentence_not_an_exception() -> None:
    message = outcome_of(BoundedRead(b"x", reader=f"{READERS}:crash"))
    assert message.startswith("Reading this file stopped unexpectedly")


def test_cancel_kills_the_child_and_releases_its_slot() -> None:
    ended = threading.Event()
    read = BoundedRead(b"x", ReadLimits(seconds=60), on_done=ended.set, reader=f"{READERS}:sleep")
    assert not read.wait(0.2)
    read.cancel()
    assert ended.is_set() and read.done
    with pytest.raises(DataError, match="cancelled"):
        read.outcome()


def test_outcome_before_the_end_is_a_programming_error() -> None:
    read = BoundedRead(b"x", ReadLimits(seconds=60), reader=f"{READERS}:sleep")
    with pytest.raises(RuntimeError):
        read.outcome()
    read.cancel()


def test_a_dropped_read_kills_its_child_and_leaves_no_files(tmp_path, monkeypatch) -> None:
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    read = BoundedRead(b"x", ReadLimits(seconds=60), reader=f"{READERS}:sleep")
    process = read._process
    del read  # the session that owned it has gone
    assert process.wait(10) is not None
    assert list(tmp_path.iterdir()) == []


def test_files_are_removed_once_read(tmp_path, monkeypatch) -> None:
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    read_csv_bounded(FAITHFUL)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("limits", [(0, 1, 1), (1, 0, 1), (1, 1, 0)])
def test_limits_must_be_positive(limits: tuple) -> None:
    with pytest.raises(ValueError, match="positive"):
        ReadLimits(*limits)
