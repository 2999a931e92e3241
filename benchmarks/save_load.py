"""Save and load time and file size of a 784-256-128-10 float32 model (issue 17).

Systems, all holding the same weights:

- ``glassnet.save`` / ``glassnet.load``: the strict loader (header parsed and checked by hand,
  every value checked finite) and the atomic writer (temporary file, fsync, rename, fsync of
  the folder), building a ``Sequential``;
- the same with ``os.fsync`` replaced by a no-op during the save: the part of the save
  that is the wait for the disk (for comparison only: that save is not durable);
- ``safetensors.numpy.save_file`` / ``load_file``: the same tensors with no checks, no fsync
  and no model built: what the format costs by itself;
- ``torch.save`` / ``torch.load`` of a ``torch.nn.Sequential``'s ``state_dict``
  (``weights_only=True``, torch's safe default);
- ``pickle`` of scikit-learn's ``MLPClassifier`` with ``hidden_layer_sizes=(256, 128)``,
  fitted for one iteration on 20 random float32 rows, its ``coefs_``/``intercepts_`` then set
  to the same weights.

Each round saves and loads with every system in turn (the first system rotates); the table
gives the median and the best over the rounds. The files go to a temporary folder inside
``--dir`` (default ``benchmarks/results``, on the disk of the repository, where an fsync is
real), removed afterwards. Only glassnet's save is durable (fsync): the others can be lost to
a power cut seconds after they return.

Run:  python benchmarks/save_load.py [--rounds 30] [--dir benchmarks/results]
"""

from __future__ import annotations

import argparse
import os
import pickle
import platform
import statistics
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import safetensors.numpy

import glassnet

SIZES = [784, 256, 128, 10]


def glassnet_system(model):
    def save(path):
        glassnet.save(model, path)

    def load(path):
        return glassnet.load(path)  # the model, ready to predict
    return "glassnet.save / glassnet.load", ".safetensors", save, load


def glassnet_no_fsync_system(model):
    """glassnet.save with os.fsync replaced by a no-op during the call: how much of the
    save is the wait for the disk. For comparison only: such a save is not durable."""
    def save(path):
        fsync, os.fsync = os.fsync, lambda fd: None
        try:
            glassnet.save(model, path)
        finally:
            os.fsync = fsync

    def load(path):
        return glassnet.load(path)
    return "glassnet.save, os.fsync stubbed out", ".safetensors", save, load


def safetensors_system(model):
    tensors = model.state_dict()

    def save(path):
        safetensors.numpy.save_file(tensors, path)

    def load(path):
        return safetensors.numpy.load_file(path)
    return "safetensors.numpy save_file / load_file", ".safetensors", save, load


def torch_system(model):
    import torch
    torch.set_num_threads(1)
    linears = [layer for layer in model.layers if isinstance(layer, glassnet.Dense)]
    modules = []
    for i, layer in enumerate(linears):
        linear = torch.nn.Linear(layer.n_in, layer.n_out)
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(layer.W.T.copy()))  # torch keeps (out, in)
            linear.bias.copy_(torch.from_numpy(layer.b.copy()))
        modules += [linear] + ([torch.nn.ReLU()] if i < len(linears) - 1 else [])
    net = torch.nn.Sequential(*modules)

    def save(path):
        torch.save(net.state_dict(), path)

    def load(path):
        state = torch.load(path, weights_only=True)
        return {k: v.numpy() for k, v in state.items()}
    return f"torch.save / torch.load (torch {torch.__version__})", ".pt", save, load


def sklearn_system(model):
    import sklearn
    from sklearn.neural_network import MLPClassifier
    rng = np.random.default_rng(0)
    X = rng.standard_normal((20, SIZES[0])).astype(np.float32)
    y = np.arange(20) % SIZES[-1]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # one iteration: a convergence warning
        clf = MLPClassifier(hidden_layer_sizes=tuple(SIZES[1:-1]), max_iter=1).fit(X, y)
    linears = [layer for layer in model.layers if isinstance(layer, glassnet.Dense)]
    clf.coefs_ = [layer.W.copy() for layer in linears]
    clf.intercepts_ = [layer.b.copy() for layer in linears]
    assert all(c.dtype == np.float32 for c in clf.coefs_)

    def save(path):
        with open(path, "wb") as f:
            pickle.dump(clf, f, protocol=pickle.HIGHEST_PROTOCOL)

    def load(path):
        with open(path, "rb") as f:
            return pickle.load(f)
    return f"pickle of MLPClassifier (scikit-learn {sklearn.__version__})", ".pkl", save, load


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=30, help="timed rounds (default: 30)")
    parser.add_argument("--dir", default="benchmarks/results",
                        help="where the temporary folder goes (default: benchmarks/results)")
    args = parser.parse_args()
    model = glassnet.MLP(SIZES, dtype="float32", seed=0)
    systems = []
    for make in (glassnet_system, glassnet_no_fsync_system, safetensors_system,
                 torch_system, sklearn_system):
        try:
            systems.append(make(model))
        except ImportError as exc:
            print(f"skipped {make.__name__}: {exc}")
    Path(args.dir).mkdir(parents=True, exist_ok=True)
    times = {name: ([], []) for name, *_ in systems}
    sizes = {}
    with tempfile.TemporaryDirectory(dir=args.dir) as folder:
        for round_ in range(args.rounds + 1):  # round 0 warms up (imports, page cache)
            turn = systems[round_ % len(systems):] + systems[:round_ % len(systems)]
            for name, suffix, save, load in turn:
                path = os.path.join(folder, f"{systems.index((name, suffix, save, load))}{suffix}")
                started = time.perf_counter()
                save(path)
                saved = time.perf_counter()
                loaded = load(path)
                done = time.perf_counter()
                if round_ > 0:
                    times[name][0].append(saved - started)
                    times[name][1].append(done - saved)
                sizes[name] = os.path.getsize(path)
                del loaded
        check = glassnet.load(os.path.join(folder, "0.safetensors"))
        X = np.random.default_rng(1).standard_normal((100, SIZES[0])).astype(np.float32)
        assert np.array_equal(check.forward(X), model.forward(X))

    n_params = model.count_parameters()
    print(f"MLP {'-'.join(map(str, SIZES))} float32, {n_params} parameters "
          f"({4 * n_params} bytes of weights); {args.rounds} rounds; "
          f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
          f"numpy {np.__version__}, Python {platform.python_version()}")
    print("save and load: median (best) in ms")
    rows = [("system", "save ms", "load ms", "file bytes")]
    for name, *_ in systems:
        save_t, load_t = times[name]
        rows.append((name, f"{1e3 * statistics.median(save_t):.2f} ({1e3 * min(save_t):.2f})",
                     f"{1e3 * statistics.median(load_t):.2f} ({1e3 * min(load_t):.2f})",
                     f"{sizes[name]:,}"))
    widths = [max(len(r[c]) for r in rows) for c in range(4)]
    for i, row in enumerate(rows):
        print("  ".join(cell.ljust(w) if c == 0 else cell.rjust(w)
                        for c, (cell, w) in enumerate(zip(row, widths))))
        if i == 0:
            print("  ".join("-" * w for w in widths))


if __name__ == "__main__":
    main()
