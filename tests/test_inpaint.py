"""In-painting by gradient ascent of eq. (9) (cmmlib.inpaint)."""
import functools
import types

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from cmmlib import inpaint as ip
from cmmlib import monge_ampere
from cmmlib.conjugate import Amortizer
from cmmlib.icnn import ICNN, init_icnn, potential_fn
from cmmlib.model import ConjugateMomentModel

D = 6
RNG = np.random.default_rng(0)
MEAN = RNG.normal(size=D)
_A = RNG.normal(size=(D, D))
COV = _A @ _A.T / D + 0.5 * np.eye(D)


def gaussian_model():
    """Exactly quadratic w at the Prop. 2 solution of N(MEAN, COV): eq. (9) is that Gaussian."""
    icnn = ICNN(features=(8, 8), strong_convexity=0.01, output_init_scale=0.0)
    params = init_icnn(icnn, jax.random.PRNGKey(0), D, init="gaussian", mean=MEAN, cov=COV)
    amortizer = Amortizer(features=(8,))
    return ConjugateMomentModel(icnn, params, amortizer, amortizer.init(jax.random.PRNGKey(1), jnp.zeros(D)), dim=D)


def curved_model(dim, seed=0):
    """A random, clearly non-quadratic ICNN (output weights of order one, skewed quadratic part)."""
    icnn = ICNN(features=(16, 16), output_init_scale=16.0)
    params = init_icnn(icnn, jax.random.PRNGKey(seed), dim)
    p = dict(params["params"])
    p["quadratic"] = p["quadratic"] + 0.3 * jax.random.normal(jax.random.PRNGKey(seed + 1), (dim, dim)) / np.sqrt(dim)
    return types.SimpleNamespace(w=potential_fn(icnn, {"params": p}), dim=dim)


def conditional_mean(x, mask):
    out = np.array(x, dtype=np.float64)
    for i in range(x.shape[0]):
        m, v = mask[i], ~mask[i]
        gain = COV[np.ix_(m, v)] @ np.linalg.inv(COV[np.ix_(v, v)])
        out[i, m] = MEAN[m] + gain @ (x[i, v] - MEAN[v])
    return out


