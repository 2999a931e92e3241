"""glassnet in a Jupyter notebook: the progress bar is tqdm.auto's there (the widget when
ipywidgets is installed), and a model shows its summary as an HTML table."""

import io
import sys
import types
from html.parser import HTMLParser

import numpy as np
import pytest

import glassnet
from glassnet import progress
from glassnet.layers import Dense, Dropout
from glassnet.model import Sequential


def blobs(n=60, seed=0):
    """Three Gaussian blobs in 2-D, labels 0..2."""
    rng = np.random.default_rng(seed)
    centers = np.array([[0.0, 2.0], [2.0, -1.0], [-2.0, -1.0]])
    y = rng.integers(0, 3, n)
    return centers[y] + 0.6 * rng.standard_normal((n, 2)), y


# --- the progress bar in Jupyter --------------------------------------------------------------

class ZMQInteractiveShell:
    """Named as the shell of a Jupyter kernel is: what ``progress._in_jupyter`` checks."""


class TerminalInteractiveShell:
    """The shell of IPython in a terminal: not a notebook."""


@pytest.fixture
def tqdm_auto():
    """tqdm.auto, imported before any fake IPython exists (it picks its bar on first import)."""
    return pytest.importorskip("tqdm.auto", reason="tqdm is not installed: the progress bar is "
                                                   "untested")


def fake_ipython(monkeypatch, shell):
    """Make ``sys.modules`` look like a kernel's: ipykernel imported, and IPython's
    ``get_ipython`` returning an instance of ``shell`` (None: no ``get_ipython``)."""
    monkeypatch.setitem(sys.modules, "ipykernel", types.ModuleType("ipykernel"))
    ipython = types.ModuleType("IPython")
    if shell is not None:
        ipython.get_ipython = lambda: shell()
    monkeypatch.setitem(sys.modules, "IPython", ipython)


def test_in_jupyter_needs_ipykernel_and_the_zmq_shell(monkeypatch):
    monkeypatch.delitem(sys.modules, "ipykernel", raising=False)
    monkeypatch.delitem(sys.modules, "IPython", raising=False)
    assert not progress._in_jupyter()
    fake_ipython(monkeypatch, TerminalInteractiveShell)
    assert not progress._in_jupyter()
    fake_ipython(monkeypatch, None)
    assert not progress._in_jupyter()
    fake_ipython(monkeypatch, ZMQInteractiveShell)
    assert progress._in_jupyter()
    monkeypatch.delitem(sys.modules, "ipykernel")  # IPython alone is not a kernel
    assert not progress._in_jupyter()


def test_in_jupyter_does_not_import_ipython(monkeypatch):
    monkeypatch.setitem(sys.modules, "ipykernel", types.ModuleType("ipykernel"))
    monkeypatch.delitem(sys.modules, "IPython", raising=False)
    assert not progress._in_jupyter()
    assert "IPython" not in sys.modules


@pytest.mark.parametrize("stream", ["stderr", "stdout"])
def test_in_jupyter_the_cells_output_gets_tqdm_autos_bar(monkeypatch, tqdm_auto, stream):
    cell = io.StringIO()  # the cell's output: not a terminal
    monkeypatch.setattr(sys, stream, cell)
    fake_ipython(monkeypatch, ZMQInteractiveShell)
    X, y = blobs()
    bar = progress.ProgressBar(3, file=None if stream == "stderr" else sys.stdout)
    assert bar._tqdm is tqdm_auto.tqdm  # the notebook widget where ipywidgets is installed
    made = []

    def record(**kwargs):
        made.append(tqdm_auto.tqdm(**kwargs))
        return made[-1]

    monkeypatch.setattr(bar, "_tqdm", record)
    glassnet.fit(glassnet.MLP([2, 5, 3], seed=0), X, y, epochs=3, callbacks=[bar])
    assert len(made) == 1 and made[0].n == 3 and made[0].total == 3
    assert bar.stream is None  # not the line writer
    text = cell.getvalue()
    assert "\r" in text and "3/3" in text and "epoch 1/3:" not in text


def test_in_jupyter_a_log_file_still_gets_lines(monkeypatch, tqdm_auto):
    fake_ipython(monkeypatch, ZMQInteractiveShell)
    X, y = blobs()
    log = io.StringIO()
    bar = progress.ProgressBar(3, file=log)
    glassnet.fit(glassnet.MLP([2, 5, 3], seed=0), X, y, epochs=3, callbacks=[bar])
    assert bar.bar is None
    assert [line.split(":")[0] for line in log.getvalue().splitlines()] == [
        "epoch 1/3", "epoch 2/3", "epoch 3/3"]


