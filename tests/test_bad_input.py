"""emcore on input a practitioner may well give it: a clear sentence or the right numbers,
never NaN, a NumPy traceback or a hang (a fresh user's findings, each as a kind)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from emcore import EM, Gauss, GaussianMixture, Mixture, initial_params, select_model
from emcore.covariance import MCLUST_MODELS, constant_columns, data_scale, weighted_moments

Z = np.random.default_rng(0).normal(size=(30, 2))


@pytest.fixture(scope="module")
def unscaled() -> dict[str, float]:
    return {
        name: GaussianMixture(2, covariance_type=name, random_state=0).fit(Z).lower_bound_
        for name in MCLUST_MODELS
    }


@pytest.mark.parametrize("scale", [1e77, 1e99])
def test_every_model_fits_data_up_to_the_largest_accepted_values(scale, unscaled):
    """EVI, EVE and EVV multiplied the shared volume by the spreads before dividing by
    their roots: (1e154)^2 overflowed to NaN from 1e77 on, with converged_ True."""
    for name in MCLUST_MODELS:
        fitted = GaussianMixture(2, covariance_type=name, random_state=0).fit(Z * scale)
        # The same fit in other units: the log-density moves by -d log(scale) per point.
        assert fitted.lower_bound_ + 2 * np.log(scale) == pytest.approx(unscaled[name], abs=1e-6)


def test_columns_too_small_for_variances_are_refused_when_fitting_only():
    for fit in (
        lambda X: GaussianMixture(1).fit(X),
        lambda X: select_model(X, 2),
        lambda X: EM(X, GaussianMixture(1).fit(Z).params_),
    ):
        with pytest.raises(ValueError, match=r"Column\(s\) 1 of X \(counted from 0\)"):
            fit(Z * [1.0, 1e-150])
    # New points may hold tiny values: only a fit measures a column's variance.
    fitted = GaussianMixture(1).fit(Z)
    assert fitted.predict(Z[:3] * 1e-150).shape == (3,)
    mixture = Mixture.from_params(fitted.params_)
    mixture.expectation(Z * 1e-150)
    with pytest.raises(ValueError, match="10\\^-100"):
        mixture.maximization(Z * 1e-150)


def test_a_grid_of_absurdly_many_k_is_refused_and_a_large_one_is_quick():
    with pytest.raises(ValueError, match="1,000,000 values of K"):
        select_model(Z, n_components=10**6)
    # 5,000 K on 30 rows: 4,970 skipped rows, sorted by dictionary (not list.index).
    table = select_model(Z, n_components=5000, covariance_types="EII").table
    assert len(table) == 5000 and (table["status"] == "skipped").sum() == 5000 - 30


@pytest.mark.parametrize("types", [None, 3, 2.5])
def test_covariance_types_of_the_wrong_kind_get_a_sentence(types):
    with pytest.raises(ValueError, match="covariance_types must be 'all', a model's name"):
        select_model(Z, 2, covariance_types=types)


@pytest.mark.parametrize("top", [0, -1, 1.5, True, "2"])
def test_summary_asks_for_a_whole_number_of_models(top):
    selection = select_model(Z, 2, ["EII", "VVV"])
    with pytest.raises(ValueError, match="top must be a whole number of at least 1"):
        selection.summary(top=top)
    assert "Top 1 models" in selection.summary(top=1)


def test_progress_that_cannot_be_called_is_refused_before_any_fit(monkeypatch):
    import emcore.selection as selection_module

    def no_fit(*args, **kwargs):
        raise AssertionError("fitted before checking progress")

    monkeypatch.setattr(selection_module, "_starts", no_fit)
    with pytest.raises(ValueError, match=r"progress must be a function"):
        select_model(Z, 2, progress=3)


def test_start_and_run_settings_are_checked():
    with pytest.raises(ValueError, match="means_init must be finite"):
        GaussianMixture(2, means_init=[[np.nan, 0.0], [0.0, 0.0]]).fit(Z)
    params = GaussianMixture(2, random_state=0).fit(Z).params_
    for component in (2, -1, True, 0.5):
        with pytest.raises(ValueError, match=r"component must be a component's index, 0 to 1"):
            EM(Z, params).reseed(component)
    with pytest.raises(ValueError, match="record must be one of 'none', 'params', 'resp'"):
        EM(Z, params, record="bogus")
    for settings in ({"max_iter": -5}, {"max_iter": 2.5}, {"history_limit": -1}):
        with pytest.raises(ValueError, match="must be a whole number of at least 0"):
            EM(Z, params, **settings)
    EM(Z, params, max_iter=0, history_limit=0).run()  # the edges are allowed


@pytest.mark.parametrize(
    ("covariance", "words"),
    [
        ([[1.0, 2.0], [2.0, 1.0]], "positive definite"),
        (np.zeros((2, 2)), "positive definite"),
        ([[1.0, 0.5], [0.0, 1.0]], "symmetric"),
    ],
)
def test_a_gauss_needs_a_covariance(covariance, words):
    with pytest.raises(ValueError, match=words):
        Gauss([0.0, 0.0], covariance)


def test_notes_say_when_weights_make_bic_reward_parameters_and_count_columns_from_0():
    notes = select_model(Z, 2, ["EII"], sample_weight=np.full(30, 1e-3)).notes
    assert any("The weights sum to 0.03, less than the 30 rows" in note for note in notes)
    assert "rewards them" in " ".join(notes)
    assert select_model(Z, 2, ["EII"], sample_weight=np.full(30, 2.0)).notes == ()
    notes = select_model(np.c_[Z, np.ones(30)], 2, ["EII"]).notes
    assert any(note.startswith("Column(s) 2 of X (counted from 0) are constant") for note in notes)


def test_a_column_of_rounding_residues_is_constant_not_the_datas_scale():
    """Residues of a computation that should give 0 (13 values near 1e-14 around 0) have a
    variance of 1e-29: measured against their own mean (about 0) they passed for spread, the
    floor shrank to nothing and EEI,9 was chosen on spikes at the 13 values."""
    rng = np.random.default_rng(0)
    blobs = np.vstack([rng.normal(centre, 1.0, (80, 2)) for centre in rng.normal(0, 4, (3, 2))])
    residues = np.array([0.1 * k * 3 - 0.3 * k for k in range(240)])
    assert 0 < residues.var() < 1e-26
    X = np.c_[1e3 * blobs, residues]
    assert data_scale(X) == pytest.approx(data_scale(X[:, :2]))
    selection = select_model(X, range(1, 4), ["EEI", "VVI", "VVV"])
    assert any(
        note.startswith("Column(s) 2 of X (counted from 0) are constant")
        for note in selection.notes
    )
    assert (selection.table["status"] != "ok").all()  # singular along the constant column


def _light_in_hz_and_reflectance() -> np.ndarray:
    rng = np.random.default_rng(0)
    wavelength = np.r_[rng.normal(450e-9, 10e-9, 100), rng.normal(650e-9, 15e-9, 100)]
    reflectance = np.r_[rng.normal(0.30, 0.05, 100), rng.normal(0.60, 0.05, 100)]
    return np.c_[3e8 / wavelength, reflectance]


def test_a_column_in_small_units_next_to_one_in_huge_units_is_not_constant():
    """Light's frequency in Hz (5e14) next to a reflectance (0.5, variance 0.02): measured
    against the largest magnitude the reflectance's spread passed for rounding noise, so
    select_model lost 36 of 42 cells to a "constant" column (EII,3 chosen, 12,900 BIC units
    worse than mclust's VVI,2) and the floor gave it a variance of 1e22 (a fresh user's)."""
    X = _light_in_hz_and_reflectance()
    assert not constant_columns(*weighted_moments(X)).any()
    assert data_scale(X) == pytest.approx(X[:, 1].var())
    fitted = GaussianMixture(2, covariance_type="diag", regularization="floor").fit(X)
    assert (fitted.covariances_[:, 1] < 0.01).all()  # was 1.05e22 each
    selection = select_model(X, range(1, 4), ["EEI", "VVI", "VVV"])
    assert not any("constant" in note for note in selection.notes)
    assert (selection.table["status"] == "ok").all()
    assert selection.best.value < 12_330  # mclust: VVI,2 at 12,317.67 in emcore's sign


def test_an_elimination_that_overflows_in_the_agglomeration_warns_nothing():
    """Unstandardised wine (proline ~1e3 next to hue ~1): a merge that is singular up to
    rounding overflowed in hc's elimination, which printed warnings and meant -inf anyway."""
    from sklearn.datasets import load_wine

    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        selection = select_model(load_wine().data, [3], ["VVV"])
    assert selection.best is not None


