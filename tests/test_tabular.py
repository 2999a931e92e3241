"""glassnet.tabular: metrics, the columns' encoding, the target, reading tables, and the
"tabular" kind of model file.

The references are independent of the code under test: scikit-learn's metrics, StandardScaler
and OneHotEncoder, SciPy's logsumexp and softmax, Python's ``statistics`` (exact sums), NumPy,
pandas' own writers, and files whose JSON metadata is rewritten here with plain ``json``.
"""

import json
import math
import statistics
import struct
import warnings

import numpy as np
import pytest

pd = pytest.importorskip("pandas", reason="glassnet.tabular needs pandas")
sklearn_metrics = pytest.importorskip("sklearn.metrics", reason="the references are scikit-learn's")
sklearn_preprocessing = pytest.importorskip("sklearn.preprocessing",
                                            reason="the references are scikit-learn's")
scipy_special = pytest.importorskip("scipy.special", reason="the log-loss reference is SciPy's")

import glassnet  # noqa: E402
from glassnet import ModelFileError  # noqa: E402
from glassnet.tabular import (  # noqa: E402
    DataError,
    Table,
    TabularEncoder,
    TabularModel,
    Target,
    classification_metrics,
    infer_task,
    per_class,
    read_table,
    regression_metrics,
)


# -- metrics ------------------------------------------------------------------------------

@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("k", [2, 3, 7])
def test_accuracy_and_log_loss_equal_scikit_learns(seed, k):
    rng = np.random.default_rng(seed)
    n = 200
    z = rng.standard_normal((n, k)) * 2.0
    y = rng.integers(0, k, size=n)
    got = classification_metrics(z, y)
    proba = scipy_special.softmax(z, axis=1)
    assert got["accuracy"] == pytest.approx(
        sklearn_metrics.accuracy_score(y, np.argmax(z, axis=1)), rel=1e-12)
    assert got["log_loss"] == pytest.approx(
        sklearn_metrics.log_loss(y, proba, labels=list(range(k))), rel=1e-9)


def test_log_loss_of_extreme_logits_is_finite_and_equals_a_float64_logsumexp():
    """softmax of +-700 underflows to probability 0; the loss from the scores must not."""
    z = np.array([[700.0, -700.0, 0.0],
                  [-700.0, 700.0, 3.0],
                  [700.0, 699.0, -700.0],
                  [-700.0, -700.0, 700.0],
                  [1.0, 2.0, 3.0]])
    y = np.array([1, 0, 1, 2, 0])  # rows 0 and 1: the true class has probability ~e^-1400
    rows = np.arange(len(y))
    with np.errstate(under="ignore"):  # SciPy's exp(-1400) underflows to 0, rightly
        expected = np.mean(scipy_special.logsumexp(z, axis=1) - z[rows, y])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = classification_metrics(z, y)
    assert math.isfinite(got["log_loss"])
    assert got["log_loss"] == pytest.approx(expected, rel=1e-12)
    assert got["log_loss"] > 500  # two rows lose ~1400 each: no clipping at eps
    assert got["accuracy"] == pytest.approx(1 / 5)  # only row 3 (class 2) is right


def test_per_class_equals_scikit_learns_precision_recall_support_with_a_class_never_predicted():
    rng = np.random.default_rng(3)
    n, k = 150, 4
    z = rng.standard_normal((n, k))
    z[:, 2] -= 100.0  # class 2 is never the arg-max: precision 0 (zero_division=0)
    y = rng.integers(0, k, size=n)
    y[:5] = 2  # class 2 has support
    predicted = np.argmax(z, axis=1)
    assert not np.any(predicted == 2)
    precision, recall, _, support = sklearn_metrics.precision_recall_fscore_support(
        y, predicted, labels=list(range(k)), zero_division=0)
    got = per_class(z, y)
    assert len(got) == k
    for c, (p, r, s) in enumerate(got):
        assert p == pytest.approx(precision[c], rel=1e-12, abs=0)
        assert r == pytest.approx(recall[c], rel=1e-12, abs=0)
        assert s == support[c] and isinstance(s, int)
    assert got[2][0] == 0.0 and got[2][1] == 0.0 and got[2][2] >= 5


