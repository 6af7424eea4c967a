#!/usr/bin/env python3
"""Python peers for `nsde bench mlp-sde`: one MLP-drift SDE solved by torchsde, diffrax, a hand-written
PyTorch loop and a hand-written JAX lax.scan loop.

Problem (kept identical to the Swift side):
  state d = 64, batch 256, float32, drift f(y) = Linear(128->64)(tanh(Linear(64->128)(y))) (biases on),
  diffusion (Itô, diagonal):
    additive        g = 0.1 I              (g dW = 0.1 dW)
    multiplicative  g = 0.1 y              (g dW = 0.1 y * dW)
    dropout         g = 0.1 f(t, y)        (g dW = 0.1 f * dW, f = the drift of the same step)
  T = 1, Euler–Maruyama, 100 fixed steps (dt = 0.01), loss = mean(y_T^2).
  Parameters: PyTorch nn.Linear default init from numpy seed 0 (same numbers for every peer),
  y0 ~ N(0, 1) from the same seed.

Modes: forward (solve only, no grad), backprop (forward + backward through the solver),
adjoint (forward + backward by the continuous, memory-saving adjoint).

Prints ONE JSON object. Timings are the median of --repeats timed runs after --warmup untimed runs
(for JAX peers the warm-up includes the jit compile). peak_rss_mib is ru_maxrss of this process, so
run one process per (peer, noise, mode) — `compare_mlp_sde.sh` does. baseline_rss_mib is the resident
set after imports and setup, just before the first solve; extra_rss_mib = peak - baseline.

Peer-specific choices (each is also written into the JSON "notes"):
  torchsde  ts = torch.tensor([0., 1.], float64) (a float32 grid accumulates 0.01 to 0.99999934 and
            takes a 101st sliver step; float64 takes exactly 100), method='euler', dt=0.01, an explicit
            BrownianInterval(dt=0.01 hint) built inside the timed region. additive is declared
            noise_type='additive' with g_prod(v) = 0.1 v (no (256,64,64) matrix, no Itô correction in the
            adjoint); multiplicative / dropout are noise_type='diagonal'. dropout: by default the SDE
            defines f_and_g (torchsde's documented hook) so one MLP evaluation serves f and g in a step;
            --torchsde-dropout separate gives g(t, y) = 0.1 * mlp(y) evaluated separately (two MLP
            evaluations per step). adjoint: sdeint_adjoint(adjoint_method='euler').
  diffrax   Euler + ConstantStepSize(dt0=0.01), max_steps=100, diagonal noise as
            ControlTerm(..., lineax.DiagonalLinearOperator). forward: UnsafeBrownianPath (fresh normal
            per step, the cheapest path; requires adjoint=ForwardMode since RecursiveCheckpointAdjoint
            rejects it). backprop: jit(value_and_grad), RecursiveCheckpointAdjoint (default) +
            VirtualBrownianTree(tol=dt0/2, the docs' choice for fixed steps) since UnsafeBrownianPath
            cannot be reverse-differentiated. --diffrax-bm vbt|grid swaps the path (grid = a user-level
            AbstractBrownianPath of pre-sampled grid increments, like the hand-written loops).
            adjoint: BacksolveAdjoint raises NotImplementedError for Itô solvers (Euler) and rejects
            two-term solvers (EulerHeun), so it runs on the Stratonovich-equivalent SDE with Heun
            (--diffrax-strat-solver) + VirtualBrownianTree: additive needs no correction;
            multiplicative drift f - 0.005 y; dropout drift f - 0.005 f * diag(df/dy) where
            diag(df/dy) = (1 - h^2) @ (W2 * W1^T)^T is computed in closed form for this MLP.
  torch-loop / jax-scan: plain Euler–Maruyama loops (torch.randn_like per step; jax.random.normal of
            all increments up front inside the jitted function, then lax.scan). No adjoint.
"""
import argparse
import json
import math
import os
import resource
import statistics
import sys
import time

