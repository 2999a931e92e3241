"""Model files: round trips, the strict loader against a corpus of broken and hostile files,
random mutations (Hypothesis), and atomic writes.

The references are independent of glassnet's reader: the safetensors library's own reader
(``safe_open``, ``safetensors.numpy.load``), a file assembled here byte by byte with
``struct`` and ``json``, and outputs worked out by hand.
"""

import json
import os
import pickle
import re
import stat
import struct
import sys
import tempfile
import time

import numpy as np
import pytest
import safetensors
import safetensors.numpy
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import glassnet
from glassnet import ModelFileError
from glassnet.activations import ACTIVATIONS, ELU, LeakyReLU, ReLU, Tanh
from glassnet.io import atomic_write, read_info
from glassnet.layers import Dense, Dropout
from glassnet.model import Sequential

DTYPES = ["float32", "float64"]


def inputs(n_features, seed=0, n=32):
    """Rows that reach every branch: both signs, large and tiny magnitudes."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, n_features)) * 3.0
    X[0] = 40.0
    X[1] = -40.0
    X[2] = 1e-3
    return X


def architectures(dtype):
    """{name: model} covering MLP's options and every activation with a non-default config."""
    models = {
        "mlp_relu": glassnet.MLP([3, 5, 2], dtype=dtype, seed=0),
        "mlp_dropout_leaky_elu": glassnet.MLP([4, 8, 6, 3], activation=["leaky_relu", "elu"],
                                              dropout=0.25, init="he_normal", dtype=dtype, seed=1),
        "one_dense": Sequential([Dense(6, 1, seed=2, dtype=dtype)]),
        "alphas": Sequential([Dense(3, 7, seed=3, dtype=dtype), LeakyReLU(alpha=0.2),
                              Dropout(0.5, seed=0), Dense(7, 7, seed=4, dtype=dtype),
                              ELU(alpha=0.5), Dense(7, 2, seed=5, dtype=dtype)], dtype=dtype),
        "activation_first": Sequential([Tanh(), Dense(2, 3, seed=6, dtype=dtype), ReLU(),
                                        Dense(3, 3, seed=7, dtype=dtype)], dtype=dtype),
        "deep": glassnet.MLP([5] + [9] * 6 + [4], activation="gelu", dtype=dtype, seed=8),
    }
    for name, cls in ACTIVATIONS.items():  # every registered activation, once each
        models[f"act_{name}"] = Sequential([Dense(3, 4, seed=9, dtype=dtype), cls(),
                                            Dense(4, 2, seed=10, dtype=dtype)], dtype=dtype)
    return models


ARCHITECTURES = sorted(architectures("float32"))


def layer_configs(model):
    return [(type(layer), layer.config()) for layer in model.layers]


# -- round trips ----------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", ARCHITECTURES)
def test_round_trip_gives_bit_identical_outputs_and_the_same_configuration(tmp_path, name, dtype):
    model = architectures(dtype)[name]
    path = tmp_path / "model.safetensors"
    glassnet.save(model, path)
    loaded = glassnet.load(path)
    assert type(loaded) is Sequential and loaded.dtype == np.dtype(dtype)
    assert layer_configs(loaded) == layer_configs(model)
    assert repr(loaded) == repr(model) and loaded.summary() == model.summary()
    X = inputs(model.n_inputs)
    expected = model.forward(X)
    got = loaded.forward(X)
    assert got.dtype == expected.dtype and np.array_equal(got, expected)
    for (n1, a), (n2, b) in zip(model.state_dict().items(), loaded.state_dict().items()):
        assert n1 == n2 and a.dtype == b.dtype and np.array_equal(a, b)


@pytest.mark.parametrize("dtype", DTYPES)
def test_the_file_is_plain_safetensors_that_its_own_library_reads(tmp_path, dtype):
    """The safetensors library (not glassnet) finds the state_dict's names and arrays, and the
    configuration as JSON in the metadata, as documented."""
    model = architectures(dtype)["alphas"]
    path = tmp_path / "model.safetensors"
    glassnet.save(model, path)
    with safetensors.safe_open(str(path), framework="np") as f:
        assert sorted(f.keys()) == sorted(model.state_dict())
        for name, value in model.state_dict().items():
            assert np.array_equal(f.get_tensor(name), value)
            assert f.get_tensor(name).dtype == np.dtype(dtype)
        metadata = f.metadata()
    assert list(metadata) == ["glassnet"]
    document = json.loads(metadata["glassnet"])
    assert document == {
        "format": "glassnet", "format_version": 1, "glassnet_version": glassnet.__version__,
        "kind": "model",
        "model": {"dtype": dtype, "layers": [
            {"type": "dense", "config": {"n_in": 3, "n_out": 7, "init": "xavier"}},
            {"type": "leaky_relu", "config": {"alpha": 0.2}},
            {"type": "dropout", "config": {"p": 0.5}},
            {"type": "dense", "config": {"n_in": 7, "n_out": 7, "init": "xavier"}},
            {"type": "elu", "config": {"alpha": 0.5}},
            {"type": "dense", "config": {"n_in": 7, "n_out": 2, "init": "xavier"}}]}}


