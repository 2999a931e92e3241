"""Small built-in data sets: ``X`` of shape ``(n_samples, n_features)``, ``y`` of int labels."""

from __future__ import annotations

import numpy as np

__all__ = ["xor"]


def xor() -> tuple[np.ndarray, np.ndarray]:
    """The XOR truth table, as in the notebook: 4 float32 points, label ``x0 != x1``."""
    X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float32)
    y = np.array([0, 1, 1, 0])
    return X, y
