"""What ``MLPClassifier`` and ``MLPRegressor`` share: parameter checks, the optimizer and
schedule they build, fitting through ``glassnet.fit_iter``, scikit-learn's stopping rule, and
the fitted attributes in scikit-learn's form."""

from __future__ import annotations

import contextlib
import copy
import numbers
import warnings

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.class_weight import compute_sample_weight
from sklearn.utils.validation import check_is_fitted, column_or_1d, validate_data

from .._checks import check_finite, check_number, check_sample_weight
from ..callbacks import Callback, LearningRateSchedule
from ..model import MLP
from ..optim import LBFGS, OPTIMIZERS, SGD, Adam, get_optimizer
from ..schedules import get_schedule
from ..train import fit_iter, validation_size

def _set_lr(optimizer, lr: float) -> None:
    """A new learning rate, with scikit-learn's momentum rule: its velocity
    ``v = momentum v - lr g`` keeps each step's own rate, while glassnet's SGD (torch's rule,
    ``b = momentum b + g``, ``p -= lr b``) applies today's rate to the whole buffer. The two
    agree when ``b = -v / lr``, so a change of rate rescales ``b`` by ``old / new``."""
    if isinstance(optimizer, SGD) and optimizer.momentum and lr != optimizer.lr:
        for slots in optimizer.state.values():
            buffer = slots.get("momentum_buffer")
            if buffer is not None:
                buffer *= optimizer.lr / lr
    optimizer.lr = lr


class _Convergence(Callback):
    """scikit-learn's stopping rule, epoch by epoch.

    Without early stopping: count epochs whose training loss is not below ``best - tol``;
    with it: epochs whose validation score (accuracy or R^2) is not above ``best + tol``.
    After more than ``n_iter_no_change`` such epochs, stop; with ``learning_rate='adaptive'``
    and SGD, divide the learning rate by 5 instead, until it falls below 1e-6.
    """

    def __init__(self, estimator, early_stopping: bool) -> None:
        self.est = estimator
        self.early_stopping = early_stopping  # False in partial_fit, as in scikit-learn

    def on_epoch_end(self, state) -> None:
        est = self.est
        est.loss_curve_.append(state.logs["loss"])
        est.t_ += state.samples_seen - self._seen
        self._seen = state.samples_seen
        if self.early_stopping:
            score = state.logs[est._score_key]
            est.validation_scores_.append(score)
            est._no_improvement_count = (est._no_improvement_count + 1
                                         if score < est.best_validation_score_ + est.tol else 0)
            if score > est.best_validation_score_:
                est.best_validation_score_ = score
                est._best_params = state.model.flat_params.copy()
        else:
            loss = est.loss_curve_[-1]
            # best_loss_ is None after a fit with early stopping (scikit-learn's convention)
            best = np.inf if est.best_loss_ is None else est.best_loss_
            est._no_improvement_count = (est._no_improvement_count + 1
                                         if loss > best - est.tol else 0)
            est.best_loss_ = min(best, loss)
        if est._invscaling:  # lr = lr0 / (t + 1)^power_t, t = samples seen (scikit-learn)
            _set_lr(state.optimizer, est.learning_rate_init / (est.t_ + 1) ** est.power_t)
        if est._no_improvement_count > est.n_iter_no_change:
            if est._adaptive and state.optimizer.lr > 1e-6:
                _set_lr(state.optimizer, state.optimizer.lr / 5.0)
                est._no_improvement_count = 0
            else:
                state.stop = True

    def on_train_begin(self, state) -> None:
        self._seen = 0


def _stochastic_solver(estimator) -> bool:
    """``partial_fit`` exists only for stochastic solvers, as in scikit-learn (``available_if``:
    ``hasattr(est, 'partial_fit')`` is False for L-BFGS, by ``solver`` or ``optimizer``)."""
    optimizer = estimator.optimizer
    lbfgs = (isinstance(optimizer, LBFGS) or optimizer == "lbfgs"
             or (optimizer is None and estimator.solver == "lbfgs"))
    if lbfgs:
        raise AttributeError("partial_fit is only available for stochastic optimizers; "
                             "L-BFGS is not one")
    return True


