"""Optimizers: one hand-worked step each, 50 steps against torch.optim, clipping, dtypes, state."""

import numpy as np
import pytest
from conftest import torch_or_skip

import glassnet
from glassnet.optim import (LBFGS, OPTIMIZERS, SGD, Adagrad, Adam, AdamW, RMSprop,
                            clip_grad_norm, clip_grad_value, get_optimizer)


def one_step(opt, p, g):
    p, g = np.array(p, dtype=np.float64), np.array(g, dtype=np.float64)
    opt.step([p], [g])
    return p


# -- one step by hand ------------------------------------------------------------------------
P, G = [1.0, -2.0], [0.5, 0.25]


def test_sgd_plain_step():
    # p - lr * g = [1 - 0.1*0.5, -2 - 0.1*0.25] = [0.95, -2.025]
    np.testing.assert_allclose(one_step(SGD(lr=0.1), P, G), [0.95, -2.025], rtol=1e-15)


def test_sgd_momentum_and_weight_decay_two_steps():
    opt, p = SGD(lr=0.1, momentum=0.9, weight_decay=0.1), np.array(P)
    # step 1: g' = g + 0.1 p = [0.6, 0.05]; b = g' ; p = p - 0.1 b = [0.94, -2.005]
    opt.step([p], [np.array(G)])
    np.testing.assert_allclose(p, [0.94, -2.005], rtol=1e-14)
    # step 2: g' = [0.5 + 0.094, 0.25 - 0.2005] = [0.594, 0.0495]
    #         b = 0.9 [0.6, 0.05] + g' = [1.134, 0.0945]; p = [0.94 - 0.1134, -2.005 - 0.00945]
    opt.step([p], [np.array(G)])
    np.testing.assert_allclose(p, [0.8266, -2.01445], rtol=1e-14)
    np.testing.assert_allclose(opt.state[0]["momentum_buffer"], [1.134, 0.0945], rtol=1e-14)


def test_sgd_nesterov_and_dampening_steps():
    # nesterov, step 1: b = g; g'' = g + 0.9 b = 1.9 g; p = p - 0.1 * 1.9 g
    p = one_step(SGD(lr=0.1, momentum=0.9, nesterov=True), P, G)
    np.testing.assert_allclose(p, [1 - 0.095, -2 - 0.0475], rtol=1e-15)
    # dampening 0.5, step 2 with the same g: b = 0.9 g + 0.5 g = 1.4 g; p = p - 0.1 (g + 1.4 g)
    opt, p = SGD(lr=0.1, momentum=0.9, dampening=0.5), np.array(P)
    opt.step([p], [np.array(G)])
    opt.step([p], [np.array(G)])
    np.testing.assert_allclose(p, np.array(P) - 0.1 * 2.4 * np.array(G), rtol=1e-15)


def test_adam_first_step_is_lr_times_sign_of_g():
    # m = 0.1 g, v = 0.001 g^2; m / (1 - 0.9) = g, sqrt(v) / sqrt(1 - 0.999) = |g|
    # so with eps = 0: p = p - lr * g / |g| = [1 - 0.1, -2 - 0.1 * (-1)]
    p = one_step(Adam(lr=0.1, eps=0.0), P, [0.5, -0.25])
    np.testing.assert_allclose(p, [0.9, -1.9], rtol=1e-14)
    # with eps: p = p - lr * g / (|g| + eps)
    p = one_step(Adam(lr=0.1, eps=1e-3), P, [0.5, -0.25])
    np.testing.assert_allclose(p, [1 - 0.1 * 0.5 / 0.501, -2 + 0.1 * 0.25 / 0.251], rtol=1e-14)


def test_adam_second_step_by_hand():
    opt, p = Adam(lr=0.1, betas=(0.5, 0.75), eps=0.0), np.array([1.0])
    opt.step([p], [np.array([2.0])])  # m = 1, v = 1; m/(1-.5) = 2, sqrt(v/(1-.75)) = 2: p = 0.9
    opt.step([p], [np.array([4.0])])  # m = 0.5*1 + 0.5*4 = 2.5; v = 0.75*1 + 0.25*16 = 4.75
    # bias corrections 1 - 0.25 = 0.75 and 1 - 0.5625 = 0.4375: p = 0.9 - 0.1 * (2.5/0.75) /
    # sqrt(4.75/0.4375)
    np.testing.assert_allclose(p, [0.9 - 0.1 * (2.5 / 0.75) / np.sqrt(4.75 / 0.4375)], rtol=1e-14)


