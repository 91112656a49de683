/**
 * The HTTP server of `advlab ui`: a read-only JSON API over the runs under the given folders, their live
 * metrics as server-sent events, their files and models, and the built web app (dashboard and playground).
 *
 * Security model (see packages/ui/README.md): bind 127.0.0.1 unless told otherwise, and then only with a
 * token (TensorBoard bound every interface before 2.0 and anyone on the network could read the runs);
 * without a token, refuse a Host header that is not a loopback name, so a web page that re-binds its own
 * DNS name to 127.0.0.1 cannot read the API from the browser; only GET and HEAD, no request body, a bounded
 * URL; files only inside the roots (paths.ts); every user string escaped in HTML; a strict CSP on every response.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { closeSync, createReadStream, existsSync, lstatSync, readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { dirname, extname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AdvlabError, ConfigError } from '@advlab/core';
// The page escapes exactly as the report does.
import { buildReport, readEvalFile } from '@advlab/report';
import { LiveRuns, type MetricsEvent } from './events.ts';
import { defaultPair, findModels, testSamples } from './models.ts';
import { FILES_PREFIX, openInsideRoots, PathNotFoundError, PathRefusedError } from './paths.ts';
import { type RunInfo, RunIndex, readRunConfig, readRunMetrics, runFile } from './runs.ts';

/** Options of createUiServer. */
export interface UiServerOptions {
  /** Folders to serve: run directories or folders holding them (`advlab ui RUN_DIR|ROOT …`). */
  roots: readonly string[];
  /** Interface to bind; anything but 127.0.0.1, localhost or ::1 requires `token`. */
  host?: string;
  /** Port; 0 picks a free one (see UiServer.url). */
  port?: number;
  /** When set, every request must carry it (Authorization: Bearer, the cookie, or ?token= on the page). */
  token?: string;
  /** Milliseconds between SSE heartbeat comments (keeps proxies and the browser from closing an idle stream). */
  heartbeatMs?: number;
  /** Milliseconds between rescans for new runs and status changes while a client listens. */
  rescanMs?: number;
  /** The built web app (index.html + assets/); default: this package's dist/app. */
  appDir?: string;
}

/** A listening UI server. */
export interface UiServer {
  /** The node:http server. */
  server: Server;
  /** The URL to open, e.g. http://127.0.0.1:6060/ (without the token). */
  url: string;
  /** The runs and their watchers (watchers exist while an events client is connected). */
  live: LiveRuns;
  /** The runs under the roots, scanned now. */
  runs(): RunInfo[];
  /** Ends the event streams, stops the watchers and closes the server. */
  close(): Promise<void>;
}

/** The Content-Security-Policy of every response. */
export const CSP = "default-src 'self'; script-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'";
/**
 * The app's pages: scripts only from the server (no inline script, no eval); inline styles allowed because
 * the chart library writes style attributes and a <style> element into its SVG (styles run no code); data:
 * and blob: images for the playground's canvases and uploads.
 */
export const APP_CSP = `${CSP}; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:`;
/**
 * Served files (a run's report.html among them) may be HTML written by anyone who could write into the roots:
 * sandboxed, they run no script and get an opaque origin, so they cannot reach the API; inline styles and
 * data: images (the report's) are allowed because without scripts they can do no harm.
 */
const FILES_CSP = `${CSP}; style-src 'unsafe-inline'; img-src 'self' data:; sandbox`;
/** Longest request target accepted (HTTP 414 above). */
export const MAX_URL_LENGTH = 8192;
/** At most this many event streams at once (HTTP 503 above): each holds a socket and, first, the watchers. */
const MAX_EVENT_CLIENTS = 32;
/** A client that does not read its stream is dropped once this much is queued for it. */
const MAX_QUEUED_BYTES = 1 << 20;
const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1']);
const COOKIE = 'advlab_ui_token';
const TOKEN_PATTERN = /^[A-Za-z0-9._~-]{16,256}$/;

