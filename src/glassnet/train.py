"""The training loop: ``fit`` and ``fit_iter`` (a generator that pauses after every epoch).

One epoch is::

    rng.shuffle(order)                              # the last epoch's order, shuffled again
    for each batch (x, y, w) of the shuffled data:
        z = model(x);  J = L(z, y, w) + l2/2 ||W||^2   # forward
        model.backward(dJ/dz)                        # gradients into model.flat_grads
        (on_batch_end callbacks)
        optimizer.step([flat_params], [flat_grads])  # one update for the whole network

The step is ``glassnet.step.SeparateStep`` for every optimizer; plain SGD takes it inside the
products of backprop (``glassnet.step.SGDInBackward``), when ``step_kernel`` chooses that.

``X`` may be a SciPy sparse matrix (any format, taken as CSR; see ``_checks.check_X``): the
first layer's products then run sparse (``Dense.forward``), a shuffled batch is the CSR
matrix's rows ``X[rows]`` (``_batches``), and nothing densifies the data.

Metrics: ``loss`` (mean batch objective over the epoch, as scikit-learn's ``loss_curve_``;
with sample weights the weighted mean over the epoch, where scikit-learn weighs each batch's
mean by its row count), ``accuracy`` for the cross-entropies and ``r2`` for the regression
losses (both from the batches' own forward passes, weighted by the sample weights), and
``lr``; with validation data, ``val_loss`` and ``val_accuracy`` or ``val_r2``, measured after
the epoch. L-BFGS (``optim.LBFGS``) trains full-batch through SciPy instead, and logs
``loss`` (and the ``val_`` metrics) of its result only.
"""

from __future__ import annotations

import copy
import weakref
from dataclasses import dataclass
from typing import Any, Iterator, Sequence

import numpy as np

from . import _blas
from ._checks import (as_dtype, as_rng, check_nonnegative, check_number, check_probability,
                      check_y_range, is_sparse)
from .callbacks import Callback, LearningRateSchedule, StopOnDivergence
from .history import History, TrainState
from .layers import Dense, Dropout
from .losses import MSE, BinaryCrossEntropy, CrossEntropy, Loss, get_loss
from .metrics import evaluate as _metrics
from .metrics import n_correct, r2_from_squares, residual_squares, total_squares
from .model import Sequential
from .optim import LBFGS, SGD, Optimizer, get_optimizer
from .schedules import get_schedule
from .data import _class_weights, _validation
from .step import SeparateStep, SGDInBackward, objective_and_backward, prepare_data

__all__ = ["fit", "fit_iter", "History", "TrainState", "evaluate"]


@dataclass(frozen=True)
class _Run:
    """One training run's data and settings, validated by ``fit_iter``: what the epoch loop
    reads, in one object instead of a dozen positional arguments."""

    X: Any  # an array, or a SciPy CSR matrix (sparse is True)
    y: np.ndarray
    sample_weight: np.ndarray | None
    val: tuple | None  # (X_val, y_val, w_val) or None
    callbacks: list
    epochs: int
    batch_size: int
    l2: float
    l2_per_sample: bool
    shuffle: bool
    rng: Any
    order: np.ndarray | None  # the rows' order, shuffled in place each epoch (None: no shuffle)
    kernel: Any  # the step: step.SeparateStep or step.SGDInBackward (see step_kernel)
    sparse: bool = False  # X is a SciPy CSR matrix: batches are its rows X[rows] (_batches)

    def l2_of(self, batch_weight: float) -> float:
        """The penalty's strength for a batch: ``l2``, or ``l2 / sum(w)`` per sample."""
        return self.l2 / batch_weight if self.l2_per_sample else self.l2

    # What an epoch needs of the data. A run whose rows live elsewhere (glassnet.dask)
    # overrides these three; the epoch loop around them (shuffling, logs, validation,
    # callbacks, history) is the same for every run.
    def totals(self, classify: bool) -> tuple[float, Any]:
        """The training rows' total weight, and ``SS_tot`` per output for regression."""
        total = self.X.shape[0] if self.sample_weight is None else float(np.sum(self.sample_weight))
        return total, None if classify else total_squares(self.y, self.sample_weight)

    def scratch(self) -> tuple | None:
        """The work arrays a shuffled batch is gathered into (see ``_batches``)."""
        if not self.shuffle or self.sparse:  # sparse batches are X[rows]
            return None
        return (np.empty((self.batch_size, *self.X.shape[1:]), self.X.dtype),
                np.empty((self.batch_size, *self.y.shape[1:]), self.y.dtype))

    def one_epoch(self, state: TrainState, order: np.ndarray | None, scratch: tuple | None,
                  hooks: list) -> tuple[float, Any]:
        """One pass over the batches (``_one_epoch``)."""
        return _one_epoch(state, self, order, scratch, hooks)


