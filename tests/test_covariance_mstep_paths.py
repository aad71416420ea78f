"""The M-steps' shortcuts give the numbers of the plain computations they replace.

Each shortcut (batched starts, sweeps with their pair differences formed up front, the
guarding floor skipped when the eigenvalues are known, all components active) is compared
with the straightforward form, written out here, on inputs that take every branch.
"""

import numpy as np
import pytest

from emcore import covariance
from emcore.covariance import (
    _best_start,
    _diagonal_objective,
    _jacobi_sweep,
    _raise_small_eigenvalues,
    _rotated_spreads,
    _round_robin,
    covariance_model,
)

SPECTRAL = ("EVE", "VVE", "EEV", "VEV")
CONSTRAINED_FULL = ("VEE", "EVE", "VVE", "EEV", "VEV", "EVV")


def scatters(rng: np.random.Generator, k: int, d: int) -> np.ndarray:
    a = rng.normal(size=(k, d, d + 3))
    return a @ a.transpose(0, 2, 1)


def plain_sweep(orientation, scatters, inverse_spreads):
    """One Jacobi sweep one pair at a time, as the docstring of ``_jacobi_sweep`` has it."""
    d = inverse_spreads.shape[1]
    weighted = np.einsum("km,kij->mij", inverse_spreads, scatters)
    columns = orientation.copy()
    for first, second in _round_robin(d):
        for i, j in zip(first, second, strict=True):
            u, v = columns[:, i].copy(), columns[:, j].copy()
            c = weighted[i] - weighted[j]
            a = (u @ c @ u - v @ c @ v) / 2
            t = np.arctan2(-(u @ c @ v), -a) / 2
            columns[:, i] = np.cos(t) * u + np.sin(t) * v
            columns[:, j] = np.cos(t) * v - np.sin(t) * u
    return columns


@pytest.mark.parametrize("d", [1, 2, 3, 4, 5, 12, 13])
def test_sweep_matches_one_pair_at_a_time(d: int) -> None:
    # d = 13 forms the pairs' differences per round, d <= 12 all at once.
    rng = np.random.default_rng(d)
    w = scatters(rng, 3, d)
    inverse = rng.uniform(0.5, 2.0, size=(3, d))
    orientation = np.linalg.qr(rng.normal(size=(d, d)))[0]
    np.testing.assert_allclose(
        _jacobi_sweep(orientation, w, inverse),
        plain_sweep(orientation, w, inverse),
        rtol=0,
        atol=1e-12,
    )


@pytest.mark.parametrize("name", ["EVE", "VVE"])
def test_both_starts_at_once_are_each_start_alone(name: str, monkeypatch) -> None:
    rng = np.random.default_rng(1)
    w, nk = scatters(rng, 4, 3), rng.uniform(5, 20, size=4)
    starts = np.stack([np.linalg.qr(rng.normal(size=(3, 3)))[0] for _ in range(2)])
    given = []  # the model's own rule for the spreads given D

    def capture(statistic, counts, spreads_given, previous):
        given.append(spreads_given)
        return np.zeros((len(counts), 3, 3)), np.ones((len(counts), 3))

    monkeypatch.setattr(covariance, "_common_orientation", capture)
    covariance_model(name)._solve(w, nk, None)
    alone = []
    for start in starts:
        rotated = _rotated_spreads(start, w)
        spreads = given[0](rotated)
        alone.append((spreads, float(_diagonal_objective(rotated, spreads, nk))))
    orientation, spreads, objective = _best_start(starts, w, nk, given[0])
    best = int(alone[1][1] < alone[0][1])
    np.testing.assert_array_equal(orientation, starts[best])
    np.testing.assert_array_equal(spreads, alone[best][0])
    assert objective == alone[best][1]


