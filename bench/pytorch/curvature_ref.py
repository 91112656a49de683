#!/usr/bin/python3
"""A float64 PyTorch reference for `advlab curvature`: top eigenvalues and trace of the weight Hessian of an advlab model.

Loads an advlab wong-cnn (a tf.js LayersModel folder, or a run directory: DIR/model) into bench.py's PyTorch
wong-cnn (advlab_port.load_advlab_model), converts it to float64, eval mode, and takes the loss advlab's
command takes: L(θ) = the MEAN cross-entropy over the FIRST n Fashion-MNIST test images, unshuffled,
pixels / 255 (the images `advlab eval --n N` evaluates). Everything below is in float64.

    /usr/bin/python3 bench/pytorch/curvature_ref.py --model RUN_OR_MODEL_DIR --n 1000 --top 2 \\
        --lanczos-steps 100 --trace-samples 300 --seed 0 --threads 2

- Hessian-vector products Hv by double backprop (the gradient with create_graph=True, then the gradient of
  <g, v>), accumulated over batches of --batch images, each batch's loss summed and divided by n: exactly the
  HVP of the mean over all n images, whatever the batch size.
- Top eigenvalues: Lanczos with full re-orthogonalisation (twice per step) for --lanczos-steps steps from a
  seeded Gaussian start, the tridiagonal matrix diagonalised by numpy.linalg.eigh; the --top largest
  (algebraic) Ritz values, each with its residual ‖Hy − θy‖ from one more HVP on the unit Ritz vector y
  (some eigenvalue of H lies within that distance of θ), and Lanczos' own estimate |β_m s_m|.
  Plain power iteration would not do: on a standard wong-cnn the top two eigenvalues are close (≈ 27.9 and
  27.1), so it converges slowly and to a blend of the two.
- Trace: Hutchinson's estimator, the mean of zᵀHz over --trace-samples Rademacher vectors z, with the standard
  error of that mean (sample standard deviation / √k).

Seeds: the Lanczos start is drawn from torch.Generator seeded with --seed, the Rademacher vectors from one
seeded with --seed + 1. Progress goes to stderr; stdout gets one JSON object: n, loss, grad_norm, parameters,
hessian (top_eigenvalues, residuals, residual_estimates, lanczos_steps, trace, trace_se, trace_samples),
seconds per part, model (path, weights sha256, trained_with), torch (bench.torch_info). A refused input
prints {"error": ...} and exits 1. --self-test checks the HVP, Lanczos and Hutchinson on tiny problems whose
Hessian is formed exactly, prints what it checked and exits 1 on a mismatch.
See bench/README.md, "Checking `advlab curvature` against PyTorch".
"""
import argparse
import json
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench  # noqa: E402  (the same folder: DATA_DIR, torch_info)
from advlab_port import TEST_IMAGES, TEST_LABELS, Fail, first_test_images, load_advlab_model, print_and_save, print_error  # noqa: E402

DTYPE = torch.float64


def log(msg):
    print(msg, file=sys.stderr, flush=True)


# ---------------------------------------------------------------- the loss and its Hessian-vector products