D, BATCH, HIDDEN, STEPS, T_END, SIGMA = 64, 256, 128, 100, 1.0, 0.1
DT = T_END / STEPS
PEERS = ("torchsde", "diffrax", "torch-loop", "jax-scan")
NOISES = ("additive", "multiplicative", "dropout")
MODES = ("forward", "backprop", "adjoint")


# ----------------------------------------------------------------------------------------------------
# Shared setup
# ----------------------------------------------------------------------------------------------------

def rss_now_mib():
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return float("nan")


def peak_rss_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: KiB


def init_numpy(seed=0):
    """nn.Linear default init (kaiming_uniform(a=sqrt 5) == U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for W and b)."""
    import numpy as np
    rng = np.random.default_rng(seed)
    b1v, b2v = 1.0 / math.sqrt(D), 1.0 / math.sqrt(HIDDEN)
    p = {
        "W1": rng.uniform(-b1v, b1v, (HIDDEN, D)).astype(np.float32),   # [out, in] like torch
        "b1": rng.uniform(-b1v, b1v, (HIDDEN,)).astype(np.float32),
        "W2": rng.uniform(-b2v, b2v, (D, HIDDEN)).astype(np.float32),
        "b2": rng.uniform(-b2v, b2v, (D,)).astype(np.float32),
    }
    y0 = rng.standard_normal((BATCH, D)).astype(np.float32)
    return p, y0


_BASELINE = [None]


def mark_baseline():
    """Resident set after imports and setup, before the first solve (for extra_rss_mib)."""
    if _BASELINE[0] is None:
        _BASELINE[0] = rss_now_mib()


def time_runs(fn, warmup, repeats):
    last = None
    for _ in range(warmup):
        last = fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        last = fn()
        times.append((time.perf_counter() - t0) * 1e3)
    return times, last


# ----------------------------------------------------------------------------------------------------
# PyTorch peers
# ----------------------------------------------------------------------------------------------------

def torch_setup(args):
    import torch
    import torch.nn as nn
    torch.set_num_threads(args.threads)
    p, y0 = init_numpy(args.seed)
    mlp = nn.Sequential(nn.Linear(D, HIDDEN), nn.Tanh(), nn.Linear(HIDDEN, D))
    with torch.no_grad():
        mlp[0].weight.copy_(torch.from_numpy(p["W1"]))
        mlp[0].bias.copy_(torch.from_numpy(p["b1"]))
        mlp[2].weight.copy_(torch.from_numpy(p["W2"]))
        mlp[2].bias.copy_(torch.from_numpy(p["b2"]))
    torch.manual_seed(args.seed)
    return torch, mlp, torch.from_numpy(y0)


class _Counter:
    def __init__(self):
        self.n = 0


def make_torchsde_sde(torch, mlp, noise, dropout_style, counter=None):
    import torch.nn as nn

    def run_mlp(y):
        if counter is not None:
            counter.n += 1
        return mlp(y)

    class Base(nn.Module):
        sde_type = "ito"

        def __init__(self):
            super().__init__()
            self.mlp = mlp  # registered, so sdeint_adjoint finds the parameters

        def f(self, t, y):
            return run_mlp(y)

    if noise == "additive":
        class SDE(Base):
            noise_type = "additive"
            _eye = torch.eye(D).mul_(SIGMA)

            def g(self, t, y):  # only called once by torchsde's shape check
                return self._eye.expand(y.size(0), D, D)

            def g_prod(self, t, y, v):
                return SIGMA * v
    elif noise == "multiplicative":
        class SDE(Base):
            noise_type = "diagonal"

            def g(self, t, y):
                return SIGMA * y
    elif dropout_style == "fused":
        class SDE(Base):
            noise_type = "diagonal"

            def g(self, t, y):
                return SIGMA * run_mlp(y)

            def f_and_g(self, t, y):
                f = run_mlp(y)
                return f, SIGMA * f
    else:
        class SDE(Base):
            noise_type = "diagonal"

            def g(self, t, y):
                return SIGMA * run_mlp(y)
    return SDE()


