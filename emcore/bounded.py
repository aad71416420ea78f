"""Read a CSV file in a child process that cannot take the caller with it.

:func:`emcore.read_csv` bounds its own work (bytes, cells, columns, cell length), but a server
that reads strangers' files also wants a guarantee for the faults nobody has found yet. Here
the read runs in a child process whose CPU time and address space the operating system
limits, and which the caller can kill at any moment (another upload, a Cancel button, a
wall-clock limit). The caller only waits on a pipe, so a server's own interpreter keeps
answering everyone else while a file is read.

The child is a fresh interpreter (``python -m emcore.bounded``), not a fork: it inherits no
threads, locks or memory of a busy server. It gets the file and hands back its result through
files in a private temporary folder, as numbers (``.npy``) and JSON, never as a pickle.
POSIX systems only (the limits use :mod:`resource`).

Examples
--------
>>> read = BoundedRead(b"x,y\\n1,2\\n3,4\\n")          # doctest: +SKIP
>>> while not read.wait(0.25):                          # doctest: +SKIP
...     show_progress(read.elapsed)
>>> frame = read.outcome()  # the DataFrame, or DataError with a sentence  # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from emcore.data import DataError, ReadReport


@dataclass(frozen=True)
class ReadLimits:
    """What one read may use.

    Attributes
    ----------
    seconds : float
        Wall-clock time from the start, in seconds; the caller's :meth:`BoundedRead.wait`
        kills the child once it has passed.
    cpu_seconds : int
        CPU time of the child, in seconds, enforced by the kernel (``RLIMIT_CPU``).
    memory_bytes : int
        Address space the read may add to the child's, in bytes (``RLIMIT_AS`` is set to the
        child's size at the start plus this), so what counts is what the read allocates.
    """

    seconds: float = 20.0
    cpu_seconds: int = 15
    memory_bytes: int = 1_500_000_000

    def __post_init__(self) -> None:
        if not (self.seconds > 0 and self.cpu_seconds >= 1 and self.memory_bytes >= 1):
            raise ValueError(f"Read limits must be positive; got {self}.")


def _too_slow_message(seconds: float) -> str:
    return (
        f"Reading this file took longer than {seconds:g} seconds, so it was stopped to keep the "
        "app responsive. Upload a smaller file, for example fewer columns or a sample of rows."
    )


def _too_large_message(memory_bytes: int) -> str:
    return (
        f"Reading this file needed more than {memory_bytes / 1e6:,.0f} MB of memory, so it was "
        "stopped to keep the app responsive. Upload a smaller file, for example fewer columns "
        "or a sample of rows."
    )


_CANCELLED_MESSAGE = "Reading the file was cancelled."
_FAILED_MESSAGE = (
    "Reading this file stopped unexpectedly. Check that it is a CSV file of numbers, or upload "
    "a smaller one."
)


def _address_space() -> int:
    """This process's virtual memory size in bytes (VmSize), 0 if unknown."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmSize:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _limit_self(cpu_seconds: int, memory_bytes: int) -> None:
    """Limits the child puts on itself once imported (the kernel enforces them)."""
    used = resource.getrusage(resource.RUSAGE_SELF)
    cpu = int(used.ru_utime + used.ru_stime) + cpu_seconds
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    base = _address_space()
    if base:
        resource.setrlimit(resource.RLIMIT_AS, (base + memory_bytes,) * 2)
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # a killed read leaves no core file


# -- the child: python -m emcore.bounded FOLDER CPU_SECONDS MEMORY_BYTES READER --------------
# It reads FOLDER/input.csv with READER ("module:function", read_csv unless a test asks for
# a reader that misbehaves on purpose) and writes either FOLDER/values.npy and FOLDER/meta.json (the
# frame) or FOLDER/error.txt. Nothing it writes is unpickled: a child that a hostile file
# had somehow subverted could still only hand back numbers and JSON.


