"""scikit-learn's L-BFGS, bit for bit: its objective in its own arithmetic, handed to SciPy as
scikit-learn hands it.

L-BFGS amplifies the last bit of a gradient: two objectives that agree to 1e-16 end 1e-4 or
more apart after a few dozen iterations. So ``minimize`` does not reuse glassnet's
``objective_and_backward`` (which scales ``delta`` by ``1/n`` first, adds ``l2 * W`` with
``l2 = alpha / n`` and packs the parameters layer by layer); it computes the value and the
gradient with the NumPy calls of scikit-learn's ``_backprop``, on the same operands in the
same order, so that every float is scikit-learn's. The objective, for the network
``a_0 = X``, ``a_{i+1} = f_i(a_i @ W_i + b_i)`` (``f_L``, after the last layer, is the
output function the loss names), sample weights ``s_j`` (all 1 without them) and
``S = sum_j s_j``::

    J(theta) = L(Y, a_{L+1}; s) + (alpha / 2) * sum_i ||W_i||^2 / S

    delta_L     = (a_{L+1} - Y) * s[:, None]       the loss is the output's canonical pair
    dW_i        = (a_i^T @ delta_i + alpha * W_i) / S
    db_i        = sum_rows(delta_i) / S
    delta_{i-1} = (delta_i @ W_i^T) * f'_{i-1}      f' from the output a_i, in place

with ``L`` the weighted mean over the rows of the per-row loss, summed over the outputs
(``_log_loss`` and the others below), as scikit-learn computes it since 1.7 (1.9.1 checked;
before 1.7 it summed the same terms in another order). ``theta`` is packed as scikit-learn
packs it: every layer's ``W`` raveled, then every layer's ``b``. Where scikit-learn's numerics
are looser than glassnet's (it clips probabilities into ``[eps, 1 - eps]``; its ``exp``
output can overflow), this module follows scikit-learn, silently: an infinite or NaN
objective is what tells SciPy's line search to step back.

An evaluation allocates almost nothing: it writes into work arrays kept from the first one
(see ``_Objective``), with scikit-learn's operations, or in two places with cheaper ones that
give the same bits (``_times_transpose``, ``_ReLU.df``).
"""

from __future__ import annotations

import warnings

import numpy as np
import scipy
import scipy.optimize
import scipy.sparse
from scipy.special import expit, xlogy
from sklearn.exceptions import ConvergenceWarning

from ..activations import ACTIVATIONS, Activation
from ..layers import Dense, Dropout

__all__ = ["HIDDEN", "OUTPUTS", "minimize", "not_converged_message", "supported"]


# -- hidden activations: a = f(z) in place, then delta *= f'(z) from the output a ------------
# ``f`` works in place on ``z``. ``df`` multiplies ``delta`` in place by ``f'``, computed from
# the output ``a`` into a work array that each layer's instance keeps from one evaluation to
# the next (see ``_Objective``): ``out=None`` in the first, where NumPy makes the array.
class _Identity:
    """``a = z``; ``f' = 1``: nothing to do either way."""

    @staticmethod
    def f(z):
        pass

    def df(self, a, delta):
        pass


class _Logistic:
    """``a = 1 / (1 + exp(-z))`` (SciPy's ``expit``); ``f' = a * (1 - a)``, from the output."""

    def __init__(self):
        self.one_minus_a = None  # kept

    @staticmethod
    def f(z):
        expit(z, out=z)

    def df(self, a, delta):
        one_minus_a = self.one_minus_a = np.subtract(1, a, out=self.one_minus_a)  # 1 - a
        delta *= a  # two in-place products, in this order: (delta * a) * (1 - a)
        delta *= one_minus_a


class _Tanh:
    """``a = tanh(z)``; ``f' = 1 - a^2``, from the output."""

    def __init__(self):
        self.fprime = None  # kept

    @staticmethod
    def f(z):
        np.tanh(z, out=z)

    def df(self, a, delta):
        fprime = self.fprime = np.square(a, out=self.fprime)  # a**2 (NumPy's square)
        np.subtract(1, fprime, out=fprime)  # f' = 1 - a**2
        delta *= fprime


