"""Readers that misbehave on purpose, for tests/test_bounded.py.

:class:`emcore.bounded.BoundedRead` runs a reader named ``"module:function"`` in a child
process; these stand for the faults nobody has found yet in the real reader.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import numpy as np
import pandas as pd


def spin(path: Path) -> pd.DataFrame:
    """Burn CPU forever (a quadratic regex, a parser loop)."""
    total = 0
    while True:
        total += 1


def sleep(path: Path) -> pd.DataFrame:
    """Wait forever without using the CPU (a lock, a blocked read)."""
    time.sleep(3600)
    raise AssertionError("unreachable")


def allocate(path: Path) -> pd.DataFrame:
    """Ask for 8 GB (a parser padding a billion cells)."""
    blocks = [np.ones(100_000_000) for _ in range(10)]
    return pd.DataFrame({"x": [float(len(blocks))]})


def crash(path: Path) -> pd.DataFrame:
    """Die of a signal, as a segfault in a C parser would."""
    os.kill(os.getpid(), signal.SIGSEGV)
    raise AssertionError("unreachable")


def tricky_names(path: Path) -> pd.DataFrame:
    """A frame whose names a JSON round trip could garble."""
    return pd.DataFrame([[1.0, 2.0], [3.0, 4.0]], columns=['a "q"', "ü\n€ <b>"])