def test_adam_weight_decay_is_added_to_the_gradient_but_adamw_shrinks_the_weights():
    # Adam, one step: the sign of g + wd p decides. g + 0.1 p = [0.6, 0.05]: p = p - 0.1 sign
    np.testing.assert_allclose(one_step(Adam(lr=0.1, eps=0.0, weight_decay=0.1), P, G),
                               [0.9, -2.1], rtol=1e-14)
    # AdamW: p = p (1 - 0.1 * 0.1) = [0.99, -1.98], then p - 0.1 sign(g) = [0.89, -2.08]
    np.testing.assert_allclose(one_step(AdamW(lr=0.1, eps=0.0, weight_decay=0.1), P, G),
                               [0.89, -2.08], rtol=1e-14)


def test_adam_amsgrad_uses_the_running_maximum():
    opt, p = Adam(lr=0.1, betas=(0.0, 0.5), eps=0.0, amsgrad=True), np.array([0.0])
    opt.step([p], [np.array([2.0])])  # v = 0.5*4 = 2 = v_max; p = -0.1 * 2 / sqrt(2/0.5) = -0.1
    opt.step([p], [np.array([0.0])])  # v = 1 < v_max = 2; m = 0: p unchanged
    opt.step([p], [np.array([1.0])])  # v = 0.5 + 0.5 = 1, v_max = 2; bc2 = 1 - 0.125 = 0.875
    np.testing.assert_allclose(p, [-0.1 - 0.1 * 1.0 / np.sqrt(2 / 0.875)], rtol=1e-14)
    np.testing.assert_allclose(opt.state[0]["max_exp_avg_sq"], [2.0])
    np.testing.assert_allclose(opt.state[0]["exp_avg_sq"], [1.0])  # the last v, hand-worked
    np.testing.assert_allclose(opt.state[0]["exp_avg"], [1.0])  # m = 0.5 * 0 + 0.5 * 1


def test_rmsprop_steps():
    # v = 0.01 g^2, avg = sqrt(v) = 0.1 |g| (eps 0): p = p - 0.01 * g / (0.1 |g|) = p - 0.1 sign(g)
    np.testing.assert_allclose(one_step(RMSprop(lr=0.01, eps=0.0), P, G), [0.9, -2.1], rtol=1e-14)
    # centered: g_avg = 0.01 g, v - g_avg^2 = (0.01 - 0.0001) g^2: p = p - 0.01 sign / sqrt(0.0099)
    p = one_step(RMSprop(lr=0.01, eps=0.0, centered=True), P, G)
    np.testing.assert_allclose(p, np.array(P) - 0.01 / np.sqrt(0.0099), rtol=1e-14)
    # momentum 0.5, two steps with the same g: b = 10 sign(g), then b = 5 sign + g/avg_2 where
    # v_2 = 0.99*0.01 g^2 + 0.01 g^2 = 0.0199 g^2: b = (5 + 1/sqrt(0.0199)) sign(g)
    opt, p = RMSprop(lr=0.01, eps=0.0, momentum=0.5), np.array(P)
    opt.step([p], [np.array(G)])
    opt.step([p], [np.array(G)])
    sign = np.sign(G)
    np.testing.assert_allclose(p, P - 0.01 * (10 + 5 + 1 / np.sqrt(0.0199)) * sign, rtol=1e-14)


def test_adagrad_steps():
    # s = 0.5 + g^2 = [0.75, 0.5625]; p = p - 0.1 g / sqrt(s) (eps 0)
    p = one_step(Adagrad(lr=0.1, eps=0.0, initial_accumulator_value=0.5), P, G)
    np.testing.assert_allclose(p, [1 - 0.1 * 0.5 / np.sqrt(0.75), -2 - 0.1 * 0.25 / 0.75],
                               rtol=1e-14)
    # lr_decay 1: the second step uses clr = 0.1 / (1 + 1*1) = 0.05, s = 2 g^2: p moves by
    # 0.1 sign(g) and then 0.05 g / (sqrt(2) |g|)
    opt, p = Adagrad(lr=0.1, lr_decay=1.0, eps=0.0), np.array(P)
    opt.step([p], [np.array(G)])
    opt.step([p], [np.array(G)])
    np.testing.assert_allclose(p, P - (0.1 + 0.05 / np.sqrt(2)) * np.sign(G), rtol=1e-14)