class _ReLU:
    """``a = max(z, 0)``; ``f' = [a != 0]`` (0 at the kink)."""

    def __init__(self):
        self.keep = None  # kept

    @staticmethod
    def f(z):
        np.maximum(z, 0, out=z)

    def df(self, a, delta):
        # delta[a == 0] = 0, without a branch per entry. A masked store branches on every
        # entry, at random when about half of the units are off (0.5 ms on 1000 x 100,
        # eight times this); 0.0 is the float whose bits are all 0, so AND-ing each entry's
        # bits with all ones (a != 0) or with 0 (a == 0) stores the same floats.
        if self.keep is None:
            self.keep = np.empty(a.shape, f"u{delta.itemsize}")  # an integer like delta
        keep = self.keep
        np.not_equal(a, 0, out=keep, casting="unsafe")  # 1 where a != 0, else 0
        np.negative(keep, out=keep)  # 0 - 1 wraps round to all ones; 0 stays 0
        bits = delta.view(keep.dtype)
        np.bitwise_and(bits, keep, out=bits)


# glassnet's canonical activation name -> scikit-learn's arithmetic for it
HIDDEN = {"identity": _Identity, "sigmoid": _Logistic, "tanh": _Tanh, "relu": _ReLU}


# -- outputs (in place) and their losses L(Y, p; s) -----------------------------------------
def _softmax(z):
    """``p = exp(z - max_k z) / sum_k exp(z - max_k z)``, row by row, into ``z``."""
    shifted = z - z.max(axis=1)[:, np.newaxis]
    np.exp(shifted, out=z)
    z /= z.sum(axis=1)[:, np.newaxis]


def _exp(z):
    """``mu = exp(z)``, into ``z`` (it overflows to inf for z > 709, as scikit-learn's does)."""
    np.exp(z, out=z)


def _average(per_row, sample_weight):
    """The (weighted) mean over the rows, one per output: ``sum_j s_j l_j / S``."""
    return np.average(per_row, weights=sample_weight, axis=0)


def _log_loss(Y, p, sample_weight):
    """``-sum_k mean_j y_jk log p_jk``, with ``p`` clipped into ``[eps, 1 - eps]``."""
    eps = np.finfo(p.dtype).eps
    p = np.clip(p, eps, 1 - eps)
    return -_average(xlogy(Y, p), sample_weight).sum()


def _binary_log_loss(Y, p, sample_weight):
    """``-sum_k mean_j [y log p + (1 - y) log(1 - p)]``, ``p`` clipped as in ``_log_loss``:
    summed over the labels (one for a binary target)."""
    eps = np.finfo(p.dtype).eps
    p = np.clip(p, eps, 1 - eps)
    return -_average(xlogy(Y, p) + xlogy(1 - Y, 1 - p), sample_weight).sum()


def _half_squared_error(Y, y_hat, sample_weight):
    """``(1/2) mean_k mean_j (y - y_hat)^2``: averaged over the outputs, not summed."""
    return 0.5 * _average((Y - y_hat) ** 2, sample_weight).mean()


def _half_poisson_deviance(Y, mu, sample_weight):
    """``sum_k mean_j [y log(y / mu) - y + mu]``, half the Poisson deviance."""
    return _average(xlogy(Y, Y / mu) - Y + mu, sample_weight).sum()


# glassnet's loss name (``estimator._loss_name``) -> (output function, loss)
OUTPUTS = {
    "cross_entropy": (_softmax, _log_loss),
    "binary_cross_entropy": (_Logistic.f, _binary_log_loss),  # one label: its sum is itself
    "binary_cross_entropy_sum": (_Logistic.f, _binary_log_loss),
    "squared_error": (_Identity.f, _half_squared_error),
    "poisson_sum": (_exp, _half_poisson_deviance),
}


_CLASSES = ("cross_entropy", "binary_cross_entropy", "binary_cross_entropy_sum")


# -- the network as scikit-learn sees it ----------------------------------------------------
def _layers(model) -> tuple[list[Dense], list[str]] | None:
    """The Dense layers of ``model`` and the canonical names of the activations between
    them, or None when ``model`` is not ``Dense, (activation, Dense)*`` with activations
    from ``HIDDEN`` (dropout that is off, ``p == 0``, is no layer here)."""
    dense, hidden = [], []
    for layer in model.layers:
        if isinstance(layer, Dropout) and layer.p == 0:
            continue
        if len(dense) == len(hidden):  # a Dense layer is due
            if not isinstance(layer, Dense):
                return None
            dense.append(layer)
        else:
            name = ACTIVATIONS.canonical(layer.name) if isinstance(layer, Activation) else None
            if name not in HIDDEN:
                return None
            hidden.append(name)
    return (dense, hidden) if dense and len(dense) == len(hidden) + 1 else None