const SECURITY_HEADERS: Record<string, string> = {
  'Content-Security-Policy': CSP,
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'Cross-Origin-Resource-Policy': 'same-origin',
};

const CONTENT_TYPES: Record<string, string> = {
  '.json': 'application/json; charset=utf-8',
  '.jsonl': 'text/plain; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.log': 'text/plain; charset=utf-8',
  '.csv': 'text/csv; charset=utf-8',
  '.md': 'text/plain; charset=utf-8',
  '.html': 'text/html; charset=utf-8',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.bin': 'application/octet-stream',
};

/** The real paths of `roots`; ConfigError naming RUN_DIR when one is not an existing folder. */
export function realRootsOf(roots: readonly string[]): string[] {
  if (roots.length === 0) throw new ConfigError('RUN_DIR', 'at least one run directory or folder of runs', 'none');
  return roots.map((r) => {
    let real: string;
    try {
      real = realpathSync(r);
    } catch {
      throw new ConfigError('RUN_DIR', 'an existing folder', `${JSON.stringify(r)}, which does not exist`);
    }
    if (!statSync(real).isDirectory()) throw new ConfigError('RUN_DIR', 'a folder', `${JSON.stringify(r)}, a file`);
    return real;
  });
}

/** Refuses a host other than loopback without a token, and a token too short or unsafe in a cookie or URL. */
export function checkHostAndToken(host: string, token: string | undefined): void {
  if (token !== undefined && !TOKEN_PATTERN.test(token)) {
    throw new ConfigError(
      '--token',
      '16 to 256 characters among A-Z a-z 0-9 . _ ~ -',
      `${token.length} characters${/^[A-Za-z0-9._~-]*$/.test(token) ? '' : ' including others'}`,
    );
  }
  if (!LOOPBACK.has(host) && token === undefined) {
    throw new ConfigError(
      '--host',
      '127.0.0.1, localhost or ::1 unless --token is given (anyone who can reach the address could read the runs)',
      `${JSON.stringify(host)} without --token`,
    );
  }
}

const digest = (s: string) => createHash('sha256').update(s).digest();
/** Constant-time comparison, so the time of a refusal does not tell how much of a guess was right. */
const sameToken = (given: string | undefined, token: string) => given !== undefined && timingSafeEqual(digest(given), digest(token));

function cookieValue(req: IncomingMessage, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/** The Host header's name without its port (an IPv6 literal keeps no brackets). */
function hostName(req: IncomingMessage): string {
  const h = (req.headers.host ?? '').toLowerCase();
  const m = /^\[([^\]]*)\](?::\d+)?$/.exec(h) ?? /^([^:]*)(?::\d+)?$/.exec(h);
  return m ? m[1]! : h;
}

function setSecurityHeaders(res: ServerResponse, csp = CSP): void {
  for (const [k, v] of Object.entries(SECURITY_HEADERS)) res.setHeader(k, v);
  res.setHeader('Content-Security-Policy', csp);
}

function send(res: ServerResponse, status: number, body: string | Buffer, type: string, headers: Record<string, string> = {}): void {
  res.statusCode = status;
  res.setHeader('Cache-Control', 'no-store');
  for (const [k, v] of Object.entries(headers)) res.setHeader(k, v);
  res.setHeader('Content-Type', type);
  res.setHeader('Content-Length', Buffer.byteLength(body));
  res.end(res.req.method === 'HEAD' ? undefined : body);
}

const sendJson = (res: ServerResponse, status: number, value: unknown, headers?: Record<string, string>) =>
  send(res, status, `${JSON.stringify(value)}\n`, 'application/json; charset=utf-8', headers);

/** An error as JSON: a stable code and a message (never a stack, never a real path of the machine). */
const sendError = (res: ServerResponse, status: number, code: string, message: string, headers?: Record<string, string>) =>
  sendJson(res, status, { error: { code, message } }, headers);