# -- 50 steps against torch.optim ------------------------------------------------------------
SHAPES = [(3, 4), (5,), (2, 3, 2)]
TORCH_CASES = [
    ("sgd", dict(lr=0.05)),
    ("sgd", dict(lr=0.05, momentum=0.9)),
    ("sgd", dict(lr=0.05, momentum=0.8, dampening=0.3, weight_decay=0.01)),
    ("sgd", dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.1)),
    ("adam", dict(lr=0.01)),
    ("adam", dict(lr=0.01, weight_decay=0.05)),
    ("adam", dict(lr=0.02, betas=(0.8, 0.99), eps=1e-6, amsgrad=True, weight_decay=0.1)),
    ("adam", dict(lr=0.01, betas=(0.5, 0.6))),
    ("adam", dict(lr=0.01, betas=(0.0, 0.9))),  # beta1 = 0: m is the last gradient
    ("adamw", dict(lr=0.01)),
    ("adamw", dict(lr=0.01, betas=(0.3, 0.5), weight_decay=0.1)),
    ("adamw", dict(lr=0.02, weight_decay=0.1, amsgrad=True)),
    ("rmsprop", dict(lr=0.01)),
    ("rmsprop", dict(lr=0.01, alpha=0.9, centered=True)),
    ("rmsprop", dict(lr=0.005, momentum=0.9, weight_decay=0.01)),
    ("rmsprop", dict(lr=0.005, momentum=0.5, centered=True, weight_decay=0.1, eps=1e-4)),
    ("adagrad", dict(lr=0.1)),
    ("adagrad", dict(lr=0.1, lr_decay=0.01, eps=1e-6)),
    ("adagrad", dict(lr=0.1, initial_accumulator_value=0.1, weight_decay=0.05)),
]
TORCH_NAMES = {"sgd": "SGD", "adam": "Adam", "adamw": "AdamW", "rmsprop": "RMSprop",
               "adagrad": "Adagrad"}


def make_problem(seed=0):
    """Initial parameters and a deterministic, non-quadratic gradient function of them."""
    rng = np.random.default_rng(seed)
    params = [rng.standard_normal(s) for s in SHAPES]
    scales = [rng.uniform(0.5, 2.0, s) for s in SHAPES]
    shifts = [rng.standard_normal(s) for s in SHAPES]

    def grad(i, p):  # gradient of sum(scale * (p - shift)^2 / 2 - 0.3 cos(2 p) / 2)
        return scales[i] * (p - shifts[i]) + 0.3 * np.sin(2 * p)

    return params, grad


@pytest.mark.parametrize("name, kwargs", TORCH_CASES)
def test_fifty_steps_match_torch_in_float64(name, kwargs, update_path):
    torch = torch_or_skip()
    params, grad = make_problem()
    ours = [p.copy() for p in params]
    theirs = [torch.tensor(p, dtype=torch.float64, requires_grad=True) for p in params]
    opt = OPTIMIZERS[name](**kwargs)
    topt = getattr(torch.optim, TORCH_NAMES[name])(theirs, foreach=False, **kwargs)
    for _ in range(50):
        opt.step(ours, [grad(i, p) for i, p in enumerate(ours)])
        for i, t in enumerate(theirs):
            t.grad = torch.from_numpy(grad(i, t.detach().numpy()))
        topt.step()
    assert opt.t == 50
    for p, t in zip(ours, theirs):
        np.testing.assert_allclose(p, t.detach().numpy(), rtol=1e-10, atol=1e-12)
    moved = sum(np.abs(p - p0).max() for p, p0 in zip(ours, params))
    assert moved > 1e-3  # the comparison is not vacuous


# -- state as torch stores it ---------------------------------------------------------------
STATE_CASES = [  # one case for every slot torch keeps
    ("adam", dict(lr=0.01, betas=(0.5, 0.6), weight_decay=0.05)),
    ("adamw", dict(lr=0.01, betas=(0.5, 0.6), weight_decay=0.1, amsgrad=True)),
    ("rmsprop", dict(lr=0.005, alpha=0.9, momentum=0.5, centered=True, weight_decay=0.01)),
    ("adagrad", dict(lr=0.1, lr_decay=0.01, initial_accumulator_value=0.1)),
    ("sgd", dict(lr=0.05, momentum=0.9, dampening=0.1)),
]


