// @advlab/core must run in a browser: nothing reachable from its entry point may import a Node built-in or
// a package other than tf.js and zod (both run in browsers). This walks the import graph of the sources (static, dynamic, re-exports).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, relative } from 'node:path';

const ALLOWED_PACKAGES = [
  'zod',
  '@tensorflow/tfjs-core',
  '@tensorflow/tfjs-layers',
  '@tensorflow/tfjs-backend-cpu',
  '@tensorflow/tfjs-backend-wasm',
];
const SPECIFIER = /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)(['"])([^'"]+)\1/g;

function importGraph(entry: string): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  const todo = [entry];
  while (todo.length > 0) {
    const file = todo.pop()!;
    if (graph.has(file)) continue;
    // Comments may quote import syntax; only code counts.
    const code = readFileSync(file, 'utf8')
      .replace(/\/\*[\s\S]*?\*\//g, '')
      .replace(/^\s*\/\/.*$/gm, '');
    const specs = [...code.matchAll(SPECIFIER)].map((m) => m[2]!);
    graph.set(file, specs);
    for (const s of specs) if (s.startsWith('.')) todo.push(join(dirname(file), s));
  }
  return graph;
}

test("no file in @advlab/core's import graph imports a Node built-in or a package other than tf.js and zod", () => {
  const src = import.meta.dirname;
  const graph = importGraph(join(src, 'index.ts'));
  assert.ok(graph.size > 40, `walked ${graph.size} files`);
  const bad: string[] = [];
  for (const [file, specs] of graph) {
    for (const s of specs) {
      if (s.startsWith('.')) continue;
      const builtin = s.startsWith('node:') || builtinModules.includes(s);
      if (builtin || !ALLOWED_PACKAGES.includes(s)) bad.push(`${relative(src, file)} imports '${s}'`);
    }
    assert.ok(!relative(src, file).startsWith('testing'), `${relative(src, file)}: test fixtures are not part of the library`);
  }
  assert.deepEqual(bad, []);
});
