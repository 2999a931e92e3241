"""scikit-learn's stopping rule and learning-rate rules (``_Convergence``), and its
``verbose`` lines (``_Verbose``), as callbacks of the estimators' ``fit_iter`` run.

The rule's callback only reads the training state and sets what a schedule sets (the rate,
``state.stop``): the estimators derive their attributes from the History after the run.
"""

from __future__ import annotations

import copy

from .. import trace
from ..callbacks import Callback
from ..optim import SGD
from ..schedules import Adaptive, InverseScaling

__all__ = ["_Convergence", "_Verbose"]


def _set_lr(optimizer, lr: float) -> None:
    """A new rate from scikit-learn's rules: SGD keeps scikit-learn's velocity
    (``SGD.set_lr``, which rescales its momentum buffer); other optimizers just take it."""
    if isinstance(optimizer, SGD):
        optimizer.set_lr(lr, rescale_momentum=True)
    else:
        optimizer.lr = lr


class _Convergence(Callback):
    """scikit-learn's stopping rule and learning-rate rules, epoch by epoch.

    ``plateau`` (``schedules.Adaptive``) counts the epochs whose training loss is not below
    ``best - tol`` (with early stopping: whose validation score is not above ``best + tol``);
    after more than ``n_iter_no_change`` of them training stops or, with
    ``learning_rate='adaptive'`` and SGD, the rate is divided by 5 until it is at most 1e-6.
    ``invscaling`` (``schedules.InverseScaling``) sets ``lr = lr0 / (t + 1) ** power_t``
    from ``t``, the samples seen by the estimator. With early stopping it keeps a copy of the
    best epoch's weights.

    It reads the training state and writes only what a schedule writes, the optimizer's rate
    and ``state.stop``. ``after`` gives the rule as it stood after the epochs that ended.
    """

    def __init__(self, plateau: Adaptive, invscaling: InverseScaling | None, metric: str,
                 t0: int, rows: int, keep_best: bool) -> None:
        self.plateau, self.invscaling, self.metric = plateau, invscaling, metric
        self.start = copy.copy(plateau)  # the rule before this run's first epoch
        self.t0, self.rows = t0, rows  # the estimator's t_ before the run, rows an epoch
        self.keep_best, self.best_params = keep_best, None

    def on_epoch_end(self, state) -> None:
        metric = state.logs[self.metric]
        if self.keep_best and metric > self.plateau.best:  # any gain, even below tol
            self.best_params = state.model.flat_params.copy()
        lr = self.plateau.lr
        if self.plateau.step(metric) != lr:  # 'adaptive' divided the rate
            _set_lr(state.optimizer, self.plateau.lr)
        if self.invscaling is not None:  # t = samples seen, as scikit-learn counts them
            _set_lr(state.optimizer, self.invscaling.step(t=self.t0 + state.samples_seen))
        if self.plateau.stop:
            state.stop = True

    def after(self, metrics: list[float]) -> Adaptive:
        """The rule after ``metrics`` (the History's, epochs that ended): its start, stepped
        over them."""
        plateau = copy.copy(self.start)
        for metric in metrics:
            plateau.step(metric)
        return plateau


class _Verbose(Callback):
    """scikit-learn's ``verbose`` output, on stdout: ``Iteration N, loss = ...`` after each
    epoch (``N`` counts this call's epochs, as ``n_iter_`` does), ``Validation score: ...``
    with early stopping, and the reason when the rule stops training."""

    def __init__(self, rule: _Convergence) -> None:
        self.rule = rule

    def on_epoch_end(self, state) -> None:
        lines = ["Iteration %d, loss = %.8f" % (state.epoch, state.logs["loss"])]
        if self.rule.keep_best:
            lines.append("Validation score: %f" % state.logs[self.rule.metric])
        if state.stop:
            what = "Validation score" if self.rule.keep_best else "Training loss"
            lines.append(f"{what} did not improve more than tol={self.rule.plateau.tol:f} for "
                         f"{self.rule.plateau.n_iter_no_change} consecutive epochs. Stopping.")
        trace.emit(*lines)  # verbose output goes through the trace, as the notebook's does
