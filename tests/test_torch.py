"""Cross-check of forward passes, losses and gradients against PyTorch autograd (float64).

PyTorch is an independent implementation of the same mathematics: if glassnet's hand-written
backward passes, losses, L2 term or sample weighting drift, the two disagree far beyond the
1e-10 tolerance used here. The tests skip (with a printed reason) when torch is absent.
"""

import numpy as np
import pytest

from conftest import torch_or_skip

import glassnet
from glassnet.activations import ACTIVATIONS, Activation
from glassnet.layers import Dense
from glassnet.losses import LOSSES

RTOL, ATOL = 1e-10, 1e-12
SEEDS = range(8)
# (loss name in glassnet, target kind); "probs" = soft probability rows for cross_entropy
LOSS_CASES = [
    pytest.param("cross_entropy", "labels", id="cross_entropy-labels"),
    pytest.param("cross_entropy", "onehot", id="cross_entropy-onehot"),
    pytest.param("cross_entropy", "probs", id="cross_entropy-probs"),
    pytest.param("binary_cross_entropy", "unit", id="binary_cross_entropy"),
    pytest.param("binary_cross_entropy_sum", "unit", id="binary_cross_entropy_sum"),
    pytest.param("mse", "real", id="mse"),
    pytest.param("squared_error", "real", id="squared_error"),
    pytest.param("mae", "real", id="mae"),
    pytest.param("huber", "real", id="huber"),
    pytest.param("poisson", "unit", id="poisson"),
    pytest.param("poisson_sum", "unit", id="poisson_sum"),
]


def test_loss_cases_cover_the_registry():
    """A new loss in LOSSES must get a torch counterpart here."""
    assert {case.values[0] for case in LOSS_CASES} == set(LOSSES)


def assert_close(actual, desired, what):
    np.testing.assert_allclose(actual, desired, rtol=RTOL, atol=ATOL, err_msg=what)


def torch_activation(torch, layer):
    """The torch module computing the same function as glassnet activation ``layer``
    (registry defaults: LeakyReLU alpha 0.01, ELU alpha 1.0, GELU in its tanh form)."""
    nn = torch.nn
    table = {
        "identity": lambda: nn.Identity(),
        "relu": lambda: nn.ReLU(),
        "leaky_relu": lambda: nn.LeakyReLU(negative_slope=0.01),
        "elu": lambda: nn.ELU(alpha=1.0),
        "gelu": lambda: nn.GELU(approximate="tanh"),
        "tanh": lambda: nn.Tanh(),
        "sigmoid": lambda: nn.Sigmoid(),
        "softplus": lambda: nn.Softplus(),  # beta 1, threshold 20: inputs here stay far below
    }
    if layer.name not in table:
        pytest.fail(f"activation {layer.name!r} is in ACTIVATIONS but has no torch equivalent "
                    f"in tests/test_torch.py::torch_activation; add one")
    return table[layer.name]()


def to_torch_model(torch, model):
    """A float64 torch.nn.Sequential with the same layers and a copy of ``model``'s weights
    (torch Linear stores weight as (out, in) = our W.T)."""
    modules = []
    for layer in model.layers:
        if isinstance(layer, Dense):
            lin = torch.nn.Linear(layer.n_in, layer.n_out, dtype=torch.float64)
            with torch.no_grad():
                lin.weight.copy_(torch.from_numpy(layer.W.T.copy()))
                lin.bias.copy_(torch.from_numpy(layer.b.copy()))
            modules.append(lin)
        elif isinstance(layer, Activation):
            modules.append(torch_activation(torch, layer))
        else:  # pragma: no cover - MLP without dropout builds only these
            pytest.fail(f"no torch equivalent for layer {layer!r}")
    return torch.nn.Sequential(*modules)


def torch_grads(torch, tmodel):
    """``{glassnet name: gradient}`` from a torch model built by ``to_torch_model``."""
    grads = {}
    for i, module in enumerate(tmodel):
        if isinstance(module, torch.nn.Linear):
            grads[f"layers.{i}.W"] = module.weight.grad.numpy().T
            grads[f"layers.{i}.b"] = module.bias.grad.numpy()
    return grads


