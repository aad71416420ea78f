"""The scikit-learn compatible façade: compatibility, equality with sklearn, reference fits."""

import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_iris, make_blobs
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import GaussianMixture as SklearnMixture
from sklearn.utils.estimator_checks import parametrize_with_checks

from emcore import COVARIANCE_TYPES, GaussianMixture, covariance_model

FAITHFUL = Path(__file__).resolve().parents[1] / "emcore" / "_datasets" / "faithful.csv"
if not FAITHFUL.exists():
    FAITHFUL = Path(__file__).resolve().parents[2] / "shared" / "data" / "faithful.csv"


@parametrize_with_checks([GaussianMixture(n_components=2, random_state=0)])
def test_scikit_learn_estimator_checks(estimator, check):
    check(estimator)


def shared_start(X, k, covariance_type, seed=0):
    rng = np.random.default_rng(seed)
    d = X.shape[1]
    model = covariance_model(covariance_type)
    covariances = model.from_full(np.broadcast_to(np.cov(X.T) / k, (k, d, d)), np.ones(k))
    return {
        "weights_init": np.full(k, 1 / k),
        "means_init": X[rng.choice(len(X), k, replace=False)],
        "precisions_init": model.inverse(covariances),
    }


def relative_error(ours, theirs):
    ours, theirs = np.asarray(ours), np.asarray(theirs)
    return np.max(np.abs(ours - theirs)) / np.max(np.abs(theirs))


