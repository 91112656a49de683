import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { appendFileSync, mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { get, type IncomingMessage } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '@advlab/core';
import { makeFakeRuns } from '../../../report/src/fixtures.ts';
import { APP_CSP, CSP, createUiServer, MAX_URL_LENGTH, type UiServer } from './server.ts';
import { runId } from './runs.ts';

const XSS = '<img src=x onerror=alert(1)>';
const base = realpathSync(mkdtempSync(join(tmpdir(), 'advlab-ui-server-')));
const root = join(base, 'root');
const outside = join(base, 'outside'); // a sibling of the root: nothing in it may ever be served
const SECRET = `TOP-SECRET-${randomBytes(8).toString('hex')}`;
const line = (epoch: number, extra: object = {}) =>
  `${JSON.stringify({ epoch, step: epoch * 10, clean_acc: 0.5, fgsm_acc: 0.3, pgd_acc: 0.2, method: 'pgd', ...extra })}\n`;

makeFakeRuns(root, { xss: true });
mkdirSync(outside, { recursive: true });
writeFileSync(join(outside, 'secret.txt'), SECRET);
writeFileSync(join(base, 'secret.txt'), SECRET);
const xssRun = join(root, XSS);
mkdirSync(xssRun);
writeFileSync(join(xssRun, 'config.json'), JSON.stringify({ method: 'pgd', note: '<script>alert(2)</script>', [XSS]: 'key' }));
writeFileSync(join(xssRun, 'metrics.jsonl'), line(1));
const damaged = join(root, 'damaged');
mkdirSync(damaged);
writeFileSync(join(damaged, 'config.json'), '{"method": "fgsm"}');
writeFileSync(
  join(damaged, 'metrics.jsonl'),
  `${line(1)}garbage\n{"epoch": 2, "step": 20, "clean_acc": NaN}\n${line(3, { co: true })}{"epoch": 4, "st`,
);
symlinkSync(join(outside, 'secret.txt'), join(root, 'damaged', 'leak.txt'));
symlinkSync(outside, join(root, 'damaged', 'leakdir'));
// A stand-in for the built web app (the real one is tested in the browser tests).
const appDir = join(base, 'app');
const APP_MARKER = 'advlab-ui-test-app';
mkdirSync(join(appDir, 'assets'), { recursive: true });
writeFileSync(
  join(appDir, 'index.html'),
  `<!doctype html><title>${APP_MARKER}</title><script type="module" src="/assets/app.js"></script>`,
);
writeFileSync(join(appDir, 'assets', 'app.js'), 'export const app = 1;\n');
writeFileSync(join(appDir, 'assets', 'app.js.map'), '{}');
// A model folder in a run and one in its checkpoints (not listed).
const modelMeta = (method: string) => ({ classNames: ['a', 'b'], inputShape: [2, 2, 1], trainedWith: { method, eps: 0.1 } });
for (const [dir, method] of [
  ['standard/model', 'standard'],
  ['standard/checkpoints/epoch-1', 'standard'],
] as const) {
  mkdirSync(join(root, dir), { recursive: true });
  writeFileSync(join(root, dir, 'model.json'), JSON.stringify({ modelTopology: { class_name: 'Sequential' }, advlab: modelMeta(method) }));
}

let ui: UiServer;
let port: number;
before(async () => {
  ui = await createUiServer({ roots: [root], port: 0, rescanMs: 200, appDir });
  port = (ui.server.address() as AddressInfo).port;
});
after(async () => {
  await ui.close();
  rmSync(base, { recursive: true, force: true });
});

/** Asserts the headers every response must carry. */
function assertSecurityHeaders(headers: Record<string, string | string[] | undefined>, what: string): void {
  const csp = String(headers['content-security-policy']);
  for (const d of ["default-src 'self'", "script-src 'self'", "object-src 'none'", "base-uri 'none'", "frame-ancestors 'none'"]) {
    assert.ok(csp.includes(d), `${what}: CSP ${csp} has ${d}`);
  }
  assert.equal(headers['x-content-type-options'], 'nosniff', what);
  assert.equal(headers['referrer-policy'], 'no-referrer', what);
}

interface Reply {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** Sends `head` as written (no URL normalisation, unlike fetch) and returns the parsed reply. */
function raw(head: string, body = '', to = port): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const socket = connect(to, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.on('data', (c) => chunks.push(c));
    socket.on('error', reject);
    socket.on('close', () => {
      const text = Buffer.concat(chunks).toString('latin1');
      const end = text.indexOf('\r\n\r\n');
      const [status = '', ...lines] = text.slice(0, end).split('\r\n');
      const headers: Record<string, string> = {};
      for (const l of lines) headers[l.slice(0, l.indexOf(':')).toLowerCase()] = l.slice(l.indexOf(':') + 1).trim();
      const reply = { status: Number(status.split(' ')[1]), headers, body: text.slice(end + 4) };
      assertSecurityHeaders(headers, head.split('\r\n')[0]!);
      resolve(reply);
    });
    // No half-close: Node's server aborts a request whose client ended its side, as a browser never does.
    socket.write(`${head}\r\n\r\n${body}`);
  });
}

