"""The accelerator's kernels (extra ``glassnet[fast]``): each optimizer's update as one loop
over the flat parameters, one pass over memory instead of NumPy's several.

The loops run on one core. Split across the cores (``parallel=True``, ``prange``), a kernel
fights OpenBLAS's threads, which spin between the products: on 2 cores an Adam step of the
MNIST-shaped network right after a product took 8.0-8.4 ms instead of about 0.5 ms with
OpenMP's default waiting. ``OMP_WAIT_POLICY=PASSIVE`` avoids that, but it is a setting of the
whole process (torch's OpenMP reads it too), not glassnet's to change
(``python benchmarks/accelerator.py``).

Each loop states, element by element, the formula its optimizer's NumPy code computes in
passes over whole arrays (``optim/sgd.py``, ``adam.py``, ``rmsprop.py``, ``adagrad.py``): the
same operations in the same order, so that float64 agrees to rounding. The scalars arrive as
float64 and each element is computed in float64, then stored in the array's dtype.

This module imports numba; ``glassnet.accelerate`` imports it on first use. Compiling is lazy
(the first call of each kernel for a dtype) and cached on disk (``cache=True``).
"""

from __future__ import annotations

import math

from numba import njit

__all__ = ["sgd", "adam", "rmsprop", "adagrad"]

_JIT = dict(cache=True, nogil=True, error_model="numpy")  # one core (see above); NumPy's
# division semantics (x / 0 is inf or NaN, as in the NumPy path), which also lets the loops vectorise


@njit(**_JIT)
def sgd(p, g, b, lr, weight_decay, momentum, dampening, nesterov, first):
    """``torch.optim.SGD``'s step (``b`` is the momentum buffer, unused without momentum)::

        g = g + weight_decay * p
        b = g if first else momentum * b + (1 - dampening) * g
        g = g + momentum * b if nesterov else b
        p = p - lr * g
    """
    for i in range(p.size):
        gi = g[i] + weight_decay * p[i]
        if momentum != 0.0:
            bi = gi if first else momentum * b[i] + (1.0 - dampening) * gi
            b[i] = bi
            gi = gi + momentum * b[i] if nesterov else b[i]
        p[i] = p[i] - lr * gi


@njit(**_JIT)
def adam(p, g, m, v, v_max, step, beta1, beta2, eps_term, weight_decay, shrink, amsgrad):
    """Adam's step as ``optim.Adam._update`` takes it::

        g = g + weight_decay * p                  # (AdamW: weight_decay = 0, shrink < 1)
        p = shrink * p
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g * g
        v = v_max = maximum(v_max, v)             # amsgrad only
        p = p - step * m / (sqrt(v) + eps_term)   # step = lr sqrt(1 - beta2^t) / (1 - beta1^t)
    """
    for i in range(p.size):
        gi = g[i] + weight_decay * p[i]
        if shrink != 1.0:
            p[i] = shrink * p[i]
        m[i] = beta1 * m[i] + (1.0 - beta1) * gi
        v[i] = beta2 * v[i] + (1.0 - beta2) * (gi * gi)
        vi = v[i]
        if amsgrad:
            v_max[i] = max(v_max[i], vi)
            vi = v_max[i]
        p[i] = p[i] - step * (m[i] / (math.sqrt(vi) + eps_term))


@njit(**_JIT)
def rmsprop(p, g, v, g_avg, b, lr, alpha, eps, weight_decay, momentum, centered):
    """``torch.optim.RMSprop``'s step::

        g = g + weight_decay * p
        v = alpha * v + (1 - alpha) * g * g
        g_avg = g_avg + (1 - alpha) * (g - g_avg)            # centered only
        avg = sqrt(v - g_avg * g_avg) + eps   (centered)  or  sqrt(v) + eps
        b = momentum * b + g / avg;  p = p - lr * b           # momentum > 0
        p = p - lr * g / avg                                  # otherwise
    """
    for i in range(p.size):
        gi = g[i] + weight_decay * p[i]
        v[i] = alpha * v[i] + (1.0 - alpha) * (gi * gi)
        if centered:
            g_avg[i] = g_avg[i] + (1.0 - alpha) * (gi - g_avg[i])
            avg = math.sqrt(v[i] - g_avg[i] * g_avg[i]) + eps
        else:
            avg = math.sqrt(v[i]) + eps
        if momentum > 0.0:
            b[i] = momentum * b[i] + gi / avg
            p[i] = p[i] - lr * b[i]
        else:
            p[i] = p[i] - lr * (gi / avg)


@njit(**_JIT)
def adagrad(p, g, s, clr, eps, weight_decay):
    """``torch.optim.Adagrad``'s step (``clr = lr / (1 + (t - 1) * lr_decay)``)::

        g = g + weight_decay * p
        s = s + g * g
        p = p - clr * g / (sqrt(s) + eps)
    """
    for i in range(p.size):
        gi = g[i] + weight_decay * p[i]
        s[i] = s[i] + gi * gi
        p[i] = p[i] - clr * (gi / (math.sqrt(s[i]) + eps))
