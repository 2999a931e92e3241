"""value_and_grad and the gradcheck audit.

Every activation x every loss x {no L2, L2} x depths 1-3 must pass a float64 central-difference
check with relative error < 1e-7. The parametrization reads the registries, so a new activation
or loss is checked without anyone adding a test. The audit itself is tested by planting the bugs
it exists to catch.
"""

import zlib

import numpy as np
import pytest

import glassnet
from glassnet.activations import ACTIVATIONS, ReLU, Tanh
from glassnet.layers import Dense
from glassnet.losses import LOSSES, BinaryCrossEntropy, CrossEntropy, Loss

N_IN, WIDTH, N_OUT, N_SAMPLES = 3, 5, 3, 7


def make_targets(loss_name, rng, n=N_SAMPLES, k=N_OUT):
    """Valid targets for each loss: labels, 0/1 indicators or real values."""
    if loss_name == "cross_entropy":
        return rng.integers(0, k, n)
    if loss_name.startswith("poisson"):  # counts
        return rng.poisson(2.0, (n, k)).astype(float)
    if issubclass(LOSSES[loss_name], BinaryCrossEntropy):
        return rng.integers(0, 2, (n, k)).astype(float)
    return rng.standard_normal((n, k))


@pytest.mark.parametrize("depth", [1, 2, 3])
@pytest.mark.parametrize("l2", [0.0, 0.1])
@pytest.mark.parametrize("loss_name", sorted(LOSSES))
@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
def test_every_registry_combination_passes_gradcheck(activation, loss_name, l2, depth):
    rng = np.random.default_rng(zlib.crc32(f"{activation}/{loss_name}/{depth}".encode()))
    sizes = [N_IN] + [WIDTH] * depth + [N_OUT]
    model = glassnet.MLP(sizes, activation=activation, dtype="float64", seed=rng)
    for _, b, _ in model.named_parameters():  # non-zero biases: exercise their gradients fully
        b += 0.1 * rng.standard_normal(b.shape)
    X = rng.standard_normal((N_SAMPLES, N_IN))
    y = make_targets(loss_name, rng)
    report = glassnet.gradcheck(model, loss_name, X, y, l2=l2)
    assert report.ok, str(report)
    assert report.max_rel_error < 1e-7, str(report)
    checked = sum(r.checked for r in report.rows)
    skipped = sum(r.skipped for r in report.rows)
    assert skipped <= 0.05 * (checked + skipped), "too many elements skipped to mean anything"


def test_one_hot_cross_entropy_passes_gradcheck():
    rng = np.random.default_rng(0)
    model = glassnet.MLP([4, 6, 3], activation="tanh", dtype="float64", seed=1)
    X = rng.standard_normal((5, 4))
    Y = np.eye(3)[rng.integers(0, 3, 5)]
    assert glassnet.gradcheck(model, "cross_entropy", X, Y).max_rel_error < 1e-7


def test_sample_weight_gradient_passes_gradcheck():
    rng = np.random.default_rng(1)
    model = glassnet.MLP([3, 4, 2], activation="sigmoid", dtype="float64", seed=2)
    X, y = rng.standard_normal((6, 3)), rng.integers(0, 2, 6)
    w = rng.uniform(0.1, 3.0, 6)
    report = glassnet.gradcheck(model, "cross_entropy", X, y, sample_weight=w)
    assert report.ok and report.max_rel_error < 1e-7, str(report)


@pytest.mark.parametrize("weighted", [False, True], ids=["mean", "weighted"])
def test_activation_after_the_last_dense_passes_gradcheck(weighted):
    """The cross-entropy gradient comes back as a transposed (Fortran-ordered) view; an
    activation and dropout-free layers after the last Dense take it in place correctly."""
    rng = np.random.default_rng(2)
    model = glassnet.Sequential([Dense(4, 5, seed=1, dtype="float64"), Tanh(),
                                 Dense(5, 3, seed=2, dtype="float64"), Tanh()])
    X, y = rng.standard_normal((7, 4)), rng.integers(0, 3, 7)
    w = rng.uniform(0.1, 3.0, 7) if weighted else None
    report = glassnet.gradcheck(model, "cross_entropy", X, y, sample_weight=w)
    assert report.ok and report.max_rel_error < 1e-7, str(report)