@contextlib.contextmanager
def _unchanged_on_error(estimator):
    """Restore ``estimator``'s attributes if the block raises. The setup code replaces
    attributes rather than changing them in place, but for the random generator, which the
    validation split draws from: its state is restored too."""
    saved = dict(estimator.__dict__)
    rng = saved.get("_rng")
    rng_state = None if rng is None else rng.bit_generator.state
    try:
        yield
    except BaseException:
        estimator.__dict__.clear()
        estimator.__dict__.update(saved)
        if rng is not None:
            rng.bit_generator.state = rng_state
        raise


class _BaseMLP(BaseEstimator):
    """Shared machinery; see ``MLPClassifier`` and ``MLPRegressor``."""

    _is_classifier = False

    def _store(self, params: dict) -> None:
        """Keep every constructor argument as an attribute of the same name (scikit-learn's
        rule: ``__init__`` stores its parameters and does nothing else)."""
        for name, value in params.items():
            if name not in ("self", "__class__"):
                setattr(self, name, value)

    # -- configuration -----------------------------------------------------------------------
    def _check_params(self) -> None:
        sizes = self.hidden_layer_sizes
        try:
            hidden = [sizes] if isinstance(sizes, (int, np.integer)) else list(sizes)
        except TypeError:
            hidden = None
        if (isinstance(sizes, (bool, np.bool_, str)) or hidden is None
                or any(isinstance(h, (bool, np.bool_)) or not isinstance(h, (int, np.integer))
                       or h <= 0 for h in hidden)):
            raise ValueError(f"hidden_layer_sizes must be a positive int or a sequence of "
                             f"them, got {sizes!r}")
        for name in ("max_iter", "max_fun"):
            check_number(getattr(self, name), name, integer=True, ge=1)
        if self.n_iter_no_change != np.inf:  # inf: never stop early (scikit-learn's way)
            check_number(self.n_iter_no_change, "n_iter_no_change (an int or np.inf)",
                         integer=True, ge=1)
        for name in ("shuffle", "warm_start", "early_stopping", "nesterovs_momentum"):
            if not isinstance(getattr(self, name), (bool, np.bool_)):
                raise ValueError(f"{name} must be True or False, got {getattr(self, name)!r}")
        rs = self.random_state
        if not (rs is None or isinstance(rs, np.random.RandomState)
                or (isinstance(rs, (int, np.integer)) and not isinstance(rs, bool)
                    and 0 <= rs < 2**32)):
            raise ValueError(f"random_state must be None, an int in [0, 2**32 - 1] or a "
                             f"numpy RandomState, got {rs!r}")
        activations = ([self.activation] if isinstance(self.activation, str)
                       else self.activation)
        if (not isinstance(activations, (list, tuple))
                or not all(isinstance(a, str) for a in activations)):
            raise ValueError(f"activation must be a name or a list of names (one per hidden "
                             f"layer), got {self.activation!r}")
        for name in ("alpha", "tol", "power_t"):
            check_number(getattr(self, name), name, ge=0)
        check_number(self.learning_rate_init, "learning_rate_init", gt=0)
        check_number(self.momentum, "momentum", ge=0, le=1)
        check_number(self.beta_1, "beta_1", ge=0, lt=1)
        check_number(self.beta_2, "beta_2", ge=0, lt=1)
        check_number(self.epsilon, "epsilon", gt=0)
        check_number(self.validation_fraction, "validation_fraction", ge=0, lt=1)
        if self.early_stopping and self.validation_fraction == 0:
            raise ValueError("early_stopping needs a validation_fraction above 0")
        if self.solver not in ("lbfgs", *OPTIMIZERS):
            raise ValueError(f"solver must be 'lbfgs' or one of {sorted(OPTIMIZERS)}, "
                             f"got {self.solver!r}")
        if self.learning_rate not in ("constant", "invscaling", "adaptive"):
            raise ValueError("learning_rate must be 'constant', 'invscaling' or 'adaptive', "
                             f"got {self.learning_rate!r}")
        if self.batch_size != "auto":
            check_number(self.batch_size, "batch_size ('auto' or an int)", integer=True, ge=1)
        self._hidden = [int(h) for h in hidden]

    def _activations(self):
        names = [self.activation] if isinstance(self.activation, str) else list(self.activation)
        return names[0] if len(names) == 1 else names

    def _make_optimizer(self):
        if self.optimizer is not None:
            return copy.deepcopy(get_optimizer(self.optimizer))
        if self.solver == "lbfgs":
            return LBFGS(max_iter=self.max_iter, max_fun=self.max_fun, tol=self.tol)
        if self.solver == "sgd":
            return SGD(self.learning_rate_init, momentum=self.momentum,
                       nesterov=self.nesterovs_momentum and self.momentum > 0)
        if self.solver == "adam":
            return Adam(self.learning_rate_init, betas=(self.beta_1, self.beta_2), eps=self.epsilon)
        return OPTIMIZERS[self.solver](self.learning_rate_init)

    def _make_schedule(self):
        if self.schedule is None:
            return None
        return copy.deepcopy(get_schedule(self.schedule))  # the user's object stays untouched

    # -- fitting -----------------------------------------------------------------------------
    def _fit(self, X, y, sample_weight=None, incremental=False, classes=None):
        # Everything up to the first epoch either succeeds or leaves the estimator as it was:
        # validate_data records X's width and names, and the targets set classes_, before the
        # model is built and fit_iter checks its arguments; a refit rejected there must not
        # leave a previous fit's model read through the new classes_.
        with _unchanged_on_error(self):
            self._check_params()
            first = not (incremental or self.warm_start) or not hasattr(self, "model_")
            # NaN/inf in X: glassnet's scan (one BLAS pass over a large C-ordered X, naming the
            # row) instead of scikit-learn's
            X, y = validate_data(self, X, y, reset=first, multi_output=True, y_numeric=not
                                 self._is_classifier, dtype=[np.float64, np.float32],
                                 ensure_all_finite=False)
            check_finite(X, "X")
            if y.ndim == 2 and y.shape[1] == 1:
                y = column_or_1d(y, warn=True)  # a column vector is a 1-D target, with a warning
            if sample_weight is not None:
                if isinstance(sample_weight, numbers.Real):  # one for all, as scikit-learn
                    sample_weight = np.full(X.shape[0], sample_weight, dtype=np.float64)
                sample_weight = check_sample_weight(sample_weight, X.shape[0])
            targets = self._encode_targets(y, first, classes)
            class_weight = getattr(self, "class_weight", None)
            if class_weight is not None:
                if getattr(self, "_multilabel", False):
                    raise ValueError("class_weight is not supported for multilabel targets")
                cw = compute_sample_weight(class_weight, y)
                sample_weight = cw if sample_weight is None else sample_weight * cw
            if first:
                rs = self.random_state
                if isinstance(rs, np.random.RandomState):
                    rs = int(rs.randint(np.iinfo(np.int32).max))
                self._rng = np.random.default_rng(rs)
                sizes = [X.shape[1], *self._hidden, targets.shape[1] if targets.ndim == 2 else
                         len(self.classes_)]
                self.model_ = MLP(sizes, activation=self._activations(), init=self.init,
                                  dropout=self.dropout, dtype=self.dtype, seed=self._rng)
                self.n_iter_, self.t_ = 0, 0
                self.loss_curve_ = []
                self._no_improvement_count = 0
                self.best_loss_ = None if self.early_stopping else np.inf  # as scikit-learn
                self.validation_scores_ = [] if self.early_stopping else None
                self.best_validation_score_ = -np.inf if self.early_stopping else None
            if not incremental or not hasattr(self, "_optimizer"):
                self._optimizer = self._make_optimizer()
                self._schedule = self._make_schedule()  # kept across partial_fit calls
            stochastic = not isinstance(self._optimizer, LBFGS)
            self._invscaling = self.learning_rate == "invscaling" and self.solver == "sgd"
            self._adaptive = self.learning_rate == "adaptive" and self.solver == "sgd"
            early = self.early_stopping and not incremental and stochastic
            # the rows left for training, after early stopping's held-out part
            n_train = len(X) - (validation_size(len(X), self.validation_fraction) if early else 0)
            if self.batch_size == "auto":
                batch = min(200, n_train)
            else:
                if self.batch_size > n_train:
                    warnings.warn(f"batch_size={self.batch_size} is larger than the {n_train} "
                                  "training samples: it is clipped to that", UserWarning)
                batch = min(self.batch_size, n_train)
            epochs = 1 if incremental else self.max_iter
            callbacks = [_Convergence(self, early)] if stochastic else []
            if self._schedule is not None:  # partial_fit resumes it; fit starts it afresh
                callbacks.append(LearningRateSchedule(self._schedule, resume=incremental))
            self._score_key = "val_accuracy" if self._is_classifier else "val_r2"
            self._best_params = None
            run = fit_iter(self.model_, X, targets, loss=self._loss_name, optimizer=self._optimizer,
                           epochs=epochs, batch_size=batch if stochastic else None,
                           shuffle=self.shuffle, seed=self._rng, sample_weight=sample_weight,
                           validation_fraction=self.validation_fraction if early else 0.0,
                           l2=self.alpha, l2_per_sample=True,
                           callbacks=callbacks, progress=bool(self.verbose),
                           check_input=False)  # validate_data scanned X for NaN/inf
        # The attributes describe the epochs that ran, also when training stops on an error
        # (which is then raised) or on Ctrl-C (scikit-learn's rule: a warning, and the fit
        # keeps what it learnt, the best epoch's weights with early stopping).
        state, interrupted = None, False
        curves = [c for c in (self.loss_curve_, self.validation_scores_) if c is not None]
        lengths = [len(c) for c in curves]  # what earlier calls recorded
        t_before, best_before = self.t_, self.best_loss_
        try:
            for state in run:
                pass
        except KeyboardInterrupt:
            if not stochastic:  # L-BFGS's result is all or nothing (scikit-learn re-raises)
                raise
            interrupted = True
            warnings.warn("Training interrupted by user.", UserWarning)
        finally:
            # this call's epochs (scikit-learn 1.9), the ones that ended: the history's last
            # (for L-BFGS, its iterations)
            self.n_iter_ = state.history.epochs[-1] if state and state.history.epochs else 0
            kept = [length + (self.n_iter_ if stochastic else 0) for length in lengths]
            if any(len(c) > k for c, k in zip(curves, kept)):  # an epoch stopped in its
                for curve, k in zip(curves, kept):  # callbacks, after _Convergence took it:
                    del curve[k:]  # it is not recorded, nor counted in t_ and best_loss_
                self.t_ = t_before + self.n_iter_ * n_train
                if best_before is not None and not early:
                    self.best_loss_ = min([best_before, *self.loss_curve_[lengths[0]:]])
            if state is not None:
                self.history_ = state.history
                self.loss_ = state.history["loss"][-1]
                if not stochastic:
                    self.best_loss_ = self.loss_
                    self.loss_curve_ = None
            if early and self._best_params is not None:
                self.model_.flat_params[...] = self._best_params
        if state is None or interrupted:
            return self
        if stochastic and not incremental and not state.stop and self.n_iter_ == self.max_iter:
            warnings.warn(f"Stochastic optimizer: maximum iterations ({self.max_iter}) reached "
                          "and the optimization hasn't converged yet.", ConvergenceWarning)
        if not stochastic and state.stop_reason:  # L-BFGS stopped short of convergence
            warnings.warn(state.stop_reason, ConvergenceWarning)
        return self

    def fit(self, X, y, sample_weight=None):
        """Train on ``X`` ``(n_samples, n_features)`` and ``y``; returns ``self``."""
        return self._fit(X, y, sample_weight)

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
        X = validate_data(self, X, reset=False, dtype=[np.float64, np.float32],
                          ensure_all_finite=False)
        dtype = np.result_type(X.dtype, self.model_.dtype)
        return self.model_.predict(X).astype(np.float64), dtype

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.non_deterministic = False
        return tags
