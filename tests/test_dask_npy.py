"""A .npy file read by row chunks from a memory map (emcore.dask_engine.from_npy)."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import make_blobs

from emcore import GaussianMixture

pytest.importorskip("dask.array")

from emcore.dask_engine import from_npy


def test_a_npy_file_fits_as_the_array_it_holds(tmp_path) -> None:
    X, _ = make_blobs(n_samples=503, centers=3, n_features=2, random_state=0)
    path = tmp_path / "points.npy"
    np.save(path, X)
    chunked = from_npy(path, chunk_rows=100)
    assert chunked.shape == X.shape and chunked.chunks[0] == (100,) * 5 + (3,)
    np.testing.assert_array_equal(chunked.compute(), X)
    precision = np.linalg.inv(np.cov(X.T))
    start = {
        "means_init": X[[0, 200, 400]],
        "weights_init": np.full(3, 1 / 3),
        "precisions_init": np.repeat(precision[None], 3, axis=0),
    }
    on_disk = GaussianMixture(3, max_iter=20, **start).fit(chunked)
    in_memory = GaussianMixture(3, max_iter=20, **start).fit(X)
    np.testing.assert_allclose(on_disk.means_, in_memory.means_, rtol=1e-8)


def test_a_file_of_another_shape_is_refused(tmp_path) -> None:
    path = tmp_path / "line.npy"
    np.save(path, np.arange(10.0))
    with pytest.raises(ValueError, match=r"expected \(rows, columns\)"):
        from_npy(path)
