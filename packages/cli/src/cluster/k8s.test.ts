// The Indexed Jobs --executor k8s writes, checked against the Kubernetes batch/v1 Job schema (kubernetes-models:
// the API's OpenAPI definitions compiled to validators; it checks types, enums and required fields and, like an API
// server without strict field validation, lets unknown fields through, so the fields that matter are asserted too).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Job } from 'kubernetes-models/batch/v1/Job';
import { parse } from 'yaml';
import { reproduceTasks } from '../reproduce/run.ts';
import { selectProfile } from '../reproduce/suite.ts';
import { ConfigError } from '@advlab/core';
import { jobName, writeK8sJobs } from './k8s.ts';
import { waves, writeManifest } from './manifest.ts';

// The suite must lie inside the folder the command runs from (what the claim holds): run from the temp folder.
const base = mkdtempSync(join(tmpdir(), 'advlab-k8s-'));
process.chdir(base);
const root = join(base, 'suite');
const m = writeManifest(join(root, 'manifest.json'), {
  format: 'advlab-manifest',
  version: 1,
  suite: { kind: 'reproduce', profile: {} },
  tasks: reproduceTasks(selectProfile('smoke', ['tradeoff', 'generative'])),
});

test('one Indexed Job per wave, valid against the batch/v1 Job schema, each pod running its wave’s task', () => {
  const { files, recipe, names } = writeK8sJobs(m, {
    image: 'registry.example/advlab:1',
    claim: 'runs',
    parallel: 2,
    retries: 3,
    cpus: 2,
    mem: '8G',
    backend: 'onednn',
  });
  const w = waves(m.manifest.tasks);
  assert.equal(files.length, w.length);
  assert.equal(w.length, 2); // the classifiers, then the generative models judged by one of them
  for (const [i, file] of files.entries()) {
    const job = parse(readFileSync(file, 'utf8'));
    new Job(job).validate(); // throws on a schema violation
    assert.equal(job.metadata.name, names[i]);
    assert.match(job.metadata.name, /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
    assert.ok(job.metadata.name.length <= 63);
    const spec = job.spec;
    assert.equal(spec.completionMode, 'Indexed');
    assert.equal(spec.completions, w[i]!.length);
    assert.equal(spec.parallelism, Math.min(2, w[i]!.length));
    assert.equal(spec.backoffLimitPerIndex, 3);
    assert.equal(spec.podReplacementPolicy, 'Failed');
    const pod = spec.template.spec;
    assert.equal(pod.restartPolicy, 'Never'); // backoffLimitPerIndex requires it
    const c = pod.containers[0];
    assert.equal(c.image, 'registry.example/advlab:1');
    assert.deepEqual(c.command.slice(3), ['suite/manifest.json', '--wave', String(i), '--backend', 'onednn']);
    assert.deepEqual(c.resources.requests, { cpu: '2', memory: '8Gi' });
    assert.deepEqual(c.resources.limits, c.resources.requests);
    assert.doesNotMatch(readFileSync(file, 'utf8'), /[&*]a\d/, 'plain YAML, no anchors');
    assert.deepEqual(c.env, [{ name: 'ADVLAB_K8S_JOB', value: names[i] }]);
    assert.equal(pod.volumes[0].persistentVolumeClaim.claimName, 'runs');
    assert.equal(c.volumeMounts[0].mountPath, c.workingDir);
  }
  const containerfile = readFileSync(recipe, 'utf8');
  assert.match(containerfile, /^FROM node:20/m);
  assert.match(containerfile, /dataset-fashion-mnist/);
  assert.match(containerfile, /npm run build/);
});

test('the schema check is real: a Job with a wrong completion mode or a string count is rejected', () => {
  const { files } = writeK8sJobs(m, { image: 'i', claim: 'c', parallel: 1, retries: 0 });
  const job = parse(readFileSync(files[0]!, 'utf8'));
  assert.throws(() => new Job({ ...job, spec: { ...job.spec, completionMode: 'Sometimes' } }).validate());
  assert.throws(() => new Job({ ...job, spec: { ...job.spec, completions: 'three' } }).validate());
  assert.throws(() => new Job({ ...job, spec: { ...job.spec, template: { spec: { containers: [{ image: 'x' }] } } } }).validate()); // a container needs a name
});

test('Job names are DNS labels whatever the folder is called', () => {
  const odd = writeManifest(join(base, 'Out Dir_ÄÖ', 'x'.repeat(80), 'manifest.json'), { ...m.manifest });
  const name = jobName(odd, 1);
  assert.match(name, /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
  assert.ok(name.length <= 63 && name.endsWith('-w1'), name);
});

test('a suite outside the current folder is refused: the pods would not see it', () => {
  const outside = writeManifest(join(mkdtempSync(join(tmpdir(), 'advlab-k8s-elsewhere-')), 'manifest.json'), { ...m.manifest });
  assert.throws(
    () => writeK8sJobs(outside, { image: 'i', claim: 'c', parallel: 1, retries: 0 }),
    (e: unknown) => e instanceof ConfigError && e.option === 'out' && /inside the current one/.test(e.message),
  );
});
