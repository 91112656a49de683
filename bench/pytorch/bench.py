#!/usr/bin/python3
"""The PyTorch side of `npm run bench` (run with Debian's /usr/bin/python3, which has python3-torch).

The same models as advlab's zoo (packages/core/src/models/zoo.ts), the same algorithms and
hyper-parameters as advlab's training objectives (packages/core/src/training/objectives.ts) written
plainly in PyTorch, on the same real Fashion-MNIST images (first `--batch` training images as the batch,
first `--eval-n` test images for the evaluation), read from the IDX .gz files with gzip + struct.

Modes
  (default)   run --models × --workloads, print one JSON object on stdout
  --serve     print a ready line, then answer one JSON request per stdin line (used by bench/run.ts so
              the two sides can be interleaved workload by workload); protocol lines start with '@@bench '
  --peak      time a large conv2d forward ([B, 64, 56, 56] ⊛ 64@3×3, pad 1) and print its GFLOP/s

Threads: torch.set_num_threads(--threads), default os.cpu_count(). (On this machine PyTorch's OpenMP
otherwise starts with 1 thread.)
"""
import argparse
import gzip
import json
import os
import re
import resource
import statistics
import struct
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

DATA_DIR = '/usr/share/datasets/fashion-mnist'
EPS = 0.1
LR = 1e-3
GRADALIGN_LAMBDA = 0.2
PROTOCOL_PREFIX = '@@bench '
MODELS = ('wong-cnn', 'cnn')
WORKLOADS = ('standard', 'pgd7-at', 'fgsm-at', 'gradalign', 'pgd20-eval')


# ---------------------------------------------------------------- data

def read_idx(path):
    """An IDX file (.gz) as a uint8 tensor of its dimensions."""
    with gzip.open(path, 'rb') as f:
        raw = bytearray(f.read())
    if len(raw) < 4:
        raise ValueError(f'{path}: expected an IDX header, found {len(raw)} bytes')
    zero, dtype, ndim = struct.unpack('>HBB', raw[:4])
    if zero != 0 or dtype != 0x08:
        raise ValueError(f'{path}: expected an unsigned-byte IDX file (magic 0x0008xx), found {raw[:4].hex()}')
    dims = struct.unpack('>' + 'I' * ndim, raw[4:4 + 4 * ndim])
    offset = 4 + 4 * ndim
    count = 1
    for d in dims:
        count *= d
    if len(raw) - offset != count:
        raise ValueError(f'{path}: expected {count} data bytes for dims {dims}, found {len(raw) - offset}')
    return torch.frombuffer(raw, dtype=torch.uint8, offset=offset, count=count).reshape(dims)


def load_fashion_mnist(data_dir=DATA_DIR):
    """Train and test sets as float32 in [0, 1], NCHW, and int64 labels.

    Like advlab's loader, the whole set is decoded to float32 (so the peak RSS of both sides holds the
    same data)."""
    def images(name):
        return read_idx(os.path.join(data_dir, name)).to(torch.float32).div_(255.0).unsqueeze(1)

    def labels(name):
        return read_idx(os.path.join(data_dir, name)).to(torch.int64)

    return (images('train-images-idx3-ubyte.gz'), labels('train-labels-idx1-ubyte.gz'),
            images('t10k-images-idx3-ubyte.gz'), labels('t10k-labels-idx1-ubyte.gz'))


# ---------------------------------------------------------------- models

def create_model(name):
    """advlab's zoo models, NCHW.

    wong-cnn: advlab's ZeroPadding2D(1) + 'valid' 4×4/2 conv is exactly Conv2d(k=4, s=2, padding=1).
    cnn: TF 'same' with stride 2 on 28 and 14 pads 0 before / 1 after; padding=1 (what a PyTorch user
    writes) pads 1/1 and gives the same output shapes (28→14→7) and FLOPs, shifted by one pixel.
    The flatten order differs (NCHW vs NHWC), the flattened sizes are the same (1568 and 3136)."""
    if name == 'wong-cnn':
        model = nn.Sequential(
            nn.Conv2d(1, 16, 4, stride=2, padding=1), nn.ReLU(),
            nn.Conv2d(16, 32, 4, stride=2, padding=1), nn.ReLU(),
            nn.Flatten(),
            nn.Linear(32 * 7 * 7, 100), nn.ReLU(),
            nn.Linear(100, 10),
        )
    elif name == 'cnn':
        model = nn.Sequential(
            nn.Conv2d(1, 32, 3, stride=1, padding=1), nn.ReLU(),
            nn.Conv2d(32, 64, 3, stride=2, padding=1), nn.ReLU(),
            nn.Conv2d(64, 64, 3, stride=2, padding=1), nn.ReLU(),
            nn.Flatten(),
            nn.Linear(64 * 7 * 7, 128), nn.ReLU(),
            nn.Linear(128, 10),
        )
    else:
        raise ValueError(f'--models: expected one of {", ".join(MODELS)}, found {name!r}')
    # PyTorch's default initialisation, which is advlab's default too ('torch': U(±1/√fan_in) for kernels and biases).
    return model


