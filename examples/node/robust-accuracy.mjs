// Plain Node ESM, no TypeScript: train a small tf.sequential on synthetic images for a few seconds, measure
// its clean and L∞ PGD robust accuracy with @advlab/core, and save it with @advlab/node.
//   npm install @advlab/core @advlab/node && node robust-accuracy.mjs [MODEL_DIR]
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { classifierFromLayersModel, runAttack, threatModel, tinyImages, useBackend } from '@advlab/core';
import { saveModel } from '@advlab/node';

const EPS = 0.1;
await useBackend('auto');
// 8×8 grey images; the class is where a bright blob sits. Pixels in [0, 1], advlab's default input range.
const { train, test, numClasses } = tinyImages({ n: 1024, nTest: 256, seed: 0 });
const images = (s) => tf.tensor4d(s.images, [s.n, s.height, s.width, s.channels]);

// Seeded initial weights and no shuffling (tf.js would draw both from Math.random): the same numbers every run.
const seeded = (seed) => tfl.initializers.glorotUniform({ seed });
const model = tfl.sequential({
  layers: [
    tfl.layers.conv2d({ inputShape: [8, 8, 1], filters: 8, kernelSize: 3, activation: 'relu', kernelInitializer: seeded(1) }),
    tfl.layers.flatten(),
    tfl.layers.dense({ units: numClasses, kernelInitializer: seeded(2) }), // logits: attacks want them, not probabilities
  ],
});
model.compile({ optimizer: tf.train.adam(0.01), loss: (y, logits) => tf.losses.softmaxCrossEntropy(y, logits) });
const xTrain = images(train);
const yTrain = tf.oneHot(tf.tensor1d(train.labels, 'int32'), numClasses);
await model.fit(xTrain, yTrain, { epochs: 4, batchSize: 32, shuffle: false, verbose: 0 });
tf.dispose([xTrain, yTrain]);

const classifier = classifierFromLayersModel(model);
const x = images(test);
const y = tf.tensor1d(test.labels, 'int32');
const clean = tf.tidy(() => tf.mean(tf.cast(tf.equal(tf.argMax(classifier.logits(x), 1), y), 'float32')).dataSync()[0]);
// runAttack is the trust boundary: it re-projects onto the ε-ball and [0, 1], then asks the model again.
const pgd = runAttack('pgd', classifier, x, y, threatModel('linf', EPS), { seed: 0 });
const robust = pgd.success.reduce((kept, fooled) => kept + (fooled ? 0 : 1), 0) / test.n;
tf.dispose([x, y, pgd.xAdv]);

const dir = process.argv[2] ?? 'model';
await saveModel(model, dir, { dataset: 'synthetic:tiny', numClasses, inputShape: [8, 8, 1] });
console.log(JSON.stringify({ clean, robust, eps: EPS, attack: 'pgd', model: dir }));
