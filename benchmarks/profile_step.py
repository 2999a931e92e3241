"""Where one training step's time goes: each piece of a 784-256-128-10 float32 step, alone,
then what the pieces cost inside a real epoch.

Run:  python benchmarks/profile_step.py
Part 1: each line is the best of several timed loops of that piece, in microseconds per call,
on a batch of 128 rows (in cache); "products" are the eight matrix products of the step (the
floor).
Part 2: one 60,000-row epoch of a bare training loop (forward, loss, backward with plain
SGD's step inside it, as ``glassnet.fit`` takes it), timed whole with one thing changed at a
time, alternating with the floor's epoch; the best of nine rounds. The differences are what
the shuffled gather (rows from memory, not cache) and the update cost per step in their real
surroundings.
Part 3: the same epoch with a clock read between its phases (gather, each layer's forward,
the loss, each layer's backward, the update), for SGD (its weights stepped inside each
layer's backward, the biases in the "update" phase) and Adam, each through BLAS and in NumPy
alone (glassnet._blas off), alternating: microseconds per step, summed over the epoch, from
the best of five epochs. The clock reads add about 0.1 us each.
Part 4: what a small product costs through np.matmul and through np.dot (``_blas.product``);
then the level-1 BLAS routines of glassnet._blas against NumPy's equations, on one vector
of the 784-256-128-10 network's size and one of the wide 784-2048-2048-10's, each call right
after a matrix product as in training: the medians of many alternating calls, which show
where ``scal`` and ``axpby`` are worth calling (``SCAL_MIN_SIZE``, ``AXPBY_MAX_SIZE``). Then
the two products that add to their output, ``gemm_tn`` (plain SGD's step) and the bias add
of ``matmul_add`` (``ADD_MIN_SIZE``), against NumPy's product followed by the update.

Adam's update, pass by pass, and why it stays on one core: ``benchmarks/profile_adam.py``.

``--parts 4`` (comma-separated numbers) runs only the parts named.
"""

from __future__ import annotations

import time
import timeit

import numpy as np

import glassnet
from glassnet import _blas
from glassnet._checks import _all_finite
from glassnet.losses import CrossEntropy
from glassnet.step import SGDInBackward, objective_and_backward


def best_us(fn, number: int = 300, repeat: int = 7) -> float:
    return min(timeit.repeat(fn, number=number, repeat=repeat)) / number * 1e6


def main() -> None:
    import argparse
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parts", default="1,2,3,4",
                        help="which parts to run (default: all)")
    parts = {part.strip() for part in parser.parse_args().parts.split(",")}
    if not parts <= {"1", "2", "3", "4"}:
        parser.error(f"--parts takes numbers 1-4, got {sorted(parts)}")
    rng = np.random.default_rng(0)
    X = (rng.standard_normal((60_000, 784), dtype=np.float32) if parts & {"1", "2", "3"}
         else None)  # 188 MB: only for the parts that use it
    if "1" in parts:
        pieces_alone(X, rng)
    if "2" in parts:
        epoch_costs(X, rng.integers(0, 10, len(X)), rounds=9)
    if "3" in parts:
        epoch_phases(X, rng.integers(0, 10, len(X)))
    if "4" in parts:
        product_call_cost(rng)
        blas_against_numpy(rng)


