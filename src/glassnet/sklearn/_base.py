"""What ``MLPClassifier`` and ``MLPRegressor`` share: fitting in named stages through
``glassnet.fit_iter`` (or, on scikit-learn's networks, its L-BFGS: ``_lbfgs.py``), with
scikit-learn's randomness (``_random.py``) and rule (``_rule.py``); the fitted attributes
are recorded and shown by ``_attributes.py``.

A call to ``fit`` or ``partial_fit`` (``_BaseMLP._fit``), stage by stage::

    _validate_params()       every parameter against its constraint (_params.PARAMETERS)
    _prepare_data(...)       X checked (dense or sparse), targets encoded (classes_ on a
                             first fit), weights
    random_state_of_call()   this call's RandomState, as scikit-learn makes it (_random.py)
    _start_model(...)        a new network (scikit-learn's starting weights with
                             init='sklearn') and fresh counters, unless warm-started
    _prepare_optimizer(...)  the optimizer and schedule (partial_fit keeps them)
    _start_run(...)          the fit_iter generator: scikit-learn's validation rows and order
                             of the rows, its rule (_rule._Convergence)
    _train(...)              the epochs; Ctrl-C keeps what was learnt
    _record(...)             loss_curve_, t_, best_loss_, ... from the run's History

The rule's callback only reads the training state and sets what a schedule sets (the rate,
``state.stop``): the attributes are derived from the History after the run, so they always
describe the epochs that ended.
"""

from __future__ import annotations

import contextlib
import copy
import math
import numbers
import warnings

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.class_weight import compute_sample_weight
from sklearn.utils.validation import column_or_1d, validate_data

from .._checks import check_finite, check_sample_weight, refuse_complex
from .._version import check as check_version
from .._version import stamp
from ..callbacks import DivergenceError, LearningRateSchedule
from ..history import History, TrainState
from ..losses import get_loss
from ..model import MLP
from ..optim import LBFGS, OPTIMIZERS, SGD, ScikitLearnAdam, get_optimizer
from ..schedules import Adaptive, InverseScaling, get_schedule
from ..train import fit_iter
from . import _lbfgs as lbfgs
from ._attributes import _FittedAttributes
from ._params import PARAMETERS, layer_sizes
from ._random import initial_parameters, random_state_of_call, validation_rows
from ._rule import _Convergence, _Verbose

# scikit-learn's message for weights that stopped being finite, which its users match on
NONFINITE = ("Solver produced non-finite parameter weights. The input data may contain large "
             "values and need to be preprocessed.")


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


class _Before:
    """The estimator as it was before a call, to put back if the call fails: its attributes
    (the setup code replaces them rather than changing them in place), copies of the
    ``trained`` ones (training changes them in place: the network, the optimizer's moments,
    the schedule's progress), and the state of a ``RandomState`` given as ``random_state``,
    which the starting weights and the validation split draw from, so that the next call
    draws what it would have drawn."""

    def __init__(self, estimator, trained: tuple[str, ...] = ()) -> None:
        self.estimator, self.saved = estimator, dict(estimator.__dict__)
        self.copies = {name: copy.deepcopy(self.saved[name]) for name in trained
                       if name in self.saved}
        rs = estimator.random_state
        self.rs_state = rs.get_state() if isinstance(rs, np.random.RandomState) else None

    @contextlib.contextmanager
    def kept_on_error(self, trained: bool):
        """Put the estimator back if the block raises; ``trained``: with the copies (the
        block trains), else with the very objects it held (the block only replaces them)."""
        try:
            yield
        except BaseException:
            attributes = self.estimator.__dict__
            attributes.clear()
            attributes.update(self.saved)
            if trained:
                attributes.update(self.copies)
            if self.rs_state is not None:
                self.estimator.random_state.set_state(self.rs_state)
            raise


def _check_weights(sample_weight, n_samples: int) -> np.ndarray | None:
    """``sample_weight`` as float64 of shape ``(n_samples,)``; one number weighs every
    sample alike, as in scikit-learn."""
    if sample_weight is None:
        return None
    if isinstance(sample_weight, numbers.Real):
        sample_weight = np.full(n_samples, sample_weight, dtype=np.float64)
    return check_sample_weight(sample_weight, n_samples)