def torch_twin(name, kwargs, params):
    """float64 torch tensors holding ``params``, and torch's optimizer over them."""
    torch = torch_or_skip()
    theirs = [torch.tensor(p, dtype=torch.float64, requires_grad=True) for p in params]
    return theirs, getattr(torch.optim, TORCH_NAMES[name])(theirs, foreach=False, **kwargs)


def step_both(opt, ours, topt, theirs, grad):
    """One step of each optimizer, on the gradients of its own parameters."""
    import torch
    opt.step(ours, [grad(i, p) for i, p in enumerate(ours)])
    for i, t in enumerate(theirs):
        t.grad = torch.from_numpy(grad(i, t.detach().numpy()))
    topt.step()


def assert_state_is_torchs(opt, topt, where=""):
    """``opt.state_dict()["<i>.<slot>"]`` equals torch's ``state_dict()["state"][i][slot]``
    for every slot torch keeps, and ``"t"`` its ``"step"``."""
    ours, theirs = opt.state_dict(), topt.state_dict()["state"]
    slots = {f"{i}.{slot}" for i, state in theirs.items() for slot in state if slot != "step"}
    assert set(ours) - {"t", "lr"} == slots, where
    for i, state in theirs.items():
        if "step" in state:  # torch's SGD counts no steps
            assert ours["t"] == state["step"].item(), where
        for slot, value in state.items():
            if slot != "step":
                np.testing.assert_allclose(ours[f"{i}.{slot}"], value.numpy(), rtol=1e-12,
                                           atol=1e-15, err_msg=f"{i}.{slot}{where}")


@pytest.mark.parametrize("name, kwargs", STATE_CASES)
def test_state_dict_holds_torchs_state_at_every_step(name, kwargs, update_path):
    """The arrays are torch's own (``exp_avg``, ``exp_avg_sq``, ``max_exp_avg_sq``,
    ``square_avg``, ``grad_avg``, ``momentum_buffer``, ``sum``), step after step, in float64."""
    params, grad = make_problem(5)
    ours = [p.copy() for p in params]
    theirs, topt = torch_twin(name, kwargs, params)
    opt = OPTIMIZERS[name](**kwargs)
    for step in range(1, 31):
        step_both(opt, ours, topt, theirs, grad)
        if step in (1, 2, 7, 30):
            assert_state_is_torchs(opt, topt, f" at step {step}")
    for p, t in zip(ours, theirs):
        np.testing.assert_allclose(p, t.detach().numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name, kwargs", STATE_CASES)
def test_torchs_state_loaded_mid_run_continues_as_torch_continues(name, kwargs, update_path):
    """After 12 steps torch's state dict is loaded into a fresh torch optimizer, and its
    arrays (by torch's names) into a fresh glassnet one: both go on as one."""
    params, grad = make_problem(6)
    ours = [p.copy() for p in params]
    theirs, topt = torch_twin(name, kwargs, params)
    opt = OPTIMIZERS[name](**kwargs)
    for _ in range(12):
        step_both(opt, ours, topt, theirs, grad)
    saved = topt.state_dict()
    topt = type(topt)(theirs, foreach=False, **kwargs)
    topt.load_state_dict(saved)
    arrays = {f"{i}.{slot}": value.numpy().copy() for i, state in saved["state"].items()
              for slot, value in state.items() if slot != "step"}
    opt = OPTIMIZERS[name](**kwargs)
    opt.load_state_dict({"t": 12, "lr": saved["param_groups"][0]["lr"], **arrays})
    for _ in range(12):
        step_both(opt, ours, topt, theirs, grad)
    assert_state_is_torchs(opt, topt)
    for p, t in zip(ours, theirs):
        np.testing.assert_allclose(p, t.detach().numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name, kwargs", [("adam", dict(lr=0.01)),
                                          ("adam", dict(lr=0.01, amsgrad=True)),
                                          ("adamw", dict(lr=0.01, weight_decay=0.1))])
def test_betas_changed_between_steps_act_as_in_torch(name, kwargs, update_path):
    """torch reads betas afresh at every step; so does Adam, and since it stores m and v as
    torch does, nothing needs rescaling: params and state go on matching torch's."""
    params, grad = make_problem(4)
    ours = [p.copy() for p in params]
    theirs, topt = torch_twin(name, kwargs, params)
    opt = OPTIMIZERS[name](**kwargs)
    for step in range(40):
        if step == 15:
            opt.betas = topt.param_groups[0]["betas"] = (0.7, 0.95)
        if step == 30:
            opt.betas = topt.param_groups[0]["betas"] = (0.0, 0.5)
        step_both(opt, ours, topt, theirs, grad)
        if step in (15, 29, 39):
            assert_state_is_torchs(opt, topt, f" at step {step}")
    for p, t in zip(ours, theirs):
        np.testing.assert_allclose(p, t.detach().numpy(), rtol=1e-10, atol=1e-12)


