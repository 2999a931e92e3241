"""Peak memory and wall time of ``glassnet train`` (and ``predict``) on a large CSV file,
against ``pandas.read_csv`` of the same file (the issue: "files of a few hundred MB must
work, and the peak memory of ``train`` on a 200 MB CSV is measured in ``benchmarks/``").

Data    A CSV file this script writes itself (no download), ``--mb`` MB (default 200):
        16 numeric feature columns ``f00``..``f15`` (normal, each with its own offset and
        scale, written by pandas' ``to_csv`` with 6 significant digits), one text column
        ``segment`` of 10 categories (unequal shares), and a text label ``label``
        (low / mid / high) from a noisy linear score of the features and the segment, so
        that training learns something. Written in chunks of up to 100,000 rows: the generator
        stays small. ``--data PATH`` reuses a file (written before if it does not exist).

Systems Each command in a fresh process, started by a small wrapper process that runs exactly
        that one child and reads its resource usage from ``os.wait4`` (``ru_maxrss``: the
        child's peak resident memory; Linux counts kilobytes) and its wall time:

        floor     ``python -c "import numpy, pandas, glassnet.cli"``: what every command pays
        read_csv  ``python -c "import pandas; pandas.read_csv(PATH)"``, default settings
        train     ``glassnet train PATH --epochs 1 --batch-size 256 --quiet --out M``
                  (default --test-fraction 0.2 --validation-fraction 0.1, layers 64,32)
        predict   ``glassnet predict M PATH --out P.csv`` with the first round's model

        Each round runs every system once, in that order; ``--repeats`` rounds (default 2),
        every round reported. The ratios are train's (and predict's) peak over read_csv's
        peak in the same round, and over the file's size; for context, the float64 bytes of
        the numeric table (rows x numeric columns x 8).

Phases  With ``--phases`` (on by default), one more ``train`` in a fresh process, with the
        steps of ``glassnet.cli._train.cmd_train`` wrapped in place (nothing in ``src/`` is
        edited): before each step the process's peak (``VmHWM``) is reset through
        ``/proc/self/clear_refs``; after it, the resident memory and the step's own peak
        are read from ``/proc/self/status``. That says which step sets the peak and what
        stays resident.

Run:  python benchmarks/cli_memory.py                  # 200 MB, 2 rounds: a few minutes
      python benchmarks/cli_memory.py --quick          # 20 MB, under a minute
      python benchmarks/cli_memory.py --mb 400 --data /tmp/big.csv --repeats 3
Writes benchmarks/results/cli_memory.json (``--json PATH`` elsewhere).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "benchmarks" / "results" / "cli_memory.json"
N_NUMERIC, N_CATEGORIES, CHUNK = 16, 10, 100_000
MB = 1_000_000  # file sizes in MB (decimal), memory in MiB
MIB = 1 << 20

# Runs exactly one child: argv = [log, command...]; prints {"maxrss_kib", "wall_s", ...}.
_WRAPPER = r"""
import json, os, subprocess, sys, time
log = open(sys.argv[1], "ab")
t0 = time.perf_counter()
child = subprocess.Popen(sys.argv[2:], stdout=log, stderr=subprocess.STDOUT)
_, status, usage = os.wait4(child.pid, 0)
wall = time.perf_counter() - t0
child.returncode = os.waitstatus_to_exitcode(status)
print(json.dumps({"rc": child.returncode, "wall_s": wall, "maxrss_kib": usage.ru_maxrss,
                  "user_s": usage.ru_utime, "sys_s": usage.ru_stime}))
