"""Benchmark of in-painting: seconds per image with the exact log-det gradient, the Hutchinson
estimate, and without the log-det term, at d = 196 and d = 784.

:func:`cmmlib.inpaint.inpaint` fills the hidden half of each image by Adam ascent of eq. (9)'s
log-density. Its gradient costs one Hessian-vector product for ``-w(grad w(x))``, plus, for the
log-det term, either ``d`` HVPs, a Cholesky factorisation and ``d`` third-order directional
derivatives (``"exact"``), or ``cg_iters`` HVPs and one third-order derivative per probe
(``"hutchinson"``, the defaults: one Rademacher probe, 20 conjugate-gradient iterations).

Models: the shipped CMFGen model of 14x14 digits (``mnist14``, d = 196, 4x256 ICNN) and, as no
28x28 model is shipped, a random ICNN of the same widths at d = 784 whose non-quadratic part is
not small (in-painting's cost does not depend on training, except for where conjugate gradients
stop). Held-out MNIST digits with a random half of the pixels hidden. Each method runs a fixed
number of steps (jitted ``lax.scan``), timed after a compiling run, the three methods' runs
interleaved; the cost per image of a whole in-painting at chapter 6's step count is the
per-step cost times that count.
"""
from __future__ import annotations

import dataclasses
import warnings
from typing import Any

import jax
import jax.numpy as jnp

from cmmlib import config, conjugate, icnn, zoo
from cmmlib import datasets
from cmmlib import inpaint as ip
from cmmlib.bench._timing import timed_together
from cmmlib.model import ConjugateMomentModel


@dataclasses.dataclass(frozen=True)
class Sizes:
    """``cases``: (label, image side (divides 28), images, ascent steps timed); ``repeats`` of
    each timing."""

    cases: tuple[tuple[str, int, int, int], ...]
    repeats: int


FULL = Sizes(cases=(("d196", 14, 8, 10), ("d784", 28, 2, 2)), repeats=2)
QUICK = Sizes(cases=(("d16", 4, 2, 2),), repeats=1)
#: the in-painting length of chapter 6 in the cpu profile: the whole-run cost is quoted for it
CHAPTER_STEPS = config.chapter6("cpu").inpaint_steps
#: ``output_init_scale`` of the random ICNN: its non-quadratic part is not negligible (as in the
#: ``core`` benchmark), so that conjugate gradients do not stop after an iteration or two
RANDOM_OUTPUT_SCALE = 100.0


def _model(side: int) -> tuple[ConjugateMomentModel, str]:
    if side == 14:
        return zoo.cmfgen("mnist14", "gibbs", 0), "shipped CMFGen model mnist14-gibbs-s0"
    dim, features = side * side, (256,) * 4 if side == 28 else (16, 16)
    module = icnn.ICNN(features=features, output_init_scale=RANDOM_OUTPUT_SCALE)
    amortizer = conjugate.Amortizer(features=(16,))
    params = icnn.init_icnn(module, jax.random.PRNGKey(0), dim)
    amortizer_params = amortizer.init(jax.random.PRNGKey(1), jnp.zeros((dim,)))
    return (ConjugateMomentModel(module, params, amortizer, amortizer_params, dim),
            f"random ICNN {'x'.join(map(str, features))}")


def case(side: int, n: int, steps: int, repeats: int) -> dict[str, Any]:
    """Seconds per image and step of each log-det treatment on ``n`` held-out digits."""
    model, about = _model(side)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the offline MNIST subset says so; not a benchmark figure
        x = jnp.asarray(datasets.mnist("test", size=side)[:n])
    mask = ip.half_masks(side)["random"]
    row: dict[str, Any] = {"dim": model.dim, "model": about, "n_images": n, "steps": steps,
                           "chapter_steps": CHAPTER_STEPS}
    runs = timed_together({logdet: lambda logdet=logdet: ip.inpaint(
        model, x, mask, steps, logdet=logdet, low=0.0, high=1.0, key=jax.random.PRNGKey(3)) for logdet in ip.LOGDETS},
        repeats)
    for logdet, (_, t) in runs.items():
        per_step = t.median_s / (n * steps)
        row[logdet] = {**t.as_dict(), "per_image_step_s": per_step, "per_image_chapter_s": per_step * CHAPTER_STEPS}
    row["exact_vs_hutchinson_x"] = row["exact"]["per_image_step_s"] / row["hutchinson"]["per_image_step_s"]
    row["hutchinson_vs_none_x"] = row["hutchinson"]["per_image_step_s"] / row["none"]["per_image_step_s"]
    return row


def main(quick: bool = False) -> dict[str, Any]:
    sizes = QUICK if quick else FULL
    results = {}
    for label, side, n, steps in sizes.cases:
        r = case(side, n, steps, sizes.repeats)
        results[label] = r
        print(f"d = {r['dim']} ({r['model']}), {n} images x {steps} steps: seconds per image and step "
              + ", ".join(f"{m} {r[m]['per_image_step_s']:.4f}" for m in ip.LOGDETS)
              + f"; exact / hutchinson = {r['exact_vs_hutchinson_x']:.0f}x; a {CHAPTER_STEPS}-step in-painting: "
              + ", ".join(f"{m} {r[m]['per_image_chapter_s']:.1f} s" for m in ip.LOGDETS) + " per image", flush=True)
    return results


if __name__ == "__main__":
    main()
