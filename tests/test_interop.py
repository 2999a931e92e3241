"""glassnet.interop: PyTorch both ways, ONNX files run in ONNX Runtime, and skl2onnx pipelines.

Each check runs the exported network in the other library and compares with glassnet:
torch to 1e-6 (float32) and 1e-12 (float64), ONNX Runtime to 1e-5 and 1e-10, both relative
and absolute; parameters that travel are compared with ``np.array_equal``; labels must equal
``predict`` exactly. Every test skips with a printed reason when the extra it needs (torch,
onnx, onnxruntime, skl2onnx, scikit-learn) is missing.
"""

import os
import subprocess
import sys
import warnings
from collections import OrderedDict

import numpy as np
import pytest

import glassnet
from glassnet import interop
from glassnet.activations import (ACTIVATIONS, ELU, GELU, Identity, LeakyReLU, ReLU, Sigmoid,
                                  Softplus, Tanh)
from glassnet.layers import Dense, Dropout, Layer

DTYPES = ["float32", "float64"]
TORCH_TOL = {"float32": 1e-6, "float64": 1e-12}
ONNX_TOL = {"float32": 1e-5, "float64": 1e-10}


def torch_or_skip():
    return pytest.importorskip("torch", reason="PyTorch is not installed: to_torch and "
                                               "from_torch are not tested (pip install "
                                               "'glassnet[torch]')")


def onnx_or_skip():
    """onnx (to check the files) and onnxruntime (to run them), or skip."""
    onnx = pytest.importorskip("onnx", reason="onnx is not installed: the ONNX export is not "
                                              "tested (pip install 'glassnet[onnx]')")
    pytest.importorskip("onnxruntime", reason="onnxruntime is not installed: the exported "
                                              "files cannot be run (pip install onnxruntime)")
    return onnx


def skl2onnx_or_skip():
    onnx_or_skip()
    pytest.importorskip("sklearn", reason="scikit-learn is not installed: the estimators "
                                          "are not exported (pip install 'glassnet[sklearn]')")
    return pytest.importorskip("skl2onnx", reason="skl2onnx is not installed: pipelines are "
                                                  "not exported (pip install 'glassnet[onnx]')")


def run_onnx(file_or_proto, X):
    """All outputs of the ONNX model (a file, or a ModelProto) for input ``X``: {name: array}."""
    import onnxruntime
    source = (os.fspath(file_or_proto) if isinstance(file_or_proto, (str, os.PathLike))
              else file_or_proto.SerializeToString())
    session = onnxruntime.InferenceSession(source, providers=["CPUExecutionProvider"])
    names = [out.name for out in session.get_outputs()]
    return dict(zip(names, session.run(None, {session.get_inputs()[0].name: X})))


def inputs(dtype, n=40, width=5, seed=0):
    """Rows of moderate size, then rows 30 times larger: pre-activations beyond softplus's
    threshold of 20 in torch and GELU's saturation."""
    X = np.random.default_rng(seed).standard_normal((n, width))
    return np.vstack([X, 30 * X[:8]]).astype(dtype)


def assert_close(actual, desired, tol, what=""):
    np.testing.assert_allclose(actual, desired, rtol=tol, atol=tol, err_msg=what)


# --- PyTorch ---------------------------------------------------------------------------------

def torch_outputs(torch, module, X):
    with torch.no_grad():
        return module(torch.from_numpy(X)).numpy()


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("activation", list(ACTIVATIONS))
def test_to_torch_computes_what_glassnet_computes(activation, dtype):
    torch = torch_or_skip()
    model = glassnet.MLP([5, 16, 12, 3], activation=activation, dropout=0.25, dtype=dtype,
                         seed=1)
    module = interop.to_torch(model)
    assert isinstance(module, torch.nn.Sequential) and not module.training  # eval mode
    assert all(p.dtype == getattr(torch, dtype) for p in module.parameters())
    X = inputs(dtype)
    assert_close(torch_outputs(torch, module, X), model.forward(X), TORCH_TOL[dtype], activation)