# -- clipping --------------------------------------------------------------------------------
@pytest.mark.parametrize("max_norm", [0.5, 1e3])
def test_clip_grad_norm_matches_torch(max_norm):
    torch = torch_or_skip()
    grads, _ = make_problem(1)
    tensors = [torch.tensor(g) for g in grads]
    for t in tensors:
        t.grad = t.clone()
    expected_total = torch.nn.utils.clip_grad_norm_(tensors, max_norm)
    total = clip_grad_norm(grads, max_norm)
    np.testing.assert_allclose(total, expected_total.item(), rtol=1e-14)
    for g, t in zip(grads, tensors):
        np.testing.assert_allclose(g, t.grad.numpy(), rtol=1e-14)
    joint = np.sqrt(sum((g ** 2).sum() for g in grads))
    assert joint <= max_norm + 1e-9


def test_clip_grad_value_matches_torch():
    torch = torch_or_skip()
    grads, _ = make_problem(2)
    tensors = [torch.tensor(g) for g in grads]
    for t in tensors:
        t.grad = t.clone()
    torch.nn.utils.clip_grad_value_(tensors, 0.7)
    clip_grad_value(grads, 0.7)
    for g, t in zip(grads, tensors):
        np.testing.assert_array_equal(g, t.grad.numpy())
    assert max(np.abs(g).max() for g in grads) == 0.7


def test_clipping_happens_inside_step_before_the_update():
    g = np.array([3.0, 4.0])  # norm 5, clipped to norm 1: [0.6, 0.8] (up to the 1e-6)
    p = one_step(SGD(lr=1.0, clip_norm=1.0), [0.0, 0.0], g)
    np.testing.assert_allclose(p, [-0.6, -0.8], rtol=1e-6)
    p = one_step(SGD(lr=1.0, clip_value=0.5), [0.0, 0.0], [3.0, -0.25])
    np.testing.assert_array_equal(p, [-0.5, 0.25])


# -- dtypes, in-place updates, state ---------------------------------------------------------
ALL_OPTIONS = {"sgd": dict(momentum=0.9, nesterov=True, weight_decay=0.01),
               "adam": dict(amsgrad=True, weight_decay=0.01),
               "adamw": dict(amsgrad=True),
               "rmsprop": dict(momentum=0.9, centered=True, weight_decay=0.01),
               "adagrad": dict(lr_decay=0.01, weight_decay=0.01)}


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_float32_parameters_stay_float32_and_are_updated_in_place(name, update_path):
    rng = np.random.default_rng(0)
    flat = rng.standard_normal(20).astype(np.float32)
    p = flat[:12].reshape(3, 4)  # a view, as a layer's W is a view of the model's buffer
    opt = OPTIMIZERS[name](clip_norm=1.0, **ALL_OPTIONS[name])
    opt.lr = np.float64(opt.lr)  # a schedule might hand over a NumPy scalar
    before = p.copy()
    for _ in range(3):
        g = (2 * p).astype(np.float32)
        opt.step([p], [g])
    assert p.dtype == np.float32 and np.shares_memory(p, flat)
    assert not np.array_equal(p, before)
    assert np.abs(p).sum() < np.abs(before).sum()  # it descends |p|^2
    assert all(a.dtype == np.float32 for a in opt.state[0].values())


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_step_does_not_touch_the_gradients_without_clipping(name):
    p, g = np.array([1.0, -2.0, 3.0]), np.array([0.1, 0.2, -0.3])
    g0 = g.copy()
    OPTIMIZERS[name](**ALL_OPTIONS[name]).step([p], [g])
    np.testing.assert_array_equal(g, g0)


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_state_dict_round_trip_continues_identically(name):
    params, grad = make_problem(3)
    a = OPTIMIZERS[name](**ALL_OPTIONS[name])
    for _ in range(5):
        a.step(params, [grad(i, p) for i, p in enumerate(params)])
    state = a.state_dict()
    assert all(isinstance(v, (int, float, np.ndarray)) for v in state.values())
    b = OPTIMIZERS[name](**ALL_OPTIONS[name])
    b.load_state_dict(state)
    twin = [p.copy() for p in params]
    for _ in range(5):
        a.step(params, [grad(i, p) for i, p in enumerate(params)])
        b.step(twin, [grad(i, p) for i, p in enumerate(twin)])
    for p, q in zip(params, twin):
        np.testing.assert_array_equal(p, q)


