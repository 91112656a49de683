import * as tf from '@tensorflow/tfjs-core';
import { cpu, trainedMlp } from './packages/core/src/testing/fixtures.ts';
import { runAttack } from './packages/core/src/attacks/run.ts';
import { threatModel } from './packages/core/src/threat/threat.ts';
await cpu();
for (const seed of [4, 5]) {
const { classifier, test: data } = trainedMlp(seed, 8, 4);
const n = 400;
const x = tf.tensor4d(data.images, [n, 1, 1, 8]);
const y = tf.tensor1d(data.labels, 'int32');
for (const eps of [0.03, 0.05, 0.1]) {
  const th = threatModel('linf', eps);
  const fg = runAttack('fgsm', classifier, x, y, th);
  for (const rs of [true, false]) {
    const pg = runAttack('pgd', classifier, x, y, th, { config: { steps: 20, randomStart: rs }, seed: 7 });
    const v = fg.success.filter((s, i) => s && !pg.success[i]).length;
    console.log(seed, eps, rs, 'fg', fg.success.reduce((a,b)=>a+b,0), 'pg', pg.success.reduce((a,b)=>a+b,0), 'violations', v);
  }
}
}