def _child_main(
    folder: Path, cpu_seconds: int, memory_bytes: int, reader: str, missing: str = "drop"
) -> None:
    module, _, function = reader.partition(":")
    read = getattr(importlib.import_module(module), function)
    # Readers that know nothing of missing values (tests' misbehaving ones) get the path only.
    takes_missing = "missing" in inspect.signature(read).parameters
    options = {"missing": missing} if missing != "drop" and takes_missing else {}
    _limit_self(cpu_seconds, memory_bytes)
    try:
        frame = read(folder / _INPUT, **options)
    except MemoryError:
        _write_error(folder, _too_large_message(memory_bytes))
        return
    except DataError as error:
        # read_csv turns unexpected failures into DataError; a failed allocation is ours.
        memory = isinstance(error.__cause__, MemoryError)
        _write_error(folder, _too_large_message(memory_bytes) if memory else str(error))
        return
    report = frame.attrs.get("report")
    meta = {
        "columns": [str(name) for name in frame.columns],
        "report": dataclasses.asdict(report) if report is not None else None,
    }
    np.save(folder / _VALUES, frame.to_numpy(dtype=np.float64), allow_pickle=False)
    (folder / _META).write_text(json.dumps(meta), encoding="utf-8")


def _write_error(folder: Path, message: str) -> None:
    (folder / _ERROR).write_text(message, encoding="utf-8")


def _frame_from(folder: Path) -> pd.DataFrame:
    meta = json.loads((folder / _META).read_text(encoding="utf-8"))
    values = np.load(folder / _VALUES, allow_pickle=False)
    frame = pd.DataFrame(values, columns=meta["columns"])
    if meta["report"] is not None:
        frame.attrs["report"] = ReadReport(**_as_tuples(meta["report"]))
    return frame


def _as_tuples(fields: dict) -> dict:
    """JSON gives lists where the report holds tuples (of names, or of name pairs)."""

    def tuples(value: object) -> object:
        return tuple(tuples(item) for item in value) if isinstance(value, list) else value

    return {key: tuples(value) for key, value in fields.items()}


_INPUT, _VALUES, _META, _ERROR = "input.csv", "values.npy", "meta.json", "error.txt"
READ_CSV = "emcore.data:read_csv"


def _child_command(
    folder: Path, limits: ReadLimits, reader: str, missing: str = "drop"
) -> list[str]:
    return [
        sys.executable,
        "-m",
        "emcore.bounded",
        str(folder),
        str(limits.cpu_seconds),
        str(limits.memory_bytes),
        reader,
        missing,
    ]


def _child_environment() -> dict[str, str]:
    # The child imports this very emcore, installed or run from a checkout.
    package_root = str(Path(__file__).resolve().parents[1])
    environment = dict(os.environ)
    paths = [package_root, *filter(None, environment.get("PYTHONPATH", "").split(os.pathsep))]
    environment["PYTHONPATH"] = os.pathsep.join(paths)
    return environment


def _remove(process: subprocess.Popen, folder: str) -> None:
    if process.poll() is None:
        process.kill()
    shutil.rmtree(folder, ignore_errors=True)


class _Watcher(threading.Thread):
    """Ends the child at the wall-clock limit, and says when it has ended, whoever waits."""

    def __init__(
        self, process: subprocess.Popen, seconds: float, on_done: Callable[[], None] | None
    ) -> None:
        super().__init__(name="emcore-read-watcher", daemon=True)
        self.process, self.seconds, self.on_done = process, seconds, on_done
        self.timed_out = False

    def run(self) -> None:
        try:
            self.process.wait(self.seconds)
        except subprocess.TimeoutExpired:
            self.timed_out = True
            self.process.kill()
            self.process.wait()
        if self.on_done is not None:
            self.on_done()