BLOBS, _ = make_blobs(600, centers=3, n_features=3, cluster_std=[1.0, 2.0, 0.5], random_state=1)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_same_start_same_fit_as_scikit_learn(covariance_type):
    settings = dict(
        n_components=3,
        covariance_type=covariance_type,
        tol=0.0,
        max_iter=40,
        **shared_start(BLOBS, 3, covariance_type),
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        theirs = SklearnMixture(**settings).fit(BLOBS)
        ours = GaussianMixture(**settings).fit(BLOBS)
    assert ours.n_iter_ == theirs.n_iter_ == 40
    for name in ("weights_", "means_", "covariances_", "precisions_cholesky_"):
        assert relative_error(getattr(ours, name), getattr(theirs, name)) < 1e-6, name
    assert ours.score(BLOBS) == pytest.approx(theirs.score(BLOBS), rel=1e-6)
    np.testing.assert_allclose(ours.predict_proba(BLOBS), theirs.predict_proba(BLOBS), atol=1e-6)
    assert ours.bic(BLOBS) == pytest.approx(theirs.bic(BLOBS), rel=1e-6)
    assert ours.aic(BLOBS) == pytest.approx(theirs.aic(BLOBS), rel=1e-6)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_converged_fits_agree_with_scikit_learn(covariance_type):
    # Both stop on a tiny tol; scikit-learn takes one more M-step after the change falls
    # below tol, emcore stops at the parameters whose change it measured.
    settings = dict(
        n_components=3,
        covariance_type=covariance_type,
        tol=1e-12,
        max_iter=2000,
        **shared_start(BLOBS, 3, covariance_type, seed=5),
    )
    theirs = SklearnMixture(**settings).fit(BLOBS)
    ours = GaussianMixture(**settings).fit(BLOBS)
    assert ours.converged_ and theirs.converged_
    assert ours.score(BLOBS) == pytest.approx(theirs.score(BLOBS), rel=1e-9)
    assert relative_error(ours.means_, theirs.means_) < 1e-6
    assert relative_error(ours.covariances_, theirs.covariances_) < 1e-5


IRIS = load_iris().data
OLD_FAITHFUL = pd.read_csv(FAITHFUL)[["eruptions", "waiting"]].to_numpy(float)

# (data, covariance type, K, mclust 6.0 total log-likelihood, mclust df) from shared/NOTES.md
MCLUST_FITS = [
    ("iris", "full", 3, -180.1858, 44),
    ("iris", "full", 2, -214.3547, 29),
    ("iris", "tied", 3, -256.3547, 24),
    ("iris", "diag", 3, -307.1808, 26),
    ("iris", "spherical", 3, -384.3168, 17),
    ("faithful", "tied", 3, -1126.326, 11),
    ("faithful", "full", 3, -1127.1988, 17),
    ("faithful", "full", 2, -1130.2641, 11),
]


@pytest.mark.parametrize(("data", "covariance_type", "k", "mclust_loglik", "df"), MCLUST_FITS)
def test_multi_start_reaches_mclust(data, covariance_type, k, mclust_loglik, df):
    X = IRIS if data == "iris" else OLD_FAITHFUL
    model = GaussianMixture(
        k, covariance_type=covariance_type, n_init=20, tol=1e-8, max_iter=3000, random_state=0
    ).fit(X)
    total = model.score(X) * len(X)
    # mclust prints four decimals: allow the last one.
    assert total >= mclust_loglik - 1e-4
    assert model.params_.n_parameters() == df
    assert model.bic(X) == pytest.approx(-2 * total + df * np.log(len(X)))


def test_sample_draws_from_the_fitted_mixture():
    model = GaussianMixture(3, random_state=0).fit(BLOBS)
    samples, labels = model.sample(3000)
    assert samples.shape == (3000, 3)
    np.testing.assert_allclose(np.bincount(labels) / 3000, model.weights_, atol=0.05)
    with pytest.raises(ValueError, match="at least one sample"):
        model.sample(0)


def test_fit_predict_equals_fit_then_predict():
    model = GaussianMixture(3, random_state=3)
    labels = model.fit_predict(BLOBS)
    np.testing.assert_array_equal(labels, model.predict(BLOBS))


@pytest.mark.parametrize("method", ["kmeans", "k-means++", "random", "random_from_data"])
def test_every_initialisation_fits(method):
    model = GaussianMixture(3, init_params=method, n_init=3, random_state=0).fit(BLOBS)
    assert np.isfinite(model.score(BLOBS))


@pytest.mark.parametrize(
    ("X", "settings", "message"),
    [
        ([[1.0, np.nan], [2.0, 3.0]], {}, "NaN"),
        ([[1.0, np.inf], [2.0, 3.0]], {}, "infinity"),
        (np.ones((3, 2)), {"n_components": 5}, "n_samples >= n_components"),
        (np.ones(5), {}, "2D array"),
        ([["a", "b"], ["c", "d"]], {}, "[Ss]tring|convert"),
        (np.ones((5, 2)), {"covariance_type": "weird"}, "covariance type"),
        (np.ones((5, 2)), {"init_params": "magic"}, "init_params"),
        (np.ones((5, 2)), {"n_components": 0}, "n_components"),
        (np.ones((5, 2)), {"max_iter": -1}, "max_iter"),
        (np.ones((5, 2)), {"max_iter": 2.5}, "max_iter"),
        (np.ones((5, 2)), {"n_init": 0}, "n_init"),
        (np.ones((5, 2)), {"verbose_interval": 0}, "verbose_interval"),
        (np.ones((5, 2)), {"tol": -1.0}, "tol"),
    ],
)
def test_bad_input_is_a_value_error_with_a_reason(X, settings, message):
    with pytest.raises(ValueError, match=message):
        GaussianMixture(**settings).fit(X)


def test_wrong_width_at_predict_time():
    model = GaussianMixture(2, random_state=0).fit(BLOBS)
    with pytest.raises(ValueError, match="features"):
        model.predict(np.ones((4, 2)))


def test_to_mixture_gives_the_friendly_object_model():
    model = GaussianMixture(3, covariance_type="diag", random_state=0).fit(BLOBS)
    mixture = model.to_mixture()
    assert len(mixture) == 3
    np.testing.assert_allclose(mixture.log_likelihood(BLOBS), model.score(BLOBS) * len(BLOBS))


# -- fault 1: an empty component in a tied fit ------------------------------------------------

GROUPS = np.vstack(
    [np.random.default_rng(0).normal(0, 1, (10, 2)), np.random.default_rng(1).normal(6, 1, (10, 2))]
)
FAR_START = {
    "weights_init": np.full(3, 1 / 3),
    "means_init": np.array([[0.0, 0.0], [6.0, 6.0], [1000.0, 1000.0]]),
    "precisions_init": np.eye(2),
}


@pytest.mark.parametrize("max_iter", [1, 50])
def test_tied_fit_with_an_empty_component_matches_scikit_learn(max_iter):
    settings = dict(n_components=3, covariance_type="tied", tol=0.0, max_iter=max_iter)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        theirs = SklearnMixture(**settings, **FAR_START).fit(GROUPS)
        ours = GaussianMixture(**settings, **FAR_START).fit(GROUPS)
    assert ours.weights_[2] == 0.0
    # Used to be 20/21 of scikit-learn's: the empty component's stand-in count of 1 was
    # added to n.
    assert relative_error(ours.covariances_, theirs.covariances_) < 1e-6
    assert relative_error(ours.means_[:2], theirs.means_[:2]) < 1e-6
    assert ours.score(GROUPS) == pytest.approx(theirs.score(GROUPS), rel=1e-6)


# -- fault 2: a singular fit is refused, and the run's events are kept --------------------------

REPEATED = np.concatenate([np.random.default_rng(0).normal(size=100), np.full(10, 5.0)])[:, None]


@pytest.mark.parametrize("covariance_type", ["full", "diag", "spherical"])
@pytest.mark.parametrize("init_params", ["kmeans", "random_from_data"])
def test_a_fit_collapsing_onto_repeated_values_without_reg_covar_is_refused(
    covariance_type, init_params
):
    # A component on the 10 copies of 5.0 has variance 0: the likelihood has no maximum there.
    # It used to come back with a zero variance and score_samples(5.0) = +342, set by an
    # internal 1e-300 floor.
    model = GaussianMixture(
        2, covariance_type=covariance_type, reg_covar=0.0, init_params=init_params, random_state=0
    )
    with pytest.raises(ValueError, match=r"[Cc]omponent [12] .*singular.*positive reg_covar"):
        model.fit(REPEATED)


def test_the_same_data_with_reg_covar_fit_and_report_the_collapse():
    model = GaussianMixture(2, random_state=0).fit(REPEATED)
    kinds = [(event.kind, event.component) for event in model.events_]
    assert ("collapsed", int(np.argmin(model.covariances_.ravel()))) in kinds
    assert np.isfinite(model.score(REPEATED))


def test_events_of_an_ordinary_fit():
    model = GaussianMixture(3, random_state=0).fit(BLOBS)
    assert [event.kind for event in model.events_] == ["converged"]
    assert model.events_[0].iteration == model.n_iter_


# -- fault 4: warm_start, verbose, verbose_interval, max_iter=0 ----------------------------------


def fit_quietly(model, X):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return model.fit(X)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_warm_start_continues_the_last_fit_as_scikit_learn_does(covariance_type):
    settings = dict(
        n_components=3,
        covariance_type=covariance_type,
        tol=0.0,
        max_iter=5,
        warm_start=True,
        **shared_start(BLOBS, 3, covariance_type),
    )
    ours, theirs = GaussianMixture(**settings), SklearnMixture(**settings)
    for _ in range(2):
        fit_quietly(ours, BLOBS), fit_quietly(theirs, BLOBS)
        for name in ("weights_", "means_", "covariances_", "precisions_cholesky_"):
            assert relative_error(getattr(ours, name), getattr(theirs, name)) < 1e-6, name
    assert ours.n_iter_ == theirs.n_iter_ == 5
    # Five and five more iterations are ten from the same start.
    cold = fit_quietly(GaussianMixture(**{**settings, "max_iter": 10, "warm_start": False}), BLOBS)
    np.testing.assert_allclose(ours.means_, cold.means_, rtol=1e-12)
    np.testing.assert_allclose(ours.covariances_, cold.covariances_, rtol=1e-12)


def test_warm_start_ignores_n_init_after_the_first_fit(monkeypatch):
    model = GaussianMixture(3, n_init=4, warm_start=True, tol=1e-6, random_state=0).fit(BLOBS)
    first = model.means_.copy()

    def no_new_start(*args, **kwargs):
        raise AssertionError("a warm start must not make a new start")

    monkeypatch.setattr("emcore.sklearn_api.initial_params", no_new_start)
    model.fit(BLOBS)
    assert model.converged_ and model.n_iter_ <= 2
    np.testing.assert_allclose(model.means_, first, rtol=1e-4)


def test_warm_start_with_other_settings_is_refused():
    model = GaussianMixture(3, warm_start=True, random_state=0).fit(BLOBS)
    model.set_params(n_components=2)
    with pytest.raises(ValueError, match="warm_start"):
        model.fit(BLOBS)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_max_iter_zero_returns_the_start_without_a_warning(covariance_type):
    given = shared_start(BLOBS, 3, covariance_type)
    settings = dict(n_components=3, covariance_type=covariance_type, max_iter=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)  # scikit-learn does not warn either
        ours = GaussianMixture(**settings, **given).fit(BLOBS)
        # scikit-learn 1.9.1 raises AttributeError (no covariances_) for max_iter=0 with a
        # given precisions_init, so its side of the comparison uses its default start.
        theirs = SklearnMixture(**settings, random_state=0).fit(BLOBS)
    assert ours.n_iter_ == theirs.n_iter_ == 0
    assert not ours.converged_ and not theirs.converged_
    np.testing.assert_array_equal(ours.weights_, given["weights_init"])
    np.testing.assert_array_equal(ours.means_, given["means_init"])
    np.testing.assert_allclose(ours.precisions_, given["precisions_init"], rtol=1e-12)
    # emcore's lower bound is the start's log-likelihood (scikit-learn's is -inf: no E-step).
    assert ours.lower_bound_ == pytest.approx(ours.score(BLOBS), rel=1e-12)
    labels = GaussianMixture(**settings, **given).fit_predict(BLOBS)
    np.testing.assert_array_equal(labels, ours.predict(BLOBS))


def test_max_iter_zero_gives_the_default_start():
    from emcore import initial_params

    model = GaussianMixture(3, covariance_type="diag", max_iter=0, random_state=4).fit(BLOBS)
    start = initial_params(
        BLOBS, 3, "diag", random_state=np.random.RandomState(4), regularization="add"
    )
    np.testing.assert_array_equal(model.means_, start.means)
    np.testing.assert_array_equal(model.covariances_, start.covariances)


def test_max_iter_positive_still_warns_when_not_converged():
    with pytest.warns(ConvergenceWarning):
        GaussianMixture(3, max_iter=1, tol=0.0, random_state=0).fit(BLOBS)


def test_verbose_prints_what_scikit_learn_prints(capsys):
    settings = dict(
        n_components=3,
        tol=0.0,
        max_iter=7,
        n_init=2,
        verbose=1,
        verbose_interval=3,
        **shared_start(BLOBS, 3, "full"),
    )
    fit_quietly(SklearnMixture(**settings), BLOBS)
    theirs = capsys.readouterr().out
    fit_quietly(GaussianMixture(**settings), BLOBS)
    assert capsys.readouterr().out == theirs
    assert "  Iteration 6\n" in theirs and "Initialization did not converge." in theirs


def test_verbose_two_adds_times_and_changes(capsys):
    fit_quietly(GaussianMixture(3, max_iter=4, tol=0.0, verbose=2, verbose_interval=2), BLOBS)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "Initialization 0"
    pattern = r"  Iteration {}\t time lapse \d+\.\d{{5}}s\t ll change -?\d+\.\d{{5}}"
    assert re.fullmatch(pattern.format(2), lines[1]) and re.fullmatch(pattern.format(4), lines[2])
    assert re.fullmatch(
        r"Initialization did not converge\. time lapse \d+\.\d{5}s\t lower bound -?\d+\.\d{5}\.",
        lines[3],
    )


def test_verbose_does_not_change_the_fit(capsys):
    quiet = GaussianMixture(3, tol=1e-8, max_iter=500, random_state=1).fit(BLOBS)
    loud = GaussianMixture(3, tol=1e-8, max_iter=500, random_state=1, verbose=1, verbose_interval=1)
    loud.fit(BLOBS)
    assert loud.n_iter_ == quiet.n_iter_
    np.testing.assert_allclose(loud.means_, quiet.means_, rtol=1e-10)


# -- fault 3: the default start does not depend on the columns' units ------------------------

SEPARATED_GROUPS = np.repeat([0, 1], 200)
NARROW_AND_WIDE = np.column_stack(
    [
        np.where(SEPARATED_GROUPS == 1, 1.0, -1.0)
        + np.random.default_rng(0).normal(0, 0.3, 400),  # spread 1: the groups
        np.random.default_rng(1).normal(0, 50, 400),  # spread 50: noise
    ]
)


@pytest.mark.parametrize("covariance_type", ["full", "tied", "diag"])
def test_default_start_finds_groups_along_a_narrow_column(covariance_type):
    # In the data's units k-means splits the wide column, and EM stayed there in every seed
    # (adjusted Rand index 0); on standardised columns k-means finds the groups.
    from sklearn.metrics import adjusted_rand_score

    found = 0
    for seed in range(10):
        model = GaussianMixture(2, covariance_type=covariance_type, random_state=seed)
        labels = model.fit_predict(NARROW_AND_WIDE)
        found += adjusted_rand_score(SEPARATED_GROUPS, labels) > 0.9
    assert found >= 8


def test_a_refused_refit_leaves_the_last_fit_usable():
    # A warm start asked to continue in 3 columns a fit made in 2 was refused, but the
    # estimator then expected 3 columns, so the kept fit could no longer predict (a fresh
    # user's); with DataFrames its feature_names_in_ became the refused data's.
    import pandas as pd

    X, _ = make_blobs(n_samples=60, centers=3, random_state=0)
    frame = pd.DataFrame(X, columns=["a", "b"])
    model = GaussianMixture(3, warm_start=True, random_state=0).fit(frame)
    labels = model.predict(frame)
    wider = frame.assign(c=frame["a"])
    with pytest.raises(ValueError, match="warm_start=True continues the last fit"):
        model.fit(wider)
    assert model.n_features_in_ == 2
    assert list(model.feature_names_in_) == ["a", "b"]
    np.testing.assert_array_equal(model.predict(frame), labels)
    cold = GaussianMixture(3, reg_covar=0.0, random_state=0).fit(X)
    with pytest.raises(ValueError):
        cold.fit(np.c_[np.repeat(X[:1], 60, axis=0), X[:, :1]])  # singular: refused late
    assert cold.n_features_in_ == 2
