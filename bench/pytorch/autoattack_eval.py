#!/usr/bin/python3
"""fra31/auto-attack's own code on an advlab model, for comparison with `advlab eval --suite autoattack`.

Loads an advlab wong-cnn (a tf.js LayersModel folder, or a run directory: DIR/model), converts its weights to
the PyTorch model of bench.py (NCHW), optionally checks the converted logits against advlab's, and runs
AutoAttack (Croce & Hein 2020) from a checkout of https://github.com/fra31/auto-attack given by --autoattack
(nothing of it lives in this repository) on the FIRST n Fashion-MNIST test images, unshuffled, pixels / 255:
the images `advlab eval --n N` evaluates.

    /usr/bin/python3 bench/pytorch/autoattack_eval.py --model RUN_OR_MODEL_DIR --autoattack /path/to/auto-attack \\
        --n 1000 --eps 0.1 --check-logits /tmp/advlab-logits.json

AutoAttack's verbose log goes to stderr; stdout gets one JSON object: clean accuracy, per attack (in order)
on how many examples it ran, how many it broke, the robust accuracy after it and its seconds, the final
robust accuracy, total seconds, versions and threads. The run is ONE call of AutoAttack's
run_standard_evaluation with version='standard' (exactly what its README does); the per-attack figures are
read from its log (exact integer counts: the "k out of m successfully perturbed" lines, timed as they are
logged), and the final robust accuracy is recomputed from the returned adversarial examples and labels.
See bench/README.md, "Comparing with AutoAttack".
"""
import argparse
import contextlib
import json
import os
import re
import subprocess
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench  # noqa: E402  (the same folder: read_idx, the wong-cnn builder, torch_info)
from advlab_port import Fail, check_logits, first_test_images, load_advlab_model, print_and_save, print_error  # noqa: E402  (loading the advlab model and data)


# ---------------------------------------------------------------- AutoAttack

def import_autoattack(path):
    root = os.path.abspath(path)
    if not os.path.isfile(os.path.join(root, 'autoattack', 'autoattack.py')):
        raise Fail(f'--autoattack {path}: expected a checkout of fra31/auto-attack (autoattack/autoattack.py inside)')
    sys.path.insert(0, root)
    import autoattack  # noqa: E402
    where = os.path.realpath(os.path.dirname(autoattack.__file__))
    if where != os.path.realpath(os.path.join(root, 'autoattack')):
        raise Fail(f'--autoattack {path}: `import autoattack` found {where} instead (an installed copy?)')
    return autoattack


def autoattack_commit(path, given):
    """(commit, dirty) of the checkout: `git rev-parse HEAD` when it is a git work tree, else --autoattack-commit, else 'unknown'."""
    try:
        rev = subprocess.run(['git', '-C', path, 'rev-parse', 'HEAD'], capture_output=True, text=True, timeout=10)
        top = subprocess.run(['git', '-C', path, 'rev-parse', '--show-toplevel'], capture_output=True, text=True, timeout=10)
        if rev.returncode == 0 and os.path.realpath(top.stdout.strip()) == os.path.realpath(path):
            st = subprocess.run(['git', '-C', path, 'status', '--porcelain', '--untracked-files=no'],
                                capture_output=True, text=True, timeout=10)
            commit = rev.stdout.strip()
            if given and given != commit:
                raise Fail(f'--autoattack-commit {given}: the checkout is at {commit}')
            return commit, bool(st.stdout.strip()) if st.returncode == 0 else None
    except (OSError, subprocess.SubprocessError):
        pass
    return (given or 'unknown'), None


BATCH_RE = re.compile(r'^(?P<attack>[\w-]+) - (?P<b>\d+)/(?P<nb>\d+) - (?:tensor\()?(?P<broke>\d+)\)? out of (?P<of>\d+) successfully perturbed')
AFTER_RE = re.compile(r'^robust accuracy after (?P<attack>[\w-]+): (?P<pct>[\d.]+)% \(total time (?P<t>[\d.]+) s\)')
INITIAL_RE = re.compile(r'^initial accuracy: (?P<pct>[\d.]+)%')