def torch_loss(torch, name, z, y, sample_weight=None):
    """The loss in torch: reduction='mean' without weights; with weights,
    sum_i w_i l_i / sum_i w_i over per-sample losses (elementwise losses averaged over outputs)."""
    F = torch.nn.functional
    reduction = "mean" if sample_weight is None else "none"
    if name == "cross_entropy":
        out = F.cross_entropy(z, y, reduction=reduction)  # y: int64 labels or probability rows
    elif name == "binary_cross_entropy":
        out = F.binary_cross_entropy_with_logits(z, y, reduction=reduction)
    elif name == "binary_cross_entropy_sum":  # summed over the outputs, a mean over samples
        out = F.binary_cross_entropy_with_logits(z, y, reduction="none").sum(dim=1)
        out = out.mean() if sample_weight is None else out
    elif name == "mse":
        out = F.mse_loss(z, y, reduction=reduction)
    elif name == "squared_error":  # scikit-learn's: half the mean squared error
        out = 0.5 * F.mse_loss(z, y, reduction=reduction)
    elif name == "mae":
        out = F.l1_loss(z, y, reduction=reduction)
    elif name == "huber":
        out = F.huber_loss(z, y, delta=1.0, reduction=reduction)
    elif name.startswith("poisson"):  # torch's e^z - y z, plus the constant xlogy(y, y) - y
        out = (F.poisson_nll_loss(z, y, log_input=True, full=False, reduction="none")
               + torch.special.xlogy(y, y) - y)
        if name == "poisson_sum":  # summed over the outputs, a mean over samples
            out = out.sum(dim=1)
        out = out.mean() if sample_weight is None else out
    else:
        pytest.fail(f"no torch equivalent for loss {name!r}")
    if sample_weight is None:
        return out
    per_sample = out if out.ndim == 1 else out.mean(dim=1)
    w = torch.from_numpy(sample_weight)
    return (w * per_sample).sum() / w.sum()