def test_adam_state_dict_does_not_depend_on_the_betas():
    """m and v mean the same whatever the betas: an Adam with other betas loads the arrays as
    they are and keeps its own betas, and the state dict has no betas to save."""
    params, grad = make_problem(3)
    a = Adam(lr=0.01, amsgrad=True)
    for _ in range(5):
        a.step(params, [grad(i, p) for i, p in enumerate(params)])
    saved = a.state_dict()
    assert sorted(saved) == sorted(["t", "lr"] + [f"{i}.{slot}" for i in range(len(params))
                                                  for slot in Adam.slots])
    b = Adam(lr=0.01, betas=(0.5, 0.9), amsgrad=True)
    b.load_state_dict(saved)
    assert b.betas == (0.5, 0.9)
    for key, value in b.state_dict().items():
        np.testing.assert_array_equal(value, saved[key])


def test_load_state_dict_rejects_foreign_keys_and_missing_slots():
    with pytest.raises(ValueError, match="unexpected key 'layers.0.W'"):
        Adam().load_state_dict({"t": 1, "layers.0.W": np.zeros(2)})
    with pytest.raises(ValueError, match=r"lacks \['exp_avg_sq'\]"):
        Adam().load_state_dict({"t": 1, "0.exp_avg": np.zeros(2)})
    with pytest.raises(ValueError, match="unexpected key '0.exp_avg_scaled'"):
        Adam().load_state_dict({"t": 1, "0.exp_avg_scaled": np.zeros(2),
                                "0.exp_avg_sq_scaled": np.zeros(2)})
    with pytest.raises(ValueError, match="unexpected key 'betas'"):
        Adam().load_state_dict({"t": 1, "betas": np.array([0.9, 0.999])})
    with pytest.raises(ValueError, match=r"state\['t'\]"):
        SGD().load_state_dict({"t": -1})


def test_reset_forgets_the_state_and_a_shape_change_is_caught():
    opt = Adam()
    opt.step([np.ones(3)], [np.ones(3)])
    with pytest.raises(ValueError, match="shape"):
        opt.step([np.ones(4)], [np.ones(4)])
    opt.reset()
    assert opt.t == 0 and opt.state == {}
    opt.step([np.ones(4)], [np.ones(4)])
    with pytest.raises(ValueError, match="2 parameter arrays but 1 gradients"):
        opt.step([np.ones(4), np.ones(1)], [np.ones(4)])


def test_repr_registry_and_get_optimizer():
    assert repr(SGD(lr=0.1, momentum=0.9)).startswith("SGD(lr=0.1, momentum=0.9, dampening=0.0")
    assert get_optimizer("adam", lr=0.01).lr == 0.01
    opt = RMSprop()
    assert get_optimizer(opt) is opt
    assert isinstance(get_optimizer("lbfgs"), LBFGS)
    with pytest.raises(ValueError, match="unknown optimizer 'adamax'.*'sgd'"):
        get_optimizer("adamax")
    with pytest.raises(ValueError, match="keyword arguments"):
        get_optimizer(opt, lr=0.1)


