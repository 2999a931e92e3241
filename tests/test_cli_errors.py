"""The contract of ``glassnet train``, ``evaluate`` and ``predict`` on bad input, run as a user
runs them: in a fresh process, in a folder of its own.

On bad input every command exits with status 2, writes exactly one line on stderr that begins
with ``error:`` (no traceback) and names what is wrong (the file, the column, the line and the
cell where those apply), and writes no file at all; a model file already at ``train --out`` is
left byte for byte as it was, its modification time too.
"""

import os
import subprocess
import sys

import pytest

TIMEOUT = 60  # seconds a command may take; each here takes well under one

OLD_TIME_NS = 1_000_000_000 * 10**9  # 2001: a modification time no run here can give a file
OLD_MODEL = b"the bytes of an older model, which a failed train must leave as they are\n"

HEADER = "age,colour,label"


# --- helpers ----------------------------------------------------------------------------------

def glassnet(folder, *args):
    """Run ``python -m glassnet ARGS`` in ``folder``; (exit status, stdout, stderr)."""
    proc = subprocess.run([sys.executable, "-m", "glassnet", *map(str, args)], cwd=folder,
                          capture_output=True, timeout=TIMEOUT, check=False)
    return (proc.returncode, proc.stdout.decode("utf-8", "replace"),
            proc.stderr.decode("utf-8", "replace"))


def snapshot(folder):
    """Every path under ``folder`` with its bytes and its modification time."""
    return {str(p.relative_to(folder)): (p.read_bytes() if p.is_file() else None,
                                         p.stat().st_mtime_ns)
            for p in sorted(folder.rglob("*"))}


def refused(folder, args, names=()):
    """Run the command; check the contract on bad input; return the error line.

    ``names``: the texts the message must hold (the file, the column, the line, the cell).
    """
    before = snapshot(folder)
    code, _out, err = glassnet(folder, *args)
    command = "glassnet " + " ".join(map(str, args))
    assert "Traceback" not in err, f"{command}: a traceback\n{err}"
    assert code == 2, f"{command}: exit status {code}, not 2\nstderr: {err!r}"
    lines = err.splitlines()
    assert len(lines) == 1 and err == lines[0] + "\n", \
        f"{command}: stderr is {len(lines)} lines, not one\n{err}"
    line = lines[0]
    assert line.startswith("error: "), f"{command}: {line!r} does not begin 'error: '"
    for name in names:
        assert name in line, f"{command}: the message does not name {name!r}: {line!r}"
    after = snapshot(folder)
    assert set(after) == set(before), \
        f"{command}: files created or removed: {sorted(set(after) ^ set(before))}"
    changed = [p for p in before if before[p] != after[p]]
    assert not changed, f"{command}: files changed: {changed}"
    return line


def table_lines(n=20):
    """A good table: 'age' 1..n (numbers), 'colour' red/blue (text), 'label' yes/no; the row
    with age i is line i + 1 (the header is line 1)."""
    return [HEADER] + [f"{i},{'red' if i % 2 else 'blue'},{'yes' if i % 3 else 'no'}"
                       for i in range(1, n + 1)]


def write_csv(folder, name, replace=None, lines=None):
    """Write the good table to ``folder/name`` with ``replace`` {line number: text} applied."""
    lines = table_lines() if lines is None else list(lines)
    for number, text in (replace or {}).items():
        lines[number - 1] = text
    (folder / name).write_bytes(("\n".join(lines) + "\n").encode("utf-8"))
    return name


def write_latin1(folder, name="latin1.csv"):
    """The good table with 'blé' in Latin-1 (byte 0xE9, not UTF-8) on line 4; (name, the
    offset of that byte in the file)."""
    data = ("\n".join(table_lines()) + "\n").encode("utf-8").split(b"\n")
    data[3] = b"3,bl\xe9,no"
    blob = b"\n".join(data)
    (folder / name).write_bytes(blob)
    return name, blob.index(b"\xe9")


