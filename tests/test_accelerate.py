"""The accelerator (``glassnet[fast]``: numba) against the NumPy reference path, optimizer by
optimizer: float64 to rtol 1e-12 per step, float32 trajectories over 200 steps to 1e-5;
and its switches (``GLASSNET_ACCELERATE``, the size threshold, importing compiles nothing)."""

import copy
import subprocess
import sys

import numpy as np
import pytest

from glassnet import accelerate
from glassnet.optim import SGD, Adagrad, Adam, AdamW, RMSprop, ScikitLearnAdam

pytestmark = pytest.mark.skipif(not accelerate.available(),
                                reason="numba is not installed (pip install 'glassnet[fast]'):"
                                       " the accelerator is untested")

OPTIMIZERS = {
    "sgd": lambda: SGD(lr=0.05),
    "sgd-wd": lambda: SGD(lr=0.05, weight_decay=0.01),
    "sgd-momentum": lambda: SGD(lr=0.05, momentum=0.9, dampening=0.1),
    "sgd-nesterov": lambda: SGD(lr=0.05, momentum=0.9, nesterov=True, weight_decay=1e-3),
    "sgd-clip": lambda: SGD(lr=0.05, momentum=0.5, clip_norm=1.0, clip_value=0.01),
    "adam": lambda: Adam(lr=1e-3),
    "adam-wd-amsgrad": lambda: Adam(lr=1e-3, weight_decay=0.01, amsgrad=True),
    "adamw": lambda: AdamW(lr=1e-3, weight_decay=0.1),
    "adamw-amsgrad": lambda: AdamW(lr=1e-3, amsgrad=True, betas=(0.8, 0.99)),
    "sklearn-adam": lambda: ScikitLearnAdam(lr=1e-3),
    "rmsprop": lambda: RMSprop(lr=1e-3),
    "rmsprop-centered-momentum": lambda: RMSprop(lr=1e-3, momentum=0.9, centered=True,
                                                 weight_decay=1e-3),
    "rmsprop-momentum": lambda: RMSprop(lr=1e-3, momentum=0.5),
    "adagrad": lambda: Adagrad(lr=0.01, lr_decay=0.01, weight_decay=1e-3),
}


def trajectories(make, dtype, steps, monkeypatch, seed=0, shapes=((300, 130), (130,))):
    """The parameters after ``steps`` steps on the same gradients: (NumPy path, kernels)."""
    rng = np.random.default_rng(seed)
    params = [rng.standard_normal(s).astype(dtype) for s in shapes]
    grads = [[rng.standard_normal(s).astype(dtype) for s in shapes] for _ in range(steps)]
    out = []
    for setting in ("0", "always"):
        with accelerate.mode(setting):
            optimizer, ps = make(), [p.copy() for p in params]
            for gs in grads:
                optimizer.step(ps, [g.copy() for g in gs])  # clipping changes the gradients
        out.append((ps, optimizer.state_dict()))
    return out


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_float64_agrees_step_by_step(name, monkeypatch):
    for steps in (1, 2, 5):
        (ref, ref_state), (fast, fast_state) = trajectories(OPTIMIZERS[name], np.float64,
                                                            steps, monkeypatch)
        # rtol 1e-12 of each entry, or of the array's largest entry for the entries that a
        # subtraction made small (a centred average: its rounding is the operands')
        for a, b in zip(ref, fast):
            np.testing.assert_allclose(b, a, rtol=1e-12, atol=1e-12 * np.max(np.abs(a)))
        assert ref_state.keys() == fast_state.keys()
        for key in ref_state:
            a = np.asarray(ref_state[key], dtype=float)
            np.testing.assert_allclose(fast_state[key], a, rtol=1e-12,
                                       atol=1e-12 * np.max(np.abs(a)), err_msg=key)


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_float32_trajectories_agree_over_200_steps(name, monkeypatch):
    (ref, _), (fast, _) = trajectories(OPTIMIZERS[name], np.float32, 200, monkeypatch,
                                       shapes=((64, 32), (32,)))
    for a, b in zip(ref, fast):  # 1e-5 of each entry, or of the largest (float32's
        assert b.dtype == np.float32  # roundings walk randomly under random gradients)
        np.testing.assert_allclose(b, a, rtol=1e-5, atol=1e-5 * np.max(np.abs(a)))


def test_the_kernels_really_run(monkeypatch):
    """With GLASSNET_ACCELERATE=always the update goes through glassnet._kernels (a kernel
    replaced by a recorder sees the call), and with 0 it does not."""
    calls = []
    module = accelerate._module()
    monkeypatch.setattr(module, "adam", lambda *args: calls.append(len(args[0])))
    p, g = np.zeros(10), np.ones(10)
    with accelerate.mode("always"):
        Adam().step([p], [g])
    assert calls == [10]
    with accelerate.mode("0"):
        Adam().step([p], [g])
    assert calls == [10] and not np.array_equal(p, np.zeros(10))


@accelerate.mode("1")
def test_small_arrays_and_odd_layouts_keep_numpys_path():
    small = np.zeros(accelerate.MIN_SIZE - 1)
    assert accelerate.kernels(small) is None
    big = np.zeros(accelerate.MIN_SIZE)
    assert accelerate.kernels(big) is accelerate._module()
    assert accelerate.kernels(np.zeros((2, accelerate.MIN_SIZE))[:, ::2]) is None  # strided
    assert accelerate.kernels(big.astype(np.float16)) is None
    assert accelerate.kernels(big, big.astype(np.float32)) is None  # two dtypes


@pytest.mark.parametrize("setting, small, large", [("0", False, False), ("1", False, True),
                                                   ("always", True, True)])
def test_the_environment_variable_sets_the_mode(setting, small, large):
    """GLASSNET_ACCELERATE, read when glassnet is imported, in a fresh process."""
    code = ("import numpy as np; from glassnet import accelerate as a; "
            "print(a.kernels(np.zeros(8)) is not None, "
            "a.kernels(np.zeros(a.MIN_SIZE)) is not None)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120, check=True,
                         env={**__import__("os").environ, "GLASSNET_ACCELERATE": setting})
    assert out.stdout.split() == [str(small), str(large)]


def test_mode_refuses_an_unknown_setting():
    with pytest.raises(ValueError, match="setting must be one of"):
        with accelerate.mode("yes"):
            pass


def test_importing_glassnet_compiles_and_imports_nothing_of_numba():
    code = ("import sys, glassnet, glassnet.optim; "
            "print('numba' in sys.modules, 'glassnet._kernels' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120, check=True).stdout
    assert out.split() == ["False", "False"]


def test_a_fit_with_the_accelerator_equals_numpys(monkeypatch):
    """glassnet.fit end to end, float64, Adam and SGD with momentum: the same weights."""
    import glassnet
    rng = np.random.default_rng(1)
    X, y = rng.standard_normal((256, 20)), rng.integers(0, 4, 256)
    for optimizer in (Adam(lr=1e-2), SGD(lr=0.05, momentum=0.9)):
        weights = []
        for setting in ("0", "always"):
            with accelerate.mode(setting):
                model = glassnet.MLP([20, 32, 4], dtype="float64", seed=3)
                glassnet.fit(model, X, y, optimizer=copy.deepcopy(optimizer), epochs=3,
                             batch_size=32, seed=0)
            weights.append(model.flat_params.copy())
        np.testing.assert_allclose(weights[1], weights[0], rtol=1e-10, atol=1e-12)
