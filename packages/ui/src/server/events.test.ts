import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { appendFileSync, mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LiveRuns, type MetricsEvent } from './events.ts';
import { RunIndex, runId } from './runs.ts';

const root = realpathSync(mkdtempSync(join(tmpdir(), 'advlab-ui-events-')));
// The watchers and timers are unref'd (a server keeps the process alive, not them): so must this test.
const keepAlive = setInterval(() => {}, 1000);
after(() => {
  clearInterval(keepAlive);
  rmSync(root, { recursive: true, force: true });
});

const line = (epoch: number) => `${JSON.stringify({ epoch, step: epoch, clean_acc: 0.5, method: 'pgd' })}\n`;

function makeRun(name: string, text: string): string {
  const dir = join(root, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'config.json'), '{"method": "pgd"}');
  writeFileSync(join(dir, 'metrics.jsonl'), text);
  return dir;
}

/** The next 'metrics' event, or a failure after `ms`. */
async function nextMetrics(live: LiveRuns, ms = 2000): Promise<MetricsEvent> {
  const [e] = (await once(live, 'metrics', { signal: AbortSignal.timeout(ms) })) as [MetricsEvent];
  return e;
}

test('an appended line is emitted within 2 s, from the offset already read; a half line waits for its newline', async () => {
  const dir = makeRun('a', line(1));
  const live = new LiveRuns(new RunIndex([root]), 60_000); // no rescan during the test: the watcher alone
  live.start();
  try {
    assert.equal(live.watcherCount, 1);
    const started = Date.now();
    appendFileSync(join(dir, 'metrics.jsonl'), line(2));
    const e = await nextMetrics(live);
    assert.ok(Date.now() - started < 2000);
    assert.equal(e.run, runId(0, 'a'));
    assert.equal(e.from, line(1).length);
    assert.equal(e.to, line(1).length + line(2).length);
    assert.equal(e.reset, false);
    assert.deepEqual(
      e.lines.map((l) => l.epoch),
      [2],
    );

    const early: MetricsEvent[] = [];
    const collect = (m: MetricsEvent) => early.push(m);
    live.on('metrics', collect);
    appendFileSync(join(dir, 'metrics.jsonl'), line(3).slice(0, 8));
    await new Promise((r) => setTimeout(r, 300));
    live.off('metrics', collect);
    assert.deepEqual(early, [], 'nothing is emitted for part of a line');
    appendFileSync(join(dir, 'metrics.jsonl'), `${line(3).slice(8)}garbage\n`);
    const rest = await nextMetrics(live);
    assert.equal(rest.from, e.to, 'the cut line is emitted once, whole');
    assert.deepEqual(
      rest.lines.map((l) => l.epoch),
      [3],
    );
    assert.match(rest.notes[0]!, /^metrics\.jsonl:4: skipped/);

    writeFileSync(join(dir, 'metrics.jsonl'), line(1));
    const reset = await nextMetrics(live);
    assert.equal(reset.reset, true);
    assert.equal(reset.from, 0);
    assert.deepEqual(
      reset.lines.map((l) => l.epoch),
      [1],
    );
  } finally {
    live.stop();
  }
  assert.equal(live.watcherCount, 0);
  assert.equal(live.active, false);
});

test('a rescan finds a new run, emits the list, and watches it', async () => {
  const live = new LiveRuns(new RunIndex([root]), 100);
  live.start();
  try {
    const before = live.watcherCount;
    const listed = once(live, 'runs', { signal: AbortSignal.timeout(2000) });
    const dir = makeRun('b', '');
    const [runs] = (await listed) as [{ id: string; method: string }[]];
    assert.ok(runs.some((r) => r.id === runId(0, 'b') && r.method === 'pgd'));
    assert.equal(live.watcherCount, before + 1);
    appendFileSync(join(dir, 'metrics.jsonl'), line(1));
    let e = await nextMetrics(live);
    while (e.run !== runId(0, 'b')) e = await nextMetrics(live);
    assert.deepEqual(
      e.lines.map((l) => l.epoch),
      [1],
    );
  } finally {
    live.stop();
  }
  assert.equal(live.watcherCount, 0);
});