@pytest.fixture
def old_model(tmp_path):
    """A file at ``tmp_path/m.safetensors`` that was there before the run, with an old mtime."""
    path = tmp_path / "m.safetensors"
    path.write_bytes(OLD_MODEL)
    os.utime(path, ns=(OLD_TIME_NS, OLD_TIME_NS))
    return path


def refused_train(folder, model, data, *options, names=(), out=True):
    """``glassnet train DATA --epochs 1 [--out m.safetensors] OPTIONS`` is refused, and the
    model file that was at --out is untouched."""
    args = ["train", data, "--epochs", "1", *(["--out", model.name] if out else []), *options]
    line = refused(folder, args, names)
    assert model.read_bytes() == OLD_MODEL, "the model file at --out was changed"
    assert model.stat().st_mtime_ns == OLD_TIME_NS, "the model file at --out was touched"
    return line


@pytest.fixture(scope="module")
def model_bytes(tmp_path_factory):
    """A model trained by 'glassnet train good.csv --out model.safetensors' (it succeeds):
    features 'age' (numeric) and 'colour' (categories blue, red), target 'label'."""
    folder = tmp_path_factory.mktemp("trained")
    write_csv(folder, "good.csv")
    code, _out, err = glassnet(folder, "train", "good.csv", "--epochs", "1", "--quiet",
                              "--out", "model.safetensors")
    assert code == 0, err
    assert "Traceback" not in err
    return (folder / "model.safetensors").read_bytes()


@pytest.fixture
def model(tmp_path, model_bytes):
    """The trained model as ``tmp_path/model.safetensors``."""
    (tmp_path / "model.safetensors").write_bytes(model_bytes)
    return "model.safetensors"


def use(command, model, data, out="p.csv"):
    """The arguments of ``glassnet evaluate MODEL DATA`` or ``glassnet predict MODEL DATA
    --out FILE``."""
    return [command, model, data] + (["--out", out] if command == "predict" else [])


USE = pytest.mark.parametrize("command", ["evaluate", "predict"])

NON_FINITE = ["nan", "NaN", "inf", "-inf", ""]


def cell_named(cell):
    """What the message must hold to name the cell: the text as written, quoted; an empty cell
    is named as one."""
    return repr(cell) if cell else "empty cell"


# --- train ------------------------------------------------------------------------------------

def test_train_missing_data_file(tmp_path, old_model):
    refused_train(tmp_path, old_model, "nofile.csv", names=["nofile.csv", "no such file"])


def test_train_empty_file(tmp_path, old_model):
    (tmp_path / "empty.csv").write_bytes(b"")
    refused_train(tmp_path, old_model, "empty.csv", names=["empty.csv", "empty"])


def test_train_header_only(tmp_path, old_model):
    write_csv(tmp_path, "header.csv", lines=[HEADER])
    refused_train(tmp_path, old_model, "header.csv", names=["header.csv", "no rows"])


@pytest.mark.parametrize("line", [7, 2, 21], ids=["middle", "first-row", "last-row"])
def test_train_row_with_more_fields_than_the_header(tmp_path, old_model, line):
    i = line - 1
    data = write_csv(tmp_path, "more.csv", {line: f"{i},red,yes,extra"})
    refused_train(tmp_path, old_model, data, names=["more.csv", f"line {line}", "fields"])


def test_train_row_with_fewer_fields_is_an_empty_cell_at_its_line(tmp_path, old_model):
    data = write_csv(tmp_path, "fewer.csv", {7: "6,red"})
    refused_train(tmp_path, old_model, data,
                  names=["fewer.csv", "'label'", "line 7", "empty cell"])


def test_train_non_numeric_cell_in_a_numeric_column(tmp_path, old_model):
    data = write_csv(tmp_path, "abc.csv", {9: "abc,red,yes"})
    line = refused_train(tmp_path, old_model, data,
                         names=["abc.csv", "'age'", "line 9", "'abc'"])
    assert "line 8" not in line and "line 10" not in line