def test_per_class_of_a_class_with_no_rows_has_zero_recall_and_support():
    z = np.array([[2.0, 0.0, 1.0], [0.0, 3.0, 1.0], [5.0, 0.0, 0.0]])
    y = np.array([0, 1, 1])  # class 2: neither true nor predicted
    precision, recall, _, support = sklearn_metrics.precision_recall_fscore_support(
        y, np.argmax(z, axis=1), labels=[0, 1, 2], zero_division=0)
    got = per_class(z, y)
    assert [g[0] for g in got] == pytest.approx(list(precision))
    assert [g[1] for g in got] == pytest.approx(list(recall))
    assert [g[2] for g in got] == list(support)
    # by hand: predicted 0, 1, 0; class 0: 1 of 2 predicted right; class 1: 1 of 2 found
    assert got == [(0.5, 1.0, 1), (1.0, 0.5, 2), (0.0, 0.0, 0)]


@pytest.mark.parametrize("seed", [0, 1])
def test_regression_metrics_equal_scikit_learns(seed):
    rng = np.random.default_rng(seed)
    y = rng.standard_normal(300) * 5 + 2
    p = y + rng.standard_normal(300)
    got = regression_metrics(p, y)
    assert got["r2"] == pytest.approx(sklearn_metrics.r2_score(y, p), rel=1e-9)
    assert got["mae"] == pytest.approx(sklearn_metrics.mean_absolute_error(y, p), rel=1e-12)
    assert got["rmse"] == pytest.approx(
        math.sqrt(sklearn_metrics.mean_squared_error(y, p)), rel=1e-12)


def test_regression_metrics_of_a_constant_target_follow_scikit_learn():
    y = np.full(6, 4.0)
    p = np.array([4.0, 5.0, 3.0, 4.0, 4.5, 4.0])
    got = regression_metrics(p, y)
    assert got["r2"] == sklearn_metrics.r2_score(y, p) == 0.0
    assert got["mae"] == pytest.approx(sklearn_metrics.mean_absolute_error(y, p))
    assert got["rmse"] == pytest.approx(math.sqrt(sklearn_metrics.mean_squared_error(y, p)))
    exact = regression_metrics(y.copy(), y)
    assert exact["r2"] == sklearn_metrics.r2_score(y, y) == 1.0
    assert exact["mae"] == 0.0 and exact["rmse"] == 0.0


# -- the encoder --------------------------------------------------------------------------

def training_frame():
    rng = np.random.default_rng(0)
    n = 40
    return pd.DataFrame({
        "age": rng.normal(40, 12, n),
        "const": np.full(n, 7.5),
        "count": rng.integers(0, 50, n),
        "colour": rng.choice(["red", "blue", "green"], n),
        "size": rng.choice(["S", "M", "L", "XL"], n),
    })


NUMERIC, TEXT = ["age", "const", "count"], ["colour", "size"]


def test_encoder_standardises_as_standard_scaler_and_one_hot_encodes_as_one_hot_encoder():
    frame = training_frame()
    encoder = TabularEncoder.fit(Table(frame, "train"), NUMERIC + TEXT)
    assert [f.kind for f in encoder.features] == ["numeric"] * 3 + ["categorical"] * 2
    scaler = sklearn_preprocessing.StandardScaler().fit(frame[NUMERIC].to_numpy(float))
    onehot = sklearn_preprocessing.OneHotEncoder(handle_unknown="ignore",
                                                 sparse_output=False).fit(frame[TEXT])
    for feature, mean, scale in zip(encoder.features[:3], scaler.mean_, scaler.scale_):
        assert feature.mean == pytest.approx(mean, rel=1e-12, abs=1e-12)
        assert feature.scale == pytest.approx(scale, rel=1e-12)
    assert encoder.features[1].scale == 1.0  # the constant column
    for feature, categories in zip(encoder.features[3:], onehot.categories_):
        assert list(feature.categories) == list(categories) == sorted(set(frame[feature.name]))
    assert encoder.width == 3 + 3 + 4

    X, unseen = encoder.transform(Table(frame, "train"))
    assert unseen == {}
    assert X.shape == (len(frame), encoder.width) and X.dtype == np.float64
    expected = np.hstack([scaler.transform(frame[NUMERIC].to_numpy(float)),
                          onehot.transform(frame[TEXT])])
    np.testing.assert_allclose(X, expected, rtol=1e-12, atol=1e-12)


