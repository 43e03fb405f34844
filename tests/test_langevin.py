"""Tests of cmmlib.langevin: λ_max, MALA (vs quadrature and blackjax), ULA (its bias, its old numbers), bad inputs."""
import warnings

import blackjax
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from cmmlib import icnn, langevin

A = np.array([[4.0, 1.5], [1.5, 1.0]])  # precision; condition number ~ 10
MU = np.array([1.0, -0.5])


def _quadratic(x):
    d = x - MU
    return 0.5 * d @ A @ d


def test_lambda_max_on_quadratic(key):
    y = jax.random.normal(key, (16, 2))
    top = np.linalg.eigvalsh(A).max()
    assert float(langevin.lambda_max(_quadratic, y, key)) == pytest.approx(top, rel=1e-4)
    # a non-quadratic potential: per-point values differ; the quantile is below the max
    w = lambda x: jnp.sum(jnp.cosh(x)) + 0.5 * x @ x
    y = 3.0 * jax.random.normal(key, (256, 2))
    per_point = langevin.lambda_max_per_point(w, y, key)
    exact = 1.0 + jnp.max(jnp.cosh(y), axis=-1)  # Hessian is diagonal: 1 + cosh(y_i)
    # a Rayleigh quotient: a lower bound, slow only when the top two eigenvalues nearly tie
    assert bool(jnp.all(per_point <= exact * (1 + 1e-5)))
    np.testing.assert_allclose(per_point, exact, rtol=1e-2)
    q = langevin.lambda_max(w, y, key, reduction="quantile", quantile=0.5)
    assert float(q) < float(langevin.lambda_max(w, y, key))


def test_mala_matches_gaussian(key):
    cov = np.linalg.inv(A)
    y0 = jax.random.normal(key, (4000, 2))
    y, acc = langevin.mala(_quadratic, jax.random.PRNGKey(1), y0, 400)
    emp_cov = np.cov(np.asarray(y).T)
    print("MALA acceptance", float(acc), "covariance\n", emp_cov, "\nexact\n", cov)
    assert 0.3 < float(acc) < 1.0
    np.testing.assert_allclose(np.asarray(y).mean(0), MU, atol=0.05)
    np.testing.assert_allclose(emp_cov, cov, rtol=0.1, atol=0.02)


def test_ula_matches_predicted_biased_covariance(key):
    y0 = jax.random.normal(key, (4000, 2))
    y, h = langevin.ula(_quadratic, jax.random.PRNGKey(1), y0, 400, return_step=True)
    h = float(h)
    top = np.linalg.eigvalsh(A).max()
    assert h == pytest.approx(1.0 / top, rel=1e-4)
    predicted = langevin.ula_stationary_covariance(A, h)
    exact = np.linalg.inv(A)
    emp_cov = np.cov(np.asarray(y).T)
    print("ULA covariance\n", emp_cov, "\npredicted\n", predicted, "\nexact\n", exact)
    np.testing.assert_allclose(emp_cov, predicted, rtol=0.1, atol=0.02)
    # the bias is real: along the stiffest direction the variance doubles
    v = np.linalg.eigh(A)[1][:, -1]
    assert v @ emp_cov @ v == pytest.approx(2.0 / top, rel=0.1)


def test_ula_stationary_covariance_formula():
    h = 0.1
    c = langevin.ula_stationary_covariance(A, h)
    m = np.eye(2) - h * A
    np.testing.assert_allclose(c, m @ c @ m + 2 * h * np.eye(2), atol=1e-12)
    np.testing.assert_allclose(langevin.ula_stationary_covariance(A, 1e-9), np.linalg.inv(A), rtol=1e-6)
    with pytest.raises(ValueError, match="diverges"):
        langevin.ula_stationary_covariance(A, 2.0)
    with pytest.raises(ValueError, match="positive definite"):
        langevin.ula_stationary_covariance(-A, 0.1)