def supported(model, loss_name: str) -> bool:
    """Whether ``minimize`` can train ``model`` with ``loss_name``: Dense layers with
    'identity', 'sigmoid' ('logistic'), 'tanh' or 'relu' between them, no active dropout, and
    a loss of ``OUTPUTS``. Otherwise the estimator keeps glassnet's own L-BFGS."""
    return loss_name in OUTPUTS and _layers(model) is not None


def _times_transpose(delta, W, *, out):
    """``delta @ W.T`` into ``out`` (or a new array when ``out`` is None), which it returns:
    ``delta`` of shape ``(n, k)``, ``W`` of shape ``(h, k)``.

    Speed (STYLE 9): with one output (``k == 1``) the product is an outer product, one
    multiplication an entry, for which a gemm takes two to three times as long as NumPy's
    broadcast product (0.11-0.18 ms against 0.05-0.07 on 1000 x 100). A gemm's sum starts
    from 0, so each of its entries is ``0 + delta_j * W_k`` (the product rounded once; adding
    0 turns a -0.0 product into +0.0): the broadcast product, then ``+ 0``, gives the gemm's
    every bit.
    """
    if W.shape[1] != 1:
        return np.matmul(delta, W.T, out=out)
    out = np.multiply(delta, W.T, out=out)  # delta_j * W_k, (n, 1) times (1, h)
    out += 0  # 0 + delta_j * W_k, the gemm's sum
    return out


