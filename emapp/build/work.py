"""A bound on heavy work running at once across all sessions (pure Python, no Streamlit).

Every visitor's EM run, figure and model comparison runs in that visitor's script thread.
On a class server, 30 students changing settings at once would otherwise start 30 CPU-bound
computations on a machine with a few cores, and every page would wait for all of them. The
computations queue here instead; each one is bounded by itself (iteration caps, row caps).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager

# One computation per core (at least two): NumPy's own threads share those cores.
MAX_AT_ONCE = max(2, os.cpu_count() or 2)
_slots = threading.BoundedSemaphore(MAX_AT_ONCE)


@contextmanager
def heavy_work() -> Iterator[None]:
    """Hold one of the :data:`MAX_AT_ONCE` slots for the duration of the block."""
    with _slots:
        yield
