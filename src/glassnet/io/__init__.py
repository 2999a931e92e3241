"""Model files: ``save`` and ``load`` (models and fitted estimators), the strict loader, and
crash-safe writes.

A model is saved as one ``.safetensors`` file: its ``state_dict()`` arrays as tensors
(``layers.0.W``, ``layers.0.b``, ...), its configuration as strict JSON in the header's
metadata. Never pickle, never ``eval``, never an import by a name read from a file. The
layout, the schema and the layer table are in ``format.py``.

  format.py            the format: version, schema checks, the layer table, ModelFileError
  container.py         the safetensors header, parsed and checked by hand (lengths, offsets)
  reading.py           load (checks everything, then builds), read_info (the header only)
  writing.py           save, and atomic_write (temporary file, fsync, os.replace)
  estimator_format.py  a fitted MLPClassifier / MLPRegressor: the "estimator" section's
                       schema and its checks against the model
  estimator_json.py    the section's values as strict JSON (parameters, infinities, generators)
  estimators.py        the section collected from an estimator, and the estimator built from it
"""

from .format import FORMAT_VERSION, ModelFileError
from .reading import ModelFileInfo, load, read_info
from .writing import atomic_write, save

__all__ = ["save", "load", "read_info", "ModelFileInfo", "atomic_write", "ModelFileError",
           "FORMAT_VERSION"]
