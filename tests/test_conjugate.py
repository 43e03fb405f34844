"""Tests of cmmlib.conjugate: convergence of the defaults, the reported output and its warning,
the frozen fixed-budget Adam path of the training loops, exact quadratics, the amortiser."""
import functools
import warnings

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from hypothesis import given, settings, strategies as st

from cmmlib import conjugate, icnn, validation


def _icnn_potential(seed: int, dim: int, activation: str = "elu"):
    module = icnn.ICNN(features=(16, 16), activation=activation, beta=4.0, output_init_scale=1.0)
    return icnn.potential_fn(module, icnn.init_icnn(module, jax.random.PRNGKey(seed), dim))


def _smooth_potential():
    """A non-quadratic strongly convex potential on R^3 (log-sum-exp + softplus ridges + quartic
    + quadratic): Hessian eigenvalues from about 0.5 to 10 on the points below, |y| <= 6."""
    rng = np.random.default_rng(0)
    b = jnp.asarray(1.2 * rng.normal(size=(6, 3)), jnp.float32)
    c = jnp.asarray(rng.normal(size=(6,)), jnp.float32)
    u = jnp.asarray(rng.normal(size=(4, 3)), jnp.float32)

    def w(x):
        return (0.25 * x @ x + 1.5 * jax.nn.logsumexp(b @ x + c)
                + 0.5 * jnp.sum(jax.nn.softplus(2.0 * (u @ x - 1.0))) + 0.0125 * jnp.sum(x**4))

    y = 2.5 * jax.random.normal(jax.random.PRNGKey(1), (512, 3))
    y = y * jnp.minimum(1.0, 6.0 / jnp.linalg.norm(y, axis=-1, keepdims=True))
    return w, y


def _ill_conditioned_quadratic(dim: int = 10, n: int = 512):
    """w = x^T A x / 2 with eigenvalues 0.1 ... 10 (condition number 100), rotated."""
    q, _ = np.linalg.qr(np.random.default_rng(0).normal(size=(dim, dim)))
    a = jnp.asarray((q * np.logspace(-1, 1, dim)) @ q.T, jnp.float32)
    y = 2.0 * jax.random.normal(jax.random.PRNGKey(0), (n, dim))
    return (lambda x: 0.5 * x @ a @ x), a, y


def _residual(w, y, x):
    return jnp.linalg.norm(jax.vmap(jax.grad(w))(x) - y, axis=-1)


# --- defaults: converge from a cold start, and say so ------------------------------------------


def test_defaults_converge_on_a_non_quadratic_potential():
    w, y = _smooth_potential()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # converging must not warn
        out = conjugate.solve(w, y, return_output=True)
    rms = float(jnp.sqrt(jnp.mean(jnp.sum(y**2, -1))))
    assert float(out.tolerance) == pytest.approx(1e-4 * max(1.0, rms), rel=1e-6)
    residual = _residual(w, y, out.x)
    assert bool(out.converged)
    assert float(residual.max()) < float(out.tolerance)
    np.testing.assert_allclose(out.residual, residual, atol=1e-5)
    assert 0 < int(out.iterations) < conjugate.DEFAULT_ITERATIONS["bb"]
    # the paper's solver with its budget does not get there on this potential: the test is not trivial
    with pytest.warns(RuntimeWarning):
        adam = conjugate.solve(w, y, method="adam", return_output=True)
    assert not bool(adam.converged)


def test_defaults_converge_on_an_ill_conditioned_quadratic():
    w, a, y = _ill_conditioned_quadratic()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        x_hat, out = conjugate.solve(w, y, return_info=True)
    exact = jnp.linalg.solve(a, y.T).T  # grad w*(y) = A^{-1} y
    scale = float(jnp.sqrt(jnp.mean(jnp.sum(exact**2, -1))))  # relative to the scale of the solutions
    error = float(jnp.linalg.norm(x_hat - exact, axis=-1).max()) / scale
    assert error < 1e-3, error
    assert bool(out.converged)
    assert out.x is x_hat
    np.testing.assert_array_equal(out.grad_norm, out.residual)  # the compatibility alias


