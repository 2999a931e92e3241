"""What ``glassnet.Monitor`` costs per epoch on the MNIST-shaped case of ``run.py`` (issue 19).

One epoch of ``glassnet.fit``: 60,000 x 784 float32 (``run.mnist_like``), MLP 784-256-128-10
ReLU, batches of 128, shuffled; SGD (lr 0.01) and Adam (1e-3). Systems, per optimizer:

    plain         glassnet.fit, no callback (SGD: the fused step, step.SGDInBackward)
    + Monitor     the same with glassnet.Monitor(), which has no on_batch_end hook: SGD keeps
                  the fused step (checked by name before timing, train.step_kernel)

Every system runs once per round, round-robin after a warm-up round (``run.py``'s
``timeit_alternating``); a ratio is the median over rounds of the two systems' times in the
same round (``run.paired``). Also printed: the seconds spent inside the monitor's own hooks
per epoch, timed in place: its probe of the epoch's last batch at on_epoch_end (a copy of
the model and optimizer, one forward, backward and optimizer step on that batch).

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
from glassnet.train import step_kernel  # noqa: E402


class TimedMonitor(glassnet.Monitor):
    """A Monitor that adds up the seconds spent in its own hooks."""

    spent: list = []

    def on_train_begin(self, state):
        self._t = 0.0
        super().on_train_begin(state)

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
    model = glassnet.MLP(bench.MNIST_SIZES, dtype="float32", seed=0)
    kernel = step_kernel(model, glassnet.optim.SGD(lr=bench.LR["sgd"]), [glassnet.Monitor()])
    assert kernel.name == "sgd_in_backward", kernel.name
    print(f"SGD's step with a Monitor: {kernel.name}")
    for solver in ("sgd", "adam"):
        fns = {"plain": system(X, y, solver, []),
               "+ Monitor": system(X, y, solver, [TimedMonitor])}
        TimedMonitor.spent = []
        record: dict = {}
        medians = bench.timeit_alternating(fns, args.repeats, record=record)
        hooks = statistics.median(TimedMonitor.spent[1:])  # the warm-up round left out
        print(f"\n{solver}: median s per epoch " + ", ".join(
            f"{name} {s:.3f}" for name, s in medians.items()))
        print(f"  + Monitor / plain (paired median): {bench.paired(record, '+ Monitor', 'plain'):.3f}")
        print(f"  inside the monitor's hooks: {1e3 * hooks:.2f} ms per epoch "
              f"({100 * hooks / medians['plain']:.2f} % of a plain epoch)")


if __name__ == "__main__":
    main()