def pieces_alone(X: np.ndarray, rng: np.random.Generator) -> None:
    """Part 1: each piece of a step alone, its data in cache."""
    model = glassnet.MLP([784, 256, 128, 10], seed=0)
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
    adam = glassnet.optim.Adam(1e-3)
    fused = SGDInBackward(glassnet.optim.SGD(lr=1e-6))
    params, grads = [model.flat_params], [model.flat_grads]
    adam.step(params, grads)
    stepped = d1.W.copy()  # the weights the "SGD's step in it" lines update, again and again
    v, root = np.abs(params[0]), np.empty_like(params[0])  # non-negative, as Adam's v
    gathered_z1 = np.empty_like(z1)
    z3t = np.ascontiguousarray(z3.T)  # the layout CrossEntropy.forward_backward works in
    pieces = {
        "the eight matrix products (floor)": products,
        "gather a shuffled batch (np.take)": lambda: np.take(X, rows, axis=0, out=gathered,
                                                             mode="clip"),
        "bias add, layer 1 (z += b)": lambda: np.add(z1, d1.b, out=z1),
        "ReLU forward, layer 1": lambda: r1.forward(z1),
        "  np.maximum against the scalar 0 instead": lambda: np.maximum(z1, 0, out=gathered_z1),
        "ReLU backward, layer 1": lambda: r1.backward(delta1),
        "bias gradient, layer 1 (1^T delta)": lambda: np.matmul(np.ones(128, np.float32), delta1,
                                                                out=d1.db),
        "softmax cross-entropy, value and gradient": lambda: loss._value_and_grad(z3, y),
        "  row max of z, 128 x 10, over the last axis": lambda: np.maximum.reduce(z3, axis=1),
        "  the same over the first axis of z transposed": lambda: np.maximum.reduce(z3t, axis=0),
        "weight gradient, layer 1 (x^T delta, matmul)": lambda: np.matmul(x.T, delta1,
                                                                         out=d1.dW),
        "  then SGD's step apart (BLAS axpy)": lambda: (
            np.matmul(x.T, delta1, out=d1.dW), _blas.axpy(-1.0, d1.dW, stepped)),
        "  SGD's step in the product (gemm_tn), as fit": lambda: _blas.gemm_tn(
            -1.0, x, delta1, 1.0, stepped, scratch=d1.dW),
        "  the same with L2's shrink (1 - lr l2) in it": lambda: _blas.gemm_tn(  # an s that
            -1.0, x, delta1, 1.0 - 2.0 ** -20, stepped, scratch=d1.dW),  # float32 holds (not 1)
        "Adam update (seven passes, three BLAS)": lambda: adam.step(params, grads),
        "  of which the square root (np.sqrt)": lambda: np.sqrt(v, out=root),
        "L2 term (alpha), value and gradient": lambda: model.add_l2(1e-6),
        "  its value alone (one dot; SGD's case)": lambda: model.l2_penalty(1e-6),
        "whole step: forward, loss, backward": lambda: objective_and_backward(
            model, loss, x, y, 0.0, None, True),
        "  with SGD's step inside backward": lambda: fused.backward(model, loss, x, y, 0.0,
                                                                    None),
    }
    print(f"{model.count_parameters():,} parameters, batch 128, float32; microseconds per call")
    for name, fn in pieces.items():
        print(f"  {name:<44} {best_us(fn):8.1f}")
    whole_x = {  # once per fit or predict call, over the whole data set: milliseconds
        "NaN/inf scan of X, 60,000 x 784 (one BLAS pass)": lambda: _all_finite(X),
        "  the same by min and max (two passes)": lambda: (
            np.isfinite(np.minimum.reduce(X, axis=None))
            and np.isfinite(np.maximum.reduce(X, axis=None))),
    }
    for name, fn in whole_x.items():
        print(f"  {name:<44} {best_us(fn, number=3, repeat=5) / 1e3:8.1f} ms")


