"""The parameter table's numbers (tester's fault 2): significant digits whatever the data's
units, never 0.000 for data near 1e-8 and never −0.000."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from test_upload_app import run, source, table, upload

from emapp.build.describe import signed


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (3.4558e-9, "3.456e−9"),
        (-3.4e-9, "−3.400e−9"),
        (72.3456, "72.35"),
        (-1.5, "−1.500"),
        (0.5, "0.5000"),
        (1234567.0, "1.235e6"),
        (-0.0, "0"),
        (0.0, "0"),
    ],
)
def test_numbers_keep_four_significant_digits(value: float, text: str) -> None:
    assert signed(value) == text


def test_fixed_decimals_never_print_minus_zero() -> None:
    assert signed(-0.0001, 3) == "0.000"
    assert signed(-1130.4249, 2) == "−1,130.42"


def test_small_valued_data_fill_the_table_with_digits(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    values = np.vstack([rng.normal(size=(80, 2)), rng.normal(size=(80, 2)) + 4]) * 1e-8
    path = tmp_path / "small8.csv"
    path.write_text("u,w\n" + "\n".join(f"{float(x)!r},{float(y)!r}" for x, y in values) + "\n")
    at = upload(source("Upload CSV"), path)
    at = run(at)
    last = table(at)["rows"][-1]
    cells = [cell for row in last for cell in row[1:]]
    assert all(cell not in ("0.000", "−0.000") for cell in cells), cells
    means = [float(row[2].replace("−", "-")) for row in last]
    assert all(abs(m) < 1e-6 for m in means) and any(abs(m) > 1e-9 for m in means)