def every_layer_model(dtype):
    """One layer of every kind glassnet exports, with non-default alphas and a Dropout."""
    acts = [Identity(), ReLU(), LeakyReLU(0.2), ELU(0.7), GELU(), Tanh(), Sigmoid(), Softplus()]
    rng = np.random.default_rng(0)
    layers, width = [], 4
    for i, act in enumerate(acts):
        layers += [Dense(width, 6 - i % 2, init="he_normal", seed=rng, dtype=dtype), act]
        width = 6 - i % 2
        if i == 3:
            layers.append(Dropout(0.3, seed=0))
    layers.append(Dense(width, 3, seed=rng, dtype=dtype))
    model = glassnet.Sequential(layers, dtype=dtype)
    for name, p, _ in model.named_parameters():  # biases away from zero, so they count
        p[...] = 0.4 * rng.standard_normal(p.shape)
    return model


@pytest.mark.parametrize("dtype", DTYPES)
def test_model_to_torch_and_back_is_exact(dtype):
    torch = torch_or_skip()
    model = every_layer_model(dtype)
    module = interop.to_torch(model)
    back = interop.from_torch(module)
    assert back.dtype == model.dtype
    assert [type(layer) for layer in back.layers] == [type(layer) for layer in model.layers]
    assert [layer.config() for layer in back.layers if not isinstance(layer, Dense)] == \
        [layer.config() for layer in model.layers if not isinstance(layer, Dense)]
    assert [layer.p for layer in back.layers if isinstance(layer, Dropout)] == [0.3]
    original, copied = model.state_dict(), back.state_dict()
    assert list(original) == list(copied)
    for name in original:
        assert copied[name].dtype == original[name].dtype
        assert np.array_equal(copied[name], original[name]), name
    X = inputs(dtype, width=4)
    assert_close(torch_outputs(torch, module, X), model.forward(X), TORCH_TOL[dtype])
    # and torch -> glassnet -> torch: the same tensors
    again = interop.to_torch(back)
    for (name, p), (_, q) in zip(module.state_dict().items(), again.state_dict().items()):
        assert torch.equal(p, q), name


def test_to_torch_copies_and_leaves_torchs_random_state_alone():
    torch = torch_or_skip()
    model = glassnet.MLP([3, 4, 2], seed=0)
    before = model.state_dict()
    torch.manual_seed(0)
    expected = torch.rand(3)
    torch.manual_seed(0)
    module = interop.to_torch(model)
    assert torch.equal(torch.rand(3), expected)  # no initial weights were drawn
    with torch.no_grad():
        module[0].weight.add_(1.0)
    assert all(np.array_equal(before[k], v) for k, v in model.state_dict().items())


def test_from_torch_reads_a_torch_built_network():
    torch = torch_or_skip()
    nn = torch.nn
    torch.manual_seed(0)
    module = nn.Sequential(OrderedDict(
        fc1=nn.Linear(4, 8), act1=nn.LeakyReLU(0.05), drop=nn.Dropout(0.1),
        fc2=nn.Linear(8, 8), act2=nn.Softplus(), fc3=nn.Linear(8, 8),
        act3=nn.GELU(approximate="tanh"), fc4=nn.Linear(8, 2))).double().eval()
    model = interop.from_torch(module)
    assert model.dtype == np.float64
    assert model.layers[1].alpha == 0.05 and model.layers[2].p == 0.1
    X = inputs("float64", width=4)
    assert_close(model.forward(X), torch_outputs(torch, module, X), TORCH_TOL["float64"])


