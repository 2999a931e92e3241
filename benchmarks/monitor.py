"""What ``glassnet.Monitor`` costs per epoch on the MNIST-shaped case of ``run.py`` (issue 19).

One epoch of ``glassnet.fit``: 60,000 x 784 float32 (``run.mnist_like``), MLP 784-256-128-10
ReLU, batches of 128, shuffled; SGD (lr 0.01) and Adam (1e-3). Systems, per optimizer:

    plain         glassnet.fit, no callback (SGD: the fused step, step.SGDInBackward)
    + Monitor     the same with glassnet.Monitor()
    + no-op hook  (SGD only) an on_batch_end callback that does nothing: the separate step
                  without the monitor's work, to split the cost in two

Every system runs once per round, round-robin after a warm-up round (``run.py``'s
``timeit_alternating``); a ratio is the median over rounds of the two systems' times in the
same round (``run.paired``). Also printed: the seconds spent inside the monitor's own hooks
per epoch, timed in place (the part of its cost that does not come from the step kernel).

Run:   python benchmarks/monitor.py [--repeats 7] [--rows 60000]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import run as bench  # noqa: E402  (run.py's data and timing helpers)

import glassnet  # noqa: E402
from glassnet.callbacks import Callback  # noqa: E402


class NoOp(Callback):
    def on_batch_end(self, state) -> None:
        pass


class TimedMonitor(glassnet.Monitor):
    """A Monitor that adds up the seconds spent in its own hooks."""

    spent: list = []

    def on_train_begin(self, state):
        self._t = 0.0
        super().on_train_begin(state)

    def on_batch_end(self, state):
        start = time.perf_counter()
        super().on_batch_end(state)
        self._t += time.perf_counter() - start

    def on_epoch_end(self, state):
        start = time.perf_counter()
        super().on_epoch_end(state)
        self._t += time.perf_counter() - start

    def on_train_end(self, state):
        TimedMonitor.spent.append(self._t)


def system(X, y, solver: str, callbacks):
    def setup():
        model = glassnet.MLP(bench.MNIST_SIZES, dtype="float32", seed=0)
        opt = (glassnet.optim.SGD(lr=bench.LR["sgd"]) if solver == "sgd"
               else glassnet.optim.Adam(bench.LR["adam"]))
        return model, opt

    def run(arg):
        model, opt = arg
        glassnet.fit(model, X, y, optimizer=opt, epochs=1, batch_size=bench.BATCH, seed=0,
                     callbacks=[make() for make in callbacks])
    return setup, run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--rows", type=int, default=60_000)
    args = parser.parse_args()
    X, y, _, _ = bench.mnist_like(args.rows)
    print(f"MNIST-shaped epoch: {X.shape[0]:,} x {X.shape[1]} float32, "
          f"{'-'.join(map(str, bench.MNIST_SIZES))}, batch {bench.BATCH}; "
          f"{args.repeats} rounds after a warm-up round")
    for solver in ("sgd", "adam"):
        fns = {"plain": system(X, y, solver, []),
               "+ Monitor": system(X, y, solver, [TimedMonitor])}
        if solver == "sgd":
            fns["+ no-op hook"] = system(X, y, solver, [NoOp])
        TimedMonitor.spent = []
        record: dict = {}
        medians = bench.timeit_alternating(fns, args.repeats, record=record)
        hooks = statistics.median(TimedMonitor.spent[1:])  # the warm-up round left out
        print(f"\n{solver}: median s per epoch " + ", ".join(
            f"{name} {s:.3f}" for name, s in medians.items()))
        print(f"  + Monitor / plain (paired median): {bench.paired(record, '+ Monitor', 'plain'):.3f}")
        if solver == "sgd":
            print(f"  + no-op hook / plain (the separate step): "
                  f"{bench.paired(record, '+ no-op hook', 'plain'):.3f}")
            print(f"  + Monitor / + no-op hook (same step): "
                  f"{bench.paired(record, '+ Monitor', '+ no-op hook'):.3f}")
        print(f"  inside the monitor's hooks: {1e3 * hooks:.2f} ms per epoch "
              f"({100 * hooks / medians['plain']:.2f} % of a plain epoch)")


if __name__ == "__main__":
    main()