def run_torchsde(args):
    torch, mlp, y0 = torch_setup(args)
    import torchsde
    counter = _Counter()
    sde = make_torchsde_sde(torch, mlp, args.noise, args.torchsde_dropout, counter)
    ts = torch.tensor([0.0, T_END], dtype=torch.float64)

    def make_bm():
        return torchsde.BrownianInterval(t0=0.0, t1=T_END, size=(BATCH, D), dtype=torch.float32,
                                         dt=DT, levy_area_approximation="none")

    def solve(bm, adjoint):
        if adjoint:
            ys = torchsde.sdeint_adjoint(sde, y0, ts, bm=bm, method="euler", adjoint_method="euler", dt=DT)
        else:
            ys = torchsde.sdeint(sde, y0, ts, bm=bm, method="euler", dt=DT)
        return ys[-1].pow(2).mean()

    if args.mode == "forward":
        def fn():
            with torch.no_grad():
                return float(solve(make_bm(), False))
    else:
        adjoint = args.mode == "adjoint"

        def fn():
            mlp.zero_grad(set_to_none=True)
            loss = solve(make_bm(), adjoint)
            loss.backward()
            return float(loss.detach()) if hasattr(loss, "detach") else float(loss)

    extra = {"version": f"torchsde {torchsde.__version__} / torch {torch.__version__}",
             "notes": ["ts float64 [0,1], method=euler, dt=0.01, BrownianInterval(dt=0.01) per run"]}
    if args.noise == "additive":
        extra["notes"].append("noise_type=additive with g_prod = 0.1*v")
    if args.noise == "dropout":
        extra["variant"] = f"dropout-{args.torchsde_dropout}"
        extra["notes"].append("f_and_g: one MLP eval per step for f and g" if args.torchsde_dropout == "fused"
                              else "g = 0.1*mlp(y) evaluated separately: two MLP evals per step")
    if args.mode == "adjoint":
        extra["notes"].append("sdeint_adjoint adjoint_method=euler")

    mark_baseline()
    # Count the Brownian queries (one per Euler step) and MLP evaluations of one forward solve. torchsde's
    # own shape check (check_contract) evaluates f / g / f_and_g once each per call on top of the steps.
    class CountingBM(torchsde.BrownianInterval):
        queries = 0

        def __call__(self, ta, tb=None, return_U=False, return_A=False):
            CountingBM.queries += 1
            return super().__call__(ta, tb, return_U, return_A)

    counter.n = 0
    with torch.no_grad():
        solve(CountingBM(t0=0.0, t1=T_END, size=(BATCH, D), dtype=torch.float32, dt=DT), False)
    extra["steps"] = CountingBM.queries
    extra["mlp_evals_per_forward_solve"] = counter.n

    if args.check:
        extra["check"] = torchsde_check(torch, torchsde, sde, mlp, y0, ts, make_bm)
    return fn, extra


def torchsde_check(torch, torchsde, sde, mlp, y0, ts, make_bm):
    """Backprop vs adjoint gradients on one and the same Brownian path."""
    params = list(mlp.parameters())
    bm = make_bm()
    ys = torchsde.sdeint(sde, y0, ts, bm=bm, method="euler", dt=DT)
    loss_bp = ys[-1].pow(2).mean()
    g_bp = torch.autograd.grad(loss_bp, params)
    ys = torchsde.sdeint_adjoint(sde, y0, ts, bm=bm, method="euler", adjoint_method="euler", dt=DT)
    loss_adj = ys[-1].pow(2).mean()
    g_adj = torch.autograd.grad(loss_adj, params)
    rel = [float((a - b).abs().max() / b.abs().max()) for a, b in zip(g_adj, g_bp)]
    # float32 ts: how many steps does torchsde take?
    counter_steps = {}
    for name, dtype in (("float32", torch.float32), ("float64", torch.float64)):
        tt = torch.tensor([0.0, T_END], dtype=dtype)
        n = 0
        cur = tt[0]
        while cur < tt[-1]:
            cur = torch.minimum(cur + DT, tt[-1])
            n += 1
        counter_steps[name] = n
    return {"loss_backprop": loss_bp.item(), "loss_adjoint": loss_adj.item(),
            "grad_max_rel_diff_per_param": rel, "grad_max_rel_diff": max(rel),
            "steps_taken_by_time_grid_dtype": counter_steps}