# SGD -> {model: its fused step}: each keeps the decay its model's weights still owe
_KERNELS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def step_kernel(model: Sequential, optimizer: Any, callbacks: Sequence[Any]) -> Any:
    """The training step for this run, chosen by name: ``"sgd_in_backward"``
    (``step.SGDInBackward``) for plain ``optim.SGD`` (no momentum, weight decay or clipping)
    on a network whose layers with parameters are all ``Dense``, of at least
    ``_blas.MIN_SIZE`` parameters (below that NumPy's product and then the update are fewer
    calls), when no ``on_batch_end`` hook but the divergence guard's could read or change
    anything between backward and step; ``"separate"`` (``step.SeparateStep``) otherwise.
    Sparse data keeps the fused step: its first layer steps through SciPy's CSC kernel
    (``_blas.sparse_gemm_tn``), which reads and writes only the rows of ``W`` the batch's
    columns reach, where the separate step writes all of ``dW`` and updates every weight.
    An optimizer keeps one fused step per model across runs, and with it the decay that
    float32 weights could not take yet (``partial_fit`` calls, one batch each)."""
    fused = (_is_plain_sgd(optimizer) and model.flat_params.size >= _blas.MIN_SIZE
             and all(type(layer) is Dense or not layer.param_names for layer in model.layers)
             and all(getattr(hook, "__func__", None) is StopOnDivergence.on_batch_end
                     for hook in _hooks(callbacks, "on_batch_end")))
    if not fused:
        return STEP_KERNELS["separate"](optimizer)
    per_model = _KERNELS.setdefault(optimizer, weakref.WeakKeyDictionary())
    if model not in per_model:  # the decay a model's weights still owe is that model's
        per_model[model] = STEP_KERNELS["sgd_in_backward"](optimizer)
    return per_model[model]


def _is_plain_sgd(optimizer: Any) -> bool:
    """``optim.SGD`` itself (not a subclass) without momentum, weight decay or clipping:
    ``p = p - lr * g``, linear in the gradient."""
    return (type(optimizer) is SGD and optimizer.momentum == 0 and optimizer.weight_decay == 0
            and optimizer.clip_norm is None and optimizer.clip_value is None)


STEP_KERNELS = {kernel.name: kernel for kernel in (SeparateStep, SGDInBackward)}


def fit_iter(model: Sequential, X: Any, y: Any, *, loss: str | Loss = "cross_entropy",
             optimizer: Any = "adam", epochs: int = 10, batch_size: int | None = 32,
             shuffle: bool = True, seed: Any = None, validation_data: tuple | None = None,
             validation_fraction: float = 0.0, sample_weight: Any = None,
             class_weight: Any = None, l2: float = 0.0, l2_per_sample: bool = False,
             schedule: Any = None, callbacks: Sequence[Any] = (),
             progress: bool = False, check_input: bool = True) -> Iterator[TrainState]:
    """Train ``model`` like ``fit``, yielding the ``TrainState`` after every epoch.

    Pause, inspect, plot, then continue with ``next()``; closing the generator ends
    training cleanly (``on_train_end`` callbacks run). Parameters are those of ``fit``; they
    are checked when ``fit_iter`` is called, and the callbacks check theirs (a ``val_``
    metric needs validation data) in ``on_train_begin``, at the first ``next()``: all before
    the first epoch.
    """
    _check_model(model, X, y, "fit_iter")
    return _train(*_setup(model, X, y, loss=loss, optimizer=optimizer, epochs=epochs,
                          batch_size=batch_size, shuffle=shuffle, seed=seed,
                          validation_data=validation_data,
                          validation_fraction=validation_fraction,
                          sample_weight=sample_weight, class_weight=class_weight, l2=l2,
                          l2_per_sample=l2_per_sample, schedule=schedule,
                          callbacks=callbacks, progress=progress, check_input=check_input))


