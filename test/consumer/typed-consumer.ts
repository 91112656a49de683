// A TypeScript project using the installed @advlab/core and @advlab/node through their .d.ts: compiled by the
// consumer test with an ordinary emitting tsconfig, then run. The @ts-expect-error lines prove the types
// are real (an `any` would let them through, and tsc would then complain that the directive is unused).
import * as tf from '@tensorflow/tfjs-core';
import {
  classifierFromLayersModel,
  evaluateRobustness,
  runAttack,
  threatModel,
  useBackend,
  type AttackResult,
  type Classifier,
  type EvaluationReport,
  type ThreatModel,
} from '@advlab/core';
import { loadDataset, loadModel } from '@advlab/node';

await useBackend('cpu');
const { model } = await loadModel(process.argv[2] ?? 'model');
const classifier: Classifier = classifierFromLayersModel(model);
const threat: ThreatModel = threatModel('linf', 0.2);
const { test } = loadDataset('synthetic:tiny');
const { report }: { report: EvaluationReport } = evaluateRobustness(
  classifier,
  test,
  { attacks: ['fgsm', 'pgd'], eps: [threat.eps] },
  'synthetic:tiny',
);

const x = tf.tensor4d(test.images, [test.n, test.height, test.width, test.channels]);
const y = tf.tensor1d(test.labels, 'int32');
const fgsm: AttackResult = runAttack('fgsm', classifier, x, y, threat, { seed: 1 });
const fooled: number = fgsm.success.reduce((a, b) => a + b, 0);
tf.dispose([x, y, fgsm.xAdv]);

/** Never called: what tsc must refuse. */
export function misuses(): void {
  // @ts-expect-error: ε is a number, not a string
  threatModel('linf', '0.1');
  // @ts-expect-error: the norm is one of 'linf' | 'l2' | 'l1'
  threatModel('l3', 0.1);
}

console.log(
  JSON.stringify({
    clean: report.clean_accuracy,
    attacks: report.attacks.map((a) => [a.name, a.robust_accuracy]),
    fgsmFooled: fooled / test.n,
  }),
);