def run_torch_loop(args):
    torch, mlp, y0 = torch_setup(args)
    if args.mode == "adjoint":
        return None, {"unsupported": "hand-written loop has no adjoint (backprop only)",
                      "version": f"torch {torch.__version__}"}
    sqdt = math.sqrt(DT)
    noise = args.noise

    def solve():
        y = y0
        for _ in range(STEPS):
            f = mlp(y)
            dw = torch.randn_like(y) * sqdt
            if noise == "additive":
                y = y + f * DT + SIGMA * dw
            elif noise == "multiplicative":
                y = y + f * DT + SIGMA * y * dw
            else:
                y = y + f * (DT + SIGMA * dw)
        return y.pow(2).mean()

    if args.mode == "forward":
        def fn():
            with torch.no_grad():
                return float(solve())
    else:
        def fn():
            mlp.zero_grad(set_to_none=True)
            loss = solve()
            loss.backward()
            return float(loss.detach()) if hasattr(loss, "detach") else float(loss)
    return fn, {"version": f"torch {torch.__version__}", "steps": STEPS,
                "notes": ["python for-loop of EM steps, torch.randn_like per step, autograd"]}


# ----------------------------------------------------------------------------------------------------
# JAX peers
# ----------------------------------------------------------------------------------------------------

def jax_setup(args):
    # Must happen before jax is imported. XLA's CPU client has no public thread-count knob beyond
    # Eigen's; these flags plus the CPU affinity set in main() are what restricts it.
    flags = os.environ.get("XLA_FLAGS", "")
    if "xla_cpu_multi_thread_eigen" not in flags:
        flags = (flags + f" --xla_cpu_multi_thread_eigen=true intra_op_parallelism_threads={args.threads}").strip()
        os.environ["XLA_FLAGS"] = flags
    os.environ.setdefault("JAX_PLATFORMS", "cpu")
    import jax
    import jax.numpy as jnp
    p, y0 = init_numpy(args.seed)
    params = {k: jnp.asarray(v) for k, v in p.items()}
    return jax, jnp, params, jnp.asarray(y0)


def jax_mlp(jnp, p, y):
    h = jnp.tanh(y @ p["W1"].T + p["b1"])
    return h @ p["W2"].T + p["b2"], h


def run_jax_scan(args):
    jax, jnp, params, y0 = jax_setup(args)
    if args.mode == "adjoint":
        return None, {"unsupported": "hand-written lax.scan loop has no adjoint (backprop only)",
                      "version": f"jax {jax.__version__}"}
    noise = args.noise
    sqdt = math.sqrt(DT)

    def loss_fn(p, key):
        dws = jax.random.normal(key, (STEPS, BATCH, D), jnp.float32) * sqdt

        def step(y, dw):
            f, _ = jax_mlp(jnp, p, y)
            if noise == "additive":
                y = y + f * DT + SIGMA * dw
            elif noise == "multiplicative":
                y = y + f * DT + SIGMA * y * dw
            else:
                y = y + f * (DT + SIGMA * dw)
            return y, None

        yT, _ = jax.lax.scan(step, y0, dws)
        return jnp.mean(yT ** 2)

    counter = [0]
    if args.mode == "forward":
        jf = jax.jit(loss_fn)

        def fn():
            counter[0] += 1
            return float(jf(params, jax.random.key(counter[0])).block_until_ready())
    else:
        jg = jax.jit(jax.value_and_grad(loss_fn))

        def fn():
            counter[0] += 1
            loss, grads = jg(params, jax.random.key(counter[0]))
            jax.block_until_ready(grads)
            return float(loss.detach()) if hasattr(loss, "detach") else float(loss)
    return fn, {"version": f"jax {jax.__version__}", "steps": STEPS,
                "notes": ["jit; increments drawn up front with jax.random.normal; lax.scan over 100 EM steps"]}


