"""``MLPClassifier``: scikit-learn's multi-layer perceptron classifier, trained by glassnet."""

from __future__ import annotations

import numpy as np
from sklearn.base import ClassifierMixin
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import type_of_target, unique_labels

from ..numerics import log_softmax, sigmoid, softmax
from ._base import _BaseMLP, _stochastic_solver

__all__ = ["MLPClassifier"]


class MLPClassifier(ClassifierMixin, _BaseMLP):
    """Multi-layer perceptron classifier, a drop-in for ``sklearn.neural_network.MLPClassifier``.

    Multiclass targets train a softmax output with cross-entropy; binary targets a single
    sigmoid output, and multilabel indicator matrices one sigmoid per label, with binary
    cross-entropy (summed over the labels, as scikit-learn). The objective of a batch is its
    mean loss plus ``alpha / 2 * sum ||W||^2 / n_batch`` (with sample weights, the weighted
    mean and the batch's total weight), scikit-learn's.

    Parameters
    ----------
    hidden_layer_sizes : int or sequence of int, default=(100,)
        Units of each hidden layer: ``(64, 32)`` is two hidden layers.
    activation : str or list of str, default='relu'
        Activation of the hidden layers: one name for all, or one per hidden layer
        (glassnet's). A name from ``glassnet.activations.ACTIVATIONS``, in any case:
        'identity', 'relu', 'leaky_relu', 'elu', 'gelu', 'tanh', 'sigmoid' ('logistic',
        scikit-learn's name for it) or 'softplus'.
    solver : str, default='adam'
        'lbfgs' (full-batch L-BFGS through SciPy), 'sgd' or 'adam', or any other name in
        ``glassnet.optim.OPTIMIZERS`` ('adamw', 'rmsprop', 'adagrad': glassnet's, built
        with ``learning_rate_init`` and their own defaults otherwise).
    alpha : float, default=0.0001
        Strength of the L2 penalty on the weights (not the biases), divided by the batch's
        size (total sample weight) as in scikit-learn.
    batch_size : int or 'auto', default='auto'
        Rows per mini-batch; 'auto' is ``min(200, n_train)``. A larger size is clipped to the
        training rows, with a warning. L-BFGS trains full-batch.
    learning_rate : {'constant', 'invscaling', 'adaptive'}, default='constant'
        scikit-learn's rate rules, used when ``solver='sgd'``: 'invscaling' sets
        ``lr = learning_rate_init / (t + 1) ** power_t`` after each epoch, ``t`` the samples
        seen (``glassnet.schedules.InverseScaling``); 'adaptive' divides the rate by 5 after
        more than ``n_iter_no_change`` epochs without an improvement of ``tol``, and stops
        once it is at most 1e-6 (``glassnet.schedules.Adaptive``).
    learning_rate_init : float, default=0.001
        The starting learning rate of every solver but L-BFGS.
    power_t : float, default=0.5
        Exponent of 'invscaling'.
    max_iter : int, default=200
        Epochs for the stochastic solvers; iterations for L-BFGS.
    shuffle : bool, default=True
        Reshuffle the training rows every epoch.
    random_state : None, int or numpy.random.RandomState, default=None
        The ``RandomState`` that draws, as scikit-learn's, the starting weights, the
        early-stopping split and the order of the rows (and the seeds of the dropout masks):
        an int seeds a new one at every call to ``fit`` and ``partial_fit``, a RandomState
        is used as it is, None seeds one from fresh entropy.
    tol : float, default=1e-4
        The improvement of the training loss (or validation score) that counts; for L-BFGS,
        its gradient tolerance.
    verbose : bool, int or 'progress', default=False
        True (or an int above 0) prints scikit-learn's lines on stdout: ``Iteration N, loss
        = ...`` after each epoch (and ``Validation score: ...`` with early stopping).
        'progress' shows a progress bar over the epochs on stderr instead (one line per
        epoch where stderr is not a terminal; needs tqdm; glassnet's).
    warm_start : bool, default=False
        ``fit`` continues from the weights (and ``t_``, ``best_loss_``) of the last fit; the
        optimizer starts afresh, as in scikit-learn.
    momentum : float, default=0.9
        SGD's momentum, in [0, 1].
    nesterovs_momentum : bool, default=True
        Nesterov's momentum for SGD (with ``momentum > 0``).
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the rows (stratified, but for multilabel
        targets), stop when their accuracy has not improved by ``tol`` for more than
        ``n_iter_no_change`` epochs, and keep the best epoch's weights. Stochastic solvers
        only; ``partial_fit`` refuses it.
    validation_fraction : float, default=0.1
        Share held out by ``early_stopping``: ``ceil(validation_fraction * n_samples)`` rows.
    beta_1, beta_2 : float, default=0.9, 0.999
        Adam's decay rates of its first and second moments, in [0, 1).
    epsilon : float, default=1e-8
        Adam's term added to the root of the second moment.
    n_iter_no_change : int or np.inf, default=10
        Epochs without an improvement of ``tol`` that are tolerated (np.inf: never stop).
    max_fun : int, default=15000
        L-BFGS's limit on the objective's evaluations.
    dropout : float, default=0.0
        Dropout probability after each hidden activation, while training (glassnet's).
    init : str, default='sklearn'
        'sklearn' draws the starting weights and biases as scikit-learn does (Glorot's
        uniform rule, ``factor`` 2 for 'logistic'), draw for draw from the same
        ``random_state``; or the name of an initialiser from ``glassnet.init.INITIALISERS``,
        with biases at 0 (glassnet's).
    dtype : {'auto', 'float32', 'float64'}, default='auto'
        Precision of the weights and the arithmetic: 'auto' is scikit-learn's rule, float32
        for float32 ``X`` and float64 for anything else; 'float32' trains float64 data at
        float32's precision and speed (glassnet's).
    optimizer : None, str or glassnet optimizer, default=None
        An optimizer (a copy is trained) or a name with its own defaults, in place of
        ``solver`` and its settings (glassnet's).
    schedule : None, str or glassnet.schedules.Schedule, default=None
        A learning-rate schedule (a copy), stepped after every epoch on the training (or
        validation) loss; ``partial_fit`` continues it (glassnet's).
    class_weight : None, dict or 'balanced', default=None
        Weight of each class, ``{label: weight}``, or 'balanced' (``n_samples / (n_classes
        * count)``), multiplying ``sample_weight``; not for multilabel targets (glassnet's).

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The labels, sorted (for multilabel targets, the label columns' indices).
    loss_ : float
        The last epoch's loss (for L-BFGS, the objective at the end).
    best_loss_ : float or None
        The smallest loss of ``loss_curve_``; None with ``early_stopping``.
    loss_curve_ : list of float or None
        The mean objective of each epoch of every call since the first fit; None after an
        L-BFGS fit.
    validation_scores_ : list of float or None
        With ``early_stopping``, the validation accuracy of each epoch; else None.
    best_validation_score_ : float or None
        With ``early_stopping``, the best of ``validation_scores_``; else None.
    t_ : int
        Training samples seen by the stochastic solver, over every call.
    coefs_ : list of ndarray
        ``coefs_[i]`` of shape ``(n_units_i, n_units_{i+1})``: the weights, as live views
        (assigning the list copies new values in).
    intercepts_ : list of ndarray
        ``intercepts_[i]`` of shape ``(n_units_{i+1},)``: the biases, as live views.
    n_features_in_ : int
        Number of features seen by ``fit``.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        The column names of ``X``, when it had string column names.
    n_iter_ : int
        Epochs (L-BFGS: iterations) of the last call.
    n_layers_ : int
        Layers, input and output included.
    n_outputs_ : int
        Output units.
    out_activation_ : str
        'softmax', or 'logistic' for binary and multilabel targets.
    model_ : glassnet.Sequential
        The network (glassnet's).
    history_ : glassnet.History
        The last call's per-epoch numbers: ``loss``, ``accuracy`` and ``lr`` (L-BFGS:
        ``loss``) and, with early stopping, ``val_loss`` and ``val_accuracy`` (glassnet's).

    See Also
    --------
    MLPRegressor : The regressor.
    sklearn.neural_network.MLPClassifier : scikit-learn's, which this follows.
    glassnet.fit : The training loop both use, for a ``glassnet.MLP``.

    Notes
    -----
    Differences from scikit-learn's (the README's table says why):

    - Without early stopping, a divergence raises ``glassnet.DivergenceError`` (a
      ``ValueError`` with scikit-learn's message, then the epoch) at once, with the weights of
      that epoch's start; with early stopping, training stops there with a NaN validation
      score and the best epoch's weights, as scikit-learn ends.
    - With sample weights, ``loss_curve_`` is the weighted mean over the epoch; scikit-learn
      weighs each batch's mean by its row count.
    - ``random_state=None`` draws from fresh entropy, never NumPy's global generator.
    - After an L-BFGS fit, ``loss_curve_`` is None and ``best_loss_`` is ``loss_``
      (scikit-learn sets neither).

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from glassnet import MLPClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = MLPClassifier(hidden_layer_sizes=(10,), learning_rate_init=0.01, max_iter=300,
    ...                     random_state=0).fit(X, y)
    >>> clf.predict(X[:3])
    array([0, 0, 0])
    >>> clf.predict_proba(X[:1]).shape
    (1, 3)
    >>> clf.score(X, y) > 0.9
    True
    """

    _is_classifier = True

    def __init__(self, hidden_layer_sizes=(100,), activation="relu", *, solver="adam",
                 alpha=0.0001, batch_size="auto", learning_rate="constant",
                 learning_rate_init=0.001, power_t=0.5, max_iter=200, shuffle=True,
                 random_state=None, tol=1e-4, verbose=False, warm_start=False, momentum=0.9,
                 nesterovs_momentum=True, early_stopping=False, validation_fraction=0.1,
                 beta_1=0.9, beta_2=0.999, epsilon=1e-8, n_iter_no_change=10, max_fun=15000,
                 dropout=0.0, init="sklearn", dtype="auto", optimizer=None,
                 schedule=None, class_weight=None):
        self._store(locals())

    def _encode_targets(self, y, first, classes):
        kind = type_of_target(y, input_name="y")
        if kind not in ("binary", "multiclass", "multilabel-indicator"):
            raise ValueError(f"Unknown label type: {kind!r}. MLPClassifier needs class labels "
                             f"(binary, multiclass or a multilabel indicator matrix)")
        labels = unique_labels(y)
        if first:
            self.classes_ = labels if classes is None else unique_labels(classes)
            self._multilabel = kind == "multilabel-indicator"
            self.out_activation_ = ("logistic" if self._multilabel or len(self.classes_) <= 2
                                    else "softmax")
        elif classes is not None and not np.array_equal(unique_labels(classes), self.classes_):
            raise ValueError(f"`classes={classes!r}` is not the same as on last call to "
                             f"partial_fit, was: {self.classes_!r}")
        elif self.warm_start and classes is None and not self._multilabel and not (
                len(labels) == len(self.classes_) and np.all(labels == self.classes_)):
            raise ValueError("warm_start can only be used where `y` has the same classes as "
                             f"in the previous call to fit. Previously got {self.classes_}, "
                             f"`y` has {labels}")
        if not self._multilabel and not np.isin(labels, self.classes_).all():
            raise ValueError(f"`y` has classes not in `self.classes_`. `self.classes_` has "
                             f"{self.classes_}. 'y' has {labels}.")
        if self._multilabel:  # scikit-learn sums the labels' log-losses
            self._loss_name = "binary_cross_entropy_sum"
            return np.asarray(y, dtype=np.float64)
        if self.out_activation_ == "logistic":
            # 1 for the second class; a single class is all 0, as scikit-learn's
            # LabelBinarizer codes it (the network learns p -> 0, predict gives that class)
            self._loss_name = "binary_cross_entropy"
            positive = np.asarray(y) == self.classes_[-1] if len(self.classes_) == 2 else False
            return np.broadcast_to(positive, np.shape(y)).astype(np.float64).reshape(-1, 1)
        self._loss_name = "cross_entropy"
        classes = self.classes_
        if classes.dtype.kind in "iu" and classes[0] == 0 and classes[-1] == len(classes) - 1:
            return y  # labels 0..K-1 are their own indices (sorted, unique: no gap)
        return np.searchsorted(classes, y)

    @available_if(_stochastic_solver)
    def partial_fit(self, X, y, sample_weight=None, classes=None):
        """One epoch over ``(X, y)``, continuing from the current state.

        ``classes`` (all labels that will ever appear) is needed on the first call.
        """
        if self.early_stopping:
            raise ValueError("partial_fit does not support early_stopping=True")
        if not hasattr(self, "model_") and classes is None:
            raise ValueError("classes must be passed on the first call to partial_fit")
        return self._fit(X, y, sample_weight, incremental=True, classes=classes)

    def predict_proba(self, X) -> np.ndarray:
        """Class probabilities, shape ``(n_samples, n_classes)``, columns in ``classes_`` order
        (two columns for a single class, ``[1 - p, p]``, as scikit-learn gives them)."""
        z, dtype = self._scores(X)
        if self.out_activation_ == "softmax":
            return softmax(z).astype(dtype, copy=False)
        p = sigmoid(z)
        return (p if self._multilabel else np.hstack([1 - p, p])).astype(dtype, copy=False)

    def predict_log_proba(self, X) -> np.ndarray:
        """``log(predict_proba(X))``, as scikit-learn computes it; where a probability has
        underflowed to 0, the log of the exact probability from the logits (finite, where
        ``log(0)`` would be -inf)."""
        z, dtype = self._scores(X)
        if self.out_activation_ == "softmax":
            p, log_p = softmax(z), log_softmax(z)
        else:
            log_s, log_1ms = -np.logaddexp(0, -z), -np.logaddexp(0, z)  # log s, log (1 - s)
            s = sigmoid(z)
            p = s if self._multilabel else np.hstack([1 - s, s])
            log_p = log_s if self._multilabel else np.hstack([log_1ms, log_s])
        p = p.astype(dtype, copy=False)
        return np.log(p, out=log_p.astype(dtype), where=p > 0)

    def predict(self, X) -> np.ndarray:
        """Predicted labels (an indicator matrix for multilabel targets)."""
        z, _ = self._scores(X)
        if self._multilabel:
            return (z > 0).astype(int)
        if len(self.classes_) == 1:  # fitted on one class: scikit-learn predicts it
            return np.repeat(self.classes_, len(z))
        if self.out_activation_ == "logistic":
            return self.classes_[(z[:, 0] > 0).astype(int)]
        return self.classes_[np.argmax(z, axis=1)]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags
