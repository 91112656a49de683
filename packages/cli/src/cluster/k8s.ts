/**
 * The Kubernetes executor writes what `kubectl apply` needs and does not wait: one Indexed Job per wave
 * (`completionMode: Indexed`; pod I runs the wave's task I, from `$JOB_COMPLETION_INDEX`), with `backoffLimitPerIndex`
 * so a failed task is retried on its own, `podReplacementPolicy: Failed` so an index never runs twice at once, and the
 * container recipe the pods expect. The suite's folder must be on a volume every pod mounts at the same relative path;
 * once the Jobs complete, the same `advlab reproduce` / `advlab sweep` command finds every task finished and writes
 * the summary.
 */
import { mkdirSync } from 'node:fs';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { ConfigError } from '@advlab/core';
import { writeFileAtomic } from '@advlab/node';
import { stringify } from 'yaml';
import { type LoadedManifest, waves } from './manifest.ts';

export interface K8sOptions {
  /** The container image built from the recipe (Containerfile). */
  image: string;
  /** A PersistentVolumeClaim holding the folder the suite is started from, mounted at the same path in each pod. */
  claim: string;
  namespace?: string;
  /** Pods of one wave at once. */
  parallel: number;
  /** Retries per index (backoffLimitPerIndex). */
  retries: number;
  /** CPU and memory each pod requests (and is limited to). */
  cpus?: number;
  mem?: string;
  backend?: string;
}

/** Where the volume is mounted in the pods: the suite's commands use paths relative to it. */
export const K8S_WORKDIR = '/work';

/** A Job name Kubernetes accepts (a DNS label: lower case, digits and '-', at most 63 characters). */
export function jobName(m: LoadedManifest, wave: number): string {
  const base = `advlab-${relative(process.cwd(), resolve(m.root))}`
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/-+/g, '-');
  return `${base.slice(0, 55).replace(/-$/, '')}-w${wave}`;
}

/** The Indexed Job of wave `w` (an object in the shape of batch/v1 Job). */
export function indexedJob(m: LoadedManifest, w: number, size: number, o: K8sOptions): Record<string, unknown> {
  const name = jobName(m, w);
  const manifest = relative(process.cwd(), resolve(m.file));
  const resources = {
    ...(o.cpus !== undefined ? { cpu: String(o.cpus) } : {}),
    ...(o.mem !== undefined ? { memory: o.mem.replace(/([KMGT])$/, '$1i') } : {}),
  };
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: {
      name,
      ...(o.namespace ? { namespace: o.namespace } : {}),
      labels: { 'app.kubernetes.io/name': 'advlab', 'app.kubernetes.io/component': 'suite' },
    },
    spec: {
      completionMode: 'Indexed',
      completions: size,
      parallelism: Math.max(1, Math.min(o.parallel, size)),
      backoffLimitPerIndex: o.retries,
      podReplacementPolicy: 'Failed',
      template: {
        metadata: { labels: { 'app.kubernetes.io/name': 'advlab' } },
        spec: {
          restartPolicy: 'Never',
          containers: [
            {
              name: 'task',
              image: o.image,
              workingDir: K8S_WORKDIR,
              command: [
                'node',
                '/opt/advlab/packages/cli/bin/advlab.js',
                'task',
                manifest,
                '--wave',
                String(w),
                ...(o.backend !== undefined ? ['--backend', o.backend] : []),
              ],
              env: [{ name: 'ADVLAB_K8S_JOB', value: name }],
              ...(Object.keys(resources).length ? { resources: { requests: resources, limits: resources } } : {}),
              volumeMounts: [{ name: 'suite', mountPath: K8S_WORKDIR }],
            },
          ],
          volumes: [{ name: 'suite', persistentVolumeClaim: { claimName: o.claim } }],
        },
      },
    },
  };
}

/** The image the Jobs expect: advlab built from this repository, with the embedded Fashion-MNIST and oneDNN. */
export const CONTAINERFILE = `# advlab's worker image (written by --executor k8s). Build from a clone of the repository:
#   docker build -f Containerfile -t REGISTRY/advlab:TAG .   (or podman build)
FROM node:20-bookworm
RUN apt-get update \\
 && apt-get install -y --no-install-recommends dataset-fashion-mnist libdnnl-dev g++ make python3 \\
 && rm -rf /var/lib/apt/lists/*
WORKDIR /opt/advlab
COPY . .
RUN npm ci --no-audit --no-fund && npm run build:native && npm run build
WORKDIR ${K8S_WORKDIR}
`;

/**
 * Writes the Jobs (one per wave) and the container recipe into the suite's k8s/ folder; returns the Job files in apply
 * order. The suite must lie inside the current folder: the pods see only what the claim holds, mounted at /work.
 */
export function writeK8sJobs(m: LoadedManifest, o: K8sOptions): { files: string[]; recipe: string; names: string[] } {
  const inside = relative(process.cwd(), resolve(m.root));
  if (inside.startsWith('..') || isAbsolute(inside))
    throw new ConfigError(
      'out',
      `a folder inside the current one with --executor k8s (the pods mount the folder the claim holds at ${K8S_WORKDIR} and run from it)`,
      resolve(m.root),
    );
  const dir = join(m.root, 'k8s');
  mkdirSync(dir, { recursive: true });
  const files: string[] = [];
  const names: string[] = [];
  for (const [w, tasks] of waves(m.manifest.tasks).entries()) {
    const file = join(dir, `job-wave-${w}.yaml`);
    const job = indexedJob(m, w, tasks.length, o);
    writeFileAtomic(
      file,
      `# advlab: wave ${w} of ${m.file} (${tasks.length} task${tasks.length === 1 ? '' : 's'}: ${tasks.map((t) => t.name).join(', ')})\n${stringify(job, { aliasDuplicateObjects: false })}`,
    );
    files.push(file);
    names.push((job.metadata as { name: string }).name);
  }
  const recipe = join(dir, 'Containerfile');
  writeFileAtomic(recipe, CONTAINERFILE);
  return { files, recipe, names };
}