class MeanLoss:
    """The mean cross-entropy of `model` over all of (x, y), its gradient and Hessian-vector products in the parameters.

    Batches of `batch` images; each batch's summed loss is divided by n, so sums over batches are exactly the
    mean loss over all n images and its derivatives. Vectors are flat, in model.parameters() order."""

    def __init__(self, model, x, y, batch):
        self.model, self.x, self.y, self.batch = model, x, y, batch
        self.n = x.shape[0]
        self.params = list(model.parameters())
        for p in self.params:
            p.requires_grad_(True)
        self.dim = sum(p.numel() for p in self.params)
        self.hvps = 0

    def batches(self):
        for i in range(0, self.n, self.batch):
            yield self.x[i:i + self.batch], self.y[i:i + self.batch]

    def batch_loss(self, xb, yb):
        return F.cross_entropy(self.model(xb), yb, reduction='sum') / self.n

    def flat(self, tensors):
        return torch.cat([t.reshape(-1) for t in tensors])

    def unflat(self, v):
        out, i = [], 0
        for p in self.params:
            out.append(v[i:i + p.numel()].view_as(p))
            i += p.numel()
        return out

    def loss_and_grad(self):
        """(L, ∇L as a flat vector)."""
        total, grad = 0.0, torch.zeros(self.dim, dtype=DTYPE)
        for xb, yb in self.batches():
            loss = self.batch_loss(xb, yb)
            grad += self.flat(torch.autograd.grad(loss, self.params))
            total += loss.item()
        return total, grad

    def hvp(self, v):
        """H v for a flat vector v (double backprop: ∇⟨∇L, v⟩ with v held constant)."""
        vs = self.unflat(v.detach())
        out = torch.zeros(self.dim, dtype=DTYPE)
        for xb, yb in self.batches():
            g = torch.autograd.grad(self.batch_loss(xb, yb), self.params, create_graph=True)
            gv = sum((gi * vi).sum() for gi, vi in zip(g, vs))
            out += self.flat(torch.autograd.grad(gv, self.params))
        self.hvps += 1
        return out


# ---------------------------------------------------------------- Lanczos and Hutchinson

def lanczos(matvec, dim, steps, generator, on_step=None):
    """Lanczos with full re-orthogonalisation on a symmetric operator: {alpha, beta, Q (m × dim), m}.

    Each new direction is orthogonalised against every previous one twice (classical Gram–Schmidt, repeated),
    so the basis stays orthonormal to rounding and no spurious copies of converged eigenvalues appear.
    Stops early when β falls to rounding level (an invariant subspace: its Ritz values are exact)."""
    steps = min(steps, dim)
    Q = torch.zeros(steps, dim, dtype=DTYPE)
    alpha, beta = [], []
    q = torch.randn(dim, generator=generator, dtype=DTYPE)
    q /= q.norm()
    scale = 0.0
    for j in range(steps):
        Q[j] = q
        w = matvec(q)
        a = torch.dot(q, w).item()
        alpha.append(a)
        w = w - a * q
        if j > 0:
            w = w - beta[-1] * Q[j - 1]
        for _ in range(2):
            w = w - Q[:j + 1].t() @ (Q[:j + 1] @ w)
        b = w.norm().item()
        beta.append(b)
        scale = max(scale, abs(a), b)
        if on_step:
            on_step(j + 1, alpha, beta)
        if j + 1 == steps or b <= 1e-12 * scale:
            break
        q = w / b
    m = len(alpha)
    return {'alpha': alpha, 'beta': beta, 'Q': Q[:m], 'm': m}


def ritz(lz, top):
    """The `top` largest Ritz values (descending), their unit Ritz vectors and Lanczos' residual estimates |β_m s_m,i|."""
    m = lz['m']
    T = np.diag(lz['alpha']) + np.diag(lz['beta'][:m - 1], 1) + np.diag(lz['beta'][:m - 1], -1)
    theta, S = np.linalg.eigh(T)
    order = np.argsort(theta)[::-1][:top]
    values = [float(theta[i]) for i in order]
    coeffs = torch.from_numpy(np.ascontiguousarray(S[:, order]))
    vectors = (lz['Q'].t() @ coeffs).t()
    vectors = vectors / vectors.norm(dim=1, keepdim=True)
    estimates = [float(abs(lz['beta'][m - 1] * S[m - 1, i])) for i in order]
    return values, vectors, estimates


def top_ritz_values(alpha, beta, top):
    m = len(alpha)
    T = np.diag(alpha) + np.diag(beta[:m - 1], 1) + np.diag(beta[:m - 1], -1)
    return sorted(np.linalg.eigvalsh(T), reverse=True)[:top]


def hutchinson(matvec, dim, samples, generator, on_sample=None):
    """Hutchinson's trace estimate: (mean of zᵀHz over Rademacher z, standard error of the mean, the samples)."""
    values = []
    for k in range(samples):
        z = torch.randint(0, 2, (dim,), generator=generator).to(DTYPE).mul_(2).sub_(1)
        values.append(torch.dot(z, matvec(z)).item())
        if on_sample:
            on_sample(k + 1, values)
    mean = float(np.mean(values))
    se = float(np.std(values, ddof=1) / math.sqrt(samples)) if samples > 1 else None
    return mean, se, values