def hand_made_file(dtype="float64"):
    """A 2-2-1 network written byte by byte, without safetensors or glassnet:
    z1 = x @ W1 + b1, a1 = relu(z1), out = a1 @ W2 + b2."""
    W1 = np.array([[1.0, -2.0], [0.5, 3.0]], dtype)
    b1 = np.array([0.25, -1.0], dtype)
    W2 = np.array([[2.0], [-1.0]], dtype)
    b2 = np.array([0.5], dtype)
    code, size = {"float32": ("F32", 4), "float64": ("F64", 8)}[dtype]
    document = {"format": "glassnet", "format_version": 1, "glassnet_version": "0.1.0",
                "kind": "model", "model": {"dtype": dtype, "layers": [
                    {"type": "dense", "config": {"n_in": 2, "n_out": 2, "init": None}},
                    {"type": "relu", "config": {}},
                    {"type": "dense", "config": {"n_in": 2, "n_out": 1, "init": None}}]}}
    header, data = {"__metadata__": {"glassnet": json.dumps(document)}}, b""
    for name, array in [("layers.0.W", W1), ("layers.0.b", b1), ("layers.2.W", W2),
                        ("layers.2.b", b2)]:
        raw = struct.pack(f"<{array.size}{'f' if size == 4 else 'd'}", *array.ravel())
        header[name] = {"dtype": code, "shape": list(array.shape),
                        "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    text = json.dumps(header).encode()
    return struct.pack("<Q", len(text)) + text + data


@pytest.mark.parametrize("dtype", DTYPES)
def test_a_file_made_by_hand_loads_and_computes_the_worked_example(tmp_path, dtype):
    path = tmp_path / "hand.safetensors"
    path.write_bytes(hand_made_file(dtype))
    model = glassnet.load(path)
    # x = (1, 1): z1 = (1 + 0.5 + 0.25, -2 + 3 - 1) = (1.75, 0); relu: (1.75, 0);
    # out = 1.75 * 2 + 0 * -1 + 0.5 = 4.0
    # x = (-1, 2): z1 = (-1 + 1 + 0.25, 2 + 6 - 1) = (0.25, 7); out = 0.5 - 7 + 0.5 = -6.0
    out = model.forward(np.array([[1.0, 1.0], [-1.0, 2.0]]))
    assert out.dtype == np.dtype(dtype) and out.tolist() == [[4.0], [-6.0]]
    assert layer_configs(model) == [(Dense, {"n_in": 2, "n_out": 2, "init": None}), (ReLU, {}),
                                    (Dense, {"n_in": 2, "n_out": 1, "init": None})]


def test_saving_twice_writes_the_same_bytes_and_a_path_may_be_a_string(tmp_path):
    model = architectures("float32")["mlp_dropout_leaky_elu"]
    glassnet.save(model, str(tmp_path / "a.safetensors"))
    glassnet.save(model, tmp_path / "b.safetensors")
    assert (tmp_path / "a.safetensors").read_bytes() == (tmp_path / "b.safetensors").read_bytes()
    assert sorted(os.listdir(tmp_path)) == ["a.safetensors", "b.safetensors"]  # no temp left


def test_dropout_of_a_loaded_model_draws_from_the_seed_given_to_load(tmp_path):
    path = tmp_path / "model.safetensors"
    glassnet.save(glassnet.MLP([4, 64, 2], dropout=0.5, dtype="float64", seed=0), path)
    X = inputs(4)
    a = glassnet.load(path, seed=7).forward(X, training=True)
    b = glassnet.load(path, seed=7).forward(X, training=True)
    c = glassnet.load(path, seed=8).forward(X, training=True)
    fresh = [glassnet.load(path).forward(X, training=True) for _ in range(2)]
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    assert not np.array_equal(*fresh)  # no seed: fresh entropy (2 ** -2048 to fail by chance)
    model = glassnet.load(path)
    assert np.array_equal(model.forward(X), model.forward(X))  # evaluation: no dropout


def test_a_loaded_model_trains_like_the_original(tmp_path):
    X = inputs(3, n=40)
    y = (X[:, 0] > 0).astype(int)
    model = glassnet.MLP([3, 6, 2], dtype="float64", seed=0)
    glassnet.save(model, tmp_path / "m.safetensors")
    loaded = glassnet.load(tmp_path / "m.safetensors")
    glassnet.fit(model, X, y, epochs=3, batch_size=8, seed=0)
    glassnet.fit(loaded, X, y, epochs=3, batch_size=8, seed=0)
    assert np.array_equal(model.flat_params, loaded.flat_params)


class Custom(ReLU):
    pass


def test_save_refuses_what_load_could_not_give_back(tmp_path):
    path = tmp_path / "m.safetensors"
    with pytest.raises(TypeError, match="glassnet.save takes a Sequential"):
        glassnet.save({"layers.0.W": np.ones((2, 2))}, path)
    with pytest.raises(ValueError, match=r"cannot save layers\[1\] \(Custom\)"):
        glassnet.save(Sequential([Dense(2, 2), Custom(), Dense(2, 2)]), path)
    nan_weight = glassnet.MLP([2, 3, 2], seed=0)
    nan_weight.layers[2].W[0, 0] = np.nan
    with pytest.raises(ValueError, match="cannot save this model: layers.2.W holds NaN or inf"):
        glassnet.save(nan_weight, path)
    with pytest.raises(ValueError, match=r"cannot save this model: layers\[1\] \(leaky_relu\): "
                                         r"alpha must be a finite number"):
        glassnet.save(Sequential([Dense(2, 2), LeakyReLU(alpha=float("inf"))]), path)
    assert os.listdir(tmp_path) == []


def test_error_type_and_missing_paths(tmp_path):
    assert issubclass(ModelFileError, ValueError)
    error = pickle.loads(pickle.dumps(ModelFileError("m.safetensors", "truncated")))
    assert str(error) == "m.safetensors: truncated" and error.problem == "truncated"
    with pytest.raises(FileNotFoundError):  # the choice for a missing file
        glassnet.load(tmp_path / "missing.safetensors")
    with pytest.raises(ModelFileError, match=f"^{re.escape(str(tmp_path))}: is a folder"):
        glassnet.load(tmp_path)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes on this platform")
def test_a_named_pipe_is_refused_at_once_not_waited_on(tmp_path):
    fifo = tmp_path / "pipe.safetensors"
    os.mkfifo(fifo)
    with pytest.raises(ModelFileError, match="is not a regular file"):
        glassnet.load(fifo)


@pytest.mark.skipif(sys.platform == "win32" or os.geteuid() == 0,
                    reason="permission bits are not enforced here (Windows, or root)")
def test_an_unreadable_file_is_a_permission_error(tmp_path):
    path = tmp_path / "m.safetensors"
    glassnet.save(glassnet.MLP([2, 2]), path)
    path.chmod(0)
    with pytest.raises(PermissionError):
        glassnet.load(path)


# -- the corpus of broken and hostile files ----------------------------------------------------

def base_model():
    return Sequential([Dense(3, 4, seed=0), LeakyReLU(alpha=0.2), Dropout(0.1),
                       Dense(4, 2, seed=1)])


def base_bytes():
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "base.safetensors")
        glassnet.save(base_model(), path)
        with open(path, "rb") as f:
            return f.read()