# modules glassnet cannot represent: a builder from torch.nn, and what the message must say
REFUSED = {
    "convolution": (lambda nn: nn.Conv1d(5, 5, 1), "Conv1d"),
    "batch-norm": (lambda nn: nn.BatchNorm1d(5), "BatchNorm1d"),
    "softplus-beta": (lambda nn: nn.Softplus(beta=2.0), "beta=2"),
    "softplus-threshold": (lambda nn: nn.Softplus(threshold=10.0), "threshold=10"),
    "gelu-erf": (lambda nn: nn.GELU(), "approximate='none'"),
    "linear-without-bias": (lambda nn: nn.Linear(5, 5, bias=False), "bias=False"),
    "nested": (lambda nn: nn.Sequential(nn.ReLU()), "nested"),
    "softmax": (lambda nn: nn.Softmax(dim=1), "logits"),
    "selu": (lambda nn: nn.SELU(), "SELU"),
    "alpha-dropout": (lambda nn: nn.AlphaDropout(0.1), "AlphaDropout"),
    "dropout-p-1": (lambda nn: nn.Dropout(1.0), "p must be in [0, 1)"),
}


@pytest.mark.parametrize("case", list(REFUSED))
def test_from_torch_refuses_what_glassnet_cannot_represent(case):
    torch = torch_or_skip()
    nn = torch.nn
    build, says = REFUSED[case]
    bad = build(nn)
    module = nn.Sequential(nn.Linear(3, 5), nn.ReLU(), bad, nn.Linear(5, 2))
    with pytest.raises(ValueError, match="module 2 of the Sequential") as info:
        interop.from_torch(module)
    assert says in str(info.value) and type(bad).__name__ in str(info.value)


def test_from_torch_names_a_named_module_and_refuses_mixed_or_half_precision():
    torch = torch_or_skip()
    nn = torch.nn
    named = nn.Sequential(OrderedDict(fc=nn.Linear(3, 4), norm=nn.LayerNorm(4)))
    with pytest.raises(ValueError, match=r"module 1 \('norm'\).*LayerNorm"):
        interop.from_torch(named)
    mixed = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2).double())
    with pytest.raises(ValueError, match=r"torch.float32 \(from module 0\), torch.float64 "
                                         r"\(from module 2\)"):
        interop.from_torch(mixed)
    for half in (torch.float16, torch.bfloat16):
        with pytest.raises(ValueError, match=rf"module 1 .*{half}.*float32 or float64"):
            interop.from_torch(nn.Sequential(nn.ReLU(), nn.Linear(3, 4).to(half)))
    with pytest.raises(TypeError, match="torch.nn.Sequential"):
        interop.from_torch(nn.Linear(3, 4))


def test_to_torch_refuses_a_layer_it_does_not_know():
    torch_or_skip()

    class Square(Layer):
        def forward(self, x, training=False):
            return x * x

    model = glassnet.Sequential([Dense(3, 4, seed=0), Square(), Dense(4, 2, seed=0)])
    with pytest.raises(ValueError, match=r"model.layers\[1\], Square\(\), has no PyTorch"):
        interop.to_torch(model)
    with pytest.raises(TypeError, match="glassnet Sequential"):
        interop.to_torch("model")


# --- ONNX: models ----------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("activation", list(ACTIVATIONS))
def test_onnx_model_matches_glassnet(activation, dtype, tmp_path):
    onnx = onnx_or_skip()
    model = glassnet.MLP([5, 16, 12, 3], activation=activation, dropout=0.25, dtype=dtype,
                         seed=1)
    path = tmp_path / "model.onnx"
    proto = interop.to_onnx(model, path)
    onnx.checker.check_model(str(path), full_check=True)
    assert onnx.load(str(path)) == proto
    X = inputs(dtype)
    for rows in (X, X[:1]):  # the batch dimension is dynamic
        out = run_onnx(path, rows)
        assert list(out) == ["logits"] and out["logits"].dtype == np.dtype(dtype)
        assert_close(out["logits"], model.forward(rows), ONNX_TOL[dtype], activation)


@pytest.mark.parametrize("dtype", DTYPES)
def test_onnx_every_layer_kind_with_its_alphas(dtype, tmp_path):
    onnx_or_skip()
    model = every_layer_model(dtype)
    interop.to_onnx(model, tmp_path / "m.onnx")
    X = inputs(dtype, width=4)
    assert_close(run_onnx(tmp_path / "m.onnx", X)["logits"], model.forward(X), ONNX_TOL[dtype])


