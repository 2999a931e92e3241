"""A/B: the working tree's glassnet against the package at a git revision, on the same task,
many short runs alternating in one process.

Run:  python benchmarks/ab.py 796a504                  # the estimator, SGD, float32
      python benchmarks/ab.py HEAD~1 --solver adam --system fit --rounds 200
      python benchmarks/ab.py HEAD~1 --system xor-step      # run.py's XOR case, per call

A change worth a few microseconds a step is lost in the noise of ``run.py``'s seven rounds on
a shared machine, whose slow phases last seconds to minutes. Here both versions train on the
same data (``--rows`` of the MNIST-shaped case, 12,800 by default: 100 steps of 128, ~0.1 s a
run), alternating A, B, B, A, ... so that a slow phase hits both alike; the paired difference
of each round's two runs is the measure (its median, and the middle half of the rounds).
The default data (40 MB) mostly fits the CPU's last-level cache: for a change that touches the
shuffled gather or anything else whose cost depends on rows coming from memory, use
``--rows 60000`` (the full case, ~0.45 s a run, fewer rounds).
``--system xor-fit`` and ``xor-step`` time ``run.py``'s XOR case instead (the 2-4-2 ReLU
network on the 4 samples, float64, SGD lr 0.1): 1,000 steps of ``glassnet.fit`` (full batch,
no shuffle) or 1,000 calls of ``functional.train_one_step`` a run; ``--solver`` and
``--rows`` do not apply.
The revision's ``src/glassnet`` is extracted with ``git archive`` into a temporary folder and
imported as ``glassnet_ab`` (the package imports itself only relatively). Both must give the
same weights for a change that is meant to keep them: the script says whether they do.
"""

from __future__ import annotations

import argparse
import importlib
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "src"))  # the working tree's package, not an installed copy
import glassnet  # noqa: E402

sys.path.insert(0, str(REPO / "benchmarks"))
from run import BATCH, LR, MNIST_SIZES, XOR_X, XOR_Y  # noqa: E402  (run.py's settings)

XOR_STEPS = 1000  # steps a run in the XOR systems


def load_revision(rev: str, folder: Path):
    """``src/glassnet`` at ``rev``, imported as ``glassnet_ab``."""
    archive = subprocess.run(["git", "-C", str(REPO), "archive", rev, "src/glassnet"],
                             capture_output=True, check=False)
    if archive.returncode:
        raise SystemExit(f"git archive {rev}: {archive.stderr.decode().strip()}")
    tar_path = folder / "rev.tar"
    tar_path.write_bytes(archive.stdout)
    with tarfile.open(tar_path) as tar:
        try:
            tar.extractall(folder, filter="data")
        except TypeError:  # a Python before extraction filters (3.10.11 and older)
            tar.extractall(folder)
    shutil.move(str(folder / "src" / "glassnet"), str(folder / "glassnet_ab"))
    sys.path.insert(0, str(folder))
    return importlib.import_module("glassnet_ab")


def trainer(package, system: str, solver: str, X: np.ndarray, y: np.ndarray):
    """One shuffled epoch of ``run.py``'s epoch case through the estimator or ``fit``, or
    ``XOR_STEPS`` steps of its XOR case (``xor-fit``, ``xor-step``); returns the weights."""
    lr = LR[solver]

    def run() -> list[np.ndarray]:
        if system == "xor-fit":
            model = package.MLP([2, 4, 2], dtype="float64", seed=0)
            package.fit(model, XOR_X, XOR_Y, optimizer=package.optim.SGD(lr=0.1),
                        epochs=XOR_STEPS, batch_size=None, shuffle=False)
            return [model.flat_params.copy()]
        if system == "xor-step":
            weights, biases, _, _ = package.functional.initialise([2, 4, 2], "relu", seed=42)
            for _ in range(XOR_STEPS):
                package.functional.train_one_step(XOR_X, XOR_Y, weights, biases, "relu", 0.1)
            return weights + biases
        if system == "estimator":
            est = package.MLPClassifier(
                hidden_layer_sizes=tuple(MNIST_SIZES[1:-1]), solver=solver,
                learning_rate_init=lr, momentum=0.0, batch_size=BATCH, max_iter=1, alpha=1e-4, shuffle=True,
                random_state=0, dtype="float32", tol=0, n_iter_no_change=10**9)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # max_iter=1 does not converge
                est.fit(X, y)
            return [np.asarray(W) for W in est.coefs_]
        model = package.MLP(MNIST_SIZES, dtype="float32", seed=0)
        opt = package.optim.SGD(lr=lr) if solver == "sgd" else package.optim.Adam(lr)
        package.fit(model, X, y, optimizer=opt, epochs=1, batch_size=BATCH, seed=0)
        return [model.flat_params.copy()]
    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("rev", help="git revision to compare the working tree with")
    parser.add_argument("--system", choices=("estimator", "fit", "xor-fit", "xor-step"),
                        default="estimator")
    parser.add_argument("--solver", choices=("sgd", "adam"), default="sgd")
    parser.add_argument("--rows", type=int, default=12_800)
    parser.add_argument("--rounds", type=int, default=150)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    X = rng.standard_normal((args.rows, MNIST_SIZES[0]), dtype=np.float32)
    y = rng.integers(0, 10, args.rows)
    with tempfile.TemporaryDirectory() as tmp:
        other = load_revision(args.rev, Path(tmp))
        runs = {"working tree": trainer(glassnet, args.system, args.solver, X, y),
                args.rev: trainer(other, args.system, args.solver, X, y)}
        same = all(np.array_equal(a, b) for a, b in zip(*(run() for run in runs.values())))
        times: dict[str, list[float]] = {name: [] for name in runs}
        names = list(runs)
        for r in range(args.rounds):
            for name in (names if r % 2 == 0 else names[::-1]):
                start = time.perf_counter()
                runs[name]()
                times[name].append(time.perf_counter() - start)
    xor = args.system.startswith("xor")
    steps = XOR_STEPS if xor else -(-args.rows // BATCH)
    a, b = (np.array(times[name]) for name in names)
    diff = (b - a) / steps * 1e6  # us a step the working tree saves (positive: it is faster)
    q1, med, q3 = np.percentile(diff, [25, 50, 75])
    task = (f"2-4-2 on XOR's 4 samples, float64, {steps} steps" if xor else
            f"{args.solver}, float32, {args.rows:,} rows ({steps} steps of {BATCH})")
    print(f"{args.system}, {task}, {args.rounds} alternating rounds; same weights: "
          f"{'yes' if same else 'NO'}")
    for name in names:
        t = np.array(times[name])
        print(f"  {name:<14} best {t.min():.4f} s   median {np.median(t):.4f} s")
    print(f"  working tree faster by {med:+.1f} us a step (paired median; middle half of the "
          f"rounds {q1:+.1f} to {q3:+.1f}), {med * steps / np.median(a) / 1e4:+.2f} % "
          f"of its median run")


if __name__ == "__main__":
    main()