def run_diffrax(args):
    jax, jnp, params, y0 = jax_setup(args)
    import diffrax
    import equinox as eqx
    import lineax as lx
    noise, mode = args.noise, args.mode

    def drift_ito(t, y, p):
        return jax_mlp(jnp, p, y)[0]

    def drift_strat(t, y, p):
        # Stratonovich-equivalent drift: f - 1/2 sum_j g_j dg_i/dy_j (diagonal noise => 1/2 g_i dg_i/dy_i).
        f, h = jax_mlp(jnp, p, y)
        if noise == "additive":
            return f
        if noise == "multiplicative":
            return f - 0.5 * SIGMA * SIGMA * y
        diag_j = (1.0 - h * h) @ (p["W2"] * p["W1"].T).T     # d f_i / d y_i for this MLP, (batch, d)
        return f - 0.5 * SIGMA * SIGMA * f * diag_j

    def diffusion(t, y, p):
        if noise == "additive":
            g = jnp.full_like(y, SIGMA)
        elif noise == "multiplicative":
            g = SIGMA * y
        else:
            g = SIGMA * jax_mlp(jnp, p, y)[0]
        return lx.DiagonalLinearOperator(g)

    version = f"diffrax {diffrax.__version__} / jax {jax.__version__} / equinox {eqx.__version__}"
    bm_kind = args.diffrax_bm
    if bm_kind == "auto":
        bm_kind = "unsafe" if mode == "forward" else "vbt"
    if bm_kind == "unsafe" and mode != "forward":
        return None, {"unsupported": "UnsafeBrownianPath cannot be reverse-mode differentiated in diffrax",
                      "version": version}
    if bm_kind == "grid" and mode == "adjoint":
        return None, {"unsupported": "--diffrax-bm grid is only for forward/backprop", "version": version}

    class GridBrownianPath(diffrax.AbstractBrownianPath):
        """User-level Brownian path: the 100 increments of the fixed grid sampled up front (like the
        hand-written loops). Only valid for queries [k dt, (k+1) dt], which is all Euler makes here."""
        dws: jax.Array
        levy_area: type = eqx.field(static=True, default=diffrax.BrownianIncrement)

        @property
        def t0(self):
            return 0.0

        @property
        def t1(self):
            return T_END

        def evaluate(self, t0, t1=None, left=True, use_levy=False):
            idx = jnp.clip(jnp.round(t0 / DT).astype(jnp.int32), 0, STEPS - 1)
            return self.dws[idx]

    def make_bm(key):
        if bm_kind == "unsafe":
            return diffrax.UnsafeBrownianPath(shape=(BATCH, D), key=key)
        if bm_kind == "grid":
            return GridBrownianPath(jax.random.normal(key, (STEPS, BATCH, D), jnp.float32) * math.sqrt(DT))
        return diffrax.VirtualBrownianTree(0.0, T_END, tol=args.vbt_tol, shape=(BATCH, D), key=key)

    strat = mode == "adjoint"
    # (ReversibleHeun is left out on purpose: with BacksolveAdjoint on this problem it grew past 17 GB RSS and
    # ran for over 20 minutes before it was killed.)
    strat_solvers = {"heun": diffrax.Heun, "midpoint": diffrax.Midpoint}
    solver = strat_solvers[args.diffrax_strat_solver]() if strat else diffrax.Euler()
    if mode == "forward":
        adjoint = diffrax.ForwardMode() if bm_kind == "unsafe" else diffrax.RecursiveCheckpointAdjoint()
    elif mode == "backprop":
        adjoint = diffrax.RecursiveCheckpointAdjoint()
    else:
        adjoint = diffrax.BacksolveAdjoint()

    def solve(p, key, solver=solver, adjoint=adjoint, strat=strat):
        terms = diffrax.MultiTerm(diffrax.ODETerm(drift_strat if strat else drift_ito),
                                  diffrax.ControlTerm(diffusion, make_bm(key)))
        sol = diffrax.diffeqsolve(terms, solver, 0.0, T_END, DT, y0, args=p,
                                  stepsize_controller=diffrax.ConstantStepSize(),
                                  adjoint=adjoint, max_steps=STEPS)
        return jnp.mean(sol.ys[-1] ** 2), sol.stats["num_steps"]

    bm_name = {"unsafe": "UnsafeBrownianPath", "grid": "GridBrownianPath (user-level, pre-sampled grid increments)",
               "vbt": f"VirtualBrownianTree(tol={args.vbt_tol})"}[bm_kind]
    notes = [f"{type(solver).__name__}{' on the Stratonovich-equivalent SDE' if strat else ''}, "
             f"ConstantStepSize dt0=0.01, max_steps=100, diagonal noise via lineax.DiagonalLinearOperator",
             f"brownian={bm_name}", f"adjoint={type(adjoint).__name__}"]
    if strat:
        notes.append("BacksolveAdjoint raises NotImplementedError for Itô solvers (Euler) and needs a single-term "
                     "solver (EulerHeun is rejected: TermAndSolverIncompatible); so it runs on the "
                     "Stratonovich-equivalent SDE with " + type(solver).__name__)

    counter = [0]
    if mode == "forward":
        jf = jax.jit(solve)

        def fn():
            counter[0] += 1
            loss, _ = jf(params, jax.random.key(counter[0]))
            return float(loss.block_until_ready())
    else:
        jg = jax.jit(jax.value_and_grad(lambda p, k: solve(p, k)[0]))

        def fn():
            counter[0] += 1
            loss, grads = jg(params, jax.random.key(counter[0]))
            jax.block_until_ready(grads)
            return float(loss.detach()) if hasattr(loss, "detach") else float(loss)

    mark_baseline()
    _, nsteps = jax.jit(solve)(params, jax.random.key(12345))
    extra = {"version": version, "steps": int(nsteps), "notes": notes,
             "variant": f"{bm_kind}" + (f"-stratonovich-{args.diffrax_strat_solver}" if strat else "")}
    if args.check:
        extra["check"] = diffrax_check(jax, jnp, diffrax, params, y0, solve, bm_kind, type(solver))
    return fn, extra


