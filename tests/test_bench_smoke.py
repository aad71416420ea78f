"""The benchmark scripts run and print their tables (no timing is asserted)."""

import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench"


def run_script(name: str, *args: str) -> str:
    result = subprocess.run(
        [sys.executable, str(BENCH / name), *args],
        capture_output=True,
        text=True,
        timeout=180,
        cwd=BENCH.parent,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def table_rows(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith("| 1,000 x 2 x 3 |")]


def test_quick_benchmark_prints_every_column_and_agreeing_fits():
    output = run_script("bench_em.py", "--quick", "--repeats", "1", "--iterations", "3")
    assert output.startswith("Machine: ")
    assert "| 5,000 x 4 x 4 | full | 3 |" in output
    rows = table_rows(output)
    # Per iteration: the four covariance types; whole fit: each from two starts.
    assert len(rows) == 4 + 8
    for row in rows:
        assert row.count("|") >= 10 and "**NO**" not in row
    iteration_rows = rows[:4]
    assert all("| yes (" in row for row in iteration_rows)
    # Peak memory columns are numbers (MB), the target column says met or not.
    assert all(" / " in row and "1x: " in row for row in iteration_rows)


def test_float32_columns():
    output = run_script(
        "bench_em.py", "--sizes", "1000x2x3:diag", "--repeats", "1", "--float32", "--no-whole-fit"
    )
    (row,) = table_rows(output)
    assert "| diag |" in row and row.count("|") == 15


@pytest.mark.parametrize("name", ["bench_iteration.py"])
def test_old_entry_point_runs_the_same_benchmark(name):
    output = run_script(name, "--sizes", "1000x2x3:full", "--repeats", "1", "--no-whole-fit")
    assert len(table_rows(output)) == 1


def test_every_model_has_a_time_per_iteration():
    output = run_script("bench_models.py", "--quick")
    for name in ("EII", "VEV", "EVE", "VVV"):
        assert any(line.startswith(f"{name} ") for line in output.splitlines()), name
    assert "slowest ellipsoidal model" in output


def test_the_mclust_benchmark_runs_without_r():
    output = run_script("bench_mclust.py", "--quick")
    assert "select_model" in output or "mclust" in output


def test_the_wide_data_benchmark_runs_without_r():
    output = run_script("bench_wide.py", "--quick")
    assert "| 30 x 4 |" in output and "EII,2" in output


def test_the_dask_benchmark_runs_its_quick_sections():
    pytest.importorskip("dask.distributed")
    output = run_script("bench_dask.py", "--quick")
    assert "## 4b. A .npy file" in output
    assert "| yes |" in output and "| no |" not in output
