"""``MLPRegressor``: scikit-learn's multi-layer perceptron regressor, trained by glassnet."""

from __future__ import annotations

import numpy as np
from sklearn.base import RegressorMixin
from sklearn.utils.metaestimators import available_if

from ..losses import get_loss
from ._base import _BaseMLP, _stochastic_solver
from ._params import PARAMETERS, OneOf

__all__ = ["MLPRegressor"]


class MLPRegressor(RegressorMixin, _BaseMLP):
    """Multi-layer perceptron regressor, a drop-in for ``sklearn.neural_network.MLPRegressor``.

    The network's outputs are the predictions (``exp`` of them for ``loss='poisson'``);
    multi-output ``y`` of shape ``(n_samples, k)`` trains ``k`` outputs. The objective of a
    batch is its mean loss plus ``alpha / 2 * sum ||W||^2 / n_batch`` (with sample weights,
    the weighted mean and the batch's total weight), scikit-learn's.

    Parameters
    ----------
    loss : {'squared_error', 'poisson', 'mse', 'mae', 'huber'}, default='squared_error'
        'squared_error' is scikit-learn's half squared error, ``mean_k (z_k - y_k)^2 / 2``;
        'poisson' half the Poisson deviance with a log link, summed over the outputs as in
        scikit-learn (``y >= 0``); 'mse', 'mae' and 'huber' are glassnet's (the mean over
        the outputs of the squared error, the absolute error, the Huber loss).
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
        Hold out ``validation_fraction`` of the rows, stop when their R^2 has not improved by
        ``tol`` for more than ``n_iter_no_change`` epochs, and keep the best epoch's
        weights. Stochastic solvers only; ``partial_fit`` refuses it.
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

    Attributes
    ----------
    loss_ : float
        The last epoch's loss (for L-BFGS, the objective at the end).
    best_loss_ : float or None
        The smallest loss of ``loss_curve_``; None with ``early_stopping``.
    loss_curve_ : list of float or None
        The mean objective of each epoch of every call since the first fit; None after an
        L-BFGS fit.
    validation_scores_ : list of float or None
        With ``early_stopping``, the validation R^2 of each epoch; else None.
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
        'identity', or 'exp' for ``loss='poisson'``.
    model_ : glassnet.Sequential
        The network (glassnet's).
    history_ : glassnet.History
        The last call's per-epoch numbers: ``loss``, ``r2`` and ``lr`` (L-BFGS: ``loss``)
        and, with early stopping, ``val_loss`` and ``val_r2`` (glassnet's).

    See Also
    --------
    MLPClassifier : The classifier.
    sklearn.neural_network.MLPRegressor : scikit-learn's, which this follows.
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
    - ``partial_fit`` exists only for the stochastic solvers; scikit-learn's regressor offers
      it for L-BFGS too, where it runs a whole fit.

    Examples
    --------
    >>> import numpy as np
    >>> from glassnet import MLPRegressor
    >>> X = np.linspace(-3, 3, 200).reshape(-1, 1)
    >>> y = np.sin(X[:, 0])
    >>> reg = MLPRegressor(hidden_layer_sizes=(32, 32), activation="tanh",
    ...                    learning_rate_init=0.01, max_iter=500, random_state=0).fit(X, y)
    >>> reg.predict(X[:2]).shape
    (2,)
    >>> reg.score(X, y) > 0.9
    True
    """

    _parameters = {"loss": OneOf("squared_error", "poisson", "mse", "mae", "huber"),
                   **PARAMETERS}

    def __init__(self, loss="squared_error", hidden_layer_sizes=(100,), activation="relu", *,
                 solver="adam", alpha=0.0001, batch_size="auto", learning_rate="constant",
                 learning_rate_init=0.001, power_t=0.5, max_iter=200, shuffle=True,
                 random_state=None, tol=1e-4, verbose=False, warm_start=False, momentum=0.9,
                 nesterovs_momentum=True, early_stopping=False, validation_fraction=0.1,
                 beta_1=0.9, beta_2=0.999, epsilon=1e-8, n_iter_no_change=10, max_fun=15000,
                 dropout=0.0, init="sklearn", dtype="auto", optimizer=None,
                 schedule=None):
        self._store(locals())

    def _encode_targets(self, y, first, classes):
        """``y`` as an ``(n_samples, n_outputs)`` float array; the loss's name for ``fit``."""
        # scikit-learn's poisson sums over the outputs (its value and its gradient)
        self._loss_name = "poisson_sum" if self.loss == "poisson" else self.loss
        y = np.asarray(y, dtype=np.float64)
        if first:
            self._y_1d = y.ndim == 1
            self.out_activation_ = "exp" if self.loss == "poisson" else "identity"
        return y.reshape(len(y), -1)

    @available_if(_stochastic_solver)
    def partial_fit(self, X, y, sample_weight=None):
        """One epoch over ``(X, y)``, continuing from the current state."""
        if self.early_stopping:
            raise ValueError("partial_fit does not support early_stopping=True")
        return self._fit(X, y, sample_weight, incremental=True)

    def predict(self, X) -> np.ndarray:
        """Predictions, shape ``(n_samples,)`` or ``(n_samples, n_outputs)`` like the ``y`` fitted."""
        z, dtype = self._scores(X)  # checks first that the estimator is fitted
        z = get_loss(self._loss_name).output(z).astype(dtype, copy=False)  # exp for 'poisson'
        return z.ravel() if self._y_1d else z
