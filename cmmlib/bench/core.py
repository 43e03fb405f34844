"""Benchmark of the conjugate solver: iterations to a tolerance from a cold and from an amortised
start, in 2D and up to d = 784, and against ott-jax's L-BFGS.

Each problem is a convex potential ``w``, a batch ``y`` and an amortiser ``H_phi ~ grad w*``:

* ``icnn_2d``: a random 4x64 ICNN in 2D with a sizeable non-quadratic part (curvature between
  about 0.5 and 5), ``y = grad w(x)`` with ``x ~ N(0, 1.5^2 I)``, 1,024 points; its amortiser (an
  MLP, :class:`cmmlib.conjugate.Amortizer`) fitted by regression on exact pairs
  ``(grad w(x), x)``;
* ``icnn_784``: the same at d = 784 (4x256, ``x ~ N(0, I)``, 64 points), its ICNN part scaled up
  (``output_init_scale``) so that, as in 2D, it is not negligible next to the quadratic part;
* ``circles`` (2D), ``mnist14`` (d = 196), ``cartoon12`` (d = 432): the models CMFGen trained
  (shipped with the book), their amortisers trained alongside ``w``, ``y`` drawn from their Gibbs
  factor by the model's own Langevin sampler: the regime of sampling after training.

For each problem, the solver runs until every residual ``|grad w(x) - y| < TOLERANCE`` from the
cold start ``x = y`` and from ``H_phi(y)``: the paper's Adam (cold: step 0.1; amortised: 0.03),
the default Barzilai-Borwein steps (``bb``) and, in 2D, gradient descent with step
``1/lambda_max`` and L-BFGS. Iterations (batched gradients of ``w``) and seconds; goal: at least
5x fewer iterations from the amortised start. Then ott-jax 0.6.0's
``FenchelConjugateLBFGS`` (jaxopt L-BFGS, vmapped over the points, ``gtol = TOLERANCE``) from
the same two starts, against this package's default solver on the same points: seconds and the
largest residual reached. In high dimension ott-jax's solver takes about a second per point on
the project's 2-core CPU, so this comparison uses the first few points there
(:attr:`Sizes.ott_points`).

Times are medians of repeats after a compiling run, in this process, the runs of the two starts
interleaved.
"""
from __future__ import annotations

import dataclasses
import warnings
from typing import Any, Callable

import jax
import jax.numpy as jnp
import optax

from cmmlib import conjugate, icnn, langevin, zoo
from cmmlib.bench._timing import timed_together

Potential = Callable[[jax.Array], jax.Array]
TOLERANCE = 1e-3
MAX_ITER = 3000
GOAL_ITERATION_RATIO = 5.0
#: initial Adam steps from a cold start (the paper's) and from the amortiser (CMFGen's)
COLD_LR, AMORTISED_LR = 0.1, 0.03
#: Adam's step when the amortisers of the random ICNNs are fitted
AMORTIZER_LR = 1e-3


@dataclasses.dataclass(frozen=True)
class RandomICNN:
    """A random-ICNN problem: ``dim``, hidden ``features``, ``output_scale`` (the ICNN's
    ``output_init_scale``: the size of its non-quadratic part), ``batch`` points
    ``y = grad w(x)``, ``x ~ N(0, scale^2 I)``; ``amortizer_steps`` Adam steps of
    ``amortizer_batch`` pairs."""

    label: str
    dim: int
    features: tuple[int, ...]
    output_scale: float
    batch: int
    scale: float
    amortizer_steps: int
    amortizer_batch: int


@dataclasses.dataclass(frozen=True)
class Sizes:
    """``random``: the random-ICNN problems; ``trained``: (label, shipped model name, batch);
    ``ott_points``: how many of a problem's points ott-jax's solver and the default solver are
    compared on, per dimension (all when absent); ``repeats`` of each timing (``ott_repeats`` of
    ott-jax's, compiled ahead of time)."""

    random: tuple[RandomICNN, ...]
    trained: tuple[tuple[str, str, int], ...]
    ott_points: dict[int, int]
    repeats: int
    ott_repeats: int


FULL = Sizes(random=(RandomICNN("icnn_2d", 2, (64,) * 4, 1.0, 1024, 1.5, 3000, 256),
                     RandomICNN("icnn_784", 784, (256,) * 4, 100.0, 64, 1.0, 500, 64)),
             trained=(("circles", "circles", 1024), ("mnist14", "mnist14", 128), ("cartoon12", "cartoon12", 128)),
             ott_points={196: 8, 432: 8, 784: 4}, repeats=2, ott_repeats=1)