def test_value_and_grad_names_shapes_and_penalty():
    """Gradient keys follow state_dict; the L2 term adds l2/2 ||W||^2 to the value and l2*W to dW."""
    rng = np.random.default_rng(3)
    model = glassnet.MLP([3, 4, 2], dtype="float64", seed=0)
    X, y = rng.standard_normal((5, 3)), rng.integers(0, 2, 5)
    v0, g0 = glassnet.value_and_grad(model, "cross_entropy", X, y)
    v1, g1 = glassnet.value_and_grad(model, "cross_entropy", X, y, l2=0.5)
    state = model.state_dict()
    assert list(g0) == list(state)
    assert all(g0[k].shape == state[k].shape for k in state)
    W0, W2 = state["layers.0.W"], state["layers.2.W"]
    assert v1 - v0 == pytest.approx(0.25 * (np.sum(W0**2) + np.sum(W2**2)), rel=1e-12)
    np.testing.assert_allclose(g1["layers.0.W"] - g0["layers.0.W"], 0.5 * W0, rtol=1e-12)
    np.testing.assert_array_equal(g1["layers.0.b"], g0["layers.0.b"])  # biases unpenalised


def test_gradcheck_leaves_a_float32_model_unchanged():
    model = glassnet.MLP([3, 4, 2], seed=0)
    before = model.state_dict()
    rng = np.random.default_rng(0)
    report = glassnet.gradcheck(model, "cross_entropy", rng.standard_normal((4, 3)),
                                rng.integers(0, 2, 4))
    assert report.ok
    for name, value in model.state_dict().items():
        assert value.dtype == np.float32
        np.testing.assert_array_equal(value, before[name])


def test_no_false_alarm_at_a_relu_kink():
    """A zero input row with zero biases puts first-layer pre-activations exactly at 0.

    A central difference on a first-layer bias there averages ReLU's two slopes (0 and 1) and
    disagrees with backprop; the audit must skip those elements, not fail.
    """
    model = glassnet.MLP([2, 4, 2], activation="relu", dtype="float64", seed=0)
    X = np.array([[0.0, 0.0], [1.0, -0.5], [0.3, 0.8]])
    y = np.array([0, 1, 1])
    report = glassnet.gradcheck(model, "cross_entropy", X, y)
    assert report["layers.0.b"].skipped > 0
    assert report.ok, str(report)
    # The skipped elements really are kinks: a naive difference there disagrees with backprop.
    _, grads = glassnet.value_and_grad(model, "cross_entropy", X, y)
    b = model.layers[0].b
    eps, j = 1e-6, 0
    b[j] += eps
    f_plus, _ = glassnet.value_and_grad(model, "cross_entropy", X, y)
    b[j] -= 2 * eps
    f_minus, _ = glassnet.value_and_grad(model, "cross_entropy", X, y)
    b[j] += eps
    assert abs((f_plus - f_minus) / (2 * eps) - grads["layers.0.b"][j]) > 1e-3


def test_no_false_alarm_at_an_mae_kink():
    model = glassnet.MLP([2, 3, 1], activation="tanh", dtype="float64", seed=0)
    X = np.array([[0.5, -1.0], [1.0, 2.0]])
    y = model.forward(X).copy()  # residuals exactly 0: |r| is at its kink
    y[1] += 1.0
    report = glassnet.gradcheck(model, "mae", X, y)
    assert sum(r.skipped for r in report.rows) > 0
    assert report.ok, str(report)


# -- the audit catches planted bugs ------------------------------------------------------------

def _xor_like_problem():
    rng = np.random.default_rng(7)
    model = glassnet.MLP([3, 5, 4, 3], activation="relu", dtype="float64", seed=3)
    return model, rng.standard_normal((8, 3)), rng.integers(0, 3, 8)


@pytest.mark.parametrize("cls", [ReLU, Tanh])
def test_audit_catches_the_notebooks_bug(monkeypatch, cls):
    """The notebook multiplied by the activation f(z) instead of its derivative f'(z)."""
    monkeypatch.setattr(cls, "df", lambda self, z, a: self.f(z))
    rng = np.random.default_rng(0)
    model = glassnet.MLP([3, 5, 3], activation=cls.name, dtype="float64", seed=1)
    report = glassnet.gradcheck(model, "cross_entropy", rng.standard_normal((6, 3)),
                                rng.integers(0, 3, 6))
    assert not report.ok
    assert not report["layers.0.W"].ok and report["layers.2.W"].ok  # only below the activation


def test_audit_catches_a_missing_one_over_n(monkeypatch):
    def forgot_the_mean(self, z, y, sample_weight=None, scale=1.0):
        return self.value(z, y), self.backward(z, y)  # dL/dz without the 1/n

    monkeypatch.setattr(Loss, "_value_and_grad", forgot_the_mean)
    model, X, y = _xor_like_problem()
    report = glassnet.gradcheck(model, "cross_entropy", X, y)
    assert not report.ok
    assert all(not r.ok for r in report.rows)
    assert report.max_rel_error > 0.5  # off by a factor n = 8


