"""glassnet.report: the HTML file has each section for a classifier on 2-D data, a regressor,
the estimators and a bare model; it stands alone (no script, no link, no resource from the
network; every image a PNG inside it); sections without their inputs are notes; bad
arguments are named. Then the file is opened in headless Chromium, driven over the DevTools
protocol through a pipe (tests/_browser.py): no console error, every image decoded, and a
screenshot."""

import base64
import io
import re
import subprocess
import sys
import warnings

import numpy as np
import pytest

matplotlib = pytest.importorskip(
    "matplotlib", reason="matplotlib is not installed: glassnet.report is not tested "
                         "(pip install 'glassnet[plot]')")
pytest.importorskip("sklearn", reason="scikit-learn is not installed: glassnet.report's "
                                      "figures use its displays")
from PIL import Image  # noqa: E402  (matplotlib depends on Pillow)

import glassnet  # noqa: E402

from _browser import Browser, find_chromium  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore:Stochastic Optimizer")  # a few epochs on purpose

ALL = ["Model", "Metrics", "Learning curves", "Network", "Layer statistics", "Diagnosis"]
IMAGES_CHECK = "Array.from(document.images).map(i => i.complete && i.naturalWidth)"


# --- data, models and reports (small: the whole file runs in a few seconds) -----------------

def blobs(n=60, seed=0):
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 3
    angle = 2 * np.pi * y / 3
    return np.c_[np.cos(angle), np.sin(angle)] * 2 + rng.normal(scale=0.5, size=(n, 2)), y


