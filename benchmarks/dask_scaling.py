"""``glassnet.dask.fit``: steps per second against the number of workers and the batch size,
the per-step compute and communication times, and an estimate from those times of where
synchronous data-parallel training stops paying off on a real cluster.

Problems (synthetic, labels from a fixed random linear teacher, one shuffled epoch, Adam 1e-3,
seed 0, float32):

    mnist   ROWS x 784, MLP 784-256-128-10 ReLU (235,146 parameters, 0.94 MB)
    small   ROWS x 32,  MLP 32-64-10 ReLU      (2,762 parameters, 11 kB)

The data are made on the workers, chunk by chunk (``dask.delayed``; nothing large crosses
from the client), ``--chunks`` chunks a worker; the in-memory reference builds the same rows
with the same function. Per configuration (problem x workers x batch), each run ``--repeats``
times (both reported):

    dask     glassnet.dask.fit(..., epochs=1, profile=p) on a LocalCluster(n_workers=W,
             threads_per_worker=1, processes=True) with its Client; W in --workers
    memory   glassnet.fit with the same arguments on the same rows, BLAS on 1 thread (one
             worker's share: Dask's workers run OpenBLAS on one thread) and on all threads

Measured, per run:

    steps/s      steps / the training loop's wall time (on_train_begin .. on_train_end: the
                 placing of the rows on the workers, ``setup``, is reported apart)
    compute ms   profile compute_s / steps  (the slowest worker's forward + backward)
    comm ms      (profile step_s - compute_s) / steps  (sending the parameters, receiving the
                 gradients, Dask's actor calls and the threads they hop through)
    client ms    (loop - step_s) / steps  (the client's optimizer step and batch bookkeeping)
    kB/step      (bytes_sent + bytes_received) / steps

The estimate (printed, and in the JSON): a step on a cluster of W machines joined by a network
of bandwidth B and round-trip latency L costs about

    T(W) = C(b)/W + U + O + 2 L + 2 W 4P / B

C(b) the one-core compute of a batch of b rows (a + k b, fitted to the W=1 runs), U the
client's update (measured), P the parameter count (float32: 4P bytes; the parameters out and
the gradient in, W of each through the client's link, one after the other), O the software
overhead of a call that is not the wire (fitted from the two problems' W=1 comm times on this
machine: comm = O + 8P/B_local). One machine takes C(b) + U. W workers pay off while
C(b) (1 - 1/W) > O + 2L + 8WP/B; the best W is about sqrt(C(b) B / (8P)). Two variants:
O = 0 (an ideal RPC, the network only) and O as measured (Dask's actor calls as they are).

Run:   python benchmarks/dask_scaling.py              # full: about 3-6 minutes on 2 cores
       python benchmarks/dask_scaling.py --quick      # under a minute
Options: --rows N, --batches 32,256,2048, --workers 1,2, --problems mnist,small,
         --repeats R, --chunks K, --json PATH
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import os
import platform
import sys
import time
import warnings
from pathlib import Path

# benchmarks/ holds sparse.py, which would shadow the package ``sparse`` that dask.array imports
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]

import numpy as np

import glassnet

PROBLEMS = {"mnist": [784, 256, 128, 10], "small": [32, 64, 10]}
BANDWIDTHS_GBIT = (1.0, 10.0, 25.0)
LATENCIES_MS = (0.1, 0.5)
RESULTS = _HERE / "results" / "dask_scaling.json"


# ---------------------------------------------------------------------------- the data

def make_chunk(sizes: list, start: int, n: int, seed: int = 0) -> tuple:
    """Rows ``start .. start + n`` of the problem: normal inputs, labels from a fixed linear
    teacher. The same on a worker and on the client."""
    d, k = sizes[0], sizes[-1]
    teacher = np.random.default_rng([seed, 0]).standard_normal((d, k)).astype(np.float32)
    X = np.random.default_rng([seed, 1, start]).standard_normal((n, d), dtype=np.float32)
    return X, np.argmax(X @ teacher, axis=1).astype(np.int64)


def bounds(rows: int, n_chunks: int) -> list:
    edges = np.linspace(0, rows, n_chunks + 1).astype(int)
    return [(int(a), int(b - a)) for a, b in itertools.pairwise(edges)]


def dask_data(sizes: list, rows: int, n_chunks: int) -> tuple:
    import dask
    import dask.array as da
    xs, ys = [], []
    for start, n in bounds(rows, n_chunks):
        part = dask.delayed(make_chunk, pure=True)(sizes, start, n)
        xs.append(da.from_delayed(part[0], (n, sizes[0]), dtype=np.float32))
        ys.append(da.from_delayed(part[1], (n,), dtype=np.int64))
    return da.concatenate(xs), da.concatenate(ys)


def memory_data(sizes: list, rows: int, n_chunks: int) -> tuple:
    parts = [make_chunk(sizes, start, n) for start, n in bounds(rows, n_chunks)]
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


# ---------------------------------------------------------------------------- timing

class LoopTimer(glassnet.Callback):
    """The wall time of the training loop (after the data are placed)."""

    def on_train_begin(self, state):
        self.begin = time.perf_counter()

    def on_train_end(self, state):
        self.end = time.perf_counter()


FIT = {"epochs": 1, "optimizer": "adam", "seed": 0, "shuffle": True}


def run_dask(client, sizes, X, y, batch) -> dict:
    import glassnet.dask as gd
    model = glassnet.MLP(sizes, dtype="float32", seed=0)
    timer, profile = LoopTimer(), {}
    start = time.perf_counter()
    gd.fit(model, X, y, client=client, batch_size=batch, callbacks=[timer], profile=profile,
           **FIT)
    wall = time.perf_counter() - start
    loop = timer.end - timer.begin
    steps = profile["steps"]
    return {"steps": steps, "loop_s": loop, "setup_s": wall - loop,
            "steps_per_s": steps / loop,
            "compute_ms": 1e3 * profile["compute_s"] / steps,
            "comm_ms": 1e3 * (profile["step_s"] - profile["compute_s"]) / steps,
            "client_ms": 1e3 * (loop - profile["step_s"]) / steps,
            "kB_per_step": (profile["bytes_sent"] + profile["bytes_received"]) / steps / 1e3,
            "workers": profile["workers"]}


def threadpool_limits_1():
    from threadpoolctl import threadpool_limits
    return threadpool_limits(limits=1)


def run_memory(sizes, X, y, batch, threads) -> dict:
    from threadpoolctl import threadpool_limits
    model = glassnet.MLP(sizes, dtype="float32", seed=0)
    timer = LoopTimer()
    with threadpool_limits(limits=threads):
        glassnet.fit(model, X, y, batch_size=batch, callbacks=[timer], **FIT)
    loop = timer.end - timer.begin
    steps = math.ceil(len(X) / batch)
    return {"steps": steps, "loop_s": loop, "steps_per_s": steps / loop,
            "ms_per_step": 1e3 * loop / steps}


def time_update(sizes, repeats: int = 300) -> float:
    """Seconds of one Adam step on the model's parameters (what the client does each step:
    U in the estimate), median of ``repeats`` calls, one BLAS thread."""
    from glassnet.optim import get_optimizer
    from glassnet.step import SeparateStep
    model = glassnet.MLP(sizes, dtype="float32", seed=0)
    model.flat_grads[...] = 1e-3
    kernel = SeparateStep(get_optimizer("adam"))
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        kernel.update(model)
        times.append(time.perf_counter() - start)
    return float(np.median(times))


# ---------------------------------------------------------------------------- the estimate

def fit_line(batches, values) -> tuple:
    """Least squares ``value = a + k batch`` (a >= 0)."""
    b, v = np.asarray(batches, float), np.asarray(values, float)
    if len(b) == 1:
        return 0.0, float(v[0] / b[0])
    k, a = np.polyfit(b, v, 1)
    if a < 0:
        a, k = 0.0, float(np.dot(b, v) / np.dot(b, b))
    return float(a), float(k)


def step_s(C, U, O, L, P, B, W) -> float:
    """The model's step time (seconds) on W machines; W=1 "one machine" is C + U."""
    return C / W + U + O + 2 * L + 2 * W * 4 * P / B