def test_a_component_empty_from_the_start_is_said_at_iteration_0():
    """A start can hold a component of weight 0 (k-means with more clusters than distinct
    points): it was never said, since it had not *become* empty."""
    X = np.repeat(np.array([[0.0, 0.0], [1.0, 1.0], [2.0, 0.0]]), 20, axis=0)
    params = GaussianMixture(3, random_state=0).fit(X).params_
    start = params.replace(weights=np.array([0.5, 0.5, 0.0]))
    run = EM(X, start, reg_covar=1e-6)
    emptied = [event for event in run.events if event.kind == "emptied"]
    assert [(event.iteration, event.component) for event in emptied] == [(0, 2)]
    assert "has no points from the start" in emptied[0].message
    run.run()
    assert [event.component for event in run.events if event.kind == "emptied"] == [2]


def _dated_frames():
    import pandas as pd

    numbers = pd.DataFrame(Z, columns=["a", "b"])
    return {
        "datetime column": numbers.assign(when=pd.Timestamp("2020-01-01")),
        "timezone-aware": numbers.assign(when=pd.Timestamp("2020-01-01", tz="Europe/Paris")),
        "timedelta column": numbers.assign(took=pd.Timedelta("1D")),
        "datetime array": np.array([["2020-01-01", "2020-01-02"]] * 30, dtype="M8[D]"),
    }