"""


# ---------------------------------------------------------------------------------------------
# the data

def write_csv(path: Path, mb: float, seed: int = 0) -> dict:
    """Write about ``mb`` MB of CSV to ``path`` in chunks; return its shape."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    offsets = rng.choice([0.0, 1.0, 50.0, 300.0, -20.0], size=N_NUMERIC)
    scales = rng.choice([0.01, 1.0, 3.5, 25.0, 1000.0], size=N_NUMERIC)
    weights = rng.normal(size=N_NUMERIC)
    categories = np.array(["north", "south", "east", "west", "central", "coastal", "mountain",
                           "urban", "rural", "island"])
    shares = rng.dirichlet(np.full(N_CATEGORIES, 2.0))
    effects = rng.normal(scale=1.0, size=N_CATEGORIES)
    target, rows = mb * MB, 0
    with open(path, "w", newline="") as fh:
        while True:
            n = 10_000  # the first chunk measures a row's bytes
            if rows:  # rows still needed, from the bytes a row has taken so far
                n = int(min(CHUNK, max(1, (target - fh.tell()) / (fh.tell() / rows))))
            z = rng.normal(size=(n, N_NUMERIC))
            seg = rng.choice(N_CATEGORIES, size=n, p=shares)
            score = z @ weights / np.sqrt(N_NUMERIC) + effects[seg] + rng.normal(scale=0.5, size=n)
            label = np.where(score < -0.5, "low", np.where(score < 0.5, "mid", "high"))
            frame = pd.DataFrame(offsets + scales * z,
                                 columns=[f"f{i:02d}" for i in range(N_NUMERIC)])
            frame["segment"] = categories[seg]
            frame["label"] = label
            frame.to_csv(fh, index=False, header=rows == 0, float_format="%.6g")
            rows += n
            if fh.tell() >= target:
                break
    return {"rows": rows, "numeric_columns": N_NUMERIC, "text_columns": 2}


def shape_of(path: Path) -> dict:
    """Rows and columns of an existing CSV file (read in chunks)."""
    import pandas as pd

    rows, numeric, text = 0, 0, 0
    for chunk in pd.read_csv(path, chunksize=200_000):
        if rows == 0:
            numeric = sum(pd.api.types.is_numeric_dtype(t) for t in chunk.dtypes)
            text = len(chunk.columns) - numeric
        rows += len(chunk)
    return {"rows": rows, "numeric_columns": numeric, "text_columns": text}


# ---------------------------------------------------------------------------------------------
# the measurements

def glassnet_command() -> list[str]:
    script = Path(sys.executable).with_name("glassnet")
    return [str(script)] if script.exists() else [sys.executable, "-m", "glassnet"]


def measure(command: list[str], log: Path) -> dict:
    """Run ``command`` under the wrapper, in a fresh process; its peak RSS and times."""
    done = subprocess.run([sys.executable, "-c", _WRAPPER, str(log), *command],
                          capture_output=True, text=True, check=True)
    result = json.loads(done.stdout.strip().splitlines()[-1])
    if result["rc"] != 0:
        tail = log.read_text(errors="replace")[-2000:]
        raise SystemExit(f"{' '.join(command)} failed (exit {result['rc']}):\n{tail}")
    result["peak_mib"] = result["maxrss_kib"] * 1024 / MIB  # Linux: kilobytes
    return result


# ---------------------------------------------------------------------------------------------
# the phases of cmd_train (child process)

def _status() -> dict:
    fields = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            fields[key] = int(value.split()[0]) / 1024  # kB -> MiB
    return fields


def phase_child(argv: list[str]) -> None:
    """``glassnet train argv...`` with cmd_train's steps wrapped; prints the phases as JSON
    on the last line of standard error."""
    sys.path.insert(0, str(REPO / "src"))
    import glassnet.cli._train as train_module
    from glassnet.cli import main
    from glassnet.tabular import TabularEncoder, TabularModel, Target

    phases: list[dict] = []
    can_reset = True

    def reset() -> None:
        nonlocal can_reset
        if can_reset:
            try:
                Path("/proc/self/clear_refs").write_text("5")
            except OSError:
                can_reset = False

    def wrap(name, fn):
        def wrapped(*args, **kwargs):
            before = _status()["VmRSS"]
            reset()
            t0 = time.perf_counter()
            out = fn(*args, **kwargs)
            seconds = time.perf_counter() - t0
            now = _status()
            phases.append({"phase": name, "rss_before_mib": before, "rss_after_mib": now["VmRSS"],
                           "peak_mib": now["VmHWM"], "seconds": seconds,
                           "peak_is_own": can_reset})
            return out
        return wrapped

    for name in ("load_data", "_split", "fit", "print_metrics"):
        setattr(train_module, name, wrap(name, getattr(train_module, name)))
    Target.fit = classmethod(wrap("Target.fit", Target.fit.__func__))
    Target.encode = wrap("Target.encode", Target.encode)
    TabularEncoder.fit = classmethod(wrap("TabularEncoder.fit", TabularEncoder.fit.__func__))
    TabularEncoder.transform = wrap("TabularEncoder.transform", TabularEncoder.transform)
    TabularModel.outputs = wrap("TabularModel.outputs", TabularModel.outputs)
    reset()
    code = main(["train", *argv])
    sys.stderr.write("\n" + json.dumps({"rc": code, "phases": phases}) + "\n")