def _setup(model: Sequential, X: Any, y: Any, *, loss, optimizer, epochs, batch_size, shuffle,
           seed, validation_data, validation_fraction, sample_weight, class_weight, l2,
           l2_per_sample, schedule, callbacks, progress, check_input) -> tuple[TrainState, _Run]:
    """``fit_iter``'s checks: the run's ``TrainState`` and its validated ``_Run``."""
    loss = get_loss(loss)
    optimizer = get_optimizer(optimizer)
    epochs = check_number(epochs, "epochs", integer=True, ge=1)
    check_y_range(y, model.dtype, squared=isinstance(loss, MSE))
    if isinstance(validation_data, tuple) and len(validation_data) in (2, 3):
        check_y_range(validation_data[1], model.dtype, "validation_data: y",
                      squared=isinstance(loss, MSE))
    l2 = check_nonnegative(l2, "l2")
    validation_fraction = check_probability(validation_fraction, "validation_fraction")
    X, y, sample_weight = prepare_data(model, loss, X, y, sample_weight, check_input)
    if class_weight is not None:
        cw = _class_weights(class_weight, y)
        sample_weight = cw if sample_weight is None else sample_weight * cw
    rng = as_rng(seed)
    if isinstance(optimizer, Optimizer) and optimizer.t:  # stepped (or loaded) state of
        optimizer.check_params([model.flat_params])  # another model: refused now
    if isinstance(optimizer, LBFGS) and any(isinstance(layer, Dropout) and layer.p > 0
                                            for layer in model.layers):
        raise ValueError("L-BFGS needs a deterministic objective: use a model without "
                         "dropout, or a stochastic optimizer")

    (X, y, sample_weight), val = _validation(model, loss, X, y, sample_weight,
                                             validation_data, validation_fraction, rng)
    if sample_weight is not None and not np.sum(sample_weight) > 0:
        raise ValueError("the training samples' weights sum to zero: nothing to learn from "
                         "(sample_weight times class_weight, on the rows left for training)")
    n = X.shape[0]
    if batch_size is None:
        batch_size = n
    batch_size = min(check_number(batch_size, "batch_size", integer=True, ge=1), n)
    callbacks = _with_builtin_callbacks(callbacks, schedule, progress, epochs)
    state = TrainState(model, optimizer, loss, History(), validation=val is not None)
    run = _Run(X=X, y=y, sample_weight=sample_weight, val=val, callbacks=callbacks,
               epochs=epochs, batch_size=batch_size, l2=l2, l2_per_sample=l2_per_sample,
               shuffle=shuffle, rng=rng, order=np.arange(n) if shuffle else None,
               kernel=step_kernel(model, optimizer, callbacks), sparse=is_sparse(X))
    state.run = run
    return state, run


def _with_builtin_callbacks(callbacks, schedule, progress: bool, epochs: int) -> list:
    """The user's callbacks with the built-in ones: the divergence guard first (unless one
    is given), the schedule and the progress bar last."""
    callbacks = _check_callbacks(callbacks)
    if not any(isinstance(c, StopOnDivergence) for c in callbacks):
        callbacks.insert(0, StopOnDivergence())
    if schedule is not None:
        callbacks.append(LearningRateSchedule(get_schedule(schedule)))
    if progress:
        from .progress import ProgressBar
        callbacks.append(ProgressBar(epochs))
    # BackupAndRestore after all the others: it restores their state after their own
    # on_train_begin, and saves it after their on_epoch_end
    return ([c for c in callbacks if not getattr(c, "runs_last", False)]
            + [c for c in callbacks if getattr(c, "runs_last", False)])