def diffrax_check(jax, jnp, diffrax, params, y0, solve, bm_kind, strat_solver):
    if bm_kind != "vbt":
        return {"skipped": "checks need a VirtualBrownianTree: use --mode backprop/adjoint or --diffrax-bm vbt"}
    out = {}
    key = jax.random.key(7)
    # 1. Closed-form diag(df/dy) (used by the dropout Stratonovich correction) against jax.jacfwd.
    p = params
    y1 = y0[0]
    J = jax.jacfwd(lambda y: jax_mlp(jnp, p, y[None])[0][0])(y1)
    h = jnp.tanh(y1 @ p["W1"].T + p["b1"])
    diag_closed = (1.0 - h * h) @ (p["W2"] * p["W1"].T).T
    out["diag_jacobian_max_abs_err"] = float(jnp.max(jnp.abs(jnp.diag(J) - diag_closed)))

    # 2. Itô Euler vs the Stratonovich-equivalent SDE on the same VirtualBrownianTree path.
    def loss_with(solver, strat, adjoint):
        return jax.jit(lambda pp: solve(pp, key, solver=solver, adjoint=adjoint, strat=strat)[0])

    ito = loss_with(diffrax.Euler(), False, diffrax.RecursiveCheckpointAdjoint())
    stra_bp = loss_with(strat_solver(), True, diffrax.RecursiveCheckpointAdjoint())
    stra_adj = loss_with(strat_solver(), True, diffrax.BacksolveAdjoint())
    out["loss_ito_euler"] = float(ito(params))
    out["loss_strat"] = float(stra_bp(params))
    out["strat_solver"] = strat_solver.__name__
    # 3. BacksolveAdjoint vs backprop-through-solver gradients (both Stratonovich, same path).
    g_bp = jax.grad(stra_bp)(params)
    g_adj = jax.grad(stra_adj)(params)
    g_ito = jax.grad(ito)(params)
    rel = {k: float(jnp.max(jnp.abs(g_adj[k] - g_bp[k])) / jnp.max(jnp.abs(g_bp[k]))) for k in g_bp}
    rel_ito = {k: float(jnp.max(jnp.abs(g_adj[k] - g_ito[k])) / jnp.max(jnp.abs(g_ito[k]))) for k in g_bp}
    out["grad_max_rel_diff_backsolve_vs_backprop_strat"] = max(rel.values())
    out["grad_max_rel_diff_backsolve_vs_backprop_ito_euler"] = max(rel_ito.values())
    # 4. Itô Euler with UnsafeBrownianPath must not be differentiable through RecursiveCheckpointAdjoint,
    #    and Itô Euler must be rejected by BacksolveAdjoint (documents why the choices above were made).
    try:
        jax.grad(loss_with(diffrax.Euler(), False, diffrax.BacksolveAdjoint()))(params)
        out["backsolve_accepts_ito_euler"] = True
    except Exception as e:  # noqa: BLE001
        out["backsolve_accepts_ito_euler"] = f"no: {type(e).__name__}: {str(e).splitlines()[0][:120]}"
    return out