def test_audit_catches_a_sign_flip_in_a_bias_gradient(monkeypatch):
    correct = Dense.backward

    def flipped_bias(self, delta, input_grad=True):
        dx = correct(self, delta, input_grad)
        self.db *= -1
        return dx

    monkeypatch.setattr(Dense, "backward", flipped_bias)
    model, X, y = _xor_like_problem()
    report = glassnet.gradcheck(model, "cross_entropy", X, y)
    assert not report.ok
    assert [r.name for r in report.rows if not r.ok] == ["layers.0.b", "layers.2.b", "layers.4.b"]


def test_report_table_lists_every_parameter():
    model, X, y = _xor_like_problem()
    text = str(glassnet.gradcheck(model, "cross_entropy", X, y))
    for name in model.state_dict():
        assert name in text
    assert "PASS" in text and "rel err" in text


def test_sequential_backward_returns_input_gradient():
    """dL/dX from model.backward matches central differences on X itself."""
    rng = np.random.default_rng(5)
    model = glassnet.MLP([3, 4, 2], activation="tanh", dtype="float64", seed=0)
    X, y = rng.standard_normal((4, 3)), rng.integers(0, 2, 4)
    loss = CrossEntropy()
    _, dz = loss.value_and_grad(model.forward(X), y)
    dX = model.backward(dz)
    eps, numeric = 1e-6, np.zeros_like(X)
    for idx in np.ndindex(X.shape):
        Xp, Xm = X.copy(), X.copy()
        Xp[idx] += eps
        Xm[idx] -= eps
        numeric[idx] = (loss.value(model.forward(Xp), y) - loss.value(model.forward(Xm), y)) / (2 * eps)
    np.testing.assert_allclose(dX, numeric, rtol=1e-6, atol=1e-10)


def test_verbose_gradcheck_prints_the_table(capsys):
    model, X, y = _xor_like_problem()
    report = glassnet.gradcheck(model, "cross_entropy", X, y, verbose=True)
    assert capsys.readouterr().out.strip() == str(report)
    glassnet.gradcheck(model, "cross_entropy", X, y)
    assert capsys.readouterr().out == ""


def test_a_nan_gradient_never_passes(monkeypatch):
    """NaN in a gradient agrees with no finite difference: the row and the report fail (NaN
    relative errors used to fall through ``scale > 0`` to 0, a pass)."""
    model = glassnet.MLP([3, 4, 2], dtype="float64", seed=0)
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((5, 3)), rng.integers(0, 2, 5)
    original = Dense.backward

    def nan_in_db(self, delta, *args, **kwargs):
        out = original(self, delta, *args, **kwargs)
        self.db[0] = np.nan  # one element of one bias gradient
        return out

    monkeypatch.setattr(Dense, "backward", nan_in_db)
    report = glassnet.gradcheck(model, "cross_entropy", X, y)
    assert not report.ok
    assert [row.ok for row in report.rows] == [True, False, True, False]
    assert "FAIL" in str(report).splitlines()[-1]


@pytest.mark.parametrize("l2", [1e4, 1e6])
def test_a_large_penalty_does_not_drown_the_bias_gradients(monkeypatch, l2):
    """With l2 = 1e4 the objective is ~1e4 and its rounding error over h swamped the biases'
    small gradients; the penalty is differenced apart from the data loss, so a correct
    backprop passes, and the penalised weights' gradient (g + l2 W) is still audited."""
    model = glassnet.MLP([4, 8, 3], activation="tanh", dtype="float64", seed=0)
    rng = np.random.default_rng(1)
    X, y = rng.standard_normal((6, 4)), rng.integers(0, 3, 6)
    report = glassnet.gradcheck(model, "cross_entropy", X, y, l2=l2)
    assert report.ok, str(report)
    assert report["layers.0.b"].rel_error < 1e-9

    original = glassnet.Sequential.add_l2
    monkeypatch.setattr(glassnet.Sequential, "add_l2",  # a planted bug: l2/2 W, not l2 W
                        lambda self, l2: original(self, 0.5 * l2))
    wrong = glassnet.gradcheck(model, "cross_entropy", X, y, l2=l2)
    assert not wrong["layers.0.W"].ok and wrong["layers.0.b"].ok
    monkeypatch.undo()
    penalty = glassnet.Sequential.l2_penalty
    monkeypatch.setattr(glassnet.Sequential, "l2_penalty",  # the value twice: J disagrees
                        lambda self, l2: 2.0 * penalty(self, l2))  # with its gradient
    assert not glassnet.gradcheck(model, "cross_entropy", X, y, l2=l2)["layers.0.W"].ok
