/**
 * Fake inputs for the report tests (unit and browser): a training run with a CO flag and a rollback, a
 * standard run, an eval folder with per-class numbers, sanity checks and a fooled.png drawn with the
 * core grid renderer, and an eval JSON file on its own; and generative inputs (makeGenerativeRuns): two VAE
 * runs, a generative evaluation with hand-written curves in a folder with generative.png, and one on its own.
 * Not exported from the package index.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { viz } from '@advlab/core';
import { adversarialGrid } from '@advlab/node';

export const XSS_NAME = '<script>alert(1)</script>';

const CLASSES = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress'];

function metricsLine(epoch: number, step: number, clean: number, fgsm: number, pgd: number, align: number, extra: object = {}) {
  return {
    epoch,
    step,
    loss: 1.2 / epoch,
    clean_acc: clean,
    fgsm_acc: fgsm,
    pgd_acc: pgd,
    grad_align: align,
    fgsm_pgd_cos: align * 0.9,
    eps: 0.1,
    lr: 0.001,
    method: 'fgsm',
    seconds: 12.5 * epoch,
    examples_per_s: 400,
    ...extra,
  };
}

/** A tiny real PNG: the adversarial grid of two 8×8 greyscale examples. */
export function tinyGridPng(): Buffer {
  const row = (seed: number): viz.GridRow => {
    const clean = new Float32Array(64).map((_, i) => ((i * 7 + seed * 13) % 17) / 16);
    const adversarial = clean.map((v, i) => Math.min(1, Math.max(0, v + (i % 2 ? 0.1 : -0.1))));
    return {
      clean,
      adversarial,
      height: 8,
      width: 8,
      channels: 1,
      trueLabel: CLASSES[seed]!,
      cleanPred: CLASSES[seed]!,
      cleanConf: 0.9,
      advPred: CLASSES[(seed + 1) % 4]!,
      advConf: 0.7,
    };
  };
  return adversarialGrid([row(0), row(1)], { title: 'PGD linf eps=0.1' });
}

export function evalReport(opts: { clean?: number; worst?: number[]; failCheck?: boolean } = {}) {
  const clean = opts.clean ?? 0.86;
  const worst = opts.worst ?? [0.41, 0.12];
  const pc = (base: number) => CLASSES.map((_, k) => Math.max(0, Math.min(1, base + (k - 1.5) * 0.06)));
  const summary = (per: number[]) => ({
    worst_class: 0,
    worst: Math.min(...per),
    best: Math.max(...per),
    spread: Math.max(...per) - Math.min(...per),
  });
  const attack = (name: string, eps: number, acc: number) => ({
    name,
    norm: 'linf',
    eps,
    robust_accuracy: acc,
    per_class: pc(acc),
    summary: summary(pc(acc)),
    cost: name === 'fgsm' ? 1 : 20,
    seconds: 1.5,
  });
  const wc = [0.1, 0.3].map((eps, i) => ({
    eps,
    robust_accuracy: worst[i]!,
    per_class: pc(worst[i]!),
    summary: summary(pc(worst[i]!)),
    attacks: ['fgsm', 'pgd', 'apgd-ce', 'apgd-t'],
  }));
  return {
    dataset: 'synthetic:tiny',
    model: 'wong-cnn',
    n: 200,
    norm: 'linf',
    eps: [0.1, 0.3],
    clean_accuracy: clean,
    clean_per_class: [...pc(clean).slice(0, 3), null],
    clean_summary: summary(pc(clean)),
    attacks: [
      attack('fgsm', 0.1, worst[0]! + 0.1),
      attack('pgd', 0.1, worst[0]! + 0.02),
      attack('fgsm', 0.3, worst[1]! + 0.1),
      attack('pgd', 0.3, worst[1]! + 0.03),
    ],
    worst_case: wc[0],
    worst_case_by_eps: wc,
    checks: [
      { code: 'monotone-eps', passed: true, skipped: false, detail: 'robust accuracy non-increasing in ε for every attack' },
      {
        code: 'pgd-le-fgsm',
        passed: !opts.failCheck,
        skipped: false,
        detail: opts.failCheck ? '3 examples survive PGD but fall to FGSM' : 'no example survives PGD but falls to FGSM',
      },
      { code: 'large-eps', passed: true, skipped: true, detail: 'skipped: no correctly classified example' },
    ],
    seed: 0,
    seconds: 9.8,
    class_names: CLASSES,
  };
}