const rawGet = (path: string, headers: string[] = []) =>
  raw([`GET ${path} HTTP/1.1`, 'Host: 127.0.0.1', 'Connection: close', ...headers].join('\r\n'));

/** fetch, with the security headers checked on every response. */
async function fetchChecked(path: string, init: RequestInit = {}, to = port): Promise<Response> {
  const res = await fetch(`http://127.0.0.1:${to}${path}`, { redirect: 'manual', ...init });
  assertSecurityHeaders(Object.fromEntries(res.headers), `${init.method ?? 'GET'} ${path}`);
  return res;
}

test('binds 127.0.0.1 by default and prints that URL', () => {
  assert.equal((ui.server.address() as AddressInfo).address, '127.0.0.1');
  assert.equal(ui.url, `http://127.0.0.1:${port}/`);
});

test('a file inside the root is served read-only, sandboxed', async () => {
  const r = await rawGet('/files/0/damaged/config.json');
  assert.equal(r.status, 200);
  assert.equal(r.body, '{"method": "fgsm"}');
  assert.equal(r.headers['content-type'], 'application/json; charset=utf-8');
  assert.match(r.headers['content-security-policy']!, /sandbox/);
  const enc = await rawGet(`/files/0/${encodeURIComponent(XSS)}/config.json`);
  assert.equal(enc.status, 200);
  assert.match(enc.body, /alert\(2\)/);
  const head = await raw(['HEAD /files/0/damaged/config.json HTTP/1.1', 'Host: 127.0.0.1', 'Connection: close'].join('\r\n'));
  assert.equal(head.status, 200);
  assert.equal(head.headers['content-length'], '18');
  assert.equal(head.body, '');
});

test('every traversal form is refused with 403 or 404 and the secret outside the root is never read', async () => {
  const forms = [
    '/files/0/../outside/secret.txt',
    '/files/0/../../secret.txt',
    '/files/0/damaged/../../outside/secret.txt',
    '/files/0/%2e%2e/outside/secret.txt',
    '/files/0/%2E%2E%2Foutside%2Fsecret.txt',
    '/files/0/%2e%2e%2f%2e%2e%2fsecret.txt',
    '/files/0/.%2e/outside/secret.txt',
    '/files/0/%252e%252e/outside/secret.txt',
    '/files/0/%252e%252e%252foutside%252fsecret.txt',
    '/files/0/..%5coutside%5csecret.txt',
    '/files/0/%5C..%5Coutside%5Csecret.txt',
    '/files/0/..\\outside\\secret.txt',
    '/files/0/damaged\\..\\..\\outside\\secret.txt',
    `/files/0/${join(outside, 'secret.txt')}`,
    `/files/0/${encodeURIComponent(join(outside, 'secret.txt'))}`,
    `/files/${join(outside, 'secret.txt')}`,
    '/files/0/damaged/config.json%00.png',
    '/files/0/%00/../outside/secret.txt',
    '/files/0/damaged/leak.txt',
    '/files/0/damaged/leakdir/secret.txt',
    '/files/0/damaged/leakdir%2fsecret.txt',
    '/files/1/secret.txt',
    '/../outside/secret.txt',
    '/files/../../outside/secret.txt',
    '/api/runs/../../files/0/../outside/secret.txt',
  ];
  for (const path of forms) {
    const r = await rawGet(path);
    assert.ok(r.status === 403 || r.status === 404, `${path}: ${r.status} ${r.body}`);
    assert.ok(!r.body.includes(SECRET), `${path} leaked the secret`);
    if (!path.includes(base)) assert.ok(!r.body.includes(base), `${path}: the reply names a real path of the machine`);
  }
  // A raw NUL byte never reaches the router: the HTTP parser refuses the request line itself.
  const nul = await rawGet('/files/0/damaged/config.json\0.png');
  assert.equal(nul.status, 400);
  assert.ok(!nul.body.includes(SECRET));
});

test('the symbolic links inside the root that point outside are refused as such (403)', async () => {
  for (const path of ['/files/0/damaged/leak.txt', '/files/0/damaged/leakdir/secret.txt']) {
    const r = await rawGet(path);
    assert.equal(r.status, 403, path);
    assert.equal(JSON.parse(r.body).error.code, 'E_CONFIG');
    assert.match(JSON.parse(r.body).error.message, /symbolic link leading outside/);
  }
});

test('a run named <img src=x onerror=alert(1)> reaches the browser only as JSON data, never in the HTML', async () => {
  const page = await fetchChecked('/');
  assert.equal(page.status, 200);
  assert.equal(page.headers.get('content-type'), 'text/html; charset=utf-8');
  assert.equal(page.headers.get('content-security-policy'), APP_CSP);
  const html = await page.text();
  assert.ok(html.includes(APP_MARKER), 'the built app page');
  assert.ok(!/onerror|alert\(|not bold/.test(html), 'no run data in the page: the app renders it as text');

  const res = await fetchChecked('/api/runs');
  assert.equal(res.headers.get('content-type'), 'application/json; charset=utf-8');
  const { runs } = (await res.json()) as { runs: { id: string; name: string; method: string; co: boolean }[] };
  const run = runs.find((r) => r.id === runId(0, XSS));
  assert.equal(run?.name, XSS);
  assert.equal(run?.method, 'pgd');
  assert.ok(runs.some((r) => r.name === '<script>alert(1)<∕script>' && r.co));
  const cfg = await (await fetchChecked(`/api/runs/${runId(0, XSS)}/config`)).json();
  assert.equal(cfg.config.note, '<script>alert(2)</script>');
});

test('a metrics.jsonl with a half-written last line, garbage lines and NaN is served without error', async () => {
  const res = await fetchChecked(`/api/runs/${runId(0, 'damaged')}/metrics`);
  assert.equal(res.status, 200);
  const m = (await res.json()) as { lines: { epoch: number; co?: boolean }[]; notes: string[]; offset: number };
  assert.deepEqual(
    m.lines.map((l) => l.epoch),
    [1, 3],
  );
  assert.equal(m.lines[1]!.co, true);
  assert.equal(m.notes.length, 3, m.notes.join('\n'));
  const { runs } = (await (await fetchChecked('/api/runs')).json()) as { runs: { path: string; co: boolean; status: string }[] };
  const d = runs.find((r) => r.path === 'damaged')!;
  assert.equal(d.co, true);
  assert.equal(d.status, 'interrupted');
  assert.equal((await fetchChecked('/')).status, 200);
  const ev = await fetchChecked(`/api/runs/${runId(0, 'standard')}/eval`);
  assert.equal(ev.status, 200);
  assert.equal(((await ev.json()) as { eval: { clean_accuracy: number } }).eval.clean_accuracy, 0.9);
  assert.equal((await fetchChecked(`/api/runs/${runId(0, 'damaged')}/eval`)).status, 404);
  assert.equal((await fetchChecked('/api/runs/0.bm9wZQ/metrics')).status, 404);
  assert.equal((await fetchChecked('/api/runs/..%2f..%2f/metrics')).status, 404);
});

/** Opens /api/events and collects its text; `next(re)` waits for a match. */
function openEvents(to = port): Promise<{ res: IncomingMessage; next: (re: RegExp, ms?: number) => Promise<RegExpExecArray> }> {
  return new Promise((resolve, reject) => {
    get({ host: '127.0.0.1', port: to, path: '/api/events' }, (res) => {
      assertSecurityHeaders(res.headers, 'GET /api/events');
      assert.equal(res.headers['content-type'], 'text/event-stream; charset=utf-8');
      let text = '';
      const waiters = new Set<() => void>();
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        text += c;
        for (const w of waiters) w();
      });
      const next = (re: RegExp, ms = 2000) =>
        new Promise<RegExpExecArray>((ok, fail) => {
          const check = () => {
            const m = re.exec(text);
            if (!m) return;
            waiters.delete(check);
            clearTimeout(timer);
            text = text.slice(m.index + m[0].length);
            ok(m);
          };
          const timer = setTimeout(() => {
            waiters.delete(check);
            fail(new Error(`no ${re} within ${ms} ms; got ${JSON.stringify(text.slice(0, 300))}`));
          }, ms);
          waiters.add(check);
          check();
        });
      resolve({ res, next });
    }).on('error', reject);
  });
}