def epoch_costs(X: np.ndarray, y: np.ndarray, rounds: int = 5) -> None:
    """Part 2: a bare epoch with and without the shuffle and the update, against the floor."""
    import sys
    from pathlib import Path
    sys.path.insert(0, str(Path(__file__).parent))
    from run import floor_epoch

    sizes, B = [784, 256, 128, 10], 128
    floor = floor_epoch(X, sizes, B)
    loss = CrossEntropy()

    def bare_epoch(shuffle: bool, update: bool) -> None:
        model = glassnet.MLP(sizes, seed=0)
        fused = SGDInBackward(glassnet.optim.SGD(lr=0.01))
        order = np.random.default_rng(0).permutation(len(X))
        xb, yb = np.empty((B, 784), X.dtype), np.empty(B, y.dtype)
        with np.errstate(under="ignore"):
            for start in range(0, len(X), B):
                if shuffle:
                    rows = order[start:start + B]
                    x = np.take(X, rows, axis=0, out=xb[:len(rows)], mode="clip")
                    t = np.take(y, rows, out=yb[:len(rows)], mode="clip")
                else:
                    x, t = X[start:start + B], y[start:start + B]
                # with the update, plain SGD's whole step, inside backward (as glassnet.fit)
                if update:
                    fused.backward(model, loss, x, t, 0.0, None)
                else:
                    objective_and_backward(model, loss, x, t, 0.0, None, True)

    variants = {"floor (the products alone)": floor,
                "bare epoch, shuffled, SGD update": lambda: bare_epoch(True, True),
                "  the same without the shuffle": lambda: bare_epoch(False, True),
                "  the same without the update": lambda: bare_epoch(True, False)}
    best = {name: float("inf") for name in variants}
    for _ in range(rounds):
        for name, fn in variants.items():
            time.sleep(0.2)  # let BLAS's spinning threads settle (see run.py)
            start = time.perf_counter()
            fn()
            best[name] = min(best[name], time.perf_counter() - start)
    steps = -(-len(X) // B)
    full = best["bare epoch, shuffled, SGD update"]
    print(f"\none epoch, {len(X):,} rows, {steps} steps; best of {rounds}, alternating")
    for name, t in best.items():
        extra = "" if t == full else f"  (shuffle/update: {1e6 * (full - t) / steps:.0f} us a step)"
        print(f"  {name:<44} {t:7.3f} s  {t / best['floor (the products alone)']:.2f} x floor"
              + (extra if name.startswith("  ") else ""))


def epoch_phases(X: np.ndarray, y: np.ndarray, rounds: int = 5) -> None:
    """Part 3: per-phase times inside a shuffled epoch, SGD (lr folded in) and Adam."""
    sizes, B, clock = [784, 256, 128, 10], 128, time.perf_counter
    loss = CrossEntropy()

    def epoch(solver: str) -> tuple[float, dict[str, float]]:
        model = glassnet.MLP(sizes, seed=0)
        layers = model.layers
        opt = glassnet.optim.Adam(1e-3)
        n_weights = sum(W.size for W, _ in model.penalized_parameters())
        scale = 0.01 if solver == "sgd" else 1.0
        params, grads = [model.flat_params], [model.flat_grads]
        names = (["gather"] + [f"forward {i} {type(l).__name__}" for i, l in enumerate(layers)]
                 + ["loss"] + [f"backward {i} {type(layers[i]).__name__}"
                               for i in range(len(layers) - 1, -1, -1)] + ["update"])
        spent = dict.fromkeys(names, 0.0)
        order = np.random.default_rng(0).permutation(len(X))
        xb, yb = np.empty((B, X.shape[1]), X.dtype), np.empty(B, y.dtype)
        start_epoch = clock()
        with np.errstate(under="ignore"):
            for start in range(0, len(X), B):
                marks = [clock()]
                rows = order[start:start + B]
                a = np.take(X, rows, axis=0, out=xb[:len(rows)], mode="clip")
                t = np.take(y, rows, out=yb[:len(rows)], mode="clip")
                marks.append(clock())
                for layer in layers:
                    a = layer.forward(a, True)
                    marks.append(clock())
                _, d = loss._value_and_grad(a, t, None, scale)
                marks.append(clock())
                for i in range(len(layers) - 1, -1, -1):
                    if solver == "sgd" and layers[i].param_names:  # W's step in the product
                        d = layers[i].backward(d, i > 0, sgd_step=1.0)
                    else:
                        d = layers[i].backward(d, i > 0)
                    marks.append(clock())
                if solver == "sgd":  # b = b - lr * db, the biases: the tail of the buffer
                    _blas.axpy(-1.0, grads[0][n_weights:], params[0][n_weights:])
                else:
                    opt.step(params, grads)
                marks.append(clock())
                for name, t0, t1 in zip(names, marks, marks[1:]):
                    spent[name] += t1 - t0
        return clock() - start_epoch, spent

    steps = -(-len(X) // B)
    variants = [("sgd", True), ("sgd", False), ("adam", True), ("adam", False)]
    runs: dict = {variant: [] for variant in variants}
    for _ in range(rounds):  # the variants alternate, so that a slow phase hits them all
        for solver, blas in variants:
            time.sleep(0.2)
            _blas.ENABLED = blas
            try:
                runs[solver, blas].append(epoch(solver))
            finally:
                _blas.ENABLED = True
    for (solver, blas), results in runs.items():
        total, spent = min(results, key=lambda run: run[0])
        how = "" if blas else ", updates in NumPy alone (glassnet._blas off)"
        print(f"\ninside a shuffled epoch, {solver}{how}: {total:.3f} s; microseconds per step")
        for name, seconds in spent.items():
            print(f"  {name:<44} {1e6 * seconds / steps:8.1f}")


def product_call_cost(rng: np.random.Generator) -> None:
    """Part 4, first: what a small product costs through np.matmul and through np.dot (the
    same BLAS routine; ``glassnet._blas.product``), at XOR's size and the loss layer's; then
    the two at the first layer's size, where np.dot is slower with a transposed ``x``."""
    print("\na product into an existing array, np.matmul against np.dot (_blas.product); "
          "best us per call")
    for (m, k, n), dtype in (((4, 2, 4), np.float64), ((4, 4, 2), np.float64),
                             ((128, 128, 10), np.float32)):
        a, b = rng.random((m, k)).astype(dtype), rng.random((k, n)).astype(dtype)
        out, ones = np.empty((m, n), dtype), np.ones(m, dtype)
        db = np.empty(n, dtype)
        number = 20_000 if m < 100 else 2_000
        print(f"  {m} x {k} @ {k} x {n}, {np.dtype(dtype).name}")
        for name, fn in (("a @ b, np.matmul", lambda: np.matmul(a, b, out=out)),
                         ("  a @ b, np.dot", lambda: np.dot(a, b, out=out)),
                         ("  a @ b, _blas.product", lambda: _blas.product(a, b, out)),
                         ("1^T out (a bias gradient), np.matmul",
                          lambda: np.matmul(ones, out, out=db)),
                         ("  1^T out, _blas.product", lambda: _blas.product(ones, out, db))):
            print(f"    {name:<42} {best_us(fn, number):8.2f}")
    print("\nthe first layer's three products, 128 x 784 and 784 x 256, float32, np.matmul "
          "against np.dot; median us per call, alternating")
    x, W = rng.random((128, 784), np.float32), rng.random((784, 256), np.float32)
    delta = rng.random((128, 256), np.float32)
    z, dx, dW = np.empty_like(delta), np.empty_like(x), np.empty_like(W)
    for title, args in (("z = x @ W (forward)", (x, W, z)),
                        ("dx = delta @ W^T (Dense.backward: product)", (delta, W.T, dx)),
                        ("dW = x^T @ delta (product_tn: np.matmul here)", (x.T, delta, dW))):
        _show(title, _median_us({"np.matmul": lambda a=args: np.matmul(a[0], a[1], out=a[2]),
                                 "np.dot": lambda a=args: np.dot(a[0], a[1], out=a[2])}, 300))


def blas_against_numpy(rng: np.random.Generator, rounds: int = 300) -> None:
    """Part 4: BLAS scal, axpy, axpby against NumPy's equations, right after a product."""
    if not _blas.AVAILABLE:
        print("\npart 4 skipped: NumPy's own OpenBLAS was not found (glassnet._blas uses NumPy)")
        return
    routine = {name: _blas._ROUTINES[name, np.dtype(np.float32)] for name in ("scal", "axpy",
                                                                             "axpby")}
    a_in, d_out = rng.random((128, 784), np.float32), rng.random((128, 256), np.float32)
    dW = np.empty((784, 256), np.float32)
    for n, label in ((235_146, "all the 784-256-128-10 network's parameters"),
                     (1_000_000, "near the crossovers"), (2_000_000, "past them"),
                     (5_820_416, "the wide 784-2048-2048-10 network's weights")):
        x, y = rng.random(n, np.float32), rng.random(n, np.float32)
        calls = {  # coefficients near 1 keep y's values in range over many calls
            "scal (BLAS)": lambda: routine["scal"](n, 0.9999999, y.ctypes.data, 1),
            "  y *= a (NumPy)": lambda: np.multiply(y, 0.9999999, out=y),
            "axpy (BLAS)": lambda: routine["axpy"](n, 1e-7, x.ctypes.data, 1, y.ctypes.data, 1),
            "axpby (BLAS)": lambda: routine["axpby"](n, 1e-7, x.ctypes.data, 1, 0.9999999,
                                                     y.ctypes.data, 1),
            "  scal + axpy (BLAS)": lambda: (
                routine["scal"](n, 0.9999999, y.ctypes.data, 1),
                routine["axpy"](n, 1e-7, x.ctypes.data, 1, y.ctypes.data, 1)),
        }
        medians = _median_us(calls, rounds if n < 1 << 20 else rounds // 4,  # as in training:
                             before=lambda: np.matmul(a_in.T, d_out, out=dW))  # a product first
        print(f"\n{n:,} float32 entries ({label}), after a product; median us per call")
        for name, us in medians.items():
            print(f"  {name:<44} {us:8.1f}")
    products_with_addend(rng, rounds // 10)
    a = np.empty((128, 256), np.float32)
    print("\nan array's address for a BLAS call (glassnet._blas._address); best us per call")
    print(f"  {'NumPy: a.ctypes.data':<44} {best_us(lambda: a.ctypes.data, 10_000):8.2f}")
    print(f"  {'buffer protocol: _address(a)':<44} "
          f"{best_us(lambda: _blas._address(a), 10_000):8.2f}")


def products_with_addend(rng: np.random.Generator, rounds: int) -> None:
    """Part 4, end: the products that add to their output (gemm_tn, matmul_add) against
    NumPy's product and then a separate update, alternating; median us per call."""
    f32 = np.float32
    print("\nproducts that add to their output, against the product then the update; "
          "median us per call")
    for k, m, n in ((128, 784, 256), (128, 784, 2048), (128, 2048, 2048)):
        x, d = rng.random((k, m), f32), rng.random((k, n), f32) * 1e-6
        W, dW = rng.random((m, n), f32), np.empty((m, n), f32)
        calls = {
            "dW = x^T d (matmul) alone": lambda: np.matmul(x.T, d, out=dW),
            "dW = x^T d (matmul), W -= dW (axpy)": lambda: (
                np.matmul(x.T, d, out=dW), _blas.axpy(-1.0, dW, W)),
            "  W = W - x^T d in one gemm (gemm_tn)": lambda: _blas.gemm_tn(
                -1.0, x, d, 1.0, W, scratch=dW),
        }
        _show(f"SGD's step, x {k} x {m}, delta {k} x {n}", _median_us(calls, rounds))
    for m, k, n in ((128, 784, 256), (512, 784, 256), (128, 784, 2048)):
        x, w, b = rng.random((m, k), f32), rng.random((k, n), f32), rng.random(n, f32)
        z = np.empty((m, n), f32)
        calls = {
            "z = x @ w (matmul), z += b": lambda: (np.matmul(x, w, out=z), np.add(z, b, out=z)),
            "  z = b, then z = x @ w + z in one gemm": lambda: (
                np.copyto(z, b), _blas._gemm(z, x, w)(
                    101, 111, 111, m, n, k, 1.0, x.ctypes.data, k, w.ctypes.data, n, 1.0,
                    z.ctypes.data, n)),
        }
        choice = "gemm" if z.size >= _blas.ADD_MIN_SIZE else "NumPy"
        _show(f"bias add, {m} x {k} @ {k} x {n} (matmul_add's choice: {choice})",
              _median_us(calls, rounds))


def _median_us(calls: dict, rounds: int, before=None) -> dict[str, float]:
    """The calls alternating for ``rounds`` rounds (at least 5), ``before()`` untimed ahead
    of each; the median microseconds of each."""
    times: dict = {name: [] for name in calls}
    for _ in range(max(rounds, 5)):
        for name, fn in calls.items():
            if before is not None:
                before()
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return {name: 1e6 * float(np.median(ts)) for name, ts in times.items()}


def _show(title: str, medians: dict[str, float]) -> None:
    print(f"  {title}")
    for name, us in medians.items():
        print(f"    {name:<42} {us:8.1f}")


if __name__ == "__main__":
    main()