# ---------------------------------------------------------------- algorithms

def input_grad(model, x, y):
    """∇ₓ of the summed cross-entropy (per example: that example's input gradient); no weight gradient."""
    x = x.detach().requires_grad_(True)
    loss = F.cross_entropy(model(x), y, reduction='sum')
    (g,) = torch.autograd.grad(loss, x)
    return g


def project(x_adv, x, eps):
    """Onto the L∞ ball B(x, ε) ∩ [0, 1]^d."""
    return torch.min(torch.max(x_adv, x - eps), x + eps).clamp_(0.0, 1.0)


def pgd(model, x, y, eps, alpha, steps, on_iterate=None):
    """PGD with a uniform random start in the ball (Madry et al.); `on_iterate(x_t)` sees the start and
    every iterate before its step (not the final one, which is returned)."""
    x_adv = (x + torch.empty_like(x).uniform_(-eps, eps)).clamp_(0.0, 1.0)
    for _ in range(steps):
        if on_iterate is not None:
            on_iterate(x_adv)
        g = input_grad(model, x_adv, y)
        x_adv = project(x_adv + alpha * g.sign(), x, eps)
    return x_adv.detach()


def fgsm(model, x, y, eps, alpha):
    """x + α·sign(∇ₓℓ(x)) from the clean point, projected."""
    return project(x + alpha * input_grad(model, x, y).sign(), x, eps).detach()


def train_on(model, opt, x_train, y):
    """One Adam step on the mean cross-entropy at x_train (the weight gradient at the given point)."""
    opt.zero_grad(set_to_none=True)
    loss = F.cross_entropy(model(x_train), y)
    loss.backward()
    opt.step()
    return loss.item()


def grad_align_penalty(model, x, y, eta):
    """1 − cos(∇ₓℓ(x), ∇ₓℓ(x+η)) averaged over the batch, differentiable w.r.t. θ (double backprop)."""
    def igrad(z):
        z = z.detach().requires_grad_(True)
        loss = F.cross_entropy(model(z), y, reduction='sum')
        (g,) = torch.autograd.grad(loss, z, create_graph=True)
        return g.reshape(z.shape[0], -1)

    g1 = igrad(x)
    g2 = igrad((x + eta).clamp(0.0, 1.0))
    dot = (g1 * g2).sum(1)
    norms = torch.sqrt((g1 * g1).sum(1) + 1e-20) * torch.sqrt((g2 * g2).sum(1) + 1e-20)
    return (1.0 - dot / norms).mean()


def step_standard(model, opt, x, y, eps):
    return train_on(model, opt, x, y)


def step_pgd7(model, opt, x, y, eps):
    return train_on(model, opt, pgd(model, x, y, eps, eps / 4, 7), y)


def step_fgsm(model, opt, x, y, eps):
    return train_on(model, opt, fgsm(model, x, y, eps, eps), y)


def step_gradalign(model, opt, x, y, eps):
    x_adv = fgsm(model, x, y, eps, eps)
    eta = torch.empty_like(x).uniform_(-eps, eps)
    opt.zero_grad(set_to_none=True)
    loss = F.cross_entropy(model(x_adv), y) + GRADALIGN_LAMBDA * grad_align_penalty(model, x, y, eta)
    loss.backward()
    opt.step()
    return loss.item()


TRAIN_STEPS = {
    'standard': step_standard,
    'pgd7-at': step_pgd7,
    'fgsm-at': step_fgsm,
    'gradalign': step_gradalign,
}


def pgd20_eval(model, xs, ys, eps, batch=256):
    """Clean and PGD-20 (α = ε/4, random start) accuracy of (xs, ys), batch 256; returns robust count."""
    robust = 0
    for s in range(0, xs.shape[0], batch):
        x, y = xs[s:s + batch], ys[s:s + batch]
        with torch.no_grad():
            clean_ok = model(x).argmax(1) == y
        x_adv = pgd(model, x, y, eps, eps / 4, 20)
        with torch.no_grad():
            adv_ok = model(x_adv).argmax(1) == y
        robust += int((clean_ok & adv_ok).sum().item())
    return robust


# ---------------------------------------------------------------- measurement

def rss_now_kb():
    with open('/proc/self/statm') as f:
        return int(f.read().split()[1]) * (os.sysconf('SC_PAGE_SIZE') // 1024)


def peak_rss_kb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux


def time_reps(fn, warmup, reps):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000.0)
    return times