test('appending a line to metrics.jsonl sends an event with it within 2 s; watchers close when the client leaves', async () => {
  const { res, next } = await openEvents();
  await next(/retry: 2000\n\n/);
  assert.equal(ui.live.active, true);
  assert.ok(ui.live.watcherCount > 0);
  const started = Date.now();
  appendFileSync(join(xssRun, 'metrics.jsonl'), line(2, { co: true }));
  const m = await next(/event: metrics\ndata: (.*)\n\n/);
  assert.ok(Date.now() - started < 2000);
  const e = JSON.parse(m[1]!) as { run: string; lines: { epoch: number; co: boolean }[]; from: number; reset: boolean };
  assert.equal(e.run, runId(0, XSS));
  assert.deepEqual(e.lines, [JSON.parse(line(2, { co: true }))]);
  assert.equal(e.from, line(1).length);
  assert.equal(e.reset, false);
  // The status change (now CO flagged) reaches the list by the rescan.
  const r = await next(/event: runs\ndata: (.*)\n\n/);
  assert.ok((JSON.parse(r[1]!) as { name: string; co: boolean }[]).some((x) => x.name === XSS && x.co));

  res.destroy();
  for (let i = 0; i < 100 && ui.live.active; i++) await new Promise((ok) => setTimeout(ok, 20));
  assert.equal(ui.live.active, false);
  assert.equal(ui.live.watcherCount, 0);
});

test('the event stream sends heartbeat comments', async () => {
  const fast = await createUiServer({ roots: [root], port: 0, heartbeatMs: 50 });
  try {
    const { res, next } = await openEvents((fast.server.address() as AddressInfo).port);
    await next(/: heartbeat\n\n/, 1000);
    await next(/: heartbeat\n\n/, 1000);
    res.destroy();
  } finally {
    await fast.close();
  }
});

test('only GET and HEAD (405), no body (413), a bounded URL (414)', async () => {
  for (const method of ['POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS']) {
    const r = await fetchChecked('/api/runs', { method });
    assert.equal(r.status, 405, method);
    assert.equal(r.headers.get('allow'), 'GET, HEAD');
  }
  const withBody = await raw(['GET /api/runs HTTP/1.1', 'Host: 127.0.0.1', 'Content-Length: 5'].join('\r\n'), 'hello');
  assert.equal(withBody.status, 413);
  const chunked = await raw(
    ['GET /api/runs HTTP/1.1', 'Host: 127.0.0.1', 'Transfer-Encoding: chunked'].join('\r\n'),
    '5\r\nhello\r\n0\r\n\r\n',
  );
  assert.equal(chunked.status, 413);
  const long = await fetchChecked(`/api/runs?x=${'a'.repeat(MAX_URL_LENGTH)}`);
  assert.equal(long.status, 414);
  assert.equal((await fetchChecked(`/api/runs?x=${'a'.repeat(MAX_URL_LENGTH - 20)}`)).status, 200);
  const head = await fetchChecked('/api/runs', { method: 'HEAD' });
  assert.equal(head.status, 200);
  assert.equal(await head.text(), '');
});