BASE = base_bytes()


def split(data):
    """(header dict, data section) of a valid file, parsed here with plain json."""
    n = struct.unpack("<Q", data[:8])[0]
    return json.loads(data[8:8 + n]), data[8 + n:]


def join(header, data=None, raw=None):
    """A file from a header (a dict, or ``raw`` JSON text) and a data section."""
    text = (raw if raw is not None else json.dumps(header)).encode("utf-8", "surrogatepass")
    return struct.pack("<Q", len(text)) + text + (split(BASE)[1] if data is None else data)


def document():
    return json.loads(split(BASE)[0]["__metadata__"]["glassnet"])


def with_document(doc=None, raw=None):
    """The base file with its configuration replaced (a dict, or ``raw`` text)."""
    header, data = split(BASE)
    header["__metadata__"]["glassnet"] = raw if raw is not None else json.dumps(doc)
    return join(header, data)


def edit_document(edit):
    doc = document()
    edit(doc)
    return with_document(doc)


def edit_header(edit):
    header, data = split(BASE)
    result = edit(header)
    return join(header, result if isinstance(result, bytes) else data)


def tensors_of(arrays, doc=None):
    """A file whose tensors are ``arrays`` (name -> array, written as given), laid out in
    order, with the base configuration or ``doc``."""
    header = {"__metadata__": {"glassnet": json.dumps(doc or document())}}
    data = b""
    for name, a in arrays.items():
        raw = np.ascontiguousarray(a).astype(a.dtype.newbyteorder("<")).tobytes()
        code = {"f4": "F32", "f8": "F64", "i4": "I32", "f2": "F16"}[a.dtype.str[1:]]
        header[name] = {"dtype": code, "shape": list(a.shape),
                        "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    return join(header, data)


def state(**changes):
    arrays = dict(base_model().state_dict())
    arrays.update(changes)
    return {k: v for k, v in arrays.items() if v is not None}


def poisoned(name, index, value, dtype="float32"):
    arrays = state()
    if dtype == "float64":
        arrays = {k: v.astype("float64") for k, v in arrays.items()}
    arrays[name] = arrays[name].copy()
    arrays[name][index] = value
    doc = document()
    doc["model"]["dtype"] = dtype
    return tensors_of(arrays, doc)


def set_in(path, value):
    """An edit that sets ``doc[path[0]][path[1]]... = value`` (None deletes)."""
    def edit(doc):
        for key in path[:-1]:
            doc = doc[key]
        if value is None:
            del doc[path[-1]]
        else:
            doc[path[-1]] = value
    return edit


def offsets(name, begin, end):
    def edit(header):
        header[name]["data_offsets"] = [begin, end]
    return edit


def entry(name, key, value):
    def edit(header):
        if value is None:
            del header[name][key]
        else:
            header[name][key] = value
    return edit


RAW_DOC = json.dumps(document())
W0 = state()["layers.0.W"]

# id: (bytes of the file, a regex the message must match). The message always starts with
# the path; each case is checked to fail before anything is built.
CORPUS = {
    # the container: length prefix, header, layout
    "empty_file": (b"", "0 bytes long, too short"),
    "seven_bytes": (BASE[:7], "7 bytes long, too short"),
    "header_length_beyond_file": (struct.pack("<Q", len(BASE)) + BASE[8:], "goes past the end"),
    "header_length_2**63": (struct.pack("<Q", 2**63) + BASE[8:], "goes past the end"),
    "header_length_2**64-1": (b"\xff" * 8 + BASE[8:], "goes past the end"),
    "header_length_zero": (b"\0" * 8 + BASE[8:], "does not begin with '{'"),
    "header_length_short": (struct.pack("<Q", 50) + BASE[8:], "not valid JSON"),
    "header_not_json": (join(None, raw="{this is not json}"), "not valid JSON"),
    "header_leading_space": (join(None, raw=" " + json.dumps(split(BASE)[0])),
                             "does not begin with '{'"),
    "header_not_utf8": (struct.pack("<Q", 8) + b'{"\xff":1}' + split(BASE)[1], "not UTF-8"),
    "header_deeply_nested": (join(None, raw='{"a":' + "[" * 100_000 + "]" * 100_000 + "}"),
                             "not valid JSON"),
    "header_5000_digit_int": (join(None, raw=json.dumps(split(BASE)[0]).replace(
        '"shape": [4]', '"shape": [' + "9" * 5000 + "]")), "not valid JSON"),
    "header_a_list": (join(None, raw="[1, 2]"), "does not begin with '{'"),
    "header_duplicate_tensor": (join(None, raw=json.dumps(split(BASE)[0])[:-1] + ', "layers.0.b": '
                                     + json.dumps(split(BASE)[0]["layers.0.b"]) + "}"),
                                "repeats the key 'layers.0.b'"),
    "header_nan_constant": (join(None, raw=json.dumps(split(BASE)[0]).replace(
        '"shape": [4]', '"shape": [NaN]')), "holds NaN"),
    "trailing_byte": (BASE + b"\0", "1 bytes follow the last tensor"),
    "trailing_model": (BASE + BASE, f"{len(BASE)} bytes follow the last tensor"),
    "model_truncated_in_data": (BASE[:-1], "outside the data section"),
    "offsets_beyond_data": (edit_header(offsets("layers.3.b", 104, 112)),
                            "outside the data section"),
    "offsets_reversed": (edit_header(offsets("layers.3.b", 104, 96)), "outside the data section"),
    "offsets_negative": (edit_header(offsets("layers.0.W", -8, 40)), "outside the data section"),
    "offsets_three": (edit_header(entry("layers.0.W", "data_offsets", [0, 24, 48])),
                      "data_offsets must be two ints"),
    "offsets_floats": (edit_header(entry("layers.0.W", "data_offsets", [0.0, 48.0])),
                       "data_offsets must be two ints"),
    # the tensors' entries
    "dtype_int32": (tensors_of(state(**{"layers.0.W": W0.astype("i4")})),
                    "'I32'.*F32 and F64 only"),
    "dtype_float16": (tensors_of(state(**{"layers.0.W": W0.astype("f2")})), "'F16'"),
    "dtype_bool": (edit_header(entry("layers.0.W", "dtype", "BOOL")), "'BOOL'"),
    "dtype_other_than_the_model": (tensors_of(state(**{"layers.0.W": W0[:, :2].astype("f8")})),
                                   "tensor layers.0.W is F64 but the model's dtype is float32"),
    "shape_product_overflows": (edit_header(entry("layers.0.W", "shape", [2**62] * 3)),
                                "needs more bytes than the file holds"),
    "shape_product_is_2**64": (edit_header(entry("layers.0.W", "shape", [2**32, 2**32])),
                               "needs more bytes"),
    "shape_negative": (edit_header(entry("layers.0.W", "shape", [-3, -4])), "ints >= 0"),
    "shape_bool": (edit_header(entry("layers.0.b", "shape", [True, 4])), "ints >= 0"),
    "shape_a_string": (edit_header(entry("layers.0.W", "shape", "3x4")), "ints >= 0"),
    "shape_bytes_disagree": (edit_header(entry("layers.0.W", "shape", [3, 3])),
                             "needs 36 bytes but data_offsets give 48"),
    "entry_unknown_key": (edit_header(entry("layers.0.W", "strides", [16, 4])),
                          "exactly the keys"),
    "entry_missing_key": (edit_header(entry("layers.0.W", "dtype", None)), "exactly the keys"),
    "entry_not_an_object": (edit_header(lambda h: h.update({"layers.0.W": [1, 2]})),
                            "exactly the keys"),
    "tensor_missing": (tensors_of(state(**{"layers.0.b": None})), "lacks the tensor.*layers.0.b"),
    "tensor_extra": (tensors_of(state(**{"layers.1.W": np.ones((4, 4), "f4")})),
                     "tensor\\(s\\) the model does not have: 'layers.1.W'"),
    "shape_transposed": (tensors_of(state(**{"layers.0.W": W0.T.copy()})),
                         r"layers.0.W has shape \(4, 3\) but the configuration gives \(3, 4\)"),
    "bias_as_a_row": (tensors_of(state(**{"layers.0.b": np.zeros((1, 4), "f4")})),
                      r"layers.0.b has shape \(1, 4\)"),
    "shapes_do_not_chain": (tensors_of(state(**{"layers.3.W": np.ones((5, 2), "f4")}),
                                       json.loads(RAW_DOC.replace('"n_in": 4, "n_out": 2',
                                                                  '"n_in": 5, "n_out": 2'))),
                            (r"layers\[3\] \(dense\) takes 5 inputs but the layers before it "
                             r"give 4: the shapes do not chain")),
    "nan_weight": (poisoned("layers.0.W", (1, 2), np.nan), "tensor layers.0.W holds NaN or inf"),
    "inf_weight": (poisoned("layers.3.W", (0, 1), np.inf), "layers.3.W holds NaN or inf"),
    "minus_inf_bias_float64": (poisoned("layers.0.b", 3, -np.inf, "float64"),
                               "layers.0.b holds NaN"),
    "nan_bias_float64": (poisoned("layers.3.b", 0, np.nan, "float64"), "layers.3.b holds NaN"),
    # the metadata
    "no_metadata": (edit_header(lambda h: h.pop("__metadata__") and None), "no __metadata__"),
    "metadata_not_an_object": (edit_header(lambda h: h.update(__metadata__="glassnet")),
                               "must map names to strings"),
    "metadata_value_an_object": (edit_header(lambda h: h.update(__metadata__={"glassnet":
                                                                          document()})),
                                 "must map names to strings"),
    "metadata_unknown_key": (edit_header(lambda h: h["__metadata__"].update(format="pt")),
                             "__metadata__ has unknown key.*'format'"),
    "metadata_only_pytorch": (edit_header(lambda h: h.update(__metadata__={})),
                              "no 'glassnet' entry"),
    "config_not_json": (with_document(raw="{nope"), "'glassnet' metadata is not valid JSON"),
    "config_empty": (with_document(raw=""), "not valid JSON"),
    "config_duplicate_key": (with_document(raw=RAW_DOC[:-1] + ', "kind": "model"}'),
                             "repeats the key 'kind'"),
    "config_nan": (with_document(raw=RAW_DOC.replace('"alpha": 0.2', '"alpha": NaN')), "NaN"),
    "config_infinity": (with_document(raw=RAW_DOC.replace('"p": 0.1', '"p": -Infinity')),
                        "-Infinity"),
    "config_1e999": (with_document(raw=RAW_DOC.replace('"alpha": 0.2', '"alpha": 1e999')),
                     "'1e999', beyond the float range"),
    "config_a_list": (with_document(raw="[]"), "must be a JSON object"),
    "format_other": (edit_document(set_in(["format"], "keras")), "format is 'keras'"),
    "format_missing": (edit_document(set_in(["format"], None)), "format is None"),
    "format_version_newer": (edit_document(set_in(["format_version"], 2)),
                             r"from a newer glassnet \(0.1.0, format version 2\).*upgrade"),
    "format_version_newer_with_new_keys": (
        edit_document(lambda d: d.update(format_version=7, glassnet_version="3.0", optimizer={})),
        "from a newer glassnet"),
    "format_version_zero": (edit_document(set_in(["format_version"], 0)), "int >= 1, got 0"),
    "format_version_string": (edit_document(set_in(["format_version"], "1")), "got '1'"),
    "format_version_bool": (edit_document(set_in(["format_version"], True)), "got True"),
    "glassnet_version_escape_codes": (edit_document(set_in(["glassnet_version"], "0.1\x1b[2J")),
                                      "version string"),
    "kind_unknown": (edit_document(set_in(["kind"], "classifier")), "unknown kind 'classifier'"),
    "top_unknown_key": (edit_document(set_in(["comment"], "hi")), "unknown key.*'comment'"),
    "top_missing_model": (edit_document(set_in(["model"], None)), "lacks the key.*'model'"),
    "model_unknown_key": (edit_document(set_in(["model", "loss"], "mse")), "unknown key.*'loss'"),
    "dtype_float16_model": (edit_document(set_in(["model", "dtype"], "float16")),
                            "dtype must be 'float32' or 'float64', got 'float16'"),
    "dtype_int32_model": (edit_document(set_in(["model", "dtype"], "int32")), "got 'int32'"),
    "dtype_a_list": (edit_document(set_in(["model", "dtype"], [])), "got \\[\\]"),
    "dtype_an_object": (edit_document(set_in(["model", "dtype"], {})), "got \\{\\}"),
    "layers_not_a_list": (edit_document(set_in(["model", "layers"], {})), "must be a list"),
    "layer_unknown_type": (edit_document(set_in(["model", "layers", 1, "type"], "conv2d")),
                           "unknown type 'conv2d'; known: dense, dropout, elu"),
    "layer_unknown_activation": (edit_document(set_in(["model", "layers", 1, "type"], "swish")),
                                 "unknown type 'swish'"),
    "layer_type_in_another_case": (edit_document(set_in(["model", "layers", 1, "type"], "ReLU")),
                                   "unknown type 'ReLU'"),
    "layer_type_an_import_path": (edit_document(set_in(["model", "layers", 1, "type"],
                                                       "os.system")), "unknown type 'os.system'"),
    "layer_type_a_class_name": (edit_document(set_in(["model", "layers", 0, "type"], "Dense")),
                                "unknown type 'Dense'"),
    "layer_type_not_a_string": (edit_document(set_in(["model", "layers", 1, "type"], 3)),
                                "unknown type 3"),
    "layer_unknown_key": (edit_document(set_in(["model", "layers", 0, "name"], "fc1")),
                          r"layers\[0\] has unknown key.*'name'"),
    "layer_config_unknown_key": (edit_document(set_in(["model", "layers", 0, "config", "bias"],
                                                      False)), "unknown key.*'bias'"),
    "layer_config_missing_key": (edit_document(set_in(["model", "layers", 0, "config", "init"],
                                                      None)), "lacks the key.*'init'"),
    "dense_n_in_zero": (edit_document(set_in(["model", "layers", 0, "config", "n_in"], 0)),
                        "n_in must be a positive int, got 0"),
    "dense_n_out_float": (edit_document(set_in(["model", "layers", 0, "config", "n_out"], 4.0)),
                          "n_out must be a positive int, got 4.0"),
    "dense_n_in_bool": (edit_document(set_in(["model", "layers", 0, "config", "n_in"], True)),
                        "n_in must be a positive int, got True"),
    "dense_n_in_huge": (edit_document(set_in(["model", "layers", 0, "config", "n_in"], 10**30)),
                        "shape .* but the configuration gives"),
    "dense_init_unknown": (edit_document(set_in(["model", "layers", 0, "config", "init"], "ones")),
                           "unknown initialiser 'ones'"),
    "dropout_p_one": (edit_document(set_in(["model", "layers", 2, "config", "p"], 1.0)),
                      r"p must be in \[0, 1\), got 1.0"),
    "dropout_p_negative": (edit_document(set_in(["model", "layers", 2, "config", "p"], -0.1)),
                           r"p must be in \[0, 1\)"),
    "dropout_p_string": (edit_document(set_in(["model", "layers", 2, "config", "p"], "0.1")),
                         "p must be a finite number, got '0.1'"),
    "dropout_p_400_digits": (edit_document(set_in(["model", "layers", 2, "config", "p"], 10**400)),
                             "p must be a finite number"),
    "leaky_alpha_string": (edit_document(set_in(["model", "layers", 1, "config", "alpha"], "0.2")),
                           "alpha must be a finite number"),
    "leaky_alpha_bool": (edit_document(set_in(["model", "layers", 1, "config", "alpha"], False)),
                         "alpha must be a finite number"),
    "relu_given_a_config": (edit_document(lambda d: d["model"]["layers"][1].update(
        type="relu")), r"layers\[1\] \(relu\)'s config has unknown key.*'alpha'"),
    # not model files at all
    "a_pickle_renamed": (pickle.dumps(base_model()), "goes past the end|too short"),
    "a_json_file": (b'{"format": "glassnet"}\n', "goes past the end"),
    "zeros": (bytes(1000), "does not begin with '{'"),
    "an_onnx_like_header": (b"\x08\x07\x12\x07pytorch" + bytes(100), "goes past the end|begin"),
}


def _gap_file():
    """Layer 0's bias moved 8 bytes later: 8 bytes between two tensors belong to none."""
    header, data = split(BASE)
    names = sorted((v["data_offsets"][0], k) for k, v in header.items() if k != "__metadata__")
    _, last_name = names[-1]
    begin, end = header[last_name]["data_offsets"]
    header[last_name]["data_offsets"] = [begin + 8, end + 8]
    return join(header, data[:begin] + bytes(8) + data[begin:])


def _overlap_file():
    """Layer 0's bias shares the last 16 bytes of its weights, and the data section is 16
    bytes shorter: the tensors cover it with no gap, but two of them share bytes."""
    header, data = split(tensors_of(state()))
    assert header["layers.0.W"]["data_offsets"] == [0, 48]  # then b [48, 64], W [64, 96], ...
    header["layers.0.b"]["data_offsets"] = [32, 48]
    for name in ("layers.3.W", "layers.3.b"):
        begin, end = header[name]["data_offsets"]
        header[name]["data_offsets"] = [begin - 16, end - 16]
    return join(header, data[:48] + data[64:])


CORPUS["offsets_gap"] = (_gap_file(), "belong to no tensor")
CORPUS["offsets_overlap"] = (_overlap_file(), "tensor 'layers.0.b' overlaps tensor 'layers.0.W'")
for _seed, _size in enumerate([1, 8, 9, 64, 1000, 10_000]):
    CORPUS[f"random_bytes_{_size}"] = (np.random.default_rng(_seed).bytes(_size),
                                       "too short|goes past|begin|UTF-8|JSON|metadata")
NOT_READ_BY_INSPECT = {"nan_weight", "inf_weight", "minus_inf_bias_float64", "nan_bias_float64"}


@pytest.fixture
def nothing_is_built(monkeypatch):
    """Building a model from a file fails the test: the checks must come first."""
    def refuse(*args, **kwargs):
        raise AssertionError("a model was built from a bad file")
    monkeypatch.setattr("glassnet.io.reading._build", refuse)


@pytest.mark.parametrize("case", sorted(CORPUS))
def test_every_bad_file_raises_model_file_error_naming_the_file(tmp_path, case, nothing_is_built):
    data, message = CORPUS[case]
    path = tmp_path / "model.safetensors"
    path.write_bytes(data)
    started = time.perf_counter()
    with pytest.raises(ModelFileError) as error:
        glassnet.load(path)
    assert time.perf_counter() - started < 1.0
    assert str(error.value).startswith(f"{path}: ")
    assert "\n" not in str(error.value) and len(str(error.value)) < 400
    assert re.search(message, error.value.problem), error.value.problem
    if case in NOT_READ_BY_INSPECT:  # the header is valid: only the data is bad
        read_info(path)
    else:
        with pytest.raises(ModelFileError):
            read_info(path)


def test_the_corpus_starts_from_a_valid_file(tmp_path):
    """Each case differs from the base file in what it names, and the base file loads."""
    path = tmp_path / "model.safetensors"
    path.write_bytes(BASE)
    X = inputs(3)
    assert np.array_equal(glassnet.load(path).forward(X), base_model().forward(X))
    path.write_bytes(tensors_of(state()))  # the corpus's own writer makes valid files too
    assert np.array_equal(glassnet.load(path).forward(X), base_model().forward(X))


@pytest.mark.parametrize("length", range(len(BASE)))
def test_every_truncation_raises_model_file_error(tmp_path, length):
    path = tmp_path / "model.safetensors"
    path.write_bytes(BASE[:length])
    with pytest.raises(ModelFileError, match="too short|goes past the end|outside the data"):
        glassnet.load(path)


# -- random mutations -------------------------------------------------------------------------

mutation = st.one_of(
    st.tuples(st.just("flip"), st.integers(0, 10**6), st.integers(1, 255)),
    st.tuples(st.just("bit"), st.integers(0, 10**6), st.sampled_from([1, 2, 4, 8, 16, 32, 64])),
    st.tuples(st.just("ascii"), st.integers(0, 10**6), st.integers(32, 126)),  # JSON stays text
    st.tuples(st.just("digit"), st.integers(0, 10**6), st.sampled_from(b"0123456789-.e")),
    st.tuples(st.just("data"), st.integers(1, 104), st.integers(1, 255)),  # counted from the end
    st.tuples(st.just("insert"), st.integers(0, 10**6), st.binary(min_size=1, max_size=16)),
    st.tuples(st.just("delete"), st.integers(0, 10**6), st.integers(1, 16)),
    st.tuples(st.just("truncate"), st.integers(0, 10**6), st.just(0)),
)


def mutate(data, changes):
    """Apply each change: flip bits of a byte, put a printable character, change one of the
    numbers (the k-th digit of the file), flip a byte of the weights, insert, delete,
    truncate."""
    data = bytearray(data)
    for kind, position, arg in changes:
        i = position % (len(data) + 1)
        digits = [j for j, byte in enumerate(data) if chr(byte).isdigit()]
        if kind in ("flip", "bit") and i < len(data):
            data[i] ^= arg
        elif kind == "ascii" and i < len(data):
            data[i] = arg
        elif kind == "digit" and digits:
            data[digits[position % len(digits)]] = arg
        elif kind == "data" and position <= len(data):
            data[-position] ^= arg
        elif kind == "insert":
            data[i:i] = arg
        elif kind == "delete":
            del data[i:i + arg]
        elif kind == "truncate":
            del data[i:]
    return bytes(data)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(mutation, min_size=1, max_size=3))
