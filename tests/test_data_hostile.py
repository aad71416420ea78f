"""emcore.read_csv on hostile uploads, each read in a child process under OS limits.

A hostile file that is within the byte limit must be read, or refused with a DataError
sentence, within 3 s of CPU time and 400 MB of memory. A timed assertion would be flaky on a
shared machine and would let a runaway read go on; here the operating system enforces the
budget instead. One long-lived child (``python -c CHILD``) reads file after file; before each
read it sets

- RLIMIT_CPU to the CPU time it has used so far plus 3 s (rounded up to a whole second, the
  limit's unit), so an overrun kills it with SIGXCPU;
- RLIMIT_AS to its own VmSize (from /proc/self/status) plus 400 MB, so what the read itself
  may add is 400 MB; the first read's VmSize is the child's right after importing emcore and
  pandas.

The files are written to a temporary folder and the child gets their paths, so nothing large
is pickled or piped. It answers with one JSON line per file: the frame's shape and names, or
the DataError's sentence, or what else happened. A child killed by a limit is restarted.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

ROOT = Path(__file__).parents[1]
CPU_SECONDS = 3
MEMORY_BYTES = 400 * 1000 * 1000
# Only for a child that hangs without using CPU (which RLIMIT_CPU cannot catch).
WALL_SECONDS = 120

CHILD = f"""
import gc, json, math, resource, sys


def vm_size():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmSize in /proc/self/status")


def cpu_seconds():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def causes(error):
    while error.__cause__ is not None:
        error = error.__cause__
        yield type(error).__name__


def outcome(path):
    try:
        frame = read_csv(path)
    except DataError as error:
        return {{"kind": "DataError", "message": str(error), "causes": list(causes(error))}}
    except MemoryError:
        return {{"kind": "MemoryError"}}
    except BaseException as error:
        return {{"kind": type(error).__name__, "message": str(error)[:300]}}
    try:
        report = frame.attrs["report"]
        return {{
            "kind": "frame",
            "shape": list(frame.shape),
            "columns": [str(name) for name in frame.columns],
            "summary": report.summary(),
            "renamed": report.renamed_columns,
        }}
    except BaseException as error:
        return {{"kind": "unreportable frame", "message": repr(error)[:300]}}


from emcore.data import DataError, read_csv

read_csv(b"x,y\\n1,2\\n3,4\\n")  # pandas imports parts of itself on first use
_, cpu_hard = resource.getrlimit(resource.RLIMIT_CPU)
_, memory_hard = resource.getrlimit(resource.RLIMIT_AS)
print(json.dumps({{"ready": True}}), flush=True)
for line in sys.stdin:
    gc.collect()
    resource.setrlimit(resource.RLIMIT_AS, (vm_size() + {MEMORY_BYTES}, memory_hard))
    cpu_limit = math.ceil(cpu_seconds() + {CPU_SECONDS})
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_limit, cpu_hard))
    result = outcome(line.rstrip("\\n"))
    # Reporting the result is not part of the read's budget.
    resource.setrlimit(resource.RLIMIT_AS, (memory_hard, memory_hard))
    print(json.dumps(result), flush=True)
