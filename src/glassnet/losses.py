"""Losses on logits: per-sample value ``l_i`` beside its gradient ``dl_i / dz_i``.

The model outputs raw scores ``z`` of shape ``(n_samples, n_outputs)``. Softmax and sigmoid are
fused into their cross-entropies, so the gradient is simply ``p - y`` and nothing overflows.

The total loss is the (weighted) mean over samples,

    L = sum_i w_i * l_i / sum_i w_i        (w_i = 1 without sample weights),

and ``dL/dz_i = w_i / sum(w) * dl_i/dz_i``; the ``1/n`` of the mean lives here, not in the
layers. Per-sample values average over outputs for the elementwise losses (binary
cross-entropy, mse, mae, huber, poisson), which matches PyTorch's ``reduction='mean'``;
``binary_cross_entropy_sum`` sums them (scikit-learn's multilabel loss) and ``squared_error``
is half of ``mse`` (scikit-learn's regression loss).
"""

from __future__ import annotations


import numpy as np

from ._checks import DataConversionWarning, Registry, resolve, warn
from .numerics import log_softmax, logsumexp, sigmoid, softmax, softplus

__all__ = ["LOSSES", "get_loss", "Loss", "CrossEntropy", "BinaryCrossEntropy", "SummedBinaryCrossEntropy",
           "MSE", "SquaredError", "MAE", "Huber", "Poisson", "SummedPoisson"]


class Loss:
    """Base class. Subclasses define ``forward(z, y) -> l`` and ``backward(z, y) -> dl/dz``."""

    name = ""
    kinks: tuple[float, ...] = ()  # residuals z - y where the loss is not smooth

    def prepare_targets(self, y: np.ndarray, n_outputs: int, dtype, name: str = "y"
                        ) -> np.ndarray:
        """Validate ``y`` for ``n_outputs`` outputs; return it as ``(n_samples, n_outputs)``.
        ``name``: the caller's name for the targets, in the errors."""
        if y.ndim == 1:
            if n_outputs != 1:
                raise ValueError(
                    f"{name} is 1-D but the network has {n_outputs} outputs; "
                    f"pass {name} of shape (n_samples, {n_outputs})")
            y = y.reshape(-1, 1)
        if y.shape[1] != n_outputs:
            raise ValueError(f"{name} has {y.shape[1]} columns but the network has {n_outputs} "
                             "outputs")
        return y.astype(dtype, copy=False)

    def output(self, z: np.ndarray) -> np.ndarray:
        """The prediction, in the targets' units, from the model's output ``z``: ``z`` itself
        but for a loss with a link (``Poisson``: ``exp(z)``). Regression metrics use it."""
        return z

    def forward(self, z: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Per-sample losses ``l``, shape ``(n_samples,)``."""
        raise NotImplementedError

    def backward(self, z: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Per-sample gradients ``dl_i/dz_i``, shape ``(n_samples, n_outputs)``."""
        raise NotImplementedError

    def value(self, z: np.ndarray, y: np.ndarray, sample_weight: np.ndarray | None = None) -> float:
        """``L = sum(w * l) / sum(w)``, the mean when ``sample_weight`` is None."""
        y = self.prepare_targets(np.asarray(y), z.shape[1], z.dtype)
        with np.errstate(**_SILENT):
            losses = self.forward(z, y)
            if sample_weight is None:
                return float(np.add.reduce(losses, dtype=np.float64)) / len(z)
            return float(np.dot(sample_weight, losses) / np.sum(sample_weight))

    def forward_backward(self, z: np.ndarray, y: np.ndarray, scale: float | np.ndarray = 1.0
                         ) -> tuple[np.ndarray, np.ndarray]:
        """``(l, c * dl/dz)`` per sample, ``c = scale``: one number, or one factor per sample
        (shape ``(n_samples,)``). A subclass may compute both from shared work."""
        return self.forward(z, y), _times(self.backward(z, y), scale)

    def value_and_grad(self, z: np.ndarray, y: np.ndarray,
                       sample_weight: np.ndarray | None = None) -> tuple[float, np.ndarray]:
        """``(L, dL/dz)`` with ``dL/dz_i = w_i / sum(w) * dl_i/dz_i``; ``y`` is checked first
        (``prepare_targets``: a label out of range is a ValueError naming its row)."""
        y = self.prepare_targets(np.asarray(y), z.shape[1], z.dtype)
        with np.errstate(**_SILENT):
            value, grad = self._value_and_grad(z, y, sample_weight)
        return value, np.ascontiguousarray(grad)  # C order, whatever the work array was

    def _value_and_grad(self, z, y, sample_weight=None):
        """``value_and_grad`` on targets that ``prepare_targets`` returned, for callers already
        under ``np.errstate(under="ignore")``: the training loop validates once per fit and
        enters that once per epoch, instead of once per batch."""
        if sample_weight is None:  # dL/dz_i = dl_i/dz_i / n: the 1/n of the mean
            losses, grad = self.forward_backward(z, y, 1.0 / len(z))
            return float(np.add.reduce(losses, dtype=np.float64)) / len(z), grad
        w = sample_weight / np.sum(sample_weight)  # dL/dz_i = w_i / sum(w) * dl_i/dz_i
        losses, grad = self.forward_backward(z, y, w.astype(z.dtype))
        return float(np.dot(w, losses)), grad

    def kink_pattern(self, z: np.ndarray, y: np.ndarray) -> list[np.ndarray]:
        """On which side of each kink every residual ``z - y`` lies (see ``gradcheck``)."""
        return [(z - y) > k for k in self.kinks]

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


# The public ``value`` and ``value_and_grad`` are silent for every finite z: a tiny
# probability rounds to 0 (underflow), and a loss or gradient whose exact value is beyond the
# dtype's range (a residual of 1e200 squared, exp(1e4)) is inf, as IEEE rounding gives it
# (overflow). Neither is an error; a NaN would be, and none can arise ("invalid" still raises).
_SILENT = {"under": "ignore", "over": "ignore"}


def _times(grad: np.ndarray, scale: float | np.ndarray, factor: float = 1.0) -> np.ndarray:
    """``grad *= factor * scale`` in place, one pass; ``scale`` is a number or one factor per
    sample (row)."""
    if np.ndim(scale):
        grad *= (factor * scale)[:, None]
    elif factor * scale != 1.0:
        grad *= factor * scale
    return grad


class CrossEntropy(Loss):
    """Softmax cross-entropy: ``l = -sum_k y_k log softmax(z)_k``; ``dl/dz = softmax(z) - y``.

    Targets are int labels ``(n_samples,)`` in ``[0, n_outputs)`` or one-hot / probability rows
    ``(n_samples, n_outputs)``. For a label ``c``: ``l = logsumexp(z) - z_c``.
    """

    name = "cross_entropy"

    def prepare_targets(self, y, n_outputs, dtype, name="y"):
        if y.ndim == 2 and y.shape[1] == 1 and n_outputs > 1:  # labels as a column
            warn(f"{name} is a column of shape {y.shape} where class labels of shape "
                 f"({len(y)},) were expected: it is raveled (scikit-learn's rule); "
                 f"pass {name}.ravel() to silence this warning", DataConversionWarning)
            y = y.ravel()
        if y.ndim == 1:
            if y.dtype.kind == "f":
                if not np.all(y == np.round(y)):
                    row = int(np.flatnonzero(y != np.round(y))[0])
                    raise ValueError(f"{name} must hold integer class labels; got "
                                     f"{y[row].item()!r} at row {row}")
                in_range = not y.size or (y.min() >= 0 and y.max() < n_outputs)  # before a cast
                labels = None
            elif y.dtype.kind in "iub":  # seen as unsigned, a negative label is a huge one
                labels = y.astype(np.intp, copy=False)
                in_range = not y.size or np.maximum.reduce(labels.view(np.uintp)) < n_outputs
            else:
                raise ValueError(f"{name} must hold integer class labels, got an array of "
                                 f"dtype {y.dtype}")
            if not in_range:
                bad = np.flatnonzero((y < 0) | (y >= n_outputs))
                raise ValueError(
                    f"{name} has a label out of range: {y[bad[0]].item()!r} at row {bad[0]}; "
                    f"the network has {n_outputs} outputs, so labels must be in "
                    f"0..{n_outputs - 1}")
            return y.astype(np.intp) if labels is None else labels
        y = super().prepare_targets(y, n_outputs, dtype, name)
        if np.any(y < 0) or not np.allclose(y.sum(axis=1), 1.0, atol=1e-6):
            raise ValueError(f"one-hot {name} must have non-negative rows that sum to 1")
        return y

    def forward(self, z, y):
        if y.ndim == 1:  # l = logsumexp(z) - z_c, shifted by max(z) for precision
            t = z - np.max(z, axis=1, keepdims=True)
            return logsumexp(t, axis=1) - t[np.arange(len(z)), y]
        return -_dot_rows(y, log_softmax(z))

    def backward(self, z, y):
        p = softmax(z)
        if y.ndim == 1:
            p[np.arange(len(z)), y] -= 1.0  # p - onehot(y)
            return p
        return p - y

    def forward_backward(self, z, y, scale=1.0):
        """The training hot path: losses and gradients from one softmax.

        With ``t = z - max(z)``, ``e = exp(t)``, ``s = sum(e)`` and rows of ``y`` summing to 1:
        ``l = log(s) - sum(y * t)`` (= logsumexp(z) - z_c for a label c) and
        ``c * dl/dz = e * (c / s) - c * y``, all computed in place in one new array.

        The work array is ``z`` transposed, ``(n_outputs, n_samples)``: NumPy reduces over
        the first axis of a C-ordered array with whole SIMD rows, but over the last axis
        (a few classes per sample) one sample at a time, about 4x slower at 10 classes.
        The gradient returned is its transpose, a Fortran-ordered view of shape ``z.shape``.
        """
        n, k = z.shape
        dzt = np.empty((k, n), z.dtype)
        np.copyto(dzt, z.T)
        dzt -= np.maximum.reduce(dzt, axis=0)  # t = z - max z, per sample (column)
        if y.ndim == 1:
            # entry (y_i, i) of the row-major dzt is entry y_i * n + i of its flat view: one
            # 1-D index, cheaper than indexing with the pair (y, samples) twice
            at_label = np.multiply(y, n, dtype=np.intp)  # not y's dtype: int8 * 300 wraps
            at_label += self._samples(n)
            flat = dzt.reshape(-1)
            y_t = flat[at_label]  # t at the label
        else:
            y_t = _dot_rows(y.T, dzt, axis=0)  # sum(y * t)
        np.exp(dzt, out=dzt)  # e = exp(t), in (0, 1]
        s = np.add.reduce(dzt, axis=0)  # s = sum(e) >= 1
        losses = np.log(s)
        losses -= y_t  # l = log s - sum(y * t)
        dzt *= np.divide(scale, s, out=s)  # c * p = e * (c / s)
        if y.ndim == 1:
            flat[at_label] -= scale  # c * (p - onehot(y))
        else:
            dzt -= y.T * scale
        return losses, dzt.T

    def _samples(self, n: int) -> np.ndarray:
        """``[0, 1, ..., n - 1]``, cached: the flat index of sample i's entry in class 0."""
        samples = getattr(self, "_samples_cache", None)
        if samples is None or len(samples) != n:
            samples = self._samples_cache = np.arange(n)
        return samples


def _dot_rows(y: np.ndarray, t: np.ndarray, axis: int = 1) -> np.ndarray:
    """``sum(y * t)`` over ``axis``, with ``0 * (-inf) = 0``: a class of probability 0 adds
    nothing, even where its (log-)score ``t`` is -inf (a score a float cannot span)."""
    if np.isfinite(t).all():
        return np.add.reduce(y * t, axis=axis)
    with np.errstate(invalid="ignore"):
        return np.add.reduce(np.where(y == 0, 0, y * t), axis=axis)


class BinaryCrossEntropy(Loss):
    """Sigmoid cross-entropy per output, averaged over outputs (multilabel or binary).

    ``l = mean_k [softplus(z_k) - y_k z_k]`` (the stable form of
    ``-y log sigmoid(z) - (1 - y) log(1 - sigmoid(z))``); ``dl/dz_k = (sigmoid(z_k) - y_k) / K``.
    """

    name = "binary_cross_entropy"

    def prepare_targets(self, y, n_outputs, dtype, name="y"):
        y = super().prepare_targets(y, n_outputs, dtype, name)
        if np.any((y < 0) | (y > 1)):
            raise ValueError(f"{name} for binary_cross_entropy must lie in [0, 1]")
        return y

    def forward(self, z, y):
        return np.mean(softplus(z) - y * z, axis=1)

    def backward(self, z, y):
        return (sigmoid(z) - y) / z.shape[1]


class SummedBinaryCrossEntropy(BinaryCrossEntropy):
    """Sigmoid cross-entropy summed over outputs: scikit-learn's multilabel loss.

    ``l = sum_k [softplus(z_k) - y_k z_k]``; ``dl/dz_k = sigmoid(z_k) - y_k``. For one output it
    is ``binary_cross_entropy``; for K labels, K times it.
    """

    name = "binary_cross_entropy_sum"

    def forward(self, z, y):
        return np.sum(softplus(z) - y * z, axis=1)

    def backward(self, z, y):
        return sigmoid(z) - y


class MSE(Loss):
    """Mean squared error: ``l = mean_k (z_k - y_k)^2``; ``dl/dz_k = 2 (z_k - y_k) / K``."""

    name = "mse"

    def forward(self, z, y):
        return np.mean((z - y) ** 2, axis=1)

    def backward(self, z, y):
        return 2.0 * (z - y) / z.shape[1]

    def forward_backward(self, z, y, scale=1.0):
        r = z - y  # the residual, computed once for both
        losses = np.mean(r * r, axis=1)
        return losses, _times(r, scale, 2.0 / z.shape[1])  # dl/dz = 2 r / K


class SquaredError(MSE):
    """Half the squared error, scikit-learn's regression loss: ``l = mean_k (z_k - y_k)^2 / 2``.

    ``dl/dz_k = (z_k - y_k) / K``: the factor 1/2 cancels the 2 of the square.
    """

    name = "squared_error"

    def forward(self, z, y):
        return 0.5 * super().forward(z, y)

    def backward(self, z, y):
        return (z - y) / z.shape[1]

    def forward_backward(self, z, y, scale=1.0):
        r = z - y
        losses = 0.5 * np.mean(r * r, axis=1)
        return losses, _times(r, scale, 1.0 / z.shape[1])  # dl/dz = r / K


class MAE(Loss):
    """Mean absolute error: ``l = mean_k |z_k - y_k|``; ``dl/dz_k = sign(z_k - y_k) / K``."""

    name = "mae"
    kinks = (0.0,)

    def forward(self, z, y):
        return np.mean(np.abs(z - y), axis=1)

    def backward(self, z, y):
        return np.sign(z - y) / z.shape[1]


class Huber(Loss):
    """Huber loss with threshold ``delta`` on the residual ``r = z - y``, averaged over outputs.

    ``h(r) = r^2 / 2`` if ``|r| <= delta`` else ``delta * (|r| - delta / 2)``;
    ``h'(r) = clip(r, -delta, delta)``. Quadratic near 0, linear (robust) in the tails.
    """

    name = "huber"

    def __init__(self, delta: float = 1.0) -> None:
        self.delta = float(delta)
        self.kinks = (-self.delta, self.delta)  # h'' jumps there

    def forward(self, z, y):
        r = np.abs(z - y)
        h = np.where(r <= self.delta, 0.5 * r * r, self.delta * (r - 0.5 * self.delta))
        return np.mean(h, axis=1)

    def backward(self, z, y):
        return np.clip(z - y, -self.delta, self.delta) / z.shape[1]


class Poisson(Loss):
    """Half the Poisson deviance with a log link (scikit-learn's ``loss='poisson'``).

    The output ``z`` is the log of the predicted mean, ``mu = exp(z)`` (``output``); targets are
    counts or rates ``y >= 0``. Per output ``mu - y z + y log y - y`` (``0 log 0 = 0``: the
    last two terms make a perfect prediction cost 0), averaged over outputs;
    ``dl/dz_k = (exp(z_k) - y_k) / K``.
    """

    name = "poisson"

    def prepare_targets(self, y, n_outputs, dtype, name="y"):
        y = super().prepare_targets(y, n_outputs, dtype, name)
        if np.any(y < 0):
            raise ValueError(f"{name} for poisson must be >= 0 (counts or rates)")
        return y

    def output(self, z):
        return np.exp(z)

    def forward(self, z, y):
        y_log_y = y * np.log(np.where(y > 0, y, 1.0))  # 0 where y = 0
        return np.mean(_poisson_terms(z, y) + y_log_y - y, axis=1)

    def backward(self, z, y):
        return (np.exp(z) - y) / z.shape[1]


def _poisson_terms(z: np.ndarray, y: np.ndarray) -> np.ndarray:
    """``exp(z) - y z``. Where ``exp(z)`` is beyond the dtype's range the term is +inf (for any
    target a float can hold), not ``inf - inf = NaN``: it is computed at ``z`` clipped to the
    largest ``z`` whose ``exp`` is finite, then set to inf."""
    z_max = np.log(np.finfo(z.dtype).max)
    zc = np.minimum(z, z_max)
    return np.where(z > z_max, np.inf, np.exp(zc) - y * zc).astype(z.dtype, copy=False)


class SummedPoisson(Poisson):
    """``Poisson`` summed over outputs: scikit-learn's ``loss='poisson'`` for several outputs.

    ``l = sum_k [exp(z_k) - y_k z_k + y_k log y_k - y_k]``; ``dl/dz_k = exp(z_k) - y_k``.
    """

    name = "poisson_sum"

    def forward(self, z, y):
        return z.shape[1] * super().forward(z, y)

    def backward(self, z, y):
        return np.exp(z) - y


LOSSES: Registry = Registry({
    cls.name: cls for cls in (CrossEntropy, BinaryCrossEntropy, SummedBinaryCrossEntropy, MSE,
                              SquaredError, MAE, Huber, Poisson, SummedPoisson)
})


def get_loss(loss: str | Loss) -> Loss:
    """A ``Loss`` instance from a registry name (any case) or an instance."""
    if isinstance(loss, Loss):
        return loss
    return resolve(loss, LOSSES, "loss")()