def test_explicit_step_and_jit(key):
    """Under jit, with an explicit step, the chains equal the eager ones and move by the ULA
    update: one step from y is y - h grad w(y) + sqrt(2h) xi (the mean move is -h A (y - mu))."""
    y0 = jax.random.normal(key, (4096, 2)) + 3.0
    run = jax.jit(lambda y, n: langevin.ula(_quadratic, key, y, 1, step_size=0.05), static_argnums=1)
    y1 = run(y0, 1)
    np.testing.assert_allclose(y1, langevin.ula(_quadratic, key, y0, 1, step_size=0.05), atol=1e-5)
    drift = np.asarray(y1 - y0).mean(0)
    expected = -0.05 * (np.asarray(y0).mean(0) - MU) @ A
    np.testing.assert_allclose(drift, expected, atol=4 * np.sqrt(2 * 0.05 / 4096))
    y, acc = jax.jit(lambda y: langevin.mala(_quadratic, key, y, 5))(y0)
    assert y.shape == (4096, 2) and 0.0 < float(acc) <= 1.0


@pytest.mark.parametrize("sampler", [langevin.ula, lambda *a, **k: langevin.mala(*a, **k)[0]])
@pytest.mark.parametrize(
    "y0, kwargs, match",
    [
        (np.ones((5, 3)), {}, "dimension d=3"),
        (np.full((5, 2), np.nan), {}, "NaN"),
        (np.ones((5, 2)), dict(step_size=0.0), "step_size"),
        (np.ones((5, 2)), dict(step_size=-0.1), "step_size"),
        (np.ones((5, 2)), dict(step_scale=-1.0), "step_scale"),
        (np.ones((5, 2)), dict(n_steps=-1), "n_steps"),
    ],
)
def test_bad_inputs_raise(key, sampler, y0, kwargs, match):
    kwargs = dict(kwargs)
    n_steps = kwargs.pop("n_steps", 3)
    with pytest.raises(ValueError, match=match):
        sampler(_quadratic, key, y0, n_steps, **kwargs)


def test_bad_reduction_raises(key):
    with pytest.raises(ValueError, match="reduction"):
        langevin.lambda_max(_quadratic, np.ones((3, 2)), key, reduction="mean")


def test_ula_path_shapes_and_validation(key):
    y0 = jax.random.normal(key, (32, 2))
    path, h = langevin.ula_path(_quadratic, key, y0, 20, save_every=5)
    assert path.shape == (5, 32, 2)
    np.testing.assert_allclose(path[0], y0)
    assert float(h) == pytest.approx(1.0 / np.linalg.eigvalsh(A).max(), rel=1e-4)
    with pytest.raises(ValueError, match="save_every"):
        langevin.ula_path(_quadratic, key, y0, 20, save_every=3)


# ---- kernels, state and chain driver (issue 8) -------------------------------------------


def _old_ula(w, key, y0, n_steps, step_size=None, step_scale=1.0):
    """Frozen copy of ``ula`` before the kernel rewrite (its key discipline and update)."""
    lam_key, key = jax.random.split(key)
    h = (jnp.asarray(step_size, y0.dtype) if step_size is not None
         else step_scale / langevin.lambda_max(w, y0, lam_key))
    grad_w = jax.vmap(jax.grad(w))

    def step(y, k):
        xi = jax.random.normal(k, y.shape, y.dtype)
        return y - h * grad_w(y) + jnp.sqrt(2.0 * h) * xi, None

    def steps(y, k, n):
        return jax.lax.scan(step, y, jax.random.split(k, n))[0]

    return steps, key, h


def _small_icnn(key):
    module = icnn.ICNN(features=(16, 16), output_init_scale=1.0)
    return icnn.potential_fn(module, icnn.init_icnn(module, key, 2))


@pytest.mark.parametrize("potential", ["quadratic", "icnn"])
def test_ula_is_the_old_ula_bit_for_bit(key, potential):
    w = _quadratic if potential == "quadratic" else _small_icnn(jax.random.PRNGKey(3))
    y0, k = jax.random.normal(key, (64, 2)), jax.random.PRNGKey(7)
    # eagerly with the step rule, as the chapters call it
    steps, k_chain, h_old = _old_ula(w, k, y0, 12, step_scale=0.5)
    y_new, h_new = langevin.ula(w, k, y0, 12, step_scale=0.5, return_step=True)
    assert float(h_new) == float(h_old)
    np.testing.assert_array_equal(y_new, steps(y0, k_chain, 12))
    # under jit with a traced step, as the training loop calls it (jit and eager may differ by
    # an ulp: compare jit with jit)
    jitted = jax.jit(lambda y, h: langevin.ula(w, k, y, 12, step_size=h))(y0, 0.05)
    steps, k_chain, _ = _old_ula(w, k, y0, 12, step_size=0.05)
    np.testing.assert_array_equal(jitted, jax.jit(lambda y: steps(y, k_chain, 12))(y0))


