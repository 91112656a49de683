import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fanOut, type TrainingReporter } from './reporter.ts';

const step = { epoch: 1, step: 1, batch: 1, batches: 2, loss: 1, advAcc: 0.5 };

test('fanOut calls the reporters in order, awaiting each, and skips the callbacks a reporter lacks', async () => {
  const log: string[] = [];
  const slow: TrainingReporter = {
    async onEvent(m) {
      await new Promise((resolve) => setTimeout(resolve, 5));
      log.push(`slow ${m}`);
    },
  };
  const fast: TrainingReporter = { onEvent: (m) => void log.push(`fast ${m}`) };
  const report = fanOut([slow, {}, fast]);
  await report.onEvent('a');
  await report.onEvent('b');
  await report.onStep(step); // nobody listens
  assert.deepEqual(log, ['slow a', 'fast a', 'slow b', 'fast b']);
});

test('fanOut keeps a class reporter its `this`, and the first error stops the calls after it', async () => {
  class Counter implements TrainingReporter {
    steps = 0;
    onStep() {
      this.steps++;
    }
  }
  const counter = new Counter();
  await fanOut([counter]).onStep(step);
  assert.equal(counter.steps, 1);

  const after: string[] = [];
  const report = fanOut([
    {
      onEvent: () => {
        throw new Error('first');
      },
    },
    { onEvent: (m) => void after.push(m) },
  ]);
  await assert.rejects(report.onEvent('x'), /first/);
  assert.deepEqual(after, []);
});
