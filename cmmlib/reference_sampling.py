r"""Reference samples of :math:`\rho \propto e^{-E}`, drawn independently of any learned model.

**Box rejection sampling.** Propose :math:`x \sim \mathrm{Unif}([\ell, h])` and accept with
probability :math:`e^{-(E(x) - m)}`, where :math:`m \le E` on the box. Accepted points are
exact samples of :math:`\rho` restricted to the box. The bound :math:`m` is the smallest energy
seen so far; when a later proposal goes below it (:math:`m \to m' < m`), the points already
accepted are thinned with probability :math:`e^{-(m - m')}`, which turns their acceptance
probability into :math:`e^{-(E - m')}`: the output stays exact, with no bound known in advance.

The restriction to the box is the only approximation: the energies of
:mod:`cmmlib.datasets.energies` state boxes that hold all but a negligible part of the mass.
"""
from __future__ import annotations

from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np

from .validation import check_box, check_positive


def box_rejection(
    energy: Callable[[jax.Array], jax.Array],
    key: jax.Array,
    n: int,
    low,
    high,
    *,
    batch_size: int = 200_000,
    max_rounds: int = 1_000,
) -> jax.Array:
    r"""Exact samples of :math:`e^{-E}` restricted to the box :math:`[\ell, h]` by rejection.

    Args:
      energy: ``E(x: (d,)) -> scalar``.
      key: PRNG key.
      n: number of samples.
      low, high: ``(d,)`` (or scalar, for ``d = 1``) corners of the box.
      batch_size: proposals per round.
      max_rounds: give up (``RuntimeError``) after this many rounds.

    Returns:
      ``(n, d)`` samples.
    """
    check_positive(n, "n")
    lo, hi = check_box(low, high)
    d = lo.size
    evaluate = jax.jit(jax.vmap(energy))
    bound = np.inf
    kept: list[np.ndarray] = []
    kept_energy: list[np.ndarray] = []
    total = 0
    for _ in range(max_rounds):
        key, k_prop, k_acc, k_thin = jax.random.split(key, 4)
        proposals = jax.random.uniform(k_prop, (batch_size, d), minval=lo, maxval=hi)
        values = np.asarray(evaluate(proposals), dtype=np.float64)
        if values.shape != (batch_size,) or not np.all(np.isfinite(values)):
            raise ValueError("the energy must return one finite scalar per point of the box")
        new_bound = min(bound, float(values.min()))
        if new_bound < bound and kept:
            keep = [np.asarray(jax.random.uniform(k, (len(e),))) < np.exp(-(bound - new_bound))
                    for k, e in zip(jax.random.split(k_thin, len(kept)), kept_energy)]
            kept = [x[m] for x, m in zip(kept, keep)]
            kept_energy = [e[m] for e, m in zip(kept_energy, keep)]
            total = sum(len(x) for x in kept)
        bound = new_bound
        accept = np.asarray(jax.random.uniform(k_acc, (batch_size,))) < np.exp(-(values - bound))
        kept.append(np.asarray(proposals)[accept])
        kept_energy.append(values[accept])
        total += int(accept.sum())
        if total >= n:
            return jnp.asarray(np.concatenate(kept)[:n], dtype=jnp.float32)
    raise RuntimeError(f"rejection sampling got {total} of {n} samples in {max_rounds} rounds")


def reference_samples(energy, key: jax.Array, n: int) -> jax.Array:
    """``(n, d)`` reference samples of an :class:`~cmmlib.datasets.energies.Energy`.

    Exact samples when the energy has a closed-form sampler (Gaussians, 1D mixtures), else
    :func:`box_rejection` on the energy's box.
    """
    if getattr(energy, "exact_sampler", None) is not None:
        return energy.exact_sampler(key, n)
    return box_rejection(energy, key, n, energy.low, energy.high)
