import { classifierFromLayersModel, measureCurvature, option, toInputRange, trainableVariables, type CurvatureReport } from '@advlab/core';
import { checkOutput, datasetFolders, loadModel, writeFileAtomic } from '@advlab/node';
import { helpText, parseFlags } from '../flags.ts';
import { backendOption, dataOption, modelInputOptions, normOption, seedOption } from '../options.ts';
import { checkCompatible, datasetFor, modelFolder, selectBackend } from '../context.ts';

const USAGE = 'advlab curvature --model DIR [--n 1000] [--top 2] [--eps 0.1] [--json FILE] [options]';

const ABOUT = `Curvature of a model's loss on the first n test examples (unshuffled), in inference mode. Weight space:
the Hessian of the mean cross-entropy — its top eigenvalues by power iteration with deflation, its trace by
Hutchinson (100 Rademacher vectors, with its standard error), its eigenvalue density by stochastic Lanczos
quadrature (PyHessian's methods; power iteration with its defaults: at most 100 products, relative tolerance 1e-3). Input space, averaged over the examples: the
top eigenvalue of ∇ₓ²ℓ, the local linearity error max over the ε-ball of |ℓ(x+δ) − ℓ(x) − δᵀ∇ₓℓ(x)|
(Qin et al. 2019), ELLE's error on random triples in the ball and CURE's ‖∇ℓ(x + h·s/‖s‖) − ∇ℓ(x)‖.
Needs a tf.js LayersModel (its trainable weights); docs/curvature.md explains every number.`;

export const CURVATURE_OPTIONS = {
  model: option.string({ placeholder: 'DIR', expected: 'a model folder', help: 'a tf.js LayersModel folder or a run directory' }),
  ...modelInputOptions,
  n: option.integer({ min: 1, optional: true, help: 'the first N test examples (default: up to 1000)' }),
  top: option.integer({ min: 1, default: 2, help: 'top eigenvalues of the weight Hessian' }),
  maxIterations: option.integer({ min: 1, default: 100, help: 'power-iteration products per eigenvalue at most' }),
  tolerance: option.number({ min: 0, default: 1e-3, help: 'relative change of the eigenvalue estimate that stops power iteration' }),
  traceSamples: option.integer({ min: 2, default: 100, help: 'Rademacher vectors of the Hutchinson trace' }),
  densitySteps: option.integer({ min: 0, default: 100, help: 'Lanczos steps of the spectral density (0: none)' }),
  densityRuns: option.integer({ min: 1, default: 1, help: 'Lanczos runs of the spectral density' }),
  eps: option.number({ min: 0, default: 0.1, help: 'radius of the ball of the input measures, in the model input space' }),
  norm: normOption,
  inputIterations: option.integer({ min: 1, default: 20, help: 'power iterations of the input Hessian' }),
  linearitySteps: option.integer({ min: 1, default: 10, help: 'ascent steps of the linearity error' }),
  elleTriples: option.integer({ min: 1, default: 1, help: "random triples per example of ELLE's error" }),
  cureH: option.number({ above: 0, optional: true, help: "CURE's L2 step (default ε·√d under linf: the FGSM point; else ε)" }),
  json: option.string({ optional: true, placeholder: 'FILE', expected: 'a file path', help: 'also write the report as JSON' }),
  force: option.boolean({ help: 'replace an existing --json file' }),
  data: dataOption,
  batchSize: option.integer({ min: 1, default: 500, help: 'examples per double-backprop pass' }),
  seed: seedOption,
  backend: backendOption,
};

export const curvatureHelp = helpText(USAGE, ABOUT, CURVATURE_OPTIONS);