def regression(n=60, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    return X, X @ np.array([0.5, -1.0, 2.0]) + 0.1 * rng.normal(size=n)


@pytest.fixture(scope="module")
def classifier_report(tmp_path_factory):
    """A model on 3 classes in 2-D, with its history and a Monitor."""
    X, y = blobs()
    model = glassnet.MLP([2, 8, 3], activation="tanh", dtype="float64", seed=0)
    monitor = glassnet.Monitor()
    history = glassnet.fit(model, X, y, epochs=4, batch_size=16, seed=0, callbacks=[monitor])
    path = tmp_path_factory.mktemp("report") / "classifier.html"
    returned = glassnet.report(model, path, X, y, monitor=monitor, history=history,
                               title="Blobs <3 classes> & a monitor")
    return returned, path


def sections(text):
    return re.findall(r"<h2>(.*?)</h2>", text)


def images(text):
    """The ``src`` of every ``<img>``."""
    return re.findall(r'<img\b[^>]*\bsrc="([^"]*)"', text)


def notes(text):
    return re.findall(r'<p class="note">(.*?)</p>', text)


# --- content ----------------------------------------------------------------------------------

def test_classifier_on_2d_data_has_every_section(classifier_report):
    returned, path = classifier_report
    assert returned == path and path.is_file()
    text = path.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>")
    assert sections(text) == ["Model", "Metrics", "Learning curves", "Confusion matrix",
                              "Decision boundary", "Network", "Layer statistics", "Diagnosis"]
    assert notes(text) == []
    assert len(images(text)) == 5  # curves, confusion matrix, boundary, network, monitor
    assert "Dense(2 -&gt; 8)" in text and "Total parameters: 51" in text  # the summary
    assert "X, y (evaluate)" in text and "history, epoch 4" in text  # both kinds of metric
    assert "<td>accuracy</td>" in text


def test_text_is_escaped(classifier_report):
    text = classifier_report[1].read_text(encoding="utf-8")
    assert "<title>Blobs &lt;3 classes&gt; &amp; a monitor</title>" in text
    assert "<3 classes>" not in text


def test_self_contained(classifier_report):
    """No script, no link, no resource from anywhere: every image is a PNG inside the file."""
    text = classifier_report[1].read_text(encoding="utf-8")
    for forbidden in ("http://", "https://", "<script", "<link", "<iframe", "url("):
        assert forbidden not in text.lower()
    for src in images(text):
        assert src.startswith("data:image/png;base64,")
        data = base64.b64decode(src.split(",", 1)[1], validate=True)
        with Image.open(io.BytesIO(data)) as image:
            assert image.format == "PNG"
            assert image.width > 0 and image.height > 0
            image.verify()


def test_regressor_model(tmp_path):
    X, y = regression()
    model = glassnet.MLP([3, 6, 1], activation="tanh", dtype="float64", seed=0)
    history = glassnet.fit(model, X, y, loss="mse", epochs=3, batch_size=16, seed=0)
    text = glassnet.report(model, tmp_path / "r.html", X, y, history=history).read_text()
    assert sections(text) == ["Model", "Metrics", "Learning curves", "Predicted vs true",
                              "Decision boundary", "Network", "Layer statistics", "Diagnosis"]
    assert "<td>r2</td>" in text and "loss mse" in text
    assert notes(text) == ["Not drawn: X has not 2 columns.",
                           "Not drawn: no monitor was given (glassnet.Monitor)."]
    assert len(images(text)) == 3


@pytest.mark.parametrize("kind", ["classifier", "regressor"])
def test_estimators(tmp_path, kind):
    """An estimator brings its history_ and its loss; score gives the metric."""
    if kind == "classifier":
        X, y = blobs()
        labels = np.array(["a", "b", "c"])[y]  # string labels, as scikit-learn allows
        estimator = glassnet.MLPClassifier(hidden_layer_sizes=(8,), max_iter=3,
                                           random_state=0).fit(X, labels)
        text = glassnet.report(estimator, tmp_path / "e.html", X, labels).read_text()
        assert "Confusion matrix" in sections(text) and "Decision boundary" in sections(text)
        assert "<td>accuracy</td>" in text
        assert len(images(text)) == 4
    else:
        X, y = regression()
        estimator = glassnet.MLPRegressor(hidden_layer_sizes=(8,), max_iter=3,
                                          random_state=0).fit(X, y)
        text = glassnet.report(estimator, tmp_path / "e.html", X, y).read_text()
        assert "Predicted vs true" in sections(text)
        assert "<td>R²</td>" in text
        assert len(images(text)) == 3
    assert "history, epoch 3" in text and "MLP" in text.split("</h1>")[0]
    assert "<td>loss</td>" in text.split("X, y (evaluate on model_)")[0].split("Metrics")[1]
    for name in ALL[:4] + ["Diagnosis"]:
        assert name in sections(text)


def test_without_data_sections_are_notes(tmp_path):
    """A bare model and nothing else: the summary and the diagram, the rest short notes."""
    model = glassnet.MLP([4, 5, 2], seed=0)
    text = glassnet.report(model, tmp_path / "bare.html").read_text()
    assert sections(text) == ["Model", "Metrics", "Learning curves", "Predictions",
                              "Decision boundary", "Network", "Layer statistics", "Diagnosis"]
    assert len(images(text)) == 1  # the network
    assert len(notes(text)) == 6
    assert "No diagnosis: X and y were not given." in notes(text)


def test_lbfgs_estimator(tmp_path):
    """L-BFGS records no loss_curve_; its history_ has the one run, drawn as such."""
    X, y = regression()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        estimator = glassnet.MLPRegressor(hidden_layer_sizes=(4,), solver="lbfgs", max_iter=5,
                                          random_state=0).fit(X, y)
    text = glassnet.report(estimator, tmp_path / "l.html", X, y).read_text()
    assert "Learning curves" in sections(text) and "history, epoch" in text
    assert not any(note.startswith("No learning curves") for note in notes(text))


def test_replaces_the_file_atomically(tmp_path):
    path = tmp_path / "r.html"
    path.write_text("old")
    glassnet.report(glassnet.MLP([2, 3, 2], seed=0), str(path))
    assert path.read_text().startswith("<!DOCTYPE html>")
    assert [p.name for p in tmp_path.iterdir()] == ["r.html"]  # no temporary file left


def test_pyplot_is_untouched(tmp_path, classifier_report):
    import matplotlib.pyplot as plt
    backend, figures = matplotlib.get_backend(), plt.get_fignums()
    X, y = blobs()
    model = glassnet.MLP([2, 4, 3], seed=0)
    glassnet.report(model, tmp_path / "r.html", X, y)
    assert matplotlib.get_backend() == backend and plt.get_fignums() == figures


def test_import_glassnet_stays_free_of_matplotlib():
    code = ("import sys, glassnet; glassnet.report; "
            "assert 'matplotlib' not in sys.modules, 'matplotlib imported'")
    subprocess.run([sys.executable, "-c", code], check=True)


# --- bad arguments ----------------------------------------------------------------------------

def test_bad_arguments_are_named(tmp_path):
    X, y = blobs()
    model = glassnet.MLP([2, 4, 3], seed=0)
    with pytest.raises(FileNotFoundError, match="path: the folder .* does not exist"):
        glassnet.report(model, tmp_path / "missing" / "r.html", X, y)
    with pytest.raises(IsADirectoryError, match="path"):
        glassnet.report(model, tmp_path, X, y)
    with pytest.raises(ValueError, match="X has 3 columns, but the model takes 2 inputs"):
        glassnet.report(model, tmp_path / "r.html", np.c_[X, X[:, 0]], y)
    with pytest.raises(ValueError, match="X and y go together"):
        glassnet.report(model, tmp_path / "r.html", X)
    with pytest.raises(ValueError, match="different lengths"):
        glassnet.report(model, tmp_path / "r.html", X, y[:-1])
    with pytest.raises(TypeError, match="model_or_estimator must be"):
        glassnet.report("model", tmp_path / "r.html")
    with pytest.raises(ValueError, match="model_or_estimator: the MLPClassifier is not fitted"):
        glassnet.report(glassnet.MLPClassifier(), tmp_path / "r.html")
    with pytest.raises(TypeError, match="monitor must be"):
        glassnet.report(model, tmp_path / "r.html", monitor=object())
    with pytest.raises(TypeError, match="history must be"):
        glassnet.report(model, tmp_path / "r.html", history=[1.0, 0.5])
    assert list(tmp_path.iterdir()) == []  # nothing written


# --- in a browser -----------------------------------------------------------------------------

def test_opens_in_headless_chromium(classifier_report, tmp_path):
    """Chromium loads the file with no console error, decodes every image, and renders it."""
    executable = find_chromium()
    if executable is None:
        pytest.skip("no Chromium found (chromium, chromium-browser, /usr/bin/chromium): the "
                    "report is not opened in a browser (apt-get install chromium)")
    path = classifier_report[1]
    with Browser(executable, str(tmp_path / "profile"), timeout=20) as browser:
        page = browser.open_page(path.as_uri(), IMAGES_CHECK)
    assert page["errors"] == []
    assert page["title"] == "Blobs <3 classes> & a monitor"
    widths = page["check"]
    assert len(widths) == len(images(path.read_text(encoding="utf-8"))) == 5
    assert all(isinstance(w, int) and w > 0 for w in widths), widths
    screenshot = tmp_path / "report.png"
    screenshot.write_bytes(page["screenshot"])
    assert screenshot.stat().st_size > 0
    with Image.open(screenshot) as image:
        assert image.format == "PNG" and image.width > 0 and image.height > 0