@pytest.fixture(scope="module")
def gaussian_case():
    model = gaussian_model()
    x = (MEAN + RNG.normal(size=(12, D)) @ np.linalg.cholesky(COV).T).astype(np.float32)
    mask = np.stack([RNG.permutation(D) < D // 2 for _ in range(12)])  # half the coordinates missing
    return model, x, mask, conditional_mean(x, mask)


@pytest.mark.parametrize("logdet", ["exact", "none", "hutchinson"])
def test_gaussian_inpainting_reaches_the_conditional_mean(gaussian_case, logdet):
    model, x, mask, expected = gaussian_case
    got = np.asarray(ip.inpaint(model, x, mask, logdet=logdet, key=jax.random.PRNGKey(1)))
    np.testing.assert_allclose(got[mask], expected[mask], atol=1e-3)  # reached: ~1e-5
    np.testing.assert_array_equal(got[~mask], x[~mask])


def test_visible_pixels_are_returned_bit_for_bit_and_bounds_hold():
    model = curved_model(8)
    x = np.asarray(jax.random.uniform(jax.random.PRNGKey(2), (5, 8), minval=-0.05, maxval=1.05))
    mask = np.zeros((5, 8), bool)
    mask[:, ::2] = True
    x_nan = np.where(mask, np.nan, x).astype(np.float32)  # missing pixels may be NaN
    got = np.asarray(ip.inpaint(model, x_nan, mask, steps=30, logdet="none", low=0.0, high=1.0, init=0.5))
    assert got.dtype == np.float32 and got.shape == x.shape
    np.testing.assert_array_equal(got[~mask].view(np.uint32), x_nan[~mask].view(np.uint32))
    assert np.all(np.isfinite(got)) and got[mask].min() >= 0.0 and got[mask].max() <= 1.0
    one = np.asarray(ip.inpaint(model, x_nan[0], mask[0], steps=30, logdet="none", low=0.0, high=1.0,
                                 init=0.5))
    np.testing.assert_allclose(one, got[0], atol=1e-6)  # a single (d,) image, same answer


@pytest.mark.parametrize("logdet", ["exact", "hutchinson"])
def test_ascent_increases_log_density_on_a_curved_model(logdet):
    model = curved_model(8)
    x = np.asarray(jax.random.normal(jax.random.PRNGKey(3), (4, 8)))
    mask = np.arange(8) < 4  # one mask for all images
    start = np.where(mask, x[:, ~mask].mean(1, keepdims=True), x)
    got = ip.inpaint(model, x, mask, steps=50, logdet=logdet, n_probes=4, cg_iters=8)
    log_prob = jax.jit(jax.vmap(lambda z: -model.w(jax.grad(model.w)(z)) + jnp.linalg.slogdet(jax.hessian(model.w)(z))[1]))
    assert np.all(np.asarray(log_prob(got)) > np.asarray(log_prob(jnp.asarray(start))) + 1e-3)


def test_exact_gradient_matches_autodiff_of_eq9():
    model = curved_model(8, seed=4)
    x = jax.random.normal(jax.random.PRNGKey(5), (3, 8))
    for noise in ("gibbs", "gaussian"):
        log_density = functools.partial(monge_ampere.log_density_one, model.w, noise=noise)
        autodiff = jax.jit(jax.vmap(jax.grad(log_density)))(x)
        got = jax.jit(jax.vmap(lambda z: ip.log_prob_gradient(model.w, z, noise=noise)))(x)
        np.testing.assert_allclose(got, autodiff, rtol=1e-4, atol=1e-5)
    autodiff_logdet = jax.jit(jax.vmap(jax.grad(functools.partial(monge_ampere.hessian_logdet, model.w))))(x)
    got_logdet = jax.jit(jax.vmap(lambda z: ip.logdet_gradient(model.w, z)))(x)
    np.testing.assert_allclose(got_logdet, autodiff_logdet, rtol=1e-4, atol=1e-6)
    assert float(jnp.linalg.norm(autodiff_logdet)) > 1e-3  # the model is far from quadratic


def test_hutchinson_gradient_is_unbiased():
    model = curved_model(8, seed=4)
    x = jax.random.normal(jax.random.PRNGKey(5), (8,))
    exact = np.asarray(jax.jit(jax.grad(functools.partial(monge_ampere.hessian_logdet, model.w)))(x))
    one_probe = jax.jit(jax.vmap(lambda k: ip.logdet_gradient(model.w, x, k, method="hutchinson",
                                                              n_probes=1, cg_iters=16)))
    samples = np.asarray(one_probe(jax.random.split(jax.random.PRNGKey(6), 2000)), np.float64)
    z = (samples.mean(0) - exact) / (samples.std(0) / np.sqrt(len(samples)))
    assert np.abs(z).max() < 4.5, z           # every coordinate within Monte-Carlo error
    assert abs(np.mean(z**2) - 1.0) < 1.5     # and no systematic bias over the 8 coordinates
    # the batched measurement agrees: many probes, tiny error
    err = ip.logdet_gradient_error(model, x[None], jax.random.PRNGKey(7), n_probes=500, cg_iters=16)
    np.testing.assert_allclose(err.exact[0], exact, rtol=1e-4, atol=1e-6)
    assert float(err.relative[0]) < 0.2


def test_bad_inputs_are_rejected():
    model = gaussian_model()
    x = np.zeros((3, D), np.float32)
    mask = np.zeros((3, D), bool)
    mask[:, :2] = True
    with pytest.raises(ValueError, match="dimension"):
        ip.inpaint(model, np.zeros((3, D + 1)), np.zeros((3, D + 1), bool))
    with pytest.raises(ValueError, match="shape of x"):
        ip.inpaint(model, x, mask[:2])
    with pytest.raises(ValueError, match="boolean"):
        ip.inpaint(model, x, mask.astype(int))
    with pytest.raises(ValueError, match="missing pixel"):
        ip.inpaint(model, x, np.zeros_like(mask))
    with pytest.raises(ValueError, match="visible pixel"):
        ip.inpaint(model, x, np.ones_like(mask))
    bad = x.copy()
    bad[1, 4] = np.nan  # a visible pixel
    with pytest.raises(ValueError, match="NaN"):
        ip.inpaint(model, bad, mask)
    with pytest.raises(ValueError, match="logdet"):
        ip.inpaint(model, x, mask, logdet="slogdet")
    with pytest.raises(ValueError, match="low < high"):
        ip.inpaint(model, x, mask, low=1.0, high=0.0)
    with pytest.raises(ValueError, match="init"):
        ip.inpaint(model, x, mask, init="median")
    with pytest.raises(ValueError, match="learning_rate"):
        ip.inpaint(model, x, mask, learning_rate=-1.0)
    with pytest.raises(ValueError, match="key"):
        ip.logdet_gradient(model.w, jnp.zeros(D), method="hutchinson")
    with pytest.raises(ValueError, match="method"):
        ip.logdet_gradient(model.w, jnp.zeros(D), method="none")


@pytest.mark.parametrize("steps", [0, -3, 2.5, True, "10"])
def test_steps_must_be_a_positive_integer(steps):
    model = gaussian_model()
    mask = np.arange(D) < 3
    with pytest.raises(ValueError, match="steps"):
        ip.inpaint(model, np.zeros(D), mask, steps=steps)