@pytest.mark.parametrize("line", [2, 21])
def test_train_non_numeric_cell_line_number_wherever_it_is(tmp_path, old_model, line):
    data = write_csv(tmp_path, "abc.csv", {line: "abc,red,yes"})
    refused_train(tmp_path, old_model, data, names=["'age'", f"line {line}", "'abc'"])


@pytest.mark.parametrize("cell", NON_FINITE, ids=lambda c: c or "empty")
def test_train_nan_inf_or_empty_cell(tmp_path, old_model, cell):
    data = write_csv(tmp_path, "cells.csv", {9: f"{cell},red,yes"})
    refused_train(tmp_path, old_model, data,
                  names=["cells.csv", "'age'", "line 9", cell_named(cell)])


@pytest.mark.parametrize("cell", NON_FINITE, ids=lambda c: c or "empty")
def test_train_nan_inf_or_empty_cell_in_the_target(tmp_path, old_model, cell):
    lines = ["x,y"] + [f"{i},{i * 0.5 + 0.25}" for i in range(1, 31)]  # y: regression
    data = write_csv(tmp_path, "reg.csv", {12: f"11,{cell}"}, lines=lines)
    refused_train(tmp_path, old_model, data, names=["reg.csv", "'y'", "line 12",
                                                    cell_named(cell)])


def test_train_missing_target_column(tmp_path, old_model):
    data = write_csv(tmp_path, "good.csv")
    refused_train(tmp_path, old_model, data, "--target", "nope",
                  names=["--target", "nope", "no such column"])


@pytest.mark.parametrize("labels", [("yes",), ("1",)], ids=["text", "integer"])
def test_train_single_class(tmp_path, old_model, labels):
    lines = [HEADER] + [f"{i},red,{labels[0]}" for i in range(1, 21)]
    data = write_csv(tmp_path, "one.csv", lines=lines)
    refused_train(tmp_path, old_model, data, names=["one.csv", "'label'", "one class"])


def test_train_unknown_data_set_name(tmp_path, old_model):
    refused_train(tmp_path, old_model, "irsi", names=["irsi", "iris"])


@pytest.mark.parametrize("option, value", [
    ("--layers", "0,x"),
    ("--layers", "0"),
    ("--lr", "-1"),
    ("--validation-fraction", "1.5"),
    ("--epochs", "0"),
    ("--task", "banana"),
    ("--activation", "nope"),
])
def test_train_bad_option_value(tmp_path, old_model, option, value):
    data = write_csv(tmp_path, "good.csv")
    refused_train(tmp_path, old_model, data, option, value, names=[option, value])


def test_train_out_folder_does_not_exist(tmp_path, old_model):
    data = write_csv(tmp_path, "good.csv")
    refused_train(tmp_path, old_model, data, "--out", "nodir/m.safetensors", out=False,
                  names=["--out", "nodir"])


def test_train_report_folder_does_not_exist(tmp_path, old_model):
    data = write_csv(tmp_path, "good.csv")
    refused_train(tmp_path, old_model, data, "--report", "nodir/r.html",
                  names=["--report", "nodir"])


def test_train_early_stopping_without_validation(tmp_path, old_model):
    data = write_csv(tmp_path, "good.csv")
    refused_train(tmp_path, old_model, data, "--early-stopping", "--validation-fraction", "0",
                  names=["--early-stopping", "--validation-fraction"])


def test_train_rows_with_a_csv_file(tmp_path, old_model):
    data = write_csv(tmp_path, "good.csv")
    refused_train(tmp_path, old_model, data, "--rows", "10", names=["--rows"])


def test_train_rows_with_iris(tmp_path, old_model):
    refused_train(tmp_path, old_model, "iris", "--rows", "10", names=["--rows", "iris"])


