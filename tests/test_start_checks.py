"""Starting values are checked, covariances stay in their model, and NaN is never a fit.

- Every user-given start (weights_init, means_init, precisions_init, a Mixture's Gauss
  components or parameters, EM's params, a warm start) is refused with a sentence when it
  holds NaN or infinity; and no engine reports a run whose log-likelihood or parameters are
  not finite as converged: the run stops, and ``run`` raises a sentence.
- ``from_full`` gives every one of the 14 models covariances that satisfy it (equal volumes,
  shapes or orientations where its letters say E, identity shape for I), so a Mixture's
  given covariances, a re-seeded component and given precisions stay in the model.
- Arguments of ``run`` and ``reseed``, and names looked up in a table of choices, get a
  sentence, never a raw Python error.
"""

import numpy as np
import pytest
from sklearn.datasets import load_iris

from emcore import EM, Gauss, GaussianMixture, Mixture, MixtureParams
from emcore.covariance import MCLUST_MODELS, covariance_model
from emcore.init import initial_params
from emcore.lockstep import run_together

IRIS = load_iris().data
X2 = IRIS[:, :2]
RNG = np.random.default_rng(41)


# -- what "satisfies the model" means ---------------------------------------------------------


def _volumes_and_spectra(full: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    values = np.linalg.eigvalsh(full)  # ascending, (K, d)
    volumes = np.exp(np.log(values).mean(axis=1))
    return volumes, values / volumes[:, None]


def assert_satisfies(name: str, full: np.ndarray, rtol: float = 1e-6) -> None:
    """Full covariances (K, d, d) have the volumes, shapes and orientations model ``name``
    asks for: E letters equal across components, I the identity."""
    volume, shape, orientation = covariance_model(name).mclust_name
    volumes, shapes = _volumes_and_spectra(full)
    scale = np.abs(full).max()
    if volume == "E":
        np.testing.assert_allclose(volumes, volumes[0], rtol=rtol, err_msg=f"{name}: volumes")
    if shape == "I":
        np.testing.assert_allclose(shapes, 1.0, rtol=rtol, err_msg=f"{name}: shape not round")
    if shape == "E":
        np.testing.assert_allclose(
            shapes, np.broadcast_to(shapes[0], shapes.shape), rtol=rtol, err_msg=f"{name}: shapes"
        )
    if orientation == "I":
        off = full - np.einsum("kii->ki", full)[:, :, None] * np.eye(full.shape[-1])
        np.testing.assert_allclose(off, 0.0, atol=rtol * scale, err_msg=f"{name}: rotated")
    if orientation == "E":  # symmetric matrices share eigenvectors exactly when they commute
        products = np.einsum("kij,ljm->klim", full, full)
        np.testing.assert_allclose(
            products,
            products.transpose(1, 0, 2, 3),
            atol=rtol * scale**2,
            err_msg=f"{name}: orientations",
        )


def _rotation(d: int) -> np.ndarray:
    return np.linalg.qr(RNG.normal(size=(d, d)))[0]


def valid_full(name: str, k: int = 3, d: int = 3) -> np.ndarray:
    """Full covariances (k, d, d) drawn inside model ``name``, with distinct eigenvalues."""
    volume, shape, orientation = covariance_model(name).mclust_name

    def one_shape() -> np.ndarray:
        values = np.sort(RNG.uniform(0.3, 3.0, d)) * np.linspace(1.0, 2.0, d)
        return values / np.exp(np.log(values).mean())

    volumes = RNG.uniform(0.5, 3.0, k) if volume == "V" else np.full(k, RNG.uniform(0.5, 3.0))
    shared_shape, shared_rotation = one_shape(), _rotation(d)
    shapes = {
        "I": [np.ones(d)] * k,
        "E": [shared_shape] * k,
        "V": [one_shape() for _ in range(k)],
    }[shape]
    rotations = {
        "I": [np.eye(d)] * k,
        "E": [shared_rotation] * k,
        "V": [_rotation(d) for _ in range(k)],
    }[orientation]
    return np.array([v * (r * s) @ r.T for v, s, r in zip(volumes, shapes, rotations, strict=True)])


def random_spd(k: int = 3, d: int = 3) -> np.ndarray:
    a = RNG.normal(size=(k, d, d))
    return a @ a.transpose(0, 2, 1) + 0.5 * np.eye(d)


def as_full(name: str, stored: np.ndarray, k: int, d: int) -> np.ndarray:
    return covariance_model(name).to_full(stored, k, d)


def test_the_model_test_catches_what_it_should():
    # The helper itself: a stack inside VVV is outside EII, EEE, EVE.
    full = random_spd()
    assert_satisfies("VVV", full)
    for name in ("EII", "EEE", "EVE", "VEI"):
        with pytest.raises(AssertionError):
            assert_satisfies(name, full)


# -- fault 2: from_full stays in the model ----------------------------------------------------


@pytest.mark.parametrize("name", MCLUST_MODELS)
def test_from_full_gives_covariances_inside_the_model(name):
    model = covariance_model(name)
    stored = model.from_full(random_spd(), np.array([1.0, 3.0, 2.0]))
    assert stored.shape == model.shape(3, 3)
    assert_satisfies(name, as_full(name, stored, 3, 3))


@pytest.mark.parametrize("name", MCLUST_MODELS)
def test_from_full_keeps_covariances_already_inside_the_model(name):
    model = covariance_model(name)
    full = valid_full(name)
    stored = model.from_full(full, np.array([1.0, 3.0, 2.0]))
    np.testing.assert_allclose(as_full(name, stored, 3, 3), full, rtol=1e-7, atol=1e-9)
    # from_full(to_full(x)) == x for a valid x in the model's storage
    again = model.from_full(model.to_full(stored, 3, 3))
    np.testing.assert_allclose(again, stored, rtol=1e-7, atol=1e-9)


def test_from_full_is_the_weighted_maximum_likelihood_estimate():
    # EEI: one diagonal for all, the N_k-weighted mean of the diagonals.
    got = covariance_model("EEI").from_full(
        np.array([np.diag([1.0, 4.0]), np.diag([9.0, 1.0])]), np.array([1.0, 3.0])
    )
    np.testing.assert_allclose(got, [[7.0, 1.75], [7.0, 1.75]])
    got = covariance_model("EII").from_full(np.array([np.eye(2), 9 * np.eye(2)]))
    np.testing.assert_allclose(got, [5.0, 5.0])


@pytest.mark.parametrize("name", MCLUST_MODELS)
def test_a_mixture_fits_given_covariances_to_its_model(name):
    full = random_spd()
    weights = np.array([0.2, 0.5, 0.3])
    means = RNG.normal(size=(3, 3)) * 5
    mixture = Mixture(
        [Gauss(m, c, w) for m, c, w in zip(means, full, weights, strict=True)],
        covariance_type=name,
    )
    assert_satisfies(name, mixture.params.full_covariances)
    expected = covariance_model(name).from_full(full, weights)
    np.testing.assert_allclose(mixture.params.covariances, expected, rtol=1e-12)


def test_the_practitioners_eii_mixture_has_one_variance():
    mixture = Mixture(
        [Gauss([0, 0], np.eye(2), 0.5), Gauss([5, 5], 9 * np.eye(2), 0.5)],
        covariance_type="EII",
    )
    np.testing.assert_allclose(mixture.params.covariances, [5.0, 5.0])


@pytest.mark.parametrize("name", MCLUST_MODELS)
def test_a_reseeded_component_stays_in_the_model(name):
    start = initial_params(IRIS, 3, covariance_type=name, random_state=0)
    run = EM(IRIS, start, max_iter=5)
    run.run()
    run.reseed(0, rng=0)
    assert_satisfies(name, run.params.full_covariances)
    run.run(max_iter=2)
    assert_satisfies(name, run.params.full_covariances)


def test_the_practitioners_eii_reseed_keeps_one_variance():
    run = EM(X2, initial_params(X2, 3, covariance_type="EII", random_state=0))
    run.run()
    run.reseed(0)
    covariances = run.params.covariances
    np.testing.assert_allclose(covariances, covariances[0], rtol=1e-12)


@pytest.mark.parametrize("name", ["EII", "EEI", "VEI", "EVE", "VEV"])
def test_the_apps_reseed_keeps_the_model(name):
    # The app replays its re-seeds through EM.reseed (emapp.build.timeline).
    from emapp.build.timeline import ModelSettings, compute_timeline

    settings = ModelSettings(n_components=3, covariance_type=name, init="random", reseeds=((4, 0),))
    timeline = compute_timeline(X2, settings, max_iterations=10)
    assert any(e.kind == "reseeded" for s in timeline.states for e in s.events)
    for state in timeline.states:
        assert_satisfies(name, state.params.full_covariances)


# -- fault 3: given precisions are fitted to the model ----------------------------------------


def test_unequal_eii_precisions_become_one_variance():
    gm = GaussianMixture(
        2,
        covariance_type="EII",
        means_init=[[5, 3], [6.5, 3]],
        weights_init=[0.5, 0.5],
        precisions_init=[1.0, 5.0],
        max_iter=0,
    ).fit(X2)
    # Variances 1 and 0.2, weighted equally: one shared variance 0.6, as bic counts.
    np.testing.assert_allclose(gm.covariances_, [0.6, 0.6])
    np.testing.assert_allclose(gm.precisions_, 1 / 0.6)


@pytest.mark.parametrize("name", MCLUST_MODELS)
def test_given_precisions_in_the_models_storage_start_inside_the_model(name):
    model = covariance_model(name)
    k, d = 3, IRIS.shape[1]
    weights = np.array([0.2, 0.5, 0.3])
    means = IRIS[[0, 60, 120]]
    full = random_spd(k, d)
    stored = (
        np.linalg.inv(full.mean(axis=0))
        if model.name == "tied"
        else covariance_model({1: "VII", 2: "VVI", 3: "VVV"}[len(model.shape(k, d))]).from_full(
            np.linalg.inv(full)
        )
    )
    start = initial_params(
        IRIS, k, covariance_type=name, weights=weights, means=means, precisions=stored
    )
    assert_satisfies(name, start.full_covariances)
    # The same as Mixture does with the same covariances.
    given = model.to_full(model.inverse(stored), k, d)
    np.testing.assert_allclose(
        start.covariances, model.from_full(given, weights), rtol=1e-12, atol=1e-15
    )
    np.testing.assert_allclose(
        start.precisions, model.inverse(start.covariances), rtol=1e-9, atol=1e-12
    )


@pytest.mark.parametrize("name", MCLUST_MODELS)
def test_given_precisions_already_inside_the_model_are_kept(name):
    model = covariance_model(name)
    k, d = 3, 3
    X = RNG.normal(size=(50, d))
    stored = model.inverse(model.from_full(valid_full(name, k, d)))
    start = initial_params(
        X,
        k,
        covariance_type=name,
        weights=np.full(k, 1 / k),
        means=X[:k],
        precisions=stored,
    )
    np.testing.assert_allclose(start.precisions, stored, rtol=1e-7, atol=1e-9)


# -- fault 1: non-finite starts are refused; NaN is never "converged" --------------------------


@pytest.mark.parametrize("bad", [np.inf, np.nan, -np.inf])
@pytest.mark.parametrize("name", ["diag", "full", "tied", "spherical", "EII", "VEI", "EVE"])
def test_non_finite_precisions_init_is_refused(name, bad):
    model = covariance_model(name)
    precisions = model.inverse(model.from_full(np.broadcast_to(np.eye(2), (2, 2, 2))))
    precisions = np.array(precisions, dtype=float)
    precisions.flat[0] = bad
    gm = GaussianMixture(2, covariance_type=name, precisions_init=precisions, random_state=0)
    with pytest.raises(ValueError, match="precisions_init must be finite"):
        gm.fit(X2)


def test_the_practitioners_diag_precisions_are_refused():
    gm = GaussianMixture(
        2, covariance_type="diag", precisions_init=np.array([[np.inf, 1], [1, 1]]), random_state=0
    )
    with pytest.raises(ValueError, match="precisions_init must be finite"):
        gm.fit(X2)


@pytest.mark.parametrize("bad", [np.inf, np.nan])
def test_non_finite_weights_init_and_means_init_are_refused(bad):
    with pytest.raises(ValueError, match="weights_init must be finite"):
        GaussianMixture(2, weights_init=[bad, 0.5]).fit(X2)
    with pytest.raises(ValueError, match="means_init must be finite"):
        GaussianMixture(2, means_init=[[bad, 3.0], [6.0, 3.0]]).fit(X2)


def _params_with(field: str, value: float) -> MixtureParams:
    start = initial_params(X2, 2, covariance_type="full", random_state=0)
    arrays = {
        "weights": start.weights.copy(),
        "means": start.means.copy(),
        "covariances": start.covariances.copy(),
        "covariance_type": "full",
        "precisions_cholesky": start.precisions_cholesky.copy(),
    }
    arrays[field].flat[0] = value
    return MixtureParams(**arrays)


@pytest.mark.parametrize("field", ["weights", "means", "covariances", "precisions_cholesky"])
@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_em_refuses_non_finite_starting_parameters(field, bad):
    with pytest.raises(ValueError, match=f"starting parameters' {field} must be finite"):
        EM(X2, _params_with(field, bad))


@pytest.mark.parametrize("field", ["weights", "means", "covariances"])
def test_a_mixture_refuses_non_finite_parameters(field):
    with pytest.raises(ValueError, match=f"Mixture's parameters' {field} must be finite"):
        Mixture.from_params(_params_with(field, np.nan))
    mixture = Mixture.from_params(initial_params(X2, 2, random_state=0))
    before = mixture.params
    with pytest.raises(ValueError, match="must be finite"):
        mixture.params = _params_with(field, np.inf)
    assert mixture.params is before


def test_a_mixture_refuses_weights_whose_sum_overflows():
    with pytest.raises(ValueError, match="add up to more than"):
        Mixture([Gauss([0, 0], np.eye(2), 1e308), Gauss([5, 5], np.eye(2), 1e308)])


def test_a_warm_start_from_edited_non_finite_parameters_is_refused():
    gm = GaussianMixture(2, warm_start=True, random_state=0).fit(X2)
    gm.means_[0, 0] = np.nan
    with pytest.raises(ValueError, match="means must be finite"):
        gm.fit(X2)


def _overflowing_start() -> MixtureParams:
    """Finite parameters whose log-likelihood is not: variances of 1e-300 around means 1e5
    from every point make every squared distance overflow (log-densities -inf or NaN)."""
    means = np.array([[1e5, 1e5], [-1e5, -1e5]])
    return MixtureParams.from_covariances([0.5, 0.5], means, np.full(2, 1e-300), "spherical")


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # overflow on the way to NaN
@pytest.mark.parametrize("record", ["params", "none"])
def test_no_run_on_a_non_finite_log_likelihood_is_converged(record):
    run = EM(X2, _overflowing_start(), record=record)
    said = r"EM stopped at iteration 0: its log-likelihood is (-inf|nan)"
    with pytest.raises(ValueError, match=said):
        run.run()
    assert not run.converged and run.stopped
    assert run.events[-1].kind == "stopped"


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # overflow on the way to NaN
def test_stepping_into_a_non_finite_log_likelihood_raises():
    run = EM(X2, _overflowing_start())
    with pytest.raises(ValueError, match="no fit to report"):
        run.step()
    assert not run.converged


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # overflow on the way to NaN
@pytest.mark.parametrize("record", ["params", "none"])
def test_nan_parameters_reached_by_a_step_stop_the_run(record):
    # As if an M-step had produced NaN: the next E-step's log-likelihood is NaN, and the
    # old test (change >= tol is False for NaN) called that converged.
    run = EM(X2, initial_params(X2, 2, random_state=0), record=record, tol=1e-12)
    run.run(max_iter=2)
    run.params = _params_with("means", np.nan)
    run.stage = "M"
    with pytest.raises(ValueError, match="EM stopped at iteration 2: its log-likelihood is nan"):
        run.run(max_iter=3)
    assert not run.converged and run.iteration == 2
    for step in (run.run, run.step, run.e_step, run.m_step):  # and it stays stopped
        with pytest.raises(ValueError, match="no fit to report"):
            step()


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # overflow on the way to NaN
def test_lockstep_runs_on_a_non_finite_log_likelihood_end_unconverged():
    good = EM(X2, initial_params(X2, 2, random_state=0), record="none")
    bad = EM(X2, _overflowing_start(), record="none")
    run_together([good, bad])
    assert good.converged
    assert not bad.converged and bad.stopped
    assert "no fit to report" in bad.events[-1].message


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # overflow on the way to NaN
@pytest.mark.parametrize("name", ["spherical", "diag", "full", "tied", "EII"])
def test_gaussian_mixture_never_reports_nan_as_converged(name):
    # Finite but enormous precisions: before, an all-NaN fit with converged_=True.
    model = covariance_model(name)
    full = np.broadcast_to(np.eye(2) * 1e-300, (2, 2, 2))
    gm = GaussianMixture(
        2,
        covariance_type=name,
        means_init=[[1e5, 1e5], [-1e5, -1e5]],
        precisions_init=model.inverse(model.from_full(full)),
    )
    with pytest.raises(ValueError, match="no fit to report"):
        gm.fit(X2)
    assert not hasattr(gm, "converged_")


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # overflow on the way to NaN
def test_dask_runs_on_a_non_finite_log_likelihood_are_not_converged():
    da = pytest.importorskip("dask.array")
    from emcore.dask_engine import DaskEM

    run = DaskEM(da.from_array(X2, chunks=50), _overflowing_start(), record="none")
    try:
        run.run()
    except ValueError as error:  # once DaskEM.run raises the engine's sentence
        assert "no fit to report" in str(error)
    assert not run.converged and run.stopped


# -- fault 4: arguments get sentences ----------------------------------------------------------


@pytest.mark.parametrize("record", ["params", "none"])
@pytest.mark.parametrize("max_iter", [1.5, -3, True, "10", np.float64(2.0)])
def test_run_checks_max_iter_as_the_constructor_does(record, max_iter):
    run = EM(X2, initial_params(X2, 2, random_state=0), record=record, tol=1e-12)
    with pytest.raises(ValueError, match="max_iter must be a whole number of at least 0"):
        run.run(max_iter=max_iter)
    assert run.iteration == 0
    run.run(max_iter=np.int64(2))  # NumPy integers are whole numbers
    assert run.iteration == 2


def test_run_refuses_a_callback_that_cannot_be_called():
    run = EM(X2, initial_params(X2, 2, random_state=0))
    with pytest.raises(TypeError, match="callback must be a function"):
        run.run(callback=5)


@pytest.mark.parametrize("rng", ["seed", -1, 1.5, True, [1.5]])
def test_reseed_refuses_what_is_not_a_seed(rng):
    run = EM(X2, initial_params(X2, 2, random_state=0))
    run.run(max_iter=2)
    with pytest.raises(ValueError, match="rng must be a seed"):
        run.reseed(0, rng=rng)


@pytest.mark.parametrize("method", [["kmeans"], {"kmeans": 1}, None, 3])
def test_an_init_method_that_is_not_a_name_gets_a_sentence(method):
    with pytest.raises(ValueError, match="method must be one of 'random', "):
        initial_params(X2, 2, method=method)
    with pytest.raises(ValueError, match="init_params must be one of"):
        GaussianMixture(2, init_params=method).fit(X2)


def test_em_needs_mixture_params():
    with pytest.raises(TypeError, match="must be a MixtureParams"):
        EM(X2, {"weights": 1})
    with pytest.raises(TypeError, match="must be a MixtureParams"):
        Mixture.from_params({"weights": 1})


def test_em_refuses_parameters_whose_shapes_disagree():
    start = initial_params(X2, 2, random_state=0)
    bad = MixtureParams(
        start.weights[:1], start.means, start.covariances, "full", start.precisions_cholesky
    )
    with pytest.raises(ValueError, match=r"weights must have shape \(2,\)"):
        EM(X2, bad)


@pytest.mark.parametrize(
    ("name", "value"),
    [("record", np.array(["none", "params"])), ("regularization", np.array(["floor", "add"]))],
)
def test_choices_given_as_arrays_get_a_sentence(name, value):
    with pytest.raises(ValueError, match=f"{name} must be one of"):
        EM(X2, initial_params(X2, 2, random_state=0), **{name: value})