/** `advlab curvature` argv → the report (printed, and written as JSON with --json). */
export async function curvature(argv: string[]): Promise<CurvatureReport & { model: string; dataset: string; backend: string }> {
  const { values: v } = parseFlags(argv, CURVATURE_OPTIONS);
  const dir = modelFolder(v.model);
  if (v.json !== undefined)
    checkOutput({ path: v.json, kind: 'file', key: 'json', inputs: [dir, ...datasetFolders(v.data)], force: v.force });
  const backend = await selectBackend(v.backend);
  const { model, meta } = await loadModel(dir);
  try {
    const classifier = classifierFromLayersModel(model, {
      name: dir,
      bounds: v.bounds as [number, number] | undefined,
      mean: v.mean,
      std: v.std,
    });
    const data = datasetFor(v.data, meta, v.seed);
    checkCompatible(classifier, data);
    const n = v.n ?? Math.min(1000, data.test.n);
    const images = toInputRange(data.test, classifier.bounds);
    const report = measureCurvature({ ...classifier, logits: classifier.logits, variables: trainableVariables(model) }, images, {
      n,
      top: v.top,
      maxIterations: v.maxIterations,
      tolerance: v.tolerance,
      traceSamples: v.traceSamples,
      densitySteps: v.densitySteps,
      densityRuns: v.densityRuns,
      eps: v.eps,
      norm: v.norm,
      inputIterations: v.inputIterations,
      linearitySteps: v.linearitySteps,
      elleTriples: v.elleTriples,
      ...(v.cureH !== undefined ? { cureH: v.cureH } : {}),
      batchSize: v.batchSize,
      seed: v.seed,
      onStage: (stage) => process.stderr.write(`curvature: ${stage}\n`),
    });
    const full = { model: dir, dataset: data.name, backend, ...report };
    process.stdout.write(formatCurvature(full));
    if (v.json) {
      writeFileAtomic(v.json, `${JSON.stringify(full, null, 2)}\n`);
      process.stdout.write(`wrote ${v.json}\n`);
    }
    return full;
  } finally {
    model.dispose();
  }
}

const g = (x: number) => (Math.abs(x) >= 1e4 || (Math.abs(x) < 1e-3 && x !== 0) ? x.toExponential(3) : x.toPrecision(4));

/** The report as the terminal shows it. */
export function formatCurvature(r: CurvatureReport & { model: string; dataset: string }): string {
  const h = r.hessian;
  const lines = [
    `curvature of ${r.model} on the first ${r.n} ${r.dataset} test examples (mean cross-entropy ${g(r.loss)}, ${h.parameters} weights)`,
    `weight Hessian: top eigenvalues ${h.top_eigenvalues.map((e, i) => `${g(e)}${h.converged[i] ? '' : ' (not converged)'}`).join(', ')}` +
      ` (${h.iterations.join(' + ')} products)`,
    `                trace ${g(h.trace)} ± ${g(h.trace_standard_error)} (Hutchinson, ${h.trace_samples} samples)`,
  ];
  if (h.density) {
    const nodes = h.density.nodes.flat();
    lines.push(
      `                density: ${h.density.runs} Lanczos run(s) × ${h.density.steps} steps, Ritz values in [${g(Math.min(...nodes))}, ${g(Math.max(...nodes))}]`,
    );
  }
  const s = r.input.summaries;
  lines.push(`input space (${r.input.norm} ε=${r.input.eps}), mean / median / max over examples:`);
  for (const [label, k] of [
    ['top eigenvalue of ∇ₓ²ℓ', 'top_eigenvalue'],
    ['linearity error γ', 'linearity_error'],
    ['ELLE error', 'elle'],
    [`CURE (h=${g(r.input.cure_h)})`, 'cure'],
  ] as const) {
    lines.push(`  ${label.padEnd(24)} ${g(s[k].mean)} / ${g(s[k].median)} / ${g(s[k].max)}`);
  }
  lines.push(
    `seconds: ${Object.entries(r.seconds)
      .map(([k, t]) => `${k} ${t.toFixed(1)}`)
      .join(', ')}`,
  );
  return `${lines.join('\n')}\n`;
}
