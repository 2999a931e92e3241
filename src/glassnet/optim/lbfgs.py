"""Full-batch L-BFGS through SciPy, as scikit-learn's ``solver="lbfgs"``."""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from .._checks import check_number

__all__ = ["LBFGS"]


class LBFGS:
    """Full-batch L-BFGS through ``scipy.optimize.minimize(method="L-BFGS-B")``.

    Like scikit-learn's ``solver="lbfgs"``: not step-based; it asks for the loss and gradient of
    the whole data set at a flat float64 parameter vector. Use it through ``glassnet.fit``
    or call ``minimize`` directly.

    Parameters
    ----------
    max_iter : int >= 1
        Maximum number of L-BFGS iterations (scipy's ``maxiter``); through ``glassnet.fit``
        its ``epochs`` caps them as well, and the smaller of the two wins.
    max_fun : int >= 1
        Maximum number of loss evaluations (``maxfun``).
    tol : float >= 0
        Stop when the largest gradient entry is below ``tol`` (scipy's ``gtol``).
    history : int >= 1
        Number of past updates kept to approximate the Hessian (``maxcor``).
    """

    def __init__(self, max_iter: int = 200, max_fun: int = 15000, tol: float = 1e-4,
                 history: int = 10) -> None:
        self.max_iter = check_number(max_iter, "max_iter", ge=1, integer=True)
        self.max_fun = check_number(max_fun, "max_fun", ge=1, integer=True)
        self.tol = check_number(tol, "tol", ge=0)
        self.history = check_number(history, "history", ge=1, integer=True)

    def step(self, params: Any = None, grads: Any = None) -> None:
        raise TypeError("LBFGS is a full-batch optimizer without a step(); use it through "
                        "glassnet.fit(..., optimizer='lbfgs') or LBFGS.minimize(fun_and_grad, x0)")

    def minimize(self, fun_and_grad: Callable[[np.ndarray], tuple[float, np.ndarray]],
                 x0: np.ndarray) -> tuple[np.ndarray, int, Any]:
        """Minimize ``fun_and_grad(x) -> (value, gradient)`` from ``x0``.

        ``x`` and the gradient are flat float64 vectors of shape ``(n_params,)``. Returns
        ``(x, n_iter, result)`` with scipy's ``OptimizeResult`` (``result.success``,
        ``result.message``) so the caller can warn when it did not converge.
        """
        try:
            from scipy.optimize import minimize
        except ImportError:  # pragma: no cover - depends on the environment
            raise ImportError("LBFGS needs SciPy: pip install scipy "
                              "(or the glassnet[sklearn] extra)") from None

        def fun(x):
            value, grad = fun_and_grad(x)
            # A copy: scipy keeps the array, and a caller may refill one buffer on every call.
            return float(value), np.array(grad, dtype=np.float64).ravel()

        result = minimize(fun, np.asarray(x0, dtype=np.float64).ravel(), method="L-BFGS-B",
                          jac=True, options={"maxiter": self.max_iter, "maxfun": self.max_fun,
                                             "gtol": self.tol, "maxcor": self.history})
        return result.x, int(result.nit), result

    def config(self) -> dict[str, Any]:
        """Constructor arguments that rebuild this optimizer."""
        return {"max_iter": self.max_iter, "max_fun": self.max_fun, "tol": self.tol,
                "history": self.history}

    def __repr__(self) -> str:
        return "LBFGS(" + ", ".join(f"{k}={v!r}" for k, v in self.config().items()) + ")"