def estimate(results: dict, problems: list) -> dict:
    """The cluster estimate from the W=1 runs (min over repeats: the least disturbed)."""
    w1 = {p: {b: r for b, r in results[p].get("1", {}).items()} for p in problems}
    # O and the local bandwidth from comm = O + 8P/B_local over both problems' W=1 runs
    pts = [(8 * params(PROBLEMS[p]), min(x["comm_ms"] for x in r["dask"]) / 1e3)
           for p in problems for r in w1[p].values()]
    if len({x for x, _ in pts}) >= 2:
        inv_b, O = np.polyfit([x for x, _ in pts], [t for _, t in pts], 1)[::1]
        O = max(float(O), 0.0)
        B_local = 1 / inv_b if inv_b > 0 else float("inf")
    else:
        O, B_local = float(np.median([t for _, t in pts])) if pts else 0.0, float("inf")
    out = {"model": "T(W) = C(b)/W + U + O + 2L + 2*W*4P/B; one machine: C(b) + U",
           "O_ms_measured": 1e3 * O, "local_bandwidth_MB_s": B_local / 1e6, "problems": {}}
    for p in problems:
        if not w1[p]:
            continue
        P = params(PROBLEMS[p])
        batches = sorted(int(b) for b in w1[p])
        C = [min(x["compute_ms"] for x in w1[p][str(b)]["dask"]) / 1e3 for b in batches]
        U = results[p]["update_ms"] / 1e3  # the optimizer step, timed alone
        a, k = fit_line(batches, C)
        prob = {"P": P, "bytes_per_copy": 4 * P, "C_ms": dict(zip(map(str, batches),
                                                                 [1e3 * c for c in C])),
                "C_fit_ms": {"a": 1e3 * a, "k_per_row": 1e3 * k}, "U_ms": 1e3 * U,
                "one_machine_ms": {str(b): 1e3 * (c + U) for b, c in zip(batches, C)},
                "in_memory_1thread_ms": {
                    str(b): min(r["ms_per_step"] for r in results[p]["memory"][str(b)]["1"])
                    for b in batches if str(b) in results[p].get("memory", {})},
                "cases": []}
        for o_name, o in (("ideal RPC (O=0)", 0.0), ("Dask as measured", O)):
            for Bg in BANDWIDTHS_GBIT:
                B = Bg * 1e9 / 8
                for Lms in LATENCIES_MS:
                    L = Lms / 1e3
                    case = {"overhead": o_name, "O_ms": 1e3 * o, "B_gbit": Bg, "L_ms": Lms,
                            "per_batch": {}, "min_batch": {}}
                    for b, c in zip(batches, C):
                        one = c + U
                        times = {W: step_s(c, U, o, L, P, B, W) for W in range(1, 257)}
                        best = min(range(2, 257), key=lambda W: times[W])
                        paying = [W for W in range(2, 257) if times[W] < one]
                        case["per_batch"][str(b)] = {
                            "one_machine_ms": 1e3 * one, "best_W": best,
                            "best_speedup": one / times[best],
                            "speedup_W2": one / times[2], "speedup_W8": one / times[8],
                            "max_paying_W": max(paying) if paying else None}
                    for W in (2, 4, 8, 16):
                        need = (o + 2 * L + 8 * W * P / B) / (1 - 1 / W)
                        b_min = (need - a) / k if k > 0 else float("inf")
                        case["min_batch"][str(W)] = max(1, math.ceil(b_min))
                    prob["cases"].append(case)
        out["problems"][p] = prob
    return out