_HOOKS = ("on_train_begin", "on_epoch_begin", "on_batch_end", "on_epoch_end", "on_train_end")
_A_CALLBACK = ("a callback is an instance of glassnet.Callback (or of a subclass), or any object "
               "with one or more of the methods " + ", ".join(_HOOKS) + ", each called with "
               "the TrainState (glassnet.callbacks describes the protocol)")


def _check_callbacks(callbacks: Any) -> list:
    """``callbacks`` as a list, each entry a callback (``_A_CALLBACK``); else a TypeError
    naming the entry. A function, a class or a bare callback would otherwise be skipped
    without a word, or fail later inside a hook."""
    if callbacks is None:
        return []
    if isinstance(callbacks, Callback) or (not isinstance(callbacks, type) and any(
            callable(getattr(callbacks, hook, None)) for hook in _HOOKS)):
        name = type(callbacks).__name__
        raise TypeError(f"callbacks must be a list of callbacks, got one {name}: pass "
                        f"callbacks=[{name}(...)]; {_A_CALLBACK}")
    try:
        entries = list(callbacks) if not isinstance(callbacks, (str, bytes)) else None
    except TypeError:
        entries = None
    if entries is None:
        raise TypeError(f"callbacks must be a list of callbacks, got {callbacks!r}; "
                        f"{_A_CALLBACK}")
    for i, c in enumerate(entries):
        if isinstance(c, type):
            raise TypeError(f"callbacks[{i}] is the class {c.__name__}, not an instance: pass "
                            f"{c.__name__}() (with its arguments); {_A_CALLBACK}")
        hooks = {hook: getattr(c, hook, None) for hook in _HOOKS}
        wrong = [hook for hook, m in hooks.items() if m is not None and not callable(m)]
        if wrong:
            raise TypeError(f"callbacks[{i}].{wrong[0]} is {hooks[wrong[0]]!r}, not a method; "
                            f"{_A_CALLBACK}")
        if not any(callable(m) for m in hooks.values()):
            if callable(c):
                raise TypeError(f"callbacks[{i}] is a function ({getattr(c, '__name__', c)!r}), "
                                f"not a callback, and would never be called: wrap it, as "
                                f"glassnet.LambdaCallback(on_epoch_end=fn) for one call an "
                                f"epoch; {_A_CALLBACK}")
            raise TypeError(f"callbacks[{i}] is an object of type {type(c).__name__} with no "
                            f"on_* method ({c!r:.60}); {_A_CALLBACK}")
    return entries


def _check_model(model: Any, X: Any, y: Any, who: str) -> None:
    """``model`` first: ``glassnet.fit(X, y, model)`` (scikit-learn's order) would fail deep
    inside with an AttributeError of NumPy's array."""
    if isinstance(model, Sequential):
        return
    if isinstance(X, Sequential) or isinstance(y, Sequential):
        raise TypeError(f"the model comes first: glassnet.{who}(model, X, y, ...), not "
                        f"scikit-learn's order {who}(X, y, model); got a "
                        f"{type(model).__name__} where the model belongs")
    if not (hasattr(model, "layers") and hasattr(model, "flat_params")):
        hint = ("; an estimator trains with its own fit(X, y)"
                if hasattr(model, "get_params") and hasattr(model, "fit") else "")
        raise TypeError(f"model must be a glassnet model (a Sequential, such as "
                        f"glassnet.MLP([...])), got {type(model).__name__}{hint}")


def _train(state: TrainState, run: _Run) -> Iterator[TrainState]:
    """The training generator behind ``fit_iter`` (``run`` already validated).

    The run that starts last owns the model: a paused run that is closed or dropped
    (garbage-collected, which closes it) after another has trained the model skips its
    ``on_train_end`` hooks, which would act on weights that are no longer its own
    (``EarlyStopping`` would put back its stale best). A run that ends, or fails, runs them."""
    token = _OWNER[state.model] = object()
    _call(run.callbacks, "on_train_begin", state)
    closed = False
    try:
        if isinstance(state.optimizer, LBFGS):
            _fit_lbfgs(state, run)
            yield state
            return
        yield from _epochs(state, run)
    except GeneratorExit:
        closed = True
        raise
    finally:
        if not closed or _OWNER.get(state.model) is token:
            _call(run.callbacks, "on_train_end", state)


