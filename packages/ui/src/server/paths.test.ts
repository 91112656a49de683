import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, mkdirSync, mkdtempSync, readSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isInside, openInsideRoots, PathNotFoundError, PathRefusedError, resolveInsideRoots } from './paths.ts';

// A served root and, beside it (not inside), a secret no request may reach.
const base = realpathSync(mkdtempSync(join(tmpdir(), 'advlab-ui-paths-')));
const root = join(base, 'root');
const other = join(base, 'other-root');
const outside = join(base, 'outside');
mkdirSync(join(root, 'run', 'sub'), { recursive: true });
mkdirSync(join(root, '.git'), { recursive: true });
mkdirSync(other, { recursive: true });
mkdirSync(outside, { recursive: true });
writeFileSync(join(root, 'run', 'metrics.jsonl'), '{"epoch":1}\n');
writeFileSync(join(root, 'run', 'a b%41.txt'), 'spaced');
writeFileSync(join(root, '.git', 'config'), 'hidden');
writeFileSync(join(other, 'shared.json'), '{}');
writeFileSync(join(outside, 'secret.txt'), 'TOP-SECRET');
symlinkSync(join(outside, 'secret.txt'), join(root, 'run', 'leak.txt'));
symlinkSync(outside, join(root, 'run', 'leakdir'));
symlinkSync(join(other, 'shared.json'), join(root, 'run', 'to-other.json'));
symlinkSync(join(root, 'run', 'metrics.jsonl'), join(root, 'run', 'inner-link.jsonl'));
const roots = [root, other];
after(() => rmSync(base, { recursive: true, force: true }));

const refused = (path: string) =>
  assert.throws(
    () => resolveInsideRoots(roots, path),
    (e: unknown) => {
      assert.ok(e instanceof PathRefusedError, `${path}: ${String(e)}`);
      assert.equal(e.status, 403);
      assert.equal(e.code, 'E_CONFIG');
      assert.match(e.message, /^path: expected .+, found .+/);
      return true;
    },
  );
const notFound = (path: string) =>
  assert.throws(
    () => resolveInsideRoots(roots, path),
    (e: unknown) => {
      assert.ok(e instanceof PathNotFoundError, `${path}: ${String(e)}`);
      assert.equal(e.status, 404);
      assert.equal(e.code, 'E_DATA_MISSING');
      return true;
    },
  );

test('a plain path resolves to the real file inside its root, decoded once', () => {
  assert.equal(resolveInsideRoots(roots, '/files/0/run/metrics.jsonl'), join(root, 'run', 'metrics.jsonl'));
  assert.equal(resolveInsideRoots(roots, '/files/1/shared.json'), join(other, 'shared.json'));
  // %2541 decodes once to the literal name "a b%41.txt", not to "a bA.txt".
  assert.equal(resolveInsideRoots(roots, '/files/0/run/a%20b%2541.txt'), join(root, 'run', 'a b%41.txt'));
});

test('every spelling of .. is refused', () => {
  for (const p of [
    '/files/0/../outside/secret.txt',
    '/files/0/run/../../outside/secret.txt',
    '/files/0/%2e%2e/outside/secret.txt',
    '/files/0/%2E%2E%2foutside%2fsecret.txt',
    '/files/0/%2E%2E%2Foutside/secret.txt',
    '/files/0/.%2e/outside/secret.txt',
    '/files/0/%252e%252e/outside/secret.txt',
    '/files/0/%252e%252e%252foutside%252fsecret.txt',
    '/files/0/run/%252fetc',
    '/files/0/./run/metrics.jsonl',
  ]) {
    refused(p);
  }
});

test('backslashes, absolute paths, NUL bytes and hidden names are refused', () => {
  for (const p of [
    '/files/0/..\\outside\\secret.txt',
    '/files/0/run\\metrics.jsonl',
    '/files/0/%5c..%5coutside%5csecret.txt',
    '/files/0/%5C..%5Coutside/secret.txt',
    '/files/0//etc/passwd',
    '/files/0/%2fetc%2fpasswd',
    '/files/0/run/metrics.jsonl\0.png',
    '/files/0/run/metrics.jsonl%00.png',
    '/files/0/.git/config',
    '/files/0/%2egit/config',
    '/files/0/run/%E0%A4%A',
  ]) {
    refused(p);
  }
});

test('a symbolic link is followed only when its real path stays inside a served root', () => {
  refused('/files/0/run/leak.txt');
  refused('/files/0/run/leakdir/secret.txt');
  assert.equal(resolveInsideRoots(roots, '/files/0/run/to-other.json'), join(other, 'shared.json'));
  assert.equal(resolveInsideRoots(roots, '/files/0/run/inner-link.jsonl'), join(root, 'run', 'metrics.jsonl'));
  // The secret is refused from the link's own root too, when that root is the only one served.
  assert.throws(() => resolveInsideRoots([root], '/files/0/run/to-other.json'), PathRefusedError);
});

test('missing files, folders, unknown roots and other prefixes are not found', () => {
  notFound('/files/0/run/nope.json');
  notFound('/files/0/run');
  notFound('/files/0/run/sub');
  notFound('/files/0/');
  notFound('/files/0');
  notFound('/files/2/shared.json');
  notFound('/files/01/run/metrics.jsonl');
  notFound('/files/-1/run/metrics.jsonl');
  notFound('/files/x/run/metrics.jsonl');
  notFound('/etc/passwd');
});

test('openInsideRoots opens the checked file read-only', () => {
  const f = openInsideRoots(roots, '/files/0/run/metrics.jsonl');
  try {
    const buf = Buffer.alloc(f.size);
    readSync(f.fd, buf, 0, f.size, 0);
    assert.equal(buf.toString(), '{"epoch":1}\n');
    assert.equal(f.path, join(root, 'run', 'metrics.jsonl'));
  } finally {
    closeSync(f.fd);
  }
  assert.throws(() => openInsideRoots(roots, '/files/0/run/leak.txt'), PathRefusedError);
});

test('isInside compares whole path components', () => {
  assert.ok(isInside('/a/b', '/a/b'));
  assert.ok(isInside('/a/b/c', '/a/b'));
  assert.ok(isInside('/a/b/..c', '/a/b'));
  assert.ok(!isInside('/a/bc', '/a/b'));
  assert.ok(!isInside('/a', '/a/b'));
  assert.ok(isInside('/etc/passwd', '/'));
});