QUICK = Sizes(random=(RandomICNN("icnn_2d", 2, (16, 16), 1.0, 64, 1.5, 50, 64),), trained=(), ott_points={}, repeats=1,
              ott_repeats=1)


@dataclasses.dataclass
class Problem:
    """A potential ``w`` of one point, points ``y (n, d)`` and the amortised start ``x_amortised``."""

    w: Potential
    y: jax.Array
    x_amortised: jax.Array


def random_problem(spec: RandomICNN, key: jax.Array) -> Problem:
    """A random ICNN whose non-quadratic part is not small, ``y = grad w(x)`` for
    ``x ~ N(0, scale^2 I)``, and an amortiser fitted to the exact pairs ``(grad w(x), x)`` by
    Adam on :func:`cmmlib.conjugate.amortizer_loss` (one gradient of ``w`` per pair, no solve)."""
    k_w, k_y, k_a, k_init = jax.random.split(key, 4)
    module = icnn.ICNN(features=spec.features, output_init_scale=spec.output_scale)
    w = icnn.potential_fn(module, icnn.init_icnn(module, k_w, spec.dim))
    grad_w = jax.vmap(jax.grad(w))
    draw = lambda k, n: grad_w(spec.scale * jax.random.normal(k, (n, spec.dim)))
    amortizer = conjugate.Amortizer(features=(max(128, spec.features[0]),) * 3)
    opt = optax.adam(AMORTIZER_LR)

    def step(carry, k):
        params, state = carry
        x = spec.scale * jax.random.normal(k, (spec.amortizer_batch, spec.dim))
        grads = jax.grad(lambda p: conjugate.amortizer_loss(amortizer, p, grad_w(x), x))(params)
        updates, state = opt.update(grads, state, params)
        return (optax.apply_updates(params, updates), state), None

    fit = jax.jit(lambda p, ks: jax.lax.scan(step, (p, opt.init(p)), ks)[0][0])
    params = fit(amortizer.init(k_init, jnp.zeros((spec.dim,))), jax.random.split(k_a, spec.amortizer_steps))
    y = draw(k_y, spec.batch)
    return Problem(w, y, jax.jit(amortizer.apply)(params, y))


def trained_problem(name: str, batch: int, key: jax.Array) -> Problem:
    """A shipped CMFGen model: ``y`` from its Gibbs factor (its Langevin sampler), its amortiser."""
    model = zoo.cmfgen(name, "gibbs", 0)
    y = model.sample_gibbs(key, batch)
    return Problem(model.w, y, jax.jit(model.amortizer.apply)(model.amortizer_params, y))


def _solver(w: Potential, method: str, learning_rate: float | None):
    return jax.jit(lambda y, x0: conjugate.solve(w, y, x0, method=method, learning_rate=learning_rate,
                                                 iterations=MAX_ITER, tolerance=TOLERANCE, return_output=True))


def to_tolerance(p: Problem, method: str, cold_lr: float | None, amortised_lr: float | None,
                 repeats: int) -> dict[str, Any]:
    """Iterations and seconds of ``method`` to :data:`TOLERANCE`, cold and amortised."""
    out: dict[str, Any] = {}
    solvers = {lr: _solver(p.w, method, lr) for lr in {cold_lr, amortised_lr}}  # one program per step size
    runs = timed_together({"cold": lambda: solvers[cold_lr](p.y, p.y),
                           "amortised": lambda: solvers[amortised_lr](p.y, p.x_amortised)}, repeats)
    for start, (result, t) in runs.items():
        out[start] = {"iterations": int(result.iterations), "converged": bool(result.converged),
                      "final_residual": float(result.residual.max()), **t.as_dict()}
    out["iteration_ratio_x"] = out["cold"]["iterations"] / max(out["amortised"]["iterations"], 1)
    out["time_ratio_x"] = out["cold"]["median_s"] / out["amortised"]["median_s"]
    return out