class _Objective:
    """``J(theta)`` and its gradient, scikit-learn's ``_loss_grad_lbfgs``; see the module
    docstring. ``theta`` of shape ``(n_params,)``: all ``W_i`` raveled, then all ``b_i``.

    Speed (STYLE 9): L-BFGS evaluates the objective hundreds of times on arrays of the same
    shapes, and allocating the ``(n_samples, n_hidden)`` work arrays afresh each time cost
    more than the arithmetic (with glibc's defaults the freed blocks go back to the system and
    the next evaluation faults them in again: 2.2 ms an evaluation against 0.8 on the
    1,000 x 20 -> 100 regression network). So the work arrays (``z_i``, ``delta_i``,
    ``dW_i``, ``db_i``, the temporaries) are kept: each operation gets ``out=`` the array it
    made in the previous evaluation, ``None`` in the first, where it is the plain expression
    in the comment beside it and NumPy makes the array, with that expression's dtype. Later
    evaluations run the same operations on operands of the same dtypes, into arrays of that
    dtype: the same floats. (A ``theta`` of another dtype starts afresh.) The gradient
    returned is a new array each time: SciPy keeps the one it receives (``MemoizeJac``,
    ``ScalarFunction.g``, the result's ``jac``) and L-BFGS-B may write into it.
    """

    def __init__(self, shapes, hidden, loss_name, X, Y, alpha, sample_weight):
        self.shapes = shapes  # [(n_in, n_out), ...], one per Dense layer
        self.names = list(hidden)
        self.output, self.loss = OUTPUTS[loss_name]
        self.X, self.Y, self.alpha, self.sample_weight = X, Y, alpha, sample_weight
        self.sparse = scipy.sparse.issparse(X)
        # S: the rows (an int, as scikit-learn divides by it) or the weights' sum
        self.S = X.shape[0] if sample_weight is None else sample_weight.sum()
        self._start_afresh(None)

    def _start_afresh(self, dtype):
        """No kept work arrays: the next evaluation makes them, for ``theta`` of ``dtype``."""
        self.dtype = dtype
        self.hidden = [HIDDEN[name]() for name in self.names]  # each keeps its f'
        n = len(self.shapes)  # one work array of each per layer:
        self.z, self.delta, self.dW, self.alpha_W, self.sum_delta, self.db = (
            [None] * n for _ in range(6))

    def pack(self, Ws, bs) -> np.ndarray:
        """``theta = [vec W_0, ..., vec W_L, b_0, ..., b_L]``, a new array."""
        return np.concatenate([p.ravel() for p in [*Ws, *bs]])

    def unpack(self, theta):
        """``(Ws, bs)``: views of ``theta``, the ``W_i`` of shape ``(n_in, n_out)``."""
        Ws, bs, start = [], [], 0
        for shape in self.shapes:
            end = start + shape[0] * shape[1]
            Ws.append(theta[start:end].reshape(shape))
            start = end
        for _, n_out in self.shapes:
            bs.append(theta[start:start + n_out])
            start += n_out
        return Ws, bs

    def __call__(self, theta) -> tuple[np.floating, np.ndarray]:
        """``(J(theta), dJ/dtheta)``, the gradient of shape ``(n_params,)``."""
        if theta.dtype != self.dtype:
            self._start_afresh(theta.dtype)
        with np.errstate(all="ignore"):  # inf or NaN in J is the line search's signal
            return self._value_and_grad(theta)

    def _value_and_grad(self, theta):
        # each ``out=`` is the array kept from the previous evaluation (see the class)
        Ws, bs = self.unpack(theta)
        last = len(Ws) - 1
        # forward: a_{i+1} = f_i(a_i @ W_i + b_i); each f in place on z
        a = [self.X]
        for i, (W, b) in enumerate(zip(Ws, bs)):
            if i == 0 and self.sparse:
                z = a[0] @ W  # sparse X: SciPy's product, a new dense array
            else:
                z = self.z[i] = np.matmul(a[i], W, out=self.z[i])  # z = a_i @ W_i
            z += b
            (self.output if i == last else self.hidden[i].f)(z)
            a.append(z)
        J = self.loss(self.Y, a[-1], self.sample_weight)
        squares = 0
        for W in Ws:
            w = W.ravel()
            squares += np.dot(w, w)  # ||W_i||^2, summed layer by layer
        J += (0.5 * self.alpha) * squares / self.S

        # backward: delta_L = (a_{L+1} - Y) * s, then down through each layer
        delta = self.delta[last] = np.subtract(a[-1], self.Y, out=self.delta[last])
        if self.sample_weight is not None:
            delta *= self.sample_weight.reshape(-1, 1)
        for i in range(last, -1, -1):
            if i == 0 and self.sparse:
                dW = a[0].T @ delta  # sparse X: SciPy's product, a new dense array
            else:  # dW = a_i.T @ delta_i, with a_i transposed (as scikit-learn)
                dW = self.dW[i] = np.matmul(a[i].T, delta, out=self.dW[i])
            # alpha * W_i
            alpha_W = self.alpha_W[i] = np.multiply(self.alpha, Ws[i], out=self.alpha_W[i])
            dW += alpha_W
            dW /= self.S  # dW_i = (a_i^T delta_i + alpha W_i) / S
            self.dW[i] = dW  # (the new array, for sparse X and i == 0)
            # db_i = np.sum(delta_i, axis=0) / S
            sums = self.sum_delta[i] = np.sum(delta, axis=0, out=self.sum_delta[i])
            self.db[i] = np.divide(sums, self.S, out=self.db[i])
            if i > 0:  # delta_{i-1} = (delta_i @ W_i^T) * f'_{i-1}, f' from a_i
                delta = self.delta[i - 1] = _times_transpose(delta, Ws[i],
                                                              out=self.delta[i - 1])
                self.hidden[i - 1].df(a[i], delta)
        return J, self.pack(self.dW, self.db)  # a new vector: SciPy keeps it


def _targets(Y, loss_name: str, n_outputs: int) -> np.ndarray:
    """``Y`` as scikit-learn's ``_backprop`` receives it, shape ``(n_samples, n_outputs)``:
    class indices become one-hot rows; classes are bool, as scikit-learn's binarized targets
    (``p - Y`` then stays in ``p``'s dtype, float32 included); a 1-D target is a column."""
    Y = np.asarray(Y)
    if loss_name == "cross_entropy" and Y.ndim == 1:
        one_hot = np.zeros((len(Y), n_outputs), dtype=bool)
        one_hot[np.arange(len(Y)), Y] = True
        return one_hot
    Y = Y.reshape(len(Y), -1)
    return Y.astype(bool) if loss_name in _CLASSES else Y


