"""glassnet: neural networks from scratch on NumPy, with every formula in plain sight.

Shape convention, everywhere: batch-first. ``X`` is ``(n_samples, n_features)``; a dense
layer's weight ``W`` is ``(n_in, n_out)``, its bias ``b`` is ``(n_out,)``, and ``z = X @ W + b``.
Models output raw scores (logits); softmax and sigmoid live in the losses.

Where things are:
  numerics.py     stable softmax, log-softmax, sigmoid, softplus, logsumexp
  activations.py  forward/derivative pairs, one class each, and the ACTIVATIONS registry
  losses.py       losses on logits with their gradients, and the LOSSES registry
  init.py         weight initialisers and the INITIALISERS registry
  layers.py       Layer, Dense, Dropout
  model.py        Sequential (one contiguous parameter buffer), the MLP builder
  grad.py         value_and_grad, gradcheck
  optim/          one file per optimizer: sgd.py, adam.py (Adam, AdamW), rmsprop.py,
                  adagrad.py, lbfgs.py; base.py (the Optimizer class, clipping)
  _blas.py        axpy, axpby, scal and gemm from NumPy's own OpenBLAS: the optimizers'
                  updates, plain SGD's step inside a product, bias added inside a product
  schedules.py    learning-rate schedules
  train.py        fit, fit_iter, evaluate
  data.py         class weights and the validation split of a run
  step.py         one training step: forward, loss, backward, then the optimizer's step
  history.py      History, TrainState
  metrics.py      accuracy and r2 of an epoch
  callbacks.py    early stopping, checkpoints, the divergence guard, the callback protocol
  monitor.py      Monitor: per layer and epoch, norms, update ratios, activation statistics
  diagnose.py     diagnose: one probe of a network and its data, and what it finds wrong
  report.py       report: one self-contained HTML file of a network, its figures and diagnosis
  progress.py     the tqdm progress bar
  sklearn/        MLPClassifier, MLPRegressor (scikit-learn estimators)
  functional.py   the original notebook's API over the same engine
  trace.py        the step-by-step prints behind verbose=True
  datasets.py     the built-in data sets (XOR, spirals, moons, circles, scikit-learn's)
  tabular/        tables as data: CSV and Parquet through pandas, the columns' encoding,
                  TabularModel (what ``glassnet train`` saves)
  dask/           glassnet.dask.fit: data-parallel training on a Dask cluster (imported on
                  its own: ``import glassnet.dask``)
  cli/            the ``glassnet`` command line
"""

from . import callbacks, functional, optim, schedules, tabular
from .callbacks import Callback, Checkpoint, DivergenceError, EarlyStopping, StopOnDivergence
from .activations import (ACTIVATIONS, ELU, GELU, Activation, Identity, LeakyReLU, ReLU,
                          Sigmoid, Softplus, Tanh)
from ._checks import DataConversionWarning
from ._version import VERSION as __version__
from ._version import InconsistentVersionWarning
from .grad import GradcheckReport, gradcheck, value_and_grad
from .init import INITIALISERS
from .layers import Dense, Dropout, Layer
from .losses import LOSSES, Loss
from .model import MLP, Sequential
from .history import History, TrainState
from .train import evaluate, fit, fit_iter
from .io import ModelFileError, load, save
from .monitor import Monitor
from .diagnose import Diagnosis, Finding, diagnose
from .report import report


__all__ = [
    "functional", "ACTIVATIONS", "LOSSES", "INITIALISERS",
    "Layer", "Dense", "Dropout", "Activation", "Identity", "ReLU", "LeakyReLU", "ELU", "GELU",
    "Tanh", "Sigmoid", "Softplus", "Loss", "Sequential", "MLP",
    "value_and_grad", "gradcheck", "GradcheckReport", "optim", "schedules", "callbacks",
    "fit", "fit_iter", "evaluate", "History", "TrainState", "Callback", "EarlyStopping", "Checkpoint",
    "StopOnDivergence", "DivergenceError", "DataConversionWarning", "MLPClassifier",
    "MLPRegressor", "__version__", "save", "load", "ModelFileError", "InconsistentVersionWarning",
    "Monitor", "diagnose", "Diagnosis", "Finding", "report", "tabular",
]


def __getattr__(name: str):
    """The estimators import scikit-learn, so they load on first use, not with glassnet."""
    if name in ("MLPClassifier", "MLPRegressor"):
        from . import sklearn as _estimators
        return getattr(_estimators, name)
    raise AttributeError(f"module 'glassnet' has no attribute {name!r}")