/** One file of the built web app, held in memory. */
interface AppFile {
  body: Buffer;
  type: string;
}

/** This package's dist/app, from src/server (run from source) or dist/server (built). */
export function defaultAppDir(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  return join(here, '..', '..', 'dist', 'app');
}

/**
 * Reads the built app into memory, keyed by URL path: only these files are ever served as the app, so no
 * request path reaches the file system. Empty when the app is not built.
 */
export function loadAppFiles(appDir: string): Map<string, AppFile> {
  const files = new Map<string, AppFile>();
  if (!existsSync(join(appDir, 'index.html'))) return files;
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile() && !e.name.endsWith('.map')) {
        const url = `/${relative(appDir, p).split(sep).join('/')}`;
        files.set(url, { body: readFileSync(p), type: CONTENT_TYPES[extname(p).toLowerCase()] ?? 'application/octet-stream' });
      }
    }
  };
  walk(appDir);
  return files;
}

const NOT_BUILT = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>advlab ui</title></head>
<body><h1>advlab ui</h1><p>The web app is not built: run <code>npm run build</code> in the advlab checkout.
The API answers meanwhile: <a href="/api/runs">/api/runs</a>.</p></body></html>
`;

/**
 * Starts the UI server on `host`:`port` (127.0.0.1:6060 by default) serving `roots`. Throws ConfigError before
 * listening when a root is not a folder, or when `host` is not loopback and no `token` is given.
 */
export async function createUiServer(options: UiServerOptions): Promise<UiServer> {
  const host = options.host ?? '127.0.0.1';
  const port = options.port ?? 6060;
  const token = options.token;
  const heartbeatMs = options.heartbeatMs ?? 15_000;
  checkHostAndToken(host, token);
  const roots = realRootsOf(options.roots);
  const index = new RunIndex(roots);
  const live = new LiveRuns(index, options.rescanMs);
  const clients = new Set<ServerResponse>();
  const app = loadAppFiles(options.appDir ?? defaultAppDir());

  const broadcast = (event: string, data: unknown) => {
    const frame = `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
    for (const res of clients) {
      if (res.writableLength > MAX_QUEUED_BYTES) res.destroy();
      else res.write(frame);
    }
  };
  live.on('metrics', (e: MetricsEvent) => broadcast('metrics', e));
  live.on('runs', (runs: RunInfo[]) => broadcast('runs', runs));

  const events = (req: IncomingMessage, res: ServerResponse) => {
    if (clients.size >= MAX_EVENT_CLIENTS) return sendError(res, 503, 'E_BUSY', `at most ${MAX_EVENT_CLIENTS} event streams at once`);
    res.writeHead(200, { 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-store', Connection: 'keep-alive' });
    if (req.method === 'HEAD') return res.end();
    res.write('retry: 2000\n\n');
    clients.add(res);
    live.start();
    const heartbeat = setInterval(() => res.write(': heartbeat\n\n'), heartbeatMs);
    heartbeat.unref();
    res.on('close', () => {
      clearInterval(heartbeat);
      clients.delete(res);
      if (clients.size === 0) live.stop();
    });
  };

  const files = (req: IncomingMessage, res: ServerResponse, path: string) => {
    setSecurityHeaders(res, FILES_CSP);
    const opened = openInsideRoots(roots, path);
    res.statusCode = 200;
    res.setHeader('Content-Type', CONTENT_TYPES[extname(opened.path).toLowerCase()] ?? 'application/octet-stream');
    res.setHeader('Content-Length', opened.size);
    res.setHeader('Cache-Control', 'no-cache');
    if (req.method === 'HEAD' || opened.size === 0) {
      closeSync(opened.fd);
      return res.end();
    }
    // Read no further than the size checked, so a file growing meanwhile cannot break Content-Length.
    const stream = createReadStream('', { fd: opened.fd, start: 0, end: opened.size - 1, autoClose: true });
    stream.on('error', () => res.destroy());
    res.on('close', () => stream.destroy());
    stream.pipe(res);
  };

  const api = (req: IncomingMessage, res: ServerResponse, path: string) => {
    if (path === '/api/runs') return sendJson(res, 200, { runs: index.scan() });
    if (path === '/api/events') return events(req, res);
    if (path === '/api/models') {
      const models = findModels(roots);
      return sendJson(res, 200, { models, defaults: defaultPair(models) });
    }
    if (path === '/api/samples') {
      try {
        return sendJson(res, 200, testSamples());
      } catch (e) {
        if (!(e instanceof AdvlabError)) throw e;
        return sendError(res, 404, 'E_DATA_MISSING', 'the embedded Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist)');
      }
    }
    const m = /^\/api\/runs\/([0-9]+\.[A-Za-z0-9_-]*)\/(metrics|config|eval)$/.exec(path);
    const entry = m ? index.get(m[1]!) : undefined;
    if (!m || !entry) return sendError(res, 404, 'E_NOT_FOUND', m ? 'no run with this id (see /api/runs)' : 'no such route');
    const id = entry.info.id;
    if (m[2] === 'metrics') return sendJson(res, 200, { run: id, ...readRunMetrics(roots, entry.dir) });
    if (m[2] === 'config') return sendJson(res, 200, { run: id, ...readRunConfig(roots, entry.dir) });
    const file = runFile(roots, entry.dir, 'eval.json');
    if (!file) return sendError(res, 404, 'E_DATA_MISSING', 'this run has no eval.json');
    try {
      return sendJson(res, 200, { run: id, eval: readEvalFile(file).report });
    } catch (e) {
      if (!(e instanceof AdvlabError)) throw e;
      return sendError(res, 422, e.code, e.message.replaceAll(file, 'eval.json'));
    }
  };

  /** The static report of one run, built now from its folder (as `advlab report RUN_DIR` would write it). */
  const report = async (res: ServerResponse, id: string) => {
    const entry = index.get(id);
    if (!entry) return sendError(res, 404, 'E_NOT_FOUND', 'no run with this id (see /api/runs)');
    // The report reads the run's files by name; a link among them could pull in a file from outside the roots.
    const linked = readdirSync(entry.dir).filter((name) => lstatSync(join(entry.dir, name)).isSymbolicLink());
    if (linked.length > 0)
      return sendError(res, 403, 'E_CONFIG', `this run folder holds symbolic links (${linked.length}): no report is built from it`);
    try {
      const html = await buildReport([entry.dir], { title: `advlab report: ${entry.info.name}` });
      setSecurityHeaders(res, FILES_CSP);
      return send(res, 200, html, 'text/html; charset=utf-8');
    } catch (e) {
      if (!(e instanceof AdvlabError)) throw e;
      return sendError(res, 422, e.code, e.message.replaceAll(entry.dir, entry.info.name));
    }
  };

  const handle = (req: IncomingMessage, res: ServerResponse) => {
    setSecurityHeaders(res);
    const target = req.url ?? '';
    if (target.length > MAX_URL_LENGTH)
      return sendError(res, 414, 'E_URI_TOO_LONG', `request targets are limited to ${MAX_URL_LENGTH} characters`);
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      return sendError(res, 405, 'E_METHOD', 'this server is read-only: GET and HEAD only', { Allow: 'GET, HEAD' });
    }
    const length = Number(req.headers['content-length'] ?? 0);
    if (req.headers['transfer-encoding'] !== undefined || !(length === 0)) {
      // The body is never read: close the connection rather than drain it.
      return sendError(res, 413, 'E_BODY', 'requests carry no body', { Connection: 'close' });
    }
    if (!target.startsWith('/')) return sendError(res, 400, 'E_TARGET', 'expected a path starting with /');
    // Split by hand: new URL() would resolve '..' and '%2e%2e' and turn '\' into '/', hiding what was asked.
    const q = target.indexOf('?');
    const path = q < 0 ? target : target.slice(0, q);
    const query = new URLSearchParams(q < 0 ? '' : target.slice(q + 1));
    if (token === undefined) {
      if (!LOOPBACK.has(hostName(req))) {
        return sendError(res, 403, 'E_HOST', 'without --token only a loopback Host (127.0.0.1, localhost, [::1]) is served');
      }
    } else if (
      !sameToken(/^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1], token) &&
      !sameToken(cookieValue(req, COOKIE), token)
    ) {
      // The token in the URL is taken only on the page, once: it becomes a cookie and leaves the address bar.
      if (path === '/' && sameToken(query.get('token') ?? undefined, token)) {
        res.statusCode = 303;
        res.setHeader('Set-Cookie', `${COOKIE}=${token}; HttpOnly; SameSite=Strict; Path=/`);
        res.setHeader('Location', '/');
        res.setHeader('Cache-Control', 'no-store');
        return res.end();
      }
      return sendError(res, 401, 'E_TOKEN', 'this server needs its token: Authorization: Bearer TOKEN, or open /?token=TOKEN once', {
        'WWW-Authenticate': 'Bearer',
      });
    }
    if (path === '/' || path === '/index.html') {
      const page = app.get('/index.html');
      setSecurityHeaders(res, APP_CSP);
      return page ? send(res, 200, page.body, page.type) : send(res, 503, NOT_BUILT, 'text/html; charset=utf-8');
    }
    if (path.startsWith('/api/')) return api(req, res, path);
    const reportOf = /^\/runs\/([0-9]+\.[A-Za-z0-9_-]*)\/report\.html$/.exec(path);
    if (reportOf) {
      report(res, reportOf[1]!).catch(() => {
        if (!res.headersSent) sendError(res, 500, 'E_INTERNAL', 'the report could not be built');
        else res.destroy();
      });
      return;
    }
    if (path.startsWith(FILES_PREFIX)) return files(req, res, path);
    const asset = path.startsWith('/assets/') ? app.get(path) : undefined;
    if (asset) return send(res, 200, asset.body, asset.type, { 'Cache-Control': 'public, max-age=31536000, immutable' });
    return sendError(res, 404, 'E_NOT_FOUND', 'no such route');
  };

  const server = createServer((req, res) => {
    try {
      handle(req, res);
    } catch (e) {
      if (res.headersSent) return void res.destroy();
      setSecurityHeaders(res);
      if (e instanceof PathRefusedError || e instanceof PathNotFoundError) return sendError(res, e.status, e.code, e.message);
      // Anything else is a bug or an OS refusal: say so without a stack trace or the machine's paths.
      return sendError(res, 500, e instanceof AdvlabError ? e.code : 'E_INTERNAL', 'the server could not answer this request');
    }
  });
  // Requests the parser refuses (a raw NUL, oversized headers) never reach the handler: answer them here,
  // with the same headers, instead of Node's bare default.
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => {
    if (err.code === 'ECONNRESET' || !socket.writable) return void socket.destroy();
    const status = err.code === 'HPE_HEADER_OVERFLOW' ? '431 Request Header Fields Too Large' : '400 Bad Request';
    const headers = Object.entries(SECURITY_HEADERS)
      .map(([k, v]) => `${k}: ${v}\r\n`)
      .join('');
    socket.end(`HTTP/1.1 ${status}\r\n${headers}Content-Length: 0\r\nConnection: close\r\n\r\n`);
  });
  server.headersTimeout = 10_000;
  server.requestTimeout = 10_000;
  server.maxConnections = 128;

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const shown = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    server,
    url: `http://${shown}:${address.port}/`,
    live,
    runs: () => index.scan(),
    close: async () => {
      for (const res of clients) res.end();
      clients.clear();
      live.stop();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
