"""Built-in data sets: ``X`` of shape ``(n_samples, n_features)`` and ``y``.

``xor()`` is the notebook's truth table. ``builtin(name)`` gives the data sets that
``glassnet train`` knows by name, with column names:

- generated, from ``rows``, ``noise`` and ``seed``: ``xor`` (the four corners of the truth
  table in turn, each point moved by Gaussian noise of standard deviation ``noise``),
  ``spirals`` (two interleaved spirals, one a class), ``moons`` and ``circles`` (scikit-learn's
  ``make_moons`` and ``make_circles``, the inner circle half the outer's radius);
- scikit-learn's bundled sets: ``iris``, ``wine``, ``breast_cancer`` and ``digits``
  (classification; the first three with their class names as labels) and ``diabetes``
  (regression).
"""

from __future__ import annotations

import numpy as np

__all__ = ["xor", "builtin", "GENERATED", "BUNDLED", "NAMES"]

GENERATED = {"xor": (200, 0.1), "spirals": (400, 0.2), "moons": (400, 0.2),
             "circles": (400, 0.1)}  # name -> (rows, noise) by default
BUNDLED = {"iris": "species", "wine": "cultivar", "breast_cancer": "diagnosis",
           "digits": "digit", "diabetes": "progression"}  # name -> the target's column name
NAMES = (*GENERATED, *BUNDLED)


def xor() -> tuple[np.ndarray, np.ndarray]:
    """The XOR truth table, as in the notebook: 4 float32 points, label ``x0 != x1``."""
    X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float32)
    y = np.array([0, 1, 1, 0])
    return X, y


def _spirals(rows: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Point ``i`` of class ``k`` at radius ``t`` and angle ``3 pi t + k pi``, ``t`` uniform
    in (0, 1], plus noise scaled by the radius."""
    y = np.arange(rows) % 2
    t = rng.uniform(0.0, 1.0, rows) ** 0.5 + 1e-3
    angle = 3 * np.pi * t + np.pi * y
    X = np.column_stack([t * np.cos(angle), t * np.sin(angle)])
    return X + noise * t[:, None] * rng.standard_normal((rows, 2)), y


def builtin(name: str, rows: int | None = None, noise: float | None = None,
            seed: int = 0) -> tuple[np.ndarray, np.ndarray, list[str], str]:
    """The data set ``name`` as ``(X, y, feature_names, target_name)``.

    Parameters
    ----------
    name : str
        One of ``NAMES``.
    rows, noise : int and float, optional
        For the generated sets only (defaults in ``GENERATED``); ValueError for the others.
    seed : int
        The generated sets' seed.

    Raises
    ------
    ValueError
        An unknown name, or ``rows``/``noise`` for a bundled set.
    ImportError
        moons, circles and the bundled sets need scikit-learn (``glassnet[cli]``).
    """
    if name not in NAMES:
        raise ValueError(f"unknown data set {name!r}: the built-in ones are "
                         f"{', '.join(NAMES)}")
    if name in BUNDLED:
        if rows is not None or noise is not None:
            raise ValueError(f"{name} is scikit-learn's data set as it is: --rows and --noise "
                             f"are for the generated ones ({', '.join(GENERATED)})")
        return _bundled(name)
    rows = GENERATED[name][0] if rows is None else rows
    noise = GENERATED[name][1] if noise is None else noise
    rng = np.random.default_rng(seed)
    if name == "xor":
        corners, y = xor()
        X = corners[np.arange(rows) % 4].astype(np.float64)
        y = y[np.arange(rows) % 4]
        X += noise * rng.standard_normal(X.shape)
    elif name == "spirals":
        X, y = _spirals(rows, noise, rng)
    else:
        datasets = _sklearn_datasets()
        make = datasets.make_moons if name == "moons" else datasets.make_circles
        extra = {} if name == "moons" else {"factor": 0.5}
        X, y = make(n_samples=rows, noise=noise, random_state=seed % 2**32, **extra)
    return X, y, ["x0", "x1"], "label"


def _sklearn_datasets():
    try:
        from sklearn import datasets
    except ImportError:
        raise ImportError("this data set comes from scikit-learn: pip install "
                          "'glassnet[cli]'") from None
    return datasets


def _bundled(name: str) -> tuple[np.ndarray, np.ndarray, list[str], str]:
    bunch = getattr(_sklearn_datasets(), f"load_{name}")()
    y = bunch.target
    if name in ("iris", "wine", "breast_cancer"):
        y = np.asarray(bunch.target_names)[y].astype(object)
    names = [str(n) for n in bunch.feature_names] if hasattr(bunch, "feature_names") and \
        bunch.feature_names is not None else [f"x{i}" for i in range(bunch.data.shape[1])]
    return bunch.data, y, names, BUNDLED[name]