def against_ott(p: Problem, n_points: int, repeats: int, ott_repeats: int) -> dict[str, Any]:
    """ott-jax's FenchelConjugateLBFGS (vmapped, compiled ahead of time) and the default solver
    (``bb``) on the first ``n_points`` points, from both starts: seconds and residuals reached."""
    from ott.neural.networks.layers.conjugate import FenchelConjugateLBFGS

    q = Problem(p.w, p.y[:n_points], p.x_amortised[:n_points])
    solver = FenchelConjugateLBFGS(gtol=TOLERANCE, max_iter=100, max_linesearch_iter=20)
    fn = jax.jit(jax.vmap(lambda yi, xi: solver.solve(q.w, yi, x_init=xi).grad)).lower(q.y, q.y).compile()
    ours = to_tolerance(q, "bb", None, None, repeats)
    out: dict[str, Any] = {"points": n_points}
    runs = timed_together({"cold": lambda: fn(q.y, q.y), "amortised": lambda: fn(q.y, q.x_amortised)},
                          ott_repeats, warmup=0)
    for start, (x, t) in runs.items():
        out[start] = {"ott_lbfgs": {"final_residual": float(conjugate.residual_norm(q.w, q.y, x).max()), **t.as_dict()},
                      "bb": {k: ours[start][k] for k in ("iterations", "final_residual", "median_s")},
                      "ott_vs_bb_x": t.median_s / ours[start]["median_s"]}
    return out


def run_problem(p: Problem, extra_methods: bool, ott_points: int, sizes: Sizes) -> dict[str, Any]:
    """Every solver on one problem, and ott-jax against the default solver."""
    r, repeats = conjugate.residual_norm, sizes.repeats
    lam = float(langevin.lambda_max(p.w, p.y, jax.random.PRNGKey(3)))
    row: dict[str, Any] = {
        "dim": int(p.y.shape[1]), "batch": int(p.y.shape[0]), "tolerance": TOLERANCE, "lambda_max": lam,
        "start_residual": {"cold_residual": float(r(p.w, p.y, p.y).max()),
                           "amortised_residual": float(r(p.w, p.y, p.x_amortised).max())},
        "solvers": {"adam": to_tolerance(p, "adam", COLD_LR, AMORTISED_LR, repeats),
                    "bb": to_tolerance(p, "bb", None, None, repeats)},
    }
    if extra_methods:
        row["solvers"]["gd"] = to_tolerance(p, "gd", 1.0 / lam, 1.0 / lam, repeats)
        row["solvers"]["lbfgs"] = to_tolerance(p, "lbfgs", None, None, repeats)
    row["ott"] = against_ott(p, min(ott_points, row["batch"]), repeats, sizes.ott_repeats)
    return row


def _print(label: str, row: dict[str, Any]) -> None:
    print(f"{label}: d = {row['dim']}, {row['batch']} points, lambda_max {row['lambda_max']:.3g}, tolerance "
          f"{TOLERANCE:g}; start residual cold "
          f"{row['start_residual']['cold_residual']:.3g}, amortised {row['start_residual']['amortised_residual']:.3g}")
    for name, s in row["solvers"].items():
        print(f"  {name:6s} iterations cold {s['cold']['iterations']:5d} amortised {s['amortised']['iterations']:5d} "
              f"({s['iteration_ratio_x']:.1f}x fewer, goal {GOAL_ITERATION_RATIO:.0f}x); seconds "
              f"{s['cold']['median_s']:.4f} / {s['amortised']['median_s']:.4f} ({s['time_ratio_x']:.1f}x)"
              + ("" if s["cold"]["converged"] and s["amortised"]["converged"] else "  [not converged]"))
    o = row["ott"]
    print(f"  on {o['points']} points, ott-jax L-BFGS / default solver (bb): "
          + ", ".join(f"{start} {o[start]['ott_lbfgs']['median_s']:.4f} s / {o[start]['bb']['median_s']:.4f} s "
                      f"= {o[start]['ott_vs_bb_x']:.0f}x (residual {o[start]['ott_lbfgs']['final_residual']:.1e})"
                      for start in ("cold", "amortised")), flush=True)


def main(quick: bool = False) -> dict[str, Any]:
    sizes = QUICK if quick else FULL
    results: dict[str, Any] = {}
    key = jax.random.PRNGKey(0)
    for spec in sizes.random:
        p = random_problem(spec, jax.random.fold_in(key, spec.dim))
        results[spec.label] = {"potential": f"random ICNN {'x'.join(map(str, spec.features))}",
                               "amortizer_steps": spec.amortizer_steps,
                               **run_problem(p, spec.dim == 2, sizes.ott_points.get(spec.dim, spec.batch), sizes)}
        _print(spec.label, results[spec.label])
    for label, name, batch in sizes.trained:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # an unconverged solve is reported, not warned
            p = trained_problem(name, batch, jax.random.fold_in(key, 7))
            row = run_problem(p, False, sizes.ott_points.get(p.y.shape[1], batch), sizes)
        results[label] = {"potential": f"shipped CMFGen model {zoo.model_name(name, 'gibbs', 0)}", **row}
        _print(label, results[label])
    return results


if __name__ == "__main__":
    main()