_OWNER: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # model -> its latest run


def _call(callbacks, hook: str, state: TrainState) -> None:
    for method in _hooks(callbacks, hook):
        method(state)


def _hooks(callbacks, name: str) -> list:
    """The callbacks' ``name`` methods that do something: ``Callback``'s own are no-ops, and
    with one step an epoch (full-batch training) each call counts."""
    methods = (getattr(c, name, None) for c in callbacks)
    return [m for m in methods
            if m is not None and getattr(m, "__func__", None) is not getattr(Callback, name)]


def _batches(run: _Run, order: np.ndarray | None, scratch: tuple | None):
    """``(x, y, w)`` per batch, in ``order`` (None: the stored order).

    A shuffled batch is gathered with ``np.take`` into two work arrays allocated once per run
    (``scratch``), so it lands in cache right before its products and the data set itself is
    never copied. Sparse data (``run.sparse``) takes its branch: ``np.take`` works on dense
    arrays only, and a CSR matrix's ``X[rows]`` is a new small CSR matrix of the batch's rows
    (``y[rows]`` then a small copy too)."""
    X, y, w = run.X, run.y, run.sample_weight
    n = X.shape[0]
    for start in range(0, n, run.batch_size):
        stop = min(start + run.batch_size, n)
        if order is None:
            rows = slice(start, stop)
            xb, yb = X[rows], y[rows]
        elif run.sparse:  # X[rows] of the CSR matrix: the batch's stored entries, copied
            rows = order[start:stop]
            xb, yb = X[rows], y[rows]
        else:
            rows = order[start:stop]
            # mode="clip": the indices are valid, and the default mode would buffer the output
            xb = np.take(X, rows, axis=0, out=scratch[0][:stop - start], mode="clip")  # X[rows]
            yb = np.take(y, rows, axis=0, out=scratch[1][:stop - start], mode="clip")
        yield xb, yb, (None if w is None else w[rows])


def _one_epoch(state: TrainState, run: _Run, order: np.ndarray | None, scratch: tuple | None,
               hooks: list) -> tuple[float, Any]:
    """Train one pass over the batches: for each, forward, loss and backward
    (``run.kernel.backward``), the ``on_batch_end`` hooks, then the update
    (``run.kernel.update``: ``optimizer.step``).

    Returns the weighted sum of the batch losses and, for a classification loss, the (weight
    of the) rows predicted right, else ``SS_res`` per output (the batches' own forward
    passes)."""
    model, loss = state.model, state.loss
    classify = isinstance(loss, (CrossEntropy, BinaryCrossEntropy))
    running_loss, correct = 0.0, 0.0
    squares = None if classify else np.zeros(run.y.shape[1])  # SS_res per output, for r2
    for state.batch, (xb, yb, wb) in enumerate(_batches(run, order, scratch), start=1):
        batch_weight = len(yb) if wb is None else float(np.sum(wb))
        if batch_weight == 0:  # no sample here carries weight: nothing to learn, no step
            state.samples_seen += len(yb)
            continue
        try:
            state.batch_loss, z = run.kernel.backward(model, loss, xb, yb,
                                                      run.l2_of(batch_weight), wb)
        except FloatingPointError:  # np.seterr(all="raise") turned an overflow into this
            state.batch_loss, z = float("nan"), None
        # z is the last layer's work array: read it before a hook can run the model again
        if z is None:
            pass
        elif classify:
            correct += n_correct(loss, z, yb, wb)
        else:
            squares += residual_squares(loss.output(z), yb, wb)
        for hook in hooks:  # on_batch_end; the divergence guard raises on NaN
            hook(state)
        try:
            run.kernel.update(model)
        except FloatingPointError:  # an overflowing NumPy update: hand it to the guard too
            # (a BLAS update, glassnet._blas, overflows silently: the next loss shows it)
            state.batch_loss = float("nan")
            for hook in hooks:
                hook(state)
        running_loss += state.batch_loss * batch_weight
        state.samples_seen += len(yb)
    return running_loss, correct if classify else squares


