"""scikit-learn's randomness, draw for draw: the same ``random_state`` gives the same
starting weights, the same early-stopping split and the same order of the rows, so that a
seeded float64 fit ends on scikit-learn's model.

scikit-learn's MLP draws everything from one ``numpy.random.RandomState``, made afresh by
``check_random_state(random_state)`` at every call to ``fit`` and ``partial_fit``, in this
order::

    for each layer i:  W_i ~ U(-a_i, a_i) of shape (n_i, n_{i+1}),  then  b_i ~ U(-a_i, a_i)
                       with a_i = sqrt(factor / (n_i + n_{i+1})), factor 2 for 'logistic', else 6
                       (first fit only)
    train_test_split(..., random_state=rs)       (early stopping: the validation rows)
    every epoch:  rs.shuffle(order)              (the rows' order, shuffled again)

``glassnet.fit_iter`` shuffles as the last line does when it is given the RandomState as
its ``seed``.
"""

from __future__ import annotations

import numpy as np

from ..activations import ACTIVATIONS

__all__ = ["random_state_of_call", "initial_parameters", "validation_rows"]


def random_state_of_call(random_state) -> np.random.RandomState:
    """The generator of one ``fit`` or ``partial_fit`` call, as ``check_random_state`` gives
    it: a new ``RandomState(seed)`` for an int (each call starts from the same draws), the
    user's own ``RandomState`` (advanced by the call), or, for None, a new one seeded from
    fresh entropy (scikit-learn draws from NumPy's global generator there; glassnet never
    does)."""
    if isinstance(random_state, np.random.RandomState):
        return random_state
    return np.random.RandomState(random_state)


def initial_parameters(layer_sizes: list[int], activations: list[str],
                       rs: np.random.RandomState) -> list[tuple[np.ndarray, np.ndarray]]:
    """Each layer's ``(W, b)`` as scikit-learn's ``_init_coef`` draws them (Glorot's uniform
    rule, for the biases too), float64.

    ``activations`` names the hidden layers' activations (one per hidden layer). scikit-learn
    has one activation and takes ``factor = 2`` for every layer when it is 'logistic'; with
    one per layer, each layer takes the factor of the activation after it, and the output
    layer that of the last hidden layer.
    """
    params = []
    for i, (n_in, n_out) in enumerate(zip(layer_sizes[:-1], layer_sizes[1:])):
        name = activations[min(i, len(activations) - 1)] if activations else "identity"
        factor = 2.0 if ACTIVATIONS.canonical(name) == "sigmoid" else 6.0
        a = np.sqrt(factor / (n_in + n_out))
        W = rs.uniform(-a, a, (n_in, n_out))
        b = rs.uniform(-a, a, n_out)
        params.append((W, b))
    return params


def validation_rows(n: int, fraction: float, stratify: np.ndarray | None,
                    rs: np.random.RandomState) -> tuple[np.ndarray, np.ndarray]:
    """``(train, validation)`` row indices, in the order scikit-learn's
    ``train_test_split(X, y, test_size=fraction, random_state=rs, stratify=stratify)``
    returns the rows (it draws from ``n`` and ``stratify`` alone, so indices stand for X).
    Its errors are scikit-learn's: a class with one member cannot be stratified."""
    from sklearn.model_selection import train_test_split

    train, val = train_test_split(np.arange(n), test_size=fraction, random_state=rs,
                                  stratify=stratify)
    if len(val) < 2:
        raise ValueError("The validation set is too small. Increase 'validation_fraction' "
                         "or the size of your dataset.")
    return train, val
