"""emcore.data's own separator sniffer against CleverCSV, on the project's corpus of messy files.

    PYTHONPATH=/path/to/clevercsv .venv/bin/python bench/sniff_corpus.py

CleverCSV (``clevercsv==0.8.5``) is not a dependency; install it anywhere (``pip install
--target /tmp/clever clevercsv==0.8.5``) and put it on ``PYTHONPATH``. For every file of the
corpus (``tests/fixtures/csv`` and the files ``tests/test_data.py`` reads inline) this reads
the file twice with :func:`emcore.read_csv`: once as it is, once with its sniffer's choice of
separator replaced by CleverCSV's (detected on the same bounded sample; everything else, the
header gap, limits and reading, unchanged). A file is *right* when the separator is the one
the file uses and the table read is the one the tests expect. Then both sniff a 20 MB file.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd

from emcore import data as emdata
from emcore.data import DataError, read_csv

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures" / "csv"


def grid(n_columns: int, n_rows: int, cell: str = "1.5", separator: str = ",") -> bytes:
    header = separator.join(f"c{position}" for position in range(n_columns))
    row = separator.join([cell] * n_columns)
    return "\n".join([header, *[row] * n_rows, ""]).encode()


# (name, bytes, the separator the file uses); the tables expected are the ones the tests
# assert (tests/test_data.py), which emcore's reader returns.
FIXTURE_SEPARATORS = {
    "comma.csv": ",",
    "excel_sep_hint.csv": ";",
    "no_header.csv": ",",
    "quoted.csv": ",",
    "r_write_csv.csv": ",",
    "r_write_table.txt": " ",
    "semicolon_decimal_comma.csv": ";",
    "tab.tsv": "\t",
    "text_and_missing.csv": ",",
}
INLINE: list[tuple[str, bytes, str]] = [
    ("crlf", b"x,y\r\n1,2\r\n3,4\r\n", ","),
    ("cr", b"x,y\r1,2\r3,4\r", ","),
    ("no header, counting", b"1,2.5,3\n2,5,6\n3,8,9\n", ","),
    ("pandas index", pd.DataFrame({"a": [0.5, 1.5], "b": [10.0, 20.0]}).to_csv().encode(), ","),
    ("rownames", b"rownames,x\n1,0.5\n2,0.7\n3,0.1\n", ","),
    ("R row names", b'"","mpg","cyl"\n"Mazda RX4",21,6\n"Datsun 710",22.8,4\n', ","),
    ("latin-1 decimal comma", "température;durée\n12,5;3\n-0,5;4\n".encode("latin-1"), ";"),
    ("utf-16 decimal comma", "température;durée\n12,5;3\n-0,5;4\n".encode("utf-16"), ";"),
    ("empty-cell rows", b"x,y\n1,2\n,\n\n3,4\n , \n", ","),
    ("stray text", b"a,b\n1,2\n3,4x\n5,6\n", ","),
    ("empty column", b"a,b,c\n1,,2\n3,NA,4\n", ","),
    ("duplicate names", b"a,a,a.1\n1,2,3\n4,5,6\n", ","),
    ("quoted separators in names", b'"a, cm","b; kg"\n1,2\n3,4\n', ","),
    ("100,000-digit header", b"9" * 100_000 + b";x\n1;2\n3;4\n", ";"),
    ("long cell", b"a,b\n1,2\n" + b"9" * 60_000 + b"x,3\n4,5\n", ","),
    (
        "missing tokens",
        (
            "x,y\n"
            + "".join(f"{i},{t}\n" for i, t in enumerate(["NA", "n/a", "?", "-", "--", ".", ""]))
            + "7.5,8\n8.5,9\n"
        ).encode(),
        ",",
    ),
    *[
        (f"grid {name}", grid(4, 6, "1.5", sep), sep)
        for name, sep in [
            ("comma", ","),
            ("semicolon", ";"),
            ("tab", "\t"),
            ("bar", "|"),
            ("space", " "),
        ]
    ],
    ("semicolon, decimal commas only", b"a;b\n1,5;2,5\n3,5;4,5\n5,25;6,75\n", ";"),
    ("aligned spaces", b"  x     y\n 1.5   2.0\n 3.25  4.0\n10.0  -1.0\n", " "),
]


def corpus() -> list[tuple[str, bytes, str]]:
    files = [(name, (FIXTURES / name).read_bytes(), s) for name, s in FIXTURE_SEPARATORS.items()]
    return files + INLINE


def clever_sniff(text: str, forced: str | None):
    """emcore's _sniff with the separator chosen by CleverCSV on the same sample."""
    import clevercsv

    if forced:
        return emdata._own_sniff(text, forced)
    sample, complete = emdata._sample(text)
    dialect = clevercsv.Detector().detect(sample)
    separator = dialect.delimiter if dialect is not None and dialect.delimiter else ","
    if separator not in emdata._SEPARATORS:
        separator = ","  # emcore reads only these five
    rows = emdata._split_rows(sample, separator)
    widths = [len(row) for row in rows]
    widest = max(widths if complete else widths[:-1], default=1)
    return emdata._Sniffed(separator, widest, emdata._header_gap(rows))


