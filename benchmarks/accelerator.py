"""The accelerator's Adam step against NumPy's, alone and right after a matrix product, and
why its kernels run on one core (issue 22).

    python benchmarks/accelerator.py [--rounds 300]

Each line is a median of ``--rounds`` calls, in µs, float32, on the MNIST-shaped network's
235,146 parameters (784-256-128-10), the product being one batch's first layer (128 × 784 @
784 × 256). The two-thread variant is the same loop compiled with ``parallel=True`` (numba's
OpenMP threads), run in fresh processes: with OpenMP's default (spinning) wait, and with
``OMP_WAIT_POLICY=PASSIVE``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

N = 235_146

CHILD = r"""
import math, statistics, sys, time
import numpy as np
from numba import njit, prange

@njit(parallel=True, error_model="numpy")
def adam(p, g, m, v, step, b1, b2, eps):
    for i in prange(p.size):
        m[i] = b1 * m[i] + (1.0 - b1) * g[i]
        v[i] = b2 * v[i] + (1.0 - b2) * (g[i] * g[i])
        p[i] = p[i] - step * (m[i] / (math.sqrt(v[i]) + eps))

rng = np.random.default_rng(0)
p, g = rng.random(N, dtype=np.float32), rng.random(N, dtype=np.float32)
m, v = np.zeros(N, np.float32), np.zeros(N, np.float32)
A, B = rng.random((128, 784), dtype=np.float32), rng.random((784, 256), dtype=np.float32)
step = lambda: adam(p, g, m, v, 1e-3, 0.9, 0.999, 1e-8)
step()
times = []
for _ in range(ROUNDS):
    t = time.perf_counter(); A @ B; step(); times.append(time.perf_counter() - t)
print(statistics.median(times) * 1e6)
"""


def median_us(fn, rounds: int) -> float:
    fn()
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=300)
    rounds = parser.parse_args().rounds
    import numpy as np

    import glassnet
    from glassnet import accelerate
    if not accelerate.available():
        sys.exit("numba is not installed: pip install 'glassnet[fast]'")
    rng = np.random.default_rng(0)
    A, B = rng.random((128, 784), dtype=np.float32), rng.random((784, 256), dtype=np.float32)
    rows = []
    for setting, label in (("0", "NumPy path"), ("always", "accelerator (one core)")):
        p, g = rng.random(N, dtype=np.float32), rng.random(N, dtype=np.float32)
        optimizer = glassnet.optim.Adam()
        with accelerate.mode(setting):
            alone = median_us(lambda: optimizer.step([p], [g]), rounds)
            after = median_us(lambda: (A @ B, optimizer.step([p], [g])), rounds)
        rows.append((label, alone, after))
    product = median_us(lambda: A @ B, rounds)
    code = f"N, ROUNDS = {N}, {rounds}\n" + CHILD
    for wait, label in ((None, "two threads, OpenMP's default wait"),
                        ("PASSIVE", "two threads, OMP_WAIT_POLICY=PASSIVE")):
        env = dict(os.environ)
        if wait:
            env["OMP_WAIT_POLICY"] = wait
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             env=env, timeout=600)
        after = float(out.stdout.strip()) if out.returncode == 0 else float("nan")
        rows.append((label, None, after))
    print(f"Adam step, float32, {N:,} parameters; median of {rounds} calls, µs")
    print(f"  the product alone: {product:.0f}")
    print(f"  {'':40s} {'step alone':>11s} {'product + step':>15s}")
    for label, alone, after in rows:
        print(f"  {label:40s} {'' if alone is None else f'{alone:.0f}':>11s} {after:>15.0f}")


if __name__ == "__main__":
    main()
