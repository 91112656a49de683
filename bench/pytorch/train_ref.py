#!/usr/bin/python3
"""An end-to-end PyTorch training run of issue 4's algorithms, to compare advlab's training dynamics with.

The same model, data, algorithms and held-out metrics as `advlab train` (bench.py holds the model and the
algorithms): wong-cnn on the full Fashion-MNIST training set, Adam 1e-3, batch 128, shuffled every epoch;
every `--eval-every` batches, clean and PGD-10 (α = ε/4, random start) accuracy on the first 1000 test
images; after the last epoch PGD-20 on the same images. Prints one JSON line per measurement.

    /usr/bin/python3 bench/pytorch/train_ref.py --method pgd --eps 0.2 --epochs 2 --init torch
"""
import argparse
import json
import os
import sys
import time

import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench  # noqa: E402


def accuracy(model, xs, ys, eps, steps, batch=256):
    """(clean, PGD-`steps` final iterate, PGD-`steps` any iterate) accuracy in %, α = ε/4, random start.

    Robust = correct clean and at the FINAL iterate (what bench.py and the issue's reference count); the
    third figure counts an example broken if the start or ANY iterate fools the model, as advlab's PGD does.
    Both come from the same run of the attack.
    """
    model.eval()
    clean = robust = robust_any = 0
    for s in range(0, xs.shape[0], batch):
        x, y = xs[s:s + batch], ys[s:s + batch]
        with torch.no_grad():
            ok = model(x).argmax(1) == y
        survived = ok.clone()

        def still_right(x_t):
            with torch.no_grad():
                survived.logical_and_(model(x_t).argmax(1) == y)

        x_adv = bench.pgd(model, x, y, eps, eps / 4, steps, on_iterate=still_right)
        with torch.no_grad():
            adv_ok = model(x_adv).argmax(1) == y
        clean += int(ok.sum())
        robust += int((ok & adv_ok).sum())
        robust_any += int((survived & adv_ok).sum())
    model.train()
    return 100.0 * clean / xs.shape[0], 100.0 * robust / xs.shape[0], 100.0 * robust_any / xs.shape[0]


def main():
    p = argparse.ArgumentParser()
    p.add_argument('--method', choices=['standard', 'pgd', 'fgsm', 'fgsm-rs', 'gradalign'], required=True)
    p.add_argument('--eps', type=float, required=True)
    p.add_argument('--epochs', type=int, default=1)
    p.add_argument('--init', choices=['torch', 'he'], default='torch')
    p.add_argument('--lam', type=float, default=0.2)
    p.add_argument('--eval-every', type=int, default=117)
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--threads', type=int, default=os.cpu_count())
    p.add_argument('--n-eval', type=int, default=1000)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    x_train, y_train, x_test, y_test = bench.load_fashion_mnist()
    xs, ys = x_test[:a.n_eval].contiguous(), y_test[:a.n_eval].contiguous()
    if a.init == 'he':
        model = bench.create_model('wong-cnn')
    else:  # PyTorch's default init (what the reference used)
        model = nn.Sequential(
            nn.Conv2d(1, 16, 4, stride=2, padding=1), nn.ReLU(),
            nn.Conv2d(16, 32, 4, stride=2, padding=1), nn.ReLU(),
            nn.Flatten(), nn.Linear(32 * 7 * 7, 100), nn.ReLU(), nn.Linear(100, 10))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    eps = a.eps
    bench.GRADALIGN_LAMBDA = a.lam

    def adversarial(x, y):
        if a.method == 'standard':
            return x
        if a.method == 'pgd':
            return bench.pgd(model, x, y, eps, eps / 4, 7)
        if a.method == 'fgsm':
            return bench.fgsm(model, x, y, eps, eps)
        if a.method == 'fgsm-rs':
            start = (x + torch.empty_like(x).uniform_(-eps, eps)).clamp(0, 1)
            return bench.project(start + 1.25 * eps * bench.input_grad(model, start, y).sign(), x, eps).detach()
        raise AssertionError(a.method)

    n = x_train.shape[0]
    step = 0
    t0 = time.time()
    for epoch in range(1, a.epochs + 1):
        order = torch.randperm(n)
        for b in range(0, n, 128):
            idx = order[b:b + 128]
            x, y = x_train[idx], y_train[idx]
            if a.method == 'gradalign':
                loss = bench.step_gradalign(model, opt, x, y, eps)
            else:
                loss = bench.train_on(model, opt, adversarial(x, y), y)
            step += 1
            if step % a.eval_every == 0 or b + 128 >= n:
                clean, rob, rob_any = accuracy(model, xs, ys, eps, 10)
                print(json.dumps({'epoch': epoch, 'step': step, 'loss': round(loss, 4), 'clean_acc': clean,
                                  'pgd10_acc': rob, 'pgd10_any_acc': rob_any,
                                  'seconds': round(time.time() - t0, 1)}), flush=True)
    clean, rob, rob_any = accuracy(model, xs, ys, eps, 20)
    print(json.dumps({'final': True, 'clean_acc': clean, 'pgd20_acc': rob, 'pgd20_any_acc': rob_any}), flush=True)


if __name__ == '__main__':
    main()