def test_train_csv_not_utf8(tmp_path, old_model):
    data, offset = write_latin1(tmp_path)
    line = refused_train(tmp_path, old_model, data, names=[data, "UTF-8"])
    assert "line 4" in line or f"byte {offset}" in line, \
        f"the message does not say where the bad byte is (line 4, byte {offset}): {line!r}"


@pytest.mark.parametrize("case", ["bad-cell", "bad-layers"])
def test_failed_train_leaves_an_existing_model_file_untouched(tmp_path, case):
    model = tmp_path / "m.safetensors"
    model.write_bytes(OLD_MODEL)
    os.utime(model, ns=(OLD_TIME_NS, OLD_TIME_NS))
    write_csv(tmp_path, "bad.csv", {5: "abc,red,yes"})
    write_csv(tmp_path, "good.csv")
    args = {"bad-cell": ["bad.csv"],
            "bad-layers": ["good.csv", "--layers", "0"]}[case]  # refused after reading the data
    code, _out, err = glassnet(tmp_path, "train", *args, "--epochs", "1",
                              "--out", "m.safetensors")
    assert code == 2, err
    assert model.read_bytes() == OLD_MODEL
    assert model.stat().st_mtime_ns == OLD_TIME_NS
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.csv", "good.csv",
                                                           "m.safetensors"]


# --- evaluate and predict ---------------------------------------------------------------------

@USE
def test_use_missing_data_file(tmp_path, model, command):
    refused(tmp_path, use(command, model, "nofile.csv"), names=["nofile.csv", "no such file"])


@USE
def test_use_empty_file(tmp_path, model, command):
    (tmp_path / "empty.csv").write_bytes(b"")
    refused(tmp_path, use(command, model, "empty.csv"), names=["empty.csv", "empty"])


@USE
def test_use_header_only(tmp_path, model, command):
    write_csv(tmp_path, "header.csv", lines=[HEADER])
    refused(tmp_path, use(command, model, "header.csv"), names=["header.csv", "no rows"])


@USE
@pytest.mark.parametrize("line", [7, 2], ids=["middle", "first-row"])
def test_use_row_with_more_fields_than_the_header(tmp_path, model, command, line):
    data = write_csv(tmp_path, "more.csv", {line: f"{line - 1},red,yes,extra"})
    refused(tmp_path, use(command, model, data), names=["more.csv", f"line {line}", "fields"])


@USE
def test_use_row_with_fewer_fields_is_an_empty_cell_at_its_line(tmp_path, model, command):
    data = write_csv(tmp_path, "fewer.csv", {7: "6"})  # no colour (and no label)
    refused(tmp_path, use(command, model, data),
            names=["fewer.csv", "'colour'", "line 7", "empty cell"])


@USE
def test_use_non_numeric_cell_in_a_numeric_column(tmp_path, model, command):
    data = write_csv(tmp_path, "abc.csv", {9: "abc,red,yes"})
    refused(tmp_path, use(command, model, data), names=["abc.csv", "'age'", "line 9", "'abc'"])


@pytest.mark.parametrize("cell", NON_FINITE, ids=lambda c: c or "empty")
def test_predict_nan_inf_or_empty_cell(tmp_path, model, cell):
    # evaluate reads the data as predict does (_use._read); its path is run by the others
    data = write_csv(tmp_path, "cells.csv", {9: f"{cell},red,yes"})
    refused(tmp_path, use("predict", model, data),
            names=["cells.csv", "'age'", "line 9", cell_named(cell)])


@USE
def test_use_data_lacks_a_feature_column(tmp_path, model, command):
    lines = ["age,label"] + [f"{i},{'yes' if i % 3 else 'no'}" for i in range(1, 11)]
    data = write_csv(tmp_path, "lacks.csv", lines=lines)
    refused(tmp_path, use(command, model, data), names=["lacks.csv", "'colour'"])