def _epochs(state: TrainState, run: _Run) -> Iterator[TrainState]:
    scratch = run.scratch()
    hooks, begin, end = (_hooks(run.callbacks, name)
                         for name in ("on_batch_end", "on_epoch_begin", "on_epoch_end"))
    classify = isinstance(state.loss, (CrossEntropy, BinaryCrossEntropy))
    total_weight, ss_tot = run.totals(classify)
    # from the epoch after state.epoch: 0, or the epoch a BackupAndRestore resumed after
    for epoch in range(state.epoch + 1, 1 if state.stop else run.epochs + 1):
        state.epoch, state.logs = epoch, {}
        for hook in begin:
            hook(state)
        if run.order is not None:
            # scikit-learn's rule: each epoch shuffles the last epoch's order (indices only:
            # the data is never copied), so a seeded run visits rows in scikit-learn's order
            run.rng.shuffle(run.order)
        # Underflow to 0 (tiny weights, moments, probabilities) is harmless: never an error.
        with np.errstate(under="ignore"):
            running_loss, right = run.one_epoch(state, run.order, scratch, hooks)
        state.logs["loss"] = running_loss / total_weight
        if classify:
            state.logs["accuracy"] = right / total_weight
        else:
            state.logs["r2"] = r2_from_squares(right, ss_tot)
        if run.val is not None:
            state.logs.update(_metrics(state.model, state.loss, *run.val, prefix="val_"))
        state.logs["lr"] = float(state.optimizer.lr)
        for hook in end:
            hook(state)
        state.history.append(epoch, state.logs)
        yield state
        if state.stop:
            return


def _fit_lbfgs(state: TrainState, run: _Run) -> None:
    """Full-batch L-BFGS: SciPy minimises J(theta) with our value and gradient.

    The line search compares losses that differ in their last digits, so the search runs on
    a float64 copy of the model; the result is copied back in the model's own dtype. Sparse
    data stays sparse: a float32 CSR matrix gets float64 values and keeps its indices.
    """
    model, loss, sample_weight = state.model, state.loss, run.sample_weight
    model64 = model.astype("float64")
    X64 = as_dtype(run.X, np.float64)  # X itself when it is float64 already (nothing writes it)
    y64 = run.y if run.y.dtype.kind == "i" else run.y.astype(np.float64)
    l2 = run.l2_of(run.X.shape[0] if sample_weight is None else float(np.sum(sample_weight)))

    def fun_and_grad(theta: np.ndarray) -> tuple[float, np.ndarray]:
        model64.flat_params[...] = theta
        value, _ = objective_and_backward(model64, loss, X64, y64, l2, sample_weight,
                                          training=True)
        return value, model64.flat_grads

    state.epoch = 1
    _call(run.callbacks, "on_epoch_begin", state)
    lbfgs = copy.copy(state.optimizer)
    lbfgs.max_iter = min(lbfgs.max_iter, run.epochs)  # fit's `epochs` caps the iterations too
    with np.errstate(under="ignore"):  # underflow to 0 is harmless
        theta, n_iter, result = lbfgs.minimize(fun_and_grad, model64.flat_params.copy())
        loss_at_theta = fun_and_grad(theta)[0]  # objective_and_backward wants the errstate too
    model.flat_params[...] = theta
    state.epoch = n_iter
    if not result.success:
        state.stop_reason = (f"L-BFGS stopped without converging after {n_iter} iterations: "
                             f"{result.message}")
    state.logs = {"loss": loss_at_theta}
    if run.val is not None:
        state.logs.update(_metrics(model, loss, *run.val, prefix="val_"))
    _call(run.callbacks, "on_epoch_end", state)
    state.history.append(n_iter, state.logs)