/**
 * A curvature report shaped exactly as `advlab curvature --json` writes it (CurvatureReport + model, dataset,
 * backend), with a small spectral density: per run, `steps` Ritz values (a bulk near 0, two outliers at the top
 * eigenvalues) and weights summing to 1. `density: false` leaves it out as --density-steps 0 does.
 */
export function curvatureReport(opts: { model?: string; scale?: number; runs?: number; density?: boolean; converged?: boolean } = {}) {
  const k = opts.scale ?? 1;
  const steps = 20;
  const top = [31.17 * k, 21.25 * k];
  const run = (r: number) => {
    const nodes = Array.from({ length: steps }, (_, i) =>
      i < steps - 2 ? k * (-2.5 + (5 * i) / (steps - 3) + 0.01 * r) : top[steps - 1 - i]!,
    );
    nodes.sort((a, b) => a - b);
    const raw = nodes.map((x) => Math.exp(-((x / k) ** 2)) + 1e-3);
    const total = raw.reduce((a, b) => a + b, 0);
    return { nodes, weights: raw.map((w) => w / total) };
  };
  const runs = Array.from({ length: opts.runs ?? 1 }, (_, r) => run(r));
  const summary = (mean: number, median: number, max: number) => ({ mean, median, max });
  return {
    model: opts.model ?? 'out/reproduce-full/standard-e0.1/model',
    dataset: 'fashion-mnist',
    backend: 'onednn',
    n: 100,
    loss: 0.4667311096191406,
    hessian: {
      top_eigenvalues: top,
      iterations: [6, opts.converged === false ? 100 : 9],
      converged: [true, opts.converged !== false],
      trace: 134.76927114486693 * k,
      trace_standard_error: 6.029400095018511,
      trace_samples: 100,
      ...(opts.density === false
        ? {}
        : { density: { nodes: runs.map((r) => r.nodes), weights: runs.map((r) => r.weights), steps, runs: runs.length } }),
      parameters: 166406,
    },
    input: {
      eps: 0.1,
      norm: 'linf',
      top_eigenvalue: 13.082999569573422,
      linearity_error: 14.773870232398822,
      elle: 0.001460691063027718,
      cure: 12.31849446296692,
      cure_h: 2.8000000000000003,
      summaries: {
        top_eigenvalue: summary(13.082999569573422, 1.2386510968208313, 150.17347717285156),
        linearity_error: summary(14.773870232398822, 14.823540687561035, 43.78006362915039),
        elle: summary(0.001460691063027718, 1.4818479598943668e-6, 0.07464223355054855),
        cure: summary(12.31849446296692, 11.599835872650146, 25.32626724243164),
      },
    },
    seconds: {
      loss: 0.04029935999999998,
      top_eigenvalues: 1.5880609360000009,
      trace: 5.550748943,
      density: 17.945984970999998,
      input_top_eigenvalue: 0.37579535100000067,
      input_linearity_error: 0.3216818060000005,
      input_elle: 0.0222955120000006,
      input_cure: 0.021295742000002064,
    },
    seed: 0,
  };
}

export interface FakeRuns {
  /** Training run with a CO flag and a rollback event (named XSS_NAME when `xss`). */
  coRun: string;
  /** Standard training run with intra-epoch measurements (x axis: steps) and an eval.json. */
  stdRun: string;
  /** Folder with eval.json and fooled.png. */
  evalDir: string;
  /** An eval JSON file given directly. */
  evalFile: string;
  /** Folder with curvature.json only (its model named XSS_NAME when `xss`). */
  curvatureDir: string;
  /** A curvature JSON file given directly (2 Lanczos runs, a second eigenvalue that did not converge). */
  curvatureFile: string;
}