def params(sizes) -> int:
    return sum((a + 1) * b for a, b in itertools.pairwise(sizes))


def conclusions(est) -> list:
    """Plain sentences from the estimate: where W machines stop paying off."""
    lines = []
    for p, prob in est["problems"].items():
        batches = list(prob["C_ms"])
        big = batches[-1]
        for c in prob["cases"]:
            if c["L_ms"] != LATENCIES_MS[0] and c["B_gbit"] != 10.0:
                continue
            r = c["per_batch"][big]
            mb = c["min_batch"]
            pays = (f"best at W={r['best_W']} ({r['best_speedup']:.2f}x one machine), slower "
                    f"than one machine beyond W={r['max_paying_W']}" if r["max_paying_W"]
                    else "no W beats one machine")
            lines.append(
                f"{p}, {c['overhead']}, {c['B_gbit']:g} Gbit/s, L {c['L_ms']:g} ms: batch "
                f"{big}: {pays}; 2 machines need a batch >= {mb['2']}, 8 need >= {mb['8']}.")
    return lines


# ---------------------------------------------------------------------------- printing

def print_measured(results, problems, workers, batches):
    for p in problems:
        print(f"\n=== {p}: MLP {'-'.join(map(str, PROBLEMS[p]))}, {params(PROBLEMS[p]):,} "
              f"parameters, {results[p]['rows']:,} rows, one epoch, Adam ===")
        print(f"{'W':>2} {'batch':>5} {'steps':>5} | {'steps/s':>15} | {'compute ms':>13} | "
              f"{'comm ms':>13} | {'client ms':>11} | {'kB/step':>7} | {'setup s':>9}")
        for W in workers:
            for b in batches:
                rs = results[p].get(str(W), {}).get(str(b), {}).get("dask", [])
                if not rs:
                    continue
                def f(key, fmt, rs=rs):
                    return " ".join(format(r[key], fmt) for r in rs)
                print(f"{W:>2} {b:>5} {rs[0]['steps']:>5} | {f('steps_per_s', '7.1f'):>15} | "
                      f"{f('compute_ms', '6.2f'):>13} | {f('comm_ms', '6.2f'):>13} | "
                      f"{f('client_ms', '5.2f'):>11} | {rs[0]['kB_per_step']:>7.0f} | "
                      f"{f('setup_s', '4.1f'):>9}")
        print("in memory (glassnet.fit), steps/s:  1 BLAS thread | all threads")
        for b in batches:
            m = results[p].get("memory", {}).get(str(b))
            if m:
                one = " ".join(f"{r['steps_per_s']:7.1f}" for r in m["1"])
                allt = " ".join(f"{r['steps_per_s']:7.1f}" for r in m["all"])
                print(f"   batch {b:>5}: {one} | {allt}")