def fit(model: Sequential, X: Any, y: Any, *, loss: str | Loss = "cross_entropy",
        optimizer: Any = "adam", epochs: int = 10, batch_size: int | None = 32,
        shuffle: bool = True, seed: Any = None, validation_data: tuple | None = None,
        validation_fraction: float = 0.0, sample_weight: Any = None, class_weight: Any = None,
        l2: float = 0.0, l2_per_sample: bool = False, schedule: Any = None,
        callbacks: Sequence[Any] = (), progress: bool = False,
        check_input: bool = True) -> History:
    """Train ``model`` on ``(X, y)`` with mini-batches; return the per-epoch ``History``.

    Parameters
    ----------
    model : Sequential
    X : array or SciPy sparse matrix, shape (n_samples, n_inputs)
        A sparse ``X`` (CSR, CSC, COO, matrix or array class) trains without being densified,
        as CSR in the model's dtype, when the model's first layer is ``Dense``.
    y : array, shape (n_samples,) or (n_samples, n_outputs)
    loss : str or Loss
    optimizer : str or optimizer
        A name from ``glassnet.optim.OPTIMIZERS`` (default hyperparameters), an instance,
        or ``optim.LBFGS()`` for full-batch L-BFGS (``epochs`` then caps its iterations, as
        its own ``max_iter`` does: the smaller wins).
    epochs : int
    batch_size : int or None
        None trains full-batch.
    shuffle : bool
        Reshuffle the samples every epoch, from ``seed``.
    seed : None, int or numpy Generator
        Drives the shuffling and the validation split (not the model's initial weights).
    validation_data : (X_val, y_val) or (X_val, y_val, w_val), optional
    validation_fraction : float
        Hold out this fraction of ``X`` (stratified for class labels) when no
        ``validation_data`` is given.
    sample_weight : array, shape (n_samples,), optional
    class_weight : dict or 'balanced', optional
        Multiplies ``sample_weight`` by a weight per class (int labels).
    l2 : float
        Penalty ``l2/2 * sum ||W||^2`` added to every batch's mean loss.
    l2_per_sample : bool
        Divide the penalty by the batch's total sample weight (scikit-learn's ``alpha``).
    schedule : schedule, optional
        A learning-rate schedule from ``glassnet.schedules``, stepped after every epoch.
    callbacks : sequence of callbacks
        See ``glassnet.callbacks``; a ``StopOnDivergence`` is always included.
    progress : bool
        Show a tqdm progress bar (needs the ``progress`` extra).
    check_input : bool
        False skips the NaN/inf scan of ``X`` (a pass over the data) for callers that have
        validated it already, as the scikit-learn estimators do.

    Returns
    -------
    History
    """
    _check_model(model, X, y, "fit")
    state, run = _setup(model, X, y, loss=loss, optimizer=optimizer, epochs=epochs,
                        batch_size=batch_size, shuffle=shuffle, seed=seed,
                        validation_data=validation_data,
                        validation_fraction=validation_fraction, sample_weight=sample_weight,
                        class_weight=class_weight, l2=l2, l2_per_sample=l2_per_sample,
                        schedule=schedule, callbacks=callbacks, progress=progress,
                        check_input=check_input)
    for _ in _train(state, run):
        pass
    return state.history


def evaluate(model: Sequential, X: Any, y: Any, *, loss: str | Loss = "cross_entropy",
             sample_weight: Any = None) -> dict[str, float]:
    """The loss and its metric on ``(X, y)``, as a dict (Keras's ``evaluate``, by name).

    The numbers are those ``fit`` logs for validation data: ``{"loss", "accuracy"}`` for the
    cross-entropies (a row is right when its arg-max class, or every one of its labels, is),
    ``{"loss", "r2"}`` for the regression losses; the loss without the L2 penalty and
    without dropout, weighted by ``sample_weight`` when given.

    Parameters
    ----------
    model : Sequential
    X : array or SciPy sparse matrix, shape (n_samples, n_inputs)
    y : array, shape (n_samples,) or (n_samples, n_outputs)
        Targets as ``fit`` takes them for this ``loss``.
    loss : str or Loss
    sample_weight : array, shape (n_samples,), optional

    Returns
    -------
    dict of str to float
    """
    _check_model(model, X, y, "evaluate")
    loss = get_loss(loss)
    check_y_range(y, model.dtype, squared=isinstance(loss, MSE))
    X, y, sample_weight = prepare_data(model, loss, X, y, sample_weight)
    if sample_weight is not None and not np.sum(sample_weight) > 0:
        raise ValueError("sample_weight sums to zero: nothing to evaluate on")
    with np.errstate(under="ignore"):
        return _metrics(model, loss, X, y, sample_weight)
