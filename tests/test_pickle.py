"""Pickles of models and optimizers carry glassnet's version and warn when another one loads
them, as scikit-learn's estimators do."""

import copy
import pickle
import warnings

import numpy as np
import pytest

import glassnet
from glassnet import _version
from glassnet._version import InconsistentVersionWarning
from glassnet.optim import OPTIMIZERS


def trained_model_and_optimizer(name="adam"):
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((32, 3)), rng.integers(0, 2, 32)
    model = glassnet.MLP([3, 5, 2], dtype="float64", seed=0)
    opt = OPTIMIZERS[name]()
    glassnet.fit(model, X, y, optimizer=opt, epochs=2, batch_size=8, shuffle=False)
    return model, opt, X, y


def no_warning_loads(data):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return pickle.loads(data)


def test_the_version_is_glassnets():
    assert _version.VERSION == glassnet.__version__


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_an_optimizer_round_trip_is_silent_and_goes_on_identically(name):
    model, opt, X, y = trained_model_and_optimizer(name)
    twin_model, twin_opt = no_warning_loads(pickle.dumps((model, opt)))
    assert "_glassnet_version" not in vars(twin_opt) and twin_opt._scratch == {}
    assert "_scratch" not in opt.__getstate__()  # work arrays are not pickled
    for m, o in ((model, opt), (twin_model, twin_opt)):
        glassnet.fit(m, X, y, optimizer=o, epochs=1, batch_size=8, shuffle=False)
    assert twin_opt.t == opt.t
    np.testing.assert_array_equal(twin_model.flat_params, model.flat_params)


def test_a_model_round_trip_is_silent_and_so_are_copies():
    model, _, X, _ = trained_model_and_optimizer()
    twin = no_warning_loads(pickle.dumps(model))
    assert "_glassnet_version" not in vars(twin)
    np.testing.assert_array_equal(twin.predict(X), model.predict(X))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for clone in (copy.deepcopy(model), model.copy(), copy.copy(model)):
            np.testing.assert_array_equal(clone.predict(X), model.predict(X))


@pytest.mark.parametrize("which", ["model", "optimizer"])
def test_a_pickle_of_another_version_warns_naming_both(which, monkeypatch):
    model, opt, _, _ = trained_model_and_optimizer()
    obj = model if which == "model" else opt
    monkeypatch.setattr(_version, "VERSION", "0.0.9")  # as if pickled by glassnet 0.0.9
    data = pickle.dumps(obj)
    monkeypatch.undo()
    what = type(obj).__name__
    with pytest.warns(InconsistentVersionWarning,
                      match=rf"^{what} was pickled with glassnet 0\.0\.9; this is glassnet "
                            rf"{glassnet.__version__}: it may not load correctly$") as record:
        loaded = pickle.loads(data)
    (warning,) = record
    assert issubclass(warning.category, UserWarning)
    assert (warning.message.what, warning.message.original_version,
            warning.message.current_version) == (what, "0.0.9", glassnet.__version__)
    assert warning.filename == __file__  # it points at the pickle.loads call
    assert "_glassnet_version" not in vars(loaded)  # and it is still loaded


@pytest.mark.parametrize("which", ["model", "optimizer"])
def test_a_state_without_a_version_warns(which):
    """A state pickled by something that wrote no version (another library, an older copy)."""
    model, opt, _, _ = trained_model_and_optimizer()
    obj = model if which == "model" else opt
    state = obj.__getstate__()
    del state["_glassnet_version"]
    blank = type(obj).__new__(type(obj))
    with pytest.warns(InconsistentVersionWarning,
                      match=rf"pickled with no glassnet version; this is glassnet "
                            rf"{glassnet.__version__}"):
        blank.__setstate__(state)
    assert "_glassnet_version" not in vars(blank)
    assert blank.state_dict().keys() == obj.state_dict().keys()  # loaded all the same


@pytest.mark.parametrize("name", ["MLPClassifier", "MLPRegressor"])
def test_a_pickled_estimator_carries_glassnets_version(name):
    """As scikit-learn's own version: a round trip is silent and predicts the same; a pickle
    from another glassnet warns, naming both versions."""
    pytest.importorskip("sklearn", reason="scikit-learn is not installed: no estimators")
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((30, 3)), np.arange(30) % 2
    est = getattr(glassnet, name)(hidden_layer_sizes=(4,), max_iter=3, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # not converged in 3 iterations: not under test
        est.fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        same = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(same.predict(X), est.predict(X))
    state = est.__getstate__()
    assert state["_glassnet_version"] == glassnet.__version__
    state["_glassnet_version"] = "0.0.9"
    with pytest.warns(glassnet.InconsistentVersionWarning, match="pickled with glassnet 0.0.9"):
        type(est).__new__(type(est)).__setstate__(state)
