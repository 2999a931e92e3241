"""End-to-end tests of the ``glassnet`` command line."""

import subprocess
import sys

import pytest

from glassnet.cli import main


def run(*args):
    """Run ``python -m glassnet`` in a fresh process; return (exit status, stdout, stderr)."""
    proc = subprocess.run([sys.executable, "-m", "glassnet", *args], capture_output=True,
                          text=True, timeout=120)
    return proc.returncode, proc.stdout, proc.stderr


def test_demo_solves_xor_and_shows_trace_and_summary():
    code, out, err = run("demo")
    assert code == 0, err
    assert "Step  1: Loss = 0.719186, Accuracy =  75.0%" in out  # the notebook's first step
    assert "Backpropagation complete!" in out
    assert "Final accuracy: 100.0%" in out
    assert "Predicted classes: [0 1 1 0]" in out
    assert "Total parameters: 22" in out
    assert "Traceback" not in err


def test_demo_part_two_trains_digits_with_a_progress_bar_next_to_sklearn():
    pytest.importorskip("sklearn", reason="scikit-learn is not installed: demo part 2 untested")
    code, out, err = run("demo", "--digits-epochs", "30")
    assert code == 0, err
    ours = float(out.split("glassnet     test accuracy: ")[1].split("%")[0])
    theirs = float(out.split("scikit-learn test accuracy: ")[1].split("%")[0])
    assert ours > 90 and abs(ours - theirs) < 5
    assert "30/30" in err  # the tqdm bar, on stderr


def test_gradcheck_command_passes_and_prints_the_table(capsys):
    assert main(["gradcheck", "--layers", "3,5,2", "--activation", "gelu", "--loss", "huber"]) == 0
    out = capsys.readouterr().out
    assert "layers.0.W" in out and "layers.2.b" in out and "PASS" in out


@pytest.mark.parametrize("args, message", [
    (["gradcheck", "--layers", "3"], "error: layer_sizes needs at least 2 entries"),
    (["gradcheck", "--layers", "3,x"], "error: argument --layers"),
    (["gradcheck", "--activation", "swish"], "error: argument --activation"),
    (["demo", "--every", "0"], "error: argument --every: expected a positive int, got '0'"),
    (["nonsense"], "error: argument COMMAND: invalid choice: 'nonsense'"),
    ([], "error: the following arguments are required: COMMAND"),
])
def test_bad_usage_exits_2_with_one_line(capsys, args, message):
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith(message)
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


@pytest.mark.parametrize("command", ["demo", "gradcheck", None])
def test_help_exits_0(command):
    code, out, _ = run(*([command] if command else []), "--help")
    assert code == 0 and "usage: glassnet" in out
