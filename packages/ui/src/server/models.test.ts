import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultPair, findModels } from './models.ts';

const base = realpathSync(mkdtempSync(join(tmpdir(), 'advlab-ui-models-')));
const root = join(base, 'root');
after(() => rmSync(base, { recursive: true, force: true }));

function model(rel: string, json: unknown, at = root): string {
  const dir = join(at, rel);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'model.json'), typeof json === 'string' ? json : JSON.stringify(json));
  return dir;
}
const layers = (method?: string, eps?: number, extra: object = {}) => ({
  format: 'layers-model',
  modelTopology: { class_name: 'Sequential' },
  ...(method ? { advlab: { classNames: ['a', 'b'], inputShape: [28, 28, 1], trainedWith: { method, eps }, ...extra } } : {}),
});

test('LayersModel folders are listed with their metadata; checkpoints, graph models, broken files and links out are not', () => {
  model('demo/run/model', layers('standard', 0.1));
  model('demo/run/best', layers('standard', 0.1));
  model('demo/run/checkpoints/epoch-2', layers('standard', 0.1));
  model('reproduce/pgd-7/model', layers('pgd', 0.1, { classNames: ['<img src=x onerror=alert(1)>', 7], inputShape: [28, -1, 1] }));
  model('keras-export', layers());
  model('graph', { format: 'graph-model', modelTopology: {} });
  model('half-written', '{"format": "layers-model", "modelTop');
  model('no-topology', { format: 'layers-model' });
  const outside = model('outside-model', layers('pgd', 0.3), base);
  symlinkSync(outside, join(root, 'linked-folder'));
  mkdirSync(join(root, 'linked-file'));
  symlinkSync(join(outside, 'model.json'), join(root, 'linked-file', 'model.json'));

  const models = findModels([root]);
  assert.deepEqual(
    models.map((m) => [m.path, m.name, m.method, m.eps]),
    [
      ['demo/run/best', 'run (best)', 'standard', 0.1],
      ['demo/run/model', 'run', 'standard', 0.1],
      ['keras-export', 'keras-export', null, null],
      ['reproduce/pgd-7/model', 'pgd-7', 'pgd', 0.1],
    ],
  );
  const pgd = models.find((m) => m.method === 'pgd')!;
  assert.equal(pgd.url, '/files/0/reproduce/pgd-7/model/model.json');
  assert.match(pgd.id, /^0\.[A-Za-z0-9_-]+$/);
  assert.equal(pgd.meta?.classNames, undefined, 'class names that are not all strings are dropped');
  assert.equal(pgd.meta?.inputShape, undefined, 'an input shape with a non-positive size is dropped');
  assert.deepEqual(models.find((m) => m.path === 'demo/run/model')!.meta?.inputShape, [28, 28, 1]);

  assert.deepEqual(defaultPair(models), { standard: models[1]!.id, robust: pgd.id }, 'the run’s model/, not best/, by default');
  assert.deepEqual(defaultPair(models.filter((m) => m.method !== 'pgd')), { standard: models[1]!.id, robust: null });
});

test('the default robust model is the PGD one trained at the playground’s ε, else the nearest above, else the largest below', () => {
  const at = (path: string, method: string, eps: number | null) =>
    ({ id: path, root: 0, path, name: path, url: '', meta: null, method, eps }) as Parameters<typeof defaultPair>[0][number];
  const pick = (...ms: ReturnType<typeof at>[]) => defaultPair(ms).robust;
  assert.equal(pick(at('p05', 'pgd', 0.05), at('p10', 'pgd', 0.1), at('p10m', 'pgd', 0.1), at('p20', 'pgd', 0.2)), 'p10');
  assert.equal(pick(at('p05', 'pgd', 0.05), at('p30', 'pgd', 0.3), at('p15', 'pgd', 0.15)), 'p15');
  assert.equal(pick(at('p02', 'pgd', 0.02), at('p05', 'pgd', 0.05)), 'p05');
  assert.equal(pick(at('f10', 'fgsm', 0.1), at('p05', 'pgd', 0.05)), 'p05', 'PGD first, whatever its ε');
  assert.equal(pick(at('t', 'trades', 0.1), at('s', 'standard', null)), 't');
});
