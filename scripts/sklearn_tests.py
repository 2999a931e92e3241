"""Run scikit-learn's own MLP tests against glassnet's estimators.

The installed scikit-learn ships ``sklearn/neural_network/tests/test_mlp.py``. This script
copies it into a temporary folder, switches its one import line to glassnet's estimators,
and runs it with pytest. Every test must pass but those listed in ``EXPECTED_FAILURES``,
each with the reason: the tests that call scikit-learn's private internals, and the ones
that encode a choice glassnet makes otherwise (the README's "Differences from scikit-learn").
Those are run too, as strict expected failures: one that starts passing fails the run, so
the list can only shrink.

Usage::

    python scripts/sklearn_tests.py [extra pytest arguments]

Exit status: pytest's (0 when everything passed or failed as expected).
"""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys
import tempfile

SWITCHED = "from sklearn.neural_network import MLPClassifier, MLPRegressor"
GLASSNET = "from glassnet import MLPClassifier, MLPRegressor"

# test name -> why it cannot pass against glassnet's estimators. Only tests of scikit-learn's
# private internals: no test of a public behaviour is expected to fail.
EXPECTED_FAILURES = {
    "test_fit": "private: calls scikit-learn's _initialize and _forward_pass and reads "
                "its internal buffers",
    "test_gradient": "private: calls scikit-learn's _loss_grad_lbfgs with its packed "
                     "parameter vector",
    "test_learning_rate_warmstart": "private: reads _optimizer.learning_rate (glassnet's "
                                    "optimizers name it lr, as torch.optim does)",
    "test_adaptive_learning_rate": "private: reads _optimizer.learning_rate (glassnet's "
                                   "optimizers name it lr, as torch.optim does)",
}


def locate() -> pathlib.Path:
    """The installed scikit-learn's ``test_mlp.py``."""
    import sklearn

    path = pathlib.Path(sklearn.__file__).parent / "neural_network" / "tests" / "test_mlp.py"
    if not path.is_file():
        sys.exit(f"error: scikit-learn {sklearn.__version__} has no {path}")
    return path


def switched_source(path: pathlib.Path) -> str:
    """The test file with glassnet's estimators imported in place of scikit-learn's."""
    source = path.read_text(encoding="utf-8")
    if source.count(SWITCHED) != 1:
        sys.exit(f"error: {path} does not import the estimators with {SWITCHED!r} "
                 "exactly once; this script needs updating for this scikit-learn")
    return source.replace(SWITCHED, GLASSNET)


CONFTEST = '''
import pytest

EXPECTED_FAILURES = {expected!r}


def pytest_collection_modifyitems(config, items):
    for item in items:
        reason = EXPECTED_FAILURES.get(item.originalname)
        if reason is not None:
            item.add_marker(pytest.mark.xfail(reason=reason, strict=True))
'''


def main(argv: list[str]) -> int:
    source = switched_source(locate())
    with tempfile.TemporaryDirectory(prefix="glassnet-sklearn-tests-") as folder:
        folder = pathlib.Path(folder)
        (folder / "test_mlp_glassnet.py").write_text(source, encoding="utf-8")
        (folder / "conftest.py").write_text(CONFTEST.format(expected=EXPECTED_FAILURES),
                                            encoding="utf-8")
        # scikit-learn's own conftest as a plugin: its fixtures (global_random_seed) and setup
        command = [sys.executable, "-m", "pytest", "-p", "sklearn.conftest",
                   "-p", "no:cacheprovider", "-q",
                   "--rootdir", str(folder), str(folder / "test_mlp_glassnet.py"), *argv]
        return subprocess.call(command, cwd=folder, env=dict(os.environ))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
