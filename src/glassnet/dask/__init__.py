"""glassnet on a Dask cluster (extra ``glassnet[dask]``): data-parallel training with the data
on the workers.

``glassnet.dask.fit(model, X, y, client=None, **fit_kwargs)`` is ``glassnet.fit`` with ``X``
and ``y`` as Dask collections that stay on the workers in their chunks: each step, the
workers that hold rows of the global mini-batch send their summed gradient, the client adds
them and takes the optimizer's step. The result is ``glassnet.fit``'s on the same data in
memory, whatever the number of workers and the chunking.

  _fit.py      fit: the data as dask arrays, the checks, the run chosen and started
  _runs.py     the runs: glassnet.fit's own loop, each batch's gradient from the workers
               (all rows held, or streamed a window of chunks at a time)
  _cluster.py  the rows placed on the workers, one Shard each; a step's exchange, profiled
  _shard.py    Shard: a worker's rows and a replica of the network (a Dask actor)
"""

from __future__ import annotations

try:
    import distributed  # noqa: F401  (the cluster's client and actors)
except ImportError:  # pragma: no cover - depends on the environment
    raise ImportError("glassnet.dask needs Dask's distributed scheduler: pip install "
                      "'glassnet[dask]'") from None

from ._cluster import WorkerLostError
from ._fit import fit

__all__ = ["fit", "WorkerLostError"]
