"""Shared test set-up: CPU-friendly JAX, the tiny ``ci`` profile, deterministic keys."""
import os

os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")
os.environ.setdefault("CMM_PROFILE", "ci")
os.environ.setdefault("MPLBACKEND", "Agg")

import jax  # noqa: E402
import pytest  # noqa: E402


@pytest.fixture
def key() -> jax.Array:
    return jax.random.PRNGKey(0)
