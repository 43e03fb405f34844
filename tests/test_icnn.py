"""Tests of cmmlib.icnn: convexity, monotone gradients, the two initialisations, bad inputs."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from scipy.linalg import fractional_matrix_power

from cmmlib import gaussian, icnn

N_PAIRS = 10_000


def _random_icnn(seed: int, dim: int, activation: str):
    """An ICNN whose non-quadratic part is large, with randomised (not just initial) weights."""
    module = icnn.ICNN(features=(16, 16, 16), activation=activation, beta=4.0, output_init_scale=1.0)
    params = icnn.init_icnn(module, jax.random.PRNGKey(seed), dim)
    leaves, tree = jax.tree_util.tree_flatten(params)
    keys = jax.random.split(jax.random.PRNGKey(seed + 1), len(leaves))
    leaves = [leaf + 0.5 * jax.random.normal(k, leaf.shape) for leaf, k in zip(leaves, keys)]
    return module, jax.tree_util.tree_unflatten(tree, leaves)


@settings(max_examples=2, deadline=None)
@given(seed=st.integers(0, 2**16), dim=st.sampled_from([1, 2, 5]),
       activation=st.sampled_from(["elu", "softplus"]))
def test_convex_along_segments_and_monotone_gradient(seed, dim, activation):
    module, params = _random_icnn(seed, dim, activation)
    w = jax.vmap(icnn.potential_fn(module, params))
    grad_w = jax.vmap(jax.grad(icnn.potential_fn(module, params)))
    k1, k2, k3 = jax.random.split(jax.random.PRNGKey(seed + 2), 3)
    x = 3.0 * jax.random.normal(k1, (N_PAIRS, dim))
    z = 3.0 * jax.random.normal(k2, (N_PAIRS, dim))
    t = jax.random.uniform(k3, (N_PAIRS, 1))
    mid = w(t * x + (1 - t) * z)
    chord = t[:, 0] * w(x) + (1 - t[:, 0]) * w(z)
    scale = 1e-5 * (1.0 + jnp.abs(chord))
    convex_violations = int(jnp.sum(mid > chord + scale))
    eps = module.strong_convexity
    dx = x - z
    mono = jnp.sum((grad_w(x) - grad_w(z)) * dx, -1)
    # strong monotonicity: <grad w(x) - grad w(z), x - z> >= eps |x - z|^2
    mono_violations = int(jnp.sum(mono < eps * jnp.sum(dx**2, -1) * (1 - 1e-4) - 1e-5))
    print(f"d={dim} {activation}: {N_PAIRS} pairs, convexity violations {convex_violations}, "
          f"monotonicity violations {mono_violations}")
    assert convex_violations == 0
    assert mono_violations == 0


def test_batch_and_single_point_agree(key):
    module = icnn.ICNN(features=(8, 8), output_init_scale=1.0)
    params = icnn.init_icnn(module, key, 3)
    x = jax.random.normal(key, (4, 5, 3))
    w = icnn.potential_fn(module, params)
    batched = w(x)
    assert batched.shape == (4, 5)
    single = jax.vmap(jax.vmap(w))(x)
    np.testing.assert_allclose(batched, single, rtol=1e-5, atol=1e-5)
    assert w(x[0, 0]).shape == ()


def test_identity_init_is_half_square_norm(key):
    x = 2.0 * jax.random.normal(key, (64, 3))
    exact = icnn.ICNN(output_init_scale=0.0)
    w = icnn.potential_fn(exact, icnn.init_icnn(exact, key, 3))
    np.testing.assert_allclose(w(x), 0.5 * jnp.sum(x**2, -1), rtol=1e-5, atol=1e-5)
    default = icnn.ICNN()
    w = icnn.potential_fn(default, icnn.init_icnn(default, key, 3))
    hess = jax.vmap(jax.hessian(w))(x)
    err = float(jnp.abs(hess - jnp.eye(3)).max())
    print("identity init: max |Hess w - I| =", err)
    assert err < 1e-2
    # the non-quadratic part is small but alive: its output weights get a gradient
    grads = jax.grad(lambda p: jnp.sum(default.apply(p, x)))(icnn.init_icnn(default, key, 3))
    assert float(jnp.abs(grads["params"]["output"]).max()) > 1e-3


def test_gaussian_init_is_prop2_quadratic(key):
    mean = np.array([1.0, -2.0])
    cov = np.array([[2.0, 1.8], [1.8, 2.0]])
    precision = fractional_matrix_power(cov, -1.0 / 3.0).real
    mu = np.linalg.solve(np.eye(2) + fractional_matrix_power(cov, 1.0 / 3.0).real, mean)
    module = icnn.ICNN(output_init_scale=0.0)
    w = icnn.potential_fn(module, icnn.init_icnn(module, key, 2, init="gaussian", mean=mean, cov=cov))
    x = jax.random.normal(key, (32, 2))
    expected = 0.5 * jnp.einsum("ni,ij,nj->n", x - mu, precision, x - mu)
    np.testing.assert_allclose(w(x), expected, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(jax.grad(w)(jnp.asarray(mu, jnp.float32)), 0.0, atol=1e-4)
    mu_g, cov_w = gaussian.conjugate_gibbs(mean, cov)  # the Gaussian chapter's module agrees
    np.testing.assert_allclose(mu_g, mu, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(np.linalg.inv(np.asarray(cov_w)), precision, rtol=1e-4, atol=1e-5)


def test_first_layer_bias_option(key):
    normal = icnn.init_icnn(icnn.ICNN(), key, 2)["params"]["skip_0"]["bias"]
    zeros = icnn.init_icnn(icnn.ICNN(first_bias_init="zeros"), key, 2)["params"]["skip_0"]["bias"]
    assert float(jnp.std(normal)) > 0.5
    assert float(jnp.abs(zeros).max()) == 0.0


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(init="gaussian"), "needs both"),
        (dict(init="gaussian", mean=np.zeros(2), cov=np.array([[1.0, 2.0], [2.0, 1.0]])), "positive definite"),
        (dict(init="gaussian", mean=np.zeros(3), cov=np.eye(2)), "mean must have shape"),
        (dict(init="gaussian", mean=np.zeros(2), cov=np.array([[np.nan, 0], [0, 1.0]])), "finite"),
        (dict(init="gaussian", mean=np.zeros(2), cov=1e6 * np.eye(2)), "strong_convexity"),
        (dict(init="banana"), "init must be"),
    ],
)
def test_bad_init_raises(key, kwargs, match):
    with pytest.raises(ValueError, match=match):
        icnn.init_icnn(icnn.ICNN(), key, 2, **kwargs)


def test_bad_module_settings_raise(key):
    with pytest.raises(ValueError, match="activation"):
        icnn.init_icnn(icnn.ICNN(activation="relu"), key, 2)
    with pytest.raises(ValueError, match="dim"):
        icnn.init_icnn(icnn.ICNN(), key, 0)
    with pytest.raises(ValueError, match="strong_convexity"):
        icnn.init_icnn(icnn.ICNN(strong_convexity=2.0), key, 2)


@pytest.mark.parametrize("quadratic_inputs", [True, False])
def test_fit_identity_moves_the_start_into_the_units(key, quadratic_inputs):
    """The units' identity start: L = 0 (and it stays a stationary point), ∇w(x) ≈ x where it was
    fitted (data and N(0, I)), convexity kept; it runs under vmap (as the learners init)."""
    module = icnn.ICNN(features=(32, 32), quadratic_inputs=quadratic_inputs)
    data = 0.5 * jax.random.normal(jax.random.PRNGKey(3), (256, 2)) + 1.0
    fit = jax.vmap(lambda k: icnn.fit_identity(module, icnn.init_icnn(module, k, 2), k, data, steps=400))
    params = fit(jax.random.split(key, 2))
    one = jax.tree.map(lambda a: a[0], params)
    assert np.all(np.asarray(one["params"]["quadratic"]) == 0.0)
    x = jnp.concatenate([data[:64], jax.random.normal(jax.random.PRNGKey(4), (64, 2))])
    grad = jax.vmap(jax.grad(icnn.potential_fn(module, one)))(x)
    rel = float(jnp.sqrt(jnp.mean(jnp.sum((grad - x) ** 2, -1)) / jnp.mean(jnp.sum(x**2, -1))))
    assert rel < 0.2, rel
    # before the fit, with L = 0, the units alone are far from the identity
    zero = icnn.init_icnn(module, key, 2)
    zero = {"params": {**zero["params"], "quadratic": jnp.zeros((2, 2))}}
    grad0 = jax.vmap(jax.grad(icnn.potential_fn(module, zero)))(x)
    assert float(jnp.sqrt(jnp.mean(jnp.sum((grad0 - x) ** 2, -1)) / jnp.mean(jnp.sum(x**2, -1)))) > 0.8
    # the gradient of the dual loss with respect to L vanishes at L = 0
    g = jax.grad(lambda p: jnp.mean(module.apply(p, x)))(one)
    assert np.all(np.asarray(g["params"]["quadratic"]) == 0.0)


def test_fit_gradient_regresses_on_a_target_map(key):
    """Supervised fit of grad w to T(x) = A x + b (A symmetric positive definite): the error
    falls well below where it starts, and the quadratic is kept when asked."""
    module = icnn.ICNN(features=(16, 16))
    a, b = jnp.array([[2.0, 0.5], [0.5, 1.0]]), jnp.array([0.3, -0.2])

    def draw(k, n):
        x = jax.random.normal(k, (n, 2))
        return x, x @ a + b

    start = icnn.init_icnn(module, key, 2)
    x, target = draw(jax.random.PRNGKey(7), 256)

    def error(p):
        return float(jnp.mean(jnp.sum((jax.vmap(jax.grad(icnn.potential_fn(module, p)))(x) - target) ** 2, -1)))

    fitted = jax.jit(lambda p: icnn.fit_gradient(module, p, key, draw, steps=300, learning_rate=1e-2,
                                                 batch_size=128, final_fraction=0.1))(start)
    assert error(fitted) < 0.05 * error(start), (error(start), error(fitted))
    kept = icnn.fit_gradient(module, start, key, draw, steps=20, batch_size=64, train_quadratic=False)
    np.testing.assert_array_equal(kept["params"]["quadratic"], start["params"]["quadratic"])
