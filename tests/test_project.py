"""The project's promises about itself: README commands, CI, examples, no stray prints."""

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def quick_start_commands():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```sh\n(.+?)\n```", section)


def test_readme_quick_start_has_two_commands_and_ci_runs_the_test_one():
    commands = quick_start_commands()
    assert len(commands) == 2
    main_job, tests = commands
    assert main_job.endswith("glassnet demo")
    assert "pytest" in tests
    assert tests in (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()


def test_example_runs_and_learns_xor():
    proc = subprocess.run([sys.executable, str(ROOT / "examples" / "xor_from_scratch.py")],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "step 500" in proc.stdout and "accuracy 100%" in proc.stdout.splitlines()[4]


def test_library_modules_do_not_print():
    """Only the CLI and the trace module write to stdout; everything else returns values."""
    allowed = {"cli.py", "trace.py"}
    for path in (ROOT / "src" / "glassnet").glob("*.py"):
        if path.name in allowed:
            continue
        source = path.read_text(encoding="utf-8")
        assert not re.search(r"^\s*print\(", source, re.M), f"{path.name} prints"


def test_readme_python_examples_run(capsys):
    """Every ```python block of the README runs, in order, on the digits data."""
    sklearn_datasets = __import__("pytest").importorskip(
        "sklearn.datasets", reason="scikit-learn is not installed: README examples use digits")
    import warnings

    X, y = sklearn_datasets.load_digits(return_X_y=True)
    X = (X - X.mean(axis=0)) / (X.std(axis=0) + 1e-9)
    namespace = {"X_train": X[:1400], "y_train": y[:1400], "X_test": X[1400:], "y_test": y[1400:]}
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.+?)```", text, re.S)
    assert len(blocks) >= 3
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for block in blocks:
            exec(compile(block, "README.md", "exec"), namespace)
    assert namespace["history"]["val_accuracy"][-1] > 0.9
    assert "Total parameters" in capsys.readouterr().out