def make_targets(kind, n, k, rng):
    """(numpy targets for glassnet, the same targets as torch expects them)."""
    if kind == "labels":
        y = rng.integers(0, k, size=n)
    elif kind == "onehot":
        y = np.eye(k)[rng.integers(0, k, size=n)]
    elif kind == "probs":
        y = rng.dirichlet(np.ones(k), size=n)
    elif kind == "unit":
        y = rng.random((n, k))
        y[: n // 2] = np.round(y[: n // 2])  # hard 0/1 labels and soft targets
    else:  # "real": regression targets, residuals on both sides of the mae/huber kinks
        y = rng.standard_normal((n, k)) * 1.5
    return y


def random_mlp(seed, n_out_min=1):
    """An MLP with 1-3 hidden layers of width 1-7, activations drawn from ACTIVATIONS,
    and random (non-zero) biases; returns (model, X, rng) with rng ready for targets."""
    rng = np.random.default_rng(seed)
    depth = int(rng.integers(1, 4))
    sizes = [int(rng.integers(1, 6)), *(int(w) for w in rng.integers(1, 8, size=depth)),
             int(rng.integers(n_out_min, 5))]
    names = [str(a) for a in rng.choice(sorted(ACTIVATIONS), size=depth)]
    model = glassnet.MLP(sizes, activation=names, dtype="float64", seed=seed)
    state = model.state_dict()
    for key in state:
        if key.endswith(".b"):
            state[key] = rng.standard_normal(state[key].shape) * 0.5
    model.load_state_dict(state)
    X = rng.standard_normal((int(rng.integers(5, 13)), sizes[0]))
    return model, X, rng


def check_inputs_are_safe(model):
    """Preconditions of the comparison (after a forward pass): softplus inputs far below torch's
    threshold of 20, and no pre-activation at a kink, where derivative conventions may differ."""
    for layer in model.layers:
        if isinstance(layer, Activation):
            assert np.abs(layer.z).max() < 15.0
            assert np.abs(layer.z).min() > 1e-9


def compare_with_torch(model, X, loss_name, y, l2=0.0, sample_weight=None):
    """Forward output, objective and every parameter gradient: glassnet vs torch autograd."""
    torch = torch_or_skip()
    tmodel = to_torch_model(torch, model)

    z = model.forward(X)
    check_inputs_are_safe(model)
    tz = tmodel(torch.from_numpy(X))
    assert_close(z, tz.detach().numpy(), "forward output")

    value, grads = glassnet.value_and_grad(model, loss_name, X, y, l2=l2,
                                           sample_weight=sample_weight)
    ty = torch.from_numpy(y)  # int64 labels stay int64, float targets float64
    objective = torch_loss(torch, loss_name, tz, ty, sample_weight)
    if l2:
        objective = objective + 0.5 * l2 * sum((m.weight ** 2).sum() for m in tmodel
                                               if isinstance(m, torch.nn.Linear))
    objective.backward()

    assert_close(value, objective.item(), f"{loss_name} objective (l2={l2})")
    expected = torch_grads(torch, tmodel)
    assert list(grads) == list(model.state_dict()) == list(expected)
    for key, g in grads.items():
        assert g.shape == expected[key].shape, key
        assert_close(g, expected[key], f"gradient of {key} ({loss_name}, l2={l2})")


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_activation_matches_torch(name):
    """Each registry activation: f(z) and the backward pass delta * f'(z) equal torch's forward
    and autograd elementwise (new registry entries need a torch equivalent, or this fails)."""
    torch = torch_or_skip()
    rng = np.random.default_rng(0)
    z = rng.standard_normal((20, 5)) * 4.0
    layer = ACTIVATIONS[name]()
    tz = torch.from_numpy(z).requires_grad_(True)
    ta = torch_activation(torch, layer)(tz)
    delta = rng.standard_normal(z.shape)
    ta.backward(torch.from_numpy(delta))
    a = layer.forward(z)
    assert_close(a, ta.detach().numpy(), f"{name} forward")
    assert_close(layer.backward(delta), tz.grad.numpy(), f"{name} backward")


@pytest.mark.parametrize("l2", [0.0, 0.3], ids=["no-l2", "l2"])
@pytest.mark.parametrize("loss_name, target", LOSS_CASES)
@pytest.mark.parametrize("seed", SEEDS)
def test_random_mlp_matches_torch(seed, loss_name, target, l2):
    """Random architecture and activations: forward, objective (loss + l2/2 sum ||W||^2, biases
    unpenalised) and every gradient from value_and_grad equal torch autograd to 1e-10."""
    model, X, rng = random_mlp(seed, n_out_min=2 if loss_name == "cross_entropy" else 1)
    y = make_targets(target, len(X), model.n_outputs, rng)
    compare_with_torch(model, X, loss_name, y, l2=l2)


@pytest.mark.parametrize("loss_name, target", LOSS_CASES)
@pytest.mark.parametrize("seed", SEEDS[:4])
def test_sample_weight_matches_torch(seed, loss_name, target):
    """value_and_grad(..., sample_weight=w) = sum_i w_i l_i / sum_i w_i (l_i averaged over
    outputs), checked against torch per-sample losses; one weight is 0 to test exclusion."""
    model, X, rng = random_mlp(100 + seed, n_out_min=2 if loss_name == "cross_entropy" else 1)
    y = make_targets(target, len(X), model.n_outputs, rng)
    w = rng.uniform(0.1, 3.0, size=len(X))
    w[0] = 0.0
    compare_with_torch(model, X, loss_name, y, l2=0.1, sample_weight=w)


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_every_activation_inside_an_mlp_matches_torch(name):
    """Each registry activation in a 2-hidden-layer MLP (the random draws may miss one)."""
    rng = np.random.default_rng(7)
    model = glassnet.MLP([4, 6, 5, 3], activation=name, dtype="float64", seed=7)
    state = model.state_dict()
    for key in state:
        if key.endswith(".b"):
            state[key] = rng.standard_normal(state[key].shape) * 0.5
    model.load_state_dict(state)
    X = rng.standard_normal((9, 4))
    y = rng.integers(0, 3, size=9)
    compare_with_torch(model, X, "cross_entropy", y, l2=0.2)


def test_random_architectures_cover_every_activation():
    """The seeds of test_random_mlp_matches_torch draw every registry activation at least once,
    so mixed stacks of all of them are exercised."""
    drawn = set()
    for seed in SEEDS:
        model, _, _ = random_mlp(seed)
        drawn |= {layer.name for layer in model.layers if isinstance(layer, Activation)}
    missing = set(ACTIVATIONS) - drawn
    assert not missing, f"SEEDS never draw {sorted(missing)}; add seeds"


def test_input_gradient_matches_torch():
    """model.backward returns dL/dX: compare with torch autograd w.r.t. the input (mse loss)."""
    torch = torch_or_skip()
    model, X, rng = random_mlp(3)
    y = make_targets("real", len(X), model.n_outputs, rng)
    z = model.forward(X)
    check_inputs_are_safe(model)
    value, dz = LOSSES["mse"]().value_and_grad(z, y)
    dX = model.backward(dz)

    tmodel = to_torch_model(torch, model)
    tX = torch.from_numpy(X).requires_grad_(True)
    loss = torch.nn.functional.mse_loss(tmodel(tX), torch.from_numpy(y))
    loss.backward()
    assert dX.shape == X.shape
    assert_close(value, loss.item(), "mse value")
    assert_close(dX, tX.grad.numpy(), "dL/dX")
