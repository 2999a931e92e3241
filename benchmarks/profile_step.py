"""Where one training step's time goes: each piece of a 784-256-128-10 float32 step, alone.

Run:  python benchmarks/profile_step.py
Each line is the best of several timed loops of that piece, in microseconds per call, on a
batch of 128 rows; "products" are the eight matrix products of the step (the floor).
"""

from __future__ import annotations

import timeit

import numpy as np

import glassnet
from glassnet.losses import CrossEntropy


def best_us(fn, number: int = 300, repeat: int = 7) -> float:
    return min(timeit.repeat(fn, number=number, repeat=repeat)) / number * 1e6


def main() -> None:
    rng = np.random.default_rng(0)
    model = glassnet.MLP([784, 256, 128, 10], seed=0)
    X = rng.standard_normal((60_000, 784), dtype=np.float32)
    x = X[:128].copy()
    y = rng.integers(0, 10, 128)
    d1, r1, d2, r2, d3 = model.layers
    z1 = d1.forward(x)
    a1 = r1.forward(z1)
    z2 = d2.forward(a1)
    a2 = r2.forward(z2)
    z3 = d3.forward(a2)
    loss = CrossEntropy()
    _, dz = loss.value_and_grad(z3, y)
    delta2 = d3.backward(dz.copy())
    delta1 = d2.backward(r2.backward(delta2.copy()))

    def products():
        np.matmul(x, d1.W, out=z1)
        np.matmul(a1, d2.W, out=z2)
        np.matmul(a2, d3.W, out=z3)
        np.matmul(a2.T, dz, out=d3.dW)
        np.matmul(dz, d3.W.T, out=delta2)
        np.matmul(a1.T, delta2, out=d2.dW)
        np.matmul(delta2, d2.W.T, out=delta1)
        np.matmul(x.T, delta1, out=d1.dW)

    rows = rng.permutation(len(X))[:128]
    gathered = np.empty_like(x)
    sgd, adam = glassnet.optim.SGD(0.01), glassnet.optim.Adam(1e-3)
    params, grads = [model.flat_params], [model.flat_grads]
    adam.step(params, grads)
    pieces = {
        "the eight matrix products (floor)": products,
        "gather a shuffled batch (np.take)": lambda: np.take(X, rows, axis=0, out=gathered,
                                                             mode="clip"),
        "bias add, layer 1 (z += b)": lambda: np.add(z1, d1.b, out=z1),
        "ReLU forward, layer 1": lambda: r1.forward(z1),
        "ReLU backward, layer 1": lambda: r1.backward(delta1),
        "bias gradient, layer 1 (1^T delta)": lambda: np.matmul(np.ones(128, np.float32), delta1,
                                                                out=d1.db),
        "softmax cross-entropy, value and gradient": lambda: loss.value_and_grad(z3, y),
        "SGD update, lr folded in (one pass)": lambda: sgd.step(params, grads, lr_applied=True),
        "Adam update": lambda: adam.step(params, grads),
        "L2 term (alpha), value and gradient": lambda: model.add_l2(1e-6),
        "whole step: forward, loss, backward": lambda: glassnet.grad.objective_and_backward(
            model, loss, x, y, 0.0, None, True),
    }
    print(f"{model.count_parameters():,} parameters, batch 128, float32; microseconds per call")
    for name, fn in pieces.items():
        print(f"  {name:<44} {best_us(fn):8.1f}")


if __name__ == "__main__":
    main()
