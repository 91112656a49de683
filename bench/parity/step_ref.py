#!/usr/bin/python3
"""One training step of wong-cnn in PyTorch, written out so advlab can recompute it on the same numbers.

Builds wong-cnn with PyTorch's default init (seed 0), takes training examples 0..127 and a fixed
η ~ U(−ε, ε), and writes to OUT (JSON): the weights, η, and for the method's loss at the FGSM point
(no random start, α = ε): the loss, its parts and the gradient of every parameter.
bench/parity/step.mts loads this file and compares advlab's numbers with it.

With --train-steps N it also trains a float32 copy of the same initial model for N Adam (1e-3) steps on
consecutive unshuffled batches (examples 0..127, 128..255, ...; FGSM only, which has no randomness), recording every step's loss and, at the end, clean and BIM-10 (α = ε/4, no
random start: deterministic) accuracy on the first 1000 test images: the whole trajectory is then
deterministic given the weights and the data, so advlab can follow it step by step.

    /usr/bin/python3 bench/parity/step_ref.py --method gradalign --eps 0.2 --out /tmp/parity.json
"""
import argparse
import copy
import json
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'pytorch'))
import bench  # noqa: E402


def train(model, x_train, y_train, xs, ys, a):
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    losses = []
    n = x_train.shape[0]
    for t in range(a.train_steps):
        b = (t * a.batch) % (n - n % a.batch)
        x, y = x_train[b:b + a.batch], y_train[b:b + a.batch]
        losses.append(bench.train_on(model, opt, bench.fgsm(model, x, y, a.eps, a.eps), y))
    clean = bim = 0
    for s in range(0, xs.shape[0], 250):
        x, y = xs[s:s + 250], ys[s:s + 250]
        x_adv = x
        for _ in range(10):
            x_adv = bench.project(x_adv + a.eps / 4 * bench.input_grad(model, x_adv, y).sign(), x, a.eps)
        with torch.no_grad():
            ok = model(x).argmax(1) == y
            clean += int(ok.sum())
            bim += int((ok & (model(x_adv).argmax(1) == y)).sum())
    return {'losses': losses, 'clean_acc': clean / xs.shape[0], 'bim10_acc': bim / xs.shape[0]}


def main():
    p = argparse.ArgumentParser()
    p.add_argument('--method', choices=['fgsm', 'gradalign'], required=True)
    p.add_argument('--eps', type=float, default=0.2)
    p.add_argument('--lam', type=float, default=0.2)
    p.add_argument('--batch', type=int, default=128)
    p.add_argument('--train-steps', type=int, default=0)
    p.add_argument('--out', required=True)
    a = p.parse_args()
    if a.train_steps and a.method != 'fgsm':
        p.error('--train-steps: only with --method fgsm (the one method without randomness)')
    torch.manual_seed(0)
    torch.set_num_threads(1)
    x_train, y_train, x_test, y_test = bench.load_fashion_mnist()
    x, y = x_train[:a.batch], y_train[:a.batch]
    model = nn.Sequential(
        nn.Conv2d(1, 16, 4, stride=2, padding=1), nn.ReLU(),
        nn.Conv2d(16, 32, 4, stride=2, padding=1), nn.ReLU(),
        nn.Flatten(), nn.Linear(32 * 7 * 7, 100), nn.ReLU(), nn.Linear(100, 10))
    init32 = copy.deepcopy(model)
    model = model.double()
    eta = torch.empty_like(x).uniform_(-a.eps, a.eps)
    # Float64 on this side, so the comparison measures advlab's float32 error, not PyTorch's.
    x, eta = x.double(), eta.double()
    x_adv = bench.project(x + a.eps * bench.input_grad(model, x, y).sign(), x, a.eps).detach()
    ce = F.cross_entropy(model(x_adv), y)
    parts = {'ce_adv': ce}
    loss = ce
    if a.method == 'gradalign':
        penalty = bench.grad_align_penalty(model, x, y, eta)
        parts['penalty'] = penalty
        loss = ce + a.lam * penalty
    grads = torch.autograd.grad(loss, list(model.parameters()))
    names = ['conv1.w', 'conv1.b', 'conv2.w', 'conv2.b', 'fc1.w', 'fc1.b', 'fc2.w', 'fc2.b']
    out = {
        'method': a.method, 'eps': a.eps, 'lambda': a.lam, 'batch': a.batch,
        'params': {n: {'shape': list(t.shape), 'data': t.detach().flatten().tolist()} for n, t in zip(names, model.parameters())},
        'eta': eta.flatten().tolist(),
        'x_adv_sum': float(x_adv.sum()),
        'loss': float(loss), 'parts': {k: float(v) for k, v in parts.items()},
        'grads': {n: g.flatten().tolist() for n, g in zip(names, grads)},
    }
    if a.train_steps > 0:
        out['trajectory'] = train(init32, x_train, y_train, x_test[:1000], y_test[:1000], a)
    with open(a.out + '.tmp', 'w') as f:
        json.dump(out, f)
    os.replace(a.out + '.tmp', a.out)
    print(json.dumps({'loss': out['loss'], 'parts': out['parts'],
                      **({k: out['trajectory'][k] for k in ('clean_acc', 'bim10_acc')} if a.train_steps else {})}))


if __name__ == '__main__':
    main()