def test_tolerance_is_relative_to_the_scale_of_y():
    w, a, y = _ill_conditioned_quadratic(n=64)
    small = conjugate.solve(w, 0.01 * y, return_output=True)
    large = conjugate.solve(w, 100.0 * y, return_output=True)
    assert float(small.tolerance) == pytest.approx(1e-4)  # below unit scale: absolute 1e-4
    assert float(large.tolerance) == pytest.approx(100.0 * float(conjugate.default_tolerance(y)), rel=1e-5)
    assert bool(small.converged) and bool(large.converged)
    assert float(small.residual.max()) < 1e-4
    explicit = conjugate.solve(w, y, tolerance=1e-2, return_output=True)
    assert float(explicit.tolerance) == pytest.approx(1e-2)
    assert 1e-3 < float(explicit.residual.max()) < 1e-2  # stopped at the looser tolerance, not later


def test_tiny_budget_reports_and_warns():
    w, y = _smooth_potential()
    with pytest.warns(RuntimeWarning, match=r"after 3 iterations.*max residual.*tolerance.*iterations=.*x_init="):
        out = conjugate.solve(w, y, iterations=3, return_output=True)
    assert not bool(out.converged)
    assert int(out.iterations) == 3
    assert float(out.residual.max()) >= float(out.tolerance)
    np.testing.assert_allclose(out.residual, _residual(w, y, out.x), atol=1e-5)
    with warnings.catch_warnings():  # a fixed budget asked for: no warning, still reported
        warnings.simplefilter("error")
        fixed = conjugate.solve(w, y, iterations=3, tolerance=None, return_output=True)
    assert int(fixed.iterations) == 3 and not bool(fixed.converged)


