"""Shared test setup: every test runs with NumPy floating-point errors raised."""

import numpy as np
import pytest


@pytest.fixture(autouse=True)
def strict_floating_point():
    """Overflow, underflow, invalid and divide-by-zero all raise FloatingPointError."""
    old = np.seterr(all="raise")
    try:
        yield
    finally:
        np.seterr(**old)


def torch_or_skip():
    """Import torch, or skip the test with a printed reason (torch is an optional dependency)."""
    return pytest.importorskip(
        "torch", reason="PyTorch is not installed: the cross-check against torch autograd is "
                        "skipped (pip install torch==2.13.0 to run it)")


@pytest.fixture(params=["blas", "numpy"])
def update_path(request, monkeypatch):
    """Run the test with the BLAS routines of ``glassnet._blas`` (the optimizers' updates, plain
    SGD's step and the dense layers' bias add inside the products) and again with the NumPy
    equations that replace them where NumPy's OpenBLAS is not found."""
    from glassnet import _blas
    if request.param == "blas" and not _blas.AVAILABLE:
        pytest.skip("NumPy's own OpenBLAS was not found: only the NumPy update path runs here")
    monkeypatch.setattr(_blas, "ENABLED", request.param == "blas")
    monkeypatch.setattr(_blas, "MIN_SIZE", 0)  # the tests' small arrays take the BLAS path too
    monkeypatch.setattr(_blas, "SCAL_MIN_SIZE", 0)
    monkeypatch.setattr(_blas, "ADD_MIN_SIZE", 0)  # and the forward's product-into-bias
    return request.param