def print_estimate(est):
    print("\n=== estimate for a real cluster ===")
    print(f"model: {est['model']}")
    print(f"measured here: O (Dask's per-step call overhead, not the wire) = "
          f"{est['O_ms_measured']:.2f} ms; local copy bandwidth ~ "
          f"{est['local_bandwidth_MB_s']:.0f} MB/s")
    for p, prob in est["problems"].items():
        fit = prob["C_fit_ms"]
        print(f"\n{p}: P = {prob['P']:,} ({prob['bytes_per_copy'] / 1e6:.3f} MB a copy); "
              f"C(b) = {fit['a']:.3f} + {1e3 * fit['k_per_row']:.2f} us x b ms; "
              f"U (Adam step) = {prob['U_ms']:.2f} ms")
        print("one machine C(b)+U ms: " + ", ".join(
            f"b={b}: {v:.2f}" for b, v in prob["one_machine_ms"].items()) +
            "  (in memory, 1 thread, measured: " + ", ".join(
            f"{v:.2f}" for v in prob["in_memory_1thread_ms"].values()) + ")")
        batches = list(prob["C_ms"])
        print(f"{'overhead':<17} {'Gbit/s':>6} {'L ms':>4} | " +
              " | ".join(f"b={b}: best W (x), W=2 x, max W" for b in batches) +
              " | min batch for W=2/4/8/16")
        for c in prob["cases"]:
            cells = []
            for b in batches:
                r = c["per_batch"][b]
                mw = r["max_paying_W"] if r["max_paying_W"] else "-"
                cells.append(f"{r['best_W']:>3} ({r['best_speedup']:4.2f}x), "
                             f"{r['speedup_W2']:4.2f}x, {mw:>3}".ljust(len(f"b={b}: best W (x), "
                                                                        "W=2 x, max W")))
            mb = "/".join(str(c["min_batch"][w]) for w in ("2", "4", "8", "16"))
            print(f"{c['overhead']:<17} {c['B_gbit']:>6g} {c['L_ms']:>4g} | "
                  + " | ".join(cells) + f" | {mb}")


# ---------------------------------------------------------------------------- main