def test_ula_path_is_the_old_ula_path_bit_for_bit(key):
    """The old ``ula_path``: a scan over ``split(key, n_steps // save_every)``, each chunk as ula's steps."""
    y0, k = jax.random.normal(key, (64, 2)), jax.random.PRNGKey(7)
    steps, k_chain, _ = _old_ula(_quadratic, k, y0, 12, step_size=0.05)
    np.testing.assert_array_equal(langevin.ula(_quadratic, k, y0, 12, step_size=0.05), steps(y0, k_chain, 12))
    path, h = langevin.ula_path(_quadratic, k, y0, 12, step_size=0.05, save_every=4)
    y, expected = y0, [y0]
    for kc in jax.random.split(k_chain, 3):
        y = steps(y, kc, 4)
        expected.append(y)
    np.testing.assert_array_equal(path, jnp.stack(expected))
    assert float(h) == np.float32(0.05)


def test_mala_is_the_old_mala_bit_for_bit(key):
    """The chapters' MALA numbers: a frozen copy of ``mala`` before the kernel rewrite."""
    y0, k, h = jax.random.normal(key, (64, 2)), jax.random.PRNGKey(7), 0.3
    value_and_grad = jax.vmap(jax.value_and_grad(_quadratic))
    log_q = lambda a, b, grad_b: -jnp.sum((a - b + h * grad_b) ** 2, axis=-1) / (4.0 * h)

    def step(carry, k):
        y, wy, gy, accepted = carry
        k_noise, k_acc = jax.random.split(k)
        prop = y - h * gy + jnp.sqrt(2.0 * h) * jax.random.normal(k_noise, y.shape, y.dtype)
        wp, gp = value_and_grad(prop)
        accept = jnp.log(jax.random.uniform(k_acc, wy.shape)) < -wp + wy + log_q(y, prop, gp) - log_q(prop, y, gy)
        y, wy, gy = (jnp.where(accept[:, None], prop, y), jnp.where(accept, wp, wy),
                     jnp.where(accept[:, None], gp, gy))
        return (y, wy, gy, accepted + jnp.mean(accept)), None

    (y_old, _, _, accepted), _ = jax.lax.scan(
        step, (y0, *value_and_grad(y0), jnp.asarray(0.0)), jax.random.split(jax.random.split(k)[1], 12))
    y_new, acceptance = langevin.mala(_quadratic, k, y0, 12, step_size=h)
    np.testing.assert_array_equal(y_new, y_old)
    assert float(acceptance) == float(accepted / 12)


def _quartic(y):
    """A convex, non-Gaussian potential: w(y) = ¼Σy⁴ + ½ yᵀQy − bᵀy."""
    q = jnp.array([[1.0, 0.6], [0.6, 0.8]])
    return 0.25 * jnp.sum(y**4) + 0.5 * y @ q @ y - jnp.array([1.0, -0.5]) @ y


def _quartic_moments():
    """Mean, covariance and E y⁴ of e^{-w} by quadrature on a grid (the mass beyond ±4 is < 1e-30)."""
    g = np.linspace(-4.0, 4.0, 1201)
    p_grid = np.stack(np.meshgrid(g, g, indexing="ij"), -1).reshape(-1, 2)
    q = np.array([[1.0, 0.6], [0.6, 0.8]])
    wv = 0.25 * (p_grid**4).sum(1) + 0.5 * np.einsum("ni,ij,nj->n", p_grid, q, p_grid) - p_grid @ [1.0, -0.5]
    p = np.exp(-(wv - wv.min()))
    p /= p.sum()
    mean = p @ p_grid
    cov = (p_grid - mean).T @ ((p_grid - mean) * p[:, None])
    return mean, cov, p @ p_grid**4


