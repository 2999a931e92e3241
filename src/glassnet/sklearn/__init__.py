"""scikit-learn estimators: ``MLPClassifier`` and ``MLPRegressor``, drop-ins for
``sklearn.neural_network``'s, trained by ``glassnet.fit`` on a ``glassnet.MLP``.

Same parameter names, defaults, methods and fitted attributes as scikit-learn's, with the
same objective: the mean loss of a batch plus ``alpha / 2 * sum ||W||^2 / n_batch`` (with
sample weights, the weighted mean and the batch's total weight in place of ``n_batch``). Beyond
them: ``dropout``, per-layer ``activation`` lists, every glassnet optimizer (``solver`` is any
name in ``glassnet.optim.OPTIMIZERS`` or 'lbfgs', or pass ``optimizer=`` an instance),
``schedule`` (any ``glassnet.schedules`` schedule), ``class_weight``, ``init`` and ``dtype``.

Needs scikit-learn (``pip install 'glassnet[sklearn]'``).

  _params.py      the parameter table (``PARAMETERS``): name -> constraint
  _base.py        what both share: fitting in named stages through ``glassnet.fit_iter``
  _random.py      scikit-learn's randomness, draw for draw: starting weights
                  (``init='sklearn'``), validation rows, the order of the rows
  _rule.py        scikit-learn's stopping and learning-rate rules (``_Convergence``, on
                  ``schedules.Adaptive``) and its ``verbose`` lines, as callbacks
  _lbfgs.py       scikit-learn's L-BFGS, bit for bit, for the networks scikit-learn has
  _attributes.py  the fitted attributes: from the run's History; ``coefs_``, ``intercepts_``
  classifier.py   MLPClassifier: labels, softmax or sigmoid outputs, probabilities
  regressor.py    MLPRegressor: squared error or poisson (or mse, mae, huber), one or many
                  outputs

With the defaults (``init='sklearn'``, ``dtype='auto'``) a seeded float64 fit ends on
scikit-learn's fitted model.
"""

try:  # first: a clear message when scikit-learn is missing or older than 1.6
    from sklearn.utils import validation as _validation
    _validation.validate_data  # new in scikit-learn 1.6
except (ImportError, AttributeError) as exc:  # pragma: no cover - depends on the environment
    raise ImportError("glassnet's estimators need scikit-learn >= 1.6: "
                      "pip install 'glassnet[sklearn]'") from exc

from .classifier import MLPClassifier  # noqa: E402
from .regressor import MLPRegressor  # noqa: E402

__all__ = ["MLPClassifier", "MLPRegressor"]
