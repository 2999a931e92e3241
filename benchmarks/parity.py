"""Seeded parity with scikit-learn: the same fitted model, and how long each library takes to fit it.

With their defaults (``init='sklearn'``, ``dtype='auto'``) glassnet's ``MLPClassifier`` and
``MLPRegressor`` draw the starting weights, the validation rows and the order of the rows as
scikit-learn does for the same ``random_state``, and take the same steps; on float64 data a
seeded fit should therefore end on scikit-learn's fitted model. For every data set, solver and
activation this script fits both libraries' estimator with the same parameters and reports:

- ``max |diff|``: the largest absolute difference over every ``coefs_`` and ``intercepts_``
  entry (``match`` when it is at most 1e-10 and ``n_iter_`` agrees);
- ``n_iter_`` of each;
- the loss: for 'sgd' and 'adam' the largest relative difference along ``loss_curve_`` (over
  the epochs both ran; a curve of another length is flagged), for 'lbfgs', which keeps no
  curve, the relative difference of ``loss_``;
- the fit's seconds of each, the median over ``--repeats`` rounds, and the speed ratio
  scikit-learn / glassnet: the median over the rounds of the two fits' ratio in the same
  round (``paired``, as in ``run.py``, which cancels most of a shared machine's drift).

Data, all float64: iris (150 x 4, 3 classes) and digits (1,797 x 64, 10 classes), both
standardized; ``make_regression`` (1,000 x 20, 10 informative, noise 10, seed 0) with the
features and the target standardized. Both libraries: ``hidden_layer_sizes=(100,)``,
``random_state=0``, ``max_iter=200``, every other parameter at its default (``tol``,
``n_iter_no_change``, ``alpha``, ``batch_size='auto'``, the learning rates), so that the
two stop by the same rule and ``n_iter_`` is comparable. ConvergenceWarnings are silenced.

Timing follows ``run.py`` (whose helpers it imports): in each case the two fits alternate
round by round (the first one rotates), each after ``gc.collect()`` and ``--settle`` seconds
idle (OpenBLAS's threads spin for a while after their last call), ``time.perf_counter``
around ``.fit`` (the estimator is built untimed). Both libraries run in this process on
the same BLAS; 'lbfgs' goes through SciPy's L-BFGS-B in both. By default the BLAS keeps its
own thread count, as in ``run.py`` (reported, not pinned); ``--threads N`` limits every BLAS
loaded (NumPy's and SciPy's, through threadpoolctl) to N threads for both libraries. These
products are small (at most 1,797 x 64 by 64 x 100): on a machine whose cores other
processes keep busy, OpenBLAS's threads wait on each other and a fit can take 50-100 times
as long as on one thread (the regression set's lbfgs/tanh fit on 2 busy cores: 9-16 s on two
threads, 0.16 s on one), so on a shared machine ``--threads 1`` gives the figures that mean
something. One untimed warm-up fit per
library and solver comes first (imports, first calls). The parity columns come from the
first round's fits; every later round's weights are checked to be the same bits
(``deterministic``).

Run:  python benchmarks/parity.py [--repeats 3] [--quick] [--threads 1] [--json PATH]
      python benchmarks/parity.py --datasets iris --solvers lbfgs --activations tanh,relu
--quick: one round, iris and the regression set only (about 25 s on 2 cores; the full
run about 2.5 minutes).
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import os
import platform
import statistics
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import run  # run.py's timing and environment helpers (first: it reads NumPy's BLAS)
import sklearn
from sklearn import datasets
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier as SkClassifier
from sklearn.neural_network import MLPRegressor as SkRegressor
from sklearn.preprocessing import StandardScaler

import glassnet

SOLVERS = ("sgd", "adam", "lbfgs")
ACTIVATIONS = ("identity", "logistic", "tanh", "relu")
DATASETS = ("iris", "digits", "regression")
TOLERANCE = 1e-10  # max |coefs_/intercepts_ difference| that counts as the same model
PARAMS = {"hidden_layer_sizes": (100,), "random_state": 0, "max_iter": 200}
SYSTEMS = ("scikit-learn", "glassnet")


def load(name: str):
    """``(X, y, is_classification)``, float64, standardized."""
    if name == "iris":
        X, y = datasets.load_iris(return_X_y=True)
    elif name == "digits":
        X, y = datasets.load_digits(return_X_y=True)
    elif name == "regression":
        X, y = datasets.make_regression(n_samples=1000, n_features=20, n_informative=10,
                                        noise=10.0, random_state=0)
        y = (y - y.mean()) / y.std()
    else:
        raise ValueError(name)
    X = StandardScaler().fit_transform(X.astype(np.float64))
    return X, y, name != "regression"


def estimators(is_classification: bool):
    if is_classification:
        return {"scikit-learn": SkClassifier, "glassnet": glassnet.MLPClassifier}
    return {"scikit-learn": SkRegressor, "glassnet": glassnet.MLPRegressor}


def parameters(est) -> list[np.ndarray]:
    return [np.asarray(a) for a in (*est.coefs_, *est.intercepts_)]


def fingerprint(est) -> str:
    digest = hashlib.sha256()
    for a in parameters(est):
        digest.update(np.ascontiguousarray(a).tobytes())
    return digest.hexdigest()[:16]


def max_difference(a, b) -> float:
    pa, pb = parameters(a), parameters(b)
    if [p.shape for p in pa] != [p.shape for p in pb]:
        return float("inf")
    return max(float(np.max(np.abs(x - y))) for x, y in zip(pa, pb))


def loss_difference(sk, gn, solver: str) -> dict:
    """The largest relative difference of the losses: along ``loss_curve_`` (the epochs
    both ran) for the stochastic solvers, of ``loss_`` for L-BFGS."""
    if solver == "lbfgs":
        a, b = np.array([sk.loss_]), np.array([gn.loss_])
        what, same_length = "loss_", True
    else:
        a, b = np.asarray(sk.loss_curve_), np.asarray(gn.loss_curve_)
        what, same_length = "loss_curve_", len(a) == len(b)
        n = min(len(a), len(b))
        a, b = a[:n], b[:n]
    rel = float("nan")
    if len(a):
        rel = float(np.max(np.abs(a - b) / np.maximum(np.abs(a), np.finfo(float).tiny)))
    return {"compared": what, "max_rel_diff": rel, "same_length": same_length,
            "sklearn_loss": float(sk.loss_), "glassnet_loss": float(gn.loss_)}


def source_fingerprint() -> str:
    """A hash of every source file of the glassnet package, sub-packages included (``run.py``'s
    covers the top level only; the estimators live in ``glassnet/sklearn``)."""
    root = Path(glassnet.__file__).parent
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:12]


def fit_quietly(est, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return est.fit(X, y)


def warm_up(data: dict, solvers) -> None:
    """One short untimed fit per library and solver: imports and first calls."""
    X, y, is_classification = next(iter(data.values()))
    for solver in solvers:
        for make in estimators(is_classification).values():
            fit_quietly(make(solver=solver, **{**PARAMS, "max_iter": 3}), X, y)


def run_case(X, y, is_classification, solver, activation, repeats) -> dict:
    params = dict(PARAMS, solver=solver, activation=activation)
    fitted = {name: [] for name in SYSTEMS}
    fns = {}
    for name, make in estimators(is_classification).items():
        def setup(make=make, name=name):
            est = make(**params)
            fitted[name].append(est)
            return est
        fns[name] = (setup, lambda est: fit_quietly(est, X, y))
    record: dict = {}
    meter = run.BackgroundMeter().start()
    run.timeit_alternating(fns, repeats, warmup=0, record=record)
    background = meter.stop()
    sk, gn = fitted["scikit-learn"][0], fitted["glassnet"][0]
    diff = max_difference(sk, gn)
    prints = {name: [fingerprint(e) for e in fitted[name]] for name in SYSTEMS}
    out = {
        "params": params,
        "max_abs_diff": diff,
        "n_iter": {"scikit-learn": int(sk.n_iter_), "glassnet": int(gn.n_iter_)},
        "loss": loss_difference(sk, gn, solver),
        "glassnet_dtype": str(np.asarray(gn.coefs_[0]).dtype),
        "deterministic": {name: len(set(p)) == 1 for name, p in prints.items()},
        "times": record,
        "median_s": {name: statistics.median(record[name]) for name in SYSTEMS},
        "speedup": run.paired(record, "scikit-learn", "glassnet") if repeats else None,
        "background_cpus": background,
    }
    out["same_n_iter"] = out["n_iter"]["scikit-learn"] == out["n_iter"]["glassnet"]
    out["match"] = bool(diff <= TOLERANCE and out["same_n_iter"])
    return out


def names(allowed):
    def parse(text: str) -> list[str]:
        chosen = list(dict.fromkeys(p.strip() for p in text.split(",") if p.strip()))
        unknown = [c for c in chosen if c not in allowed]
        if not chosen or unknown:
            raise argparse.ArgumentTypeError(f"choose from {', '.join(allowed)}; got {text!r}")
        return chosen
    return parse


def print_row(cells, widths) -> None:
    print("  ".join(c.ljust(w) if i < 3 else c.rjust(w)
                    for i, (c, w) in enumerate(zip(cells, widths))))


HEADER = ("data", "solver", "activation", "max |diff|", "n_iter sk/gn", "loss rel diff",
          "sklearn s", "glassnet s", "sk/gn", "")
WIDTHS = (10, 6, 10, 10, 12, 13, 9, 10, 6, 5)


def row_cells(data, solver, activation, case) -> list[str]:
    n_sk, n_gn = case["n_iter"]["scikit-learn"], case["n_iter"]["glassnet"]
    loss = case["loss"]
    loss_text = f"{loss['max_rel_diff']:.1e}" + ("" if loss["same_length"] else " (len)")
    if loss["compared"] == "loss_":
        loss_text += " L"
    return [data, solver, activation, f"{case['max_abs_diff']:.1e}", f"{n_sk}/{n_gn}",
            loss_text, f"{case['median_s']['scikit-learn']:.3f}",
            f"{case['median_s']['glassnet']:.3f}",
            f"{case['speedup']:.2f}" if case["speedup"] is not None else "-",
            "ok" if case["match"] else "DIFF"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3,
                        help="timed rounds per case (default: %(default)s)")
    parser.add_argument("--quick", action="store_true",
                        help="one round, iris and the regression set only")
    parser.add_argument("--datasets", type=names(DATASETS), help=", ".join(DATASETS))
    parser.add_argument("--solvers", type=names(SOLVERS), default=list(SOLVERS),
                        help=", ".join(SOLVERS))
    parser.add_argument("--activations", type=names(ACTIVATIONS), default=list(ACTIVATIONS),
                        help=", ".join(ACTIVATIONS))
    parser.add_argument("--threads", type=int,
                        help="limit every BLAS to this many threads (default: its own count)")
    parser.add_argument("--settle", type=float, default=run.SETTLE_S,
                        help="idle seconds before each timed fit (default %(default)s)")
    parser.add_argument("--json", default=str(run.REPO / "benchmarks" / "results" / "parity.json"),
                        help="where to write the results (default: %(default)s)")
    args = parser.parse_args()
    if args.repeats < 1:
        parser.error(f"--repeats must be >= 1, got {args.repeats}")
    if args.settle < 0:
        parser.error(f"--settle must be >= 0, got {args.settle}")
    if args.threads is not None and args.threads < 1:
        parser.error(f"--threads must be >= 1, got {args.threads}")
    if args.threads is None:
        measure(args)
        return
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        parser.error("--threads needs threadpoolctl")
    with threadpool_limits(limits=args.threads, user_api="blas"):
        measure(args)


def measure(args) -> None:
    repeats = 1 if args.quick else args.repeats
    chosen = args.datasets or (["iris", "regression"] if args.quick else list(DATASETS))
    run.SETTLE_S = args.settle
    started = time.perf_counter()

    blas_libs, threads, blas_text = run.blas_info()
    if args.threads is not None:
        threads = args.threads
        blas_text = (f"{blas_text.rsplit(',', 1)[0]}, limited to {threads} thread(s) "
                     "(--threads)")
    versions = {"python": platform.python_version(), "numpy": np.__version__,
                "glassnet": glassnet.__version__, "scikit-learn": sklearn.__version__}
    source = source_fingerprint()
    meta = {
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
        "platform": platform.platform(), "cpu": run.cpu_name(), "cpu_count": os.cpu_count(),
        "versions": versions, "glassnet_git": run.git_state(), "glassnet_source": source,
        "blas": blas_libs, "blas_text": blas_text, "threads": threads,
        "threads_limited": args.threads is not None,
        "repeats": repeats, "quick": args.quick, "settle_s": args.settle,
        "tolerance": TOLERANCE, "params": PARAMS, "datasets": chosen,
        "solvers": args.solvers, "activations": args.activations,
    }
    git = meta["glassnet_git"]
    print("glassnet / scikit-learn seeded parity, float64" + (" (--quick)" if args.quick else ""))
    print(f"machine : {meta['platform']}, {meta['cpu']}, {meta['cpu_count']} CPUs")
    print("versions: " + ", ".join(f"{k} {v}" for k, v in versions.items()) +
          f" (git {(git['commit'] or '?')[:10]}"
          f"{', src modified' if git['src_modified'] else ''}; source {source})")
    print(f"BLAS    : {blas_text}")
    print(f"timing  : {repeats} round(s) per case, alternating; {args.settle:g} s idle before "
          "each fit; ratio sk/gn = median over rounds of the paired ratio")
    meter = run.BackgroundMeter().start()
    time.sleep(0.5)
    meta["background_cpus_before"] = meter.stop()
    print(f"load    : {run.describe_background(meta['background_cpus_before'])} (0.5 s before)")

    data = {}
    for name in chosen:
        data[name] = load(name)
        X, y, is_classification = data[name]
        kind = f"{len(np.unique(y))} classes" if is_classification else "regression"
        print(f"data    : {name} {X.shape[0]} x {X.shape[1]}, {kind}")
    warm_up(data, args.solvers)

    print()
    print_row(HEADER, WIDTHS)
    print("-" * (sum(WIDTHS) + 2 * (len(WIDTHS) - 1)))
    cases = {}
    for name in chosen:
        X, y, is_classification = data[name]
        for solver in args.solvers:
            for activation in args.activations:
                case = run_case(X, y, is_classification, solver, activation, repeats)
                cases[f"{name}/{solver}/{activation}"] = case
                print_row(row_cells(name, solver, activation, case), WIDTHS)

    meta["glassnet_source_at_end"] = source_fingerprint()
    meta["total_seconds"] = time.perf_counter() - started
    values = list(cases.values())
    within = sum(c["max_abs_diff"] <= TOLERANCE for c in values)
    matched = sum(c["match"] for c in values)
    same_iter = sum(c["same_n_iter"] for c in values)
    ratios = [c["speedup"] for c in values]
    summary = {
        "cases": len(values), "within_tolerance": within, "same_n_iter": same_iter,
        "match": matched,
        "speedup_median": statistics.median(ratios), "speedup_min": min(ratios),
        "speedup_max": max(ratios),
        "speedup_median_by_solver": {
            s: statistics.median(c["speedup"] for c in values if c["params"]["solver"] == s)
            for s in args.solvers},
        "not_matching": {k: {"max_abs_diff": c["max_abs_diff"], "n_iter": c["n_iter"]}
                         for k, c in cases.items() if not c["match"]},
        "not_deterministic": [k for k, c in cases.items() if not all(c["deterministic"].values())],
    }
    print("\nmax |diff|: over every coefs_ and intercepts_ entry; loss rel diff: along "
          "loss_curve_ ('L': of loss_, lbfgs keeps no curve; '(len)': curves of other lengths); "
          f"ok: max |diff| <= {TOLERANCE:g} and the same n_iter_; glassnet fitted in "
          f"{', '.join(sorted({c['glassnet_dtype'] for c in values}))}")
    print("speed-up sk/gn by solver (median): " + ", ".join(
        f"{s} {v:.2f}" for s, v in summary["speedup_median_by_solver"].items()))
    if summary["not_deterministic"]:
        print("rounds that gave other weights: " + ", ".join(summary["not_deterministic"]))
    if meta["glassnet_source_at_end"] != source:
        meta["note"] = "glassnet's source files changed during the run"
        print(f"WARNING: {meta['note']}")
    background = [c["background_cpus"] for c in values if c["background_cpus"] is not None]
    if background:
        print(f"load    : {run.describe_background(max(background))} (the busiest case)")
    print(f"\n=== {within} of {len(values)} cases within {TOLERANCE:g} "
          f"({matched} with the same n_iter_ too); speed-up scikit-learn / glassnet: "
          f"median {summary['speedup_median']:.2f}, min {summary['speedup_min']:.2f}, "
          f"max {summary['speedup_max']:.2f}; {meta['total_seconds']:.0f} s ===")
    path = Path(args.json)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"meta": meta, "summary": summary, "cases": cases}, indent=1,
                               default=run._json_default) + "\n")
    print(f"results written to {path}")


if __name__ == "__main__":
    main()