def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog="See the module docstring and benchmarks/README.md.")
    ap.add_argument("--quick", action="store_true",
                    help="4,000 rows, batches 32,512, one repeat: a check, under a minute")
    ap.add_argument("--rows", type=int, help="rows of each problem (default 20,000)")
    ap.add_argument("--batches", help="batch sizes, comma-separated (default 32,256,2048)")
    ap.add_argument("--workers", default="1,2", help="Dask workers, comma-separated (1,2)")
    ap.add_argument("--problems", default="mnist,small", help="mnist,small")
    ap.add_argument("--repeats", type=int, help="runs of each configuration (default 2)")
    ap.add_argument("--chunks", type=int, default=1, help="chunks a worker (default 1)")
    ap.add_argument("--json", type=Path, default=RESULTS, help=f"default {RESULTS}")
    args = ap.parse_args(argv)
    rows = args.rows or (4_000 if args.quick else 20_000)
    batches = [int(b) for b in (args.batches or ("32,512" if args.quick else "32,256,2048"))
               .split(",")]
    workers = [int(w) for w in args.workers.split(",")]
    problems = [p for p in args.problems.split(",") if p]
    repeats = args.repeats or (1 if args.quick else 2)
    for p in problems:
        if p not in PROBLEMS:
            ap.error(f"unknown problem {p!r}: {', '.join(PROBLEMS)}")

    import dask
    from distributed import Client, LocalCluster
    warnings.filterwarnings("ignore", message=".*large graph.*")
    print(f"glassnet {glassnet.__version__}, dask {dask.__version__}, numpy {np.__version__}, "
          f"{os.cpu_count()} CPUs; rows {rows:,}, batches {batches}, workers {workers}, "
          f"repeats {repeats}, {args.chunks} chunk(s) a worker")
    results: dict = {p: {"rows": rows, "sizes": PROBLEMS[p], "P": params(PROBLEMS[p])}
                     for p in problems}
    t0 = time.perf_counter()

    # in memory first, with no cluster running beside it
    for p in problems:
        X, y = memory_data(PROBLEMS[p], rows, args.chunks * max(workers))
        mem = results[p].setdefault("memory", {})
        run_memory(PROBLEMS[p], X, y, batches[0], 1)  # warm-up
        for _ in range(repeats):
            for b in batches:
                for threads, key in ((1, "1"), (None, "all")):
                    mem.setdefault(str(b), {"1": [], "all": []})[key].append(
                        run_memory(PROBLEMS[p], X, y, b, threads))
        with threadpool_limits_1():
            results[p]["update_ms"] = 1e3 * time_update(PROBLEMS[p])
        print(f"in memory {p}: done ({time.perf_counter() - t0:.0f} s)", flush=True)

    for W in workers:
        with LocalCluster(n_workers=W, threads_per_worker=1, processes=True,
                          host="127.0.0.1", dashboard_address=None) as lc, Client(lc) as client:
            client.wait_for_workers(W)
            for p in problems:
                X, y = dask_data(PROBLEMS[p], rows, args.chunks * W)
                X, y = client.persist([X, y])  # made once on the workers, reused by the runs
                run_dask(client, PROBLEMS[p], X, y, batches[-1])  # warm-up
                per = results[p].setdefault(str(W), {})
                for _ in range(repeats):
                    for b in batches:
                        per.setdefault(str(b), {"dask": []})["dask"].append(
                            run_dask(client, PROBLEMS[p], X, y, b))
                del X, y
                print(f"W={W} {p}: done ({time.perf_counter() - t0:.0f} s)", flush=True)

    print_measured(results, problems, workers, batches)
    est = estimate(results, problems) if "1" in map(str, workers) else None
    if est:
        print_estimate(est)
        print("\nReading: 'best W (x)' is the number of machines with the shortest modelled "
              "step and its speed-up over one machine; 'W=2 x' the speed-up of two; 'max W' "
              "the most machines still faster than one ('-': none). 'min batch' is the "
              "smallest batch at which W machines beat one.")
        est["conclusions"] = conclusions(est)
        print("\nWhere it stops paying off (largest measured batch; L = 0.1 ms, or 10 Gbit/s):")
        for line in est["conclusions"]:
            print("  " + line)
    out = {"rows": rows, "batches": batches, "workers": workers, "repeats": repeats,
           "chunks_per_worker": args.chunks, "python": platform.python_version(),
           "cpus": os.cpu_count(), "results": results, "estimate": est,
           "seconds": time.perf_counter() - t0}
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(out, indent=1))
    print(f"\nwritten {args.json} ({out['seconds']:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