def run_phases(path: Path, folder: Path, log: Path) -> list[dict]:
    out = folder / "phases.safetensors"
    done = subprocess.run([sys.executable, __file__, "--phase-child", str(path), "--epochs", "1",
                           "--batch-size", "256", "--quiet", "--out", str(out)],
                          capture_output=True, text=True, check=False)
    log.write_text(done.stdout + done.stderr)
    try:
        return json.loads(done.stderr.strip().splitlines()[-1])["phases"]
    except (ValueError, IndexError, KeyError):
        raise SystemExit(f"the phase run failed:\n{done.stderr[-2000:]}") from None


# ---------------------------------------------------------------------------------------------

def print_table(title: str, header: list[str], rows: list[list]) -> None:
    cells = [header] + [[c if isinstance(c, str) else ("-" if c is None else
                          f"{c:,}" if isinstance(c, int) else f"{c:,.2f}") for c in row]
                        for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    line = lambda row: "  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                                 for i, (c, w) in enumerate(zip(row, widths)))
    print(f"\n{title}\n{line(cells[0])}\n{'-' * len(line(cells[0]))}")
    for row in cells[1:]:
        print(line(row))


def git_state() -> dict:
    try:
        rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, check=False,
                             capture_output=True, text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "src"], cwd=REPO, check=False,
                               capture_output=True, text=True, timeout=10).stdout.strip()
        return {"commit": rev or None, "src_modified": bool(dirty)}
    except Exception:
        return {"commit": None, "src_modified": None}


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--phase-child":
        phase_child(sys.argv[2:])
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mb", type=float, default=200.0, help="CSV size in MB (default 200)")
    parser.add_argument("--quick", action="store_true", help="20 MB, one round, no predict")
    parser.add_argument("--data", type=Path, metavar="PATH",
                        help="reuse this CSV (written there first when it does not exist)")
    parser.add_argument("--repeats", type=int, default=2, help="rounds (default 2)")
    parser.add_argument("--no-predict", action="store_true", help="skip glassnet predict")
    parser.add_argument("--no-phases", action="store_true",
                        help="skip the run with cmd_train's steps measured one by one")
    parser.add_argument("--json", type=Path, default=RESULTS, metavar="PATH",
                        help=f"results file (default {RESULTS.relative_to(REPO)})")
    args = parser.parse_args()
    if args.quick:
        args.mb = 20.0 if args.mb == 200.0 else args.mb
        args.repeats = 1 if args.repeats == 2 else args.repeats
        args.no_predict = True
    folder = Path(tempfile.mkdtemp(prefix="glassnet-cli-memory-"))
    try:
        run(args, folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def run(args: argparse.Namespace, folder: Path) -> None:
    path = args.data or folder / "data.csv"
    t0 = time.perf_counter()
    if args.data is not None and path.exists():
        print(f"reading the shape of {path} ...", flush=True)
        shape, written = shape_of(path), False
    else:
        print(f"writing {args.mb:g} MB of CSV to {path} ...", flush=True)
        shape, written = write_csv(path, args.mb), True
    size = path.stat().st_size
    raw = shape["rows"] * shape["numeric_columns"] * 8
    print(f"{size / MB:.1f} MB, {shape['rows']:,} rows, {shape['numeric_columns']} numeric and "
          f"{shape['text_columns']} text columns ({time.perf_counter() - t0:.1f} s); the "
          f"numeric columns as float64: {raw / MIB:.1f} MiB", flush=True)

    model, predictions = folder / "model.safetensors", folder / "predictions.csv"
    glassnet = glassnet_command()
    systems = {
        "floor": [sys.executable, "-c", "import numpy, pandas, glassnet.cli"],
        "read_csv": [sys.executable, "-c", f"import pandas; pandas.read_csv({str(path)!r})"],
        "train": [*glassnet, "train", str(path), "--epochs", "1", "--batch-size", "256",
                  "--quiet", "--out", str(model)],
    }
    if not args.no_predict:
        systems["predict"] = [*glassnet, "predict", str(model), str(path), "--out",
                              str(predictions)]
    rounds = []
    for r in range(args.repeats):
        row = {}
        for name, command in systems.items():
            print(f"round {r + 1}/{args.repeats}: {name} ...", flush=True)
            row[name] = measure(command, folder / f"{name}.log")
        rows_train = row["train"]["peak_mib"]
        row["ratios"] = {"train_over_read_csv": rows_train / row["read_csv"]["peak_mib"],
                         "train_over_file": rows_train * MIB / size,
                         "train_over_float64": rows_train * MIB / raw,
                         "train_wall_over_read_csv": (row["train"]["wall_s"]
                                                      / row["read_csv"]["wall_s"]),
                         "train_cpu_over_read_csv": (row["train"]["user_s"] + row["train"]["sys_s"])
                         / (row["read_csv"]["user_s"] + row["read_csv"]["sys_s"])}
        if "predict" in row:
            row["ratios"]["predict_over_read_csv"] = (row["predict"]["peak_mib"]
                                                      / row["read_csv"]["peak_mib"])
            row["ratios"]["predict_over_file"] = row["predict"]["peak_mib"] * MIB / size
        rounds.append(row)
    train_log = (folder / "train.log").read_text(errors="replace")

    print_table(f"peak resident memory (MiB) and wall time (s): {size / MB:.1f} MB CSV, "
                f"{shape['rows']:,} rows",
                ["system", *[f"peak r{i + 1}" for i in range(len(rounds))],
                 *[f"wall r{i + 1}" for i in range(len(rounds))]],
                [[name, *[row[name]["peak_mib"] for row in rounds],
                  *[row[name]["wall_s"] for row in rounds]] for name in systems])
    print_table("ratios (same round)", ["ratio", *[f"r{i + 1}" for i in range(len(rounds))]],
                [[name, *[row["ratios"][name] for row in rounds]]
                 for name in rounds[0]["ratios"]])
    print(f"(file {size / MB:.1f} MB = {size / MIB:.1f} MiB; float64 numeric table "
          f"{raw / MIB:.1f} MiB)")

    phases = None
    if not args.no_phases:
        print("\ntrain again, step by step ...", flush=True)
        phases = run_phases(path, folder, folder / "phases.log")
        print_table("glassnet train, step by step (MiB; the peak is the step's own)",
                    ["step", "RSS before", "RSS after", "peak", "seconds"],
                    [[p["phase"], p["rss_before_mib"], p["rss_after_mib"], p["peak_mib"],
                      p["seconds"]] for p in phases])

    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({
        "benchmark": "cli_memory",
        "when": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "machine": {"python": platform.python_version(), "platform": platform.platform(),
                    "cpus": os.cpu_count()},
        "git": git_state(),
        "data": {"path": str(path) if args.data else None, "written": written,
                 "file_bytes": size, "file_mb": size / MB, **shape,
                 "float64_numeric_bytes": raw},
        "commands": {name: " ".join(command) for name, command in systems.items()},
        "rounds": rounds,
        "phases": phases,
        "train_output": train_log[-3000:] or None,  # --quiet: only warnings
    }, indent=1) + "\n")
    print(f"\nresults written to {args.json}")


if __name__ == "__main__":
    main()
