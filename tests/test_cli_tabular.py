"""``glassnet train``, ``inspect``, ``evaluate`` and ``predict`` on tables, run as a user runs
them: in subprocesses, on CSV and Parquet files written here and on built-in data sets.

The references are independent of the code under test: the metrics that ``evaluate`` prints
are recomputed by scikit-learn from the file ``predict`` writes; the stored means and scales
by pandas from the CSV file.
"""

import json
import math
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pd = pytest.importorskip("pandas", reason="pandas is not installed: the table commands are "
                                          "untested")
metrics = pytest.importorskip("sklearn.metrics", reason="scikit-learn is not installed: the "
                                                        "table commands are untested")

sys.path.insert(0, str(Path(__file__).parent))
from _browser import Browser, find_chromium  # noqa: E402


def run(*args, cwd, command=(sys.executable, "-m", "glassnet")):
    """Run the command line in ``cwd``; return (exit status, stdout, stderr)."""
    proc = subprocess.run([*command, *map(str, args)], capture_output=True, text=True,
                          timeout=300, cwd=cwd)
    return proc.returncode, proc.stdout, proc.stderr


def table_numbers(out, row):
    """The numbers of the metrics table's line that starts with ``row`` (the rows first)."""
    line = next(line for line in out.splitlines() if line.split() and line.split()[0] == row)
    return [float(cell) for cell in line.split()[1:]]


def shop(n=400, seed=0):
    """A purchase table: numbers, a text column that matters, a text label."""
    rng = np.random.default_rng(seed)
    age = rng.uniform(18, 80, n).round(1)
    colour = rng.choice(["red", "green", "blue"], n)
    income = rng.normal(50000, 15000, n).round(2)
    score = (age - 50) / 15 + 1.5 * (colour == "red") + (income - 50000) / 30000
    bought = np.where(score + rng.normal(0, 0.2, n) > 0.5, "yes", "no")
    return pd.DataFrame({"age": age, "colour": colour, "income": income, "bought": bought})


def house(n=400, seed=1):
    """A price table: numbers and a text column, a numeric target of many values."""
    rng = np.random.default_rng(seed)
    area = rng.uniform(30, 200, n).round(1)
    town = rng.choice(["north", "south", "east"], n)
    rooms = rng.integers(1, 6, n)
    price = 2.0 * area + 40 * (town == "south") + 10 * rooms + rng.normal(0, 5, n)
    return pd.DataFrame({"area": area, "town": town, "rooms": rooms,
                         "price": price.round(2)})


@pytest.fixture(scope="module")
def classifier(tmp_path_factory):
    """shop.csv trained with --out and --report: (folder, frame, train's stdout)."""
    folder = tmp_path_factory.mktemp("classifier")
    frame = shop()
    frame.to_csv(folder / "shop.csv", index=False)
    code, out, err = run("train", "shop.csv", "--epochs", 60, "--layers", 16, "--lr", 0.01,
                         "--out", "shop.safetensors", "--report", "shop.html", cwd=folder)
    assert code == 0, err
    return folder, frame, out


def test_train_prints_the_task_the_table_and_where_the_files_went(classifier):
    folder, _, out = classifier
    assert "task: classification (the target 'bought' holds text" in out
    assert "280 training, 40 validation and 80 test rows" in out
    for split in ("train", "validation", "test"):
        _, accuracy, log_loss = table_numbers(out, split)
        assert accuracy > 0.85 and 0 < log_loss < 0.5, (split, accuracy, log_loss)
    assert "model written to shop.safetensors" in out and "report written to shop.html" in out
    assert (folder / "shop.safetensors").stat().st_size > 0


def test_inspect_shows_the_columns_and_their_encoding(classifier):
    folder, frame, _ = classifier
    code, out, err = run("inspect", "shop.safetensors", cwd=folder)
    assert code == 0, err
    assert "kind: tabular" in out
    assert "target: 'bought', classification, 2 classes: 'no', 'yes'" in out
    assert "'colour': categorical, one-hot over 3: 'blue', 'green', 'red'" in out
    assert "'age': numeric, standardised with mean" in out
    assert "Dense(5 -> 16)" in out  # 2 numbers + 3 categories in; 2 classes out
    code, out, _ = run("inspect", "shop.safetensors", "--json", cwd=folder)
    features = json.loads(out)["tabular"]["features"]
    assert [f["name"] for f in features] == ["age", "colour", "income"]