def test_unseen_categories_are_zero_rows_and_counted_per_column():
    frame = training_frame()
    encoder = TabularEncoder.fit(Table(frame, "train"), NUMERIC + TEXT)
    new = frame.iloc[:6].reset_index(drop=True).copy()
    new.loc[[0, 2, 5], "colour"] = ["purple", "purple", "teal"]
    new.loc[4, "size"] = "XXL"
    new["ignored"] = "anything"  # a column the encoder does not read
    X, unseen = encoder.transform(Table(new, "new"))
    assert unseen == {"colour": 3, "size": 1}
    onehot = sklearn_preprocessing.OneHotEncoder(handle_unknown="ignore",
                                                 sparse_output=False).fit(frame[TEXT])
    expected = onehot.transform(new[TEXT])
    np.testing.assert_array_equal(X[:, 3:], expected)
    assert not X[[0, 2, 5], 3:6].any() and not X[4, 6:].any()
    assert X[1, 3:6].sum() == 1.0


def test_unseen_categories_raise_no_warning():
    """pandas 3 warns (Pandas4Warning) that ``Categorical(values, categories=...)`` with
    values outside the categories will raise in pandas 4: the encoder must not rely on it."""
    frame = training_frame()
    encoder = TabularEncoder.fit(Table(frame, "train"), TEXT)
    new = pd.DataFrame({"colour": ["purple", "red"], "size": ["S", "XXL"]})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        X, unseen = encoder.transform(Table(new, "new"))
    assert unseen == {"colour": 1, "size": 1}
    colours, sizes = sorted(set(frame["colour"])), sorted(set(frame["size"]))
    expected = np.zeros((2, len(colours) + len(sizes)))
    expected[1, colours.index("red")] = 1
    expected[0, len(colours) + sizes.index("S")] = 1
    np.testing.assert_array_equal(X, expected)


@pytest.mark.parametrize("lines, where", [(True, "line 4"), (False, "row 3")])
def test_a_word_in_a_column_of_numbers_is_named_by_column_line_and_cell(lines, where):
    frame = pd.DataFrame({"x": ["1.5", "2", "three", "4", "5"], "c": list("abcab")})
    with pytest.raises(DataError) as error:
        TabularEncoder.fit(Table(frame, "data.csv", lines=lines), ["x", "c"])
    message = str(error.value)
    assert "data.csv" in message and "'x'" in message and where in message
    assert "'three'" in message and "not a number" in message


def test_an_empty_cell_is_named_by_column_and_line():
    frame = pd.DataFrame({"x": [1.0, 2.0, np.nan, 4.0], "c": ["a", "b", "a", "b"]})
    with pytest.raises(DataError) as error:
        TabularEncoder.fit(Table(frame, "data.csv", lines=True), ["x", "c"])
    assert "'x'" in str(error.value) and "line 4" in str(error.value)
    assert "empty cell" in str(error.value)
    frame = pd.DataFrame({"x": [1.0, 2.0, 3.0], "c": ["a", None, "b"]})
    with pytest.raises(DataError) as error:
        TabularEncoder.fit(Table(frame, "data.csv", lines=True), ["x", "c"])
    assert "'c'" in str(error.value) and "line 3" in str(error.value)
    assert "empty cell" in str(error.value)