def test_under_jit_nothing_warns_and_the_output_tells():
    w, y = _smooth_potential()
    run = jax.jit(lambda y, n: conjugate.solve(w, y, iterations=n, return_output=True), static_argnums=1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        short = run(y, 3)
        full = run(y, 1000)
    assert not bool(short.converged) and int(short.iterations) == 3
    assert bool(full.converged) and float(full.residual.max()) < float(full.tolerance)
    np.testing.assert_allclose(full.tolerance, conjugate.default_tolerance(y), rtol=1e-6)
    # vmapped over potentials' inputs (as the model's batched sampler does)
    batched = jax.jit(jax.vmap(lambda yy: conjugate.solve(w, yy, return_output=True)))(jnp.stack([y, -y]))
    assert batched.x.shape == (2,) + y.shape and bool(jnp.all(batched.converged))


@pytest.mark.parametrize("method", ["bb", "gd", "lbfgs", "adam"])
def test_every_method_reaches_tolerance_when_given_the_budget(method):
    w, y = _smooth_potential()
    y = y[:64]
    out = conjugate.solve(w, y, method=method, iterations=3000, tolerance=1e-3, return_output=True)
    assert bool(out.converged), (method, float(out.residual.max()))
    assert float(_residual(w, y, out.x).max()) < 1.5e-3


def test_bb_line_search_keeps_iterates_where_w_is_defined():
    """w = -log(1 - |x|^2) + |x|^2/2 is NaN outside the unit ball; long steps must be rejected."""
    w = lambda x: -jnp.log1p(-x @ x) + 0.5 * x @ x
    y = 20.0 * jax.random.normal(jax.random.PRNGKey(3), (128, 2))  # solutions near the boundary
    x0 = jnp.zeros_like(y)
    out = conjugate.solve(w, y, x0, learning_rate=10.0, return_output=True)  # a far too long first step
    assert bool(out.converged)
    assert bool(jnp.all(jnp.isfinite(out.x))) and float(jnp.linalg.norm(out.x, axis=-1).max()) < 1.0
    assert float(_residual(w, y, out.x).max()) < float(out.tolerance)


def test_gd_default_step_comes_from_the_curvature():
    """Without a learning_rate, gd steps 1/lambda_max: converges on a stiff quadratic where the
    old constant 0.1 (> 2/lambda_max) diverged."""
    a = jnp.diag(jnp.array([40.0, 1.0]))
    w = lambda x: 0.5 * x @ a @ x
    y = jax.random.normal(jax.random.PRNGKey(0), (32, 2))
    out = conjugate.solve(w, y, method="gd", iterations=500, return_output=True)
    assert bool(out.converged) and int(out.iterations) < 200
    np.testing.assert_allclose(out.x, y / jnp.diag(a), atol=1e-3)


@pytest.mark.parametrize("dim, kwargs", [(3, {}), (3, dict(method="lbfgs")), (3, dict(method="adam", iterations=3000)),
                                          (40, {})])
def test_solution_is_differentiable_implicitly(dim, kwargs):
    """d x_hat / dy = (grad^2 w)^{-1}, and through parameters w closes over, by the implicit
    function theorem (the while loops are not differentiable). d = 40: Hessian columns in chunks."""
    w, a, y = _ill_conditioned_quadratic(dim=dim, n=16)
    v = jax.random.normal(jax.random.PRNGKey(9), y.shape)
    a_inv_v = jnp.linalg.solve(a, v.T).T
    grad_y = jax.grad(lambda y: jnp.sum(conjugate.solve(w, y, **kwargs) * v))(y)
    np.testing.assert_allclose(grad_y, a_inv_v, atol=1e-4 * float(jnp.abs(a_inv_v).max()))
    # w_theta(x) = w(x) - <theta, x>: x_hat = A^{-1} (y + theta), d sum<x_hat, v> / d theta = sum_i A^{-1} v_i
    theta = jnp.linspace(-0.3, 0.3, dim)
    grad_theta = jax.grad(lambda t: jnp.sum(conjugate.solve(lambda x: w(x) - t @ x, y, **kwargs) * v))(theta)
    np.testing.assert_allclose(grad_theta, a_inv_v.sum(0), atol=1e-4 * float(jnp.abs(a_inv_v).sum(0).max()))


# --- the fixed-budget Adam path of the training loops: frozen --------------------------------


@functools.partial(jax.jit, static_argnums=(0, 3))  # a jit of its own, as the solver's: same XLA fusion
def _frozen_adam(w, y, x0, iterations, learning_rate, alpha=1e-4):
    """Frozen copy of the solver's fixed-budget Adam update (as of issue 8). Do not edit: the
    training loops' reproducibility is tested against it, bit for bit."""
    grad_w = jax.vmap(jax.grad(w))
    opt = optax.adam(optax.cosine_decay_schedule(learning_rate, max(iterations, 1), alpha=alpha))

    def step(_, carry):
        x, state, g = carry
        updates, state = opt.update(g, state, x)
        x = optax.apply_updates(x, updates)
        return x, state, grad_w(x) - y

    return jax.lax.fori_loop(0, iterations, step, (x0, opt.init(x0), grad_w(x0) - y))[0]


def test_fixed_budget_adam_is_frozen():
    module = icnn.ICNN(features=(16, 16), output_init_scale=1.0)
    params = icnn.init_icnn(module, jax.random.PRNGKey(4), 2)
    y = 2.0 * jax.random.normal(jax.random.PRNGKey(5), (128, 2))
    x0 = y + 0.3 * jax.random.normal(jax.random.PRNGKey(6), y.shape)  # an amortised-like start
    kw = dict(iterations=20, learning_rate=0.03, method="adam", tolerance=None)

    # as the training loop calls it: inside jit, traced parameters and learning rate
    run = jax.jit(lambda p, y, x0, lr: conjugate.solve(icnn.potential_fn(module, p), y, x0,
                                                       **{**kw, "learning_rate": lr}))
    frozen = jax.jit(lambda p, y, x0, lr: _frozen_adam(icnn.potential_fn(module, p), y, x0, 20, lr))
    x, ref = run(params, y, x0, 0.03), frozen(params, y, x0, 0.03)
    np.testing.assert_array_equal(x, ref)
    assert float(jnp.abs(x - x0).max()) > 1e-2  # it moved: the comparison is not vacuous
    # concrete call, with info
    w = icnn.potential_fn(module, params)
    x_c, out = conjugate.solve(w, y, x0, return_info=True, **kw)
    np.testing.assert_array_equal(x_c, _frozen_adam(w, y, x0, 20, 0.03))
    assert int(out.iterations) == 20


# --- optimality, exactness ------------------------------------------------------------------


@settings(max_examples=2, deadline=None)
@given(seed=st.integers(0, 2**16), activation=st.sampled_from(["elu", "softplus"]))
def test_solution_satisfies_optimality_and_fenchel_young(seed, activation):
    dim, n = 2, 256
    w = _icnn_potential(seed, dim, activation)
    y = 2.0 * jax.random.normal(jax.random.PRNGKey(seed + 1), (n, dim))
    x_hat, info = conjugate.solve(w, y, iterations=3000, tolerance=1e-4, return_info=True)
    residual = _residual(w, y, x_hat)
    print(f"seed {seed} {activation}: {int(info.iterations)} iterations, max residual {float(residual.max()):.2e}")
    assert float(residual.max()) < 1e-4 * 1.5
    np.testing.assert_allclose(info.grad_norm, residual, atol=1e-5)
    # Fenchel-Young: w*(y) = <x_hat, y> - w(x_hat) is the sup, so no other x does better
    w_star = conjugate.conjugate_value(w, y, x_hat)
    others = x_hat + 0.5 * jax.random.normal(jax.random.PRNGKey(seed + 2), (16, n, dim))
    lower = jnp.sum(others * y, -1) - jax.vmap(jax.vmap(w))(others)
    gap = float((lower - w_star).max())
    assert gap < 1e-5, gap


def test_gradient_of_conjugate_by_finite_differences(key):
    """grad w*(y) = x_hat: central differences of w* along random directions."""
    w = _icnn_potential(7, 2)
    y = jax.random.normal(key, (64, 2))
    v = jax.random.normal(jax.random.PRNGKey(1), (64, 2))
    t = 1e-2
    yy = jnp.concatenate([y, y + t * v, y - t * v])
    x_all = conjugate.solve(w, yy, tolerance=1e-5)
    w_star = conjugate.conjugate_value(w, yy, x_all)
    fd = (w_star[64:128] - w_star[128:]) / (2 * t)
    np.testing.assert_allclose(fd, jnp.sum(x_all[:64] * v, -1), atol=2e-3)


def test_quadratic_conjugate_is_exact(key):
    a = jnp.array([[3.0, 1.0], [1.0, 2.0]])
    mu = jnp.array([0.5, -1.0])
    w = lambda x: 0.5 * (x - mu) @ a @ (x - mu)
    y = jax.random.normal(key, (128, 2))
    x_hat = conjugate.solve(w, y, tolerance=1e-6)
    exact = y @ jnp.linalg.inv(a) + mu  # grad w*(y) = A^{-1} y + mu
    np.testing.assert_allclose(x_hat, exact, atol=1e-5)
    w_star = 0.5 * jnp.einsum("ni,ij,nj->n", y, jnp.linalg.inv(a), y) + y @ mu
    np.testing.assert_allclose(conjugate.conjugate_value(w, y, x_hat), w_star, atol=1e-5)
    x_lbfgs = conjugate.solve(w, y, iterations=50, tolerance=1e-6, method="lbfgs")
    np.testing.assert_allclose(x_lbfgs, exact, atol=1e-5)


def test_fixed_budget_and_tolerance_modes(key):
    w = _icnn_potential(3, 2)
    y = jax.random.normal(key, (64, 2))
    x_fixed, info_fixed = conjugate.solve(w, y, iterations=37, method="adam", tolerance=None, return_info=True)
    assert int(info_fixed.iterations) == 37
    x_tol, info_tol = conjugate.solve(w, y, iterations=5000, tolerance=1e-2, method="adam", return_info=True)
    assert 0 < int(info_tol.iterations) < 5000
    assert float(info_tol.grad_norm.max()) < 1e-2
    bb_fixed = conjugate.solve(w, y, iterations=37, tolerance=None, return_output=True)
    assert int(bb_fixed.iterations) == 37  # tolerance=None: the whole budget, even when converged
    path = conjugate.solve_path(w, y, iterations=37)
    assert path.shape == (38, 64, 2)
    np.testing.assert_allclose(path[0], y)
    np.testing.assert_allclose(path[-1], x_fixed, atol=1e-6)


def test_jit_with_traced_parameters(key):
    module = icnn.ICNN(features=(8, 8))
    params = icnn.init_icnn(module, key, 2)
    y = jax.random.normal(key, (32, 2))

    @jax.jit
    def run(p, y):
        return conjugate.solve(icnn.potential_fn(module, p), y, iterations=10, tolerance=1e-3, return_info=True)

    x_hat, info = run(params, y)
    assert x_hat.shape == (32, 2) and info.grad_norm.shape == (32,)


def test_trained_amortizer_saves_iterations(key):
    """A briefly trained amortiser starts the solver closer: fewer iterations to tolerance."""
    w = _icnn_potential(5, 2)
    amortizer = conjugate.Amortizer(features=(64, 64))
    params = amortizer.init(key, jnp.zeros((2,)))
    y_probe = jax.random.normal(jax.random.PRNGKey(1), (256, 2))
    np.testing.assert_allclose(amortizer.apply(params, y_probe), y_probe)  # identity at init
    sample = lambda k, n: 1.5 * jax.random.normal(k, (n, 2))
    params, losses = conjugate.train_amortizer(w, sample, jax.random.PRNGKey(2), amortizer, params,
                                               steps=300, learning_rate=3e-3)
    assert losses.shape == (300,)
    assert float(losses[-1]) < 0.1 * float(losses[0])
    kw = dict(iterations=3000, tolerance=1e-3, learning_rate=0.03, method="adam", return_info=True)
    _, cold = conjugate.solve(w, y_probe, **kw)
    _, warm = conjugate.solve(w, y_probe, amortizer.apply(params, y_probe), **kw)
    print("iterations to 1e-3: cold", int(cold.iterations), "amortised", int(warm.iterations))
    assert int(warm.iterations) < int(cold.iterations)


def test_amortizer_loss_stops_gradient(key):
    amortizer = conjugate.Amortizer(features=(8,))
    params = amortizer.init(key, jnp.zeros((3,)))
    y = jax.random.normal(key, (10, 3))
    g = jax.grad(lambda xh: conjugate.amortizer_loss(amortizer, params, y, xh))(y + 1.0)
    assert float(jnp.abs(g).max()) == 0.0
    assert float(conjugate.amortizer_loss(amortizer, params, y, y + 1.0)) == pytest.approx(3.0)


# --- validation at the boundary --------------------------------------------------------------


@pytest.mark.parametrize(
    "y, kwargs, match",
    [
        (np.ones((5, 3)), {}, "dimension d=3"),
        (np.full((5, 2), np.nan), {}, "NaN"),
        (np.ones((5, 2)), dict(x_init=np.full((5, 2), np.inf)), "x_init.*infinite"),
        (np.ones(2), {}, "shape"),
        (np.ones((0, 2)), {}, "at least"),
        (np.ones((5, 2)), dict(x_init=np.ones((4, 2))), "x_init"),
        (np.ones((5, 2)), dict(method="newton"), "method"),
        (np.ones((5, 2)), dict(learning_rate=0.0), "learning_rate"),
        (np.ones((5, 2)), dict(learning_rate=float("nan")), "learning_rate"),
        (np.ones((5, 2)), dict(tolerance=-1.0), "tolerance"),
        (np.ones((5, 2)), dict(tolerance=0.0), "tolerance"),
        (np.ones((5, 2)), dict(tolerance="tight"), "tolerance"),
        (np.ones((5, 2)), dict(iterations=-3), "iterations"),
        (np.ones((5, 2)), dict(iterations=2.5), "iterations"),
        (np.ones((5, 2)), dict(alpha=2.0), "alpha"),
        (np.ones((5, 2)), dict(return_info=True, return_output=True), "return_output"),
    ],
)
def test_bad_inputs_raise(y, kwargs, match):
    w = _icnn_potential(0, 2)
    with pytest.raises(ValueError, match=match):
        conjugate.solve(w, y, **kwargs)


def test_non_scalar_potential_raises():
    with pytest.raises(ValueError, match="scalar"):
        conjugate.solve(lambda x: x, np.ones((4, 2)))
    with pytest.raises(ValueError, match="scalar"):
        validation.check_potential(lambda x: x, 2)


def test_gradient_descent_method(key):
    """method='gd' with step 1/L converges linearly; a step above 2/L does not."""
    a = jnp.array([[3.0, 1.0], [1.0, 2.0]])
    w = lambda x: 0.5 * x @ a @ x
    y = jax.random.normal(key, (64, 2))
    lmax = float(jnp.linalg.eigvalsh(a).max())
    x_hat, info = conjugate.solve(w, y, iterations=500, tolerance=1e-6, method="gd",
                                  learning_rate=1.0 / lmax, return_info=True)
    np.testing.assert_allclose(x_hat, y @ jnp.linalg.inv(a), atol=1e-5)
    assert int(info.iterations) < 100
    with pytest.warns(RuntimeWarning, match="stopped"):
        _, bad = conjugate.solve(w, y, iterations=50, method="gd", learning_rate=2.5 / lmax, return_info=True)
    assert float(bad.grad_norm.max()) > 1.0 and not bool(bad.converged)


def test_traced_step_and_tolerance(key):
    """learning_rate and tolerance may be traced (e.g. a step 1/lambda_max computed in a jit)."""
    a = jnp.array([[3.0, 1.0], [1.0, 2.0]])
    w = lambda x: 0.5 * x @ a @ x
    y = jax.random.normal(key, (16, 2))
    run = jax.jit(lambda lr, tol: conjugate.solve(w, y, iterations=500, tolerance=tol, method="gd",
                                                  learning_rate=lr, return_info=True))
    x_hat, info = run(1.0 / 3.62, 1e-5)
    assert float(info.grad_norm.max()) < 1e-5 and bool(info.converged)
    for method in ("adam", "bb"):
        x = jax.jit(lambda lr: conjugate.solve(w, y, iterations=20, learning_rate=lr, method=method))(0.05)
        assert x.shape == y.shape
