"""``MLPRegressor``: scikit-learn's multi-layer perceptron regressor, trained by glassnet."""

from __future__ import annotations

import numpy as np
from sklearn.base import RegressorMixin
from sklearn.utils.metaestimators import available_if

from ..losses import get_loss
from ._base import _BaseMLP, _stochastic_solver

__all__ = ["MLPRegressor"]


class MLPRegressor(RegressorMixin, _BaseMLP):
    """Multi-layer perceptron regressor, a drop-in for ``sklearn.neural_network.MLPRegressor``.

    ``loss='squared_error'`` (scikit-learn's half mean squared error) by default, or
    ``'poisson'`` (half the Poisson deviance, log link: ``predict`` gives ``exp`` of the output,
    ``y >= 0``); glassnet's 'mse', 'mae' and 'huber' also work. Multi-output ``y`` of shape
    ``(n, k)`` trains ``k`` outputs.
    """

    def __init__(self, loss="squared_error", hidden_layer_sizes=(100,), activation="relu", *,
                 solver="adam", alpha=0.0001, batch_size="auto", learning_rate="constant",
                 learning_rate_init=0.001, power_t=0.5, max_iter=200, shuffle=True,
                 random_state=None, tol=1e-4, verbose=False, warm_start=False, momentum=0.9,
                 nesterovs_momentum=True, early_stopping=False, validation_fraction=0.1,
                 beta_1=0.9, beta_2=0.999, epsilon=1e-8, n_iter_no_change=10, max_fun=15000,
                 dropout=0.0, init="glorot_uniform", dtype="float32", optimizer=None,
                 schedule=None):
        self._store(locals())

    def _encode_targets(self, y, first, classes):
        if self.loss not in ("squared_error", "poisson", "mse", "mae", "huber"):
            raise ValueError("loss must be 'squared_error', 'poisson', 'mse', 'mae' or 'huber', "
                             f"got {self.loss!r}")
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