"""


@dataclass(frozen=True)
class Outcome:
    """What became of one read: a frame, a DataError, or something that must not happen."""

    kind: str
    message: str = ""
    shape: tuple[int, int] | None = None
    columns: tuple[str, ...] = ()
    summary: str = ""
    renamed: tuple[tuple[str, str], ...] = ()
    causes: tuple[str, ...] = ()

    @classmethod
    def from_json(cls, line: str) -> Outcome:
        fields = json.loads(line)
        return cls(
            kind=fields["kind"],
            message=fields.get("message", ""),
            shape=tuple(fields["shape"]) if "shape" in fields else None,
            columns=tuple(fields.get("columns", ())),
            summary=fields.get("summary", ""),
            renamed=tuple(tuple(pair) for pair in fields.get("renamed", ())),
            causes=tuple(fields.get("causes", ())),
        )


class LimitedReader:
    """A child process that reads one file at a time within the CPU and memory budget."""

    def __init__(self, log: Path) -> None:
        self._log = log
        self._process: subprocess.Popen[str] | None = None

    def read(self, path: Path) -> Outcome:
        process = self._running()
        assert process.stdin is not None and process.stdout is not None
        watchdog = threading.Timer(WALL_SECONDS, process.kill)
        watchdog.start()
        try:
            process.stdin.write(f"{path}\n")
            process.stdin.flush()
            line = process.stdout.readline()
        except BrokenPipeError:
            line = ""
        finally:
            watchdog.cancel()
        if line:
            return Outcome.from_json(line)
        return Outcome("killed", self._death())

    def close(self) -> None:
        if self._process is not None:
            self._process.kill()
            self._process.wait()
            self._process = None

    def _running(self) -> subprocess.Popen[str]:
        if self._process is None:
            self._process = self._start()
        return self._process

    def _start(self) -> subprocess.Popen[str]:
        with self._log.open("a") as log:
            process = subprocess.Popen(
                [sys.executable, "-c", CHILD],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
                text=True,
                cwd=ROOT,
                env={**os.environ, "PYTHONPATH": str(ROOT)},
            )
        assert process.stdout is not None
        ready = process.stdout.readline()
        assert json.loads(ready) == {"ready": True}, self._log.read_text()[-2000:]
        return process

    def _death(self) -> str:
        assert self._process is not None
        code = self._process.wait()
        self._process = None
        return f"exit code {code}; stderr ends: {self._log.read_text()[-500:]!r}"


@pytest.fixture(scope="module")
def reader(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LimitedReader]:
    limited = LimitedReader(tmp_path_factory.mktemp("child") / "stderr.txt")
    yield limited
    limited.close()


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("hostile")


def read_limited(reader: LimitedReader, folder: Path, name: str, data: bytes) -> Outcome:
    path = folder / name
    path.write_bytes(data)
    try:
        return reader.read(path)
    finally:
        path.unlink()


def assert_read_or_refused(outcome: Outcome) -> None:
    """Within the budget, a frame or a DataError sentence of its own: nothing else."""
    assert outcome.kind in ("frame", "DataError"), outcome
    if outcome.kind == "DataError":
        # Not some other exception wrapped by read_csv's last-resort catch.
        assert outcome.causes == (), outcome
        message = outcome.message
        assert message.strip() and "\n" not in message and len(message) < 500, message
    else:
        assert outcome.shape is not None and outcome.shape[0] >= 2
        assert 1 <= outcome.shape[1] <= 1000
        assert len(set(outcome.columns)) == len(outcome.columns)
        assert len(outcome.summary) < 1500, outcome.summary


# ---------------------------------------------------------------------------------------------
# The kinds of hostile file reported, at the sizes reported

COLUMNS_SENTENCE = "columns; at most 1,000 can be read. Keep only the columns you want to fit"


def row(cell: bytes, n_columns: int) -> bytes:
    return b",".join([cell] * n_columns) + b"\n"


def header(n_columns: int) -> bytes:
    return b",".join(b"c%d" % position for position in range(n_columns)) + b"\n"


def test_three_rows_of_666666_columns(reader, folder):
    outcome = read_limited(reader, folder, "wide.csv", row(b"1", 666_666) * 3)
    assert outcome.kind == "DataError", outcome
    assert outcome.message.startswith(f"The file has 666,666 {COLUMNS_SENTENCE}")


def test_10000_columns_by_199_rows(reader, folder):
    outcome = read_limited(reader, folder, "wide.csv", row(b"1.5", 10_000) * 199)
    assert outcome.message.startswith(f"The file has 10,000 {COLUMNS_SENTENCE}"), outcome


def test_50000_columns_in_300_kb(reader, folder):
    data = row(b"1", 50_000) * 3
    assert len(data) == 300_000
    outcome = read_limited(reader, folder, "wide.csv", data)
    assert outcome.message.startswith(f"The file has 50,000 {COLUMNS_SENTENCE}"), outcome


def test_1001_columns_are_refused_and_1000_read(reader, folder):
    refused = read_limited(reader, folder, "wide.csv", header(1001) + row(b"1", 1001) * 5)
    assert refused.message.startswith(f"The file has 1,001 {COLUMNS_SENTENCE}"), refused
    read = read_limited(reader, folder, "cap.csv", header(1000) + row(b"1", 1000) * 5)
    assert read.shape == (5, 1000), read


def test_a_file_at_the_column_and_cell_caps_is_read(reader, folder):
    # 1,000 columns x 1,999 lines: 1,999,000 cells of different numbers, 14 MB.
    lines = [header(1000)] + [
        b",".join(b"%d.25" % ((7 * column + line) % 1000) for column in range(1000)) + b"\n"
        for line in range(1998)
    ]
    outcome = read_limited(reader, folder, "cap.csv", b"".join(lines))
    assert outcome.kind == "frame" and outcome.shape == (1998, 1000), outcome


def test_a_narrow_file_at_the_cell_cap_is_read(reader, folder):
    rows = b"".join(b"%d.%05d,%d.5\n" % (line % 97, line, line % 89) for line in range(999_000))
    outcome = read_limited(reader, folder, "narrow.csv", b"x,y\n" + rows)
    assert outcome.kind == "frame" and outcome.shape == (999_000, 2), outcome


@pytest.mark.parametrize(("n_names", "n_cells"), [(1000, "1,000,000,000"), (100, "100,000,000")])
def test_a_header_wider_than_999999_rows_of_two_cells(reader, folder, n_names, n_cells):
    data = header(n_names) + b"1,2\n" * 999_999
    outcome = read_limited(reader, folder, "header.csv", data)
    assert outcome.kind == "DataError", outcome
    assert outcome.message.startswith(
        f"The file has about {n_cells} cells (1,000,000 rows × {n_names:,} columns), more "
        "than the limit of 2,000,000"
    )


def test_a_first_row_of_empty_cells_over_narrow_rows(reader, folder):
    data = b"," * 1500 + b"\n" + b"1,2\n" * 999_999
    outcome = read_limited(reader, folder, "empty_header.csv", data)
    assert outcome.message.startswith(f"The file has 1,501 {COLUMNS_SENTENCE}"), outcome


def test_a_60000_digit_cell_followed_by_a_letter(reader, folder):
    data = b"a,b\n1,2\n" + b"9" * 60_000 + b"x,3\n4,5\n"
    outcome = read_limited(reader, folder, "long_cell.csv", data)
    # A stray text cell: unreadable, so its row is dropped; the cell is shortened in words.
    assert (outcome.kind, outcome.shape, outcome.columns) == ("frame", (2, 2), ("a", "b")), outcome
    assert "1 cell is not a number ('9999999999999999999…' in a)" in outcome.summary


@pytest.mark.parametrize("separator", [b",", b";", b"\t", b"|", b" "])
def test_a_first_row_of_one_long_cell(reader, folder, separator):
    data = b"9" * 60_000 + b"x" + separator + b"y\n1" + separator + b"2\n3" + separator + b"4\n"
    outcome = read_limited(reader, folder, "long_first.csv", data)
    assert outcome.kind == "frame" and outcome.shape == (2, 2), outcome


def test_three_100_kb_column_names(reader, folder):
    names = [bytes([letter]) * 100_000 for letter in b"ABC"]
    data = b",".join(names) + b"\n1,2,3\n4,5,6\n"
    outcome = read_limited(reader, folder, "names.csv", data)
    assert outcome.shape == (2, 3), outcome
    assert [len(name) for name in outcome.columns] == [100_000] * 3
    assert outcome.summary == "Read 2 rows and 3 numeric columns."


def test_three_100_kb_column_names_of_text(reader, folder):
    data = b",".join([b"N" * 100_000] * 3) + b"\nAnn,Bob,Cy\nDi,Ed,Flo\n"
    outcome = read_limited(reader, folder, "names.csv", data)
    assert outcome.kind == "DataError" and len(outcome.message) < 400, outcome


def test_duplicate_names_a_a_a1(reader, folder):
    outcome = read_limited(reader, folder, "dup.csv", b"a,a,a.1\n1,2,3\n4,5,6\n")
    assert outcome.columns == ("a", "a (2)", "a.1"), outcome
    assert outcome.renamed == (("a", "a (2)"),)
    assert outcome.summary.endswith("2 columns are both named 'a'; the second is called 'a (2)'.")


def test_a_quote_never_closed_in_the_first_row(reader, folder):
    data = b'a,"b\n' + b"1,2\n" * 999_999
    outcome = read_limited(reader, folder, "quote.csv", data)
    assert outcome.message.startswith('A quote mark (") in the first row'), outcome


def test_a_file_one_byte_over_the_limit(reader, folder):
    path = folder / "huge.csv"
    with path.open("wb") as file:
        file.truncate(20_000_001)
    outcome = reader.read(path)
    path.unlink()
    assert outcome.message.startswith("The file is 20,000,001 bytes, more than the 20 MB limit"), (
        outcome
    )


# ---------------------------------------------------------------------------------------------
# A generated corpus: widths, header and row widths that disagree, long cells, names with markup

MARKUP_NAMES = [
    "![x](http://e.invalid/a.png)",
    "<img src=x>",
    "<script>alert(1)</script>",
    "**bold** _it_",
    "[a](javascript:alert(1))",
    "=cmd|' /C calc'!A0",
    '"quoted, name"',
    "a.1",
    "a (2)",
    "Unnamed: 0",
    "",
]
CELLS = ["1", "-2.5", "3,5", "1e3", ".5", "NA", "", "?", "inf", "x", "<b>", "1.5x", '"7"']
# Printable text: control characters would only make the file look binary.
SHORT_TEXT = st.text(st.characters(blacklist_categories=("Cc", "Cs")), max_size=6)


@st.composite
def long_text(draw: st.DrawFn) -> str:
    body = draw(st.sampled_from(["9", "1.5", "a", ",", "\u00e9"]))
    return body * draw(st.integers(min_value=90, max_value=70_000)) + draw(
        st.sampled_from(["", "x", "e5", "9"])
    )


@st.composite
def hostile_csv(draw: st.DrawFn) -> bytes:
    separator = draw(st.sampled_from([",", ";", "\t", "|", " ", "  "]))
    names = draw(st.lists(st.sampled_from(MARKUP_NAMES) | SHORT_TEXT, min_size=1, max_size=6))
    width = draw(st.integers(min_value=1, max_value=1_200))
    numbered = draw(st.booleans())
    header = [names[i % len(names)] + (str(i) if numbered else "") for i in range(width)]
    numbers = st.floats(-1e6, 1e6, allow_nan=False).map(lambda x: f"{x:.6g}")
    cells = draw(st.lists(numbers | st.sampled_from(CELLS) | SHORT_TEXT, min_size=1, max_size=8))
    lines = [] if draw(st.booleans()) else [separator.join(header)]
    # Mostly rows as wide as the header; some narrower (pandas pads them) or of any width.
    widths = st.sampled_from([width, width, width, 1, 2]) | st.integers(1, 60)
    for _ in range(draw(st.integers(min_value=0, max_value=30))):
        lines.append(separator.join(cells[i % len(cells)] for i in range(draw(widths))))
    for _ in range(draw(st.integers(min_value=0, max_value=2))):
        position = draw(st.integers(min_value=0, max_value=len(lines)))
        lines.insert(position, separator.join([draw(long_text()), *cells]))
    line_end = draw(st.sampled_from(["\n", "\r\n"]))
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "utf-16"]))
    return line_end.join(lines).encode(encoding, errors="replace")


@settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(data=hostile_csv())
def test_generated_hostile_files_are_read_or_refused_within_budget(reader, folder, data):
    assert_read_or_refused(read_limited(reader, folder, "generated.csv", data))


def test_every_reported_kind_is_read_or_refused_cleanly(reader, folder):
    """The known kinds once more, through the same check as the generated corpus."""
    files = {
        "wide": row(b"1", 50_000) * 3,
        "header": header(1000) + b"1,2\n" * 999_999,
        "long cell": b"a,b\n1,2\n" + b"9" * 60_000 + b"x,3\n4,5\n",
        "names": b",".join([b"N" * 100_000] * 3) + b"\n1,2,3\n4,5,6\n",
        "duplicates": b"a,a,a.1\n1,2,3\n4,5,6\n",
    }
    for name, data in files.items():
        assert_read_or_refused(read_limited(reader, folder, f"{name}.csv", data))