def test_onnx_file_declares_its_opset_input_and_batch_dimension(tmp_path):
    onnx = onnx_or_skip()
    model = glassnet.MLP([4, 3, 2], dtype="float64", seed=0)
    proto = interop.to_onnx(model, tmp_path / "m.onnx")
    assert [(o.domain, o.version) for o in proto.opset_import] == [("", interop.OPSET)]
    assert interop.OPSET == 17 and proto.ir_version == 8
    (x,) = proto.graph.input
    assert x.name == "X" and x.type.tensor_type.elem_type == onnx.TensorProto.DOUBLE
    assert [d.dim_param or d.dim_value for d in x.type.tensor_type.shape.dim] == ["N", 4]
    assert sorted(t.name for t in proto.graph.initializer) == sorted(model.state_dict())
    X = inputs("float64", width=4)
    for opset in (13, onnx.defs.onnx_opset_version()):
        interop.to_onnx(model, tmp_path / f"{opset}.onnx", opset=opset)
        onnx.checker.check_model(str(tmp_path / f"{opset}.onnx"), full_check=True)
        try:
            out = run_onnx(tmp_path / f"{opset}.onnx", X)["logits"]
        except Exception as exc:  # an onnxruntime older than onnx's newest opset
            if opset == 13:
                raise
            pytest.skip(f"this onnxruntime does not run opset {opset}: {exc}")
        assert_close(out, model.forward(X), ONNX_TOL["float64"])
    for bad in (12, 99, "17", True):
        with pytest.raises(ValueError, match="opset must be an int from 13"):
            interop.to_onnx(model, tmp_path / "bad.onnx", opset=bad)
    assert not (tmp_path / "bad.onnx").exists()