def per_attack(records, attacks, n, clean_correct, t_start):
    """Per attack, from AutoAttack's log lines (each stamped when logged): run_on, broke, robust after, seconds."""
    warnings = []
    t_initial = next((t for t, m in records if INITIAL_RE.match(m)), None)
    if t_initial is None:
        warnings.append('no "initial accuracy" line in the AutoAttack log; per-attack seconds include the checks')
        t_initial = t_start
    seen = {a: {'batches': [], 'after': None} for a in attacks}
    for t, m in records:
        mb = BATCH_RE.match(m)
        if mb and mb['attack'] in seen:
            seen[mb['attack']]['batches'].append((int(mb['broke']), int(mb['of'])))
        ma = AFTER_RE.match(m)
        if ma and ma['attack'].lower() in seen:
            seen[ma['attack'].lower()]['after'] = (t, float(ma['pct']), float(ma['t']))
    out, robust, t_prev = [], clean_correct, t_initial
    for a in attacks:
        s = seen[a]
        if s['after'] is None:
            if s['batches'] or robust is None or robust > 0:
                warnings.append(f'{a}: no "robust accuracy after" line in the AutoAttack log (format changed?)')
                out.append({'attack': a, 'run_on': None, 'broke': None, 'robust': None, 'robust_accuracy': None, 'seconds': None})
                robust = None  # the counts after it are unknown
            else:  # AutoAttack stops once nothing is left to attack
                out.append({'attack': a, 'run_on': 0, 'broke': 0, 'robust': 0, 'robust_accuracy': 0.0, 'seconds': 0.0,
                            'skipped': 'no robust example left'})
            continue
        t, pct, aa_total = s['after']
        run_on = sum(of for _, of in s['batches'])
        broke = sum(b for b, _ in s['batches'])
        logged = pct / 100.0
        if robust is not None:
            if run_on != robust:
                warnings.append(f'{a}: ran on {run_on} examples by the log, {robust} expected')
            robust -= broke
            if abs(robust / n - logged) > 0.5e-4 + 1e-12:
                warnings.append(f'{a}: {robust}/{n} robust from the per-batch lines, AutoAttack logs {pct}%')
        out.append({'attack': a, 'run_on': run_on, 'broke': broke, 'robust': robust,
                    'robust_accuracy': None if robust is None else robust / n,
                    'logged_robust_accuracy': logged, 'seconds': t - t_prev, 'logged_total_seconds': aa_total})
        t_prev = t
    return out, t_initial - t_start, warnings


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('--model', required=True, help='advlab model folder (model.json + weights.bin) or run directory')
    p.add_argument('--autoattack', required=True, help='path of a checkout of fra31/auto-attack (the folder holding autoattack/)')
    p.add_argument('--autoattack-commit', default=None,
                   help='its commit, when the checkout is not a git work tree (e.g. extracted with git archive)')
    p.add_argument('--n', type=int, default=1000, help='the first N Fashion-MNIST test images (advlab eval --n)')
    p.add_argument('--eps', type=float, default=0.1)
    p.add_argument('--norm', choices=['Linf', 'L2', 'L1'], default='Linf')
    p.add_argument('--version', choices=['standard', 'plus'], default='standard')
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--threads', type=int, default=2, help='torch.set_num_threads')
    p.add_argument('--bs', type=int, default=250, help="run_standard_evaluation's batch size")
    p.add_argument('--data', default=bench.DATA_DIR, help='Fashion-MNIST IDX folder')
    p.add_argument('--check-logits', default=None, metavar='FILE',
                   help="advlab's logits on the first images (JSON, see bench/README.md); exit 1 if they differ by more than --logits-tol")
    p.add_argument('--logits-tol', type=float, default=1e-4)
    p.add_argument('--square-queries', type=int, default=None,
                   help='SMOKE TESTS ONLY: Square query budget instead of 5000 (the JSON then says this is not the standard version)')
    p.add_argument('--out', default=None, help='also write the JSON to this file')
    a = p.parse_args(argv)
    if a.threads < 1 or a.n < 1 or a.bs < 1:
        p.error('--threads, --n and --bs: expected integers >= 1')

    t_script = time.perf_counter()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    result = {'what': "fra31/auto-attack's run_standard_evaluation on an advlab model"}
    if a.square_queries is not None:
        result['note'] = (f'NOT the {a.version} version: Square limited to {a.square_queries} queries (standard: 5000); '
                          'for smoke tests only')
    try:
        aa = import_autoattack(a.autoattack)
        commit, dirty = autoattack_commit(os.path.abspath(a.autoattack), a.autoattack_commit)
        model, json_file, sha, meta = load_advlab_model(a.model)
        x, y = first_test_images(a.data, a.n)
        info = bench.torch_info(a.threads)
        result.update({
            'autoattack_path': os.path.abspath(a.autoattack), 'autoattack_commit': commit, 'autoattack_dirty': dirty,
            'model': os.path.abspath(json_file), 'weights_sha256': sha, 'architecture': 'wong-cnn',
            'trained_with': (meta or {}).get('trainedWith'),
            'data': {'dataset': 'fashion-mnist', 'dir': a.data, 'split': 'test', 'first_n': a.n, 'scale': 'pixels / 255'},
            'norm': a.norm, 'eps': a.eps, 'version': a.version, 'seed': a.seed, 'bs': a.bs,
            'torch': info['torch'], 'python': info['python'], 'threads': info['threads'], 'onednn': info['onednn'],
            'standard_budget': a.square_queries is None,
        })
        if a.check_logits:
            lc = check_logits(model, a.check_logits, x, y, a.logits_tol)
            result['logits_check'] = lc
            print(f'logits check: max |Δ| = {lc["max_abs_diff"]:.3g} on {lc["images"]} images (tol {a.logits_tol})',
                  file=sys.stderr)
            if not lc['ok']:
                raise Fail(f'--check-logits: the converted model differs from advlab\'s ({json.dumps(lc)})')
        else:
            result['logits_check'] = None

        with contextlib.redirect_stdout(sys.stderr):  # AutoAttack prints its log: stderr, so stdout holds the JSON alone
            adversary = aa.AutoAttack(model, norm=a.norm, eps=a.eps, version=a.version, seed=a.seed, device='cpu',
                                      verbose=True)
        if a.square_queries is not None:
            adversary.square.n_queries = a.square_queries
            result['budget_changes'] = {'square.n_queries': a.square_queries}
        attacks = list(adversary.attacks_to_run)
        records = []
        log = adversary.logger.log  # one Logger instance, shared with the APGD attacks

        def stamped(msg):
            records.append((time.perf_counter(), str(msg)))
            log(msg)

        adversary.logger.log = stamped
        t0 = time.perf_counter()
        with contextlib.redirect_stdout(sys.stderr):
            x_adv, y_adv = adversary.run_standard_evaluation(x, y, bs=a.bs, return_labels=True)
        total = time.perf_counter() - t0

        with torch.no_grad():
            clean_ok = torch.cat([model(x[i:i + a.bs]).argmax(1) for i in range(0, a.n, a.bs)]) == y
            adv_ok = torch.cat([model(x_adv[i:i + a.bs]).argmax(1) for i in range(0, a.n, a.bs)]) == y
        delta = (x_adv - x).reshape(a.n, -1)
        size = {'Linf': lambda d: d.abs().amax(1), 'L2': lambda d: d.norm(dim=1), 'L1': lambda d: d.abs().sum(1)}[a.norm](delta)
        clean_correct = int(clean_ok.sum())
        steps, setup_s, warnings = per_attack(records, attacks, a.n, clean_correct, t0)
        robust = int((y_adv == y).sum())
        robust_recomputed = int((clean_ok & adv_ok).sum())
        if robust != robust_recomputed:
            warnings.append(f'robust from the returned labels {robust}, from re-predicting x_adv {robust_recomputed}')
        if steps and steps[-1]['robust'] is not None and steps[-1]['robust'] != robust:
            warnings.append(f'robust after the last attack by the log {steps[-1]["robust"]}, from the returned labels {robust}')
        result.update({
            'attacks_to_run': attacks,
            'clean_correct': clean_correct, 'clean_accuracy': clean_correct / a.n,
            'attacks': steps,
            'robust': robust, 'robust_accuracy': robust / a.n, 'robust_accuracy_recomputed': robust_recomputed / a.n,
            'max_perturbation': float(size.max()), 'x_adv_in_box': bool(x_adv.min() >= 0 and x_adv.max() <= 1),
            'seconds': {'total': total, 'checks_and_clean': setup_s,
                        'attacks': sum(s['seconds'] or 0.0 for s in steps), 'script': time.perf_counter() - t_script},
            'warnings': warnings,
        })
    except Fail as e:
        return print_error(result, e)
    print_and_save(result, a.out)
    return 0


if __name__ == '__main__':
    sys.exit(main())