test('a Host header that is not loopback is refused without a token (DNS rebinding)', async () => {
  const r = await raw(['GET /api/runs HTTP/1.1', 'Host: attacker.example:6060', 'Connection: close'].join('\r\n'));
  assert.equal(r.status, 403);
  assert.ok(!r.body.includes('"runs"'));
  for (const host of ['localhost:1', '[::1]:1', '127.0.0.1']) {
    assert.equal((await raw(['GET /api/runs HTTP/1.1', `Host: ${host}`, 'Connection: close'].join('\r\n'))).status, 200, host);
  }
});

test('another host requires a token: ConfigError naming --host and --token', async () => {
  for (const host of ['0.0.0.0', '::', '192.168.1.10']) {
    await assert.rejects(createUiServer({ roots: [root], host, port: 0 }), (e: unknown) => {
      assert.ok(e instanceof ConfigError);
      assert.equal(e.code, 'E_CONFIG');
      assert.match(e.message, /--host/);
      assert.match(e.message, /--token/);
      assert.match(e.message, new RegExp(JSON.stringify(host).replaceAll('.', '\\.')));
      return true;
    });
  }
  await assert.rejects(
    createUiServer({ roots: [root], port: 0, token: 'short' }),
    (e: unknown) => e instanceof ConfigError && e.option === '--token',
  );
  await assert.rejects(
    createUiServer({ roots: [join(base, 'missing')], port: 0 }),
    (e: unknown) => e instanceof ConfigError && e.option === 'RUN_DIR',
  );
});

test('with a token: 401 without it, 200 with the header, the ?token page load sets a strict HttpOnly cookie', async () => {
  const token = randomBytes(24).toString('base64url');
  const secured = await createUiServer({ roots: [root], host: '0.0.0.0', port: 0, token, appDir });
  const p = (secured.server.address() as AddressInfo).port;
  try {
    assert.equal((secured.server.address() as AddressInfo).address, '0.0.0.0');
    for (const path of ['/', '/api/runs', '/api/events', '/files/0/damaged/config.json']) {
      const r = await fetchChecked(path, {}, p);
      assert.equal(r.status, 401, path);
      assert.ok(!(await r.text()).includes('fgsm'), path);
    }
    assert.equal((await fetchChecked('/api/runs', { headers: { Authorization: 'Bearer wrong-token-of-some-length' } }, p)).status, 401);
    const ok = await fetchChecked('/api/runs', { headers: { Authorization: `Bearer ${token}` } }, p);
    assert.equal(ok.status, 200);
    assert.ok(((await ok.json()) as { runs: unknown[] }).runs.length > 0);
    // Any Host is fine once the token is checked: the token is the guard.
    const remote = await raw(
      [`GET /api/runs HTTP/1.1`, 'Host: dashboard.example', `Authorization: Bearer ${token}`, 'Connection: close'].join('\r\n'),
      '',
      p,
    );
    assert.equal(remote.status, 200);

    assert.equal((await fetchChecked(`/api/runs?token=${token}`, {}, p)).status, 401, 'the query token is taken on the page only');
    assert.equal((await fetchChecked('/?token=nope', {}, p)).status, 401);
    const first = await fetchChecked(`/?token=${token}`, {}, p);
    assert.equal(first.status, 303);
    assert.equal(first.headers.get('location'), '/');
    const cookie = first.headers.get('set-cookie')!;
    assert.match(cookie, /HttpOnly/);
    assert.match(cookie, /SameSite=Strict/);
    const pair = cookie.split(';')[0]!;
    const page = await fetchChecked('/', { headers: { Cookie: pair } }, p);
    assert.equal(page.status, 200);
    assert.ok((await page.text()).includes(APP_MARKER));
    assert.equal((await fetchChecked('/api/runs', { headers: { Cookie: pair } }, p)).status, 200);
    assert.equal((await fetchChecked('/api/runs', { headers: { Cookie: `${pair}x` } }, p)).status, 401);
  } finally {
    await secured.close();
  }
});

