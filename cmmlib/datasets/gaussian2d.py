"""The correlated 2D Gaussian on which chapter 4 checks Proposition 2.

:math:`\\rho = N(m, \\Sigma)` with :math:`m = (1, -\\tfrac12)` and the covariance of the paper's
Figure 1, :math:`\\Sigma = \\begin{pmatrix} 2 & 1.8 \\\\ 1.8 & 2 \\end{pmatrix}` (condition number
19). Proposition 2 gives its conjugate moment potential in closed form
(:func:`cmmlib.gaussian.conjugate_gibbs`), so a model trained on these points has an exact answer.
The shipped model ``cmfgen/prop2_gaussian-gibbs-s0`` was trained on them by
``scripts/train_prop2_gaussian.py``.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

PROP2_MEAN = np.array([1.0, -0.5])
PROP2_COV = np.array([[2.0, 1.8], [1.8, 2.0]])


def prop2_gaussian(n: int, key: jax.Array) -> jnp.ndarray:
    """``(n, 2)`` float32 draws of :math:`N(m, \\Sigma)` (module docstring)."""
    if not (isinstance(n, (int, np.integer)) and n >= 1):
        raise ValueError(f"n must be a positive integer, got {n!r}")
    z = jax.random.normal(key, (int(n), 2))
    return jnp.asarray(PROP2_MEAN + z @ np.linalg.cholesky(PROP2_COV).T, jnp.float32)
