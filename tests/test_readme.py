"""The README's promises: its Python examples run as written and reach what they state, its
links lead somewhere, and its command examples use commands and options that exist."""

import re
import shlex
import warnings
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
DOCS = [README, ROOT / "benchmarks" / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def fenced_blocks(text: str, language: str) -> list[tuple[int, str]]:
    """``(first line number, code)`` of every fenced block in ``language``."""
    return [(text.count("\n", 0, m.start(1)) + 1, m.group(1))
            for m in re.finditer(rf"^```{language}\n(.*?)^```", text, re.S | re.M)]


def without_fences(text: str) -> str:
    return re.sub(r"^```.*?^```", "", text, flags=re.S | re.M)


# --- The Python examples -------------------------------------------------------------------

def _check_first_look(ns):
    assert ns["report"].ok, f"the README's gradcheck fails:\n{ns['report']}"


def _check_training(ns):
    import glassnet
    assert ns["history"]["val_accuracy"][-1] >= 0.95          # README: "about 0.97"
    scores = glassnet.evaluate(ns["model"], ns["X_test"], ns["y_test"])
    assert set(scores) == {"loss", "accuracy"}
    assert scores["accuracy"] >= 0.95 and 0 < scores["loss"] < 0.3


def _check_callbacks(ns):
    assert 0 < len(ns["history"]) <= 10 and ns["history"]["val_accuracy"][-1] >= 0.9


def _check_fit_iter(ns):
    assert ns["state"].epoch == 3 and "loss" in ns["state"].logs


def _check_classifier(ns):
    assert ns["clf"].score(ns["X_test"], ns["y_test"]) >= 0.96    # README: "about 0.98"


def _check_regressor(ns):
    assert ns["reg"].score(ns["X_wave"], ns["y_wave"]) >= 0.99    # README: "about 0.998"


def _check_same_model(ns):
    assert ns["ours"].n_iter_ == ns["theirs"].n_iter_ == 169          # README: "169 169"
    gap = max(abs(a - b).max() for a, b in zip(ns["ours"].coefs_, ns["theirs"].coefs_))
    assert gap < 1e-13                                                # README: "about 1e-15"


def _check_saving(ns):
    import glassnet
    np.testing.assert_array_equal(ns["same"].predict(ns["X_test"]),
                                  ns["model"].predict(ns["X_test"]))
    assert isinstance(ns["same"], glassnet.Sequential)
    assert type(ns["clf_again"]) is glassnet.MLPClassifier
    np.testing.assert_array_equal(ns["clf_again"].predict_proba(ns["X_test"]),
                                  ns["clf"].predict_proba(ns["X_test"]))


def _check_serving(ns):
    np.testing.assert_array_equal(ns["labels"], ns["clf"].predict(ns["X_test"]))
    np.testing.assert_allclose(ns["probabilities"], ns["clf"].predict_proba(ns["X_test"]),
                               atol=1e-5)


def _check_seeing_inside(ns):
    import pathlib
    assert ns["monitor"].records["dead_fraction"].shape == (3, 2)    # 3 epochs, 2 layers
    assert ns["diagnosis"].ok                                          # README: "no findings"
    html = pathlib.Path("report.html").read_text(encoding="utf-8")
    assert html.count('src="data:image/png;base64,') >= 3


def _check_functional(ns):
    assert ns["accuracy"] == 100                                   # README: "accuracy 100%"
    F = ns["F"]
    predicted = F.predict(ns["X_xor"], ns["weights"], ns["biases"], ns["activation"])
    np.testing.assert_array_equal(predicted, [0, 1, 1, 0])


# Each check runs right after the first block that contains its marker (later blocks may reuse
# the names: `model`, `history`).
CHECKS = {
    "glassnet.gradcheck(": _check_first_look,
    "glassnet.evaluate(": _check_training,
    "callbacks=[": _check_callbacks,
    "glassnet.fit_iter(": _check_fit_iter,
    "glassnet.MLPClassifier(hidden_layer_sizes": _check_classifier,
    "theirs = neural_network.MLPClassifier(": _check_same_model,
    "glassnet.MLPRegressor(": _check_regressor,
    "glassnet.load(": _check_saving,
    "glassnet.report(": _check_seeing_inside,
    "interop.to_onnx(": _check_serving,
    "F.train_one_step(": _check_functional,
}


def test_readme_python_examples_run_as_written(capsys, tmp_path, monkeypatch):
    """Every ```python block, in order, in one empty namespace, as a user pasting them into
    one session; each states values that the checks above hold it to. The files they write
    go to a temporary folder."""
    pytest.importorskip("sklearn", reason="scikit-learn is not installed: the README's "
                                          "examples load its digits data set")
    pytest.importorskip("onnxruntime", reason="onnxruntime is not installed: the README "
                                              "serves a model with it (pip install '.[test]')")
    monkeypatch.chdir(tmp_path)
    from sklearn.exceptions import ConvergenceWarning

    text = README.read_text(encoding="utf-8")
    blocks = fenced_blocks(text, "python")
    assert len(blocks) >= 5
    namespace: dict = {"__name__": "__readme__"}
    done = set()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for line, code in blocks:
            # compiled at its own line numbers, so a traceback points into README.md
            exec(compile("\n" * (line - 1) + code, str(README), "exec"), namespace)
            for marker, check in CHECKS.items():
                if marker in code and marker not in done:
                    check(namespace)
                    done.add(marker)
    assert done == set(CHECKS), f"the README lost the examples of {set(CHECKS) - done}"
    out = capsys.readouterr().out
    assert "Total parameters" in out and "accuracy 100%" in out
    # A newcomer should not meet a warning: no unconverged estimator, no glassnet warning.
    noisy = [w for w in caught if issubclass(w.category, ConvergenceWarning)
             or "glassnet" in str(w.filename)]
    assert not noisy, [str(w.message) for w in noisy]


# --- Links ---------------------------------------------------------------------------------

def github_slug(heading: str) -> str:
    """The anchor GitHub gives a heading: lowercase, punctuation dropped, spaces to dashes."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    text = without_fences(path.read_text(encoding="utf-8"))
    return {github_slug(h) for h in re.findall(r"^#+ (.+)$", text, re.M)}


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_lead_to_files_and_headings_that_exist(doc):
    assert doc.exists(), f"{doc} is missing"
    text = without_fences(doc.read_text(encoding="utf-8"))
    links = re.findall(r"\]\(([^)\s]+)\)", text)
    if doc == README:
        assert any(link.startswith("docs/") for link in links)
        assert "benchmarks/README.md" in links
    for link in links:
        if re.match(r"[a-z]+:", link):  # https:, mailto:
            continue
        target, _, fragment = link.partition("#")
        path = (doc.parent / target).resolve() if target else doc
        assert path.exists(), f"{doc.name}: the link {link!r} leads to no file"
        if fragment and path.suffix == ".md":
            assert fragment in anchors(path), f"{doc.name}: no heading for {link!r}"


# --- Command examples ----------------------------------------------------------------------

def glassnet_commands(text: str) -> list[list[str]]:
    """The arguments of every ``glassnet ...`` (or ``python -m glassnet ...``) command in the
    ```sh blocks and inline code spans, cut at the shell's ``&&``, ``|`` and ``;``."""
    candidates = [code for _, code in fenced_blocks(text, "sh")]
    candidates += re.findall(r"`([^`\n]+)`", without_fences(text))
    commands = []
    for candidate in candidates:
        for segment in re.split(r"&&|\|\|?|;|\n", candidate):
            try:
                tokens = shlex.split(segment, comments=True)
            except ValueError:
                continue
            if tokens[:1] == ["glassnet"]:
                commands.append(tokens[1:])
            elif len(tokens) >= 3 and tokens[1:3] == ["-m", "glassnet"]:
                commands.append(tokens[3:])
    return commands


def test_readme_commands_use_subcommands_and_options_that_exist():
    from glassnet.cli import build_parser

    parser = build_parser()
    subcommands = {name for action in parser._actions
                   if hasattr(action, "choices") and isinstance(action.choices, dict)
                   for name in action.choices}
    commands = [args for args in glassnet_commands(README.read_text(encoding="utf-8"))
                if args and not args[0].startswith("-")]
    assert any(args[0] == "demo" for args in commands)
    for args in commands:
        assert args[0] in subcommands, f"the README shows 'glassnet {args[0]}': no such command"
        parser.parse_args(args)  # options and their values too: raises on bad usage
