"""Sparse input (issue 18): fit time and accuracy on TF-IDF text, and the memory of a fit on a
large sparse matrix, against scikit-learn.

(a) text   A corpus this script writes itself (no download): documents of 8 topics, each
           word drawn from the topic's own Zipf distribution over the vocabulary or from a
           shared background Zipf distribution, lengths log-normal; TF-IDF
           (``sklearn.feature_extraction.text.TfidfVectorizer``) of the training documents,
           a CSR matrix of tens of thousands of columns. Systems, same settings (hidden
           (100,), Adam at 1e-3, batches of 200, alpha 1e-4, a fixed ``max_iter``, seeded):
           ``glassnet.MLPClassifier``, ``sklearn.neural_network.MLPClassifier``, and the
           core under the estimator, ``glassnet.fit`` on ``glassnet.MLP`` (also with SciPy's
           public sparse product instead of its kernels: ``_blas.SPARSE_ENABLED = False``).
           Plain SGD (lr 0.5) through ``glassnet.fit``: the fused step, which steps the first
           layer inside its sparse product, against the separate step (backward, then
           ``optimizer.step``). Each system fits once per round, round-robin, after a
           warm-up round; the table gives the median seconds and, paired per round, the
           ratio to scikit-learn's estimator; test accuracy on held-out documents.
(b) memory A 100,000 x 50,000 float64 CSR matrix with 0.1 % non-zeros (5 million values;
           as a dense array it would be 40 GB), one epoch of Adam, hidden layer of 32, each
           system in a fresh process: the peak of ``tracemalloc`` during the fit (NumPy and
           SciPy report their arrays to it) and the growth of the process's peak resident
           memory (Linux's ``VmHWM``, reset once the data exists; ``ru_maxrss`` elsewhere)
           over its value then, both as a multiple of the data's bytes (``data + indices +
           indptr``), next to the weights' bytes: what stays is the model's state (weights,
           gradients, Adam's moments, the divergence guard's copy), not the data's.

Run:  python benchmarks/sparse.py [--quick] [--repeats 5] [--docs 6000] [--max-iter 10]
      [--parts text,memory] [--json benchmarks/results/sparse.json]
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import resource
import statistics
import sys
import time
import tracemalloc
import warnings
from multiprocessing import get_context
from pathlib import Path

import numpy as np
import scipy.sparse as sp

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "src"))  # the working tree's package, not an installed copy
sys.path.insert(0, str(REPO / "benchmarks"))
import glassnet  # noqa: E402
from glassnet import _blas, optim  # noqa: E402
from run import (BackgroundMeter, _json_default, blas_info, cpu_name,  # noqa: E402
                 describe_background, git_state, paired, print_table, timeit_alternating)

TOPICS, VOCABULARY = 8, 60_000
HIDDEN, ALPHA, LR, BATCH = 100, 1e-4, 1e-3, 200


# -- (a) text ------------------------------------------------------------------------------
def zipf(n: int, s: float, shift: float = 2.7) -> np.ndarray:
    """Zipf-Mandelbrot probabilities of ranks 1..n: ``p(r) ~ 1 / (r + shift)^s``."""
    p = 1.0 / (np.arange(1, n + 1) + shift) ** s
    return p / p.sum()


def corpus(n_docs: int, seed: int = 0) -> tuple[list[str], np.ndarray]:
    """``n_docs`` documents (words ``w<id>``) and their topics. A word comes from the
    document's topic with probability 0.1, else from the background: the background is one
    Zipf law over a ranking of the whole vocabulary, a topic a Zipf law over its own ranking
    of 3,000 words drawn from a pool of 4,000 that all topics share (so that topics overlap
    and the task is not trivial: about 92 % test accuracy)."""
    rng = np.random.default_rng(seed)
    background = (rng.permutation(VOCABULARY), zipf(VOCABULARY, 1.05))
    pool = rng.permutation(VOCABULARY)[:4000]
    topics = [(rng.permutation(pool)[:3000], zipf(3000, 0.9)) for _ in range(TOPICS)]
    labels = rng.integers(0, TOPICS, n_docs)
    lengths = np.clip(rng.lognormal(np.log(120), 0.6, n_docs).astype(int), 10, 1000)
    docs = []
    for label, length in zip(labels, lengths):
        from_topic = rng.random(length) < 0.1
        words, p = topics[label]
        ids = np.where(from_topic, words[rng.choice(len(words), length, p=p)],
                       background[0][rng.choice(VOCABULARY, length, p=background[1])])
        docs.append(" ".join(f"w{i}" for i in ids))
    return docs, labels


def text_systems(X, y, max_iter: int, seed: int = 0) -> dict:
    """``{name: (fit, predict)}``: ``fit()`` trains from scratch, ``predict(X)`` labels."""
    from sklearn.neural_network import MLPClassifier as SkMLP
    settings = dict(hidden_layer_sizes=(HIDDEN,), solver="adam", alpha=ALPHA,
                    learning_rate_init=LR, batch_size=BATCH, max_iter=max_iter,
                    random_state=seed)
    fitted: dict = {}

    def estimator(name, cls):
        def fit():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # max_iter reached: a ConvergenceWarning
                fitted[name] = cls(**settings).fit(X, y)
        return fit, lambda Z: fitted[name].predict(Z)

    def core(name, make_optimizer, kernels=True, separate=False):
        def fit():
            model = glassnet.MLP([X.shape[1], HIDDEN, TOPICS], dtype="float64", seed=seed)
            # any on_batch_end hook makes step_kernel take the separate step
            callbacks = [glassnet.callbacks.LambdaCallback(on_batch_end=lambda s: None)
                         ] if separate else []
            _blas.SPARSE_ENABLED = kernels
            try:
                glassnet.fit(model, X, y, optimizer=make_optimizer(), epochs=max_iter,
                             batch_size=BATCH, l2=ALPHA, l2_per_sample=True, seed=seed,
                             callbacks=callbacks)
            finally:
                _blas.SPARSE_ENABLED = True
            fitted[name] = model
        return fit, lambda Z: fitted[name].predict(Z).argmax(axis=1)

    return {
        "sklearn MLPClassifier": estimator("sklearn MLPClassifier", SkMLP),
        "glassnet.MLPClassifier": estimator("glassnet.MLPClassifier", glassnet.MLPClassifier),
        "glassnet.fit, Adam": core("glassnet.fit, Adam", lambda: optim.Adam(lr=LR)),
        "glassnet.fit, Adam, SciPy's product": core("glassnet.fit, Adam, SciPy's product",
                                                    lambda: optim.Adam(lr=LR), kernels=False),
        "glassnet.fit, SGD, fused step": core("glassnet.fit, SGD, fused step",
                                              lambda: optim.SGD(lr=0.5)),
        "glassnet.fit, SGD, separate step": core("glassnet.fit, SGD, separate step",
                                                 lambda: optim.SGD(lr=0.5), separate=True),
    }


def part_text(args) -> dict:
    from sklearn.feature_extraction.text import TfidfVectorizer
    started = time.perf_counter()
    docs, labels = corpus(args.docs)
    n_train = int(0.75 * len(docs))
    vectorizer = TfidfVectorizer()
    X_train = vectorizer.fit_transform(docs[:n_train])
    X_test = vectorizer.transform(docs[n_train:])
    y_train, y_test = labels[:n_train], labels[n_train:]
    data = {"documents": len(docs), "train": n_train, "test": len(docs) - n_train,
            "vocabulary": X_train.shape[1], "nnz_train": int(X_train.nnz),
            "density": X_train.nnz / np.prod(X_train.shape), "format": X_train.format,
            "dtype": str(X_train.dtype), "corpus_seconds": time.perf_counter() - started}
    print(f"\n(a) text: {data['documents']:,} documents of {TOPICS} topics, TF-IDF "
          f"{n_train:,} x {data['vocabulary']:,} CSR, {data['nnz_train']:,} non-zeros "
          f"({100 * data['density']:.2f} %); hidden ({HIDDEN},), batch {BATCH}, alpha {ALPHA}, "
          f"max_iter {args.max_iter}; {args.repeats} rounds")
    systems = text_systems(X_train, y_train, args.max_iter)
    record: dict = {}
    meter = BackgroundMeter().start()
    timeit_alternating({name: fit for name, (fit, _) in systems.items()}, args.repeats,
                       record=record)
    background = meter.stop()
    reference = "sklearn MLPClassifier"
    rows, results = [], {}
    for name, (_, predict) in systems.items():
        accuracy = float(np.mean(predict(X_test) == y_test))
        results[name] = {"seconds": record[name], "median_s": statistics.median(record[name]),
                         "vs_sklearn_paired": paired(record, name, reference),
                         "test_accuracy": accuracy}
        rows.append([name, results[name]["median_s"], min(record[name]),
                     results[name]["vs_sklearn_paired"], f"{100 * accuracy:.1f} %"])
    print_table("fit seconds (median, best), paired ratio to scikit-learn's time, test accuracy",
                ["system", "median s", "best s", "x sklearn", "test acc"], rows)
    print(f"({describe_background(background)})")
    return {"data": data, "systems": results, "background_cpus": background}


# -- (b) memory ----------------------------------------------------------------------------
def random_csr(n: int, d: int, density: float, seed: int = 0) -> sp.csr_matrix:
    """A random float64 CSR matrix built from its three arrays (no temporary larger than
    them, so the process's peak memory afterwards is the data's)."""
    rng = np.random.default_rng(seed)
    counts = rng.binomial(d, density, size=n)
    indptr = np.zeros(n + 1, dtype=np.int32)
    np.cumsum(counts, out=indptr[1:])
    nnz = int(indptr[-1])
    indices = rng.integers(0, d, nnz, dtype=np.int32)
    return sp.csr_matrix((rng.standard_normal(nnz), indices, indptr), shape=(n, d))


def peak_rss(reset: bool = False) -> int:
    """The process's peak resident memory in bytes: Linux's ``VmHWM``, which writing 5 to
    ``/proc/self/clear_refs`` resets to the current resident memory (``ru_maxrss`` cannot be
    reset, and a spawned process inherits its parent's across ``exec``); elsewhere
    ``ru_maxrss``."""
    try:
        if reset:
            with open("/proc/self/clear_refs", "w") as f:
                f.write("5")
        with open("/proc/self/status") as f:
            fields = dict(line.split(":", 1) for line in f)
        return int(fields["VmHWM"].split()[0]) * 1024  # kB
    except (OSError, KeyError, ValueError):
        scale = 1 if sys.platform == "darwin" else 1024  # bytes on macOS, KiB on Linux
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale


def one_epoch(system: str, X, y, hidden: int) -> None:
    """One epoch of Adam (1e-3, batches of 200, alpha 1e-4) by ``system``."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # one epoch: a ConvergenceWarning
        if system == "glassnet.fit":
            model = glassnet.MLP([X.shape[1], hidden, 2], dtype="float64", seed=0)
            glassnet.fit(model, X, y, optimizer=optim.Adam(lr=LR), epochs=1, batch_size=BATCH,
                         l2=ALPHA, l2_per_sample=True, seed=0)
            return
        if system == "glassnet.MLPClassifier":
            cls = glassnet.MLPClassifier
        else:
            from sklearn.neural_network import MLPClassifier as cls
        cls(hidden_layer_sizes=(hidden,), max_iter=1, batch_size=BATCH, alpha=ALPHA,
            learning_rate_init=LR, random_state=0).fit(X, y)


def memory_child(system: str, n: int, d: int, density: float, hidden: int) -> dict:
    """In a fresh process: build the data, warm up (the lazy imports: scikit-learn's), then
    fit one epoch under ``tracemalloc``."""
    X = random_csr(n, d, density)
    y = (X @ np.random.default_rng(1).standard_normal(d) > 0).astype(int)
    data_bytes = X.data.nbytes + X.indices.nbytes + X.indptr.nbytes
    one_epoch(system, X[:2 * BATCH, :100], y[:2 * BATCH], hidden)  # two batches, untraced
    base_rss = peak_rss(reset=True)
    tracemalloc.start()
    started = time.perf_counter()
    one_epoch(system, X, y, hidden)
    seconds = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    rss_growth = peak_rss() - base_rss
    return {"data_bytes": data_bytes, "nnz": int(X.nnz), "traced_peak": peak,
            "rss_growth": rss_growth, "seconds": seconds,
            "weights_bytes": 8 * (d * hidden + hidden + 2 * hidden + 2)}


def part_memory(args) -> dict:
    n, d, density, hidden = args.memory_shape
    print(f"\n(b) memory: one epoch on a {n:,} x {d:,} float64 CSR matrix, {100 * density:g} % "
          f"non-zeros (dense: {8 * n * d / 1e9:.0f} GB), hidden {hidden}, Adam, batch {BATCH}; "
          f"each system in a fresh process")
    results, rows = {}, []
    with get_context("spawn").Pool(1, maxtasksperchild=1) as pool:
        for system in ("glassnet.fit", "glassnet.MLPClassifier", "sklearn MLPClassifier"):
            got = pool.apply(memory_child, (system, n, d, density, hidden))
            results[system] = got
            rows.append([system, got["data_bytes"] / 2**20, got["traced_peak"] / 2**20,
                         got["traced_peak"] / got["data_bytes"],
                         got["traced_peak"] / got["weights_bytes"], got["rss_growth"] / 2**20,
                         got["rss_growth"] / got["data_bytes"], got["seconds"]])
    weights = next(iter(results.values()))["weights_bytes"]
    print_table(f"peak memory of the fit, over what the process held once the data existed "
                f"(the weights: {weights / 2**20:.1f} MiB)",
                ["system", "data MiB", "traced MiB", "x data", "x weights", "RSS growth MiB",
                 "x data", "fit s"], rows)
    return {"shape": [n, d], "density": density, "hidden": hidden, "systems": results}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="2,000 documents, 3 rounds, max_iter 5, a 20,000 x 50,000 matrix")
    parser.add_argument("--repeats", type=int, default=None, help="timed rounds (default 5)")
    parser.add_argument("--docs", type=int, default=None, help="documents (default 6,000)")
    parser.add_argument("--max-iter", type=int, default=None, help="epochs (default 10)")
    parser.add_argument("--parts", default="text,memory", help="text, memory or both")
    parser.add_argument("--json", default=str(REPO / "benchmarks" / "results" / "sparse.json"))
    args = parser.parse_args()
    quick = args.quick
    args.repeats = args.repeats or (3 if quick else 5)
    args.docs = args.docs or (2_000 if quick else 6_000)
    args.max_iter = args.max_iter or (5 if quick else 10)
    args.memory_shape = (20_000 if quick else 100_000, 50_000, 0.001, 32)
    parts = [p.strip() for p in args.parts.split(",") if p.strip()]
    if not parts or set(parts) - {"text", "memory"}:
        parser.error(f"--parts takes text, memory or both, got {args.parts!r}")

    import sklearn
    import scipy
    _, threads, blas_text = blas_info()
    meta = {"date": datetime.datetime.now().isoformat(timespec="seconds"),
            "platform": platform.platform(), "cpu": cpu_name(), "cpu_count": os.cpu_count(),
            "versions": {"python": platform.python_version(), "numpy": np.__version__,
                         "scipy": scipy.__version__, "scikit-learn": sklearn.__version__,
                         "glassnet": glassnet.__version__},
            "glassnet_git": git_state(), "blas": blas_text, "threads": threads,
            "quick": quick, "repeats": args.repeats, "max_iter": args.max_iter}
    print("glassnet sparse benchmark" + (" (--quick)" if quick else ""))
    print(f"machine : {meta['platform']}, {meta['cpu']}, {meta['cpu_count']} CPUs")
    print("versions: " + ", ".join(f"{k} {v}" for k, v in meta["versions"].items())
          + f" (git {(meta['glassnet_git']['commit'] or '?')[:10]}"
          + f"{', src modified' if meta['glassnet_git']['src_modified'] else ''})")
    print(f"BLAS    : {blas_text}")
    results = {"meta": meta}
    if "text" in parts:
        results["text"] = part_text(args)
    if "memory" in parts:
        results["memory"] = part_memory(args)
    path = Path(args.json)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=1, default=_json_default) + "\n")
    print(f"\nresults written to {path}")


if __name__ == "__main__":
    main()
