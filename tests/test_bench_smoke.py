"""The benchmark script runs and prints its table (no timing is asserted)."""

import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "bench" / "bench_iteration.py"


def test_benchmark_prints_a_table_with_agreeing_scores():
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--quick", "--iterations", "2", "--repeats", "1"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    rows = [line for line in result.stdout.splitlines() if line.startswith("| 1,000")]
    assert len(rows) == 4
    assert all(row.rstrip().endswith("| True |") for row in rows)