def read(data: bytes):
    try:
        return read_csv(data)
    except DataError as error:
        return error


def same(a, b) -> bool:
    if isinstance(a, Exception) or isinstance(b, Exception):
        return str(a) == str(b)
    return list(a.columns) == list(b.columns) and np.array_equal(a.to_numpy(), b.to_numpy())


def evaluate() -> None:
    emdata._own_sniff = emdata._sniff
    rows = []
    for name, data, separator in corpus():
        emdata._sniff = emdata._own_sniff
        own = read(data)
        emdata._sniff = clever_sniff
        clever = read(data)
        emdata._sniff = emdata._own_sniff
        own_sep = None if isinstance(own, Exception) else own.attrs["report"].separator
        clever_sep = None if isinstance(clever, Exception) else clever.attrs["report"].separator
        own_right = own_sep == separator and not isinstance(own, Exception)
        clever_right = clever_sep == separator and same(own, clever) and own_right
        rows.append((name, separator, own_sep, clever_sep, own_right, clever_right))
    width = max(len(r[0]) for r in rows)
    for name, sep, own_sep, clever_sep, own_right, clever_right in rows:
        own_word, clever_word = ("ok" if right else "WRONG" for right in (own_right, clever_right))
        print(
            f"{name:<{width}}  file {sep!r:6} emcore {own_sep!r:6} {own_word:5}"
            f"  clevercsv {clever_sep!r:6} {clever_word}"
        )
    print(
        f"right: emcore {sum(r[4] for r in rows)}/{len(rows)}, "
        f"clevercsv {sum(r[5] for r in rows)}/{len(rows)}"
    )


def twenty_mb() -> str:
    """Two columns of 10-digit numbers: 20 MB in 1.8 million cells, inside read_csv's limits."""
    rng = np.random.default_rng(0)
    values = rng.uniform(100, 999, size=(909_000, 2))
    text = "a,b\n" + "".join(f"{x:.6f},{y:.6f}\n" for x, y in values)
    return text[: text.rfind("\n", 0, 20_000_000) + 1]


def hostile_sample() -> str:
    """64K characters of punctuation, quotes and digits: many dialects for CleverCSV to try."""
    rng = np.random.default_rng(1)
    alphabet = np.array(list(",;|\t :#!$%&*+/=?@^~'\"`\\-_.0123456789ab\n"))
    return "".join(rng.choice(alphabet, size=65_536))


def timed(function) -> float:
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def timing() -> None:
    import clevercsv

    text = twenty_mb()
    data = text.encode()
    print(f"20 MB file: {len(data):,} bytes")
    sample, _ = emdata._sample(text)
    own = timed(lambda: emdata._own_sniff(text, None))
    clever = timed(lambda: clevercsv.Detector().detect(sample))
    print(f"sniffing its 64K-character sample: emcore {own:.3f} s, clevercsv {clever:.3f} s")
    for label, sniff in (("emcore", emdata._own_sniff), ("clevercsv", clever_sniff)):
        emdata._sniff = sniff
        seconds = sorted(timed(lambda: read_csv(data)) for _ in range(3))[1]
        print(f"read_csv of the 20 MB file, {label} sniffing: {seconds:.2f} s (median of 3)")
    emdata._sniff = emdata._own_sniff
    hostile = hostile_sample()
    own = timed(lambda: emdata._own_sniff(hostile, None))
    clever = timed(lambda: clevercsv.Detector().detect(hostile))
    ours = list(emdata._SEPARATORS)
    restricted = timed(lambda: clevercsv.Detector().detect(hostile, delimiters=ours))
    print(
        f"a hostile 64K sample (punctuation soup): emcore {own:.3f} s, clevercsv {clever:.2f} s "
        f"({restricted:.2f} s offered only emcore's five separators)"
    )


if __name__ == "__main__":
    evaluate()
    timing()