def mean_se(values):
    if len(values) < 2:
        return float(np.mean(values)), float('nan')
    return float(np.mean(values)), float(np.std(values, ddof=1) / math.sqrt(len(values)))


def curvature(loss, top, steps, samples, seed):
    """Lanczos + residuals + Hutchinson on a MeanLoss: (the hessian part of the JSON, seconds per part)."""
    seconds = {}
    t = time.perf_counter()

    def on_step(j, alpha, beta):
        if j % 10 == 0 or j == steps:
            vals = ', '.join(f'{v:.6f}' for v in top_ritz_values(alpha, beta, top))
            log(f'lanczos step {j}/{steps}: top Ritz values {vals}; β {beta[-1]:.3g} ({time.perf_counter() - t:.1f} s)')

    lz = lanczos(loss.hvp, loss.dim, steps, torch.Generator().manual_seed(seed), on_step)
    values, vectors, estimates = ritz(lz, top)
    seconds['lanczos'] = time.perf_counter() - t

    t = time.perf_counter()
    residuals = []
    for theta, v in zip(values, vectors):
        residuals.append((loss.hvp(v) - theta * v).norm().item())
        log(f'eigenvalue {theta:.6f}: residual ‖Hy − θy‖ = {residuals[-1]:.3g} (Lanczos estimate {estimates[len(residuals) - 1]:.3g})')
    seconds['residuals'] = time.perf_counter() - t

    trace = trace_se = None
    if samples:
        t = time.perf_counter()

        def on_sample(k, vals):
            if k % 10 == 0 or k == samples:
                mean, se = mean_se(vals)
                log(f'trace sample {k}/{samples}: {mean:.4f} ± {se:.3g} ({time.perf_counter() - t:.1f} s)')

        trace, trace_se, _ = hutchinson(loss.hvp, loss.dim, samples, torch.Generator().manual_seed(seed + 1), on_sample)
        seconds['trace'] = time.perf_counter() - t
    hessian = {
        'top_eigenvalues': values, 'residuals': residuals, 'residual_estimates': estimates,
        'lanczos_steps': lz['m'], 'lanczos_steps_requested': steps,
        'trace': trace, 'trace_se': trace_se, 'trace_samples': samples,
    }
    return hessian, seconds


# ---------------------------------------------------------------- self-test

class Checks:
    def __init__(self):
        self.failed, self.count = [], 0

    def check(self, ok, what):
        self.count += 1
        print(f'{"ok  " if ok else "FAIL"} {what}', flush=True)
        if not ok:
            self.failed.append(what)


def tiny_mlp(activation, sizes, gen):
    layers = []
    for i in range(len(sizes) - 1):
        lin = nn.Linear(sizes[i], sizes[i + 1]).to(DTYPE)
        with torch.no_grad():
            lin.weight.copy_(torch.randn(lin.weight.shape, generator=gen, dtype=DTYPE))
            lin.bias.copy_(0.5 * torch.randn(lin.bias.shape, generator=gen, dtype=DTYPE))
        layers.append(lin)
        if i < len(sizes) - 2:
            layers.append(activation())
    return nn.Sequential(*layers)


def functional_loss(model, x, y):
    """L(θ) for a flat θ, written out layer by layer (F.linear, the activation): independent of MeanLoss."""
    shapes = [p.shape for p in model.parameters()]
    acts = {nn.Tanh: torch.tanh, nn.ReLU: torch.relu}

    def f(theta):
        ps, i = [], 0
        for s in shapes:
            k = int(np.prod(s))
            ps.append(theta[i:i + k].reshape(s))
            i += k
        h, j = x, 0
        for layer in model:
            if isinstance(layer, nn.Linear):
                h = F.linear(h, ps[j], ps[j + 1])
                j += 2
            else:
                h = acts[type(layer)](h)
        return F.cross_entropy(h, y)  # the mean over all n at once, no batches

    return f