class BoundedRead:
    """One :func:`emcore.read_csv` of ``data`` running in a limited child process.

    Parameters
    ----------
    data : bytes
        The file's contents.
    limits : ReadLimits, optional
        Wall-clock, CPU and memory limits (the defaults suit a 20 MB, 2,000,000-cell file).
    reader : str, optional
        The function the child reads the file with, as ``"module:function"``; it takes a
        path and returns a DataFrame or raises :class:`DataError`. Default
        :func:`emcore.read_csv`.
    missing : {"drop", "keep"}
        Passed on to :func:`emcore.read_csv` (``"keep"``: rows with missing cells come back
        with NaN in them).
    on_done : callable, optional
        Called once, without arguments, from another thread as soon as the child has ended
        (read, refused, killed or cancelled), for example to release a slot that bounds how
        many reads run at once. It does not wait for anyone to collect the outcome.

    Notes
    -----
    The child is killed by :meth:`cancel`, at ``limits.seconds`` whether or not anyone is
    waiting, and when this object is garbage collected. Its files live in a private
    temporary folder, removed once the outcome is collected or the object is gone.
    """

    def __init__(
        self,
        data: bytes,
        limits: ReadLimits | None = None,
        on_done: Callable[[], None] | None = None,
        reader: str = READ_CSV,
        missing: str = "drop",
    ) -> None:
        if missing not in ("drop", "keep"):
            raise ValueError(f"missing must be 'drop' or 'keep'; got {missing!r}.")
        self.limits = limits or ReadLimits()
        self._folder = Path(tempfile.mkdtemp(prefix="emcore-read-"))
        self._started = time.monotonic()
        try:
            (self._folder / _INPUT).write_bytes(bytes(data))
            self._process = subprocess.Popen(
                _child_command(self._folder, self.limits, reader, missing),
                env=_child_environment(),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        except BaseException:
            shutil.rmtree(self._folder, ignore_errors=True)
            raise
        self._outcome: tuple[str, object] | None = None
        self._cancelled = False
        self._finalizer = weakref.finalize(self, _remove, self._process, str(self._folder))
        self._watcher = _Watcher(self._process, self.limits.seconds, on_done)
        self._watcher.start()

    @property
    def elapsed(self) -> float:
        """Seconds since the read started."""
        return time.monotonic() - self._started

    @property
    def done(self) -> bool:
        """True once the outcome is known (read, refused, stopped or cancelled)."""
        return self._outcome is not None

    def wait(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for the outcome; True when it is known."""
        if self._outcome is None:
            self._watcher.join(max(0.0, timeout))
            if not self._watcher.is_alive():
                self._outcome = self._collect()
                self._finalizer()  # the files are read: remove them
        return self._outcome is not None

    def cancel(self) -> None:
        """Kill the child now; the outcome becomes a :class:`DataError` saying so."""
        if self._outcome is None:
            self._cancelled = True
            self._process.kill()
            self.wait(5.0)

    def outcome(self) -> pd.DataFrame:
        """The frame :func:`emcore.read_csv` returned.

        Raises
        ------
        DataError
            With read_csv's sentence, or one saying that the read was too slow, needed too
            much memory, was cancelled, or stopped unexpectedly.
        RuntimeError
            When called before :attr:`done`.
        """
        if self._outcome is None:
            raise RuntimeError("The read has not finished; wait() until it has.")
        kind, value = self._outcome
        if kind == "frame":
            return value  # type: ignore[return-value]
        raise DataError(str(value))

    def _collect(self) -> tuple[str, object]:
        code = self._process.returncode
        if self._cancelled:
            return "error", _CANCELLED_MESSAGE
        if self._watcher.timed_out:
            return "error", _too_slow_message(self.limits.seconds)
        if (self._folder / _ERROR).exists():
            return "error", (self._folder / _ERROR).read_text(encoding="utf-8")
        if code == 0 and (self._folder / _META).exists():
            try:
                return "frame", _frame_from(self._folder)
            except (OSError, ValueError, TypeError, KeyError):
                return "error", _FAILED_MESSAGE
        if code == -signal.SIGXCPU:
            return "error", _too_slow_message(self.limits.cpu_seconds)
        if code == -signal.SIGKILL:  # the kernel's out-of-memory killer, or someone else
            return "error", _too_large_message(self.limits.memory_bytes)
        return "error", _FAILED_MESSAGE


def read_csv_bounded(
    source: bytes, limits: ReadLimits | None = None, missing: str = "drop"
) -> pd.DataFrame:
    """:func:`emcore.read_csv` of ``source`` in a limited child process, waiting for it.

    Parameters
    ----------
    source : bytes
        The file's contents.
    limits : ReadLimits, optional
    missing : {"drop", "keep"}
        As :func:`emcore.read_csv`'s.

    Returns
    -------
    pandas.DataFrame
        As :func:`emcore.read_csv` returns it, report included.

    Raises
    ------
    DataError
        read_csv's sentence, or one saying the read was too slow or needed too much memory.
    """
    read = BoundedRead(source, limits, missing=missing)
    while not read.wait(1.0):
        pass
    return read.outcome()


__all__ = ["BoundedRead", "ReadLimits", "read_csv_bounded"]

if __name__ == "__main__":
    _child_main(Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), *sys.argv[4:6])