# -- validation ------------------------------------------------------------------------------
BAD = [
    (SGD, dict(lr=-1), "lr must be > 0, got -1"),
    (SGD, dict(lr=0), "lr must be > 0"),
    (SGD, dict(lr="fast"), "lr must be a finite number, got 'fast'"),
    (SGD, dict(momentum=-0.1), "momentum must be >= 0"),
    (SGD, dict(dampening=2), "dampening must be <= 1"),
    (SGD, dict(nesterov=True), "nesterov=True needs momentum > 0"),
    (SGD, dict(weight_decay=-1e-3), "weight_decay must be >= 0"),
    (SGD, dict(clip_norm=0), "clip_norm must be > 0"),
    (SGD, dict(clip_value=float("nan")), "clip_value must be a finite number"),
    (SGD, dict(lr=float("inf")), "lr must be a finite number, got inf"),
    (SGD, dict(lr=np.complex128(0.1)),  # the repr: np.complex128(...) from NumPy 2, (...) before
     r"lr must be a finite number, got (np\.complex128)?\(0\.1\+0j\)"),
    (SGD, dict(lr=True), "lr must be a finite number, got True"),
    (SGD, dict(lr=10 ** 400), "lr must be a finite number, got 1000"),
    (Adam, dict(betas=(0.9, 1.0)), r"betas\[1\] must be < 1"),
    (Adam, dict(betas=0.9), "betas must be a pair"),
    (Adam, dict(eps=-1), "eps must be >= 0"),
    (AdamW, dict(weight_decay=-0.01), "weight_decay must be >= 0"),
    (RMSprop, dict(alpha=1.5), "alpha must be <= 1"),
    (RMSprop, dict(momentum=-1), "momentum must be >= 0"),
    (Adagrad, dict(lr_decay=-1), "lr_decay must be >= 0"),
    (Adagrad, dict(initial_accumulator_value=-1), "initial_accumulator_value must be >= 0"),
    (LBFGS, dict(max_iter=0), "max_iter must be >= 1"),
    (LBFGS, dict(max_iter=2.5), "max_iter must be an int"),
    (LBFGS, dict(tol=-1), "tol must be >= 0"),
    (LBFGS, dict(history=True), "history must be an int"),
]


@pytest.mark.parametrize("cls, kwargs, message", BAD)
def test_bad_hyperparameters_raise_naming_the_argument(cls, kwargs, message):
    with pytest.raises(ValueError, match=message):
        cls(**kwargs)


# -- L-BFGS ----------------------------------------------------------------------------------
def test_lbfgs_minimizes_a_quadratic():
    pytest.importorskip("scipy")
    rng = np.random.default_rng(0)
    M = rng.standard_normal((6, 6))
    A, b = M @ M.T + 6 * np.eye(6), rng.standard_normal(6)

    def fun_and_grad(x):  # f = x^T A x / 2 - b^T x, grad = A x - b, minimum at A^-1 b
        return 0.5 * x @ A @ x - b @ x, A @ x - b

    x, n_iter, result = LBFGS(tol=1e-10).minimize(fun_and_grad, np.zeros(6))
    # scipy also stops when f decreases by less than ~2e-9 relatively (its default ftol, which
    # scikit-learn keeps too), so x is close to the minimum, not exact to machine precision.
    np.testing.assert_allclose(x, np.linalg.solve(A, b), atol=1e-5)
    assert result.success and 0 < n_iter <= 200


def test_lbfgs_minimizes_rosenbrock_and_accepts_float32_gradients():
    pytest.importorskip("scipy")
    from scipy.optimize import rosen, rosen_der

    x, n_iter, result = LBFGS(max_iter=1000, tol=1e-9).minimize(
        lambda x: (rosen(x), rosen_der(x).astype(np.float32)), np.array([-1.2, 1.0, -0.5]))
    np.testing.assert_allclose(x, np.ones(3), atol=1e-3)
    assert n_iter > 10  # the banana valley takes a while


def test_lbfgs_respects_max_iter_and_has_no_step():
    pytest.importorskip("scipy")
    from scipy.optimize import rosen, rosen_der

    _, n_iter, result = LBFGS(max_iter=3).minimize(lambda x: (rosen(x), rosen_der(x)),
                                                   np.array([-1.2, 1.0]))
    assert n_iter == 3 and not result.success
    with pytest.raises(TypeError, match="glassnet.fit"):
        LBFGS().step([np.zeros(2)], [np.zeros(2)])


def test_sgd_takes_a_learning_rate_set_by_an_on_batch_end_hook_at_that_step():
    """The hook runs between backward and step, and the step takes the lr it set.
    Reference: the batches replayed by hand."""
    from glassnet.callbacks import LambdaCallback
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((48, 3)), rng.integers(0, 3, 48)
    model = glassnet.MLP([3, 5, 3], dtype="float64", seed=0)
    reference = model.copy()
    set_lr = LambdaCallback(on_batch_end=lambda s: setattr(s.optimizer, "lr", 0.1 / s.batch))
    glassnet.fit(model, X, y, optimizer=SGD(lr=0.1), epochs=1, batch_size=16, shuffle=False,
                 callbacks=[set_lr])
    for k, start in enumerate(range(0, 48, 16), start=1):
        _, grads = glassnet.value_and_grad(reference, "cross_entropy", X[start:start + 16],
                                           y[start:start + 16])
        for name, p, _ in reference.named_parameters():
            p -= 0.1 / k * grads[name]
    np.testing.assert_allclose(model.flat_params, reference.flat_params, rtol=1e-13)