def self_test(seed):
    c = Checks()
    gen = torch.Generator().manual_seed(seed)

    # 1. the HVP against the exact Hessian, on tiny MLPs (n = 20 in batches of 7, 7, 6)
    for act, sizes in ((nn.Tanh, (4, 6, 3)), (nn.ReLU, (5, 5, 3))):
        model = tiny_mlp(act, sizes, gen)
        x = torch.randn(20, sizes[0], generator=gen, dtype=DTYPE)
        y = torch.randint(0, sizes[-1], (20,), generator=gen)
        name = f'{act.__name__} MLP {"-".join(map(str, sizes))}'
        loss = MeanLoss(model, x, y, batch=7)
        P = loss.dim
        H_hvp = torch.stack([loss.hvp(e) for e in torch.eye(P, dtype=DTYPE)], dim=1)
        theta0 = loss.flat([p.detach() for p in loss.params]).clone()
        f = functional_loss(model, x, y)
        H_exact = torch.autograd.functional.hessian(f, theta0)
        scale = H_exact.abs().max().item()
        diff = (H_hvp - H_exact).abs().max().item()
        c.check(diff <= 1e-12 * max(1.0, scale),
                f'{name} ({P} parameters): Hessian from {P} HVPs (batches of 7) vs torch.autograd.functional.hessian: '
                f'max |Δ| = {diff:.2e} (max |H| {scale:.3g})')
        asym = (H_hvp - H_hvp.t()).abs().max().item()
        c.check(asym <= 1e-12 * max(1.0, scale), f'{name}: HVP Hessian symmetric, max |H − Hᵀ| = {asym:.2e}')
        l_ref = f(theta0).item()
        l_got, g_got = loss.loss_and_grad()
        g_ref = torch.autograd.functional.jacobian(f, theta0)
        c.check(abs(l_got - l_ref) <= 1e-13 * max(1.0, abs(l_ref)) and (g_got - g_ref).abs().max().item() <= 1e-13,
                f'{name}: batched mean loss {l_got:.12f} and gradient = the unbatched ones')
        one = MeanLoss(model, x, y, batch=20)
        v = torch.randn(P, generator=gen, dtype=DTYPE)
        d1 = (one.hvp(v) - loss.hvp(v)).abs().max().item()
        c.check(d1 <= 1e-13 * max(1.0, scale), f'{name}: HVP in one batch of 20 = in batches of 7: max |Δ| = {d1:.2e}')

        lam = np.linalg.eigvalsh(H_exact.numpy())[::-1]
        # Lanczos run to the full dimension: every Ritz value is an eigenvalue
        lz = lanczos(loss.hvp, P, P, torch.Generator().manual_seed(seed))
        vals, vecs, _ = ritz(lz, 3)
        err = max(abs(a - b) for a, b in zip(vals, lam[:3]))
        c.check(err <= 1e-10 * max(1.0, abs(lam[0])),
                f'{name}: Lanczos ({lz["m"]} steps) top 3 {fmt(vals)} vs numpy.linalg.eigvalsh {fmt(lam[:3])}: max |Δ| = {err:.2e}')
        ortho = (lz['Q'] @ lz['Q'].t() - torch.eye(lz['m'], dtype=DTYPE)).abs().max().item()
        c.check(ortho <= 1e-10, f'{name}: Lanczos basis orthonormal, max |QQᵀ − I| = {ortho:.2e}')
        # fewer steps: each Ritz value lies within its measured residual of an eigenvalue
        steps = P // 3
        lz = lanczos(loss.hvp, P, steps, torch.Generator().manual_seed(seed))
        vals, vecs, _ = ritz(lz, 2)
        for theta, vec in zip(vals, vecs):
            r = (H_exact @ vec - theta * vec).norm().item()
            r_hvp = (loss.hvp(vec) - theta * vec).norm().item()
            near = min(abs(theta - l) for l in lam)
            c.check(near <= r * (1 + 1e-9) + 1e-12 and abs(r - r_hvp) <= 1e-10 * max(1.0, scale),
                    f'{name}: Lanczos ({steps} steps) Ritz value {theta:.6f} within its residual {r:.2e} '
                    f'(by HVP {r_hvp:.2e}) of an eigenvalue (distance {near:.2e})')

        # Hutchinson against the exact trace
        tr = float(np.trace(H_exact.numpy()))
        k = 400
        mean, se, _ = hutchinson(loss.hvp, P, k, torch.Generator().manual_seed(seed + 1))
        c.check(abs(mean - tr) <= 4 * se,
                f'{name}: Hutchinson ({k} Rademacher samples) {mean:.5f} ± {se:.5f} vs exact trace {tr:.5f} '
                f'({abs(mean - tr) / se:.2f} standard errors)')

    # 2. Lanczos resolving two close top eigenvalues (27.9, 27.1) above a wide bulk, on a 3000-dim diagonal operator
    dim, steps = 3000, 100
    bulk = torch.rand(dim - 6, generator=gen, dtype=DTYPE) * 3.0 - 0.8  # [−0.8, 2.2]
    spectrum = torch.cat([torch.tensor([27.9, 27.1, 19.0, 14.0, 9.0, 6.0], dtype=DTYPE), bulk])
    spectrum = spectrum[torch.randperm(dim, generator=gen)]
    lz = lanczos(lambda v: spectrum * v, dim, steps, torch.Generator().manual_seed(seed))
    vals, vecs, est = ritz(lz, 2)
    err = max(abs(vals[0] - 27.9), abs(vals[1] - 27.1))
    res = [(spectrum * v - t * v).norm().item() for t, v in zip(vals, vecs)]
    c.check(err <= 1e-9 and max(res) <= 1e-6,
            f'diagonal operator, dim {dim}: Lanczos ({steps} steps) top 2 {fmt(vals)} vs 27.9, 27.1: '
            f'max |Δ| = {err:.2e}, residuals {fmt(res, "%.1e")} (Lanczos estimates {fmt(est, "%.1e")})')
    pi = power_iteration(lambda v: spectrum * v, dim, steps, torch.Generator().manual_seed(seed))
    print(f'info diagonal operator: plain power iteration, {steps} steps, gives {pi:.6f} for 27.9 '
          f'(error {abs(pi - 27.9):.1e}): why Lanczos', flush=True)

    print(f'self-test: {c.count - len(c.failed)}/{c.count} checks passed', flush=True)
    return 0 if not c.failed else 1