def test_an_empty_cell_at_transform_is_named_too():
    frame = training_frame()
    encoder = TabularEncoder.fit(Table(frame, "train"), NUMERIC + TEXT)
    new = frame.iloc[:4].reset_index(drop=True).copy()
    new.loc[3, "age"] = np.nan
    with pytest.raises(DataError) as error:
        encoder.transform(Table(new, "new.csv", lines=True))
    assert "'age'" in str(error.value) and "line 5" in str(error.value)


def test_huge_values_neither_overflow_nor_warn():
    values = [1e300, 3e300, -2e300, 5e300, 1.7e308]
    frame = pd.DataFrame({"big": values})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        encoder = TabularEncoder.fit(Table(frame, "big"), ["big"])
        X, _ = encoder.transform(Table(frame, "big"))
    feature = encoder.features[0]
    assert math.isfinite(feature.mean) and math.isfinite(feature.scale) and feature.scale > 0
    mean, std = statistics.mean(values), statistics.pstdev(values)  # exact (fractions)
    assert feature.mean == pytest.approx(mean, rel=1e-12)
    assert feature.scale == pytest.approx(std, rel=1e-12)
    assert np.all(np.isfinite(X))
    expected = [(v - mean) / std for v in values]
    np.testing.assert_allclose(X[:, 0], expected, rtol=1e-9)


# -- the target ---------------------------------------------------------------------------

def test_string_classes_are_sorted_and_encode_decode_round_trips():
    labels = ["setosa", "virginica", "versicolor", "setosa", "virginica"]
    table = Table(pd.DataFrame({"y": labels}), "t", lines=True)
    target = Target.fit(table, "y", "classification")
    assert target.classes == ("setosa", "versicolor", "virginica")
    codes = target.encode(table, "y")
    assert codes.dtype == np.int64
    assert list(codes) == [["setosa", "versicolor", "virginica"].index(v) for v in labels]
    assert list(target.decode(np.eye(3)[codes])) == labels


def test_integer_classes_are_sorted_numbers_and_round_trip():
    labels = [3, 10, 1, 3, 2, 10]
    table = Table(pd.DataFrame({"y": labels}), "t")
    target = Target.fit(table, "y", "classification")
    assert target.classes == (1, 2, 3, 10)  # numeric order, not text order ("10" < "2")
    assert all(type(c) is int for c in target.classes)
    codes = target.encode(table, "y")
    _, inverse = np.unique(labels, return_inverse=True)
    np.testing.assert_array_equal(codes, inverse)
    assert list(target.decode(np.eye(4)[codes])) == labels


def test_an_unknown_label_is_named_with_its_line():
    target = Target.fit(Table(pd.DataFrame({"y": ["a", "b", "c"]}), "train"), "y",
                        "classification")
    new = Table(pd.DataFrame({"y": ["a", "zebra", "c"]}), "new.csv", lines=True)
    with pytest.raises(DataError) as error:
        target.encode(new, "y")
    assert "'zebra'" in str(error.value) and "line 3" in str(error.value)
    assert "new.csv" in str(error.value)


def test_an_unknown_integer_label_is_named_with_its_line():
    target = Target.fit(Table(pd.DataFrame({"y": [1, 2, 3]}), "train"), "y", "classification")
    with pytest.raises(DataError) as error:
        target.encode(Table(pd.DataFrame({"y": [1, 2, 3, 7]}), "new.csv", lines=True), "y")
    assert "7" in str(error.value) and "line 5" in str(error.value)


def test_a_single_class_is_refused():
    with pytest.raises(DataError, match="one class"):
        Target.fit(Table(pd.DataFrame({"y": ["same"] * 5}), "t"), "y", "classification")


def test_regression_target_standardises_with_numpys_mean_and_std():
    rng = np.random.default_rng(5)
    y = rng.normal(100, 15, 50)
    table = Table(pd.DataFrame({"y": y}), "t")
    target = Target.fit(table, "y", "regression")
    assert target.mean == pytest.approx(np.mean(y), rel=1e-12)
    assert target.scale == pytest.approx(np.std(y), rel=1e-12)
    encoded = target.encode(table, "y")
    assert encoded.shape == (50, 1)
    np.testing.assert_allclose(encoded[:, 0], (y - np.mean(y)) / np.std(y), rtol=1e-9,
                               atol=1e-12)
    np.testing.assert_allclose(target.decode(encoded), y, rtol=1e-12)