def test_a_tie_or_nan_keeps_the_first_start() -> None:
    rng = np.random.default_rng(2)
    w, nk = scatters(rng, 3, 2), np.full(3, 10.0)
    start = np.linalg.qr(rng.normal(size=(2, 2)))[0]
    same = np.stack([start, start])
    orientation, _, _ = _best_start(same, w, nk, lambda rotated: rotated / nk[:, None])
    np.testing.assert_array_equal(orientation, start)
    nan_second = np.stack([start, np.full((2, 2), np.nan)])
    orientation, _, objective = _best_start(
        nan_second, w, nk, lambda rotated: rotated / nk[:, None]
    )
    np.testing.assert_array_equal(orientation, start)
    assert np.isfinite(objective)


def floored_by_hand(model, statistic, nk, reg, previous):
    """The constrained M-step with its guarding floor always tested."""
    scatter = model._regularised_statistic(statistic, nk, reg, "floor")
    return _raise_small_eigenvalues(model.maximum_likelihood_from(scatter, nk, previous), reg)


@pytest.mark.parametrize("name", CONSTRAINED_FULL)
@pytest.mark.parametrize("reg", [1e-8, 0.5, 3.0])
def test_known_eigenvalues_skip_only_a_floor_with_nothing_to_raise(name: str, reg: float) -> None:
    # reg = 0.5 and 3.0 put the floor among the eigenvalues: the floor then binds.
    rng = np.random.default_rng(3)
    nk = rng.uniform(5, 20, size=4)
    statistic = scatters(rng, 4, 3) * nk[:, None, None] / 6
    model = covariance_model(name)
    previous = model.maximum_likelihood_from(statistic, nk)
    got = model.estimate_from(statistic, nk, reg, "floor", previous)
    np.testing.assert_array_equal(got, floored_by_hand(model, statistic, nk, reg, previous))
    assert np.linalg.eigvalsh(got).min() >= reg * (1 - 1e-12)


@pytest.mark.parametrize("name", SPECTRAL)
def test_clear_eigenvalues_need_no_floor_test(name: str, monkeypatch) -> None:
    rng = np.random.default_rng(3)
    nk = rng.uniform(5, 20, size=4)
    model = covariance_model(name)
    tested = []
    monkeypatch.setattr(
        type(model), "regularize", lambda self, *args: tested.append(args) or args[0]
    )
    model.estimate_from(scatters(rng, 4, 3), nk, 1e-8, "floor")
    assert not tested


@pytest.mark.parametrize("name", SPECTRAL)
def test_eigenvalues_the_m_step_reports_are_its_covariances(name: str) -> None:
    rng = np.random.default_rng(4)
    nk = rng.uniform(5, 20, size=3)
    covariances, spectrum = covariance_model(name)._solve(scatters(rng, 3, 4), nk, None)
    spectrum = np.broadcast_to(spectrum, (3, 4))
    np.testing.assert_allclose(
        np.linalg.eigvalsh(covariances), np.sort(spectrum, axis=1), rtol=1e-12
    )


@pytest.mark.parametrize("name", [*CONSTRAINED_FULL, "VEI", "EVI"])
def test_an_empty_component_gets_zeros_and_the_others_the_m_step_without_it(name: str) -> None:
    rng = np.random.default_rng(5)
    model = covariance_model(name)
    full = scatters(rng, 4, 3)
    full[2] = 0.0
    nk = np.array([8.0, 11.0, 0.0, 6.0])
    statistic = model.statistic_from_scatter(full)
    got = model.maximum_likelihood_from(statistic, nk)
    without = model.maximum_likelihood_from(statistic[[0, 1, 3]], nk[[0, 1, 3]])
    np.testing.assert_array_equal(got[[0, 1, 3]], without)
    assert not got[2].any()
    assert got.dtype == np.float64


@pytest.mark.parametrize("name", [*CONSTRAINED_FULL, "VEI", "EVI"])
def test_the_m_step_never_returns_its_input(name: str) -> None:
    rng = np.random.default_rng(6)
    model = covariance_model(name)
    statistic = model.statistic_from_scatter(scatters(rng, 3, 3))
    kept = statistic.copy()
    got = model.maximum_likelihood_from(statistic, np.array([5.0, 7.0, 9.0]))
    assert not np.shares_memory(got, statistic)
    got[...] = -1.0
    np.testing.assert_array_equal(statistic, kept)