@USE
def test_use_data_has_an_unknown_column(tmp_path, model, command):
    lines = ["age,colour,shoe,label"] + [f"{i},red,{40 + i},{'yes' if i % 3 else 'no'}"
                                         for i in range(1, 11)]
    data = write_csv(tmp_path, "extra.csv", lines=lines)
    refused(tmp_path, use(command, model, data), names=["extra.csv", "'shoe'"])


@USE
def test_use_unknown_data_set_name(tmp_path, model, command):
    refused(tmp_path, use(command, model, "irsi"), names=["irsi", "iris"])


@USE
def test_use_model_file_does_not_exist(tmp_path, command):
    write_csv(tmp_path, "good.csv")
    refused(tmp_path, use(command, "nomodel.safetensors", "good.csv"),
            names=["nomodel.safetensors", "no such"])


@USE
@pytest.mark.parametrize("text", [b"hello\n", b"this is not a model, only a few words of text\n"],
                         ids=["short", "longer"])
def test_use_model_file_that_is_not_a_model(tmp_path, command, text):
    (tmp_path / "m.safetensors").write_bytes(text)
    write_csv(tmp_path, "good.csv")
    refused(tmp_path, use(command, "m.safetensors", "good.csv"), names=["m.safetensors"])


@USE
def test_use_csv_not_utf8(tmp_path, model, command):
    data, offset = write_latin1(tmp_path)
    line = refused(tmp_path, use(command, model, data), names=[data, "UTF-8"])
    assert "line 4" in line or f"byte {offset}" in line, \
        f"the message does not say where the bad byte is (line 4, byte {offset}): {line!r}"


def test_predict_out_folder_does_not_exist(tmp_path, model):
    write_csv(tmp_path, "good.csv")
    refused(tmp_path, use("predict", model, "good.csv", out="nodir/p.csv"),
            names=["--out", "nodir"])


def test_evaluate_data_lacks_the_target(tmp_path, model):
    lines = ["age,colour"] + [f"{i},red" for i in range(1, 11)]
    data = write_csv(tmp_path, "notarget.csv", lines=lines)
    refused(tmp_path, use("evaluate", model, data), names=["notarget.csv", "'label'"])


def test_evaluate_target_label_not_seen_in_training(tmp_path, model):
    data = write_csv(tmp_path, "maybe.csv", {6: "5,red,maybe"})
    refused(tmp_path, use("evaluate", model, data),
            names=["maybe.csv", "'label'", "line 6", "'maybe'"])


# --- a category unseen in training: a warning, not an error ----------------------------------

def unseen_csv(folder):
    colours = ["red", "green", "blue", "green", "pink", "red", "blue"]  # 3 unseen cells
    lines = ["age,colour,label"] + [f"{i},{c},{'yes' if i % 3 else 'no'}"
                                    for i, c in enumerate(colours, 1)]
    return write_csv(folder, "unseen.csv", lines=lines), len(colours)


def test_predict_unseen_category_warns_once_and_predicts_every_row(tmp_path, model):
    data, n = unseen_csv(tmp_path)
    code, _out, err = glassnet(tmp_path, "predict", model, data, "--out", "p.csv")
    assert code == 0, err
    assert "Traceback" not in err
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("warning:") and "'colour'" in lines[0] and " 3 " in lines[0], err
    rows = (tmp_path / "p.csv").read_text(encoding="utf-8").splitlines()
    assert rows[0].split(",")[0] == "label"
    assert len(rows) == 1 + n
    assert all(row.split(",")[0] in ("yes", "no") for row in rows[1:])


def test_evaluate_unseen_category_warns_once(tmp_path, model):
    data, _n = unseen_csv(tmp_path)
    code, _out, err = glassnet(tmp_path, "evaluate", model, data)
    assert code == 0, err
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("warning:") and "'colour'" in lines[0] and " 3 " in lines[0], err
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([data, model])