def test_step_checks_every_gradient_shape_before_updating():
    W, b = np.ones((3, 4)), np.ones(4)
    for opt in (SGD(lr=0.1), Adam(lr=0.1)):
        with pytest.raises(ValueError, match=r"params\[1\] and grads\[1\] must be arrays of "
                                             r"one shape, got ndarray of shape \(4,\) and "
                                             r"ndarray of shape \(1, 4\)"):
            opt.step([W, b], [np.ones((3, 4)), np.ones((1, 4))])
        np.testing.assert_array_equal(W, 1.0)  # grads[0] fitted, and still nothing moved
        with pytest.raises(ValueError, match=r"got list of shape \(3, 4\) and ndarray"):
            opt.step([W.tolist()], [W])


def test_step_refuses_a_list_of_parameters_that_changes():
    """Adam's bias corrections count the optimizer's steps: a parameter added later would
    be corrected as if it had taken them all (torch counts per parameter)."""
    p1, p2 = np.ones(3), np.ones(2)
    opt = Adam(lr=0.1)
    opt.step([p1], [np.ones(3)])
    with pytest.raises(ValueError, match=r"Adam has stepped 1 parameter arrays and now got 2"):
        opt.step([p1, p2], [np.ones(3), np.ones(2)])
    opt.reset()
    opt.step([p1, p2], [np.ones(3), np.ones(2)])  # a fresh start takes the new list
    np.testing.assert_allclose(p2, 1.0 - 0.1)  # Adam's first step: lr * sign(g)


def test_loading_state_is_all_or_nothing_and_takes_the_parameters_dtype():
    rng = np.random.default_rng(0)
    p = rng.standard_normal(5).astype(np.float32)
    grads = [rng.standard_normal(5).astype(np.float32) for _ in range(4)]
    opt = Adam(lr=0.1)
    for g in grads[:3]:
        opt.step([p], [g])
    as_json = {k: (v.astype(np.float64).tolist() if isinstance(v, np.ndarray) else v)
               for k, v in opt.state_dict().items()}  # float64 lists, as after a JSON trip
    resumed, q = Adam(lr=0.1), p.copy()
    resumed.load_state_dict(as_json)
    opt.step([p], [grads[3]])
    resumed.step([q], [grads[3]])  # float64 moments cast to the float32 parameter's dtype
    np.testing.assert_array_equal(q, p)
    assert all(a.dtype == np.float32 for a in resumed.state[0].values())
    before = resumed.state_dict()
    for bad in ({**as_json, "lr": -1.0}, {**as_json, "lr": float("nan")}):
        with pytest.raises(ValueError, match=r"state\['lr'\] must be"):
            resumed.load_state_dict(bad)
        after = resumed.state_dict()
        assert after.keys() == before.keys() and after["t"] == before["t"] == 4
        np.testing.assert_array_equal(after["0.exp_avg"], before["0.exp_avg"])


def test_a_step_refused_for_its_state_changes_nothing():
    p1, p2 = np.ones(3), np.ones(2)
    opt = Adam(lr=0.1)
    opt.step([p1, p2], [np.ones(3), np.ones(2)])
    opt.state[1]["exp_avg"] = np.zeros(4)  # state of another shape for params[1]
    with pytest.raises(ValueError, match=r"optimizer state 1.exp_avg has shape \(4,\)"):
        opt.step([p1, p2], [np.ones(3), np.ones(2)])
    np.testing.assert_allclose(p1, 0.9)  # the first step only
    assert opt.t == 1


def test_fit_refuses_an_optimizer_of_another_model_before_training():
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((20, 3)), rng.integers(0, 2, 20)
    opt = Adam(lr=0.01)
    glassnet.fit(glassnet.MLP([3, 4, 2], seed=0), X, y, optimizer=opt, epochs=1)
    other = glassnet.MLP([3, 7, 2], seed=0)
    before = other.flat_params.copy()
    with pytest.raises(ValueError, match="optimizer state 0.exp_avg has shape"):
        glassnet.fit_iter(other, X, y, optimizer=opt, epochs=1)  # at the call, no next()
    np.testing.assert_array_equal(other.flat_params, before)