def test_evaluate_agrees_with_sklearn_on_the_predictions_file(classifier):
    folder, frame, _ = classifier
    code, out, err = run("evaluate", "shop.safetensors", "shop.csv", cwd=folder)
    assert code == 0, err
    rows, accuracy, log_loss = table_numbers(out, "shop.csv")
    code, _, err = run("predict", "shop.safetensors", "shop.csv", "--out", "p.csv", cwd=folder)
    assert code == 0, err
    predicted = pd.read_csv(folder / "p.csv")
    assert list(predicted.columns) == ["bought", "proba_no", "proba_yes"]
    assert len(predicted) == len(frame) == rows
    proba = predicted[["proba_no", "proba_yes"]].to_numpy()
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-12)
    assert (predicted["bought"] == np.array(["no", "yes"])[proba.argmax(axis=1)]).all()
    assert accuracy == pytest.approx(metrics.accuracy_score(frame["bought"],
                                                            predicted["bought"]), abs=5e-5)
    assert log_loss == pytest.approx(metrics.log_loss(frame["bought"], proba,
                                                      labels=["no", "yes"]), abs=5e-5)
    report = metrics.precision_recall_fscore_support(frame["bought"], predicted["bought"],
                                                     labels=["no", "yes"], zero_division=0)
    for j, label in enumerate(["no", "yes"]):
        precision, recall, support = table_numbers(out, label)
        assert precision == pytest.approx(report[0][j], abs=5e-5)
        assert recall == pytest.approx(report[1][j], abs=5e-5)
        assert support == report[3][j]


def test_numeric_columns_are_standardised_with_the_training_rows_statistics(tmp_path):
    """With no test or validation rows every row trains: the stored statistics are pandas'
    mean and population standard deviation of each column."""
    frame = shop(n=120)
    frame.to_csv(tmp_path / "shop.csv", index=False)
    code, _, err = run("train", "shop.csv", "--epochs", 1, "--test-fraction", 0,
                       "--validation-fraction", 0, "--out", "m.safetensors", cwd=tmp_path)
    assert code == 0, err
    _, out, _ = run("inspect", "m.safetensors", "--json", cwd=tmp_path)
    stored = {f["name"]: f for f in json.loads(out)["tabular"]["features"]}
    for column in ("age", "income"):
        assert stored[column]["mean"] == pytest.approx(frame[column].mean(), rel=1e-12)
        assert stored[column]["scale"] == pytest.approx(frame[column].std(ddof=0), rel=1e-12)
    assert stored["colour"]["categories"] == sorted(frame["colour"].unique())


def test_regression_csv_train_evaluate_predict(tmp_path):
    frame = house()
    frame.to_csv(tmp_path / "house.csv", index=False)
    code, out, err = run("train", "house.csv", "--epochs", 80, "--lr", 0.01, "--out",
                         "house.safetensors", cwd=tmp_path)
    assert code == 0, err
    assert "task: regression (the target 'price' holds" in out
    _, r2, mae, rmse = table_numbers(out, "test")
    assert r2 > 0.95, out
    code, out, err = run("evaluate", "house.safetensors", "house.csv", cwd=tmp_path)
    assert code == 0, err
    rows, r2, mae, rmse = table_numbers(out, "house.csv")
    code, _, err = run("predict", "house.safetensors", "house.csv", "--out", "-", cwd=tmp_path)
    assert code == 0, err
    predicted = pd.read_csv(__import__("io").StringIO(_))
    assert list(predicted.columns) == ["price"] and len(predicted) == len(frame) == rows
    truth, values = frame["price"], predicted["price"]
    assert r2 == pytest.approx(metrics.r2_score(truth, values), abs=5e-5)
    assert mae == pytest.approx(metrics.mean_absolute_error(truth, values), abs=5e-5)
    assert rmse == pytest.approx(math.sqrt(metrics.mean_squared_error(truth, values)),
                                 abs=5e-5)


def test_built_in_data_set_train_inspect_evaluate_predict(tmp_path):
    code, out, err = run("train", "iris", "--epochs", 100, "--lr", 0.01, "--out",
                         "iris.safetensors", cwd=tmp_path)
    assert code == 0, err
    code, out, err = run("inspect", "iris.safetensors", cwd=tmp_path)
    assert code == 0 and "3 classes: 'setosa', 'versicolor', 'virginica'" in out, err
    code, out, err = run("evaluate", "iris.safetensors", "iris", cwd=tmp_path)
    assert code == 0, err
    rows, accuracy, _ = table_numbers(out, "iris")
    assert rows == 150 and accuracy > 0.9
    code, out, err = run("predict", "iris.safetensors", "iris", "--out", "p.csv", cwd=tmp_path)
    assert code == 0, err
    predicted = pd.read_csv(tmp_path / "p.csv")
    assert len(predicted) == 150
    assert list(predicted.columns) == ["species", "proba_setosa", "proba_versicolor",
                                       "proba_virginica"]


def test_generated_data_set_takes_rows_noise_and_seed(tmp_path):
    code, out, err = run("train", "moons", "--rows", 500, "--noise", 0.1, "--seed", 4,
                         "--epochs", 40, "--lr", 0.01, cwd=tmp_path)
    assert code == 0, err
    assert "350 training, 50 validation and 100 test rows" in out
    assert table_numbers(out, "test")[1] > 0.95
    assert "model not kept: --out model.safetensors keeps it" in out