/** Writes the fake inputs under `root` and returns their paths. */
export function makeFakeRuns(root: string, opts: { xss?: boolean } = {}): FakeRuns {
  const coRun = join(root, opts.xss ? XSS_NAME.replace(/\//g, '∕') : 'fgsm-co');
  mkdirSync(coRun, { recursive: true });
  const config = {
    model: 'wong-cnn',
    data: 'synthetic:tiny',
    method: 'fgsm',
    eps: 0.1,
    epochs: 6,
    batchSize: 64,
    optimizer: 'adam',
    lr: 0.001,
    momentum: 0.9,
    weightDecay: 0,
    schedule: 'constant',
    epsRampEpochs: 0,
    seed: 7,
    heldOut: 200,
    evalEvery: 0,
    alignExamples: 64,
    pgdEvalSteps: 10,
    onCo: 'rollback',
    co: {},
    environment: {
      backend: { name: 'cpu', tfjs: '4.22.0' },
      node: 'v20.0.0',
      advlab: '0.1.0',
      date: '2026-01-01T00:00:00.000Z',
      note: '<b>not bold</b>',
    },
  };
  writeFileSync(join(coRun, 'config.json'), JSON.stringify(config, null, 2));
  const lines = [
    metricsLine(1, 10, 0.62, 0.35, 0.3, 0.62),
    metricsLine(2, 20, 0.71, 0.42, 0.37, 0.55),
    metricsLine(3, 30, 0.78, 0.47, 0.41, 0.48),
    metricsLine(4, 40, 0.83, 0.86, 0.04, 0.05, {
      co: true,
      co_rules: ['pgd-drop', 'fgsm-above-clean'],
      co_detail: 'PGD 4.0% < 0.5 × best 41.0%; FGSM above clean',
    }),
    { epoch: 4, step: 40, event: 'catastrophic overfitting: rolled back to epoch 3, continuing with fgsm α=0.0500' },
    metricsLine(4, 40, 0.79, 0.5, 0.43, 0.5),
    metricsLine(5, 50, 0.81, 0.52, 0.45, 0.52),
    metricsLine(6, 60, 0.82, 0.53, 0.46, 0.53),
  ];
  writeFileSync(join(coRun, 'metrics.jsonl'), lines.map((l) => `${JSON.stringify(l)}\n`).join(''));
  writeFileSync(
    join(coRun, 'summary.json'),
    JSON.stringify({
      ...config,
      dataset: 'synthetic:tiny',
      test_examples: 400,
      test_accuracy: 0.8,
      stopped_by_co: false,
      co_epochs: [4],
      seconds_per_epoch: [12.5, 12.5, 12.5, 12.5, 12.5, 12.5],
      final: lines.at(-1),
    }),
  );

  const stdRun = join(root, 'standard');
  mkdirSync(join(stdRun, 'model'), { recursive: true });
  writeFileSync(
    join(stdRun, 'config.json'),
    JSON.stringify({ ...config, method: 'standard', eps: 0.1, epochs: 2, evalEvery: 5, onCo: 'warn', environment: undefined }),
  );
  const std = [5, 10, 15, 20].map((step, i) => ({
    ...metricsLine(step <= 10 ? 1 : 2, step, 0.7 + 0.06 * i, 0.2 - 0.03 * i, 0.1 - 0.02 * i, 0.9),
    method: 'standard',
  }));
  writeFileSync(join(stdRun, 'metrics.jsonl'), std.map((l) => `${JSON.stringify(l)}\n`).join(''));
  writeFileSync(join(stdRun, 'eval.json'), JSON.stringify(evalReport({ clean: 0.9, worst: [0.05, 0.0], failCheck: true })));

  const evalDir = join(root, 'demo');
  mkdirSync(evalDir, { recursive: true });
  const demo = evalReport();
  // A run directory cannot hold '/' in its name: the exact string goes into the model and a class name.
  if (opts.xss) Object.assign(demo, { model: XSS_NAME, class_names: [XSS_NAME, ...CLASSES.slice(1)] });
  writeFileSync(join(evalDir, 'eval.json'), JSON.stringify(demo));
  writeFileSync(join(evalDir, 'fooled.png'), tinyGridPng());

  const evalFile = join(root, 'trades-eval.json');
  writeFileSync(evalFile, JSON.stringify(evalReport({ clean: 0.8, worst: [0.5, 0.2] })));

  // Not inputs of the fake report by default: the tests that want a Curvature section pass them.
  const curvatureDir = join(root, 'curvature-only');
  mkdirSync(curvatureDir, { recursive: true });
  writeFileSync(join(curvatureDir, 'curvature.json'), `${JSON.stringify(curvatureReport(opts.xss ? { model: XSS_NAME } : {}), null, 2)}\n`);
  const curvatureFile = join(root, 'wide-curvature.json');
  writeFileSync(curvatureFile, `${JSON.stringify(curvatureReport({ scale: 3, runs: 2, converged: false }), null, 2)}\n`);
  return { coRun, stdRun, evalDir, evalFile, curvatureDir, curvatureFile };
}

/** A hostile name for generative inputs: a folder may hold it (no '/'), and an HTML page must show it as text. */
export const IMG_XSS_NAME = '<img src=x onerror=alert(1)>';

/** A held-out line of a generative run, as `trainAutoencoder` writes it. */
function generativeLine(epoch: number, step: number, negElbo: number, extra: object = {}) {
  return {
    kind: 'generative',
    epoch,
    step,
    loss: negElbo + 2,
    neg_elbo: negElbo,
    kl: negElbo / 10,
    mse: negElbo / 4000,
    latent_shift: 3 - epoch,
    eps: 0.1,
    method: 'standard',
    seconds: 4 * epoch,
    ...extra,
  };
}

/**
 * A generative evaluation shaped as `advlab eval --generative --json` writes it, on two pairs with hand-written points:
 * - interpolation: both pairs on y = 1 − x (t = 0, 0.25, …, 1): AUDDC ½ each;
 * - latent: pair 0 envelope (0,1) (0.1,0.5) (0.3,0.2) … (1,0.2), area 0.285; pair 1 (0,1) (0.2,0.2) … (1,0.2), area 0.28
 *   (its NaN point, null in JSON, and its point past x = 1 are dropped);
 * - output: pair 0 (0,1) (0.5,0.1) (1,0.1), area 0.325; pair 1 never moves, area 1.
 */
export function generativeEvalReport(opts: { model?: string } = {}) {
  const line = [0, 0.25, 0.5, 0.75, 1].map((t) => ({ x: t, y: 1 - t }));
  const latent = [
    [
      { x: 0.1, y: 0.5 },
      { x: 0.3, y: 0.2 },
      { x: 0.6, y: 0.4 },
    ],
    [
      { x: 0.2, y: 0.2 },
      { x: null, y: null },
      { x: 1.5, y: 0 },
    ],
  ];
  const output = [[{ x: 0.5, y: 0.1 }], []];
  const summary = (perPair: number[], points: unknown[][]) => ({ auddc: (perPair[0]! + perPair[1]!) / 2, perPair, points });
  return {
    model: opts.model ?? 'out/gen-vae/model',
    dataset: 'synthetic:tiny',
    date: '2026-01-02T03:04:05.000Z',
    pairs: [
      { source: 0, target: 7 },
      { source: 3, target: 12 },
    ],
    auddc: { latent: 0.2825, output: 0.6625, interpolation: 0.5 },
    auddc_per_pair: { latent: [0.285, 0.28], output: [0.325, 1], interpolation: [0.5, 0.5] },
    success_rate: { latent: 0.5, output: 0, classifier: 1 },
    budget: 'linf ε=0.1',
    reconstruction: { neg_elbo: 101.234, kl: 12.5, mse: 0.0213, images: 100 },
    sweep: { cs: 3, from: '2^-20', to: '2^20', steps: 10, optimizer: 'adam', lr: 0.01 },
    curves: {
      latent: summary([0.285, 0.28], latent),
      output: summary([0.325, 1], output),
      interpolation: summary([0.5, 0.5], [line, line.map((p) => ({ ...p }))]),
    },
  };
}

/** The generative inputs `makeGenerativeRuns` writes. */
export interface FakeGenerativeRuns {
  /** A VAE run directory (`advlab train --model vae`): two held-out lines, a summary with the test reconstruction. */
  vaeRun: string;
  /** An adversarially trained VAE run (three held-out lines, one latent shift NaN, i.e. null). */
  advRun: string;
  /** Folder named IMG_XSS_NAME with eval-generative.json (its model named IMG_XSS_NAME), generative.png and the attack's result.json. */
  evalDir: string;
  /** A generative eval JSON given directly, no classifier (success_rate null). */
  evalFile: string;
}

/** Writes the fake generative inputs under `root` and returns their paths. */
export function makeGenerativeRuns(root: string): FakeGenerativeRuns {
  const run = (name: string, method: string, lines: object[], extra: Record<string, unknown> = {}) => {
    const dir = join(root, name);
    mkdirSync(dir, { recursive: true });
    const config = {
      model: 'vae',
      data: 'synthetic:tiny',
      method,
      eps: 0.1,
      epochs: 3,
      batchSize: 64,
      lr: 0.001,
      seed: 0,
      heldOut: 100,
      latentDim: 4,
      ...extra,
    };
    writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
    writeFileSync(join(dir, 'metrics.jsonl'), lines.map((l) => `${JSON.stringify(l)}\n`).join(''));
    const generative = { kind: 'vae', latentDim: 4, likelihood: 'bernoulli', sigma: 0.1 };
    const reconstruction = { neg_elbo: 120.5, kl: 9.25, mse: 0.031 };
    writeFileSync(
      join(dir, 'summary.json'),
      JSON.stringify({ ...config, generative, dataset: 'synthetic:tiny', test_examples: 100, reconstruction, final: lines.at(-1) }),
    );
    return dir;
  };
  const vaeRun = run('gen-vae', 'standard', [generativeLine(1, 10, 180), generativeLine(2, 20, 150)]);
  const advRun = run(
    'gen-vae-adv',
    'pgd',
    [
      generativeLine(1, 10, 190, { method: 'adversarial' }),
      generativeLine(2, 20, 170, { method: 'adversarial', latent_shift: null }),
      generativeLine(3, 30, 160, { method: 'adversarial' }),
    ],
    { spectralBound: 2 },
  );
  const evalDir = join(root, IMG_XSS_NAME);
  mkdirSync(evalDir, { recursive: true });
  writeFileSync(join(evalDir, 'eval-generative.json'), JSON.stringify(generativeEvalReport({ model: IMG_XSS_NAME })));
  writeFileSync(join(evalDir, 'generative.png'), tinyGridPng());
  writeFileSync(
    join(evalDir, 'result.json'),
    JSON.stringify({ attack: 'latent', norm: 'linf', eps: 0.1, target_index: 7, target_hits: 1, examples: [{ index: 0 }, { index: 1 }] }),
  );
  const evalFile = join(root, 'ae-eval.json');
  writeFileSync(evalFile, JSON.stringify({ ...generativeEvalReport({ model: 'out/gen-ae/model' }), success_rate: null }));
  return { vaeRun, advRun, evalDir, evalFile };
}

/** The charts of the page, each with its drawn mark items counted per mark type (vega's role-mark groups). */
export function charts(page: string): { kind: string; marks: Record<string, number>; svg: string }[] {
  return page
    .split('<figure class="chart"')
    .slice(1)
    .map((part) => {
      const svg = part.slice(0, part.indexOf('</figure>'));
      const marks: Record<string, number> = {};
      // A mark group holds leaf elements only (no nested group for these mark types): the lazy match is the whole group.
      for (const m of svg.matchAll(/<g class="mark-(\w+) role-mark[^"]*"[^>]*>(.*?)<\/g>/gs)) {
        marks[m[1]!] = (marks[m[1]!] ?? 0) + (m[2]!.match(/<(path|rect|line|circle|text)\b/g)?.length ?? 0);
      }
      return { kind: /data-chart="([^"]+)"/.exec(svg)![1]!, marks, svg };
    });
}