# ----------------------------------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--peer", required=True, choices=PEERS)
    ap.add_argument("--noise", required=True, choices=NOISES)
    ap.add_argument("--mode", required=True, choices=MODES)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", action="store_true", help="print one JSON object (always the output format)")
    ap.add_argument("--check", action="store_true",
                    help="add correctness checks to the JSON (torchsde: backprop vs adjoint gradients on one "
                         "BrownianInterval; diffrax: Itô vs Stratonovich-equivalent, BacksolveAdjoint vs backprop)")
    ap.add_argument("--torchsde-dropout", choices=("fused", "separate"), default="fused",
                    help="fused: f_and_g evaluates the MLP once per step; separate: g calls the MLP again")
    ap.add_argument("--diffrax-bm", choices=("auto", "unsafe", "vbt", "grid"), default="auto",
                    help="auto: UnsafeBrownianPath for forward, VirtualBrownianTree otherwise; grid: a user-level "
                         "AbstractBrownianPath of pre-sampled grid increments (forward/backprop only)")
    ap.add_argument("--vbt-tol", type=float, default=DT / 2,
                    help="VirtualBrownianTree tol (diffrax docs: dt0/2 is the common choice for fixed steps)")
    ap.add_argument("--diffrax-strat-solver", choices=("heun", "midpoint"), default="heun",
                    help="Stratonovich solver for diffrax BacksolveAdjoint")
    args = ap.parse_args()

    # Restrict the process to `threads` CPUs when the machine has more (documents itself in the JSON).
    affinity = None
    if hasattr(os, "sched_getaffinity"):
        cpus = sorted(os.sched_getaffinity(0))
        if args.threads < len(cpus):
            os.sched_setaffinity(0, cpus[:args.threads])
        affinity = sorted(os.sched_getaffinity(0))
    os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))

    runner = {"torchsde": run_torchsde, "diffrax": run_diffrax,
              "torch-loop": run_torch_loop, "jax-scan": run_jax_scan}[args.peer]
    fn, extra = runner(args)
    result = {"peer": args.peer, "version": extra.pop("version", "?"), "noise": args.noise, "mode": args.mode,
              "steps": extra.pop("steps", STEPS), "batch": BATCH, "dim": D, "threads": args.threads,
              "cpu_affinity": affinity}
    if fn is None:
        result["unsupported"] = extra.pop("unsupported")
        result.update(extra)
        print(json.dumps(result))
        return 0
    mark_baseline()
    baseline = _BASELINE[0]
    times, loss = time_runs(fn, args.warmup, args.repeats)
    result.update({
        "median_ms": statistics.median(times),
        "times_ms": [round(t, 3) for t in times],
        "peak_rss_mib": round(peak_rss_mib(), 1),
        "baseline_rss_mib": round(baseline, 1),
        "extra_rss_mib": round(peak_rss_mib() - baseline, 1),
        "loss": loss,
        "repeats": args.repeats,
        "warmup": args.warmup,
        "loadavg_1m": os.getloadavg()[0],
        "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY"),
    })
    result.update(extra)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
