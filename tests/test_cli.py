"""End-to-end tests of the ``glassnet`` command line."""

import argparse
import re
import subprocess
import sys

import pytest

import glassnet.losses
from glassnet.activations import ACTIVATIONS
from glassnet.cli import build_parser, main
from glassnet.init import INITIALISERS


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


def test_demo_out_saves_part_two_figures_and_report(capsys, monkeypatch, tmp_path):
    pytest.importorskip("sklearn", reason="scikit-learn is not installed: demo part 2 untested")
    pytest.importorskip("tqdm", reason="tqdm is not installed: demo part 2 is skipped")
    pytest.importorskip("matplotlib", reason="matplotlib is not installed: no figures to save")
    monkeypatch.chdir(tmp_path)
    assert main(["demo", "--steps", "5", "--every", "5", "--digits-epochs", "2",
                 "--out", "demo-out"]) == 0
    folder = tmp_path / "demo-out"
    assert f"figures and report (test images) written to {folder}" in capsys.readouterr().out
    names = ["confusion_matrix.png", "learning_curves.png", "network.png", "report.html"]
    assert sorted(p.name for p in folder.iterdir()) == names
    assert all((folder / name).stat().st_size > 0 for name in names)
    assert (folder / "learning_curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "<h2>Confusion matrix</h2>" in (folder / "report.html").read_text(encoding="utf-8")
    (tmp_path / "a-file").write_text("")
    assert main(["demo", "--steps", "5", "--every", "5", "--out", "a-file"]) == 2
    assert "error: --out a-file: not a folder" in capsys.readouterr().err


def test_gradcheck_command_passes_and_prints_the_table(capsys):
    assert main(["gradcheck", "--layers", "3,5,2", "--activation", "gelu", "--loss", "huber"]) == 0
    out = capsys.readouterr().out
    assert "layers.0.W" in out and "layers.2.b" in out and "PASS" in out


@pytest.mark.parametrize("args, message", [
    (["gradcheck", "--layers", "3"], "error: layer_sizes needs at least 2 entries"),
    (["gradcheck", "--layers", "3,x"], "error: argument --layers"),
    (["gradcheck", "--activation", "swish"], "error: argument --activation"),
    (["gradcheck", "--init", "ones"], "error: argument --init: invalid choice: 'ones'"),
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


@pytest.mark.parametrize("args, message", [
    (["demo", "--lr", "-1"], "argument --lr: expected a positive number, got '-1'"),
    (["demo", "--seed", "-1"], "argument --seed: expected an int from 0 to 2**32 - 1"),
    (["gradcheck", "--seed", "abc"], "argument --seed: expected an int from 0 to 2**32 - 1"),
    (["gradcheck", "--layers", "99999999999999999999,3"],
     "argument --layers: expected sizes below 2**31"),
])
def test_bad_option_values_are_named_in_one_line(capsys, args, message):
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {message}") and err.count("\n") == 1


def test_sizes_beyond_memory_are_bad_input_not_a_bug(capsys, monkeypatch):
    def no_memory(*args, **kwargs):
        raise MemoryError
    monkeypatch.setattr("glassnet.cli._audit.MLP", no_memory)
    assert main(["gradcheck", "--layers", "100000,100000"]) == 2
    assert capsys.readouterr().err == "error: not enough memory for the sizes asked for\n"


def test_a_reader_that_goes_away_stops_the_output_quietly():
    """glassnet demo | head -1: exit status 141 as for SIGPIPE, no traceback. A line a step
    for 10^5 steps: far more than a pipe holds, so the demo is still writing at the close."""
    proc = subprocess.Popen([sys.executable, "-m", "glassnet", "demo", "--no-digits",
                             "--steps", "100000", "--every", "1"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.readline()
    proc.stdout.close()
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 141 and err == b""


def test_demo_without_tqdm_skips_part_two_with_the_extra_to_install(capsys, monkeypatch):
    pytest.importorskip("sklearn", reason="scikit-learn is not installed: the tqdm branch "
                                          "is not reached")
    for name in ("tqdm", "tqdm.auto"):  # import tqdm raises ImportError, even once imported
        monkeypatch.setitem(sys.modules, name, None)
    assert main(["demo", "--steps", "5", "--every", "5"]) == 0
    assert "skipped: this part needs scikit-learn and tqdm" in capsys.readouterr().out


def test_version(capsys):
    from glassnet import __version__
    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0 and capsys.readouterr().out == f"glassnet {__version__}\n"


def test_quiet_prints_nothing_and_the_exit_status_still_tells():
    code, out, err = run("demo", "--quiet", "--digits-epochs", "2")
    assert (code, out, err) == (0, "", "")
    code, out, err = run("gradcheck", "-q", "--layers", "3,4,2")
    assert (code, out, err) == (0, "", "")


def test_quiet_gradcheck_reports_a_planted_bug_by_its_exit_status(capsys, monkeypatch):
    from glassnet.layers import Dense
    original = Dense.backward

    def flipped_bias(self, delta, *args, **kwargs):
        out = original(self, delta, *args, **kwargs)
        self.db *= -1.0
        return out
    monkeypatch.setattr(Dense, "backward", flipped_bias)
    assert main(["gradcheck", "--quiet"]) == 1
    assert capsys.readouterr() == ("", "")


def test_a_learning_rate_that_diverges_is_named(capsys):
    assert main(["demo", "--lr", "1e200", "--no-digits"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: training diverged at step") and "--lr 1e+200" in err
    assert err.count("\n") == 1


@pytest.mark.parametrize("loss", sorted(glassnet.losses.LOSSES))
def test_gradcheck_draws_targets_every_loss_accepts(capsys, loss):
    """Each loss in --loss's choices gets valid targets (poisson needs counts >= 0)."""
    assert main(["gradcheck", "--quiet", "--loss", loss, "--layers", "3,4,2"]) == 0


def commands():
    """{name: (parser, one-line help)} of every command, read from build_parser()."""
    action = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    summaries = {choice.dest: choice.help for choice in action._choices_actions}
    return {name: (parser, summaries[name]) for name, parser in action.choices.items()}


def help_text(capsys, monkeypatch, *args):
    """``glassnet ARGS --help`` as printed, one line an option (a very wide terminal)."""
    monkeypatch.setenv("COLUMNS", "1000")
    with pytest.raises(SystemExit) as exit_:
        main([*args, "--help"])
    assert exit_.value.code == 0
    return capsys.readouterr().out


def option_line(out, option):
    """The line of ``--help``'s options section that describes ``option`` (a flag, or the
    metavar of a positional argument, found in the positional arguments' section)."""
    title = "options" if option.startswith("-") else "positional arguments"
    section = out.split(f"\n{title}:\n")[1].split("\n\n")[0]
    return next(line for line in section.splitlines() if line.split()[0].rstrip(",") == option)


@pytest.mark.parametrize("command", sorted(commands()))
def test_every_option_has_help_with_its_default_and_its_choices(capsys, monkeypatch, command):
    parser, _ = commands()[command]
    out = help_text(capsys, monkeypatch, command)
    for action in parser._actions:
        if isinstance(action, argparse._HelpAction):
            continue
        assert action.help and action.help.strip(), action.option_strings
        line = option_line(out, (action.option_strings or [action.metavar or action.dest])[0])
        if action.nargs != 0 and action.default is not None:  # flags state no default
            assert f"(default: {action.default})" in line, line
        for choice in action.choices or ():
            assert re.search(rf"\b{choice}\b", line), (choice, line)


@pytest.mark.parametrize("registry, option", [
    (ACTIVATIONS, "--activation"), (glassnet.losses.LOSSES, "--loss"), (INITIALISERS, "--init")])
def test_choices_are_read_from_the_registries(capsys, monkeypatch, registry, option):
    """A name added to a registry is accepted and listed without touching the CLI."""
    monkeypatch.setitem(registry, "newcomer", next(iter(registry.values())))
    assert "newcomer" in option_line(help_text(capsys, monkeypatch, "gradcheck"), option)


def test_top_level_help_says_what_glassnet_is_and_lists_every_command(capsys, monkeypatch):
    out = help_text(capsys, monkeypatch)
    assert "glassnet: neural networks in NumPy" in out and "exit status:" in out
    assert all(action.help for action in build_parser()._actions if action.option_strings)
    for name, (_, summary) in commands().items():
        assert summary
        assert re.search(rf"^ +{name} +{re.escape(summary)}$", out, re.M), name


@pytest.mark.parametrize("command", [None, *sorted(commands())])
def test_every_help_ends_with_an_example(capsys, monkeypatch, command):
    out = help_text(capsys, monkeypatch, *([command] if command else []))
    examples = out.split("\nexamples:\n")[1].rstrip().splitlines()
    assert examples and all(line.startswith("  glassnet ") for line in examples)


def test_demo_help_explains_both_parts(capsys, monkeypatch):
    out = help_text(capsys, monkeypatch, "demo")
    for words in ["2-4-2", "XOR", "step-by-step trace", "100 %", "summary", "digits",
                  "progress bar", "scikit-learn's MLPClassifier", "a few seconds"]:
        assert words in out, words


def test_gradcheck_help_says_what_is_audited_and_what_the_exit_status_means(capsys,
                                                                            monkeypatch):
    out = help_text(capsys, monkeypatch, "gradcheck")
    assert "central finite difference" in out
    assert "exit status: 0 when every gradient agrees" in out and "1 when" in out


def test_layers_default_is_shown_as_typed_and_parsed_as_ints():
    assert build_parser().parse_args(["gradcheck"]).layers == [4, 8, 3]


# --- glassnet inspect --------------------------------------------------------------------------

def saved_model(tmp_path):
    """A float64 MLP with dropout and a configured activation, saved; (model, path)."""
    from glassnet.activations import LeakyReLU
    model = glassnet.MLP([4, 8, 3], activation="leaky_relu", dropout=0.2, dtype="float64",
                         seed=0)
    model.layers[1] = LeakyReLU(alpha=0.2)
    path = tmp_path / "model.safetensors"
    glassnet.save(model, path)
    return model, path


def test_inspect_prints_the_configuration_and_the_summary_table(capsys, tmp_path, monkeypatch):
    model, path = saved_model(tmp_path)

    def no_building(*args, **kwargs):
        raise AssertionError("inspect built the model")
    monkeypatch.setattr("glassnet.io.reading._build", no_building)
    monkeypatch.setattr("glassnet.io.reading.Sequential", no_building)
    assert main(["inspect", str(path)]) == 0
    out = capsys.readouterr().out
    assert model.summary() in out  # the very table model.summary() prints
    assert f"file: {path} ({path.stat().st_size} bytes, 4 tensors)" in out
    assert "format: glassnet format version 1, written by glassnet" in out
    assert "dtype: float64" in out and "kind: model" in out
    assert '1  leaky_relu  {"alpha": 0.2}' in out and '2  dropout     {"p": 0.2}' in out


def test_inspect_json_prints_the_stored_configuration(capsys, tmp_path):
    import json

    import safetensors
    _, path = saved_model(tmp_path)
    assert main(["inspect", str(path), "--json"]) == 0
    with safetensors.safe_open(str(path), framework="np") as f:  # read by safetensors itself
        stored = json.loads(f.metadata()["glassnet"])
    assert json.loads(capsys.readouterr().out) == stored


def test_inspect_reads_the_header_only_so_nan_weights_pass_it_but_not_load(capsys, tmp_path):
    import struct
    _, path = saved_model(tmp_path)
    data = bytearray(path.read_bytes())
    data[-8:] = struct.pack("<d", float("nan"))  # the last float64 of the data section
    path.write_bytes(bytes(data))
    assert main(["inspect", str(path), "--quiet"]) == 0
    with pytest.raises(glassnet.ModelFileError, match="holds NaN or inf"):
        glassnet.load(path)


BAD_FILES = {  # case: (how the saved file is spoiled, what the message says)
    "truncated": (lambda data: data[:100], "goes past the end of the file"),
    "empty": (lambda data: b"", "0 bytes long, too short"),
    "appended": (lambda data: data + b"x", "1 bytes follow the last tensor"),
    "random": (lambda data: bytes(range(256)) * 4, "goes past the end"),
    "newer": (lambda data: data.replace(b'\\"format_version\\":1', b'\\"format_version\\":9'),
              "the file is from a newer glassnet"),
}


@pytest.mark.parametrize("case", [*BAD_FILES, "missing", "folder"])
def test_inspect_on_a_bad_file_exits_2_with_one_line(capsys, tmp_path, case):
    _, path = saved_model(tmp_path)
    bad = tmp_path / "bad.safetensors"
    if case == "missing":
        expected = f"cannot read {bad}: No such file or directory"
    elif case == "folder":
        bad, expected = tmp_path, f"{tmp_path}: is a folder, not a model file"
    else:
        bad.write_bytes(BAD_FILES[case][0](path.read_bytes()))
        expected = f"{bad}: "
    assert main(["inspect", str(bad)]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith(f"error: {expected}"), err
    if case in BAD_FILES:
        assert BAD_FILES[case][1] in err, err


def test_inspect_help_exits_0_in_a_fresh_process():
    code, out, _ = run("inspect", "--help")
    assert code == 0 and "usage: glassnet inspect" in out and "without building" in out
