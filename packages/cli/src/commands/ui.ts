import { ConfigError, option } from '@advlab/core';
import { createUiServer, type UiServer } from '@advlab/ui';
import { helpText, parseFlags } from '../flags.ts';

const USAGE = 'advlab ui [RUN_DIR|ROOT ...] [--port 6060] [--host 127.0.0.1] [--token T]';

const ABOUT = `A web app over the training runs under the given folders (default out/): runs with their status and
configs, held-out curves that update live as metrics.jsonl grows, evaluations and the clean–robust frontier,
and a playground that attacks two of the models found there in the browser. Read-only; binds 127.0.0.1 unless
--host says otherwise, which then needs --token. Runs until interrupted (Ctrl-C).`;

export const UI_OPTIONS = {
  port: option.integer({ min: 0, max: 65535, default: 6060, help: 'port to listen on (0: any free port)' }),
  host: option.string({
    default: '127.0.0.1',
    placeholder: 'ADDR',
    expected: 'an interface address',
    help: 'interface to bind; anything but 127.0.0.1, localhost or ::1 requires a token (--token)',
  }),
  token: option.string({
    optional: true,
    placeholder: 'T',
    expected: '16 to 256 characters among A-Z a-z 0-9 . _ ~ -',
    help: 'a secret every request must carry (open the printed URL once: it becomes a cookie)',
  }),
};

export const uiHelp = helpText(USAGE, ABOUT, UI_OPTIONS);

/** Starts the server; resolves once it is listening and the URL is printed. */
export async function startUi(argv: string[]): Promise<UiServer> {
  const { values: v, positionals } = parseFlags(argv, UI_OPTIONS, { positionals: true });
  const roots = positionals.length > 0 ? positionals : ['out'];
  let ui: UiServer;
  try {
    ui = await createUiServer({ roots, host: v.host, port: v.port, ...(v.token === undefined ? {} : { token: v.token }) });
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    if (code === 'EADDRINUSE') throw new ConfigError('--port', 'a free port', `${v.port}, already in use (try --port 0)`);
    if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND')
      throw new ConfigError('--host', 'an address of this machine', `${JSON.stringify(v.host)} (${code})`);
    throw e;
  }
  const runs = ui.runs().length;
  process.stdout.write(`advlab ui: ${runs} run${runs === 1 ? '' : 's'} under ${roots.join(', ')}\n`);
  process.stdout.write(`open ${ui.url}${v.token === undefined ? '' : `?token=${v.token}`}\n`);
  return ui;
}

/** `advlab ui`: serves until SIGINT or SIGTERM, then closes the streams and the server. */
export async function ui(argv: string[]): Promise<void> {
  const server = await startUi(argv);
  await new Promise<void>((resolve) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      void server.close().then(resolve);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}
