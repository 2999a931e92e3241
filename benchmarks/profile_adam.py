"""Where Adam's update goes, pass by pass, and why it stays on one core.

Run:  python benchmarks/profile_adam.py             # about 15 seconds on 2 cores
      python benchmarks/profile_adam.py --parts 1   # only the parts named

The update of run.py's epoch case: the 784-256-128-10 float32 network's 235,146 parameters,
one flat array, as ``glassnet.fit`` steps them.

Part 1: Adam's update pass by pass, as ``glassnet.optim.Adam`` takes it (``axpby`` for each
moment and ``axpy`` for the step in BLAS, see glassnet._blas; ``g * g``, the square root,
``+ eps`` and the division in NumPy). Each round runs a step's eight matrix products (the
floor's) and then the seven passes, each timed on its own: medians over the rounds, the
products' too, and the update as a share of the products. Then the square root against a
division, a multiplication, an addition and ``np.power`` of the same size, with the SIMD loop
NumPy dispatched for each (``numpy.lib.introspect``, NumPy 2). Last, the passes back to back
without the products between them, with OpenBLAS's two threads and limited to one
(threadpoolctl): OpenBLAS splits the step's ``axpy`` over its two threads, so the worker
thread reads half of the scratch array, and the next round's multiply writes that array
again. As a control the same multiply also writes a second array that no BLAS call reads.
Part 2: why NumPy's passes stay on one core. NumPy runs a ufunc on one thread; the update (in
its ten NumPy passes, as without glassnet._blas) split in halves over two Python threads
would use both cores. Timed alone, the split saves less than half (likely the cost of waking
the worker and of passing Python's GIL between the threads; not measured apart); right after
a matrix product, as in training, it costs more than one thread, because OpenBLAS's worker
thread keeps the second core busy polling for its next job for a while after every product:
the CPU time each thread takes while the main thread sleeps is shown too (Linux only). Then,
when torch is installed, glassnet's ``Adam.step`` (one flat array) against torch's (its
default CPU path) on one and on two threads, each after the products done by its own
library: over the network's six tensors, as a torch training loop steps them (run.py's), and
over one flat tensor like glassnet's. torch splits each element-wise op over its threads.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

import glassnet
from glassnet import _blas

sys.path.insert(0, str(Path(__file__).resolve().parent))
from profile_step import _median_us, _show, best_us  # noqa: E402  (the same timing helpers)

N_PARAMS = 235_146  # 784*256 + 256 + 256*128 + 128 + 128*10 + 10
LAYERS = [(784, 256), (256, 128), (128, 10)]  # (n_in, n_out) of the three dense layers
BATCH = 128


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parts", default="1,2", help="which parts to run (default: both)")
    parts = {part.strip() for part in parser.parse_args().parts.split(",")}
    if not parts <= {"1", "2"}:
        parser.error(f"--parts takes 1 and 2, got {sorted(parts)}")
    rng = np.random.default_rng(0)
    if "1" in parts:
        update_passes(rng)
    if "2" in parts:
        second_core(rng)
        against_torch(rng)


def floor_products(rng: np.random.Generator):
    """The eight matrix products of one step (the floor's, as in run.py): z = x @ W for the
    three layers, dW = x^T @ delta for the three, and dx = delta @ W^T for the last two."""
    xs = [rng.random((BATCH, n_in), np.float32) for n_in, _ in LAYERS]  # each layer's input
    Ws = [rng.random(shape, np.float32) for shape in LAYERS]
    zs = [np.empty((BATCH, n_out), np.float32) for _, n_out in LAYERS]  # z, then delta
    dWs = [np.empty_like(W) for W in Ws]
    dxs = [np.empty_like(x) for x in xs]

    def products() -> None:
        for x, W, z in zip(xs, Ws, zs):
            np.matmul(x, W, out=z)  # z = x @ W
        for x, delta, dW in zip(xs, zs, dWs):
            np.matmul(x.T, delta, out=dW)  # dW = x^T @ delta (z stands in for delta)
        for delta, W, dx in list(zip(zs, Ws, dxs))[1:]:
            np.matmul(delta, W.T, out=dx)  # dx = delta @ W^T
    return products


def adam_passes(g: np.ndarray) -> dict:
    """Adam's seven passes over the gradient ``g``, as ``Adam._update`` calls them; the
    coefficients are small enough to keep ``p`` in range over many rounds."""
    m, v = g.copy(), g * g  # moments of the size a run would have
    p, w = 100 * g, np.empty_like(g)
    step, eps = 1e-9, 1e-7  # lr * s / bc1, eps * s (s = sqrt(1 - beta2^t))
    return {
        "m = beta1 m + (1 - beta1) g (axpby)": lambda: _blas.axpby(0.1, g, 0.9, m, scratch=w),
        "w = g g (np.multiply)": lambda: np.multiply(g, g, out=w),
        "v = beta2 v + (1 - beta2) w (axpby)": lambda: _blas.axpby(0.001, w, 0.999, v),
        "w = sqrt(v) (np.sqrt)": lambda: np.sqrt(v, out=w),
        "w = w + eps (np.add)": lambda: np.add(w, eps, out=w),
        "w = m / w (np.divide)": lambda: np.divide(m, w, out=w),
        "p = p - step w (axpy)": lambda: _blas.axpy(-step, w, p, scratch=w),
    }


def update_passes(rng: np.random.Generator, rounds: int = 300) -> None:
    """Part 1: the passes after a step's products, the square root against other passes, the
    SIMD loops, and the passes back to back on one and two BLAS threads."""
    g = (rng.standard_normal(N_PARAMS) * 1e-3).astype(np.float32)
    passes = adam_passes(g)
    median = _median_us({"the eight products": floor_products(rng), **passes}, rounds)
    floor = median.pop("the eight products")
    update = sum(median.values())
    blas = "BLAS" if _blas.AVAILABLE else "NumPy alone: NumPy's OpenBLAS was not found"
    print(f"Adam's update over {N_PARAMS:,} float32 entries ({blas}), each pass timed after a "
          f"step's eight products; median us over {rounds} rounds")
    for name, us in median.items():
        print(f"  {name:<40} {us:8.1f}")
    print(f"  {'the whole update (sum)':<40} {update:8.1f}")
    print(f"  {'the eight products (the floor)':<40} {floor:8.1f}")
    print(f"  the update is {update / floor:.2f} of the products, the square root alone "
          f"{median['w = sqrt(V) (np.sqrt)'] / floor:.2f}")

    V, w = 1000 * g * g, np.empty_like(g)
    print("\nthe square root against other passes of the same size; best us per call, and "
          "the SIMD loop NumPy runs for it (float32)")
    for name, ufunc, fn in (
            ("sqrt(V)", "sqrt", lambda: np.sqrt(V, out=w)),
            ("V / g", "divide", lambda: np.divide(V, g, out=w)),
            ("g g", "multiply", lambda: np.multiply(g, g, out=w)),
            ("V + eps", "add", lambda: np.add(V, 1e-7, out=w)),
            ("V ** 0.5 (np.power)", "power", lambda: np.power(V, 0.5, out=w))):
        print(f"  {name:<24} {best_us(fn, 200):8.1f}   {simd_loop(ufunc)}")
    back_to_back(g, passes, rounds)


def simd_loop(ufunc: str) -> str:
    """The SIMD level of the float32 loop NumPy dispatched for ``ufunc`` on this CPU (NumPy 2's
    ``numpy.lib.introspect``; its names vary between NumPy versions)."""
    try:
        from numpy.lib.introspect import opt_func_info
        found = opt_func_info(func_name=f"^{ufunc}$", signature="float32").get(ufunc, {})
        return ", ".join(f"{types}: {info['current']}" for types, info in found.items())
    except (ImportError, AttributeError, KeyError, TypeError):
        return "(this NumPy does not say)"


def back_to_back(g: np.ndarray, passes: dict, rounds: int) -> None:
    """Part 1, last: the seven passes in a row, round after round, with OpenBLAS on all its
    threads and limited to one (threadpoolctl); before the multiply that writes the scratch
    array, the same multiply into an array that no BLAS call reads (the control)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        print("\nthe passes back to back: threadpoolctl is not installed "
              "(pip install threadpoolctl), not timed")
        return
    print("\nthe passes back to back, no products between; median us")
    for label, limit in (("OpenBLAS on all its threads", None), ("limited to one", 1)):
        with threadpool_limits(limits=limit, user_api="blas"):
            control = np.empty_like(g)
            calls = {}
            for name, fn in passes.items():
                if name == "w = g g (np.multiply)":  # the control just before it
                    calls["control"] = lambda: np.multiply(g, g, out=control)
                calls[name] = fn
            median = _median_us(calls, rounds)
        control_us = median.pop("control")
        print(f"  {label}: the multiply {median['w = g g (np.multiply)']:.1f} (into the "
              f"control array {control_us:.1f}), the step's axpy "
              f"{median['p = p - step w (axpy)']:.1f}, the whole update {sum(median.values()):.1f}")


def second_core(rng: np.random.Generator, rounds: int = 2000) -> None:
    """Part 2: Adam's update over all 235,146 parameters in NumPy's ten passes on one thread,
    and split in halves over two (a worker thread takes the second half, woken by a lock),
    each timed alone and right after a matrix product; then what OpenBLAS's threads do
    after one product."""
    import threading
    n = N_PARAMS
    g, m, v, p = (rng.random(n, np.float32) for _ in range(4))
    w = np.empty_like(v)
    half = n // 2

    def passes(lo: int, hi: int) -> None:  # Adam's step on entries [lo, hi), as in NumPy
        gs, ms, vs, ps, ws = g[lo:hi], m[lo:hi], v[lo:hi], p[lo:hi], w[lo:hi]
        ms *= 0.9
        ms += gs  # M = beta1 M + g
        np.multiply(gs, gs, out=ws)
        vs *= 0.999
        vs += ws  # V = beta2 V + g g
        np.sqrt(vs, out=ws)
        ws += 1e-8
        np.divide(ms, ws, out=ws)
        ws *= -1e-9  # values that keep p in range over many calls
        ps += ws  # p = p - a M / (sqrt(V) + eps)

    go, done = threading.Lock(), threading.Lock()
    go.acquire()
    done.acquire()
    worker_id: list[int] = []

    def worker() -> None:
        worker_id.append(threading.get_native_id())
        while True:
            go.acquire()
            passes(half, n)
            done.release()

    threading.Thread(target=worker, daemon=True).start()

    def split() -> None:
        go.release()  # the worker takes the second half
        passes(0, half)
        if not done.acquire(timeout=10.0):  # the worker died: say so rather than hang
            raise RuntimeError("profile_adam part 2: the worker thread did not finish")

    x, d = rng.random((128, 784), np.float32), rng.random((128, 256), np.float32)
    dW = np.empty((784, 256), np.float32)
    calls = {"one thread": lambda: passes(0, n), "  two threads, half each": split}
    print(f"\nAdam's update in NumPy (ten passes) over {n:,} float32 entries; median us per "
          f"call")
    _show("alone", _median_us(calls, rounds))
    _show("right after a product (dW = x^T d, 128 x 784 x 256), as in training",
          _median_us(calls, rounds, before=lambda: np.matmul(x.T, d, out=dW)))
    tasks = "/proc/self/task"
    try:
        import os
        ticks = os.sysconf("SC_CLK_TCK")

        def cpu_seconds() -> dict[str, float]:  # per thread: user + system time
            out = {}
            for task in os.listdir(tasks):
                with open(f"{tasks}/{task}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                out[task] = (int(fields[11]) + int(fields[12])) / ticks
            return out
        np.matmul(x.T, d, out=dW)
        before = cpu_seconds()
        time.sleep(0.5)
        after = cpu_seconds()
    except (OSError, ValueError, AttributeError):
        print("  (the threads' CPU time needs Linux's /proc: not shown)")
        return
    main_id = threading.get_native_id()
    names = {str(main_id): "main thread", str(worker_id[0]): "this part's worker"}
    print("  CPU seconds each thread took in the 0.5 s the main thread slept after one product:")
    for task in sorted(after, key=lambda t: (t not in names, t)):
        print(f"    {names.get(task, f'thread {task} (BLAS)'):<42} "
              f"{after[task] - before.get(task, 0.0):8.2f}")


def against_torch(rng: np.random.Generator, rounds: int = 300) -> None:
    """Part 2, last: glassnet's ``Adam.step`` and torch's over ``N_PARAMS`` float32 entries,
    each right after the eight products done by its own library; blocks of rounds, each system
    in turn after 0.2 s idle (so that the other library's threads have stopped polling)."""
    try:
        import torch
    except ImportError:
        print("\nglassnet's Adam step against torch's: torch is not installed "
              "(pip install torch), not timed")
        return
    g = (rng.standard_normal(N_PARAMS) * 1e-3).astype(np.float32)
    p = 100 * g
    adam = glassnet.optim.Adam(lr=1e-9)
    shapes = [shape for n_in, n_out in LAYERS for shape in ((n_in, n_out), (n_out,))]
    split = np.cumsum([int(np.prod(shape)) for shape in shapes])[:-1]
    tensors = []  # the network's six parameter tensors (W1, b1, W2, ...), as torch's loop has
    for shape, p_i, g_i in zip(shapes, np.split(p, split), np.split(g, split)):
        tensors.append(torch.from_numpy(p_i.reshape(shape).copy()).requires_grad_(True))
        tensors[-1].grad = torch.from_numpy(g_i.reshape(shape).copy())
    flat = torch.from_numpy(p.copy()).requires_grad_(True)
    flat.grad = torch.from_numpy(g.copy())
    by_tensor, one_flat = torch.optim.Adam(tensors, lr=1e-9), torch.optim.Adam([flat], lr=1e-9)
    numpy_products = floor_products(rng)
    xs = [torch.rand(BATCH, n_in) for n_in, _ in LAYERS]
    Ws = [torch.rand(*shape) for shape in LAYERS]
    zs = [torch.empty(BATCH, n_out) for _, n_out in LAYERS]
    dWs, dxs = [torch.empty(*shape) for shape in LAYERS], [torch.empty_like(x) for x in xs]

    def torch_products() -> None:  # the same eight as floor_products, in torch
        for x, W, z, dW in zip(xs, Ws, zs, dWs):
            torch.mm(x, W, out=z)  # z = x @ W
            torch.mm(x.T, z, out=dW)  # dW = x^T @ delta
        for delta, W, dx in list(zip(zs, Ws, dxs))[1:]:
            torch.mm(delta, W.T, out=dx)  # dx = delta @ W^T

    threads = torch.get_num_threads()
    systems = {"glassnet Adam.step, one flat array": (numpy_products,
                                                      lambda: adam.step([p], [g]), None),
               "torch, the six tensors, 1 thread": (torch_products, by_tensor.step, 1),
               "torch, the six tensors, 2 threads": (torch_products, by_tensor.step, 2),
               "torch, one flat tensor, 1 thread": (torch_products, one_flat.step, 1),
               "torch, one flat tensor, 2 threads": (torch_products, one_flat.step, 2)}
    times: dict = {name: [] for name in systems}
    try:
        with torch.no_grad():
            for _, step, _ in systems.values():
                step()  # the first step makes the state: not timed
            for _ in range(3):  # blocks of rounds, each system in turn
                for name, (products, step, n_threads) in systems.items():
                    if n_threads is not None:
                        torch.set_num_threads(n_threads)
                    time.sleep(0.2)  # the other library's threads stop polling
                    for _ in range(rounds // 3):
                        products()
                        start = time.perf_counter()
                        step()
                        times[name].append(time.perf_counter() - start)
    finally:
        torch.set_num_threads(threads)
    print(f"\nAdam's step over {N_PARAMS:,} float32 parameters, each after its library's "
          f"products (torch {torch.__version__}); median us over {rounds} rounds")
    for name, ts in times.items():
        print(f"  {name:<48} {1e6 * float(np.median(ts)):8.1f}")


if __name__ == "__main__":
    main()