# -- the task -----------------------------------------------------------------------------

@pytest.mark.parametrize("values, task", [
    (["cat", "dog", "cat"], "classification"),
    ([0, 1, 1, 0, 2], "classification"),
    (list(range(20)) * 2, "classification"),  # 20 distinct: the limit
    (list(range(21)), "regression"),
    ([0.5, 1.5, 2.25, 0.5], "regression"),
    (list(np.linspace(0, 1, 50)), "regression"),
])
def test_infer_task(values, task):
    assert infer_task(Table(pd.DataFrame({"y": values}), "t"), "y")[0] == task


# -- reading ------------------------------------------------------------------------------

def sample_frame():
    return pd.DataFrame({"n": [1, 2, 3, 4, 5, 6, 7],
                         "x": [0.5, -1.25, 3.0, 1e10, 2.5, 0.0, 7.75],
                         "c": ["red", "blue", "red", "green", "blue", "blue", "red"]})


def test_csv_and_parquet_of_the_same_data_read_as_equal_frames(tmp_path):
    pytest.importorskip("pyarrow", reason="Parquet needs pyarrow")
    frame = sample_frame()
    frame.to_csv(tmp_path / "d.csv", index=False)
    frame.to_parquet(tmp_path / "d.parquet", engine="pyarrow", index=False)
    csv, parquet = read_table(tmp_path / "d.csv"), read_table(tmp_path / "d.parquet")
    assert csv.lines and not parquet.lines
    pd.testing.assert_frame_equal(csv.frame, parquet.frame, check_dtype=False)
    assert list(csv.frame["c"]) == list(frame["c"])
    np.testing.assert_array_equal(csv.frame["x"].to_numpy(float), frame["x"].to_numpy())
    enc_csv = TabularEncoder.fit(csv, ["n", "x", "c"])
    enc_parquet = TabularEncoder.fit(parquet, ["n", "x", "c"])
    assert enc_csv.features == enc_parquet.features


def test_rows_of_a_table_are_named_by_their_original_lines(tmp_path):
    frame = sample_frame().astype({"x": object})
    frame.loc[5, "x"] = "oops"
    frame.to_csv(tmp_path / "d.csv", index=False)
    table = read_table(tmp_path / "d.csv")
    sub = table.rows([0, 3, 5])  # two numbers and a word: a column of numbers
    assert [sub.where(i) for i in range(3)] == ["line 2", "line 5", "line 7"]
    with pytest.raises(DataError) as error:
        TabularEncoder.fit(sub, ["x"])
    assert "line 7" in str(error.value) and "'oops'" in str(error.value)
    parquet_like = Table(sample_frame(), "p").rows([3, 5])
    assert parquet_like.where(0) == "row 4" and parquet_like.where(1) == "row 6"