@pytest.mark.parametrize("shell", [None, TerminalInteractiveShell])
def test_outside_jupyter_a_redirected_stderr_gets_lines_as_before(monkeypatch, tqdm_auto, shell):
    monkeypatch.delitem(sys.modules, "ipykernel", raising=False)
    if shell is not None:  # IPython in a terminal, with ipykernel imported by something
        fake_ipython(monkeypatch, shell)
    cell = io.StringIO()
    monkeypatch.setattr(sys, "stderr", cell)
    X, y = blobs()
    bar = progress.ProgressBar(2)
    glassnet.fit(glassnet.MLP([2, 5, 3], seed=0), X, y, epochs=2, callbacks=[bar])
    text = cell.getvalue()
    assert bar.bar is None and "\r" not in text
    assert [line.split(":")[0] for line in text.splitlines()] == ["epoch 1/2", "epoch 2/2"]


# --- the model's HTML summary -----------------------------------------------------------------

class Table(HTMLParser):
    """Every tag met, and the table's rows as lists of (tag, attributes, text) cells."""

    def __init__(self, markup):
        super().__init__(convert_charrefs=True)
        self.tags, self.rows, self.cell = [], [], None
        self.feed(markup)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th"):
            self.cell = [tag, dict(attrs), ""]

    def handle_endtag(self, tag):
        if tag in ("td", "th"):
            self.rows[-1].append(tuple(self.cell))
            self.cell = None

    def handle_data(self, data):
        assert self.cell is not None, f"text outside a cell: {data!r}"
        self.cell[2] += data


MODELS = {
    "mlp": lambda: glassnet.MLP([5, 7, 3], seed=0),
    "dropout_float32": lambda: glassnet.MLP([4, 6, 6, 2], activation=["tanh", "gelu"],
                                            dropout=0.2, dtype="float32", seed=1),
    "no_input_width": lambda: Sequential([Dropout(0.5)]),
    "dense_only": lambda: Sequential([Dense(3, 2, seed=0)]),
}


@pytest.mark.parametrize("name", sorted(MODELS))
def test_html_summary_is_a_table_of_the_summarys_rows(name):
    model = MODELS[name]()
    table = Table(model._repr_html_())
    assert set(table.tags) <= {"table", "thead", "tbody", "tfoot", "tr", "th", "td"}
    header, *layers, total = table.rows
    assert [text for tag, _, text in header] == ["#", "Layer", "Output shape", "Parameters"]
    assert len(layers) == len(model.layers)
    lines = model.summary().splitlines()
    for i, (row, layer) in enumerate(zip(layers, model.layers)):
        cells = [text for tag, _, text in row]
        assert all(tag == "td" for tag, _, _ in row)
        assert cells[:2] == [str(i), repr(layer)]
        # the summary's line for this layer is these four cells, padded into columns
        assert lines[2 + i].split() == " ".join(cells).split()
    (tag, attrs, label), (_, _, count) = total
    assert attrs == {"colspan": "3"} and label == "Total parameters"
    assert lines[-1] == f"Total parameters: {count}"
    assert count == f"{model.count_parameters()} ({model.dtype.name})"


class Sneaky(Dropout):
    """A layer whose repr holds markup: the table shows it as text, never as markup."""

    def __repr__(self):
        return "<script>alert('&')</script>"


def test_html_summary_escapes_text():
    markup = Sequential([Sneaky(0.5)], dtype="float64")._repr_html_()
    assert "<script>" not in markup and "&lt;script&gt;" in markup
    assert Table(markup).rows[1][1][2] == "<script>alert('&')</script>"


def test_summary_text_is_unchanged():
    """The text summary, byte for byte as before the HTML table shared its rows."""
    model = glassnet.MLP([5, 7, 3], seed=0)
    assert model.summary() == (
        "#  Layer          Output shape  Parameters\n"
        "--------------------------------------------\n"
        "0  Dense(5 -> 7)  (None, 7)     42 = 5·7 + 7\n"
        "1  ReLU()         (None, 7)     0\n"
        "2  Dense(7 -> 3)  (None, 3)     24 = 7·3 + 3\n"
        "--------------------------------------------\n"
        "Total parameters: 66 (float32)")