test('the built app: its page and assets from memory, nothing else under /assets/, 503 when not built', async () => {
  const js = await fetchChecked('/assets/app.js');
  assert.equal(js.status, 200);
  assert.equal(js.headers.get('content-type'), 'text/javascript; charset=utf-8');
  assert.match(js.headers.get('cache-control') ?? '', /immutable/);
  assert.equal(js.headers.get('content-security-policy'), CSP);
  assert.equal(await js.text(), 'export const app = 1;\n');
  for (const path of [
    '/assets/app.js.map',
    '/assets/../index.html',
    '/assets/%2e%2e/index.html',
    '/assets/',
    '/app.js',
    '/assets/nope.js',
  ]) {
    assert.equal((await rawGet(path)).status, 404, path);
  }
  assert.equal((await fetchChecked('/index.html')).status, 200);
  const bare = await createUiServer({ roots: [root], port: 0, appDir: join(base, 'no-app') });
  try {
    const r = await fetchChecked('/', {}, (bare.server.address() as AddressInfo).port);
    assert.equal(r.status, 503);
    assert.match(await r.text(), /npm run build/);
  } finally {
    await bare.close();
  }
});

test('/api/models lists LayersModel folders (not checkpoints) with the default pair; /api/samples the test images', async () => {
  const { models, defaults } = (await (await fetchChecked('/api/models')).json()) as {
    models: { id: string; name: string; path: string; url: string; method: string; eps: number }[];
    defaults: { standard: string | null; robust: string | null };
  };
  assert.deepEqual(
    models.map((m) => [m.path, m.name, m.method, m.eps, m.url]),
    [['standard/model', 'standard', 'standard', 0.1, '/files/0/standard/model/model.json']],
  );
  assert.deepEqual(defaults, { standard: models[0]!.id, robust: null });
  assert.equal((await fetchChecked(models[0]!.url)).status, 200, 'the model is fetched through /files/');
  const samples = await fetchChecked('/api/samples');
  if (samples.status === 404) {
    assert.equal(((await samples.json()) as { error: { code: string } }).error.code, 'E_DATA_MISSING');
    return;
  }
  const s = (await samples.json()) as { classNames: string[]; height: number; images: { label: number; pixels: string }[] };
  assert.equal(s.classNames[0], 'T-shirt/top');
  assert.equal(s.images.length, 100);
  assert.equal(Buffer.from(s.images[0]!.pixels, 'base64').length, 28 * 28);
  assert.equal(s.images[0]!.label, 9, 'the first Fashion-MNIST test image is an ankle boot');
});

test('the static report of a run is built on request, sandboxed; not from a folder holding symbolic links', async () => {
  const r = await fetchChecked(`/runs/${runId(0, 'standard')}/report.html`);
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-security-policy') ?? '', /sandbox/);
  const html = await r.text();
  assert.match(html, /advlab report: standard/);
  assert.ok(!html.includes(SECRET));
  const linked = await fetchChecked(`/runs/${runId(0, 'damaged')}/report.html`);
  assert.equal(linked.status, 403);
  assert.ok(!(await linked.text()).includes(SECRET));
  assert.equal((await fetchChecked('/runs/0.bm9wZQ/report.html')).status, 404);
});

test('errors and unknown routes carry the security headers too', async () => {
  for (const path of ['/nope', '/api/nope', '/api/runs/0.AA/config', '/files/0/nope.json', '/favicon.ico']) {
    const r = await fetchChecked(path);
    assert.equal(r.status, 404, path);
    assert.equal(r.headers.get('content-security-policy'), CSP);
  }
  const big = await raw(['GET / HTTP/1.1', 'Host: 127.0.0.1', `X-Big: ${'a'.repeat(20_000)}`, 'Connection: close'].join('\r\n'));
  assert.equal(big.status, 431);
});
