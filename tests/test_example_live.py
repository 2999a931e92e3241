"""examples/live_training.py: as a plain script it trains and saves its figure; in a notebook
(a fake IPython kernel) it redraws the figure in place every few epochs and saves nothing."""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "live_training.py"


def run_example(cwd, extra_path=None):
    for module in ("matplotlib", "sklearn"):
        pytest.importorskip(module, reason=f"{module} is not installed: the live training "
                                           "example (the demo extra) is not run")
    env = dict(os.environ, MPLBACKEND="Agg")
    if extra_path is not None:
        env["PYTHONPATH"] = os.pathsep.join([str(extra_path), env.get("PYTHONPATH", "")])
    return subprocess.run([sys.executable, str(EXAMPLE)], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)


def test_live_training_as_a_script_saves_its_figure(tmp_path):
    proc = run_example(tmp_path)
    assert proc.returncode == 0, proc.stderr
    png = tmp_path / "live_training.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert proc.stdout.startswith("epoch 60: ") and "saved live_training.png" in proc.stdout
    val_accuracy = float(proc.stdout.split("val_accuracy ")[1].split("%")[0])
    assert val_accuracy >= 90  # it learned the moons, not just a line


def test_live_training_in_a_notebook_redraws_in_place(tmp_path):
    """A stand-in IPython whose shell is named as a kernel's, whose display functions log."""
    fake = tmp_path / "fake"
    (fake / "IPython").mkdir(parents=True)
    (fake / "IPython" / "__init__.py").write_text(textwrap.dedent("""
        version_info = (9, 0)

        class Events:  # where matplotlib's pyplot registers its redraw after a cell
            def register(self, name, callback):
                pass

        class ZMQInteractiveShell:
            events = Events()

            def enable_gui(self, name):
                pass

        def get_ipython():
            return ZMQInteractiveShell()
    """))
    (fake / "IPython" / "display.py").write_text(textwrap.dedent("""
        def clear_output(wait=False):
            print(f"clear_output(wait={wait})")

        def display(obj):
            print(f"display({type(obj).__name__})")
    """))
    # matplotlib before 3.7 asks IPython which GUI a backend needs, from IPython.core
    (fake / "IPython" / "core").mkdir()
    (fake / "IPython" / "core" / "__init__.py").write_text("")
    (fake / "IPython" / "core" / "pylabtools.py").write_text(
        "backend2gui = {}  # backend name -> GUI event loop: none for Agg\n")
    work = tmp_path / "work"
    work.mkdir()
    proc = run_example(work, extra_path=fake)
    assert proc.returncode == 0, proc.stderr
    redraw = ["clear_output(wait=True)", "display(Figure)"]
    assert proc.stdout.splitlines() == redraw * 6  # epochs 10, 20, ..., 60
    assert not list(work.iterdir())  # shown, not saved