class _BaseMLP(_FittedAttributes, BaseEstimator):
    """Shared machinery; see ``MLPClassifier`` and ``MLPRegressor``."""

    _is_classifier = False
    _parameters = PARAMETERS  # name -> constraint; MLPRegressor adds its loss

    def __getstate__(self) -> dict:
        """scikit-learn's state (with its own version) and glassnet's version."""
        return stamp(super().__getstate__())

    def __setstate__(self, state: dict) -> None:
        """A pickle written by another glassnet (or carrying no version) warns."""
        state = dict(state)
        check_version(state, type(self).__name__)
        super().__setstate__(state)
    def _store(self, params: dict) -> None:
        """Keep every constructor argument as an attribute of the same name (scikit-learn's
        rule: ``__init__`` stores its parameters and does nothing else)."""
        for name, value in params.items():
            if name not in ("self", "__class__"):
                setattr(self, name, value)

    # -- fitting, stage by stage -------------------------------------------------------------
    def fit(self, X, y, sample_weight=None):
        """Train on ``X`` and ``y`` from a new network (or, with ``warm_start``, from the last
        fit's weights).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
        sample_weight : array-like of shape (n_samples,) or float, optional
            Weight of each sample in the loss (a float weighs every sample alike).

        Returns
        -------
        self
        """
        return self._fit(X, y, sample_weight)

    def _fit(self, X, y, sample_weight=None, incremental=False, classes=None):
        """``fit`` (``max_iter`` epochs) or, ``incremental``, ``partial_fit`` (one epoch)."""
        # A call on a fitted estimator is all or nothing: if it fails, in its setup or in
        # any epoch (a DivergenceError), the estimator is as it was before the call. A first
        # fit that fails in training has nothing to go back to: it keeps the epochs that ended.
        fitted = hasattr(self, "model_")
        before = _Before(self, ("model_", "_optimizer", "_schedule") if fitted else ())
        # Everything up to the first epoch either succeeds or leaves the estimator as it was:
        # validate_data records X's width and names, and the targets set classes_, before the
        # model is built and fit_iter checks its arguments; a refit rejected there must not
        # leave a previous fit's model read through the new classes_.
        with before.kept_on_error(trained=False):
            self._validate_params()
            first = not (incremental or self.warm_start) or not fitted
            X, targets, sample_weight = self._prepare_data(X, y, sample_weight, first, classes)
            rs = random_state_of_call(self.random_state)
            if first:
                self._start_model(X, targets, rs)
            self._prepare_optimizer(incremental)
            run, rule = self._start_run(X, targets, sample_weight, incremental, rs)
        with before.kept_on_error(trained=True) if fitted else contextlib.nullcontext():
            state, interrupted = self._train(run, rule, undone=fitted)
        if state is not None and not interrupted:
            self._warn_if_not_converged(state, rule, incremental)
        return self

    def _validate_params(self) -> None:
        """Check every parameter against its constraint in ``_parameters``, then the one rule
        between two of them."""
        for name, check in self._parameters.items():
            check(getattr(self, name), name)
        if self.early_stopping and self.validation_fraction == 0:
            raise ValueError("early_stopping needs a validation_fraction above 0")

    def _prepare_data(self, X, y, sample_weight, first: bool, classes):
        """``X`` as a float array or CSR matrix (``n_features_in_`` set on a ``first`` fit),
        the targets as the loss takes them (``_encode_targets``; ``classes_``), and the
        sample weights times ``class_weight``."""
        # NaN/inf in X: glassnet's scan (one BLAS pass over a large C-ordered X, naming the
        # row) instead of scikit-learn's
        refuse_complex(X, "X")
        refuse_complex(y, "y")
        X, y = validate_data(self, X, y, reset=first, multi_output=True,
                             y_numeric=not self._is_classifier, dtype=[np.float64, np.float32],
                             accept_sparse=["csr", "csc", "coo"], ensure_all_finite=False)
        check_finite(X, "X")
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)  # a column vector is a 1-D target, with a warning
        sample_weight = _check_weights(sample_weight, X.shape[0])
        targets = self._encode_targets(y, first, classes)
        class_weight = getattr(self, "class_weight", None)
        if class_weight is not None:
            if getattr(self, "_multilabel", False):
                raise ValueError("class_weight is not supported for multilabel targets")
            cw = compute_sample_weight(class_weight, y)
            sample_weight = cw if sample_weight is None else sample_weight * cw
        return X, targets, sample_weight

    def _start_model(self, X, targets: np.ndarray, rs: np.random.RandomState) -> None:
        """A new network, then fresh counters. Its weights come from ``rs``: with
        ``init='sklearn'`` drawn as scikit-learn draws them (``_random.initial_parameters``),
        else by glassnet's initialiser with zero biases; then one draw per dropout layer
        seeds its masks."""
        n_outputs = targets.shape[1] if targets.ndim == 2 else len(self.classes_)
        hidden = layer_sizes(self.hidden_layer_sizes, "hidden_layer_sizes")
        sizes = [X.shape[1], *hidden, n_outputs]
        names = ([self.activation] * len(hidden) if isinstance(self.activation, str)
                 else list(self.activation))
        start = initial_parameters(sizes, names, rs) if self.init == "sklearn" else None
        dtype = X.dtype if self.dtype == "auto" else self.dtype  # X: float32 or float64
        self.model_ = MLP(sizes, activation=names[0] if isinstance(self.activation, str)
                          else names, init="zeros" if start else self.init,
                          dropout=self.dropout, dtype=dtype, seed=rs)
        if start:
            dense = [layer for layer in self.model_.layers if hasattr(layer, "W")]
            for layer, (W, b) in zip(dense, start):
                layer.W[...], layer.b[...] = W, b  # rounded to the model's dtype
        self._start_counters()

    def _start_counters(self) -> None:
        """The counters of a first fit, as scikit-learn's ``_initialize`` sets them."""
        self.n_iter_, self.t_, self._no_improvement_count = 0, 0, 0
        self.loss_curve_ = []
        self.best_loss_ = None if self.early_stopping else np.inf  # as scikit-learn
        self.validation_scores_ = [] if self.early_stopping else None
        self.best_validation_score_ = -np.inf if self.early_stopping else None

    def _prepare_optimizer(self, incremental: bool) -> None:
        """A new optimizer and schedule for ``fit``; ``partial_fit`` keeps the ones it has
        (their moments, their rate, the schedule's progress)."""
        if incremental and hasattr(self, "_optimizer"):
            return
        self._optimizer = self._make_optimizer()
        # a copy: the user's object stays untouched
        self._schedule = None if self.schedule is None else copy.deepcopy(
            get_schedule(self.schedule))

    def _make_optimizer(self):
        """The ``optimizer`` given (a copy), or the one ``solver`` names, from the estimator's
        settings."""
        if self.optimizer is not None:
            return copy.deepcopy(get_optimizer(self.optimizer))
        if self.solver == "lbfgs":
            return LBFGS(max_iter=self.max_iter, max_fun=self.max_fun, tol=self.tol)
        if self.solver == "sgd":
            return SGD(self.learning_rate_init, momentum=self.momentum,
                       nesterov=self.nesterovs_momentum and self.momentum > 0)
        if self.solver == "adam":  # scikit-learn's Adam: its eps sits where torch's does not
            return ScikitLearnAdam(self.learning_rate_init, betas=(self.beta_1, self.beta_2),
                                   eps=self.epsilon)
        return OPTIMIZERS[self.solver](self.learning_rate_init)

    def _start_run(self, X, targets, sample_weight, incremental: bool,
                   rs: np.random.RandomState):
        """The ``fit_iter`` generator of this call (its arguments checked already), and
        scikit-learn's rule that it runs with (None for L-BFGS, which trains full-batch to
        its own tolerance). ``rs`` holds out the validation rows and shuffles the rows, as
        in scikit-learn."""
        stochastic = not isinstance(self._optimizer, LBFGS)
        if not stochastic and self._optimizer.history == 10 and lbfgs.supported(
                self.model_, self._loss_name):  # scikit-learn's network: its L-BFGS
            return self._lbfgs_run(X, targets, sample_weight), None
        early = self.early_stopping and not incremental and stochastic
        validation_data = None
        if early:
            X, targets, sample_weight, validation_data = self._hold_out(
                X, targets, sample_weight, rs)
        rule = self._convergence_rule(early, X.shape[0]) if stochastic else None
        callbacks = [] if rule is None else [rule]
        if self._schedule is not None:  # partial_fit resumes it; fit starts it afresh
            callbacks.append(LearningRateSchedule(self._schedule, resume=incremental))
        progress = isinstance(self.verbose, str) and self.verbose == "progress"
        if self.verbose and not progress and rule is not None:
            callbacks.append(_Verbose(rule))
        run = fit_iter(self.model_, X, targets, loss=self._loss_name, optimizer=self._optimizer,
                       epochs=1 if incremental else self.max_iter,
                       batch_size=self._batch_size(X.shape[0]) if stochastic else None,
                       shuffle=self.shuffle, seed=rs, sample_weight=sample_weight,
                       validation_data=validation_data, l2=self.alpha, l2_per_sample=True,
                       callbacks=callbacks, progress=progress,
                       check_input=False)  # _prepare_data scanned X for NaN/inf
        return run, rule

    def _lbfgs_run(self, X, targets, sample_weight):
        """scikit-learn's L-BFGS, float for float (``_lbfgs.minimize``, which warns as
        scikit-learn does when SciPy stops short), as a run of one state, the result's; the
        run raises scikit-learn's error for weights that are no longer finite."""
        state = TrainState(self.model_, self._optimizer, get_loss(self._loss_name), History())
        n_iter, loss, _ = lbfgs.minimize(
            self.model_, X, targets, loss_name=self._loss_name, alpha=self.alpha,
            sample_weight=sample_weight, max_iter=self._optimizer.max_iter,
            max_fun=self._optimizer.max_fun, tol=self._optimizer.tol,
            verbose=bool(self.verbose))
        if not np.isfinite(self.model_.flat_params).all():
            raise DivergenceError("L-BFGS ended on weights that are not all finite.")
        state.epoch, state.logs = n_iter, {"loss": loss}
        state.history.append(n_iter, state.logs)
        yield state

    def _hold_out(self, X, targets, sample_weight, rs: np.random.RandomState):
        """``(X, targets, sample_weight)`` to train on and the validation data, split as
        scikit-learn's ``train_test_split`` splits them: stratified by the class when the
        network has one output (binary targets), in scikit-learn's order of the rows."""
        stratify = None
        if self._is_classifier and targets.ndim == 2 and targets.shape[1] == 1:
            stratify = targets.astype(bool)  # scikit-learn's binarized y, as its errors name it
        train, val = validation_rows(X.shape[0], self.validation_fraction, stratify, rs)
        if sample_weight is not None and not np.sum(sample_weight[val]) > 0:
            raise ValueError(f"the {len(val)} validation rows that early_stopping holds out "
                             "carry no weight (sample_weight times class_weight sums to 0 "
                             "there): nothing to score the epochs on")
        pick = (lambda a, rows: None if a is None else a[rows])
        validation = (X[val], targets[val], pick(sample_weight, val))
        return X[train], targets[train], pick(sample_weight, train), validation

    def _batch_size(self, n_train: int) -> int:
        """``batch_size`` for ``n_train`` training rows: 'auto' is ``min(200, n_train)``; a
        larger size is clipped to ``n_train``, with a warning, as in scikit-learn."""
        if self.batch_size == "auto":
            return min(200, n_train)
        if self.batch_size > n_train:
            warnings.warn("Got `batch_size` less than 1 or larger than sample size. It is "
                          f"going to be clipped (batch_size={self.batch_size}, "
                          f"{n_train} training samples)", UserWarning)
        return min(self.batch_size, n_train)

    def _convergence_rule(self, early: bool, n_train: int) -> _Convergence:
        """scikit-learn's rule for this run, resumed where the last call left it (warm start,
        ``partial_fit``). Its learning-rate rules apply to SGD by ``solver``, as
        scikit-learn's ``learning_rate`` does."""
        sgd = self.solver == "sgd"
        invscaling = None
        if sgd and self.learning_rate == "invscaling":
            invscaling = InverseScaling(power_t=self.power_t)
            invscaling.start(self.learning_rate_init)
        metric = ("val_accuracy" if self._is_classifier else "val_r2") if early else "loss"
        plateau = self._plateau(early, adaptive=sgd and self.learning_rate == "adaptive")
        return _Convergence(plateau, invscaling, metric, t0=self.t_, rows=n_train,
                            keep_best=early)

    def _plateau(self, early: bool, adaptive: bool) -> Adaptive:
        """scikit-learn's count of epochs without improvement (``schedules.Adaptive``) on the
        training loss, or the validation score with early stopping, resumed from the
        estimator's best and count and the optimizer's rate. Without ``adaptive`` the first
        plateau stops training (``min_lr=inf``)."""
        plateau = Adaptive(tol=self.tol, n_iter_no_change=self.n_iter_no_change, divisor=5.0,
                           min_lr=1e-6 if adaptive else math.inf, mode="max" if early else "min")
        plateau.start(self._optimizer.lr)
        best = self.best_validation_score_ if early else self.best_loss_
        if best is None:  # best_loss_ after a fit with early stopping, say
            best = -np.inf if early else np.inf
        plateau.best, plateau.no_improvement = best, self._no_improvement_count
        return plateau

    def _train(self, run, rule: _Convergence | None, undone: bool = False):
        """Run the epochs; return the last state (None if no epoch ended) and whether Ctrl-C
        or a divergence ended them. The attributes are recorded whatever ends the run: an
        error (then raised), Ctrl-C (scikit-learn's rule: a warning, and the fit keeps what
        it learnt, the best epoch's weights with early stopping; L-BFGS's result is all or
        nothing, and scikit-learn raises there too), or a divergence (``_diverged``; ``undone``:
        the caller then puts the estimator back as it was before the call)."""
        state, diverged = None, None
        try:
            for state in run:
                pass
        except KeyboardInterrupt:
            if rule is None:
                raise
            warnings.warn("Training interrupted by user.", UserWarning)
            return state, True
        except DivergenceError as exc:
            diverged = exc
        finally:
            self._record(state, rule)
        if diverged is not None:
            self._diverged(diverged, rule, undone)
        return state, diverged is not None

    def _diverged(self, exc: DivergenceError, rule: _Convergence | None,
                  undone: bool = False) -> None:
        """A loss or weights that stopped being finite. With early stopping, as in
        scikit-learn, training stops there with a NaN validation score for that epoch and
        keeps the best epoch's weights (the starting ones if none was scored), with a
        ConvergenceWarning; otherwise a ``DivergenceError`` (a ValueError) with
        scikit-learn's message, then glassnet's (which epoch), the weights of that epoch's
        start kept, or, ``undone``, the whole estimator as it was before the call."""
        if rule is None or not rule.keep_best:
            after = (" The estimator is as it was before this call: its network, optimizer "
                     "and fitted attributes were put back." if undone else "")
            raise DivergenceError(f"{NONFINITE} {exc}{after}") from None
        self.n_iter_ += 1
        self.loss_curve_ = [*(self.loss_curve_ or ()), math.nan]
        self.validation_scores_ = [*(self.validation_scores_ or ()), math.nan]
        warnings.warn(f"Training stopped: {exc} The weights of the epoch with the best "
                      "validation score are kept.", ConvergenceWarning)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.non_deterministic = False
        tags.input_tags.sparse = True  # CSR, CSC and COO, kept sparse
        return tags