def power_iteration(matvec, dim, steps, generator):
    """The Rayleigh quotient after `steps` plain power iterations (for the self-test's comparison only)."""
    v = torch.randn(dim, generator=generator, dtype=DTYPE)
    for _ in range(steps):
        v = matvec(v)
        v /= v.norm()
    return torch.dot(v, matvec(v)).item()


def fmt(values, spec='%.6f'):
    return '[' + ', '.join(spec % v for v in values) + ']'


# ---------------------------------------------------------------- main

def check_args(a):
    """Refuses bad flags with a Fail naming the flag."""
    for flag, value, lo in (('--n', a.n, 1), ('--top', a.top, 1), ('--lanczos-steps', a.lanczos_steps, 1),
                            ('--batch', a.batch, 1), ('--threads', a.threads, 1), ('--seed', a.seed, 0),
                            ('--trace-samples', a.trace_samples, 0)):
        if value < lo:
            raise Fail(f'{flag} {value}: expected an integer >= {lo}')
    if a.trace_samples == 1:
        raise Fail('--trace-samples 1: expected 0 (no trace) or >= 2 (the standard error needs two samples)')
    if a.top > a.lanczos_steps:
        raise Fail(f'--top {a.top}: expected at most --lanczos-steps ({a.lanczos_steps}) Ritz values')
    if a.self_test:
        return
    if not a.model:
        raise Fail('--model: required (an advlab model folder or run directory), unless --self-test')
    for name in (TEST_IMAGES, TEST_LABELS):
        if not os.path.isfile(os.path.join(a.data, name)):
            raise Fail(f'--data {a.data}: no {name} (expected the Fashion-MNIST IDX .gz files)')


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('--model', default=None, help='advlab model folder (model.json + weights.bin) or run directory')
    p.add_argument('--data', default=bench.DATA_DIR, help='Fashion-MNIST IDX folder')
    p.add_argument('--n', type=int, default=1000, help='the first N Fashion-MNIST test images (the mean loss over them)')
    p.add_argument('--top', type=int, default=2, help='how many of the largest eigenvalues to report')
    p.add_argument('--lanczos-steps', type=int, default=100, help='Lanczos steps (one HVP each)')
    p.add_argument('--trace-samples', type=int, default=300, help='Hutchinson Rademacher samples (one HVP each; 0: no trace)')
    p.add_argument('--seed', type=int, default=0, help='the Lanczos start (--seed) and the Rademacher vectors (--seed + 1)')
    p.add_argument('--batch', type=int, default=500, help='images per forward/backward pass (does not change the result)')
    p.add_argument('--threads', type=int, default=2, help='torch.set_num_threads')
    p.add_argument('--self-test', action='store_true',
                   help='check the HVP, Lanczos and Hutchinson on tiny problems with an exact Hessian; exit 1 on a mismatch')
    p.add_argument('--out', default=None, help='also write the JSON to this file')
    a = p.parse_args(argv)

    t_script = time.perf_counter()
    result = {'what': 'float64 PyTorch reference for advlab curvature: weight Hessian of the mean cross-entropy'}
    try:
        check_args(a)
        torch.set_num_threads(a.threads)
        if a.self_test:
            return self_test(a.seed)
        t = time.perf_counter()
        model, json_file, sha, meta = load_advlab_model(a.model)
        model = model.double().eval()
        x, y = first_test_images(a.data, a.n)
        x = x.to(DTYPE)
        loss = MeanLoss(model, x, y, a.batch)
        seconds = {'load': time.perf_counter() - t}
        if a.lanczos_steps > loss.dim:
            raise Fail(f'--lanczos-steps {a.lanczos_steps}: the model has only {loss.dim} parameters')
        log(f'{os.path.abspath(json_file)} (weights sha256 {sha[:12]}…): {loss.dim} parameters, '
            f'{a.n} images, float64, {torch.get_num_threads()} threads')

        t = time.perf_counter()
        value, grad = loss.loss_and_grad()
        seconds['loss_and_grad'] = time.perf_counter() - t
        log(f'mean cross-entropy {value:.8f}, ‖∇L‖ {grad.norm().item():.4g}')
        t = time.perf_counter()
        loss.hvp(torch.zeros(loss.dim, dtype=DTYPE))
        seconds['one_hvp'] = time.perf_counter() - t
        log(f'one HVP: {seconds["one_hvp"]:.2f} s; about {a.lanczos_steps + a.top + a.trace_samples} more to go')

        hessian, parts = curvature(loss, a.top, a.lanczos_steps, a.trace_samples, a.seed)
        seconds.update(parts)
        seconds['script'] = time.perf_counter() - t_script
        result.update({
            'n': a.n, 'loss': value, 'grad_norm': grad.norm().item(), 'parameters': loss.dim, 'dtype': 'float64',
            'mode': 'inference (eval mode)', 'batch': a.batch, 'seed': a.seed,
            'data': {'dataset': 'fashion-mnist', 'dir': a.data, 'split': 'test', 'first_n': a.n, 'scale': 'pixels / 255'},
            'hessian': hessian, 'hvps': loss.hvps, 'seconds': seconds,
            'model': {'path': os.path.abspath(json_file), 'weights_sha256': sha, 'architecture': 'wong-cnn',
                      'trained_with': (meta or {}).get('trainedWith')},
            'torch': bench.torch_info(a.threads),
        })
    except Fail as e:
        log(f'error: {e}')
        return print_error(result, e)
    print_and_save(result, a.out)
    return 0


if __name__ == '__main__':
    sys.exit(main())