def _iprint_option(verbose: bool) -> dict:
    """scikit-learn's ``iprint`` (1 when verbose, else -1), which it passes only to SciPy
    before 1.15 (where L-BFGS-B still had that option)."""
    major, minor = (int(part) for part in scipy.__version__.split(".")[:2])
    return {} if (major, minor) >= (1, 15) else {"iprint": 1 if verbose else -1}


def not_converged_message(result, n_iter: int, max_iter: int) -> str:
    """scikit-learn's ConvergenceWarning text for an L-BFGS ``result`` that did not converge."""
    message = (f"lbfgs failed to converge after {n_iter} iteration(s) "
               f"(status={result.status}):\n{result.message}\n")
    if n_iter == max_iter:
        message += ("\nIncrease the number of iterations to improve the convergence "
                    f"(max_iter={max_iter}).")
    return message + ("\nYou might also want to scale the data as shown in:\n"
                      "    https://scikit-learn.org/stable/modules/preprocessing.html")


def minimize(model, X, Y, *, loss_name: str, alpha: float, sample_weight=None,
             max_iter: int, max_fun: int, tol: float, verbose: bool = False):
    """Train ``model`` as scikit-learn's ``solver='lbfgs'`` trains its MLP, float for float.

    Parameters
    ----------
    model : glassnet.Sequential
        ``supported(model, loss_name)`` must hold. Its weights are the starting point; the
        result is written back into them, in the model's dtype.
    X : ndarray or SciPy sparse matrix of shape (n_samples, n_features)
        float64 or float32. Sparse formats other than CSR and CSC are taken as CSR, as
        scikit-learn takes them.
    Y : ndarray of shape (n_samples,) or (n_samples, n_outputs)
        The targets as glassnet's estimators encode them: class indices for
        'cross_entropy', a 0/1 column (binary) or matrix (multilabel), real targets.
    loss_name : str
        A key of ``OUTPUTS``: the output function and scikit-learn's loss.
    alpha : float
        L2 strength; the penalty is ``alpha / 2 * sum ||W||^2`` divided by the total weight.
    sample_weight : ndarray of shape (n_samples,), optional
    max_iter, max_fun, tol : int, int, float
        SciPy's ``maxiter``, ``maxfun`` and ``gtol``.
    verbose : bool
        SciPy's ``iprint`` where it has one (before 1.15), as scikit-learn sets it.

    Returns
    -------
    n_iter : int
        ``min(result.nit, max_iter)``, scikit-learn's ``n_iter_``.
    loss : float
        ``result.fun``, the objective at the result (scikit-learn's ``loss_``).
    result : scipy.optimize.OptimizeResult

    Warns
    -----
    ConvergenceWarning
        scikit-learn's, when SciPy stops short of ``tol`` (``result.status != 0``). Weights
        that are not finite at the end are written back as they are: the caller checks.
    """
    dense, hidden = _layers(model)
    if scipy.sparse.issparse(X) and X.format not in ("csr", "csc"):
        X = X.tocsr()
    shapes = [layer.W.shape for layer in dense]
    Y = _targets(Y, loss_name, shapes[-1][1])
    if sample_weight is not None:
        sample_weight = np.asarray(sample_weight)
    objective = _Objective(shapes, hidden, loss_name, X, Y, alpha, sample_weight)
    # theta0 in the model's dtype, as scikit-learn packs its float32 weights: recent SciPy
    # evaluates J at x0's dtype (older SciPy at float64); its result x is float64
    theta0 = objective.pack([layer.W for layer in dense], [layer.b for layer in dense])
    result = scipy.optimize.minimize(
        objective, theta0, method="L-BFGS-B", jac=True,
        options={"maxfun": max_fun, "maxiter": max_iter, "gtol": tol,
                 **_iprint_option(verbose)})
    n_iter = min(result.nit, max_iter)
    if result.status != 0:
        warnings.warn(not_converged_message(result, n_iter, max_iter), ConvergenceWarning,
                      stacklevel=2)
    with np.errstate(over="ignore"):  # beyond float32 is inf, which the caller refuses
        for layer, W, b in zip(dense, *objective.unpack(result.x)):
            layer.W[...], layer.b[...] = W, b  # rounded to the model's dtype
    return n_iter, float(result.fun), result