@pytest.mark.parametrize("kind", list(_dated_frames()))
@pytest.mark.parametrize(
    "entry",
    [
        lambda X: select_model(X, n_components=[1, 2], covariance_types="VVV"),
        lambda X: GaussianMixture(2, random_state=0).fit(X),
        lambda X: Mixture.from_params(initial_params(Z, 2, random_state=0)).fit(X),
        lambda X: EM(X, initial_params(Z, 2, random_state=0)),
        lambda X: GaussianMixture(1).fit(Z).predict(X),
    ],
    ids=["select_model", "GaussianMixture.fit", "Mixture.fit", "EM", "predict"],
)
def test_date_and_time_columns_are_one_sentence_everywhere(kind, entry):
    """A date column used to be fitted as nanoseconds since 1970 (about 1.6e18) by
    select_model, or to raise NumPy's DTypePromotionError from scikit-learn's check."""
    with pytest.raises(ValueError, match="date, time or duration values"):
        entry(_dated_frames()[kind])


def _odd_inputs():
    import datetime

    import pandas as pd

    frame = pd.DataFrame(Z, columns=["a", "b"])
    days = [datetime.date(2020, 1, 1) + datetime.timedelta(days=i) for i in range(30)]
    return {
        "period column": (frame.assign(b=pd.period_range("2020-01", periods=30, freq="D")), "date"),
        "date objects": (frame.assign(b=days), "date"),
        "datetime64 in a list": (
            [[float(v), np.datetime64("2020-01-01")] for v in Z[:, 0]],
            "date",
        ),
        "timedelta64 in a list": ([[float(v), np.timedelta64(3, "D")] for v in Z[:, 0]], "date"),
        "interval column": (
            frame.assign(b=pd.interval_range(0, 30, periods=30).to_numpy()),
            "intervals",
        ),
        "structured array": (
            np.array([tuple(row) for row in Z], dtype=[("a", "f8"), ("b", "f8")]),
            "structured array",
        ),
        "complex column": (frame.assign(b=Z[:, 1] + 1j), "Complex data not supported"),
    }


@pytest.mark.parametrize("kind", list(_odd_inputs()))
@pytest.mark.parametrize(
    "entry",
    [
        lambda X: select_model(X, n_components=[1, 2], covariance_types="VVV"),
        lambda X: GaussianMixture(2, random_state=0).fit(X),
        lambda X: EM(X, initial_params(Z, 2, random_state=0)),
    ],
    ids=["select_model", "GaussianMixture.fit", "EM"],
)
def test_odd_values_are_a_sentence_everywhere(kind, entry):
    """A fresh user's dtypes: periods, date objects and intervals gave float()'s TypeError
    in GaussianMixture; dates in lists were fitted as days since 1970; a complex column lost
    its imaginary part silently in EM; a structured array gave NumPy's cast error."""
    X, words = _odd_inputs()[kind]
    with pytest.raises(ValueError, match=words):
        entry(X)


def test_a_masked_arrays_masked_cells_are_missing_values():
    # The mask used to be ignored: a masked cell's hidden value (here 1e6) was fitted.
    data = np.ma.masked_array(Z.copy(), mask=np.zeros_like(Z, dtype=bool))
    data[0, 0] = 1e6
    data[0, 0] = np.ma.masked
    with pytest.raises(ValueError, match='missing="em"'):
        GaussianMixture(2, random_state=0).fit(data)
    fitted = GaussianMixture(2, random_state=0, missing="em").fit(data)
    assert np.abs(fitted.means_).max() < 10
    with pytest.raises(ValueError, match='missing="em"'):
        select_model(data, n_components=[1])
