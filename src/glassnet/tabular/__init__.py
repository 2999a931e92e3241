"""Tables as a network's data: what ``glassnet train``, ``evaluate`` and ``predict`` read.

A CSV file (with a header row) or a Parquet file is read by pandas (``read_table``); its
feature columns become the network's input through a ``TabularEncoder`` (numeric columns
standardised, text columns one-hot encoded), its target through a ``Target`` (classes, or a
standardised number). A ``TabularModel`` holds the network with both, and ``glassnet.save``
keeps all three in one file, so that new rows are encoded as the training rows were.

Every bad cell is a ``DataError`` (a ``ValueError``) naming the file, the column, the line and
the cell. Needs pandas (``pip install 'glassnet[cli]'``); Parquet needs pyarrow as well.

  _read.py      read_table: pandas' reader, with its errors named by file and line
  _columns.py   a column's kind (numeric or categorical) and its cells, each checked
  _encoder.py   Feature, TabularEncoder: standardisation and one-hot encoding
  _target.py    Target: the classes or the scale of what is predicted; the task's inference
  _model.py     TabularModel: the network with its encoder and target
  _metrics.py   accuracy, log-loss, precision and recall; R^2, MAE, RMSE
"""

from ._encoder import Feature, TabularEncoder
from ._metrics import classification_metrics, per_class, regression_metrics
from ._model import TabularModel
from ._read import DataError, Table, read_table
from ._target import Target, infer_task

__all__ = ["read_table", "Table", "DataError", "Feature", "TabularEncoder", "Target",
           "infer_task", "TabularModel", "classification_metrics", "per_class",
           "regression_metrics"]
