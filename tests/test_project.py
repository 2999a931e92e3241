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
    package = ROOT / "src" / "glassnet"
    for path in package.rglob("*.py"):
        if path.name == "trace.py" or path.parent.name == "cli":
            continue
        source = path.read_text(encoding="utf-8")
        assert not re.search(r"^\s*print\(", source, re.M), f"{path.name} prints"



def test_ci_oldest_pins_are_pyprojects_minima():
    """.ci/oldest.txt pins each dependency at exactly the ">=" minimum that pyproject.toml
    declares for it (in dependencies and every extra), and CI's second run installs with it."""
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10: pytest's own dependency
        import tomli as tomllib
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    minima = {}
    for req in project["dependencies"] + sum(project["optional-dependencies"].values(), []):
        match = re.fullmatch(r"([A-Za-z0-9_.-]+)>=([0-9][0-9.]*)", req.replace(" ", ""))
        assert match, f"{req!r}: each bound is 'name>=version', a version CI installs"
        name, version = match[1].lower().replace("_", "-"), match[2]
        assert minima.setdefault(name, version) == version, f"{name}: two different minima"
    lines = (ROOT / ".ci" / "oldest.txt").read_text(encoding="utf-8").splitlines()
    pins = dict(line.split("==") for line in lines if line.strip() and not line.startswith("#"))
    assert pins == minima
    assert '".[test]" -c .ci/oldest.txt' in (ROOT / ".ci" / "run").read_text()
