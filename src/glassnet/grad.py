"""Gradients: ``value_and_grad`` and the ``gradcheck`` audit.

The objective of a model with parameters ``theta`` on data ``(X, y)`` is

    J(theta) = L(model(X), y) + l2 / 2 * sum over weight matrices of ||W||^2

(biases are not penalised), so ``dJ/dW = dL/dW + l2 * W``.

``gradcheck`` compares backpropagation with float64 central differences, parameter by
parameter. It uses the fourth-order central stencil

    dJ/dtheta_j ~ (8 (J(+h) - J(-h)) - (J(+2h) - J(-2h))) / (12 h),   J(s) = J(theta + s e_j),

whose truncation error is O(h^4) instead of the two-point formula's O(h^2); with h = 1e-4 both
truncation and rounding stay near 1e-12, so a relative error of 1e-7 is a real signal even
for the small gradients of deep sigmoid networks.
A central difference is wrong where the step crosses a kink (ReLU at 0, |r| at 0): there it
averages the slopes on both sides. The audit records on which side of every kink each
pre-activation and residual lies, and skips (and counts) the elements whose step changes that
pattern, instead of raising a false alarm.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import trace
from ._checks import check_nonnegative, check_number
from .losses import Loss, get_loss
from .model import Sequential
from .step import objective_and_backward, prepare_data

__all__ = ["value_and_grad", "gradcheck", "GradcheckReport"]


def value_and_grad(model: Sequential, loss: str | Loss, X: Any, y: Any, l2: float = 0.0,
                   sample_weight: Any = None, training: bool = False
                   ) -> tuple[float, dict[str, np.ndarray]]:
    """The objective ``J`` and its gradient for every parameter.

    Parameters
    ----------
    model : Sequential
    loss : str or Loss
        A name from ``glassnet.losses.LOSSES`` or an instance.
    X : array or SciPy sparse matrix, shape (n_samples, n_inputs)
        Sparse when the model's first layer is ``Dense``: used as CSR, never densified.
    y : array, shape (n_samples,) or (n_samples, n_outputs)
    l2 : float
        Strength of the penalty ``l2 / 2 * sum ||W||^2``.
    sample_weight : array, shape (n_samples,), optional
    training : bool
        Run the forward pass in training mode (dropout on).

    Returns
    -------
    value : float
    grads : dict
        ``{name: dJ/dparameter}``, names and shapes as in ``model.state_dict()``; copies.
    """
    loss = get_loss(loss)
    l2 = check_nonnegative(l2, "l2")
    X, y, sample_weight = prepare_data(model, loss, X, y, sample_weight)
    with np.errstate(under="ignore"):
        value, _ = objective_and_backward(model, loss, X, y, l2, sample_weight, training)
    return value, {name: g.copy() for name, _, g in model.named_parameters()}


@dataclass
class GradcheckRow:
    """The audit of one parameter."""

    name: str
    shape: tuple[int, ...]
    checked: int
    skipped: int
    max_abs_error: float
    rel_error: float
    ok: bool


@dataclass
class GradcheckReport:
    """Per-parameter comparison of backprop with central differences; ``str()`` is the table.

    ``rel_error = ||g_backprop - g_numeric|| / (||g_backprop|| + ||g_numeric||)`` over the checked
    elements (0 when both are 0); a parameter passes when ``rel_error < rtol`` or its
    ``max_abs_error < atol``, and never with a NaN or inf in either gradient. ``skipped``
    counts elements whose step crossed a kink.
    """

    rows: list[GradcheckRow] = field(default_factory=list)
    rtol: float = 1e-7
    atol: float = 1e-10

    @property
    def ok(self) -> bool:
        return all(row.ok for row in self.rows)

    @property
    def max_rel_error(self) -> float:
        return max((row.rel_error for row in self.rows), default=0.0)

    def __getitem__(self, name: str) -> GradcheckRow:
        for row in self.rows:
            if row.name == name:
                return row
        raise KeyError(name)

    def __str__(self) -> str:
        head = ("parameter", "shape", "checked", "skipped", "max abs err", "rel err", "")
        body = [(r.name, "x".join(map(str, r.shape)), str(r.checked), str(r.skipped),
                 f"{r.max_abs_error:.2e}", f"{r.rel_error:.2e}",
                 ("ok" if r.checked else "unchecked: every step crossed a kink") if r.ok
                 else "FAIL")
                for r in self.rows]
        widths = [max(len(row[c]) for row in [head, *body]) for c in range(len(head))]
        lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip()
                 for row in [head, *body]]
        verdict = "PASS" if self.ok else "FAIL"
        lines.insert(1, "-" * len(lines[0]))
        lines.append(f"{verdict}: max relative error {self.max_rel_error:.2e} "
                     f"(rtol {self.rtol:.0e}, atol {self.atol:.0e})")
        return "\n".join(lines)


def _loss_and_pattern(model, loss, X, y, sample_weight):
    """The data loss ``L`` (the penalty apart, see ``gradcheck``) and the kink pattern."""
    z = model._forward(X)
    value = loss.value(z, y, sample_weight)
    pattern = [p for layer in model.layers for p in layer.kink_pattern()]
    return value, pattern + loss.kink_pattern(z, y)


def _same(a: list[np.ndarray], b: list[np.ndarray]) -> bool:
    return all(np.array_equal(u, v) for u, v in zip(a, b))


def gradcheck(model: Sequential, loss: str | Loss, X: Any, y: Any, l2: float = 0.0,
              sample_weight: Any = None, eps: float = 1e-4, rtol: float = 1e-7,
              atol: float = 1e-10, max_per_param: int | None = None,
              seed: int = 0, verbose: bool = False) -> GradcheckReport:
    """Audit every parameter's backprop gradient against float64 central differences.

    The model is copied to float64 first; ``model`` itself is not changed.

    Parameters
    ----------
    model, loss, X, y, l2, sample_weight
        As for ``value_and_grad``.
    eps : float
        Finite-difference step ``h``.
    rtol, atol : float
        Pass thresholds for the relative and the max absolute error.
    max_per_param : int, optional
        Check at most this many randomly chosen elements of each parameter (all by default);
        a positive int.
    seed : int or numpy Generator
        Chooses those elements: an int >= 0 (or None for fresh entropy).
    verbose : bool
        Print the per-parameter table.

    Returns
    -------
    GradcheckReport
        ``.ok``, ``.rows`` and a printable table.
    """
    loss = get_loss(loss)
    l2 = check_nonnegative(l2, "l2")
    eps = check_number(eps, "eps", gt=0)
    if max_per_param is not None:  # 0 would check nothing and still pass
        max_per_param = check_number(max_per_param, "max_per_param", integer=True, gt=0)
    rng = _check_seed(seed)
    model64 = model.astype("float64")
    X, y, sample_weight = prepare_data(model64, loss, X, y, sample_weight)
    with np.errstate(under="ignore"):
        objective_and_backward(model64, loss, X, y, l2, sample_weight)
    _, base = _loss_and_pattern(model64, loss, X, y, sample_weight)
    report = GradcheckReport(rtol=rtol, atol=atol)
    # J = L + l2/2 sum W^2 for the penalised parameters; for the others the penalty does not
    # change, and L alone is differenced: a large l2 makes J large, and J's rounding error,
    # divided by h, would swamp the small gradients of the biases. (The weights' own
    # gradients grow with l2, so their J differences keep their digits.)
    penalized = {id(W) for W, _ in model64.penalized_parameters()}

    for name, p, g in model64.named_parameters():
        penalty = l2 if id(p) in penalized else 0.0
        flat_p, flat_g = p.reshape(-1), g.reshape(-1)
        idx = np.arange(p.size)
        if max_per_param is not None and p.size > max_per_param:
            idx = np.sort(rng.choice(p.size, size=max_per_param, replace=False))
        analytic, numeric = [], []
        for j in idx:
            original = flat_p[j]
            values, patterns = [], []
            for step in (2 * eps, eps, -eps, -2 * eps):
                flat_p[j] = original + step
                value, pattern = _loss_and_pattern(model64, loss, X, y, sample_weight)
                values.append(value + model64.l2_penalty(penalty) if penalty else value)
                patterns.append(pattern)
            flat_p[j] = original
            if not all(_same(pattern, base) for pattern in patterns):
                continue  # a step crossed a kink: the difference quotient is meaningless
            f2, f1, fm1, fm2 = values
            analytic.append(flat_g[j])
            numeric.append((8 * (f1 - fm1) - (f2 - fm2)) / (12 * eps))
        a, n = np.array(analytic), np.array(numeric)
        max_abs = float(np.max(np.abs(a - n))) if a.size else 0.0
        scale = float(np.linalg.norm(a) + np.linalg.norm(n))
        rel = 0.0 if scale == 0 else float(np.linalg.norm(a - n) / scale)  # NaN stays NaN
        ok = bool(np.isfinite(max_abs) and np.isfinite(rel) and (rel < rtol or max_abs < atol))
        report.rows.append(GradcheckRow(name, p.shape, len(a), len(idx) - len(a), max_abs, rel,
                                        ok))
    if verbose:
        trace.table(str(report))
    return report


def _check_seed(seed: Any) -> np.random.Generator:
    """``gradcheck``'s ``seed`` as a Generator: None, an int >= 0 or a Generator."""
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is not None and (isinstance(seed, (bool, np.bool_))
                             or not isinstance(seed, (int, np.integer))):
        raise TypeError(f"seed must be an int, None or a numpy Generator, got {seed!r}")
    if seed is not None and seed < 0:
        raise ValueError(f"seed must be an int >= 0, got {seed!r}")
    return np.random.default_rng(seed)