def test_random_mutations_load_with_finite_weights_or_raise_model_file_error(changes):
    data = mutate(BASE, changes)
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "model.safetensors")
        with open(path, "wb") as f:
            f.write(data)
        try:
            model = glassnet.load(path)
        except ModelFileError as error:
            assert str(error).startswith(path)
            return
    # Accepted: then the safetensors library reads the same tensors, every one finite.
    reference = safetensors.numpy.load(data)
    weights = model.state_dict()
    assert sorted(weights) == sorted(reference)
    for name, value in weights.items():
        assert np.isfinite(value).all() and np.array_equal(value, reference[name])


# -- atomic writes ----------------------------------------------------------------------------

def test_atomic_write_replaces_the_file_and_keeps_its_permissions(tmp_path):
    path = tmp_path / "f.bin"
    atomic_write(path, b"old")
    path.chmod(0o640)
    atomic_write(str(path), b"new contents")
    assert path.read_bytes() == b"new contents"
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert os.listdir(tmp_path) == ["f.bin"]


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX permission bits")
def test_a_new_file_gets_the_permissions_open_would_give(tmp_path):
    old = os.umask(0o027)
    try:
        atomic_write(tmp_path / "f.bin", b"x")
        with open(tmp_path / "g.bin", "wb"):
            pass
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "f.bin").stat().st_mode) == 0o640
    assert (tmp_path / "f.bin").stat().st_mode == (tmp_path / "g.bin").stat().st_mode