def test_trailing_blank_lines_are_dropped(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("a,b\n1,x\n2,y\n\n\n")
    table = read_table(path)
    assert len(table.frame) == 2
    assert list(table.frame["a"]) == [1, 2] and list(table.frame["b"]) == ["x", "y"]


def test_a_blank_line_in_the_middle_is_a_row_of_empty_cells(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("a,b\n1,x\n\n3,z\n")
    table = read_table(path)
    assert len(table.frame) == 3 and table.frame.iloc[1].isna().all()
    with pytest.raises(DataError) as error:
        TabularEncoder.fit(table, ["a", "b"])
    assert "line 3" in str(error.value) and "empty cell" in str(error.value)


# -- TabularModel in a file ---------------------------------------------------------------

def classification_parts(seed=0):
    frame = training_frame()
    rng = np.random.default_rng(seed)
    frame["species"] = rng.choice(["setosa", "versicolor", "virginica"], len(frame))
    table = Table(frame, "train")
    encoder = TabularEncoder.fit(table, NUMERIC + TEXT)
    target = Target.fit(table, "species", "classification")
    X, _ = encoder.transform(table)
    y = target.encode(table, "species")
    model = glassnet.MLP([encoder.width, 8, target.n_outputs], seed=seed)
    history = glassnet.fit(model, X, y, epochs=3, batch_size=16, seed=seed)
    return TabularModel(model, encoder, target, history), frame


def regression_parts(seed=0):
    frame = training_frame()
    frame["price"] = frame["age"] * 3.0 + np.random.default_rng(seed).normal(0, 1, len(frame))
    table = Table(frame, "train")
    encoder = TabularEncoder.fit(table, NUMERIC + TEXT)
    target = Target.fit(table, "price", "regression")
    X, _ = encoder.transform(table)
    y = target.encode(table, "price")
    model = glassnet.MLP([encoder.width, 8, 1], seed=seed)
    history = glassnet.fit(model, X, y, loss="mse", epochs=3, batch_size=16, seed=seed)
    return TabularModel(model, encoder, target, history), frame


def test_a_classification_tabular_model_round_trips(tmp_path):
    original, frame = classification_parts()
    path = tmp_path / "model.safetensors"
    glassnet.save(original, path)
    loaded = glassnet.load(path)
    assert type(loaded) is TabularModel and loaded.task == "classification"
    assert loaded.encoder.features == original.encoder.features
    assert loaded.target == original.target
    assert loaded.target.classes == ("setosa", "versicolor", "virginica")
    np.testing.assert_array_equal(loaded.predict(frame), original.predict(frame))
    a, b = loaded.predict_proba(frame), original.predict_proba(frame)
    assert np.array_equal(a, b) and a.shape == (len(frame), 3)
    np.testing.assert_allclose(a.sum(axis=1), 1.0, rtol=1e-6)
    assert loaded.history.epochs == original.history.epochs == [1, 2, 3]
    assert loaded.history.history.keys() == original.history.history.keys()


def test_integer_classes_round_trip_as_ints(tmp_path):
    original, frame = classification_parts()
    frame["grade"] = np.random.default_rng(1).choice([10, 2, 30], len(frame))
    target = Target.fit(Table(frame, "t"), "grade", "classification")
    model = TabularModel(original.model, original.encoder, target, None)
    glassnet.save(model, tmp_path / "m.safetensors")
    loaded = glassnet.load(tmp_path / "m.safetensors")
    assert loaded.target.classes == (2, 10, 30)
    assert all(type(c) is int for c in loaded.target.classes)
    assert loaded.history is None
    np.testing.assert_array_equal(loaded.predict(frame), model.predict(frame))


def test_a_regression_tabular_model_round_trips(tmp_path):
    original, frame = regression_parts()
    path = tmp_path / "model.safetensors"
    glassnet.save(original, path)
    loaded = glassnet.load(path)
    assert type(loaded) is TabularModel and loaded.task == "regression"
    assert loaded.encoder.features == original.encoder.features
    assert loaded.target == original.target
    assert np.array_equal(loaded.predict(frame), original.predict(frame))
    with pytest.raises(ValueError, match="predict_proba is for classification"):
        loaded.predict_proba(frame)


# -- hostile files ------------------------------------------------------------------------

def split(data):
    """(header dict, data section) of a valid file, parsed here with plain json."""
    n = struct.unpack("<Q", data[:8])[0]
    return json.loads(data[8:8 + n]), data[8 + n:]


def join(header, data):
    text = json.dumps(header).encode("utf-8")
    return struct.pack("<Q", len(text)) + text + data


@pytest.fixture(scope="module")
def base_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("base")
    files = {}
    for name, parts in (("classification", classification_parts),
                        ("regression", regression_parts)):
        path = folder / f"{name}.safetensors"
        glassnet.save(parts()[0], path)
        files[name] = path.read_bytes()
    return files


def edited(data, edit):
    header, tensors = split(data)
    document = json.loads(header["__metadata__"]["glassnet"])
    edit(document)
    header["__metadata__"]["glassnet"] = json.dumps(document)
    return join(header, tensors)


def _feature(doc, kind):
    return next(f for f in doc["tabular"]["features"] if f["type"] == kind)


def _set_scale(value):
    return lambda doc: _feature(doc, "numeric").update(scale=value)


def _widen(doc):
    _feature(doc, "categorical")["categories"].append("zzz-extra")


def _repeat_category(doc):
    categories = _feature(doc, "categorical")["categories"]
    categories[-1] = categories[0]  # same width, a repeated value


def _unknown_key(doc):
    _feature(doc, "numeric")["offset"] = 1.0


def _target_is_a_feature(doc):
    doc["tabular"]["target"]["name"] = doc["tabular"]["features"][0]["name"]


HOSTILE = {
    "widths_do_not_add_up": ("classification", _widen,
                             r"make \d+ input column\(s\) but the model takes \d+"),
    "scale_zero": ("classification", _set_scale(0.0), r"scale must be positive"),
    "scale_negative": ("classification", _set_scale(-2.5), r"scale must be positive"),
    "scale_inf_text": ("classification", _set_scale("inf"), r"scale must be a finite number"),
    "target_scale_zero": ("regression", lambda d: d["tabular"]["target"].update(scale=0),
                          r"target\.scale must be positive"),
    "categories_repeat": ("classification", _repeat_category, r"categories must not repeat"),
    "classes_mix_text_and_numbers": (
        "classification", lambda d: d["tabular"]["target"]["classes"].__setitem__(1, 5),
        r"classes\[0\] must be, as the others, a number"),
    "classes_mix_numbers_and_text": (
        "classification",
        lambda d: d["tabular"]["target"].update(classes=[1, "two", 3]),
        r"classes\[1\] must be, as the others, a number"),
    "classes_repeat": ("classification",
                       lambda d: d["tabular"]["target"].update(classes=["a", "b", "a"]),
                       r"classes must not repeat"),
    "too_few_classes_for_the_outputs": (
        "classification", lambda d: d["tabular"]["target"]["classes"].pop(),
        r"target has 2 output\(s\) but the model gives 3"),
    "too_many_classes_for_the_outputs": (
        "classification", lambda d: d["tabular"]["target"]["classes"].append("new"),
        r"target has 4 output\(s\) but the model gives 3"),
    "feature_unknown_key": ("classification", _unknown_key, r"unknown key\(s\) 'offset'"),
    "target_name_is_a_feature": ("classification", _target_is_a_feature,
                                 r"target\.name is also a feature's name"),
    "tabular_section_missing": ("classification", lambda d: d.pop("tabular"),
                                r"lacks the key\(s\) 'tabular'"),
}


@pytest.fixture
def nothing_is_built(monkeypatch):
    """Building the network from a bad file fails the test: the checks come first."""
    def refuse(*args, **kwargs):
        raise AssertionError("a model was built from a bad file")
    monkeypatch.setattr("glassnet.io.reading._build", refuse)


def test_the_base_files_load(tmp_path, base_files):
    for name, data in base_files.items():
        path = tmp_path / f"{name}.safetensors"
        path.write_bytes(edited(data, lambda doc: None))  # rewritten, unchanged
        assert type(glassnet.load(path)) is TabularModel


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_a_hostile_tabular_file_is_a_model_file_error_naming_the_problem(
        tmp_path, base_files, case, nothing_is_built):
    base, edit, message = HOSTILE[case]
    data = edited(base_files[base], edit)
    assert data != base_files[base]
    path = tmp_path / "model.safetensors"
    path.write_bytes(data)
    with pytest.raises(ModelFileError) as error:
        glassnet.load(path)
    assert str(error.value).startswith(f"{path}: ")
    import re
    assert re.search(message, error.value.problem), error.value.problem
    with pytest.raises(ModelFileError):
        glassnet.io.read_info(path)