def test_parquet_trains_the_same_model_as_csv(tmp_path):
    pytest.importorskip("pyarrow", reason="pyarrow is not installed: Parquet is untested")
    frame = shop(n=150)
    frame.to_csv(tmp_path / "shop.csv", index=False)
    frame.to_parquet(tmp_path / "shop.parquet")
    outputs = []
    for name in ("shop.csv", "shop.parquet"):
        code, _, err = run("train", name, "--epochs", 3, "--out", f"{name}.safetensors",
                           cwd=tmp_path)
        assert code == 0, err
        code, out, err = run("predict", f"{name}.safetensors", name, "--out", "-",
                             cwd=tmp_path)
        assert code == 0, err
        outputs.append(out)
    assert outputs[0] == outputs[1]


def test_quiet_prints_nothing_and_still_writes_the_model(tmp_path):
    code, out, err = run("train", "xor", "--epochs", 2, "--quiet", "--out", "x.safetensors",
                         cwd=tmp_path)
    assert (code, out, err) == (0, "", "")
    assert (tmp_path / "x.safetensors").stat().st_size > 0


def test_the_console_script_is_the_same_command(tmp_path):
    script = shutil.which("glassnet", path=str(Path(sys.executable).parent))
    if script is None:
        pytest.skip("no 'glassnet' script next to this Python: the package is not installed "
                    "with its entry point")
    outputs = [run("train", "circles", "--epochs", 2, "--quiet", "--out", f"{i}.safetensors",
                   cwd=tmp_path, command=command)
               for i, command in enumerate([(script,), (sys.executable, "-m", "glassnet")])]
    assert outputs[0] == outputs[1] == (0, "", "")
    assert (tmp_path / "0.safetensors").read_bytes() == (tmp_path / "1.safetensors").read_bytes()


def test_the_report_opens_in_headless_chromium(classifier, tmp_path):
    folder, _, _ = classifier
    page_file = folder / "shop.html"
    text = page_file.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>") and "glassnet train shop.csv" in text
    executable = find_chromium()
    if executable is None:
        pytest.skip("no Chromium found (chromium, chromium-browser, /usr/bin/chromium): the "
                    "report is not opened in a browser (apt-get install chromium)")
    check = "Array.from(document.images).map(img => img.naturalWidth)"
    with Browser(executable, str(tmp_path / "profile"), timeout=20) as browser:
        page = browser.open_page(page_file.as_uri(), check)
    assert page["errors"] == []
    assert page["title"].startswith("glassnet train shop.csv")
    assert page["check"] and all(isinstance(w, int) and w > 0 for w in page["check"])


@pytest.mark.parametrize("command", ["train", "evaluate", "predict", "inspect"])
def test_each_help_example_works_when_pasted(tmp_path, command):
    """The examples that end ``glassnet COMMAND --help``, run in order in an empty folder
    through a shell, with ``glassnet`` meaning this Python's ``-m glassnet``."""
    pytest.importorskip("matplotlib", reason="matplotlib is not installed: the --report "
                                             "example cannot run")
    code, out, err = run(command, "--help", cwd=tmp_path)
    assert code == 0, err
    examples = [line.strip() for line in out.split("\nexamples:\n")[1].splitlines()
                if line.strip()]
    assert examples
    glassnet = f"{sys.executable} -m glassnet"
    for example in examples:
        shell = example.replace("glassnet ", f"{glassnet} ")
        proc = subprocess.run(["bash", "-c", f"set -o pipefail; {shell}"], cwd=tmp_path,
                              capture_output=True, text=True, timeout=300)
        # 141: `| head` closed the pipe, as the command line says it should
        assert proc.returncode in ((0, 141) if "| head" in example else (0,)), \
            (example, proc.stderr)
        assert "Traceback" not in proc.stderr, example


def test_the_readme_command_line_example_runs_as_written(tmp_path):
    """The README's Command line section opens with three commands on examples/shop.csv:
    run from a copy of the repository's examples, they exit 0 and write their files."""
    pytest.importorskip("matplotlib", reason="matplotlib is not installed: --report cannot "
                                             "run")
    root = Path(__file__).resolve().parents[1]
    section = (root / "README.md").read_text(encoding="utf-8").split("\n## Command line\n")[1]
    block = section.split("```sh\n")[1].split("```")[0]
    shutil.copytree(root / "examples", tmp_path / "examples")
    for line in block.strip().splitlines():
        args = line.split()
        assert args[0] == "glassnet", line
        code, out, err = run(*args[1:], cwd=tmp_path)
        assert code == 0, (line, err)
    predicted = pd.read_csv(tmp_path / "predictions.csv")
    assert len(predicted) == len(pd.read_csv(root / "examples" / "shop_new_rows.csv")) == 5
    assert set(predicted["bought"]) <= {"no", "yes"}
    assert (tmp_path / "shop.html").stat().st_size > 0
