"""An upload with empty cells through AppTest: its rows are kept and fitted (missing="em"),
the read report says how many, and the chart draws them as hollow circles."""

from __future__ import annotations

import itertools

import numpy as np
from test_upload_app import captions, source, spec

N_ROWS = 60
EVERY = 7  # rows 3, 10, 17, ... miss one of their two cells


def gaps_csv() -> tuple[bytes, int]:
    rng = np.random.default_rng(3)
    X = np.vstack([rng.normal(0, 1, (N_ROWS // 2, 2)), rng.normal(6, 1, (N_ROWS // 2, 2))])
    lines, n_gaps = ["width,height"], 0
    for i, row in enumerate(X):
        cells = [f"{v:.3f}" for v in row]
        if i % EVERY == 3:
            cells[i % 2] = ""
            n_gaps += 1
        lines.append(",".join(cells))
    lines.append("NA,?")  # nothing observed: dropped and counted
    return ("\n".join(lines) + "\n").encode(), n_gaps


def test_upload_with_empty_cells_fits_every_row_and_marks_them() -> None:
    content, n_gaps = gaps_csv()
    at = source("Upload CSV")
    at.file_uploader(key="csv_file").set_value(("gaps.csv", content, "text/csv"))
    at.run()
    assert not at.exception, at.exception
    text = captions(at)
    assert f"Read {N_ROWS} rows and 2 numeric columns; dropped 1 row with missing values." in text
    assert f"{n_gaps} rows have missing values; EM fits them on their observed columns." in text
    assert f"Hollow circles: {n_gaps} points have a missing value" in text
    figure = spec(at)
    points = figure["data"][0]
    assert len(points["x"]) == N_ROWS  # every row with something observed is fitted and drawn
    symbols = points["marker"]["symbol"]
    hollow = [i for i, symbol in enumerate(symbols) if symbol == "circle-open"]
    assert hollow == [i for i in range(N_ROWS) if i % EVERY == 3]
    assert np.isfinite(points["x"]).all() and np.isfinite(points["y"]).all()
    curve = next(i for i, t in enumerate(figure["data"]) if t.get("name") == "log-likelihood")
    ll = [y for y in figure["frames"][-1]["data"][curve]["y"] if y is not None]
    assert len(ll) > 2
    assert all(b >= a - 1e-9 * abs(a) for a, b in itertools.pairwise(ll))