class Bench:
    def __init__(self, seed, batch, eval_n, eps):
        self.seed, self.eps = seed, eps
        x_train, y_train, x_test, y_test = load_fashion_mnist()
        # the same images as the node side: the first `batch` training images, the first `eval_n` test images
        self.x, self.y = x_train[:batch].contiguous(), y_train[:batch].contiguous()
        self.x_eval, self.y_eval = x_test[:eval_n].contiguous(), y_test[:eval_n].contiguous()
        self._keep = (x_train, y_train, x_test, y_test)  # resident like advlab's Dataset
        self.rss_after_load_kb = rss_now_kb()

    def run(self, model_name, workload, warmup, reps):
        if workload not in WORKLOADS:
            raise ValueError(f'--workloads: expected one of {", ".join(WORKLOADS)}, found {workload!r}')
        torch.manual_seed(self.seed)
        model = create_model(model_name)
        if workload == 'pgd20-eval':
            model.eval()
            fn = lambda: pgd20_eval(model, self.x_eval, self.y_eval, self.eps)
        else:
            model.train()
            opt = torch.optim.Adam(model.parameters(), lr=LR)
            step = TRAIN_STEPS[workload]
            fn = lambda: step(model, opt, self.x, self.y, self.eps)
        times = time_reps(fn, warmup, reps)
        return {
            'model': model_name, 'workload': workload, 'times_ms': times,
            'median_ms': statistics.median(times), 'peak_rss_kb': peak_rss_kb(), 'rss_kb': rss_now_kb(),
        }


def torch_info(threads):
    cfg = torch.__config__.show()
    onednn = re.search(r'(?:MKL-DNN|oneDNN) v([\w.]+)', cfg)
    cap = re.search(r'CPU capability usage: (\w+)', cfg)
    return {
        'torch': torch.__version__,
        'python': sys.version.split()[0],
        'threads': torch.get_num_threads(),
        'requested_threads': threads,
        'onednn': onednn.group(1) if onednn else None,
        'mkldnn_enabled': bool(torch.backends.mkldnn.is_available() and torch.backends.mkldnn.enabled),
        'cpu_capability': cap.group(1) if cap else None,
    }


def peak_conv(batch, warmup, reps):
    """GFLOP/s of one large conv2d forward: [batch, 64, 56, 56] ⊛ 64@3×3, stride 1, pad 1 (oneDNN)."""
    torch.manual_seed(0)
    x = torch.rand(batch, 64, 56, 56)
    w = torch.randn(64, 64, 3, 3) * 0.05
    with torch.no_grad():
        times = time_reps(lambda: F.conv2d(x, w, padding=1), warmup, reps)
    flops = 2 * 3 * 3 * 64 * 64 * 56 * 56 * batch
    med = statistics.median(times)
    return {'shape': f'NCHW [{batch},64,56,56] * 64@3x3 s1 pad1, forward', 'flops': flops,
            'times_ms': times, 'median_ms': med, 'gflops': flops / (med / 1000.0) / 1e9}


def emit(obj):
    sys.stdout.write(PROTOCOL_PREFIX + json.dumps(obj) + '\n')
    sys.stdout.flush()


def serve(bench, info):
    emit({'ready': True, **info, 'rss_after_load_kb': bench.rss_after_load_kb, 'peak_rss_kb': peak_rss_kb()})
    while True:
        line = sys.stdin.readline()
        if not line:
            return
        line = line.strip()
        if not line:
            continue
        try:
            req = json.loads(line)
            if req.get('cmd') == 'quit':
                emit({'ok': True, 'bye': True, 'peak_rss_kb': peak_rss_kb(), 'rss_kb': rss_now_kb()})
                return
            if req.get('cmd') != 'run':
                raise ValueError(f'expected a request {{"cmd": "run"|"quit"}}, found {line!r}')
            emit({'ok': True, **bench.run(req['model'], req['workload'], int(req['warmup']), int(req['reps']))})
        except Exception as e:  # report, keep serving
            emit({'ok': False, 'error': f'{type(e).__name__}: {e}'})


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--threads', type=int, default=os.cpu_count())
    p.add_argument('--models', default=','.join(MODELS))
    p.add_argument('--workloads', default=','.join(WORKLOADS))
    p.add_argument('--warmup', type=int, default=2)
    p.add_argument('--reps', type=int, default=10)
    p.add_argument('--eval-reps', type=int, default=3)
    p.add_argument('--batch', type=int, default=128, help='training batch (peak mode: conv batch)')
    p.add_argument('--eval-n', type=int, default=1000)
    p.add_argument('--eps', type=float, default=EPS)
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--serve', action='store_true')
    p.add_argument('--peak', action='store_true')
    a = p.parse_args(argv)
    if a.threads < 1:
        p.error(f'--threads: expected an integer >= 1, found {a.threads}')
    default_threads = torch.get_num_threads()
    torch.set_num_threads(a.threads)
    info = {**torch_info(a.threads), 'default_threads': default_threads}

    if a.peak:
        emit({'ok': True, **info, 'peak': peak_conv(a.batch, a.warmup, a.reps), 'peak_rss_kb': peak_rss_kb()})
        return 0
    bench = Bench(a.seed, a.batch, a.eval_n, a.eps)
    if a.serve:
        serve(bench, info)
        return 0
    results = []
    for m in a.models.split(','):
        for w in a.workloads.split(','):
            reps = a.eval_reps if w == 'pgd20-eval' else a.reps
            results.append(bench.run(m, w, a.warmup, reps))
    print(json.dumps({**info, 'rss_after_load_kb': bench.rss_after_load_kb, 'workloads': results,
                      'peak_rss_kb': peak_rss_kb()}, indent=2))
    return 0


if __name__ == '__main__':
    sys.exit(main())
