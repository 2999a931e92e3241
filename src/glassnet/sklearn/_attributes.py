"""The estimators' fitted attributes: written after each call from the run's History (the
epochs that ended), and read in scikit-learn's form (``coefs_``, ``intercepts_``, ...) from
the glassnet network, ``model_``."""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.validation import check_is_fitted, validate_data

from .._checks import refuse_complex
from ..history import History
from ._rule import _Convergence

__all__ = ["_FittedAttributes"]


class _FittedAttributes:
    """What ``_BaseMLP`` records after a run and how it shows the network (a mixin)."""

    # -- recorded from the run's History ----------------------------------------------------
    def _record(self, state, rule: _Convergence | None) -> None:
        """The fitted attributes of this call, from its History (the epochs that ended):
        ``n_iter_`` (this call's epochs, as scikit-learn 1.9 counts them), ``loss_``,
        ``history_``, and the solver's own (``_record_epochs``, ``_record_lbfgs``)."""
        history = History() if state is None else state.history
        if state is not None:
            self.history_ = history
        if len(history):
            self.loss_ = history["loss"][-1]
        if rule is None:
            self._record_lbfgs(history)
        else:
            self._record_epochs(history, rule)

    def _record_lbfgs(self, history: History) -> None:
        """L-BFGS: its iterations, its loss as the best, and no curve."""
        self.n_iter_ = history.epochs[-1] if len(history) else 0
        if len(history):
            self.best_loss_, self.loss_curve_ = self.loss_, None

    def _record_epochs(self, history: History, rule: _Convergence) -> None:
        """Stochastic solvers: ``loss_curve_``, ``t_`` and ``validation_scores_`` extended by
        this call's epochs; ``best_loss_`` (or ``best_validation_score_``) and the count of
        epochs without improvement as the rule stood after them; with early stopping, the
        best epoch's weights."""
        self.n_iter_ = len(history)
        if rule.best_params is not None:
            self.model_.flat_params[...] = rule.best_params
        if not len(history):
            return
        self.t_ += len(history) * rule.rows
        self.loss_curve_ = [*(self.loss_curve_ or ()), *history["loss"]]
        plateau = rule.after(history[rule.metric])
        if rule.keep_best:
            self.validation_scores_ = [*(self.validation_scores_ or ()), *history[rule.metric]]
            self.best_validation_score_ = plateau.best
        else:
            self.best_loss_ = plateau.best
        self._no_improvement_count = plateau.no_improvement

    def _warn_if_not_converged(self, state, rule: _Convergence | None,
                               incremental: bool) -> None:
        """scikit-learn's ConvergenceWarning: ``max_iter`` epochs without meeting the rule,
        or L-BFGS stopped short of its tolerance."""
        ran_out = not incremental and not state.stop and self.n_iter_ == self.max_iter
        if rule is not None and ran_out:
            warnings.warn(f"Stochastic Optimizer: Maximum iterations ({self.max_iter}) reached "
                          "and the optimization hasn't converged yet.", ConvergenceWarning)
        if rule is None and state.stop_reason:
            warnings.warn(state.stop_reason, ConvergenceWarning)

    # -- fitted attributes in scikit-learn's form --------------------------------------------
    @property
    def coefs_(self):
        """Weight matrices, ``coefs_[i]`` of shape ``(n_units_i, n_units_{i+1})`` (live views)."""
        check_is_fitted(self, "model_")
        return [layer.W for layer in self.model_.layers if hasattr(layer, "W")]

    @coefs_.setter
    def coefs_(self, values) -> None:
        """Copy ``values`` into the weights (scikit-learn users set them this way)."""
        self._set_parameters("W", "coefs_", values)

    @property
    def intercepts_(self):
        """Bias vectors, ``intercepts_[i]`` of shape ``(n_units_{i+1},)`` (live views)."""
        check_is_fitted(self, "model_")
        return [layer.b for layer in self.model_.layers if hasattr(layer, "b")]

    @intercepts_.setter
    def intercepts_(self, values) -> None:
        self._set_parameters("b", "intercepts_", values)

    def _set_parameters(self, kind: str, what: str, values) -> None:
        """All of ``values`` checked (count, shapes, finite) before any is copied in."""
        check_is_fitted(self, "model_")
        targets = [getattr(layer, kind) for layer in self.model_.layers if hasattr(layer, kind)]
        with np.errstate(over="ignore"):  # a value beyond the dtype is refused just below
            arrays = [np.asarray(v, dtype=t.dtype) for v, t in zip(values, targets)]
        if len(arrays) != len(targets) or len(values) != len(targets):
            raise ValueError(f"{what} needs {len(targets)} arrays, got {len(values)}")
        for i, (a, t) in enumerate(zip(arrays, targets)):
            if a.shape != t.shape or not np.isfinite(a).all():
                raise ValueError(f"{what}[{i}] must be finite in {t.dtype} and of shape "
                                 f"{t.shape}, got shape {a.shape}")
        for a, t in zip(arrays, targets):
            t[...] = a

    @property
    def n_layers_(self) -> int:
        check_is_fitted(self, "model_")
        return len(self.coefs_) + 1

    @property
    def n_outputs_(self) -> int:
        check_is_fitted(self, "model_")
        return self.model_.n_outputs

    def _scores(self, X) -> tuple[np.ndarray, np.dtype]:
        """Logits for validated ``X``, in float64 for the post-processing, and the dtype of
        the results: scikit-learn's arithmetic, ``X``'s and the weights' (float32 with both
        float32, else float64)."""
        check_is_fitted(self, "model_")
        # model_.predict scans each chunk for NaN/inf as it reaches it (a pass over data in
        # cache), so scikit-learn's separate pass over the whole of X is skipped
        refuse_complex(X, "X")
        X = validate_data(self, X, reset=False, dtype=[np.float64, np.float32],
                          accept_sparse=["csr", "csc", "coo"], ensure_all_finite=False)
        dtype = np.result_type(X.dtype, self.model_.dtype)
        return self.model_.predict(X).astype(np.float64), dtype
