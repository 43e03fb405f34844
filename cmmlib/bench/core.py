"""Benchmark of the neural core: the conjugate solver, cold vs amortised, and against ott-jax.

1. Iterations and time until every point of a batch has ``|grad w(x) - y| < 1e-3``, from a
   cold start (``x = y``) and from a trained amortiser ``H_phi(y)``; for the paper's Adam
   (cold: lr 0.1; amortised: lr 0.03 and 0.01), gradient descent with step ``1/lambda_max``,
   and L-BFGS. Goal: at least 5x fewer iterations from the amortised start.
2. This package's batched solver against ``ott.neural.networks.layers.conjugate.
   FenchelConjugateLBFGS`` (ott-jax 0.6.0, jaxopt L-BFGS) vmapped over the same batch of the
   same ICNN at the same gradient tolerance: wall time and the largest residual reached.

Every ratio is measured in this process (``python -m cmmlib.bench core``).
"""
from __future__ import annotations

import time
from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np

from cmmlib import conjugate, icnn, langevin

DIM = 2
BATCH = 1024
TOLERANCE = 1e-3
AMORTIZER_STEPS = 3000
MAX_ITER = 2000


def _timed(fn: Callable[[], object], repeats: int = 3) -> tuple[object, float]:
    out = jax.block_until_ready(fn())  # compile
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        out = jax.block_until_ready(fn())
        times.append(time.perf_counter() - start)
    return out, float(np.median(times))


def _potential(key: jax.Array):
    """A random ICNN with a sizeable non-quadratic part (curvature between about 0.5 and 5)."""
    module = icnn.ICNN(features=(64, 64, 64, 64), output_init_scale=1.0)
    return icnn.potential_fn(module, icnn.init_icnn(module, key, DIM))


def main() -> None:
    key = jax.random.PRNGKey(0)
    k_w, k_y, k_a, k_lam = jax.random.split(key, 4)
    w = _potential(k_w)
    sample = lambda k, n: 1.5 * jax.random.normal(k, (n, DIM))
    y = sample(k_y, BATCH)
    lam = float(langevin.lambda_max(w, y, k_lam))
    print(f"ICNN 4x64, d={DIM}, batch {BATCH}, tolerance {TOLERANCE:g}; lambda_max over batch {lam:.3g}")

    # ---- 1. cold vs amortised -----------------------------------------------------------
    amortizer = conjugate.Amortizer()
    start = time.perf_counter()
    params, losses = conjugate.train_amortizer(w, sample, k_a, amortizer, steps=AMORTIZER_STEPS)
    print(f"amortiser: {AMORTIZER_STEPS} regression steps in {time.perf_counter() - start:.1f} s, "
          f"loss {float(losses[0]):.3g} -> {float(losses[-1]):.3g}")
    x_amortized = jax.jit(amortizer.apply)(params, y)
    r_cold = conjugate.residual_norm(w, y, y)
    r_warm = conjugate.residual_norm(w, y, x_amortized)
    print(f"start residual max/median: cold {float(r_cold.max()):.3g}/{float(jnp.median(r_cold)):.3g}, "
          f"amortised {float(r_warm.max()):.3g}/{float(jnp.median(r_warm)):.3g}")

    def run(x0, **kw):
        f = jax.jit(lambda y, x0: conjugate.solve(w, y, x0, iterations=MAX_ITER, tolerance=TOLERANCE,
                                                  return_info=True, **kw))
        (x, info), t = _timed(lambda: f(y, x0))
        return int(info.iterations), t, float(info.grad_norm.max())

    configs = [
        ("adam (paper)", dict(method="adam", learning_rate=0.1), dict(method="adam", learning_rate=0.03)),
        ("adam, lr 0.01 warm", dict(method="adam", learning_rate=0.1), dict(method="adam", learning_rate=0.01)),
        ("gd, step 1/lambda_max", dict(method="gd", learning_rate=1.0 / lam),
         dict(method="gd", learning_rate=1.0 / lam)),
        ("lbfgs", dict(method="lbfgs"), dict(method="lbfgs")),
        ("bb (the default)", dict(method="bb"), dict(method="bb")),
    ]
    header = ["cold it", "warm it", "it ratio", "cold s", "warm s"]
    print(f"\n{'solver':24s} " + " ".join(f"{h:>8s}" for h in header) + f" {'time ratio':>10s}")
    for name, cold_kw, warm_kw in configs:
        ic, tc, gc = run(y, **cold_kw)
        iw, tw, gw = run(x_amortized, **warm_kw)
        print(f"{name:24s} {ic:8d} {iw:8d} {ic / max(iw, 1):8.2f} {tc:8.4f} {tw:8.4f} {tc / tw:10.2f}"
              f"   (final max residual {gc:.1e} / {gw:.1e})")
    fixed = jax.jit(lambda y, x0: conjugate.residual_norm(
        w, y, conjugate.solve(w, y, x0, iterations=10, learning_rate=0.03, method="adam", tolerance=None)).max())
    print(f"after 10 Adam steps at lr 0.03 (CMFGen's regime): max residual cold "
          f"{float(fixed(y, y)):.3g}, amortised {float(fixed(y, x_amortized)):.3g}")

    # ---- 2. against ott-jax's FenchelConjugateLBFGS --------------------------------------
    from ott.neural.networks.layers.conjugate import FenchelConjugateLBFGS

    ott_solver = FenchelConjugateLBFGS(gtol=TOLERANCE, max_iter=100, max_linesearch_iter=20)
    ott_fn = jax.jit(jax.vmap(lambda yi: ott_solver.solve(w, yi).grad))
    x_ott, t_ott = _timed(lambda: ott_fn(y))
    r_ott = float(conjugate.residual_norm(w, y, x_ott).max())
    print(f"\nott-jax FenchelConjugateLBFGS (vmapped, gtol {TOLERANCE:g}): {t_ott:.4f} s, "
          f"max residual {r_ott:.1e}")
    for name, kw, x0 in [
        ("ours adam (paper), cold", dict(method="adam", learning_rate=0.1), y),
        ("ours lbfgs, cold", dict(method="lbfgs"), y),
        ("ours gd 1/lambda_max, cold", dict(method="gd", learning_rate=1.0 / lam), y),
        ("ours adam, amortised", dict(method="adam", learning_rate=0.03), x_amortized),
        ("ours bb (default), cold", dict(method="bb"), y),
    ]:
        it, t, g = run(x0, **kw)
        print(f"{name:28s} {t:.4f} s ({it} it, max residual {g:.1e}): ott / ours = {t_ott / t:.2f}x")


if __name__ == "__main__":
    main()