def test_onnx_writes_atomically(tmp_path, monkeypatch):
    onnx_or_skip()
    path = tmp_path / "m.onnx"
    path.write_bytes(b"the old file")
    model = glassnet.MLP([4, 3, 2], seed=0)
    interop.to_onnx(model, path)
    assert path.read_bytes() != b"the old file"
    new = path.read_bytes()
    assert os.listdir(tmp_path) == ["m.onnx"]  # no temporary file left

    class Square(Layer):
        def forward(self, x, training=False):
            return x * x

    with pytest.raises(ValueError, match=r"layers\[1\], Square\(\), has no ONNX export"):
        interop.to_onnx(glassnet.Sequential([Dense(3, 4), Square()]), path)

    def fail(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(OSError, match="disk full"):
        interop.to_onnx(glassnet.MLP([4, 5, 2], seed=1), path)
    assert path.read_bytes() == new and os.listdir(tmp_path) == ["m.onnx"]


# --- ONNX: estimators ------------------------------------------------------------------------

def fit_quietly(estimator, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a few iterations: ConvergenceWarning is expected
        return estimator.fit(X, y)


def estimator_case(name):
    """An unfitted glassnet estimator, its X and y, and the dtype its ONNX file takes."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((90, 4)) * 2 + 1
    three = (X[:, 0] > 1).astype(int) + (X[:, 1] > 1)
    common = {"max_iter": 40, "random_state": 0, "learning_rate_init": 0.01,
              "dtype": "float32"}  # float64 X: 'auto' would give float64 everywhere
    if name == "int-labels":
        est, y = glassnet.MLPClassifier((8,), **common), np.array([-2, 5, 9])[three]
    elif name == "string-labels":
        est = glassnet.MLPClassifier((8, 6), activation=["tanh", "elu"], **common)
        y = np.array(["cat", "dög", "emu"])[three]
    elif name == "binary":
        est, y = glassnet.MLPClassifier((8,), activation="gelu", **common), X[:, 0] > 1
        y = np.where(y, "yes", "no")
    elif name == "binary-int":
        est, y = glassnet.MLPClassifier((8,), activation="softplus", **common), three > 0
        y = y.astype(int) + 3
    elif name == "whole-float-labels":  # exported as int64, as skl2onnx does
        est, y = glassnet.MLPClassifier((8,), **common), three * 2.0 - 1.0
    elif name == "multilabel":
        est, y = glassnet.MLPClassifier((8,), **common), (X[:, :3] > 1).astype(int)
    elif name == "float64":
        est = glassnet.MLPClassifier((8,), activation="leaky_relu",
                                     **{**common, "dtype": "float64"})
        y = three
    elif name == "multi-output":
        est = glassnet.MLPRegressor(hidden_layer_sizes=(8,), activation="sigmoid", **common)
        y = X[:, :2] @ np.array([[1.0, 2.0], [3.0, -4.0]])
    elif name == "poisson":
        est = glassnet.MLPRegressor(loss="poisson", hidden_layer_sizes=(8,), **common)
        y = np.exp(X[:, 0] / 3)
    else:  # a float64 regressor with dropout (the identity at prediction)
        est = glassnet.MLPRegressor(hidden_layer_sizes=(8,), dropout=0.2,
                                    **{**common, "dtype": "float64"})
        y = X[:, 0] - X[:, 1]
    return est, X, y, np.dtype(est.dtype)


def fitted_case(name):
    """A fitted estimator, its X and the dtype its ONNX file takes."""
    est, X, y, dtype = estimator_case(name)
    return fit_quietly(est, X, y), X, dtype


CLASSIFIERS = ["int-labels", "string-labels", "binary", "binary-int", "whole-float-labels",
               "multilabel", "float64"]
REGRESSORS = ["multi-output", "poisson", "float64-dropout"]


def check_estimator_outputs(est, out, X):
    """ONNX outputs against predict / predict_proba: labels exactly, numbers to 1e-5."""
    expected = est.predict(X)
    if hasattr(est, "classes_"):
        label, proba = out["label"], out["probabilities"]
        assert label.shape == expected.shape and np.array_equal(label, expected)
        assert label.dtype == (object if expected.dtype.kind in "UO" else np.int64)
        assert_close(proba, est.predict_proba(X), 1e-5)
    else:
        assert out["variable"].shape == (len(X), est.n_outputs_)
        assert_close(out["variable"], expected.reshape(len(X), -1), 1e-5)


@pytest.mark.parametrize("name", CLASSIFIERS + REGRESSORS)
def test_onnx_estimator_matches_predict(name, tmp_path):
    onnx = onnx_or_skip()
    pytest.importorskip("sklearn", reason="scikit-learn is not installed: no estimators")
    est, X, dtype = fitted_case(name)
    path = tmp_path / "est.onnx"
    interop.to_onnx(est, path)
    onnx.checker.check_model(str(path), full_check=True)
    out = run_onnx(path, X.astype(dtype))
    assert list(out) == (["label", "probabilities"] if hasattr(est, "classes_") else
                         ["variable"])
    check_estimator_outputs(est, out, X.astype(dtype))


def test_onnx_reads_only_what_scikit_learns_own_mlp_has(tmp_path):
    """The fitted attributes read are scikit-learn's: its own MLPClassifier exports too."""
    onnx_or_skip()
    neural_network = pytest.importorskip("sklearn.neural_network",
                                         reason="scikit-learn is not installed")
    _, X, _, _ = estimator_case("int-labels")
    y = np.array(["a", "b", "c"])[(X[:, 0] > 1).astype(int) + (X[:, 1] > 1)]
    est = fit_quietly(neural_network.MLPClassifier((6,), activation="logistic", max_iter=30,
                                                   random_state=0), X, y)
    interop.to_onnx(est, tmp_path / "sk.onnx")
    check_estimator_outputs(est, run_onnx(tmp_path / "sk.onnx", X.astype(np.float64)), X)


def test_class_labels_become_int64_or_strings_or_are_refused():
    """scikit-learn takes no fractional labels, but ONNX could not hold other kinds anyway."""
    from glassnet.interop.onnx import class_labels
    for classes in (np.array([-2, 5]), np.array([False, True]), np.array([0.0, 3.0]),
                    np.array([1, 2], dtype=np.uint8)):
        labels = class_labels(classes)
        assert labels.dtype == np.int64 and np.array_equal(labels, classes)
    for classes in (np.array(["a", "dög"]), np.array(["a", "b"], dtype=object)):
        labels = class_labels(classes)
        assert labels.dtype == object and list(labels) == list(classes)
    for classes in (np.array([0.5, 1.5]), np.array([0, 2**64 - 1], dtype=np.uint64),
                    np.array([(1, 2), "a"], dtype=object)):
        with pytest.raises(ValueError, match="integers or strings"):
            class_labels(classes)


def test_onnx_refuses_unfitted_estimators_and_other_objects(tmp_path):
    onnx_or_skip()
    exceptions = pytest.importorskip("sklearn.exceptions", reason="scikit-learn is not installed")
    with pytest.raises(exceptions.NotFittedError):
        interop.to_onnx(glassnet.MLPClassifier(), tmp_path / "x.onnx")
    with pytest.raises(TypeError, match="expected a glassnet Sequential or a fitted"):
        interop.to_onnx([1, 2], tmp_path / "x.onnx")
    assert os.listdir(tmp_path) == []


# --- skl2onnx pipelines ----------------------------------------------------------------------

@pytest.mark.parametrize("name", ["int-labels", "string-labels", "binary", "multilabel",
                                  "float64", "multi-output", "poisson"])
def test_skl2onnx_exports_a_pipeline_holding_an_estimator(name):
    skl2onnx = skl2onnx_or_skip()
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    interop.register_skl2onnx()
    est, X, y, dtype = estimator_case(name)
    pipeline = fit_quietly(make_pipeline(StandardScaler(), est), X, y)
    options = {type(est): {"zipmap": False}} if hasattr(est, "classes_") else None
    onx = skl2onnx.to_onnx(pipeline, X[:1].astype(dtype), options=options)
    out = run_onnx(onx, X.astype(dtype))
    expected = pipeline.predict(X.astype(dtype))
    if hasattr(est, "classes_"):
        label, proba = out["label"], out["probabilities"]
        assert np.array_equal(label, expected)
        assert_close(proba, pipeline.predict_proba(X.astype(dtype)), 1e-5)
    else:
        assert_close(out["variable"], expected.reshape(len(X), -1), 1e-5)


def test_skl2onnx_default_zipmap_gives_skl2onnxs_usual_outputs():
    """Without options, skl2onnx zips the probabilities into one dict per row, as for its own
    classifiers; registering twice changes nothing."""
    skl2onnx = skl2onnx_or_skip()
    interop.register_skl2onnx()
    interop.register_skl2onnx()
    est, X, dtype = fitted_case("string-labels")
    out = run_onnx(skl2onnx.to_onnx(est, X[:1].astype(dtype)), X.astype(dtype))
    assert list(out) == ["output_label", "output_probability"]
    assert np.array_equal(out["output_label"], est.predict(X))
    proba = np.array([[row[c] for c in est.classes_] for row in out["output_probability"]])
    assert_close(proba, est.predict_proba(X), 1e-5)


# --- optional extras -------------------------------------------------------------------------

@pytest.mark.parametrize("module, extra, call", [
    ("torch", "torch", lambda: interop.to_torch(glassnet.MLP([2, 2], seed=0))),
    ("torch", "torch", lambda: interop.from_torch(None)),
    ("onnx", "onnx", lambda: interop.to_onnx(glassnet.MLP([2, 2], seed=0), "never.onnx")),
    ("skl2onnx", "onnx", lambda: interop.register_skl2onnx()),
])
def test_a_missing_extra_is_named(module, extra, call, monkeypatch, tmp_path):
    """Runs without the extras: ``sys.modules[name] = None`` makes ``import name`` fail."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setitem(sys.modules, module, None)
    with pytest.raises(ImportError, match=rf"pip install 'glassnet\[{extra}\]'"):
        call()
    assert os.listdir(tmp_path) == []


def test_importing_interop_imports_no_extra():
    code = ("import sys, glassnet.interop; "
            "print(sorted(m for m in ('torch', 'onnx', 'skl2onnx', 'onnxruntime', 'sklearn') "
            "if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