def test_mala_matches_blackjax_and_quadrature():
    n, h, n_steps, thin, burn_in = 4000, 0.3, 600, 20, 10  # keep snapshots after 200 steps
    # start near the mode: from |y| > 2.6 every proposal overshoots and MALA stays stuck (it is
    # not geometrically ergodic for tails lighter than Gaussian, Roberts & Tweedie 1996)
    y0 = 0.5 * jax.random.normal(jax.random.PRNGKey(0), (n, 2))

    ours = jax.jit(lambda k, y: langevin.run_chain(
        langevin.mala_step, _quartic, k, langevin.init(_quartic, y), n_steps, h, thin=thin))(
        jax.random.PRNGKey(1), y0)

    sampler = blackjax.mala(lambda y: -_quartic(y), h)

    @jax.jit
    def theirs(k, y):
        def body(state, k):
            state, info = jax.vmap(sampler.step)(jax.random.split(k, n), state)
            return state, (state.position, jnp.mean(info.is_accepted))

        _, (positions, accepted) = jax.lax.scan(body, jax.vmap(sampler.init)(y), jax.random.split(k, n_steps))
        return positions[thin - 1::thin], jnp.mean(accepted)

    bj_path, bj_acceptance = theirs(jax.random.PRNGKey(2), y0)
    assert ours.path.shape == bj_path.shape == (n_steps // thin, n, 2)
    print("acceptance: ours", float(ours.acceptance_rate), "blackjax", float(bj_acceptance))
    assert 0.5 < float(ours.acceptance_rate) < 0.9
    assert abs(float(ours.acceptance_rate) - float(bj_acceptance)) < 0.02

    mean, cov, fourth = _quartic_moments()
    statistics = {  # f(y) -> (E f under e^{-w}); the chains are independent, so per-chain
        "mean": (lambda s: s, mean),  # time averages give the Monte-Carlo standard error
        "covariance": (lambda s: np.stack([(s[..., 0] - mean[0]) ** 2, (s[..., 0] - mean[0]) * (s[..., 1] - mean[1]),
                                           (s[..., 1] - mean[1]) ** 2], -1), cov[np.triu_indices(2)]),
        "E y^4": (lambda s: s**4, fourth),
    }
    for name, (f, truth) in statistics.items():
        estimates = []
        for path in (ours.path, bj_path):
            per_chain = f(np.asarray(path[burn_in:], np.float64)).mean(0)
            estimates.append((per_chain.mean(0), per_chain.std(0) / np.sqrt(n)))
        (ours_est, ours_se), (bj_est, bj_se) = estimates
        print(f"{name}: quadrature {truth}, ours {ours_est} ± {ours_se}, blackjax {bj_est} ± {bj_se}")
        assert np.all(np.abs(ours_est - truth) < 5 * ours_se + 1e-4)
        assert np.all(np.abs(bj_est - truth) < 5 * bj_se + 1e-4)
        assert np.all(np.abs(ours_est - bj_est) < 5 * np.hypot(ours_se, bj_se))


def test_state_caches_value_and_gradient(key):
    y0 = jax.random.normal(key, (32, 2))
    state = langevin.init(_quartic, y0)
    for kernel in (langevin.ula_step, langevin.mala_step):
        new, info = kernel(_quartic, jax.random.PRNGKey(5), state, 0.3)
        assert info.acceptance_rate.shape == info.is_accepted.shape == (32,)
        assert info.is_accepted.dtype == jnp.bool_
        np.testing.assert_allclose(new.value, jax.vmap(_quartic)(new.position), rtol=1e-6)
        np.testing.assert_allclose(new.gradient, jax.vmap(jax.grad(_quartic))(new.position), rtol=1e-6)
    # MALA moves exactly the accepted chains, to ULA's proposal (the same noise key)
    proposal = langevin.langevin_proposal(_quartic, jax.random.split(jax.random.PRNGKey(5))[0], state, 0.3)
    acc = info.is_accepted[:, None]
    np.testing.assert_array_equal(new.position, jnp.where(acc, proposal.position, y0))
    assert 0 < int(info.is_accepted.sum()) < 32
    assert bool(jnp.all((info.acceptance_rate >= 0) & (info.acceptance_rate <= 1)))


def test_run_chain_thinning(key):
    state = langevin.init(_quadratic, jax.random.normal(key, (16, 2)))
    k = jax.random.PRNGKey(4)
    run = jax.jit(langevin.run_chain, static_argnums=(0, 1, 4), static_argnames="thin")
    chain = run(langevin.ula_step, _quadratic, k, state, 12, 0.1, thin=3)
    assert chain.path.shape == (4, 16, 2)
    np.testing.assert_array_equal(chain.path[-1], chain.state.position)
    assert float(chain.acceptance_rate) == 1.0
    # a thinned run = the unthinned run, block by block, from the block keys
    s = state
    for i, kb in enumerate(jax.random.split(k, 4)):
        s = run(langevin.ula_step, _quadratic, kb, s, 3, 0.1).state
        np.testing.assert_allclose(chain.path[i], s.position, rtol=1e-6, atol=1e-6)
    plain = run(langevin.mala_step, _quadratic, k, state, 12, 0.1)
    assert plain.path is None and 0 < float(plain.acceptance_rate) <= 1
    assert float(run(langevin.mala_step, _quadratic, k, state, 0, 0.1).acceptance_rate) == 0.0
    for thin in (5, 0, 2.0):
        with pytest.raises(ValueError, match="thin"):
            langevin.run_chain(langevin.ula_step, _quadratic, k, state, 12, 0.1, thin=thin)


def test_concave_or_non_finite_curvature_raises(key):
    concave = lambda y: -1.6 * y @ y  # Hessian -3.2 I
    y0 = jax.random.normal(key, (8, 2))
    with pytest.raises(ValueError, match=r"w is not convex at these points: largest Hessian eigenvalue -3\.2 <= 0"):
        langevin.step_size_rule(concave, y0, key)
    for sampler in (langevin.ula, langevin.mala):
        with pytest.raises(ValueError, match="not convex"):
            sampler(concave, key, y0, 3)
    with pytest.raises(ValueError, match="not finite"):
        langevin.step_size_rule(lambda y: jnp.sum(jnp.sqrt(y)), -jnp.ones((4, 2)), key)
    # under jit nothing can raise: the step is NaN (never negative), so the chains are NaN
    y, h = jax.jit(lambda y: langevin.ula(concave, key, y, 3, return_step=True))(y0)
    assert np.isnan(float(h)) and bool(jnp.all(jnp.isnan(y)))
    assert float(langevin.step_size_rule(_quadratic, y0, key, 0.5)) == pytest.approx(
        0.5 / np.linalg.eigvalsh(A).max(), rel=1e-4)


def test_unstable_explicit_step_warns(key):
    y0 = jax.random.normal(key, (8, 2))
    top = np.linalg.eigvalsh(A).max()
    for sampler in (langevin.ula, lambda *a, **k: langevin.ula_path(*a, **k)[0]):
        with pytest.warns(RuntimeWarning, match="unstable ULA step"):
            sampler(_quadratic, key, y0, 2, step_size=2.2 / top)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        langevin.ula(_quadratic, key, y0, 2, step_size=1.8 / top)
        langevin.mala(_quadratic, key, y0, 2, step_size=2.2 / top)  # MALA rejects: no warning
        jax.jit(lambda y: langevin.ula(_quadratic, key, y, 2, step_size=2.2 / top))(y0)  # not checked


def test_wrappers_under_jit_vmap_scan(key):
    y0 = jax.random.normal(key, (16, 2))
    keys = jax.random.split(key, 3)
    eager = langevin.ula(_quadratic, keys[1], y0, 4, step_scale=0.5)
    traced_scale = jax.jit(lambda y, s: langevin.ula(_quadratic, keys[1], y, 4, step_scale=s))(y0, 0.5)
    np.testing.assert_allclose(traced_scale, eager, rtol=1e-5, atol=1e-6)
    batched = jax.jit(jax.vmap(lambda k, s: langevin.ula(_quadratic, k, y0, 4, step_scale=s)))(
        keys, jnp.array([0.25, 0.5, 1.0]))
    assert batched.shape == (3, 16, 2)
    np.testing.assert_allclose(batched[1], eager, rtol=1e-5, atol=1e-6)

    def body(y, k):
        y, acc = langevin.mala(_quadratic, k, y, 2, step_size=0.1)
        return langevin.ula(_quadratic, k, y, 2, step_scale=0.5), acc

    y, acc = jax.jit(lambda y: jax.lax.scan(body, y, keys))(y0)
    assert y.shape == (16, 2) and acc.shape == (3,) and bool(jnp.all(jnp.isfinite(y)))