def fail(*args, **kwargs):
    raise OSError(28, "No space left on device (planted)")


def interrupt(*args, **kwargs):
    raise KeyboardInterrupt


@pytest.mark.parametrize("target, planted", [("replace", fail), ("fsync", fail),
                                             ("replace", interrupt), ("chmod", fail)])
def test_a_save_that_raises_leaves_the_old_file_and_no_temporary_file(tmp_path, monkeypatch,
                                                                      target, planted):
    path = tmp_path / "model.safetensors"
    old = glassnet.MLP([3, 4, 2], seed=0)
    glassnet.save(old, path)
    before = path.read_bytes()
    monkeypatch.setattr(f"glassnet.io.writing.os.{target}", planted)
    with pytest.raises((OSError, KeyboardInterrupt)):
        glassnet.save(glassnet.MLP([3, 4, 2], seed=1), path)
    monkeypatch.undo()
    assert os.listdir(tmp_path) == ["model.safetensors"]
    assert path.read_bytes() == before


def test_a_write_that_fails_midway_leaves_no_temporary_file(tmp_path, monkeypatch):
    """The disk fills after some bytes: the temporary file is removed, the old one stays."""
    path = tmp_path / "model.safetensors"
    atomic_write(path, b"old")
    import io as stdlib_io

    class FullDisk(stdlib_io.FileIO):
        def write(self, data):
            super().write(data[:10])
            raise OSError(28, "No space left on device (planted)")

    real_open = open

    def full_disk_open(file, mode="r", *args, **kwargs):  # only the temporary file's fd
        return FullDisk(file, "wb") if isinstance(file, int) else real_open(file, mode, *args,
                                                                              **kwargs)
    monkeypatch.setattr("glassnet.io.writing.open", full_disk_open, raising=False)
    with pytest.raises(OSError, match="planted"):
        atomic_write(path, b"new" * 1000)
    assert os.listdir(tmp_path) == ["model.safetensors"] and path.read_bytes() == b"old"


def test_saving_into_a_missing_folder_or_over_a_folder_fails_cleanly(tmp_path):
    model = glassnet.MLP([2, 2], seed=0)
    missing = tmp_path / "no" / "such"
    with pytest.raises(FileNotFoundError, match=f"the folder {missing} does not exist"):
        glassnet.save(model, missing / "model.safetensors")
    (tmp_path / "taken").mkdir()
    with pytest.raises(OSError):
        glassnet.save(model, tmp_path / "taken")
    assert os.listdir(tmp_path) == ["taken"] and os.listdir(tmp_path / "taken") == []
